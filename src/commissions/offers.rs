//! Negotiation: the tailor quotes (or re-quotes), the customer accepts,
//! declines or counters; either may decline. Every offer stays in the
//! timeline; only the newest is open.

use chrono::{DateTime, Duration, Utc};
use sea_orm::sea_query::Expr;
use sea_orm::{
    ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, TransactionTrait,
};
use serde::Deserialize;
use utoipa::ToSchema;
use uuid::Uuid;

use super::machine::{Action, Actor, Status};
use super::requests::MAX_KOBO;
use super::{CommissionError, CommissionService, Event, allowed, moved, status_of, update_from};
use crate::storage::entities::{commission, commission_offer, user};
use crate::validation::{FieldErrors, REQUIRED};

const NOTES_MAX: usize = 2000;
/// A quote with no `valid_until` stays open this long.
const DEFAULT_VALIDITY_DAYS: i64 = 7;

/// The tailor's price and terms.
#[derive(Deserialize, ToSchema, Default)]
#[serde(default)]
pub struct QuoteInput {
    /// The whole price, in kobo.
    #[schema(value_type = i64, required = true, minimum = 1, example = 8500000)]
    pub price_kobo: Option<i64>,
    /// Share of the price paid up front, 0–100 (0: work starts on acceptance).
    #[schema(value_type = i64, required = true, minimum = 0, maximum = 100, example = 50)]
    pub deposit_percent: Option<i64>,
    /// When the garment will be ready (RFC 3339, in the future).
    #[schema(value_type = String, format = DateTime, required = true)]
    pub due_at: Option<String>,
    #[schema(value_type = String, max_length = 2000)]
    pub notes: Option<String>,
    /// Until when the quote may be accepted (RFC 3339; default a week).
    #[schema(value_type = String, format = DateTime)]
    pub valid_until: Option<String>,
    /// The balance may be paid in person when the customer collects.
    #[schema(value_type = bool)]
    pub balance_on_collection: Option<bool>,
}

/// The customer's counter-offer.
#[derive(Deserialize, ToSchema, Default)]
#[serde(default)]
pub struct CounterInput {
    #[schema(value_type = i64, required = true, minimum = 1, example = 7000000)]
    pub price_kobo: Option<i64>,
    #[schema(value_type = String, max_length = 2000)]
    pub notes: Option<String>,
}

fn price(errors: &mut FieldErrors, raw: Option<i64>) -> i64 {
    match raw {
        None => {
            errors.add("price_kobo", REQUIRED);
            0
        }
        Some(p) if (1..=MAX_KOBO).contains(&p) => p,
        Some(_) => {
            errors.add("price_kobo", format!("Must be between 1 and {MAX_KOBO}."));
            0
        }
    }
}

fn future_time(errors: &mut FieldErrors, field: &str, raw: Option<&str>) -> Option<DateTime<Utc>> {
    let raw = raw?.trim();
    match DateTime::parse_from_rfc3339(raw) {
        Ok(at) if at > Utc::now() => Some(at.with_timezone(&Utc)),
        Ok(_) => {
            errors.add(field, "Must be in the future.");
            None
        }
        Err(_) => {
            errors.add(
                field,
                "Use an RFC 3339 date-time, e.g. 2026-12-24T17:00:00Z.",
            );
            None
        }
    }
}

fn notes(errors: &mut FieldErrors, raw: Option<String>) -> String {
    let notes = raw.unwrap_or_default().trim().to_string();
    errors.max_len("notes", &notes, NOTES_MAX);
    notes
}

struct Quote {
    price: i64,
    deposit_percent: i64,
    due_at: DateTime<Utc>,
    notes: String,
    valid_until: DateTime<Utc>,
    balance_on_collection: bool,
}

fn check_quote(input: QuoteInput) -> Result<Quote, FieldErrors> {
    let mut errors = FieldErrors::new();
    let price = price(&mut errors, input.price_kobo);
    let deposit_percent = match input.deposit_percent {
        Some(p) if (0..=100).contains(&p) => p,
        Some(_) => {
            errors.add("deposit_percent", "Must be between 0 and 100.");
            0
        }
        None => {
            errors.add("deposit_percent", REQUIRED);
            0
        }
    };
    let due_at = future_time(&mut errors, "due_at", input.due_at.as_deref());
    if input.due_at.is_none() {
        errors.add("due_at", REQUIRED);
    }
    let valid_until = future_time(&mut errors, "valid_until", input.valid_until.as_deref());
    let notes = notes(&mut errors, input.notes);
    if let (Some(due), Some(until)) = (due_at, valid_until)
        && until > due
    {
        errors.add("valid_until", "A quote cannot stay open past its due date.");
    }
    errors.into_result()?;
    let due_at = due_at.ok_or_else(|| FieldErrors::single("due_at", REQUIRED))?;
    Ok(Quote {
        price,
        deposit_percent,
        due_at,
        notes,
        valid_until: valid_until
            .unwrap_or_else(|| (Utc::now() + Duration::days(DEFAULT_VALIDITY_DAYS)).min(due_at)),
        balance_on_collection: input.balance_on_collection.unwrap_or(false),
    })
}

/// The deposit for a price, rounded up to the kobo: a quote that asks for
/// a deposit never asks for none.
pub fn deposit_for(price: i64, percent: i64) -> i64 {
    (price * percent + 99) / 100
}

/// Closes the commission's open offer (if any) as `how`.
async fn close_open_offer(
    conn: &impl ConnectionTrait,
    commission: Uuid,
    how: &str,
) -> Result<(), CommissionError> {
    commission_offer::Entity::update_many()
        .col_expr(commission_offer::Column::Status, Expr::value(how))
        .filter(commission_offer::Column::CommissionId.eq(commission))
        .filter(commission_offer::Column::Status.eq("open"))
        .exec(conn)
        .await?;
    Ok(())
}

impl CommissionService {
    /// The tailor's quote (a re-quote replaces the open one).
    pub async fn quote(
        &self,
        me: &user::Model,
        id: Uuid,
        input: QuoteInput,
    ) -> Result<super::CommissionDetail, CommissionError> {
        let (row, actor) = self.as_party(me, id).await?;
        let to = allowed(&row, Action::Quote, actor, "quote")?;
        let quote = check_quote(input)?;
        let from = status_of(&row);
        let offer = commission_offer::Model {
            id: Uuid::now_v7(),
            commission_id: row.id,
            author: Actor::Tailor.as_str().into(),
            price_kobo: quote.price,
            deposit_percent: Some(quote.deposit_percent as i32),
            due_at: Some(quote.due_at),
            notes: quote.notes.clone(),
            valid_until: Some(quote.valid_until),
            balance_on_collection: quote.balance_on_collection,
            status: "open".into(),
            created_at: Utc::now(),
        };
        let txn = self.db.begin().await?;
        let update = update_from(row.id, from, to)
            .col_expr(commission::Column::PriceKobo, Expr::value(quote.price))
            .col_expr(
                commission::Column::DepositKobo,
                Expr::value(deposit_for(quote.price, quote.deposit_percent)),
            )
            .col_expr(commission::Column::DueAt, Expr::value(quote.due_at))
            .col_expr(
                commission::Column::BalanceOnCollection,
                Expr::value(quote.balance_on_collection),
            );
        if !moved(&txn, update).await? {
            txn.rollback().await?;
            return Err(self.lost_race(id, "quote").await);
        }
        close_open_offer(&txn, row.id, "superseded").await?;
        commission_offer::Entity::insert(commission_offer::ActiveModel::from(offer.clone()))
            .exec_without_returning(&txn)
            .await?;
        let mut event = Event::new(&row, actor, Some(me.id), "quoted").status(to);
        event.offer_id = Some(offer.id);
        event.amount_kobo = Some(quote.price);
        event.note = &quote.notes;
        event.record(&txn).await?;
        txn.commit().await?;
        self.detail(me, id).await
    }

    /// The customer's counter-offer to the open quote.
    pub async fn counter(
        &self,
        me: &user::Model,
        id: Uuid,
        input: CounterInput,
    ) -> Result<super::CommissionDetail, CommissionError> {
        let (row, actor) = self.as_party(me, id).await?;
        let to = allowed(&row, Action::Counter, actor, "counter")?;
        let mut errors = FieldErrors::new();
        let price = price(&mut errors, input.price_kobo);
        let notes = notes(&mut errors, input.notes);
        errors.into_result()?;
        let offer = commission_offer::Model {
            id: Uuid::now_v7(),
            commission_id: row.id,
            author: Actor::Customer.as_str().into(),
            price_kobo: price,
            deposit_percent: None,
            due_at: None,
            notes: notes.clone(),
            valid_until: None,
            balance_on_collection: false,
            status: "open".into(),
            created_at: Utc::now(),
        };
        let txn = self.db.begin().await?;
        if !moved(&txn, update_from(row.id, status_of(&row), to)).await? {
            txn.rollback().await?;
            return Err(self.lost_race(id, "counter").await);
        }
        close_open_offer(&txn, row.id, "countered").await?;
        commission_offer::Entity::insert(commission_offer::ActiveModel::from(offer.clone()))
            .exec_without_returning(&txn)
            .await?;
        let mut event = Event::new(&row, actor, Some(me.id), "countered").status(to);
        event.offer_id = Some(offer.id);
        event.amount_kobo = Some(price);
        event.note = &notes;
        event.record(&txn).await?;
        txn.commit().await?;
        self.detail(me, id).await
    }

    /// The tailor turns down the request or a counter-offer, or the
    /// customer turns down the quote; the commission ends.
    pub async fn decline(
        &self,
        me: &user::Model,
        id: Uuid,
        reason: Option<String>,
    ) -> Result<super::CommissionDetail, CommissionError> {
        let (row, actor) = self.as_party(me, id).await?;
        let to = allowed(&row, Action::Decline, actor, "decline")?;
        let mut errors = FieldErrors::new();
        let reason = reason.unwrap_or_default().trim().to_string();
        errors.max_len("reason", &reason, NOTES_MAX);
        errors.into_result()?;
        let txn = self.db.begin().await?;
        if !moved(&txn, update_from(row.id, status_of(&row), to)).await? {
            txn.rollback().await?;
            return Err(self.lost_race(id, "decline").await);
        }
        close_open_offer(&txn, row.id, "declined").await?;
        Event::new(&row, actor, Some(me.id), "declined")
            .status(to)
            .note(&reason)
            .record(&txn)
            .await?;
        txn.commit().await?;
        self.detail(me, id).await
    }

    /// The customer accepts the open quote (`offer_id`, when given, must
    /// still be it). With a deposit the commission awaits it (pay with
    /// `pay`); without one, work starts at once.
    pub async fn accept(
        &self,
        me: &user::Model,
        id: Uuid,
        offer_id: Option<Uuid>,
    ) -> Result<super::CommissionDetail, CommissionError> {
        let (row, actor) = self.as_party(me, id).await?;
        allowed(&row, Action::AcceptWithoutDeposit, actor, "accept")?;
        let offer = open_quote(&self.db, row.id)
            .await?
            .ok_or_else(|| CommissionError::wrong_state(status_of(&row), "accept"))?;
        if offer_id.is_some_and(|wanted| wanted != offer.id) {
            return Err(quote_changed());
        }
        if offer.valid_until.is_some_and(|until| until <= Utc::now()) {
            return Err(CommissionError::Conflict(
                "quote_expired",
                "This quote has expired; ask the tailor for a new one.".into(),
            ));
        }
        let with_deposit = row.deposit_kobo > 0;
        if with_deposit && !self.store.online_payments_enabled() {
            return Err(CommissionError::Conflict(
                "payments_unavailable",
                "Online payment is not configured on this server; a quote with a deposit cannot be accepted.".into(),
            ));
        }
        let action = if with_deposit {
            Action::AcceptWithDeposit
        } else {
            Action::AcceptWithoutDeposit
        };
        let to = allowed(&row, action, actor, "accept")?;
        let txn = self.db.begin().await?;
        // The quote read above must still be the one in force.
        let update = update_from(row.id, Status::Quoted, to)
            .filter(commission::Column::PriceKobo.eq(offer.price_kobo))
            .filter(commission::Column::DepositKobo.eq(row.deposit_kobo));
        let accepted = commission_offer::Entity::update_many()
            .col_expr(commission_offer::Column::Status, Expr::value("accepted"))
            .filter(commission_offer::Column::Id.eq(offer.id))
            .filter(commission_offer::Column::Status.eq("open"));
        if !moved(&txn, update).await? || accepted.exec(&txn).await?.rows_affected != 1 {
            txn.rollback().await?;
            // Still quoted: the tailor re-quoted between our read and our
            // update, which is not "cannot accept while quoted".
            let now = commission::Entity::find_by_id(id).one(&self.db).await?;
            if now.is_some_and(|n| status_of(&n) == Status::Quoted) {
                return Err(quote_changed());
            }
            return Err(self.lost_race(id, "accept").await);
        }
        let mut event = Event::new(&row, actor, Some(me.id), "accepted").status(to);
        event.offer_id = Some(offer.id);
        event.amount_kobo = Some(offer.price_kobo);
        event.record(&txn).await?;
        txn.commit().await?;
        self.detail(me, id).await
    }
}

fn quote_changed() -> CommissionError {
    CommissionError::Conflict(
        "quote_changed",
        "The tailor replaced that quote; review the new one.".into(),
    )
}

/// The tailor's quote that is open, if any.
pub(super) async fn open_quote(
    conn: &impl ConnectionTrait,
    commission: Uuid,
) -> Result<Option<commission_offer::Model>, CommissionError> {
    Ok(commission_offer::Entity::find()
        .filter(commission_offer::Column::CommissionId.eq(commission))
        .filter(commission_offer::Column::Status.eq("open"))
        .filter(commission_offer::Column::Author.eq(Actor::Tailor.as_str()))
        .order_by_desc(commission_offer::Column::Id)
        .one(conn)
        .await?)
}

#[cfg(test)]
mod tests {
    use super::deposit_for;

    #[test]
    fn deposits_round_down_to_the_kobo() {
        assert_eq!(deposit_for(1001, 50), 501);
        assert_eq!(deposit_for(1, 1), 1);
        assert_eq!(deposit_for(8_500_000, 0), 0);
        assert_eq!(deposit_for(8_500_000, 100), 8_500_000);
    }
}
