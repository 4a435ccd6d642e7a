//! The sync lock: an advisory `flock` on `<cache>.lock` that a process holds
//! for as long as it runs a sync. Only a live process can hold it, so it
//! tells every other process (and a restart) whether a `running` history row
//! belongs to a sync that is really running, and it keeps two processes
//! sharing a data directory from syncing at once.

use std::fs::{File, OpenOptions};
use std::io;
use std::os::fd::AsRawFd;
use std::path::{Path, PathBuf};

/// Held while a sync runs; dropping it (or the process dying) releases it.
#[derive(Debug)]
pub struct SyncLock {
    _file: File,
}

/// Where the lock of the cache at `db` lives.
pub(super) fn lock_path(db: &Path) -> PathBuf {
    PathBuf::from(format!("{}.lock", db.display()))
}

/// Takes the lock if nobody holds it: `Ok(None)` when a live sync does.
pub(super) fn try_acquire(db: &Path) -> io::Result<Option<SyncLock>> {
    let file = OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .open(lock_path(db))?;
    Ok(flock(&file, libc::LOCK_EX)?.then_some(SyncLock { _file: file }))
}

/// Whether some process (this one included) holds the lock right now.
pub(super) fn held_by_anyone(db: &Path) -> bool {
    // Without a lock file nobody ever synced from a process that could
    // create one, so nothing runs.
    let Ok(file) = File::open(lock_path(db)) else {
        return false;
    };
    // A shared lock conflicts only with a sync's exclusive one.
    matches!(flock(&file, libc::LOCK_SH), Ok(false))
}

/// Tries `operation` without waiting: true when taken.
fn flock(file: &File, operation: libc::c_int) -> io::Result<bool> {
    // SAFETY: flock on a descriptor this function borrows for the call only.
    let result = unsafe { libc::flock(file.as_raw_fd(), operation | libc::LOCK_NB) };
    if result == 0 {
        return Ok(true);
    }
    let error = io::Error::last_os_error();
    if error.raw_os_error() == Some(libc::EWOULDBLOCK) {
        Ok(false)
    } else {
        Err(error)
    }
}
