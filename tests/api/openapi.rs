//! The spec as a generated client reads it: real answers over HTTP must
//! validate against what `/api/openapi.json` documents for their status, the
//! answers of the shared extractors and middleware are documented on every
//! operation that can give them, and request fields carry their real types.
//! (`.ci/schemathesis` fuzzes the whole API against the spec on top of this.)

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::both_backends;
use crate::helpers::{TestApp, TestUser, status_and_body};
use crate::spec_check::Spec;

async fn spec(app: &TestApp) -> Spec {
    let response = app.get("/api/openapi.json").await;
    assert_eq!(response.status(), StatusCode::OK);
    Spec(response.json().await.unwrap())
}

/// Every operation: (method, path, operation).
fn operations(spec: &Spec) -> Vec<(String, String, Value)> {
    let mut all = Vec::new();
    for (path, item) in spec.0["paths"].as_object().unwrap() {
        for method in ["get", "post", "put", "patch", "delete"] {
            if let Some(op) = item.get(method) {
                all.push((method.to_string(), path.clone(), op.clone()));
            }
        }
    }
    all
}

fn has_param(op: &Value, location: &str, name: Option<&str>) -> bool {
    op["parameters"]
        .as_array()
        .into_iter()
        .flatten()
        .any(|p| p["in"] == location && name.is_none_or(|n| p["name"] == n))
}

/// Every `$ref` anywhere in the spec, and every `"default": null`.
fn refs_and_null_defaults(value: &Value, refs: &mut Vec<String>, null_defaults: &mut usize) {
    match value {
        Value::Object(map) => {
            for (key, inner) in map {
                match (key.as_str(), inner) {
                    ("$ref", Value::String(r)) => refs.push(r.clone()),
                    ("default", Value::Null) => *null_defaults += 1,
                    ("example" | "examples", _) => {}
                    _ => refs_and_null_defaults(inner, refs, null_defaults),
                }
            }
        }
        Value::Array(items) => items
            .iter()
            .for_each(|i| refs_and_null_defaults(i, refs, null_defaults)),
        _ => {}
    }
}

async fn tailor(app: &TestApp, name: &str) -> TestUser {
    app.verified_user_with(name, json!({"role": "tailor"}))
        .await
}

both_backends! {
    async fn every_operation_documents_the_answers_of_the_shared_extractors(backend) {
        let app = TestApp::spawn(backend).await;
        let spec = spec(&app).await;
        let detail = json!({"detail": "Not found.", "code": "not_found"});
        for (method, path, op) in operations(&spec) {
            let name = format!("{method} {path}");
            let documents = |status: u16| op["responses"].get(status.to_string()).is_some();
            let secured = op["security"].as_array().is_some_and(|s| !s.is_empty());
            if secured {
                assert!(documents(401), "{name}: no 401");
                let schema = spec.response_schema(&method, &path, 401);
                assert!(spec.matches(schema, &detail), "{name}: 401 is not ErrorBody");
            }
            let json_body = op["requestBody"]["content"].get("application/json").is_some()
                && path != "/shop/api/payments/webhook/paystack";
            if json_body || has_param(&op, "query", None) {
                assert!(documents(400), "{name}: no 400");
                let schema = spec.response_schema(&method, &path, 400);
                assert!(
                    spec.matches(schema, &json!({"detail": "JSON parse error", "code": "parse_error"})),
                    "{name}: an unreadable request's 400 does not match the documented 400"
                );
            }
            if json_body {
                assert!(documents(413) && documents(415), "{name}: no 413 or 415");
            }
            if has_param(&op, "query", Some("page")) {
                assert!(documents(404), "{name}: `Invalid page.` (404) not documented");
            }
            if path != "/health" && path != "/metrics" {
                assert!(documents(503), "{name}: no 503");
            }
            for (status, response) in op["responses"].as_object().unwrap() {
                if status.starts_with('4') || status.starts_with('5') {
                    let has_json = response["content"].get("application/json").is_some();
                    assert!(has_json, "{name} {status}: errors are JSON");
                }
            }
        }
        let (mut refs, mut null_defaults) = (Vec::new(), 0);
        refs_and_null_defaults(&spec.0, &mut refs, &mut null_defaults);
        for reference in refs {
            spec.resolve(&json!({"$ref": reference}));
        }
        assert_eq!(null_defaults, 0, "`\"default\": null` on a non-nullable field");
    }

    async fn a_400_matches_exactly_one_documented_shape(backend) {
        let app = TestApp::spawn(backend).await;
        let spec = spec(&app).await;
        let ada = app.verified_user("ada").await;

        // Field errors where the old spec said `{"detail", "code"}`.
        let (status, body) = status_and_body(app.post("/auth/api/register/", json!({})).await).await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
        assert!(body["email"].is_array(), "{body}");
        spec.assert_documented("post", "/auth/api/register", 400, &body);
        let confirm = app.post("/auth/api/password-reset/confirm/", json!({})).await;
        let (status, body) = status_and_body(confirm).await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
        assert!(body["email"].is_array(), "{body}");
        spec.assert_documented("post", "/auth/api/password-reset/confirm", 400, &body);
        let verify = app.post("/auth/api/register/verify-otp/123456/", json!({})).await;
        let (status, body) = status_and_body(verify).await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
        assert!(body["email"].is_array(), "{body}");
        spec.assert_documented("post", "/auth/api/register/verify-otp/{otp}", 400, &body);
        let list = app.get_as(&ada.access, "/auth/api/users/list/?role=admin").await;
        let (status, body) = status_and_body(list).await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
        assert!(body["role"].is_array(), "{body}");
        spec.assert_documented("get", "/auth/api/users/list", 400, &body);

        // `{"detail", "code"}` answers on the same operations.
        let list = app.get_as(&ada.access, "/auth/api/users/list/?page_size=many").await;
        let (status, body) = status_and_body(list).await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
        assert_eq!(body["code"], "invalid_page_size");
        spec.assert_documented("get", "/auth/api/users/list", 400, &body);
        let unreadable = app
            .client
            .post(app.url("/auth/api/register/"))
            .header("content-type", "application/json")
            .body("{")
            .send()
            .await
            .unwrap();
        let (status, body) = status_and_body(unreadable).await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
        assert_eq!(body["code"], "parse_error");
        spec.assert_documented("post", "/auth/api/register", 400, &body);

        // Each shape matches exactly one branch of the documented `oneOf`.
        let bad_request = spec.resolve(spec.response_schema("post", "/auth/api/register", 400));
        let branches = bad_request["oneOf"].as_array().expect("400 is a oneOf");
        for body in [
            json!({"email": ["This field is required."]}),
            json!({"detail": "JSON parse error", "code": "parse_error"}),
            json!({"detail": ["a field named detail"], "code": ["and one named code"]}),
        ] {
            let hits = branches.iter().filter(|b| spec.matches(b, &body)).count();
            assert_eq!(hits, 1, "{body} matches {hits} branches");
        }
    }

    async fn users_detail_answers_match_one_schema_for_the_owner_and_for_others(backend) {
        let app = TestApp::spawn(backend).await;
        let spec = spec(&app).await;
        let ada = app.verified_user("ada").await;
        let bola = app.verified_user("bola").await;
        let path = "/auth/api/users/detail/{id}";

        let own = app.get_as(&ada.access, &format!("/auth/api/users/detail/{}/", ada.id)).await;
        let (status, body) = status_and_body(own).await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(body["email"], "ada@example.com", "the owner view");
        spec.assert_documented("get", path, 200, &body);

        let other = app.get_as(&ada.access, &format!("/auth/api/users/detail/{}/", bola.id)).await;
        let (status, body) = status_and_body(other).await;
        assert_eq!(status, StatusCode::OK);
        assert!(body.get("email").is_none(), "the public view: {body}");
        spec.assert_documented("get", path, 200, &body);

        let me = status_and_body(app.get_as(&ada.access, "/auth/api/users/me/").await).await;
        spec.assert_documented("get", "/auth/api/users/me", 200, &me.1);
        let list = status_and_body(app.get_as(&ada.access, "/auth/api/users/list/").await).await;
        spec.assert_documented("get", "/auth/api/users/list", 200, &list.1);
        let unknown = app
            .get_as(&ada.access, "/auth/api/users/detail/not-a-uuid/")
            .await;
        let (status, body) = status_and_body(unknown).await;
        assert_eq!(status, StatusCode::NOT_FOUND);
        spec.assert_documented("get", path, 404, &body);
    }

    async fn the_shared_answers_are_documented_where_they_happen(backend) {
        let app = TestApp::spawn(backend).await;
        let spec = spec(&app).await;
        let ada = app.verified_user("ada").await;

        let anonymous = app.get("/shop/api/cart/").await;
        assert!(anonymous.headers().contains_key("www-authenticate"));
        let (status, body) = status_and_body(anonymous).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED);
        spec.assert_documented("get", "/shop/api/cart", 401, &body);
        let header = &spec.0["paths"]["/shop/api/cart"]["get"]["responses"]["401"]["headers"];
        assert!(header["WWW-Authenticate"].is_object(), "{header}");

        let text = app
            .client
            .post(app.url("/shop/api/cart/items/"))
            .bearer_auth(&ada.access)
            .header("content-type", "text/plain")
            .body("variant")
            .send()
            .await
            .unwrap();
        let (status, body) = status_and_body(text).await;
        assert_eq!(status, StatusCode::UNSUPPORTED_MEDIA_TYPE);
        spec.assert_documented("post", "/shop/api/cart/items", 415, &body);

        let huge = json!({"email": "a".repeat(2 * 1024 * 1024)});
        let (status, body) = status_and_body(app.post("/auth/api/register/", huge).await).await;
        assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE);
        spec.assert_documented("post", "/auth/api/register", 413, &body);

        // `Invalid page.` on a list whose spec did not say 404 before.
        for path in ["/shop/api/orders", "/shop/api/orders/received"] {
            let past_the_end = app.get_as(&ada.access, &format!("{path}/?page=9")).await;
            let (status, body) = status_and_body(past_the_end).await;
            assert_eq!(status, StatusCode::NOT_FOUND, "{path}");
            spec.assert_documented("get", path, 404, &body);
        }
        let malformed = app.get_as(&ada.access, "/shop/api/orders/not-a-uuid/").await;
        let (status, body) = status_and_body(malformed).await;
        assert_eq!(status, StatusCode::NOT_FOUND);
        spec.assert_documented("get", "/shop/api/orders/{id}", 404, &body);

        let upload = app
            .client
            .post(app.url("/media/api/upload/"))
            .bearer_auth(&ada.access)
            .send()
            .await
            .unwrap();
        let (status, body) = status_and_body(upload).await;
        assert_eq!(status, StatusCode::UNSUPPORTED_MEDIA_TYPE);
        spec.assert_documented("post", "/media/api/upload", 415, &body);
    }

    async fn request_fields_are_documented_with_their_real_types(backend) {
        let app = TestApp::spawn(backend).await;
        let spec = spec(&app).await;
        let schema = |name: &str| spec.0["components"]["schemas"][name].clone();
        // A property through its `$ref`, or the one-item `oneOf` that utoipa
        // wraps a described reference in.
        let unwrap = |p: &Value| {
            let p = spec.resolve(p);
            match p["oneOf"].as_array() {
                Some(only) if only.len() == 1 => spec.resolve(&only[0]).clone(),
                _ => p.clone(),
            }
        };
        let property = |name: &str, field: &str| {
            let p = schema(name)["properties"][field].clone();
            assert!(p.is_object(), "{name}.{field} is not documented");
            unwrap(&p)
        };
        let required = |name: &str| -> Vec<String> {
            serde_json::from_value(schema(name)["required"].clone()).unwrap_or_default()
        };

        assert_eq!(property("RegisterRequest", "email")["format"], "email");
        assert_eq!(property("RegisterRequest", "role")["enum"], json!(["customer", "tailor"]));
        assert_eq!(required("RegisterRequest"), ["email", "username", "password"]);
        assert_eq!(property("CartItemRequest", "variant_id")["format"], "uuid");
        assert_eq!(property("CartItemRequest", "quantity")["type"], "integer");
        assert_eq!(required("CartItemRequest"), ["variant_id", "quantity"]);
        assert_eq!(property("FavoriteRequest", "product_id")["format"], "uuid");
        assert_eq!(property("ReadRequest", "seq")["type"], "integer");
        assert_eq!(property("ReviewRequest", "rating")["maximum"], 5);
        assert_eq!(property("BlockRequest", "user_id")["format"], "uuid");
        assert_eq!(property("SendRequest", "attachment_ids")["items"]["format"], "uuid");
        assert_eq!(property("ProductInput", "kind")["enum"], json!(["ready_made", "fabric", "accessory"]));
        assert_eq!(property("ProductInput", "price")["type"], "integer");
        assert_eq!(property("VariantInput", "id")["format"], "uuid");
        let payment = property("CheckoutRequest", "payment_method");
        assert_eq!(payment["enum"], json!(["pay_on_delivery", "paystack"]));
        // Required request fields are never documented as nullable.
        for (name, body) in spec.0["components"]["schemas"].as_object().unwrap() {
            for field in required(name) {
                let p = &body["properties"][&field];
                let nullable = p["type"].as_array().is_some_and(|t| t.contains(&json!("null")));
                assert!(!nullable || !name.ends_with("Request"), "{name}.{field}");
            }
        }
        // Creating a product requires what the server requires.
        let upload = &spec.0["paths"]["/shop/api/product/upload"]["post"]["requestBody"];
        let new_product = spec.resolve(&upload["content"]["application/json"]["schema"]);
        assert!(!spec.matches(new_product, &json!({"name": "Agbada"})));
        assert!(spec.matches(
            new_product,
            &json!({"name": "Agbada", "kind": "ready_made", "price": 100, "variants": [{"stock": 1}]})
        ));
        // Query parameters too.
        let list = &spec.0["paths"]["/shop/api/product/list"]["get"]["parameters"];
        let param = |name: &str| {
            let p = list.as_array().unwrap().iter().find(|p| p["name"] == name).unwrap();
            unwrap(&p["schema"])
        };
        assert_eq!(param("page")["type"], "integer");
        assert_eq!(param("in_stock")["type"], "boolean");
        assert_eq!(param("tailor")["format"], "uuid");
        assert!(param("ordering")["enum"].as_array().unwrap().contains(&json!("-price")));
    }

    async fn a_variant_price_delta_beyond_the_range_is_a_field_error(backend) {
        // Found by schemathesis: `i64::MIN.abs()` overflowed and the
        // connection dropped without an answer.
        let app = TestApp::spawn(backend).await;
        let ade = tailor(&app, "ade").await;
        for delta in [i64::MIN, i64::MAX] {
            let product = json!({
                "name": "Agbada", "kind": "ready_made", "price": 2_500_000,
                "variants": [{"size": "L", "stock": 1, "price_delta": delta}],
            });
            let upload = app.post_as(&ade.access, "/shop/api/product/upload/", product).await;
            let (status, body) = status_and_body(upload).await;
            assert_eq!(status, StatusCode::BAD_REQUEST, "{delta}: {body}");
            assert!(body["variants"].is_array(), "{body}");
        }
    }
}
