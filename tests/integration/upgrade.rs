//! Restart and upgrade: caches written by released schema versions open
//! with the current code, keep every row and need no resync; a cache
//! written by a newer plexcache is refused and left untouched.
//!
//! Fixtures live in `tests/fixtures/` (see its README): one
//! `schema-vN.db` per released schema version, each with a manifest
//! `schema-vN.json` of what it holds. `regenerate_fixture` (ignored; run it
//! by name) writes the fixture of the current schema version.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use plexcache::model::{Filter, Sort};
use plexcache::store::{Store, StoreError};
use plexcache_emulator::{EmulatorConfig, Library, Mutation};
use plexcache_harness::{Cache, ServeChild, default_settings};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::helpers::emulator;

const DB_FILE: &str = "library_cache.db";

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures")
}

/// What a fixture holds, written next to it when it is made.
#[derive(Debug, Serialize, Deserialize)]
struct Manifest {
    schema_version: i64,
    made_by: String,
    track_count: i64,
    synced_at: i64,
    machine_identifier: String,
    server_name: String,
    history: usize,
    genres: BTreeMap<String, u64>,
    decades: BTreeMap<String, u64>,
    tracks: Vec<Row>,
}

/// The fields of a cached track that must survive an upgrade.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Row {
    rating_key: String,
    title: String,
    artist: String,
    album_artist: String,
    album: String,
    year: Option<i64>,
    genres: Vec<String>,
    rating: Option<f64>,
    play_count: i64,
    duration_ms: Option<i64>,
    is_live: bool,
    added_at: Option<String>,
}

fn everything() -> Filter {
    Filter {
        exclude_live: false,
        ..Filter::default()
    }
}

/// Every cached track, by rating key.
fn rows(store: &Store) -> Vec<Row> {
    let mut out = Vec::new();
    let mut offset = 0;
    loop {
        let page = store
            .tracks(&everything(), Sort::default(), offset, 1000)
            .expect("tracks");
        if page.tracks.is_empty() {
            break;
        }
        offset += page.tracks.len() as u64;
        out.extend(page.tracks.into_iter().map(|t| {
            let mut genres = t.genres;
            genres.sort();
            Row {
                rating_key: t.rating_key,
                title: t.title,
                artist: t.artist,
                album_artist: t.album_artist,
                album: t.album,
                year: t.year,
                genres,
                rating: t.rating,
                play_count: t.play_count,
                duration_ms: t.duration_ms,
                is_live: t.is_live,
                added_at: t.added_at.and_then(plexcache::clock::rfc3339),
            }
        }));
    }
    out.sort_by(|a, b| a.rating_key.cmp(&b.rating_key));
    out
}

fn user_version(path: &Path) -> i64 {
    let conn =
        rusqlite::Connection::open_with_flags(path, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY)
            .expect("open");
    conn.query_row("PRAGMA user_version", [], |r| r.get(0))
        .expect("user_version")
}

/// The schema version this build writes (a fresh cache's).
fn current_version() -> i64 {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join(DB_FILE);
    drop(Store::open(&path).expect("fresh store"));
    user_version(&path)
}

/// A copy of a fixture in a fresh data directory (the committed file is
/// never opened for writing).
fn copy_fixture(name: &str) -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join(DB_FILE);
    std::fs::copy(fixtures().join(name), &path).expect("copy fixture");
    (dir, path)
}

fn manifest(version: i64) -> Manifest {
    let text = std::fs::read_to_string(fixtures().join(format!("schema-v{version}.json")))
        .expect("manifest");
    serde_json::from_str(&text).expect("manifest JSON")
}

/// Fixture versions present in `tests/fixtures`.
fn fixture_versions() -> Vec<i64> {
    let mut versions: Vec<i64> = std::fs::read_dir(fixtures())
        .expect("fixtures")
        .filter_map(Result::ok)
        .filter_map(|e| {
            let name = e.file_name().to_string_lossy().into_owned();
            name.strip_prefix("schema-v")?
                .strip_suffix(".db")?
                .parse()
                .ok()
        })
        .collect();
    versions.sort_unstable();
    versions
}

/// `plexcache` with its data in `data_dir` and no Plex server.
fn plexcache(data_dir: &Path) -> std::process::Command {
    let mut command = crate::helpers::plexcache();
    command.env("PLEXCACHE_DATA_DIR", data_dir);
    command
}

#[test]
fn every_released_schema_has_a_fixture() {
    let versions = fixture_versions();
    let current = current_version();
    for version in 1..=current {
        assert!(
            versions.contains(&version),
            "no fixture for schema version {version}: add tests/fixtures/schema-v{version}.db \
             (see tests/fixtures/README.md)"
        );
    }
}

#[test]
fn old_caches_open_without_losing_data_or_needing_a_sync() {
    let current = current_version();
    for version in fixture_versions() {
        let expected = manifest(version);
        let (dir, path) = copy_fixture(&format!("schema-v{version}.db"));
        assert_eq!(user_version(&path), version, "the fixture's own version");

        let (store, notice) = Store::open(&path).expect("an old cache opens");
        assert!(
            notice.is_none(),
            "v{version}: not treated as damaged: {notice:?}"
        );
        assert_eq!(
            user_version(&path),
            current,
            "v{version}: migrated to the current schema"
        );
        let check: String = store
            .writer()
            .expect("writer")
            .query_row("PRAGMA integrity_check", [], |r| r.get(0))
            .expect("integrity_check");
        assert_eq!(check, "ok", "v{version}");

        // The sync state says the cache is good as it is: no resync needed.
        let state = store.sync_state().expect("sync state");
        assert_eq!(state.track_count, expected.track_count, "v{version}");
        assert_eq!(state.synced_at, Some(expected.synced_at), "v{version}");
        assert_eq!(
            state.machine_identifier.as_deref(),
            Some(expected.machine_identifier.as_str())
        );
        assert_eq!(
            state.server_name.as_deref(),
            Some(expected.server_name.as_str())
        );
        assert_eq!(state.last_error, None, "v{version}");
        assert_eq!(
            store.history(1000).expect("history").len(),
            expected.history
        );

        // Every row, and what is derived from them.
        assert_eq!(rows(&store), expected.tracks, "v{version}: rows");
        let stats = store.stats().expect("stats");
        let genres: BTreeMap<String, u64> = stats
            .genres
            .into_iter()
            .map(|g| (g.name, g.count))
            .collect();
        let decades: BTreeMap<String, u64> = stats
            .decades
            .into_iter()
            .map(|d| (d.decade, d.count))
            .collect();
        assert_eq!(genres, expected.genres, "v{version}: genre counts");
        assert_eq!(decades, expected.decades, "v{version}: decade counts");

        // Queries of every kind work on it.
        let (genre, count) = expected
            .genres
            .iter()
            .next()
            .map(|(g, c)| (g.clone(), *c))
            .expect("a genre");
        let by_genre = Filter {
            genres: vec![genre.to_uppercase()],
            exclude_live: false,
            ..Filter::default()
        };
        assert_eq!(store.count(&by_genre).expect("count"), count);
        let word = expected.tracks[0]
            .title
            .split(|c: char| !c.is_alphanumeric())
            .find(|w| w.chars().count() >= 3)
            .unwrap_or("the")
            .to_owned();
        let by_text = Filter {
            text: Some(word.clone()),
            exclude_live: false,
            ..Filter::default()
        };
        assert!(
            store.count(&by_text).expect("text search") >= 1,
            "search {word:?}"
        );
        let (total, sample) = store.sample(&everything(), 10).expect("sample");
        assert_eq!((total, sample.len()), (expected.track_count as u64, 10));
        drop(store);

        // The command line reads it as it is, with no Plex configured at all.
        let out = plexcache(dir.path())
            .args(["status", "--json"])
            .output()
            .expect("status");
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let status: Value = serde_json::from_slice(&out.stdout).expect("status JSON");
        assert_eq!(status["track_count"], expected.track_count, "{status}");
        let out = plexcache(dir.path())
            .args(["tracks", "--json", "--limit", "1000", "--include-live"])
            .output()
            .expect("tracks");
        let tracks = String::from_utf8_lossy(&out.stdout);
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(tracks.contains(&expected.tracks[0].rating_key));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restarted_server_serves_an_old_cache_at_once() {
    let version = *fixture_versions().last().expect("a fixture");
    let expected = manifest(version);
    let (dir, _path) = copy_fixture(&format!("schema-v{version}.db"));
    let child = ServeChild::start(plexcache(dir.path()))
        .await
        .expect("serve");
    let base = child.url.clone();
    let http = reqwest::Client::new();
    let get = |path: &str| {
        let request = http.get(format!("{base}{path}"));
        async move {
            request
                .send()
                .await
                .expect("request")
                .json::<Value>()
                .await
                .expect("JSON")
        }
    };
    let status = get("/api/library/status").await;
    assert_eq!(status["track_count"], expected.track_count, "{status}");
    assert_eq!(status["is_syncing"], false, "no resync: {status}");
    assert!(status["synced_at"].is_string(), "{status}");
    let page = get("/api/library/tracks?exclude_live=false&limit=1000").await;
    assert_eq!(page["total"], expected.track_count);
    let stats = get("/api/library/stats").await;
    assert_eq!(
        stats["genres"].as_array().map(Vec::len),
        Some(expected.genres.len())
    );
    drop(child);
}

/// A bytewise fingerprint of the database file and which side files exist.
fn fingerprint(dir: &Path) -> (Vec<u8>, Vec<String>) {
    let bytes = std::fs::read(dir.join(DB_FILE)).expect("db");
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .expect("dir")
        .filter_map(Result::ok)
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    (bytes, names)
}

#[test]
fn a_cache_from_a_newer_plexcache_is_refused_and_left_untouched() {
    let version = *fixture_versions().last().expect("a fixture");
    let newer = current_version() + 1;
    for journal in ["wal", "delete"] {
        let (dir, path) = copy_fixture(&format!("schema-v{version}.db"));
        {
            let conn = rusqlite::Connection::open(&path).expect("open");
            conn.pragma_update(None, "journal_mode", journal)
                .expect("journal mode");
            conn.pragma_update(None, "user_version", newer)
                .expect("user_version");
        }
        let before = fingerprint(dir.path());

        let err = Store::open(&path).expect_err("a newer cache is refused");
        assert!(
            matches!(err, StoreError::TooNew { found, .. } if found == newer),
            "{journal}: {err:?}"
        );
        assert!(
            err.to_string().contains("written by a newer plexcache"),
            "{journal}: {err}"
        );
        assert!(
            before == fingerprint(dir.path()),
            "{journal}: the file (or its side files) changed"
        );

        // The command line says so too, and still changes nothing.
        for args in [&["status"][..], &["tracks", "--limit", "1"][..]] {
            let out = plexcache(dir.path())
                .args(args)
                .output()
                .expect("plexcache");
            let stderr = String::from_utf8_lossy(&out.stderr);
            assert!(!out.status.success(), "{journal} {args:?}");
            assert!(
                stderr.contains("written by a newer plexcache"),
                "{journal} {args:?}: {stderr}"
            );
        }
        let out = plexcache(dir.path())
            .args(["serve", "--listen", "127.0.0.1:0"])
            .output()
            .expect("serve");
        assert!(!out.status.success(), "serve refuses to start");
        assert!(String::from_utf8_lossy(&out.stderr).contains("written by a newer plexcache"));
        assert!(
            before == fingerprint(dir.path()),
            "{journal}: the command line changed the file"
        );
        assert_eq!(user_version(&path), newer);
    }
}

/// Writes `tests/fixtures/schema-vN.db` and its manifest for the current
/// schema version N: a small library synced from the emulator (seed and
/// size fixed), then changed and synced again so the history has two
/// entries. Run: `cargo test --release --test integration -- --ignored
/// upgrade::regenerate_fixture`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "writes the fixture of the current schema; run by hand"]
async fn regenerate_fixture() {
    const TOKEN: &str = "fixture-token";
    let mut config = EmulatorConfig::new(Library::generate(300, 20_241), TOKEN);
    config.friendly_name = "Fixture Server".into();
    config.machine_identifier = "f1x7ure0000000000000000000000000000000001".into();
    let plex = emulator(config).await;
    let dir = tempfile::tempdir().expect("temp dir");
    let settings = default_settings(dir.path(), &plex.url(), TOKEN).expect("settings");
    let cache = Cache::with_settings(tempfile::tempdir().expect("temp dir"), settings);
    for round in 0..2 {
        if round == 1 {
            let key = plex.library().tracks[0].rating_key;
            plex.mutate(Mutation::Rate {
                rating_key: key,
                rating: Some(8.0),
            })
            .expect("rate");
            plex.mutate(Mutation::Add { count: 5 }).expect("add");
        }
        cache.sync().await.expect("sync");
    }
    plex.shutdown().await;

    let store = cache.store();
    let state = store.sync_state().expect("state");
    let stats = store.stats().expect("stats");
    let version = current_version();
    let manifest = Manifest {
        schema_version: version,
        made_by: format!("plexcache {}", env!("CARGO_PKG_VERSION")),
        track_count: state.track_count,
        synced_at: state.synced_at.expect("synced"),
        machine_identifier: state.machine_identifier.expect("machine"),
        server_name: state.server_name.expect("name"),
        history: store.history(1000).expect("history").len(),
        genres: stats
            .genres
            .into_iter()
            .map(|g| (g.name, g.count))
            .collect(),
        decades: stats
            .decades
            .into_iter()
            .map(|d| (d.decade, d.count))
            .collect(),
        tracks: rows(store),
    };
    // Fold the WAL into the file and compact it, so one file is the cache.
    {
        let conn = store.writer().expect("writer");
        conn.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(()))
            .expect("checkpoint");
        conn.execute_batch("VACUUM").expect("vacuum");
        conn.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(()))
            .expect("checkpoint");
    }
    drop(cache);
    std::fs::create_dir_all(fixtures()).expect("fixtures dir");
    std::fs::copy(
        dir.path().join(DB_FILE),
        fixtures().join(format!("schema-v{version}.db")),
    )
    .expect("copy");
    let mut text = serde_json::to_string_pretty(&manifest).expect("manifest");
    text.push('\n');
    std::fs::write(fixtures().join(format!("schema-v{version}.json")), text).expect("write");
}
