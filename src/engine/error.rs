//! Errors of the engine, each with the `code` and `param` of spec §4.
//! The HTTP layer maps them to statuses in one place.

use thiserror::Error;

#[derive(Debug, Clone, Error, PartialEq)]
pub enum EngineError {
    #[error("{param}: {message}")]
    InvalidParameter { param: String, message: String },
    #[error("{}: unknown parameter; expected {list}", shown(.0), list = super::query::expected_parameters())]
    UnknownParameter(String),
    /// An unknown parameter of an endpoint other than `/logs`, with the
    /// list of the parameters it takes.
    #[error("{}: unknown parameter; expected {expected}", shown(.name))]
    UnknownParameterOf { name: String, expected: String },
    #[error("source: no source named {0:?} is configured")]
    UnknownSource(String),
    #[error("cursor: {0}")]
    InvalidCursor(String),
    #[error("{0}: differs from the value the cursor was issued for; send the cursor alone, or start a new traversal")]
    CursorMismatch(String),
    #[error("source: this API key may not read {0:?}")]
    Forbidden(String),
    #[error("every requested source failed: {0}")]
    Upstream(String),
    /// Every failed source named a wait (`Retry-After`): the soonest one
    /// is passed on to the client (spec §10), in whole seconds.
    #[error("every requested source failed: {detail}; retry in {retry_after_secs}s")]
    UpstreamRetryAfter {
        detail: String,
        retry_after_secs: u64,
    },
    #[error("every requested source timed out: {0}")]
    UpstreamTimeout(String),
    /// Loggate's own queue (room for pages in flight, a source's outbound
    /// rate limit or concurrency cap) cannot serve the request before its
    /// deadline: declined early, to be retried after `retry_after_secs`.
    #[error("loggate is overloaded, retry in {retry_after_secs}s: {message}")]
    Overloaded {
        message: String,
        retry_after_secs: u64,
    },
}

/// Longest parameter name an error message repeats, in characters.
const SHOWN_NAME: usize = 64;

/// A parameter name as an error message shows it: `(empty name)` for
/// `?=x`, and at most [`SHOWN_NAME`] characters (then `...`), so that a
/// hostile name does not come back whole.
fn shown(name: &str) -> String {
    if name.is_empty() {
        return "(empty name)".to_string();
    }
    match name.char_indices().nth(SHOWN_NAME) {
        Some((cut, _)) => format!("{}...", &name[..cut]),
        None => name.to_string(),
    }
}

impl EngineError {
    pub fn invalid(param: &str, message: impl Into<String>) -> Self {
        EngineError::InvalidParameter {
            param: param.to_string(),
            message: message.into(),
        }
    }

    pub fn code(&self) -> &'static str {
        match self {
            EngineError::InvalidParameter { .. } => "invalid_parameter",
            EngineError::UnknownParameter(_) | EngineError::UnknownParameterOf { .. } => {
                "unknown_parameter"
            }
            EngineError::UnknownSource(_) => "unknown_source",
            EngineError::InvalidCursor(_) => "invalid_cursor",
            EngineError::CursorMismatch(_) => "cursor_mismatch",
            EngineError::Forbidden(_) => "forbidden",
            EngineError::Upstream(_) | EngineError::UpstreamRetryAfter { .. } => "upstream_error",
            EngineError::UpstreamTimeout(_) => "upstream_timeout",
            EngineError::Overloaded { .. } => "overloaded",
        }
    }

    /// The parameter at fault, where one is.
    pub fn param(&self) -> Option<&str> {
        match self {
            EngineError::InvalidParameter { param, .. } => Some(param),
            EngineError::UnknownParameter(param) => Some(param),
            EngineError::UnknownParameterOf { name, .. } => Some(name),
            EngineError::UnknownSource(_) | EngineError::Forbidden(_) => Some("source"),
            EngineError::InvalidCursor(_) => Some("cursor"),
            EngineError::CursorMismatch(param) => Some(param),
            EngineError::Upstream(_)
            | EngineError::UpstreamRetryAfter { .. }
            | EngineError::UpstreamTimeout(_)
            | EngineError::Overloaded { .. } => None,
        }
    }
}
