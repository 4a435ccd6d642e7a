//! Options shared by the subcommands that read settings.

use std::path::PathBuf;

use crate::config::{Overrides, Secret, Settings};

#[derive(Debug, Clone, clap::Args)]
pub struct CommonArgs {
    /// Directory holding the cache and config file.
    #[arg(
        long,
        env = "PLEXCACHE_DATA_DIR",
        default_value = "data",
        global = true
    )]
    pub data_dir: PathBuf,
    /// Plex server URL, e.g. http://192.168.1.10:32400.
    #[arg(long, env = "PLEX_URL", global = true)]
    pub plex_url: Option<String>,
    /// Plex token (prefer the environment variable: flags show up in `ps`).
    #[arg(long, env = "PLEX_TOKEN", hide_env_values = true, global = true)]
    pub plex_token: Option<String>,
    /// Music section keys to cache, comma-separated (default: all music sections).
    #[arg(long, env = "PLEXCACHE_SECTIONS", value_delimiter = ',', global = true)]
    pub sections: Option<Vec<String>>,
    /// Refresh the cache in the background when older than this many hours.
    #[arg(long, env = "PLEXCACHE_REFRESH_AGE_HOURS", global = true)]
    pub refresh_age_hours: Option<f64>,
    /// Accept an untrusted (self-signed) TLS certificate from Plex.
    #[arg(long, env = "PLEXCACHE_ACCEPT_INVALID_CERTS", global = true)]
    pub accept_invalid_certs: Option<bool>,
    /// Timeout of one request to Plex, in seconds.
    #[arg(long, env = "PLEXCACHE_TIMEOUT_SECS", global = true)]
    pub timeout_secs: Option<f64>,
    /// Retries of a failed Plex request.
    #[arg(long, env = "PLEXCACHE_RETRIES", global = true)]
    pub retries: Option<u32>,
    /// Track pages fetched at once during a sync.
    #[arg(long, env = "PLEXCACHE_CONCURRENCY", global = true)]
    pub concurrency: Option<usize>,
    /// Tracks per page requested from Plex.
    #[arg(long, env = "PLEXCACHE_PAGE_SIZE", global = true)]
    pub page_size: Option<usize>,
}

impl CommonArgs {
    pub fn settings(&self) -> anyhow::Result<Settings> {
        let password = std::env::var("PLEXCACHE_PASSWORD").ok().map(Secret::new);
        let overrides = Overrides {
            plex_url: self.plex_url.clone().filter(|u| !u.is_empty()),
            plex_token: self
                .plex_token
                .clone()
                .filter(|t| !t.is_empty())
                .map(Secret::new),
            sections: self.sections.clone(),
            refresh_age_hours: self.refresh_age_hours,
            accept_invalid_certs: self.accept_invalid_certs,
            timeout_secs: self.timeout_secs,
            retries: self.retries,
            concurrency: self.concurrency,
            page_size: self.page_size,
            password,
        };
        Ok(Settings::load(&self.data_dir, overrides)?)
    }
}
