//! The ledger through the real flows: payments credit the tailor's escrow
//! less the platform's fee (once, however often Paystack reports them),
//! delivery plus the hold or completion releases it, refunds take it back,
//! money collected in person owes its fee; the wallet and the statement
//! say so; and after every scenario the cached balances equal the entries.

use std::time::Duration;

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::both_backends;
use crate::commissions::{act, atelier, atelier_with, delivered, paystack_pays, staff};
use crate::helpers::{Backend, TestApp, TestUser, body_of, status_and_body};
use crate::payments::{add_to_cart, buyer_with_cart, paid_order, shop_with_paystack, webhook};
use crate::paystack_mock::charge_success;
use crate::spec_check::Spec;

pub(crate) const WALLET: &str = "/tailor/api/wallet/";
pub(crate) const STATEMENT: &str = "/tailor/api/wallet/transactions/";

pub(crate) async fn wallet(app: &TestApp, who: &TestUser) -> Value {
    let (status, body) = status_and_body(app.get_as(&who.access, WALLET).await).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    body
}

pub(crate) async fn statement(app: &TestApp, who: &TestUser, query: &str) -> (StatusCode, Value) {
    status_and_body(
        app.get_as(&who.access, &format!("{STATEMENT}?{query}"))
            .await,
    )
    .await
}

/// (available, pending, owed) of the tailor's wallet.
pub(crate) async fn balances(app: &TestApp, who: &TestUser) -> (i64, i64, i64) {
    let w = wallet(app, who).await;
    let get = |k: &str| w[k].as_i64().unwrap();
    (get("available"), get("pending"), get("owed"))
}

/// Every ledger invariant, read in one snapshot: entries sum to zero per
/// transaction, cached balances and escrow equal their entries, nothing
/// below zero.
pub(crate) async fn assert_ledger_whole(app: &TestApp) {
    use sea_orm::{ConnectionTrait, DbBackend, IsolationLevel, TransactionTrait};
    let db = crate::tailor_profiles::database(app).await;
    let txn = match db.get_database_backend() {
        DbBackend::Postgres => db
            .begin_with_config(Some(IsolationLevel::RepeatableRead), None)
            .await
            .unwrap(),
        // A read transaction on SQLite (WAL) sees one snapshot already.
        _ => db.begin().await.unwrap(),
    };
    let problems = atelier::wallet::audit::audit(&txn).await.unwrap();
    txn.commit().await.unwrap();
    let _ = db.close().await;
    assert!(
        problems.is_empty(),
        "the ledger is broken:\n{}",
        problems.join("\n")
    );
}

pub(crate) async fn platform_totals(app: &TestApp) -> atelier::wallet::audit::PlatformTotals {
    let db = crate::tailor_profiles::database(app).await;
    let totals = atelier::wallet::audit::platform_totals(&db).await.unwrap();
    let _ = db.close().await;
    totals
}

/// `who` moves the order to `status`.
pub(crate) async fn move_order(app: &TestApp, who: &TestUser, id: &str, status: &str) -> Value {
    let response = app
        .client
        .patch(app.url(&format!("/shop/api/orders/{id}/status/")))
        .bearer_auth(&who.access)
        .json(&json!({"status": status}))
        .send()
        .await
        .unwrap();
    let (code, body) = status_and_body(response).await;
    assert_eq!(code, StatusCode::OK, "{status}: {body}");
    body
}

async fn deliver_order(app: &TestApp, tailor: &TestUser, id: &str) {
    for status in ["processing", "shipped", "delivered"] {
        move_order(app, tailor, id, status).await;
    }
}

async fn spec(app: &TestApp) -> Spec {
    Spec(body_of(app.get("/api/openapi.json").await).await)
}

fn hold(seconds: u64) -> atelier::config::WalletSettings {
    atelier::config::WalletSettings::new(1000, Duration::from_secs(seconds))
}

/// Polls (up to 10 s) until the tailor's available balance is `amount`.
async fn wait_available(app: &TestApp, who: &TestUser, amount: i64) -> Value {
    for _ in 0..100 {
        let w = wallet(app, who).await;
        if w["available"] == amount {
            return w;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!(
        "available never reached {amount}: {}",
        wallet(app, who).await
    );
}

both_backends! {
    async fn a_paid_order_credits_escrow_less_the_fee_once(backend) {
        let (app, _paystack) = shop_with_paystack(backend, |_| {}).await;
        let spec = spec(&app).await;
        let (tailor, buyer, _product) = buyer_with_cart(&app).await;
        let response = app.client.post(app.url("/shop/api/checkout/")).bearer_auth(&buyer.access)
            .header("Idempotency-Key", "k1")
            .json(&json!({"delivery_address": "3 Marina Road, Lagos", "payment_method": "paystack"}))
            .send().await.unwrap();
        let (status, placed) = status_and_body(response).await;
        assert_eq!(status, StatusCode::CREATED, "{placed}");
        let order = placed["orders"][0]["id"].as_str().unwrap().to_string();
        let reference = placed["payment"]["reference"].as_str().unwrap().to_string();
        // Paystack reports the payment 20 times at once, and the customer asks too.
        let (body, signature) = charge_success(&reference, 3_000_000, "NGN");
        let reports = (0..20).map(|_| webhook(&app, &body, &signature));
        for status in futures_util::future::join_all(reports).await {
            assert_eq!(status, StatusCode::OK);
        }
        let verify = app.get_as(&buyer.access, &format!("/shop/api/payments/verify/{reference}/")).await;
        assert_eq!(verify.status(), StatusCode::OK);

        let w = wallet(&app, &tailor).await;
        spec.assert_documented("get", "/tailor/api/wallet", 200, &w);
        // 2 x 1,500,000; 10% to the platform.
        assert_eq!((w["pending"].clone(), w["available"].clone(), w["owed"].clone()),
            (json!(2_700_000), json!(0), json!(0)), "{w}");
        assert_eq!((w["lifetime_earned"].clone(), w["fees_paid"].clone(), w["fee_bps"].clone()),
            (json!(2_700_000), json!(300_000), json!(1000)));
        let next = &w["next_releases"][0];
        assert_eq!((next["order_id"].as_str(), next["amount"].clone(), next["release_at"].clone()),
            (Some(order.as_str()), json!(2_700_000), Value::Null), "undated until delivery: {w}");

        let (status, page) = statement(&app, &tailor, "").await;
        assert_eq!(status, StatusCode::OK, "{page}");
        spec.assert_documented("get", "/tailor/api/wallet/transactions", 200, &page);
        assert_eq!(page["count"], 1, "one line however often it was reported: {page}");
        let line = &page["results"][0];
        assert_eq!((line["kind"].as_str(), line["order_id"].as_str(), line["commission_id"].clone()),
            (Some("payment"), Some(order.as_str()), Value::Null));
        assert_eq!((line["amount"].clone(), line["fee"].clone(), line["net"].clone()),
            (json!(3_000_000), json!(300_000), json!(2_700_000)));
        assert_eq!(line["effect"], json!({"pending": 2_700_000, "available": 0, "withdrawing": 0, "paid_out": 0, "owed": 0}));
        let platform = platform_totals(&app).await;
        assert_eq!((platform.clearing, platform.fees, platform.refunds), (-3_000_000, 300_000, 0));
        assert_ledger_whole(&app).await;
    }

    async fn a_delivered_order_is_released_once_after_the_hold(backend) {
        let (app, _paystack) = shop_with_paystack(backend, |s| s.wallet = hold(1)).await;
        // A second instance sweeps the same database for due releases.
        let (_second, _stop) = app.second_instance_with(|s| s.wallet = hold(1)).await;
        let (tailor, buyer, _product) = buyer_with_cart(&app).await;
        let (order, _) = paid_order(&app, &buyer, "k1").await;
        deliver_order(&app, &tailor, &order).await;
        let w = wallet(&app, &tailor).await;
        assert!(w["next_releases"][0]["release_at"].is_string(), "dated once delivered: {w}");
        let w = wait_available(&app, &tailor, 2_700_000).await;
        assert_eq!((w["pending"].clone(), w["next_releases"].clone()), (json!(0), json!([])), "{w}");
        // Both instances kept sweeping meanwhile.
        tokio::time::sleep(Duration::from_millis(1200)).await;
        let (_, page) = statement(&app, &tailor, "").await;
        let kinds: Vec<&str> = page["results"].as_array().unwrap().iter().map(|l| l["kind"].as_str().unwrap()).collect();
        assert_eq!(kinds, ["release", "payment"], "released exactly once: {page}");
        let release = &page["results"][0];
        assert_eq!((release["amount"].clone(), release["net"].clone(), release["fee"].clone()),
            (json!(2_700_000), json!(0), json!(0)));
        assert_eq!((release["effect"]["pending"].clone(), release["effect"]["available"].clone()),
            (json!(-2_700_000), json!(2_700_000)));
        assert_eq!(wallet(&app, &tailor).await["available"], 2_700_000);
        assert_ledger_whole(&app).await;
    }

    async fn completing_an_order_releases_it_at_once(backend) {
        let (app, _paystack) = shop_with_paystack(backend, |_| {}).await;
        let (tailor, buyer, _product) = buyer_with_cart(&app).await;
        let (order, _) = paid_order(&app, &buyer, "k1").await;
        deliver_order(&app, &tailor, &order).await;
        assert_eq!(balances(&app, &tailor).await, (0, 2_700_000, 0), "held for three days");
        move_order(&app, &buyer, &order, "completed").await;
        assert_eq!(balances(&app, &tailor).await, (2_700_000, 0, 0));
        assert_ledger_whole(&app).await;
    }

    async fn a_cancelled_paid_order_takes_the_share_back_and_the_fee_too(backend) {
        let (app, paystack) = shop_with_paystack(backend, |_| {}).await;
        let (tailor, buyer, _product) = buyer_with_cart(&app).await;
        let (order, _) = paid_order(&app, &buyer, "k1").await;
        move_order(&app, &tailor, &order, "cancelled").await;
        let w = wallet(&app, &tailor).await;
        assert_eq!((w["pending"].clone(), w["available"].clone(), w["owed"].clone(), w["lifetime_earned"].clone(), w["fees_paid"].clone()),
            (json!(0), json!(0), json!(0), json!(0), json!(0)), "{w}");
        let (_, page) = statement(&app, &tailor, "").await;
        let refund = &page["results"][0];
        assert_eq!((refund["kind"].as_str(), refund["amount"].clone(), refund["fee"].clone(), refund["net"].clone()),
            (Some("refund"), json!(3_000_000), json!(-300_000), json!(-2_700_000)), "{page}");
        assert_eq!(refund["effect"]["pending"], -2_700_000);
        let platform = platform_totals(&app).await;
        assert_eq!((platform.clearing, platform.fees, platform.refunds), (-3_000_000, 0, 3_000_000));
        // The refund still goes to Paystack as before.
        for _ in 0..50 {
            if !paystack.refunds().is_empty() { break; }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        assert_eq!(paystack.refunds().len(), 1);
        assert_ledger_whole(&app).await;
    }

    async fn a_commission_is_released_when_it_completes(backend) {
        let (app, _paystack) = atelier(backend).await;
        let (customer, tailor, id) = delivered(&app).await;
        // Deposit 40,000 and balance 60,000, 10% of each to the platform.
        let w = wallet(&app, &tailor).await;
        assert_eq!((w["pending"].clone(), w["fees_paid"].clone()), (json!(90_000), json!(10_000)), "{w}");
        assert_eq!(w["next_releases"][0]["commission_id"].as_str(), Some(id.as_str()));
        let (status, body) = act(&app, &customer, &id, "complete", json!({})).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        assert_eq!(balances(&app, &tailor).await, (90_000, 0, 0));
        let (_, page) = statement(&app, &tailor, "").await;
        let kinds: Vec<&str> = page["results"].as_array().unwrap().iter().map(|l| l["kind"].as_str().unwrap()).collect();
        assert_eq!(kinds, ["release", "payment", "payment"], "{page}");
        assert!(page["results"].as_array().unwrap().iter().all(|l| l["commission_id"] == json!(id)));
        assert_ledger_whole(&app).await;
    }

    async fn a_dispute_holds_the_money_until_staff_decide(backend) {
        let (app, _paystack) = atelier_with(backend, |s| {
            s.commissions.auto_complete_after = Duration::from_millis(500);
        }).await;
        let (customer, tailor, id) = delivered(&app).await;
        let (status, body) = act(&app, &customer, &id, "dispute", json!({"reason": "The seams are coming apart."})).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        let dispute = body["dispute"]["id"].as_str().unwrap().to_string();
        // Long past the automatic completion, nothing was released.
        tokio::time::sleep(Duration::from_millis(1500)).await;
        assert_eq!(balances(&app, &tailor).await, (0, 90_000, 0));
        let (status, _) = act(&app, &customer, &id, "complete", json!({})).await;
        assert_eq!(status, StatusCode::CONFLICT);
        let staff = staff(&app).await;
        let (status, body) = status_and_body(app.post_as(&staff.access,
            &format!("/commissions/api/disputes/{dispute}/resolve/"),
            json!({"outcome": "refund", "amount_kobo": 20_000})).await).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        // 20,000 back from the balance payment (60,000 with a 6,000 fee):
        // 2,000 of fee and 18,000 of the tailor's escrow; the rest is released.
        let w = wallet(&app, &tailor).await;
        assert_eq!((w["available"].clone(), w["pending"].clone(), w["fees_paid"].clone(), w["lifetime_earned"].clone()),
            (json!(72_000), json!(0), json!(8_000), json!(72_000)), "{w}");
        assert_ledger_whole(&app).await;
    }

    async fn money_collected_in_person_owes_its_fee_until_the_next_release(backend) {
        let (app, _paystack) = shop_with_paystack(backend, |_| {}).await;
        let (tailor, buyer, product) = buyer_with_cart(&app).await;
        let response = app.client.post(app.url("/shop/api/checkout/")).bearer_auth(&buyer.access)
            .header("Idempotency-Key", "pod-1")
            .json(&json!({"delivery_address": "3 Marina Road, Lagos", "payment_method": "pay_on_delivery"}))
            .send().await.unwrap();
        let (status, placed) = status_and_body(response).await;
        assert_eq!(status, StatusCode::CREATED, "{placed}");
        let cash = placed["orders"][0]["id"].as_str().unwrap().to_string();
        move_order(&app, &tailor, &cash, "shipped").await;
        assert_eq!(balances(&app, &tailor).await, (0, 0, 0), "owed once delivered");
        move_order(&app, &tailor, &cash, "delivered").await;
        let w = wallet(&app, &tailor).await;
        assert_eq!((w["owed"].clone(), w["fees_paid"].clone(), w["lifetime_earned"].clone()),
            (json!(300_000), json!(300_000), json!(0)), "{w}");
        let (_, page) = statement(&app, &tailor, "kind=fee_owed").await;
        assert_eq!(page["results"][0]["effect"]["owed"], 300_000, "{page}");
        assert_eq!(page["results"][0]["net"], -300_000);

        // The next online order pays the debt when it is released.
        let other = app.verified_user("other").await;
        add_to_cart(&app, &other, &product, 1).await;
        let (order, _) = paid_order(&app, &other, "k2").await;
        deliver_order(&app, &tailor, &order).await;
        move_order(&app, &other, &order, "completed").await;
        assert_eq!(balances(&app, &tailor).await, (1_350_000 - 300_000, 0, 0));
        let (_, page) = statement(&app, &tailor, "kind=release").await;
        assert_eq!(page["results"][0]["effect"], json!({"pending": -1_350_000, "available": 1_050_000, "withdrawing": 0, "paid_out": 0, "owed": -300_000}));
        assert_ledger_whole(&app).await;
    }

    async fn a_balance_collected_in_person_owes_its_fee(backend) {
        let (app, _paystack) = atelier(backend).await;
        let (customer, tailor, id) = crate::commissions::quoted(&app, 100_000, 40).await;
        // Let the customer pay the rest on collection.
        let body = json!({"price_kobo": 100_000, "deposit_percent": 40, "balance_on_collection": true,
            "due_at": crate::commissions::in_seconds(10 * 24 * 3600)});
        crate::commissions::quote(&app, &tailor, &id, body).await;
        let (status, accepted) = crate::commissions::accept(&app, &customer, &id, "a", json!({})).await;
        assert_eq!(status, StatusCode::OK, "{accepted}");
        paystack_pays(&app, accepted["payment"]["reference"].as_str().unwrap(), 40_000).await;
        for stage in ["cutting", "ready"] {
            crate::commissions::progress(&app, &tailor, &id, stage).await;
        }
        let (status, body) = act(&app, &tailor, &id, "deliver", json!({"balance_collected": true})).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        // 36,000 in escrow; 10% of the 60,000 collected in person owed.
        assert_eq!(balances(&app, &tailor).await, (0, 36_000, 6_000));
        let (status, _) = act(&app, &customer, &id, "complete", json!({})).await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(balances(&app, &tailor).await, (30_000, 0, 0));
        assert_ledger_whole(&app).await;
    }

    async fn the_statement_pages_filters_and_downloads(backend) {
        let (app, _paystack) = shop_with_paystack(backend, |_| {}).await;
        let spec = spec(&app).await;
        let (tailor, buyer, product) = buyer_with_cart(&app).await;
        let (first, _) = paid_order(&app, &buyer, "k1").await;
        add_to_cart(&app, &buyer, &product, 1).await;
        let (second, _) = paid_order(&app, &buyer, "k2").await;
        move_order(&app, &tailor, &second, "cancelled").await;

        let (status, page) = statement(&app, &tailor, "page_size=2").await;
        assert_eq!(status, StatusCode::OK, "{page}");
        assert_eq!((page["count"].clone(), page["results"].as_array().unwrap().len()), (json!(3), 2));
        assert!(page["next"].as_str().unwrap().contains("page=2"), "{page}");
        assert_eq!(page["results"][0]["kind"], "refund", "newest first");
        assert_eq!(page["results"][0]["order_id"].as_str(), Some(second.as_str()));
        let (_, last) = statement(&app, &tailor, "page_size=2&page=2").await;
        assert_eq!(last["results"][0]["order_id"].as_str(), Some(first.as_str()));
        assert_eq!(statement(&app, &tailor, "page_size=2&page=3").await.0, StatusCode::NOT_FOUND);

        let today = chrono::Utc::now().date_naive();
        let tomorrow = today + chrono::Duration::days(1);
        let (_, refunds) = statement(&app, &tailor, "kind=refund").await;
        assert_eq!(refunds["count"], 1);
        let (_, dated) = statement(&app, &tailor, &format!("from={today}&to={today}")).await;
        assert_eq!(dated["count"], 3, "{dated}");
        let (_, later) = statement(&app, &tailor, &format!("from={tomorrow}")).await;
        assert_eq!((later["count"].clone(), later["results"].clone()), (json!(0), json!([])));
        for (query, field) in [("from=2026-13-01", "from"), ("to=yesterday", "to"), ("kind=gift", "kind"),
            (&format!("from={tomorrow}&to={today}") as &str, "to")] {
            let (status, body) = statement(&app, &tailor, query).await;
            assert_eq!(status, StatusCode::BAD_REQUEST, "{query}: {body}");
            assert!(body[field].is_array(), "{query}: {body}");
            spec.assert_documented("get", "/tailor/api/wallet/transactions", 400, &body);
        }

        let csv = app.get_as(&tailor.access, &format!("/tailor/api/wallet/transactions.csv?from={today}&to={today}")).await;
        assert_eq!(csv.status(), StatusCode::OK);
        assert!(csv.headers()["content-type"].to_str().unwrap().starts_with("text/csv"));
        assert!(csv.headers()["content-disposition"].to_str().unwrap().contains("attachment"));
        let text = csv.text().await.unwrap();
        let rows: Vec<&str> = text.lines().collect();
        assert_eq!(rows.len(), 4, "a header and three lines, oldest first: {text}");
        assert!(rows[0].starts_with("date,transaction_id,kind,order_id"));
        assert!(rows[1].contains(",payment,") && rows[1].contains(&first), "{text}");
        assert!(rows[3].contains(",refund,") && rows[3].contains(&second) && rows[3].contains("-1350000"), "{text}");
        let bad = app.get_as(&tailor.access, "/tailor/api/wallet/transactions.csv?from=01/02/2026").await;
        let (status, body) = status_and_body(bad).await;
        assert_eq!((status, body["from"].is_array()), (StatusCode::BAD_REQUEST, true), "{body}");

        // Tailors only; signed in only.
        for path in [WALLET, STATEMENT, "/tailor/api/wallet/transactions.csv"] {
            let (status, body) = status_and_body(app.get_as(&buyer.access, path).await).await;
            assert_eq!((status, body["code"].as_str()), (StatusCode::FORBIDDEN, Some("permission_denied")), "{path}");
            assert_eq!(app.get(path).await.status(), StatusCode::UNAUTHORIZED, "{path}");
        }
        assert_ledger_whole(&app).await;
    }

    async fn ledger_rows_never_change_and_balances_never_go_below_zero(backend) {
        use sea_orm::ConnectionTrait;
        let (app, _paystack) = shop_with_paystack(backend, |_| {}).await;
        let (tailor, buyer, _product) = buyer_with_cart(&app).await;
        paid_order(&app, &buyer, "k1").await;
        let db = crate::tailor_profiles::database(&app).await;
        for statement in [
            "UPDATE ledger_transactions SET memo = 'edited'",
            "UPDATE ledger_entries SET amount_kobo = amount_kobo + 1",
            "DELETE FROM ledger_entries",
            "DELETE FROM ledger_transactions",
            "UPDATE wallet_balances SET available = available - 1",
            "UPDATE wallet_balances SET owed = 1",
            "UPDATE wallet_escrows SET held_kobo = -1",
        ] {
            assert!(db.execute_unprepared(statement).await.is_err(), "the database let through: {statement}");
        }
        if backend == Backend::Postgres {
            assert!(db.execute_unprepared("TRUNCATE ledger_entries").await.is_err());
        }
        assert_eq!(balances(&app, &tailor).await, (0, 2_700_000, 0));
        assert_ledger_whole(&app).await;
    }
}
