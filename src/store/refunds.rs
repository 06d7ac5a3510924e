//! Refunds: recorded in the same transaction as the cancellation that owes
//! them (an outbox row, with its `refund.send` job), then sent to Paystack
//! by that job. A send whose outcome is unknown is never repeated: it waits
//! for a person.

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, TimeDelta, Utc};
use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter,
    QueryOrder, QuerySelect, UpdateMany,
};
use uuid::Uuid;

use super::paystack::RefundFailure;
use super::{StoreError, StoreService};
use crate::jobs::{Job, JobFailure, JobQueue, JobResult, NewJob, Outcome, enqueue};
use crate::storage::entities::{order, payment, refund};

pub const REFUND_JOB: &str = "refund.send";
/// Adopts queued refunds that have no job (see `adopt_orphans`).
const ADOPT_JOB: &str = "refund.adopt";
const ADOPT_EVERY: Duration = Duration::from_secs(600);
/// Refunds adopted per run; the next run takes the rest.
const ADOPT_BATCH: u64 = 500;
/// A claimed refund is not picked up again for this long: longer than the
/// provider client's timeout. The job's own lease already keeps two workers
/// apart; this also keeps an instance of the version before the queue
/// (during a rolling deploy) from sending it again.
const LEASE: Duration = Duration::from_secs(120);
/// After this many refused-for-now sends a refund is left for a person.
const MAX_ATTEMPTS: i64 = 10;
/// The longest wait between two sends of one refund.
const MAX_BACKOFF: Duration = Duration::from_secs(3600);
/// Written before a send: still there on the next look means the process
/// stopped mid-send, and the outcome is unknown.
const IN_FLIGHT: &str = "in flight";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RefundStatus {
    /// Recorded; the sender will ask the provider.
    Queued,
    /// The provider accepted it; the money is on its way back.
    Sent,
    /// The provider refused it or kept failing: staff must follow up.
    Failed,
    /// A send may or may not have reached the provider: staff must check
    /// the provider's dashboard before anything is sent again.
    Unconfirmed,
}

impl RefundStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            RefundStatus::Queued => "queued",
            RefundStatus::Sent => "sent",
            RefundStatus::Failed => "failed",
            RefundStatus::Unconfirmed => "unconfirmed",
        }
    }
}

/// An update of the refund that applies only while it is still queued with
/// `attempts` sends counted: a claim or an outcome never lands on a row that
/// another sender, or a later step, has changed since.
fn update_if_unchanged(row: &refund::Model, attempts: i64) -> UpdateMany<refund::Entity> {
    refund::Entity::update_many()
        .col_expr(refund::Column::UpdatedAt, Expr::value(Utc::now()))
        .filter(refund::Column::Id.eq(row.id))
        .filter(refund::Column::Status.eq(RefundStatus::Queued.as_str()))
        .filter(refund::Column::Attempts.eq(attempts))
}

fn after(wait: Duration) -> DateTime<Utc> {
    Utc::now() + TimeDelta::from_std(wait).unwrap_or_else(|_| TimeDelta::hours(1))
}

/// Records that `order`'s total goes back to the customer through the
/// provider that took `payment`; part of the caller's transaction.
pub(super) async fn queue_refund(
    conn: &impl ConnectionTrait,
    order: &order::Model,
    payment: &payment::Model,
) -> Result<(), StoreError> {
    let owed = Owed {
        order_id: Some(order.id),
        commission_id: None,
        amount_kobo: order.total_kobo,
    };
    queue(conn, payment, owed).await
}

/// Records that `amount_kobo` of `payment` goes back to the customer for a
/// commission (a cancellation, or a dispute's refund); part of the caller's
/// transaction. The same sender sends it as it sends orders' refunds.
pub async fn queue_commission_refund(
    conn: &impl ConnectionTrait,
    commission_id: Uuid,
    payment: &payment::Model,
    amount_kobo: i64,
) -> Result<(), StoreError> {
    let owed = Owed {
        order_id: None,
        commission_id: Some(commission_id),
        amount_kobo,
    };
    queue(conn, payment, owed).await
}

struct Owed {
    order_id: Option<Uuid>,
    commission_id: Option<Uuid>,
    amount_kobo: i64,
}

async fn queue(
    conn: &impl ConnectionTrait,
    payment: &payment::Model,
    owed: Owed,
) -> Result<(), StoreError> {
    let now = Utc::now();
    let id = Uuid::now_v7();
    refund::ActiveModel {
        id: Set(id),
        order_id: Set(owed.order_id),
        commission_id: Set(owed.commission_id),
        payment_id: Set(payment.id),
        reference: Set(payment.reference.clone()),
        amount_kobo: Set(owed.amount_kobo),
        currency: Set(payment.currency.clone()),
        status: Set(RefundStatus::Queued.as_str().into()),
        attempts: Set(0),
        next_attempt_at: Set(now),
        provider_id: Set(None),
        last_error: Set(None),
        created_at: Set(now),
        updated_at: Set(now),
    }
    .insert(conn)
    .await?;
    // The money that goes back comes out of the ledger in the same
    // transaction: from the tailor's escrow first (see `wallet::flows`).
    let source = match (owed.order_id, owed.commission_id) {
        (Some(order), _) => crate::wallet::Source::order(order),
        (None, Some(commission)) => crate::wallet::Source::commission(commission),
        (None, None) => crate::wallet::Source {
            kind: crate::wallet::SourceKind::Payment,
            id: payment.id,
        },
    };
    let queued = crate::wallet::flows::RefundQueued {
        refund_id: id,
        payment_id: payment.id,
        source,
        amount: owed.amount_kobo,
    };
    crate::wallet::flows::refund_queued(conn, queued).await?;
    enqueue(conn, send_job(id)).await?;
    let about = (owed.order_id, owed.commission_id);
    let (customer, amount) = (payment.customer_id, owed.amount_kobo);
    crate::notifications::events::refund_queued(
        conn,
        id,
        customer,
        about,
        amount,
        &payment.currency,
    )
    .await?;
    Ok(())
}

#[derive(serde::Serialize, serde::Deserialize)]
struct SendRefund {
    refund_id: Uuid,
}

fn send_job(refund_id: Uuid) -> NewJob {
    NewJob::new(REFUND_JOB, &SendRefund { refund_id }).dedup_key(format!("refund:{refund_id}"))
}

/// What the job does after one look at its refund.
enum Next {
    /// Settled (or gone): nothing more to send.
    Done,
    /// Still queued: look again at this time.
    At(DateTime<Utc>),
}

impl StoreService {
    /// This instance sends refunds (one `refund.send` job per refund), and
    /// adopts queued refunds that have none.
    ///
    /// Without Paystack nothing is registered: the jobs wait, unclaimed and
    /// with no attempt spent, for an instance that has a key (or this one
    /// after a restart with one), instead of each run failing or spinning.
    pub fn serve_refunds(self: &Arc<Self>, jobs: &JobQueue) {
        if self.paystack.is_none() {
            return;
        }
        let this = self.clone();
        jobs.register(REFUND_JOB, move |job| {
            let this = this.clone();
            async move { this.refund_job(job).await }
        });
        let this = self.clone();
        jobs.register(ADOPT_JOB, move |_job| {
            let this = this.clone();
            async move {
                this.adopt_orphans().await.map_err(JobFailure::retry)?;
                Ok(Outcome::Done)
            }
        });
        jobs.every(ADOPT_JOB, ADOPT_EVERY);
    }

    async fn refund_job(&self, job: Job) -> JobResult {
        let input: SendRefund = job.input()?;
        // The refund's own attempts and backoff are the truth: its retries
        // come back as `Later`, which spends none of the job's attempts; the
        // job's retries are for the database failing under it.
        match self.send_refund(input.refund_id).await {
            Ok(Next::Done) => Ok(Outcome::Done),
            Ok(Next::At(at)) => Ok(Outcome::Later(at)),
            Err(err) => Err(JobFailure::retry(err)),
        }
    }

    /// One look at the refund: settles an interrupted send, or sends it if
    /// it is due.
    async fn send_refund(&self, id: Uuid) -> Result<Next, StoreError> {
        let Some(paystack) = self.paystack.as_ref() else {
            return Ok(Next::At(after(ADOPT_EVERY)));
        };
        let Some(row) = refund::Entity::find_by_id(id).one(&self.db).await? else {
            return Ok(Next::Done);
        };
        if row.status != RefundStatus::Queued.as_str() {
            return Ok(Next::Done);
        }
        // Not before its time, the marker included: a send claimed by an
        // instance of the version before the queue (a rolling deploy) may
        // still be under way until the claim's lease passes.
        if row.next_attempt_at > Utc::now() {
            return Ok(Next::At(row.next_attempt_at));
        }
        if row.last_error.as_deref() == Some(IN_FLIGHT) {
            self.settle_refund(
                &row,
                row.attempts,
                RefundStatus::Unconfirmed,
                None,
                Some(IN_FLIGHT),
            )
            .await?;
            tracing::error!(refund = %row.id, reference = %row.reference,
                "a refund send was interrupted; check Paystack before sending it again");
            return Ok(Next::Done);
        }
        if !self.claim_refund(&row).await? {
            // Changed since it was read (staff, or an older instance's
            // sender): look again at what it is now.
            return Ok(Next::At(Utc::now()));
        }
        let outcome = paystack
            .refund(&row.reference, row.amount_kobo, &row.currency)
            .await;
        self.record_refund_outcome(&row, outcome).await
    }

    /// Refunds queued by a version before the job queue, or by one still
    /// running during a rolling deploy, get their job. A refund whose job
    /// exists (whatever its state) keeps it: the dedup key refuses a second.
    async fn adopt_orphans(&self) -> Result<(), StoreError> {
        let queued: Vec<Uuid> = refund::Entity::find()
            .select_only()
            .column(refund::Column::Id)
            .filter(refund::Column::Status.eq(RefundStatus::Queued.as_str()))
            .order_by_asc(refund::Column::NextAttemptAt)
            .limit(ADOPT_BATCH)
            .into_tuple()
            .all(&self.db)
            .await?;
        for id in queued {
            if enqueue(&self.db, send_job(id)).await? {
                tracing::info!(refund = %id, "a queued refund had no job; it has one now");
            }
        }
        Ok(())
    }

    /// Takes the refund for one send: counts the attempt, marks it in flight
    /// and moves its next attempt past the lease. False if it was taken.
    async fn claim_refund(&self, row: &refund::Model) -> Result<bool, StoreError> {
        let claimed = update_if_unchanged(row, row.attempts)
            .col_expr(refund::Column::Attempts, Expr::value(row.attempts + 1))
            .col_expr(refund::Column::LastError, Expr::value(IN_FLIGHT))
            .col_expr(refund::Column::NextAttemptAt, Expr::value(after(LEASE)))
            .exec(&self.db)
            .await?;
        Ok(claimed.rows_affected == 1)
    }

    async fn record_refund_outcome(
        &self,
        row: &refund::Model,
        outcome: Result<super::paystack::RefundAccepted, RefundFailure>,
    ) -> Result<Next, StoreError> {
        // The claim counted this attempt.
        let attempts = row.attempts + 1;
        match outcome {
            Ok(accepted) => {
                tracing::info!(refund = %row.id, reference = %row.reference, amount = row.amount_kobo, "refund accepted by Paystack");
                let provider_id = accepted.id.to_string();
                self.settle_refund(row, attempts, RefundStatus::Sent, Some(provider_id), None)
                    .await?;
                Ok(Next::Done)
            }
            Err(RefundFailure::Retry(why)) if attempts < MAX_ATTEMPTS => {
                tracing::warn!(refund = %row.id, attempts, error = %why, "refund not sent; will retry");
                let next = after(self.backoff(attempts));
                update_if_unchanged(row, attempts)
                    .col_expr(refund::Column::LastError, Expr::value(why))
                    .col_expr(refund::Column::NextAttemptAt, Expr::value(next))
                    .exec(&self.db)
                    .await?;
                Ok(Next::At(next))
            }
            Err(RefundFailure::Retry(why) | RefundFailure::Refused(why)) => {
                tracing::error!(refund = %row.id, reference = %row.reference, attempts, error = %why,
                    "refund failed; a person must follow up");
                self.settle_refund(row, attempts, RefundStatus::Failed, None, Some(&why))
                    .await?;
                Ok(Next::Done)
            }
            Err(RefundFailure::Unknown(why)) => {
                tracing::error!(refund = %row.id, reference = %row.reference, error = %why,
                    "refund outcome unknown; check Paystack before sending it again");
                self.settle_refund(row, attempts, RefundStatus::Unconfirmed, None, Some(&why))
                    .await?;
                Ok(Next::Done)
            }
        }
    }

    /// Gives the refund its final status, if it is still queued with
    /// `attempts` sends counted.
    async fn settle_refund(
        &self,
        row: &refund::Model,
        attempts: i64,
        status: RefundStatus,
        provider_id: Option<String>,
        error: Option<&str>,
    ) -> Result<(), StoreError> {
        update_if_unchanged(row, attempts)
            .col_expr(refund::Column::Status, Expr::value(status.as_str()))
            .col_expr(refund::Column::ProviderId, Expr::value(provider_id))
            .col_expr(
                refund::Column::LastError,
                Expr::value(error.map(str::to_string)),
            )
            .exec(&self.db)
            .await?;
        Ok(())
    }

    /// The wait before send number `attempts + 1`: doubling from the
    /// configured first wait, at most an hour.
    fn backoff(&self, attempts: i64) -> Duration {
        let doublings = u32::try_from(attempts.saturating_sub(1))
            .unwrap_or(u32::MAX)
            .min(16);
        self.refund_retry_after
            .saturating_mul(1 << doublings)
            .min(MAX_BACKOFF)
    }
}
