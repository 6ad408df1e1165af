//! What the gateway hands a provider's factory besides the provider's own
//! settings: the common keys of one source and its shared HTTP client.

use secrecy::SecretString;
use url::Url;

use crate::http::UpstreamClient;

/// One configured source.
#[derive(Clone)]
pub struct SourceSettings {
    /// The source's name (`[a-z0-9_]{1,32}`).
    pub name: String,
    /// The provider's API root; adapters append their paths to it.
    pub base_url: Url,
    /// The source's API token, when its provider takes one: set by the
    /// provider's factory from its own settings.
    pub token: Option<SecretString>,
    pub client: UpstreamClient,
}

impl std::fmt::Debug for SourceSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SourceSettings")
            .field("name", &self.name)
            .field("base_url", &self.base_url.as_str())
            .field("token", &self.token.as_ref().map(|_| "[redacted]"))
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
