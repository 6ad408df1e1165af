//! The simulator's reading of Alloy's `filters` grammar, from the docs: a
//! JSON array of `{columns, operators, userinput, condition}` objects, each
//! part wrapped as `{"value": ...}`, all joined by `and`.
//!
//! `userinput.value` must be a string. It is read by the column's type:
//! `createdAt` as an ISO 8601 date, `workflowVersion` as a number, the rest
//! as text. `greaterthan`/`lessthan` are strict; on text they compare
//! lexicographically. A log without the column matches only the negative
//! operators (`notequals`, `notcontains`), as MongoDB's `$ne` does.

use std::cmp::Ordering;

use loggate_core::time::parse_timestamp_ns;
use serde_json::Value;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Text,
    Date,
    Number,
}

/// The documented columns and where each lives in a log.
const COLUMNS: [(&str, &[&str], Kind); 7] = [
    ("message", &["message"], Kind::Text),
    ("data.executionId", &["data", "executionId"], Kind::Text),
    ("forgeWorkflowId", &["forgeWorkflowId"], Kind::Text),
    ("createdAt", &["createdAt"], Kind::Date),
    ("userId", &["userId"], Kind::Text),
    (
        "forgeWorkflow.integrationId._id",
        &["forgeWorkflow", "integrationId", "_id"],
        Kind::Text,
    ),
    ("workflowVersion", &["workflowVersion"], Kind::Number),
];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Op {
    Equals,
    NotEquals,
    GreaterThan,
    LessThan,
    Contains,
    NotContains,
}

#[derive(Debug, Clone, PartialEq)]
enum Input {
    Text(String),
    /// Epoch nanoseconds: dates compare at the precision they are written.
    Date(i128),
    Number(f64),
}

/// One parsed clause.
#[derive(Debug, Clone, PartialEq)]
pub struct Clause {
    path: &'static [&'static str],
    kind: Kind,
    op: Op,
    input: Input,
    /// The input as sent, for `contains` on dates and numbers.
    text: String,
}

/// Parses the `filters` parameter; `Err` is the 400 message.
pub fn parse_filters(text: &str) -> Result<Vec<Clause>, String> {
    let value: Value =
        serde_json::from_str(text).map_err(|e| format!("filters is not valid JSON: {e}"))?;
    let items = value.as_array().ok_or("filters must be a JSON array")?;
    items
        .iter()
        .enumerate()
        .map(|(i, item)| parse_clause(i, item))
        .collect()
}

fn wrapped<'a>(item: &'a Value, part: &str) -> Option<&'a Value> {
    item.get(part)?.get("value")
}

fn parse_clause(index: usize, item: &Value) -> Result<Clause, String> {
    let name = |part: &str| -> Result<&str, String> {
        wrapped(item, part)
            .and_then(Value::as_str)
            .ok_or_else(|| format!("filters[{index}].{part}.value must be a string"))
    };
    let column = name("columns")?;
    let (_, path, kind) = COLUMNS
        .iter()
        .find(|(c, _, _)| *c == column)
        .ok_or_else(|| format!("unknown filter column \"{column}\""))?;
    let op = match name("operators")? {
        "equals" => Op::Equals,
        "notequals" => Op::NotEquals,
        "greaterthan" => Op::GreaterThan,
        "lessthan" => Op::LessThan,
        "contains" => Op::Contains,
        "notcontains" => Op::NotContains,
        other => return Err(format!("unknown filter operator \"{other}\"")),
    };
    let text = name("userinput")?.to_string();
    if let Some(condition) = wrapped(item, "condition") {
        if condition.as_str() != Some("and") {
            return Err(format!("filters[{index}].condition.value must be \"and\""));
        }
    }
    let input = match kind {
        Kind::Text => Input::Text(text.clone()),
        Kind::Date => Input::Date(
            parse_timestamp_ns(&text)
                .ok_or_else(|| format!("invalid date \"{text}\" for {column}"))?,
        ),
        Kind::Number => Input::Number(
            text.trim()
                .parse()
                .map_err(|_| format!("invalid number \"{text}\" for {column}"))?,
        ),
    };
    Ok(Clause {
        path,
        kind: *kind,
        op,
        input,
        text,
    })
}

/// True when `log` satisfies `clause`.
pub fn clause_matches(clause: &Clause, log: &Value, contains_case_sensitive: bool) -> bool {
    let field = clause
        .path
        .iter()
        .try_fold(log, |value, key| value.get(key))
        .filter(|v| !v.is_null());
    let Some(field) = field else {
        return matches!(clause.op, Op::NotEquals | Op::NotContains);
    };
    match clause.op {
        Op::Contains | Op::NotContains => {
            let haystack = match field {
                Value::String(s) => s.clone(),
                other => other.to_string(),
            };
            let found = if contains_case_sensitive {
                haystack.contains(&clause.text)
            } else {
                haystack
                    .to_lowercase()
                    .contains(&clause.text.to_lowercase())
            };
            found == (clause.op == Op::Contains)
        }
        op => {
            let Some(ordering) = compare(clause, field) else {
                return op == Op::NotEquals;
            };
            match op {
                Op::Equals => ordering == Ordering::Equal,
                Op::NotEquals => ordering != Ordering::Equal,
                Op::GreaterThan => ordering == Ordering::Greater,
                _ => ordering == Ordering::Less,
            }
        }
    }
}

/// The log's value compared to the input, by the column's type.
fn compare(clause: &Clause, field: &Value) -> Option<Ordering> {
    match (&clause.input, clause.kind) {
        (Input::Date(input), Kind::Date) => {
            let ns = field.as_str().and_then(parse_timestamp_ns)?;
            Some(ns.cmp(input))
        }
        (Input::Number(input), Kind::Number) => field.as_f64()?.partial_cmp(input),
        (Input::Text(input), _) => {
            let text = match field {
                Value::String(s) => s.clone(),
                other => other.to_string(),
            };
            Some(text.as_str().cmp(input.as_str()))
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn one(column: &str, op: &str, input: &str) -> Clause {
        let text = json!([{"columns": {"value": column}, "operators": {"value": op},
            "userinput": {"value": input}, "condition": {"value": "and"}}])
        .to_string();
        parse_filters(&text).unwrap().remove(0)
    }

    #[test]
    fn rejects_what_the_grammar_does_not_know() {
        assert!(parse_filters("[{").unwrap_err().contains("not valid JSON"));
        assert!(parse_filters("{}").unwrap_err().contains("array"));
        let bad = |column: &str, op: &str, input: Value| {
            parse_filters(
                &json!([{"columns": {"value": column}, "operators": {"value": op},
                "userinput": {"value": input}}])
                .to_string(),
            )
            .unwrap_err()
        };
        assert!(bad("teamId", "equals", json!("x")).contains("unknown filter column"));
        assert!(bad("message", "like", json!("x")).contains("unknown filter operator"));
        assert!(bad("workflowVersion", "equals", json!(2)).contains("must be a string"));
        assert!(bad("createdAt", "lessthan", json!("soon")).contains("invalid date"));
    }

    #[test]
    fn compares_by_column_type() {
        let log = json!({"createdAt": "2025-04-29T17:44:10.432Z", "workflowVersion": 2,
            "message": "executionError"});
        assert!(clause_matches(
            &one("createdAt", "greaterthan", "2025-04-29T17:44:10.431Z"),
            &log,
            true
        ));
        assert!(!clause_matches(
            &one("createdAt", "greaterthan", "2025-04-29T17:44:10.432Z"),
            &log,
            true
        ));
        assert!(clause_matches(
            &one("workflowVersion", "equals", "2"),
            &log,
            true
        ));
        assert!(clause_matches(
            &one("workflowVersion", "lessthan", "2.5"),
            &log,
            true
        ));
        assert!(!clause_matches(
            &one("message", "contains", "error"),
            &log,
            true
        ));
        assert!(clause_matches(
            &one("message", "contains", "error"),
            &log,
            false
        ));
        assert!(clause_matches(&one("userId", "notequals", "x"), &log, true));
        assert!(!clause_matches(&one("userId", "equals", "x"), &log, true));
    }
}
