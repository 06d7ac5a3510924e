//! A tailor asks for a withdrawal: the money is held and the payout queued
//! for sending, in one transaction.

use chrono::Utc;
use sea_orm::{ActiveValue::Set, ColumnTrait, EntityTrait, QueryFilter, TransactionTrait};
use uuid::Uuid;

use super::machine::Status;
use super::send::send_job;
use super::{PayoutError, PayoutPage, PayoutService, PayoutView, reference_of, view};
use crate::jobs::enqueue;
use crate::storage::entities::{payout, user};
use crate::validation::FieldErrors;
use crate::wallet::payout_accounts::{Unusable, usable};
use crate::wallet::transfers::CURRENCY;
use crate::wallet::{LedgerError, flows};

fn tailor_only(me: &user::Model) -> Result<(), PayoutError> {
    if me.role == "tailor" {
        Ok(())
    } else {
        Err(PayoutError::Forbidden("Only tailors withdraw money."))
    }
}

impl PayoutService {
    /// Holds `amount` kobo of `me`'s available money for a payout to its
    /// bank account and queues the payout. Two withdrawals at once can never
    /// take more than is available: the hold is one conditional step in the
    /// ledger, in the same transaction as the payout's row.
    pub async fn withdraw(
        &self,
        me: &user::Model,
        amount: Option<i64>,
    ) -> Result<PayoutView, PayoutError> {
        tailor_only(me)?;
        let Some(amount) = amount else {
            return Err(FieldErrors::single("amount", "This field is required.").into());
        };
        let minimum = self.settings.minimum_kobo;
        if amount < minimum {
            return Err(FieldErrors::single(
                "amount",
                format!("The smallest withdrawal is {minimum} kobo."),
            )
            .into());
        }
        if self.transfers.is_none() {
            return Err(PayoutError::NotConfigured);
        }
        let now = Utc::now();
        // Read before the transaction, whose first statement must be a write
        // (SQLite). An account changed in between starts its own wait, so the
        // payout goes to the account that was usable when it was asked for.
        let account = match usable(&self.db, me.id, now).await {
            Ok(Some(account)) => account,
            Ok(None) => {
                return Err(PayoutError::Conflict(
                    "no_payout_account",
                    "Add a bank account for payouts first.".into(),
                ));
            }
            Err(Unusable::TooNew { usable_from }) => {
                return Err(PayoutError::Conflict(
                    "payout_account_too_new",
                    format!(
                        "Your payout account was added or changed recently; payouts may go to it from {} (usable_from).",
                        usable_from.to_rfc3339()
                    ),
                ));
            }
            Err(Unusable::Storage(e)) => return Err(e.into()),
        };
        let id = Uuid::now_v7();
        let row = payout::ActiveModel {
            id: Set(id),
            tailor_id: Set(me.id),
            amount_kobo: Set(amount),
            currency: Set(CURRENCY.into()),
            status: Set(Status::Pending.as_str().into()),
            reference: Set(reference_of(id)),
            payout_account_id: Set(account.id),
            recipient_code: Set(account.recipient_code),
            transfer_code: Set(None),
            failure_reason: Set(None),
            staff_note: Set(None),
            created_at: Set(now),
            updated_at: Set(now),
            finished_at: Set(None),
        };
        {
            let _turn = self.writes.enter().await;
            let txn = self.db.begin().await?;
            payout::Entity::insert(row.clone())
                .exec_without_returning(&txn)
                .await?;
            match flows::hold_for_payout(&txn, me.id, id, amount).await {
                Ok(_) => {}
                Err(LedgerError::Insufficient { short, .. }) => {
                    txn.rollback().await?;
                    let available = (amount - short).max(0);
                    return Err(PayoutError::Conflict(
                        "insufficient_funds",
                        format!(
                            "Your available balance is {available} kobo; you asked for {amount} kobo."
                        ),
                    ));
                }
                Err(other) => return Err(other.into()),
            }
            enqueue(&txn, send_job(id, "first")).await?;
            txn.commit().await?;
        }
        self.jobs.wake();
        tracing::info!(payout = %id, tailor = %me.id, amount, "withdrawal queued");
        let row = payout::Entity::find_by_id(id)
            .one(&self.db)
            .await?
            .ok_or(PayoutError::NotFound)?;
        Ok(view(row))
    }

    /// `me`'s payouts, newest first.
    pub async fn mine(
        &self,
        me: &user::Model,
        page: u64,
        page_size: u64,
    ) -> Result<Option<PayoutPage<PayoutView>>, PayoutError> {
        tailor_only(me)?;
        let query = payout::Entity::find().filter(payout::Column::TailorId.eq(me.id));
        self.page_of(query, page, page_size, view).await
    }
}
