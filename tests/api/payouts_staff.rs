//! Staff and payouts nobody could confirm: an OTP Paystack asks for, a
//! transfer lost on its way; list and detail; retry only when Paystack has
//! no such transfer; close by hand with a note; each action in the audit
//! log; everyone else refused.

use std::time::Duration;

use reqwest::StatusCode;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
use serde_json::{Value, json};

use atelier::storage::entities::staff_action;

use crate::both_backends;
use crate::commissions::staff;
use crate::helpers::{TestApp, TestUser, status_and_body};
use crate::paystack_mock::{Answer, send_transfer_webhook};
use crate::wallet_ledger::assert_ledger_whole;
use crate::withdrawals::{
    db, money, tailor_with, wait_status, wait_transfers, withdraw, withdrawals_app,
};

const STAFF: &str = "/staff/api/payouts/";

async fn act(
    app: &TestApp,
    who: &TestUser,
    id: &str,
    what: &str,
    body: Value,
) -> (StatusCode, Value) {
    status_and_body(
        app.post_as(&who.access, &format!("{STAFF}{id}/{what}/"), body)
            .await,
    )
    .await
}

async fn audit_rows(app: &TestApp, action: &str) -> Vec<staff_action::Model> {
    staff_action::Entity::find()
        .filter(staff_action::Column::Action.eq(action))
        .all(&db(app).await)
        .await
        .unwrap()
}

both_backends! {
    async fn an_otp_transfer_waits_for_staff_who_close_it_with_a_note(backend) {
        let (app, paystack) = withdrawals_app(backend, |_| {}).await;
        let (ade, ade_id) = tailor_with(&app, "ade", 400_000).await;
        paystack.answer_transfers(&[Answer::Status("otp")]);
        let (_, payout) = withdraw(&app, &ade, "w-1", 150_000).await;
        let id = payout["id"].as_str().unwrap().to_string();
        let waiting = wait_status(&app, &ade, &id, "unconfirmed").await;
        assert!(waiting["failure_reason"].as_str().unwrap().contains("OTP"), "{waiting}");

        let root = staff(&app).await;
        // Not for tailors or customers.
        for (method, path) in [("GET", STAFF.to_string()), ("GET", format!("{STAFF}{id}/")),
            ("POST", format!("{STAFF}{id}/retry/")), ("POST", format!("{STAFF}{id}/close/"))] {
            let response = match method {
                "GET" => app.get_as(&ade.access, &path).await,
                _ => app.post_as(&ade.access, &path, json!({"outcome": "paid", "note": "x"})).await,
            };
            assert_eq!(response.status(), StatusCode::FORBIDDEN, "{method} {path}");
        }

        let (status, page) = status_and_body(app.get_as(&root.access, &format!("{STAFF}?status=unconfirmed&tailor={ade_id}")).await).await;
        assert_eq!(status, StatusCode::OK, "{page}");
        assert_eq!(page["count"], 1);
        assert_eq!(page["results"][0]["id"], id.as_str());
        assert_eq!(page["results"][0]["tailor_id"], ade_id.to_string());
        let (status, bad) = status_and_body(app.get_as(&root.access, &format!("{STAFF}?status=lost")).await).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{bad}");
        let (status, one) = status_and_body(app.get_as(&root.access, &format!("{STAFF}{id}/")).await).await;
        assert_eq!((status, &one["status"]), (StatusCode::OK, &json!("unconfirmed")));
        let unknown = app.get_as(&root.access, &format!("{STAFF}{}/", uuid::Uuid::now_v7())).await;
        assert_eq!(unknown.status(), StatusCode::NOT_FOUND);

        // Paystack has this transfer: no retry, close it instead.
        let (status, body) = act(&app, &root, &id, "retry", json!({})).await;
        assert_eq!((status, body["code"].as_str()), (StatusCode::CONFLICT, Some("transfer_exists")), "{body}");
        let (status, body) = act(&app, &root, &id, "close", json!({"outcome": "failed"})).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
        assert!(body["note"].is_array(), "{body}");
        let (status, body) = act(&app, &root, &id, "close", json!({"outcome": "maybe", "note": "x"})).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
        assert_eq!(money(&app, &ade).await, (250_000, 150_000, 0));

        // Paystack still waits for the OTP: closing either way could pay
        // twice or lose the money, so staff settle it at Paystack first.
        for outcome in ["failed", "paid"] {
            let (status, body) = act(&app, &root, &id, "close", json!({"outcome": outcome, "note": "x"})).await;
            assert_eq!((status, body["code"].as_str()), (StatusCode::CONFLICT, Some("transfer_in_flight")), "{body}");
        }
        let reference = payout["reference"].as_str().unwrap().to_string();
        paystack.set_transfer_status(&reference, "abandoned");
        // Paystack says it never went: not closable as paid.
        let (status, body) = act(&app, &root, &id, "close", json!({"outcome": "paid", "note": "x"})).await;
        assert_eq!((status, body["code"].as_str()), (StatusCode::CONFLICT, Some("paystack_disagrees")), "{body}");
        assert!(audit_rows(&app, "payout.close").await.is_empty());

        let note = "OTP never entered; abandoned in the Paystack dashboard.";
        let (status, closed) = act(&app, &root, &id, "close", json!({"outcome": "failed", "note": note})).await;
        assert_eq!(status, StatusCode::OK, "{closed}");
        assert_eq!((closed["status"].as_str(), closed["staff_note"].as_str()), (Some("failed"), Some(note)));
        assert_eq!(money(&app, &ade).await, (400_000, 0, 0));
        let rows = audit_rows(&app, "payout.close").await;
        assert_eq!(rows.len(), 1);
        assert_eq!((rows[0].subject_id.to_string(), rows[0].note.as_str()), (id.clone(), note));
        assert!(rows[0].details.contains("\"to\":\"failed\""), "{}", rows[0].details);
        // Settled: no second close, no retry.
        assert_eq!(act(&app, &root, &id, "close", json!({"outcome": "paid", "note": "x"})).await.0, StatusCode::CONFLICT);
        assert_eq!(act(&app, &root, &id, "retry", json!({})).await.0, StatusCode::CONFLICT);
        assert_eq!(audit_rows(&app, "payout.close").await.len(), 1);

        // Once Paystack reports success, an unconfirmed payout is closed as
        // paid, and only as paid.
        paystack.answer_transfers(&[Answer::Status("otp")]);
        let (_, second) = withdraw(&app, &ade, "w-2", 100_000).await;
        let reference = second["reference"].as_str().unwrap().to_string();
        let second = second["id"].as_str().unwrap().to_string();
        wait_status(&app, &ade, &second, "unconfirmed").await;
        paystack.set_transfer_status(&reference, "success");
        let (status, body) = act(&app, &root, &second, "close", json!({"outcome": "failed", "note": "x"})).await;
        assert_eq!((status, body["code"].as_str()), (StatusCode::CONFLICT, Some("paystack_disagrees")), "{body}");
        let (status, closed) = act(&app, &root, &second, "close", json!({"outcome": "paid", "note": "Seen in the bank statement."})).await;
        assert_eq!((status, closed["status"].as_str()), (StatusCode::OK, Some("paid")), "{closed}");
        assert_eq!(money(&app, &ade).await, (300_000, 0, 100_000));

        // A processing payout is Paystack's to settle (webhook or verify),
        // never staff's.
        paystack.answer_transfers(&[Answer::Status("pending")]);
        let (_, third) = withdraw(&app, &ade, "w-3", 100_000).await;
        let third = third["id"].as_str().unwrap().to_string();
        wait_status(&app, &ade, &third, "processing").await;
        let (status, body) = act(&app, &root, &third, "close", json!({"outcome": "failed", "note": "x"})).await;
        assert_eq!((status, body["code"].as_str()), (StatusCode::CONFLICT, Some("invalid_state")), "{body}");
        assert_ledger_whole(&app).await;
    }

    async fn a_lost_transfer_is_retried_by_staff_with_the_same_reference(backend) {
        let (app, paystack) = withdrawals_app(backend, |s| s.payouts.verify_tries = 2).await;
        let (ade, _) = tailor_with(&app, "ade", 400_000).await;
        paystack.answer_transfers(&[Answer::Lost]);
        let (_, payout) = withdraw(&app, &ade, "w-1", 150_000).await;
        let id = payout["id"].as_str().unwrap().to_string();
        let reference = payout["reference"].as_str().unwrap().to_string();
        // Unknown outcome; verify finds nothing, twice: staff must decide.
        let waiting = wait_status(&app, &ade, &id, "unconfirmed").await;
        assert!(waiting["failure_reason"].as_str().unwrap().contains("no transfer"), "{waiting}");
        assert!(paystack.transfers().is_empty());

        let root = staff(&app).await;
        let (status, retried) = act(&app, &root, &id, "retry", json!({"note": "Not in the Paystack dashboard."})).await;
        assert_eq!(status, StatusCode::OK, "{retried}");
        let sent = wait_transfers(&paystack, 1).await;
        assert_eq!(sent[0]["reference"], reference.as_str());
        wait_status(&app, &ade, &id, "processing").await;
        assert_eq!(send_transfer_webhook(&app, "transfer.success", &reference, 150_000).await, StatusCode::OK);
        wait_status(&app, &ade, &id, "paid").await;
        assert_eq!(money(&app, &ade).await, (250_000, 0, 150_000));
        let rows = audit_rows(&app, "payout.retry").await;
        assert_eq!(rows.len(), 1);
        assert_eq!(rows[0].note, "Not in the Paystack dashboard.");
        // Only unconfirmed payouts are retried.
        assert_eq!(act(&app, &root, &id, "retry", json!({})).await.0, StatusCode::CONFLICT);
        tokio::time::sleep(Duration::from_millis(300)).await;
        assert_eq!(paystack.transfers().len(), 1);
        assert_ledger_whole(&app).await;
    }
}
