//! `harness app`: the bundled reference booking bot, standalone, until Ctrl-C.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};

use clap::Args;

use super::credentials::CredentialArgs;
use crate::app::{AppDependencies, LlmEndpoint, Mishandle, PaymentsEndpoint};
use crate::command::app::AppOptions;
use crate::scenario::ProviderKind;

/// Serve the reference booking app (a Spanish WhatsApp clinic bot) until Ctrl-C.
#[derive(Debug, Clone, Args)]
#[command(
    after_help = "Webhooks: POST /api/whatsapp/webhook (Evolution), GET|POST /api/whatsapp/meta (Meta). \
Payment notifications: POST /api/payments/webhook (with --mercadopago-url). \
Also /health/live, /health/ready, /metrics, POST /api/auth/login, GET /api/appointments. \
Dependencies and --mishandle: docs/dependencies.md, \"The reference app's dependencies\"."
)]
pub struct AppArgs {
    /// The provider the app talks to.
    #[arg(long, value_enum)]
    pub provider: ProviderKind,
    /// The provider's base URL (a `harness mock`, or the real API).
    #[arg(long, value_name = "URL")]
    pub provider_url: String,
    /// Port to listen on (0 picks a free one).
    #[arg(long, default_value_t = 8090)]
    pub port: u16,
    /// Address to bind.
    #[arg(long, default_value_t = IpAddr::V4(Ipv4Addr::LOCALHOST))]
    pub bind: IpAddr,
    #[command(flatten)]
    pub credentials: CredentialArgs,
    /// A tenant (Evolution instance or Meta phone-number-id); repeatable. Default: the
    /// embedded default's tenants.
    #[arg(long = "tenant", value_name = "ID")]
    pub tenants: Vec<String>,
    /// Never reply (a deliberately broken app, to see the harness catch it).
    #[arg(long)]
    pub no_replies: bool,
    /// Send lists and reply buttons as their plain text (for numbers whose customers' phones
    /// cannot show interactive messages).
    #[arg(long)]
    pub plain_text: bool,
    /// Password of the admin API's `admin` user.
    #[arg(
        long,
        env = "APP_ADMIN_PASSWORD",
        hide_env_values = true,
        default_value = "admin"
    )]
    pub admin_password: String,
    #[command(flatten)]
    pub dependencies: DependencyArgs,
    /// Mishandle dependencies on purpose (a deliberately broken app, to see the harness's
    /// dependency scenarios fail): a comma-separated list of llm-timeout, llm-rate-limit,
    /// duplicate-payment, pms-timeout. Default: HARNESS_APP_MISHANDLE, as for the embedded
    /// app.
    #[arg(long, value_name = "LIST")]
    pub mishandle: Option<String>,
}

/// The app's other dependencies (docs/dependencies.md, "The reference app's dependencies").
#[derive(Debug, Clone, Default, Args)]
pub struct DependencyArgs {
    /// An OpenAI-compatible API's base URL, with `/v1` (enables the LLM for what the rules do
    /// not understand).
    #[arg(long, env = "OPENAI_BASE_URL", value_name = "URL")]
    pub openai_base_url: Option<String>,
    /// The LLM's bearer key (required with --openai-base-url).
    #[arg(
        long,
        env = "OPENAI_API_KEY",
        hide_env_values = true,
        value_name = "KEY"
    )]
    pub openai_api_key: Option<String>,
    /// The LLM's model.
    #[arg(
        long,
        env = "OPENAI_MODEL",
        default_value = "gpt-4o-mini",
        value_name = "NAME"
    )]
    pub openai_model: String,
    /// The PMS's base URL (every booking is sent as POST {URL}/bookings before it is
    /// confirmed).
    #[arg(long, env = "PMS_URL", value_name = "URL")]
    pub pms_url: Option<String>,
    /// A MercadoPago-style API's base URL (enables payment links and the payment webhook).
    #[arg(long, env = "MERCADOPAGO_BASE_URL", value_name = "URL")]
    pub mercadopago_url: Option<String>,
    /// The payments API's access token (required with --mercadopago-url).
    #[arg(
        long,
        env = "MERCADOPAGO_ACCESS_TOKEN",
        hide_env_values = true,
        value_name = "T"
    )]
    pub mercadopago_token: Option<String>,
    /// The secret signature that signs payment notifications (required with
    /// --mercadopago-url).
    #[arg(
        long,
        env = "MERCADOPAGO_WEBHOOK_SECRET",
        hide_env_values = true,
        value_name = "S"
    )]
    pub mercadopago_webhook_secret: Option<String>,
}

/// A base URL without its trailing slash.
fn base(url: String) -> String {
    url.trim_end_matches('/').to_string()
}

impl DependencyArgs {
    /// The dependencies; a missing key names its flag.
    pub fn into_dependencies(self) -> Result<AppDependencies, String> {
        let required = |v: Option<String>, flag: &str, with: &str| {
            v.filter(|v| !v.is_empty())
                .ok_or_else(|| format!("error: {flag} is required with {with}"))
        };
        let llm = match self.openai_base_url {
            Some(url) => Some(LlmEndpoint {
                base_url: base(url),
                api_key: required(
                    self.openai_api_key,
                    "--openai-api-key (or OPENAI_API_KEY)",
                    "--openai-base-url",
                )?,
                model: self.openai_model,
            }),
            None => None,
        };
        let payments = match self.mercadopago_url {
            Some(url) => {
                let with = "--mercadopago-url";
                Some(PaymentsEndpoint {
                    base_url: base(url),
                    access_token: required(
                        self.mercadopago_token,
                        "--mercadopago-token (or MERCADOPAGO_ACCESS_TOKEN)",
                        with,
                    )?,
                    webhook_secret: required(
                        self.mercadopago_webhook_secret,
                        "--mercadopago-webhook-secret (or MERCADOPAGO_WEBHOOK_SECRET)",
                        with,
                    )?,
                })
            }
            None => None,
        };
        Ok(AppDependencies {
            llm,
            pms_url: self.pms_url.map(base),
            payments,
        })
    }
}

impl AppArgs {
    pub fn into_options(self) -> Result<AppOptions, String> {
        let provider = self.provider;
        let c = self.credentials;
        let credential = match provider {
            ProviderKind::Evolution => c.api_key,
            ProviderKind::Meta => c.token,
        };
        let mut config =
            crate::command::app::config(provider, self.provider_url, credential, self.tenants)?;
        config.app_secret = c.app_secret;
        config.verify_token = c.verify_token;
        config.replies = !self.no_replies;
        for t in &mut config.tenants {
            t.interactive = !self.plain_text;
        }
        config.admin_password = self.admin_password;
        config.dependencies = self.dependencies.into_dependencies()?;
        if let Some(list) = &self.mishandle {
            config.mishandle =
                Mishandle::parse(list).map_err(|e| format!("error: --mishandle: {e}"))?;
        }
        Ok(AppOptions {
            addr: SocketAddr::new(self.bind, self.port),
            config,
        })
    }
}
