//! API keys: only their SHA-256 is configured; a presented key is hashed
//! and compared in constant time against every configured digest. Each key
//! has its own rate limiter so one noisy key cannot starve another.

use std::collections::BTreeMap;
use std::num::NonZeroU32;

use axum::extract::{Request, State};
use axum::http::header::AUTHORIZATION;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use governor::clock::{Clock, DefaultClock};
use governor::{DefaultDirectRateLimiter, Quota, RateLimiter};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use crate::config::{ApiKeyConfig, RateLimit};
use crate::engine::Caller;
use crate::http::{ApiError, AppState};

struct Key {
    name: String,
    sha256: [u8; 32],
    sources: Vec<String>,
    limiter: Option<DefaultDirectRateLimiter>,
}

/// The configured API keys; empty means open access.
#[derive(Default)]
pub struct KeyStore {
    keys: Vec<Key>,
}

impl KeyStore {
    pub fn new(keys: &BTreeMap<String, ApiKeyConfig>) -> Self {
        KeyStore {
            keys: keys
                .iter()
                .map(|(name, k)| Key {
                    name: name.clone(),
                    sha256: k.sha256,
                    sources: k.sources.clone(),
                    limiter: k.rate_limit.map(limiter),
                })
                .collect(),
        }
    }

    pub fn is_open(&self) -> bool {
        self.keys.is_empty()
    }

    /// The caller for an `Authorization` header value, or the error to answer.
    pub fn authenticate(&self, header: Option<&str>) -> Result<Caller, ApiError> {
        if self.is_open() {
            return Ok(Caller::default());
        }
        let Some(header) = header else {
            return Err(ApiError::unauthorized(
                "missing Authorization: Bearer <key> header",
            ));
        };
        let presented = match header.split_once(' ') {
            Some((scheme, key))
                if scheme.eq_ignore_ascii_case("bearer") && !key.trim().is_empty() =>
            {
                key.trim()
            }
            _ => {
                return Err(ApiError::unauthorized(
                    "malformed Authorization header; expected Bearer <key>",
                ))
            }
        };
        self.authenticate_key(presented)
    }

    /// Like [`KeyStore::authenticate`], also accepting HTTP Basic with the
    /// key as the password and any user name (spec §6: Loki clients such
    /// as Grafana's data source send Basic credentials).
    pub fn authenticate_bearer_or_basic(&self, header: Option<&str>) -> Result<Caller, ApiError> {
        use base64::Engine as _;
        let basic = header
            .and_then(|h| h.split_once(' '))
            .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("basic"));
        let Some((_, encoded)) = basic else {
            return self.authenticate(header);
        };
        if self.is_open() {
            return Ok(Caller::default());
        }
        let decoded = base64::engine::general_purpose::STANDARD
            .decode(encoded.trim())
            .ok()
            .and_then(|bytes| String::from_utf8(bytes).ok());
        match decoded.as_deref().and_then(|pair| pair.split_once(':')) {
            Some((_, key)) if !key.is_empty() => self.authenticate_key(key),
            _ => Err(ApiError::unauthorized(
                "malformed Authorization header; expected Bearer <key> or Basic with the key as password",
            )),
        }
    }

    fn authenticate_key(&self, presented: &str) -> Result<Caller, ApiError> {
        let digest: [u8; 32] = Sha256::digest(presented.as_bytes()).into();
        // Compare against every key so timing tells nothing about which matched.
        let mut found = None;
        for (i, key) in self.keys.iter().enumerate() {
            if bool::from(key.sha256.ct_eq(&digest)) {
                found = Some(i);
            }
        }
        let Some(key) = found.map(|i| &self.keys[i]) else {
            return Err(ApiError::unauthorized("unknown API key"));
        };
        if let Some(limiter) = &key.limiter {
            if let Err(not_until) = limiter.check() {
                let wait = not_until.wait_time_from(DefaultClock::default().now());
                return Err(ApiError::rate_limited(
                    wait.as_secs_f64().ceil().max(1.0) as u64
                ));
            }
        }
        Ok(Caller {
            key: Some(key.name.clone()),
            allowed: Some(key.sources.clone()),
        })
    }
}

fn limiter(rate: RateLimit) -> DefaultDirectRateLimiter {
    let per_second = NonZeroU32::new(rate.per_second).unwrap_or(NonZeroU32::MIN);
    let burst = NonZeroU32::new(rate.burst).unwrap_or(per_second);
    RateLimiter::direct(Quota::per_second(per_second).allow_burst(burst))
}

/// Middleware: resolves the caller and stores it as a request extension.
pub async fn authenticate(
    State(state): State<AppState>,
    mut request: Request,
    next: Next,
) -> Response {
    let header = request
        .headers()
        .get(AUTHORIZATION)
        .and_then(|v| v.to_str().ok());
    match state.keys.authenticate(header) {
        Ok(caller) => {
            request.extensions_mut().insert(caller);
            next.run(request).await
        }
        Err(e) => e.into_response(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn store(rate: Option<RateLimit>) -> KeyStore {
        let sha256: [u8; 32] = Sha256::digest(b"k1").into();
        KeyStore::new(
            &[(
                "dash".to_string(),
                ApiKeyConfig {
                    sha256,
                    sources: vec!["app".into()],
                    rate_limit: rate,
                },
            )]
            .into(),
        )
    }

    #[test]
    fn open_without_keys() {
        assert!(KeyStore::default()
            .authenticate(None)
            .unwrap()
            .key
            .is_none());
    }

    #[test]
    fn checks_scheme_and_digest() {
        let s = store(None);
        assert_eq!(s.authenticate(None).unwrap_err().code, "unauthorized");
        assert_eq!(
            s.authenticate(Some("Basic k1")).unwrap_err().code,
            "unauthorized"
        );
        assert_eq!(
            s.authenticate(Some("Bearer k2")).unwrap_err().code,
            "unauthorized"
        );
        let caller = s.authenticate(Some("bearer k1")).unwrap();
        assert_eq!(caller.key.as_deref(), Some("dash"));
        assert!(caller.may_read("app") && !caller.may_read("other"));
    }

    #[test]
    fn basic_carries_the_key_as_password() {
        let s = store(None);
        // base64("grafana:k1") and base64("grafana:k2")
        let ok = s.authenticate_bearer_or_basic(Some("Basic Z3JhZmFuYTprMQ=="));
        assert_eq!(ok.unwrap().key.as_deref(), Some("dash"));
        let bad = s.authenticate_bearer_or_basic(Some("Basic Z3JhZmFuYTprMg=="));
        assert_eq!(bad.unwrap_err().code, "unauthorized");
        assert!(s.authenticate_bearer_or_basic(Some("Basic k1")).is_err());
        assert!(s.authenticate_bearer_or_basic(Some("Bearer k1")).is_ok());
        // Plain /logs authentication still takes Bearer only.
        assert!(s.authenticate(Some("Basic Z3JhZmFuYTprMQ==")).is_err());
    }

    #[test]
    fn over_the_rate_is_429_with_retry_after() {
        let s = store(Some(RateLimit {
            per_second: 1,
            burst: 1,
        }));
        assert!(s.authenticate(Some("Bearer k1")).is_ok());
        let e = s.authenticate(Some("Bearer k1")).unwrap_err();
        assert_eq!((e.code, e.retry_after_secs), ("rate_limited", Some(1)));
    }
}
