//! Serde of Alloy's `GET /logs` (API version 2025-09): the response
//! envelope, the `filters` clauses the adapter sends, and error bodies.
//!
//! Decoded straight from the answer's bytes, borrowing (issue 13): each
//! log is kept as its raw JSON text here, since one malformed log must not
//! fail its page; [`Log`] then reads the fields the mapping uses, each as
//! borrowed raw text, and `translate` maps (or skips) each log on its own.
//! No `Value` tree is built but the scalars that become attributes.

use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;
use serde_json::Value;

/// Sent as `x-api-version` on every request.
pub const API_VERSION: &str = "2025-09";

/// The largest `limit` the adapter asks for (Alloy's maximum is
/// undocumented; 100 is what the simulator enforces by default).
pub const MAX_PAGE_LIMIT: usize = 100;

/// The 200 body. `notifications` is required: without it the body is not
/// a page of logs at all.
#[derive(Debug, Deserialize)]
pub struct LogsResponse<'a> {
    /// `null` reads as no logs (spec §10); a missing key still fails. Each
    /// log is its raw text, borrowed from the answer.
    #[serde(borrow, deserialize_with = "loggate_core::wire::null_as_empty")]
    pub notifications: Vec<&'a RawValue>,
    #[serde(rename = "lastFetched", default, borrow)]
    pub last_fetched: Option<&'a RawValue>,
    #[serde(default, borrow)]
    pub pagination: Option<Pagination<'a>>,
}

/// Page-style numbers computed by Alloy from `skip`/`limit`. Read leniently:
/// only `totalItems` and `pageSize` matter, and a number sent as a string
/// (or as `12.0`) is tolerated; anything else reads as absent.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Pagination<'a> {
    #[serde(default, borrow)]
    pub total_items: Option<&'a RawValue>,
    #[serde(default, borrow)]
    pub total_pages: Option<&'a RawValue>,
    #[serde(default, borrow)]
    pub current_page: Option<&'a RawValue>,
    #[serde(default, borrow)]
    pub page_size: Option<&'a RawValue>,
}

impl Pagination<'_> {
    pub fn total_items(&self) -> Option<u64> {
        self.total_items.and_then(lenient_count)
    }

    pub fn page_size(&self) -> Option<u64> {
        self.page_size.and_then(lenient_count)
    }
}

fn lenient_count(raw: &RawValue) -> Option<u64> {
    match loggate_core::wire::raw_scalar(raw)? {
        Value::Number(n) => n
            .as_u64()
            .or_else(|| n.as_f64().filter(|f| *f >= 0.0).map(|f| f as u64)),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

/// The fields of one Alloy log that the mapping reads, each as its raw
/// text borrowed from the answer (any may be missing, `null` or of an
/// unexpected type: `translate` says what each means). Other fields
/// (`user`, `customVersion`, ...) are skipped unread.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Log<'a> {
    #[serde(rename = "_id", default, borrow)]
    pub id: Option<&'a RawValue>,
    #[serde(default, borrow)]
    pub created_at: Option<&'a RawValue>,
    #[serde(default, borrow)]
    pub message: Option<&'a RawValue>,
    #[serde(default, borrow)]
    pub workflow_id: Option<&'a RawValue>,
    #[serde(default, borrow)]
    pub forge_workflow_id: Option<&'a RawValue>,
    #[serde(default, borrow)]
    pub workflow_version: Option<&'a RawValue>,
    #[serde(default, borrow)]
    pub started_at: Option<&'a RawValue>,
    #[serde(default, borrow)]
    pub completed_at: Option<&'a RawValue>,
    #[serde(default, borrow)]
    pub team_id: Option<&'a RawValue>,
    #[serde(default, borrow)]
    pub user_id: Option<&'a RawValue>,
    /// `{"executionId", "executionUuid"}`: [`ExecutionData`].
    #[serde(default, borrow)]
    pub data: Option<&'a RawValue>,
    /// `{"name", "integrationId"}`: [`ForgeWorkflow`].
    #[serde(default, borrow)]
    pub forge_workflow: Option<&'a RawValue>,
}

/// A log's `data` object.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ExecutionData<'a> {
    #[serde(default, borrow)]
    pub execution_id: Option<&'a RawValue>,
    #[serde(default, borrow)]
    pub execution_uuid: Option<&'a RawValue>,
}

/// A log's `forgeWorkflow` object; `integrationId` is a populated
/// `{"_id", "name"}` ([`Integration`]) or the bare id string.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ForgeWorkflow<'a> {
    #[serde(default, borrow)]
    pub name: Option<&'a RawValue>,
    #[serde(default, borrow)]
    pub integration_id: Option<&'a RawValue>,
}

/// A populated integration reference.
#[derive(Debug, Default, Deserialize)]
pub struct Integration<'a> {
    #[serde(rename = "_id", default, borrow)]
    pub id: Option<&'a RawValue>,
    #[serde(default, borrow)]
    pub name: Option<&'a RawValue>,
}

/// An extended-JSON ObjectId, `{"$oid": "..."}`.
#[derive(Debug, Default, Deserialize)]
pub struct ObjectId<'a> {
    #[serde(rename = "$oid", default, borrow)]
    pub oid: Option<&'a RawValue>,
}

/// The columns of the `filters` grammar.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Column {
    Message,
    ExecutionId,
    ForgeWorkflowId,
    CreatedAt,
    UserId,
    IntegrationId,
    WorkflowVersion,
}

impl Column {
    pub fn as_str(self) -> &'static str {
        match self {
            Column::Message => "message",
            Column::ExecutionId => "data.executionId",
            Column::ForgeWorkflowId => "forgeWorkflowId",
            Column::CreatedAt => "createdAt",
            Column::UserId => "userId",
            Column::IntegrationId => "forgeWorkflow.integrationId._id",
            Column::WorkflowVersion => "workflowVersion",
        }
    }
}

/// The operators of the `filters` grammar. `greaterthan`/`lessthan` are
/// strict.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Operator {
    Equals,
    NotEquals,
    GreaterThan,
    LessThan,
    Contains,
    NotContains,
}

impl Operator {
    pub fn as_str(self) -> &'static str {
        match self {
            Operator::Equals => "equals",
            Operator::NotEquals => "notequals",
            Operator::GreaterThan => "greaterthan",
            Operator::LessThan => "lessthan",
            Operator::Contains => "contains",
            Operator::NotContains => "notcontains",
        }
    }
}

/// `{"value": ...}`, the wrapper around every part of a clause.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Wrapped {
    pub value: String,
}

/// One element of the `filters` array. `userinput.value` is always a
/// string, also for dates and numbers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FilterClause {
    pub columns: Wrapped,
    pub operators: Wrapped,
    pub userinput: Wrapped,
    pub condition: Wrapped,
}

impl FilterClause {
    pub fn new(column: Column, operator: Operator, input: impl Into<String>) -> Self {
        let wrap = |value: String| Wrapped { value };
        FilterClause {
            columns: wrap(column.as_str().to_string()),
            operators: wrap(operator.as_str().to_string()),
            userinput: wrap(input.into()),
            condition: wrap("and".to_string()),
        }
    }
}

/// The `filters` query value: a compact JSON array.
pub fn encode_filters(clauses: &[FilterClause]) -> String {
    serde_json::to_string(clauses).unwrap_or_else(|_| String::from("[]"))
}

/// The message of an error body (`{"message": "..."}`, also tolerating
/// `{"error": "..."}` and `{"error": {"message": "..."}}`), else the
/// excerpt itself.
pub fn error_message(excerpt: &str) -> String {
    let parsed = serde_json::from_str::<Value>(excerpt).ok();
    let message = parsed.as_ref().and_then(|body| {
        body.get("message")
            .and_then(Value::as_str)
            .or_else(|| body.get("error").and_then(Value::as_str))
            .or_else(|| body.pointer("/error/message").and_then(Value::as_str))
    });
    match message {
        Some(message) => message.to_string(),
        None if excerpt.is_empty() => String::from("empty response body"),
        None => excerpt.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn clauses_encode_as_documented() {
        let clause = FilterClause::new(Column::Message, Operator::Equals, "executionError");
        assert_eq!(
            encode_filters(&[clause]),
            r#"[{"columns":{"value":"message"},"operators":{"value":"equals"},"userinput":{"value":"executionError"},"condition":{"value":"and"}}]"#
        );
    }

    #[test]
    fn pagination_is_read_leniently() {
        let body = json!({
            "notifications": [],
            "pagination": {"totalItems": "12", "totalPages": 2, "currentPage": 1, "pageSize": 10.0}
        })
        .to_string();
        let page: LogsResponse = serde_json::from_str(&body).unwrap();
        let pagination = page.pagination.unwrap();
        assert_eq!(pagination.total_items(), Some(12));
        assert_eq!(pagination.page_size(), Some(10));
        let body = r#"{"notifications": null, "pagination": {"totalItems": {}}}"#;
        let page: LogsResponse = serde_json::from_str(body).unwrap();
        assert!(page.notifications.is_empty());
        assert_eq!(page.pagination.unwrap().total_items(), None);
        let page: LogsResponse = serde_json::from_str(r#"{"notifications": []}"#).unwrap();
        assert!(page.pagination.is_none());
        assert!(serde_json::from_str::<LogsResponse>(r#"{"message": "x"}"#).is_err());
    }

    #[test]
    fn error_messages_come_from_the_body() {
        assert_eq!(
            error_message(r#"{"message": "invalid filters"}"#),
            "invalid filters"
        );
        assert_eq!(error_message(r#"{"error": "nope"}"#), "nope");
        assert_eq!(
            error_message("<html>bad gateway</html>"),
            "<html>bad gateway</html>"
        );
        assert_eq!(error_message(""), "empty response body");
    }
}
