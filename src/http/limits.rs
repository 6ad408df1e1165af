//! Input limits checked before anything else looks at a request, each
//! answered with the error envelope:
//!
//! - a query string longer than [`MAX_QUERY_BYTES`] → `414 uri_too_long`;
//! - request headers over [`MAX_HEADER_BYTES`] in total → `431 headers_too_large`;
//! - a request body (`Content-Length` above zero or any `Transfer-Encoding`):
//!   every route is a `GET`, so a body is refused → `400 body_not_allowed`.
//!
//! Requests the connection guard refused before parsing (a head over
//! 64 KiB, more than 100 header fields, a request line over 16 KiB, bad
//! syntax, no `Host`, a head not complete in time: see
//! [`crate::server::guard`]) arrive here as stand-ins and are answered
//! first, in the same envelope.

use axum::extract::Request;
use axum::http::header::{CONTENT_LENGTH, TRANSFER_ENCODING};
use axum::http::StatusCode;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use crate::http::ApiError;
use crate::server::Rejection;

/// Longest accepted query string, in bytes as sent (still percent-encoded).
pub const MAX_QUERY_BYTES: usize = 8 * 1024;
/// Most bytes of header names and values together.
pub const MAX_HEADER_BYTES: usize = 16 * 1024;

/// Middleware: refuses requests over a limit before routing and auth.
pub async fn enforce(request: Request, next: Next) -> Response {
    match check(&request) {
        Ok(()) => next.run(request).await,
        Err(e) => e.into_response(),
    }
}

fn check(request: &Request) -> Result<(), ApiError> {
    if let Some(rejection) = Rejection::of(request.headers()) {
        let (status, code, message) = rejection.answer();
        return Err(ApiError::new(status, code, message));
    }
    let query = request.uri().query().map_or(0, str::len);
    if query > MAX_QUERY_BYTES {
        return Err(ApiError::new(
            StatusCode::URI_TOO_LONG,
            "uri_too_long",
            format!("the query string is {query} bytes; at most {MAX_QUERY_BYTES} are accepted"),
        ));
    }
    let headers = request.headers();
    let header_bytes: usize = headers
        .iter()
        .map(|(name, value)| name.as_str().len() + value.len())
        .sum();
    if header_bytes > MAX_HEADER_BYTES {
        return Err(ApiError::new(
            StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE,
            "headers_too_large",
            format!("the request headers are {header_bytes} bytes; at most {MAX_HEADER_BYTES} are accepted"),
        ));
    }
    let declared = headers
        .get(CONTENT_LENGTH)
        .map(|v| v.to_str().ok().and_then(|v| v.trim().parse::<u64>().ok()));
    let has_body = match declared {
        Some(Some(0)) => false,
        // A length we cannot read is no better than a body.
        Some(_) => true,
        None => headers.contains_key(TRANSFER_ENCODING),
    };
    if has_body {
        return Err(ApiError::new(
            StatusCode::BAD_REQUEST,
            "body_not_allowed",
            "requests to this API carry no body; send the parameters in the query string",
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::body::Body;

    fn code(request: Request) -> Option<&'static str> {
        check(&request).err().map(|e| e.code)
    }

    #[test]
    fn query_length_is_capped() {
        let at_limit = format!("/logs?q={}", "a".repeat(MAX_QUERY_BYTES - 2));
        assert_eq!(
            code(Request::get(at_limit).body(Body::empty()).unwrap()),
            None
        );
        let over = format!("/logs?q={}", "a".repeat(MAX_QUERY_BYTES));
        let e = check(&Request::get(over).body(Body::empty()).unwrap()).unwrap_err();
        assert_eq!(
            (e.status, e.code),
            (StatusCode::URI_TOO_LONG, "uri_too_long")
        );
    }

    #[test]
    fn header_bytes_are_capped() {
        let big = "x".repeat(MAX_HEADER_BYTES);
        let request = Request::get("/logs")
            .header("x-big", big)
            .body(Body::empty())
            .unwrap();
        assert_eq!(code(request), Some("headers_too_large"));
    }

    #[test]
    fn bodies_are_refused_but_an_empty_length_is_fine() {
        let with = |name: &str, value: &str| {
            Request::get("/logs")
                .header(name, value)
                .body(Body::empty())
                .unwrap()
        };
        assert_eq!(code(with("content-length", "0")), None);
        assert_eq!(code(with("content-length", "5")), Some("body_not_allowed"));
        assert_eq!(code(with("content-length", "x")), Some("body_not_allowed"));
        assert_eq!(
            code(with("transfer-encoding", "chunked")),
            Some("body_not_allowed")
        );
    }
}
