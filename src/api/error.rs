//! The one error type of the HTTP API: every failure becomes
//! `{"error": "<code>", "detail": "<sentence>"}` with a fitting status, and
//! optionally the technical `cause` behind the sentence. Client mistakes are
//! 4xx, never 500.

use axum::Json;
use axum::extract::FromRequest;
use axum::extract::rejection::{JsonRejection, QueryRejection};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Serialize;

use crate::model::FilterError;
use crate::service::{PlexError, QueryError, StoreError, SyncError, error_message};

#[derive(Debug, Clone, PartialEq)]
pub struct ApiError {
    pub status: StatusCode,
    pub error: &'static str,
    pub detail: String,
    pub field: Option<&'static str>,
    /// The technical cause behind `detail`, for a "Why?" popover.
    pub cause: Option<String>,
    /// Set on `server_change_confirm` answers (boxed: errors stay small).
    pub server_change: Option<Box<ServerChange>>,
}

/// The settings name a different Plex server than the cached library's:
/// saving them drops that library, so the client must confirm.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct ServerChange {
    /// Name of the newly configured server, as it calls itself.
    pub server_name: String,
    pub machine_identifier: String,
    /// Name of the server the cache was synced from.
    pub cached_server_name: Option<String>,
    /// Tracks that saving would drop.
    pub cached_track_count: i64,
}

/// The JSON body of every error answer.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ErrorBody {
    /// Machine-readable code, e.g. `invalid_filter`, `sync_running`.
    pub error: String,
    /// What went wrong, for people.
    pub detail: String,
    /// The request field at fault, when there is one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
    /// The technical cause behind `detail` (never what another server sent).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cause: Option<String>,
    /// With `server_change_confirm`: the server saving would switch to.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub server_change: Option<ServerChange>,
}

impl ApiError {
    pub fn new(status: StatusCode, error: &'static str, detail: impl Into<String>) -> Self {
        Self {
            status,
            error,
            detail: detail.into(),
            field: None,
            cause: None,
            server_change: None,
        }
    }

    pub fn bad_request(error: &'static str, detail: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, error, detail)
    }

    pub fn with_field(mut self, field: &'static str) -> Self {
        self.field = Some(field);
        self
    }

    pub fn with_cause(mut self, cause: impl Into<String>) -> Self {
        self.cause = Some(cause.into());
        self
    }

    pub fn not_found() -> Self {
        Self::new(StatusCode::NOT_FOUND, "not_found", "no such endpoint")
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = ErrorBody {
            error: self.error.to_owned(),
            detail: self.detail,
            field: self.field.map(str::to_owned),
            cause: self.cause,
            server_change: self.server_change.map(|change| *change),
        };
        (self.status, Json(body)).into_response()
    }
}

impl From<FilterError> for ApiError {
    fn from(e: FilterError) -> Self {
        ApiError::bad_request("invalid_filter", e.to_string())
    }
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::Filter(f) => f.into(),
            e if e.is_corruption() => ApiError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "corrupted",
                format!("{}; the next sync rebuilds the cache", error_message(&e)),
            ),
            e => {
                tracing::error!("cache error: {}", error_message(&e));
                ApiError::new(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "storage",
                    error_message(&e),
                )
            }
        }
    }
}

impl From<PlexError> for ApiError {
    fn from(e: PlexError) -> Self {
        let status = match e {
            PlexError::Unreachable { .. } | PlexError::Timeout { .. } => {
                StatusCode::SERVICE_UNAVAILABLE
            }
            _ => StatusCode::BAD_GATEWAY,
        };
        let code = match e {
            PlexError::Unreachable { .. } | PlexError::Timeout { .. } => "plex_unreachable",
            _ => e.kind(),
        };
        ApiError::new(status, code, e.user_message()).with_cause(e.technical_detail())
    }
}

impl From<SyncError> for ApiError {
    fn from(e: SyncError) -> Self {
        match e {
            SyncError::AlreadyRunning => {
                ApiError::new(StatusCode::CONFLICT, "sync_running", e.to_string())
            }
            SyncError::NotConfigured => ApiError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "not_configured",
                e.to_string(),
            ),
            SyncError::Plex(p) => p.into(),
            SyncError::Store(s) => s.into(),
            e => ApiError::new(StatusCode::SERVICE_UNAVAILABLE, e.kind(), e.to_string()),
        }
    }
}

impl From<JsonRejection> for ApiError {
    fn from(e: JsonRejection) -> Self {
        // axum knows the right status (413 for the size limit, 415 without a
        // JSON content type); data errors are plain 400s here, as documented.
        let (status, code) = match e.status() {
            StatusCode::PAYLOAD_TOO_LARGE => (StatusCode::PAYLOAD_TOO_LARGE, "body_too_large"),
            StatusCode::UNSUPPORTED_MEDIA_TYPE => {
                (StatusCode::UNSUPPORTED_MEDIA_TYPE, "unsupported_media_type")
            }
            _ => (StatusCode::BAD_REQUEST, "invalid_body"),
        };
        ApiError::new(status, code, e.body_text())
    }
}

impl From<QueryRejection> for ApiError {
    fn from(e: QueryRejection) -> Self {
        ApiError::bad_request("invalid_query", e.body_text())
    }
}

impl From<QueryError> for ApiError {
    fn from(e: QueryError) -> Self {
        match e {
            QueryError::Store(e) => e.into(),
            QueryError::Stopped(e) => e.into(),
        }
    }
}

impl From<tokio::task::JoinError> for ApiError {
    fn from(e: tokio::task::JoinError) -> Self {
        ApiError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal",
            format!("a worker stopped: {e}"),
        )
    }
}

/// JSON body extractor whose rejections are [`ApiError`]s. Every body this
/// API takes is a JSON object: an array is refused even though serde would
/// read it as the struct's fields in order.
#[derive(Debug)]
pub struct JsonBody<T>(pub T);

impl<S, T> FromRequest<S> for JsonBody<T>
where
    S: Send + Sync,
    T: serde::de::DeserializeOwned,
{
    type Rejection = ApiError;

    async fn from_request(request: axum::extract::Request, state: &S) -> Result<Self, ApiError> {
        let Json(value) = Json::<serde_json::Value>::from_request(request, state).await?;
        if !value.is_object() {
            return Err(ApiError::bad_request(
                "invalid_body",
                "the body must be a JSON object",
            ));
        }
        serde_json::from_value(value).map(JsonBody).map_err(|e| {
            ApiError::bad_request(
                "invalid_body",
                format!("Failed to deserialize the JSON body into the target type: {e}"),
            )
        })
    }
}
