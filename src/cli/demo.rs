//! `plexcache demo`: the emulator with a generated library plus the server
//! pointed at it, so everything can be seen working without a Plex server.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;

use crate::config::{DEFAULT_LISTEN, Overrides, Secret, Settings, env};
use plexcache_emulator::{self as emulator, EmulatorConfig, Faults, Library};

const DEMO_TOKEN: &str = "plexcache-demo-token";

#[derive(Debug, clap::Args)]
pub struct DemoArgs {
    /// Tracks in the generated library.
    #[arg(long, default_value_t = 20_000)]
    tracks: usize,
    /// Seed of the generated library.
    #[arg(long, default_value_t = 42)]
    seed: u64,
    /// Address of the web page and API.
    #[arg(long, default_value = DEFAULT_LISTEN)]
    listen: SocketAddr,
    /// Address of the emulated Plex server (port 0 picks a free one).
    #[arg(long, default_value = "127.0.0.1:0")]
    emulator_listen: SocketAddr,
    /// Keep the cache here instead of in a throwaway directory.
    #[arg(long)]
    data_dir: Option<PathBuf>,
    /// Latency the emulator adds per item, in microseconds (makes the
    /// first-sync progress easy to watch).
    #[arg(long, default_value_t = 0)]
    item_latency_us: u64,
    /// Follow the emulator's change notifications, as `serve` follows Plex's.
    #[arg(long, env = env::LIVE_UPDATES, default_value_t = true, action = clap::ArgAction::Set)]
    live_updates: bool,
}

impl DemoArgs {
    pub async fn run(self) -> anyhow::Result<ExitCode> {
        // The same memory habits as `serve`: the demo is how people try it.
        crate::api::limit_arenas();
        let library = Library::generate(self.tracks, self.seed);
        let listener = tokio::net::TcpListener::bind(self.emulator_listen)
            .await
            .with_context(|| format!("cannot listen on {}", self.emulator_listen))?;
        let mut config = EmulatorConfig::new(library, DEMO_TOKEN);
        config.faults = Faults {
            item_latency_us: self.item_latency_us,
            ..Faults::default()
        };
        let plex = emulator::start(listener, config)
            .await
            .context("cannot start the emulator")?;

        let throwaway = match &self.data_dir {
            Some(_) => None,
            None => Some(tempfile::tempdir().context("cannot create a temporary data directory")?),
        };
        let data_dir = self
            .data_dir
            .clone()
            .or_else(|| throwaway.as_ref().map(|t| t.path().to_path_buf()))
            .context("no data directory")?;
        let overrides = Overrides {
            plex_url: Some(plex.url()),
            plex_token: Some(Secret::new(DEMO_TOKEN)),
            live_updates: Some(self.live_updates),
            ..Overrides::default()
        };
        let settings = Settings::load(&data_dir, overrides)?;
        let server = super::serve::build(settings, self.listen).await?;
        let addr = server.local_addr()?;
        println!(
            "plexcache demo: {} generated tracks served by an emulated Plex at {}",
            self.tracks,
            plex.url()
        );
        println!("open http://{addr} in a browser (Ctrl-C to stop)");
        server.run_until(super::serve::shutdown_signal()).await?;
        plex.shutdown().await;
        drop(throwaway);
        Ok(ExitCode::SUCCESS)
    }
}
