//! The embedded default: with no provider URL configured, the harness starts the provider's
//! simulator on loopback, and, with no app URL either, the bundled reference booking app
//! wired to it, so `harness run smoke` works on a fresh machine with nothing else running.
//!
//! Both sides need each other's address (the app sends to the simulator; the simulator
//! delivers webhooks to the app), so both listeners are bound first, then both servers start.
//! Credentials are generated per run and registered with the redactor.

use anyhow::Context;
use tokio::net::TcpListener;

use crate::app::{self, AppConfig, AppDependencies, AppHandle, TenantConfig};
use crate::redact::Redactor;
use crate::scenario::ProviderKind;
use crate::sim::network::Network;
use crate::sim::{self, SimHandle};
use crate::target::{Credentials, DeviceSpec, ProviderMode, Target};

/// The instance of the simulated customer device (`customer_device: { simulated: true }`).
pub const DEVICE_INSTANCE: &str = "customer-device";

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
    /// The simulated customer device: its Evolution simulator, and the device as a target
    /// names it.
    device: Option<(SimHandle, DeviceSpec)>,
}

/// Where the embedded simulator listens (`--sim-port`, `--bind`) and the URL the app reaches
/// it at (`--public-url`, `public_url:` of the target): what the bundled app is given as the
/// provider's URL, and what media URLs and `server_url` handed to an app start with.
#[derive(Debug, Clone, Default)]
pub struct Listen {
    pub port: Option<u16>,
    /// Default: 127.0.0.1.
    pub bind: Option<std::net::IpAddr>,
    pub public_url: Option<String>,
}

impl From<Option<u16>> for Listen {
    fn from(port: Option<u16>) -> Self {
        Listen {
            port,
            ..Listen::default()
        }
    }
}

/// Who receives the simulator's webhooks.
#[derive(Debug, Clone)]
pub enum AppSide {
    /// The bundled reference app, started here.
    Bundled,
    /// An app running elsewhere, at this webhook URL (or none: webhooks are not delivered).
    External(Option<String>),
}

impl Embedded {
    /// Starts what `target` leaves unset: nothing for a real or remote provider. The simulator
    /// listens on `sim_port` when given (else a random port); credentials the target has
    /// (from the environment) are kept, so an app configured with them can call it.
    /// `deps`: the app's other dependencies, handed to the bundled app.
    pub async fn start_for(
        target: &Target,
        listen: impl Into<Listen>,
        redactor: &Redactor,
        deps: AppDependencies,
    ) -> anyhow::Result<Option<Embedded>> {
        if target.spec.mode != ProviderMode::Simulated || target.provider_url.is_some() {
            return Ok(None);
        }
        let app = match target.app_url {
            None => AppSide::Bundled,
            Some(_) => AppSide::External(target.webhook_url()),
        };
        let side = (app, deps);
        let listen: Listen = listen.into();
        let simulated_device = target
            .spec
            .customer_device
            .as_ref()
            .is_some_and(|d| d.simulated);
        let network = simulated_device.then(Network::new);
        let (provider, given) = (target.spec.provider, &target.credentials);
        let mut e = Self::start_inner(
            provider,
            listen.clone(),
            side,
            given,
            redactor,
            network.clone(),
        )
        .await?;
        if let Some(network) = network {
            let declared = target.spec.customer_device.as_ref();
            let business = declared.and_then(|d| d.business_number.clone());
            e.device = Some(start_device(&e, &listen, (network, business), redactor).await?);
        }
        Ok(Some(e))
    }

    /// Starts the simulator of `provider` (on `sim_port`, or a random port) and the app side.
    pub async fn start(
        provider: ProviderKind,
        listen: impl Into<Listen>,
        app: AppSide,
        given: &Credentials,
        redactor: &Redactor,
    ) -> anyhow::Result<Embedded> {
        let side = (app, AppDependencies::default());
        Self::start_with(provider, listen, side, given, redactor).await
    }

    /// [`Embedded::start`], the bundled app told its other dependencies.
    pub async fn start_with(
        provider: ProviderKind,
        listen: impl Into<Listen>,
        side: (AppSide, AppDependencies),
        given: &Credentials,
        redactor: &Redactor,
    ) -> anyhow::Result<Embedded> {
        Self::start_inner(provider, listen.into(), side, given, redactor, None).await
    }

    /// [`Embedded::start_with`], the simulator on `network` when given.
    async fn start_inner(
        provider: ProviderKind,
        listen: Listen,
        (app, deps): (AppSide, AppDependencies),
        given: &Credentials,
        redactor: &Redactor,
        network: Option<Network>,
    ) -> anyhow::Result<Embedded> {
        let bind = listen.bind.unwrap_or(std::net::Ipv4Addr::LOCALHOST.into());
        let sim_addr = std::net::SocketAddr::new(bind, listen.port.unwrap_or(0));
        let sim_listener = TcpListener::bind(sim_addr)
            .await
            .with_context(|| format!("cannot bind the simulator to {sim_addr}"))?;
        let app_listener = match app {
            AppSide::Bundled => Some(
                TcpListener::bind("127.0.0.1:0")
                    .await
                    .context("cannot bind the reference app's port")?,
            ),
            AppSide::External(_) => None,
        };
        let sim_url = match &listen.public_url {
            Some(url) => url.clone(),
            None => sim::url_of(sim_listener.local_addr()?),
        };
        let webhook_url = match (&app_listener, app) {
            (Some(l), _) => Some(format!(
                "http://{}{}",
                l.local_addr()?,
                webhook_path(provider)
            )),
            (None, AppSide::External(url)) => url,
            (None, AppSide::Bundled) => None,
        };
        let credentials = credentials(provider, given);
        let secrets = [
            &credentials.api_key,
            &credentials.instance_token,
            &credentials.token,
            &credentials.app_secret,
            &credentials.verify_token,
        ];
        for s in secrets.into_iter().flatten() {
            redactor.add(s);
        }
        let urls = (webhook_url, listen.public_url);
        // The bundled app's instances are subscribed to the events it handles; an app of
        // one's own to every event, as an empty `events` list subscribes it.
        let events = app_listener
            .is_some()
            .then_some(app::server::EVOLUTION_WEBHOOK_EVENTS);
        let sim = start_sim(provider, &credentials, sim_listener, urls, network, events).await?;
        let app = match app_listener {
            Some(listener) => {
                let mut config = app_config(provider, &credentials, &sim_url);
                config.dependencies = deps;
                Some(start_app(config, listener).await?)
            }
            None => None,
        };
        Ok(Embedded {
            provider,
            sim,
            app,
            credentials,
            device: None,
        })
    }

    /// `resolved` with the simulator's URL and credentials (and the app's URL) filled in.
    pub fn target(&self, resolved: &Target) -> Target {
        let mut t = resolved.clone();
        t.provider_url = Some(self.sim.base_url.clone());
        t.credentials = self.credentials.clone();
        t.tenants = tenants(self.provider, &self.credentials);
        if let Some(app) = &self.app {
            t.app_url = Some(app.base_url.clone());
        }
        if let Some((_, device)) = &self.device {
            t.device = Some(device.clone());
        }
        t
    }

    /// The credentials the simulator and the app use (given, or generated for this run).
    pub fn credentials(&self) -> &Credentials {
        &self.credentials
    }

    pub async fn shutdown(self) {
        if let Some(app) = self.app {
            app.shutdown().await;
        }
        if let Some((device, _)) = self.device {
            device.shutdown().await;
        }
        self.sim.shutdown().await;
    }
}

/// The per-instance token of an embedded Evolution instance (not a secret: it only opens the
/// simulator of this run; scenarios use the global key or capture tokens they create).
fn instance_token(name: &str) -> String {
    format!("{}-TOKEN", name.to_uppercase())
}

/// The reference app's webhook path for `provider`.
pub fn webhook_path(provider: ProviderKind) -> &'static str {
    match provider {
        ProviderKind::Evolution => app::server::EVOLUTION_WEBHOOK_PATH,
        ProviderKind::Meta => app::server::META_WEBHOOK_PATH,
    }
}

/// The given credentials, completed with values generated for this run.
fn credentials(provider: ProviderKind, given: &Credentials) -> Credentials {
    let secret = || uuid::Uuid::new_v4().simple().to_string().to_uppercase();
    let or = |v: &Option<String>, f: &dyn Fn() -> String| Some(v.clone().unwrap_or_else(f));
    match provider {
        ProviderKind::Evolution => Credentials {
            api_key: or(&given.api_key, &secret),
            instance: or(&given.instance, &|| EVOLUTION_INSTANCES[0].to_string()),
            instance_token: given.instance_token.clone(),
            ..Credentials::default()
        },
        ProviderKind::Meta => Credentials {
            token: or(&given.token, &|| format!("EAAH{}", secret())),
            app_secret: or(&given.app_secret, &|| secret().to_lowercase()),
            verify_token: or(&given.verify_token, &secret),
            phone_number_id: or(&given.phone_number_id, &|| META_NUMBERS[0].0.to_string()),
            ..Credentials::default()
        },
    }
}

/// The tenants of the run: the defaults, plus the target's own instance / phone number.
fn tenants(provider: ProviderKind, c: &Credentials) -> Vec<String> {
    let (mut list, own): (Vec<String>, _) = match provider {
        ProviderKind::Evolution => (
            EVOLUTION_INSTANCES.iter().map(|s| s.to_string()).collect(),
            &c.instance,
        ),
        ProviderKind::Meta => (
            META_NUMBERS.iter().map(|(id, _)| id.to_string()).collect(),
            &c.phone_number_id,
        ),
    };
    if let Some(own) = own.as_ref().filter(|o| !list.contains(o)) {
        list.push(own.clone());
    }
    list
}

async fn start_sim(
    provider: ProviderKind,
    c: &Credentials,
    listener: TcpListener,
    (webhook_url, public_url): (Option<String>, Option<String>),
    network: Option<Network>,
    events: Option<&[&str]>,
) -> anyhow::Result<SimHandle> {
    let tenants = tenants(provider, c);
    let handle = match provider {
        ProviderKind::Evolution => {
            let config = sim::evolution::EvolutionConfig {
                api_key: c.api_key.clone().unwrap_or_default(),
                instances: tenants
                    .iter()
                    .map(|name| {
                        // The target's own instance keeps the token it was given.
                        let token = match (&c.instance, &c.instance_token) {
                            (Some(own), Some(token)) if own == name => token.clone(),
                            _ => instance_token(name),
                        };
                        let seed = sim::evolution::SeedInstance::open(
                            name,
                            &token,
                            webhook_url.as_deref(),
                        );
                        match events {
                            Some(events) => seed.subscribed_to(events),
                            None => seed,
                        }
                    })
                    .collect(),
                server_url: public_url,
                network,
                ..Default::default()
            };
            sim::evolution::start(config, listener).await
        }
        ProviderKind::Meta => {
            let config = sim::meta::MetaConfig {
                token: c.token.clone().unwrap_or_default(),
                app_secret: c.app_secret.clone().unwrap_or_default(),
                verify_token: c.verify_token.clone().unwrap_or_default(),
                phone_numbers: tenants
                    .iter()
                    .enumerate()
                    .map(|(i, id)| sim::meta::PhoneNumber::new(id, meta_display(i)))
                    .collect(),
                webhook_url,
                public_url,
                network,
                ..Default::default()
            };
            sim::meta::start(config, listener).await
        }
    };
    handle.with_context(|| format!("cannot start the {} simulator", provider.name()))
}

/// The display number of the `i`-th embedded Meta phone number.
fn meta_display(i: usize) -> String {
    META_NUMBERS
        .get(i)
        .map_or_else(|| format!("1555078{:04}", 3881 + i), |n| n.1.to_string())
}

/// The app's business number in the embedded default: its Evolution instance's account, or
/// its Meta phone number's display number.
fn business_number(provider: ProviderKind, c: &Credentials) -> String {
    let own = tenants(provider, c);
    match provider {
        ProviderKind::Evolution => {
            sim::evolution::number_for(c.instance.as_deref().unwrap_or(EVOLUTION_INSTANCES[0]))
        }
        ProviderKind::Meta => {
            let id = c.phone_number_id.as_deref().unwrap_or(META_NUMBERS[0].0);
            meta_display(own.iter().position(|t| t == id).unwrap_or(0))
        }
    }
}

/// The simulated customer device: a second Evolution simulator, on `listen`'s address, with
/// one open instance that joins `network` (where the app's provider simulator is). It writes
/// to `business` when given, else to the app's number. Its own number is left for the
/// harness to read from it (`fetchInstances`), as from a real device.
async fn start_device(
    e: &Embedded,
    listen: &Listen,
    (network, business): (Network, Option<String>),
    redactor: &Redactor,
) -> anyhow::Result<(SimHandle, DeviceSpec)> {
    let bind = listen.bind.unwrap_or(std::net::Ipv4Addr::LOCALHOST.into());
    let listener = TcpListener::bind(std::net::SocketAddr::new(bind, 0))
        .await
        .context("cannot bind the simulated customer device")?;
    let api_key = uuid::Uuid::new_v4().simple().to_string().to_uppercase();
    redactor.add(&api_key);
    let config = sim::evolution::EvolutionConfig {
        api_key: api_key.clone(),
        instances: vec![sim::evolution::SeedInstance::open(
            DEVICE_INSTANCE,
            &instance_token(DEVICE_INSTANCE),
            None,
        )],
        network: Some(network),
        ..Default::default()
    };
    let handle = sim::evolution::start(config, listener)
        .await
        .context("cannot start the simulated customer device")?;
    let spec = DeviceSpec {
        url: Some(handle.base_url.clone()),
        instance: Some(DEVICE_INSTANCE.into()),
        api_key: Some(api_key),
        number: None,
        business_number: Some(
            business.unwrap_or_else(|| business_number(e.provider, &e.credentials)),
        ),
    };
    Ok((handle, spec))
}

fn app_config(provider: ProviderKind, c: &Credentials, sim_url: &str) -> AppConfig {
    let credential = match provider {
        ProviderKind::Evolution => c.api_key.clone(),
        ProviderKind::Meta => c.token.clone(),
    };
    let mut config = AppConfig::new(provider, sim_url, credential.unwrap_or_default());
    config.tenants = tenants(provider, c)
        .into_iter()
        .map(TenantConfig::new)
        .collect();
    config.app_secret = c.app_secret.clone();
    config.verify_token = c.verify_token.clone();
    config
}

async fn start_app(mut config: AppConfig, listener: TcpListener) -> anyhow::Result<AppHandle> {
    // The one place the embedded app's mishandling switch is read (docs/dependencies.md).
    config.mishandle = app::Mishandle::from_env().map_err(anyhow::Error::msg)?;
    app::start(config, listener)
        .await
        .context("cannot start the reference app")
}
