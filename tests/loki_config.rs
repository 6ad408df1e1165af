//! `[loki]` configuration: defaults, both line modes, and problems named
//! by key path like every other section.

mod common;

use loggate::config::{load_str, LokiConfig};
use loggate::logql::labels::LineMode;

/// One source of the stand-in provider.
fn source() -> String {
    format!(
        "[sources.app]\nkind = \"{}\"\nbase_url = \"http://127.0.0.1:9\"\ntoken = \"t\"\n",
        common::stand_in_kind()
    )
}

#[test]
fn defaults_to_enabled_with_message_lines() {
    let config = load_str(&source(), Vec::new()).unwrap();
    assert_eq!(config.loki, LokiConfig::default());
    assert!(config.loki.enabled);
    assert_eq!(config.loki.line, LineMode::Message);
}

#[test]
fn reads_both_keys_from_file_and_environment() {
    let config = load_str(
        &format!("{}[loki]\nline = \"json\"\n", source()),
        Vec::new(),
    )
    .unwrap();
    assert_eq!(config.loki.line, LineMode::Json);
    let env = vec![("LOGGATE_LOKI__ENABLED".to_string(), "false".to_string())];
    assert!(!load_str(&source(), env).unwrap().loki.enabled);
}

#[test]
fn problems_name_the_key_path() {
    for (toml, problem) in [
        ("[loki]\nline = \"xml\"\n", "loki.line"),
        ("[loki]\nenabled = \"yes\"\n", "loki.enabled"),
        ("[loki]\nlines = \"json\"\n", "loki.lines: unknown key"),
    ] {
        let errors = load_str(&format!("{}{toml}", source()), Vec::new()).unwrap_err();
        let text = errors.to_string();
        assert!(text.contains(problem), "{toml}: {text}");
    }
}
