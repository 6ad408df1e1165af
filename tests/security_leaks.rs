//! Black-box leak test: a gateway in front of every registered provider's
//! simulator, run with distinctive secret values (each source's upstream
//! token, the cursor secret, an API key), through traversals, upstream
//! errors whose bodies echo the credentials, bad API keys and tampered
//! cursors. No secret may appear in the process's logs at TRACE level, in
//! any response body or header, in `Debug` of the configuration, in
//! configuration errors, in `/sources`, `/metrics` or `/openapi.json`.
//! (Credentials of a provider's own kind, such as a client-credentials
//! grant and the tokens it issues: `tests/provider_<kind>_leaks.rs`.)

mod common;

use common::fleet::{Kind, Sim};
use common::leaks::{
    assert_no_secret, captured_logs, fail_all_with, logs_text, server_and_key_toml, Probe, API_KEY,
    CURSOR_SECRET,
};
use common::Gateway;
use loggate::config;
use loggate::registry::Registry;
use loggate_core::sim::{serve_loopback, Served, SimSpec};
use loggate_core::time::now_ms;

/// A token no other secret contains, for the `i`th source.
fn token(i: usize) -> String {
    format!("TOKEN{i}-sekrit-{:06x}", 0x9d0c4e + i * 0x1f3)
}

fn secrets(tokens: &[String]) -> Vec<String> {
    let mut all = tokens.to_vec();
    all.extend([CURSOR_SECRET, API_KEY, "sekrit"].map(String::from));
    all
}

struct AllProviders {
    probe: Probe,
    /// (source name, simulator) per registered provider.
    sims: Vec<(String, Sim)>,
    tokens: Vec<String>,
    toml: String,
    _served: Vec<Served>,
}

/// Every registered provider (default variant), 40 records each over the
/// last hour, each source with its own secret token.
async fn start() -> AllProviders {
    let registry = Registry::builtin();
    let mut toml = server_and_key_toml();
    let (mut sims, mut tokens, mut served) = (Vec::new(), Vec::new(), Vec::new());
    for (i, kind) in Kind::each_provider().into_iter().enumerate() {
        let mut spec = SimSpec::new(31 + i as u64, 40, now_ms());
        (spec.token, spec.variant) = (token(i), kind.variant.into());
        let factory = registry.get(kind.provider).expect("registered");
        let sim = Sim(factory.simulator(&spec).expect("a simulator"));
        let server = serve_loopback(sim.router()).await.expect("simulator binds");
        let name = format!("s{i}");
        let table = sim.source_table(kind, &server.base_url());
        toml += &format!("[sources.{name}]\n{table}{}\n", common::fleet::UNLIMITED);
        sims.push((name, sim));
        tokens.push(spec.token);
        served.push(server);
    }
    AllProviders {
        probe: Probe::start(&toml).await,
        sims,
        tokens,
        toml,
        _served: served,
    }
}

#[tokio::test]
async fn no_secret_leaks_through_logs_responses_or_debug_output() {
    captured_logs();
    tracing::trace!("capture works");
    let all = start().await;
    let probe = &all.probe;
    let secrets = secrets(&all.tokens);
    let mut held = all.tokens.clone();
    held.push(CURSOR_SECRET.into());

    // Ordinary traffic.
    assert!(probe.traverse("limit=13").await > 100);
    assert!(probe.traverse("order=asc&limit=50&level=ERROR").await > 0);
    probe.get("/sources").await;

    // Each source fails echoing the credentials: 500, 401, 400 and 429,
    // alone (502) and alongside the others (partial).
    for (name, sim) in &all.sims {
        for status in [500, 401, 400, 429] {
            fail_all_with(sim.faults(), status, &held, "");
            let (code, body) = probe.get(&format!("/logs?source={name}")).await;
            assert!(code == 502 || code == 504, "{name} {status}: {body}");
            let (code, body) = probe.get("/logs?limit=5").await;
            assert_eq!(code, 200, "{body}");
            assert_eq!(body["partial"], true, "{body}");
            sim.faults().clear();
        }
    }
    probe.refusals_and_open_endpoints().await;

    // Debug output of the configuration.
    let config = config::load_str(&all.toml, Vec::new()).unwrap();
    assert_no_secret(&secrets, &format!("{config:?}"), "Debug of Config");
    assert_no_secret(&secrets, &format!("{config:#?}"), "pretty Debug of Config");

    let transcript = probe.transcript();
    assert!(transcript.contains("upstream"), "errors were answered");
    assert_no_secret(&secrets, &transcript, "a response");

    let logs = logs_text();
    assert!(logs.contains("capture works") && logs.contains("source failed"));
    assert_no_secret(&secrets, &logs, "the logs");
}

#[test]
fn configuration_errors_never_echo_secrets() {
    // A token-only provider; the second secret sits under a key it does
    // not take (another provider's client secret).
    let kind = Kind::stand_in().provider;
    let (secret, other) = (token(0), "CLIENTSECRET-sekrit-5a6b7c");
    let source = |line: &str| {
        format!("[sources.app]\nkind = \"{kind}\"\nbase_url = \"http://127.0.0.1:1\"\n{line}\n")
    };
    let cases = [
        source(&format!("token = [\"{secret}\"]")),
        source(&format!("token = \"{secret}\"\ntokn = \"{secret}\"")),
        source(&format!("token = \"{secret}")),
        source(&format!(
            "token = \"{secret}\"\nclient_secret = \"{other}\""
        )),
        format!(
            "[server]\ncursor_secret = \"sekrit\"\n{}",
            source("token = \"t0ken\"")
        ),
        format!(
            "[server]\ncursor_secret = {{ v = \"{CURSOR_SECRET}\" }}\n{}",
            source("")
        ),
        format!(
            "{}[auth.keys.k]\nsha256 = \"{API_KEY}\"\nsources = [\"*\"]\n",
            source("token = \"t0ken\"")
        ),
    ];
    let secrets = secrets(&[secret.clone(), other.to_string()]);
    for toml in &cases {
        let problems = config::load_str(toml, Vec::new())
            .expect_err("each case is invalid")
            .to_string();
        assert_no_secret(&secrets, &problems, &format!("config errors for {toml:?}"));
    }
    let env = vec![
        ("LOGGATE_SOURCES__APP__TOKEN".to_string(), secret.clone()),
        ("LOGGATE_SOURCES__APP__TOKNE".to_string(), secret.clone()),
        (
            "LOGGATE_SERVER__CURSOR_SECRET".to_string(),
            "sekrit".to_string(),
        ),
    ];
    let problems = config::load_str(&source(""), env).unwrap_err().to_string();
    assert_no_secret(&secrets, &problems, "config errors from the environment");
}

#[tokio::test]
async fn open_access_is_announced_loudly_at_start() {
    captured_logs();
    let kind = Kind::stand_in();
    let sim = Sim::of(kind, 5);
    let served = serve_loopback(sim.router()).await.unwrap();
    let toml = format!(
        "[sources.app]\n{}",
        sim.source_table(kind, &served.base_url())
    );
    let gateway = Gateway::start(&toml).await;
    let (status, _) = gateway.get("/sources").await;
    assert_eq!(status, 200, "open access serves without a key");
    let text = logs_text();
    let warning = text
        .lines()
        .find(|line| line.contains("no API keys configured"))
        .expect("the open-access warning is logged");
    assert!(warning.contains("WARN"), "{warning}");
}
