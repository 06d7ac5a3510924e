//! The work and its end: progress updates with photos, the garment ready,
//! delivered, completed (by the customer or, untouched, by time), an
//! alteration request after delivery, and cancellation with refunds.

use chrono::{TimeDelta, Utc};
use sea_orm::sea_query::Expr;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, TransactionTrait};
use serde::Deserialize;
use utoipa::ToSchema;
use uuid::Uuid;

use super::machine::{Action, Actor, STAGES, Status};
use super::payments::refund_paid;
use super::{
    CommissionError, CommissionService, Event, allowed, moved, release_earnings, status_of,
    update_from,
};
use crate::storage::entities::{commission, user};
use crate::tailors::uploads::own_uploads;
use crate::validation::{FieldErrors, REQUIRED};

const NOTE_MAX: usize = 2000;
const MAX_PHOTOS: usize = 10;

/// A progress update from the tailor.
#[derive(Deserialize, ToSchema, Default)]
#[serde(default)]
pub struct ProgressInput {
    /// `cutting`, `sewing`, `fitting`, `alterations`, `finishing` or
    /// `ready` (the garment is finished: the balance becomes due).
    #[schema(value_type = String, required = true, example = "sewing")]
    pub stage: Option<String>,
    #[schema(value_type = String, max_length = 2000)]
    pub note: Option<String>,
    /// Up to 10 ids of photos you uploaded.
    #[schema(value_type = Vec<Uuid>, max_items = 10)]
    pub image_ids: Option<Vec<String>>,
}

/// A note and photos (alteration request, dispute, cancellation reason).
#[derive(Deserialize, ToSchema, Default)]
#[serde(default)]
pub struct NoteInput {
    #[schema(value_type = String, max_length = 2000)]
    pub reason: Option<String>,
    /// Up to 10 ids of photos you uploaded.
    #[schema(value_type = Vec<Uuid>, max_items = 10)]
    pub image_ids: Option<Vec<String>>,
}

pub(super) struct Noted {
    pub text: String,
    pub images: Vec<Uuid>,
}

impl CommissionService {
    pub(super) async fn noted(
        &self,
        me: &user::Model,
        field: &str,
        text: Option<String>,
        image_ids: Option<Vec<String>>,
        required: bool,
    ) -> Result<Noted, CommissionError> {
        let mut errors = FieldErrors::new();
        let text = text.unwrap_or_default().trim().to_string();
        if required && text.is_empty() {
            errors.add(field, REQUIRED);
        }
        errors.max_len(field, &text, NOTE_MAX);
        let images = own_uploads(
            &self.db,
            me.id,
            image_ids.as_deref().unwrap_or_default(),
            (0, MAX_PHOTOS),
            "image_ids",
            &mut errors,
        )
        .await?;
        errors.into_result()?;
        Ok(Noted { text, images })
    }

    /// The tailor reports progress; `ready` finishes the work.
    pub async fn progress(
        &self,
        me: &user::Model,
        id: Uuid,
        input: ProgressInput,
    ) -> Result<super::CommissionDetail, CommissionError> {
        let (row, actor) = self.as_party(me, id).await?;
        let stage = match input.stage.as_deref().map(str::trim) {
            None => return Err(FieldErrors::single("stage", REQUIRED).into()),
            Some(s) if STAGES.contains(&s) => STAGES
                .iter()
                .find(|x| **x == s)
                .copied()
                .unwrap_or("sewing"),
            Some(_) => {
                return Err(FieldErrors::single(
                    "stage",
                    format!("Choose one of: {}.", STAGES.join(", ")),
                )
                .into());
            }
        };
        let action = if stage == "ready" {
            Action::MarkReady
        } else {
            Action::Progress
        };
        let to = allowed(&row, action, actor, "post progress")?;
        let noted = self
            .noted(me, "note", input.note, input.image_ids, false)
            .await?;
        let now = Utc::now();
        let txn = self.db.begin().await?;
        let update = update_from(row.id, status_of(&row), to)
            .col_expr(commission::Column::Stage, Expr::value(stage))
            .col_expr(
                commission::Column::WorkStartedAt,
                Expr::col(commission::Column::WorkStartedAt).if_null(now),
            );
        if !moved(&txn, update).await? {
            txn.rollback().await?;
            return Err(self.lost_race(id, "post progress").await);
        }
        let mut event = Event::new(&row, actor, Some(me.id), "progress")
            .status(to)
            .note(&noted.text);
        event.stage = Some(stage);
        event.image_ids = &noted.images;
        event.record(&txn).await?;
        txn.commit().await?;
        self.detail(me, id).await
    }

    /// The tailor hands the garment over: the balance must be paid, or the
    /// quote let it be paid on collection and the tailor says it was.
    pub async fn deliver(
        &self,
        me: &user::Model,
        id: Uuid,
        balance_collected: bool,
    ) -> Result<super::CommissionDetail, CommissionError> {
        let (row, actor) = self.as_party(me, id).await?;
        let to = allowed(&row, Action::Deliver, actor, "deliver")?;
        let price = row.price_kobo.unwrap_or(0);
        let unpaid = price - row.paid_kobo;
        if unpaid > 0 && !(row.balance_on_collection && balance_collected) {
            let detail = if row.balance_on_collection {
                format!(
                    "{unpaid} kobo are unpaid: send `balance_collected: true` once the customer paid you in person."
                )
            } else {
                format!("{unpaid} kobo are unpaid: the customer pays the balance before delivery.")
            };
            return Err(CommissionError::Conflict("balance_due", detail));
        }
        let txn = self.db.begin().await?;
        let update = update_from(row.id, status_of(&row), to)
            .col_expr(commission::Column::DeliveredAt, Expr::value(Utc::now()))
            .filter(commission::Column::PaidKobo.eq(row.paid_kobo));
        if !moved(&txn, update).await? {
            txn.rollback().await?;
            return Err(self.lost_race(id, "deliver").await);
        }
        let note = if unpaid > 0 {
            "Balance collected in person."
        } else {
            ""
        };
        let mut event = Event::new(&row, actor, Some(me.id), "delivered")
            .status(to)
            .note(note);
        event.amount_kobo = (unpaid > 0).then_some(unpaid);
        event.record(&txn).await?;
        if unpaid > 0 {
            let memo = "The platform's fee on the balance collected in person.";
            let fee_bps = self.store.wallet_settings().fee_bps;
            let source = crate::wallet::Source::commission(row.id);
            crate::wallet::flows::fee_owed(&txn, fee_bps, row.tailor_id, source, unpaid, memo)
                .await?;
        }
        txn.commit().await?;
        self.detail(me, id).await
    }

    /// The customer confirms they have the garment as agreed.
    pub async fn complete(
        &self,
        me: &user::Model,
        id: Uuid,
    ) -> Result<super::CommissionDetail, CommissionError> {
        let (row, actor) = self.as_party(me, id).await?;
        let to = allowed(&row, Action::Complete, actor, "complete")?;
        let txn = self.db.begin().await?;
        if !moved(&txn, update_from(row.id, status_of(&row), to)).await? {
            txn.rollback().await?;
            return Err(self.lost_race(id, "complete").await);
        }
        Event::new(&row, actor, Some(me.id), "completed")
            .status(to)
            .record(&txn)
            .await?;
        release_earnings(
            &txn,
            &row,
            "Released: the customer confirmed the commission.",
        )
        .await?;
        txn.commit().await?;
        self.detail(me, id).await
    }

    /// Within the alteration window after delivery, the customer sends the
    /// garment back for alterations.
    pub async fn request_alterations(
        &self,
        me: &user::Model,
        id: Uuid,
        input: NoteInput,
    ) -> Result<super::CommissionDetail, CommissionError> {
        let (row, actor) = self.as_party(me, id).await?;
        let to = allowed(
            &row,
            Action::RequestAlterations,
            actor,
            "ask for alterations",
        )?;
        let window = TimeDelta::from_std(self.settings.alteration_window).unwrap_or(TimeDelta::MAX);
        let cutoff = Utc::now() - window;
        if row.delivered_at.is_some_and(|at| at < cutoff) {
            return Err(CommissionError::Conflict(
                "alteration_window_closed",
                format!(
                    "Alterations can be asked for up to {} days after delivery.",
                    window.num_days()
                ),
            ));
        }
        let noted = self
            .noted(me, "reason", input.reason, input.image_ids, true)
            .await?;
        let txn = self.db.begin().await?;
        let update = update_from(row.id, status_of(&row), to)
            .col_expr(commission::Column::Stage, Expr::value("alterations"))
            .col_expr(
                commission::Column::DeliveredAt,
                Expr::value(None::<chrono::DateTime<Utc>>),
            )
            .filter(commission::Column::DeliveredAt.gte(cutoff));
        if !moved(&txn, update).await? {
            txn.rollback().await?;
            return Err(self.lost_race(id, "ask for alterations").await);
        }
        let mut event = Event::new(&row, actor, Some(me.id), "alterations_requested")
            .status(to)
            .note(&noted.text);
        event.stage = Some("alterations");
        event.image_ids = &noted.images;
        event.record(&txn).await?;
        txn.commit().await?;
        self.detail(me, id).await
    }

    /// Either party ends the commission: the customer until work starts,
    /// the tailor until delivery. Whatever was paid goes back in full.
    pub async fn cancel(
        &self,
        me: &user::Model,
        id: Uuid,
        reason: Option<String>,
    ) -> Result<super::CommissionDetail, CommissionError> {
        let (row, actor) = self.as_party(me, id).await?;
        let to = allowed(&row, Action::Cancel, actor, "cancel")?;
        let noted = self.noted(me, "reason", reason, None, false).await?;
        let current = status_of(&row);
        let customer_after_start = actor == Actor::Customer && current == Status::InProgress;
        if customer_after_start && row.work_started_at.is_some() {
            return Err(work_started());
        }
        let txn = self.db.begin().await?;
        let mut update =
            update_from(row.id, current, to).filter(commission::Column::PaidKobo.eq(row.paid_kobo));
        if customer_after_start {
            update = update.filter(commission::Column::WorkStartedAt.is_null());
        }
        if !moved(&txn, update).await? {
            txn.rollback().await?;
            if customer_after_start {
                // Lost to the tailor's first progress update: say so, as
                // when the update came first.
                let now = commission::Entity::find_by_id(id).one(&self.db).await?;
                if now.is_some_and(|n| {
                    status_of(&n) == Status::InProgress && n.work_started_at.is_some()
                }) {
                    return Err(work_started());
                }
            }
            return Err(self.lost_race(id, "cancel").await);
        }
        let refunded = refund_paid(&txn, &row, None).await?;
        let mut event = Event::new(&row, actor, Some(me.id), "cancelled")
            .status(to)
            .note(&noted.text);
        event.amount_kobo = (refunded > 0).then_some(refunded);
        event.record(&txn).await?;
        txn.commit().await?;
        self.detail(me, id).await
    }
}

fn work_started() -> CommissionError {
    CommissionError::Conflict(
        "work_started",
        "The tailor has started the work: open a dispute instead.".into(),
    )
}
