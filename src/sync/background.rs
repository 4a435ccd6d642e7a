//! Where a sync runs: on threads of its own, at a lower CPU priority.
//! Fetching, decoding and writing a whole library is the heaviest work
//! plexcache does; the API's queries, on the server's threads, must not wait
//! behind it. On an idle machine the priority changes nothing.

use std::future::Future;

use tokio::sync::oneshot;
use tokio_util::sync::CancellationToken;

use super::SyncError;
use crate::store::StoreError;

/// Threads of the sync's own runtime: page decoding overlaps the next
/// fetches as it would on the server's runtime.
const SYNC_THREADS: usize = 2;

/// Runs `work` on a runtime of its own whose threads run at a lower
/// priority, until it ends or `cancel` fires. Dropping the returned future
/// cancels the work too.
pub async fn run_in_background<T, F>(
    cancel: CancellationToken,
    work: impl FnOnce() -> F + Send + 'static,
) -> Result<T, SyncError>
where
    F: Future<Output = Result<T, SyncError>>,
    T: Send + 'static,
{
    let (report, outcome) = oneshot::channel();
    let thread_cancel = cancel.clone();
    // Cancels the work if this future is dropped before it ends.
    let _abandon = cancel.drop_guard();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(SYNC_THREADS)
        .thread_name("plexcache-sync")
        .on_thread_start(lower_priority)
        .enable_all()
        .build()
        .map_err(|source| SyncError::Thread {
            what: "runtime",
            source,
        })?;
    std::thread::Builder::new()
        .name("plexcache-sync".into())
        .spawn(move || {
            lower_priority();
            let result = runtime.block_on(async {
                tokio::select! {
                    result = work() => result,
                    () = thread_cancel.cancelled() => Err(SyncError::Cancelled),
                }
            });
            // Let the writer's rollback or commit finish on its own thread.
            runtime.shutdown_background();
            let _ = report.send(result);
        })
        .map_err(|source| SyncError::Thread {
            what: "main",
            source,
        })?;
    // No answer: the thread panicked, and the panic message is in the log.
    outcome
        .await
        .unwrap_or(Err(SyncError::Store(StoreError::WriterStopped)))
}

/// Lowers the calling thread's CPU priority (nice 10). Linux gives every
/// thread its own nice value; elsewhere this does nothing.
pub fn lower_priority() {
    #[cfg(target_os = "linux")]
    {
        // SAFETY: plain system calls about the calling thread; no memory
        // is shared with them.
        let result = unsafe {
            let tid = libc::syscall(libc::SYS_gettid) as libc::id_t;
            libc::setpriority(libc::PRIO_PROCESS, tid, 10)
        };
        if result != 0 {
            tracing::debug!("cannot lower a sync thread's priority");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_thread_that_cannot_start_says_why() {
        let error = SyncError::Thread {
            what: "writer",
            source: std::io::Error::other("Resource temporarily unavailable"),
        };
        assert_eq!(
            crate::sync::error_message(&error),
            "cannot start the sync's writer thread: Resource temporarily unavailable"
        );
    }
}
