//! The app's other dependencies of a run: the scenario's `dependencies:` merged with the
//! target's word on each (`mode: real|simulated`, `url`, `port`), the simulated ones started in
//! this process with the same code as `harness mock openai|payments|http`, their URLs and keys
//! as template variables (`dependencies.<name>.url`, keys registered as secrets) and handed to
//! the bundled reference app (`AppConfig.dependencies`).
//!
//! Like the embedded default, both sides need each other's address (the app calls the LLM;
//! the payments simulator notifies the app), so listeners are bound first ([`bind`]), the app
//! is told the URLs ([`Bound::app_dependencies`]), then the simulators start with the app's
//! URL ([`Bound::start`]).

pub mod check;

use anyhow::Context;
use serde_json::{json, Map, Value};
use tokio::net::TcpListener;

use crate::app::config::{AppDependencies, LlmEndpoint, PaymentsEndpoint};
use crate::redact::Redactor;
use crate::runner::template::Templater;
use crate::runner::RunDependency;
use crate::scenario::targets::{ProviderMode, TargetDependency};
use crate::scenario::{Dependency, DependencyKind, Scenario};
use crate::sim::faults::FaultProfile;
use crate::sim::SimHandle;

/// Where the bundled app takes payment notifications (what the payments simulator posts to).
pub const PAYMENTS_WEBHOOK_PATH: &str = "/api/payments/webhook";
/// The model the bundled app asks the simulated LLM for.
pub const LLM_MODEL: &str = "gpt-4o-mini";
/// The dependency of kind `http` whose URL the bundled app uses as its PMS.
pub const PMS: &str = "pms";

/// One dependency of the run, planned: the scenario's entry and the target's word on it.
#[derive(Debug, Clone)]
pub struct Planned {
    pub dep: Dependency,
    pub mode: ProviderMode,
    /// Given by the target (rendered): a real service, or a simulator already running.
    pub url: Option<String>,
    pub api_key: Option<String>,
    pub port: Option<u16>,
}

/// The scenario's dependencies with the target's overrides (by name), templates rendered;
/// keys registered as secrets.
pub fn plan(
    scenario: &Scenario,
    target: &[TargetDependency],
    templater: &Templater,
) -> Result<Vec<Planned>, String> {
    let render = |v: &Option<String>| {
        v.as_deref()
            .map(|s| templater.render(s, &Default::default()))
            .transpose()
            .map_err(|e| format!("error: target dependency: {e}"))
    };
    let mut out = Vec::new();
    for dep in &scenario.dependencies {
        let given = target.iter().find(|t| t.name == dep.name);
        let api_key = render(&given.and_then(|g| g.api_key.clone()))?;
        if let Some(k) = &api_key {
            templater.redactor().add(k);
        }
        out.push(Planned {
            dep: dep.clone(),
            mode: given.map_or(ProviderMode::Simulated, |g| g.mode),
            url: render(&given.and_then(|g| g.url.clone()))?
                .map(|u| u.trim_end_matches('/').to_string()),
            api_key,
            port: given.and_then(|g| g.port).or(dep.port),
        });
    }
    Ok(out)
}

/// Keys a simulated dependency was started with (generated for the run).
#[derive(Debug, Clone, Default)]
struct Keys {
    api_key: Option<String>,
    access_token: Option<String>,
    webhook_secret: Option<String>,
}

/// A planned dependency with its listener bound (simulated and started here) and its URL.
struct Slot {
    planned: Planned,
    listener: Option<TcpListener>,
    url: Option<String>,
    keys: Keys,
}

/// The dependencies with their addresses known, before the simulators start.
pub struct Bound {
    slots: Vec<Slot>,
}

/// Binds a listener for each simulated dependency the target does not place elsewhere, and
/// generates its keys (registered with `redactor`).
pub async fn bind(planned: Vec<Planned>, redactor: &Redactor) -> anyhow::Result<Bound> {
    let mut slots = Vec::new();
    for p in planned {
        let here = p.mode == ProviderMode::Simulated && p.url.is_none();
        let (listener, url) = if here {
            let addr = format!("127.0.0.1:{}", p.port.unwrap_or(0));
            let l = TcpListener::bind(&addr)
                .await
                .with_context(|| format!("cannot bind dependency `{}` to {addr}", p.dep.name))?;
            let url = format!("http://{}", l.local_addr()?);
            (Some(l), Some(url))
        } else {
            (None, p.url.clone())
        };
        let keys = keys(&p, here);
        for k in [&keys.api_key, &keys.access_token, &keys.webhook_secret]
            .into_iter()
            .flatten()
        {
            redactor.add(k);
        }
        slots.push(Slot {
            planned: p,
            listener,
            url,
            keys,
        });
    }
    Ok(Bound { slots })
}

fn keys(p: &Planned, generated: bool) -> Keys {
    let secret = || uuid::Uuid::new_v4().simple().to_string();
    let given = || p.api_key.clone();
    match (p.dep.kind, generated) {
        (DependencyKind::Openai, true) => Keys {
            api_key: Some(format!("sk-harness-{}", secret())),
            ..Keys::default()
        },
        (DependencyKind::Payments, true) => Keys {
            access_token: Some(format!("TEST-{}", secret())),
            webhook_secret: Some(secret()),
            ..Keys::default()
        },
        (DependencyKind::Openai, false) => Keys {
            api_key: given(),
            ..Keys::default()
        },
        (DependencyKind::Payments, false) => Keys {
            access_token: given(),
            ..Keys::default()
        },
        (DependencyKind::Http, _) => Keys {
            api_key: given(),
            ..Keys::default()
        },
    }
}

impl Bound {
    /// What the bundled app is told: kind openai → its LLM, kind payments → its payments
    /// provider, the `http` dependency named `pms` → its PMS.
    pub fn app_dependencies(&self) -> AppDependencies {
        let mut app = AppDependencies::default();
        for s in &self.slots {
            let Some(url) = s.url.clone() else { continue };
            match s.planned.dep.kind {
                DependencyKind::Openai if app.llm.is_none() => {
                    app.llm = Some(LlmEndpoint {
                        base_url: format!("{url}/v1"),
                        api_key: s.keys.api_key.clone().unwrap_or_default(),
                        model: LLM_MODEL.into(),
                    });
                }
                DependencyKind::Payments if app.payments.is_none() => {
                    app.payments = Some(PaymentsEndpoint {
                        base_url: url,
                        access_token: s.keys.access_token.clone().unwrap_or_default(),
                        webhook_secret: s.keys.webhook_secret.clone().unwrap_or_default(),
                    });
                }
                DependencyKind::Http if s.planned.dep.name == PMS => app.pms_url = Some(url),
                _ => {}
            }
        }
        app
    }

    /// Starts the simulators bound here; payment notifications go to `app_url` +
    /// [`PAYMENTS_WEBHOOK_PATH`].
    pub async fn start(self, app_url: Option<&str>) -> anyhow::Result<Running> {
        let mut running = Running::default();
        for slot in self.slots {
            let handle = match slot.listener {
                Some(l) => Some(start_one(&slot.planned, &slot.keys, l, app_url).await?),
                None => None,
            };
            running.deps.push(Live {
                run: RunDependency {
                    name: slot.planned.dep.name.clone(),
                    kind: slot.planned.dep.kind,
                    mode: slot.planned.mode,
                    url: slot.url,
                    bus: handle.as_ref().map(|h| h.bus.clone()),
                },
                keys: slot.keys,
            });
            running.handles.extend(handle);
        }
        Ok(running)
    }
}

async fn start_one(
    p: &Planned,
    keys: &Keys,
    listener: TcpListener,
    app_url: Option<&str>,
) -> anyhow::Result<SimHandle> {
    let d = &p.dep;
    let faults = match &d.faults {
        Some(f) => FaultProfile::load(&f.path)?,
        None => FaultProfile::default(),
    };
    let started = match d.kind {
        DependencyKind::Openai => {
            let rules = match &d.rules {
                Some(r) => crate::sim::openai::Rules::load(&r.path)?,
                None => Default::default(),
            };
            let config = crate::sim::openai::OpenaiConfig {
                api_key: keys.api_key.clone().unwrap_or_default(),
                rules,
                faults,
                service: d.name.clone(),
                ..Default::default()
            };
            crate::sim::openai::start(config, listener).await
        }
        DependencyKind::Payments => {
            let config = crate::sim::payments::PaymentsConfig {
                access_token: keys.access_token.clone().unwrap_or_default(),
                webhook_secret: keys.webhook_secret.clone().unwrap_or_default(),
                notification_url: app_url
                    .map(|u| format!("{}{PAYMENTS_WEBHOOK_PATH}", u.trim_end_matches('/'))),
                faults,
                service: d.name.clone(),
                ..Default::default()
            };
            crate::sim::payments::start(config, listener).await
        }
        DependencyKind::Http => {
            let path = d.stubs.as_ref().map(|s| s.path.clone()).unwrap_or_default();
            let mut file = crate::sim::stubs::StubsFile::load(&path)?;
            // Calls are journaled under the scenario's name for it.
            file.service = d.name.clone();
            crate::sim::stubs::start(file, faults, listener).await
        }
    };
    started.with_context(|| format!("cannot start dependency `{}`", d.name))
}

/// One dependency of the run, as the runner and the templates see it.
#[derive(Debug, Clone)]
pub struct Live {
    pub run: RunDependency,
    keys: Keys,
}

/// The run's dependencies, the simulated ones running.
#[derive(Debug, Default)]
pub struct Running {
    pub deps: Vec<Live>,
    handles: Vec<SimHandle>,
}

impl Running {
    pub fn run_dependencies(&self) -> Vec<RunDependency> {
        self.deps.iter().map(|d| d.run.clone()).collect()
    }

    /// `dependencies.<name>`: `{kind, mode, url, base_url (openai: with /v1), api_key,
    /// access_token, webhook_secret}` (absent values left out).
    pub fn vars(&self) -> Value {
        let mut all = Map::new();
        for d in &self.deps {
            let r = &d.run;
            let mut v = json!({ "name": r.name, "kind": r.kind.name(), "mode": r.mode.as_str() });
            let mut put = |k: &str, x: &Option<String>| {
                if let Some(x) = x {
                    v[k] = json!(x);
                }
            };
            put("url", &r.url);
            if r.kind == DependencyKind::Openai {
                put("base_url", &r.url.as_ref().map(|u| format!("{u}/v1")));
            }
            put("api_key", &d.keys.api_key);
            put("access_token", &d.keys.access_token);
            put("webhook_secret", &d.keys.webhook_secret);
            all.insert(r.name.clone(), v);
        }
        Value::Object(all)
    }

    pub async fn shutdown(self) {
        for h in self.handles {
            h.shutdown().await;
        }
    }
}
