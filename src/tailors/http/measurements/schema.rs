//! The documented shapes of measurement profiles. Their measurement fields
//! come from the one table (`measurements::table::MEASURES`), each described
//! with its plausible range in both units, so the spec cannot drift from
//! what the server checks.

use utoipa::openapi::schema::{KnownFormat, ObjectBuilder, SchemaFormat, SchemaType, Type};
use utoipa::openapi::{RefOr, Schema};
use utoipa::{PartialSchema, ToSchema};

use crate::tailors::measurements::table::{MEASURES, Measure, UNITS, Unit};
use crate::tailors::measurements::{MeasurementVersionView, MeasurementView, NAME_MAX, NOTE_MAX};

fn typed(kind: Type) -> ObjectBuilder {
    ObjectBuilder::new().schema_type(kind)
}

fn nullable(kind: Type) -> ObjectBuilder {
    ObjectBuilder::new().schema_type(SchemaType::from_iter([kind, Type::Null]))
}

fn uuid() -> ObjectBuilder {
    typed(Type::String).format(Some(SchemaFormat::KnownFormat(KnownFormat::Uuid)))
}

fn date_time() -> ObjectBuilder {
    typed(Type::String).format(Some(SchemaFormat::KnownFormat(KnownFormat::DateTime)))
}

fn unit() -> ObjectBuilder {
    typed(Type::String)
        .enum_values(Some(UNITS))
        .description(Some("Display unit of the values: `cm` or `in`."))
}

/// How a measurement is described everywhere: how to take it and its range.
pub fn measure_description(m: &Measure) -> String {
    let (cm_min, cm_max) = Unit::Cm.range(m);
    let (in_min, in_max) = Unit::In.range(m);
    format!(
        "{}. In the profile's unit, one decimal. Plausible range {cm_min:.1}–{cm_max:.1} cm \
         ({in_min:.1}–{in_max:.1} in); outside it, a field error.",
        m.label
    )
}

fn with_measures(mut object: ObjectBuilder, answer: bool) -> ObjectBuilder {
    for m in &MEASURES {
        let property = nullable(Type::Number)
            .format(Some(SchemaFormat::KnownFormat(KnownFormat::Double)))
            .description(Some(measure_description(m)));
        object = object.property(m.name, property);
        if answer {
            object = object.required(m.name);
        }
    }
    object
}

fn profile_fields(object: ObjectBuilder) -> ObjectBuilder {
    object
        .property("id", uuid())
        .required("id")
        .property("name", typed(Type::String))
        .required("name")
        .property("note", typed(Type::String))
        .required("note")
        .property("unit", unit())
        .required("unit")
        .property(
            "version",
            typed(Type::Integer).description(Some("The number of the version these values are.")),
        )
        .required("version")
}

impl PartialSchema for MeasurementView {
    fn schema() -> RefOr<Schema> {
        let object = profile_fields(typed(Type::Object))
            .description(Some(
                "A measurement profile: every standard measurement, null where not taken.",
            ))
            .property("created_at", date_time())
            .required("created_at")
            .property("updated_at", date_time())
            .required("updated_at");
        with_measures(object, true).into()
    }
}

impl ToSchema for MeasurementView {}

impl PartialSchema for MeasurementVersionView {
    fn schema() -> RefOr<Schema> {
        let object = profile_fields(typed(Type::Object))
            .description(Some(
                "One version of a profile as it was; never changes. `id` is the version's own id.",
            ))
            .property("created_at", date_time())
            .required("created_at");
        with_measures(object, true).into()
    }
}

impl ToSchema for MeasurementVersionView {}

fn request(creating: bool) -> RefOr<Schema> {
    let mut name = typed(Type::String)
        .min_length(Some(1))
        .max_length(Some(NAME_MAX));
    if creating {
        name = name.description(Some("Required, e.g. \"Me\" or \"My son Tobi\"."));
    }
    let mut object = typed(Type::Object)
        .description(Some(
            "Measurements are numbers in the request's unit (`unit` if sent, else the profile's); \
             null clears one. Stored in whole millimetres.",
        ))
        .property("name", name)
        .property("note", nullable(Type::String).max_length(Some(NOTE_MAX)))
        .property("unit", unit().description(Some("`cm` (default) or `in`.")));
    if creating {
        object = object.required("name");
    }
    with_measures(object, false).into()
}

/// Creating a profile: a name, and any measurements taken.
pub struct NewMeasurementsRequest;

impl PartialSchema for NewMeasurementsRequest {
    fn schema() -> RefOr<Schema> {
        request(true)
    }
}

impl ToSchema for NewMeasurementsRequest {}

/// Changing a profile: only the fields sent change.
pub struct MeasurementsPatchRequest;

impl PartialSchema for MeasurementsPatchRequest {
    fn schema() -> RefOr<Schema> {
        request(false)
    }
}

impl ToSchema for MeasurementsPatchRequest {}
