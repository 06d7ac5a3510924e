use sea_orm::entity::prelude::*;

/// A tailor's business profile: one per user with role `tailor`.
/// Rating and follower figures are written only in the transaction that
/// changes the reviews or follows they summarise.
#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "tailor_profiles")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub user_id: Uuid,
    /// Null until named; unnamed profiles stay out of the directory.
    pub business_name: Option<String>,
    pub bio: String,
    /// Delimited `,bridal,menswear,` so that one skill matches with a LIKE.
    pub skills: String,
    /// JSON array of free tags, as written.
    pub specialties: String,
    /// Lower-cased business name, specialties and bio: what `q` searches.
    pub search_text: String,
    pub years_of_experience: i32,
    pub city: String,
    pub state: String,
    /// ISO 3166-1 alpha-2.
    pub country: String,
    pub latitude: Option<f64>,
    pub longitude: Option<f64>,
    pub in_shop_fittings: bool,
    pub home_visits: bool,
    pub home_visit_radius_km: Option<i32>,
    pub ships_nationwide: bool,
    /// Kobo.
    pub price_from: Option<i64>,
    pub turnaround_days: Option<i32>,
    /// JSON array of language names.
    pub languages: String,
    pub contact_phone: String,
    pub is_verified_tailor: bool,
    /// Average rating × 100.
    pub rating_avg_centi: i64,
    pub rating_count: i64,
    pub followers_count: i64,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
