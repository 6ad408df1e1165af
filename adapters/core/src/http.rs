//! The upstream HTTP client every adapter shares: one attempt under the
//! source's timeout, retries with jittered backoff that honour
//! `Retry-After` and never outlive the request deadline, a body size cap,
//! and error bodies excerpted and scrubbed of secrets.

use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use reqwest::header::{HeaderMap, CONTENT_TYPE};
use secrecy::{ExposeSecret, SecretString};
use serde::de::DeserializeOwned;
use serde::Deserialize;
use tokio::time::Instant;

use crate::error::SourceError;

mod context;
mod status;

pub use context::{CallContext, LiveReads, RequestGate, MAX_SKIP_REASONS, MIN_SEND_WINDOW};
pub use status::{classify_status, retry_after};
use status::{network_error, short_cause};

/// A source's HTTP policy.
#[derive(Clone)]
pub struct UpstreamPolicy {
    pub timeout: Duration,
    pub retries: u32,
    pub max_body_bytes: usize,
    /// First backoff; doubled per retry, with full jitter.
    pub backoff: Duration,
}

impl Default for UpstreamPolicy {
    fn default() -> Self {
        UpstreamPolicy {
            timeout: Duration::from_secs(10),
            retries: 2,
            max_body_bytes: 16 * 1024 * 1024,
            backoff: Duration::from_millis(100),
        }
    }
}

/// A response read whole (within the cap).
#[derive(Debug, Clone)]
pub struct UpstreamResponse {
    pub status: u16,
    pub headers: HeaderMap,
    pub body: Vec<u8>,
}

impl UpstreamResponse {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    pub fn is_json(&self) -> bool {
        self.header(CONTENT_TYPE.as_str())
            .is_some_and(|ct| ct.to_ascii_lowercase().contains("json"))
    }

    /// Decodes a JSON body, lenient about what is only packaging (spec
    /// §10): a UTF-8 byte-order mark is skipped and the content type is not
    /// checked while the body parses. Malformed JSON is a
    /// [`SourceError::Decode`] naming the content type when that was not
    /// JSON (an HTML error page), else the parser's complaint.
    pub fn json<T: DeserializeOwned>(&self) -> Result<T, SourceError> {
        self.json_borrowed()
    }

    /// [`UpstreamResponse::json`] into a type that borrows from the body
    /// (`&str`, `&RawValue`): no copy of what it keeps.
    pub fn json_borrowed<'a, T: Deserialize<'a>>(&'a self) -> Result<T, SourceError> {
        let body = crate::wire::strip_bom(&self.body);
        serde_json::from_slice(body).map_err(|e| {
            let syntax = matches!(
                e.classify(),
                serde_json::error::Category::Syntax | serde_json::error::Category::Eof
            );
            if syntax && !self.is_json() {
                let ct = self.header(CONTENT_TYPE.as_str()).unwrap_or("none");
                SourceError::Decode(format!("expected a JSON body, got content type {ct}"))
            } else {
                SourceError::Decode(format!("malformed JSON body: {e}"))
            }
        })
    }
}

/// The shared client of one source.
#[derive(Clone)]
pub struct UpstreamClient {
    http: reqwest::Client,
    policy: UpstreamPolicy,
    gate: Option<Arc<dyn RequestGate>>,
    secrets: Arc<Vec<SecretString>>,
    /// The answer cache and this source's name in its keys (spec §9).
    pub(crate) store: Option<(Arc<dyn crate::cache::AnswerStore>, Arc<str>)>,
}

impl UpstreamClient {
    pub fn new(policy: UpstreamPolicy) -> Self {
        let http = reqwest::Client::builder()
            .connect_timeout(policy.timeout)
            .pool_idle_timeout(Duration::from_secs(60))
            .redirect(reqwest::redirect::Policy::none())
            .user_agent(concat!("loggate/", env!("CARGO_PKG_VERSION")))
            .build()
            .unwrap_or_default();
        UpstreamClient {
            http,
            policy,
            gate: None,
            secrets: Arc::new(Vec::new()),
            store: None,
        }
    }

    pub fn with_gate(mut self, gate: Arc<dyn RequestGate>) -> Self {
        self.gate = Some(gate);
        self
    }

    /// Values never to be echoed in an error message.
    pub fn with_secrets(mut self, secrets: Vec<SecretString>) -> Self {
        self.secrets = Arc::new(secrets);
        self
    }

    /// Caches and coalesces the `GET` requests of fetches that name their
    /// window ([`CallContext::with_cache_window`]) in `store`, keyed under
    /// `source` (spec §9).
    pub fn with_cache(mut self, store: Arc<dyn crate::cache::AnswerStore>, source: &str) -> Self {
        self.store = Some((store, source.into()));
        self
    }

    pub fn http(&self) -> &reqwest::Client {
        &self.http
    }

    pub fn policy(&self) -> &UpstreamPolicy {
        &self.policy
    }

    /// Sends `request`, retrying transient failures; `classify` turns a
    /// non-success response into the provider's typed error (it may ask
    /// for the scrubbed [`Excerpt`], made only then). Success statuses are
    /// returned unclassified.
    /// Through the answer cache when the client has one and `ctx` names
    /// its window (`crate::cache`): then an identical request in flight is
    /// joined and a usable stored answer (or `429`) returned unsent.
    pub async fn execute(
        &self,
        request: reqwest::Request,
        ctx: &CallContext,
        classify: impl Fn(&UpstreamResponse, Excerpt<'_>) -> Option<SourceError> + Send + Sync,
    ) -> Result<UpstreamResponse, SourceError> {
        match self.cache_key(&request, ctx) {
            Some((store, key, wants)) => {
                self.execute_cached(store, key, wants, request, ctx, &classify)
                    .await
            }
            None => self.execute_sent(request, ctx, &classify).await,
        }
    }

    /// [`UpstreamClient::execute`] without the cache.
    pub(crate) async fn execute_uncached(
        &self,
        request: reqwest::Request,
        ctx: &CallContext,
        classify: &(dyn Fn(&UpstreamResponse, Excerpt<'_>) -> Option<SourceError> + Send + Sync),
    ) -> Result<UpstreamResponse, SourceError> {
        let mut attempt = 0u32;
        let mut last: Option<SourceError> = None;
        loop {
            let Some(this_try) = request.try_clone() else {
                return Err(SourceError::Internal(
                    "the request cannot be repeated".into(),
                ));
            };
            let error = match self.attempt(this_try, ctx).await {
                // A retry loggate declines to send leaves the upstream's own
                // failure as the answer.
                Err(declined) if attempt > 0 && declined.culprit() != crate::Culprit::Upstream => {
                    return Err(last.unwrap_or(declined));
                }
                Ok(response) => {
                    let excerpt = Excerpt {
                        client: self,
                        body: &response.body,
                        headers: request.headers(),
                    };
                    match classify(&response, excerpt) {
                        None => return Ok(response),
                        Some(error) => {
                            ctx.failed.fetch_add(1, Ordering::Relaxed);
                            error
                        }
                    }
                }
                Err(error) => error,
            };
            // Whatever a classifier built from the raw body is scrubbed too,
            // also of the credentials this request carries (a fetched
            // token, a Basic pair): as secret as the configured ones.
            let error = self.scrub_error(error, &carried_credentials(request.headers()));
            if !error.is_retryable() || attempt >= self.policy.retries {
                return Err(error);
            }
            let wait = self.backoff(attempt, error.retry_after());
            if Instant::now() + wait + MIN_SEND_WINDOW > ctx.deadline {
                return Err(error);
            }
            last = Some(error.clone());
            tracing::debug!(attempt, wait_ms = wait.as_millis() as u64, error = %error, "retrying upstream request");
            tokio::time::sleep(wait).await;
            ctx.retries.fetch_add(1, Ordering::Relaxed);
            attempt += 1;
        }
    }

    async fn attempt(
        &self,
        request: reqwest::Request,
        ctx: &CallContext,
    ) -> Result<UpstreamResponse, SourceError> {
        let window = MIN_SEND_WINDOW.min(self.policy.timeout);
        if ctx.deadline.saturating_duration_since(Instant::now()) < window {
            return Err(SourceError::DeadlineExceeded);
        }
        let _permit = match &self.gate {
            Some(gate) => Some(gate.admit(ctx).await?),
            None => None,
        };
        let remaining = ctx.deadline.saturating_duration_since(Instant::now());
        let limit = self.policy.timeout.min(remaining);
        ctx.requests.fetch_add(1, Ordering::Relaxed);
        let result = match tokio::time::timeout(limit, self.send_and_read(request)).await {
            Ok(result) => result,
            Err(_) => {
                if limit < self.policy.timeout {
                    ctx.note_cut_short();
                }
                Err(SourceError::Timeout(limit))
            }
        };
        if result.is_err() {
            ctx.failed.fetch_add(1, Ordering::Relaxed);
        }
        result
    }

    async fn send_and_read(
        &self,
        request: reqwest::Request,
    ) -> Result<UpstreamResponse, SourceError> {
        let mut response = self.http.execute(request).await.map_err(network_error)?;
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        let cap = self.policy.max_body_bytes;
        let announced = response.content_length().map(|len| len as usize);
        if announced.is_some_and(|len| len > cap) {
            return Err(SourceError::TooLarge { limit: cap });
        }
        // One allocation of the announced size instead of a doubling run
        // of reallocations (each a large glibc allocation that first
        // consolidates the small free chunks: issue 13's fan-out profile).
        let mut body = Vec::with_capacity(announced.unwrap_or(0));
        loop {
            match response.chunk().await {
                Ok(Some(chunk)) => {
                    if body.len() + chunk.len() > cap {
                        return Err(SourceError::TooLarge { limit: cap });
                    }
                    body.extend_from_slice(&chunk);
                }
                Ok(None) => break,
                Err(e) => {
                    return Err(SourceError::Network(format!(
                        "response body cut off after {} bytes: {}",
                        body.len(),
                        short_cause(e)
                    )))
                }
            }
        }
        Ok(UpstreamResponse {
            status,
            headers,
            body,
        })
    }

    fn backoff(&self, attempt: u32, retry_after: Option<Duration>) -> Duration {
        let ceiling = self.policy.backoff.saturating_mul(1 << attempt.min(10));
        let jittered = ceiling.mul_f64(rand::random::<f64>());
        jittered.max(retry_after.unwrap_or_default())
    }

    /// At most 200 characters of `body`, whitespace folded, every known
    /// secret replaced by `[redacted]`.
    pub fn excerpt(&self, body: &[u8]) -> String {
        self.scrub_text(body, &[])
    }

    /// Every configured secret and `extra` value, for keys and excerpts.
    pub(crate) fn secret_values<'a>(&'a self, extra: &'a [String]) -> Vec<&'a str> {
        self.secrets
            .iter()
            .map(|s| s.expose_secret())
            .chain(extra.iter().map(String::as_str))
            .collect()
    }

    /// [`UpstreamClient::excerpt`] also redacting `extra` values.
    fn scrub_text(&self, body: &[u8], extra: &[String]) -> String {
        crate::excerpt::excerpt(body, &self.secret_values(extra))
    }

    /// `error` with every message excerpted and scrubbed.
    fn scrub_error(&self, error: SourceError, extra: &[String]) -> SourceError {
        let scrub = |m: String| self.scrub_text(m.as_bytes(), extra);
        match error {
            SourceError::Rejected { status, message } => SourceError::Rejected {
                status,
                message: scrub(message),
            },
            SourceError::Unauthorized { status, message } => SourceError::Unauthorized {
                status,
                message: scrub(message),
            },
            SourceError::RateLimited {
                message,
                retry_after,
            } => SourceError::RateLimited {
                message: scrub(message),
                retry_after,
            },
            SourceError::Upstream {
                status,
                message,
                retry_after,
            } => SourceError::Upstream {
                status,
                message: scrub(message),
                retry_after,
            },
            SourceError::Connect(m) => SourceError::Connect(scrub(m)),
            SourceError::Network(m) => SourceError::Network(scrub(m)),
            SourceError::Decode(m) => SourceError::Decode(scrub(m)),
            SourceError::InvalidPosition(m) => SourceError::InvalidPosition(scrub(m)),
            SourceError::Internal(m) => SourceError::Internal(scrub(m)),
            other @ (SourceError::Timeout(_)
            | SourceError::Overloaded { .. }
            | SourceError::DeadlineExceeded
            | SourceError::TooLarge { .. }
            | SourceError::CircuitOpen(_)) => other,
        }
    }
}

/// The scrubbed excerpt of an upstream answer's body (at most 200
/// characters, whitespace folded, every configured secret and every
/// credential the request carried redacted), made only when a classifier
/// asks for it: a successful answer is never copied, folded and searched
/// for secrets (issue 13: it was, for every answer).
pub struct Excerpt<'a> {
    client: &'a UpstreamClient,
    body: &'a [u8],
    /// The request's headers, for the credentials it carried.
    headers: &'a HeaderMap,
}

impl Excerpt<'_> {
    /// The excerpt's text (computed on each call).
    pub fn text(&self) -> String {
        self.client
            .scrub_text(self.body, &carried_credentials(self.headers))
    }
}

/// The credentials in a request's `Authorization` header: the token of
/// `Bearer`, and for `Basic` the encoded pair, the decoded pair and its
/// password.
pub(crate) fn carried_credentials(headers: &HeaderMap) -> Vec<String> {
    use base64::Engine as _;
    let Some(value) = headers
        .get(reqwest::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
    else {
        return Vec::new();
    };
    let Some((scheme, credential)) = value.trim().split_once(' ') else {
        return vec![value.to_string()];
    };
    let credential = credential.trim().to_string();
    let mut out = vec![credential.clone()];
    if scheme.eq_ignore_ascii_case("basic") {
        if let Ok(pair) = base64::engine::general_purpose::STANDARD.decode(&credential) {
            let pair = String::from_utf8_lossy(&pair).into_owned();
            if let Some((_, password)) = pair.split_once(':') {
                out.push(password.to_string());
            }
            out.push(pair);
        }
    }
    out
}

#[cfg(test)]
#[path = "http_tests.rs"]
mod tests;
