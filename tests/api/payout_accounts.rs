//! Tailors' payout accounts against the Paystack stand-in: the bank list,
//! resolve, add, change with password and emailed code, the cooldown, and
//! the account number never shown beyond its last 4 digits.

use std::time::Duration;

use chrono::Utc;
use reqwest::StatusCode;
use serde_json::{Value, json};
use uuid::Uuid;

use atelier::wallet::payout_accounts::{Unusable, usable};
use sea_orm::EntityTrait;

use crate::both_backends;
use crate::concurrency::futures_join_all;
use crate::helpers::{TestApp, TestUser, body_of, status_and_body};
use crate::payments::shop_with_paystack;
use crate::paystack_mock::{Answer, MockPaystack, send_transfer_webhook, transfer_event};
use crate::spec_check::Spec;

const ADA: (&str, &str, &str) = ("058", "0123456789", "ADA OBI");
const CHIDI: (&str, &str, &str) = ("044", "1234567890", "CHIDI OKAFOR");

async fn tailor(app: &TestApp, name: &str) -> TestUser {
    app.verified_user_with(name, json!({"role": "tailor"}))
        .await
}

fn account(who: (&str, &str, &str)) -> Value {
    json!({"bank_code": who.0, "account_number": who.1, "account_name": who.2})
}

async fn put_as(app: &TestApp, token: &str, path: &str, body: Value) -> (StatusCode, Value) {
    let response = app
        .client
        .put(app.url(path))
        .bearer_auth(token)
        .json(&body)
        .send()
        .await
        .unwrap();
    status_and_body(response).await
}

/// The text of the `nth` email to `username` whose text contains `marker`.
async fn email_with(app: &TestApp, username: &str, marker: &str, nth: usize) -> String {
    let address = format!("{username}@example.com");
    let deadline = tokio::time::Instant::now() + Duration::from_secs(15);
    loop {
        let found: Vec<_> = app
            .smtp
            .emails_to(&address)
            .into_iter()
            .filter(|e| e.data.contains(marker))
            .collect();
        if found.len() >= nth {
            return found[nth - 1].data.clone();
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "no email #{nth} with {marker:?} for {address}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

async fn code_email(app: &TestApp, username: &str, nth: usize) -> String {
    let text = email_with(app, username, "change your payout account", nth).await;
    crate::smtp::ReceivedEmail {
        recipients: vec![],
        data: text,
    }
    .code()
}

async fn add(app: &TestApp, who: &TestUser, body: Value) -> (StatusCode, Value) {
    status_and_body(
        app.post_as(&who.access, "/tailor/api/payout-account/", body)
            .await,
    )
    .await
}

async fn start_change(app: &TestApp, who: &TestUser, password: &str) -> (StatusCode, Value) {
    status_and_body(
        app.post_as(
            &who.access,
            "/tailor/api/payout-account/change/",
            json!({"password": password}),
        )
        .await,
    )
    .await
}

fn change_body(code: &str, who: (&str, &str, &str)) -> Value {
    let mut body = account(who);
    body["code"] = json!(code);
    body
}

async fn db(app: &TestApp) -> sea_orm::DatabaseConnection {
    atelier::storage::connect(&app.database.url, 2, Duration::from_secs(5))
        .await
        .unwrap()
}

both_backends! {
    async fn bank_list_is_cached_and_for_tailors_only(backend) {
        let (app, paystack) = shop_with_paystack(backend, |_| {}).await;
        let ade = tailor(&app, "ade").await;
        let (status, banks) = status_and_body(app.get_as(&ade.access, "/tailor/api/banks/").await).await;
        assert_eq!(status, StatusCode::OK, "{banks}");
        let names: Vec<&str> = banks.as_array().unwrap().iter().map(|b| b["name"].as_str().unwrap()).collect();
        // Both cursor pages, inactive and deleted banks left out, by name.
        assert_eq!(names, ["Access Bank", "Guaranty Trust Bank", "Zenith Bank"]);
        assert_eq!(banks[1], json!({"name": "Guaranty Trust Bank", "code": "058"}));
        for _ in 0..3 {
            assert_eq!(app.get_as(&ade.access, "/tailor/api/banks/").await.status(), StatusCode::OK);
        }
        assert_eq!(paystack.bank_list_fetches(), 1);

        let buyer = app.verified_user("buyer").await;
        let (status, body) = status_and_body(app.get_as(&buyer.access, "/tailor/api/banks/").await).await;
        assert_eq!((status, body["code"].as_str()), (StatusCode::FORBIDDEN, Some("permission_denied")));
        assert_eq!(app.get("/tailor/api/banks/").await.status(), StatusCode::UNAUTHORIZED);
    }

    async fn without_paystack_or_with_it_down_the_bank_list_is_503(backend) {
        let (app, paystack) = shop_with_paystack(backend, |_| {}).await;
        paystack.answer_banks(&[Answer::ServerError]);
        let ade = tailor(&app, "ade").await;
        let (status, body) = status_and_body(app.get_as(&ade.access, "/tailor/api/banks/").await).await;
        assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(body["code"], "payment_provider_unavailable", "{body}");

        let bare = TestApp::spawn(backend).await;
        let bola = tailor(&bare, "bola").await;
        let (status, body) = status_and_body(bare.get_as(&bola.access, "/tailor/api/banks/").await).await;
        assert_eq!(status, StatusCode::CONFLICT);
        assert_eq!(body["code"], "payouts_unavailable", "{body}");
    }

    async fn resolve_names_the_account_and_stores_nothing(backend) {
        let (app, paystack) = shop_with_paystack(backend, |_| {}).await;
        let ade = tailor(&app, "ade").await;
        let resolve = |body: Value| {
            let app = &app;
            let token = ade.access.clone();
            async move {
                let response = app.post_as(&token, "/tailor/api/payout-account/resolve/", body).await;
                let status = response.status();
                let text = response.text().await.unwrap();
                assert!(!text.contains("0123456789") && !text.contains("1234567890"), "{text}");
                (status, serde_json::from_str::<Value>(&text).unwrap())
            }
        };
        let (status, body) = resolve(json!({"bank_code": "058", "account_number": "0123456789"})).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        assert_eq!(body, json!({"bank_code": "058", "bank_name": "Guaranty Trust Bank",
            "account_name": "ADA OBI", "account_last4": "6789"}));

        let (status, body) = resolve(json!({"bank_code": "058", "account_number": "1234567890"})).await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
        assert!(body["account_number"].is_array(), "{body}");
        let (status, body) = resolve(json!({"bank_code": "058", "account_number": "12345"})).await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
        assert!(body["account_number"].is_array(), "{body}");
        let (status, body) = resolve(json!({"bank_code": "999", "account_number": "0123456789"})).await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
        assert!(body["bank_code"].is_array(), "{body}");
        let (status, body) = resolve(json!({})).await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
        assert!(body["bank_code"].is_array() && body["account_number"].is_array(), "{body}");

        paystack.answer_resolves(&[Answer::ServerError, Answer::Garbled]);
        for _ in 0..2 {
            let (status, body) = resolve(json!({"bank_code": "058", "account_number": "0123456789"})).await;
            assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{body}");
            assert_eq!(body["code"], "payment_provider_unavailable");
        }
        assert!(paystack.recipients().is_empty());
        let (status, _) = status_and_body(app.get_as(&ade.access, "/tailor/api/payout-account/").await).await;
        assert_eq!(status, StatusCode::NOT_FOUND);
    }

    async fn resolve_is_rate_limited(backend) {
        let (app, _paystack) = shop_with_paystack(backend, |_| {}).await;
        let ade = tailor(&app, "ade").await;
        let body = json!({"bank_code": "058", "account_number": "0123456789"});
        for _ in 0..20 {
            let response = app.post_as(&ade.access, "/tailor/api/payout-account/resolve/", body.clone()).await;
            assert_eq!(response.status(), StatusCode::OK);
        }
        let response = app.post_as(&ade.access, "/tailor/api/payout-account/resolve/", body).await;
        assert_eq!(response.status(), StatusCode::TOO_MANY_REQUESTS);
        assert!(response.headers().contains_key("retry-after"));
    }

    async fn a_tailor_adds_one_account_seen_by_its_last_four_digits(backend) {
        let (app, paystack) = shop_with_paystack(backend, |_| {}).await;
        let ade = tailor(&app, "ade").await;
        let mut wrong_name = account(ADA);
        wrong_name["account_name"] = json!("ADA OBIANUJU");
        let (status, body) = add(&app, &ade, wrong_name).await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
        assert!(body["account_name"][0].as_str().unwrap().contains("ADA OBI"), "{body}");

        let mut confirmed = account(ADA);
        confirmed["account_name"] = json!("Ada  Obi");
        let before = Utc::now();
        // Five at once: the first account is added once.
        let results = futures_join_all((0..5).map(|_| add(&app, &ade, confirmed.clone()))).await;
        let created: Vec<_> = results.iter().filter(|(s, _)| *s == StatusCode::CREATED).collect();
        assert_eq!(created.len(), 1, "{results:?}");
        assert!(results.iter().all(|(s, b)| *s == StatusCode::CREATED
            || (*s == StatusCode::CONFLICT && b["code"] == "payout_account_exists")), "{results:?}");
        let added = created[0].1.clone();
        assert_eq!(added["bank_name"], "Guaranty Trust Bank");
        assert_eq!(added["account_name"], "ADA OBI");
        assert_eq!(added["account_last4"], "6789");
        assert_eq!(added["usable_now"], false);
        let usable_from: chrono::DateTime<Utc> = added["usable_from"].as_str().unwrap().parse().unwrap();
        let wait = usable_from - before;
        assert!(wait >= chrono::Duration::hours(24) && wait < chrono::Duration::hours(25), "{wait}");

        let (status, shown) = status_and_body(app.get_as(&ade.access, "/tailor/api/payout-account/").await).await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(shown, added);
        assert!(!shown.to_string().contains(ADA.1));
        let (status, body) = add(&app, &ade, account(ADA)).await;
        assert_eq!((status, body["code"].as_str()), (StatusCode::CONFLICT, Some("payout_account_exists")));

        // The answers are the documented ones.
        let spec = Spec(app.get("/api/openapi.json").await.json().await.unwrap());
        spec.assert_documented("post", "/tailor/api/payout-account", 201, &added);
        spec.assert_documented("post", "/tailor/api/payout-account", 409, &body);
        spec.assert_documented("get", "/tailor/api/payout-account", 200, &shown);
        let (_, banks) = status_and_body(app.get_as(&ade.access, "/tailor/api/banks/").await).await;
        spec.assert_documented("get", "/tailor/api/banks", 200, &banks);
        let (_, resolved) = status_and_body(app.post_as(&ade.access, "/tailor/api/payout-account/resolve/",
            json!({"bank_code": "044", "account_number": "0000000000"})).await).await;
        spec.assert_documented("post", "/tailor/api/payout-account/resolve", 400, &resolved);

        let recipient = paystack.recipients().into_iter().find(|r| r["account_number"] == ADA.1).unwrap();
        assert_eq!(recipient["type"], "nuban");
        assert_eq!(recipient["currency"], "NGN");
        let notice = email_with(&app, "ade", "payout account was added", 1).await;
        assert!(notice.contains("6789") && !notice.contains(ADA.1), "{notice}");
        let rows = atelier::storage::entities::payout_account::Entity::find().all(&db(&app).await).await.unwrap();
        assert!(!format!("{rows:?}").contains(ADA.1));
        assert!(rows[0].recipient_code.starts_with("RCP_"));
    }

    async fn changing_needs_the_password_and_a_single_use_code(backend) {
        let (app, paystack) = shop_with_paystack(backend, |s| {
            s.auth.email_cooldown = Duration::ZERO;
        }).await;
        let ade = tailor(&app, "ade").await;
        let (status, first) = add(&app, &ade, account(ADA)).await;
        assert_eq!(status, StatusCode::CREATED, "{first}");

        let (status, body) = start_change(&app, &ade, "not-my-password").await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
        assert!(body["password"].is_array(), "{body}");
        // No code was asked for: any code is wrong.
        let (status, body) = put_as(&app, &ade.access, "/tailor/api/payout-account/", change_body("123456", CHIDI)).await;
        assert_eq!((status, body["code"].as_str()), (StatusCode::BAD_REQUEST, Some("otp_invalid")));

        let (status, body) = start_change(&app, &ade, &ade.password).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        let code = code_email(&app, "ade", 1).await;
        let wrong = if code == "999999" { "999998" } else { "999999" };
        for _ in 0..5 {
            let (status, body) = put_as(&app, &ade.access, "/tailor/api/payout-account/", change_body(wrong, CHIDI)).await;
            assert_eq!((status, body["code"].as_str()), (StatusCode::BAD_REQUEST, Some("otp_invalid")));
        }
        // Five wrong tries killed it.
        let (status, body) = put_as(&app, &ade.access, "/tailor/api/payout-account/", change_body(&code, CHIDI)).await;
        assert_eq!((status, body["code"].as_str()), (StatusCode::BAD_REQUEST, Some("otp_invalid")));

        assert_eq!(start_change(&app, &ade, &ade.password).await.0, StatusCode::OK);
        let code = code_email(&app, "ade", 2).await;
        let (status, changed) = put_as(&app, &ade.access, "/tailor/api/payout-account/", change_body(&code, CHIDI)).await;
        assert_eq!(status, StatusCode::OK, "{changed}");
        assert_eq!(changed["account_last4"], "7890");
        assert_eq!(changed["bank_name"], "Access Bank");
        assert_ne!(changed["id"], first["id"]);
        assert!(changed["usable_from"].as_str() > first["usable_from"].as_str());
        assert!(!changed.to_string().contains(CHIDI.1));
        let (_, shown) = status_and_body(app.get_as(&ade.access, "/tailor/api/payout-account/").await).await;
        assert_eq!(shown["id"], changed["id"]);

        // Single use.
        let (status, body) = put_as(&app, &ade.access, "/tailor/api/payout-account/", change_body(&code, ADA)).await;
        assert_eq!((status, body["code"].as_str()), (StatusCode::BAD_REQUEST, Some("otp_invalid")));
        assert_eq!(paystack.recipients().len(), 2);
        let notice = email_with(&app, "ade", "payout account was changed", 1).await;
        assert!(notice.contains("7890") && !notice.contains(CHIDI.1), "{notice}");
    }

    async fn the_account_is_usable_for_payouts_after_the_cooldown(backend) {
        let (app, _paystack) = shop_with_paystack(backend, |s| {
            s.auth.email_cooldown = Duration::ZERO;
            s.payout_accounts.cooldown = Duration::from_secs(3 * 3600);
        }).await;
        let ade = tailor(&app, "ade").await;
        let ade_id: Uuid = ade.id.parse().unwrap();
        let conn = db(&app).await;
        assert_eq!(usable(&conn, ade_id, Utc::now()).await.unwrap(), None);

        let (_, added) = add(&app, &ade, account(ADA)).await;
        let from: chrono::DateTime<Utc> = added["usable_from"].as_str().unwrap().parse().unwrap();
        assert!(from - Utc::now() > chrono::Duration::minutes(179));
        match usable(&conn, ade_id, Utc::now()).await {
            Err(Unusable::TooNew { usable_from }) => assert_eq!(usable_from, from),
            other => panic!("{other:?}"),
        }
        let ready = usable(&conn, ade_id, from).await.unwrap().unwrap();
        assert!(ready.recipient_code.starts_with("RCP_"));
        assert_eq!(ready.account_last4, "6789");
        assert_eq!(ready.id.to_string(), added["id"].as_str().unwrap());

        // A change starts the wait again.
        start_change(&app, &ade, &ade.password).await;
        let code = code_email(&app, "ade", 1).await;
        let (status, changed) = put_as(&app, &ade.access, "/tailor/api/payout-account/", change_body(&code, CHIDI)).await;
        assert_eq!(status, StatusCode::OK, "{changed}");
        assert!(matches!(usable(&conn, ade_id, from).await, Err(Unusable::TooNew { .. })));
        let later = from + chrono::Duration::hours(4);
        let ready = usable(&conn, ade_id, later).await.unwrap().unwrap();
        assert_eq!(ready.account_last4, "7890");
    }

    async fn customers_cannot_have_payout_accounts(backend) {
        let (app, _paystack) = shop_with_paystack(backend, |_| {}).await;
        let buyer = app.verified_user("buyer").await;
        let calls: [(&str, &str, Value); 5] = [
            ("GET", "/tailor/api/payout-account/", json!(null)),
            ("POST", "/tailor/api/payout-account/", account(ADA)),
            ("POST", "/tailor/api/payout-account/resolve/", json!({"bank_code": "058", "account_number": ADA.1})),
            ("POST", "/tailor/api/payout-account/change/", json!({"password": buyer.password})),
            ("PUT", "/tailor/api/payout-account/", change_body("123456", ADA)),
        ];
        for (method, path, body) in calls {
            let request = app.client.request(method.parse().unwrap(), app.url(path));
            let request = if body.is_null() { request } else { request.json(&body) };
            let response = request.try_clone().unwrap().bearer_auth(&buyer.access).send().await.unwrap();
            assert_eq!(response.status(), StatusCode::FORBIDDEN, "{method} {path}");
            assert_eq!(body_of(response).await["code"], "permission_denied");
            assert_eq!(request.send().await.unwrap().status(), StatusCode::UNAUTHORIZED, "{method} {path}");
        }
    }

    async fn transfer_webhooks_are_signed_as_paystack_signs_them(backend) {
        let (app, _paystack) = shop_with_paystack(backend, |_| {}).await;
        for event in ["transfer.success", "transfer.failed", "transfer.reversed"] {
            assert_eq!(send_transfer_webhook(&app, event, "wd_0000000000000001", 50_000).await, StatusCode::OK);
        }
        let (body, _) = transfer_event("transfer.success", "wd_0000000000000001", 50_000);
        let forged = app.client.post(app.url("/shop/api/payments/webhook/paystack/"))
            .header("content-type", "application/json")
            .header("x-paystack-signature", "00".repeat(64))
            .body(body).send().await.unwrap();
        assert_eq!(forged.status(), StatusCode::UNAUTHORIZED);
    }
}

mod transfer_client {
    use atelier::store::Paystack;
    use atelier::wallet::transfers::{ProviderFailure, TransferRequest, TransferState, Transfers};

    use super::*;
    use crate::paystack_mock::SECRET;

    fn client(paystack: &MockPaystack) -> Transfers {
        Transfers::new(Paystack::new(&paystack.url, SECRET))
            .with_timeout(Duration::from_millis(700))
    }

    fn request(reference: &str) -> TransferRequest<'_> {
        TransferRequest {
            amount_kobo: 250_000,
            recipient_code: "RCP_mock0000000001",
            reference,
            reason: "Atelier payout",
        }
    }

    #[tokio::test]
    async fn outcomes_are_told_apart_refused_from_unknown() {
        let paystack = MockPaystack::start().await;
        let transfers = client(&paystack);

        let accepted = transfers
            .initiate_transfer(&request("wd_ok_000000000001"))
            .await
            .unwrap();
        assert_eq!(accepted.state(), TransferState::InFlight);
        assert_eq!(accepted.amount, 250_000);
        let sent = &paystack.transfers()[0];
        assert_eq!(
            (sent["source"].as_str(), sent["reference"].as_str()),
            (Some("balance"), Some("wd_ok_000000000001"))
        );
        assert_eq!(sent["recipient"], "RCP_mock0000000001");

        paystack.answer_transfers(&[
            Answer::Refused,
            Answer::ServerError,
            Answer::Garbled,
            Answer::Hang,
        ]);
        let refused = transfers
            .initiate_transfer(&request("wd_refused_0000001"))
            .await
            .unwrap_err();
        assert!(
            matches!(refused, ProviderFailure::Refused { status: 400, .. }),
            "{refused:?}"
        );
        assert!(refused.nothing_happened());
        for reference in [
            "wd_5xx_00000000001",
            "wd_garbled_0000001",
            "wd_hang_0000000001",
        ] {
            let failure = transfers
                .initiate_transfer(&request(reference))
                .await
                .unwrap_err();
            assert!(
                matches!(failure, ProviderFailure::Unknown(_)),
                "{reference}: {failure:?}"
            );
            assert!(!failure.nothing_happened());
        }
        assert_eq!(
            paystack.transfers().len(),
            5,
            "every request reached the stand-in"
        );
        // A reused reference is not a refusal: that transfer exists and may have paid.
        let reused = transfers
            .initiate_transfer(&request("wd_ok_000000000001"))
            .await
            .unwrap_err();
        assert!(matches!(reused, ProviderFailure::Unknown(_)), "{reused:?}");

        let dead = Transfers::new(Paystack::new(
            &format!("http://127.0.0.1:{}", crate::helpers::free_port()),
            SECRET,
        ));
        let failure = dead
            .initiate_transfer(&request("wd_never_000000001"))
            .await
            .unwrap_err();
        assert!(
            matches!(failure, ProviderFailure::NotSent(_)),
            "{failure:?}"
        );
    }

    #[tokio::test]
    async fn verify_reports_the_scripted_status_or_not_found() {
        let paystack = MockPaystack::start().await;
        let transfers = client(&paystack);
        transfers
            .initiate_transfer(&request("wd_verify_00000001"))
            .await
            .unwrap();
        let pending = transfers
            .verify_transfer("wd_verify_00000001")
            .await
            .unwrap();
        assert_eq!(pending.state(), TransferState::InFlight);
        paystack.set_transfer_status("wd_verify_00000001", "success");
        assert_eq!(
            transfers
                .verify_transfer("wd_verify_00000001")
                .await
                .unwrap()
                .state(),
            TransferState::Succeeded
        );
        paystack.set_transfer_status("wd_verify_00000001", "reversed");
        assert_eq!(
            transfers
                .verify_transfer("wd_verify_00000001")
                .await
                .unwrap()
                .state(),
            TransferState::Failed
        );
        let missing = transfers
            .verify_transfer("wd_missing_0000001")
            .await
            .unwrap_err();
        assert!(missing.is_not_found(), "{missing:?}");
    }

    #[tokio::test]
    async fn banks_resolve_and_recipients_use_paystacks_shapes() {
        let paystack = MockPaystack::start().await;
        let transfers = client(&paystack);
        let banks = transfers.list_banks().await.unwrap();
        assert_eq!(banks.len(), 3);
        assert_eq!(paystack.bank_list_fetches(), 1);
        let resolved = transfers.resolve_account(ADA.1, ADA.0).await.unwrap();
        assert_eq!(resolved.account_name, "ADA OBI");
        let unknown = transfers
            .resolve_account("9999999999", "058")
            .await
            .unwrap_err();
        assert!(
            matches!(unknown, ProviderFailure::Refused { status: 422, .. }),
            "{unknown:?}"
        );
        // The account number must not leak into failure messages (they are logged).
        paystack.answer_resolves(&[Answer::Hang]);
        let hung = transfers.resolve_account(ADA.1, ADA.0).await.unwrap_err();
        assert!(!hung.to_string().contains(ADA.1), "{hung}");
        let recipient = transfers
            .create_transfer_recipient("ADA OBI", ADA.1, ADA.0)
            .await
            .unwrap();
        assert!(recipient.recipient_code.starts_with("RCP_"));
    }
}
