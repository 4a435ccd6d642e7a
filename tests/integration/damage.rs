//! A cache on a failing disk: damage in the middle of the file, a full disk,
//! a read-only directory or file. Reads go on; status says what is wrong and
//! why syncs cannot run; a damaged file is rebuilt without anyone asking.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use plexcache::config::Settings;
use plexcache::model::Filter;
use plexcache::store::Store;
use plexcache_emulator::EmulatorHandle;
use plexcache_harness::{ApiClient, InProcess};
use serde_json::json;

use crate::helpers::{Cache, TestApp, plexcache, settings, spawn_plex, succeeds};

fn everything() -> Filter {
    Filter {
        exclude_live: false,
        ..Filter::default()
    }
}

/// A cache synced from `plex` in `dir`, closed cleanly (no WAL left).
async fn synced_into(dir: &Path, plex: &EmulatorHandle) -> (Settings, u64) {
    let s = settings(dir, plex);
    let cache = Cache::with_settings(tempfile::tempdir().unwrap(), s.clone());
    cache.sync().await.unwrap();
    let count = cache.store().count(&everything()).unwrap();
    drop(cache);
    (s, count)
}

fn quick_check(path: &Path) -> String {
    let conn = rusqlite::Connection::open(path).unwrap();
    conn.query_row("PRAGMA quick_check", [], |r| r.get(0))
        .unwrap_or_else(|e| e.to_string())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn damage_in_the_middle_of_the_file_is_noticed_and_rebuilt() {
    let plex = spawn_plex(3_000, 41).await;
    let dir = tempfile::tempdir().unwrap();
    let (s, count) = synced_into(dir.path(), &plex).await;
    let path = s.database_path();
    let mut bytes = std::fs::read(&path).unwrap();
    let middle = bytes.len() / 2;
    for b in &mut bytes[middle..middle + 200] {
        *b ^= 0xff;
    }
    std::fs::write(&path, &bytes).unwrap();
    let scratch = dir.path().join("probe.db");
    std::fs::copy(&path, &scratch).unwrap();
    assert_ne!(quick_check(&scratch), "ok", "the damage is real");
    std::fs::remove_file(&scratch).unwrap();

    let app = TestApp::spawn_with(dir, s).await;
    let moved_aside = || {
        std::fs::read_dir(app.dir.path())
            .unwrap()
            .filter_map(|e| e.ok())
            .filter(|e| e.file_name().to_string_lossy().contains(".corrupt-"))
            .count()
    };
    // Until the damage was dealt with: the file is checked in the
    // background, and a library that looks whole before then proves nothing.
    let mut last = serde_json::Value::Null;
    for _ in 0..600 {
        let (_, status) = app.get_json("/api/library/status").await;
        let (code, page) = app
            .get_json("/api/library/tracks?exclude_live=false&limit=1")
            .await;
        if code == 200
            && page["total"].as_u64() == Some(count)
            && status["is_syncing"] == false
            && moved_aside() >= 1
        {
            last = status;
            break;
        }
        last = json!({"status": status, "tracks": page});
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(last["track_count"].as_u64(), Some(count), "{last}");
    assert!(moved_aside() >= 1, "the damaged file was moved aside");
    let history = app.state.store().history(1).unwrap();
    assert_eq!(history[0].outcome.name(), "success");
    app.stop().await;
}

/// A tmpfs of `megabytes` mounted on a fresh directory, unmounted on drop.
struct Tmpfs {
    dir: tempfile::TempDir,
}

impl Tmpfs {
    /// `None` where mounting is not allowed (not root, no privileges).
    fn mount(megabytes: u32) -> Option<Tmpfs> {
        let dir = tempfile::tempdir().unwrap();
        let ok = Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={megabytes}m"), "tmpfs"])
            .arg(dir.path())
            .output()
            .is_ok_and(|o| o.status.success());
        ok.then_some(Tmpfs { dir })
    }

    fn path(&self) -> PathBuf {
        self.dir.path().to_path_buf()
    }

    /// Writes until the file system refuses.
    fn fill(&self, name: &str) {
        use std::io::Write;
        let mut file = std::fs::File::create(self.dir.path().join(name)).unwrap();
        let chunk = vec![7u8; 4096];
        while file.write_all(&chunk).is_ok() {}
        let _ = file.sync_all();
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg(self.dir.path()).output();
    }
}

/// `chattr +i` on `path` (refuses writes, even root's), undone on drop.
struct Immutable(PathBuf);

impl Immutable {
    fn set(path: &Path) -> Option<Immutable> {
        let ok = Command::new("chattr")
            .arg("+i")
            .arg(path)
            .output()
            .is_ok_and(|o| o.status.success());
        ok.then(|| Immutable(path.to_path_buf()))
    }
}

impl Drop for Immutable {
    fn drop(&mut self) {
        let _ = Command::new("chattr").arg("-i").arg(&self.0).output();
    }
}

/// Reads are served, status says why syncs cannot run, a sync is refused
/// with the reason.
async fn assert_served_read_only(store: Store, s: Settings, count: u64, kind: &str) {
    assert_eq!(store.read_only_reason().map(|r| r.kind), Some(kind));
    assert_eq!(store.count(&everything()).unwrap(), count);
    let app = InProcess::serve(store, s).await.unwrap();
    let api = ApiClient::new(&app.url).unwrap();
    let (code, page) = api
        .get_json("/api/library/tracks?exclude_live=false&limit=5")
        .await
        .unwrap();
    assert_eq!((code, page["total"].as_u64()), (200, Some(count)), "{page}");
    let (_, status) = api.get_json("/api/library/status").await.unwrap();
    assert_eq!(status["error_kind"], kind, "{status}");
    assert!(
        status["error"]
            .as_str()
            .is_some_and(|e| e.contains("syncs cannot run")),
        "{status}"
    );
    let (code, started) = api.post("/api/library/sync").await.unwrap();
    assert_eq!(
        (
            code,
            started["started"].as_bool(),
            started["reason"].as_str()
        ),
        (200, Some(false), Some(kind)),
        "{started}"
    );
    drop(api);
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_disk_still_serves_the_cache_read_only() {
    let Some(disk) = Tmpfs::mount(16) else {
        eprintln!("skipped: cannot mount a tmpfs here (needs root)");
        return;
    };
    let plex = spawn_plex(1_500, 42).await;
    let source = tempfile::tempdir().unwrap();
    let (mut s, count) = synced_into(source.path(), &plex).await;
    let data = disk.path().join("data");
    std::fs::create_dir(&data).unwrap();
    std::fs::copy(s.database_path(), data.join("library_cache.db")).unwrap();
    s.data_dir = data.clone();
    assert_eq!(s.database_path(), data.join("library_cache.db"));
    // A sync failing on the full disk shows in status and history, even
    // though the file cannot record it.
    let (store, _) = Store::open(&s.database_path()).unwrap();
    plex.mutate(plexcache_emulator::Mutation::Add { count: 20_000 })
        .unwrap();
    disk.fill("filler-1");
    let engine = plexcache::sync::SyncEngine::new(
        store,
        std::sync::Arc::new(std::sync::RwLock::new(s.clone())),
    );
    let ticket = engine.try_start().unwrap();
    let error = engine
        .run(ticket, tokio_util::sync::CancellationToken::new())
        .await
        .unwrap_err();
    let state = engine.store().sync_state().unwrap();
    assert!(state.last_error.is_some(), "{error:?}");
    let history = engine.store().history(5).unwrap();
    assert_eq!(history[0].outcome.name(), "failed", "{history:?}");
    assert_eq!(engine.store().count(&everything()).unwrap(), count);
    drop(engine);
    // Closing the cache gave its WAL's space back: fill that too.
    disk.fill("filler-2");

    let (store, _) = Store::open(&s.database_path()).expect("a full disk still opens");
    assert_served_read_only(store, s.clone(), count, "disk_full").await;
    let out = succeeds(plexcache().env("PLEXCACHE_DATA_DIR", &data).args([
        "tracks",
        "--count",
        "--include-live",
    ]));
    assert_eq!(
        String::from_utf8_lossy(&out.stdout).trim(),
        count.to_string()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_read_only_data_directory_still_serves_the_cache() {
    let plex = spawn_plex(800, 43).await;
    let dir = tempfile::tempdir().unwrap();
    let (s, count) = synced_into(dir.path(), &plex).await;
    let Some(_frozen) = Immutable::set(dir.path()) else {
        eprintln!("skipped: chattr +i does not work here");
        return;
    };
    let (store, _) = Store::open(&s.database_path()).expect("a read-only directory still opens");
    assert_served_read_only(store, s.clone(), count, "read_only").await;
    succeeds(
        plexcache()
            .env("PLEXCACHE_DATA_DIR", dir.path())
            .args(["status", "--json"]),
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_read_only_cache_file_says_why_syncs_cannot_run() {
    let plex = spawn_plex(600, 44).await;
    let dir = tempfile::tempdir().unwrap();
    let (s, count) = synced_into(dir.path(), &plex).await;
    let Some(_frozen) = Immutable::set(&s.database_path()) else {
        eprintln!("skipped: chattr +i does not work here");
        return;
    };
    let (store, _) = Store::open(&s.database_path()).unwrap();
    assert_served_read_only(store, s.clone(), count, "read_only").await;
}
