//! A cache in a temporary directory, opened and synced in this process from
//! an emulated Plex, and the check that it holds the emulator's library.
//!
//! Test-only: these helpers panic (failing the test) on errors.

use std::path::Path;
use std::sync::{Arc, RwLock};

use plexcache::config::{Overrides, Secret, Settings};
use plexcache::model::{Filter, Sort, Track};
use plexcache::store::Store;
use plexcache::sync::{SyncEngine, SyncError, SyncReport};
use plexcache_emulator::{EmulatorHandle, Library};
use tokio_util::sync::CancellationToken;

use crate::library::{Expected, as_expected, expected_library};
use crate::plex::TOKEN;

/// Settings of a cache in `data_dir` for the Plex server at `plex_url`,
/// with plexcache's defaults for everything else.
pub fn default_settings(data_dir: &Path, plex_url: &str, token: &str) -> anyhow::Result<Settings> {
    Ok(Settings::load(data_dir, overrides(plex_url, token))?)
}

/// As [`default_settings`], with short timeouts and few retries so fault
/// tests finish quickly.
pub fn test_settings(data_dir: &Path, plex_url: &str, token: &str) -> anyhow::Result<Settings> {
    Ok(Settings::load(
        data_dir,
        Overrides {
            timeout_secs: Some(2.0),
            retries: Some(2),
            page_size: Some(500),
            ..overrides(plex_url, token)
        },
    )?)
}

fn overrides(plex_url: &str, token: &str) -> Overrides {
    Overrides {
        plex_url: Some(plex_url.to_owned()),
        plex_token: Some(Secret::new(token)),
        ..Overrides::default()
    }
}

/// A cache in a temporary directory of its own and the engine that syncs
/// it.
pub struct Cache {
    /// Kept so the directory lives as long as the cache.
    _dir: tempfile::TempDir,
    pub engine: SyncEngine,
}

impl Cache {
    /// A fresh cache for `plex` (which expects [`TOKEN`]), with
    /// [`test_settings`].
    pub fn new(plex: &EmulatorHandle) -> Cache {
        let dir = tempfile::tempdir().expect("a temporary directory");
        let settings = test_settings(dir.path(), &plex.url(), TOKEN).expect("settings");
        Self::with_settings(dir, settings)
    }

    /// The cache `settings` describe, in `dir`.
    pub fn with_settings(dir: tempfile::TempDir, settings: Settings) -> Cache {
        let (store, _) = Store::open(&settings.database_path()).expect("the cache opens");
        let engine = SyncEngine::new(store, Arc::new(RwLock::new(settings)));
        Cache { _dir: dir, engine }
    }

    /// A fresh cache for `plex`, with plexcache's default settings, synced
    /// once.
    pub async fn synced(plex: &EmulatorHandle, token: &str) -> Cache {
        let dir = tempfile::tempdir().expect("a temporary directory");
        let settings = default_settings(dir.path(), &plex.url(), token).expect("settings");
        let cache = Self::with_settings(dir, settings);
        cache.sync().await.expect("the sync succeeds");
        cache
    }

    pub fn dir(&self) -> &Path {
        self._dir.path()
    }

    pub fn store(&self) -> &Store {
        self.engine.store()
    }

    /// One sync, as `plexcache sync` runs it.
    pub async fn sync(&self) -> Result<SyncReport, SyncError> {
        let ticket = self.engine.try_start()?;
        self.engine.run(ticket, CancellationToken::new()).await
    }

    /// Every cached track matching `filter`, paged in the default order.
    pub fn tracks_matching(&self, filter: &Filter) -> Vec<Track> {
        let mut out = Vec::new();
        loop {
            let page = self
                .store()
                .tracks(filter, Sort::default(), out.len() as u64, 1000)
                .expect("a page of tracks");
            if page.tracks.is_empty() {
                break;
            }
            out.extend(page.tracks);
        }
        out
    }

    /// Every cached track, live ones included, by rating key.
    pub fn all_tracks(&self) -> Vec<Track> {
        let mut out = self.tracks_matching(&Filter {
            exclude_live: false,
            ..Filter::default()
        });
        out.sort_by(|a, b| a.rating_key.cmp(&b.rating_key));
        out
    }
}

/// Asserts the cache equals the emulator's library, field by field.
pub fn assert_cache_matches(cache: &Cache, library: &Library) {
    let expected = expected_library(library);
    let actual: Vec<Expected> = cache.all_tracks().iter().map(as_expected).collect();
    assert_eq!(actual.len(), expected.len(), "track count");
    for (a, e) in actual.iter().zip(&expected) {
        assert_eq!(a, e, "track {}", e.rating_key);
    }
    let state = cache.store().sync_state().expect("the sync state");
    assert_eq!(
        state.track_count as usize,
        expected.len(),
        "sync_state.track_count"
    );
}
