//! What a tailor writes on their profile, checked field by field into the
//! columns it sets. Fields arrive as raw JSON values so that a wrong type is
//! a 400 on that field (like any other invalid value) rather than a body that
//! cannot be read, and so that an explicit `null` (clear the field) differs
//! from an absent one (leave it).

use serde::{Deserialize, Deserializer};
use serde_json::Value;
use utoipa::ToSchema;

use crate::storage::entities::tailor_profile;
use crate::validation::{BLANK, FieldErrors};

/// The skills a tailor can list, as sent and answered (snake_case).
pub const SKILLS: [&str; 9] = [
    "tailor",
    "fashion_designer",
    "alterations",
    "embroidery",
    "bridal",
    "menswear",
    "womenswear",
    "childrenswear",
    "traditional_wear",
];

/// A skill from the fixed list, written in snake_case on the wire
/// (`fashion_designer`, `traditional_wear`). On input, spaces or hyphens and
/// capitals are accepted too ("Fashion designer").
#[derive(ToSchema)]
#[schema(rename_all = "snake_case")]
#[allow(dead_code)] // documents the wire values of `SKILLS`
pub enum Skill {
    Tailor,
    FashionDesigner,
    Alterations,
    Embroidery,
    Bridal,
    Menswear,
    Womenswear,
    Childrenswear,
    TraditionalWear,
}

pub const MAX_BUSINESS_NAME: usize = 120;
pub const MAX_BIO: usize = 2000;
pub const MAX_TAGS: usize = 10;
pub const MAX_TAG: usize = 40;
pub const MAX_PLACE: usize = 100;
pub const MAX_YEARS: i64 = 80;
pub const HOME_VISIT_RADIUS_KM: (i64, i64) = (1, 300);
pub const TURNAROUND_DAYS: (i64, i64) = (1, 365);
/// ₦10 billion in kobo: far above any tailoring price, well inside i64.
pub const MAX_PRICE_FROM: i64 = 1_000_000_000_000;
pub const DEFAULT_COUNTRY: &str = "NG";

/// ISO 3166-1 alpha-2 codes in use.
const COUNTRIES: &str = "AD AE AF AG AI AL AM AO AQ AR AS AT AU AW AX AZ BA BB BD BE BF BG BH BI BJ BL BM BN BO BQ BR \
BS BT BV BW BY BZ CA CC CD CF CG CH CI CK CL CM CN CO CR CU CV CW CX CY CZ DE DJ DK DM DO DZ EC EE EG EH ER ES ET FI FJ \
FK FM FO FR GA GB GD GE GF GG GH GI GL GM GN GP GQ GR GS GT GU GW GY HK HM HN HR HT HU ID IE IL IM IN IO IQ IR IS IT JE \
JM JO JP KE KG KH KI KM KN KP KR KW KY KZ LA LB LC LI LK LR LS LT LU LV LY MA MC MD ME MF MG MH MK ML MM MN MO MP MQ MR \
MS MT MU MV MW MX MY MZ NA NC NE NF NG NI NL NO NP NR NU NZ OM PA PE PF PG PH PK PL PM PN PR PS PT PW PY QA RE RO RS RU \
RW SA SB SC SD SE SG SH SI SJ SK SL SM SN SO SR SS ST SV SX SY SZ TC TD TF TG TH TJ TK TL TM TN TO TR TT TV TW TZ UA UG \
UM US UY UZ VA VC VE VG VI VN VU WF WS YE YT ZA ZM ZW";

/// Profile fields as a tailor sends them. Every field is optional: an
/// absent field is left as it is, `null` clears it (back to empty, `NG` for
/// the country). On `POST /tailor/api/create/` `business_name` is required.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(default)]
pub struct ProfileInput {
    /// Required to appear in the directory; at most 120 characters.
    #[serde(deserialize_with = "present")]
    #[schema(value_type = Option<String>, nullable = true, max_length = 120, example = "Adire House")]
    pub business_name: Option<Value>,
    /// At most 2,000 characters.
    #[serde(deserialize_with = "present")]
    #[schema(value_type = Option<String>, nullable = true, max_length = 2000)]
    pub bio: Option<Value>,
    /// From the fixed list (`Skill`); duplicates are dropped.
    #[serde(deserialize_with = "present")]
    #[schema(value_type = Option<Vec<Skill>>, nullable = true)]
    pub skills: Option<Value>,
    /// Free tags ("agbada", "aso ebi"): at most 10 of up to 40 characters,
    /// trimmed, duplicates (ignoring case) dropped.
    #[serde(deserialize_with = "present")]
    #[schema(value_type = Option<Vec<String>>, nullable = true, max_items = 10, example = json!(["agbada", "aso ebi"]))]
    pub specialties: Option<Value>,
    /// 0–80.
    #[serde(deserialize_with = "present")]
    #[schema(value_type = Option<i64>, nullable = true, minimum = 0, maximum = 80, example = 12)]
    pub years_of_experience: Option<Value>,
    /// At most 100 characters.
    #[serde(deserialize_with = "present")]
    #[schema(value_type = Option<String>, nullable = true, max_length = 100, example = "Lagos")]
    pub city: Option<Value>,
    /// At most 100 characters.
    #[serde(deserialize_with = "present")]
    #[schema(value_type = Option<String>, nullable = true, max_length = 100, example = "Lagos")]
    pub state: Option<Value>,
    /// ISO 3166-1 alpha-2 code; `NG` by default.
    #[serde(deserialize_with = "present")]
    #[schema(value_type = Option<String>, nullable = true, pattern = "^[A-Za-z]{2}$", example = "NG")]
    pub country: Option<Value>,
    /// −90 to 90; give latitude and longitude together (or neither).
    #[serde(deserialize_with = "present")]
    #[schema(value_type = Option<f64>, nullable = true, minimum = -90, maximum = 90, example = 6.5244)]
    pub latitude: Option<Value>,
    /// −180 to 180; give latitude and longitude together (or neither).
    #[serde(deserialize_with = "present")]
    #[schema(value_type = Option<f64>, nullable = true, minimum = -180, maximum = 180, example = 3.3792)]
    pub longitude: Option<Value>,
    #[serde(deserialize_with = "present")]
    #[schema(value_type = Option<bool>, nullable = true)]
    pub in_shop_fittings: Option<Value>,
    /// With `home_visits` true, `home_visit_radius_km` is required.
    #[serde(deserialize_with = "present")]
    #[schema(value_type = Option<bool>, nullable = true)]
    pub home_visits: Option<Value>,
    /// 1–300 km.
    #[serde(deserialize_with = "present")]
    #[schema(value_type = Option<i64>, nullable = true, minimum = 1, maximum = 300, example = 15)]
    pub home_visit_radius_km: Option<Value>,
    #[serde(deserialize_with = "present")]
    #[schema(value_type = Option<bool>, nullable = true)]
    pub ships_nationwide: Option<Value>,
    /// Lowest price, in kobo (500000 is ₦5,000); 0 or more.
    #[serde(deserialize_with = "present")]
    #[schema(value_type = Option<i64>, nullable = true, minimum = 0, maximum = 1_000_000_000_000_i64, example = 500000)]
    pub price_from: Option<Value>,
    /// Typical days from order to delivery: 1–365.
    #[serde(deserialize_with = "present")]
    #[schema(value_type = Option<i64>, nullable = true, minimum = 1, maximum = 365, example = 14)]
    pub turnaround_days: Option<Value>,
    /// Languages spoken: at most 10 of up to 40 characters.
    #[serde(deserialize_with = "present")]
    #[schema(value_type = Option<Vec<String>>, nullable = true, max_items = 10, example = json!(["English", "Yoruba"]))]
    pub languages: Option<Value>,
    /// Contact phone, shown only to the owner: digits with an optional
    /// leading `+`, spaces, brackets or dashes (6–15 digits).
    #[serde(deserialize_with = "present")]
    #[schema(value_type = Option<String>, nullable = true, max_length = 32, example = "+234 803 123 4567")]
    pub contact_phone: Option<Value>,
}

/// `Some(Value::Null)` for an explicit null; absent fields stay `None`.
fn present<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Value>, D::Error> {
    Ok(Some(Value::deserialize(d)?))
}

/// The columns of a profile that its owner writes, as values.
#[derive(Debug, Clone, PartialEq)]
pub struct ProfileFields {
    pub business_name: Option<String>,
    pub bio: String,
    pub skills: Vec<String>,
    pub specialties: Vec<String>,
    pub years_of_experience: i32,
    pub city: String,
    pub state: String,
    pub country: String,
    pub latitude: Option<f64>,
    pub longitude: Option<f64>,
    pub in_shop_fittings: bool,
    pub home_visits: bool,
    pub home_visit_radius_km: Option<i32>,
    pub ships_nationwide: bool,
    pub price_from: Option<i64>,
    pub turnaround_days: Option<i32>,
    pub languages: Vec<String>,
    pub contact_phone: String,
}

impl ProfileFields {
    pub fn of(row: &tailor_profile::Model) -> Self {
        Self {
            business_name: row.business_name.clone(),
            bio: row.bio.clone(),
            skills: skills_of(&row.skills),
            specialties: json_list(&row.specialties),
            years_of_experience: row.years_of_experience,
            city: row.city.clone(),
            state: row.state.clone(),
            country: row.country.clone(),
            latitude: row.latitude,
            longitude: row.longitude,
            in_shop_fittings: row.in_shop_fittings,
            home_visits: row.home_visits,
            home_visit_radius_km: row.home_visit_radius_km,
            ships_nationwide: row.ships_nationwide,
            price_from: row.price_from,
            turnaround_days: row.turnaround_days,
            languages: json_list(&row.languages),
            contact_phone: row.contact_phone.clone(),
        }
    }

    /// Applies the given fields, checking each and then the rules between
    /// them; every problem is reported at once.
    pub fn apply(&mut self, input: ProfileInput) -> Result<(), FieldErrors> {
        let mut e = FieldErrors::new();
        if let Some(v) = input.business_name {
            self.business_name = match v {
                Value::Null => None,
                v => text(&mut e, "business_name", &v, MAX_BUSINESS_NAME).and_then(|name| {
                    if name.is_empty() {
                        e.add("business_name", BLANK);
                        None
                    } else {
                        Some(name)
                    }
                }),
            };
        }
        set_text(&mut e, "bio", input.bio, MAX_BIO, &mut self.bio);
        set_text(&mut e, "city", input.city, MAX_PLACE, &mut self.city);
        set_text(&mut e, "state", input.state, MAX_PLACE, &mut self.state);
        if let Some(v) = input.skills {
            self.skills = skills(&mut e, &v);
        }
        if let Some(v) = input.specialties {
            self.specialties = tags(&mut e, "specialties", &v);
        }
        if let Some(v) = input.languages {
            self.languages = tags(&mut e, "languages", &v);
        }
        if let Some(v) = input.years_of_experience {
            self.years_of_experience =
                int_or(&mut e, "years_of_experience", &v, (0, MAX_YEARS)).unwrap_or(0) as i32;
        }
        if let Some(v) = input.country {
            self.country = match v {
                Value::Null => DEFAULT_COUNTRY.into(),
                v => country(&mut e, &v).unwrap_or_else(|| self.country.clone()),
            };
        }
        if let Some(v) = input.latitude {
            self.latitude = coordinate(&mut e, "latitude", &v, 90.0);
        }
        if let Some(v) = input.longitude {
            self.longitude = coordinate(&mut e, "longitude", &v, 180.0);
        }
        for (field, value, target) in [
            (
                "in_shop_fittings",
                input.in_shop_fittings,
                &mut self.in_shop_fittings,
            ),
            ("home_visits", input.home_visits, &mut self.home_visits),
            (
                "ships_nationwide",
                input.ships_nationwide,
                &mut self.ships_nationwide,
            ),
        ] {
            if let Some(v) = value {
                *target = boolean(&mut e, field, &v).unwrap_or(false);
            }
        }
        if let Some(v) = input.home_visit_radius_km {
            self.home_visit_radius_km =
                int_or(&mut e, "home_visit_radius_km", &v, HOME_VISIT_RADIUS_KM).map(|r| r as i32);
        }
        if let Some(v) = input.price_from {
            self.price_from = int_or(&mut e, "price_from", &v, (0, MAX_PRICE_FROM));
        }
        if let Some(v) = input.turnaround_days {
            self.turnaround_days =
                int_or(&mut e, "turnaround_days", &v, TURNAROUND_DAYS).map(|d| d as i32);
        }
        if let Some(v) = input.contact_phone {
            self.contact_phone = match v {
                Value::Null => String::new(),
                v => phone(&mut e, &v).unwrap_or_default(),
            };
        }
        // Rules between fields, on the result (a PATCH may send only one side).
        if self.latitude.is_some() != self.longitude.is_some()
            && !e.has("latitude")
            && !e.has("longitude")
        {
            let missing = if self.latitude.is_none() {
                "latitude"
            } else {
                "longitude"
            };
            e.add(
                missing,
                "Give latitude and longitude together, or clear both.",
            );
        }
        if self.home_visits && self.home_visit_radius_km.is_none() && !e.has("home_visit_radius_km")
        {
            e.add(
                "home_visit_radius_km",
                "Required when home_visits is true: how far you travel, in km.",
            );
        }
        e.into_result()
    }

    /// Lower-cased business name, specialties and bio: what `q` searches.
    pub fn search_text(&self) -> String {
        search_text_of(self.business_name.as_deref(), &self.specialties, &self.bio)
    }

    /// `,bridal,menswear,`: one skill matches with `LIKE '%,bridal,%'`.
    pub fn skills_column(&self) -> String {
        skills_column_of(&self.skills)
    }
}

/// The `search_text` column of a profile with these fields (also used by
/// whatever writes profiles in bulk, such as the benchmark's seeding).
pub fn search_text_of(business_name: Option<&str>, specialties: &[String], bio: &str) -> String {
    let mut text = business_name.unwrap_or_default().to_string();
    for tag in specialties {
        text.push(' ');
        text.push_str(tag);
    }
    text.push(' ');
    text.push_str(bio);
    text.to_lowercase()
}

/// The `skills` column for these skills (`,a,b,`).
pub fn skills_column_of(skills: &[String]) -> String {
    let mut column = String::from(",");
    for skill in skills {
        column.push_str(skill);
        column.push(',');
    }
    column
}

pub fn skills_of(column: &str) -> Vec<String> {
    column
        .split(',')
        .filter(|s| !s.is_empty())
        .map(str::to_string)
        .collect()
}

pub fn json_list(column: &str) -> Vec<String> {
    serde_json::from_str(column).unwrap_or_default()
}

fn kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "bool",
        Value::Number(_) => "number",
        Value::String(_) => "str",
        Value::Array(_) => "list",
        Value::Object(_) => "dict",
    }
}

/// A trimmed string of at most `max` characters.
fn text(e: &mut FieldErrors, field: &str, v: &Value, max: usize) -> Option<String> {
    let Value::String(s) = v else {
        e.add(field, "Not a valid string.");
        return None;
    };
    let s = s.trim();
    e.max_len(field, s, max);
    Some(s.to_string()).filter(|_| !e.has(field))
}

/// A text column: `null` empties it.
fn set_text(e: &mut FieldErrors, field: &str, v: Option<Value>, max: usize, target: &mut String) {
    match v {
        None => {}
        Some(Value::Null) => target.clear(),
        Some(v) => {
            if let Some(s) = text(e, field, &v, max) {
                *target = s;
            }
        }
    }
}

/// A whole number in `min..=max`; `null` gives `None`.
fn int_or(e: &mut FieldErrors, field: &str, v: &Value, (min, max): (i64, i64)) -> Option<i64> {
    if v.is_null() {
        return None;
    }
    let n = match v {
        Value::Number(n) => n.as_i64().or_else(|| {
            n.as_f64()
                .filter(|f| f.fract() == 0.0 && f.abs() < 9e15)
                .map(|f| f as i64)
        }),
        _ => None,
    };
    match n {
        None => e.add(field, "A valid integer is required."),
        Some(n) if n < min => e.add(
            field,
            format!("Ensure this value is greater than or equal to {min}."),
        ),
        Some(n) if n > max => e.add(
            field,
            format!("Ensure this value is less than or equal to {max}."),
        ),
        Some(n) => return Some(n),
    }
    None
}

fn boolean(e: &mut FieldErrors, field: &str, v: &Value) -> Option<bool> {
    match v {
        Value::Null => Some(false),
        Value::Bool(b) => Some(*b),
        _ => {
            e.add(field, "Must be a valid boolean.");
            None
        }
    }
}

/// A latitude or longitude within ±`limit` degrees; `null` clears it.
fn coordinate(e: &mut FieldErrors, field: &str, v: &Value, limit: f64) -> Option<f64> {
    match v {
        Value::Null => None,
        Value::Number(n) => match n.as_f64() {
            Some(x) if x.is_finite() && x.abs() <= limit => Some(x),
            _ => {
                e.add(
                    field,
                    format!("Ensure this value is between -{limit} and {limit}."),
                );
                None
            }
        },
        _ => {
            e.add(field, "A valid number is required.");
            None
        }
    }
}

fn country(e: &mut FieldErrors, v: &Value) -> Option<String> {
    let code = text(e, "country", v, 2)?.to_ascii_uppercase();
    if code.len() == 2 && COUNTRIES.split(' ').any(|c| c == code) {
        Some(code)
    } else {
        if !e.has("country") {
            e.add(
                "country",
                "Enter an ISO 3166-1 alpha-2 country code, such as NG.",
            );
        }
        None
    }
}

fn phone(e: &mut FieldErrors, v: &Value) -> Option<String> {
    let phone = text(e, "contact_phone", v, 32)?;
    // The same rule as a user's phone number (which auth reports on
    // `phone_number`), reported on this field.
    let mut checked = FieldErrors::new();
    crate::auth::check_phone(&mut checked, &phone);
    if checked.is_empty() {
        Some(phone)
    } else {
        e.add("contact_phone", "Enter a valid phone number.");
        None
    }
}

/// Longest list any profile field reads: checked before the items are, so
/// a hostile list costs no more than a fair one (and answers one message).
const MAX_LIST_ITEMS: usize = 50;

/// A list of strings, or the error for anything else; `null` is empty.
fn strings(e: &mut FieldErrors, field: &str, v: &Value) -> Option<Vec<String>> {
    match v {
        Value::Null => Some(Vec::new()),
        Value::Array(items) if items.len() > MAX_LIST_ITEMS => {
            e.add(
                field,
                format!("Ensure this field has no more than {MAX_LIST_ITEMS} elements."),
            );
            None
        }
        Value::Array(items) => {
            let mut out = Vec::with_capacity(items.len());
            for item in items {
                match item {
                    Value::String(s) => out.push(s.trim().to_string()),
                    other => {
                        e.add(
                            field,
                            format!("Each item must be a string, not {}.", kind(other)),
                        );
                        return None;
                    }
                }
            }
            Some(out)
        }
        other => {
            e.add(
                field,
                format!("Expected a list of items but got type \"{}\".", kind(other)),
            );
            None
        }
    }
}

/// Skills from `SKILLS`, without duplicates, in the list's order.
fn skills(e: &mut FieldErrors, v: &Value) -> Vec<String> {
    let Some(given) = strings(e, "skills", v) else {
        return Vec::new();
    };
    let mut chosen = [false; SKILLS.len()];
    for raw in given {
        let key = normalize_skill(&raw);
        match SKILLS.iter().position(|s| *s == key) {
            Some(i) => chosen[i] = true,
            None => e.add("skills", format!("\"{raw}\" is not a valid choice.")),
        }
    }
    SKILLS
        .iter()
        .zip(chosen)
        .filter(|(_, c)| *c)
        .map(|(s, _)| s.to_string())
        .collect()
}

/// `Fashion designer` and `fashion-designer` name `fashion_designer`.
pub fn normalize_skill(raw: &str) -> String {
    raw.trim()
        .to_lowercase()
        .chars()
        .map(|c| if c == ' ' || c == '-' { '_' } else { c })
        .collect()
}

/// Free tags: trimmed, blanks dropped, duplicates (ignoring case) dropped
/// keeping the first spelling, at most `MAX_TAGS` of `MAX_TAG` characters.
fn tags(e: &mut FieldErrors, field: &str, v: &Value) -> Vec<String> {
    let Some(given) = strings(e, field, v) else {
        return Vec::new();
    };
    if given.iter().any(|tag| tag.chars().count() > MAX_TAG) {
        e.add(
            field,
            format!("Each item must have at most {MAX_TAG} characters."),
        );
        return Vec::new();
    }
    let mut seen = std::collections::HashSet::new();
    let kept: Vec<String> = given
        .into_iter()
        .filter(|tag| !tag.is_empty() && seen.insert(tag.to_lowercase()))
        .collect();
    if kept.len() > MAX_TAGS {
        e.add(
            field,
            format!("Ensure this field has no more than {MAX_TAGS} elements."),
        );
    }
    kept
}
