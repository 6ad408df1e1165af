//! `follow.late_window` (spec §8, issue 17 item 5): while a follower polls,
//! the simulators insert new records and records stamped in the past —
//! within the late window (`1h`: up to 50 minutes back) and beyond it (two
//! days back). Every record within the window is delivered exactly once,
//! the records that were not late in order per source, each page in
//! order; none beyond the window is delivered by the follow; the cursor
//! stays within the query-string limit; a tampered cursor is `400`. Over
//! `/logs?follow=true` (a property test) and over `/logs/tail` (SSE, with
//! disconnects). `settle = "0s"`: the loops poll until a condition holds,
//! with a bound on the number of calls; the only clock margin is the
//! window's (an insert must be delivered within 10 minutes).

mod common;

use std::collections::{BTreeMap, BTreeSet, HashSet};

use base64::Engine as _;
use common::fleet::{start_sims, Kind, Spec};
use common::late::{expected, Inserted, MINUTE};
use common::sse::SseStream;
use common::{assert_same_ids, Gateway};
use proptest::prelude::*;
use rand::{Rng, SeedableRng};
use serde_json::Value;

const SERVER: &str = "scan_budget = 10000\ncursor_secret = \"late-test-secret-0123456789abcdef\"\n[follow]\nsettle = \"0s\"\nlate_window = \"1h\"\npoll_min = \"5ms\"\npoll_max = \"40ms\"\nheartbeat = \"1s\"";
/// The gateway's `MAX_QUERY_BYTES`: a cursor must fit a query string.
const MAX_QUERY_BYTES: usize = 8 * 1024;

/// `(id, source, timestamp)` of one delivered log.
fn entries(page: &Value) -> Vec<(String, String, String)> {
    page["logs"]
        .as_array()
        .expect("logs")
        .iter()
        .map(|l| {
            let s = |k: &str| l[k].as_str().expect(k).to_string();
            (s("id"), s("source"), s("timestamp"))
        })
        .collect()
}

/// Each page is in order per source (its timestamps never go back).
fn assert_page_in_order(page: &[(String, String, String)]) {
    let mut last: BTreeMap<&str, &str> = BTreeMap::new();
    for (id, source, ts) in page {
        if let Some(previous) = last.insert(source, ts) {
            assert!(previous <= ts.as_str(), "{id} at {ts} after {previous}");
        }
    }
}

/// Exactly once; the records that were not late in reference order per
/// source (a late record is older than what came before it, by nature).
fn assert_delivered(got: &[String], expected: &[String], late: &HashSet<String>, what: &str) {
    let mut seen = HashSet::new();
    for id in got {
        assert!(seen.insert(id), "{what}: {id} delivered twice");
    }
    let want: BTreeSet<&String> = expected.iter().collect();
    let have: BTreeSet<&String> = got.iter().collect();
    let missing: Vec<_> = want.difference(&have).collect();
    let extra: Vec<_> = have.difference(&want).collect();
    assert!(
        missing.is_empty() && extra.is_empty(),
        "{what}: missing {missing:?}, not expected {extra:?}"
    );
    let on_time = |ids: &[String]| -> Vec<String> {
        ids.iter()
            .filter(|id| !late.contains(*id))
            .cloned()
            .collect()
    };
    let sources: BTreeSet<&str> = expected
        .iter()
        .filter_map(|id| id.split(':').next())
        .collect();
    for source in sources {
        let of = |ids: Vec<String>| -> Vec<String> {
            ids.into_iter()
                .filter(|id| id.starts_with(&format!("{source}:")))
                .collect()
        };
        assert_same_ids(
            &of(on_time(got)),
            &of(on_time(expected)),
            &format!("{what}, {source} in order"),
        );
    }
}

/// One property case: which simulators, the page size, and per round and
/// source how many new, late (minutes back, within the window) and beyond
/// records to write.
#[derive(Debug, Clone)]
struct Case {
    kinds: Vec<usize>,
    limit: usize,
    rounds: Vec<Vec<(usize, Vec<i64>, usize)>>,
}

fn case() -> impl Strategy<Value = Case> {
    let n = Kind::all().len();
    (
        proptest::sample::subsequence((0..n).collect::<Vec<_>>(), 1..=3),
        1usize..40,
        2usize..5,
    )
        .prop_flat_map(|(kinds, limit, rounds)| {
            let per_source = (
                0usize..3,
                proptest::collection::vec(1i64..50, 0..4),
                0usize..3,
            );
            let round = proptest::collection::vec(per_source, kinds.len());
            (
                Just(kinds),
                Just(limit),
                proptest::collection::vec(round, rounds),
            )
        })
        .prop_map(|(kinds, limit, rounds)| Case {
            kinds,
            limit,
            rounds,
        })
}

/// Calls the follow cursor until it has caught up; returns the pages.
async fn catch_up(gateway: &Gateway, cursor: &mut String, limit: usize) -> Vec<Value> {
    let mut pages = Vec::new();
    for _ in 0..1000 {
        let path = format!("/logs?cursor={cursor}&limit={limit}");
        assert!(
            path.len() < MAX_QUERY_BYTES,
            "the cursor is {} characters",
            cursor.len()
        );
        let (status, page) = gateway.get(&path).await;
        assert_eq!(status, 200, "{page}");
        *cursor = page["next_cursor"]
            .as_str()
            .expect("a follow cursor")
            .to_string();
        let caught_up = page["caught_up"] == true;
        pages.push(page);
        if caught_up {
            return pages;
        }
    }
    panic!("the follow never caught up");
}

async fn check(case: Case) -> Result<(), TestCaseError> {
    let kinds = Kind::all();
    let specs: Vec<Spec> = case
        .kinds
        .iter()
        .enumerate()
        .map(|(i, k)| Spec::new(kinds[*k], 80 + i as u64, 30, 20))
        .collect();
    let names: Vec<String> = (0..specs.len()).map(|i| format!("s{i}")).collect();
    let (sims, _served, toml) =
        start_sims(&specs, &names, loggate_core::time::now_ms(), SERVER, "").await;
    let gateway = Gateway::start(&toml).await;
    let (status, first) = gateway
        .get(&format!("/logs?order=asc&follow=true&limit={}", case.limit))
        .await;
    assert_eq!(status, 200, "{first}");
    let mut cursor = first["next_cursor"].as_str().expect("cursor").to_string();
    let mut got: Vec<String> = entries(&first).into_iter().map(|e| e.0).collect();
    for page in catch_up(&gateway, &mut cursor, case.limit).await {
        got.extend(entries(&page).into_iter().map(|e| e.0));
    }
    let mut inserted = Inserted::default();
    for round in &case.rounds {
        for ((name, _, sim), (new, late, beyond)) in sims.iter().zip(round) {
            sim.insert_new(*new);
            for minutes in late {
                inserted.insert_past(name, sim, minutes * MINUTE, false);
            }
            for i in 0..*beyond {
                inserted.insert_past(name, sim, 2 * 1440 * MINUTE + i as i64, true);
            }
        }
        let (want, _) = expected(&sims, &inserted);
        for _ in 0..400 {
            for page in catch_up(&gateway, &mut cursor, case.limit).await {
                let page = entries(&page);
                assert_page_in_order(&page);
                got.extend(page.into_iter().map(|e| e.0));
            }
            if got.len() >= want.len() {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
    }
    // A few more polls: nothing comes twice.
    for _ in 0..3 {
        for page in catch_up(&gateway, &mut cursor, case.limit).await {
            got.extend(entries(&page).into_iter().map(|e| e.0));
        }
    }
    let (want, late) = expected(&sims, &inserted);
    assert_delivered(&got, &want, &late, &format!("{case:?}"));
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 12, max_shrink_iters: 50, ..ProptestConfig::default() })]

    #[test]
    fn follow_delivers_late_records_within_the_window_exactly_once(case in case()) {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .expect("runtime")
            .block_on(check(case))?;
    }
}

fn sse_logs(data: &str) -> Vec<(String, String, String)> {
    entries(&serde_json::from_str(data).expect("JSON page"))
}

#[tokio::test]
async fn sse_tail_delivers_late_records_once_across_disconnects() {
    let specs: Vec<Spec> = Kind::paged()[..3]
        .iter()
        .enumerate()
        .map(|(i, kind)| Spec::new(*kind, 90 + i as u64, 25, 10))
        .collect();
    late_once_across_disconnects(&specs, SERVER).await;
}

/// A paged source and a whole-log one read at different paces (5 ms and
/// 30 ms at least): the shared poller reads each at its own, so the
/// whole-log source is left out of most polls while the window moves on,
/// and its re-read when it is next read still drops what was delivered.
#[tokio::test]
async fn sse_tail_at_two_paces_delivers_late_records_once_across_disconnects() {
    let whole_log = Kind::each_provider()
        .into_iter()
        .find(|k| k.whole_log())
        .expect("a provider whose upstream sends its whole log");
    let specs = [
        Spec::new(Kind::stand_in(), 93, 25, 10),
        Spec::new(whole_log, 94, 25, 10),
    ];
    let server = format!("{SERVER}\nwhole_log_poll_min = \"30ms\"");
    late_once_across_disconnects(&specs, &server).await;
}

async fn late_once_across_disconnects(specs: &[Spec], server: &str) {
    let names: Vec<String> = (0..specs.len()).map(|i| format!("s{i}")).collect();
    let (sims, _served, toml) =
        start_sims(specs, &names, loggate_core::time::now_ms(), server, "").await;
    let gateway = Gateway::start(&toml).await;
    let mut rng = rand::rngs::StdRng::seed_from_u64(17);
    let mut inserted = Inserted::default();
    let mut got: Vec<String> = Vec::new();
    let mut last_id: Option<String> = None;
    let mut writes = 0;
    let url = gateway.url("/logs/tail?since=2000-01-01T00:00:00Z&limit=5");
    'outer: for connection in 0..1000 {
        let mut stream = SseStream::open(&gateway.client, &url, last_id.as_deref())
            .await
            .unwrap_or_else(|(s, b)| panic!("{s}: {b}"));
        let cut_after = rng.gen_range(0..6);
        for n in 0.. {
            let Some(event) = stream.next().await else {
                break;
            };
            if event.event == "logs" {
                let page = sse_logs(&event.data);
                assert_page_in_order(&page);
                got.extend(page.into_iter().map(|e| e.0));
            }
            let id = event.id.clone().expect("every event has an id");
            assert!(
                id.len() < MAX_QUERY_BYTES,
                "the cursor is {} characters",
                id.len()
            );
            last_id = Some(id);
            // Write while connected: new records, and late ones within and
            // beyond the window, into random sources.
            if writes < 40 {
                writes += 1;
                let i = rng.gen_range(0..sims.len());
                let (name, _, sim) = &sims[i];
                match rng.gen_range(0..4) {
                    0 => sim.insert_new(rng.gen_range(1..3)),
                    3 => inserted.insert_past(name, sim, 2 * 1440 * MINUTE, true),
                    _ => inserted.insert_past(name, sim, rng.gen_range(1..50) * MINUTE, false),
                }
            }
            let (want, _) = expected(&sims, &inserted);
            if writes >= 40 && got.len() >= want.len() {
                break 'outer;
            }
            if n >= cut_after && connection < 200 {
                break;
            }
        }
    }
    let (want, late) = expected(&sims, &inserted);
    assert!(
        !late.is_empty() && !inserted.beyond.is_empty(),
        "the writer wrote late records"
    );
    assert_delivered(&got, &want, &late, "sse");
}

#[tokio::test]
async fn a_full_set_shrinks_the_window_with_a_warning_and_never_repeats() {
    let specs = [Spec::new(Kind::stand_in(), 5, 10, 10)];
    let names = vec!["s0".to_string()];
    let server = format!("{SERVER}\nlate_ids = 4");
    let (sims, _served, toml) =
        start_sims(&specs, &names, loggate_core::time::now_ms(), &server, "").await;
    let gateway = Gateway::start(&toml).await;
    let (_, first) = gateway.get("/logs?order=asc&follow=true&limit=100").await;
    let mut cursor = first["next_cursor"].as_str().expect("cursor").to_string();
    let mut got: Vec<String> = entries(&first).into_iter().map(|e| e.0).collect();
    let mut warnings = Vec::new();
    let mut inserted = Inserted::default();
    for round in 0..3 {
        for m in 0..6 {
            inserted.insert_past("s0", &sims[0].2, (round * 6 + m + 1) * MINUTE, false);
        }
        for page in catch_up(&gateway, &mut cursor, 100).await {
            got.extend(entries(&page).into_iter().map(|e| e.0));
            warnings.extend(page["warnings"].as_array().cloned().unwrap_or_default());
        }
    }
    let mut seen = HashSet::new();
    assert!(
        got.iter().all(|id| seen.insert(id)),
        "nothing twice: {got:?}"
    );
    let shrunk = warnings
        .iter()
        .filter_map(Value::as_str)
        .find(|w| w.starts_with("s0: late_window: more than 4 records"));
    assert!(
        shrunk.is_some(),
        "a warning names the shrunk window: {warnings:?}"
    );
    let metrics = gateway.text("/metrics").await;
    let counted = metrics
        .lines()
        .find_map(|l| l.strip_prefix("loggate_follow_late_window_shrinks_total{source=\"s0\"} "))
        .and_then(|v| v.parse::<u64>().ok());
    assert!(
        counted.is_some_and(|n| n >= 1),
        "the shrink is counted: {counted:?}"
    );
}

#[tokio::test]
async fn a_tampered_follow_cursor_is_refused() {
    let specs = [Spec::new(Kind::stand_in(), 6, 10, 10)];
    let names = vec!["s0".to_string()];
    let (sims, _served, toml) =
        start_sims(&specs, &names, loggate_core::time::now_ms(), SERVER, "").await;
    let gateway = Gateway::start(&toml).await;
    sims[0].2.insert_new(2);
    let (_, first) = gateway.get("/logs?order=asc&follow=true&limit=100").await;
    let mut cursor = first["next_cursor"].as_str().expect("cursor").to_string();
    catch_up(&gateway, &mut cursor, 100).await;
    let engine = base64::engine::general_purpose::URL_SAFE_NO_PAD;
    let bytes = engine.decode(&cursor).expect("base64url");
    let text = String::from_utf8_lossy(&bytes[1..bytes.len() - 32]).to_string();
    let at = text
        .find("\"l\":")
        .expect("the cursor carries delivered ids")
        + 1;
    for offset in [at, at + 8, bytes.len() - 33] {
        let mut altered = bytes.clone();
        altered[offset + 1] ^= 0x02;
        let tampered = engine.encode(&altered);
        let (status, body) = gateway.get(&format!("/logs?cursor={tampered}")).await;
        assert_eq!(
            (status, body["error"]["code"].as_str()),
            (400, Some("invalid_cursor")),
            "{body}"
        );
        let url = gateway.url("/logs/tail");
        let refused = SseStream::open(&gateway.client, &url, Some(&tampered)).await;
        let (status, body) = refused.err().expect("refused before the stream");
        assert_eq!(
            (status, body["error"]["code"].as_str()),
            (400, Some("invalid_cursor")),
            "{body}"
        );
    }
}
