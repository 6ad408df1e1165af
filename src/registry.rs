//! The one list of providers this build knows: configuration validation,
//! `check-config`, `demo`, the OpenAPI description of `kind`, the tests and
//! the benchmark all read it. Adding a provider is one crate under
//! `adapters/` and one line in [`Registry::builtin`] (README, "Adding a
//! provider").

use std::sync::Arc;

use loggate_core::ProviderFactory;

/// Provider factories by kind, in registration order (the order the
/// unknown-kind error lists them in).
#[derive(Clone)]
pub struct Registry {
    factories: Vec<Arc<dyn ProviderFactory>>,
}

impl Registry {
    /// No provider at all (tests build their own).
    pub fn empty() -> Self {
        Registry {
            factories: Vec::new(),
        }
    }

    /// Every provider of this build.
    pub fn builtin() -> Self {
        Registry::empty()
            .with(loggate_promptcrafter::PromptCrafterFactory)
            .with(loggate_alloy::AlloyFactory)
            .with(loggate_logto::LogtoFactory)
            .with(loggate_leveled::LeveledFactory)
    }

    /// This registry and `factory`, which replaces one of the same kind.
    pub fn with(mut self, factory: impl ProviderFactory) -> Self {
        self.factories.retain(|f| f.kind() != factory.kind());
        self.factories.push(Arc::new(factory));
        self
    }

    /// The factory of `kind`.
    pub fn get(&self, kind: &str) -> Option<&Arc<dyn ProviderFactory>> {
        self.factories.iter().find(|f| f.kind() == kind)
    }

    /// The registered kinds, in registration order.
    pub fn kinds(&self) -> Vec<&'static str> {
        self.factories.iter().map(|f| f.kind()).collect()
    }

    pub fn factories(&self) -> impl Iterator<Item = &Arc<dyn ProviderFactory>> {
        self.factories.iter()
    }

    /// The kinds whose settings take `key`, in registration order.
    pub fn kinds_taking(&self, key: &str) -> Vec<&'static str> {
        self.factories
            .iter()
            .filter(|f| f.keys().contains(&key))
            .map(|f| f.kind())
            .collect()
    }
}

impl Default for Registry {
    fn default() -> Self {
        Registry::builtin()
    }
}

impl std::fmt::Debug for Registry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list().entries(self.kinds()).finish()
    }
}

#[cfg(test)]
mod tests {
    // The built-in registry: the configuration of each built-in provider's
    // keys, as a user writes them, reported with key paths.

    use std::time::Duration;

    use loggate_logto::{LogtoParams, TimeFilter};
    use secrecy::ExposeSecret;

    use super::*;
    use crate::config::{load_str, ConfigErrors};

    fn env(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    fn problems(toml: &str) -> Vec<String> {
        let ConfigErrors(found) = load_str(toml, env(&[])).unwrap_err();
        found
    }

    fn assert_problem(toml: &str, expected: &str) {
        let found = problems(toml);
        assert!(
            found.iter().any(|p| p.starts_with(expected)),
            "expected a problem starting {expected:?} for\n{toml}\ngot {found:#?}"
        );
    }

    #[test]
    fn the_builtin_kinds_in_order() {
        assert_eq!(
            Registry::builtin().kinds(),
            ["promptcrafter", "alloy", "logto", "leveled"]
        );
        assert_problem(
            "[sources.app]\nkind = \"splunk\"\nbase_url = \"http://h\"\ntoken = \"t\"",
            "sources.app.kind: unknown kind \"splunk\"; expected one of promptcrafter, alloy, logto, leveled",
        );
    }

    #[test]
    fn a_logto_source_with_the_grant_loads_with_defaults() {
        let config = load_str(
            "[sources.auth]\nkind = \"logto\"\nbase_url = \"http://127.0.0.1:9003/\"\n\
             client_id = \"cid\"\nclient_secret = \"logto-secret-value\"\ntime_filter = \"off\"",
            env(&[]),
        )
        .unwrap();
        let auth = &config.sources["auth"];
        let params = auth
            .provider
            .params()
            .downcast_ref::<LogtoParams>()
            .unwrap();
        assert_eq!(params.time_filter, TimeFilter::Off);
        assert_eq!(params.resource(), "https://default.logto.app/api");
        assert_eq!(auth.timeout, Duration::from_secs(10));
        // The pair is scrubbed as it travels in the Basic header too.
        let secrets: Vec<String> = auth
            .provider
            .secrets()
            .iter()
            .map(|s| s.expose_secret().to_string())
            .collect();
        assert!(secrets.contains(&"cid:logto-secret-value".to_string()));
        assert!(secrets.contains(&"Y2lkOmxvZ3RvLXNlY3JldC12YWx1ZQ==".to_string()));
        assert!(!format!("{config:?}").contains("logto-secret-value"));
    }

    #[test]
    fn a_key_of_another_kind_says_which_kind_takes_it() {
        let base = "[sources.app]\nkind = \"leveled\"\nbase_url = \"http://h\"\ntoken = \"t\"\n";
        assert_problem(
            &format!("{base}time_filter = \"on\""),
            "sources.app.time_filter: only a source of kind logto",
        );
        assert_problem(
            "[sources.p]\nkind = \"promptcrafter\"\nbase_url = \"http://h\"\ntoken = \"t\"\nsearch_pushdown = false",
            "sources.p.search_pushdown: only sources of kind alloy and leveled take this key",
        );
        assert_problem(
            &format!("{base}tokn = \"x\""),
            "sources.app.tokn: unknown key",
        );
    }

    #[test]
    fn each_providers_credentials_are_required() {
        for kind in ["promptcrafter", "alloy", "leveled"] {
            assert_problem(
                &format!("[sources.s]\nkind = \"{kind}\"\nbase_url = \"http://h\""),
                "sources.s.token: required: the provider's API token",
            );
        }
        let logto = "[sources.a]\nkind = \"logto\"\nbase_url = \"http://h\"\n";
        assert_problem(
            logto,
            "sources.a.token: required: an access token, or client_id and client_secret",
        );
        let found = problems(&format!(
            "{logto}client_id = \"c\"\ntime_filter = \"sometimes\""
        ));
        for expected in [
            "sources.a.client_secret: required with client_id",
            "sources.a.time_filter: unknown variant",
        ] {
            assert!(found.iter().any(|p| p.starts_with(expected)), "{found:#?}");
        }
    }

    #[test]
    fn every_problem_is_reported_at_once() {
        let found = problems(
            "[server]\nscan_budget = 0\n[sources.a]\nkind = \"nope\"\nbase_url = \"x\"\n[sources.b]\nkind = \"alloy\"\nbase_url = \"http://h\"\nextra = 1",
        );
        for expected in [
            "server.scan_budget",
            "sources.a.kind",
            "sources.a.base_url",
            "sources.b.token",
            "sources.b.extra",
        ] {
            assert!(
                found.iter().any(|p| p.starts_with(expected)),
                "{expected} missing from {found:#?}"
            );
        }
    }

    #[test]
    fn secrets_never_appear_in_problems() {
        let secret = "SUPER-SECRET-VALUE-123";
        let toml = format!(
            "[sources.a]\nkind = \"logto\"\nbase_url = \"http://user:{secret}@h\"\n\
             token = \"{secret}\"\nclient_id = \"c\"\nclient_secret = \"{secret}\"\nunknown = \"{secret}\""
        );
        let found = problems(&toml).join("\n");
        assert!(
            found.contains("sources.a.token: set either token or client_id"),
            "{found}"
        );
        assert!(!found.contains(secret), "{found}");
    }

    #[test]
    fn a_whole_source_can_come_from_the_environment() {
        let config = load_str(
            "",
            env(&[
                ("LOGGATE_SOURCES__WORKFLOWS__KIND", "alloy"),
                (
                    "LOGGATE_SOURCES__WORKFLOWS__BASE_URL",
                    "https://alloy.example",
                ),
                ("LOGGATE_SOURCES__WORKFLOWS__TOKEN", "12345"),
                ("LOGGATE_SOURCES__WORKFLOWS__SEARCH_PUSHDOWN", "false"),
            ]),
        )
        .unwrap();
        let workflows = &config.sources["workflows"];
        assert_eq!(workflows.kind, "alloy");
        let params = workflows.provider.params();
        let params = params.downcast_ref::<loggate_alloy::AlloyParams>().unwrap();
        assert_eq!(params.search_pushdown, Some(false));
        assert_eq!(params.token.as_ref().unwrap().expose_secret(), "12345");
    }

    #[test]
    fn a_registry_takes_more_providers_and_replaces_by_kind() {
        let registry = Registry::builtin().with(loggate_leveled::LeveledFactory);
        assert_eq!(registry.kinds().len(), 4);
        assert_eq!(registry.kinds().last(), Some(&"leveled"));
        assert!(Registry::empty().get("leveled").is_none());
        assert_eq!(registry.kinds_taking("token").len(), 4);
    }
}
