//! The error envelope of spec §4, and the one place errors become statuses.

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use utoipa::{IntoResponses, ToSchema};

use crate::engine::EngineError;

/// An error answered to the client.
#[derive(Debug, Clone, PartialEq)]
pub struct ApiError {
    pub status: StatusCode,
    pub code: &'static str,
    pub message: String,
    pub param: Option<String>,
    pub retry_after_secs: Option<u64>,
}

impl ApiError {
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        ApiError {
            status,
            code,
            message: message.into(),
            param: None,
            retry_after_secs: None,
        }
    }

    pub fn not_found(path: &str) -> Self {
        let shown: String = path.chars().take(128).collect();
        ApiError::new(
            StatusCode::NOT_FOUND,
            "not_found",
            format!("no such path: {shown:?}"),
        )
    }

    pub fn method_not_allowed() -> Self {
        ApiError::new(
            StatusCode::METHOD_NOT_ALLOWED,
            "method_not_allowed",
            "only GET is served here",
        )
    }

    pub fn unauthorized(message: &str) -> Self {
        ApiError::new(StatusCode::UNAUTHORIZED, "unauthorized", message)
    }

    pub fn rate_limited(retry_after_secs: u64) -> Self {
        let mut e = ApiError::new(
            StatusCode::TOO_MANY_REQUESTS,
            "rate_limited",
            format!("this API key is over its rate limit; retry in {retry_after_secs}s"),
        );
        e.retry_after_secs = Some(retry_after_secs);
        e
    }

    pub fn invalid(param: &str, message: impl Into<String>) -> Self {
        let message = format!("{param}: {}", message.into());
        let mut e = ApiError::new(StatusCode::BAD_REQUEST, "invalid_parameter", message);
        e.param = Some(param.to_string());
        e
    }
}

impl From<EngineError> for ApiError {
    fn from(e: EngineError) -> Self {
        let status = match &e {
            EngineError::InvalidParameter { .. }
            | EngineError::UnknownParameter(_)
            | EngineError::UnknownParameterOf { .. }
            | EngineError::UnknownSource(_)
            | EngineError::InvalidCursor(_)
            | EngineError::CursorMismatch(_) => StatusCode::BAD_REQUEST,
            EngineError::Forbidden(_) => StatusCode::FORBIDDEN,
            EngineError::Upstream(_) | EngineError::UpstreamRetryAfter { .. } => {
                StatusCode::BAD_GATEWAY
            }
            EngineError::UpstreamTimeout(_) => StatusCode::GATEWAY_TIMEOUT,
            EngineError::Overloaded { .. } => StatusCode::SERVICE_UNAVAILABLE,
        };
        let retry_after_secs = match &e {
            EngineError::Overloaded {
                retry_after_secs, ..
            }
            | EngineError::UpstreamRetryAfter {
                retry_after_secs, ..
            } => Some(*retry_after_secs),
            _ => None,
        };
        ApiError {
            status,
            code: e.code(),
            param: e.param().map(str::to_string),
            message: e.to_string(),
            retry_after_secs,
        }
    }
}

/// The refusals of a route that reads sources with an API key, before
/// it reads anything (spec §4, §5): each an [`ErrorEnvelope`]. Listed once
/// and named in each handler's `responses(...)`.
#[derive(IntoResponses)]
#[allow(dead_code)] // never built: utoipa reads its variants for the document
pub enum KeyRefusals {
    #[response(
        status = 401,
        description = "unauthorized: missing or unknown API key",
        headers(("WWW-Authenticate" = String, description = "`Bearer`: the scheme to authenticate with"))
    )]
    Unauthorized(ErrorEnvelope<'static>),
    #[response(
        status = 403,
        description = "forbidden: the key may not read a requested source"
    )]
    Forbidden(ErrorEnvelope<'static>),
    #[response(
        status = 429,
        description = "rate_limited: the key is over its rate",
        headers(("Retry-After" = u64, description = "Seconds to wait before retrying"))
    )]
    RateLimited(ErrorEnvelope<'static>),
    #[response(
        status = 414,
        description = "uri_too_long: the query string is over the limit"
    )]
    UriTooLong(ErrorEnvelope<'static>),
    #[response(
        status = 431,
        description = "headers_too_large: the request headers are over the limit"
    )]
    HeadersTooLarge(ErrorEnvelope<'static>),
}

/// Every error response (spec §4).
#[derive(Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ErrorEnvelope<'a> {
    error: ErrorBody<'a>,
}

/// The error itself.
#[derive(Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ErrorBody<'a> {
    /// invalid_parameter, unknown_parameter, unknown_source, invalid_cursor,
    /// cursor_mismatch, body_not_allowed (400); unauthorized (401); forbidden
    /// (403); not_found (404); method_not_allowed (405); uri_too_long (414);
    /// rate_limited (429); headers_too_large (431); internal (500);
    /// upstream_error (502); not_ready, overloaded (503); upstream_timeout (504).
    #[schema(value_type = String, example = "invalid_parameter")]
    code: &'a str,
    #[schema(value_type = String, example = "start: expected an RFC 3339 timestamp, got \"yesterday\"")]
    message: &'a str,
    /// The parameter at fault, where there is one.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<String>, example = "start")]
    param: Option<&'a str>,
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = ErrorEnvelope {
            error: ErrorBody {
                code: self.code,
                message: &self.message,
                param: self.param.as_deref(),
            },
        };
        let mut response = (self.status, axum::Json(body)).into_response();
        if let Some(secs) = self.retry_after_secs {
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(secs));
        }
        if self.status == StatusCode::UNAUTHORIZED {
            // RFC 6750: tell the client which scheme is expected.
            response.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Bearer realm=\"loggate\""),
            );
        }
        response
    }
}
