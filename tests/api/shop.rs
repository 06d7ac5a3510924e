use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::both_backends;
use crate::helpers::{TestApp, TestUser, body_of, create_superuser, status_and_body};

async fn tailor(app: &TestApp, name: &str) -> TestUser {
    app.verified_user_with(name, json!({"role": "tailor"}))
        .await
}

fn agbada() -> Value {
    json!({
        "name": "Agbada, hand-embroidered", "description": "Three-piece, for weddings",
        "kind": "ready_made", "material": "Cotton", "colors": ["Indigo", "White"],
        "price": 2_500_000, "discount_percent": 10,
        "variants": [
            {"size": "M", "color": "indigo", "stock": 3},
            {"size": "L", "color": "white", "stock": 0, "price_delta": 50_000}
        ]
    })
}

async fn upload(app: &TestApp, who: &TestUser, product: Value) -> Value {
    let (status, body) = status_and_body(
        app.post_as(&who.access, "/shop/api/product/upload/", product)
            .await,
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    body
}

async fn catalog(app: &TestApp, query: &str) -> Value {
    let (status, body) =
        status_and_body(app.get(&format!("/shop/api/product/list/?{query}")).await).await;
    assert_eq!(status, StatusCode::OK, "{query}: {body}");
    body
}

fn names(page: &Value) -> Vec<String> {
    page["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["name"].as_str().unwrap().to_string())
        .collect()
}

both_backends! {
    async fn staff_manage_categories_and_everyone_reads_them(backend) {
        let app = TestApp::spawn(backend).await;
        create_superuser(&app, "admin");
        let admin = body_of(app.login("admin", "Admin-Chalk-Marks-31").await).await;
        let admin = admin["access"].as_str().unwrap();
        let (status, gowns) = status_and_body(app.post_as(admin, "/shop/api/categories/", json!({"name": "Wedding Gowns"})).await).await;
        assert_eq!(status, StatusCode::CREATED);
        assert_eq!(gowns["slug"], "wedding-gowns");
        let (status, body) = status_and_body(app.post_as(admin, "/shop/api/categories/", json!({"name": "wedding gowns"})).await).await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
        assert!(body["name"].is_array());

        let customer = app.verified_user("cust").await;
        let (status, body) = status_and_body(app.post_as(&customer.access, "/shop/api/categories/", json!({"name": "Kaftans"})).await).await;
        assert_eq!(status, StatusCode::FORBIDDEN);
        assert_eq!(body["code"], "permission_denied");
        assert_eq!(app.post("/shop/api/categories/", json!({"name": "Kaftans"})).await.status(), StatusCode::UNAUTHORIZED);

        let list = body_of(app.get("/shop/api/categories/").await).await;
        assert_eq!(list, json!([{"id": gowns["id"], "name": "Wedding Gowns", "slug": "wedding-gowns"}]));
    }

    async fn a_tailor_uploads_a_product_with_variants(backend) {
        let app = TestApp::spawn(backend).await;
        let ade = tailor(&app, "ade").await;
        let product = upload(&app, &ade, agbada()).await;
        assert_eq!(product["tailor_id"], ade.id.as_str());
        assert_eq!(product["price"], 2_500_000);
        assert_eq!(product["effective_price"], 2_250_000);
        assert_eq!(product["currency"], "NGN");
        assert_eq!(product["colors"], json!(["indigo", "white"]));
        assert_eq!(product["in_stock"], true);
        assert_eq!(product["rating"], json!({"average": 0.0, "count": 0}));
        let variants = product["variants"].as_array().unwrap();
        assert_eq!(variants.len(), 2);
        assert_eq!(variants[1]["price"], 2_300_000, "effective price + delta");

        let id = product["id"].as_str().unwrap();
        let (status, detail) = status_and_body(app.get(&format!("/shop/api/product/{id}/")).await).await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(detail["name"], "Agbada, hand-embroidered");
        assert_eq!(detail["variants"], product["variants"]);

        let customer = app.verified_user("buyer").await;
        let (status, body) = status_and_body(app.post_as(&customer.access, "/shop/api/product/upload/", agbada()).await).await;
        assert_eq!(status, StatusCode::FORBIDDEN);
        assert_eq!(body["code"], "permission_denied");
        assert_eq!(app.post("/shop/api/product/upload/", agbada()).await.status(), StatusCode::UNAUTHORIZED);
    }

    async fn bad_products_are_field_errors(backend) {
        let app = TestApp::spawn(backend).await;
        let ade = tailor(&app, "ade").await;
        let (status, body) = status_and_body(app.post_as(&ade.access, "/shop/api/product/upload/", json!({})).await).await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
        for field in ["name", "kind", "price", "variants"] {
            assert!(body[field].is_array(), "{field}: {body}");
        }
        let mut bad = agbada();
        bad["kind"] = json!("robot");
        bad["price"] = json!(-5);
        bad["discount_percent"] = json!(99);
        bad["currency"] = json!("USD");
        bad["category_id"] = json!(uuid::Uuid::now_v7().to_string());
        bad["variants"] = json!([{"size": "M", "stock": -1}, {"size": "L"}]);
        let (status, body) = status_and_body(app.post_as(&ade.access, "/shop/api/product/upload/", bad).await).await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
        for field in ["kind", "price", "discount_percent", "currency", "category_id", "variants"] {
            assert!(body[field].is_array(), "{field}: {body}");
        }
        let mut huge = agbada();
        huge["price"] = json!(1e30);
        let response = app.post_as(&ade.access, "/shop/api/product/upload/", huge).await;
        assert_eq!(response.status(), StatusCode::BAD_REQUEST);
        let mut too_big = agbada();
        too_big["price"] = json!(i64::MAX);
        let (status, body) = status_and_body(app.post_as(&ade.access, "/shop/api/product/upload/", too_big).await).await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
        assert!(body["price"].is_array());
    }

    async fn no_variant_can_cost_less_than_one_kobo(backend) {
        let app = TestApp::spawn(backend).await;
        let ade = tailor(&app, "ade").await;
        let create = |body: Value| app.post_as(&ade.access, "/shop/api/product/upload/", body);
        let base = json!({"name": "Cap", "kind": "accessory", "price": 1_000,
            "variants": [{"size": "M", "stock": 3}, {"size": "L", "stock": 3, "price_delta": -900}]});

        let mut free = base.clone();
        free["variants"][1]["price_delta"] = json!(-1_000);
        let (status, body) = status_and_body(create(free).await).await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
        assert_eq!(body, json!({"variants": ["Variant \"L\": it would cost 0 kobo after the discount; every variant must cost at least 1 kobo."]}));
        let mut discounted_to_nothing = base.clone();
        discounted_to_nothing["price"] = json!(1);
        discounted_to_nothing["discount_percent"] = json!(95);
        discounted_to_nothing["variants"] = json!([{"size": "M", "stock": 3}]);
        let (status, body) = status_and_body(create(discounted_to_nothing).await).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "1 kobo less 95% rounds down to 0");
        assert!(body["price"].is_array(), "{body}");
        assert_eq!(names(&catalog(&app, "").await).len(), 0, "nothing was created");

        let product = upload(&app, &ade, base).await;
        assert_eq!(product["variants"][1]["price"], 100);
        let id = product["id"].as_str().unwrap();
        let cheap = product["variants"][1]["id"].clone();
        let patch = |body: Value| app.client.patch(app.url(&format!("/shop/api/product/update/{id}/")))
            .bearer_auth(&ade.access).json(&body).send();
        for (body, field) in [
            (json!({"variants": [{"id": cheap, "price_delta": -1_000}]}), "variants"),
            (json!({"variants": [{"size": "XL", "stock": 1, "price_delta": -5_000}]}), "variants"),
            (json!({"price": 900}), "price"),
            (json!({"discount_percent": 95}), "discount_percent"),
            (json!({"discount_percent": 10}), "discount_percent"),
        ] {
            let (status, refused) = status_and_body(patch(body.clone()).await.unwrap()).await;
            assert_eq!(status, StatusCode::BAD_REQUEST, "{body}: {refused}");
            assert!(refused[field].is_array(), "{body}: {refused}");
        }
        let unchanged = body_of(app.get(&format!("/shop/api/product/{id}")).await).await;
        assert_eq!(unchanged["price"], 1_000, "a refused change changes nothing");
        assert_eq!(unchanged["variants"].as_array().unwrap().len(), 2);
        assert_eq!(unchanged["variants"][1]["price"], 100);

        // Raising the price and lowering the delta together is fine when the sum is.
        let (status, changed) = status_and_body(patch(json!({"price": 2_000, "discount_percent": 50,
            "variants": [{"id": cheap, "price_delta": -999}]})).await.unwrap()).await;
        assert_eq!(status, StatusCode::OK, "{changed}");
        assert_eq!(changed["variants"][1]["price"], 1);
        assert_eq!(changed["effective_price"], 1_000);
    }

    async fn a_tailor_changes_and_deletes_only_their_own_products(backend) {
        let app = TestApp::spawn(backend).await;
        let ade = tailor(&app, "ade").await;
        let bola = tailor(&app, "bola").await;
        let product = upload(&app, &ade, agbada()).await;
        let id = product["id"].as_str().unwrap();
        let first_variant = product["variants"][0]["id"].clone();
        let patch = |who: &TestUser, body: Value| app.client.patch(app.url(&format!("/shop/api/product/update/{id}/")))
            .bearer_auth(&who.access).json(&body).send();

        let (status, updated) = status_and_body(patch(&ade, json!({
            "price": 3_000_000, "discount_percent": 0, "name": "Agbada (royal)",
            "variants": [{"id": first_variant, "stock": 7}, {"size": "XL", "color": "gold", "stock": 2}]
        })).await.unwrap()).await;
        assert_eq!(status, StatusCode::OK, "{updated}");
        assert_eq!(updated["effective_price"], 3_000_000);
        assert_eq!(updated["name"], "Agbada (royal)");
        let variants = updated["variants"].as_array().unwrap();
        assert_eq!(variants.len(), 3);
        assert_eq!(variants[0]["stock"], 7);

        let (status, body) = status_and_body(patch(&bola, json!({"price": 1})).await.unwrap()).await;
        assert_eq!(status, StatusCode::FORBIDDEN);
        assert_eq!(body["code"], "permission_denied");
        let other = upload(&app, &bola, agbada()).await;
        let foreign_variant = other["variants"][0]["id"].clone();
        let (status, body) = status_and_body(patch(&ade, json!({"variants": [{"id": foreign_variant, "stock": 1}]})).await.unwrap()).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");

        let delete = |who: &TestUser, id: String| app.client.delete(app.url(&format!("/shop/api/product/delete/{id}/")))
            .bearer_auth(&who.access).send();
        assert_eq!(delete(&bola, id.to_string()).await.unwrap().status(), StatusCode::FORBIDDEN);
        assert_eq!(delete(&ade, id.to_string()).await.unwrap().status(), StatusCode::NO_CONTENT);
        assert_eq!(app.get(&format!("/shop/api/product/{id}")).await.status(), StatusCode::NOT_FOUND);
        assert_eq!(delete(&ade, id.to_string()).await.unwrap().status(), StatusCode::NOT_FOUND);
        assert_eq!(delete(&ade, "not-a-uuid".into()).await.unwrap().status(), StatusCode::NOT_FOUND);
        assert_eq!(names(&catalog(&app, "").await), ["Agbada, hand-embroidered"], "only Bola's is left");
    }

    async fn the_catalog_filters_orders_and_pages(backend) {
        let app = TestApp::spawn(backend).await;
        create_superuser(&app, "admin");
        let admin = body_of(app.login("admin", "Admin-Chalk-Marks-31").await).await;
        let category = body_of(app.post_as(admin["access"].as_str().unwrap(), "/shop/api/categories/", json!({"name": "Fabrics"})).await).await;
        let ade = tailor(&app, "ade").await;
        let bola = tailor(&app, "bola").await;
        upload(&app, &ade, agbada()).await;
        upload(&app, &ade, json!({"name": "Aso-oke 100% silk", "kind": "fabric", "material": "silk", "price": 800_000,
            "category_id": category["id"], "variants": [{"color": "gold", "stock": 40}]})).await;
        upload(&app, &bola, json!({"name": "Beaded cap", "kind": "accessory", "price": 150_000,
            "variants": [{"size": "58", "stock": 0}]})).await;
        upload(&app, &bola, json!({"name": "Hidden draft", "kind": "accessory", "price": 100, "is_active": false,
            "variants": [{"stock": 1}]})).await;

        assert_eq!(names(&catalog(&app, "").await), ["Beaded cap", "Aso-oke 100% silk", "Agbada, hand-embroidered"]);
        assert_eq!(names(&catalog(&app, "search=SILK").await), ["Aso-oke 100% silk"]);
        assert_eq!(names(&catalog(&app, "search=weddings").await), ["Agbada, hand-embroidered"], "description");
        assert_eq!(catalog(&app, "search=100%25").await["count"], 1, "LIKE wildcards are literal");
        assert_eq!(names(&catalog(&app, "category=fabrics").await), ["Aso-oke 100% silk"]);
        assert_eq!(names(&catalog(&app, &format!("category={}", category["id"].as_str().unwrap())).await), ["Aso-oke 100% silk"]);
        assert_eq!(names(&catalog(&app, "kind=accessory").await), ["Beaded cap"]);
        assert_eq!(names(&catalog(&app, "color=GOLD").await), ["Aso-oke 100% silk"]);
        assert_eq!(names(&catalog(&app, "color=white").await), ["Agbada, hand-embroidered"]);
        assert_eq!(names(&catalog(&app, "size=m").await), ["Agbada, hand-embroidered"]);
        assert_eq!(names(&catalog(&app, "material=cot").await), ["Agbada, hand-embroidered"]);
        assert_eq!(names(&catalog(&app, &format!("tailor={}", bola.id)).await), ["Beaded cap"]);
        assert_eq!(names(&catalog(&app, "min_price=200000&max_price=900000").await), ["Aso-oke 100% silk"]);
        assert_eq!(names(&catalog(&app, "in_stock=false").await), ["Beaded cap"]);
        assert_eq!(catalog(&app, "in_stock=true").await["count"], 2);
        assert_eq!(names(&catalog(&app, "ordering=price").await), ["Beaded cap", "Aso-oke 100% silk", "Agbada, hand-embroidered"]);
        assert_eq!(names(&catalog(&app, "ordering=-price").await), ["Agbada, hand-embroidered", "Aso-oke 100% silk", "Beaded cap"]);

        let page = catalog(&app, "page_size=2&ordering=price").await;
        assert_eq!(page["count"], 3);
        assert!(page["next"].as_str().unwrap().contains("page=2"));
        assert_eq!(names(&catalog(&app, "page_size=2&ordering=price&page=2").await), ["Agbada, hand-embroidered"]);
        assert_eq!(app.get("/shop/api/product/list/?page=9").await.status(), StatusCode::NOT_FOUND);
        for bad in ["kind=robot", "ordering=name", "min_price=cheap", "in_stock=maybe", "tailor=bola"] {
            let response = app.get(&format!("/shop/api/product/list/?{bad}")).await;
            assert_eq!(response.status(), StatusCode::BAD_REQUEST, "{bad}");
        }

        // The tailor's own store shows hidden and out-of-stock products; customers have none.
        let store = body_of(app.get_as(&bola.access, "/shop/api/product/store/").await).await;
        assert_eq!(names(&store), ["Hidden draft", "Beaded cap"]);
        let customer = app.verified_user("cust").await;
        assert_eq!(app.get_as(&customer.access, "/shop/api/product/store/").await.status(), StatusCode::FORBIDDEN);
        let hidden = store["results"][0]["id"].as_str().unwrap();
        assert_eq!(app.get(&format!("/shop/api/product/{hidden}")).await.status(), StatusCode::NOT_FOUND);
    }

    async fn favourites_are_idempotent_and_drive_popularity(backend) {
        let app = TestApp::spawn(backend).await;
        let ade = tailor(&app, "ade").await;
        let first = upload(&app, &ade, agbada()).await;
        let second = upload(&app, &ade, json!({"name": "Cap", "kind": "accessory", "price": 100, "variants": [{"stock": 1}]})).await;
        let amaka = app.verified_user("amaka").await;
        let tobi = app.verified_user("tobi").await;
        async fn add(app: &TestApp, who: &TestUser, id: &Value) -> reqwest::Response {
            app.post_as(&who.access, "/shop/api/product/add-to-fav/", json!({"product_id": id})).await
        }

        assert_eq!(add(&app, &amaka, &first["id"]).await.status(), StatusCode::CREATED);
        assert_eq!(add(&app, &amaka, &first["id"]).await.status(), StatusCode::OK, "adding twice is harmless");
        assert_eq!(add(&app, &tobi, &first["id"]).await.status(), StatusCode::CREATED);
        assert_eq!(add(&app, &amaka, &second["id"]).await.status(), StatusCode::CREATED);
        assert_eq!(add(&app, &amaka, &json!(uuid::Uuid::now_v7().to_string())).await.status(), StatusCode::NOT_FOUND);
        assert_eq!(add(&app, &amaka, &json!("nope")).await.status(), StatusCode::NOT_FOUND);
        let (status, body) = status_and_body(app.post_as(&amaka.access, "/shop/api/product/add-to-fav/", json!({})).await).await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
        assert!(body["product_id"].is_array());

        let id = first["id"].as_str().unwrap();
        let detail = body_of(app.get(&format!("/shop/api/product/{id}")).await).await;
        assert_eq!(detail["favorites_count"], 2);
        assert_eq!(names(&catalog(&app, "ordering=-popularity").await), ["Agbada, hand-embroidered", "Cap"]);

        let mine = body_of(app.get_as(&amaka.access, "/shop/api/product/favorites/list/").await).await;
        assert_eq!(names(&mine), ["Cap", "Agbada, hand-embroidered"], "newest favourite first");
        let remove = app.client.delete(app.url(&format!("/shop/api/product/remove-from-fav/{id}/")))
            .bearer_auth(&amaka.access).send().await.unwrap();
        assert_eq!(remove.status(), StatusCode::NO_CONTENT);
        let again = app.client.delete(app.url(&format!("/shop/api/product/remove-from-fav/{id}/")))
            .bearer_auth(&amaka.access).send().await.unwrap();
        assert_eq!(again.status(), StatusCode::NO_CONTENT);
        assert_eq!(names(&body_of(app.get_as(&amaka.access, "/shop/api/product/favorites/list/").await).await), ["Cap"]);
        let detail = body_of(app.get(&format!("/shop/api/product/{id}")).await).await;
        assert_eq!(detail["favorites_count"], 1);
        assert_eq!(app.get("/shop/api/product/favorites/list/").await.status(), StatusCode::UNAUTHORIZED);
    }
}
