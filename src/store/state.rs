//! Sync state (one row: which server the cache came from, when it was last
//! good, the last error) and the history of past syncs. What the file
//! cannot record (it cannot be written) is kept in memory and still shown.

use std::collections::BTreeMap;

use rusqlite::{Connection, OptionalExtension, params};

use super::{Store, StoreError};
use crate::clock::now_unix;
use crate::locks::MutexExt;
use crate::model::{Cursors, HistoryEntry, Outcome, SyncKind, SyncState};

/// The error of a sync whose process stopped before it finished.
const INTERRUPTED: &str = "the process stopped before the sync finished";

/// How a sync ended, for its history row.
#[derive(Debug, Clone)]
pub struct SyncOutcome<'a> {
    pub outcome: Outcome,
    pub track_count: Option<i64>,
    pub added: Option<i64>,
    pub removed: Option<i64>,
    pub error: Option<&'a str>,
    pub server_name: Option<&'a str>,
    pub machine_identifier: Option<&'a str>,
}

/// A sync's history row as started: enough to write it again at the end if
/// the file lost it (or never took it).
#[derive(Debug, Clone, Copy)]
pub struct HistoryStart {
    pub id: Option<i64>,
    pub started_at: i64,
    pub kind: SyncKind,
}

/// Failures the file could not record.
#[derive(Debug, Default)]
pub(super) struct Unsaved {
    /// Kind, message and time of the last failure.
    error: Option<(String, String, i64)>,
    /// Newest last.
    history: Vec<HistoryEntry>,
}

/// Unsaved history rows kept at most.
const UNSAVED_HISTORY: usize = 100;

impl Store {
    /// The sync state, with a failure the file could not record and why the
    /// cache is read-only (when it is) standing in for the last error.
    pub fn sync_state(&self) -> Result<SyncState, StoreError> {
        let conn = self.reader()?;
        let mut state = read_state(&conn)?;
        let unsaved = self.unsaved().error.clone();
        if let Some((kind, message, at)) = unsaved
            && state.last_error_at.is_none_or(|saved| saved <= at)
        {
            state.last_error = Some(message);
            state.last_error_kind = Some(kind);
            state.last_error_at = Some(at);
        }
        if let Some(reason) = self
            .read_only_reason()
            .filter(|r| r.kind != "read_only_command")
            && state.last_error.is_none()
        {
            state.last_error = Some(reason.message.clone());
            state.last_error_kind = Some(reason.kind.to_owned());
        }
        Ok(state)
    }

    fn unsaved(&self) -> std::sync::MutexGuard<'_, Unsaved> {
        self.unsaved.lock_unpoisoned()
    }

    /// Records a failed sync's error, keeping the library as it was. When
    /// the file cannot take it, status still shows it (from memory).
    pub fn record_error(&self, kind: &str, message: &str) -> Result<(), StoreError> {
        let written = self.writer().and_then(|conn| {
            conn.execute(
                "UPDATE sync_state SET last_error = ?1, last_error_kind = ?2, last_error_at = ?3 WHERE id = 1",
                params![message, kind, now_unix()],
            )?;
            Ok(())
        });
        match written {
            Ok(()) => self.unsaved().error = None,
            Err(_) => {
                self.unsaved().error = Some((kind.to_owned(), message.to_owned(), now_unix()))
            }
        }
        written
    }

    /// Forgets an unsaved failure (a later sync succeeded).
    pub fn clear_unsaved_error(&self) {
        self.unsaved().error = None;
    }

    /// Opens a history row for a full sync that starts now. The returned
    /// start is good even when the file could not take the row.
    pub fn start_history(&self) -> Result<HistoryStart, (HistoryStart, StoreError)> {
        self.start_history_kind(SyncKind::Full)
    }

    /// Opens a history row for a sync of `kind` that starts now.
    pub fn start_history_kind(
        &self,
        kind: SyncKind,
    ) -> Result<HistoryStart, (HistoryStart, StoreError)> {
        let started_at = now_unix();
        let inserted = self.writer().and_then(|conn| {
            conn.execute(
                "INSERT INTO sync_history (started_at, outcome, kind) VALUES (?1, ?2, ?3)",
                params![started_at, Outcome::Running.name(), kind.name()],
            )?;
            Ok(conn.last_insert_rowid())
        });
        let start = |id| HistoryStart {
            id,
            started_at,
            kind,
        };
        match inserted {
            Ok(id) => Ok(start(Some(id))),
            Err(e) => Err((start(None), e)),
        }
    }

    /// Completes a sync's history row, writing it whole when the file lost
    /// it (a deleted WAL, a row never written); when the file cannot be
    /// written, the history still shows it (from memory).
    pub fn finish_history(
        &self,
        start: HistoryStart,
        outcome: &SyncOutcome<'_>,
    ) -> Result<(), StoreError> {
        let finished_at = now_unix();
        let written = self.writer().and_then(|conn| {
            let values = params![
                start.id,
                finished_at,
                outcome.outcome.name(),
                outcome.track_count,
                outcome.added,
                outcome.removed,
                outcome.error,
                outcome.server_name,
                outcome.machine_identifier,
                start.started_at,
                start.kind.name()
            ];
            let updated = match start.id {
                Some(_) => conn.execute(
                    "UPDATE sync_history SET finished_at = ?2, outcome = ?3, track_count = ?4, added = ?5,
                         removed = ?6, error = ?7, server_name = ?8, machine_identifier = ?9, kind = ?11
                     WHERE id = ?1 AND started_at = ?10",
                    values,
                )?,
                None => 0,
            };
            if updated == 0 {
                conn.execute(
                    "INSERT INTO sync_history (finished_at, outcome, track_count, added, removed, error,
                         server_name, machine_identifier, started_at, kind)
                     VALUES (?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
                    values,
                )?;
                tracing::warn!("the sync's history row was missing; it was written again");
            }
            Ok(())
        });
        if written.is_err() {
            let mut unsaved = self.unsaved();
            let id = -(unsaved.history.len() as i64 + 1);
            unsaved.history.push(HistoryEntry {
                id,
                started_at: start.started_at,
                finished_at: Some(finished_at),
                outcome: outcome.outcome,
                track_count: outcome.track_count,
                added: outcome.added,
                removed: outcome.removed,
                error: outcome.error.map(str::to_owned),
                server_name: outcome.server_name.map(str::to_owned),
                kind: start.kind,
            });
            if unsaved.history.len() > UNSAVED_HISTORY {
                unsaved.history.remove(0);
            }
        }
        written
    }

    /// Past syncs, newest first: the file's rows and those it could not
    /// take. A `running` row whose sync no live process runs shows as
    /// `interrupted`, without writing.
    pub fn history(&self, limit: u32) -> Result<Vec<HistoryEntry>, StoreError> {
        let mut rows = self.saved_history(limit)?;
        if rows.iter().any(|h| h.outcome == Outcome::Running) && !self.sync_running() {
            for row in rows.iter_mut().filter(|h| h.outcome == Outcome::Running) {
                row.outcome = Outcome::Interrupted;
                row.error.get_or_insert_with(|| INTERRUPTED.to_owned());
            }
        }
        rows.extend(self.unsaved().history.iter().cloned());
        // Unsaved rows (negative ids) come after the file stopped taking
        // rows: at the same second they are the newer ones.
        rows.sort_by_key(|h| std::cmp::Reverse((h.started_at, h.id < 0, h.id.unsigned_abs())));
        rows.truncate(limit as usize);
        Ok(rows)
    }

    fn saved_history(&self, limit: u32) -> Result<Vec<HistoryEntry>, StoreError> {
        let conn = self.reader()?;
        let mut stmt = conn.prepare_cached(
            "SELECT id, started_at, finished_at, outcome, track_count, added, removed, error, server_name,
                    kind
             FROM sync_history ORDER BY id DESC LIMIT ?1",
        )?;
        let rows = stmt.query_map([limit], |r| {
            Ok(HistoryEntry {
                id: r.get(0)?,
                started_at: r.get(1)?,
                finished_at: r.get(2)?,
                outcome: stored_outcome(&r.get::<_, String>(3)?),
                track_count: r.get(4)?,
                added: r.get(5)?,
                removed: r.get(6)?,
                error: r.get(7)?,
                server_name: r.get(8)?,
                // A kind this version does not know reads as a full sync.
                kind: SyncKind::from_name(&r.get::<_, String>(9)?).unwrap_or_default(),
            })
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// A process that died mid-sync leaves a `running` row: it is not
    /// running when no live process holds the sync lock. Writes only when
    /// there is such a row, holding the lock so no sync starts meanwhile.
    pub(super) fn recover_interrupted(&self) -> Result<(), StoreError> {
        let running: i64 = self.reader()?.query_row(
            "SELECT count(*) FROM sync_history WHERE outcome = ?1",
            [Outcome::Running.name()],
            |r| r.get(0),
        )?;
        if running == 0 {
            return Ok(());
        }
        let Ok(Some(_lock)) = self.try_lock_sync() else {
            return Ok(());
        };
        let conn = self.writer()?;
        let changed = conn.execute(
            "UPDATE sync_history SET outcome = ?3, finished_at = coalesce(finished_at, ?1),
                 error = coalesce(error, ?2)
             WHERE outcome = ?4",
            params![
                now_unix(),
                INTERRUPTED,
                Outcome::Interrupted.name(),
                Outcome::Running.name()
            ],
        );
        match changed {
            Ok(n) if n > 0 => tracing::warn!(
                syncs = n,
                "an earlier sync was interrupted; the cache kept its previous library"
            ),
            Ok(_) => {}
            // The history shows such rows as interrupted anyway; a cache
            // that cannot be written now still serves.
            Err(e) => tracing::warn!("cannot mark interrupted syncs in the history: {e}"),
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
                 track_count = 0, duration_ms = NULL, full_synced_at = NULL, synced_sections = NULL,
                 cursor_updated_at = NULL, cursor_viewed_at = NULL, cursor_rated_at = NULL,
                 cursor_parents_at = NULL, last_change_at = ?3
             WHERE id = 1",
            params![new_machine_identifier, new_name, now_unix()],
        )?;
        write_section_markers(&tx, &[])?;
        tx.commit()?;
        Ok(())
    }
}

/// A history row's outcome; a name this version does not know (none is
/// ever written) shows as a failure rather than hiding the row.
fn stored_outcome(name: &str) -> Outcome {
    Outcome::from_name(name).unwrap_or(Outcome::Failed)
}

pub(super) fn read_state(conn: &Connection) -> Result<SyncState, StoreError> {
    let state = conn
        .query_row(
            "SELECT machine_identifier, server_name, synced_at, track_count, duration_ms,
                    last_error, last_error_kind, last_error_at, full_synced_at, last_change_at,
                    synced_sections, cursor_updated_at, cursor_viewed_at, cursor_rated_at,
                    cursor_parents_at
             FROM sync_state WHERE id = 1",
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
                    full_synced_at: r.get(8)?,
                    last_change_at: r.get(9)?,
                    synced_sections: split_sections(r.get::<_, Option<String>>(10)?.as_deref()),
                    section_markers: Default::default(),
                    cursors: Cursors {
                        updated_at: r.get(11)?,
                        viewed_at: r.get(12)?,
                        rated_at: r.get(13)?,
                        parents_at: r.get(14)?,
                    },
                })
            },
        )
        .optional()?;
    let mut state = state.unwrap_or_default();
    state.section_markers = read_section_markers(conn)?;
    Ok(state)
}

fn read_section_markers(conn: &Connection) -> Result<BTreeMap<String, i64>, StoreError> {
    let mut stmt =
        conn.prepare_cached("SELECT section, content_changed_at FROM section_markers")?;
    let markers = stmt
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?
        .collect::<Result<_, _>>()?;
    Ok(markers)
}

/// Replaces the recorded section markers (see [`SyncState::section_markers`]),
/// inside the caller's transaction.
pub(super) fn write_section_markers(
    conn: &Connection,
    markers: &[(String, i64)],
) -> Result<(), StoreError> {
    conn.execute("DELETE FROM section_markers", [])?;
    let mut insert = conn.prepare_cached(
        "INSERT OR REPLACE INTO section_markers (section, content_changed_at) VALUES (?1, ?2)",
    )?;
    for (section, marker) in markers {
        insert.execute(params![section, marker])?;
    }
    Ok(())
}

/// The stored `synced_sections` list as keys.
fn split_sections(stored: Option<&str>) -> Vec<String> {
    stored
        .unwrap_or_default()
        .split(',')
        .filter(|k| !k.is_empty())
        .map(str::to_owned)
        .collect()
}

/// Section keys as `synced_sections` stores them (keys never hold commas:
/// Plex's are numbers).
pub(super) fn join_sections(sections: &[String]) -> String {
    sections.join(",")
}

/// The cursors as the sync state records them.
pub(super) fn stored_cursors(conn: &Connection) -> Result<Cursors, StoreError> {
    Ok(conn
        .query_row(
            "SELECT cursor_updated_at, cursor_viewed_at, cursor_rated_at, cursor_parents_at
             FROM sync_state WHERE id = 1",
            [],
            |r| {
                Ok(Cursors {
                    updated_at: r.get(0)?,
                    viewed_at: r.get(1)?,
                    rated_at: r.get(2)?,
                    parents_at: r.get(3)?,
                })
            },
        )
        .optional()?
        .unwrap_or_default())
}

/// The cursors of the library as stored: the largest times it holds.
pub(super) fn library_cursors(conn: &Connection) -> Result<Cursors, StoreError> {
    let (updated_at, viewed_at, rated_at) = conn.query_row(
        "SELECT max(updated_at), max(last_played_at), max(last_rated_at) FROM tracks",
        [],
        |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
    )?;
    let parents_at = conn.query_row(
        "SELECT max(m) FROM (SELECT max(updated_at) AS m FROM albums UNION ALL SELECT max(updated_at) FROM artists)",
        [],
        |r| r.get(0),
    )?;
    Ok(Cursors {
        updated_at,
        viewed_at,
        rated_at,
        parents_at,
    })
}
