//! What each user wants: push and email per kind (no row: both on), their
//! time zone and their quiet hours, when pushes that can wait are held.

use chrono::{DateTime, NaiveTime, TimeDelta, TimeZone, Timelike, Utc};
use chrono_tz::Tz;
use sea_orm::sea_query::OnConflict;
use sea_orm::{
    ActiveValue::Set, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, TransactionTrait,
};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use super::{Kind, NotificationError, NotificationService};
use crate::storage::StorageError;
use crate::storage::entities::{notification_preference, notification_setting};
use crate::validation::FieldErrors;

pub const DEFAULT_ZONE: Tz = chrono_tz::Africa::Lagos;

#[derive(Debug, Serialize, ToSchema)]
pub struct KindPreference {
    pub kind: String,
    pub push: bool,
    /// Always false where `email_available` is false.
    pub email: bool,
    /// Whether this kind ever comes by email.
    pub email_available: bool,
}

/// Local times, `HH:MM` (24-hour). `start` after `end` spans midnight.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct QuietHours {
    #[schema(example = "22:00")]
    pub start: String,
    #[schema(example = "07:00")]
    pub end: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Preferences {
    /// Every kind, in a fixed order.
    pub kinds: Vec<KindPreference>,
    /// IANA zone the quiet hours are in.
    #[schema(example = "Africa/Lagos")]
    pub time_zone: String,
    /// Pushes that can wait are held until the end (null: none held).
    pub quiet_hours: Option<QuietHours>,
}

/// A change to one kind: only the fields sent change.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct KindChange {
    pub kind: String,
    pub push: Option<bool>,
    pub email: Option<bool>,
}

/// The user's settings as delivery needs them.
#[derive(Debug, Clone, Copy)]
pub struct Setting {
    pub zone: Tz,
    /// Minutes after local midnight.
    pub quiet: Option<(u32, u32)>,
}

/// What one kind does for the user.
#[derive(Debug, Clone, Copy)]
pub struct Choice {
    pub push: bool,
    pub email: bool,
}

pub async fn setting_of(conn: &impl ConnectionTrait, user: Uuid) -> Result<Setting, StorageError> {
    let row = notification_setting::Entity::find_by_id(user)
        .one(conn)
        .await?;
    Ok(match row {
        None => Setting {
            zone: DEFAULT_ZONE,
            quiet: None,
        },
        Some(row) => Setting {
            zone: row.time_zone.parse().unwrap_or(DEFAULT_ZONE),
            quiet: match (row.quiet_start_minute, row.quiet_end_minute) {
                (Some(s), Some(e)) => Some((s.max(0) as u32, e.max(0) as u32)),
                _ => None,
            },
        },
    })
}

pub async fn choice_of(
    conn: &impl ConnectionTrait,
    user: Uuid,
    kind: Kind,
) -> Result<Choice, StorageError> {
    let row = notification_preference::Entity::find_by_id((user, kind.as_str().to_string()))
        .one(conn)
        .await?;
    let (push, email) = row.map_or((true, true), |r| (r.push, r.email));
    Ok(Choice {
        push,
        email: email && kind.has_email(),
    })
}

/// When a push of `kind` made at `now` may go: None for now, else the end
/// of the quiet hours it falls in (urgent kinds are never held).
pub fn hold_until(now: DateTime<Utc>, setting: Setting, kind: Kind) -> Option<DateTime<Utc>> {
    if kind.is_urgent() {
        return None;
    }
    let (start, end) = setting.quiet?;
    quiet_until(now, setting.zone, start, end)
}

/// The end of the quiet hours `now` falls in, if it falls in them.
pub fn quiet_until(now: DateTime<Utc>, zone: Tz, start: u32, end: u32) -> Option<DateTime<Utc>> {
    let local = now.with_timezone(&zone);
    let minute = local.hour() * 60 + local.minute();
    let inside = if start <= end {
        minute >= start && minute < end
    } else {
        minute >= start || minute < end
    };
    if !inside {
        return None;
    }
    let day = if minute < end {
        local.date_naive()
    } else {
        local.date_naive().succ_opt()?
    };
    let at = day.and_time(NaiveTime::from_hms_opt(end / 60, end % 60, 0)?);
    // A daylight-saving jump may skip the end time: then the first moment after.
    let resolved = zone.from_local_datetime(&at).earliest().or_else(|| {
        zone.from_local_datetime(&(at + TimeDelta::hours(1)))
            .earliest()
    })?;
    Some(resolved.with_timezone(&Utc))
}

fn parse_time(raw: &str) -> Option<u32> {
    let (h, m) = raw.trim().split_once(':')?;
    if h.len() != 2 || m.len() != 2 {
        return None;
    }
    let (h, m): (u32, u32) = (h.parse().ok()?, m.parse().ok()?);
    (h < 24 && m < 60).then_some(h * 60 + m)
}

fn show_time(minute: u32) -> String {
    format!("{:02}:{:02}", minute / 60, minute % 60)
}

fn check_kinds(
    changes: &[KindChange],
    errors: &mut FieldErrors,
) -> Vec<(Kind, Option<bool>, Option<bool>)> {
    let mut checked = Vec::new();
    for change in changes {
        let Some(kind) = Kind::parse(change.kind.trim()) else {
            errors.add(
                "kinds",
                format!("\"{}\" is not a kind of notification.", change.kind),
            );
            continue;
        };
        if change.email == Some(true) && !kind.has_email() {
            errors.add("kinds", format!("{} has no email.", kind.as_str()));
            continue;
        }
        checked.push((kind, change.push, change.email));
    }
    checked
}

/// Every kind's choice, with the defaults filled in, and the settings.
pub async fn preferences_of(
    conn: &impl ConnectionTrait,
    user: Uuid,
) -> Result<Preferences, StorageError> {
    let rows = notification_preference::Entity::find()
        .filter(notification_preference::Column::UserId.eq(user))
        .all(conn)
        .await?;
    let setting = setting_of(conn, user).await?;
    let kinds = Kind::ALL
        .into_iter()
        .map(|kind| {
            let row = rows.iter().find(|r| r.kind == kind.as_str());
            KindPreference {
                kind: kind.as_str().into(),
                push: row.is_none_or(|r| r.push),
                email: kind.has_email() && row.is_none_or(|r| r.email),
                email_available: kind.has_email(),
            }
        })
        .collect();
    Ok(Preferences {
        kinds,
        time_zone: setting.zone.name().into(),
        quiet_hours: setting.quiet.map(|(s, e)| QuietHours {
            start: show_time(s),
            end: show_time(e),
        }),
    })
}

impl NotificationService {
    pub async fn preferences(&self, user: Uuid) -> Result<Preferences, NotificationError> {
        Ok(preferences_of(&self.db, user).await?)
    }

    /// Changes what is sent (`quiet_hours`: None leaves them, Some(None)
    /// clears them); all or nothing.
    pub async fn change_preferences(
        &self,
        user: Uuid,
        kinds: Option<Vec<KindChange>>,
        time_zone: Option<String>,
        quiet_hours: Option<Option<QuietHours>>,
    ) -> Result<Preferences, NotificationError> {
        let mut errors = FieldErrors::new();
        let kinds = check_kinds(kinds.as_deref().unwrap_or_default(), &mut errors);
        let zone = time_zone.as_deref().map(str::trim).and_then(|raw| {
            let zone = raw.parse::<Tz>().ok();
            if zone.is_none() {
                errors.add(
                    "time_zone",
                    format!("\"{raw}\" is not a known time zone (e.g. Africa/Lagos)."),
                );
            }
            zone
        });
        let quiet = match &quiet_hours {
            None => None,
            Some(None) => Some(None),
            Some(Some(q)) => match (parse_time(&q.start), parse_time(&q.end)) {
                (Some(s), Some(e)) if s != e => Some(Some((s as i32, e as i32))),
                (Some(_), Some(_)) => {
                    errors.add("quiet_hours", "Start and end must differ.");
                    None
                }
                _ => {
                    errors.add(
                        "quiet_hours",
                        "Give start and end as HH:MM, e.g. 22:00 and 07:00.",
                    );
                    None
                }
            },
        };
        errors.into_result()?;
        let txn = self.db.begin().await.map_err(StorageError::from)?;
        for (kind, push, email) in kinds {
            let mut changed = Vec::new();
            if push.is_some() {
                changed.push(notification_preference::Column::Push);
            }
            if email.is_some() {
                changed.push(notification_preference::Column::Email);
            }
            if changed.is_empty() {
                continue;
            }
            // One upsert that changes only the columns sent: no
            // read-modify-write to lose a concurrent change of the other.
            notification_preference::Entity::insert(notification_preference::ActiveModel {
                user_id: Set(user),
                kind: Set(kind.as_str().into()),
                push: Set(push.unwrap_or(true)),
                email: Set(email.unwrap_or(true)),
            })
            .on_conflict(
                OnConflict::columns([
                    notification_preference::Column::UserId,
                    notification_preference::Column::Kind,
                ])
                .update_columns(changed)
                .to_owned(),
            )
            .exec_without_returning(&txn)
            .await
            .map_err(StorageError::from)?;
        }
        if zone.is_some() || quiet.is_some() {
            let mut changed = vec![notification_setting::Column::UpdatedAt];
            if zone.is_some() {
                changed.push(notification_setting::Column::TimeZone);
            }
            if quiet.is_some() {
                changed.push(notification_setting::Column::QuietStartMinute);
                changed.push(notification_setting::Column::QuietEndMinute);
            }
            let quiet = quiet.flatten();
            notification_setting::Entity::insert(notification_setting::ActiveModel {
                user_id: Set(user),
                time_zone: Set(zone.unwrap_or(DEFAULT_ZONE).name().into()),
                quiet_start_minute: Set(quiet.map(|q| q.0)),
                quiet_end_minute: Set(quiet.map(|q| q.1)),
                digest_sent_at: Set(None),
                updated_at: Set(Utc::now()),
            })
            .on_conflict(
                OnConflict::column(notification_setting::Column::UserId)
                    .update_columns(changed)
                    .to_owned(),
            )
            .exec_without_returning(&txn)
            .await
            .map_err(StorageError::from)?;
        }
        txn.commit().await.map_err(StorageError::from)?;
        self.preferences(user).await
    }
}

/// Takes the user's settings row for the rest of the transaction, writing
/// the defaults first if there is none: whoever changes something that
/// depends on it (the device cap, the digest's claim) goes one at a time.
pub(super) async fn lock_settings(
    conn: &impl ConnectionTrait,
    user: Uuid,
) -> Result<(), StorageError> {
    notification_setting::Entity::insert(notification_setting::ActiveModel {
        user_id: Set(user),
        time_zone: Set(DEFAULT_ZONE.name().into()),
        quiet_start_minute: Set(None),
        quiet_end_minute: Set(None),
        digest_sent_at: Set(None),
        updated_at: Set(Utc::now()),
    })
    .on_conflict(
        OnConflict::column(notification_setting::Column::UserId)
            .update_column(notification_setting::Column::UserId)
            .to_owned(),
    )
    .exec_without_returning(conn)
    .await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(zone: Tz, y: i32, mo: u32, d: u32, h: u32, mi: u32) -> DateTime<Utc> {
        zone.with_ymd_and_hms(y, mo, d, h, mi, 0)
            .unwrap()
            .with_timezone(&Utc)
    }

    #[test]
    fn quiet_hours_across_midnight_end_the_next_morning() {
        let lagos = chrono_tz::Africa::Lagos;
        let (start, end) = (22 * 60, 7 * 60);
        let late = at(lagos, 2026, 3, 1, 23, 30);
        assert_eq!(
            quiet_until(late, lagos, start, end),
            Some(at(lagos, 2026, 3, 2, 7, 0))
        );
        let early = at(lagos, 2026, 3, 2, 6, 59);
        assert_eq!(
            quiet_until(early, lagos, start, end),
            Some(at(lagos, 2026, 3, 2, 7, 0))
        );
        assert_eq!(
            quiet_until(at(lagos, 2026, 3, 2, 7, 0), lagos, start, end),
            None
        );
        assert_eq!(
            quiet_until(at(lagos, 2026, 3, 2, 12, 0), lagos, start, end),
            None
        );
    }

    #[test]
    fn quiet_hours_within_one_day() {
        let lagos = chrono_tz::Africa::Lagos;
        let now = at(lagos, 2026, 3, 1, 13, 0);
        assert_eq!(
            quiet_until(now, lagos, 12 * 60, 14 * 60),
            Some(at(lagos, 2026, 3, 1, 14, 0))
        );
        assert_eq!(quiet_until(now, lagos, 14 * 60, 15 * 60), None);
    }

    #[test]
    fn an_end_skipped_by_daylight_saving_becomes_the_next_valid_time() {
        // London springs forward at 01:00 on 29 March 2026: 01:30 never happens.
        let london = chrono_tz::Europe::London;
        let now = at(london, 2026, 3, 29, 0, 30);
        let until = quiet_until(now, london, 23 * 60, 90).unwrap();
        assert_eq!(until, at(london, 2026, 3, 29, 2, 30));
    }

    #[test]
    fn urgent_kinds_are_never_held() {
        let setting = Setting {
            zone: chrono_tz::Africa::Lagos,
            quiet: Some((0, 23 * 60 + 59)),
        };
        let now = at(chrono_tz::Africa::Lagos, 2026, 3, 1, 12, 0);
        assert!(hold_until(now, setting, Kind::FittingReminder).is_none());
        assert!(hold_until(now, setting, Kind::PayoutFailed).is_none());
        assert!(hold_until(now, setting, Kind::NewFollower).is_some());
    }

    #[test]
    fn times_are_strict_hh_mm() {
        assert_eq!(parse_time("07:00"), Some(420));
        assert_eq!(parse_time("23:59"), Some(1439));
        assert_eq!(parse_time("24:00"), None);
        assert_eq!(parse_time("7:00"), None);
        assert_eq!(parse_time("07:60"), None);
        assert_eq!(parse_time("x"), None);
    }
}
