//! The HTTP side of the emulator: shared state, the router, the guard every
//! request passes (URI length, offline, latency, token, 401 fault), the
//! notification stream, and the handle tests and the command use to steer
//! a running emulator.

mod control;
mod delta;
mod guard;
mod library;
mod listing;
mod net;
mod notify;
mod page_fault;
mod playlists;
mod request;

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError, RwLock, RwLockReadGuard, RwLockWriteGuard};
use std::time::Duration;

use axum::Router;
use axum::routing::get;
use serde::{Deserialize, Serialize};
use tokio::net::TcpListener;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use super::catalog::Catalog;
use super::faults::{FaultState, Faults};
use super::model::{Library, Playlist};
use super::mutation::Mutation;
use super::{EmulatorConfig, EmulatorError};
use net::{Gate, GatedListener};
use notify::Notifier;

/// How long connections stay open after `offline_after_items` fires, so
/// the answer that crossed the limit is still delivered.
const OFFLINE_LINGER: Duration = Duration::from_millis(250);

/// Request and item counters.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Stats {
    /// Requests to Plex endpoints (the control endpoint is not counted).
    pub requests: u64,
    /// Items (tracks, albums, artists) sent in answers.
    pub items_served: u64,
}

/// State shared by the handlers and the handle.
pub(crate) struct Shared {
    catalog: RwLock<Catalog>,
    faults: Mutex<FaultState>,
    machine_identifier: RwLock<String>,
    token: String,
    friendly_name: String,
    version: String,
    max_url_len: usize,
    requests: AtomicU64,
    items_served: AtomicU64,
    gate: Arc<Gate>,
    notifier: Notifier,
    restart_pause: Duration,
}

impl Shared {
    pub fn catalog(&self) -> RwLockReadGuard<'_, Catalog> {
        self.catalog.read().unwrap_or_else(PoisonError::into_inner)
    }

    pub fn catalog_mut(&self) -> RwLockWriteGuard<'_, Catalog> {
        self.catalog.write().unwrap_or_else(PoisonError::into_inner)
    }

    pub fn fault_state(&self) -> MutexGuard<'_, FaultState> {
        self.faults.lock().unwrap_or_else(PoisonError::into_inner)
    }

    pub fn faults(&self) -> Faults {
        self.fault_state().faults().clone()
    }

    pub fn set_faults(&self, faults: Faults) {
        self.fault_state().set(faults);
    }

    pub fn machine_identifier(&self) -> String {
        self.machine_identifier
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    pub fn set_machine_identifier(&self, id: &str) {
        *self
            .machine_identifier
            .write()
            .unwrap_or_else(PoisonError::into_inner) = id.to_string();
    }

    /// Changes the library and sends the change's frames (under the lock,
    /// so that frames go out in the order of the changes).
    pub fn mutate(&self, change: Mutation) -> Result<Vec<u64>, EmulatorError> {
        let mut catalog = self.catalog_mut();
        let applied = catalog.mutate(change)?;
        self.notifier.publish(&catalog, &applied.effects);
        Ok(applied.keys)
    }

    /// Closes the notification streams and the port for `pause`, then
    /// listens again. Changes made meanwhile send frames nobody gets.
    pub fn restart(&self, pause: Duration) {
        self.notifier.drop_all();
        self.gate.go_offline(Some(OFFLINE_LINGER));
        self.gate.reopen_after(pause);
    }

    pub fn stats(&self) -> Stats {
        Stats {
            requests: self.requests.load(Ordering::Relaxed),
            items_served: self.items_served.load(Ordering::Relaxed),
        }
    }

    fn count_request(&self) {
        self.requests.fetch_add(1, Ordering::Relaxed);
    }

    /// Accounts for an answer holding `items` items: counts them, goes
    /// offline when `offline_after_items` says so, and waits
    /// `item_latency_us` per item.
    pub async fn serve_items(&self, items: usize) {
        let served = items as u64;
        self.items_served.fetch_add(served, Ordering::Relaxed);
        let (offline, micros_per_item) = {
            let mut state = self.fault_state();
            (state.count_items(served), state.faults().item_latency_us)
        };
        if offline {
            tracing::info!("offline_after_items reached: going offline");
            self.gate.go_offline(Some(OFFLINE_LINGER));
        }
        let micros = micros_per_item.saturating_mul(served);
        if micros > 0 {
            tokio::time::sleep(Duration::from_micros(micros)).await;
        }
    }

    /// Waits until the current connections are ended (never, unless the
    /// emulator goes offline or shuts down).
    pub async fn until_connections_end(&self) {
        self.gate.connections_ended().cancelled_owned().await;
    }
}

/// A running emulator. Clones steer the same server.
#[derive(Clone)]
pub struct EmulatorHandle {
    shared: Arc<Shared>,
    shutdown: CancellationToken,
    task: Arc<Mutex<Option<JoinHandle<()>>>>,
}

/// Serves `config` on `listener` in a background task.
pub async fn start(
    listener: TcpListener,
    config: EmulatorConfig,
) -> std::io::Result<EmulatorHandle> {
    let addr = listener.local_addr()?;
    let shutdown = CancellationToken::new();
    let notifier = Notifier::new(config.ping_interval, shutdown.clone());
    let gate = Arc::new(Gate::new(listener, addr, shutdown.clone()));
    let shared = Arc::new(Shared {
        catalog: RwLock::new(Catalog::new(config.library)),
        faults: Mutex::new(FaultState::new(config.faults)),
        machine_identifier: RwLock::new(config.machine_identifier),
        token: config.token,
        friendly_name: config.friendly_name,
        version: config.version,
        max_url_len: config.max_url_len,
        requests: AtomicU64::new(0),
        items_served: AtomicU64::new(0),
        gate: Arc::clone(&gate),
        notifier,
        restart_pause: config.restart_pause,
    });
    if let Some(every) = config.noise_interval {
        spawn_noise(Arc::clone(&shared), every, shutdown.clone());
    }
    let app = router(Arc::clone(&shared));
    let signal = shutdown.clone();
    let task = tokio::spawn(async move {
        let serving = axum::serve(GatedListener::new(gate), app)
            .with_graceful_shutdown(async move { signal.cancelled().await });
        if let Err(error) = serving.await {
            tracing::warn!(%error, "the emulator stopped serving");
        }
    });
    Ok(EmulatorHandle {
        shared,
        shutdown,
        task: Arc::new(Mutex::new(Some(task))),
    })
}

/// Background noise on the notification stream, as a real server sends.
fn spawn_noise(shared: Arc<Shared>, every: Duration, shutdown: CancellationToken) {
    tokio::spawn(async move {
        loop {
            tokio::select! {
                () = shutdown.cancelled() => return,
                () = tokio::time::sleep(every) => {}
            }
            if shared.notifier.clients() > 0 {
                shared.notifier.publish_noise(&shared.catalog());
            }
        }
    });
}

fn router(shared: Arc<Shared>) -> Router {
    // Plex's paths start with a `:` segment, which the router cannot name;
    // the handlers check it.
    Router::new()
        .route("/{colon}/websockets/notifications", get(notify::websocket))
        .route("/{colon}/websocket/notifications", get(notify::websocket))
        .route(
            "/{colon}/eventsource/notifications",
            get(notify::event_source),
        )
        .route("/identity", get(library::identity))
        .route("/", get(library::server_root))
        .route("/library", get(library::library_root))
        .route("/library/", get(library::library_root))
        .route("/library/sections", get(library::sections))
        .route("/library/sections/", get(library::sections))
        .route("/library/sections/{key}/all", get(listing::section_all))
        .route(
            "/library/sections/{key}/albums",
            get(listing::section_albums),
        )
        .route("/library/metadata/{ids}", get(library::metadata))
        .route("/library/metadata/{id}/children", get(library::children))
        .route("/playlists", get(playlists::list).post(playlists::create))
        .route(
            "/playlists/{id}",
            get(playlists::show).delete(playlists::delete),
        )
        .route(
            "/playlists/{id}/items",
            get(playlists::items).put(playlists::add_items),
        )
        .nest("/_emulator", control::router())
        .fallback(library::not_found)
        .layer(axum::middleware::from_fn_with_state(
            Arc::clone(&shared),
            guard::guard,
        ))
        .with_state(shared)
}

impl EmulatorHandle {
    /// `http://127.0.0.1:PORT`.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr())
    }

    pub fn addr(&self) -> std::net::SocketAddr {
        self.shared.gate.addr()
    }

    /// Replaces the faults in force; their counters start again.
    pub fn set_faults(&self, faults: Faults) {
        self.shared.set_faults(faults);
    }

    pub fn faults(&self) -> Faults {
        self.shared.faults()
    }

    /// Changes the library; answers the rating keys touched (or added).
    pub fn mutate(&self, change: Mutation) -> Result<Vec<u64>, EmulatorError> {
        self.shared.mutate(change)
    }

    /// A snapshot of the library as it is now.
    pub fn library(&self) -> Library {
        self.shared.catalog().library().clone()
    }

    pub fn playlists(&self) -> Vec<Playlist> {
        self.shared.catalog().playlists().to_vec()
    }

    pub fn set_machine_identifier(&self, id: &str) {
        self.shared.set_machine_identifier(id);
    }

    /// Offline: the port refuses connections and open ones are closed.
    /// Online again: the same port is bound anew.
    pub fn set_online(&self, online: bool) {
        if online {
            if let Err(error) = self.shared.gate.go_online() {
                tracing::warn!(%error, addr = %self.addr(), "cannot listen again");
            }
        } else {
            self.shared.notifier.drop_all();
            self.shared.gate.go_offline(None);
        }
    }

    /// Closes every notification stream now (clients may connect again).
    pub fn drop_notifications(&self) {
        self.shared.notifier.drop_all();
    }

    /// How many notification streams are open.
    pub fn notification_clients(&self) -> usize {
        self.shared.notifier.clients()
    }

    /// A restart: the notification streams close and the port refuses
    /// connections for the configured pause (1 s by default), then serves
    /// again. Changes made meanwhile happen, but their frames are lost.
    pub fn restart(&self) {
        self.shared.restart(self.shared.restart_pause);
    }

    /// A restart with its own pause.
    pub fn restart_for(&self, pause: Duration) {
        self.shared.restart(pause);
    }

    pub fn stats(&self) -> Stats {
        self.shared.stats()
    }

    /// Stops serving and waits for the server task to end.
    pub async fn shutdown(self) {
        self.shared.notifier.drop_all();
        self.shutdown.cancel();
        self.shared.gate.close();
        let task = self
            .task
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take();
        if let Some(task) = task
            && let Err(error) = task.await
        {
            tracing::warn!(%error, "the emulator task failed");
        }
    }
}
