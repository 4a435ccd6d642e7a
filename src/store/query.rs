//! Read queries: filtered and sorted pages with their total, counts, random
//! samples, and genre and decade statistics. Each answer comes from one
//! snapshot of the file, so a sync committing meanwhile is seen whole or not
//! at all.

use std::collections::HashMap;

use std::sync::Arc;

use fixedbitset::FixedBitSet;
use rand::seq::{IteratorRandom, SliceRandom};
use rusqlite::{Connection, OptionalExtension, Row, params_from_iter};
use serde::Serialize;

use super::columns::{Columns, Lookup, Matcher, page};
use super::filter::{Filter, FilterError, SHOWN_TIMES, Sort};
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

/// Tracks whose title, artist or album has every word of an FTS5 query.
pub(super) const TEXT_SQL: &str = "SELECT rowid FROM tracks_fts WHERE tracks_fts MATCH ?1";
/// Tracks whose title, artist or album contains a literal text (a LIKE
/// pattern with `\` escaping; case-insensitive for ASCII, and the literal
/// terms have no letters anyway). A scan: a few ms at 100k tracks, and
/// remembered like the words' sets.
const LITERAL_SQL: &str = "SELECT id FROM tracks
     WHERE title LIKE ?1 ESCAPE '\\' OR artist LIKE ?1 ESCAPE '\\' OR album LIKE ?1 ESCAPE '\\'";
/// Tracks by or on an album of an artist: a union of two index searches (a
/// plain OR may be planned as a scan).
const ARTIST_SQL: &str = "SELECT id FROM tracks WHERE artist = ?1 COLLATE NOCASE
     UNION SELECT id FROM tracks WHERE album_artist = ?1 COLLATE NOCASE";
const GENRE_SQL: &str = "SELECT id FROM genres WHERE name = ?1";

/// The rows of `n` tracks by rowid.
fn rows_sql(n: usize) -> String {
    let marks = vec!["?"; n].join(",");
    format!("SELECT {TRACK_COLUMNS} FROM tracks t WHERE t.id IN ({marks})")
}

/// The genres of `n` tracks, in Plex's order.
fn genres_sql(n: usize) -> String {
    let marks = vec!["?"; n].join(",");
    format!(
        "SELECT tg.track_id, g.name FROM track_genres tg JOIN genres g ON g.id = tg.genre_id
         WHERE tg.track_id IN ({marks}) ORDER BY tg.track_id, tg.position, g.name COLLATE NOCASE"
    )
}

/// A statement the queries run and SQLite's plan for it.
#[derive(Debug, Clone)]
pub struct QueryPlan {
    pub statement: &'static str,
    pub sql: String,
    /// The detail lines of `EXPLAIN QUERY PLAN`.
    pub plan: Vec<String>,
}

const TRACK_COLUMNS: &str =
    "t.rating_key, t.title, t.artist, t.album_artist, t.album, t.album_key, t.artist_key,
    t.disc, t.track, t.duration_ms, t.year, t.id, t.rating, t.play_count, t.last_played_at,
    t.added_at, t.updated_at, t.is_live, t.section";

impl Store {
    pub fn count(&self, filter: &Filter) -> Result<u64, StoreError> {
        let mut conn = self.reader()?;
        let tx = conn.transaction()?;
        let columns = self.columns.get(&tx)?;
        let terms = Terms::resolve(&tx, &columns, filter)?;
        Ok(terms.matcher(&columns, filter).matching().count_ones(..) as u64)
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
        let columns = self.columns.get(&tx)?;
        let terms = Terms::resolve(&tx, &columns, filter)?;
        let matching = terms.matcher(&columns, filter).matching();
        let total = matching.count_ones(..) as u64;
        let shown = if offset < total && limit > 0 {
            let order = columns.order(&tx, sort.field)?;
            page(&matching, order, sort.descending, offset, limit)
        } else {
            Vec::new()
        };
        let ids: Vec<i64> = shown.iter().map(|&i| columns.id(i)).collect();
        Ok(TrackPage {
            total,
            offset,
            limit,
            tracks: tracks_by_id(&tx, &ids)?,
        })
    }

    /// Loads the in-memory filter columns and the default sort order now,
    /// so the first query after start-up or a sync does not wait for them.
    pub fn warm(&self) -> Result<(), StoreError> {
        let mut conn = self.reader()?;
        let tx = conn.transaction()?;
        let columns = self.columns.get(&tx)?;
        columns.order(&tx, Sort::default().field)?;
        columns.remember_common_words(&tx)?;
        Ok(())
    }

    /// For a long-running server: syncs build the new library's filter
    /// columns before they commit, so queries never wait for them.
    pub fn build_filter_columns_before_commit(&self) {
        self.columns.set_build_before_commit(true);
    }

    /// Forgets the remembered text-word and artist sets (the common words'
    /// aside), so the next search looks its words up again (for measuring
    /// that cost).
    pub fn forget_remembered_sets(&self) {
        self.columns.forget_sets();
    }

    /// Bytes held by the in-memory filter columns (0 before the first query).
    pub fn filter_memory_bytes(&self) -> usize {
        self.columns.heap_bytes().unwrap_or(0)
    }

    /// The plan of every statement a count, page or sample runs, so tests
    /// (and curious operators) can check each uses the index meant for it.
    pub fn query_plans(&self) -> Result<Vec<QueryPlan>, StoreError> {
        let conn = self.reader()?;
        let statements = [
            ("library version", super::columns::VERSION_SQL.to_owned()),
            ("genre by name", GENRE_SQL.to_owned()),
            ("text search", TEXT_SQL.to_owned()),
            ("literal text", LITERAL_SQL.to_owned()),
            ("artist", ARTIST_SQL.to_owned()),
            ("rows by id", rows_sql(3)),
            ("genres of rows", genres_sql(3)),
            (
                "default sort order",
                super::columns::order_sql(Sort::default().field),
            ),
        ];
        statements
            .into_iter()
            .map(|(statement, sql)| {
                let mut stmt = conn.prepare(&format!("EXPLAIN QUERY PLAN {sql}"))?;
                let nulls = vec![rusqlite::types::Value::Null; stmt.parameter_count()];
                let plan = stmt
                    .query_map(params_from_iter(nulls), |r| r.get::<_, String>(3))?
                    .collect::<Result<_, _>>()?;
                Ok(QueryPlan {
                    statement,
                    sql,
                    plan,
                })
            })
            .collect()
    }

    /// `n` random tracks matching `filter`, and how many matched.
    pub fn sample(&self, filter: &Filter, n: u64) -> Result<(u64, Vec<TrackRow>), StoreError> {
        let mut conn = self.reader()?;
        let tx = conn.transaction()?;
        let columns = self.columns.get(&tx)?;
        let terms = Terms::resolve(&tx, &columns, filter)?;
        let matching = terms.matcher(&columns, filter).matching();
        let mut rng = rand::rng();
        let mut chosen: Vec<i64> = matching
            .ones()
            .choose_multiple(&mut rng, n as usize)
            .into_iter()
            .map(|i| columns.id(i as u32))
            .collect();
        chosen.shuffle(&mut rng);
        Ok((matching.count_ones(..) as u64, tracks_by_id(&tx, &chosen)?))
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

/// The rows of `ids`, in that order, with their genres.
fn tracks_by_id(conn: &Connection, ids: &[i64]) -> Result<Vec<TrackRow>, StoreError> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let mut stmt = conn.prepare_cached(&rows_sql(ids.len()))?;
    let mut by_id: HashMap<i64, TrackRow> = stmt
        .query_map(params_from_iter(ids), track_row)?
        .collect::<Result<_, _>>()?;
    let rows = ids
        .iter()
        .filter_map(|id| by_id.remove(id).map(|row| (*id, row)))
        .collect();
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
    let mut by_track: HashMap<i64, Vec<String>> = HashMap::new();
    let mut stmt = conn.prepare_cached(&genres_sql(rows.len()))?;
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

/// Unix time as RFC 3339 (UTC), or `None` when outside `SHOWN_TIMES`.
pub fn rfc3339(unix: i64) -> Option<String> {
    if !SHOWN_TIMES.contains(&unix) {
        return None;
    }
    time::OffsetDateTime::from_unix_timestamp(unix)
        .ok()?
        .format(&time::format_description::well_known::Rfc3339)
        .ok()
}

/// The filter's terms that need SQLite: genre names resolved to ids (an
/// unknown genre is an error, not an empty page) and the tracks the text
/// and artist terms allow.
struct Terms {
    genre_ids: Vec<i64>,
    subsets: Vec<Arc<FixedBitSet>>,
}

impl Terms {
    fn resolve(conn: &Connection, columns: &Columns, filter: &Filter) -> Result<Self, StoreError> {
        filter.validate()?;
        let genre_ids = genre_ids(conn, &filter.genres)?;
        let mut subsets = Vec::new();
        // One set per word: common words recur across searches.
        for term in filter.search_terms() {
            subsets.push(columns.set_of(conn, Lookup::new(TEXT_SQL, term))?);
        }
        for term in filter.literal_terms() {
            let lookup = Lookup::new(LITERAL_SQL, like_pattern(&term));
            subsets.push(columns.set_of(conn, lookup)?);
        }
        if let Some(artist) = &filter.artist {
            subsets.push(columns.set_of(conn, Lookup::new(ARTIST_SQL, artist.clone()))?);
        }
        Ok(Terms { genre_ids, subsets })
    }

    fn matcher<'a>(&self, columns: &'a Columns, filter: &Filter) -> Matcher<'a> {
        Matcher::new(columns, filter, &self.genre_ids, &self.subsets)
    }
}

/// A LIKE pattern matching `text` anywhere, its own `%`, `_` and `\`
/// taken literally.
fn like_pattern(text: &str) -> String {
    let mut pattern = String::with_capacity(text.len() + 2);
    pattern.push('%');
    for c in text.chars() {
        if matches!(c, '%' | '_' | '\\') {
            pattern.push('\\');
        }
        pattern.push(c);
    }
    pattern.push('%');
    pattern
}

fn genre_ids(conn: &Connection, names: &[String]) -> Result<Vec<i64>, StoreError> {
    let mut stmt = conn.prepare_cached(GENRE_SQL)?;
    names
        .iter()
        .map(|name| {
            stmt.query_row([name], |r| r.get(0))
                .optional()?
                .ok_or_else(|| StoreError::Filter(FilterError::UnknownGenre(name.clone())))
        })
        .collect()
}
