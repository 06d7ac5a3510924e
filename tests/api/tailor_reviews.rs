//! Reviews of tailors (issue 10): only customers a tailor served review them,
//! once each (a second review edits), the tailor answers each once, and the
//! rating summary always says what the reviews say, however they interleave.

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::avatar::{buy, deliver};
use crate::both_backends;
use crate::concurrency::futures_join_all;
use crate::helpers::{TestApp, TestUser, body_of, status_and_body};
use crate::media::{JPEG, upload};
use crate::spec_check::Spec;

async fn tailor(app: &TestApp, name: &str) -> TestUser {
    app.verified_user_with(name, json!({"role": "tailor"}))
        .await
}

/// A product of `who`'s with plenty of stock.
async fn product(app: &TestApp, who: &TestUser) -> Value {
    let (status, product) = status_and_body(
        app.post_as(&who.access, "/shop/api/product/upload/", json!({
            "name": "Kaftan", "kind": "ready_made", "price": 1_000_000, "variants": [{"size": "M", "stock": 100}],
        }))
        .await,
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{product}");
    product
}

/// Customers (registered at once) who each bought `product` from `tailor`
/// and had it delivered.
async fn served_customers(
    app: &TestApp,
    tailor: &TestUser,
    product: &Value,
    prefix: &str,
    n: usize,
) -> Vec<TestUser> {
    let names: Vec<String> = (0..n).map(|i| format!("{prefix}{i}")).collect();
    let customers = futures_join_all(names.iter().map(|name| app.verified_user(name))).await;
    for customer in &customers {
        let order = buy(app, customer, product, "first").await;
        deliver(app, tailor, &order).await;
    }
    customers
}

async fn move_order(app: &TestApp, who: &TestUser, order: &Value, status: &str) -> StatusCode {
    let id = order["id"].as_str().unwrap();
    app.client
        .patch(app.url(&format!("/shop/api/orders/{id}/status/")))
        .bearer_auth(&who.access)
        .json(&json!({"status": status}))
        .send()
        .await
        .unwrap()
        .status()
}

async fn review(app: &TestApp, who: &TestUser, body: Value) -> (StatusCode, Value) {
    status_and_body(app.post_as(&who.access, "/tailor/api/rating/", body).await).await
}

async fn edit(app: &TestApp, who: &TestUser, tailor_id: &str, body: Value) -> (StatusCode, Value) {
    let response = app
        .client
        .put(app.url(&format!("/tailor/api/rating/update/{tailor_id}/tailor/")))
        .bearer_auth(&who.access)
        .json(&body)
        .send()
        .await
        .unwrap();
    status_and_body(response).await
}

async fn reply(app: &TestApp, who: &TestUser, review_id: &str, text: Value) -> (StatusCode, Value) {
    let path = format!("/tailor/api/rating/{review_id}/reply/");
    status_and_body(
        app.post_as(&who.access, &path, json!({"reply": text}))
            .await,
    )
    .await
}

/// One page of a tailor's reviews (asserted 200).
async fn ratings(app: &TestApp, tailor_id: &str, query: &str) -> Value {
    let (status, page) = status_and_body(
        app.get(&format!("/tailor/api/{tailor_id}/ratings/{query}"))
            .await,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{page}");
    page
}

async fn image(app: &TestApp, who: &TestUser) -> Value {
    let (status, stored) = upload(app, who, "fit.jpg", JPEG).await;
    assert_eq!(status, StatusCode::CREATED, "{stored}");
    stored
}

/// The summary the ratings page shows, and the one its reviews say
/// (average in hundredths rounded half up, as the server keeps it).
async fn summary_and_truth(app: &TestApp, tailor_id: &str) -> (Value, Value) {
    let page = ratings(app, tailor_id, "?page_size=100").await;
    let stars: Vec<i64> = page["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["rating"].as_i64().unwrap())
        .collect();
    assert_eq!(
        page["count"].as_u64().unwrap() as usize,
        stars.len(),
        "one page holds them all"
    );
    let count = stars.len() as i64;
    let centi = if count == 0 {
        0
    } else {
        (stars.iter().sum::<i64>() * 100 + count / 2) / count
    };
    (
        page["rating"].clone(),
        json!({"average": centi as f64 / 100.0, "count": count}),
    )
}

both_backends! {
    async fn a_served_customer_reviews_edits_and_the_tailor_replies_once(backend) {
        let app = TestApp::spawn(backend).await;
        let ade = tailor(&app, "ade").await;
        let kaftan = product(&app, &ade).await;
        let kemi = served_customers(&app, &ade, &kaftan, "kemi", 1).await.remove(0);
        let avatar = image(&app, &kemi).await;
        let set_avatar = app.client.patch(app.url("/auth/api/users/me/")).bearer_auth(&kemi.access)
            .json(&json!({"avatar_id": avatar["id"]})).send().await.unwrap();
        assert_eq!(set_avatar.status(), StatusCode::OK);
        let (photo, fitting) = (image(&app, &kemi).await, image(&app, &kemi).await);

        let empty = ratings(&app, &ade.id, "").await;
        assert_eq!((empty["count"].clone(), empty["rating"].clone()), (json!(0), json!({"average": 0.0, "count": 0})));

        // The first review: 201, with the reviewer's public face and images in order.
        let (status, first) = review(&app, &kemi, json!({
            "tailor_id": ade.id, "rating": 4, "feedback": "  Lovely stitching.  ", "image_ids": [fitting["id"], photo["id"]],
        })).await;
        assert_eq!(status, StatusCode::CREATED, "{first}");
        assert_eq!((first["rating"].as_i64(), first["feedback"].as_str()), (Some(4), Some("Lovely stitching.")));
        assert_eq!((first["tailor_id"].as_str(), first["customer_id"].as_str()), (Some(ade.id.as_str()), Some(kemi.id.as_str())));
        assert_eq!(first["customer_username"], "kemi0");
        assert_eq!(first["customer_avatar"], avatar["url"]);
        assert_eq!(first["images"], json!([fitting["url"], photo["url"]]));
        assert!(first["reply"].is_null() && first["replied_at"].is_null(), "{first}");
        let page = ratings(&app, &ade.id, "").await;
        assert_eq!(page["rating"], json!({"average": 4.0, "count": 1}));
        assert_eq!(page["results"][0], first);

        // A second review edits the first: 200, one review, what is left out stays.
        let (status, edited) = review(&app, &kemi, json!({"tailor_id": ade.id, "rating": 5})).await;
        assert_eq!(status, StatusCode::OK, "{edited}");
        assert_eq!((edited["id"].clone(), edited["rating"].as_i64()), (first["id"].clone(), Some(5)));
        assert_eq!((edited["feedback"].as_str(), edited["images"].clone()), (Some("Lovely stitching."), first["images"].clone()));
        let page = ratings(&app, &ade.id, "").await;
        assert_eq!((page["count"].as_u64(), page["rating"].clone()), (Some(1), json!({"average": 5.0, "count": 1})));

        // The old PUT path edits the same review.
        let (status, put) = edit(&app, &kemi, &ade.id, json!({"rating": 3, "feedback": "Good, a little late.", "image_ids": []})).await;
        assert_eq!(status, StatusCode::OK, "{put}");
        assert_eq!((put["id"].clone(), put["rating"].as_i64(), put["images"].clone()), (first["id"].clone(), Some(3), json!([])));
        assert_eq!(ratings(&app, &ade.id, "").await["rating"], json!({"average": 3.0, "count": 1}));

        // Only the reviewed tailor answers, and only once.
        let id = first["id"].as_str().unwrap();
        let bola = tailor(&app, "bola").await;
        for who in [&bola, &kemi] {
            let (status, body) = reply(&app, who, id, json!("Thanks!")).await;
            assert_eq!((status, body["code"].as_str()), (StatusCode::FORBIDDEN, Some("permission_denied")), "{body}");
        }
        let (status, answered) = reply(&app, &ade, id, json!("  Thank you, Kemi!  ")).await;
        assert_eq!(status, StatusCode::OK, "{answered}");
        assert_eq!(answered["reply"], "Thank you, Kemi!");
        assert!(answered["replied_at"].is_string());
        let (status, body) = reply(&app, &ade, id, json!("Changed my mind")).await;
        assert_eq!((status, body["code"].as_str()), (StatusCode::CONFLICT, Some("already_replied")), "{body}");
        let page = ratings(&app, &ade.id, "").await;
        assert_eq!(page["results"][0]["reply"], "Thank you, Kemi!");

        // An edit after the reply keeps the reply.
        let (status, again) = review(&app, &kemi, json!({"tailor_id": ade.id, "rating": 4})).await;
        assert_eq!((status, again["reply"].as_str()), (StatusCode::OK, Some("Thank you, Kemi!")));

        // A reply needs words; unknown and malformed reviews are 404.
        for (text, _) in [(json!(""), "blank"), (json!("   "), "blank"), (json!("x".repeat(2001)), "long"), (Value::Null, "missing")] {
            let (status, body) = reply(&app, &ade, id, text.clone()).await;
            assert_eq!(status, StatusCode::BAD_REQUEST, "{text}: {body}");
            assert!(body["reply"].is_array(), "{body}");
        }
        let (status, body) = reply(&app, &ade, id, json!(42)).await;
        assert_eq!((status, body["code"].as_str()), (StatusCode::BAD_REQUEST, Some("parse_error")));
        for bad in [uuid::Uuid::now_v7().to_string(), "not-a-uuid".to_string()] {
            let (status, _) = reply(&app, &ade, &bad, json!("Hello")).await;
            assert_eq!(status, StatusCode::NOT_FOUND, "{bad}");
        }
    }

    async fn only_customers_the_tailor_served_may_review_them(backend) {
        let app = TestApp::spawn(backend).await;
        let ade = tailor(&app, "ade").await;
        let bola = tailor(&app, "bola").await;
        let kaftan = product(&app, &ade).await;
        let bolas_kaftan = product(&app, &bola).await;
        let never = app.verified_user("never").await;
        let waiting = app.verified_user("waiting").await;
        let elsewhere = app.verified_user("elsewhere").await;
        let completed = app.verified_user("completed").await;

        // An order on its way, or delivered by another tailor, is not enough.
        let on_its_way = buy(&app, &waiting, &kaftan, "w1").await;
        assert_eq!(move_order(&app, &ade, &on_its_way, "shipped").await, StatusCode::OK);
        let from_bola = buy(&app, &elsewhere, &bolas_kaftan, "e1").await;
        deliver(&app, &bola, &from_bola).await;
        for who in [&never, &waiting, &elsewhere] {
            let (status, body) = review(&app, who, json!({"tailor_id": ade.id, "rating": 5})).await;
            assert_eq!((status, body["code"].as_str()), (StatusCode::FORBIDDEN, Some("permission_denied")), "{body}");
            let (status, _) = edit(&app, who, &ade.id, json!({"rating": 5})).await;
            assert_eq!(status, StatusCode::FORBIDDEN);
        }
        // A completed order counts like a delivered one.
        let done = buy(&app, &completed, &kaftan, "c1").await;
        deliver(&app, &ade, &done).await;
        assert_eq!(move_order(&app, &completed, &done, "completed").await, StatusCode::OK);
        let (status, body) = review(&app, &completed, json!({"tailor_id": ade.id, "rating": 5})).await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
        // ...and once delivered, the waiting customer may review too.
        assert_eq!(move_order(&app, &ade, &on_its_way, "delivered").await, StatusCode::OK);
        let (status, _) = edit(&app, &waiting, &ade.id, json!({"rating": 2})).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "PUT edits; there is nothing to edit yet");
        let (status, body) = review(&app, &waiting, json!({"tailor_id": ade.id, "rating": 2})).await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
        // The customer served by bola reviews bola, not ade.
        let (status, _) = review(&app, &elsewhere, json!({"tailor_id": bola.id, "rating": 4})).await;
        assert_eq!(status, StatusCode::CREATED);

        // Nobody reviews themselves.
        let (status, body) = review(&app, &ade, json!({"tailor_id": ade.id, "rating": 5})).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
        assert!(body["tailor_id"].is_array(), "{body}");
        let (status, body) = edit(&app, &ade, &ade.id, json!({"rating": 5})).await;
        assert_eq!((status, body["tailor_id"].is_array()), (StatusCode::BAD_REQUEST, true), "{body}");

        // A customer is not a tailor; unknown ids name nobody.
        let (status, _) = review(&app, &completed, json!({"tailor_id": never.id, "rating": 5})).await;
        assert_eq!(status, StatusCode::NOT_FOUND);
        let (status, _) = review(&app, &completed, json!({"tailor_id": uuid::Uuid::now_v7(), "rating": 5})).await;
        assert_eq!(status, StatusCode::NOT_FOUND);
        for bad in [uuid::Uuid::now_v7().to_string(), "not-a-uuid".into(), never.id.clone()] {
            let (status, _) = edit(&app, &completed, &bad, json!({"rating": 5})).await;
            assert_eq!(status, StatusCode::NOT_FOUND, "{bad}");
            let (status, _) = status_and_body(app.get(&format!("/tailor/api/{bad}/ratings/")).await).await;
            assert_eq!(status, StatusCode::NOT_FOUND, "{bad}");
        }
        let anonymous = app.post("/tailor/api/rating/", json!({"tailor_id": ade.id, "rating": 5})).await;
        assert_eq!(anonymous.status(), StatusCode::UNAUTHORIZED);

        let page = ratings(&app, &ade.id, "").await;
        assert_eq!((page["count"].as_u64(), page["rating"].clone()), (Some(2), json!({"average": 3.5, "count": 2})));
        assert_eq!(ratings(&app, &bola.id, "").await["rating"], json!({"average": 4.0, "count": 1}));
    }

    async fn bad_review_input_is_refused_and_writes_nothing(backend) {
        let app = TestApp::spawn(backend).await;
        let ade = tailor(&app, "ade").await;
        let kaftan = product(&app, &ade).await;
        let kemi = served_customers(&app, &ade, &kaftan, "kemi", 1).await.remove(0);
        let mine = image(&app, &kemi).await["id"].clone();
        let theirs = image(&app, &ade).await["id"].clone();
        let eleven: Vec<Value> = futures_join_all((0..11).map(|_| image(&app, &kemi))).await
            .into_iter().map(|m| m["id"].clone()).collect();
        let valid = || json!({"tailor_id": ade.id, "rating": 5});
        let with = |field: &str, value: Value| {
            let mut body = valid();
            body[field] = value;
            body
        };
        let without = |field: &str| {
            let mut body = valid();
            body.as_object_mut().unwrap().remove(field);
            body
        };
        let cases: Vec<(Value, &str)> = vec![
            (without("rating"), "rating"),
            (with("rating", json!(0)), "rating"),
            (with("rating", json!(6)), "rating"),
            (with("rating", json!(-3)), "rating"),
            (with("rating", json!(i64::MAX)), "rating"),
            (without("tailor_id"), "tailor_id"),
            (with("tailor_id", json!("not-a-uuid")), "tailor_id"),
            (with("feedback", json!("x".repeat(5001))), "feedback"),
            (with("image_ids", json!([theirs])), "image_ids"),
            (with("image_ids", json!([mine, mine])), "image_ids"),
            (with("image_ids", json!(["nope"])), "image_ids"),
            (with("image_ids", json!(eleven)), "image_ids"),
        ];
        for (body, field) in cases {
            let (status, errors) = review(&app, &kemi, body.clone()).await;
            assert_eq!(status, StatusCode::BAD_REQUEST, "{body}: {errors}");
            assert!(errors[field].is_array(), "{field} in {errors}");
        }
        for (field, value) in [
            ("rating", json!("five")), ("rating", json!(4.5)), ("rating", json!(1e40)), ("rating", json!(null)),
            ("tailor_id", json!(12)), ("feedback", json!(["a"])), ("image_ids", json!(mine)),
        ] {
            let (status, body) = review(&app, &kemi, with(field, value.clone())).await;
            if value.is_null() {
                // null is "not given": a field error, not an unreadable body.
                assert_eq!((status, body["rating"].is_array()), (StatusCode::BAD_REQUEST, true), "{body}");
            } else {
                assert_eq!((status, body["code"].as_str()), (StatusCode::BAD_REQUEST, Some("parse_error")), "{field}={value}: {body}");
            }
        }
        let huge = app.post_as(&kemi.access, "/tailor/api/rating/", with("feedback", json!("x".repeat(2 * 1024 * 1024)))).await;
        assert_eq!(huge.status(), StatusCode::PAYLOAD_TOO_LARGE);
        let (status, body) = status_and_body(app.post_as(&kemi.access, "/tailor/api/rating/", json!([ade.id, 5])).await).await;
        assert_eq!((status, body["code"].as_str()), (StatusCode::BAD_REQUEST, Some("parse_error")));
        let (status, body) = edit(&app, &kemi, &ade.id, json!({"rating": 9})).await;
        assert_eq!((status, body["rating"].is_array()), (StatusCode::BAD_REQUEST, true));
        let page = ratings(&app, &ade.id, "").await;
        assert_eq!((page["count"].as_u64(), page["rating"].clone()), (Some(0), json!({"average": 0.0, "count": 0})), "nothing was written");

        // An edit that is refused leaves the review as it was.
        let (status, _) = review(&app, &kemi, with("image_ids", json!([mine]))).await;
        assert_eq!(status, StatusCode::CREATED);
        let (status, _) = review(&app, &kemi, with("image_ids", json!([theirs]))).await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
        let page = ratings(&app, &ade.id, "").await;
        assert_eq!((page["results"][0]["images"].as_array().unwrap().len(), page["results"][0]["rating"].as_i64()), (1, Some(5)));
    }

    async fn a_tailors_ratings_page_newest_first(backend) {
        let app = TestApp::spawn(backend).await;
        let ade = tailor(&app, "ade").await;
        let kaftan = product(&app, &ade).await;
        let fans = served_customers(&app, &ade, &kaftan, "fan", 5).await;
        for (i, fan) in fans.iter().enumerate() {
            let (status, _) = review(&app, fan, json!({"tailor_id": ade.id, "rating": i % 5 + 1, "feedback": format!("review {i}")})).await;
            assert_eq!(status, StatusCode::CREATED);
        }
        let first = ratings(&app, &ade.id, "?page_size=2").await;
        let feedback = |page: &Value| -> Vec<String> {
            page["results"].as_array().unwrap().iter().map(|r| r["feedback"].as_str().unwrap().to_string()).collect()
        };
        assert_eq!((first["count"].as_u64(), feedback(&first)), (Some(5), vec!["review 4".to_string(), "review 3".into()]));
        assert_eq!(first["rating"], json!({"average": 3.0, "count": 5}), "the summary covers every page");
        assert!(first["previous"].is_null());
        let second = body_of(app.client.get(first["next"].as_str().unwrap()).send().await.unwrap()).await;
        assert_eq!(feedback(&second), ["review 2", "review 1"]);
        let third = body_of(app.client.get(second["next"].as_str().unwrap()).send().await.unwrap()).await;
        assert_eq!((feedback(&third), third["next"].is_null()), (vec!["review 0".to_string()], true));
        // An edit does not move a review up.
        let (status, _) = review(&app, &fans[0], json!({"tailor_id": ade.id, "rating": 5})).await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(feedback(&ratings(&app, &ade.id, "").await)[4], "review 0");
        for query in ["?page=4&page_size=2", "?page=0", "?page=x"] {
            let (status, body) = status_and_body(app.get(&format!("/tailor/api/{}/ratings/{query}", ade.id)).await).await;
            assert_eq!((status, body["detail"].as_str()), (StatusCode::NOT_FOUND, Some("Invalid page.")), "{query}");
        }
    }

    async fn concurrent_reviews_keep_the_tailors_rating_summary_true(backend) {
        let app = TestApp::spawn(backend).await;
        let ade = tailor(&app, "ade").await;
        let kaftan = product(&app, &ade).await;
        let fans = served_customers(&app, &ade, &kaftan, "fan", 10).await;
        for round in 0..5 {
            // Every customer taps twice at once with different stars: the first
            // round creates (one 201, one 200 each), later rounds edit.
            let answers = futures_join_all(fans.iter().enumerate().flat_map(|(i, fan)| {
                let (app, tailor_id) = (&app, &ade.id);
                [1, 3].map(move |tap| {
                    let rating = ((i * 7 + round * 3 + tap) % 5 + 1) as i64;
                    async move {
                        let body = json!({"tailor_id": tailor_id, "rating": rating, "feedback": format!("round {round}")});
                        (i, app.post_as(&fan.access, "/tailor/api/rating/", body).await.status())
                    }
                })
            })).await;
            let (shown, truth) = summary_and_truth(&app, &ade.id).await;
            assert_eq!(shown, truth, "round {round}: the summary says what the reviews say");
            assert_eq!(shown["count"], 10);
            for i in 0..fans.len() {
                let mut mine: Vec<StatusCode> = answers.iter().filter(|(who, _)| *who == i).map(|(_, s)| *s).collect();
                mine.sort();
                let expected = if round == 0 { [StatusCode::OK, StatusCode::CREATED] } else { [StatusCode::OK, StatusCode::OK] };
                assert_eq!(mine, expected, "round {round}, customer {i}: one review each");
            }
        }
        // Concurrent replies to one review: exactly one lands.
        let page = ratings(&app, &ade.id, "").await;
        let id = page["results"][0]["id"].as_str().unwrap().to_string();
        let replies = futures_join_all((0..10).map(|i| {
            let (app, ade, id) = (&app, &ade, &id);
            async move { reply(app, ade, id, json!(format!("thanks {i}"))).await.0 }
        })).await;
        let ok = replies.iter().filter(|s| **s == StatusCode::OK).count();
        let refused = replies.iter().filter(|s| **s == StatusCode::CONFLICT).count();
        assert_eq!((ok, refused), (1, 9), "{replies:?}");
    }

    async fn review_answers_match_the_spec(backend) {
        let app = TestApp::spawn(backend).await;
        let spec = Spec(body_of(app.get("/api/openapi.json").await).await);
        let ade = tailor(&app, "ade").await;
        let kaftan = product(&app, &ade).await;
        let kemi = served_customers(&app, &ade, &kaftan, "kemi", 1).await.remove(0);
        let stranger = app.verified_user("stranger").await;
        let photo = image(&app, &kemi).await;
        let (post, put) = ("/tailor/api/rating", "/tailor/api/rating/update/{tailor_id}/tailor");
        let (reply_path, list) = ("/tailor/api/rating/{review_id}/reply", "/tailor/api/{tailor_id}/ratings");

        let request = spec.resolve(&spec.0["paths"][post]["post"]["requestBody"]["content"]["application/json"]["schema"]);
        assert!(!spec.matches(request, &json!({"tailor_id": ade.id})), "rating is required");
        assert!(!spec.matches(request, &json!({"tailor_id": ade.id, "rating": 6})));
        assert!(spec.matches(request, &json!({"tailor_id": ade.id, "rating": 5, "image_ids": [photo["id"]]})));

        let (status, body) = edit(&app, &kemi, &ade.id, json!({"rating": 5})).await;
        spec.assert_documented("put", put, status.as_u16(), &body);
        for (who, body) in [
            (&kemi, json!({"tailor_id": ade.id, "rating": 5, "image_ids": [photo["id"]]})),
            (&kemi, json!({"tailor_id": ade.id, "rating": 4})),
            (&kemi, json!({"tailor_id": ade.id, "rating": 0})),
            (&kemi, json!({"tailor_id": stranger.id, "rating": 4})),
            (&stranger, json!({"tailor_id": ade.id, "rating": 4})),
        ] {
            let (status, answer) = review(&app, who, body).await;
            spec.assert_documented("post", post, status.as_u16(), &answer);
        }
        let (status, body) = edit(&app, &kemi, &ade.id, json!({"rating": 3})).await;
        spec.assert_documented("put", put, status.as_u16(), &body);
        let id = body["id"].as_str().unwrap();
        for (who, text) in [(&kemi, json!("hi")), (&ade, json!("")), (&ade, json!("Thanks")), (&ade, json!("Again"))] {
            let (status, answer) = reply(&app, who, id, text).await;
            spec.assert_documented("post", reply_path, status.as_u16(), &answer);
        }
        let (status, answer) = reply(&app, &ade, &uuid::Uuid::now_v7().to_string(), json!("x")).await;
        spec.assert_documented("post", reply_path, status.as_u16(), &answer);
        let page = ratings(&app, &ade.id, "").await;
        spec.assert_documented("get", list, 200, &page);
        let (status, answer) = status_and_body(app.get(&format!("/tailor/api/{}/ratings/?page=2", ade.id)).await).await;
        spec.assert_documented("get", list, status.as_u16(), &answer);
    }
}
