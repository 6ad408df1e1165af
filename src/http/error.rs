//! The error envelope of spec §4, and the one place errors become statuses.

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::Serialize;

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
            | EngineError::UnknownSource(_)
            | EngineError::InvalidCursor(_)
            | EngineError::CursorMismatch(_) => StatusCode::BAD_REQUEST,
            EngineError::Forbidden(_) => StatusCode::FORBIDDEN,
            EngineError::Upstream(_) | EngineError::UpstreamRetryAfter { .. } => {
                StatusCode::BAD_GATEWAY
            }
            EngineError::UpstreamTimeout(_) => StatusCode::GATEWAY_TIMEOUT,
        };
        let retry_after_secs = match &e {
            EngineError::UpstreamRetryAfter {
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

#[derive(Serialize)]
struct Envelope<'a> {
    error: Body<'a>,
}

#[derive(Serialize)]
struct Body<'a> {
    code: &'a str,
    message: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    param: Option<&'a str>,
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = Envelope {
            error: Body {
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
