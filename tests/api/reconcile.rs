//! `atelier reconcile --date D`, the real binary run against the test's
//! database and the Paystack stand-in: a day that matches exits 0; charges
//! and transfers that differ (missing on either side, another amount,
//! another outcome) are each one line and exit 1; Paystack's lists are read
//! across all their pages; no key or no Paystack exits 2.

use std::process::Command;

use chrono::Utc;
use reqwest::StatusCode;
use sea_orm::{ActiveValue::Set, EntityTrait, TransactionTrait};
use serde_json::json;
use uuid::Uuid;

use crate::both_backends;
use crate::helpers::{TestApp, TestUser, free_port};
use crate::payments::{add_to_cart, buyer_with_cart, paid_order, shop_with_paystack};
use crate::paystack_mock::SECRET;
use crate::wallet_staff::{adjust, staff_named};

struct Run {
    code: i32,
    stdout: String,
    stderr: String,
}

/// Runs `atelier reconcile --date <today>` with only the settings it needs.
fn reconcile(app: &TestApp, paystack_url: &str, key: Option<&str>) -> Run {
    let mut command = Command::new(env!("CARGO_BIN_EXE_atelier"));
    command
        .args(["reconcile", "--date", &Utc::now().date_naive().to_string()])
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("DATABASE_URL", &app.database.url)
        .env("ATELIER_DATA_DIR", app.database.data_dir())
        .env("PAYSTACK_BASE_URL", paystack_url);
    if let Some(key) = key {
        command.env("PAYSTACK_SECRET_KEY", key);
    }
    let output = command.output().expect("run atelier reconcile");
    Run {
        code: output.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
    }
}

/// A payout of `amount` in `status`, with the ledger postings the
/// withdrawal flow makes for it (held; then paid out, or returned).
/// Written straight to the database: the withdrawal endpoints that create
/// payouts are being built in parallel, and reconciliation only reads them.
async fn payout(app: &TestApp, tailor: &TestUser, amount: i64, status: &str) -> String {
    use atelier::storage::entities::payout;
    use atelier::wallet::flows;
    let tailor: Uuid = tailor.id.parse().unwrap();
    let id = Uuid::now_v7();
    let reference = format!("atlpo_{}", id.simple());
    let db = crate::tailor_profiles::database(app).await;
    let txn = db.begin().await.unwrap();
    flows::hold_for_payout(&txn, tailor, id, amount)
        .await
        .unwrap();
    match status {
        "paid" => {
            flows::payout_sent(&txn, tailor, id, amount).await.unwrap();
        }
        "failed" | "reversed" => {
            flows::payout_returned(&txn, tailor, id, amount, "Transfer failed.")
                .await
                .unwrap();
        }
        // Paid, then the bank sent it back (`transfer.reversed` after
        // `transfer.success`).
        "reversed_after_paid" => {
            flows::payout_sent(&txn, tailor, id, amount).await.unwrap();
            flows::payout_reversed(&txn, tailor, id, amount)
                .await
                .unwrap();
        }
        _ => {}
    }
    let now = Utc::now();
    payout::Entity::insert(payout::ActiveModel {
        id: Set(id),
        tailor_id: Set(tailor),
        amount_kobo: Set(amount),
        currency: Set("NGN".into()),
        status: Set(status.trim_end_matches("_after_paid").into()),
        reference: Set(reference.clone()),
        payout_account_id: Set(Uuid::now_v7()),
        recipient_code: Set("RCP_mock".into()),
        transfer_code: Set(None),
        failure_reason: Set(None),
        staff_note: Set(None),
        created_at: Set(now),
        updated_at: Set(now),
        finished_at: Set(Some(now)),
    })
    .exec_without_returning(&txn)
    .await
    .unwrap();
    txn.commit().await.unwrap();
    let _ = db.close().await;
    reference
}

/// Two paid orders (3,000,000 and 1,500,000 kobo) through checkout and the
/// webhook, and available money for payouts (a staff adjustment).
async fn a_day_of_business(app: &TestApp) -> (TestUser, String, String) {
    let (tailor, buyer, product) = buyer_with_cart(app).await;
    let (_, first) = paid_order(app, &buyer, "k1").await;
    add_to_cart(app, &buyer, &product, 1).await;
    let (_, second) = paid_order(app, &buyer, "k2").await;
    let root = staff_named(app, "root").await;
    let (status, _) = adjust(
        app,
        &root,
        &tailor,
        json!({"amount": 200_000, "account": "available", "reason": "Float for payouts"}),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::CREATED);
    (tailor, first, second)
}

fn lines_of<'a>(run: &'a Run, kind: &str) -> Vec<&'a str> {
    run.stdout.lines().filter(|l| l.starts_with(kind)).collect()
}

both_backends! {
    async fn a_day_that_matches_exits_zero_after_reading_every_page(backend) {
        let (app, paystack) = shop_with_paystack(backend, |_| {}).await;
        let (tailor, first, second) = a_day_of_business(&app).await;
        let sent = payout(&app, &tailor, 50_000, "paid").await;
        let bounced = payout(&app, &tailor, 20_000, "failed").await;
        let waiting = payout(&app, &tailor, 10_000, "processing").await;
        let came_back = payout(&app, &tailor, 15_000, "reversed_after_paid").await;
        paystack.seed_charge(&first, 3_000_000, "success");
        paystack.seed_charge(&second, 1_500_000, "success");
        // Abandoned at the payment page: no money moved, nothing to match.
        paystack.seed_charge("ATL-abandoned", 900, "abandoned");
        paystack.seed_transfer(&sent, 50_000, "success");
        paystack.seed_transfer(&bounced, 20_000, "failed");
        paystack.seed_transfer(&waiting, 10_000, "pending");
        paystack.seed_transfer(&came_back, 15_000, "reversed");
        paystack.list_pages_of(2);

        let run = reconcile(&app, &paystack.url, Some(SECRET));
        assert_eq!(run.code, 0, "{}\n{}", run.stdout, run.stderr);
        let summary = run.stdout.lines().last().unwrap();
        assert!(summary.contains("3 charges and 4 transfers") && summary.contains("0 differences")
            && summary.ends_with("OK"), "{}", run.stdout);
        assert_eq!(run.stdout.lines().count(), 1, "{}", run.stdout);
        let pages = paystack.list_requests();
        for path in ["/transaction", "/transfer"] {
            let read: Vec<u64> = pages.iter().filter(|(p, _)| p == path).map(|(_, n)| *n).collect();
            assert_eq!(read, [1, 2], "{path}: {pages:?}");
        }
    }

    async fn every_difference_is_a_line_and_exits_one(backend) {
        let (app, paystack) = shop_with_paystack(backend, |_| {}).await;
        let (tailor, first, second) = a_day_of_business(&app).await;
        let bounced_there = payout(&app, &tailor, 50_000, "paid").await;
        let unknown_there = payout(&app, &tailor, 30_000, "paid").await;
        let fine = payout(&app, &tailor, 10_000, "paid").await;
        paystack.seed_charge(&first, 3_000_000, "success");
        // Another amount than we asked for.
        paystack.seed_charge(&second, 1_400_000, "success");
        // Money Paystack took that we know nothing of.
        paystack.seed_charge("ATL-ghost", 777_700, "success");
        // We think it paid; Paystack says it failed.
        paystack.seed_transfer(&bounced_there, 50_000, "failed");
        paystack.seed_transfer(&fine, 10_000, "success");
        paystack.list_pages_of(2);

        let run = reconcile(&app, &paystack.url, Some(SECRET));
        assert_eq!(run.code, 1, "{}\n{}", run.stdout, run.stderr);
        let out = &run.stdout;
        let one = |kind: &str| {
            let lines = lines_of(&run, kind);
            assert_eq!(lines.len(), 1, "{kind}:\n{out}");
            lines[0].to_string()
        };
        assert!(one("charge_missing_here").contains("reference=ATL-ghost paystack=777700 ours=-"), "{out}");
        assert!(one("charge_amount_mismatch")
            .contains(&format!("reference={second} paystack=1400000 ours=1500000")), "{out}");
        let status = one("transfer_status_mismatch");
        assert!(status.contains(&format!("reference={bounced_there} paystack=50000 ours=50000"))
            && status.contains("Paystack says failed") && status.contains("is paid"), "{out}");
        assert!(one("payout_missing_at_paystack")
            .contains(&format!("reference={unknown_there} paystack=- ours=30000")), "{out}");
        assert!(!out.contains(&format!("reference={first}")), "{out}");
        assert!(!out.contains(&format!("reference={fine}")), "{out}");
        let summary = out.lines().last().unwrap();
        assert!(summary.contains("4 differences") && summary.ends_with("MISMATCH"), "{out}");
        assert_eq!(out.lines().count(), 5, "{out}");
    }

    async fn no_key_or_no_paystack_exits_two(backend) {
        let (app, paystack) = shop_with_paystack(backend, |_| {}).await;
        let run = reconcile(&app, &paystack.url, None);
        assert_eq!(run.code, 2, "{}", run.stderr);
        assert!(run.stderr.contains("PAYSTACK_SECRET_KEY"), "{}", run.stderr);
        let nowhere = format!("http://127.0.0.1:{}", free_port());
        let run = reconcile(&app, &nowhere, Some(SECRET));
        assert_eq!(run.code, 2, "{}\n{}", run.stdout, run.stderr);
        assert!(run.stderr.contains("unreachable") && !run.stderr.contains(SECRET), "{}", run.stderr);
        // A key Paystack refuses is not a clean day either.
        let run = reconcile(&app, &paystack.url, Some("sk_test_wrong"));
        assert_eq!(run.code, 2, "{}", run.stderr);
        assert!(run.stdout.is_empty());
    }
}
