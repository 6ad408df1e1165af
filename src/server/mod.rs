//! The HTTP/1.1 server loop: accepts connections up to a cap, guards each
//! one ([`guard::HeadGuard`]: head timeout, early rejections in the error
//! envelope, stalled writes) and serves it with hyper's HTTP/1 connection
//! (keep-alive idle timeout), with graceful shutdown.
//!
//! `axum::serve` has none of these settings; this is the loop it runs,
//! with hyper's builder configured (hyper-util's `TowerToHyperService`,
//! as in axum's `serve-with-hyper` example), connections that may upgrade
//! (the WebSocket tail) and a graceful shutdown of its own.

pub mod guard;
pub mod rejection;
pub mod stats;

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use hyper::server::conn::http1;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::service::TowerToHyperService;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{mpsc, watch, Semaphore};

pub use guard::GuardTimeouts;
pub use rejection::Rejection;
pub use stats::ConnectionStats;

/// Connection settings (`server.*` keys; defaults in [`crate::config::ServerConfig`]).
#[derive(Debug, Clone, Copy)]
pub struct ConnectionSettings {
    /// From the first byte of a request head (the accept, for a
    /// connection's first request) to its end.
    pub header_read_timeout: Duration,
    /// Longest a keep-alive connection may wait for its next request; also
    /// the longest a response write may make no progress.
    pub idle_timeout: Duration,
    /// Most connections open at once; more are refused at once.
    pub max_connections: usize,
}

/// Accepts and serves until `shutdown` resolves; then stops accepting,
/// lets each connection finish its request in flight (closing idle ones)
/// and returns when all are closed.
pub async fn serve(
    listener: TcpListener,
    app: Router,
    settings: ConnectionSettings,
    stats: Arc<ConnectionStats>,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let mut http = http1::Builder::new();
    http.timer(TokioTimer::new())
        // hyper starts this clock when a connection goes idle and stops it
        // when a head is parsed: with the guard holding heads back until
        // complete, that is the keep-alive idle timeout.
        .header_read_timeout(settings.idle_timeout)
        .keep_alive(true);
    let timeouts = GuardTimeouts {
        header_read: settings.header_read_timeout,
        write_stall: settings.idle_timeout,
    };
    let slots = Arc::new(Semaphore::new(settings.max_connections));
    // Graceful shutdown by hand: hyper-util's `GracefulShutdown` does not
    // watch connections that may upgrade (the WebSocket tail). `stop`
    // tells every connection to finish; each holds a `done` sender, so
    // `finished` yields `None` once all are closed.
    let (stop, stopping) = watch::channel(false);
    let (done, mut finished) = mpsc::channel::<()>(1);
    let mut shutdown = std::pin::pin!(shutdown);
    loop {
        let (stream, _peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(pair) => pair,
                Err(e) => {
                    // Out of file descriptors and the like: back off
                    // instead of spinning; open connections keep going.
                    tracing::warn!(error = %e, "accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        let Ok(slot) = slots.clone().try_acquire_owned() else {
            stats.count_refused();
            refuse(stream);
            continue;
        };
        let _ = stream.set_nodelay(true);
        let open = stats.opened();
        let io = TokioIo::new(guard::HeadGuard::new(stream, timeouts, stats.clone()));
        // With upgrades: `/loki/api/v1/tail` is a WebSocket.
        let connection = http
            .serve_connection(io, TowerToHyperService::new(app.clone()))
            .with_upgrades();
        let mut stopping = stopping.clone();
        let done = done.clone();
        tokio::spawn(async move {
            let mut connection = std::pin::pin!(connection);
            let served = tokio::select! {
                result = connection.as_mut() => Some(result),
                _ = stopping.wait_for(|stop| *stop) => None,
            };
            let result = match served {
                Some(result) => result,
                None => {
                    connection.as_mut().graceful_shutdown();
                    connection.await
                }
            };
            if let Err(e) = result {
                tracing::debug!(error = %e, "connection closed with an error");
            }
            drop((slot, open, done));
        });
    }
    drop(listener);
    let _ = stop.send(true);
    drop(done);
    let _ = finished.recv().await;
    Ok(())
}

/// Over the cap: a best-effort `503 overloaded` (one non-blocking write)
/// and the connection is closed; no task, no buffer.
fn refuse(stream: TcpStream) {
    let id: [u8; 12] = rand::random();
    let id: String = id.iter().map(|b| format!("{b:02x}")).collect();
    let body = r#"{"error":{"code":"overloaded","message":"the gateway has server.max_connections connections open; retry shortly"}}"#;
    let answer = format!(
        "HTTP/1.1 503 Service Unavailable\r\ncontent-type: application/json\r\n\
         content-length: {}\r\nretry-after: 1\r\nconnection: close\r\nx-request-id: {id}\r\n\r\n{body}",
        body.len()
    );
    let _ = stream.try_write(answer.as_bytes());
    tracing::debug!("connection refused: server.max_connections open");
}
