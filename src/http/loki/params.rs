//! Query parameters of the Loki API, read as Loki reads them
//! (`pkg/util/http.go`, `pkg/loghttp/params.go`): times as integer
//! nanoseconds (at most 10 digits: seconds), float seconds, or RFC 3339
//! with up to nanosecond fraction; `since` and `step` as durations.

use std::collections::BTreeMap;
use std::sync::LazyLock;

use regex::Regex;

use super::LokiError;

/// What `start`, `end` and `time` accept (the parser's gate and the
/// OpenAPI pattern, one string): integer nanoseconds (at most 10 digits:
/// seconds; at most 19 digits, below 9·10^18), float seconds with a dot
/// (at most 11 integer digits, 9 fraction digits), or RFC 3339 with `T`,
/// an optional fraction of up to 9 digits and `Z` or `±hh:mm`, a real
/// calendar date from 1970 to 9999. Loki's `pkg/util/http.go` also reads
/// exponents and signs; loggate does not (README, "Loki API").
pub const TIME_PATTERN: &str = concat!(
    r"^(?:[0-9]{1,18}|[1-8][0-9]{18}|[0-9]{1,11}\.[0-9]{0,9}",
    r"|(?:(?:19[7-9][0-9]|[2-9][0-9]{3})-(?:(?:0[1-9]|1[0-2])-(?:0[1-9]|1[0-9]|2[0-8])|(?:0[13-9]|1[0-2])-(?:29|30)|(?:0[13578]|1[02])-31)",
    r"|(?:19(?:7[26]|8[048]|9[26])|[2-9][0-9](?:0[48]|[2468][048]|[13579][26])|(?:[2468][048]|[3579][26])00)-02-29)",
    r"T(?:[01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9](?:\.[0-9]{1,9})?(?:Z|[+-](?:[01][0-9]|2[0-3]):[0-5][0-9]))$"
);

/// What `since`, `step` and `interval` accept (gate and OpenAPI pattern):
/// positive float seconds below 10^11 (`30`, `0.5`, at most 9 fraction
/// digits after leading zeros), or one to four groups of a number (up to 3
/// fraction digits) and `ms`, `s`, `m`, `h`, `d`, `w`, `y` (`5m`, `1h30m`,
/// Go's `1m0s`, `1.5s`, Grafana's `14000ms`), the first at least 1 ms, each
/// at most 10^15 ms ([`crate::logql::duration_ms`]'s bound). `ns`/`us` and
/// sub-millisecond values are refused.
pub const DURATION_PATTERN: &str = concat!(
    r"^(?:0{0,3}[1-9][0-9]{0,10}(?:\.[0-9]{0,9})?|0{0,3}\.[0-9]{0,8}[1-9][0-9]{0,8}|",
    crate::logql::duration_groups_pattern!(),
    ")$"
);

/// What `direction` accepts: `backward`, `forward` or `scan`, any case.
pub const DIRECTION_PATTERN: &str =
    "^(?:[Bb][Aa][Cc][Kk][Ww][Aa][Rr][Dd]|[Ff][Oo][Rr][Ww][Aa][Rr][Dd]|[Ss][Cc][Aa][Nn])$";

/// What a label name in `/label/<name>/values` must be: a Prometheus
/// label name, as LogQL's stream selectors spell one (Loki's
/// `model.LabelName`); any other text could name no label.
pub const LABEL_NAME_PATTERN: &str = "^[a-zA-Z_][a-zA-Z0-9_]*$";

static TIME_RE: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(TIME_PATTERN).expect("TIME_PATTERN compiles"));
static DURATION_RE: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(DURATION_PATTERN).expect("DURATION_PATTERN compiles"));

static LABEL_NAME_RE: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(LABEL_NAME_PATTERN).expect("LABEL_NAME_PATTERN compiles"));

/// Nanoseconds since the epoch.
pub type Nanos = i128;

/// One millisecond in nanoseconds.
pub const MS: Nanos = 1_000_000;
/// Latest accepted time: 9999-12-31T23:59:59Z.
const MAX_NS: Nanos = 253_402_300_799 * 1_000_000_000;
/// Most entries one `query_range` may return (Loki's `max_entries_limit_per_query`).
pub const MAX_LIMIT: usize = 5000;

/// The parameters of one request; each name once, except `match[]`.
pub struct Params {
    values: BTreeMap<String, Vec<String>>,
}

impl Params {
    /// Parses `raw`, refusing names outside `allowed` and repeated names
    /// (other than `match[]`).
    pub fn parse(raw: Option<&str>, allowed: &[&str]) -> Result<Self, LokiError> {
        let mut values: BTreeMap<String, Vec<String>> = BTreeMap::new();
        for (name, value) in url::form_urlencoded::parse(raw.unwrap_or("").as_bytes()) {
            if !allowed.contains(&name.as_ref()) {
                let shown: String = name.chars().take(64).collect();
                return Err(LokiError::bad_request(format!(
                    "unknown parameter {shown:?}; expected one of {}",
                    allowed.join(", ")
                )));
            }
            let repeatable = name == "match[]";
            let entry = values.entry(name.clone().into_owned()).or_default();
            if !entry.is_empty() && !repeatable {
                return Err(LokiError::bad_request(format!(
                    "parameter {name:?} given more than once"
                )));
            }
            entry.push(value.into_owned());
        }
        Ok(Params { values })
    }

    /// The value of `name`, if sent.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.values
            .get(name)
            .and_then(|v| v.first())
            .map(String::as_str)
    }

    /// Every value of a repeatable parameter.
    pub fn all(&self, name: &str) -> &[String] {
        self.values.get(name).map_or(&[], Vec::as_slice)
    }

    /// `query`, required.
    pub fn query(&self) -> Result<&str, LokiError> {
        match self.get("query") {
            Some(q) if !q.trim().is_empty() => Ok(q),
            _ => Err(LokiError::bad_request("query: parameter is required")),
        }
    }

    /// A time parameter, or `None` when absent.
    pub fn time(&self, name: &str) -> Result<Option<Nanos>, LokiError> {
        self.get(name).map(|v| parse_time(name, v)).transpose()
    }

    /// `[start, end)` from `start`, `end` and `since`; `default_span` back
    /// from `end` when neither `start` nor `since` is sent. `end` after
    /// `start` is required.
    pub fn window(&self, now: Nanos, default_span: Nanos) -> Result<(Nanos, Nanos), LokiError> {
        let end = self.time("end")?.unwrap_or(now);
        let span = match self.get("since") {
            Some(text) => duration_ns("since", text)?,
            None => default_span,
        };
        let start = match self.time("start")? {
            Some(start) => start,
            None => (end - span).max(0),
        };
        if end <= start {
            return Err(LokiError::bad_request(
                "end timestamp must not be before or equal to start time",
            ));
        }
        Ok((start, end))
    }

    /// `limit`: default `default`, from 1 to [`MAX_LIMIT`].
    pub fn limit(&self, default: usize) -> Result<usize, LokiError> {
        let Some(text) = self.get("limit") else {
            return Ok(default);
        };
        match crate::engine::form::decimal(text) {
            Some(n) if n > MAX_LIMIT as u64 => Err(LokiError::bad_request(format!(
                "limit: max entries limit per query exceeded, limit > max_entries_limit ({n} > {MAX_LIMIT})"
            ))),
            Some(n) if n >= 1 => Ok(n as usize),
            _ => Err(LokiError::bad_request(format!(
                "limit: expected an integer from 1 to {MAX_LIMIT}, got {}",
                quote(text)
            ))),
        }
    }

    /// `direction`: `backward` (default, also `scan`) or `forward`, any case.
    pub fn forward(&self) -> Result<bool, LokiError> {
        match self
            .get("direction")
            .map(str::to_ascii_lowercase)
            .as_deref()
        {
            None | Some("backward") | Some("scan") => Ok(false),
            Some("forward") => Ok(true),
            Some(_) => Err(LokiError::bad_request(format!(
                "direction: expected forward or backward, got {}",
                quote(self.get("direction").unwrap_or_default())
            ))),
        }
    }

    /// `step` (or `interval`): a duration or float seconds, validated and
    /// returned in nanoseconds; log queries ignore it.
    pub fn step(&self, name: &str) -> Result<Option<Nanos>, LokiError> {
        let Some(text) = self.get(name) else {
            return Ok(None);
        };
        if !DURATION_RE.is_match(text) {
            return Err(bad_duration(name, text));
        }
        let ns = match text.parse::<f64>() {
            Ok(secs) if secs.is_finite() && secs > 0.0 && secs < 1e12 => {
                (secs * 1e9).round() as Nanos
            }
            Ok(_) => {
                return Err(LokiError::bad_request(format!(
                    "{name}: zero or negative query resolution step widths are not accepted. Try a positive integer"
                )))
            }
            Err(_) => duration_ns(name, text)?,
        };
        Ok(Some(ns))
    }
}

/// A Loki time: integer ns (≤ 10 digits: seconds), float seconds, RFC 3339.
pub fn parse_time(name: &str, text: &str) -> Result<Nanos, LokiError> {
    let bad = || {
        LokiError::bad_request(format!(
            "{name}: cannot parse {} to a valid timestamp",
            quote(text)
        ))
    };
    if !TIME_RE.is_match(text) {
        return Err(bad());
    }
    let ns = if text.contains('.') && text.parse::<f64>().is_ok() {
        let secs: f64 = text.parse().map_err(|_| bad())?;
        if !secs.is_finite() || secs.abs() > 1e12 {
            return Err(out_of_range(name, text));
        }
        // Loki keeps the fraction to the millisecond.
        let whole = secs.trunc();
        let millis = ((secs - whole) * 1000.0).round();
        whole as Nanos * 1_000_000_000 + millis as Nanos * MS
    } else if let Ok(n) = text.parse::<i64>() {
        if text.trim_start_matches(['-', '+']).len() <= 10 {
            Nanos::from(n) * 1_000_000_000
        } else {
            Nanos::from(n)
        }
    } else {
        let parsed = chrono::DateTime::parse_from_rfc3339(text).map_err(|_| bad())?;
        let secs = Nanos::from(parsed.timestamp());
        // The pattern keeps the date within 1970..=9999; an offset may
        // still step over an edge by hours: clamp to the range.
        (secs * 1_000_000_000 + Nanos::from(parsed.timestamp_subsec_nanos())).clamp(0, MAX_NS)
    };
    if !(0..=MAX_NS).contains(&ns) {
        return Err(out_of_range(name, text));
    }
    Ok(ns)
}

fn out_of_range(name: &str, text: &str) -> LokiError {
    LokiError::bad_request(format!(
        "{name}: {} is out of range (1970-01-01 to 9999-12-31)",
        quote(text)
    ))
}

/// A duration parameter (`1h`, `90s`) or float seconds, in nanoseconds.
pub fn duration_ns(name: &str, text: &str) -> Result<Nanos, LokiError> {
    if !DURATION_RE.is_match(text) {
        return Err(bad_duration(name, text));
    }
    if let Ok(secs) = text.parse::<f64>() {
        if secs.is_finite() && secs > 0.0 && secs < 1e12 {
            return Ok((secs * 1e9).round() as Nanos);
        }
    }
    crate::logql::duration_ms(text)
        .map(|ms| Nanos::from(ms) * MS)
        .ok_or_else(|| bad_duration(name, text))
}

fn bad_duration(name: &str, text: &str) -> LokiError {
    if crate::logql::duration_over_bound(text) {
        return LokiError::bad_request(format!(
            "{name}: {} is too large: a duration takes {}",
            quote(text),
            crate::logql::DURATION_BOUND
        ));
    }
    LokiError::bad_request(format!(
        "{name}: expected a positive duration such as 5m or 1h30m, or seconds such as 30 or 0.5, got {}",
        quote(text)
    ))
}

/// The `name` path segment of `/label/<name>/values`, percent-decoded by
/// axum: refused when it is not UTF-8 once decoded (axum's own refusal
/// is plain text of its own) or not a label name ([`LABEL_NAME_PATTERN`]:
/// an empty segment, `label//values`, is no name either).
pub fn label_name(
    sent: Result<axum::extract::Path<String>, axum::extract::rejection::PathRejection>,
) -> Result<String, LokiError> {
    use axum::extract::path::ErrorKind;
    use axum::extract::rejection::PathRejection;
    let name = sent.map_err(|rejection| match rejection {
        PathRejection::FailedToDeserializePathParams(e)
            if matches!(e.kind(), ErrorKind::InvalidUtf8InPathParam { .. }) =>
        {
            LokiError::bad_request(
                "name: not valid UTF-8 once percent-decoded; percent-encode the UTF-8 bytes of the label name",
            )
        }
        // Programming errors (axum answers them 500): kept, in our shape.
        other => LokiError {
            status: other.status(),
            message: format!("name: {}", other.body_text()),
            retry_after_secs: None,
        },
    })?;
    if !LABEL_NAME_RE.is_match(&name) {
        return Err(LokiError::bad_request(format!(
            "name: expected a label name ([a-zA-Z_][a-zA-Z0-9_]*), got {}",
            quote(&name)
        )));
    }
    Ok(name.0)
}

/// A client value quoted for a message, cut to 64 characters.
pub fn quote(value: &str) -> String {
    let cut: String = value.chars().take(64).collect();
    format!("{cut:?}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_read_like_loki() {
        let s = 1_700_000_000i128 * 1_000_000_000;
        assert_eq!(parse_time("t", "1700000000").unwrap(), s);
        assert_eq!(parse_time("t", "1700000000000000001").unwrap(), s + 1);
        assert_eq!(parse_time("t", "1700000000.25").unwrap(), s + 250 * MS);
        assert_eq!(
            parse_time("t", "2023-11-14T22:13:20.000000007Z").unwrap(),
            s + 7
        );
        // Grafana's health check sends 4 s as nanoseconds: 10 digits = seconds.
        assert_eq!(
            parse_time("t", "4000000000").unwrap(),
            4_000_000_000i128 * 1_000_000_000
        );
        assert!(parse_time("t", "yesterday").is_err());
        assert!(parse_time("t", "-5").is_err());
        assert!(parse_time("t", "99999999999999999999").is_err());
    }

    #[test]
    fn limits_and_directions() {
        let p = Params::parse(
            Some("limit=5001&direction=FORWARD"),
            &["limit", "direction"],
        )
        .unwrap();
        assert!(p.limit(100).unwrap_err().message.contains("5001 > 5000"));
        assert!(p.forward().unwrap());
        assert!(Params::parse(Some("x=1"), &["limit"]).is_err());
        assert!(Params::parse(Some("limit=1&limit=2"), &["limit"]).is_err());
    }
}
