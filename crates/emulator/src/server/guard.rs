//! What every request goes through before its handler: the URI length
//! limit (414), the control endpoint's exemption, the offline state,
//! request latency, the token check and the `unauthorized_after` fault.

use std::sync::Arc;
use std::time::Duration;

use axum::extract::{Request, State};
use axum::http::HeaderMap;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use subtle::ConstantTimeEq;

use super::Shared;
use super::request::{PlexError, TOKEN, query_pairs};

pub(crate) const CONTROL_PREFIX: &str = "/_emulator";

pub(crate) async fn guard(
    State(shared): State<Arc<Shared>>,
    request: Request,
    next: Next,
) -> Response {
    let uri_len = request
        .uri()
        .path_and_query()
        .map_or(0, |pq| pq.as_str().len());
    if uri_len > shared.max_url_len {
        return PlexError::UriTooLarge.into_response();
    }
    let path = request.uri().path();
    if path == CONTROL_PREFIX || path.starts_with("/_emulator/") {
        return next.run(request).await;
    }
    if !shared.gate.is_online() {
        // A request on a connection opened before going offline is never
        // answered: the connection closes when its period ends.
        return std::future::pending::<Response>().await;
    }
    shared.count_request();
    let latency = shared.faults().latency_ms;
    if latency > 0 {
        tokio::time::sleep(Duration::from_millis(latency)).await;
    }
    if path != "/identity" {
        if !has_token(&shared.token, request.headers(), request.uri()) {
            return PlexError::Unauthorized.into_response();
        }
        if shared.fault_state().count_authenticated() {
            return PlexError::Unauthorized.into_response();
        }
    }
    next.run(request).await
}

/// True when the `X-Plex-Token` header or query parameter is the token.
fn has_token(expected: &str, headers: &HeaderMap, uri: &axum::http::Uri) -> bool {
    let matches = |given: &[u8]| bool::from(given.ct_eq(expected.as_bytes()));
    if let Some(value) = headers.get(TOKEN) {
        return matches(value.as_bytes());
    }
    query_pairs(uri)
        .iter()
        .any(|(name, value)| name == TOKEN && matches(value.as_bytes()))
}
