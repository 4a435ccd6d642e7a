//! Security checks against real processes: `plexcache serve` and the
//! command line run as child processes (logging at `trace`, stderr
//! captured), the emulator serves Plex over real HTTP on loopback.
//!
//! - the token never appears in any answer (body or header), the page, a
//!   log line or an error, across every endpoint and every emulator fault;
//! - the password guards page and API, everything but `/api/health`;
//! - state changes from other origins are refused (`Origin`,
//!   `Sec-Fetch-Site`) and nothing is changed;
//! - static files refuse path traversal, encoded or not;
//! - every answer carries a strict Content-Security-Policy and `nosniff`;
//! - the config file written by `PUT /api/settings` is mode 0600 even under
//!   a permissive umask.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use plexcache_emulator::{EmulatorConfig, EmulatorHandle, Faults, Library, PageFaultKind, Shift};
use plexcache_harness::process::{command_through_shell, point_at};
use plexcache_harness::{ApiClient, PAGE_FAULT_KINDS, ServeChild, page_fault};
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::helpers::{PLEXCACHE, emulator};

/// A token no log line or answer could hold by chance.
const TOKEN: &str = "sEcReT-plex-T0ken-9f2c71ab";
const PASSWORD: &str = "open-sesame-4411";

async fn spawn_plex(tracks: usize) -> EmulatorHandle {
    emulator(EmulatorConfig::new(Library::generate(tracks, 31), TOKEN)).await
}

/// `plexcache`, logging at `trace`.
fn plexcache() -> std::process::Command {
    let mut command = crate::helpers::plexcache();
    command.env("RUST_LOG", "trace");
    command
}

/// `plexcache serve` as a child process, its stderr in a file.
struct Served {
    child: ServeChild,
    base: String,
    addr: String,
    dir: tempfile::TempDir,
    log: PathBuf,
    http: reqwest::Client,
}

struct ServeOptions<'a> {
    plex: &'a EmulatorHandle,
    password: Option<&'a str>,
    /// Run through `sh -c 'umask 000; exec …'`.
    permissive_umask: bool,
    /// Write this config file first (mode 0644).
    config: Option<&'a str>,
}

impl<'a> ServeOptions<'a> {
    fn new(plex: &'a EmulatorHandle) -> Self {
        ServeOptions {
            plex,
            password: None,
            permissive_umask: false,
            config: None,
        }
    }
}

impl Served {
    async fn start(options: ServeOptions<'_>) -> Served {
        let dir = tempfile::tempdir().expect("temp dir");
        let data = dir.path().join("data");
        std::fs::create_dir_all(&data).expect("data dir");
        if let Some(text) = options.config {
            let path = data.join("config.toml");
            std::fs::write(&path, text).expect("config");
            #[cfg(unix)]
            {
                use std::os::unix::fs::PermissionsExt;
                std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644))
                    .expect("chmod");
            }
        }
        let log = dir.path().join("serve.log");
        let mut command = if options.permissive_umask {
            let mut c = command_through_shell(Path::new(PLEXCACHE), "umask 000");
            c.env("RUST_LOG", "trace");
            c
        } else {
            plexcache()
        };
        point_at(&mut command, &data, &options.plex.url(), TOKEN);
        command
            .env("PLEXCACHE_TIMEOUT_SECS", "1")
            .env("PLEXCACHE_RETRIES", "1")
            .env("PLEXCACHE_PROBE_INTERVAL_SECS", "0.3")
            .stderr(std::fs::File::create(&log).expect("log file"));
        if let Some(password) = options.password {
            command.env("PLEXCACHE_PASSWORD", password);
        }
        let child = ServeChild::start(command).await.expect("plexcache serve");
        Served {
            base: child.url.clone(),
            addr: child.addr.clone(),
            child,
            dir,
            log,
            http: reqwest::Client::new(),
        }
    }

    fn data(&self) -> PathBuf {
        self.dir.path().join("data")
    }

    fn client(&self, password: Option<&str>) -> ApiClient {
        let client = ApiClient::with_http(&self.base, self.http.clone()).expect("a client");
        match password {
            Some(p) => client.with_password(p),
            None => client,
        }
    }

    /// Waits for a first sync to have filled the cache and none to run.
    async fn wait_synced(&self, password: Option<&str>) -> Value {
        match self.client(password).wait_synced().await {
            Ok(status) => status,
            Err(e) => panic!("no first sync: {e:#}"),
        }
    }

    async fn wait_idle(&self, password: Option<&str>) -> Value {
        match self.client(password).wait_idle().await {
            Ok(status) => status,
            Err(e) => panic!("a sync is stuck: {e:#}"),
        }
    }

    async fn history_len(&self, password: Option<&str>) -> usize {
        self.client(password).history_len().await.expect("history")
    }

    /// SIGTERM, then the whole log.
    async fn stop(mut self) -> String {
        self.child.stop(Duration::from_secs(20)).await;
        std::fs::read_to_string(&self.log).expect("log")
    }
}

/// Sends one request and fails the test if the token is anywhere in the
/// answer, headers included. Returns the status and the body.
async fn call(request: reqwest::RequestBuilder, what: &str) -> (u16, String) {
    let response = request
        .send()
        .await
        .unwrap_or_else(|e| panic!("{what}: {e}"));
    let status = response.status().as_u16();
    for (name, value) in response.headers() {
        assert!(
            !value
                .as_bytes()
                .windows(TOKEN.len())
                .any(|w| w == TOKEN.as_bytes()),
            "{what}: header {name} holds the token"
        );
    }
    let body = response.text().await.unwrap_or_default();
    assert!(
        !body.contains(TOKEN),
        "{what}: the answer holds the token: {body}"
    );
    (status, body)
}

fn file_holds(path: &Path, needle: &str) -> bool {
    std::fs::read(path)
        .map(|b| b.windows(needle.len()).any(|w| w == needle.as_bytes()))
        .unwrap_or(false)
}

/// Every GET the API and page answer, good and bad.
const GETS: &[&str] = &[
    "/",
    "/index.html",
    "/js/main.js",
    "/js/format.js",
    "/style.css",
    "/icon.svg",
    "/api/health",
    "/api/library/status",
    "/api/library/stats",
    "/api/library/tracks?limit=5&sort=year&order=desc",
    "/api/library/tracks?genres=NoSuchGenre",
    "/api/library/tracks?limit=-1",
    "/api/library/tracks?q=%FF%FE",
    "/api/library/sample?n=3",
    "/api/library/sample?n=0x10",
    "/api/library/sync/history",
    "/api/library/sync/history?limit=abc",
    "/api/settings",
    "/api/openapi.json",
    "/api/nope",
    "/nope",
];

/// Hits every endpoint, each way it can fail, and checks every answer.
async fn hit_everything(served: &Served, round: &str) {
    let base = &served.base;
    let http = &served.http;
    for path in GETS {
        call(
            http.get(format!("{base}{path}")),
            &format!("{round} GET {path}"),
        )
        .await;
    }
    call(http.delete(format!("{base}/api/settings")), round).await;
    call(http.head(format!("{base}/")), round).await;
    for body in [
        json!({"genres": ["Rock"], "min_rating": 6}),
        json!({"decades": "1990s", "q": "live"}),
        json!({"year_from": 99}),
        json!([null, null]),
    ] {
        call(
            http.post(format!("{base}/api/filter/preview")).json(&body),
            &format!("{round} preview {body}"),
        )
        .await;
    }
    let page: Value = http
        .get(format!(
            "{base}/api/library/tracks?limit=3&exclude_live=false"
        ))
        .send()
        .await
        .expect("tracks")
        .json()
        .await
        .unwrap_or(Value::Null);
    let keys: Vec<Value> = page["tracks"]
        .as_array()
        .map(|t| t.iter().map(|t| t["rating_key"].clone()).collect())
        .unwrap_or_default();
    for body in [
        json!({"title": format!("{round} mix"), "rating_keys": keys}),
        json!({"title": format!("{round} sample"), "sample_size": 5, "filter": {"exclude_live": false}}),
        json!({"title": "", "rating_keys": ["1"]}),
        json!({"title": "x", "rating_keys": ["999999999"]}),
    ] {
        call(
            http.post(format!("{base}/api/playlists")).json(&body),
            &format!("{round} playlist {body}"),
        )
        .await;
    }
    for body in [
        json!({"plex_token": "Wrong-Token-77aa31"}),
        json!({"plex_url": "http://127.0.0.1:9"}),
        json!({"plex_url": "ftp://nas"}),
        json!({"sections": ["2"]}),
        json!({"refresh_age_hours": 48}),
        json!({"refresh_age_hours": -1}),
    ] {
        let (_, answer) = call(
            http.put(format!("{base}/api/settings")).json(&body),
            &format!("{round} settings {body}"),
        )
        .await;
        assert!(
            !answer.contains("Wrong-Token-77aa31"),
            "a rejected token is not echoed either: {answer}"
        );
    }
    call(http.post(format!("{base}/api/library/sync")), round).await;
    served.wait_idle(None).await;
    // What a failed sync leaves behind is shown too.
    for path in ["/api/library/status", "/api/library/sync/history?limit=500"] {
        call(
            http.get(format!("{base}{path}")),
            &format!("{round} after sync {path}"),
        )
        .await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_token_never_leaves_the_server_across_every_endpoint_and_fault() {
    let plex = spawn_plex(1_200).await;
    let served = Served::start(ServeOptions::new(&plex)).await;
    served.wait_synced(None).await;

    let faults = [
        ("no fault", Faults::default()),
        ("error500", page_fault(PageFaultKind::Error500, 0, 0)),
        ("hang", page_fault(PageFaultKind::Hang, 0, 0)),
        ("drop", page_fault(PageFaultKind::Drop, 0, 0)),
        ("malformed", page_fault(PageFaultKind::Malformed, 0, 0)),
        ("truncated", page_fault(PageFaultKind::Truncated, 0, 0)),
        ("wrong_types", page_fault(PageFaultKind::WrongTypes, 0, 0)),
        (
            "unauthorized",
            Faults {
                unauthorized_after: Some(0),
                ..Faults::default()
            },
        ),
        (
            "latency, capped pages, no totals",
            Faults {
                latency_ms: 5,
                page_size_cap: Some(100),
                omit_total_size: true,
                ..Faults::default()
            },
        ),
        (
            "shifting pages",
            Faults {
                shift_per_page: Some(Shift { add: 2, remove: 1 }),
                ..Faults::default()
            },
        ),
        (
            "offline",
            Faults {
                offline_after_items: Some(300),
                ..Faults::default()
            },
        ),
    ];
    let mut failures = 0;
    for (name, fault) in faults {
        plex.set_faults(fault);
        hit_everything(&served, name).await;
        let (_, status) = call(
            served
                .http
                .get(format!("{}/api/library/status", served.base)),
            name,
        )
        .await;
        let status: Value = serde_json::from_str(&status).expect("status JSON");
        if status["error"].is_string() {
            failures += 1;
        }
        plex.set_faults(Faults::default());
        plex.set_online(true);
    }
    assert!(failures >= 6, "the faults made syncs fail ({failures})");

    let data = served.data();
    let log = served.stop().await;
    assert!(log.contains(" TRACE "), "the server logged at trace level");
    assert!(log.contains("sync failed"), "failed syncs were logged");
    assert!(
        !log.contains(TOKEN),
        "the token is in the server log: line {:?}",
        log.lines().position(|l| l.contains(TOKEN)).map(|i| i + 1)
    );
    for file in ["library_cache.db", "library_cache.db-wal"] {
        assert!(
            !file_holds(&data.join(file), TOKEN),
            "the cache file {file} holds the token"
        );
    }
    plex.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_command_line_never_prints_the_token_under_any_fault() {
    let plex = spawn_plex(800).await;
    let dir = tempfile::tempdir().expect("temp dir");
    let run = |args: &'static [&'static str]| {
        let mut command = tokio::process::Command::from(plexcache());
        command
            .kill_on_drop(true)
            .args(args)
            .env("PLEXCACHE_DATA_DIR", dir.path())
            .env("PLEX_URL", plex.url())
            .env("PLEX_TOKEN", TOKEN)
            .env("PLEXCACHE_TIMEOUT_SECS", "1")
            .env("PLEXCACHE_RETRIES", "1");
        async move {
            let out = command.output().await.expect("plexcache");
            let text = format!(
                "{}{}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            );
            (out.status.success(), text)
        }
    };
    let (ok, text) = run(&["sync"]).await;
    assert!(ok, "{text}");
    for kind in PAGE_FAULT_KINDS {
        plex.set_faults(page_fault(kind, 0, 0));
        let (ok, text) = run(&["sync"]).await;
        assert!(!ok, "{kind:?}: the sync fails");
        assert!(text.contains("TRACE"), "{kind:?}: trace logging is on");
        assert!(!text.contains(TOKEN), "{kind:?}: the token is printed");
    }
    plex.set_faults(Faults {
        unauthorized_after: Some(0),
        ..Faults::default()
    });
    let (ok, text) = run(&["sync"]).await;
    assert!(!ok && text.contains("rejected the token"), "{text}");
    assert!(!text.contains(TOKEN));
    plex.set_faults(Faults::default());
    plex.set_online(false);
    for args in [
        &["sync"][..],
        &["status", "--json"][..],
        &["status"][..],
        &["tracks", "--json", "--limit", "3"][..],
        &["tracks", "--decades", "1995s"][..],
    ] {
        let (_, text) = run(args).await;
        assert!(!text.contains(TOKEN), "{args:?}: the token is printed");
    }
    plex.set_online(true);
    plex.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_password_guards_every_route_but_health() {
    let plex = spawn_plex(300).await;
    let mut options = ServeOptions::new(&plex);
    options.password = Some(PASSWORD);
    let served = Served::start(options).await;
    served.wait_synced(Some(PASSWORD)).await;
    let syncs_before = served.history_len(Some(PASSWORD)).await;
    let base = &served.base;
    let http = &served.http;

    let routes: Vec<(reqwest::Method, &str)> = GETS
        .iter()
        .filter(|p| **p != "/api/health")
        .map(|p| (reqwest::Method::GET, *p))
        .chain([
            (reqwest::Method::HEAD, "/"),
            (reqwest::Method::POST, "/api/library/sync"),
            (reqwest::Method::POST, "/api/filter/preview"),
            (reqwest::Method::POST, "/api/playlists"),
            (reqwest::Method::PUT, "/api/settings"),
            (reqwest::Method::DELETE, "/api/settings"),
            (reqwest::Method::GET, "/api/health/"),
            (reqwest::Method::GET, "/api/healthz"),
        ])
        .collect();
    let body = json!({"plex_url": "http://127.0.0.1:9", "title": "x", "rating_keys": ["1"]});
    type Auth = fn(reqwest::RequestBuilder) -> reqwest::RequestBuilder;
    let wrong: [(&str, Auth); 7] = [
        ("no credentials", |r| r),
        ("wrong password", |r| r.basic_auth("me", Some("nope"))),
        ("password as user name", |r| {
            r.basic_auth(PASSWORD, None::<&str>)
        }),
        ("bearer scheme", |r| r.bearer_auth(PASSWORD)),
        ("no colon", |r| {
            use base64::Engine;
            let encoded = base64::engine::general_purpose::STANDARD.encode(PASSWORD);
            r.header("authorization", format!("Basic {encoded}"))
        }),
        ("password with a suffix", |r| {
            r.basic_auth("me", Some(format!("{PASSWORD}x")))
        }),
        ("garbage", |r| r.header("authorization", "Basic %%%")),
    ];
    for (method, path) in &routes {
        for (how, auth) in &wrong {
            let request = auth(
                http.request(method.clone(), format!("{base}{path}"))
                    .json(&body),
            );
            let response = request.send().await.expect("request");
            assert_eq!(response.status().as_u16(), 401, "{how}: {method} {path}");
            assert!(
                response.headers().contains_key("www-authenticate"),
                "{method} {path}: a 401 asks for Basic credentials"
            );
        }
        let ok = http
            .request(method.clone(), format!("{base}{path}"))
            .basic_auth("anyone", Some(PASSWORD))
            .json(&body)
            .send()
            .await
            .expect("request");
        assert_ne!(
            ok.status().as_u16(),
            401,
            "with the password: {method} {path}"
        );
    }
    // Requests that reach the server with a path spelled to look like the
    // open one are still guarded.
    for target in [
        "/api/health/../library/status",
        "/api/health%2f..%2flibrary/status",
        "//api/library/status",
        "/api/health;/../library/status",
    ] {
        let (status, _, _) = raw_get(&served.addr, target).await;
        assert_eq!(status, 401, "{target}");
    }
    let open = http
        .get(format!("{base}/api/health"))
        .send()
        .await
        .expect("health");
    assert_eq!(open.status().as_u16(), 200, "/api/health stays open");
    served.wait_idle(Some(PASSWORD)).await;
    // Only the authenticated POST started a sync; no refused PUT saved.
    assert_eq!(served.history_len(Some(PASSWORD)).await, syncs_before + 1);
    assert!(!served.data().join("config.toml").exists());
    served.stop().await;
    plex.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cross_origin_state_changes_are_refused_and_change_nothing() {
    let plex = spawn_plex(300).await;
    let served = Served::start(ServeOptions::new(&plex)).await;
    served.wait_synced(None).await;
    let syncs_before = served.history_len(None).await;
    let base = &served.base;
    let http = &served.http;
    let own = format!("http://{}", served.addr);
    let port = served.addr.rsplit(':').next().unwrap_or("0").to_owned();

    let writes = [
        (reqwest::Method::POST, "/api/library/sync", json!({})),
        (
            reqwest::Method::POST,
            "/api/filter/preview",
            json!({"genres": []}),
        ),
        (
            reqwest::Method::POST,
            "/api/playlists",
            json!({"title": "x", "sample_size": 3}),
        ),
        (
            reqwest::Method::PUT,
            "/api/settings",
            json!({"refresh_age_hours": 5}),
        ),
    ];
    let hostile: Vec<Vec<(&str, String)>> = vec![
        vec![("origin", "http://evil.example".into())],
        vec![("origin", "null".into())],
        vec![("origin", format!("http://evil.example:{port}"))],
        vec![("origin", format!("{own}.evil.example"))],
        vec![("origin", "http://127.0.0.1:1".into())],
        vec![("origin", format!("http://evil.example/{}", served.addr))],
        vec![("sec-fetch-site", "cross-site".into())],
        vec![("sec-fetch-site", "same-site".into())],
        vec![
            ("origin", own.clone()),
            ("sec-fetch-site", "cross-site".into()),
        ],
    ];
    for (method, path, body) in &writes {
        for headers in &hostile {
            let mut request = http
                .request(method.clone(), format!("{base}{path}"))
                .json(body);
            for (name, value) in headers {
                request = request.header(*name, value);
            }
            let response = request.send().await.expect("request");
            let status = response.status().as_u16();
            let answer: Value = response.json().await.unwrap_or(Value::Null);
            assert_eq!(status, 403, "{method} {path} with {headers:?}: {answer}");
            assert_eq!(answer["error"], "cross_origin");
        }
    }
    // Nothing happened: no sync, no settings saved, no playlist.
    served.wait_idle(None).await;
    assert_eq!(served.history_len(None).await, syncs_before);
    assert!(!served.data().join("config.toml").exists());
    assert!(plex.playlists().is_empty());

    // Reads from anywhere are answered, but never shared with another site.
    let response = http
        .get(format!("{base}/api/library/status"))
        .header("origin", "http://evil.example")
        .send()
        .await
        .expect("status");
    assert_eq!(response.status().as_u16(), 200);
    assert!(
        !response
            .headers()
            .contains_key("access-control-allow-origin")
    );
    // A cross-site form can only send "simple" bodies, which are refused.
    let form = http
        .post(format!("{base}/api/filter/preview"))
        .header("content-type", "text/plain")
        .body("{\"genres\":[]}")
        .send()
        .await
        .expect("preview");
    assert_eq!(form.status().as_u16(), 415);

    // The page itself (same origin, or no Origin at all) may write.
    for headers in [
        vec![("origin", own.clone())],
        vec![
            ("origin", own.clone()),
            ("sec-fetch-site", "same-origin".into()),
        ],
        vec![("sec-fetch-site", "none".into())],
        vec![],
    ] {
        let mut request = http
            .post(format!("{base}/api/filter/preview"))
            .json(&json!({}));
        for (name, value) in &headers {
            request = request.header(*name, value);
        }
        let status = request.send().await.expect("preview").status().as_u16();
        assert_eq!(status, 200, "{headers:?}");
    }
    served.stop().await;
    plex.shutdown().await;
}

/// One raw HTTP/1.1 request, sent byte for byte (no client normalises the
/// target); answers the status, the head and the body.
async fn raw_request(addr: &str, request: &[u8]) -> (u16, String, Vec<u8>) {
    let mut stream = tokio::net::TcpStream::connect(addr).await.expect("connect");
    stream.write_all(request).await.expect("write");
    let mut answer = Vec::new();
    let _ = tokio::time::timeout(Duration::from_secs(10), stream.read_to_end(&mut answer)).await;
    let split = answer
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .unwrap_or(answer.len());
    let head = String::from_utf8_lossy(&answer[..split]).into_owned();
    let body = answer.get(split + 4..).unwrap_or_default().to_vec();
    let status = head
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    (status, head, body)
}

async fn raw_get(addr: &str, target: &str) -> (u16, String, Vec<u8>) {
    let request = format!("GET {target} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n");
    raw_request(addr, request.as_bytes()).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn static_files_refuse_path_traversal_in_every_encoding() {
    let plex = spawn_plex(200).await;
    let served = Served::start(ServeOptions::new(&plex)).await;
    let secrets = [
        "[package]".as_bytes(),
        b"root:",
        b"plexcache::",
        b"fn main",
        b"plex_token",
    ];
    let targets = [
        "/../Cargo.toml",
        "/../../../../etc/passwd",
        "/..%2fCargo.toml",
        "/%2e%2e/Cargo.toml",
        "/%2e%2e%2fCargo.toml",
        "/%2E%2E/%2E%2E/etc/passwd",
        "/%252e%252e/Cargo.toml",
        "/..%5cCargo.toml",
        "/%c0%ae%c0%ae/Cargo.toml",
        "/%e0%80%ae%e0%80%ae/Cargo.toml",
        "/.%2e/.%2e/etc/passwd",
        "/app.js/../../Cargo.toml",
        "/app.js%00.html",
        "/index.html%00",
        "/assets/../Cargo.toml",
        "/assets/app.js",
        "/src/main.rs",
        "/src/web/assets/index.html",
        "//etc/passwd",
        "/./app.js/..",
        "/%2fetc%2fpasswd",
        "/data/config.toml",
        "/config.toml",
        "/library_cache.db",
        "/.git/config",
        "http://127.0.0.1/../../etc/passwd",
    ];
    for target in targets {
        let (status, head, body) = raw_get(&served.addr, target).await;
        assert!(status == 400 || status == 404, "{target}: {status}\n{head}");
        for secret in secrets {
            assert!(
                !body.windows(secret.len()).any(|w| w == secret),
                "{target} leaked {:?}",
                String::from_utf8_lossy(secret)
            );
        }
    }
    // Backslashes and raw dot segments sent as they are.
    for raw in [
        "GET /..\\..\\Cargo.toml HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n",
        "GET /app.js/../../../etc/passwd HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n",
        "GET ../../etc/passwd HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n",
    ] {
        let (status, _, body) = raw_request(&served.addr, raw.as_bytes()).await;
        assert!(
            status == 400 || status == 404 || status == 0,
            "{raw:?}: {status}"
        );
        assert!(!body.windows(6).any(|w| w == b"root:x"), "{raw:?}");
    }
    // The real files are still there.
    for target in ["/", "/index.html", "/js/main.js", "/style.css", "/icon.svg"] {
        assert_eq!(raw_get(&served.addr, target).await.0, 200, "{target}");
    }
    served.stop().await;
    plex.shutdown().await;
}

/// Directives of a Content-Security-Policy header.
fn directives(csp: &str) -> std::collections::BTreeMap<String, Vec<String>> {
    csp.split(';')
        .filter_map(|d| {
            let mut words = d.split_whitespace();
            let name = words.next()?.to_ascii_lowercase();
            Some((name, words.map(str::to_owned).collect()))
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_answer_sends_a_strict_csp_and_nosniff() {
    let plex = spawn_plex(200).await;
    let served = Served::start(ServeOptions::new(&plex)).await;
    served.wait_synced(None).await;
    let http = &served.http;
    let requests = [
        http.get(format!("{}/", served.base)),
        http.get(format!("{}/index.html", served.base)),
        http.get(format!("{}/js/main.js", served.base)),
        http.get(format!("{}/style.css", served.base)),
        http.get(format!("{}/icon.svg", served.base)),
        http.get(format!("{}/api/library/status", served.base)),
        http.get(format!("{}/api/library/tracks?limit=-1", served.base)),
        http.get(format!("{}/api/nope", served.base)),
        http.get(format!("{}/nope.html", served.base)),
        http.delete(format!("{}/api/settings", served.base)),
        http.post(format!("{}/api/filter/preview", served.base))
            .header("origin", "http://evil.example"),
    ];
    for request in requests {
        let response = request.send().await.expect("request");
        let what = format!("{} {}", response.status(), response.url().path());
        let headers = response.headers();
        assert_eq!(
            headers.get("x-content-type-options").map(|v| v.as_bytes()),
            Some(&b"nosniff"[..]),
            "{what}"
        );
        assert_eq!(
            headers.get("x-frame-options").map(|v| v.as_bytes()),
            Some(&b"DENY"[..]),
            "{what}"
        );
        let csp = headers
            .get("content-security-policy")
            .and_then(|v| v.to_str().ok())
            .unwrap_or_else(|| panic!("{what}: no CSP"));
        let d = directives(csp);
        let only_self =
            |name: &str| d.get(name).map(Vec::as_slice) == Some(&["'self'".to_owned()][..]);
        assert!(only_self("default-src"), "{what}: {csp}");
        assert!(
            only_self("script-src"),
            "{what}: scripts only from the page's origin: {csp}"
        );
        assert!(only_self("style-src"), "{what}: {csp}");
        assert!(only_self("connect-src"), "{what}: {csp}");
        assert_eq!(
            d.get("frame-ancestors").map(Vec::as_slice),
            Some(&["'none'".to_owned()][..])
        );
        assert_eq!(
            d.get("base-uri").map(Vec::as_slice),
            Some(&["'none'".to_owned()][..])
        );
        assert!(d.contains_key("form-action"), "{what}: {csp}");
        for bad in [
            "'unsafe-inline'",
            "'unsafe-eval'",
            "*",
            "http:",
            "https:",
            "blob:",
        ] {
            assert!(
                !d.values().flatten().any(|s| s == bad),
                "{what}: the CSP allows {bad}: {csp}"
            );
        }
        let kind = headers
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_owned();
        assert!(!kind.is_empty(), "{what}: a content type is always sent");
    }
    // The page needs nothing the CSP forbids: no inline script or style, no
    // inline handlers, nothing from another origin.
    let page = http
        .get(format!("{}/", served.base))
        .send()
        .await
        .expect("page")
        .text()
        .await
        .expect("page text");
    let lower = page.to_ascii_lowercase();
    let mut rest = lower.as_str();
    while let Some(at) = rest.find("<script") {
        let tag_end = rest[at..].find('>').map_or(rest.len(), |e| at + e);
        let tag = &rest[at..tag_end];
        assert!(tag.contains("src="), "inline script: {tag}");
        let after = &rest[tag_end..];
        let close = after.find("</script>").unwrap_or(0);
        assert!(
            after[1..close.max(1)].trim().is_empty(),
            "a script with a body"
        );
        rest = &rest[tag_end..];
    }
    assert!(!lower.contains("<style"), "inline style element");
    assert!(!lower.contains(" style="), "inline style attribute");
    assert!(!lower.contains("javascript:"), "javascript: URL");
    let handler = regex::Regex::new(r"\son[a-z]+\s*=").expect("regex");
    assert!(!handler.is_match(&lower), "inline event handler");
    assert!(
        !lower.contains("src=\"http") && !lower.contains("href=\"http"),
        "external resource"
    );
    served.stop().await;
    plex.shutdown().await;
}

#[cfg(unix)]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_config_file_written_by_settings_is_private_under_any_umask() {
    use std::os::unix::fs::PermissionsExt;
    let plex = spawn_plex(200).await;
    let mut options = ServeOptions::new(&plex);
    options.permissive_umask = true;
    options.config = Some("refresh_age_hours = 12.0\n");
    let served = Served::start(options).await;
    served.wait_synced(None).await;
    let path = served.data().join("config.toml");
    let mode = |p: &Path| std::fs::metadata(p).expect("metadata").permissions().mode() & 0o777;
    assert_eq!(mode(&path), 0o644, "the old file was readable by all");

    let (status, body) = call(
        served
            .http
            .put(format!("{}/api/settings", served.base))
            .json(&json!({"refresh_age_hours": 6, "plex_token": TOKEN})),
        "PUT /api/settings",
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(mode(&path), 0o600, "the rewritten file is private");
    assert!(
        file_holds(&path, TOKEN),
        "the token is saved (and only there)"
    );
    let others: Vec<String> = std::fs::read_dir(served.data())
        .expect("data dir")
        .filter_map(Result::ok)
        .filter(|e| e.path() != path && file_holds(&e.path(), TOKEN))
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    assert!(others.is_empty(), "other files hold the token: {others:?}");
    assert!(
        !served.data().join(".config.toml.tmp").exists(),
        "no temporary copy is left behind"
    );
    // A fresh file (none before) is private from the start too.
    std::fs::remove_file(&path).expect("remove");
    let (status, _) = call(
        served
            .http
            .put(format!("{}/api/settings", served.base))
            .json(&json!({"refresh_age_hours": 7})),
        "PUT /api/settings",
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(mode(&path), 0o600);
    // The umask really was permissive: other new files are world-readable.
    let db = mode(&served.data().join("library_cache.db"));
    assert_eq!(db & 0o044, 0o044, "the test ran with umask 000 ({db:o})");
    served.stop().await;
    plex.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lenient_host_forms_and_foreign_absolute_targets_are_refused_on_loopback() {
    let plex = spawn_plex(200).await;
    let served = Served::start(ServeOptions::new(&plex)).await;
    let addr = &served.addr;
    let port = addr.rsplit(':').next().expect("a port");
    let request = |target: &str, host: &str| {
        format!("GET {target} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n")
    };
    for (target, host) in [
        (
            "/api/library/status",
            format!("127.0.0.1:{port}@evil.example"),
        ),
        ("/api/library/status", "127.0.0.1@evil.example".to_owned()),
        ("/api/library/status", format!("127.0.0.1:{port}x")),
        ("/api/library/status", format!("[::1]:{port}@evil.example")),
        ("http://evil.example/api/library/status", addr.clone()),
        ("http://evil.example:80/", addr.clone()),
        (
            &format!("http://127.0.0.1:{port}@evil.example/api/library/status"),
            addr.clone(),
        ),
    ]
    .iter()
    .map(|(t, h)| (t.to_string(), h.clone()))
    {
        let (status, head, body) = raw_request(addr, request(&target, &host).as_bytes()).await;
        let body = String::from_utf8_lossy(&body);
        assert!(
            status == 403 || status == 400,
            "{target} with Host {host}: {status}\n{head}\n{body}"
        );
        assert!(!body.contains("track_count"), "{target} with Host {host}");
    }
    // The forms a loopback client really uses still work.
    for (target, host) in [
        ("/api/library/status".to_owned(), addr.clone()),
        (
            "/api/library/status".to_owned(),
            format!("localhost:{port}"),
        ),
        (format!("http://{addr}/api/library/status"), addr.clone()),
    ] {
        let (status, head, _) = raw_request(addr, request(&target, &host).as_bytes()).await;
        assert_eq!(status, 200, "{target} with Host {host}\n{head}");
    }
    served.stop().await;
    plex.shutdown().await;
}

/// A request with this Basic `Authorization` value; its status and
/// `Retry-After`.
async fn try_password(served: &Served, authorization: &str) -> (u16, Option<u64>) {
    let response = served
        .http
        .get(format!("{}/api/library/status", served.base))
        .header("authorization", authorization)
        .send()
        .await
        .expect("request");
    let retry = response
        .headers()
        .get("retry-after")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse().ok());
    (response.status().as_u16(), retry)
}

fn basic(scheme: &str, password: &str) -> String {
    use base64::Engine;
    let encoded = base64::engine::general_purpose::STANDARD.encode(format!("user:{password}"));
    format!("{scheme} {encoded}")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn password_guessing_is_rate_limited_and_logged_without_the_guess() {
    let plex = spawn_plex(200).await;
    let mut options = ServeOptions::new(&plex);
    options.password = Some(PASSWORD);
    let served = Served::start(options).await;
    served.wait_synced(Some(PASSWORD)).await;
    // The scheme is case-insensitive.
    for scheme in ["Basic", "basic", "BASIC"] {
        assert_eq!(
            try_password(&served, &basic(scheme, PASSWORD)).await.0,
            200,
            "{scheme}"
        );
    }
    // The same wrong password again and again (a stale saved password) is
    // not a new guess each time.
    for _ in 0..30 {
        assert_eq!(
            try_password(&served, &basic("Basic", "stale-one")).await.0,
            401
        );
    }
    // Distinct guesses as fast as one client can send them, for 3 s.
    let started = Instant::now();
    let (mut evaluated, mut limited, mut retry_after) = (0u64, 0u64, None);
    let mut n = 0u64;
    while started.elapsed() < Duration::from_secs(3) {
        n += 1;
        let guess = format!("guess-{n}-secret-marker");
        match try_password(&served, &basic("Basic", &guess)).await {
            (401, _) => evaluated += 1,
            (429, retry) => {
                limited += 1;
                retry_after = retry_after.or(retry);
            }
            other => panic!("a wrong password answered {other:?}"),
        }
    }
    let seconds = started.elapsed().as_secs_f64();
    eprintln!(
        "{n} guesses in {seconds:.1} s: {evaluated} checked ({:.1}/s), {limited} refused with 429",
        evaluated as f64 / seconds
    );
    assert!(limited > 0, "{n} wrong passwords in 3 s and none refused");
    assert!(
        retry_after.is_some_and(|s| (1..=60).contains(&s)),
        "a 429 says when to retry: {retry_after:?}"
    );
    // 10 at once, then about one a second (plus one stale guess above).
    assert!(
        evaluated as f64 <= 10.0 + seconds + 1.0,
        "{evaluated} guesses checked in {seconds:.1} s"
    );
    // While refused, even the right password waits: the limit is on tries.
    assert_eq!(
        try_password(&served, &basic("Basic", PASSWORD)).await.0,
        429
    );
    // Once the wait is over the right password works again.
    tokio::time::sleep(Duration::from_millis(1100)).await;
    assert_eq!(
        try_password(&served, &basic("Basic", PASSWORD)).await.0,
        200
    );
    let log = served.stop().await;
    assert!(
        log.contains("wrong password from 127.0.0.1"),
        "wrong passwords are logged"
    );
    assert!(
        log.contains("too many wrong passwords"),
        "the lockout is logged"
    );
    assert!(!log.contains("secret-marker"), "a guess reached the log");
    assert!(!log.contains("stale-one"), "a guess reached the log");
    assert!(!log.contains(PASSWORD), "the password reached the log");
    plex.shutdown().await;
}
