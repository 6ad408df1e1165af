//! Serde shapes of Logto's Management API as documented in
//! `shared/providers/logto-get-api-logs.txt` and the providers README.
//!
//! Log rows are decoded straight from the answer's bytes (issue 13): each
//! row is its raw JSON text, read as a [`RawRow`] whose fields borrow from
//! the answer, and `translate` maps them one by one, so one malformed row
//! can be skipped without failing its page.

use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;
use serde_json::Value;

/// `GET /api/logs` query parameter names.
pub const PARAM_USER_ID: &str = "userId";
pub const PARAM_APPLICATION_ID: &str = "applicationId";
pub const PARAM_LOG_KEY: &str = "logKey";
pub const PARAM_START_TIME: &str = "start_time";
pub const PARAM_END_TIME: &str = "end_time";
pub const PARAM_PAGE: &str = "page";
pub const PARAM_PAGE_SIZE: &str = "page_size";

/// Logto refuses larger pages with `guard.invalid_pagination`.
pub const MAX_PAGE_SIZE: u64 = 100;

/// The total row count of the query, sent on every page.
pub const TOTAL_NUMBER_HEADER: &str = "total-number";

/// Logto's error body: `{code, message, data?}`; the 500 body carries
/// only `message`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ErrorBody {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub code: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub data: Option<Value>,
}

/// The fields of one `/api/logs` row that the mapping reads, each as its
/// raw text (any may be missing, `null` or mistyped: `translate` says what
/// each means).
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RawRow<'a> {
    #[serde(default, borrow)]
    pub id: Option<&'a RawValue>,
    #[serde(default, borrow)]
    pub key: Option<&'a RawValue>,
    #[serde(default, borrow)]
    pub created_at: Option<&'a RawValue>,
    #[serde(default, borrow)]
    pub tenant_id: Option<&'a RawValue>,
    /// The [`RawPayload`] object.
    #[serde(default, borrow)]
    pub payload: Option<&'a RawValue>,
}

/// The payload fields a row's record reads.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RawPayload<'a> {
    #[serde(default, borrow)]
    pub result: Option<&'a RawValue>,
    #[serde(default, borrow)]
    pub application_id: Option<&'a RawValue>,
    #[serde(default, borrow)]
    pub session_id: Option<&'a RawValue>,
    #[serde(default, borrow)]
    pub ip: Option<&'a RawValue>,
    #[serde(default, borrow)]
    pub user_agent: Option<&'a RawValue>,
    /// An object or a string.
    #[serde(default, borrow)]
    pub error: Option<&'a RawValue>,
    #[serde(default, borrow)]
    pub user_id: Option<&'a RawValue>,
}

/// The client-credentials answer of `POST /oidc/token`.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
pub struct TokenResponse {
    pub access_token: String,
    #[serde(default)]
    pub expires_in: Option<u64>,
    #[serde(default)]
    pub token_type: Option<String>,
    #[serde(default)]
    pub scope: Option<String>,
}

/// The OIDC error body of `/oidc/token` (`invalid_client`, ...).
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize)]
pub struct OidcError {
    #[serde(default)]
    pub error: Option<String>,
    #[serde(default)]
    pub error_description: Option<String>,
}

/// One entry of a `Link` header: `<url>; rel="next"`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Link {
    pub url: String,
    pub rel: String,
}

/// Parses a `Link` header; malformed entries are skipped.
pub fn parse_link_header(value: &str) -> Vec<Link> {
    value
        .split(',')
        .filter_map(|entry| {
            let entry = entry.trim();
            let open = entry.find('<')?;
            let close = entry[open..].find('>')? + open;
            let url = entry[open + 1..close].to_string();
            let rel = entry[close + 1..].split(';').find_map(|param| {
                let (name, value) = param.split_once('=')?;
                (name.trim() == "rel").then(|| value.trim().trim_matches('"').to_string())
            })?;
            Some(Link { url, rel })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn link_header_entries_parse_in_order() {
        let header = "<http://h/api/logs?page=1&page_size=20>; rel=\"first\", \
                      <http://h/api/logs?page=3&page_size=20>; rel=\"next\", junk";
        let links = parse_link_header(header);
        assert_eq!(links.len(), 2);
        assert_eq!(links[0].rel, "first");
        assert_eq!(links[1].url, "http://h/api/logs?page=3&page_size=20");
    }

    #[test]
    fn error_bodies_decode_with_and_without_code() {
        let e: ErrorBody = serde_json::from_str(r#"{"message":"Internal server error."}"#).unwrap();
        assert_eq!(e.code, None);
        let e: ErrorBody =
            serde_json::from_str(r#"{"code":"auth.forbidden","message":"Forbidden.","data":{}}"#)
                .unwrap();
        assert_eq!(e.code.as_deref(), Some("auth.forbidden"));
    }
}
