//! Pushes through the job queue to an FCM stand-in: the payload a phone
//! gets, a dead token removed, 503 + Retry-After honoured, one push per
//! event and device with two instances sending.

use std::time::{Duration, Instant};

use atelier::jobs::enqueue;
use atelier::notifications::push::FcmSettings;
use atelier::notifications::push_job::push_job;
use atelier::storage::entities::{job, notification, notification_device};
use chrono::Utc;
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter,
};
use serde_json::Value;
use uuid::Uuid;

use crate::both_backends;
use crate::fcm_standin::{Behaviour, FcmStandIn, write_service_account};
use crate::helpers::{Backend, TestApp};

pub fn fcm_settings(standin: &FcmStandIn) -> FcmSettings {
    FcmSettings {
        service_account_file: Some(write_service_account(standin)),
        token_url: Some(standin.token_url()),
        base_url: standin.base_url(),
    }
}

struct Pushing {
    app: TestApp,
    fcm: FcmStandIn,
    db: DatabaseConnection,
    user: Uuid,
}

async fn pushing(backend: Backend) -> Pushing {
    let fcm = FcmStandIn::start().await;
    let settings = fcm_settings(&fcm);
    let app = TestApp::spawn_with(backend, |s| s.fcm = settings).await;
    let user = app.verified_user("ada").await.id.parse().unwrap();
    let db = atelier::storage::connect(&app.database.url, 4, Duration::from_secs(5))
        .await
        .unwrap();
    Pushing { app, fcm, db, user }
}

async fn notification_for(db: &DatabaseConnection, user: Uuid, title: &str) -> Uuid {
    let id = Uuid::now_v7();
    notification::ActiveModel {
        id: Set(id),
        user_id: Set(user),
        kind: Set("chat_message".into()),
        title: Set(title.into()),
        body: Set("Your agbada is ready for a fitting".into()),
        link: Set("atelier://chat/c0ffee".into()),
        object_id: Set(Some("c0ffee".into())),
        collapse_key: Set(Some("chat:c0ffee".into())),
        dedup_key: Set(None),
        read_at: Set(None),
        created_at: Set(Utc::now()),
    }
    .insert(db)
    .await
    .unwrap();
    id
}

async fn device(db: &DatabaseConnection, user: Uuid, token: &str, platform: &str) -> Uuid {
    let id = Uuid::now_v7();
    notification_device::ActiveModel {
        id: Set(id),
        user_id: Set(user),
        token: Set(token.into()),
        platform: Set(platform.into()),
        created_at: Set(Utc::now()),
        updated_at: Set(Utc::now()),
    }
    .insert(db)
    .await
    .unwrap();
    id
}

async fn push_jobs(db: &DatabaseConnection) -> Vec<job::Model> {
    job::Entity::find()
        .filter(job::Column::Kind.eq("push.send"))
        .all(db)
        .await
        .unwrap()
}

async fn wait_until_pushes_finish(db: &DatabaseConnection, count: usize) -> Vec<job::Model> {
    for _ in 0..400 {
        let jobs = push_jobs(db).await;
        if jobs
            .iter()
            .filter(|j| j.status == "done" || j.status == "dead")
            .count()
            >= count
        {
            return jobs;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("pushes not finished within 20 s: {:?}", push_jobs(db).await);
}

async fn wait_received(fcm: &FcmStandIn, count: usize) -> Vec<Value> {
    for _ in 0..400 {
        let received = fcm.received();
        if received.len() >= count {
            return received;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("FCM got {} of {count} pushes", fcm.received().len());
}

both_backends! {
    async fn a_push_carries_the_notification_its_link_and_the_unread_badge(backend) {
        let p = pushing(backend).await;
        notification_for(&p.db, p.user, "Earlier").await;
        let latest = notification_for(&p.db, p.user, "Tunde sent a message").await;
        let android = device(&p.db, p.user, "android-token-1", "android").await;
        let iphone = device(&p.db, p.user, "ios-token-1", "ios").await;
        for device in [android, iphone] {
            enqueue(&p.db, push_job(latest, device)).await.unwrap();
        }

        let received = wait_received(&p.fcm, 2).await;
        let to = |token: &str| received.iter().find(|m| m["message"]["token"] == token).unwrap()["message"].clone();
        let android = to("android-token-1");
        assert_eq!(android["notification"]["title"], "Tunde sent a message");
        assert_eq!(android["data"]["link"], "atelier://chat/c0ffee");
        assert_eq!(android["data"]["kind"], "chat_message");
        assert_eq!(android["data"]["notification_id"], latest.to_string());
        assert_eq!(android["android"]["collapse_key"], "chat:c0ffee", "chat pushes collapse per conversation");
        assert_eq!(android["android"]["notification"]["notification_count"], 2, "the badge is the unread count");
        let ios = to("ios-token-1");
        assert_eq!(ios["apns"]["payload"]["aps"]["badge"], 2);
        assert_eq!(ios["apns"]["headers"]["apns-collapse-id"], "chat:c0ffee");
        assert_eq!(p.fcm.token_requests(), 1, "one access token for both sends");
        drop(p.app);
    }

    async fn a_token_fcm_no_longer_knows_is_removed_and_others_stay(backend) {
        let p = pushing(backend).await;
        p.fcm.script("uninstalled", Behaviour::Unregistered);
        p.fcm.script("stale", Behaviour::InvalidToken);
        let sent = notification_for(&p.db, p.user, "Your order shipped").await;
        let mut devices = Vec::new();
        for token in ["uninstalled", "stale", "still-here"] {
            devices.push(device(&p.db, p.user, token, "android").await);
        }
        for device in &devices {
            enqueue(&p.db, push_job(sent, *device)).await.unwrap();
        }
        let jobs = wait_until_pushes_finish(&p.db, 3).await;
        assert!(jobs.iter().all(|j| j.status == "done"), "{jobs:?}");
        let left: Vec<String> = notification_device::Entity::find().all(&p.db).await.unwrap().into_iter().map(|d| d.token).collect();
        assert_eq!(left, vec!["still-here".to_string()]);
        drop(p.app);
    }

    async fn a_503_is_retried_after_the_time_fcm_asked_for(backend) {
        let p = pushing(backend).await;
        p.fcm.script("busy", Behaviour::Unavailable { times: 1, retry_after: 2 });
        let sent = notification_for(&p.db, p.user, "Fitting tomorrow").await;
        let phone = device(&p.db, p.user, "busy", "android").await;
        let started = Instant::now();
        enqueue(&p.db, push_job(sent, phone)).await.unwrap();

        // Refused once, then waiting about two seconds (not the queue's
        // own one-second backoff).
        let mut waiting = None;
        for _ in 0..100 {
            if let Some(row) = push_jobs(&p.db).await.pop().filter(|j| j.status == "queued" && j.attempts == 1) {
                waiting = Some(row);
                break;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        let waiting = waiting.expect("the push was tried once and is waiting");
        let wait = waiting.run_at - waiting.updated_at;
        assert!(wait >= chrono::TimeDelta::milliseconds(1900), "{wait:?}");
        assert!(waiting.last_error.unwrap().contains("503"));

        let received = wait_received(&p.fcm, 1).await;
        assert!(started.elapsed() >= Duration::from_secs(2));
        assert_eq!(received.len(), 1);
        let row = wait_until_pushes_finish(&p.db, 1).await.pop().unwrap();
        assert_eq!((row.status.as_str(), row.attempts), ("done", 2));
        drop(p.app);
    }

    async fn two_instances_push_each_event_to_each_device_once(backend) {
        let p = pushing(backend).await;
        let settings = fcm_settings(&p.fcm);
        let (_second, _stop) = p.app.second_instance_with(|s| s.fcm = settings).await;
        let phone = device(&p.db, p.user, "phone", "android").await;
        let tablet = device(&p.db, p.user, "tablet", "ios").await;
        let mut expected = Vec::new();
        for n in 0..30 {
            let sent = notification_for(&p.db, p.user, &format!("Event {n}")).await;
            for device in [phone, tablet] {
                enqueue(&p.db, push_job(sent, device)).await.unwrap();
                // The same event reported again: no second job.
                assert!(!enqueue(&p.db, push_job(sent, device)).await.unwrap());
                expected.push((sent.to_string(), device));
            }
        }
        wait_received(&p.fcm, 60).await;
        tokio::time::sleep(Duration::from_millis(700)).await;
        let received = p.fcm.received();
        assert_eq!(received.len(), 60, "one push per event and device");
        let mut pairs: Vec<(String, String)> = received.iter().map(|m| (
            m["message"]["data"]["notification_id"].as_str().unwrap().to_string(),
            m["message"]["token"].as_str().unwrap().to_string(),
        )).collect();
        pairs.sort();
        pairs.dedup();
        assert_eq!(pairs.len(), 60, "no duplicates");
        assert!(p.fcm.token_requests() <= 2, "at most one token per instance");
    }
}

both_backends! {
    async fn a_new_follower_reaches_the_tailors_phone_once_with_two_instances(backend) {
        let fcm = FcmStandIn::start().await;
        let settings = fcm_settings(&fcm);
        let again = fcm_settings(&fcm);
        let app = TestApp::spawn_with(backend, |s| s.fcm = settings).await;
        let (_second, _stop) = app.second_instance_with(|s| s.fcm = again).await;
        let tailor = app.verified_user_with("amaka", serde_json::json!({"role": "tailor"})).await;
        let (status, body) = crate::notifications::register_device(&app, &tailor, "amaka-phone").await;
        assert!(status.is_success(), "{status} {body}");
        let mut fans = Vec::new();
        for name in ["ada", "bola", "chidi"] {
            fans.push(app.verified_user(name).await);
        }
        for fan in &fans {
            let followed = app.post_as(&fan.access, "/auth/api/follow/", serde_json::json!({"user_id": tailor.id})).await;
            assert!(followed.status().is_success(), "{}", followed.status());
            // A second tap: still one follower, one notification.
            app.post_as(&fan.access, "/auth/api/follow/", serde_json::json!({"user_id": tailor.id})).await;
        }

        let received = wait_received(&fcm, 3).await;
        tokio::time::sleep(Duration::from_millis(800)).await;
        assert_eq!(fcm.received().len(), 3, "one push per new follower");
        let message = &received[0]["message"];
        assert_eq!(message["token"], "amaka-phone");
        assert_eq!(message["data"]["kind"], "new_follower");
        assert!(message["data"]["link"].as_str().unwrap().starts_with("atelier://tailors/"), "{message}");
        let badges: Vec<i64> = fcm.received().iter()
            .map(|m| m["message"]["android"]["notification"]["notification_count"].as_i64().unwrap())
            .collect();
        assert!(badges.iter().all(|b| (1..=3).contains(b)), "{badges:?}");
    }
}
