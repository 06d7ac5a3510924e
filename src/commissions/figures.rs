//! The commission figures on the tailor's dashboard.

use chrono::{DateTime, Datelike, TimeDelta, TimeZone, Utc};
use sea_orm::sea_query::{Expr, Query};
use sea_orm::{ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter, QuerySelect};
use serde::Serialize;
use utoipa::ToSchema;
use uuid::Uuid;

use super::machine::Status;
use super::{CommissionError, CommissionService};
use crate::storage::entities::{commission, commission_payment, payment};

#[derive(Debug, Serialize, ToSchema, Default)]
pub struct CommissionFigures {
    /// Requests and counter-offers waiting for your answer.
    pub pending_requests: u64,
    /// Your quotes the customer has not answered yet.
    pub open_quotes: u64,
    pub awaiting_deposit: u64,
    /// Commissions in progress by the stage last reported.
    pub in_progress_by_stage: StageCounts,
    /// Ready, waiting for the balance or collection.
    pub ready: u64,
    /// Active commissions due in the next 7 days.
    pub due_this_week: u64,
    /// Active commissions past their due date.
    pub overdue: u64,
    /// Kobo of deposits paid this calendar month (UTC).
    pub deposits_this_month_kobo: i64,
    /// Kobo of balances paid this calendar month (UTC).
    pub balances_this_month_kobo: i64,
}

#[derive(Debug, Serialize, ToSchema, Default)]
pub struct StageCounts {
    /// No progress update yet.
    pub not_started: u64,
    pub cutting: u64,
    pub sewing: u64,
    pub fitting: u64,
    pub alterations: u64,
    pub finishing: u64,
}

impl StageCounts {
    fn slot(&mut self, stage: Option<&str>) -> Option<&mut u64> {
        Some(match stage {
            None => &mut self.not_started,
            Some("cutting") => &mut self.cutting,
            Some("sewing") => &mut self.sewing,
            Some("fitting") => &mut self.fitting,
            Some("alterations") => &mut self.alterations,
            Some("finishing") => &mut self.finishing,
            Some(_) => return None,
        })
    }
}

fn month_start(now: DateTime<Utc>) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(now.year(), now.month(), 1, 0, 0, 0)
        .single()
        .unwrap_or(now)
}

impl CommissionService {
    pub async fn figures(&self, tailor: Uuid) -> Result<CommissionFigures, CommissionError> {
        let now = Utc::now();
        let mine = || commission::Entity::find().filter(commission::Column::TailorId.eq(tailor));
        let counted = |statuses: &[Status]| {
            mine().filter(commission::Column::Status.is_in(statuses.iter().map(|s| s.as_str())))
        };
        let active = [Status::AwaitingDeposit, Status::InProgress];
        let mut by_stage = StageCounts::default();
        let stages: Vec<(Option<String>, i64)> = counted(&[Status::InProgress])
            .select_only()
            .column(commission::Column::Stage)
            .column_as(commission::Column::Id.count(), "n")
            .group_by(commission::Column::Stage)
            .into_tuple()
            .all(&self.db)
            .await?;
        for (stage, n) in stages {
            if let Some(slot) = by_stage.slot(stage.as_deref()) {
                *slot += n as u64;
            }
        }
        Ok(CommissionFigures {
            pending_requests: counted(&[Status::Requested, Status::Countered])
                .count(&self.db)
                .await?,
            open_quotes: counted(&[Status::Quoted]).count(&self.db).await?,
            awaiting_deposit: counted(&[Status::AwaitingDeposit]).count(&self.db).await?,
            in_progress_by_stage: by_stage,
            ready: counted(&[Status::Ready]).count(&self.db).await?,
            due_this_week: counted(&active)
                .filter(commission::Column::DueAt.gte(now))
                .filter(commission::Column::DueAt.lt(now + TimeDelta::days(7)))
                .count(&self.db)
                .await?,
            overdue: counted(&active)
                .filter(commission::Column::DueAt.lt(now))
                .count(&self.db)
                .await?,
            deposits_this_month_kobo: self.paid_since(tailor, "deposit", month_start(now)).await?,
            balances_this_month_kobo: self.paid_since(tailor, "balance", month_start(now)).await?,
        })
    }

    /// Kobo paid for the tailor's commissions with this purpose since `from`.
    async fn paid_since(
        &self,
        tailor: Uuid,
        purpose: &str,
        from: DateTime<Utc>,
    ) -> Result<i64, CommissionError> {
        let theirs = Query::select()
            .column(commission_payment::Column::PaymentId)
            .from(commission_payment::Entity)
            .inner_join(
                commission::Entity,
                Expr::col((commission::Entity, commission::Column::Id)).equals((
                    commission_payment::Entity,
                    commission_payment::Column::CommissionId,
                )),
            )
            .and_where(Expr::col((commission::Entity, commission::Column::TailorId)).eq(tailor))
            .and_where(
                Expr::col((
                    commission_payment::Entity,
                    commission_payment::Column::Purpose,
                ))
                .eq(purpose),
            )
            .to_owned();
        let amounts: Vec<i64> = payment::Entity::find()
            .select_only()
            .column(payment::Column::AmountKobo)
            .filter(payment::Column::Id.in_subquery(theirs))
            .filter(payment::Column::Status.eq("paid"))
            .filter(payment::Column::UpdatedAt.gte(from))
            .into_tuple()
            .all(&self.db)
            .await?;
        Ok(amounts.iter().sum())
    }
}
