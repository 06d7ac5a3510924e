//! Account deletion (`DELETE /auth/api/users/me/`): the current password,
//! personal data erased into an anonymous "Deleted user", every token and
//! socket ended at once, the identity free again, a tailor's products gone,
//! refused while money is in motion, and safe against racing requests.

use std::time::Duration;

use atelier::storage::entities::payout_account;
use reqwest::StatusCode;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
use serde_json::{Value, json};

use crate::both_backends;
use crate::chat_support::{ChatSocket, conversation, send_rest};
use crate::helpers::{PASSWORD, TestApp, TestUser, body_of, status_and_body};

async fn delete_me(app: &TestApp, who: &TestUser, body: Value) -> (StatusCode, String) {
    let response = app
        .client
        .delete(app.url("/auth/api/users/me/"))
        .bearer_auth(&who.access)
        .json(&body)
        .send()
        .await
        .unwrap();
    (response.status(), response.text().await.unwrap())
}

async fn delete_with_password(app: &TestApp, who: &TestUser) -> (StatusCode, Value) {
    status_and_optional_body(
        app.client
            .delete(app.url("/auth/api/users/me/"))
            .bearer_auth(&who.access)
            .json(&json!({"password": who.password}))
            .send()
            .await
            .unwrap(),
    )
    .await
}

/// As `status_and_body`, with `null` for an empty body (204).
async fn status_and_optional_body(response: reqwest::Response) -> (StatusCode, Value) {
    let status = response.status();
    let text = response.text().await.unwrap();
    let body = if text.is_empty() {
        Value::Null
    } else {
        serde_json::from_str(&text).unwrap()
    };
    (status, body)
}

async fn tailor_with_product(app: &TestApp, name: &str, stock: i64) -> (TestUser, Value) {
    let tailor = app
        .verified_user_with(name, json!({"role": "tailor"}))
        .await;
    let product = body_of(
        app.post_as(
            &tailor.access,
            "/shop/api/product/upload/",
            json!({
                "name": format!("{name}'s kaftan"), "kind": "ready_made", "price": 1_000_000,
                "variants": [{"size": "M", "stock": stock}]
            }),
        )
        .await,
    )
    .await;
    (tailor, product)
}

async fn add_to_cart(app: &TestApp, who: &TestUser, product: &Value) {
    let added = app
        .post_as(
            &who.access,
            "/shop/api/cart/items/",
            json!({"variant_id": product["variants"][0]["id"], "quantity": 1}),
        )
        .await;
    assert_eq!(
        added.status(),
        StatusCode::CREATED,
        "{}",
        added.text().await.unwrap()
    );
}

fn checkout_request(app: &TestApp, who: &TestUser, key: &str) -> reqwest::RequestBuilder {
    app.client
        .post(app.url("/shop/api/checkout/"))
        .bearer_auth(&who.access)
        .header("Idempotency-Key", key)
        .json(&json!({"delivery_address": "12 Broad Street, Lagos", "payment_method": "pay_on_delivery"}))
}

/// `who`'s orders as customer (`orders`) or as tailor (`orders/received`).
async fn orders_of(app: &TestApp, who: &TestUser, list: &str) -> Vec<Value> {
    let page = body_of(
        app.get_as(&who.access, &format!("/shop/api/{list}/?page_size=100"))
            .await,
    )
    .await;
    page["results"].as_array().unwrap().clone()
}

both_backends! {
    async fn a_tailor_whose_wallet_holds_money_cannot_delete_until_it_is_paid_out(backend) {
        use crate::withdrawals::{db, tailor_with, wait_status, wait_transfers, withdraw, withdrawals_app};
        let (app, paystack) = withdrawals_app(backend, |_| {}).await;
        let (ade, ade_id) = tailor_with(&app, "ade", 300_000).await;
        let (status, body) = delete_with_password(&app, &ade).await;
        assert_eq!((status, body["code"].as_str()), (StatusCode::CONFLICT, Some("account_has_balance")), "{body}");
        assert!(body["detail"].as_str().unwrap().contains("300000 kobo available"), "{body}");

        // Money on its way to the bank is still the tailor's.
        let (_, payout) = withdraw(&app, &ade, "w-1", 300_000).await;
        let id = payout["id"].as_str().unwrap().to_string();
        let sent = wait_transfers(&paystack, 1).await;
        let (status, body) = delete_with_password(&app, &ade).await;
        assert_eq!((status, body["code"].as_str()), (StatusCode::CONFLICT, Some("account_has_balance")), "{body}");
        assert!(body["detail"].as_str().unwrap().contains("300000 kobo being paid out"), "{body}");

        // Paid out: the account goes, and the holder's name leaves its payout account.
        paystack.set_transfer_status(sent[0]["reference"].as_str().unwrap(), "success");
        wait_status(&app, &ade, &id, "paid").await;
        let (status, body) = delete_with_password(&app, &ade).await;
        assert_eq!(status, StatusCode::NO_CONTENT, "{body}");
        let accounts = payout_account::Entity::find()
            .filter(payout_account::Column::TailorId.eq(ade_id))
            .all(&db(&app).await)
            .await
            .unwrap();
        assert_eq!(accounts.len(), 1);
        assert_eq!((accounts[0].account_name.as_str(), accounts[0].account_last4.as_str()), ("", ""));
    }

    async fn deleting_needs_the_current_password_and_counts_wrong_ones(backend) {
        let app = TestApp::spawn_with(backend, |s| s.auth.max_failures = 3).await;
        let ada = app.verified_user("ada").await;
        let anonymous = app.client.delete(app.url("/auth/api/users/me/")).json(&json!({"password": PASSWORD})).send().await.unwrap();
        assert_eq!(anonymous.status(), StatusCode::UNAUTHORIZED);
        let (status, text) = delete_me(&app, &ada, json!({})).await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
        assert_eq!(serde_json::from_str::<Value>(&text).unwrap(), json!({"password": ["This field is required."]}));
        for _ in 0..3 {
            let (status, text) = delete_me(&app, &ada, json!({"password": "not-my-password"})).await;
            assert_eq!(status, StatusCode::BAD_REQUEST);
            assert!(serde_json::from_str::<Value>(&text).unwrap()["password"].is_array(), "{text}");
        }
        let (status, text) = delete_me(&app, &ada, json!({"password": PASSWORD})).await;
        assert_eq!(status, StatusCode::TOO_MANY_REQUESTS, "guessing is limited: {text}");
        assert_eq!(app.get_as(&ada.access, "/auth/api/users/me/").await.status(), StatusCode::OK, "nothing was deleted");

        let spec = body_of(app.get("/api/openapi.json").await).await;
        let operation = &spec["paths"]["/auth/api/users/me"]["delete"];
        assert!(operation["requestBody"].is_object() && operation["responses"]["409"].is_object(), "{operation}");
        assert!(spec["components"]["schemas"]["OpenOrdersBody"]["properties"]["open_orders"].is_object());
    }

    async fn a_deleted_account_is_an_anonymous_tombstone_and_its_identity_is_free(backend) {
        let app = TestApp::spawn(backend).await;
        let ada = app.verified_user_with("ada", json!({"first_name": "Ada", "last_name": "Obi", "phone_number": "+2348012345678"})).await;
        let tobi = app.verified_user("tobi").await;
        let conv = conversation(&app, &tobi, &ada).await;
        send_rest(&app, &ada, &conv, "a-1", "See you at the fitting").await;
        let tablet = body_of(app.login("ada", PASSWORD).await).await;
        let mut socket = ChatSocket::connect(&app.address, &ada).await;

        let (status, body) = delete_with_password(&app, &ada).await;
        assert_eq!((status, body), (StatusCode::NO_CONTENT, Value::Null));

        // Every token and socket is dead at once.
        let (status, body) = status_and_body(app.get_as(&ada.access, "/auth/api/users/me/").await).await;
        assert_eq!((status, body["code"].as_str()), (StatusCode::UNAUTHORIZED, Some("token_not_valid")));
        let tablet_me = app.get_as(tablet["access"].as_str().unwrap(), "/auth/api/users/me/").await;
        assert_eq!(tablet_me.status(), StatusCode::UNAUTHORIZED);
        assert_eq!(tokio::time::timeout(Duration::from_millis(1500), socket.closed_with()).await.expect("closed at once"), 4001);
        let refreshed = app.post("/auth/api/login/token/refresh/", json!({"refresh": ada.refresh})).await;
        assert_eq!(refreshed.status(), StatusCode::UNAUTHORIZED);
        assert_eq!(app.login("ada@example.com", PASSWORD).await.status(), StatusCode::UNAUTHORIZED);
        assert_eq!(app.login("ada", PASSWORD).await.status(), StatusCode::UNAUTHORIZED);

        // Others see "Deleted user", with the history kept.
        let chats = body_of(app.get_as(&tobi.access, "/chat/api/conversations/").await).await;
        let other = &chats["results"][0]["other_member"];
        assert_eq!((other["id"].as_str(), other["username"].as_str()), (Some(ada.id.as_str()), Some("Deleted user")), "{chats}");
        assert_eq!((other["first_name"].as_str(), other["last_name"].as_str()), (Some("Deleted"), Some("user")));
        assert!(other["avatar"].is_null());
        let history = body_of(app.get_as(&tobi.access, &format!("/chat/api/conversations/{conv}/messages/")).await).await;
        assert_eq!(history["results"].as_array().unwrap().len(), 1);
        assert_eq!(app.get_as(&tobi.access, &format!("/auth/api/users/detail/{}", ada.id)).await.status(), StatusCode::NOT_FOUND);
        let listed = body_of(app.get_as(&tobi.access, "/auth/api/users/list/").await).await;
        assert_eq!(listed["count"], 1, "only tobi is listed: {listed}");
        let blank = app.post_as(&tobi.access, "/chat/api/conversations/", json!({"user_id": ada.id})).await;
        assert!(blank.status().is_client_error(), "no new conversation with a deleted account");

        // The same email and username can be registered again.
        let again = app.register("ada@example.com", "ada").await;
        let (status, body) = status_and_body(again).await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
        assert_ne!(body["id"].as_str(), Some(ada.id.as_str()));
        let code = app.code_from_email("ada@example.com", 2).await;
        assert_eq!(app.verify("ada@example.com", &code).await.status(), StatusCode::OK);
        let (status, tokens) = status_and_body(app.login("ada", PASSWORD).await).await;
        assert_eq!(status, StatusCode::OK);
        let me = body_of(app.get_as(tokens["access"].as_str().unwrap(), "/auth/api/users/me/").await).await;
        assert_eq!((me["email"].as_str(), me["first_name"].as_str()), (Some("ada@example.com"), Some("")));
    }

    async fn a_deleted_tailors_products_leave_the_catalog(backend) {
        let app = TestApp::spawn(backend).await;
        let (tailor, product) = tailor_with_product(&app, "ade", 3).await;
        let (_, kept) = tailor_with_product(&app, "bola", 3).await;
        let fan = app.verified_user("fan").await;
        let favourite = app.post_as(&fan.access, "/shop/api/product/add-to-fav/", json!({"product_id": product["id"]})).await;
        assert_eq!(favourite.status(), StatusCode::CREATED);
        add_to_cart(&app, &fan, &product).await;
        assert_eq!(delete_with_password(&app, &tailor).await.0, StatusCode::NO_CONTENT);

        let id = product["id"].as_str().unwrap();
        assert_eq!(app.get(&format!("/shop/api/product/{id}/")).await.status(), StatusCode::NOT_FOUND);
        let catalog = body_of(app.get("/shop/api/product/list/").await).await;
        let ids: Vec<&str> = catalog["results"].as_array().unwrap().iter().map(|p| p["id"].as_str().unwrap()).collect();
        assert_eq!(ids, [kept["id"].as_str().unwrap()]);
        let favourites = body_of(app.get_as(&fan.access, "/shop/api/product/favorites/list/").await).await;
        assert_eq!(favourites["results"].as_array().unwrap().len(), 0);
        // The fan's cart still shows it, not for sale; checkout refuses it.
        let (status, body) = status_and_body(checkout_request(&app, &fan, "after-delete").send().await.unwrap()).await;
        assert_eq!(status, StatusCode::CONFLICT, "{body}");
    }

    async fn open_orders_on_either_side_block_deletion_until_delivered(backend) {
        let app = TestApp::spawn(backend).await;
        let (tailor, product) = tailor_with_product(&app, "ade", 3).await;
        let buyer = app.verified_user("buyer").await;
        add_to_cart(&app, &buyer, &product).await;
        let (status, placed) = status_and_body(checkout_request(&app, &buyer, "k1").send().await.unwrap()).await;
        assert_eq!(status, StatusCode::CREATED, "{placed}");
        let order = placed["orders"][0]["id"].as_str().unwrap().to_string();

        for who in [&buyer, &tailor] {
            let (status, body) = delete_with_password(&app, who).await;
            assert_eq!(status, StatusCode::CONFLICT);
            assert_eq!(body["code"], "account_has_open_orders");
            assert_eq!(body["open_orders"], json!([order]));
            assert!(body["detail"].is_string());
            assert_eq!(app.get_as(&who.access, "/auth/api/users/me/").await.status(), StatusCode::OK, "nothing changed");
        }
        assert_eq!(body_of(app.get(&format!("/shop/api/product/{}/", product["id"].as_str().unwrap())).await).await["variants"][0]["stock"], 2,
            "a refused deletion leaves the stock alone");
        for step in ["shipped", "delivered"] {
            let moved = app.client.patch(app.url(&format!("/shop/api/orders/{order}/status/")))
                .bearer_auth(&tailor.access).json(&json!({"status": step})).send().await.unwrap();
            assert_eq!(moved.status(), StatusCode::OK);
        }
        assert_eq!(delete_with_password(&app, &buyer).await.0, StatusCode::NO_CONTENT);
        assert_eq!(delete_with_password(&app, &tailor).await.0, StatusCode::NO_CONTENT);
    }

    async fn racing_deletions_of_one_account_delete_it_once(backend) {
        let app = TestApp::spawn(backend).await;
        let ada = app.verified_user("ada").await;
        let mut racing = Vec::new();
        for _ in 0..8 {
            let request = app.client.delete(app.url("/auth/api/users/me/")).bearer_auth(&ada.access)
                .json(&json!({"password": PASSWORD}));
            racing.push(tokio::spawn(async move { request.send().await.unwrap().status() }));
        }
        let mut statuses = Vec::new();
        for handle in racing {
            statuses.push(handle.await.unwrap());
        }
        let deleted = statuses.iter().filter(|s| **s == StatusCode::NO_CONTENT).count();
        let refused = statuses.iter().filter(|s| **s == StatusCode::UNAUTHORIZED).count();
        assert_eq!((deleted, refused), (1, 7), "{statuses:?}");
    }

    async fn a_checkout_racing_a_deletion_never_leaves_an_order_against_a_deleted_account(backend) {
        let app = TestApp::spawn(backend).await;
        let (tailor, product) = tailor_with_product(&app, "ade", 1_000).await;
        let (doomed_tailor, doomed_product) = tailor_with_product(&app, "bola", 1_000).await;
        let mut customers = Vec::new();
        for i in 0..8 {
            let customer = app.verified_user(&format!("buyer{i}")).await;
            add_to_cart(&app, &customer, &product).await;
            customers.push(customer);
        }
        let mut shoppers = Vec::new();
        for i in 0..6 {
            let shopper = app.verified_user(&format!("shopper{i}")).await;
            add_to_cart(&app, &shopper, &doomed_product).await;
            shoppers.push(shopper);
        }

        // Each customer checks out and deletes the account at once, the
        // checkout a little later each time to sweep the window; meanwhile
        // shoppers buy from a tailor who deletes the account.
        let mut races = Vec::new();
        for (i, customer) in customers.iter().enumerate() {
            let checkout = checkout_request(&app, customer, &format!("race-{i}"));
            let deletion = app.client.delete(app.url("/auth/api/users/me/")).bearer_auth(&customer.access)
                .json(&json!({"password": PASSWORD}));
            races.push(tokio::spawn(async move {
                let deleting = tokio::spawn(async move { status_and_optional_body(deletion.send().await.unwrap()).await });
                tokio::time::sleep(Duration::from_millis(15 * i as u64)).await;
                let checked_out = checkout.send().await.unwrap().status();
                (checked_out, deleting.await.unwrap())
            }));
        }
        let mut shopping = Vec::new();
        for (i, shopper) in shoppers.iter().enumerate() {
            let checkout = checkout_request(&app, shopper, &format!("shop-{i}"));
            shopping.push(tokio::spawn(async move {
                tokio::time::sleep(Duration::from_millis(80 * i as u64)).await;
                checkout.send().await.unwrap().status()
            }));
        }
        let (doomed_status, doomed_body) = delete_with_password(&app, &doomed_tailor).await;

        let mut outcomes = Vec::new();
        for race in races {
            outcomes.push(race.await.unwrap());
        }
        let received = orders_of(&app, &tailor, "orders/received").await;
        for (customer, (checkout, (deletion, body))) in customers.iter().zip(outcomes) {
            assert!(!checkout.is_server_error() && !deletion.is_server_error(), "{checkout} {deletion}");
            let theirs: Vec<&Value> = received.iter().filter(|o| o["customer_id"] == customer.id.as_str()).collect();
            if deletion == StatusCode::NO_CONTENT {
                assert_ne!(checkout, StatusCode::CREATED, "{} was deleted after its order went through", customer.id);
                assert!(theirs.is_empty(), "an order against a deleted account: {theirs:?}");
            } else {
                assert_eq!((checkout, deletion), (StatusCode::CREATED, StatusCode::CONFLICT), "{body}");
                assert_eq!(body["open_orders"], json!([theirs[0]["id"]]), "the refusal names the order");
            }
        }
        let mut doomed_orders = 0;
        for (shopper, handle) in shoppers.iter().zip(shopping) {
            let status = handle.await.unwrap();
            assert!(!status.is_server_error(), "{status}");
            doomed_orders += orders_of(&app, shopper, "orders").await.len();
        }
        if doomed_status == StatusCode::NO_CONTENT {
            assert_eq!(doomed_orders, 0, "an order went through with a deleted tailor");
        } else {
            // Refused for the orders placed before it; later ones may follow.
            assert_eq!(doomed_status, StatusCode::CONFLICT, "{doomed_body}");
            let named = doomed_body["open_orders"].as_array().unwrap().len();
            assert!(named >= 1 && named <= doomed_orders, "{doomed_body}");
        }
    }
}
