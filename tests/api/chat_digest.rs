//! One digest email for a user who has been away with unread messages,
//! not one per message, and none for someone who is here or has read them.

use std::time::Duration;

use atelier::notifications::digest::DigestSettings;
use serde_json::json;

use crate::both_backends;
use crate::chat_support::{ChatSocket, conversation, send_rest};
use crate::helpers::TestApp;

fn with_digest(after_ms: u64) -> impl FnOnce(&mut atelier::config::Settings) {
    move |s| {
        s.digest = Some(DigestSettings {
            after: Duration::from_millis(after_ms),
            every: Duration::from_millis(200),
        })
    }
}

async fn quiet_for(duration: Duration) {
    tokio::time::sleep(duration).await;
}

both_backends! {
    async fn an_absent_user_gets_one_digest_for_many_messages(backend) {
        let app = TestApp::spawn_with(backend, with_digest(800)).await;
        let tunde = app.verified_user("tunde").await;
        let ada = app.verified_user("ada").await;
        let chat = conversation(&app, &tunde, &ada).await;
        for (n, text) in ["Your agbada is cut", "Come for a fitting <b>Friday</b>", "Bring the shoes"].iter().enumerate() {
            send_rest(&app, &tunde, &chat, &format!("m{n}"), text).await;
        }

        let digest = app.smtp.wait_for_nth("ada@example.com", 2).await;
        assert!(digest.data.contains("You have 3 unread messages"), "{}", digest.data);
        assert!(digest.data.contains("tunde"));
        assert!(digest.data.contains("Bring the shoes"), "the newest message is previewed");
        assert!(digest.data.contains("text/html"), "an HTML part");
        // More time passes: nothing new, no second digest.
        quiet_for(Duration::from_millis(1500)).await;
        assert_eq!(app.smtp.emails_to("ada@example.com").len(), 2, "the code email and one digest");

        // A new message later makes a new digest, once.
        send_rest(&app, &tunde, &chat, "m9", "Ready!").await;
        let again = app.smtp.wait_for_nth("ada@example.com", 3).await;
        assert!(again.data.contains("You have 4 unread messages"), "{}", again.data);
        quiet_for(Duration::from_millis(1500)).await;
        assert_eq!(app.smtp.emails_to("ada@example.com").len(), 3);
        assert_eq!(app.smtp.emails_to("tunde@example.com").len(), 1, "the sender is not digested");
    }

    async fn no_digest_for_a_user_who_is_here_or_has_read(backend) {
        let app = TestApp::spawn_with(backend, with_digest(600)).await;
        let tunde = app.verified_user("tunde").await;
        let ada = app.verified_user("ada").await;
        let bola = app.verified_user("bola").await;
        let with_ada = conversation(&app, &tunde, &ada).await;
        let with_bola = conversation(&app, &tunde, &bola).await;
        let here = ChatSocket::connect(&app.address, &ada).await;
        send_rest(&app, &tunde, &with_ada, "a1", "Hello Ada").await;
        send_rest(&app, &tunde, &with_bola, "b1", "Hello Bola").await;
        let read = app.post_as(&bola.access, &format!("/chat/api/conversations/{with_bola}/read/"), json!({"seq": 1})).await;
        assert!(read.status().is_success(), "{}", read.status());

        quiet_for(Duration::from_millis(2000)).await;
        assert_eq!(app.smtp.emails_to("ada@example.com").len(), 1, "online: no digest");
        assert_eq!(app.smtp.emails_to("bola@example.com").len(), 1, "read: no digest");
        drop(here);
    }

    async fn two_instances_send_one_digest(backend) {
        let app = TestApp::spawn_with(backend, with_digest(600)).await;
        let (_second, _stop) = app.second_instance_with(with_digest(600)).await;
        let tunde = app.verified_user("tunde").await;
        let ada = app.verified_user("ada").await;
        let chat = conversation(&app, &tunde, &ada).await;
        send_rest(&app, &tunde, &chat, "x", "Hi").await;
        app.smtp.wait_for_nth("ada@example.com", 2).await;
        quiet_for(Duration::from_millis(1500)).await;
        assert_eq!(app.smtp.emails_to("ada@example.com").len(), 2);
    }
}
