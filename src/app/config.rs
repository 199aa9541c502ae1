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
