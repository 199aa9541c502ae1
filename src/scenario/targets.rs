//! The model of `harness.yaml`'s targets (the file is read by `parse::parse_targets`, with the
//! scenario files' machinery); `crate::target` resolves them against the environment and flags.

use super::ProviderKind;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProviderMode {
    Real,
    Simulated,
}

impl ProviderMode {
    pub const ALL: [ProviderMode; 2] = [ProviderMode::Real, ProviderMode::Simulated];

    /// The name in `harness.yaml` (`mode:`) and in reports.
    pub fn as_str(self) -> &'static str {
        match self {
            ProviderMode::Real => "real",
            ProviderMode::Simulated => "simulated",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|m| m.as_str() == s)
    }
}

/// Provider credentials, as templates (typically `${ENV_VAR}`), rendered at resolution.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Credentials {
    /// Evolution global `apikey`.
    pub api_key: Option<String>,
    /// Evolution instance name the scenarios use by default.
    pub instance: Option<String>,
    /// Evolution: that instance's own token, when `instance` was given as `NAME:TOKEN`
    /// (e.g. `HARNESS_EVOLUTION_INSTANCE=clinica:tok`); a simulator started here gives the
    /// instance this token.
    pub instance_token: Option<String>,
    /// Meta: access token, app secret (webhook signatures), verify token, phone-number-id.
    pub token: Option<String>,
    pub app_secret: Option<String>,
    pub verify_token: Option<String>,
    pub phone_number_id: Option<String>,
}

/// A target as declared (in `harness.yaml` or by flags), before rendering.
#[derive(Debug, Clone, PartialEq)]
pub struct TargetSpec {
    pub name: String,
    pub app_url: Option<String>,
    /// Where the provider delivers webhooks; default: the reference app's path under `app_url`.
    pub webhook_url: Option<String>,
    pub provider: ProviderKind,
    pub mode: ProviderMode,
    pub provider_url: Option<String>,
    pub credentials: Credentials,
    /// `dependencies:` — per name, whether the scenario's dependency of that name is
    /// simulated here or real (and where).
    pub dependencies: Vec<TargetDependency>,
}

/// A target's word on one dependency of the scenarios it runs.
#[derive(Debug, Clone, PartialEq)]
pub struct TargetDependency {
    pub name: String,
    pub mode: ProviderMode,
    /// Real: its base URL (a template). Simulated: a simulator already running there
    /// (`harness mock openai --port …`), so nothing is started.
    pub url: Option<String>,
    /// The key the app uses with a real or already-running dependency (a template, a secret).
    pub api_key: Option<String>,
    /// Simulated and started here: the port (0 or absent: a free one).
    pub port: Option<u16>,
}
