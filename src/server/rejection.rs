//! Requests the connection guard refuses before hyper parses them, carried
//! to the router as a stand-in request so that the answer is an ordinary
//! one: the JSON error envelope, `x-request-id`, the access log line and
//! the HTTP metrics, in order after any pipelined request before it.
//!
//! The stand-in is a `GET` with `Connection: close` and a marker header
//! holding a per-process random nonce and the rejection's name; only the
//! guard knows the nonce, so a client cannot forge one.

use std::sync::LazyLock;

use axum::http::{HeaderMap, StatusCode};

/// The marker header of a stand-in request.
pub const MARKER: &str = "x-loggate-early-rejection";

static NONCE: LazyLock<String> = LazyLock::new(|| {
    let bytes: [u8; 16] = rand::random();
    bytes.iter().map(|b| format!("{b:02x}")).collect()
});

/// Why the guard refused a request head.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rejection {
    /// The request line is longer than [`super::guard::MAX_REQUEST_LINE`].
    UriTooLong,
    /// The head is longer than [`super::guard::MAX_HEAD_BYTES`].
    HeadTooLarge,
    /// More than [`super::guard::MAX_HEADERS`] header fields.
    TooManyHeaders,
    /// Not HTTP/1.x syntax (RFC 9112 §2-5).
    Malformed,
    /// Bytes outside visible ASCII in the request target (RFC 9112 §3.2,
    /// RFC 3986 §2: they must be percent-encoded).
    TargetBytes,
    /// A request target that is not a URI reference.
    InvalidTarget,
    /// A `Content-Length` that is not one decimal number (RFC 9112 §6.3).
    InvalidLength,
    /// HTTP/1.1 without exactly one `Host`, or several in HTTP/1.0
    /// (RFC 9112 §3.2: "A server MUST respond with a 400").
    Host,
    /// The head was not complete within `server.header_read_timeout`.
    HeadTimeout,
}

const ALL: [Rejection; 9] = [
    Rejection::UriTooLong,
    Rejection::HeadTooLarge,
    Rejection::TooManyHeaders,
    Rejection::Malformed,
    Rejection::TargetBytes,
    Rejection::InvalidTarget,
    Rejection::InvalidLength,
    Rejection::Host,
    Rejection::HeadTimeout,
];

impl Rejection {
    fn name(self) -> &'static str {
        match self {
            Rejection::UriTooLong => "uri",
            Rejection::HeadTooLarge => "head",
            Rejection::TooManyHeaders => "count",
            Rejection::Malformed => "syntax",
            Rejection::TargetBytes => "bytes",
            Rejection::InvalidTarget => "target",
            Rejection::InvalidLength => "length",
            Rejection::Host => "host",
            Rejection::HeadTimeout => "timeout",
        }
    }

    /// Status, error code and message of the answer.
    pub fn answer(self) -> (StatusCode, &'static str, String) {
        use super::guard::{MAX_HEADERS, MAX_HEAD_BYTES, MAX_REQUEST_LINE};
        match self {
            Rejection::UriTooLong => (
                StatusCode::URI_TOO_LONG,
                "uri_too_long",
                format!("the request line is over {MAX_REQUEST_LINE} bytes"),
            ),
            Rejection::HeadTooLarge => (
                StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE,
                "headers_too_large",
                format!("the request head is over {MAX_HEAD_BYTES} bytes"),
            ),
            Rejection::TooManyHeaders => (
                StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE,
                "headers_too_large",
                format!("the request has more than {MAX_HEADERS} header fields"),
            ),
            Rejection::Malformed => (
                StatusCode::BAD_REQUEST,
                "malformed_request",
                "the request is not valid HTTP/1.1 (RFC 9112)".to_string(),
            ),
            Rejection::TargetBytes => (
                StatusCode::BAD_REQUEST,
                "malformed_request",
                "the request target has bytes outside visible ASCII; percent-encode them (RFC 3986)"
                    .to_string(),
            ),
            Rejection::InvalidTarget => (
                StatusCode::BAD_REQUEST,
                "malformed_request",
                "the request target is not a valid URI".to_string(),
            ),
            Rejection::InvalidLength => (
                StatusCode::BAD_REQUEST,
                "malformed_request",
                "content-length must be one decimal number".to_string(),
            ),
            Rejection::Host => (
                StatusCode::BAD_REQUEST,
                "invalid_host",
                "an HTTP/1.1 request needs exactly one Host header (RFC 9112 §3.2)".to_string(),
            ),
            Rejection::HeadTimeout => (
                StatusCode::REQUEST_TIMEOUT,
                "request_timeout",
                "the request head was not complete within server.header_read_timeout".to_string(),
            ),
        }
    }

    /// The stand-in request head handed to hyper instead of the refused one.
    pub(crate) fn stand_in(self) -> Vec<u8> {
        format!(
            "GET /.loggate/rejected HTTP/1.1\r\nhost: loggate\r\nconnection: close\r\n{MARKER}: {} {}\r\n\r\n",
            *NONCE,
            self.name()
        )
        .into_bytes()
    }

    /// The rejection a stand-in request carries; `None` for every request
    /// a client sent (a forged marker without the nonce included).
    pub fn of(headers: &HeaderMap) -> Option<Rejection> {
        let value = headers.get(MARKER)?.to_str().ok()?;
        let (nonce, name) = value.split_once(' ')?;
        if nonce != NONCE.as_str() {
            return None;
        }
        ALL.into_iter().find(|r| r.name() == name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers_of(head: &[u8]) -> HeaderMap {
        let mut slots = [httparse::EMPTY_HEADER; 8];
        let mut request = httparse::Request::new(&mut slots);
        assert!(request.parse(head).unwrap().is_complete());
        let mut map = HeaderMap::new();
        for h in request.headers.iter() {
            map.append(
                axum::http::HeaderName::from_bytes(h.name.as_bytes()).unwrap(),
                axum::http::HeaderValue::from_bytes(h.value).unwrap(),
            );
        }
        map
    }

    #[test]
    fn every_stand_in_round_trips() {
        for r in ALL {
            assert_eq!(Rejection::of(&headers_of(&r.stand_in())), Some(r));
        }
    }

    #[test]
    fn a_forged_marker_is_ignored() {
        let mut map = HeaderMap::new();
        map.insert(MARKER, "0000 uri".parse().unwrap());
        assert_eq!(Rejection::of(&map), None);
        map.insert(MARKER, "garbage".parse().unwrap());
        assert_eq!(Rejection::of(&map), None);
    }
}
