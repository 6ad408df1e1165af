//! Pure translation between Logto's wire shapes and loggate's: one log row
//! to a [`LogRecord`] (spec §3), the unified filters to `GET /api/logs`
//! query parameters, and Logto's error bodies to typed errors.

use loggate_core::http::{classify_status, Excerpt, UpstreamResponse};
use loggate_core::query::Filters;
use loggate_core::{Level, LogRecord, RawJson, SourceError};
use serde_json::{Map, Value};

use crate::wire::{self, ErrorBody};

mod typed;

pub use typed::raw_to_record;

/// Payload fields copied into `attributes` under the same name.
const PAYLOAD_ATTRIBUTES: [&str; 6] = [
    "result",
    "applicationId",
    "sessionId",
    "ip",
    "userAgent",
    "error",
];

/// Maps one `/api/logs` row given as a `Value`; `Err` names what made the
/// row unusable.
pub fn to_record(raw: &Value, include_raw: bool) -> Result<LogRecord, String> {
    let row = raw.as_object().ok_or("log entry is not an object")?;
    let id = non_empty_str(row.get("id")).ok_or("log entry has no string id")?;
    let timestamp_ms = row
        .get("createdAt")
        .and_then(epoch_ms)
        .ok_or_else(|| format!("log entry {id} has no numeric createdAt"))?;
    let key = row.get("key").and_then(Value::as_str).unwrap_or_default();
    let empty = Map::new();
    let payload = row
        .get("payload")
        .and_then(Value::as_object)
        .unwrap_or(&empty);

    let mut attributes = Map::new();
    if let Some(key) = row.get("key").filter(|v| v.is_string()) {
        attributes.insert("key".into(), key.clone());
    }
    for name in PAYLOAD_ATTRIBUTES {
        // `error` may be an object or a string: kept as it came.
        if let Some(value) = payload.get(name).filter(|v| !v.is_null()) {
            attributes.insert(name.into(), value.clone());
        }
    }
    if let Some(tenant) = row.get("tenantId").filter(|v| v.is_string()) {
        attributes.insert("tenantId".into(), tenant.clone());
    }
    let level = match payload.get("result").and_then(Value::as_str) {
        Some("Error") => Level::Error,
        _ => Level::Info,
    };
    Ok(LogRecord {
        native_id: id.to_string(),
        timestamp_ms,
        level,
        message: key.to_string(),
        service: None,
        user_id: payload
            .get("userId")
            .and_then(Value::as_str)
            .map(str::to_string),
        attributes,
        raw: include_raw.then(|| RawJson::from_value(raw)),
    })
}

fn non_empty_str(value: Option<&Value>) -> Option<&str> {
    value.and_then(Value::as_str).filter(|s| !s.is_empty())
}

/// `createdAt` is epoch milliseconds; finer precision is truncated. Also
/// read (spec §10): the number as a string, or an ISO 8601 timestamp in
/// any spelling the shared reader takes.
fn epoch_ms(value: &Value) -> Option<i64> {
    if let Some(ms) = value.as_i64() {
        return Some(ms);
    }
    if let Some(text) = value.as_str() {
        let text = text.trim();
        return text
            .parse::<i64>()
            .ok()
            .or_else(|| loggate_core::time::parse_rfc3339_ms(text));
    }
    let ms = value.as_f64()?;
    (ms.is_finite() && ms.abs() < 9.0e15).then(|| ms.trunc() as i64)
}

/// The non-time filters Logto evaluates: (parameter, value), in the order
/// they are sent. Empty values are left out: Logto reads them as "no filter".
pub fn filter_params(filters: &Filters) -> Vec<(&'static str, String)> {
    let candidates = [
        (wire::PARAM_USER_ID, filters.user_id.as_deref()),
        (
            wire::PARAM_APPLICATION_ID,
            filters.attrs.get("applicationId").map(String::as_str),
        ),
        (
            wire::PARAM_LOG_KEY,
            filters.attrs.get("key").map(String::as_str),
        ),
    ];
    candidates
        .into_iter()
        .filter_map(|(name, value)| {
            value
                .filter(|v| !v.is_empty())
                .map(|v| (name, v.to_string()))
        })
        .collect()
}

/// The names (as `Filters::names` spells them) of the filters that
/// [`filter_params`] pushes for `filters`, plus `start`/`end` when the time
/// filter is in use.
pub fn pushed_names(filters: &Filters, time_filter: bool) -> Vec<String> {
    let mut pushed = Vec::new();
    if time_filter {
        if filters.start.is_some() {
            pushed.push("start".to_string());
        }
        if filters.end.is_some() {
            pushed.push("end".to_string());
        }
    }
    for (param, _) in filter_params(filters) {
        pushed.push(
            match param {
                wire::PARAM_USER_ID => "user_id",
                wire::PARAM_APPLICATION_ID => "attr.applicationId",
                _ => "attr.key",
            }
            .to_string(),
        );
    }
    pushed
}

/// One native request: the pushed filters, the inclusive time window when
/// the time filter is in use, and the page.
///
/// The window goes out widened by 1 ms on each side
/// (`start_time = start - 1`, `end_time = end + 1`): Logto up to v1.39
/// ignores the bounds, v1.40–v1.41 treat both as exclusive (and answer
/// `400` to equal ones), v1.42+ as inclusive
/// (`../shared/providers/README.md`, issue 11 item 13). Widened bounds are
/// never equal and hold the whole window on every generation; on v1.42+
/// they also admit the rows 1 ms outside it, which the scan re-checks and
/// drops.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct NativeQuery {
    pub filters: Vec<(&'static str, String)>,
    pub start_time: Option<i64>,
    pub end_time: Option<i64>,
}

impl NativeQuery {
    /// Query pairs in a fixed order (tests assert them exactly).
    pub fn pairs(&self, page: u64, page_size: u64) -> Vec<(&'static str, String)> {
        let mut pairs = self.filters.clone();
        if let Some(start) = self.start_time {
            pairs.push((wire::PARAM_START_TIME, start.saturating_sub(1).to_string()));
        }
        if let Some(end) = self.end_time {
            pairs.push((wire::PARAM_END_TIME, end.saturating_add(1).to_string()));
        }
        pairs.push((wire::PARAM_PAGE, page.to_string()));
        pairs.push((
            wire::PARAM_PAGE_SIZE,
            page_size.min(wire::MAX_PAGE_SIZE).to_string(),
        ));
        pairs
    }

    pub fn uses_time(&self) -> bool {
        self.start_time.is_some() || self.end_time.is_some()
    }

    /// True when a row stamped `ts` lies outside the bounds as sent
    /// (widened): proof that the server ignores `start_time`/`end_time`.
    pub fn outside_window(&self, ts: i64) -> bool {
        self.start_time.is_some_and(|s| ts < s.saturating_sub(1))
            || self.end_time.is_some_and(|e| ts > e.saturating_add(1))
    }
}

/// Maps a non-success answer of `/api/logs` to a typed error carrying
/// Logto's `code` and `message` (the body never holds our token).
pub fn classify_logs_error(
    response: &UpstreamResponse,
    excerpt: Excerpt<'_>,
) -> Option<SourceError> {
    if (200..300).contains(&response.status) {
        return None;
    }
    let message = serde_json::from_slice::<ErrorBody>(&response.body)
        .ok()
        .and_then(|body| describe(&body))
        .unwrap_or_else(|| excerpt.text());
    classify_status(response, message)
}

/// `code: message`, or whichever of the two is present.
pub fn describe(body: &ErrorBody) -> Option<String> {
    match (&body.code, &body.message) {
        (Some(code), Some(message)) => Some(format!("{code}: {message}")),
        (Some(code), None) => Some(code.clone()),
        (None, Some(message)) => Some(message.clone()),
        (None, None) => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn row() -> Value {
        json!({
            "tenantId": "default", "id": "a1b2c3d4e5f6g7h8i9j0k", "key": "ExchangeTokenBy.AuthorizationCode",
            "payload": {"key": "ExchangeTokenBy.AuthorizationCode", "result": "Error",
                        "error": {"code": "oidc.invalid_grant", "message": "grant request is invalid"},
                        "ip": "203.0.113.7", "userAgent": "curl/8.5.0", "userId": "u1x2y3z4w5v6",
                        "applicationId": "app0000000000000000001", "sessionId": "s1", "params": {"a": 1}},
            "createdAt": 1745948650432.7
        })
    }

    #[test]
    fn maps_every_documented_field() {
        let record = to_record(&row(), true).unwrap();
        assert_eq!(record.native_id, "a1b2c3d4e5f6g7h8i9j0k");
        assert_eq!(record.timestamp_ms, 1_745_948_650_432);
        assert_eq!(record.level, Level::Error);
        assert_eq!(record.message, "ExchangeTokenBy.AuthorizationCode");
        assert_eq!(record.service, None);
        assert_eq!(record.user_id.as_deref(), Some("u1x2y3z4w5v6"));
        let expected = json!({
            "key": "ExchangeTokenBy.AuthorizationCode", "result": "Error",
            "error": {"code": "oidc.invalid_grant", "message": "grant request is invalid"},
            "ip": "203.0.113.7", "userAgent": "curl/8.5.0",
            "applicationId": "app0000000000000000001", "sessionId": "s1", "tenantId": "default"
        });
        assert_eq!(Value::Object(record.attributes), expected);
        assert_eq!(record.raw.map(|raw| raw.to_value()), Some(row()));
    }

    #[test]
    fn absent_fields_are_left_out_and_success_is_info() {
        let raw = json!({"id": "x", "key": "Unknown", "payload": {"key": "Unknown", "result": "Success", "error": "invalid_grant"}, "createdAt": 5});
        let record = to_record(&raw, false).unwrap();
        assert_eq!(record.level, Level::Info);
        assert_eq!(record.user_id, None);
        assert_eq!(record.raw, None);
        assert_eq!(
            Value::Object(record.attributes),
            json!({"key": "Unknown", "result": "Success", "error": "invalid_grant"})
        );
    }

    #[test]
    fn rows_without_id_or_numeric_time_are_refused() {
        assert!(to_record(&json!({"key": "k", "createdAt": 1}), false).is_err());
        assert!(to_record(&json!({"id": "x", "createdAt": "2025-01-01"}), false).is_err());
        assert!(to_record(&json!([1]), false).is_err());
    }

    /// Spec §10: the shared reader for a `createdAt` sent as text.
    #[test]
    fn created_at_as_text_is_read() {
        for created in [
            json!("1717408801000"),
            json!("2024-06-03T10:00:01+0000"),
            json!("2024-06-03T12:00:01.000999+02"),
            json!(1_717_408_801_000.75),
        ] {
            let record = to_record(&json!({"id": "x", "key": "k", "createdAt": created}), false);
            assert_eq!(record.unwrap().timestamp_ms, 1_717_408_801_000, "{created}");
        }
    }

    #[test]
    fn pushes_only_non_empty_supported_filters() {
        let filters = Filters {
            user_id: Some("u1".into()),
            attrs: [
                ("applicationId".to_string(), "app".to_string()),
                ("key".to_string(), String::new()),
                ("ip".to_string(), "1.2.3.4".to_string()),
            ]
            .into(),
            start: Some(1),
            ..Filters::default()
        };
        assert_eq!(
            filter_params(&filters),
            vec![
                ("userId", "u1".to_string()),
                ("applicationId", "app".to_string())
            ]
        );
        assert_eq!(
            pushed_names(&filters, false),
            vec!["user_id", "attr.applicationId"]
        );
        assert_eq!(
            pushed_names(&filters, true),
            vec!["start", "user_id", "attr.applicationId"]
        );
    }

    #[test]
    fn native_query_pairs_have_a_fixed_order_and_capped_page_size() {
        let query = NativeQuery {
            filters: vec![("logKey", "RevokeToken".into())],
            start_time: Some(10),
            end_time: Some(20),
        };
        let pairs = query.pairs(3, 500);
        // Widened by 1 ms: right on exclusive (v1.40–v1.41) and inclusive
        // (v1.42+) servers alike.
        let expected: Vec<(&str, String)> = vec![
            ("logKey", "RevokeToken".into()),
            ("start_time", "9".into()),
            ("end_time", "21".into()),
            ("page", "3".into()),
            ("page_size", "100".into()),
        ];
        assert_eq!(pairs, expected);
        assert!(query.outside_window(22) && query.outside_window(8));
        assert!(!query.outside_window(21) && !query.outside_window(9) && !query.outside_window(10));
    }

    #[test]
    fn a_one_millisecond_window_is_never_sent_as_equal_bounds() {
        let query = NativeQuery {
            filters: Vec::new(),
            start_time: Some(10),
            end_time: Some(10),
        };
        let pairs = query.pairs(1, 20);
        assert_eq!(pairs[0], ("start_time", "9".to_string()));
        assert_eq!(pairs[1], ("end_time", "11".to_string()));
    }
}
