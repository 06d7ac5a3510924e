//! Field errors in Django REST framework's shape: `{"field": ["message"]}`.

use std::collections::BTreeMap;

pub const REQUIRED: &str = "This field is required.";
pub const BLANK: &str = "This field may not be blank.";
pub const NON_FIELD: &str = "non_field_errors";

#[derive(Debug, Default, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(transparent)]
pub struct FieldErrors(BTreeMap<String, Vec<String>>);

impl FieldErrors {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn single(field: &str, message: impl Into<String>) -> Self {
        let mut errors = Self::new();
        errors.add(field, message);
        errors
    }

    pub fn add(&mut self, field: &str, message: impl Into<String>) {
        self.0
            .entry(field.to_string())
            .or_default()
            .push(message.into());
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn has(&self, field: &str) -> bool {
        self.0.contains_key(field)
    }

    /// `Ok(())` when nothing was added, so validation reads as `errors.into_result()?`.
    pub fn into_result(self) -> Result<(), FieldErrors> {
        if self.is_empty() { Ok(()) } else { Err(self) }
    }

    /// A required, non-blank string field; records the error and returns `None` when missing.
    pub fn required<'a>(&mut self, field: &str, value: &'a Option<String>) -> Option<&'a str> {
        match value.as_deref() {
            None => {
                self.add(field, REQUIRED);
                None
            }
            Some(v) if v.trim().is_empty() => {
                self.add(field, BLANK);
                None
            }
            Some(v) => Some(v),
        }
    }

    /// The same errors with one field under another name (for an old API
    /// whose fields are named differently).
    pub fn renamed(mut self, from: &str, to: &str) -> Self {
        if let Some(messages) = self.0.remove(from) {
            self.0.entry(to.to_string()).or_default().extend(messages);
        }
        self
    }

    pub fn max_len(&mut self, field: &str, value: &str, max: usize) {
        if value.chars().count() > max {
            self.add(
                field,
                format!("Ensure this field has no more than {max} characters."),
            );
        }
    }
}
