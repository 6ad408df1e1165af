//! The log subscriber the binary installs, and its writer off the request
//! path (issue 13 item 4: logging fit for production traffic).
//!
//! Lines are formatted on the thread that logs them (text or JSON, see
//! [`subscriber`]) and appended to a bounded queue in memory; one writer
//! thread writes whatever has gathered to stderr every
//! [`FLUSH_INTERVAL`] (20 ms), in one `write` ([`BatchWriter`]). A request
//! therefore never waits for stderr's lock or a `write` call, nor wakes a
//! thread — a slow log collector on the other end of a pipe cannot stall
//! answers.
//!
//! Under pressure (the sink slower than the lines come, for longer than
//! [`BUFFERED_LINES`] lines) new lines are **dropped, not waited for**,
//! and counted: `loggate_log_lines_dropped_total` on `/metrics`
//! ([`DroppedLines`]) and one line on stderr when the process exits. The
//! [`LogGuard`] flushes every line still queued when it is dropped, i.e.
//! when `main` returns after the graceful shutdown.
//!
//! `RUST_LOG` is read once ([`LogFilter::from_env`]). When it holds only
//! `target=level`, `level` and `target` directives (the default `info`
//! does), the filter is a static [`Targets`]: it decides per callsite and
//! keeps no per-span state, where an [`EnvFilter`] takes a read lock on
//! every span's entry, exit and close (two spans per request and one per
//! source fetch). A `RUST_LOG` with span or field directives (`[...]`)
//! keeps the [`EnvFilter`], so no value changes meaning.

mod batch;

use std::io::Write;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, OnceLock};

use prometheus_client::collector::Collector;
use prometheus_client::encoding::{DescriptorEncoder, EncodeMetric};
use prometheus_client::metrics::counter::ConstCounter;
use prometheus_client::metrics::MetricType;
use tracing::Subscriber;
use tracing_subscriber::filter::{LevelFilter, Targets};
use tracing_subscriber::fmt::MakeWriter;
use tracing_subscriber::layer::{Layer, SubscriberExt};
use tracing_subscriber::{EnvFilter, Registry};

use crate::cli::LogFormat;
pub use batch::{BatchWriter, FLUSH_INTERVAL};

/// Lines the writer queues before it drops new ones: at 250 bytes a line
/// about 4 MB, and at 3,000 logged requests a second about 5 s of a sink
/// that does not read.
pub const BUFFERED_LINES: usize = 16_384;

/// The dropped-line counter of the writer [`init_tracing`] installed.
static DROPPED: OnceLock<Arc<AtomicUsize>> = OnceLock::new();

/// Keeps the writer thread; dropping it writes every queued line, then
/// how many were dropped, if any (waiting at most 1 s for the sink).
#[must_use = "dropping the guard stops the log writer"]
pub struct LogGuard {
    worker: Option<batch::Worker>,
    dropped: Arc<AtomicUsize>,
}

impl LogGuard {
    /// Lines dropped so far because the queue was full.
    pub fn dropped_lines(&self) -> usize {
        self.dropped.load(Ordering::Relaxed)
    }
}

impl Drop for LogGuard {
    fn drop(&mut self) {
        // The worker writes the queue and the dropped-line count (waiting
        // up to 1 s): nothing here touches stderr, whose lock the writer
        // thread keeps while it is blocked on a pipe nobody reads.
        drop(self.worker.take());
    }
}

/// A writer for [`subscriber`] that queues each line for a thread writing
/// to `sink`, at most `lines` at a time (lossy: see the module docs).
pub fn non_blocking<W: Write + Send + 'static>(sink: W, lines: usize) -> (BatchWriter, LogGuard) {
    let (writer, worker, dropped) = batch::batch_writer(sink, lines);
    let guard = LogGuard {
        worker: Some(worker),
        dropped,
    };
    (writer, guard)
}

/// The level filter of the log subscriber: a static [`Targets`] when the
/// directives allow (see the module docs), else an [`EnvFilter`].
#[derive(Debug)]
pub enum LogFilter {
    /// Only `target=level`, `level` and `target` directives.
    Targets(Targets),
    /// Span or field directives (or anything else `EnvFilter` reads).
    Env(Box<EnvFilter>),
}

impl LogFilter {
    /// `RUST_LOG`'s directives; `info` when it is unset, not Unicode or
    /// invalid (as `EnvFilter::try_from_default_env` read them).
    pub fn from_env() -> Self {
        match std::env::var(EnvFilter::DEFAULT_ENV) {
            Ok(directives) => LogFilter::parse(&directives),
            Err(_) => LogFilter::parse("info"),
        }
    }

    /// `directives` in `RUST_LOG` syntax, meaning what `EnvFilter` makes
    /// of them (`info` when they are invalid): a [`Targets`] when every
    /// directive is a plain `target=level`, `level` or `target`, for which
    /// `EnvFilter` keeps exactly the static directive a [`Targets`] holds.
    pub fn parse(directives: &str) -> Self {
        match static_targets(directives) {
            Some(targets) => LogFilter::Targets(targets),
            None => LogFilter::Env(Box::new(
                EnvFilter::builder()
                    .parse(directives)
                    .unwrap_or_else(|_| EnvFilter::new("info")),
            )),
        }
    }

    /// True for the static [`Targets`] filter.
    pub fn is_static(&self) -> bool {
        matches!(self, LogFilter::Targets(_))
    }
}

impl From<EnvFilter> for LogFilter {
    fn from(filter: EnvFilter) -> Self {
        LogFilter::Env(Box::new(filter))
    }
}

/// `directives` as a [`Targets`], if each non-empty one is `LEVEL`,
/// `TARGET` or `TARGET=LEVEL` with a target of ASCII letters, digits, `_`,
/// `:` and `-` (no spans, fields, spaces or empty levels, which only
/// `EnvFilter` reads); `None` for anything else, and for no directive at
/// all (an `EnvFilter` without directives logs nothing).
fn static_targets(directives: &str) -> Option<Targets> {
    let plain = |target: &str| {
        !target.is_empty()
            && target
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b':' | b'-'))
    };
    let mut targets = Targets::new();
    let mut any = false;
    for directive in directives.split(',').filter(|d| !d.is_empty()) {
        targets = match directive.split_once('=') {
            // `EnvFilter` reads `target=` as trace, `LevelFilter` as error.
            Some((target, level)) if plain(target) && !level.is_empty() => {
                targets.with_target(target, level.parse::<LevelFilter>().ok()?)
            }
            None if plain(directive) => match directive.parse::<LevelFilter>() {
                Ok(level) => targets.with_default(level),
                Err(_) => targets.with_target(directive, LevelFilter::TRACE),
            },
            _ => return None,
        };
        any = true;
    }
    any.then_some(targets)
}

/// The subscriber of `--log-format`: `filter` decides the levels; JSON
/// lines carry the fields of the current span and of every span above it,
/// so each line of a request has its `request_id`. Colour codes only with
/// `ansi` (a terminal: in a log file they are a third of every line).
///
/// The layers are those `tracing_subscriber::fmt()` stacks (the registry,
/// the formatting layer, the filter on top), with either filter.
pub fn subscriber<W>(
    format: LogFormat,
    filter: impl Into<LogFilter>,
    writer: W,
    ansi: bool,
) -> Box<dyn Subscriber + Send + Sync>
where
    W: for<'a> MakeWriter<'a> + Send + Sync + 'static,
{
    let fmt = tracing_subscriber::fmt::layer()
        .with_ansi(ansi)
        .with_writer(writer);
    match format {
        LogFormat::Text => filtered(fmt, filter.into()),
        LogFormat::Json => filtered(
            fmt.json()
                .flatten_event(true)
                .with_current_span(true)
                .with_span_list(true),
            filter.into(),
        ),
    }
}

/// The registry under the formatting layer `fmt` under `filter`.
fn filtered<L>(fmt: L, filter: LogFilter) -> Box<dyn Subscriber + Send + Sync>
where
    L: Layer<Registry> + Send + Sync + 'static,
{
    let logged = Registry::default().with(fmt);
    match filter {
        LogFilter::Targets(targets) => Box::new(logged.with(targets)),
        LogFilter::Env(env) => Box::new(logged.with(*env)),
    }
}

/// Installs the log subscriber writing to stderr off the request path:
/// `RUST_LOG` sets the level (default `info`, [`LogFilter::from_env`]).
/// Keep the guard until the process ends; without it queued lines are lost.
pub fn init_tracing(format: LogFormat) -> LogGuard {
    let filter = LogFilter::from_env();
    let ansi = std::io::IsTerminal::is_terminal(&std::io::stderr());
    let (writer, guard) = non_blocking(std::io::stderr(), BUFFERED_LINES);
    if tracing::subscriber::set_global_default(subscriber(format, filter, writer, ansi)).is_ok() {
        let _ = DROPPED.set(guard.dropped.clone());
    }
    guard
}

/// `loggate_log_lines_dropped_total`: lines the log writer dropped because
/// its queue was full, read at scrape time (0 without [`init_tracing`]).
#[derive(Debug, Default)]
pub struct DroppedLines {
    counter: Option<Arc<AtomicUsize>>,
}

impl DroppedLines {
    /// The counter of the writer [`init_tracing`] installed, if any.
    pub fn installed() -> Self {
        DroppedLines {
            counter: DROPPED.get().cloned(),
        }
    }

    /// The counter of the writer behind `guard`.
    pub fn of(guard: &LogGuard) -> Self {
        DroppedLines {
            counter: Some(guard.dropped.clone()),
        }
    }
}

impl Collector for DroppedLines {
    fn encode(&self, mut encoder: DescriptorEncoder) -> Result<(), std::fmt::Error> {
        let dropped = self
            .counter
            .as_ref()
            .map_or(0, |counter| counter.load(Ordering::Relaxed));
        let metric = encoder.encode_descriptor(
            "loggate_log_lines_dropped",
            "Log lines dropped because the writer's queue was full (stderr not read fast enough)",
            None,
            MetricType::Counter,
        )?;
        ConstCounter::new(dropped as u64).encode(metric)
    }
}
