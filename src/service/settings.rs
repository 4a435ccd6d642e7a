//! Changing the settings at run time. A change is checked by connecting to
//! Plex once, quickly, before it is saved; changes run one at a time (check,
//! write, swap), so the running settings always equal the config file;
//! switching to a server other than the cached library's needs the caller's
//! confirmation, since it drops that library.

use super::{Library, schedule};
use crate::config::{self, ConfigError, Overrides, Settings, redact_url};
use crate::locks::RwLockExt;
use crate::plex::{ClientOptions, PlexClient, PlexError, Section, ServerInfo};

/// A server's own name, as shown in a confirmation, is cut to this length.
const MAX_SERVER_NAME: usize = 100;

/// Why a settings change was not saved.
#[derive(Debug, thiserror::Error)]
pub enum SettingsError {
    /// A value is refused; `field` names it, `cause` says why technically.
    #[error("{message}")]
    Invalid {
        field: &'static str,
        message: String,
        cause: Option<String>,
    },
    /// The new URL leads to another server than the cached library's.
    #[error("{}", .0.detail)]
    ServerChange(Box<ServerChangeNotice>),
    #[error(transparent)]
    Save(ConfigError),
}

/// What a change of server would drop, for the caller to confirm.
#[derive(Debug, Clone)]
pub struct ServerChangeNotice {
    /// A sentence for people.
    pub detail: String,
    pub server_name: String,
    pub machine_identifier: String,
    pub cached_server_name: Option<String>,
    pub cached_track_count: i64,
}

impl From<ConfigError> for SettingsError {
    fn from(error: ConfigError) -> Self {
        match error {
            ConfigError::Invalid { name, message } => SettingsError::Invalid {
                field: name,
                message,
                cause: None,
            },
            other => SettingsError::Save(other),
        }
    }
}

impl Library {
    /// Checks `change` against Plex, saves it to the config file, swaps it
    /// in and, when it touches the connection (or the last sync failed, or
    /// the cache is empty), syncs. `confirmed` allows a change of server.
    /// Returns the saved settings and the server's music sections.
    pub async fn update_settings(
        &self,
        change: Overrides,
        confirmed: bool,
    ) -> Result<(Settings, Vec<Section>), SettingsError> {
        // Held across the check, the write and the swap. A dropped request
        // drops this future: the check stops and the lock is released.
        let one_at_a_time = self.settings_write.clone().lock_owned().await;
        let before = self.settings();
        let candidate = before.with_change(change)?;
        let (server, sections) = check_against_plex(&candidate).await?;
        if !confirmed && before.plex_url != candidate.plex_url {
            self.confirm_server_change(&candidate, &server)?;
        }
        // Saved, swapped and synced in a task of its own: a request dropped
        // from here on still leaves the file and the running settings equal.
        let library = self.clone();
        let saved = candidate.clone();
        let commit = self.tasks.spawn(async move {
            let _one_at_a_time = one_at_a_time;
            library.commit_settings(before, saved).await
        });
        match commit.await {
            Ok(result) => result?,
            Err(e) if e.is_panic() => std::panic::resume_unwind(e.into_panic()),
            Err(_) => return Err(SettingsError::Save(shutting_down(&candidate))),
        }
        tracing::info!(
            plex_url = candidate
                .plex_url
                .as_deref()
                .map(redact_url)
                .unwrap_or_default(),
            "settings saved"
        );
        // Learn about the (possibly new) server now.
        self.probe_now().await;
        Ok((candidate, sections))
    }

    async fn commit_settings(&self, before: Settings, after: Settings) -> Result<(), ConfigError> {
        let to_save = after.clone();
        super::unblock(move || config::save_settings(&to_save))
            .await
            .unwrap_or_else(|| Err(shutting_down(&after)))?;
        *self.settings.write_unpoisoned() = after.clone();
        self.live_restart.notify_waiters();
        let wanted =
            schedule::sync_after_settings(&before, &after, &self.sync_state(), self.is_syncing());
        if wanted {
            match self.start_sync().await {
                Ok(_) => tracing::info!("syncing with the new settings"),
                Err(e) => tracing::debug!("no sync after the settings change: {e}"),
            }
        }
        Ok(())
    }

    /// Refuses, until confirmed, a new Plex URL whose server is not the one
    /// the cached library came from.
    fn confirm_server_change(
        &self,
        candidate: &Settings,
        server: &ServerInfo,
    ) -> Result<(), SettingsError> {
        let cached = self.sync_state();
        let differs = cached
            .machine_identifier
            .as_deref()
            .is_some_and(|id| id != server.machine_identifier);
        if !differs || cached.track_count == 0 {
            return Ok(());
        }
        let name = shown_name(&server.name);
        let url = candidate
            .plex_url
            .as_deref()
            .map(redact_url)
            .unwrap_or_default();
        let old = cached
            .server_name
            .as_deref()
            .map(|n| format!(" ({})", shown_name(n)))
            .unwrap_or_default();
        let detail = format!(
            "{url} is another Plex server, \"{name}\", not the one the cache holds{old}; saving \
             drops the {} cached tracks and syncs the new library",
            thousands(cached.track_count)
        );
        Err(SettingsError::ServerChange(Box::new(ServerChangeNotice {
            detail,
            server_name: name,
            machine_identifier: shown_name(&server.machine_identifier),
            cached_server_name: cached.server_name.as_deref().map(shown_name),
            cached_track_count: cached.track_count,
        })))
    }
}

fn shutting_down(settings: &Settings) -> ConfigError {
    ConfigError::Write {
        path: settings.data_dir.join(config::CONFIG_FILE),
        source: std::io::Error::other("plexcache is shutting down"),
    }
}

/// Another server's self-description, made fit to show: no control
/// characters, bounded length.
fn shown_name(name: &str) -> String {
    let clean: String = name
        .chars()
        .filter(|c| !c.is_control())
        .take(MAX_SERVER_NAME)
        .collect();
    clean.trim().to_owned()
}

/// 101658 as "101,658".
fn thousands(n: i64) -> String {
    let digits = n.unsigned_abs().to_string();
    let mut out = String::new();
    for (i, d) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(d);
    }
    if n < 0 { format!("-{out}") } else { out }
}

/// A client for checking settings: one try with a short timeout.
fn check_client(candidate: &Settings) -> Result<PlexClient, PlexError> {
    let Some(options) = ClientOptions::from_settings(candidate) else {
        return Err(PlexError::InvalidUrl {
            url: String::new(),
            reason: "a Plex URL and token are needed".into(),
        });
    };
    PlexClient::new(options.interactive())
}

/// Connects with the candidate settings: who the server is, and its music
/// sections. Each failure names the field to fix, in words for a person;
/// the technical cause goes to the log and to `cause`.
async fn check_against_plex(
    candidate: &Settings,
) -> Result<(ServerInfo, Vec<Section>), SettingsError> {
    let url = candidate
        .plex_url
        .as_deref()
        .map(redact_url)
        .unwrap_or_default();
    let to_field = |e: PlexError| {
        tracing::info!(plex_url = %url, cause = %e.technical_detail(), "settings check failed: {e}");
        let (field, message) = match &e {
            PlexError::TokenRejected { .. } => ("plex_token", e.user_message()),
            e if e.is_not_plex() => (
                "plex_url",
                format!("no Plex server answers at {url}; check the address"),
            ),
            PlexError::NotFound { .. } | PlexError::NotMusicLibrary { .. } => {
                ("sections", e.user_message())
            }
            _ => ("plex_url", e.user_message()),
        };
        SettingsError::Invalid {
            field,
            message,
            cause: Some(e.technical_detail()),
        }
    };
    let client = check_client(candidate).map_err(to_field)?;
    let server = client.server_info().await.map_err(to_field)?;
    let chosen = client
        .music_sections(&candidate.sections)
        .await
        .map_err(to_field)?;
    let available = if candidate.sections.is_empty() {
        chosen
    } else {
        client.music_sections(&[]).await.map_err(to_field)?
    };
    Ok((server, available))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_read_with_thousands_separators() {
        assert_eq!(thousands(101_658), "101,658");
        assert_eq!(thousands(999), "999");
        assert_eq!(thousands(1_000_000), "1,000,000");
    }

    #[test]
    fn a_server_name_is_shown_without_control_characters_and_bounded() {
        assert_eq!(shown_name("Home\u{7}\nPlex "), "HomePlex");
        assert_eq!(shown_name(&"x".repeat(500)).len(), MAX_SERVER_NAME);
    }
}
