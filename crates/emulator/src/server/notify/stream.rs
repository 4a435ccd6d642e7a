//! The notification endpoints: a WebSocket at `/:/websockets/notifications`
//! (and the singular `/:/websocket/notifications`), one text message per
//! frame plus WebSocket pings; server-sent events at
//! `/:/eventsource/notifications`, `event: <type>` and `data: <json>` per
//! frame plus an `event: ping` now and then. The guard has already checked
//! the token.

use std::convert::Infallible;
use std::sync::Arc;

use axum::body::{Body, Bytes};
use axum::extract::ws::rejection::WebSocketUpgradeRejection;
use axum::extract::ws::{Message, Utf8Bytes, WebSocket, WebSocketUpgrade};
use axum::extract::{Path, State};
use axum::http::header::{CACHE_CONTROL, CONTENT_TYPE, HeaderValue};
use axum::response::{IntoResponse, Response};

use super::{Outgoing, Subscription, TypeFilter};
use crate::server::Shared;
use crate::server::request::{PlexError, PlexRequest};

/// The paths' first segment: Plex's `:`.
const COLON: &str = ":";

fn subscribe(shared: &Shared, request: &PlexRequest) -> Subscription {
    let filter = TypeFilter::parse(request.param("filters"));
    let drop_after = shared.faults().notifications_drop_after;
    shared.notifier.subscribe(filter, drop_after)
}

pub(crate) async fn websocket(
    State(shared): State<Arc<Shared>>,
    Path(colon): Path<String>,
    request: PlexRequest,
    upgrade: Result<WebSocketUpgrade, WebSocketUpgradeRejection>,
) -> Result<Response, PlexError> {
    if colon != COLON {
        return Err(PlexError::NotFound);
    }
    let upgrade = match upgrade {
        Ok(upgrade) => upgrade,
        Err(rejection) => return Ok(rejection.into_response()),
    };
    let subscription = subscribe(&shared, &request);
    Ok(upgrade.on_upgrade(move |socket| pump_websocket(socket, subscription)))
}

async fn pump_websocket(mut socket: WebSocket, mut subscription: Subscription) {
    loop {
        tokio::select! {
            outgoing = subscription.next() => {
                let message = match outgoing {
                    Some(Outgoing::Frame(frame)) => Message::Text(Utf8Bytes::from(frame.json.as_str())),
                    Some(Outgoing::Ping) => Message::Ping(Bytes::from_static(b"plex")),
                    None => break,
                };
                if socket.send(message).await.is_err() {
                    return;
                }
            }
            incoming = socket.recv() => match incoming {
                None | Some(Err(_)) | Some(Ok(Message::Close(_))) => return,
                Some(Ok(_)) => {}
            },
        }
    }
    // Closed by the server (drop, restart, offline, frame budget).
    let _ = socket.send(Message::Close(None)).await;
}

pub(crate) async fn event_source(
    State(shared): State<Arc<Shared>>,
    Path(colon): Path<String>,
    request: PlexRequest,
) -> Result<Response, PlexError> {
    if colon != COLON {
        return Err(PlexError::NotFound);
    }
    let subscription = subscribe(&shared, &request);
    let events = futures::stream::unfold(subscription, |mut subscription| async move {
        let event = match subscription.next().await? {
            Outgoing::Frame(frame) => format!("event: {}\ndata: {}\n\n", frame.kind, frame.json),
            Outgoing::Ping => String::from("event: ping\ndata: {}\n\n"),
        };
        Some((Ok::<_, Infallible>(Bytes::from(event)), subscription))
    });
    let mut response = Body::from_stream(events).into_response();
    let headers = response.headers_mut();
    headers.insert(CONTENT_TYPE, HeaderValue::from_static("text/event-stream"));
    headers.insert(CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    Ok(response)
}
