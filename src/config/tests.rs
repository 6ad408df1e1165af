//! Configuration tests: every kind of mistake is reported with its key
//! path, all at once, and no secret value ever appears in the output.
//! The sources here are of a test provider (`fake`: a required token and
//! an optional flag); what the built-in providers take is tested with the
//! registry (`src/registry/tests.rs`) and in their crates.

use std::sync::Arc;

use loggate_core::provider::{de, Problem, ProviderParams, TypedProviderFactory};
use loggate_core::{Adapter, SourceSettings};

use super::*;

#[derive(Debug, serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct FakeParams {
    #[serde(default, deserialize_with = "de::secret")]
    token: Option<SecretString>,
    #[serde(default)]
    flag: Option<bool>,
}

impl ProviderParams for FakeParams {
    fn token(&self) -> Option<&SecretString> {
        self.token.as_ref()
    }
}

#[derive(Clone)]
struct Fake;

impl TypedProviderFactory for Fake {
    type Params = FakeParams;

    fn kind(&self) -> &'static str {
        "fake"
    }

    fn adapter(&self, _: &FakeParams, _: SourceSettings) -> Arc<dyn Adapter> {
        unreachable!("configuration tests build no adapter")
    }
}

/// Another test provider, taking `flag` too.
#[derive(Clone)]
struct Other;

impl TypedProviderFactory for Other {
    type Params = FakeParams;

    fn kind(&self) -> &'static str {
        "other"
    }

    fn validate(&self, _: &FakeParams) -> Vec<Problem> {
        Vec::new()
    }

    fn secrets(&self, _: &FakeParams) -> Vec<SecretString> {
        Vec::new()
    }

    fn adapter(&self, _: &FakeParams, _: SourceSettings) -> Arc<dyn Adapter> {
        unreachable!("configuration tests build no adapter")
    }
}

fn registry() -> Registry {
    Registry::empty().with(Fake).with(Other)
}

fn load_str(toml: &str, env: Vec<(String, String)>) -> Result<Config, ConfigErrors> {
    load_str_with(&registry(), toml, env)
}

fn load(path: &Path, env: Vec<(String, String)>) -> Result<Config, ConfigErrors> {
    load_with(&registry(), path, env)
}

const GOOD: &str = r#"
[server]
listen = "127.0.0.1:0"
request_timeout = "5s"
cursor_secret = "a-very-long-cursor-secret"
scan_budget = 500

[sources.app]
kind = "fake"
base_url = "http://127.0.0.1:9004"
token = "fake-secret-token"
rate_limit = { per_second = 5, burst = 10 }
timeout = "2s"
retries = 1
max_queue_wait = "250ms"

[sources.auth]
kind = "other"
base_url = "http://127.0.0.1:9003/"
token = "other-secret-value"
flag = false

[auth.keys.dashboards]
sha256 = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"
sources = ["app"]
rate_limit = { per_second = 20, burst = 40 }
"#;

fn env(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

fn problems(toml: &str) -> Vec<String> {
    load_str(toml, env(&[])).unwrap_err().0
}

#[test]
fn a_good_configuration_loads_with_defaults() {
    let config = load_str(GOOD, env(&[])).unwrap();
    assert_eq!(config.server.scan_budget, 500);
    assert_eq!(config.server.request_timeout, Duration::from_secs(5));
    assert_eq!(config.server.max_queue_wait, Duration::from_secs(1));
    let app = &config.sources["app"];
    assert_eq!(
        app.rate_limit,
        RateLimit {
            per_second: 5,
            burst: 10
        }
    );
    assert_eq!(
        (app.retries, app.enabled, app.max_concurrency),
        (1, true, 8)
    );
    assert_eq!(app.max_queue_wait, Duration::from_millis(250));
    let auth = &config.sources["auth"];
    assert_eq!(auth.max_queue_wait, super::validate::DEFAULT_MAX_QUEUE_WAIT);
    let params = auth.provider.params().downcast_ref::<FakeParams>();
    assert_eq!(params.unwrap().flag, Some(false));
    assert_eq!(config.kinds, ["fake", "other"]);
    assert_eq!(config.auth.keys["dashboards"].sources, vec!["app"]);
    assert_eq!(
        app.circuit_breaker,
        crate::breaker::BreakerSettings {
            failures: 5,
            cool_down: Duration::from_secs(30)
        }
    );
}

#[test]
fn the_circuit_breaker_takes_either_key() {
    let toml = "[sources.app]\nkind = \"fake\"\nbase_url = \"http://h\"\ntoken = \"t\"\ncircuit_breaker = { cool_down = \"200ms\" }";
    let breaker = load_str(toml, env(&[])).unwrap().sources["app"].circuit_breaker;
    assert_eq!(
        (breaker.failures, breaker.cool_down),
        (5, Duration::from_millis(200))
    );
    let env = env(&[("LOGGATE_SOURCES__APP__CIRCUIT_BREAKER__FAILURES", "2")]);
    let breaker = load_str(toml, env).unwrap().sources["app"].circuit_breaker;
    assert_eq!(breaker.failures, 2);
}

#[test]
fn environment_overrides_the_file_with_double_underscores() {
    let config = load_str(
        GOOD,
        env(&[
            ("LOGGATE_SOURCES__APP__TOKEN", "from-env"),
            ("LOGGATE_SERVER__SCAN_BUDGET", "42"),
            ("LOGGATE_SOURCES__APP__ENABLED", "false"),
            ("LOGGATE_LOG_FORMAT", "json"),
            ("OTHER_VAR", "x"),
        ]),
    )
    .unwrap();
    use secrecy::ExposeSecret;
    let params = config.sources["app"].provider.params();
    let token = params.downcast_ref::<FakeParams>().unwrap().token.as_ref();
    assert_eq!(token.unwrap().expose_secret(), "from-env");
    assert_eq!(config.server.scan_budget, 42);
    assert!(!config.sources["app"].enabled);
}

#[test]
fn a_whole_source_can_come_from_the_environment() {
    let config = load_str(
        "",
        env(&[
            ("LOGGATE_SOURCES__WORKFLOWS__KIND", "fake"),
            (
                "LOGGATE_SOURCES__WORKFLOWS__BASE_URL",
                "https://fake.example",
            ),
            ("LOGGATE_SOURCES__WORKFLOWS__TOKEN", "t0ken"),
        ]),
    )
    .unwrap();
    assert_eq!(config.sources["workflows"].kind, "fake");
}

#[test]
fn each_mistake_names_its_key_path() {
    let cases: &[(&str, &str)] = &[
        ("[sources.app]\nbase_url = \"http://h\"\ntoken = \"t\"", "sources.app.kind: required"),
        ("[sources.app]\nkind = \"fake\"\ntoken = \"t\"", "sources.app.base_url: required"),
        ("[sources.app]\nkind = \"fake\"\nbase_url = \"http://h\"", "sources.app.token: required"),
        ("[sources.app]\nkind = \"fake\"\nbase_url = \"http://h\"\ntoken = \"t\"\ntokn = \"x\"", "sources.app.tokn: unknown key"),
        ("[sources.app]\nkind = \"fake\"\nbase_url = \"ftp://h\"\ntoken = \"t\"", "sources.app.base_url: expected an http or https URL"),
        ("[sources.app]\nkind = \"fake\"\nbase_url = \"not a url\"\ntoken = \"t\"", "sources.app.base_url:"),
        ("[sources.app]\nkind = \"fake\"\nbase_url = \"http://h\"\ntoken = \"t\"\ntimeout = \"soon\"", "sources.app.timeout: expected a duration"),
        ("[server]\nrequest_timeout = \"0s\"\n[sources.app]\nkind = \"fake\"\nbase_url = \"http://h\"\ntoken = \"t\"", "server.request_timeout: expected a duration"),
        ("[sources.App]\nkind = \"fake\"\nbase_url = \"http://h\"\ntoken = \"t\"", "sources.App: source names are 1 to 32 characters"),
        ("[sources.app]\nkind = \"splunk\"\nbase_url = \"http://h\"\ntoken = \"t\"", "sources.app.kind: unknown kind \"splunk\"; expected one of fake, other"),
        ("[sources.app]\nkind = \"other\"\nbase_url = \"http://h\"\nflag = \"on\"", "sources.app.flag: invalid type: string \"on\", expected a boolean"),
        ("[server]\nlisten = \"localhost\"\n[sources.app]\nkind = \"fake\"\nbase_url = \"http://h\"\ntoken = \"t\"", "server.listen: expected an address"),
        ("[serverr]\n[sources.app]\nkind = \"fake\"\nbase_url = \"http://h\"\ntoken = \"t\"", "serverr: unknown key"),
        ("", "sources: at least one source is required"),
        ("[sources.app]\nkind = \"fake\"\nbase_url = \"http://h\"\ntoken = \"t\"\n[auth.keys.k]\nsha256 = \"abc\"\nsources = [\"nope\"]", "auth.keys.k.sha256: expected 64 hexadecimal characters"),
        ("[sources.app]\nkind = \"fake\"\nbase_url = \"http://h\"\ntoken = \"t\"\n[auth.keys.k]\nsha256 = \"abc\"\nsources = [\"nope\"]", "auth.keys.k.sources: no source named \"nope\""),
        ("[sources.app]\nkind = \"fake\"\nbase_url = \"http://h\"\ntoken = \"t\"\nmax_queue_wait = 1000", "sources.app.max_queue_wait: expected a duration from 1ms to 1h such as \"10s\" or \"500ms\", got 1000"),
        ("[sources.app]\nkind = \"fake\"\nbase_url = \"http://h\"\ntoken = \"t\"\nmax_queue_wait = \"0ms\"", "sources.app.max_queue_wait: expected a duration"),
        ("[sources.app]\nkind = \"fake\"\nbase_url = \"http://h\"\ntoken = \"t\"\nrate_limit = { burst = 3 }", "sources.app.rate_limit.per_second: required"),
        ("[sources.app]\nkind = \"fake\"\nbase_url = \"http://h\"\ntoken = \"t\"\ncircuit_breaker = { failures = 0 }", "sources.app.circuit_breaker.failures: expected an integer from 1 to 1000"),
        ("[sources.app]\nkind = \"fake\"\nbase_url = \"http://h\"\ntoken = \"t\"\ncircuit_breaker = { cool_down = \"later\" }", "sources.app.circuit_breaker.cool_down: expected a duration"),
        ("[sources.app]\nkind = \"fake\"\nbase_url = \"http://h\"\ntoken = \"t\"\ncircuit_breaker = { failure = 3 }", "sources.app.circuit_breaker.failure: unknown key"),
        ("[sources.app]\nkind = \"fake\"\nbase_url = \"http://h\"\ntoken = \"t\"\ncircuit_breaker = 3", "sources.app.circuit_breaker: expected a table"),
    ];
    for (toml, expected) in cases {
        let found = problems(toml);
        assert!(
            found.iter().any(|p| p.starts_with(expected)),
            "expected a problem starting {expected:?} for\n{toml}\ngot {found:#?}"
        );
    }
}

#[test]
fn a_duplicate_source_is_a_problem_naming_it() {
    let found = problems(
        "[sources.app]\nkind = \"fake\"\nbase_url = \"http://h\"\ntoken = \"t\"\n\
         [sources.app]\nkind = \"fake\"\nbase_url = \"http://h\"\ntoken = \"t\"",
    );
    assert!(
        found
            .iter()
            .any(|p| p.contains("app") && p.contains("duplicate")),
        "{found:#?}"
    );
}

#[test]
fn every_problem_is_reported_at_once() {
    let found = problems(
        "[server]\nscan_budget = 0\n[sources.a]\nkind = \"nope\"\nbase_url = \"x\"\n[sources.b]\nkind = \"fake\"\nbase_url = \"http://h\"\nextra = 1",
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
        "[server]\ncursor_secret = \"short\"\n[sources.a]\nkind = \"fake\"\nbase_url = \"http://user:{secret}@h\"\n\
         token = [\"{secret}\"]\nunknown = \"{secret}\""
    );
    let found = problems(&toml).join("\n");
    assert!(found.contains("server.cursor_secret"), "{found}");
    assert!(
        found.contains("sources.a.token: expected a string (value not shown)"),
        "{found}"
    );
    assert!(!found.contains(secret), "{found}");
    assert!(!found.contains("short"), "{found}");
    // A TOML syntax error on a secret's line does not echo the line.
    let broken = format!("[sources.a]\ntoken = \"{secret}");
    let found = problems(&broken).join("\n");
    assert!(!found.contains(secret), "{found}");
}

#[test]
fn a_missing_file_is_named() {
    let e = load(Path::new("/nonexistent/loggate.toml"), env(&[])).unwrap_err();
    assert!(e.0[0].contains("/nonexistent/loggate.toml"));
}

#[test]
fn debug_output_hides_secrets() {
    let config = load_str(GOOD, env(&[])).unwrap();
    let debug = format!("{config:?}");
    assert!(!debug.contains("fake-secret-token"));
    assert!(!debug.contains("other-secret-value"));
    assert!(!debug.contains("a-very-long-cursor-secret"));
}

#[test]
fn the_cache_table_is_validated_with_its_key_paths() {
    let base = "[sources.app]\nkind = \"fake\"\nbase_url = \"http://h\"\ntoken = \"t\"\n";
    let cases: &[(&str, &str)] = &[
        (
            "[cache]\nmax_bytes = -1",
            "cache.max_bytes: expected an integer from 0 to",
        ),
        (
            "[cache]\nfresh_ttl = \"soon\"",
            "cache.fresh_ttl: expected a duration",
        ),
        (
            "[cache]\nfresh_ttl = \"1m\"\nsettled_ttl = \"10s\"",
            "cache.settled_ttl: must be at least fresh_ttl",
        ),
        (
            "[cache]\npin_rounding = \"2m\"",
            "cache.pin_rounding: expected at most 60s",
        ),
        (
            "[cache]\nenabled = \"yes\"",
            "cache.enabled: expected true or false",
        ),
        ("[cache]\nttl = \"1s\"", "cache.ttl: unknown key"),
    ];
    for (cache, expected) in cases {
        let found = problems(&format!("{base}{cache}"));
        assert!(
            found.iter().any(|p| p.starts_with(expected)),
            "expected a problem starting {expected:?} for\n{cache}\ngot {found:#?}"
        );
    }
    let config = load_str(base, Vec::new()).unwrap();
    assert_eq!(config.cache, super::CacheConfig::default());
    let tuned = format!("{base}[cache]\nmax_bytes = 1024\npin_rounding = \"250ms\"");
    let config = load_str(&tuned, env(&[("LOGGATE_CACHE__ENABLED", "false")])).unwrap();
    assert_eq!(config.cache.settings.max_bytes, 1024);
    assert!(!config.cache.settings.enabled);
    assert_eq!(
        config.cache.pin_rounding,
        std::time::Duration::from_millis(250)
    );
    // Partial-range reuse is on by default (5 min grid, 10 min horizon),
    // off with `settled_grid = "0s"` or without the cache.
    let split = load_str(base, Vec::new()).unwrap().cache.split();
    assert_eq!(
        split.map(|g| (g.grid_ms, g.horizon_ms)),
        Some((300_000, 600_000))
    );
    let off = format!("{base}[cache]\nsettled_grid = \"0s\"");
    assert_eq!(load_str(&off, Vec::new()).unwrap().cache.split(), None);
    assert_eq!(config.cache.split(), None, "the cache is off");
}

#[test]
fn late_window_is_off_by_default_and_validated() {
    let config = load_str(GOOD, env(&[])).unwrap();
    assert!(config.follow.late_window.is_zero());
    assert_eq!(config.follow.late_ids, crate::engine::late::MAX_LATE_IDS);
    let base = "[sources.app]\nkind = \"fake\"\nbase_url = \"http://h\"\ntoken = \"t\"\n";
    let cases: &[(&str, &str)] = &[
        (
            "[follow]\nlate_window = \"2h\"",
            "follow.late_window: expected a duration from 0s to 1h",
        ),
        (
            "[follow]\nlate_ids = 0",
            "follow.late_ids: expected an integer from 1 to 256",
        ),
        (
            "[follow]\nlate_ids = 1000",
            "follow.late_ids: expected an integer from 1 to 256",
        ),
    ];
    for (follow, expected) in cases {
        let found = problems(&format!("{base}{follow}"));
        assert!(
            found.iter().any(|p| p.starts_with(expected)),
            "expected a problem starting {expected:?} for\n{follow}\ngot {found:#?}"
        );
    }
}
