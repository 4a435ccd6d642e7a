//! `GET /api/events`, the server-sent event stream the page follows: its
//! content type, the first `status` event, `sync` and `library` events for
//! a sync that changed something, the password and host guards, a stream
//! that fell behind, the bound on open streams, and open streams ending
//! when the server stops.

use std::time::{Duration, Instant};

use plexcache::config::Secret;
use plexcache_emulator::Mutation;
use serde_json::Value;

use crate::helpers::{TestApp, settings, spawn_plex};

/// One named event of the stream.
#[derive(Debug)]
struct Sse {
    name: String,
    data: Value,
}

/// An open event stream, read event by event.
struct EventStream {
    response: reqwest::Response,
    buffer: String,
}

impl EventStream {
    async fn open(app: &TestApp) -> EventStream {
        let response = app.get("/api/events").await;
        assert_eq!(response.status().as_u16(), 200);
        EventStream {
            response,
            buffer: String::new(),
        }
    }

    /// The next event (keep-alive comments skipped); `None` when the
    /// stream ended, and a failed test when nothing came `within`.
    async fn next(&mut self, within: Duration) -> Option<Sse> {
        let deadline = Instant::now() + within;
        loop {
            while let Some(end) = self.buffer.find("\n\n") {
                let block: String = self.buffer.drain(..end + 2).collect();
                if let Some(event) = parse(&block) {
                    return Some(event);
                }
            }
            let left = deadline.saturating_duration_since(Instant::now());
            match tokio::time::timeout(left, self.response.chunk()).await {
                Ok(Ok(Some(bytes))) => self.buffer.push_str(&String::from_utf8_lossy(&bytes)),
                Ok(Ok(None)) | Ok(Err(_)) => return None,
                Err(_) => panic!("no event within {within:?}; unread: {:?}", self.buffer),
            }
        }
    }

    /// Events up to and including the first named `name`.
    async fn until(&mut self, name: &str, within: Duration) -> Vec<Sse> {
        let mut seen = Vec::new();
        loop {
            let event = self.next(within).await;
            let Some(event) = event else {
                panic!("the stream ended before a `{name}` event: {seen:?}");
            };
            let done = event.name == name;
            seen.push(event);
            if done {
                return seen;
            }
        }
    }
}

/// An event block: `event:` and `data:` lines; comments alone are none.
fn parse(block: &str) -> Option<Sse> {
    let mut name = None;
    let mut data = Vec::new();
    for line in block.lines() {
        if let Some(value) = line.strip_prefix("event:") {
            name = Some(value.trim().to_owned());
        } else if let Some(value) = line.strip_prefix("data:") {
            data.push(value.strip_prefix(' ').unwrap_or(value));
        }
    }
    let name = name?;
    let data = serde_json::from_str(&data.join("\n")).expect("event data is JSON");
    Some(Sse { name, data })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stream_starts_with_the_status_then_tells_of_a_sync_and_what_it_changed() {
    let plex = spawn_plex(300, 41).await;
    let app = TestApp::spawn(&plex).await;
    app.wait_idle().await;

    let response = app.get("/api/events").await;
    let content_type = response.headers()[reqwest::header::CONTENT_TYPE]
        .to_str()
        .unwrap_or_default()
        .to_owned();
    assert!(
        content_type.starts_with("text/event-stream"),
        "{content_type}"
    );
    let mut stream = EventStream {
        response,
        buffer: String::new(),
    };
    let first = stream.next(Duration::from_secs(5)).await.expect("an event");
    let (_, status) = app.get_json("/api/library/status").await;
    assert_eq!(first.name, "status");
    assert_eq!(first.data["track_count"], status["track_count"]);
    assert_eq!(first.data["synced_at"], status["synced_at"]);
    assert_eq!(first.data["is_syncing"], false);
    assert!(!first.data.to_string().contains(crate::helpers::TOKEN));
    let (_, doc) = app.get_json("/api/openapi.json").await;
    let answer = &doc["paths"]["/api/events"]["get"]["responses"]["200"];
    assert!(
        answer["content"]["text/event-stream"].is_object(),
        "documented as an event stream: {answer}"
    );
    let described = answer["description"].as_str().unwrap_or_default();
    for name in ["`status`", "`library`", "`sync`", "`connection`"] {
        assert!(described.contains(name), "{name} in {described}");
    }

    let added = plex.mutate(Mutation::Add { count: 3 }).expect("add");
    assert_eq!(added.len(), 3);
    let (code, started) = app.post_json("/api/library/sync", &Value::Null).await;
    assert_eq!((code, started["started"].as_bool()), (200, Some(true)));
    let seen = stream.until("library", Duration::from_secs(30)).await;
    assert!(
        seen.iter()
            .any(|e| e.name == "sync" && e.data["is_syncing"] == true),
        "a `sync` event when the sync started: {seen:?}"
    );
    let change = &seen.last().expect("the library event").data;
    assert_eq!(
        (change["added"].as_u64(), change["removed"].as_u64()),
        (Some(3), Some(0)),
        "{change}"
    );
    let at = change["at"].as_str().expect("at is a time");
    assert!(at.len() >= 20 && at.contains('T'), "{at}");

    // The sync's end follows, with the new count.
    let ended = loop {
        let event = stream
            .next(Duration::from_secs(10))
            .await
            .expect("the sync's end");
        if event.name == "sync" && event.data["is_syncing"] == false {
            break event;
        }
    };
    assert_eq!(
        ended.data["track_count"].as_i64(),
        status["track_count"].as_i64().map(|n| n + 3)
    );
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_event_stream_is_behind_the_password_and_the_host_check() {
    let plex = spawn_plex(100, 42).await;
    let dir = tempfile::tempdir().expect("temp dir");
    let mut settings = settings(dir.path(), &plex);
    settings.password = Some(Secret::new("events-pw"));
    let app = TestApp::spawn_with(dir, settings).await;
    let url = format!("{}/api/events", app.url);

    let refused = app.http.get(&url).send().await.expect("request");
    assert_eq!(refused.status().as_u16(), 401);
    let wrong = app
        .http
        .get(&url)
        .basic_auth("me", Some("nope"))
        .send()
        .await
        .expect("request");
    assert_eq!(wrong.status().as_u16(), 401);
    let foreign = app
        .http
        .get(&url)
        .basic_auth("me", Some("events-pw"))
        .header(reqwest::header::HOST, "evil.example")
        .send()
        .await
        .expect("request");
    assert_eq!(foreign.status().as_u16(), 403);

    let response = app
        .http
        .get(&url)
        .basic_auth("me", Some("events-pw"))
        .send()
        .await
        .expect("request");
    assert_eq!(response.status().as_u16(), 200);
    let mut stream = EventStream {
        response,
        buffer: String::new(),
    };
    let first = stream.next(Duration::from_secs(5)).await.expect("an event");
    assert_eq!(first.name, "status");
    assert!(!first.data.to_string().contains("events-pw"));
    app.stop().await;
}

/// On one thread the stream cannot read while the test publishes, so it
/// falls behind by more than the bus keeps.
#[tokio::test(flavor = "current_thread")]
async fn a_stream_that_fell_behind_gets_the_status_instead_of_what_it_missed() {
    let plex = spawn_plex(100, 43).await;
    let app = TestApp::spawn(&plex).await;
    app.wait_idle().await;
    let mut stream = EventStream::open(&app).await;
    let first = stream.next(Duration::from_secs(5)).await.expect("status");
    assert_eq!(first.name, "status");

    let library = app.state.library();
    for n in 1..=1000 {
        library.note_change(plexcache::service::LibraryChange {
            added: n,
            changed: 0,
            removed: 0,
            at: library.now(),
        });
    }
    let next = stream.next(Duration::from_secs(5)).await.expect("an event");
    assert_eq!(next.name, "status", "{next:?}");
    assert_eq!(next.data["track_count"], first.data["track_count"]);
    // Then the newest changes the bus still held, ending with the last one.
    let mut last = None;
    let mut count = 0;
    while let Some(event) = stream.next(Duration::from_secs(5)).await {
        assert_eq!(event.name, "library", "{event:?}");
        count += 1;
        last = event.data["added"].as_u64();
        if last == Some(1000) {
            break;
        }
    }
    assert_eq!(last, Some(1000));
    assert!(count < 1000, "{count} events: nothing was skipped");
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn streams_beyond_the_limit_are_refused_with_503() {
    let plex = spawn_plex(100, 44).await;
    let app = TestApp::spawn(&plex).await;
    app.wait_idle().await;
    let mut open = Vec::new();
    for _ in 0..plexcache::api::MAX_STREAMS {
        let mut stream = EventStream::open(&app).await;
        let first = stream.next(Duration::from_secs(5)).await.expect("status");
        assert_eq!(first.name, "status");
        open.push(stream);
    }
    let refused = app.get("/api/events").await;
    assert_eq!(refused.status().as_u16(), 503);
    assert!(refused.headers().contains_key(reqwest::header::RETRY_AFTER));
    let body: Value = refused.json().await.expect("a JSON error");
    assert_eq!(body["error"], "busy");
    // Other requests still go through.
    let (code, _) = app.get_json("/api/library/status").await;
    assert_eq!(code, 200);
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn open_streams_end_when_the_server_stops_without_holding_it_up() {
    let plex = spawn_plex(100, 45).await;
    let app = TestApp::spawn(&plex).await;
    app.wait_idle().await;
    let mut streams = Vec::new();
    for _ in 0..3 {
        let mut stream = EventStream::open(&app).await;
        stream.next(Duration::from_secs(5)).await.expect("status");
        streams.push(stream);
    }
    let started = Instant::now();
    app.stop().await;
    let took = started.elapsed();
    // Waiting for the streams would take the whole drain time (5 s).
    assert!(
        took < Duration::from_secs(3),
        "stopping took {took:?} with streams open"
    );
    for mut stream in streams {
        assert!(
            stream.next(Duration::from_secs(2)).await.is_none(),
            "the stream ended"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_running_sync_is_reported_about_every_second() {
    let plex = spawn_plex(2_000, 46).await;
    let app = TestApp::spawn(&plex).await;
    app.wait_idle().await;
    let mut stream = EventStream::open(&app).await;
    stream.next(Duration::from_secs(5)).await.expect("status");
    // Slow pages: the sync takes a few seconds.
    plex.set_faults(plexcache_emulator::Faults {
        item_latency_us: 4_000,
        ..Default::default()
    });
    // A full sync: a refresh of an unchanged library is over at once.
    let (code, _) = app
        .post_json("/api/library/sync?full=true", &Value::Null)
        .await;
    assert_eq!(code, 200);
    let started = Instant::now();
    let mut running = 0;
    let took = loop {
        let event = stream.next(Duration::from_secs(30)).await.expect("events");
        if event.name != "sync" {
            continue;
        }
        if event.data["is_syncing"] == true {
            running += 1;
        } else {
            break started.elapsed();
        }
    };
    plex.set_faults(Default::default());
    // The start, then one a second while it ran.
    let ticks = took.as_secs() as usize;
    assert!(
        took >= Duration::from_secs(2) && running > ticks / 2,
        "{running} `sync` events in {took:?}"
    );
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_change_in_plex_reachability_is_a_connection_event() {
    let plex = spawn_plex(100, 47).await;
    let app = TestApp::spawn(&plex).await;
    app.wait_idle().await;
    app.state.library().probe_now().await;
    let mut stream = EventStream::open(&app).await;
    let first = stream.next(Duration::from_secs(5)).await.expect("status");
    assert_eq!(first.data["plex_connected"], true);

    plex.set_online(false);
    app.state.library().probe_now().await;
    let seen = stream.until("connection", Duration::from_secs(5)).await;
    let event = seen.last().expect("connection");
    assert_eq!(event.data["plex_connected"], false, "{seen:?}");
    assert_eq!(event.data["live"], false);

    plex.set_online(true);
    app.state.library().probe_now().await;
    let seen = stream.until("connection", Duration::from_secs(5)).await;
    assert_eq!(
        seen.last().expect("connection").data["plex_connected"],
        true
    );
    app.stop().await;
}

/// A stream is quiet between events by design: when every connection slot
/// is taken, quiet connections make room, but an event stream is not one
/// of them.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stream_stays_open_while_quiet_connections_make_room() {
    use plexcache::api::{AppState, ConnectionLimits, Server};
    let plex = spawn_plex(100, 48).await;
    let dir = tempfile::tempdir().expect("temp dir");
    let settings = settings(dir.path(), &plex);
    let (store, _) = plexcache::store::Store::open(&settings.database_path()).expect("a cache");
    let state = AppState::new(store, settings).expect("the app");
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("a port");
    let limits = ConnectionLimits {
        max_connections: 4,
        ..Default::default()
    };
    let server = Server::from_listener(listener, state.clone()).with_limits(limits);
    let addr = server.local_addr().expect("an address");
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let serving = tokio::spawn(server.run_until(async move {
        let _ = stopped.await;
    }));

    let response = reqwest::get(format!("http://{addr}/api/events"))
        .await
        .expect("the stream");
    assert_eq!(response.status().as_u16(), 200);
    let mut stream = EventStream {
        response,
        buffer: String::new(),
    };
    stream.next(Duration::from_secs(5)).await.expect("status");
    // Connections that say nothing fill the server, and more wait in the
    // backlog: as quiet ones are closed, others take their place.
    let mut quiet = Vec::new();
    for _ in 0..12 {
        quiet.push(tokio::net::TcpStream::connect(addr).await.expect("connect"));
    }
    tokio::time::sleep(Duration::from_millis(4_000)).await;
    let library = state.library();
    library.note_change(plexcache::service::LibraryChange {
        added: 7,
        changed: 0,
        removed: 0,
        at: library.now(),
    });
    // (The first sync of the empty cache may be told first.)
    loop {
        let seen = stream.until("library", Duration::from_secs(5)).await;
        if seen.last().expect("library").data["added"] == 7 {
            break;
        }
    }
    drop(quiet);
    let _ = stop.send(());
    let _ = tokio::time::timeout(Duration::from_secs(15), serving).await;
}
