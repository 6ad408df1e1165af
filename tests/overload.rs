//! Black-box (issue 18): client load alone never opens the circuit of a
//! healthy upstream. Behind a saturated outbound rate limit, pages that
//! cannot get a slot within the source's `max_queue_wait` (or before their
//! deadline) are declined at once with `503 overloaded` and `Retry-After`
//! (no upstream request sent, nothing counted against the upstream); the
//! others are served. Nothing here depends on how long anything takes: the
//! limiter books slots, so which requests are declined follows from the
//! schedule, and the breaker is so sensitive (one failure opens it) that
//! any miscounted decline would show.

mod common;

use common::Gateway;
use futures::future::join_all;
use serde_json::Value;

const CONCURRENT: usize = 30;

/// What a burst of pages did: pages served and declined, and upstream
/// requests the simulator saw.
struct Outcome {
    served: usize,
    declined: usize,
    sent: usize,
    /// The longest `Retry-After` of a declined page, in seconds.
    longest_retry_after: u64,
}

/// The deadline and queue bound of the first two tests: the deadline
/// (3 s) is what declines, the bound (the default 1 s) hardly matters.
const SHORT_DEADLINE: &str = "3s";

#[tokio::test]
async fn a_saturated_rate_limit_answers_503_and_never_opens_the_breaker() {
    // 40 logs: one upstream request per page.
    let outcome = burst_of_pages(40, 5, SHORT_DEADLINE, "").await;
    assert!(outcome.served >= 1, "the burst is always served");
    assert!(
        outcome.declined >= 1,
        "{CONCURRENT} pages cannot fit in a 3 s deadline"
    );
    // A declined page sent nothing upstream: one request per served page.
    assert_eq!(outcome.sent, outcome.served);
}

/// The case of issue 18: a page that needs several upstream requests sends
/// some, then finds no slot for the next before its deadline. Loggate's own
/// queue declined it, so it is `503 overloaded` and the upstream, which
/// answered every request it got, is not blamed.
#[tokio::test]
async fn a_page_declined_after_some_requests_does_not_blame_the_upstream() {
    // 250 logs at 100 an upstream page: three requests per page, and only
    // about four slots before the deadline.
    let outcome = burst_of_pages(250, 250, SHORT_DEADLINE, "").await;
    assert!(outcome.declined >= 1);
    assert!(outcome.sent >= 1);
}

/// Issue 18, item 7: loggate's own queue answers fast. With a deadline a
/// minute away every one of the pages would get a slot (one a second) if
/// requests queued until their deadline; bounded by `max_queue_wait`, the
/// queue holds about one second of requests and declines the rest at once,
/// so their `Retry-After` is that second plus one slot, not the deadline.
#[tokio::test]
async fn a_saturated_source_is_declined_by_its_queue_bound_not_the_deadline() {
    let outcome = burst_of_pages(40, 5, "60s", "max_queue_wait = \"1s\"\n").await;
    assert!(outcome.served >= 1, "the burst is always served");
    assert!(
        outcome.declined >= 1,
        "{CONCURRENT} pages at once cannot all get a slot within one second"
    );
    // The queue never books more than a second ahead, so a declined page
    // waits at most that plus one slot (1 s) before a retry can be served.
    assert!(
        outcome.longest_retry_after <= 2,
        "Retry-After {}s: declined by the deadline, not the bound",
        outcome.longest_retry_after
    );
    // A declined page sent nothing upstream: one request per served page.
    assert_eq!(outcome.sent, outcome.served);
}

/// `CONCURRENT` pages of `limit` at once over `records` logs behind one
/// request a second (burst two), with `request_timeout` and the source's
/// `extra` keys. Asserts what must hold in every case: only `200` or
/// `503 overloaded` with `Retry-After`, the breaker (opened by a single
/// counted failure) still closed, and every declined fetch counted as
/// `overloaded`.
async fn burst_of_pages(
    records: usize,
    limit: usize,
    request_timeout: &str,
    extra: &str,
) -> Outcome {
    let (sim, _served, table) = common::stand_in_sim(records, 0x01e7_e1ed).await;
    // One request a second after a burst of two: with a 3 s deadline at
    // most about five pages can be sent; the rest must be declined up front.
    let toml = format!(
        "[server]\nrequest_timeout = \"{request_timeout}\"\n\
         [sources.app]\n{table}retries = 0\n\
         max_concurrency = 64\nrate_limit = {{ per_second = 1, burst = 2 }}\n\
         circuit_breaker = {{ failures = 1, cool_down = \"1h\" }}\n{extra}",
    );
    let gateway = Gateway::start(&toml).await;

    let pages = (0..CONCURRENT).map(|_| {
        gateway
            .client
            .get(gateway.url(&format!("/logs?source=app&limit={limit}")))
            .send()
    });
    let (mut served_pages, mut declined, mut longest_retry_after) = (0, 0, 0);
    for response in join_all(pages).await {
        let response = response.expect("the gateway answers");
        let status = response.status().as_u16();
        let retry_after = response.headers().get("retry-after").map(|v| {
            v.to_str()
                .unwrap()
                .parse::<u64>()
                .expect("Retry-After in seconds")
        });
        let body: Value = serde_json::from_slice(&response.bytes().await.unwrap()).unwrap();
        match status {
            200 => {
                assert_eq!(body["sources"]["app"]["status"], "ok", "{body}");
                served_pages += 1;
            }
            503 => {
                assert_eq!(body["error"]["code"], "overloaded", "{body}");
                let message = body["error"]["message"].as_str().unwrap();
                assert!(message.contains("rate limit"), "{message}");
                assert!(retry_after.is_some_and(|s| s >= 1), "{body}");
                longest_retry_after = longest_retry_after.max(retry_after.unwrap_or(0));
                declined += 1;
            }
            other => panic!("only 200 or 503 may answer, got {other}: {body}"),
        }
    }
    let (status, sources) = gateway.get("/sources").await;
    assert_eq!(status, 200, "{sources}");
    assert_eq!(sources["sources"][0]["circuit"], "closed", "{sources}");
    let metrics = gateway.text("/metrics").await;
    assert!(
        metrics.contains("loggate_circuit_breaker_state{source=\"app\"} 0"),
        "{metrics}"
    );
    assert!(
        metrics.contains(&format!(
            "loggate_upstream_fetches_total{{source=\"app\",outcome=\"overloaded\"}} {declined}"
        )),
        "{metrics}"
    );
    assert!(
        !metrics.contains("outcome=\"error\""),
        "no upstream request failed: {metrics}"
    );
    Outcome {
        served: served_pages,
        declined,
        sent: sim.faults().seen_count(),
        longest_retry_after,
    }
}

/// The case the fuzzer found (CI, `GET /logs?user_id=…&partial=false` on
/// the demo): a burst of pages whose filter the upstream cannot apply, so
/// each page reads many upstream pages, behind a rate limit that cannot
/// send them all before the deadline. The pages' time runs out waiting in
/// loggate's own queues: for a slot, or for an identical request in flight
/// that waits for one (joined, not sent again), or in an earlier round's
/// fetch before this source's began. That is `503 overloaded`, never
/// `504 upstream_timeout` (the upstream answers at once), and the breaker,
/// opened by one counted failure, stays closed. The upstream answers every
/// request within milliseconds, so however slow the machine, the pages
/// spend most of their time queued.
#[tokio::test]
async fn pages_that_run_out_of_time_in_loggates_queues_are_overloaded_not_timed_out() {
    // 3,000 records at 100 an upstream page, none of them matching: 30
    // upstream requests per page at 10 a second, and a 2 s deadline.
    let (sim, _served, table) = common::stand_in_sim(3_000, 0x01e7_e1ed).await;
    let toml = format!(
        "[server]\nrequest_timeout = \"2s\"\n\
         [sources.app]\n{table}retries = 0\n\
         max_concurrency = 64\nrate_limit = {{ per_second = 10, burst = 5 }}\n\
         max_queue_wait = \"1s\"\n\
         circuit_breaker = {{ failures = 1, cool_down = \"1h\" }}\n",
    );
    let gateway = Gateway::start(&toml).await;
    // Identical pages (joined in flight) and pages of other sizes (their
    // own requests, competing for the same slots).
    let pages = (0..CONCURRENT).map(|i| {
        let url = format!(
            "/logs?source=app&user_id=no-such-user&partial=false&limit={}",
            20 + i % 3
        );
        gateway.client.get(gateway.url(&url)).send()
    });
    let mut declined = 0;
    for response in join_all(pages).await {
        let response = response.expect("the gateway answers");
        let status = response.status().as_u16();
        let has_retry_after = response.headers().contains_key("retry-after");
        let body: Value = serde_json::from_slice(&response.bytes().await.unwrap()).unwrap();
        match status {
            200 => {}
            503 => {
                assert_eq!(body["error"]["code"], "overloaded", "{body}");
                assert!(has_retry_after, "{body}");
                declined += 1;
            }
            other => panic!("only 200 or 503 may answer, got {other}: {body}"),
        }
    }
    assert!(declined >= 1, "30 upstream requests cannot fit in 2 s");
    let (_, sources) = gateway.get("/sources").await;
    assert_eq!(sources["sources"][0]["circuit"], "closed", "{sources}");
    assert!(sim.faults().seen_count() >= 1);
}
