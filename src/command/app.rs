//! `harness app`: runs the reference booking app standalone.

use std::net::SocketAddr;

use anyhow::Context;
use tokio::net::TcpListener;

use super::out;
use crate::app::{self, AppConfig, TenantConfig};
use crate::embedded::{webhook_path, EVOLUTION_INSTANCES, META_NUMBERS};
use crate::scenario::ProviderKind;

/// What `harness app` needs.
#[derive(Debug, Clone)]
pub struct AppOptions {
    pub addr: SocketAddr,
    pub config: AppConfig,
}

/// Builds the app's configuration; a missing credential is an error naming the flag.
pub fn config(
    provider: ProviderKind,
    provider_url: String,
    credential: Option<String>,
    tenants: Vec<String>,
) -> Result<AppConfig, String> {
    let flag = match provider {
        ProviderKind::Evolution => "--api-key (or HARNESS_EVOLUTION_API_KEY)",
        ProviderKind::Meta => "--token (or HARNESS_META_TOKEN)",
    };
    let credential = credential
        .ok_or_else(|| format!("error: the app needs the provider's credential: {flag}"))?;
    let mut config = AppConfig::new(provider, provider_url, credential);
    let tenants = if tenants.is_empty() {
        match provider {
            ProviderKind::Evolution => EVOLUTION_INSTANCES.iter().map(|s| s.to_string()).collect(),
            ProviderKind::Meta => META_NUMBERS.iter().map(|(id, _)| id.to_string()).collect(),
        }
    } else {
        tenants
    };
    config.tenants = tenants.into_iter().map(TenantConfig::new).collect();
    Ok(config)
}

/// Serves until Ctrl-C, printing where it listens.
pub async fn serve(opts: AppOptions) -> anyhow::Result<()> {
    let listener = TcpListener::bind(opts.addr)
        .await
        .with_context(|| format!("cannot bind {}", opts.addr))?;
    let provider = opts.config.provider;
    let tenants: Vec<String> = opts.config.tenants.iter().map(|t| t.id.clone()).collect();
    let replies = opts.config.replies;
    let dependencies = describe_dependencies(&opts.config);
    let mishandle = opts.config.mishandle;
    let handle = app::start(opts.config, listener)
        .await
        .context("cannot start the app")?;
    out::println(format_args!(
        "reference booking app ({}) listening on {}",
        provider.name(),
        handle.base_url
    ));
    out::println(format_args!(
        "  webhook: {}{}",
        handle.base_url,
        webhook_path(provider)
    ));
    out::println(format_args!("  tenants: {}", tenants.join(", ")));
    for line in dependencies {
        out::println(format_args!("  {line}"));
    }
    if mishandle.any() {
        out::println(format_args!(
            "  MISHANDLING (deliberately broken): {}",
            mishandle.names().join(", ")
        ));
    }
    if !replies {
        out::println("  replies: DISABLED (--no-replies): a deliberately broken app");
    }
    tokio::signal::ctrl_c()
        .await
        .context("cannot listen for Ctrl-C")?;
    handle.shutdown().await;
    Ok(())
}

/// One line per dependency the app uses (URLs only: keys are never printed).
fn describe_dependencies(config: &AppConfig) -> Vec<String> {
    let d = &config.dependencies;
    let mut lines = Vec::new();
    if let Some(llm) = &d.llm {
        lines.push(format!("LLM: {} (model {})", llm.base_url, llm.model));
    }
    if let Some(pms) = &d.pms_url {
        lines.push(format!("PMS: {pms}"));
    }
    if let Some(p) = &d.payments {
        lines.push(format!(
            "payments: {} (notifications: POST {})",
            p.base_url,
            app::payments::WEBHOOK_PATH
        ));
    }
    lines
}
