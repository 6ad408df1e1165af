//! loggate: one endpoint for the logs of many third-party services.
//!
//! - [`config`]: the TOML file layered with `LOGGATE_` environment, validated
//!   with every problem reported at once.
//! - [`registry`]: provider kind → adapter (the adapters live in `adapters/*`).
//! - [`engine`]: the unified query, fan-out under one deadline, the frontier
//!   merge, and the signed cursor. No HTTP in it.
//! - [`http`]: axum routes, the error envelope, API-key auth.
//! - [`logql`]: the LogQL parser and planner behind the Loki-compatible API.
//! - [`gate`]: per-source outbound rate limit and concurrency cap.
//! - [`breaker`]: per-source circuit breaker.
//! - [`logging`]: the log subscriber and its writer off the request path.
//! - [`metrics`]: the Prometheus registry behind `GET /metrics`.
//! - [`server`]: the HTTP/1.1 server loop: connection cap, head and idle
//!   timeouts, requests refused before parsing answered in the envelope.
//! - [`app`]: building and running the server, graceful shutdown.
//! - [`demo`]: simulators of all providers plus the gateway, no config needed.
//! - [`cli`]: the command-line interface the binary calls.

pub mod app;
pub mod breaker;
pub mod cli;
pub mod config;
pub mod demo;
pub mod engine;
pub mod gate;
pub mod http;
pub mod logging;
pub mod logql;
pub mod metrics;
pub mod registry;
pub mod server;
pub mod tail;
