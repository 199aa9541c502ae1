//! The command line: exit codes, diagnostics, reports, redaction. In process
//! (`harness::run_captured`) where a test needs no working directory of its own; the real
//! binary where it does (relative paths, `.env`, `list`) and for completions.

use crate::support::{assert_code, assert_exit, harness, read_report, run_in, scenario_dir, text};

#[test]
fn smoke_on_the_embedded_default_passes_with_exit_0_and_a_valid_report() {
    let dir = tempfile::tempdir().unwrap();
    let out = run_in(dir.path(), &["run", "smoke", "--json", "smoke.json"], &[]);
    let stdout = text(&out.stdout);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{stdout}\n{}",
        text(&out.stderr)
    );
    assert!(stdout.contains("✓ create instance"), "{stdout}");
    assert!(stdout.contains("PASSED"), "{stdout}");
    let report = read_report(&dir.path().join("smoke.json"));
    assert_eq!(report["passed"], true);
    assert_eq!(report["interrupted"], false);
    assert_eq!(report["target"]["name"], "embedded");
    assert_eq!(report["target"]["provider_mode"], "simulated");
}

#[test]
fn default_report_goes_to_the_report_dir() {
    let dir = tempfile::tempdir().unwrap();
    let out = run_in(dir.path(), &["run", "smoke", "--report-dir", "out"], &[]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stdout));
    let mut files: Vec<_> = std::fs::read_dir(dir.path().join("out"))
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    files.sort();
    // The JSON report and the HTML report, same stem.
    assert_eq!(files.len(), 2, "{files:?}");
    let name = &files[1];
    assert!(
        name.starts_with("smoke-") && name.ends_with(".json"),
        "{name}"
    );
    assert_eq!(files[0], name.replace(".json", ".html"));
}

#[test]
fn an_impossible_threshold_exits_1_naming_the_threshold_and_observed_value() {
    let (dir, file) = scenario_dir(
        "tight.yaml",
        "name: tight\nprovider: evolution\nsteps:\n  - name: version\n    http: { url: \"{{ provider.url }}/\" }\n    checks: { status: 200 }\nthresholds: [\"p95 < 1us\"]\n",
    );
    let json = dir.path().join("r.json");
    let reports = dir.path().join("reports");
    let args = [
        "run",
        path(&file),
        "--json",
        path(&json),
        "--report-dir",
        path(&reports),
    ];
    let out = harness(&args);
    assert_code(&out, 1);
    assert!(
        out.stdout.contains("✗ p95 < 1us  observed "),
        "{}",
        out.stdout
    );
    assert!(out.stdout.contains("tight.yaml:7)"), "{}", out.stdout);
    let report = read_report(&json);
    assert_eq!(report["passed"], false);
    assert_eq!(report["thresholds"][0]["passed"], false);
}

#[test]
fn a_malformed_file_exits_2_with_line_and_caret_and_runs_nothing() {
    let (dir, file) = scenario_dir(
        "bad.yaml",
        "name: bad\nsteps:\n  - name: a\n    htp: { url: x }\n",
    );
    let reports = dir.path().join("reports");
    let out = harness(&["run", path(&file), "--report-dir", path(&reports)]);
    assert_code(&out, 2);
    assert!(out.stderr.contains("bad.yaml:4:5"), "{}", out.stderr);
    assert!(out.stderr.contains("did you mean `http`"), "{}", out.stderr);
    assert!(out.stderr.contains("^^^"), "{}", out.stderr);
    assert!(!reports.exists(), "nothing ran, no report");
}

#[test]
fn validate_reports_every_file_and_exits_2_when_one_is_invalid() {
    let (dir, good) = scenario_dir(
        "good.yaml",
        "name: good\nsteps:\n  - name: a\n    http: { url: \"http://127.0.0.1:1/\" }\n",
    );
    let bad = dir.path().join("bad.yaml");
    std::fs::write(&bad, "name: bad\nsteps: []\n").unwrap();
    let ok = harness(&["validate", path(&good)]);
    assert_code(&ok, 0);
    assert!(
        ok.stdout.contains("good.yaml (1 steps, 0 thresholds)"),
        "{}",
        ok.stdout
    );
    let out = harness(&["validate", path(&good), path(&bad)]);
    assert_code(&out, 2);
    assert!(out.stderr.contains("bad.yaml:2:1"), "{}", out.stderr);
}

#[test]
fn unknown_scenario_and_bad_flags_exit_2() {
    let dir = tempfile::tempdir().unwrap();
    let out = harness(&["run", "no-such"]);
    assert_code(&out, 2);
    assert!(
        out.stderr.contains("no scenario `no-such`"),
        "{}",
        out.stderr
    );
    let out = harness(&["run", "smoke", "--timeout", "soon"]);
    assert_code(&out, 2);
    assert!(
        out.stderr.contains("--timeout"),
        "clap errors are invalid invocations: {}",
        out.stderr
    );
    let config = dir.path().join("harness.yaml");
    let out = harness(&[
        "run",
        "smoke",
        "--target",
        "staging",
        "--config",
        path(&config),
    ]);
    assert_code(&out, 2);
    assert!(out.stderr.contains("harness.yaml"), "{}", out.stderr);
    let out = harness(&["--version"]);
    assert_code(&out, 0);
    assert!(out.stdout.starts_with("harness "), "{}", out.stdout);
}

/// A path as an argument.
fn path(p: &std::path::Path) -> &str {
    p.to_str().unwrap()
}

#[test]
fn list_shows_builtin_and_local_scenarios_with_descriptions() {
    let (dir, _) = scenario_dir("placeholder.txt", "");
    std::fs::create_dir(dir.path().join("scenarios")).unwrap();
    std::fs::write(
        dir.path().join("scenarios/mine.yaml"),
        "name: mine\ndescription: my own checks\nsteps:\n  - name: a\n    http: { url: x }\n",
    )
    .unwrap();
    let out = run_in(dir.path(), &["list"], &[]);
    let stdout = text(&out.stdout);
    assert_eq!(out.status.code(), Some(0));
    assert!(
        stdout.contains("mine") && stdout.contains("my own checks"),
        "{stdout}"
    );
    assert!(
        stdout.contains("smoke") && stdout.contains("built in"),
        "{stdout}"
    );
}

#[test]
fn a_secret_from_the_environment_appears_in_no_output_and_no_report() {
    let secret = "Sup3r-S3cret-Value-42";
    let (dir, _) = scenario_dir(
        "secret.yaml",
        "name: secret\nsteps:\n  - name: wrong key\n    http:\n      url: \"{{ provider.url }}/instance/fetchInstances?apikey=${MY_KEY}\"\n      headers: { apikey: \"${MY_KEY}\", x-note: \"key is ${MY_KEY}\" }\n    checks: { status: 200, body: \"${MY_KEY}\" }\n",
    );
    let out = run_in(
        dir.path(),
        &["run", "secret.yaml", "--json", "r.json", "-v"],
        &[("MY_KEY", secret)],
    );
    assert_eq!(
        out.status.code(),
        Some(1),
        "the wrong key is refused: a failed check"
    );
    let all = format!(
        "{}{}{}",
        text(&out.stdout),
        text(&out.stderr),
        std::fs::read_to_string(dir.path().join("r.json")).unwrap()
    );
    assert!(!all.contains(secret), "{all}");
    assert!(all.contains("***"));
}

#[test]
fn every_shipped_scenario_is_valid_and_the_builtin_ones_pass_on_the_embedded_default() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let files: Vec<String> = harness::scenario::catalog::scan(&root.join("scenarios"))
        .into_iter()
        .map(|(_, p)| p.display().to_string())
        .collect();
    assert!(files.len() >= 3, "{files:?}");
    let mut args = vec!["validate"];
    args.extend(files.iter().map(String::as_str));
    let out = run_in(root, &args, &[]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    for b in harness::scenario::catalog::BUILTIN {
        let on_disk = std::fs::read_to_string(root.join(b.path)).unwrap();
        assert_eq!(on_disk, b.text, "{} is embedded as it is on disk", b.path);
        let dir = tempfile::tempdir().unwrap();
        let out = run_in(dir.path(), &["run", b.name, "--json", "r.json"], &[]);
        assert_eq!(
            out.status.code(),
            Some(0),
            "{}:\n{}{}",
            b.name,
            text(&out.stdout),
            text(&out.stderr)
        );
        read_report(&dir.path().join("r.json"));
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_named_target_from_harness_yaml_is_used_with_its_credentials_from_the_environment() {
    use wiremock::matchers::{header, method, path};
    use wiremock::{Mock, MockServer, ResponseTemplate};
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/instance/fetchInstances"))
        .and(header("apikey", "staging-key-123"))
        .respond_with(ResponseTemplate::new(200).set_body_json(serde_json::json!([])))
        .mount(&server)
        .await;
    let (dir, _) = scenario_dir(
        "harness.yaml",
        &format!(
            "targets:\n  staging:\n    app_url: http://127.0.0.1:9\n    provider: evolution\n    provider_url: {}\n    api_key: ${{STAGING_KEY}}\n",
            server.uri()
        ),
    );
    std::fs::write(
        dir.path().join("s.yaml"),
        "name: s\nsteps:\n  - name: instances\n    http:\n      url: \"{{ provider.url }}/instance/fetchInstances\"\n      headers: { apikey: \"{{ provider.api_key }}\" }\n    checks: { status: 200, jsonpath: { $: { type: array } } }\n",
    )
    .unwrap();
    let path = dir.path().to_path_buf();
    let out = tokio::task::spawn_blocking(move || {
        run_in(
            &path,
            &["run", "s.yaml", "--target", "staging", "--json", "r.json"],
            &[("STAGING_KEY", "staging-key-123")],
        )
    })
    .await
    .unwrap();
    let stdout = text(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{stdout}{}", text(&out.stderr));
    let report = read_report(&dir.path().join("r.json"));
    assert_eq!(report["target"]["name"], "staging");
    assert_eq!(report["target"]["provider_mode"], "real");
    assert!(!stdout.contains("staging-key-123") && !report.to_string().contains("staging-key-123"));
    assert_eq!(server.received_requests().await.unwrap().len(), 1);
}

#[tokio::test(flavor = "multi_thread")]
async fn inject_against_a_real_provider_is_a_clear_step_failure() {
    use wiremock::MockServer;
    let server = MockServer::start().await;
    let (dir, _) = scenario_dir(
        "e.yaml",
        "name: e\nsteps:\n  - name: ask\n    inject: { from: \"5511999990000\", text: Hola }\n",
    );
    let path = dir.path().to_path_buf();
    let uri = server.uri();
    let out = tokio::task::spawn_blocking(move || {
        run_in(
            &path,
            &["run", "e.yaml", "--provider-url", &uri, "--json", "r.json"],
            &[],
        )
    })
    .await
    .unwrap();
    let stdout = text(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{stdout}");
    assert!(stdout.contains("needs a simulated provider"), "{stdout}");
    assert!(
        server.received_requests().await.unwrap().is_empty(),
        "nothing was sent to the real provider"
    );
}

#[test]
fn validate_clips_a_huge_one_line_file_around_the_error_and_refuses_an_oversized_one() {
    let value = "a".repeat(4_000_000);
    let (dir, _) = scenario_dir("big.yaml", &format!("{{name: \"{value}\", stepz: []}}\n"));
    let out = run_in(dir.path(), &["validate", "big.yaml"], &[]);
    assert_eq!(out.status.code(), Some(2));
    let stderr = text(&out.stderr);
    assert!(
        stderr.len() + out.stdout.len() < 4096,
        "{} bytes",
        stderr.len()
    );
    assert!(stderr.contains("big.yaml:1:4000012"), "{stderr}");
    let lines: Vec<&str> = stderr.lines().collect();
    let shown = lines.iter().position(|l| l.contains("stepz: []")).unwrap();
    let column = |s: &str, pat: &str| s.find(pat).map(|b| s[..b].chars().count());
    assert_eq!(
        column(lines[shown], "stepz"),
        column(lines[shown + 1], "^^^^^"),
        "the caret under the key:\n{}\n{}",
        lines[shown],
        lines[shown + 1]
    );
    assert!(lines[shown].contains('…') && lines[shown + 1].contains("did you mean `steps`?"));

    // Over the size limit: refused unread (a sparse file: no disk used).
    let huge = std::fs::File::create(dir.path().join("huge.yaml")).unwrap();
    huge.set_len(300_000_000).unwrap();
    let out = run_in(dir.path(), &["validate", "huge.yaml"], &[]);
    assert_eq!(out.status.code(), Some(2));
    let stderr = text(&out.stderr);
    assert!(
        stderr.contains("300.0 MB") && stderr.len() < 400,
        "{stderr}"
    );
}

#[test]
fn bash_completion_completes_subcommands_and_flags() {
    let out = crate::support::bin()
        .args(["completions", "bash"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    let dir = tempfile::tempdir().unwrap();
    let script = dir.path().join("harness.bash");
    std::fs::write(&script, &out.stdout).unwrap();
    // Sourced by a real bash, its function completes `harness lo` and `harness load --all`.
    let probe = format!(
        // As bash calls a completion function: command, word being completed, previous word.
        "source {}; COMP_WORDS=(harness lo); COMP_CWORD=1; _harness harness lo harness; \
         echo \"${{COMPREPLY[@]}}\"; COMP_WORDS=(harness load --all); COMP_CWORD=2; \
         _harness harness --all load; echo \"${{COMPREPLY[@]}}\"",
        script.display()
    );
    let out = std::process::Command::new("bash")
        .args(["-c", &probe])
        .output()
        .unwrap();
    let said = text(&out.stdout);
    let lines: Vec<&str> = said.lines().collect();
    assert!(
        lines
            .first()
            .is_some_and(|l| l.split(' ').any(|w| w == "load")),
        "{said}\n{}",
        text(&out.stderr)
    );
    assert!(
        lines.get(1).is_some_and(|l| l.contains("--allow-dropped")),
        "{said}"
    );
}

#[test]
fn a_variable_from_dot_env_or_env_file_reaches_the_scenario() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let url = rt.block_on(async {
        let app = axum::Router::new().route("/from-env", axum::routing::get(|| async { "ok" }));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        url
    });
    let (dir, _) = scenario_dir(
        "env.yaml",
        "name: env\nsteps:\n  - name: path from .env\n    http: { url: \"${HARNESS_TEST_BASE}/${HARNESS_TEST_PATH}\" }\n    checks: { status: 200 }\n",
    );
    std::fs::write(
        dir.path().join(".env"),
        format!("HARNESS_TEST_BASE={url}\nHARNESS_TEST_PATH=from-env\n"),
    )
    .unwrap();
    let out = run_in(dir.path(), &["run", "env.yaml", "--json", "r.json"], &[]);
    assert_exit(&out, 0);
    // --env-file is read before ./.env, which no longer has the path.
    std::fs::write(
        dir.path().join(".env"),
        format!("HARNESS_TEST_BASE={url}\n"),
    )
    .unwrap();
    std::fs::write(dir.path().join("vars.env"), "HARNESS_TEST_PATH=from-env\n").unwrap();
    let args = [
        "run",
        "env.yaml",
        "--env-file",
        "vars.env",
        "--json",
        "r.json",
    ];
    let out = run_in(dir.path(), &args, &[]);
    assert_exit(&out, 0);
    // A missing --env-file is invalid input.
    let args = ["run", "env.yaml", "--env-file", "nope.env"];
    let out = run_in(dir.path(), &args, &[]);
    assert_exit(&out, 2);
    assert!(text(&out.stderr).contains("cannot read --env-file nope.env"));
}
