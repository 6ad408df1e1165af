//! Each upstream failure the simulators can stage, and the typed error an
//! adapter must turn it into. Only unfiltered queries are used, so
//! provider quirks that soften errors on filtered requests (PromptCrafter's
//! 404 on a filter means "nothing matches") do not apply.

use std::panic::AssertUnwindSafe;
use std::time::Duration;

use futures::FutureExt;
use tokio::time::Instant;

use super::report::panic_text;
use super::traverse::normal_ctx;
use super::{Harness, LARGE_BUDGET};
use crate::adapter::{Batch, FetchRequest};
use crate::error::SourceError;
use crate::http::CallContext;
use crate::position::Position;
use crate::query::{Filters, Order, SourceQuery};
use crate::sim::Fault;

/// The body of the staged error statuses: the fields each provider's
/// error format uses, so any provider's error decoding finds a message.
const ERROR_BODY: &str = r#"{"status":"error","error":"simulated failure","message":"simulated failure","code":"simulated.failure"}"#;

/// Where the staged redirect points.
const REDIRECT_TARGET: &str = "http://198.51.100.7/elsewhere/logs";

/// Longer than the default 16 MiB body cap the harness adapters use.
const OVERSIZED: usize = 20 * 1024 * 1024;

/// The deadline of the hang case: the adapter must give up by then.
const HANG_DEADLINE: Duration = Duration::from_millis(300);

/// How long any single fault case may take before the suite calls the
/// adapter hung (far beyond every deadline it was given).
const CASE_GUARD: Duration = Duration::from_secs(20);

struct FaultCase {
    name: &'static str,
    fault: Fault,
    expected: &'static str,
    accepts: fn(&SourceError) -> bool,
}

/// Every staged fault: the status answers, then the broken transports.
fn fault_cases() -> Vec<FaultCase> {
    let mut cases = status_fault_cases();
    cases.extend(transport_fault_cases());
    cases
}

/// Error statuses, `Retry-After` forms and a redirect.
fn status_fault_cases() -> Vec<FaultCase> {
    vec![
        FaultCase {
            name: "500",
            fault: Fault::status(500, ERROR_BODY),
            expected: "Upstream { status: 500 }",
            accepts: |e| matches!(e, SourceError::Upstream { status: 500, .. }),
        },
        FaultCase {
            name: "503 with Retry-After: 2",
            fault: Fault::with_retry_after(503, ERROR_BODY, "2"),
            expected: "Upstream { status: 503, retry_after: Some(2s) }",
            accepts: |e| {
                matches!(e, SourceError::Upstream { status: 503, retry_after: Some(wait), .. }
                    if *wait == Duration::from_secs(2))
            },
        },
        FaultCase {
            name: "503 with an RFC 850 Retry-After in the past",
            fault: Fault::with_retry_after(503, ERROR_BODY, "Sunday, 06-Nov-94 08:49:37 GMT"),
            expected: "Upstream { status: 503, retry_after: Some(0s) }",
            accepts: |e| {
                matches!(e, SourceError::Upstream { status: 503, retry_after: Some(wait), .. }
                    if wait.is_zero())
            },
        },
        FaultCase {
            name: "503 with an asctime Retry-After in the past",
            fault: Fault::with_retry_after(503, ERROR_BODY, "Sun Nov  6 08:49:37 1994"),
            expected: "Upstream { status: 503, retry_after: Some(0s) }",
            accepts: |e| {
                matches!(e, SourceError::Upstream { status: 503, retry_after: Some(wait), .. }
                    if wait.is_zero())
            },
        },
        FaultCase {
            name: "307 redirect to another host",
            fault: Fault::Redirect {
                status: 307,
                location: REDIRECT_TARGET.to_string(),
            },
            expected:
                "Upstream { status: 307 } saying the redirect to the Location was not followed",
            accepts: |e| {
                matches!(e, SourceError::Upstream { status: 307, message, .. }
                    if message.contains("not followed") && message.contains(REDIRECT_TARGET))
            },
        },
        FaultCase {
            name: "429",
            fault: Fault::status(429, ERROR_BODY),
            expected: "RateLimited",
            accepts: |e| matches!(e, SourceError::RateLimited { .. }),
        },
        FaultCase {
            name: "401",
            fault: Fault::status(401, ERROR_BODY),
            expected: "Unauthorized { status: 401 }",
            accepts: |e| matches!(e, SourceError::Unauthorized { status: 401, .. }),
        },
    ]
}

/// Bodies that do not decode, are cut or too large, and connections that
/// drop or hang.
fn transport_fault_cases() -> Vec<FaultCase> {
    vec![
        FaultCase {
            name: "malformed JSON",
            fault: Fault::MalformedJson,
            expected: "Decode",
            accepts: |e| matches!(e, SourceError::Decode(_)),
        },
        FaultCase {
            name: "truncated body",
            fault: Fault::TruncatedBody,
            expected: "Network or Decode",
            accepts: |e| matches!(e, SourceError::Network(_) | SourceError::Decode(_)),
        },
        FaultCase {
            name: "oversized body (20 MiB)",
            fault: Fault::Oversized(OVERSIZED),
            expected: "TooLarge (the harness adapter must keep the default 16 MiB cap)",
            accepts: |e| matches!(e, SourceError::TooLarge { .. }),
        },
        FaultCase {
            name: "HTML error page",
            fault: Fault::HtmlErrorPage,
            expected: "Upstream { status: 502 }",
            accepts: |e| matches!(e, SourceError::Upstream { status: 502, .. }),
        },
        FaultCase {
            name: "dropped connection",
            fault: Fault::Drop,
            expected: "Network or Connect",
            accepts: |e| matches!(e, SourceError::Network(_) | SourceError::Connect(_)),
        },
        FaultCase {
            name: "hang",
            fault: Fault::Hang,
            expected: "Timeout (within the 300 ms deadline of the call)",
            accepts: |e| matches!(e, SourceError::Timeout(_)),
        },
    ]
}

/// Stages each fault on every request (`fail_always`, so also a login or
/// token request fails first), fetches the first page unfiltered, and
/// asserts the typed error; then clears the faults and asserts the adapter
/// recovers.
pub async fn assert_fault_mapping(harness: &dyn Harness) {
    let adapter = harness.adapter();
    let kind = adapter.kind();
    let query = SourceQuery {
        filters: Filters::default(),
        order: Order::Desc,
        include_raw: false,
    };
    let faults = harness.faults();
    faults.clear();
    // Warm up (a login or token fetch), so the faults meet the log request.
    if let Err(e) = fetch_first(harness, &query, normal_ctx()).await {
        panic!("conformance [{kind}] faults: the fetch before any fault failed: {e} ({e:?})");
    }
    for case in fault_cases() {
        faults.clear();
        faults.fail_always(case.fault.clone());
        let ctx = if matches!(case.fault, Fault::Hang) {
            CallContext::new(Instant::now() + HANG_DEADLINE)
        } else {
            normal_ctx()
        };
        let result = fetch_first(harness, &query, ctx).await;
        faults.clear();
        match result {
            Err(e) if (case.accepts)(&e) => {}
            Err(e) => panic!(
                "conformance [{kind}] fault {}: expected {}, got {e:?} (\"{e}\")",
                case.name, case.expected
            ),
            Ok(batch) => panic!(
                "conformance [{kind}] fault {}: expected {}, got Ok with {} records and next {:?}",
                case.name,
                case.expected,
                batch.records.len(),
                batch.frontier
            ),
        }
    }
    if let Err(e) = fetch_first(harness, &query, normal_ctx()).await {
        panic!("conformance [{kind}] faults: the fetch after the faults were cleared failed: {e} ({e:?})");
    }
}

async fn fetch_first(
    harness: &dyn Harness,
    query: &SourceQuery,
    ctx: CallContext,
) -> Result<Batch, SourceError> {
    let adapter = harness.adapter();
    let position = Position::start();
    let request = FetchRequest {
        query,
        position: &position,
        want: 50,
        budget: LARGE_BUDGET,
        ctx: &ctx,
    };
    let guarded = AssertUnwindSafe(adapter.fetch(request)).catch_unwind();
    match tokio::time::timeout(CASE_GUARD, guarded).await {
        Ok(Ok(result)) => result,
        Ok(Err(cause)) => panic!(
            "conformance [{}] faults: the adapter panicked: {}",
            adapter.kind(),
            panic_text(&cause)
        ),
        Err(_) => panic!(
            "conformance [{}] faults: a fetch did not return within {CASE_GUARD:?} \
             although its deadline was much earlier",
            adapter.kind()
        ),
    }
}
