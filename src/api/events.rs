//! `GET /api/events`: the library's events as a server-sent event stream,
//! so the page follows changes without polling. A stream starts with a
//! `status` event, then forwards the [`EventBus`](crate::service::EventBus):
//! `library` for a committed change, `sync` (the status) when a sync starts,
//! every second while it runs, and when it ends, `connection` when Plex's
//! reachability or the live state changes. A subscriber that fell behind
//! gets a fresh `status` instead of what it missed. Streams are bounded per
//! server and end when serving stops.

use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::State;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use tokio::sync::broadcast::error::RecvError;
use tokio::sync::{OwnedSemaphorePermit, Semaphore, broadcast};
use tokio::time::{Interval, MissedTickBehavior};
use tokio_util::sync::CancellationToken;
use utoipa::ToSchema;

use super::AppState;
use super::error::{ApiError, ErrorBody};
use super::library::LibraryStatus;
use super::listen::LongLived;
use crate::clock::rfc3339;
use crate::service::{LibraryChange, LibraryEvent};

/// Event streams open at once per server; more get 503.
pub const MAX_STREAMS: usize = 32;
/// A comment line this often keeps proxies and the idle timeout from
/// closing a quiet stream.
pub const KEEP_ALIVE: Duration = Duration::from_secs(15);
// The connection watchdog closes a connection that moves no byte for
// IDLE_TIMEOUT; a stream stays open by writing well within it.
const _: () = assert!(KEEP_ALIVE.as_secs() * 2 <= super::IDLE_TIMEOUT.as_secs());
/// How often a running sync's progress is sent, and reachability checked.
const TICK: Duration = Duration::from_secs(1);

/// The streams of one server: their slots, and the signal that ends them.
pub struct Streams {
    slots: Arc<Semaphore>,
    /// Cancelled when the server stops accepting: open streams end so that
    /// graceful shutdown does not wait on them.
    ending: CancellationToken,
}

impl Default for Streams {
    fn default() -> Self {
        Self {
            slots: Arc::new(Semaphore::new(MAX_STREAMS)),
            ending: CancellationToken::new(),
        }
    }
}

impl Streams {
    /// Ends every open stream, and refuses new ones.
    pub fn end_all(&self) {
        self.ending.cancel();
    }
}

/// The data of a `library` event.
#[derive(Debug, Serialize, ToSchema)]
pub struct LibraryChanged {
    pub added: u64,
    pub changed: u64,
    pub removed: u64,
    /// When the change was committed (RFC 3339).
    pub at: Option<String>,
}

/// The data of a `connection` event.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
pub struct Connection {
    pub plex_connected: bool,
    pub live: bool,
}

/// Server-sent events: `status` first (the same JSON as
/// `/api/library/status`), then `library` (`{added, changed, removed, at}`)
/// when a change is committed, `sync` (the status) at a sync's start, every
/// second while it runs and at its end, and `connection`
/// (`{plex_connected, live}`) when either changes. A client that falls
/// behind gets a `status` event instead of the events it missed. A comment
/// line keeps the stream open every 15 s.
#[utoipa::path(get, path = "/api/events", tag = "library",
    responses(
        (status = 200, description = "An endless stream of server-sent events named `status`, \
            `library`, `sync` and `connection`", content_type = "text/event-stream", body = String),
        (status = 503, description = "Too many event streams are open, or the server is stopping",
            body = ErrorBody),
    ))]
pub async fn events(State(state): State<AppState>) -> Response {
    let streams = &state.streams;
    let permit = match streams.slots.clone().try_acquire_owned() {
        Ok(permit) if !streams.ending.is_cancelled() => permit,
        _ => return busy(),
    };
    // Subscribed before the status is read: a change committed in between
    // is sent after it rather than lost.
    let receiver = state.library().events().subscribe();
    let first = status_event("status", &state).await;
    let feed = Feed {
        connection: connection_of(&state),
        ending: streams.ending.clone(),
        state,
        receiver,
        tick: ticker(),
        first: Some(first),
        _permit: permit,
    };
    let stream = futures::stream::unfold(feed, |mut feed| async move {
        let event = feed.next().await?;
        Some((Ok::<_, Infallible>(event), feed))
    });
    let mut response = Sse::new(stream)
        .keep_alive(KeepAlive::new().interval(KEEP_ALIVE))
        .into_response();
    // Reverse proxies such as nginx would otherwise buffer the stream.
    response
        .headers_mut()
        .insert("x-accel-buffering", HeaderValue::from_static("no"));
    // Quiet between events by design: not an idle connection.
    response.extensions_mut().insert(LongLived);
    response
}

fn busy() -> Response {
    let mut response = ApiError::new(
        StatusCode::SERVICE_UNAVAILABLE,
        "busy",
        "too many event streams are open; try again later",
    )
    .into_response();
    response
        .headers_mut()
        .insert(header::RETRY_AFTER, HeaderValue::from_static("5"));
    response
}

fn ticker() -> Interval {
    let mut tick = tokio::time::interval_at(tokio::time::Instant::now() + TICK, TICK);
    tick.set_missed_tick_behavior(MissedTickBehavior::Delay);
    tick
}

/// One open stream: where its events come from, and what it last said.
struct Feed {
    state: AppState,
    receiver: broadcast::Receiver<LibraryEvent>,
    tick: Interval,
    ending: CancellationToken,
    first: Option<Event>,
    /// Last reachability and live state sent (or seen at the start).
    connection: Connection,
    _permit: OwnedSemaphorePermit,
}

impl Feed {
    /// The next event; `None` ends the stream.
    async fn next(&mut self) -> Option<Event> {
        if let Some(first) = self.first.take() {
            return Some(first);
        }
        let shutdown = self.state.shutdown.clone();
        loop {
            tokio::select! {
                () = self.ending.cancelled() => return None,
                () = shutdown.cancelled() => return None,
                received = self.receiver.recv() => match received {
                    Ok(event) => return Some(self.event_for(event).await),
                    // Missed events are summed up by the current status.
                    Err(RecvError::Lagged(_)) => {
                        return Some(status_event("status", &self.state).await);
                    }
                    Err(RecvError::Closed) => return None,
                },
                _ = self.tick.tick() => {
                    if let Some(event) = self.on_tick().await {
                        return Some(event);
                    }
                }
            }
        }
    }

    async fn event_for(&mut self, event: LibraryEvent) -> Event {
        match event {
            LibraryEvent::Changed(change) => library_event(change),
            LibraryEvent::SyncProgress => status_event("sync", &self.state).await,
            LibraryEvent::Connection {
                plex_connected,
                live,
            } => {
                self.connection = Connection {
                    plex_connected,
                    live,
                };
                connection_event(self.connection)
            }
        }
    }

    /// A running sync's progress, or a change of reachability nobody
    /// announced (the probe only records it).
    async fn on_tick(&mut self) -> Option<Event> {
        let now = connection_of(&self.state);
        if now != self.connection {
            self.connection = now;
            return Some(connection_event(now));
        }
        if self.state.library().is_syncing() {
            return Some(status_event("sync", &self.state).await);
        }
        None
    }
}

fn connection_of(state: &AppState) -> Connection {
    Connection {
        plex_connected: state.library().probe().connected.unwrap_or(false),
        live: state.library().live_state().live,
    }
}

async fn status_event(name: &'static str, state: &AppState) -> Event {
    let status: LibraryStatus = state.library().status().await.into();
    json_event(name, &status)
}

fn library_event(change: LibraryChange) -> Event {
    json_event(
        "library",
        &LibraryChanged {
            added: change.added,
            changed: change.changed,
            removed: change.removed,
            at: rfc3339(change.at),
        },
    )
}

fn connection_event(connection: Connection) -> Event {
    json_event("connection", &connection)
}

fn json_event(name: &'static str, data: &impl Serialize) -> Event {
    // These types always serialize; "{}" keeps the stream valid regardless.
    let text = serde_json::to_string(data).unwrap_or_else(|_| String::from("{}"));
    Event::default().event(name).data(text)
}
