//! Disputes: after work started the customer cannot simply cancel; they
//! open a dispute with a reason and photos, and staff resolve it by
//! releasing the money to the tailor or refunding an amount.

use chrono::Utc;
use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveValue::Set, ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder,
    QuerySelect, TransactionTrait,
};
use serde::Deserialize;
use utoipa::ToSchema;
use uuid::Uuid;

use super::machine::{Action, Actor, Status};
use super::payments::{lock, refund_paid};
use super::progress::NoteInput;
use super::views::DisputeView;
use super::{
    CommissionError, CommissionService, Event, allowed, ids_json, moved, status_of, update_from,
};
use crate::storage::StorageError;
use crate::storage::entities::{commission_dispute, user};
use crate::validation::{FieldErrors, REQUIRED};

/// Staff's decision on a dispute.
#[derive(Deserialize, ToSchema, Default)]
#[serde(default)]
pub struct ResolutionInput {
    /// `release` (the tailor keeps what was paid; the commission completes)
    /// or `refund` (`amount_kobo` goes back to the customer).
    #[schema(value_type = String, required = true, example = "refund")]
    pub outcome: Option<String>,
    /// With `refund`: 1 up to what was paid and not yet refunded.
    #[schema(value_type = i64, minimum = 1)]
    pub amount_kobo: Option<i64>,
    #[schema(value_type = String, max_length = 2000)]
    pub note: Option<String>,
}

impl CommissionService {
    /// The customer disputes work that has started.
    pub async fn open_dispute(
        &self,
        me: &user::Model,
        id: Uuid,
        input: NoteInput,
    ) -> Result<super::CommissionDetail, CommissionError> {
        let (row, actor) = self.as_party(me, id).await?;
        let to = allowed(&row, Action::Dispute, actor, "open a dispute")?;
        let current = status_of(&row);
        if current == Status::InProgress && row.work_started_at.is_none() {
            return Err(CommissionError::Conflict(
                "work_not_started",
                "Work has not started: cancel instead, with a full refund.".into(),
            ));
        }
        let noted = self
            .noted(me, "reason", input.reason, input.image_ids, true)
            .await?;
        let txn = self.db.begin().await?;
        if !moved(&txn, update_from(row.id, current, to)).await? {
            txn.rollback().await?;
            return Err(self.lost_race(id, "open a dispute").await);
        }
        let inserted = commission_dispute::Entity::insert(commission_dispute::ActiveModel {
            id: Set(Uuid::now_v7()),
            commission_id: Set(row.id),
            opened_by: Set(me.id),
            reason: Set(noted.text.clone()),
            image_ids: Set(ids_json(&noted.images)),
            status: Set("open".into()),
            resolution: Set(None),
            refund_kobo: Set(0),
            resolved_by: Set(None),
            resolution_note: Set(String::new()),
            created_at: Set(Utc::now()),
            resolved_at: Set(None),
        })
        .exec_without_returning(&txn)
        .await;
        if let Err(err) = inserted {
            txn.rollback().await?;
            return match StorageError::from(err) {
                StorageError::UniqueViolation(_) => Err(CommissionError::Conflict(
                    "already_disputed",
                    "This commission was disputed before; a dispute can be opened once.".into(),
                )),
                other => Err(other.into()),
            };
        }
        let mut event = Event::new(&row, actor, Some(me.id), "dispute_opened")
            .status(to)
            .note(&noted.text);
        event.image_ids = &noted.images;
        event.record(&txn).await?;
        txn.commit().await?;
        self.detail(me, id).await
    }

    /// Open disputes, oldest first (staff only).
    pub async fn open_disputes(
        &self,
        me: &user::Model,
        page: u64,
        per_page: u64,
    ) -> Result<(u64, Vec<DisputeView>), CommissionError> {
        require_staff(me)?;
        let query = commission_dispute::Entity::find()
            .filter(commission_dispute::Column::Status.eq("open"))
            .order_by_asc(commission_dispute::Column::Id);
        let count = query.clone().count(&self.db).await?;
        // Past the last page (or too far to address): an empty page, 404.
        let Some(offset) = crate::storage::page_offset(page, per_page, count) else {
            return Ok((count, Vec::new()));
        };
        let rows = query.offset(offset).limit(per_page).all(&self.db).await?;
        let mut views = Vec::with_capacity(rows.len());
        for row in rows {
            views.push(self.dispute_view(row).await?);
        }
        Ok((count, views))
    }

    /// Staff decide: release to the tailor, or refund an amount.
    pub async fn resolve_dispute(
        &self,
        me: &user::Model,
        dispute: Uuid,
        input: ResolutionInput,
    ) -> Result<DisputeView, CommissionError> {
        require_staff(me)?;
        let found = commission_dispute::Entity::find_by_id(dispute)
            .one(&self.db)
            .await?
            .ok_or(CommissionError::NotFound)?;
        let mut errors = FieldErrors::new();
        let action = match input.outcome.as_deref().map(str::trim) {
            Some("release") => Action::Release,
            Some("refund") => Action::Refund,
            Some(_) => {
                errors.add("outcome", "Choose `release` or `refund`.");
                Action::Release
            }
            None => {
                errors.add("outcome", REQUIRED);
                Action::Release
            }
        };
        let note = input.note.unwrap_or_default().trim().to_string();
        errors.max_len("note", &note, 2000);
        errors.into_result()?;

        let txn = self.db.begin().await?;
        let row = lock(&txn, found.commission_id).await?;
        // Read again under the lock: a second decision is `already_resolved`,
        // not a move refused from the status the first one left.
        let still_open = commission_dispute::Entity::find_by_id(found.id)
            .one(&txn)
            .await?
            .is_some_and(|d| d.status == "open");
        if !still_open {
            return Err(already_resolved());
        }
        let to = allowed(&row, action, Actor::Staff, "resolve the dispute")?;
        let refundable = row.paid_kobo - row.refunded_kobo;
        let amount = match action {
            Action::Refund => match input.amount_kobo {
                Some(a) if a >= 1 && a <= refundable => a,
                _ => {
                    return Err(FieldErrors::single(
                        "amount_kobo",
                        format!("Between 1 and {refundable} (what was paid and not refunded)."),
                    )
                    .into());
                }
            },
            _ => 0,
        };
        let closed = commission_dispute::Entity::update_many()
            .col_expr(commission_dispute::Column::Status, Expr::value("resolved"))
            .col_expr(
                commission_dispute::Column::Resolution,
                Expr::value(if action == Action::Refund {
                    "refund"
                } else {
                    "release"
                }),
            )
            .col_expr(commission_dispute::Column::RefundKobo, Expr::value(amount))
            .col_expr(commission_dispute::Column::ResolvedBy, Expr::value(me.id))
            .col_expr(
                commission_dispute::Column::ResolutionNote,
                Expr::value(note.clone()),
            )
            .col_expr(
                commission_dispute::Column::ResolvedAt,
                Expr::value(Utc::now()),
            )
            .filter(commission_dispute::Column::Id.eq(found.id))
            .filter(commission_dispute::Column::Status.eq("open"))
            .exec(&txn)
            .await?;
        if closed.rows_affected != 1
            || !moved(&txn, update_from(row.id, status_of(&row), to)).await?
        {
            txn.rollback().await?;
            return Err(already_resolved());
        }
        if amount > 0 {
            refund_paid(&txn, &row, Some(amount)).await?;
        }
        // What the refund left is the tailor's.
        super::release_earnings(&txn, &row, "Released: the dispute was resolved.").await?;
        let kind = if action == Action::Refund {
            "dispute_refunded"
        } else {
            "dispute_released"
        };
        let mut event = Event::new(&row, Actor::Staff, Some(me.id), kind)
            .status(to)
            .note(&note);
        event.amount_kobo = (amount > 0).then_some(amount);
        event.record(&txn).await?;
        txn.commit().await?;
        let row = commission_dispute::Entity::find_by_id(found.id)
            .one(&self.db)
            .await?
            .ok_or(CommissionError::NotFound)?;
        self.dispute_view(row).await
    }
}

fn already_resolved() -> CommissionError {
    CommissionError::Conflict(
        "already_resolved",
        "This dispute has been resolved already.".into(),
    )
}

fn require_staff(me: &user::Model) -> Result<(), CommissionError> {
    if me.is_staff {
        Ok(())
    } else {
        Err(CommissionError::Forbidden("Only staff handle disputes."))
    }
}
