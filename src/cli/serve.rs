//! `plexcache serve`: the HTTP API and page. Opening the cache never waits
//! for Plex; a stale cache syncs in the background.

use std::net::SocketAddr;
use std::process::ExitCode;

use anyhow::Context;

use crate::api::{AppState, Server};
use crate::config::{DEFAULT_LISTEN, env};
use crate::store::Store;

#[derive(Debug, clap::Args)]
pub struct ServeArgs {
    #[command(flatten)]
    common: super::CommonArgs,
    /// Address to listen on; use 0.0.0.0:5765 for a LAN or Docker (set PLEXCACHE_PASSWORD then).
    #[arg(long, env = env::LISTEN, default_value = DEFAULT_LISTEN)]
    listen: SocketAddr,
}

impl ServeArgs {
    pub async fn run(self) -> anyhow::Result<ExitCode> {
        crate::api::limit_arenas();
        let settings = self.common.settings()?;
        let server = build(settings, self.listen).await?;
        let addr = server.local_addr()?;
        println!("plexcache listening on http://{addr}");
        server.run_until(shutdown_signal()).await?;
        Ok(ExitCode::SUCCESS)
    }
}

/// Opens the cache and binds the listener.
pub async fn build(
    settings: crate::config::Settings,
    listen: SocketAddr,
) -> anyhow::Result<Server> {
    if !listen.ip().is_loopback() && settings.password.is_none() {
        tracing::warn!(
            "listening on {listen} without PLEXCACHE_PASSWORD: anyone on the network can use this instance"
        );
    }
    // Opening may migrate the file: blocking work, off the async threads.
    let state = tokio::task::spawn_blocking(move || open_library(settings)).await??;
    Server::bind(listen, state)
        .await
        .with_context(|| format!("cannot listen on {listen}"))
}

fn open_library(settings: crate::config::Settings) -> anyhow::Result<AppState> {
    let path = settings.database_path();
    let (store, notice) =
        Store::open(&path).with_context(|| format!("cannot open the cache {}", path.display()))?;
    if let Some(notice) = notice {
        tracing::warn!("{notice}");
    }
    Ok(AppState::new(store, settings)?)
}

/// Completes on Ctrl-C or SIGTERM.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        if tokio::signal::ctrl_c().await.is_err() {
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = terminate => {},
    }
    tracing::info!("shutting down");
}
