//! Every event that notifies someone does so once, with the right kind,
//! link and object; chat messages only reach offline members this way; new
//! notifications and read marks arrive live on the user's sockets, on any
//! instance.

use std::time::Duration;

use chrono::{DateTime, Utc};
use reqwest::StatusCode;
use serde_json::{Value, json};

use atelier::notifications::{Kind, Link, NewNotification, notify};

use crate::avatar::{buy, deliver};
use crate::both_backends;
use crate::chat_cluster::{cluster_services, two_instances};
use crate::chat_support::{ChatSocket, conversation, send_rest};
use crate::fittings::{book, every_day, nine_to_five, open_tailor, slots};
use crate::helpers::{TestApp, TestUser, body_of, status_and_body};
use crate::notifications::{db, feed, uuid};

/// `who`'s whole feed, newest first, once it has at least `n` entries
/// (polling up to 10 s for those written after a response).
async fn feed_of(app: &TestApp, who: &TestUser, n: usize) -> Vec<Value> {
    let mut results = Vec::new();
    for _ in 0..100 {
        let (status, page) = feed(app, who, "?page_size=100").await;
        assert_eq!(status, StatusCode::OK, "{page}");
        results = page["results"].as_array().unwrap().clone();
        if results.len() >= n {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    results
}

fn of_kind<'a>(feed: &'a [Value], kind: &str) -> Vec<&'a Value> {
    feed.iter().filter(|n| n["kind"] == kind).collect()
}

/// The one notification of `kind` (with `title`, if given).
fn one<'a>(feed: &'a [Value], kind: &str, title: Option<&str>) -> &'a Value {
    let found: Vec<&Value> = of_kind(feed, kind)
        .into_iter()
        .filter(|n| title.is_none_or(|t| n["title"] == t))
        .collect();
    assert_eq!(found.len(), 1, "one {kind} {title:?} in {feed:#?}");
    found[0]
}

async fn tailor_with_product(app: &TestApp, name: &str) -> (TestUser, Value) {
    let tailor = app
        .verified_user_with(name, json!({"role": "tailor"}))
        .await;
    let (status, product) = status_and_body(app.post_as(&tailor.access, "/shop/api/product/upload/", json!({
        "name": "Kaftan", "kind": "ready_made", "price": 1_000_000, "variants": [{"size": "M", "stock": 100}],
    })).await).await;
    assert_eq!(status, StatusCode::CREATED, "{product}");
    (tailor, product)
}

async fn wait_for_email(app: &TestApp, to: &str, needle: &str) {
    for _ in 0..100 {
        if app
            .smtp
            .emails_to(to)
            .iter()
            .any(|e| e.data.contains(needle))
        {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("no email to {to} with {needle:?}");
}

both_backends! {
    async fn orders_reviews_and_follows_notify_the_other_party_once(backend) {
        let app = TestApp::spawn(backend).await;
        let (ade, product) = tailor_with_product(&app, "ade").await;
        let bisi = app.verified_user("bisi").await;
        let order = buy(&app, &bisi, &product, "first").await;
        let order_id = order["id"].as_str().unwrap();
        deliver(&app, &ade, &order).await;
        let done = app.client.patch(app.url(&format!("/shop/api/orders/{order_id}/status/"))).bearer_auth(&bisi.access)
            .json(&json!({"status": "completed"})).send().await.unwrap();
        assert_eq!(done.status(), StatusCode::OK);
        let review = json!({"tailor_id": ade.id, "rating": 5, "feedback": "Perfect fit."});
        assert_eq!(app.post_as(&bisi.access, "/tailor/api/rating/", review).await.status(), StatusCode::CREATED);
        let edit = json!({"tailor_id": ade.id, "rating": 4});
        assert!(app.post_as(&bisi.access, "/tailor/api/rating/", edit).await.status().is_success());
        for path in ["follow", "follow", "unfollow", "follow"] {
            let response = app.post_as(&bisi.access, &format!("/auth/api/{path}/"), json!({"user_id": ade.id})).await;
            assert!(response.status().is_success(), "{path}: {}", response.text().await.unwrap());
        }

        let customer = feed_of(&app, &bisi, 2).await;
        assert_eq!(customer.len(), 2, "{customer:#?}");
        let shipped = one(&customer, "order_status", Some("Your order has shipped"));
        assert_eq!((shipped["link"].as_str(), shipped["object_id"].as_str()), (Some(format!("atelier://orders/{order_id}").as_str()), Some(order_id)));
        one(&customer, "order_status", Some("Your order was delivered"));
        wait_for_email(&app, "bisi@example.com", "Your order has shipped").await;

        let tailor = feed_of(&app, &ade, 4).await;
        assert_eq!(tailor.len(), 4, "{tailor:#?}");
        let placed = one(&tailor, "order_status", Some("New order"));
        assert_eq!(placed["link"], format!("atelier://orders/{order_id}"));
        one(&tailor, "order_status", Some("Order completed"));
        let reviewed = one(&tailor, "new_review", None);
        assert_eq!(reviewed["link"], format!("atelier://tailors/{}", ade.id));
        assert!(reviewed["body"].as_str().unwrap().contains("bisi"));
        let followed = one(&tailor, "new_follower", None);
        assert_eq!(followed["object_id"], bisi.id.as_str());
        assert_eq!(feed(&app, &ade, "").await.1["unread_count"], 4);
    }

    async fn a_commission_notifies_each_step_to_the_party_it_concerns(backend) {
        let (app, _paystack) = crate::commissions::atelier(backend).await;
        let (customer, tailor, id) = crate::commissions::ready(&app).await;
        let link = format!("atelier://commissions/{id}");
        let theirs = feed_of(&app, &tailor, 2).await;
        assert_eq!(theirs.len(), 2, "{theirs:#?}");
        assert_eq!(one(&theirs, "commission_request", None)["link"], link.as_str());
        one(&theirs, "payment", None);
        let mine = feed_of(&app, &customer, 5).await;
        assert_eq!(mine.len(), 5, "{mine:#?}");
        let quote = one(&mine, "commission_quote", None);
        assert_eq!((quote["link"].as_str(), quote["object_id"].as_str()), (Some(link.as_str()), Some(id.as_str())));
        one(&mine, "payment", None);
        assert_eq!(of_kind(&mine, "commission_stage").len(), 2, "cutting and sewing");
        one(&mine, "commission_ready", None);
        wait_for_email(&app, "ada@example.com", "Your commission is ready").await;
    }

    async fn a_refund_tells_the_customer_once(backend) {
        let (app, _paystack) = crate::commissions::atelier(backend).await;
        let (customer, _tailor, id, _) = crate::commissions::paid_deposit(&app).await;
        let (status, body) = crate::commissions::act(&app, &customer, &id, "cancel", json!({"reason": "Plans changed."})).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        let mine = feed_of(&app, &customer, 3).await;
        let refund = one(&mine, "refund", None);
        assert_eq!((refund["link"].clone(), refund["object_id"].clone()), (json!(format!("atelier://commissions/{id}")), json!(id)));
        assert!(refund["body"].as_str().unwrap().contains("NGN 400.00"), "{refund}");
    }

    async fn fittings_notify_requests_confirmations_and_reminders(backend) {
        let app = TestApp::spawn_with(backend, |s| s.fittings.reminder_poll = Duration::from_millis(200)).await;
        let ade = open_tailor(&app, "ade", nine_to_five("Africa/Lagos")).await;
        let bisi = app.verified_user("bisi").await;
        let open = slots(&app, &bisi, &ade, "").await;
        let (status, booking) = book(&app, &bisi, &ade, &open[3]["start"]).await;
        assert_eq!(status, StatusCode::CREATED, "{booking}");
        let id = booking["id"].as_str().unwrap();
        let tailor = feed_of(&app, &ade, 1).await;
        let requested = one(&tailor, "fitting_requested", Some("Fitting request"));
        assert_eq!((requested["link"].as_str(), requested["object_id"].as_str()), (Some(format!("atelier://fittings/{id}").as_str()), Some(id)));
        let accepted = app.post_as(&ade.access, &format!("/tailor/api/booking/accept/{id}/"), json!({})).await;
        assert_eq!(accepted.status(), StatusCode::OK);
        let customer = feed_of(&app, &bisi, 1).await;
        assert_eq!(one(&customer, "fitting_confirmed", None)["link"], format!("atelier://fittings/{id}"));

        // A fitting within the hour: one reminder each, and one reminder email each.
        let allday = json!({"time_zone": "UTC", "slot_minutes": 30, "horizon_days": 5, "min_notice_minutes": 0,
            "requires_approval": false, "weekly_hours": every_day(json!([{"start": "00:00", "end": "23:59"}]))});
        let kemi = open_tailor(&app, "kemi", allday).await;
        let kola = app.verified_user("kola").await;
        let soon = slots(&app, &kola, &kemi, "").await[0].clone();
        let start: DateTime<Utc> = soon["start"].as_str().unwrap().parse().unwrap();
        assert!(start - Utc::now() < chrono::Duration::minutes(60));
        assert_eq!(book(&app, &kola, &kemi, &soon["start"]).await.0, StatusCode::CREATED);
        app.smtp.wait_for_nth("kemi@example.com", 2).await;
        let kemis = feed_of(&app, &kemi, 2).await;
        one(&kemis, "fitting_requested", Some("New fitting booked"));
        one(&kemis, "fitting_reminder", None);
        let kolas = feed_of(&app, &kola, 1).await;
        assert_eq!(one(&kolas, "fitting_reminder", None)["body"], "Your fitting starts in 1 hour.");
        tokio::time::sleep(Duration::from_millis(800)).await;
        let reminders = app.smtp.emails_to("kola@example.com").iter().filter(|e| e.data.contains("Fitting reminder")).count();
        assert_eq!(reminders, 1, "the reminder email is sent once, by the reminders");
        assert_eq!(feed_of(&app, &kola, 1).await.len(), 1);
    }

    async fn chat_messages_notify_only_members_without_a_socket(backend) {
        let app = TestApp::spawn(backend).await;
        let ada = app.verified_user("ada").await;
        let tobi = app.verified_user("tobi").await;
        let conv = conversation(&app, &ada, &tobi).await;
        let mut tobi_ws = ChatSocket::connect(&app.address, &tobi).await;
        send_rest(&app, &ada, &conv, "c-1", "Online?").await;
        tobi_ws.next_of("message.new").await;
        tokio::time::sleep(Duration::from_millis(500)).await;
        assert_eq!(feed(&app, &tobi, "").await.1["count"], 0, "tobi saw it live");
        tobi_ws.close().await;
        tokio::time::sleep(Duration::from_millis(300)).await;

        let (status, _) = send_rest(&app, &ada, &conv, "c-2", "Are you there?").await;
        assert_eq!(status, StatusCode::CREATED);
        send_rest(&app, &ada, &conv, "c-2", "Are you there?").await;
        let tobis = feed_of(&app, &tobi, 1).await;
        tokio::time::sleep(Duration::from_millis(300)).await;
        let tobis_now = feed_of(&app, &tobi, 1).await;
        assert_eq!(tobis_now.len(), 1, "a retried send is no new message: {tobis_now:#?}");
        let note = one(&tobis, "chat_message", None);
        assert_eq!(note["link"], format!("atelier://chat/{conv}"));
        assert_eq!((note["collapse_key"].clone(), note["object_id"].clone()), (json!(format!("chat:{conv}")), json!(conv)));
        assert_eq!((note["title"].as_str(), note["body"].as_str()), (Some("ada"), Some("Are you there?")));
        assert_eq!(feed(&app, &ada, "").await.1["count"], 0, "never the sender");
    }

    async fn new_notifications_and_read_marks_reach_every_socket_of_the_user(backend) {
        let app = TestApp::spawn(backend).await;
        let ada = app.verified_user("ada").await;
        let db = db(&app).await;
        let mut phone = ChatSocket::connect(&app.address, &ada).await;
        let mut tablet = ChatSocket::connect(&app.address, &ada).await;
        let id = notify(&db, NewNotification::new(uuid(&ada), Kind::NewFollower, Link::Tailor(uuid(&ada)), "New follower", "tobi started following you.", "test:live"))
            .await.unwrap().unwrap();
        for socket in [&mut phone, &mut tablet] {
            let frame = socket.next_of("notification.new").await;
            assert_eq!((frame["notification"]["id"].as_str(), frame["unread_count"].as_u64()), (Some(id.to_string().as_str()), Some(1)));
            assert_eq!(frame["notification"]["kind"], "new_follower");
        }
        let (status, body) = status_and_body(app.post_as(&ada.access, "/notifications/api/read/", json!({"ids": [id]})).await).await;
        assert_eq!((status, body["unread_count"].as_u64()), (StatusCode::OK, Some(0)));
        for socket in [&mut phone, &mut tablet] {
            let frame = socket.next_of("notification.read").await;
            assert_eq!(frame, json!({"type": "notification.read", "ids": [id], "unread_count": 0}));
        }
        app.post_as(&ada.access, "/notifications/api/read/", json!({"all": true})).await;
        assert_eq!(tablet.next_of("notification.read").await, json!({"type": "notification.read", "all": true, "unread_count": 0}));
        let _ = body_of;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn notifications_cross_instances_and_online_anywhere_means_no_chat_notification() {
    let Some(redis) = cluster_services() else {
        return;
    };
    let (a, b_address, _stop_b) = two_instances(&redis).await;
    let ada = a.verified_user("ada").await;
    let tobi = a.verified_user("tobi").await;
    let conv = conversation(&a, &ada, &tobi).await;
    let mut tobi_on_b = ChatSocket::connect(&b_address, &tobi).await;
    // Online on B only: a message sent through A is live there, not a notification.
    send_rest(&a, &ada, &conv, "c-1", "Hello from A").await;
    tobi_on_b.next_of("message.new").await;
    tokio::time::sleep(Duration::from_millis(800)).await;
    assert_eq!(feed(&a, &tobi, "").await.1["count"], 0);

    let db = db(&a).await;
    let id = notify(
        &db,
        NewNotification::new(
            uuid(&tobi),
            Kind::NewFollower,
            Link::Tailor(uuid(&tobi)),
            "New follower",
            "b",
            "test:cluster",
        ),
    )
    .await
    .unwrap()
    .unwrap();
    let frame = tobi_on_b.next_of("notification.new").await;
    assert_eq!(
        (
            frame["notification"]["id"].as_str(),
            frame["unread_count"].as_u64()
        ),
        (Some(id.to_string().as_str()), Some(1))
    );
    // Read on A (another device): B's socket hears it.
    let read = a
        .post_as(
            &tobi.access,
            "/notifications/api/read/",
            json!({"all": true}),
        )
        .await;
    assert_eq!(read.status(), StatusCode::OK);
    let frame = tobi_on_b.next_of("notification.read").await;
    assert_eq!(
        (frame["all"].as_bool(), frame["unread_count"].as_u64()),
        (Some(true), Some(0))
    );

    tobi_on_b.close().await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    send_rest(&a, &ada, &conv, "c-2", "Gone?").await;
    let tobis = feed_of(&a, &tobi, 2).await;
    assert_eq!(of_kind(&tobis, "chat_message").len(), 1, "{tobis:#?}");
}
