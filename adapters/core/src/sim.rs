//! Shared by the provider simulators: serving a router on loopback, and the
//! fault switches tests flip (latency, forced statuses with `Retry-After`,
//! redirects, malformed, truncated, oversized or HTML bodies, dropped
//! connections, hangs), the packaging switch (compressed bodies, a
//! byte-order mark, another content type: spec §10), plus a log of the
//! requests each simulator received.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::Router;

/// A fault the simulator answers with instead of its real response.
#[derive(Debug, Clone, PartialEq)]
pub enum Fault {
    /// This status with this body and content type, and `Retry-After`.
    Status {
        status: u16,
        body: String,
        content_type: &'static str,
        retry_after: Option<String>,
    },
    /// Valid status and content type, body not JSON.
    MalformedJson,
    /// A `Content-Length` promising more than is sent: the connection ends early.
    TruncatedBody,
    /// A JSON body of this many bytes.
    Oversized(usize),
    /// An HTML error page with status 502, as proxies send.
    HtmlErrorPage,
    /// Never answer (until the client gives up).
    Hang,
    /// Close the connection without a response.
    Drop,
    /// A redirect (`status` 3xx) to `location`, with an empty body.
    Redirect { status: u16, location: String },
}

/// How a simulator wraps its successful bodies (spec §10: all of it is
/// packaging a reader must see through).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Packaging {
    /// `Content-Encoding` to compress with, whether or not it was asked for.
    pub encoding: Option<Encoding>,
    /// Prefix a UTF-8 byte-order mark.
    pub bom: bool,
    /// Replace the `Content-Type` (`text/plain`, ...).
    pub content_type: Option<&'static str>,
}

/// A `Content-Encoding`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Encoding {
    Gzip,
    /// HTTP's `deflate`: the zlib format (RFC 9110 §8.4.1.2).
    Deflate,
    Brotli,
}

impl Encoding {
    pub const ALL: [Encoding; 3] = [Encoding::Gzip, Encoding::Deflate, Encoding::Brotli];

    pub fn as_str(self) -> &'static str {
        match self {
            Encoding::Gzip => "gzip",
            Encoding::Deflate => "deflate",
            Encoding::Brotli => "br",
        }
    }

    /// `body` compressed.
    pub fn encode(self, body: &[u8]) -> Vec<u8> {
        use std::io::Write;
        let written = match self {
            Encoding::Gzip => {
                let mut w = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
                w.write_all(body).and_then(|_| w.finish())
            }
            Encoding::Deflate => {
                let mut w =
                    flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::fast());
                w.write_all(body).and_then(|_| w.finish())
            }
            Encoding::Brotli => {
                let mut w = brotli::CompressorWriter::new(Vec::new(), 4096, 5, 22);
                w.write_all(body).map(|_| w.into_inner())
            }
        };
        // Writing into a Vec cannot fail.
        written.unwrap_or_default()
    }
}

impl Fault {
    pub fn status(status: u16, body: &str) -> Self {
        Fault::Status {
            status,
            body: body.to_string(),
            content_type: "application/json",
            retry_after: None,
        }
    }

    pub fn with_retry_after(status: u16, body: &str, retry_after: &str) -> Self {
        Fault::Status {
            status,
            body: body.to_string(),
            content_type: "application/json",
            retry_after: Some(retry_after.to_string()),
        }
    }
}

/// One request as the simulator saw it.
#[derive(Debug, Clone, PartialEq)]
pub struct SeenRequest {
    pub method: String,
    pub path: String,
    /// The raw query string, percent-encoding untouched.
    pub query: String,
    pub headers: Vec<(String, String)>,
    /// Milliseconds on the simulator's monotonic clock since it started.
    pub at_ms: u64,
}

impl SeenRequest {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// Decoded query pairs, in order.
    pub fn query_pairs(&self) -> Vec<(String, String)> {
        url::form_urlencoded::parse(self.query.as_bytes())
            .into_owned()
            .collect()
    }
}

#[derive(Debug, Default)]
struct FaultState {
    latency: Duration,
    once: VecDeque<Fault>,
    always: Option<Fault>,
    packaging: Packaging,
    seen: Vec<SeenRequest>,
}

/// The switches of one simulator; cheap to clone, shared with its router.
#[derive(Debug, Clone)]
pub struct Faults {
    state: Arc<Mutex<FaultState>>,
    started: tokio::time::Instant,
}

impl Default for Faults {
    fn default() -> Self {
        Faults {
            state: Arc::default(),
            started: tokio::time::Instant::now(),
        }
    }
}

impl Faults {
    /// Delay every answer by `latency`.
    pub fn set_latency(&self, latency: Duration) {
        self.lock().latency = latency;
    }

    /// Answer the next request with `fault`; queued faults apply in order.
    pub fn fail_next(&self, fault: Fault) {
        self.lock().once.push_back(fault);
    }

    /// Answer every request with `fault` until [`Faults::clear`].
    pub fn fail_always(&self, fault: Fault) {
        self.lock().always = Some(fault);
    }

    /// Wrap every successful answer as `packaging` says (until
    /// [`Faults::clear`]).
    pub fn set_packaging(&self, packaging: Packaging) {
        self.lock().packaging = packaging;
    }

    pub fn clear(&self) {
        let mut state = self.lock();
        state.once.clear();
        state.always = None;
        state.latency = Duration::ZERO;
        state.packaging = Packaging::default();
    }

    /// Every request received so far (the fault layer records them all).
    pub fn seen(&self) -> Vec<SeenRequest> {
        self.lock().seen.clone()
    }

    pub fn seen_count(&self) -> usize {
        self.lock().seen.len()
    }

    pub fn forget_seen(&self) {
        self.lock().seen.clear();
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, FaultState> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Wraps `router` so every request passes through the switches.
    pub fn layer(&self, router: Router) -> Router {
        router.layer(axum::middleware::from_fn_with_state(
            self.clone(),
            fault_layer,
        ))
    }
}

async fn fault_layer(State(faults): State<Faults>, request: Request, next: Next) -> Response {
    let seen = SeenRequest {
        method: request.method().to_string(),
        path: request.uri().path().to_string(),
        query: request.uri().query().unwrap_or("").to_string(),
        headers: request
            .headers()
            .iter()
            .map(|(n, v)| {
                (
                    n.to_string(),
                    String::from_utf8_lossy(v.as_bytes()).into_owned(),
                )
            })
            .collect(),
        at_ms: faults.started.elapsed().as_millis() as u64,
    };
    let (latency, fault, packaging) = {
        let mut state = faults.lock();
        state.seen.push(seen);
        let fault = state.once.pop_front().or_else(|| state.always.clone());
        (state.latency, fault, state.packaging.clone())
    };
    if !latency.is_zero() {
        tokio::time::sleep(latency).await;
    }
    match fault {
        None => package(next.run(request).await, &packaging).await,
        Some(fault) => fault_response(fault).await,
    }
}

/// A successful `response` wrapped as `packaging` says.
async fn package(response: Response, packaging: &Packaging) -> Response {
    if *packaging == Packaging::default() || !response.status().is_success() {
        return response;
    }
    let (mut parts, body) = response.into_parts();
    let Ok(bytes) = axum::body::to_bytes(body, usize::MAX).await else {
        return StatusCode::INTERNAL_SERVER_ERROR.into_response();
    };
    let mut data = Vec::with_capacity(bytes.len() + 3);
    if packaging.bom {
        data.extend_from_slice(b"\xEF\xBB\xBF");
    }
    data.extend_from_slice(&bytes);
    parts.headers.remove(header::CONTENT_LENGTH);
    if let Some(encoding) = packaging.encoding {
        data = encoding.encode(&data);
        parts.headers.insert(
            header::CONTENT_ENCODING,
            HeaderValue::from_static(encoding.as_str()),
        );
    }
    if let Some(content_type) = packaging.content_type {
        parts
            .headers
            .insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    }
    Response::from_parts(parts, Body::from(data))
}

async fn fault_response(fault: Fault) -> Response {
    match fault {
        Fault::Status {
            status,
            body,
            content_type,
            retry_after,
        } => {
            let status = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
            let mut response = (status, [(header::CONTENT_TYPE, content_type)], body).into_response();
            if let Some(value) = retry_after.and_then(|v| HeaderValue::from_str(&v).ok()) {
                response.headers_mut().insert(header::RETRY_AFTER, value);
            }
            response
        }
        Fault::MalformedJson => (
            [(header::CONTENT_TYPE, "application/json")],
            "{\"data\": [{\"oops\": ",
        )
            .into_response(),
        Fault::TruncatedBody => {
            let stream = futures::stream::iter(vec![
                Ok::<_, std::io::Error>(axum::body::Bytes::from_static(b"{\"data\": [")),
                Err(std::io::Error::other("connection reset")),
            ]);
            let mut response = Response::new(Body::from_stream(stream));
            response.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
            response.headers_mut().insert(header::CONTENT_LENGTH, HeaderValue::from_static("4096"));
            response
        }
        Fault::Oversized(bytes) => {
            let mut body = String::with_capacity(bytes + 16);
            body.push_str("{\"pad\":\"");
            body.extend(std::iter::repeat_n('x', bytes));
            body.push_str("\"}");
            ([(header::CONTENT_TYPE, "application/json")], body).into_response()
        }
        Fault::HtmlErrorPage => (
            StatusCode::BAD_GATEWAY,
            [(header::CONTENT_TYPE, "text/html")],
            "<html><head><title>502 Bad Gateway</title></head><body><h1>502 Bad Gateway</h1></body></html>",
        )
            .into_response(),
        Fault::Hang => {
            std::future::pending::<()>().await;
            unreachable!("pending never resolves")
        }
        Fault::Redirect { status, location } => {
            let status = StatusCode::from_u16(status).unwrap_or(StatusCode::TEMPORARY_REDIRECT);
            let mut response = status.into_response();
            if let Ok(value) = HeaderValue::from_str(&location) {
                response.headers_mut().insert(header::LOCATION, value);
            }
            response
        }
        Fault::Drop => {
            let stream = futures::stream::iter(vec![Err::<axum::body::Bytes, _>(
                std::io::Error::other("dropped"),
            )]);
            let mut response = Response::new(Body::from_stream(stream));
            response.headers_mut().insert(header::CONTENT_LENGTH, HeaderValue::from_static("100"));
            response
        }
    }
}

/// What every provider simulator offers the gateway's demo, the tests and
/// the benchmark, none of which knows the provider.
pub trait Simulator: Send + Sync + 'static {
    /// The simulator's API, already wrapped with its fault switches.
    fn router(&self) -> Router;
    fn faults(&self) -> &Faults;
    /// Writes `n` new records stamped strictly after the current time.
    fn insert_new(&self, n: usize);
    /// Writes `n` records stamped `at_ms`, identical in everything the
    /// provider lets a client see except their own ids where the provider
    /// has ids (issue 11 item 5: a tie group of identical records).
    fn insert_copies(&self, n: usize, at_ms: i64);
    /// Every record, normalised by the adapter crate's mapping, `raw` unset.
    fn snapshot(&self) -> Vec<crate::LogRecord>;
    /// Stores one native record verbatim (readable or not).
    fn insert(&self, raw: serde_json::Value);
    /// Every stored native record, as stored.
    fn raw_records(&self) -> Vec<serde_json::Value>;
    /// The keys of a source table that reads this simulator, besides
    /// `kind` and `base_url`, as TOML lines (its credentials, and any
    /// setting its variant needs).
    fn source_toml(&self) -> String;
    /// A copy of native record `raw` with a fresh native id (`n` makes it
    /// unique) and an attribute set to `value` that no generator produces
    /// and the adapter does not push down; returns it and the attribute's
    /// name (for `attr.NAME=value`).
    fn planted(
        &self,
        raw: &serde_json::Value,
        n: usize,
        value: &str,
    ) -> (serde_json::Value, &'static str);
    /// A native record dated `at_ms` that the adapter cannot read (no id,
    /// no usable timestamp) and that a time-bounded read still returns;
    /// `None` when the provider has no such record.
    fn unreadable(&self, at_ms: i64) -> Option<serde_json::Value>;
    /// The time (epoch ms) of every record of a native list answer, as a
    /// client reading the provider directly would decode it; `None` when
    /// `body` is not such an answer.
    fn answer_times(&self, body: &serde_json::Value) -> Option<Vec<i64>>;
    /// A `200` list answer whose list of records is JSON `null`, as some
    /// real deployments answer an empty window (spec §10, issue 11 item 4):
    /// the adapter must read it as an empty page.
    fn null_list_answer(&self) -> String;
}

mod delegate;
mod parts;
mod query;
mod rng;
mod serve;
mod spec;
mod store;
pub use parts::{answer_times_at, planted_object_id, set_nested};
pub use query::{first, query_pairs};
pub use rng::SeededRng;
pub use serve::{serve, serve_loopback, Served};
pub use spec::{DemoSource, SimConfigure, SimSpec, SpecSimulator};
pub use store::{SimData, SimStore};

/// `key = "value"` as one TOML line (for [`Simulator::source_toml`]), the
/// value quoted and escaped (JSON's string escapes are TOML's).
pub fn toml_line(key: &str, value: &str) -> String {
    format!("{key} = {}\n", serde_json::Value::from(value))
}
