//! The planner: a parsed log query onto the unified `/logs` query.
//!
//! Every selector matcher, line filter and label filter is kept in the
//! [`Residual`] and evaluated exactly by the gateway on every entry. Some
//! are also *pushed* into [`Filters`] (spec §6: "pushed down exactly where
//! the matching `/logs` parameter would be"), and only where the pushed
//! filter selects a superset of what the residual keeps, so pushing never
//! changes an answer:
//!
//! | LogQL | pushed as |
//! |---|---|
//! | `source`, `provider` matchers | the set of sources queried |
//! | `level`, `detected_level` matchers (also `!=`, `=~`, `!~`) | `level` (the matching set of levels) |
//! | `service_name="x"` (x not a queried source's name) | `service=x` |
//! | first `\|= "x"` (1–256 characters, `line = "message"`) | `q=x` (case-insensitive superset, re-checked case-sensitively) |
//! | `\| user_id="x"` | `user_id=x` |
//! | `\| attr_NAME="x"` (NAME of `[A-Za-z0-9_]`, x not starting `{`/`[`) | `attr.NAME=x` |

use loggate_core::query::LevelSet;
use loggate_core::{Filters, Level};
use regex::{Regex, RegexBuilder};

use super::ast::{Expr, LogExpr, MatchOp, Matcher, Stage};
use super::error::LogqlError;
use super::labels::{level_label, EntryView, LineMode};

/// Most bytes a compiled regex may take (Loki bounds regexes the same way).
pub const REGEX_SIZE_LIMIT: usize = 1 << 20;
/// Longest `q` the `/logs` API accepts (pushdown stays within it).
const MAX_Q_CHARS: usize = 256;
/// Longest pushed `user_id` / attribute value.
const MAX_VALUE_CHARS: usize = 1024;
/// Most attribute filters pushed.
const MAX_ATTR_FILTERS: usize = 16;

/// A readable source as the planner sees it.
#[derive(Debug, Clone)]
pub struct SourceInfo {
    pub name: String,
    pub provider: &'static str,
}

/// A log query ready to run.
#[derive(Debug)]
pub struct LogPlan {
    /// The sources to query (sorted); empty when the selector matches none.
    pub sources: Vec<String>,
    /// Filters pushed into the unified query (no time bounds).
    pub filters: Filters,
    /// What the gateway evaluates on every entry.
    pub residual: Residual,
    /// Whether `sources` and `filters` select exactly what the residual
    /// keeps (every matcher and filter pushed exactly, none only as a
    /// superset): a count of the unified query is then the query's count,
    /// and metric queries can be counted without reading entries (spec §7).
    /// Exact: `source`/`provider`/`level`/`detected_level` matchers and
    /// label filters, a pushed `service_name="x"`, a pushed `| user_id="x"`,
    /// `__error__` filters that match the empty string, parsers and `drop`.
    pub exact: bool,
}

/// Compiled matchers and filters, evaluated in order.
#[derive(Debug, Default)]
pub struct Residual {
    matchers: Vec<Compiled>,
    lines: Vec<LineCheck>,
    /// Each group is one label-filter stage: all must hold, or any when `any`.
    groups: Vec<(bool, Vec<Compiled>)>,
}

#[derive(Debug)]
struct Compiled {
    name: String,
    op: MatchOp,
    value: String,
    regex: Option<Regex>,
}

impl Compiled {
    fn new(input: &str, m: &Matcher) -> Result<Self, LogqlError> {
        let regex = if m.op.is_regex() {
            Some(compile(input, m.value_at, &format!("^(?:{})$", m.value))?)
        } else {
            None
        };
        Ok(Compiled {
            name: m.name.clone(),
            op: m.op,
            value: m.value.clone(),
            regex,
        })
    }

    fn matches_value(&self, value: &str) -> bool {
        let hit = match &self.regex {
            Some(re) => re.is_match(value),
            None => value == self.value,
        };
        hit != self.op.is_negative()
    }
}

#[derive(Debug)]
struct LineCheck {
    negative: bool,
    needles: Vec<String>,
    regexes: Vec<Regex>,
}

impl LineCheck {
    fn matches(&self, line: &str) -> bool {
        let any = self.needles.iter().any(|n| line.contains(n.as_str()))
            || self.regexes.iter().any(|re| re.is_match(line));
        any != self.negative
    }
}

fn compile(input: &str, at: usize, pattern: &str) -> Result<Regex, LogqlError> {
    RegexBuilder::new(pattern)
        .size_limit(REGEX_SIZE_LIMIT)
        .dfa_size_limit(REGEX_SIZE_LIMIT)
        .build()
        .map_err(|e| {
            let detail = match e {
                regex::Error::CompiledTooBig(limit) => {
                    format!("regex too large (over {limit} bytes compiled)")
                }
                other => format!("error parsing regexp: {}", first_line(&other.to_string())),
            };
            LogqlError::invalid(input, at, &detail)
        })
}

fn first_line(text: &str) -> String {
    let lines: Vec<&str> = text.lines().filter(|l| !l.trim().is_empty()).collect();
    lines.last().copied().unwrap_or(text).trim().to_string()
}

impl Residual {
    /// True when the entry passes every matcher and filter.
    pub fn matches(&self, entry: &EntryView<'_>) -> bool {
        self.matchers
            .iter()
            .all(|m| m.matches_value(&entry.value(&m.name)))
            && self.lines.iter().all(|l| l.matches(entry.line))
            && self.groups.iter().all(|(any, group)| {
                let mut hits = group
                    .iter()
                    .map(|m| m.matches_value(&label_value(entry, m)));
                if *any {
                    hits.any(|h| h)
                } else {
                    hits.all(|h| h)
                }
            })
    }
}

fn label_value(entry: &EntryView<'_>, m: &Compiled) -> String {
    // `__error__` is never set: every field is already structured.
    if m.name == "__error__" || m.name == "__error_details__" {
        return String::new();
    }
    entry.value(&m.name)
}

/// Plans a log query over the sources the caller may read.
pub fn plan_log_query(
    input: &str,
    expr: &Expr,
    readable: &[SourceInfo],
    line_mode: LineMode,
) -> Result<LogPlan, LogqlError> {
    let log = match expr {
        Expr::Log(log) => log,
        Expr::RangeAggregation { at, .. } | Expr::VectorAggregation { at, .. } => {
            return Err(LogqlError::unsupported(
                input,
                *at,
                "a metric query where a log query is expected",
            ))
        }
        other => return Err(LogqlError::unsupported(
            input,
            other.at(),
            "this expression is not a log query; only constant expressions are served by /query",
        )),
    };
    plan_log_expr(input, log, readable, line_mode)
}

/// Plans a stream selector alone (`/labels?query=`, `/series?match[]=`).
pub fn plan_log_expr(
    input: &str,
    log: &LogExpr,
    readable: &[SourceInfo],
    line_mode: LineMode,
) -> Result<LogPlan, LogqlError> {
    check_not_empty_compatible(input, log)?;
    let mut plan = LogPlan {
        sources: Vec::new(),
        filters: Filters::default(),
        residual: Residual::default(),
        exact: true,
    };
    let mut levels = LevelSet::all();
    let mut chosen: Vec<&SourceInfo> = readable.iter().collect();
    let mut services = Vec::new();
    for m in &log.matchers {
        let compiled = Compiled::new(input, m)?;
        match m.name.as_str() {
            "source" => chosen.retain(|s| compiled.matches_value(&s.name)),
            "provider" => chosen.retain(|s| compiled.matches_value(s.provider)),
            "level" | "detected_level" => levels = levels.intersect(level_set(&compiled)),
            "service_name" if m.op == MatchOp::Eq => services.push(m.value.clone()),
            _ => plan.exact = false,
        }
        plan.residual.matchers.push(compiled);
    }
    for stage in &log.stages {
        plan_stage(input, stage, &mut plan, &mut levels, line_mode)?;
    }
    plan.sources = chosen.iter().map(|s| s.name.clone()).collect();
    plan.sources.sort();
    if levels != LevelSet::all() {
        plan.filters.level = Some(levels);
    }
    if let Some(service) = services.first() {
        // `service_name` falls back to the source name for records without
        // a service: pushing `service` is exact only for other values.
        if !plan.sources.contains(service) && service.chars().count() <= MAX_VALUE_CHARS {
            plan.filters.service = Some(service.clone());
        }
    }
    let service_matchers = log.matchers.iter().filter(|m| m.name == "service_name");
    if service_matchers.count() > usize::from(plan.filters.service.is_some()) {
        plan.exact = false;
    }
    Ok(plan)
}

fn plan_stage(
    input: &str,
    stage: &Stage,
    plan: &mut LogPlan,
    levels: &mut LevelSet,
    line_mode: LineMode,
) -> Result<(), LogqlError> {
    match stage {
        Stage::LineFilter { op, values, at } => {
            let mut check = LineCheck {
                negative: op.is_negative(),
                needles: Vec::new(),
                regexes: Vec::new(),
            };
            for value in values {
                if op.is_regex() {
                    check.regexes.push(compile(input, *at, value)?);
                } else {
                    check.needles.push(value.clone());
                }
            }
            let pushable = *op == MatchOp::Eq
                && values.len() == 1
                && line_mode == LineMode::Message
                && plan.filters.q.is_none()
                && (1..=MAX_Q_CHARS).contains(&values[0].chars().count());
            if pushable {
                plan.filters.q = Some(values[0].clone());
            }
            // `q` is a case-insensitive superset: never exact.
            plan.exact = false;
            plan.residual.lines.push(check);
        }
        Stage::Parser { .. } => {}
        Stage::Drop { labels, at } => {
            if let Some(other) = labels
                .iter()
                .find(|l| *l != "__error__" && *l != "__error_details__")
            {
                return Err(LogqlError::unsupported(
                    input,
                    *at,
                    &format!(
                        "drop of {other:?} (only __error__ and __error_details__ may be dropped)"
                    ),
                ));
            }
        }
        Stage::LabelFilter { matchers, any, .. } => {
            let mut group = Vec::new();
            for m in matchers {
                let compiled = Compiled::new(input, m)?;
                let exact = !*any && push_label_filter(plan, levels, m, &compiled);
                plan.exact &= exact || always_true(&compiled);
                group.push(compiled);
            }
            plan.residual.groups.push((*any, group));
        }
    }
    Ok(())
}

/// A label filter every entry passes: on a label loggate never sets
/// (`__error__`, `__error_details__`) with a matcher of the empty string.
fn always_true(c: &Compiled) -> bool {
    matches!(c.name.as_str(), "__error__" | "__error_details__") && c.matches_value("")
}

/// Pushes one and-joined label filter where that is exact (a superset for
/// `attr_*`); true when the pushed filter selects exactly what it keeps.
fn push_label_filter(plan: &mut LogPlan, levels: &mut LevelSet, m: &Matcher, c: &Compiled) -> bool {
    let short = (1..=MAX_VALUE_CHARS).contains(&m.value.chars().count());
    match m.name.as_str() {
        "level" | "detected_level" => {
            *levels = levels.intersect(level_set(c));
            true
        }
        "user_id" if m.op == MatchOp::Eq && short && plan.filters.user_id.is_none() => {
            plan.filters.user_id = Some(m.value.clone());
            true
        }
        name if m.op == MatchOp::Eq && short => {
            let Some(attr) = name.strip_prefix("attr_") else {
                return false;
            };
            let plain = !attr.is_empty()
                && attr.len() <= 64
                && attr.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
            let scalar = !m.value.starts_with('{') && !m.value.starts_with('[');
            if plain
                && scalar
                && plan.filters.attrs.len() < MAX_ATTR_FILTERS
                && !plan.filters.attrs.contains_key(attr)
            {
                plan.filters.attrs.insert(attr.to_string(), m.value.clone());
            }
            false
        }
        _ => false,
    }
}

fn level_set(c: &Compiled) -> LevelSet {
    Level::ALL
        .into_iter()
        .filter(|l| c.matches_value(level_label(*l)))
        .collect()
}

/// Loki refuses selectors whose every matcher also matches the empty
/// string (they would select every stream).
fn check_not_empty_compatible(input: &str, log: &LogExpr) -> Result<(), LogqlError> {
    let mut any = false;
    for m in &log.matchers {
        let c = Compiled::new(input, m)?;
        if matches!(m.op, MatchOp::Eq | MatchOp::Re) && !c.matches_value("") {
            any = true;
        }
    }
    if any {
        Ok(())
    } else {
        Err(LogqlError::invalid(
            input,
            log.at,
            "queries require at least one regexp or equality matcher that does not have an empty-compatible value. For instance, app=~\".*\" does not meet this requirement, but app=~\".+\" will",
        ))
    }
}
