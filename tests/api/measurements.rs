//! Measurement profiles (`/tailor/api/measurements/`): kept in millimetres,
//! answered in the profile's unit, plausible ranges enforced in the
//! request's unit, every change a new immutable version, only the owner
//! sees them.

use reqwest::StatusCode;
use sea_orm::{ConnectionTrait, Database};
use serde_json::{Value, json};

use crate::both_backends;
use crate::helpers::{TestApp, TestUser, body_of, status_and_body};
use crate::spec_check::Spec;

const BASE: &str = "/tailor/api/measurements/";

async fn create(app: &TestApp, who: &TestUser, body: Value) -> (StatusCode, Value) {
    status_and_body(app.post_as(&who.access, BASE, body).await).await
}

async fn patch(app: &TestApp, who: &TestUser, id: &str, body: Value) -> (StatusCode, Value) {
    let response = app
        .client
        .patch(app.url(&format!("{BASE}{id}/")))
        .bearer_auth(&who.access)
        .json(&body)
        .send()
        .await
        .unwrap();
    status_and_body(response).await
}

async fn read(app: &TestApp, who: &TestUser, path: &str) -> (StatusCode, Value) {
    status_and_body(app.get_as(&who.access, &format!("{BASE}{path}")).await).await
}

async fn delete(app: &TestApp, who: &TestUser, id: &str) -> StatusCode {
    app.client
        .delete(app.url(&format!("{BASE}{id}/")))
        .bearer_auth(&who.access)
        .send()
        .await
        .unwrap()
        .status()
}

fn versions(history: &Value) -> Vec<i64> {
    history["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v["version"].as_i64().unwrap())
        .collect()
}

async fn spec(app: &TestApp) -> Spec {
    Spec(body_of(app.get("/api/openapi.json").await).await)
}

both_backends! {
    async fn a_customer_keeps_named_profiles_in_their_unit(backend) {
        let app = TestApp::spawn(backend).await;
        let spec = spec(&app).await;
        let ada = app.verified_user("ada").await;

        let (status, me) = create(&app, &ada, json!({
            "name": "  Me ", "note": "Taken by Ade, March", "chest": 96.5, "waist": 81, "height": "168.2"
        })).await;
        assert_eq!(status, StatusCode::CREATED, "{me}");
        spec.assert_documented("post", "/tailor/api/measurements", 201, &me);
        assert_eq!(me["name"], "Me");
        assert_eq!(me["unit"], "cm", "the default unit");
        assert_eq!(me["version"], 1);
        assert_eq!((me["chest"].clone(), me["waist"].clone(), me["height"].clone()), (json!(96.5), json!(81.0), json!(168.2)));
        assert!(me["inseam"].is_null() && me["neck"].is_null(), "not taken: null: {me}");
        for field in ["neck", "shoulder", "chest", "high_bust", "under_bust", "waist", "hip", "sleeve_length",
                      "bicep", "wrist", "shirt_length", "trouser_length", "inseam", "thigh", "knee", "ankle",
                      "crotch_depth", "back_length", "height"] {
            assert!(me.get(field).is_some(), "{field} in every answer");
        }
        let id = me["id"].as_str().unwrap().to_string();

        // A son's profile in inches: answered in inches, kept in millimetres.
        let (status, tobi) = create(&app, &ada, json!({"name": "My son Tobi", "unit": "in", "chest": 26.5, "inseam": 20})).await;
        assert_eq!(status, StatusCode::CREATED, "{tobi}");
        assert_eq!((tobi["unit"].clone(), tobi["chest"].clone(), tobi["inseam"].clone()), (json!("in"), json!(26.5), json!(20.0)));
        let tobi_id = tobi["id"].as_str().unwrap().to_string();
        // Switching the display unit converts what is shown, not what is kept.
        let (status, in_cm) = patch(&app, &ada, &tobi_id, json!({"unit": "cm"})).await;
        assert_eq!(status, StatusCode::OK, "{in_cm}");
        assert_eq!((in_cm["chest"].clone(), in_cm["inseam"].clone()), (json!(67.3), json!(50.8)));
        let (_, back) = patch(&app, &ada, &tobi_id, json!({"unit": "in"})).await;
        assert_eq!((back["chest"].clone(), back["inseam"].clone()), (json!(26.5), json!(20.0)));

        let (status, list) = read(&app, &ada, "").await;
        assert_eq!(status, StatusCode::OK);
        spec.assert_documented("get", "/tailor/api/measurements", 200, &list);
        assert_eq!(list["count"], 2);
        assert_eq!(list["results"][0]["name"], "My son Tobi", "newest first");
        let (_, page) = read(&app, &ada, "?page=2&page_size=1").await;
        assert_eq!(page["results"][0]["id"], id.as_str());
        assert!(page["next"].is_null() && page["previous"].is_string());
        assert_eq!(read(&app, &ada, "?page=3&page_size=1").await.0, StatusCode::NOT_FOUND);

        let (status, one) = read(&app, &ada, &format!("{id}/")).await;
        assert_eq!(status, StatusCode::OK);
        spec.assert_documented("get", "/tailor/api/measurements/{id}", 200, &one);
        assert_eq!(one["chest"], 96.5);

        // Partial change: only what is sent changes; null clears.
        let (status, changed) = patch(&app, &ada, &id, json!({"waist": 79.5, "height": null, "note": null})).await;
        assert_eq!(status, StatusCode::OK, "{changed}");
        spec.assert_documented("patch", "/tailor/api/measurements/{id}", 200, &changed);
        assert_eq!((changed["waist"].clone(), changed["chest"].clone()), (json!(79.5), json!(96.5)));
        assert!(changed["height"].is_null());
        assert_eq!(changed["note"], "");
        assert_eq!(changed["version"], 2);
        // Sending back what was read changes nothing and makes no version.
        let (status, same) = patch(&app, &ada, &id, changed.clone()).await;
        assert_eq!(status, StatusCode::OK, "{same}");
        assert_eq!(same["version"], 2);

        // The ranges are published, the same the server checks.
        let (status, ranges) = status_and_body(app.get("/tailor/api/measurements/ranges/").await).await;
        assert_eq!(status, StatusCode::OK);
        spec.assert_documented("get", "/tailor/api/measurements/ranges", 200, &ranges);
        let chest = ranges.as_array().unwrap().iter().find(|r| r["name"] == "chest").unwrap();
        assert_eq!((chest["min_mm"].clone(), chest["max_cm"].clone(), chest["min_in"].clone()), (json!(400), json!(200.0), json!(15.8)));
        assert_eq!(ranges.as_array().unwrap().len(), 19);

        assert_eq!(delete(&app, &ada, &id).await, StatusCode::NO_CONTENT);
        assert_eq!(read(&app, &ada, &format!("{id}/")).await.0, StatusCode::NOT_FOUND);
        assert_eq!(delete(&app, &ada, &id).await, StatusCode::NOT_FOUND);
        assert_eq!(read(&app, &ada, "").await.1["count"], 1);
    }

    async fn every_change_is_a_new_version_and_the_history_keeps_them_all(backend) {
        let app = TestApp::spawn(backend).await;
        let spec = spec(&app).await;
        let ada = app.verified_user("ada").await;
        let (_, me) = create(&app, &ada, json!({"name": "Me", "chest": 90})).await;
        let id = me["id"].as_str().unwrap().to_string();
        for (i, chest) in [91.0, 92.5, 94.0].iter().enumerate() {
            let (status, now) = patch(&app, &ada, &id, json!({"chest": chest})).await;
            assert_eq!(status, StatusCode::OK);
            assert_eq!(now["version"], i as i64 + 2);
        }
        patch(&app, &ada, &id, json!({"name": "Me, 2026"})).await;
        let (status, history) = read(&app, &ada, &format!("{id}/history/")).await;
        assert_eq!(status, StatusCode::OK, "{history}");
        spec.assert_documented("get", "/tailor/api/measurements/{id}/history", 200, &history);
        assert_eq!(history["count"], 5);
        assert_eq!(versions(&history), [5, 4, 3, 2, 1], "newest first");
        let chests: Vec<Value> = history["results"].as_array().unwrap().iter().map(|v| v["chest"].clone()).collect();
        assert_eq!(chests, [json!(94.0), json!(94.0), json!(92.5), json!(91.0), json!(90.0)]);
        assert_eq!(history["results"][0]["name"], "Me, 2026");
        assert_eq!(history["results"][4]["name"], "Me");
        let (_, page) = read(&app, &ada, &format!("{id}/history/?page=2&page_size=2")).await;
        assert_eq!(versions(&page), [3, 2]);

        // A deleted profile keeps its versions (for what points at them).
        assert_eq!(delete(&app, &ada, &id).await, StatusCode::NO_CONTENT);
        assert_eq!(read(&app, &ada, &format!("{id}/history/")).await.0, StatusCode::NOT_FOUND);
        let db = Database::connect(&app.database.url).await.unwrap();
        let kept = db.query_one(sea_orm::Statement::from_string(
            db.get_database_backend(),
            "SELECT COUNT(*) FROM measurement_versions WHERE profile_id IS NULL",
        )).await.unwrap().unwrap().try_get_by_index::<i64>(0).unwrap();
        assert_eq!(kept, 5);
        let _ = db.close().await;
    }

    async fn deleting_the_account_forgets_every_measurement_and_version(backend) {
        let app = TestApp::spawn(backend).await;
        let ada = app.verified_user("ada").await;
        let bola = app.verified_user("bola").await;
        let (_, me) = create(&app, &ada, json!({"name": "Me", "chest": 90})).await;
        let id = me["id"].as_str().unwrap().to_string();
        assert_eq!(patch(&app, &ada, &id, json!({"chest": 91})).await.0, StatusCode::OK);
        assert_eq!(create(&app, &bola, json!({"name": "Bola"})).await.0, StatusCode::CREATED);

        let deleted = app.client.delete(app.url("/auth/api/users/me/")).bearer_auth(&ada.access)
            .json(&json!({"password": crate::helpers::PASSWORD})).send().await.unwrap();
        assert_eq!(deleted.status(), StatusCode::NO_CONTENT);

        let db = Database::connect(&app.database.url).await.unwrap();
        let count = |table: &'static str| {
            let db = &db;
            async move {
                db.query_one(sea_orm::Statement::from_string(
                    db.get_database_backend(),
                    format!("SELECT COUNT(*) FROM {table}"),
                )).await.unwrap().unwrap().try_get_by_index::<i64>(0).unwrap()
            }
        };
        assert_eq!(count("measurement_profiles").await, 1, "only bola's profile is left");
        assert_eq!(count("measurement_versions").await, 1, "and only its version");
        let _ = db.close().await;
    }

    async fn concurrent_changes_each_get_their_own_version(backend) {
        let app = TestApp::spawn(backend).await;
        let ada = app.verified_user("ada").await;
        let (_, me) = create(&app, &ada, json!({"name": "Me"})).await;
        let id = me["id"].as_str().unwrap().to_string();
        let fields = ["neck", "chest", "waist", "hip", "bicep", "wrist", "thigh", "knee", "ankle", "inseam", "shoulder", "back_length"];
        let values = [38.0, 96.0, 80.0, 100.0, 30.0, 16.0, 55.0, 38.0, 22.0, 78.0, 45.0, 42.0];
        let mut handles = Vec::new();
        for (field, value) in fields.iter().zip(values) {
            let request = app.client.patch(app.url(&format!("{BASE}{id}/"))).bearer_auth(&ada.access)
                .json(&json!({ *field: value }));
            handles.push(tokio::spawn(async move { request.send().await.unwrap().status() }));
        }
        for handle in handles {
            assert_eq!(handle.await.unwrap(), StatusCode::OK);
        }
        let (_, now) = read(&app, &ada, &format!("{id}/")).await;
        assert_eq!(now["version"], 13, "one version per change");
        for (field, value) in fields.iter().zip(values) {
            assert_eq!(now[field], json!(value), "no change was lost: {field}");
        }
        let (_, history) = read(&app, &ada, &format!("{id}/history/?page_size=100")).await;
        assert_eq!(versions(&history), (1..=13).rev().collect::<Vec<i64>>(), "distinct and gapless");
    }

    async fn implausible_or_malformed_values_are_field_errors(backend) {
        let app = TestApp::spawn(backend).await;
        let spec = spec(&app).await;
        let ada = app.verified_user("ada").await;

        let (status, body) = create(&app, &ada, json!({"chest": 96})).await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
        assert!(body["name"].is_array(), "name is required: {body}");
        spec.assert_documented("post", "/tailor/api/measurements", 400, &body);
        let (status, body) = create(&app, &ada, json!({"name": "x".repeat(101)})).await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
        assert!(body["name"][0].as_str().unwrap().contains("100"), "{body}");
        for name in [json!(""), json!("   "), json!(null), json!(5)] {
            let (status, body) = create(&app, &ada, json!({"name": name})).await;
            assert_eq!(status, StatusCode::BAD_REQUEST, "{name}");
            assert!(body["name"].is_array(), "{body}");
        }

        // Out of range, said in the request's unit.
        let (status, body) = create(&app, &ada, json!({"name": "Me", "chest": 250, "wrist": 3})).await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
        let chest = body["chest"][0].as_str().unwrap();
        assert!(chest.contains("40.0 and 200.0 cm"), "{chest}");
        assert!(body["wrist"][0].as_str().unwrap().contains("9.0 and 32.0 cm"), "{body}");
        let (status, body) = create(&app, &ada, json!({"name": "Me", "unit": "in", "chest": 96})).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "96 in is no chest");
        assert!(body["chest"][0].as_str().unwrap().contains("15.8 and 78.7 in"), "{body}");
        for hostile in [json!(-1), json!(0), json!(1e308), json!(-1e308), json!(i64::MAX), json!(u64::MAX)] {
            let (status, body) = create(&app, &ada, json!({"name": "Me", "height": hostile})).await;
            assert_eq!(status, StatusCode::BAD_REQUEST, "{hostile}: {body}");
            assert!(body["height"].is_array(), "{body}");
        }
        for not_a_number in [json!("tall"), json!(true), json!([170]), json!({"cm": 170}), json!("NaN"), json!("inf")] {
            let (status, body) = create(&app, &ada, json!({"name": "Me", "height": not_a_number})).await;
            assert_eq!(status, StatusCode::BAD_REQUEST, "{not_a_number}");
            assert_eq!(body["height"][0], "A valid number is required.", "{body}");
        }
        let (status, body) = create(&app, &ada, json!({"name": "Me", "unit": "mm", "chest": 960})).await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
        assert!(body["unit"][0].as_str().unwrap().contains("cm, in"), "{body}");
        let (status, body) = create(&app, &ada, json!({"name": "Me", "chset": 96})).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "a typo is not silently dropped");
        assert!(body["chset"].is_array(), "{body}");
        assert_eq!(read(&app, &ada, "").await.1["count"], 0, "nothing was created");

        // A change is checked in the unit it is written in, and refused whole.
        let (_, me) = create(&app, &ada, json!({"name": "Me", "chest": 96})).await;
        let id = me["id"].as_str().unwrap().to_string();
        let (status, body) = patch(&app, &ada, &id, json!({"unit": "in", "chest": 96, "waist": 32})).await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
        assert!(body["chest"].is_array() && body.get("waist").is_none(), "{body}");
        spec.assert_documented("patch", "/tailor/api/measurements/{id}", 400, &body);
        let (status, ok) = patch(&app, &ada, &id, json!({"unit": "in", "chest": 38, "waist": 32})).await;
        assert_eq!(status, StatusCode::OK, "{ok}");
        assert_eq!((ok["chest"].clone(), ok["waist"].clone()), (json!(38.0), json!(32.0)));
        let (_, history) = read(&app, &ada, &format!("{id}/history/")).await;
        assert_eq!(versions(&history), [2, 1], "the refused change made no version");
    }

    async fn only_the_owner_sees_a_profile(backend) {
        let app = TestApp::spawn(backend).await;
        let spec = spec(&app).await;
        let ada = app.verified_user("ada").await;
        let eve = app.verified_user_with("eve", json!({"role": "tailor"})).await;
        let (_, me) = create(&app, &ada, json!({"name": "Me", "chest": 96})).await;
        let id = me["id"].as_str().unwrap().to_string();

        let (status, body) = read(&app, &eve, &format!("{id}/")).await;
        assert_eq!(status, StatusCode::NOT_FOUND);
        spec.assert_documented("get", "/tailor/api/measurements/{id}", 404, &body);
        assert_eq!(read(&app, &eve, &format!("{id}/history/")).await.0, StatusCode::NOT_FOUND);
        assert_eq!(patch(&app, &eve, &id, json!({"chest": 50})).await.0, StatusCode::NOT_FOUND);
        assert_eq!(delete(&app, &eve, &id).await, StatusCode::NOT_FOUND);
        assert_eq!(read(&app, &eve, "").await.1["count"], 0);
        let (_, still) = read(&app, &ada, &format!("{id}/")).await;
        assert_eq!((still["chest"].clone(), still["version"].clone()), (json!(96.0), json!(1)));

        for bad in ["not-a-uuid/", "not-a-uuid/history/", &format!("{}/", uuid::Uuid::now_v7())] {
            assert_eq!(read(&app, &ada, bad).await.0, StatusCode::NOT_FOUND, "{bad}");
        }
        assert_eq!(patch(&app, &ada, "not-a-uuid", json!({})).await.0, StatusCode::NOT_FOUND);
        assert_eq!(app.get(BASE).await.status(), StatusCode::UNAUTHORIZED);
        assert_eq!(app.post(BASE, json!({"name": "Me"})).await.status(), StatusCode::UNAUTHORIZED);
    }
}
