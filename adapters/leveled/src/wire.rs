//! The leveled-log API's wire format (`GET /logs`), as its documentation
//! describes it and as tolerant as the known quirks require.
//!
//! Decoded straight from the answer's bytes, borrowing (issue 13): log
//! entries are kept as their raw JSON text here, since one malformed
//! entry must not fail the whole page; each is decoded on its own into an
//! [`Entry`] by [`crate::translate`]. No `Value` tree is built but the
//! entry's `details` (which become the record's attributes).

use serde::Deserialize;
use serde_json::value::RawValue;

/// The body of every answer: `{"status":"success","data":{...}}` on
/// success, `{"status":"error","message":"..."}` on failure.
#[derive(Debug, Deserialize)]
pub struct LogsResponse<'a> {
    #[serde(default)]
    pub status: Option<String>,
    #[serde(default, borrow)]
    pub data: Option<LogsData<'a>>,
    /// Only on error bodies.
    #[serde(default)]
    pub message: Option<String>,
}

#[derive(Debug, Deserialize)]
pub struct LogsData<'a> {
    /// `null` reads as no logs (spec §10): real services answer the empty
    /// window after the last log that way. Each entry is its raw text,
    /// borrowed from the answer.
    #[serde(borrow, deserialize_with = "loggate_core::wire::null_as_empty")]
    pub logs: Vec<&'a RawValue>,
    pub pagination: Pagination,
}

/// `nextOffset` is unreliable on the last page (null, absent, or still
/// `offset + limit`), so the adapter never reads it; `total` is what the
/// end of a result is detected by.
#[derive(Debug, Deserialize)]
pub struct Pagination {
    pub total: u64,
    #[serde(default)]
    pub limit: Option<u64>,
    #[serde(default)]
    pub offset: Option<u64>,
    #[serde(default, rename = "nextOffset")]
    pub next_offset: Option<u64>,
}

/// One log entry: `{"timestamp","level","service","message","details"}`,
/// each field's raw text borrowed from the answer (any may be missing,
/// `null` or of an unexpected type: [`crate::translate::map_raw`] says
/// what each means). Other fields are skipped unread.
#[derive(Debug, Deserialize)]
pub struct Entry<'a> {
    #[serde(default, borrow)]
    pub timestamp: Option<&'a RawValue>,
    #[serde(default, borrow)]
    pub level: Option<&'a RawValue>,
    #[serde(default, borrow)]
    pub service: Option<&'a RawValue>,
    #[serde(default, borrow)]
    pub message: Option<&'a RawValue>,
    #[serde(default, borrow)]
    pub details: Option<&'a RawValue>,
}

/// `{"status":"error","message":"..."}`, sent with 400, 401, 403 (and, as
/// far as is known, 429 and 500).
#[derive(Debug, Deserialize)]
pub struct ErrorBody {
    #[serde(default)]
    pub status: Option<String>,
    #[serde(default)]
    pub message: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_the_documented_example() {
        let body = r#"{"status":"success","data":{"logs":[{"timestamp":"2023-10-27T10:35:15Z",
            "level":"ERROR","service":"user-service","message":"m","details":{"user_id":12345}}],
            "pagination":{"total":150,"limit":10,"offset":0,"nextOffset":10}}}"#;
        let parsed: LogsResponse = serde_json::from_str(body).unwrap();
        let data = parsed.data.unwrap();
        assert_eq!(data.logs.len(), 1);
        assert_eq!(data.pagination.total, 150);
        assert_eq!(data.pagination.next_offset, Some(10));
    }

    #[test]
    fn next_offset_may_be_null_or_absent() {
        for pagination in [
            r#"{"total":3,"limit":10,"offset":0,"nextOffset":null}"#,
            r#"{"total":3,"limit":10,"offset":0}"#,
        ] {
            let parsed: Pagination = serde_json::from_str(pagination).unwrap();
            assert_eq!(parsed.next_offset, None);
        }
    }

    #[test]
    fn error_bodies_carry_a_message() {
        let parsed: ErrorBody =
            serde_json::from_str(r#"{"status":"error","message":"Authentication required."}"#)
                .unwrap();
        assert_eq!(parsed.status.as_deref(), Some("error"));
        assert_eq!(parsed.message.as_deref(), Some("Authentication required."));
    }
}
