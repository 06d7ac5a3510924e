//! The standard measurements, their plausible human ranges and the two
//! display units. Values are kept in integer millimetres; a unit only says
//! how they are written and read.

/// One standard measurement and the range a human body can plausibly have
/// for it, from a small child to a large adult, in millimetres.
pub struct Measure {
    /// The field's name in requests and answers.
    pub name: &'static str,
    /// How to take it, for people and for the API documentation.
    pub label: &'static str,
    pub min_mm: i64,
    pub max_mm: i64,
}

const fn measure(name: &'static str, label: &'static str, min_mm: i64, max_mm: i64) -> Measure {
    Measure {
        name,
        label,
        min_mm,
        max_mm,
    }
}

/// The standard set, in the order a tailor takes them.
pub const MEASURES: [Measure; 19] = [
    measure("neck", "Neck: around the base of the neck", 180, 650),
    measure(
        "shoulder",
        "Shoulder: across the back, shoulder point to shoulder point",
        180,
        700,
    ),
    measure("chest", "Chest (bust): around the fullest part", 400, 2000),
    measure(
        "high_bust",
        "High bust: around the chest above the bust, under the arms",
        400,
        1900,
    ),
    measure(
        "under_bust",
        "Under bust: around the ribcage just below the bust",
        350,
        1800,
    ),
    measure("waist", "Waist: around the natural waist", 350, 2100),
    measure("hip", "Hip: around the fullest part of the hips", 400, 2100),
    measure(
        "sleeve_length",
        "Sleeve length: shoulder point to wrist",
        150,
        950,
    ),
    measure(
        "bicep",
        "Bicep: around the fullest part of the upper arm",
        100,
        750,
    ),
    measure("wrist", "Wrist: around the wrist bone", 90, 320),
    measure(
        "shirt_length",
        "Shirt length: base of the neck to the hem",
        250,
        1300,
    ),
    measure(
        "trouser_length",
        "Trouser length (outseam): waist to the floor, outside the leg",
        300,
        1450,
    ),
    measure(
        "inseam",
        "Inseam: crotch to the floor, inside the leg",
        150,
        1100,
    ),
    measure(
        "thigh",
        "Thigh: around the fullest part of the thigh",
        200,
        1100,
    ),
    measure("knee", "Knee: around the knee", 150, 750),
    measure("ankle", "Ankle: around the ankle", 100, 450),
    measure(
        "crotch_depth",
        "Crotch depth (rise): waist to the seat, sitting",
        100,
        550,
    ),
    measure(
        "back_length",
        "Back length: nape of the neck to the waist",
        150,
        700,
    ),
    measure("height", "Height: standing, without shoes", 450, 2600),
];

pub fn find(name: &str) -> Option<&'static Measure> {
    MEASURES.iter().find(|m| m.name == name)
}

/// A display unit: what a profile's values are written and answered in.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Unit {
    Cm,
    In,
}

pub const UNITS: [&str; 2] = ["cm", "in"];

impl Unit {
    pub fn parse(raw: &str) -> Option<Self> {
        match raw {
            "cm" => Some(Unit::Cm),
            "in" => Some(Unit::In),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Unit::Cm => "cm",
            Unit::In => "in",
        }
    }

    fn mm_per_unit(self) -> f64 {
        match self {
            Unit::Cm => 10.0,
            Unit::In => 25.4,
        }
    }

    /// Millimetres for a value written in this unit (not rounded).
    pub fn to_mm(self, value: f64) -> f64 {
        value * self.mm_per_unit()
    }

    /// A stored value as answered: in this unit, to one decimal.
    pub fn shown(self, mm: i64) -> f64 {
        (mm as f64 * 10.0 / self.mm_per_unit()).round() / 10.0
    }

    /// `mm` in tenths of this unit, rounded up (`up`) or down: the bounds
    /// of a range written so that every value inside them is accepted.
    fn tenths(self, mm: i64, up: bool) -> i64 {
        // The epsilon keeps an exact conversion (254 mm = 10.0 in) from
        // being pushed to the next tenth by the float's last bit.
        let tenths = mm as f64 * 10.0 / self.mm_per_unit();
        if up {
            (tenths - 1e-9).ceil() as i64
        } else {
            (tenths + 1e-9).floor() as i64
        }
    }

    /// The range of a measurement in this unit, one decimal, inside the
    /// millimetre range: `(min, max)`.
    pub fn range(self, m: &Measure) -> (f64, f64) {
        (
            self.tenths(m.min_mm, true) as f64 / 10.0,
            self.tenths(m.max_mm, false) as f64 / 10.0,
        )
    }
}

/// Millimetres for a value written in `unit`, or the message saying the
/// range in that unit when it is outside what a body can measure.
pub fn checked_mm(m: &Measure, unit: Unit, value: f64) -> Result<i64, String> {
    let mm = unit.to_mm(value).round();
    if mm.is_finite() && (m.min_mm as f64..=m.max_mm as f64).contains(&mm) {
        return Ok(mm as i64);
    }
    let (min, max) = unit.range(m);
    let unit = unit.as_str();
    Err(format!(
        "Ensure this value is between {min:.1} and {max:.1} {unit} (a plausible {} measurement).",
        m.name.replace('_', " ")
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_value_inside_a_published_range_is_accepted() {
        for m in &MEASURES {
            assert!(m.min_mm < m.max_mm, "{}", m.name);
            for unit in [Unit::Cm, Unit::In] {
                let (min, max) = unit.range(m);
                assert!(checked_mm(m, unit, min).is_ok(), "{} {min}", m.name);
                assert!(checked_mm(m, unit, max).is_ok(), "{} {max}", m.name);
                assert!(checked_mm(m, unit, min - 0.2).is_err(), "{} below", m.name);
                assert!(checked_mm(m, unit, max + 0.2).is_err(), "{} above", m.name);
            }
        }
    }

    #[test]
    fn one_decimal_inches_survive_the_round_trip_through_millimetres() {
        for tenths in 100..=1000 {
            let inches = tenths as f64 / 10.0;
            let mm = Unit::In.to_mm(inches).round() as i64;
            assert_eq!(Unit::In.shown(mm), inches);
        }
        assert_eq!(Unit::Cm.shown(965), 96.5);
        assert_eq!(Unit::In.range(&MEASURES[2]), (15.8, 78.7));
    }
}
