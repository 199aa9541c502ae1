//! Provider simulators: Evolution API v2 ([`evolution`]) and Meta Cloud API, served with axum.
//!
//! Why purpose-built servers and not wiremock-rs: measured on one core, wiremock-rs serves about
//! 40k req/s for a trivial mock and keeps a copy of every matched request, so a volume test runs
//! the machine out of memory; axum serves ~100k req/s and the state here is bounded.
//!
//! Shared core, used by both simulators:
//! - [`serve`] runs a router on a listener and returns a [`SimHandle`] (base URL, bus, graceful
//!   shutdown). It owns the accept loop so that connection faults (close, reset) can drop a
//!   connection without a response, which an axum handler alone cannot do.
//! - [`bus`]: every outbound message is published on an in-process broadcast bus and recorded in
//!   a bounded [`journal`].
//! - [`faults`]: the fault model (latency, error rates, downtime, resets) and its middleware.
//! - [`webhook`]: the webhook emitter with bounded retries.
//! - [`control`]: the shared `/__harness/` control routes.
//!
//! Concurrency protocol of [`serve`]: one accept task spawns one task per connection (HTTP/1.1,
//! keep-alive). [`SimHandle::shutdown`] signals the accept task, which stops accepting, asks
//! every connection to finish its in-flight request and close (hyper's graceful shutdown), waits
//! for them for at most [`SHUTDOWN_GRACE`], then aborts the simulator's background tasks.

pub mod bus;
pub mod calls;
pub mod control;
pub mod duration_serde;
pub mod evolution;
pub mod faults;
pub mod inbound;
pub mod journal;
pub mod meta;
pub mod network;
pub mod neutral;
pub mod openai;
pub mod payments;
pub mod stubs;
pub mod template;
pub mod webhook;

use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use axum::body::Body;
use axum::http::{Request, Response};
use axum::Router;
use hyper::body::Incoming;
use hyper_util::rt::TokioIo;
use hyper_util::server::graceful::GracefulShutdown;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tokio::task::JoinHandle;
use tower::ServiceExt;

use crate::logging::{Server, Traffic};
pub use bus::Bus;
use faults::ConnectionFault;

/// How long [`SimHandle::shutdown`] waits for open connections to finish.
pub const SHUTDOWN_GRACE: Duration = Duration::from_secs(5);

/// A running simulator.
pub struct SimHandle {
    /// `http://127.0.0.1:PORT`, no trailing slash.
    pub base_url: String,
    pub addr: SocketAddr,
    /// The simulator's outbound-message bus.
    pub bus: Bus,
    /// Its routes, callable in this process without a socket.
    pub in_process: InProcess,
    shutdown: watch::Sender<bool>,
    join: Option<JoinHandle<()>>,
    tasks: Vec<JoinHandle<()>>,
    on_shutdown: Vec<Box<dyn FnOnce() + Send>>,
}

impl std::fmt::Debug for SimHandle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SimHandle")
            .field("base_url", &self.base_url)
            .finish_non_exhaustive()
    }
}

impl SimHandle {
    /// A background task (timers) aborted at shutdown.
    pub fn attach_task(&mut self, task: JoinHandle<()>) {
        self.tasks.push(task);
    }

    /// A callback run at shutdown (stop webhook retries, …).
    pub fn on_shutdown(&mut self, f: impl FnOnce() + Send + 'static) {
        self.on_shutdown.push(Box::new(f));
    }

    /// Stops accepting, lets in-flight requests finish (up to [`SHUTDOWN_GRACE`]), stops
    /// background tasks.
    pub async fn shutdown(mut self) {
        self.shutdown.send_replace(true);
        if let Some(join) = self.join.take() {
            let _ = join.await;
        }
        self.stop_background();
    }

    fn stop_background(&mut self) {
        for task in self.tasks.drain(..) {
            task.abort();
        }
        for f in self.on_shutdown.drain(..) {
            f();
        }
    }
}

impl Drop for SimHandle {
    /// Dropping without [`SimHandle::shutdown`] still stops the server (not gracefully waited).
    fn drop(&mut self) {
        self.shutdown.send_replace(true);
        self.stop_background();
    }
}

/// The largest request head (request line and headers) served: Node's
/// `--max-http-header-size` default.
const MAX_REQUEST_HEAD: usize = 16 * 1024;

/// How long a client may take to send a request head: Node's `server.headersTimeout` default.
const HEADER_READ_TIMEOUT: Duration = Duration::from_secs(60);

/// `http://ADDR` of a listening address; an unspecified one (`--bind 0.0.0.0`) is reached
/// through loopback.
pub fn url_of(addr: SocketAddr) -> String {
    let mut addr = addr;
    if addr.ip().is_unspecified() {
        addr.set_ip(match addr {
            SocketAddr::V4(_) => std::net::Ipv4Addr::LOCALHOST.into(),
            SocketAddr::V6(_) => std::net::Ipv6Addr::LOCALHOST.into(),
        });
    }
    format!("http://{addr}")
}

/// Serves `router` on `listener` until the returned handle is shut down or dropped.
pub async fn serve(listener: TcpListener, router: Router, bus: Bus) -> io::Result<SimHandle> {
    let addr = listener.local_addr()?;
    let (shutdown, rx) = watch::channel(false);
    let traffic = Arc::new(Traffic::default());
    let totals = tokio::spawn(Arc::clone(&traffic).report(Server::Simulator));
    let in_process = InProcess {
        base_url: url_of(addr),
        router: router.clone(),
        traffic: Arc::clone(&traffic),
    };
    let join = tokio::spawn(accept_loop(listener, router, traffic, rx));
    Ok(SimHandle {
        base_url: url_of(addr),
        addr,
        bus,
        in_process,
        shutdown,
        join: Some(join),
        tasks: vec![totals],
        on_shutdown: Vec::new(),
    })
}

/// A running simulator's routes, called in this process: the same router (and so the same
/// handlers, validation and answers) a connection is served with, without the socket, the
/// HTTP parsing and the connection's buffers. What the runner uses to reach an embedded
/// simulator's control API (`inject`).
#[derive(Clone)]
pub struct InProcess {
    base_url: String,
    router: Router,
    traffic: Arc<Traffic>,
}

impl std::fmt::Debug for InProcess {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("InProcess")
            .field("base_url", &self.base_url)
            .finish_non_exhaustive()
    }
}

impl InProcess {
    /// The URL the simulator listens at (`http://127.0.0.1:PORT`): requests to it can be
    /// [`InProcess::call`]ed instead.
    pub fn base_url(&self) -> &str {
        &self.base_url
    }

    /// Serves one request, counted in the simulator's per-second totals as a request over a
    /// connection is.
    pub async fn call(&self, req: Request<Body>) -> Response<Body> {
        let resp = match self.router.clone().oneshot(req).await {
            Ok(r) => r,
            Err(e) => match e {},
        };
        self.traffic.record(resp.status().as_u16());
        resp
    }
}

async fn accept_loop(
    listener: TcpListener,
    router: Router,
    traffic: Arc<Traffic>,
    mut stop: watch::Receiver<bool>,
) {
    let graceful = GracefulShutdown::new();
    let mut http = hyper::server::conn::http1::Builder::new();
    // As Node's HTTP server (the Evolution API's): a request head over 16 KiB is refused with
    // 431, and a head not complete within 60 s (a slowloris client) ends the connection.
    http.max_buf_size(MAX_REQUEST_HEAD)
        .timer(hyper_util::rt::TokioTimer::new())
        .header_read_timeout(HEADER_READ_TIMEOUT);
    loop {
        tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((stream, _peer)) => {
                    let _ = stream.set_nodelay(true);
                    let reset = Arc::new(AtomicBool::new(false));
                    let io = TokioIo::new(FaultIo { stream, reset: Arc::clone(&reset) });
                    let traffic = Arc::clone(&traffic);
                    let svc = ConnService { router: router.clone(), reset, traffic };
                    let conn = graceful.watch(http.serve_connection(io, svc));
                    tokio::spawn(async move {
                        if let Err(e) = conn.await {
                            tracing::debug!(error = %e, "connection ended with an error");
                        }
                    });
                }
                Err(e) => {
                    // EMFILE and friends: back off briefly rather than spin.
                    tracing::warn!(error = %e, "accept failed");
                    tokio::time::sleep(Duration::from_millis(20)).await;
                }
            },
            changed = stop.changed() => {
                // A dropped sender (handle dropped) also means stop.
                if changed.is_err() || *stop.borrow() {
                    break;
                }
            }
        }
    }
    drop(listener);
    tokio::select! {
        _ = graceful.shutdown() => {}
        _ = tokio::time::sleep(SHUTDOWN_GRACE) => {
            tracing::warn!("simulator shutdown: connections still open after the grace period");
        }
    }
}

/// Error returned to hyper to drop a connection without a response (a connection fault).
#[derive(Debug, thiserror::Error)]
#[error("connection dropped by fault injection")]
struct ConnectionDropped;

/// Per-connection service: runs the router, logs, turns connection-fault markers into drops.
#[derive(Clone)]
struct ConnService {
    router: Router,
    reset: Arc<AtomicBool>,
    /// The per-second totals the INFO log shows.
    traffic: Arc<Traffic>,
}

impl hyper::service::Service<Request<Incoming>> for ConnService {
    type Response = Response<Body>;
    type Error = ConnectionDropped;
    type Future = Pin<Box<dyn Future<Output = Result<Response<Body>, ConnectionDropped>> + Send>>;

    fn call(&self, req: Request<Incoming>) -> Self::Future {
        let router = self.router.clone();
        let reset = Arc::clone(&self.reset);
        let traffic = Arc::clone(&self.traffic);
        Box::pin(async move {
            // Each request is logged at DEBUG; when that is off nothing is copied or timed.
            let log = tracing::enabled!(tracing::Level::DEBUG);
            let (method, uri, start) = if log {
                (
                    Some(req.method().clone()),
                    Some(req.uri().clone()),
                    Some(Instant::now()),
                )
            } else {
                (None, None, None)
            };
            let resp: Response<Body> = match router.oneshot(req).await {
                Ok(r) => r,
                Err(e) => match e {},
            };
            let fault = resp.extensions().get::<ConnectionFault>().copied();
            let status = resp.status().as_u16();
            traffic.record(status);
            if let (Some(method), Some(uri), Some(start)) = (method, uri, start) {
                let elapsed_us = start.elapsed().as_micros() as u64;
                let uri = loggable_uri(&uri);
                tracing::debug!(%method, %uri, status, elapsed_us, ?fault, "request");
            }
            match fault {
                None => Ok(resp),
                Some(ConnectionFault::Close) => Err(ConnectionDropped),
                Some(ConnectionFault::Reset) => {
                    reset.store(true, Ordering::Release);
                    Err(ConnectionDropped)
                }
            }
        })
    }
}

/// The request target for the log, with sensitive query values (`access_token`,
/// `hub.verify_token`, …) masked: Graph accepts the token as a query parameter.
fn loggable_uri(uri: &axum::http::Uri) -> String {
    let target = uri
        .path_and_query()
        .map_or_else(|| uri.path(), |pq| pq.as_str());
    crate::redact::mask_sensitive_query(target)
}

/// The TCP stream of one connection; when a reset fault fired, closes with RST on drop.
struct FaultIo {
    stream: TcpStream,
    reset: Arc<AtomicBool>,
}

impl Drop for FaultIo {
    fn drop(&mut self) {
        if self.reset.load(Ordering::Acquire) {
            // SO_LINGER 0: close() sends RST and discards unsent data, without blocking.
            let _ = self.stream.set_zero_linger();
        }
    }
}

impl AsyncRead for FaultIo {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.stream).poll_read(cx, buf)
    }
}

impl AsyncWrite for FaultIo {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.stream).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.stream).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.stream).poll_shutdown(cx)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.stream).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.stream.is_write_vectored()
    }
}

/// Parses YAML (or JSON, read as YAML flow style) into a JSON value, for serde.
pub fn yaml_to_json(text: &str) -> Result<serde_json::Value, String> {
    use saphyr::LoadableYamlNode;
    let docs = saphyr::Yaml::load_from_str(text).map_err(|e| e.to_string())?;
    match docs.into_iter().next() {
        Some(doc) => yaml_node_to_json(doc),
        None => Ok(serde_json::Value::Null),
    }
}

fn yaml_node_to_json(node: saphyr::Yaml<'_>) -> Result<serde_json::Value, String> {
    use saphyr::{Scalar, Yaml};
    use serde_json::Value;
    Ok(match node {
        Yaml::Value(Scalar::Null) => Value::Null,
        Yaml::Value(Scalar::Boolean(b)) => Value::Bool(b),
        Yaml::Value(Scalar::Integer(i)) => Value::from(i),
        Yaml::Value(Scalar::FloatingPoint(f)) => serde_json::Number::from_f64(f.into_inner())
            .map(Value::Number)
            .ok_or_else(|| format!("unsupported number {}", f.into_inner()))?,
        Yaml::Value(Scalar::String(s)) => Value::String(s.into_owned()),
        Yaml::Representation(s, _, _) => Value::String(s.into_owned()),
        Yaml::Sequence(items) => Value::Array(
            items
                .into_iter()
                .map(yaml_node_to_json)
                .collect::<Result<_, _>>()?,
        ),
        Yaml::Mapping(map) => {
            let mut out = serde_json::Map::new();
            for (k, v) in map {
                let key = match yaml_node_to_json(k)? {
                    Value::String(s) => s,
                    other => other.to_string(),
                };
                out.insert(key, yaml_node_to_json(v)?);
            }
            Value::Object(out)
        }
        Yaml::Tagged(_, inner) => yaml_node_to_json(*inner)?,
        Yaml::Alias(_) => return Err("YAML aliases are not supported".into()),
        Yaml::BadValue => return Err("invalid YAML value".into()),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn yaml_and_json_convert_to_the_same_value() {
        let y = yaml_to_json("a: 1\nb: [x, 2.5, true, null]\nc: {d: e}\n").unwrap();
        let j = yaml_to_json(r#"{"a": 1, "b": ["x", 2.5, true, null], "c": {"d": "e"}}"#).unwrap();
        assert_eq!(y, j);
        assert_eq!(y["b"][1], serde_json::json!(2.5));
        assert!(yaml_to_json("a: [").is_err());
    }

    #[test]
    fn logged_uris_mask_secrets_in_the_query() {
        let uri: axum::http::Uri = "/v21.0/1/messages?access_token=SECRET&x=1&hub.verify_token=V"
            .parse()
            .unwrap();
        assert_eq!(
            loggable_uri(&uri),
            "/v21.0/1/messages?access_token=***&x=1&hub.verify_token=***"
        );
        assert_eq!(loggable_uri(&"/a".parse().unwrap()), "/a");
    }

    #[tokio::test]
    async fn serve_answers_then_shuts_down_gracefully() {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let router = Router::new().route("/x", axum::routing::get(|| async { "hi" }));
        let handle = serve(listener, router, Bus::new(10)).await.unwrap();
        let url = format!("{}/x", handle.base_url);
        assert_eq!(
            reqwest::get(&url).await.unwrap().text().await.unwrap(),
            "hi"
        );
        let addr = handle.addr;
        handle.shutdown().await;
        assert!(TcpStream::connect(addr).await.is_err());
    }

    #[tokio::test]
    async fn connection_faults_drop_the_connection_without_a_response() {
        use faults::{FaultProfile, FaultRule, Faults};
        let faults = Faults::default();
        let router = Router::new()
            .route("/x", axum::routing::get(|| async { "hi" }))
            .route("/__harness/health", axum::routing::get(|| async { "ok" }));
        let router = faults::apply(router, faults.clone(), |_| None);
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let handle = serve(listener, router, Bus::new(10)).await.unwrap();
        faults.set(FaultProfile {
            rules: vec![FaultRule {
                reset_rate: 1.0,
                ..Default::default()
            }],
        });
        let client = reqwest::Client::new();
        let err = client
            .get(format!("{}/x", handle.base_url))
            .send()
            .await
            .unwrap_err();
        assert!(err.is_request() || err.is_connect(), "{err:?}");
        // The control API is never faulted.
        let ok = client
            .get(format!("{}/__harness/health", handle.base_url))
            .send()
            .await
            .unwrap();
        assert_eq!(ok.status(), 200);
        faults.clear();
        let ok = client
            .get(format!("{}/x", handle.base_url))
            .send()
            .await
            .unwrap();
        assert_eq!(ok.text().await.unwrap(), "hi");
        handle.shutdown().await;
    }
}
