//! Filter meanings, literal search terms and where missing values sort,
//! through the store and the API.

use std::collections::BTreeSet;

use plexcache::emulator::Mutation;
use plexcache::store::{Filter, Sort, SortField, Store, TrackRow};
use serde_json::json;

use crate::helpers::{Cache, TestApp, spawn_plex};

fn filter(pairs: &[(&str, &str)]) -> Filter {
    Filter::from_pairs(pairs.iter().copied()).unwrap()
}

fn keys(rows: &[TrackRow]) -> BTreeSet<String> {
    rows.iter().map(|t| t.rating_key.clone()).collect()
}

/// Every page of `filter` in `sort` order.
fn walk(store: &Store, filter: &Filter, sort: Sort) -> Vec<TrackRow> {
    let mut out = Vec::new();
    loop {
        let page = store.tracks(filter, sort, out.len() as u64, 1000).unwrap();
        if page.tracks.is_empty() {
            return out;
        }
        out.extend(page.tracks);
    }
}

// ------------------------------------------------------------ min_rating

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn min_rating_zero_means_any_rating_and_rated_names_rated_only() {
    let plex = spawn_plex(2_000, 17).await;
    let app = TestApp::spawn(&plex).await;
    app.wait_idle().await;
    let store = app.state.store();
    let all = walk(store, &Filter::default(), Sort::default());
    let rated: BTreeSet<String> = keys(&all)
        .into_iter()
        .filter(|k| all.iter().any(|t| &t.rating_key == k && t.rating.is_some()))
        .collect();
    assert!(
        !rated.is_empty() && rated.len() < all.len(),
        "a mixed library"
    );

    // The store: 0 is no rating filter at all.
    let everything = all.len() as u64;
    assert_eq!(
        store.count(&filter(&[("min_rating", "0")])).unwrap(),
        everything
    );
    assert_eq!(
        store.count(&filter(&[("min_rating", "0.0")])).unwrap(),
        everything
    );
    let only_rated = walk(store, &filter(&[("rated", "true")]), Sort::default());
    assert_eq!(keys(&only_rated), rated);
    let unrated = store.count(&filter(&[("rated", "false")])).unwrap();
    assert_eq!(unrated as usize, all.len() - rated.len());

    // The query string and the JSON body agree.
    let total = |path: String| {
        let app = &app;
        async move {
            let (code, page) = app.get_json(&path).await;
            assert_eq!(code, 200, "{path}: {page}");
            page["total"].as_u64().unwrap()
        }
    };
    assert_eq!(
        total("/api/library/tracks?min_rating=0&limit=1".into()).await,
        everything
    );
    assert_eq!(
        total("/api/library/tracks?rated=true&limit=1".into()).await,
        rated.len() as u64
    );
    assert_eq!(
        total("/api/library/sample?min_rating=0&n=1".into()).await,
        everything
    );
    for (body, want) in [
        (json!({"min_rating": 0}), everything),
        (json!({"min_rating": 0, "rated": true}), rated.len() as u64),
        (json!({"rated": false}), unrated),
    ] {
        let (code, preview) = app.post_json("/api/filter/preview", &body).await;
        assert_eq!(
            (code, preview["count"].as_u64()),
            (200, Some(want)),
            "{body}"
        );
    }
    let (code, _) = app.get_json("/api/library/tracks?rated=perhaps").await;
    assert_eq!(code, 400);

    // The OpenAPI document says what 0 means and names the new filter.
    let (_, doc) = app.get_json("/api/openapi.json").await;
    let text = doc.to_string();
    assert!(text.contains("0 means any rating"), "min_rating documented");
    assert!(
        doc["components"]["schemas"]["FilterBody"]["properties"]["rated"].is_object(),
        "rated in the JSON body schema"
    );
    let params = doc["paths"]["/api/library/tracks"]["get"]["parameters"].to_string();
    assert!(
        params.contains("\"rated\""),
        "rated in the query parameters"
    );
    app.stop().await;
}

// ------------------------------------------------------- literal search

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn search_terms_without_letters_or_digits_match_literally() {
    let plex = spawn_plex(2_000, 19).await;
    let keys_of: Vec<u64> = plex
        .library()
        .tracks
        .iter()
        .step_by(97)
        .take(6)
        .map(|t| t.rating_key)
        .collect();
    let edits = [
        (Some("Me & You"), None),
        (Some("Pardon My Freedom"), Some("!!!")),
        (Some("Heart & Soul"), Some("!!!")),
        (Some("100% Pure"), None),
        (Some("snake_case"), None),
        (Some("Back\\Slash"), None),
    ];
    for (key, (title, artist)) in keys_of.iter().zip(edits) {
        plex.mutate(Mutation::Edit {
            rating_key: *key,
            title: title.map(str::to_owned),
            original_title: artist.map(str::to_owned),
        })
        .unwrap();
    }
    let cache = Cache::new(&plex);
    cache.sync().await.unwrap();
    let store = cache.store();
    let all = cache.all_tracks();
    let containing = |needles: &[&str]| -> BTreeSet<String> {
        all.iter()
            .filter(|t| !t.is_live)
            .filter(|t| {
                needles.iter().all(|n| {
                    [&t.title, &t.artist, &t.album]
                        .iter()
                        .any(|f| f.to_lowercase().contains(&n.to_lowercase()))
                })
            })
            .map(|t| t.rating_key.clone())
            .collect()
    };
    // Words keep their prefix meaning (tested elsewhere): a mixed query is
    // the literal term's tracks among the word's.
    for (q, literals, word) in [
        ("!!!", &["!!!"][..], None),
        ("&", &["&"], None),
        ("  !!!  ", &["!!!"], None),
        ("%", &["%"], None),
        ("_", &["_"], None),
        ("\\", &["\\"], None),
        ("!!! heart", &["!!!"], Some("heart")),
        ("& soul", &["&"], Some("soul")),
    ] {
        let mut want = containing(literals);
        if let Some(word) = word {
            let by_word = keys(&walk(store, &filter(&[("q", word)]), Sort::default()));
            want.retain(|k| by_word.contains(k));
        }
        assert!(!want.is_empty(), "{q:?} is in the library");
        let got = keys(&walk(store, &filter(&[("q", q)]), Sort::default()));
        let extra: Vec<&String> = got.difference(&want).take(5).collect();
        let lost: Vec<&String> = want.difference(&got).take(5).collect();
        assert!(
            extra.is_empty() && lost.is_empty(),
            "q={q:?}: {} found, {} expected; extra {extra:?}, lost {lost:?}",
            got.len(),
            want.len()
        );
        assert_eq!(
            store.count(&filter(&[("q", q)])).unwrap() as usize,
            want.len()
        );
    }
    // Whitespace alone is still no text filter.
    let whole = store.count(&Filter::default()).unwrap();
    assert_eq!(store.count(&filter(&[("q", "   ")])).unwrap(), whole);
}

// ------------------------------------------------- missing values sort last

/// The field's value as the sort compares it, `None` when missing.
fn sort_value(field: SortField, t: &TrackRow) -> Option<String> {
    match field {
        SortField::Year => t.year.map(|v| v.to_string()),
        SortField::Rating => t.rating.map(|v| v.to_string()),
        SortField::Duration => t.duration_ms.map(|v| v.to_string()),
        SortField::Added => t.added_at.clone(),
        SortField::LastPlayed => t.last_played_at.clone(),
        _ => Some(String::new()),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn missing_values_sort_last_in_both_directions() {
    let plex = spawn_plex(3_000, 23).await;
    let cache = Cache::new(&plex);
    cache.sync().await.unwrap();
    let store = cache.store();
    let everything = Filter {
        exclude_live: false,
        ..Filter::default()
    };
    for field in [
        SortField::Year,
        SortField::Rating,
        SortField::Duration,
        SortField::LastPlayed,
    ] {
        for order in ["asc", "desc"] {
            let sort = Sort::parse(Some(field.name()), Some(order)).unwrap();
            let rows = walk(store, &everything, sort);
            let missing = rows
                .iter()
                .filter(|t| sort_value(field, t).is_none())
                .count();
            assert!(
                missing > 0 && missing < rows.len(),
                "{field:?}: the library has tracks with and without it"
            );
            let first_missing = rows
                .iter()
                .position(|t| sort_value(field, t).is_none())
                .unwrap();
            assert_eq!(
                first_missing,
                rows.len() - missing,
                "{field:?} {order}: every track without it comes after every track with it"
            );
        }
    }
}

// ---------------------------------------------------- garbage timestamps

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn times_out_of_the_shown_range_match_no_added_since_and_sort_as_missing() {
    let plex = spawn_plex(500, 29).await;
    let cache = Cache::new(&plex);
    cache.sync().await.unwrap();
    let store = cache.store();
    let victim = cache.all_tracks()[3].rating_key.clone();
    // A cache written before the sync refused such times: write the row
    // directly, then make the store see a new library version.
    let db = rusqlite::Connection::open(store.path()).unwrap();
    db.execute(
        "UPDATE tracks SET added_at = 253402300800000, last_played_at = -253402300800000
         WHERE rating_key = ?1",
        [&victim],
    )
    .unwrap();
    db.execute(
        "UPDATE sync_state SET library_version = library_version + 1",
        [],
    )
    .unwrap();
    drop(db);
    let everything = Filter {
        exclude_live: false,
        ..Filter::default()
    };
    let rows = walk(store, &everything, Sort::default());
    let shown = rows.iter().find(|t| t.rating_key == victim).unwrap();
    assert_eq!((&shown.added_at, &shown.last_played_at), (&None, &None));

    let mut since = everything.clone();
    since.added_since = Some(0);
    let matched = keys(&walk(store, &since, Sort::default()));
    assert!(
        !matched.contains(&victim),
        "shown without a date, so never added since"
    );
    assert_eq!(
        matched.len(),
        rows.iter().filter(|t| t.added_at.is_some()).count()
    );
    for field in [SortField::Added, SortField::LastPlayed] {
        for order in ["asc", "desc"] {
            let sort = Sort::parse(Some(field.name()), Some(order)).unwrap();
            let sorted = walk(store, &everything, sort);
            let at = sorted.iter().position(|t| t.rating_key == victim).unwrap();
            assert!(
                sorted[at..].iter().all(|t| sort_value(field, t).is_none()),
                "{field:?} {order}: sorts among the missing"
            );
        }
    }
}
