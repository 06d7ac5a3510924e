//! Made to measure: a customer's request to a tailor, quotes and
//! counter-offers, the deposit, progress, the balance, delivery, completion,
//! cancellation with refunds, disputes resolved by staff, and the reminders
//! before a due date.
//!
//! Every move goes through `machine` (who may do what from where); a move is
//! one conditional update of the status (`WHERE status = <what was read>`)
//! plus its timeline line, in one transaction, so of two racing moves one
//! wins and the other is told the state it found. Tables: migration m0022.

mod background;
mod calendar;
pub mod disputes;
mod error;
pub mod export;
mod figures;
pub mod http;
pub mod machine;
pub mod offers;
pub mod payments;
pub mod progress;
mod requests;
mod views;

pub use error::CommissionError;
pub use figures::CommissionFigures;
pub use requests::{CommissionRequest, FABRIC_SOURCES, FULFILMENTS};
pub use views::{CommissionDetail, CommissionView, DisputeView, EventView, OfferView};

use std::sync::Arc;

use chrono::Utc;
use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveValue::Set, ColumnTrait, ConnectionTrait, DatabaseConnection, EntityTrait, QueryFilter,
    UpdateMany,
};
use uuid::Uuid;

use self::machine::{Action, Actor, Status};
use crate::chat::ChatService;
use crate::config::CommissionSettings;
use crate::mail::Outbox;
use crate::storage::entities::{commission, commission_event, user};
use crate::store::StoreService;

pub struct CommissionService {
    db: DatabaseConnection,
    store: Arc<StoreService>,
    chat: Arc<ChatService>,
    outbox: Outbox,
    settings: CommissionSettings,
}

impl CommissionService {
    /// Also makes the service the owner of commission payments, so the
    /// store's webhook settles them here.
    pub fn start(
        db: DatabaseConnection,
        store: Arc<StoreService>,
        chat: Arc<ChatService>,
        outbox: Outbox,
        settings: CommissionSettings,
    ) -> Arc<Self> {
        let service = Arc::new(Self {
            db,
            store: store.clone(),
            chat,
            outbox,
            settings,
        });
        store.register_payment_owner(
            payments::PURPOSE,
            Arc::new(payments::Settlement {
                fee_bps: store.wallet_settings().fee_bps,
            }),
        );
        service
    }

    /// The commission and the caller's part in it; not found for anyone
    /// but its two parties.
    async fn as_party(
        &self,
        me: &user::Model,
        id: Uuid,
    ) -> Result<(commission::Model, Actor), CommissionError> {
        let row = commission::Entity::find_by_id(id)
            .one(&self.db)
            .await?
            .ok_or(CommissionError::NotFound)?;
        let actor = party(&row, me.id).ok_or(CommissionError::NotFound)?;
        Ok((row, actor))
    }
}

fn party(row: &commission::Model, user: Uuid) -> Option<Actor> {
    if row.customer_id == user {
        Some(Actor::Customer)
    } else if row.tailor_id == user {
        Some(Actor::Tailor)
    } else {
        None
    }
}

fn status_of(row: &commission::Model) -> Status {
    // Only this module writes the column, always from `Status::as_str`.
    Status::parse(&row.status).unwrap_or(Status::Cancelled)
}

/// Where `action` by `actor` takes `row`, or the 409 that names its state.
fn allowed(
    row: &commission::Model,
    action: Action,
    actor: Actor,
    what: &str,
) -> Result<Status, CommissionError> {
    let current = status_of(row);
    machine::next(current, action, actor).ok_or_else(|| {
        // A move the caller's side never makes is not theirs to make at all.
        let anyone_can = machine::MOVES
            .iter()
            .any(|(_, a, r, _)| *a == action && *r == actor);
        if anyone_can {
            CommissionError::wrong_state(current, what)
        } else {
            CommissionError::Forbidden("The other party does this, not you.")
        }
    })
}

/// An update of the commission that applies only while it is still in
/// `from`: the one statement that decides which of two racing moves wins.
fn update_from(id: Uuid, from: Status, to: Status) -> UpdateMany<commission::Entity> {
    commission::Entity::update_many()
        .col_expr(commission::Column::Status, Expr::value(to.as_str()))
        .col_expr(commission::Column::UpdatedAt, Expr::value(Utc::now()))
        .filter(commission::Column::Id.eq(id))
        .filter(commission::Column::Status.eq(from.as_str()))
}

/// Runs a conditional move; false when another move got there first.
async fn moved(
    conn: &impl ConnectionTrait,
    update: UpdateMany<commission::Entity>,
) -> Result<bool, CommissionError> {
    Ok(update.exec(conn).await?.rows_affected == 1)
}

/// One line of the timeline.
struct Event<'a> {
    commission: Uuid,
    row: &'a commission::Model,
    actor_id: Option<Uuid>,
    actor: Actor,
    kind: &'a str,
    status: Status,
    stage: Option<&'a str>,
    note: &'a str,
    image_ids: &'a [Uuid],
    offer_id: Option<Uuid>,
    amount_kobo: Option<i64>,
}

impl<'a> Event<'a> {
    fn new(row: &'a commission::Model, actor: Actor, by: Option<Uuid>, kind: &'a str) -> Self {
        Event {
            commission: row.id,
            row,
            actor_id: by,
            actor,
            kind,
            status: status_of(row),
            stage: None,
            note: "",
            image_ids: &[],
            offer_id: None,
            amount_kobo: None,
        }
    }

    fn status(mut self, status: Status) -> Self {
        self.status = status;
        self
    }

    fn note(mut self, note: &'a str) -> Self {
        self.note = note;
        self
    }

    async fn record(self, conn: &impl ConnectionTrait) -> Result<(), CommissionError> {
        let id = Uuid::now_v7();
        commission_event::Entity::insert(commission_event::ActiveModel {
            id: Set(id),
            commission_id: Set(self.commission),
            actor_id: Set(self.actor_id),
            actor: Set(self.actor.as_str().into()),
            kind: Set(self.kind.into()),
            status: Set(self.status.as_str().into()),
            stage: Set(self.stage.map(str::to_string)),
            note: Set(self.note.into()),
            image_ids: Set(ids_json(self.image_ids)),
            offer_id: Set(self.offer_id),
            amount_kobo: Set(self.amount_kobo),
            created_at: Set(Utc::now()),
        })
        .exec_without_returning(conn)
        .await?;
        // Its parties hear of it in the same transaction.
        crate::notifications::events::commission_event(
            conn,
            self.row,
            id,
            self.kind,
            self.stage,
            self.amount_kobo,
        )
        .await?;
        Ok(())
    }
}

/// Whatever the commission holds in escrow becomes the tailor's (less any
/// debt to the platform); part of the caller's transaction.
async fn release_earnings(
    conn: &impl ConnectionTrait,
    row: &commission::Model,
    memo: &str,
) -> Result<(), CommissionError> {
    let source = crate::wallet::Source::commission(row.id);
    crate::wallet::flows::release(conn, row.tailor_id, source, memo).await?;
    Ok(())
}

fn ids_json(ids: &[Uuid]) -> String {
    serde_json::to_string(ids).unwrap_or_else(|_| "[]".into())
}

fn ids_from_json(raw: &str) -> Vec<Uuid> {
    serde_json::from_str(raw).unwrap_or_default()
}

/// The commissions a deleted account was a party to that still hold money
/// or work in motion, or whose refund is not settled (its deletion waits
/// for them, as for orders), oldest first.
pub async fn open_commissions_of(
    conn: &impl ConnectionTrait,
    account: Uuid,
) -> Result<Vec<Uuid>, sea_orm::DbErr> {
    use crate::storage::entities::refund;
    use sea_orm::sea_query::Query;
    use sea_orm::{Condition, QuerySelect};
    let open = [
        Status::AwaitingDeposit,
        Status::InProgress,
        Status::Ready,
        Status::Delivered,
        Status::Disputed,
    ]
    .map(Status::as_str);
    let party = Condition::any()
        .add(commission::Column::CustomerId.eq(account))
        .add(commission::Column::TailorId.eq(account));
    let mut ids: Vec<Uuid> = commission::Entity::find()
        .select_only()
        .column(commission::Column::Id)
        .filter(party.clone())
        .filter(commission::Column::Status.is_in(open))
        .into_tuple()
        .all(conn)
        .await?;
    let theirs = Query::select()
        .column(commission::Column::Id)
        .from(commission::Entity)
        .cond_where(party)
        .to_owned();
    let refunding: Vec<Option<Uuid>> = refund::Entity::find()
        .select_only()
        .column(refund::Column::CommissionId)
        .filter(refund::Column::CommissionId.in_subquery(theirs))
        .filter(refund::Column::Status.ne("sent"))
        .into_tuple()
        .all(conn)
        .await?;
    ids.extend(refunding.into_iter().flatten());
    ids.sort();
    ids.dedup();
    Ok(ids)
}
