//! The tailor side (app `tailor_api`): a profile per tailor, their portfolio,
//! follows between users, reviews of tailors, and customers' measurement
//! profiles with every earlier version kept.
//!
//! Derived numbers on the profile (rating, followers) are written only in the
//! transaction that changes what they summarise, by recomputation or an atomic
//! `+ 1`, never read-modify-write from the application.

use sea_orm_migration::prelude::*;

use super::columns::{cascade, counter, flag, text, timestamp, uuid_key};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Users {
    Table,
    Id,
}

#[derive(DeriveIden)]
enum Media {
    Table,
    Id,
}

#[derive(DeriveIden)]
enum TailorProfiles {
    Table,
    UserId,
    BusinessName,
    Bio,
    Skills,
    Specialties,
    SearchText,
    YearsOfExperience,
    City,
    State,
    Country,
    Latitude,
    Longitude,
    InShopFittings,
    HomeVisits,
    HomeVisitRadiusKm,
    ShipsNationwide,
    PriceFrom,
    TurnaroundDays,
    Languages,
    ContactPhone,
    IsVerifiedTailor,
    RatingAvgCenti,
    RatingCount,
    FollowersCount,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum PortfolioItems {
    Table,
    Id,
    TailorId,
    Title,
    Description,
    Tags,
    PriceIndication,
    ProductId,
    Position,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum PortfolioImages {
    Table,
    ItemId,
    Position,
    MediaId,
}

#[derive(DeriveIden)]
enum Follows {
    Table,
    FollowerId,
    FolloweeId,
    CreatedAt,
}

#[derive(DeriveIden)]
enum TailorReviews {
    Table,
    Id,
    TailorId,
    CustomerId,
    Rating,
    Feedback,
    ImageIds,
    Reply,
    RepliedAt,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum MeasurementProfiles {
    Table,
    Id,
    OwnerId,
    Name,
    Note,
    Unit,
    ValuesMm,
    Version,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum MeasurementVersions {
    Table,
    Id,
    ProfileId,
    OwnerId,
    Version,
    Name,
    Note,
    Unit,
    ValuesMm,
    CreatedAt,
}

fn optional_text(col: impl IntoIden) -> ColumnDef {
    ColumnDef::new(col).string().null().to_owned()
}

fn text_default(col: impl IntoIden, default: &str) -> ColumnDef {
    ColumnDef::new(col)
        .string()
        .not_null()
        .default(default)
        .to_owned()
}

fn index(
    name: &str,
    table: impl IntoIden + 'static,
    cols: &[&'static str],
) -> IndexCreateStatement {
    let mut statement = Index::create().name(name).table(table).to_owned();
    for col in cols {
        statement.col(Alias::new(*col));
    }
    statement
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        create_profiles(manager).await?;
        create_portfolio(manager).await?;
        create_follows(manager).await?;
        create_reviews(manager).await?;
        create_measurements(manager).await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for table in [
            MeasurementVersions::Table.into_iden(),
            MeasurementProfiles::Table.into_iden(),
            TailorReviews::Table.into_iden(),
            Follows::Table.into_iden(),
            PortfolioImages::Table.into_iden(),
            PortfolioItems::Table.into_iden(),
            TailorProfiles::Table.into_iden(),
        ] {
            manager
                .drop_table(Table::drop().table(table).to_owned())
                .await?;
        }
        Ok(())
    }
}

async fn create_profiles(manager: &SchemaManager<'_>) -> Result<(), DbErr> {
    manager
        .create_table(
            Table::create()
                .table(TailorProfiles::Table)
                .col(uuid_key(TailorProfiles::UserId))
                // Null until the tailor names the business: such profiles stay
                // out of the directory.
                .col(optional_text(TailorProfiles::BusinessName))
                .col(text_default(TailorProfiles::Bio, ""))
                // Delimited ",bridal,menswear," so that one skill matches with
                // LIKE '%,bridal,%' on both backends.
                .col(text_default(TailorProfiles::Skills, ","))
                // JSON array of the tags as written.
                .col(text_default(TailorProfiles::Specialties, "[]"))
                // Lower-cased business name, specialties and bio: what `q` searches.
                .col(text_default(TailorProfiles::SearchText, ""))
                .col(
                    ColumnDef::new(TailorProfiles::YearsOfExperience)
                        .integer()
                        .not_null()
                        .default(0),
                )
                .col(text_default(TailorProfiles::City, ""))
                .col(text_default(TailorProfiles::State, ""))
                .col(text_default(TailorProfiles::Country, "NG"))
                .col(ColumnDef::new(TailorProfiles::Latitude).double().null())
                .col(ColumnDef::new(TailorProfiles::Longitude).double().null())
                .col(flag(TailorProfiles::InShopFittings, false))
                .col(flag(TailorProfiles::HomeVisits, false))
                .col(
                    ColumnDef::new(TailorProfiles::HomeVisitRadiusKm)
                        .integer()
                        .null(),
                )
                .col(flag(TailorProfiles::ShipsNationwide, false))
                .col(
                    ColumnDef::new(TailorProfiles::PriceFrom)
                        .big_integer()
                        .null(),
                )
                .col(
                    ColumnDef::new(TailorProfiles::TurnaroundDays)
                        .integer()
                        .null(),
                )
                // JSON array of language names.
                .col(text_default(TailorProfiles::Languages, "[]"))
                .col(text_default(TailorProfiles::ContactPhone, ""))
                .col(flag(TailorProfiles::IsVerifiedTailor, false))
                // Average rating × 100, as products keep it.
                .col(counter(TailorProfiles::RatingAvgCenti))
                .col(counter(TailorProfiles::RatingCount))
                .col(counter(TailorProfiles::FollowersCount))
                .col(timestamp(TailorProfiles::CreatedAt))
                .col(timestamp(TailorProfiles::UpdatedAt))
                .foreign_key(&mut cascade(
                    (TailorProfiles::Table, TailorProfiles::UserId),
                    (Users::Table, Users::Id),
                ))
                .to_owned(),
        )
        .await?;
    // Tailors who registered before profiles existed get an empty one.
    manager
        .get_connection()
        .execute_unprepared(
            "INSERT INTO tailor_profiles (user_id, created_at, updated_at) \
             SELECT id, date_joined, date_joined FROM users WHERE role = 'tailor'",
        )
        .await?;
    // Near-me: a bounding box on latitude, refined on longitude in the index.
    manager
        .create_index(index(
            "idx_tailor_profiles_location",
            TailorProfiles::Table,
            &["latitude", "longitude"],
        ))
        .await
}

async fn create_portfolio(manager: &SchemaManager<'_>) -> Result<(), DbErr> {
    manager
        .create_table(
            Table::create()
                .table(PortfolioItems::Table)
                .col(uuid_key(PortfolioItems::Id))
                .col(ColumnDef::new(PortfolioItems::TailorId).uuid().not_null())
                .col(text(PortfolioItems::Title))
                .col(text_default(PortfolioItems::Description, ""))
                // JSON array of tags.
                .col(text_default(PortfolioItems::Tags, "[]"))
                .col(
                    ColumnDef::new(PortfolioItems::PriceIndication)
                        .big_integer()
                        .null(),
                )
                .col(
                    ColumnDef::new(PortfolioItems::ProductId)
                        .uuid()
                        .null()
                        .extra("REFERENCES \"products\" (\"id\") ON DELETE SET NULL"),
                )
                .col(
                    ColumnDef::new(PortfolioItems::Position)
                        .integer()
                        .not_null(),
                )
                .col(timestamp(PortfolioItems::CreatedAt))
                .col(timestamp(PortfolioItems::UpdatedAt))
                .foreign_key(&mut cascade(
                    (PortfolioItems::Table, PortfolioItems::TailorId),
                    (Users::Table, Users::Id),
                ))
                .to_owned(),
        )
        .await?;
    manager
        .create_index(index(
            "idx_portfolio_items_tailor_position",
            PortfolioItems::Table,
            &["tailor_id", "position"],
        ))
        .await?;
    manager
        .create_table(
            Table::create()
                .table(PortfolioImages::Table)
                .col(ColumnDef::new(PortfolioImages::ItemId).uuid().not_null())
                .col(
                    ColumnDef::new(PortfolioImages::Position)
                        .integer()
                        .not_null(),
                )
                .col(ColumnDef::new(PortfolioImages::MediaId).uuid().not_null())
                .primary_key(
                    Index::create()
                        .col(PortfolioImages::ItemId)
                        .col(PortfolioImages::Position),
                )
                .foreign_key(&mut cascade(
                    (PortfolioImages::Table, PortfolioImages::ItemId),
                    (PortfolioItems::Table, PortfolioItems::Id),
                ))
                .foreign_key(&mut cascade(
                    (PortfolioImages::Table, PortfolioImages::MediaId),
                    (Media::Table, Media::Id),
                ))
                .to_owned(),
        )
        .await?;
    manager
        .create_index(index(
            "idx_portfolio_images_media",
            PortfolioImages::Table,
            &["media_id"],
        ))
        .await?;
    Ok(())
}

async fn create_follows(manager: &SchemaManager<'_>) -> Result<(), DbErr> {
    manager
        .create_table(
            Table::create()
                .table(Follows::Table)
                .col(ColumnDef::new(Follows::FollowerId).uuid().not_null())
                .col(ColumnDef::new(Follows::FolloweeId).uuid().not_null())
                .col(timestamp(Follows::CreatedAt))
                .primary_key(
                    Index::create()
                        .col(Follows::FollowerId)
                        .col(Follows::FolloweeId),
                )
                .foreign_key(&mut cascade(
                    (Follows::Table, Follows::FollowerId),
                    (Users::Table, Users::Id),
                ))
                .foreign_key(&mut cascade(
                    (Follows::Table, Follows::FolloweeId),
                    (Users::Table, Users::Id),
                ))
                .to_owned(),
        )
        .await?;
    // A user's followers, newest first.
    manager
        .create_index(index(
            "idx_follows_followee_created",
            Follows::Table,
            &["followee_id", "created_at"],
        ))
        .await
}

async fn create_reviews(manager: &SchemaManager<'_>) -> Result<(), DbErr> {
    manager
        .create_table(
            Table::create()
                .table(TailorReviews::Table)
                .col(uuid_key(TailorReviews::Id))
                .col(ColumnDef::new(TailorReviews::TailorId).uuid().not_null())
                .col(ColumnDef::new(TailorReviews::CustomerId).uuid().not_null())
                .col(ColumnDef::new(TailorReviews::Rating).integer().not_null())
                .col(text_default(TailorReviews::Feedback, ""))
                // JSON array of media ids, in order.
                .col(text_default(TailorReviews::ImageIds, "[]"))
                .col(optional_text(TailorReviews::Reply))
                .col(
                    ColumnDef::new(TailorReviews::RepliedAt)
                        .timestamp_with_time_zone()
                        .null(),
                )
                .col(timestamp(TailorReviews::CreatedAt))
                .col(timestamp(TailorReviews::UpdatedAt))
                .foreign_key(&mut cascade(
                    (TailorReviews::Table, TailorReviews::TailorId),
                    (Users::Table, Users::Id),
                ))
                .foreign_key(&mut cascade(
                    (TailorReviews::Table, TailorReviews::CustomerId),
                    (Users::Table, Users::Id),
                ))
                .to_owned(),
        )
        .await?;
    manager
        .create_index(
            index(
                "uq_tailor_reviews_tailor_customer",
                TailorReviews::Table,
                &["tailor_id", "customer_id"],
            )
            .unique()
            .to_owned(),
        )
        .await?;
    manager
        .create_index(index(
            "idx_tailor_reviews_tailor_created",
            TailorReviews::Table,
            &["tailor_id", "created_at"],
        ))
        .await
}

async fn create_measurements(manager: &SchemaManager<'_>) -> Result<(), DbErr> {
    manager
        .create_table(
            Table::create()
                .table(MeasurementProfiles::Table)
                .col(uuid_key(MeasurementProfiles::Id))
                .col(
                    ColumnDef::new(MeasurementProfiles::OwnerId)
                        .uuid()
                        .not_null(),
                )
                .col(text(MeasurementProfiles::Name))
                .col(text_default(MeasurementProfiles::Note, ""))
                .col(text_default(MeasurementProfiles::Unit, "cm"))
                // JSON object: measurement name → integer millimetres.
                .col(text_default(MeasurementProfiles::ValuesMm, "{}"))
                // The number of the version these values are (1 at creation).
                .col(
                    ColumnDef::new(MeasurementProfiles::Version)
                        .integer()
                        .not_null()
                        .default(1),
                )
                .col(timestamp(MeasurementProfiles::CreatedAt))
                .col(timestamp(MeasurementProfiles::UpdatedAt))
                .foreign_key(&mut cascade(
                    (MeasurementProfiles::Table, MeasurementProfiles::OwnerId),
                    (Users::Table, Users::Id),
                ))
                .to_owned(),
        )
        .await?;
    manager
        .create_index(index(
            "idx_measurement_profiles_owner",
            MeasurementProfiles::Table,
            &["owner_id", "created_at"],
        ))
        .await?;
    // Every version ever in force, immutable. A version outlives its profile
    // (profile_id becomes null) so that a commission pointing at it keeps it.
    manager
        .create_table(
            Table::create()
                .table(MeasurementVersions::Table)
                .col(uuid_key(MeasurementVersions::Id))
                .col(
                    ColumnDef::new(MeasurementVersions::ProfileId)
                        .uuid()
                        .null()
                        .extra("REFERENCES \"measurement_profiles\" (\"id\") ON DELETE SET NULL"),
                )
                .col(
                    ColumnDef::new(MeasurementVersions::OwnerId)
                        .uuid()
                        .not_null(),
                )
                .col(
                    ColumnDef::new(MeasurementVersions::Version)
                        .integer()
                        .not_null(),
                )
                .col(text(MeasurementVersions::Name))
                .col(text_default(MeasurementVersions::Note, ""))
                .col(text_default(MeasurementVersions::Unit, "cm"))
                .col(text_default(MeasurementVersions::ValuesMm, "{}"))
                .col(timestamp(MeasurementVersions::CreatedAt))
                .foreign_key(&mut cascade(
                    (MeasurementVersions::Table, MeasurementVersions::OwnerId),
                    (Users::Table, Users::Id),
                ))
                .to_owned(),
        )
        .await?;
    manager
        .create_index(
            index(
                "uq_measurement_versions_profile_version",
                MeasurementVersions::Table,
                &["profile_id", "version"],
            )
            .unique()
            .to_owned(),
        )
        .await
}
