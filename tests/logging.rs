//! The log writer off the request path (`loggate::logging`, issue 13
//! item 4): the one `info` line of a request still says method, route,
//! status, latency, request id, sources and partial; the guard writes every
//! queued line when dropped (shutdown); lines past the queue are dropped,
//! not waited for, and counted on `/metrics`. `RUST_LOG` of targets and
//! levels only is read into a static `Targets` filter that logs what the
//! `EnvFilter` did; span and field directives keep the `EnvFilter`.
//!
//! The sinks here stand in for stderr; a gated sink blocks the writer
//! thread on its first write until the test opens it, so what is queued
//! and what is dropped follows from events, not from timing.

mod common;

use std::io::Write;
use std::sync::mpsc;
use std::sync::{Arc, Mutex};

use loggate::cli::LogFormat;
use loggate::logging::{non_blocking, subscriber, DroppedLines, LogFilter};
use tracing_subscriber::EnvFilter;

/// What a sink received, shared with the test.
#[derive(Clone, Default)]
struct Received(Arc<Mutex<Vec<u8>>>);

impl Received {
    fn text(&self) -> String {
        String::from_utf8(self.0.lock().unwrap().clone()).unwrap()
    }
}

/// A sink that, on its first write, says so on `entered` and then waits
/// for `gate` (with `gate` = None, it never waits).
struct Sink {
    received: Received,
    entered: Option<mpsc::Sender<()>>,
    gate: Option<mpsc::Receiver<()>>,
}

impl Write for Sink {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        if let Some(entered) = self.entered.take() {
            entered.send(()).unwrap();
        }
        if let Some(gate) = self.gate.take() {
            gate.recv().unwrap();
        }
        self.received.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// A gated sink: (the sink, what it received, "the writer is blocked in
/// it", "open the gate").
fn gated() -> (Sink, Received, mpsc::Receiver<()>, mpsc::Sender<()>) {
    let received = Received::default();
    let (entered_tx, entered_rx) = mpsc::channel();
    let (gate_tx, gate_rx) = mpsc::channel();
    let sink = Sink {
        received: received.clone(),
        entered: Some(entered_tx),
        gate: Some(gate_rx),
    };
    (sink, received, entered_rx, gate_tx)
}

fn lines_of(received: &Received, message: &str) -> Vec<String> {
    received
        .text()
        .lines()
        .filter(|l| l.contains(message))
        .map(str::to_string)
        .collect()
}

#[test]
fn the_guard_writes_every_queued_line_when_dropped() {
    let (sink, received, entered, gate) = gated();
    let (writer, guard) = non_blocking(sink, 1_000);
    let subscriber = subscriber(LogFormat::Text, EnvFilter::new("info"), writer, false);
    tracing::subscriber::with_default(subscriber, || {
        tracing::info!(n = 0, "queued line");
        // The writer thread is now blocked in the sink: the next lines
        // wait in the queue.
        entered.recv().unwrap();
        for n in 1..=100 {
            tracing::info!(n, "queued line");
        }
    });
    assert!(lines_of(&received, "queued line").len() <= 1);
    gate.send(()).unwrap();
    assert_eq!(guard.dropped_lines(), 0);
    drop(guard);
    let lines = lines_of(&received, "queued line");
    assert_eq!(lines.len(), 101, "{lines:?}");
    assert!(lines[100].ends_with("queued line n=100"), "{}", lines[100]);
    assert!(!received.text().contains("dropped"));
}

#[test]
fn lines_past_the_queue_are_dropped_and_counted() {
    let (sink, received, entered, gate) = gated();
    let (writer, guard) = non_blocking(sink, 8);
    let collector = DroppedLines::of(&guard);
    let subscriber = subscriber(LogFormat::Text, EnvFilter::new("info"), writer, false);
    tracing::subscriber::with_default(subscriber, || {
        tracing::info!(n = 0, "line");
        entered.recv().unwrap();
        // 8 fit in the queue; the writer, blocked, takes none of them.
        for n in 1..=20 {
            tracing::info!(n, "line");
        }
    });
    assert_eq!(guard.dropped_lines(), 12);
    let mut registry = prometheus_client::registry::Registry::default();
    registry.register_collector(Box::new(collector));
    let mut metrics = String::new();
    prometheus_client::encoding::text::encode(&mut metrics, &registry).unwrap();
    assert!(
        metrics.contains("\nloggate_log_lines_dropped_total 12\n"),
        "{metrics}"
    );
    gate.send(()).unwrap();
    drop(guard);
    // The first line and the 8 queued are written; the request path never
    // waited for the sink.
    let lines = lines_of(&received, " line n=");
    assert_eq!(lines.len(), 9, "{lines:?}");
    assert!(lines[8].ends_with("line n=8"), "{}", lines[8]);
    // The count is the writer thread's last line, in the sink: dropping
    // the guard writes nothing to stderr itself, whose lock a writer
    // blocked on an unread pipe holds (the process could not exit).
    assert_eq!(
        received.text().lines().last(),
        Some("loggate: 12 log lines dropped: stderr was not read fast enough")
    );
}

/// The production subscriber (text) through the non-blocking writer: one
/// `info` line for the page, with every field issue 13 item 4 names, and
/// no per-source line at `info`.
#[tokio::test]
async fn the_info_line_of_a_page_says_what_issue_13_asks() {
    let received = Received::default();
    let sink = Sink {
        received: received.clone(),
        entered: None,
        gate: None,
    };
    let (writer, guard) = non_blocking(sink, 1_000);
    // The filter `RUST_LOG` unset gives.
    let filter = LogFilter::parse("info");
    assert!(filter.is_static());
    let subscriber = subscriber(LogFormat::Text, filter, writer, false);
    // This thread only: the runtime of a `#[tokio::test]` is this thread.
    let _default = tracing::subscriber::set_default(subscriber);
    let (gateway, _sim) = common::one_open_source().await;
    let id = "page-line.13";
    let response = gateway
        .client
        .get(gateway.url("/logs?limit=5"))
        .header("x-request-id", id)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["x-request-id"], id);
    drop(guard);
    let answered: Vec<String> = lines_of(&received, "request answered")
        .into_iter()
        .filter(|l| l.contains(id))
        .collect();
    assert_eq!(answered.len(), 1, "{answered:?}");
    let line = &answered[0];
    for field in [
        &format!("request_id={id}"),
        "method=GET",
        "route=/logs",
        "sources=\"app\"",
        "partial=false",
        "status=200",
        "latency_ms=",
    ] {
        assert!(line.contains(field), "{field} missing: {line}");
    }
    assert!(line.contains(" INFO "), "{line}");
    assert!(lines_of(&received, "source fetched").is_empty());
}

/// What `filter` lets through of a fixed set of events: every level on
/// five targets, outside any span and inside a span named `request` (the
/// lines without their timestamps).
fn logged_through(filter: LogFilter) -> String {
    let received = Received::default();
    let sink = Sink {
        received: received.clone(),
        entered: None,
        gate: None,
    };
    let (writer, guard) = non_blocking(sink, 10_000);
    let subscriber = subscriber(LogFormat::Text, filter, writer, false);
    macro_rules! every_level {
        ($target:literal, $place:literal) => {
            tracing::error!(target: $target, place = $place, "e");
            tracing::warn!(target: $target, place = $place, "w");
            tracing::info!(target: $target, place = $place, "i");
            tracing::debug!(target: $target, place = $place, "d");
            tracing::trace!(target: $target, place = $place, "t");
        };
    }
    macro_rules! every_target {
        ($place:literal) => {
            every_level!("loggate", $place);
            every_level!("loggate::engine", $place);
            every_level!("loggate::engine::fetch", $place);
            every_level!("hyper", $place);
            every_level!("hyper_util::client", $place);
        };
    }
    tracing::subscriber::with_default(subscriber, || {
        every_target!("outside");
        let span = tracing::info_span!(target: "loggate::http", "request", request_id = "r-1");
        let _entered = span.enter();
        every_target!("inside");
    });
    drop(guard);
    received
        .text()
        .lines()
        .map(|line| line.split_once(' ').map_or(line, |(_time, rest)| rest))
        .map(|line| format!("{line}\n"))
        .collect()
}

#[test]
fn rust_log_of_targets_and_levels_is_a_static_filter_that_logs_what_env_filter_did() {
    for directives in [
        "info",
        "warn",
        "debug",
        "off",
        "TRACE",
        "2",
        "warn,loggate=debug",
        "loggate::engine=trace,info",
        "loggate=info,loggate::engine::fetch=trace,hyper=off,error",
        "loggate,,hyper_util=warn",
        "hyper",
        "info,warn",
    ] {
        let filter = LogFilter::parse(directives);
        assert!(filter.is_static(), "{directives}");
        let env = tracing_subscriber::EnvFilter::builder()
            .parse(directives)
            .unwrap();
        let (ours, theirs) = (logged_through(filter), logged_through(env.into()));
        assert_eq!(ours, theirs, "{directives}");
        // The comparison saw something in all but the `off` case.
        assert_eq!(ours.is_empty(), directives == "off", "{directives}: {ours}");
    }
    // `info` logs info and above of every target, in and out of spans.
    let info = logged_through(LogFilter::parse("info"));
    assert_eq!(info.lines().count(), 5 * 3 * 2, "{info}");
    assert!(!info.contains("DEBUG "), "{info}");
}

#[test]
fn rust_log_with_span_or_field_directives_keeps_env_filter() {
    for directives in [
        "warn,[request]=debug",
        "warn,loggate[request{request_id}]=trace",
        "[{request_id=r-1}]=debug",
        "loggate=",
        "loggate = debug",
    ] {
        assert!(!LogFilter::parse(directives).is_static(), "{directives}");
    }
    // Debug lines inside the `request` span only: a span directive a
    // static filter cannot express.
    let text = logged_through(LogFilter::parse("warn,[request]=debug"));
    let debug: Vec<&str> = text.lines().filter(|l| l.starts_with("DEBUG ")).collect();
    assert_eq!(debug.len(), 5, "{text}");
    assert!(
        debug.iter().all(|l| l.contains("place=\"inside\"")),
        "{text}"
    );
    assert!(text.contains("place=\"outside\"")); // its warn and error lines
    assert!(!text.contains("TRACE "), "{text}");
    // Invalid directives: `info`, as before.
    let invalid = LogFilter::parse("loggate=loud");
    assert!(!invalid.is_static());
    assert_eq!(
        logged_through(invalid),
        logged_through(LogFilter::parse("info"))
    );
}
