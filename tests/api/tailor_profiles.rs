//! Tailor profiles: opened at registration or by a customer, read and edited
//! by their owner, shown to everyone in a public view that keeps the phone
//! and the exact position private, and verified by staff.

use reqwest::StatusCode;
use sea_orm::{ActiveValue::Set, Database, DatabaseConnection, EntityTrait};
use serde_json::{Value, json};

use atelier::storage::entities::{follow, portfolio_image, portfolio_item};

use crate::avatar::{buy, deliver, tailor_with_product};
use crate::both_backends;
use crate::helpers::{TestApp, TestUser, body_of, create_superuser, status_and_body};
use crate::media::{JPEG, upload};
use crate::spec_check::Spec;

async fn tailor(app: &TestApp, name: &str) -> TestUser {
    app.verified_user_with(name, json!({"role": "tailor"}))
        .await
}

async fn patch(app: &TestApp, token: &str, path: &str, body: Value) -> (StatusCode, Value) {
    let response = app
        .client
        .patch(app.url(path))
        .bearer_auth(token)
        .json(&body)
        .send()
        .await
        .unwrap();
    status_and_body(response).await
}

async fn me(app: &TestApp, who: &TestUser) -> (StatusCode, Value) {
    status_and_body(app.get_as(&who.access, "/tailor/api/me/").await).await
}

async fn staff_token(app: &TestApp) -> String {
    create_superuser(app, "root");
    let tokens = body_of(app.login("root", "Admin-Chalk-Marks-31").await).await;
    tokens["access"].as_str().unwrap().to_string()
}

/// The test's own connection to the server's database, for the rows other
/// areas' endpoints would write (follows, portfolio items).
pub async fn database(app: &TestApp) -> DatabaseConnection {
    Database::connect(&app.database.url).await.unwrap()
}

/// A portfolio item with these images, as the portfolio endpoints store it.
pub async fn add_portfolio_item(
    db: &DatabaseConnection,
    tailor: &str,
    position: i32,
    title: &str,
    media_ids: &[&str],
) -> uuid::Uuid {
    let id = uuid::Uuid::now_v7();
    let now = chrono::Utc::now();
    portfolio_item::Entity::insert(portfolio_item::ActiveModel {
        id: Set(id),
        tailor_id: Set(tailor.parse().unwrap()),
        title: Set(title.into()),
        description: Set(String::new()),
        tags: Set("[]".into()),
        price_indication: Set(None),
        product_id: Set(None),
        position: Set(position),
        created_at: Set(now),
        updated_at: Set(now),
    })
    .exec_without_returning(db)
    .await
    .unwrap();
    for (i, media) in media_ids.iter().enumerate() {
        portfolio_image::Entity::insert(portfolio_image::ActiveModel {
            item_id: Set(id),
            position: Set(i as i32),
            media_id: Set(media.parse().unwrap()),
        })
        .exec_without_returning(db)
        .await
        .unwrap();
    }
    id
}

fn full_profile() -> Value {
    json!({
        "business_name": "Adire House", "bio": "Hand-dyed adire, made to measure.",
        "skills": ["bridal", "Fashion designer", "traditional-wear", "bridal"],
        "specialties": ["Agbada", " aso ebi ", "agbada", ""],
        "years_of_experience": 12, "city": "Ikeja", "state": "Lagos", "country": "ng",
        "latitude": 6.601838, "longitude": 3.351486,
        "in_shop_fittings": true, "home_visits": true, "home_visit_radius_km": 15,
        "ships_nationwide": true, "price_from": 500_000, "turnaround_days": 14,
        "languages": ["English", "Yoruba", "english"], "contact_phone": "+234 803 123 4567"
    })
}

both_backends! {
    async fn registering_as_a_tailor_opens_an_empty_unlisted_profile(backend) {
        let app = TestApp::spawn(backend).await;
        let ade = tailor(&app, "ade").await;
        let (status, profile) = me(&app, &ade).await;
        assert_eq!(status, StatusCode::OK, "{profile}");
        assert_eq!(profile["id"], ade.id.as_str());
        assert_eq!(profile["user_id"], ade.id.as_str());
        assert_eq!(profile["username"], "ade");
        assert_eq!(profile["business_name"], Value::Null);
        assert_eq!(profile["country"], "NG");
        assert_eq!(profile["skills"], json!([]));
        assert_eq!(profile["listed"], false);
        assert_eq!(profile["rating"], json!({"average": 0.0, "count": 0}));
        // Unnamed: out of the directory and not shown to anyone.
        let detail = app.get(&format!("/tailor/api/detail/{}/", ade.id)).await;
        assert_eq!(detail.status(), StatusCode::NOT_FOUND);
        assert_eq!(body_of(app.get("/tailor/api/list/").await).await["count"], 0);

        let (status, named) = patch(&app, &ade.access, "/tailor/api/me/", json!({"business_name": "Ade Stitches"})).await;
        assert_eq!(status, StatusCode::OK, "{named}");
        assert_eq!(named["listed"], true);
        assert_eq!(app.get(&format!("/tailor/api/detail/{}/", ade.id)).await.status(), StatusCode::OK);
        let list = body_of(app.get("/tailor/api/list/").await).await;
        assert_eq!(list["count"], 1);
        assert_eq!(list["results"][0]["business_name"], "Ade Stitches");

        // A customer has no profile: /me/ says so with its own code.
        let buyer = app.verified_user("buyer").await;
        let (status, body) = me(&app, &buyer).await;
        assert_eq!(status, StatusCode::NOT_FOUND);
        assert_eq!(body["code"], "no_tailor_profile");
        let (status, body) = patch(&app, &buyer.access, "/tailor/api/me/", json!({"bio": "x"})).await;
        assert_eq!(status, StatusCode::NOT_FOUND);
        assert_eq!(body["code"], "no_tailor_profile");
        assert_eq!(app.get("/tailor/api/me/").await.status(), StatusCode::UNAUTHORIZED);
    }

    async fn a_customer_opens_a_profile_keeping_followers_and_purchases(backend) {
        let app = TestApp::spawn(backend).await;
        let (seller, product) = tailor_with_product(&app, "seller").await;
        let _ = seller;
        let ngozi = app.verified_user("ngozi").await;
        buy(&app, &ngozi, &product, "k-1").await;
        // Two people followed Ngozi before she had a profile.
        let db = database(&app).await;
        for fan in ["fan1", "fan2"] {
            let fan = app.verified_user(fan).await;
            follow::Entity::insert(follow::ActiveModel {
                follower_id: Set(fan.id.parse().unwrap()),
                followee_id: Set(ngozi.id.parse().unwrap()),
                created_at: Set(chrono::Utc::now()),
            })
            .exec_without_returning(&db)
            .await
            .unwrap();
        }

        let (status, body) = status_and_body(app.post_as(&ngozi.access, "/tailor/api/create/", json!({"bio": "no name"})).await).await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
        assert!(body["business_name"].is_array(), "{body}");

        let (status, opened) = status_and_body(app.post_as(&ngozi.access, "/tailor/api/create/", full_profile()).await).await;
        assert_eq!(status, StatusCode::CREATED, "{opened}");
        assert_eq!(opened["business_name"], "Adire House");
        assert_eq!(opened["followers_count"], 2);
        assert_eq!(opened["rating"], json!({"average": 0.0, "count": 0}));
        assert_eq!(opened["listed"], true);

        // The same token now acts as a tailor: the role is read per request.
        let account = body_of(app.get_as(&ngozi.access, "/auth/api/users/me/").await).await;
        assert_eq!(account["role"], "tailor");
        let (status, _) = status_and_body(app.post_as(&ngozi.access, "/shop/api/product/upload/", json!({
            "name": "Adire wrapper", "kind": "fabric", "price": 300_000, "variants": [{"size": "M", "stock": 2}]
        })).await).await;
        assert_eq!(status, StatusCode::CREATED);
        // Her purchase is still hers.
        let orders = body_of(app.get_as(&ngozi.access, "/shop/api/orders/").await).await;
        assert_eq!(orders["count"], 1);

        let (status, body) = status_and_body(app.post_as(&ngozi.access, "/tailor/api/create/", full_profile()).await).await;
        assert_eq!(status, StatusCode::CONFLICT);
        assert_eq!(body["code"], "already_tailor");
        let ade = tailor(&app, "ade").await;
        let (status, body) = status_and_body(app.post_as(&ade.access, "/tailor/api/create/", full_profile()).await).await;
        assert_eq!(status, StatusCode::CONFLICT, "registered tailors already have one: {body}");
        assert_eq!(app.post("/tailor/api/create/", full_profile()).await.status(), StatusCode::UNAUTHORIZED);
    }

    async fn racing_opens_make_one_profile(backend) {
        let app = TestApp::spawn(backend).await;
        let ngozi = app.verified_user("ngozi").await;
        let attempts = (0..12).map(|_| app.post_as(&ngozi.access, "/tailor/api/create/", full_profile()));
        let statuses: Vec<StatusCode> = futures_util::future::join_all(attempts)
            .await
            .into_iter()
            .map(|r| r.status())
            .collect();
        let created = statuses.iter().filter(|s| **s == StatusCode::CREATED).count();
        let refused = statuses.iter().filter(|s| **s == StatusCode::CONFLICT).count();
        assert_eq!((created, refused), (1, 11), "{statuses:?}");
        let (status, profile) = me(&app, &ngozi).await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(profile["business_name"], "Adire House");
    }

    async fn follows_racing_the_opening_of_a_profile_are_all_counted(backend) {
        let app = TestApp::spawn(backend).await;
        let ngozi = app.verified_user("ngozi").await;
        let mut fans = Vec::new();
        for i in 0..12 {
            fans.push(app.verified_user(&format!("fan{i}")).await);
        }
        // Half follow before, the other half (and unfollows of the first
        // half's first two) while she opens her profile.
        for fan in &fans[..6] {
            let followed = app.post_as(&fan.access, "/auth/api/follow/", json!({"user_id": ngozi.id})).await;
            assert_eq!(followed.status(), StatusCode::OK);
        }
        let follows = fans[6..].iter().map(|fan| app.post_as(&fan.access, "/auth/api/follow/", json!({"user_id": ngozi.id})));
        let unfollows = fans[..2].iter().map(|fan| app.post_as(&fan.access, "/auth/api/unfollow/", json!({"user_id": ngozi.id})));
        let open = app.post_as(&ngozi.access, "/tailor/api/create/", full_profile());
        let (opened, followed, unfollowed) = tokio::join!(
            open,
            futures_util::future::join_all(follows),
            futures_util::future::join_all(unfollows),
        );
        assert_eq!(opened.status(), StatusCode::CREATED);
        assert!(followed.iter().chain(&unfollowed).all(|r| r.status() == StatusCode::OK));

        let (_, profile) = me(&app, &ngozi).await;
        let followers = body_of(app.get_as(&ngozi.access, &format!("/auth/api/users/{}/followers/", ngozi.id)).await).await;
        assert_eq!(followers["count"], 10);
        assert_eq!(profile["followers_count"], 10, "the count is what the follows say");
    }

    async fn the_owner_edits_fields_and_null_clears_them(backend) {
        let app = TestApp::spawn(backend).await;
        let ade = tailor(&app, "ade").await;
        let (status, profile) = patch(&app, &ade.access, "/tailor/api/me/", full_profile()).await;
        assert_eq!(status, StatusCode::OK, "{profile}");
        assert_eq!(profile["skills"], json!(["fashion_designer", "bridal", "traditional_wear"]), "the list's order, no duplicates");
        assert_eq!(profile["specialties"], json!(["Agbada", "aso ebi"]), "trimmed, blanks and case-duplicates dropped");
        assert_eq!(profile["languages"], json!(["English", "Yoruba"]));
        assert_eq!(profile["country"], "NG");
        assert_eq!(profile["latitude"], 6.601838, "the owner sees the exact position");
        assert_eq!(profile["longitude"], 3.351486);
        assert_eq!(profile["contact_phone"], "+234 803 123 4567");
        assert_eq!(profile["home_visit_radius_km"], 15);
        assert_eq!(profile["price_from"], 500_000);
        assert_eq!(profile["turnaround_days"], 14);
        assert_eq!(profile["years_of_experience"], 12);
        assert_eq!(me(&app, &ade).await.1, profile, "GET answers what PATCH did");

        // The search text and skills follow every edit.
        let found = |query: &'static str| {
            let app = &app;
            async move { body_of(app.get(&format!("/tailor/api/list/?{query}")).await).await["count"].clone() }
        };
        assert_eq!(found("q=aso%20EBI").await, 1);
        assert_eq!(found("skill=bridal").await, 1);
        let (status, profile) = patch(&app, &ade.access, "/tailor/api/me/", json!({
            "specialties": ["Kaftan"], "skills": ["menswear"], "bio": null, "latitude": null, "longitude": null,
            "contact_phone": null, "price_from": null, "turnaround_days": null, "country": null,
            "home_visits": false, "home_visit_radius_km": null, "languages": null
        })).await;
        assert_eq!(status, StatusCode::OK, "{profile}");
        assert_eq!(profile["bio"], "");
        assert_eq!(profile["latitude"], Value::Null);
        assert_eq!(profile["contact_phone"], "");
        assert_eq!(profile["price_from"], Value::Null);
        assert_eq!(profile["languages"], json!([]));
        assert_eq!(profile["country"], "NG");
        assert_eq!(profile["business_name"], "Adire House", "absent fields stay");
        assert_eq!(profile["city"], "Ikeja");
        assert_eq!(found("q=aso%20ebi").await, 0);
        assert_eq!(found("q=kaftan").await, 1);
        assert_eq!(found("q=hand-dyed").await, 0, "the bio left the search text");
        assert_eq!(found("skill=bridal").await, 0);
        assert_eq!(found("skill=menswear").await, 1);

        // Clearing the name takes the profile out of the directory.
        let (_, profile) = patch(&app, &ade.access, "/tailor/api/me/", json!({"business_name": null})).await;
        assert_eq!(profile["listed"], false);
        assert_eq!(found("q=kaftan").await, 0);
    }

    async fn hostile_profile_input_is_a_field_error_and_changes_nothing(backend) {
        let app = TestApp::spawn(backend).await;
        let ade = tailor(&app, "ade").await;
        let (_, before) = patch(&app, &ade.access, "/tailor/api/me/", full_profile()).await;
        let eleven: Vec<String> = (0..11).map(|i| format!("tag {i}")).collect();
        let cases = [
            (json!({"latitude": 91, "longitude": 3.3}), "latitude"),
            (json!({"latitude": 6.5, "longitude": -180.5}), "longitude"),
            (json!({"latitude": null}), "latitude"),
            (json!({"longitude": "3.35"}), "longitude"),
            (json!({"specialties": eleven}), "specialties"),
            (json!({"specialties": ["x".repeat(41)]}), "specialties"),
            (json!({"specialties": "agbada"}), "specialties"),
            (json!({"skills": ["bridal", "wizardry"]}), "skills"),
            (json!({"skills": [1, 2]}), "skills"),
            (json!({"price_from": -1}), "price_from"),
            (json!({"price_from": 1.5}), "price_from"),
            (json!({"years_of_experience": "ten"}), "years_of_experience"),
            (json!({"years_of_experience": 81}), "years_of_experience"),
            (json!({"turnaround_days": 0}), "turnaround_days"),
            (json!({"home_visit_radius_km": 0}), "home_visit_radius_km"),
            (json!({"home_visit_radius_km": null}), "home_visit_radius_km"),
            (json!({"home_visits": "yes"}), "home_visits"),
            (json!({"business_name": "   "}), "business_name"),
            (json!({"business_name": "x".repeat(121)}), "business_name"),
            (json!({"business_name": {"a": 1}}), "business_name"),
            (json!({"country": "XX"}), "country"),
            (json!({"country": "NGA"}), "country"),
            (json!({"contact_phone": "call me maybe"}), "contact_phone"),
            (json!({"languages": [["nested"]]}), "languages"),
            (json!({"bio": "b".repeat(2001)}), "bio"),
        ];
        for (body, field) in cases {
            let (status, errors) = patch(&app, &ade.access, "/tailor/api/me/", body.clone()).await;
            assert_eq!(status, StatusCode::BAD_REQUEST, "{body}: {errors}");
            assert!(errors[field].is_array(), "{body}: {errors}");
        }
        // A huge list is refused whole, with one message, before its items are read.
        for field in ["specialties", "languages", "skills"] {
            let many: Vec<String> = (0..5_000).map(|i| format!("tag {i} {}", "y".repeat(40))).collect();
            let (status, errors) = patch(&app, &ade.access, "/tailor/api/me/", json!({field: many})).await;
            assert_eq!(status, StatusCode::BAD_REQUEST, "{field}");
            assert_eq!(errors[field].as_array().unwrap().len(), 1, "{field}: one message");
        }
        let long_tags = vec!["z".repeat(41); 8];
        let (_, errors) = patch(&app, &ade.access, "/tailor/api/me/", json!({"specialties": long_tags})).await;
        assert_eq!(errors["specialties"].as_array().unwrap().len(), 1, "{errors}");
        // Several at once are reported together.
        let (status, errors) = patch(&app, &ade.access, "/tailor/api/me/", json!({"latitude": -95, "price_from": -5, "skills": ["x"]})).await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
        assert_eq!(errors.as_object().unwrap().len(), 3, "{errors}");
        for body in ["[]", "\"Adire\"", "{"] {
            let response = app.client.patch(app.url("/tailor/api/me/")).bearer_auth(&ade.access)
                .header("content-type", "application/json").body(body).send().await.unwrap();
            assert_eq!(response.status(), StatusCode::BAD_REQUEST, "{body}");
        }
        assert_eq!(me(&app, &ade).await.1, before, "nothing changed");
    }

    async fn only_the_owner_updates_through_the_old_path(backend) {
        let app = TestApp::spawn(backend).await;
        let ade = tailor(&app, "ade").await;
        let bola = tailor(&app, "bola").await;
        let buyer = app.verified_user("buyer").await;
        let (status, profile) = patch(&app, &ade.access, &format!("/tailor/api/update/{}/", ade.id), json!({"business_name": "Ade Stitches"})).await;
        assert_eq!(status, StatusCode::OK, "{profile}");
        assert_eq!(profile["business_name"], "Ade Stitches");

        let (status, body) = patch(&app, &bola.access, &format!("/tailor/api/update/{}/", ade.id), json!({"business_name": "Stolen"})).await;
        assert_eq!(status, StatusCode::FORBIDDEN);
        assert_eq!(body["code"], "permission_denied");
        let (status, _) = patch(&app, &buyer.access, &format!("/tailor/api/update/{}/", ade.id), json!({"bio": "x"})).await;
        assert_eq!(status, StatusCode::FORBIDDEN);
        for id in [uuid::Uuid::now_v7().to_string(), "not-a-uuid".into(), buyer.id.clone()] {
            let (status, body) = patch(&app, &ade.access, &format!("/tailor/api/update/{id}/"), json!({"bio": "x"})).await;
            assert_eq!(status, StatusCode::NOT_FOUND, "{id}: {body}");
        }
        let anonymous = app.client.patch(app.url(&format!("/tailor/api/update/{}/", ade.id))).json(&json!({})).send().await.unwrap();
        assert_eq!(anonymous.status(), StatusCode::UNAUTHORIZED);
        assert_eq!(me(&app, &ade).await.1["business_name"], "Ade Stitches");
    }

    async fn concurrent_edits_of_different_fields_all_land(backend) {
        let app = TestApp::spawn(backend).await;
        let ade = tailor(&app, "ade").await;
        let edits = [
            json!({"business_name": "Ade Stitches"}), json!({"bio": "Bespoke"}),
            json!({"city": "Yaba"}), json!({"state": "Lagos"}), json!({"years_of_experience": 9}),
            json!({"price_from": 250_000}), json!({"turnaround_days": 10}),
            json!({"languages": ["Igbo"]}), json!({"contact_phone": "08031234567"}),
            json!({"specialties": ["kaftan"]}), json!({"skills": ["menswear"]}),
            json!({"ships_nationwide": true}), json!({"in_shop_fittings": true}),
            json!({"latitude": 6.5, "longitude": 3.38}), json!({"country": "GH"}),
        ];
        let requests = edits.iter().map(|body| patch(&app, &ade.access, "/tailor/api/me/", body.clone()));
        for (status, body) in futures_util::future::join_all(requests).await {
            assert_eq!(status, StatusCode::OK, "{body}");
        }
        let (_, profile) = me(&app, &ade).await;
        for edit in &edits {
            for (field, value) in edit.as_object().unwrap() {
                assert_eq!(&profile[field], value, "{field} was lost: {profile}");
            }
        }
        let found = body_of(app.get("/tailor/api/list/?q=kaftan&skill=menswear").await).await;
        assert_eq!(found["count"], 1, "search text and skills match the final fields");
    }

    async fn the_public_view_shows_the_work_and_hides_the_phone_and_the_door(backend) {
        let app = TestApp::spawn(backend).await;
        let (ade, product) = tailor_with_product(&app, "ade").await;
        patch(&app, &ade.access, "/tailor/api/me/", full_profile()).await;
        let buyer = app.verified_user("buyer").await;
        let delivered = buy(&app, &buyer, &product, "k-1").await;
        deliver(&app, &ade, &delivered).await;
        buy(&app, &buyer, &product, "k-2").await; // still processing: not counted

        let db = database(&app).await;
        let mut images = Vec::new();
        for i in 0..3 {
            let (status, image) = upload(&app, &ade, &format!("work{i}.jpg"), JPEG).await;
            assert_eq!(status, StatusCode::CREATED);
            images.push(image);
        }
        let id = |i: usize| images[i]["id"].as_str().unwrap().to_string();
        // Positions out of insertion order; the fifth item is past the preview.
        add_portfolio_item(&db, &ade.id, 2, "Aso ebi set", &[&id(2)]).await;
        add_portfolio_item(&db, &ade.id, 1, "Wedding agbada", &[&id(0), &id(1)]).await;
        add_portfolio_item(&db, &ade.id, 3, "Sketch only", &[]).await;
        add_portfolio_item(&db, &ade.id, 4, "Kaftan", &[&id(1)]).await;
        add_portfolio_item(&db, &ade.id, 5, "Fifth", &[&id(0)]).await;

        let (status, public) = status_and_body(app.get(&format!("/tailor/api/detail/{}/", ade.id)).await).await;
        assert_eq!(status, StatusCode::OK, "{public}");
        assert_eq!(public["latitude"], 6.6, "rounded to 2 decimals (6.601838)");
        assert_eq!(public["longitude"], 3.35);
        assert!(public.get("contact_phone").is_none(), "{public}");
        assert!(!public.to_string().contains("803 123"), "no phone anywhere: {public}");
        assert_eq!(public["completed_orders_count"], 1);
        assert_eq!(public["username"], "ade");
        assert_eq!(public["business_name"], "Adire House");
        assert_eq!(public["is_verified_tailor"], false);
        assert_eq!(public["followers_count"], 0);
        let preview = public["portfolio_preview"].as_array().unwrap();
        let titles: Vec<&str> = preview.iter().map(|p| p["title"].as_str().unwrap()).collect();
        assert_eq!(titles, ["Wedding agbada", "Aso ebi set", "Sketch only", "Kaftan"]);
        assert_eq!(preview[0]["image"], images[0]["url"], "the item's first image");
        assert_eq!(preview[1]["image"], images[2]["url"]);
        assert_eq!(preview[2]["image"], Value::Null);

        for path in [format!("/tailor/api/detail/{}/", uuid::Uuid::now_v7()), "/tailor/api/detail/nope/".into(), format!("/tailor/api/detail/{}/", buyer.id)] {
            assert_eq!(app.get(&path).await.status(), StatusCode::NOT_FOUND, "{path}");
        }
    }

    async fn staff_verify_tailors(backend) {
        let app = TestApp::spawn(backend).await;
        let ade = tailor(&app, "ade").await;
        patch(&app, &ade.access, "/tailor/api/me/", json!({"business_name": "Ade Stitches"})).await;
        let buyer = app.verified_user("buyer").await;
        let path = format!("/tailor/api/{}/verify/", ade.id);
        for who in [&ade, &buyer] {
            let (status, body) = status_and_body(app.post_as(&who.access, &path, json!({"is_verified_tailor": true})).await).await;
            assert_eq!(status, StatusCode::FORBIDDEN);
            assert_eq!(body["code"], "permission_denied");
        }
        assert_eq!(app.post(&path, json!({"is_verified_tailor": true})).await.status(), StatusCode::UNAUTHORIZED);

        let staff = staff_token(&app).await;
        for body in [json!({}), json!({"is_verified_tailor": "yes"}), json!({"is_verified_tailor": null})] {
            let (status, errors) = status_and_body(app.post_as(&staff, &path, body.clone()).await).await;
            assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
            assert!(errors["is_verified_tailor"].is_array(), "{errors}");
        }
        for id in [uuid::Uuid::now_v7().to_string(), "x".into(), buyer.id.clone()] {
            let response = app.post_as(&staff, &format!("/tailor/api/{id}/verify/"), json!({"is_verified_tailor": true})).await;
            assert_eq!(response.status(), StatusCode::NOT_FOUND, "{id}");
        }
        let (status, body) = status_and_body(app.post_as(&staff, &path, json!({"is_verified_tailor": true})).await).await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(body, json!({"id": ade.id, "is_verified_tailor": true}));
        assert_eq!(me(&app, &ade).await.1["is_verified_tailor"], true);
        let public = body_of(app.get(&format!("/tailor/api/detail/{}/", ade.id)).await).await;
        assert_eq!(public["is_verified_tailor"], true);
        // The owner cannot set it themselves through an edit.
        let (_, profile) = patch(&app, &ade.access, "/tailor/api/me/", json!({"is_verified_tailor": false})).await;
        assert_eq!(profile["is_verified_tailor"], true);
        let (status, body) = status_and_body(app.post_as(&staff, &path, json!({"is_verified_tailor": false})).await).await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(body["is_verified_tailor"], false);
    }

    async fn every_answer_matches_the_spec(backend) {
        let app = TestApp::spawn(backend).await;
        let spec = Spec(body_of(app.get("/api/openapi.json").await).await);
        let skills = &spec.0["components"]["schemas"]["Skill"]["enum"];
        assert_eq!(skills, &json!(["tailor", "fashion_designer", "alterations", "embroidery", "bridal",
            "menswear", "womenswear", "childrenswear", "traditional_wear"]));
        let ngozi = app.verified_user("ngozi").await;
        let (status, body) = me(&app, &ngozi).await;
        spec.assert_documented("get", "/tailor/api/me", status.as_u16(), &body);
        let (status, body) = status_and_body(app.post_as(&ngozi.access, "/tailor/api/create/", json!({"latitude": 100})).await).await;
        spec.assert_documented("post", "/tailor/api/create", status.as_u16(), &body);
        let (status, body) = status_and_body(app.post_as(&ngozi.access, "/tailor/api/create/", full_profile()).await).await;
        spec.assert_documented("post", "/tailor/api/create", status.as_u16(), &body);
        let (status, body) = status_and_body(app.post_as(&ngozi.access, "/tailor/api/create/", full_profile()).await).await;
        spec.assert_documented("post", "/tailor/api/create", status.as_u16(), &body);
        let (status, body) = me(&app, &ngozi).await;
        spec.assert_documented("get", "/tailor/api/me", status.as_u16(), &body);
        let (status, body) = patch(&app, &ngozi.access, "/tailor/api/me/", json!({"bio": null, "latitude": null, "longitude": null})).await;
        spec.assert_documented("patch", "/tailor/api/me", status.as_u16(), &body);
        let (status, body) = patch(&app, &ngozi.access, "/tailor/api/me/", json!({"skills": ["x"]})).await;
        spec.assert_documented("patch", "/tailor/api/me", status.as_u16(), &body);
        let ade = tailor(&app, "ade").await;
        let (status, body) = patch(&app, &ade.access, &format!("/tailor/api/update/{}/", ngozi.id), json!({})).await;
        spec.assert_documented("patch", "/tailor/api/update/{id}", status.as_u16(), &body);
        let (status, body) = patch(&app, &ngozi.access, &format!("/tailor/api/update/{}/", ngozi.id), full_profile()).await;
        spec.assert_documented("patch", "/tailor/api/update/{id}", status.as_u16(), &body);
        for id in [ngozi.id.as_str(), ade.id.as_str()] {
            let (status, body) = status_and_body(app.get(&format!("/tailor/api/detail/{id}/")).await).await;
            spec.assert_documented("get", "/tailor/api/detail/{id}", status.as_u16(), &body);
        }
        let (status, body) = status_and_body(app.post_as(&ade.access, &format!("/tailor/api/{}/verify/", ngozi.id), json!({"is_verified_tailor": true})).await).await;
        spec.assert_documented("post", "/tailor/api/{tailor_id}/verify", status.as_u16(), &body);
        let staff = staff_token(&app).await;
        let (status, body) = status_and_body(app.post_as(&staff, &format!("/tailor/api/{}/verify/", ngozi.id), json!({"is_verified_tailor": true})).await).await;
        spec.assert_documented("post", "/tailor/api/{tailor_id}/verify", status.as_u16(), &body);
        for query in ["", "near=6.5,3.4&radius_km=50", "near=north", "page=7", "ordering=-rating&verified=true"] {
            let (status, body) = status_and_body(app.get(&format!("/tailor/api/list/?{query}")).await).await;
            spec.assert_documented("get", "/tailor/api/list", status.as_u16(), &body);
        }
        let near = body_of(app.get("/tailor/api/list/?near=6.5,3.4&radius_km=50").await).await;
        assert!(near["results"][0]["distance_km"].is_number(), "{near}");
    }
}
