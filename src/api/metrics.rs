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

/// Counts and times each request under its route's pattern.
pub async fn record(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let started = Instant::now();
    let method = request.method().clone();
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map(|path| path.as_str().to_owned());
    let response = next.run(request).await;
    let status = response.status();
    let route = route.unwrap_or_else(|| {
        // Unrouted: the page's files when found, else one label for all,
        // so a scan of random paths cannot grow the label set.
        if method == Method::GET && status.is_success() {
            "page".to_owned()
        } else {
            "other".to_owned()
        }
    });
    record_answer(
        state.library().metrics(),
        &route,
        &method,
        status.as_u16(),
        started,
    );
    response
}

fn record_answer(metrics: &Metrics, route: &str, method: &Method, status: u16, started: Instant) {
    // Methods outside the standard set would each add a label value.
    let standard = [
        Method::GET,
        Method::HEAD,
        Method::POST,
        Method::PUT,
        Method::DELETE,
        Method::OPTIONS,
        Method::PATCH,
    ];
    let method = if standard.contains(method) {
        method.as_str()
    } else {
        "other"
    };
    metrics.request_answered(route, method, status, started.elapsed());
}
