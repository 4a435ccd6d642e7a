//! Filter meanings, literal search terms, where missing values sort, and the
//! CLI's CSV and table output, through the store, the API and a real
//! `plexcache` process.

use std::collections::BTreeSet;
use std::io::Read;
use std::process::{Command, Stdio};

use plexcache::model::{Filter, Sort, SortField, Track};
use plexcache::store::Store;
use plexcache_emulator::Mutation;
use serde_json::json;

use crate::helpers::{Cache, TestApp, plexcache_cli, spawn_plex, succeeds, synced_by_cli};

fn filter(pairs: &[(&str, &str)]) -> Filter {
    Filter::from_pairs(pairs.iter().copied()).unwrap()
}

fn keys(rows: &[Track]) -> BTreeSet<String> {
    rows.iter().map(|t| t.rating_key.clone()).collect()
}

/// Every page of `filter` in `sort` order.
fn walk(store: &Store, filter: &Filter, sort: Sort) -> Vec<Track> {
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
fn sort_value(field: SortField, t: &Track) -> Option<String> {
    match field {
        SortField::Year => t.year.map(|v| v.to_string()),
        SortField::Rating => t.rating.map(|v| v.to_string()),
        SortField::Duration => t.duration_ms.map(|v| v.to_string()),
        SortField::Added => t.added_at.and_then(plexcache::clock::rfc3339),
        SortField::LastPlayed => t.last_played_at.and_then(plexcache::clock::rfc3339),
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

// ------------------------------------------------------------ CLI output

fn plexcache(dir: &std::path::Path, plex_url: &str) -> Command {
    plexcache_cli(dir, plex_url, "info")
}

const FORMULA: &str = "=cmd|' /C calc'!A0";
const CONTROLS: &str = "Red\u{1b}[31m Bell\u{7} Nul\u{0} Del\u{7f}";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn csv_and_table_output_cannot_run_formulas_or_terminal_codes() {
    let plex = spawn_plex(300, 31).await;
    let tracks: Vec<u64> = plex
        .library()
        .tracks
        .iter()
        .take(5)
        .map(|t| t.rating_key)
        .collect();
    let hostile = [
        (FORMULA, None),
        (CONTROLS, Some("+SUM(A1)")),
        ("-2+3", Some("@attack")),
        ("\tTabbed", Some("\rReturned")),
    ];
    for (key, (title, artist)) in tracks.iter().zip(hostile) {
        plex.mutate(Mutation::Edit {
            rating_key: *key,
            title: Some(title.to_owned()),
            original_title: artist.map(str::to_owned),
        })
        .unwrap();
    }
    let dir = tempfile::tempdir().unwrap();
    let out = plexcache(dir.path(), &plex.url())
        .arg("sync")
        .output()
        .unwrap();
    assert!(out.status.success());
    let run = |args: &[&str]| {
        let out = succeeds(
            plexcache(dir.path(), &plex.url())
                .args(["tracks", "--include-live", "--limit", "1000"])
                .args(args),
        );
        String::from_utf8(out.stdout).unwrap()
    };

    // The filters' meanings are the API's: 0 is any rating.
    let count = |args: &[&str]| -> u64 {
        let text = run(&[&["--count"], args].concat());
        text.trim().parse().unwrap()
    };
    let all = count(&[]);
    assert_eq!(count(&["--min-rating", "0"]), all);
    let (rated, unrated) = (count(&["--rated", "true"]), count(&["--rated", "false"]));
    assert!(rated > 0 && unrated > 0 && rated + unrated == all);

    let csv_text = run(&["--csv"]);
    let mut reader = csv::Reader::from_reader(csv_text.as_bytes());
    let mut cells = Vec::new();
    for record in reader.records() {
        cells.extend(record.unwrap().iter().map(str::to_owned));
    }
    for cell in &cells {
        assert!(
            !cell.starts_with(['=', '+', '-', '@', '\t', '\r']),
            "a spreadsheet would run {cell:?}"
        );
        assert!(!cell.contains(char::is_control), "control in {cell:?}");
    }
    for shown in ["'=cmd|' /C calc'!A0", "'+SUM(A1)", "'-2+3", "'@attack"] {
        assert!(cells.iter().any(|c| c == shown), "{shown:?} in the CSV");
    }

    let table = run(&[]);
    assert!(
        !table.contains(|c: char| c.is_control() && c != '\n'),
        "{table:?}"
    );
    assert!(table.contains("Red [31m Bell"), "{table:?}");

    // JSON keeps every character (escaped by JSON itself).
    let json_text = run(&["--json"]);
    let value: serde_json::Value = serde_json::from_str(&json_text).unwrap();
    let titles: Vec<&str> = value["tracks"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|t| t["title"].as_str())
        .collect();
    assert!(titles.contains(&FORMULA) && titles.contains(&CONTROLS));
    assert!(!json_text.contains('\u{1b}'));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_closed_output_pipe_ends_the_command_quietly() {
    let (plex, dir) = synced_by_cli(3_000, 37).await;
    for format in [None, Some("--csv"), Some("--json")] {
        let mut child = plexcache(dir.path(), &plex.url())
            .args(["tracks", "--include-live", "--limit", "100000"])
            .args(format)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        // Read a little, then close the pipe like `head` does.
        let mut stdout = child.stdout.take().unwrap();
        let mut first = [0u8; 64];
        stdout.read_exact(&mut first).unwrap();
        drop(stdout);
        let mut stderr = String::new();
        child
            .stderr
            .take()
            .unwrap()
            .read_to_string(&mut stderr)
            .unwrap();
        let status = child.wait().unwrap();
        assert!(status.success(), "{format:?}: {status:?} {stderr}");
        assert!(!stderr.to_lowercase().contains("broken pipe"), "{stderr}");
    }
}
