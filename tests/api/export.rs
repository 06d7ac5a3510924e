//! "Export my data": one JSON document with everything stored about the
//! caller, nothing secret, nobody else's data; a few per hour.

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::avatar::{buy, deliver, set_avatar, tailor_with_product};
use crate::both_backends;
use crate::chat_support::{conversation, send_rest};
use crate::helpers::{TestApp, TestUser, body_of, status_and_body};
use crate::media::{JPEG, upload};

const EXPORT: &str = "/auth/api/users/me/export/";

/// Exports as `who`; checks the download headers; returns the raw text and
/// the parsed document.
async fn export(app: &TestApp, who: &TestUser) -> (String, Value) {
    let response = app.get_as(&who.access, EXPORT).await;
    assert_eq!(response.status(), StatusCode::OK);
    let today = chrono::Utc::now().format("%Y-%m-%d").to_string();
    assert_eq!(
        response.headers()["content-disposition"],
        format!("attachment; filename=\"atelier-export-{today}.json\"").as_str()
    );
    assert!(
        response.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("application/json")
    );
    assert_eq!(response.headers()["cache-control"], "no-store");
    let text = response.text().await.unwrap();
    let document = serde_json::from_str(&text).unwrap();
    (text, document)
}

fn ids(list: &Value) -> Vec<&str> {
    list.as_array()
        .unwrap()
        .iter()
        .map(|v| v["id"].as_str().unwrap())
        .collect()
}

both_backends! {
    async fn the_export_holds_all_of_the_callers_data_and_nothing_else(backend) {
        let app = TestApp::spawn(backend).await;
        let (ade, product) = tailor_with_product(&app, "ade").await;
        let product_id = product["id"].as_str().unwrap();
        let kemi = app.verified_user_with("kemi", json!({"first_name": "Kemi", "phone_number": "+2348012345678"})).await;
        let eve = app.verified_user("eve").await;

        // Kemi leaves a trace in every area.
        let avatar = set_avatar(&app, &kemi).await;
        let (_, photo) = upload(&app, &kemi, "photo.jpg", JPEG).await;
        let order = buy(&app, &kemi, &product, "k1").await;
        deliver(&app, &ade, &order).await;
        let review = app.post_as(&kemi.access, &format!("/shop/api/product/{product_id}/reviews/"),
            json!({"rating": 5, "text": "lovely stitching", "image_ids": [photo["id"]]})).await;
        assert_eq!(review.status(), StatusCode::CREATED);
        let faved = app.post_as(&kemi.access, "/shop/api/product/add-to-fav/", json!({"product_id": product_id})).await;
        assert!(faved.status().is_success(), "{}", faved.status());
        let carted = app.post_as(&kemi.access, "/shop/api/cart/items/",
            json!({"variant_id": product["variants"][0]["id"], "quantity": 2})).await;
        assert_eq!(carted.status(), StatusCode::CREATED);
        let conv = conversation(&app, &kemi, &ade).await;
        let (status, mine) = send_rest(&app, &kemi, &conv, "c-1", "Is it lined?").await;
        assert_eq!(status, StatusCode::CREATED);
        let (_, theirs) = send_rest(&app, &ade, &conv, "c-2", "THE TAILOR'S OWN WORDS").await;
        let report = app.post_as(&kemi.access, &format!("/chat/api/messages/{}/report/", theirs["id"].as_str().unwrap()),
            json!({"reason": "spam"})).await;
        assert_eq!(report.status(), StatusCode::CREATED);
        let blocked = app.post_as(&kemi.access, "/chat/api/block/", json!({"user_id": eve.id})).await;
        assert_eq!(blocked.status(), StatusCode::CREATED);
        // Eve has data of her own that must not leak into Kemi's export.
        let (_, eves_photo) = upload(&app, &eve, "eve.jpg", JPEG).await;
        let eves_order = buy(&app, &eve, &product, "e1").await;

        let (text, doc) = export(&app, &kemi).await;
        for key in ["exported_at", "account", "sessions", "orders_as_customer", "orders_as_tailor", "payments",
                    "reviews", "favorites", "cart", "products", "conversations", "messages", "blocks",
                    "reports", "uploads", "last_seen_at"] {
            assert!(doc.get(key).is_some(), "{key} missing");
        }
        let account = &doc["account"];
        assert_eq!(account["id"], kemi.id.as_str());
        assert_eq!(account["email"], "kemi@example.com");
        assert_eq!((account["first_name"].as_str(), account["phone_number"].as_str()), (Some("Kemi"), Some("+2348012345678")));
        assert_eq!(account["avatar"], avatar.as_str());
        assert!(!doc["sessions"].as_array().unwrap().is_empty(), "the login shows");

        assert_eq!(ids(&doc["orders_as_customer"]), [order["id"].as_str().unwrap()]);
        let exported_order = &doc["orders_as_customer"][0];
        assert_eq!(exported_order["status"], "delivered");
        assert_eq!(exported_order["delivery_address"], "12 Broad Street, Lagos");
        assert_eq!(exported_order["items"][0]["product_id"], product_id);
        assert!(exported_order["timeline"].as_array().unwrap().len() >= 2);
        assert_eq!(doc["orders_as_tailor"], json!([]));
        assert_eq!(doc["reviews"][0]["text"], "lovely stitching");
        assert_eq!(doc["reviews"][0]["images"], json!([photo["url"]]));
        assert_eq!(doc["favorites"][0]["product_id"], product_id);
        assert_eq!(doc["cart"][0]["quantity"], 2);
        assert_eq!(doc["products"], json!([]), "a customer has no products");
        assert_eq!(ids(&doc["conversations"]), [conv.as_str()]);
        let members = doc["conversations"][0]["members"].as_array().unwrap();
        assert!(members.contains(&json!(kemi.id)) && members.contains(&json!(ade.id)));
        assert_eq!(ids(&doc["messages"]), [mine["id"].as_str().unwrap()], "only the caller's own messages");
        assert_eq!(doc["messages"][0]["text"], "Is it lined?");
        assert_eq!(doc["reports"][0]["message_id"], theirs["id"]);
        assert_eq!(doc["reports"][0]["reason"], "spam");
        assert_eq!(doc["blocks"][0]["user_id"], eve.id.as_str());
        let uploads = &doc["uploads"];
        assert_eq!(uploads.as_array().unwrap().len(), 2);
        for upload in uploads.as_array().unwrap() {
            assert!(upload["url"].as_str().unwrap().starts_with("/media/"));
            assert!(upload["created_at"].is_string());
        }
        assert!(ids(uploads).contains(&photo["id"].as_str().unwrap()));

        // Nothing secret, nothing of anyone else.
        for secret in ["$argon2", "password", "token_version", "code_hash", "jti"] {
            assert!(!text.contains(secret), "{secret} in the export");
        }
        for foreign in ["eve@example.com", "ade@example.com", "THE TAILOR'S OWN WORDS",
                        eves_photo["id"].as_str().unwrap(), eves_order["id"].as_str().unwrap()] {
            assert!(!text.contains(foreign), "{foreign} in Kemi's export");
        }

        // The tailor's export has the product and the orders received.
        let (text, doc) = export(&app, &ade).await;
        assert_eq!(ids(&doc["products"]), [product_id]);
        assert_eq!(doc["products"][0]["variants"][0]["size"], "M");
        let received = ids(&doc["orders_as_tailor"]);
        assert!(received.contains(&order["id"].as_str().unwrap()) && received.len() == 2);
        assert_eq!(doc["orders_as_customer"], json!([]));
        assert_eq!(doc["messages"][0]["text"], "THE TAILOR'S OWN WORDS");
        assert!(!text.contains("Is it lined?"), "Kemi's message is hers");
        assert!(!text.contains("$argon2"));
    }

    async fn the_export_holds_the_tailor_side_follows_reviews_and_measurements(backend) {
        let app = TestApp::spawn(backend).await;
        let ada = app.verified_user_with("ada", json!({"role": "tailor"})).await;
        let bola = app.verified_user("bola").await;
        let chidi = app.verified_user("chidi").await;
        for (who, whom) in [(&bola, &ada), (&ada, &bola), (&chidi, &ada)] {
            let followed = app.post_as(&who.access, "/auth/api/follow/", json!({"user_id": whom.id})).await;
            assert_eq!(followed.status(), StatusCode::OK);
        }
        let (status, me) = status_and_body(app.post_as(&bola.access, "/tailor/api/measurements/", json!({"name": "Me", "chest": 90})).await).await;
        assert_eq!(status, StatusCode::CREATED, "{me}");
        let patched = app.client.patch(app.url(&format!("/tailor/api/measurements/{}/", me["id"].as_str().unwrap())))
            .bearer_auth(&bola.access).json(&json!({"chest": 91})).send().await.unwrap();
        assert_eq!(patched.status(), StatusCode::OK);
        let (status, _) = status_and_body(app.post_as(&chidi.access, "/tailor/api/measurements/", json!({"name": "Chidi", "waist": 80})).await).await;
        assert_eq!(status, StatusCode::CREATED);

        let (_, bolas) = export(&app, &bola).await;
        let side = &bolas["tailor_side"];
        assert_eq!(side["tailor_profile"], Value::Null, "a customer has no tailor profile");
        assert_eq!(side["following"][0]["user_id"], ada.id.as_str());
        assert_eq!(side["followers"][0]["user_id"], ada.id.as_str());
        let measurements = side["measurements"].as_array().unwrap();
        assert_eq!(measurements.len(), 1, "only bola's own: {side}");
        assert_eq!(measurements[0]["values_mm"]["chest"], 910);
        assert_eq!(measurements[0]["versions"].as_array().unwrap().len(), 2);
        assert_eq!(measurements[0]["versions"][0]["values_mm"]["chest"], 900);

        let (_, adas) = export(&app, &ada).await;
        let side = &adas["tailor_side"];
        assert!(side["tailor_profile"].is_object(), "{side}");
        assert_eq!(side["followers"].as_array().unwrap().len(), 2);
        assert_eq!(side["measurements"], json!([]));
    }

    async fn exports_are_limited_per_user_and_need_a_login(backend) {
        let app = TestApp::spawn(backend).await;
        let kemi = app.verified_user("kemi").await;
        let eve = app.verified_user("eve").await;
        // Fired at once: exactly the allowance gets through.
        let tries = (0..6).map(|_| app.get_as(&kemi.access, EXPORT));
        let statuses: Vec<StatusCode> = futures_util::future::join_all(tries).await.iter().map(|r| r.status()).collect();
        let ok = statuses.iter().filter(|s| **s == StatusCode::OK).count();
        assert_eq!(ok, 3, "{statuses:?}");
        assert!(statuses.iter().all(|s| *s == StatusCode::OK || *s == StatusCode::TOO_MANY_REQUESTS));
        let response = app.get_as(&kemi.access, EXPORT).await;
        assert_eq!(response.status(), StatusCode::TOO_MANY_REQUESTS);
        assert!(response.headers().contains_key("retry-after"));
        let body = body_of(response).await;
        assert_eq!(body["code"], "throttled");
        assert!(body["detail"].is_string());
        // The limit is per user.
        let (status, _) = status_and_body(app.get_as(&eve.access, EXPORT).await).await;
        assert_eq!(status, StatusCode::OK);
        let anonymous = app.get(EXPORT).await;
        assert_eq!(anonymous.status(), StatusCode::UNAUTHORIZED);
    }
}
