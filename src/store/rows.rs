//! The statements that write one artist, album or track with its genres:
//! the single implementation behind both a full replace (`write`) and an
//! in-place patch (`patch`), so the two can never store a row differently.

use std::collections::HashMap;

use rusqlite::{Connection, OptionalExtension, params};

use super::StoreError;
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
    /// When the rating last changed (Plex's `lastRatedAt`): a delta cursor.
    pub last_rated_at: Option<i64>,
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
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ParentKind {
    Album,
    Artist,
}

/// An album or artist as written.
#[derive(Debug, Clone, Copy)]
pub(super) struct NewParent<'a> {
    pub kind: ParentKind,
    pub rating_key: &'a str,
    pub parent_key: Option<&'a str>,
    pub title: Option<&'a str>,
    pub year: Option<i64>,
    pub updated_at: Option<i64>,
    pub genres: &'a [String],
}

/// Writes rows inside a caller's transaction, remembering genre ids.
#[derive(Default)]
pub(super) struct Rows {
    genre_ids: HashMap<String, i64>,
}

impl Rows {
    pub fn put_parent(&mut self, conn: &Connection, p: &NewParent<'_>) -> Result<(), StoreError> {
        match p.kind {
            ParentKind::Album => {
                conn.prepare_cached(
                    "INSERT OR REPLACE INTO albums (rating_key, artist_key, title, year, updated_at)
                     VALUES (?1, ?2, ?3, ?4, ?5)",
                )?
                .execute(params![
                    p.rating_key,
                    p.parent_key,
                    p.title,
                    p.year.filter(|y| valid_year(*y)),
                    p.updated_at
                ])?;
            }
            ParentKind::Artist => {
                conn.prepare_cached(
                    "INSERT OR REPLACE INTO artists (rating_key, title, updated_at) VALUES (?1, ?2, ?3)",
                )?
                .execute(params![p.rating_key, p.title, p.updated_at])?;
            }
        }
        self.set_parent_genres(conn, p.rating_key, p.genres)
    }

    /// Replaces a parent's genre list.
    pub fn set_parent_genres(
        &mut self,
        conn: &Connection,
        rating_key: &str,
        genres: &[String],
    ) -> Result<(), StoreError> {
        conn.prepare_cached("DELETE FROM parent_genres WHERE parent_key = ?1")?
            .execute([rating_key])?;
        for (position, genre) in genres.iter().enumerate() {
            let id = self.genre_id(conn, genre)?;
            conn.prepare_cached(
                "INSERT OR IGNORE INTO parent_genres (parent_key, genre_id, position)
                 VALUES (?1, ?2, ?3)",
            )?
            .execute(params![rating_key, id, position as i64])?;
        }
        Ok(())
    }

    /// The genre ids a parent lists.
    pub fn parent_genre_ids(conn: &Connection, rating_key: &str) -> Result<Vec<i64>, StoreError> {
        let ids = conn
            .prepare_cached("SELECT genre_id FROM parent_genres WHERE parent_key = ?1")?
            .query_map([rating_key], |r| r.get(0))?
            .collect::<Result<_, _>>()?;
        Ok(ids)
    }

    /// Removes an album or artist (whichever it is) and its genre list.
    pub fn remove_parent(conn: &Connection, rating_key: &str) -> Result<(), StoreError> {
        for sql in [
            "DELETE FROM albums WHERE rating_key = ?1",
            "DELETE FROM artists WHERE rating_key = ?1",
            "DELETE FROM parent_genres WHERE parent_key = ?1",
        ] {
            conn.prepare_cached(sql)?.execute([rating_key])?;
        }
        Ok(())
    }

    /// What a track inherits from its album and artist records.
    pub fn parent_info(
        conn: &Connection,
        album_key: Option<&str>,
        artist_key: Option<&str>,
    ) -> Result<ParentInfo, StoreError> {
        let mut info = ParentInfo::default();
        if let Some(key) = album_key {
            let found = conn
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
            info.artist_title = conn
                .prepare_cached("SELECT title FROM artists WHERE rating_key = ?1")?
                .query_row([key], |r| r.get::<_, Option<String>>(0))
                .optional()?
                .flatten()
                .filter(|t| !t.is_empty());
        }
        Ok(info)
    }

    /// Adds a track, or updates it in place (same rowid) when its key was
    /// already taken, with its genres: its own, else its album's, else its
    /// artist's. Returns the rowid.
    pub fn put_track(&mut self, conn: &Connection, t: &NewTrack<'_>) -> Result<i64, StoreError> {
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
            t.last_rated_at,
        ];
        let inserted = conn
            .prepare_cached(
                "INSERT INTO tracks (rating_key, section, title, artist, album_artist, album, album_key,
                     artist_key, disc, track, duration_ms, year, rating, play_count, last_played_at,
                     added_at, updated_at, is_live, last_rated_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, ?19)",
            )?
            .execute(values);
        let id = match inserted {
            Ok(_) => conn.last_insert_rowid(),
            Err(e) if e.sqlite_error_code() == Some(rusqlite::ErrorCode::ConstraintViolation) => {
                let id: i64 = conn
                    .prepare_cached(
                        "UPDATE tracks SET section = ?2, title = ?3, artist = ?4, album_artist = ?5, album = ?6,
                             album_key = ?7, artist_key = ?8, disc = ?9, track = ?10, duration_ms = ?11,
                             year = ?12, rating = ?13, play_count = ?14, last_played_at = ?15, added_at = ?16,
                             updated_at = ?17, is_live = ?18, last_rated_at = ?19
                         WHERE rating_key = ?1 RETURNING id",
                    )?
                    .query_row(values, |r| r.get(0))?;
                conn.prepare_cached("DELETE FROM track_genres WHERE track_id = ?1")?
                    .execute([id])?;
                id
            }
            Err(e) => return Err(e.into()),
        };
        self.put_track_genres(conn, id, t)?;
        Ok(id)
    }

    fn put_track_genres(
        &mut self,
        conn: &Connection,
        id: i64,
        t: &NewTrack<'_>,
    ) -> Result<(), StoreError> {
        if !t.genres.is_empty() {
            for (position, genre) in t.genres.iter().enumerate() {
                let genre_id = self.genre_id(conn, genre)?;
                conn.prepare_cached(
                    "INSERT OR IGNORE INTO track_genres (track_id, genre_id, position)
                     VALUES (?1, ?2, ?3)",
                )?
                .execute(params![id, genre_id, position as i64])?;
            }
            return Ok(());
        }
        for parent in [t.album_key, t.artist_key].into_iter().flatten() {
            // Only genres that still exist: a cache written before genres
            // listed by parents alone were kept may lack some.
            let inherited = conn
                .prepare_cached(
                    "INSERT OR IGNORE INTO track_genres (track_id, genre_id, position)
                     SELECT ?1, pg.genre_id, pg.position FROM parent_genres pg
                     WHERE pg.parent_key = ?2 AND EXISTS (SELECT 1 FROM genres g WHERE g.id = pg.genre_id)",
                )?
                .execute(params![id, parent])?;
            if inherited > 0 {
                break;
            }
        }
        Ok(())
    }

    pub fn genre_id(&mut self, conn: &Connection, name: &str) -> Result<i64, StoreError> {
        let name = name.trim();
        let folded = name.to_lowercase();
        if let Some(&id) = self.genre_ids.get(&folded) {
            return Ok(id);
        }
        let id: i64 = conn
            .prepare_cached(
                "INSERT INTO genres (name) VALUES (?1) ON CONFLICT (name) DO UPDATE SET name = name RETURNING id",
            )?
            .query_row([name], |r| r.get(0))?;
        self.genre_ids.insert(folded, id);
        Ok(id)
    }
}

pub(super) fn valid_year(year: i64) -> bool {
    YEARS.contains(&year)
}
