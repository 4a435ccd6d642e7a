//! Changing the library in place: one short write transaction that adds,
//! edits and removes a few tracks, albums and artists (a live update or a
//! delta refresh), keeping everything derived from them current without a
//! rebuild: the full-text index row by row, the genre and decade counts by
//! difference, the cursors, and the in-memory filter columns, patched from
//! the current copy. Readers see the library before or after, never
//! between; dropping the patch without finishing rolls it back.
//!
//! What a track inherits from its album or artist (genres, year, album
//! title) is written when the track is: after a parent changes, the caller
//! sends its tracks again (it fetches them anew), and they inherit then.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::sync::Arc;

use rusqlite::types::Value;
use rusqlite::{Connection, OptionalExtension, params};

use super::columns::ColumnsCache;
use super::rows::{NewParent, Rows};
pub use super::rows::{NewTrack, ParentInfo, ParentKind};
use super::sql::{PATCHED_IDS_CREATE, PATCHED_IDS_DROP, PATCHED_IDS_INSERT};
use super::state::join_sections;
use super::{Store, StoreError};
use crate::clock::now_unix;
use crate::model::Cursors;

/// What the sync state records when a patch commits.
#[derive(Debug, Clone)]
pub struct PatchFinish<'a> {
    pub machine_identifier: &'a str,
    pub server_name: &'a str,
    /// The section keys a refresh covered (recorded only when `refresh`).
    pub sections: &'a [String],
    /// Their `contentChangedAt` as read before the refresh's first listing
    /// (recorded only when `refresh`).
    pub markers: &'a [(String, i64)],
    /// A delta refresh (a sync): also sets `synced_at`, `synced_sections`
    /// and clears the last error (its history is the caller's). A live
    /// update: leaves them alone.
    pub refresh: bool,
}

/// What a patch changed, and the library's size after it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct PatchReport {
    pub added: u64,
    pub changed: u64,
    pub removed: u64,
    pub track_count: i64,
}

/// An open patch; see the module docs.
pub struct LibraryPatch {
    conn: Connection,
    columns: Arc<ColumnsCache>,
    rows: Rows,
    open: bool,
    /// Track keys changed or removed, and whether each was cached when the
    /// patch began.
    keys: HashMap<String, bool>,
    /// Rowids whose row changed, appeared or went.
    touched: BTreeSet<i64>,
    /// Differences to the genre (by id) and decade track counts.
    genre_counts: HashMap<i64, i64>,
    decade_counts: BTreeMap<i64, i64>,
    /// Genres that may be used by nothing any more.
    genre_candidates: HashSet<i64>,
    parents_changed: bool,
    /// The largest times the patch wrote.
    cursors: Cursors,
}

/// A stored track as the patch compares it: equal snapshots, no change.
#[derive(Debug, PartialEq)]
struct TrackSnapshot {
    id: i64,
    /// title, artist, album, year, then every other column.
    values: Vec<Value>,
    /// (genre id, position).
    genres: Vec<(i64, i64)>,
}

impl TrackSnapshot {
    fn text(&self, i: usize) -> &Value {
        &self.values[i]
    }

    fn year(&self) -> Option<i64> {
        match self.values[3] {
            Value::Integer(year) => Some(year),
            _ => None,
        }
    }
}

const SNAPSHOT_SQL: &str =
    "SELECT id, title, artist, album, year, section, album_artist, album_key,
         artist_key, disc, track, duration_ms, rating, play_count, last_played_at, added_at,
         updated_at, is_live, last_rated_at
     FROM tracks WHERE rating_key = ?1";
const SNAPSHOT_COLUMNS: usize = 18;

impl Store {
    /// Starts changing the library in place. One writer at a time (`BEGIN
    /// IMMEDIATE`): a patch waits for a running full sync's commit, and
    /// the other way round.
    pub fn patch_library(&self) -> Result<LibraryPatch, StoreError> {
        let conn = self.writer()?;
        conn.execute_batch("BEGIN IMMEDIATE")?;
        Ok(LibraryPatch {
            conn,
            columns: Arc::clone(&self.columns),
            rows: Rows::default(),
            open: true,
            keys: HashMap::new(),
            touched: BTreeSet::new(),
            genre_counts: HashMap::new(),
            decade_counts: BTreeMap::new(),
            genre_candidates: HashSet::new(),
            parents_changed: false,
            cursors: Cursors::default(),
        })
    }
}

impl LibraryPatch {
    /// Adds or replaces an album or artist with its genres. Its tracks
    /// keep what they inherited until they are sent again.
    #[allow(clippy::too_many_arguments)]
    pub fn upsert_parent(
        &mut self,
        kind: ParentKind,
        rating_key: &str,
        parent_key: Option<&str>,
        title: Option<&str>,
        year: Option<i64>,
        updated_at: Option<i64>,
        genres: &[String],
    ) -> Result<(), StoreError> {
        let before = parent_snapshot(&self.conn, rating_key)?;
        self.genre_candidates
            .extend(Rows::parent_genre_ids(&self.conn, rating_key)?);
        let parent = NewParent {
            kind,
            rating_key,
            parent_key,
            title,
            year,
            updated_at,
            genres,
        };
        self.rows.put_parent(&self.conn, &parent)?;
        self.cursors.parents_at = later(self.cursors.parents_at, updated_at);
        if parent_snapshot(&self.conn, rating_key)? != before {
            self.parents_changed = true;
        }
        Ok(())
    }

    /// Removes an album or artist (whichever the key is) and its genres.
    pub fn remove_parent(&mut self, rating_key: &str) -> Result<(), StoreError> {
        if parent_snapshot(&self.conn, rating_key)?.is_none() {
            return Ok(());
        }
        self.genre_candidates
            .extend(Rows::parent_genre_ids(&self.conn, rating_key)?);
        Rows::remove_parent(&self.conn, rating_key)?;
        self.parents_changed = true;
        Ok(())
    }

    /// What a track inherits from its album and artist records.
    pub fn parent_info(
        &mut self,
        album_key: Option<&str>,
        artist_key: Option<&str>,
    ) -> Result<ParentInfo, StoreError> {
        Rows::parent_info(&self.conn, album_key, artist_key)
    }

    /// Inserts a track or updates it in place (same rowid when the key
    /// exists), with its genres as a full sync stores them: its own, else
    /// its album's, else its artist's. A track sent unchanged changes
    /// nothing.
    pub fn upsert_track(&mut self, t: &NewTrack<'_>) -> Result<(), StoreError> {
        self.cursors.updated_at = later(self.cursors.updated_at, t.updated_at);
        self.cursors.viewed_at = later(self.cursors.viewed_at, t.last_played_at);
        self.cursors.rated_at = later(self.cursors.rated_at, t.last_rated_at);
        let before = track_snapshot(&self.conn, t.rating_key)?;
        let id = self.rows.put_track(&self.conn, t)?;
        let after = track_snapshot(&self.conn, t.rating_key)?;
        if before == after {
            return Ok(());
        }
        self.keys
            .entry(t.rating_key.to_owned())
            .or_insert(before.is_some());
        if let Some(before) = &before {
            self.unindex(before)?;
        }
        if let Some(after) = &after {
            self.index(after)?;
        }
        self.touched.insert(id);
        Ok(())
    }

    /// Removes a track; `Ok(false)` when the key was not cached.
    pub fn remove_track(&mut self, rating_key: &str) -> Result<bool, StoreError> {
        let Some(before) = track_snapshot(&self.conn, rating_key)? else {
            return Ok(false);
        };
        self.keys.entry(rating_key.to_owned()).or_insert(true);
        self.unindex(&before)?;
        self.conn
            .prepare_cached("DELETE FROM track_genres WHERE track_id = ?1")?
            .execute([before.id])?;
        self.conn
            .prepare_cached("DELETE FROM tracks WHERE id = ?1")?
            .execute([before.id])?;
        self.touched.insert(before.id);
        Ok(true)
    }

    /// Takes a stored row out of the text index and the counts (the index
    /// needs the values it indexed to find the row's entries).
    fn unindex(&mut self, row: &TrackSnapshot) -> Result<(), StoreError> {
        self.conn
            .prepare_cached(
                "INSERT INTO tracks_fts (tracks_fts, rowid, title, artist, album)
                 VALUES ('delete', ?1, ?2, ?3, ?4)",
            )?
            .execute(params![row.id, row.text(0), row.text(1), row.text(2)])?;
        self.count(row, -1);
        Ok(())
    }

    /// Puts a stored row into the text index and the counts.
    fn index(&mut self, row: &TrackSnapshot) -> Result<(), StoreError> {
        self.conn
            .prepare_cached(
                "INSERT INTO tracks_fts (rowid, title, artist, album) VALUES (?1, ?2, ?3, ?4)",
            )?
            .execute(params![row.id, row.text(0), row.text(1), row.text(2)])?;
        self.count(row, 1);
        Ok(())
    }

    fn count(&mut self, row: &TrackSnapshot, by: i64) {
        for &(genre, _) in &row.genres {
            *self.genre_counts.entry(genre).or_default() += by;
            self.genre_candidates.insert(genre);
        }
        if let Some(year) = row.year() {
            *self
                .decade_counts
                .entry(year.div_euclid(10) * 10)
                .or_default() += by;
        }
    }

    /// Records the counts, the sync state and the cursors, patches the
    /// filter columns, and commits.
    pub fn finish(mut self, finish: &PatchFinish<'_>) -> Result<PatchReport, StoreError> {
        self.write_stats()?;
        self.drop_unused_genres()?;
        let mut report = self.report()?;
        let tracks_changed = !self.touched.is_empty();
        let changed = tracks_changed || self.parents_changed;
        let (old_version, stored_count): (i64, i64) = self.conn.query_row(
            "SELECT library_version, track_count FROM sync_state WHERE id = 1",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )?;
        report.track_count = stored_count + report.added as i64 - report.removed as i64;
        let version = old_version + i64::from(tracks_changed);
        self.write_state(finish, &report, version, changed)?;
        let columns = if tracks_changed {
            self.patch_columns(old_version, version)?
        } else {
            None
        };
        self.conn.execute_batch("COMMIT")?;
        self.open = false;
        if let Some(columns) = columns {
            self.columns.install(columns);
        }
        Ok(report)
    }

    fn write_state(
        &self,
        finish: &PatchFinish<'_>,
        report: &PatchReport,
        version: i64,
        changed: bool,
    ) -> Result<(), StoreError> {
        let c = &self.cursors;
        // SQLite's max() of a NULL is NULL: coalesce each side with the other.
        self.conn.execute(
            "UPDATE sync_state SET machine_identifier = ?1, server_name = ?2, track_count = ?3,
                 library_version = ?4,
                 last_change_at = CASE WHEN ?5 THEN ?6 ELSE last_change_at END,
                 synced_at = CASE WHEN ?7 THEN ?6 ELSE synced_at END,
                 synced_sections = CASE WHEN ?7 THEN ?8 ELSE synced_sections END,
                 last_error = CASE WHEN ?7 THEN NULL ELSE last_error END,
                 last_error_kind = CASE WHEN ?7 THEN NULL ELSE last_error_kind END,
                 last_error_at = CASE WHEN ?7 THEN NULL ELSE last_error_at END,
                 cursor_updated_at = max(coalesce(cursor_updated_at, ?9), coalesce(?9, cursor_updated_at)),
                 cursor_viewed_at = max(coalesce(cursor_viewed_at, ?10), coalesce(?10, cursor_viewed_at)),
                 cursor_rated_at = max(coalesce(cursor_rated_at, ?11), coalesce(?11, cursor_rated_at)),
                 cursor_parents_at = max(coalesce(cursor_parents_at, ?12), coalesce(?12, cursor_parents_at))
             WHERE id = 1",
            params![
                finish.machine_identifier,
                finish.server_name,
                report.track_count,
                version,
                changed,
                now_unix(),
                finish.refresh,
                join_sections(finish.sections),
                c.updated_at,
                c.viewed_at,
                c.rated_at,
                c.parents_at
            ],
        )?;
        if finish.refresh {
            super::state::write_section_markers(&self.conn, finish.markers)?;
        }
        Ok(())
    }

    /// Adds the differences to the genre and decade counts; a count that
    /// reaches 0 goes, as a full sync would not write it.
    fn write_stats(&self) -> Result<(), StoreError> {
        let mut add = self.conn.prepare_cached(
            "INSERT INTO stats_cache (kind, name, count) VALUES (?1, ?2, ?3)
             ON CONFLICT (kind, name) DO UPDATE SET count = count + excluded.count",
        )?;
        let mut prune = self.conn.prepare_cached(
            "DELETE FROM stats_cache WHERE kind = ?1 AND name = ?2 AND count <= 0",
        )?;
        let mut name_of = self
            .conn
            .prepare_cached("SELECT name FROM genres WHERE id = ?1")?;
        let genres = self.genre_counts.iter().filter(|(_, by)| **by != 0);
        for (&genre, &by) in genres {
            let Some(name) = name_of
                .query_row([genre], |r| r.get::<_, String>(0))
                .optional()?
            else {
                continue;
            };
            add.execute(params!["genre", name, by])?;
            prune.execute(params!["genre", name])?;
        }
        let decades = self.decade_counts.iter().filter(|(_, by)| **by != 0);
        for (decade, &by) in decades {
            let name = format!("{decade}s");
            add.execute(params!["decade", name, by])?;
            prune.execute(params!["decade", name])?;
        }
        Ok(())
    }

    /// Drops genres no track has and no album or artist lists, as a full
    /// sync does.
    fn drop_unused_genres(&self) -> Result<(), StoreError> {
        let mut unused = self.conn.prepare_cached(
            "DELETE FROM genres WHERE id = ?1
               AND NOT EXISTS (SELECT 1 FROM stats_cache s WHERE s.kind = 'genre' AND s.name = genres.name)
               AND NOT EXISTS (SELECT 1 FROM parent_genres p WHERE p.genre_id = ?1)",
        )?;
        for genre in &self.genre_candidates {
            unused.execute([genre])?;
        }
        Ok(())
    }

    fn report(&self) -> Result<PatchReport, StoreError> {
        let mut report = PatchReport::default();
        let mut present = self
            .conn
            .prepare_cached("SELECT 1 FROM tracks WHERE rating_key = ?1")?;
        for (key, &before) in &self.keys {
            let now = present.exists([key])?;
            match (before, now) {
                (false, true) => report.added += 1,
                (true, true) => report.changed += 1,
                (true, false) => report.removed += 1,
                (false, false) => {}
            }
        }
        Ok(report)
    }

    /// The new version's filter columns, patched from the current copy
    /// (`None` when no copy is loaded: the next query loads one).
    fn patch_columns(
        &self,
        old_version: i64,
        version: i64,
    ) -> Result<Option<Arc<super::columns::Columns>>, StoreError> {
        let started = std::time::Instant::now();
        self.conn.execute_batch(PATCHED_IDS_CREATE)?;
        {
            let mut insert = self.conn.prepare_cached(PATCHED_IDS_INSERT)?;
            for id in &self.touched {
                insert.execute([id])?;
            }
        }
        let touched: Vec<i64> = self.touched.iter().copied().collect();
        let columns = self
            .columns
            .patch(&self.conn, old_version, version, &touched);
        self.conn.execute_batch(PATCHED_IDS_DROP)?;
        let columns = columns?;
        if columns.is_some() {
            tracing::debug!(
                tracks = touched.len(),
                ms = started.elapsed().as_secs_f64() * 1000.0,
                "filter columns patched"
            );
        }
        Ok(columns)
    }
}

impl Drop for LibraryPatch {
    fn drop(&mut self) {
        if self.open {
            // Not finished: the library stays exactly as it was.
            let _ = self.conn.execute_batch("ROLLBACK");
        }
    }
}

/// The larger of two optional times.
fn later(a: Option<i64>, b: Option<i64>) -> Option<i64> {
    a.max(b)
}

fn track_snapshot(conn: &Connection, key: &str) -> Result<Option<TrackSnapshot>, StoreError> {
    let found = conn
        .prepare_cached(SNAPSHOT_SQL)?
        .query_row([key], |r| {
            let values = (1..=SNAPSHOT_COLUMNS)
                .map(|i| r.get::<_, Value>(i))
                .collect::<Result<Vec<_>, _>>()?;
            Ok((r.get::<_, i64>(0)?, values))
        })
        .optional()?;
    let Some((id, values)) = found else {
        return Ok(None);
    };
    let genres = conn
        .prepare_cached(
            "SELECT genre_id, position FROM track_genres WHERE track_id = ?1 ORDER BY position, genre_id",
        )?
        .query_map([id], |r| Ok((r.get(0)?, r.get(1)?)))?
        .collect::<Result<_, _>>()?;
    Ok(Some(TrackSnapshot { id, values, genres }))
}

/// An album's or artist's row and genre list, to tell whether it changed.
fn parent_snapshot(conn: &Connection, key: &str) -> Result<Option<Vec<Value>>, StoreError> {
    let row = conn
        .prepare_cached(
            "SELECT 'album', artist_key, title, year, updated_at FROM albums WHERE rating_key = ?1
             UNION ALL SELECT 'artist', NULL, title, NULL, updated_at FROM artists WHERE rating_key = ?1",
        )?
        .query_row([key], |r| {
            (0..5)
                .map(|i| r.get::<_, Value>(i))
                .collect::<Result<Vec<_>, _>>()
        })
        .optional()?;
    let Some(mut row) = row else {
        return Ok(None);
    };
    let genres: Vec<(i64, i64)> = conn
        .prepare_cached(
            "SELECT genre_id, position FROM parent_genres WHERE parent_key = ?1 ORDER BY position, genre_id",
        )?
        .query_map([key], |r| Ok((r.get(0)?, r.get(1)?)))?
        .collect::<Result<_, _>>()?;
    for (genre, position) in genres {
        row.extend([Value::Integer(genre), Value::Integer(position)]);
    }
    Ok(Some(row))
}
