//! The reference app with its dependencies, all in-process on port 0: the Evolution
//! simulator (the customer's side), the app, and the simulated LLM, PMS and payments API it
//! is given.

use std::time::{Duration, Instant};

use harness::app::{
    self, AppConfig, AppDependencies, AppHandle, LlmEndpoint, Mishandle, PaymentsEndpoint,
    TenantConfig,
};
use harness::scenario::ProviderKind;
use harness::sim::bus::OutboundFilter;
use harness::sim::evolution::{self, EvolutionConfig, SeedInstance};
use harness::sim::faults::FaultProfile;
use harness::sim::meta::{self, MetaConfig, PhoneNumber};
use harness::sim::openai::{self, OpenaiConfig, Rules};
use harness::sim::payments::{self, PaymentsConfig};
use harness::sim::stubs::{self, StubsFile};
use harness::sim::SimHandle;
use serde_json::{json, Value};
use tokio::net::TcpListener;

pub const TENANT: &str = "clinica-sol";
pub const KEY: &str = "GLOBAL-KEY";
pub const LLM_KEY: &str = "sk-test-llm";
pub const MP_TOKEN: &str = "TEST-app-token";
pub const MP_SECRET: &str = "mp-secret-signature";
pub const META_SECRET: &str = "meta-app-secret";

/// What the app is given.
#[derive(Default)]
pub struct Deps {
    /// LLM rules (YAML); `None` with `llm_down`: an LLM URL nobody listens on.
    pub llm_rules: Option<String>,
    pub llm_faults: Option<String>,
    pub llm_down: bool,
    /// PMS stubs (YAML) and faults.
    pub pms: Option<(String, Option<String>)>,
    pub payments: bool,
    pub mishandle: Mishandle,
    /// Meta's Cloud API as the provider (else Evolution).
    pub meta: bool,
}

pub struct Rig {
    pub provider: SimHandle,
    pub app: AppHandle,
    pub llm: Option<SimHandle>,
    pub pms: Option<SimHandle>,
    pub payments: Option<SimHandle>,
    pub http: reqwest::Client,
    /// The bus position before the last message the customer sent.
    since: u64,
}

async fn listener() -> TcpListener {
    TcpListener::bind("127.0.0.1:0").await.unwrap()
}

fn faults(yaml: &Option<String>) -> FaultProfile {
    yaml.as_deref()
        .map(|y| FaultProfile::parse(y).unwrap())
        .unwrap_or_default()
}

/// A URL where nothing listens (a port bound then released).
fn nowhere() -> String {
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    format!("http://{}", l.local_addr().unwrap())
}

impl Rig {
    pub async fn start(deps: Deps) -> Rig {
        let mut d = AppDependencies::default();
        let llm = match &deps.llm_rules {
            Some(rules) => {
                let config = OpenaiConfig {
                    api_key: LLM_KEY.into(),
                    rules: Rules::parse(rules).unwrap(),
                    faults: faults(&deps.llm_faults),
                    ..OpenaiConfig::default()
                };
                Some(openai::start(config, listener().await).await.unwrap())
            }
            None => None,
        };
        let llm_url = match (&llm, deps.llm_down) {
            (Some(s), _) => Some(s.base_url.clone()),
            (None, true) => Some(nowhere()),
            (None, false) => None,
        };
        d.llm = llm_url.map(|u| LlmEndpoint {
            base_url: format!("{u}/v1"),
            api_key: LLM_KEY.into(),
            model: "gpt-4o-mini".into(),
        });
        let pms = match &deps.pms {
            Some((file, f)) => {
                let file = StubsFile::parse(file, "pms.yaml").unwrap();
                Some(
                    stubs::start(file, faults(f), listener().await)
                        .await
                        .unwrap(),
                )
            }
            None => None,
        };
        d.pms_url = pms.as_ref().map(|s| s.base_url.clone());
        let app_listener = listener().await;
        let app_url = format!("http://{}", app_listener.local_addr().unwrap());
        let payments = if deps.payments {
            let config = PaymentsConfig {
                access_token: MP_TOKEN.into(),
                webhook_secret: MP_SECRET.into(),
                notification_url: Some(format!("{app_url}{}", app::payments::WEBHOOK_PATH)),
                ..PaymentsConfig::default()
            };
            let sim = payments::start(config, listener().await).await.unwrap();
            d.payments = Some(PaymentsEndpoint {
                base_url: sim.base_url.clone(),
                access_token: MP_TOKEN.into(),
                webhook_secret: MP_SECRET.into(),
            });
            Some(sim)
        } else {
            None
        };
        let (provider, mut config) = provider(deps.meta, &app_url).await;
        config.tenants = vec![TenantConfig::new(TENANT)];
        config.dependencies = d;
        config.mishandle = deps.mishandle;
        let app = app::start(config, app_listener).await.unwrap();
        Rig {
            provider,
            app,
            llm,
            pms,
            payments,
            http: reqwest::Client::new(),
            since: 0,
        }
    }

    /// The customer `from` writes `text`.
    pub async fn say(&mut self, from: &str, text: &str) {
        self.since = self
            .provider
            .bus
            .query(&OutboundFilter::default(), usize::MAX)
            .last()
            .map_or(0, |m| m.seq);
        let r = self
            .http
            .post(format!("{}/__harness/inbound", self.provider.base_url))
            .json(&json!({"from": from, "text": text}))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200, "{}", r.text().await.unwrap());
    }

    /// The app's next reply to `to` since the last `say`, within `wait`, and how long it took.
    pub async fn reply(&self, to: &str, wait: Duration) -> Option<(String, Duration)> {
        let start = Instant::now();
        let filter = OutboundFilter {
            to: Some(to.into()),
            since: self.since,
            ..OutboundFilter::default()
        };
        let found = self.provider.bus.wait_for(&filter, 1, wait).await;
        found
            .first()
            .map(|m| (m.text.clone().unwrap_or_default(), start.elapsed()))
    }

    /// Every reply to `to` since the last `say`, after waiting `wait`.
    pub async fn replies_after(&self, to: &str, wait: Duration) -> Vec<String> {
        tokio::time::sleep(wait).await;
        let filter = OutboundFilter {
            to: Some(to.into()),
            since: self.since,
            ..OutboundFilter::default()
        };
        let found = self.provider.bus.query(&filter, usize::MAX);
        found
            .iter()
            .map(|m| m.text.clone().unwrap_or_default())
            .collect()
    }

    /// The app's `/metrics` page.
    pub async fn metrics(&self) -> String {
        let url = format!("{}/metrics", self.app.base_url);
        self.http
            .get(url)
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap()
    }

    /// The calls the app made to a dependency simulator: their `payload`s.
    pub fn calls(sim: &Option<SimHandle>) -> Vec<Value> {
        let sim = sim.as_ref().expect("that dependency is simulated");
        sim.bus
            .query(&OutboundFilter::default(), usize::MAX)
            .iter()
            .map(|m| m.payload.clone())
            .collect()
    }
}

/// The WhatsApp provider's simulator, sending webhooks to the app at `app_url`, and the
/// app's configuration for it.
async fn provider(meta: bool, app_url: &str) -> (SimHandle, AppConfig) {
    if meta {
        let config = MetaConfig {
            token: KEY.into(),
            app_secret: META_SECRET.into(),
            phone_numbers: vec![PhoneNumber::new(TENANT, "15550783881")],
            webhook_url: Some(format!("{app_url}{}", app::server::META_WEBHOOK_PATH)),
            ..MetaConfig::default()
        };
        let sim = meta::start(config, listener().await).await.unwrap();
        let mut app = AppConfig::new(ProviderKind::Meta, &sim.base_url, KEY);
        app.app_secret = Some(META_SECRET.into());
        return (sim, app);
    }
    let hook = format!("{app_url}{}", app::server::EVOLUTION_WEBHOOK_PATH);
    let config = EvolutionConfig {
        api_key: KEY.into(),
        instances: vec![SeedInstance::open(TENANT, "tok", Some(&hook))],
        ..EvolutionConfig::default()
    };
    let sim = evolution::start(config, listener().await).await.unwrap();
    let app = AppConfig::new(ProviderKind::Evolution, &sim.base_url, KEY);
    (sim, app)
}

/// A weekday at least a week ahead, `YYYY-MM-DD` (the app books against the real clock).
pub fn weekday_ahead() -> String {
    use chrono::Datelike;
    let mut d = chrono::Local::now().date_naive() + chrono::Duration::days(7);
    while d.weekday().number_from_monday() > 5 {
        d += chrono::Duration::days(1);
    }
    d.format("%Y-%m-%d").to_string()
}

/// LLM rules that read "me duele el pecho…" as a cardiology booking on `day`.
pub fn chest_pain_rules(day: &str) -> String {
    format!(
        r#"
rules:
  - name: chest pain is cardiology
    match: {{ last_user: "(?i)pecho", tool: extract_booking, system: "{TENANT}" }}
    reply:
      tool_call: {{ name: extract_booking, arguments: {{ intent: book, specialty: cardiología, day: "{day}" }} }}
"#
    )
}
