//! Every way talking to Plex can fail, classified for the user. Each error
//! has two faces: [`PlexError::user_message`] (also its `Display`), a
//! sentence about the person's situation, and
//! [`PlexError::technical_detail`], the cause for logs and a "Why?" popover.
//! Neither ever repeats what the other server sent, nor the token.

use std::fmt;

use crate::config::redact_url;

/// A failed Plex request, worded for the person who has to fix it.
/// Messages never contain the token: it travels in a header only.
#[derive(Debug)]
pub enum PlexError {
    InvalidUrl {
        url: String,
        reason: String,
    },
    Unreachable {
        url: String,
        source: reqwest::Error,
    },
    Timeout {
        path: String,
        seconds: f64,
    },
    TokenRejected {
        path: String,
    },
    /// A 404 on `what` (a path, starting with `/`), or a missing section.
    NotFound {
        what: String,
    },
    NotMusicLibrary {
        what: String,
    },
    BadResponse {
        path: String,
        detail: String,
    },
    ServerError {
        path: String,
        status: u16,
    },
    /// A redirect that leaves the configured origin (`to` is only the
    /// target's origin): refused so the token stays with the server.
    Redirected {
        path: String,
        to: String,
    },
    /// An answer larger than the client accepts; not retried.
    TooLarge {
        path: String,
        limit_mb: u64,
    },
}

/// Why a connection failed, as far as a person needs to know.
enum Connection {
    Refused,
    UnknownHost,
    Certificate,
    Other,
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

    /// An answer that is not Plex's JSON. Only the kind of problem and its
    /// position are kept: serde's own message quotes the body.
    pub fn unreadable(path: &str, error: &serde_json::Error) -> Self {
        let what = match error.classify() {
            serde_json::error::Category::Io => "unreadable body",
            serde_json::error::Category::Syntax => "not JSON",
            serde_json::error::Category::Data => "JSON that is not Plex's",
            serde_json::error::Category::Eof => "JSON cut off",
        };
        PlexError::BadResponse {
            path: path.to_owned(),
            detail: format!("{what} at line {} column {}", error.line(), error.column()),
        }
    }

    /// The server at the address is not (or does not behave like) Plex:
    /// nothing there, or answers that are not Plex's.
    pub fn is_not_plex(&self) -> bool {
        let first_requests = |path: &str| path == "/" || path == "/library/sections";
        match self {
            PlexError::NotFound { what: path } | PlexError::BadResponse { path, .. } => {
                first_requests(path)
            }
            _ => false,
        }
    }

    /// A sentence about the person's situation; the same as `Display`.
    pub fn user_message(&self) -> String {
        self.to_string()
    }

    /// What exactly failed, for logs and a "Why?" popover: our side's
    /// technical cause, never the other server's words.
    pub fn technical_detail(&self) -> String {
        match self {
            PlexError::InvalidUrl { reason, .. } => reason.clone(),
            PlexError::Unreachable { source, .. } => crate::errors::error_message(source),
            PlexError::Timeout { path, seconds } => {
                format!("no answer to {path} within {seconds:.1} s")
            }
            PlexError::TokenRejected { path } => format!("HTTP 401 on {path}"),
            PlexError::NotFound { what } if what.starts_with('/') => {
                format!("HTTP 404 on {what}")
            }
            PlexError::NotFound { what } => format!("no {what}"),
            PlexError::NotMusicLibrary { what } => format!("{what} is not of type artist"),
            PlexError::BadResponse { path, detail } => {
                format!("bad answer to {path}: {}", scrub(detail))
            }
            PlexError::ServerError { path, status } => format!("HTTP {status} on {path}"),
            PlexError::Redirected { path, to } => {
                format!("{path} redirected to another origin ({to})")
            }
            PlexError::TooLarge { path, limit_mb } => {
                format!("the answer to {path} passed {limit_mb} MB")
            }
        }
    }

    fn connection(source: &reqwest::Error) -> Connection {
        let mut cause: Option<&(dyn std::error::Error + 'static)> = Some(source);
        while let Some(e) = cause {
            if let Some(io) = e.downcast_ref::<std::io::Error>()
                && io.kind() == std::io::ErrorKind::ConnectionRefused
            {
                return Connection::Refused;
            }
            cause = e.source();
        }
        let text = crate::errors::error_message(source).to_ascii_lowercase();
        if text.contains("dns error") || text.contains("lookup address") {
            Connection::UnknownHost
        } else if text.contains("certificate") {
            Connection::Certificate
        } else {
            Connection::Other
        }
    }
}

impl fmt::Display for PlexError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PlexError::InvalidUrl { url, reason } => {
                write!(f, "the Plex URL {} is not valid: {reason}", redact_url(url))
            }
            PlexError::Unreachable { url, source } => {
                let url = redact_url(url);
                let why = match Self::connection(source) {
                    Connection::Refused => {
                        "the connection was refused; is the server running, and is the port right?"
                    }
                    Connection::UnknownHost => "no computer has that name; check the address",
                    Connection::Certificate => {
                        "its HTTPS certificate is not trusted; use its plex.direct address, \
                         or allow untrusted certificates"
                    }
                    Connection::Other => {
                        "no Plex server answers there; check the address and that the server is running"
                    }
                };
                write!(f, "Plex is unreachable at {url}: {why}")
            }
            PlexError::Timeout { seconds, .. } => write!(
                f,
                "Plex did not answer within {seconds:.0} s; is the server busy or asleep, \
                 or the address wrong?"
            ),
            PlexError::TokenRejected { .. } => {
                f.write_str("Plex rejected the token; check the Plex token")
            }
            PlexError::NotFound { .. } if self.is_not_plex() => {
                f.write_str("no Plex server answers at the Plex URL; check the address")
            }
            PlexError::NotFound { what } if what.starts_with('/') => f.write_str(
                "Plex answered \"not found\"; was a library removed? Try again in a moment",
            ),
            PlexError::NotFound { what } => write!(f, "Plex has no {what}"),
            PlexError::NotMusicLibrary { what } => write!(f, "{what} is not a music library"),
            PlexError::BadResponse { .. } if self.is_not_plex() => f.write_str(
                "the server at the Plex URL does not answer like Plex; check the address",
            ),
            PlexError::BadResponse { .. } => f.write_str(
                "Plex sent an answer plexcache cannot read; try again, and update Plex if it keeps failing",
            ),
            PlexError::ServerError { status, .. } => write!(
                f,
                "Plex answered with an error (HTTP {status}); try again in a moment"
            ),
            PlexError::Redirected { to, .. } => write!(
                f,
                "Plex sent plexcache to another address ({to}); refused so the token stays \
                 with the configured server: set the Plex URL to the address the server uses"
            ),
            PlexError::TooLarge { limit_mb, .. } => write!(
                f,
                "Plex sent an answer too large to read (over {limit_mb} MB), so plexcache \
                 stopped reading it; try a smaller page size"
            ),
        }
    }
}

/// The technical cause lives in [`PlexError::technical_detail`], not in a
/// `source` chain: a chain would be appended to the sentence people read.
impl std::error::Error for PlexError {}

/// Drops anything quoted, where a decoder repeats what the server sent.
fn scrub(detail: &str) -> String {
    let mut out = String::with_capacity(detail.len());
    let mut open: Option<char> = None;
    for c in detail.chars() {
        match open {
            Some(q) if c == q => {
                out.push('…');
                out.push(c);
                open = None;
            }
            Some(_) => {}
            None if c == '"' || c == '`' => {
                out.push(c);
                open = Some(c);
            }
            None => out.push(c),
        }
    }
    if open.is_some() {
        out.push('…');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unreadable_answers_never_quote_the_body() {
        let body = br#"{"MediaContainer": "internal-secret-value-123"}"#;
        let e =
            serde_json::from_slice::<std::collections::HashMap<String, Vec<u8>>>(body).unwrap_err();
        let error = PlexError::unreadable("/", &e);
        for text in [error.user_message(), error.technical_detail()] {
            assert!(!text.contains("internal-secret"), "{text}");
        }
        assert!(error.technical_detail().contains("line 1"));
        let old_style = PlexError::BadResponse {
            path: "/x".into(),
            detail: format!("{e} (48 bytes)"),
        };
        assert!(!old_style.technical_detail().contains("internal-secret"));
        assert!(!old_style.user_message().contains("internal-secret"));
    }

    #[test]
    fn a_404_at_the_root_says_no_plex_server_answers() {
        let e = PlexError::NotFound { what: "/".into() };
        assert!(e.is_not_plex());
        assert!(e.user_message().contains("no Plex server answers"), "{e}");
        let e = PlexError::NotFound {
            what: "library section 7".into(),
        };
        assert!(!e.is_not_plex());
        assert_eq!(e.user_message(), "Plex has no library section 7");
    }

    #[test]
    fn an_invalid_url_is_shown_without_credentials() {
        let e = PlexError::InvalidUrl {
            url: "http://u:pw-123@h/?X-Plex-Token=tok-456".into(),
            reason: "bad".into(),
        };
        let text = e.to_string();
        assert!(
            !text.contains("pw-123") && !text.contains("tok-456"),
            "{text}"
        );
    }
}
