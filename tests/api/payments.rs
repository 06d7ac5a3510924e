use std::time::Duration;

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::both_backends;
use crate::helpers::{Backend, TestApp, TestUser, body_of, status_and_body};
use crate::paystack_mock::{MockPaystack, RefundAnswer, SECRET, charge_success, sign};

pub(crate) async fn shop_with_paystack(
    backend: Backend,
    tweak: impl FnOnce(&mut atelier::config::Settings),
) -> (TestApp, MockPaystack) {
    let paystack = MockPaystack::start().await;
    let url = paystack.url.clone();
    let app = TestApp::spawn_with(backend, |s| {
        s.payments.paystack_secret_key = Some(SECRET.into());
        s.payments.paystack_base_url = url;
        tweak(s);
    })
    .await;
    (app, paystack)
}

/// A tailor with one product (5 in stock) and a buyer with 2 in the cart.
pub(crate) async fn buyer_with_cart(app: &TestApp) -> (TestUser, TestUser, Value) {
    let tailor = app
        .verified_user_with("ade", json!({"role": "tailor"}))
        .await;
    let product = body_of(app.post_as(&tailor.access, "/shop/api/product/upload/", json!({
        "name": "Kaftan", "kind": "ready_made", "price": 1_500_000, "variants": [{"size": "M", "stock": 5}]
    })).await).await;
    let buyer = app.verified_user("buyer").await;
    let added = app
        .post_as(
            &buyer.access,
            "/shop/api/cart/items/",
            json!({"variant_id": product["variants"][0]["id"], "quantity": 2}),
        )
        .await;
    assert_eq!(added.status(), StatusCode::CREATED);
    (tailor, buyer, product)
}

async fn pay_online(app: &TestApp, buyer: &TestUser, key: &str) -> (StatusCode, Value) {
    let response = app
        .client
        .post(app.url("/shop/api/checkout/"))
        .bearer_auth(&buyer.access)
        .header("Idempotency-Key", key)
        .json(&json!({"delivery_address": "3 Marina Road, Lagos", "payment_method": "paystack"}))
        .send()
        .await
        .unwrap();
    status_and_body(response).await
}

pub(crate) async fn webhook(app: &TestApp, body: &str, signature: &str) -> StatusCode {
    app.client
        .post(app.url("/shop/api/payments/webhook/paystack/"))
        .header("content-type", "application/json")
        .header("x-paystack-signature", signature)
        .body(body.to_string())
        .send()
        .await
        .unwrap()
        .status()
}

pub(crate) async fn order(app: &TestApp, who: &TestUser, id: &str) -> Value {
    body_of(
        app.get_as(&who.access, &format!("/shop/api/orders/{id}"))
            .await,
    )
    .await
}

async fn stock(app: &TestApp, product: &Value) -> i64 {
    let id = product["id"].as_str().unwrap();
    body_of(app.get(&format!("/shop/api/product/{id}")).await).await["variants"][0]["stock"]
        .as_i64()
        .unwrap()
}

/// Checks out the buyer's cart with Paystack and pays it by webhook; the
/// order id and the payment reference.
pub(crate) async fn paid_order(app: &TestApp, buyer: &TestUser, key: &str) -> (String, String) {
    let (status, placed) = pay_online(app, buyer, key).await;
    assert_eq!(status, StatusCode::CREATED, "{placed}");
    let reference = placed["payment"]["reference"].as_str().unwrap();
    let (body, signature) = charge_success(
        reference,
        placed["payment"]["amount"].as_i64().unwrap(),
        "NGN",
    );
    assert_eq!(webhook(app, &body, &signature).await, StatusCode::OK);
    (
        placed["orders"][0]["id"].as_str().unwrap().to_string(),
        reference.to_string(),
    )
}

pub(crate) async fn cancel(app: &TestApp, who: &TestUser, id: &str) -> Value {
    let response = app
        .client
        .patch(app.url(&format!("/shop/api/orders/{id}/status/")))
        .bearer_auth(&who.access)
        .json(&json!({"status": "cancelled"}))
        .send()
        .await
        .unwrap();
    let (status, body) = status_and_body(response).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    body
}

/// Waits (up to 10 s) until the order's refund leaves `queued`; its status then.
pub(crate) async fn refund_settles(app: &TestApp, who: &TestUser, id: &str) -> Value {
    for _ in 0..100 {
        let status = order(app, who, id).await["payment"]["refund_status"].clone();
        if status != "queued" {
            return status;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("the refund of {id} stayed queued");
}

pub(crate) async fn add_to_cart(app: &TestApp, buyer: &TestUser, product: &Value, quantity: i64) {
    let added = app
        .post_as(
            &buyer.access,
            "/shop/api/cart/items/",
            json!({"variant_id": product["variants"][0]["id"], "quantity": quantity}),
        )
        .await;
    assert_eq!(added.status(), StatusCode::CREATED);
}

both_backends! {
    async fn a_cancelled_paid_order_is_refunded_through_paystack(backend) {
        let (app, paystack) = shop_with_paystack(backend, |_| {}).await;
        let (tailor, buyer, product) = buyer_with_cart(&app).await;
        let (id, reference) = paid_order(&app, &buyer, "p1").await;
        let paid = order(&app, &buyer, &id).await;
        assert_eq!(paid["payment"]["refund_status"], Value::Null, "no refund before a cancel");

        // The tailor started work, then cancels: the order was paid all the same.
        let processing = app.client.patch(app.url(&format!("/shop/api/orders/{id}/status/")))
            .bearer_auth(&tailor.access).json(&json!({"status": "processing"})).send().await.unwrap();
        assert_eq!(processing.status(), StatusCode::OK);
        let cancelled = cancel(&app, &tailor, &id).await;
        assert!(matches!(cancelled["payment"]["status"].as_str(), Some("refund_pending" | "refunded")), "{cancelled}");
        assert_eq!(cancelled["payment"]["refunded"], 3_000_000);
        assert_eq!(refund_settles(&app, &buyer, &id).await, "sent");
        assert_eq!(order(&app, &buyer, &id).await["payment"]["status"], "refunded");
        tokio::time::sleep(Duration::from_millis(1200)).await;
        let sent = paystack.refunds();
        assert_eq!(sent.len(), 1, "{sent:?}");
        assert_eq!(sent[0]["transaction"], reference);
        assert_eq!(sent[0]["amount"], 3_000_000);
        assert_eq!(sent[0]["currency"], "NGN");
        let listed = body_of(app.get_as(&buyer.access, "/shop/api/orders/").await).await;
        assert_eq!(listed["results"][0]["payment"]["refund_status"], "sent", "lists show the refund too");
        assert_eq!(stock(&app, &product).await, 5);
    }

    async fn a_payment_after_expiry_is_refunded_once(backend) {
        let (app, paystack) = shop_with_paystack(backend, |s| s.payments.unpaid_order_ttl = Duration::from_secs(1)).await;
        let (_, buyer, product) = buyer_with_cart(&app).await;
        let (_, placed) = pay_online(&app, &buyer, "p1").await;
        let id = placed["orders"][0]["id"].as_str().unwrap();
        let reference = placed["payment"]["reference"].as_str().unwrap();
        for _ in 0..40 {
            if order(&app, &buyer, id).await["status"] == "cancelled" {
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        assert_eq!(stock(&app, &product).await, 5, "expired: the stock is back on sale");

        let (body, signature) = charge_success(reference, 3_000_000, "NGN");
        for _ in 0..3 {
            assert_eq!(webhook(&app, &body, &signature).await, StatusCode::OK);
        }
        let late = order(&app, &buyer, id).await;
        assert_eq!(late["status"], "cancelled", "a late payment does not revive the order");
        assert_eq!(late["payment"]["refunded"], 3_000_000);
        let note = late["timeline"].as_array().unwrap().last().unwrap()["note"].as_str().unwrap().to_string();
        assert!(note.contains("refunded"), "{note}");
        assert_eq!(refund_settles(&app, &buyer, id).await, "sent");
        assert_eq!(order(&app, &buyer, id).await["payment"]["status"], "refunded");
        tokio::time::sleep(Duration::from_millis(1200)).await;
        let sent = paystack.refunds();
        assert_eq!(sent.len(), 1, "replayed webhooks refund once: {sent:?}");
        assert_eq!(sent[0]["transaction"], reference);
        assert_eq!(sent[0]["amount"], 3_000_000);
        assert_eq!(stock(&app, &product).await, 5);
        let verify_url = format!("/shop/api/payments/verify/{reference}/");
        let verified = body_of(app.get_as(&buyer.access, &verify_url).await).await;
        assert_eq!(verified["status"], "refunded");
        assert_eq!(paystack.refunds().len(), 1, "asking again changes nothing");
    }

    async fn paying_for_an_order_cancelled_meanwhile_refunds_it_once(backend) {
        let (app, paystack) = shop_with_paystack(backend, |_| {}).await;
        let (_, buyer, product) = buyer_with_cart(&app).await;
        let (_, placed) = pay_online(&app, &buyer, "p1").await;
        let id = placed["orders"][0]["id"].as_str().unwrap();
        let reference = placed["payment"]["reference"].as_str().unwrap();
        let cancelled = cancel(&app, &buyer, id).await;
        assert_eq!(cancelled["payment"]["refund_status"], Value::Null, "nothing paid, nothing to refund");
        assert_eq!(stock(&app, &product).await, 5);

        // The payment page was still open: the money arrives after all.
        let (body, signature) = charge_success(reference, 3_000_000, "NGN");
        for _ in 0..3 {
            assert_eq!(webhook(&app, &body, &signature).await, StatusCode::OK);
        }
        let after = order(&app, &buyer, id).await;
        assert_eq!(after["status"], "cancelled", "a payment does not revive a cancelled order");
        assert_eq!(after["payment"]["refunded"], 3_000_000);
        assert_eq!(refund_settles(&app, &buyer, id).await, "sent");
        tokio::time::sleep(Duration::from_millis(1200)).await;
        let sent = paystack.refunds();
        assert_eq!(sent.len(), 1, "one refund however often the payment is reported: {sent:?}");
        assert_eq!(sent[0]["transaction"], reference);
        assert_eq!(stock(&app, &product).await, 5, "the stock stays returned");
    }

    async fn refunds_retry_while_paystack_is_busy_and_wait_for_staff_otherwise(backend) {
        let (app, paystack) = shop_with_paystack(backend, |s| s.payments.refund_retry_after = Duration::from_millis(200)).await;
        let (_, buyer, product) = buyer_with_cart(&app).await;
        let (busy_then_fine, _) = paid_order(&app, &buyer, "p1").await;
        paystack.answer_refunds(&[RefundAnswer::Busy, RefundAnswer::Busy]);
        cancel(&app, &buyer, &busy_then_fine).await;
        assert_eq!(refund_settles(&app, &buyer, &busy_then_fine).await, "sent");
        assert_eq!(paystack.refunds().len(), 3, "two busy answers, then accepted");

        add_to_cart(&app, &buyer, &product, 1).await;
        let (refused, _) = paid_order(&app, &buyer, "p2").await;
        paystack.answer_refunds(&[RefundAnswer::AlreadyReversed]);
        cancel(&app, &buyer, &refused).await;
        assert_eq!(refund_settles(&app, &buyer, &refused).await, "failed");
        assert_eq!(order(&app, &buyer, &refused).await["payment"]["status"], "refund_under_review");

        add_to_cart(&app, &buyer, &product, 1).await;
        let (garbled, _) = paid_order(&app, &buyer, "p3").await;
        paystack.answer_refunds(&[RefundAnswer::Garbled]);
        cancel(&app, &buyer, &garbled).await;
        assert_eq!(refund_settles(&app, &buyer, &garbled).await, "unconfirmed");
        tokio::time::sleep(Duration::from_millis(1500)).await;
        assert_eq!(paystack.refunds().len(), 5, "neither a refusal nor an unknown outcome is sent again");
        assert_eq!(order(&app, &buyer, &garbled).await["payment"]["refund_status"], "unconfirmed");
    }

    async fn a_paystack_order_is_paid_by_a_verified_webhook_once(backend) {
        let (app, paystack) = shop_with_paystack(backend, |_| {}).await;
        let (_, buyer, product) = buyer_with_cart(&app).await;
        let (status, placed) = pay_online(&app, &buyer, "p1").await;
        assert_eq!(status, StatusCode::CREATED, "{placed}");
        let payment = &placed["payment"];
        let reference = payment["reference"].as_str().unwrap();
        assert_eq!(payment["amount"], 3_000_000);
        assert_eq!(payment["status"], "pending");
        assert_eq!(payment["authorization_url"], format!("https://checkout.paystack.com/{reference}"));
        let sent = &paystack.initialized()[0];
        assert_eq!(sent["amount"], 3_000_000);
        assert_eq!(sent["email"], "buyer@example.com");
        let id = placed["orders"][0]["id"].as_str().unwrap();
        assert_eq!(placed["orders"][0]["status"], "pending_payment");
        assert_eq!(stock(&app, &product).await, 3, "stock is held while payment is pending");

        let (body, _) = charge_success(reference, 3_000_000, "NGN");
        assert_eq!(webhook(&app, &body, &sign(&body, "not-the-secret")).await, StatusCode::UNAUTHORIZED);
        assert_eq!(webhook(&app, &body, "").await, StatusCode::UNAUTHORIZED);
        let (short, short_signature) = charge_success(reference, 300, "NGN");
        assert_eq!(webhook(&app, &short, &short_signature).await, StatusCode::OK);
        let (dollars, dollars_signature) = charge_success(reference, 3_000_000, "USD");
        assert_eq!(webhook(&app, &dollars, &dollars_signature).await, StatusCode::OK);
        assert_eq!(order(&app, &buyer, id).await["status"], "pending_payment", "wrong amount or currency pays nothing");

        let (body, signature) = charge_success(reference, 3_000_000, "NGN");
        for _ in 0..3 {
            assert_eq!(webhook(&app, &body, &signature).await, StatusCode::OK);
        }
        let paid = order(&app, &buyer, id).await;
        assert_eq!(paid["status"], "paid");
        assert_eq!(paid["payment"]["status"], "paid");
        let paid_events = paid["timeline"].as_array().unwrap().iter().filter(|e| e["status"] == "paid").count();
        assert_eq!(paid_events, 1, "replays change nothing");
        let huge = "x".repeat(1024 * 1024 + 100);
        let oversized = app.client.post(app.url("/shop/api/payments/webhook/paystack/"))
            .header("x-paystack-signature", sign(&huge, SECRET)).body(huge).send().await.unwrap();
        let (status, body) = status_and_body(oversized).await;
        assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE);
        assert_eq!(body["code"], "payload_too_large");
        let (unknown, unknown_signature) = charge_success("atl_unknown", 1, "NGN");
        assert_eq!(webhook(&app, &unknown, &unknown_signature).await, StatusCode::OK);

        // The customer may still cancel a paid order: stock back, refund recorded.
        let cancelled = body_of(app.client.patch(app.url(&format!("/shop/api/orders/{id}/status/"))).bearer_auth(&buyer.access)
            .json(&json!({"status": "cancelled"})).send().await.unwrap()).await;
        assert_eq!(cancelled["status"], "cancelled");
        assert_eq!(cancelled["payment"]["refunded"], 3_000_000);
        assert!(matches!(cancelled["payment"]["status"].as_str(), Some("refund_pending" | "refunded")), "{cancelled}");
        assert_eq!(stock(&app, &product).await, 5);
    }

    async fn verify_asks_paystack_and_settles(backend) {
        let (app, paystack) = shop_with_paystack(backend, |_| {}).await;
        let (_, buyer, _) = buyer_with_cart(&app).await;
        let (_, placed) = pay_online(&app, &buyer, "p1").await;
        let reference = placed["payment"]["reference"].as_str().unwrap();
        let verify_url = format!("/shop/api/payments/verify/{reference}/");
        let stranger = app.verified_user("stranger").await;
        assert_eq!(app.get_as(&stranger.access, &verify_url).await.status(), StatusCode::NOT_FOUND);

        paystack.report_paid_amount(Some(100));
        let (status, body) = status_and_body(app.get_as(&buyer.access, &verify_url).await).await;
        assert_eq!(status, StatusCode::CONFLICT);
        assert_eq!(body["code"], "payment_mismatch");
        paystack.report_paid_amount(None);
        let (status, verified) = status_and_body(app.get_as(&buyer.access, &verify_url).await).await;
        assert_eq!(status, StatusCode::OK, "{verified}");
        assert_eq!(verified["status"], "paid");
        let id = placed["orders"][0]["id"].as_str().unwrap();
        assert_eq!(order(&app, &buyer, id).await["status"], "paid");
    }

    async fn unpaid_orders_expire_and_return_their_stock(backend) {
        let (app, _paystack) = shop_with_paystack(backend, |s| s.payments.unpaid_order_ttl = Duration::from_secs(1)).await;
        let (_, buyer, product) = buyer_with_cart(&app).await;
        let (_, placed) = pay_online(&app, &buyer, "p1").await;
        assert_eq!(stock(&app, &product).await, 3);
        let id = placed["orders"][0]["id"].as_str().unwrap();
        let mut status = Value::Null;
        for _ in 0..40 {
            status = order(&app, &buyer, id).await["status"].clone();
            if status == "cancelled" {
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        assert_eq!(status, "cancelled");
        assert_eq!(stock(&app, &product).await, 5);
        let expired = order(&app, &buyer, id).await;
        assert_eq!(expired["timeline"].as_array().unwrap().last().unwrap()["actor_id"], Value::Null);
    }

    async fn a_provider_failure_changes_nothing(backend) {
        let app = TestApp::spawn_with(backend, |s| {
            s.payments.paystack_secret_key = Some(SECRET.into());
            s.payments.paystack_base_url = "http://127.0.0.1:9".into(); // nothing listens there
        })
        .await;
        let (_, buyer, product) = buyer_with_cart(&app).await;
        let (status, body) = pay_online(&app, &buyer, "p1").await;
        assert_eq!(status, StatusCode::BAD_GATEWAY);
        assert_eq!(body["code"], "payment_provider_error");
        assert_eq!(stock(&app, &product).await, 5);
        let cart = body_of(app.get_as(&buyer.access, "/shop/api/cart/").await).await;
        assert_eq!(cart["items"].as_array().unwrap().len(), 1, "the cart is intact");
        let (status, _) = pay_online(&app, &buyer, "p1").await;
        assert_eq!(status, StatusCode::BAD_GATEWAY, "a failed attempt is not replayed: it runs again");
    }
}
