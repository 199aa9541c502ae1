//! One HTTP exchange: render the request, send it, read the whole response, time it.

use std::time::{Duration, Instant};

use bytes::Bytes;
use reqwest::header::{HeaderMap, HeaderName, HeaderValue, CONTENT_TYPE};

use super::template::{TemplateError, Templater, Vars};
use crate::scenario::{Body, HttpRequest};

/// The request as it was sent (rendered), kept for reports.
#[derive(Debug, Clone, PartialEq)]
pub struct SentRequest {
    pub method: String,
    pub url: String,
    pub headers: Vec<(String, String)>,
    pub body: Option<String>,
}

/// The response as it was received.
#[derive(Debug, Clone, PartialEq)]
pub struct Response {
    pub status: u16,
    /// Lower-case names, in arrival order.
    pub headers: Vec<(String, String)>,
    pub body: Bytes,
}

impl Response {
    /// The values of header `name` joined by `, ` (as HTTP allows), or `None` when absent.
    pub fn header(&self, name: &str) -> Option<String> {
        let values: Vec<&str> = self
            .headers
            .iter()
            .filter(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
            .collect();
        (!values.is_empty()).then(|| values.join(", "))
    }

    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

/// Why an exchange produced no response. Data in the results, not a harness fault.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorKind {
    /// A template could not be rendered (undefined variable, missing environment variable).
    Template,
    /// The request could not be built (bad URL, bad header).
    InvalidRequest,
    /// The connection was refused or could not be established.
    Connect,
    Timeout,
    /// The connection broke while sending or reading.
    Transport,
}

impl ErrorKind {
    /// The name reports give it: `template`, `invalid_request`, `connect`, `timeout`,
    /// `transport`.
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorKind::Template => "template",
            ErrorKind::InvalidRequest => "invalid_request",
            ErrorKind::Connect => "connect",
            ErrorKind::Timeout => "timeout",
            ErrorKind::Transport => "transport",
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct ExchangeError {
    pub kind: ErrorKind,
    pub message: String,
}

impl From<TemplateError> for ExchangeError {
    fn from(e: TemplateError) -> Self {
        Self {
            kind: ErrorKind::Template,
            message: e.message,
        }
    }
}

/// The outcome of one attempt: what was sent (if it could be rendered), what came back (or
/// why nothing did), and how long it took from send to the end of the body.
#[derive(Debug, Clone)]
pub struct Exchange {
    pub request: Option<SentRequest>,
    pub result: Result<Response, ExchangeError>,
    pub duration: Duration,
}

/// Renders `spec` with `vars` into a request.
pub fn render(
    spec: &HttpRequest,
    templater: &Templater,
    vars: &Vars,
) -> Result<(SentRequest, Option<&'static str>), TemplateError> {
    let mut url = templater.render(&spec.url, vars)?;
    if !spec.query.is_empty() {
        let mut pairs = Vec::with_capacity(spec.query.len());
        for (k, v) in &spec.query {
            let value = templater.render(v, vars)?;
            templater.redactor().learn_named(k, &value);
            pairs.push(format!("{}={}", encode(k), encode(&value)));
        }
        url.push(if url.contains('?') { '&' } else { '?' });
        url.push_str(&pairs.join("&"));
    }
    let mut headers = Vec::with_capacity(spec.headers.len());
    for (k, v) in &spec.headers {
        let value = templater.render(v, vars)?;
        templater.redactor().learn_named(k, &value);
        headers.push((k.clone(), value));
    }
    let (body, content_type) = match &spec.body {
        None => (None, None),
        Some(Body::Raw(t)) => (Some(templater.render(t, vars)?), None),
        Some(Body::Json(v)) => {
            let json = templater.render_json(v, vars)?;
            templater.redactor().learn_json(&json);
            (Some(json.to_string()), Some("application/json"))
        }
    };
    Ok((
        SentRequest {
            method: spec.method.clone(),
            url,
            headers,
            body,
        },
        content_type,
    ))
}

/// Sends the rendered request and reads the whole response.
pub async fn send(
    client: &reqwest::Client,
    request: SentRequest,
    content_type: Option<&'static str>,
    timeout: Duration,
) -> Exchange {
    let built = build(client, &request, content_type, timeout);
    let start = Instant::now();
    let result = match built {
        Err(e) => Err(e),
        Ok(req) => execute(client, req).await,
    };
    Exchange {
        request: Some(request),
        result,
        duration: start.elapsed(),
    }
}

fn build(
    client: &reqwest::Client,
    request: &SentRequest,
    content_type: Option<&'static str>,
    timeout: Duration,
) -> Result<reqwest::Request, ExchangeError> {
    let invalid = |message: String| ExchangeError {
        kind: ErrorKind::InvalidRequest,
        message,
    };
    let method = reqwest::Method::from_bytes(request.method.as_bytes())
        .map_err(|_| invalid(format!("invalid HTTP method `{}`", request.method)))?;
    let mut headers = HeaderMap::new();
    if let Some(ct) = content_type {
        headers.insert(CONTENT_TYPE, HeaderValue::from_static(ct));
    }
    for (k, v) in &request.headers {
        let name = HeaderName::from_bytes(k.as_bytes())
            .map_err(|_| invalid(format!("invalid header name `{k}`")))?;
        let value = HeaderValue::from_str(v)
            .map_err(|_| invalid(format!("invalid value for header `{k}`")))?;
        headers.insert(name, value);
    }
    let mut builder = client
        .request(method, &request.url)
        .headers(headers)
        .timeout(timeout);
    if let Some(body) = &request.body {
        builder = builder.body(body.clone());
    }
    builder.build().map_err(|e| {
        invalid(format!(
            "invalid request to `{}`: {}",
            request.url,
            root_cause(&e)
        ))
    })
}

async fn execute(
    client: &reqwest::Client,
    req: reqwest::Request,
) -> Result<Response, ExchangeError> {
    let response = client.execute(req).await.map_err(classify)?;
    let status = response.status().as_u16();
    let headers = response
        .headers()
        .iter()
        .map(|(k, v)| {
            (
                k.as_str().to_string(),
                String::from_utf8_lossy(v.as_bytes()).into_owned(),
            )
        })
        .collect();
    let body = response.bytes().await.map_err(classify)?;
    Ok(Response {
        status,
        headers,
        body,
    })
}

/// Maps a reqwest error to its kind (`timeout`, `connect`, …) and a message with its causes.
pub fn classify(e: reqwest::Error) -> ExchangeError {
    let kind = if e.is_timeout() {
        ErrorKind::Timeout
    } else if e.is_connect() {
        ErrorKind::Connect
    } else if e.is_builder() {
        ErrorKind::InvalidRequest
    } else {
        ErrorKind::Transport
    };
    ExchangeError {
        kind,
        message: root_cause(&e),
    }
}

/// reqwest's top-level message ("error sending request") hides the cause; show the chain.
fn root_cause(e: &(dyn std::error::Error + 'static)) -> String {
    let mut parts = vec![e.to_string()];
    let mut source = e.source();
    while let Some(s) = source {
        let text = s.to_string();
        if !parts.iter().any(|p| p.contains(&text)) {
            parts.push(text);
        }
        source = s.source();
    }
    parts.join(": ")
}

/// Percent-encodes a query component (RFC 3986 unreserved characters stay as they are).
fn encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                out.push(b as char)
            }
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::redact::Redactor;
    use std::sync::Arc;

    #[test]
    fn renders_url_query_headers_and_json_body() {
        let t = Templater::new(Arc::new(|_| None), Redactor::new());
        let mut vars = Vars::default();
        vars.set("base", serde_json::json!("http://h"));
        vars.set("name", serde_json::json!("a b&c"));
        let spec = HttpRequest {
            method: "POST".into(),
            url: "{{ base }}/x?y=1".into(),
            headers: vec![("apikey".into(), "K-{{ name }}".into())],
            query: vec![("q".into(), "{{ name }}".into())],
            body: Some(Body::Json(serde_json::json!({"n": "{{ name }}"}))),
            timeout: None,
        };
        let (req, ct) = render(&spec, &t, &vars).unwrap();
        assert_eq!(req.url, "http://h/x?y=1&q=a%20b%26c");
        assert_eq!(
            req.headers,
            vec![("apikey".to_string(), "K-a b&c".to_string())]
        );
        assert_eq!(req.body.as_deref(), Some(r#"{"n":"a b&c"}"#));
        assert_eq!(ct, Some("application/json"));
    }

    #[test]
    fn header_lookup_is_case_insensitive_and_joins_values() {
        let r = Response {
            status: 200,
            headers: vec![
                ("set-cookie".into(), "a".into()),
                ("Set-Cookie".into(), "b".into()),
            ],
            body: Bytes::new(),
        };
        assert_eq!(r.header("SET-COOKIE").as_deref(), Some("a, b"));
        assert_eq!(r.header("x"), None);
    }
}
