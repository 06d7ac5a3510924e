//! Page-number pagination as Django REST framework does it:
//! `?page=N&page_size=M`, answered with `count`, `next`, `previous`, `results`.

use axum::http::{HeaderMap, Uri, header};

use crate::error::ApiError;

pub const DEFAULT_PAGE_SIZE: u64 = 20;
pub const MAX_PAGE_SIZE: u64 = 100;

#[derive(Debug, Clone, Copy)]
pub struct PageRequest {
    pub page: u64,
    pub page_size: u64,
}

impl PageRequest {
    /// An unreadable page is a 404 `Invalid page.`, as in DRF; an oversized
    /// page size is capped. Pages past the end are found out by the query.
    pub fn parse(page: Option<&str>, page_size: Option<&str>) -> Result<Self, ApiError> {
        let page = match page.map(str::trim) {
            None | Some("") => 1,
            Some(p) => p
                .parse::<u64>()
                .ok()
                .filter(|p| *p >= 1)
                .ok_or_else(invalid_page)?,
        };
        let page_size = match page_size.map(str::trim) {
            None | Some("") => DEFAULT_PAGE_SIZE,
            Some(s) => s
                .parse::<u64>()
                .ok()
                .filter(|s| *s >= 1)
                .ok_or_else(|| {
                    ApiError::bad_request(
                        "invalid_page_size",
                        "page_size must be a positive integer.",
                    )
                })?
                .min(MAX_PAGE_SIZE),
        };
        Ok(Self { page, page_size })
    }

    pub fn has_next(&self, count: u64) -> bool {
        self.page.saturating_mul(self.page_size) < count
    }
}

pub fn invalid_page() -> ApiError {
    ApiError::new(
        axum::http::StatusCode::NOT_FOUND,
        "not_found",
        "Invalid page.",
    )
}

/// Absolute links to neighbouring pages, keeping the other query parameters.
pub struct PageLinks {
    base: String,
    other_params: Vec<(String, String)>,
}

impl PageLinks {
    pub fn new(uri: &Uri, headers: &HeaderMap) -> Self {
        let host = headers
            .get(header::HOST)
            .and_then(|h| h.to_str().ok())
            .unwrap_or("localhost");
        let scheme = headers
            .get("x-forwarded-proto")
            .and_then(|h| h.to_str().ok())
            .filter(|p| *p == "https" || *p == "http")
            .unwrap_or("http");
        let other_params = uri
            .query()
            .map(|q| {
                form_urlencoded_pairs(q)
                    .into_iter()
                    .filter(|(k, _)| k != "page")
                    .collect()
            })
            .unwrap_or_default();
        Self {
            base: format!("{scheme}://{host}{}", uri.path()),
            other_params,
        }
    }

    pub fn link(&self, page: u64) -> String {
        let mut params = self.other_params.clone();
        if page > 1 {
            params.push(("page".into(), page.to_string()));
        }
        if params.is_empty() {
            return self.base.clone();
        }
        let query: Vec<String> = params
            .iter()
            .map(|(k, v)| format!("{}={}", encode(k), encode(v)))
            .collect();
        format!("{}?{}", self.base, query.join("&"))
    }

    pub fn neighbours(&self, request: PageRequest, count: u64) -> (Option<String>, Option<String>) {
        let next = request.has_next(count).then(|| self.link(request.page + 1));
        let previous = (request.page > 1).then(|| self.link(request.page - 1));
        (next, previous)
    }
}

fn form_urlencoded_pairs(query: &str) -> Vec<(String, String)> {
    serde_urlencoded::from_str::<Vec<(String, String)>>(query).unwrap_or_default()
}

fn encode(s: &str) -> String {
    let mut out = String::new();
    for b in s.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                out.push(b as char)
            }
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}
