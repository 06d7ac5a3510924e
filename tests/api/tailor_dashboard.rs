//! The tailor's side: `GET /tailor/api/dashboard/` (products, orders by
//! status, this month's revenue, followers, rating) and
//! `GET /tailor/api/get-customers/` (who ordered or chatted, latest first).
//! Tailors only.

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::both_backends;
use crate::chat_support::{conversation, send_rest};
use crate::helpers::{TestApp, TestUser, body_of, status_and_body};
use crate::spec_check::Spec;

async fn tailor_with_product(app: &TestApp, name: &str) -> (TestUser, Value) {
    let tailor = app
        .verified_user_with(name, json!({"role": "tailor"}))
        .await;
    let product = upload(app, &tailor, "kaftan").await;
    (tailor, product)
}

async fn upload(app: &TestApp, tailor: &TestUser, name: &str) -> Value {
    let (status, product) = status_and_body(
        app.post_as(
            &tailor.access,
            "/shop/api/product/upload/",
            json!({
                "name": name, "kind": "ready_made", "price": 1_000_000, "discount_percent": 10,
                "variants": [{"size": "M", "stock": 50}]
            }),
        )
        .await,
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{product}");
    product
}

/// `buyer` orders `quantity` of the product, paying on delivery: the order
/// starts in `processing`.
async fn order(app: &TestApp, buyer: &TestUser, product: &Value, quantity: i64) -> Value {
    let added = app
        .post_as(
            &buyer.access,
            "/shop/api/cart/items/",
            json!({"variant_id": product["variants"][0]["id"], "quantity": quantity}),
        )
        .await;
    assert!(added.status().is_success());
    let response = app.client.post(app.url("/shop/api/checkout/")).bearer_auth(&buyer.access)
        .header("Idempotency-Key", uuid::Uuid::now_v7().to_string())
        .json(&json!({"delivery_address": "12 Broad Street, Lagos", "payment_method": "pay_on_delivery"}))
        .send().await.unwrap();
    let (status, placed) = status_and_body(response).await;
    assert_eq!(status, StatusCode::CREATED, "{placed}");
    placed["orders"][0].clone()
}

async fn move_order(app: &TestApp, who: &TestUser, order: &Value, status: &str) {
    let id = order["id"].as_str().unwrap();
    let response = app
        .client
        .patch(app.url(&format!("/shop/api/orders/{id}/status/")))
        .bearer_auth(&who.access)
        .json(&json!({"status": status}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK, "{status}");
}

async fn dashboard(app: &TestApp, who: &TestUser) -> (StatusCode, Value) {
    status_and_body(app.get_as(&who.access, "/tailor/api/dashboard/").await).await
}

async fn customers(app: &TestApp, who: &TestUser, query: &str) -> (StatusCode, Value) {
    status_and_body(
        app.get_as(&who.access, &format!("/tailor/api/get-customers/{query}"))
            .await,
    )
    .await
}

fn customer_names(page: &Value) -> Vec<(String, String)> {
    page["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            (
                c["user"]["username"].as_str().unwrap().into(),
                c["last_interaction"].as_str().unwrap().into(),
            )
        })
        .collect()
}

async fn spec(app: &TestApp) -> Spec {
    Spec(body_of(app.get("/api/openapi.json").await).await)
}

both_backends! {
    async fn only_tailors_have_a_dashboard_and_customers(backend) {
        let app = TestApp::spawn(backend).await;
        let spec = spec(&app).await;
        let ada = app.verified_user("ada").await;
        let (status, body) = dashboard(&app, &ada).await;
        assert_eq!(status, StatusCode::FORBIDDEN);
        assert_eq!(body["code"], "permission_denied");
        spec.assert_documented("get", "/tailor/api/dashboard", 403, &body);
        let (status, body) = customers(&app, &ada, "").await;
        assert_eq!(status, StatusCode::FORBIDDEN);
        spec.assert_documented("get", "/tailor/api/get-customers", 403, &body);
        assert_eq!(app.get("/tailor/api/dashboard/").await.status(), StatusCode::UNAUTHORIZED);
        assert_eq!(app.get("/tailor/api/get-customers/").await.status(), StatusCode::UNAUTHORIZED);

        // A new tailor starts at zero everywhere.
        let ade = app.verified_user_with("ade", json!({"role": "tailor"})).await;
        let (status, empty) = dashboard(&app, &ade).await;
        assert_eq!(status, StatusCode::OK, "{empty}");
        spec.assert_documented("get", "/tailor/api/dashboard", 200, &empty);
        assert_eq!(empty["products"], 0);
        assert_eq!(empty["orders"]["total"], 0);
        assert_eq!(empty["orders"]["by_status"]["processing"], 0);
        assert_eq!(empty["revenue_this_month"], json!({"kobo": 0, "currency": "NGN", "month": chrono::Utc::now().format("%Y-%m").to_string()}));
        assert_eq!(empty["rating"], json!({"average": 0.0, "count": 0}));
        let (status, none) = customers(&app, &ade, "").await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(none["count"], 0);
        assert_eq!(customers(&app, &ade, "?page=2").await.0, StatusCode::NOT_FOUND);
        assert_eq!(customers(&app, &ade, "?page=zero").await.0, StatusCode::NOT_FOUND);
    }

    async fn the_dashboard_counts_products_orders_revenue_and_followers(backend) {
        let app = TestApp::spawn(backend).await;
        let (ade, kaftan) = tailor_with_product(&app, "ade").await;
        let extra = upload(&app, &ade, "agbada").await;
        let gone = upload(&app, &ade, "old stock").await;
        let removed = app.client.delete(app.url(&format!("/shop/api/product/delete/{}/", gone["id"].as_str().unwrap())))
            .bearer_auth(&ade.access).send().await.unwrap();
        assert_eq!(removed.status(), StatusCode::NO_CONTENT);
        let bola = app.verified_user("bola").await;
        let chidi = app.verified_user("chidi").await;

        let delivered = order(&app, &bola, &kaftan, 2).await;
        move_order(&app, &ade, &delivered, "shipped").await;
        move_order(&app, &ade, &delivered, "delivered").await;
        let completed = order(&app, &chidi, &extra, 1).await;
        move_order(&app, &ade, &completed, "shipped").await;
        move_order(&app, &ade, &completed, "delivered").await;
        move_order(&app, &chidi, &completed, "completed").await;
        let _open = order(&app, &bola, &kaftan, 1).await;
        let cancelled = order(&app, &chidi, &kaftan, 3).await;
        move_order(&app, &ade, &cancelled, "cancelled").await;
        // Another tailor's business is not ade's.
        let (eve, eves) = tailor_with_product(&app, "eve").await;
        let theirs = order(&app, &bola, &eves, 1).await;
        move_order(&app, &eve, &theirs, "shipped").await;
        move_order(&app, &eve, &theirs, "delivered").await;
        assert_eq!(app.post_as(&bola.access, "/auth/api/follow/", json!({"user_id": ade.id})).await.status(), StatusCode::OK);
        assert_eq!(app.post_as(&chidi.access, "/auth/api/follow/", json!({"user_id": ade.id})).await.status(), StatusCode::OK);

        let (status, figures) = dashboard(&app, &ade).await;
        assert_eq!(status, StatusCode::OK, "{figures}");
        assert_eq!(figures["products"], 2, "the deleted product is not counted");
        assert_eq!(figures["orders"]["total"], 4);
        assert_eq!(figures["orders"]["by_status"], json!({
            "pending_payment": 0, "paid": 0, "processing": 1, "shipped": 0,
            "delivered": 1, "completed": 1, "cancelled": 1
        }));
        let earned = delivered["subtotal"].as_i64().unwrap() + completed["subtotal"].as_i64().unwrap();
        assert_eq!(earned, 2 * 900_000 + 900_000);
        assert_eq!(figures["revenue_this_month"]["kobo"], earned);
        assert_eq!(figures["followers"], 2);
        let (_, eves_figures) = dashboard(&app, &eve).await;
        assert_eq!(eves_figures["revenue_this_month"]["kobo"], 900_000);
        assert_eq!(eves_figures["orders"]["total"], 1);
        assert_eq!(eves_figures["followers"], 0);
    }

    async fn customers_are_who_ordered_or_chatted_latest_first(backend) {
        let app = TestApp::spawn(backend).await;
        let spec = spec(&app).await;
        let (ade, kaftan) = tailor_with_product(&app, "ade").await;
        let bola = app.verified_user("bola").await;
        let chidi = app.verified_user("chidi").await;
        let dayo = app.verified_user("dayo").await;
        let (eve, eves) = tailor_with_product(&app, "eve").await;

        order(&app, &bola, &kaftan, 1).await;
        order(&app, &bola, &kaftan, 1).await;
        let chat = conversation(&app, &chidi, &ade).await;
        assert_eq!(send_rest(&app, &chidi, &chat, "c-1", "Do you sew aso ebi?").await.0, StatusCode::CREATED);
        // A conversation without a message is no interaction yet.
        conversation(&app, &dayo, &ade).await;
        // Eve's customer is not ade's.
        order(&app, &dayo, &eves, 1).await;

        let (status, page) = customers(&app, &ade, "").await;
        assert_eq!(status, StatusCode::OK, "{page}");
        spec.assert_documented("get", "/tailor/api/get-customers", 200, &page);
        assert_eq!(page["count"], 2);
        assert_eq!(customer_names(&page), [("chidi".into(), "chat".into()), ("bola".into(), "order".into())]);
        assert_eq!(page["results"][1]["orders_count"], 2, "bola once, however many orders");
        assert_eq!(page["results"][0]["orders_count"], 0);
        assert!(page["results"][0]["user"].get("email").is_none(), "public view: {page}");

        // Bola writes: now the latest, by chat.
        let theirs = conversation(&app, &ade, &bola).await;
        assert_eq!(send_rest(&app, &ade, &theirs, "a-1", "Your kaftan ships today").await.0, StatusCode::CREATED);
        let (_, page) = customers(&app, &ade, "?page_size=1").await;
        assert_eq!(page["count"], 2);
        assert_eq!(customer_names(&page), [("bola".to_string(), "chat".to_string())]);
        assert_eq!(page["results"][0]["orders_count"], 2);
        assert!(page["next"].as_str().unwrap().contains("page=2"));
        let (_, second) = customers(&app, &ade, "?page=2&page_size=1").await;
        assert_eq!(customer_names(&second), [("chidi".to_string(), "chat".to_string())]);
        assert_eq!(customers(&app, &ade, "?page=3&page_size=1").await.0, StatusCode::NOT_FOUND);

        let (_, eves_page) = customers(&app, &eve, "").await;
        assert_eq!(customer_names(&eves_page), [("dayo".to_string(), "order".to_string())]);
    }
}
