//! Sync state (one row: which server the cache came from, when it was last
//! good, the last error) and the history of past syncs.

use rusqlite::{Connection, OptionalExtension, params};
use serde::Serialize;

use super::{Store, StoreError};

pub fn now_unix() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct SyncState {
    pub machine_identifier: Option<String>,
    pub server_name: Option<String>,
    /// Unix time of the last good sync.
    pub synced_at: Option<i64>,
    /// Always equal to the rows served: written in the sync's transaction.
    pub track_count: i64,
    pub duration_ms: Option<i64>,
    pub last_error: Option<String>,
    pub last_error_kind: Option<String>,
    pub last_error_at: Option<i64>,
}

#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct HistoryEntry {
    pub id: i64,
    /// Unix time.
    pub started_at: i64,
    pub finished_at: Option<i64>,
    /// `running`, `success`, `failed`, `cancelled` or `interrupted`.
    pub outcome: String,
    pub track_count: Option<i64>,
    pub added: Option<i64>,
    pub removed: Option<i64>,
    pub error: Option<String>,
    pub server_name: Option<String>,
}

/// How a sync ended, for its history row.
#[derive(Debug, Clone)]
pub struct SyncOutcome<'a> {
    pub outcome: &'a str,
    pub track_count: Option<i64>,
    pub added: Option<i64>,
    pub removed: Option<i64>,
    pub error: Option<&'a str>,
    pub server_name: Option<&'a str>,
    pub machine_identifier: Option<&'a str>,
}

impl Store {
    pub fn sync_state(&self) -> Result<SyncState, StoreError> {
        let conn = self.reader()?;
        read_state(&conn)
    }

    /// Records a failed sync's error, keeping the library as it was.
    pub fn record_error(&self, kind: &str, message: &str) -> Result<(), StoreError> {
        self.writer()?.execute(
            "UPDATE sync_state SET last_error = ?1, last_error_kind = ?2, last_error_at = ?3 WHERE id = 1",
            params![message, kind, now_unix()],
        )?;
        Ok(())
    }

    /// Opens a history row for a sync that starts now; returns its id.
    pub fn start_history(&self) -> Result<i64, StoreError> {
        let conn = self.writer()?;
        conn.execute(
            "INSERT INTO sync_history (started_at, outcome) VALUES (?1, 'running')",
            params![now_unix()],
        )?;
        Ok(conn.last_insert_rowid())
    }

    pub fn finish_history(&self, id: i64, outcome: &SyncOutcome<'_>) -> Result<(), StoreError> {
        self.writer()?.execute(
            "UPDATE sync_history SET finished_at = ?2, outcome = ?3, track_count = ?4, added = ?5,
                 removed = ?6, error = ?7, server_name = ?8, machine_identifier = ?9
             WHERE id = ?1",
            params![
                id,
                now_unix(),
                outcome.outcome,
                outcome.track_count,
                outcome.added,
                outcome.removed,
                outcome.error,
                outcome.server_name,
                outcome.machine_identifier
            ],
        )?;
        Ok(())
    }

    pub fn history(&self, limit: u32) -> Result<Vec<HistoryEntry>, StoreError> {
        let conn = self.reader()?;
        let mut stmt = conn.prepare_cached(
            "SELECT id, started_at, finished_at, outcome, track_count, added, removed, error, server_name
             FROM sync_history ORDER BY id DESC LIMIT ?1",
        )?;
        let rows = stmt.query_map([limit], |r| {
            Ok(HistoryEntry {
                id: r.get(0)?,
                started_at: r.get(1)?,
                finished_at: r.get(2)?,
                outcome: r.get(3)?,
                track_count: r.get(4)?,
                added: r.get(5)?,
                removed: r.get(6)?,
                error: r.get(7)?,
                server_name: r.get(8)?,
            })
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// A process that died mid-sync leaves a `running` row: it is not running.
    pub(super) fn recover_interrupted(&self) -> Result<(), StoreError> {
        let conn = self.writer()?;
        let changed = conn.execute(
            "UPDATE sync_history SET outcome = 'interrupted', finished_at = coalesce(finished_at, ?1),
                 error = coalesce(error, 'the process stopped before the sync finished')
             WHERE outcome = 'running'",
            params![now_unix()],
        );
        match changed {
            Ok(n) if n > 0 => tracing::warn!(
                syncs = n,
                "an earlier sync was interrupted; the cache kept its previous library"
            ),
            Ok(_) => {}
            // A read-only cache still serves; it just cannot fix old rows.
            Err(e) if e.sqlite_error_code() == Some(rusqlite::ErrorCode::ReadOnly) => {}
            Err(e) => return Err(e.into()),
        }
        Ok(())
    }

    /// Forgets the library of a server that is no longer the configured one,
    /// so its tracks are never served again.
    pub fn forget_server(
        &self,
        new_machine_identifier: &str,
        new_name: &str,
    ) -> Result<(), StoreError> {
        let mut conn = self.writer()?;
        let tx = conn.transaction()?;
        super::write::clear_library(&tx)?;
        tx.execute(
            "UPDATE sync_state SET machine_identifier = ?1, server_name = ?2, synced_at = NULL,
                 track_count = 0, duration_ms = NULL WHERE id = 1",
            params![new_machine_identifier, new_name],
        )?;
        tx.commit()?;
        Ok(())
    }
}

pub(super) fn read_state(conn: &Connection) -> Result<SyncState, StoreError> {
    let state = conn
        .query_row(
            "SELECT machine_identifier, server_name, synced_at, track_count, duration_ms,
                    last_error, last_error_kind, last_error_at FROM sync_state WHERE id = 1",
            [],
            |r| {
                Ok(SyncState {
                    machine_identifier: r.get(0)?,
                    server_name: r.get(1)?,
                    synced_at: r.get(2)?,
                    track_count: r.get(3)?,
                    duration_ms: r.get(4)?,
                    last_error: r.get(5)?,
                    last_error_kind: r.get(6)?,
                    last_error_at: r.get(7)?,
                })
            },
        )
        .optional()?;
    Ok(state.unwrap_or_default())
}
