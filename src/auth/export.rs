//! "Export my data": one JSON document with everything stored about the
//! caller (the right of access and portability under Nigeria's Data
//! Protection Act and the GDPR). Secrets stay out: no password hash, no
//! token identifiers, no code hashes, no throttle counters.
//!
//! It reads every area's tables directly, read-only, inside one transaction
//! so that the parts agree with each other.

use std::collections::HashMap;
use std::time::Duration;

use chrono::{DateTime, Utc};
use sea_orm::{
    AccessMode, ColumnTrait, ConnectionTrait, DatabaseBackend, DatabaseTransaction, DbErr,
    EntityTrait, IsolationLevel, QueryFilter, QueryOrder, TransactionTrait,
};
use serde::Serialize;
use utoipa::ToSchema;
use uuid::Uuid;

use super::error::throttled;
use super::{AuthError, AuthService};
use crate::media::url_of;
use crate::storage::entities::{
    cart_item, chat_presence, conversation, conversation_member, favorite, media, message,
    message_report, order, payment, product, product_image, product_variant, review, token_family,
    user, user_block,
};
use crate::store::{OrderEventView, OrderItemView};

/// Exports per user per hour: each reads every table the user appears in.
pub const EXPORTS_PER_HOUR: u32 = 3;

/// Everything stored about one user.
#[derive(Debug, Serialize, ToSchema)]
pub struct DataExport {
    pub exported_at: DateTime<Utc>,
    /// The account as stored, without secrets.
    pub account: ExportAccount,
    /// Logins (one per sign-in; a revoked one ended).
    pub sessions: Vec<ExportSession>,
    /// Orders the user placed.
    pub orders_as_customer: Vec<ExportOrder>,
    /// Orders placed with the user as tailor.
    pub orders_as_tailor: Vec<ExportOrder>,
    /// Online payments the user started.
    pub payments: Vec<ExportPayment>,
    pub reviews: Vec<ExportReview>,
    pub favorites: Vec<ExportFavorite>,
    pub cart: Vec<ExportCartItem>,
    /// The user's products as tailor, removed ones included (`deleted_at`).
    pub products: Vec<ExportProduct>,
    /// Conversations the user is a member of.
    pub conversations: Vec<ExportConversation>,
    /// Messages the user sent (deleted ones are stored without content).
    pub messages: Vec<ExportMessage>,
    /// Users the user blocked.
    pub blocks: Vec<ExportBlock>,
    /// Messages the user reported.
    pub reports: Vec<ExportReport>,
    /// Images the user uploaded.
    pub uploads: Vec<ExportUpload>,
    /// When the user's last chat connection closed.
    pub last_seen_at: Option<DateTime<Utc>>,
    /// Tailor profile, portfolio, follows, reviews of tailors, measurements.
    pub tailor_side: crate::tailors::export::TailorSideExport,
    /// Commissions the user asked for or made, oldest first.
    pub commissions: Vec<crate::commissions::CommissionView>,
    /// Availability, fittings booked or booked with the user, calendar feed.
    pub fittings: crate::fittings::export::FittingsExport,
    /// The notification feed, devices and preferences.
    pub notifications: crate::notifications::export::NotificationsExport,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ExportAccount {
    pub id: Uuid,
    pub email: String,
    pub username: String,
    pub first_name: String,
    pub last_name: String,
    pub phone_number: String,
    pub role: String,
    /// URL of the avatar image; null without one.
    pub avatar: Option<String>,
    pub is_verified: bool,
    pub is_active: bool,
    pub date_joined: DateTime<Utc>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ExportSession {
    pub started_at: DateTime<Utc>,
    pub revoked_at: Option<DateTime<Utc>>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ExportOrder {
    pub id: Uuid,
    pub customer_id: Uuid,
    pub tailor_id: Uuid,
    pub status: String,
    pub payment_method: String,
    pub payment_id: Option<Uuid>,
    /// Kobo.
    pub subtotal: i64,
    pub total: i64,
    pub refunded: i64,
    pub currency: String,
    pub delivery_address: String,
    pub items: Vec<OrderItemView>,
    pub timeline: Vec<OrderEventView>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ExportPayment {
    pub id: Uuid,
    pub reference: String,
    pub provider: String,
    pub amount: i64,
    pub currency: String,
    pub status: String,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ExportReview {
    pub id: Uuid,
    pub product_id: Uuid,
    pub rating: i32,
    pub text: String,
    pub images: Vec<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ExportFavorite {
    pub product_id: Uuid,
    pub created_at: DateTime<Utc>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ExportCartItem {
    pub variant_id: Uuid,
    pub quantity: i64,
    pub created_at: DateTime<Utc>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ExportProduct {
    pub id: Uuid,
    pub category_id: Option<Uuid>,
    pub name: String,
    pub description: String,
    pub kind: String,
    pub material: String,
    pub colors: String,
    pub price: i64,
    pub currency: String,
    pub discount_percent: i32,
    pub is_active: bool,
    pub variants: Vec<ExportVariant>,
    /// Image URLs in display order.
    pub images: Vec<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub deleted_at: Option<DateTime<Utc>>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ExportVariant {
    pub id: Uuid,
    pub size: String,
    pub color: String,
    pub stock: i64,
    pub price_delta: i64,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ExportConversation {
    pub id: Uuid,
    pub order_id: Option<Uuid>,
    pub members: Vec<Uuid>,
    /// How far the user has read.
    pub last_read_seq: i64,
    pub joined_at: DateTime<Utc>,
    pub created_at: DateTime<Utc>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ExportMessage {
    pub id: Uuid,
    pub conversation_id: Uuid,
    pub seq: i64,
    pub client_id: String,
    pub kind: String,
    pub text: String,
    #[schema(value_type = Vec<Object>)]
    pub attachments: serde_json::Value,
    pub created_at: DateTime<Utc>,
    pub edited_at: Option<DateTime<Utc>>,
    pub deleted: bool,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ExportBlock {
    pub user_id: Uuid,
    pub created_at: DateTime<Utc>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ExportReport {
    pub id: Uuid,
    pub message_id: Uuid,
    pub reason: String,
    pub created_at: DateTime<Utc>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ExportUpload {
    pub id: Uuid,
    pub url: String,
    pub content_type: String,
    pub size: i64,
    pub created_at: DateTime<Utc>,
}

impl AuthService {
    /// The caller's data, at most `EXPORTS_PER_HOUR` times an hour.
    pub async fn export(&self, me: &user::Model) -> Result<DataExport, AuthError> {
        let hour = Duration::from_secs(3600);
        throttled(
            self.throttles
                .hit(&format!("export:{}", me.id), EXPORTS_PER_HOUR, hour)
                .await?,
        )?;
        let txn = snapshot(&self.db).await?;
        let export = collect(&txn, me.id).await?;
        txn.commit().await?;
        tracing::info!(user_id = %me.id, "data exported");
        Ok(export)
    }
}

/// A read-only transaction that sees one snapshot. PostgreSQL needs
/// REPEATABLE READ for that (its default gives each statement its own);
/// SQLite's transactions read one snapshot already, and sea-orm only logs a
/// warning when given a level it cannot set, so none is passed there.
async fn snapshot(db: &sea_orm::DatabaseConnection) -> Result<DatabaseTransaction, DbErr> {
    match db.get_database_backend() {
        DatabaseBackend::Postgres => {
            db.begin_with_config(
                Some(IsolationLevel::RepeatableRead),
                Some(AccessMode::ReadOnly),
            )
            .await
        }
        _ => db.begin().await,
    }
}

async fn collect(db: &impl ConnectionTrait, me: Uuid) -> Result<DataExport, AuthError> {
    let account = user::Entity::find_by_id(me)
        .one(db)
        .await?
        .ok_or(AuthError::NotFound)?;
    let avatar = crate::media::avatar_url(db, &account).await?;
    let (conversations, members) = conversations(db, me).await?;
    Ok(DataExport {
        exported_at: Utc::now(),
        account: ExportAccount {
            id: account.id,
            email: account.email,
            username: account.username,
            first_name: account.first_name,
            last_name: account.last_name,
            phone_number: account.phone_number,
            role: account.role,
            avatar,
            is_verified: account.is_verified,
            is_active: account.is_active,
            date_joined: account.date_joined,
        },
        sessions: sessions(db, me).await?,
        orders_as_customer: orders(db, order::Column::CustomerId.eq(me)).await?,
        orders_as_tailor: orders(db, order::Column::TailorId.eq(me)).await?,
        payments: payments(db, me).await?,
        reviews: reviews(db, me).await?,
        favorites: favorites(db, me).await?,
        cart: cart(db, me).await?,
        products: products(db, me).await?,
        conversations: conversations
            .into_iter()
            .map(|(c, mine)| ExportConversation {
                members: members.get(&c.id).cloned().unwrap_or_default(),
                id: c.id,
                order_id: c.order_id,
                last_read_seq: mine.last_read_seq,
                joined_at: mine.joined_at,
                created_at: c.created_at,
            })
            .collect(),
        messages: messages(db, me).await?,
        blocks: blocks(db, me).await?,
        reports: reports(db, me).await?,
        uploads: uploads(db, me).await?,
        last_seen_at: chat_presence::Entity::find_by_id(me)
            .one(db)
            .await?
            .map(|p| p.last_seen_at),
        tailor_side: crate::tailors::export::export(db, me).await?,
        commissions: crate::commissions::export::export(db, me).await?,
        fittings: crate::fittings::export::export(db, me).await?,
        notifications: crate::notifications::export::export(db, me).await?,
    })
}

async fn sessions(db: &impl ConnectionTrait, me: Uuid) -> Result<Vec<ExportSession>, DbErr> {
    Ok(token_family::Entity::find()
        .filter(token_family::Column::UserId.eq(me))
        .order_by_asc(token_family::Column::Id)
        .all(db)
        .await?
        .into_iter()
        .map(|f| ExportSession {
            started_at: f.created_at,
            revoked_at: f.revoked_at,
        })
        .collect())
}

/// The orders matching `party` with their items and timelines: three queries.
async fn orders(
    db: &impl ConnectionTrait,
    party: sea_orm::sea_query::SimpleExpr,
) -> Result<Vec<ExportOrder>, DbErr> {
    let rows = order::Entity::find()
        .filter(party)
        .order_by_asc(order::Column::Id)
        .all(db)
        .await?;
    let ids: Vec<Uuid> = rows.iter().map(|o| o.id).collect();
    let (mut items, mut events) = crate::store::order_lines(db, &ids).await?;
    Ok(rows
        .into_iter()
        .map(|o| ExportOrder {
            items: items.remove(&o.id).unwrap_or_default(),
            timeline: events.remove(&o.id).unwrap_or_default(),
            id: o.id,
            customer_id: o.customer_id,
            tailor_id: o.tailor_id,
            status: o.status,
            payment_method: o.payment_method,
            payment_id: o.payment_id,
            subtotal: o.subtotal_kobo,
            total: o.total_kobo,
            refunded: o.refund_kobo,
            currency: o.currency,
            delivery_address: o.delivery_address,
            created_at: o.created_at,
            updated_at: o.updated_at,
        })
        .collect())
}

async fn payments(db: &impl ConnectionTrait, me: Uuid) -> Result<Vec<ExportPayment>, DbErr> {
    Ok(payment::Entity::find()
        .filter(payment::Column::CustomerId.eq(me))
        .order_by_asc(payment::Column::Id)
        .all(db)
        .await?
        .into_iter()
        .map(|p| ExportPayment {
            id: p.id,
            reference: p.reference,
            provider: p.provider,
            amount: p.amount_kobo,
            currency: p.currency,
            status: p.status,
            created_at: p.created_at,
            updated_at: p.updated_at,
        })
        .collect())
}

async fn reviews(db: &impl ConnectionTrait, me: Uuid) -> Result<Vec<ExportReview>, DbErr> {
    Ok(review::Entity::find()
        .filter(review::Column::CustomerId.eq(me))
        .order_by_asc(review::Column::Id)
        .all(db)
        .await?
        .into_iter()
        .map(|r| ExportReview {
            id: r.id,
            product_id: r.product_id,
            rating: r.rating,
            text: r.text,
            images: r
                .image_names
                .split(',')
                .filter(|n| !n.is_empty())
                .map(url_of)
                .collect(),
            created_at: r.created_at,
            updated_at: r.updated_at,
        })
        .collect())
}

async fn favorites(db: &impl ConnectionTrait, me: Uuid) -> Result<Vec<ExportFavorite>, DbErr> {
    Ok(favorite::Entity::find()
        .filter(favorite::Column::UserId.eq(me))
        .order_by_asc(favorite::Column::CreatedAt)
        .all(db)
        .await?
        .into_iter()
        .map(|f| ExportFavorite {
            product_id: f.product_id,
            created_at: f.created_at,
        })
        .collect())
}

async fn cart(db: &impl ConnectionTrait, me: Uuid) -> Result<Vec<ExportCartItem>, DbErr> {
    Ok(cart_item::Entity::find()
        .filter(cart_item::Column::UserId.eq(me))
        .order_by_asc(cart_item::Column::Id)
        .all(db)
        .await?
        .into_iter()
        .map(|c| ExportCartItem {
            variant_id: c.variant_id,
            quantity: c.quantity,
            created_at: c.created_at,
        })
        .collect())
}

/// The tailor's products with variants and images: four queries.
async fn products(db: &impl ConnectionTrait, me: Uuid) -> Result<Vec<ExportProduct>, DbErr> {
    let rows = product::Entity::find()
        .filter(product::Column::TailorId.eq(me))
        .order_by_asc(product::Column::Id)
        .all(db)
        .await?;
    let ids = || rows.iter().map(|p| p.id);
    let mut variants: HashMap<Uuid, Vec<ExportVariant>> = HashMap::new();
    for v in product_variant::Entity::find()
        .filter(product_variant::Column::ProductId.is_in(ids()))
        .order_by_asc(product_variant::Column::Id)
        .all(db)
        .await?
    {
        variants
            .entry(v.product_id)
            .or_default()
            .push(ExportVariant {
                id: v.id,
                size: v.size,
                color: v.color,
                stock: v.stock,
                price_delta: v.price_delta_kobo,
            });
    }
    let placed = product_image::Entity::find()
        .filter(product_image::Column::ProductId.is_in(ids()))
        .order_by_asc(product_image::Column::Position)
        .all(db)
        .await?;
    let names: HashMap<Uuid, String> = media::Entity::find()
        .filter(media::Column::Id.is_in(placed.iter().map(|i| i.media_id)))
        .all(db)
        .await?
        .into_iter()
        .map(|m| (m.id, m.name))
        .collect();
    let mut images: HashMap<Uuid, Vec<String>> = HashMap::new();
    for image in placed {
        if let Some(name) = names.get(&image.media_id) {
            images
                .entry(image.product_id)
                .or_default()
                .push(url_of(name));
        }
    }
    Ok(rows
        .into_iter()
        .map(|p| ExportProduct {
            variants: variants.remove(&p.id).unwrap_or_default(),
            images: images.remove(&p.id).unwrap_or_default(),
            id: p.id,
            category_id: p.category_id,
            name: p.name,
            description: p.description,
            kind: p.kind,
            material: p.material,
            colors: p.colors,
            price: p.price_kobo,
            currency: p.currency,
            discount_percent: p.discount_percent,
            is_active: p.is_active,
            created_at: p.created_at,
            updated_at: p.updated_at,
            deleted_at: p.deleted_at,
        })
        .collect())
}

type Memberships = (
    Vec<(conversation::Model, conversation_member::Model)>,
    HashMap<Uuid, Vec<Uuid>>,
);

/// The user's conversations with the user's own membership row, and every
/// conversation's member ids.
async fn conversations(db: &impl ConnectionTrait, me: Uuid) -> Result<Memberships, DbErr> {
    let mine = conversation_member::Entity::find()
        .filter(conversation_member::Column::UserId.eq(me))
        .order_by_asc(conversation_member::Column::ConversationId)
        .all(db)
        .await?;
    let ids = || mine.iter().map(|m| m.conversation_id);
    let mut rows: HashMap<Uuid, conversation::Model> = conversation::Entity::find()
        .filter(conversation::Column::Id.is_in(ids()))
        .all(db)
        .await?
        .into_iter()
        .map(|c| (c.id, c))
        .collect();
    let mut members: HashMap<Uuid, Vec<Uuid>> = HashMap::new();
    for m in conversation_member::Entity::find()
        .filter(conversation_member::Column::ConversationId.is_in(ids()))
        .order_by_asc(conversation_member::Column::JoinedAt)
        .all(db)
        .await?
    {
        members
            .entry(m.conversation_id)
            .or_default()
            .push(m.user_id);
    }
    let joined = mine
        .into_iter()
        .filter_map(|m| rows.remove(&m.conversation_id).map(|c| (c, m)))
        .collect();
    Ok((joined, members))
}

async fn messages(db: &impl ConnectionTrait, me: Uuid) -> Result<Vec<ExportMessage>, DbErr> {
    Ok(message::Entity::find()
        .filter(message::Column::SenderId.eq(me))
        .order_by_asc(message::Column::Id)
        .all(db)
        .await?
        .into_iter()
        .map(|m| ExportMessage {
            id: m.id,
            conversation_id: m.conversation_id,
            seq: m.seq,
            client_id: m.client_id,
            kind: m.kind,
            text: m.text,
            attachments: serde_json::from_str(&m.attachments)
                .unwrap_or_else(|_| serde_json::Value::Array(Vec::new())),
            created_at: m.created_at,
            edited_at: m.edited_at,
            deleted: m.deleted,
        })
        .collect())
}

async fn blocks(db: &impl ConnectionTrait, me: Uuid) -> Result<Vec<ExportBlock>, DbErr> {
    Ok(user_block::Entity::find()
        .filter(user_block::Column::BlockerId.eq(me))
        .order_by_asc(user_block::Column::CreatedAt)
        .all(db)
        .await?
        .into_iter()
        .map(|b| ExportBlock {
            user_id: b.blocked_id,
            created_at: b.created_at,
        })
        .collect())
}

async fn reports(db: &impl ConnectionTrait, me: Uuid) -> Result<Vec<ExportReport>, DbErr> {
    Ok(message_report::Entity::find()
        .filter(message_report::Column::ReporterId.eq(me))
        .order_by_asc(message_report::Column::Id)
        .all(db)
        .await?
        .into_iter()
        .map(|r| ExportReport {
            id: r.id,
            message_id: r.message_id,
            reason: r.reason,
            created_at: r.created_at,
        })
        .collect())
}

async fn uploads(db: &impl ConnectionTrait, me: Uuid) -> Result<Vec<ExportUpload>, DbErr> {
    Ok(media::Entity::find()
        .filter(media::Column::OwnerId.eq(me))
        .order_by_asc(media::Column::Id)
        .all(db)
        .await?
        .into_iter()
        .map(|m| ExportUpload {
            url: url_of(&m.name),
            id: m.id,
            content_type: m.content_type,
            size: m.size_bytes,
            created_at: m.created_at,
        })
        .collect())
}
