//! The tailor's side: their customers and their dashboard figures.
//!
//! A customer is anyone who ordered from the tailor (orders name their
//! tailor: one order holds one tailor's products) or exchanged messages with
//! them (a conversation both are members of, with at least one message).
//! Both are read from the tables that record them, never from a copy.

use std::collections::HashMap;

use chrono::{DateTime, Datelike, TimeZone, Utc};
use sea_orm::sea_query::{Alias, Expr, Query, SelectStatement, UnionType};
use sea_orm::{
    ColumnTrait, ConnectionTrait, EntityTrait, PaginatorTrait, QueryFilter, QuerySelect,
};
use uuid::Uuid;

use super::{TailorError, TailorService};
use crate::storage::entities::{
    conversation, conversation_member, order, order_event, order_item, product, tailor_profile,
    user,
};
use crate::store::Status;

/// Every order status, in the order an order moves through them.
const STATUSES: [Status; 7] = [
    Status::PendingPayment,
    Status::Paid,
    Status::Processing,
    Status::Shipped,
    Status::Delivered,
    Status::Completed,
    Status::Cancelled,
];

/// A customer's last interaction with the tailor.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Interaction {
    Order,
    Chat,
}

impl Interaction {
    pub fn as_str(self) -> &'static str {
        match self {
            Interaction::Order => "order",
            Interaction::Chat => "chat",
        }
    }
}

pub struct Customer {
    pub user: user::Model,
    pub last_interaction_at: DateTime<Utc>,
    pub last_interaction: Interaction,
    /// Orders the customer placed with the tailor, any status.
    pub orders_count: i64,
}

pub struct CustomerPage {
    pub count: u64,
    pub customers: Vec<Customer>,
}

/// The tailor's figures; each read from the rows it counts.
pub struct Dashboard {
    /// Products in the tailor's store (hidden ones included, deleted ones not).
    pub products: u64,
    /// Every order status with the number of the tailor's orders in it.
    pub orders_by_status: Vec<(&'static str, i64)>,
    pub orders_total: i64,
    /// Kobo: the items of the tailor's delivered or completed orders that
    /// were delivered this calendar month (UTC).
    pub revenue_this_month_kobo: i64,
    /// The first instant of the month the revenue counts.
    pub month_start: DateTime<Utc>,
    pub followers: i64,
    /// Average × 100, as the profile keeps it.
    pub rating_avg_centi: i64,
    pub rating_count: i64,
}

const INTERACTIONS: &str = "interactions";

impl TailorService {
    /// The tailor's customers, latest interaction first; `None` past the
    /// last page.
    pub async fn customers(
        &self,
        tailor: &user::Model,
        page: u64,
        page_size: u64,
    ) -> Result<Option<CustomerPage>, TailorError> {
        ensure_tailor(tailor)?;
        let mut count_query = Query::select();
        count_query
            .expr(Expr::col(Alias::new("user_id")).count_distinct())
            .from_subquery(interactions(tailor.id), Alias::new(INTERACTIONS));
        let count_row = self
            .db
            .query_one(self.db.get_database_backend().build(&count_query))
            .await?;
        let count = match count_row {
            Some(row) => row.try_get_by_index::<i64>(0)?.max(0) as u64,
            None => 0,
        };
        let Some(offset) = crate::storage::page_offset(page, page_size, count) else {
            return Ok(None);
        };
        let mut page_query = Query::select();
        page_query
            .column(Alias::new("user_id"))
            .expr_as(Expr::col(Alias::new("at")).max(), Alias::new("last_at"))
            .from_subquery(interactions(tailor.id), Alias::new(INTERACTIONS))
            .group_by_col(Alias::new("user_id"))
            .order_by(Alias::new("last_at"), sea_orm::sea_query::Order::Desc)
            .order_by(Alias::new("user_id"), sea_orm::sea_query::Order::Desc)
            .offset(offset)
            .limit(page_size);
        let rows = self
            .db
            .query_all(self.db.get_database_backend().build(&page_query))
            .await?;
        let mut last = Vec::with_capacity(rows.len());
        for row in rows {
            let id: Uuid = row.try_get("", "user_id")?;
            let at: DateTime<Utc> = row.try_get("", "last_at")?;
            last.push((id, at));
        }
        let ids: Vec<Uuid> = last.iter().map(|(id, _)| *id).collect();
        let orders = self.orders_per_customer(tailor.id, &ids).await?;
        let mut users: HashMap<Uuid, user::Model> = user::Entity::find()
            .filter(user::Column::Id.is_in(ids.iter().copied()))
            .all(&self.db)
            .await?
            .into_iter()
            .map(|u| (u.id, u))
            .collect();
        let customers = last
            .into_iter()
            .filter_map(|(id, at)| {
                let (orders_count, last_order) = orders.get(&id).copied().unwrap_or((0, None));
                Some(Customer {
                    user: users.remove(&id)?,
                    last_interaction_at: at,
                    last_interaction: if last_order == Some(at) {
                        Interaction::Order
                    } else {
                        Interaction::Chat
                    },
                    orders_count,
                })
            })
            .collect();
        Ok(Some(CustomerPage { count, customers }))
    }

    /// For each of these customers: how many orders they placed with the
    /// tailor and when the last one was placed.
    async fn orders_per_customer(
        &self,
        tailor: Uuid,
        customers: &[Uuid],
    ) -> Result<HashMap<Uuid, (i64, Option<DateTime<Utc>>)>, TailorError> {
        let rows: Vec<(Uuid, i64, Option<DateTime<Utc>>)> = order::Entity::find()
            .select_only()
            .column(order::Column::CustomerId)
            .column_as(order::Column::Id.count(), "orders")
            .column_as(order::Column::CreatedAt.max(), "last_order")
            .filter(order::Column::TailorId.eq(tailor))
            .filter(order::Column::CustomerId.is_in(customers.iter().copied()))
            .group_by(order::Column::CustomerId)
            .into_tuple()
            .all(&self.db)
            .await?;
        Ok(rows
            .into_iter()
            .map(|(id, count, last)| (id, (count, last)))
            .collect())
    }

    /// The tailor's dashboard figures.
    pub async fn dashboard(&self, tailor: &user::Model) -> Result<Dashboard, TailorError> {
        ensure_tailor(tailor)?;
        let products = product::Entity::find()
            .filter(product::Column::TailorId.eq(tailor.id))
            .filter(product::Column::DeletedAt.is_null())
            .count(&self.db)
            .await?;
        let per_status: HashMap<String, i64> = order::Entity::find()
            .select_only()
            .column(order::Column::Status)
            .column_as(order::Column::Id.count(), "orders")
            .filter(order::Column::TailorId.eq(tailor.id))
            .group_by(order::Column::Status)
            .into_tuple::<(String, i64)>()
            .all(&self.db)
            .await?
            .into_iter()
            .collect();
        let orders_by_status: Vec<(&'static str, i64)> = STATUSES
            .iter()
            .map(|s| (s.as_str(), per_status.get(s.as_str()).copied().unwrap_or(0)))
            .collect();
        let profile = tailor_profile::Entity::find_by_id(tailor.id)
            .one(&self.db)
            .await?;
        let month = this_month(Utc::now());
        Ok(Dashboard {
            products,
            month_start: month.0,
            orders_total: orders_by_status.iter().map(|(_, n)| n).sum(),
            orders_by_status,
            revenue_this_month_kobo: self.revenue_between(tailor.id, month).await?,
            followers: profile.as_ref().map_or(0, |p| p.followers_count),
            rating_avg_centi: profile.as_ref().map_or(0, |p| p.rating_avg_centi),
            rating_count: profile.as_ref().map_or(0, |p| p.rating_count),
        })
    }

    /// Kobo of the items of the tailor's delivered or completed orders
    /// whose delivery falls in `[from, to)`.
    async fn revenue_between(
        &self,
        tailor: Uuid,
        (from, to): (DateTime<Utc>, DateTime<Utc>),
    ) -> Result<i64, TailorError> {
        let settled = Query::select()
            .column(order::Column::Id)
            .from(order::Entity)
            .and_where(Expr::col(order::Column::TailorId).eq(tailor))
            .and_where(
                Expr::col(order::Column::Status)
                    .is_in([Status::Delivered.as_str(), Status::Completed.as_str()]),
            )
            .to_owned();
        let delivered_in_range = Query::select()
            .column(order_event::Column::OrderId)
            .from(order_event::Entity)
            .and_where(Expr::col(order_event::Column::Status).eq(Status::Delivered.as_str()))
            .and_where(Expr::col(order_event::Column::CreatedAt).gte(from))
            .and_where(Expr::col(order_event::Column::CreatedAt).lt(to))
            .to_owned();
        let revenue: Option<i64> = order_item::Entity::find()
            .select_only()
            // PostgreSQL sums a bigint into a numeric: cast back, the same on SQLite.
            .column_as(
                Expr::cust("CAST(COALESCE(SUM(line_total_kobo), 0) AS BIGINT)"),
                "revenue",
            )
            .filter(order_item::Column::OrderId.in_subquery(settled))
            .filter(order_item::Column::OrderId.in_subquery(delivered_in_range))
            .into_tuple()
            .one(&self.db)
            .await?;
        Ok(revenue.unwrap_or(0))
    }
}

fn ensure_tailor(user: &user::Model) -> Result<(), TailorError> {
    if user.role != "tailor" {
        return Err(TailorError::Forbidden(
            "Only tailors have customers and a dashboard.",
        ));
    }
    Ok(())
}

/// The calendar month (UTC) that `now` falls in: `[first day, first day of the next)`.
fn this_month(now: DateTime<Utc>) -> (DateTime<Utc>, DateTime<Utc>) {
    let start = |year: i32, month: u32| {
        Utc.with_ymd_and_hms(year, month, 1, 0, 0, 0)
            .single()
            .unwrap_or(now)
    };
    let (year, month) = (now.year(), now.month());
    let next = if month == 12 {
        start(year + 1, 1)
    } else {
        start(year, month + 1)
    };
    (start(year, month), next)
}

/// Every interaction of a customer with the tailor, one row each:
/// `(user_id, at)`. Orders count when placed; a conversation by its latest
/// activity, once it has a message. Staff (support) are not customers.
fn interactions(tailor: Uuid) -> SelectStatement {
    let (others, mine) = (Alias::new("others"), Alias::new("mine"));
    let orders = Query::select()
        .expr_as(Expr::col(order::Column::CustomerId), Alias::new("user_id"))
        .expr_as(Expr::col(order::Column::CreatedAt), Alias::new("at"))
        .from(order::Entity)
        .and_where(Expr::col(order::Column::TailorId).eq(tailor))
        .and_where(Expr::col(order::Column::CustomerId).ne(tailor))
        .and_where(Expr::col(order::Column::CustomerId).not_in_subquery(staff()))
        .to_owned();
    let chats = Query::select()
        .expr_as(
            Expr::col((others.clone(), conversation_member::Column::UserId)),
            Alias::new("user_id"),
        )
        .expr_as(
            Expr::col((conversation::Entity, conversation::Column::ActivityAt)),
            Alias::new("at"),
        )
        .from_as(conversation_member::Entity, others.clone())
        .inner_join(
            conversation::Entity,
            Expr::col((conversation::Entity, conversation::Column::Id))
                .equals((others.clone(), conversation_member::Column::ConversationId)),
        )
        .join_as(
            sea_orm::sea_query::JoinType::InnerJoin,
            conversation_member::Entity,
            mine.clone(),
            Expr::col((mine.clone(), conversation_member::Column::ConversationId))
                .equals((others.clone(), conversation_member::Column::ConversationId))
                .and(Expr::col((mine.clone(), conversation_member::Column::UserId)).eq(tailor)),
        )
        .and_where(Expr::col((others.clone(), conversation_member::Column::UserId)).ne(tailor))
        .and_where(
            Expr::col((others.clone(), conversation_member::Column::UserId))
                .not_in_subquery(staff()),
        )
        .and_where(Expr::col((conversation::Entity, conversation::Column::LastSeq)).gt(0))
        .to_owned();
    orders.to_owned().union(UnionType::All, chats).to_owned()
}

fn staff() -> SelectStatement {
    Query::select()
        .column(user::Column::Id)
        .from(user::Entity)
        .cond_where(
            Expr::col(user::Column::IsStaff)
                .eq(true)
                .or(Expr::col(user::Column::IsSuperuser).eq(true)),
        )
        .to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_month_runs_from_its_first_day_to_the_next_months_first_day() {
        let at = |y, m, d| Utc.with_ymd_and_hms(y, m, d, 12, 0, 0).unwrap();
        let first = |y, m| Utc.with_ymd_and_hms(y, m, 1, 0, 0, 0).unwrap();
        assert_eq!(
            this_month(at(2026, 12, 31)),
            (first(2026, 12), first(2027, 1))
        );
        assert_eq!(
            this_month(at(2028, 2, 29)),
            (first(2028, 2), first(2028, 3))
        );
        assert_eq!(
            this_month(first(2026, 11)),
            (first(2026, 11), first(2026, 12))
        );
    }
}
