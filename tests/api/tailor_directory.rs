//! The directory customers search: only named tailors with a verified email,
//! every filter and ordering, near-me with distances and a radius that
//! excludes the corners of its box, pages.

use reqwest::StatusCode;
use sea_orm::sea_query::Expr;
use sea_orm::{ColumnTrait, Database, DatabaseConnection, EntityTrait, QueryFilter};
use serde_json::{Value, json};

use atelier::storage::entities::tailor_profile;

use crate::avatar::set_avatar;
use crate::both_backends;
use crate::helpers::{PASSWORD, TestApp, TestUser, body_of, create_superuser, status_and_body};
use crate::media::{JPEG, upload};
use crate::tailor_profiles::add_portfolio_item;

/// Lagos Island, where the customer stands.
const LAGOS: &str = "6.5244,3.3792";

async fn tailor_named(app: &TestApp, username: &str, profile: Value) -> TestUser {
    let tailor = app
        .verified_user_with(username, json!({"role": "tailor"}))
        .await;
    let response = app
        .client
        .patch(app.url("/tailor/api/me/"))
        .bearer_auth(&tailor.access)
        .json(&profile)
        .send()
        .await
        .unwrap();
    let (status, body) = status_and_body(response).await;
    assert_eq!(status, StatusCode::OK, "{username}: {body}");
    tailor
}

async fn list(app: &TestApp, query: &str) -> Value {
    let (status, body) =
        status_and_body(app.get(&format!("/tailor/api/list/?{query}")).await).await;
    assert_eq!(status, StatusCode::OK, "{query}: {body}");
    body
}

fn names(page: &Value) -> Vec<String> {
    page["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["business_name"].as_str().unwrap().to_string())
        .collect()
}

async fn rejected(app: &TestApp, query: &str, field: &str) {
    let (status, body) =
        status_and_body(app.get(&format!("/tailor/api/list/?{query}")).await).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{query}: {body}");
    assert!(body[field].is_array(), "{query}: {body}");
}

async fn database(app: &TestApp) -> DatabaseConnection {
    Database::connect(&app.database.url).await.unwrap()
}

/// Rating and followers as the reviews' and follows' writers keep them.
async fn set_summary(
    db: &DatabaseConnection,
    who: &TestUser,
    avg_centi: i64,
    reviews: i64,
    followers: i64,
) {
    tailor_profile::Entity::update_many()
        .col_expr(
            tailor_profile::Column::RatingAvgCenti,
            Expr::value(avg_centi),
        )
        .col_expr(tailor_profile::Column::RatingCount, Expr::value(reviews))
        .col_expr(
            tailor_profile::Column::FollowersCount,
            Expr::value(followers),
        )
        .filter(tailor_profile::Column::UserId.eq(who.id.parse::<uuid::Uuid>().unwrap()))
        .exec(db)
        .await
        .unwrap();
}

/// Five tailors: three around Lagos (one in the corner of the 25 km box
/// but 31 km away), one in Kano, one in Abuja.
async fn five_tailors(app: &TestApp) -> [TestUser; 5] {
    let adire = tailor_named(app, "adire", json!({
        "business_name": "Adire House", "bio": "Hand-dyed adire", "specialties": ["Agbada"],
        "skills": ["bridal", "fashion_designer"], "years_of_experience": 12, "city": "Ikeja", "state": "Lagos",
        "latitude": 6.6018, "longitude": 3.3515, "home_visits": true, "home_visit_radius_km": 10, "price_from": 500_000
    })).await;
    let kano = tailor_named(app, "kano", json!({
        "business_name": "Kano Kaftans", "skills": ["menswear", "traditional_wear"], "years_of_experience": 3,
        "city": "Kano", "state": "Kano", "latitude": 12.0022, "longitude": 8.5920, "price_from": 200_000
    })).await;
    let lekki = tailor_named(app, "lekki", json!({
        "business_name": "Lekki Lace", "skills": ["womenswear", "bridal"], "years_of_experience": 7,
        "city": "Lekki", "state": "Lagos", "latitude": 6.4698, "longitude": 3.5852
    })).await;
    let abuja = tailor_named(app, "abuja", json!({
        "business_name": "Abuja Alterations 100%_off", "skills": ["alterations"], "city": "Garki", "state": "FCT",
        "latitude": 9.0765, "longitude": 7.3986, "price_from": 0
    })).await;
    let corner = tailor_named(app, "corner", json!({
        "business_name": "Corner Couture", "skills": ["menswear"], "years_of_experience": 1, "city": "Ikorodu",
        "state": "Lagos", "latitude": 6.7244, "longitude": 3.5792, "price_from": 300_000
    })).await;
    [adire, kano, lekki, abuja, corner]
}

both_backends! {
    async fn only_named_tailors_with_a_verified_email_are_listed(backend) {
        let app = TestApp::spawn(backend).await;
        // Registered as a tailor but the emailed code was never entered.
        let registered = app.post("/auth/api/register/", json!({
            "email": "gem@example.com", "username": "gem", "password": PASSWORD, "role": "tailor"
        })).await;
        assert_eq!(registered.status(), StatusCode::CREATED);
        let id: uuid::Uuid = body_of(registered).await["id"].as_str().unwrap().parse().unwrap();
        let db = database(&app).await;
        tailor_profile::Entity::update_many()
            .col_expr(tailor_profile::Column::BusinessName, Expr::value("Hidden Gem"))
            .col_expr(tailor_profile::Column::SearchText, Expr::value("hidden gem"))
            .filter(tailor_profile::Column::UserId.eq(id))
            .exec(&db)
            .await
            .unwrap();
        let _customer = app.verified_user("customer").await;
        let _unnamed = app.verified_user_with("unnamed", json!({"role": "tailor"})).await;
        let page = list(&app, "q=hidden").await;
        assert_eq!((page["count"].clone(), names(&page)), (json!(0), vec![]));
        assert_eq!(app.get(&format!("/tailor/api/detail/{id}/")).await.status(), StatusCode::NOT_FOUND);

        let code = app.code_from_email("gem@example.com", 1).await;
        assert_eq!(app.verify("gem@example.com", &code).await.status(), StatusCode::OK);
        let page = list(&app, "q=gem").await;
        assert_eq!(page["count"], 1);
        assert_eq!(names(&page), ["Hidden Gem"]);
        assert_eq!(page["results"][0]["id"], id.to_string());
        assert_eq!(page["results"][0]["user_id"], id.to_string());
        assert_eq!(app.get(&format!("/tailor/api/detail/{id}/")).await.status(), StatusCode::OK);
    }

    async fn every_filter_narrows_the_directory(backend) {
        let app = TestApp::spawn(backend).await;
        let [adire, _kano, _lekki, _abuja, _corner] = five_tailors(&app).await;
        let avatar = set_avatar(&app, &adire).await;
        let all = list(&app, "").await;
        assert_eq!(all["count"], 5);
        assert_eq!(names(&all), ["Corner Couture", "Abuja Alterations 100%_off", "Lekki Lace", "Kano Kaftans", "Adire House"], "newest first");
        let first = &all["results"][4];
        assert_eq!(first["avatar"], avatar.as_str());
        assert_eq!(first["skills"], json!(["fashion_designer", "bridal"]));
        assert_eq!(first["city"], "Ikeja");
        assert_eq!(first["state"], "Lagos");
        assert_eq!(first["years_of_experience"], 12);
        assert_eq!(first["rating"], json!({"average": 0.0, "count": 0}));
        assert_eq!(first["followers_count"], 0);
        assert_eq!(first["is_verified_tailor"], false);
        assert_eq!(first["cover_image"], Value::Null);
        assert!(first.get("distance_km").is_none(), "no distance without near: {first}");
        assert!(first.get("contact_phone").is_none() && first.get("latitude").is_none(), "{first}");

        for (query, expected) in [
            ("q=AGBADA", vec!["Adire House"]),
            ("q=hand-dyed", vec!["Adire House"]),
            ("q=100%25_", vec!["Abuja Alterations 100%_off"]),
            ("q=0%25", vec!["Abuja Alterations 100%_off"]),
            ("q=_", vec!["Abuja Alterations 100%_off"]),
            ("q=lace", vec!["Lekki Lace"]),
            ("skill=bridal", vec!["Lekki Lace", "Adire House"]),
            ("skill=Fashion%20designer", vec!["Adire House"]),
            ("skill=menswear&q=kano", vec!["Kano Kaftans"]),
            ("min_experience=7", vec!["Lekki Lace", "Adire House"]),
            ("exp=7", vec!["Lekki Lace", "Adire House"]),
            ("min_experience=12&exp=0", vec!["Adire House"]),
            ("location=lagos", vec!["Corner Couture", "Lekki Lace", "Adire House"]),
            ("loc=KANO", vec!["Kano Kaftans"]),
            ("location=garki", vec!["Abuja Alterations 100%_off"]),
            ("home_visits=true", vec!["Adire House"]),
            ("home_visits=false&location=lagos", vec!["Corner Couture", "Lekki Lace"]),
            ("location=lagos&skill=bridal&min_experience=10", vec!["Adire House"]),
            ("q=nobody", vec![]),
        ] {
            let page = list(&app, query).await;
            assert_eq!(names(&page), expected, "{query}");
            assert_eq!(page["count"], expected.len(), "{query}");
        }

        // Staff verify one tailor; `verified` filters on it.
        create_superuser(&app, "root");
        let staff = body_of(app.login("root", "Admin-Chalk-Marks-31").await).await;
        let staff = staff["access"].as_str().unwrap();
        let verified = app.post_as(staff, &format!("/tailor/api/{}/verify/", adire.id), json!({"is_verified_tailor": true})).await;
        assert_eq!(verified.status(), StatusCode::OK);
        assert_eq!(names(&list(&app, "verified=true").await), ["Adire House"]);
        assert_eq!(list(&app, "verified=false").await["count"], 4);
        assert_eq!(list(&app, "verified=1&skill=bridal").await["results"][0]["is_verified_tailor"], true);

        // Ratings as the reviews keep them.
        let db = database(&app).await;
        set_summary(&db, &adire, 450, 4, 0).await;
        assert_eq!(names(&list(&app, "min_rating=4.5").await), ["Adire House"]);
        assert_eq!(list(&app, "min_rating=4.51").await["count"], 0);
        assert_eq!(list(&app, "min_rating=0").await["count"], 5);

        for (query, field) in [
            ("skill=wizardry", "skill"), ("min_experience=-1", "min_experience"), ("exp=many", "exp"),
            ("min_rating=6", "min_rating"), ("min_rating=high", "min_rating"), ("verified=maybe", "verified"),
            ("home_visits=sometimes", "home_visits"), ("ordering=cheapest", "ordering"),
            ("ordering=distance", "ordering"), ("radius_km=5", "radius_km"),
        ] {
            rejected(&app, query, field).await;
        }
        let (status, body) = status_and_body(app.get("/tailor/api/list/?page_size=zero").await).await;
        assert_eq!((status, body["code"].clone()), (StatusCode::BAD_REQUEST, json!("invalid_page_size")));
    }

    async fn orderings_and_pages(backend) {
        let app = TestApp::spawn(backend).await;
        let [adire, kano, lekki, abuja, corner] = five_tailors(&app).await;
        let db = database(&app).await;
        set_summary(&db, &adire, 450, 4, 10).await;
        set_summary(&db, &kano, 480, 2, 3).await;
        set_summary(&db, &lekki, 450, 9, 25).await;
        set_summary(&db, &abuja, 300, 1, 0).await;
        set_summary(&db, &corner, 0, 0, 7).await;
        for (ordering, expected) in [
            ("-rating", ["Kano Kaftans", "Lekki Lace", "Adire House", "Abuja Alterations 100%_off", "Corner Couture"]),
            ("-reviews", ["Lekki Lace", "Adire House", "Kano Kaftans", "Abuja Alterations 100%_off", "Corner Couture"]),
            ("-followers", ["Lekki Lace", "Adire House", "Corner Couture", "Kano Kaftans", "Abuja Alterations 100%_off"]),
            ("-experience", ["Adire House", "Lekki Lace", "Kano Kaftans", "Corner Couture", "Abuja Alterations 100%_off"]),
            ("price_from", ["Abuja Alterations 100%_off", "Kano Kaftans", "Corner Couture", "Adire House", "Lekki Lace"]),
            ("-created", ["Corner Couture", "Abuja Alterations 100%_off", "Lekki Lace", "Kano Kaftans", "Adire House"]),
        ] {
            let page = list(&app, &format!("ordering={ordering}")).await;
            assert_eq!(names(&page), expected, "{ordering}");
        }
        let rated = list(&app, "ordering=-rating&page_size=1").await;
        assert_eq!(rated["results"][0]["rating"], json!({"average": 4.8, "count": 2}));

        // Pages of two, keeping the filters in the links.
        let first = list(&app, "ordering=-followers&page_size=2").await;
        assert_eq!(first["count"], 5);
        assert_eq!(first["previous"], Value::Null);
        let next = first["next"].as_str().unwrap();
        assert!(next.contains("ordering=-followers") && next.contains("page=2") && next.contains("page_size=2"), "{next}");
        let second = body_of(app.client.get(next).send().await.unwrap()).await;
        assert_eq!(names(&second), ["Corner Couture", "Kano Kaftans"]);
        let third = list(&app, "ordering=-followers&page_size=2&page=3").await;
        assert_eq!(names(&third), ["Abuja Alterations 100%_off"]);
        assert_eq!(third["next"], Value::Null);
        for page in ["4", "0", "x"] {
            let response = app.get(&format!("/tailor/api/list/?page_size=2&page={page}")).await;
            assert_eq!(response.status(), StatusCode::NOT_FOUND, "page {page}");
        }
    }

    async fn near_me_measures_the_distance_and_keeps_to_the_radius(backend) {
        let app = TestApp::spawn(backend).await;
        let [adire, ..] = five_tailors(&app).await;
        let page = list(&app, &format!("near={LAGOS}")).await;
        assert_eq!(names(&page), ["Adire House", "Lekki Lace"], "nearest first; the box's corner (31 km) is out");
        assert_eq!(page["count"], 2);
        let ikeja = page["results"][0]["distance_km"].as_f64().unwrap();
        let lekki = page["results"][1]["distance_km"].as_f64().unwrap();
        assert!((9.0..9.5).contains(&ikeja), "{ikeja}");
        assert!((23.0..24.0).contains(&lekki), "{lekki}");
        assert_eq!(page["results"][0]["id"], adire.id.as_str());

        assert_eq!(names(&list(&app, &format!("near={LAGOS}&radius_km=10")).await), ["Adire House"]);
        let wide = list(&app, &format!("near={LAGOS}&radius_km=35")).await;
        assert_eq!(names(&wide), ["Adire House", "Lekki Lace", "Corner Couture"]);
        let corner = wide["results"][2]["distance_km"].as_f64().unwrap();
        assert!((30.0..32.0).contains(&corner), "{corner}");
        // The Lagos–Abuja distance is about 525 km: beyond the largest radius.
        assert_eq!(list(&app, &format!("near={LAGOS}&radius_km=500")).await["count"], 3);
        assert_eq!(names(&list(&app, "near=9.0765,7.3986&radius_km=400").await), ["Abuja Alterations 100%_off", "Kano Kaftans"]);

        // Near-me with other filters, orderings and pages.
        assert_eq!(names(&list(&app, &format!("near={LAGOS}&radius_km=35&skill=menswear")).await), ["Corner Couture"]);
        assert_eq!(names(&list(&app, &format!("near={LAGOS}&radius_km=35&ordering=price_from")).await), ["Corner Couture", "Adire House", "Lekki Lace"]);
        assert_eq!(names(&list(&app, &format!("near={LAGOS}&radius_km=35&ordering=-experience")).await), ["Adire House", "Lekki Lace", "Corner Couture"]);
        let first = list(&app, &format!("near={LAGOS}&radius_km=35&ordering=distance&page_size=2")).await;
        assert_eq!(first["count"], 3);
        assert_eq!(names(&first), ["Adire House", "Lekki Lace"]);
        let second = body_of(app.client.get(first["next"].as_str().unwrap()).send().await.unwrap()).await;
        assert_eq!(names(&second), ["Corner Couture"]);
        assert!(second["results"][0]["distance_km"].is_number());
        let past = app.get(&format!("/tailor/api/list/?near={LAGOS}&page=3&page_size=2")).await;
        assert_eq!(past.status(), StatusCode::NOT_FOUND);

        // Near the poles and across the antimeridian nothing breaks.
        for near in ["89.99,179.9", "-90,0", "0,179.99", "0,-180"] {
            assert_eq!(list(&app, &format!("near={near}&radius_km=500")).await["count"], 0, "{near}");
        }
        for near in ["abc", "6.5", "91,3", "6.5,181", "6.5,3.3,1", "NaN,3", "inf,3", ",", "6.5;3.3"] {
            rejected(&app, &format!("near={near}"), "near").await;
        }
        for radius in ["0", "-5", "501", "far", "NaN"] {
            rejected(&app, &format!("near={LAGOS}&radius_km={radius}"), "radius_km").await;
        }
    }

    async fn many_concurrent_searches_agree(backend) {
        let app = TestApp::spawn(backend).await;
        five_tailors(&app).await;
        let queries = [
            format!("near={LAGOS}"), "q=agbada".to_string(), "skill=menswear".to_string(),
            "location=lagos&ordering=-rating".to_string(), format!("near={LAGOS}&radius_km=35&ordering=-experience"),
        ];
        let expected = [2, 1, 2, 3, 3];
        let requests = (0..60).map(|i| {
            let query = queries[i % queries.len()].clone();
            let app = &app;
            async move { (i % 5, list(app, &query).await) }
        });
        for (which, page) in futures_util::future::join_all(requests).await {
            assert_eq!(page["count"], expected[which], "{}", queries[which]);
            assert_eq!(page["results"].as_array().unwrap().len(), expected[which]);
        }
    }

    async fn the_cover_is_the_first_image_of_the_portfolio(backend) {
        let app = TestApp::spawn(backend).await;
        let [adire, kano, ..] = five_tailors(&app).await;
        let db = database(&app).await;
        let mut urls = Vec::new();
        let mut ids = Vec::new();
        for i in 0..3 {
            let (status, image) = upload(&app, &adire, &format!("w{i}.jpg"), JPEG).await;
            assert_eq!(status, StatusCode::CREATED);
            urls.push(image["url"].as_str().unwrap().to_string());
            ids.push(image["id"].as_str().unwrap().to_string());
        }
        // The first item has no image yet; the second's first image is the cover.
        add_portfolio_item(&db, &adire.id, 3, "Later", &[&ids[2]]).await;
        add_portfolio_item(&db, &adire.id, 1, "Sketch", &[]).await;
        add_portfolio_item(&db, &adire.id, 2, "Agbada", &[&ids[1], &ids[0]]).await;
        let page = list(&app, "q=adire").await;
        assert_eq!(page["results"][0]["cover_image"], urls[1].as_str());
        let near = list(&app, &format!("near={LAGOS}&radius_km=10")).await;
        assert_eq!(near["results"][0]["cover_image"], urls[1].as_str());
        let kano_page = list(&app, "q=kano").await;
        assert_eq!(kano_page["results"][0]["cover_image"], Value::Null, "{}", kano.id);
    }
}
