//! What a delta refresh reads from the cache to find what Plex changed
//! since: track counts per album and section (a removal shows as a smaller
//! count on Plex's side), the tracks of an album or artist (to send again
//! after it changed, or to remove with it), the albums and artists the
//! cached tracks belong to, and the cursors. All from the read pool.

use rusqlite::params;

use super::patch::ParentKind;
use super::state::stored_cursors;
use super::{Store, StoreError};
use crate::model::Cursors;

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

    /// Keys of the tracks whose album or artist is `key`, sorted.
    pub fn track_keys_of_parent(&self, key: &str) -> Result<Vec<String>, StoreError> {
        self.keys(
            "SELECT rating_key FROM tracks WHERE album_key = ?1
             UNION SELECT rating_key FROM tracks WHERE artist_key = ?1 ORDER BY 1",
            key,
        )
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
