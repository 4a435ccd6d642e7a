//! The HTTP API and page server (`plexcache serve`): the axum router, its
//! guards (password with a guessing limit, same-origin writes, host names,
//! requests in flight, body size, security headers), the accept loop with
//! its connection limits, and serving's start and end. Handlers parse the
//! request, call the [`Library`] service and turn its answer or error into
//! JSON; one module per resource; [`error::ApiError`] is the one error
//! answer.

pub mod error;
mod events;
mod guard;
mod library;
mod listen;
mod memory;
mod metrics;
pub mod openapi;
mod playlists;
mod settings;
pub mod tracks;

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::http::{HeaderMap, HeaderValue, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use tower_http::set_header::SetResponseHeaderLayer;

use crate::service::{Library, Settings, Store, StoreError};
use error::ApiError;
pub use events::{KEEP_ALIVE, MAX_STREAMS};
pub use guard::{MAX_IN_FLIGHT, QUEUE_WAIT};
pub use listen::{
    BODY_READ_TIMEOUT, ConnectionLimits, HEADER_READ_TIMEOUT, IDLE_TIMEOUT, MAX_CONNECTIONS,
    WRITE_STALL_TIMEOUT,
};
pub use memory::limit_arenas;

/// Largest request body accepted (filters and playlists are small).
const BODY_LIMIT: usize = 1024 * 1024;

const CONTENT_SECURITY_POLICY: &str = "default-src 'self'; img-src 'self' data:; style-src 'self'; \
     script-src 'self'; connect-src 'self'; base-uri 'none'; frame-ancestors 'none'; form-action 'self'";

/// Everything the handlers share: the library service and the guards'
/// state. Cheap to clone.
#[derive(Clone)]
pub struct AppState {
    library: Library,
    /// The library's: cancelled when serving stops.
    pub shutdown: CancellationToken,
    /// The library's: background work waited for when serving stops.
    pub tasks: TaskTracker,
    /// Bound to a loopback address only: then requests must name the host by
    /// IP or as `localhost` (DNS-rebinding defence).
    pub loopback_only: Arc<AtomicBool>,
    /// Wrong-password counts and the in-flight bound.
    guards: Arc<guard::Guards>,
    /// The open event streams (`/api/events`).
    streams: Arc<events::Streams>,
}

impl AppState {
    pub fn new(store: Store, settings: Settings) -> Result<Self, StoreError> {
        Ok(Self::from_library(Library::new(store, settings)?))
    }

    pub fn from_library(library: Library) -> Self {
        Self {
            shutdown: library.shutdown_token().clone(),
            tasks: library.tasks().clone(),
            library,
            loopback_only: Arc::new(AtomicBool::new(true)),
            guards: Arc::default(),
            streams: Arc::default(),
        }
    }

    pub fn library(&self) -> &Library {
        &self.library
    }

    pub fn store(&self) -> &Store {
        self.library.store()
    }

    pub fn settings(&self) -> Settings {
        self.library.settings()
    }
}

/// The full router: API, page, guards.
pub fn router(state: AppState) -> Router {
    let api = Router::new()
        .route("/api/health", get(library::health))
        .route("/api/library/status", get(library::status))
        .route("/api/events", get(events::events))
        .route("/api/library/sync", post(library::start_sync))
        .route("/api/library/sync/history", get(tracks::history))
        .route("/api/library/tracks", get(tracks::tracks))
        .route("/api/library/stats", get(tracks::stats))
        .route("/api/library/sample", get(tracks::sample))
        .route("/api/filter/preview", post(tracks::preview))
        .route("/api/playlists", post(playlists::create))
        .route("/api/settings", get(settings::show).put(settings::update))
        .route("/api/openapi.json", get(openapi::document))
        .route("/metrics", get(metrics::show));
    Router::new()
        .merge(api)
        .fallback(get(page).fallback(not_found))
        .method_not_allowed_fallback(method_not_allowed)
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            guard::same_origin_writes,
        ))
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            guard::password,
        ))
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            guard::known_host,
        ))
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            guard::in_flight,
        ))
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            metrics::record,
        ))
        .layer(DefaultBodyLimit::max(BODY_LIMIT))
        .layer(SetResponseHeaderLayer::overriding(
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static(CONTENT_SECURITY_POLICY),
        ))
        .layer(SetResponseHeaderLayer::overriding(
            header::X_CONTENT_TYPE_OPTIONS,
            HeaderValue::from_static("nosniff"),
        ))
        .layer(SetResponseHeaderLayer::overriding(
            header::REFERRER_POLICY,
            HeaderValue::from_static("no-referrer"),
        ))
        .layer(SetResponseHeaderLayer::overriding(
            header::X_FRAME_OPTIONS,
            HeaderValue::from_static("DENY"),
        ))
        .layer(tower_http::catch_panic::CatchPanicLayer::custom(|_| {
            ApiError::new(
                StatusCode::INTERNAL_SERVER_ERROR,
                "internal",
                "the server hit a bug",
            )
            .into_response()
        }))
        .with_state(state)
}

/// Embedded page files (revalidated by ETag); anything else is a JSON 404.
async fn page(uri: Uri, headers: HeaderMap) -> Response {
    let Some(asset) = crate::web::asset(uri.path()) else {
        return not_found().await;
    };
    let cache = [
        (header::ETAG, asset.etag),
        (header::CACHE_CONTROL, "no-cache"),
    ];
    let unchanged = headers
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|tags| tags.split(',').any(|t| t.trim() == asset.etag));
    if unchanged {
        return (StatusCode::NOT_MODIFIED, cache).into_response();
    }
    (
        cache,
        [(header::CONTENT_TYPE, asset.content_type)],
        asset.bytes,
    )
        .into_response()
}

async fn not_found() -> Response {
    ApiError::not_found().into_response()
}

async fn method_not_allowed() -> Response {
    ApiError::new(
        StatusCode::METHOD_NOT_ALLOWED,
        "method_not_allowed",
        "this endpoint does not take that method",
    )
    .into_response()
}

/// A bound server, ready to run. Bind first so callers (and tests binding
/// port 0) know the address before serving.
pub struct Server {
    listener: TcpListener,
    state: AppState,
    limits: ConnectionLimits,
}

impl Server {
    pub async fn bind(addr: SocketAddr, state: AppState) -> std::io::Result<Self> {
        Ok(Self::from_listener(TcpListener::bind(addr).await?, state))
    }

    pub fn from_listener(listener: TcpListener, state: AppState) -> Self {
        Self {
            listener,
            state,
            limits: ConnectionLimits::default(),
        }
    }

    /// Other connection limits than the defaults (tests use short ones).
    pub fn with_limits(mut self, limits: ConnectionLimits) -> Self {
        self.limits = limits;
        self
    }

    pub fn limits(&self) -> ConnectionLimits {
        self.limits
    }

    pub fn local_addr(&self) -> std::io::Result<SocketAddr> {
        self.listener.local_addr()
    }

    pub fn state(&self) -> &AppState {
        &self.state
    }

    /// Serves until `stop` completes, then stops accepting, lets open
    /// connections finish, cancels a running sync (the old library stays)
    /// and waits for background work.
    pub async fn run_until(
        self,
        stop: impl std::future::Future<Output = ()> + Send + 'static,
    ) -> std::io::Result<()> {
        let state = self.state.clone();
        let loopback = self.listener.local_addr()?.ip().is_loopback();
        state.loopback_only.store(loopback, Ordering::Relaxed);
        state.library.start_background().await;
        memory::start_trimming(&state);
        let stop_accepting = CancellationToken::new();
        let shutdown = state.shutdown.clone();
        let trigger = stop_accepting.clone();
        let streams = state.streams.clone();
        let watch = async move {
            tokio::select! {
                () = stop => {},
                () = shutdown.cancelled() => {},
            }
            // Event streams never finish on their own: end them, or the
            // drain would wait for them.
            streams.end_all();
            trigger.cancel();
        };
        let accept = listen::accept_loop(
            self.listener,
            router(state.clone()),
            self.limits,
            stop_accepting,
        );
        tokio::join!(watch, accept);
        state.library.stop().await;
        Ok(())
    }
}
