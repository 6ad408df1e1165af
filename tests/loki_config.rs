//! `[loki]` configuration: defaults, both line modes, and problems named
//! by key path like every other section.

use loggate::config::{load_str, LokiConfig};
use loggate::logql::labels::LineMode;

const SOURCE: &str =
    "[sources.app]\nkind = \"leveled\"\nbase_url = \"http://127.0.0.1:9\"\ntoken = \"t\"\n";

#[test]
fn defaults_to_enabled_with_message_lines() {
    let config = load_str(SOURCE, Vec::new()).unwrap();
    assert_eq!(config.loki, LokiConfig::default());
    assert!(config.loki.enabled);
    assert_eq!(config.loki.line, LineMode::Message);
}

#[test]
fn reads_both_keys_from_file_and_environment() {
    let config = load_str(&format!("{SOURCE}[loki]\nline = \"json\"\n"), Vec::new()).unwrap();
    assert_eq!(config.loki.line, LineMode::Json);
    let env = vec![("LOGGATE_LOKI__ENABLED".to_string(), "false".to_string())];
    assert!(!load_str(SOURCE, env).unwrap().loki.enabled);
}

#[test]
fn problems_name_the_key_path() {
    for (toml, problem) in [
        ("[loki]\nline = \"xml\"\n", "loki.line"),
        ("[loki]\nenabled = \"yes\"\n", "loki.enabled"),
        ("[loki]\nlines = \"json\"\n", "loki.lines: unknown key"),
    ] {
        let errors = load_str(&format!("{SOURCE}{toml}"), Vec::new()).unwrap_err();
        let text = errors.to_string();
        assert!(text.contains(problem), "{toml}: {text}");
    }
}
