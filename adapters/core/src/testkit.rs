//! The conformance suite every adapter runs against its own simulator.
//!
//! A provider crate implements [`Harness`] and [`HarnessFactory`] for its
//! simulator in its tests and calls [`run_conformance`]; it then gets, for
//! free: exactly-once traversal in both orders under heavy timestamp ties
//! and inserts between fetches, every unified filter checked against the
//! reference matcher over the simulator's raw data, honest `pushed`
//! reporting, and each upstream failure mapped to the right typed error.
//!
//! The reference is the simulator's data normalised by the adapter crate's
//! own mapping (`Harness::snapshot`); the mapping itself is pinned by the
//! crate's example-based tests.

use std::sync::Arc;

use async_trait::async_trait;

use crate::adapter::Adapter;
use crate::record::LogRecord;
use crate::sim::Faults;

/// The shape of a generated data set.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DataSet {
    pub seed: u64,
    /// How many records the simulator starts with.
    pub records: usize,
    /// How many distinct timestamps they share (fewer = more ties).
    pub distinct_timestamps: usize,
}

/// One running simulator with an adapter pointed at it.
#[async_trait]
pub trait Harness: Send + Sync {
    /// The adapter under test, configured for this simulator (retries 0,
    /// so fault mapping is observed directly).
    fn adapter(&self) -> Arc<dyn Adapter>;
    /// Every record the simulator holds now, normalised with the adapter
    /// crate's mapping and with `raw` set to `None`.
    async fn snapshot(&self) -> Vec<LogRecord>;
    /// Writes `n` new records upstream, stamped strictly later than any
    /// `now` observed before the call (e.g. `now + 1 ms`).
    async fn insert_new(&self, n: usize);
    /// The simulator's fault switches.
    fn faults(&self) -> &Faults;
}

/// Starts simulators for the suite.
#[async_trait]
pub trait HarnessFactory: Send + Sync {
    async fn start(&self, data: DataSet) -> Box<dyn Harness>;
}

/// Runs the whole suite; panics with a precise message on the first
/// violation.
pub async fn run_conformance(factory: &dyn HarnessFactory) {
    let _ = factory;
    unimplemented!("filled in by the testkit work")
}
