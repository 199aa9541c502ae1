//! `harness app`: the bundled reference booking bot, standalone, until Ctrl-C.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};

use clap::Args;

use super::Provider;
use crate::command::app::AppOptions;
use crate::scenario::ProviderKind;

/// Serve the reference booking app (a Spanish WhatsApp clinic bot) until Ctrl-C.
#[derive(Debug, Clone, Args)]
#[command(
    after_help = "Webhooks: POST /api/whatsapp/webhook (Evolution), GET|POST /api/whatsapp/meta (Meta). \
Also /health/live, /health/ready, /metrics, POST /api/auth/login, GET /api/appointments."
)]
pub struct AppArgs {
    /// The provider the app talks to.
    #[arg(long, value_enum)]
    pub provider: Provider,
    /// The provider's base URL (a `harness mock`, or the real API).
    #[arg(long, value_name = "URL")]
    pub provider_url: String,
    /// Port to listen on (0 picks a free one).
    #[arg(long, default_value_t = 8090)]
    pub port: u16,
    /// Address to bind.
    #[arg(long, default_value_t = IpAddr::V4(Ipv4Addr::LOCALHOST))]
    pub bind: IpAddr,
    /// Evolution global apikey the app sends.
    #[arg(long, env = "HARNESS_EVOLUTION_API_KEY", hide_env_values = true)]
    pub api_key: Option<String>,
    /// Meta access token the app sends.
    #[arg(long, env = "HARNESS_META_TOKEN", hide_env_values = true)]
    pub token: Option<String>,
    /// Meta app secret: webhooks without a valid X-Hub-Signature-256 are refused.
    #[arg(long, env = "HARNESS_META_APP_SECRET", hide_env_values = true)]
    pub app_secret: Option<String>,
    /// Meta verify token of the GET handshake.
    #[arg(long, env = "HARNESS_META_VERIFY_TOKEN", hide_env_values = true)]
    pub verify_token: Option<String>,
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
}

impl AppArgs {
    pub fn into_options(self) -> Result<AppOptions, String> {
        let provider = self.provider.into();
        let credential = match provider {
            ProviderKind::Evolution => self.api_key,
            ProviderKind::Meta => self.token,
        };
        let mut config =
            crate::command::app::config(provider, self.provider_url, credential, self.tenants)?;
        config.app_secret = self.app_secret;
        config.verify_token = self.verify_token;
        config.replies = !self.no_replies;
        for t in &mut config.tenants {
            t.interactive = !self.plain_text;
        }
        config.admin_password = self.admin_password;
        Ok(AppOptions {
            addr: SocketAddr::new(self.bind, self.port),
            config,
        })
    }
}
