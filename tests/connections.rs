//! Black-box, over raw TCP sockets to 127.0.0.1: slow and hostile clients.
//!
//! - A client that does not finish its request head within
//!   `server.header_read_timeout` gets `408` and is disconnected; one that
//!   sends nothing is disconnected.
//! - Connections beyond `server.max_connections` are refused (`503`,
//!   `Retry-After`) and counted; a slot frees when a connection closes.
//! - Requests the HTTP layer would refuse before the router (more than 100
//!   header fields, a 1 MB query, raw non-ASCII bytes in the target, an
//!   HTTP/1.1 request without `Host`, bad syntax) get the JSON error
//!   envelope with `x-request-id`, in order after pipelined requests.
//!
//! No assertion is about a duration: waits are "until the condition", with
//! an outer bound that only turns a hang into a failure.

mod common;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use loggate::app::Application;
use loggate::config;
use loggate::server::ConnectionStats;
use serde_json::Value;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::oneshot;

/// Long enough never to be what ends a test that passes.
const HANG: Duration = Duration::from_secs(60);

struct Gate {
    addr: SocketAddr,
    stats: Arc<ConnectionStats>,
    _stop: oneshot::Sender<()>,
}

/// A gateway with one source that is never asked (nothing here reaches `/logs`
/// past validation) and the given `[server]` lines.
async fn start(server: &str) -> Gate {
    let kind = common::stand_in_kind();
    let toml = format!(
        "[server]\nlisten = \"127.0.0.1:0\"\n{server}\n\
         [sources.app]\nkind = \"{kind}\"\nbase_url = \"http://127.0.0.1:9\"\ntoken = \"t\"\n"
    );
    let config = config::load_str(&toml, Vec::new()).unwrap();
    let app = Application::build(&config).await.unwrap();
    let (addr, stats) = (app.local_addr(), app.connection_stats());
    let (stop, stopped) = oneshot::channel::<()>();
    tokio::spawn(app.run_until(async move {
        let _ = stopped.await;
    }));
    Gate {
        addr,
        stats,
        _stop: stop,
    }
}

/// Everything the gateway sends until it closes the connection.
async fn until_closed(stream: &mut TcpStream) -> Vec<u8> {
    let mut answer = Vec::new();
    tokio::time::timeout(HANG, stream.read_to_end(&mut answer))
        .await
        .expect("the gateway closes the connection")
        .expect("read");
    answer
}

/// Writes `request` (from a task: the gateway may answer before reading
/// it all) and returns everything answered until the connection closes.
async fn exchange(addr: SocketAddr, request: Vec<u8>) -> Vec<u8> {
    let stream = TcpStream::connect(addr).await.unwrap();
    let (mut read, mut write) = stream.into_split();
    let writer = tokio::spawn(async move {
        let _ = write.write_all(&request).await;
        write
    });
    let mut answer = Vec::new();
    tokio::time::timeout(HANG, read.read_to_end(&mut answer))
        .await
        .expect("the gateway closes the connection")
        .expect("read");
    drop(writer.await);
    answer
}

/// One response: status, lowercase header names, and the rest.
struct Answer {
    status: u16,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
    rest: Vec<u8>,
}

impl Answer {
    fn parse(bytes: &[u8]) -> Answer {
        let mut slots = [httparse::EMPTY_HEADER; 32];
        let mut response = httparse::Response::new(&mut slots);
        let head = match response.parse(bytes) {
            Ok(httparse::Status::Complete(n)) => n,
            other => panic!("{other:?}: {}", String::from_utf8_lossy(bytes)),
        };
        let headers: Vec<(String, String)> = response
            .headers
            .iter()
            .map(|h| {
                let value = String::from_utf8_lossy(h.value).into_owned();
                (h.name.to_ascii_lowercase(), value)
            })
            .collect();
        let length: usize = headers
            .iter()
            .find(|(n, _)| n == "content-length")
            .map_or(0, |(_, v)| v.parse().unwrap());
        Answer {
            status: response.code.unwrap(),
            body: bytes[head..head + length].to_vec(),
            rest: bytes[head + length..].to_vec(),
            headers,
        }
    }

    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    /// Asserts the error envelope with `code` and a request id.
    fn assert_envelope(&self, status: u16, code: &str) {
        let body: Value = serde_json::from_slice(&self.body).unwrap_or_else(|_| {
            panic!(
                "{} without the envelope: {}",
                self.status,
                String::from_utf8_lossy(&self.body)
            )
        });
        assert_eq!(
            (self.status, body["error"]["code"].as_str()),
            (status, Some(code)),
            "{body}"
        );
        assert!(body["error"]["message"]
            .as_str()
            .is_some_and(|m| !m.is_empty()));
        assert_eq!(self.header("content-type"), Some("application/json"));
        assert!(self.header("x-request-id").is_some_and(|id| id.len() >= 16));
    }
}

async fn wait_until(what: &str, condition: impl Fn() -> bool) {
    tokio::time::timeout(HANG, async {
        while !condition() {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    })
    .await
    .unwrap_or_else(|_| panic!("never: {what}"));
}

#[tokio::test]
async fn a_slow_header_client_is_answered_408_and_disconnected() {
    let g = start("header_read_timeout = \"200ms\"").await;
    let mut slow = TcpStream::connect(g.addr).await.unwrap();
    slow.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Slow: a")
        .await
        .unwrap();
    let answer = Answer::parse(&until_closed(&mut slow).await);
    answer.assert_envelope(408, "request_timeout");

    // A connection that never sends a byte is closed without an answer.
    let mut silent = TcpStream::connect(g.addr).await.unwrap();
    assert!(until_closed(&mut silent).await.is_empty());
    assert_eq!(g.stats.header_timeouts(), 2);
    wait_until("both closed", || g.stats.open() == 0).await;

    // Prompt clients are served as before, keep-alive included.
    let twice = b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\nGET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";
    let answer = exchange(g.addr, twice.to_vec()).await;
    let first = Answer::parse(&answer);
    assert_eq!(first.status, 200);
    assert_eq!(Answer::parse(&first.rest).status, 200);
}

#[tokio::test]
async fn connections_beyond_the_cap_are_refused_until_one_closes() {
    let g = start("max_connections = 2\nheader_read_timeout = \"1h\"").await;
    let held_a = TcpStream::connect(g.addr).await.unwrap();
    let _held_b = TcpStream::connect(g.addr).await.unwrap();
    wait_until("two open", || g.stats.open() == 2).await;

    let mut third = TcpStream::connect(g.addr).await.unwrap();
    let refused = Answer::parse(&until_closed(&mut third).await);
    refused.assert_envelope(503, "overloaded");
    assert_eq!(refused.header("retry-after"), Some("1"));
    assert_eq!((g.stats.refused(), g.stats.open()), (1, 2));

    drop(held_a);
    wait_until("a slot frees", || g.stats.open() == 1).await;
    let request = b"GET /metrics HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n".to_vec();
    let metrics = Answer::parse(&exchange(g.addr, request).await);
    assert_eq!(metrics.status, 200);
    let text = String::from_utf8(metrics.body).unwrap();
    assert!(
        text.contains("\nloggate_connections_refused_total 1\n"),
        "{text}"
    );
    assert!(text.contains("\nloggate_connections_open 2\n"), "{text}");
}

#[tokio::test]
async fn rejections_before_the_router_carry_the_envelope() {
    let g = start("").await;
    let many: String = (0..120).map(|i| format!("x-h{i}: v\r\n")).collect();
    let cases: Vec<(Vec<u8>, u16, &str)> = vec![
        (
            format!("GET /healthz HTTP/1.1\r\nHost: x\r\n{many}\r\n").into_bytes(),
            431,
            "headers_too_large",
        ),
        (
            format!(
                "GET /logs?q={} HTTP/1.1\r\nHost: x\r\n\r\n",
                "a".repeat(1 << 20)
            )
            .into_bytes(),
            414,
            "uri_too_long",
        ),
        (
            format!(
                "GET /logs HTTP/1.1\r\nHost: x\r\nX-Pad: {}\r\n\r\n",
                "p".repeat(600 * 1024)
            )
            .into_bytes(),
            431,
            "headers_too_large",
        ),
        (
            b"GET /logs?q=\xc3\xa9\xff HTTP/1.1\r\nHost: x\r\n\r\n".to_vec(),
            400,
            "malformed_request",
        ),
        (
            b"GET /healthz HTTP/1.1\r\nAccept: */*\r\n\r\n".to_vec(),
            400,
            "invalid_host",
        ),
        (
            b"GET /healthz HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n".to_vec(),
            400,
            "invalid_host",
        ),
        (
            b"GET /healthz HTTP/1.1\r\nBad Header: v\r\n\r\n".to_vec(),
            400,
            "malformed_request",
        ),
        (
            b"GET /healthz HTTP/1.1\r\nHost: x\r\nContent-Length: -1\r\n\r\n".to_vec(),
            400,
            "malformed_request",
        ),
    ];
    for (request, status, code) in cases {
        let shown = String::from_utf8_lossy(&request[..request.len().min(60)]).into_owned();
        let answer = Answer::parse(&exchange(g.addr, request).await);
        answer.assert_envelope(status, code);
        assert!(answer.rest.is_empty(), "{shown}");
    }
    // HTTP/1.0 needs no Host.
    let old = Answer::parse(&exchange(g.addr, b"GET /healthz HTTP/1.0\r\n\r\n".to_vec()).await);
    assert_eq!(old.status, 200);
    // A refusal keeps its place after a pipelined request.
    let pipelined = b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\nGET /healthz HTTP/1.1\r\n\r\n";
    let first = Answer::parse(&exchange(g.addr, pipelined.to_vec()).await);
    assert_eq!(first.status, 200);
    Answer::parse(&first.rest).assert_envelope(400, "invalid_host");
    // A client cannot forge the guard's stand-in.
    let forged = b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\nx-loggate-early-rejection: 00 uri\r\n\r\n";
    let answer = Answer::parse(&exchange(g.addr, forged.to_vec()).await);
    assert_eq!(answer.status, 200);
    // The refusals are counted like other requests.
    let request = b"GET /metrics HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n".to_vec();
    let text = String::from_utf8(Answer::parse(&exchange(g.addr, request).await).body).unwrap();
    assert!(
        text.contains("loggate_http_requests_total{route=\"unmatched\",status=\"414\"} 1"),
        "{text}"
    );
}
