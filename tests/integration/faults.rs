//! Faults of the quality spec, each against the emulator: the sync aborts
//! with a classified error and the previous library stays exactly as it was,
//! or it recovers and the cache equals the library.

use std::time::Duration;

use plexcache::model::Filter;
use plexcache::plex::PlexError;
use plexcache::store::{Store, StoreError, StoreOptions};
use plexcache::sync::SyncError;
use plexcache_emulator::{EmulatorHandle, Faults, PageFaultKind, Shift};
use plexcache_harness::page_fault;

use crate::helpers::{Cache, assert_cache_matches, settings, spawn_plex};

/// A cache synced once from a healthy emulator.
async fn synced(tracks: usize) -> (EmulatorHandle, Cache) {
    let plex = spawn_plex(tracks, 21).await;
    let cache = Cache::new(&plex);
    cache.sync().await.unwrap();
    (plex, cache)
}

/// The sync failed, the old library is served unchanged and the error is recorded.
fn assert_kept(
    cache: &Cache,
    plex: &EmulatorHandle,
    before: &plexcache_emulator::Library,
    kind: &str,
) {
    assert_cache_matches(cache, before);
    let state = cache.store().sync_state().unwrap();
    assert_eq!(
        state.last_error_kind.as_deref(),
        Some(kind),
        "{:?}",
        state.last_error
    );
    assert!(state.last_error.is_some());
    let history = cache.store().history(1).unwrap();
    assert_eq!(history[0].outcome.name(), "failed");
    let _ = plex;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn plex_going_offline_mid_sync_keeps_the_old_library() {
    let (plex, cache) = synced(3_000).await;
    let before = plex.library();
    plex.set_faults(Faults {
        offline_after_items: Some(1_500),
        ..Faults::default()
    });
    let error = cache.sync().await.unwrap_err();
    assert!(
        matches!(error, SyncError::Plex(PlexError::Unreachable { .. })),
        "{error:?}"
    );
    assert_kept(&cache, &plex, &before, "unreachable");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_page_failing_once_is_retried_and_the_sync_succeeds() {
    let (plex, cache) = synced(2_000).await;
    plex.set_faults(page_fault(PageFaultKind::Error500, 1, 1));
    cache.sync().await.unwrap();
    assert_cache_matches(&cache, &plex.library());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_page_failing_every_time_aborts_the_sync() {
    let (plex, cache) = synced(2_000).await;
    let before = plex.library();
    plex.set_faults(page_fault(PageFaultKind::Error500, 1, 0));
    let error = cache.sync().await.unwrap_err();
    assert!(
        matches!(
            error,
            SyncError::Plex(PlexError::ServerError { status: 500, .. })
        ),
        "{error:?}"
    );
    assert_kept(&cache, &plex, &before, "server_error");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hanging_page_times_out_and_aborts() {
    let plex = spawn_plex(1_000, 4).await;
    let dir = tempfile::tempdir().unwrap();
    let mut s = settings(dir.path(), &plex);
    s.timeout = Duration::from_millis(300);
    let cache = Cache::with_settings(dir, s);
    cache.sync().await.unwrap();
    let before = plex.library();
    plex.set_faults(page_fault(PageFaultKind::Hang, 0, 0));
    let started = std::time::Instant::now();
    let error = cache.sync().await.unwrap_err();
    assert!(
        matches!(error, SyncError::Plex(PlexError::Timeout { .. })),
        "{error:?}"
    );
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "gave up after retries, not forever"
    );
    assert_kept(&cache, &plex, &before, "timeout");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn broken_bodies_abort_with_a_clear_error() {
    for kind in [
        PageFaultKind::Malformed,
        PageFaultKind::Truncated,
        PageFaultKind::WrongTypes,
        PageFaultKind::Drop,
    ] {
        let (plex, cache) = synced(1_500).await;
        let before = plex.library();
        plex.set_faults(page_fault(kind, 1, 0));
        let error = cache.sync().await.unwrap_err();
        let message = plexcache::sync::error_message(&error);
        assert!(
            matches!(
                error,
                SyncError::Plex(PlexError::BadResponse { .. } | PlexError::Unreachable { .. })
            ),
            "{kind:?}: {message}"
        );
        let state = cache.store().sync_state().unwrap();
        assert_cache_matches(&cache, &before);
        assert!(state.last_error.is_some_and(|e| !e.is_empty()), "{kind:?}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_401_mid_sync_says_token_rejected() {
    let (plex, cache) = synced(2_000).await;
    let before = plex.library();
    plex.set_faults(Faults {
        unauthorized_after: Some(6),
        ..Faults::default()
    });
    let error = cache.sync().await.unwrap_err();
    assert!(
        matches!(error, SyncError::Plex(PlexError::TokenRejected { .. })),
        "{error:?}"
    );
    assert!(error.to_string().contains("token"));
    assert_kept(&cache, &plex, &before, "token_rejected");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_library_changing_between_pages_ends_exact() {
    let plex = spawn_plex(4_000, 9).await;
    let cache = Cache::new(&plex);
    plex.set_faults(Faults {
        shift_per_page: Some(Shift { add: 3, remove: 4 }),
        ..Faults::default()
    });
    // The changes stop after a while, as they do on a real server.
    let watcher = plex.clone();
    let progress = cache.engine.progress().clone();
    let calm = tokio::spawn(async move {
        while !progress
            .report()
            .is_some_and(|r| r.phase == plexcache::sync::Phase::Tracks && r.current >= 1_500)
        {
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
        watcher.set_faults(Faults::default());
    });
    let report = cache.sync().await.unwrap();
    calm.await.unwrap();
    assert!(report.passes > 1, "the change was detected");
    assert_cache_matches(&cache, &plex.library());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn capped_pages_and_missing_totals_still_give_every_track() {
    let plex = spawn_plex(2_500, 12).await;
    plex.set_faults(Faults {
        page_size_cap: Some(120),
        ..Faults::default()
    });
    let cache = Cache::new(&plex);
    cache.sync().await.unwrap();
    assert_cache_matches(&cache, &plex.library());
    plex.set_faults(Faults {
        omit_total_size: true,
        ..Faults::default()
    });
    let cache = Cache::new(&plex);
    cache.sync().await.unwrap();
    assert_cache_matches(&cache, &plex.library());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_corrupted_cache_file_is_moved_aside_and_rebuilt() {
    let plex = spawn_plex(1_000, 2).await;
    let dir = tempfile::tempdir().unwrap();
    let s = settings(dir.path(), &plex);
    std::fs::write(s.database_path(), vec![0x42u8; 64 * 1024]).unwrap();
    let (store, notice) = Store::open(&s.database_path()).unwrap();
    let notice = notice.expect("corruption is reported");
    assert!(matches!(notice, StoreError::Corrupted { .. }));
    assert!(notice.to_string().contains("moved to"));
    let aside: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .filter_map(|e| e.ok())
        .filter(|e| e.file_name().to_string_lossy().contains(".corrupt-"))
        .collect();
    assert_eq!(aside.len(), 1, "the damaged file is kept for inspection");
    assert_eq!(
        store.sync_state().unwrap().last_error_kind.as_deref(),
        Some("corrupted")
    );
    drop(store);
    let cache = Cache::with_settings(dir, s);
    cache.sync().await.unwrap();
    assert_cache_matches(&cache, &plex.library());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_disk_fails_clearly_and_keeps_the_old_library() {
    let plex = spawn_plex(300, 6).await;
    let dir = tempfile::tempdir().unwrap();
    let s = settings(dir.path(), &plex);
    let cache = Cache::with_settings(tempfile::tempdir().unwrap(), s.clone());
    cache.sync().await.unwrap();
    drop(cache);
    let before = plex.library();
    plex.mutate(plexcache_emulator::Mutation::Add { count: 3_000 })
        .unwrap();
    let pages: u32 = {
        let (store, _) = Store::open(&s.database_path()).unwrap();
        store
            .writer()
            .unwrap()
            .query_row("PRAGMA page_count", [], |r| r.get(0))
            .unwrap()
    };
    let (store, _) = Store::open_with(
        &s.database_path(),
        StoreOptions {
            max_pages: Some(pages + 30),
        },
    )
    .unwrap();
    let engine =
        plexcache::sync::SyncEngine::new(store, std::sync::Arc::new(std::sync::RwLock::new(s)));
    let ticket = engine.try_start().unwrap();
    let error = engine
        .run(ticket, tokio_util::sync::CancellationToken::new())
        .await
        .unwrap_err();
    assert!(
        matches!(error, SyncError::Store(StoreError::DiskFull(_))),
        "{error:?}"
    );
    assert!(
        error.to_string().contains("cache")
            || plexcache::sync::error_message(&error).contains("full")
    );
    let count = engine
        .store()
        .count(&Filter {
            exclude_live: false,
            ..Filter::default()
        })
        .unwrap();
    assert_eq!(
        count as usize,
        before.tracks.iter().filter(|t| t.section != "2").count()
    );
    drop(dir);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_new_server_never_serves_the_old_servers_tracks() {
    let (plex, cache) = synced(1_000).await;
    assert!(cache.store().count(&Filter::default()).unwrap() > 0);
    plex.set_machine_identifier("another-server-0001");
    // The new server fails mid-sync: the old library must still be gone.
    plex.set_faults(page_fault(PageFaultKind::Error500, 0, 0));
    let _ = cache.sync().await.unwrap_err();
    let everything = Filter {
        exclude_live: false,
        ..Filter::default()
    };
    assert_eq!(cache.store().count(&everything).unwrap(), 0);
    assert_eq!(
        cache
            .store()
            .sync_state()
            .unwrap()
            .machine_identifier
            .as_deref(),
        Some("another-server-0001")
    );
    plex.set_faults(Faults::default());
    cache.sync().await.unwrap();
    assert_cache_matches(&cache, &plex.library());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_library_growing_at_the_end_without_totals_still_ends_the_sync() {
    let plex = spawn_plex(1_200, 16).await;
    plex.set_faults(Faults {
        shift_per_page: Some(Shift { add: 2, remove: 1 }),
        page_size_cap: Some(100),
        omit_total_size: true,
        ..Faults::default()
    });
    let cache = Cache::new(&plex);
    let finished = tokio::time::timeout(Duration::from_secs(60), cache.sync()).await;
    assert!(
        finished.is_ok(),
        "the sync ends even though the server never stops growing"
    );
    plex.set_faults(Faults::default());
    cache.sync().await.unwrap();
    assert_cache_matches(&cache, &plex.library());
}
