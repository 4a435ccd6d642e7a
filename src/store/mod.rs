//! The SQLite cache: one file in the data directory, WAL mode, numbered
//! migrations. [`Store`] owns opening (with corruption recovery) and a pool
//! of read connections; [`query`] answers filters (with the in-memory
//! columns of `columns`), [`write`] replaces the
//! library in one transaction, [`state`] keeps sync state and history.

mod columns;
pub mod filter;
pub mod query;
mod schema;
pub mod state;
pub mod write;

use std::path::{Path, PathBuf};
use std::time::Duration;

use r2d2_sqlite::SqliteConnectionManager;
use rusqlite::{Connection, OpenFlags};
use std::sync::{Arc, RwLock};

type Pool = r2d2::Pool<SqliteConnectionManager>;

pub use filter::{Filter, FilterError, Sort, SortField};
pub use query::{DecadeCount, GenreCount, QueryPlan, Stats, TrackPage, TrackRow};
pub use state::{HistoryEntry, SyncState};

/// How long a connection waits for a lock before giving up.
const BUSY_TIMEOUT: Duration = Duration::from_secs(10);

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("cannot create the data directory {path}")]
    CreateDir {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error(
        "the cache file {path} is corrupted ({detail}); it was moved to {moved_to} and the next sync rebuilds it"
    )]
    Corrupted {
        path: PathBuf,
        moved_to: PathBuf,
        detail: String,
    },
    #[error("cannot move the corrupted cache file {path} aside")]
    MoveAside {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error(
        "the cache file was written by a newer plexcache (schema {found}, this one knows {known})"
    )]
    TooNew { found: i64, known: i64 },
    #[error("the disk holding the cache is full")]
    DiskFull(#[source] rusqlite::Error),
    #[error("the cache cannot be written (read-only file or directory)")]
    ReadOnly(#[source] rusqlite::Error),
    #[error(transparent)]
    Filter(#[from] FilterError),
    #[error("cache database error")]
    Sqlite(#[source] rusqlite::Error),
    #[error("the cache writer stopped unexpectedly")]
    WriterStopped,
    #[error("no database connection available")]
    Pool(#[from] r2d2::Error),
}

impl From<rusqlite::Error> for StoreError {
    fn from(e: rusqlite::Error) -> Self {
        match e.sqlite_error_code() {
            Some(rusqlite::ErrorCode::DiskFull) => StoreError::DiskFull(e),
            Some(rusqlite::ErrorCode::ReadOnly) | Some(rusqlite::ErrorCode::CannotOpen) => {
                StoreError::ReadOnly(e)
            }
            _ => StoreError::Sqlite(e),
        }
    }
}

impl StoreError {
    /// A short machine-readable kind for the API.
    pub fn kind(&self) -> &'static str {
        match self {
            StoreError::Filter(_) => "invalid_filter",
            StoreError::Corrupted { .. } => "corrupted",
            StoreError::DiskFull(_) => "disk_full",
            StoreError::ReadOnly(_) => "read_only",
            _ => "storage",
        }
    }

    /// True when the file itself is damaged (not merely busy or full).
    pub fn is_corruption(&self) -> bool {
        match self {
            StoreError::Corrupted { .. } => true,
            StoreError::Sqlite(e) => is_corruption(e),
            _ => false,
        }
    }
}

fn is_corruption(e: &rusqlite::Error) -> bool {
    matches!(
        e.sqlite_error_code(),
        Some(rusqlite::ErrorCode::DatabaseCorrupt) | Some(rusqlite::ErrorCode::NotADatabase)
    )
}

/// Test-only knobs; production code uses `StoreOptions::default()`.
#[derive(Debug, Clone, Default)]
pub struct StoreOptions {
    /// Caps the file size in pages, to simulate a full disk.
    pub max_pages: Option<u32>,
}

/// The cache. Cheap to clone; reads go through a small connection pool.
#[derive(Clone)]
pub struct Store {
    path: PathBuf,
    /// Replaced whole when a damaged file is swapped for a new one, so no
    /// pooled connection keeps reading the old file.
    readers: Arc<RwLock<Pool>>,
    /// The in-memory filter columns of the current library version.
    columns: Arc<columns::ColumnsCache>,
    options: StoreOptions,
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Store").field("path", &self.path).finish()
    }
}

impl Store {
    /// Opens (or creates) the cache at `path`, applying migrations. A file
    /// that is not a database is moved aside and a fresh one created; the
    /// returned notice says so.
    pub fn open(path: &Path) -> Result<(Store, Option<StoreError>), StoreError> {
        Self::open_with(path, StoreOptions::default())
    }

    pub fn open_with(
        path: &Path,
        options: StoreOptions,
    ) -> Result<(Store, Option<StoreError>), StoreError> {
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(|source| StoreError::CreateDir {
                path: dir.to_path_buf(),
                source,
            })?;
        }
        let notice = match migrate(path) {
            Ok(()) => None,
            Err(e) if e.is_corruption() => {
                let notice = move_aside(path, &e.to_string())?;
                tracing::warn!("{notice}");
                migrate(path)?;
                Some(notice)
            }
            Err(e) => return Err(e),
        };
        let store = Store {
            path: path.to_path_buf(),
            readers: Arc::new(RwLock::new(reader_pool(path)?)),
            columns: Arc::default(),
            options,
        };
        store.recover_interrupted()?;
        if let Some(notice) = &notice {
            store.record_error("corrupted", &notice.to_string())?;
        }
        Ok((store, notice))
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// A read connection from the pool (a consistent snapshot per statement
    /// or per explicit read transaction).
    pub fn reader(&self) -> Result<r2d2::PooledConnection<SqliteConnectionManager>, StoreError> {
        let pool = match self.readers.read() {
            Ok(pool) => pool.clone(),
            Err(poisoned) => poisoned.into_inner().clone(),
        };
        Ok(pool.get()?)
    }

    /// A fresh read-write connection, for the single writer (sync) and for
    /// small state updates.
    pub fn writer(&self) -> Result<Connection, StoreError> {
        let conn = Connection::open(&self.path)?;
        configure_writer(&conn)?;
        if let Some(pages) = self.options.max_pages {
            conn.pragma_update(None, "max_page_count", pages as i64)?;
        }
        Ok(conn)
    }

    /// Runs `PRAGMA quick_check`; the sync calls it before writing so a
    /// damaged file is rebuilt rather than patched.
    pub fn check_integrity(&self) -> Result<(), StoreError> {
        let conn = self.writer()?;
        let result: String = conn.query_row("PRAGMA quick_check", [], |r| r.get(0))?;
        if result == "ok" {
            Ok(())
        } else {
            Err(StoreError::Sqlite(rusqlite::Error::SqliteFailure(
                rusqlite::ffi::Error::new(rusqlite::ffi::SQLITE_CORRUPT),
                Some(result),
            )))
        }
    }

    /// Moves a damaged file aside and starts an empty cache in its place.
    pub fn rebuild_after_corruption(&self, detail: &str) -> Result<StoreError, StoreError> {
        let notice = move_aside(&self.path, detail)?;
        migrate(&self.path)?;
        // Pooled readers hold the old file open: replace the whole pool.
        let fresh = reader_pool(&self.path)?;
        match self.readers.write() {
            Ok(mut pool) => *pool = fresh,
            Err(poisoned) => *poisoned.into_inner() = fresh,
        }
        self.columns.clear();
        self.record_error("corrupted", &notice.to_string())?;
        Ok(notice)
    }
}

fn reader_pool(path: &Path) -> Result<Pool, StoreError> {
    let manager = SqliteConnectionManager::file(path)
        .with_flags(
            OpenFlags::SQLITE_OPEN_READ_WRITE
                | OpenFlags::SQLITE_OPEN_NO_MUTEX
                | OpenFlags::SQLITE_OPEN_URI,
        )
        .with_init(configure_reader);
    Ok(r2d2::Pool::builder()
        .max_size(8)
        .min_idle(Some(1))
        .connection_timeout(Duration::from_secs(10))
        .build(manager)?)
}

fn configure_common(conn: &Connection) -> rusqlite::Result<()> {
    conn.busy_timeout(BUSY_TIMEOUT)?;
    conn.pragma_update(None, "cache_size", -8000)?;
    conn.pragma_update(None, "temp_store", "MEMORY")?;
    Ok(())
}

fn configure_reader(conn: &mut Connection) -> rusqlite::Result<()> {
    configure_common(conn)?;
    conn.pragma_update(None, "query_only", true)?;
    Ok(())
}

fn configure_writer(conn: &Connection) -> rusqlite::Result<()> {
    configure_common(conn)?;
    conn.pragma_update(None, "journal_mode", "WAL")?;
    conn.pragma_update(None, "synchronous", "NORMAL")?;
    conn.pragma_update(None, "foreign_keys", true)?;
    // Big sorts (index builds) spill to temporary files, not to memory, so
    // memory stays flat in library size; a second thread sorts in parallel.
    conn.pragma_update(None, "temp_store", "FILE")?;
    conn.pragma_update(None, "threads", 2)?;
    Ok(())
}

/// Applies every migration newer than the file's `user_version`.
fn migrate(path: &Path) -> Result<(), StoreError> {
    let mut conn = Connection::open(path)?;
    conn.busy_timeout(BUSY_TIMEOUT)?;
    // Check the version before anything writes: a cache from a newer
    // plexcache is left exactly as it is (switching it to WAL would
    // already rewrite its header).
    let version: i64 = conn.query_row("PRAGMA user_version", [], |r| r.get(0))?;
    let known = schema::MIGRATIONS.len() as i64;
    if version > known {
        return Err(StoreError::TooNew {
            found: version,
            known,
        });
    }
    configure_writer(&conn)?;
    for (index, sql) in schema::MIGRATIONS.iter().enumerate().skip(version as usize) {
        let tx = conn.transaction()?;
        tx.execute_batch(sql)?;
        tx.pragma_update(None, "user_version", index as i64 + 1)?;
        tx.commit()?;
        tracing::info!(version = index + 1, "cache schema migrated");
    }
    for sql in schema::TRACK_INDEXES {
        conn.execute_batch(sql)?;
    }
    // Touch the main tables so a damaged file fails here, not mid-request.
    conn.query_row("SELECT count(*) FROM sync_state", [], |r| {
        r.get::<_, i64>(0)
    })?;
    Ok(())
}

/// Renames `path` (and its WAL and shared-memory files) to `*.corrupt-<time>`.
fn move_aside(path: &Path, detail: &str) -> Result<StoreError, StoreError> {
    let stamp = state::now_unix();
    let moved_to = path.with_extension(format!("db.corrupt-{stamp}"));
    std::fs::rename(path, &moved_to).map_err(|source| StoreError::MoveAside {
        path: path.to_path_buf(),
        source,
    })?;
    for suffix in ["-wal", "-shm"] {
        let side = PathBuf::from(format!("{}{suffix}", path.display()));
        if side.exists() {
            let _ = std::fs::rename(
                &side,
                PathBuf::from(format!("{}{suffix}", moved_to.display())),
            );
        }
    }
    Ok(StoreError::Corrupted {
        path: path.to_path_buf(),
        moved_to,
        detail: detail.to_owned(),
    })
}
