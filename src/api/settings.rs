//! Reading and changing settings from the page. The token is write-only: it
//! is never sent back, only whether one is set. A change is checked by
//! connecting to Plex once, quickly, before it is saved; changes run one at
//! a time (check, write, swap), so the running settings always equal the
//! config file; switching to a server other than the cached library's needs
//! the client's confirmation, since it drops that library.

use std::time::Duration;

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::error::{ApiError, ErrorBody, JsonBody, ServerChange};
use super::lifecycle::{probe, spawn_sync};
use super::{AppState, write_lock};
use crate::config::{
    ConfigError, FileSettings, Secret, Settings, TokenPlace, normalize_plex_url,
    read_file_settings, redact_url, write_file_settings,
};
use crate::plex::{ClientOptions, PlexClient, PlexError, Section, ServerInfo};
use crate::sync::error_message;

/// A settings check is interactive: one try, and not for long.
const CHECK_TIMEOUT: Duration = Duration::from_secs(5);
/// A server's own name, as shown in a confirmation, is cut to this length.
const MAX_SERVER_NAME: usize = 100;

#[derive(Debug, Serialize, ToSchema)]
pub struct SectionInfo {
    pub key: String,
    pub title: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct SettingsView {
    pub plex_url: Option<String>,
    /// Whether a token is set; the token itself is never shown.
    pub token_set: bool,
    /// Section keys cached; empty means all music sections.
    pub sections: Vec<String>,
    pub refresh_age_hours: f64,
    pub accept_invalid_certs: bool,
    /// Music sections of the server, as last seen.
    pub available_sections: Vec<SectionInfo>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SettingsChange {
    /// `http://` is added when no scheme is given; a user name, password or
    /// `X-Plex-Token` in it is refused (the token has its own field).
    pub plex_url: Option<String>,
    /// Omit (or send empty) to keep the current token.
    #[schema(max_length = 200)]
    pub plex_token: Option<String>,
    pub sections: Option<Vec<String>>,
    #[schema(exclusive_minimum = 0.0, maximum = 8760.0)]
    pub refresh_age_hours: Option<f64>,
    pub accept_invalid_certs: Option<bool>,
    /// Confirms switching to a different Plex server, which drops the cached
    /// library (asked for by a 409 `server_change_confirm`).
    pub confirm_server_change: Option<bool>,
}

/// Current settings (the token only as set or unset).
#[utoipa::path(get, path = "/api/settings", tag = "settings",
    responses((status = 200, description = "Current settings", body = SettingsView)))]
pub async fn show(State(state): State<AppState>) -> Json<SettingsView> {
    Json(view(&state.settings(), &state.probe().sections))
}

/// Checks the change by connecting to Plex, then saves it to the config file
/// and, when it touches the connection (or the last sync failed), syncs.
#[utoipa::path(put, path = "/api/settings", tag = "settings",
    request_body = SettingsChange,
    responses(
        (status = 200, description = "Saved", body = SettingsView),
        (status = 400, description = "Invalid; `field` names the culprit, `cause` says why technically", body = ErrorBody),
        (status = 409, description = "`server_change_confirm`: a different Plex server than the cached library's; \
            `server_change` names it; send again with `confirm_server_change: true`", body = ErrorBody),
        (status = 413, description = "Body too large", body = ErrorBody),
        (status = 415, description = "Not JSON", body = ErrorBody),
    ))]
pub async fn update(
    State(state): State<AppState>,
    JsonBody(change): JsonBody<SettingsChange>,
) -> Result<Json<SettingsView>, ApiError> {
    let confirmed = change.confirm_server_change == Some(true);
    let (saved, sections) = {
        // Held across the check, the write and the swap. A dropped request
        // drops this future: the check stops and the lock is released.
        let _one_at_a_time = state.settings_write.lock().await;
        let before = state.settings();
        let candidate = apply(&before, change)?;
        let (server, sections) = check_against_plex(&candidate).await?;
        if !confirmed && before.plex_url != candidate.plex_url {
            confirm_server_change(&state, &candidate, &server)?;
        }
        save(&candidate)?;
        *write_lock(&state.settings) = candidate.clone();
        // Before any await: a request dropped from here on still syncs.
        sync_after_change(&state, &before, &candidate);
        (candidate, sections)
    };
    tracing::info!(
        plex_url = saved
            .plex_url
            .as_deref()
            .map(redact_url)
            .unwrap_or_default(),
        "settings saved"
    );
    // Learn about the (possibly new) server now.
    probe(&state).await;
    Ok(Json(view(&saved, &sections)))
}

/// A change to the connection deserves a sync, so the person sees whether it
/// works; so does saving after a failed sync, or into an empty cache.
fn sync_after_change(state: &AppState, before: &Settings, after: &Settings) {
    let sync_state = state.sync_state();
    let wanted = connection_changed(before, after)
        || sync_state.track_count == 0
        || sync_state.last_error.is_some();
    if wanted && !state.engine.progress().is_running() {
        match spawn_sync(state) {
            Ok(_) => tracing::info!("syncing with the new settings"),
            Err(e) => tracing::debug!("no sync after the settings change: {e}"),
        }
    }
}

fn connection_changed(before: &Settings, after: &Settings) -> bool {
    before.plex_url != after.plex_url
        || before.plex_token != after.plex_token
        || before.sections != after.sections
        || before.accept_invalid_certs != after.accept_invalid_certs
}

/// Refuses, until confirmed, a new Plex URL whose server is not the one the
/// cached library came from.
fn confirm_server_change(
    state: &AppState,
    candidate: &Settings,
    server: &ServerInfo,
) -> Result<(), ApiError> {
    let cached = state.sync_state();
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
    let mut error =
        ApiError::new(StatusCode::CONFLICT, "server_change_confirm", detail).with_field("plex_url");
    error.server_change = Some(Box::new(ServerChange {
        server_name: name,
        machine_identifier: shown_name(&server.machine_identifier),
        cached_server_name: cached.server_name.as_deref().map(shown_name),
        cached_track_count: cached.track_count,
    }));
    Err(error)
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

fn view(settings: &Settings, sections: &[Section]) -> SettingsView {
    SettingsView {
        plex_url: settings.plex_url.as_deref().map(redact_url),
        token_set: settings.plex_token.as_ref().is_some_and(|t| !t.is_empty()),
        sections: settings.sections.clone(),
        refresh_age_hours: settings.refresh_age.as_secs_f64() / 3600.0,
        accept_invalid_certs: settings.accept_invalid_certs,
        available_sections: sections
            .iter()
            .map(|s| SectionInfo {
                key: s.key.clone(),
                title: s.title.clone(),
            })
            .collect(),
    }
}

fn invalid(field: &'static str, detail: impl Into<String>) -> ApiError {
    ApiError::bad_request("invalid_settings", detail).with_field(field)
}

fn apply(current: &Settings, change: SettingsChange) -> Result<Settings, ApiError> {
    let mut next = current.clone();
    let token_given = change
        .plex_token
        .as_deref()
        .is_some_and(|t| !t.trim().is_empty());
    if let Some(url) = change.plex_url {
        let url = normalize_plex_url(&url, TokenPlace::Dialog)
            .map_err(|e| invalid("plex_url", config_message(e)))?;
        // The stored token is only ever sent to the host it was entered for.
        if !token_given
            && current
                .plex_url
                .as_deref()
                .is_some_and(|old| host_of(old) != host_of(&url))
        {
            return Err(invalid(
                "plex_token",
                "enter the Plex token again for a different server",
            ));
        }
        next.plex_url = Some(url);
    }
    if let Some(token) = change.plex_token.filter(|t| !t.trim().is_empty()) {
        if token.len() > 200 || !token.trim().chars().all(|c| c.is_ascii_graphic()) {
            return Err(invalid(
                "plex_token",
                "a Plex token is a short string of letters, digits and symbols",
            ));
        }
        next.plex_token = Some(Secret::new(token.trim()));
    }
    if let Some(sections) = change.sections {
        if sections.len() > 100 || sections.iter().any(|s| s.is_empty() || s.len() > 20) {
            return Err(invalid(
                "sections",
                "sections are section keys such as \"1\"",
            ));
        }
        next.sections = sections;
    }
    if let Some(hours) = change.refresh_age_hours {
        if !(hours.is_finite() && hours > 0.0 && hours <= 8760.0) {
            return Err(invalid(
                "refresh_age_hours",
                "the refresh age is between 0 and 8760 hours",
            ));
        }
        next.refresh_age = std::time::Duration::from_secs_f64(hours * 3600.0);
    }
    if let Some(accept) = change.accept_invalid_certs {
        next.accept_invalid_certs = accept;
    }
    if next.plex_url.is_none() {
        return Err(invalid(
            "plex_url",
            "a Plex URL is needed, like http://192.168.1.10:32400",
        ));
    }
    if !next.plex_configured() {
        return Err(invalid("plex_token", "a Plex token is needed"));
    }
    Ok(next)
}

/// Host and port of a URL, to tell servers apart.
fn host_of(url: &str) -> Option<(String, Option<u16>)> {
    let parsed = reqwest::Url::parse(url).ok()?;
    Some((
        parsed.host_str()?.to_ascii_lowercase(),
        parsed.port_or_known_default(),
    ))
}

/// The words of a config error without its "invalid setting" prefix.
fn config_message(error: ConfigError) -> String {
    match error {
        ConfigError::Invalid { message, .. } => message,
        other => error_message(&other),
    }
}

/// A client for checking settings: one try with a short timeout.
fn check_client(candidate: &Settings) -> Result<PlexClient, PlexError> {
    let (Some(url), Some(token)) = (&candidate.plex_url, &candidate.plex_token) else {
        return Err(PlexError::InvalidUrl {
            url: String::new(),
            reason: "a Plex URL and token are needed".into(),
        });
    };
    let mut options = ClientOptions::new(url.clone(), token.clone());
    options.timeout = candidate.timeout.min(CHECK_TIMEOUT);
    options.retries = 0;
    options.accept_invalid_certs = candidate.accept_invalid_certs;
    PlexClient::new(options)
}

/// Connects with the candidate settings: who the server is, and its music
/// sections. Each failure names the field to fix, in words for a person;
/// the technical cause goes to the log and to `cause`.
async fn check_against_plex(candidate: &Settings) -> Result<(ServerInfo, Vec<Section>), ApiError> {
    let url = candidate
        .plex_url
        .as_deref()
        .map(redact_url)
        .unwrap_or_default();
    let to_field = |e: PlexError| {
        tracing::info!(plex_url = %url, cause = %e.technical_detail(), "settings check failed: {e}");
        let (field, detail) = match &e {
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
        invalid(field, detail).with_cause(e.technical_detail())
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

fn save(settings: &Settings) -> Result<(), ApiError> {
    let store_error = |e: crate::config::ConfigError| {
        ApiError::new(
            axum::http::StatusCode::INTERNAL_SERVER_ERROR,
            "config_write",
            error_message(&e),
        )
    };
    let mut file: FileSettings = read_file_settings(&settings.data_dir).unwrap_or_default();
    file.plex_url = settings.plex_url.clone();
    file.plex_token = settings.plex_token.clone();
    file.sections = Some(settings.sections.clone());
    file.refresh_age_hours = Some(settings.refresh_age.as_secs_f64() / 3600.0);
    file.accept_invalid_certs = Some(settings.accept_invalid_certs);
    write_file_settings(&settings.data_dir, &file).map_err(store_error)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings() -> Settings {
        let dir = tempfile::tempdir().unwrap();
        let overrides = crate::config::Overrides {
            plex_url: Some("http://127.0.0.1:32400".into()),
            plex_token: Some(Secret::new("t1")),
            ..Default::default()
        };
        Settings::load(dir.path(), overrides).unwrap()
    }

    #[test]
    fn a_new_token_url_or_sections_is_a_connection_change_a_refresh_age_is_not() {
        let before = settings();
        let mut after = before.clone();
        after.refresh_age = Duration::from_secs(60);
        assert!(!connection_changed(&before, &after));
        after.plex_token = Some(Secret::new("t2"));
        assert!(connection_changed(&before, &after));
        let mut after = before.clone();
        after.sections = vec!["1".into()];
        assert!(connection_changed(&before, &after));
        let mut after = before.clone();
        after.plex_url = Some("http://127.0.0.1:32401".into());
        assert!(connection_changed(&before, &after));
    }

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
