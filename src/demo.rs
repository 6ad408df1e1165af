//! `loggate demo`: seeded simulators of every registered provider on
//! loopback and the gateway in front of them. The `[server]` table comes
//! from `config/demo.toml`; the sources are the ones each provider's
//! factory offers for a demo. Needs no configuration and no network.
//! Unless `--static`, the simulators keep writing new logs (issue 17
//! item 6) so that follow, tail and Grafana's live view show something.

use std::future::Future;
use std::net::SocketAddr;

use loggate_core::sim::{serve_loopback, DemoSource, Served};
use loggate_core::time::now_ms;

use crate::app::Application;
use crate::config;
use crate::registry::Registry;

/// How often the live demo writes one record (a few per second).
pub const LIVE_EVERY: std::time::Duration = std::time::Duration::from_millis(400);
/// Every this many writes, a burst instead of one record.
pub const BURST_EVERY: usize = 75;
/// Records in a burst.
pub const BURST: usize = 20;

/// The demo's `[server]` table, with a `{listen}` placeholder.
pub const DEMO_TOML: &str = include_str!("../config/demo.toml");

/// One running demo source.
struct Running {
    kind: &'static str,
    source: DemoSource,
    served: Served,
}

/// The running simulators of a demo (stopped when dropped).
pub struct DemoSims {
    running: Vec<Running>,
}

impl DemoSims {
    /// Starts the demo sources of every provider of `registry`, with
    /// seeded data ending at `now_ms`.
    pub async fn start(registry: &Registry, now_ms: i64) -> std::io::Result<Self> {
        let mut running = Vec::new();
        for factory in registry.factories() {
            for source in factory.demo_sources(now_ms) {
                let served = serve_loopback(source.sim.router()).await?;
                running.push(Running {
                    kind: factory.kind(),
                    source,
                    served,
                });
            }
        }
        Ok(DemoSims { running })
    }

    /// Keeps writing new records until dropped (the task is aborted with
    /// the returned handle): one record every [`LIVE_EVERY`] into a
    /// source chosen in turn, and every [`BURST_EVERY`] writes a burst of
    /// [`BURST`] records into one source at once (the generators mix
    /// levels, errors included).
    pub fn write_live(&self) -> tokio::task::JoinHandle<()> {
        let sims: Vec<_> = self.running.iter().map(|r| r.source.sim.clone()).collect();
        tokio::spawn(async move {
            if sims.is_empty() {
                return;
            }
            let mut tick = tokio::time::interval(LIVE_EVERY);
            for n in 0usize.. {
                tick.tick().await;
                let sim = &sims[n % sims.len()];
                let burst = n > 0 && n % BURST_EVERY == 0;
                sim.insert_new(if burst { BURST } else { 1 });
            }
        })
    }

    /// The source names, in registry order.
    pub fn names(&self) -> Vec<&'static str> {
        self.running.iter().map(|r| r.source.name).collect()
    }

    /// The demo configuration pointing at these simulators.
    pub fn config_toml(&self, listen: SocketAddr) -> String {
        let mut toml = DEMO_TOML.replace("{listen}", &listen.to_string());
        for r in &self.running {
            toml.push_str(&format!(
                "\n[sources.{}]\nkind = \"{}\"\nbase_url = \"{}\"\n{}",
                r.source.name,
                r.kind,
                r.served.base_url(),
                r.source.source_toml
            ));
        }
        toml
    }
}

/// The example commands printed at start, over the demo's `sources`.
pub fn curl_examples(addr: SocketAddr, sources: &[&str]) -> Vec<String> {
    let mut examples = vec![format!("curl -s 'http://{addr}/logs?limit=5'")];
    if sources.len() > 1 {
        let (some, others) = sources.split_at(sources.len().div_ceil(2));
        examples.push(format!(
            "curl -s 'http://{addr}/logs?source={}&level=ERROR&limit=20'",
            some.join(",")
        ));
        examples.push(format!(
            "curl -s 'http://{addr}/logs?source={}&q=timeout&order=asc&limit=10'",
            others.join(",")
        ));
    }
    examples
}

/// What the demo prints at start: where it answers, what to try.
fn banner(addr: SocketAddr, kinds: &[&str], sources: &[&str], live: bool) -> String {
    let mut text = format!(
        "loggate demo: gateway on http://{addr} in front of simulated {} sources\n\
         sources: http://{addr}/sources\ntry:\n",
        kinds.join(", ")
    );
    for example in curl_examples(addr, sources) {
        text.push_str(&format!("  {example}\n"));
    }
    text.push_str("follow a page's next_cursor with &cursor=... ; Ctrl-C stops\n");
    if live {
        text.push_str(&format!(
            "live: the simulators keep writing new logs (--static keeps the data fixed); try:\n  \
             curl -sN 'http://{addr}/logs/tail'\n"
        ));
    }
    text
}

/// Writes `banner` to stdout. A stdout nobody reads any more (`loggate
/// demo | head -1`, a closed terminal) is no reason to stop serving:
/// `println!` would panic on its `EPIPE` and end the demo (exit 101).
fn print_banner(banner: &str) {
    use std::io::Write;
    let mut out = std::io::stdout().lock();
    let _ = out.write_all(banner.as_bytes()).and_then(|()| out.flush());
}

/// Runs the demo until `shutdown` resolves.
/// `live`: the simulators keep writing ([`DemoSims::write_live`]).
pub async fn run(
    listen: SocketAddr,
    live: bool,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), String> {
    let registry = Registry::builtin();
    let sims = DemoSims::start(&registry, now_ms())
        .await
        .map_err(|e| format!("cannot start simulators: {e}"))?;
    let config = config::load_str_with(&registry, &sims.config_toml(listen), std::iter::empty())
        .map_err(|problems| format!("demo configuration is invalid:\n{problems}"))?;
    let app = Application::build(&config)
        .await
        .map_err(|e| format!("cannot listen on {listen}: {e} (try --listen 127.0.0.1:0)"))?;
    let addr = app.local_addr();
    print_banner(&banner(addr, &registry.kinds(), &sims.names(), live));
    let writer = live.then(|| sims.write_live());
    let result = app.run_until(shutdown).await.map_err(|e| e.to_string());
    if let Some(writer) = writer {
        writer.abort();
    }
    drop(sims);
    result
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every registered provider offers a demo source, and the demo's
    /// configuration is valid and reads every one.
    #[tokio::test]
    async fn the_demo_configuration_is_valid_and_covers_every_provider() {
        let registry = Registry::builtin();
        let sims = DemoSims::start(&registry, now_ms()).await.unwrap();
        let listen = SocketAddr::from(([127, 0, 0, 1], 0));
        let config = config::load_str_with(&registry, &sims.config_toml(listen), []).unwrap();
        for kind in registry.kinds() {
            assert!(
                config.sources.values().any(|s| s.kind == kind),
                "no demo source of kind {kind}"
            );
        }
        assert_eq!(config.sources.len(), sims.names().len());
        assert_eq!(curl_examples(listen, &sims.names()).len(), 3);
    }
}
