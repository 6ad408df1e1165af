//! The load generator's HTTP client: one bare hyper HTTP/1 connection per
//! simulated user, kept alive, so a request costs the client a few
//! microseconds (reqwest's pool, URL parsing and redirect logic would add
//! tens) and the figures measure the servers, not the client.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use http_body_util::{BodyExt, Empty};
use hyper::body::Bytes;
use hyper::client::conn::http1::{self, SendRequest};
use hyper::header::{HeaderValue, AUTHORIZATION, HOST};
use hyper::Request;
use hyper_util::rt::TokioIo;
use tokio::net::TcpStream;

/// One kept-alive connection to one server.
pub struct Conn {
    sender: SendRequest<Empty<Bytes>>,
    host: HeaderValue,
}

/// A status and a whole body.
pub struct Answer {
    pub status: u16,
    pub body: Bytes,
}

impl Conn {
    pub async fn connect(addr: SocketAddr) -> Result<Conn, String> {
        let stream = TcpStream::connect(addr)
            .await
            .map_err(|e| format!("connect {addr}: {e}"))?;
        stream.set_nodelay(true).map_err(|e| e.to_string())?;
        let (sender, connection) = http1::handshake(TokioIo::new(stream))
            .await
            .map_err(|e| format!("handshake {addr}: {e}"))?;
        tokio::spawn(async move {
            let _ = connection.await;
        });
        let host = HeaderValue::from_str(&addr.to_string()).map_err(|e| e.to_string())?;
        Ok(Conn { sender, host })
    }

    /// GET `path_and_query`, with `authorization` sent verbatim when given.
    pub async fn get(
        &mut self,
        path_and_query: &str,
        authorization: Option<&str>,
    ) -> Result<Answer, String> {
        self.sender.ready().await.map_err(|e| e.to_string())?;
        let mut request = Request::get(path_and_query).header(HOST, self.host.clone());
        if let Some(value) = authorization {
            request = request.header(AUTHORIZATION, value);
        }
        let request = request.body(Empty::new()).map_err(|e| e.to_string())?;
        let response = self
            .sender
            .send_request(request)
            .await
            .map_err(|e| format!("request {path_and_query}: {e}"))?;
        let status = response.status().as_u16();
        let body = response
            .into_body()
            .collect()
            .await
            .map_err(|e| format!("body of {path_and_query}: {e}"))?
            .to_bytes();
        Ok(Answer { status, body })
    }

    /// Like [`Conn::get`], failing on a status other than 200; also returns
    /// how long the exchange took.
    pub async fn get_ok(
        &mut self,
        path_and_query: &str,
        authorization: Option<&str>,
    ) -> Result<(Duration, Bytes), String> {
        let started = Instant::now();
        let answer = self.get(path_and_query, authorization).await?;
        let took = started.elapsed();
        if answer.status != 200 {
            return Err(format!(
                "{path_and_query}: status {}: {}",
                answer.status,
                String::from_utf8_lossy(&answer.body[..answer.body.len().min(300)])
            ));
        }
        Ok((took, answer.body))
    }
}

/// Latency samples of one series.
#[derive(Debug, Default, Clone)]
pub struct Samples(Vec<Duration>);

impl Samples {
    pub fn push(&mut self, took: Duration) {
        self.0.push(took);
    }

    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// The `p`-quantile (nearest rank), in milliseconds.
    pub fn quantile_ms(&self, p: f64) -> f64 {
        if self.0.is_empty() {
            return f64::NAN;
        }
        let mut sorted = self.0.clone();
        sorted.sort_unstable();
        let rank = ((p * sorted.len() as f64).ceil() as usize).clamp(1, sorted.len());
        sorted[rank - 1].as_secs_f64() * 1000.0
    }

    pub fn p50(&self) -> f64 {
        self.quantile_ms(0.50)
    }

    pub fn p99(&self) -> f64 {
        self.quantile_ms(0.99)
    }
}
