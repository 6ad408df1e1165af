//! Logto's credentials of its own kind never leak: a gateway reading
//! Logto with the client-credentials grant (a distinctive client secret)
//! sees error bodies echoing the access token it was just issued, 401s
//! everywhere with the token endpoint failing too, and expired tokens.
//! No secret (the client secret, the Basic pair in both forms, any issued
//! token) may appear in the logs at TRACE level, in a response, or in
//! `Debug` of the configuration (harness: `common/leaks.rs`).

mod common;

use base64::Engine as _;
use common::fleet::UNLIMITED;
use common::leaks::{
    assert_no_secret, captured_logs, echoing_body, fail_all_with, logs_text, server_and_key_toml,
    Probe, API_KEY, CURSOR_SECRET,
};
use loggate::config;
use loggate_core::sim::{serve_loopback, Fault, Faults};
use loggate_core::time::now_ms;
use loggate_logto::sim::{LogtoSim, SimConfig};

const LOGTO_ID: &str = "logto-client-id";
const LOGTO_SECRET: &str = "LOGTOSECRET-sekrit-5a6b7c";
/// Every access token the Logto simulator issues starts with this.
const ISSUED_PREFIX: &str = "sim-at-";

fn basic() -> String {
    base64::engine::general_purpose::STANDARD.encode(format!("{LOGTO_ID}:{LOGTO_SECRET}"))
}

fn secrets() -> Vec<String> {
    [
        LOGTO_SECRET,
        CURSOR_SECRET,
        API_KEY,
        ISSUED_PREFIX,
        "sekrit",
        &basic(),
    ]
    .map(String::from)
    .to_vec()
}

/// What the gateway holds: echoed by the failing simulator.
fn held() -> Vec<String> {
    [
        LOGTO_SECRET,
        CURSOR_SECRET,
        &basic(),
        &format!("{LOGTO_ID}:{LOGTO_SECRET}"),
    ]
    .map(String::from)
    .to_vec()
}

/// The access token the gateway last sent to the Logto simulator.
fn last_bearer(faults: &Faults) -> String {
    faults
        .seen()
        .iter()
        .rev()
        .find_map(|r| {
            r.header("authorization")?
                .strip_prefix("Bearer ")
                .map(str::to_string)
        })
        .expect("the gateway sent a bearer token to logto")
}

#[tokio::test]
async fn no_logto_credential_leaks_through_logs_responses_or_debug_output() {
    captured_logs();
    tracing::trace!("capture works");
    let mut c = SimConfig::demo(now_ms());
    (c.spec.records, c.spec.span_ms, c.spec.token) = (40, 3_600_000, String::new());
    (c.client_id, c.client_secret) = (LOGTO_ID.into(), LOGTO_SECRET.into());
    let auth = LogtoSim::new(c);
    let served = serve_loopback(auth.router()).await.unwrap();
    let toml = format!(
        "{}[sources.auth]\nkind = \"logto\"\nbase_url = \"{}\"\nclient_id = \"{LOGTO_ID}\"\nclient_secret = \"{LOGTO_SECRET}\"\n{UNLIMITED}\n",
        server_and_key_toml(),
        served.base_url(),
    );
    let probe = Probe::start(&toml).await;
    assert!(probe.traverse("limit=13").await > 0);
    assert!(probe.traverse("order=asc&limit=50&level=ERROR").await > 0);

    // An error body echoing the access token it was just given ...
    let issued = last_bearer(auth.faults());
    fail_all_with(auth.faults(), 500, &held(), &issued);
    let (code, body) = probe.get("/logs?source=auth").await;
    assert_eq!(code, 502, "{body}");
    // ... and 401s everywhere, the token endpoint included (the gateway
    // refreshes its token after the 401 and the refresh fails too).
    // (The token endpoint never receives the access token, so its body
    // echoes only the client credentials.)
    auth.faults().clear();
    let issued = last_bearer(auth.faults());
    auth.faults()
        .fail_next(Fault::status(401, &echoing_body(&held(), &issued)));
    auth.faults()
        .fail_next(Fault::status(401, &echoing_body(&held(), "")));
    let (code, body) = probe.get("/logs?source=auth").await;
    assert_eq!(code, 502, "{body}");
    assert!(
        auth.faults()
            .seen()
            .iter()
            .any(|r| r.path.ends_with("/oidc/token")),
        "the token endpoint was asked"
    );
    auth.faults().clear();
    auth.expire_all_tokens();
    assert!(probe.traverse("source=auth&limit=20").await > 0);
    probe.refusals_and_open_endpoints().await;

    let config = config::load_str(&toml, Vec::new()).unwrap();
    assert_no_secret(&secrets(), &format!("{config:?}"), "Debug of Config");
    assert_no_secret(
        &secrets(),
        &format!("{config:#?}"),
        "pretty Debug of Config",
    );
    let transcript = probe.transcript();
    assert!(transcript.contains("upstream"), "errors were answered");
    assert_no_secret(&secrets(), &transcript, "a response");
    let logs = logs_text();
    assert!(logs.contains("capture works") && logs.contains("source failed"));
    assert_no_secret(&secrets(), &logs, "the logs");
}
