//! Replacing the library: one write transaction that empties the tables,
//! takes every artist, album and track a sync streams in, derives what
//! depends on all of them (years, inherited genres, text index, statistics)
//! and commits. Readers see the old library until the commit; dropping the
//! writer without finishing rolls everything back.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use rusqlite::{Connection, OptionalExtension, params};

use super::columns::ColumnsCache;
use super::schema::{TRACK_INDEX_NAMES, TRACK_INDEXES};
use super::{Store, StoreError};
use crate::clock::{now_millis, now_unix};
use crate::model::YEARS;

/// A track as the sync hands it over, derivations done.
#[derive(Debug, Clone, PartialEq)]
pub struct NewTrack<'a> {
    pub rating_key: &'a str,
    pub section: &'a str,
    pub title: &'a str,
    pub artist: &'a str,
    pub album_artist: &'a str,
    pub album: &'a str,
    pub album_key: Option<&'a str>,
    pub artist_key: Option<&'a str>,
    pub disc: Option<i64>,
    pub track: Option<i64>,
    pub duration_ms: Option<i64>,
    /// Kept only when valid (within `YEARS`).
    pub year: Option<i64>,
    pub rating: Option<f64>,
    pub play_count: i64,
    pub last_played_at: Option<i64>,
    pub added_at: Option<i64>,
    pub updated_at: Option<i64>,
    pub is_live: bool,
    /// The track's own genres; empty means "inherit".
    pub genres: &'a [String],
}

/// Album and artist fields a track inherits when its listing lacks them.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ParentInfo {
    pub album_title: Option<String>,
    pub album_year: Option<i64>,
    pub artist_title: Option<String>,
}

/// An album or artist row, for year and genre inheritance.
#[derive(Debug, Clone, Copy)]
pub enum ParentKind {
    Album,
    Artist,
}

/// What the sync state records when the new library commits.
#[derive(Debug, Clone)]
pub struct Finish<'a> {
    pub machine_identifier: &'a str,
    pub server_name: &'a str,
    pub started_at_ms: i64,
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
    genre_ids: HashMap<String, i64>,
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
            genre_ids: HashMap::new(),
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

    pub fn add_parent(
        &mut self,
        kind: ParentKind,
        rating_key: &str,
        parent_key: Option<&str>,
        title: Option<&str>,
        year: Option<i64>,
        genres: &[String],
    ) -> Result<(), StoreError> {
        match kind {
            ParentKind::Album => {
                self.conn
                    .prepare_cached(
                        "INSERT OR REPLACE INTO albums (rating_key, artist_key, title, year) VALUES (?1, ?2, ?3, ?4)",
                    )?
                    .execute(params![rating_key, parent_key, title, year.filter(|y| valid_year(*y))])?;
            }
            ParentKind::Artist => {
                self.conn
                    .prepare_cached(
                        "INSERT OR REPLACE INTO artists (rating_key, title) VALUES (?1, ?2)",
                    )?
                    .execute(params![rating_key, title])?;
            }
        }
        self.set_parent_genres(rating_key, genres)
    }

    /// Replaces a parent's genre list (full records replace truncated listings).
    pub fn set_parent_genres(
        &mut self,
        rating_key: &str,
        genres: &[String],
    ) -> Result<(), StoreError> {
        self.conn
            .prepare_cached("DELETE FROM parent_genres WHERE parent_key = ?1")?
            .execute([rating_key])?;
        for (position, genre) in genres.iter().enumerate() {
            let id = self.genre_id(genre)?;
            self.conn
                .prepare_cached(
                    "INSERT OR IGNORE INTO parent_genres (parent_key, genre_id, position)
                     VALUES (?1, ?2, ?3)",
                )?
                .execute(params![rating_key, id, position as i64])?;
        }
        Ok(())
    }

    /// What a track inherits from its album and artist records.
    pub fn parent_info(
        &mut self,
        album_key: Option<&str>,
        artist_key: Option<&str>,
    ) -> Result<ParentInfo, StoreError> {
        let mut info = ParentInfo::default();
        if let Some(key) = album_key {
            let found = self
                .conn
                .prepare_cached("SELECT title, year FROM albums WHERE rating_key = ?1")?
                .query_row([key], |r| {
                    Ok((r.get::<_, Option<String>>(0)?, r.get::<_, Option<i64>>(1)?))
                })
                .optional()?;
            if let Some((title, year)) = found {
                info.album_title = title.filter(|t| !t.is_empty());
                info.album_year = year;
            }
        }
        if let Some(key) = artist_key {
            info.artist_title = self
                .conn
                .prepare_cached("SELECT title FROM artists WHERE rating_key = ?1")?
                .query_row([key], |r| r.get::<_, Option<String>>(0))
                .optional()?
                .flatten()
                .filter(|t| !t.is_empty());
        }
        Ok(info)
    }

    /// Adds a track, or replaces it when its key was already taken (offsets
    /// shifted between pages), with its genres: its own, else its album's,
    /// else its artist's.
    pub fn add_track(&mut self, t: &NewTrack<'_>) -> Result<(), StoreError> {
        let values = params![
            t.rating_key,
            t.section,
            t.title,
            t.artist,
            t.album_artist,
            t.album,
            t.album_key,
            t.artist_key,
            t.disc,
            t.track,
            t.duration_ms,
            t.year.filter(|y| valid_year(*y)),
            t.rating,
            t.play_count,
            t.last_played_at,
            t.added_at,
            t.updated_at,
            t.is_live,
        ];
        let inserted = self
            .conn
            .prepare_cached(
                "INSERT INTO tracks (rating_key, section, title, artist, album_artist, album, album_key,
                     artist_key, disc, track, duration_ms, year, rating, play_count, last_played_at,
                     added_at, updated_at, is_live)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18)",
            )?
            .execute(values);
        let id = match inserted {
            Ok(_) => self.conn.last_insert_rowid(),
            Err(e) if e.sqlite_error_code() == Some(rusqlite::ErrorCode::ConstraintViolation) => {
                let id: i64 = self
                    .conn
                    .prepare_cached(
                        "UPDATE tracks SET section = ?2, title = ?3, artist = ?4, album_artist = ?5, album = ?6,
                             album_key = ?7, artist_key = ?8, disc = ?9, track = ?10, duration_ms = ?11,
                             year = ?12, rating = ?13, play_count = ?14, last_played_at = ?15, added_at = ?16,
                             updated_at = ?17, is_live = ?18
                         WHERE rating_key = ?1 RETURNING id",
                    )?
                    .query_row(values, |r| r.get(0))?;
                self.conn
                    .prepare_cached("DELETE FROM track_genres WHERE track_id = ?1")?
                    .execute([id])?;
                id
            }
            Err(e) => return Err(e.into()),
        };
        self.add_track_genres(id, t)
    }

    fn add_track_genres(&mut self, id: i64, t: &NewTrack<'_>) -> Result<(), StoreError> {
        if !t.genres.is_empty() {
            for (position, genre) in t.genres.iter().enumerate() {
                let genre_id = self.genre_id(genre)?;
                self.conn
                    .prepare_cached(
                        "INSERT OR IGNORE INTO track_genres (track_id, genre_id, position)
                         VALUES (?1, ?2, ?3)",
                    )?
                    .execute(params![id, genre_id, position as i64])?;
            }
            return Ok(());
        }
        for parent in [t.album_key, t.artist_key].into_iter().flatten() {
            let inherited = self
                .conn
                .prepare_cached(
                    "INSERT OR IGNORE INTO track_genres (track_id, genre_id, position)
                     SELECT ?1, genre_id, position FROM parent_genres WHERE parent_key = ?2",
                )?
                .execute(params![id, parent])?;
            if inherited > 0 {
                break;
            }
        }
        Ok(())
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
        self.conn.execute(
            "UPDATE sync_state SET machine_identifier = ?1, server_name = ?2, synced_at = ?3, track_count = ?4,
                 duration_ms = ?5, last_error = NULL, last_error_kind = NULL, last_error_at = NULL,
                 library_version = ?6 WHERE id = 1",
            params![finish.machine_identifier, finish.server_name, now_unix(), track_count, duration_ms, version],
        )?;
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
    /// to read, and drops genres no track has any more. Counted here in one
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
        self.conn.execute_batch("DELETE FROM stats_cache")?;
        let mut insert = self
            .conn
            .prepare("INSERT INTO stats_cache (kind, name, count) VALUES (?1, ?2, ?3)")?;
        let mut unused = self.conn.prepare("DELETE FROM genres WHERE id = ?1")?;
        for (id, name) in genres {
            match per_genre.get(&id) {
                Some(count) => insert.execute(params!["genre", name, count])?,
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

    fn genre_id(&mut self, name: &str) -> Result<i64, StoreError> {
        let name = name.trim();
        let folded = name.to_lowercase();
        if let Some(&id) = self.genre_ids.get(&folded) {
            return Ok(id);
        }
        let id: i64 = self
            .conn
            .prepare_cached(
                "INSERT INTO genres (name) VALUES (?1) ON CONFLICT (name) DO UPDATE SET name = name RETURNING id",
            )?
            .query_row([name], |r| r.get(0))?;
        self.genre_ids.insert(folded, id);
        Ok(id)
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

fn valid_year(year: i64) -> bool {
    YEARS.contains(&year)
}
