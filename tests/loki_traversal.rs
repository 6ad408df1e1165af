//! Done-when of issue 14: a traversal through `query_range` paged as
//! Grafana pages it (consecutive `[start, end)` day chunks, newest first,
//! `limit` 1000, each next request ending at the oldest timestamp seen)
//! over the demo's sources (all four providers) returns every record of
//! the equivalent `/logs` traversal exactly once, records sharing a
//! millisecond included; and likewise forward, moving `start` past the
//! newest timestamp seen.

mod common;

use std::collections::{HashMap, HashSet};

use common::Gateway;
use loggate::demo::DemoSims;
use loggate::registry::Registry;
use loggate_core::time::{format_ms, now_ms};
use serde_json::Value;

const DAY_NS: i128 = 86_400_000_000_000;
const MS: i128 = 1_000_000;

/// `(ns, id)` of every entry of a `query_range` answer; each stream's
/// values must come newest first (`backward`) or oldest first.
fn entries(body: &Value, forward: bool) -> Vec<(i128, String)> {
    assert_eq!(body["status"], "success", "{body}");
    assert_eq!(body["data"]["resultType"], "streams");
    let mut out = Vec::new();
    for stream in body["data"]["result"].as_array().expect("result") {
        let first = out.len();
        for value in stream["values"].as_array().expect("values") {
            let ns: i128 = value[0].as_str().expect("ns string").parse().unwrap();
            let id = value[2]["structuredMetadata"]["id"]
                .as_str()
                .expect("id in structured metadata")
                .to_string();
            out.push((ns, id));
        }
        let ordered = out[first..].windows(2).all(|w| {
            if forward {
                w[0].0 < w[1].0
            } else {
                w[0].0 > w[1].0
            }
        });
        assert!(ordered, "stream values out of order: {stream}");
    }
    out
}

async fn query_range(g: &Gateway, query: &str, start: i128, end: i128, forward: bool) -> Value {
    let url = format!(
        "{}?query={}&start={start}&end={end}&limit=1000&step=60000ms&direction={}",
        g.url("/loki/api/v1/query_range"),
        urlencode(query),
        if forward { "forward" } else { "backward" },
    );
    let response = g
        .client
        .get(url)
        .header("X-Loki-Response-Encoding-Flags", "categorize-labels")
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    let text = response.text().await.unwrap();
    assert_eq!(status, 200, "{text}");
    serde_json::from_str(&text).unwrap()
}

fn urlencode(text: &str) -> String {
    url::form_urlencoded::byte_serialize(text.as_bytes()).collect()
}

/// Grafana's backward paging: day chunks newest first; within a chunk,
/// while a page comes back full, the next ends at its oldest timestamp.
async fn backward_ids(g: &Gateway, query: &str, start: i128, end: i128) -> Vec<String> {
    backward_paged(g, query, start, end).await.0
}

/// [`backward_ids`], also counting the page boundaries that fell inside a
/// millisecond (the next page's newest entry shares the previous page's
/// oldest millisecond).
async fn backward_paged(g: &Gateway, query: &str, start: i128, end: i128) -> (Vec<String>, usize) {
    let mut split_ms = 0;
    let mut previous_oldest: Option<i128> = None;
    let mut ids = Vec::new();
    let mut chunk_end = end;
    while chunk_end > start {
        let chunk_start = (chunk_end - DAY_NS).max(start);
        let mut page_end = chunk_end;
        loop {
            let page = entries(
                &query_range(g, query, chunk_start, page_end, false).await,
                false,
            );
            let oldest = page.iter().map(|(ns, _)| *ns).min();
            let newest = page.iter().map(|(ns, _)| *ns).max();
            if let (Some(before), Some(newest)) = (previous_oldest, newest) {
                if before / MS == newest / MS {
                    split_ms += 1;
                }
            }
            previous_oldest = oldest.filter(|_| page.len() >= 1000);
            for (ns, id) in &page {
                assert!(
                    (chunk_start..page_end).contains(ns),
                    "{id} at {ns} outside [{chunk_start}, {page_end})"
                );
                ids.push(id.clone());
            }
            match oldest {
                Some(oldest) if page.len() >= 1000 => page_end = oldest,
                _ => break,
            }
        }
        chunk_end = chunk_start;
        previous_oldest = None;
    }
    (ids, split_ms)
}

/// Forward paging: while a page comes back full, the next starts 1 ns
/// after its newest timestamp.
async fn forward_ids(g: &Gateway, query: &str, start: i128, end: i128) -> Vec<String> {
    let mut ids = Vec::new();
    let mut page_start = start;
    loop {
        let page = entries(&query_range(g, query, page_start, end, true).await, true);
        let newest = page.iter().map(|(ns, _)| *ns).max();
        ids.extend(page.iter().map(|(_, id)| id.clone()));
        match newest {
            Some(newest) if page.len() >= 1000 => page_start = newest + 1,
            _ => return ids,
        }
    }
}

fn assert_exactly_once(got: &[String], expected: &[String], what: &str) {
    let mut seen = HashSet::new();
    let duplicates: Vec<&String> = got.iter().filter(|id| !seen.insert(*id)).collect();
    assert!(
        duplicates.is_empty(),
        "{what}: duplicates {:?}",
        &duplicates[..duplicates.len().min(5)]
    );
    let want: HashSet<&String> = expected.iter().collect();
    let missing: Vec<&&String> = want
        .iter()
        .filter(|id| !seen.contains(**id))
        .take(5)
        .collect();
    let extra: Vec<&String> = got.iter().filter(|id| !want.contains(id)).take(5).collect();
    assert!(
        missing.is_empty() && extra.is_empty() && got.len() == expected.len(),
        "{what}: got {}, expected {}; missing {missing:?}; extra {extra:?}",
        got.len(),
        expected.len()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn grafana_chunked_traversal_returns_every_record_once() {
    let now = now_ms();
    let sims = DemoSims::start(&Registry::builtin(), now).await.unwrap();
    let g = Gateway::start(&sims.config_toml("127.0.0.1:0".parse().unwrap())).await;

    // Eight days back to a bound past the newest record, in whole ms.
    let (start_ms, end_ms) = (now - 8 * 86_400_000, now + 1_000);
    let (start, end) = (i128::from(start_ms) * MS, i128::from(end_ms) * MS);
    let reference = g
        .traverse(
            &format!(
                "start={}&end={}",
                format_ms(start_ms),
                format_ms(end_ms - 1)
            ),
            1000,
            |_| {},
        )
        .await;
    assert!(
        reference.len() > 8_000,
        "demo too small: {}",
        reference.len()
    );

    let query = "{source=~\".+\"}";
    let (backward, split_ms) = backward_paged(&g, query, start, end).await;
    assert_exactly_once(&backward, &reference, "backward");
    // Pages ended inside a millisecond shared by several records, and the
    // next page (ending at that nanosecond) still lost none of them.
    assert!(split_ms > 0, "no page boundary fell inside a millisecond");
    let forward = forward_ids(&g, query, start, end).await;
    assert_exactly_once(&forward, &reference, "forward");

    // Every provider is in it, and records share milliseconds.
    let (_, body) = g.get("/sources").await;
    let kinds: HashSet<&str> = body["sources"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["kind"].as_str().unwrap())
        .collect();
    assert_eq!(kinds.len(), 4, "{kinds:?}");
    let (_, page) = g
        .get(&format!("/logs?limit=1000&start={}", format_ms(start_ms)))
        .await;
    let mut per_ms: HashMap<&str, usize> = HashMap::new();
    for log in page["logs"].as_array().unwrap() {
        *per_ms
            .entry(log["timestamp"].as_str().unwrap())
            .or_default() += 1;
    }
    assert!(per_ms.values().any(|&n| n > 1), "no shared millisecond");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn filtered_traversal_matches_logs_with_the_same_filters() {
    let now = now_ms();
    let sims = DemoSims::start(&Registry::builtin(), now).await.unwrap();
    let g = Gateway::start(&sims.config_toml("127.0.0.1:0".parse().unwrap())).await;
    let (start_ms, end_ms) = (now - 8 * 86_400_000, now + 1_000);
    let (start, end) = (i128::from(start_ms) * MS, i128::from(end_ms) * MS);
    let window = format!(
        "start={}&end={}",
        format_ms(start_ms),
        format_ms(end_ms - 1)
    );
    let reference = g
        .traverse(
            &format!("{window}&source=app,billing&level=ERROR,WARN"),
            1000,
            |_| {},
        )
        .await;
    assert!(!reference.is_empty());
    // `app` and `billing` are the demo's sources of the stand-in provider.
    let selector = format!(
        "{{provider=\"{}\", level=~\"warn|error\"}}",
        common::stand_in_kind()
    );
    let got = backward_ids(&g, &selector, start, end).await;
    assert_exactly_once(&got, &reference, "stand-in provider warn|error");
}
