//! Settings from every source: the Plex URL refuses credentials and is
//! normalized, the settings check is one short try whose errors are
//! sentences that never repeat what another server sent, switching servers
//! needs confirmation, concurrent changes are serialised, and a connection
//! change (or a save after a failed sync) syncs.

use std::os::unix::fs::PermissionsExt;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use axum::http::StatusCode;
use plexcache_emulator::{EmulatorConfig, EmulatorHandle, Library};
use plexcache_harness::default_settings;
use serde_json::{Value, json};
use tokio::io::AsyncReadExt;
use tokio::net::{TcpListener, TcpStream};

use crate::helpers::{TOKEN, TestApp, emulator, plexcache, serve_router, spawn_plex};

/// A token that must never come back from anywhere.
const URL_SECRET: &str = "url-secret-4b7e19";

async fn put_settings(app: &TestApp, body: &Value) -> (u16, Value) {
    let r = app
        .http
        .put(format!("{}/api/settings", app.url))
        .timeout(Duration::from_secs(30))
        .json(body)
        .send()
        .await
        .expect("the settings answer within 30 s");
    let status = r.status().as_u16();
    (status, r.json().await.unwrap_or(Value::Null))
}

/// An HTTP server of our own that answers every request with `status` and
/// a JSON `body`.
async fn answering_server(status: StatusCode, body: &'static str) -> String {
    let app = axum::Router::new()
        .fallback(move || async move { (status, [("content-type", "application/json")], body) });
    serve_router(app).await
}

/// Accepts connections and never answers; counts them and hands them over.
async fn silent_server() -> (
    String,
    Arc<AtomicUsize>,
    tokio::sync::mpsc::UnboundedReceiver<TcpStream>,
) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let count = Arc::new(AtomicUsize::new(0));
    let (send, receive) = tokio::sync::mpsc::unbounded_channel();
    let counter = count.clone();
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            counter.fetch_add(1, Ordering::SeqCst);
            let _ = send.send(stream);
        }
    });
    (url, count, receive)
}

/// A port nothing listens on.
async fn closed_port_url() -> String {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    drop(listener);
    url
}

/// An app with plexcache's default timeout (30 s) and retries (2).
async fn app_with_defaults(plex: &EmulatorHandle) -> TestApp {
    let dir = tempfile::tempdir().unwrap();
    let settings = default_settings(dir.path(), &plex.url(), TOKEN).unwrap();
    TestApp::spawn_with(dir, settings).await
}

fn config_text(app: &TestApp) -> String {
    std::fs::read_to_string(app.dir.path().join("config.toml")).unwrap_or_default()
}

async fn history_len(app: &TestApp) -> usize {
    let (_, history) = app.get_json("/api/library/sync/history").await;
    history["syncs"].as_array().map_or(0, Vec::len)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn credentials_in_the_plex_url_are_refused_by_the_dialog_and_never_shown() {
    let plex = spawn_plex(300, 8).await;
    let app = TestApp::spawn(&plex).await;
    app.wait_idle().await;
    let port = plex.addr().port();
    for url in [
        format!("{}/?X-Plex-Token={URL_SECRET}", plex.url()),
        format!("http://me:{URL_SECRET}@127.0.0.1:{port}"),
    ] {
        let (code, body) = put_settings(&app, &json!({"plex_url": url, "plex_token": TOKEN})).await;
        assert_eq!(
            (code, body["field"].as_str()),
            (400, Some("plex_url")),
            "{body}"
        );
        let detail = body["detail"].as_str().unwrap_or_default();
        assert!(
            detail.contains("token field"),
            "says where the token goes: {detail}"
        );
        assert!(!body.to_string().contains(URL_SECRET), "{body}");
    }
    let (_, shown) = app.get_json("/api/settings").await;
    assert_eq!(
        shown["plex_url"].as_str(),
        Some(plex.url().as_str()),
        "{shown}"
    );
    assert!(!config_text(&app).contains(URL_SECRET));
    let (_, status) = app.get_json("/api/library/status").await;
    assert!(!status.to_string().contains(URL_SECRET), "{status}");
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn credentials_in_the_plex_url_are_refused_from_environment_flags_and_file() {
    let dir = tempfile::tempdir().unwrap();
    let run = |url_env: Option<String>, args: &[&str]| {
        let mut cmd = plexcache();
        cmd.env("PLEXCACHE_DATA_DIR", dir.path())
            .env("PLEX_TOKEN", TOKEN)
            .env("RUST_LOG", "info")
            .args(args);
        if let Some(url) = url_env {
            cmd.env("PLEX_URL", url);
        }
        let out = cmd.output().unwrap();
        let text = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        (out.status.success(), text)
    };
    let (ok, text) = run(
        Some(format!("http://127.0.0.1:9/?X-Plex-Token={URL_SECRET}")),
        &["status"],
    );
    assert!(!ok && text.contains("PLEX_TOKEN"), "environment: {text}");
    assert!(!text.contains(URL_SECRET), "{text}");
    let flag = format!("http://plex:{URL_SECRET}@127.0.0.1:9");
    let (ok, text) = run(None, &["status", "--plex-url", &flag]);
    assert!(!ok && text.contains("--plex-token"), "flag: {text}");
    assert!(!text.contains(URL_SECRET), "{text}");
    std::fs::write(
        dir.path().join("config.toml"),
        format!("plex_url = \"http://127.0.0.1:9/?X-Plex-Token={URL_SECRET}\"\n"),
    )
    .unwrap();
    let (ok, text) = run(None, &["status"]);
    assert!(
        !ok && text.contains("plex_token in config.toml"),
        "file: {text}"
    );
    assert!(!text.contains(URL_SECRET), "{text}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_readable_config_file_holding_the_token_is_made_private_with_a_warning() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("config.toml");
    std::fs::write(&path, format!("plex_token = \"{URL_SECRET}\"\n")).unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
    let out = plexcache()
        .env("PLEXCACHE_DATA_DIR", dir.path())
        .env("RUST_LOG", "info")
        .arg("status")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(stderr.contains("readable by others"), "{stderr}");
    assert!(!stderr.contains(URL_SECRET), "{stderr}");
    let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_url_without_a_scheme_gets_http() {
    let plex = spawn_plex(300, 8).await;
    let app = TestApp::spawn(&plex).await;
    app.wait_idle().await;
    let bare = plex.url().trim_start_matches("http://").to_owned();
    let (code, body) = put_settings(&app, &json!({"plex_url": bare, "plex_token": TOKEN})).await;
    assert_eq!(code, 200, "{body}");
    assert_eq!(body["plex_url"].as_str(), Some(plex.url().as_str()));
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_settings_check_never_repeats_what_another_server_sent() {
    let plex = spawn_plex(300, 8).await;
    let app = TestApp::spawn(&plex).await;
    app.wait_idle().await;
    let other = answering_server(StatusCode::OK, "\"internal-secret-value-123\"").await;
    let (code, body) = put_settings(&app, &json!({"plex_url": other, "plex_token": TOKEN})).await;
    assert_eq!(
        (code, body["field"].as_str()),
        (400, Some("plex_url")),
        "{body}"
    );
    assert_eq!(
        body["detail"].as_str(),
        Some(format!("no Plex server answers at {other}; check the address").as_str()),
        "{body}"
    );
    let text = body.to_string();
    assert!(
        !text.contains("internal-secret") && !text.contains("bytes"),
        "{text}"
    );
    let (_, shown) = app.get_json("/api/settings").await;
    assert_eq!(shown["plex_url"].as_str(), Some(plex.url().as_str()));
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_answering_404_at_the_root_is_no_plex_server_on_the_url_field() {
    let plex = spawn_plex(300, 8).await;
    let app = TestApp::spawn(&plex).await;
    app.wait_idle().await;
    let router = answering_server(StatusCode::NOT_FOUND, "{}").await;
    let (code, body) = put_settings(&app, &json!({"plex_url": router, "plex_token": TOKEN})).await;
    assert_eq!(
        (code, body["field"].as_str()),
        (400, Some("plex_url")),
        "{body}"
    );
    let detail = body["detail"].as_str().unwrap_or_default();
    assert!(
        detail.contains(&format!("no Plex server answers at {router}")),
        "{detail}"
    );
    assert!(
        body["cause"].as_str().is_some_and(|c| c.contains("404")),
        "{body}"
    );
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refused_connection_is_a_sentence_with_the_cause_apart() {
    let plex = spawn_plex(300, 8).await;
    let app = TestApp::spawn(&plex).await;
    app.wait_idle().await;
    let closed = closed_port_url().await;
    let (code, body) = put_settings(&app, &json!({"plex_url": closed, "plex_token": TOKEN})).await;
    assert_eq!(
        (code, body["field"].as_str()),
        (400, Some("plex_url")),
        "{body}"
    );
    let detail = body["detail"].as_str().unwrap_or_default();
    assert!(
        detail.starts_with(&format!(
            "Plex is unreachable at {closed}: the connection was refused"
        )),
        "{detail}"
    );
    for technical in ["os error", "tcp connect", "error sending request"] {
        assert!(!detail.contains(technical), "{detail}");
    }
    assert!(
        body["cause"].as_str().is_some_and(|c| !c.is_empty()),
        "{body}"
    );

    // The status a person reads after the probe and a failed sync, too.
    plex.set_online(false);
    crate::api::probe_now(&app).await;
    let (code, _) = app.post_json("/api/library/sync", &json!({})).await;
    assert_eq!(code, 200);
    let status = app.wait_idle().await;
    for field in ["plex_error", "error"] {
        let text = status[field].as_str().unwrap_or_default();
        assert!(
            text.contains("the connection was refused"),
            "{field}: {status}"
        );
        assert!(
            !text.contains("os error") && !text.contains("tcp connect"),
            "{status}"
        );
    }
    let (_, history) = app.get_json("/api/library/sync/history").await;
    assert!(!history.to_string().contains("os error"), "{history}");
    plex.set_online(true);
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_silent_server_gets_one_short_try() {
    let plex = spawn_plex(300, 8).await;
    let app = app_with_defaults(&plex).await;
    app.wait_idle().await;
    let (silent, connections, _held) = silent_server().await;
    let started = std::time::Instant::now();
    let (code, body) = put_settings(&app, &json!({"plex_url": silent, "plex_token": TOKEN})).await;
    assert_eq!(
        (code, body["field"].as_str()),
        (400, Some("plex_url")),
        "{body}"
    );
    assert_eq!(connections.load(Ordering::SeqCst), 1, "one try, no retries");
    // Bounded by the check's own timeout, not the sync's 30 s per try.
    assert!(
        started.elapsed() < Duration::from_secs(20),
        "{:?}",
        started.elapsed()
    );
    assert!(
        body["detail"]
            .as_str()
            .is_some_and(|d| d.contains("did not answer")),
        "{body}"
    );
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dropped_settings_request_stops_its_check() {
    let plex = spawn_plex(300, 8).await;
    let app = app_with_defaults(&plex).await;
    app.wait_idle().await;
    let (silent, _, mut held) = silent_server().await;
    let gave_up = app
        .http
        .put(format!("{}/api/settings", app.url))
        .timeout(Duration::from_millis(700))
        .json(&json!({"plex_url": silent, "plex_token": TOKEN}))
        .send()
        .await;
    assert!(gave_up.is_err(), "the check was still waiting");
    let mut stream = tokio::time::timeout(Duration::from_secs(5), held.recv())
        .await
        .expect("the check connected")
        .expect("a connection");
    // The check lets go of its connection once its request is gone, well
    // before its own 5 s timeout would.
    let mut buf = vec![0u8; 4096];
    let closed = tokio::time::timeout(Duration::from_secs(3), async {
        loop {
            match stream.read(&mut buf).await {
                Ok(0) | Err(_) => return,
                Ok(_) => {}
            }
        }
    })
    .await;
    assert!(
        closed.is_ok(),
        "the check went on after its request was dropped"
    );
    // And the next change is not kept waiting.
    let (code, body) = put_settings(&app, &json!({"refresh_age_hours": 5})).await;
    assert_eq!(code, 200, "{body}");
    app.stop().await;
}

async fn spawn_other_plex(name: &str, id: &str) -> EmulatorHandle {
    let mut config = EmulatorConfig::new(Library::generate(120, 99), TOKEN);
    config.friendly_name = name.to_owned();
    config.machine_identifier = id.to_owned();
    emulator(config).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_different_server_needs_confirmation_before_the_library_is_dropped() {
    let plex = spawn_plex(300, 8).await;
    let app = TestApp::spawn(&plex).await;
    let before = app.wait_idle().await;
    let cached = before["track_count"].as_i64().unwrap();
    assert!(cached > 0);
    let other = spawn_other_plex("Other Plex", "b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0").await;
    let change = json!({"plex_url": other.url(), "plex_token": TOKEN});
    let (code, body) = put_settings(&app, &change).await;
    assert_eq!(
        (code, body["error"].as_str()),
        (409, Some("server_change_confirm")),
        "{body}"
    );
    let proposal = &body["server_change"];
    assert_eq!(proposal["server_name"], "Other Plex", "{body}");
    assert_eq!(
        proposal["cached_track_count"].as_i64(),
        Some(cached),
        "{body}"
    );
    let detail = body["detail"].as_str().unwrap_or_default();
    assert!(
        detail.contains("Other Plex") && detail.contains(&cached.to_string()),
        "{detail}"
    );
    // Nothing changed: same server, same library.
    let (_, shown) = app.get_json("/api/settings").await;
    assert_eq!(shown["plex_url"].as_str(), Some(plex.url().as_str()));
    assert!(!config_text(&app).contains(&other.url()));
    let (_, status) = app.get_json("/api/library/status").await;
    assert_eq!(status["track_count"].as_i64(), Some(cached), "{status}");

    let mut confirmed = change.clone();
    confirmed["confirm_server_change"] = json!(true);
    let (code, body) = put_settings(&app, &confirmed).await;
    assert_eq!(code, 200, "{body}");
    assert_eq!(body["plex_url"].as_str(), Some(other.url().as_str()));
    // The new library replaces the old one.
    let mut server = Value::Null;
    for _ in 0..200 {
        let (_, status) = app.get_json("/api/library/status").await;
        server = status["server"]["name"].clone();
        if server == "Other Plex"
            && status["is_syncing"] == false
            && status["synced_at"].is_string()
        {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(server, "Other Plex");
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_settings_changes_never_fail_and_the_file_matches() {
    let plex = spawn_plex(300, 8).await;
    let app = TestApp::spawn(&plex).await;
    app.wait_idle().await;
    let changes = (1..=300).map(|i| {
        let http = app.http.clone();
        let url = format!("{}/api/settings", app.url);
        tokio::spawn(async move {
            let r = http
                .put(url)
                .json(&json!({"refresh_age_hours": f64::from(i)}))
                .send()
                .await
                .unwrap();
            r.status().as_u16()
        })
    });
    let codes: Vec<u16> = futures::future::join_all(changes)
        .await
        .into_iter()
        .map(Result::unwrap)
        .collect();
    let failed = codes.iter().filter(|c| **c != 200).count();
    assert_eq!(
        failed,
        0,
        "{:?}",
        codes.iter().filter(|c| **c != 200).collect::<Vec<_>>()
    );
    let (_, shown) = app.get_json("/api/settings").await;
    let file: toml::Table = toml::from_str(&config_text(&app)).unwrap();
    assert_eq!(
        file["refresh_age_hours"].as_float(),
        shown["refresh_age_hours"].as_f64(),
        "running {shown} vs file {file}"
    );
    assert_eq!(file["plex_url"].as_str(), shown["plex_url"].as_str());
    let leftovers: Vec<String> = std::fs::read_dir(app.dir.path())
        .unwrap()
        .filter_map(Result::ok)
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".tmp"))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn saving_after_a_failed_sync_syncs_again() {
    let plex = spawn_plex(300, 8).await;
    let app = TestApp::spawn(&plex).await;
    app.wait_idle().await;
    plex.set_online(false);
    let (code, _) = app.post_json("/api/library/sync", &json!({})).await;
    assert_eq!(code, 200);
    let failed = app.wait_idle().await;
    assert!(failed["error"].is_string(), "{failed}");
    plex.set_online(true);
    let (code, body) = put_settings(&app, &json!({"refresh_age_hours": 12})).await;
    assert_eq!(code, 200, "{body}");
    let mut status = Value::Null;
    for _ in 0..200 {
        status = app.get_json("/api/library/status").await.1;
        if status["error"].is_null() && status["is_syncing"] == false {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(
        status["error"].is_null(),
        "the save retried the sync: {status}"
    );
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn changing_the_sections_syncs() {
    let plex = spawn_plex(300, 8).await;
    let app = TestApp::spawn(&plex).await;
    app.wait_idle().await;
    let before = history_len(&app).await;
    let (_, shown) = app.get_json("/api/settings").await;
    let key = shown["available_sections"][0]["key"].clone();
    assert!(key.is_string(), "{shown}");
    let (code, body) = put_settings(&app, &json!({"sections": [key]})).await;
    assert_eq!(code, 200, "{body}");
    let mut after = before;
    for _ in 0..200 {
        after = history_len(&app).await;
        let (_, status) = app.get_json("/api/library/status").await;
        if after > before && status["is_syncing"] == false {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(
        after > before,
        "a sync followed the change ({before} -> {after})"
    );
    app.stop().await;
}
