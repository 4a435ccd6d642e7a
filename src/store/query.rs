//! Read queries: filtered and sorted pages with their total, counts, random
//! samples, and genre and decade statistics. Each answer comes from one
//! snapshot of the file, so a sync committing meanwhile is seen whole or not
//! at all.

use std::collections::HashMap;

use rand::seq::IndexedRandom;
use rusqlite::types::Value;
use rusqlite::{Connection, OptionalExtension, Row, params_from_iter};
use serde::Serialize;

use super::filter::{Filter, FilterError, Sort, SqlWhere};
use super::{Store, StoreError};

/// A cached track as the API and CLI show it.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct TrackRow {
    pub rating_key: String,
    pub title: String,
    /// Track artist: `originalTitle` when Plex has one, else the album artist.
    pub artist: String,
    pub album_artist: String,
    pub album: String,
    pub album_key: Option<String>,
    pub artist_key: Option<String>,
    pub disc: Option<i64>,
    pub track: Option<i64>,
    pub duration_ms: Option<i64>,
    pub year: Option<i64>,
    pub genres: Vec<String>,
    /// User rating 0–10 (10 = five stars).
    pub rating: Option<f64>,
    pub play_count: i64,
    /// RFC 3339.
    pub last_played_at: Option<String>,
    pub added_at: Option<String>,
    pub updated_at: Option<String>,
    pub is_live: bool,
    pub section: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct TrackPage {
    /// Tracks matching the filter, over all pages.
    pub total: u64,
    pub offset: u64,
    pub limit: u64,
    pub tracks: Vec<TrackRow>,
}

#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct GenreCount {
    pub name: String,
    pub count: u64,
}

#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct DecadeCount {
    /// Like `1990s`.
    pub decade: String,
    pub count: u64,
}

#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct Stats {
    pub track_count: u64,
    pub genres: Vec<GenreCount>,
    pub decades: Vec<DecadeCount>,
}

const TRACK_COLUMNS: &str =
    "t.rating_key, t.title, t.artist, t.album_artist, t.album, t.album_key, t.artist_key,
    t.disc, t.track, t.duration_ms, t.year, t.id, t.rating, t.play_count, t.last_played_at,
    t.added_at, t.updated_at, t.is_live, t.section";

impl Store {
    pub fn count(&self, filter: &Filter) -> Result<u64, StoreError> {
        let conn = self.reader()?;
        count(&conn, &compile(&conn, filter, Purpose::Count)?)
    }

    pub fn tracks(
        &self,
        filter: &Filter,
        sort: Sort,
        offset: u64,
        limit: u64,
    ) -> Result<TrackPage, StoreError> {
        let mut conn = self.reader()?;
        // One read transaction: total and rows from the same snapshot.
        let tx = conn.transaction()?;
        let total = count(&tx, &compile(&tx, filter, Purpose::Count)?)?;
        let condition = compile(&tx, filter, Purpose::Rows)?;
        let sql = format!(
            "SELECT {TRACK_COLUMNS} FROM tracks t {} ORDER BY {} LIMIT ? OFFSET ?",
            condition.sql(),
            sort.order_by()
        );
        let mut params = condition.params.clone();
        params.push(Value::Integer(limit as i64));
        params.push(Value::Integer(offset.min(i64::MAX as u64) as i64));
        let tracks = select_tracks(&tx, &sql, params)?;
        Ok(TrackPage {
            total,
            offset,
            limit,
            tracks,
        })
    }

    /// `n` random tracks matching `filter`, and how many matched.
    pub fn sample(&self, filter: &Filter, n: u64) -> Result<(u64, Vec<TrackRow>), StoreError> {
        let mut conn = self.reader()?;
        let tx = conn.transaction()?;
        let condition = compile(&tx, filter, Purpose::Count)?;
        // Ids only (small), then the chosen rows: cheaper than ORDER BY random().
        let ids: Vec<i64> = {
            let mut stmt = tx.prepare(&format!("SELECT t.id FROM tracks t {}", condition.sql()))?;
            stmt.query_map(params_from_iter(condition.params.iter()), |r| r.get(0))?
                .collect::<Result<_, _>>()?
        };
        let chosen: Vec<Value> = ids
            .choose_multiple(&mut rand::rng(), n as usize)
            .map(|&id| Value::Integer(id))
            .collect();
        let total = ids.len() as u64;
        if chosen.is_empty() {
            return Ok((total, Vec::new()));
        }
        let placeholders = vec!["?"; chosen.len()].join(",");
        let sql = format!("SELECT {TRACK_COLUMNS} FROM tracks t WHERE t.id IN ({placeholders})");
        let mut tracks = select_tracks(&tx, &sql, chosen)?;
        use rand::seq::SliceRandom;
        tracks.shuffle(&mut rand::rng());
        Ok((total, tracks))
    }

    /// Genre and decade counts over the whole library (computed at sync).
    pub fn stats(&self) -> Result<Stats, StoreError> {
        let mut conn = self.reader()?;
        let tx = conn.transaction()?;
        let track_count: i64 =
            tx.query_row("SELECT track_count FROM sync_state WHERE id = 1", [], |r| {
                r.get(0)
            })?;
        let mut stmt = tx.prepare_cached(
            "SELECT name, count FROM stats_cache WHERE kind = 'genre' ORDER BY count DESC, name COLLATE NOCASE",
        )?;
        let genres = stmt
            .query_map([], |r| {
                Ok(GenreCount {
                    name: r.get(0)?,
                    count: r.get::<_, i64>(1)? as u64,
                })
            })?
            .collect::<Result<_, _>>()?;
        let mut stmt = tx.prepare_cached(
            "SELECT name, count FROM stats_cache WHERE kind = 'decade' ORDER BY name",
        )?;
        let decades = stmt
            .query_map([], |r| {
                Ok(DecadeCount {
                    decade: r.get(0)?,
                    count: r.get::<_, i64>(1)? as u64,
                })
            })?
            .collect::<Result<_, _>>()?;
        Ok(Stats {
            track_count: track_count as u64,
            genres,
            decades,
        })
    }

    /// Which of `keys` are in the cache (for playlists: unknown keys are skipped).
    pub fn known_keys(&self, keys: &[String]) -> Result<Vec<String>, StoreError> {
        let conn = self.reader()?;
        let mut stmt = conn.prepare_cached("SELECT 1 FROM tracks WHERE rating_key = ?1")?;
        let mut known = Vec::with_capacity(keys.len());
        for key in keys {
            if stmt.query_row([key], |_| Ok(())).optional()?.is_some() {
                known.push(key.clone());
            }
        }
        Ok(known)
    }
}

fn count(conn: &Connection, condition: &SqlWhere) -> Result<u64, StoreError> {
    let sql = format!("SELECT count(*) FROM tracks t {}", condition.sql());
    let n: i64 = conn
        .prepare_cached(&sql)?
        .query_row(params_from_iter(condition.params.iter()), |r| r.get(0))?;
    Ok(n as u64)
}

fn select_tracks(
    conn: &Connection,
    sql: &str,
    params: Vec<Value>,
) -> Result<Vec<TrackRow>, StoreError> {
    let mut stmt = conn.prepare_cached(sql)?;
    let rows: Vec<(i64, TrackRow)> = stmt
        .query_map(params_from_iter(params), track_row)?
        .collect::<Result<_, _>>()?;
    attach_genres(conn, rows)
}

/// Genre names for a page of rows, in one query.
fn attach_genres(
    conn: &Connection,
    rows: Vec<(i64, TrackRow)>,
) -> Result<Vec<TrackRow>, StoreError> {
    if rows.is_empty() {
        return Ok(Vec::new());
    }
    let marks = vec!["?"; rows.len()].join(",");
    let sql = format!(
        "SELECT tg.track_id, g.name FROM track_genres tg JOIN genres g ON g.id = tg.genre_id
         WHERE tg.track_id IN ({marks}) ORDER BY tg.track_id, tg.position, g.name COLLATE NOCASE"
    );
    let mut by_track: HashMap<i64, Vec<String>> = HashMap::new();
    let mut stmt = conn.prepare_cached(&sql)?;
    let mut found = stmt.query(params_from_iter(rows.iter().map(|(id, _)| *id)))?;
    while let Some(r) = found.next()? {
        by_track.entry(r.get(0)?).or_default().push(r.get(1)?);
    }
    Ok(rows
        .into_iter()
        .map(|(id, mut row)| {
            row.genres = by_track.remove(&id).unwrap_or_default();
            row
        })
        .collect())
}

fn track_row(r: &Row<'_>) -> rusqlite::Result<(i64, TrackRow)> {
    let row = TrackRow {
        rating_key: r.get(0)?,
        title: r.get(1)?,
        artist: r.get(2)?,
        album_artist: r.get(3)?,
        album: r.get(4)?,
        album_key: r.get(5)?,
        artist_key: r.get(6)?,
        disc: r.get(7)?,
        track: r.get(8)?,
        duration_ms: r.get(9)?,
        year: r.get(10)?,
        genres: Vec::new(),
        rating: r.get(12)?,
        play_count: r.get(13)?,
        last_played_at: r.get::<_, Option<i64>>(14)?.and_then(rfc3339),
        added_at: r.get::<_, Option<i64>>(15)?.and_then(rfc3339),
        updated_at: r.get::<_, Option<i64>>(16)?.and_then(rfc3339),
        is_live: r.get(17)?,
        section: r.get(18)?,
    };
    Ok((r.get(11)?, row))
}

/// Unix time as RFC 3339 (UTC), or `None` when out of range.
pub fn rfc3339(unix: i64) -> Option<String> {
    time::OffsetDateTime::from_unix_timestamp(unix)
        .ok()?
        .format(&time::format_description::well_known::Rfc3339)
        .ok()
}

/// What a WHERE clause is for: the query planner needs a nudge, so plans do
/// not depend on table statistics.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Purpose {
    /// Counting (or sampling ids): any index will do, the narrow covering one best.
    Count,
    /// A sorted page: walk the sort's index and filter as rows go by. The
    /// live flag matches most rows, so it must not steer the planner away
    /// from the sort index (`+` keeps a term out of index selection).
    Rows,
}

/// Turns a filter into a WHERE clause with bound parameters. Genre names are
/// resolved to ids here so an unknown genre is an error, not an empty page.
fn compile(conn: &Connection, filter: &Filter, purpose: Purpose) -> Result<SqlWhere, StoreError> {
    filter.validate()?;
    let mut w = SqlWhere::default();
    if !filter.genres.is_empty() {
        let ids = genre_ids(conn, &filter.genres)?;
        let marks = vec!["?"; ids.len()].join(",");
        w.push(
            format!("t.id IN (SELECT track_id FROM track_genres WHERE genre_id IN ({marks}))"),
            ids.into_iter().map(Value::Integer),
        );
    }
    if !filter.decades.is_empty() {
        let ranges = vec!["t.year BETWEEN ? AND ?"; filter.decades.len()].join(" OR ");
        w.push(
            format!("({ranges})"),
            filter
                .decades
                .iter()
                .flat_map(|&d| [Value::Integer(d), Value::Integer(d + 9)]),
        );
    }
    if let Some(rating) = filter.min_rating {
        w.push("t.rating >= ?", [Value::Real(rating)]);
    }
    if filter.exclude_live {
        // The live flag matches most rows: it may lead an index only for a
        // count over the numeric filters, where the narrow covering index
        // starting with it is the fastest path. Otherwise `+` keeps it from
        // steering the planner away from a more selective index.
        let selective =
            !filter.genres.is_empty() || filter.text.is_some() || filter.artist.is_some();
        let term = match purpose {
            Purpose::Count if !selective => "t.is_live = 0",
            _ => "+t.is_live = 0",
        };
        w.push(term, []);
    }
    if let Some(query) = filter.fts_query() {
        w.push(
            "t.id IN (SELECT rowid FROM tracks_fts WHERE tracks_fts MATCH ?)",
            [Value::Text(query)],
        );
    }
    if let Some(artist) = &filter.artist {
        w.push(
            // A union of two index searches: a plain OR may be planned as a scan.
            "t.id IN (SELECT id FROM tracks WHERE artist = ? COLLATE NOCASE
                      UNION SELECT id FROM tracks WHERE album_artist = ? COLLATE NOCASE)",
            [Value::Text(artist.clone()), Value::Text(artist.clone())],
        );
    }
    if let Some(from) = filter.year_from {
        w.push("t.year >= ?", [Value::Integer(from)]);
    }
    if let Some(to) = filter.year_to {
        w.push("t.year <= ?", [Value::Integer(to)]);
    }
    match filter.played {
        Some(true) => w.push("t.play_count > 0", []),
        Some(false) => w.push("t.play_count = 0", []),
        None => {}
    }
    if let Some(since) = filter.added_since {
        w.push("t.added_at >= ?", [Value::Integer(since)]);
    }
    Ok(w)
}

fn genre_ids(conn: &Connection, names: &[String]) -> Result<Vec<i64>, StoreError> {
    let mut stmt = conn.prepare_cached("SELECT id FROM genres WHERE name = ?1")?;
    names
        .iter()
        .map(|name| {
            stmt.query_row([name], |r| r.get(0))
                .optional()?
                .ok_or_else(|| StoreError::Filter(FilterError::UnknownGenre(name.clone())))
        })
        .collect()
}
