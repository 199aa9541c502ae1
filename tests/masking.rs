//! Masking by what a value is, through the real binary: secrets never reach any output, and
//! names and ids read from the environment stay readable.

use std::io::{BufRead, BufReader};
use std::process::Stdio;

use crate::support::{bin, run_in, scenario_dir, text};

/// Starts a long-running command (`mock`, `app`) with `env`, reads its stdout up to the line
/// containing `last`, stops it; returns what it printed. An empty value unsets the variable.
pub(crate) fn banner(args: &[&str], env: &[(&str, &str)], last: &str) -> String {
    let mut cmd = bin();
    cmd.args(args).stdout(Stdio::piped()).stderr(Stdio::null());
    for (k, v) in env {
        match v {
            &"" => cmd.env_remove(k),
            v => cmd.env(k, v),
        };
    }
    let mut child = cmd.spawn().unwrap();
    let mut printed = String::new();
    for line in BufReader::new(child.stdout.take().unwrap()).lines() {
        let line = line.unwrap();
        printed.push_str(&line);
        printed.push('\n');
        if line.contains(last) {
            break;
        }
    }
    child.kill().unwrap();
    child.wait().unwrap();
    printed
}

#[test]
fn mock_and_app_start_up_lines_show_no_secret_from_the_environment() {
    let key = "Evo-Api-Key-From-Env-123";
    let out = banner(
        &[
            "mock",
            "evolution",
            "--port",
            "0",
            "--instance",
            "clinic:Instance-Token-99",
        ],
        &[("HARNESS_EVOLUTION_API_KEY", key)],
        "Ctrl-C stops.",
    );
    assert!(out.contains("apikey (global): ***"), "{out}");
    assert!(
        !out.contains(key) && !out.contains("Instance-Token-99"),
        "{out}"
    );
    assert!(
        out.contains("instance clinic (open)"),
        "names stay readable: {out}"
    );

    let secrets = [
        ("HARNESS_META_TOKEN", "EAAH-token-from-env-42"),
        ("HARNESS_META_APP_SECRET", "app-secret-from-env-42"),
        ("HARNESS_META_VERIFY_TOKEN", "verify-token-from-env-42"),
    ];
    let out = banner(&["mock", "meta", "--port", "0"], &secrets, "Ctrl-C stops.");
    for (_, secret) in secrets {
        assert!(!out.contains(secret), "{out}");
    }
    assert!(out.contains("access token: ***"), "{out}");

    // What the user did not give was generated for this run: shown, the app needs it.
    let out = banner(
        &["mock", "evolution", "--port", "0"],
        &[("HARNESS_EVOLUTION_API_KEY", "")],
        "Ctrl-C stops.",
    );
    let line = out.lines().find(|l| l.contains("apikey (global)")).unwrap();
    assert!(!line.contains("***") && line.len() > 40, "{line}");

    let out = banner(
        &[
            "app",
            "--provider",
            "evolution",
            "--provider-url",
            "http://127.0.0.1:9",
            "--port",
            "0",
        ],
        &[("HARNESS_EVOLUTION_API_KEY", key)],
        "tenants:",
    );
    assert!(
        out.contains("listening on http://127.0.0.1:") && !out.contains(key),
        "{out}"
    );
}

#[test]
fn names_from_the_environment_stay_readable_and_secrets_are_masked_everywhere() {
    let (key, login) = ("Sup3r-Secret-Api-Key", "crm-login-4711");
    let (dir, _) = scenario_dir(
        "mask.yaml",
        "name: mask\nsecrets: [CRM_LOGIN]\nsteps:\n  - name: wrong instance\n    http:\n      url: \"{{ provider.url }}/instance/connectionState/${HARNESS_TEST_INSTANCE}?login=${CRM_LOGIN}\"\n      headers: { apikey: \"${HARNESS_TEST_API_KEY}\", x-note: \"key ${HARNESS_TEST_API_KEY}\" }\n    checks: { status: 200, body: { contains: \"${HARNESS_TEST_INSTANCE} ${CRM_LOGIN}\" } }\n",
    );
    let env = [
        ("HARNESS_TEST_INSTANCE", "clinica-del-norte"),
        ("HARNESS_TEST_API_KEY", key),
        ("CRM_LOGIN", login),
    ];
    let out = run_in(
        dir.path(),
        &["run", "mask.yaml", "--json", "r.json", "-v"],
        &env,
    );
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    let report = std::fs::read_to_string(dir.path().join("r.json")).unwrap();
    let html = std::fs::read_to_string(dir.path().join("r.html")).unwrap();
    let all = format!("{}{}{report}{html}", text(&out.stdout), text(&out.stderr));
    assert!(!all.contains(key), "the API key: {all}");
    assert!(!all.contains(login), "marked secret by `secrets:`: {all}");
    assert!(
        text(&out.stdout).contains("clinica-del-norte") && report.contains("clinica-del-norte"),
        "the instance name is readable in the failure: {all}"
    );
}
