//! The shared conformance suite against the simulator, once per server
//! generation: up to v1.39 (ignores `start_time`/`end_time`), v1.40–v1.41
//! (exclusive bounds) and v1.42+ (inclusive bounds).

mod common;

use async_trait::async_trait;
use common::*;
use loggate_core::testkit::{run_conformance, DataSet, Harness, HarnessFactory, SimHarness};
use loggate_logto::sim::Generation;
use loggate_logto::TimeFilter;

struct Factory {
    generation: Generation,
}

#[async_trait]
impl HarnessFactory for Factory {
    async fn start(&self, data: DataSet) -> Box<dyn Harness> {
        let config = loggate_logto::sim::SimConfig {
            seed: data.seed,
            records: data.records,
            distinct_timestamps: Some(data.distinct_timestamps),
            ..config(data.records, data.distinct_timestamps, true).with_generation(self.generation)
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
