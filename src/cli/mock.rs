//! `harness mock evolution|meta`: the flags of a standalone provider simulator.
//!
//! Why: an app developer points the app at the simulator instead of pairing a real phone or
//! using Meta's sandbox. Two stages as everywhere in the CLI: [`MockArgs`] (clap) only parses;
//! [`MockArgs::into_options`] resolves files and generated credentials into
//! [`MockOptions`], which `command::mock` serves. The start-up banner shows the credentials
//! generated for this run (nobody else knows them, and the app needs them); those the user
//! gave — flags or `HARNESS_*` variables — are shown as `***`: no secret of the user's reaches
//! the output.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::PathBuf;

use clap::Args;
use rand::Rng;

use super::credentials::CredentialArgs;
pub use crate::command::mock::MockOptions;
use crate::sim::bus::Simulator;
use crate::sim::faults::FaultProfile;

/// Serve a provider simulator until Ctrl-C.
#[derive(Debug, Clone, Args)]
#[command(
    after_help = "Control API: GET /__harness/outbound, POST /__harness/inbound, \
POST /__harness/faults, POST /__harness/reset (see docs/simulators.md)."
)]
pub struct MockArgs {
    /// The simulator: a WhatsApp provider (evolution, meta) or a dependency of the app
    /// (openai, payments).
    #[arg(value_enum)]
    pub provider: Simulator,
    /// Port to listen on (0 picks a free one) [default: 8080 evolution, 8081 meta, 8090
    /// openai, 8091 payments, 8092 http].
    #[arg(long)]
    pub port: Option<u16>,
    /// Address to bind (a warning is printed when it is not loopback).
    #[arg(long, default_value_t = IpAddr::V4(Ipv4Addr::LOCALHOST))]
    pub bind: IpAddr,
    /// The simulator's URL as the app reaches it (behind NAT, Docker, Kubernetes): media URLs,
    /// `server_url` and checkout links handed to the app start with it [default: the bind
    /// address].
    #[arg(long, value_name = "URL", value_parser = crate::scenario::targets::public_url)]
    pub public_url: Option<String>,
    /// Where the simulator delivers webhooks (Evolution: the global webhook; Meta: the app's
    /// callback URL).
    #[arg(long, env = "HARNESS_WEBHOOK_URL")]
    pub webhook_url: Option<String>,
    #[command(flatten)]
    pub credentials: CredentialArgs,
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
            Simulator::Evolution => 8080,
            Simulator::Meta => 8081,
            Simulator::Openai => 8090,
            Simulator::Payments => 8091,
            Simulator::Http => 8092,
        };
        let stubs = crate::command::mock_deps::read_stubs(
            self.provider == Simulator::Http,
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
        let c = self.credentials;
        let user_tokens = self.instances.iter().filter_map(|s| s.split_once(':'));
        for secret in [&c.api_key, &c.token, &c.app_secret, &c.verify_token]
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
            api_key: c.api_key.unwrap_or_else(|| match self.provider {
                Simulator::Openai => format!("sk-harness-{}", secret(32).to_lowercase()),
                _ => secret(32),
            }),
            rules,
            stubs,
            instances,
            token: c.token.unwrap_or_else(|| match self.provider {
                Simulator::Payments => format!("TEST-{}", secret(32).to_lowercase()),
                _ => format!("EAAH{}", secret(40)),
            }),
            app_secret: c.app_secret.unwrap_or_else(|| secret(32).to_lowercase()),
            verify_token: c.verify_token.unwrap_or_else(|| secret(16).to_lowercase()),
            phone_number_id: self.phone_number_id,
            app_id: self.app_id,
            waba_id: self.waba_id,
            faults,
            no_limits: self.no_limits,
            given,
            public_url: self.public_url,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cli::{Cli, Command};
    use crate::command::mock::start;
    use crate::sim::meta::MetaLimits;
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
