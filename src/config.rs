//! Typed settings: defaults, then the config file in the data directory, then
//! the environment, then command-line flags (later wins). Owns the config
//! file format and the [`Secret`] type that keeps the Plex token out of logs.

use std::fmt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::{Deserialize, Serialize};

/// Name of the config file inside the data directory.
pub const CONFIG_FILE: &str = "config.toml";
/// Default address of `plexcache serve`.
pub const DEFAULT_LISTEN: &str = "127.0.0.1:5765";

/// A value that must never be printed: Debug and Display show `[redacted]`.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }
    /// The secret itself, for the one place that must send it.
    pub fn expose(&self) -> &str {
        &self.0
    }
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[redacted]")
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[redacted]")
    }
}

/// What the config file holds. Every key is optional; absent keys fall back
/// to defaults. Only settings a user changes at run time live here.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileSettings {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub plex_url: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub plex_token: Option<Secret>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sections: Option<Vec<String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub refresh_age_hours: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub accept_invalid_certs: Option<bool>,
}

/// Overrides from the environment or flags; `None` means "not given".
#[derive(Debug, Clone, Default)]
pub struct Overrides {
    pub plex_url: Option<String>,
    pub plex_token: Option<Secret>,
    pub sections: Option<Vec<String>>,
    pub refresh_age_hours: Option<f64>,
    pub accept_invalid_certs: Option<bool>,
    pub timeout_secs: Option<f64>,
    pub retries: Option<u32>,
    pub concurrency: Option<usize>,
    pub page_size: Option<usize>,
    pub password: Option<Secret>,
}

/// The settings every part of plexcache reads.
#[derive(Debug, Clone)]
pub struct Settings {
    pub data_dir: PathBuf,
    pub plex_url: Option<String>,
    pub plex_token: Option<Secret>,
    /// Section keys to cache; empty means every music section.
    pub sections: Vec<String>,
    /// A cache older than this is refreshed in the background.
    pub refresh_age: Duration,
    pub accept_invalid_certs: bool,
    /// Per-request timeout towards Plex.
    pub timeout: Duration,
    /// Retries of a failed Plex request before a sync gives up.
    pub retries: u32,
    /// Track pages in flight at once during a sync.
    pub concurrency: usize,
    /// Tracks asked for per page.
    pub page_size: usize,
    /// Optional password guarding the page and API.
    pub password: Option<Secret>,
}

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read config file {path}")]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("config file {path} is not valid: {message}")]
    Parse { path: PathBuf, message: String },
    #[error("cannot write config file {path}")]
    Write {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("invalid setting {name}: {message}")]
    Invalid { name: &'static str, message: String },
}

impl Settings {
    pub const DEFAULT_REFRESH_HOURS: f64 = 24.0;

    /// Builds settings from the config file in `data_dir` and `overrides`
    /// (environment and flags, already merged by the caller).
    pub fn load(data_dir: &Path, overrides: Overrides) -> Result<Self, ConfigError> {
        let file = read_file_settings(data_dir)?;
        let settings = Settings {
            data_dir: data_dir.to_path_buf(),
            plex_url: overrides.plex_url.or(file.plex_url),
            plex_token: overrides.plex_token.or(file.plex_token),
            sections: overrides.sections.or(file.sections).unwrap_or_default(),
            refresh_age: hours(
                overrides
                    .refresh_age_hours
                    .or(file.refresh_age_hours)
                    .unwrap_or(Self::DEFAULT_REFRESH_HOURS),
            )?,
            accept_invalid_certs: overrides
                .accept_invalid_certs
                .or(file.accept_invalid_certs)
                .unwrap_or(false),
            timeout: seconds(overrides.timeout_secs.unwrap_or(30.0))?,
            retries: overrides.retries.unwrap_or(2),
            concurrency: overrides.concurrency.unwrap_or(4).clamp(1, 32),
            page_size: overrides.page_size.unwrap_or(1000).clamp(1, 10_000),
            password: overrides.password.filter(|p| !p.is_empty()),
        };
        if let Some(url) = &settings.plex_url {
            validate_plex_url(url)?;
        }
        Ok(settings)
    }

    /// Path of the SQLite cache.
    pub fn database_path(&self) -> PathBuf {
        self.data_dir.join("library_cache.db")
    }

    pub fn config_path(&self) -> PathBuf {
        self.data_dir.join(CONFIG_FILE)
    }

    /// True when a Plex URL and token are both known.
    pub fn plex_configured(&self) -> bool {
        self.plex_url.is_some() && self.plex_token.as_ref().is_some_and(|t| !t.is_empty())
    }
}

fn hours(value: f64) -> Result<Duration, ConfigError> {
    if !(value.is_finite() && value > 0.0 && value <= 24.0 * 365.0) {
        return Err(ConfigError::Invalid {
            name: "refresh_age_hours",
            message: format!("{value} is not between 0 and 8760 hours"),
        });
    }
    Ok(Duration::from_secs_f64(value * 3600.0))
}

fn seconds(value: f64) -> Result<Duration, ConfigError> {
    if !(value.is_finite() && value > 0.0 && value <= 3600.0) {
        return Err(ConfigError::Invalid {
            name: "timeout",
            message: format!("{value} is not between 0 and 3600 seconds"),
        });
    }
    Ok(Duration::from_secs_f64(value))
}

/// Accepts only `http` and `https` URLs with a host.
pub fn validate_plex_url(url: &str) -> Result<(), ConfigError> {
    let invalid = |message: String| ConfigError::Invalid {
        name: "plex_url",
        message,
    };
    let parsed =
        reqwest::Url::parse(url).map_err(|e| invalid(format!("{url:?} is not a URL ({e})")))?;
    if !matches!(parsed.scheme(), "http" | "https") {
        return Err(invalid(format!(
            "scheme {:?} is not http or https",
            parsed.scheme()
        )));
    }
    if parsed.host_str().is_none_or(str::is_empty) {
        return Err(invalid(format!("{url:?} has no host")));
    }
    Ok(())
}

/// Reads the config file; a missing file is an empty one.
pub fn read_file_settings(data_dir: &Path) -> Result<FileSettings, ConfigError> {
    let path = data_dir.join(CONFIG_FILE);
    let text = match std::fs::read_to_string(&path) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(FileSettings::default()),
        Err(source) => return Err(ConfigError::Read { path, source }),
    };
    parse_file_settings(&text).map_err(|message| ConfigError::Parse { path, message })
}

/// Parses config file text. The message never quotes the file's content, so a
/// token can never leak through a parse error.
pub fn parse_file_settings(text: &str) -> Result<FileSettings, String> {
    toml::from_str::<FileSettings>(text).map_err(|e| {
        let span = e
            .span()
            .map(|s| format!(" at byte {}", s.start))
            .unwrap_or_default();
        format!("{}{span}", e.message())
    })
}

/// Writes the config file atomically with mode 0600 (it holds the token).
pub fn write_file_settings(data_dir: &Path, settings: &FileSettings) -> Result<(), ConfigError> {
    let path = data_dir.join(CONFIG_FILE);
    let write_err = |source| ConfigError::Write {
        path: path.clone(),
        source,
    };
    std::fs::create_dir_all(data_dir).map_err(write_err)?;
    let text = toml::to_string(settings).map_err(|e| ConfigError::Write {
        path: path.clone(),
        source: std::io::Error::other(e.to_string()),
    })?;
    let tmp = data_dir.join(format!(".{CONFIG_FILE}.tmp"));
    write_private(&tmp, text.as_bytes()).map_err(write_err)?;
    std::fs::rename(&tmp, &path).map_err(write_err)?;
    Ok(())
}

#[cfg(unix)]
fn write_private(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(path)?;
    // The mode above only applies to new files; enforce it on old ones too.
    file.set_permissions(std::fs::Permissions::from_mode(0o600))?;
    file.write_all(bytes)?;
    file.sync_all()
}

#[cfg(not(unix))]
fn write_private(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    std::fs::write(path, bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secret_never_prints() {
        let s = Secret::new("abc123");
        assert_eq!(format!("{s} {s:?}"), "[redacted] [redacted]");
        let o = Overrides {
            plex_token: Some(s),
            ..Default::default()
        };
        assert!(!format!("{o:?}").contains("abc123"));
    }

    #[test]
    fn flags_beat_file_and_file_beats_defaults() {
        let dir = tempfile::tempdir().unwrap();
        let file = FileSettings {
            plex_url: Some("http://file:32400".into()),
            refresh_age_hours: Some(6.0),
            ..Default::default()
        };
        write_file_settings(dir.path(), &file).unwrap();
        let s = Settings::load(
            dir.path(),
            Overrides {
                plex_url: Some("http://flag:32400".into()),
                ..Default::default()
            },
        )
        .unwrap();
        assert_eq!(s.plex_url.as_deref(), Some("http://flag:32400"));
        assert_eq!(s.refresh_age, Duration::from_secs(6 * 3600));
        assert_eq!(s.retries, 2);
    }

    #[cfg(unix)]
    #[test]
    fn config_file_is_private() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        write_file_settings(dir.path(), &FileSettings::default()).unwrap();
        let mode = std::fs::metadata(dir.path().join(CONFIG_FILE))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
    }

    #[test]
    fn rejects_bad_urls_and_files_without_echoing_them() {
        assert!(validate_plex_url("ftp://x").is_err());
        assert!(validate_plex_url("not a url").is_err());
        assert!(validate_plex_url("https://10-0-0-2.abc.plex.direct:32400").is_ok());
        let err = parse_file_settings("plex_token = \"sekrit\"\nbogus = 1").unwrap_err();
        assert!(!err.contains("sekrit"), "{err}");
        assert!(parse_file_settings("refresh_age_hours = \"x\"").is_err());
    }

    #[test]
    fn rejects_out_of_range_numbers() {
        let dir = tempfile::tempdir().unwrap();
        let bad = Overrides {
            refresh_age_hours: Some(-1.0),
            ..Default::default()
        };
        assert!(Settings::load(dir.path(), bad).is_err());
    }
}
