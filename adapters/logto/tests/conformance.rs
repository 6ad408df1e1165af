//! The shared conformance suite against the simulator, once per server
//! generation: up to v1.39 (ignores `start_time`/`end_time`), v1.40–v1.41
//! (exclusive bounds) and v1.42+ (inclusive bounds).

mod common;

use async_trait::async_trait;
use common::*;
use loggate_core::sim::SimSpec;
use loggate_core::testkit::{run_conformance, DataSet, Harness, HarnessFactory, SimHarness};
use loggate_logto::sim::Generation;
use loggate_logto::TimeFilter;

struct Factory {
    generation: Generation,
}

#[async_trait]
impl HarnessFactory for Factory {
    async fn start(&self, data: DataSet) -> Box<dyn Harness> {
        let base =
            config(data.records, data.distinct_timestamps, true).with_generation(self.generation);
        let config = loggate_logto::sim::SimConfig {
            spec: SimSpec {
                seed: data.seed,
                ..base.spec
            },
            ..base
        };
        let env = start(config, Creds::Static, TimeFilter::Auto).await;
        SimHarness {
            sim: env.sim,
            adapter: env.adapter,
            served: env.served,
        }
        .boxed()
    }
}

#[tokio::test]
async fn conformance_on_v1_42_inclusive_time_bounds() {
    run_conformance(&Factory {
        generation: Generation::Inclusive,
    })
    .await;
}

#[tokio::test]
async fn conformance_on_v1_40_exclusive_time_bounds() {
    run_conformance(&Factory {
        generation: Generation::Exclusive,
    })
    .await;
}

#[tokio::test]
async fn conformance_on_v1_39_that_ignores_the_time_filter() {
    run_conformance(&Factory {
        generation: Generation::IgnoresTime,
    })
    .await;
}

/// `Total-Number` counts exactly on both generations that honour the time
/// bounds, after learning how each reads them; the one that ignores them
/// counts nothing by totals (spec §7).
#[tokio::test]
async fn logto_counts_by_its_totals_where_the_server_honours_time_bounds() {
    let data = DataSet {
        seed: 19,
        records: 200,
        distinct_timestamps: 40,
    };
    for (generation, counts) in [
        (Generation::Inclusive, true),
        (Generation::Exclusive, true),
        (Generation::IgnoresTime, false),
    ] {
        let harness = Factory { generation }.start(data).await;
        let by_total = loggate_core::testkit::assert_counts(&*harness).await;
        assert_eq!(
            by_total >= 5,
            counts,
            "{generation:?}: {by_total} cases counted by totals"
        );
    }
}
