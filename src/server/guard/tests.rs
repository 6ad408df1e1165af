//! The guard over an in-memory pipe, on a paused clock: every timeout here
//! fires by the clock's auto-advance, not by waiting.

use super::*;
use axum::http::{HeaderMap, HeaderName, HeaderValue};
use tokio::io::{duplex, AsyncReadExt, AsyncWriteExt, DuplexStream};

const TIMEOUTS: GuardTimeouts = GuardTimeouts {
    header_read: Duration::from_secs(5),
    write_stall: Duration::from_secs(30),
};

fn guard(buffer: usize) -> (DuplexStream, HeadGuard<DuplexStream>, Arc<ConnectionStats>) {
    let (client, server) = duplex(buffer);
    let stats = Arc::new(ConnectionStats::default());
    (
        client,
        HeadGuard::new(server, TIMEOUTS, stats.clone()),
        stats,
    )
}

/// What hyper would read: everything the guard hands over until it ends
/// (EOF) or has nothing more for a (paused-clock) second.
async fn handed_over(guard: &mut HeadGuard<DuplexStream>) -> (Vec<u8>, bool) {
    let mut out = Vec::new();
    let mut chunk = [0u8; 4096];
    loop {
        match tokio::time::timeout(Duration::from_secs(1), guard.read(&mut chunk)).await {
            Ok(Ok(0)) => return (out, true),
            Ok(Ok(n)) => out.extend_from_slice(&chunk[..n]),
            Ok(Err(e)) => panic!("read failed: {e}"),
            Err(_) => return (out, false),
        }
    }
}

async fn through(input: &[u8]) -> Vec<u8> {
    let (mut client, mut guarded, _) = guard(1 << 20);
    client.write_all(input).await.unwrap();
    handed_over(&mut guarded).await.0
}

/// The rejection a stand-in carries, if `bytes` is one.
fn rejection_in(bytes: &[u8]) -> Option<Rejection> {
    let mut slots = [httparse::EMPTY_HEADER; 8];
    let mut request = httparse::Request::new(&mut slots);
    request.parse(bytes).ok()?;
    let mut map = HeaderMap::new();
    for h in request.headers.iter() {
        map.append(
            HeaderName::from_bytes(h.name.as_bytes()).ok()?,
            HeaderValue::from_bytes(h.value).ok()?,
        );
    }
    Rejection::of(&map)
}

const GOOD: &[u8] = b"GET /logs?q=a HTTP/1.1\r\nHost: x\r\n\r\n";

#[tokio::test(start_paused = true)]
async fn good_heads_pass_unchanged_even_pipelined() {
    assert_eq!(through(GOOD).await, GOOD);
    let two = [GOOD, b"\r\nGET /healthz HTTP/1.0\r\n\r\n"].concat();
    assert_eq!(through(&two).await, two);
    // Bare LF line ends are HTTP too.
    let lf = b"GET / HTTP/1.1\nHost: x\n\n";
    assert_eq!(through(lf).await, lf);
}

#[tokio::test(start_paused = true)]
async fn bad_heads_become_stand_ins() {
    let many: String = (0..=MAX_HEADERS).map(|i| format!("x-{i}: v\r\n")).collect();
    let long_line = format!("GET /?q={} HTTP/1.1\r\n", "a".repeat(MAX_REQUEST_LINE));
    let big_head = format!("GET / HTTP/1.1\r\nx: {}\r\n", "a".repeat(MAX_HEAD_BYTES));
    for (input, want) in [
        (long_line.into_bytes(), Rejection::UriTooLong),
        (big_head.into_bytes(), Rejection::HeadTooLarge),
        (
            format!("GET / HTTP/1.1\r\nHost: x\r\n{many}\r\n").into_bytes(),
            Rejection::TooManyHeaders,
        ),
        (
            b"GET /logs?q=\xff\xfe HTTP/1.1\r\nHost: x\r\n\r\n".to_vec(),
            Rejection::TargetBytes,
        ),
        (
            b"GET /a b HTTP/1.1\r\nHost: x\r\n\r\n".to_vec(),
            Rejection::Malformed,
        ),
        (
            b"GET /logs HTTP/1.1\r\nAccept: */*\r\n\r\n".to_vec(),
            Rejection::Host,
        ),
        (
            b"GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n".to_vec(),
            Rejection::Host,
        ),
        (
            b"GET / HTTP/1.1\r\nHost: a\r\nContent-Length: 1x\r\n\r\n".to_vec(),
            Rejection::InvalidLength,
        ),
        (
            b"GET / HTTP/1.1\r\nHost: a\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n".to_vec(),
            Rejection::InvalidLength,
        ),
    ] {
        let out = through(&input).await;
        assert_eq!(
            rejection_in(&out),
            Some(want),
            "{}",
            String::from_utf8_lossy(&out)
        );
    }
}

#[tokio::test(start_paused = true)]
async fn a_refusal_keeps_the_requests_before_it() {
    let input = [GOOD, b"GET / HTTP/1.1\r\n\r\n", GOOD].concat();
    let out = through(&input).await;
    assert!(out.starts_with(GOOD));
    assert_eq!(rejection_in(&out[GOOD.len()..]), Some(Rejection::Host));
}

#[tokio::test(start_paused = true)]
async fn http_1_0_needs_no_host_and_bodies_pass_through() {
    let old = b"GET / HTTP/1.0\r\n\r\n";
    assert_eq!(through(old).await, old);
    // Everything after a head announcing a body is hyper's to read.
    let with_body = b"GET / HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello\xff\xff";
    assert_eq!(through(with_body).await, with_body);
}

#[tokio::test(start_paused = true)]
async fn a_partial_head_past_the_timeout_is_408_and_silence_is_closed() {
    let (mut client, mut slow, stats) = guard(1 << 16);
    client
        .write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Slow: a")
        .await
        .unwrap();
    let (out, ended) = handed_over_until_ended(&mut slow).await;
    assert!(!ended);
    assert_eq!(rejection_in(&out), Some(Rejection::HeadTimeout));
    assert_eq!(stats.header_timeouts(), 1);

    let (_client, mut silent, stats) = guard(1 << 16);
    let mut chunk = [0u8; 16];
    assert_eq!(silent.read(&mut chunk).await.unwrap(), 0, "closed: EOF");
    assert_eq!(stats.header_timeouts(), 1);
}

#[tokio::test(start_paused = true)]
async fn the_head_clock_starts_at_the_first_byte_of_each_later_head() {
    let (mut client, mut kept, stats) = guard(1 << 16);
    client.write_all(GOOD).await.unwrap();
    let (out, _) = handed_over(&mut kept).await;
    assert_eq!(out, GOOD);
    // Idle well past the head timeout: keep-alive idleness is hyper's.
    tokio::time::sleep(TIMEOUTS.header_read * 3).await;
    client.write_all(GOOD).await.unwrap();
    let (out, ended) = handed_over(&mut kept).await;
    assert_eq!((out.as_slice(), ended), (GOOD, false));
    assert_eq!(stats.header_timeouts(), 0);
}

#[tokio::test(start_paused = true)]
async fn a_client_that_stops_reading_is_cut_off() {
    let (_client, mut stuck, _) = guard(64);
    let error = stuck.write_all(&[b'x'; 4096]).await.unwrap_err();
    assert_eq!(error.kind(), io::ErrorKind::TimedOut);
}

#[tokio::test(start_paused = true)]
async fn a_head_trickled_a_byte_a_second_times_out() {
    let (mut client, mut trickled, stats) = guard(1 << 16);
    let reading = tokio::spawn(async move {
        let (out, _) = handed_over_until_ended(&mut trickled).await;
        out
    });
    for b in b"GET /healthz HTTP/1.1\r\nHost: x\r\n".iter() {
        if client.write_all(&[*b]).await.is_err() {
            break;
        }
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
    let out = reading.await.unwrap();
    assert_eq!(rejection_in(&out), Some(Rejection::HeadTimeout));
    assert_eq!(stats.header_timeouts(), 1);
}

/// Reads until the guard has handed over a stand-in (it then reads nothing
/// more) or ended.
async fn handed_over_until_ended(guard: &mut HeadGuard<DuplexStream>) -> (Vec<u8>, bool) {
    let mut out = Vec::new();
    let mut chunk = [0u8; 4096];
    loop {
        match guard.read(&mut chunk).await {
            Ok(0) => return (out, true),
            Ok(n) => {
                out.extend_from_slice(&chunk[..n]);
                if rejection_in(&out).is_some() {
                    return (out, false);
                }
            }
            Err(e) => panic!("read failed: {e}"),
        }
    }
}

/// hyper copies every response body into a per-connection buffer unless
/// its socket takes vectored writes; the guard must not hide them.
#[tokio::test]
async fn vectored_writes_pass_through_so_bodies_are_not_copied() {
    let (mut client, mut guarded, _) = guard(1 << 16);
    assert!(guarded.is_write_vectored());
    let parts = [
        io::IoSlice::new(b"HTTP/1.1 200 OK\r\n\r\n"),
        io::IoSlice::new(b"body"),
    ];
    let written = guarded.write_vectored(&parts).await.unwrap();
    assert_eq!(written, 23);
    let mut got = vec![0; written];
    client.read_exact(&mut got).await.unwrap();
    assert_eq!(got, b"HTTP/1.1 200 OK\r\n\r\nbody");
}

#[tokio::test(start_paused = true)]
async fn a_client_that_stops_reading_a_vectored_write_is_cut_off() {
    let (_client, mut stuck, _) = guard(64);
    let chunk = [b'x'; 4096];
    let parts = [io::IoSlice::new(&chunk), io::IoSlice::new(&chunk)];
    // The pipe takes 64 bytes, then no more: the second write stalls.
    for _ in 0..2 {
        if let Err(error) = stuck.write_vectored(&parts).await {
            assert_eq!(error.kind(), io::ErrorKind::TimedOut);
            return;
        }
    }
    panic!("a stalled vectored write was not cut off");
}
