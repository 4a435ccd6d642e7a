//! What a delta refresh reads of the cache, through the store's read pool:
//! track counts per section and album, the tracks of an album or artist,
//! and which albums and artists are cached. Small queries; the tracks of a
//! parent are found by a scan, run only for the few parents that changed.

use std::collections::{HashMap, HashSet};

use rusqlite::OptionalExtension;

use crate::store::write::ParentKind;
use crate::store::{Store, StoreError};

/// Cached tracks of a section.
pub fn section_track_count(store: &Store, section: &str) -> Result<u64, StoreError> {
    let conn = store.reader()?;
    let n: i64 = conn
        .prepare_cached("SELECT COUNT(*) FROM tracks WHERE section = ?1")?
        .query_row([section], |r| r.get(0))?;
    Ok(n.max(0) as u64)
}

/// Cached tracks per album of a section.
pub fn album_track_counts(
    store: &Store,
    section: &str,
) -> Result<HashMap<String, i64>, StoreError> {
    let conn = store.reader()?;
    let mut stmt = conn.prepare_cached(
        "SELECT album_key, COUNT(*) FROM tracks
         WHERE section = ?1 AND album_key IS NOT NULL GROUP BY album_key",
    )?;
    let rows = stmt.query_map([section], |r| Ok((r.get(0)?, r.get(1)?)))?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// Keys of the cached tracks of an album.
pub fn track_keys_of_album(store: &Store, album: &str) -> Result<Vec<String>, StoreError> {
    keys(
        store,
        "SELECT rating_key FROM tracks WHERE album_key = ?1",
        album,
    )
}

/// Keys of the cached tracks of an album or an artist.
pub fn track_keys_of_parent(store: &Store, parent: &str) -> Result<Vec<String>, StoreError> {
    keys(
        store,
        "SELECT rating_key FROM tracks WHERE album_key = ?1 OR artist_key = ?1",
        parent,
    )
}

/// Which of `keys` are cached as albums (or artists).
pub fn cached_parents(
    store: &Store,
    kind: ParentKind,
    keys: &[String],
) -> Result<HashSet<String>, StoreError> {
    let sql = match kind {
        ParentKind::Album => "SELECT 1 FROM albums WHERE rating_key = ?1",
        ParentKind::Artist => "SELECT 1 FROM artists WHERE rating_key = ?1",
    };
    let conn = store.reader()?;
    let mut stmt = conn.prepare_cached(sql)?;
    let mut found = HashSet::new();
    for key in keys {
        if stmt.query_row([key], |_| Ok(())).optional()?.is_some() {
            found.insert(key.clone());
        }
    }
    Ok(found)
}

fn keys(store: &Store, sql: &str, param: &str) -> Result<Vec<String>, StoreError> {
    let conn = store.reader()?;
    let mut stmt = conn.prepare_cached(sql)?;
    let rows = stmt.query_map([param], |r| r.get(0))?;
    Ok(rows.collect::<Result<_, _>>()?)
}
