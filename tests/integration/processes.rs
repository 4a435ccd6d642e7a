//! Processes sharing one cache: `status`, `tracks`, `sync` and a second
//! `serve` while a server syncs; what a stopped or killed sync leaves in the
//! history; files that are not plexcache's.

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use plexcache::store::{Store, StoreError};
use plexcache_emulator::Faults;
use serde_json::json;

use plexcache_harness::{ServeChild, wait_until_served};

use crate::helpers::{Cache, TestApp, plexcache_cli, spawn_plex, synced_by_cli};

fn plexcache(dir: &std::path::Path, plex_url: &str) -> Command {
    plexcache_cli(dir, plex_url, "warn")
}

/// Runs a command, failing the test if it takes longer than `limit`.
fn run_within(cmd: &mut Command, limit: Duration) -> std::process::Output {
    let started = Instant::now();
    let out = cmd.output().unwrap();
    assert!(
        started.elapsed() < limit,
        "took {:?}: {}",
        started.elapsed(),
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

/// Waits until the app's sync reads tracks.
async fn wait_for_tracks_phase(app: &TestApp) {
    for _ in 0..400 {
        let (_, status) = app.get_json("/api/library/status").await;
        if status["sync_progress"]["phase"] == "tracks" {
            return;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    panic!("the sync never reached the tracks");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn other_processes_work_while_serve_syncs() {
    let plex = spawn_plex(3_000, 31).await;
    // No live updates: their catch-up refresh would add to the history.
    let app = TestApp::spawn_without_live(&plex).await;
    let before = app.wait_idle().await["track_count"].as_i64().unwrap();
    plex.set_faults(Faults {
        item_latency_us: 8_000,
        ..Faults::default()
    });
    // A full sync, slow enough to work beside.
    let (code, body) = app
        .post_json("/api/library/sync?full=true", &json!({}))
        .await;
    assert_eq!((code, body["started"].as_bool()), (200, Some(true)));
    wait_for_tracks_phase(&app).await;
    let dir = app.dir.path();
    let limit = Duration::from_secs(5);

    let out = run_within(
        plexcache(dir, &plex.url()).args(["status", "--json"]),
        limit,
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let status: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(status["track_count"].as_i64(), Some(before));
    assert_eq!(
        status["history"][0]["outcome"], "running",
        "a live sync is not interrupted: {status}"
    );

    let out = run_within(
        plexcache(dir, &plex.url()).args(["tracks", "--count"]),
        limit,
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    let out = run_within(plexcache(dir, &plex.url()).arg("sync"), limit);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(stderr.contains("already running"), "{stderr}");

    let mut command = plexcache(dir, &plex.url());
    command.stderr(Stdio::null());
    let started = Instant::now();
    let mut second = ServeChild::start(command).await.unwrap();
    let answer = reqwest::get(format!("{}/api/library/status", second.url)).await;
    let elapsed = started.elapsed();
    second.stop(Duration::ZERO).await;
    let status: serde_json::Value = answer.unwrap().json().await.unwrap();
    assert!(elapsed < limit, "a second serve took {elapsed:?}");
    assert_eq!(status["track_count"].as_i64(), Some(before), "{status}");

    plex.set_faults(Faults::default());
    app.wait_idle().await;
    let history = app.state.store().history(10).unwrap();
    let outcomes: Vec<&str> = history.iter().map(|h| h.outcome.name()).collect();
    assert_eq!(outcomes, ["success", "success"], "{history:?}");
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_database_of_another_program_is_refused_and_left_untouched() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("library_cache.db");
    {
        let conn = rusqlite::Connection::open(&path).unwrap();
        let tables: String = (0..40)
            .map(|i| format!("CREATE TABLE media_{i} (id INTEGER PRIMARY KEY, name TEXT);"))
            .collect();
        conn.execute_batch(&tables).unwrap();
        conn.execute_batch("CREATE TABLE tracks (id INTEGER PRIMARY KEY, path TEXT);")
            .unwrap();
    }
    let bytes = std::fs::read(&path).unwrap();
    let error = Store::open(&path).unwrap_err();
    assert!(matches!(error, StoreError::Foreign { .. }), "{error:?}");
    let message = error.to_string();
    assert!(message.contains("not a plexcache cache"), "{message}");
    assert!(message.len() < 400 && !message.contains('\n'), "{message}");
    assert!(Store::open_read_only(&path).is_err());
    assert_eq!(
        std::fs::read(&path).unwrap(),
        bytes,
        "the file is unchanged"
    );
    let names: Vec<String> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(names, ["library_cache.db"], "nothing was added next to it");

    let out = plexcache(dir.path(), "http://127.0.0.1:9")
        .args(["status"])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(stderr.contains("not a plexcache cache"), "{stderr}");
    assert!(stderr.lines().count() <= 4, "{stderr}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sigterm_mid_sync_shows_as_cancelled_not_as_an_error() {
    let (plex, dir) = synced_by_cli(3_000, 32).await;
    plex.set_faults(Faults {
        item_latency_us: 2_000,
        ..Faults::default()
    });
    let served = plex.stats().items_served;
    // A full sync: a refresh of an unchanged library is over at once.
    let mut child = plexcache(dir.path(), &plex.url())
        .args(["sync", "--full"])
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    wait_until_served(&plex, served, 1_000, Duration::from_secs(10)).await;
    // SAFETY: signals a child process this test started.
    assert_eq!(unsafe { libc::kill(child.id() as i32, libc::SIGTERM) }, 0);
    let status = child.wait().unwrap();
    assert!(!status.success());
    let store = Store::open_read_only(&dir.path().join("library_cache.db")).unwrap();
    let state = store.sync_state().unwrap();
    assert_eq!(state.last_error, None, "a stopped sync is no error");
    assert_eq!(store.history(1).unwrap()[0].outcome.name(), "cancelled");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_history_row_the_file_lost_is_written_when_the_sync_ends() {
    let plex = spawn_plex(1_000, 33).await;
    let cache = Cache::new(&plex);
    cache.sync().await.unwrap();
    // Slow answers keep the sync connecting while its row is taken away.
    plex.set_faults(Faults {
        latency_ms: 300,
        ..Faults::default()
    });
    let path = cache.store().path().to_path_buf();
    let sync = {
        let engine = cache.engine.clone();
        tokio::spawn(async move {
            let ticket = engine.try_start().unwrap();
            engine
                .run(ticket, tokio_util::sync::CancellationToken::new())
                .await
        })
    };
    let conn = rusqlite::Connection::open(&path).unwrap();
    let mut removed = 0;
    for _ in 0..200 {
        removed = conn
            .execute("DELETE FROM sync_history WHERE outcome = 'running'", [])
            .unwrap();
        if removed > 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    assert_eq!(removed, 1, "the running row was seen");
    drop(conn);
    plex.set_faults(Faults::default());
    sync.await.unwrap().unwrap();
    let history = cache.store().history(5).unwrap();
    let outcomes: Vec<&str> = history.iter().map(|h| h.outcome.name()).collect();
    assert_eq!(outcomes, ["success", "success"], "{history:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_row_left_running_by_a_dead_process_shows_as_interrupted() {
    let plex = spawn_plex(300, 34).await;
    let cache = Cache::new(&plex);
    cache.sync().await.unwrap();
    let path = cache.store().path().to_path_buf();
    rusqlite::Connection::open(&path)
        .unwrap()
        .execute(
            "INSERT INTO sync_history (started_at, outcome) VALUES (1, 'running')",
            [],
        )
        .unwrap();
    // Read-only: shown as interrupted, the file untouched.
    let reader = Store::open_read_only(&path).unwrap();
    let rows = reader.history(5).unwrap();
    assert!(
        rows.iter().any(|h| h.outcome.name() == "interrupted"),
        "{rows:?}"
    );
    let raw: i64 = rusqlite::Connection::open(&path)
        .unwrap()
        .query_row(
            "SELECT count(*) FROM sync_history WHERE outcome = 'running'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(raw, 1, "a read-only open writes nothing");
    // While a live sync holds the lock, a new open leaves the row alone.
    let lock = cache.store().try_lock_sync().unwrap().expect("free");
    let (other, _) = Store::open(&path).unwrap();
    assert!(
        other
            .history(5)
            .unwrap()
            .iter()
            .any(|h| h.outcome.name() == "running")
    );
    drop(lock);
    let (other, _) = Store::open(&path).unwrap();
    assert!(
        !other
            .history(5)
            .unwrap()
            .iter()
            .any(|h| h.outcome.name() == "running")
    );
}
