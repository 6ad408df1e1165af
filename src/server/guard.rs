//! [`HeadGuard`]: the socket as hyper sees it. It holds each request head
//! back until the head is complete and checked, so that
//!
//! - a head must be complete within `server.header_read_timeout` of its
//!   first byte (of the accept, for a connection's first request); a
//!   partial head past that is answered `408`, a connection that sent
//!   nothing is closed;
//! - heads hyper would refuse with a bare status (too long, too many
//!   fields, bad syntax, raw non-ASCII in the target, no `Host`) are
//!   answered with the error envelope instead: the guard hands hyper a
//!   stand-in request ([`Rejection::stand_in`]) the router answers;
//! - a response that makes no progress for `server.idle_timeout` (a client
//!   that stopped reading) closes the connection.
//!
//! After a head announcing a body (every route refuses one) the rest of
//! the connection passes through unchecked; hyper's own limits apply.

use std::future::Future;
use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{ready, Context, Poll};
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::time::{sleep, Instant, Sleep};

use super::rejection::Rejection;
use super::stats::ConnectionStats;

/// Longest request line (method, target, version), in bytes.
pub const MAX_REQUEST_LINE: usize = 16 * 1024;
/// Longest request head (request line and header fields), in bytes.
pub const MAX_HEAD_BYTES: usize = 64 * 1024;
/// Most header fields in one request (hyper's own default limit).
pub const MAX_HEADERS: usize = 100;
/// After a refused request, how long closing the connection may keep
/// reading and discarding what the client still sends, so that the
/// answer is not destroyed by a TCP reset (a "lingering close").
const LINGER: Duration = Duration::from_secs(2);
/// Most bytes discarded during the lingering close.
const LINGER_BYTES: usize = 4 << 20;

/// Timeouts of a guarded connection.
#[derive(Debug, Clone, Copy)]
pub struct GuardTimeouts {
    /// From the first byte of a head (the accept, for the first) to its end.
    pub header_read: Duration,
    /// Longest a response write may make no progress.
    pub write_stall: Duration,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    /// Reading and checking request heads.
    Heads,
    /// A body was announced: bytes pass through unchecked.
    Passthrough,
    /// A stand-in was handed over; hyper answers it and closes.
    Rejected,
    /// End of input as far as hyper is concerned.
    Closed,
}

/// An I/O stream (the accepted `TcpStream`) guarded as described above.
pub struct HeadGuard<S> {
    inner: S,
    timeouts: GuardTimeouts,
    stats: Arc<ConnectionStats>,
    state: State,
    /// The head being read.
    head: Vec<u8>,
    /// Where the current line of `head` starts.
    line_start: usize,
    /// Whether the request line of `head` is complete.
    line_done: bool,
    /// Checked bytes not yet handed to hyper, from `ready_pos`.
    ready: Vec<u8>,
    ready_pos: usize,
    head_deadline: Option<Pin<Box<Sleep>>>,
    write_deadline: Option<Pin<Box<Sleep>>>,
    shutdown: Option<(Pin<Box<Sleep>>, usize)>,
}

impl<S> HeadGuard<S> {
    /// Guards a freshly accepted stream: its first head is due within
    /// `timeouts.header_read` from now.
    pub fn new(inner: S, timeouts: GuardTimeouts, stats: Arc<ConnectionStats>) -> Self {
        HeadGuard {
            inner,
            timeouts,
            stats,
            state: State::Heads,
            head: Vec::new(),
            line_start: 0,
            line_done: false,
            ready: Vec::new(),
            ready_pos: 0,
            head_deadline: Some(Box::pin(sleep(timeouts.header_read))),
            write_deadline: None,
            shutdown: None,
        }
    }

    /// Scans bytes read from the client.
    fn scan(&mut self, mut bytes: &[u8]) {
        while !bytes.is_empty() {
            match self.state {
                State::Heads => {}
                State::Passthrough => {
                    self.ready.extend_from_slice(bytes);
                    return;
                }
                State::Rejected | State::Closed => return,
            }
            if self.head.is_empty() && self.head_deadline.is_none() {
                let due = Instant::now() + self.timeouts.header_read;
                self.head_deadline = Some(Box::pin(tokio::time::sleep_until(due)));
            }
            let b = bytes[0];
            bytes = &bytes[1..];
            self.head.push(b);
            if b == b'\n' {
                let line = &self.head[self.line_start..self.head.len() - 1];
                let empty = line.is_empty() || line == b"\r";
                self.line_start = self.head.len();
                if empty && self.line_done {
                    self.complete_head();
                    continue;
                }
                // Empty lines before the request line are ignored (RFC 9112 §2.2).
                self.line_done |= !empty;
            }
            if !self.line_done && self.head.len() > MAX_REQUEST_LINE {
                self.reject(Rejection::UriTooLong);
            } else if self.head.len() > MAX_HEAD_BYTES {
                self.reject(Rejection::HeadTooLarge);
            }
        }
    }

    /// A whole head is in `head`: check it and hand it over, or refuse it.
    fn complete_head(&mut self) {
        match check_head(&self.head) {
            Ok(has_body) => {
                self.ready.extend_from_slice(&self.head);
                self.head.clear();
                self.line_start = 0;
                self.line_done = false;
                self.head_deadline = None;
                if has_body {
                    self.state = State::Passthrough;
                }
            }
            Err(rejection) => self.reject(rejection),
        }
    }

    fn reject(&mut self, rejection: Rejection) {
        tracing::debug!(?rejection, "request head refused before parsing");
        self.ready.extend_from_slice(&rejection.stand_in());
        self.head = Vec::new();
        self.head_deadline = None;
        self.state = State::Rejected;
    }

    /// The head deadline passed.
    fn on_head_timeout(&mut self) {
        self.stats.count_header_timeout();
        if self.head.is_empty() {
            // Nothing sent: close quietly, no unsolicited answer.
            self.head_deadline = None;
            self.state = State::Closed;
        } else {
            self.reject(Rejection::HeadTimeout);
        }
    }

    fn head_deadline_passed(&mut self, cx: &mut Context<'_>) -> bool {
        match &mut self.head_deadline {
            Some(deadline) if self.state == State::Heads => deadline.as_mut().poll(cx).is_ready(),
            _ => false,
        }
    }
}

/// Checks a complete head; `Ok(true)` when it announces a body.
fn check_head(head: &[u8]) -> Result<bool, Rejection> {
    let mut slots = [httparse::EMPTY_HEADER; MAX_HEADERS];
    let mut request = httparse::Request::new(&mut slots);
    match request.parse(head) {
        Ok(httparse::Status::Complete(_)) => {}
        Ok(httparse::Status::Partial) => return Err(Rejection::Malformed),
        Err(httparse::Error::TooManyHeaders) => return Err(Rejection::TooManyHeaders),
        // httparse stops at raw non-ASCII in the target: say which mistake.
        Err(_) if request_line(head).iter().any(|b| !b.is_ascii()) => {
            return Err(Rejection::TargetBytes)
        }
        Err(_) => return Err(Rejection::Malformed),
    }
    let target = request.path.unwrap_or("").as_bytes();
    if !target.iter().all(|b| (0x21..=0x7e).contains(b)) {
        return Err(Rejection::TargetBytes);
    }
    if axum::http::Uri::try_from(target).is_err() {
        return Err(Rejection::InvalidTarget);
    }
    let headers: &[httparse::Header<'_>] = request.headers;
    let named = |name: &'static str| {
        headers
            .iter()
            .filter(move |h| h.name.eq_ignore_ascii_case(name))
    };
    let hosts = named("host").count();
    let host_ok = match request.version {
        Some(1) => hosts == 1,
        _ => hosts <= 1,
    };
    if !host_ok {
        return Err(Rejection::Host);
    }
    let mut length: Option<&[u8]> = None;
    for value in named("content-length").map(|h| h.value) {
        let digits = value.trim_ascii();
        let valid =
            !digits.is_empty() && digits.len() <= 19 && digits.iter().all(u8::is_ascii_digit);
        if !valid || length.is_some_and(|l| l != digits) {
            return Err(Rejection::InvalidLength);
        }
        length = Some(digits);
    }
    let chunked = named("transfer-encoding").next().is_some();
    Ok(chunked || length.is_some_and(|l| l.iter().any(|&d| d != b'0')))
}

/// The first non-empty line of a head.
fn request_line(head: &[u8]) -> &[u8] {
    head.split(|&b| b == b'\n')
        .find(|line| !line.is_empty() && *line != b"\r")
        .unwrap_or_default()
}

impl<S: AsyncRead + Unpin> AsyncRead for HeadGuard<S> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = &mut *self;
        loop {
            if this.ready_pos < this.ready.len() {
                let n = buf.remaining().min(this.ready.len() - this.ready_pos);
                buf.put_slice(&this.ready[this.ready_pos..this.ready_pos + n]);
                this.ready_pos += n;
                if this.ready_pos == this.ready.len() {
                    this.ready.clear();
                    this.ready_pos = 0;
                }
                return Poll::Ready(Ok(()));
            }
            match this.state {
                State::Closed => return Poll::Ready(Ok(())),
                // hyper answers the stand-in and closes; nothing more to read.
                State::Rejected => return Poll::Pending,
                State::Passthrough => return Pin::new(&mut this.inner).poll_read(cx, buf),
                State::Heads => {}
            }
            let before = buf.filled().len();
            match Pin::new(&mut this.inner).poll_read(cx, buf) {
                Poll::Pending => {
                    if this.head_deadline_passed(cx) {
                        this.on_head_timeout();
                        continue;
                    }
                    return Poll::Pending;
                }
                Poll::Ready(Err(e)) => return Poll::Ready(Err(e)),
                Poll::Ready(Ok(())) => {}
            }
            let got = buf.filled()[before..].to_vec();
            buf.set_filled(before);
            if got.is_empty() {
                this.state = State::Closed;
                continue;
            }
            this.scan(&got);
            if this.head_deadline_passed(cx) {
                this.on_head_timeout();
            }
        }
    }
}

impl<S> HeadGuard<S> {
    /// A write's outcome, timed: progress clears the stall deadline; no
    /// progress for `write_stall` fails the write (a client that stopped
    /// reading the response).
    fn timed_write(
        &mut self,
        cx: &mut Context<'_>,
        written: Poll<io::Result<usize>>,
    ) -> Poll<io::Result<usize>> {
        match written {
            Poll::Ready(result) => {
                self.write_deadline = None;
                Poll::Ready(result)
            }
            Poll::Pending => {
                let stall = self.timeouts.write_stall;
                let deadline = self
                    .write_deadline
                    .get_or_insert_with(|| Box::pin(sleep(stall)));
                if deadline.as_mut().poll(cx).is_ready() {
                    return Poll::Ready(Err(io::Error::new(
                        io::ErrorKind::TimedOut,
                        "the client stopped reading the response",
                    )));
                }
                Poll::Pending
            }
        }
    }
}

/// Vectored writes are passed through (and announced when the socket has
/// them): hyper then queues a response body as it is instead of copying
/// it into a write buffer of its own per connection, a buffer that keeps
/// the size of the largest response for the connection's life (README
/// "Benchmarks": 200 keep-alive connections held ~90 MB that way).
impl<S: AsyncRead + AsyncWrite + Unpin> AsyncWrite for HeadGuard<S> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        data: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = &mut *self;
        let written = Pin::new(&mut this.inner).poll_write(cx, data);
        this.timed_write(cx, written)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let this = &mut *self;
        let written = Pin::new(&mut this.inner).poll_write_vectored(cx, bufs);
        this.timed_write(cx, written)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    /// Sends FIN; after a refused request or an unread body, keeps
    /// discarding input for a bounded while first (see [`LINGER`]).
    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = &mut *self;
        if this.shutdown.is_none() {
            ready!(Pin::new(&mut this.inner).poll_shutdown(cx))?;
            this.shutdown = Some((Box::pin(sleep(LINGER)), 0));
        }
        if !matches!(this.state, State::Rejected | State::Passthrough) {
            return Poll::Ready(Ok(()));
        }
        let Some((deadline, drained)) = &mut this.shutdown else {
            return Poll::Ready(Ok(()));
        };
        let mut scratch = [0u8; 8192];
        loop {
            let mut sink = ReadBuf::new(&mut scratch);
            match Pin::new(&mut this.inner).poll_read(cx, &mut sink) {
                Poll::Ready(Ok(())) if !sink.filled().is_empty() => {
                    *drained += sink.filled().len();
                    if *drained > LINGER_BYTES {
                        return Poll::Ready(Ok(()));
                    }
                }
                Poll::Ready(_) => return Poll::Ready(Ok(())),
                Poll::Pending => {
                    return match deadline.as_mut().poll(cx) {
                        Poll::Ready(()) => Poll::Ready(Ok(())),
                        Poll::Pending => Poll::Pending,
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests;
