use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::both_backends;
use crate::helpers::{TestApp, TestUser, body_of, status_and_body};

async fn tailor_with_product(app: &TestApp, name: &str, stock: i64) -> (TestUser, Value) {
    let tailor = app
        .verified_user_with(name, json!({"role": "tailor"}))
        .await;
    let product = body_of(app.post_as(&tailor.access, "/shop/api/product/upload/", json!({
        "name": format!("{name}'s kaftan"), "kind": "ready_made", "price": 1_000_000, "discount_percent": 10,
        "variants": [{"size": "M", "stock": stock}, {"size": "L", "stock": stock, "price_delta": 100_000}]
    })).await).await;
    (tailor, product)
}

fn variant(product: &Value, i: usize) -> Value {
    product["variants"][i]["id"].clone()
}

async fn add(app: &TestApp, who: &TestUser, variant: &Value, quantity: i64) -> (StatusCode, Value) {
    status_and_body(
        app.post_as(
            &who.access,
            "/shop/api/cart/items/",
            json!({"variant_id": variant, "quantity": quantity}),
        )
        .await,
    )
    .await
}

async fn checkout(app: &TestApp, who: &TestUser, key: &str, body: Value) -> (StatusCode, Value) {
    let response = app
        .client
        .post(app.url("/shop/api/checkout/"))
        .bearer_auth(&who.access)
        .header("Idempotency-Key", key)
        .json(&body)
        .send()
        .await
        .unwrap();
    status_and_body(response).await
}

fn pay_on_delivery() -> Value {
    json!({"delivery_address": "12 Broad Street, Lagos", "payment_method": "pay_on_delivery"})
}

async fn stock_of(app: &TestApp, product: &Value, i: usize) -> i64 {
    let id = product["id"].as_str().unwrap();
    body_of(app.get(&format!("/shop/api/product/{id}")).await).await["variants"][i]["stock"]
        .as_i64()
        .unwrap()
}

both_backends! {
    async fn the_cart_prices_lines_and_guards_stock(backend) {
        let app = TestApp::spawn(backend).await;
        let (_, product) = tailor_with_product(&app, "ade", 3).await;
        let buyer = app.verified_user("buyer").await;
        let (status, cart) = add(&app, &buyer, &variant(&product, 1), 2).await;
        assert_eq!(status, StatusCode::CREATED, "{cart}");
        assert_eq!(cart["items"][0]["unit_price"], 1_000_000);
        assert_eq!(cart["items"][0]["line_total"], 2_000_000);
        assert_eq!(cart["subtotal"], 2_000_000);

        let (status, body) = add(&app, &buyer, &variant(&product, 1), 2).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "2 + 2 > 3");
        assert_eq!(body["quantity"], json!(["Only 3 available."]));
        for quantity in [0, -1, 1_000_000_000] {
            let (status, body) = add(&app, &buyer, &variant(&product, 0), quantity).await;
            assert_eq!(status, StatusCode::BAD_REQUEST, "{quantity}");
            assert!(body["quantity"].is_array());
        }
        let (status, body) = add(&app, &buyer, &json!(uuid::Uuid::now_v7().to_string()), 1).await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
        assert!(body["variant_id"].is_array());

        let (_, cart) = add(&app, &buyer, &variant(&product, 0), 1).await;
        assert_eq!(cart["subtotal"], 2_900_000);
        let line = cart["items"][0]["id"].as_str().unwrap().to_string();
        let patch = |who: &TestUser, quantity: i64| app.client.patch(app.url(&format!("/shop/api/cart/items/{line}/")))
            .bearer_auth(&who.access).json(&json!({"quantity": quantity})).send();
        let (status, cart) = status_and_body(patch(&buyer, 1).await.unwrap()).await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(cart["subtotal"], 1_900_000);
        assert_eq!(patch(&buyer, 4).await.unwrap().status(), StatusCode::BAD_REQUEST);
        let stranger = app.verified_user("stranger").await;
        assert_eq!(patch(&stranger, 1).await.unwrap().status(), StatusCode::NOT_FOUND);
        let removed = app.client.delete(app.url(&format!("/shop/api/cart/items/{line}/"))).bearer_auth(&buyer.access).send().await.unwrap();
        assert_eq!(removed.status(), StatusCode::NO_CONTENT);
        let cart = body_of(app.get_as(&buyer.access, "/shop/api/cart/").await).await;
        assert_eq!(cart["items"].as_array().unwrap().len(), 1);
        assert_eq!(app.get("/shop/api/cart/").await.status(), StatusCode::UNAUTHORIZED);
    }

    async fn checkout_makes_an_order_per_tailor_and_is_idempotent(backend) {
        let app = TestApp::spawn(backend).await;
        let (ade, kaftan) = tailor_with_product(&app, "ade", 5).await;
        let (bola, agbada) = tailor_with_product(&app, "bola", 5).await;
        let buyer = app.verified_user("buyer").await;

        let response = app.post_as(&buyer.access, "/shop/api/checkout/", pay_on_delivery()).await;
        let (status, body) = status_and_body(response).await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
        assert_eq!(body["code"], "idempotency_key_required");
        let (status, body) = checkout(&app, &buyer, "empty-cart", pay_on_delivery()).await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
        assert!(body["non_field_errors"].is_array());

        add(&app, &buyer, &variant(&kaftan, 0), 2).await;
        add(&app, &buyer, &variant(&agbada, 1), 1).await;
        let (status, body) = checkout(&app, &buyer, "k-paystack", json!({"delivery_address": "x", "payment_method": "paystack"})).await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
        assert!(body["payment_method"].is_array());

        let (status, placed) = checkout(&app, &buyer, "k1", pay_on_delivery()).await;
        assert_eq!(status, StatusCode::CREATED, "{placed}");
        let orders = placed["orders"].as_array().unwrap();
        assert_eq!(orders.len(), 2);
        let tailors: Vec<&str> = orders.iter().map(|o| o["tailor_id"].as_str().unwrap()).collect();
        assert!(tailors.contains(&ade.id.as_str()) && tailors.contains(&bola.id.as_str()));
        let ade_order = orders.iter().find(|o| o["tailor_id"] == ade.id.as_str()).unwrap();
        assert_eq!(ade_order["status"], "processing");
        assert_eq!(ade_order["total"], 1_800_000);
        assert_eq!(ade_order["payment"]["method"], "pay_on_delivery");
        assert_eq!(ade_order["items"][0]["quantity"], 2);
        assert_eq!(ade_order["timeline"][0]["status"], "processing");
        assert_eq!(stock_of(&app, &kaftan, 0).await, 3);
        assert_eq!(stock_of(&app, &agbada, 1).await, 4);
        let cart = body_of(app.get_as(&buyer.access, "/shop/api/cart/").await).await;
        assert!(cart["items"].as_array().unwrap().is_empty());

        // A retry replays the first answer and takes nothing more.
        let (status, again) = checkout(&app, &buyer, "k1", pay_on_delivery()).await;
        assert_eq!(status, StatusCode::CREATED);
        assert_eq!(again, placed);
        assert_eq!(stock_of(&app, &kaftan, 0).await, 3);
        let mine = body_of(app.get_as(&buyer.access, "/shop/api/orders/").await).await;
        assert_eq!(mine["count"], 2);
        let (status, body) = checkout(&app, &buyer, "k1", json!({"delivery_address": "elsewhere", "payment_method": "pay_on_delivery"})).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
        assert_eq!(body["code"], "idempotency_key_reused");
    }

    async fn racing_checkouts_never_oversell(backend) {
        let app = TestApp::spawn(backend).await;
        let (_, product) = tailor_with_product(&app, "ade", 5).await;
        let mut buyers = Vec::new();
        for i in 0..12 {
            let buyer = app.verified_user(&format!("racer{i}")).await;
            add(&app, &buyer, &variant(&product, 0), 1).await;
            buyers.push(buyer);
        }
        let mut handles = Vec::new();
        for (i, buyer) in buyers.iter().enumerate() {
            let client = app.client.clone();
            let url = app.url("/shop/api/checkout/");
            let access = buyer.access.clone();
            handles.push(tokio::spawn(async move {
                client.post(url).bearer_auth(access).header("Idempotency-Key", format!("race-{i}"))
                    .json(&pay_on_delivery()).send().await.unwrap().status()
            }));
        }
        let mut statuses = Vec::new();
        for handle in handles {
            statuses.push(handle.await.unwrap());
        }
        let won = statuses.iter().filter(|s| **s == StatusCode::CREATED).count();
        let lost = statuses.iter().filter(|s| **s == StatusCode::CONFLICT).count();
        assert_eq!((won, lost), (5, 7), "{statuses:?}");
        assert_eq!(stock_of(&app, &product, 0).await, 0);
        // A loser retrying with a new key learns what is left.
        let loser = statuses.iter().position(|s| *s == StatusCode::CONFLICT).unwrap();
        let (status, body) = checkout(&app, &buyers[loser], "late", pay_on_delivery()).await;
        assert_eq!(status, StatusCode::CONFLICT);
        assert_eq!(body["code"], "out_of_stock");
        assert!(body["detail"].as_str().unwrap().contains("Only 0 left"), "{body}");
    }

    async fn orders_follow_their_life_cycle(backend) {
        let app = TestApp::spawn(backend).await;
        let (ade, product) = tailor_with_product(&app, "ade", 5).await;
        let buyer = app.verified_user("buyer").await;
        add(&app, &buyer, &variant(&product, 0), 2).await;
        let (_, placed) = checkout(&app, &buyer, "k1", pay_on_delivery()).await;
        let id = placed["orders"][0]["id"].as_str().unwrap().to_string();
        let mv = |who: &TestUser, status: &str| app.client.patch(app.url(&format!("/shop/api/orders/{id}/status/")))
            .bearer_auth(&who.access).json(&json!({"status": status, "note": "via test"})).send();

        let (status, body) = status_and_body(mv(&buyer, "cancelled").await.unwrap()).await;
        assert_eq!(status, StatusCode::CONFLICT, "the customer cannot cancel once processing");
        assert_eq!(body["code"], "invalid_transition");
        assert!(body["detail"].as_str().unwrap().contains("processing"), "{body}");
        assert_eq!(mv(&ade, "shipped").await.unwrap().status(), StatusCode::OK);
        assert_eq!(mv(&ade, "cancelled").await.unwrap().status(), StatusCode::CONFLICT, "too late to cancel");
        assert_eq!(mv(&buyer, "completed").await.unwrap().status(), StatusCode::CONFLICT, "not delivered yet");
        assert_eq!(mv(&ade, "delivered").await.unwrap().status(), StatusCode::OK);
        let (status, done) = status_and_body(mv(&buyer, "completed").await.unwrap()).await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(done["status"], "completed");
        let steps: Vec<&str> = done["timeline"].as_array().unwrap().iter().map(|e| e["status"].as_str().unwrap()).collect();
        assert_eq!(steps, ["processing", "shipped", "delivered", "completed"]);
        assert_eq!(done["timeline"][1]["actor_id"], ade.id.as_str());
        assert_eq!(done["timeline"][1]["note"], "via test");
        let (status, body) = status_and_body(mv(&ade, "teleported").await.unwrap()).await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
        assert!(body["status"].is_array());

        // Others see nothing of it.
        let stranger = app.verified_user("stranger").await;
        assert_eq!(app.get_as(&stranger.access, &format!("/shop/api/orders/{id}")).await.status(), StatusCode::NOT_FOUND);
        assert_eq!(mv(&stranger, "shipped").await.unwrap().status(), StatusCode::NOT_FOUND);
        assert_eq!(app.get_as(&buyer.access, "/shop/api/orders/not-an-id").await.status(), StatusCode::NOT_FOUND);
        let received = body_of(app.get_as(&ade.access, "/shop/api/orders/received/?status=completed").await).await;
        assert_eq!(received["count"], 1);
        assert_eq!(body_of(app.get_as(&buyer.access, "/shop/api/orders/received/").await).await["count"], 0);
        assert_eq!(app.get_as(&buyer.access, "/shop/api/orders/?status=lost").await.status(), StatusCode::BAD_REQUEST);
    }

    async fn a_cancelled_order_returns_its_stock(backend) {
        let app = TestApp::spawn(backend).await;
        let (ade, product) = tailor_with_product(&app, "ade", 5).await;
        let buyer = app.verified_user("buyer").await;
        add(&app, &buyer, &variant(&product, 0), 3).await;
        let (_, placed) = checkout(&app, &buyer, "k1", pay_on_delivery()).await;
        assert_eq!(stock_of(&app, &product, 0).await, 2);
        let id = placed["orders"][0]["id"].as_str().unwrap();
        let cancelled = body_of(app.client.patch(app.url(&format!("/shop/api/orders/{id}/status/")))
            .bearer_auth(&ade.access).json(&json!({"status": "cancelled", "note": "fabric ran out"})).send().await.unwrap()).await;
        assert_eq!(cancelled["status"], "cancelled");
        assert_eq!(cancelled["payment"]["refunded"], 0, "nothing was paid");
        assert_eq!(stock_of(&app, &product, 0).await, 5);
    }

    async fn only_customers_who_received_a_product_review_it(backend) {
        let app = TestApp::spawn(backend).await;
        let (ade, product) = tailor_with_product(&app, "ade", 5).await;
        let product_id = product["id"].as_str().unwrap().to_string();
        let reviews_url = format!("/shop/api/product/{product_id}/reviews/");
        async fn review(app: &TestApp, url: &str, who: &TestUser, rating: i64, text: &str) -> reqwest::Response {
            app.post_as(&who.access, url, json!({"rating": rating, "text": text})).await
        }
        let mut buyers = Vec::new();
        for name in ["kemi", "tobi"] {
            let buyer = app.verified_user(name).await;
            add(&app, &buyer, &variant(&product, 0), 1).await;
            let (_, placed) = checkout(&app, &buyer, "k1", pay_on_delivery()).await;
            buyers.push((buyer, placed["orders"][0]["id"].as_str().unwrap().to_string()));
        }
        let kemi = &buyers[0].0;
        let (status, body) = status_and_body(review(&app, &reviews_url, kemi, 5, "lovely").await).await;
        assert_eq!(status, StatusCode::FORBIDDEN, "not delivered yet: {body}");
        for step in ["shipped", "delivered"] {
            for (_, order) in &buyers {
                app.client.patch(app.url(&format!("/shop/api/orders/{order}/status/"))).bearer_auth(&ade.access)
                    .json(&json!({"status": step})).send().await.unwrap();
            }
        }
        let (status, first) = status_and_body(review(&app, &reviews_url, kemi, 5, "lovely").await).await;
        assert_eq!(status, StatusCode::CREATED, "{first}");
        assert_eq!(first["customer_username"], "kemi");
        let (status, edited) = status_and_body(review(&app, &reviews_url, kemi, 4, "lovely, a bit long").await).await;
        assert_eq!(status, StatusCode::OK, "a second review edits the first");
        assert_eq!(edited["id"], first["id"]);
        let (_, photo) = crate::media::upload(&app, kemi, "fit.jpg", crate::media::JPEG).await;
        let (_, foreign) = crate::media::upload(&app, &ade, "shop.jpg", crate::media::JPEG).await;
        let with_photo = app.post_as(&kemi.access, &reviews_url, json!({"rating": 4, "text": "see", "image_ids": [photo["id"]]})).await;
        let (status, with_photo) = status_and_body(with_photo).await;
        assert_eq!(status, StatusCode::OK, "{with_photo}");
        assert_eq!(with_photo["images"], json!([photo["url"]]));
        let stolen = app.post_as(&kemi.access, &reviews_url, json!({"rating": 4, "image_ids": [foreign["id"]]})).await;
        assert_eq!(stolen.status(), StatusCode::BAD_REQUEST, "only your own uploads");
        assert_eq!(review(&app, &reviews_url, &buyers[1].0, 1, "too tight").await.status(), StatusCode::CREATED);
        for bad in [0, 6] {
            assert_eq!(review(&app, &reviews_url, kemi, bad, "").await.status(), StatusCode::BAD_REQUEST);
        }
        let stranger = app.verified_user("stranger").await;
        assert_eq!(review(&app, &reviews_url, &stranger, 5, "fake").await.status(), StatusCode::FORBIDDEN);
        assert_eq!(review(&app, &reviews_url, &ade, 5, "my own").await.status(), StatusCode::FORBIDDEN);

        let detail = body_of(app.get(&format!("/shop/api/product/{product_id}")).await).await;
        assert_eq!(detail["rating"], json!({"average": 2.5, "count": 2}));
        let page = body_of(app.get(&reviews_url).await).await;
        assert_eq!(page["count"], 2);
        assert_eq!(page["results"][0]["text"], "too tight");
        let unknown = app.get(&format!("/shop/api/product/{}/reviews", uuid::Uuid::now_v7())).await;
        assert_eq!(unknown.status(), StatusCode::NOT_FOUND);
    }
}
