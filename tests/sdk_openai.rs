//! The official `openai` SDKs (Python and Node, versions pinned in tests/sdk_openai/
//! requirements.txt and package.json + package-lock.json, installed by `.ci/run`) against
//! `harness mock openai`, unchanged but for the base URL: a scripted completion, a streamed
//! completion, a tool call, the Responses API, embeddings, a transcription, and a 429 with
//! `retry-after` (seen as `RateLimitError`, then honoured by the SDK's own retry).
//! Without an SDK the test says so and skips that SDK — except with `CI` set, where it fails.

use serde_json::Value;
use std::path::PathBuf;
use std::process::{Command, Stdio};

use crate::support::{bin, free_port, text, wait_for_port, AppProcess};

fn dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/sdk_openai")
}

/// `harness mock openai` with `rules`, in its own process; its base URL with `/v1`.
fn mock(rules: &str) -> (AppProcess, String) {
    let port = free_port();
    let child = bin()
        .args([
            "mock",
            "openai",
            "--port",
            &port.to_string(),
            "--api-key",
            "sk-test",
        ])
        .arg("--rules")
        .arg(dir().join(rules))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    wait_for_port(port, "the mock");
    (AppProcess(child), format!("http://127.0.0.1:{port}/v1"))
}

/// `None` when the SDK is missing outside CI (with a message); a failure in CI.
fn missing(why: &str) -> Option<Value> {
    let why = format!("{why}: python3 -m pip install -r tests/sdk_openai/requirements.txt; npm ci --prefix tests/sdk_openai");
    assert!(std::env::var_os("CI").is_none(), "in CI: {why}");
    eprintln!("skipped: {why}");
    None
}

fn run_client(program: &str, script: &str) -> Option<Value> {
    let (_base_mock, base) = mock("rules.yaml");
    let (_limited_mock, limited) = mock("limited.yaml");
    let out = Command::new(program)
        .arg(script)
        .current_dir(dir())
        .env("BASE", base)
        .env("LIMITED", limited)
        .env("KEY", "sk-test")
        .output();
    let out = match out {
        Ok(o) => o,
        Err(e) => return missing(&format!("`{program}` is not installed ({e})")),
    };
    assert!(
        out.status.success(),
        "{program} {script}: {}{}",
        text(&out.stdout),
        text(&out.stderr)
    );
    Some(serde_json::from_slice(&out.stdout).unwrap())
}

fn assert_sdk_saw_the_simulator(out: &Value) {
    let hello = "¡Hola! Soy el asistente de Clínica Sol, ¿en qué te ayudo?";
    assert_eq!(out["completion"], hello, "{out}");
    assert!(out["usage"].as_u64().unwrap() > 0);
    assert_eq!(out["stream"], hello);
    assert!(
        out["stream_chunks"].as_u64().unwrap() > 3,
        "streamed in pieces: {out}"
    );
    assert_eq!(out["stream_usage"], out["usage"]);
    assert_eq!(out["tool"]["name"], "extract_booking");
    assert_eq!(
        out["tool"]["arguments"],
        serde_json::json!({"intent": "book", "day": "martes"})
    );
    assert_eq!(out["tool"]["finish"], "tool_calls");
    assert_eq!(out["responses"], hello);
    assert_eq!(out["embedding_dims"], 1536);
    assert_eq!(out["transcript"], "quiero un turno para el martes");
    let limited = &out["rate_limited"];
    assert_eq!(limited["status"], 429, "{out}");
    assert_eq!(limited["code"], "rate_limit_exceeded");
    assert_eq!(limited["remaining"], "0");
    let after: f64 = limited["retry_after"].as_str().unwrap().parse().unwrap();
    assert!((1.0..=2.0).contains(&after), "{after}");
    assert_eq!(out["retried"], "hola de nuevo");
    assert!(
        out["retried_after_s"].as_f64().unwrap() >= 0.9,
        "the SDK waited retry-after: {out}"
    );
}

#[test]
fn the_python_sdk_works_against_the_simulator() {
    let probe = Command::new("python3")
        .args(["-c", "import openai"])
        .output();
    if !probe.is_ok_and(|o| o.status.success()) {
        missing("the `openai` Python package is not installed");
        return;
    }
    if let Some(out) = run_client("python3", "client.py") {
        assert_eq!(
            out["sdk"], "3.63.0",
            "the pinned version (requirements.txt)"
        );
        assert_sdk_saw_the_simulator(&out);
    }
}

#[test]
fn the_node_sdk_works_against_the_simulator() {
    if !dir().join("node_modules/openai/package.json").exists() {
        missing("the `openai` Node package is not installed");
        return;
    }
    if let Some(out) = run_client("node", "client.mjs") {
        assert_sdk_saw_the_simulator(&out);
    }
}
