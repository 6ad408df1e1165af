//! Metric queries (spec §7): which ones are served and what they mean.
//!
//! Served: a range aggregation `count_over_time`, `rate`,
//! `bytes_over_time` or `bytes_rate` of a log query (`[range]`, optional
//! `offset`), alone or wrapped in one `sum` or `count` with or without
//! `by (...)`/`without (...)`. Grafana's logs-volume queries are of that
//! shape: `sum by (level, detected_level) (count_over_time(<query> | drop
//! __error__ [<step>]))` and the older `sum by (level) (count_over_time(<query>[<step>]))`.
//! Anything else is `unsupported`, naming the construct.

use super::ast::{Expr, Grouping, LogExpr};
use super::error::LogqlError;

/// A range aggregation loggate evaluates.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RangeOp {
    /// Entries in the window.
    CountOverTime,
    /// Entries per second over the window.
    Rate,
    /// Bytes of the entries' lines in the window.
    BytesOverTime,
    /// Bytes per second over the window.
    BytesRate,
}

/// A vector aggregation loggate evaluates.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum VectorOp {
    Sum,
    Count,
}

/// A metric query ready to evaluate.
#[derive(Debug, Clone)]
pub struct MetricQuery<'a> {
    pub op: RangeOp,
    pub log: &'a LogExpr,
    /// The window `(t - offset - range, t - offset]`, in ms.
    pub range_ms: i64,
    pub offset_ms: i64,
    pub aggregation: Option<(VectorOp, Option<&'a Grouping>)>,
}

impl RangeOp {
    fn of(name: &str) -> Option<Self> {
        Some(match name {
            "count_over_time" => RangeOp::CountOverTime,
            "rate" => RangeOp::Rate,
            "bytes_over_time" => RangeOp::BytesOverTime,
            "bytes_rate" => RangeOp::BytesRate,
            _ => return None,
        })
    }

    /// Whether samples are line bytes rather than entries.
    pub fn counts_bytes(self) -> bool {
        matches!(self, RangeOp::BytesOverTime | RangeOp::BytesRate)
    }

    /// Whether the window's total is divided by its length in seconds.
    pub fn per_second(self) -> bool {
        matches!(self, RangeOp::Rate | RangeOp::BytesRate)
    }
}

/// The metric query `expr` is, `None` when it is not one (a log query or
/// a constant); `unsupported` for a metric query loggate does not serve.
pub fn metric_query<'a>(
    input: &str,
    expr: &'a Expr,
) -> Result<Option<MetricQuery<'a>>, LogqlError> {
    match expr {
        Expr::RangeAggregation { .. } => range(input, expr, None).map(Some),
        Expr::VectorAggregation {
            op,
            grouping,
            inner,
            at,
            ..
        } => {
            let vector = match op.as_str() {
                "sum" => VectorOp::Sum,
                "count" => VectorOp::Count,
                other => {
                    return Err(LogqlError::unsupported(
                        input,
                        *at,
                        &format!("{other}() (served metric aggregations: sum, count)"),
                    ))
                }
            };
            if !matches!(**inner, Expr::RangeAggregation { .. }) {
                return Err(LogqlError::unsupported(
                    input,
                    inner.at(),
                    "an aggregation of anything but count_over_time, rate, bytes_over_time or bytes_rate",
                ));
            }
            range(input, inner, Some((vector, grouping.as_ref()))).map(Some)
        }
        Expr::Binary { lhs, rhs, at, .. } => {
            let metric = |e: &Expr| {
                matches!(
                    e,
                    Expr::RangeAggregation { .. } | Expr::VectorAggregation { .. }
                )
            };
            if metric(lhs) || metric(rhs) {
                return Err(LogqlError::unsupported(
                    input,
                    *at,
                    "binary operations on metric queries",
                ));
            }
            Ok(None)
        }
        _ => Ok(None),
    }
}

fn range<'a>(
    input: &str,
    expr: &'a Expr,
    aggregation: Option<(VectorOp, Option<&'a Grouping>)>,
) -> Result<MetricQuery<'a>, LogqlError> {
    let Expr::RangeAggregation {
        op,
        inner,
        range_ms,
        offset_ms,
        at,
    } = expr
    else {
        unreachable!("checked by the caller")
    };
    let op = RangeOp::of(op).ok_or_else(|| {
        LogqlError::unsupported(
            input,
            *at,
            &format!("{op}() (served range aggregations: count_over_time, rate, bytes_over_time, bytes_rate)"),
        )
    })?;
    Ok(MetricQuery {
        op,
        log: inner,
        range_ms: *range_ms,
        offset_ms: *offset_ms,
        aggregation,
    })
}
