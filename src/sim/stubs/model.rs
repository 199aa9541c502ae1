//! The stubs file of `harness mock http`: routes, matchers, responses, scenario states.

use std::collections::BTreeMap;

use serde::Deserialize;
use serde_json::Value;
use serde_json_path::JsonPath;

use crate::sim::faults::FaultRule;

/// Errors reading a stubs file.
#[derive(Debug, thiserror::Error)]
pub enum StubsError {
    #[error("cannot read stubs file {path}: {source}")]
    Io {
        path: String,
        source: std::io::Error,
    },
    #[error("invalid stubs file {path}: {message} (see docs/dependencies.md#any-http-dependency)")]
    Invalid { path: String, message: String },
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StubsFile {
    /// The dependency's name on the bus (`await: { call: { service } }`).
    #[serde(default = "default_service")]
    pub service: String,
    #[serde(default)]
    pub routes: Vec<Route>,
    /// Answer when no route matches (default 404 with the request's method and path).
    #[serde(default)]
    pub fallback: Option<Response>,
}

fn default_service() -> String {
    "http".into()
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Route {
    #[serde(default)]
    pub name: Option<String>,
    /// Any method when absent.
    #[serde(default)]
    pub method: Option<String>,
    /// `/bookings/{id}`: `{name}` captures one segment; a last segment `*` matches the rest.
    pub path: String,
    #[serde(default, rename = "match")]
    pub when: Matchers,
    /// WireMock-like scenario: the route applies only in `required_state` (default
    /// `Started`) of `scenario`, and moves it to `new_state`.
    #[serde(default)]
    pub scenario: Option<String>,
    #[serde(default)]
    pub required_state: Option<String>,
    #[serde(default)]
    pub new_state: Option<String>,
    pub response: Response,
    /// Faults of this route, in the fault-profile format (`endpoint`/`method` default to
    /// the route's).
    #[serde(default)]
    pub faults: Option<FaultRule>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Matchers {
    /// Header values, exact (names case-insensitive).
    #[serde(default)]
    pub headers: BTreeMap<String, String>,
    /// Query parameters, exact.
    #[serde(default)]
    pub query: BTreeMap<String, String>,
    /// A substring of the body.
    #[serde(default)]
    pub body_contains: Option<String>,
    /// JSONPath → the value the first match must equal.
    #[serde(default)]
    pub jsonpath: BTreeMap<String, Value>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Response {
    #[serde(default = "default_status")]
    pub status: u16,
    #[serde(default)]
    pub headers: BTreeMap<String, String>,
    /// A JSON body; strings are templates.
    #[serde(default)]
    pub json: Option<Value>,
    /// A text body (a template).
    #[serde(default)]
    pub body: Option<String>,
}

fn default_status() -> u16 {
    200
}

/// The scenario state every scenario starts in (WireMock's name).
pub const STARTED: &str = "Started";

impl StubsFile {
    /// Parses and checks a stubs file's text (`path` names it in errors).
    pub fn parse(text: &str, path: &str) -> Result<Self, StubsError> {
        let invalid = |message: String| StubsError::Invalid {
            path: path.to_string(),
            message,
        };
        let value = crate::sim::yaml_to_json(text).map_err(invalid)?;
        let file: StubsFile = serde_json::from_value(value).map_err(|e| invalid(e.to_string()))?;
        for (i, r) in file.routes.iter().enumerate() {
            let name = r.label(i);
            for p in r.when.jsonpath.keys() {
                JsonPath::parse(p)
                    .map_err(|e| invalid(format!("{name}: match.jsonpath {p:?}: {e}")))?;
            }
            if r.response.json.is_some() && r.response.body.is_some() {
                return Err(invalid(format!(
                    "{name}: response has both json and body; keep one"
                )));
            }
            if !r.path.starts_with('/') {
                return Err(invalid(format!(
                    "{name}: path {:?} must start with /",
                    r.path
                )));
            }
        }
        Ok(file)
    }

    pub fn load(path: &std::path::Path) -> Result<Self, StubsError> {
        let text = std::fs::read_to_string(path).map_err(|source| StubsError::Io {
            path: path.display().to_string(),
            source,
        })?;
        Self::parse(&text, &path.display().to_string())
    }

    /// The routes' faults as fault rules (scoped to their route).
    pub fn fault_rules(&self) -> Vec<FaultRule> {
        self.routes
            .iter()
            .filter_map(|r| {
                let mut rule = r.faults.clone()?;
                rule.endpoint.get_or_insert_with(|| r.path.clone());
                if let Some(m) = &r.method {
                    rule.method.get_or_insert_with(|| m.clone());
                }
                Some(rule)
            })
            .collect()
    }
}

impl Route {
    pub fn label(&self, index: usize) -> String {
        self.name
            .clone()
            .unwrap_or_else(|| format!("route {}", index + 1))
    }
}

/// Matches a path against a route pattern; the `{name}` captures when it matches.
pub fn match_path(pattern: &str, path: &str) -> Option<BTreeMap<String, String>> {
    let pat: Vec<&str> = pattern.trim_matches('/').split('/').collect();
    let segs: Vec<&str> = path.trim_matches('/').split('/').collect();
    let mut params = BTreeMap::new();
    for (i, p) in pat.iter().enumerate() {
        if i + 1 == pat.len() && *p == "*" {
            return Some(params);
        }
        let s = segs.get(i)?;
        if let Some(name) = p.strip_prefix('{').and_then(|p| p.strip_suffix('}')) {
            if s.is_empty() {
                return None;
            }
            params.insert(name.to_string(), s.to_string());
        } else if p != s {
            return None;
        }
    }
    (pat.len() == segs.len()).then_some(params)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_capture_parameters_and_wildcards() {
        let p = match_path("/bookings/{id}", "/bookings/42").unwrap();
        assert_eq!(p["id"], "42");
        assert!(match_path("/bookings/{id}", "/bookings").is_none());
        assert!(match_path("/bookings/{id}", "/bookings/42/x").is_none());
        assert!(match_path("/rooms/*", "/rooms/a/b").is_some());
        assert!(match_path("/", "/").is_some());
    }

    #[test]
    fn bad_files_are_clear_errors_and_route_faults_are_scoped() {
        let e = StubsFile::parse("routes:\n  - path: x\n    response: {}\n", "s.yaml").unwrap_err();
        assert!(
            e.to_string()
                .contains("s.yaml: route 1: path \"x\" must start with /"),
            "{e}"
        );
        let e = StubsFile::parse(
            "routes:\n  - name: b\n    path: /b\n    match: {jsonpath: {'$[': 1}}\n    response: {}\n",
            "s.yaml",
        )
        .unwrap_err();
        assert!(e.to_string().contains("b: match.jsonpath"), "{e}");
        let e = StubsFile::parse("routes:\n  - path: /b\n    respons: {}\n", "s.yaml").unwrap_err();
        assert!(e.to_string().contains("unknown field `respons`"), "{e}");
        let f = StubsFile::parse(
            "routes:\n  - method: POST\n    path: /b/{id}\n    response: {}\n    faults: {latency: {kind: fixed, delay: 10ms}}\n",
            "s.yaml",
        )
        .unwrap();
        let rules = f.fault_rules();
        assert_eq!(rules[0].endpoint.as_deref(), Some("/b/{id}"));
        assert_eq!(rules[0].method.as_deref(), Some("POST"));
    }
}
