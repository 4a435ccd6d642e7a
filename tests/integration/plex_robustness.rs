//! What a sync does with servers that misbehave in ways the emulator's page
//! faults do not cover: redirects to another origin, endless bodies, tracks
//! listed twice, refused sort orders, empty titles, oversized fields and
//! garbage timestamps. Small servers of this module's own stand in where the
//! emulator cannot.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use axum::Router;
use axum::body::Body;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use plexcache::config::{Overrides, Secret, Settings};
use plexcache::model::Filter;
use plexcache::plex::{ClientOptions, ListingOrder, PlexClient, PlexError};
use plexcache::sync::SyncError;
use plexcache_emulator::{EmulatorHandle, Faults, Library};

use crate::helpers::{Cache, TOKEN, assert_cache_matches, serve_router as serve, spawn_plex_with};

/// A cache pointed at `url`, with short timeouts and small pages.
fn cache_for(url: &str, page_size: usize) -> Cache {
    let dir = tempfile::tempdir().unwrap();
    let settings = Settings::load(
        dir.path(),
        Overrides {
            plex_url: Some(url.to_owned()),
            plex_token: Some(Secret::new(TOKEN)),
            timeout_secs: Some(5.0),
            retries: Some(2),
            page_size: Some(page_size),
            ..Overrides::default()
        },
    )
    .unwrap();
    Cache::with_settings(dir, settings)
}

fn json(body: serde_json::Value) -> Response {
    (
        [(header::CONTENT_TYPE, "application/json")],
        body.to_string(),
    )
        .into_response()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_redirect_to_another_origin_is_refused_and_never_carries_the_token() {
    // The second origin records every token it is sent.
    let seen: Arc<Mutex<Vec<String>>> = Arc::default();
    let record = Arc::clone(&seen);
    let elsewhere = serve(Router::new().fallback(move |headers: HeaderMap| {
        let record = Arc::clone(&record);
        async move {
            if let Some(token) = headers.get("x-plex-token") {
                let token = String::from_utf8_lossy(token.as_bytes()).into_owned();
                record.lock().unwrap().push(token);
            }
            json(serde_json::json!({"MediaContainer": {"machineIdentifier": "elsewhere"}}))
        }
    }))
    .await;
    let target = format!("{elsewhere}/");
    let redirecting = serve(Router::new().fallback(move || {
        let target = target.clone();
        async move { (StatusCode::FOUND, [(header::LOCATION, target)]).into_response() }
    }))
    .await;

    let cache = cache_for(&redirecting, 100);
    let error = cache.sync().await.unwrap_err();

    assert!(seen.lock().unwrap().is_empty(), "the token left the origin");
    assert!(
        matches!(error, SyncError::Plex(PlexError::Redirected { .. })),
        "{error:?}"
    );
    let message = plexcache::sync::error_message(&error);
    assert!(message.contains(&elsewhere), "{message}");
    assert!(!message.contains(TOKEN), "{message}");
}

/// A server whose track pages never end: what it sent, and how often it was asked.
#[derive(Default)]
struct Endless {
    track_pages: AtomicU64,
    bytes_sent: AtomicU64,
}

/// Stops the endless body here even if the client never does, so a client
/// without a limit fails the test instead of exhausting memory.
const ENDLESS_STOP: u64 = 256 * 1024 * 1024;

async fn endless_listing(
    State(state): State<Arc<Endless>>,
    Query(query): Query<std::collections::HashMap<String, String>>,
) -> Response {
    let kind = query.get("type").map(String::as_str);
    let size = query.get("X-Plex-Container-Size").map(String::as_str);
    if size == Some("0") || kind != Some("10") {
        let total = if kind == Some("10") { 5 } else { 0 };
        return json(serde_json::json!({"MediaContainer": {"size": 0, "totalSize": total}}));
    }
    state.track_pages.fetch_add(1, Ordering::Relaxed);
    let item = r#"{"ratingKey":"1","title":"Again and again"},"#.repeat(1000);
    let head = futures::stream::once(async {
        Ok::<_, std::io::Error>(r#"{"MediaContainer":{"totalSize":5,"Metadata":["#.to_owned())
    });
    let counter = Arc::clone(&state);
    let items = futures::stream::unfold((), move |()| {
        let chunk = item.clone();
        let sent = counter
            .bytes_sent
            .fetch_add(chunk.len() as u64, Ordering::Relaxed);
        async move { (sent < ENDLESS_STOP).then_some((Ok(chunk), ())) }
    });
    Response::new(Body::from_stream(futures::StreamExt::chain(head, items)))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_endless_page_fails_as_too_large_once_without_reading_it_all() {
    let state = Arc::new(Endless::default());
    let app = Router::new()
        .route(
            "/",
            axum::routing::get(|| async {
                json(serde_json::json!({"MediaContainer": {"machineIdentifier": "endless"}}))
            }),
        )
        .route(
            "/library/sections",
            axum::routing::get(|| async {
                json(serde_json::json!({"MediaContainer": {"Directory": [
                    {"key": "1", "type": "artist", "title": "Music"}
                ]}}))
            }),
        )
        .route(
            "/library/sections/1/all",
            axum::routing::get(endless_listing),
        )
        .with_state(Arc::clone(&state));
    let url = serve(app).await;
    let page_size = 10;
    let cache = cache_for(&url, page_size);

    let error = cache.sync().await.unwrap_err();

    assert!(
        matches!(error, SyncError::Plex(PlexError::TooLarge { .. })),
        "{error:?}"
    );
    assert!(error.to_string().contains("too large"), "{error}");
    assert_eq!(state.track_pages.load(Ordering::Relaxed), 1, "asked again");
    let limit = plexcache::plex::body_limit(page_size as u64);
    let sent = state.bytes_sent.load(Ordering::Relaxed);
    // What socket buffers hold beyond what the client read, at most.
    let slack = 16 * 1024 * 1024;
    assert!(
        sent < limit + slack,
        "{sent} bytes sent for a {limit} limit"
    );
    assert_eq!(cache.store().sync_state().unwrap().track_count, 0);
}

async fn emulator(library: Library, faults: Faults) -> EmulatorHandle {
    spawn_plex_with(library, faults).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tracks_listed_twice_are_kept_once_and_the_sync_succeeds() {
    let library = Library::generate(700, 31);
    let faults = Faults {
        duplicate_tracks: 3,
        ..Faults::default()
    };
    let plex = emulator(library, faults).await;
    let cache = cache_for(&plex.url(), 100);

    let report = cache.sync().await.unwrap();

    assert_cache_matches(&cache, &plex.library());
    assert_eq!(report.passes, 2, "the second pass confirms the duplicates");
}

/// Syncs a library whose server refuses the `refused` sorts; the cache must
/// equal the library and the engine must remember `expected`.
async fn sync_refusing(refused: &[&str], expected: ListingOrder) {
    let faults = Faults {
        refuse_sorts: refused.iter().map(|s| s.to_string()).collect(),
        ..Faults::default()
    };
    let plex = emulator(Library::generate(600, 17), faults).await;
    let cache = cache_for(&plex.url(), 100);

    let report = cache.sync().await.unwrap();

    assert_cache_matches(&cache, &plex.library());
    let machine = &report.server.machine_identifier;
    assert_eq!(cache.engine.listing_order(machine), Some(expected));
    // The next sync starts from the order that worked.
    let before = plex.stats().requests;
    cache.sync().await.unwrap();
    let second = plex.stats().requests - before;
    assert_cache_matches(&cache, &plex.library());
    assert!(second <= before, "{second} requests after {before}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refused_rating_key_sort_falls_back_to_id() {
    sync_refusing(&["ratingKey"], ListingOrder::Id).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refused_rating_key_and_id_sorts_fall_back_to_added_at() {
    sync_refusing(&["ratingKey", "id"], ListingOrder::AddedAt).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_sort_refused_falls_back_to_the_servers_own_order() {
    sync_refusing(&["ratingKey", "id", "addedAt"], ListingOrder::Unsorted).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_empty_title_takes_the_sort_title_and_is_searchable() {
    let mut library = Library::generate(300, 5);
    library.tracks[0].title = String::new();
    library.tracks[0].title_sort = Some("Zanzibar Nocturne".into());
    library.tracks[1].title = String::new();
    let (named, untitled) = (
        library.tracks[0].rating_key.to_string(),
        library.tracks[1].rating_key.to_string(),
    );
    let plex = emulator(library, Faults::default()).await;
    let cache = cache_for(&plex.url(), 100);

    cache.sync().await.unwrap();

    let all = cache.all_tracks();
    let title = |key: &str| {
        all.iter()
            .find(|t| t.rating_key == key)
            .map(|t| t.title.clone())
    };
    assert_eq!(title(&named).as_deref(), Some("Zanzibar Nocturne"));
    assert_eq!(title(&untitled).as_deref(), Some("Untitled"));
    let found = cache.tracks_matching(&Filter {
        text: Some("zanzibar".into()),
        exclude_live: false,
        ..Filter::default()
    });
    let keys: Vec<&str> = found.iter().map(|t| t.rating_key.as_str()).collect();
    assert_eq!(keys, [named.as_str()]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn oversized_fields_are_cut_to_their_caps() {
    let mut library = Library::generate(200, 9);
    library.tracks[0].title = "ö".repeat(50_000);
    library.tracks[0].genres = (0..100)
        .map(|i| format!("g{i}{}", "x".repeat(400)))
        .collect();
    let key = library.tracks[0].rating_key.to_string();
    let plex = emulator(library, Faults::default()).await;
    let cache = cache_for(&plex.url(), 100);

    cache.sync().await.unwrap();

    let all = cache.all_tracks();
    let track = all.iter().find(|t| t.rating_key == key).unwrap();
    assert_eq!(track.title, "ö".repeat(4096));
    assert_eq!(track.genres.len(), 64, "{:?}", track.genres.len());
    assert!(track.genres.iter().all(|g| g.chars().count() == 256));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn garbage_timestamps_are_unknown_and_match_no_added_since_filter() {
    let mut library = Library::generate(200, 3);
    library.tracks[0].added_at = 253_402_300_800_000;
    library.tracks[0].updated_at = -86_400;
    let key = library.tracks[0].rating_key.to_string();
    let plex = emulator(library, Faults::default()).await;
    let cache = cache_for(&plex.url(), 100);

    cache.sync().await.unwrap();

    let all = cache.all_tracks();
    let track = all.iter().find(|t| t.rating_key == key).unwrap();
    assert_eq!((&track.added_at, &track.updated_at), (&None, &None));
    let recent = cache.tracks_matching(&Filter {
        added_since: Some(1_000_000_000),
        exclude_live: false,
        ..Filter::default()
    });
    assert!(!recent.is_empty(), "other tracks still match");
    assert!(
        recent.iter().all(|t| t.rating_key != key),
        "garbage matched"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_redirect_within_the_origin_is_followed_with_the_token() {
    let seen: Arc<Mutex<Vec<String>>> = Arc::default();
    let record = Arc::clone(&seen);
    let app = Router::new()
        .route(
            "/",
            axum::routing::get(|| async {
                (StatusCode::FOUND, [(header::LOCATION, "/moved")]).into_response()
            }),
        )
        .route(
            "/moved",
            axum::routing::get(move |headers: HeaderMap| {
                let record = Arc::clone(&record);
                async move {
                    if let Some(token) = headers.get("x-plex-token") {
                        let token = String::from_utf8_lossy(token.as_bytes()).into_owned();
                        record.lock().unwrap().push(token);
                    }
                    json(serde_json::json!({"MediaContainer": {"machineIdentifier": "moved"}}))
                }
            }),
        );
    let url = serve(app).await;
    let client = PlexClient::new(ClientOptions::new(url, Secret::new(TOKEN))).unwrap();

    let info = client.server_info().await.unwrap();

    assert_eq!(info.machine_identifier, "moved");
    assert_eq!(*seen.lock().unwrap(), [TOKEN.to_owned()]);
}
