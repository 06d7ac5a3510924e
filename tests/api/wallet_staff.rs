//! Staff and tailors' money: manual adjustments with a reason (never taking
//! `available` below zero, each written with its audit row, on the tailor's
//! statement, safe to retry with an Idempotency-Key), a tailor's wallet as
//! staff see it, and the audit log with its filters.

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::both_backends;
use crate::commissions::tailor;
use crate::helpers::{TestApp, TestUser, body_of, create_superuser, status_and_body};
use crate::spec_check::Spec;
use crate::wallet_ledger::{assert_ledger_whole, statement, wallet};

const ACTIONS: &str = "/staff/api/actions/";

fn adjustments(tailor: &TestUser) -> String {
    format!("/staff/api/wallets/{}/adjustments/", tailor.id)
}

/// A staff member (an administrator made by the real CLI), with its id.
pub(crate) async fn staff_named(app: &TestApp, name: &str) -> TestUser {
    create_superuser(app, name);
    let tokens = body_of(app.login(name, "Admin-Chalk-Marks-31").await).await;
    let access = tokens["access"].as_str().unwrap().to_string();
    let me = body_of(app.get_as(&access, "/auth/api/users/me/").await).await;
    TestUser {
        id: me["id"].as_str().unwrap().to_string(),
        password: String::new(),
        access,
        refresh: String::new(),
    }
}

pub(crate) async fn adjust(
    app: &TestApp,
    staff: &TestUser,
    tailor: &TestUser,
    body: Value,
    key: Option<&str>,
) -> (StatusCode, Value) {
    let mut request = app
        .client
        .post(app.url(&adjustments(tailor)))
        .bearer_auth(&staff.access)
        .json(&body);
    if let Some(key) = key {
        request = request.header("Idempotency-Key", key);
    }
    status_and_body(request.send().await.unwrap()).await
}

async fn spec(app: &TestApp) -> Spec {
    Spec(body_of(app.get("/api/openapi.json").await).await)
}

async fn actions(app: &TestApp, staff: &TestUser, query: &str) -> Value {
    let (status, body) = status_and_body(
        app.get_as(&staff.access, &format!("{ACTIONS}?{query}"))
            .await,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    body
}

both_backends! {
    async fn staff_credit_and_debit_a_wallet_with_a_reason(backend) {
        let app = TestApp::spawn(backend).await;
        let spec = spec(&app).await;
        let root = staff_named(&app, "root").await;
        let ada = tailor(&app, "ada").await;

        let (status, body) = adjust(&app, &root, &ada,
            json!({"amount": 5_000, "account": "available", "reason": "Goodwill for a late payout"}), None).await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
        spec.assert_documented("post", "/staff/api/wallets/{tailor_id}/adjustments", 201, &body);
        assert_eq!((body["amount"].clone(), body["account"].clone(), body["wallet"]["available"].clone()),
            (json!(5_000), json!("available"), json!(5_000)));
        assert_eq!(body["tailor_id"], ada.id.as_str());
        assert_eq!(body["staff_id"], root.id.as_str());

        // More than there is: refused whole, nothing written.
        let (status, body) = adjust(&app, &root, &ada,
            json!({"amount": -5_001, "account": "available", "reason": "Clawback"}), None).await;
        assert_eq!(status, StatusCode::CONFLICT, "{body}");
        assert_eq!(body["code"], "insufficient_funds");
        spec.assert_documented("post", "/staff/api/wallets/{tailor_id}/adjustments", 409, &body);

        let (status, body) = adjust(&app, &root, &ada,
            json!({"amount": -2_000, "account": "available", "reason": "Duplicate credit reversed"}), None).await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
        // A debt: taken from later releases.
        let (status, _) = adjust(&app, &root, &ada,
            json!({"amount": -700, "account": "owed", "reason": "Courier fee"}), None).await;
        assert_eq!(status, StatusCode::CREATED);
        // Forgiving more debt than there is would make it a credit: refused.
        let (status, body) = adjust(&app, &root, &ada,
            json!({"amount": 701, "account": "owed", "reason": "Forgive"}), None).await;
        assert_eq!((status, body["code"].clone()), (StatusCode::CONFLICT, json!("insufficient_funds")));

        let w = wallet(&app, &ada).await;
        assert_eq!((w["available"].clone(), w["owed"].clone(), w["fees_paid"].clone()),
            (json!(3_000), json!(700), json!(0)), "{w}");
        // Staff read the same wallet.
        let (status, staff_view) = status_and_body(
            app.get_as(&root.access, &format!("/staff/api/wallets/{}/", ada.id)).await).await;
        assert_eq!(status, StatusCode::OK);
        spec.assert_documented("get", "/staff/api/wallets/{tailor_id}", 200, &staff_view);
        assert_eq!(staff_view, w);

        // On the statement, newest first, the reason as the memo.
        let (status, lines) = statement(&app, &ada, "kind=adjustment").await;
        assert_eq!(status, StatusCode::OK);
        let lines: Vec<(String, i64)> = lines["results"].as_array().unwrap().iter()
            .map(|l| (l["memo"].as_str().unwrap().to_string(), l["net"].as_i64().unwrap()))
            .collect();
        assert_eq!(lines, vec![
            ("Courier fee".to_string(), -700),
            ("Duplicate credit reversed".to_string(), -2_000),
            ("Goodwill for a late payout".to_string(), 5_000),
        ]);

        // One audit row per adjustment written, none for the refused ones.
        let log = actions(&app, &root, "action=wallet.adjust").await;
        spec.assert_documented("get", "/staff/api/actions", 200, &log);
        assert_eq!(log["count"], 3, "{log}");
        let first = &log["results"][2];
        assert_eq!((first["note"].clone(), first["subject_kind"].clone(), first["details"]["amount"].clone(),
            first["details"]["account"].clone()),
            (json!("Goodwill for a late payout"), json!("tailor"), json!(5_000), json!("available")));
        assert_eq!(first["subject_id"], ada.id.as_str());
        assert_ledger_whole(&app).await;
    }

    async fn adjustments_check_their_input_and_who_asks(backend) {
        let app = TestApp::spawn(backend).await;
        let spec = spec(&app).await;
        let root = staff_named(&app, "root").await;
        let ada = tailor(&app, "ada").await;
        let customer = app.verified_user("bola").await;
        let path = "/staff/api/wallets/{tailor_id}/adjustments";

        for (body, field) in [
            (json!({"amount": 100, "account": "available"}), "reason"),
            (json!({"amount": 100, "account": "available", "reason": "   "}), "reason"),
            (json!({"amount": 100, "account": "available", "reason": "x".repeat(501)}), "reason"),
            (json!({"amount": 0, "account": "available", "reason": "r"}), "amount"),
            (json!({"amount": "100", "account": "available", "reason": "r"}), "amount"),
            (json!({"amount": 1.5, "account": "available", "reason": "r"}), "amount"),
            (json!({"account": "available", "reason": "r"}), "amount"),
            (json!({"amount": 100, "account": "pending", "reason": "r"}), "account"),
            (json!({"amount": 100, "reason": "r"}), "account"),
        ] {
            let (status, errors) = adjust(&app, &root, &ada, body.clone(), None).await;
            assert_eq!(status, StatusCode::BAD_REQUEST, "{body}: {errors}");
            assert!(errors[field].is_array(), "{body}: {errors}");
            spec.assert_documented("post", path, 400, &errors);
        }
        let ok = json!({"amount": 100, "account": "available", "reason": "x".repeat(500)});
        assert_eq!(adjust(&app, &root, &ada, ok.clone(), None).await.0, StatusCode::CREATED);

        // Not staff: a tailor adjusting itself, a customer.
        for who in [&ada, &customer] {
            let (status, body) = adjust(&app, who, &ada, ok.clone(), None).await;
            assert_eq!((status, body["code"].clone()), (StatusCode::FORBIDDEN, json!("permission_denied")));
            spec.assert_documented("post", path, 403, &body);
            let status = app.get_as(&who.access, &format!("/staff/api/wallets/{}/", ada.id)).await.status();
            assert_eq!(status, StatusCode::FORBIDDEN);
            assert_eq!(app.get_as(&who.access, ACTIONS).await.status(), StatusCode::FORBIDDEN);
        }
        // Anonymous.
        let anonymous = app.post(&adjustments(&ada), ok.clone()).await;
        assert_eq!(anonymous.status(), StatusCode::UNAUTHORIZED);
        assert_eq!(app.get(ACTIONS).await.status(), StatusCode::UNAUTHORIZED);
        assert_eq!(app.get(&format!("/staff/api/wallets/{}/", ada.id)).await.status(), StatusCode::UNAUTHORIZED);
        // Nobody, or not a tailor.
        for id in [uuid::Uuid::now_v7().to_string(), customer.id.clone(), "not-a-uuid".into()] {
            let nobody = TestUser { id: id.clone(), password: String::new(), access: String::new(), refresh: String::new() };
            let (status, body) = adjust(&app, &root, &nobody, ok.clone(), None).await;
            assert_eq!(status, StatusCode::NOT_FOUND, "{id}: {body}");
            let status = app.get_as(&root.access, &format!("/staff/api/wallets/{id}/")).await.status();
            assert_eq!(status, StatusCode::NOT_FOUND);
        }
        let w = wallet(&app, &ada).await;
        assert_eq!(w["available"], 100, "only the one valid adjustment: {w}");
        assert_eq!(actions(&app, &root, "").await["count"], 1);
    }

    async fn an_adjustment_retried_with_its_key_is_made_once(backend) {
        let app = TestApp::spawn(backend).await;
        let spec = spec(&app).await;
        let root = staff_named(&app, "root").await;
        let ada = tailor(&app, "ada").await;
        let body = json!({"amount": 2_500, "account": "available", "reason": "Missed release"});
        let (status, first) = adjust(&app, &root, &ada, body.clone(), Some("adj-1")).await;
        assert_eq!(status, StatusCode::CREATED, "{first}");
        let (status, again) = adjust(&app, &root, &ada, body.clone(), Some("adj-1")).await;
        assert_eq!((status, &again), (StatusCode::CREATED, &first));
        let (status, reused) = adjust(&app, &root, &ada,
            json!({"amount": 9_999, "account": "available", "reason": "Missed release"}), Some("adj-1")).await;
        assert_eq!((status, reused["code"].clone()), (StatusCode::UNPROCESSABLE_ENTITY, json!("idempotency_key_reused")));
        spec.assert_documented("post", "/staff/api/wallets/{tailor_id}/adjustments", 422, &reused);
        // Another key is another adjustment.
        let (status, second) = adjust(&app, &root, &ada, body.clone(), Some("adj-2")).await;
        assert_eq!(status, StatusCode::CREATED);
        assert_ne!(second["id"], first["id"]);
        assert_eq!(wallet(&app, &ada).await["available"], 5_000);
        assert_eq!(actions(&app, &root, "").await["count"], 2);
        assert_ledger_whole(&app).await;
    }

    async fn parallel_debits_never_overdraw_and_each_has_its_audit_row(backend) {
        let app = TestApp::spawn(backend).await;
        let root = staff_named(&app, "root").await;
        let ada = tailor(&app, "ada").await;
        let (status, _) = adjust(&app, &root, &ada,
            json!({"amount": 5_000, "account": "available", "reason": "Opening"}), None).await;
        assert_eq!(status, StatusCode::CREATED);
        let debits = (0..12).map(|i| {
            let (app, root, ada) = (&app, &root, &ada);
            async move {
                adjust(app, root, ada,
                    json!({"amount": -1_000, "account": "available", "reason": format!("Debit {i}")}), None).await.0
            }
        });
        let statuses = futures_util::future::join_all(debits).await;
        let made = statuses.iter().filter(|s| **s == StatusCode::CREATED).count();
        let refused = statuses.iter().filter(|s| **s == StatusCode::CONFLICT).count();
        assert_eq!((made, refused), (5, 7), "{statuses:?}");
        assert_eq!(wallet(&app, &ada).await["available"], 0);
        let (_, lines) = statement(&app, &ada, "kind=adjustment").await;
        assert_eq!(lines["count"], 6);
        assert_eq!(actions(&app, &root, "action=wallet.adjust").await["count"], 6,
            "exactly one audit row per ledger adjustment");
        assert_ledger_whole(&app).await;
    }

    async fn the_audit_log_is_newest_first_paged_and_filtered(backend) {
        let app = TestApp::spawn(backend).await;
        let spec = spec(&app).await;
        let root = staff_named(&app, "root").await;
        let other = staff_named(&app, "ops").await;
        let ada = tailor(&app, "ada").await;
        let chidi = tailor(&app, "chidi").await;
        for (who, whom, reason) in [(&root, &ada, "one"), (&root, &chidi, "two"), (&other, &ada, "three")] {
            let (status, _) = adjust(&app, who, whom,
                json!({"amount": 100, "account": "available", "reason": reason}), None).await;
            assert_eq!(status, StatusCode::CREATED);
        }
        let notes = |page: &Value| -> Vec<String> {
            page["results"].as_array().unwrap().iter().map(|a| a["note"].as_str().unwrap().to_string()).collect()
        };
        let all = actions(&app, &root, "").await;
        assert_eq!(notes(&all), ["three", "two", "one"]);
        let first = actions(&app, &root, "page_size=2").await;
        assert_eq!((notes(&first), first["count"].clone()), (vec!["three".to_string(), "two".into()], json!(3)));
        assert!(first["next"].as_str().unwrap().contains("page=2"), "{first}");
        let second = actions(&app, &root, "page_size=2&page=2").await;
        assert_eq!(notes(&second), ["one"]);
        let past = app.get_as(&root.access, &format!("{ACTIONS}?page=3&page_size=2")).await;
        assert_eq!(past.status(), StatusCode::NOT_FOUND);

        assert_eq!(notes(&actions(&app, &root, &format!("subject_id={}", ada.id)).await), ["three", "one"]);
        assert_eq!(notes(&actions(&app, &root, &format!("staff_id={}", root.id)).await), ["two", "one"]);
        assert_eq!(notes(&actions(&app, &root, &format!("staff_id={}&subject_id={}", root.id, ada.id)).await), ["one"]);
        assert_eq!(actions(&app, &root, "action=payout.retry").await["count"], 0);
        let (status, errors) = status_and_body(
            app.get_as(&root.access, &format!("{ACTIONS}?subject_id=nope&staff_id=1")).await).await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
        assert!(errors["subject_id"].is_array() && errors["staff_id"].is_array(), "{errors}");
        spec.assert_documented("get", "/staff/api/actions", 400, &errors);
    }
}
