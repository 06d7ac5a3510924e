//! Each user's private calendar feed (iCalendar) with their confirmed
//! fittings, as tailor or customer, for Google or Apple Calendar.
//!
//! The URL's secret is an HMAC of a random per-user nonce under a key
//! derived from the server's secret key; the table keeps the nonce and only
//! a SHA-256 of the secret. So the URL can be shown again at any time, a
//! leaked table opens no feed, and rotating (a new nonce) kills the old URL.

use argon2::password_hash::rand_core::{OsRng, RngCore};
use chrono::{DateTime, TimeDelta, Utc};
use hmac::{Hmac, Mac};
use icalendar::{Calendar, Component, Event, EventLike};
use sea_orm::sea_query::{Expr, OnConflict};
use sea_orm::{
    ActiveValue::Set, ColumnTrait, Condition, EntityTrait, QueryFilter, QueryOrder, QuerySelect,
};
use sha2::{Digest, Sha256};
use uuid::Uuid;

use super::slots::local_text;
use super::{FittingError, FittingService};
use crate::storage::entities::{calendar_feed, fitting_availability, fitting_booking, user};

/// Fittings this far back stay in the feed.
const PAST_DAYS: i64 = 30;
/// At most this many fittings in one feed.
const MAX_EVENTS: u64 = 1000;

/// One event of a feed. Fittings make these; other areas (commission due
/// dates) can add theirs to the list given to `render_feed`.
#[derive(Debug, Clone)]
pub struct FeedEvent {
    /// Stable across fetches, so calendars update the event instead of
    /// adding another: e.g. `fitting-<id>@atelier`.
    pub uid: String,
    pub summary: String,
    pub description: String,
    pub location: Option<String>,
    pub start: DateTime<Utc>,
    pub end: DateTime<Utc>,
}

/// The iCalendar text of a feed.
pub fn render_feed(name: &str, events: &[FeedEvent]) -> String {
    let mut calendar = Calendar::new();
    calendar.name(name);
    for event in events {
        let mut item = Event::new();
        item.uid(&event.uid)
            .summary(&event.summary)
            .description(&event.description)
            .starts(event.start)
            .ends(event.end);
        if let Some(location) = &event.location {
            item.location(location);
        }
        calendar.push(item.done());
    }
    calendar.done().to_string()
}

/// The key of feed secrets: derived from the server's secret key for this
/// one purpose, so it never equals a key used elsewhere.
pub(super) fn feed_key(secret_key: &str) -> Vec<u8> {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret_key.as_bytes()).expect("any key length");
    mac.update(b"calendar-feed");
    mac.finalize().into_bytes().to_vec()
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn hash_of(secret: &str) -> String {
    hex(&Sha256::digest(secret.as_bytes()))
}

fn new_nonce() -> String {
    let mut bytes = [0u8; 16];
    OsRng.fill_bytes(&mut bytes);
    hex(&bytes)
}

impl FittingService {
    fn secret_of(&self, user: Uuid, nonce: &str) -> String {
        let mut mac = Hmac::<Sha256>::new_from_slice(&self.feed_key).expect("any key length");
        mac.update(format!("{user}:{nonce}").as_bytes());
        hex(&mac.finalize().into_bytes())
    }

    /// The secret of `me`'s feed, made on first use.
    pub async fn feed_secret(&self, me: &user::Model) -> Result<String, FittingError> {
        if let Some(row) = calendar_feed::Entity::find_by_id(me.id)
            .one(&self.db)
            .await?
        {
            return Ok(self.secret_of(me.id, &row.nonce));
        }
        let nonce = new_nonce();
        let secret = self.secret_of(me.id, &nonce);
        // Two first requests at once: one row wins, both answer with it.
        calendar_feed::Entity::insert(calendar_feed::ActiveModel {
            user_id: Set(me.id),
            nonce: Set(nonce),
            secret_hash: Set(hash_of(&secret)),
            created_at: Set(Utc::now()),
        })
        .on_conflict(
            OnConflict::column(calendar_feed::Column::UserId)
                .do_nothing()
                .to_owned(),
        )
        .exec_without_returning(&self.db)
        .await?;
        let row = calendar_feed::Entity::find_by_id(me.id)
            .one(&self.db)
            .await?
            .ok_or(FittingError::NotFound)?;
        Ok(self.secret_of(me.id, &row.nonce))
    }

    /// A new secret for `me`'s feed; the old URL stops working at once.
    pub async fn rotate_feed(&self, me: &user::Model) -> Result<String, FittingError> {
        self.feed_secret(me).await?;
        let nonce = new_nonce();
        let secret = self.secret_of(me.id, &nonce);
        calendar_feed::Entity::update_many()
            .col_expr(calendar_feed::Column::Nonce, Expr::value(nonce))
            .col_expr(
                calendar_feed::Column::SecretHash,
                Expr::value(hash_of(&secret)),
            )
            .filter(calendar_feed::Column::UserId.eq(me.id))
            .exec(&self.db)
            .await?;
        Ok(secret)
    }

    /// The owner of the feed whose URL carries `secret`, if any (and live).
    pub async fn feed_owner(&self, secret: &str) -> Result<Option<user::Model>, FittingError> {
        if secret.len() != 64 || !secret.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Ok(None);
        }
        let Some(feed) = calendar_feed::Entity::find()
            .filter(calendar_feed::Column::SecretHash.eq(hash_of(secret)))
            .one(&self.db)
            .await?
        else {
            return Ok(None);
        };
        let owner = user::Entity::find_by_id(feed.user_id).one(&self.db).await?;
        Ok(owner.filter(|u| u.deleted_at.is_none() && u.is_active))
    }

    /// `owner`'s confirmed fittings from a month back on, as feed events.
    pub async fn fitting_events(
        &self,
        owner: &user::Model,
    ) -> Result<Vec<FeedEvent>, FittingError> {
        let rows = fitting_booking::Entity::find()
            .filter(
                Condition::any()
                    .add(fitting_booking::Column::TailorId.eq(owner.id))
                    .add(fitting_booking::Column::CustomerId.eq(owner.id)),
            )
            .filter(fitting_booking::Column::Status.eq("confirmed"))
            .filter(fitting_booking::Column::StartAt.gte(Utc::now() - TimeDelta::days(PAST_DAYS)))
            .order_by_asc(fitting_booking::Column::StartAt)
            .limit(MAX_EVENTS)
            .all(&self.db)
            .await?;
        let mut others: Vec<Uuid> = rows
            .iter()
            .flat_map(|r| [r.tailor_id, r.customer_id])
            .filter(|id| *id != owner.id)
            .collect();
        others.sort();
        others.dedup();
        let names: std::collections::HashMap<Uuid, String> = user::Entity::find()
            .filter(user::Column::Id.is_in(others.iter().copied()))
            .all(&self.db)
            .await?
            .into_iter()
            .map(|u| {
                (
                    u.id,
                    if u.deleted_at.is_some() {
                        "a deleted user".into()
                    } else {
                        u.username
                    },
                )
            })
            .collect();
        let zones: std::collections::HashMap<Uuid, String> = fitting_availability::Entity::find()
            .select_only()
            .column(fitting_availability::Column::TailorId)
            .column(fitting_availability::Column::TimeZone)
            .filter(fitting_availability::Column::TailorId.is_in(rows.iter().map(|r| r.tailor_id)))
            .into_tuple::<(Uuid, String)>()
            .all(&self.db)
            .await?
            .into_iter()
            .collect();
        Ok(rows
            .into_iter()
            .map(|row| {
                let as_tailor = row.tailor_id == owner.id;
                let other_id = if as_tailor {
                    row.customer_id
                } else {
                    row.tailor_id
                };
                let other = names
                    .get(&other_id)
                    .cloned()
                    .unwrap_or_else(|| "a deleted user".into());
                let zone = zones
                    .get(&row.tailor_id)
                    .and_then(|z| z.parse().ok())
                    .unwrap_or(chrono_tz::Africa::Lagos);
                let kind = if row.kind == "home_visit" {
                    "home visit"
                } else {
                    "in the shop"
                };
                FeedEvent {
                    uid: format!("fitting-{}@atelier", row.id),
                    summary: if as_tailor {
                        format!("Fitting with {other}")
                    } else {
                        format!("Fitting at {other}")
                    },
                    description: format!(
                        "Fitting ({kind}), {} in the tailor's time ({}).{}",
                        local_text(row.start_at, zone),
                        zone.name(),
                        if row.note.is_empty() {
                            String::new()
                        } else {
                            format!("\nNote: {}", row.note)
                        }
                    ),
                    location: (row.kind == "home_visit").then(|| "Home visit".to_string()),
                    start: row.start_at,
                    end: row.end_at,
                }
            })
            .collect())
    }
}
