//! Test helpers: the harness (`plexcache-harness`) with this binary's
//! `plexcache` and the test token filled in, and its fallible set-ups made
//! to fail the test.

use plexcache_emulator::{EmulatorConfig, EmulatorHandle, Faults, Library};
pub use plexcache_harness::{
    Cache, Expected, TOKEN, TestApp, assert_cache_matches, expected_library,
};

/// The `plexcache` binary cargo built for these tests.
pub const PLEXCACHE: &str = env!("CARGO_BIN_EXE_plexcache");

/// `plexcache` with a scrubbed environment (logging at `warn`).
pub fn plexcache() -> std::process::Command {
    plexcache_harness::process::command(std::path::Path::new(PLEXCACHE))
}

/// A `plexcache` command with its data in `dir`, pointed at `plex_url`
/// with the test token, logging at `log` (a `RUST_LOG` filter).
pub fn plexcache_cli(dir: &std::path::Path, plex_url: &str, log: &str) -> std::process::Command {
    let mut cmd = plexcache();
    plexcache_harness::process::point_at(&mut cmd, dir, plex_url, TOKEN);
    cmd.env("RUST_LOG", log);
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
    let mut config = EmulatorConfig::new(library, TOKEN);
    config.faults = faults;
    emulator(config).await
}

/// The emulator `config` describes, on a loopback port.
pub async fn emulator(config: EmulatorConfig) -> EmulatorHandle {
    plexcache_harness::start_emulator(config).await.unwrap()
}

/// Settings for a test: short timeouts so fault tests finish quickly.
pub fn settings(dir: &std::path::Path, plex: &EmulatorHandle) -> plexcache::config::Settings {
    plexcache_harness::test_settings(dir, &plex.url(), TOKEN).unwrap()
}

/// Serves `app`, a small fake server of a test's own, on a loopback port;
/// answers its URL.
pub async fn serve_router(app: axum::Router) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    url
}
