//! Online backup of the cache: a consistent copy taken with SQLite's backup
//! API while other processes read and sync, checked before it is put in
//! place.

use std::path::{Path, PathBuf};

use rusqlite::backup::StepResult;
use rusqlite::{Connection, OpenFlags};

use super::StoreError;

#[derive(Debug, thiserror::Error)]
pub enum BackupError {
    #[error("there is no cache at {0} yet: run `plexcache sync` first")]
    NoCache(PathBuf),
    #[error(transparent)]
    Source(#[from] StoreError),
    #[error("cannot copy the cache")]
    Sqlite(#[from] rusqlite::Error),
    #[error("cannot write {path}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("the copy failed its integrity check ({detail}); nothing was written")]
    Damaged { detail: String },
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> BackupError + '_ {
    move |source| BackupError::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// What a finished backup holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BackupReport {
    pub path: PathBuf,
    pub bytes: u64,
    pub track_count: i64,
}

/// Copies the cache at `source` to `dest` as one consistent snapshot.
///
/// The copy is written to a temporary file beside `dest`, must pass
/// `PRAGMA integrity_check`, and only then replaces `dest`: a failed backup
/// leaves no half-written file behind. A sync committing meanwhile is not
/// blocked; the copy shows the library before or after it, never a mix.
pub fn backup(source: &Path, dest: &Path) -> Result<BackupReport, BackupError> {
    if !source.is_file() {
        return Err(BackupError::NoCache(source.to_path_buf()));
    }
    let from = Connection::open_with_flags(
        source,
        OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )
    .map_err(|e| BackupError::Source(StoreError::Sqlite(e)))?;
    super::check_ours(&from, source)?;
    let partial = partial_path(dest);
    let result = copy_into(&from, &partial).and_then(|track_count| {
        std::fs::rename(&partial, dest).map_err(io(dest))?;
        let bytes = std::fs::metadata(dest).map(|m| m.len()).unwrap_or(0);
        Ok(BackupReport {
            path: dest.to_path_buf(),
            bytes,
            track_count,
        })
    });
    if result.is_err() {
        let _ = std::fs::remove_file(&partial);
    }
    result
}

/// Runs the backup into `partial`, checks it and syncs it to disk; returns
/// the copy's track count.
fn copy_into(from: &Connection, partial: &Path) -> Result<i64, BackupError> {
    let _ = std::fs::remove_file(partial);
    let mut to = Connection::open(partial)?;
    {
        // All pages in one step: one read transaction, so one snapshot.
        let backup = rusqlite::backup::Backup::new(from, &mut to)?;
        loop {
            match backup.step(-1)? {
                StepResult::Done => break,
                StepResult::More => {}
                // A writer holds the source for a moment: try again shortly.
                StepResult::Busy | StepResult::Locked => {
                    std::thread::sleep(std::time::Duration::from_millis(10))
                }
                _ => {}
            }
        }
    }
    let verdict: String = to.query_row("PRAGMA integrity_check", [], |r| r.get(0))?;
    if verdict != "ok" {
        return Err(BackupError::Damaged { detail: verdict });
    }
    let track_count: i64 = to.query_row("SELECT COUNT(*) FROM tracks", [], |r| r.get(0))?;
    drop(to);
    let file = std::fs::File::open(partial).map_err(io(partial))?;
    file.sync_all().map_err(io(partial))?;
    Ok(track_count)
}

/// `dir/.name.partial-PID`: beside the destination, so the final rename
/// stays on one file system.
fn partial_path(dest: &Path) -> PathBuf {
    let name = dest
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "backup".to_owned());
    dest.with_file_name(format!(".{name}.partial-{}", std::process::id()))
}
