//! Query pieces shared by several areas, written once for both backends.

use sea_orm::sea_query::{Expr, SelectStatement, SimpleExpr};

/// A SELECT as a scalar subquery expression.
pub fn subquery(select: SelectStatement) -> SimpleExpr {
    SimpleExpr::SubQuery(None, Box::new(select.into_sub_query_statement()))
}

/// How many rows `rows` (a SELECT with only FROM and WHERE) has, and their
/// average `rating` in hundredths rounded half up (0 without rows), as two
/// scalar subqueries: what a rating summary is recomputed from, in the
/// transaction that changed the reviews.
pub fn rating_summary(rows: SelectStatement) -> (SimpleExpr, SimpleExpr) {
    let count = rows.clone().expr(Expr::cust("COUNT(*)")).to_owned();
    let average_centi = rows
        .clone()
        .expr(Expr::cust(
            "COALESCE((SUM(rating) * 100 + COUNT(*) / 2) / NULLIF(COUNT(*), 0), 0)",
        ))
        .to_owned();
    (subquery(count), subquery(average_centi))
}
