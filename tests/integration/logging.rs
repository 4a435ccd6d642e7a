//! Log output of the commands: plain text when it goes to a file or pipe.

use crate::helpers::{plexcache_cli, spawn_plex, succeeds};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn logs_into_a_pipe_carry_no_colour_codes() {
    let plex = spawn_plex(20, 3).await;
    let dir = tempfile::tempdir().unwrap();
    let out = succeeds(plexcache_cli(dir.path(), &plex.url(), "info").arg("sync"));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("sync finished"), "{stderr}");
    assert!(!stderr.contains('\u{1b}'), "{stderr:?}");
}
