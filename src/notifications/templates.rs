//! The emails some notifications also send, as text and HTML in the one
//! layout of Atelier's emails (`mail::Layout`).

use super::Kind;
use crate::mail::{Email, Layout};
use crate::storage::entities::{notification, user};

/// The email for `notification` to `user`, if its kind (and, for an order,
/// its status) is one that is worth an email; the user's preference is
/// checked by the caller.
pub fn email_for(notification: &notification::Model, user: &user::Model) -> Option<Email> {
    let kind = Kind::parse(&notification.kind)?;
    if !kind.has_email() || user.email.trim().is_empty() {
        return None;
    }
    let subject = match kind {
        // Only the move that needs the customer to be there to receive it.
        Kind::OrderStatus if order_status_of(notification) == Some("shipped") => {
            "Your order has shipped"
        }
        Kind::CommissionReady => "Your commission is ready",
        Kind::PayoutSent => "Your payout is on its way",
        _ => return None,
    };
    let paragraphs = [
        format!("Hello {},", user.username),
        notification.title.clone(),
        notification.body.clone(),
        "You can turn these emails off in the app's notification settings.".to_string(),
    ];
    let page = Layout {
        title: subject,
        paragraphs: &paragraphs,
        action: Some(("Open in the Atelier app", &notification.link)),
    };
    Some(page.email(&user.email, subject))
}

/// The status an order notification reports, read from its dedup key
/// (`order:<id>:status:<status>:<user>`, written by `events::order_status`).
fn order_status_of(notification: &notification::Model) -> Option<&str> {
    let key = notification.dedup_key.as_deref()?;
    let mut parts = key.split(':');
    (parts.next()? == "order").then_some(())?;
    parts.next()?;
    (parts.next()? == "status").then_some(())?;
    parts.next()
}
