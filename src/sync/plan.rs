//! Pure decisions of the sync, kept apart from I/O so they are tested
//! without a network: how to split a listing into pages, and whether a pass
//! over the tracks saw the library whole.

use std::collections::{BTreeSet, HashSet};
use std::hash::{DefaultHasher, Hash, Hasher};

/// Page ranges `[start, end)` covering `total` items; one open-ended range
/// when the server did not say how many there are.
pub fn page_ranges(total: Option<u64>, page_size: u64) -> Vec<(u64, u64)> {
    let page_size = page_size.max(1);
    match total {
        Some(total) => (0..total.div_ceil(page_size))
            .map(|i| (i * page_size, (i + 1) * page_size))
            .collect(),
        None => vec![(0, u64::MAX)],
    }
}

/// Walks one page range, deciding after each answer whether to ask again:
/// servers may cap their page size (ask for the rest), and without a
/// `totalSize` the end is a page shorter than the server's usual page.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PageWalk {
    pub offset: u64,
    end: u64,
    page_size: u64,
    /// The largest page the server has answered so far.
    largest: u64,
}

impl PageWalk {
    pub fn new((start, end): (u64, u64), page_size: u64) -> Self {
        Self {
            offset: start,
            end,
            page_size: page_size.max(1),
            largest: 0,
        }
    }

    /// How many items to ask for next, or `None` when the range is done.
    pub fn want(&self) -> Option<u64> {
        (self.offset < self.end).then(|| (self.end - self.offset).min(self.page_size))
    }

    /// Takes an answer of `got` items (of `wanted`) with the server's
    /// `total`; returns whether to ask again.
    pub fn advance(&mut self, wanted: u64, got: u64, total: Option<u64>) -> bool {
        let usual = self.largest.max(got);
        let short = got < wanted.min(usual);
        self.largest = usual;
        self.offset += got;
        match total {
            Some(total) => got > 0 && self.offset < total && self.offset < self.end,
            None => got > 0 && !short && self.offset < self.end,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PassCheck {
    /// Every track was seen exactly once: commit.
    Complete,
    /// The server lists some tracks twice, the same ones pass after pass,
    /// and nothing else is amiss: commit, keeping one of each.
    Duplicated,
    /// The library changed under us: read the tracks again.
    Changed,
}

/// The rating keys one pass over the tracks received, to tell a server that
/// lists a track twice from a library that changed under the pass.
#[derive(Debug, Default)]
pub struct PassKeys {
    /// Hashes, not keys: a few bytes a track whatever the key's length.
    seen: HashSet<u64>,
    /// Keys received more than once.
    pub duplicates: BTreeSet<String>,
    /// Answers that repeated a key already received.
    pub repeats: u64,
}

impl PassKeys {
    pub fn add(&mut self, key: &str) {
        let mut hasher = DefaultHasher::new();
        key.hash(&mut hasher);
        if !self.seen.insert(hasher.finish()) {
            self.repeats += 1;
            self.duplicates.insert(key.to_owned());
        }
    }
}

/// What one pass saw, for [`check_pass`].
#[derive(Debug, Clone, Copy)]
pub struct PassFigures<'a> {
    /// Some page reported a different `totalSize` than the first count, or
    /// the count after paging differs.
    pub totals_moved: bool,
    /// The final total over all sections, when known.
    pub expected: Option<u64>,
    /// Distinct tracks taken.
    pub distinct: u64,
    pub keys: &'a PassKeys,
    /// The keys the previous pass received twice, if there was one.
    pub previous_duplicates: Option<&'a BTreeSet<String>>,
}

/// Whether a pass saw the library whole. Repeated keys alone are no proof
/// of a faulty server (a track moving between pages is seen twice too), so
/// they are accepted only when two passes in a row repeat the same keys and
/// the repeats account exactly for the missing count.
pub fn check_pass(pass: &PassFigures<'_>) -> PassCheck {
    let Some(expected) = pass.expected else {
        // Without totals there is nothing to compare against.
        return match pass.totals_moved {
            true => PassCheck::Changed,
            false => PassCheck::Complete,
        };
    };
    let keys = pass.keys;
    let same_repeats =
        !keys.duplicates.is_empty() && pass.previous_duplicates == Some(&keys.duplicates);
    match () {
        _ if pass.totals_moved => PassCheck::Changed,
        _ if expected == pass.distinct => PassCheck::Complete,
        _ if same_repeats && pass.distinct + keys.repeats == expected => PassCheck::Duplicated,
        _ => PassCheck::Changed,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pages_cover_the_total_exactly() {
        assert_eq!(page_ranges(Some(0), 10), vec![]);
        assert_eq!(page_ranges(Some(25), 10), vec![(0, 10), (10, 20), (20, 30)]);
        assert_eq!(page_ranges(Some(20), 10).len(), 2);
        assert_eq!(page_ranges(None, 10), vec![(0, u64::MAX)]);
        assert_eq!(page_ranges(Some(3), 0).len(), 3);
    }

    #[test]
    fn a_walk_asks_for_the_rest_of_capped_pages_and_stops_at_the_end() {
        // A server capping pages at 100, with a total.
        let mut walk = PageWalk::new((0, 1000), 1000);
        assert_eq!(walk.want(), Some(1000));
        assert!(walk.advance(1000, 100, Some(250)));
        assert_eq!(walk.want(), Some(900));
        assert!(walk.advance(900, 100, Some(250)));
        assert!(!walk.advance(900, 50, Some(250)), "the total is reached");
        // Without totals: a page shorter than the server's usual one ends it,
        // even if the library keeps growing at the end.
        let mut walk = PageWalk::new((0, u64::MAX), 1000);
        assert!(walk.advance(1000, 100, None));
        assert!(walk.advance(1000, 100, None));
        assert!(!walk.advance(1000, 74, None));
        let mut walk = PageWalk::new((0, u64::MAX), 1000);
        assert!(!walk.advance(1000, 0, None), "an empty page ends it");
        // A range ends at its end.
        let mut walk = PageWalk::new((0, 10), 10);
        assert!(!walk.advance(10, 10, None));
        assert_eq!(walk.want(), None);
    }

    fn check(totals_moved: bool, expected: Option<u64>, distinct: u64) -> PassCheck {
        let keys = PassKeys::default();
        check_pass(&PassFigures {
            totals_moved,
            expected,
            distinct,
            keys: &keys,
            previous_duplicates: None,
        })
    }

    #[test]
    fn a_pass_is_complete_only_when_nothing_moved() {
        assert_eq!(check(false, Some(100), 100), PassCheck::Complete);
        assert_eq!(check(true, Some(100), 100), PassCheck::Changed);
        assert_eq!(check(false, Some(100), 99), PassCheck::Changed);
        assert_eq!(check(false, Some(100), 101), PassCheck::Changed);
        // Without totals there is nothing to compare against.
        assert_eq!(check(false, None, 42), PassCheck::Complete);
    }

    #[test]
    fn keys_repeated_by_two_passes_alike_are_a_duplicating_server() {
        let mut keys = PassKeys::default();
        for key in ["1", "2", "2", "3", "3", "3"] {
            keys.add(key);
        }
        assert_eq!(keys.repeats, 3);
        let previous: BTreeSet<String> = ["2".to_owned(), "3".to_owned()].into();
        let figures = |previous_duplicates, distinct| PassFigures {
            totals_moved: false,
            expected: Some(6),
            distinct,
            keys: &keys,
            previous_duplicates,
        };
        assert_eq!(check_pass(&figures(None, 3)), PassCheck::Changed);
        assert_eq!(
            check_pass(&figures(Some(&previous), 3)),
            PassCheck::Duplicated
        );
        // Repeats that do not account for the whole gap: something moved.
        assert_eq!(check_pass(&figures(Some(&previous), 2)), PassCheck::Changed);
        let other: BTreeSet<String> = ["2".to_owned()].into();
        assert_eq!(check_pass(&figures(Some(&other), 3)), PassCheck::Changed);
    }
}
