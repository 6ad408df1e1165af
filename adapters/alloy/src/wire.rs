//! Serde of Alloy's `GET /logs` (API version 2025-09): the response
//! envelope, the `filters` clauses the adapter sends, and error bodies.
//!
//! Log objects stay `serde_json::Value` here: one malformed log must not
//! fail its page, so each is mapped (and possibly skipped) on its own in
//! `translate.rs`.

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// Sent as `x-api-version` on every request.
pub const API_VERSION: &str = "2025-09";

/// The largest `limit` the adapter asks for (Alloy's maximum is
/// undocumented; 100 is what the simulator enforces by default).
pub const MAX_PAGE_LIMIT: usize = 100;

/// The 200 body. `notifications` is required: without it the body is not
/// a page of logs at all.
#[derive(Debug, Deserialize)]
pub struct LogsResponse {
    /// `null` reads as no logs (spec §10); a missing key still fails.
    #[serde(deserialize_with = "loggate_core::wire::null_as_empty")]
    pub notifications: Vec<Value>,
    #[serde(rename = "lastFetched", default)]
    pub last_fetched: Option<Value>,
    #[serde(default)]
    pub pagination: Option<Pagination>,
}

/// Page-style numbers computed by Alloy from `skip`/`limit`. Read leniently:
/// only `totalItems` matters and a number sent as a string is tolerated.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Pagination {
    #[serde(default)]
    pub total_items: Option<Value>,
    #[serde(default)]
    pub total_pages: Option<Value>,
    #[serde(default)]
    pub current_page: Option<Value>,
    #[serde(default)]
    pub page_size: Option<Value>,
}

impl Pagination {
    pub fn total_items(&self) -> Option<u64> {
        self.total_items.as_ref().and_then(lenient_count)
    }

    pub fn page_size(&self) -> Option<u64> {
        self.page_size.as_ref().and_then(lenient_count)
    }
}

fn lenient_count(value: &Value) -> Option<u64> {
    match value {
        Value::Number(n) => n
            .as_u64()
            .or_else(|| n.as_f64().filter(|f| *f >= 0.0).map(|f| f as u64)),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
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
        let page: LogsResponse = serde_json::from_value(json!({
            "notifications": [],
            "pagination": {"totalItems": "12", "totalPages": 2, "currentPage": 1, "pageSize": 10}
        }))
        .unwrap();
        assert_eq!(page.pagination.unwrap().total_items(), Some(12));
        let page: LogsResponse = serde_json::from_value(json!({"notifications": []})).unwrap();
        assert!(page.pagination.is_none());
        assert!(serde_json::from_value::<LogsResponse>(json!({"message": "x"})).is_err());
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
