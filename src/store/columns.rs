//! The filterable fields of every track, copied into compact arrays in rowid
//! order, with each sort order built on first use. Counting, paging and
//! sampling scan these arrays (a few nanoseconds per track) instead of asking
//! SQLite to walk several indexes per query; SQLite then only looks up the
//! rows that are shown, and answers the text and artist filters, which
//! become sets of tracks.
//!
//! A copy belongs to one version of the library (`sync_state.library_version`,
//! increased by every commit that touches tracks). A query reads the version in
//! its own read transaction, so the copy it uses always matches the rows it
//! fetches: a sync committing meanwhile is seen whole or not at all.
//!
//! Memory: about 45 bytes per track, plus 4 per track for each sort order in
//! use and one bit per track for each remembered text or artist set (5–10 MB
//! for 100k tracks).

use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use fixedbitset::FixedBitSet;
use rusqlite::{Connection, params};

use super::StoreError;
use super::sql::{
    COMMON_WORDS_SQL, TEXT_SQL, TRACK_COUNT_SQL, TRACK_GENRE_IDS_SQL, VERSION_SQL, order_sql,
    prefix_term,
};
use crate::clock::SHOWN_TIMES;
use crate::locks::MutexExt;
use crate::model::{Filter, SortField, YEARS};

mod patch;

/// How many text-word and artist sets each copy remembers: scrolling a
/// result asks for the same sets page after page, and common words recur
/// across searches. Each takes one bit per track.
const REMEMBERED_SETS: usize = 64;

/// A word in at least one track of this many is common: its set is built
/// ahead and kept (at most `COMMON_WORDS` of them).
const COMMON_WORD_SHARE: usize = 20;
const COMMON_WORDS: usize = 24;

/// The filterable fields of every track, in rowid order (read by position
/// in `Columns::load_tracks`).
const COLUMNS_SQL: &str =
    "SELECT id, is_live, play_count > 0, year, rating, added_at FROM tracks ORDER BY id";

/// The same fields of the tracks a patch changed or added (`patch`).
const PATCHED_COLUMNS_SQL: &str = "SELECT id, is_live, play_count > 0, year, rating, added_at
     FROM tracks WHERE id IN (SELECT id FROM temp.patched_ids) ORDER BY id";

/// Sets that took longer than this to build are kept before cheaper ones.
const EXPENSIVE_SET: Duration = Duration::from_millis(1);

/// Years past this are not valid (the sync keeps only `YEARS`).
const MAX_YEAR: usize = *YEARS.end() as usize;

/// Stands for a missing `added_at`, or one outside `SHOWN_TIMES` (shown as
/// null): no filter value is this small.
const NO_TIME: i64 = i64::MIN;

/// The copy for one library version. Ordinal `i` is the track with the
/// `i`-th smallest rowid.
pub(super) struct Columns {
    pub version: i64,
    ids: Vec<i64>,
    live: FixedBitSet,
    played: FixedBitSet,
    /// 0 when unknown.
    year: Vec<u16>,
    /// NaN when unrated: no comparison with NaN holds, as with SQL's NULL.
    rating: Vec<f64>,
    added_at: Vec<i64>,
    /// Genres of ordinal `i`: `genre_ids[genre_start[i]..genre_start[i + 1]]`.
    genre_start: Vec<u32>,
    genre_ids: Vec<u32>,
    /// Indexed by `SortField as usize`.
    orders: [OnceLock<Order>; SortField::ALL.len()],
    /// One build of an order at a time: a second query waits for it.
    order_builds: Mutex<()>,
    /// Least recently used first.
    sets: Mutex<VecDeque<RememberedSet>>,
}

/// Ordinals by one field ascending, tracks missing the field last (in
/// rowid order): walking `present` backwards, then `missing` backwards,
/// gives the descending order, missing values still last.
pub(super) struct Order {
    ordinals: Vec<u32>,
    /// How many leading ordinals have the field.
    present: usize,
}

impl Order {
    /// The ordinals in the order asked for.
    pub fn walk(&self, descending: bool) -> Box<dyn Iterator<Item = &u32> + '_> {
        let (present, missing) = self.ordinals.split_at(self.present);
        if descending {
            Box::new(present.iter().rev().chain(missing.iter().rev()))
        } else {
            Box::new(self.ordinals.iter())
        }
    }
}

/// A statement that finds tracks by one text parameter.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Lookup {
    sql: &'static str,
    param: String,
}

impl Lookup {
    pub fn new(sql: &'static str, param: String) -> Self {
        Lookup { sql, param }
    }

    fn rowids(&self, conn: &Connection) -> Result<Vec<i64>, StoreError> {
        let mut stmt = conn.prepare_cached(self.sql)?;
        let ids = stmt
            .query_map([&self.param], |r| r.get(0))?
            .collect::<Result<_, _>>()?;
        Ok(ids)
    }
}

struct RememberedSet {
    lookup: Lookup,
    set: Arc<FixedBitSet>,
    cost: Duration,
    /// A common word's set, kept for the whole version.
    pinned: bool,
}

/// The copy of the current version, shared by every clone of a `Store`.
#[derive(Default)]
pub(super) struct ColumnsCache {
    current: Mutex<Option<Arc<Columns>>>,
    /// One build at a time: the others wait for it rather than repeat it.
    building: Mutex<()>,
    /// Set by a long-running server: a sync then builds the new library's
    /// copy, and the sort orders in use, before it commits, so no query
    /// waits for them afterwards.
    build_before_commit: AtomicBool,
}

impl ColumnsCache {
    pub fn set_build_before_commit(&self, on: bool) {
        self.build_before_commit.store(on, Ordering::Relaxed);
    }

    /// Builds the copy of a library about to be committed as `version`
    /// (`conn` is inside the writing transaction), with the sort orders the
    /// current copy has built and its costly word sets. `None` when nobody
    /// will query it.
    pub fn prepare(
        &self,
        conn: &Connection,
        version: i64,
    ) -> Result<Option<Arc<Columns>>, StoreError> {
        if !self.build_before_commit.load(Ordering::Relaxed) {
            return Ok(None);
        }
        let (in_use, costly) = match self.current.lock_unpoisoned().as_ref() {
            Some(current) => (current.orders_in_use(), current.costly_lookups()),
            None => (vec![SortField::default()], Vec::new()),
        };
        let columns = Columns::load(conn, version)?;
        for field in in_use {
            columns.order(conn, field)?;
        }
        for lookup in costly {
            columns.set_of(conn, lookup)?;
        }
        columns.remember_common_words(conn)?;
        Ok(Some(Arc::new(columns)))
    }

    /// Makes a prepared copy current once its library has committed.
    pub fn install(&self, columns: Arc<Columns>) {
        let mut current = self.current.lock_unpoisoned();
        if current.as_ref().is_none_or(|c| c.version < columns.version) {
            *current = Some(columns);
        }
    }

    /// The copy matching the snapshot `conn` reads (inside a transaction).
    pub fn get(&self, conn: &Connection) -> Result<Arc<Columns>, StoreError> {
        let version = library_version(conn)?;
        if let Some(columns) = self.matching(version) {
            return Ok(columns);
        }
        let _building = self.building.lock_unpoisoned();
        if let Some(columns) = self.matching(version) {
            return Ok(columns);
        }
        let started = std::time::Instant::now();
        let columns = Arc::new(Columns::load(conn, version)?);
        tracing::debug!(
            tracks = columns.len(),
            bytes = columns.heap_bytes(),
            ms = started.elapsed().as_millis() as u64,
            "filter columns loaded"
        );
        // Versions only grow. A reader whose snapshot predates a sync that
        // just committed gets the old copy without replacing the new one.
        let mut current = self.current.lock_unpoisoned();
        if current.as_ref().is_none_or(|c| c.version < version) {
            *current = Some(Arc::clone(&columns));
        }
        Ok(columns)
    }

    /// Bytes held by the current copy, if one is loaded.
    pub fn heap_bytes(&self) -> Option<usize> {
        self.current
            .lock_unpoisoned()
            .as_ref()
            .map(|c| c.heap_bytes())
    }

    /// Forgets the current copy's remembered sets, but for the common
    /// words' (built ahead by design, never searched "for the first time").
    pub fn forget_sets(&self) {
        if let Some(current) = self.current.lock_unpoisoned().as_ref() {
            current.sets.lock_unpoisoned().retain(|s| s.pinned);
        }
    }

    /// Forgets the copy (the file was replaced).
    pub fn clear(&self) {
        *self.current.lock_unpoisoned() = None;
    }

    fn matching(&self, version: i64) -> Option<Arc<Columns>> {
        self.current
            .lock_unpoisoned()
            .as_ref()
            .filter(|c| c.version == version)
            .cloned()
    }
}

pub(super) fn library_version(conn: &Connection) -> Result<i64, StoreError> {
    Ok(conn.query_row(VERSION_SQL, [], |r| r.get(0))?)
}

impl Columns {
    fn load(conn: &Connection, version: i64) -> Result<Columns, StoreError> {
        let n: usize = conn.query_row(TRACK_COUNT_SQL, [], |r| r.get::<_, i64>(0))? as usize;
        let mut columns = Columns::empty(version, n);
        columns.load_tracks(conn, n, COLUMNS_SQL)?;
        columns.load_genres(conn, TRACK_GENRE_IDS_SQL)?;
        Ok(columns)
    }

    /// A copy with room for `n` tracks and none yet.
    fn empty(version: i64, n: usize) -> Columns {
        Columns {
            version,
            ids: Vec::with_capacity(n),
            live: FixedBitSet::with_capacity(n),
            played: FixedBitSet::with_capacity(n),
            year: Vec::with_capacity(n),
            rating: Vec::with_capacity(n),
            added_at: Vec::with_capacity(n),
            genre_start: Vec::with_capacity(n + 1),
            genre_ids: Vec::new(),
            orders: Default::default(),
            order_builds: Mutex::new(()),
            sets: Mutex::new(VecDeque::new()),
        }
    }

    /// Reads `n` tracks' fields with `sql` (`COLUMNS_SQL`'s columns).
    fn load_tracks(&mut self, conn: &Connection, n: usize, sql: &str) -> Result<(), StoreError> {
        let mut stmt = conn.prepare_cached(sql)?;
        let mut rows = stmt.query([])?;
        while let Some(r) = rows.next()? {
            let i = self.ids.len();
            // Rows and count come from one snapshot and agree; never index
            // past the bitsets sized by the count.
            if i == n {
                break;
            }
            self.ids.push(r.get(0)?);
            self.live.set(i, r.get(1)?);
            self.played.set(i, r.get(2)?);
            let year: Option<i64> = r.get(3)?;
            self.year
                .push(year.filter(|y| YEARS.contains(y)).map_or(0, |y| y as u16));
            self.rating
                .push(r.get::<_, Option<f64>>(4)?.unwrap_or(f64::NAN));
            self.added_at.push(
                r.get::<_, Option<i64>>(5)?
                    .filter(|t| SHOWN_TIMES.contains(t))
                    .unwrap_or(NO_TIME),
            );
        }
        Ok(())
    }

    /// Reads the loaded tracks' genres with `sql` (rows by track).
    fn load_genres(&mut self, conn: &Connection, sql: &str) -> Result<(), StoreError> {
        // The primary key orders the rows by track, so one merge pass suffices.
        let mut stmt = conn.prepare_cached(sql)?;
        let mut rows = stmt.query([])?;
        let mut next = 0usize;
        self.genre_start.push(0);
        while let Some(r) = rows.next()? {
            let track: i64 = r.get(0)?;
            let genre: i64 = r.get(1)?;
            while next < self.ids.len() && self.ids[next] < track {
                self.genre_start.push(self.genre_ids.len() as u32);
                next += 1;
            }
            if next < self.ids.len()
                && self.ids[next] == track
                && let Ok(genre) = u32::try_from(genre)
            {
                self.genre_ids.push(genre);
            }
        }
        while self.genre_start.len() <= self.ids.len() {
            self.genre_start.push(self.genre_ids.len() as u32);
        }
        self.genre_ids.shrink_to_fit();
        Ok(())
    }

    pub fn len(&self) -> usize {
        self.ids.len()
    }

    /// Builds and keeps the sets of the most common words (those in at
    /// least one track of `COMMON_WORD_SHARE`): the full-text index needs
    /// longest for them, and they are the likeliest to be searched.
    pub fn remember_common_words(&self, conn: &Connection) -> Result<(), StoreError> {
        let min_tracks = (self.len() / COMMON_WORD_SHARE).max(1000) as i64;
        let words: Vec<String> = conn
            .prepare_cached(COMMON_WORDS_SQL)?
            .query_map(params![min_tracks, COMMON_WORDS as i64], |r| r.get(0))?
            .collect::<Result<_, _>>()?;
        for word in words {
            let lookup = Lookup::new(TEXT_SQL, prefix_term(&word));
            self.set_of(conn, lookup.clone())?;
            if let Some(entry) = self
                .sets
                .lock_unpoisoned()
                .iter_mut()
                .find(|s| s.lookup == lookup)
            {
                entry.pinned = true;
            }
        }
        Ok(())
    }

    fn orders_in_use(&self) -> Vec<SortField> {
        SortField::ALL
            .into_iter()
            .filter(|&field| self.orders[field as usize].get().is_some())
            .collect()
    }

    /// Lookups whose sets were slow to build (common words): worth
    /// building again for the next version before anyone asks.
    fn costly_lookups(&self) -> Vec<Lookup> {
        self.sets
            .lock_unpoisoned()
            .iter()
            .filter(|s| s.cost >= EXPENSIVE_SET && !s.pinned)
            .map(|s| s.lookup.clone())
            .collect()
    }

    pub fn id(&self, ordinal: u32) -> i64 {
        self.ids[ordinal as usize]
    }

    /// The ordinal of a rowid, if the track is in this copy.
    fn ordinal(&self, id: i64) -> Option<u32> {
        // Rowids are 1..=n after a full sync: try the direct position first.
        let guess = usize::try_from(id - self.ids.first()?).ok();
        if let Some(i) = guess.filter(|&i| self.ids.get(i) == Some(&id)) {
            return Some(i as u32);
        }
        self.ids.binary_search(&id).ok().map(|i| i as u32)
    }

    /// The tracks a lookup finds (a text word's or an artist's), remembered
    /// for the next queries of this version.
    pub fn set_of(
        &self,
        conn: &Connection,
        lookup: Lookup,
    ) -> Result<Arc<FixedBitSet>, StoreError> {
        {
            let mut sets = self.sets.lock_unpoisoned();
            if let Some(at) = sets.iter().position(|s| s.lookup == lookup) {
                let hit = sets.remove(at);
                let set = hit.as_ref().map(|s| Arc::clone(&s.set));
                sets.extend(hit);
                if let Some(set) = set {
                    return Ok(set);
                }
            }
        }
        let started = std::time::Instant::now();
        let mut set = FixedBitSet::with_capacity(self.len());
        for id in lookup.rowids(conn)? {
            if let Some(i) = self.ordinal(id) {
                set.insert(i as usize);
            }
        }
        let cost = started.elapsed();
        tracing::debug!(
            lookup = %lookup.param,
            tracks = set.count_ones(..),
            ms = cost.as_secs_f64() * 1000.0,
            "track set built"
        );
        let set = Arc::new(set);
        let mut sets = self.sets.lock_unpoisoned();
        if sets.iter().any(|s| s.lookup == lookup) {
            // Another query built the same set meanwhile.
            return Ok(set);
        }
        if sets.len() >= REMEMBERED_SETS {
            // Forget the least recently used cheap set; common words, whose
            // sets take longest to build, stay.
            let victim = sets
                .iter()
                .position(|s| s.cost < EXPENSIVE_SET && !s.pinned)
                .or_else(|| sets.iter().position(|s| !s.pinned));
            if let Some(victim) = victim {
                sets.remove(victim);
            }
        }
        sets.push_back(RememberedSet {
            lookup,
            set: Arc::clone(&set),
            cost,
            pinned: false,
        });
        Ok(set)
    }

    /// Ordinals in the order of `sort`'s field ascending, built on first use
    /// by SQLite itself so ties, case and missing values sort exactly as
    /// its ORDER BY does.
    pub fn order(&self, conn: &Connection, field: SortField) -> Result<&Order, StoreError> {
        let slot = &self.orders[field as usize];
        if let Some(order) = slot.get() {
            return Ok(order);
        }
        let _building = self.order_builds.lock_unpoisoned();
        if let Some(order) = slot.get() {
            return Ok(order);
        }
        let started = std::time::Instant::now();
        let mut ordinals = Vec::with_capacity(self.len());
        let mut missing = 0;
        let mut stmt = conn.prepare(&order_sql(field))?;
        let mut rows = stmt.query([])?;
        while let Some(r) = rows.next()? {
            if let Some(i) = self.ordinal(r.get(0)?) {
                ordinals.push(i);
                // Missing values come last, so they are the tail.
                missing = if r.get(1)? { missing + 1 } else { 0 };
            }
        }
        let order = Order {
            present: ordinals.len() - missing,
            ordinals,
        };
        tracing::debug!(
            ?field,
            ms = started.elapsed().as_millis() as u64,
            "sort order built"
        );
        Ok(slot.get_or_init(|| order))
    }

    /// Approximate bytes held (remembered sets aside), for the operations
    /// docs and budget checks.
    pub fn heap_bytes(&self) -> usize {
        let orders: usize = self
            .orders
            .iter()
            .filter_map(OnceLock::get)
            .map(|o| o.ordinals.capacity() * 4)
            .sum();
        self.ids.capacity() * 8
            + self.live.len() / 8
            + self.played.len() / 8
            + self.year.capacity() * 2
            + self.rating.capacity() * 8
            + self.added_at.capacity() * 8
            + self.genre_start.capacity() * 4
            + self.genre_ids.capacity() * 4
            + orders
    }
}

/// A filter compiled against one copy: everything but the text and artist
/// terms is a test on the arrays; those two arrive as sets of tracks.
pub(super) struct Matcher<'a> {
    columns: &'a Columns,
    exclude_live: bool,
    /// Allowed years (index = year); `None` when no year term is set.
    years: Option<Vec<bool>>,
    min_rating: Option<f64>,
    rated: Option<bool>,
    played: Option<bool>,
    added_since: Option<i64>,
    /// Wanted genre ids (any of); `None` when no genre term is set.
    genres: Option<FixedBitSet>,
    /// Tracks the text and artist terms allow.
    subset: Option<FixedBitSet>,
}

impl<'a> Matcher<'a> {
    /// `genre_ids` are the filter's genres, already resolved; `subsets` the
    /// sets of the text and artist terms.
    pub fn new(
        columns: &'a Columns,
        filter: &Filter,
        genre_ids: &[i64],
        subsets: &[Arc<FixedBitSet>],
    ) -> Self {
        let genres = (!filter.genres.is_empty()).then(|| {
            let mut wanted = FixedBitSet::new();
            for id in genre_ids.iter().filter_map(|&g| usize::try_from(g).ok()) {
                wanted.grow(id + 1);
                wanted.insert(id);
            }
            wanted
        });
        let subset = subsets.split_first().map(|(first, rest)| {
            let mut set = FixedBitSet::clone(first);
            for other in rest {
                set.intersect_with(other);
            }
            set
        });
        Matcher {
            columns,
            exclude_live: filter.exclude_live,
            years: year_table(filter),
            min_rating: filter.min_rating,
            rated: filter.rated,
            played: filter.played,
            added_since: filter.added_since,
            genres,
            subset,
        }
    }

    pub fn matches(&self, i: usize) -> bool {
        let c = self.columns;
        if self.exclude_live && c.live.contains(i) {
            return false;
        }
        if let Some(years) = &self.years
            && !years[c.year[i] as usize]
        {
            return false;
        }
        if let Some(played) = self.played
            && c.played.contains(i) != played
        {
            return false;
        }
        if let Some(min) = self.min_rating
            && c.rating[i].partial_cmp(&min).is_none_or(|o| o.is_lt())
        {
            return false;
        }
        if let Some(rated) = self.rated
            && c.rating[i].is_nan() == rated
        {
            return false;
        }
        if let Some(since) = self.added_since
            && c.added_at[i] < since
        {
            return false;
        }
        if let Some(subset) = &self.subset
            && !subset.contains(i)
        {
            return false;
        }
        if let Some(wanted) = &self.genres {
            let (start, end) = (c.genre_start[i] as usize, c.genre_start[i + 1] as usize);
            if !c.genre_ids[start..end]
                .iter()
                .any(|&g| wanted.contains(g as usize))
            {
                return false;
            }
        }
        true
    }

    /// Every matching track, as a set of ordinals. One pass in ordinal
    /// order (over the text and artist subset alone when there is one), so
    /// the arrays are read sequentially.
    pub fn matching(&self) -> FixedBitSet {
        let mut set = FixedBitSet::with_capacity(self.columns.len());
        match &self.subset {
            Some(subset) => subset
                .ones()
                .filter(|&i| self.matches(i))
                .for_each(|i| set.insert(i)),
            None => (0..self.columns.len())
                .filter(|&i| self.matches(i))
                .for_each(|i| set.insert(i)),
        }
        set
    }
}

/// The members of `set` at `offset..offset + limit` of `order` in the
/// direction asked for.
pub(super) fn page(
    set: &FixedBitSet,
    order: &Order,
    descending: bool,
    offset: u64,
    limit: u64,
) -> Vec<u32> {
    order
        .walk(descending)
        .filter(|&&i| set.contains(i as usize))
        .skip(usize::try_from(offset).unwrap_or(usize::MAX))
        .take(usize::try_from(limit).unwrap_or(usize::MAX))
        .copied()
        .collect()
}

/// Which years the decade and year-range terms allow, as a lookup table;
/// unknown years (0) never match a year term, as in SQL.
fn year_table(filter: &Filter) -> Option<Vec<bool>> {
    if filter.decades.is_empty() && filter.year_from.is_none() && filter.year_to.is_none() {
        return None;
    }
    let allowed = |year: i64| {
        let in_decade = filter.decades.is_empty()
            || filter.decades.iter().any(|&d| (d..=d + 9).contains(&year));
        in_decade
            && filter.year_from.is_none_or(|from| year >= from)
            && filter.year_to.is_none_or(|to| year <= to)
    };
    let mut table = vec![false; MAX_YEAR + 1];
    for (year, slot) in table.iter_mut().enumerate().skip(1) {
        *slot = allowed(year as i64);
    }
    Some(table)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::Store;
    use crate::store::sql::ARTIST_SQL;

    /// A cache holding tracks `(id, year, rating)` (rowids as given), with
    /// its read connection.
    fn cache(tracks: &[(i64, Option<i64>, Option<f64>)]) -> (tempfile::TempDir, Store) {
        let dir = tempfile::tempdir().expect("temporary directory");
        let (store, _) = Store::open(&dir.path().join("cache.db")).expect("open");
        let conn = store.writer().expect("writer");
        for &(id, year, rating) in tracks {
            conn.execute(
                "INSERT INTO tracks (id, rating_key, section, title, artist, album_artist, album, year, rating)
                 VALUES (?1, ?1, '1', 'T' || ?1, 'Artist ' || ?1, 'A', 'B', ?2, ?3)",
                params![id, year, rating],
            )
            .expect("insert");
        }
        (dir, store)
    }

    fn load(store: &Store) -> Columns {
        Columns::load(&store.reader().expect("reader"), 1).expect("load")
    }

    fn bits(len: usize, members: &[usize]) -> FixedBitSet {
        let mut set = FixedBitSet::with_capacity(len);
        members.iter().for_each(|&i| set.insert(i));
        set
    }

    #[test]
    fn ordinals_are_rowid_ranks_with_gaps_and_strangers() {
        let (_dir, store) = cache(&[
            (3, None, None),
            (4, None, None),
            (5, None, None),
            (9, None, None),
            (20, None, None),
        ]);
        let columns = load(&store);
        assert_eq!(columns.len(), 5);
        for (ordinal, id) in [3, 4, 5, 9, 20].into_iter().enumerate() {
            assert_eq!(columns.ordinal(id), Some(ordinal as u32), "rowid {id}");
            assert_eq!(columns.id(ordinal as u32), id);
        }
        for stranger in [i64::MIN, 0, 1, 6, 10, 21, i64::MAX] {
            assert_eq!(columns.ordinal(stranger), None, "rowid {stranger}");
        }
        let empty = load(&cache(&[]).1);
        assert_eq!(empty.ordinal(1), None);
    }

    #[test]
    fn orders_put_missing_values_last_in_both_directions() {
        // Ordinals 0..5: years 2001, none, 1990, 2001, none.
        let (_dir, store) = cache(&[
            (1, Some(2001), None),
            (2, None, None),
            (3, Some(1990), None),
            (4, Some(2001), None),
            (5, None, None),
        ]);
        let columns = load(&store);
        let conn = store.reader().expect("reader");
        let order = columns.order(&conn, SortField::Year).expect("order");
        let walk = |descending| order.walk(descending).copied().collect::<Vec<u32>>();
        assert_eq!(walk(false), [2, 0, 3, 1, 4]);
        assert_eq!(walk(true), [3, 0, 2, 4, 1]);
    }

    #[test]
    fn pages_are_windows_of_the_matching_tracks_in_order() {
        let (_dir, store) = cache(&[
            (1, Some(2001), None),
            (2, None, None),
            (3, Some(1990), None),
            (4, Some(2001), None),
            (5, None, None),
        ]);
        let columns = load(&store);
        let conn = store.reader().expect("reader");
        let order = columns.order(&conn, SortField::Year).expect("order");
        let matching = bits(5, &[0, 1, 2, 4]);
        // Ascending, members only: 2, 0, 1, 4.
        assert_eq!(page(&matching, order, false, 0, 10), [2, 0, 1, 4]);
        assert_eq!(page(&matching, order, false, 1, 2), [0, 1]);
        assert_eq!(page(&matching, order, false, 3, 2), [4]);
        assert_eq!(page(&matching, order, false, 4, 2), Vec::<u32>::new());
        assert_eq!(page(&matching, order, false, 0, 0), Vec::<u32>::new());
        assert_eq!(
            page(&matching, order, false, u64::MAX, u64::MAX),
            Vec::<u32>::new()
        );
        // Descending: 0, 2, then the missing ones backwards: 4, 1.
        assert_eq!(page(&matching, order, true, 0, 10), [0, 2, 4, 1]);
        assert_eq!(page(&matching, order, true, 2, 1), [4]);
        let nothing = FixedBitSet::with_capacity(5);
        assert_eq!(page(&nothing, order, true, 0, 10), Vec::<u32>::new());
    }

    #[test]
    fn the_year_table_allows_decades_within_the_range_and_never_unknown_years() {
        assert_eq!(year_table(&Filter::default()), None);
        let table = |decades: Vec<i64>, from: Option<i64>, to: Option<i64>| {
            let filter = Filter {
                decades,
                year_from: from,
                year_to: to,
                ..Filter::default()
            };
            let table = year_table(&filter).expect("a year term");
            assert_eq!(table.len(), MAX_YEAR + 1);
            assert!(!table[0], "an unknown year never matches a year term");
            (*YEARS.start()..=*YEARS.end())
                .filter(|&y| table[y as usize])
                .collect::<Vec<i64>>()
        };
        assert_eq!(
            table(vec![1990], None, None),
            (1990..=1999).collect::<Vec<_>>()
        );
        assert_eq!(
            table(vec![1990], Some(1995), None),
            (1995..=1999).collect::<Vec<_>>()
        );
        assert_eq!(
            table(vec![1980, 2000], Some(1985), Some(2003)),
            (1985..=1989).chain(2000..=2003).collect::<Vec<_>>()
        );
        assert_eq!(
            table(Vec::new(), Some(2095), None),
            (2095..=2100).collect::<Vec<_>>()
        );
        assert_eq!(table(Vec::new(), None, Some(1001)), [1000, 1001]);
        assert_eq!(table(vec![1990], Some(2000), None), Vec::<i64>::new());
    }

    #[test]
    fn the_matcher_reads_the_year_table_and_ratings() {
        let (_dir, store) = cache(&[
            (1, Some(1991), Some(8.0)),
            (2, None, Some(2.0)),
            (3, Some(2005), None),
        ]);
        let columns = load(&store);
        let matching = |filter: Filter| {
            let m = Matcher::new(&columns, &filter, &[], &[]).matching();
            m.ones().collect::<Vec<usize>>()
        };
        let decade = Filter {
            decades: vec![1990],
            ..Filter::default()
        };
        assert_eq!(matching(decade), [0]);
        let rated = Filter {
            rated: Some(false),
            ..Filter::default()
        };
        assert_eq!(matching(rated), [2]);
        let min = Filter {
            min_rating: Some(2.0),
            ..Filter::default()
        };
        assert_eq!(matching(min), [0, 1]);
    }

    /// The lookups the copy remembers, least recently used first.
    fn remembered(columns: &Columns) -> Vec<String> {
        columns
            .sets
            .lock_unpoisoned()
            .iter()
            .map(|s| s.lookup.param.clone())
            .collect()
    }

    #[test]
    fn remembered_sets_evict_the_least_recently_used_cheap_one_first() {
        let (_dir, store) = cache(&[(1, None, None), (2, None, None)]);
        let columns = load(&store);
        let conn = store.reader().expect("reader");
        let lookup = |i: usize| Lookup::new(ARTIST_SQL, format!("Artist {i}"));
        for i in 0..REMEMBERED_SETS {
            columns.set_of(&conn, lookup(i)).expect("set");
        }
        assert_eq!(remembered(&columns).len(), REMEMBERED_SETS);
        // The artist set finds its track.
        let set = columns.set_of(&conn, lookup(1)).expect("set");
        assert_eq!(set.ones().collect::<Vec<_>>(), [0]);
        {
            // Build times vary: fix them. 0 was costly; 2 is pinned.
            let mut sets = columns.sets.lock_unpoisoned();
            for s in sets.iter_mut() {
                s.cost = Duration::ZERO;
            }
            sets[0].cost = EXPENSIVE_SET;
            let two = sets.iter_mut().find(|s| s.lookup == lookup(2));
            two.expect("remembered").pinned = true;
        }
        // 1 was used again above; 0 is costly and 2 pinned: 3 goes.
        columns.set_of(&conn, lookup(100)).expect("set");
        let now = remembered(&columns);
        assert_eq!(now.len(), REMEMBERED_SETS);
        assert!(!now.contains(&"Artist 3".to_owned()), "{now:?}");
        for kept in [0, 1, 2, 4] {
            assert!(now.contains(&format!("Artist {kept}")), "{kept}: {now:?}");
        }
        assert_eq!(now.last().map(String::as_str), Some("Artist 100"));
        // A hit moves the set to the most recently used end.
        columns.set_of(&conn, lookup(4)).expect("set");
        assert_eq!(
            remembered(&columns).last().map(String::as_str),
            Some("Artist 4")
        );
        // Only costly or pinned sets left to choose from: the least recently
        // used unpinned one goes, costly or not.
        for s in columns.sets.lock_unpoisoned().iter_mut() {
            s.cost = EXPENSIVE_SET;
        }
        columns.set_of(&conn, lookup(101)).expect("set");
        let now = remembered(&columns);
        assert!(!now.contains(&"Artist 0".to_owned()), "{now:?}");
        assert!(
            now.contains(&"Artist 2".to_owned()),
            "pinned stays: {now:?}"
        );
        // Forgetting keeps only the pinned sets.
        store
            .columns
            .current
            .lock_unpoisoned()
            .replace(Arc::new(columns));
        store.columns.forget_sets();
        let current = store
            .columns
            .current
            .lock_unpoisoned()
            .clone()
            .expect("current");
        assert_eq!(remembered(&current), ["Artist 2"]);
    }
}
