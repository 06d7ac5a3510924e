//! Answers that come from shared code rather than from one handler, added to
//! every operation that can give them, so that a client generated from the
//! spec knows every body it may receive:
//!
//! - `401` from `CurrentUser`, on operations with bearer security;
//! - `400` (`parse_error`), `413` and `415` from `ApiJson`, on JSON bodies;
//! - `400` (`invalid_query`) from `ApiQuery`, on operations with query parameters;
//! - `404` from `ApiPath`, when a UUID path parameter is not a UUID, and
//!   from `PageRequest`, for a `page` past the end or unreadable (`Invalid page.`);
//! - `503` when the database pool has no connection in time, or a request
//!   runs past the 30-second limit.
//!
//! An operation's own annotation wins where it documents a status already,
//! except that a `400` documented as field errors only is widened to
//! `BadRequest` where the request can also be unreadable.

use utoipa::openapi::content::ContentBuilder;
use utoipa::openapi::header::HeaderBuilder;
use utoipa::openapi::path::{Operation, ParameterIn, PathItem};
use utoipa::openapi::request_body::RequestBody;
use utoipa::openapi::response::{Response, ResponseBuilder};
use utoipa::openapi::schema::{KnownFormat, ObjectBuilder, SchemaFormat, Type};
use utoipa::openapi::{OpenApi, Ref, RefOr, Schema};
use utoipa::{PartialSchema, ToSchema};

use crate::error::{BadRequest, ErrorBody, ValidationError};

/// Operations that answer without the database (and well inside the timeout).
const NO_DATABASE: &[&str] = &["/health", "/metrics"];

/// Operations that read their body as raw bytes, not through `ApiJson`.
const RAW_BODY: &[&str] = &["/shop/api/payments/webhook/paystack"];

const JSON: &str = "application/json";

pub fn document(openapi: &mut OpenApi) {
    for (path, item) in openapi.paths.paths.iter_mut() {
        for operation in operations(item) {
            document_operation(path, operation);
        }
    }
    let components = openapi.components.get_or_insert_with(Default::default);
    for schema in components.schemas.values_mut() {
        drop_null_defaults(schema);
    }
    for (name, schema) in [
        (ErrorBody::name(), ErrorBody::schema()),
        (ValidationError::name(), ValidationError::schema()),
        (BadRequest::name(), BadRequest::schema()),
    ] {
        components
            .schemas
            .entry(name.into_owned())
            .or_insert(schema);
    }
}

/// Request types use `#[serde(default)]` so that a missing field becomes a
/// field error; utoipa turns that into `"default": null` on every property,
/// even where the property is documented as a plain string or number. A null
/// default says nothing true, so it goes.
fn drop_null_defaults(schema: &mut RefOr<Schema>) {
    let RefOr::T(Schema::Object(object)) = schema else {
        return;
    };
    for property in object.properties.values_mut() {
        let default = match property {
            RefOr::T(Schema::Object(p)) => &mut p.default,
            RefOr::T(Schema::Array(p)) => &mut p.default,
            RefOr::T(Schema::OneOf(p)) => &mut p.default,
            RefOr::T(Schema::AllOf(p)) => &mut p.default,
            RefOr::T(Schema::AnyOf(p)) => &mut p.default,
            _ => continue,
        };
        if *default == Some(serde_json::Value::Null) {
            *default = None;
        }
    }
}

fn operations(item: &mut PathItem) -> impl Iterator<Item = &mut Operation> {
    [
        &mut item.get,
        &mut item.put,
        &mut item.post,
        &mut item.delete,
        &mut item.patch,
        &mut item.head,
        &mut item.options,
        &mut item.trace,
    ]
    .into_iter()
    .filter_map(Option::as_mut)
}

fn document_operation(path: &str, op: &mut Operation) {
    let json_body = op
        .request_body
        .as_ref()
        .is_some_and(|body| has_json(body) && !RAW_BODY.contains(&path));
    let has_query = has_parameter(op, |p| p.parameter_in == ParameterIn::Query);
    let paginated = has_parameter(op, |p| {
        p.parameter_in == ParameterIn::Query && p.name == "page"
    });
    let has_uuid_path = has_parameter(op, |p| {
        p.parameter_in == ParameterIn::Path && p.schema.as_ref().is_some_and(is_uuid)
    });
    let secured = op.security.as_ref().is_some_and(|s| !s.is_empty());

    if json_body || has_query {
        widen_bad_request(op);
        add(
            op,
            "400",
            "The request could not be read: `parse_error` (not JSON, not a JSON object, a value of the wrong type) or `invalid_query`",
            error_body(),
        );
    }
    if op.request_body.is_some() {
        add(
            op,
            "413",
            "`payload_too_large`: the body is over the limit",
            error_body(),
        );
    }
    if json_body {
        add(
            op,
            "415",
            "`unsupported_media_type`: send `Content-Type: application/json`",
            error_body(),
        );
    }
    if secured {
        add(
            op,
            "401",
            "`not_authenticated` (no token) or `token_not_valid` (bad, expired or revoked token)",
            error_body(),
        );
    }
    if has_uuid_path || paginated {
        add(
            op,
            "404",
            "`not_found`: no such object, or `Invalid page.`",
            error_body(),
        );
    }
    if !NO_DATABASE.contains(&path) {
        add(
            op,
            "503",
            "`service_unavailable` (the database is busy or unreachable) or `timeout`: try again shortly",
            error_body(),
        );
    }
    document_headers(op);
}

fn has_json(body: &RequestBody) -> bool {
    body.content.keys().any(|c| c.starts_with(JSON))
}

fn has_parameter(
    op: &Operation,
    matches: impl Fn(&utoipa::openapi::path::Parameter) -> bool,
) -> bool {
    op.parameters.iter().flatten().any(matches)
}

fn is_uuid(schema: &RefOr<Schema>) -> bool {
    matches!(
        schema,
        RefOr::T(Schema::Object(o)) if o.format == Some(SchemaFormat::KnownFormat(KnownFormat::Uuid))
    )
}

fn error_body() -> RefOr<Schema> {
    Ref::from_schema_name(ErrorBody::name()).into()
}

fn add(op: &mut Operation, status: &str, description: &str, schema: RefOr<Schema>) {
    op.responses
        .responses
        .entry(status.into())
        .or_insert_with(|| {
            ResponseBuilder::new()
                .description(description)
                .content(JSON, ContentBuilder::new().schema(Some(schema)).build())
                .build()
                .into()
        });
}

/// A request that can be unreadable can be answered with a `{"detail",
/// "code"}` 400 as well as with field errors.
fn widen_bad_request(op: &mut Operation) {
    let Some(RefOr::T(response)) = op.responses.responses.get_mut("400") else {
        return;
    };
    if let Some(content) = response.content.get_mut(JSON)
        && matches!(&content.schema, Some(RefOr::Ref(r)) if r.ref_location.ends_with(&format!("/{}", ValidationError::name())))
    {
        content.schema = Some(Ref::from_schema_name(BadRequest::name()).into());
    }
}

/// `401` carries `WWW-Authenticate`, `429` carries `Retry-After`.
fn document_headers(op: &mut Operation) {
    for (status, response) in op.responses.responses.iter_mut() {
        let RefOr::T(response) = response else {
            continue;
        };
        match status.as_str() {
            "401" => add_header(
                response,
                "WWW-Authenticate",
                "`Bearer realm=\"api\"`",
                Type::String,
            ),
            "429" => add_header(
                response,
                "Retry-After",
                "Seconds to wait before trying again",
                Type::Integer,
            ),
            _ => {}
        }
    }
}

fn add_header(response: &mut Response, name: &str, description: &str, kind: Type) {
    response.headers.entry(name.into()).or_insert_with(|| {
        HeaderBuilder::new()
            .schema(ObjectBuilder::new().schema_type(kind))
            .description(Some(description))
            .build()
    });
}
