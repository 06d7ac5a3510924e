use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::both_backends;
use crate::helpers::{TestApp, TestUser, body_of, status_and_body};

pub const JPEG: &[u8] = &[
    0xFF, 0xD8, 0xFF, 0xE0, 0x00, 0x10, b'J', b'F', b'I', b'F', 0, 1, 2, 3,
];
const PNG: &[u8] = b"\x89PNG\r\n\x1a\n\x00\x00\x00\x0dIHDR";
const WEBP: &[u8] = b"RIFF\x24\x00\x00\x00WEBPVP8 ";

/// A multipart body with one part, built by hand as a browser would.
fn multipart(field: &str, filename: &str, bytes: &[u8]) -> (String, Vec<u8>) {
    let boundary = "atelier-test-boundary";
    let mut body = format!(
        "--{boundary}\r\nContent-Disposition: form-data; name=\"{field}\"; filename=\"{filename}\"\r\nContent-Type: application/octet-stream\r\n\r\n"
    )
    .into_bytes();
    body.extend_from_slice(bytes);
    body.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
    (format!("multipart/form-data; boundary={boundary}"), body)
}

pub async fn upload(
    app: &TestApp,
    who: &TestUser,
    filename: &str,
    bytes: &[u8],
) -> (StatusCode, Value) {
    let (content_type, body) = multipart("file", filename, bytes);
    let response = app
        .client
        .post(app.url("/media/api/upload/"))
        .bearer_auth(&who.access)
        .header("content-type", content_type)
        .body(body)
        .send()
        .await
        .unwrap();
    status_and_body(response).await
}

both_backends! {
    async fn images_are_recognised_by_content_stored_and_served(backend) {
        let app = TestApp::spawn(backend).await;
        let user = app.verified_user("ada").await;
        for (bytes, content_type) in [(JPEG, "image/jpeg"), (PNG, "image/png"), (WEBP, "image/webp")] {
            let (status, stored) = upload(&app, &user, "../../etc/passwd", bytes).await;
            assert_eq!(status, StatusCode::CREATED, "{stored}");
            assert_eq!(stored["content_type"], content_type);
            let url = stored["url"].as_str().unwrap();
            assert!(url.starts_with("/media/") && !url.contains("passwd"), "{url}");
            let served = app.get(url).await;
            assert_eq!(served.status(), StatusCode::OK);
            assert_eq!(served.headers()["content-type"], content_type);
            assert!(served.headers()["cache-control"].to_str().unwrap().contains("max-age=31536000"));
            assert_eq!(&served.bytes().await.unwrap()[..], bytes);
        }
        let (status, body) = upload(&app, &user, "photo.jpg", b"just some text, not an image").await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
        assert_eq!(body["file"], json!(["Upload a JPEG, PNG or WebP image."]));
        let mut big = JPEG.to_vec();
        big.resize(64 * 1024 + 1, 0);
        let (status, body) = upload(&app, &user, "big.jpg", &big).await;
        assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE);
        assert_eq!(body["code"], "payload_too_large");

        let (content_type, body) = multipart("other", "x.jpg", JPEG);
        let response = app.client.post(app.url("/media/api/upload/")).bearer_auth(&user.access)
            .header("content-type", content_type).body(body).send().await.unwrap();
        assert_eq!(response.status(), StatusCode::BAD_REQUEST);
        let json_body = app.post_as(&user.access, "/media/api/upload/", json!({"file": "x"})).await;
        assert_eq!(json_body.status(), StatusCode::UNSUPPORTED_MEDIA_TYPE);
        let (content_type, body) = multipart("file", "x.jpg", JPEG);
        let anonymous = app.client.post(app.url("/media/api/upload/"))
            .header("content-type", content_type).body(body).send().await.unwrap();
        assert_eq!(anonymous.status(), StatusCode::UNAUTHORIZED);

        for path in ["/media/nothing.jpg", "/media/..%2Fsecret_key", "/media/%2e%2e"] {
            assert_eq!(app.get(path).await.status(), StatusCode::NOT_FOUND, "{path}");
        }
    }

    async fn products_show_their_images_in_order(backend) {
        let app = TestApp::spawn(backend).await;
        let tailor = app.verified_user_with("ade", json!({"role": "tailor"})).await;
        let other = app.verified_user_with("bola", json!({"role": "tailor"})).await;
        let (_, front) = upload(&app, &tailor, "front.jpg", JPEG).await;
        let (_, back) = upload(&app, &tailor, "back.png", PNG).await;
        let (_, foreign) = upload(&app, &other, "mine.webp", WEBP).await;
        let product = json!({"name": "Kaftan", "kind": "ready_made", "price": 100, "variants": [{"stock": 1}],
            "image_ids": [back["id"], front["id"]]});
        let (status, created) = status_and_body(app.post_as(&tailor.access, "/shop/api/product/upload/", product).await).await;
        assert_eq!(status, StatusCode::CREATED, "{created}");
        assert_eq!(created["images"], json!([back["url"], front["url"]]));
        assert_eq!(created["image"], back["url"], "the detail's summary shows the first image");
        let listed = body_of(app.get("/shop/api/product/list/").await).await;
        assert_eq!(listed["results"][0]["image"], back["url"], "a list shows each product's first image");

        let id = created["id"].as_str().unwrap();
        let patch = |ids: Value| app.client.patch(app.url(&format!("/shop/api/product/update/{id}/")))
            .bearer_auth(&tailor.access).json(&json!({"image_ids": ids})).send();
        let (status, body) = status_and_body(patch(json!([foreign["id"]])).await.unwrap()).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "another tailor's image");
        assert!(body["image_ids"].is_array());
        let (status, body) = status_and_body(patch(json!([front["id"], front["id"]])).await.unwrap()).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
        let (status, updated) = status_and_body(patch(json!([front["id"]])).await.unwrap()).await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(updated["images"], json!([front["url"]]));
        let detail = body_of(app.get(&format!("/shop/api/product/{id}")).await).await;
        assert_eq!(detail["images"], json!([front["url"]]));
        let store = body_of(app.get_as(&tailor.access, "/shop/api/product/store/").await).await;
        assert_eq!(store["results"][0]["image"], front["url"]);

        let bare = json!({"name": "Cap", "kind": "accessory", "price": 100, "variants": [{"stock": 1}]});
        app.post_as(&tailor.access, "/shop/api/product/upload/", bare).await;
        let listed = body_of(app.get("/shop/api/product/list/").await).await;
        assert_eq!(listed["results"][0]["name"], "Cap");
        assert_eq!(listed["results"][0]["image"], Value::Null, "no image: null");
    }

    async fn uploads_may_exceed_the_json_body_limit(backend) {
        let app = TestApp::spawn_with(backend, |s| s.max_upload_bytes = 3 * 1024 * 1024).await;
        let user = app.verified_user("ada").await;
        let mut photo = JPEG.to_vec();
        photo.resize(2 * 1024 * 1024, 7);
        let (status, stored) = upload(&app, &user, "photo.jpg", &photo).await;
        assert_eq!(status, StatusCode::CREATED, "{stored}");
        assert_eq!(stored["size"], 2 * 1024 * 1024);
    }
}
