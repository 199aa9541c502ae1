//! Quick mode's hot path on plain hyper: one HTTP/1.1 connection per concurrent request,
//! handshaken by hand (`hyper::client::conn::http1`) and kept in a small pool, the request
//! prebuilt once. Measured against reqwest in docs/benchmarks.md: reqwest's pool, `Url`
//! handling and per-request builder cost more CPU per request than the load itself; this path
//! does only what a keep-alive GET needs. Plain `http://` only (TLS targets use [`QuickFlow`]).
//!
//! [`QuickFlow`]: super::flow::QuickFlow

use std::sync::Mutex;
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::client::conn::http1::SendRequest;
use hyper::header::{HeaderName, HeaderValue, HOST, USER_AGENT};
use hyper::{HeaderMap, Method, Request, Uri};
use hyper_util::rt::TokioIo;
use tokio::time::Instant;

use super::engine::Flow;
use super::flow::{QuickOutcomes, QuickRequest};
use super::record::Outcome;
use crate::runner::http::{ErrorKind, ExchangeError};

type Conn = SendRequest<Full<Bytes>>;

/// One prebuilt request over a pool of hand-held HTTP/1.1 connections.
#[derive(Debug)]
pub struct HyperFlow {
    /// `host:port` to connect to.
    addr: String,
    method: Method,
    /// Path and query, as sent on the request line.
    path: Uri,
    headers: HeaderMap,
    body: Bytes,
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
        let path: Uri = uri
            .path_and_query()
            .map_or("/", |p| p.as_str())
            .parse()
            .map_err(|e| invalid(format!("invalid path in `{}`: {e}", q.url)))?;
        let method = Method::from_bytes(q.method.as_bytes())
            .map_err(|_| invalid(format!("invalid HTTP method `{}`", q.method)))?;
        let mut headers = HeaderMap::new();
        let host = HeaderValue::from_str(authority.as_str())
            .map_err(|_| invalid(format!("invalid host in `{}`", q.url)))?;
        headers.insert(HOST, host);
        headers.insert(
            USER_AGENT,
            HeaderValue::from_static(concat!("harness/", env!("CARGO_PKG_VERSION"))),
        );
        for (k, v) in &q.headers {
            let name = HeaderName::from_bytes(k.as_bytes())
                .map_err(|_| invalid(format!("invalid header name `{k}`")))?;
            let value = HeaderValue::from_str(v)
                .map_err(|_| invalid(format!("invalid value for header `{k}`")))?;
            headers.insert(name, value);
        }
        Ok(Self {
            addr,
            method,
            path,
            headers,
            body: q.body.clone().map(Bytes::from).unwrap_or_default(),
            timeout: q.timeout,
            pool: Mutex::new(Vec::new()),
            outcomes: QuickOutcomes::new(q),
        })
    }

    /// An idle pooled connection, or a new one.
    async fn connection(&self) -> Result<Conn, ExchangeError> {
        let idle = self.pool.lock().ok().and_then(|mut p| p.pop());
        if let Some(c) = idle.filter(|c| !c.is_closed()) {
            return Ok(c);
        }
        let tcp = tokio::net::TcpStream::connect(&self.addr)
            .await
            .map_err(|e| error(ErrorKind::Connect, e))?;
        let _ = tcp.set_nodelay(true);
        let (send, conn) = hyper::client::conn::http1::handshake(TokioIo::new(tcp))
            .await
            .map_err(|e| error(ErrorKind::Connect, e))?;
        tokio::spawn(conn);
        Ok(send)
    }

    /// Sends the request; the status, the headers of a failure, and the body.
    async fn exchange(&self) -> Result<(u16, Option<Vec<(String, String)>>, Bytes), ExchangeError> {
        let mut conn = self.connection().await?;
        conn.ready()
            .await
            .map_err(|e| error(ErrorKind::Transport, e))?;
        let mut req = Request::new(Full::new(self.body.clone()));
        *req.method_mut() = self.method.clone();
        *req.uri_mut() = self.path.clone();
        *req.headers_mut() = self.headers.clone();
        let resp = conn
            .send_request(req)
            .await
            .map_err(|e| error(ErrorKind::Transport, e))?;
        let status = resp.status().as_u16();
        let headers = (status >= 400).then(|| {
            resp.headers()
                .iter()
                .map(|(k, v)| {
                    (
                        k.to_string(),
                        String::from_utf8_lossy(v.as_bytes()).into_owned(),
                    )
                })
                .collect()
        });
        let body = resp
            .into_body()
            .collect()
            .await
            .map_err(|e| error(ErrorKind::Transport, e))?
            .to_bytes();
        if let Ok(mut pool) = self.pool.lock() {
            pool.push(conn);
        }
        Ok((status, headers, body))
    }
}

impl Flow for HyperFlow {
    fn steps(&self) -> usize {
        1
    }

    async fn iterate(&self) -> Outcome {
        let start = Instant::now();
        let result = match tokio::time::timeout(self.timeout, self.exchange()).await {
            Ok(r) => r,
            Err(_) => Err(error(
                ErrorKind::Timeout,
                format!("no response within {:?}", self.timeout),
            )),
        };
        self.outcomes.outcome(start.elapsed(), result)
    }
}
