//! `harness app`: the bundled reference booking bot, standalone, until Ctrl-C.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};

use clap::Args;

use super::credentials::CredentialArgs;
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
        Ok(AppOptions {
            addr: SocketAddr::new(self.bind, self.port),
            config,
        })
    }
}
