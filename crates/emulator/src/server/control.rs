//! The control endpoint under `/_emulator` (no token): faults, mutations,
//! the library, playlists, counters, the machine identifier, dropping the
//! notification streams and restarting, as JSON, for tests and for other
//! processes driving `plexcache emulate`.

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::StatusCode;
use axum::http::header::{CONTENT_TYPE, HeaderValue};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post, put};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use super::Shared;
use crate::EmulatorError;
use crate::faults::Faults;
use crate::mutation::Mutation;

pub(crate) fn router() -> Router<Arc<Shared>> {
    Router::new()
        .route("/faults", get(get_faults).put(put_faults))
        .route("/mutations", post(post_mutation))
        .route("/library", get(get_library))
        .route("/playlists", get(get_playlists))
        .route("/stats", get(get_stats))
        .route("/machine-identifier", put(put_machine_identifier))
        .route("/notifications", get(get_notifications))
        .route("/notifications/drop", post(post_drop_notifications))
        .route("/restart", post(post_restart))
}

/// A JSON answer.
fn json(status: StatusCode, body: String) -> Response {
    let mut response = (status, body).into_response();
    response
        .headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    response
}

fn json_of<T: Serialize>(value: &T) -> Response {
    match serde_json::to_string(value) {
        Ok(body) => json(StatusCode::OK, body),
        Err(error) => error_answer(StatusCode::INTERNAL_SERVER_ERROR, &error.to_string()),
    }
}

fn error_answer(status: StatusCode, detail: &str) -> Response {
    json(status, serde_json::json!({ "error": detail }).to_string())
}

/// The JSON body, or the 400 answer saying why it is not one.
fn parse<T: DeserializeOwned>(body: &[u8]) -> Result<T, Box<Response>> {
    serde_json::from_slice(body)
        .map_err(|error| Box::new(error_answer(StatusCode::BAD_REQUEST, &error.to_string())))
}

async fn get_faults(State(shared): State<Arc<Shared>>) -> Response {
    json_of(&shared.faults())
}

async fn put_faults(State(shared): State<Arc<Shared>>, body: Bytes) -> Response {
    match parse::<Faults>(&body) {
        Ok(faults) => {
            shared.set_faults(faults.clone());
            json_of(&faults)
        }
        Err(answer) => *answer,
    }
}

async fn post_mutation(State(shared): State<Arc<Shared>>, body: Bytes) -> Response {
    let change = match parse::<Mutation>(&body) {
        Ok(change) => change,
        Err(answer) => return *answer,
    };
    match shared.mutate(change) {
        Ok(keys) => json_of(&keys),
        Err(error) => {
            let status = match error {
                EmulatorError::UnknownTrack(_)
                | EmulatorError::UnknownAlbum(_)
                | EmulatorError::UnknownArtist(_)
                | EmulatorError::UnknownSection(_) => StatusCode::NOT_FOUND,
                _ => StatusCode::BAD_REQUEST,
            };
            error_answer(status, &error.to_string())
        }
    }
}

async fn get_library(State(shared): State<Arc<Shared>>) -> Response {
    let body = shared.catalog().library().to_json();
    json(StatusCode::OK, body)
}

async fn get_playlists(State(shared): State<Arc<Shared>>) -> Response {
    json_of(&shared.catalog().playlists())
}

async fn get_stats(State(shared): State<Arc<Shared>>) -> Response {
    json_of(&shared.stats())
}

async fn put_machine_identifier(State(shared): State<Arc<Shared>>, body: Bytes) -> Response {
    match parse::<String>(&body) {
        Ok(id) if !id.is_empty() => {
            shared.set_machine_identifier(&id);
            json_of(&id)
        }
        Ok(_) => error_answer(
            StatusCode::BAD_REQUEST,
            "the machine identifier must not be empty",
        ),
        Err(answer) => *answer,
    }
}

/// `{"clients": n}`: how many notification streams are open.
async fn get_notifications(State(shared): State<Arc<Shared>>) -> Response {
    json_of(&serde_json::json!({ "clients": shared.notifier.clients() }))
}

async fn post_drop_notifications(State(shared): State<Arc<Shared>>) -> Response {
    shared.notifier.drop_all();
    json_of(&serde_json::json!({ "dropped": true }))
}

/// The body of `POST /_emulator/restart` (optional).
#[derive(Debug, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
struct RestartRequest {
    /// How long the port stays closed, in milliseconds.
    pause_ms: Option<u64>,
}

async fn post_restart(State(shared): State<Arc<Shared>>, body: Bytes) -> Response {
    let request = if body.iter().all(u8::is_ascii_whitespace) {
        RestartRequest::default()
    } else {
        match parse::<RestartRequest>(&body) {
            Ok(request) => request,
            Err(answer) => return *answer,
        }
    };
    let pause = request
        .pause_ms
        .map_or(shared.restart_pause, Duration::from_millis);
    // This answer is still delivered: open connections linger a moment.
    shared.restart(pause);
    json_of(&serde_json::json!({ "pause_ms": pause.as_millis() as u64 }))
}
