//! The posting API against a real database (SQLite and PostgreSQL, no
//! server): overdrafts refused under concurrency, refunds that outrun the
//! escrow, duplicates and unbalanced postings. Withdrawals will call these
//! same functions.

use std::sync::Arc;
use std::time::Duration;

use atelier::wallet::flows::{self, Credit, TakeBack};
use atelier::wallet::ledger::{self, Balances};
use atelier::wallet::{Entry, Kind, LedgerError, PlatformAccount, Posted, Posting, Source};
use atelier::wallet::{SourceKind, TailorAccount};
use sea_orm::{DatabaseConnection, TransactionTrait};
use uuid::Uuid;

use crate::both_backends;
use crate::helpers::{Backend, TestDatabase};

async fn ledger_db(backend: Backend) -> (TestDatabase, DatabaseConnection) {
    let database = TestDatabase::create(backend).await;
    let db = atelier::storage::connect(&database.url, 16, Duration::from_secs(30))
        .await
        .unwrap();
    atelier::storage::migrate(&db).await.unwrap();
    (database, db)
}

async fn assert_whole(db: &DatabaseConnection) {
    let problems = atelier::wallet::audit::audit(db).await.unwrap();
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

/// A customer paid `amount` for a new order of `tailor`'s (10% fee).
async fn paid(db: &DatabaseConnection, tailor: Uuid, amount: i64) -> Source {
    let source = Source::order(Uuid::now_v7());
    let txn = db.begin().await.unwrap();
    let credit = Credit {
        payment_id: Uuid::now_v7(),
        tailor_id: tailor,
        source,
        amount,
        memo: "test".into(),
    };
    assert!(
        flows::credit_payment(&txn, 1000, credit)
            .await
            .unwrap()
            .is_new()
    );
    txn.commit().await.unwrap();
    source
}

async fn release(db: &DatabaseConnection, tailor: Uuid, source: Source) {
    let txn = db.begin().await.unwrap();
    flows::release(&txn, tailor, source, "test").await.unwrap();
    txn.commit().await.unwrap();
}

async fn balances(db: &DatabaseConnection, tailor: Uuid) -> Balances {
    ledger::balances(db, tailor).await.unwrap()
}

both_backends! {
    async fn a_hundred_parallel_holds_on_a_balance_for_ten_take_exactly_ten(backend) {
        let (_database, db) = ledger_db(backend).await;
        let tailor = Uuid::now_v7();
        // 10 x 900 available: an order of 10,000 less its fee.
        let order = paid(&db, tailor, 10_000).await;
        release(&db, tailor, order).await;
        assert_eq!(balances(&db, tailor).await.available, 9_000);
        let db = Arc::new(db);
        let holds = (0..100).map(|_| {
            let db = db.clone();
            tokio::spawn(async move {
                let txn = db.begin().await.unwrap();
                match flows::hold_for_payout(&txn, tailor, Uuid::now_v7(), 900).await {
                    Ok(posted) => {
                        txn.commit().await.unwrap();
                        Ok(posted)
                    }
                    Err(err) => {
                        txn.rollback().await.unwrap();
                        Err(err)
                    }
                }
            })
        });
        let results = futures_util::future::join_all(holds).await;
        let mut held = 0;
        for result in results {
            match result.unwrap() {
                Ok(Posted::New { .. }) => held += 1,
                Err(LedgerError::Insufficient { account: "available", .. }) => {}
                other => panic!("unexpected: {other:?}"),
            }
        }
        assert_eq!(held, 10);
        let b = balances(&db, tailor).await;
        assert_eq!((b.available, b.withdrawing), (0, 9_000));
        assert_whole(&db).await;
    }

    async fn a_refund_takes_escrow_first_then_available_then_owes_the_rest(backend) {
        let (_database, db) = ledger_db(backend).await;
        let tailor = Uuid::now_v7();
        let released = paid(&db, tailor, 10_000).await;
        release(&db, tailor, released).await;
        let held = paid(&db, tailor, 5_000).await;
        assert_eq!((balances(&db, tailor).await.available, balances(&db, tailor).await.pending), (9_000, 4_500));
        // 16,000 back to a customer of `held`, 1,000 of it the platform's fee.
        let txn = db.begin().await.unwrap();
        let back = TakeBack { tailor, source: held, amount: 16_000, fee: 1_000,
            dedup_key: "refund:test".into(), memo: "test".into() };
        flows::take_back(&txn, back.clone()).await.unwrap();
        txn.commit().await.unwrap();
        let b = balances(&db, tailor).await;
        assert_eq!((b.pending, b.available, b.debt()), (0, 0, 1_500), "{b:?}");
        // The same refund again writes nothing.
        let txn = db.begin().await.unwrap();
        assert_eq!(flows::take_back(&txn, back).await.unwrap(), Posted::Duplicate);
        txn.commit().await.unwrap();
        // The next release pays the debt first.
        let next = paid(&db, tailor, 10_000).await;
        release(&db, tailor, next).await;
        let b = balances(&db, tailor).await;
        assert_eq!((b.pending, b.available, b.debt()), (0, 7_500, 0), "{b:?}");
        assert_eq!(b.lines, 6);
        assert_whole(&db).await;
    }

    async fn postings_are_balanced_written_once_and_never_overdraw(backend) {
        let (_database, db) = ledger_db(backend).await;
        let tailor = Uuid::now_v7();
        let order = paid(&db, tailor, 1_000).await;
        let posting = |key: &str, entries: Vec<Entry>| Posting {
            kind: Kind::Adjustment, dedup_key: key.into(), tailor_id: Some(tailor),
            source: Source { kind: SourceKind::Adjustment, id: Uuid::now_v7() },
            memo: "test".into(), entries,
        };
        let txn = db.begin().await.unwrap();
        let unbalanced = posting("a", vec![Entry::tailor(TailorAccount::Available, 5)]);
        assert!(matches!(ledger::post(&txn, unbalanced).await, Err(LedgerError::Invalid(_))));
        let overdraft = posting("b", vec![Entry::tailor(TailorAccount::Available, -1),
            Entry::platform(PlatformAccount::Fees, 1)]);
        assert!(matches!(ledger::post(&txn, overdraft).await,
            Err(LedgerError::Insufficient { account: "available", short: 1 })));
        txn.rollback().await.unwrap();
        // Escrow belongs to its order: another order's release takes none of it.
        let txn = db.begin().await.unwrap();
        assert_eq!(flows::release(&txn, tailor, Source::order(Uuid::now_v7()), "x").await.unwrap(), None);
        let escrow_raid = Posting { kind: Kind::Release, dedup_key: "c".into(), tailor_id: Some(tailor),
            source: Source::order(Uuid::now_v7()), memo: "x".into(),
            entries: vec![Entry::tailor(TailorAccount::Pending, -900), Entry::tailor(TailorAccount::Available, 900)] };
        assert!(matches!(ledger::post(&txn, escrow_raid).await, Err(LedgerError::Insufficient { account: "pending", .. })));
        txn.rollback().await.unwrap();
        let b = balances(&db, tailor).await;
        assert_eq!((b.pending, b.available, b.lines), (900, 0, 1));
        release(&db, tailor, order).await;
        release(&db, tailor, order).await;
        assert_eq!(balances(&db, tailor).await.available, 900, "released once");
        assert_whole(&db).await;
    }
}
