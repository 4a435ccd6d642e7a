//! Replacing the library: one write transaction that empties the tables,
//! takes every artist, album and track a sync streams in, derives what
//! depends on all of them (years, inherited genres, text index, statistics)
//! and commits. Readers see the old library until the commit; dropping the
//! writer without finishing rolls everything back.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::Arc;

use rusqlite::{Connection, params};

use super::columns::ColumnsCache;
use super::rows::{NewParent, Rows};
pub use super::rows::{NewTrack, ParentInfo, ParentKind};
use super::schema::{TRACK_INDEX_NAMES, TRACK_INDEXES};
use super::state::{join_sections, library_cursors, stored_cursors};
use super::{Store, StoreError};
use crate::clock::{now_millis, now_unix};

/// What the sync state records when the new library commits.
#[derive(Debug, Clone)]
pub struct Finish<'a> {
    pub machine_identifier: &'a str,
    pub server_name: &'a str,
    pub started_at_ms: i64,
    /// The section keys the sync covered.
    pub sections: &'a [String],
    /// Their `contentChangedAt` as read before the sync's first listing.
    pub markers: &'a [(String, i64)],
}

/// Counts of the committed library.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Committed {
    pub track_count: i64,
    pub added: i64,
    pub removed: i64,
}

pub struct LibraryWriter {
    conn: Connection,
    columns: Arc<ColumnsCache>,
    rows: Rows,
    previous_keys_table: bool,
    open: bool,
}

impl Store {
    /// Starts replacing the library. Only one writer can exist at a time
    /// (`BEGIN IMMEDIATE`); the sync engine also serializes syncs itself.
    pub fn replace_library(&self) -> Result<LibraryWriter, StoreError> {
        let conn = self.writer()?;
        conn.execute_batch("BEGIN IMMEDIATE")?;
        let mut writer = LibraryWriter {
            conn,
            columns: Arc::clone(&self.columns),
            rows: Rows::default(),
            previous_keys_table: false,
            open: true,
        };
        writer.prepare()?;
        Ok(writer)
    }
}

impl LibraryWriter {
    fn prepare(&mut self) -> Result<(), StoreError> {
        // Remember the old keys to report what was added and removed.
        self.conn.execute_batch(
            "CREATE TEMP TABLE previous_keys (rating_key TEXT PRIMARY KEY) WITHOUT ROWID;
             INSERT INTO previous_keys SELECT rating_key FROM tracks;",
        )?;
        self.previous_keys_table = true;
        for name in TRACK_INDEX_NAMES {
            self.conn
                .execute_batch(&format!("DROP INDEX IF EXISTS {name}"))?;
        }
        clear_library(&self.conn)?;
        Ok(())
    }

    #[allow(clippy::too_many_arguments)]
    pub fn add_parent(
        &mut self,
        kind: ParentKind,
        rating_key: &str,
        parent_key: Option<&str>,
        title: Option<&str>,
        year: Option<i64>,
        updated_at: Option<i64>,
        genres: &[String],
    ) -> Result<(), StoreError> {
        let parent = NewParent {
            kind,
            rating_key,
            parent_key,
            title,
            year,
            updated_at,
            genres,
        };
        self.rows.put_parent(&self.conn, &parent)
    }

    /// Replaces a parent's genre list (full records replace truncated listings).
    pub fn set_parent_genres(
        &mut self,
        rating_key: &str,
        genres: &[String],
    ) -> Result<(), StoreError> {
        self.rows.set_parent_genres(&self.conn, rating_key, genres)
    }

    /// What a track inherits from its album and artist records.
    pub fn parent_info(
        &mut self,
        album_key: Option<&str>,
        artist_key: Option<&str>,
    ) -> Result<ParentInfo, StoreError> {
        Rows::parent_info(&self.conn, album_key, artist_key)
    }

    /// Adds a track, or replaces it when its key was already taken (offsets
    /// shifted between pages), with its genres: its own, else its album's,
    /// else its artist's.
    pub fn add_track(&mut self, t: &NewTrack<'_>) -> Result<(), StoreError> {
        self.rows.put_track(&self.conn, t).map(|_| ())
    }

    /// Drops every track taken so far, for a pass that starts over after the
    /// library changed under it.
    pub fn restart_tracks(&mut self) -> Result<(), StoreError> {
        self.conn
            .execute_batch("DELETE FROM track_genres; DELETE FROM tracks;")?;
        Ok(())
    }

    /// Distinct tracks taken so far.
    pub fn track_count(&self) -> Result<i64, StoreError> {
        Ok(self
            .conn
            .query_row("SELECT count(*) FROM tracks", [], |r| r.get(0))?)
    }

    /// Derives inherited fields, rebuilds indexes and statistics, records
    /// the sync state and commits.
    pub fn finish(mut self, finish: &Finish<'_>) -> Result<Committed, StoreError> {
        for sql in TRACK_INDEXES {
            self.timed(sql, sql)?;
        }
        let started = std::time::Instant::now();
        self.write_stats()?;
        tracing::debug!(
            step = "stats",
            ms = started.elapsed().as_millis() as u64,
            "saving"
        );
        self.timed(
            "text index",
            "INSERT INTO tracks_fts (tracks_fts) VALUES ('rebuild')",
        )?;
        let track_count = self.track_count()?;
        let removed: i64 = self.conn.query_row(
            "SELECT count(*) FROM temp.previous_keys p WHERE NOT EXISTS (SELECT 1 FROM tracks t WHERE t.rating_key = p.rating_key)",
            [],
            |r| r.get(0),
        )?;
        let kept: i64 =
            self.conn
                .query_row("SELECT count(*) FROM temp.previous_keys", [], |r| {
                    r.get::<_, i64>(0)
                })?
                - removed;
        let duration_ms = now_millis() - finish.started_at_ms;
        let version: i64 = self.conn.query_row(
            "SELECT library_version + 1 FROM sync_state WHERE id = 1",
            [],
            |r| r.get(0),
        )?;
        let cursors = library_cursors(&self.conn)?;
        // Plex moves a cursor on every edit, play and rating: with the same
        // keys and cursors, nothing changed.
        let changed = track_count != kept || removed > 0 || cursors != stored_cursors(&self.conn)?;
        let now = now_unix();
        self.conn.execute(
            "UPDATE sync_state SET machine_identifier = ?1, server_name = ?2, synced_at = ?3, track_count = ?4,
                 duration_ms = ?5, last_error = NULL, last_error_kind = NULL, last_error_at = NULL,
                 library_version = ?6, full_synced_at = ?3, synced_sections = ?7,
                 last_change_at = CASE WHEN ?8 THEN ?3 ELSE coalesce(last_change_at, ?3) END,
                 cursor_updated_at = ?9, cursor_viewed_at = ?10, cursor_rated_at = ?11,
                 cursor_parents_at = ?12
             WHERE id = 1",
            params![
                finish.machine_identifier,
                finish.server_name,
                now,
                track_count,
                duration_ms,
                version,
                join_sections(finish.sections),
                changed,
                cursors.updated_at,
                cursors.viewed_at,
                cursors.rated_at,
                cursors.parents_at
            ],
        )?;
        super::state::write_section_markers(&self.conn, finish.markers)?;
        let started = std::time::Instant::now();
        let columns = self.columns.prepare(&self.conn, version)?;
        if columns.is_some() {
            tracing::debug!(
                step = "filter columns",
                ms = started.elapsed().as_millis() as u64,
                "saving"
            );
        }
        self.conn.execute_batch("COMMIT")?;
        if let Some(columns) = columns {
            self.columns.install(columns);
        }
        self.open = false;
        self.drop_previous_keys();
        // Fold the big write back into the main file now rather than on some
        // reader's time; a busy reader only makes this partial, which is fine.
        let _ = self.conn.execute_batch("PRAGMA wal_checkpoint(PASSIVE)");
        Ok(Committed {
            track_count,
            added: track_count - kept,
            removed,
        })
    }

    /// Precomputes the genre and decade counts, so statistics cost nothing
    /// to read, and drops genres no track nor parent has any more. Counted here in one
    /// pass over each table: a GROUP BY would sort them first.
    fn write_stats(&self) -> Result<(), StoreError> {
        let mut per_genre: HashMap<i64, i64> = HashMap::new();
        let mut stmt = self.conn.prepare("SELECT genre_id FROM track_genres")?;
        let mut rows = stmt.query([])?;
        while let Some(r) = rows.next()? {
            *per_genre.entry(r.get(0)?).or_default() += 1;
        }
        let mut per_decade: BTreeMap<i64, i64> = BTreeMap::new();
        let mut stmt = self
            .conn
            .prepare("SELECT year FROM tracks WHERE year IS NOT NULL")?;
        let mut rows = stmt.query([])?;
        while let Some(r) = rows.next()? {
            let year: i64 = r.get(0)?;
            *per_decade.entry(year.div_euclid(10) * 10).or_default() += 1;
        }
        let genres: Vec<(i64, String)> = self
            .conn
            .prepare("SELECT id, name FROM genres")?
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?
            .collect::<Result<_, _>>()?;
        // Genres only albums or artists list stay: a track added later by a
        // patch may inherit them. Filters take only genres some track has.
        let listed: HashSet<i64> = self
            .conn
            .prepare("SELECT DISTINCT genre_id FROM parent_genres")?
            .query_map([], |r| r.get(0))?
            .collect::<Result<_, _>>()?;
        self.conn.execute_batch("DELETE FROM stats_cache")?;
        let mut insert = self
            .conn
            .prepare("INSERT INTO stats_cache (kind, name, count) VALUES (?1, ?2, ?3)")?;
        let mut unused = self.conn.prepare("DELETE FROM genres WHERE id = ?1")?;
        for (id, name) in genres {
            match per_genre.get(&id) {
                Some(count) => insert.execute(params!["genre", name, count])?,
                None if listed.contains(&id) => 0,
                None => unused.execute([id])?,
            };
        }
        for (decade, count) in per_decade {
            insert.execute(params!["decade", format!("{decade}s"), count])?;
        }
        self.conn.execute(
            "UPDATE sync_state SET track_count = (SELECT count(*) FROM tracks) WHERE id = 1",
            [],
        )?;
        Ok(())
    }

    /// Runs SQL, logging how long it took (the commit's cost shows up here).
    fn timed(&self, name: &str, sql: &str) -> Result<(), StoreError> {
        let started = std::time::Instant::now();
        self.conn.execute_batch(sql)?;
        tracing::debug!(
            step = name,
            ms = started.elapsed().as_millis() as u64,
            "saving"
        );
        Ok(())
    }

    fn drop_previous_keys(&mut self) {
        if self.previous_keys_table {
            let _ = self
                .conn
                .execute_batch("DROP TABLE IF EXISTS temp.previous_keys");
            self.previous_keys_table = false;
        }
    }
}

impl Drop for LibraryWriter {
    fn drop(&mut self) {
        if self.open {
            // Not finished: the old library stays exactly as it was.
            let _ = self.conn.execute_batch("ROLLBACK");
        }
        self.drop_previous_keys();
    }
}

/// Empties the library tables (used by a full replace and a server change).
pub(super) fn clear_library(conn: &Connection) -> Result<(), StoreError> {
    conn.execute_batch(
        "DELETE FROM track_genres; DELETE FROM tracks; DELETE FROM genres; DELETE FROM albums;
         DELETE FROM artists; DELETE FROM parent_genres; DELETE FROM stats_cache;
         INSERT INTO tracks_fts (tracks_fts) VALUES ('delete-all');
         UPDATE sync_state SET track_count = 0, library_version = library_version + 1 WHERE id = 1;",
    )?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Cursors, SyncKind};

    pub(crate) fn track<'a>(key: &'a str, genres: &'a [String]) -> NewTrack<'a> {
        NewTrack {
            rating_key: key,
            section: "1",
            title: "Title",
            artist: "Artist",
            album_artist: "Artist",
            album: "Album",
            album_key: Some("a1"),
            artist_key: Some("r1"),
            disc: Some(1),
            track: Some(1),
            duration_ms: Some(1000),
            year: Some(1990),
            rating: None,
            play_count: 0,
            last_played_at: Some(1_700_000_100),
            added_at: Some(1_600_000_000),
            updated_at: Some(1_700_000_000),
            last_rated_at: Some(1_700_000_200),
            is_live: false,
            genres,
        }
    }

    fn replace(store: &Store, updated_at: i64) {
        let mut w = store.replace_library().expect("writer");
        w.add_parent(
            ParentKind::Artist,
            "r1",
            None,
            Some("Artist"),
            None,
            Some(1_650_000_000),
            &[],
        )
        .expect("artist");
        w.add_parent(
            ParentKind::Album,
            "a1",
            Some("r1"),
            Some("Album"),
            Some(1990),
            Some(1_660_000_000),
            &["Parent Only".to_owned()],
        )
        .expect("album");
        let genres = ["Rock".to_owned()];
        let mut t = track("1", &genres);
        t.updated_at = Some(updated_at);
        w.add_track(&t).expect("track");
        let sections = ["1".to_owned(), "7".to_owned()];
        w.finish(&Finish {
            machine_identifier: "m",
            server_name: "s",
            started_at_ms: now_millis(),
            sections: &sections,
            markers: &[],
        })
        .expect("finish");
    }

    #[test]
    fn a_full_sync_records_sections_cursors_and_its_change() {
        let dir = tempfile::tempdir().expect("temporary directory");
        let (store, _) = Store::open(&dir.path().join("cache.db")).expect("open");
        let fresh = store.sync_state().expect("state");
        assert_eq!((fresh.full_synced_at, fresh.last_change_at), (None, None));
        assert_eq!(fresh.cursors, Cursors::default());
        replace(&store, 1_700_000_000);
        let state = store.sync_state().expect("state");
        assert_eq!(state.synced_sections, ["1", "7"]);
        assert!(state.full_synced_at.is_some());
        assert_eq!(state.full_synced_at, state.synced_at);
        assert!(state.last_change_at.is_some());
        assert_eq!(
            state.cursors,
            Cursors {
                updated_at: Some(1_700_000_000),
                viewed_at: Some(1_700_000_100),
                rated_at: Some(1_700_000_200),
                parents_at: Some(1_660_000_000),
            }
        );
        // The same library again: no change; an edit moves the cursor and
        // is one.
        let conn = store.writer().expect("writer");
        conn.execute("UPDATE sync_state SET last_change_at = 5", [])
            .expect("set");
        replace(&store, 1_700_000_000);
        assert_eq!(store.sync_state().expect("state").last_change_at, Some(5));
        replace(&store, 1_700_000_001);
        let state = store.sync_state().expect("state");
        assert_ne!(state.last_change_at, Some(5));
        assert_eq!(state.cursors.updated_at, Some(1_700_000_001));
    }

    #[test]
    fn a_genre_only_a_parent_lists_is_kept_but_unknown_to_filters() {
        let dir = tempfile::tempdir().expect("temporary directory");
        let (store, _) = Store::open(&dir.path().join("cache.db")).expect("open");
        replace(&store, 1_700_000_000);
        let kept: i64 = store
            .reader()
            .expect("reader")
            .query_row(
                "SELECT count(*) FROM genres WHERE name = 'Parent Only'",
                [],
                |r| r.get(0),
            )
            .expect("count");
        assert_eq!(kept, 1);
        let filter = crate::model::Filter {
            genres: vec!["parent only".to_owned()],
            ..Default::default()
        };
        assert!(matches!(
            store.count(&filter),
            Err(StoreError::Filter(crate::model::FilterError::UnknownGenre(
                _
            )))
        ));
        let rock = crate::model::Filter {
            genres: vec!["rock".to_owned()],
            ..Default::default()
        };
        assert_eq!(store.count(&rock).expect("count"), 1);
    }

    #[test]
    fn history_rows_keep_their_kind() {
        let dir = tempfile::tempdir().expect("temporary directory");
        let (store, _) = Store::open(&dir.path().join("cache.db")).expect("open");
        let full = store.start_history().expect("start");
        let delta = store.start_history_kind(SyncKind::Delta).expect("start");
        let done = super::super::state::SyncOutcome {
            outcome: crate::model::Outcome::Success,
            track_count: Some(0),
            added: Some(0),
            removed: Some(0),
            error: None,
            server_name: None,
            machine_identifier: None,
        };
        store.finish_history(full, &done).expect("finish");
        store.finish_history(delta, &done).expect("finish");
        let kinds: Vec<SyncKind> = store
            .history(10)
            .expect("history")
            .iter()
            .map(|h| h.kind)
            .collect();
        assert_eq!(kinds, [SyncKind::Delta, SyncKind::Full]);
    }
}
