//! Paystack's `transfer.success`, `transfer.failed` and `transfer.reversed`
//! webhooks. They reach us through the shop's one Paystack webhook (its
//! signature check and parsing); here each moves its payout by the table in
//! `machine`, so a replay or an event out of order moves no money.

use std::sync::Arc;

use futures_util::future::BoxFuture;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
use serde::Deserialize;

use super::machine::Event;
use super::settle::Detail;
use super::{PayoutError, PayoutService};
use crate::storage::entities::payout;
use crate::store::{StoreError, TransferEvents};

#[derive(Deserialize)]
struct TransferData {
    reference: String,
    amount: i64,
    #[serde(default)]
    currency: Option<String>,
    #[serde(default)]
    transfer_code: Option<String>,
}

/// The payouts' side of the Paystack webhook.
pub struct PayoutEvents(pub Arc<PayoutService>);

impl TransferEvents for PayoutEvents {
    fn transfer_event<'a>(
        &'a self,
        event: &'a str,
        data: &'a serde_json::Value,
    ) -> BoxFuture<'a, Result<(), StoreError>> {
        Box::pin(async move {
            self.0
                .transfer_event(event, data)
                .await
                .map_err(|e| match e {
                    PayoutError::Ledger(crate::wallet::LedgerError::Storage(e)) => {
                        StoreError::Storage(e)
                    }
                    other => {
                        StoreError::Storage(crate::storage::StorageError::Other(other.to_string()))
                    }
                })
        })
    }
}

impl PayoutService {
    /// One transfer event. Events we do not act on (an unknown reference, a
    /// wrong amount, a move the table refuses) are acknowledged, so that
    /// Paystack does not send them again, and logged.
    async fn transfer_event(
        &self,
        event: &str,
        data: &serde_json::Value,
    ) -> Result<(), PayoutError> {
        let move_by = match event {
            "transfer.success" => Event::Succeeded,
            "transfer.failed" => Event::Failed,
            "transfer.reversed" => Event::Reversed,
            _ => return Ok(()),
        };
        let Ok(data) = serde_json::from_value::<TransferData>(data.clone()) else {
            tracing::warn!(
                event,
                "transfer webhook without a reference or amount ignored"
            );
            return Ok(());
        };
        let Some(row) = payout::Entity::find()
            .filter(payout::Column::Reference.eq(data.reference.as_str()))
            .one(&self.db)
            .await?
        else {
            tracing::warn!(event, reference = %data.reference, "transfer webhook for an unknown reference");
            return Ok(());
        };
        let currency_matches = data.currency.as_deref().is_none_or(|c| c == row.currency);
        if data.amount != row.amount_kobo || !currency_matches {
            tracing::error!(event, payout = %row.id, reference = %row.reference, expected = row.amount_kobo,
                got = data.amount, "transfer webhook amount or currency does not match; ignored");
            return Ok(());
        }
        let detail = Detail {
            transfer_code: data.transfer_code,
            failure_reason: (move_by != Event::Succeeded).then(|| format!("Paystack: {event}")),
            ..Detail::default()
        };
        match self.settle(row.id, move_by, detail).await? {
            Some(to) => {
                tracing::info!(event, payout = %row.id, status = to.as_str(), "payout settled by webhook");
            }
            None => {
                // A replay, or news older than what we know (e.g. success
                // after failed: the money is back with the tailor already).
                let now = payout::Entity::find_by_id(row.id).one(&self.db).await?;
                let status = now.map(|r| r.status).unwrap_or_default();
                if move_by == Event::Succeeded && status != "paid" {
                    tracing::error!(event, payout = %row.id, %status, "transfer reported paid after we settled it otherwise; a person must reconcile it");
                } else {
                    tracing::info!(event, payout = %row.id, %status, "transfer webhook changes nothing");
                }
            }
        }
        Ok(())
    }
}
