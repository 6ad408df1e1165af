//! Serving a simulator's router on loopback for as long as a test holds it.

use std::net::SocketAddr;

use axum::Router;
use tokio::task::JoinHandle;

/// A simulator serving on loopback until dropped.
pub struct Served {
    pub addr: SocketAddr,
    task: JoinHandle<()>,
}

impl Served {
    pub fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }
}

impl Drop for Served {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Serves `router` on `addr` (use `127.0.0.1:0` for any free port).
pub async fn serve(router: Router, addr: SocketAddr) -> std::io::Result<Served> {
    let listener = tokio::net::TcpListener::bind(addr).await?;
    let addr = listener.local_addr()?;
    let task = tokio::spawn(async move {
        if let Err(e) = axum::serve(listener, router).await {
            tracing::warn!(error = %e, "simulator stopped");
        }
    });
    Ok(Served { addr, task })
}

/// Serves `router` on a free loopback port.
pub async fn serve_loopback(router: Router) -> std::io::Result<Served> {
    serve(router, SocketAddr::from(([127, 0, 0, 1], 0))).await
}
