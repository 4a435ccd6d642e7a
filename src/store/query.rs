//! Read queries: filtered and sorted pages with their total, counts, random
//! samples, and genre and decade statistics. Each answer comes from one
//! snapshot of the file, so a sync committing meanwhile is seen whole or not
//! at all.

use std::collections::HashMap;

use std::sync::Arc;

use super::columns::{Columns, Lookup, Matcher, page};
use super::sql::{
    ARTIST_SQL, DECADE_STATS_SQL, GENRE_SQL, GENRE_STATS_SQL, KNOWN_KEY_SQL, LITERAL_SQL,
    SYNCED_TRACK_COUNT_SQL, TEXT_SQL, VERSION_SQL, genres_sql, order_sql, rows_sql, search_terms,
};
use super::{Store, StoreError};
use crate::clock::SHOWN_TIMES;
use crate::model::{DecadeCount, Filter, FilterError, GenreCount, Sort, Stats, Track, TrackPage};
use fixedbitset::FixedBitSet;
use rand::seq::{IteratorRandom, SliceRandom};
use rusqlite::{Connection, OptionalExtension, Row, params_from_iter};

/// A statement the queries run and SQLite's plan for it.
#[derive(Debug, Clone)]
pub struct QueryPlan {
    pub statement: &'static str,
    pub sql: String,
    /// The detail lines of `EXPLAIN QUERY PLAN`.
    pub plan: Vec<String>,
}

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
            ("library version", VERSION_SQL.to_owned()),
            ("genre by name", GENRE_SQL.to_owned()),
            ("text search", TEXT_SQL.to_owned()),
            ("literal text", LITERAL_SQL.to_owned()),
            ("artist", ARTIST_SQL.to_owned()),
            ("rows by id", rows_sql(3)),
            ("genres of rows", genres_sql(3)),
            ("default sort order", order_sql(Sort::default().field)),
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
    pub fn sample(&self, filter: &Filter, n: u64) -> Result<(u64, Vec<Track>), StoreError> {
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
        let track_count: i64 = tx.query_row(SYNCED_TRACK_COUNT_SQL, [], |r| r.get(0))?;
        let mut stmt = tx.prepare_cached(GENRE_STATS_SQL)?;
        let genres = stmt
            .query_map([], |r| {
                Ok(GenreCount {
                    name: r.get(0)?,
                    count: r.get::<_, i64>(1)? as u64,
                })
            })?
            .collect::<Result<_, _>>()?;
        let mut stmt = tx.prepare_cached(DECADE_STATS_SQL)?;
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
        let mut stmt = conn.prepare_cached(KNOWN_KEY_SQL)?;
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
fn tracks_by_id(conn: &Connection, ids: &[i64]) -> Result<Vec<Track>, StoreError> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let mut stmt = conn.prepare_cached(&rows_sql(ids.len()))?;
    let mut by_id: HashMap<i64, Track> = stmt
        .query_map(params_from_iter(ids), track_row)?
        .collect::<Result<_, _>>()?;
    let rows = ids
        .iter()
        .filter_map(|id| by_id.remove(id).map(|row| (*id, row)))
        .collect();
    attach_genres(conn, rows)
}

/// Genre names for a page of rows, in one query.
fn attach_genres(conn: &Connection, rows: Vec<(i64, Track)>) -> Result<Vec<Track>, StoreError> {
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

fn track_row(r: &Row<'_>) -> rusqlite::Result<(i64, Track)> {
    let row = Track {
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
        last_played_at: shown_time(r.get(14)?),
        added_at: shown_time(r.get(15)?),
        updated_at: shown_time(r.get(16)?),
        is_live: r.get(17)?,
        section: r.get(18)?,
    };
    Ok((r.get(11)?, row))
}

/// A stored time, or `None` outside `SHOWN_TIMES`: such a time is missing
/// everywhere (filters and sorts treat it so too).
fn shown_time(unix: Option<i64>) -> Option<i64> {
    unix.filter(|t| SHOWN_TIMES.contains(t))
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
        for term in search_terms(filter) {
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
