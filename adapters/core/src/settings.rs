//! What the gateway hands an adapter factory: one source's validated
//! configuration and its shared HTTP client.

use secrecy::SecretString;
use url::Url;

use crate::http::UpstreamClient;

/// Logto only: whether the server honours `start_time`/`end_time`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum TimeFilter {
    /// Find out from the server's answers.
    #[default]
    Auto,
    On,
    Off,
}

/// One configured source.
#[derive(Clone)]
pub struct SourceSettings {
    /// The source's name (`[a-z0-9_]{1,32}`).
    pub name: String,
    /// The provider's API root; adapters append their paths to it.
    pub base_url: Url,
    pub token: Option<SecretString>,
    /// Client-credentials grant (Logto).
    pub client_id: Option<String>,
    pub client_secret: Option<SecretString>,
    pub resource: Option<String>,
    pub time_filter: TimeFilter,
    /// Push `q` down to a provider whose search may be case-sensitive
    /// (leveled); off when the provider's search loses matches.
    pub search_pushdown: bool,
    pub client: UpstreamClient,
}

impl std::fmt::Debug for SourceSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SourceSettings")
            .field("name", &self.name)
            .field("base_url", &self.base_url.as_str())
            .field("token", &self.token.as_ref().map(|_| "[redacted]"))
            .field("client_id", &self.client_id)
            .field(
                "client_secret",
                &self.client_secret.as_ref().map(|_| "[redacted]"),
            )
            .field("resource", &self.resource)
            .field("time_filter", &self.time_filter)
            .field("search_pushdown", &self.search_pushdown)
            .finish()
    }
}

impl SourceSettings {
    /// `base_url` joined with `path`, keeping any path prefix of the base
    /// (`https://host/api/` + `logs` = `https://host/api/logs`).
    pub fn endpoint(&self, path: &str) -> Url {
        let mut url = self.base_url.clone();
        {
            let mut segments = match url.path_segments_mut() {
                Ok(segments) => segments,
                Err(_) => return self.base_url.clone(),
            };
            segments.pop_if_empty();
            for segment in path.split('/').filter(|s| !s.is_empty()) {
                segments.push(segment);
            }
        }
        url
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::http::UpstreamPolicy;

    fn settings(base: &str) -> SourceSettings {
        SourceSettings {
            name: "s".into(),
            base_url: Url::parse(base).unwrap(),
            token: Some(SecretString::from("tok-123")),
            client_id: None,
            client_secret: None,
            resource: None,
            time_filter: TimeFilter::Auto,
            search_pushdown: true,
            client: UpstreamClient::new(UpstreamPolicy::default()),
        }
    }

    #[test]
    fn endpoint_keeps_the_base_path() {
        assert_eq!(
            settings("http://h:1").endpoint("logs").as_str(),
            "http://h:1/logs"
        );
        assert_eq!(
            settings("http://h:1/v1/").endpoint("/api/logs").as_str(),
            "http://h:1/v1/api/logs"
        );
    }

    #[test]
    fn debug_never_shows_secrets() {
        let text = format!("{:?}", settings("http://h:1"));
        assert!(!text.contains("tok-123"));
    }
}
