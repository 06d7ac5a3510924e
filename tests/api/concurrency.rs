use std::collections::HashMap;
use std::time::Duration;

use atelier::storage::entities::{checkout_claim, order, payment, product_variant, refund};
use reqwest::StatusCode;
use sea_orm::{
    ActiveValue::Set, ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter, TransactionTrait,
};
use serde_json::{Value, json};

use crate::both_backends;
use crate::helpers::{PASSWORD, TestApp, TestUser, body_of, status_and_body};
use crate::payments::{shop_with_paystack, webhook};
use crate::paystack_mock::{SECRET, charge_success};

both_backends! {
    async fn fifty_parallel_registrations_with_one_email_make_one_account(backend) {
        let app = TestApp::spawn(backend).await;
        let attempts = (0..50).map(|i| {
            let app = &app;
            async move {
                app.post("/auth/api/register/", json!({
                    "email": "same@example.com", "username": format!("racer{i}"), "password": PASSWORD,
                })).await.status()
            }
        });
        let statuses = futures_join_all(attempts).await;
        let created = statuses.iter().filter(|s| **s == StatusCode::CREATED).count();
        let refused = statuses.iter().filter(|s| **s == StatusCode::BAD_REQUEST).count();
        assert_eq!((created, refused), (1, 49), "{statuses:?}");
    }

    async fn parallel_wrong_logins_cannot_exceed_the_failure_limit(backend) {
        let app = TestApp::spawn_with(backend, |s| s.auth.max_failures = 3).await;
        app.verified_user("target").await;
        let attempts = (0..20).map(|_| {
            let app = &app;
            async move { app.login("target", "Wrong-Password-1").await.status() }
        });
        let statuses = futures_join_all(attempts).await;
        let checked = statuses.iter().filter(|s| **s == StatusCode::UNAUTHORIZED).count();
        let refused = statuses.iter().filter(|s| **s == StatusCode::TOO_MANY_REQUESTS).count();
        assert_eq!((checked, refused), (3, 17), "{statuses:?}");
    }

    async fn twenty_parallel_refreshes_of_one_token_succeed_once(backend) {
        let app = TestApp::spawn(backend).await;
        let user = app.verified_user("racer").await;
        let attempts = (0..20).map(|_| {
            let app = &app;
            let refresh = user.refresh.clone();
            async move {
                app.post("/auth/api/login/token/refresh/", json!({"refresh": refresh})).await.status()
            }
        });
        let statuses = futures_join_all(attempts).await;
        let ok = statuses.iter().filter(|s| **s == StatusCode::OK).count();
        let refused = statuses.iter().filter(|s| **s == StatusCode::UNAUTHORIZED).count();
        assert_eq!((ok, refused), (1, 19), "{statuses:?}");
    }
}

/// Runs the futures concurrently on the test's runtime.
pub(crate) async fn futures_join_all<F>(futures: impl Iterator<Item = F>) -> Vec<F::Output>
where
    F: std::future::Future,
{
    let mut pinned: Vec<_> = futures.map(Box::pin).collect();
    let mut outputs: Vec<Option<F::Output>> = pinned.iter().map(|_| None).collect();
    std::future::poll_fn(|cx| {
        let mut pending = false;
        for (future, output) in pinned.iter_mut().zip(outputs.iter_mut()) {
            if output.is_none() {
                match future.as_mut().poll(cx) {
                    std::task::Poll::Ready(value) => *output = Some(value),
                    std::task::Poll::Pending => pending = true,
                }
            }
        }
        if pending {
            std::task::Poll::Pending
        } else {
            std::task::Poll::Ready(())
        }
    })
    .await;
    outputs.into_iter().map(Option::unwrap).collect()
}

// ---- The shop under concurrent requests -------------------------------

async fn tailor_with_stock(app: &TestApp, name: &str, stocks: &[i64]) -> (TestUser, Value) {
    let tailor = app
        .verified_user_with(name, json!({"role": "tailor"}))
        .await;
    let variants: Vec<Value> = stocks
        .iter()
        .enumerate()
        .map(|(i, stock)| json!({"size": format!("S{i}"), "stock": stock}))
        .collect();
    let (status, product) = status_and_body(
        app.post_as(&tailor.access, "/shop/api/product/upload/", json!({
            "name": format!("{name}'s kaftan"), "kind": "ready_made", "price": 1_000_000, "variants": variants,
        }))
        .await,
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{product}");
    (tailor, product)
}

/// Verified customers, registered in parallel.
async fn customers(app: &TestApp, prefix: &str, n: usize) -> Vec<TestUser> {
    let names: Vec<String> = (0..n).map(|i| format!("{prefix}{i}")).collect();
    futures_join_all(names.iter().map(|name| app.verified_user(name))).await
}

async fn add_item(
    app: &TestApp,
    who: &TestUser,
    variant: &Value,
    quantity: i64,
) -> (StatusCode, Value) {
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

async fn checkout_as(
    app: &TestApp,
    who: &TestUser,
    key: &str,
    method: &str,
) -> (StatusCode, Value) {
    let response = app
        .client
        .post(app.url("/shop/api/checkout/"))
        .bearer_auth(&who.access)
        .header("Idempotency-Key", key)
        .json(&json!({"delivery_address": "12 Broad Street, Lagos", "payment_method": method}))
        .send()
        .await
        .unwrap();
    status_and_body(response).await
}

async fn variant_stock(app: &TestApp, product: &Value, i: usize) -> i64 {
    let id = product["id"].as_str().unwrap();
    body_of(app.get(&format!("/shop/api/product/{id}")).await).await["variants"][i]["stock"]
        .as_i64()
        .unwrap()
}

async fn move_order(app: &TestApp, who: &TestUser, id: &str, status: &str) -> StatusCode {
    app.client
        .patch(app.url(&format!("/shop/api/orders/{id}/status/")))
        .bearer_auth(&who.access)
        .json(&json!({"status": status}))
        .send()
        .await
        .unwrap()
        .status()
}

async fn test_db(app: &TestApp) -> DatabaseConnection {
    atelier::storage::connect(&app.database.url, 4, Duration::from_secs(5))
        .await
        .unwrap()
}

/// A transaction that has written the variant's row and holds it (on
/// SQLite, the database's write lock) until it is committed.
async fn hold_variant(db: &DatabaseConnection, variant: &Value) -> sea_orm::DatabaseTransaction {
    let id = uuid::Uuid::parse_str(variant.as_str().unwrap()).unwrap();
    let hold = db.begin().await.unwrap();
    product_variant::Entity::update_many()
        .col_expr(
            product_variant::Column::Stock,
            sea_orm::sea_query::Expr::col(product_variant::Column::Stock).into(),
        )
        .filter(product_variant::Column::Id.eq(id))
        .exec(&hold)
        .await
        .unwrap();
    hold
}

/// Eight checkouts of one cart at once, with eight different keys: one wins.
async fn race_checkouts(
    app: &TestApp,
    buyer: &TestUser,
    round: &str,
    method: &str,
) -> Vec<(StatusCode, Value)> {
    let results = futures_join_all((0..8).map(|i| {
        let key = format!("{round}-{i}");
        async move { checkout_as(app, buyer, &key, method).await }
    }))
    .await;
    let created = results
        .iter()
        .filter(|(s, _)| *s == StatusCode::CREATED)
        .count();
    assert_eq!(created, 1, "one cart, one checkout: {results:?}");
    for (status, body) in &results {
        assert!(
            matches!(
                *status,
                StatusCode::CREATED | StatusCode::CONFLICT | StatusCode::BAD_REQUEST
            ),
            "the others are refused: {status} {body}"
        );
    }
    results
}

/// The rating summary the product shows, and the one its reviews say.
async fn rating_and_reviews(app: &TestApp, product_id: &str) -> (Value, Value) {
    let detail = body_of(app.get(&format!("/shop/api/product/{product_id}")).await).await;
    let page = body_of(
        app.get(&format!(
            "/shop/api/product/{product_id}/reviews/?page_size=100"
        ))
        .await,
    )
    .await;
    let ratings: Vec<i64> = page["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["rating"].as_i64().unwrap())
        .collect();
    let count = ratings.len() as i64;
    let sum: i64 = ratings.iter().sum();
    let average_centi = if count == 0 {
        0
    } else {
        (sum * 100 + count / 2) / count
    };
    (
        detail["rating"].clone(),
        json!({"average": average_centi as f64 / 100.0, "count": count}),
    )
}

async fn set_product(app: &TestApp, tailor: &TestUser, id: &str, body: Value) -> StatusCode {
    app.client
        .patch(app.url(&format!("/shop/api/product/update/{id}/")))
        .bearer_auth(&tailor.access)
        .json(&body)
        .send()
        .await
        .unwrap()
        .status()
}

both_backends! {
    async fn one_cart_checked_out_by_eight_requests_makes_one_checkout(backend) {
        let (app, paystack) = shop_with_paystack(backend, |_| {}).await;
        let (_, product) = tailor_with_stock(&app, "ade", &[10]).await;
        let buyer = app.verified_user("buyer").await;
        let variant = &product["variants"][0]["id"];

        add_item(&app, &buyer, variant, 2).await;
        let results = race_checkouts(&app, &buyer, "online", "paystack").await;
        assert_eq!(paystack.initialized().len(), 1, "Paystack was asked once");
        let (_, won) = results.iter().find(|(s, _)| *s == StatusCode::CREATED).unwrap();
        assert_eq!(won["payment"]["amount"], 2_000_000);
        assert_eq!(variant_stock(&app, &product, 0).await, 8, "stock taken once");

        add_item(&app, &buyer, variant, 3).await;
        race_checkouts(&app, &buyer, "cash", "pay_on_delivery").await;
        assert_eq!(variant_stock(&app, &product, 0).await, 5);
        assert_eq!(paystack.initialized().len(), 1);
        let orders = body_of(app.get_as(&buyer.access, "/shop/api/orders/").await).await;
        assert_eq!(orders["count"], 2, "one order per checkout: {orders}");
        let quantities: Vec<i64> = orders["results"].as_array().unwrap().iter()
            .map(|o| o["items"][0]["quantity"].as_i64().unwrap()).collect();
        assert_eq!(quantities, vec![3, 2]);
        let cart = body_of(app.get_as(&buyer.access, "/shop/api/cart/").await).await;
        assert!(cart["items"].as_array().unwrap().is_empty());
        let db = test_db(&app).await;
        assert_eq!(payment::Entity::find().all(&db).await.unwrap().len(), 1, "one payment recorded");
    }

    async fn checkouts_written_together_each_get_their_own_outcome(backend) {
        let app = TestApp::spawn(backend).await;
        let (ade, hot) = tailor_with_stock(&app, "ade", &[6]).await;
        let (bisi, plenty) = tailor_with_stock(&app, "bisi", &[100]).await;
        let buyers = customers(&app, "together", 24).await;
        for buyer in &buyers {
            assert_eq!(add_item(&app, buyer, &hot["variants"][0]["id"], 1).await.0, StatusCode::CREATED);
            assert_eq!(add_item(&app, buyer, &plenty["variants"][0]["id"], 2).await.0, StatusCode::CREATED);
        }
        // Holding the hot variant's row (on SQLite, the write lock) for a
        // moment piles the checkouts up at the writer, which then writes
        // them in shared transactions: refusals and orders side by side.
        let db = test_db(&app).await;
        let hold = hold_variant(&db, &hot["variants"][0]["id"]).await;
        let keys: Vec<String> = (0..buyers.len()).map(|i| format!("together-{i}")).collect();
        let storm = futures_join_all(buyers.iter().zip(&keys)
            .map(|(buyer, key)| checkout_as(&app, buyer, key, "pay_on_delivery")));
        let release = async {
            tokio::time::sleep(Duration::from_millis(800)).await;
            hold.commit().await.unwrap();
        };
        let (results, ()) = tokio::join!(storm, release);

        let placed = results.iter().filter(|(s, _)| *s == StatusCode::CREATED).count();
        assert_eq!(placed, 6, "{results:?}");
        for (status, body) in &results {
            if *status == StatusCode::CREATED {
                assert_eq!(body["orders"].as_array().unwrap().len(), 2, "one order per tailor: {body}");
            } else {
                assert_eq!((*status, body["code"].as_str()), (StatusCode::CONFLICT, Some("out_of_stock")), "{body}");
                assert!(body["detail"].as_str().unwrap().starts_with("Only 0 left of ade's kaftan (S0)"), "{body}");
            }
        }
        assert_eq!(variant_stock(&app, &hot, 0).await, 0);
        assert_eq!(variant_stock(&app, &plenty, 0).await, 100 - 2 * 6, "only placed checkouts took stock");
        // A refused checkout left nothing behind: its cart is whole, it has
        // no order, and its tailors heard nothing of it.
        for (buyer, (status, _)) in buyers.iter().zip(&results) {
            let cart = body_of(app.get_as(&buyer.access, "/shop/api/cart/").await).await;
            let orders = body_of(app.get_as(&buyer.access, "/shop/api/orders/").await).await;
            let expected = if *status == StatusCode::CREATED { (0, 2) } else { (2, 0) };
            assert_eq!((cart["items"].as_array().unwrap().len(), orders["count"].as_i64().unwrap()), expected, "{cart} {orders}");
        }
        for tailor in [&ade, &bisi] {
            let feed = body_of(app.get_as(&tailor.access, "/notifications/api/?page_size=100").await).await;
            assert_eq!(feed["results"].as_array().unwrap().len(), 6, "one notice per order: {feed}");
        }
        assert!(checkout_claim::Entity::find().all(&db).await.unwrap().is_empty(), "every claim given up");
    }

    async fn a_cart_changed_while_its_checkout_waited_is_left_as_it_was(backend) {
        let app = TestApp::spawn(backend).await;
        let (_, product) = tailor_with_stock(&app, "ade", &[10, 10, 10]).await;
        let buyer = app.verified_user("buyer").await;
        add_item(&app, &buyer, &product["variants"][0]["id"], 1).await;
        add_item(&app, &buyer, &product["variants"][1]["id"], 2).await;
        // The checkout is priced, then waits at the writer behind a held
        // variant (on SQLite, behind the write lock) while the cart changes.
        let db = test_db(&app).await;
        let hold = hold_variant(&db, &product["variants"][0]["id"]).await;
        let checkout = checkout_as(&app, &buyer, "k1", "pay_on_delivery");
        let change = async {
            tokio::time::sleep(Duration::from_millis(300)).await;
            let added = add_item(&app, &buyer, &product["variants"][2]["id"], 3);
            let release = async {
                tokio::time::sleep(Duration::from_millis(300)).await;
                hold.commit().await.unwrap();
            };
            tokio::join!(added, release).0
        };
        let ((status, body), (added, _)) = tokio::join!(checkout, change);
        assert_eq!(added, StatusCode::CREATED);

        let cart = body_of(app.get_as(&buyer.access, "/shop/api/cart/").await).await;
        let mut lines: Vec<i64> = cart["items"].as_array().unwrap().iter()
            .map(|l| l["quantity"].as_i64().unwrap()).collect();
        lines.sort_unstable();
        let stock: Vec<i64> = futures_join_all((0..3).map(|i| variant_stock(&app, &product, i))).await;
        // On PostgreSQL the add never waits for the checkout, so the cart has
        // changed when the checkout is written; on SQLite the add may wait for
        // the write lock and come after it.
        if status == StatusCode::CREATED {
            assert_ne!(backend, crate::helpers::Backend::Postgres, "{body}");
            assert_eq!((lines, stock), (vec![3], vec![9, 8, 10]), "the checkout took what it priced");
        } else {
            assert_eq!((status, body["code"].as_str()), (StatusCode::CONFLICT, Some("cart_changed")), "{body}");
            assert_eq!((lines, stock), (vec![1, 2, 3], vec![10, 10, 10]), "the cart and stock are as they were");
            let orders = body_of(app.get_as(&buyer.access, "/shop/api/orders/").await).await;
            assert_eq!(orders["count"], 0);
            let (status, body) = checkout_as(&app, &buyer, "k2", "pay_on_delivery").await;
            assert_eq!(status, StatusCode::CREATED, "checked out again: {body}");
            assert_eq!(body["orders"][0]["items"].as_array().unwrap().len(), 3);
        }
    }

    async fn a_checkout_that_died_holds_the_cart_only_until_its_claim_expires(backend) {
        let app = TestApp::spawn(backend).await;
        let (_, product) = tailor_with_stock(&app, "ade", &[10]).await;
        let buyer = app.verified_user("buyer").await;
        add_item(&app, &buyer, &product["variants"][0]["id"], 1).await;
        // A checkout that stopped half-way (its process died) left its claim.
        let db = test_db(&app).await;
        let user_id = uuid::Uuid::parse_str(&buyer.id).unwrap();
        checkout_claim::Entity::insert(checkout_claim::ActiveModel {
            user_id: Set(user_id),
            token: Set(uuid::Uuid::now_v7()),
            expires_at: Set(chrono::Utc::now() + chrono::TimeDelta::seconds(30)),
        })
        .exec(&db)
        .await
        .unwrap();
        let (status, body) = checkout_as(&app, &buyer, "k1", "pay_on_delivery").await;
        assert_eq!((status, body["code"].as_str()), (StatusCode::CONFLICT, Some("checkout_in_progress")), "{body}");

        checkout_claim::Entity::update_many()
            .col_expr(checkout_claim::Column::ExpiresAt, sea_orm::sea_query::Expr::value(chrono::Utc::now() - chrono::TimeDelta::seconds(1)))
            .exec(&db)
            .await
            .unwrap();
        let (status, body) = checkout_as(&app, &buyer, "k1", "pay_on_delivery").await;
        assert_eq!(status, StatusCode::CREATED, "the expired claim is taken over, and the key was not spent: {body}");
        assert!(checkout_claim::Entity::find().all(&db).await.unwrap().is_empty(), "the claim went with the cart");
    }

    async fn parallel_adds_to_the_cart_count_every_accepted_add(backend) {
        let app = TestApp::spawn(backend).await;
        let (_, product) = tailor_with_stock(&app, "ade", &[5, 100]).await;
        let buyer = app.verified_user("buyer").await;
        for (i, accepted) in [(0usize, 5usize), (1, 8)] {
            let variant = &product["variants"][i]["id"];
            let results = futures_join_all((0..8).map(|_| add_item(&app, &buyer, variant, 1))).await;
            let created = results.iter().filter(|(s, _)| *s == StatusCode::CREATED).count();
            assert_eq!(created, accepted, "{results:?}");
            for (status, body) in results.iter().filter(|(s, _)| *s != StatusCode::CREATED) {
                assert_eq!(*status, StatusCode::BAD_REQUEST, "{body}");
                assert_eq!(body, &json!({"quantity": ["Only 5 available."]}));
            }
            let cart = body_of(app.get_as(&buyer.access, "/shop/api/cart/").await).await;
            let line = cart["items"].as_array().unwrap().iter()
                .find(|l| &l["variant_id"] == variant).unwrap().clone();
            assert_eq!(line["quantity"], accepted as i64, "every accepted add counted, none lost");
        }

        // Setting a quantity is checked against stock in the same statement.
        let cart = body_of(app.get_as(&buyer.access, "/shop/api/cart/").await).await;
        let line = cart["items"].as_array().unwrap().iter()
            .find(|l| l["variant_id"] == product["variants"][0]["id"]).unwrap()["id"].as_str().unwrap().to_string();
        let patches = futures_join_all((1..=8).map(|quantity| {
            let app = &app;
            let (line, token) = (line.clone(), buyer.access.clone());
            async move {
                let response = app.client.patch(app.url(&format!("/shop/api/cart/items/{line}/")))
                    .bearer_auth(token).json(&json!({"quantity": quantity})).send().await.unwrap();
                (quantity, status_and_body(response).await)
            }
        })).await;
        for (quantity, (status, body)) in &patches {
            let expected = if *quantity <= 5 { StatusCode::OK } else { StatusCode::BAD_REQUEST };
            assert_eq!(*status, expected, "{quantity}: {body}");
        }
        let cart = body_of(app.get_as(&buyer.access, "/shop/api/cart/").await).await;
        let quantity = cart["items"].as_array().unwrap().iter()
            .find(|l| l["variant_id"] == product["variants"][0]["id"]).unwrap()["quantity"].as_i64().unwrap();
        assert!((1..=5).contains(&quantity), "{quantity}");
    }

    async fn concurrent_reviews_keep_the_rating_summary_true(backend) {
        let app = TestApp::spawn(backend).await;
        let (tailor, product) = tailor_with_stock(&app, "ade", &[100]).await;
        let product_id = product["id"].as_str().unwrap().to_string();
        let buyers = customers(&app, "fan", 10).await;
        for buyer in &buyers {
            add_item(&app, buyer, &product["variants"][0]["id"], 1).await;
            let (status, placed) = checkout_as(&app, buyer, "k1", "pay_on_delivery").await;
            assert_eq!(status, StatusCode::CREATED, "{placed}");
            let id = placed["orders"][0]["id"].as_str().unwrap();
            for step in ["shipped", "delivered"] {
                assert_eq!(move_order(&app, &tailor, id, step).await, StatusCode::OK);
            }
        }
        let url = format!("/shop/api/product/{product_id}/reviews/");
        for round in 0..5 {
            // Every customer posts twice at once (a double tap) with different stars.
            let answers = futures_join_all(buyers.iter().enumerate().flat_map(|(i, buyer)| {
                let (app, url) = (&app, &url);
                [1, 4].map(move |tap| {
                    let rating = ((i + round + tap) % 5 + 1) as i64;
                    async move { (i, app.post_as(&buyer.access, url, json!({"rating": rating, "text": format!("round {round}")})).await.status()) }
                })
            })).await;
            let (shown, truth) = rating_and_reviews(&app, &product_id).await;
            assert_eq!(shown, truth, "round {round}: the summary says what the reviews say");
            for i in 0..buyers.len() {
                let mut mine: Vec<StatusCode> = answers.iter().filter(|(who, _)| *who == i).map(|(_, s)| *s).collect();
                mine.sort();
                let expected = if round == 0 { [StatusCode::OK, StatusCode::CREATED] } else { [StatusCode::OK, StatusCode::OK] };
                assert_eq!(mine, expected, "round {round}, customer {i}: one review each");
            }
        }
    }

    async fn racing_price_changes_never_make_a_variant_free(backend) {
        let app = TestApp::spawn(backend).await;
        let (tailor, product) = tailor_with_stock(&app, "ade", &[5]).await;
        let id = product["id"].as_str().unwrap().to_string();
        let variant = product["variants"][0]["id"].clone();
        for round in 0..6 {
            let reset = json!({"price": 1_000_000, "variants": [{"id": variant, "price_delta": 0}]});
            assert_eq!(set_product(&app, &tailor, &id, reset).await, StatusCode::OK);
            // Each alone is fine; both together would sell the variant below nothing.
            let cheaper = set_product(&app, &tailor, &id, json!({"price": 500_000}));
            let discounted = set_product(&app, &tailor, &id, json!({"variants": [{"id": variant, "price_delta": -600_000}]}));
            let (a, b) = tokio::join!(cheaper, discounted);
            let mut statuses = [a, b];
            statuses.sort();
            assert_eq!(statuses, [StatusCode::OK, StatusCode::BAD_REQUEST], "round {round}");
            let detail = body_of(app.get(&format!("/shop/api/product/{id}")).await).await;
            assert!(detail["variants"][0]["price"].as_i64().unwrap() >= 1, "round {round}: {detail}");
        }
    }

    async fn expiry_racing_settlement_leaves_each_payment_consistent(backend) {
        let (app, paystack) = shop_with_paystack(backend, |_| {}).await;
        let (_, kaftans) = tailor_with_stock(&app, "ade", &[100]).await;
        let (_, agbadas) = tailor_with_stock(&app, "bola", &[100]).await;
        let buyers = customers(&app, "payer", 12).await;
        let mut references = Vec::new();
        for buyer in &buyers {
            add_item(&app, buyer, &kaftans["variants"][0]["id"], 1).await;
            add_item(&app, buyer, &agbadas["variants"][0]["id"], 1).await;
            let (status, placed) = checkout_as(&app, buyer, "k1", "paystack").await;
            assert_eq!(status, StatusCode::CREATED, "{placed}");
            assert_eq!(placed["orders"].as_array().unwrap().len(), 2);
            references.push((buyer, placed["payment"]["reference"].as_str().unwrap().to_string(),
                placed["payment"]["amount"].as_i64().unwrap()));
        }
        // Another instance's expiry task, with every order already past its time.
        let settings = atelier::config::PaymentSettings {
            paystack_secret_key: Some(SECRET.into()),
            paystack_base_url: paystack.url.clone(),
            unpaid_order_ttl: Duration::ZERO,
            refund_retry_after: Duration::from_secs(30),
        };
        let expiry = atelier::store::StoreService::new(
            test_db(&app).await,
            Some(atelier::store::Paystack::new(&paystack.url, SECRET)),
            &settings,
        );

        // Each payment is reported by its webhook and asked about by the buyer, at once.
        let settlements = futures_join_all(references.iter().map(|(buyer, reference, amount)| {
            let app = &app;
            let (body, signature) = charge_success(reference, *amount, "NGN");
            async move {
                let verify_url = format!("/shop/api/payments/verify/{reference}/");
                let (hook, verify) = tokio::join!(webhook(app, &body, &signature), app.get_as(&buyer.access, &verify_url));
                [hook, verify.status()]
            }
        }));
        let expiries = futures_join_all((0..3).map(|_| expiry.expire_unpaid()));
        let (statuses, expired) = tokio::join!(settlements, expiries);
        for status in statuses.iter().flatten() {
            assert!(!status.is_server_error(), "no 5xx: {statuses:?}");
        }
        for outcome in &expired {
            assert!(outcome.is_ok(), "expiry failed: {outcome:?}");
        }

        let db = test_db(&app).await;
        let mut paid_payments = 0;
        for (_, reference, _) in &references {
            let row = payment::Entity::find().filter(payment::Column::Reference.eq(reference.as_str()))
                .one(&db).await.unwrap().unwrap();
            let orders = order::Entity::find().filter(order::Column::PaymentId.eq(row.id)).all(&db).await.unwrap();
            let refunds = refund::Entity::find().filter(refund::Column::PaymentId.eq(row.id)).all(&db).await.unwrap();
            let statuses: Vec<&str> = orders.iter().map(|o| o.status.as_str()).collect();
            match row.status.as_str() {
                "paid" => {
                    paid_payments += 1;
                    assert_eq!(statuses, ["paid", "paid"], "{reference}");
                    assert!(refunds.is_empty(), "{reference}: paid and refunded");
                }
                "refunded" => {
                    assert_eq!(statuses, ["cancelled", "cancelled"], "{reference}");
                    assert_eq!(refunds.len(), 2, "{reference}: each expired order refunded once");
                    assert!(orders.iter().all(|o| o.refund_kobo == o.total_kobo), "{reference}");
                }
                other => panic!("{reference} ended {other}: {statuses:?}"),
            }
        }
        let stocks: HashMap<String, i64> = product_variant::Entity::find().all(&db).await.unwrap()
            .into_iter().map(|v| (v.id.to_string(), v.stock)).collect();
        for product in [&kaftans, &agbadas] {
            let id = product["variants"][0]["id"].as_str().unwrap();
            assert_eq!(stocks[id], 100 - paid_payments, "stock sold = paid orders");
        }
    }
}
