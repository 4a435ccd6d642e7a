//! The HTTP API against the emulator over real HTTP: every endpoint, the
//! one-sync-at-a-time rule, bad input, origins, password and the token.

use std::time::Duration;

use serde_json::json;

use crate::helpers::{TOKEN, TestApp, settings, spawn_plex};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_fresh_server_syncs_a_stale_cache_and_answers_every_endpoint() {
    let plex = spawn_plex(3_000, 8).await;
    let app = TestApp::spawn(&plex).await;
    let status = app.wait_idle().await;
    assert!(status["track_count"].as_i64().unwrap() > 2_000, "{status}");
    assert_eq!(status["configured"], true);
    assert_eq!(status["stale"], false);
    assert!(status["synced_at"].is_string());

    let (code, health) = app.get_json("/api/health").await;
    assert_eq!((code, health["status"].as_str()), (200, Some("ok")));

    let (code, stats) = app.get_json("/api/library/stats").await;
    assert_eq!(code, 200);
    let genre = stats["genres"][0]["name"].as_str().unwrap().to_owned();
    assert!(stats["decades"].as_array().unwrap().len() > 3);

    let (code, page) = app
        .get_json(&format!(
            "/api/library/tracks?genres={}&sort=year&order=desc&limit=10",
            urlencode(&genre)
        ))
        .await;
    assert_eq!(code, 200, "{page}");
    assert_eq!(page["tracks"].as_array().unwrap().len(), 10);
    let total = page["total"].as_u64().unwrap();

    let (code, preview) = app
        .post_json("/api/filter/preview", &json!({"genres": [genre]}))
        .await;
    assert_eq!((code, preview["count"].as_u64()), (200, Some(total)));

    let (code, sample) = app
        .get_json(&format!(
            "/api/library/sample?n=7&genres={}",
            urlencode(&genre)
        ))
        .await;
    assert_eq!(
        (code, sample["tracks"].as_array().map(Vec::len)),
        (200, Some(7))
    );

    let (code, history) = app.get_json("/api/library/sync/history").await;
    assert_eq!(
        (code, history["syncs"][0]["outcome"].as_str()),
        (200, Some("success"))
    );

    let keys: Vec<String> = sample["tracks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["rating_key"].as_str().unwrap().to_owned())
        .collect();
    let mut with_unknown = keys.clone();
    with_unknown.push("999999999".into());
    let (code, created) = app
        .post_json(
            "/api/playlists",
            &json!({"title": "Mix", "rating_keys": with_unknown}),
        )
        .await;
    assert_eq!(code, 201, "{created}");
    assert_eq!(
        (created["added"].as_u64(), created["skipped"].as_u64()),
        (Some(7), Some(1))
    );
    let playlists = plex.playlists();
    assert_eq!(playlists.len(), 1);
    assert_eq!(playlists[0].items.len(), 7);

    let (code, settings) = app.get_json("/api/settings").await;
    assert_eq!((code, settings["token_set"].as_bool()), (200, Some(true)));
    assert!(!settings.to_string().contains(TOKEN));

    let (code, doc) = app.get_json("/api/openapi.json").await;
    assert_eq!(code, 200);
    for path in [
        "/api/health",
        "/api/library/status",
        "/api/library/sync",
        "/api/library/tracks",
        "/api/library/stats",
        "/api/filter/preview",
        "/api/library/sample",
        "/api/library/sync/history",
        "/api/playlists",
        "/api/settings",
        "/api/openapi.json",
    ] {
        assert!(doc["paths"][path].is_object(), "{path} is documented");
    }
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fifty_concurrent_sync_requests_start_exactly_one() {
    let plex = spawn_plex(3_000, 8).await;
    let app = TestApp::spawn(&plex).await;
    app.wait_idle().await;
    plex.set_faults(plexcache_emulator::Faults {
        latency_ms: 20,
        ..Default::default()
    });
    let requests = (0..50).map(|_| {
        let http = app.http.clone();
        let url = format!("{}/api/library/sync", app.url);
        async move { http.post(url).send().await.unwrap().status().as_u16() }
    });
    let codes = futures::future::join_all(requests).await;
    assert_eq!(codes.iter().filter(|&&c| c == 200).count(), 1, "{codes:?}");
    assert_eq!(codes.iter().filter(|&&c| c == 409).count(), 49, "{codes:?}");
    app.wait_idle().await;
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn readers_see_the_old_or_the_new_library_never_a_mix() {
    let plex = spawn_plex(20_000, 8).await;
    let app = TestApp::spawn(&plex).await;
    let old = app.wait_idle().await["track_count"].as_u64().unwrap();
    plex.mutate(plexcache_emulator::Mutation::Add { count: 777 })
        .unwrap();
    let (code, _) = app.post_json("/api/library/sync", &json!({})).await;
    assert_eq!(code, 200);
    let mut seen = std::collections::BTreeSet::new();
    loop {
        let (_, page) = app
            .get_json("/api/library/tracks?exclude_live=false&limit=1")
            .await;
        seen.insert(page["total"].as_u64().unwrap());
        let (_, status) = app.get_json("/api/library/status").await;
        if status["is_syncing"] == false {
            break;
        }
    }
    let (_, page) = app
        .get_json("/api/library/tracks?exclude_live=false&limit=1")
        .await;
    let new = page["total"].as_u64().unwrap();
    seen.insert(new);
    let old_total = {
        let all: Vec<u64> = seen.iter().copied().collect();
        all[0]
    };
    assert!(old > 0 && new > old_total);
    assert!(seen.len() <= 2, "only the old and the new totals: {seen:?}");
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_input_gets_a_4xx_json_error_never_a_500() {
    let plex = spawn_plex(1_000, 8).await;
    let app = TestApp::spawn(&plex).await;
    app.wait_idle().await;
    let gets = [
        "/api/library/tracks?limit=-1",
        "/api/library/tracks?limit=99999999999999999999999",
        "/api/library/tracks?offset=abc",
        "/api/library/tracks?genres=Nope%27%3B%20DROP%20TABLE%20tracks%3B--",
        "/api/library/tracks?decades=19x0s",
        "/api/library/tracks?min_rating=1e309",
        "/api/library/tracks?sort=rating_key;DROP",
        "/api/library/tracks?colour=red",
        "/api/library/tracks?q=%FF%FE%22%27",
        "/api/library/tracks?added_since=tomorrow",
        "/api/library/sample?n=0x10",
        "/api/library/sample?n=100000",
        "/api/library/sync/history?limit=abc",
        "/api/nope",
    ];
    for path in gets {
        let r = app.get(path).await;
        let code = r.status().as_u16();
        let body: serde_json::Value = r.json().await.unwrap_or_default();
        assert!((400..500).contains(&code), "{path}: {code}");
        assert!(
            body["error"].is_string() && body["detail"].is_string(),
            "{path}: {body}"
        );
    }
    let q = "/api/library/tracks?q=%27%3B%20DROP%20TABLE%20tracks%3B--&exclude_live=false";
    assert_eq!(
        app.get(q).await.status().as_u16(),
        200,
        "SQL in a search is just text"
    );
    let posts = [
        ("/api/filter/preview", "{\"genres\": 5}".to_string()),
        ("/api/filter/preview", "{\"min_rating\": -3}".to_string()),
        ("/api/filter/preview", "{\"unknown\": true}".to_string()),
        ("/api/filter/preview", "not json".to_string()),
        (
            "/api/filter/preview",
            format!("{{\"q\": \"{}\"}}", "x".repeat(10 * 1024 * 1024)),
        ),
        (
            "/api/playlists",
            "{\"title\": \"\", \"rating_keys\": [\"1\"]}".to_string(),
        ),
        (
            "/api/playlists",
            "{\"title\": \"x\", \"rating_keys\": []}".to_string(),
        ),
        (
            "/api/playlists",
            "{\"title\": \"x\", \"sample_size\": 999999999}".to_string(),
        ),
        ("/api/playlists", "{\"title\": \"x\"}".to_string()),
    ];
    for (path, body) in posts {
        let sent = app
            .http
            .post(format!("{}{path}", app.url))
            .header("content-type", "application/json")
            .body(body.clone())
            .send()
            .await;
        let r = match sent {
            Ok(r) => r,
            // The server answers 413 from the length alone and may close the
            // connection before the 10 MB are written: refused either way.
            Err(e) if body.len() > 1024 * 1024 && e.is_request() => continue,
            Err(e) => panic!("{path}: {e}"),
        };
        let code = r.status().as_u16();
        let json: serde_json::Value = r.json().await.unwrap_or_default();
        assert!(
            (400..500).contains(&code),
            "{path} {}: {code}",
            &body[..body.len().min(60)]
        );
        assert!(json["error"].is_string(), "{path}: {json}");
    }
    let r = app
        .http
        .post(format!("{}/api/filter/preview", app.url))
        .body(vec![0xff, 0xfe, 0x00])
        .send()
        .await
        .unwrap();
    assert!((400..500).contains(&r.status().as_u16()));
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cross_origin_writes_are_refused() {
    let plex = spawn_plex(500, 8).await;
    let app = TestApp::spawn(&plex).await;
    app.wait_idle().await;
    let r = app
        .http
        .post(format!("{}/api/library/sync", app.url))
        .header("origin", "http://evil.example")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 403);
    let page = app.get("/").await;
    let csp = page.headers()["content-security-policy"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(csp.contains("default-src 'self'"));
    assert_eq!(page.headers()["x-content-type-options"], "nosniff");
    let etag = page.headers()["etag"].to_str().unwrap().to_owned();
    let again = app
        .http
        .get(format!("{}/", app.url))
        .header("if-none-match", &etag)
        .send()
        .await
        .unwrap();
    assert_eq!(
        again.status().as_u16(),
        304,
        "unchanged page files are revalidated, not resent"
    );
    assert_eq!(app.get("/../../etc/passwd").await.status().as_u16(), 404);
    assert_eq!(app.get("/%2e%2e/Cargo.toml").await.status().as_u16(), 404);
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_password_guards_page_and_api() {
    let plex = spawn_plex(300, 8).await;
    let dir = tempfile::tempdir().unwrap();
    let mut s = settings(dir.path(), &plex);
    s.password = Some(plexcache::config::Secret::new("letmein"));
    let app = TestApp::spawn_with(dir, s).await;
    for path in ["/", "/js/main.js", "/api/library/status", "/api/settings"] {
        assert_eq!(app.get(path).await.status().as_u16(), 401, "{path}");
    }
    assert_eq!(app.get("/api/health").await.status().as_u16(), 200);
    let ok = app
        .http
        .get(format!("{}/api/library/status", app.url))
        .basic_auth("me", Some("letmein"))
        .send()
        .await
        .unwrap();
    assert_eq!(ok.status().as_u16(), 200);
    let bad = app
        .http
        .get(format!("{}/api/library/status", app.url))
        .basic_auth("me", Some("nope"))
        .send()
        .await
        .unwrap();
    assert_eq!(bad.status().as_u16(), 401);
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn plex_offline_is_reported_and_playlists_answer_503() {
    let plex = spawn_plex(500, 8).await;
    let app = TestApp::spawn(&plex).await;
    let status = app.wait_idle().await;
    let key = {
        let (_, page) = app.get_json("/api/library/tracks?limit=1").await;
        page["tracks"][0]["rating_key"].as_str().unwrap().to_owned()
    };
    assert!(status["track_count"].as_i64().unwrap() > 0);
    plex.set_online(false);
    // The probe runs on a timer; run one now.
    probe_now(&app).await;
    let (_, status) = app.get_json("/api/library/status").await;
    assert_eq!(status["plex_connected"], false, "{status}");
    assert!(
        status["plex_error"]
            .as_str()
            .unwrap()
            .contains("unreachable")
    );
    let (code, tracks) = app.get_json("/api/library/tracks?limit=5").await;
    assert_eq!(
        (code, tracks["tracks"].as_array().map(Vec::len)),
        (200, Some(5)),
        "reads still work"
    );
    let (code, body) = app
        .post_json(
            "/api/playlists",
            &json!({"title": "x", "rating_keys": [key]}),
        )
        .await;
    assert_eq!(
        (code, body["error"].as_str()),
        (503, Some("plex_unreachable")),
        "{body}"
    );
    plex.set_online(true);
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn settings_are_validated_against_plex_before_saving() {
    let plex = spawn_plex(300, 8).await;
    let app = TestApp::spawn(&plex).await;
    app.wait_idle().await;
    let put = |body: serde_json::Value| {
        let http = app.http.clone();
        let url = format!("{}/api/settings", app.url);
        async move {
            let r = http.put(url).json(&body).send().await.unwrap();
            (
                r.status().as_u16(),
                r.json::<serde_json::Value>().await.unwrap(),
            )
        }
    };
    let (code, body) = put(json!({"plex_token": "wrong-token"})).await;
    assert_eq!(
        (code, body["field"].as_str()),
        (400, Some("plex_token")),
        "{body}"
    );
    let (code, body) = put(json!({"plex_url": "ftp://nas"})).await;
    assert_eq!(
        (code, body["field"].as_str()),
        (400, Some("plex_url")),
        "{body}"
    );
    let (code, body) = put(json!({"plex_url": "http://127.0.0.1:9"})).await;
    assert_eq!(
        (code, body["field"].as_str()),
        (400, Some("plex_token")),
        "the stored token is never sent to a new host: {body}"
    );
    let (code, body) = put(json!({"plex_url": "http://127.0.0.1:9", "plex_token": TOKEN})).await;
    assert_eq!(
        (code, body["field"].as_str()),
        (400, Some("plex_url")),
        "{body}"
    );
    let (code, body) = put(json!({"sections": ["2"]})).await;
    assert_eq!(
        (code, body["field"].as_str()),
        (400, Some("sections")),
        "{body}"
    );
    let (code, body) = put(json!({"refresh_age_hours": 6, "plex_token": TOKEN})).await;
    assert_eq!(
        (code, body["refresh_age_hours"].as_f64()),
        (200, Some(6.0)),
        "{body}"
    );
    assert!(!body.to_string().contains(TOKEN));
    let config = app.dir.path().join("config.toml");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(
            std::fs::metadata(&config).unwrap().permissions().mode() & 0o777,
            0o600
        );
    }
    tokio::time::sleep(Duration::from_millis(10)).await;
    app.stop().await;
}

pub async fn probe_now(app: &TestApp) {
    app.state.library().probe_now().await;
}

fn urlencode(s: &str) -> String {
    form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unconfigured_server_says_what_is_missing() {
    let dir = tempfile::tempdir().unwrap();
    let settings = plexcache::config::Settings::load(dir.path(), Default::default()).unwrap();
    let app = TestApp::spawn_with(dir, settings).await;
    let (code, status) = app.get_json("/api/library/status").await;
    assert_eq!(code, 200);
    assert_eq!(
        (
            status["configured"].as_bool(),
            status["track_count"].as_i64()
        ),
        (Some(false), Some(0))
    );
    assert_eq!(status["stale"], true);
    let (code, body) = app.post_json("/api/library/sync", &json!({})).await;
    assert_eq!(
        (code, body["started"].as_bool(), body["reason"].as_str()),
        (200, Some(false), Some("not_configured"))
    );
    let (code, page) = app.get_json("/api/library/tracks").await;
    assert_eq!((code, page["total"].as_u64()), (200, Some(0)));
    let (code, settings) = app.get_json("/api/settings").await;
    assert_eq!((code, settings["token_set"].as_bool()), (200, Some(false)));
    assert_eq!(app.get("/").await.status().as_u16(), 200);
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rebound_host_name_is_refused_on_a_loopback_server() {
    let plex = spawn_plex(300, 8).await;
    let app = TestApp::spawn(&plex).await;
    app.wait_idle().await;
    let port = app.url.rsplit(':').next().unwrap().to_owned();
    let r = app
        .http
        .put(format!("{}/api/settings", app.url))
        .header("host", format!("evil.example:{port}"))
        .header("origin", format!("http://evil.example:{port}"))
        .json(&json!({"plex_url": "http://127.0.0.1:9"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 403);
    let r = app
        .http
        .get(format!("{}/api/library/status", app.url))
        .header("host", format!("localhost:{port}"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 200);
    app.stop().await;
}
