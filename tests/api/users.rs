use reqwest::StatusCode;
use serde_json::json;

use crate::both_backends;
use crate::helpers::{PASSWORD, TestApp, body_of, create_superuser, status_and_body};

both_backends! {
    async fn the_user_list_shows_verified_customers_and_tailors_only(backend) {
        let app = TestApp::spawn(backend).await;
        let me = app.verified_user("ada").await;
        app.verified_user_with("tailor_tobi", json!({"role": "tailor", "first_name": "Tobi"})).await;
        app.verified_user_with("tailor_kemi", json!({"role": "tailor", "last_name": "Adeyemi"})).await;
        app.register("pending@example.com", "pending").await;
        create_superuser(&app, "boss");
        // The superuser exists and can log in, but is not listed.
        assert_eq!(app.login("boss", "Admin-Chalk-Marks-31").await.status(), StatusCode::OK);

        let (status, page) = status_and_body(app.get_as(&me.access, "/auth/api/users/list/").await).await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(page["count"], 3);
        let names: Vec<&str> = page["results"].as_array().unwrap().iter()
            .map(|u| u["username"].as_str().unwrap()).collect();
        assert_eq!(names, ["ada", "tailor_tobi", "tailor_kemi"]);
        let first = &page["results"][0];
        assert!(first.get("email").is_none() && first.get("phone_number").is_none(), "public view: {first}");
        assert!(page["next"].is_null() && page["previous"].is_null());

        let tailors = body_of(app.get_as(&me.access, "/auth/api/users/list/?role=tailor").await).await;
        assert_eq!(tailors["count"], 2);
        let found = body_of(app.get_as(&me.access, "/auth/api/users/list/?search=ADEY").await).await;
        assert_eq!(found["count"], 1);
        assert_eq!(found["results"][0]["username"], "tailor_kemi");
        let by_first = body_of(app.get_as(&me.access, "/auth/api/users/list/?search=tob").await).await;
        assert_eq!(by_first["count"], 1);
        let literal = body_of(app.get_as(&me.access, "/auth/api/users/list/?search=%25").await).await;
        assert_eq!(literal["count"], 0, "LIKE wildcards in the search are literal");

        let bad_role = app.get_as(&me.access, "/auth/api/users/list/?role=admin").await;
        assert_eq!(bad_role.status(), StatusCode::BAD_REQUEST);
        assert_eq!(app.get("/auth/api/users/list/").await.status(), StatusCode::UNAUTHORIZED);
    }

    async fn the_user_list_paginates(backend) {
        let app = TestApp::spawn(backend).await;
        let me = app.verified_user("u0").await;
        for i in 1..5 {
            app.verified_user(&format!("u{i}")).await;
        }
        let (status, page1) = status_and_body(
            app.get_as(&me.access, "/auth/api/users/list/?page_size=2&role=customer").await).await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(page1["count"], 5);
        assert_eq!(page1["results"].as_array().unwrap().len(), 2);
        assert!(page1["previous"].is_null());
        let next = page1["next"].as_str().unwrap();
        assert!(next.contains("page=2") && next.contains("page_size=2") && next.contains("role=customer"), "{next}");

        let page3 = body_of(app.client.get(next.replace("page=2", "page=3")).bearer_auth(&me.access).send().await.unwrap()).await;
        assert_eq!(page3["results"].as_array().unwrap().len(), 1);
        assert!(page3["next"].is_null());
        assert!(page3["previous"].as_str().unwrap().contains("page=2"));

        for bad in ["page=4&page_size=2", "page=0", "page=abc", "page=last&page_size=100",
                    "page=100000000000000000&page_size=100", "page=99999999999999999999"] {
            let (status, body) = status_and_body(app.get_as(&me.access, &format!("/auth/api/users/list/?{bad}")).await).await;
            assert_eq!(status, StatusCode::NOT_FOUND, "{bad}");
            assert_eq!(body["detail"], "Invalid page.");
        }
        let capped = body_of(app.get_as(&me.access, "/auth/api/users/list/?page_size=100000").await).await;
        assert_eq!(capped["results"].as_array().unwrap().len(), 5);
        let bad_size = app.get_as(&me.access, "/auth/api/users/list/?page_size=-1").await;
        assert_eq!(bad_size.status(), StatusCode::BAD_REQUEST);
    }

    async fn user_detail_shows_the_owner_view_only_to_the_owner(backend) {
        let app = TestApp::spawn(backend).await;
        let ada = app.verified_user("ada").await;
        let ben = app.verified_user("ben").await;
        let own = body_of(app.get_as(&ada.access, &format!("/auth/api/users/detail/{}", ada.id)).await).await;
        assert_eq!(own["email"], "ada@example.com");
        assert_eq!(own["is_verified"], true);
        let (status, other) = status_and_body(app.get_as(&ada.access, &format!("/auth/api/users/detail/{}/", ben.id)).await).await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(other["username"], "ben");
        assert!(other.get("email").is_none());

        for id in [uuid::Uuid::now_v7().to_string(), "not-a-uuid".to_string(), "1".to_string()] {
            let (status, body) = status_and_body(app.get_as(&ada.access, &format!("/auth/api/users/detail/{id}")).await).await;
            assert_eq!(status, StatusCode::NOT_FOUND, "{id}");
            assert_eq!(body["code"], "not_found");
        }
        let unauthenticated = app.get(&format!("/auth/api/users/detail/{}", ben.id)).await;
        assert_eq!(unauthenticated.status(), StatusCode::UNAUTHORIZED);
    }

    async fn me_can_be_read_and_updated(backend) {
        let app = TestApp::spawn(backend).await;
        let user = app.verified_user("sola").await;
        app.verified_user("taken").await;
        let me = body_of(app.get_as(&user.access, "/auth/api/users/me/").await).await;
        assert_eq!(me["email"], "sola@example.com");
        assert_eq!(me["is_verified"], true);

        let patch = |body: serde_json::Value| app.client.patch(app.url("/auth/api/users/me/"))
            .bearer_auth(&user.access).json(&body).send();
        let (status, updated) = status_and_body(patch(json!({"first_name": "Sola", "last_name": "Ade",
            "username": "sola_ade", "phone_number": "+234 801 234 5678"})).await.unwrap()).await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(updated["username"], "sola_ade");
        assert_eq!(updated["first_name"], "Sola");
        assert_eq!(updated["phone_number"], "+234 801 234 5678");
        assert_eq!(app.login("sola_ade", PASSWORD).await.status(), StatusCode::OK);

        let (status, body) = status_and_body(patch(json!({"username": "TAKEN"})).await.unwrap()).await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
        assert_eq!(body["username"], json!(["A user with that username already exists."]));
        let (status, body) = status_and_body(patch(json!({"phone_number": "call me"})).await.unwrap()).await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
        assert!(body["phone_number"].is_array());
        let (status, body) = status_and_body(patch(json!({"username": ""})).await.unwrap()).await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
        assert!(body["username"].is_array());
    }
}
