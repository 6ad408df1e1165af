//! `loggate demo`: seeded simulators of every provider on loopback and the
//! gateway in front of them, configured by `config/demo.toml`. Needs no
//! configuration and no network.

use std::future::Future;
use std::net::SocketAddr;

use loggate_core::sim::{serve_loopback, Served};
use loggate_core::time::now_ms;

use crate::app::Application;
use crate::config;

/// The demo's template, with `{placeholders}` for addresses.
pub const DEMO_TOML: &str = include_str!("../config/demo.toml");

/// The running simulators of a demo (stopped when dropped).
pub struct DemoSims {
    pub promptcrafter: Served,
    pub alloy: Served,
    pub logto: Served,
    pub leveled: Served,
    pub leveled_billing: Served,
}

impl DemoSims {
    /// Starts every simulator with seeded demo data ending at `now_ms`.
    pub async fn start(now_ms: i64) -> std::io::Result<Self> {
        use loggate_alloy::sim as alloy;
        use loggate_leveled::sim as leveled;
        use loggate_logto::sim as logto;
        use loggate_promptcrafter::sim as promptcrafter;

        let mut prompts = promptcrafter::SimConfig::demo(now_ms);
        prompts.token = "demo-promptcrafter-token".into();
        let mut workflows = alloy::SimConfig::demo(now_ms);
        workflows.token = "demo-alloy-token".into();
        let mut auth = logto::SimConfig::demo(now_ms);
        auth.client_id = "demo-client".into();
        auth.client_secret = "demo-client-secret".into();
        let mut app = leveled::SimConfig::demo(now_ms);
        app.token = "demo-leveled-token".into();
        let mut billing = app.clone();
        billing.seed ^= 0xB111;
        Ok(DemoSims {
            promptcrafter: serve_loopback(promptcrafter::PromptCrafterSim::new(prompts).router())
                .await?,
            alloy: serve_loopback(alloy::AlloySim::new(workflows).router()).await?,
            logto: serve_loopback(logto::LogtoSim::new(auth).router()).await?,
            leveled: serve_loopback(leveled::LeveledSim::new(app).router()).await?,
            leveled_billing: serve_loopback(leveled::LeveledSim::new(billing).router()).await?,
        })
    }

    /// The demo configuration pointing at these simulators.
    pub fn config_toml(&self, listen: SocketAddr) -> String {
        DEMO_TOML
            .replace("{listen}", &listen.to_string())
            .replace("{promptcrafter}", &self.promptcrafter.base_url())
            .replace("{alloy}", &self.alloy.base_url())
            .replace("{logto}", &self.logto.base_url())
            .replace("{leveled_billing}", &self.leveled_billing.base_url())
            .replace("{leveled}", &self.leveled.base_url())
    }
}

/// The example commands printed at start.
pub fn curl_examples(addr: SocketAddr) -> [String; 3] {
    [
        format!("curl -s 'http://{addr}/logs?limit=5'"),
        format!("curl -s 'http://{addr}/logs?source=app,workflows,auth&level=ERROR&limit=20'"),
        format!("curl -s 'http://{addr}/logs?source=prompts,billing&q=timeout&order=asc&limit=10'"),
    ]
}

/// Runs the demo until `shutdown` resolves.
pub async fn run(
    listen: SocketAddr,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), String> {
    let sims = DemoSims::start(now_ms())
        .await
        .map_err(|e| format!("cannot start simulators: {e}"))?;
    let config = config::load_str(&sims.config_toml(listen), std::iter::empty())
        .map_err(|problems| format!("demo configuration is invalid:\n{problems}"))?;
    let app = Application::build(&config)
        .await
        .map_err(|e| format!("cannot listen on {listen}: {e} (try --listen 127.0.0.1:0)"))?;
    let addr = app.local_addr();
    println!("loggate demo: gateway on http://{addr} in front of simulated promptcrafter, alloy, logto and leveled sources");
    println!("sources: http://{addr}/sources");
    println!("try:");
    for example in curl_examples(addr) {
        println!("  {example}");
    }
    println!("follow a page's next_cursor with &cursor=... ; Ctrl-C stops");
    let result = app.run_until(shutdown).await.map_err(|e| e.to_string());
    drop(sims);
    result
}
