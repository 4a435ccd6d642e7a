//! Live updates in `serve`: the app (in this process) follows the
//! emulator's notification stream; changes show in `/api/library/tracks`
//! within seconds, a dropped stream or a restarted server is caught up
//! with, a storm lands in a few transactions, and status says whether the
//! library is live.

use std::time::{Duration, Instant};

use plexcache::model::SyncKind;
use plexcache_emulator::{EmulatorHandle, Mutation};
use serde_json::Value;

use crate::helpers::{TestApp, spawn_plex};
use crate::refresh::CACHED;

/// An app following the first music section of `plex`, synced and live.
pub async fn live_app(plex: &EmulatorHandle) -> TestApp {
    let dir = tempfile::tempdir().unwrap();
    let mut settings = crate::helpers::settings(dir.path(), plex);
    settings.sections = vec![CACHED.into()];
    let app = TestApp::spawn_with(dir, settings).await;
    app.wait_idle().await;
    wait_live(&app, true).await;
    app
}

/// Polls `check` every 50 ms for at most `within`.
pub async fn eventually<F, Fut>(within: Duration, what: &str, mut check: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let start = Instant::now();
    while start.elapsed() < within {
        if check().await {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("{what}: not within {within:?}");
}

pub async fn wait_live(app: &TestApp, live: bool) {
    eventually(
        Duration::from_secs(20),
        &format!("live = {live}"),
        || async {
            let (_, status) = app.get_json("/api/library/status").await;
            status["live"] == Value::Bool(live)
        },
    )
    .await;
}

/// How many tracks `/api/library/tracks` finds for the search `q`.
async fn found(app: &TestApp, q: &str) -> u64 {
    let (code, page) = app
        .get_json(&format!(
            "/api/library/tracks?exclude_live=false&limit=1&q={q}"
        ))
        .await;
    assert_eq!(code, 200, "{page}");
    page["total"].as_u64().unwrap_or(0)
}

fn first_key(plex: &EmulatorHandle) -> u64 {
    plex.library()
        .tracks
        .iter()
        .find(|t| t.section == CACHED)
        .map(|t| t.rating_key)
        .unwrap()
}

fn rename(key: u64, title: &str) -> Mutation {
    Mutation::EditTrack {
        rating_key: key,
        title: Some(title.into()),
        original_title: None,
        genres: None,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_change_on_plex_shows_in_the_api_within_seconds() {
    let plex = spawn_plex(500, 21).await;
    let app = live_app(&plex).await;
    let key = first_key(&plex);
    let syncs = app.state.library().store().history(100).unwrap().len();
    plex.mutate(rename(key, "Quokkaphonic")).unwrap();
    eventually(Duration::from_secs(3), "the edit", || async {
        found(&app, "Quokkaphonic").await == 1
    })
    .await;
    plex.mutate(Mutation::Remove {
        rating_keys: vec![key],
    })
    .unwrap();
    eventually(Duration::from_secs(3), "the removal", || async {
        found(&app, "Quokkaphonic").await == 0
    })
    .await;
    // Applied live, not by another sync.
    let history = app.state.library().store().history(100).unwrap();
    assert_eq!(history.len(), syncs);
    let (_, status) = app.get_json("/api/library/status").await;
    assert!(status["last_change_at"].is_string(), "{status}");
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dropped_stream_reconnects_and_catches_up() {
    let plex = spawn_plex(500, 23).await;
    let app = live_app(&plex).await;
    let key = first_key(&plex);
    // Offline: the stream closes and the change made meanwhile sends its
    // events to nobody.
    plex.set_online(false);
    wait_live(&app, false).await;
    plex.mutate(rename(key, "Wombatcore")).unwrap();
    plex.set_online(true);
    wait_live(&app, true).await;
    eventually(Duration::from_secs(5), "the missed edit", || async {
        found(&app, "Wombatcore").await == 1
    })
    .await;
    let history = app.state.library().store().history(1).unwrap();
    assert_eq!(history[0].kind, SyncKind::Delta, "caught up by deltas");
    // A dropped connection alone reconnects too.
    plex.drop_notifications();
    plex.mutate(rename(key, "Numbatwave")).unwrap();
    eventually(Duration::from_secs(10), "the edit after a drop", || async {
        found(&app, "Numbatwave").await == 1
    })
    .await;
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restarted_server_is_caught_up_with() {
    let plex = spawn_plex(500, 25).await;
    let app = live_app(&plex).await;
    let key = first_key(&plex);
    plex.restart();
    plex.mutate(rename(key, "Bilbyfunk")).unwrap();
    eventually(
        Duration::from_secs(10),
        "the edit during the restart",
        || async { found(&app, "Bilbyfunk").await == 1 },
    )
    .await;
    wait_live(&app, true).await;
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_storm_of_additions_lands_in_a_few_transactions() {
    let plex = spawn_plex(500, 27).await;
    let app = live_app(&plex).await;
    let before = app.state.library().sync_state().track_count;
    let mut events = app.state.library().events().subscribe();
    plex.mutate(Mutation::Add { count: 5_000 }).unwrap();
    let mut changes = 0;
    let mut added = 0;
    let deadline = Instant::now() + Duration::from_secs(30);
    while added < 5_000 && Instant::now() < deadline {
        if let Ok(Ok(plexcache::service::LibraryEvent::Changed(change))) =
            tokio::time::timeout(Duration::from_secs(1), events.recv()).await
        {
            changes += 1;
            added += change.added;
        }
    }
    assert_eq!(added, 5_000);
    assert!(changes <= 5, "{changes} transactions");
    eventually(Duration::from_secs(5), "the count", || async {
        let (_, status) = app.get_json("/api/library/status").await;
        status["track_count"].as_i64() == Some(before + 5_000)
    })
    .await;
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn status_says_live_only_while_the_stream_runs() {
    let plex = spawn_plex(300, 29).await;
    let app = live_app(&plex).await;
    plex.set_online(false);
    wait_live(&app, false).await;
    plex.set_online(true);
    wait_live(&app, true).await;
    app.stop().await;
}
