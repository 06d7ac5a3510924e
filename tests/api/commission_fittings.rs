//! Where commissions and fittings meet: a fitting booked for a commission,
//! commission due dates in the calendar feed, both on the tailor's dashboard.

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::both_backends;
use crate::commissions::{BASE, accept, ask, id_of, terms};
use crate::fittings::{nine_to_five, open_tailor, slots};
use crate::helpers::{TestApp, TestUser, body_of, status_and_body};

async fn book_for(
    app: &TestApp,
    who: &TestUser,
    tailor: &TestUser,
    start: &Value,
    commission: &str,
) -> (StatusCode, Value) {
    let body = json!({"tailor_id": tailor.id, "start": start, "kind": "in_shop", "commission_id": commission});
    status_and_body(app.post_as(&who.access, "/tailor/api/book/", body).await).await
}

both_backends! {
    async fn a_fitting_for_a_commission_shows_on_it_in_the_feed_and_on_the_dashboard(backend) {
        let app = TestApp::spawn(backend).await;
        let ade = open_tailor(&app, "ade", nine_to_five("Africa/Lagos")).await;
        let bisi = app.verified_user("bisi").await;
        let (status, created) = ask(&app, &bisi, &ade, json!({})).await;
        assert_eq!(status, StatusCode::CREATED, "{created}");
        let id = id_of(&created);
        let (status, quoted) = status_and_body(
            app.post_as(&ade.access, &format!("{BASE}{id}/quote/"), terms(5_000_000, 0)).await,
        )
        .await;
        assert_eq!(status, StatusCode::OK, "{quoted}");
        let (status, accepted) = accept(&app, &bisi, &id, "k1", json!({})).await;
        assert_eq!(status, StatusCode::OK, "{accepted}");
        assert_eq!(accepted["commission"]["status"], "in_progress");

        // Only the commission's own customer books a fitting for it, with its tailor.
        let open = slots(&app, &bisi, &ade, "").await;
        let cai = app.verified_user("cai").await;
        let (status, refused) = book_for(&app, &cai, &ade, &open[0]["start"], &id).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{refused}");
        assert!(refused["commission_id"].is_array(), "{refused}");
        let (status, refused) =
            book_for(&app, &bisi, &ade, &open[0]["start"], &uuid::Uuid::now_v7().to_string()).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{refused}");

        let (status, booking) = book_for(&app, &bisi, &ade, &open[0]["start"], &id).await;
        assert_eq!(status, StatusCode::CREATED, "{booking}");
        let accept_path = format!("/tailor/api/booking/accept/{}/", booking["id"].as_str().unwrap());
        assert_eq!(app.post_as(&ade.access, &accept_path, json!({})).await.status(), StatusCode::OK);

        let detail = body_of(app.get_as(&bisi.access, &format!("{BASE}{id}/")).await).await;
        assert_eq!(detail["fittings"][0]["id"], booking["id"], "{detail}");
        assert_eq!(detail["fittings"][0]["status"], "confirmed");

        // The tailor's calendar has the fitting and the commission's due date.
        let feed = body_of(app.get_as(&ade.access, "/tailor/api/calendar/").await).await;
        let ics = app.client.get(feed["url"].as_str().unwrap()).send().await.unwrap().text().await.unwrap();
        assert!(ics.contains(&format!("commission-{id}@atelier")), "{ics}");
        assert!(ics.contains("Due: Agbada"), "{ics}");
        assert!(ics.contains(&format!("fitting-{}@atelier", booking["id"].as_str().unwrap())), "{ics}");

        let dashboard = body_of(app.get_as(&ade.access, "/tailor/api/dashboard/").await).await;
        assert_eq!(dashboard["commissions"]["in_progress_by_stage"]["not_started"], 1, "{dashboard}");
        assert_eq!(dashboard["commissions"]["due_this_week"], 0);
        assert!(dashboard["fittings_today"].is_array(), "{dashboard}");
    }
}
