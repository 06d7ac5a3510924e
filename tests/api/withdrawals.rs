//! Withdrawals against the Paystack stand-in: held at once, sent in turn,
//! settled by webhook or by verify, never sent twice on an unknown outcome,
//! replays and late events moving no money, and the storm (100 parallel
//! withdrawals against a balance for 10).

use std::sync::Arc;
use std::time::Duration;

use reqwest::StatusCode;
use sea_orm::{ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter};
use serde_json::{Value, json};
use uuid::Uuid;

use atelier::storage::entities::{job, notification, payout, payout_account};
use atelier::wallet::ledger::{self, Posting};
use atelier::wallet::{Entry, Kind, PlatformAccount, Source, SourceKind, TailorAccount};

use crate::both_backends;
use crate::helpers::{Backend, TestApp, TestUser, status_and_body};
use crate::payments::shop_with_paystack;
use crate::paystack_mock::{Answer, MockPaystack, send_transfer_webhook};
use crate::wallet_ledger::{assert_ledger_whole, wallet};

pub(crate) const WITHDRAW: &str = "/tailor/api/wallet/withdraw/";
pub(crate) const PAYOUTS: &str = "/tailor/api/wallet/payouts/";

pub(crate) async fn withdrawals_app(
    backend: Backend,
    tweak: impl FnOnce(&mut atelier::config::Settings),
) -> (TestApp, MockPaystack) {
    shop_with_paystack(backend, |s| {
        s.payout_accounts.cooldown = Duration::ZERO;
        // The storm: a hundred requests at once share the pool.
        s.db_max_connections = 16;
        s.db_acquire_timeout = Duration::from_secs(30);
        tweak(s);
    })
    .await
}

pub(crate) async fn db(app: &TestApp) -> DatabaseConnection {
    crate::tailor_profiles::database(app).await
}

/// A tailor with a usable payout account and `available` kobo to withdraw
/// (seeded straight into the ledger).
pub(crate) async fn tailor_with(app: &TestApp, name: &str, available: i64) -> (TestUser, Uuid) {
    let who = app
        .verified_user_with(name, json!({"role": "tailor"}))
        .await;
    let body =
        json!({"bank_code": "058", "account_number": "0123456789", "account_name": "ADA OBI"});
    let (status, added) = status_and_body(
        app.post_as(&who.access, "/tailor/api/payout-account/", body)
            .await,
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{added}");
    let id: Uuid = who.id.parse().unwrap();
    if available > 0 {
        let conn = db(app).await;
        let source = Source {
            kind: SourceKind::Adjustment,
            id: Uuid::now_v7(),
        };
        ledger::post(
            &conn,
            Posting {
                kind: Kind::Adjustment,
                dedup_key: format!("test-seed:{}", source.id),
                tailor_id: Some(id),
                source,
                memo: "test money".into(),
                entries: vec![
                    Entry::tailor(TailorAccount::Available, available),
                    Entry::platform(PlatformAccount::Clearing, -available),
                ],
            },
        )
        .await
        .unwrap();
    }
    (who, id)
}

pub(crate) async fn withdraw(
    app: &TestApp,
    who: &TestUser,
    key: &str,
    amount: i64,
) -> (StatusCode, Value) {
    let response = app
        .client
        .post(app.url(WITHDRAW))
        .bearer_auth(&who.access)
        .header("Idempotency-Key", key)
        .json(&json!({"amount": amount}))
        .send()
        .await
        .unwrap();
    status_and_body(response).await
}

pub(crate) async fn payouts(app: &TestApp, who: &TestUser) -> Value {
    let (status, body) = status_and_body(
        app.get_as(&who.access, &format!("{PAYOUTS}?page_size=100"))
            .await,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    body
}

/// Waits until the tailor's payout `id` is in `status`; returns it.
pub(crate) async fn wait_status(app: &TestApp, who: &TestUser, id: &str, status: &str) -> Value {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    loop {
        let page = payouts(app, who).await;
        let found = page["results"]
            .as_array()
            .unwrap()
            .iter()
            .find(|p| p["id"] == id)
            .cloned()
            .unwrap();
        if found["status"] == status {
            return found;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "payout never {status}: {found}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Waits until the stand-in has received `n` transfers.
pub(crate) async fn wait_transfers(paystack: &MockPaystack, n: usize) -> Vec<Value> {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    loop {
        let transfers = paystack.transfers();
        if transfers.len() >= n {
            return transfers;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "only {} transfers",
            transfers.len()
        );
        tokio::time::sleep(Duration::from_millis(30)).await;
    }
}

/// Waits until a job of `kind` is queued; returns it.
async fn wait_for_job(db: &DatabaseConnection, kind: &str) -> job::Model {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    loop {
        let queued = job::Entity::find()
            .filter(job::Column::Kind.eq(kind))
            .filter(job::Column::Status.eq("queued"))
            .one(db)
            .await
            .unwrap();
        if let Some(found) = queued {
            return found;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "no {kind} job queued"
        );
        tokio::time::sleep(Duration::from_millis(30)).await;
    }
}

/// (available, withdrawing, paid_out).
pub(crate) async fn money(app: &TestApp, who: &TestUser) -> (i64, i64, i64) {
    let w = wallet(app, who).await;
    let get = |k: &str| w[k].as_i64().unwrap();
    (get("available"), get("withdrawing"), get("paid_out"))
}

async fn notified(app: &TestApp, tailor: Uuid, kind: &str) -> usize {
    let conn = db(app).await;
    notification::Entity::find()
        .filter(notification::Column::UserId.eq(tailor))
        .filter(notification::Column::Kind.eq(kind))
        .all(&conn)
        .await
        .unwrap()
        .len()
}

both_backends! {
    async fn paid_by_webhook_replays_change_nothing_and_a_reversal_gives_it_back(backend) {
        let (app, paystack) = withdrawals_app(backend, |_| {}).await;
        let (ade, ade_id) = tailor_with(&app, "ade", 500_000).await;
        let (status, payout) = withdraw(&app, &ade, "w-1", 200_000).await;
        assert_eq!(status, StatusCode::ACCEPTED, "{payout}");
        assert_eq!(payout["status"], "pending");
        let id = payout["id"].as_str().unwrap().to_string();
        let reference = format!("atlpo_{}", id.parse::<Uuid>().unwrap().simple());
        assert_eq!(payout["reference"], reference.as_str());
        assert_eq!(money(&app, &ade).await, (300_000, 200_000, 0));

        let sent = wait_transfers(&paystack, 1).await;
        assert_eq!(sent[0]["reference"], reference.as_str());
        assert_eq!(sent[0]["amount"], 200_000);
        assert!(sent[0]["recipient"].as_str().unwrap().starts_with("RCP_"));
        wait_status(&app, &ade, &id, "processing").await;

        assert_eq!(send_transfer_webhook(&app, "transfer.success", &reference, 200_000).await, StatusCode::OK);
        wait_status(&app, &ade, &id, "paid").await;
        assert_eq!(money(&app, &ade).await, (300_000, 0, 200_000));
        // A replay, and a late `failed`, move nothing.
        assert_eq!(send_transfer_webhook(&app, "transfer.success", &reference, 200_000).await, StatusCode::OK);
        assert_eq!(send_transfer_webhook(&app, "transfer.failed", &reference, 200_000).await, StatusCode::OK);
        assert_eq!(money(&app, &ade).await, (300_000, 0, 200_000));
        assert_eq!(notified(&app, ade_id, "payout_sent").await, 1);
        // A wrong amount is ignored; a bad signature refused.
        assert_eq!(send_transfer_webhook(&app, "transfer.reversed", &reference, 1).await, StatusCode::OK);
        assert_eq!(money(&app, &ade).await, (300_000, 0, 200_000));
        let (body, _) = crate::paystack_mock::transfer_event("transfer.reversed", &reference, 200_000);
        let forged = app.client.post(app.url("/shop/api/payments/webhook/paystack/"))
            .header("content-type", "application/json")
            .header("x-paystack-signature", "00".repeat(64))
            .body(body).send().await.unwrap();
        assert_eq!(forged.status(), StatusCode::UNAUTHORIZED);
        assert_eq!(money(&app, &ade).await, (300_000, 0, 200_000));

        // The bank sends it back: available again, once.
        for _ in 0..2 {
            assert_eq!(send_transfer_webhook(&app, "transfer.reversed", &reference, 200_000).await, StatusCode::OK);
        }
        wait_status(&app, &ade, &id, "reversed").await;
        assert_eq!(money(&app, &ade).await, (500_000, 0, 0));
        assert_eq!(notified(&app, ade_id, "payout_failed").await, 1);
        assert_eq!(paystack.transfers().len(), 1);
        assert_ledger_whole(&app).await;
    }

    async fn paid_by_verify_when_no_webhook_comes(backend) {
        let (app, paystack) = withdrawals_app(backend, |_| {}).await;
        let (ade, _) = tailor_with(&app, "ade", 300_000).await;
        let (_, payout) = withdraw(&app, &ade, "w-1", 150_000).await;
        let id = payout["id"].as_str().unwrap().to_string();
        let sent = wait_transfers(&paystack, 1).await;
        paystack.set_transfer_status(sent[0]["reference"].as_str().unwrap(), "success");
        wait_status(&app, &ade, &id, "paid").await;
        assert_eq!(money(&app, &ade).await, (150_000, 0, 150_000));
        assert_eq!(paystack.transfers().len(), 1);
        assert_ledger_whole(&app).await;
    }

    async fn a_payout_whose_jobs_died_is_given_a_verify_again_by_the_sweep(backend) {
        let (app, paystack) = withdrawals_app(backend, |s| {
            // A transfer accepted as pending is verified only in an hour...
            s.payouts.verify_after = Duration::from_secs(3600);
            s.payouts.sweep_every = Duration::from_millis(200);
        })
        .await;
        let (ade, _) = tailor_with(&app, "ade", 300_000).await;
        let (_, payout) = withdraw(&app, &ade, "w-1", 150_000).await;
        let id = payout["id"].as_str().unwrap().to_string();
        let sent = wait_transfers(&paystack, 1).await;
        let db = db(&app).await;
        let verify = wait_for_job(&db, "payout.verify").await;
        let an_hour_ago = chrono::Utc::now() - chrono::TimeDelta::hours(1);
        payout::Entity::update_many()
            .col_expr(payout::Column::UpdatedAt, sea_orm::sea_query::Expr::value(an_hour_ago))
            .filter(payout::Column::Id.eq(id.parse::<Uuid>().unwrap()))
            .exec(&db)
            .await
            .unwrap();
        // Unmoved for an hour, but its verify job still follows it: the
        // sweep leaves it alone.
        tokio::time::sleep(Duration::from_millis(800)).await;
        let verifies = job::Entity::find().filter(job::Column::Kind.eq("payout.verify")).all(&db);
        assert_eq!(verifies.await.unwrap().len(), 1, "no second verify");
        assert_eq!(wait_status(&app, &ade, &id, "processing").await["status"], "processing");

        // The job dies (as after attempts that all failed on the database):
        // the sweep queues a verify, which finds the transfer paid.
        job::Entity::update_many()
            .col_expr(job::Column::Status, sea_orm::sea_query::Expr::value("dead"))
            .filter(job::Column::Id.eq(verify.id))
            .exec(&db)
            .await
            .unwrap();
        paystack.set_transfer_status(sent[0]["reference"].as_str().unwrap(), "success");
        wait_status(&app, &ade, &id, "paid").await;
        assert_eq!(money(&app, &ade).await, (150_000, 0, 150_000));
        assert_eq!(paystack.transfers().len(), 1, "verified, never sent again");
        assert_ledger_whole(&app).await;
    }

    async fn a_refused_transfer_gives_the_money_back(backend) {
        let (app, paystack) = withdrawals_app(backend, |_| {}).await;
        let (ade, ade_id) = tailor_with(&app, "ade", 300_000).await;
        paystack.answer_transfers(&[Answer::Refused]);
        let (_, payout) = withdraw(&app, &ade, "w-1", 150_000).await;
        let id = payout["id"].as_str().unwrap().to_string();
        let failed = wait_status(&app, &ade, &id, "failed").await;
        assert!(failed["failure_reason"].as_str().unwrap().contains("refused"), "{failed}");
        assert!(failed["finished_at"].is_string());
        assert_eq!(money(&app, &ade).await, (300_000, 0, 0));
        assert_eq!(notified(&app, ade_id, "payout_failed").await, 1);
        // A late success for it moves nothing: the money is the tailor's again.
        let reference = failed["reference"].as_str().unwrap();
        send_transfer_webhook(&app, "transfer.success", reference, 150_000).await;
        assert_eq!(money(&app, &ade).await, (300_000, 0, 0));
        assert_eq!(wait_status(&app, &ade, &id, "failed").await["status"], "failed");
        assert_ledger_whole(&app).await;
    }

    async fn an_unknown_outcome_is_verified_never_sent_again(backend) {
        let (app, paystack) = withdrawals_app(backend, |_| {}).await;
        let (ade, _) = tailor_with(&app, "ade", 300_000).await;
        paystack.answer_transfers(&[Answer::ServerError]);
        let (_, payout) = withdraw(&app, &ade, "w-1", 120_000).await;
        let id = payout["id"].as_str().unwrap().to_string();
        let sent = wait_transfers(&paystack, 1).await;
        // Verify asks (and finds it pending) several times meanwhile.
        tokio::time::sleep(Duration::from_secs(3)).await;
        assert_eq!(wait_status(&app, &ade, &id, "processing").await["status"], "processing");
        assert_eq!(money(&app, &ade).await, (180_000, 120_000, 0));
        paystack.set_transfer_status(sent[0]["reference"].as_str().unwrap(), "success");
        wait_status(&app, &ade, &id, "paid").await;
        assert_eq!(paystack.transfers().len(), 1, "sent twice");
        assert_eq!(money(&app, &ade).await, (180_000, 0, 120_000));
        assert_ledger_whole(&app).await;
    }

    async fn rules_of_asking_and_the_same_key_answers_the_same(backend) {
        let (app, paystack) = withdrawals_app(backend, |_| {}).await;
        let (ade, ade_id) = tailor_with(&app, "ade", 300_000).await;
        let (status, body) = withdraw(&app, &ade, "small", 99_999).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
        assert!(body["amount"][0].as_str().unwrap().contains("100000"), "{body}");
        let no_key = app.post_as(&ade.access, WITHDRAW, json!({"amount": 100_000})).await;
        assert_eq!(no_key.status(), StatusCode::BAD_REQUEST);
        let buyer = app.verified_user("buyer").await;
        assert_eq!(withdraw(&app, &buyer, "k", 100_000).await.0, StatusCode::FORBIDDEN);
        let (status, body) = withdraw(&app, &ade, "big", 300_001).await;
        assert_eq!((status, body["code"].as_str()), (StatusCode::CONFLICT, Some("insufficient_funds")), "{body}");
        assert!(body["detail"].as_str().unwrap().contains("300000"), "{body}");

        // No account; an account too new.
        let bola = app.verified_user_with("bola", json!({"role": "tailor"})).await;
        let (status, body) = withdraw(&app, &bola, "k", 100_000).await;
        assert_eq!((status, body["code"].as_str()), (StatusCode::CONFLICT, Some("no_payout_account")), "{body}");
        let conn = db(&app).await;
        payout_account::Entity::update_many()
            .col_expr(payout_account::Column::UsableFrom, sea_orm::sea_query::Expr::value(chrono::Utc::now() + chrono::Duration::hours(1)))
            .filter(payout_account::Column::TailorId.eq(ade_id))
            .exec(&conn).await.unwrap();
        let (status, body) = withdraw(&app, &ade, "new", 100_000).await;
        assert_eq!((status, body["code"].as_str()), (StatusCode::CONFLICT, Some("payout_account_too_new")), "{body}");
        assert!(body["detail"].as_str().unwrap().contains("usable_from"), "{body}");
        payout_account::Entity::update_many()
            .col_expr(payout_account::Column::UsableFrom, sea_orm::sea_query::Expr::value(chrono::Utc::now()))
            .filter(payout_account::Column::TailorId.eq(ade_id))
            .exec(&conn).await.unwrap();

        // The same key: the first answer again, one withdrawal.
        let (first_status, first) = withdraw(&app, &ade, "same", 100_000).await;
        assert_eq!(first_status, StatusCode::ACCEPTED, "{first}");
        let (again_status, again) = withdraw(&app, &ade, "same", 100_000).await;
        assert_eq!((again_status, &again["id"]), (StatusCode::ACCEPTED, &first["id"]));
        assert_eq!(withdraw(&app, &ade, "same", 200_000).await.0, StatusCode::UNPROCESSABLE_ENTITY);
        assert_eq!(payouts(&app, &ade).await["count"], 1);
        assert_eq!(money(&app, &ade).await.0, 200_000);
        wait_transfers(&paystack, 1).await;
        assert_ledger_whole(&app).await;
    }

    async fn the_storm_a_hundred_withdrawals_against_a_balance_for_ten(backend) {
        let (app, paystack) = withdrawals_app(backend, |_| {}).await;
        const A: i64 = 100_000;
        let (ade, _) = tailor_with(&app, "ade", 10 * A).await;
        let app = Arc::new(app);
        let ade = Arc::new(ade);
        let asks = (0..100).map(|i| {
            let (app, ade) = (app.clone(), ade.clone());
            tokio::spawn(async move { withdraw(&app, &ade, &format!("storm-{i}"), A).await })
        });
        let answers = futures_util::future::join_all(asks).await;
        let mut accepted = 0;
        for answer in answers {
            let (status, body) = answer.unwrap();
            match status {
                StatusCode::ACCEPTED => accepted += 1,
                StatusCode::CONFLICT => assert_eq!(body["code"], "insufficient_funds", "{body}"),
                other => panic!("{other}: {body}"),
            }
        }
        assert_eq!(accepted, 10);
        assert_eq!(money(&app, &ade).await, (0, 10 * A, 0));

        // Paystack settles each transfer as it comes; the next never comes
        // before the one before is settled.
        let mut settled = 0;
        let deadline = tokio::time::Instant::now() + Duration::from_secs(90);
        while settled < 10 {
            assert!(tokio::time::Instant::now() < deadline, "{settled} settled");
            let unsettled = paystack.unsettled_transfers();
            assert!(unsettled.len() <= 1, "{unsettled:?}");
            if let Some(reference) = unsettled.first() {
                paystack.set_transfer_status(reference, "success");
                assert_eq!(send_transfer_webhook(&app, "transfer.success", reference, A).await, StatusCode::OK);
                settled += 1;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        assert_eq!(paystack.max_unsettled_transfers(), 1);
        let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
        while money(&app, &ade).await != (0, 0, 10 * A) {
            assert!(tokio::time::Instant::now() < deadline, "{:?}", money(&app, &ade).await);
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        let page = payouts(&app, &ade).await;
        assert!(page["results"].as_array().unwrap().iter().all(|p| p["status"] == "paid"), "{page}");
        assert_eq!(paystack.transfers().len(), 10);
        assert_ledger_whole(&app).await;
    }
}
