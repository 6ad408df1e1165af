//! loggate's adapter for the generic leveled-log API (`GET /logs` with
//! `limit`/`offset`, `startDate`/`endDate`, `level`, `service`, `search`,
//! a bearer token), and (feature `sim`) a simulator of that API.
//!
//! - [`wire`]: serde of the native request answer and error bodies.
//! - [`translate`]: native entries to [`loggate_core::LogRecord`]s (content
//!   hash ids) and unified filters to native parameters, pure functions.
//! - [`adapter`]: [`LeveledAdapter`], one HTTP call per page, typed errors.
//! - [`factory`]: [`LeveledFactory`], what the gateway registers, and the
//!   source keys it takes ([`LeveledParams`]).
//! - `lazy`: entries read to their timestamp, mapped only when emitted
//!   (issue 13).
//! - `paging`: keyset paging by time bound over an offset API that breaks
//!   ties arbitrarily; its `//!` docs state the cost per page in each order.
//! - `sim` (feature `sim`): [`sim::LeveledSim`], written from the provider's
//!   documentation and the known quirks.
//!
//! Pushdown: `start`/`end` as `startDate`/`endDate` (UTC, milliseconds,
//! inclusive), `service`, `q` as `search` (see below), and a level only when
//! the query's levels reduce to one of DEBUG, WARN, ERROR or FATAL: TRACE
//! has no native value, and INFO is not exact because undocumented native
//! levels (`NOTICE`) map to INFO. Everything is re-checked in the adapter.
//!
//! What loggate assumes about `search`: a case-insensitive substring test on
//! `message`, like loggate's own `q`. A provider whose search is
//! case-sensitive (or matches whole words only) would lose matches that no
//! re-check recovers, so `search_pushdown = false` in the source's
//! settings keeps `q` in the gateway.

pub mod adapter;
mod count;
pub mod factory;
mod lazy;
mod paging;
pub mod translate;
pub mod wire;

#[cfg(feature = "sim")]
pub mod sim;
#[cfg(feature = "sim")]
mod sim_data;
#[cfg(feature = "sim")]
mod sim_query;

pub use adapter::{LeveledAdapter, KIND};
pub use factory::{LeveledFactory, LeveledParams};
#[cfg(feature = "sim")]
pub use sim::{LeveledSim, NextOffsetForm, SimConfig};
