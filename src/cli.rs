//! The command line: `demo`, `serve`, `check-config`, `key`, `healthcheck`.
//! The binary only parses arguments and calls [`run`].

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use clap::{Parser, Subcommand, ValueEnum};
use sha2::{Digest, Sha256};

use crate::app::{shutdown_signal, Application};
use crate::config;

#[derive(Debug, Parser)]
#[command(
    name = "loggate",
    version,
    about = "One endpoint for the logs of many third-party services"
)]
pub struct Cli {
    /// Log format on stderr.
    #[arg(
        long,
        global = true,
        env = "LOGGATE_LOG_FORMAT",
        default_value = "text"
    )]
    pub log_format: LogFormat,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LogFormat {
    Text,
    Json,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Built-in simulators of every provider on loopback and the gateway in front of them.
    Demo {
        /// The gateway's address (`127.0.0.1:0` picks a free port); the
        /// simulators always take free loopback ports.
        #[arg(long, default_value = "127.0.0.1:8080")]
        listen: SocketAddr,
        /// Keep the seeded data fixed (no live writes): for tests that
        /// compare answers.
        #[arg(long = "static")]
        fixed: bool,
    },
    /// The gateway.
    Serve {
        /// The TOML configuration (`config/loggate.example.toml` lists
        /// every key).
        #[arg(long, default_value = "config/loggate.toml")]
        config: PathBuf,
    },
    /// Validates a configuration and prints every problem, or `ok` and its sources.
    CheckConfig {
        /// The TOML configuration to check.
        #[arg(long, default_value = "config/loggate.toml")]
        config: PathBuf,
    },
    /// Prints a new random API key and the `sha256` line for the configuration.
    Key,
    /// Probes a running gateway (exit 0 when it answers 2xx): the container
    /// health check, so the runtime image needs no curl.
    Healthcheck {
        /// The URL to probe with GET.
        #[arg(long, default_value = DEFAULT_HEALTHCHECK_URL)]
        url: String,
    },
}

/// What `loggate healthcheck` probes by default: the liveness route on the
/// default port.
pub const DEFAULT_HEALTHCHECK_URL: &str = "http://127.0.0.1:8080/healthz";

pub async fn run(cli: Cli) -> ExitCode {
    match cli.command {
        Command::Demo { listen, fixed } => {
            match crate::demo::run(listen, !fixed, shutdown_signal()).await {
                Ok(()) => ExitCode::SUCCESS,
                Err(e) => {
                    eprintln!("demo: {e}");
                    ExitCode::FAILURE
                }
            }
        }
        Command::Serve { config } => {
            let config = match config::load(&config, std::env::vars()) {
                Ok(config) => config,
                Err(problems) => {
                    eprint!("invalid configuration:\n{problems}");
                    return ExitCode::FAILURE;
                }
            };
            let app = match Application::build(&config).await {
                Ok(app) => app,
                Err(e) => {
                    eprintln!(
                        "server.listen: cannot listen on {}: {e}",
                        config.server.listen
                    );
                    return ExitCode::FAILURE;
                }
            };
            match app.run_until(shutdown_signal()).await {
                Ok(()) => ExitCode::SUCCESS,
                Err(e) => {
                    eprintln!("serve: {e}");
                    ExitCode::FAILURE
                }
            }
        }
        Command::CheckConfig { config } => check_config(&config),
        Command::Healthcheck { url } => healthcheck(&url).await,
        Command::Key => {
            let (key, sha256) = new_key();
            println!("key: {key}");
            println!("# paste into [auth.keys.NAME]; keep the key itself secret:");
            println!("sha256 = \"{sha256}\"");
            ExitCode::SUCCESS
        }
    }
}

async fn healthcheck(url: &str) -> ExitCode {
    let client = match reqwest::Client::builder()
        .timeout(std::time::Duration::from_secs(3))
        .build()
    {
        Ok(client) => client,
        Err(e) => {
            eprintln!("healthcheck: {e}");
            return ExitCode::FAILURE;
        }
    };
    let parsed = reqwest::Url::parse(url)
        .ok()
        .filter(|u| matches!(u.scheme(), "http" | "https") && u.has_host());
    let Some(parsed) = parsed else {
        eprintln!(
            "healthcheck: --url: expected an http or https URL such as {DEFAULT_HEALTHCHECK_URL}, got {url:?}"
        );
        return ExitCode::FAILURE;
    };
    match client.get(parsed).send().await {
        Ok(response) if response.status().is_success() => {
            println!("ok: {}", response.status());
            ExitCode::SUCCESS
        }
        Ok(response) => {
            eprintln!("healthcheck: {url} answered {}", response.status());
            ExitCode::FAILURE
        }
        Err(e) => {
            eprintln!("healthcheck: {url}: {}", with_causes(&e));
            ExitCode::FAILURE
        }
    }
}

/// An error with each of its causes (`error sending request ...: client
/// error (Connect): tcp connect error: Connection refused`): reqwest's own
/// text leaves out why.
fn with_causes(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut cause = error.source();
    while let Some(e) = cause {
        let part = e.to_string();
        if !text.contains(&part) {
            text.push_str(": ");
            text.push_str(&part);
        }
        cause = e.source();
    }
    text
}

fn check_config(path: &std::path::Path) -> ExitCode {
    match config::load(path, std::env::vars()) {
        Ok(config) => {
            println!("ok: {} source(s)", config.sources.len());
            for (name, source) in &config.sources {
                let state = if source.enabled { "" } else { " (disabled)" };
                println!("  {name}: {} at {}{state}", source.kind, source.base_url);
            }
            println!("{}", cache_summary(&config.cache));
            ExitCode::SUCCESS
        }
        Err(problems) => {
            eprint!("{problems}");
            ExitCode::FAILURE
        }
    }
}

/// The answer cache as `check-config` reports it (README "Cache"): on or
/// off, and whether windows are split for partial-range reuse.
fn cache_summary(cache: &config::CacheConfig) -> String {
    let settings = &cache.settings;
    if !settings.enabled {
        return "cache: off".into();
    }
    let split = match cache.split() {
        Some(_) => format!(
            "settled_grid {} (partial-range reuse)",
            humantime::format_duration(cache.settled_grid)
        ),
        None => "settled_grid 0s (no partial-range reuse)".into(),
    };
    format!(
        "cache: on, max_bytes {}, freshness_horizon {}, {split}",
        settings.max_bytes,
        humantime::format_duration(settings.freshness_horizon)
    )
}

/// A new API key (`lg_` + 32 random bytes, base64url) and its hex SHA-256.
pub fn new_key() -> (String, String) {
    let bytes: [u8; 32] = rand::random();
    let key = format!("lg_{}", URL_SAFE_NO_PAD.encode(bytes));
    let digest = Sha256::digest(key.as_bytes());
    (key, hex::encode(digest))
}
