//! `/metrics` (Prometheus, behind the same password as the API) and the
//! middleware that counts and times every answer by route.

use std::time::Instant;

use axum::extract::{MatchedPath, Request, State};
use axum::http::{HeaderValue, Method, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use super::AppState;
use crate::service::Metrics;

/// The server's metrics in the OpenMetrics text format.
pub async fn show(State(state): State<AppState>) -> Response {
    let text = state.library().metrics_text();
    let mut response = text.into_response();
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(crate::metrics::CONTENT_TYPE),
    );
    response
}

/// Route patterns as metric labels. A label must be `'static` so that
/// counting a request allocates nothing; a route missing here counts as
/// `other` (`router` in `mod.rs` lists the same paths).
const ROUTES: [&str; 13] = [
    "/api/health",
    "/api/library/status",
    "/api/events",
    "/api/library/sync",
    "/api/library/sync/history",
    "/api/library/tracks",
    "/api/library/stats",
    "/api/library/sample",
    "/api/filter/preview",
    "/api/playlists",
    "/api/settings",
    "/api/openapi.json",
    "/metrics",
];

/// Methods outside the standard set would each add a label value.
const METHODS: [Method; 7] = [
    Method::GET,
    Method::HEAD,
    Method::POST,
    Method::PUT,
    Method::DELETE,
    Method::OPTIONS,
    Method::PATCH,
];

/// Counts and times each request under its route's pattern.
pub async fn record(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let started = Instant::now();
    let method = METHODS
        .iter()
        .find(|m| *m == request.method())
        .map_or("other", Method::as_str);
    let route = request.extensions().get::<MatchedPath>().map(|path| {
        ROUTES
            .into_iter()
            .find(|r| *r == path.as_str())
            .unwrap_or("other")
    });
    let response = next.run(request).await;
    let status = response.status();
    // Unrouted: the page's files when found, else one label for all, so a
    // scan of random paths cannot grow the label set.
    let route = route.unwrap_or(if method == "GET" && status.is_success() {
        "page"
    } else {
        "other"
    });
    let metrics: &Metrics = state.library().metrics();
    metrics.request_answered(route, method, status.as_u16(), started.elapsed());
    response
}
