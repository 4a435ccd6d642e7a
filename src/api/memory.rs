//! Giving memory back after a burst. glibc's malloc keeps freed memory in
//! per-thread arenas (up to eight per core) and rarely returns it: a flood
//! of requests left the server hundreds of MB larger for good. `serve`
//! caps the arenas, and after a busy spell the server trims the heap once
//! it is idle again.

use std::time::Duration;

use super::AppState;

/// Arenas glibc may create; fewer arenas mean less memory held per thread
/// (the store's threads mostly wait on SQLite, not on malloc).
const ARENA_MAX: i32 = 2;
/// How often the server checks for an idle moment after work.
const TRIM_CHECK: Duration = Duration::from_secs(1);

/// Caps malloc's arenas. Call before the server starts its threads' work.
pub fn limit_arenas() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: mallopt only sets a malloc parameter.
    unsafe {
        libc::mallopt(libc::M_ARENA_MAX, ARENA_MAX);
    }
}

/// Trims the heap when requests were handled since the last check and none
/// is in flight now.
pub(super) fn start_trimming(state: &AppState) {
    let state = state.clone();
    let shutdown = state.shutdown.clone();
    state.tasks.clone().spawn(async move {
        let mut seen = state.guards.handled();
        loop {
            tokio::select! {
                () = tokio::time::sleep(TRIM_CHECK) => {},
                () = shutdown.cancelled() => return,
            }
            let handled = state.guards.handled();
            if handled != seen && state.guards.idle() {
                seen = handled;
                let _ = tokio::task::spawn_blocking(trim).await;
            }
        }
    });
}

fn trim() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: malloc_trim only returns free memory to the system.
    unsafe {
        libc::malloc_trim(0);
    }
}
