//! The FCM client against the loopback stand-in: real HTTP, real RS256
//! assertions, the documented error answers. No database needed.

use std::sync::Arc;
use std::time::Duration;

use atelier::notifications::push::{FcmClient, FcmSettings, Platform, PushFailure, PushMessage};
use serde_json::json;
use uuid::Uuid;

use crate::fcm_standin::{Behaviour, FcmStandIn, write_service_account};

fn client_for(standin: &FcmStandIn) -> FcmClient {
    let settings = FcmSettings {
        service_account_file: Some(write_service_account(standin)),
        // The key's token_uri already points at the stand-in; say it twice to
        // exercise the setting tests and staging use.
        token_url: Some(standin.token_url()),
        base_url: standin.base_url(),
    };
    FcmClient::from_settings(&settings)
        .expect("the test key loads")
        .expect("a key file turns push on")
}

fn message(token: &str, platform: Platform) -> PushMessage {
    PushMessage {
        token: token.into(),
        platform,
        title: "Adaeze".into(),
        body: "Your agbada is ready for a fitting".into(),
        kind: "chat_message".into(),
        link: "atelier://chat/0191e0a4".into(),
        object_id: Some("0191e0a4".into()),
        notification_id: Uuid::nil(),
        badge: 3,
        collapse_key: Some("chat:0191e0a4".into()),
    }
}

#[tokio::test]
async fn payload_follows_the_fcm_v1_schema_per_platform() {
    let standin = FcmStandIn::start().await;
    let client = client_for(&standin);
    client
        .send(&message("android-1", Platform::Android))
        .await
        .unwrap();
    client.send(&message("ios-1", Platform::Ios)).await.unwrap();
    let mut web = message("web-1", Platform::Web);
    web.link = "https://atelier.example/chat/0191e0a4".into();
    web.object_id = None;
    web.collapse_key = None;
    client.send(&web).await.unwrap();

    let received = standin.received();
    assert_eq!(received.len(), 3);
    let data = json!({"kind": "chat_message", "link": "atelier://chat/0191e0a4",
        "object_id": "0191e0a4", "notification_id": Uuid::nil().to_string()});
    assert_eq!(
        received[0],
        json!({"message": {
            "token": "android-1",
            "notification": {"title": "Adaeze", "body": "Your agbada is ready for a fitting"},
            "data": data,
            "android": {"collapse_key": "chat:0191e0a4", "priority": "HIGH",
                "notification": {"notification_count": 3, "tag": "chat:0191e0a4"}},
        }})
    );
    assert_eq!(
        received[1],
        json!({"message": {
            "token": "ios-1",
            "notification": {"title": "Adaeze", "body": "Your agbada is ready for a fitting"},
            "data": data,
            "apns": {"headers": {"apns-collapse-id": "chat:0191e0a4"},
                "payload": {"aps": {"badge": 3, "thread-id": "chat:0191e0a4"}}},
        }})
    );
    // No collapse key, no object id: the fields are left out, not null.
    assert_eq!(
        received[2]["message"]["data"],
        json!({"kind": "chat_message", "link": "https://atelier.example/chat/0191e0a4",
            "notification_id": Uuid::nil().to_string()})
    );
    assert_eq!(
        received[2]["message"]["webpush"],
        json!({"fcm_options": {"link": "https://atelier.example/chat/0191e0a4"}})
    );
    assert!(received[2]["message"].get("android").is_none());
    assert!(received[2]["message"].get("apns").is_none());
}

#[tokio::test]
async fn one_token_exchange_serves_many_and_concurrent_sends() {
    let standin = FcmStandIn::start().await;
    let client = Arc::new(client_for(&standin));
    let sends = (0..20).map(|i| {
        let client = client.clone();
        tokio::spawn(async move {
            client
                .send(&message(&format!("device-{i}"), Platform::Android))
                .await
        })
    });
    for result in futures_util::future::join_all(sends).await {
        result.unwrap().unwrap();
    }
    for i in 0..5 {
        client
            .send(&message(&format!("later-{i}"), Platform::Ios))
            .await
            .unwrap();
    }
    assert_eq!(standin.received().len(), 25);
    assert_eq!(
        standin.token_requests(),
        1,
        "one refresh shared by all senders"
    );
}

#[tokio::test]
async fn a_short_lived_token_is_renewed_after_it_expires() {
    let standin = FcmStandIn::start().await;
    standin.set_token_lifetime(2);
    let client = client_for(&standin);
    client.send(&message("a", Platform::Android)).await.unwrap();
    client.send(&message("a", Platform::Android)).await.unwrap();
    assert_eq!(standin.token_requests(), 1);
    tokio::time::sleep(Duration::from_millis(2100)).await;
    client.send(&message("a", Platform::Android)).await.unwrap();
    assert_eq!(standin.token_requests(), 2);
    assert_eq!(standin.received().len(), 3);
}

#[tokio::test]
async fn a_refused_access_token_is_replaced_once() {
    let standin = FcmStandIn::start().await;
    let client = client_for(&standin);
    standin.script("revoked", Behaviour::RejectAuthOnce);
    client
        .send(&message("revoked", Platform::Android))
        .await
        .unwrap();
    assert_eq!(standin.token_requests(), 2);
    assert_eq!(standin.received().len(), 1);
}

#[tokio::test]
async fn dead_tokens_are_reported_unregistered() {
    let standin = FcmStandIn::start().await;
    let client = client_for(&standin);
    standin.script("uninstalled", Behaviour::Unregistered);
    standin.script("garbage", Behaviour::InvalidToken);
    let uninstalled = client
        .send(&message("uninstalled", Platform::Android))
        .await;
    assert!(
        matches!(&uninstalled, Err(PushFailure::Unregistered(r)) if r.contains("UNREGISTERED")),
        "{uninstalled:?}"
    );
    let garbage = client.send(&message("garbage", Platform::Ios)).await;
    assert!(
        matches!(garbage, Err(PushFailure::Unregistered(_))),
        "{garbage:?}"
    );
    assert!(standin.received().is_empty());
}

#[tokio::test]
async fn busy_fcm_means_retry_honouring_retry_after() {
    let standin = FcmStandIn::start().await;
    let client = client_for(&standin);
    standin.script(
        "busy",
        Behaviour::Unavailable {
            times: 1,
            retry_after: 2,
        },
    );
    standin.script("quota", Behaviour::QuotaExceeded);
    let busy = client.send(&message("busy", Platform::Android)).await;
    assert!(
        matches!(&busy, Err(PushFailure::Retry { after: Some(after), .. }) if *after == Duration::from_secs(2)),
        "{busy:?}"
    );
    // Once FCM is back the same message goes through.
    client
        .send(&message("busy", Platform::Android))
        .await
        .unwrap();
    let quota = client.send(&message("quota", Platform::Android)).await;
    assert!(
        matches!(quota, Err(PushFailure::Retry { after: None, .. })),
        "{quota:?}"
    );
    assert_eq!(standin.received().len(), 1);
}

#[tokio::test]
async fn an_unavailable_token_endpoint_means_retry() {
    let standin = FcmStandIn::start().await;
    let client = client_for(&standin);
    standin.set_token_endpoint_down(true);
    let client = Arc::new(client);
    let sends = (0..20).map(|i| {
        let client = client.clone();
        tokio::spawn(async move {
            client
                .send(&message(&format!("device-{i}"), Platform::Android))
                .await
        })
    });
    for result in futures_util::future::join_all(sends).await {
        let down = result.unwrap();
        assert!(matches!(down, Err(PushFailure::Retry { .. })), "{down:?}");
    }
    assert_eq!(
        standin.token_requests(),
        1,
        "senders queued behind a failed refresh share its failure"
    );
    standin.set_token_endpoint_down(false);
    client.send(&message("a", Platform::Android)).await.unwrap();
    assert_eq!(standin.received().len(), 1);

    // Nothing listening at all.
    let unreachable = FcmClient::from_settings(&FcmSettings {
        service_account_file: Some(write_service_account(&standin)),
        token_url: Some("http://127.0.0.1:9/token".into()),
        base_url: standin.base_url(),
    })
    .unwrap()
    .unwrap();
    let refused = unreachable.send(&message("a", Platform::Android)).await;
    assert!(
        matches!(refused, Err(PushFailure::Retry { .. })),
        "{refused:?}"
    );
}

#[tokio::test]
async fn a_sender_mismatch_fails_for_good() {
    let standin = FcmStandIn::start().await;
    let client = client_for(&standin);
    standin.script("other-project", Behaviour::SenderIdMismatch);
    let mismatch = client.send(&message("other-project", Platform::Web)).await;
    assert!(
        matches!(&mismatch, Err(PushFailure::Failed(r)) if r.contains("SENDER_ID_MISMATCH")),
        "{mismatch:?}"
    );
}

#[test]
fn push_is_off_without_a_key_and_a_broken_key_stops_start_up() {
    assert!(
        FcmClient::from_settings(&FcmSettings::default())
            .unwrap()
            .is_none()
    );

    let missing = FcmSettings {
        service_account_file: Some("/nonexistent/atelier-fcm.json".into()),
        ..FcmSettings::default()
    };
    let error = format!("{:#}", FcmClient::from_settings(&missing).unwrap_err());
    assert!(error.contains("cannot read"), "{error}");

    let dir = std::env::temp_dir().join(format!("atelier-fcm-{}", Uuid::new_v4()));
    std::fs::create_dir_all(&dir).unwrap();
    let broken = dir.join("broken.json");
    std::fs::write(
        &broken,
        json!({"client_email": "a@b", "private_key_id": "k", "project_id": "p",
            "private_key": "-----BEGIN PRIVATE KEY-----\nbm90IGEga2V5\n-----END PRIVATE KEY-----\n"})
        .to_string(),
    )
    .unwrap();
    let settings = FcmSettings {
        service_account_file: Some(broken),
        ..FcmSettings::default()
    };
    let error = format!("{:#}", FcmClient::from_settings(&settings).unwrap_err());
    assert!(
        error.contains("not a usable Firebase service-account key"),
        "{error}"
    );
    assert!(error.contains("private_key"), "{error}");

    let not_json = dir.join("not-json.json");
    std::fs::write(&not_json, "{\"client_email\": \"a@b\"}").unwrap();
    let settings = FcmSettings {
        service_account_file: Some(not_json),
        ..FcmSettings::default()
    };
    let error = format!("{:#}", FcmClient::from_settings(&settings).unwrap_err());
    assert!(error.contains("missing field"), "{error}");
}

#[tokio::test]
async fn the_standin_refuses_an_assertion_it_cannot_verify() {
    // Guards the stand-in itself: the passing tests above mean something only
    // if a wrongly signed or wrongly addressed assertion is refused.
    let standin = FcmStandIn::start().await;
    let path = write_service_account(&standin);
    let mut key: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    key["client_email"] = json!("someone-else@atelier-test.iam.gserviceaccount.com");
    std::fs::write(&path, key.to_string()).unwrap();
    let client = FcmClient::from_settings(&FcmSettings {
        service_account_file: Some(path),
        token_url: None,
        base_url: standin.base_url(),
    })
    .unwrap()
    .unwrap();
    let refused = client.send(&message("a", Platform::Android)).await;
    assert!(
        matches!(&refused, Err(PushFailure::Retry { reason, .. }) if reason.contains("400")),
        "{refused:?}"
    );
    assert_eq!(standin.token_requests(), 1);
    assert!(standin.received().is_empty());
}
