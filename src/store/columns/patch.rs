//! The next version's copy made from the current one after a patch: the
//! changed and new tracks read from SQLite, every other track copied, the
//! sort orders in use and the common words' sets carried over rather than
//! built again.
//!
//! Ordinals are rowid ranks, so they shift: `remap` takes an old ordinal to
//! its new one. A kept track keeps its place relative to the other kept
//! ones in every order (its values did not change), so an order is the kept
//! ordinals, remapped, with the patched tracks merged in where SQLite's own
//! ORDER BY puts them: sorted among themselves by one query, each placed by
//! a binary search whose comparisons are the same ORDER BY over two rows.

use rusqlite::{Connection, params};

use super::{
    Arc, Columns, ColumnsCache, FixedBitSet, Lookup, MutexExt, Order, PATCHED_COLUMNS_SQL,
    RememberedSet, StoreError,
};
use crate::model::SortField;
use crate::store::sql::{
    PATCHED_FTS_CREATE, PATCHED_FTS_DROP, PATCHED_GENRE_IDS_SQL, PATCHED_TEXT_SQL, TEXT_SQL,
    first_of_two_sql, patched_order_sql,
};

/// A patch touching more than one track in this many rebuilds its sort
/// orders with SQL: placing a track takes about 17 two-row comparisons of
/// ~10 µs at 100k tracks, sorting the whole library ~1 µs per track, so
/// beyond about 0.5% placing costs more.
const LARGE_SHARE: usize = 200;

/// Up to this many patched tracks are always placed (a few ms whatever
/// the library's size).
const PLACED_ALWAYS: usize = 128;

/// Marks an old ordinal whose track was patched (or removed).
const GONE: u32 = u32::MAX;

impl ColumnsCache {
    /// The copy of `version`, patched from the current copy when that is
    /// `from_version` (`touched`: the rowids changed, added or removed,
    /// sorted; also in `temp.patched_ids`). Otherwise as `prepare` makes
    /// it: `None` when nobody will query it before the next load.
    pub fn patch(
        &self,
        conn: &Connection,
        from_version: i64,
        version: i64,
        touched: &[i64],
    ) -> Result<Option<Arc<Columns>>, StoreError> {
        let current = self.current.lock_unpoisoned().clone();
        match current {
            Some(current) if current.version == from_version => {
                Ok(Some(Arc::new(current.patched(conn, version, touched)?)))
            }
            _ => self.prepare(conn, version),
        }
    }
}

impl Columns {
    fn patched(
        &self,
        conn: &Connection,
        version: i64,
        touched: &[i64],
    ) -> Result<Columns, StoreError> {
        let fresh = Columns::fresh(conn, touched.len())?;
        let dropped = touched.iter().filter(|&&id| self.ordinal(id).is_some());
        let n = self.len() - dropped.count() + fresh.len();
        let mut new = Columns::empty(version, n);
        let remap = new.merge(self, &fresh, touched);
        let large = fresh.len() > (n / LARGE_SHARE).max(PLACED_ALWAYS);
        let started = std::time::Instant::now();
        for field in self.orders_in_use() {
            match self.orders[field as usize].get() {
                Some(old) if !large => {
                    let order = new.patched_order(conn, field, old, &remap)?;
                    let _ = new.orders[field as usize].set(order);
                }
                _ => {
                    new.order(conn, field)?;
                }
            }
        }
        let orders_ms = started.elapsed().as_secs_f64() * 1000.0;
        new.carry_sets(conn, self, &remap)?;
        tracing::debug!(
            orders_ms,
            all_ms = started.elapsed().as_secs_f64() * 1000.0,
            large,
            "sort orders and word sets patched"
        );
        Ok(new)
    }

    /// The patched tracks still cached (at most `touched`), read from
    /// SQLite in rowid order.
    fn fresh(conn: &Connection, touched: usize) -> Result<Columns, StoreError> {
        let mut fresh = Columns::empty(0, touched);
        fresh.load_tracks(conn, touched, PATCHED_COLUMNS_SQL)?;
        fresh.load_genres(conn, PATCHED_GENRE_IDS_SQL)?;
        Ok(fresh)
    }

    /// Fills this empty copy with `old`'s tracks but the `touched` ones,
    /// and `fresh`'s, in rowid order. Returns each old ordinal's new one
    /// (`GONE` for touched tracks).
    fn merge(&mut self, old: &Columns, fresh: &Columns, touched: &[i64]) -> Vec<u32> {
        let mut remap = vec![GONE; old.len()];
        self.genre_start.push(0);
        let (mut i, mut j, mut t) = (0, 0, 0);
        while i < old.len() || j < fresh.len() {
            if i < old.len() {
                let id = old.ids[i];
                while t < touched.len() && touched[t] < id {
                    t += 1;
                }
                if touched.get(t) == Some(&id) {
                    i += 1;
                    continue;
                }
            }
            let take_old = j == fresh.len() || (i < old.len() && old.ids[i] < fresh.ids[j]);
            let at = self.len() as u32;
            if take_old {
                remap[i] = at;
                self.push_from(old, i);
                i += 1;
            } else {
                self.push_from(fresh, j);
                j += 1;
            }
        }
        remap
    }

    /// Appends track `i` of `src`.
    fn push_from(&mut self, src: &Columns, i: usize) {
        let at = self.ids.len();
        self.ids.push(src.ids[i]);
        self.live.set(at, src.live.contains(i));
        self.played.set(at, src.played.contains(i));
        self.year.push(src.year[i]);
        self.rating.push(src.rating[i]);
        self.added_at.push(src.added_at[i]);
        let (start, end) = (src.genre_start[i] as usize, src.genre_start[i + 1] as usize);
        self.genre_ids.extend_from_slice(&src.genre_ids[start..end]);
        self.genre_start.push(self.genre_ids.len() as u32);
    }

    /// `old` with the patched tracks placed where SQLite sorts them.
    fn patched_order(
        &self,
        conn: &Connection,
        field: SortField,
        old: &Order,
        remap: &[u32],
    ) -> Result<Order, StoreError> {
        let mut kept = Vec::with_capacity(self.len());
        let mut kept_present = 0;
        for (at, &ordinal) in old.ordinals.iter().enumerate() {
            let now = remap[ordinal as usize];
            if now != GONE {
                kept.push(now);
                kept_present += usize::from(at < old.present);
            }
        }
        let mut added: Vec<(u32, bool)> = Vec::new();
        let mut stmt = conn.prepare_cached(&patched_order_sql(field))?;
        let mut rows = stmt.query([])?;
        while let Some(r) = rows.next()? {
            if let Some(ordinal) = self.ordinal(r.get(0)?) {
                added.push((ordinal, r.get(1)?));
            }
        }
        let mut first = conn.prepare_cached(&first_of_two_sql(field))?;
        let mut ordinals = Vec::with_capacity(kept.len() + added.len());
        let mut from = 0;
        for &(ordinal, _) in &added {
            // The first kept track that sorts after this one; the patched
            // tracks come sorted, so each search starts at the last place.
            let id = self.ids[ordinal as usize];
            let (mut low, mut high) = (from, kept.len());
            while low < high {
                let mid = low + (high - low) / 2;
                let other = self.ids[kept[mid] as usize];
                let first_id: i64 = first.query_row(params![id, other], |r| r.get(0))?;
                if first_id == other {
                    low = mid + 1;
                } else {
                    high = mid;
                }
            }
            ordinals.extend_from_slice(&kept[from..low]);
            ordinals.push(ordinal);
            from = low;
        }
        ordinals.extend_from_slice(&kept[from..]);
        let present = kept_present + added.iter().filter(|(_, missing)| !missing).count();
        Ok(Order { ordinals, present })
    }

    /// Carries the common words' sets over (the others are dropped: they
    /// are rebuilt when searched again): remapped, with the patched tracks
    /// checked against the word in an index of their own.
    fn carry_sets(
        &self,
        conn: &Connection,
        old: &Columns,
        remap: &[u32],
    ) -> Result<(), StoreError> {
        let pinned: Vec<(Lookup, Arc<FixedBitSet>, std::time::Duration)> = old
            .sets
            .lock_unpoisoned()
            .iter()
            .filter(|s| s.pinned && s.lookup.sql == TEXT_SQL)
            .map(|s| (s.lookup.clone(), Arc::clone(&s.set), s.cost))
            .collect();
        if pinned.is_empty() {
            return Ok(());
        }
        conn.execute_batch(PATCHED_FTS_CREATE)?;
        let carried = self.carry_pinned(conn, pinned, remap);
        conn.execute_batch(PATCHED_FTS_DROP)?;
        carried
    }

    fn carry_pinned(
        &self,
        conn: &Connection,
        pinned: Vec<(Lookup, Arc<FixedBitSet>, std::time::Duration)>,
        remap: &[u32],
    ) -> Result<(), StoreError> {
        let mut stmt = conn.prepare_cached(PATCHED_TEXT_SQL)?;
        for (lookup, old_set, cost) in pinned {
            let mut set = FixedBitSet::with_capacity(self.len());
            for i in old_set.ones() {
                let now = remap[i];
                if now != GONE {
                    set.insert(now as usize);
                }
            }
            let mut rows = stmt.query([&lookup.param])?;
            while let Some(r) = rows.next()? {
                if let Some(at) = self.ordinal(r.get(0)?) {
                    set.insert(at as usize);
                }
            }
            self.sets.lock_unpoisoned().push_back(RememberedSet {
                lookup,
                set: Arc::new(set),
                cost,
                pinned: true,
            });
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::Store;

    #[test]
    fn placing_a_track_reads_two_rows_not_a_whole_index() {
        let dir = tempfile::tempdir().expect("temporary directory");
        let (store, _) = Store::open(&dir.path().join("cache.db")).expect("open");
        let conn = store.writer().expect("writer");
        conn.execute_batch(crate::store::sql::PATCHED_IDS_CREATE)
            .expect("temp table");
        for field in SortField::ALL {
            for sql in [first_of_two_sql(field), patched_order_sql(field)] {
                let mut stmt = conn
                    .prepare(&format!("EXPLAIN QUERY PLAN {sql}"))
                    .expect("plan");
                let plan: Vec<String> = stmt
                    .query_map(
                        rusqlite::params_from_iter([1, 2].into_iter().take(stmt.parameter_count())),
                        |r| r.get(3),
                    )
                    .expect("query")
                    .collect::<Result<_, _>>()
                    .expect("rows");
                assert!(
                    plan.iter()
                        .any(|line| line.contains("SEARCH t USING INTEGER PRIMARY KEY")),
                    "{field:?}: {plan:?}"
                );
                assert!(
                    !plan.iter().any(|line| line.starts_with("SCAN t")),
                    "{field:?}: {plan:?}"
                );
            }
        }
    }
}
