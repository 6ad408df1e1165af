//! Credentials for the Management API: a static access token, or the
//! client-credentials grant against `{base_url}/oidc/token`.
//!
//! A fetched token is cached and replaced shortly before it expires (60 s
//! or a tenth of its lifetime early, whichever is less). The cache sits
//! behind one async mutex held across the token request, so concurrent
//! fetches that all find it empty share a single token request. Neither
//! the secret nor any token is ever logged or put into an error.

use std::time::Duration;

use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use loggate_core::http::{classify_status, CallContext, Excerpt, UpstreamResponse};
use loggate_core::{SourceError, SourceSettings};
use secrecy::{ExposeSecret, SecretString};
use tokio::sync::Mutex;
use tokio::time::Instant;

use crate::factory::LogtoParams;
use crate::wire::{OidcError, TokenResponse};

/// Used when the token answer has no `expires_in` (Logto's default TTL).
const DEFAULT_TTL: Duration = Duration::from_secs(3600);

/// Where access tokens come from.
pub enum Credentials {
    Static(SecretString),
    ClientCredentials(ClientGrant),
    Missing,
}

impl Credentials {
    /// A static token when `params` has one, else the client-credentials
    /// grant when it has the pair.
    pub fn from_params(params: &LogtoParams) -> Self {
        if let Some(token) = &params.token {
            return Credentials::Static(token.clone());
        }
        match (&params.client_id, &params.client_secret) {
            (Some(client_id), Some(secret)) => Credentials::ClientCredentials(ClientGrant {
                client_id: client_id.clone(),
                client_secret: secret.clone(),
                resource: params.resource().to_string(),
                cache: Mutex::new(None),
            }),
            _ => Credentials::Missing,
        }
    }

    /// A token to send now.
    pub async fn token(
        &self,
        settings: &SourceSettings,
        ctx: &CallContext,
    ) -> Result<SecretString, SourceError> {
        match self {
            Credentials::Static(token) => Ok(token.clone()),
            Credentials::ClientCredentials(grant) => grant.token(settings, ctx, None).await,
            Credentials::Missing => Err(SourceError::Unauthorized {
                status: 401,
                message:
                    "no credentials configured: set token or client_id, client_secret and resource"
                        .into(),
            }),
        }
    }

    /// A token after `rejected` got a 401: a fresh one from the grant, or
    /// `None` when there is nothing to refresh (a static token).
    pub async fn refreshed(
        &self,
        settings: &SourceSettings,
        ctx: &CallContext,
        rejected: &SecretString,
    ) -> Result<Option<SecretString>, SourceError> {
        match self {
            Credentials::ClientCredentials(grant) => {
                grant.token(settings, ctx, Some(rejected)).await.map(Some)
            }
            _ => Ok(None),
        }
    }
}

struct CachedToken {
    token: SecretString,
    refresh_at: Instant,
}

pub struct ClientGrant {
    client_id: String,
    client_secret: SecretString,
    resource: String,
    cache: Mutex<Option<CachedToken>>,
}

impl ClientGrant {
    /// The cached token unless it is due or equals `rejected`; otherwise
    /// one token request made while holding the cache lock.
    async fn token(
        &self,
        settings: &SourceSettings,
        ctx: &CallContext,
        rejected: Option<&SecretString>,
    ) -> Result<SecretString, SourceError> {
        // Waiting for another fetch's token request must not outlive ours.
        let Ok(mut cache) = tokio::time::timeout_at(ctx.deadline, self.cache.lock()).await else {
            // Loggate's own wait, not the upstream's: nothing was sent.
            return Err(SourceError::DeadlineExceeded);
        };
        if let Some(cached) = cache.as_ref() {
            let is_rejected =
                rejected.is_some_and(|r| r.expose_secret() == cached.token.expose_secret());
            if !is_rejected && Instant::now() < cached.refresh_at {
                return Ok(cached.token.clone());
            }
        }
        *cache = None;
        let answer = self.request_token(settings, ctx).await?;
        let ttl = answer
            .expires_in
            .map(Duration::from_secs)
            .unwrap_or(DEFAULT_TTL);
        let token = SecretString::from(answer.access_token);
        *cache = Some(CachedToken {
            token: token.clone(),
            refresh_at: Instant::now() + ttl.saturating_sub(refresh_margin(ttl)),
        });
        tracing::debug!(source = %settings.name, ttl_s = ttl.as_secs(), "fetched a management api token");
        Ok(token)
    }

    async fn request_token(
        &self,
        settings: &SourceSettings,
        ctx: &CallContext,
    ) -> Result<TokenResponse, SourceError> {
        let body: String = url::form_urlencoded::Serializer::new(String::new())
            .append_pair("grant_type", "client_credentials")
            .append_pair("resource", &self.resource)
            .append_pair("scope", "all")
            .finish();
        let basic = STANDARD.encode(format!(
            "{}:{}",
            self.client_id,
            self.client_secret.expose_secret()
        ));
        let request = settings
            .client
            .http()
            .post(settings.endpoint("oidc/token"))
            .header(reqwest::header::AUTHORIZATION, format!("Basic {basic}"))
            .header(
                reqwest::header::CONTENT_TYPE,
                "application/x-www-form-urlencoded",
            )
            .header(reqwest::header::ACCEPT, "application/json")
            .body(body)
            .build()
            .map_err(|e| {
                SourceError::Internal(format!("could not build the token request: {e}"))
            })?;
        let response = settings
            .client
            .execute(request, ctx, classify_token_error)
            .await?;
        let answer: TokenResponse = response.json()?;
        if answer.access_token.is_empty() {
            return Err(SourceError::Decode(
                "token answer has an empty access_token".into(),
            ));
        }
        Ok(answer)
    }
}

/// Refresh a minute early, or a tenth of the lifetime for short-lived tokens.
pub fn refresh_margin(ttl: Duration) -> Duration {
    (ttl / 10).min(Duration::from_secs(60))
}

/// `/oidc/token` speaks OIDC errors (`invalid_client`, `invalid_target`).
/// A refused client is a credentials problem whatever the status.
fn classify_token_error(response: &UpstreamResponse, excerpt: Excerpt<'_>) -> Option<SourceError> {
    if (200..300).contains(&response.status) {
        return None;
    }
    let body: OidcError = serde_json::from_slice(&response.body).unwrap_or_default();
    let message = match (body.error, body.error_description) {
        (Some(code), Some(text)) => format!("token request failed: {code}: {text}"),
        (Some(code), None) => format!("token request failed: {code}"),
        _ => format!("token request failed: {}", excerpt.text()),
    };
    let status = response.status;
    if matches!(status, 400 | 401 | 403) {
        return Some(SourceError::Unauthorized { status, message });
    }
    classify_status(response, message)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refresh_margin_is_a_minute_or_a_tenth() {
        assert_eq!(
            refresh_margin(Duration::from_secs(3600)),
            Duration::from_secs(60)
        );
        assert_eq!(
            refresh_margin(Duration::from_secs(120)),
            Duration::from_secs(12)
        );
        assert_eq!(refresh_margin(Duration::ZERO), Duration::ZERO);
    }
}
