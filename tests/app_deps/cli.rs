//! `harness app`'s dependency flags: what it prints (never a key), and bad input refused
//! with the flag to fix.

use crate::masking::banner;
use crate::support::{assert_code, harness};

/// `harness app` for Evolution, with `extra` flags.
fn args(extra: &[&'static str]) -> Vec<&'static str> {
    let base = "app --provider evolution --provider-url http://127.0.0.1:9 --port 0";
    base.split(' ').chain(extra.iter().copied()).collect()
}

#[test]
fn the_banner_names_each_dependency_and_the_mishandling_but_no_key() {
    let (llm_key, mp_token, mp_secret) = ("sk-llm-Secret-1", "APP_USR-Secret-2", "mp-Secret-3");
    let extra = [
        "--openai-base-url",
        "http://127.0.0.1:9/v1/",
        "--pms-url",
        "http://127.0.0.1:9/pms",
        "--mercadopago-url",
        "http://127.0.0.1:9",
        "--mishandle",
        "pms-timeout,duplicate-payment",
    ];
    let env = [
        ("HARNESS_EVOLUTION_API_KEY", "evo-key"),
        ("OPENAI_API_KEY", llm_key),
        ("MERCADOPAGO_ACCESS_TOKEN", mp_token),
        ("MERCADOPAGO_WEBHOOK_SECRET", mp_secret),
        ("OPENAI_MODEL", ""),
        ("OPENAI_BASE_URL", ""),
        ("HARNESS_APP_MISHANDLE", ""),
    ];
    let out = banner(&args(&extra), &env, "MISHANDLING");
    assert!(
        out.contains("LLM: http://127.0.0.1:9/v1 (model gpt-4o-mini)"),
        "{out}"
    );
    assert!(out.contains("PMS: http://127.0.0.1:9/pms"), "{out}");
    assert!(
        out.contains("notifications: POST /api/payments/webhook"),
        "{out}"
    );
    assert!(
        out.contains("MISHANDLING (deliberately broken): duplicate-payment, pms-timeout"),
        "{out}"
    );
    for secret in [llm_key, mp_token, mp_secret] {
        assert!(!out.contains(secret), "{secret} printed: {out}");
    }
}

#[test]
fn a_missing_key_or_an_unknown_mishandle_flag_is_invalid_input() {
    let out = harness(&args(&[
        "--api-key",
        "k",
        "--mercadopago-url",
        "http://127.0.0.1:9",
        "--mercadopago-token",
        "t",
    ]));
    assert_code(&out, 2);
    assert!(
        out.stderr.contains("--mercadopago-webhook-secret (or MERCADOPAGO_WEBHOOK_SECRET) is required with --mercadopago-url"),
        "{}",
        out.stderr
    );
    let out = harness(&args(&[
        "--api-key",
        "k",
        "--mishandle",
        "llm-timeout,slow-pms",
    ]));
    assert_code(&out, 2);
    assert!(
        out.stderr
            .contains("--mishandle: unknown mishandle flag `slow-pms`")
            && out.stderr.contains("llm-rate-limit"),
        "{}",
        out.stderr
    );
}
