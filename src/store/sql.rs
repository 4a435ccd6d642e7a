//! The statements the queries and the filter columns run, in one place so
//! `Store::query_plans` can show each one's plan. Sort orders become SQL
//! here (fixed text, no user input), and the text filter's words FTS5
//! terms (quoted, so no word is FTS syntax). The one exception, the filterable
//! fields `columns` copies, stays beside the code that reads them by
//! position.

use crate::clock::SHOWN_TIMES;
use crate::model::{Filter, Sort, SortField};

/// The library version a snapshot reads.
pub(super) const VERSION_SQL: &str = "SELECT library_version FROM sync_state WHERE id = 1";

/// Tracks whose title, artist or album has every word of an FTS5 query.
pub(super) const TEXT_SQL: &str = "SELECT rowid FROM tracks_fts WHERE tracks_fts MATCH ?1";

/// Tracks whose title, artist or album contains a literal text (a LIKE
/// pattern with `\` escaping; case-insensitive for ASCII, and the literal
/// terms have no letters anyway). A scan: a few ms at 100k tracks, and
/// remembered like the words' sets.
pub(super) const LITERAL_SQL: &str = "SELECT id FROM tracks
     WHERE title LIKE ?1 ESCAPE '\\' OR artist LIKE ?1 ESCAPE '\\' OR album LIKE ?1 ESCAPE '\\'";

/// Tracks by or on an album of an artist: a union of two index searches (a
/// plain OR may be planned as a scan).
pub(super) const ARTIST_SQL: &str = "SELECT id FROM tracks WHERE artist = ?1 COLLATE NOCASE
     UNION SELECT id FROM tracks WHERE album_artist = ?1 COLLATE NOCASE";

/// A genre some track has (a genre only albums or artists list is kept
/// for inheritance, but a filter does not know it).
pub(super) const GENRE_SQL: &str = "SELECT g.id FROM genres g WHERE g.name = ?1
     AND EXISTS (SELECT 1 FROM stats_cache s WHERE s.kind = 'genre' AND s.name = g.name)";

/// The most common words of the text index, most common first.
pub(super) const COMMON_WORDS_SQL: &str =
    "SELECT term FROM tracks_fts_words WHERE doc >= ?1 ORDER BY doc DESC LIMIT ?2";

/// Every track's genres; the primary key orders them by track.
pub(super) const TRACK_GENRE_IDS_SQL: &str = "SELECT track_id, genre_id FROM track_genres";

pub(super) const TRACK_COUNT_SQL: &str = "SELECT count(*) FROM tracks";

/// The library's size as the last sync recorded it.
pub(super) const SYNCED_TRACK_COUNT_SQL: &str = "SELECT track_count FROM sync_state WHERE id = 1";

pub(super) const GENRE_STATS_SQL: &str = "SELECT name, count FROM stats_cache WHERE kind = 'genre' ORDER BY count DESC, name COLLATE NOCASE";

pub(super) const DECADE_STATS_SQL: &str =
    "SELECT name, count FROM stats_cache WHERE kind = 'decade' ORDER BY name";

pub(super) const KNOWN_KEY_SQL: &str = "SELECT 1 FROM tracks WHERE rating_key = ?1";

/// The columns `query::track_row` reads, in its order.
const TRACK_COLUMNS: &str =
    "t.rating_key, t.title, t.artist, t.album_artist, t.album, t.album_key, t.artist_key,
    t.disc, t.track, t.duration_ms, t.year, t.id, t.rating, t.play_count, t.last_played_at,
    t.added_at, t.updated_at, t.is_live, t.section";

/// The rows of `n` tracks by rowid.
pub(super) fn rows_sql(n: usize) -> String {
    let marks = vec!["?"; n].join(",");
    format!("SELECT {TRACK_COLUMNS} FROM tracks t WHERE t.id IN ({marks})")
}

/// The genres of `n` tracks, in Plex's order.
pub(super) fn genres_sql(n: usize) -> String {
    let marks = vec!["?"; n].join(",");
    format!(
        "SELECT tg.track_id, g.name FROM track_genres tg JOIN genres g ON g.id = tg.genre_id
         WHERE tg.track_id IN ({marks}) ORDER BY tg.track_id, tg.position, g.name COLLATE NOCASE"
    )
}

/// The rowids a patch changed, added or removed, for the statements below
/// (a temporary table of the patch's own connection).
pub(super) const PATCHED_IDS_CREATE: &str = "CREATE TEMP TABLE IF NOT EXISTS patched_ids (id INTEGER PRIMARY KEY); DELETE FROM temp.patched_ids;";
pub(super) const PATCHED_IDS_INSERT: &str = "INSERT INTO temp.patched_ids (id) VALUES (?1)";
pub(super) const PATCHED_IDS_DROP: &str = "DROP TABLE IF EXISTS temp.patched_ids";

/// The genres of the patched tracks, by track.
pub(super) const PATCHED_GENRE_IDS_SQL: &str = "SELECT track_id, genre_id FROM track_genres
     WHERE track_id IN (SELECT id FROM temp.patched_ids) ORDER BY track_id, genre_id";

/// A text index of the patched tracks alone, made as `tracks_fts` is, so a
/// word matches them exactly as it does there: asking the big index about
/// a few rows costs as much as asking it about all of them.
pub(super) const PATCHED_FTS_CREATE: &str = "CREATE VIRTUAL TABLE IF NOT EXISTS temp.patched_fts
     USING fts5(title, artist, album, tokenize = 'unicode61 remove_diacritics 2',
         detail = none, prefix = '1 2 3');
     DELETE FROM temp.patched_fts;
     INSERT INTO temp.patched_fts (rowid, title, artist, album)
         SELECT id, title, artist, album FROM tracks WHERE id IN (SELECT id FROM temp.patched_ids);";
pub(super) const PATCHED_FTS_DROP: &str = "DROP TABLE IF EXISTS temp.patched_fts";

/// The patched tracks that have every word of an FTS5 query.
pub(super) const PATCHED_TEXT_SQL: &str =
    "SELECT rowid FROM temp.patched_fts WHERE patched_fts MATCH ?1";

/// The patched tracks still cached, in the ascending order of `field`,
/// and whether each lacks the field. `NOT INDEXED`: found by rowid, then
/// sorted (an index in sort order would be walked whole for a few rows).
pub(super) fn patched_order_sql(field: SortField) -> String {
    let sort = Sort {
        field,
        descending: false,
    };
    format!(
        "SELECT t.id, {} FROM tracks t NOT INDEXED WHERE t.id IN (SELECT id FROM temp.patched_ids) ORDER BY {}",
        missing_sql(field),
        order_by(sort)
    )
}

/// Which of two rowids comes first in the ascending order of `field` (by
/// rowid, as above).
pub(super) fn first_of_two_sql(field: SortField) -> String {
    let sort = Sort {
        field,
        descending: false,
    };
    format!(
        "SELECT t.id FROM tracks t NOT INDEXED WHERE t.id IN (?1, ?2) ORDER BY {} LIMIT 1",
        order_by(sort)
    )
}

/// Every rowid in the ascending order of `field`, and whether the track
/// lacks the field.
pub(super) fn order_sql(field: SortField) -> String {
    let sort = Sort {
        field,
        descending: false,
    };
    format!(
        "SELECT t.id, {} FROM tracks t ORDER BY {}",
        missing_sql(field),
        order_by(sort)
    )
}

/// ORDER BY clause over `tracks t`; ties broken so pages never overlap.
/// Tracks missing the field (see `missing_sql`) come last in both
/// directions.
pub fn order_by(sort: Sort) -> String {
    let dir = if sort.descending { "DESC" } else { "ASC" };
    let keys = match sort.field {
        SortField::Artist => format!(
            "t.artist COLLATE NOCASE {dir}, t.album COLLATE NOCASE {dir}, t.disc {dir}, t.track {dir}"
        ),
        SortField::Title => format!("t.title COLLATE NOCASE {dir}"),
        SortField::Album => {
            format!("t.album COLLATE NOCASE {dir}, t.disc {dir}, t.track {dir}")
        }
        SortField::Plays => format!("t.play_count {dir}"),
        SortField::Year
        | SortField::Rating
        | SortField::Duration
        | SortField::Added
        | SortField::LastPlayed => {
            format!("{} {dir} NULLS LAST", nullable_sql(sort.field))
        }
    };
    format!("{keys}, t.id {dir}")
}

/// The sorted value as SQL over `tracks t`, NULL when the track lacks
/// it: a missing year, rating, duration or date, or a date outside
/// `SHOWN_TIMES`. Text fields are never missing (the sync stores
/// "Unknown Artist" and the like), nor is the play count (0 is a
/// count): for them this is the constant 1, never NULL.
fn nullable_sql(field: SortField) -> String {
    let (first, last) = (SHOWN_TIMES.start(), SHOWN_TIMES.end());
    let time =
        |column: &str| format!("(CASE WHEN {column} BETWEEN {first} AND {last} THEN {column} END)");
    match field {
        SortField::Year => "t.year".to_owned(),
        SortField::Rating => "t.rating".to_owned(),
        SortField::Duration => "t.duration_ms".to_owned(),
        SortField::Added => time("t.added_at"),
        SortField::LastPlayed => time("t.last_played_at"),
        SortField::Artist | SortField::Title | SortField::Album | SortField::Plays => {
            "1".to_owned()
        }
    }
}

/// SQL over `tracks t` that is 1 when the track lacks `field`.
fn missing_sql(field: SortField) -> String {
    format!("({} IS NULL)", nullable_sql(field))
}

/// A word as an FTS5 prefix term: quoted, so no word is FTS syntax.
pub(super) fn prefix_term(word: &str) -> String {
    format!("\"{word}\"*")
}

/// The text filter's words as FTS5 terms, all required.
pub(super) fn search_terms(filter: &Filter) -> Vec<String> {
    filter
        .search_words()
        .iter()
        .map(|w| prefix_term(w))
        .collect()
}

/// The whole FTS5 query for the text filter, `None` without terms.
pub fn fts_query(filter: &Filter) -> Option<String> {
    let terms = search_terms(filter);
    (!terms.is_empty()).then(|| terms.join(" "))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn search_text_cannot_inject_fts_syntax() {
        let f =
            Filter::from_pairs([("q", "\"a\" OR b* NEAR(c) '; DROP TABLE tracks; --")]).unwrap();
        assert_eq!(
            fts_query(&f).as_deref(),
            Some("\"a\"* \"or\"* \"b\"* \"near\"* \"c\"* \"drop\"* \"table\"* \"tracks\"*")
        );
        let f = Filter::from_pairs([("q", "!!!")]).unwrap();
        assert_eq!(fts_query(&f), None);
        let f = Filter::from_pairs([("q", "beyonce halo")]).unwrap();
        assert_eq!(fts_query(&f).as_deref(), Some("\"beyonce\"* \"halo\"*"));
    }

    #[test]
    fn search_terms_drop_repeats_and_covered_prefixes() {
        let terms = |q: &str| search_terms(&Filter::from_pairs([("q", q)]).unwrap());
        assert_eq!(terms("The The"), ["\"the\"*"]);
        assert_eq!(terms("the them Beatles"), ["\"them\"*", "\"beatles\"*"]);
        assert_eq!(terms("Björk BJÖ"), ["\"björk\"*"]);
        assert_eq!(terms("a b"), ["\"a\"*", "\"b\"*"]);
    }
}
