//! Reading and changing settings from the page. The token is write-only: it
//! is never sent back, only whether one is set. Checking, saving and
//! applying a change is the library service's work
//! ([`crate::service::Library::update_settings`]).

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::AppState;
use super::error::{ApiError, ErrorBody, JsonBody, ServerChange};
use crate::service::{
    Overrides, Secret, Section, Settings, SettingsError, error_message, full_sweep_days, redact_url,
};

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
    /// Days between full syncs; refreshes in between fetch only what
    /// changed (0: never).
    pub full_sweep_days: f64,
    /// `serve` follows Plex's change notifications.
    pub live_updates: bool,
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
    #[schema(minimum = 0.0, maximum = 365.0)]
    pub full_sweep_days: Option<f64>,
    pub live_updates: Option<bool>,
    pub accept_invalid_certs: Option<bool>,
    /// Confirms switching to a different Plex server, which drops the cached
    /// library (asked for by a 409 `server_change_confirm`).
    pub confirm_server_change: Option<bool>,
}

/// Current settings (the token only as set or unset).
#[utoipa::path(get, path = "/api/settings", tag = "settings",
    responses((status = 200, description = "Current settings", body = SettingsView)))]
pub async fn show(State(state): State<AppState>) -> Json<SettingsView> {
    Json(view(&state.settings(), &state.library().probe().sections))
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
    let (saved, sections) = state
        .library()
        .update_settings(change.into(), confirmed)
        .await
        .map_err(settings_error)?;
    Ok(Json(view(&saved, &sections)))
}

impl From<SettingsChange> for Overrides {
    fn from(change: SettingsChange) -> Self {
        Overrides {
            plex_url: change.plex_url,
            plex_token: change.plex_token.map(Secret::new),
            sections: change.sections,
            refresh_age_hours: change.refresh_age_hours,
            full_sweep_days: change.full_sweep_days,
            live_updates: change.live_updates,
            accept_invalid_certs: change.accept_invalid_certs,
            ..Overrides::default()
        }
    }
}

fn settings_error(error: SettingsError) -> ApiError {
    match error {
        SettingsError::Invalid {
            field,
            message,
            cause,
        } => {
            let error = ApiError::bad_request("invalid_settings", message).with_field(field);
            match cause {
                Some(cause) => error.with_cause(cause),
                None => error,
            }
        }
        SettingsError::ServerChange(notice) => {
            let mut error =
                ApiError::new(StatusCode::CONFLICT, "server_change_confirm", notice.detail)
                    .with_field("plex_url");
            error.server_change = Some(Box::new(ServerChange {
                server_name: notice.server_name,
                machine_identifier: notice.machine_identifier,
                cached_server_name: notice.cached_server_name,
                cached_track_count: notice.cached_track_count,
            }));
            error
        }
        SettingsError::Save(e) => ApiError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "config_write",
            error_message(&e),
        ),
    }
}

fn view(settings: &Settings, sections: &[Section]) -> SettingsView {
    SettingsView {
        plex_url: settings.plex_url.as_deref().map(redact_url),
        token_set: settings.plex_token.as_ref().is_some_and(|t| !t.is_empty()),
        sections: settings.sections.clone(),
        refresh_age_hours: settings.refresh_age.as_secs_f64() / 3600.0,
        full_sweep_days: full_sweep_days(settings),
        live_updates: settings.live_updates,
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
