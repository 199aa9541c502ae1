//! `harness mock`: serves a provider simulator standalone until Ctrl-C, from the options
//! `cli::mock` resolved.

use std::net::SocketAddr;

use anyhow::Context;

use crate::sim::bus::Simulator;
use crate::sim::evolution::{self, EvolutionConfig, SeedInstance};
use crate::sim::faults::FaultProfile;
use crate::sim::meta::{self, MetaConfig, MetaLimits, PhoneNumber};
use crate::sim::SimHandle;

/// Resolved options of `harness mock`.
#[derive(Debug, Clone)]
pub struct MockOptions {
    pub provider: Simulator,
    pub addr: SocketAddr,
    pub webhook_url: Option<String>,
    pub api_key: String,
    /// (name, token) of instances open at start.
    pub instances: Vec<(String, String)>,
    pub token: String,
    pub app_secret: String,
    pub verify_token: String,
    pub phone_number_id: Option<String>,
    pub app_id: Option<String>,
    pub waba_id: Option<String>,
    pub faults: FaultProfile,
    /// Meta: lift the sending limits.
    pub no_limits: bool,
    /// openai: the rules file, read.
    pub rules: Option<(std::path::PathBuf, crate::sim::openai::Rules)>,
    /// http: the stubs file, read.
    pub stubs: Option<(std::path::PathBuf, crate::sim::stubs::StubsFile)>,
    /// The credentials the user gave (masked in the banner); generated ones are not in it.
    pub given: crate::redact::Redactor,
    /// `--public-url`: the simulator's URL as the app reaches it (media URLs, links).
    pub public_url: Option<String>,
}

impl MockOptions {
    pub fn evolution_config(&self) -> EvolutionConfig {
        EvolutionConfig {
            api_key: self.api_key.clone(),
            global_webhook_url: self.webhook_url.clone(),
            instances: self
                .instances
                .iter()
                .map(|(name, token)| SeedInstance::open(name, token, None))
                .collect(),
            faults: self.faults.clone(),
            server_url: self.public_url.clone(),
            ..EvolutionConfig::default()
        }
    }

    pub fn payments_config(&self) -> crate::sim::payments::PaymentsConfig {
        crate::sim::payments::PaymentsConfig {
            access_token: self.token.clone(),
            webhook_secret: self.app_secret.clone(),
            notification_url: self.webhook_url.clone(),
            faults: self.faults.clone(),
            public_url: self.public_url.clone(),
            ..Default::default()
        }
    }

    pub fn meta_config(&self) -> MetaConfig {
        let mut config = MetaConfig {
            token: self.token.clone(),
            app_secret: self.app_secret.clone(),
            verify_token: self.verify_token.clone(),
            webhook_url: self.webhook_url.clone(),
            faults: self.faults.clone(),
            // Giving the URL on the command line is registering it: Meta verifies it first
            // (in the background here; the outcome is logged).
            verify_on_start: self.webhook_url.is_some(),
            public_url: self.public_url.clone(),
            ..MetaConfig::default()
        };
        if self.no_limits {
            config.limits = MetaLimits::unlimited();
        }
        if let Some(id) = &self.app_id {
            config.app_id = id.clone();
        }
        if let Some(id) = &self.waba_id {
            config.waba_id = id.clone();
        }
        if let Some(id) = &self.phone_number_id {
            let display = config
                .phone_numbers
                .first()
                .map(|p| p.display_phone_number.clone())
                .unwrap_or_else(|| "15550783881".into());
            config.phone_numbers = vec![PhoneNumber::new(id.clone(), display)];
        }
        config
    }

    /// What the user needs to point an app at the simulator; the credentials the user gave
    /// are masked (they know them).
    fn banner(&self, base_url: &str) -> String {
        self.given.redact(&self.banner_unmasked(base_url))
    }

    fn banner_unmasked(&self, base_url: &str) -> String {
        let hook = self
            .webhook_url
            .as_deref()
            .unwrap_or("(none; set one with --webhook-url)");
        match self.provider {
            Simulator::Evolution => {
                let mut s = format!(
                    "Evolution API v2 simulator on {base_url}\n  apikey (global): {}\n  webhook (global): {hook}\n",
                    self.api_key
                );
                for (name, token) in &self.instances {
                    s.push_str(&format!("  instance {name} (open), apikey {token}\n"));
                }
                s
            }
            Simulator::Meta => {
                let config = self.meta_config();
                let ids: Vec<String> = config.phone_numbers.iter().map(|p| p.id.clone()).collect();
                format!(
                    "Meta Cloud API simulator on {base_url}\n  access token: {}\n  app secret: {}\n  verify token: {}\n  app id: {}\n  waba id: {}\n  phone-number-id: {}\n  webhook: {hook}\n",
                    self.token, self.app_secret, self.verify_token, config.app_id, config.waba_id, ids.join(", ")
                )
            }
            Simulator::Openai => {
                super::mock_deps::openai_banner(&self.api_key, self.rules.as_ref(), base_url)
            }
            Simulator::Payments => {
                super::mock_deps::payments_banner(&self.payments_config(), base_url)
            }
            Simulator::Http => super::mock_deps::stubs_banner(self.stubs.as_ref(), base_url),
        }
    }
}

/// Warns on standard error when a listener is bound beyond loopback (`--bind 0.0.0.0`): the
/// simulators and their control API have no authentication worth the name.
pub(super) fn warn_if_exposed(addr: SocketAddr) {
    if !addr.ip().is_loopback() {
        super::out::eprintln(format_args!(
            "warning: listening on {addr}, beyond loopback: anyone who can reach this address can drive the simulator and its control API (/__harness/); bind 127.0.0.1 unless the app runs on another host"
        ));
    }
}

/// Binds and starts the simulator; returns it and the start-up banner.
pub async fn start(opts: &MockOptions) -> anyhow::Result<(SimHandle, String)> {
    let listener = tokio::net::TcpListener::bind(opts.addr)
        .await
        .with_context(|| format!("cannot listen on {}", opts.addr))?;
    warn_if_exposed(opts.addr);
    let handle = match opts.provider {
        Simulator::Evolution => evolution::start(opts.evolution_config(), listener).await,
        Simulator::Meta => meta::start(opts.meta_config(), listener).await,
        Simulator::Openai => {
            let config =
                super::mock_deps::openai_config(&opts.api_key, opts.rules.as_ref(), &opts.faults);
            crate::sim::openai::start(config, listener).await
        }
        Simulator::Payments => crate::sim::payments::start(opts.payments_config(), listener).await,
        Simulator::Http => {
            let (_, file) = opts.stubs.clone().context("--stubs FILE is required")?;
            crate::sim::stubs::start(file, opts.faults.clone(), listener).await
        }
    }
    .context("cannot start the simulator")?;
    let advertised = opts.public_url.as_deref().unwrap_or(&handle.base_url);
    let mut banner = opts.banner(advertised);
    if opts.public_url.is_some() {
        banner.push_str(&format!("  listening on {}\n", handle.base_url));
    }
    banner.push_str(&format!(
        "  control API: {}/__harness/ (outbound, inbound, faults, reset)\nCtrl-C stops.",
        handle.base_url
    ));
    Ok((handle, banner))
}

/// `harness mock`: runs until Ctrl-C.
pub async fn run(opts: MockOptions) -> anyhow::Result<()> {
    let (handle, banner) = start(&opts).await?;
    super::out::println(&banner);
    tokio::signal::ctrl_c()
        .await
        .context("cannot listen for Ctrl-C")?;
    tracing::info!("shutting down");
    handle.shutdown().await;
    Ok(())
}
