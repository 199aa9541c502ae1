//! `harness mock evolution|meta`: serve a provider simulator standalone until Ctrl-C.
//!
//! Why: an app developer points the app at the simulator instead of pairing a real phone or
//! using Meta's sandbox. Two stages as everywhere in the CLI: [`MockArgs`] (clap) only parses;
//! [`MockArgs::into_options`] resolves files and generated credentials into [`MockOptions`];
//! [`start`] turns those into a running simulator. The start-up banner shows the credentials
//! generated for this run (nobody else knows them, and the app needs them); those the user
//! gave — flags or `HARNESS_*` variables — are shown as `***`: no secret of the user's reaches
//! the output.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::PathBuf;

use anyhow::Context;
use clap::{Args, ValueEnum};
use rand::Rng;

use crate::sim::evolution::{self, EvolutionConfig, SeedInstance};
use crate::sim::faults::FaultProfile;
use crate::sim::meta::{self, MetaConfig, MetaLimits, PhoneNumber};
use crate::sim::SimHandle;

/// Which provider to simulate.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum MockProvider {
    /// Evolution API v2 (default port 8080, like the real server).
    Evolution,
    /// Meta WhatsApp Cloud API (default port 8081).
    Meta,
    /// OpenAI-compatible LLM API (default port 8090): replies from `--rules FILE`.
    Openai,
    /// MercadoPago-style payments API (default port 8091): notifications to `--webhook-url`.
    Payments,
    /// Any HTTP dependency from `--stubs FILE` (default port 8092).
    Http,
}

/// Serve a provider simulator until Ctrl-C.
#[derive(Debug, Clone, Args)]
#[command(
    after_help = "Control API: GET /__harness/outbound, POST /__harness/inbound, \
POST /__harness/faults, POST /__harness/reset (see docs/simulators.md)."
)]
pub struct MockArgs {
    /// The provider to simulate.
    #[arg(value_enum)]
    pub provider: MockProvider,
    /// Port to listen on (0 picks a free one) [default: 8080 evolution, 8081 meta].
    #[arg(long)]
    pub port: Option<u16>,
    /// Address to bind.
    #[arg(long, default_value_t = IpAddr::V4(Ipv4Addr::LOCALHOST))]
    pub bind: IpAddr,
    /// Where the simulator delivers webhooks (Evolution: the global webhook; Meta: the app's
    /// callback URL).
    #[arg(long, env = "HARNESS_WEBHOOK_URL")]
    pub webhook_url: Option<String>,
    /// Evolution global apikey; openai: the bearer key the app sends (generated when absent).
    #[arg(long, env = "HARNESS_EVOLUTION_API_KEY", hide_env_values = true)]
    pub api_key: Option<String>,
    /// openai: the rules file (replies, transcripts, fallback, rate limit; see
    /// docs/dependencies.md).
    #[arg(long, value_name = "FILE")]
    pub rules: Option<PathBuf>,
    /// http: the stubs file (routes, matchers, responses, scenarios; see
    /// docs/dependencies.md). Required for `http`.
    #[arg(long, value_name = "FILE")]
    pub stubs: Option<PathBuf>,
    /// Evolution: an instance that exists, paired (`open`), at start: NAME or NAME:TOKEN.
    /// Repeatable.
    #[arg(long = "instance", value_name = "NAME[:TOKEN]")]
    pub instances: Vec<String>,
    /// Meta access token; payments: the access token (generated when absent).
    #[arg(long, env = "HARNESS_META_TOKEN", hide_env_values = true)]
    pub token: Option<String>,
    /// Meta app secret, the key of `X-Hub-Signature-256`; payments: the secret signature, the
    /// key of `x-signature` (generated when absent).
    #[arg(long, env = "HARNESS_META_APP_SECRET", hide_env_values = true)]
    pub app_secret: Option<String>,
    /// Meta `hub.verify_token` for the verification handshake (generated when absent).
    #[arg(long, env = "HARNESS_META_VERIFY_TOKEN", hide_env_values = true)]
    pub verify_token: Option<String>,
    /// Meta phone-number-id of the simulated business number.
    #[arg(long)]
    pub phone_number_id: Option<String>,
    /// Meta app id (`/{app-id}/subscriptions`, `/{app-id}/uploads`, app tokens), so an app
    /// configured with its real ids runs unchanged [default: 1234567890123456].
    #[arg(long)]
    pub app_id: Option<String>,
    /// Meta WhatsApp Business Account id (`/{waba-id}/…`, `entry[].id` of webhooks)
    /// [default: 102290129340398].
    #[arg(long)]
    pub waba_id: Option<String>,
    /// Fault profile (YAML or JSON), e.g. mocks/faults/evolution-flaky.yaml.
    #[arg(long, value_name = "FILE")]
    pub faults: Option<PathBuf>,
    /// Meta: no throughput (130429) or pair-rate (131056) limit and no 24-hour service window,
    /// e.g. to measure the simulator's own ceiling.
    #[arg(long)]
    pub no_limits: bool,
}

/// Resolved options of `harness mock`.
#[derive(Debug, Clone)]
pub struct MockOptions {
    pub provider: MockProvider,
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
    pub rules: Option<(PathBuf, crate::sim::openai::Rules)>,
    /// http: the stubs file, read.
    pub stubs: Option<(PathBuf, crate::sim::stubs::StubsFile)>,
    /// The credentials the user gave (masked in the banner); generated ones are not in it.
    pub given: crate::redact::Redactor,
}

/// A random upper-case hex secret of `n` characters.
fn secret(n: usize) -> String {
    let mut rng = rand::rng();
    (0..n)
        .map(|_| char::from(b"0123456789ABCDEF"[rng.random_range(0..16)]))
        .collect()
}

impl MockArgs {
    /// Reads the fault file and fills in generated credentials.
    pub fn into_options(self) -> anyhow::Result<MockOptions> {
        let faults = match &self.faults {
            Some(path) => FaultProfile::load(path)?,
            None => FaultProfile::default(),
        };
        let default_port = match self.provider {
            MockProvider::Evolution => 8080,
            MockProvider::Meta => 8081,
            MockProvider::Openai => 8090,
            MockProvider::Payments => 8091,
            MockProvider::Http => 8092,
        };
        let stubs = super::mock_deps::read_stubs(
            self.provider == MockProvider::Http,
            self.stubs.as_deref(),
        )?;
        let rules = match &self.rules {
            Some(path) => Some((path.clone(), crate::sim::openai::Rules::load(path)?)),
            None => None,
        };
        let instances = self
            .instances
            .iter()
            .map(|spec| match spec.split_once(':') {
                Some((name, token)) if !name.is_empty() && !token.is_empty() => {
                    Ok((name.to_string(), token.to_string()))
                }
                None if !spec.is_empty() => Ok((spec.clone(), secret(32))),
                _ => anyhow::bail!("--instance {spec:?}: expected NAME or NAME:TOKEN"),
            })
            .collect::<anyhow::Result<Vec<_>>>()?;
        let given = crate::redact::Redactor::new();
        let user_tokens = self.instances.iter().filter_map(|s| s.split_once(':'));
        for secret in [
            &self.api_key,
            &self.token,
            &self.app_secret,
            &self.verify_token,
        ]
        .into_iter()
        .flatten()
        .map(String::as_str)
        .chain(user_tokens.map(|(_, token)| token))
        {
            given.add(secret);
        }
        Ok(MockOptions {
            provider: self.provider,
            addr: SocketAddr::new(self.bind, self.port.unwrap_or(default_port)),
            webhook_url: self.webhook_url,
            api_key: self.api_key.unwrap_or_else(|| match self.provider {
                MockProvider::Openai => format!("sk-harness-{}", secret(32).to_lowercase()),
                _ => secret(32),
            }),
            rules,
            stubs,
            instances,
            token: self.token.unwrap_or_else(|| match self.provider {
                MockProvider::Payments => format!("TEST-{}", secret(32).to_lowercase()),
                _ => format!("EAAH{}", secret(40)),
            }),
            app_secret: self.app_secret.unwrap_or_else(|| secret(32).to_lowercase()),
            verify_token: self
                .verify_token
                .unwrap_or_else(|| secret(16).to_lowercase()),
            phone_number_id: self.phone_number_id,
            app_id: self.app_id,
            waba_id: self.waba_id,
            faults,
            no_limits: self.no_limits,
            given,
        })
    }
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
            ..EvolutionConfig::default()
        }
    }

    pub fn payments_config(&self) -> crate::sim::payments::PaymentsConfig {
        crate::sim::payments::PaymentsConfig {
            access_token: self.token.clone(),
            webhook_secret: self.app_secret.clone(),
            notification_url: self.webhook_url.clone(),
            faults: self.faults.clone(),
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
            MockProvider::Evolution => {
                let mut s = format!(
                    "Evolution API v2 simulator on {base_url}\n  apikey (global): {}\n  webhook (global): {hook}\n",
                    self.api_key
                );
                for (name, token) in &self.instances {
                    s.push_str(&format!("  instance {name} (open), apikey {token}\n"));
                }
                s
            }
            MockProvider::Meta => {
                let config = self.meta_config();
                let ids: Vec<String> = config.phone_numbers.iter().map(|p| p.id.clone()).collect();
                format!(
                    "Meta Cloud API simulator on {base_url}\n  access token: {}\n  app secret: {}\n  verify token: {}\n  app id: {}\n  waba id: {}\n  phone-number-id: {}\n  webhook: {hook}\n",
                    self.token, self.app_secret, self.verify_token, config.app_id, config.waba_id, ids.join(", ")
                )
            }
            MockProvider::Openai => {
                super::mock_deps::openai_banner(&self.api_key, self.rules.as_ref(), base_url)
            }
            MockProvider::Payments => {
                super::mock_deps::payments_banner(&self.payments_config(), base_url)
            }
            MockProvider::Http => super::mock_deps::stubs_banner(self.stubs.as_ref(), base_url),
        }
    }
}

/// Binds and starts the simulator; returns it and the start-up banner.
pub async fn start(opts: &MockOptions) -> anyhow::Result<(SimHandle, String)> {
    let listener = tokio::net::TcpListener::bind(opts.addr)
        .await
        .with_context(|| format!("cannot listen on {}", opts.addr))?;
    let handle = match opts.provider {
        MockProvider::Evolution => evolution::start(opts.evolution_config(), listener).await,
        MockProvider::Meta => meta::start(opts.meta_config(), listener).await,
        MockProvider::Openai => {
            let config =
                super::mock_deps::openai_config(&opts.api_key, opts.rules.as_ref(), &opts.faults);
            crate::sim::openai::start(config, listener).await
        }
        MockProvider::Payments => {
            crate::sim::payments::start(opts.payments_config(), listener).await
        }
        MockProvider::Http => {
            let (_, file) = opts.stubs.clone().context("--stubs FILE is required")?;
            crate::sim::stubs::start(file, opts.faults.clone(), listener).await
        }
    }
    .context("cannot start the simulator")?;
    let mut banner = opts.banner(&handle.base_url);
    banner.push_str(&format!(
        "  control API: {}/__harness/ (outbound, inbound, faults, reset)\nCtrl-C stops.",
        handle.base_url
    ));
    Ok((handle, banner))
}

/// `harness mock`: runs until Ctrl-C.
pub async fn run(args: MockArgs) -> anyhow::Result<()> {
    let opts = args.into_options()?;
    let (handle, banner) = start(&opts).await?;
    crate::command::out::println(&banner);
    tokio::signal::ctrl_c()
        .await
        .context("cannot listen for Ctrl-C")?;
    tracing::info!("shutting down");
    handle.shutdown().await;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cli::{Cli, Command};
    use clap::Parser;

    fn args(argv: &[&str]) -> MockArgs {
        let mut full = vec!["harness", "mock"];
        full.extend_from_slice(argv);
        match Cli::try_parse_from(full).unwrap().command {
            Command::Mock(a) => a,
            #[allow(unreachable_patterns)]
            _ => panic!("not mock"),
        }
    }

    #[test]
    fn defaults_bind_loopback_and_generate_credentials() {
        let o = args(&["evolution"]).into_options().unwrap();
        assert_eq!(o.addr, "127.0.0.1:8080".parse().unwrap());
        assert_eq!(o.api_key.len(), 32);
        let m = args(&["meta"]).into_options().unwrap();
        assert_eq!(m.addr.port(), 8081);
        assert!(m.token.starts_with("EAAH"));
        assert_ne!(m.app_secret, o.app_secret);
    }

    #[test]
    fn flags_map_to_the_simulator_configs() {
        let o = args(&[
            "evolution",
            "--port",
            "0",
            "--bind",
            "0.0.0.0",
            "--api-key",
            "K",
            "--webhook-url",
            "http://app/hook",
            "--instance",
            "a:TA",
            "--instance",
            "b",
        ])
        .into_options()
        .unwrap();
        let c = o.evolution_config();
        assert_eq!(c.api_key, "K");
        assert_eq!(c.global_webhook_url.as_deref(), Some("http://app/hook"));
        assert_eq!(c.instances[0].token, "TA");
        assert_eq!(c.instances[1].name, "b");
        assert_eq!(c.instances[1].token.len(), 32);
        assert_eq!(o.addr, "0.0.0.0:0".parse().unwrap());
        let m = args(&[
            "meta",
            "--token",
            "T",
            "--app-secret",
            "S",
            "--verify-token",
            "V",
            "--phone-number-id",
            "42",
        ])
        .into_options()
        .unwrap()
        .meta_config();
        assert_eq!(
            (
                m.token.as_str(),
                m.app_secret.as_str(),
                m.verify_token.as_str()
            ),
            ("T", "S", "V")
        );
        assert_eq!(m.phone_numbers[0].id, "42");
        assert!(args(&["evolution", "--instance", ":x"])
            .into_options()
            .is_err());
    }

    #[test]
    fn meta_limits_and_handshake_flags() {
        let m = args(&["meta"]).into_options().unwrap().meta_config();
        assert_eq!(m.limits, MetaLimits::default());
        assert!(!m.verify_on_start);
        let m = args(&["meta", "--no-limits", "--webhook-url", "http://app/hook"])
            .into_options()
            .unwrap()
            .meta_config();
        assert_eq!(m.limits, MetaLimits::unlimited());
        assert!(
            m.verify_on_start,
            "a URL given on the command line is verified"
        );
    }

    #[test]
    fn fault_file_is_loaded_and_a_bad_one_is_a_clear_error() {
        let dir = tempfile::tempdir().unwrap();
        let good = dir.path().join("f.yaml");
        std::fs::write(
            &good,
            "rules:\n  - endpoint: /message/*\n    reset_rate: 0.5\n",
        )
        .unwrap();
        let o = args(&["evolution", "--faults", good.to_str().unwrap()])
            .into_options()
            .unwrap();
        assert_eq!(o.faults.rules[0].reset_rate, 0.5);
        let missing = dir.path().join("nope.yaml");
        let err = args(&["evolution", "--faults", missing.to_str().unwrap()])
            .into_options()
            .unwrap_err();
        assert!(format!("{err:#}").contains("nope.yaml"), "{err:#}");
    }

    #[tokio::test]
    async fn start_serves_both_simulators_and_prints_credentials() {
        for provider in ["evolution", "meta", "openai", "payments"] {
            let o = args(&[provider, "--port", "0", "--instance", "a:TA"])
                .into_options()
                .unwrap();
            let (handle, banner) = start(&o).await.unwrap();
            assert!(banner.contains(&handle.base_url), "{banner}");
            let health = reqwest::get(format!("{}/__harness/health", handle.base_url))
                .await
                .unwrap();
            assert_eq!(health.status(), 200);
            let body: serde_json::Value = health.json().await.unwrap();
            assert_eq!(body["provider"], provider);
            handle.shutdown().await;
        }
    }
}
