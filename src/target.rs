//! Targets: where the app and the provider are, and whether the provider is real or
//! simulated. Named targets live in `harness.yaml`; flags override; with no target at all,
//! the embedded default starts the simulators on loopback.
//!
//! A resolved [`Target`] becomes the template variables `provider.*`, `app.*` and `target.*`.

use serde_json::{json, Value};

use crate::redact::Redactor;
use crate::report::TargetReport;
use crate::runner::template::{TemplateError, Templater, Vars};
use crate::runner::{RunDependency, RunTarget};
pub use crate::scenario::targets::{Credentials, CustomerDevice, ProviderMode, TargetSpec};
pub use crate::scenario::ProviderKind;

/// Which target, and the flags that override it.
#[derive(Debug, Clone, Default)]
pub struct TargetOverrides {
    pub target: Option<String>,
    pub config: std::path::PathBuf,
    pub app_url: Option<String>,
    pub provider: Option<ProviderKind>,
    pub provider_url: Option<String>,
    /// Where the simulator delivers webhooks to the app (default: under `app_url`).
    pub webhook_url: Option<String>,
    /// Serve the embedded simulator on this port (so an app elsewhere can be pointed at it).
    pub sim_port: Option<u16>,
    /// `--bind`: the embedded simulator's address (default loopback).
    pub bind: Option<std::net::IpAddr>,
    /// `--public-url`: the embedded simulator's URL as the app reaches it.
    pub public_url: Option<String>,
    /// `--customer-device simulated`: a simulated customer device plays the customer.
    pub customer_device_simulated: bool,
}

/// A target with its values rendered (environment read, secrets registered).
#[derive(Debug, Clone, PartialEq)]
pub struct Target {
    pub spec: TargetSpec,
    /// Every tenant (Evolution instance / Meta phone-number-id) the scenarios may address;
    /// the first is the default.
    pub tenants: Vec<String>,
    pub credentials: Credentials,
    pub app_url: Option<String>,
    pub provider_url: Option<String>,
    /// The app's other dependencies of the run (`crate::dependencies`).
    pub dependencies: Vec<RunDependency>,
    /// Their template variables, `dependencies.<name>.url`, …; `None` without any.
    pub dependency_vars: Option<Value>,
    /// Customer-device mode: the device, its values rendered (filled in by the embedded
    /// default for a simulated one; the number read from the device when not given).
    pub device: Option<DeviceSpec>,
}

/// A customer device with its values rendered; `number` and `business_number` may still be
/// unknown (read from the device, or given by the embedded default).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct DeviceSpec {
    pub url: Option<String>,
    pub instance: Option<String>,
    pub api_key: Option<String>,
    pub number: Option<String>,
    pub business_number: Option<String>,
}

impl TargetSpec {
    /// Renders `${ENV}` references; every credential becomes a secret for the redactor.
    pub fn resolve(&self, templater: &Templater) -> Result<Target, TemplateError> {
        let vars = Vars::default();
        // Empty values (an unset `${VAR:-}`) count as absent.
        let render = |v: &Option<String>| {
            v.as_deref()
                .map(|s| templater.render(s, &vars))
                .transpose()
                .map(|v| v.filter(|s| !s.is_empty()))
        };
        let secret = |v: &Option<String>, r: &Redactor| -> Result<Option<String>, TemplateError> {
            let value = render(v)?;
            if let Some(s) = &value {
                r.add(s);
            }
            Ok(value)
        };
        let r = templater.redactor();
        let c = &self.credentials;
        let (instance, instance_token) = split_instance(render(&c.instance)?);
        if let Some(token) = &instance_token {
            r.add(token);
        }
        Ok(Target {
            credentials: Credentials {
                api_key: secret(&c.api_key, r)?,
                instance,
                instance_token,
                token: secret(&c.token, r)?,
                app_secret: secret(&c.app_secret, r)?,
                verify_token: secret(&c.verify_token, r)?,
                phone_number_id: render(&c.phone_number_id)?,
            },
            app_url: render(&self.app_url)?,
            provider_url: render(&self.provider_url)?,
            tenants: Vec::new(),
            dependencies: Vec::new(),
            dependency_vars: None,
            device: match &self.customer_device {
                Some(d) if !d.simulated => Some(DeviceSpec {
                    url: render(&d.url)?,
                    instance: render(&d.instance)?,
                    api_key: secret(&d.api_key, r)?,
                    number: render(&d.number)?,
                    business_number: render(&d.business_number)?,
                }),
                _ => None,
            },
            spec: self.clone(),
        })
    }
}

/// `NAME:TOKEN` → (`NAME`, `TOKEN`); a plain name has no token. (Evolution instance names
/// cannot hold a colon: they are path segments of every route.)
fn split_instance(value: Option<String>) -> (Option<String>, Option<String>) {
    match value.as_deref().and_then(|v| v.split_once(':')) {
        Some((name, token)) if !name.is_empty() && !token.is_empty() => {
            (Some(name.to_string()), Some(token.to_string()))
        }
        _ => (value, None),
    }
}

impl Target {
    /// The template variables this target provides.
    pub fn vars(&self) -> Vars {
        let c = &self.credentials;
        let mut vars = Vars::default();
        vars.set(
            "provider",
            json!({
                "name": self.spec.provider.name(),
                "mode": self.spec.mode.as_str(),

                "url": self.provider_url,
                "api_key": c.api_key,
                "instance": c.instance,
                "instance_token": c.instance_token,
                "token": c.token,
                "app_secret": c.app_secret,
                "verify_token": c.verify_token,
                "phone_number_id": c.phone_number_id,
                "tenant": self.tenant(),
                "tenants": self.tenant().map(|t| {
                    let others = self.tenants.iter().filter(|x| **x != t).cloned();
                    std::iter::once(t.clone()).chain(others).collect::<Vec<_>>()
                }),
            }),
        );
        vars.set(
            "app",
            json!({ "url": self.app_url, "webhook_url": self.webhook_url() }),
        );
        vars.set("target", json!({ "name": self.spec.name }));
        if let Some(deps) = &self.dependency_vars {
            vars.set("dependencies", deps.clone());
        }
        without_nulls(vars)
    }

    /// The target as the runner carries it in its context.
    pub fn run_target(&self) -> RunTarget {
        RunTarget {
            provider: self.spec.provider,
            mode: self.spec.mode,
            provider_url: self
                .provider_url
                .as_deref()
                .map(|u| u.trim_end_matches('/').to_string()),
            tenant: self.tenant(),
            app_secret: self.credentials.app_secret.clone(),
            webhook_url: self.webhook_url(),
            dependencies: self.dependencies.clone(),
            device: self.device.as_ref().and_then(DeviceSpec::run_target),
        }
    }

    /// The default tenant: the Evolution instance or the Meta phone-number-id.
    pub fn tenant(&self) -> Option<String> {
        let c = &self.credentials;
        match self.spec.provider {
            ProviderKind::Evolution => c.instance.clone(),
            ProviderKind::Meta => c.phone_number_id.clone(),
        }
        .or_else(|| self.tenants.first().cloned())
    }

    /// Where the provider delivers webhooks to the app: the target's `webhook_url`, else the
    /// reference app's path under `app_url`.
    pub fn webhook_url(&self) -> Option<String> {
        if let Some(url) = &self.spec.webhook_url {
            return Some(url.clone());
        }
        let base = self.app_url.as_deref()?.trim_end_matches('/');
        let path = match self.spec.provider {
            ProviderKind::Evolution => crate::app::server::EVOLUTION_WEBHOOK_PATH,
            ProviderKind::Meta => crate::app::server::META_WEBHOOK_PATH,
        };
        Some(format!("{base}{path}"))
    }

    /// The target as reports show it (URLs are redacted by the report builder).
    pub fn report(&self) -> TargetReport {
        TargetReport {
            name: self.spec.name.clone(),
            provider: Some(self.spec.provider.name().to_string()),
            provider_mode: Some(self.spec.mode.as_str().to_string()),
            provider_url: self.provider_url.clone(),
            app_url: self.app_url.clone(),
        }
    }
}

/// Null-valued variables are dropped so that `{{ provider.token }}` on a target without one
/// fails as "undefined" rather than rendering `none`.
fn without_nulls(vars: Vars) -> Vars {
    fn strip(v: Value) -> Value {
        match v {
            Value::Object(m) => Value::Object(
                m.into_iter()
                    .filter(|(_, v)| !v.is_null())
                    .map(|(k, v)| (k, strip(v)))
                    .collect(),
            ),
            other => other,
        }
    }
    Vars(
        vars.0
            .into_iter()
            .filter(|(_, v)| !v.is_null())
            .map(|(k, v)| (k, strip(v)))
            .collect(),
    )
}

/// Picks the target of a run: a named one from the config file (flags override its values),
/// or one made of the flags alone; with no target and no URLs, the embedded default
/// (simulated provider started in-process). Errors are complete messages for the user.
pub fn select(o: &TargetOverrides, provider: ProviderKind) -> Result<TargetSpec, String> {
    let mut spec = match &o.target {
        Some(name) => {
            let text = std::fs::read_to_string(&o.config).map_err(|e| {
                format!("error: --target {name}: cannot read {}: {e} (targets are declared in harness.yaml, see docs/targets.md)", o.config.display())
            })?;
            let targets = crate::scenario::parse_targets(&o.config, &text)
                .map_err(|d| d.render(&text, false))?;
            let names: Vec<&str> = targets.iter().map(|t| t.name.as_str()).collect();
            targets
                .iter()
                .find(|t| &t.name == name)
                .cloned()
                .ok_or_else(|| {
                    format!(
                        "error: no target `{name}` in {} (declared: {})",
                        o.config.display(),
                        names.join(", ")
                    )
                })?
        }
        None => TargetSpec {
            name: if o.app_url.is_some() || o.provider_url.is_some() {
                "cli"
            } else {
                "embedded"
            }
            .to_string(),
            app_url: None,
            webhook_url: None,
            provider,
            mode: if o.provider_url.is_some() {
                ProviderMode::Real
            } else {
                ProviderMode::Simulated
            },
            provider_url: None,
            credentials: Credentials::from_env_defaults(),
            public_url: None,
            dependencies: Vec::new(),
            customer_device: None,
        },
    };
    if let Some(p) = o.provider {
        spec.provider = p;
    } else if o.target.is_none() {
        spec.provider = provider;
    }
    if let Some(url) = &o.app_url {
        spec.app_url = Some(url.clone());
    }
    if let Some(url) = &o.provider_url {
        spec.provider_url = Some(url.clone());
    }
    if let Some(url) = &o.webhook_url {
        spec.webhook_url = Some(url.clone());
    }
    if let Some(url) = &o.public_url {
        spec.public_url = Some(url.clone());
    }
    if o.customer_device_simulated {
        spec.customer_device = Some(CustomerDevice {
            simulated: true,
            ..CustomerDevice::default()
        });
    }
    if o.sim_port.is_some() {
        // `--sim-port` starts the simulator here, on that port: the provider is simulated.
        spec.mode = ProviderMode::Simulated;
        spec.provider_url = None;
    }
    Ok(spec)
}

impl DeviceSpec {
    /// The device as the runner carries it, once every value is known.
    pub fn run_target(&self) -> Option<crate::runner::DeviceTarget> {
        let digits = |n: &Option<String>| n.as_deref().map(crate::sim::bus::phone_digits);
        Some(crate::runner::DeviceTarget {
            url: self.url.as_deref()?.trim_end_matches('/').to_string(),
            instance: self.instance.clone()?,
            api_key: self.api_key.clone().unwrap_or_default(),
            number: digits(&self.number)?,
            business_number: digits(&self.business_number)?,
        })
    }
}

impl Credentials {
    /// For targets given by flags only: credentials from the conventional environment
    /// variables, when set.
    pub fn from_env_defaults() -> Self {
        let env = |name: &str| format!("${{{name}:-}}");
        Self {
            api_key: Some(env("HARNESS_EVOLUTION_API_KEY")),
            instance: Some(env("HARNESS_EVOLUTION_INSTANCE")),
            instance_token: None,
            token: Some(env("HARNESS_META_TOKEN")),
            app_secret: Some(env("HARNESS_META_APP_SECRET")),
            verify_token: Some(env("HARNESS_META_VERIFY_TOKEN")),
            phone_number_id: Some(env("HARNESS_META_PHONE_NUMBER_ID")),
        }
    }
}
