//! What each event of the other areas tells whom: the notifications they
//! write inside the transaction of their change. One function per event, so
//! a call site is one line and the words live next to each other here.

use sea_orm::{ConnectionTrait, EntityTrait};
use uuid::Uuid;

use super::Kind;
use super::emit::{Link, NewNotification, notify};
use crate::storage::StorageError;
use crate::storage::entities::{commission, fitting_booking, order, user};

/// Short enough to read aloud, unique enough to tell orders apart.
fn short(id: Uuid) -> String {
    let simple = id.simple().to_string();
    simple[simple.len() - 6..].to_uppercase()
}

pub(super) fn money(kobo: i64, currency: &str) -> String {
    let sign = if kobo < 0 { "-" } else { "" };
    let kobo = kobo.unsigned_abs();
    format!("{currency} {sign}{}.{:02}", kobo / 100, kobo % 100)
}

/// An order moved to `status` (its wire name) by `actor` (None: the
/// system). The customer hears of every move they did not make; the tailor
/// of a new order that is theirs to make (paid, or pay on delivery), and of
/// what the customer did (cancelled, confirmed delivery).
pub async fn order_status(
    conn: &impl ConnectionTrait,
    order_id: Uuid,
    status: &str,
    actor: Option<Uuid>,
) -> Result<(), StorageError> {
    // Waiting for payment is nobody's news: checkout skips the lookup.
    if status == "pending_payment" {
        return Ok(());
    }
    let Some(row) = order::Entity::find_by_id(order_id).one(conn).await? else {
        return Ok(());
    };
    let number = short(row.id);
    let for_customer = match status {
        "paid" => Some((
            Kind::Payment,
            "Payment received".to_string(),
            format!("We received your payment for order {number}. The tailor will start on it."),
        )),
        "processing" => Some((
            Kind::OrderStatus,
            "Your order is being prepared".into(),
            format!("Order {number} is being prepared by the tailor."),
        )),
        "shipped" => Some((
            Kind::OrderStatus,
            "Your order has shipped".into(),
            format!("Order {number} is on its way to you."),
        )),
        "delivered" => Some((
            Kind::OrderStatus,
            "Your order was delivered".into(),
            format!("Order {number} was delivered. Confirm you received it as ordered."),
        )),
        "completed" => Some((
            Kind::OrderStatus,
            "Order completed".into(),
            format!("Order {number} is complete. Thank you!"),
        )),
        "cancelled" => Some((
            Kind::OrderStatus,
            "Your order was cancelled".into(),
            format!("Order {number} was cancelled."),
        )),
        _ => None,
    };
    if let Some((kind, title, body)) = for_customer.filter(|_| actor != Some(row.customer_id)) {
        order_notice(conn, &row, row.customer_id, status, kind, title, body).await?;
    }
    let by_customer = actor == Some(row.customer_id);
    let for_tailor = match status {
        "paid" => Some((
            "New paid order",
            format!("Order {number} was paid: you can start on it."),
        )),
        "processing" if by_customer => Some((
            "New order",
            format!("Order {number} was placed, paid on delivery."),
        )),
        "cancelled" if by_customer => Some((
            "An order was cancelled",
            format!("The customer cancelled order {number}."),
        )),
        "completed" => Some((
            "Order completed",
            format!("The customer confirmed they received order {number}."),
        )),
        _ => None,
    };
    if let Some((title, body)) = for_tailor.filter(|_| actor != Some(row.tailor_id)) {
        let kind = Kind::OrderStatus;
        order_notice(conn, &row, row.tailor_id, status, kind, title.into(), body).await?;
    }
    Ok(())
}

async fn order_notice(
    conn: &impl ConnectionTrait,
    row: &order::Model,
    to: Uuid,
    status: &str,
    kind: Kind,
    title: String,
    body: String,
) -> Result<(), StorageError> {
    let key = format!("order:{}:status:{status}:{to}", row.id);
    let n = NewNotification::new(to, kind, Link::Order(row.id), title, body, key).about(row.id);
    notify(conn, n).await.map(drop)
}

/// A refund was queued for the payment's customer: of an order or of a
/// commission.
pub async fn refund_queued(
    conn: &impl ConnectionTrait,
    refund_id: Uuid,
    customer: Uuid,
    (order_id, commission_id): (Option<Uuid>, Option<Uuid>),
    amount_kobo: i64,
    currency: &str,
) -> Result<(), StorageError> {
    let (link, object, what) = match (order_id, commission_id) {
        (Some(order), _) => (Link::Order(order), order, "order"),
        (None, Some(commission)) => (Link::Commission(commission), commission, "commission"),
        (None, None) => return Ok(()),
    };
    let n = NewNotification::new(
        customer,
        Kind::Refund,
        link,
        "Refund on its way",
        format!(
            "We are refunding {} for your {what}. It reaches your account in a few days.",
            money(amount_kobo, currency)
        ),
        format!("refund:{refund_id}:{customer}"),
    )
    .about(object);
    notify(conn, n).await.map(drop)
}

/// One line of a commission's timeline (`commissions::Event`), as its
/// parties hear of it. `event_id` is the timeline row: one event, one
/// notification per person.
pub async fn commission_event(
    conn: &impl ConnectionTrait,
    row: &commission::Model,
    event_id: Uuid,
    event: &str,
    stage: Option<&str>,
    amount_kobo: Option<i64>,
) -> Result<(), StorageError> {
    let garment = row.garment_type.trim();
    let garment = if garment.is_empty() {
        "garment"
    } else {
        garment
    };
    let price = amount_kobo.map(|k| money(k, "NGN")).unwrap_or_default();
    let mut notices: Vec<(Uuid, Kind, String, String)> = Vec::new();
    match event {
        "requested" => notices.push((
            row.tailor_id,
            Kind::CommissionRequest,
            "New commission request".into(),
            format!("A customer asks you to make a {garment}."),
        )),
        "quoted" => notices.push((
            row.customer_id,
            Kind::CommissionQuote,
            "You have a quote".into(),
            format!("The tailor quoted {price} for your {garment}."),
        )),
        "countered" => notices.push((
            row.tailor_id,
            Kind::CommissionQuote,
            "Counter-offer".into(),
            format!("The customer offered {price} for the {garment}."),
        )),
        "progress" if stage == Some("ready") => notices.push((
            row.customer_id,
            Kind::CommissionReady,
            format!("Your {garment} is ready"),
            "The tailor finished your commission.".into(),
        )),
        "progress" => notices.push((
            row.customer_id,
            Kind::CommissionStage,
            format!("Progress on your {garment}"),
            format!("Now: {}.", stage.unwrap_or("in progress").replace('_', " ")),
        )),
        "deposit_paid" | "balance_paid" => {
            let what = if event == "deposit_paid" {
                "deposit"
            } else {
                "balance"
            };
            notices.push((
                row.customer_id,
                Kind::Payment,
                "Payment received".into(),
                format!("We received your {what} of {price} for your {garment}."),
            ));
            notices.push((
                row.tailor_id,
                Kind::Payment,
                format!("The {what} was paid"),
                format!("The customer paid the {what} of {price} for the {garment}."),
            ));
        }
        _ => {}
    }
    for (to, kind, title, body) in notices {
        let key = format!("commission:{}:event:{event_id}:{to}", row.id);
        let link = Link::Commission(row.id);
        notify(
            conn,
            NewNotification::new(to, kind, link, title, body, key).about(row.id),
        )
        .await?;
    }
    Ok(())
}

/// A new booking: the tailor hears of it (to accept it, or as booked when
/// the tailor takes bookings without approval).
pub async fn fitting_requested(
    conn: &impl ConnectionTrait,
    booking: &fitting_booking::Model,
) -> Result<(), StorageError> {
    let title = if booking.status == "confirmed" {
        "New fitting booked"
    } else {
        "Fitting request"
    };
    let n = NewNotification::new(
        booking.tailor_id,
        Kind::FittingRequested,
        Link::Fitting(booking.id),
        title,
        "A customer booked a fitting with you.",
        format!("fitting:{}:requested:{}", booking.id, booking.tailor_id),
    )
    .about(booking.id);
    notify(conn, n).await.map(drop)
}

/// The tailor accepted the customer's booking.
pub async fn fitting_confirmed(
    conn: &impl ConnectionTrait,
    booking: &fitting_booking::Model,
) -> Result<(), StorageError> {
    let n = NewNotification::new(
        booking.customer_id,
        Kind::FittingConfirmed,
        Link::Fitting(booking.id),
        "Fitting confirmed",
        "The tailor confirmed your fitting.",
        format!(
            "fitting:{}:confirmed:{}:{}",
            booking.id,
            booking.start_at.timestamp(),
            booking.customer_id
        ),
    )
    .about(booking.id);
    notify(conn, n).await.map(drop)
}

/// A reminder (`when`: "in 24 hours", "in 1 hour") to both parties of a
/// confirmed fitting; one per reminder and start time.
pub async fn fitting_reminder(
    conn: &impl ConnectionTrait,
    booking: &fitting_booking::Model,
    when: &str,
) -> Result<(), StorageError> {
    for to in [booking.customer_id, booking.tailor_id] {
        let n = NewNotification::new(
            to,
            Kind::FittingReminder,
            Link::Fitting(booking.id),
            "Fitting reminder",
            format!("Your fitting starts {when}."),
            format!(
                "fitting:{}:reminder:{}:{}:{to}",
                booking.id,
                when.replace(' ', "_"),
                booking.start_at.timestamp()
            ),
        )
        .about(booking.id);
        notify(conn, n).await?;
    }
    Ok(())
}

/// `follower` started following `followee`; once per pair, ever (following
/// again after an unfollow is not news again).
pub async fn new_follower(
    conn: &impl ConnectionTrait,
    follower: &user::Model,
    followee: Uuid,
) -> Result<(), StorageError> {
    let n = NewNotification::new(
        followee,
        Kind::NewFollower,
        Link::Tailor(followee),
        "New follower",
        format!("{} started following you.", follower.username),
        format!("follow:{}:{followee}", follower.id),
    )
    .about(follower.id);
    notify(conn, n).await.map(drop)
}

/// A customer reviewed the tailor for the first time (edits are not news).
pub async fn new_review(
    conn: &impl ConnectionTrait,
    review_id: Uuid,
    tailor: Uuid,
    customer: &user::Model,
    rating: i32,
) -> Result<(), StorageError> {
    let n = NewNotification::new(
        tailor,
        Kind::NewReview,
        Link::Tailor(tailor),
        "New review",
        format!("{} rated you {rating} out of 5.", customer.username),
        format!("review:{tailor}:{}", customer.id),
    )
    .about(review_id);
    notify(conn, n).await.map(drop)
}

/// A chat message for a member with no open socket.
pub async fn chat_message(
    conn: &impl ConnectionTrait,
    to: Uuid,
    conversation: Uuid,
    seq: i64,
    sender: &str,
    text: &str,
) -> Result<(), StorageError> {
    let body = if text.trim().is_empty() {
        "Sent a photo.".to_string()
    } else {
        text.to_string()
    };
    let n = NewNotification::new(
        to,
        Kind::ChatMessage,
        Link::Chat(conversation),
        sender,
        body,
        format!("chat:{conversation}:{seq}:{to}"),
    )
    .about(conversation)
    .collapse(format!("chat:{conversation}"));
    notify(conn, n).await.map(drop)
}

/// A payout reached the tailor's bank (for the wallet, when it comes).
pub async fn payout_sent(
    conn: &impl ConnectionTrait,
    tailor: Uuid,
    payout_id: Uuid,
    amount_kobo: i64,
    currency: &str,
) -> Result<(), StorageError> {
    let n = NewNotification::new(
        tailor,
        Kind::PayoutSent,
        Link::Wallet,
        "Payout sent",
        format!(
            "{} is on its way to your bank account.",
            money(amount_kobo, currency)
        ),
        format!("payout:{payout_id}:sent"),
    )
    .about(payout_id);
    notify(conn, n).await.map(drop)
}

/// A payout failed (for the wallet, when it comes).
pub async fn payout_failed(
    conn: &impl ConnectionTrait,
    tailor: Uuid,
    payout_id: Uuid,
    amount_kobo: i64,
    currency: &str,
) -> Result<(), StorageError> {
    let n = NewNotification::new(
        tailor,
        Kind::PayoutFailed,
        Link::Wallet,
        "Payout failed",
        format!(
            "We could not send {} to your bank. Check your bank details.",
            money(amount_kobo, currency)
        ),
        format!("payout:{payout_id}:failed"),
    )
    .about(payout_id);
    notify(conn, n).await.map(drop)
}
