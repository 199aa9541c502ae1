//! The fault middleware and the live fault state (see the module docs of [`super`]).

use std::collections::VecDeque;
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Instant, SystemTime};

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::StatusCode;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::Router;

use super::{decide, ConnectionFault, Draws, FaultProfile, Outcome, RequestInfo, CONTROL_PREFIX};

/// The live fault state of one simulator (cheap to clone).
#[derive(Debug, Clone)]
pub struct Faults {
    inner: Arc<RwLock<(Arc<FaultProfile>, Instant)>>,
    /// Every non-empty profile set since start (or the last reset), bounded: what reports show
    /// as "faults injected".
    history: Arc<Mutex<VecDeque<FaultEvent>>>,
}

/// How many profiles the history keeps (oldest dropped first).
pub const HISTORY_CAPACITY: usize = 100;

/// A fault profile that was set, and when.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct FaultEvent {
    /// RFC 3339, UTC.
    pub set_at: String,
    pub profile: FaultProfile,
}

impl Faults {
    pub fn new(profile: FaultProfile) -> Self {
        let faults = Self {
            inner: Arc::new(RwLock::new((
                Arc::new(FaultProfile::default()),
                Instant::now(),
            ))),
            history: Arc::default(),
        };
        faults.set(profile);
        faults
    }

    /// Replaces the profile; downtime windows count from now.
    pub fn set(&self, profile: FaultProfile) {
        if !profile.rules.is_empty() {
            let mut history = self.history.lock().unwrap_or_else(|p| p.into_inner());
            if history.len() == HISTORY_CAPACITY {
                history.pop_front();
            }
            let set_at = humantime::format_rfc3339_millis(SystemTime::now()).to_string();
            history.push_back(FaultEvent {
                set_at,
                profile: profile.clone(),
            });
        }
        let mut guard = self.inner.write().unwrap_or_else(|p| p.into_inner());
        *guard = (Arc::new(profile), Instant::now());
    }

    /// The profiles set so far, oldest first.
    pub fn history(&self) -> Vec<FaultEvent> {
        self.history
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .iter()
            .cloned()
            .collect()
    }

    /// Forgets the history (a reset).
    pub fn clear_history(&self) {
        self.history
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clear();
    }

    /// Removes every rule.
    pub fn clear(&self) {
        self.set(FaultProfile::default());
    }

    /// The active profile and when it was set.
    pub fn get(&self) -> (Arc<FaultProfile>, Instant) {
        let guard = self.inner.read().unwrap_or_else(|p| p.into_inner());
        (Arc::clone(&guard.0), guard.1)
    }
}

impl Default for Faults {
    fn default() -> Self {
        Self::new(FaultProfile::default())
    }
}

/// Extracts the tenant (instance name, phone-number-id) from a request path.
pub type TenantOf = fn(&str) -> Option<String>;

/// Wraps `router` with the fault middleware.
pub fn apply(router: Router, faults: Faults, tenant_of: TenantOf) -> Router {
    router.layer(axum::middleware::from_fn_with_state(
        (faults, tenant_of),
        fault_middleware,
    ))
}

async fn fault_middleware(
    State((faults, tenant_of)): State<(Faults, TenantOf)>,
    req: Request,
    next: Next,
) -> Response {
    let (profile, since) = faults.get();
    let path = req.uri().path();
    if profile.rules.is_empty() || path.starts_with(CONTROL_PREFIX) {
        return next.run(req).await;
    }
    let tenant = tenant_of(path);
    let info = RequestInfo {
        method: req.method().as_str(),
        path,
        tenant: tenant.as_deref(),
    };
    let draws = Draws::sample(&mut rand::rng());
    let decision = decide(&profile, &info, since.elapsed(), &draws);
    if !decision.delay.is_zero() {
        tokio::time::sleep(decision.delay).await;
    }
    match decision.outcome {
        Outcome::Pass => next.run(req).await,
        Outcome::Respond {
            status,
            body,
            headers,
        } => {
            let status = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
            let mut resp = match body {
                Some(body) => (status, axum::Json(body)).into_response(),
                None => (status, Body::empty()).into_response(),
            };
            for (name, value) in headers {
                if let (Ok(name), Ok(value)) = (
                    axum::http::HeaderName::try_from(name),
                    axum::http::HeaderValue::try_from(value),
                ) {
                    resp.headers_mut().insert(name, value);
                }
            }
            resp
        }
        Outcome::Connection(fault) => connection_fault_response(fault),
    }
}

/// A response that tells [`crate::sim::serve`] to drop the connection instead of answering.
pub fn connection_fault_response(fault: ConnectionFault) -> Response {
    let mut resp = StatusCode::INTERNAL_SERVER_ERROR.into_response();
    resp.extensions_mut().insert(fault);
    resp
}

#[cfg(test)]
mod tests {
    use super::super::FaultRule;
    use super::*;

    #[test]
    fn faults_state_set_get_clear() {
        let f = Faults::default();
        assert!(f.get().0.rules.is_empty());
        f.set(FaultProfile {
            rules: vec![FaultRule::default()],
        });
        assert_eq!(f.get().0.rules.len(), 1);
        f.clear();
        assert!(f.get().0.rules.is_empty());
    }

    #[test]
    fn history_keeps_non_empty_profiles_bounded_oldest_first() {
        let f = Faults::default();
        for i in 0..HISTORY_CAPACITY + 5 {
            let rule = FaultRule {
                name: Some(format!("r{i}")),
                ..FaultRule::default()
            };
            f.set(FaultProfile { rules: vec![rule] });
            f.clear();
        }
        let h = f.history();
        assert_eq!(
            h.len(),
            HISTORY_CAPACITY,
            "clears are not recorded; the oldest are dropped"
        );
        assert_eq!(h[0].profile.rules[0].name.as_deref(), Some("r5"));
        assert!(h[0].set_at.ends_with('Z'));
        f.clear_history();
        assert!(f.history().is_empty());
    }
}
