//! The SQLite cache: one file in the data directory, WAL mode, numbered
//! migrations. SQL in, model types out: nothing here knows JSON or how a
//! time is shown. [`Store`] owns opening (refusing files that are not ours,
//! moving damaged ones aside, serving read-only when nothing can be
//! written) and a pool of read connections; [`query`] answers filters (with
//! the in-memory columns of `columns`, over the statements of `sql`),
//! [`write`] replaces the library in one transaction, [`state`] keeps sync
//! state and history, [`lock`] says whether a live process is syncing.

pub mod backup;
mod columns;
mod delta;
pub use delta::CachedParent;
pub mod lock;
pub mod patch;
pub mod query;
mod rows;
mod schema;
mod sql;
pub mod state;
pub mod write;

use std::path::{Path, PathBuf};
use std::time::Duration;

use r2d2_sqlite::SqliteConnectionManager;
use rusqlite::{Connection, OpenFlags};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, RwLock};

type Pool = r2d2::Pool<SqliteConnectionManager>;

use crate::locks::RwLockExt;
use crate::model::FilterError;
pub use lock::SyncLock;
pub use query::QueryPlan;
pub use sql::{fts_query, order_by};

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
    #[error(
        "{path} is not a plexcache cache ({detail}); it was left untouched: choose another data directory or move the file away"
    )]
    Foreign { path: PathBuf, detail: String },
    #[error("{reason}")]
    Unwritable { kind: &'static str, reason: String },
    #[error("cannot use the sync lock file {path}")]
    LockFile {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error(transparent)]
    Filter(#[from] FilterError),
    #[error("cache database error")]
    Sqlite(#[source] rusqlite::Error),
    /// `PRAGMA quick_check` found damage; `detail` is what it reported.
    #[error("the integrity check found damage: {detail}")]
    Damaged { detail: String },
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
            StoreError::Foreign { .. } => "foreign_file",
            StoreError::Unwritable { kind, .. } => kind,
            _ => "storage",
        }
    }

    /// True when the file itself is damaged (not merely busy or full).
    pub fn is_corruption(&self) -> bool {
        match self {
            StoreError::Corrupted { .. } | StoreError::Damaged { .. } => true,
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

impl StoreError {
    /// Damage, or an I/O error that may be damage: worth an integrity check.
    pub fn may_be_damage(&self) -> bool {
        self.is_corruption()
            || matches!(self, StoreError::Sqlite(e)
                if e.sqlite_error_code() == Some(rusqlite::ErrorCode::SystemIoFailure))
    }
}

/// See [`Store::change_stamp`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChangeStamp([Option<(u64, std::time::SystemTime)>; 2]);

/// Test-only knobs; production code uses `StoreOptions::default()`.
#[derive(Debug, Clone, Default)]
pub struct StoreOptions {
    /// Caps the file size in pages, to simulate a full disk.
    pub max_pages: Option<u32>,
}

/// Why this store cannot write: it is served read-only.
#[derive(Debug, Clone, PartialEq)]
pub struct ReadOnlyReason {
    /// `disk_full`, `read_only` or `read_only_command`.
    pub kind: &'static str,
    pub message: String,
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
    /// Set when the cache is served read-only; writes are refused with it.
    read_only: Option<ReadOnlyReason>,
    /// Failures the file could not record (it cannot be written): status
    /// and history still show them.
    unsaved: Arc<Mutex<state::Unsaved>>,
    /// An integrity check is under way (one at a time).
    checking: Arc<AtomicBool>,
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Store").field("path", &self.path).finish()
    }
}

impl Store {
    /// Opens (or creates) the cache at `path` for serving and syncing,
    /// applying migrations. A file that is not a database, or fails its
    /// integrity check, is moved aside and a fresh one created; the returned
    /// notice says so. A cache that cannot be written (full disk, read-only
    /// file or directory) is still opened, read-only.
    pub fn open(path: &Path) -> Result<(Store, Option<StoreError>), StoreError> {
        Self::open_with(path, StoreOptions::default())
    }

    pub fn open_with(
        path: &Path,
        options: StoreOptions,
    ) -> Result<(Store, Option<StoreError>), StoreError> {
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty())
            && !dir.is_dir()
        {
            std::fs::create_dir_all(dir).map_err(|source| StoreError::CreateDir {
                path: dir.to_path_buf(),
                source,
            })?;
        }
        let mut notice = None;
        let read_only = match migrate(path) {
            // Reading may work without writing a byte (SQLite needs no
            // shared-memory file for that); syncing would not.
            Ok(read_only) => read_only
                .or_else(|| write_blocker(path))
                .or_else(|| reader_blocker(path)),
            Err(e) if e.is_corruption() => {
                let moved = move_aside(path, &e.to_string())?;
                tracing::warn!("{moved}");
                notice = Some(moved);
                migrate(path)?
            }
            Err(e) => match cannot_write(&e, path) {
                Some(reason) => Some(reason),
                None => return Err(e),
            },
        };
        if let Some(reason) = &read_only {
            tracing::warn!("{}; the cache is served read-only", reason.message);
            return Self::open_read_only_file(path, options, reason.clone()).map(|s| (s, None));
        }
        let store = Store::assemble(path, reader_pool(path, ReaderMode::Normal)?, options, None);
        store.recover_interrupted()?;
        if let Some(notice) = &notice {
            store.record_error("corrupted", &notice.to_string())?;
        }
        Ok((store, notice))
    }

    /// Opens the cache for reading only (`status`, `tracks`): never writes,
    /// never waits on a sync another process runs. A missing or outdated
    /// cache is created or migrated first, as `open` does.
    pub fn open_read_only(path: &Path) -> Result<Store, StoreError> {
        let known = schema::MIGRATIONS.len() as i64;
        let version = match std::fs::metadata(path) {
            Ok(meta) if meta.len() > 0 => match read_only_version(path) {
                Ok(version) => Some(version),
                // Unreadable without writing (no -shm yet, none can be
                // made): the immutable view below still reads it.
                Err(e) if cannot_write(&e, path).is_some() => None,
                Err(e) => return Err(e),
            },
            _ => Some(0),
        };
        let reason = ReadOnlyReason {
            kind: "read_only_command",
            message: "this command only reads the cache".into(),
        };
        match version {
            Some(version) if version < known => Ok(Self::open(path)?.0),
            Some(_) => {
                let pool = reader_pool(path, ReaderMode::ReadOnly)?;
                let store = Store::assemble(path, pool, StoreOptions::default(), Some(reason));
                store.touch()?;
                Ok(store)
            }
            None => Self::open_read_only_file(path, StoreOptions::default(), reason),
        }
    }

    /// A store over the file as it is on disk, for when nothing may be
    /// written next to it (not even SQLite's shared-memory file).
    fn open_read_only_file(
        path: &Path,
        options: StoreOptions,
        reason: ReadOnlyReason,
    ) -> Result<Store, StoreError> {
        let conn = Connection::open_with_flags(immutable_uri(path), read_only_flags())?;
        check_ours(&conn, path)?;
        let version: i64 = conn.query_row("PRAGMA user_version", [], |r| r.get(0))?;
        if version != schema::MIGRATIONS.len() as i64 {
            return Err(StoreError::Unwritable {
                kind: reason.kind,
                reason: format!("{}, and the cache needs an upgrade first", reason.message),
            });
        }
        let pool = reader_pool(path, ReaderMode::Immutable)?;
        let store = Store::assemble(path, pool, options, Some(reason));
        store.touch()?;
        Ok(store)
    }

    fn assemble(
        path: &Path,
        readers: Pool,
        options: StoreOptions,
        read_only: Option<ReadOnlyReason>,
    ) -> Store {
        Store {
            path: path.to_path_buf(),
            readers: Arc::new(RwLock::new(readers)),
            columns: Arc::default(),
            options,
            read_only,
            unsaved: Arc::default(),
            checking: Arc::default(),
        }
    }

    /// Reads the main tables so a damaged or unreadable file fails here.
    fn touch(&self) -> Result<(), StoreError> {
        self.reader()?
            .query_row("SELECT count(*) FROM sync_state", [], |r| {
                r.get::<_, i64>(0)
            })?;
        Ok(())
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The size and modification time of the cache file and its WAL, read
    /// with two `stat` calls (no SQLite). Every commit, by any process,
    /// appends to the WAL or rewrites the file, so an unchanged stamp means
    /// nothing was committed since it was taken; the one exception, a WAL
    /// restarted and regrown to the same size within one clock tick, is why
    /// callers also bound how long they trust it.
    pub fn change_stamp(&self) -> ChangeStamp {
        let of = |path: &Path| {
            let meta = std::fs::metadata(path).ok()?;
            Some((meta.len(), meta.modified().ok()?))
        };
        let wal = PathBuf::from(format!("{}-wal", self.path.display()));
        ChangeStamp([of(&self.path), of(&wal)])
    }

    /// Why this store cannot write, when it is served read-only.
    pub fn read_only_reason(&self) -> Option<&ReadOnlyReason> {
        self.read_only.as_ref()
    }

    /// A read connection from the pool (a consistent snapshot per statement
    /// or per explicit read transaction).
    pub fn reader(&self) -> Result<r2d2::PooledConnection<SqliteConnectionManager>, StoreError> {
        let pool = self.readers.read_unpoisoned().clone();
        Ok(pool.get()?)
    }

    /// A fresh read-write connection, for the single writer (sync) and for
    /// small state updates.
    pub fn writer(&self) -> Result<Connection, StoreError> {
        if let Some(reason) = &self.read_only {
            return Err(StoreError::Unwritable {
                kind: reason.kind,
                reason: reason.message.clone(),
            });
        }
        let conn = Connection::open(&self.path)?;
        configure_writer(&conn)?;
        if let Some(pages) = self.options.max_pages {
            conn.pragma_update(None, "max_page_count", pages as i64)?;
        }
        Ok(conn)
    }

    /// Takes the sync lock: `Ok(None)` when a live sync (in this process or
    /// another) holds it.
    pub fn try_lock_sync(&self) -> Result<Option<SyncLock>, StoreError> {
        lock::try_acquire(&self.path).map_err(|source| StoreError::LockFile {
            path: lock::lock_path(&self.path),
            source,
        })
    }

    /// Whether a live process is syncing this cache right now.
    pub fn sync_running(&self) -> bool {
        lock::held_by_anyone(&self.path)
    }

    /// Runs `PRAGMA quick_check`; the sync calls it before writing so a
    /// damaged file is rebuilt rather than patched.
    pub fn check_integrity(&self) -> Result<(), StoreError> {
        let conn = self.reader()?;
        let result: String = conn.query_row("PRAGMA quick_check", [], |r| r.get(0))?;
        if result == "ok" {
            Ok(())
        } else {
            Err(StoreError::Damaged { detail: result })
        }
    }

    /// Checks the file and, when it is damaged, moves it aside for an empty
    /// cache; returns what happened then. Does nothing while a sync runs
    /// (it checks the file itself first) or another check is under way.
    pub fn rebuild_if_damaged(&self) -> Result<Option<StoreError>, StoreError> {
        if self.read_only.is_some() || self.checking.swap(true, Ordering::AcqRel) {
            return Ok(None);
        }
        let result = self.check_and_rebuild();
        self.checking.store(false, Ordering::Release);
        result
    }

    fn check_and_rebuild(&self) -> Result<Option<StoreError>, StoreError> {
        let damage = match self.check_integrity() {
            Ok(()) => return Ok(None),
            Err(e) if e.is_corruption() => e,
            Err(e) => return Err(e),
        };
        let Some(_lock) = self.try_lock_sync()? else {
            return Ok(None);
        };
        let detail = match damage {
            StoreError::Damaged { detail } => detail,
            StoreError::Sqlite(e) => e.to_string(),
            e => e.to_string(),
        };
        let notice = self.rebuild_after_corruption(&detail)?;
        tracing::warn!("{notice}");
        Ok(Some(notice))
    }

    /// Moves a damaged file aside and starts an empty cache in its place.
    /// The caller holds the sync lock, so no writer uses the old file.
    pub fn rebuild_after_corruption(&self, detail: &str) -> Result<StoreError, StoreError> {
        let notice = move_aside(&self.path, detail)?;
        migrate(&self.path)?;
        // Pooled readers hold the old file open: replace the whole pool.
        let fresh = reader_pool(&self.path, ReaderMode::Normal)?;
        *self.readers.write_unpoisoned() = fresh;
        self.columns.clear();
        self.record_error("corrupted", &notice.to_string())?;
        Ok(notice)
    }
}

/// The schema version of a file that must be ours, read without writing.
fn read_only_version(path: &Path) -> Result<i64, StoreError> {
    let conn = Connection::open_with_flags(path, read_only_flags())?;
    check_ours(&conn, path)?;
    let version: i64 = conn.query_row("PRAGMA user_version", [], |r| r.get(0))?;
    if version > schema::MIGRATIONS.len() as i64 {
        return Err(StoreError::TooNew {
            found: version,
            known: schema::MIGRATIONS.len() as i64,
        });
    }
    Ok(version)
}

/// How the pooled readers open the file.
#[derive(Clone, Copy)]
enum ReaderMode {
    /// Read-write handles that never write (`query_only`): the server's.
    Normal,
    /// Read-only handles: a command that only reads.
    ReadOnly,
    /// The file as it is, no locks, no shared memory: nothing may be
    /// written next to it.
    Immutable,
}

fn read_only_flags() -> OpenFlags {
    OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX | OpenFlags::SQLITE_OPEN_URI
}

fn reader_pool(path: &Path, mode: ReaderMode) -> Result<Pool, StoreError> {
    let manager = match mode {
        ReaderMode::Normal => SqliteConnectionManager::file(path).with_flags(
            OpenFlags::SQLITE_OPEN_READ_WRITE
                | OpenFlags::SQLITE_OPEN_NO_MUTEX
                | OpenFlags::SQLITE_OPEN_URI,
        ),
        ReaderMode::ReadOnly => SqliteConnectionManager::file(path).with_flags(read_only_flags()),
        ReaderMode::Immutable => {
            SqliteConnectionManager::file(immutable_uri(path)).with_flags(read_only_flags())
        }
    }
    .with_init(configure_reader);
    Ok(r2d2::Pool::builder()
        .max_size(8)
        .min_idle(Some(1))
        .connection_timeout(Duration::from_secs(10))
        .build(manager)?)
}

/// `file:<path>?immutable=1`, with the characters a URI gives meaning escaped.
fn immutable_uri(path: &Path) -> String {
    let mut uri = String::from("file:");
    for c in path.display().to_string().chars() {
        match c {
            '%' => uri.push_str("%25"),
            '?' => uri.push_str("%3f"),
            '#' => uri.push_str("%23"),
            c => uri.push(c),
        }
    }
    uri.push_str("?immutable=1");
    uri
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

/// Marks the file as a plexcache cache (`PRAGMA application_id`, "plxc").
const APPLICATION_ID: i32 = 0x706c_7863;

/// Tables every plexcache cache has had since the first schema.
const OUR_TABLES: [&str; 3] = ["tracks", "sync_state", "sync_history"];

/// Refuses a database some other program made: plexcache must not change
/// its journal mode, add tables or move it aside.
fn check_ours(conn: &Connection, path: &Path) -> Result<(), StoreError> {
    let id: i32 = conn.query_row("PRAGMA application_id", [], |r| r.get(0))?;
    if id == APPLICATION_ID {
        return Ok(());
    }
    let foreign = |detail: String| StoreError::Foreign {
        path: path.to_path_buf(),
        detail,
    };
    if id != 0 {
        return Err(foreign(format!("its application id is {id:#x}")));
    }
    let tables: Vec<String> = conn
        .prepare("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name")?
        .query_map([], |r| r.get(0))?
        .collect::<Result<_, _>>()?;
    if tables.is_empty() || OUR_TABLES.iter().all(|t| tables.iter().any(|n| n == t)) {
        return Ok(());
    }
    let shown: Vec<&str> = tables.iter().take(3).map(String::as_str).collect();
    let more = if tables.len() > 3 { ", …" } else { "" };
    Err(foreign(format!(
        "it holds {} other tables: {}{more}",
        tables.len(),
        shown.join(", ")
    )))
}

/// Brings the file to the current schema, writing only when something is
/// missing, so opening a current cache never waits on a running sync.
/// Returns why the file cannot be written when that is so and the file is
/// otherwise current.
fn migrate(path: &Path) -> Result<Option<ReadOnlyReason>, StoreError> {
    let mut conn = Connection::open(path)?;
    conn.busy_timeout(BUSY_TIMEOUT)?;
    // Check the file before anything writes: a cache from a newer plexcache
    // or another program is left exactly as it is (switching it to WAL
    // would already rewrite its header).
    check_ours(&conn, path)?;
    let version: i64 = conn.query_row("PRAGMA user_version", [], |r| r.get(0))?;
    let known = schema::MIGRATIONS.len() as i64;
    if version > known {
        return Err(StoreError::TooNew {
            found: version,
            known,
        });
    }
    if !needs_writing(&conn, version)? {
        conn.query_row("SELECT count(*) FROM sync_state", [], |r| {
            r.get::<_, i64>(0)
        })?;
        if conn.is_readonly(rusqlite::MAIN_DB)? {
            return Ok(Some(ReadOnlyReason {
                kind: "read_only",
                message: "the cache file cannot be written (a read-only file); syncs cannot run until it can".into(),
            }));
        }
        return Ok(None);
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
    conn.pragma_update(None, "application_id", APPLICATION_ID)?;
    // Touch the main tables so a damaged file fails here, not mid-request.
    conn.query_row("SELECT count(*) FROM sync_state", [], |r| {
        r.get::<_, i64>(0)
    })?;
    Ok(None)
}

/// Whether the file lacks a migration, an index, its mark or WAL mode.
fn needs_writing(conn: &Connection, version: i64) -> Result<bool, StoreError> {
    if version < schema::MIGRATIONS.len() as i64 {
        return Ok(true);
    }
    let id: i32 = conn.query_row("PRAGMA application_id", [], |r| r.get(0))?;
    let mode: String = conn.query_row("PRAGMA journal_mode", [], |r| r.get(0))?;
    let indexes: i64 = conn.query_row(
        &format!(
            "SELECT count(*) FROM sqlite_master WHERE type = 'index' AND name IN ({})",
            schema::TRACK_INDEX_NAMES
                .iter()
                .map(|n| format!("'{n}'"))
                .collect::<Vec<_>>()
                .join(", ")
        ),
        [],
        |r| r.get(0),
    )?;
    Ok(id != APPLICATION_ID
        || !mode.eq_ignore_ascii_case("wal")
        || indexes < schema::TRACK_INDEX_NAMES.len() as i64)
}

/// When `error` means the cache cannot be written here (full disk,
/// read-only file or directory), why, for serving it read-only.
fn cannot_write(error: &StoreError, path: &Path) -> Option<ReadOnlyReason> {
    let code = match error {
        StoreError::DiskFull(e) | StoreError::ReadOnly(e) | StoreError::Sqlite(e) => {
            e.sqlite_error_code()?
        }
        _ => return None,
    };
    use rusqlite::ErrorCode::*;
    if !matches!(code, DiskFull | ReadOnly | CannotOpen | SystemIoFailure) {
        return None;
    }
    if code == DiskFull || disk_is_full(path) {
        return Some(ReadOnlyReason {
            kind: "disk_full",
            message: "the disk holding the cache is full; syncs cannot run until space is freed"
                .into(),
        });
    }
    Some(ReadOnlyReason {
        kind: "read_only",
        message: format!(
            "the cache cannot be written ({}); syncs cannot run until it can",
            error_detail(error)
        ),
    })
}

fn error_detail(error: &StoreError) -> String {
    match error {
        StoreError::DiskFull(e) | StoreError::ReadOnly(e) | StoreError::Sqlite(e) => e.to_string(),
        e => e.to_string(),
    }
}

/// Why nothing can be written next to the cache, if so: a full disk, or a
/// directory that refuses new files (SQLite's WAL needs them).
fn write_blocker(path: &Path) -> Option<ReadOnlyReason> {
    if disk_is_full(path) {
        return Some(ReadOnlyReason {
            kind: "disk_full",
            message: "the disk holding the cache is full; syncs cannot run until space is freed"
                .into(),
        });
    }
    let probe = PathBuf::from(format!("{}.write-check", path.display()));
    match std::fs::File::create(&probe) {
        Ok(_) => {
            let _ = std::fs::remove_file(&probe);
            None
        }
        Err(e) => Some(ReadOnlyReason {
            kind: "read_only",
            message: format!(
                "the cache directory cannot be written ({e}); syncs cannot run until it can"
            ),
        }),
    }
}

/// Why the server's readers cannot open the file, if they cannot: checked
/// with one connection, since a pool would retry for its whole timeout.
fn reader_blocker(path: &Path) -> Option<ReadOnlyReason> {
    let flags = OpenFlags::SQLITE_OPEN_READ_WRITE
        | OpenFlags::SQLITE_OPEN_NO_MUTEX
        | OpenFlags::SQLITE_OPEN_URI;
    let checked = Connection::open_with_flags(path, flags)
        .and_then(|mut conn| {
            configure_reader(&mut conn)?;
            conn.query_row("SELECT count(*) FROM sync_state", [], |r| {
                r.get::<_, i64>(0)
            })
        })
        .map_err(StoreError::from);
    cannot_write(&checked.err()?, path)
}

/// Whether the file system holding `path` has no blocks left for us.
fn disk_is_full(path: &Path) -> bool {
    use std::os::unix::ffi::OsStrExt;
    let dir = path
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let Ok(c_path) = std::ffi::CString::new(dir.as_os_str().as_bytes()) else {
        return false;
    };
    // SAFETY: statvfs fills the zeroed struct it is given; the path is a
    // valid C string for the call.
    unsafe {
        let mut stats: libc::statvfs = std::mem::zeroed();
        libc::statvfs(c_path.as_ptr(), &mut stats) == 0 && stats.f_bavail == 0
    }
}

/// Renames `path` (and its WAL and shared-memory files) to `*.corrupt-<time>`.
fn move_aside(path: &Path, detail: &str) -> Result<StoreError, StoreError> {
    let stamp = crate::clock::now_unix();
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_commit_changes_the_stamp_and_nothing_else_does() {
        let dir = tempfile::tempdir().expect("temporary directory");
        let (store, _) = Store::open(&dir.path().join("cache.db")).expect("open");
        let before = store.change_stamp();
        store.sync_state().expect("read");
        assert_eq!(store.change_stamp(), before, "a read changed the stamp");
        store.record_error("test", "a failure").expect("write");
        assert_ne!(store.change_stamp(), before, "a commit left the stamp");
    }
}
