//! The commands and settings for running plexcache as a service: `backup`
//! while a sync runs, `health` for container health checks, JSON logs for
//! collectors, shell completions, the manual page and `--version`.

use std::process::Stdio;
use std::time::Duration;

use plexcache::store::Store;
use plexcache_emulator::{Faults, Mutation};
use plexcache_harness::{ServeChild, wait_until_served};
use rusqlite::{Connection, OpenFlags};

use crate::helpers::{TOKEN, plexcache, plexcache_cli, succeeds, synced_by_cli};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_backup_taken_during_a_sync_holds_one_whole_library() {
    let (plex, dir) = synced_by_cli(3_000, 41).await;
    let source = dir.path().join("library_cache.db");
    let matching = |path: &std::path::Path| {
        let store = Store::open_read_only(path).unwrap();
        let count = store.count(&Default::default()).unwrap();
        (store.sync_state().unwrap().track_count, count)
    };
    let before = matching(&source);
    plex.mutate(Mutation::Add { count: 200 }).unwrap();
    plex.set_faults(Faults {
        item_latency_us: 2_000,
        ..Faults::default()
    });
    let served = plex.stats().items_served;
    // A full sync: a refresh of 200 additions would be over at once.
    let mut sync = plexcache_cli(dir.path(), &plex.url(), "warn")
        .args(["sync", "--full"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    assert!(wait_until_served(&plex, served, 1_000, Duration::from_secs(20)).await);

    let copy = dir.path().join("copy.db");
    let out = succeeds(
        plexcache_cli(dir.path(), &plex.url(), "warn")
            .arg("backup")
            .arg(&copy),
    );
    assert!(
        sync.try_wait().unwrap().is_none(),
        "the sync was still running while the backup was taken"
    );
    let said = String::from_utf8_lossy(&out.stdout);
    assert!(said.contains("3000 tracks"), "{said}");

    // The copy is a sound SQLite file holding the library before the sync.
    let conn = Connection::open_with_flags(&copy, OpenFlags::SQLITE_OPEN_READ_ONLY).unwrap();
    let verdict: String = conn
        .query_row("PRAGMA integrity_check", [], |r| r.get(0))
        .unwrap();
    assert_eq!(verdict, "ok");
    drop(conn);
    assert_eq!(before.0, 3_000);
    assert_eq!(matching(&copy), before);

    plex.set_faults(Faults::default());
    assert!(sync.wait().unwrap().success());
    // A second backup sees the finished sync, and refuses to overwrite
    // without --force.
    let again = plexcache_cli(dir.path(), &plex.url(), "warn")
        .arg("backup")
        .arg(&copy)
        .output()
        .unwrap();
    assert!(!again.status.success());
    assert!(String::from_utf8_lossy(&again.stderr).contains("--force"));
    succeeds(
        plexcache_cli(dir.path(), &plex.url(), "warn")
            .args(["backup", "--force"])
            .arg(&copy),
    );
    let after = matching(&source);
    assert_eq!(after.0, 3_200);
    assert_eq!(matching(&copy), after);
}

#[test]
fn a_backup_without_a_cache_says_so_and_writes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let copy = dir.path().join("copy.db");
    let out = plexcache()
        .env("PLEXCACHE_DATA_DIR", dir.path().join("empty"))
        .arg("backup")
        .arg(&copy)
        .output()
        .unwrap();
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("no cache"), "{stderr}");
    let left: Vec<_> = std::fs::read_dir(dir.path()).unwrap().collect();
    assert!(!copy.exists() && left.len() <= 1, "{left:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn health_exits_zero_for_a_running_server_and_one_otherwise() {
    let (plex, dir) = synced_by_cli(200, 42).await;
    let mut command = plexcache();
    plexcache_harness::process::point_at(&mut command, dir.path(), &plex.url(), TOKEN);
    command.stderr(Stdio::null());
    let mut server = ServeChild::start(command).await.unwrap();

    let healthy = plexcache()
        .args(["health", "--listen", &server.addr])
        .output()
        .unwrap();
    assert!(healthy.status.success(), "{healthy:?}");
    // The address a container sets (0.0.0.0) is asked on loopback.
    let port = server.addr.rsplit(':').next().unwrap().to_owned();
    let unspecified = plexcache()
        .env("PLEXCACHE_LISTEN", format!("0.0.0.0:{port}"))
        .arg("health")
        .output()
        .unwrap();
    assert!(unspecified.status.success(), "{unspecified:?}");

    server.stop(Duration::from_secs(10)).await;
    let down = plexcache()
        .args(["health", "--listen", &server.addr, "--timeout-secs", "2"])
        .output()
        .unwrap();
    assert_eq!(down.status.code(), Some(1), "{down:?}");
    assert!(String::from_utf8_lossy(&down.stderr).contains("unhealthy"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn json_logs_are_one_object_per_line_without_the_token() {
    let (plex, dir) = synced_by_cli(500, 43).await;
    let out = succeeds(
        plexcache_cli(dir.path(), &plex.url(), "trace")
            .env("PLEXCACHE_LOG_FORMAT", "json")
            .arg("sync"),
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    let lines: Vec<&str> = stderr.lines().filter(|l| !l.trim().is_empty()).collect();
    assert!(lines.len() > 5, "trace logging says something: {stderr}");
    for line in &lines {
        let event: serde_json::Value = serde_json::from_str(line)
            .unwrap_or_else(|e| panic!("not one JSON object ({e}): {line}"));
        assert!(
            event["level"].is_string() && event["timestamp"].is_string(),
            "{line}"
        );
    }
    assert!(
        lines.iter().any(|l| l.contains("sync finished")),
        "{stderr}"
    );
    assert!(!stderr.contains(TOKEN), "the token leaked into the logs");
    assert!(!stderr.contains('\u{1b}'), "no colour codes in JSON");
}

#[test]
fn completions_manual_and_version_come_from_the_command_line_definition() {
    for (shell, marker) in [
        ("bash", "_plexcache"),
        ("zsh", "#compdef plexcache"),
        ("fish", "complete -c plexcache"),
    ] {
        let out = succeeds(plexcache().args(["completions", shell]));
        let script = String::from_utf8_lossy(&out.stdout);
        assert!(script.contains(marker), "{shell}: {script}");
        assert!(
            script.contains("backup") && script.contains("tracks"),
            "{shell}"
        );
    }
    let man = succeeds(plexcache().arg("man"));
    let page = String::from_utf8_lossy(&man.stdout);
    assert!(
        page.contains(".TH plexcache 1") && page.contains("serve"),
        "{page}"
    );

    let version = succeeds(plexcache().arg("--version"));
    let text = String::from_utf8_lossy(&version.stdout);
    assert!(text.starts_with("plexcache 0."), "{text}");
    let commit = text
        .split("(commit ")
        .nth(1)
        .and_then(|rest| rest.split(')').next())
        .unwrap_or_else(|| panic!("no commit in {text}"));
    assert!(
        commit == "unknown" || commit.chars().take(12).all(|c| c.is_ascii_hexdigit()),
        "{text}"
    );
}

/// One `/metrics` scrape with `client`: the status and the text.
async fn scrape(client: &plexcache_harness::ApiClient) -> (u16, String, String) {
    let response = client
        .request(reqwest::Method::GET, "/metrics")
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    let content_type = response
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    (status, content_type, response.text().await.unwrap())
}

/// The value of the sample `series` (name and labels as written), checking
/// on the way that every line is a comment or `series value`.
fn sample(text: &str, series: &str) -> Option<f64> {
    let mut found = None;
    for line in text.lines() {
        if line.starts_with('#') {
            assert!(
                ["# HELP ", "# TYPE ", "# UNIT ", "# EOF"]
                    .iter()
                    .any(|p| line.starts_with(p)),
                "{line}"
            );
            continue;
        }
        let (name, value) = line.rsplit_once(' ').unwrap_or_else(|| panic!("{line}"));
        let value: f64 = value.parse().unwrap_or_else(|_| panic!("{line}"));
        assert!(name.starts_with("plexcache_"), "{line}");
        if name == series {
            found = Some(value);
        }
    }
    found
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_need_the_password_parse_and_move_after_a_sync() {
    let plex = crate::helpers::spawn_plex(700, 44).await;
    let dir = tempfile::tempdir().unwrap();
    let mut command = plexcache();
    plexcache_harness::process::point_at(&mut command, dir.path(), &plex.url(), TOKEN);
    command
        .env("PLEXCACHE_PASSWORD", "metrics-secret")
        .stderr(Stdio::null());
    let server = ServeChild::start(command).await.unwrap();
    let anonymous = server.client().unwrap();
    let client = server.client().unwrap().with_password("metrics-secret");
    client.wait_synced().await.unwrap();

    let (status, _, body) = scrape(&anonymous).await;
    assert_eq!(status, 401, "{body}");
    assert!(!body.contains("plexcache_"), "{body}");

    let success = "plexcache_syncs_total{outcome=\"success\"}";
    let mut text = String::new();
    for _ in 0..100 {
        let (status, content_type, body) = scrape(&client).await;
        assert_eq!(status, 200);
        assert!(
            content_type.starts_with("application/openmetrics-text"),
            "{content_type}"
        );
        text = body;
        if sample(&text, success) == Some(1.0) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(sample(&text, success), Some(1.0), "{text}");
    assert_eq!(
        sample(&text, "plexcache_library_tracks"),
        Some(700.0),
        "{text}"
    );
    assert_eq!(
        sample(&text, "plexcache_plex_reachable"),
        Some(1.0),
        "{text}"
    );
    assert_eq!(
        sample(&text, "plexcache_sync_duration_seconds_count"),
        Some(1.0)
    );
    let status_requests = "plexcache_http_requests_total{route=\"/api/library/status\",method=\"GET\",status=\"200\"}";
    assert!(
        sample(&text, status_requests).unwrap_or(0.0) >= 1.0,
        "{text}"
    );
    assert!(text.ends_with("# EOF\n"));

    // A change on Plex and a second sync move the counts.
    plex.mutate(Mutation::Add { count: 30 }).unwrap();
    assert!(client.start_sync().await.unwrap());
    let mut moved = false;
    for _ in 0..200 {
        let (_, _, body) = scrape(&client).await;
        if sample(&body, success) == Some(2.0)
            && sample(&body, "plexcache_library_tracks") == Some(730.0)
        {
            moved = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(moved, "the second sync shows in the metrics");
    let (_, _, body) = scrape(&client).await;
    assert!(!body.contains(TOKEN), "the token never shows");
}
