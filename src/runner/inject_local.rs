//! `inject` on the embedded simulator without a socket: the customer's message goes to the
//! simulator's own router in this process ([`crate::sim::InProcess`]), so the same
//! `POST /__harness/inbound` handler validates it and answers it, but no HTTP connection is
//! opened, written, parsed and kept (each one held buffers here and in the simulator). A
//! simulator in another process (or any other URL) is still reached over HTTP.
//!
//! The report is the same either way: the step's `request` is the request the HTTP path sends
//! (method, URL, body), and its `response` the simulator's answer with the headers an HTTP
//! server adds (`content-length`, `date`), as they would have arrived.

use std::time::{Duration, Instant, SystemTime};

use axum::body::Body;
use axum::http::{header, Request};

use super::http::{self, ErrorKind, Exchange, ExchangeError, Response, SentRequest};
use super::RunContext;
use crate::sim::InProcess;

/// The largest answer read from the simulator in process (its control answers are small).
const MAX_ANSWER: usize = 16 * 1024 * 1024;

/// Sends `request`: in process when it is for the embedded simulator, else over HTTP.
pub(super) async fn send(
    ctx: &RunContext,
    request: SentRequest,
    content_type: Option<&'static str>,
    timeout: Duration,
) -> Exchange {
    let local = ctx.sim_local.as_ref();
    match local.and_then(|l| path_on(l, &request.url).map(|p| (l, p.to_string()))) {
        Some((local, path)) => call(local, path, request, content_type, timeout).await,
        None => http::send(&ctx.client, request, content_type, timeout).await,
    }
}

/// The path of `url` when it is on the in-process simulator.
fn path_on<'a>(local: &InProcess, url: &'a str) -> Option<&'a str> {
    url.strip_prefix(local.base_url())
        .filter(|path| path.starts_with('/'))
}

async fn call(
    local: &InProcess,
    path: String,
    request: SentRequest,
    content_type: Option<&'static str>,
    timeout: Duration,
) -> Exchange {
    let start = Instant::now();
    let result = match build(&path, &request, content_type) {
        Err(e) => Err(e),
        Ok(req) => match tokio::time::timeout(timeout, answer(local, req)).await {
            Ok(r) => r,
            Err(_) => Err(ExchangeError {
                kind: ErrorKind::Timeout,
                message: format!(
                    "the simulator did not answer `{}` within {}",
                    request.url,
                    humantime::format_duration(timeout)
                ),
            }),
        },
    };
    Exchange {
        request: Some(request),
        result,
        duration: start.elapsed(),
    }
}

/// The request the HTTP path would send, as the router takes it.
fn build(
    path: &str,
    request: &SentRequest,
    content_type: Option<&'static str>,
) -> Result<Request<Body>, ExchangeError> {
    let mut builder = Request::builder().method(request.method.as_str()).uri(path);
    if let Some(ct) = content_type {
        builder = builder.header(header::CONTENT_TYPE, ct);
    }
    for (k, v) in &request.headers {
        builder = builder.header(k.as_str(), v.as_str());
    }
    let body = request.body.clone().map_or_else(Body::empty, Body::from);
    builder.body(body).map_err(|e| ExchangeError {
        kind: ErrorKind::InvalidRequest,
        message: format!("invalid request to `{}`: {e}", request.url),
    })
}

/// The simulator's answer, with the headers hyper's server adds on the wire.
async fn answer(local: &InProcess, req: Request<Body>) -> Result<Response, ExchangeError> {
    let resp = local.call(req).await;
    let status = resp.status().as_u16();
    let mut headers: Vec<(String, String)> = resp
        .headers()
        .iter()
        .map(|(k, v)| {
            let value = String::from_utf8_lossy(v.as_bytes()).into_owned();
            (k.as_str().to_string(), value)
        })
        .collect();
    let body = axum::body::to_bytes(resp.into_body(), MAX_ANSWER)
        .await
        .map_err(|e| ExchangeError {
            kind: ErrorKind::Transport,
            message: format!("cannot read the simulator's answer: {e}"),
        })?;
    if !headers.iter().any(|(k, _)| k == "content-length") {
        headers.push(("content-length".into(), body.len().to_string()));
    }
    headers.push(("date".into(), httpdate::fmt_http_date(SystemTime::now())));
    Ok(Response {
        status,
        headers,
        body,
    })
}
