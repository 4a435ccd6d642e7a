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
    PATCHED_GENRE_IDS_SQL, TEXT_ROW_SQL, TEXT_SQL, first_of_two_sql, patched_order_sql,
};

/// A patch touching more than one track in this many rebuilds its sort
/// orders and word sets with SQL: cheaper than placing every track.
const LARGE_SHARE: usize = 20;

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
        let (remap, fresh_at) = new.merge(self, &fresh, touched);
        let large = fresh.len() * LARGE_SHARE > n;
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
        new.carry_sets(conn, self, &remap, &fresh_at, large)?;
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
    /// (`GONE` for touched tracks) and each fresh track's new ordinal.
    fn merge(&mut self, old: &Columns, fresh: &Columns, touched: &[i64]) -> (Vec<u32>, Vec<u32>) {
        let mut remap = vec![GONE; old.len()];
        let mut fresh_at = Vec::with_capacity(fresh.len());
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
                fresh_at.push(at);
                self.push_from(fresh, j);
                j += 1;
            }
        }
        (remap, fresh_at)
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
    /// are rebuilt when searched again): remapped, with each patched track
    /// checked against the word; rebuilt whole after a large patch.
    fn carry_sets(
        &self,
        conn: &Connection,
        old: &Columns,
        remap: &[u32],
        fresh_at: &[u32],
        large: bool,
    ) -> Result<(), StoreError> {
        let pinned: Vec<(Lookup, Arc<FixedBitSet>, std::time::Duration)> = old
            .sets
            .lock_unpoisoned()
            .iter()
            .filter(|s| s.pinned && s.lookup.sql == TEXT_SQL)
            .map(|s| (s.lookup.clone(), Arc::clone(&s.set), s.cost))
            .collect();
        let mut check = conn.prepare_cached(TEXT_ROW_SQL)?;
        for (lookup, old_set, cost) in pinned {
            if large {
                self.set_of(conn, lookup.clone())?;
                if let Some(entry) = self
                    .sets
                    .lock_unpoisoned()
                    .iter_mut()
                    .find(|s| s.lookup == lookup)
                {
                    entry.pinned = true;
                }
                continue;
            }
            let mut set = FixedBitSet::with_capacity(self.len());
            for i in old_set.ones() {
                let now = remap[i];
                if now != GONE {
                    set.insert(now as usize);
                }
            }
            for &at in fresh_at {
                let id = self.ids[at as usize];
                if check.exists(params![lookup.param, id])? {
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
