//! Test helpers: spawn the emulator and the app on port 0 with a fresh data
//! directory, and compute what the cache should hold from the emulator's own
//! model.

use std::collections::BTreeSet;
use std::sync::{Arc, RwLock};
use std::time::Duration;

use plexcache::api::{AppState, Server};
use plexcache::config::{Overrides, Secret, Settings};
use plexcache::store::{Filter, Sort, Store, TrackRow};
use plexcache::sync::{SyncEngine, SyncError, SyncReport};
use plexcache_emulator::{
    self as emulator, EmulatorConfig, EmulatorHandle, Faults, Library, SectionKind,
};
use tokio_util::sync::CancellationToken;

pub const TOKEN: &str = "test-token-5f1c9a";

/// A `plexcache` command with its data in `dir`, pointed at `plex_url`
/// with the test token, logging at `log` (a `RUST_LOG` filter).
pub fn plexcache_cli(dir: &std::path::Path, plex_url: &str, log: &str) -> std::process::Command {
    let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_plexcache"));
    cmd.env("PLEXCACHE_DATA_DIR", dir)
        .env("PLEX_URL", plex_url)
        .env("PLEX_TOKEN", TOKEN)
        .env("RUST_LOG", log)
        .stdin(std::process::Stdio::null());
    cmd
}

/// An emulated library of `tracks` and a data directory that
/// `plexcache sync` (the command) has filled from it.
pub async fn synced_by_cli(tracks: usize, seed: u64) -> (EmulatorHandle, tempfile::TempDir) {
    let plex = spawn_plex(tracks, seed).await;
    let dir = tempfile::tempdir().unwrap();
    succeeds(plexcache_cli(dir.path(), &plex.url(), "warn").arg("sync"));
    (plex, dir)
}

/// Runs a command to its end, failing the test (with its stderr) unless it
/// succeeded.
pub fn succeeds(cmd: &mut std::process::Command) -> std::process::Output {
    let out = cmd.output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

pub async fn spawn_plex(tracks: usize, seed: u64) -> EmulatorHandle {
    spawn_plex_with(Library::generate(tracks, seed), Faults::default()).await
}

pub async fn spawn_plex_with(library: Library, faults: Faults) -> EmulatorHandle {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let mut config = EmulatorConfig::new(library, TOKEN);
    config.faults = faults;
    emulator::start(listener, config).await.unwrap()
}

/// Settings for a test: short timeouts so fault tests finish quickly.
pub fn settings(dir: &std::path::Path, plex: &EmulatorHandle) -> Settings {
    Settings::load(
        dir,
        Overrides {
            plex_url: Some(plex.url()),
            plex_token: Some(Secret::new(TOKEN)),
            timeout_secs: Some(2.0),
            retries: Some(2),
            page_size: Some(500),
            ..Overrides::default()
        },
    )
    .unwrap()
}

pub struct Cache {
    /// Kept so the directory lives as long as the cache.
    _dir: tempfile::TempDir,
    pub engine: SyncEngine,
}

impl Cache {
    pub fn new(plex: &EmulatorHandle) -> Cache {
        let dir = tempfile::tempdir().unwrap();
        let settings = settings(dir.path(), plex);
        Self::with_settings(dir, settings)
    }

    pub fn with_settings(dir: tempfile::TempDir, settings: Settings) -> Cache {
        let (store, _) = Store::open(&settings.database_path()).unwrap();
        let engine = SyncEngine::new(store, Arc::new(RwLock::new(settings)));
        Cache { _dir: dir, engine }
    }

    pub fn store(&self) -> &Store {
        self.engine.store()
    }

    pub async fn sync(&self) -> Result<SyncReport, SyncError> {
        let ticket = self.engine.try_start()?;
        self.engine.run(ticket, CancellationToken::new()).await
    }

    /// Every cached track matching `filter`, paged in the default order.
    pub fn tracks_matching(&self, filter: &Filter) -> Vec<TrackRow> {
        let mut out = Vec::new();
        loop {
            let page = self
                .store()
                .tracks(filter, Sort::default(), out.len() as u64, 1000)
                .unwrap();
            if page.tracks.is_empty() {
                break;
            }
            out.extend(page.tracks);
        }
        out
    }

    /// Every cached track, live ones included, by rating key.
    pub fn all_tracks(&self) -> Vec<TrackRow> {
        let mut out = self.tracks_matching(&Filter {
            exclude_live: false,
            ..Filter::default()
        });
        out.sort_by(|a, b| a.rating_key.cmp(&b.rating_key));
        out
    }
}

/// What the cache must hold for one emulator track, derived from the
/// emulator's model by the rules of the product spec.
#[derive(Debug, Clone, PartialEq)]
pub struct Expected {
    pub rating_key: String,
    pub title: String,
    pub artist: String,
    pub album_artist: String,
    pub album: String,
    pub year: Option<i64>,
    pub genres: BTreeSet<String>,
    pub rating: Option<f64>,
    pub play_count: i64,
    pub duration_ms: Option<i64>,
    pub disc: Option<i64>,
    pub track: Option<i64>,
}

pub fn expected_library(library: &Library) -> Vec<Expected> {
    let music: BTreeSet<&str> = library
        .sections
        .iter()
        .filter(|s| s.kind == SectionKind::Music)
        .map(|s| s.key.as_str())
        .collect();
    let mut out: Vec<Expected> = library
        .tracks
        .iter()
        .filter(|t| music.contains(t.section.as_str()))
        .map(|t| {
            let album = library.albums.iter().find(|a| a.rating_key == t.album_key);
            let artist = library
                .artists
                .iter()
                .find(|a| a.rating_key == t.artist_key);
            let album_artist = artist
                .map(|a| a.title.clone())
                .filter(|s| !s.is_empty())
                .unwrap_or_else(|| "Unknown Artist".into());
            let genres: Vec<String> = if !t.genres.is_empty() {
                t.genres.clone()
            } else if album.is_some_and(|a| !a.genres.is_empty()) {
                album.map(|a| a.genres.clone()).unwrap_or_default()
            } else {
                artist.map(|a| a.genres.clone()).unwrap_or_default()
            };
            Expected {
                rating_key: t.rating_key.to_string(),
                title: if t.title.trim().is_empty() {
                    "Untitled".into()
                } else {
                    t.title.clone()
                },
                artist: t
                    .original_title
                    .clone()
                    .filter(|s| !s.trim().is_empty())
                    .unwrap_or_else(|| album_artist.clone()),
                album_artist,
                album: album
                    .map(|a| a.title.clone())
                    .filter(|s| !s.is_empty())
                    .unwrap_or_else(|| "Unknown Album".into()),
                year: album
                    .and_then(|a| a.year)
                    .map(i64::from)
                    .filter(|y| (1000..=2100).contains(y)),
                genres: genres
                    .iter()
                    .map(|g| g.trim().to_lowercase())
                    .filter(|g| !g.is_empty())
                    .collect(),
                rating: t.user_rating,
                play_count: t.view_count.map(i64::from).unwrap_or(0),
                duration_ms: t.duration_ms.map(|d| d as i64),
                disc: t.parent_index.map(i64::from),
                track: t.index.map(i64::from),
            }
        })
        .collect();
    out.sort_by(|a, b| a.rating_key.cmp(&b.rating_key));
    out
}

pub fn as_expected(row: &TrackRow) -> Expected {
    Expected {
        rating_key: row.rating_key.clone(),
        title: row.title.clone(),
        artist: row.artist.clone(),
        album_artist: row.album_artist.clone(),
        album: row.album.clone(),
        year: row.year,
        genres: row.genres.iter().map(|g| g.to_lowercase()).collect(),
        rating: row.rating,
        play_count: row.play_count,
        duration_ms: row.duration_ms,
        disc: row.disc,
        track: row.track,
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
    let state = cache.store().sync_state().unwrap();
    assert_eq!(
        state.track_count as usize,
        expected.len(),
        "sync_state.track_count"
    );
}

/// A running app (API + page) on port 0.
pub struct TestApp {
    pub url: String,
    pub state: AppState,
    pub http: reqwest::Client,
    pub dir: tempfile::TempDir,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    task: Option<tokio::task::JoinHandle<()>>,
}

impl TestApp {
    pub async fn spawn(plex: &EmulatorHandle) -> TestApp {
        let dir = tempfile::tempdir().unwrap();
        let settings = settings(dir.path(), plex);
        Self::spawn_with(dir, settings).await
    }

    pub async fn spawn_with(dir: tempfile::TempDir, settings: Settings) -> TestApp {
        let (store, _) = Store::open(&settings.database_path()).unwrap();
        let state = AppState::new(store, settings).unwrap();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let server = Server::from_listener(listener, state.clone());
        let url = format!("http://{}", server.local_addr().unwrap());
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let task = tokio::spawn(async move {
            let _ = server
                .run_until(async move {
                    let _ = stopped.await;
                })
                .await;
        });
        TestApp {
            url,
            state,
            http: reqwest::Client::new(),
            dir,
            stop: Some(stop),
            task: Some(task),
        }
    }

    pub async fn get(&self, path: &str) -> reqwest::Response {
        self.http
            .get(format!("{}{path}", self.url))
            .send()
            .await
            .unwrap()
    }

    pub async fn get_json(&self, path: &str) -> (u16, serde_json::Value) {
        let r = self.get(path).await;
        let status = r.status().as_u16();
        (status, r.json().await.unwrap_or(serde_json::Value::Null))
    }

    pub async fn post_json(
        &self,
        path: &str,
        body: &serde_json::Value,
    ) -> (u16, serde_json::Value) {
        let r = self
            .http
            .post(format!("{}{path}", self.url))
            .json(body)
            .send()
            .await
            .unwrap();
        let status = r.status().as_u16();
        (status, r.json().await.unwrap_or(serde_json::Value::Null))
    }

    /// Waits until a sync has run and none runs now (bounded), polling the
    /// status endpoint.
    pub async fn wait_idle(&self) -> serde_json::Value {
        for _ in 0..600 {
            let (_, status) = self.get_json("/api/library/status").await;
            let settled = status["synced_at"].is_string() || status["error"].is_string();
            if status["is_syncing"] == false && settled {
                return status;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("sync did not finish within 30 s");
    }

    pub async fn stop(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(task) = self.task.take() {
            let _ = tokio::time::timeout(Duration::from_secs(15), task).await;
        }
    }
}
