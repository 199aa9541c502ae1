//! The reference app's configuration: the provider it talks to, its tenants, and the other
//! services it calls (an OpenAI-compatible LLM, a PMS, a payments provider).

use super::outbox::RetryPolicy;
use crate::scenario::ProviderKind;

#[derive(Debug, Clone)]
pub struct TenantConfig {
    /// Evolution instance name or Meta phone-number-id.
    pub id: String,
    /// Meta: this phone number's own access token, if it has one.
    pub token: Option<String>,
    /// Send lists and reply buttons (`false`: their plain-text form, e.g. for an Evolution
    /// number whose customers' phones do not show them).
    pub interactive: bool,
}

impl TenantConfig {
    /// A tenant with interactive replies and the default token.
    pub fn new(id: impl Into<String>) -> Self {
        Self {
            id: id.into(),
            token: None,
            interactive: true,
        }
    }
}

#[derive(Debug, Clone)]
pub struct AppConfig {
    pub provider: ProviderKind,
    /// The provider's base URL, no trailing slash.
    pub provider_url: String,
    /// Evolution global `apikey`, or the Meta access token.
    pub credential: String,
    pub tenants: Vec<TenantConfig>,
    /// Meta: the app secret that signs webhooks.
    pub app_secret: Option<String>,
    /// Meta: the token expected in the GET verification handshake.
    pub verify_token: Option<String>,
    pub graph_version: String,
    /// `false` makes a deliberately broken app that never replies (for testing the harness).
    pub replies: bool,
    pub retry: RetryPolicy,
    /// Password of the `admin` user of the admin API.
    pub admin_password: String,
    /// The app's other dependencies (LLM, PMS, payments); each is optional.
    pub dependencies: AppDependencies,
    /// Deliberate mishandling of the dependencies (a "mishandling build" for testing the
    /// harness's dependency scenarios); empty: the app handles them as it should.
    pub mishandle: Mishandle,
}

impl AppConfig {
    pub fn new(
        provider: ProviderKind,
        provider_url: impl Into<String>,
        credential: impl Into<String>,
    ) -> Self {
        Self {
            provider,
            provider_url: provider_url.into().trim_end_matches('/').to_string(),
            credential: credential.into(),
            tenants: Vec::new(),
            app_secret: None,
            verify_token: None,
            graph_version: "v21.0".into(),
            replies: true,
            retry: RetryPolicy::default(),
            admin_password: "admin".into(),
            dependencies: AppDependencies::default(),
            mishandle: Mishandle::default(),
        }
    }
}

/// The app's other dependencies. `None`: the app does without (no LLM: rules only; no PMS:
/// bookings stay in the app's own calendar; no payments: bookings are free).
#[derive(Debug, Clone, Default)]
pub struct AppDependencies {
    pub llm: Option<LlmEndpoint>,
    /// The PMS's base URL, no trailing slash.
    pub pms_url: Option<String>,
    pub payments: Option<PaymentsEndpoint>,
}

/// An OpenAI-compatible API (what `OPENAI_BASE_URL` / `OPENAI_API_KEY` / `OPENAI_MODEL` name).
#[derive(Debug, Clone)]
pub struct LlmEndpoint {
    /// Base URL including `/v1`, no trailing slash.
    pub base_url: String,
    pub api_key: String,
    pub model: String,
}

/// A MercadoPago-style payments API.
#[derive(Debug, Clone)]
pub struct PaymentsEndpoint {
    /// Base URL, no trailing slash.
    pub base_url: String,
    pub access_token: String,
    /// The secret that signs its webhook notifications (`x-signature`).
    pub webhook_secret: String,
}

/// The environment variable that sets [`Mishandle`] for the app `harness` embeds (and
/// `harness app`'s `--mishandle`).
pub const MISHANDLE_ENV: &str = "HARNESS_APP_MISHANDLE";

/// How the app mishandles its dependencies on purpose, so a test can see a scenario fail
/// against an app that gets them wrong. Each flag is one mistake real apps make.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Mishandle {
    /// `llm-timeout`: no deadline on the LLM: waits as long as it takes, and retries a failing
    /// LLM (connection refused, 5xx) until it answers; no fallback reply.
    pub llm_timeout: bool,
    /// `llm-rate-limit`: a 429 is retried after its `retry-after`, again and again, without a
    /// deadline.
    pub llm_rate_limit: bool,
    /// `duplicate-payment`: every approved-payment notification confirms again (duplicates
    /// are not recognized).
    pub duplicate_payment: bool,
    /// `pms-timeout`: the booking is confirmed to the customer without waiting for the PMS.
    pub pms_timeout: bool,
}

/// The flag names, in the order of [`Mishandle`]'s fields.
pub const MISHANDLE_FLAGS: &[&str] = &[
    "llm-timeout",
    "llm-rate-limit",
    "duplicate-payment",
    "pms-timeout",
];

impl Mishandle {
    /// `llm-timeout,pms-timeout` (comma- or space-separated; empty is none).
    pub fn parse(text: &str) -> Result<Self, String> {
        let mut m = Self::default();
        for flag in text
            .split([',', ' '])
            .map(str::trim)
            .filter(|f| !f.is_empty())
        {
            match flag {
                "llm-timeout" => m.llm_timeout = true,
                "llm-rate-limit" => m.llm_rate_limit = true,
                "duplicate-payment" => m.duplicate_payment = true,
                "pms-timeout" => m.pms_timeout = true,
                other => {
                    return Err(format!(
                        "unknown mishandle flag `{other}`: expected a comma-separated list of {}",
                        MISHANDLE_FLAGS.join(", ")
                    ))
                }
            }
        }
        Ok(m)
    }

    /// [`MISHANDLE_ENV`] from the environment (unset: none); a bad value names the variable.
    pub fn from_env() -> Result<Self, String> {
        match std::env::var(MISHANDLE_ENV) {
            Ok(v) => Self::parse(&v).map_err(|e| format!("{MISHANDLE_ENV}: {e}")),
            Err(_) => Ok(Self::default()),
        }
    }

    pub fn any(&self) -> bool {
        *self != Self::default()
    }

    /// The flags set, as `parse` reads them.
    pub fn names(&self) -> Vec<&'static str> {
        let set = [
            self.llm_timeout,
            self.llm_rate_limit,
            self.duplicate_payment,
            self.pms_timeout,
        ];
        MISHANDLE_FLAGS
            .iter()
            .zip(set)
            .filter_map(|(name, on)| on.then_some(*name))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mishandle_flags_parse_and_print_back() {
        assert_eq!(Mishandle::parse("").unwrap(), Mishandle::default());
        let m = Mishandle::parse("llm-timeout, pms-timeout").unwrap();
        assert!(m.llm_timeout && m.pms_timeout && !m.llm_rate_limit && !m.duplicate_payment);
        assert_eq!(m.names(), ["llm-timeout", "pms-timeout"]);
        let all = Mishandle::parse(&MISHANDLE_FLAGS.join(",")).unwrap();
        assert_eq!(all.names(), MISHANDLE_FLAGS);
        let err = Mishandle::parse("llm-timeout,slow").unwrap_err();
        assert!(
            err.contains("`slow`") && err.contains("duplicate-payment"),
            "{err}"
        );
    }
}
