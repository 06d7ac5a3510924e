//! A small JSON Schema checker for the keywords our spec uses, so tests can
//! hold real answers against what `/api/openapi.json` documents for them,
//! as a client generated from the spec would. An unknown constraint keyword
//! fails loudly rather than passing silently.

use serde_json::Value;

pub struct Spec(pub Value);

/// Keywords that describe without constraining.
const ANNOTATIONS: &[&str] = &["description", "example", "examples", "default", "title"];

impl Spec {
    /// The schema documented for `status` of `method path` (a template such
    /// as `/auth/api/users/detail/{id}`); panics when the status is not documented.
    pub fn response_schema(&self, method: &str, path: &str, status: u16) -> &Value {
        let op = &self.0["paths"][path][method];
        assert!(op.is_object(), "{method} {path} is not in the spec");
        let response = &op["responses"][status.to_string()];
        assert!(
            response.is_object(),
            "{method} {path} answered {status}, which its spec does not document"
        );
        &response["content"]["application/json"]["schema"]
    }

    /// Panics unless `body` validates against the schema documented for it.
    pub fn assert_documented(&self, method: &str, path: &str, status: u16, body: &Value) {
        let schema = self.response_schema(method, path, status);
        let errors = self.errors(schema, body);
        assert!(
            errors.is_empty(),
            "{method} {path} {status}: {body} does not match the spec: {errors:?}"
        );
    }

    pub fn resolve<'a>(&'a self, schema: &'a Value) -> &'a Value {
        match schema.get("$ref").and_then(Value::as_str) {
            Some(reference) => {
                let name = reference
                    .strip_prefix("#/components/schemas/")
                    .unwrap_or_else(|| panic!("unexpected $ref {reference}"));
                let target = &self.0["components"]["schemas"][name];
                assert!(target.is_object(), "$ref {reference} points nowhere");
                self.resolve(target)
            }
            None => schema,
        }
    }

    pub fn matches(&self, schema: &Value, value: &Value) -> bool {
        self.errors(schema, value).is_empty()
    }

    pub fn errors(&self, schema: &Value, value: &Value) -> Vec<String> {
        let mut errors = Vec::new();
        self.check(schema, value, "$", &mut errors);
        errors
    }

    fn check(&self, schema: &Value, value: &Value, at: &str, errors: &mut Vec<String>) {
        let schema = self.resolve(schema);
        let Some(keywords) = schema.as_object() else {
            return;
        };
        for (keyword, rule) in keywords {
            let mut fail = |why: String| errors.push(format!("{at}: {why}"));
            match keyword.as_str() {
                k if ANNOTATIONS.contains(&k) => {}
                // Formats are checked below; patterns are left to schemathesis.
                "format" | "pattern" => {}
                "additionalProperties" if keywords.contains_key("properties") => {}
                "type" => {
                    let allowed: Vec<&str> = match rule {
                        Value::String(t) => vec![t.as_str()],
                        Value::Array(ts) => ts.iter().filter_map(Value::as_str).collect(),
                        other => panic!("bad type {other}"),
                    };
                    if !allowed.iter().any(|t| has_type(value, t)) {
                        fail(format!("{value} is not {allowed:?}"));
                    }
                }
                "enum" => {
                    if !rule.as_array().unwrap().contains(value) {
                        fail(format!("{value} is not one of {rule}"));
                    }
                }
                "required" => {
                    for name in rule.as_array().unwrap().iter().filter_map(Value::as_str) {
                        if value.is_object() && value.get(name).is_none() {
                            fail(format!("`{name}` is missing"));
                        }
                    }
                }
                "properties" | "additionalProperties" => {
                    self.check_properties(schema, value, at, errors)
                }
                "items" => {
                    for (i, item) in value.as_array().into_iter().flatten().enumerate() {
                        self.check(rule, item, &format!("{at}[{i}]"), errors);
                    }
                }
                "minItems" | "maxItems" | "minProperties" | "minLength" | "maxLength" => {
                    let limit = rule.as_u64().unwrap() as usize;
                    let size = match value {
                        Value::Array(a) if keyword.ends_with("Items") => Some(a.len()),
                        Value::Object(o) if keyword == "minProperties" => Some(o.len()),
                        Value::String(s) if keyword.ends_with("Length") => Some(s.chars().count()),
                        _ => None,
                    };
                    if let Some(size) = size {
                        let ok = if keyword.starts_with("min") {
                            size >= limit
                        } else {
                            size <= limit
                        };
                        if !ok {
                            fail(format!("{keyword} {limit}, got {size}"));
                        }
                    }
                }
                "minimum" | "maximum" => {
                    if let (Some(n), Some(limit)) = (value.as_f64(), rule.as_f64()) {
                        let ok = if keyword == "minimum" {
                            n >= limit
                        } else {
                            n <= limit
                        };
                        if !ok {
                            fail(format!("{keyword} {limit}, got {n}"));
                        }
                    }
                }
                "allOf" => {
                    for part in rule.as_array().unwrap() {
                        self.check(part, value, at, errors);
                    }
                }
                "anyOf" => {
                    if !rule
                        .as_array()
                        .unwrap()
                        .iter()
                        .any(|p| self.matches(p, value))
                    {
                        fail("matches none of anyOf".into());
                    }
                }
                "oneOf" => {
                    let hits = rule
                        .as_array()
                        .unwrap()
                        .iter()
                        .filter(|p| self.matches(p, value))
                        .count();
                    if hits != 1 {
                        fail(format!("matches {hits} of oneOf, not exactly one"));
                    }
                }
                other => panic!("the spec uses `{other}`, which this checker does not know"),
            }
        }
        self.check_format(schema, value, at, errors);
    }

    fn check_properties(&self, schema: &Value, value: &Value, at: &str, errors: &mut Vec<String>) {
        let Some(object) = value.as_object() else {
            return;
        };
        let no_properties = serde_json::Map::new();
        let properties = schema["properties"].as_object().unwrap_or(&no_properties);
        for (name, field) in object {
            match properties.get(name) {
                Some(rule) => self.check(rule, field, &format!("{at}.{name}"), errors),
                None => match schema.get("additionalProperties") {
                    Some(Value::Bool(false)) => errors.push(format!("{at}.{name}: not allowed")),
                    Some(rule @ Value::Object(_)) => {
                        self.check(rule, field, &format!("{at}.{name}"), errors)
                    }
                    _ => {}
                },
            }
        }
    }

    fn check_format(&self, schema: &Value, value: &Value, at: &str, errors: &mut Vec<String>) {
        let (Some(format), Some(text)) = (schema["format"].as_str(), value.as_str()) else {
            return;
        };
        let ok = match format {
            "uuid" => uuid::Uuid::parse_str(text).is_ok(),
            "date-time" => chrono::DateTime::parse_from_rfc3339(text).is_ok(),
            _ => true,
        };
        if !ok {
            errors.push(format!("{at}: {text} is not a {format}"));
        }
    }
}

fn has_type(value: &Value, name: &str) -> bool {
    match name {
        "object" => value.is_object(),
        "array" => value.is_array(),
        "string" => value.is_string(),
        "integer" => value.is_i64() || value.is_u64(),
        "number" => value.is_number(),
        "boolean" => value.is_boolean(),
        "null" => value.is_null(),
        other => panic!("unknown type {other}"),
    }
}
