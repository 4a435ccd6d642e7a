//! Every way talking to Plex can fail, classified for the user.

/// A failed Plex request, worded for the person who has to fix it.
/// Messages never contain the token: it travels in a header only.
#[derive(Debug, thiserror::Error)]
pub enum PlexError {
    #[error("Plex URL {url:?} is not valid: {reason}")]
    InvalidUrl { url: String, reason: String },
    #[error("Plex is unreachable at {url}")]
    Unreachable {
        url: String,
        #[source]
        source: reqwest::Error,
    },
    #[error("Plex did not answer {path} within {seconds:.1} s")]
    Timeout { path: String, seconds: f64 },
    #[error("Plex rejected the token (401 on {path}); check the Plex token")]
    TokenRejected { path: String },
    #[error("Plex has no {what}")]
    NotFound { what: String },
    #[error("{what} is not a music library")]
    NotMusicLibrary { what: String },
    #[error("Plex sent a bad response to {path}: {detail}")]
    BadResponse { path: String, detail: String },
    #[error("Plex answered {status} to {path}")]
    ServerError { path: String, status: u16 },
    #[error(
        "Plex redirected {path} to another origin ({to}); refused so the token stays with the configured server"
    )]
    Redirected { path: String, to: String },
    #[error("Plex sent more than {limit_mb} MB for {path}; the answer is too large")]
    TooLarge { path: String, limit_mb: u64 },
}

impl PlexError {
    /// A short machine-readable kind, used by the API and the page.
    pub fn kind(&self) -> &'static str {
        match self {
            PlexError::InvalidUrl { .. } => "invalid_url",
            PlexError::Unreachable { .. } => "unreachable",
            PlexError::Timeout { .. } => "timeout",
            PlexError::TokenRejected { .. } => "token_rejected",
            PlexError::NotFound { .. } => "not_found",
            PlexError::NotMusicLibrary { .. } => "not_music",
            PlexError::BadResponse { .. } => "bad_response",
            PlexError::ServerError { .. } => "server_error",
            PlexError::Redirected { .. } => "redirected",
            PlexError::TooLarge { .. } => "too_large",
        }
    }

    /// Worth another try: the network or the server may recover.
    pub fn is_transient(&self) -> bool {
        matches!(
            self,
            PlexError::Unreachable { .. }
                | PlexError::Timeout { .. }
                | PlexError::BadResponse { .. }
                | PlexError::ServerError { .. }
        )
    }
}
