//! Pure decisions of the sync, kept apart from I/O so they are tested
//! without a network: how to split a listing into pages, and whether a pass
//! over the tracks saw the library whole.

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

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PassCheck {
    /// Every track was seen exactly once: commit.
    Complete,
    /// The library changed under us: read the tracks again.
    Changed,
}

/// `totals_moved`: some page reported a different `totalSize` than the
/// first count, or the count after paging differs. `expected`: the final
/// total over all sections, when known. `distinct`: distinct tracks taken.
pub fn check_pass(totals_moved: bool, expected: Option<u64>, distinct: u64) -> PassCheck {
    match expected {
        _ if totals_moved => PassCheck::Changed,
        Some(expected) if expected != distinct => PassCheck::Changed,
        _ => PassCheck::Complete,
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
    fn a_pass_is_complete_only_when_nothing_moved() {
        assert_eq!(check_pass(false, Some(100), 100), PassCheck::Complete);
        assert_eq!(check_pass(true, Some(100), 100), PassCheck::Changed);
        assert_eq!(check_pass(false, Some(100), 99), PassCheck::Changed);
        assert_eq!(check_pass(false, Some(100), 101), PassCheck::Changed);
        // Without totals there is nothing to compare against.
        assert_eq!(check_pass(false, None, 42), PassCheck::Complete);
    }
}
