//! `/api/library/status` and `/api/library/sync` as the seed's contract has
//! them (200 to start, integer totals, boolean `plex_connected`), and status
//! telling the truth at once: after another process's sync, and from the
//! first answer after a server change.

use std::time::Duration;

use plexcache_emulator::{Faults, Mutation};
use serde_json::json;

use crate::helpers::{TestApp, settings, spawn_plex};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn starting_a_sync_answers_200_and_progress_totals_are_integers() {
    let plex = spawn_plex(3_000, 51).await;
    let app = TestApp::spawn(&plex).await;
    let first = app.wait_idle().await;
    assert_eq!(first["plex_connected"], true, "{first}");
    plex.set_faults(Faults {
        item_latency_us: 1_000,
        ..Faults::default()
    });
    // A full sync: a refresh of an unchanged library is over too soon to
    // watch its phases.
    let (code, body) = app
        .post_json("/api/library/sync?full=true", &json!({}))
        .await;
    assert_eq!(code, 200, "{body}");
    assert_eq!(body["started"], true);
    assert!(body["blocking"].is_boolean());
    let (code, body) = app.post_json("/api/library/sync", &json!({})).await;
    assert_eq!((code, body["error"].as_str()), (409, Some("sync_running")));
    let mut phases = std::collections::BTreeSet::new();
    loop {
        let (_, status) = app.get_json("/api/library/status").await;
        assert!(status["plex_connected"].is_boolean(), "{status}");
        let Some(progress) = status["sync_progress"].as_object() else {
            break;
        };
        assert!(progress["total"].is_u64(), "{status}");
        assert!(progress["current"].is_u64(), "{status}");
        phases.insert(progress["phase"].as_str().unwrap().to_owned());
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    assert!(phases.contains("tracks"), "{phases:?}");
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn plex_connected_is_a_boolean_when_unconfigured_or_unknown() {
    let dir = tempfile::tempdir().unwrap();
    let s = plexcache::config::Settings::load(dir.path(), Default::default()).unwrap();
    let app = TestApp::spawn_with(dir, s).await;
    let (_, status) = app.get_json("/api/library/status").await;
    assert_eq!(status["plex_connected"], false, "{status}");
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn status_follows_a_sync_another_process_committed() {
    let plex = spawn_plex(2_000, 52).await;
    let app = TestApp::spawn(&plex).await;
    let before = app.wait_idle().await["track_count"].as_u64().unwrap();
    plex.mutate(Mutation::Add { count: 9 }).unwrap();
    crate::helpers::succeeds(
        crate::helpers::plexcache_cli(app.dir.path(), &plex.url(), "warn").arg("sync"),
    );
    let (_, page) = app
        .get_json("/api/library/tracks?exclude_live=false&limit=1")
        .await;
    let (_, status) = app.get_json("/api/library/status").await;
    let served = page["total"].as_u64().unwrap();
    assert!(served > before);
    let (_, stats) = app.get_json("/api/library/stats").await;
    assert_eq!(status["track_count"], stats["track_count"], "{status}");
    let (_, history) = app.get_json("/api/library/sync/history?limit=1").await;
    assert_eq!(history["syncs"][0]["outcome"], "success");
    assert!(history["syncs"][0]["started_at"].is_i64(), "{history}");
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn after_a_server_change_status_and_queries_agree_from_the_first_answer() {
    let plex = spawn_plex(1_500, 53).await;
    let mut app = TestApp::spawn(&plex).await;
    let old = app.wait_idle().await;
    assert!(old["track_count"].as_u64().unwrap() > 0);
    let dir = std::mem::replace(&mut app.dir, tempfile::tempdir().unwrap());
    app.stop().await;

    plex.set_machine_identifier("another-server-0002");
    plex.set_faults(Faults {
        item_latency_us: 3_000,
        ..Faults::default()
    });
    let s = settings(dir.path(), &plex);
    let app = TestApp::spawn_with(dir, s).await;
    let (_, status) = app.get_json("/api/library/status").await;
    let (_, page) = app
        .get_json("/api/library/tracks?exclude_live=false&limit=1")
        .await;
    assert_eq!(status["track_count"], page["total"], "{status}");
    assert_eq!(status["track_count"], 0, "{status}");
    assert_eq!(status["server_changed"], true, "{status}");
    assert_eq!(status["blocking"], true, "{status}");
    assert_eq!(
        status["server"]["machine_identifier"], "another-server-0002",
        "{status}"
    );
    plex.set_faults(Faults::default());
    let done = app.wait_idle().await;
    assert_eq!(done["server_changed"], false, "{done}");
    let (_, page) = app
        .get_json("/api/library/tracks?exclude_live=false&limit=1")
        .await;
    assert_eq!(done["track_count"], page["total"], "{done}");
    app.stop().await;
}
