//! The emulator's notification stream over real connections on loopback:
//! WebSocket (both paths) and server-sent events, the token, filters, the
//! frames each change sends with their noise, a storm, and the drop,
//! frame-budget, restart and offline faults.

use std::collections::{HashMap, HashSet};
use std::time::Duration;

use futures::StreamExt;
use plexcache_emulator::{EmulatorConfig, EmulatorHandle, Faults, Library, Mutation, start};
use serde_json::Value;
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream, connect_async};

const TOKEN: &str = "notify-token";
const PING: Duration = Duration::from_millis(100);

type Socket = WebSocketStream<MaybeTlsStream<TcpStream>>;

async fn spawn(tracks: usize, seed: u64) -> EmulatorHandle {
    let mut config = EmulatorConfig::new(Library::generate(tracks, seed), TOKEN);
    config.ping_interval = PING;
    config.noise_interval = None;
    config.restart_pause = Duration::from_millis(400);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind loopback");
    start(listener, config).await.expect("start emulator")
}

fn ws_url(emulator: &EmulatorHandle, path: &str, query: &str) -> String {
    format!("ws://{}{path}?{query}", emulator.addr())
}

/// Connects to the WebSocket with the token as a query parameter, and
/// waits until the emulator counts the client.
async fn connect(emulator: &EmulatorHandle, extra: &str) -> Socket {
    let url = ws_url(
        emulator,
        "/:/websockets/notifications",
        &format!("X-Plex-Token={TOKEN}{extra}"),
    );
    let before = emulator.notification_clients();
    let (socket, _) = connect_async(url).await.expect("connect");
    wait_for_clients(emulator, before + 1).await;
    socket
}

async fn wait_for_clients(emulator: &EmulatorHandle, clients: usize) {
    for _ in 0..500 {
        if emulator.notification_clients() == clients {
            return;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!(
        "{} notification clients, not {clients}",
        emulator.notification_clients()
    );
}

/// The next frame's container, skipping pings; `None` when the stream
/// ends or nothing comes within `within`.
async fn next_frame(socket: &mut Socket, within: Duration) -> Option<Value> {
    let until = tokio::time::Instant::now() + within;
    loop {
        let message = tokio::time::timeout_at(until, socket.next()).await.ok()??;
        match message.ok()? {
            Message::Text(text) => {
                let value: Value = serde_json::from_str(&text).expect("a JSON frame");
                return Some(value["NotificationContainer"].clone());
            }
            Message::Close(_) => return None,
            _ => {}
        }
    }
}

/// Frames until `done` says so (that frame included), or panics.
async fn frames_until(socket: &mut Socket, done: impl Fn(&Value) -> bool) -> Vec<Value> {
    let mut frames = Vec::new();
    while let Some(frame) = next_frame(socket, Duration::from_secs(10)).await {
        let finished = done(&frame);
        frames.push(frame);
        if finished {
            return frames;
        }
    }
    panic!("the stream ended before the awaited frame: {frames:?}");
}

fn entries(frame: &Value) -> Vec<Value> {
    frame["TimelineEntry"]
        .as_array()
        .cloned()
        .unwrap_or_default()
}

/// A timeline entry's `itemID`, which must be a string.
fn item_id(entry: &Value) -> Option<u64> {
    entry["itemID"].as_str()?.parse().ok()
}

fn is_status(frame: &Value) -> bool {
    frame["type"] == "status"
}

fn first_track(emulator: &EmulatorHandle) -> u64 {
    emulator
        .library()
        .tracks
        .iter()
        .find(|t| t.section == "1")
        .map(|t| t.rating_key)
        .expect("a track")
}

fn edit(key: u64, title: &str) -> Mutation {
    Mutation::Edit {
        rating_key: key,
        title: Some(title.to_string()),
        original_title: None,
    }
}

#[tokio::test]
async fn an_edit_sends_a_processed_entry_on_both_websocket_paths() {
    let emulator = spawn(200, 41).await;
    let key = first_track(&emulator);
    let mut plural = connect(&emulator, "").await;
    let url = ws_url(
        &emulator,
        "/:/websocket/notifications",
        &format!("X-Plex-Token={TOKEN}"),
    );
    let (mut singular, _) = connect_async(url).await.expect("connect singular");
    wait_for_clients(&emulator, 2).await;
    emulator.mutate(edit(key, "Fresh")).expect("edit");
    let updated_at = emulator
        .library()
        .tracks
        .iter()
        .find(|t| t.rating_key == key)
        .map(|t| t.updated_at)
        .expect("the track");
    for socket in [&mut plural, &mut singular] {
        let frame = next_frame(socket, Duration::from_secs(5))
            .await
            .expect("a frame");
        assert_eq!(frame["type"], "timeline");
        let listed = entries(&frame);
        assert_eq!(frame["size"], listed.len());
        let entry = listed
            .iter()
            .find(|e| item_id(e) == Some(key))
            .expect("the track's entry");
        assert_eq!(entry["identifier"], "com.plexapp.plugins.library");
        assert_eq!(entry["sectionID"], "1");
        assert_eq!(entry["type"], 10);
        assert_eq!(entry["state"], 5);
        assert_eq!(entry["title"], "Fresh");
        assert_eq!(entry["updatedAt"], updated_at);
        assert!(
            listed
                .iter()
                .any(|e| e["itemID"] == "0" && e["sectionID"] == "-1"),
            "noise rides along"
        );
    }
}

#[tokio::test]
async fn streams_need_the_token_by_header_or_query() {
    let emulator = spawn(50, 42).await;
    for query in ["", "X-Plex-Token=wrong"] {
        let url = ws_url(&emulator, "/:/websockets/notifications", query);
        match connect_async(url).await {
            Err(tokio_tungstenite::tungstenite::Error::Http(response)) => {
                assert_eq!(response.status(), 401)
            }
            other => panic!("expected 401, got {:?}", other.map(|_| ())),
        }
    }
    let mut request = ws_url(&emulator, "/:/websockets/notifications", "")
        .into_client_request()
        .expect("request");
    request
        .headers_mut()
        .insert("X-Plex-Token", TOKEN.parse().expect("header"));
    let (_socket, _) = connect_async(request).await.expect("token in a header");
    wait_for_clients(&emulator, 1).await;
    let http = reqwest::Client::new();
    let sse = format!("{}/:/eventsource/notifications", emulator.url());
    let refused = http.get(&sse).send().await.expect("request");
    assert_eq!(refused.status(), 401);
    let other = http
        .get(format!("{}/x/websockets/notifications", emulator.url()))
        .header("X-Plex-Token", TOKEN)
        .send()
        .await
        .expect("request");
    assert_eq!(other.status(), 404);
}

/// Reads server-sent events until `enough` says so; answers `(event,
/// data)` pairs.
async fn read_events(
    response: &mut reqwest::Response,
    enough: impl Fn(&[(String, String)]) -> bool,
) -> Vec<(String, String)> {
    let mut text = String::new();
    let mut events = Vec::new();
    while !enough(&events) {
        let chunk = tokio::time::timeout(Duration::from_secs(5), response.chunk())
            .await
            .expect("an event in time")
            .expect("readable")
            .expect("not ended");
        text.push_str(std::str::from_utf8(&chunk).expect("UTF-8"));
        while let Some(end) = text.find("\n\n") {
            let block: String = text.drain(..end + 2).collect();
            let mut event = String::new();
            let mut data = String::new();
            for line in block.lines() {
                if let Some(name) = line.strip_prefix("event: ") {
                    event = name.to_string();
                } else if let Some(value) = line.strip_prefix("data: ") {
                    data = value.to_string();
                }
            }
            events.push((event, data));
        }
    }
    events
}

fn frames_of(events: &[(String, String)]) -> Vec<&(String, String)> {
    events.iter().filter(|(event, _)| event != "ping").collect()
}

#[tokio::test]
async fn event_source_sends_typed_frames_and_pings() {
    let emulator = spawn(100, 43).await;
    let key = first_track(&emulator);
    let mut response = reqwest::Client::new()
        .get(format!(
            "{}/:/eventsource/notifications?filters=timeline",
            emulator.url()
        ))
        .header("X-Plex-Token", TOKEN)
        .send()
        .await
        .expect("request");
    assert_eq!(response.status(), 200);
    assert_eq!(
        response.headers()["content-type"].to_str().ok(),
        Some("text/event-stream")
    );
    wait_for_clients(&emulator, 1).await;
    emulator.mutate(edit(key, "Streamed")).expect("edit");
    emulator
        .mutate(Mutation::Play { rating_key: key })
        .expect("play");
    emulator.mutate(edit(key, "Again")).expect("edit");
    let events = read_events(&mut response, |events| frames_of(events).len() >= 2).await;
    let frames = frames_of(&events);
    assert!(
        frames.iter().all(|(event, _)| event == "timeline"),
        "{events:?}"
    );
    let titles: Vec<Value> = frames
        .iter()
        .map(|(_, data)| {
            let value: Value = serde_json::from_str(data).expect("JSON data");
            value["NotificationContainer"]["TimelineEntry"][0]["title"].clone()
        })
        .collect();
    assert_eq!(titles, ["Streamed", "Again"]);
    let later = read_events(&mut response, |events| {
        events.iter().any(|(event, _)| event == "ping")
    })
    .await;
    assert!(
        frames_of(&later).is_empty(),
        "the play is filtered out: {later:?}"
    );
    drop(response);
    wait_for_clients(&emulator, 0).await;
}

#[tokio::test]
async fn filters_choose_and_exclude_frame_types() {
    let emulator = spawn(100, 44).await;
    let key = first_track(&emulator);
    let mut playing_only = connect(&emulator, "&filters=playing").await;
    let mut no_timeline = connect(&emulator, "&filters=-timeline,-activity").await;
    emulator.mutate(edit(key, "Filtered")).expect("edit");
    emulator.mutate(Mutation::Add { count: 1 }).expect("add");
    emulator
        .mutate(Mutation::Play { rating_key: key })
        .expect("play");
    let frame = next_frame(&mut playing_only, Duration::from_secs(5))
        .await
        .expect("a frame");
    assert_eq!(frame["type"], "playing");
    let session = &frame["PlaySessionStateNotification"][0];
    assert_eq!(session["ratingKey"], key.to_string());
    assert_eq!(session["key"], format!("/library/metadata/{key}"));
    assert_eq!(session["state"], "stopped");
    let seen = frames_until(&mut no_timeline, |f| f["type"] == "playing").await;
    let kinds: Vec<&str> = seen.iter().filter_map(|f| f["type"].as_str()).collect();
    assert_eq!(kinds, ["status", "playing"]);
}

#[tokio::test]
async fn an_add_goes_through_every_state_inside_a_scan_with_noise() {
    let emulator = spawn(100, 45).await;
    let mut socket = connect(&emulator, "").await;
    let added = emulator.mutate(Mutation::Add { count: 3 }).expect("add");
    let frames = frames_until(&mut socket, is_status).await;
    let activities: Vec<&Value> = frames.iter().filter(|f| f["type"] == "activity").collect();
    let events: Vec<&Value> = activities
        .iter()
        .map(|f| &f["ActivityNotification"][0]["event"])
        .collect();
    assert_eq!(events, ["started", "ended"]);
    let activity = &activities[0]["ActivityNotification"][0]["Activity"];
    assert_eq!(activity["type"], "library.update.section");
    assert_eq!(activity["Context"]["librarySectionID"], "1");
    let status = frames.last().expect("status");
    assert_eq!(
        status["StatusNotification"][0]["notificationName"],
        "LIBRARY_UPDATE"
    );
    let timeline: Vec<Value> = frames.iter().flat_map(entries).collect();
    for key in &added {
        let states: Vec<i64> = timeline
            .iter()
            .filter(|e| item_id(e) == Some(*key))
            .filter_map(|e| e["state"].as_i64())
            .collect();
        assert_eq!(states, [0, 1, 2, 3, 4, 5], "track {key}");
        let created = timeline
            .iter()
            .find(|e| item_id(e) == Some(*key))
            .expect("created");
        assert_eq!(created["metadataState"], "created");
    }
    assert!(timeline.iter().any(|e| e["itemID"] == "0"), "stray entry");
    assert!(
        timeline.iter().any(|e| e["sectionID"] == "2"),
        "a frame for the movie section"
    );
}

#[tokio::test]
async fn removals_send_deleted_entries_for_tracks_and_emptied_parents() {
    let emulator = spawn(150, 46).await;
    let library = emulator.library();
    let album = library.tracks[0].album_key;
    let artist = library.tracks[0].artist_key;
    let album_tracks: Vec<u64> = library
        .tracks
        .iter()
        .filter(|t| t.album_key == album)
        .map(|t| t.rating_key)
        .collect();
    let artist_has_more = library
        .albums
        .iter()
        .any(|a| a.artist_key == artist && a.rating_key != album);
    let mut socket = connect(&emulator, "").await;
    emulator
        .mutate(Mutation::RemoveAlbum { rating_key: album })
        .expect("remove album");
    let frames = frames_until(&mut socket, is_status).await;
    let deleted: HashMap<String, i64> = frames
        .iter()
        .flat_map(entries)
        .filter(|e| e["state"] == 9)
        .map(|e| {
            assert_eq!(e["metadataState"], "deleted");
            (
                e["itemID"].as_str().unwrap_or_default().to_string(),
                e["type"].as_i64().unwrap_or_default(),
            )
        })
        .collect();
    for key in &album_tracks {
        assert_eq!(deleted.get(&key.to_string()), Some(&10));
    }
    assert_eq!(deleted.get(&album.to_string()), Some(&9));
    assert_eq!(
        deleted.contains_key(&artist.to_string()),
        !artist_has_more,
        "the artist goes only when left without albums"
    );
}

#[tokio::test]
async fn ratings_send_nothing_and_album_and_artist_edits_send_their_type() {
    let emulator = spawn(150, 47).await;
    let key = first_track(&emulator);
    let library = emulator.library();
    let track = library
        .tracks
        .iter()
        .find(|t| t.rating_key == key)
        .expect("track")
        .clone();
    let mut socket = connect(&emulator, "&filters=timeline,playing").await;
    emulator
        .mutate(Mutation::Rate {
            rating_key: key,
            rating: Some(6.0),
        })
        .expect("rate");
    emulator
        .mutate(Mutation::EditAlbum {
            rating_key: track.album_key,
            title: Some("New Name".into()),
            year: None,
            genres: None,
        })
        .expect("edit album");
    emulator
        .mutate(Mutation::EditArtist {
            rating_key: track.artist_key,
            title: None,
            genres: Some(vec!["Folk".into()]),
        })
        .expect("edit artist");
    let first = next_frame(&mut socket, Duration::from_secs(5))
        .await
        .expect("a frame");
    let album_entry = &entries(&first)[0];
    assert_eq!(album_entry["itemID"], track.album_key.to_string());
    assert_eq!(album_entry["type"], 9);
    assert_eq!(album_entry["title"], "New Name");
    let second = next_frame(&mut socket, Duration::from_secs(5))
        .await
        .expect("a frame");
    assert_eq!(entries(&second)[0]["itemID"], track.artist_key.to_string());
    assert_eq!(entries(&second)[0]["type"], 8);
    assert!(
        entries(&first)
            .iter()
            .chain(entries(&second).iter())
            .all(|e| item_id(e) != Some(key)),
        "no entry for the rated track"
    );
}

#[tokio::test]
async fn a_storm_of_5000_tracks_comes_in_frames_of_at_most_100_entries() {
    let emulator = spawn(100, 48).await;
    let mut socket = connect(&emulator, "&filters=timeline,status").await;
    let added = emulator.mutate(Mutation::Add { count: 5000 }).expect("add");
    let frames = frames_until(&mut socket, is_status).await;
    let mut processed = HashSet::new();
    for frame in frames.iter().filter(|f| f["type"] == "timeline") {
        let listed = entries(frame);
        assert!(
            !listed.is_empty() && listed.len() <= 100,
            "{} entries",
            listed.len()
        );
        processed.extend(
            listed
                .iter()
                .filter(|e| e["state"] == 5)
                .filter_map(|e| e["itemID"].as_str().map(str::to_string)),
        );
    }
    for key in &added {
        assert!(
            processed.contains(&key.to_string()),
            "track {key} processed"
        );
    }
}

#[tokio::test]
async fn a_client_that_never_reads_holds_up_neither_changes_nor_other_clients() {
    let emulator = spawn(100, 49).await;
    let _stalled = connect(&emulator, "").await;
    let mut reader = connect(&emulator, "&filters=status").await;
    for _ in 0..4 {
        emulator.mutate(Mutation::Add { count: 5000 }).expect("add");
    }
    for _ in 0..4 {
        let frame = next_frame(&mut reader, Duration::from_secs(10))
            .await
            .expect("the reading client gets its frames");
        assert_eq!(frame["type"], "status");
    }
    let answer = reqwest::Client::new()
        .get(format!("{}/library/sections", emulator.url()))
        .header("X-Plex-Token", TOKEN)
        .timeout(Duration::from_secs(5))
        .send()
        .await
        .expect("serving goes on");
    assert_eq!(answer.status(), 200);
}

#[tokio::test]
async fn dropping_closes_every_stream_and_clients_may_come_back() {
    let emulator = spawn(100, 50).await;
    let key = first_track(&emulator);
    let mut first = connect(&emulator, "").await;
    let mut second = connect(&emulator, "").await;
    emulator.drop_notifications();
    assert!(
        next_frame(&mut first, Duration::from_secs(5))
            .await
            .is_none()
    );
    assert!(
        next_frame(&mut second, Duration::from_secs(5))
            .await
            .is_none()
    );
    wait_for_clients(&emulator, 0).await;
    let mut again = connect(&emulator, "").await;
    let dropped = reqwest::Client::new()
        .post(format!("{}/_emulator/notifications/drop", emulator.url()))
        .send()
        .await
        .expect("control");
    assert_eq!(dropped.status(), 200);
    assert!(
        next_frame(&mut again, Duration::from_secs(5))
            .await
            .is_none()
    );
    let mut last = connect(&emulator, "").await;
    emulator.mutate(edit(key, "After")).expect("edit");
    assert!(
        next_frame(&mut last, Duration::from_secs(5))
            .await
            .is_some()
    );
}

#[tokio::test]
async fn streams_close_after_the_frame_budget() {
    let emulator = spawn(100, 51).await;
    let key = first_track(&emulator);
    emulator.set_faults(Faults {
        notifications_drop_after: Some(2),
        ..Faults::default()
    });
    let mut socket = connect(&emulator, "").await;
    for title in ["One", "Two", "Three"] {
        emulator.mutate(edit(key, title)).expect("edit");
    }
    assert!(
        next_frame(&mut socket, Duration::from_secs(5))
            .await
            .is_some()
    );
    assert!(
        next_frame(&mut socket, Duration::from_secs(5))
            .await
            .is_some()
    );
    assert!(
        next_frame(&mut socket, Duration::from_secs(5))
            .await
            .is_none()
    );
    wait_for_clients(&emulator, 0).await;
}

#[tokio::test]
async fn a_restart_closes_streams_refuses_connections_and_loses_events() {
    let emulator = spawn(100, 52).await;
    let key = first_track(&emulator);
    let mut socket = connect(&emulator, "").await;
    emulator.restart();
    assert!(
        next_frame(&mut socket, Duration::from_secs(5))
            .await
            .is_none()
    );
    let url = ws_url(
        &emulator,
        "/:/websockets/notifications",
        &format!("X-Plex-Token={TOKEN}"),
    );
    assert!(
        connect_async(url).await.is_err(),
        "refused while restarting"
    );
    emulator
        .mutate(edit(key, "Missed"))
        .expect("edit meanwhile");
    let mut back = None;
    for _ in 0..100 {
        tokio::time::sleep(Duration::from_millis(50)).await;
        let url = ws_url(
            &emulator,
            "/:/websockets/notifications",
            &format!("X-Plex-Token={TOKEN}"),
        );
        if let Ok((socket, _)) = connect_async(url).await {
            back = Some(socket);
            break;
        }
    }
    let mut socket = back.expect("serving again after the pause");
    wait_for_clients(&emulator, 1).await;
    emulator.mutate(edit(key, "Seen")).expect("edit after");
    let frame = next_frame(&mut socket, Duration::from_secs(5))
        .await
        .expect("a frame");
    assert_eq!(
        entries(&frame)[0]["title"],
        "Seen",
        "the missed event is gone"
    );

    let restarted = reqwest::Client::new()
        .post(format!("{}/_emulator/restart", emulator.url()))
        .body(r#"{"pause_ms":100}"#)
        .send()
        .await
        .expect("control");
    assert_eq!(restarted.status(), 200);
    assert!(
        next_frame(&mut socket, Duration::from_secs(5))
            .await
            .is_none()
    );
}

#[tokio::test]
async fn going_offline_closes_the_streams() {
    let emulator = spawn(100, 53).await;
    let mut socket = connect(&emulator, "").await;
    emulator.set_online(false);
    assert!(
        next_frame(&mut socket, Duration::from_secs(5))
            .await
            .is_none()
    );
    wait_for_clients(&emulator, 0).await;
    emulator.set_online(true);
    let _socket = connect(&emulator, "").await;
}
