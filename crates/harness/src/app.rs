//! plexcache's API and page served in this process on `127.0.0.1:0`:
//! [`InProcess`] for the bench, [`TestApp`] (with its own data directory
//! and a client that fails the test) for the tests.

use std::net::SocketAddr;
use std::time::Duration;

use plexcache::api::{AppState, Server};
use plexcache::config::Settings;
use plexcache::store::Store;
use plexcache_emulator::EmulatorHandle;
use serde_json::Value;
use tokio_util::sync::CancellationToken;

use crate::cache::test_settings;
use crate::client::ApiClient;
use crate::plex::TOKEN;

/// The server of `settings`' cache, running on a task of this process.
pub struct InProcess {
    pub addr: SocketAddr,
    /// `http://127.0.0.1:PORT`.
    pub url: String,
    pub state: AppState,
    stop: CancellationToken,
    task: tokio::task::JoinHandle<std::io::Result<()>>,
}

impl InProcess {
    /// Opens the cache `settings` describe and serves it.
    pub async fn start(settings: Settings) -> anyhow::Result<InProcess> {
        let path = settings.database_path();
        let (store, _) = Store::open(&path)
            .map_err(|e| anyhow::anyhow!("cannot open {}: {e}", path.display()))?;
        Self::serve(store, settings).await
    }

    /// Serves `store`, already opened, with `settings`.
    pub async fn serve(store: Store, settings: Settings) -> anyhow::Result<InProcess> {
        let state = AppState::new(store, settings)?;
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let server = Server::from_listener(listener, state.clone());
        let addr = server.local_addr()?;
        let stop = CancellationToken::new();
        let signal = stop.clone();
        let task = tokio::spawn(server.run_until(async move { signal.cancelled().await }));
        Ok(InProcess {
            addr,
            url: format!("http://{addr}"),
            state,
            stop,
            task,
        })
    }

    /// Stops the server and waits (up to 15 s) for it to finish.
    pub async fn stop(self) {
        self.stop.cancel();
        let _ = tokio::time::timeout(Duration::from_secs(15), self.task).await;
    }
}

/// A running app on port 0 with a data directory of its own. Test-only:
/// its methods panic (failing the test) when a request cannot be made.
pub struct TestApp {
    pub url: String,
    pub state: AppState,
    pub http: reqwest::Client,
    pub client: ApiClient,
    pub dir: tempfile::TempDir,
    server: InProcess,
}

impl TestApp {
    /// An app for `plex` (which expects [`TOKEN`]), with the harness's
    /// test settings.
    pub async fn spawn(plex: &EmulatorHandle) -> TestApp {
        let dir = tempfile::tempdir().expect("a temporary directory");
        let settings = test_settings(dir.path(), &plex.url(), TOKEN).expect("settings");
        Self::spawn_with(dir, settings).await
    }

    /// An app for `plex` that does not follow Plex's notifications: no
    /// catch-up refresh adds to its history.
    pub async fn spawn_without_live(plex: &EmulatorHandle) -> TestApp {
        let dir = tempfile::tempdir().expect("a temporary directory");
        let mut settings = test_settings(dir.path(), &plex.url(), TOKEN).expect("settings");
        settings.live_updates = false;
        Self::spawn_with(dir, settings).await
    }

    /// The app of `settings`, keeping `dir` alive as long as it runs.
    pub async fn spawn_with(dir: tempfile::TempDir, settings: Settings) -> TestApp {
        let server = InProcess::start(settings).await.expect("the app starts");
        let http = reqwest::Client::new();
        let client = ApiClient::with_http(&server.url, http.clone()).expect("a client");
        TestApp {
            url: server.url.clone(),
            state: server.state.clone(),
            http,
            client,
            dir,
            server,
        }
    }

    pub async fn get(&self, path: &str) -> reqwest::Response {
        self.client
            .request(reqwest::Method::GET, path)
            .send()
            .await
            .expect("GET")
    }

    pub async fn get_json(&self, path: &str) -> (u16, Value) {
        self.client.get_json(path).await.expect("GET")
    }

    pub async fn post_json(&self, path: &str, body: &Value) -> (u16, Value) {
        self.client.post_json(path, body).await.expect("POST")
    }

    /// Waits until a sync has run and none runs now (bounded).
    pub async fn wait_idle(&self) -> Value {
        match self.client.wait_idle().await {
            Ok(status) => status,
            Err(e) => panic!("{e:#}"),
        }
    }

    pub async fn stop(self) {
        self.server.stop().await;
    }
}
