use reqwest::StatusCode;
use serde_json::json;

use crate::both_backends;
use crate::helpers::{PASSWORD, TestApp};

both_backends! {
    async fn fifty_parallel_registrations_with_one_email_make_one_account(backend) {
        let app = TestApp::spawn(backend).await;
        let attempts = (0..50).map(|i| {
            let app = &app;
            async move {
                app.post("/auth/api/register/", json!({
                    "email": "same@example.com", "username": format!("racer{i}"), "password": PASSWORD,
                })).await.status()
            }
        });
        let statuses = futures_join_all(attempts).await;
        let created = statuses.iter().filter(|s| **s == StatusCode::CREATED).count();
        let refused = statuses.iter().filter(|s| **s == StatusCode::BAD_REQUEST).count();
        assert_eq!((created, refused), (1, 49), "{statuses:?}");
    }

    async fn parallel_wrong_logins_cannot_exceed_the_failure_limit(backend) {
        let app = TestApp::spawn_with(backend, |s| s.auth.max_failures = 3).await;
        app.verified_user("target").await;
        let attempts = (0..20).map(|_| {
            let app = &app;
            async move { app.login("target", "Wrong-Password-1").await.status() }
        });
        let statuses = futures_join_all(attempts).await;
        let checked = statuses.iter().filter(|s| **s == StatusCode::UNAUTHORIZED).count();
        let refused = statuses.iter().filter(|s| **s == StatusCode::TOO_MANY_REQUESTS).count();
        assert_eq!((checked, refused), (3, 17), "{statuses:?}");
    }

    async fn twenty_parallel_refreshes_of_one_token_succeed_once(backend) {
        let app = TestApp::spawn(backend).await;
        let user = app.verified_user("racer").await;
        let attempts = (0..20).map(|_| {
            let app = &app;
            let refresh = user.refresh.clone();
            async move {
                app.post("/auth/api/login/token/refresh/", json!({"refresh": refresh})).await.status()
            }
        });
        let statuses = futures_join_all(attempts).await;
        let ok = statuses.iter().filter(|s| **s == StatusCode::OK).count();
        let refused = statuses.iter().filter(|s| **s == StatusCode::UNAUTHORIZED).count();
        assert_eq!((ok, refused), (1, 19), "{statuses:?}");
    }
}

/// Runs the futures concurrently on the test's runtime.
async fn futures_join_all<F>(futures: impl Iterator<Item = F>) -> Vec<F::Output>
where
    F: std::future::Future,
{
    let mut pinned: Vec<_> = futures.map(Box::pin).collect();
    let mut outputs: Vec<Option<F::Output>> = pinned.iter().map(|_| None).collect();
    std::future::poll_fn(|cx| {
        let mut pending = false;
        for (future, output) in pinned.iter_mut().zip(outputs.iter_mut()) {
            if output.is_none() {
                match future.as_mut().poll(cx) {
                    std::task::Poll::Ready(value) => *output = Some(value),
                    std::task::Poll::Pending => pending = true,
                }
            }
        }
        if pending {
            std::task::Poll::Pending
        } else {
            std::task::Poll::Ready(())
        }
    })
    .await;
    outputs.into_iter().map(Option::unwrap).collect()
}
