use std::time::Duration;

use atelier::housekeeping::{Purged, purge_expired};
use atelier::storage::entities::{
    idempotency_key, one_time_code, refresh_token, throttle, token_family,
};
use reqwest::StatusCode;
use sea_orm::{ActiveValue::Set, EntityTrait, PaginatorTrait};

use crate::both_backends;
use crate::helpers::{PASSWORD, TestApp};

both_backends! {
    async fn expired_codes_tokens_and_counters_are_purged(backend) {
        let app = TestApp::spawn_with(backend, |s| {
            s.auth.code_ttl = Duration::from_secs(1);
            s.auth.refresh_token_ttl = Duration::from_secs(1);
            s.auth.failure_window = Duration::from_secs(1);
        })
        .await;
        app.register("old@example.com", "old").await; // a code that will expire
        app.login("old", "Wrong-Password-1").await; // a failure counter
        app.verified_user("keeper").await; // a login with a refresh token
        tokio::time::sleep(Duration::from_millis(1500)).await;
        let fresh = app.login("keeper", PASSWORD).await;
        assert_eq!(fresh.status(), StatusCode::OK, "a login after the others expired");

        let db = atelier::storage::connect(&app.database.url, 2, Duration::from_secs(2)).await.unwrap();
        for (key, age_hours) in [("old", 25), ("recent", 1)] {
            idempotency_key::Entity::insert(idempotency_key::ActiveModel {
                key: Set(key.into()),
                request_hash: Set("h".into()),
                response_status: Set(Some(201)),
                response_body: Set(Some("{}".into())),
                created_at: Set(chrono::Utc::now() - chrono::Duration::hours(age_hours)),
            })
            .exec_without_returning(&db)
            .await
            .unwrap();
        }
        let purged = purge_expired(&db, Duration::from_secs(1)).await.unwrap();
        assert_eq!(purged, Purged { codes: 1, refresh_tokens: 1, logins: 1, throttles: 1, idempotency_keys: 1 });
        assert_eq!(idempotency_key::Entity::find().count(&db).await.unwrap(), 1, "the recent key stays");
        assert_eq!(one_time_code::Entity::find().count(&db).await.unwrap(), 0);
        assert_eq!(refresh_token::Entity::find().count(&db).await.unwrap(), 1, "the fresh login stays");
        assert_eq!(token_family::Entity::find().count(&db).await.unwrap(), 1);
        assert_eq!(throttle::Entity::find().count(&db).await.unwrap(), 0);
    }
}
