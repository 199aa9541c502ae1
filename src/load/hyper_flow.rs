//! Quick mode's hot path (`--http-client hyper`, the default for `http://` URLs): the request
//! validated with hyper's `http` types and serialised once, sent over a small pool of
//! keep-alive connections of [`h1`](super::h1) (hyper's parser, `httparse`, without hyper's
//! per-connection task and channels). Measured against hyper's client and reqwest in
//! docs/benchmarks.md. Plain `http://` only (TLS targets use [`QuickFlow`]).
//!
//! [`QuickFlow`]: super::flow::QuickFlow

use std::sync::Mutex;
use std::time::Duration;

use bytes::Bytes;
use hyper::header::{HeaderName, HeaderValue};
use hyper::{Method, Uri};
use tokio::time::Instant;

use super::engine::Flow;
use super::flow::{QuickOutcomes, QuickRequest, QuickResult};
use super::h1::{self, Conn, Failure};
use super::record::Outcome;
use crate::runner::http::{ErrorKind, ExchangeError};

/// One prebuilt request over a pool of keep-alive HTTP/1.1 connections.
#[derive(Debug)]
pub struct HyperFlow {
    /// `host:port` to connect to.
    addr: String,
    /// The whole request, as written on the wire.
    request: Bytes,
    /// A `HEAD` request: its response has no body whatever its headers say.
    head: bool,
    timeout: Duration,
    /// Idle keep-alive connections; grows to the number of concurrent requests.
    pool: Mutex<Vec<Conn>>,
    outcomes: QuickOutcomes,
}

fn invalid(message: String) -> ExchangeError {
    ExchangeError {
        kind: ErrorKind::InvalidRequest,
        message,
    }
}

fn error(kind: ErrorKind, e: impl std::fmt::Display) -> ExchangeError {
    ExchangeError {
        kind,
        message: e.to_string(),
    }
}

impl HyperFlow {
    /// `None` when the URL is not plain `http://` (the caller falls back to reqwest).
    pub fn new(q: &QuickRequest) -> Option<Result<Self, ExchangeError>> {
        let uri: Uri = match q.url.parse() {
            Ok(u) => u,
            Err(e) => return Some(Err(invalid(format!("invalid URL `{}`: {e}", q.url)))),
        };
        if uri.scheme_str() != Some("http") {
            return None;
        }
        Some(Self::build(q, &uri))
    }

    fn build(q: &QuickRequest, uri: &Uri) -> Result<Self, ExchangeError> {
        let authority = uri
            .authority()
            .ok_or_else(|| invalid(format!("no host in `{}`", q.url)))?;
        let addr = format!(
            "{}:{}",
            authority.host(),
            authority.port_u16().unwrap_or(80)
        );
        let path = uri.path_and_query().map_or("/", |p| p.as_str());
        let method = Method::from_bytes(q.method.as_bytes())
            .map_err(|_| invalid(format!("invalid HTTP method `{}`", q.method)))?;
        HeaderValue::from_str(authority.as_str())
            .map_err(|_| invalid(format!("invalid host in `{}`", q.url)))?;
        let mut headers = Vec::new();
        for (k, v) in &q.headers {
            let name = HeaderName::from_bytes(k.as_bytes())
                .map_err(|_| invalid(format!("invalid header name `{k}`")))?;
            let value = HeaderValue::from_str(v)
                .map_err(|_| invalid(format!("invalid value for header `{k}`")))?;
            headers.push((name, value));
        }
        let body = q.body.as_deref().unwrap_or_default();
        Ok(Self {
            addr,
            request: h1::serialize(&method, path, authority.as_str(), &headers, body),
            head: method == Method::HEAD,
            timeout: q.timeout,
            pool: Mutex::new(Vec::new()),
            outcomes: QuickOutcomes::new(q),
        })
    }

    /// Sends the request on an idle connection, or a new one; a reused connection that the
    /// server had closed (nothing came back) is replaced once, as a pooling client does.
    async fn exchange(&self) -> QuickResult {
        let idle = self.pool.lock().ok().and_then(|mut p| p.pop());
        let mut conn = match idle {
            Some(c) => c,
            None => self.connect().await?,
        };
        let mut result = conn.exchange(&self.request, self.head).await;
        if conn.used > 1 && matches!(result, Err(Failure::ClosedBeforeResponse)) {
            conn = self.connect().await?;
            result = conn.exchange(&self.request, self.head).await;
        }
        let (reply, reusable) = result.map_err(|e| error(ErrorKind::Transport, e))?;
        if reusable {
            if let Ok(mut pool) = self.pool.lock() {
                pool.push(conn);
            }
        }
        Ok((reply.status, reply.headers, reply.body))
    }

    async fn connect(&self) -> Result<Conn, ExchangeError> {
        Conn::connect(&self.addr)
            .await
            .map_err(|e| error(ErrorKind::Connect, e))
    }
}

impl Flow for HyperFlow {
    fn steps(&self) -> usize {
        1
    }

    async fn iterate(&self) -> Outcome {
        let start = Instant::now();
        // The deadline from the same clock read (`timeout` would read the clock again).
        let result = match tokio::time::timeout_at(start + self.timeout, self.exchange()).await {
            Ok(r) => r,
            Err(_) => Err(error(
                ErrorKind::Timeout,
                format!("no response within {:?}", self.timeout),
            )),
        };
        self.outcomes.outcome(start.elapsed(), result)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    use tokio::net::TcpListener;

    /// Answers one request per connection, then closes it (a server whose keep-alive ended
    /// while the connection sat in the pool): the next request goes out on a new connection
    /// and succeeds, as with a pooling client.
    #[tokio::test]
    async fn a_pooled_connection_the_server_closed_is_replaced() {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let server = tokio::spawn(async move {
            for _ in 0..2 {
                let (mut s, _) = listener.accept().await.unwrap();
                let mut buf = [0u8; 1024];
                let _ = s.read(&mut buf).await.unwrap();
                let reply = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok";
                s.write_all(reply).await.unwrap();
                // Closed after the answer, without `Connection: close`.
            }
        });
        let q = QuickRequest {
            method: "GET".into(),
            url: format!("http://{addr}/"),
            headers: Vec::new(),
            body: None,
            timeout: Duration::from_secs(5),
        };
        let flow = HyperFlow::new(&q).unwrap().unwrap();
        for _ in 0..2 {
            let out = flow.iterate().await;
            assert_eq!((out.status, out.error), (Some(200), None));
            // Let the server's close reach the pooled connection.
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        server.await.unwrap();
    }
}
