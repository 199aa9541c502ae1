//! Table-driven registration of the routers added from the coverage table: each handler gets a
//! [`Call`] that has already passed the server's guards (instance exists → apikey) and its
//! route's schema (`routes.tsv`), as `RouterBroker.dataValidate` does before a controller.

use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{on, MethodFilter};
use axum::{Json, Router};
use serde_json::Value;

use super::errors::EvoError;
use super::reply::{json_body, EvoResult};
use super::routes::{self, Route};
use super::{schema, Sim};

/// A request that passed the guards and the schema.
pub struct Call {
    pub route: &'static Route,
    /// `:instanceName` (empty on routes without one).
    pub instance: String,
    /// Other path parameters (`:typebotId`, …).
    pub params: HashMap<String, String>,
    pub query: HashMap<String, String>,
    pub headers: HeaderMap,
    /// The JSON body, or a multipart form's text fields (as multer puts them in `req.body`).
    pub body: Value,
    /// A multipart form's `file` part (multer's `upload.single('file')`).
    pub file: Option<Bytes>,
}

impl Call {
    /// The first path parameter other than the instance (a bot id).
    pub fn id(&self) -> String {
        self.params
            .iter()
            .find(|(k, _)| k.as_str() != "instance")
            .map(|(_, v)| v.clone())
            .unwrap_or_default()
    }

    /// A string field of the body.
    pub fn str(&self, key: &str) -> Option<&str> {
        self.body.get(key).and_then(Value::as_str)
    }

    /// The success response of this route (its status from the table) with `body`.
    pub fn reply(&self, body: Value) -> Response {
        let status = StatusCode::from_u16(self.route.status).unwrap_or(StatusCode::OK);
        (status, Json(body)).into_response()
    }

    /// Express `res.status(s).json(undefined)`: the status, a JSON content type, no body.
    pub fn reply_empty(&self) -> Response {
        let status = StatusCode::from_u16(self.route.status).unwrap_or(StatusCode::OK);
        (
            status,
            [(
                axum::http::header::CONTENT_TYPE,
                "application/json; charset=utf-8",
            )],
        )
            .into_response()
    }
}

pub type BoxedResult = Pin<Box<dyn Future<Output = EvoResult> + Send>>;
/// An async handler.
pub type Handler = fn(Arc<Sim>, Call) -> BoxedResult;
/// A handler that answers under no await.
pub type SyncHandler = fn(&Sim, &Call) -> EvoResult;

fn filter(method: &str) -> MethodFilter {
    match method {
        "POST" => MethodFilter::POST,
        "PUT" => MethodFilter::PUT,
        "DELETE" => MethodFilter::DELETE,
        "PATCH" => MethodFilter::PATCH,
        _ => MethodFilter::GET,
    }
}

/// The table row of `method path`; a missing row is a programming error caught by the tests.
fn row(method: &str, path: &str) -> &'static Route {
    routes::find(method, path).unwrap_or_else(|| panic!("{method} {path} is not in routes.rs"))
}

/// Guards, body and schema of a call.
async fn prepare(
    sim: &Sim,
    route: &'static Route,
    params: HashMap<String, String>,
    query: HashMap<String, String>,
    headers: HeaderMap,
    raw: Bytes,
) -> Result<Call, EvoError> {
    let instance = params.get("instance").cloned().unwrap_or_default();
    if route.path.contains("{instance}") {
        sim.with_instance(&instance, &headers, |_| Ok(()))?;
    }
    let multipart = headers
        .get(axum::http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|c| multer::parse_boundary(c).ok());
    let (mut body, file) = match multipart {
        Some(boundary) => multipart_form(boundary, raw).await?,
        None => (json_body(&raw)?, None),
    };
    if route.path.starts_with("/group/") {
        super::group_input::prepare_input(route.path, &mut body, &query)?;
    }
    if let Some(name) = route.schema {
        schema::validate(name, &body)?;
    }
    Ok(Call {
        route,
        instance,
        params,
        query,
        headers,
        body,
        file,
    })
}

/// Adds `method path` answered by the async `handler`.
pub fn add(
    router: Router<Arc<Sim>>,
    method: &str,
    path: &str,
    handler: Handler,
) -> Router<Arc<Sim>> {
    register(router, method, path, handler)
}

/// Adds `method path` answered by the synchronous `handler`.
pub fn add_sync(
    router: Router<Arc<Sim>>,
    method: &str,
    path: &str,
    handler: SyncHandler,
) -> Router<Arc<Sim>> {
    register(
        router,
        method,
        path,
        move |sim: Arc<Sim>, call: Call| async move { handler(&sim, &call) },
    )
}

fn register<F, Fut>(
    router: Router<Arc<Sim>>,
    method: &str,
    path: &str,
    handler: F,
) -> Router<Arc<Sim>>
where
    F: Fn(Arc<Sim>, Call) -> Fut + Clone + Send + Sync + 'static,
    Fut: Future<Output = EvoResult> + Send + 'static,
{
    let route = row(method, path);
    router.route(
        path,
        on(
            filter(method),
            move |State(sim): State<Arc<Sim>>,
                  params: Option<Path<HashMap<String, String>>>,
                  Query(query): Query<HashMap<String, String>>,
                  headers: HeaderMap,
                  raw: Bytes| async move {
                let params = params.map(|Path(p)| p).unwrap_or_default();
                let call = prepare(&sim, route, params, query, headers, raw).await?;
                handler(sim, call).await
            },
        ),
    )
}

/// A multipart form as multer gives it: text fields in the body, the `file` part apart.
async fn multipart_form(boundary: String, raw: Bytes) -> Result<(Value, Option<Bytes>), EvoError> {
    let stream = futures_util::stream::once(async move { Ok::<Bytes, std::io::Error>(raw) });
    let mut form = multer::Multipart::new(stream, boundary);
    let mut fields = serde_json::Map::new();
    let mut file = None;
    let bad = |e: multer::Error| EvoError::bad_request(e.to_string());
    while let Some(field) = form.next_field().await.map_err(bad)? {
        let name = field.name().unwrap_or_default().to_string();
        if field.file_name().is_some() || name == "file" {
            file = Some(field.bytes().await.map_err(bad)?);
        } else {
            fields.insert(name, Value::String(field.text().await.map_err(bad)?));
        }
    }
    Ok((Value::Object(fields), file))
}
