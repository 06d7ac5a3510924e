//! Fittings: availability, open slots (across a daylight-saving change),
//! booking and its state machine, lists, the calendar feed, deletion.

use chrono::{DateTime, Duration as Span, NaiveDate, Offset, TimeZone, Utc};
use chrono_tz::Tz;
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::both_backends;
use crate::helpers::{PASSWORD, TestApp, TestUser, body_of, status_and_body};
use crate::spec_check::Spec;

pub async fn tailor(app: &TestApp, name: &str) -> TestUser {
    app.verified_user_with(name, json!({"role": "tailor"}))
        .await
}

/// A tailor open every day over `hours` in `zone`, with a profile that
/// offers in-shop fittings and home visits within 10 km of Ikeja.
pub async fn open_tailor(app: &TestApp, name: &str, availability: Value) -> TestUser {
    let who = tailor(app, name).await;
    let profile = app
        .client
        .patch(app.url("/tailor/api/me/"))
        .bearer_auth(&who.access)
        .json(&json!({
            "business_name": format!("{name} Stitches"), "in_shop_fittings": true,
            "home_visits": true, "home_visit_radius_km": 10,
            "latitude": 6.6018, "longitude": 3.3515,
        }))
        .send()
        .await
        .unwrap();
    assert_eq!(
        profile.status(),
        StatusCode::OK,
        "{}",
        profile.text().await.unwrap()
    );
    let (status, body) = put_availability(app, &who, availability).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    who
}

pub fn every_day(hours: Value) -> Value {
    let days = [
        "monday",
        "tuesday",
        "wednesday",
        "thursday",
        "friday",
        "saturday",
        "sunday",
    ];
    Value::Object(
        days.iter()
            .map(|d| (d.to_string(), hours.clone()))
            .collect(),
    )
}

pub async fn put_availability(app: &TestApp, who: &TestUser, body: Value) -> (StatusCode, Value) {
    let response = app
        .client
        .put(app.url("/tailor/api/availability/"))
        .bearer_auth(&who.access)
        .json(&body)
        .send()
        .await
        .unwrap();
    status_and_body(response).await
}

pub async fn slots(app: &TestApp, who: &TestUser, tailor: &TestUser, query: &str) -> Vec<Value> {
    let path = format!("/tailor/api/{}/slots/{query}", tailor.id);
    let (status, body) = status_and_body(app.get_as(&who.access, &path).await).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    body["slots"].as_array().unwrap().clone()
}

pub async fn book(
    app: &TestApp,
    who: &TestUser,
    tailor: &TestUser,
    start: &Value,
) -> (StatusCode, Value) {
    let body = json!({"tailor_id": tailor.id, "start": start, "kind": "in_shop", "note": "Agbada, second fitting"});
    status_and_body(app.post_as(&who.access, "/tailor/api/book/", body).await).await
}

async fn act(app: &TestApp, who: &TestUser, action: &str, id: &Value) -> (StatusCode, Value) {
    let path = format!("/tailor/api/booking/{action}/{}/", id.as_str().unwrap());
    status_and_body(app.post_as(&who.access, &path, json!({})).await).await
}

/// Nine to five, hour slots, no notice, a year ahead, instant booking off.
pub(crate) fn nine_to_five(zone: &str) -> Value {
    json!({
        "time_zone": zone, "weekly_hours": every_day(json!([{"start": "09:00", "end": "17:00"}])),
        "slot_minutes": 60, "horizon_days": 365, "min_notice_minutes": 0,
    })
}

/// The first date after tomorrow on which `zone`'s offset at noon differs
/// from the day before's: a daylight-saving change.
fn next_dst_change(zone: Tz) -> NaiveDate {
    let noon_offset = |d: NaiveDate| {
        zone.from_local_datetime(&d.and_hms_opt(12, 0, 0).unwrap())
            .earliest()
            .unwrap()
            .offset()
            .fix()
    };
    let mut day = Utc::now().date_naive() + Span::days(2);
    while noon_offset(day) == noon_offset(day.pred_opt().unwrap()) {
        day = day.succ_opt().unwrap();
    }
    day
}

async fn spec(app: &TestApp) -> Spec {
    Spec(body_of(app.get("/api/openapi.json").await).await)
}

both_backends! {
    async fn availability_is_validated_and_saved(backend) {
        let app = TestApp::spawn(backend).await;
        let spec = spec(&app).await;
        let ade = tailor(&app, "ade").await;
        let (status, body) = status_and_body(app.get_as(&ade.access, "/tailor/api/availability/").await).await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(body["published"], false);
        assert_eq!(body["time_zone"], "Africa/Lagos");
        spec.assert_documented("get", "/tailor/api/availability", 200, &body);

        let bad = json!({
            "time_zone": "Mars/Olympus", "slot_minutes": 5, "buffer_minutes": "ten",
            "weekly_hours": {"monday": [{"start": "09:00", "end": "13:00"}, {"start": "12:00", "end": "15:00"}],
                             "funday": [], "tuesday": [{"start": "17:00", "end": "09:00"}]},
            "days_off": ["2026-02-30"], "exceptions": [{"date": "nope"}], "horizon_days": 0,
            "min_notice_minutes": -1, "requires_approval": "yes",
        });
        let (status, body) = put_availability(&app, &ade, bad).await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
        for field in ["time_zone", "slot_minutes", "buffer_minutes", "weekly_hours", "days_off",
                      "exceptions", "horizon_days", "min_notice_minutes", "requires_approval"] {
            assert!(body[field].is_array(), "{field}: {body}");
        }
        spec.assert_documented("put", "/tailor/api/availability", 400, &body);

        let good = json!({
            "time_zone": "Europe/London", "slot_minutes": 45, "buffer_minutes": 15,
            "weekly_hours": {"monday": [{"start": "13:00", "end": "17:00"}, {"start": "09:00", "end": "12:00"}]},
            "days_off": ["2027-01-01"], "exceptions": [{"date": "2027-01-02", "hours": [{"start": "10:00", "end": "12:00"}]},
                                                     {"date": "2027-01-04", "hours": []}],
            "horizon_days": 30, "min_notice_minutes": 60, "requires_approval": false,
        });
        let (status, body) = put_availability(&app, &ade, good).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        assert_eq!(body["published"], true);
        assert_eq!(body["weekly_hours"]["monday"][0]["start"], "09:00", "sorted");
        assert_eq!(body["weekly_hours"]["sunday"], json!([]));
        assert_eq!(body["exceptions"][1]["hours"], json!([]));
        spec.assert_documented("put", "/tailor/api/availability", 200, &body);

        let customer = app.verified_user("bisi").await;
        let (status, body) = status_and_body(app.get_as(&customer.access, "/tailor/api/availability/").await).await;
        assert_eq!(status, StatusCode::FORBIDDEN);
        spec.assert_documented("get", "/tailor/api/availability", 403, &body);
    }

    async fn slots_keep_local_hours_across_a_daylight_saving_change(backend) {
        let app = TestApp::spawn(backend).await;
        let ade = open_tailor(&app, "ade", nine_to_five("Europe/London")).await;
        let zone: Tz = "Europe/London".parse().unwrap();
        let change = next_dst_change(zone);
        let query = format!("?from={}&to={}", change.pred_opt().unwrap(), change);
        let listed = slots(&app, &ade, &ade, &query).await;
        assert_eq!(listed.len(), 16, "two days of eight slots: {listed:?}");
        for slot in &listed {
            let local = slot["start_local"].as_str().unwrap();
            let hour: u32 = local[11..13].parse().unwrap();
            assert!((9..17).contains(&hour), "local hours stay 9 to 5: {local}");
            let start: DateTime<Utc> = slot["start"].as_str().unwrap().parse().unwrap();
            let offset = &local[19..];
            assert_eq!(slot["utc_offset"], offset);
            assert_eq!(DateTime::parse_from_rfc3339(local).unwrap(), start, "the same instant");
        }
        // Nine o'clock is a different UTC hour on the two days.
        let (before, after) = (&listed[0], &listed[8]);
        assert!(before["start_local"].as_str().unwrap().ends_with("T09:00:00+00:00")
            || before["start_local"].as_str().unwrap().ends_with("T09:00:00+01:00"));
        assert_ne!(before["utc_offset"], after["utc_offset"]);
        assert_ne!(before["start"].as_str().unwrap()[11..13], after["start"].as_str().unwrap()[11..13]);

        // New York's small hours on its change day: the skipped hour has
        // no slot, the repeated one has one.
        let nyc: Tz = "America/New_York".parse().unwrap();
        let night = json!({"time_zone": "America/New_York", "slot_minutes": 60, "horizon_days": 365,
            "min_notice_minutes": 0, "weekly_hours": every_day(json!([{"start": "00:00", "end": "04:00"}]))});
        let ola = open_tailor(&app, "ola", night).await;
        let day = next_dst_change(nyc);
        let listed = slots(&app, &ola, &ola, &format!("?from={day}&to={day}")).await;
        let local: Vec<&str> = listed.iter().map(|s| &s["start_local"].as_str().unwrap()[11..]).collect();
        let spring = nyc.from_local_datetime(&day.and_hms_opt(2, 30, 0).unwrap()).earliest().is_none();
        if spring {
            assert_eq!(local, ["00:00:00-05:00", "01:00:00-05:00", "03:00:00-04:00"]);
        } else {
            assert_eq!(local, ["00:00:00-04:00", "01:00:00-04:00", "02:00:00-05:00", "03:00:00-05:00"]);
        }

        // A window over 31 days is refused; so is nonsense.
        let path = format!("/tailor/api/{}/slots/?from=2027-01-01&to=2027-03-01", ade.id);
        let (status, body) = status_and_body(app.get_as(&ade.access, &path).await).await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
        assert!(body["to"].is_array(), "{body}");
        let path = format!("/tailor/api/{}/slots/?from=yesterday", ade.id);
        assert_eq!(app.get_as(&ade.access, &path).await.status(), StatusCode::BAD_REQUEST);
        let path = format!("/tailor/api/{}/slots/", uuid::Uuid::now_v7());
        assert_eq!(app.get_as(&ade.access, &path).await.status(), StatusCode::NOT_FOUND);
    }

    async fn a_booking_is_requested_accepted_and_listed_by_both_sides(backend) {
        let app = TestApp::spawn(backend).await;
        let spec = spec(&app).await;
        let ade = open_tailor(&app, "ade", nine_to_five("Africa/Lagos")).await;
        let bisi = app.verified_user("bisi").await;
        let eve = app.verified_user("eve").await;
        let open = slots(&app, &bisi, &ade, "").await;
        spec.assert_documented("get", "/tailor/api/{tailor_id}/slots", 200,
            &body_of(app.get_as(&bisi.access, &format!("/tailor/api/{}/slots/", ade.id)).await).await);
        let (status, booking) = book(&app, &bisi, &ade, &open[1]["start"]).await;
        assert_eq!(status, StatusCode::CREATED, "{booking}");
        assert_eq!(booking["status"], "requested");
        assert_eq!(booking["start_local"], open[1]["start_local"]);
        spec.assert_documented("post", "/tailor/api/book", 201, &booking);
        let id = &booking["id"];
        let after = slots(&app, &bisi, &ade, "").await;
        assert!(!after.iter().any(|s| s["start"] == open[1]["start"]), "the booked slot is gone");

        // Only the two parties see it; only the tailor answers it.
        assert_eq!(act(&app, &eve, "accept", id).await.0, StatusCode::NOT_FOUND);
        let (status, body) = act(&app, &bisi, "accept", id).await;
        assert_eq!(status, StatusCode::CONFLICT);
        assert_eq!(body["code"], "invalid_transition");
        let (status, body) = act(&app, &ade, "accept", id).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        assert_eq!(body["status"], "confirmed");
        let (status, body) = act(&app, &ade, "decline", id).await;
        assert_eq!(status, StatusCode::CONFLICT);
        assert!(body["detail"].as_str().unwrap().contains("confirmed"), "names the state: {body}");
        spec.assert_documented("post", "/tailor/api/booking/decline/{booking_id}", 409, &body);

        // A second request, declined.
        let (_, second) = book(&app, &bisi, &ade, &open[3]["start"]).await;
        let (status, body) = act(&app, &ade, "decline", &second["id"]).await;
        assert_eq!((status, body["status"].as_str()), (StatusCode::OK, Some("declined")));
        assert!(slots(&app, &bisi, &ade, "").await.iter().any(|s| s["start"] == open[3]["start"]), "free again");

        let (status, mine) = status_and_body(app.get_as(&ade.access, "/tailor/api/mybooking/").await).await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(mine["count"], 2);
        spec.assert_documented("get", "/tailor/api/mybooking", 200, &mine);
        let confirmed = body_of(app.get_as(&ade.access, "/tailor/api/mybooking/?status=confirmed").await).await;
        assert_eq!(confirmed["count"], 1);
        assert_eq!(confirmed["results"][0]["id"], *id);
        let theirs = body_of(app.get_as(&bisi.access, "/tailor/api/bookings/?page_size=1").await).await;
        assert_eq!(theirs["count"], 2);
        assert!(theirs["next"].is_string());
        let (status, body) = status_and_body(app.get_as(&bisi.access, "/tailor/api/bookings/?status=maybe").await).await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
        assert!(body["status"].is_array());
        assert_eq!(app.get_as(&bisi.access, "/tailor/api/mybooking/").await.status(), StatusCode::FORBIDDEN);
        let empty = body_of(app.get_as(&eve.access, "/tailor/api/bookings/").await).await;
        assert_eq!(empty["count"], 0);

        // Instant booking confirms at once.
        let mut instant = nine_to_five("Africa/Lagos");
        instant["requires_approval"] = json!(false);
        put_availability(&app, &ade, instant).await;
        let (status, body) = book(&app, &eve, &ade, &open[5]["start"]).await;
        assert_eq!((status, body["status"].as_str()), (StatusCode::CREATED, Some("confirmed")));
    }

    async fn bad_bookings_are_field_errors(backend) {
        let app = TestApp::spawn(backend).await;
        let spec = spec(&app).await;
        let mut hours = nine_to_five("Africa/Lagos");
        hours["min_notice_minutes"] = json!(1440);
        hours["horizon_days"] = json!(10);
        let ade = open_tailor(&app, "ade", hours).await;
        let plain = tailor(&app, "tunde").await; // no availability, no fittings offered
        let bisi = app.verified_user("bisi").await;
        let open = slots(&app, &bisi, &ade, "?from=2000-01-01T00:00:00Z&to=2000-01-02T00:00:00Z").await;
        assert!(open.is_empty(), "the past has no slots");
        let open = slots(&app, &bisi, &ade, "").await;
        let first: DateTime<Utc> = open[0]["start"].as_str().unwrap().parse().unwrap();
        assert!(first >= Utc::now() + Span::hours(24), "notice respected: {first}");

        let post = |body: Value| { let app = &app; let bisi = &bisi; async move {
            status_and_body(app.post_as(&bisi.access, "/tailor/api/book/", body).await).await
        }};
        let (status, body) = post(json!({})).await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
        assert!(body["tailor_id"].is_array() && body["start"].is_array(), "{body}");
        spec.assert_documented("post", "/tailor/api/book", 400, &body);
        let off_grid = (first + Span::minutes(7)).to_rfc3339();
        let (status, body) = post(json!({"tailor_id": ade.id, "start": off_grid})).await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
        assert!(body["start"].is_array(), "{body}");
        let too_soon = (first - Span::days(1)).to_rfc3339();
        let (_, body) = post(json!({"tailor_id": ade.id, "start": too_soon})).await;
        assert!(body["start"][0].as_str().unwrap().contains("notice"), "{body}");
        let too_far = (first + Span::days(30)).to_rfc3339();
        let (_, body) = post(json!({"tailor_id": ade.id, "start": too_far})).await;
        assert!(body["start"][0].as_str().unwrap().contains("ahead"), "{body}");
        let (status, body) = post(json!({"tailor_id": ade.id, "start": open[0]["start"], "kind": "video"})).await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
        assert!(body["kind"].is_array());
        // Lekki is ~20 km from Ikeja: outside the 10 km radius.
        let (status, body) = post(json!({"tailor_id": ade.id, "start": open[0]["start"], "kind": "home_visit",
            "latitude": 6.4474, "longitude": 3.4723})).await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
        assert!(body["non_field_errors"][0].as_str().unwrap().contains("radius"), "{body}");
        let (status, body) = post(json!({"tailor_id": ade.id, "start": open[0]["start"], "kind": "home_visit",
            "latitude": 6.6, "longitude": 3.35})).await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
        assert_eq!(body["kind"], "home_visit");
        // (A booking for a commission: see `commission_fittings`.)
        let (status, body) = post(json!({"tailor_id": plain.id, "start": open[1]["start"]})).await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
        assert!(body["tailor_id"].is_array());
        let (status, body) = status_and_body(app.post_as(&ade.access, "/tailor/api/book/",
            json!({"tailor_id": ade.id, "start": open[1]["start"]})).await).await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
        assert!(body["tailor_id"].is_array(), "not with yourself: {body}");
        for path in ["/tailor/api/booking/accept/nope/", &format!("/tailor/api/booking/cancel/{}/", uuid::Uuid::now_v7())] {
            assert_eq!(app.post_as(&ade.access, path, json!({})).await.status(), StatusCode::NOT_FOUND);
        }
    }

    async fn cancel_and_reschedule_follow_the_rules(backend) {
        let app = TestApp::spawn_with(backend, |s| {
            s.fittings.customer_cancel_notice = std::time::Duration::from_secs(48 * 3600);
        }).await;
        let spec = spec(&app).await;
        let ade = open_tailor(&app, "ade", nine_to_five("Africa/Lagos")).await;
        let bisi = app.verified_user("bisi").await;
        let cy = app.verified_user("cy").await;
        let open = slots(&app, &bisi, &ade, "").await;
        let week = slots(&app, &bisi, &ade, &format!("?from={}", (Utc::now() + Span::days(4)).date_naive())).await;
        // Inside the customer's notice: only the tailor may cancel or move it.
        let (_, soon) = book(&app, &bisi, &ade, &open[0]["start"]).await;
        let (status, body) = act(&app, &bisi, "cancel", &soon["id"]).await;
        assert_eq!((status, body["code"].as_str()), (StatusCode::CONFLICT, Some("too_late")), "{body}");
        let (status, body) = act(&app, &ade, "cancel", &soon["id"]).await;
        assert_eq!((status, body["cancelled_by"].as_str()), (StatusCode::OK, Some("tailor")));
        let (status, body) = act(&app, &ade, "cancel", &soon["id"]).await;
        assert_eq!(status, StatusCode::CONFLICT);
        assert!(body["detail"].as_str().unwrap().contains("cancelled"));

        // Far enough ahead: the customer moves it, then cancels it.
        let (_, later) = book(&app, &bisi, &ade, &week[0]["start"]).await;
        let (_, taken) = book(&app, &cy, &ade, &week[1]["start"]).await;
        let path = format!("/tailor/api/booking/reschedule/{}/", later["id"].as_str().unwrap());
        let (status, body) = status_and_body(app.post_as(&bisi.access, &path, json!({"start": week[1]["start"]})).await).await;
        assert_eq!((status, body["code"].as_str()), (StatusCode::CONFLICT, Some("slot_taken")), "{body}");
        assert!(!body["next_slots"].as_array().unwrap().is_empty());
        spec.assert_documented("post", "/tailor/api/booking/reschedule/{booking_id}", 409, &body);
        let (status, body) = status_and_body(app.post_as(&bisi.access, &path, json!({"start": "soon"})).await).await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
        assert!(body["start"].is_array());
        let (status, moved) = status_and_body(app.post_as(&bisi.access, &path, json!({"start": week[2]["start"]})).await).await;
        assert_eq!(status, StatusCode::OK, "{moved}");
        assert_eq!(moved["start"], week[2]["start"]);
        assert_eq!(moved["id"], later["id"], "the same booking, moved");
        let now_open = slots(&app, &bisi, &ade, &format!("?from={}", (Utc::now() + Span::days(4)).date_naive())).await;
        assert!(now_open.iter().any(|s| s["start"] == week[0]["start"]), "the old slot is free");
        assert!(!now_open.iter().any(|s| s["start"] == week[2]["start"]), "the new one is held");
        // The tailor moves a confirmed one: it stays confirmed.
        act(&app, &ade, "accept", &taken["id"]).await;
        let path = format!("/tailor/api/booking/reschedule/{}/", taken["id"].as_str().unwrap());
        let (status, body) = status_and_body(app.post_as(&ade.access, &path, json!({"start": week[0]["start"]})).await).await;
        assert_eq!((status, body["status"].as_str()), (StatusCode::OK, Some("confirmed")), "{body}");
        let (status, body) = act(&app, &bisi, "cancel", &later["id"]).await;
        assert_eq!((status, body["cancelled_by"].as_str()), (StatusCode::OK, Some("customer")));
        let path = format!("/tailor/api/booking/reschedule/{}/", later["id"].as_str().unwrap());
        let (status, body) = status_and_body(app.post_as(&bisi.access, &path, json!({"start": week[3]["start"]})).await).await;
        assert_eq!((status, body["code"].as_str()), (StatusCode::CONFLICT, Some("invalid_transition")));
    }

    async fn the_calendar_feed_shows_confirmed_fittings_until_rotated(backend) {
        let app = TestApp::spawn(backend).await;
        let spec = spec(&app).await;
        let ade = open_tailor(&app, "ade", nine_to_five("Africa/Lagos")).await;
        let bisi = app.verified_user("bisi").await;
        let open = slots(&app, &bisi, &ade, "").await;
        let (_, confirmed) = book(&app, &bisi, &ade, &open[0]["start"]).await;
        act(&app, &ade, "accept", &confirmed["id"]).await;
        let (_, requested) = book(&app, &bisi, &ade, &open[2]["start"]).await;

        let (status, feed) = status_and_body(app.get_as(&ade.access, "/tailor/api/calendar/").await).await;
        assert_eq!(status, StatusCode::OK);
        spec.assert_documented("get", "/tailor/api/calendar", 200, &feed);
        let again = body_of(app.get_as(&ade.access, "/tailor/api/calendar/").await).await;
        assert_eq!(again["url"], feed["url"], "the same URL each time");
        let url = feed["url"].as_str().unwrap();
        assert!(url.ends_with(".ics") && feed["webcal_url"].as_str().unwrap().starts_with("webcal://"));
        let response = app.client.get(url).send().await.unwrap();
        assert_eq!(response.status(), StatusCode::OK);
        assert!(response.headers()["content-type"].to_str().unwrap().starts_with("text/calendar"));
        let ics = response.text().await.unwrap();
        assert!(ics.starts_with("BEGIN:VCALENDAR"), "{ics}");
        assert!(ics.contains(&format!("fitting-{}@atelier", confirmed["id"].as_str().unwrap())), "{ics}");
        assert!(!ics.contains(requested["id"].as_str().unwrap()), "requested fittings stay out");
        assert!(ics.contains("Fitting with bisi"), "{ics}");
        let customer_url = body_of(app.get_as(&bisi.access, "/tailor/api/calendar/").await).await["url"].clone();
        let theirs = app.client.get(customer_url.as_str().unwrap()).send().await.unwrap().text().await.unwrap();
        assert!(theirs.contains("Fitting at ade"), "{theirs}");

        let (status, rotated) = status_and_body(app.post_as(&ade.access, "/tailor/api/calendar/rotate/", json!({})).await).await;
        assert_eq!(status, StatusCode::OK);
        assert_ne!(rotated["url"], feed["url"]);
        let (status, body) = status_and_body(app.client.get(url).send().await.unwrap()).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "the old URL is dead");
        spec.assert_documented("get", "/tailor/api/calendar/{file}", 404, &body);
        assert_eq!(app.client.get(rotated["url"].as_str().unwrap()).send().await.unwrap().status(), StatusCode::OK);
        for junk in ["nope.ics", "nope", &format!("{}.ics", "a".repeat(64))] {
            assert_eq!(app.get(&format!("/tailor/api/calendar/{junk}")).await.status(), StatusCode::NOT_FOUND);
        }
    }

    async fn a_deleted_account_gives_up_its_fittings_and_exports_them_first(backend) {
        let app = TestApp::spawn(backend).await;
        let ade = open_tailor(&app, "ade", nine_to_five("Africa/Lagos")).await;
        let bisi = app.verified_user("bisi").await;
        let open = slots(&app, &bisi, &ade, "").await;
        let (_, booking) = book(&app, &bisi, &ade, &open[0]["start"]).await;
        let export = body_of(app.get_as(&bisi.access, "/auth/api/users/me/export/").await).await;
        assert_eq!(export["fittings"]["bookings"][0]["id"], booking["id"], "{}", export["fittings"]);
        let tailor_export = body_of(app.get_as(&ade.access, "/auth/api/users/me/export/").await).await;
        assert_eq!(tailor_export["fittings"]["availability"]["time_zone"], "Africa/Lagos");

        let deleted = app.client.delete(app.url("/auth/api/users/me/")).bearer_auth(&bisi.access)
            .json(&json!({"password": PASSWORD})).send().await.unwrap();
        assert!(deleted.status().is_success(), "{}", deleted.status());
        let mine = body_of(app.get_as(&ade.access, "/tailor/api/mybooking/").await).await;
        assert_eq!(mine["results"][0]["status"], "cancelled");
        assert_eq!(mine["results"][0]["cancelled_by"], "system");
        assert_eq!(mine["results"][0]["note"], "", "the customer's words are erased");
        assert!(slots(&app, &ade, &ade, "").await.iter().any(|s| s["start"] == open[0]["start"]), "free again");
    }
}
