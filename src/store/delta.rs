//! What a delta refresh reads from the cache to find what Plex changed
//! since: track counts per album and section (a removal shows as a smaller
//! count on Plex's side), the tracks of an album or artist (to send again
//! after it changed, or to remove with it), the albums and artists the
//! cached tracks belong to, and the cursors. All from the read pool.

use std::collections::HashMap;

use rusqlite::params;

use super::patch::ParentKind;
use super::state::stored_cursors;
use super::{Store, StoreError};
use crate::model::Cursors;

/// An album or artist as the cache holds it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CachedParent {
    /// An album's artist.
    pub parent_key: Option<String>,
    pub title: Option<String>,
    pub year: Option<i64>,
    pub updated_at: Option<i64>,
    /// In Plex's order.
    pub genres: Vec<String>,
}

impl Store {
    /// Cached tracks per album in a section, by album key. (No index on
    /// the album key: one scan of the section, a few ms per 100k tracks.)
    pub fn album_track_counts(&self, section: &str) -> Result<Vec<(String, i64)>, StoreError> {
        self.pairs(
            "SELECT album_key, count(*) FROM tracks WHERE section = ?1 AND album_key IS NOT NULL
             GROUP BY album_key ORDER BY album_key",
            section,
        )
    }

    /// Cached tracks per section, by section key.
    pub fn section_track_counts(&self) -> Result<Vec<(String, i64)>, StoreError> {
        let conn = self.reader()?;
        let mut stmt = conn.prepare_cached(
            "SELECT section, count(*) FROM tracks GROUP BY section ORDER BY section",
        )?;
        let rows = stmt
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?
            .collect::<Result<_, _>>()?;
        Ok(rows)
    }

    /// Keys of the tracks whose album or artist is one of `keys`, sorted:
    /// one scan of the tracks however many parents are asked for.
    pub fn track_keys_of_parents(&self, keys: &[String]) -> Result<Vec<String>, StoreError> {
        if keys.is_empty() {
            return Ok(Vec::new());
        }
        self.keys(
            "SELECT rating_key FROM tracks
             WHERE album_key IN (SELECT value FROM json_each(?1))
                OR artist_key IN (SELECT value FROM json_each(?1))
             ORDER BY 1",
            &json_list(keys),
        )
    }

    /// The cached albums (or artists) among `keys`, as cached.
    pub fn cached_parents(
        &self,
        kind: ParentKind,
        keys: &[String],
    ) -> Result<HashMap<String, CachedParent>, StoreError> {
        let sql = match kind {
            ParentKind::Album => {
                "SELECT rating_key, artist_key, title, year, updated_at FROM albums
                 WHERE rating_key IN (SELECT value FROM json_each(?1))"
            }
            ParentKind::Artist => {
                "SELECT rating_key, NULL, title, NULL, updated_at FROM artists
                 WHERE rating_key IN (SELECT value FROM json_each(?1))"
            }
        };
        if keys.is_empty() {
            return Ok(HashMap::new());
        }
        let conn = self.reader()?;
        let mut stmt = conn.prepare_cached(sql)?;
        let mut found: HashMap<String, CachedParent> = stmt
            .query_map(params![json_list(keys)], |r| {
                Ok((
                    r.get(0)?,
                    CachedParent {
                        parent_key: r.get(1)?,
                        title: r.get(2)?,
                        year: r.get(3)?,
                        updated_at: r.get(4)?,
                        genres: Vec::new(),
                    },
                ))
            })?
            .collect::<Result<_, _>>()?;
        let mut genres = conn.prepare_cached(
            "SELECT g.name FROM parent_genres p JOIN genres g ON g.id = p.genre_id
             WHERE p.parent_key = ?1 ORDER BY p.position",
        )?;
        for (key, parent) in &mut found {
            parent.genres = genres
                .query_map([key], |r| r.get(0))?
                .collect::<Result<_, _>>()?;
        }
        Ok(found)
    }

    /// Keys of the tracks on an album, sorted.
    pub fn track_keys_of_album(&self, album_key: &str) -> Result<Vec<String>, StoreError> {
        self.keys(
            "SELECT rating_key FROM tracks WHERE album_key = ?1 ORDER BY rating_key",
            album_key,
        )
    }

    /// Keys of the cached albums (or artists) that tracks of a section
    /// belong to, sorted. (Albums and artists carry no section of their
    /// own: one without cached tracks is not listed.)
    pub fn parent_keys(&self, kind: ParentKind, section: &str) -> Result<Vec<String>, StoreError> {
        let sql = match kind {
            ParentKind::Album => {
                "SELECT a.rating_key FROM albums a WHERE a.rating_key IN
                     (SELECT album_key FROM tracks WHERE section = ?1) ORDER BY 1"
            }
            ParentKind::Artist => {
                "SELECT a.rating_key FROM artists a WHERE a.rating_key IN
                     (SELECT artist_key FROM tracks WHERE section = ?1) ORDER BY 1"
            }
        };
        self.keys(sql, section)
    }

    /// Where a delta refresh starts (see [`Cursors`]).
    pub fn cursors(&self) -> Result<Cursors, StoreError> {
        stored_cursors(&*self.reader()?)
    }

    fn keys(&self, sql: &str, param: &str) -> Result<Vec<String>, StoreError> {
        let conn = self.reader()?;
        let mut stmt = conn.prepare_cached(sql)?;
        let keys = stmt
            .query_map(params![param], |r| r.get(0))?
            .collect::<Result<_, _>>()?;
        Ok(keys)
    }

    fn pairs(&self, sql: &str, param: &str) -> Result<Vec<(String, i64)>, StoreError> {
        let conn = self.reader()?;
        let mut stmt = conn.prepare_cached(sql)?;
        let rows = stmt
            .query_map(params![param], |r| Ok((r.get(0)?, r.get(1)?)))?
            .collect::<Result<_, _>>()?;
        Ok(rows)
    }
}

/// Keys as a JSON array, for `json_each` (one statement however many).
fn json_list(keys: &[String]) -> String {
    serde_json::Value::from(keys.to_vec()).to_string()
}
