//! The suite run on the fake provider of [`super::fake`]: the correct
//! adapter passes, and each deliberately broken one fails with the message
//! of the check meant to catch it.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;

use super::cases::filter_cases;
use super::fake::{decode, FakeAdapter, Flaw, Sim};
use super::{pinned_query, reference, run_conformance, DataSet, Harness, HarnessFactory};
use crate::adapter::{Adapter, Capabilities};
use crate::http::{UpstreamClient, UpstreamPolicy};
use crate::query::Order;
use crate::record::LogRecord;
use crate::sim::{serve_loopback, Faults, SeededRng, Served};
use crate::time::now_ms;

struct FakeHarness {
    sim: Sim,
    _served: Served,
    adapter: Arc<FakeAdapter>,
}

#[async_trait]
impl Harness for FakeHarness {
    fn adapter(&self) -> Arc<dyn Adapter> {
        self.adapter.clone()
    }

    async fn snapshot(&self) -> Vec<LogRecord> {
        let records = self.sim.records.lock().unwrap();
        records.iter().filter_map(|r| decode(r, false)).collect()
    }

    async fn insert_new(&self, n: usize) {
        self.sim.generate(n, &[now_ms() + 1]);
    }

    async fn insert_copies(&self, n: usize, at_ms: i64) -> bool {
        self.sim.copies(n, at_ms);
        true
    }

    fn faults(&self) -> &Faults {
        &self.sim.faults
    }
}

struct FakeFactory(Flaw);

#[async_trait]
impl HarnessFactory for FakeFactory {
    async fn start(&self, data: DataSet) -> Box<dyn Harness> {
        let sim = Sim {
            rng: Arc::new(Mutex::new(Some(SeededRng::new(data.seed)))),
            ..Sim::default()
        };
        let now = now_ms();
        let stamps: Vec<i64> = (0..data.distinct_timestamps.max(1) as i64)
            .map(|i| now - 3_600_000 + i * 997)
            .collect();
        sim.generate(data.records, &stamps);
        let served = serve_loopback(sim.router())
            .await
            .expect("serve the fake simulator");
        let policy = UpstreamPolicy {
            retries: 0,
            timeout: Duration::from_secs(5),
            ..UpstreamPolicy::default()
        };
        let adapter = Arc::new(FakeAdapter {
            base: served.base_url(),
            client: UpstreamClient::new(policy),
            caps: Capabilities::new(&["start", "end", "level"]),
            flaw: self.0,
        });
        Box::new(FakeHarness {
            sim,
            _served: served,
            adapter,
        })
    }
}

#[tokio::test]
async fn a_correct_adapter_passes_the_whole_suite() {
    run_conformance(&FakeFactory(Flaw::None)).await;
}

#[tokio::test]
#[should_panic(expected = "matching record(s) never returned")]
async fn splitting_a_tie_group_at_a_page_boundary_is_caught() {
    run_conformance(&FakeFactory(Flaw::SplitsTies)).await;
}

#[tokio::test]
#[should_panic(expected = "identical records at one timestamp")]
async fn losing_part_of_a_group_of_identical_records_is_caught() {
    run_conformance(&FakeFactory(Flaw::OnePagePerGroup)).await;
}

#[tokio::test]
#[should_panic(expected = "pushed reports \"q\", which is not in capabilities().pushdown")]
async fn claiming_an_unpushed_filter_is_caught() {
    run_conformance(&FakeFactory(Flaw::ClaimsSearch)).await;
}

#[tokio::test]
#[should_panic(expected = "fault 503 with Retry-After: 2: expected Upstream")]
async fn misreading_a_503_is_caught() {
    run_conformance(&FakeFactory(Flaw::Misreads503)).await;
}

#[tokio::test]
#[should_panic(expected = "which does not match the filters")]
async fn trusting_pushdown_is_caught() {
    run_conformance(&FakeFactory(Flaw::TrustsPushdown)).await;
}

#[tokio::test]
#[should_panic(expected = "carries raw although include_raw is off")]
async fn raw_without_include_raw_is_caught() {
    run_conformance(&FakeFactory(Flaw::RawAlways)).await;
}

#[tokio::test]
#[should_panic(expected = "returned nothing and did not move the position")]
async fn a_stuck_traversal_is_caught() {
    run_conformance(&FakeFactory(Flaw::Stalls)).await;
}

#[tokio::test]
#[should_panic(expected = "rewinding like the engine")]
async fn mishandling_an_engine_rewind_is_caught() {
    run_conformance(&FakeFactory(Flaw::IgnoresAfterKey)).await;
}

/// The cases must exercise what they claim: every filter kind and every
/// attribute of the data, each "present" case matching some records.
#[tokio::test]
async fn filter_cases_cover_every_filter_and_present_ones_match() {
    let harness = FakeFactory(Flaw::None)
        .start(super::ConformanceOptions::default().traversal)
        .await;
    let snapshot: Vec<LogRecord> = harness.snapshot().await;
    let cases = filter_cases(&snapshot);
    let names: Vec<&str> = cases.iter().map(|c| c.name.as_str()).collect();
    for wanted in [
        "start",
        "end",
        "start=end",
        "level TRACE",
        "level INFO",
        "level two most common",
        "min_level WARN",
        "q",
        "q absent",
        "service",
        "user_id",
        "attr.region",
        "attr.score",
        "attr.retry",
        "attr.retry absent",
        "level+q",
        "service+min_level",
        "start=end+user_id+level",
        "attr+level",
    ] {
        assert!(names.contains(&wanted), "no case {wanted:?} in {names:?}");
    }
    for case in &cases {
        let query = pinned_query(case.filters.clone(), Order::Desc);
        let matched = reference(&snapshot, &query).len();
        if case.present {
            assert!(matched > 0, "present case {} matches nothing", case.name);
            let everything = case.name == "min_level DEBUG";
            assert!(
                everything || matched < snapshot.len(),
                "case {} filters nothing",
                case.name
            );
        }
    }
}
