//! Delta filters on listings, as Plex reads them: a query parameter whose
//! NAME is a time field and an operator (`updatedAt>` or `updatedAt<`, so
//! the wire shows `updatedAt>=1700000000`) keeps the items whose field is
//! strictly greater (or less) than the value; an item without the field
//! never matches. Any other form (`updatedAt>==…`, `updatedAt>>=…`, a value
//! that is not a whole number) is ignored without a word, as Plex does.

use crate::catalog::{Catalog, ListKind};

/// A time field a delta filter can compare.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum DeltaField {
    Updated,
    Added,
    LastViewed,
    LastRated,
}

/// One filter: `field > value` or `field < value`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Delta {
    pub field: DeltaField,
    pub greater: bool,
    pub value: i64,
}

impl Delta {
    /// The filters among decoded query parameters; other forms are skipped.
    pub fn parse_all(query: &[(String, String)]) -> Vec<Delta> {
        query
            .iter()
            .filter_map(|(name, value)| Delta::parse(name, value))
            .collect()
    }

    fn parse(name: &str, value: &str) -> Option<Delta> {
        let (field, greater) = match name.strip_suffix('>') {
            Some(field) => (field, true),
            None => (name.strip_suffix('<')?, false),
        };
        let field = match field {
            "updatedAt" => DeltaField::Updated,
            "addedAt" => DeltaField::Added,
            "lastViewedAt" => DeltaField::LastViewed,
            "lastRatedAt" => DeltaField::LastRated,
            _ => return None,
        };
        let value = value.parse::<i64>().ok()?;
        Some(Delta {
            field,
            greater,
            value,
        })
    }

    fn keeps(&self, field: Option<i64>) -> bool {
        match field {
            Some(time) if self.greater => time > self.value,
            Some(time) => time < self.value,
            None => false,
        }
    }
}

/// The positions of `order` whose items pass every filter.
pub(crate) fn filter(
    catalog: &Catalog,
    kind: ListKind,
    order: &[usize],
    deltas: &[Delta],
) -> Vec<usize> {
    order
        .iter()
        .copied()
        .filter(|&i| {
            deltas
                .iter()
                .all(|delta| delta.keeps(field_of(catalog, kind, i, delta.field)))
        })
        .collect()
}

fn field_of(catalog: &Catalog, kind: ListKind, position: usize, field: DeltaField) -> Option<i64> {
    match kind {
        ListKind::Tracks => {
            let track = catalog.track(position);
            match field {
                DeltaField::Updated => Some(track.updated_at),
                DeltaField::Added => Some(track.added_at),
                DeltaField::LastViewed => track.last_viewed_at,
                DeltaField::LastRated => track.last_rated_at,
            }
        }
        ListKind::Albums => {
            let album = catalog.album_at(position);
            match field {
                DeltaField::Updated => Some(album.updated_at),
                DeltaField::Added => Some(album.added_at),
                DeltaField::LastViewed | DeltaField::LastRated => None,
            }
        }
        ListKind::Artists => {
            let artist = catalog.artist_at(position);
            match field {
                DeltaField::Updated => Some(artist.updated_at),
                DeltaField::Added => Some(artist.added_at),
                DeltaField::LastViewed | DeltaField::LastRated => None,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parsed(name: &str, value: &str) -> Option<Delta> {
        Delta::parse(name, value)
    }

    #[test]
    fn the_operator_is_part_of_the_name() {
        let delta = parsed("updatedAt>", "100").expect("a filter");
        assert_eq!(delta.field, DeltaField::Updated);
        assert!(delta.greater);
        assert_eq!(delta.value, 100);
        assert!(!parsed("lastRatedAt<", "5").expect("a filter").greater);
    }

    #[test]
    fn wrong_forms_are_ignored() {
        // Wire `updatedAt>==100`: the name is `updatedAt>`, the value `=100`.
        assert_eq!(parsed("updatedAt>", "=100"), None);
        assert_eq!(parsed("updatedAt>=", "100"), None);
        assert_eq!(parsed("updatedAt>>", "100"), None);
        assert_eq!(parsed("updatedAt>>=", "100"), None);
        assert_eq!(parsed("updatedAt", "100"), None);
        assert_eq!(parsed("title>", "100"), None);
        assert_eq!(parsed("updatedAt>", "soon"), None);
    }

    #[test]
    fn comparisons_are_strict_and_a_missing_field_never_matches() {
        let after = parsed("updatedAt>", "100").expect("a filter");
        assert!(!after.keeps(Some(100)));
        assert!(after.keeps(Some(101)));
        assert!(!after.keeps(None));
        let before = parsed("updatedAt<", "100").expect("a filter");
        assert!(!before.keeps(Some(100)));
        assert!(before.keeps(Some(99)));
    }
}
