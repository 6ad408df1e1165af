//! The leveled-log API's wire format (`GET /logs`), as its documentation
//! describes it and as tolerant as the known quirks require.
//!
//! Decoded straight from the answer's bytes, borrowing (issue 13): in
//! one pass, each entry's fields as their raw JSON text ([`EntryObject`]);
//! since one malformed entry must not fail the whole page, an answer that
//! pass refuses is read again with each entry as its raw text, decoded on
//! its own into an [`Entry`] by [`crate::translate`]. No `Value` tree is
//! built but the entry's `details` (which become the record's attributes).

use loggate_core::http::UpstreamResponse;
use loggate_core::SourceError;
use serde::de::value::MapAccessDeserializer;
use serde::{Deserialize, Deserializer};
use serde_json::value::RawValue;

/// The body of every answer: `{"status":"success","data":{...}}` on
/// success, `{"status":"error","message":"..."}` on failure. `E` is how
/// each log entry is read: [`EntryObject`] (the answer's one pass reads
/// every entry's fields) or `&RawValue` (each entry's raw text, decoded
/// on its own: `include=raw`, and any answer the one pass refuses).
#[derive(Debug, Deserialize)]
#[serde(bound(deserialize = "E: Deserialize<'de>"))]
pub struct LogsResponse<E> {
    #[serde(default)]
    pub status: Option<String>,
    #[serde(default)]
    pub data: Option<LogsData<E>>,
    /// Only on error bodies.
    #[serde(default)]
    pub message: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(bound(deserialize = "E: Deserialize<'de>"))]
pub struct LogsData<E> {
    /// `null` reads as no logs (spec §10): real services answer the empty
    /// window after the last log that way. Each entry borrowed from the
    /// answer.
    #[serde(deserialize_with = "loggate_core::wire::null_as_empty")]
    pub logs: Vec<E>,
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
/// each field's raw JSON text borrowed from the answer (any may be
/// missing, `null` — both `None` — or of an unexpected type:
/// [`crate::translate::map_fields`] says what each means). Other fields
/// are skipped unread; a field given twice fails the entry.
#[derive(Debug, Default, Clone, Copy, Deserialize)]
pub struct Entry<'a> {
    #[serde(default, borrow, deserialize_with = "raw_text")]
    pub timestamp: Option<&'a str>,
    #[serde(default, borrow, deserialize_with = "raw_text")]
    pub level: Option<&'a str>,
    #[serde(default, borrow, deserialize_with = "raw_text")]
    pub service: Option<&'a str>,
    #[serde(default, borrow, deserialize_with = "raw_text")]
    pub message: Option<&'a str>,
    #[serde(default, borrow, deserialize_with = "raw_text")]
    pub details: Option<&'a str>,
}

/// A field's raw JSON text, `None` for `null`.
fn raw_text<'de: 'a, 'a, D: Deserializer<'de>>(d: D) -> Result<Option<&'a str>, D::Error> {
    Ok(Option::<&'a RawValue>::deserialize(d)?.map(RawValue::get))
}

/// An [`Entry`] read within the answer's one pass (issue 13: each entry
/// scanned once, not once into its raw text and again into its fields).
/// Only a JSON object is one (serde would also read an array as a
/// struct): anything else — an array, a scalar, a field given twice —
/// fails the whole pass, and the answer is then read entry by entry as
/// `&RawValue`s, so such an entry is skipped with its reason as before.
#[derive(Debug, Clone, Copy)]
pub struct EntryObject<'a>(pub Entry<'a>);

impl<'de: 'a, 'a> Deserialize<'de> for EntryObject<'a> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_map(ObjectVisitor(std::marker::PhantomData))
    }
}

struct ObjectVisitor<'a>(std::marker::PhantomData<&'a ()>);

impl<'de: 'a, 'a> serde::de::Visitor<'de> for ObjectVisitor<'a> {
    type Value = EntryObject<'a>;

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("a log entry object")
    }

    fn visit_map<A: serde::de::MapAccess<'de>>(self, map: A) -> Result<Self::Value, A::Error> {
        Entry::deserialize(MapAccessDeserializer::new(map)).map(EntryObject)
    }
}

/// An answer's entries, as the decoding read them.
pub(crate) enum Entries<'a> {
    /// In the answer's one pass, to their fields
    /// ([`crate::wire::EntryObject`]).
    Read(Vec<Entry<'a>>),
    /// Each as its raw text (`include=raw`, or an answer the one pass
    /// refused): decoded one by one, an unreadable one skipped.
    Raw(Vec<&'a RawValue>),
}

impl Entries<'_> {
    /// Entries in the answer, readable or not.
    pub(crate) fn len(&self) -> usize {
        match self {
            Entries::Read(entries) => entries.len(),
            Entries::Raw(entries) => entries.len(),
        }
    }
}

/// An answer's body as [`read_body`] reads it.
pub(crate) struct Body<'a> {
    pub status: Option<String>,
    pub message: Option<String>,
    pub data: Option<(Entries<'a>, Pagination)>,
}

/// Reads an answer: its entries to their fields in one pass, unless
/// `include_raw` (each record keeps its entry's text) or the pass refuses
/// an entry ([`EntryObject`]); then each entry as its raw text. The
/// errors are those of reading it entry by entry
/// ([`UpstreamResponse::json_borrowed`]).
pub(crate) fn read_body(
    response: &UpstreamResponse,
    include_raw: bool,
) -> Result<Body<'_>, SourceError> {
    // Read as text checked once: the byte reader checks the UTF-8 of
    // every field and string it borrows (issue 13: 3 % of the
    // instructions with 1 source).
    let text = std::str::from_utf8(loggate_core::wire::strip_bom(&response.body));
    if let (false, Ok(text)) = (include_raw, text) {
        if let Ok(body) = serde_json::from_str::<LogsResponse<EntryObject<'_>>>(text) {
            return Ok(Body {
                status: body.status,
                message: body.message,
                data: body.data.map(|data| {
                    let entries = data.logs.into_iter().map(|entry| entry.0).collect();
                    (Entries::Read(entries), data.pagination)
                }),
            });
        }
    }
    let body: LogsResponse<&RawValue> = response.json_borrowed()?;
    Ok(Body {
        status: body.status,
        message: body.message,
        data: body
            .data
            .map(|data| (Entries::Raw(data.logs), data.pagination)),
    })
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
        let parsed: LogsResponse<&RawValue> = serde_json::from_str(body).unwrap();
        let data = parsed.data.unwrap();
        assert_eq!(data.logs.len(), 1);
        assert_eq!(data.pagination.total, 150);
        assert_eq!(data.pagination.next_offset, Some(10));
        let parsed: LogsResponse<EntryObject> = serde_json::from_str(body).unwrap();
        let entry = parsed.data.unwrap().logs[0].0;
        assert_eq!(entry.timestamp, Some(r#""2023-10-27T10:35:15Z""#));
        assert_eq!(entry.details, Some(r#"{"user_id":12345}"#));
    }

    /// The one pass reads objects only, each field once, `null` as
    /// absent; anything else fails it (the answer is then read entry by
    /// entry, as `&RawValue`s, which takes every value).
    #[test]
    fn the_one_pass_reads_objects_only() {
        let page =
            |logs: &str| format!(r#"{{"data":{{"logs":[{logs}],"pagination":{{"total":1}}}}}}"#);
        let ok = page(r#"{"level":null,"x":[1],"\u006dessage":"m"}"#);
        let parsed: LogsResponse<EntryObject> = serde_json::from_str(&ok).unwrap();
        let entry = parsed.data.unwrap().logs[0].0;
        assert_eq!((entry.level, entry.message), (None, Some(r#""m""#)));
        for odd in [
            r#"["t","INFO"]"#,
            "1",
            "null",
            r#"{"level":"A","level":"B"}"#,
        ] {
            let body = page(odd);
            assert!(
                serde_json::from_str::<LogsResponse<EntryObject>>(&body).is_err(),
                "{odd}"
            );
            assert!(
                serde_json::from_str::<LogsResponse<&RawValue>>(&body).is_ok(),
                "{odd}"
            );
        }
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
