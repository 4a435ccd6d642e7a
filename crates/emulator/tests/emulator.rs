//! The Plex emulator over real HTTP on loopback: generated library, both
//! formats, paging, auth, metadata, children, playlists, every fault, and
//! mutations.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::time::{Duration, Instant};

use plexcache_emulator::{
    EmulatorConfig, EmulatorHandle, Faults, Library, Mutation, PageFault, PageFaultKind,
    SectionKind, Shift, start,
};
use quick_xml::events::{BytesStart, Event};
use quick_xml::reader::Reader;
use serde_json::Value;

const TOKEN: &str = "test-token";

// ---------------------------------------------------------------- helpers

async fn spawn(library: Library) -> EmulatorHandle {
    spawn_with(EmulatorConfig::new(library, TOKEN)).await
}

async fn spawn_with(config: EmulatorConfig) -> EmulatorHandle {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind loopback");
    start(listener, config).await.expect("start emulator")
}

fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .timeout(Duration::from_secs(20))
        .build()
        .expect("http client")
}

/// A GET with the token, asking for JSON or XML.
fn get(emulator: &EmulatorHandle, path: &str, json: bool) -> reqwest::RequestBuilder {
    let accept = if json {
        "application/json"
    } else {
        "application/xml"
    };
    client()
        .get(format!("{}{path}", emulator.url()))
        .header("X-Plex-Token", TOKEN)
        .header("Accept", accept)
}

async fn get_json(emulator: &EmulatorHandle, path: &str) -> Value {
    let response = get(emulator, path, true).send().await.expect("request");
    assert_eq!(response.status(), 200, "GET {path}");
    response.json().await.expect("JSON body")
}

async fn get_xml(emulator: &EmulatorHandle, path: &str) -> Element {
    let response = get(emulator, path, false).send().await.expect("request");
    assert_eq!(response.status(), 200, "GET {path}");
    parse_xml(&response.text().await.expect("body")).expect("well-formed XML")
}

fn container(value: &Value) -> &Value {
    &value["MediaContainer"]
}

fn metadata(value: &Value) -> Vec<Value> {
    container(value)["Metadata"]
        .as_array()
        .cloned()
        .unwrap_or_default()
}

fn rating_keys(value: &Value) -> Vec<u64> {
    metadata(value)
        .iter()
        .map(|m| {
            m["ratingKey"]
                .as_str()
                .expect("string key")
                .parse()
                .expect("number")
        })
        .collect()
}

fn tracks_path(section: &str, start: usize, size: usize) -> String {
    format!(
        "/library/sections/{section}/all?type=10&X-Plex-Container-Start={start}&X-Plex-Container-Size={size}"
    )
}

/// An XML element with its attributes and children.
#[derive(Debug, Clone)]
struct Element {
    name: String,
    attributes: BTreeMap<String, String>,
    children: Vec<Element>,
}

impl Element {
    fn attr(&self, name: &str) -> Option<&str> {
        self.attributes.get(name).map(String::as_str)
    }

    fn named<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a Element> + 'a {
        self.children.iter().filter(move |c| c.name == name)
    }
}

fn element(start: &BytesStart) -> Result<Element, String> {
    let mut attributes = BTreeMap::new();
    for attribute in start.attributes() {
        let attribute = attribute.map_err(|e| e.to_string())?;
        let key = String::from_utf8(attribute.key.as_ref().to_vec()).map_err(|e| e.to_string())?;
        let value = attribute
            .unescape_value()
            .map_err(|e| e.to_string())?
            .into_owned();
        attributes.insert(key, value);
    }
    let name = String::from_utf8(start.name().as_ref().to_vec()).map_err(|e| e.to_string())?;
    Ok(Element {
        name,
        attributes,
        children: Vec::new(),
    })
}

/// Parses a document strictly: any error, or any character XML forbids.
fn parse_xml(text: &str) -> Result<Element, String> {
    if let Some(bad) = text
        .chars()
        .find(|&c| (c < ' ' && !matches!(c, '\t' | '\n' | '\r')) || c == '\u{FFFE}')
    {
        return Err(format!("forbidden character {:?}", bad));
    }
    let mut reader = Reader::from_str(text);
    let mut stack: Vec<Element> = Vec::new();
    let mut root = None;
    loop {
        match reader.read_event().map_err(|e| e.to_string())? {
            Event::Start(start) => stack.push(element(&start)?),
            Event::Empty(start) => {
                let done = element(&start)?;
                match stack.last_mut() {
                    Some(parent) => parent.children.push(done),
                    None => root = Some(done),
                }
            }
            Event::End(_) => {
                let done = stack.pop().ok_or("unbalanced end tag")?;
                match stack.last_mut() {
                    Some(parent) => parent.children.push(done),
                    None => root = Some(done),
                }
            }
            Event::Eof => break,
            _ => {}
        }
    }
    if !stack.is_empty() {
        return Err("unclosed elements".into());
    }
    root.ok_or_else(|| "no root element".into())
}

// ------------------------------------------------------------- generation

#[test]
fn same_seed_gives_the_same_library_and_another_seed_another() {
    let first = Library::generate(3_000, 7);
    assert_eq!(first, Library::generate(3_000, 7));
    assert_ne!(first, Library::generate(3_000, 8));
    for count in [0, 1, 10, 3_000] {
        assert_eq!(Library::generate(count, 1).tracks.len(), count);
    }
}

fn is_live(track_title: &str, album_title: &str) -> bool {
    let track = track_title.to_lowercase();
    let album = album_title.to_lowercase();
    let dated = album.len() > 11
        && album.as_bytes()[4] == b'-'
        && album[..4].chars().all(|c| c.is_ascii_digit());
    track.contains("(live")
        || track.contains("[live")
        || track.contains(" - live")
        || album.starts_with("live at ")
        || album.starts_with("live in ")
        || album.contains("unplugged")
        || dated
}

fn has_char_in(text: &str, ranges: &[(u32, u32)]) -> bool {
    text.chars().any(|c| {
        ranges
            .iter()
            .any(|&(low, high)| (low..=high).contains(&(c as u32)))
    })
}

#[test]
fn generated_library_holds_every_awkward_case() {
    let library = Library::generate(20_000, 42);
    let tracks = &library.tracks;
    let n = tracks.len() as f64;
    let share = |count: usize| count as f64 / n;
    let albums: HashMap<u64, _> = library.albums.iter().map(|a| (a.rating_key, a)).collect();
    let artists: HashMap<u64, _> = library.artists.iter().map(|a| (a.rating_key, a)).collect();

    // Shape and sections.
    let album_count = library.albums.len() as f64;
    assert!(
        (1_400.0..2_400.0).contains(&album_count),
        "albums: {album_count}"
    );
    assert!(
        (200..700).contains(&library.artists.len()),
        "artists: {}",
        library.artists.len()
    );
    let music: Vec<_> = library
        .sections
        .iter()
        .filter(|s| s.kind == SectionKind::Music)
        .collect();
    assert!(
        music.len() >= 2
            && library
                .sections
                .iter()
                .any(|s| s.kind == SectionKind::Movie)
    );
    for section in &music {
        assert!(
            tracks.iter().any(|t| t.section == section.key),
            "section {} is empty",
            section.key
        );
    }
    let mut keys = HashSet::new();
    let all_keys = library
        .artists
        .iter()
        .map(|a| a.rating_key)
        .chain(albums.keys().copied());
    assert!(
        all_keys
            .chain(tracks.iter().map(|t| t.rating_key))
            .all(|k| keys.insert(k)),
        "duplicate rating key"
    );

    // Genres: truncation matters, some tracks have their own.
    let genre_names: HashSet<&String> = library.albums.iter().flat_map(|a| &a.genres).collect();
    assert!(
        (20..=40).contains(&genre_names.len()),
        "genres: {}",
        genre_names.len()
    );
    let many_genres = library.albums.iter().filter(|a| a.genres.len() > 3).count();
    assert!(
        many_genres as f64 > album_count * 0.2,
        "albums with >3 genres: {many_genres}"
    );
    assert!(library.artists.iter().all(|a| !a.genres.is_empty()));
    let own_genres = share(tracks.iter().filter(|t| !t.genres.is_empty()).count());
    assert!(
        (0.07..0.13).contains(&own_genres),
        "own genres: {own_genres}"
    );

    // Albums: years, deletions, empty titles, duplicates.
    let no_year = library.albums.iter().filter(|a| a.year.is_none()).count() as f64 / album_count;
    assert!(
        (0.02..0.09).contains(&no_year),
        "albums without year: {no_year}"
    );
    assert!(
        library
            .albums
            .iter()
            .filter_map(|a| a.year)
            .all(|y| (1950..=2025).contains(&y))
    );
    let deleted: Vec<_> = library
        .albums
        .iter()
        .filter(|a| a.deleted_at.is_some())
        .collect();
    assert!(!deleted.is_empty());
    assert!(
        deleted
            .iter()
            .all(|a| tracks.iter().all(|t| t.album_key != a.rating_key))
    );
    assert!(library.albums.iter().any(|a| a.title.is_empty()));
    assert!(library.artists.iter().any(|a| a.title.is_empty()));
    let greatest: HashSet<u64> = library
        .albums
        .iter()
        .filter(|a| a.title == "Greatest Hits")
        .map(|a| a.artist_key)
        .collect();
    assert!(greatest.len() >= 2, "shared album titles");

    // Ratings, plays, credits.
    let rated: Vec<f64> = tracks.iter().filter_map(|t| t.user_rating).collect();
    assert!(
        (0.35..0.45).contains(&share(rated.len())),
        "rated: {}",
        share(rated.len())
    );
    assert!(rated.iter().any(|r| r.fract() == 0.0) && rated.iter().any(|r| r.fract() != 0.0));
    assert!(rated.iter().all(|r| (0.0..=10.0).contains(r)));
    let played = share(
        tracks
            .iter()
            .filter(|t| t.view_count.is_some() && t.last_viewed_at.is_some())
            .count(),
    );
    assert!((0.25..0.35).contains(&played), "played: {played}");
    let with_original = tracks.iter().filter(|t| t.original_title.is_some()).count();
    assert!(
        (0.2..0.3).contains(&share(with_original)),
        "original titles: {}",
        share(with_original)
    );
    let same_as_artist = tracks
        .iter()
        .filter(|t| {
            t.original_title.as_deref() == artists.get(&t.artist_key).map(|a| a.title.as_str())
        })
        .count();
    assert!(same_as_artist > 100);

    // Missing optional fields.
    assert!(tracks.iter().any(|t| t.index.is_none()));
    assert!(tracks.iter().any(|t| t.duration_ms.is_none()));
    assert!(tracks.iter().any(|t| t.parent_index.is_none()));

    // Live recordings and their look-alikes.
    let live = tracks
        .iter()
        .filter(|t| {
            is_live(
                &t.title,
                albums.get(&t.album_key).map_or("", |a| a.title.as_str()),
            )
        })
        .count();
    assert!((0.05..0.08).contains(&share(live)), "live: {}", share(live));
    for trap in [
        "Live Forever",
        "Live and Let Die",
        "Alive",
        "Olive Tree",
        "Deliverance",
    ] {
        assert!(tracks.iter().any(|t| t.title == trap), "trap {trap}");
    }
    for album in [
        "Live at Leeds",
        "1977-05-08 Barton Hall",
        "MTV Unplugged in New York",
    ] {
        assert!(
            library.albums.iter().any(|a| a.title == album),
            "live album {album}"
        );
    }
    assert!(tracks.iter().any(|t| t.title.ends_with(" (Live)")));
    assert!(tracks.iter().any(|t| t.title.ends_with(" - Live")));
    assert!(
        tracks
            .iter()
            .any(|t| t.title.contains("[Live at Wembley 1986]"))
    );

    // Hard text.
    let titles: Vec<&str> = tracks
        .iter()
        .map(|t| t.title.as_str())
        .chain(library.albums.iter().map(|a| a.title.as_str()))
        .chain(library.artists.iter().map(|a| a.title.as_str()))
        .collect();
    let any = |check: &dyn Fn(&str) -> bool| titles.iter().filter(|t| check(t)).count();
    assert!(any(&|t| t.contains('é') || t.contains('ó')) > 0, "accents");
    assert!(
        any(&|t| has_char_in(t, &[(0x3040, 0x30ff), (0x4e00, 0x9fff)])) > 0,
        "CJK"
    );
    assert!(any(&|t| has_char_in(t, &[(0x1f300, 0x1faff)])) > 0, "emoji");
    assert!(any(&|t| has_char_in(t, &[(0x0590, 0x05ff)])) > 0, "Hebrew");
    assert!(any(&|t| has_char_in(t, &[(0x0600, 0x06ff)])) > 0, "Arabic");
    assert!(
        any(&|t| t.contains('"')) > 0 && any(&|t| t.contains('&')) > 0,
        "quotes and ampersands"
    );
    assert!(
        any(&|t| t.contains('<') && t.contains('>')) > 0,
        "markup characters"
    );
    let control = any(&|t| {
        t.chars()
            .any(|c| c.is_control() && !matches!(c, '\t' | '\n' | '\r'))
    });
    assert!(control >= 3, "control characters: {control}");
    assert!(
        any(&|t| t.chars().count() >= 2_000) >= 2,
        "very long titles"
    );
    let mut seen = HashMap::new();
    for track in tracks {
        *seen.entry(track.title.as_str()).or_insert(0) += 1;
    }
    assert!(
        seen.values().filter(|&&count| count > 1).count() > 100,
        "duplicate titles"
    );
}

#[test]
fn library_json_round_trips_through_a_file() {
    let library = Library::generate(500, 3);
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("library.json");
    std::fs::write(&path, library.to_json()).expect("write");
    assert_eq!(Library::load_json(&path).expect("load"), library);

    std::fs::write(&path, "{not json").expect("write");
    assert!(Library::load_json(&path).is_err());
    let mut broken = library.clone();
    broken.tracks[0].album_key = 1;
    std::fs::write(&path, broken.to_json()).expect("write");
    let error = Library::load_json(&path).expect_err("dangling album");
    assert!(error.to_string().contains("invalid library"), "{error}");
    assert!(Library::load_json(&dir.path().join("missing.json")).is_err());
}

// ------------------------------------------------------------ formats

/// What XML makes of a string: forbidden control characters become U+FFFD.
fn as_xml_text(text: &str) -> String {
    text.chars()
        .map(|c| {
            if c < ' ' && !matches!(c, '\t' | '\n' | '\r') {
                '\u{FFFD}'
            } else {
                c
            }
        })
        .collect()
}

/// Compares a JSON object's scalar fields with an XML element's attributes.
fn assert_same_fields(json: &Value, xml: &Element) {
    let object = json.as_object().expect("object");
    let scalars = object
        .iter()
        .filter(|(_, v)| !v.is_array() && !v.is_object());
    let json_names: HashSet<&str> = scalars.clone().map(|(k, _)| k.as_str()).collect();
    let xml_names: HashSet<&str> = xml.attributes.keys().map(String::as_str).collect();
    assert_eq!(json_names, xml_names, "fields of {}", xml.name);
    for (name, value) in scalars {
        let attribute = xml.attr(name).expect("attribute");
        match value {
            Value::String(text) => assert_eq!(attribute, as_xml_text(text), "{name}"),
            Value::Number(number) => {
                let left = number.as_f64().expect("number");
                let right: f64 = attribute.parse().expect("numeric attribute");
                assert_eq!(left, right, "{name}");
            }
            Value::Bool(flag) => assert_eq!(attribute, if *flag { "1" } else { "0" }, "{name}"),
            other => panic!("unexpected {other}"),
        }
    }
}

#[tokio::test]
async fn json_and_xml_pages_carry_the_same_data() {
    let emulator = spawn(Library::generate(1_500, 11)).await;
    let path = tracks_path("1", 0, 2_000);
    let json = get_json(&emulator, &path).await;
    let xml = get_xml(&emulator, &path).await;
    assert_eq!(xml.name, "MediaContainer");
    let json_items = metadata(&json);
    let xml_items: Vec<&Element> = xml.named("Track").collect();
    assert!(json_items.len() > 1_000);
    assert_eq!(json_items.len(), xml_items.len());
    assert_same_fields(container(&json), &xml);
    let mut control_titles = 0;
    for (j, x) in json_items.iter().zip(&xml_items) {
        assert_eq!(x.attr("type"), Some("track"));
        assert_same_fields(j, x);
        if j["title"].as_str().is_some_and(|t| {
            t.chars()
                .any(|c| c < ' ' && !matches!(c, '\t' | '\n' | '\r'))
        }) {
            control_titles += 1;
        }
        let media_json = &j["Media"][0];
        let media_xml = x.named("Media").next().expect("Media");
        assert_same_fields(media_json, media_xml);
        assert_same_fields(
            &media_json["Part"][0],
            media_xml.named("Part").next().expect("Part"),
        );
        let genres_json: Vec<&str> = j["Genre"]
            .as_array()
            .map(|g| g.iter().filter_map(|t| t["tag"].as_str()).collect())
            .unwrap_or_default();
        let genres_xml: Vec<&str> = x.named("Genre").filter_map(|g| g.attr("tag")).collect();
        assert_eq!(genres_json, genres_xml);
    }
    assert!(control_titles > 0, "the page holds control characters");
    emulator.shutdown().await;
}

#[tokio::test]
async fn json_follows_the_real_wire_types() {
    let library = Library::generate(1_500, 12);
    let emulator = spawn(library.clone()).await;
    let json = get_json(&emulator, &tracks_path("1", 0, 2_000)).await;
    let items = metadata(&json);
    for item in &items {
        for key in [
            "ratingKey",
            "key",
            "parentRatingKey",
            "grandparentRatingKey",
        ] {
            assert!(item[key].is_string(), "{key} is a string");
        }
        assert!(
            item.as_object()
                .expect("object")
                .values()
                .all(|v| !v.is_null()),
            "no nulls"
        );
    }
    let ratings: Vec<&Value> = items.iter().filter_map(|i| i.get("userRating")).collect();
    let raw = serde_json::to_string(&json).expect("text");
    assert!(
        ratings.iter().any(|r| r.is_i64()),
        "whole ratings as integers"
    );
    assert!(
        ratings
            .iter()
            .any(|r| r.as_f64().is_some_and(|f| f.fract() == 0.0) && !r.is_i64()),
        "as 6.0"
    );
    assert!(
        raw.contains("\\u0007") || raw.contains("\\u0001"),
        "control characters stay, escaped"
    );
    let unrated = items
        .iter()
        .filter(|i| i.get("userRating").is_none())
        .count();
    assert!(unrated > items.len() / 2);
    let with_year = items
        .iter()
        .filter(|i| i.get("parentYear").is_some())
        .count();
    assert!(
        with_year > 0 && with_year < items.len(),
        "parentYear on some tracks only"
    );
    assert!(
        items.iter().any(|i| i.get("originalTitle").is_none())
            && items.iter().any(|i| i.get("originalTitle").is_some())
    );
    assert!(
        items.iter().any(|i| i.get("viewCount").is_none())
            && items.iter().any(|i| i.get("lastViewedAt").is_some())
    );
    assert!(items.iter().any(|i| i.get("Genre").is_some()));
    let empty = get_json(&emulator, "/library/sections/2/all").await;
    assert!(
        container(&empty).get("Metadata").is_none(),
        "an empty container has no Metadata"
    );
    emulator.shutdown().await;
}

// --------------------------------------------------------------- paging

async fn page_keys_by_headers(
    emulator: &EmulatorHandle,
    start: usize,
    size: usize,
) -> (Value, reqwest::header::HeaderMap) {
    let response = get(emulator, "/library/sections/1/all?type=10", true)
        .header("X-Plex-Container-Start", start.to_string())
        .header("X-Plex-Container-Size", size.to_string())
        .send()
        .await
        .expect("request");
    let headers = response.headers().clone();
    (response.json().await.expect("JSON"), headers)
}

#[tokio::test]
async fn paging_by_query_and_by_headers_gives_the_same_pages() {
    let library = Library::generate(1_200, 5);
    let total = library.tracks.iter().filter(|t| t.section == "1").count();
    let emulator = spawn(library).await;
    let mut by_query = Vec::new();
    let mut by_headers = Vec::new();
    for start in (0..total).step_by(250) {
        let page = get_json(&emulator, &tracks_path("1", start, 250)).await;
        let c = container(&page);
        assert_eq!(c["offset"], start);
        assert_eq!(c["totalSize"], total);
        assert_eq!(c["size"].as_u64(), Some(metadata(&page).len() as u64));
        by_query.extend(rating_keys(&page));
        let (page, headers) = page_keys_by_headers(&emulator, start, 250).await;
        assert_eq!(
            headers["X-Plex-Container-Start"],
            start.to_string().as_str()
        );
        assert_eq!(
            headers["X-Plex-Container-Total-Size"],
            total.to_string().as_str()
        );
        by_headers.extend(rating_keys(&page));
    }
    assert_eq!(by_query.len(), total);
    assert_eq!(by_query, by_headers);
    let unpaged = get_json(&emulator, "/library/sections/1/all?type=10").await;
    assert_eq!(rating_keys(&unpaged), by_query, "default order, everything");
    assert!(
        container(&unpaged).get("totalSize").is_none()
            && container(&unpaged).get("offset").is_none()
    );
    emulator.shutdown().await;
}

#[tokio::test]
async fn paging_through_100k_tracks_returns_each_key_exactly_once() {
    let library = Library::generate(100_000, 9);
    let expected: HashSet<u64> = library.tracks.iter().map(|t| t.rating_key).collect();
    let emulator = spawn(library).await;
    let mut seen = Vec::new();
    for section in ["1", "3"] {
        let mut start = 0;
        loop {
            // The default order: by title, ties broken by rating key.
            let response = get(&emulator, &tracks_path(section, start, 5_000), true);
            let page: KeysPage = response
                .send()
                .await
                .expect("request")
                .json()
                .await
                .expect("page");
            start += page.container.metadata.len();
            seen.extend(
                page.container
                    .metadata
                    .iter()
                    .map(|m| m.rating_key.parse::<u64>().expect("key")),
            );
            if start >= page.container.total_size {
                break;
            }
        }
    }
    assert_eq!(seen.len(), 100_000);
    assert_eq!(seen.iter().copied().collect::<HashSet<u64>>(), expected);
    emulator.shutdown().await;
}

/// Only the keys of a page (parsing whole items of 100,000 tracks is slow
/// in a debug build).
#[derive(serde::Deserialize)]
struct KeysPage {
    #[serde(rename = "MediaContainer")]
    container: KeysContainer,
}

#[derive(serde::Deserialize)]
struct KeysContainer {
    #[serde(rename = "totalSize")]
    total_size: usize,
    #[serde(rename = "Metadata", default)]
    metadata: Vec<KeyOnly>,
}

#[derive(serde::Deserialize)]
struct KeyOnly {
    #[serde(rename = "ratingKey")]
    rating_key: String,
}

#[tokio::test]
async fn sorting_orders_by_the_requested_field() {
    let emulator = spawn(Library::generate(800, 4)).await;
    let keys = |json: &Value| rating_keys(json);
    let ascending =
        keys(&get_json(&emulator, "/library/sections/1/all?type=10&sort=ratingKey").await);
    let descending = keys(
        &get_json(
            &emulator,
            "/library/sections/1/all?type=10&sort=ratingKey:desc",
        )
        .await,
    );
    assert!(ascending.windows(2).all(|w| w[0] < w[1]));
    assert_eq!(
        descending.iter().rev().copied().collect::<Vec<_>>(),
        ascending
    );
    let added = get_json(
        &emulator,
        "/library/sections/1/all?type=9&sort=addedAt:desc",
    )
    .await;
    let times: Vec<i64> = metadata(&added)
        .iter()
        .map(|a| a["addedAt"].as_i64().expect("addedAt"))
        .collect();
    assert!(times.windows(2).all(|w| w[0] >= w[1]));
    let response = get(
        &emulator,
        "/library/sections/1/all?type=10&sort=colour",
        true,
    )
    .send()
    .await
    .expect("request");
    assert_eq!(response.status(), 400);
    emulator.shutdown().await;
}

#[tokio::test]
async fn size_zero_returns_only_the_total() {
    let library = Library::generate(600, 6);
    let albums = library.albums.iter().filter(|a| a.section == "1").count();
    let emulator = spawn(library).await;
    let json = get_json(
        &emulator,
        "/library/sections/1/all?type=9&X-Plex-Container-Start=0&X-Plex-Container-Size=0",
    )
    .await;
    assert_eq!(container(&json)["totalSize"], albums);
    assert_eq!(container(&json)["size"], 0);
    assert!(container(&json).get("Metadata").is_none());
    emulator.shutdown().await;
}

// ---------------------------------------------------------------- auth

#[tokio::test]
async fn requests_without_the_right_token_get_401_html() {
    let emulator = spawn(Library::generate(50, 1)).await;
    let url = format!("{}/library/sections", emulator.url());
    for token in [None, Some("wrong")] {
        let mut request = client().get(&url).header("Accept", "application/json");
        if let Some(token) = token {
            request = request.header("X-Plex-Token", token);
        }
        let response = request.send().await.expect("request");
        assert_eq!(response.status(), 401);
        let content_type = response.headers()["content-type"]
            .to_str()
            .expect("header")
            .to_string();
        assert!(content_type.starts_with("text/html"), "{content_type}");
    }
    let by_query = client()
        .get(format!("{url}?X-Plex-Token={TOKEN}"))
        .send()
        .await
        .expect("request");
    assert_eq!(by_query.status(), 200);
    let identity = client()
        .get(format!("{}/identity", emulator.url()))
        .header("Accept", "application/json");
    let identity: Value = identity
        .send()
        .await
        .expect("request")
        .json()
        .await
        .expect("JSON");
    assert!(container(&identity)["machineIdentifier"].is_string());
    assert!(container(&identity)["version"].is_string());
    emulator.shutdown().await;
}

// ---------------------------------------------------- metadata and children

fn album_track_counts(library: &Library) -> HashMap<u64, u64> {
    let mut counts = HashMap::new();
    for track in &library.tracks {
        *counts.entry(track.album_key).or_insert(0) += 1;
    }
    counts
}

#[tokio::test]
async fn metadata_gives_full_genre_lists_where_listings_give_three() {
    let library = Library::generate(1_000, 8);
    let album = library
        .albums
        .iter()
        .find(|a| a.section == "1" && a.genres.len() > 3)
        .expect("album")
        .clone();
    let track = library.tracks[0].clone();
    let emulator = spawn(library).await;
    let listing = get_json(&emulator, "/library/sections/1/all?type=9").await;
    let listed = metadata(&listing);
    assert!(
        listed
            .iter()
            .all(|a| a["Genre"].as_array().is_none_or(|g| g.len() <= 3))
    );
    // Album listings carry leafCount, as real listings do.
    let album_sizes = album_track_counts(&emulator.library());
    assert!(listed.iter().all(|a| {
        let key: u64 = a["ratingKey"]
            .as_str()
            .and_then(|k| k.parse().ok())
            .unwrap_or(0);
        a["leafCount"].as_u64() == Some(album_sizes.get(&key).copied().unwrap_or(0))
    }));
    let album_key = album.rating_key.to_string();
    let entry = listed
        .iter()
        .find(|a| a["ratingKey"].as_str() == Some(album_key.as_str()))
        .expect("listed");
    assert_eq!(entry["Genre"].as_array().map(Vec::len), Some(3));

    let path = format!(
        "/library/metadata/{},{},{},999999999",
        album.rating_key, track.rating_key, album.artist_key
    );
    let answer = get_json(&emulator, &path).await;
    let items = metadata(&answer);
    let types: Vec<&str> = items.iter().filter_map(|i| i["type"].as_str()).collect();
    assert_eq!(types, ["album", "track", "artist"]);
    let genres: Vec<&str> = items[0]["Genre"]
        .as_array()
        .expect("genres")
        .iter()
        .filter_map(|g| g["tag"].as_str())
        .collect();
    assert_eq!(
        genres,
        album.genres.iter().map(String::as_str).collect::<Vec<_>>()
    );
    assert!(items[0]["leafCount"].is_u64());
    let missing = get(&emulator, "/library/metadata/999999999", true)
        .send()
        .await
        .expect("request");
    assert_eq!(missing.status(), 404);
    emulator.shutdown().await;
}

#[tokio::test]
async fn children_answers_put_parent_fields_on_the_container() {
    let library = Library::generate(1_000, 10);
    let album = library
        .albums
        .iter()
        .find(|a| a.year.is_some() && !a.title.is_empty() && a.deleted_at.is_none())
        .expect("album")
        .clone();
    let album_tracks = library
        .tracks
        .iter()
        .filter(|t| t.album_key == album.rating_key)
        .count();
    let artist = library
        .artists
        .iter()
        .find(|a| a.rating_key == album.artist_key)
        .expect("artist")
        .clone();
    let emulator = spawn(library.clone()).await;
    let answer = get_json(
        &emulator,
        &format!("/library/metadata/{}/children", album.rating_key),
    )
    .await;
    let c = container(&answer);
    assert_eq!(c["parentTitle"], album.title.as_str());
    assert_eq!(
        c["parentYear"].as_str(),
        album.year.map(|y| y.to_string()).as_deref()
    );
    if !artist.title.is_empty() {
        assert_eq!(c["grandparentTitle"], artist.title.as_str());
    }
    let tracks = metadata(&answer);
    assert_eq!(tracks.len(), album_tracks);
    for track in &tracks {
        for absent in ["parentTitle", "grandparentTitle", "parentYear"] {
            assert!(track.get(absent).is_none(), "{absent} on a child track");
        }
    }
    let albums = get_json(
        &emulator,
        &format!("/library/metadata/{}/children", artist.rating_key),
    )
    .await;
    let expected = library
        .albums
        .iter()
        .filter(|a| a.artist_key == artist.rating_key)
        .count();
    assert_eq!(metadata(&albums).len(), expected);
    assert!(metadata(&albums).iter().all(|a| a["type"] == "album"));
    emulator.shutdown().await;
}

#[tokio::test]
async fn sections_and_their_errors() {
    let emulator = spawn(Library::generate(300, 2)).await;
    let sections = get_json(&emulator, "/library/sections").await;
    let directories = container(&sections)["Directory"]
        .as_array()
        .expect("Directory")
        .clone();
    let types: Vec<&str> = directories
        .iter()
        .filter_map(|d| d["type"].as_str())
        .collect();
    assert_eq!(types, ["artist", "movie", "artist"]);
    assert!(
        directories
            .iter()
            .all(|d| d["key"].is_string() && d["uuid"].is_string() && d["updatedAt"].is_i64())
    );
    let library_root = get_xml(&emulator, "/library").await;
    assert!(
        library_root
            .named("Directory")
            .any(|d| d.attr("key") == Some("sections"))
    );
    for (path, status) in [
        ("/library/sections/9/all?type=10", 404),
        ("/library/sections/2/all?type=10", 400),
        ("/library/sections/1/all?type=4", 400),
        (
            "/library/sections/1/all?type=10&X-Plex-Container-Start=-1",
            400,
        ),
        ("/nothing/here", 404),
    ] {
        let response = get(&emulator, path, true).send().await.expect("request");
        assert_eq!(response.status(), status, "{path}");
    }
    emulator.shutdown().await;
}

// -------------------------------------------------------------- playlists

fn playlist_uri(machine: &str, keys: &[u64]) -> String {
    let keys: Vec<String> = keys.iter().map(u64::to_string).collect();
    format!(
        "server://{machine}/com.plexapp.plugins.library/library/metadata/{}",
        keys.join(",")
    )
}

#[tokio::test]
async fn playlists_are_created_extended_listed_and_limited_by_uri_length() {
    let library = Library::generate(400, 13);
    let keys: Vec<u64> = library.tracks.iter().map(|t| t.rating_key).collect();
    let mut config = EmulatorConfig::new(library, TOKEN);
    config.max_url_len = 2_000;
    let machine = config.machine_identifier.clone();
    let emulator = spawn_with(config).await;
    let http = client();
    let mut first: Vec<u64> = keys[..10].to_vec();
    first.push(999_999_999);
    let create = http
        .post(format!("{}/playlists", emulator.url()))
        .query(&[
            ("type", "audio"),
            ("title", "Road & Trip"),
            ("smart", "0"),
            ("uri", &playlist_uri(&machine, &first)),
        ])
        .header("X-Plex-Token", TOKEN)
        .send()
        .await
        .expect("create");
    assert_eq!(create.status(), 200);
    let created = parse_xml(&create.text().await.expect("body")).expect("XML");
    let playlist = created.named("Playlist").next().expect("Playlist").clone();
    assert_eq!(
        playlist.attr("leafCount"),
        Some("10"),
        "the unknown key is left out"
    );
    assert_eq!(playlist.attr("smart"), Some("0"));
    assert_eq!(playlist.attr("playlistType"), Some("audio"));
    assert_eq!(playlist.attr("title"), Some("Road & Trip"));
    let id = playlist.attr("ratingKey").expect("ratingKey").to_string();
    assert_eq!(
        playlist.attr("key"),
        Some(format!("/playlists/{id}/items").as_str())
    );

    let add = http
        .put(format!("{}/playlists/{id}/items", emulator.url()))
        .query(&[("uri", playlist_uri(&machine, &keys[10..15]))])
        .header("X-Plex-Token", TOKEN)
        .send()
        .await
        .expect("add");
    assert_eq!(add.status(), 200);
    let items = get_json(&emulator, &format!("/playlists/{id}/items")).await;
    assert_eq!(rating_keys(&items), keys[..15].to_vec());
    let listed = get_json(&emulator, "/playlists?playlistType=audio").await;
    assert_eq!(metadata(&listed).len(), 1);
    assert_eq!(emulator.playlists()[0].items, keys[..15].to_vec());

    let too_long = http
        .post(format!("{}/playlists", emulator.url()))
        .query(&[
            ("type", "audio"),
            ("title", "Big"),
            ("smart", "0"),
            ("uri", &playlist_uri(&machine, &keys[..300])),
        ])
        .header("X-Plex-Token", TOKEN)
        .send()
        .await
        .expect("create");
    assert_eq!(too_long.status(), 414);
    assert_eq!(emulator.playlists().len(), 1);
    emulator.shutdown().await;
}

// ----------------------------------------------------------------- faults

async fn track_page_status(
    emulator: &EmulatorHandle,
    start: usize,
) -> Result<(u16, String), reqwest::Error> {
    let response = get(emulator, &tracks_path("1", start, 20), true)
        .send()
        .await?;
    let status = response.status().as_u16();
    Ok((status, response.text().await?))
}

fn page_fault(kind: PageFaultKind, after: u32, times: u32) -> Faults {
    Faults {
        page_fault: Some(PageFault { kind, after, times }),
        ..Faults::default()
    }
}

#[tokio::test]
async fn error500_fails_the_chosen_pages_only() {
    let emulator = spawn(Library::generate(300, 14)).await;
    emulator.set_faults(page_fault(PageFaultKind::Error500, 1, 2));
    let mut statuses = Vec::new();
    for start in [0, 20, 20, 20, 40] {
        statuses.push(track_page_status(&emulator, start).await.expect("answer").0);
    }
    assert_eq!(statuses, [200, 500, 500, 200, 200]);
    let albums = get(
        &emulator,
        "/library/sections/1/all?type=9&X-Plex-Container-Size=5",
        true,
    )
    .send()
    .await;
    assert_eq!(
        albums.expect("request").status(),
        200,
        "only track pages fail"
    );
    emulator.shutdown().await;
}

#[tokio::test]
async fn hang_never_answers_until_the_client_gives_up() {
    let emulator = spawn(Library::generate(300, 15)).await;
    emulator.set_faults(page_fault(PageFaultKind::Hang, 0, 1));
    let impatient = reqwest::Client::builder()
        .timeout(Duration::from_millis(400))
        .build()
        .expect("client");
    let started = Instant::now();
    let outcome = impatient
        .get(format!("{}{}", emulator.url(), tracks_path("1", 0, 20)))
        .header("X-Plex-Token", TOKEN)
        .send()
        .await;
    let error = outcome.expect_err("no answer");
    assert!(error.is_timeout(), "{error}");
    assert!(started.elapsed() >= Duration::from_millis(400));
    assert_eq!(
        track_page_status(&emulator, 0).await.expect("answer").0,
        200,
        "the next page answers"
    );
    emulator.shutdown().await;
}

#[tokio::test]
async fn drop_closes_the_connection_mid_body() {
    let emulator = spawn(Library::generate(300, 16)).await;
    emulator.set_faults(page_fault(PageFaultKind::Drop, 0, 1));
    assert!(
        track_page_status(&emulator, 0).await.is_err(),
        "the body never completes"
    );
    assert_eq!(
        track_page_status(&emulator, 0).await.expect("answer").0,
        200
    );
    emulator.shutdown().await;
}

#[tokio::test]
async fn malformed_truncated_and_wrong_type_bodies_come_with_200() {
    let emulator = spawn(Library::generate(300, 17)).await;
    for kind in [PageFaultKind::Malformed, PageFaultKind::Truncated] {
        emulator.set_faults(page_fault(kind, 0, 0));
        let (status, body) = track_page_status(&emulator, 0).await.expect("answer");
        assert_eq!(status, 200);
        assert!(
            serde_json::from_str::<Value>(&body).is_err(),
            "{kind:?} JSON must not parse"
        );
        let xml = get(&emulator, &tracks_path("1", 0, 20), false)
            .send()
            .await
            .expect("request");
        assert!(
            parse_xml(&xml.text().await.expect("body")).is_err(),
            "{kind:?} XML must not parse"
        );
    }
    emulator.set_faults(page_fault(PageFaultKind::WrongTypes, 0, 0));
    for _ in 0..3 {
        let (status, body) = track_page_status(&emulator, 0).await.expect("answer");
        assert_eq!(status, 200);
        let value: Value = serde_json::from_str(&body).expect("well-formed JSON");
        let items = &value["MediaContainer"]["Metadata"];
        let first = if items.is_array() { &items[0] } else { items };
        let right =
            items.is_array() && first["ratingKey"].is_string() && !first["duration"].is_string();
        assert!(!right, "wrong types expected in {body}");
    }
    emulator.shutdown().await;
}

#[tokio::test]
async fn unauthorized_after_turns_every_request_into_401() {
    let emulator = spawn(Library::generate(100, 18)).await;
    emulator.set_faults(Faults {
        unauthorized_after: Some(3),
        ..Faults::default()
    });
    let mut statuses = Vec::new();
    for _ in 0..5 {
        statuses.push(
            get(&emulator, "/library/sections", true)
                .send()
                .await
                .expect("request")
                .status()
                .as_u16(),
        );
    }
    assert_eq!(statuses, [200, 200, 200, 401, 401]);
    emulator.shutdown().await;
}

#[tokio::test]
async fn offline_after_items_refuses_connections_until_online_again() {
    let emulator = spawn(Library::generate(300, 19)).await;
    emulator.set_faults(Faults {
        offline_after_items: Some(30),
        ..Faults::default()
    });
    assert_eq!(
        track_page_status(&emulator, 0).await.expect("answer").0,
        200
    );
    assert_eq!(
        track_page_status(&emulator, 20)
            .await
            .expect("the page crossing the limit")
            .0,
        200
    );
    let error = track_page_status(&emulator, 40).await.expect_err("offline");
    assert!(error.is_connect() || error.is_request(), "{error}");
    let refused = tokio::net::TcpStream::connect(emulator.addr()).await;
    assert!(refused.is_err(), "the port refuses connections");
    emulator.set_faults(Faults::default());
    emulator.set_online(true);
    assert_eq!(
        track_page_status(&emulator, 40)
            .await
            .expect("online again")
            .0,
        200
    );
    emulator.set_online(false);
    assert!(
        tokio::net::TcpStream::connect(emulator.addr())
            .await
            .is_err()
    );
    emulator.set_online(true);
    assert_eq!(
        track_page_status(&emulator, 0)
            .await
            .expect("online again")
            .0,
        200
    );
    emulator.shutdown().await;
}

#[tokio::test]
async fn shifting_library_moves_offsets_between_pages() {
    let library = Library::generate(400, 20);
    let before = library.tracks.len();
    let emulator = spawn(library).await;
    emulator.set_faults(Faults {
        shift_per_page: Some(Shift { add: 2, remove: 3 }),
        ..Faults::default()
    });
    let mut seen = HashSet::new();
    let mut totals = Vec::new();
    let mut pages = 0;
    let mut start = 0;
    loop {
        let page = get_json(
            &emulator,
            &format!("{}&sort=ratingKey", tracks_path("1", start, 50)),
        )
        .await;
        let total = container(&page)["totalSize"].as_u64().expect("totalSize") as usize;
        totals.push(total);
        seen.extend(rating_keys(&page));
        pages += 1;
        start += 50;
        if start >= total {
            break;
        }
    }
    let after = emulator.library();
    assert_eq!(after.tracks.len(), before + pages * 2 - pages * 3);
    assert!(
        totals.windows(2).all(|w| w[1] == w[0] - 1),
        "totalSize shrinks by one a page: {totals:?}"
    );
    let current: HashSet<u64> = after
        .tracks
        .iter()
        .filter(|t| t.section == "1")
        .map(|t| t.rating_key)
        .collect();
    assert!(
        !current.is_subset(&seen),
        "naive offset paging misses tracks"
    );
    emulator.shutdown().await;
}

#[tokio::test]
async fn page_size_cap_and_missing_total_size() {
    let emulator = spawn(Library::generate(300, 21)).await;
    emulator.set_faults(Faults {
        page_size_cap: Some(7),
        ..Faults::default()
    });
    let page = get_json(&emulator, &tracks_path("1", 0, 100)).await;
    assert_eq!(metadata(&page).len(), 7);
    assert_eq!(container(&page)["size"], 7);
    assert!(container(&page)["totalSize"].as_u64().expect("total") > 7);

    emulator.set_faults(Faults {
        omit_total_size: true,
        ..Faults::default()
    });
    let response = get(&emulator, &tracks_path("1", 0, 100), true)
        .send()
        .await
        .expect("request");
    assert!(
        response
            .headers()
            .get("X-Plex-Container-Total-Size")
            .is_none()
    );
    let page: Value = response.json().await.expect("JSON");
    assert!(container(&page).get("totalSize").is_none());
    assert_eq!(metadata(&page).len(), 100);
    emulator.shutdown().await;
}

#[tokio::test]
async fn latency_delays_requests_and_items() {
    let emulator = spawn(Library::generate(300, 22)).await;
    emulator.set_faults(Faults {
        latency_ms: 150,
        ..Faults::default()
    });
    let started = Instant::now();
    get_json(&emulator, "/library/sections").await;
    assert!(started.elapsed() >= Duration::from_millis(150));
    emulator.set_faults(Faults {
        item_latency_us: 2_000,
        ..Faults::default()
    });
    let started = Instant::now();
    get_json(&emulator, &tracks_path("1", 0, 100)).await;
    assert!(started.elapsed() >= Duration::from_millis(200));
    emulator.shutdown().await;
}

#[tokio::test]
async fn control_endpoint_sets_faults_mutates_and_reports() {
    let emulator = spawn(Library::generate(200, 23)).await;
    let http = client();
    let control = |path: &str| format!("{}/_emulator{path}", emulator.url());
    let faults = r#"{"page_fault":{"kind":"error500","after":0,"times":1},"latency_ms":1}"#;
    let put = http
        .put(control("/faults"))
        .body(faults)
        .send()
        .await
        .expect("put faults");
    assert_eq!(put.status(), 200);
    assert_eq!(
        emulator.faults().page_fault.map(|p| p.kind),
        Some(PageFaultKind::Error500)
    );
    let read: Faults = http
        .get(control("/faults"))
        .send()
        .await
        .expect("get")
        .json()
        .await
        .expect("JSON");
    assert_eq!(read, emulator.faults());
    let bad = http
        .put(control("/faults"))
        .body(r#"{"latency":1}"#)
        .send()
        .await
        .expect("put");
    assert_eq!(bad.status(), 400);

    let added: Vec<u64> = http
        .post(control("/mutations"))
        .body(r#"{"op":"add","count":2}"#)
        .send()
        .await
        .expect("post")
        .json()
        .await
        .expect("keys");
    assert_eq!(added.len(), 2);
    let library: Library = http
        .get(control("/library"))
        .send()
        .await
        .expect("get")
        .json()
        .await
        .expect("library");
    assert!(
        added
            .iter()
            .all(|k| library.tracks.iter().any(|t| t.rating_key == *k))
    );
    let unknown = http
        .post(control("/mutations"))
        .body(r#"{"op":"play","rating_key":1}"#)
        .send()
        .await
        .expect("post");
    assert_eq!(unknown.status(), 404);

    let renamed = http
        .put(control("/machine-identifier"))
        .body(r#""new-machine""#)
        .send()
        .await
        .expect("put");
    assert_eq!(renamed.status(), 200);
    let identity: Value = http
        .get(format!("{}/identity", emulator.url()))
        .header("Accept", "application/json")
        .send()
        .await
        .expect("identity")
        .json()
        .await
        .expect("JSON");
    assert_eq!(container(&identity)["machineIdentifier"], "new-machine");

    let stats: Value = http
        .get(control("/stats"))
        .send()
        .await
        .expect("stats")
        .json()
        .await
        .expect("JSON");
    assert!(stats["requests"].as_u64().expect("requests") >= 1);
    let playlists: Value = http
        .get(control("/playlists"))
        .send()
        .await
        .expect("get")
        .json()
        .await
        .expect("JSON");
    assert_eq!(playlists, serde_json::json!([]));
    emulator.shutdown().await;
}

// -------------------------------------------------------------- mutations

async fn track_json(emulator: &EmulatorHandle, key: u64) -> Value {
    let answer = get_json(emulator, &format!("/library/metadata/{key}")).await;
    metadata(&answer).into_iter().next().expect("track")
}

#[tokio::test]
async fn mutations_show_up_in_the_next_answers() {
    let library = Library::generate(300, 24);
    let section_total = library.tracks.iter().filter(|t| t.section == "1").count();
    let emulator = spawn(library.clone()).await;
    let added = emulator.mutate(Mutation::Add { count: 3 }).expect("add");
    let listing = get_json(&emulator, "/library/sections/1/all?type=10").await;
    let listed: HashSet<u64> = rating_keys(&listing).into_iter().collect();
    assert_eq!(listed.len(), section_total + 3);
    assert!(added.iter().all(|k| listed.contains(k)));

    let victim = library
        .tracks
        .iter()
        .find(|t| t.section == "1")
        .expect("track")
        .rating_key;
    emulator
        .mutate(Mutation::Remove {
            rating_keys: vec![victim],
        })
        .expect("remove");
    let listing = get_json(&emulator, "/library/sections/1/all?type=10").await;
    assert!(!rating_keys(&listing).contains(&victim));
    let gone = get(&emulator, &format!("/library/metadata/{victim}"), true)
        .send()
        .await
        .expect("request");
    assert_eq!(gone.status(), 404);

    let key = added[0];
    let edit = Mutation::Edit {
        rating_key: key,
        title: Some("Renamed <& Co>".into()),
        original_title: Some("Guest".into()),
    };
    emulator.mutate(edit).expect("edit");
    emulator
        .mutate(Mutation::Rate {
            rating_key: key,
            rating: Some(7.5),
        })
        .expect("rate");
    emulator
        .mutate(Mutation::Play { rating_key: key })
        .expect("play");
    emulator
        .mutate(Mutation::Play { rating_key: key })
        .expect("play");
    let track = track_json(&emulator, key).await;
    assert_eq!(track["title"], "Renamed <& Co>");
    assert_eq!(track["originalTitle"], "Guest");
    assert_eq!(track["userRating"], 7.5);
    assert_eq!(track["viewCount"], 2);
    assert!(track["lastViewedAt"].is_i64());
    emulator
        .mutate(Mutation::Rate {
            rating_key: key,
            rating: None,
        })
        .expect("unrate");
    assert!(track_json(&emulator, key).await.get("userRating").is_none());
    assert!(
        emulator
            .mutate(Mutation::Rate {
                rating_key: key,
                rating: Some(12.0)
            })
            .is_err()
    );
    let stats = emulator.stats();
    assert!(stats.requests >= 5 && stats.items_served >= 2 * section_total as u64);
    emulator.shutdown().await;
}

#[tokio::test]
async fn refused_sorts_get_500_and_other_sorts_still_answer() {
    let library = Library::generate(120, 23);
    let in_one = library.tracks.iter().filter(|t| t.section == "1").count();
    let emulator = spawn(library).await;
    emulator.set_faults(Faults {
        refuse_sorts: vec!["ratingKey".into(), "addedAt".into()],
        ..Faults::default()
    });
    let listing = |sort: &str| format!("/library/sections/1/all?type=10&sort={sort}");
    for refused in ["ratingKey", "addedAt:asc", "addedAt:desc"] {
        let response = get(&emulator, &listing(refused), true)
            .send()
            .await
            .expect("request");
        assert_eq!(response.status(), 500, "{refused}");
    }
    let by_id = get_json(&emulator, &listing("id")).await;
    let keys = rating_keys(&by_id);
    assert_eq!(keys.len(), in_one);
    assert!(keys.windows(2).all(|w| w[0] < w[1]), "id orders by key");
    let unsorted = get_json(&emulator, "/library/sections/1/all?type=10").await;
    assert_eq!(metadata(&unsorted).len(), in_one);
    emulator.shutdown().await;
}

#[tokio::test]
async fn duplicated_tracks_are_listed_twice_and_counted() {
    let library = Library::generate(50, 24);
    let in_one = library.tracks.iter().filter(|t| t.section == "1").count();
    let emulator = spawn(library).await;
    emulator.set_faults(Faults {
        duplicate_tracks: 2,
        ..Faults::default()
    });
    let all = "/library/sections/1/all?type=10&sort=ratingKey";
    let keys = rating_keys(&get_json(&emulator, all).await);
    assert_eq!(keys.len(), in_one + 2);
    assert_eq!((keys[0], keys[2]), (keys[1], keys[3]));
    let page = get_json(&emulator, &tracks_path("1", 0, 10)).await;
    assert_eq!(container(&page)["totalSize"], in_one as u64 + 2);
    // Albums are never duplicated.
    let albums = get_json(&emulator, "/library/sections/1/all?type=9").await;
    let album_keys = rating_keys(&albums);
    let distinct: HashSet<u64> = album_keys.iter().copied().collect();
    assert_eq!(distinct.len(), album_keys.len());
    emulator.shutdown().await;
}

#[tokio::test]
async fn a_track_can_carry_its_name_only_in_title_sort() {
    let mut library = Library::generate(20, 25);
    library.tracks[0].title = String::new();
    library.tracks[0].title_sort = Some("Hidden Name".into());
    let key = library.tracks[0].rating_key;
    let emulator = spawn(library).await;
    let track = track_json(&emulator, key).await;
    assert_eq!(track["title"], "");
    assert_eq!(track["titleSort"], "Hidden Name");
    emulator.shutdown().await;
}
