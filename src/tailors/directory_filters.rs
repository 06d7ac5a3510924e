//! The directory's query string read into conditions: every filter checked
//! (a bad one is a 400 on its field), the near-me point and radius, and the
//! bounding box that the (latitude, longitude) index answers.

use sea_orm::Condition;
use sea_orm::sea_query::{Expr, Func, LikeExpr, SimpleExpr};

use super::TailorError;
use super::profile_input::{SKILLS, normalize_skill};
use crate::storage::entities::tailor_profile;
use crate::validation::FieldErrors;

pub const DEFAULT_RADIUS_KM: f64 = 25.0;
pub const MAX_RADIUS_KM: f64 = 500.0;
/// Mean Earth radius (IUGG).
const EARTH_RADIUS_KM: f64 = 6371.0088;

/// Directory filters as they arrive (strings from the query).
#[derive(Debug, Default, Clone)]
pub struct DirectoryQuery {
    pub q: Option<String>,
    pub skill: Option<String>,
    pub min_experience: Option<String>,
    /// Old name of `min_experience`.
    pub exp: Option<String>,
    pub location: Option<String>,
    /// Old name of `location`.
    pub loc: Option<String>,
    pub near: Option<String>,
    pub radius_km: Option<String>,
    pub min_rating: Option<String>,
    pub verified: Option<String>,
    pub home_visits: Option<String>,
    pub ordering: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ordering {
    Rating,
    Reviews,
    Followers,
    Experience,
    Distance,
    PriceFrom,
    Newest,
}

impl Ordering {
    pub fn parse(raw: &str) -> Option<Self> {
        Some(match raw {
            "-rating" => Ordering::Rating,
            "-reviews" => Ordering::Reviews,
            "-followers" => Ordering::Followers,
            "-experience" => Ordering::Experience,
            "distance" => Ordering::Distance,
            "price_from" => Ordering::PriceFrom,
            "-created" => Ordering::Newest,
            _ => return None,
        })
    }
}

#[derive(Debug, Clone, Copy)]
pub struct Near {
    pub lat: f64,
    pub lng: f64,
    pub radius_km: f64,
}

pub struct Filters {
    pub condition: Condition,
    pub near: Option<Near>,
    pub ordering: Ordering,
}

/// Great-circle distance in km.
pub fn haversine_km(lat1: f64, lng1: f64, lat2: f64, lng2: f64) -> f64 {
    let (p1, p2) = (lat1.to_radians(), lat2.to_radians());
    let dp = p2 - p1;
    let dl = (lng2 - lng1).to_radians();
    let h = (dp / 2.0).sin().powi(2) + p1.cos() * p2.cos() * (dl / 2.0).sin().powi(2);
    2.0 * EARTH_RADIUS_KM * h.sqrt().min(1.0).asin()
}

/// Latitude and longitude ranges holding every point within the radius:
/// what the (latitude, longitude) index can answer. Near a pole the box
/// spans every longitude; across the antimeridian it is two ranges.
pub fn bounding_box(near: Near) -> Condition {
    let (tp, lat_col, lng_col) = (
        tailor_profile::Entity,
        tailor_profile::Column::Latitude,
        tailor_profile::Column::Longitude,
    );
    let angle = near.radius_km / EARTH_RADIUS_KM;
    let dlat = angle.to_degrees();
    let (south, north) = (near.lat - dlat, near.lat + dlat);
    let mut bbox =
        Condition::all().add(Expr::col((tp, lat_col)).between(south.max(-90.0), north.min(90.0)));
    let reach = angle.sin() / near.lat.to_radians().cos();
    // `reach` is at least 1 when the circle holds a pole (or is NaN at one).
    if south <= -90.0 || north >= 90.0 || reach.is_nan() || reach >= 1.0 {
        return bbox.add(Expr::col((tp, lng_col)).is_not_null());
    }
    let dlng = reach.asin().to_degrees();
    let (west, east) = (near.lng - dlng, near.lng + dlng);
    let lng = |from: f64, to: f64| Expr::col((tp, lng_col)).between(from, to);
    bbox = if west < -180.0 {
        bbox.add(
            Condition::any()
                .add(lng(west + 360.0, 180.0))
                .add(lng(-180.0, east)),
        )
    } else if east > 180.0 {
        bbox.add(
            Condition::any()
                .add(lng(west, 180.0))
                .add(lng(-180.0, east - 360.0)),
        )
    } else {
        bbox.add(lng(west, east))
    };
    bbox
}

/// Makes user input literal inside a LIKE pattern.
fn contains(input: &str) -> LikeExpr {
    let mut escaped = String::with_capacity(input.len() + 2);
    escaped.push('%');
    for c in input.trim().to_lowercase().chars() {
        if matches!(c, '%' | '_' | '\\') {
            escaped.push('\\');
        }
        escaped.push(c);
    }
    escaped.push('%');
    LikeExpr::new(escaped).escape('\\')
}

fn lower(col: tailor_profile::Column) -> SimpleExpr {
    Func::lower(Expr::col((tailor_profile::Entity, col))).into()
}

fn parse_bool(errors: &mut FieldErrors, field: &str, raw: &str) -> Option<bool> {
    match raw.to_lowercase().as_str() {
        "true" | "1" => Some(true),
        "false" | "0" => Some(false),
        _ => {
            errors.add(field, "Use true or false.");
            None
        }
    }
}

fn parse_near(raw: &str) -> Option<(f64, f64)> {
    let (lat, lng) = raw.split_once(',')?;
    let (lat, lng): (f64, f64) = (lat.trim().parse().ok()?, lng.trim().parse().ok()?);
    (lat.is_finite() && lng.is_finite() && lat.abs() <= 90.0 && lng.abs() <= 180.0)
        .then_some((lat, lng))
}

pub fn parse(q: &DirectoryQuery) -> Result<Filters, TailorError> {
    use tailor_profile::Column as C;
    let tp = tailor_profile::Entity;
    let mut errors = FieldErrors::new();
    let mut condition = Condition::all();
    let given = |v: &Option<String>| {
        v.as_deref()
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(str::to_string)
    };
    // A new name wins over its old one; errors name the one that was sent.
    let either = |new: (&'static str, &Option<String>), old: (&'static str, &Option<String>)| {
        given(new.1)
            .map(|v| (new.0, v))
            .or_else(|| given(old.1).map(|v| (old.0, v)))
    };

    if let Some(text) = given(&q.q) {
        errors.max_len("q", &text, 200);
        condition = condition.add(Expr::col((tp, C::SearchText)).like(contains(&text)));
    }
    if let Some(raw) = given(&q.skill) {
        let skill = normalize_skill(&raw);
        if SKILLS.contains(&skill.as_str()) {
            let pattern = LikeExpr::new(format!("%,{skill},%"));
            condition = condition.add(Expr::col((tp, C::Skills)).like(pattern));
        } else {
            errors.add(
                "skill",
                format!("Select a valid choice. {raw} is not one of the available choices."),
            );
        }
    }
    if let Some((field, raw)) = either(("min_experience", &q.min_experience), ("exp", &q.exp)) {
        match raw.parse::<u32>() {
            Ok(years) => {
                condition =
                    condition.add(Expr::col((tp, C::YearsOfExperience)).gte(years.min(1000)))
            }
            Err(_) => errors.add(field, "Enter a whole number of years (0 or more)."),
        }
    }
    if let Some((field, place)) = either(("location", &q.location), ("loc", &q.loc)) {
        errors.max_len(field, &place, 100);
        condition = condition.add(
            Condition::any()
                .add(Expr::expr(lower(C::City)).like(contains(&place)))
                .add(Expr::expr(lower(C::State)).like(contains(&place))),
        );
    }
    if let Some(raw) = given(&q.min_rating) {
        match raw.parse::<f64>() {
            Ok(r) if (0.0..=5.0).contains(&r) => {
                let centi = (r * 100.0).round() as i64;
                condition = condition.add(Expr::col((tp, C::RatingAvgCenti)).gte(centi));
            }
            _ => errors.add("min_rating", "Enter a number from 0 to 5."),
        }
    }
    if let Some(raw) = given(&q.verified)
        && let Some(v) = parse_bool(&mut errors, "verified", &raw)
    {
        condition = condition.add(Expr::col((tp, C::IsVerifiedTailor)).eq(v));
    }
    if let Some(raw) = given(&q.home_visits)
        && let Some(v) = parse_bool(&mut errors, "home_visits", &raw)
    {
        condition = condition.add(Expr::col((tp, C::HomeVisits)).eq(v));
    }
    let radius_km = match given(&q.radius_km) {
        None => DEFAULT_RADIUS_KM,
        Some(raw) => match raw.parse::<f64>() {
            Ok(r) if r > 0.0 && r <= MAX_RADIUS_KM => r,
            _ => {
                errors.add(
                    "radius_km",
                    format!("Enter a distance in km above 0 and at most {MAX_RADIUS_KM}."),
                );
                DEFAULT_RADIUS_KM
            }
        },
    };
    let near = match given(&q.near) {
        None => {
            if given(&q.radius_km).is_some() {
                errors.add("radius_km", "radius_km needs near=LAT,LNG.");
            }
            None
        }
        Some(raw) => match parse_near(&raw) {
            Some((lat, lng)) => Some(Near {
                lat,
                lng,
                radius_km,
            }),
            None => {
                errors.add(
                    "near",
                    "Use near=LAT,LNG with a latitude from -90 to 90 and a longitude from -180 to 180, e.g. near=6.52,3.38.",
                );
                None
            }
        },
    };
    let ordering = match given(&q.ordering) {
        None if near.is_some() => Ordering::Distance,
        None => Ordering::Newest,
        Some(raw) => match Ordering::parse(&raw) {
            Some(Ordering::Distance) if given(&q.near).is_none() => {
                errors.add("ordering", "Ordering by distance needs near=LAT,LNG.");
                Ordering::Newest
            }
            Some(ordering) => ordering,
            None => {
                errors.add(
                    "ordering",
                    "Use -rating, -reviews, -followers, -experience, distance, price_from or -created.",
                );
                Ordering::Newest
            }
        },
    };
    errors.into_result()?;
    Ok(Filters {
        condition,
        near,
        ordering,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn haversine_matches_known_distances() {
        // Lagos (Tafawa Balewa Square) to Ikeja: about 17 km.
        let d = haversine_km(6.4474, 3.3903, 6.6018, 3.3515);
        assert!((d - 17.7).abs() < 0.5, "{d}");
        assert!(haversine_km(6.5, 3.4, 6.5, 3.4) < 1e-9);
        // Across the antimeridian.
        assert!((haversine_km(0.0, 179.9, 0.0, -179.9) - 22.24).abs() < 0.05);
    }

    #[test]
    fn the_box_holds_the_circle() {
        let near = Near {
            lat: 6.52,
            lng: 3.38,
            radius_km: 25.0,
        };
        let dlat = (25.0 / EARTH_RADIUS_KM).to_degrees();
        // The box's edges are exactly one radius away along the axes.
        assert!((haversine_km(6.52, 3.38, 6.52 + dlat, 3.38) - 25.0).abs() < 1e-6);
        let _ = bounding_box(near);
    }
}
