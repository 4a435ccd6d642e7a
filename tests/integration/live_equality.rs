//! The equality property: random sequences of server changes (add, remove,
//! edit title/artist/genres, album title/year/genres, rate, play, move a
//! track to another album, add or remove a whole album, changes in a
//! section the cache does not follow) interleaved with live events,
//! dropped connections, restarts and delta refreshes; once things settle
//! the cache equals a full sync of the same server state into a fresh
//! cache, field by field (every track's fields and genres, and the stats).
//!
//! `PROPTEST_CASES=200 cargo test --release --test integration live_equality`
//! runs a longer search than the default handful of cases.

use std::time::{Duration, Instant};

use plexcache::model::{Filter, Sort, Track};
use plexcache::store::Store;
use plexcache::sync::SyncMode;
use plexcache_emulator::{EmulatorHandle, Mutation};
use proptest::prelude::*;

use crate::helpers::{TestApp, spawn_plex};
use crate::live::{live_app, wait_live};
use crate::refresh::{CACHED, cached_section};

#[derive(Debug, Clone)]
enum Step {
    Add(usize),
    Remove(usize),
    Title(usize),
    Artist(usize),
    Genres(usize, u8),
    Album(usize, i32, u8),
    Rate(usize, u8),
    Play(usize),
    Move(usize, usize),
    AddAlbum(usize),
    RemoveAlbum(usize),
    Elsewhere(usize),
    Drop,
    Restart,
    Refresh,
    Pause,
}

fn step() -> impl Strategy<Value = Step> {
    let i = 0..10_000usize;
    prop_oneof![
        (1..20usize).prop_map(Step::Add),
        i.clone().prop_map(Step::Remove),
        i.clone().prop_map(Step::Title),
        i.clone().prop_map(Step::Artist),
        (i.clone(), any::<u8>()).prop_map(|(i, g)| Step::Genres(i, g)),
        (i.clone(), 1950..2025i32, any::<u8>()).prop_map(|(i, y, g)| Step::Album(i, y, g)),
        (i.clone(), 0..=10u8).prop_map(|(i, r)| Step::Rate(i, r)),
        i.clone().prop_map(Step::Play),
        (i.clone(), i.clone()).prop_map(|(a, b)| Step::Move(a, b)),
        (1..6usize).prop_map(Step::AddAlbum),
        i.clone().prop_map(Step::RemoveAlbum),
        (1..5usize).prop_map(Step::Elsewhere),
        Just(Step::Drop),
        Just(Step::Restart),
        Just(Step::Refresh),
        Just(Step::Pause),
    ]
}

const GENRES: [&str; 6] = ["Ambient", "Bluegrass", "Chiptune", "Dub", "Enka", "Fado"];

fn genres(seed: u8) -> Vec<String> {
    GENRES
        .iter()
        .enumerate()
        .filter(|(i, _)| seed & (1 << i) != 0)
        .map(|(_, g)| (*g).to_owned())
        .collect()
}

fn nth_track(plex: &EmulatorHandle, i: usize) -> Option<u64> {
    let library = plex.library();
    let keys: Vec<u64> = library
        .tracks
        .iter()
        .filter(|t| t.section == CACHED)
        .map(|t| t.rating_key)
        .collect();
    (!keys.is_empty()).then(|| keys[i % keys.len()])
}

fn nth_album(plex: &EmulatorHandle, i: usize) -> Option<u64> {
    let library = plex.library();
    let keys: Vec<u64> = library
        .albums
        .iter()
        .filter(|a| a.section == CACHED)
        .map(|a| a.rating_key)
        .collect();
    (!keys.is_empty()).then(|| keys[i % keys.len()])
}

/// The mutation a step makes, if it is one and has something to act on.
fn mutation(plex: &EmulatorHandle, step: &Step) -> Option<Mutation> {
    let track = |i| nth_track(plex, i);
    Some(match *step {
        Step::Add(count) => Mutation::Add { count },
        Step::Remove(i) => Mutation::Remove {
            rating_keys: vec![track(i)?],
        },
        Step::Title(i) => Mutation::EditTrack {
            rating_key: track(i)?,
            title: Some(format!("Title {i}")),
            original_title: None,
            genres: None,
        },
        Step::Artist(i) => Mutation::EditTrack {
            rating_key: track(i)?,
            title: None,
            original_title: Some(format!("Artist {i}")),
            genres: None,
        },
        Step::Genres(i, g) => Mutation::EditTrack {
            rating_key: track(i)?,
            title: None,
            original_title: None,
            genres: Some(genres(g)),
        },
        Step::Album(i, year, g) => Mutation::EditAlbum {
            rating_key: nth_album(plex, i)?,
            title: Some(format!("Album {i}")),
            year: Some(year),
            genres: Some(genres(g)),
        },
        Step::Rate(i, r) => Mutation::Rate {
            rating_key: track(i)?,
            rating: (r > 0).then_some(f64::from(r)),
        },
        Step::Play(i) => Mutation::Play {
            rating_key: track(i)?,
        },
        Step::Move(i, a) => Mutation::MoveTrack {
            rating_key: track(i)?,
            album_key: nth_album(plex, a)?,
        },
        Step::AddAlbum(tracks) => Mutation::AddAlbum {
            section: None,
            tracks,
        },
        Step::RemoveAlbum(i) => Mutation::RemoveAlbum {
            rating_key: nth_album(plex, i)?,
        },
        Step::Elsewhere(count) => Mutation::AddToSection {
            count,
            section: "3".into(),
        },
        Step::Drop | Step::Restart | Step::Refresh | Step::Pause => return None,
    })
}

fn all_tracks(store: &Store) -> Vec<Track> {
    let filter = Filter {
        exclude_live: false,
        ..Filter::default()
    };
    let mut out = Vec::new();
    loop {
        let page = store
            .tracks(&filter, Sort::default(), out.len() as u64, 1000)
            .unwrap();
        if page.tracks.is_empty() {
            break;
        }
        out.extend(page.tracks);
    }
    out.sort_by(|a, b| a.rating_key.cmp(&b.rating_key));
    out
}

/// Whether the app's cache equals a fresh full sync (and if not, why).
async fn compare(app: &TestApp, plex: &EmulatorHandle) -> Result<(), String> {
    let fresh = cached_section(plex).await;
    let store = app.state.library().store();
    let (got, want) = (all_tracks(store), all_tracks(fresh.store()));
    if got.len() != want.len() {
        return Err(format!(
            "{} tracks, a full sync has {}",
            got.len(),
            want.len()
        ));
    }
    if let Some((g, w)) = got.iter().zip(&want).find(|(g, w)| g != w) {
        return Err(format!("track differs:\n{g:?}\n{w:?}"));
    }
    let (a, b) = (store.stats().unwrap(), fresh.store().stats().unwrap());
    if a != b {
        return Err(format!("stats differ:\n{a:?}\n{b:?}"));
    }
    Ok(())
}

async fn run_case(steps: Vec<Step>) -> Result<(), String> {
    let plex = spawn_plex(300, 31).await;
    let app = live_app(&plex).await;
    let library = app.state.library().clone();
    // Ratings send no event: a refresh (or the minute's check) finds them.
    let mut unseen_rating = false;
    for step in &steps {
        match step {
            Step::Drop => plex.drop_notifications(),
            Step::Restart => plex.restart(),
            Step::Refresh => {
                let _ = library.sync_now(SyncMode::Auto).await;
                unseen_rating = false;
            }
            Step::Pause => tokio::time::sleep(Duration::from_millis(400)).await,
            step => {
                if let Some(change) = mutation(&plex, step) {
                    unseen_rating |= matches!(step, Step::Rate(..));
                    let _ = plex.mutate(change);
                }
            }
        }
        tokio::time::sleep(Duration::from_millis(30)).await;
    }
    wait_live(&app, true).await;
    if unseen_rating {
        library
            .sync_now(SyncMode::Auto)
            .await
            .map_err(|e| e.to_string())?;
    }
    let start = Instant::now();
    let outcome = loop {
        match compare(&app, &plex).await {
            Ok(()) => break Ok(()),
            Err(e) if start.elapsed() > Duration::from_secs(8) => break Err(e),
            Err(_) => tokio::time::sleep(Duration::from_millis(300)).await,
        }
    };
    app.stop().await;
    outcome
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: std::env::var("PROPTEST_CASES")
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(4),
        max_shrink_iters: 8,
        ..ProptestConfig::default()
    })]

    #[test]
    fn the_live_cache_equals_a_full_sync(steps in prop::collection::vec(step(), 1..10)) {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap();
        let outcome = runtime.block_on(run_case(steps));
        prop_assert!(outcome.is_ok(), "{:?}", outcome);
    }
}
