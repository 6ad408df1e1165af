//! The shared conformance suite against the simulator, once per server
//! generation (honouring or ignoring `start_time`/`end_time`).

mod common;

use async_trait::async_trait;
use common::*;
use loggate_core::testkit::{run_conformance, DataSet, Harness, HarnessFactory, SimHarness};
use loggate_logto::TimeFilter;

struct Factory {
    honours_time_filter: bool,
}

#[async_trait]
impl HarnessFactory for Factory {
    async fn start(&self, data: DataSet) -> Box<dyn Harness> {
        let config = loggate_logto::sim::SimConfig {
            seed: data.seed,
            records: data.records,
            distinct_timestamps: Some(data.distinct_timestamps),
            ..config(
                data.records,
                data.distinct_timestamps,
                self.honours_time_filter,
            )
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
async fn conformance_on_a_server_that_honours_the_time_filter() {
    run_conformance(&Factory {
        honours_time_filter: true,
    })
    .await;
}

#[tokio::test]
async fn conformance_on_a_server_that_ignores_the_time_filter() {
    run_conformance(&Factory {
        honours_time_filter: false,
    })
    .await;
}
