//! `harness mock http --stubs FILE`: any HTTP dependency (a PMS, a CRM, a calendar) from
//! routes in YAML, on the simulators' core.
//!
//! Why not WireMock: it is a second engine (a JVM, its own journal that grows with every
//! request, its own fault format) that cannot join the WhatsApp round trip. Here a stubbed
//! dependency is served by [`crate::sim::serve`], journals every call on the bounded bus
//! (so `await: { call: … }` and `GET /__harness/outbound` see it), takes its latency and
//! failures from the one fault-profile format (per route in the file, or
//! `POST /__harness/faults` at run time) and has the shared control API; `POST
//! /__harness/reset` also puts every scenario back in `Started`.
//!
//! A request is answered by the first route whose method, path pattern, matchers and
//! scenario state all hold ([`model`]). Response strings are minijinja templates over
//! `request` (`method`, `path`, `query`, `headers`, `body` — JSON when it parses), `params`
//! (the path's `{name}` captures), `state` and `uuid` (a fresh v4).

pub mod model;

use std::collections::{BTreeMap, HashMap};
use std::io;
use std::sync::{Arc, Mutex};

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use serde_json::{json, Value};
use tokio::net::TcpListener;

use super::bus::{Bus, Simulator};
use super::calls::{record_layer, CallSource};
use super::control::{self, ControlState};
use super::faults::{FaultProfile, Faults};
use super::template::{render as template, render_value};
use super::webhook::{RetryPolicy, WebhookEmitter};
use super::SimHandle;
use model::{match_path, Route, STARTED};
pub use model::{StubsError, StubsFile};

#[derive(Clone)]
struct Sim {
    file: Arc<StubsFile>,
    /// Scenario name → current state.
    states: Arc<Mutex<HashMap<String, String>>>,
}

/// Starts the stubbed dependency on `listener`; `faults` add to the routes' own.
pub async fn start(
    file: StubsFile,
    faults: FaultProfile,
    listener: TcpListener,
) -> io::Result<SimHandle> {
    let bus = Bus::default();
    let mut profile = FaultProfile {
        rules: file.fault_rules(),
    };
    profile.rules.extend(faults.rules);
    let faults = Faults::new(profile);
    let sim = Sim {
        file: Arc::new(file),
        states: Arc::default(),
    };
    let states = Arc::clone(&sim.states);
    let control_state = ControlState {
        provider: Simulator::Http,
        bus: bus.clone(),
        faults: faults.clone(),
        webhooks: WebhookEmitter::new(RetryPolicy::default()),
        on_reset: Arc::new(move || states.lock().unwrap_or_else(|p| p.into_inner()).clear()),
    };
    let service = sim.file.service.clone();
    let router = Router::new()
        .route("/__harness/scenarios", get(scenarios))
        .fallback(answer)
        .with_state(sim)
        .merge(control::router(control_state));
    let router = super::faults::apply(router, faults, |_| None);
    let router = record_layer(
        router,
        bus.clone(),
        CallSource {
            provider: Simulator::Http,
            service,
        },
    );
    super::serve(listener, router, bus).await
}

async fn scenarios(State(sim): State<Sim>) -> Json<HashMap<String, String>> {
    Json(sim.states.lock().unwrap_or_else(|p| p.into_inner()).clone())
}

/// What matchers and templates see of a request.
struct Incoming<'a> {
    method: &'a Method,
    uri: &'a Uri,
    headers: &'a HeaderMap,
    raw: &'a [u8],
    json: Option<Value>,
}

impl Incoming<'_> {
    fn query(&self) -> BTreeMap<String, String> {
        self.uri
            .query()
            .unwrap_or("")
            .split('&')
            .filter(|p| !p.is_empty())
            .map(|p| {
                let (k, v) = p.split_once('=').unwrap_or((p, ""));
                (k.to_string(), v.to_string())
            })
            .collect()
    }

    fn matches(&self, route: &Route) -> Option<BTreeMap<String, String>> {
        if route
            .method
            .as_deref()
            .is_some_and(|m| !m.eq_ignore_ascii_case(self.method.as_str()))
        {
            return None;
        }
        let params = match_path(&route.path, self.uri.path())?;
        let w = &route.when;
        let headers_ok = w.headers.iter().all(|(k, v)| {
            self.headers.get(k.as_str()).and_then(|h| h.to_str().ok()) == Some(v.as_str())
        });
        let query = self.query();
        let query_ok = w.query.iter().all(|(k, v)| query.get(k) == Some(v));
        let body_ok = w
            .body_contains
            .as_ref()
            .is_none_or(|needle| String::from_utf8_lossy(self.raw).contains(needle.as_str()));
        let json_ok = w.jsonpath.iter().all(|(path, want)| {
            let Some(doc) = &self.json else { return false };
            serde_json_path::JsonPath::parse(path)
                .ok()
                .and_then(|p| p.query(doc).first().cloned())
                .as_ref()
                == Some(want)
        });
        (headers_ok && query_ok && body_ok && json_ok).then_some(params)
    }

    fn context(&self, params: &BTreeMap<String, String>, state: &str) -> Value {
        let headers: BTreeMap<&str, &str> = self
            .headers
            .iter()
            .filter_map(|(k, v)| Some((k.as_str(), v.to_str().ok()?)))
            .collect();
        let body = self
            .json
            .clone()
            .unwrap_or_else(|| Value::String(String::from_utf8_lossy(self.raw).into_owned()));
        json!({
            "request": {"method": self.method.as_str(), "path": self.uri.path(),
                "query": self.query(), "headers": headers, "body": body},
            "params": params, "state": state, "uuid": uuid::Uuid::new_v4().to_string(),
        })
    }
}

async fn answer(
    State(sim): State<Sim>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    raw: Bytes,
) -> Response {
    let req = Incoming {
        method: &method,
        uri: &uri,
        headers: &headers,
        raw: &raw,
        json: serde_json::from_slice(&raw).ok(),
    };
    let chosen = {
        let mut states = sim.states.lock().unwrap_or_else(|p| p.into_inner());
        sim.file.routes.iter().find_map(|route| {
            let params = req.matches(route)?;
            let state = match &route.scenario {
                None => String::new(),
                Some(s) => {
                    let current = states.get(s).map_or(STARTED, String::as_str).to_string();
                    let required = route.required_state.as_deref().unwrap_or(STARTED);
                    if route.required_state.is_some() && current != required {
                        return None;
                    }
                    if let Some(next) = &route.new_state {
                        states.insert(s.clone(), next.clone());
                    }
                    current
                }
            };
            Some((route, params, state))
        })
    };
    match chosen {
        Some((route, params, state)) => render(&route.response, &req.context(&params, &state)),
        None => match &sim.file.fallback {
            Some(f) => render(f, &req.context(&BTreeMap::new(), "")),
            None => {
                let body = json!({"error": "no stub matched", "method": method.as_str(), "path": uri.path()});
                (StatusCode::NOT_FOUND, Json(body)).into_response()
            }
        },
    }
}

fn render(resp: &model::Response, ctx: &Value) -> Response {
    let status = StatusCode::from_u16(resp.status).unwrap_or(StatusCode::OK);
    let mut out = match (&resp.json, &resp.body) {
        (Some(j), _) => (status, Json(render_value(j, ctx))).into_response(),
        (None, Some(b)) => (status, template(b, ctx)).into_response(),
        (None, None) => status.into_response(),
    };
    for (k, v) in &resp.headers {
        if let (Ok(name), Ok(value)) = (
            axum::http::HeaderName::try_from(k.as_str()),
            axum::http::HeaderValue::try_from(template(v, ctx)),
        ) {
            out.headers_mut().insert(name, value);
        }
    }
    out
}

#[cfg(test)]
mod tests;
