//! The embedded default: with no provider URL configured, the harness starts the provider's
//! simulator on loopback, and, with no app URL either, the bundled reference booking app
//! wired to it, so `harness run smoke` works on a fresh machine with nothing else running.
//!
//! Both sides need each other's address (the app sends to the simulator; the simulator
//! delivers webhooks to the app), so both listeners are bound first, then both servers start.
//! Credentials are generated per run and registered with the redactor.

use anyhow::Context;
use tokio::net::TcpListener;

use crate::app::{self, AppConfig, AppHandle, TenantConfig};
use crate::redact::Redactor;
use crate::scenario::ProviderKind;
use crate::sim::{self, SimHandle};
use crate::target::{Credentials, ProviderMode, Target};

/// Evolution instances (tenants) of the embedded default; the first is `provider.instance`.
pub const EVOLUTION_INSTANCES: &[&str] = &[
    "clinica-centro",
    "clinica-norte",
    "clinica-sur",
    "clinica-este",
    "clinica-oeste",
];

/// Meta phone numbers (id, display number) of the embedded default.
pub const META_NUMBERS: &[(&str, &str)] = &[
    ("106540352242922", "15550783881"),
    ("106540352242923", "15550783882"),
    ("106540352242924", "15550783883"),
];

/// The running simulator (and app) of a run.
pub struct Embedded {
    pub provider: ProviderKind,
    pub sim: SimHandle,
    pub app: Option<AppHandle>,
    credentials: Credentials,
}

impl Embedded {
    /// Starts what `target` leaves unset: nothing for a real or remote provider.
    pub async fn start_for(
        target: &Target,
        redactor: &Redactor,
    ) -> anyhow::Result<Option<Embedded>> {
        if target.spec.mode != ProviderMode::Simulated || target.provider_url.is_some() {
            return Ok(None);
        }
        let with_app = target.app_url.is_none();
        let e = Self::start(
            target.spec.provider,
            with_app,
            target.app_url.clone(),
            redactor,
        )
        .await?;
        Ok(Some(e))
    }

    /// Starts the simulator of `provider` and, when `with_app`, the reference app; else the
    /// simulator delivers webhooks to `app_url`.
    pub async fn start(
        provider: ProviderKind,
        with_app: bool,
        app_url: Option<String>,
        redactor: &Redactor,
    ) -> anyhow::Result<Embedded> {
        let loopback = "127.0.0.1:0";
        let sim_listener = TcpListener::bind(loopback)
            .await
            .context("cannot bind the simulator's port")?;
        let app_listener = match with_app {
            true => Some(
                TcpListener::bind(loopback)
                    .await
                    .context("cannot bind the reference app's port")?,
            ),
            false => None,
        };
        let sim_url = format!("http://{}", sim_listener.local_addr()?);
        let app_base = match &app_listener {
            Some(l) => Some(format!("http://{}", l.local_addr()?)),
            None => app_url.map(|u| u.trim_end_matches('/').to_string()),
        };
        let secret = || uuid::Uuid::new_v4().simple().to_string().to_uppercase();
        let credentials = match provider {
            ProviderKind::Evolution => Credentials {
                api_key: Some(secret()),
                instance: Some(EVOLUTION_INSTANCES[0].to_string()),
                ..Credentials::default()
            },
            ProviderKind::Meta => Credentials {
                token: Some(format!("EAAH{}", secret())),
                app_secret: Some(secret().to_lowercase()),
                verify_token: Some(secret()),
                phone_number_id: Some(META_NUMBERS[0].0.to_string()),
                ..Credentials::default()
            },
        };
        let secrets = [
            &credentials.api_key,
            &credentials.token,
            &credentials.app_secret,
            &credentials.verify_token,
        ];
        for s in secrets.into_iter().flatten() {
            redactor.add(s);
        }
        let sim = start_sim(provider, &credentials, sim_listener, app_base.as_deref()).await?;
        let app = match app_listener {
            Some(listener) => Some(start_app(provider, &credentials, &sim_url, listener).await?),
            None => None,
        };
        Ok(Embedded {
            provider,
            sim,
            app,
            credentials,
        })
    }

    /// `resolved` with the simulator's URL and credentials (and the app's URL) filled in.
    pub fn target(&self, resolved: &Target) -> Target {
        let mut t = resolved.clone();
        t.provider_url = Some(self.sim.base_url.clone());
        t.credentials = self.credentials.clone();
        if let Some(app) = &self.app {
            t.app_url = Some(app.base_url.clone());
        }
        t
    }

    pub async fn shutdown(self) {
        if let Some(app) = self.app {
            app.shutdown().await;
        }
        self.sim.shutdown().await;
    }
}

/// The per-instance token of an embedded Evolution instance (not a secret: it only opens the
/// simulator of this run; scenarios use the global key or capture tokens they create).
fn instance_token(name: &str) -> String {
    format!("{}-TOKEN", name.to_uppercase())
}

async fn start_sim(
    provider: ProviderKind,
    c: &Credentials,
    listener: TcpListener,
    app_url: Option<&str>,
) -> anyhow::Result<SimHandle> {
    let handle = match provider {
        ProviderKind::Evolution => {
            let webhook = app_url.map(|u| format!("{u}{}", app::server::EVOLUTION_WEBHOOK_PATH));
            let mut config = sim::evolution::EvolutionConfig {
                api_key: c.api_key.clone().unwrap_or_default(),
                ..Default::default()
            };
            config.instances = EVOLUTION_INSTANCES
                .iter()
                .map(|name| {
                    sim::evolution::SeedInstance::open(
                        name,
                        &instance_token(name),
                        webhook.as_deref(),
                    )
                })
                .collect();
            sim::evolution::start(config, listener).await
        }
        ProviderKind::Meta => {
            let webhook = app_url.map(|u| format!("{u}{}", app::server::META_WEBHOOK_PATH));
            let config = sim::meta::MetaConfig {
                token: c.token.clone().unwrap_or_default(),
                app_secret: c.app_secret.clone().unwrap_or_default(),
                verify_token: c.verify_token.clone().unwrap_or_default(),
                phone_numbers: META_NUMBERS
                    .iter()
                    .map(|(id, display)| sim::meta::PhoneNumber::new(*id, *display))
                    .collect(),
                webhook_url: webhook,
                ..Default::default()
            };
            sim::meta::start(config, listener).await
        }
    };
    handle.with_context(|| format!("cannot start the {} simulator", provider.name()))
}

async fn start_app(
    provider: ProviderKind,
    c: &Credentials,
    sim_url: &str,
    listener: TcpListener,
) -> anyhow::Result<AppHandle> {
    let credential = match provider {
        ProviderKind::Evolution => c.api_key.clone(),
        ProviderKind::Meta => c.token.clone(),
    };
    let mut config = AppConfig::new(provider, sim_url, credential.unwrap_or_default());
    config.tenants = match provider {
        ProviderKind::Evolution => EVOLUTION_INSTANCES
            .iter()
            .map(|i| TenantConfig {
                id: i.to_string(),
                token: None,
            })
            .collect(),
        ProviderKind::Meta => META_NUMBERS
            .iter()
            .map(|(id, _)| TenantConfig {
                id: id.to_string(),
                token: None,
            })
            .collect(),
    };
    config.app_secret = c.app_secret.clone();
    config.verify_token = c.verify_token.clone();
    app::start(config, listener)
        .await
        .context("cannot start the reference app")
}
