//! The plugin contract between the loggate engine and its provider adapters.
//!
//! - [`record`]: the normalised [`LogRecord`], [`Level`] with OpenTelemetry
//!   severity numbers, and the total order every source is merged by.
//! - [`query`]: the unified [`Filters`] and [`SourceQuery`] one adapter receives,
//!   and the exact reference matcher every adapter re-applies after pushdown.
//! - [`position`]: the resumable, serialisable [`Position`] of one source in a
//!   traversal (a keyset bound plus an optional provider hint).
//! - [`error`]: [`SourceError`], which says who failed (caller, upstream,
//!   network, decoding).
//! - [`adapter`]: the [`Adapter`] trait, [`Capabilities`] and [`Batch`].
//! - [`provider`]: the factory each provider crate exports ([`TypedProviderFactory`],
//!   object-safe as [`ProviderFactory`]): its kind, its own settings type,
//!   secrets, adapter and simulator.
//! - [`group`]: the one tie-group sweep (reading a group larger than a
//!   page whole, counting identical entries) every adapter uses.
//! - [`http`]: the upstream HTTP helpers every adapter shares (body cap,
//!   status classification, scrubbed excerpts).
//! - [`time`]: the one tolerant timestamp reader (spec §10) and the formats
//!   sent upstream and to clients.
//! - [`wire`]: `null` lists, byte-order marks, RFC 3986 query strings.
//! - `sim` (feature `sim`): serving a simulator on loopback, fault switches.
//! - `testkit` (feature `testkit`): the conformance suite every adapter runs.

pub mod adapter;
pub mod cache;
pub mod count;
pub mod error;
mod excerpt;
pub mod group;
pub mod http;
pub mod lazy;
pub mod position;
pub mod provider;
pub mod query;
pub mod record;
pub mod settings;
pub mod time;
pub mod wire;

#[cfg(feature = "sim")]
pub mod sim;
#[cfg(feature = "testkit")]
pub mod testkit;

pub use adapter::{Adapter, Batch, Capabilities, FetchRequest};
pub use error::{Culprit, SourceError};
pub use http::{CallContext, LiveReads, UpstreamClient, UpstreamPolicy};
pub use lazy::{LazyBatch, Record};
pub use position::{Position, Resume};
pub use provider::{
    Problem, ProviderConfig, ProviderFactory, ProviderParams, TokenSearchParams,
    TypedProviderFactory, UpstreamPaging,
};
pub use query::{Filters, Order, SourceQuery};
pub use record::{Key, Level, LogRecord, RawJson};
pub use settings::SourceSettings;
