//! The shared conformance suite against the simulator, once per server
//! generation (honouring or ignoring `start_time`/`end_time`).

mod common;

use std::sync::Arc;

use async_trait::async_trait;
use common::*;
use loggate_core::sim::{Faults, Served};
use loggate_core::testkit::{run_conformance, DataSet, Harness, HarnessFactory};
use loggate_core::{Adapter, LogRecord, TimeFilter};
use loggate_logto::sim::LogtoSim;
use loggate_logto::LogtoAdapter;

struct LogtoHarness {
    sim: LogtoSim,
    adapter: Arc<LogtoAdapter>,
    _served: Served,
}

#[async_trait]
impl Harness for LogtoHarness {
    fn adapter(&self) -> Arc<dyn Adapter> {
        self.adapter.clone()
    }

    async fn snapshot(&self) -> Vec<LogRecord> {
        self.sim.snapshot()
    }

    async fn insert_new(&self, n: usize) {
        self.sim.insert_new(n);
    }

    fn faults(&self) -> &Faults {
        self.sim.faults()
    }
}

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
        Box::new(LogtoHarness {
            sim: env.sim,
            adapter: env.adapter,
            _served: env.served,
        })
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
