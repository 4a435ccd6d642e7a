//! The command line as a user runs it: a real `plexcache` process against
//! the emulator, including one killed with SIGKILL mid-sync.

use std::process::{Command, Stdio};
use std::time::Duration;

use plexcache::model::Filter;
use plexcache::store::Store;
use plexcache_emulator::{Faults, Mutation};

use plexcache_harness::{ServeChild, wait_until_served};

use crate::helpers::{TOKEN, plexcache_cli, spawn_plex, synced_by_cli};

fn plexcache(dir: &std::path::Path, plex_url: &str) -> Command {
    plexcache_cli(dir, plex_url, "trace")
}

/// Every track, live ones included.
fn everything() -> Filter {
    Filter {
        exclude_live: false,
        ..Filter::default()
    }
}

/// The cache the command line keeps in `dir`.
fn open_cache(dir: &std::path::Path) -> Store {
    Store::open(&dir.join("library_cache.db")).unwrap().0
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sync_status_and_tracks_work_from_the_command_line() {
    let plex = spawn_plex(2_000, 13).await;
    let dir = tempfile::tempdir().unwrap();
    let out = plexcache(dir.path(), &plex.url())
        .arg("sync")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(String::from_utf8_lossy(&out.stdout).contains("synced"));
    assert!(
        !stderr.contains(TOKEN),
        "the token never reaches a log line, even at trace level"
    );

    let out = plexcache(dir.path(), &plex.url())
        .args(["status", "--json"])
        .output()
        .unwrap();
    let status: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(status["track_count"].as_i64().unwrap() > 1_500);
    assert_eq!(status["history"][0]["outcome"], "success");

    let out = plexcache(dir.path(), &plex.url())
        .args(["tracks", "--csv", "--limit", "5"])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success());
    assert_eq!(
        text.lines().next(),
        Some(
            "rating_key,title,artist,album_artist,album,year,genres,rating,play_count,duration_ms,is_live"
        )
    );
    let out = plexcache(dir.path(), &plex.url())
        .args(["tracks", "--decades", "1995s"])
        .output()
        .unwrap();
    assert!(!out.status.success(), "a bad filter fails with a message");
    assert!(String::from_utf8_lossy(&out.stderr).contains("decades"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_sync_exits_non_zero_with_the_cause() {
    let plex = spawn_plex(200, 13).await;
    let dir = tempfile::tempdir().unwrap();
    let out = plexcache(dir.path(), &plex.url())
        .env("PLEX_TOKEN", "wrong")
        .arg("sync")
        .output()
        .unwrap();
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("rejected the token"), "{stderr}");
    assert!(!stderr.contains("wrong\""), "{stderr}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigkill_mid_sync_leaves_the_old_cache_intact() {
    let (plex, dir) = synced_by_cli(3_000, 14).await;
    let everything = everything();
    let before = open_cache(dir.path()).count(&everything).unwrap();
    plex.mutate(Mutation::Add { count: 50 }).unwrap();
    plex.set_faults(Faults {
        item_latency_us: 500,
        ..Faults::default()
    });
    let served_before = plex.stats().items_served;
    // A full sync: a refresh of 50 additions would be over before the kill.
    let mut child = plexcache(dir.path(), &plex.url())
        .args(["sync", "--full"])
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    // Kill it once it is well into the tracks.
    wait_until_served(&plex, served_before, 1_500, Duration::from_secs(4)).await;
    child.kill().unwrap();
    child.wait().unwrap();
    let store = open_cache(dir.path());
    assert_eq!(
        store.count(&everything).unwrap(),
        before,
        "old library served"
    );
    let check: String = store
        .writer()
        .unwrap()
        .query_row("PRAGMA integrity_check", [], |r| r.get(0))
        .unwrap();
    assert_eq!(check, "ok");
    let history = store.history(5).unwrap();
    assert_eq!(
        history[0].outcome.name(),
        "interrupted",
        "not stuck in running"
    );
    plex.set_faults(Faults::default());
    let out = plexcache(dir.path(), &plex.url())
        .arg("sync")
        .output()
        .unwrap();
    assert!(out.status.success());
    assert_eq!(store.count(&everything).unwrap(), before + 50);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_stops_serve_promptly_and_cancels_the_sync_cleanly() {
    let plex = spawn_plex(3_000, 15).await;
    let dir = tempfile::tempdir().unwrap();
    assert!(
        plexcache(dir.path(), &plex.url())
            .arg("sync")
            .output()
            .unwrap()
            .status
            .success()
    );
    let everything = everything();
    let before = open_cache(dir.path()).count(&everything).unwrap();
    plex.mutate(Mutation::Add { count: 25 }).unwrap();
    plex.set_faults(Faults {
        item_latency_us: 2_000,
        ..Faults::default()
    });
    // Without live updates (their catch-up would take the additions in at
    // once), and a full sync, which the additions make long.
    let mut command = plexcache(dir.path(), &plex.url());
    command
        .stderr(Stdio::null())
        .env("PLEXCACHE_LIVE_UPDATES", "false");
    let mut child = ServeChild::start(command).await.unwrap();
    let http = reqwest::Client::new();
    let base = child.url.clone();
    let mut started = false;
    for _ in 0..500 {
        if let Ok(r) = http
            .post(format!("{base}/api/library/sync?full=true"))
            .send()
            .await
        {
            started = r.status().as_u16() == 200 || r.status().as_u16() == 409;
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert!(started, "the server answered");
    // Let the sync get going, then stop the server.
    let served = plex.stats().items_served;
    wait_until_served(&plex, served, 200, Duration::from_secs(3)).await;
    let stopping = std::time::Instant::now();
    let status = child
        .stop(Duration::from_secs(10))
        .await
        .unwrap_or_else(|| panic!("serve did not stop within 10 s of SIGTERM"));
    assert!(status.success(), "clean exit: {status:?}");
    assert!(
        stopping.elapsed() < Duration::from_secs(5),
        "prompt: {:?}",
        stopping.elapsed()
    );
    let store = open_cache(dir.path());
    assert_eq!(
        store.count(&everything).unwrap(),
        before,
        "old library kept"
    );
    assert_eq!(store.history(1).unwrap()[0].outcome.name(), "cancelled");
}
