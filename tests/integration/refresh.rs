//! The delta refresh: after a full sync, `SyncMode::Auto` fetches only what
//! changed, and the cache then equals a full sync of the same server state
//! into a fresh cache, field by field.

use plexcache::model::{SyncKind, Track};
use plexcache::sync::{SyncMode, SyncReport};
use plexcache_emulator::{EmulatorHandle, Faults, Mutation};
use tokio_util::sync::CancellationToken;

use crate::helpers::{Cache, plexcache_cli, spawn_plex, succeeds};

/// The first music section, the one caches here follow.
pub const CACHED: &str = "1";

/// A cache of `plex`'s first music section only, synced in full.
pub async fn cached_section(plex: &EmulatorHandle) -> Cache {
    let dir = tempfile::tempdir().unwrap();
    let mut settings = crate::helpers::settings(dir.path(), plex);
    settings.sections = vec![CACHED.into()];
    let cache = Cache::with_settings(dir, settings);
    let report = cache.sync().await.unwrap();
    assert_eq!(report.kind, SyncKind::Full);
    cache
}

pub async fn refresh(cache: &Cache) -> Result<SyncReport, plexcache::sync::SyncError> {
    let ticket = cache.engine.try_start()?;
    cache
        .engine
        .run_mode(ticket, CancellationToken::new(), SyncMode::Auto)
        .await
}

/// Every track (all fields, genres) and the stats of a full sync of the
/// same server into a fresh cache.
pub async fn assert_equals_a_fresh_sync(cache: &Cache, plex: &EmulatorHandle) {
    let fresh = cached_section(plex).await;
    let (got, want): (Vec<Track>, Vec<Track>) = (cache.all_tracks(), fresh.all_tracks());
    assert_eq!(got.len(), want.len(), "track count");
    for (g, w) in got.iter().zip(&want) {
        assert_eq!(g, w, "track {}", w.rating_key);
    }
    assert_eq!(
        cache.store().stats().unwrap(),
        fresh.store().stats().unwrap(),
        "stats"
    );
    let (a, b) = (
        cache.store().sync_state().unwrap(),
        fresh.store().sync_state().unwrap(),
    );
    assert_eq!(a.track_count, b.track_count);
}

fn track_keys(plex: &EmulatorHandle, section: &str) -> Vec<u64> {
    plex.library()
        .tracks
        .iter()
        .filter(|t| t.section == section)
        .map(|t| t.rating_key)
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nothing_changed_costs_a_handful_of_requests() {
    let plex = spawn_plex(3_000, 11).await;
    let cache = cached_section(&plex).await;
    let before = plex.stats();
    let report = refresh(&cache).await.unwrap();
    let after = plex.stats();
    let (spent, items) = (
        after.requests - before.requests,
        after.items_served - before.items_served,
    );
    assert_eq!(report.kind, SyncKind::Delta);
    assert_eq!(
        (
            report.committed.added,
            report.changed,
            report.committed.removed
        ),
        (0, 0, 0)
    );
    assert!(
        spent <= 12,
        "{spent} requests for a refresh that found nothing"
    );
    // A full sync lists every track, album and artist once at least.
    let full_items = before.items_served;
    assert!(
        items * 20 < full_items,
        "{items} items of a full sync's {full_items}"
    );
    assert_equals_a_fresh_sync(&cache, &plex).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_kind_of_change_arrives_by_a_delta_refresh() {
    let plex = spawn_plex(1_500, 5).await;
    let cache = cached_section(&plex).await;
    let keys = track_keys(&plex, CACHED);
    let library = plex.library();
    let albums: Vec<_> = library
        .albums
        .iter()
        .filter(|a| a.section == CACHED)
        .collect();
    let (album_a, album_b, album_c) = (
        albums[1].rating_key,
        albums[2].rating_key,
        albums[3].rating_key,
    );
    let artist = library
        .artists
        .iter()
        .find(|a| a.section == CACHED)
        .unwrap()
        .rating_key;
    let changes = [
        Mutation::Remove {
            rating_keys: vec![keys[0], keys[1]],
        },
        Mutation::EditTrack {
            rating_key: keys[2],
            title: Some("Renamed Song".into()),
            original_title: Some("Guest Artist".into()),
            genres: Some(vec!["Zydeco".into()]),
        },
        Mutation::Rate {
            rating_key: keys[3],
            rating: Some(9.0),
        },
        Mutation::Play {
            rating_key: keys[4],
        },
        Mutation::Add { count: 7 },
        Mutation::EditAlbum {
            rating_key: album_a,
            title: Some("Renamed Album".into()),
            year: Some(1977),
            genres: Some(vec!["Krautrock".into(), "Dub".into()]),
        },
        Mutation::EditArtist {
            rating_key: artist,
            title: Some("Renamed Artist".into()),
            genres: Some(vec!["Gamelan".into()]),
        },
        Mutation::MoveTrack {
            rating_key: keys[10],
            album_key: album_b,
        },
        Mutation::AddAlbum {
            section: None,
            tracks: 4,
        },
        Mutation::RemoveAlbum {
            rating_key: album_c,
        },
        Mutation::AddToSection {
            count: 5,
            section: "3".into(),
        },
    ];
    for change in changes {
        plex.mutate(change).unwrap();
    }
    let report = refresh(&cache).await.unwrap();
    assert_eq!(report.kind, SyncKind::Delta);
    assert!(report.committed.added >= 11, "{report:?}");
    assert!(report.committed.removed >= 3, "{report:?}");
    assert_equals_a_fresh_sync(&cache, &plex).await;
    let history = cache.store().history(1).unwrap();
    assert_eq!(history[0].kind, SyncKind::Delta);
}

/// Requests a refresh of `cache` makes, and its report.
async fn counted_refresh(cache: &Cache, plex: &EmulatorHandle) -> (u64, SyncReport) {
    let before = plex.stats().requests;
    let report = refresh(cache).await.unwrap();
    assert_eq!(report.kind, SyncKind::Delta);
    (plex.stats().requests - before, report)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_section_whose_content_did_not_change_is_asked_only_for_plays_and_ratings() {
    let plex = spawn_plex(1_000, 23).await;
    let cache = cached_section(&plex).await;
    let keys = track_keys(&plex, CACHED);
    // The server, its sections, the probe, then plays and ratings.
    let (spent, _) = counted_refresh(&cache, &plex).await;
    assert_eq!(spent, 5, "an unchanged section");
    plex.mutate(Mutation::Rate {
        rating_key: keys[3],
        rating: Some(4.0),
    })
    .unwrap();
    plex.mutate(Mutation::Play {
        rating_key: keys[4],
    })
    .unwrap();
    let (spent, report) = counted_refresh(&cache, &plex).await;
    assert_eq!(spent, 5, "plays and ratings leave contentChangedAt alone");
    assert_eq!(report.changed, 2, "{report:?}");
    // An edit moves the marker: the section's every delta and its count.
    plex.mutate(Mutation::Edit {
        rating_key: keys[5],
        title: Some("Edited".into()),
        original_title: None,
    })
    .unwrap();
    let (spent, report) = counted_refresh(&cache, &plex).await;
    assert_eq!(spent, 9, "a changed section");
    assert_eq!(report.changed, 1, "{report:?}");
    assert_equals_a_fresh_sync(&cache, &plex).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_album_listed_again_unchanged_is_not_fetched_again() {
    let plex = spawn_plex(1_000, 29).await;
    let cache = cached_section(&plex).await;
    let keys = track_keys(&plex, CACHED);
    let album = plex
        .library()
        .albums
        .iter()
        .find(|a| a.section == CACHED)
        .unwrap()
        .rating_key;
    plex.mutate(Mutation::EditAlbum {
        rating_key: album,
        title: Some("Edited Album".into()),
        year: None,
        genres: None,
    })
    .unwrap();
    // Nine requests, then the album's record and its tracks.
    let (spent, report) = counted_refresh(&cache, &plex).await;
    assert_eq!(spent, 11);
    assert!(report.changed > 0, "{report:?}");
    // The album is at the parents' cursor, so its delta lists it again;
    // equal to the cached record, it costs nothing more.
    plex.mutate(Mutation::Edit {
        rating_key: keys[0],
        title: Some("Edited Track".into()),
        original_title: None,
    })
    .unwrap();
    let (spent, report) = counted_refresh(&cache, &plex).await;
    assert_eq!(spent, 9);
    assert_eq!(report.changed, 1, "{report:?}");
    assert_equals_a_fresh_sync(&cache, &plex).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_that_ignores_delta_filters_gets_a_full_sync() {
    let plex = spawn_plex(800, 9).await;
    let cache = cached_section(&plex).await;
    let keys = track_keys(&plex, CACHED);
    plex.set_faults(Faults {
        ignore_delta_filters: true,
        ..Faults::default()
    });
    plex.mutate(Mutation::Remove {
        rating_keys: vec![keys[5]],
    })
    .unwrap();
    plex.mutate(Mutation::Rate {
        rating_key: keys[6],
        rating: Some(2.0),
    })
    .unwrap();
    let report = refresh(&cache).await.unwrap();
    assert_eq!(report.kind, SyncKind::Full);
    assert!(cache.engine.deltas_ignored());
    plex.set_faults(Faults::default());
    assert_equals_a_fresh_sync(&cache, &plex).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refresh_failing_midway_changes_nothing() {
    let plex = spawn_plex(800, 13).await;
    let cache = cached_section(&plex).await;
    let keys = track_keys(&plex, CACHED);
    let before = cache.all_tracks();
    let state = cache.store().sync_state().unwrap();
    plex.mutate(Mutation::Remove {
        rating_keys: vec![keys[1]],
    })
    .unwrap();
    plex.mutate(Mutation::Edit {
        rating_key: keys[2],
        title: Some("Changed".into()),
        original_title: None,
    })
    .unwrap();
    // Track pages fail from here on: the refresh stops after its first requests.
    plex.set_faults(plexcache_harness::page_fault(
        plexcache_emulator::PageFaultKind::Error500,
        1,
        0,
    ));
    let failed = refresh(&cache).await;
    plex.set_faults(Faults::default());
    assert!(failed.is_err(), "{failed:?}");
    assert_eq!(cache.all_tracks(), before);
    let after = cache.store().sync_state().unwrap();
    assert_eq!(after.cursors, state.cursors);
    assert_eq!(after.synced_at, state.synced_at);
    let report = refresh(&cache).await.unwrap();
    assert_eq!(report.kind, SyncKind::Delta);
    assert_equals_a_fresh_sync(&cache, &plex).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_command_refreshes_by_deltas_and_full_reads_everything() {
    let plex = spawn_plex(600, 17).await;
    let dir = tempfile::tempdir().unwrap();
    let sync = |extra: &[&str]| {
        let mut cmd = plexcache_cli(dir.path(), &plex.url(), "warn");
        cmd.arg("sync").args(extra);
        String::from_utf8_lossy(&succeeds(&mut cmd).stdout).into_owned()
    };
    let first = sync(&[]);
    assert!(first.starts_with("synced"), "{first}");
    let second = sync(&[]);
    assert!(second.contains("only the changes"), "{second}");
    let forced = sync(&["--full"]);
    assert!(!forced.contains("only the changes"), "{forced}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_api_refreshes_by_default_and_full_true_reads_everything() {
    use crate::helpers::TestApp;
    let plex = spawn_plex(400, 19).await;
    // No live updates: their catch-up refreshes would add to the history.
    let app = TestApp::spawn_without_live(&plex).await;
    app.wait_idle().await;
    let kinds = |app: &TestApp| {
        let store = app.state.store().clone();
        move || -> Vec<SyncKind> {
            let history = store.history(50).unwrap();
            history.into_iter().map(|h| h.kind).collect()
        }
    };
    assert_eq!(kinds(&app)(), vec![SyncKind::Full]);
    let (code, _) = app
        .post_json("/api/library/sync", &serde_json::Value::Null)
        .await;
    assert_eq!(code, 200);
    app.wait_idle().await;
    assert_eq!(kinds(&app)().first(), Some(&SyncKind::Delta));
    let (code, _) = app
        .post_json("/api/library/sync?full=true", &serde_json::Value::Null)
        .await;
    assert_eq!(code, 200);
    app.wait_idle().await;
    assert_eq!(kinds(&app)().first(), Some(&SyncKind::Full));
    let (_, history) = app.get_json("/api/library/sync/history?limit=2").await;
    assert_eq!(history["syncs"][0]["kind"], "full", "{history}");
    assert_eq!(history["syncs"][1]["kind"], "delta", "{history}");
    for bad in ["full=maybe", "fast=true"] {
        let (code, body) = app
            .post_json(
                &format!("/api/library/sync?{bad}"),
                &serde_json::Value::Null,
            )
            .await;
        assert_eq!(code, 400, "{bad}: {body}");
        assert_eq!(body["error"], "invalid_query", "{body}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_settings_api_shows_and_changes_the_sweep_and_live_updates() {
    use crate::helpers::TestApp;
    let plex = spawn_plex(300, 23).await;
    let app = TestApp::spawn(&plex).await;
    app.wait_idle().await;
    let (_, shown) = app.get_json("/api/settings").await;
    assert_eq!(shown["full_sweep_days"], 7.0, "{shown}");
    assert_eq!(shown["live_updates"], true, "{shown}");
    let change = serde_json::json!({"full_sweep_days": 0.0, "live_updates": false});
    let (code, saved) = app.client.put_json("/api/settings", &change).await.unwrap();
    assert_eq!(code, 200, "{saved}");
    assert_eq!(saved["full_sweep_days"], 0.0, "{saved}");
    assert_eq!(saved["live_updates"], false, "{saved}");
    let file = std::fs::read_to_string(app.dir.path().join("config.toml")).unwrap();
    assert!(file.contains("live_updates = false"), "{file}");
    let (code, body) = app
        .client
        .put_json(
            "/api/settings",
            &serde_json::json!({"full_sweep_days": -3.0}),
        )
        .await
        .unwrap();
    assert_eq!(code, 400, "{body}");
}
