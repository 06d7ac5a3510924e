//! The `notification.deliver` job: live to the user's sockets on every
//! instance (except chat messages), then a `push.send` job per device (held to the end of quiet
//! hours unless urgent) and the email, as the user's preferences say.

use std::sync::Weak;

use chrono::Utc;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, TransactionTrait};

use super::emit::DeliverInput;
use super::feed::{NotificationView, new_frame, unread_count};
use super::preferences::{choice_of, hold_until, setting_of};
use super::push_job::push_job;
use super::templates::email_for;
use super::{Kind, NotificationService};
use crate::jobs::{Job, JobFailure, JobResult, Outcome, enqueue};
use crate::storage::entities::{notification, notification_device, user};

fn retry(err: impl std::fmt::Display) -> JobFailure {
    JobFailure::retry(err)
}

pub(super) async fn run(service: Weak<NotificationService>, job: Job) -> JobResult {
    let Some(service) = service.upgrade() else {
        return Err(JobFailure::retry("the server is stopping"));
    };
    service.deliver(job).await
}

impl NotificationService {
    async fn deliver(&self, job: Job) -> JobResult {
        let input: DeliverInput = job.input()?;
        let db = &self.db;
        let Some(row) = notification::Entity::find_by_id(input.notification_id)
            .one(db)
            .await
            .map_err(retry)?
        else {
            // Gone with its account (or read and purged): nothing to deliver.
            return Ok(Outcome::Done);
        };
        let Some(person) = user::Entity::find_by_id(row.user_id)
            .one(db)
            .await
            .map_err(retry)?
            .filter(|u| u.deleted_at.is_none())
        else {
            return Ok(Outcome::Done);
        };
        let kind = Kind::parse(&row.kind)
            .ok_or_else(|| JobFailure::Fatal(format!("unknown kind {}", row.kind)))?;
        let choice = choice_of(db, person.id, kind).await.map_err(retry)?;
        // Everything is read before the transaction, which then only
        // writes: on SQLite a transaction that reads and then writes fails
        // with SQLITE_BUSY when another writer committed in between, where
        // one that starts by writing waits its turn.
        let devices = if choice.push {
            notification_device::Entity::find()
                .filter(notification_device::Column::UserId.eq(person.id))
                .all(db)
                .await
                .map_err(retry)?
        } else {
            Vec::new()
        };
        let hold = if devices.is_empty() {
            None
        } else {
            let setting = setting_of(db, person.id).await.map_err(retry)?;
            hold_until(Utc::now(), setting, kind)
        };
        let email = choice.email.then(|| email_for(&row, &person)).flatten();
        // Pushes and the email in one transaction, each once per
        // notification (dedup keys): a retry after a failure here repeats
        // nothing, and the live frame below goes out once they are queued.
        let turn = self.jobs.write_gate().enter().await;
        let txn = db.begin().await.map_err(retry)?;
        let mut queued = false;
        let at = hold.unwrap_or_else(Utc::now);
        for device in devices {
            let job = push_job(row.id, device.id).run_at(at);
            queued |= enqueue(&txn, job).await.map_err(retry)?;
        }
        if let Some(email) = email {
            let key = Some(format!("email:{}", row.id));
            queued |= self
                .outbox
                .enqueue(&txn, &email, key)
                .await
                .map_err(retry)?;
        }
        txn.commit().await.map_err(retry)?;
        drop(turn);
        if queued {
            self.jobs.wake();
        }
        // A chat message's notification is for members who had no socket:
        // when they connect, the socket brings the message itself (resume),
        // so a live frame about it would only repeat it mid-replay.
        if kind == Kind::ChatMessage {
            return Ok(Outcome::Done);
        }
        let unread = unread_count(db, person.id).await.map_err(retry)?;
        let view = NotificationView::from(row);
        self.chat
            .publish_to_users(vec![person.id], new_frame(&view, unread));
        Ok(Outcome::Done)
    }
}
