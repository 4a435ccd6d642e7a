//! The model's single declarations reach every surface: sort names in the
//! OpenAPI document and the CLI, filter parameters in the query string and
//! the JSON body, history outcomes as names.

use plexcache::model::{FilterParams, Outcome, SortField};
use serde_json::{Value, json};

use super::helpers::{TestApp, plexcache_cli, spawn_plex, synced_by_cli};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_surface_takes_the_sort_names_and_filter_parameters_from_the_model() {
    let plex = spawn_plex(300, 31).await;
    let app = TestApp::spawn(&plex).await;
    app.wait_idle().await;
    let (_, doc) = app.get_json("/api/openapi.json").await;
    for path in ["/api/library/tracks", "/api/library/sample"] {
        let params = doc["paths"][path]["get"]["parameters"]
            .as_array()
            .expect("parameters");
        let names: Vec<&str> = params.iter().filter_map(|p| p["name"].as_str()).collect();
        for name in FilterParams::NAMES {
            assert!(names.contains(&name), "{path} documents {name}: {names:?}");
        }
        if path.ends_with("tracks") {
            let sort = params.iter().find(|p| p["name"] == "sort").expect("sort");
            assert_eq!(sort["schema"]["enum"], json!(SortField::names()), "{sort}");
        }
    }
    let body = &doc["components"]["schemas"]["FilterBody"]["properties"];
    for name in FilterParams::NAMES {
        assert!(body[name].is_object(), "the JSON body documents {name}");
    }
    for name in SortField::names() {
        let (code, page) = app
            .get_json(&format!("/api/library/tracks?sort={name}&limit=1"))
            .await;
        assert_eq!(code, 200, "sort={name}: {page}");
    }
    let (_, history) = app.get_json("/api/library/sync/history").await;
    let outcome = history["syncs"][0]["outcome"].as_str().expect("outcome");
    assert_eq!(outcome, Outcome::Success.name());
    assert!(history["syncs"][0]["started_at"].is_i64(), "{history}");
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_cli_sorts_by_every_name_and_lists_them_when_one_is_wrong() {
    let (plex, dir) = synced_by_cli(200, 32).await;
    let cli = || plexcache_cli(dir.path(), &plex.url(), "warn");
    for name in SortField::names() {
        let out = cli()
            .args(["tracks", "--json", "--limit", "1", "--desc", "--sort", name])
            .output()
            .expect("run");
        assert!(out.status.success(), "--sort {name}");
        let page: Value = serde_json::from_slice(&out.stdout).expect("JSON");
        let first = &page["tracks"][0];
        assert!(first["rating_key"].is_string(), "{page}");
        if name == "added" {
            // The newest first: it has a date, shown as RFC 3339.
            let added = first["added_at"].as_str().unwrap_or_default();
            assert!(added.contains('T') && added.ends_with('Z'), "{page}");
        }
    }
    let out = cli()
        .args(["tracks", "--sort", "colour"])
        .output()
        .expect("run");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(stderr.contains(&SortField::names().join(", ")), "{stderr}");
}
