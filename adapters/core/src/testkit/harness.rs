//! The one [`Harness`] every provider crate needs: a [`Simulator`] served
//! on loopback with an adapter pointed at it, and the settings such an
//! adapter is built with in tests.

use std::sync::Arc;

use async_trait::async_trait;
use secrecy::SecretString;

use super::Harness;
use crate::adapter::Adapter;
use crate::http::{UpstreamClient, UpstreamPolicy};
use crate::record::LogRecord;
use crate::settings::SourceSettings;
use crate::sim::{serve_loopback, Faults, Served, Simulator};

/// A simulator on loopback and the adapter under test.
pub struct SimHarness<S> {
    pub sim: S,
    pub adapter: Arc<dyn Adapter>,
    pub served: Served,
}

impl<S: Simulator> SimHarness<S> {
    /// Serves `sim` on a free loopback port and builds the adapter from
    /// its base URL.
    pub async fn start(sim: S, build: impl FnOnce(&str) -> Arc<dyn Adapter>) -> Self {
        let served = serve_loopback(sim.router())
            .await
            .expect("simulator binds a loopback port");
        let adapter = build(&served.base_url());
        SimHarness {
            sim,
            adapter,
            served,
        }
    }

    pub fn boxed(self) -> Box<dyn Harness> {
        Box::new(self)
    }
}

#[async_trait]
impl<S: Simulator> Harness for SimHarness<S> {
    fn adapter(&self) -> Arc<dyn Adapter> {
        self.adapter.clone()
    }

    async fn snapshot(&self) -> Vec<LogRecord> {
        self.sim.snapshot()
    }

    async fn insert_new(&self, n: usize) {
        self.sim.insert_new(n);
    }

    async fn insert_copies(&self, n: usize, at_ms: i64) -> bool {
        self.sim.insert_copies(n, at_ms);
        true
    }

    fn faults(&self) -> &Faults {
        self.sim.faults()
    }
}

/// Settings of a source named `test` at `base_url`, as the suite needs
/// them: no retries (faults are observed directly), the default body cap,
/// the token scrubbed from error messages.
pub fn test_settings(base_url: &str, token: Option<&str>) -> SourceSettings {
    let token = token.map(|t| SecretString::from(t.to_string()));
    SourceSettings {
        name: "test".into(),
        base_url: base_url.parse().expect("a simulator URL"),
        token: token.clone(),
        client: UpstreamClient::new(UpstreamPolicy {
            retries: 0,
            ..UpstreamPolicy::default()
        })
        .with_secrets(token.into_iter().collect()),
    }
}
