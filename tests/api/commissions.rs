//! Commissions over real HTTP: a customer asks a tailor for a garment, they
//! negotiate, the deposit and balance go through Paystack, the tailor
//! reports progress and delivers, the customer completes (or time does).
//! Money refusals, refunds, disputes and races are in `commissions_money`.

use std::time::Duration;

use chrono::{SecondsFormat, Utc};
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::both_backends;
use crate::helpers::{Backend, TestApp, TestUser, body_of, create_superuser, status_and_body};
use crate::media::upload;
use crate::payments::{shop_with_paystack, webhook};
use crate::paystack_mock::{MockPaystack, charge_success};
use crate::spec_check::Spec;

pub(crate) const BASE: &str = "/commissions/api/";
const PNG: &[u8] = b"\x89PNG\r\n\x1a\n\x00\x00\x00\x0dIHDR";

/// A server that takes Paystack payments and looks for due work often.
pub(crate) async fn atelier(backend: Backend) -> (TestApp, MockPaystack) {
    atelier_with(backend, |_| {}).await
}

pub(crate) async fn atelier_with(
    backend: Backend,
    tweak: impl FnOnce(&mut atelier::config::Settings),
) -> (TestApp, MockPaystack) {
    shop_with_paystack(backend, |s| {
        s.commissions.check_every = Duration::from_millis(200);
        tweak(s);
    })
    .await
}

/// RFC 3339, `seconds` from now.
pub(crate) fn in_seconds(seconds: i64) -> String {
    (Utc::now() + chrono::Duration::seconds(seconds)).to_rfc3339_opts(SecondsFormat::Secs, true)
}

pub(crate) async fn tailor(app: &TestApp, name: &str) -> TestUser {
    app.verified_user_with(name, json!({"role": "tailor"}))
        .await
}

pub(crate) fn id_of(body: &Value) -> String {
    body["id"]
        .as_str()
        .unwrap_or_else(|| panic!("no id: {body}"))
        .to_string()
}

/// Asks `tailor` for an agbada, with `extra` fields over the plain request.
pub(crate) async fn ask(
    app: &TestApp,
    customer: &TestUser,
    tailor: &TestUser,
    extra: Value,
) -> (StatusCode, Value) {
    let mut body = json!({
        "tailor_id": tailor.id, "garment_type": "Agbada",
        "description": "Three-piece agbada in royal blue.", "fabric": "tailor_supplies",
    });
    body.as_object_mut()
        .unwrap()
        .extend(extra.as_object().cloned().unwrap_or_default());
    status_and_body(app.post_as(&customer.access, BASE, body).await).await
}

/// A customer, a live tailor and the customer's fresh request to them.
pub(crate) async fn requested_commission(app: &TestApp) -> (TestUser, TestUser, String) {
    let tailor = tailor(app, "tobi").await;
    let customer = app.verified_user("ada").await;
    let (status, created) = ask(app, &customer, &tailor, json!({})).await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    (customer, tailor, id_of(&created))
}

/// `who` posts `body` to the commission's `action`.
pub(crate) async fn act(
    app: &TestApp,
    who: &TestUser,
    id: &str,
    action: &str,
    body: Value,
) -> (StatusCode, Value) {
    status_and_body(
        app.post_as(&who.access, &format!("{BASE}{id}/{action}/"), body)
            .await,
    )
    .await
}

pub(crate) async fn detail(app: &TestApp, who: &TestUser, id: &str) -> Value {
    let (status, body) =
        status_and_body(app.get_as(&who.access, &format!("{BASE}{id}/")).await).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    body
}

pub(crate) fn terms(price: i64, deposit_percent: i64) -> Value {
    json!({"price_kobo": price, "deposit_percent": deposit_percent, "due_at": in_seconds(10 * 24 * 3600), "notes": "Lined, hand-finished."})
}

/// The tailor quotes; the commission as the tailor sees it.
pub(crate) async fn quote(app: &TestApp, tailor: &TestUser, id: &str, body: Value) -> Value {
    let (status, quoted) = act(app, tailor, id, "quote", body).await;
    assert_eq!(status, StatusCode::OK, "{quoted}");
    assert_eq!(quoted["status"], "quoted");
    quoted
}

/// A request quoted at `price` with `deposit_percent` down.
pub(crate) async fn quoted(
    app: &TestApp,
    price: i64,
    deposit_percent: i64,
) -> (TestUser, TestUser, String) {
    let (customer, tailor, id) = requested_commission(app).await;
    quote(app, &tailor, &id, terms(price, deposit_percent)).await;
    (customer, tailor, id)
}

/// POST with an Idempotency-Key.
pub(crate) async fn keyed(
    app: &TestApp,
    who: &TestUser,
    path: &str,
    key: &str,
    body: Value,
) -> (StatusCode, Value) {
    let response = app
        .client
        .post(app.url(path))
        .bearer_auth(&who.access)
        .header("Idempotency-Key", key)
        .json(&body)
        .send()
        .await
        .unwrap();
    status_and_body(response).await
}

pub(crate) async fn accept(
    app: &TestApp,
    who: &TestUser,
    id: &str,
    key: &str,
    body: Value,
) -> (StatusCode, Value) {
    keyed(app, who, &format!("{BASE}{id}/accept/"), key, body).await
}

pub(crate) async fn pay(app: &TestApp, who: &TestUser, id: &str, key: &str) -> (StatusCode, Value) {
    keyed(app, who, &format!("{BASE}{id}/pay/"), key, json!({})).await
}

/// Paystack tells the shop's webhook that `reference` was paid `amount`.
pub(crate) async fn paystack_pays(app: &TestApp, reference: &str, amount: i64) {
    let (body, signature) = charge_success(reference, amount, "NGN");
    assert_eq!(webhook(app, &body, &signature).await, StatusCode::OK);
}

/// Quoted at 100,000 kobo with 40% down, accepted, the deposit paid by
/// webhook: in progress, work not started. The deposit's reference too.
pub(crate) async fn paid_deposit(app: &TestApp) -> (TestUser, TestUser, String, String) {
    let (customer, tailor, id) = quoted(app, 100_000, 40).await;
    let (status, accepted) = accept(app, &customer, &id, "accept-1", json!({})).await;
    assert_eq!(status, StatusCode::OK, "{accepted}");
    let reference = accepted["payment"]["reference"]
        .as_str()
        .unwrap()
        .to_string();
    assert_eq!(accepted["payment"]["amount"], 40_000);
    paystack_pays(app, &reference, 40_000).await;
    assert_eq!(detail(app, &customer, &id).await["status"], "in_progress");
    (customer, tailor, id, reference)
}

pub(crate) async fn progress(app: &TestApp, tailor: &TestUser, id: &str, stage: &str) -> Value {
    let (status, body) = act(
        app,
        tailor,
        id,
        "progress",
        json!({"stage": stage, "note": format!("{stage} done")}),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    body
}

/// `paid_deposit`, then cut, sewn and ready: the balance (60,000) is due.
pub(crate) async fn ready(app: &TestApp) -> (TestUser, TestUser, String) {
    let (customer, tailor, id, _) = paid_deposit(app).await;
    for stage in ["cutting", "sewing", "ready"] {
        progress(app, &tailor, &id, stage).await;
    }
    (customer, tailor, id)
}

/// `ready`, the balance paid by webhook and the garment delivered.
pub(crate) async fn delivered(app: &TestApp) -> (TestUser, TestUser, String) {
    let (customer, tailor, id) = ready(app).await;
    let (status, payment) = pay(app, &customer, &id, "balance-1").await;
    assert_eq!(status, StatusCode::CREATED, "{payment}");
    paystack_pays(app, payment["reference"].as_str().unwrap(), 60_000).await;
    let (status, body) = act(app, &tailor, &id, "deliver", json!({})).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["status"], "delivered");
    (customer, tailor, id)
}

pub(crate) async fn staff(app: &TestApp) -> TestUser {
    create_superuser(app, "root");
    let tokens = body_of(app.login("root", "Admin-Chalk-Marks-31").await).await;
    TestUser {
        id: String::new(),
        password: String::new(),
        access: tokens["access"].as_str().unwrap().to_string(),
        refresh: String::new(),
    }
}

pub(crate) fn kinds(detail: &Value) -> Vec<String> {
    detail["timeline"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["kind"].as_str().unwrap().to_string())
        .collect()
}

/// Polls `detail` (up to 10 s) until its status is `status`.
pub(crate) async fn wait_for_status(
    app: &TestApp,
    who: &TestUser,
    id: &str,
    status: &str,
) -> Value {
    for _ in 0..100 {
        let now = detail(app, who, id).await;
        if now["status"] == status {
            return now;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("{id} never became {status}: {}", detail(app, who, id).await);
}

fn assert_invalid_state(status: StatusCode, body: &Value, current: &str) {
    assert_eq!(status, StatusCode::CONFLICT, "{body}");
    assert_eq!(body["code"], "invalid_state", "{body}");
    let detail = body["detail"].as_str().unwrap_or_default();
    assert!(detail.contains(current), "names {current}: {body}");
}

fn field_error(body: &Value, field: &str) -> bool {
    body[field].as_array().is_some_and(|m| !m.is_empty())
}

async fn spec(app: &TestApp) -> Spec {
    Spec(body_of(app.get("/api/openapi.json").await).await)
}

both_backends! {
    async fn a_commission_goes_from_request_to_review(backend) {
        let (app, paystack) = atelier(backend).await;
        let spec = spec(&app).await;
        let tailor = tailor(&app, "tobi").await;
        let customer = app.verified_user("ada").await;
        let (_, image) = upload(&app, &customer, "sketch.png", PNG).await;
        let (status, profile) = status_and_body(app.post_as(&customer.access, "/tailor/api/measurements/",
            json!({"name": "Me", "chest": 96.5, "waist": 81})).await).await;
        assert_eq!(status, StatusCode::CREATED, "{profile}");

        let (status, created) = ask(&app, &customer, &tailor, json!({
            "reference_image_ids": [image["id"]], "measurement_profile_id": profile["id"],
            "desired_date": (Utc::now() + chrono::Duration::days(30)).format("%Y-%m-%d").to_string(),
            "budget_kobo": 90_000, "fulfilment": "delivery", "delivery_address": "3 Marina Road, Lagos",
        })).await;
        assert_eq!(status, StatusCode::CREATED, "{created}");
        spec.assert_documented("post", "/commissions/api", 201, &created);
        assert_eq!((created["status"].clone(), created["role"].clone()), (json!("requested"), json!("customer")));
        assert_eq!(created["reference_images"].as_array().unwrap().len(), 1);
        assert_eq!(created["measurements"]["version"], 1);
        let id = id_of(&created);

        // The pair's conversation says what it is about.
        let conversations = body_of(app.get_as(&tailor.access, "/chat/api/conversations/").await).await;
        let linked = conversations["results"].as_array().unwrap();
        assert_eq!(linked.len(), 1, "{conversations}");
        assert_eq!(linked[0]["commission_id"], json!(id));
        assert_eq!(linked[0]["id"], created["conversation_id"]);

        // The tailor sees it, with the measurements, from the request on.
        let seen = detail(&app, &tailor, &id).await;
        assert_eq!(seen["role"], "tailor");
        assert_eq!(seen["measurements"]["version"], 1);
        spec.assert_documented("get", "/commissions/api/{commission_id}", 200, &seen);

        quote(&app, &tailor, &id, terms(120_000, 50)).await;
        let (status, countered) = act(&app, &customer, &id, "counter", json!({"price_kobo": 100_000, "notes": "My budget."})).await;
        assert_eq!(status, StatusCode::OK, "{countered}");
        assert_eq!(countered["status"], "countered");
        let requoted = quote(&app, &tailor, &id, terms(100_000, 40)).await;
        assert_eq!((requoted["price_kobo"].clone(), requoted["deposit_kobo"].clone(), requoted["balance_kobo"].clone()),
            (json!(100_000), json!(40_000), json!(60_000)));
        let offers: Vec<(String, String, i64)> = requoted["offers"].as_array().unwrap().iter()
            .map(|o| (o["author"].as_str().unwrap().into(), o["status"].as_str().unwrap().into(), o["price_kobo"].as_i64().unwrap()))
            .collect();
        assert_eq!(offers, vec![
            ("tailor".into(), "countered".into(), 120_000),
            ("customer".into(), "superseded".into(), 100_000),
            ("tailor".into(), "open".into(), 100_000),
        ], "every offer is kept");
        let open = requoted["offers"][2]["id"].clone();

        let (status, accepted) = accept(&app, &customer, &id, "accept-1", json!({"offer_id": open})).await;
        assert_eq!(status, StatusCode::OK, "{accepted}");
        spec.assert_documented("post", "/commissions/api/{commission_id}/accept", 200, &accepted);
        assert_eq!(accepted["commission"]["status"], "awaiting_deposit");
        assert_eq!(accepted["payment"]["purpose"], "deposit");
        assert_eq!(accepted["payment"]["amount"], 40_000);
        assert!(accepted["payment"]["authorization_url"].as_str().is_some_and(|u| !u.is_empty()), "{accepted}");
        assert_eq!(paystack.initialized().len(), 1);
        let reference = accepted["payment"]["reference"].as_str().unwrap();
        paystack_pays(&app, reference, 40_000).await;
        let started = detail(&app, &customer, &id).await;
        assert_eq!((started["status"].clone(), started["paid_kobo"].clone()), (json!("in_progress"), json!(40_000)));
        assert_eq!(started["payments"][0]["status"], "paid");

        let (_, photo) = upload(&app, &tailor, "cut.png", PNG).await;
        let (status, cut) = act(&app, &tailor, &id, "progress", json!({"stage": "cutting", "note": "Cut.", "image_ids": [photo["id"]]})).await;
        assert_eq!(status, StatusCode::OK, "{cut}");
        assert_eq!(cut["stage"], "cutting");
        assert!(cut["work_started_at"].is_string());
        let update = cut["timeline"].as_array().unwrap().last().unwrap().clone();
        assert_eq!((update["kind"].clone(), update["note"].clone()), (json!("progress"), json!("Cut.")));
        assert_eq!(update["images"], json!([photo["url"]]), "the customer sees the photos");
        progress(&app, &tailor, &id, "sewing").await;
        let finished = progress(&app, &tailor, &id, "ready").await;
        assert_eq!(finished["status"], "ready");

        // Nothing is handed over before the balance is paid.
        let (status, refused) = act(&app, &tailor, &id, "deliver", json!({})).await;
        assert_eq!((status, refused["code"].clone()), (StatusCode::CONFLICT, json!("balance_due")), "{refused}");
        let (status, balance) = pay(&app, &customer, &id, "balance-1").await;
        assert_eq!(status, StatusCode::CREATED, "{balance}");
        spec.assert_documented("post", "/commissions/api/{commission_id}/pay", 201, &balance);
        assert_eq!((balance["purpose"].clone(), balance["amount"].clone()), (json!("balance"), json!(60_000)));
        paystack_pays(&app, balance["reference"].as_str().unwrap(), 60_000).await;
        assert_eq!(detail(&app, &customer, &id).await["paid_kobo"], 100_000);
        let (status, _) = pay(&app, &customer, &id, "balance-2").await;
        assert_eq!(status, StatusCode::CONFLICT, "nothing is due any more");

        let (status, handed) = act(&app, &tailor, &id, "deliver", json!({})).await;
        assert_eq!(status, StatusCode::OK, "{handed}");
        assert_eq!(handed["status"], "delivered");
        let review = json!({"tailor_id": tailor.id, "rating": 5, "feedback": "Fits perfectly."});
        let (status, _) = status_and_body(app.post_as(&customer.access, "/tailor/api/rating/", review.clone()).await).await;
        assert_eq!(status, StatusCode::FORBIDDEN, "not completed yet");
        let (status, done) = act(&app, &customer, &id, "complete", json!({})).await;
        assert_eq!(status, StatusCode::OK, "{done}");
        assert_eq!(done["status"], "completed");
        assert_eq!(kinds(&done), ["requested", "quoted", "countered", "quoted", "accepted", "deposit_paid",
            "progress", "progress", "progress", "balance_paid", "delivered", "completed"]);
        let (status, reviewed) = status_and_body(app.post_as(&customer.access, "/tailor/api/rating/", review).await).await;
        assert_eq!(status, StatusCode::CREATED, "a completed commission lets the customer review: {reviewed}");

        // Both lists show it; filters apply.
        let mine = body_of(app.get_as(&customer.access, "/commissions/api/?status=completed").await).await;
        assert_eq!((mine["count"].clone(), mine["results"][0]["id"].clone()), (json!(1), json!(id)));
        let theirs = body_of(app.get_as(&tailor.access, "/commissions/api/tailor/").await).await;
        assert_eq!(theirs["count"], 1);
        let none = body_of(app.get_as(&customer.access, "/commissions/api/?status=requested").await).await;
        assert_eq!(none["count"], 0);
        let not_as_tailor = body_of(app.get_as(&customer.access, "/commissions/api/tailor/").await).await;
        assert_eq!(not_as_tailor["count"], 0);
        let (status, bad) = status_and_body(app.get_as(&customer.access, "/commissions/api/?status=shipped&due_before=soon").await).await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
        assert!(field_error(&bad, "status") && field_error(&bad, "due_before"), "{bad}");
    }

    async fn a_quote_without_deposit_starts_the_work_at_once(backend) {
        let (app, paystack) = atelier(backend).await;
        let (customer, tailor, id) = quoted(&app, 50_000, 0).await;
        let (status, accepted) = accept(&app, &customer, &id, "k", json!({})).await;
        assert_eq!(status, StatusCode::OK, "{accepted}");
        assert_eq!(accepted["commission"]["status"], "in_progress");
        assert_eq!(accepted["payment"], Value::Null);
        assert!(paystack.initialized().is_empty(), "no payment page for no deposit");
        progress(&app, &tailor, &id, "ready").await;
        let (status, payment) = pay(&app, &customer, &id, "b").await;
        assert_eq!(status, StatusCode::CREATED, "{payment}");
        assert_eq!(payment["amount"], 50_000, "the whole price is the balance");
    }

    async fn a_balance_paid_on_collection_lets_the_tailor_deliver(backend) {
        let (app, _paystack) = atelier(backend).await;
        let (customer, tailor, id) = requested_commission(&app).await;
        let mut body = terms(80_000, 0);
        body["balance_on_collection"] = json!(true);
        quote(&app, &tailor, &id, body).await;
        accept(&app, &customer, &id, "k", json!({})).await;
        progress(&app, &tailor, &id, "ready").await;
        let (status, refused) = act(&app, &tailor, &id, "deliver", json!({})).await;
        assert_eq!((status, refused["code"].clone()), (StatusCode::CONFLICT, json!("balance_due")), "{refused}");
        let (status, handed) = act(&app, &tailor, &id, "deliver", json!({"balance_collected": true})).await;
        assert_eq!(status, StatusCode::OK, "{handed}");
        assert_eq!(handed["status"], "delivered");
        let last = handed["timeline"].as_array().unwrap().last().unwrap().clone();
        assert_eq!(last["amount_kobo"], 80_000, "{last}");
    }

    async fn only_the_two_parties_see_a_commission_and_each_makes_their_own_moves(backend) {
        let (app, _paystack) = atelier(backend).await;
        let (customer, tailor, id) = requested_commission(&app).await;
        let stranger = app.verified_user("eve").await;

        for path in [format!("{BASE}{id}/"), format!("{BASE}{}/", uuid::Uuid::now_v7()), format!("{BASE}not-a-uuid/")] {
            let (status, body) = status_and_body(app.get_as(&stranger.access, &path).await).await;
            assert_eq!(status, StatusCode::NOT_FOUND, "{path}: {body}");
        }
        for (action, body) in [("quote", terms(1000, 10)), ("decline", json!({})), ("cancel", json!({})),
                               ("counter", json!({"price_kobo": 10})), ("progress", json!({"stage": "cutting"}))] {
            let (status, answer) = act(&app, &stranger, &id, action, body).await;
            assert_eq!(status, StatusCode::NOT_FOUND, "a stranger's {action}: {answer}");
        }
        let (status, _) = accept(&app, &stranger, &id, "k", json!({})).await;
        assert_eq!(status, StatusCode::NOT_FOUND);
        let (status, _) = act(&app, &customer, &uuid::Uuid::now_v7().to_string(), "cancel", json!({})).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "unknown id");

        let (status, body) = act(&app, &customer, &id, "quote", terms(1000, 10)).await;
        assert_eq!((status, body["code"].clone()), (StatusCode::FORBIDDEN, json!("permission_denied")), "{body}");
        quote(&app, &tailor, &id, terms(1000, 10)).await;
        for (action, body) in [("counter", json!({"price_kobo": 900})), ("measurements", json!({"measurement_profile_id": uuid::Uuid::now_v7()})),
                               ("complete", json!({})), ("dispute", json!({"reason": "x"})), ("alterations", json!({"reason": "x"}))] {
            let (status, answer) = act(&app, &tailor, &id, action, body).await;
            assert_eq!((status, answer["code"].clone()), (StatusCode::FORBIDDEN, json!("permission_denied")), "the tailor's {action}: {answer}");
        }
        let (status, body) = accept(&app, &tailor, &id, "k", json!({})).await;
        assert_eq!((status, body["code"].clone()), (StatusCode::FORBIDDEN, json!("permission_denied")), "{body}");
        let (status, body) = pay(&app, &tailor, &id, "k").await;
        assert_eq!((status, body["code"].clone()), (StatusCode::FORBIDDEN, json!("permission_denied")), "{body}");
        for (action, body) in [("progress", json!({"stage": "sewing"})), ("deliver", json!({}))] {
            let (status, answer) = act(&app, &customer, &id, action, body).await;
            assert_eq!((status, answer["code"].clone()), (StatusCode::FORBIDDEN, json!("permission_denied")), "the customer's {action}: {answer}");
        }
        // Staff-only endpoints.
        let (status, _) = status_and_body(app.get_as(&customer.access, "/commissions/api/disputes/").await).await;
        assert_eq!(status, StatusCode::FORBIDDEN);
        let resolve = format!("{BASE}disputes/{}/resolve/", uuid::Uuid::now_v7());
        let (status, _) = status_and_body(app.post_as(&tailor.access, &resolve, json!({"outcome": "release"})).await).await;
        assert_eq!(status, StatusCode::FORBIDDEN);
    }

    async fn moves_from_the_wrong_state_are_409_naming_it(backend) {
        let (app, _paystack) = atelier(backend).await;
        let (customer, tailor, id) = requested_commission(&app).await;
        let (status, body) = act(&app, &customer, &id, "counter", json!({"price_kobo": 100})).await;
        assert_invalid_state(status, &body, "requested");
        let (status, body) = accept(&app, &customer, &id, "k1", json!({})).await;
        assert_invalid_state(status, &body, "requested");
        let (status, body) = pay(&app, &customer, &id, "p1").await;
        assert_invalid_state(status, &body, "requested");
        let (status, body) = act(&app, &tailor, &id, "progress", json!({"stage": "cutting"})).await;
        assert_invalid_state(status, &body, "requested");
        let (status, body) = act(&app, &tailor, &id, "deliver", json!({})).await;
        assert_invalid_state(status, &body, "requested");
        let (status, body) = act(&app, &customer, &id, "complete", json!({})).await;
        assert_invalid_state(status, &body, "requested");
        let (status, body) = act(&app, &customer, &id, "dispute", json!({"reason": "Too slow."})).await;
        assert_invalid_state(status, &body, "requested");

        quote(&app, &tailor, &id, terms(1000, 10)).await;
        let (status, body) = act(&app, &tailor, &id, "decline", json!({})).await;
        assert_invalid_state(status, &body, "quoted");
        let (status, declined) = act(&app, &customer, &id, "decline", json!({"reason": "Too dear."})).await;
        assert_eq!(status, StatusCode::OK, "{declined}");
        assert_eq!(declined["status"], "declined");
        assert_eq!(declined["offers"][0]["status"], "declined");
        for (who, action, body) in [(&tailor, "quote", terms(900, 10)), (&customer, "cancel", json!({})), (&tailor, "cancel", json!({}))] {
            let (status, answer) = act(&app, who, &id, action, body).await;
            assert_invalid_state(status, &answer, "declined");
        }

        // The tailor declines a request outright.
        let other = app.verified_user("bola").await;
        let (_, asked) = ask(&app, &other, &tailor, json!({})).await;
        let (status, body) = act(&app, &tailor, &id_of(&asked), "decline", json!({"reason": "Fully booked."})).await;
        assert_eq!((status, body["status"].clone()), (StatusCode::OK, json!("declined")), "{body}");
    }

    async fn an_expired_or_replaced_quote_cannot_be_accepted(backend) {
        let (app, _paystack) = atelier(backend).await;
        let (customer, tailor, id) = requested_commission(&app).await;
        let mut short = terms(10_000, 0);
        short["valid_until"] = json!(in_seconds(2));
        let first = quote(&app, &tailor, &id, short).await;
        let first_offer = first["offers"][0]["id"].clone();
        tokio::time::sleep(Duration::from_millis(2500)).await;
        let (status, body) = accept(&app, &customer, &id, "k1", json!({})).await;
        assert_eq!((status, body["code"].clone()), (StatusCode::CONFLICT, json!("quote_expired")), "{body}");

        quote(&app, &tailor, &id, terms(12_000, 0)).await;
        let (status, body) = accept(&app, &customer, &id, "k2", json!({"offer_id": first_offer})).await;
        assert_eq!((status, body["code"].clone()), (StatusCode::CONFLICT, json!("quote_changed")), "{body}");
        let (status, body) = accept(&app, &customer, &id, "k3", json!({"offer_id": "nope"})).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
        assert!(field_error(&body, "offer_id"), "{body}");
        assert_eq!(detail(&app, &customer, &id).await["status"], "quoted", "nothing was accepted");
        let (status, body) = accept(&app, &customer, &id, "k4", json!({})).await;
        assert_eq!((status, body["commission"]["price_kobo"].clone()), (StatusCode::OK, json!(12_000)), "{body}");
    }

    async fn accepting_twice_with_one_key_answers_once(backend) {
        let (app, paystack) = atelier(backend).await;
        let (customer, _tailor, id) = quoted(&app, 100_000, 40).await;
        let response = app.client.post(app.url(&format!("{BASE}{id}/accept/"))).bearer_auth(&customer.access)
            .json(&json!({})).send().await.unwrap();
        let (status, body) = status_and_body(response).await;
        assert_eq!((status, body["code"].clone()), (StatusCode::BAD_REQUEST, json!("idempotency_key_required")), "{body}");

        let (status, first) = accept(&app, &customer, &id, "same", json!({})).await;
        assert_eq!(status, StatusCode::OK, "{first}");
        let (status, again) = accept(&app, &customer, &id, "same", json!({})).await;
        assert_eq!(status, StatusCode::OK, "{again}");
        assert_eq!(first, again, "the same key gets the first answer");
        assert_eq!(paystack.initialized().len(), 1, "one payment page");
        let offer = first["commission"]["offers"][0]["id"].clone();
        let (status, body) = accept(&app, &customer, &id, "same", json!({"offer_id": offer})).await;
        assert_eq!((status, body["code"].clone()), (StatusCode::UNPROCESSABLE_ENTITY, json!("idempotency_key_reused")), "{body}");
        let (status, body) = accept(&app, &customer, &id, "other", json!({})).await;
        assert_invalid_state(status, &body, "awaiting_deposit");
    }

    async fn hostile_requests_are_field_errors(backend) {
        let (app, _paystack) = atelier(backend).await;
        let tailor = tailor(&app, "tobi").await;
        let rival = tailor_named(&app, "kemi").await;
        let customer = app.verified_user("ada").await;
        let other = app.verified_user("bola").await;
        let (_, theirs) = upload(&app, &other, "x.png", PNG).await;
        let (_, their_profile) = status_and_body(app.post_as(&other.access, "/tailor/api/measurements/", json!({"name": "B", "chest": 90})).await).await;
        let product = body_of(app.post_as(&rival.access, "/shop/api/product/upload/", json!({
            "name": "Ankara", "kind": "ready_made", "price": 500_000, "variants": [{"size": "M", "stock": 5}]
        })).await).await;
        let rival_variant = product["variants"][0]["id"].clone();
        let (status, ok_fabric) = status_and_body(app.post_as(&tailor.access, "/shop/api/product/upload/", json!({
            "name": "Aso oke", "kind": "ready_made", "price": 500_000, "variants": [{"size": "M", "stock": 5}]
        })).await).await;
        assert_eq!(status, StatusCode::CREATED, "{ok_fabric}");

        let cases: Vec<(Value, &str)> = vec![
            (json!({"tailor_id": "not-a-uuid"}), "tailor_id"),
            (json!({"tailor_id": uuid::Uuid::now_v7()}), "tailor_id"),
            (json!({"tailor_id": other.id}), "tailor_id"),
            (json!({"tailor_id": customer.id}), "tailor_id"),
            (json!({"garment_type": "   "}), "garment_type"),
            (json!({"description": "x".repeat(5001)}), "description"),
            (json!({"reference_image_ids": [theirs["id"]]}), "reference_image_ids"),
            (json!({"reference_image_ids": ["nope"]}), "reference_image_ids"),
            (json!({"measurement_profile_id": their_profile["id"]}), "measurement_profile_id"),
            (json!({"measurement_profile_id": "12"}), "measurement_profile_id"),
            (json!({"fabric": "silk_road"}), "fabric"),
            (json!({"fabric": "shop_fabric", "fabric_variant_id": rival_variant, "fabric_yards": 3}), "fabric_variant_id"),
            (json!({"fabric": "shop_fabric", "fabric_variant_id": ok_fabric["variants"][0]["id"]}), "fabric_yards"),
            (json!({"fabric": "shop_fabric", "fabric_variant_id": ok_fabric["variants"][0]["id"], "fabric_yards": -2}), "fabric_yards"),
            (json!({"desired_date": "2020-01-01"}), "desired_date"),
            (json!({"desired_date": "24/12/2030"}), "desired_date"),
            (json!({"budget_kobo": -5}), "budget_kobo"),
            (json!({"fulfilment": "delivery"}), "delivery_address"),
            (json!({"fulfilment": "teleport"}), "fulfilment"),
        ];
        for (extra, field) in cases {
            let (status, body) = ask(&app, &customer, &tailor, extra.clone()).await;
            assert_eq!(status, StatusCode::BAD_REQUEST, "{extra}: {body}");
            assert!(field_error(&body, field), "{extra} names {field}: {body}");
        }
        let (status, fine) = ask(&app, &customer, &tailor, json!({"fabric": "shop_fabric",
            "fabric_variant_id": ok_fabric["variants"][0]["id"], "fabric_yards": 4.5})).await;
        assert_eq!(status, StatusCode::CREATED, "{fine}");
        assert_eq!(fine["fabric_yards"], 4.5);
        let id = id_of(&fine);

        let quotes: Vec<(Value, &str)> = vec![
            (json!({"price_kobo": -1, "deposit_percent": 10, "due_at": in_seconds(3600)}), "price_kobo"),
            (json!({"price_kobo": 0, "deposit_percent": 10, "due_at": in_seconds(3600)}), "price_kobo"),
            (json!({"price_kobo": 1000, "deposit_percent": 101, "due_at": in_seconds(3600)}), "deposit_percent"),
            (json!({"price_kobo": 1000, "deposit_percent": -1, "due_at": in_seconds(3600)}), "deposit_percent"),
            (json!({"price_kobo": 1000, "deposit_percent": 10, "due_at": in_seconds(-60)}), "due_at"),
            (json!({"price_kobo": 1000, "deposit_percent": 10, "due_at": "tomorrow"}), "due_at"),
            (json!({"price_kobo": 1000, "deposit_percent": 10}), "due_at"),
            (json!({"price_kobo": 1000, "deposit_percent": 10, "due_at": in_seconds(3600), "valid_until": in_seconds(-5)}), "valid_until"),
        ];
        for (body, field) in quotes {
            let (status, answer) = act(&app, &tailor, &id, "quote", body.clone()).await;
            assert_eq!(status, StatusCode::BAD_REQUEST, "{body}: {answer}");
            assert!(field_error(&answer, field), "{body} names {field}: {answer}");
        }
        quote(&app, &tailor, &id, terms(1000, 0)).await;
        let (status, answer) = act(&app, &customer, &id, "counter", json!({"price_kobo": -100})).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{answer}");
        assert!(field_error(&answer, "price_kobo"), "{answer}");
        accept(&app, &customer, &id, "k", json!({})).await;
        let (status, answer) = act(&app, &tailor, &id, "progress", json!({"stage": "dancing"})).await;
        assert!(status == StatusCode::BAD_REQUEST && field_error(&answer, "stage"), "{answer}");
        let (status, answer) = act(&app, &tailor, &id, "progress", json!({"stage": "cutting", "image_ids": [theirs["id"]]})).await;
        assert!(status == StatusCode::BAD_REQUEST && field_error(&answer, "image_ids"), "{answer}");
        let (status, answer) = act(&app, &customer, &id, "measurements", json!({"measurement_profile_id": their_profile["id"]})).await;
        assert!(status == StatusCode::BAD_REQUEST && field_error(&answer, "measurement_profile_id"), "{answer}");
        assert!(kinds(&detail(&app, &customer, &id).await).iter().all(|k| k != "progress"), "refused updates leave no trace");
    }

    async fn the_measurements_stay_at_the_version_of_the_request(backend) {
        let (app, _paystack) = atelier(backend).await;
        let tailor = tailor(&app, "tobi").await;
        let customer = app.verified_user("ada").await;
        let (_, profile) = status_and_body(app.post_as(&customer.access, "/tailor/api/measurements/", json!({"name": "Me", "chest": 96})).await).await;
        let profile_id = id_of(&profile);
        let (_, created) = ask(&app, &customer, &tailor, json!({"measurement_profile_id": profile_id})).await;
        let id = id_of(&created);
        let first_version = created["measurement_version_id"].clone();

        let edited = app.client.patch(app.url(&format!("/tailor/api/measurements/{profile_id}/")))
            .bearer_auth(&customer.access).json(&json!({"chest": 99})).send().await.unwrap();
        assert_eq!(edited.status(), StatusCode::OK);
        let seen = detail(&app, &tailor, &id).await;
        assert_eq!((seen["measurement_version_id"].clone(), seen["measurements"]["version"].clone()), (first_version.clone(), json!(1)),
            "an edit of the profile does not reach the commission");

        // Re-attached before work starts: the new version.
        quote(&app, &tailor, &id, terms(10_000, 0)).await;
        accept(&app, &customer, &id, "k", json!({})).await;
        let (status, moved) = act(&app, &customer, &id, "measurements", json!({"measurement_profile_id": profile_id})).await;
        assert_eq!(status, StatusCode::OK, "{moved}");
        assert_eq!(moved["measurements"]["version"], 2);
        assert_ne!(moved["measurement_version_id"], first_version);

        progress(&app, &tailor, &id, "cutting").await;
        let (status, body) = act(&app, &customer, &id, "measurements", json!({"measurement_profile_id": profile_id})).await;
        assert_eq!(status, StatusCode::CONFLICT, "after work started: {body}");
        assert_eq!(detail(&app, &tailor, &id).await["measurements"]["version"], 2);
    }

    async fn a_delivered_commission_nobody_touches_completes_by_itself(backend) {
        let (app, _paystack) = atelier_with(backend, |s| s.commissions.auto_complete_after = Duration::from_millis(300)).await;
        let (customer, _tailor, id) = delivered(&app).await;
        let done = wait_for_status(&app, &customer, &id, "completed").await;
        let last = done["timeline"].as_array().unwrap().last().unwrap().clone();
        assert_eq!((last["kind"].clone(), last["actor"].clone()), (json!("completed"), json!("system")), "{last}");
        let (status, body) = act(&app, &customer, &id, "complete", json!({})).await;
        assert_invalid_state(status, &body, "completed");
    }

    async fn alterations_are_asked_for_within_the_window_only(backend) {
        let (app, _paystack) = atelier_with(backend, |s| s.commissions.alteration_window = Duration::from_secs(2)).await;
        let (customer, tailor, id) = delivered(&app).await;
        let (status, body) = act(&app, &customer, &id, "alterations", json!({})).await;
        assert!(status == StatusCode::BAD_REQUEST && field_error(&body, "reason"), "a reason is needed: {body}");
        let (status, back) = act(&app, &customer, &id, "alterations", json!({"reason": "Sleeves too long."})).await;
        assert_eq!(status, StatusCode::OK, "{back}");
        assert_eq!((back["status"].clone(), back["stage"].clone()), (json!("in_progress"), json!("alterations")));
        progress(&app, &tailor, &id, "ready").await;
        let (status, body) = act(&app, &tailor, &id, "deliver", json!({})).await;
        assert_eq!(status, StatusCode::OK, "paid in full already: {body}");
        tokio::time::sleep(Duration::from_millis(2300)).await;
        let (status, body) = act(&app, &customer, &id, "alterations", json!({"reason": "Again."})).await;
        assert_eq!((status, body["code"].clone()), (StatusCode::CONFLICT, json!("alteration_window_closed")), "{body}");
    }

    async fn the_tailor_is_reminded_once_per_threshold(backend) {
        let (app, _paystack) = atelier(backend).await;
        // A second instance looks for due work as often: still once each.
        let (_second, _stop) = app.second_instance_with(|s| s.commissions.check_every = Duration::from_millis(150)).await;
        let (customer, tailor, id) = requested_commission(&app).await;
        let mut body = terms(10_000, 0);
        body["due_at"] = json!(in_seconds(5 * 3600));
        quote(&app, &tailor, &id, body).await;
        accept(&app, &customer, &id, "k", json!({})).await;
        let other = app.verified_user("bola").await;
        let (_, second) = ask(&app, &other, &tailor, json!({})).await;
        let second = id_of(&second);
        let mut body = terms(10_000, 0);
        body["due_at"] = json!(in_seconds(20 * 3600));
        quote(&app, &tailor, &second, body).await;
        accept(&app, &other, &second, "k", json!({})).await;

        // A verification code, then the reminders.
        app.smtp.wait_for_nth("tobi@example.com", 3).await;
        tokio::time::sleep(Duration::from_millis(1200)).await;
        let reminders: Vec<String> = app.smtp.emails_to("tobi@example.com").iter()
            .filter(|e| e.data.contains("Due in")).map(|e| e.data.clone()).collect();
        assert_eq!(reminders.len(), 2, "one per commission: {reminders:?}");
        assert_eq!(reminders.iter().filter(|d| d.contains("Due in 6 hours")).count(), 1, "{reminders:?}");
        assert_eq!(reminders.iter().filter(|d| d.contains("Due in 24 hours")).count(), 1, "{reminders:?}");
        let timeline = kinds(&detail(&app, &customer, &id).await);
        assert_eq!(timeline.iter().filter(|k| *k == "reminder").count(), 1, "{timeline:?}");
    }

    async fn a_late_commission_is_flagged_overdue_and_listed_by_due_date(backend) {
        let (app, _paystack) = atelier(backend).await;
        let (customer, tailor, id) = requested_commission(&app).await;
        let mut body = terms(10_000, 0);
        body["due_at"] = json!(in_seconds(2));
        quote(&app, &tailor, &id, body).await;
        accept(&app, &customer, &id, "k", json!({})).await;
        let (_, later) = ask(&app, &customer, &tailor, json!({})).await;
        quote(&app, &tailor, &id_of(&later), terms(10_000, 0)).await;
        assert_eq!(detail(&app, &customer, &id).await["overdue"], false);
        tokio::time::sleep(Duration::from_millis(2500)).await;
        assert_eq!(detail(&app, &tailor, &id).await["overdue"], true);
        let soon = in_seconds(24 * 3600).replace('+', "%2B");
        let due = body_of(app.get_as(&tailor.access, &format!("{BASE}tailor/?due_before={soon}")).await).await;
        assert_eq!((due["count"].clone(), due["results"][0]["id"].clone(), due["results"][0]["overdue"].clone()),
            (json!(1), json!(id), json!(true)), "{due}");
        let all = body_of(app.get_as(&customer.access, BASE).await).await;
        assert_eq!(all["count"], 2);
        progress(&app, &tailor, &id, "ready").await;
        assert_eq!(detail(&app, &tailor, &id).await["overdue"], false, "ready is not overdue");
    }

    async fn a_request_reuses_the_pairs_conversation_unless_a_block_stands_between_them(backend) {
        let (app, _paystack) = atelier(backend).await;
        let tailor = tailor(&app, "tobi").await;
        let customer = app.verified_user("ada").await;
        let (status, opened) = status_and_body(app.post_as(&customer.access, "/chat/api/conversations/", json!({"user_id": tailor.id})).await).await;
        assert!(status.is_success(), "{opened}");
        let (status, created) = status_and_body(app.post_as(&customer.access, "/commissions/api", json!({
            "tailor_id": tailor.id, "garment_type": "Buba", "description": "Linen.", "fabric": "customer_supplies"
        })).await).await;
        assert_eq!(status, StatusCode::CREATED, "without a trailing slash too: {created}");
        assert_eq!(created["conversation_id"], opened["id"], "the pair's one conversation");

        let blocker = app.verified_user("bola").await;
        let (status, _) = status_and_body(app.post_as(&tailor.access, "/chat/api/block/", json!({"user_id": blocker.id})).await).await;
        assert!(status.is_success());
        let (status, body) = ask(&app, &blocker, &tailor, json!({})).await;
        assert_eq!((status, body["code"].clone()), (StatusCode::FORBIDDEN, json!("permission_denied")), "{body}");
        assert_eq!(body_of(app.get_as(&blocker.access, BASE).await).await["count"], 0);
    }

    async fn a_deposit_needs_online_payments_and_a_full_deposit_leaves_nothing_due(backend) {
        let app = TestApp::spawn(backend).await;
        let (customer, tailor, id) = quoted(&app, 30_000, 50).await;
        let (status, body) = accept(&app, &customer, &id, "k1", json!({})).await;
        assert_eq!((status, body["code"].clone()), (StatusCode::CONFLICT, json!("payments_unavailable")), "{body}");
        assert_eq!(detail(&app, &customer, &id).await["status"], "quoted");

        let (app, _paystack) = atelier(backend).await;
        let (customer, tailor2, id) = quoted(&app, 30_000, 100).await;
        let (_, accepted) = accept(&app, &customer, &id, "k", json!({})).await;
        assert_eq!(accepted["payment"]["amount"], 30_000);
        paystack_pays(&app, accepted["payment"]["reference"].as_str().unwrap(), 30_000).await;
        progress(&app, &tailor2, &id, "ready").await;
        let (status, body) = pay(&app, &customer, &id, "b").await;
        assert_eq!((status, body["code"].clone()), (StatusCode::CONFLICT, json!("nothing_due")), "{body}");
        let (status, body) = act(&app, &tailor2, &id, "deliver", json!({})).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        drop(tailor);
    }

}

async fn tailor_named(app: &TestApp, name: &str) -> TestUser {
    tailor(app, name).await
}

both_backends! {
    async fn pages_past_the_end_or_beyond_any_number_are_404(backend) {
        let (app, _paystack) = atelier(backend).await;
        let (customer, tailor, _) = requested_commission(&app).await;
        let staff = staff(&app).await;
        for (who, path) in [(&customer, BASE.to_string()), (&tailor, format!("{BASE}tailor/")), (&staff, format!("{BASE}disputes/"))] {
            for page in ["2", "9223372036854775808", "18446744073709551615"] {
                let (status, body) = status_and_body(app.get_as(&who.access, &format!("{path}?page={page}")).await).await;
                assert_eq!(status, StatusCode::NOT_FOUND, "{path} page {page}: {body}");
            }
        }
        let first = body_of(app.get_as(&customer.access, BASE).await).await;
        assert_eq!(first["count"], 1);
    }
}
