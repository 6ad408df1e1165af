//! The cache key: a source and a digest of its native request, with every
//! secret cut out (spec §9: a key never contains a secret).

use std::sync::Arc;

use sha2::{Digest, Sha256};

/// One cached request: the source's name and a digest of the native
/// request with its secrets cut out (never a secret).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct CacheKey {
    source: Arc<str>,
    digest: [u8; 32],
}

/// Headers that carry credentials: left out of a key.
const CREDENTIAL_HEADERS: [&str; 3] = ["authorization", "proxy-authorization", "cookie"];

impl CacheKey {
    /// The key of `request` for `source`, every value of `secrets` cut out
    /// of its URL, headers and body; `None` for a request that is not a
    /// `GET` or whose body is a stream.
    pub fn of(source: &str, request: &reqwest::Request, secrets: &[&str]) -> Option<CacheKey> {
        if request.method() != reqwest::Method::GET {
            return None;
        }
        let body: &[u8] = match request.body() {
            None => &[],
            Some(body) => body.as_bytes()?,
        };
        let redact = |text: &str| {
            secrets
                .iter()
                .filter(|s| !s.is_empty())
                .fold(text.to_string(), |t, s| t.replace(s, "\u{0}"))
        };
        let mut headers: Vec<(String, String)> = request
            .headers()
            .iter()
            .filter(|(name, _)| !CREDENTIAL_HEADERS.contains(&name.as_str()))
            .map(|(name, value)| {
                let value = String::from_utf8_lossy(value.as_bytes());
                (name.as_str().to_string(), redact(&value))
            })
            .collect();
        headers.sort();
        let mut hash = Sha256::new();
        hash.update(request.method().as_str());
        hash.update([0]);
        hash.update(redact(request.url().as_str()));
        for (name, value) in headers {
            hash.update([0]);
            hash.update(name);
            hash.update(":");
            hash.update(value);
        }
        hash.update([0]);
        hash.update(redact(&String::from_utf8_lossy(body)));
        Some(CacheKey {
            source: source.into(),
            digest: hash.finalize().into(),
        })
    }

    /// The source this key belongs to.
    pub fn source(&self) -> &str {
        &self.source
    }
}
