//! loggate's adapter for Logto's Management API audit logs (`GET /api/logs`),
//! and (feature `sim`) a simulator of it.
//!
//! - [`wire`]: the native shapes: error bodies, the token answer, `Link`.
//! - [`translate`]: pure mapping of a log row to a `LogRecord` (spec §3),
//!   filters to query parameters, error bodies to typed errors.
//! - [`auth`]: a static token or the client-credentials grant, cached and
//!   refreshed, one token request shared by concurrent fetches.
//! - [`window`]: one page of the result in traversal order.
//! - [`scan`]: exactly-once traversal under unordered ties and inserts;
//!   `group` reads a tie group larger than a page.
//! - [`adapter`]: the `Adapter` impl and the time-filter detection.
//! - [`factory`]: [`LogtoFactory`], what the gateway registers, and the
//!   source keys it takes ([`LogtoParams`]).
//! - `sim` (feature `sim`): the simulator, both server generations.
//!
//! # Cost per page
//!
//! Every fetch reads about `limit` rows plus at most one page (100 rows)
//! to finish a tie group, in `limit / 100 + 1` requests or so, whatever
//! the depth; a tie group larger than one page costs extra requests, as
//! Logto returns ties in a fresh order each time. What Logto itself does
//! per request differs:
//! - time filter in use, `desc`: always page 1 of a window bounded by
//!   `end_time`: constant cost, page 500 costs what page 1 costs.
//! - time filter in use, `asc`: the last page of the window bounded by
//!   `start_time`, found from `Total-Number`; the database skips the
//!   window's newer rows (`OFFSET`), so its work shrinks as the traversal
//!   proceeds. A fetch without a position hint adds one request.
//! - no time filter (servers before v1.40, or `time_filter = "off"`): offset
//!   paging; the database's `OFFSET` grows with depth for `desc` and is
//!   largest at the start for `asc`, which pages backwards from
//!   `Total-Number` (the position's hint carries the total; without one a
//!   fetch adds a request to learn it). A `desc` traversal with a client
//!   `end` far in the past first scans the newer rows, as nothing else
//!   can skip them on such a server.

pub mod adapter;
pub mod auth;
mod count;
pub mod factory;
mod group;
pub mod scan;
pub mod translate;
pub mod window;
pub mod wire;

#[cfg(feature = "sim")]
pub mod sim;

pub use adapter::{LogtoAdapter, KIND};
pub use factory::{LogtoFactory, LogtoParams, TimeFilter};
