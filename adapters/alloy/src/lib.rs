//! loggate's adapter for Alloy (Embedded API 2025-09), `GET /logs`: the
//! execution logs of every workflow of an Alloy account.
//!
//! - [`wire`]: serde of the native request (`filters` clauses) and response
//!   (`notifications` + page-style `pagination`), error bodies.
//! - [`translate`]: an Alloy log to a [`loggate_core::LogRecord`] (spec §3),
//!   the unified filters to native clauses, and why each is safe to push.
//! - [`keyset`]: which records of a page are complete timestamp groups and
//!   where the position goes (Alloy has no tie-breaker).
//! - [`adapter`]: [`AlloyAdapter`], keyset paging on `createdAt`.
//! - `sim` (feature `sim`): [`sim::AlloySim`], a simulator written from
//!   Alloy's documentation, quirks included.
//!
//! Cost per page: every request is bounded by the position's timestamp and
//! starts at `skip=0`, so deep pages cost what the first does. Only a
//! timestamp group that alone fills a page (more than 100 logs created in
//! the same millisecond) is read with `skip`, and read whole.

pub mod adapter;
mod count;
pub mod factory;
pub mod keyset;
pub mod translate;
pub mod wire;

#[cfg(feature = "sim")]
pub mod sim;

pub use adapter::{AlloyAdapter, KIND};
pub use factory::{AlloyFactory, AlloyParams};
#[cfg(feature = "sim")]
pub use sim::{AlloySim, SimConfig};
