//! Building the gateway from a configuration and running it until shutdown.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use loggate_core::cache::{AnswerStore, MemoryStore};
use loggate_core::{SourceSettings, UpstreamClient, UpstreamPolicy};
use secrecy::{ExposeSecret, SecretString};
use tokio::net::TcpListener;

use crate::config::Config;
use crate::engine::{CursorSigner, Engine, EngineSettings, Source};
use crate::gate::SourceGate;
use crate::http::{router, AppState, KeyStore};
use crate::metrics::Metrics;
use crate::server::{ConnectionSettings, ConnectionStats};

/// A bound, ready-to-run gateway.
pub struct Application {
    listener: TcpListener,
    state: AppState,
    shutdown_grace: Duration,
    connections: ConnectionSettings,
}

impl Application {
    /// Builds the engine and binds the listener (port 0 picks a free one).
    pub async fn build(config: &Config) -> std::io::Result<Self> {
        let state = app_state(config, false);
        let listener = TcpListener::bind(config.server.listen).await?;
        if state.keys.is_open() {
            // The bound address: with port 0, the port actually taken.
            tracing::warn!(
                "no API keys configured: anyone who can reach {} can read every source",
                listener.local_addr()?
            );
        }
        Ok(Application {
            listener,
            state,
            shutdown_grace: config.server.shutdown_grace,
            connections: ConnectionSettings {
                header_read_timeout: config.server.header_read_timeout,
                idle_timeout: config.server.idle_timeout,
                max_connections: config.server.max_connections,
            },
        })
    }

    /// The listener's connection counters (also rendered by `/metrics`).
    pub fn connection_stats(&self) -> Arc<ConnectionStats> {
        self.state.connections.clone()
    }

    pub fn local_addr(&self) -> SocketAddr {
        self.listener
            .local_addr()
            .expect("a bound listener has an address")
    }

    /// Serves until `shutdown` resolves, then drains in-flight requests for
    /// at most the configured grace period.
    pub async fn run_until(
        self,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> std::io::Result<()> {
        let ready = self.state.ready.clone();
        let grace = self.shutdown_grace;
        let stats = self.state.connections.clone();
        let tails = self.state.tails.clone();
        let app = router(self.state);
        ready.store(true, Ordering::Relaxed);
        tracing::info!(addr = %self.listener.local_addr()?, "loggate listening");
        let (drain_tx, drain_rx) = tokio::sync::oneshot::channel::<()>();
        let signal = async move {
            shutdown.await;
            ready.store(false, Ordering::Relaxed);
            tracing::info!(
                grace_ms = grace.as_millis() as u64,
                "shutting down: draining in-flight requests"
            );
            let _ = drain_tx.send(());
        };
        let draining = tails;
        let serving = crate::server::serve(self.listener, app, self.connections, stats, signal);
        let mut server = tokio::spawn(serving);
        // `biased`, the drain first: once shutdown began, the server task
        // may well have finished too (its loop ends at once when no HTTP
        // connection is open, an upgraded WebSocket not being one), and an
        // unbiased select returning through that branch left every tail
        // open, never told to end (the WebSocket close on shutdown hung
        // about one time in two under load). A server that ends without a
        // shutdown drops `drain_tx`: the tails are ended all the same.
        tokio::select! {
            biased;
            _ = drain_rx => {}
            joined = &mut server => return joined.map_err(std::io::Error::other)?,
        }
        // Tail streams end now with their resume cursor instead of holding
        // the drain until the grace period; WebSockets (upgraded, outside
        // hyper's drain) are waited for too.
        draining.shut_down();
        let drained = async move {
            let served = server.await;
            draining.closed().await;
            served
        };
        match tokio::time::timeout(grace, drained).await {
            Ok(joined) => joined.map_err(std::io::Error::other)?,
            Err(_) => {
                tracing::warn!("grace period over: closing remaining connections");
                Ok(())
            }
        }
    }
}

/// What every handler shares, built from `config`: the engine recording
/// into the application's metrics registry, and the keys.
fn app_state(config: &Config, ready: bool) -> AppState {
    let connections = Arc::new(ConnectionStats::default());
    let mut metrics = Metrics::default();
    metrics.register_collector(Box::new(connections.clone()));
    let tail_stats = Arc::new(crate::tail::TailStats::default());
    metrics.register_collector(Box::new(tail_stats.clone()));
    let store = config
        .cache
        .settings
        .enabled
        .then(|| Arc::new(MemoryStore::new(config.cache.settings)));
    if let Some(store) = &store {
        metrics.register_collector(Box::new(CacheGauges(store.clone())));
    }
    let metrics = Arc::new(metrics);
    let store = store.map(|s| s as Arc<dyn AnswerStore>);
    let engine = Arc::new(build_engine_with(config, store).with_metrics(metrics.clone()));
    let tails = crate::tail::TailHub::new(engine.clone(), config.follow.clone(), tail_stats);
    AppState {
        engine,
        metrics,
        keys: Arc::new(KeyStore::new(&config.auth.keys)),
        ready: Arc::new(AtomicBool::new(ready)),
        kinds: config.kinds.clone().into(),
        loki: config.loki,
        connections,
        tails: Arc::new(tails),
    }
}

/// The whole API of `config` as a ready router without a listener: what
/// `serve` runs, for tests that drive it with `tower::ServiceExt::oneshot`.
pub fn app(config: &Config) -> axum::Router {
    router(app_state(config, true))
}

/// The engine with every enabled source of `config`, with its own answer
/// cache when `[cache] enabled`.
pub fn build_engine(config: &Config) -> Engine {
    let cache = &config.cache.settings;
    let store = cache
        .enabled
        .then(|| Arc::new(MemoryStore::new(*cache)) as Arc<dyn AnswerStore>);
    build_engine_with(config, store)
}

/// The engine with every enabled source of `config`, its upstream clients
/// sharing `store` (one byte bound for all sources, spec §9).
pub fn build_engine_with(config: &Config, store: Option<Arc<dyn AnswerStore>>) -> Engine {
    // Every client scrubs every configured secret, not only its own: an
    // upstream cannot know another's, but a misconfiguration (one token
    // pasted into two sources, a proxy echoing headers) should not matter.
    // Each provider names its secrets in every form they travel in.
    let all_secrets: Vec<SecretString> = config
        .sources
        .values()
        .flat_map(|s| s.provider.secrets())
        .chain(config.server.cursor_secret.clone())
        .collect();
    let mut sources = Vec::new();
    for (name, source) in &config.sources {
        if !source.enabled {
            tracing::info!(source = %name, "source disabled in configuration");
            continue;
        }
        let policy = UpstreamPolicy {
            timeout: source.timeout,
            retries: source.retries,
            max_body_bytes: source.max_body_bytes,
            ..UpstreamPolicy::default()
        };
        let gate = Arc::new(SourceGate::new(
            source.rate_limit,
            source.max_concurrency,
            source.max_queue_wait,
        ));
        let mut client = UpstreamClient::new(policy)
            .with_gate(gate.clone())
            .with_secrets(all_secrets.clone());
        if let Some(store) = &store {
            client = client.with_cache(store.clone(), name);
        }
        let settings = SourceSettings {
            name: name.clone(),
            base_url: source.base_url.clone(),
            token: None,
            client,
        };
        let adapter = source.provider.adapter(settings);
        sources.push(
            Source::new(name, adapter)
                .with_breaker(source.circuit_breaker)
                .with_gate(gate)
                .with_paging(source.provider.upstream_paging()),
        );
    }
    let signer = match &config.server.cursor_secret {
        Some(secret) => CursorSigner::new(secret.expose_secret().as_bytes()),
        None => {
            tracing::warn!("server.cursor_secret is not set: cursors are signed with a random secret and die with this process");
            CursorSigner::random()
        }
    };
    Engine::new(
        sources,
        signer,
        EngineSettings {
            request_timeout: config.server.request_timeout,
            scan_budget: config.server.scan_budget,
            max_queue_wait: config.server.max_queue_wait,
            settle: config.follow.settle,
            pin_rounding: config.cache.pin_rounding,
            late_window: config.follow.late_window,
            late_ids: config.follow.late_ids,
            split: config.cache.split(),
            freshness_horizon: config
                .cache
                .settings
                .enabled
                .then_some(config.cache.settings.freshness_horizon),
        },
    )
}

/// Resolves on SIGTERM or Ctrl-C.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = terminate => {},
    }
}

/// `loggate_cache_bytes` and `loggate_cache_entries`, read from the answer
/// cache at scrape time.
struct CacheGauges(Arc<MemoryStore>);

impl std::fmt::Debug for CacheGauges {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("CacheGauges")
    }
}

impl prometheus_client::collector::Collector for CacheGauges {
    fn encode(
        &self,
        mut encoder: prometheus_client::encoding::DescriptorEncoder,
    ) -> Result<(), std::fmt::Error> {
        use prometheus_client::encoding::EncodeMetric;
        use prometheus_client::metrics::gauge::ConstGauge;
        use prometheus_client::metrics::MetricType;
        for (name, help, value) in [
            (
                "loggate_cache_bytes",
                "Bytes the answer cache holds (bodies, headers, keys), bounded by cache.max_bytes",
                self.0.bytes(),
            ),
            (
                "loggate_cache_entries",
                "Upstream answers the cache holds",
                self.0.entries(),
            ),
        ] {
            let value = i64::try_from(value).unwrap_or(i64::MAX);
            ConstGauge::new(value).encode(encoder.encode_descriptor(
                name,
                help,
                None,
                MetricType::Gauge,
            )?)?;
        }
        Ok(())
    }
}
