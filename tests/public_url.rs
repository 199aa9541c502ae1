//! Advertised URLs (`--public-url`, docs/simulators.md#public-url): an app that reaches the
//! harness at another address than the one it binds fetches media and follows links through
//! the advertised one. The harness binds 127.0.0.1; the app is given `http://127.0.0.2:PORT`,
//! a forwarder standing for the NAT, Docker port mapping or ingress in between, which records
//! what passes through it. (A real network namespace: scripts/public-url-netns.sh, as root.)

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

use crate::support::{bin, free_port, harness, text};

/// Bytes both ways of every connection through the forwarder.
type Seen = Arc<Mutex<Vec<u8>>>;

/// Copies `from` to `to`, recording what passes.
async fn pipe(
    mut from: tokio::net::tcp::OwnedReadHalf,
    mut to: tokio::net::tcp::OwnedWriteHalf,
    seen: Seen,
) {
    let mut buf = vec![0u8; 16 * 1024];
    while let Ok(n) = from.read(&mut buf).await {
        if n == 0 || to.write_all(&buf[..n]).await.is_err() {
            break;
        }
        seen.lock().unwrap().extend_from_slice(&buf[..n]);
    }
    let _ = to.shutdown().await;
}

/// A TCP forwarder on 127.0.0.2 (another loopback address) to `to`; its address and log.
async fn forwarder(to: SocketAddr) -> (SocketAddr, Seen) {
    let listener = TcpListener::bind("127.0.0.2:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let seen = Seen::default();
    let log = seen.clone();
    tokio::spawn(async move {
        while let Ok((client, _)) = listener.accept().await {
            let Ok(server) = TcpStream::connect(to).await else {
                continue;
            };
            let (cr, cw) = client.into_split();
            let (sr, sw) = server.into_split();
            tokio::spawn(pipe(cr, sw, log.clone()));
            tokio::spawn(pipe(sr, cw, log.clone()));
        }
    });
    (addr, seen)
}

/// `harness run e2e-booking` with the embedded simulator on 127.0.0.1 and advertised at the
/// forwarder: the bundled app is given the public URL as its provider's, and the voice note's
/// download (the app checks its sha256) goes through it.
async fn run_through_public_url(provider: &'static str) -> (String, String) {
    let sim_port = free_port();
    let (fwd, seen) = forwarder(SocketAddr::from(([127, 0, 0, 1], sim_port))).await;
    let public = format!("http://{fwd}");
    let dir = tempfile::tempdir().unwrap();
    let args = [
        "run",
        "e2e-booking",
        "--provider",
        provider,
        "--sim-port",
        &sim_port.to_string(),
        "--public-url",
        &public,
        "--report-dir",
        dir.path().to_str().unwrap(),
    ]
    .map(String::from);
    let out = tokio::task::spawn_blocking(move || bin().args(args).output().unwrap())
        .await
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{provider}: {}{}",
        text(&out.stdout),
        text(&out.stderr)
    );
    let seen = String::from_utf8_lossy(&seen.lock().unwrap()).into_owned();
    (public, seen)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_app_fetches_media_through_the_public_url_on_both_providers() {
    // Meta: the app asks `GET /{media-id}` for the media URL, which names the public URL,
    // then downloads it there.
    // upstream: Meta Cloud API reference, Media — "Retrieve Media URL" (`url` valid 5 minutes)
    let (public, seen) = run_through_public_url("meta").await;
    let url = format!("\"url\":\"{public}/whatsapp_business/attachments/?mid=");
    assert!(seen.contains(&url), "no media URL naming {public}: {seen}");
    assert!(
        seen.contains("GET /whatsapp_business/attachments/?mid="),
        "{seen}"
    );
    assert!(
        seen.contains("POST /v"),
        "the app sends through the public URL: {seen}"
    );

    // Evolution: the app asks the provider for the media's base64, at the public URL; the
    // webhooks' `server_url` (Evolution's SERVER_URL) names it.
    // upstream: evolution-api 2.3.6 src/api/controllers/chat.controller.ts (getBase64FromMediaMessage)
    let (public, seen) = run_through_public_url("evolution").await;
    assert!(
        seen.contains("POST /chat/getBase64FromMediaMessage/"),
        "no media download through {public}: {seen}"
    );
}

#[test]
fn a_bind_beyond_loopback_warns_and_a_bad_public_url_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let json = dir.path().join("r.json");
    let json = json.to_str().unwrap();
    let out = harness(&["run", "smoke", "--bind", "0.0.0.0", "-q", "--json", json]);
    assert!(
        out.stderr.contains("warning: listening on 0.0.0.0:"),
        "{}{}",
        out.stdout,
        out.stderr
    );
    let quiet = harness(&["run", "smoke", "-q", "--json", json]);
    assert!(
        !quiet.stderr.contains("warning: listening"),
        "{}",
        quiet.stderr
    );
    for bad in ["ftp://host", "not a url", "http://host/?q=1"] {
        let out = harness(&["run", "smoke", "--public-url", bad]);
        assert_eq!(out.code, 2, "{bad}: {}{}", out.stdout, out.stderr);
    }
}

#[tokio::test]
async fn checkout_links_of_the_payments_simulator_name_the_public_url() {
    // upstream: MercadoPago API reference, POST /checkout/preferences (`init_point`)
    let config = harness::sim::payments::PaymentsConfig {
        public_url: Some("http://127.0.0.2:9999/mp".into()),
        ..Default::default()
    };
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let sim = harness::sim::payments::start(config, listener)
        .await
        .unwrap();
    let pref: serde_json::Value = reqwest::Client::new()
        .post(format!("{}/checkout/preferences", sim.base_url))
        .bearer_auth("TEST-harness")
        .json(
            &serde_json::json!({"items": [{"title": "Consulta", "quantity": 1, "unit_price": 80}]}),
        )
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    for key in ["init_point", "sandbox_init_point"] {
        let link = pref[key].as_str().unwrap();
        assert!(
            link.starts_with("http://127.0.0.2:9999/mp/checkout/"),
            "{key}: {link}"
        );
    }
    assert!(
        sim.base_url.starts_with("http://127.0.0.1:"),
        "the harness still binds loopback"
    );
    sim.shutdown().await;
}

#[test]
fn harness_mock_advertises_the_public_url_and_says_where_it_listens() {
    let args = [
        "mock",
        "meta",
        "--port",
        "0",
        "--public-url",
        "http://app-net.test:8081/",
    ];
    let banner = crate::masking::banner(&args, &[], "Ctrl-C");
    assert!(
        banner.starts_with("Meta Cloud API simulator on http://app-net.test:8081\n"),
        "{banner}"
    );
    assert!(
        banner.contains("listening on http://127.0.0.1:"),
        "{banner}"
    );
}
