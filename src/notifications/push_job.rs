//! The `push.send` job: one notification to one device through FCM. The
//! delivery job enqueues one per device (dedup `push:<notification>:<device>`),
//! so a retry after a 503 resends to that phone only, and two instances
//! never push the same notification to the same phone twice.

use std::sync::Arc;

use sea_orm::{ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::push::{FcmClient, Platform, PushFailure, PushMessage};
use crate::jobs::{Job, JobFailure, JobQueue, JobResult, NewJob, Outcome};
use crate::storage::entities::{notification, notification_device};

pub const PUSH_JOB: &str = "push.send";

#[derive(Debug, Serialize, Deserialize)]
pub struct PushInput {
    pub notification_id: Uuid,
    pub device_id: Uuid,
}

/// The job that pushes `notification_id` to `device_id`.
pub fn push_job(notification_id: Uuid, device_id: Uuid) -> NewJob {
    NewJob::new(
        PUSH_JOB,
        &PushInput {
            notification_id,
            device_id,
        },
    )
    .dedup_key(format!("push:{notification_id}:{device_id}"))
}

/// This instance sends pushes with `fcm`; without it (push not configured)
/// push jobs finish at once, so none wait forever.
pub fn serve(queue: &JobQueue, fcm: Option<Arc<FcmClient>>) {
    let db = queue.db().clone();
    queue.register(PUSH_JOB, move |job| {
        let db = db.clone();
        let fcm = fcm.clone();
        async move {
            match fcm {
                Some(fcm) => send(&db, &fcm, job).await,
                None => {
                    tracing::debug!(job = %job.id, "push is not configured: nothing sent");
                    Ok(Outcome::Done)
                }
            }
        }
    });
}

async fn send(db: &DatabaseConnection, fcm: &FcmClient, job: Job) -> JobResult {
    let input: PushInput = job.input()?;
    let storage = |e: sea_orm::DbErr| JobFailure::retry(format!("database: {e}"));
    let Some(sent) = notification::Entity::find_by_id(input.notification_id)
        .one(db)
        .await
        .map_err(storage)?
    else {
        return Ok(Outcome::Done); // the account is gone
    };
    let Some(device) = notification_device::Entity::find_by_id(input.device_id)
        .one(db)
        .await
        .map_err(storage)?
    else {
        return Ok(Outcome::Done); // signed out since
    };
    // The token moved to another account (someone else signed in on that
    // phone): this notification is not theirs to see.
    if device.user_id != sent.user_id || sent.read_at.is_some() {
        return Ok(Outcome::Done);
    }
    let badge = super::unread_count(db, sent.user_id)
        .await
        .map_err(JobFailure::retry)?;
    let message = PushMessage {
        token: device.token.clone(),
        platform: Platform::parse(&device.platform).unwrap_or(Platform::Android),
        title: sent.title.clone(),
        body: sent.body.clone(),
        kind: sent.kind.clone(),
        link: sent.link.clone(),
        object_id: sent.object_id.clone(),
        notification_id: sent.id,
        badge: i64::try_from(badge).unwrap_or(i64::MAX),
        collapse_key: sent.collapse_key.clone(),
    };
    match fcm.send(&message).await {
        Ok(()) => {
            metrics::counter!("pushes_sent_total").increment(1);
            Ok(Outcome::Done)
        }
        Err(PushFailure::Unregistered(why)) => {
            // Only this row with this token: a re-registration since keeps it.
            notification_device::Entity::delete_many()
                .filter(notification_device::Column::Id.eq(device.id))
                .filter(notification_device::Column::Token.eq(device.token))
                .exec(db)
                .await
                .map_err(storage)?;
            tracing::info!(device = %device.id, reason = %why, "FCM no longer knows this device; removed");
            Ok(Outcome::Done)
        }
        Err(PushFailure::Retry { reason, after }) => Err(JobFailure::Retry { reason, after }),
        Err(PushFailure::Failed(reason)) => Err(JobFailure::Fatal(reason)),
    }
}
