//! The trait every provider adapter implements.

use async_trait::async_trait;

use crate::error::SourceError;
use crate::http::CallContext;
use crate::lazy::LazyBatch;
use crate::position::Position;
use crate::query::{Filters, SourceQuery};
use crate::record::LogRecord;

/// What a provider evaluates natively, for `GET /sources` and for
/// reporting `pushed`/`residual`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Capabilities {
    /// Filter names (`start`, `level`, `attr.promptId`, ...) the provider
    /// can evaluate natively for some query.
    pub pushdown: Vec<String>,
}

impl Capabilities {
    pub fn new(pushdown: &[&str]) -> Self {
        Capabilities {
            pushdown: pushdown.iter().map(|s| s.to_string()).collect(),
        }
    }
}

/// One fetch: continue `query` from `position`.
#[derive(Debug, Clone, Copy)]
pub struct FetchRequest<'a> {
    pub query: &'a SourceQuery,
    pub position: &'a Position,
    /// Stop once about this many matching records are in hand.
    pub want: usize,
    /// Scan at most about this many upstream records (the adapter may
    /// finish the upstream page it is reading).
    pub budget: usize,
    /// The deadline and the upstream request counter of this fetch.
    pub ctx: &'a CallContext,
}

/// The result of one fetch.
#[derive(Debug, Clone, Default)]
pub struct Batch {
    /// Matching records strictly after the request's position, in the
    /// query's order, each satisfying every filter exactly.
    pub records: Vec<LogRecord>,
    /// The frontier: every matching record not yet returned sorts after it.
    /// It is at or past the last returned record; `done` when none remain.
    pub frontier: Position,
    /// Upstream records read.
    pub scanned: usize,
    /// Upstream records read that could not be understood (a single
    /// malformed record in a good page) and were skipped. Like `scanned`,
    /// a record read twice (a re-read boundary group) counts twice.
    pub skipped: usize,
}

/// One provider. An adapter knows its provider and nothing about merging.
#[async_trait]
pub trait Adapter: Send + Sync {
    /// The configuration `kind` (`leveled`, `alloy`, ...).
    fn kind(&self) -> &'static str;

    fn capabilities(&self) -> &Capabilities;

    /// The names of the filters set in `filters` that this provider
    /// evaluates natively for this query. The default: every set filter
    /// named in [`Capabilities::pushdown`].
    fn pushed(&self, filters: &Filters) -> Vec<String> {
        let caps = self.capabilities();
        filters
            .names()
            .into_iter()
            .filter(|name| caps.pushdown.iter().any(|p| p == name))
            .collect()
    }

    /// Fetch the next run of matching records. See [`Batch`] for what must
    /// hold of the result.
    async fn fetch(&self, request: FetchRequest<'_>) -> Result<Batch, SourceError>;

    /// [`Adapter::fetch`], with records whose mapping may be deferred
    /// until the engine emits them (issue 13; the contract is in
    /// [`crate::lazy`]). Forced, the records are exactly those `fetch`
    /// returns. The default: `fetch`, every record mapped.
    async fn fetch_lazy(&self, request: FetchRequest<'_>) -> Result<LazyBatch, SourceError> {
        Ok(self.fetch(request).await?.into())
    }

    /// Whether [`Adapter::count`] answers `filters` exactly: every set
    /// filter goes into the native query exactly (never as a superset) and
    /// the provider reports the total of a filtered window (spec §7:
    /// leveled `pagination.total`, Alloy `pagination.totalItems`, Logto
    /// `Total-Number`). The default: no; the engine then counts by
    /// scanning through [`Adapter::fetch`]. Declared like
    /// [`Adapter::pushed`]; see [`crate::count`].
    fn counts_exactly(&self, filters: &Filters) -> bool {
        let _ = filters;
        false
    }

    /// The number of upstream records matching `filters` (`start` and `end`
    /// set, inclusive epoch ms), read from the provider's total-count field
    /// with the smallest page it allows: one request in the common case.
    /// Called only where [`Adapter::counts_exactly`] said yes. `Ok(None)`:
    /// not countable exactly after all (a server found to ignore a filter,
    /// an answer without a total); the engine then scans.
    async fn count(
        &self,
        filters: &Filters,
        ctx: &CallContext,
    ) -> Result<Option<u64>, SourceError> {
        let _ = (filters, ctx);
        Ok(None)
    }
}
