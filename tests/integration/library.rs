//! The cache after a sync equals the emulator's library, and every filter
//! returns what a plain computation over that library returns.

use std::collections::BTreeSet;

use plexcache::model::{Filter, FilterError, Sort, SortField};
use plexcache::store::StoreError;
use plexcache_emulator::{Library, Mutation};

use crate::helpers::{Cache, Expected, assert_cache_matches, expected_library, spawn_plex};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sync_copies_the_library_field_by_field() {
    let plex = spawn_plex(20_000, 7).await;
    let cache = Cache::new(&plex);
    let report = cache.sync().await.unwrap();
    assert_eq!(report.passes, 1);
    assert_cache_matches(&cache, &plex.library());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deletions_edits_ratings_and_plays_reach_the_cache() {
    let plex = spawn_plex(2_000, 3).await;
    let cache = Cache::new(&plex);
    cache.sync().await.unwrap();
    let keys: Vec<u64> = plex
        .library()
        .tracks
        .iter()
        .take(5)
        .map(|t| t.rating_key)
        .collect();
    plex.mutate(Mutation::Remove {
        rating_keys: vec![keys[0], keys[1]],
    })
    .unwrap();
    plex.mutate(Mutation::Edit {
        rating_key: keys[2],
        title: Some("Renamed Song".into()),
        original_title: None,
    })
    .unwrap();
    plex.mutate(Mutation::Rate {
        rating_key: keys[3],
        rating: Some(7.5),
    })
    .unwrap();
    plex.mutate(Mutation::Play {
        rating_key: keys[4],
    })
    .unwrap();
    let added = plex.mutate(Mutation::Add { count: 3 }).unwrap();
    let report = cache.sync().await.unwrap();
    assert_eq!(report.committed.removed, 2);
    assert_eq!(report.committed.added, 3);
    assert_cache_matches(&cache, &plex.library());
    let all = cache.all_tracks();
    assert!(all.iter().any(|t| t.title == "Renamed Song"));
    assert!(
        added
            .iter()
            .all(|k| all.iter().any(|t| t.rating_key == k.to_string()))
    );
}

/// Reference filter over the expected rows (plus live flags from the cache,
/// which the live-detection unit test covers).
fn reference(rows: &[(Expected, bool, Option<i64>)], f: &Filter) -> BTreeSet<String> {
    rows.iter()
        .filter(|(e, live, added)| {
            (f.genres.is_empty()
                || f.genres
                    .iter()
                    .any(|g| e.genres.contains(&g.to_lowercase())))
                && (f.decades.is_empty()
                    || e.year
                        .is_some_and(|y| f.decades.iter().any(|d| y >= *d && y <= d + 9)))
                // A minimum of 0 is no filter (the spec: "0 means any
                // rating, as in the seed"); parsing leaves it unset.
                && f.min_rating
                    .is_none_or(|m| m == 0.0 || e.rating.is_some_and(|r| r >= m))
                && f.rated.is_none_or(|rated| e.rating.is_some() == rated)
                && (!f.exclude_live || !live)
                && f.artist.as_ref().is_none_or(|a| {
                    e.artist.to_lowercase() == a.to_lowercase()
                        || e.album_artist.to_lowercase() == a.to_lowercase()
                })
                && f.year_from.is_none_or(|y| e.year.is_some_and(|v| v >= y))
                && f.year_to.is_none_or(|y| e.year.is_some_and(|v| v <= y))
                && f.played.is_none_or(|p| (e.play_count > 0) == p)
                && f.added_since.is_none_or(|s| added.is_some_and(|a| a >= s))
        })
        .map(|(e, _, _)| e.rating_key.clone())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_filter_alone_and_combined_matches_a_reference_computation() {
    let plex = spawn_plex(5_000, 11).await;
    let cache = Cache::new(&plex);
    cache.sync().await.unwrap();
    let library: Library = plex.library();
    let cached = cache.all_tracks();
    let expected = expected_library(&library);
    let rows: Vec<(Expected, bool, Option<i64>)> = expected
        .into_iter()
        .zip(&cached)
        .map(|(e, c)| {
            let added = library
                .tracks
                .iter()
                .find(|t| t.rating_key.to_string() == e.rating_key)
                .map(|t| t.added_at);
            (e, c.is_live, added)
        })
        .collect();
    assert!(rows.iter().any(|r| r.1), "the library has live tracks");
    let stats = cache.store().stats().unwrap();
    let genre_a = stats.genres[0].name.clone();
    let genre_b = stats.genres[3].name.clone();
    let artist = rows[10].0.album_artist.clone();
    let mid_added = {
        let mut added: Vec<i64> = rows.iter().filter_map(|r| r.2).collect();
        added.sort();
        added[added.len() / 2]
    };
    let filters: Vec<Vec<(&str, String)>> = vec![
        vec![],
        vec![("exclude_live", "false".into())],
        vec![("genres", genre_a.clone())],
        vec![("genres", format!("{},{}", genre_a.to_uppercase(), genre_b))],
        vec![("decades", "1990s".into())],
        vec![("decades", "1970s,2010s".into())],
        vec![("min_rating", "6".into())],
        vec![("min_rating", "7.5".into())],
        vec![("min_rating", "0".into())],
        vec![("rated", "true".into())],
        vec![("rated", "false".into()), ("exclude_live", "false".into())],
        vec![("rated", "true".into()), ("min_rating", "0".into())],
        vec![("artist", artist.to_uppercase())],
        vec![("year_from", "1980".into()), ("year_to", "1999".into())],
        vec![("played", "true".into())],
        vec![("played", "false".into())],
        vec![("added_since", plexcache::clock::rfc3339(mid_added).unwrap())],
        vec![
            ("genres", genre_a.clone()),
            ("decades", "2000s,1990s".into()),
            ("min_rating", "4".into()),
        ],
        vec![
            ("genres", genre_b.clone()),
            ("played", "false".into()),
            ("exclude_live", "false".into()),
        ],
        vec![
            ("decades", "1960s".into()),
            ("year_from", "1965".into()),
            ("min_rating", "2".into()),
        ],
    ];
    for params in &filters {
        let filter = Filter::from_pairs(params.iter().map(|(k, v)| (*k, v.as_str()))).unwrap();
        let want = reference(&rows, &filter);
        let count = cache.store().count(&filter).unwrap();
        assert_eq!(count as usize, want.len(), "count for {params:?}");
        let got: BTreeSet<String> = cache
            .tracks_matching(&filter)
            .into_iter()
            .map(|t| t.rating_key)
            .collect();
        assert_eq!(got, want, "rows for {params:?}");
        let (total, sample) = cache.store().sample(&filter, 25).unwrap();
        assert_eq!(total as usize, want.len());
        assert_eq!(sample.len(), want.len().min(25));
        assert!(sample.iter().all(|t| want.contains(&t.rating_key)));
    }
}

/// The reference order of a sort field, written apart from the code: the
/// spec puts tracks missing a year, rating, duration or date last in both
/// directions (`x IS NULL` sorts 0 before 1), and breaks ties by rowid.
fn reference_order_by(field: SortField, dir: &str) -> String {
    let last = |column: &str| format!("{column} IS NULL, {column} {dir}");
    let keys = match field {
        SortField::Artist => format!(
            "t.artist COLLATE NOCASE {dir}, t.album COLLATE NOCASE {dir}, t.disc {dir}, t.track {dir}"
        ),
        SortField::Title => format!("t.title COLLATE NOCASE {dir}"),
        SortField::Album => format!("t.album COLLATE NOCASE {dir}, t.disc {dir}, t.track {dir}"),
        SortField::Year => last("t.year"),
        SortField::Rating => last("t.rating"),
        SortField::Duration => last("t.duration_ms"),
        SortField::Added => last("t.added_at"),
        SortField::Plays => format!("t.play_count {dir}"),
        SortField::LastPlayed => last("t.last_played_at"),
    };
    format!("{keys}, t.id {dir}")
}

/// Pages walked in an awkward size, in both directions, for every sort
/// field, with and without filters, list exactly the rows SQLite's
/// ORDER BY (the reference above) gives for the matching tracks: no row
/// lost, repeated or out of place, ties broken the same way, and missing
/// values last.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_sort_order_pages_like_sqlite_orders() {
    let plex = spawn_plex(3_000, 5).await;
    let cache = Cache::new(&plex);
    cache.sync().await.unwrap();
    let store = cache.store();
    let genre = store.stats().unwrap().genres[1].name.clone();
    let db = rusqlite::Connection::open(store.path()).unwrap();
    let filters: Vec<Vec<(&str, String)>> = vec![
        vec![],
        vec![("exclude_live", "false".into()), ("played", "false".into())],
        vec![("genres", genre), ("decades", "1990s,2000s".into())],
        vec![("min_rating", "4".into()), ("q", "a".into())],
    ];
    for params in &filters {
        let filter = Filter::from_pairs(params.iter().map(|(k, v)| (*k, v.as_str()))).unwrap();
        // The matching set, order aside (checked against a reference above).
        let matching: BTreeSet<String> = cache
            .tracks_matching(&filter)
            .into_iter()
            .map(|t| t.rating_key)
            .collect();
        assert!(
            matching.len() > 50,
            "{params:?} matches too few to test order"
        );
        for field in SortField::ALL {
            for order in ["asc", "desc"] {
                let sort = Sort::parse(Some(field.name()), Some(order)).unwrap();
                let mut want: Vec<String> = db
                    .prepare(&format!(
                        "SELECT t.rating_key FROM tracks t ORDER BY {}",
                        reference_order_by(field, order)
                    ))
                    .unwrap()
                    .query_map([], |r| r.get(0))
                    .unwrap()
                    .collect::<Result<_, _>>()
                    .unwrap();
                want.retain(|key| matching.contains(key));
                let mut got = Vec::new();
                let mut offset = 0;
                while offset < want.len() as u64 + 37 {
                    let page = store.tracks(&filter, sort, offset, 37).unwrap();
                    assert_eq!(
                        page.total as usize,
                        want.len(),
                        "{params:?} {field:?} {order}"
                    );
                    got.extend(page.tracks.into_iter().map(|t| t.rating_key));
                    offset += 37;
                }
                assert_eq!(got, want, "{params:?} sorted by {field:?} {order}");
            }
        }
    }
}

/// Text search intersects one remembered set per word; the result must be
/// what a single full-text query with every word gives, repeats and prefix
/// words included, whatever was searched before.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn text_search_by_words_equals_one_full_text_query() {
    let plex = spawn_plex(3_000, 7).await;
    let cache = Cache::new(&plex);
    cache.sync().await.unwrap();
    let store = cache.store();
    let db = rusqlite::Connection::open(store.path()).unwrap();
    let reference = |words: &[&str]| -> BTreeSet<String> {
        let query: Vec<String> = words.iter().map(|w| format!("\"{w}\"*")).collect();
        db.prepare(
            "SELECT rating_key FROM tracks WHERE is_live = 0
             AND id IN (SELECT rowid FROM tracks_fts WHERE tracks_fts MATCH ?1)",
        )
        .unwrap()
        .query_map([query.join(" ")], |r| r.get(0))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap()
    };
    let cases: &[(&str, &[&str])] = &[
        ("the", &["the"]),
        ("The The", &["the", "the"]),
        ("the them", &["the", "them"]),
        ("a b", &["a", "b"]),
        ("THE a", &["the", "a"]),
        ("l", &["l"]),
        ("lo the", &["lo", "the"]),
        ("zzzz the", &["zzzz", "the"]),
    ];
    // Twice: the second round answers from remembered sets, and from the
    // common words' sets built ahead.
    for round in 0..2 {
        if round == 1 {
            store.warm().unwrap();
        }
        for (q, words) in cases {
            let filter = Filter::from_pairs([("q", *q)]).unwrap();
            let want = reference(words);
            let page = store.tracks(&filter, Sort::default(), 0, 1000).unwrap();
            assert_eq!(page.total as usize, want.len(), "round {round}, q={q}");
            assert_eq!(store.count(&filter).unwrap() as usize, want.len());
            if want.len() <= 1000 {
                let got: BTreeSet<String> = page.tracks.into_iter().map(|t| t.rating_key).collect();
                assert_eq!(got, want, "round {round}, q={q}");
            }
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn text_search_ignores_case_and_accents() {
    let plex = spawn_plex(3_000, 5).await;
    let cache = Cache::new(&plex);
    cache.sync().await.unwrap();
    let all = cache.all_tracks();
    let accented = all
        .iter()
        .find(|t| t.artist.chars().any(|c| "éèáóíúöüñ".contains(c)))
        .expect("the generated library has accented artists");
    let word = accented
        .artist
        .split_whitespace()
        .find(|w| w.chars().any(|c| "éèáóíúöüñ".contains(c)))
        .unwrap();
    let plain: String = word
        .to_uppercase()
        .chars()
        .map(|c| match c {
            'É' | 'È' => 'E',
            'Á' => 'A',
            'Ó' | 'Ö' => 'O',
            'Í' => 'I',
            'Ú' | 'Ü' => 'U',
            'Ñ' => 'N',
            c => c,
        })
        .filter(|c| c.is_alphanumeric())
        .collect();
    let filter = Filter::from_pairs([("q", plain.as_str()), ("exclude_live", "false")]).unwrap();
    let page = cache
        .store()
        .tracks(&filter, Sort::default(), 0, 1000)
        .unwrap();
    assert!(page.total > 0, "{plain} finds {word}");
    assert!(
        page.tracks
            .iter()
            .any(|t| t.rating_key == accented.rating_key)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unknown_genres_are_errors_not_empty_answers() {
    let plex = spawn_plex(500, 1).await;
    let cache = Cache::new(&plex);
    cache.sync().await.unwrap();
    let filter = Filter::from_pairs([("genres", "No Such Genre")]).unwrap();
    match cache.store().count(&filter) {
        Err(StoreError::Filter(FilterError::UnknownGenre(g))) => assert_eq!(g, "No Such Genre"),
        other => panic!("expected an unknown genre error, got {other:?}"),
    }
}
