//! Third-party bots built on public libraries — pywa and whatsapp-api-js (Meta), the Python
//! `evolutionapi` client (Evolution) — run unchanged in their own processes (tests/interop/),
//! pointed at the simulator by configuration only, and driven by harness scenarios through a
//! list menu, reply buttons, a voice note, an image and a location; the report carries the
//! end-to-end latency of every turn.
//!
//! These tests install nothing: `.ci/run` installs the pinned packages
//! (tests/interop/requirements.txt, tests/interop/wajs/package-lock.json). Without them a test
//! says so and passes only outside CI; with `CI` set it fails.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use crate::support::{
    assert_exit, free_port, read_report, run_in, text, wait_for_port, AppProcess,
};

const TOKEN: &str = "EAAHinteropToken";
const APP_SECRET: &str = "interop-app-secret";
const VERIFY_TOKEN: &str = "interop-verify";
const API_KEY: &str = "interop-api-key";

fn interop_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/interop")
}

/// `true` when `program args…` runs and exits 0.
fn runs(program: &str, args: &[&str], dir: &Path) -> bool {
    Command::new(program)
        .args(args)
        .current_dir(dir)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

/// Whether the bot's tools are installed; missing ones fail under CI, and are reported
/// (not silently skipped) elsewhere.
fn tools_present(what: &str, present: bool) -> bool {
    if present {
        return true;
    }
    let how =
        "install them as .ci/run does: python3 -m pip install -r tests/interop/requirements.txt; \
               npm ci --prefix tests/interop/wajs";
    assert!(
        std::env::var_os("CI").is_none(),
        "{what} is not installed and CI is set: {how}"
    );
    // Straight to the process's stderr (past the test harness's capture): a test that did not
    // run says so in the output.
    let _ = writeln!(
        std::io::stderr(),
        "NOT RUN: {what} is not installed ({how})"
    );
    false
}

/// Starts the bot (`program args`) with the simulator's URL and the bot's port, waits for it.
fn start_bot(program: &str, args: &[&str], dir: &Path, sim_port: u16, bot_port: u16) -> AppProcess {
    let mut cmd = Command::new(program);
    cmd.args(args)
        .current_dir(dir)
        .env("SIM_URL", format!("http://127.0.0.1:{sim_port}"))
        .env("BOT_PORT", bot_port.to_string())
        .env("PHONE_ID", "106540352242922")
        .env("TOKEN", TOKEN)
        .env("APP_SECRET", APP_SECRET)
        .env("VERIFY_TOKEN", VERIFY_TOKEN)
        .env("API_KEY", API_KEY)
        .stdout(Stdio::null())
        .stderr(Stdio::inherit());
    let bot = AppProcess(cmd.spawn().expect("the bot starts"));
    wait_for_port(bot_port, &format!("{program} {args:?}"));
    bot
}

/// Runs the interop scenario of `provider` against a bot on `bot_port`, simulator on
/// `sim_port`; asserts it passes with six awaited turns and their latency in the report.
fn drive(provider: &str, sim_port: u16, bot_port: u16) {
    let dir = tempfile::tempdir().unwrap();
    let scenario = interop_dir().join(format!("scenarios/interop-{provider}.yaml"));
    let bot_url = format!("http://127.0.0.1:{bot_port}");
    let args = [
        "run",
        scenario.to_str().unwrap(),
        "--provider",
        provider,
        "--sim-port",
        &sim_port.to_string(),
        "--app-url",
        &bot_url,
        "--webhook-url",
        &format!("{bot_url}/"),
        "--json",
        "r.json",
    ];
    let env = [
        ("HARNESS_META_TOKEN", TOKEN),
        ("HARNESS_META_APP_SECRET", APP_SECRET),
        ("HARNESS_META_VERIFY_TOKEN", VERIFY_TOKEN),
        ("HARNESS_EVOLUTION_API_KEY", API_KEY),
    ];
    let out = run_in(dir.path(), &args, &env);
    assert_exit(&out, 0);
    let report = read_report(&dir.path().join("r.json"));
    let e2e = &report["e2e"];
    assert_eq!(e2e["count"], 6, "{}", text(&out.stdout));
    assert_eq!(e2e["failures"], 0);
    let p95 = e2e["latency_ms"]["p95"].as_f64().unwrap();
    assert!(p95 > 0.0 && p95 < 5000.0, "e2e p95 {p95} ms");
}

#[test]
fn a_pywa_bot_is_driven_through_list_buttons_voice_image_and_location() {
    let dir = interop_dir();
    if !tools_present(
        "pywa (Python)",
        runs("python3", &["-c", "import pywa"], &dir),
    ) {
        return;
    }
    let (sim_port, bot_port) = (free_port(), free_port());
    let _bot = start_bot("python3", &["pywa_bot.py"], &dir, sim_port, bot_port);
    drive("meta", sim_port, bot_port);
}

#[test]
fn a_whatsapp_api_js_bot_is_driven_through_list_buttons_voice_image_and_location() {
    let dir = interop_dir().join("wajs");
    let installed = dir
        .join("node_modules/whatsapp-api-js/package.json")
        .exists();
    if !tools_present(
        "whatsapp-api-js (Node)",
        installed && runs("node", &["--version"], &dir),
    ) {
        return;
    }
    let (sim_port, bot_port) = (free_port(), free_port());
    let _bot = start_bot("node", &["bot.mjs"], &dir, sim_port, bot_port);
    drive("meta", sim_port, bot_port);
}

#[test]
fn an_evolutionapi_bot_is_driven_through_list_buttons_voice_image_and_location() {
    let dir = interop_dir();
    let present = runs("python3", &["-c", "import evolutionapi.client"], &dir);
    if !tools_present("evolutionapi (Python)", present) {
        return;
    }
    let (sim_port, bot_port) = (free_port(), free_port());
    let _bot = start_bot("python3", &["evolution_bot.py"], &dir, sim_port, bot_port);
    drive("evolution", sim_port, bot_port);
}
