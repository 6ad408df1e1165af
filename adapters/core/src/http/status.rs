//! How an upstream answer or a failed send becomes a [`SourceError`]: the
//! status classification every provider starts from, `Retry-After`, and
//! transport errors without their URL.

use std::time::Duration;

use reqwest::header::{HeaderMap, RETRY_AFTER};

use super::UpstreamResponse;
use crate::error::SourceError;

pub(super) fn network_error(e: reqwest::Error) -> SourceError {
    if e.is_connect() {
        SourceError::Connect(short_cause(e))
    } else if e.is_timeout() {
        SourceError::Timeout(Duration::ZERO)
    } else {
        SourceError::Network(short_cause(e))
    }
}

/// The innermost cause of an error, without the URL (which may carry
/// query values) even when there is no inner cause.
pub(super) fn short_cause(e: reqwest::Error) -> String {
    let e = e.without_url();
    let mut source: &dyn std::error::Error = &e;
    while let Some(inner) = source.source() {
        source = inner;
    }
    source.to_string()
}

/// `Retry-After` as seconds or an HTTP date in any of the three formats
/// of RFC 9110 §5.6.7 (IMF-fixdate, RFC 850, asctime; read by `httpdate`,
/// with RFC 2822 offsets tolerated), else `X-RateLimit-Reset` as seconds
/// or an epoch timestamp. A date in the past is zero.
pub fn retry_after(headers: &HeaderMap) -> Option<Duration> {
    let text = |name: &str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::trim)
    };
    if let Some(value) = text(RETRY_AFTER.as_str()) {
        if let Ok(secs) = value.parse::<u64>() {
            return Some(Duration::from_secs(secs));
        }
        let date_ms = httpdate::parse_http_date(value)
            .ok()
            .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
            .map(|d| d.as_millis() as i64)
            .or_else(|| {
                chrono::DateTime::parse_from_rfc2822(value)
                    .ok()
                    .map(|d| d.timestamp_millis())
            });
        if let Some(ms) = date_ms {
            let wait = ms - crate::time::now_ms();
            return Some(Duration::from_millis(wait.max(0) as u64));
        }
    }
    let reset = text("x-ratelimit-reset")?.parse::<u64>().ok()?;
    let now_secs = (crate::time::now_ms() / 1000) as u64;
    Some(Duration::from_secs(if reset > 1_000_000_000 {
        reset.saturating_sub(now_secs)
    } else {
        reset
    }))
}

/// The classification every provider starts from: 2xx passes; a 3xx is
/// a redirect that was not followed (named by its `Location`: credentials
/// never follow a redirect, spec §10); 401/403, 429, other 4xx and 5xx
/// become the matching [`SourceError`].
pub fn classify_status(response: &UpstreamResponse, message: String) -> Option<SourceError> {
    let status = response.status;
    match status {
        200..=299 => None,
        300..=399 => Some(SourceError::Upstream {
            status,
            message: redirect_message(response),
            retry_after: None,
        }),
        401 | 403 => Some(SourceError::Unauthorized { status, message }),
        429 => Some(SourceError::RateLimited {
            message,
            retry_after: retry_after(&response.headers),
        }),
        400..=499 => Some(SourceError::Rejected { status, message }),
        _ => Some(SourceError::Upstream {
            status,
            message,
            retry_after: retry_after(&response.headers),
        }),
    }
}

/// `redirect to LOCATION not followed (...)`, for a 3xx answer.
fn redirect_message(response: &UpstreamResponse) -> String {
    let location = response
        .header(reqwest::header::LOCATION.as_str())
        .map(str::trim)
        .filter(|l| !l.is_empty());
    let target = match location {
        Some(location) => format!("redirect to {location}"),
        None => String::from("redirect without a Location"),
    };
    format!(
        "{target} not followed: credentials are never sent on a redirect; \
         point base_url at the final address"
    )
}
