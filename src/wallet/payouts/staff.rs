//! What staff do with payouts: list and read them, send an unconfirmed one
//! again when Paystack has no such transfer, or close one by hand. Every
//! action writes its row in the staff audit log in the transaction of the
//! change.

use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, TransactionTrait};
use serde_json::json;
use uuid::Uuid;

use super::machine::{Event, Status};
use super::send::send_job;
use super::settle::{Detail, apply};
use super::{PayoutError, PayoutPage, PayoutService, StaffPayoutView, view};
use crate::jobs::enqueue;
use crate::storage::entities::{payout, user};
use crate::validation::FieldErrors;
use crate::wallet::staff_actions::{StaffAction, record};
use crate::wallet::transfers::TransferState;

/// Filters of the staff list.
#[derive(Debug, Default, Clone)]
pub struct PayoutFilters {
    pub status: Option<String>,
    pub tailor: Option<String>,
}

/// Staff's decision on a payout nobody could confirm.
#[derive(Debug, Clone)]
pub struct StaffClose {
    /// `paid` or `failed`.
    pub outcome: Option<String>,
    pub note: Option<String>,
}

fn staff_only(me: &user::Model) -> Result<(), PayoutError> {
    if me.is_staff || me.is_superuser {
        Ok(())
    } else {
        Err(PayoutError::Forbidden("Staff only."))
    }
}

fn staff_view(row: payout::Model) -> StaffPayoutView {
    let (tailor_id, staff_note) = (row.tailor_id, row.staff_note.clone());
    StaffPayoutView {
        payout: view(row),
        tailor_id,
        staff_note,
    }
}

fn conflict(row: &payout::Model, what: &str) -> PayoutError {
    PayoutError::Conflict(
        "invalid_state",
        format!("{what} (the payout is {}).", row.status),
    )
}

impl PayoutService {
    /// Payouts, newest first, by status and tailor.
    pub async fn staff_list(
        &self,
        me: &user::Model,
        filters: &PayoutFilters,
        page: u64,
        page_size: u64,
    ) -> Result<Option<PayoutPage<StaffPayoutView>>, PayoutError> {
        staff_only(me)?;
        let mut query = payout::Entity::find();
        let mut errors = FieldErrors::new();
        if let Some(raw) = filters.status.as_deref().filter(|s| !s.is_empty()) {
            match Status::parse(raw) {
                Some(status) => query = query.filter(payout::Column::Status.eq(status.as_str())),
                None => errors.add("status", "Not a payout status."),
            }
        }
        if let Some(raw) = filters.tailor.as_deref().filter(|s| !s.is_empty()) {
            match raw.trim().parse::<Uuid>() {
                Ok(tailor) => query = query.filter(payout::Column::TailorId.eq(tailor)),
                Err(_) => errors.add("tailor", "Must be a valid UUID."),
            }
        }
        errors.into_result()?;
        self.page_of(query, page, page_size, staff_view).await
    }

    pub async fn staff_get(
        &self,
        me: &user::Model,
        id: Uuid,
    ) -> Result<StaffPayoutView, PayoutError> {
        staff_only(me)?;
        let row = self.find(id).await?;
        Ok(staff_view(row))
    }

    async fn find(&self, id: Uuid) -> Result<payout::Model, PayoutError> {
        payout::Entity::find_by_id(id)
            .one(&self.db)
            .await?
            .ok_or(PayoutError::NotFound)
    }

    /// Sends an unconfirmed payout again, with the same reference, once a
    /// fresh verify says Paystack has no such transfer (so the money cannot
    /// have left). Anything else is a 409: nobody resends blindly.
    pub async fn staff_retry(
        &self,
        me: &user::Model,
        id: Uuid,
        note: Option<String>,
    ) -> Result<StaffPayoutView, PayoutError> {
        staff_only(me)?;
        let row = self.find(id).await?;
        if row.status != Status::Unconfirmed.as_str() {
            return Err(conflict(&row, "Only an unconfirmed payout is sent again"));
        }
        let transfers = self.transfers.as_ref().ok_or(PayoutError::NotConfigured)?;
        match transfers.verify_transfer(&row.reference).await {
            Err(failure) if failure.is_not_found() => {}
            Ok(transfer) => {
                return Err(PayoutError::Conflict(
                    "transfer_exists",
                    format!(
                        "Paystack has this transfer ({}): close the payout with its outcome instead.",
                        transfer.status
                    ),
                ));
            }
            Err(failure) => {
                return Err(PayoutError::Provider(format!(
                    "Could not ask Paystack: {failure}"
                )));
            }
        }
        let note = note.unwrap_or_default();
        let action = Uuid::now_v7();
        {
            let _turn = self.writes.enter().await;
            let txn = self.db.begin().await?;
            let detail = Detail {
                staff_note: (!note.trim().is_empty()).then(|| note.trim().to_string()),
                ..Detail::default()
            };
            if apply(&txn, &row, Event::Retry, detail).await?.is_none() {
                txn.rollback().await?;
                return Err(PayoutError::Conflict(
                    "payout_changed",
                    "The payout changed meanwhile; look again.".into(),
                ));
            }
            enqueue(&txn, send_job(id, &format!("retry:{}", action.simple()))).await?;
            let details = json!({"from": row.status, "to": Status::Pending.as_str(), "reference": row.reference, "amount": row.amount_kobo});
            record(
                &txn,
                StaffAction {
                    staff_id: me.id,
                    action: "payout.retry",
                    subject_kind: "payout",
                    subject_id: id,
                    note: note.trim(),
                    details: &details,
                },
            )
            .await?;
            txn.commit().await?;
        }
        self.jobs.wake();
        tracing::warn!(payout = %id, staff = %me.id, "unconfirmed payout sent again by staff (Paystack had no such transfer)");
        Ok(staff_view(self.find(id).await?))
    }

    /// Whether Paystack, asked now, reports the outcome staff want to
    /// record: `paid` needs its `success`; `failed` needs a failed,
    /// reversed or abandoned transfer, or none at all (the money never
    /// left). A transfer still on its way (or waiting for an OTP) is
    /// settled by Paystack first.
    async fn paystack_agrees(&self, row: &payout::Model, event: Event) -> Result<(), PayoutError> {
        let transfers = self.transfers.as_ref().ok_or(PayoutError::NotConfigured)?;
        let reported = match transfers.verify_transfer(&row.reference).await {
            Ok(transfer) => match transfer.state() {
                TransferState::Succeeded => Event::Succeeded,
                TransferState::Failed => Event::Failed,
                TransferState::InFlight | TransferState::NeedsOtp => {
                    return Err(PayoutError::Conflict(
                        "transfer_in_flight",
                        format!(
                            "Paystack still has this transfer as {}: finish or cancel it in the Paystack dashboard, then close the payout.",
                            transfer.status
                        ),
                    ));
                }
            },
            Err(failure) if failure.is_not_found() => Event::Failed,
            Err(failure) => {
                return Err(PayoutError::Provider(format!(
                    "Could not ask Paystack: {failure}"
                )));
            }
        };
        if reported != event {
            let said = if reported == Event::Succeeded {
                "paid"
            } else {
                "not paid"
            };
            return Err(PayoutError::Conflict(
                "paystack_disagrees",
                format!("Paystack reports this transfer as {said}: close it with that outcome."),
            ));
        }
        Ok(())
    }

    /// Settles an unconfirmed payout by hand: `paid` (the money left) or
    /// `failed` (it is available to the tailor again), and only the outcome
    /// Paystack itself reports when asked now. Closing on a person's word
    /// alone could pay twice: a transfer closed `failed` while Paystack
    /// still holds it would go through later, after the tailor withdrew the
    /// same money again.
    pub async fn staff_close(
        &self,
        me: &user::Model,
        id: Uuid,
        input: StaffClose,
    ) -> Result<StaffPayoutView, PayoutError> {
        staff_only(me)?;
        let mut errors = FieldErrors::new();
        let event = match input.outcome.as_deref().map(str::trim) {
            Some("paid") => Some(Event::Succeeded),
            Some("failed") => Some(Event::Failed),
            Some(_) => {
                errors.add("outcome", "Must be \"paid\" or \"failed\".");
                None
            }
            None => {
                errors.add("outcome", "This field is required.");
                None
            }
        };
        let note = errors.required("note", &input.note).map(str::trim);
        if note.is_some_and(str::is_empty) {
            errors.add("note", "This field may not be blank.");
        }
        if let Some(note) = note {
            errors.max_len("note", note, 2000);
        }
        errors.into_result()?;
        let (event, note) = (event.expect("checked"), note.expect("checked").to_string());
        let row = self.find(id).await?;
        if row.status != Status::Unconfirmed.as_str() {
            return Err(conflict(&row, "Only an unconfirmed payout is closed"));
        }
        self.paystack_agrees(&row, event).await?;
        {
            let _turn = self.writes.enter().await;
            let txn = self.db.begin().await?;
            let detail = Detail {
                staff_note: Some(note.clone()),
                failure_reason: (event == Event::Failed)
                    .then(|| "Closed as failed by staff.".to_string()),
                ..Detail::default()
            };
            let Some(to) = apply(&txn, &row, event, detail).await? else {
                txn.rollback().await?;
                return Err(PayoutError::Conflict(
                    "payout_changed",
                    "The payout changed meanwhile; look again.".into(),
                ));
            };
            let details = json!({"from": row.status, "to": to.as_str(), "reference": row.reference, "amount": row.amount_kobo});
            record(
                &txn,
                StaffAction {
                    staff_id: me.id,
                    action: "payout.close",
                    subject_kind: "payout",
                    subject_id: id,
                    note: &note,
                    details: &details,
                },
            )
            .await?;
            txn.commit().await?;
        }
        self.jobs.wake();
        tracing::warn!(payout = %id, staff = %me.id, "payout closed by staff");
        Ok(staff_view(self.find(id).await?))
    }
}
