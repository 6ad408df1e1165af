//! The log subscriber the binary installs, and its writer off the request
//! path (issue 13 item 4: logging fit for production traffic).
//!
//! Lines are formatted on the thread that logs them (text or JSON, see
//! [`subscriber`]) and handed to one writer thread through a bounded
//! channel (`tracing-appender`'s non-blocking writer), which writes them
//! to stderr through a buffer flushed whenever the channel is empty. A
//! request therefore never waits for stderr's lock or a `write` call — a
//! slow log collector on the other end of a pipe cannot stall answers.
//!
//! Under pressure (the sink slower than the lines come, for longer than
//! [`BUFFERED_LINES`] lines) new lines are **dropped, not waited for**,
//! and counted: `loggate_log_lines_dropped_total` on `/metrics`
//! ([`DroppedLines`]) and one line on stderr when the process exits. The
//! [`LogGuard`] flushes every line still queued when it is dropped, i.e.
//! when `main` returns after the graceful shutdown.

use std::io::{BufWriter, Write};
use std::sync::OnceLock;

use prometheus_client::collector::Collector;
use prometheus_client::encoding::{DescriptorEncoder, EncodeMetric};
use prometheus_client::metrics::counter::ConstCounter;
use prometheus_client::metrics::MetricType;
use tracing::Subscriber;
use tracing_appender::non_blocking::{ErrorCounter, NonBlocking, NonBlockingBuilder, WorkerGuard};
use tracing_subscriber::fmt::MakeWriter;
use tracing_subscriber::EnvFilter;

use crate::cli::LogFormat;

/// Lines the writer queues before it drops new ones: at 250 bytes a line
/// about 4 MB, and at 3,000 logged requests a second about 5 s of a sink
/// that does not read.
pub const BUFFERED_LINES: usize = 16_384;

/// Bytes the writer thread gathers into one `write` to stderr.
const WRITE_BUFFER: usize = 64 * 1024;

/// The dropped-line counter of the writer [`init_tracing`] installed.
static DROPPED: OnceLock<ErrorCounter> = OnceLock::new();

/// Keeps the writer thread; dropping it writes every queued line, then
/// reports on stderr how many were dropped, if any.
#[must_use = "dropping the guard stops the log writer"]
pub struct LogGuard {
    worker: Option<WorkerGuard>,
    dropped: ErrorCounter,
}

impl LogGuard {
    /// Lines dropped so far because the queue was full.
    pub fn dropped_lines(&self) -> usize {
        self.dropped.dropped_lines()
    }
}

impl Drop for LogGuard {
    fn drop(&mut self) {
        // The worker's own guard flushes the queue (waiting up to 1 s).
        drop(self.worker.take());
        let dropped = self.dropped.dropped_lines();
        if dropped > 0 {
            eprintln!("loggate: {dropped} log lines dropped: stderr was not read fast enough");
        }
    }
}

/// A writer for [`subscriber`] that hands each line to a thread writing
/// to `sink`, queueing at most `lines` (lossy: see the module docs).
pub fn non_blocking<W: Write + Send + 'static>(sink: W, lines: usize) -> (NonBlocking, LogGuard) {
    let (writer, worker) = NonBlockingBuilder::default()
        .buffered_lines_limit(lines)
        .lossy(true)
        .thread_name("loggate-log")
        .finish(BufWriter::with_capacity(WRITE_BUFFER, sink));
    let guard = LogGuard {
        worker: Some(worker),
        dropped: writer.error_counter(),
    };
    (writer, guard)
}

/// The subscriber of `--log-format`: `filter` decides the levels; JSON
/// lines carry the fields of the current span and of every span above it,
/// so each line of a request has its `request_id`. Colour codes only with
/// `ansi` (a terminal: in a log file they are a third of every line).
pub fn subscriber<W>(
    format: LogFormat,
    filter: EnvFilter,
    writer: W,
    ansi: bool,
) -> Box<dyn Subscriber + Send + Sync>
where
    W: for<'a> MakeWriter<'a> + Send + Sync + 'static,
{
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(ansi)
        .with_writer(writer);
    match format {
        LogFormat::Text => Box::new(builder.finish()),
        LogFormat::Json => Box::new(
            builder
                .json()
                .flatten_event(true)
                .with_current_span(true)
                .with_span_list(true)
                .finish(),
        ),
    }
}

/// Installs the log subscriber writing to stderr off the request path:
/// `RUST_LOG` sets the level (default `info`). Keep the guard until the
/// process ends; without it queued lines are lost.
pub fn init_tracing(format: LogFormat) -> LogGuard {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
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
    counter: Option<ErrorCounter>,
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
        let dropped = self.counter.as_ref().map_or(0, ErrorCounter::dropped_lines);
        let metric = encoder.encode_descriptor(
            "loggate_log_lines_dropped",
            "Log lines dropped because the writer's queue was full (stderr not read fast enough)",
            None,
            MetricType::Counter,
        )?;
        ConstCounter::new(dropped as u64).encode(metric)
    }
}
