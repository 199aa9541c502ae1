//! What `run` and `load` share: resolving the target, starting the embedded default,
//! Ctrl-C, and where the report goes.

use std::path::{Path, PathBuf};

use anyhow::Context;
use tokio_util::sync::CancellationToken;

use super::{CommandError, ReportFiles, TargetOverrides};
use crate::dependencies;
use crate::embedded::Embedded;
use crate::redact::Redactor;
use crate::report::{self, Report};
use crate::runner::template::{process_env, Templater};
use crate::scenario::{references, Scenario};
use crate::target::{self, ProviderKind, ProviderMode, Target};

/// A scenario with its target resolved and, if needed, the embedded simulators running.
pub(super) struct Prepared {
    pub redactor: Redactor,
    pub templater: Templater,
    /// What this run started: the embedded default, the simulated dependencies.
    pub embedded: Started,
    /// The target as the run sees it (the embedded simulators' addresses filled in).
    pub target: Target,
}

impl Prepared {
    /// The embedded simulator's bus, for `await` in process (none for another process's);
    /// in customer-device mode, the bus of the device's listener.
    pub fn sim_bus(&self) -> Option<crate::sim::Bus> {
        if let Some(l) = &self.embedded.device {
            return Some(l.bus.clone());
        }
        self.embedded.embedded().map(|e| e.sim.bus.clone())
    }

    /// The embedded simulator's routes, for `inject` in process (none for another process's).
    pub fn sim_local(&self) -> Option<crate::sim::InProcess> {
        self.embedded.embedded().map(|e| e.sim.in_process.clone())
    }

    /// Points `ctx` at the embedded simulator in process: `await` on its bus, `inject` on its
    /// routes (for a simulator in another process both stay on HTTP).
    pub fn embed(&self, ctx: &mut crate::runner::RunContext) {
        ctx.sim_bus = self.sim_bus();
        ctx.sim_local = self.sim_local();
    }
}

/// Opens the scenario's `data:` files (before anything starts) and resolves the target for
/// `scenario` (flags > scenario's provider > Evolution), starting what it leaves unset.
pub(super) async fn prepare(
    scenario: &Scenario,
    overrides: &TargetOverrides,
    color: bool,
) -> Result<Prepared, CommandError> {
    let feeds = super::open_data(scenario, color)?;
    let redactor = Redactor::new();
    for name in &scenario.secrets {
        redactor.mark_secret(name);
    }
    let templater = Templater::new(process_env(), redactor.clone()).with_data(feeds);
    let provider = overrides
        .provider
        .or(scenario.provider)
        .unwrap_or(ProviderKind::Evolution);
    let spec = target::select(overrides, provider).map_err(CommandError::Invalid)?;
    let resolved = spec
        .resolve(&templater)
        .map_err(|e| CommandError::Invalid(format!("error: target `{}`: {e}", spec.name)))?;
    super::device::check(scenario, &spec, color)?;
    let real = dependencies::check::real(scenario, &spec.dependencies);
    if !real.is_empty() {
        let diagnostics = crate::scenario::Diagnostics(real);
        return Err(CommandError::Invalid(
            diagnostics.render(&scenario.source, color),
        ));
    }
    let planned = dependencies::plan(scenario, &spec.dependencies, &templater)
        .map_err(CommandError::Invalid)?;
    let bound = dependencies::bind(planned, &redactor).await?;
    let app_deps = bound.app_dependencies();
    let listen = crate::embedded::Listen {
        port: overrides.sim_port,
        bind: overrides.bind,
        public_url: resolved.spec.public_url.clone(),
    };
    let embedded = Embedded::start_for(&resolved, listen, &redactor, app_deps)
        .await
        .context("cannot start the embedded simulators")?;
    if let Some(e) = &embedded {
        super::mock::warn_if_exposed(e.sim.addr);
    }
    let mut target = embedded
        .as_ref()
        .map_or_else(|| resolved.clone(), |e| e.target(&resolved));
    let deps = bound.start(target.app_url.as_deref()).await?;
    target.dependencies = deps.run_dependencies();
    target.dependency_vars = (!deps.deps.is_empty()).then(|| deps.vars());
    let device = super::device::start(&mut target, overrides, embedded.is_some()).await?;
    Ok(Prepared {
        redactor,
        templater,
        embedded: Started {
            embedded,
            deps,
            device,
        },
        target,
    })
}

/// What a run started, stopped at its end.
pub(super) struct Started {
    embedded: Option<Embedded>,
    deps: dependencies::Running,
    /// Customer-device mode: the listener of the device's webhook.
    device: Option<crate::device::Listener>,
}

impl Started {
    /// The embedded default, when this run started it.
    pub(super) fn embedded(&self) -> Option<&Embedded> {
        self.embedded.as_ref()
    }

    async fn shutdown(self) {
        // The device's webhook is turned off while its server (maybe embedded) still runs.
        if let Some(l) = self.device {
            l.shutdown().await;
        }
        if let Some(e) = self.embedded {
            e.shutdown().await;
        }
        self.deps.shutdown().await;
    }
}

/// Pre-flight: every `${VAR}` and `{{ var }}` the scenario uses can be defined against this
/// target; otherwise exit 2 with each one at `file:line:col`, before any request.
pub(super) fn check_references(
    scenario: &Scenario,
    target: &Target,
    color: bool,
) -> Result<(), CommandError> {
    let env = |name: &str| std::env::var_os(name).is_some();
    let known = references::Known {
        provider: target.spec.provider,
        target_vars: target.vars().0.into_keys().collect(),
        env: &env,
    };
    let found = references::undefined(scenario, &known);
    if found.is_empty() {
        return Ok(());
    }
    let diagnostics = crate::scenario::Diagnostics(found);
    Err(CommandError::Invalid(
        diagnostics.render(&scenario.source, color),
    ))
}

/// Pre-flight: the folders the reports go to exist (they are created) and take a file, so an
/// unwritable `--report-dir` is found before any request rather than after the whole run.
pub(super) fn check_report_dirs(files: &ReportFiles) -> Result<(), CommandError> {
    let mut dirs = Vec::new();
    if files.json.is_none() {
        dirs.push(files.report_dir.clone());
    }
    for file in [&files.json, &files.html, &files.junit, &files.summary_md]
        .into_iter()
        .flatten()
    {
        let parent = file.parent().filter(|d| !d.as_os_str().is_empty());
        dirs.push(parent.map_or_else(|| PathBuf::from("."), Path::to_path_buf));
    }
    for dir in dirs {
        let fault = |e: std::io::Error| {
            CommandError::Harness(anyhow::anyhow!(
                "the report folder {} is not writable: {e} (fix its permissions, or choose another with --report-dir or --json)",
                dir.display()
            ))
        };
        std::fs::create_dir_all(&dir).map_err(fault)?;
        let probe = dir.join(format!(".harness-write-test-{}", std::process::id()));
        std::fs::write(&probe, b"").map_err(fault)?;
        let _ = std::fs::remove_file(&probe);
    }
    Ok(())
}

/// Writes the JSON and HTML reports (and JUnit and Markdown when asked), customers' personal
/// data masked with what `redactor` learnt (unless `--show-personal-data`), and says where.
pub(super) fn write_report(
    report: &Report,
    files: &ReportFiles,
    redactor: &Redactor,
) -> Result<(), CommandError> {
    let path = files.json.clone().unwrap_or_else(|| {
        default_report_path(&files.report_dir, &report.scenario, &report.run_id)
    });
    let outputs = report::output::Outputs::for_run(
        path,
        files.html.clone(),
        files.junit.clone(),
        files.summary_md.clone(),
    );
    let ctx = report::html::HtmlContext {
        git_commit: report::output::git_commit(),
    };
    let written = report::output::write_all(report, &outputs, &ctx, files.privacy(redactor))
        .context("cannot write the report")?;
    for p in written {
        super::out::println(format_args!("report: {}", p.display()));
    }
    Ok(())
}

/// A run's id: its UTC start to the millisecond and 6 random hex digits,
/// `20261122T101500.123Z-3f9a2c`; two runs started in the same millisecond still differ.
pub(super) fn new_run_id() -> String {
    let stamp = humantime::format_rfc3339_millis(std::time::SystemTime::now())
        .to_string()
        .replace([':', '-'], "");
    format!("{stamp}-{:06x}", rand::random_range(0..0x100_0000u32))
}

/// A scenario name as a file name: anything but letters, digits, `-` and `_` becomes `_`.
pub(super) fn safe_name(scenario: &str) -> String {
    scenario
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                c
            } else {
                '_'
            }
        })
        .collect()
}

/// `<report-dir>/<scenario>-<run id>.json`, e.g.
/// `reports/smoke-20261122T101500.123Z-3f9a2c.json`.
fn default_report_path(report_dir: &Path, scenario: &str, run_id: &str) -> PathBuf {
    let safe = safe_name(scenario);
    report_dir.join(format!("{safe}-{run_id}.json"))
}

/// The fault profiles set on a simulated provider during the run (its control API keeps
/// them); empty for a real provider or when the simulator cannot say.
pub(super) async fn fault_history(
    target: &Target,
    redactor: &Redactor,
) -> Vec<report::FaultReport> {
    let simulated = target.spec.mode == crate::target::ProviderMode::Simulated;
    let provider = target.provider_url.as_deref().filter(|_| simulated);
    let mut all = match provider {
        Some(url) => history_of(url, redactor).await,
        None => Vec::new(),
    };
    // The simulated dependencies' too, each named (`faults: { service: llm, … }`).
    for d in &target.dependencies {
        let Some(url) = d
            .url
            .as_deref()
            .filter(|_| d.mode == ProviderMode::Simulated)
        else {
            continue;
        };
        let mut theirs = history_of(url, redactor).await;
        for f in &mut theirs {
            f.service = Some(d.name.clone());
        }
        all.extend(theirs);
    }
    // RFC 3339 UTC with milliseconds: in time order as text.
    all.sort_by(|a, b| a.set_at.cmp(&b.set_at));
    all
}

/// One simulator's fault history (`GET /__harness/faults/history`); empty when it cannot say.
async fn history_of(url: &str, redactor: &Redactor) -> Vec<report::FaultReport> {
    let url = format!("{}/__harness/faults/history", url.trim_end_matches('/'));
    let client = crate::runner::default_client();
    let answer = client
        .get(url)
        .timeout(std::time::Duration::from_secs(2))
        .send()
        .await;
    let events: serde_json::Value = match answer {
        Ok(r) if r.status().is_success() => r.json().await.unwrap_or_default(),
        _ => return Vec::new(),
    };
    // Like everything in a report, fault bodies pass through the redactor.
    serde_json::from_value(redactor.redact_json(&events)).unwrap_or_default()
}

/// The end of `run` and `watch`: writes the reports, stops the embedded default, and
/// returns the exit code of the report's verdict.
pub(super) async fn finish(
    report: &Report,
    (files, redactor): (&ReportFiles, &Redactor),
    embedded: Started,
    hard: &CancellationToken,
) -> Result<u8, CommandError> {
    write_report(report, files, redactor)?;
    shut_down(embedded, hard).await;
    Ok(if report.passed {
        crate::exit::SUCCESS
    } else {
        crate::exit::FAILED
    })
}

/// Stops the embedded simulators and app, unless `hard` (a second signal) says not to wait.
pub(super) async fn shut_down(started: Started, hard: &CancellationToken) {
    tokio::select! {
        () = started.shutdown() => {}
        () = hard.cancelled() => {}
    }
}

/// `harness load` refuses customer-device mode (after stopping what `prepare` started): one
/// device is one customer, and a load needs many.
pub(super) async fn not_for_load(p: Prepared) -> Result<Prepared, CommandError> {
    if p.target.device.is_none() {
        return Ok(p);
    }
    shut_down(p.embedded, &CancellationToken::new()).await;
    Err(CommandError::Invalid(
        "error: customer-device mode is for `harness run` and `watch`: one device is one customer, and a load needs many (run the load in simulated mode)".into(),
    ))
}
