//! Reading and changing settings from the page. The token is write-only: it
//! is never sent back, only whether one is set. Changes are validated by
//! connecting to Plex before they are saved.

use axum::Json;
use axum::extract::State;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::error::{ApiError, ErrorBody, JsonBody};
use super::lifecycle::{probe, spawn_sync};
use super::{AppState, write_lock};
use crate::config::{
    FileSettings, Secret, Settings, read_file_settings, validate_plex_url, write_file_settings,
};
use crate::plex::{PlexError, Section};
use crate::sync::{SyncError, client_for, error_message};

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
    pub plex_url: Option<String>,
    /// Omit (or send empty) to keep the current token.
    #[schema(max_length = 200)]
    pub plex_token: Option<String>,
    pub sections: Option<Vec<String>>,
    #[schema(exclusive_minimum = 0.0, maximum = 8760.0)]
    pub refresh_age_hours: Option<f64>,
    pub accept_invalid_certs: Option<bool>,
}

/// Current settings (the token only as set or unset).
#[utoipa::path(get, path = "/api/settings", tag = "settings",
    responses((status = 200, description = "Current settings", body = SettingsView)))]
pub async fn show(State(state): State<AppState>) -> Json<SettingsView> {
    Json(view(&state.settings(), &state.probe().sections))
}

/// Validates by connecting to Plex, then saves to the config file.
#[utoipa::path(put, path = "/api/settings", tag = "settings",
    request_body = SettingsChange,
    responses(
        (status = 200, description = "Saved", body = SettingsView),
        (status = 400, description = "Invalid; `field` names the culprit", body = ErrorBody),
        (status = 413, description = "Body too large", body = ErrorBody),
        (status = 415, description = "Not JSON", body = ErrorBody),
    ))]
pub async fn update(
    State(state): State<AppState>,
    JsonBody(change): JsonBody<SettingsChange>,
) -> Result<Json<SettingsView>, ApiError> {
    let current = state.settings();
    let candidate = apply(&current, change)?;
    let sections = validate_against_plex(&candidate).await?;
    save(&candidate)?;
    *write_lock(&state.settings) = candidate.clone();
    tracing::info!("settings saved");
    // Learn about the (possibly new) server now; a new server syncs at once.
    probe(&state).await;
    if state.sync_state().track_count == 0 && !state.engine.progress().is_running() {
        let _ = spawn_sync(&state);
    }
    Ok(Json(view(&candidate, &sections)))
}

fn view(settings: &Settings, sections: &[Section]) -> SettingsView {
    SettingsView {
        plex_url: settings.plex_url.clone(),
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
        let url = url.trim().trim_end_matches('/').to_owned();
        validate_plex_url(&url).map_err(|e| invalid("plex_url", e.to_string()))?;
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

/// Connects with the candidate settings and lists the music sections; each
/// failure names the field to fix.
async fn validate_against_plex(candidate: &Settings) -> Result<Vec<Section>, ApiError> {
    let client = client_for(candidate).map_err(|e| invalid("plex_url", error_message(&e)))?;
    let to_field = |e: SyncError| match &e {
        SyncError::Plex(PlexError::TokenRejected { .. }) => {
            invalid("plex_token", error_message(&e))
        }
        SyncError::Plex(PlexError::NotFound { .. } | PlexError::NotMusicLibrary { .. }) => {
            invalid("sections", error_message(&e))
        }
        _ => invalid("plex_url", error_message(&e)),
    };
    client.server_info().await.map_err(|e| to_field(e.into()))?;
    client
        .music_sections(&candidate.sections)
        .await
        .map_err(|e| to_field(e.into()))?;
    let all = client
        .music_sections(&[])
        .await
        .map_err(|e| to_field(e.into()))?;
    Ok(all)
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
