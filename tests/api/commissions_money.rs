//! A commission's money: replayed and mismatched webhooks, payment
//! idempotency, refunds on cancellation, disputes resolved by staff, and
//! the races that must have exactly one winner.

use std::time::Duration;

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::both_backends;
use crate::commissions::{
    BASE, accept, act, atelier, delivered, detail, kinds, paid_deposit, pay, paystack_pays,
    progress, quote, quoted, ready, requested_commission, staff, terms,
};
use crate::helpers::{TestApp, TestUser, status_and_body};
use crate::paystack_mock::MockPaystack;

/// Waits (up to 10 s) until Paystack has received `count` refund requests.
async fn refunds_sent(paystack: &MockPaystack, count: usize) -> Vec<Value> {
    for _ in 0..100 {
        let sent = paystack.refunds();
        if sent.len() >= count {
            tokio::time::sleep(Duration::from_millis(300)).await;
            return paystack.refunds();
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!(
        "fewer than {count} refunds reached Paystack: {:?}",
        paystack.refunds()
    );
}

fn refund_amounts(sent: &[Value]) -> Vec<i64> {
    let mut amounts: Vec<i64> = sent.iter().map(|r| r["amount"].as_i64().unwrap()).collect();
    amounts.sort();
    amounts
}

/// The refund rows owed for the commission: (amount, status), oldest first,
/// once none is queued any more.
async fn refund_rows(app: &TestApp, id: &str) -> Vec<(i64, String)> {
    use atelier::storage::entities::refund;
    use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QueryOrder};
    let db = crate::tailor_profiles::database(app).await;
    let id = uuid::Uuid::parse_str(id).unwrap();
    for _ in 0..100 {
        let rows: Vec<(i64, String)> = refund::Entity::find()
            .filter(refund::Column::CommissionId.eq(id))
            .order_by_asc(refund::Column::Id)
            .all(&db)
            .await
            .unwrap()
            .into_iter()
            .map(|r| (r.amount_kobo, r.status))
            .collect();
        if rows.iter().all(|(_, status)| status != "queued") {
            return rows;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("refunds of {id} stayed queued");
}

/// `paid_deposit` and a first progress update: work has started.
async fn started(app: &TestApp) -> (TestUser, TestUser, String) {
    let (customer, tailor, id, _) = paid_deposit(app).await;
    progress(app, &tailor, &id, "cutting").await;
    (customer, tailor, id)
}

/// The customer disputes the work; the dispute's id.
async fn disputed(app: &TestApp, customer: &TestUser, id: &str) -> String {
    let (status, body) = act(
        app,
        customer,
        id,
        "dispute",
        json!({"reason": "The seams are coming apart."}),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["status"], "disputed");
    body["dispute"]["id"].as_str().unwrap().to_string()
}

async fn resolve(app: &TestApp, who: &TestUser, dispute: &str, body: Value) -> (StatusCode, Value) {
    status_and_body(
        app.post_as(
            &who.access,
            &format!("{BASE}disputes/{dispute}/resolve/"),
            body,
        )
        .await,
    )
    .await
}

both_backends! {
    async fn a_replayed_webhook_pays_the_deposit_once(backend) {
        let (app, paystack) = atelier(backend).await;
        let (customer, _tailor, id, reference) = paid_deposit(&app).await;
        for _ in 0..3 {
            paystack_pays(&app, &reference, 40_000).await;
        }
        let now = detail(&app, &customer, &id).await;
        assert_eq!((now["status"].clone(), now["paid_kobo"].clone(), now["refunded_kobo"].clone()),
            (json!("in_progress"), json!(40_000), json!(0)));
        assert_eq!(kinds(&now).iter().filter(|k| *k == "deposit_paid").count(), 1);
        tokio::time::sleep(Duration::from_millis(1200)).await;
        assert!(paystack.refunds().is_empty(), "nothing to refund: {:?}", paystack.refunds());
    }

    async fn a_webhook_for_another_amount_pays_nothing(backend) {
        let (app, _paystack) = atelier(backend).await;
        let (customer, _tailor, id) = quoted(&app, 100_000, 40).await;
        let (_, accepted) = accept(&app, &customer, &id, "k", json!({})).await;
        let reference = accepted["payment"]["reference"].as_str().unwrap().to_string();
        paystack_pays(&app, &reference, 4_000).await;
        let now = detail(&app, &customer, &id).await;
        assert_eq!((now["status"].clone(), now["paid_kobo"].clone()), (json!("awaiting_deposit"), json!(0)), "{now}");
        assert_eq!(now["payments"][0]["status"], "pending");
        paystack_pays(&app, &reference, 40_000).await;
        assert_eq!(detail(&app, &customer, &id).await["status"], "in_progress", "the right amount still pays");
    }

    async fn paying_with_one_key_or_two_opens_one_payment(backend) {
        let (app, paystack) = atelier(backend).await;
        let (customer, _tailor, id) = ready(&app).await;
        let pages_before = paystack.initialized().len();
        let (status, first) = pay(&app, &customer, &id, "b1").await;
        assert_eq!(status, StatusCode::CREATED, "{first}");
        let (status, again) = pay(&app, &customer, &id, "b1").await;
        assert_eq!((status, &again), (StatusCode::CREATED, &first), "the same key, the same answer");
        let (status, other) = pay(&app, &customer, &id, "b2").await;
        assert_eq!(status, StatusCode::CREATED, "{other}");
        assert_eq!(other["reference"], first["reference"], "the pending payment again, not a second one");
        assert_eq!(paystack.initialized().len(), pages_before + 1);
        let response = app.client.post(app.url(&format!("{BASE}{id}/pay/"))).bearer_auth(&customer.access)
            .json(&json!({})).send().await.unwrap();
        assert_eq!(response.status(), StatusCode::BAD_REQUEST, "no key");
    }

    async fn concurrent_pays_with_different_keys_open_one_payment(backend) {
        let (app, _paystack) = atelier(backend).await;
        let (customer, _tailor, id) = ready(&app).await;
        let keys: Vec<String> = (0..6).map(|i| format!("race-{i}")).collect();
        let answers = futures_util::future::join_all(keys.iter().map(|k| pay(&app, &customer, &id, k))).await;
        let mut references = Vec::new();
        for (status, body) in &answers {
            assert_eq!(*status, StatusCode::CREATED, "{body}");
            references.push(body["reference"].clone());
        }
        references.dedup();
        assert_eq!(references.len(), 1, "{answers:?}");
        let now = detail(&app, &customer, &id).await;
        let balances = now["payments"].as_array().unwrap().iter().filter(|p| p["purpose"] == "balance").count();
        assert_eq!(balances, 1, "{now}");
    }

    async fn a_customer_who_cancels_before_work_starts_gets_the_deposit_back(backend) {
        let (app, paystack) = atelier(backend).await;
        let (customer, _tailor, id, reference) = paid_deposit(&app).await;
        let (status, cancelled) = act(&app, &customer, &id, "cancel", json!({"reason": "Plans changed."})).await;
        assert_eq!(status, StatusCode::OK, "{cancelled}");
        assert_eq!((cancelled["status"].clone(), cancelled["refunded_kobo"].clone()), (json!("cancelled"), json!(40_000)));
        let sent = refunds_sent(&paystack, 1).await;
        assert_eq!(sent.len(), 1, "{sent:?}");
        assert_eq!((sent[0]["transaction"].clone(), sent[0]["amount"].clone()), (json!(reference), json!(40_000)));
    }

    async fn a_customer_cannot_cancel_once_work_started_but_may_dispute(backend) {
        let (app, _paystack) = atelier(backend).await;
        let (customer, tailor, id, _) = paid_deposit(&app).await;
        let (status, body) = act(&app, &customer, &id, "dispute", json!({"reason": "Nothing happens."})).await;
        assert_eq!((status, body["code"].clone()), (StatusCode::CONFLICT, json!("work_not_started")), "{body}");
        progress(&app, &tailor, &id, "cutting").await;
        let (status, body) = act(&app, &customer, &id, "cancel", json!({})).await;
        assert_eq!((status, body["code"].clone()), (StatusCode::CONFLICT, json!("work_started")), "{body}");
        let (status, body) = act(&app, &tailor, &id, "dispute", json!({"reason": "x"})).await;
        assert_eq!((status, body["code"].clone()), (StatusCode::FORBIDDEN, json!("permission_denied")), "{body}");
        disputed(&app, &customer, &id).await;
        let (status, body) = act(&app, &customer, &id, "dispute", json!({"reason": "Again."})).await;
        assert_eq!(status, StatusCode::CONFLICT, "{body}");
    }

    async fn a_tailor_who_cancels_a_ready_garment_refunds_deposit_and_balance(backend) {
        let (app, paystack) = atelier(backend).await;
        let (customer, tailor, id) = ready(&app).await;
        let (_, balance) = pay(&app, &customer, &id, "b").await;
        paystack_pays(&app, balance["reference"].as_str().unwrap(), 60_000).await;
        let (status, body) = act(&app, &customer, &id, "cancel", json!({})).await;
        assert_eq!(status, StatusCode::CONFLICT, "the customer cannot cancel a ready garment: {body}");
        let (status, cancelled) = act(&app, &tailor, &id, "cancel", json!({"reason": "Fabric flaw."})).await;
        assert_eq!(status, StatusCode::OK, "{cancelled}");
        assert_eq!((cancelled["status"].clone(), cancelled["paid_kobo"].clone(), cancelled["refunded_kobo"].clone()),
            (json!("cancelled"), json!(100_000), json!(100_000)));
        let sent = refunds_sent(&paystack, 2).await;
        assert_eq!(refund_amounts(&sent), vec![40_000, 60_000], "{sent:?}");
        let mut rows = refund_rows(&app, &id).await;
        rows.sort();
        assert_eq!(rows, vec![(40_000, "sent".to_string()), (60_000, "sent".to_string())]);
    }

    async fn staff_refund_part_of_a_disputed_commission(backend) {
        let (app, paystack) = atelier(backend).await;
        let (customer, tailor, id) = started(&app).await;
        let dispute = disputed(&app, &customer, &id).await;
        let root = staff(&app).await;

        let (status, _) = status_and_body(app.get_as(&tailor.access, &format!("{BASE}disputes/")).await).await;
        assert_eq!(status, StatusCode::FORBIDDEN);
        let (status, open) = status_and_body(app.get_as(&root.access, &format!("{BASE}disputes/")).await).await;
        assert_eq!(status, StatusCode::OK, "{open}");
        assert_eq!((open["count"].clone(), open["results"][0]["id"].clone()), (json!(1), json!(dispute)));
        assert_eq!(open["results"][0]["paid_kobo"], 40_000);

        let (status, body) = resolve(&app, &customer, &dispute, json!({"outcome": "refund", "amount_kobo": 100})).await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
        let (status, body) = resolve(&app, &root, &dispute, json!({"outcome": "refund", "amount_kobo": 40_001})).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "more than was paid: {body}");
        let (status, body) = resolve(&app, &root, &dispute, json!({"outcome": "split"})).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
        let (status, body) = resolve(&app, &root, &uuid::Uuid::now_v7().to_string(), json!({"outcome": "release"})).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{body}");

        let (status, resolved) = resolve(&app, &root, &dispute, json!({"outcome": "refund", "amount_kobo": 15_000, "note": "Half the lining."})).await;
        assert_eq!(status, StatusCode::OK, "{resolved}");
        assert_eq!((resolved["status"].clone(), resolved["resolution"].clone(), resolved["refund_kobo"].clone()),
            (json!("resolved"), json!("refund"), json!(15_000)));
        let now = detail(&app, &customer, &id).await;
        assert_eq!((now["status"].clone(), now["refunded_kobo"].clone()), (json!("refunded"), json!(15_000)));
        let sent = refunds_sent(&paystack, 1).await;
        assert_eq!(refund_amounts(&sent), vec![15_000]);
        assert_eq!(refund_rows(&app, &id).await, vec![(15_000, "sent".to_string())]);

        let (status, body) = resolve(&app, &root, &dispute, json!({"outcome": "release"})).await;
        assert_eq!((status, body["code"].clone()), (StatusCode::CONFLICT, json!("already_resolved")), "{body}");
        let (_, open) = status_and_body(app.get_as(&root.access, &format!("{BASE}disputes/")).await).await;
        assert_eq!(open["count"], 0);
    }

    async fn staff_release_a_disputed_commission_to_the_tailor(backend) {
        let (app, paystack) = atelier(backend).await;
        let (customer, _tailor, id) = delivered(&app).await;
        let dispute = disputed(&app, &customer, &id).await;
        let root = staff(&app).await;
        let (status, resolved) = resolve(&app, &root, &dispute, json!({"outcome": "release"})).await;
        assert_eq!(status, StatusCode::OK, "{resolved}");
        assert_eq!(resolved["resolution"], "release");
        let now = detail(&app, &customer, &id).await;
        assert_eq!((now["status"].clone(), now["refunded_kobo"].clone()), (json!("completed"), json!(0)));
        assert_eq!(now["dispute"]["status"], "resolved");
        tokio::time::sleep(Duration::from_millis(1200)).await;
        assert!(paystack.refunds().is_empty());
    }

    async fn a_deposit_paid_after_cancellation_goes_back(backend) {
        let (app, paystack) = atelier(backend).await;
        let (customer, _tailor, id) = quoted(&app, 100_000, 40).await;
        let (_, accepted) = accept(&app, &customer, &id, "k", json!({})).await;
        let reference = accepted["payment"]["reference"].as_str().unwrap().to_string();
        let (status, body) = act(&app, &customer, &id, "cancel", json!({})).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        paystack_pays(&app, &reference, 40_000).await;
        paystack_pays(&app, &reference, 40_000).await;
        let now = detail(&app, &customer, &id).await;
        assert_eq!((now["status"].clone(), now["refunded_kobo"].clone()), (json!("cancelled"), json!(40_000)), "{now}");
        let sent = refunds_sent(&paystack, 1).await;
        assert_eq!(refund_amounts(&sent), vec![40_000]);
    }

    async fn of_an_accept_and_a_cancel_at_once_exactly_one_wins(backend) {
        let (app, _paystack) = atelier(backend).await;
        let (customer, tailor, _) = requested_commission(&app).await;
        for round in 0..10 {
            let (status, created) = status_and_body(app.post_as(&customer.access, BASE, json!({
                "tailor_id": tailor.id, "garment_type": "Buba", "description": "Round", "fabric": "customer_supplies"
            })).await).await;
            assert_eq!(status, StatusCode::CREATED, "{created}");
            let id = created["id"].as_str().unwrap().to_string();
            quote(&app, &tailor, &id, terms(20_000, 0)).await;
            let key = format!("round-{round}");
            let ((accepted, a_body), (cancelled, c_body)) = tokio::join!(
                accept(&app, &customer, &id, &key, json!({})),
                act(&app, &tailor, &id, "cancel", json!({"reason": "Too busy."})),
            );
            let statuses = [accepted, cancelled];
            assert!(!statuses.iter().any(|s| s.is_server_error()), "round {round}: {a_body} {c_body}");
            let now = detail(&app, &customer, &id).await;
            let wins = statuses.iter().filter(|s| **s == StatusCode::OK).count();
            if wins == 1 {
                let loser = if accepted == StatusCode::OK { (&cancelled, &c_body) } else { (&accepted, &a_body) };
                assert_eq!((*loser.0, loser.1["code"].clone()), (StatusCode::CONFLICT, json!("invalid_state")), "round {round}: {loser:?}");
                let expected = if accepted == StatusCode::OK { "in_progress" } else { "cancelled" };
                assert_eq!(now["status"], expected, "round {round}");
            } else {
                // Both won only if the cancel came strictly after the accept.
                assert_eq!(wins, 2, "round {round}: nobody won: {a_body} {c_body}");
                assert_eq!(now["status"], "cancelled");
                let timeline = kinds(&now);
                assert_eq!(&timeline[timeline.len() - 2..], ["accepted", "cancelled"], "round {round}");
            }
        }
    }

    async fn verify_settles_a_payment_whose_webhook_is_late(backend) {
        let (app, paystack) = atelier(backend).await;
        let (customer, tailor, id) = quoted(&app, 100_000, 40).await;
        let (_, accepted) = accept(&app, &customer, &id, "k", json!({})).await;
        let reference = accepted["payment"]["reference"].as_str().unwrap().to_string();
        let verify = format!("{BASE}{id}/pay/verify/");
        let (status, _) = status_and_body(app.post_as(&customer.access, &verify, json!({"reference": "atl_nope"})).await).await;
        assert_eq!(status, StatusCode::NOT_FOUND);
        let (status, _) = status_and_body(app.post_as(&tailor.access, &verify, json!({"reference": reference})).await).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "the customer's payment, not the tailor's");

        paystack.report_paid_amount(Some(100));
        let (status, body) = status_and_body(app.post_as(&customer.access, &verify, json!({"reference": reference})).await).await;
        assert_eq!((status, body["code"].clone()), (StatusCode::CONFLICT, json!("payment_mismatch")), "{body}");
        assert_eq!(detail(&app, &customer, &id).await["status"], "awaiting_deposit");

        paystack.report_paid_amount(None);
        let (status, body) = status_and_body(app.post_as(&customer.access, &verify, json!({"reference": reference})).await).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        assert_eq!((body["status"].clone(), body["purpose"].clone()), (json!("paid"), json!("deposit")));
        assert_eq!(detail(&app, &customer, &id).await["status"], "in_progress");
        paystack_pays(&app, &reference, 40_000).await;
        assert_eq!(detail(&app, &customer, &id).await["paid_kobo"], 40_000, "the late webhook changes nothing");
    }

    async fn concurrent_webhooks_for_one_charge_pay_it_once(backend) {
        let (app, paystack) = atelier(backend).await;
        let (customer, _tailor, id) = quoted(&app, 100_000, 40).await;
        let (_, accepted) = accept(&app, &customer, &id, "k", json!({})).await;
        let reference = accepted["payment"]["reference"].as_str().unwrap().to_string();
        futures_util::future::join_all((0..8).map(|_| paystack_pays(&app, &reference, 40_000))).await;
        let now = detail(&app, &customer, &id).await;
        assert_eq!((now["status"].clone(), now["paid_kobo"].clone()), (json!("in_progress"), json!(40_000)), "{now}");
        assert_eq!(kinds(&now).iter().filter(|k| *k == "deposit_paid").count(), 1);
        tokio::time::sleep(Duration::from_millis(1200)).await;
        assert!(paystack.refunds().is_empty());
    }

    async fn two_staff_deciding_one_dispute_at_once_decide_it_once(backend) {
        let (app, paystack) = atelier(backend).await;
        let (customer, _tailor, id) = started(&app).await;
        let dispute = disputed(&app, &customer, &id).await;
        let root = staff(&app).await;
        let ((a, a_body), (b, b_body)) = tokio::join!(
            resolve(&app, &root, &dispute, json!({"outcome": "refund", "amount_kobo": 10_000})),
            resolve(&app, &root, &dispute, json!({"outcome": "release"})),
        );
        let mut statuses = [a, b];
        statuses.sort();
        assert_eq!(statuses, [StatusCode::OK, StatusCode::CONFLICT], "{a_body} {b_body}");
        let loser = if a == StatusCode::CONFLICT { &a_body } else { &b_body };
        assert_eq!(loser["code"], "already_resolved", "{loser}");
        let now = detail(&app, &customer, &id).await;
        if a == StatusCode::OK {
            assert_eq!((now["status"].clone(), now["refunded_kobo"].clone()), (json!("refunded"), json!(10_000)));
            assert_eq!(refund_amounts(&refunds_sent(&paystack, 1).await), vec![10_000]);
        } else {
            assert_eq!((now["status"].clone(), now["refunded_kobo"].clone()), (json!("completed"), json!(0)));
        }
    }

    async fn an_account_with_a_commission_in_motion_cannot_be_deleted(backend) {
        let (app, _paystack) = atelier(backend).await;
        let (customer, tailor, id, _) = paid_deposit(&app).await;
        for who in [&customer, &tailor] {
            let response = app.client.delete(app.url("/auth/api/users/me/")).bearer_auth(&who.access)
                .json(&json!({"password": who.password})).send().await.unwrap();
            let (status, body) = status_and_body(response).await;
            assert_eq!((status, body["code"].clone()), (StatusCode::CONFLICT, json!("account_has_open_orders")), "{body}");
            assert_eq!(body["open_orders"], json!([]));
            assert_eq!(body["open_commissions"], json!([id]));
        }
        assert_eq!(detail(&app, &tailor, &id).await["status"], "in_progress", "both accounts are still there");
    }

    async fn of_a_first_progress_update_and_a_customer_cancel_at_once_exactly_one_wins(backend) {
        let (app, _paystack) = atelier(backend).await;
        let (customer, tailor, _) = requested_commission(&app).await;
        for round in 0..6 {
            let (_, created) = status_and_body(app.post_as(&customer.access, BASE, json!({
                "tailor_id": tailor.id, "garment_type": "Buba", "description": "Round", "fabric": "customer_supplies"
            })).await).await;
            let id = created["id"].as_str().unwrap().to_string();
            quote(&app, &tailor, &id, terms(20_000, 0)).await;
            let (status, _) = accept(&app, &customer, &id, "k", json!({})).await;
            assert_eq!(status, StatusCode::OK);
            let ((worked, w_body), (cancelled, c_body)) = tokio::join!(
                act(&app, &tailor, &id, "progress", json!({"stage": "cutting"})),
                act(&app, &customer, &id, "cancel", json!({})),
            );
            let now = detail(&app, &customer, &id).await;
            match (worked, cancelled) {
                (StatusCode::OK, StatusCode::CONFLICT) => {
                    assert_eq!(c_body["code"], "work_started", "round {round}: {c_body}");
                    assert_eq!(now["status"], "in_progress");
                }
                (StatusCode::CONFLICT, StatusCode::OK) => {
                    assert_eq!(w_body["code"], "invalid_state", "round {round}: {w_body}");
                    assert_eq!(now["status"], "cancelled");
                }
                other => panic!("round {round}: {other:?} {w_body} {c_body}"),
            }
        }
    }

    async fn an_accept_racing_a_requote_never_says_it_cannot_accept_a_quoted_commission(backend) {
        let (app, _paystack) = atelier(backend).await;
        let (customer, tailor, _) = requested_commission(&app).await;
        for round in 0..8 {
            let (_, created) = status_and_body(app.post_as(&customer.access, BASE, json!({
                "tailor_id": tailor.id, "garment_type": "Buba", "description": "Round", "fabric": "customer_supplies"
            })).await).await;
            let id = created["id"].as_str().unwrap().to_string();
            quote(&app, &tailor, &id, terms(20_000, 0)).await;
            let key = format!("round-{round}");
            let ((accepted, a_body), (requoted, q_body)) = tokio::join!(
                accept(&app, &customer, &id, &key, json!({})),
                act(&app, &tailor, &id, "quote", terms(20_000 + round, 0)),
            );
            assert!(!accepted.is_server_error() && !requoted.is_server_error(), "{a_body} {q_body}");
            if accepted == StatusCode::CONFLICT {
                assert_eq!(a_body["code"], "quote_changed", "round {round}: {a_body}");
                assert_eq!(detail(&app, &customer, &id).await["status"], "quoted");
            }
            if requoted == StatusCode::CONFLICT {
                assert_eq!(q_body["code"], "invalid_state", "round {round}: {q_body}");
                assert_eq!(detail(&app, &customer, &id).await["status"], "in_progress");
            }
        }
    }
}
