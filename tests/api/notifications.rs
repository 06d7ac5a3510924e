//! The notification feed, read marks, devices, preferences, and what the
//! delivery job queues (pushes held for quiet hours, emails by preference).

use std::time::Duration;

use chrono::{DateTime, TimeDelta, Timelike, Utc};
use reqwest::StatusCode;
use sea_orm::{ColumnTrait, DatabaseConnection, EntityTrait, PaginatorTrait, QueryFilter};
use serde_json::{Value, json};
use uuid::Uuid;

use atelier::notifications::{Kind, Link, NewNotification, notify};
use atelier::storage::entities::{job, notification, notification_device};

use crate::both_backends;
use crate::helpers::{PASSWORD, TestApp, TestUser, body_of, status_and_body};

pub const FEED: &str = "/notifications/api/";

pub async fn db(app: &TestApp) -> DatabaseConnection {
    atelier::storage::connect(&app.database.url, 2, Duration::from_secs(5))
        .await
        .unwrap()
}

pub fn uuid(who: &TestUser) -> Uuid {
    who.id.parse().unwrap()
}

pub async fn feed(app: &TestApp, who: &TestUser, query: &str) -> (StatusCode, Value) {
    status_and_body(app.get_as(&who.access, &format!("{FEED}{query}")).await).await
}

/// Writes `n` notifications for `who` as an event would.
async fn seed(db: &DatabaseConnection, who: &TestUser, n: usize, tag: &str) -> Vec<Uuid> {
    let mut ids = Vec::new();
    for i in 0..n {
        let note = NewNotification::new(
            uuid(who),
            Kind::NewFollower,
            Link::Tailor(uuid(who)),
            format!("Follower {i}"),
            "Someone followed you.",
            format!("test:{tag}:{i}"),
        );
        ids.push(notify(db, note).await.unwrap().expect("new"));
    }
    ids
}

async fn read(app: &TestApp, who: &TestUser, body: Value) -> (StatusCode, Value) {
    status_and_body(
        app.post_as(&who.access, &format!("{FEED}read/"), body)
            .await,
    )
    .await
}

async fn patch_preferences(app: &TestApp, who: &TestUser, body: Value) -> (StatusCode, Value) {
    let response = app
        .client
        .patch(app.url(&format!("{FEED}preferences/")))
        .bearer_auth(&who.access)
        .json(&body)
        .send()
        .await
        .unwrap();
    status_and_body(response).await
}

pub async fn register_device(app: &TestApp, who: &TestUser, token: &str) -> (StatusCode, Value) {
    let body = json!({"token": token, "platform": "android"});
    status_and_body(
        app.post_as(&who.access, &format!("{FEED}devices/"), body)
            .await,
    )
    .await
}

/// The jobs of `kind` whose payload names `needle`, polling up to 10 s
/// until there are `n`.
pub async fn jobs_naming(
    db: &DatabaseConnection,
    kind: &str,
    needle: &str,
    n: usize,
) -> Vec<job::Model> {
    let mut found = Vec::new();
    for _ in 0..100 {
        found = job::Entity::find()
            .filter(job::Column::Kind.eq(kind))
            .all(db)
            .await
            .unwrap()
            .into_iter()
            .filter(|j| {
                j.payload.contains(needle)
                    || j.dedup_key.as_deref().is_some_and(|k| k.contains(needle))
            })
            .collect();
        if found.len() >= n {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    found
}

/// Waits until the notification's delivery job has finished.
pub async fn delivered(db: &DatabaseConnection, notification: Uuid) {
    for _ in 0..100 {
        let done = job::Entity::find()
            .filter(job::Column::DedupKey.eq(format!("deliver:{notification}")))
            .filter(job::Column::Status.eq("done"))
            .count(db)
            .await
            .unwrap();
        if done == 1 {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("notification {notification} was never delivered");
}

fn ids_of(page: &Value) -> Vec<String> {
    page["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n["id"].as_str().unwrap().to_string())
        .collect()
}

both_backends! {
    async fn the_feed_pages_newest_first_and_reads_only_the_callers_own(backend) {
        let app = TestApp::spawn(backend).await;
        let ada = app.verified_user("ada").await;
        let eve = app.verified_user("eve").await;
        let db = db(&app).await;
        let written = seed(&db, &ada, 25, "ada").await;
        let theirs = seed(&db, &eve, 2, "eve").await;
        // The same event again is not a second notification.
        let again = NewNotification::new(uuid(&ada), Kind::NewFollower, Link::Tailor(uuid(&ada)), "x", "y", "test:ada:0");
        assert_eq!(notify(&db, again).await.unwrap(), None);

        let (status, first) = feed(&app, &ada, "").await;
        assert_eq!(status, StatusCode::OK, "{first}");
        assert_eq!((first["count"].as_u64(), first["unread_count"].as_u64()), (Some(25), Some(25)));
        let newest: Vec<String> = written.iter().rev().take(20).map(Uuid::to_string).collect();
        assert_eq!(ids_of(&first), newest, "newest first");
        assert!(first["next"].as_str().unwrap().contains("page=2"));
        let one = &first["results"][0];
        assert_eq!((one["kind"].as_str(), one["read"].as_bool()), (Some("new_follower"), Some(false)));
        assert_eq!(one["link"], format!("atelier://tailors/{}", ada.id));
        let (_, second) = feed(&app, &ada, "?page=2").await;
        assert_eq!(ids_of(&second).len(), 5);
        assert!(second["next"].is_null());
        for page in ["3", "9223372036854775808", "18446744073709551615", "0", "x"] {
            let (status, body) = feed(&app, &ada, &format!("?page={page}")).await;
            assert_eq!(status, StatusCode::NOT_FOUND, "page {page}: {body}");
        }
        let (status, _) = feed(&app, &ada, "?unread=maybe").await;
        assert_eq!(status, StatusCode::BAD_REQUEST);

        // By ids: others' ids change nothing and are not told apart from unknown ones.
        let mine = [written[0].to_string(), written[1].to_string()];
        let body = json!({"ids": [mine[0], mine[1], theirs[0].to_string(), Uuid::now_v7().to_string()]});
        let (status, marked) = read(&app, &ada, body.clone()).await;
        assert_eq!(status, StatusCode::OK, "{marked}");
        assert_eq!(marked, json!({"updated": 2, "unread_count": 23}));
        assert_eq!(read(&app, &ada, body).await.1, json!({"updated": 0, "unread_count": 23}), "once read, read");
        assert_eq!(feed(&app, &eve, "").await.1["unread_count"], 2, "eve's stay unread");
        let (_, unread) = feed(&app, &ada, "?unread=true&page_size=100").await;
        assert_eq!(unread["count"], 23);
        assert!(!ids_of(&unread).contains(&mine[0]));
        let (_, all) = feed(&app, &ada, "?page_size=100").await;
        let first_read = all["results"].as_array().unwrap().iter().find(|n| n["id"] == mine[0].as_str()).unwrap();
        assert_eq!(first_read["read"], true);
        assert!(first_read["read_at"].is_string());

        for bad in [json!({}), json!({"ids": ["nope"]}), json!({"ids": [mine[0]], "all": true}), json!({"ids": "x"})] {
            let (status, body) = read(&app, &ada, bad.clone()).await;
            assert_eq!(status, StatusCode::BAD_REQUEST, "{bad}: {body}");
        }
        assert_eq!(read(&app, &ada, json!({"all": true})).await.1, json!({"updated": 23, "unread_count": 0}));
        assert_eq!(feed(&app, &eve, "").await.1["unread_count"], 2);
        assert_eq!(app.get(FEED).await.status(), StatusCode::UNAUTHORIZED);
    }

    async fn preferences_default_on_and_change_only_what_is_sent(backend) {
        let app = TestApp::spawn(backend).await;
        let ada = app.verified_user("ada").await;
        let (status, defaults) = status_and_body(app.get_as(&ada.access, &format!("{FEED}preferences/")).await).await;
        assert_eq!(status, StatusCode::OK, "{defaults}");
        let kinds = defaults["kinds"].as_array().unwrap();
        assert_eq!(kinds.len(), 15);
        assert!(kinds.iter().all(|k| k["push"] == true));
        let email_kinds: Vec<&str> = kinds.iter().filter(|k| k["email_available"] == true).map(|k| k["kind"].as_str().unwrap()).collect();
        assert_eq!(email_kinds, ["order_status", "commission_ready", "payout_sent"]);
        assert!(kinds.iter().all(|k| k["email"] == k["email_available"]));
        assert_eq!((defaults["time_zone"].as_str(), &defaults["quiet_hours"]), (Some("Africa/Lagos"), &Value::Null));

        let (status, changed) = patch_preferences(&app, &ada, json!({
            "kinds": [{"kind": "order_status", "email": false}, {"kind": "new_follower", "push": false}],
            "time_zone": "Europe/London", "quiet_hours": {"start": "22:00", "end": "07:00"},
        })).await;
        assert_eq!(status, StatusCode::OK, "{changed}");
        let kind = |body: &Value, name: &str| body["kinds"].as_array().unwrap().iter().find(|k| k["kind"] == name).unwrap().clone();
        assert_eq!((kind(&changed, "order_status")["push"].as_bool(), kind(&changed, "order_status")["email"].as_bool()), (Some(true), Some(false)));
        assert_eq!(kind(&changed, "new_follower")["push"], false);
        assert_eq!(changed["time_zone"], "Europe/London");
        assert_eq!(changed["quiet_hours"], json!({"start": "22:00", "end": "07:00"}));
        // A later change of the other column keeps this one.
        let (_, later) = patch_preferences(&app, &ada, json!({"kinds": [{"kind": "order_status", "push": false}]})).await;
        assert_eq!((kind(&later, "order_status")["push"].as_bool(), kind(&later, "order_status")["email"].as_bool()), (Some(false), Some(false)));
        assert_eq!(later["quiet_hours"]["start"], "22:00", "absent fields stay");
        let (_, cleared) = patch_preferences(&app, &ada, json!({"quiet_hours": null})).await;
        assert_eq!((cleared["quiet_hours"].clone(), cleared["time_zone"].clone()), (Value::Null, json!("Europe/London")));

        for (body, field) in [
            (json!({"kinds": [{"kind": "gossip", "push": false}]}), "kinds"),
            (json!({"kinds": [{"kind": "chat_message", "email": true}]}), "kinds"),
            (json!({"time_zone": "Mars/Olympus"}), "time_zone"),
            (json!({"quiet_hours": {"start": "25:00", "end": "07:00"}}), "quiet_hours"),
            (json!({"quiet_hours": {"start": "7", "end": "08:00"}}), "quiet_hours"),
            (json!({"quiet_hours": {"start": "07:00", "end": "07:00"}}), "quiet_hours"),
        ] {
            let (status, errors) = patch_preferences(&app, &ada, body.clone()).await;
            assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
            assert!(errors[field][0].is_string(), "{body}: {errors}");
        }
        let (_, unchanged) = status_and_body(app.get_as(&ada.access, &format!("{FEED}preferences/")).await).await;
        assert_eq!(unchanged["time_zone"], "Europe/London", "a refused change changes nothing");
    }

    async fn devices_register_idempotently_move_between_accounts_and_are_capped(backend) {
        let app = TestApp::spawn(backend).await;
        let ada = app.verified_user("ada").await;
        let eve = app.verified_user("eve").await;
        let db = db(&app).await;
        let token = format!("fcm-{}", "x".repeat(160));
        let (status, device) = register_device(&app, &ada, &token).await;
        assert_eq!(status, StatusCode::CREATED, "{device}");
        assert_eq!(device["platform"], "android");
        let (status, again) = register_device(&app, &ada, &token).await;
        assert_eq!((status, &again["id"]), (StatusCode::OK, &device["id"]), "the same install again");
        // Eve signs in on ada's phone: the token is eve's now, ada's no more.
        assert_eq!(register_device(&app, &eve, &token).await.0, StatusCode::CREATED);
        let owner = notification_device::Entity::find().filter(notification_device::Column::Token.eq(&token))
            .one(&db).await.unwrap().unwrap();
        assert_eq!(owner.user_id, uuid(&eve));
        let remove = |who: &TestUser, token: &str| {
            let request = app.client.delete(app.url(&format!("{FEED}devices/{token}/"))).bearer_auth(&who.access);
            async move { request.send().await.unwrap().status() }
        };
        assert_eq!(remove(&ada, &token).await, StatusCode::NOT_FOUND, "not ada's any more");
        assert_eq!(remove(&eve, &token).await, StatusCode::NO_CONTENT);
        assert_eq!(remove(&eve, &token).await, StatusCode::NOT_FOUND);

        for (body, field) in [
            (json!({"token": "", "platform": "android"}), "token"),
            (json!({"platform": "android"}), "token"),
            (json!({"token": "t".repeat(4097), "platform": "ios"}), "token"),
            (json!({"token": "abc", "platform": "windows"}), "platform"),
            (json!({"token": "abc"}), "platform"),
        ] {
            let (status, errors) = status_and_body(app.post_as(&ada.access, &format!("{FEED}devices/"), body.clone()).await).await;
            assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
            assert!(errors[field][0].is_string(), "{body}: {errors}");
        }
        assert_eq!(register_device(&app, &ada, &"t".repeat(4096)).await.0, StatusCode::CREATED);

        // At most 20: the install unseen for longest goes.
        for n in 0..21 {
            assert_eq!(register_device(&app, &ada, &format!("phone-{n}")).await.0, StatusCode::CREATED);
        }
        let kept: Vec<String> = notification_device::Entity::find().filter(notification_device::Column::UserId.eq(uuid(&ada)))
            .all(&db).await.unwrap().into_iter().map(|d| d.token).collect();
        assert_eq!(kept.len(), 20);
        assert!(!kept.contains(&"t".repeat(4096)) && !kept.contains(&"phone-0".to_string()), "{kept:?}");
        assert!(kept.contains(&"phone-20".to_string()));
    }

    async fn concurrent_registrations_keep_one_owner_per_token_and_the_cap(backend) {
        let app = TestApp::spawn(backend).await;
        let ada = app.verified_user("ada").await;
        let eve = app.verified_user("eve").await;
        let db = db(&app).await;
        let shared = (0..12).map(|i| if i % 2 == 0 { &ada } else { &eve }).map(|who| register_device(&app, who, "shared-phone"));
        let statuses: Vec<StatusCode> = futures_util::future::join_all(shared).await.into_iter().map(|(s, _)| s).collect();
        assert!(statuses.iter().all(|s| *s == StatusCode::OK || *s == StatusCode::CREATED), "{statuses:?}");
        let rows = notification_device::Entity::find().filter(notification_device::Column::Token.eq("shared-phone")).count(&db).await.unwrap();
        assert_eq!(rows, 1);
        let names: Vec<String> = (0..30).map(|n| format!("phone-{n}")).collect();
        let many = names.iter().map(|token| register_device(&app, &ada, token));
        let outcomes = futures_util::future::join_all(many).await;
        assert!(outcomes.iter().all(|(s, _)| *s == StatusCode::CREATED), "{outcomes:?}");
        let kept = notification_device::Entity::find().filter(notification_device::Column::UserId.eq(uuid(&ada))).count(&db).await.unwrap();
        assert_eq!(kept, 20, "never more than the cap");
    }

    async fn pushes_are_queued_per_device_and_held_until_quiet_hours_end(backend) {
        let app = TestApp::spawn(backend).await;
        let ada = app.verified_user("ada").await;
        let db = db(&app).await;
        for token in ["phone-a", "phone-b"] {
            assert_eq!(register_device(&app, &ada, token).await.0, StatusCode::CREATED);
        }
        // Quiet from an hour ago to two hours from now, Lagos time (UTC+1, no DST).
        let lagos_now = Utc::now() + TimeDelta::hours(1);
        let hm = |t: DateTime<Utc>| format!("{:02}:{:02}", t.hour(), t.minute());
        let (start, end) = (lagos_now - TimeDelta::hours(1), lagos_now + TimeDelta::hours(2));
        let (status, body) = patch_preferences(&app, &ada, json!({"quiet_hours": {"start": hm(start), "end": hm(end)}})).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        let held = notify(&db, NewNotification::new(uuid(&ada), Kind::NewFollower, Link::Tailor(uuid(&ada)), "New follower", "b", "test:held"))
            .await.unwrap().unwrap();
        let pushes = jobs_naming(&db, "push.send", &held.to_string(), 2).await;
        assert_eq!(pushes.len(), 2, "one per device");
        let expected_end = Utc::now() + TimeDelta::hours(2);
        for push in &pushes {
            assert_eq!(push.status, "queued");
            let off = (push.run_at - expected_end).num_seconds().abs();
            assert!(off <= 120, "held until the end of quiet hours: {} vs {expected_end}", push.run_at);
            let payload: Value = serde_json::from_str(&push.payload).unwrap();
            assert_eq!(payload["notification_id"], held.to_string());
            assert!(payload["device_id"].is_string());
        }
        // Urgent kinds are not held.
        let urgent = notify(&db, NewNotification::new(uuid(&ada), Kind::FittingReminder, Link::Fitting(Uuid::now_v7()), "Fitting reminder", "b", "test:urgent"))
            .await.unwrap().unwrap();
        let now_pushes = jobs_naming(&db, "push.send", &urgent.to_string(), 2).await;
        assert_eq!(now_pushes.len(), 2);
        assert!(now_pushes.iter().all(|p| p.run_at <= Utc::now()), "urgent: at once");
        // Push off for a kind: no push jobs.
        patch_preferences(&app, &ada, json!({"kinds": [{"kind": "new_review", "push": false}]})).await;
        let quiet = notify(&db, NewNotification::new(uuid(&ada), Kind::NewReview, Link::Tailor(uuid(&ada)), "New review", "b", "test:off"))
            .await.unwrap().unwrap();
        delivered(&db, quiet).await;
        assert!(jobs_naming(&db, "push.send", &quiet.to_string(), 1).await.is_empty());
    }

    async fn the_email_follows_the_preference(backend) {
        let app = TestApp::spawn(backend).await;
        let ada = app.verified_user("ada").await;
        let db = db(&app).await;
        let shipped = |tag: &str| NewNotification::new(uuid(&ada), Kind::OrderStatus, Link::Order(Uuid::now_v7()),
            "Your order has shipped", "Order ABC is on its way to you.", format!("order:{}:status:shipped:{}", tag, ada.id));
        let first = notify(&db, shipped("1")).await.unwrap().unwrap();
        let email = app.smtp.wait_for_nth("ada@example.com", 2).await;
        assert!(email.data.contains("Your order has shipped"), "{}", email.data);
        delivered(&db, first).await;
        // Other statuses are not worth an email.
        let processing = NewNotification::new(uuid(&ada), Kind::OrderStatus, Link::Order(Uuid::now_v7()),
            "Being prepared", "b", format!("order:2:status:processing:{}", ada.id));
        let processing = notify(&db, processing).await.unwrap().unwrap();
        delivered(&db, processing).await;
        let (status, _) = patch_preferences(&app, &ada, json!({"kinds": [{"kind": "order_status", "email": false}]})).await;
        assert_eq!(status, StatusCode::OK);
        let second = notify(&db, shipped("3")).await.unwrap().unwrap();
        delivered(&db, second).await;
        tokio::time::sleep(Duration::from_millis(500)).await;
        assert_eq!(app.smtp.emails_to("ada@example.com").len(), 2, "the code, then one shipped email");
    }

    async fn notifications_devices_and_preferences_leave_with_the_account_and_are_exported(backend) {
        let app = TestApp::spawn(backend).await;
        let ada = app.verified_user("ada").await;
        let db = db(&app).await;
        seed(&db, &ada, 3, "ada").await;
        register_device(&app, &ada, "phone-a").await;
        patch_preferences(&app, &ada, json!({"kinds": [{"kind": "new_follower", "push": false}]})).await;
        let (status, export) = status_and_body(app.get_as(&ada.access, "/auth/api/users/me/export/").await).await;
        assert_eq!(status, StatusCode::OK, "{export}");
        let part = &export["notifications"];
        assert_eq!(part["notifications"].as_array().unwrap().len(), 3);
        assert_eq!(part["devices"].as_array().unwrap().len(), 1);
        assert!(!export.to_string().contains("phone-a"), "push tokens stay out of the export");
        assert_eq!(part["preferences"]["kinds"].as_array().unwrap().len(), 15);

        let deleted = app.client.delete(app.url("/auth/api/users/me/")).bearer_auth(&ada.access)
            .json(&json!({"password": PASSWORD})).send().await.unwrap();
        assert_eq!(deleted.status(), StatusCode::NO_CONTENT);
        let left = notification::Entity::find().filter(notification::Column::UserId.eq(uuid(&ada))).count(&db).await.unwrap();
        let devices = notification_device::Entity::find().filter(notification_device::Column::UserId.eq(uuid(&ada))).count(&db).await.unwrap();
        assert_eq!((left, devices), (0, 0));
        let _ = body_of;
    }
}
