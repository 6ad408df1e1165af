//! Black-box leak test: a gateway in front of all four simulators, run with
//! distinctive secret values (upstream tokens, Logto's client secret, the
//! cursor secret, an API key, and the access tokens Logto issues), through
//! traversals, upstream errors whose bodies echo the credentials, 401s, a
//! failing token endpoint, bad API keys and tampered cursors. No secret may
//! appear in the process's logs at TRACE level, in any response body or
//! header, in `Debug` of the configuration, in configuration errors, in
//! `/sources`, `/metrics` or `/openapi.json`.

mod common;

use std::io::Write;
use std::sync::{Arc, Mutex, OnceLock};

use base64::Engine as _;
use common::Gateway;
use loggate::config;
use loggate_core::sim::{serve_loopback, Fault, Faults, Served};
use loggate_core::time::now_ms;
use sha2::{Digest, Sha256};

const PC_TOKEN: &str = "PCTOKEN-sekrit-7f3a9c";
const ALLOY_TOKEN: &str = "ALLOYTOKEN-sekrit-2b8e1d";
const LEVELED_TOKEN: &str = "LEVTOKEN-sekrit-9d0c4e";
const LOGTO_ID: &str = "logto-client-id";
const LOGTO_SECRET: &str = "LOGTOSECRET-sekrit-5a6b7c";
const CURSOR_SECRET: &str = "CURSORSECRET-sekrit-1234567890";
const API_KEY: &str = "lg_APIKEY-sekrit-abcdef0123";
/// Every access token the Logto simulator issues starts with this.
const ISSUED_PREFIX: &str = "sim-at-";

fn secrets() -> Vec<String> {
    let basic =
        base64::engine::general_purpose::STANDARD.encode(format!("{LOGTO_ID}:{LOGTO_SECRET}"));
    [
        PC_TOKEN,
        ALLOY_TOKEN,
        LEVELED_TOKEN,
        LOGTO_SECRET,
        CURSOR_SECRET,
        API_KEY,
        ISSUED_PREFIX,
        "sekrit",
        &basic,
    ]
    .iter()
    .map(|s| s.to_string())
    .collect()
}

/// Everything written by `tracing` in this test binary, at every level.
fn captured_logs() -> &'static Arc<Mutex<Vec<u8>>> {
    static BUFFER: OnceLock<Arc<Mutex<Vec<u8>>>> = OnceLock::new();
    BUFFER.get_or_init(|| {
        let buffer = Arc::new(Mutex::new(Vec::new()));
        let writer = buffer.clone();
        let subscriber = tracing_subscriber::fmt()
            .with_max_level(tracing::Level::TRACE)
            .with_ansi(false)
            .with_writer(move || BufferWriter(writer.clone()))
            .finish();
        tracing::subscriber::set_global_default(subscriber).expect("first subscriber");
        buffer
    })
}

struct BufferWriter(Arc<Mutex<Vec<u8>>>);

impl Write for BufferWriter {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(bytes);
        Ok(bytes.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

fn assert_no_secret(text: &str, what: &str) {
    for secret in secrets() {
        if let Some(at) = text.find(&secret) {
            let from = text[..at]
                .char_indices()
                .rev()
                .nth(150)
                .map_or(0, |(i, _)| i);
            let context: String = text[from..].chars().take(300).collect();
            panic!("{what} leaks {secret:?}: …{context}…");
        }
    }
}

struct AllFour {
    gateway: Gateway,
    prompts: loggate_promptcrafter::sim::PromptCrafterSim,
    workflows: loggate_alloy::sim::AlloySim,
    auth: loggate_logto::sim::LogtoSim,
    app: loggate_leveled::sim::LeveledSim,
    toml: String,
    /// Every response's status line, headers and body.
    transcript: Mutex<String>,
    _served: Vec<Served>,
}

impl AllFour {
    async fn start() -> AllFour {
        let now = now_ms();
        let hour = 3_600_000;
        let mut c = loggate_promptcrafter::sim::SimConfig::demo(now);
        (c.records, c.span_ms, c.token) = (40, hour, PC_TOKEN.into());
        let prompts = loggate_promptcrafter::sim::PromptCrafterSim::new(c);
        let mut c = loggate_alloy::sim::SimConfig::demo(now);
        (c.records, c.span_ms, c.token) = (40, hour, ALLOY_TOKEN.into());
        let workflows = loggate_alloy::sim::AlloySim::new(c);
        let mut c = loggate_logto::sim::SimConfig::demo(now);
        (c.records, c.span_ms, c.token) = (40, hour, String::new());
        (c.client_id, c.client_secret) = (LOGTO_ID.into(), LOGTO_SECRET.into());
        let auth = loggate_logto::sim::LogtoSim::new(c);
        let mut c = loggate_leveled::sim::SimConfig::demo(now);
        (c.records, c.span_ms, c.token) = (40, hour, LEVELED_TOKEN.into());
        let app = loggate_leveled::sim::LeveledSim::new(c);
        let served = vec![
            serve_loopback(prompts.router()).await.unwrap(),
            serve_loopback(workflows.router()).await.unwrap(),
            serve_loopback(auth.router()).await.unwrap(),
            serve_loopback(app.router()).await.unwrap(),
        ];
        let unlimited = "rate_limit = { per_second = 100000, burst = 100000 }";
        let key_sha: String = Sha256::digest(API_KEY.as_bytes())
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        let toml = format!(
            "[server]\ncursor_secret = \"{CURSOR_SECRET}\"\n\
             [sources.prompts]\nkind = \"promptcrafter\"\nbase_url = \"{}\"\ntoken = \"{PC_TOKEN}\"\n{unlimited}\n\
             [sources.workflows]\nkind = \"alloy\"\nbase_url = \"{}\"\ntoken = \"{ALLOY_TOKEN}\"\n{unlimited}\n\
             [sources.auth]\nkind = \"logto\"\nbase_url = \"{}\"\nclient_id = \"{LOGTO_ID}\"\nclient_secret = \"{LOGTO_SECRET}\"\n{unlimited}\n\
             [sources.app]\nkind = \"leveled\"\nbase_url = \"{}\"\ntoken = \"{LEVELED_TOKEN}\"\n{unlimited}\n\
             [auth.keys.ops]\nsha256 = \"{key_sha}\"\nsources = [\"*\"]\n{unlimited}\n",
            served[0].base_url(),
            served[1].base_url(),
            served[2].base_url(),
            served[3].base_url(),
        );
        AllFour {
            gateway: Gateway::start(&toml).await,
            prompts,
            workflows,
            auth,
            app,
            toml,
            transcript: Mutex::new(String::new()),
            _served: served,
        }
    }

    /// GET with an `Authorization` value; records the whole response.
    async fn get_auth(&self, path: &str, authorization: &str) -> (u16, serde_json::Value) {
        let response = self
            .gateway
            .client
            .get(self.gateway.url(path))
            .header("authorization", authorization)
            .send()
            .await
            .expect("gateway answers");
        let status = response.status().as_u16();
        // (the path is left out: it may carry what the client sent)
        let mut record = format!("-> {status}\n");
        for (name, value) in response.headers() {
            record += &format!("{name}: {}\n", String::from_utf8_lossy(value.as_bytes()));
        }
        let body = response.bytes().await.expect("body");
        record += &String::from_utf8_lossy(&body);
        self.transcript.lock().unwrap().push_str(&(record + "\n"));
        let value = serde_json::from_slice(&body).unwrap_or(serde_json::Value::Null);
        (status, value)
    }

    async fn get(&self, path: &str) -> (u16, serde_json::Value) {
        self.get_auth(path, &format!("Bearer {API_KEY}")).await
    }

    /// Follows cursors to the end (bounded), recording every page.
    async fn traverse(&self, query: &str) -> usize {
        let mut path = format!("/logs?{query}");
        let mut seen = 0;
        for _ in 0..200 {
            let (status, body) = self.get(&path).await;
            assert_eq!(status, 200, "{path}: {body}");
            seen += body["logs"].as_array().map_or(0, Vec::len);
            match body["next_cursor"].as_str() {
                Some(cursor) => path = format!("/logs?cursor={cursor}&limit=13"),
                None => return seen,
            }
        }
        panic!("traversal of {query} did not end");
    }
}

/// An error body echoing every credential the gateway holds (the API key
/// is not among them: the gateway knows only its digest).
fn echoing_body(extra: &str) -> String {
    let basic =
        base64::engine::general_purpose::STANDARD.encode(format!("{LOGTO_ID}:{LOGTO_SECRET}"));
    let held = [
        PC_TOKEN,
        ALLOY_TOKEN,
        LEVELED_TOKEN,
        LOGTO_SECRET,
        CURSOR_SECRET,
        &basic,
        &format!("{LOGTO_ID}:{LOGTO_SECRET}"),
    ]
    .join(" ");
    format!(
        "{{\"message\":\"denied: {held} {extra}\",\"error\":\"{LOGTO_SECRET}\",\"error_description\":\"{LOGTO_SECRET} {extra}\",\"code\":\"{PC_TOKEN}\"}}"
    )
}

fn fail_all_with(faults: &Faults, status: u16, extra: &str) {
    faults.fail_always(Fault::status(status, &echoing_body(extra)));
}

/// The access token the gateway last sent to the Logto simulator.
fn last_logto_bearer(faults: &Faults) -> String {
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
async fn no_secret_leaks_through_logs_responses_or_debug_output() {
    let logs = captured_logs();
    tracing::trace!("capture works");
    let all = AllFour::start().await;

    // Ordinary traffic.
    assert!(all.traverse("limit=13").await > 100);
    assert!(all.traverse("order=asc&limit=50&level=ERROR").await > 0);
    all.get("/sources").await;

    // Each static-token source fails echoing the credentials: 500 and 401,
    // alone (502) and alongside the others (partial).
    let static_sources: [(&str, &Faults); 3] = [
        ("prompts", all.prompts.faults()),
        ("workflows", all.workflows.faults()),
        ("app", all.app.faults()),
    ];
    for (name, faults) in static_sources {
        for status in [500, 401, 400, 429] {
            fail_all_with(faults, status, "");
            let (code, body) = all.get(&format!("/logs?source={name}")).await;
            assert!(code == 502 || code == 504, "{name} {status}: {body}");
            let (code, body) = all.get("/logs?limit=5").await;
            assert_eq!(code, 200, "{body}");
            assert_eq!(body["partial"], true, "{body}");
            faults.clear();
        }
    }

    // Logto: an error body echoing the access token it was just given ...
    let issued = last_logto_bearer(all.auth.faults());
    fail_all_with(all.auth.faults(), 500, &issued);
    let (code, body) = all.get("/logs?source=auth").await;
    assert_eq!(code, 502, "{body}");
    // ... and 401s everywhere, the token endpoint included (the gateway
    // refreshes its token after the 401 and the refresh fails too).
    // (The token endpoint never receives the access token, so its body
    // echoes only the client credentials.)
    all.auth.faults().clear();
    let issued = last_logto_bearer(all.auth.faults());
    all.auth
        .faults()
        .fail_next(Fault::status(401, &echoing_body(&issued)));
    all.auth
        .faults()
        .fail_next(Fault::status(401, &echoing_body("")));
    let (code, body) = all.get("/logs?source=auth").await;
    assert_eq!(code, 502, "{body}");
    assert!(
        all.auth
            .faults()
            .seen()
            .iter()
            .any(|r| r.path.ends_with("/oidc/token")),
        "the token endpoint was asked"
    );
    all.auth.faults().clear();
    all.auth.expire_all_tokens();
    assert!(all.traverse("source=auth&limit=20").await > 0);
    all.get("/sources").await;

    // Bad API keys and tampered cursors are answered without echoing.
    all.get_auth("/logs", &format!("Bearer {API_KEY}x")).await;
    all.get_auth("/logs", &format!("Basic {API_KEY}")).await;
    all.get_auth("/logs", API_KEY).await;
    let (_, body) = all.get("/logs?limit=2").await;
    let cursor = body["next_cursor"].as_str().unwrap().to_string();
    all.get(&format!("/logs?cursor={cursor}x")).await;
    all.get(&format!("/logs?cursor={}", &cursor[1..])).await;
    all.get(&format!("/logs?q={API_KEY}")).await;

    // The open endpoints.
    let (status, _) = all.get("/metrics").await;
    assert_eq!(status, 200, "/metrics");
    let (status, _) = all.get("/openapi.json").await;
    assert_eq!(status, 200, "/openapi.json");

    // Debug output of the configuration.
    let config = config::load_str(&all.toml, Vec::new()).unwrap();
    assert_no_secret(&format!("{config:?}"), "Debug of Config");
    assert_no_secret(&format!("{config:#?}"), "pretty Debug of Config");

    let transcript = all.transcript.lock().unwrap().clone();
    assert!(transcript.contains("upstream"), "errors were answered");
    assert_no_secret(&transcript, "a response");

    let logs = String::from_utf8_lossy(&logs.lock().unwrap()).into_owned();
    assert!(logs.contains("capture works") && logs.contains("source failed"));
    assert_no_secret(&logs, "the logs");
}

#[test]
fn configuration_errors_never_echo_secrets() {
    let source = |line: &str| {
        format!("[sources.app]\nkind = \"leveled\"\nbase_url = \"http://127.0.0.1:1\"\n{line}\n")
    };
    let cases = [
        source(&format!("token = [\"{LEVELED_TOKEN}\"]")),
        source(&format!(
            "token = \"{LEVELED_TOKEN}\"\ntokn = \"{LEVELED_TOKEN}\""
        )),
        source(&format!("token = \"{LEVELED_TOKEN}")),
        source(&format!(
            "token = \"{LEVELED_TOKEN}\"\nclient_secret = \"{LOGTO_SECRET}\""
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
    for toml in &cases {
        let problems = config::load_str(toml, Vec::new())
            .expect_err("each case is invalid")
            .to_string();
        assert_no_secret(&problems, &format!("config errors for {toml:?}"));
    }
    let env = vec![
        (
            "LOGGATE_SOURCES__APP__TOKEN".to_string(),
            LEVELED_TOKEN.to_string(),
        ),
        (
            "LOGGATE_SOURCES__APP__TOKNE".to_string(),
            LEVELED_TOKEN.to_string(),
        ),
        (
            "LOGGATE_SERVER__CURSOR_SECRET".to_string(),
            "sekrit".to_string(),
        ),
    ];
    let problems = config::load_str(&source(""), env).unwrap_err().to_string();
    assert_no_secret(&problems, "config errors from the environment");
}

#[tokio::test]
async fn open_access_is_announced_loudly_at_start() {
    let logs = captured_logs();
    let mut c = loggate_leveled::sim::SimConfig::demo(now_ms());
    c.records = 5;
    let sim = loggate_leveled::sim::LeveledSim::new(c);
    let served = serve_loopback(sim.router()).await.unwrap();
    let toml = format!(
        "[sources.app]\nkind = \"leveled\"\nbase_url = \"{}\"\ntoken = \"{}\"\n",
        served.base_url(),
        sim.token()
    );
    let gateway = Gateway::start(&toml).await;
    let (status, _) = gateway.get("/sources").await;
    assert_eq!(status, 200, "open access serves without a key");
    let text = String::from_utf8_lossy(&logs.lock().unwrap()).into_owned();
    let warning = text
        .lines()
        .find(|line| line.contains("no API keys configured"))
        .expect("the open-access warning is logged");
    assert!(warning.contains("WARN"), "{warning}");
}
