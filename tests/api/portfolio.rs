//! Tailors' portfolios (issue 10): a tailor shows their work, edits,
//! reorders and deletes it; anyone pages through it; nobody else touches it.

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::both_backends;
use crate::concurrency::futures_join_all;
use crate::helpers::{TestApp, TestUser, body_of, status_and_body};
use crate::media::{JPEG, upload};
use crate::spec_check::Spec;

async fn tailor(app: &TestApp, name: &str) -> TestUser {
    app.verified_user_with(name, json!({"role": "tailor"}))
        .await
}

/// The id of a fresh upload of `who`'s.
async fn image(app: &TestApp, who: &TestUser) -> String {
    let (status, stored) = upload(app, who, "work.jpg", JPEG).await;
    assert_eq!(status, StatusCode::CREATED, "{stored}");
    stored["id"].as_str().unwrap().to_string()
}

async fn create(app: &TestApp, who: &TestUser, body: Value) -> (StatusCode, Value) {
    status_and_body(
        app.post_as(&who.access, "/tailor/api/portfolio/", body)
            .await,
    )
    .await
}

/// A created item (asserted).
async fn piece(app: &TestApp, who: &TestUser, title: &str, images: &[&String]) -> Value {
    let (status, item) = create(app, who, json!({"title": title, "image_ids": images})).await;
    assert_eq!(status, StatusCode::CREATED, "{item}");
    item
}

async fn patch(app: &TestApp, who: &TestUser, id: &str, body: Value) -> (StatusCode, Value) {
    let response = app
        .client
        .patch(app.url(&format!("/tailor/api/portfolio/{id}/")))
        .bearer_auth(&who.access)
        .json(&body)
        .send()
        .await
        .unwrap();
    status_and_body(response).await
}

async fn delete(app: &TestApp, who: &TestUser, id: &str) -> reqwest::Response {
    app.client
        .delete(app.url(&format!("/tailor/api/portfolio/{id}/")))
        .bearer_auth(&who.access)
        .send()
        .await
        .unwrap()
}

async fn reorder(app: &TestApp, who: &TestUser, ids: Value) -> reqwest::Response {
    app.post_as(
        &who.access,
        "/tailor/api/portfolio/reorder/",
        json!({"ids": ids}),
    )
    .await
}

/// One public page of `tailor_id`'s portfolio (asserted 200).
async fn portfolio(app: &TestApp, tailor_id: &str, query: &str) -> Value {
    let (status, page) = status_and_body(
        app.get(&format!("/tailor/api/{tailor_id}/portfolio/{query}"))
            .await,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{page}");
    page
}

fn titles(page: &Value) -> Vec<String> {
    page["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["title"].as_str().unwrap().to_string())
        .collect()
}

fn positions(page: &Value) -> Vec<i64> {
    page["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["position"].as_i64().unwrap())
        .collect()
}

async fn product(app: &TestApp, who: &TestUser, name: &str) -> String {
    let (status, product) = status_and_body(
        app.post_as(&who.access, "/shop/api/product/upload/", json!({
            "name": name, "kind": "ready_made", "price": 2_500_000, "variants": [{"size": "M", "stock": 3}],
        }))
        .await,
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{product}");
    product["id"].as_str().unwrap().to_string()
}

both_backends! {
    async fn a_tailor_shows_their_work_and_anyone_pages_through_it(backend) {
        let app = TestApp::spawn(backend).await;
        let ade = tailor(&app, "ade").await;
        let (front, back, detail) = (image(&app, &ade).await, image(&app, &ade).await, image(&app, &ade).await);
        let agbada = product(&app, &ade, "Royal agbada").await;

        // A first piece with everything: images in the order given.
        let (status, wedding) = create(&app, &ade, json!({
            "title": "  Wedding agbada  ", "description": "Hand-embroidered, royal blue",
            "tags": ["agbada", "Wedding", "wedding", " aso ebi "], "image_ids": [back, front, detail],
            "price_indication": 15_000_000, "product_id": agbada,
        })).await;
        assert_eq!(status, StatusCode::CREATED, "{wedding}");
        assert_eq!(wedding["title"], "Wedding agbada");
        assert_eq!(wedding["tags"], json!(["agbada", "Wedding", "aso ebi"]), "trimmed, repeats dropped");
        assert_eq!(wedding["image_ids"], json!([back, front, detail]));
        let urls = wedding["images"].as_array().unwrap();
        assert_eq!(urls.len(), 3);
        assert!(urls.iter().all(|u| u.as_str().unwrap().starts_with("/media/")), "{urls:?}");
        assert_eq!((wedding["position"].as_i64(), wedding["price_indication"].as_i64()), (Some(0), Some(15_000_000)));
        assert_eq!(wedding["product_id"], agbada.as_str());
        assert_eq!(wedding["tailor_id"], ade.id.as_str());
        let served = app.get(urls[0].as_str().unwrap()).await;
        assert_eq!(served.status(), StatusCode::OK, "the first image URL serves the first image");

        // More pieces go to the end; the public page lists them in order.
        let kaftan = piece(&app, &ade, "Kaftan", &[&front]).await;
        let bubu = piece(&app, &ade, "Bubu", &[&detail, &front]).await;
        assert_eq!((kaftan["position"].as_i64(), bubu["position"].as_i64()), (Some(1), Some(2)));
        let all = portfolio(&app, &ade.id, "").await;
        assert_eq!(all["count"], 3);
        assert_eq!(titles(&all), ["Wedding agbada", "Kaftan", "Bubu"]);
        assert_eq!(all["results"][0]["images"], wedding["images"], "image URLs in order");
        assert_eq!(all["results"][0]["image_ids"], json!([back, front, detail]));
        assert_eq!(all["results"][2]["image_ids"], json!([detail, front]));

        // Paginated like the catalog.
        let first = portfolio(&app, &ade.id, "?page_size=2").await;
        assert_eq!((first["count"].as_u64(), titles(&first)), (Some(3), vec!["Wedding agbada".to_string(), "Kaftan".into()]));
        assert!(first["previous"].is_null());
        let next = first["next"].as_str().unwrap();
        assert!(next.contains("page=2") && next.contains("page_size=2"), "{next}");
        let second = body_of(app.client.get(next).send().await.unwrap()).await;
        assert_eq!(titles(&second), ["Bubu"]);
        assert!(second["next"].is_null() && second["previous"].is_string(), "{second}");
        let (status, past) = status_and_body(app.get(&format!("/tailor/api/{}/portfolio/?page=3&page_size=2", ade.id)).await).await;
        assert_eq!((status, past["detail"].as_str()), (StatusCode::NOT_FOUND, Some("Invalid page.")));

        // A partial edit changes only what is sent; image_ids replaces the list.
        let id = wedding["id"].as_str().unwrap();
        let (status, edited) = patch(&app, &ade, id, json!({"title": "Wedding agbada (2025)"})).await;
        assert_eq!(status, StatusCode::OK, "{edited}");
        assert_eq!(edited["title"], "Wedding agbada (2025)");
        assert_eq!((edited["description"].clone(), edited["tags"].clone()), (wedding["description"].clone(), wedding["tags"].clone()));
        assert_eq!((edited["image_ids"].clone(), edited["product_id"].clone()), (json!([back, front, detail]), json!(agbada)));
        let (status, edited) = patch(&app, &ade, id, json!({"image_ids": [detail], "tags": [], "price_indication": null, "product_id": null})).await;
        assert_eq!(status, StatusCode::OK, "{edited}");
        assert_eq!(edited["image_ids"], json!([detail]));
        assert_eq!(edited["images"].as_array().unwrap().len(), 1);
        assert_eq!(edited["tags"], json!([]));
        assert!(edited["price_indication"].is_null() && edited["product_id"].is_null(), "{edited}");
        assert_eq!(edited["position"], 0, "an edit keeps the place");

        // A deleted product's link no longer shows.
        let (status, linked) = patch(&app, &ade, id, json!({"product_id": agbada})).await;
        assert_eq!((status, linked["product_id"].as_str()), (StatusCode::OK, Some(agbada.as_str())));
        let gone = app.client.delete(app.url(&format!("/shop/api/product/delete/{agbada}/"))).bearer_auth(&ade.access).send().await.unwrap();
        assert_eq!(gone.status(), StatusCode::NO_CONTENT);
        assert!(portfolio(&app, &ade.id, "").await["results"][0]["product_id"].is_null());

        // Deleting leaves the others in order; a new piece still goes last.
        assert_eq!(delete(&app, &ade, kaftan["id"].as_str().unwrap()).await.status(), StatusCode::NO_CONTENT);
        assert_eq!(delete(&app, &ade, kaftan["id"].as_str().unwrap()).await.status(), StatusCode::NOT_FOUND);
        let last = piece(&app, &ade, "Senator suit", &[&back]).await;
        assert_eq!(last["position"], 3, "after the last, not in the gap");
        let all = portfolio(&app, &ade.id, "").await;
        assert_eq!(titles(&all), ["Wedding agbada (2025)", "Bubu", "Senator suit"]);

        // The uploads stay their owner's after their item is deleted.
        assert_eq!(delete(&app, &ade, bubu["id"].as_str().unwrap()).await.status(), StatusCode::NO_CONTENT);
        let reused = piece(&app, &ade, "Bubu again", &[&detail, &front]).await;
        assert_eq!(reused["image_ids"], json!([detail, front]));

        // Another tailor's portfolio is theirs alone; an empty one is an empty page.
        let bola = tailor(&app, "bola").await;
        let empty = portfolio(&app, &bola.id, "").await;
        assert_eq!((empty["count"].as_u64(), empty["results"].as_array().unwrap().len()), (Some(0), 0));
    }

    async fn only_the_owning_tailor_writes_a_portfolio(backend) {
        let app = TestApp::spawn(backend).await;
        let ade = tailor(&app, "ade").await;
        let bola = tailor(&app, "bola").await;
        let kemi = app.verified_user("kemi").await;
        let ades_image = image(&app, &ade).await;
        let item = piece(&app, &ade, "Agbada", &[&ades_image]).await;
        let id = item["id"].as_str().unwrap();

        // A customer has no portfolio, even with their own upload.
        let kemis_image = image(&app, &kemi).await;
        let (status, body) = create(&app, &kemi, json!({"title": "Mine", "image_ids": [kemis_image]})).await;
        assert_eq!((status, body["code"].as_str()), (StatusCode::FORBIDDEN, Some("permission_denied")), "{body}");
        let refused = reorder(&app, &kemi, json!([])).await;
        assert_eq!(refused.status(), StatusCode::FORBIDDEN);
        let (status, _) = status_and_body(app.get(&format!("/tailor/api/{}/portfolio/", kemi.id)).await).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "a customer has no portfolio page");
        let anonymous = app.post("/tailor/api/portfolio/", json!({"title": "x", "image_ids": [ades_image]})).await;
        assert_eq!(anonymous.status(), StatusCode::UNAUTHORIZED);

        // Another tailor, or a customer, can neither edit nor delete it: 403.
        for who in [&bola, &kemi] {
            let (status, body) = patch(&app, who, id, json!({"title": "Stolen"})).await;
            assert_eq!((status, body["code"].as_str()), (StatusCode::FORBIDDEN, Some("permission_denied")), "{body}");
            assert_eq!(delete(&app, who, id).await.status(), StatusCode::FORBIDDEN);
        }
        // Another tailor cannot slip it into their own order either.
        let bolas = piece(&app, &bola, "Buba", &[&image(&app, &bola).await]).await;
        let mixed = reorder(&app, &bola, json!([bolas["id"], id])).await;
        assert_eq!(mixed.status(), StatusCode::BAD_REQUEST);
        let shown = portfolio(&app, &ade.id, "").await;
        assert_eq!((titles(&shown), shown["results"][0]["position"].as_i64()), (vec!["Agbada".to_string()], Some(0)));

        // Unknown and malformed ids name nothing: 404.
        let unknown = uuid::Uuid::now_v7().to_string();
        for bad in [unknown.as_str(), "not-a-uuid", "1", "%00"] {
            let (status, _) = patch(&app, &ade, bad, json!({"title": "x"})).await;
            assert_eq!(status, StatusCode::NOT_FOUND, "{bad}");
            assert_eq!(delete(&app, &ade, bad).await.status(), StatusCode::NOT_FOUND, "{bad}");
            let (status, _) = status_and_body(app.get(&format!("/tailor/api/{bad}/portfolio/")).await).await;
            assert_eq!(status, StatusCode::NOT_FOUND, "{bad}");
        }
        let (status, body) = status_and_body(app.get(&format!("/tailor/api/{}/portfolio/?page=0", ade.id)).await).await;
        assert_eq!((status, body["detail"].as_str()), (StatusCode::NOT_FOUND, Some("Invalid page.")));
        let (status, body) = status_and_body(app.get(&format!("/tailor/api/{}/portfolio/?page_size=-1", ade.id)).await).await;
        assert_eq!((status, body["code"].as_str()), (StatusCode::BAD_REQUEST, Some("invalid_page_size")));
    }

    async fn bad_portfolio_input_is_refused_with_field_errors(backend) {
        let app = TestApp::spawn(backend).await;
        let ade = tailor(&app, "ade").await;
        let bola = tailor(&app, "bola").await;
        let mine = image(&app, &ade).await;
        let theirs = image(&app, &bola).await;
        let bolas_product = product(&app, &bola, "Bola's kaftan").await;
        let deleted_product = product(&app, &ade, "Withdrawn").await;
        let gone = app.client.delete(app.url(&format!("/shop/api/product/delete/{deleted_product}/"))).bearer_auth(&ade.access).send().await.unwrap();
        assert_eq!(gone.status(), StatusCode::NO_CONTENT);
        let eleven: Vec<String> = futures_join_all((0..11).map(|_| image(&app, &ade))).await;

        let valid = || json!({"title": "Agbada", "image_ids": [mine]});
        let with = |field: &str, value: Value| {
            let mut body = valid();
            body[field] = value;
            body
        };
        let cases: Vec<(Value, &str)> = vec![
            (json!({}), "title"),
            (json!({"image_ids": [mine]}), "title"),
            (json!({"title": "Agbada"}), "image_ids"),
            (with("title", json!("   ")), "title"),
            (with("title", json!("x".repeat(201))), "title"),
            (with("description", json!("x".repeat(5001))), "description"),
            (with("tags", json!((0..21).map(|i| format!("tag{i}")).collect::<Vec<_>>())), "tags"),
            (with("tags", json!(["agbada", " "])), "tags"),
            (with("tags", json!(["x".repeat(41)])), "tags"),
            (with("image_ids", json!([])), "image_ids"),
            (with("image_ids", json!(eleven)), "image_ids"),
            (with("image_ids", json!([theirs])), "image_ids"),
            (with("image_ids", json!([mine, mine])), "image_ids"),
            (with("image_ids", json!(["not-a-uuid"])), "image_ids"),
            (with("image_ids", json!([uuid::Uuid::now_v7()])), "image_ids"),
            (with("price_indication", json!(-1)), "price_indication"),
            (with("price_indication", json!(1_000_000_000_001_i64)), "price_indication"),
            (with("product_id", json!(bolas_product)), "product_id"),
            (with("product_id", json!(deleted_product)), "product_id"),
            (with("product_id", json!("not-a-uuid")), "product_id"),
            (with("product_id", json!(uuid::Uuid::now_v7())), "product_id"),
        ];
        for (body, field) in cases {
            let (status, errors) = create(&app, &ade, body.clone()).await;
            assert_eq!(status, StatusCode::BAD_REQUEST, "{body}: {errors}");
            assert!(errors[field].is_array(), "{field} in {errors}");
        }
        // Wrong types are unreadable requests.
        for (field, value) in [
            ("title", json!(5)), ("tags", json!("agbada")), ("image_ids", json!(mine)),
            ("image_ids", json!([1, 2])), ("price_indication", json!("cheap")),
            ("price_indication", json!(1.5)), ("price_indication", json!(1e30)), ("product_id", json!(7)),
        ] {
            let (status, body) = create(&app, &ade, with(field, value.clone())).await;
            assert_eq!((status, body["code"].as_str()), (StatusCode::BAD_REQUEST, Some("parse_error")), "{field}={value}: {body}");
        }
        let (status, body) = status_and_body(app.post_as(&ade.access, "/tailor/api/portfolio/", json!(["Agbada", [mine]])).await).await;
        assert_eq!((status, body["code"].as_str()), (StatusCode::BAD_REQUEST, Some("parse_error")));
        let huge = app.post_as(&ade.access, "/tailor/api/portfolio/", with("description", json!("x".repeat(2 * 1024 * 1024)))).await;
        assert_eq!(huge.status(), StatusCode::PAYLOAD_TOO_LARGE);
        assert_eq!(portfolio(&app, &ade.id, "").await["count"], 0, "nothing was written");

        // The same rules on edit, which changes nothing when refused.
        let item = piece(&app, &ade, "Agbada", &[&mine]).await;
        let id = item["id"].as_str().unwrap();
        for (body, field) in [
            (json!({"title": ""}), "title"),
            (json!({"image_ids": []}), "image_ids"),
            (json!({"image_ids": [theirs]}), "image_ids"),
            (json!({"price_indication": -5}), "price_indication"),
            (json!({"product_id": bolas_product}), "product_id"),
            (json!({"tags": ["ok", ""]}), "tags"),
        ] {
            let (status, errors) = patch(&app, &ade, id, body.clone()).await;
            assert_eq!(status, StatusCode::BAD_REQUEST, "{body}: {errors}");
            assert!(errors[field].is_array(), "{field} in {errors}");
        }
        let (status, body) = patch(&app, &ade, id, json!({"tags": "one"})).await;
        assert_eq!((status, body["code"].as_str()), (StatusCode::BAD_REQUEST, Some("parse_error")));
        let shown = portfolio(&app, &ade.id, "").await;
        assert_eq!(shown["results"][0]["title"], "Agbada");
        assert_eq!(shown["results"][0]["image_ids"], json!([mine]));
        // Zero is a price indication like any other.
        let (status, free) = patch(&app, &ade, id, json!({"price_indication": 0})).await;
        assert_eq!((status, free["price_indication"].as_i64()), (StatusCode::OK, Some(0)));
    }

    async fn a_tailor_reorders_their_whole_portfolio(backend) {
        let app = TestApp::spawn(backend).await;
        let ade = tailor(&app, "ade").await;
        let bola = tailor(&app, "bola").await;
        let img = image(&app, &ade).await;
        let mut ids = Vec::new();
        for title in ["A", "B", "C", "D"] {
            ids.push(piece(&app, &ade, title, &[&img]).await["id"].as_str().unwrap().to_string());
        }
        let bolas = piece(&app, &bola, "Bola's", &[&image(&app, &bola).await]).await["id"].as_str().unwrap().to_string();

        let new_order = json!([ids[2], ids[0], ids[3], ids[1]]);
        assert_eq!(reorder(&app, &ade, new_order).await.status(), StatusCode::NO_CONTENT);
        let shown = portfolio(&app, &ade.id, "").await;
        assert_eq!((titles(&shown), positions(&shown)), (vec!["C".to_string(), "A".into(), "D".into(), "B".into()], vec![0, 1, 2, 3]));

        // Every item exactly once, or nothing moves.
        let refused: Vec<Value> = vec![
            json!([ids[0], ids[1], ids[2]]),
            json!([ids[0], ids[1], ids[2], ids[3], bolas]),
            json!([ids[0], ids[1], ids[2], bolas]),
            json!([ids[0], ids[1], ids[2], ids[2]]),
            json!([ids[0], ids[1], ids[2], ids[3], ids[3]]),
            json!([ids[0], ids[1], ids[2], "not-a-uuid"]),
            json!([ids[0], ids[1], ids[2], uuid::Uuid::now_v7()]),
            json!([]),
        ];
        for ids in refused {
            let (status, body) = status_and_body(reorder(&app, &ade, ids.clone()).await).await;
            assert_eq!(status, StatusCode::BAD_REQUEST, "{ids}: {body}");
            assert!(body["ids"].is_array(), "{body}");
        }
        let (status, body) = status_and_body(app.post_as(&ade.access, "/tailor/api/portfolio/reorder/", json!({})).await).await;
        assert_eq!((status, body["ids"].is_array()), (StatusCode::BAD_REQUEST, true), "{body}");
        let (status, body) = status_and_body(reorder(&app, &ade, json!(ids[0])).await).await;
        assert_eq!((status, body["code"].as_str()), (StatusCode::BAD_REQUEST, Some("parse_error")));
        let (status, _) = status_and_body(reorder(&app, &ade, json!(vec![ids[0].clone(); 500])).await).await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
        let shown = portfolio(&app, &ade.id, "").await;
        assert_eq!((titles(&shown), positions(&shown)), (vec!["C".to_string(), "A".into(), "D".into(), "B".into()], vec![0, 1, 2, 3]), "unchanged");
        assert_eq!(portfolio(&app, &bola.id, "").await["results"][0]["position"], 0);

        // After a delete the positions close up again with the next reorder.
        assert_eq!(delete(&app, &ade, &ids[0]).await.status(), StatusCode::NO_CONTENT);
        assert_eq!(reorder(&app, &ade, json!([ids[1], ids[2], ids[3]])).await.status(), StatusCode::NO_CONTENT);
        let shown = portfolio(&app, &ade.id, "").await;
        assert_eq!((titles(&shown), positions(&shown)), (vec!["B".to_string(), "C".into(), "D".into()], vec![0, 1, 2]));
    }

    async fn concurrent_new_pieces_each_get_their_own_place(backend) {
        let app = TestApp::spawn(backend).await;
        let ade = tailor(&app, "ade").await;
        let img = image(&app, &ade).await;
        for round in 0..2 {
            // Twenty creates at once, with a reorder of what exists racing them.
            let existing: Vec<Value> = portfolio(&app, &ade.id, "?page_size=100").await["results"]
                .as_array().unwrap().iter().rev().map(|i| i["id"].clone()).collect();
            let creates = futures_join_all((0..20).map(|i| {
                let (app, ade, img) = (&app, &ade, &img);
                async move { create(app, ade, json!({"title": format!("r{round} piece {i}"), "image_ids": [img]})).await }
            }));
            let racing_reorder = async { reorder(&app, &ade, json!(existing)).await.status() };
            let (created, reordered) = tokio::join!(creates, racing_reorder);
            for (status, body) in &created {
                assert_eq!(*status, StatusCode::CREATED, "round {round}: {body}");
            }
            // The reorder names what existed before: it wins only if it ran before every create.
            assert!(matches!(reordered, StatusCode::NO_CONTENT | StatusCode::BAD_REQUEST), "{reordered}");
            let shown = portfolio(&app, &ade.id, "?page_size=100").await;
            let total = 20 * (round + 1);
            assert_eq!(shown["count"], total);
            let mut places = positions(&shown);
            places.dedup();
            assert_eq!(places.len(), total, "round {round}: no two pieces share a place: {places:?}");
            let mut new_places: Vec<i64> = created.iter().map(|(_, item)| item["position"].as_i64().unwrap()).collect();
            new_places.sort();
            let first_new = (total - 20) as i64;
            assert_eq!(new_places, (first_new..first_new + 20).collect::<Vec<_>>(), "round {round}: each new piece went last");
        }
    }

    async fn concurrent_edits_of_one_piece_leave_one_whole_image_list(backend) {
        let app = TestApp::spawn(backend).await;
        let ade = tailor(&app, "ade").await;
        let images: Vec<String> = futures_join_all((0..6).map(|_| image(&app, &ade))).await;
        let item = piece(&app, &ade, "Agbada", &[&images[0]]).await;
        let id = item["id"].as_str().unwrap();
        // Ten edits at once, each replacing the images with a different list.
        let lists: Vec<Value> = (0..10)
            .map(|i| json!([images[i % 6], images[(i + 1) % 6], images[(i + 2) % 6]]))
            .collect();
        let answers = futures_join_all(lists.iter().enumerate().map(|(i, list)| {
            let (app, ade) = (&app, &ade);
            async move { patch(app, ade, id, json!({"image_ids": list, "title": format!("take {i}")})).await }
        })).await;
        for (status, body) in &answers {
            assert_eq!(*status, StatusCode::OK, "{body}");
        }
        let shown = &portfolio(&app, &ade.id, "").await["results"][0];
        let take: usize = shown["title"].as_str().unwrap().trim_start_matches("take ").parse().unwrap();
        assert_eq!(shown["image_ids"], lists[take], "the last edit's title and its whole image list, never a mix");
    }

    async fn a_portfolio_holds_at_most_two_hundred_pieces(backend) {
        let app = TestApp::spawn(backend).await;
        let ade = tailor(&app, "ade").await;
        let img = image(&app, &ade).await;
        for batch in 0..10 {
            let created = futures_join_all((0..20).map(|i| {
                let (app, ade, img) = (&app, &ade, &img);
                async move { create(app, ade, json!({"title": format!("{batch}-{i}"), "image_ids": [img]})).await.0 }
            })).await;
            assert!(created.iter().all(|s| *s == StatusCode::CREATED), "{created:?}");
        }
        let (status, body) = create(&app, &ade, json!({"title": "One too many", "image_ids": [img]})).await;
        assert_eq!((status, body["code"].as_str()), (StatusCode::CONFLICT, Some("portfolio_full")), "{body}");
        // The whole portfolio can still be reordered in one request.
        let mut ids = Vec::new();
        for page in 1..=2 {
            let shown = portfolio(&app, &ade.id, &format!("?page_size=100&page={page}")).await;
            ids.extend(shown["results"].as_array().unwrap().iter().map(|i| i["id"].clone()));
        }
        ids.reverse();
        assert_eq!(reorder(&app, &ade, json!(ids)).await.status(), StatusCode::NO_CONTENT);
        let shown = portfolio(&app, &ade.id, "?page_size=1").await;
        assert_eq!((shown["count"].as_u64(), shown["results"][0]["id"].clone()), (Some(200), ids[0].clone()));
    }

    async fn portfolio_answers_match_the_spec(backend) {
        let app = TestApp::spawn(backend).await;
        let spec = Spec(body_of(app.get("/api/openapi.json").await).await);
        let ade = tailor(&app, "ade").await;
        let kemi = app.verified_user("kemi").await;
        let img = image(&app, &ade).await;
        let (item_path, list_path) = ("/tailor/api/portfolio/{item_id}", "/tailor/api/{tailor_id}/portfolio");

        let new_item = spec.resolve(&spec.0["paths"]["/tailor/api/portfolio"]["post"]["requestBody"]["content"]["application/json"]["schema"]);
        assert!(!spec.matches(new_item, &json!({"title": "Agbada"})), "image_ids is required");
        assert!(spec.matches(new_item, &json!({"title": "Agbada", "image_ids": [img], "price_indication": null})));

        let (status, item) = create(&app, &ade, json!({"title": "Agbada", "image_ids": [img], "tags": ["agbada"], "price_indication": 5000})).await;
        spec.assert_documented("post", "/tailor/api/portfolio", status.as_u16(), &item);
        let (status, body) = create(&app, &ade, json!({"title": ""})).await;
        spec.assert_documented("post", "/tailor/api/portfolio", status.as_u16(), &body);
        let (status, body) = create(&app, &kemi, json!({"title": "x", "image_ids": [img]})).await;
        spec.assert_documented("post", "/tailor/api/portfolio", status.as_u16(), &body);

        let id = item["id"].as_str().unwrap();
        for (who, body) in [(&ade, json!({"title": "Agbada II", "product_id": null})), (&ade, json!({"image_ids": []})), (&kemi, json!({}))] {
            let (status, answer) = patch(&app, who, id, body).await;
            spec.assert_documented("patch", item_path, status.as_u16(), &answer);
        }
        let (status, answer) = patch(&app, &ade, "not-a-uuid", json!({})).await;
        spec.assert_documented("patch", item_path, status.as_u16(), &answer);
        let (status, answer) = status_and_body(delete(&app, &kemi, id).await).await;
        spec.assert_documented("delete", item_path, status.as_u16(), &answer);
        let (status, answer) = status_and_body(reorder(&app, &ade, json!([])).await).await;
        spec.assert_documented("post", "/tailor/api/portfolio/reorder", status.as_u16(), &answer);
        let (status, answer) = status_and_body(reorder(&app, &kemi, json!([])).await).await;
        spec.assert_documented("post", "/tailor/api/portfolio/reorder", status.as_u16(), &answer);

        let page = portfolio(&app, &ade.id, "?page_size=1").await;
        spec.assert_documented("get", list_path, 200, &page);
        let (status, answer) = status_and_body(app.get(&format!("/tailor/api/{}/portfolio/", kemi.id)).await).await;
        spec.assert_documented("get", list_path, status.as_u16(), &answer);
    }
}
