//! The library service without HTTP: its background decisions against a
//! clock the test sets, with the emulator on 127.0.0.1 and a real cache file.

use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::Duration;

use plexcache::config::{Secret, Settings};
use plexcache::service::Library;
use plexcache::service::schedule::StaleCheck;
use plexcache::store::Store;
use plexcache_emulator::{EmulatorConfig, Library as PlexLibrary};

use crate::helpers::{TOKEN, emulator, settings, spawn_plex};

/// A library over a fresh cache whose clock reads `clock`.
fn library(settings: Settings, clock: &Arc<AtomicI64>) -> Library {
    let (store, _) = Store::open(&settings.database_path()).unwrap();
    let clock = clock.clone();
    Library::new(store, settings)
        .unwrap()
        .with_clock(move || clock.load(Ordering::SeqCst))
}

/// Waits (bounded) until no sync runs and the state says how the last ended.
async fn settle(library: &Library) {
    for _ in 0..600 {
        if !library.is_syncing() {
            library.refresh_state().await;
            let state = library.sync_state();
            if state.synced_at.is_some() || state.last_error.is_some() {
                return;
            }
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("the sync did not end within 30 s");
}

fn syncs(library: &Library) -> usize {
    library.store().history(100).unwrap().len()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_library_syncs_once_its_clock_reaches_the_refresh_age() {
    let plex = spawn_plex(300, 7).await;
    let dir = tempfile::tempdir().unwrap();
    let clock = Arc::new(AtomicI64::new(plexcache::clock::now_unix()));
    let lib = library(settings(dir.path(), &plex), &clock);
    assert_eq!(lib.sync_if_stale().await, StaleCheck::Sync, "never synced");
    settle(&lib).await;
    let synced_at = lib.sync_state().synced_at.unwrap();
    let age = lib.settings().refresh_age.as_secs() as i64;
    assert_eq!(syncs(&lib), 1);

    clock.store(synced_at + age - 1, Ordering::SeqCst);
    assert_eq!(lib.sync_if_stale().await, StaleCheck::Fresh);
    assert!(!lib.status().await.stale);
    assert_eq!(syncs(&lib), 1, "a fresh library is left alone");

    clock.store(synced_at + age, Ordering::SeqCst);
    assert!(lib.status().await.stale, "stale at the refresh age exactly");
    assert_eq!(lib.sync_if_stale().await, StaleCheck::Sync);
    assert_eq!(lib.sync_if_stale().await, StaleCheck::Running);
    settle(&lib).await;
    assert_eq!(syncs(&lib), 2);
    assert_eq!(lib.sync_state().track_count, 300);
    lib.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn after_a_failed_sync_the_library_waits_five_minutes_before_trying_again() {
    let plex = spawn_plex(50, 8).await;
    let dir = tempfile::tempdir().unwrap();
    let mut wrong = settings(dir.path(), &plex);
    wrong.plex_token = Some(Secret::new("not-the-token"));
    let clock = Arc::new(AtomicI64::new(plexcache::clock::now_unix()));
    let lib = library(wrong, &clock);
    assert!(lib.start_sync().await.is_ok());
    settle(&lib).await;
    let failed_at = lib.sync_state().last_error_at.expect("the sync failed");
    assert_eq!(syncs(&lib), 1);

    clock.store(failed_at + 299, Ordering::SeqCst);
    assert_eq!(lib.sync_if_stale().await, StaleCheck::BackingOff);
    assert_eq!(syncs(&lib), 1, "no retry during the back-off");
    clock.store(failed_at + 300, Ordering::SeqCst);
    assert_eq!(lib.sync_if_stale().await, StaleCheck::Sync);
    lib.stop().await;
    assert_eq!(syncs(&lib), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_probe_that_finds_another_server_drops_the_old_library_and_syncs_the_new() {
    let first = spawn_plex(40, 9).await;
    let mut config = EmulatorConfig::new(PlexLibrary::generate(25, 10), TOKEN);
    config.machine_identifier = "another-server-0001".into();
    let second = emulator(config).await;
    let dir = tempfile::tempdir().unwrap();
    let clock = Arc::new(AtomicI64::new(plexcache::clock::now_unix()));
    let lib = library(settings(dir.path(), &first), &clock);
    lib.start_sync().await.unwrap();
    settle(&lib).await;
    assert_eq!(lib.sync_state().track_count, 40);

    lib.stop().await;

    // The same cache, now configured for another server.
    let lib = library(settings(dir.path(), &second), &clock);
    lib.probe_now().await;
    // Whether the new library is synced yet or not, the old one is gone.
    let status = lib.status().await;
    assert_eq!(
        status.server.map(|s| s.machine_identifier).as_deref(),
        Some("another-server-0001")
    );
    assert_ne!(status.track_count, 40, "the old library is gone at once");
    for _ in 0..600 {
        lib.refresh_state().await;
        if !lib.is_syncing() && lib.sync_state().track_count == 25 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let state = lib.sync_state();
    assert_eq!(
        state.machine_identifier.as_deref(),
        Some("another-server-0001")
    );
    assert_eq!(state.track_count, 25);
    lib.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_library_keeps_itself_current_without_a_server_until_told_to_stop() {
    let plex = spawn_plex(60, 11).await;
    let dir = tempfile::tempdir().unwrap();
    let clock = Arc::new(AtomicI64::new(plexcache::clock::now_unix()));
    let lib = library(settings(dir.path(), &plex), &clock);
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let running = lib.clone();
    let daemon = tokio::spawn(async move {
        running
            .run_background(async move {
                let _ = stopped.await;
            })
            .await;
    });
    for _ in 0..600 {
        if lib.sync_state().track_count == 60 && !lib.is_syncing() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(lib.sync_state().track_count, 60, "the empty cache synced");
    assert_eq!(lib.probe().connected, Some(true));
    stop.send(()).unwrap();
    tokio::time::timeout(Duration::from_secs(15), daemon)
        .await
        .expect("stops when told")
        .unwrap();
    assert!(lib.shutdown_token().is_cancelled());
}
