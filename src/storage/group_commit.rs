//! Group commit: concurrent writes of one kind share a transaction.
//!
//! Every statement is a round trip to the database (on SQLite, a hand-off
//! to sqlx's connection thread and back: two context switches), and SQLite
//! lets one transaction write at a time. Under load, a write that runs its
//! own `BEGIN … COMMIT` spends most of its time waiting in line and being
//! woken. Here one writer task takes every job waiting at that moment and
//! runs them together: one `BEGIN`, the batch's statements (a `Batch` may
//! do many jobs in one statement), one `COMMIT`. Each caller still gets its
//! own result.
//!
//! If the batch fails as a whole (a unique index refuses one of its rows, a
//! commit fails), it is rolled back and its jobs run again one at a time,
//! each in its own transaction, so each gets exactly its own outcome and one
//! job's error never becomes another's. A failed transaction is rolled back
//! at once, not left to its drop: on PostgreSQL a dropped transaction's
//! rollback waits for its connection's next use, and until then it holds
//! the row locks the jobs after it need.

use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::sync::Arc;

use futures_util::FutureExt;

use sea_orm::{DatabaseConnection, DatabaseTransaction, TransactionTrait};
use tokio::sync::{mpsc, oneshot};

use super::{StorageError, WriteGate};

/// Jobs waiting beyond this many start the next batch: it bounds a
/// transaction's size (and a statement's bound parameters).
pub const MAX_BATCH: usize = 128;
/// Jobs that may wait for the writer; more wait to be queued.
const QUEUE: usize = 4 * MAX_BATCH;

/// One kind of write that can be done in batches.
pub trait Batch: Send + Sync + 'static {
    /// Labels this kind's batch sizes in the metrics
    /// (`group_commit_batch_size{kind}`).
    const KIND: &'static str;
    type Job: Send + Sync + 'static;
    type Output: Send + 'static;

    /// Every job, in `txn`: one output per job, in order. An error rolls the
    /// whole batch back; its jobs then run through `one`. By default, each
    /// job in turn as `one` does it (the batch shares `BEGIN` and `COMMIT`):
    /// right for kinds whose `one` leaves nothing behind when its outcome is
    /// a refusal, since the transaction is not rolled back between jobs.
    fn all(
        &self,
        txn: &DatabaseTransaction,
        jobs: &[Self::Job],
    ) -> impl Future<Output = Result<Vec<Self::Output>, StorageError>> + Send {
        async move {
            let mut outputs = Vec::with_capacity(jobs.len());
            for job in jobs {
                outputs.push(self.one(txn, job).await?);
            }
            Ok(outputs)
        }
    }

    /// One job, alone in `txn` (committed when this returns `Ok`).
    fn one(
        &self,
        txn: &DatabaseTransaction,
        job: &Self::Job,
    ) -> impl Future<Output = Result<Self::Output, StorageError>> + Send;
}

type Reply<B> = oneshot::Sender<Result<<B as Batch>::Output, StorageError>>;

/// The queue in front of one writer task; cheap to share behind an `Arc`.
pub struct GroupCommit<B: Batch> {
    queue: mpsc::Sender<(B::Job, Reply<B>)>,
}

impl<B: Batch> GroupCommit<B> {
    /// Starts the writer. It ends when this is dropped, after the jobs
    /// already queued.
    pub fn start(db: DatabaseConnection, gate: WriteGate, batch: B) -> Self {
        let (queue, jobs) = mpsc::channel(QUEUE);
        tokio::spawn(write_batches(db, gate, Arc::new(batch), jobs));
        Self { queue }
    }

    /// Queues the job and waits for its outcome.
    pub async fn run(&self, job: B::Job) -> Result<B::Output, StorageError> {
        let (reply, outcome) = oneshot::channel();
        self.queue
            .send((job, reply))
            .await
            .map_err(|_| StorageError::Unavailable("the writer has stopped".into()))?;
        outcome
            .await
            .map_err(|_| StorageError::Unavailable("the writer has stopped".into()))?
    }
}

async fn write_batches<B: Batch>(
    db: DatabaseConnection,
    gate: WriteGate,
    batch: Arc<B>,
    mut queue: mpsc::Receiver<(B::Job, Reply<B>)>,
) {
    let mut waiting = Vec::with_capacity(MAX_BATCH);
    while queue.recv_many(&mut waiting, MAX_BATCH).await > 0 {
        let (jobs, replies): (Vec<_>, Vec<_>) = std::mem::take(&mut waiting).into_iter().unzip();
        let _turn = gate.enter().await;
        metrics::histogram!("group_commit_batch_size", "kind" => B::KIND).record(jobs.len() as f64);
        // A panic in one batch must not stop the writer: that kind of write
        // would fail until a restart. Its callers' replies are dropped as
        // it unwinds, so they get an error (503), and the next batch runs.
        let written = AssertUnwindSafe(write_batch(&db, batch.as_ref(), jobs, replies))
            .catch_unwind()
            .await;
        if written.is_err() {
            tracing::error!(
                kind = B::KIND,
                "a batch of writes panicked; its callers got an error"
            );
        }
    }
}

/// One batch, each caller answered with its own outcome.
async fn write_batch<B: Batch>(
    db: &DatabaseConnection,
    batch: &B,
    jobs: Vec<B::Job>,
    replies: Vec<Reply<B>>,
) {
    match all_in_one(db, batch, &jobs).await {
        Ok(outputs) => {
            for (reply, output) in replies.into_iter().zip(outputs) {
                let _ = reply.send(Ok(output));
            }
        }
        Err(error) => {
            if jobs.len() > 1 {
                tracing::debug!(%error, jobs = jobs.len(), "batch failed; running its jobs one by one");
            }
            for (job, reply) in jobs.iter().zip(replies) {
                let _ = reply.send(one_alone(db, batch, job).await);
            }
        }
    }
}

async fn all_in_one<B: Batch>(
    db: &DatabaseConnection,
    batch: &B,
    jobs: &[B::Job],
) -> Result<Vec<B::Output>, StorageError> {
    let txn = db.begin().await?;
    let outputs = match batch.all(&txn, jobs).await {
        Ok(outputs) if outputs.len() == jobs.len() => outputs,
        Ok(outputs) => {
            txn.rollback().await?;
            return Err(StorageError::Other(format!(
                "a batch of {} jobs gave {} results",
                jobs.len(),
                outputs.len()
            )));
        }
        Err(e) => {
            txn.rollback().await?;
            return Err(e);
        }
    };
    txn.commit().await?;
    Ok(outputs)
}

async fn one_alone<B: Batch>(
    db: &DatabaseConnection,
    batch: &B,
    job: &B::Job,
) -> Result<B::Output, StorageError> {
    let txn = db.begin().await?;
    match batch.one(&txn, job).await {
        Ok(output) => {
            txn.commit().await?;
            Ok(output)
        }
        Err(e) => {
            txn.rollback().await?;
            Err(e)
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Mutex;
    use std::time::Duration;

    use sea_orm::{ConnectionTrait, Statement};

    use super::*;

    /// Records each batch's jobs; a job of -1 fails any batch it is in, and
    /// fails alone too; the first batch waits, so that jobs queue behind it.
    #[derive(Default)]
    struct Recorder {
        batches: Mutex<Vec<Vec<i64>>>,
        alone: Mutex<Vec<i64>>,
    }

    async fn insert(txn: &DatabaseTransaction, n: i64) -> Result<(), StorageError> {
        txn.execute(Statement::from_string(
            txn.get_database_backend(),
            format!("INSERT INTO jobs (n) VALUES ({n})"),
        ))
        .await?;
        Ok(())
    }

    impl Batch for Arc<Recorder> {
        const KIND: &'static str = "test";
        type Job = i64;
        type Output = i64;

        async fn all(
            &self,
            txn: &DatabaseTransaction,
            jobs: &[i64],
        ) -> Result<Vec<i64>, StorageError> {
            let first = self.batches.lock().unwrap().is_empty();
            self.batches.lock().unwrap().push(jobs.to_vec());
            if first {
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            for n in jobs {
                assert_ne!(*n, PANICS, "a bug in a batch");
                insert(txn, *n).await?;
                if *n < 0 {
                    return Err(StorageError::Other("refused".into()));
                }
            }
            Ok(jobs.iter().map(|n| n * 10).collect())
        }

        async fn one(&self, txn: &DatabaseTransaction, job: &i64) -> Result<i64, StorageError> {
            self.alone.lock().unwrap().push(*job);
            assert_ne!(*job, PANICS, "a bug in a batch");
            insert(txn, *job).await?;
            if *job < 0 {
                return Err(StorageError::Other("refused".into()));
            }
            Ok(job * 10)
        }
    }

    /// A job that panics the batch it is in.
    const PANICS: i64 = -99;

    /// An in-memory database with one table of numbers.
    async fn jobs_table() -> DatabaseConnection {
        let db = super::super::connect("sqlite::memory:", 1, Duration::from_secs(5))
            .await
            .unwrap();
        db.execute_unprepared("CREATE TABLE jobs (n INTEGER NOT NULL)")
            .await
            .unwrap();
        db
    }

    async fn count(db: &DatabaseConnection) -> i64 {
        let row = db
            .query_one(Statement::from_string(
                db.get_database_backend(),
                "SELECT COUNT(*) AS n FROM jobs",
            ))
            .await
            .unwrap()
            .unwrap();
        row.try_get("", "n").unwrap()
    }

    #[tokio::test]
    async fn waiting_jobs_share_a_transaction_and_a_failed_batch_falls_back_to_one_by_one() {
        let db = jobs_table().await;
        let recorder = Arc::new(Recorder::default());
        let writer = Arc::new(GroupCommit::start(
            db.clone(),
            WriteGate::for_db(&db),
            recorder.clone(),
        ));

        // The first job holds the writer; the next 20 queue behind it, one
        // of them failing.
        let first = tokio::spawn({
            let writer = writer.clone();
            async move { writer.run(1).await }
        });
        tokio::time::sleep(Duration::from_millis(20)).await;
        let jobs: Vec<i64> = (2..=21).map(|n| if n == 7 { -7 } else { n }).collect();
        let outcomes = futures_util::future::join_all(jobs.iter().map(|n| writer.run(*n))).await;

        assert_eq!(first.await.unwrap().unwrap(), 10);
        for (n, outcome) in jobs.iter().zip(outcomes) {
            match outcome {
                Ok(out) => assert_eq!(out, n * 10),
                Err(_) => assert_eq!(*n, -7, "only the failing job fails"),
            }
        }
        let batches = recorder.batches.lock().unwrap().clone();
        assert_eq!(
            batches,
            vec![vec![1], jobs.clone()],
            "the queued jobs form one batch"
        );
        assert_eq!(*recorder.alone.lock().unwrap(), jobs, "then run alone");
        // The failed batch left nothing; each job alone left its own row.
        assert_eq!(count(&db).await, 1 + 19);
    }

    #[tokio::test]
    async fn a_batch_that_panics_fails_its_callers_and_the_writer_goes_on() {
        let db = jobs_table().await;
        let writer = GroupCommit::start(
            db.clone(),
            WriteGate::for_db(&db),
            Arc::new(Recorder::default()),
        );

        assert!(matches!(
            writer.run(PANICS).await,
            Err(StorageError::Unavailable(_))
        ));
        assert_eq!(writer.run(3).await.unwrap(), 30, "the next job is written");
        assert_eq!(count(&db).await, 1);
    }
}
