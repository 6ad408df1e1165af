//! The typed factory behind the object-safe one: every problem of a table
//! at once, each naming its key, no secret in any of them.

use super::*;
use serde::Deserialize;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Params {
    #[serde(default, deserialize_with = "de::secret")]
    token: Option<SecretString>,
    #[serde(default)]
    flag: Option<bool>,
    #[serde(default, deserialize_with = "de::text")]
    name: Option<String>,
}

impl ProviderParams for Params {}

#[derive(Clone)]
struct Fake;

impl TypedProviderFactory for Fake {
    type Params = Params;

    fn kind(&self) -> &'static str {
        "fake"
    }

    fn validate(&self, params: &Params) -> Vec<Problem> {
        let mut problems = Vec::new();
        if params.token.is_none() {
            problems.push(Problem::new("token", "required"));
        }
        if params.flag == Some(false) && params.name.is_none() {
            problems.push(Problem::new("name", "required with flag = false"));
        }
        problems
    }

    fn secrets(&self, params: &Params) -> Vec<SecretString> {
        params.token.iter().cloned().collect()
    }

    fn adapter(&self, _params: &Params, _settings: SourceSettings) -> Arc<dyn Adapter> {
        unreachable!("not built in these tests")
    }
}

fn table(json: Value) -> Map<String, Value> {
    json.as_object().unwrap().clone()
}

fn problems(json: Value) -> Vec<String> {
    let factory: &dyn ProviderFactory = &Fake;
    factory
        .configure(&table(json))
        .unwrap_err()
        .iter()
        .map(Problem::to_string)
        .collect()
}

#[test]
fn good_params_configure_and_keep_their_type() {
    let factory: &dyn ProviderFactory = &Fake;
    let config = factory
        .configure(&table(serde_json::json!({"token": 1234, "name": 7})))
        .unwrap();
    assert_eq!(config.kind(), "fake");
    assert_eq!(config.secrets().len(), 1);
    let params = config.params().downcast_ref::<Params>().unwrap();
    assert_eq!(params.name.as_deref(), Some("7"));
    assert_eq!(factory.keys(), ["token", "flag", "name"]);
}

#[test]
fn every_unknown_key_and_every_bad_value_is_reported() {
    let found = problems(serde_json::json!({
        "tokn": "x", "extra": 1, "flag": "yes", "name": "", "token": ""
    }));
    for expected in [
        "tokn: unknown key",
        "extra: unknown key",
        "flag: invalid type",
        "name: expected a non-empty string",
        "token: expected at least 1 characters (value not shown)",
    ] {
        assert!(
            found.iter().any(|p| p.starts_with(expected)),
            "{expected} missing from {found:#?}"
        );
    }
}

#[test]
fn the_providers_rules_report_every_problem_and_no_secret() {
    let found = problems(serde_json::json!({"flag": false}));
    assert_eq!(
        found,
        ["token: required", "name: required with flag = false"]
    );
    let secret = "SUPER-SECRET-VALUE-123";
    let found = problems(serde_json::json!({"token": [secret]})).join("\n");
    assert!(found.contains("token: expected a string (value not shown)"));
    assert!(!found.contains(secret), "{found}");
}

#[test]
fn debug_of_a_config_hides_secrets() {
    let factory: &dyn ProviderFactory = &Fake;
    let config = factory
        .configure(&table(serde_json::json!({"token": "tok-secret-1"})))
        .unwrap();
    assert!(!format!("{config:?}").contains("tok-secret-1"));
}
