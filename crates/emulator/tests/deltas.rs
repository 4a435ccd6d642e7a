//! Change tracking on the emulator over real HTTP on loopback: time fields
//! that move like Plex's, section markers, delta listings with Plex's
//! operators and strictness, album listings with `leafCount`, and the
//! album, artist and move mutations.

use std::collections::HashSet;
use std::time::Duration;

use plexcache_emulator::{EmulatorConfig, EmulatorHandle, Faults, Library, Mutation, start};
use serde_json::Value;

const TOKEN: &str = "delta-token";

async fn spawn(tracks: usize, seed: u64) -> EmulatorHandle {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind loopback");
    let mut config = EmulatorConfig::new(Library::generate(tracks, seed), TOKEN);
    config.noise_interval = None;
    start(listener, config).await.expect("start emulator")
}

fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .timeout(Duration::from_secs(20))
        .build()
        .expect("http client")
}

/// GET `path` (sent as written: no re-encoding) as JSON.
async fn get_json(emulator: &EmulatorHandle, path: &str) -> Value {
    let response = client()
        .get(format!("{}{path}", emulator.url()))
        .header("X-Plex-Token", TOKEN)
        .header("Accept", "application/json")
        .send()
        .await
        .expect("request");
    assert_eq!(response.status(), 200, "GET {path}");
    response.json().await.expect("JSON body")
}

fn items(answer: &Value) -> Vec<Value> {
    answer["MediaContainer"]["Metadata"]
        .as_array()
        .cloned()
        .unwrap_or_default()
}

fn keys(answer: &Value) -> Vec<u64> {
    items(answer).iter().map(key_of).collect()
}

fn key_of(item: &Value) -> u64 {
    item["ratingKey"]
        .as_str()
        .and_then(|k| k.parse().ok())
        .expect("a string rating key")
}

async fn listed_keys(emulator: &EmulatorHandle, path: &str) -> Vec<u64> {
    keys(&get_json(emulator, path).await)
}

async fn track(emulator: &EmulatorHandle, key: u64) -> Value {
    let answer = get_json(emulator, &format!("/library/metadata/{key}")).await;
    items(&answer).into_iter().next().expect("the item")
}

fn int(item: &Value, field: &str) -> i64 {
    item[field]
        .as_i64()
        .unwrap_or_else(|| panic!("{field} is a number in {item}"))
}

/// `(contentChangedAt, updatedAt, scannedAt)` of a section.
async fn markers(emulator: &EmulatorHandle, section: &str) -> (i64, i64, i64) {
    let answer = get_json(emulator, "/library/sections").await;
    let directories = answer["MediaContainer"]["Directory"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    let found = directories
        .iter()
        .find(|d| d["key"] == section)
        .expect("the section");
    (
        int(found, "contentChangedAt"),
        int(found, "updatedAt"),
        int(found, "scannedAt"),
    )
}

fn first_track_of(emulator: &EmulatorHandle, section: &str) -> u64 {
    emulator
        .library()
        .tracks
        .iter()
        .find(|t| t.section == section)
        .map(|t| t.rating_key)
        .expect("a track")
}

#[tokio::test]
async fn delta_filters_are_strict_and_encoded_names_work_too() {
    let emulator = spawn(400, 31).await;
    let key = first_track_of(&emulator, "1");
    emulator
        .mutate(Mutation::Edit {
            rating_key: key,
            title: Some("Changed".into()),
            original_title: None,
        })
        .expect("edit");
    let at = int(&track(&emulator, key).await, "updatedAt");
    let base = "/library/sections/1/all?type=10";
    assert!(
        listed_keys(&emulator, &format!("{base}&updatedAt>={at}"))
            .await
            .is_empty(),
        "a field equal to the value is not greater"
    );
    assert_eq!(
        listed_keys(&emulator, &format!("{base}&updatedAt>={}", at - 1)).await,
        [key]
    );
    assert_eq!(
        listed_keys(&emulator, &format!("{base}&updatedAt%3E={}", at - 1)).await,
        [key]
    );
    let older = listed_keys(&emulator, &format!("{base}&updatedAt<={at}")).await;
    let all = listed_keys(&emulator, base).await;
    assert_eq!(older.len(), all.len() - 1);
    assert!(!older.contains(&key));
}

#[tokio::test]
async fn paging_and_total_size_apply_to_the_filtered_list() {
    let emulator = spawn(300, 32).await;
    let before = emulator.library().tracks.len();
    // Every time in the library so far; added tracks come later.
    let cursor = emulator
        .library()
        .tracks
        .iter()
        .map(|t| t.updated_at.max(t.added_at))
        .max()
        .unwrap_or(0);
    let added = emulator.mutate(Mutation::Add { count: 7 }).expect("add");
    assert_eq!(emulator.library().tracks.len(), before + 7);
    let path = format!(
        "/library/sections/1/all?type=10&addedAt>={cursor}&X-Plex-Container-Start=5&X-Plex-Container-Size=5"
    );
    let answer = get_json(&emulator, &path).await;
    assert_eq!(answer["MediaContainer"]["totalSize"], 7);
    assert_eq!(items(&answer).len(), 2);
    let every = listed_keys(
        &emulator,
        &format!("/library/sections/1/all?type=10&updatedAt>={cursor}"),
    )
    .await;
    assert_eq!(
        every.into_iter().collect::<HashSet<_>>(),
        added.into_iter().collect::<HashSet<_>>()
    );
}

#[tokio::test]
async fn wrong_forms_are_ignored_and_give_the_whole_section() {
    let emulator = spawn(200, 33).await;
    let base = "/library/sections/1/all?type=10";
    let whole = listed_keys(&emulator, base).await;
    let future = 4_000_000_000_i64;
    for wrong in [
        format!("updatedAt>=={future}"),
        format!("updatedAt>>={future}"),
        format!("updatedAt>>=={future}"),
        format!("updatedAt%3E%3D={future}"),
        "updatedAt>=soon".to_string(),
    ] {
        let listed = listed_keys(&emulator, &format!("{base}&{wrong}")).await;
        assert_eq!(listed.len(), whole.len(), "{wrong} is ignored");
    }
    assert!(
        listed_keys(&emulator, &format!("{base}&updatedAt>={future}"))
            .await
            .is_empty()
    );
}

#[tokio::test]
async fn a_server_ignoring_delta_filters_answers_the_whole_section() {
    let emulator = spawn(200, 34).await;
    let base = "/library/sections/1/all?type=10";
    let whole = listed_keys(&emulator, base).await.len();
    emulator.set_faults(Faults {
        ignore_delta_filters: true,
        ..Faults::default()
    });
    let listed = listed_keys(&emulator, &format!("{base}&updatedAt>=4000000000")).await;
    assert_eq!(listed.len(), whole);
}

#[tokio::test]
async fn rating_moves_last_rated_at_and_play_last_viewed_at_but_not_updated_at() {
    let emulator = spawn(200, 35).await;
    let key = first_track_of(&emulator, "1");
    let before = track(&emulator, key).await;
    emulator
        .mutate(Mutation::Rate {
            rating_key: key,
            rating: Some(8.0),
        })
        .expect("rate");
    let rated = track(&emulator, key).await;
    let rated_at = int(&rated, "lastRatedAt");
    assert_eq!(rated["updatedAt"], before["updatedAt"]);
    let base = "/library/sections/1/all?type=10";
    assert_eq!(
        listed_keys(&emulator, &format!("{base}&lastRatedAt>={}", rated_at - 1)).await,
        [key]
    );
    let updated = int(&before, "updatedAt");
    let by_update = listed_keys(&emulator, &format!("{base}&updatedAt>={updated}")).await;
    assert!(!by_update.contains(&key));
    emulator
        .mutate(Mutation::Play { rating_key: key })
        .expect("play");
    let played = track(&emulator, key).await;
    let viewed_at = int(&played, "lastViewedAt");
    assert!(viewed_at > rated_at);
    assert_eq!(played["lastRatedAt"], rated["lastRatedAt"]);
    assert_eq!(played["updatedAt"], before["updatedAt"]);
    assert_eq!(
        listed_keys(
            &emulator,
            &format!("{base}&lastViewedAt>={}", viewed_at - 1)
        )
        .await,
        [key]
    );
}

#[tokio::test]
async fn section_markers_move_as_plex_moves_them() {
    let emulator = spawn(200, 36).await;
    let key = first_track_of(&emulator, "1");
    let start = markers(&emulator, "1").await;
    emulator
        .mutate(Mutation::Rate {
            rating_key: key,
            rating: Some(2.0),
        })
        .expect("rate");
    emulator
        .mutate(Mutation::Play { rating_key: key })
        .expect("play");
    assert_eq!(
        markers(&emulator, "1").await,
        start,
        "rate and play move none"
    );
    emulator
        .mutate(Mutation::Scan {
            section: "1".into(),
        })
        .expect("scan");
    let scanned = markers(&emulator, "1").await;
    assert_eq!((scanned.0, scanned.1), (start.0, start.1));
    assert!(scanned.2 > start.2, "a scan moves scannedAt");
    emulator
        .mutate(Mutation::Edit {
            rating_key: key,
            title: Some("Edited".into()),
            original_title: None,
        })
        .expect("edit");
    let edited = markers(&emulator, "1").await;
    assert!(edited.0 > scanned.0 && edited.1 > scanned.1);
    assert_eq!(edited.2, scanned.2, "an edit is no scan");
    let other = markers(&emulator, "3").await;
    emulator.mutate(Mutation::Add { count: 2 }).expect("add");
    let added = markers(&emulator, "1").await;
    assert!(added.0 > edited.0 && added.1 > edited.1 && added.2 > edited.2);
    assert_eq!(markers(&emulator, "3").await, other, "other sections stay");
}

#[tokio::test]
async fn album_listings_carry_leaf_count_and_album_edits_move_only_the_album() {
    let emulator = spawn(300, 37).await;
    let library = emulator.library();
    let album = library
        .albums
        .iter()
        .find(|a| a.section == "1" && library.tracks.iter().any(|t| t.album_key == a.rating_key))
        .expect("an album with tracks")
        .clone();
    let count = library
        .tracks
        .iter()
        .filter(|t| t.album_key == album.rating_key)
        .count();
    for path in [
        "/library/sections/1/all?type=9",
        "/library/sections/1/albums",
    ] {
        let answer = get_json(&emulator, path).await;
        let listed = items(&answer)
            .into_iter()
            .find(|a| key_of(a) == album.rating_key)
            .expect("the album");
        assert_eq!(listed["leafCount"], count, "{path}");
        assert!(listed["updatedAt"].is_i64());
    }
    let a_track = library
        .tracks
        .iter()
        .find(|t| t.album_key == album.rating_key)
        .map(|t| t.rating_key)
        .expect("a track");
    let track_before = track(&emulator, a_track).await;
    emulator
        .mutate(Mutation::EditAlbum {
            rating_key: album.rating_key,
            title: Some("Renamed".into()),
            year: Some(1999),
            genres: Some(vec!["Ambient".into()]),
        })
        .expect("edit album");
    let edited = track(&emulator, album.rating_key).await;
    assert_eq!(edited["title"], "Renamed");
    assert_eq!(edited["year"], 1999);
    let at = int(&edited, "updatedAt");
    assert_eq!(
        listed_keys(
            &emulator,
            &format!("/library/sections/1/albums?updatedAt>={}", at - 1)
        )
        .await,
        [album.rating_key]
    );
    assert_eq!(
        track(&emulator, a_track).await["updatedAt"],
        track_before["updatedAt"]
    );
    let artist_key = album.artist_key;
    emulator
        .mutate(Mutation::EditArtist {
            rating_key: artist_key,
            title: Some("Someone Else".into()),
            genres: None,
        })
        .expect("edit artist");
    let artist = track(&emulator, artist_key).await;
    assert!(int(&artist, "updatedAt") > at);
    assert_eq!(
        listed_keys(
            &emulator,
            &format!("/library/sections/1/all?type=8&updatedAt>={at}")
        )
        .await,
        [artist_key]
    );
}

#[tokio::test]
async fn tracks_move_between_albums_and_whole_albums_come_and_go() {
    let emulator = spawn(300, 38).await;
    let library = emulator.library();
    let moved = first_track_of(&emulator, "1");
    let source = library
        .tracks
        .iter()
        .find(|t| t.rating_key == moved)
        .map(|t| t.album_key)
        .expect("its album");
    let target = library
        .albums
        .iter()
        .find(|a| a.section == "1" && a.rating_key != source && a.deleted_at.is_none())
        .expect("another album")
        .clone();
    emulator
        .mutate(Mutation::MoveTrack {
            rating_key: moved,
            album_key: target.rating_key,
        })
        .expect("move");
    let now = track(&emulator, moved).await;
    assert_eq!(now["parentRatingKey"], target.rating_key.to_string());
    assert_eq!(now["grandparentRatingKey"], target.artist_key.to_string());

    let added = emulator
        .mutate(Mutation::AddAlbum {
            section: None,
            tracks: 4,
        })
        .expect("add album");
    let album_key = added[0];
    let album = track(&emulator, album_key).await;
    assert_eq!(album["leafCount"], 4);
    assert_eq!(added.len(), 5);
    let removed = emulator
        .mutate(Mutation::RemoveAlbum {
            rating_key: album_key,
        })
        .expect("remove album");
    assert_eq!(removed, added[1..]);
    let gone = client()
        .get(format!("{}/library/metadata/{album_key}", emulator.url()))
        .header("X-Plex-Token", TOKEN)
        .send()
        .await
        .expect("request");
    assert_eq!(gone.status(), 404);
}

#[tokio::test]
async fn adding_to_another_section_and_editing_genres_through_the_control_endpoint() {
    let emulator = spawn(300, 39).await;
    let http = client();
    let post = |body: &'static str| {
        http.post(format!("{}/_emulator/mutations", emulator.url()))
            .body(body)
            .send()
    };
    let before = listed_keys(&emulator, "/library/sections/3/all?type=10").await;
    let main = markers(&emulator, "1").await;
    let answer = post(r#"{"op":"add","count":2,"section":"3"}"#)
        .await
        .expect("post");
    assert_eq!(answer.status(), 200);
    let after = listed_keys(&emulator, "/library/sections/3/all?type=10").await;
    assert_eq!(after.len(), before.len() + 2);
    assert_eq!(markers(&emulator, "1").await, main);
    assert_eq!(
        post(r#"{"op":"add","count":2,"section":"2"}"#)
            .await
            .expect("post")
            .status(),
        400,
        "the movie section takes no tracks"
    );
    assert_eq!(
        post(r#"{"op":"scan","section":"77"}"#)
            .await
            .expect("post")
            .status(),
        404
    );
    let key = first_track_of(&emulator, "1");
    let body = format!(r#"{{"op":"edit","rating_key":{key},"genres":["Dub","Jazz"]}}"#);
    let edited = http
        .post(format!("{}/_emulator/mutations", emulator.url()))
        .body(body)
        .send()
        .await
        .expect("post");
    assert_eq!(edited.status(), 200);
    let genres: Vec<Value> = track(&emulator, key).await["Genre"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    let tags: Vec<&str> = genres.iter().filter_map(|g| g["tag"].as_str()).collect();
    assert_eq!(tags, ["Dub", "Jazz"]);
    for body in [
        r#"{"op":"move_track","rating_key":1,"album_key":999999999}"#,
        r#"{"op":"edit_album","rating_key":999999999,"title":"x"}"#,
        r#"{"op":"remove_album","rating_key":999999999}"#,
    ] {
        let status = post(body).await.expect("post").status();
        assert_eq!(status, 404, "{body}");
    }
}
