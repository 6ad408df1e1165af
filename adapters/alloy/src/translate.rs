//! Pure translations: an Alloy log to a [`LogRecord`] (spec §3), and the
//! unified [`Filters`] to the native `filters` clauses and query string.
//!
//! Pushdown rules, all chosen so that pushing never loses a match (the
//! engine re-applies every filter, so pushing only has to over-select):
//! - `start`/`end`: `createdAt` `greaterthan`/`lessthan`, which are strict,
//!   so the bounds are widened to the neighbouring milliseconds: after the
//!   end of the one before `start` (`.122999999Z`), before the start of
//!   the one after `end` (spec §10: a stored `.123750` is inside `.123`).
//! - `level`/`min_level`: Alloy logs are only ERROR (`executionError`) or
//!   INFO. The allowed set restricted to those two decides: {ERROR} →
//!   `message equals executionError`, {INFO} → `notequals`, {} → nothing
//!   can match, both → nothing to push.
//! - `q`: whether Alloy's `contains` is case-sensitive is undocumented. The
//!   documented messages are three enum names, so `q` is re-spelled as it
//!   appears in them (`error` → `Error`), which selects the same documented
//!   messages either way. Not pushed when no spelling fits every matching
//!   enum name, when `q` is not ASCII, or when `search_pushdown` is off.
//! - `user_id`, `attr.forgeWorkflowId`, `attr.executionId`,
//!   `attr.integrationId`: `equals` on their columns, only for 24-hex values
//!   (Alloy stores ObjectIds; anything else may be rejected upstream, and
//!   the gateway filters it alone).
//! - `attr.workflowVersion`: `equals`, only for a canonical integer.
//!
//! Users and parent workflows are filtered by the `userId` and
//! `forgeWorkflowId` columns rather than the `associatedUserId` and
//! `workflowId` parameters: the columns name the log fields they compare,
//! while the parameters' meaning is only inferred from the docs' example.
//! The log's own `workflowId`, `service` (`forgeWorkflow.name`) and the
//! other attributes have no native filter.

use std::collections::BTreeSet;

use loggate_core::query::contains_case_insensitive;
use loggate_core::time::{format_ms, format_ms_end};
use loggate_core::{Filters, Level, Order};

use crate::wire::{encode_filters, Column, FilterClause, Operator};

mod record;

pub use record::{created_at_ms, native_id, record_from_native, record_from_raw};

/// The message of a failed execution: the only ERROR log.
pub const ERROR_MESSAGE: &str = "executionError";

/// The documented values of `message`.
pub const KNOWN_MESSAGES: [&str; 3] = ["executionError", "executionFinished", "executionStarted"];

/// Every filter name this adapter can push for some query.
pub const PUSHDOWN: [&str; 10] = [
    "start",
    "end",
    "level",
    "min_level",
    "q",
    "user_id",
    "attr.forgeWorkflowId",
    "attr.executionId",
    "attr.integrationId",
    "attr.workflowVersion",
];

/// What one query pushes down, apart from the time window (which moves
/// with the position and is added per request).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Plan {
    pub clauses: Vec<FilterClause>,
    /// The names of the set filters the native request evaluates.
    pub pushed: Vec<String>,
    /// No Alloy log can match: answer without asking.
    pub unsatisfiable: bool,
}

/// Translates `filters`; `search_pushdown` allows pushing `q`.
pub fn plan(filters: &Filters, search_pushdown: bool) -> Plan {
    let mut clauses = Vec::new();
    let mut pushed = BTreeSet::new();
    let mut unsatisfiable = filters.is_unsatisfiable();
    // The clauses carry the bounds widened by a millisecond.
    if filters
        .start
        .is_some_and(|s| representable(s.saturating_sub(1)))
    {
        pushed.insert("start");
    }
    if filters
        .end
        .is_some_and(|e| representable(e.saturating_add(1)))
    {
        pushed.insert("end");
    }
    if let Some(levels) = filters.levels() {
        match (levels.contains(Level::Error), levels.contains(Level::Info)) {
            (true, true) => {}
            (false, false) => unsatisfiable = true,
            (error, _) => {
                let operator = if error {
                    Operator::Equals
                } else {
                    Operator::NotEquals
                };
                clauses.push(FilterClause::new(Column::Message, operator, ERROR_MESSAGE));
                // Exact for both: `levels()` already combines them.
                pushed.extend(["level", "min_level"]);
            }
        }
    }
    if let Some(needle) = filters
        .q
        .as_deref()
        .filter(|_| search_pushdown)
        .and_then(search_needle)
    {
        clauses.push(FilterClause::new(
            Column::Message,
            Operator::Contains,
            needle,
        ));
        pushed.insert("q");
    }
    if let Some(user) = filters.user_id.as_deref().filter(|v| is_object_id(v)) {
        clauses.push(FilterClause::new(Column::UserId, Operator::Equals, user));
        pushed.insert("user_id");
    }
    push_attribute_clauses(filters, &mut clauses, &mut pushed);
    let pushed = filters
        .names()
        .into_iter()
        .filter(|name| pushed.contains(name.as_str()))
        .collect();
    Plan {
        clauses,
        pushed,
        unsatisfiable,
    }
}

/// The `equals` clauses of the attribute filters whose values Alloy can
/// compare: ObjectIds for the id columns, a canonical integer for
/// `workflowVersion` (anything else is filtered by the gateway alone).
fn push_attribute_clauses(
    filters: &Filters,
    clauses: &mut Vec<FilterClause>,
    pushed: &mut BTreeSet<&'static str>,
) {
    let attribute_columns = [
        ("forgeWorkflowId", Column::ForgeWorkflowId),
        ("executionId", Column::ExecutionId),
        ("integrationId", Column::IntegrationId),
        ("workflowVersion", Column::WorkflowVersion),
    ];
    for (name, column) in attribute_columns {
        let Some(value) = filters.attrs.get(name) else {
            continue;
        };
        let pushable = match column {
            Column::WorkflowVersion => is_canonical_integer(value),
            _ => is_object_id(value),
        };
        if pushable {
            clauses.push(FilterClause::new(column, Operator::Equals, value.as_str()));
            pushed.insert(match column {
                Column::ForgeWorkflowId => "attr.forgeWorkflowId",
                Column::ExecutionId => "attr.executionId",
                Column::IntegrationId => "attr.integrationId",
                _ => "attr.workflowVersion",
            });
        }
    }
}

/// `q` spelled as it occurs in every documented message that contains it
/// case-insensitively; `None` when no single spelling fits them all.
pub fn search_needle(q: &str) -> Option<String> {
    if q.is_empty() || !q.is_ascii() {
        return None;
    }
    let mut common: Option<BTreeSet<&str>> = None;
    for message in KNOWN_MESSAGES {
        if !contains_case_insensitive(message, q) {
            continue;
        }
        let spellings: BTreeSet<&str> = (0..=message.len().saturating_sub(q.len()))
            .filter_map(|i| message.get(i..i + q.len()))
            .filter(|window| window.eq_ignore_ascii_case(q))
            .collect();
        common = Some(match common {
            None => spellings,
            Some(so_far) => so_far.intersection(&spellings).copied().collect(),
        });
    }
    common?.into_iter().next().map(str::to_string)
}

/// A MongoDB ObjectId as Alloy prints it: 24 lowercase hex digits.
pub fn is_object_id(value: &str) -> bool {
    value.len() == 24
        && value
            .bytes()
            .all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
}

fn is_canonical_integer(value: &str) -> bool {
    value.parse::<i64>().is_ok_and(|n| n.to_string() == value)
}

/// Years 0000–9999: what an ISO 8601 string without sign can carry.
fn representable(ms: i64) -> bool {
    (-62_167_219_200_000..=253_402_300_799_999).contains(&ms)
}

/// The inclusive `createdAt` window of the next request: the query's
/// bounds tightened by the position's keyset bound (an upper bound for
/// `desc`, a lower one for `asc`). `None` when the window is empty.
pub fn window(
    filters: &Filters,
    bound: Option<i64>,
    order: Order,
) -> Option<(Option<i64>, Option<i64>)> {
    let (mut low, mut high) = (filters.start, filters.end);
    if let Some(bound) = bound {
        match order {
            Order::Desc => high = Some(high.map_or(bound, |h| h.min(bound))),
            Order::Asc => low = Some(low.map_or(bound, |l| l.max(bound))),
        }
    }
    match (low, high) {
        (Some(l), Some(h)) if l > h => None,
        window => Some(window),
    }
}

/// The strict `createdAt` clauses selecting the inclusive window
/// `[low, high]` whatever precision Alloy stores (spec §10): after the
/// last instant of the millisecond before `low` (`.122999999Z` for a low
/// of `.123`), before the first of the millisecond after `high`. A bound
/// beyond what ISO 8601 carries is left out (the re-check still applies
/// it).
pub fn time_clauses(low: Option<i64>, high: Option<i64>) -> Vec<FilterClause> {
    let mut clauses = Vec::new();
    if let Some(after) = low
        .map(|l| l.saturating_sub(1))
        .filter(|t| representable(*t))
    {
        clauses.push(FilterClause::new(
            Column::CreatedAt,
            Operator::GreaterThan,
            format_ms_end(after),
        ));
    }
    if let Some(before) = high
        .map(|h| h.saturating_add(1))
        .filter(|t| representable(*t))
    {
        clauses.push(FilterClause::new(
            Column::CreatedAt,
            Operator::LessThan,
            format_ms(before),
        ));
    }
    clauses
}

/// The query string of one page: `filters` (only when there is one),
/// `skip`, `limit`, `sortBy=createdAt`, `sortOrder`.
pub fn page_query(
    plan: &Plan,
    order: Order,
    window: (Option<i64>, Option<i64>),
    skip: u64,
    limit: usize,
) -> Vec<(&'static str, String)> {
    let mut clauses = time_clauses(window.0, window.1);
    clauses.extend(plan.clauses.iter().cloned());
    let mut pairs = Vec::with_capacity(5);
    if !clauses.is_empty() {
        pairs.push(("filters", encode_filters(&clauses)));
    }
    pairs.push(("skip", skip.to_string()));
    pairs.push(("limit", limit.to_string()));
    pairs.push(("sortBy", String::from("createdAt")));
    pairs.push(("sortOrder", order.as_str().to_string()));
    pairs
}

#[cfg(test)]
mod tests;
