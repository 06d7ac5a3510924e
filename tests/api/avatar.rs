//! Avatars: a user points `avatar_id` at an image they uploaded, and its URL
//! shows wherever the user does (directory, detail, me, chat, products,
//! orders, reviews).

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::both_backends;
use crate::chat_support::conversation;
use crate::helpers::{TestApp, TestUser, body_of, status_and_body};
use crate::media::{JPEG, upload};

pub async fn patch_me(app: &TestApp, who: &TestUser, body: Value) -> (StatusCode, Value) {
    let response = app
        .client
        .patch(app.url("/auth/api/users/me/"))
        .bearer_auth(&who.access)
        .json(&body)
        .send()
        .await
        .unwrap();
    status_and_body(response).await
}

/// Uploads an image as `who` and makes it their avatar; returns its URL.
pub async fn set_avatar(app: &TestApp, who: &TestUser) -> String {
    let (status, image) = upload(app, who, "me.jpg", JPEG).await;
    assert_eq!(status, StatusCode::CREATED, "{image}");
    let (status, me) = patch_me(app, who, json!({"avatar_id": image["id"]})).await;
    assert_eq!(status, StatusCode::OK, "{me}");
    assert_eq!(me["avatar"], image["url"]);
    image["url"].as_str().unwrap().to_string()
}

/// A tailor with one product (a variant of 5 units in size M).
pub async fn tailor_with_product(app: &TestApp, name: &str) -> (TestUser, Value) {
    let tailor = app
        .verified_user_with(name, json!({"role": "tailor"}))
        .await;
    let (status, product) = status_and_body(
        app.post_as(
            &tailor.access,
            "/shop/api/product/upload/",
            json!({"name": format!("{name}'s kaftan"), "kind": "ready_made", "price": 1_000_000,
                   "variants": [{"size": "M", "stock": 5}]}),
        )
        .await,
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{product}");
    (tailor, product)
}

/// `who` buys one unit of the product's first variant, paying on delivery;
/// returns the order.
pub async fn buy(app: &TestApp, who: &TestUser, product: &Value, key: &str) -> Value {
    let added = app
        .post_as(
            &who.access,
            "/shop/api/cart/items/",
            json!({"variant_id": product["variants"][0]["id"], "quantity": 1}),
        )
        .await;
    assert_eq!(added.status(), StatusCode::CREATED);
    let response = app
        .client
        .post(app.url("/shop/api/checkout/"))
        .bearer_auth(&who.access)
        .header("Idempotency-Key", key)
        .json(&json!({"delivery_address": "12 Broad Street, Lagos", "payment_method": "pay_on_delivery"}))
        .send()
        .await
        .unwrap();
    let (status, placed) = status_and_body(response).await;
    assert_eq!(status, StatusCode::CREATED, "{placed}");
    placed["orders"][0].clone()
}

/// The tailor moves the order to `delivered`.
pub async fn deliver(app: &TestApp, tailor: &TestUser, order: &Value) {
    let id = order["id"].as_str().unwrap();
    for step in ["shipped", "delivered"] {
        let moved = app
            .client
            .patch(app.url(&format!("/shop/api/orders/{id}/status/")))
            .bearer_auth(&tailor.access)
            .json(&json!({"status": step}))
            .send()
            .await
            .unwrap();
        assert_eq!(moved.status(), StatusCode::OK);
    }
}

async fn get(app: &TestApp, who: &TestUser, path: &str) -> Value {
    let (status, body) = status_and_body(app.get_as(&who.access, path).await).await;
    assert_eq!(status, StatusCode::OK, "{path}: {body}");
    body
}

fn find<'a>(list: &'a Value, id: &str) -> &'a Value {
    list.as_array()
        .unwrap()
        .iter()
        .find(|v| v["id"] == id)
        .unwrap_or_else(|| panic!("{id} not in {list}"))
}

both_backends! {
    async fn an_uploaded_image_becomes_the_avatar_everywhere_the_user_shows(backend) {
        let app = TestApp::spawn(backend).await;
        let (ade, product) = tailor_with_product(&app, "ade").await;
        let kemi = app.verified_user("kemi").await;
        let me = get(&app, &kemi, "/auth/api/users/me/").await;
        assert_eq!(me["avatar"], Value::Null, "no avatar at first");

        // The catalog has shown ade without an avatar (and remembers it)...
        let list = body_of(app.get("/shop/api/product/list/").await).await;
        assert_eq!(list["results"][0]["tailor_avatar"], Value::Null);

        let kemi_avatar = set_avatar(&app, &kemi).await;
        let ade_avatar = set_avatar(&app, &ade).await;
        assert!(kemi_avatar.starts_with("/media/") && kemi_avatar != ade_avatar);
        let served = app.get(&kemi_avatar).await;
        assert_eq!(served.status(), StatusCode::OK, "the URL serves the image");

        // The account views.
        assert_eq!(get(&app, &kemi, "/auth/api/users/me/").await["avatar"], kemi_avatar.as_str());
        let detail = get(&app, &ade, &format!("/auth/api/users/detail/{}/", kemi.id)).await;
        assert_eq!(detail["avatar"], kemi_avatar.as_str());
        let own_detail = get(&app, &kemi, &format!("/auth/api/users/detail/{}/", kemi.id)).await;
        assert_eq!(own_detail["avatar"], kemi_avatar.as_str());
        let directory = get(&app, &kemi, "/auth/api/users/list/").await;
        assert_eq!(find(&directory["results"], &kemi.id)["avatar"], kemi_avatar.as_str());
        assert_eq!(find(&directory["results"], &ade.id)["avatar"], ade_avatar.as_str());

        // Chat: each side sees the other's avatar.
        let conv = conversation(&app, &kemi, &ade).await;
        let kemis = get(&app, &kemi, "/chat/api/conversations/").await;
        assert_eq!(find(&kemis["results"], &conv)["other_member"]["avatar"], ade_avatar.as_str());
        let ades = get(&app, &ade, "/chat/api/conversations/").await;
        assert_eq!(find(&ades["results"], &conv)["other_member"]["avatar"], kemi_avatar.as_str());
        let opened = body_of(app.post_as(&kemi.access, "/chat/api/conversations/", json!({"user_id": ade.id})).await).await;
        assert_eq!(opened["other_member"]["avatar"], ade_avatar.as_str());

        // The shop: the tailor on products, both parties on orders.
        let product_id = product["id"].as_str().unwrap();
        // ...and shows the new one at once.
        let list = body_of(app.get("/shop/api/product/list/").await).await;
        assert_eq!(find(&list["results"], product_id)["tailor_avatar"], ade_avatar.as_str());
        let detail = body_of(app.get(&format!("/shop/api/product/{product_id}/")).await).await;
        assert_eq!(detail["tailor_avatar"], ade_avatar.as_str());
        let store = get(&app, &ade, "/shop/api/product/store/").await;
        assert_eq!(find(&store["results"], product_id)["tailor_avatar"], ade_avatar.as_str());

        let order = buy(&app, &kemi, &product, "k1").await;
        assert_eq!(order["customer_avatar"], kemi_avatar.as_str(), "{order}");
        assert_eq!(order["tailor_avatar"], ade_avatar.as_str());
        let order_id = order["id"].as_str().unwrap();
        let mine = get(&app, &kemi, "/shop/api/orders/").await;
        assert_eq!(find(&mine["results"], order_id)["tailor_avatar"], ade_avatar.as_str());
        let received = get(&app, &ade, "/shop/api/orders/received/").await;
        assert_eq!(find(&received["results"], order_id)["customer_avatar"], kemi_avatar.as_str());
        let one = get(&app, &ade, &format!("/shop/api/orders/{order_id}/")).await;
        assert_eq!((one["customer_avatar"].as_str(), one["tailor_avatar"].as_str()),
            (Some(kemi_avatar.as_str()), Some(ade_avatar.as_str())));

        // Reviews show their author's avatar.
        deliver(&app, &ade, &order).await;
        let reviews_url = format!("/shop/api/product/{product_id}/reviews/");
        let (status, review) = status_and_body(app.post_as(&kemi.access, &reviews_url, json!({"rating": 5, "text": "lovely"})).await).await;
        assert_eq!(status, StatusCode::CREATED, "{review}");
        assert_eq!(review["customer_avatar"], kemi_avatar.as_str());
        let reviews = body_of(app.get(&reviews_url).await).await;
        assert_eq!(reviews["results"][0]["customer_avatar"], kemi_avatar.as_str());

        // Removing it shows null everywhere.
        let (status, me) = patch_me(&app, &ade, json!({"avatar_id": null})).await;
        assert_eq!(status, StatusCode::OK, "{me}");
        assert_eq!(me["avatar"], Value::Null);
        assert_eq!(get(&app, &ade, "/auth/api/users/me/").await["avatar"], Value::Null);
        let list = body_of(app.get("/shop/api/product/list/").await).await;
        assert_eq!(find(&list["results"], product_id)["tailor_avatar"], Value::Null);
        let kemis = get(&app, &kemi, "/chat/api/conversations/").await;
        assert_eq!(find(&kemis["results"], &conv)["other_member"]["avatar"], Value::Null);
        let one = get(&app, &kemi, &format!("/shop/api/orders/{order_id}/")).await;
        assert_eq!((one["customer_avatar"].as_str(), &one["tailor_avatar"]), (Some(kemi_avatar.as_str()), &Value::Null));
        // Other fields alone leave the avatar as it is.
        let (_, me) = patch_me(&app, &kemi, json!({"first_name": "Kemi"})).await;
        assert_eq!(me["avatar"], kemi_avatar.as_str());
    }

    async fn only_ones_own_upload_can_be_the_avatar(backend) {
        let app = TestApp::spawn(backend).await;
        let kemi = app.verified_user("kemi").await;
        let eve = app.verified_user("eve").await;
        let mine = set_avatar(&app, &kemi).await;
        let (_, theirs) = upload(&app, &eve, "eve.jpg", JPEG).await;

        let unknown = uuid::Uuid::now_v7().to_string();
        for (bad, message) in [
            (theirs["id"].clone(), "No image you uploaded has this id."),
            (json!(unknown), "No image you uploaded has this id."),
            (json!("not-a-uuid"), "Must be a valid UUID."),
            (json!(42), "Must be a valid UUID."),
            (json!({"id": theirs["id"]}), "Must be a valid UUID."),
        ] {
            // With another change in the same request: nothing is applied.
            let (status, body) = patch_me(&app, &kemi, json!({"avatar_id": bad, "first_name": "Changed"})).await;
            assert_eq!(status, StatusCode::BAD_REQUEST, "{bad}: {body}");
            assert_eq!(body, json!({"avatar_id": [message]}), "{bad}");
        }
        let me = get(&app, &kemi, "/auth/api/users/me/").await;
        assert_eq!(me["avatar"], mine.as_str(), "unchanged");
        assert_eq!(me["first_name"], "", "the whole request was refused");

        // Eve's own image works for Eve, and stays hers: Kemi still cannot take it.
        let (status, body) = patch_me(&app, &eve, json!({"avatar_id": theirs["id"], "first_name": "Eve"})).await;
        assert_eq!((status, &body["avatar"], &body["first_name"]), (StatusCode::OK, &theirs["url"], &json!("Eve")));
        let (status, _) = patch_me(&app, &kemi, json!({"avatar_id": theirs["id"]})).await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
        let anonymous = app.client.patch(app.url("/auth/api/users/me/"))
            .json(&json!({"avatar_id": null})).send().await.unwrap();
        assert_eq!(anonymous.status(), StatusCode::UNAUTHORIZED);
    }
}
