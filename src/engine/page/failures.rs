//! The partial-failure policy of a page (spec §3) and the error of a
//! failed page, saying who failed.

use std::time::Duration;

use loggate_core::{Culprit, SourceError};

use super::PageSource;
use crate::engine::EngineError;

/// The failure policy (spec §3 partial failure): with `partial`, a page
/// fails only when every source that was asked failed; without, when any
/// did. A failed page answers who failed: `503 overloaded` when loggate's
/// own queue declined every failed source, `504` when the rest timed out,
/// else `502`.
pub(in crate::engine) fn settle_failures(
    sources: &[PageSource<'_>],
    partial: bool,
) -> Result<(), EngineError> {
    let failed: Vec<&PageSource<'_>> = sources.iter().filter(|s| s.failure.is_some()).collect();
    let attempted = sources.iter().filter(|s| s.attempted).count();
    if failed.is_empty() || (partial && failed.len() < attempted) {
        return Ok(());
    }
    let failures: Vec<(&str, &SourceError)> = failed
        .iter()
        .filter_map(|s| Some((s.merge.name.as_str(), s.failure.as_ref()?)))
        .collect();
    Err(page_error(&failures))
}

/// The error of a failed page from its sources' failures `(name, error)`:
/// `overloaded` (with the soonest `Retry-After`) when loggate's own queue
/// declined them all, `upstream_timeout` when the rest timed out (or ran
/// out of deadline), else `upstream_error` (carrying the soonest upstream
/// `Retry-After` when every failure named one).
pub(in crate::engine) fn page_error(failures: &[(&str, &SourceError)]) -> EngineError {
    let detail = failures
        .iter()
        .map(|(name, e)| format!("{name}: {e} ({})", e.code()))
        .collect::<Vec<_>>()
        .join("; ");
    let errors = || failures.iter().map(|(_, e)| *e);
    let overloaded = |e: &SourceError| e.culprit() == Culprit::Overloaded;
    let timed_out = |e: &SourceError| {
        matches!(e, SourceError::Timeout(_) | SourceError::DeadlineExceeded) || overloaded(e)
    };
    if errors().all(overloaded) {
        let soonest = errors()
            .filter_map(SourceError::retry_after)
            .min()
            .unwrap_or(Duration::from_secs(1));
        EngineError::Overloaded {
            message: detail,
            retry_after_secs: soonest.as_secs().max(1),
        }
    } else if errors().all(timed_out) {
        EngineError::UpstreamTimeout(detail)
    } else {
        // Spec §10: when every failure named a wait (an upstream
        // `Retry-After`), the client gets the soonest (rounded up to whole
        // seconds, at least one).
        let soonest = errors()
            .map(SourceError::retry_after)
            .collect::<Option<Vec<_>>>()
            .and_then(|waits| waits.into_iter().min());
        match soonest {
            Some(wait) => EngineError::UpstreamRetryAfter {
                detail,
                retry_after_secs: wait.as_secs_f64().ceil().max(1.0) as u64,
            },
            None => EngineError::Upstream(detail),
        }
    }
}

/// The warnings a source adds to its page (spec §5, §10): records it could
/// not read, and its failure.
pub(super) fn warnings_of(s: &PageSource<'_>) -> Vec<String> {
    let name = &s.merge.name;
    let mut warnings = Vec::new();
    if s.report.skipped > 0 {
        let n = s.report.skipped;
        let records = if n == 1 { "record" } else { "records" };
        let why = if s.skip_reasons.is_empty() {
            "the adapter gave no reason; each is in the gateway's log".to_string()
        } else {
            s.skip_reasons.join("; ")
        };
        warnings.push(format!(
            "{name}: skipped {n} upstream {records} that could not be read: {why}"
        ));
    }
    if let Some(error) = &s.failure {
        warnings.push(format!(
            "{name}: failed ({}): {error}; next_cursor resumes it",
            error.code()
        ));
    }
    warnings
}

#[cfg(test)]
mod tests {
    use super::*;

    fn overloaded(secs: u64) -> SourceError {
        SourceError::Overloaded {
            message: "the source's outbound rate limit has no slot".into(),
            retry_after: Duration::from_secs(secs),
        }
    }

    fn upstream() -> SourceError {
        SourceError::Upstream {
            status: 500,
            message: "boom".into(),
            retry_after: None,
        }
    }

    #[test]
    fn a_failed_page_says_who_failed() {
        let (o3, o2) = (overloaded(3), overloaded(2));
        let timeout = SourceError::Timeout(Duration::from_secs(10));
        let deadline = SourceError::DeadlineExceeded;
        let boom = upstream();
        let open = SourceError::CircuitOpen(Duration::from_secs(5));
        let cases: [(&[(&str, &SourceError)], &str); 6] = [
            (&[("a", &o3), ("b", &o2)], "overloaded"),
            (&[("a", &timeout)], "upstream_timeout"),
            (&[("a", &o3), ("b", &timeout)], "upstream_timeout"),
            (&[("a", &deadline)], "upstream_timeout"),
            (&[("a", &timeout), ("b", &boom)], "upstream_error"),
            (&[("a", &open)], "upstream_error"),
        ];
        for (failures, code) in cases {
            assert_eq!(page_error(failures).code(), code, "{failures:?}");
        }
        match page_error(&[("a", &o3), ("b", &o2)]) {
            EngineError::Overloaded {
                message,
                retry_after_secs,
            } => {
                assert_eq!(retry_after_secs, 2, "the soonest Retry-After");
                assert!(message.starts_with("a: loggate is overloaded"), "{message}");
                assert!(message.contains("(overloaded)"), "{message}");
            }
            other => panic!("{other:?}"),
        }
    }
}
