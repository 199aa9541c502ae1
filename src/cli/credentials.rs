//! The provider credentials `harness mock` and `harness app` share: the same flags and the
//! same `HARNESS_*` variables, so a simulator and the app started beside it agree.

use clap::Args;

/// Provider credentials. `mock` generates what is absent (and prints it); `app` sends them.
#[derive(Debug, Clone, Default, Args)]
pub struct CredentialArgs {
    /// Evolution global apikey; openai: the bearer key the app sends (mock: generated when
    /// absent; app: the key it sends).
    #[arg(long, env = "HARNESS_EVOLUTION_API_KEY", hide_env_values = true)]
    pub api_key: Option<String>,
    /// Meta access token; payments: the access token (mock: generated when absent; app: the
    /// bearer it sends).
    #[arg(long, env = "HARNESS_META_TOKEN", hide_env_values = true)]
    pub token: Option<String>,
    /// Meta app secret, the key of `X-Hub-Signature-256`; payments: the secret signature, the
    /// key of `x-signature` (mock: generated when absent; app: webhooks without a valid
    /// signature are refused).
    #[arg(long, env = "HARNESS_META_APP_SECRET", hide_env_values = true)]
    pub app_secret: Option<String>,
    /// Meta `hub.verify_token` of the verification handshake (mock: generated when absent).
    #[arg(long, env = "HARNESS_META_VERIFY_TOKEN", hide_env_values = true)]
    pub verify_token: Option<String>,
}
