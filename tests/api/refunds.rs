//! Refunds are jobs: sent once however many instances run the queue, and a
//! send interrupted mid-way is never sent again.

use std::time::Duration;

use atelier::storage::entities::{payment, refund};
use chrono::Utc;
use sea_orm::{ActiveModelTrait, ActiveValue::Set, ColumnTrait, EntityTrait, QueryFilter};
use serde_json::json;
use uuid::Uuid;

use crate::both_backends;
use crate::payments::{
    add_to_cart, buyer_with_cart, cancel, paid_order, refund_settles, shop_with_paystack,
};
use crate::paystack_mock::{RefundAnswer, SECRET};

both_backends! {
    async fn each_refund_is_sent_once_with_two_instances_running(backend) {
        let (app, paystack) = shop_with_paystack(backend, |s| s.payments.refund_retry_after = Duration::from_millis(200)).await;
        let url = paystack.url.clone();
        let (_second, _stop) = app.second_instance_with(move |s| {
            s.payments.paystack_secret_key = Some(SECRET.into());
            s.payments.paystack_base_url = url;
            s.payments.refund_retry_after = Duration::from_millis(200);
        }).await;
        let (_, buyer, product) = buyer_with_cart(&app).await;
        let mut orders = Vec::new();
        for key in ["p1", "p2", "p3"] {
            if !orders.is_empty() {
                add_to_cart(&app, &buyer, &product, 1).await;
            }
            orders.push(paid_order(&app, &buyer, key).await);
        }
        // The first send is turned away for now: its retry may run anywhere.
        paystack.answer_refunds(&[RefundAnswer::Busy]);
        for (id, _) in &orders {
            cancel(&app, &buyer, id).await;
        }
        for (id, _) in &orders {
            assert_eq!(refund_settles(&app, &buyer, id).await, "sent");
        }
        tokio::time::sleep(Duration::from_millis(1500)).await;
        let sent = paystack.refunds();
        assert_eq!(sent.len(), 4, "three refunds, one retried once: {sent:?}");
        let busy = &sent[0]["transaction"];
        for (_, reference) in &orders {
            let times = sent.iter().filter(|r| r["transaction"] == json!(reference)).count();
            let expected = if busy == &json!(reference) { 2 } else { 1 };
            assert_eq!(times, expected, "{reference}: {sent:?}");
        }
    }

    async fn a_send_interrupted_mid_way_waits_for_staff(backend) {
        let (app, paystack) = shop_with_paystack(backend, |_| {}).await;
        let (_, buyer, _) = buyer_with_cart(&app).await;
        let (order_id, reference) = paid_order(&app, &buyer, "p1").await;
        let db = atelier::storage::connect(&app.database.url, 2, Duration::from_secs(5)).await.unwrap();
        let paid = payment::Entity::find().filter(payment::Column::Reference.eq(reference.as_str()))
            .one(&db).await.unwrap().unwrap();
        // As a process that died after marking its send and before hearing
        // back leaves it, once the claim's lease has passed.
        let id = Uuid::now_v7();
        let now = Utc::now();
        refund::ActiveModel {
            id: Set(id), order_id: Set(Some(order_id.parse().unwrap())), commission_id: Set(None),
            payment_id: Set(paid.id), reference: Set(reference.clone()), amount_kobo: Set(paid.amount_kobo),
            currency: Set(paid.currency.clone()), status: Set("queued".into()), attempts: Set(1),
            next_attempt_at: Set(now - chrono::Duration::seconds(1)), provider_id: Set(None),
            last_error: Set(Some("in flight".into())), created_at: Set(now), updated_at: Set(now),
        }.insert(&db).await.unwrap();
        let job = atelier::jobs::NewJob::new("refund.send", &json!({"refund_id": id})).dedup_key(format!("refund:{id}"));
        assert!(atelier::jobs::enqueue(&db, job).await.unwrap());

        let mut status = String::new();
        for _ in 0..100 {
            status = refund::Entity::find_by_id(id).one(&db).await.unwrap().unwrap().status;
            if status != "queued" {
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        assert_eq!(status, "unconfirmed");
        tokio::time::sleep(Duration::from_millis(500)).await;
        assert!(paystack.refunds().is_empty(), "an unknown outcome is not sent again");
    }
}
