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

/// The range of a number setting: above `above`, up to `max` inclusive.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Bounds {
    pub above: f64,
    pub max: f64,
}

impl Bounds {
    pub fn contains(self, value: f64) -> bool {
        value.is_finite() && value > self.above && value <= self.max
    }
}

/// Hours after which the cache is refreshed in the background.
pub const REFRESH_AGE_HOURS: Bounds = Bounds {
    above: 0.0,
    max: 24.0 * 365.0,
};
/// Days between full syncs that check everything (0: never; deltas only).
pub const FULL_SWEEP_DAYS: Bounds = Bounds {
    above: -1.0,
    max: 365.0,
};
/// Seconds one request to Plex may take.
pub const TIMEOUT_SECS: Bounds = Bounds {
    above: 0.0,
    max: 3600.0,
};
/// Longest Plex token accepted from the settings dialog.
pub const MAX_TOKEN_LEN: usize = 200;
/// Most section keys one change may name, and the longest key.
pub const MAX_SECTIONS: usize = 100;
pub const MAX_SECTION_KEY_LEN: usize = 20;

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

impl From<String> for Secret {
    fn from(value: String) -> Self {
        Self(value)
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

/// The environment variables plexcache reads, one constant each; [`ALL`]
/// lists them, for a child process that must not inherit any.
///
/// [`ALL`]: env::ALL
pub mod env {
    pub const DATA_DIR: &str = "PLEXCACHE_DATA_DIR";
    pub const PLEX_URL: &str = "PLEX_URL";
    pub const PLEX_TOKEN: &str = "PLEX_TOKEN";
    pub const SECTIONS: &str = "PLEXCACHE_SECTIONS";
    pub const REFRESH_AGE_HOURS: &str = "PLEXCACHE_REFRESH_AGE_HOURS";
    pub const ACCEPT_INVALID_CERTS: &str = "PLEXCACHE_ACCEPT_INVALID_CERTS";
    pub const TIMEOUT_SECS: &str = "PLEXCACHE_TIMEOUT_SECS";
    pub const RETRIES: &str = "PLEXCACHE_RETRIES";
    pub const CONCURRENCY: &str = "PLEXCACHE_CONCURRENCY";
    pub const PAGE_SIZE: &str = "PLEXCACHE_PAGE_SIZE";
    pub const PASSWORD: &str = "PLEXCACHE_PASSWORD";
    pub const LISTEN: &str = "PLEXCACHE_LISTEN";
    pub const PROBE_INTERVAL_SECS: &str = "PLEXCACHE_PROBE_INTERVAL_SECS";
    pub const FULL_SWEEP: &str = "PLEXCACHE_FULL_SWEEP";
    pub const LIVE_UPDATES: &str = "PLEXCACHE_LIVE_UPDATES";

    pub const ALL: &[&str] = &[
        DATA_DIR,
        PLEX_URL,
        PLEX_TOKEN,
        SECTIONS,
        REFRESH_AGE_HOURS,
        ACCEPT_INVALID_CERTS,
        TIMEOUT_SECS,
        RETRIES,
        CONCURRENCY,
        PAGE_SIZE,
        LISTEN,
        PASSWORD,
        PROBE_INTERVAL_SECS,
        FULL_SWEEP,
        LIVE_UPDATES,
    ];
}

/// Defaults of the settings a layer leaves unset.
pub const DEFAULT_REFRESH_AGE_HOURS: f64 = 24.0;
pub const DEFAULT_FULL_SWEEP_DAYS: f64 = 7.0;
pub const DEFAULT_TIMEOUT_SECS: f64 = 30.0;
pub const DEFAULT_RETRIES: u32 = 2;
pub const DEFAULT_CONCURRENCY: usize = 4;
pub const DEFAULT_PAGE_SIZE: usize = 1000;
/// Track pages in flight at once, and tracks per page: values outside are
/// brought inside.
pub const CONCURRENCY: std::ops::RangeInclusive<usize> = 1..=32;
pub const PAGE_SIZE: std::ops::RangeInclusive<usize> = 1..=10_000;

/// One layer of settings, and the one declaration of each setting: the
/// config file (the keys it holds: those a person changes at run time), the
/// environment and flags (clap reads both; the field's `env` names the
/// variable), and a change from the settings API are all this type. `None`
/// means "not given here". A secret's type is [`Secret`]. Defaults and
/// bounds are the constants above; [`Settings::load`] stacks the layers.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, clap::Args)]
#[serde(deny_unknown_fields)]
pub struct Overrides {
    /// Plex server URL, e.g. http://192.168.1.10:32400.
    #[arg(long, env = env::PLEX_URL, global = true)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub plex_url: Option<String>,
    /// Plex token (prefer the environment variable: flags show up in `ps`).
    #[arg(long, env = env::PLEX_TOKEN, hide_env_values = true, global = true)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub plex_token: Option<Secret>,
    /// Music section keys to cache, comma-separated (default: all music sections).
    #[arg(long, env = env::SECTIONS, value_delimiter = ',', global = true)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sections: Option<Vec<String>>,
    /// Refresh the cache in the background when older than this many hours.
    #[arg(long, env = env::REFRESH_AGE_HOURS, global = true)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub refresh_age_hours: Option<f64>,
    /// Days between full syncs that re-read everything; refreshes in
    /// between fetch only what changed (0: never).
    #[arg(long = "full-sweep-days", env = env::FULL_SWEEP, global = true)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub full_sweep_days: Option<f64>,
    /// Follow Plex's change notifications while serving, so changes arrive
    /// in seconds (default true; false: refreshes only).
    #[arg(long, env = env::LIVE_UPDATES, global = true)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub live_updates: Option<bool>,
    /// Accept an untrusted (self-signed) TLS certificate from Plex.
    #[arg(long, env = env::ACCEPT_INVALID_CERTS, global = true)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub accept_invalid_certs: Option<bool>,
    /// Timeout of one request to Plex, in seconds.
    #[arg(long, env = env::TIMEOUT_SECS, global = true)]
    #[serde(skip)]
    pub timeout_secs: Option<f64>,
    /// Retries of a failed Plex request.
    #[arg(long, env = env::RETRIES, global = true)]
    #[serde(skip)]
    pub retries: Option<u32>,
    /// Track pages fetched at once during a sync.
    #[arg(long, env = env::CONCURRENCY, global = true)]
    #[serde(skip)]
    pub concurrency: Option<usize>,
    /// Tracks per page requested from Plex.
    #[arg(long, env = env::PAGE_SIZE, global = true)]
    #[serde(skip)]
    pub page_size: Option<usize>,
    /// Password guarding the page and API: from the environment only
    /// (`PLEXCACHE_PASSWORD`), never a flag or the file.
    #[arg(skip = std::env::var(env::PASSWORD).ok().map(Secret::new))]
    #[serde(skip)]
    pub password: Option<Secret>,
}

/// What the config file holds: the same layer (keys it does not hold are
/// refused when read and never written).
pub type FileSettings = Overrides;

impl Overrides {
    /// The layer without empty text values: `PLEX_URL=` means "not set".
    pub fn without_empty(mut self) -> Self {
        self.plex_url = self.plex_url.filter(|u| !u.is_empty());
        self.plex_token = self.plex_token.filter(|t| !t.is_empty());
        self
    }
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
    /// A full sync is due when the last one is this old (`None`: never);
    /// refreshes in between fetch only what changed.
    pub full_sweep: Option<Duration>,
    /// `serve` follows Plex's change notifications.
    pub live_updates: bool,
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
    /// Builds settings from the config file in `data_dir` and `overrides`
    /// (environment and flags, already merged by the caller).
    pub fn load(data_dir: &Path, overrides: Overrides) -> Result<Self, ConfigError> {
        let file = read_file_settings(data_dir)?;
        // Validated where it came from, so the message can say where the
        // token belongs instead.
        let plex_url = match (overrides.plex_url, file.plex_url) {
            (Some(url), _) => Some(normalize_plex_url(&url, TokenPlace::Environment)?),
            (None, Some(url)) => Some(normalize_plex_url(&url, TokenPlace::ConfigFile)?),
            (None, None) => None,
        };
        let settings = Settings {
            data_dir: data_dir.to_path_buf(),
            plex_url,
            plex_token: overrides.plex_token.or(file.plex_token),
            sections: overrides.sections.or(file.sections).unwrap_or_default(),
            refresh_age: hours(
                overrides
                    .refresh_age_hours
                    .or(file.refresh_age_hours)
                    .unwrap_or(DEFAULT_REFRESH_AGE_HOURS),
            )?,
            full_sweep: sweep_days(
                overrides
                    .full_sweep_days
                    .or(file.full_sweep_days)
                    .unwrap_or(DEFAULT_FULL_SWEEP_DAYS),
            )?,
            live_updates: overrides.live_updates.or(file.live_updates).unwrap_or(true),
            accept_invalid_certs: overrides
                .accept_invalid_certs
                .or(file.accept_invalid_certs)
                .unwrap_or(false),
            timeout: seconds(overrides.timeout_secs.unwrap_or(DEFAULT_TIMEOUT_SECS))?,
            retries: overrides.retries.unwrap_or(DEFAULT_RETRIES),
            concurrency: clamp(
                overrides.concurrency.unwrap_or(DEFAULT_CONCURRENCY),
                CONCURRENCY,
            ),
            page_size: clamp(overrides.page_size.unwrap_or(DEFAULT_PAGE_SIZE), PAGE_SIZE),
            password: overrides.password.filter(|p| !p.is_empty()),
        };
        Ok(settings)
    }

    /// Path of the SQLite cache.
    pub fn database_path(&self) -> PathBuf {
        self.data_dir.join("library_cache.db")
    }

    /// True when a Plex URL and token are both known.
    pub fn plex_configured(&self) -> bool {
        self.plex_url.is_some() && self.plex_token.as_ref().is_some_and(|t| !t.is_empty())
    }

    /// These settings with a person's change applied (the settings dialog,
    /// `PUT /api/settings`): an empty token keeps the current one, and the
    /// result must name a Plex URL and token. A refusal is
    /// [`ConfigError::Invalid`] naming the field, in words for the dialog.
    pub fn with_change(&self, change: Overrides) -> Result<Settings, ConfigError> {
        let mut next = self.clone();
        let token = change.plex_token.filter(|t| !t.expose().trim().is_empty());
        if let Some(url) = change.plex_url {
            let url = normalize_plex_url(&url, TokenPlace::Dialog)?;
            // The stored token is only ever sent to the host it was entered for.
            let other_host = self
                .plex_url
                .as_deref()
                .is_some_and(|old| host_of(old) != host_of(&url));
            if token.is_none() && other_host {
                return Err(invalid(
                    "plex_token",
                    "enter the Plex token again for a different server",
                ));
            }
            next.plex_url = Some(url);
        }
        if let Some(token) = token {
            let given = token.expose();
            if given.len() > MAX_TOKEN_LEN || !given.trim().chars().all(|c| c.is_ascii_graphic()) {
                return Err(invalid(
                    "plex_token",
                    "a Plex token is a short string of letters, digits and symbols",
                ));
            }
            next.plex_token = Some(Secret::new(given.trim()));
        }
        if let Some(sections) = change.sections {
            if sections.len() > MAX_SECTIONS
                || sections
                    .iter()
                    .any(|s| s.is_empty() || s.len() > MAX_SECTION_KEY_LEN)
            {
                return Err(invalid(
                    "sections",
                    "sections are section keys such as \"1\"",
                ));
            }
            next.sections = sections;
        }
        if let Some(hours) = change.refresh_age_hours {
            if !REFRESH_AGE_HOURS.contains(hours) {
                let Bounds { above, max } = REFRESH_AGE_HOURS;
                return Err(invalid(
                    "refresh_age_hours",
                    &format!("the refresh age is between {above} and {max} hours"),
                ));
            }
            next.refresh_age = Duration::from_secs_f64(hours * 3600.0);
        }
        if let Some(days) = change.full_sweep_days {
            next.full_sweep = sweep_days(days)?;
        }
        if let Some(live) = change.live_updates {
            next.live_updates = live;
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
}

fn invalid(name: &'static str, message: &str) -> ConfigError {
    ConfigError::Invalid {
        name,
        message: message.to_owned(),
    }
}

/// Host and port of a URL, to tell servers apart.
fn host_of(url: &str) -> Option<(String, Option<u16>)> {
    let parsed = reqwest::Url::parse(url).ok()?;
    Some((
        parsed.host_str()?.to_ascii_lowercase(),
        parsed.port_or_known_default(),
    ))
}

fn clamp(value: usize, range: std::ops::RangeInclusive<usize>) -> usize {
    value.clamp(*range.start(), *range.end())
}

fn hours(value: f64) -> Result<Duration, ConfigError> {
    let Bounds { above, max } = REFRESH_AGE_HOURS;
    if !REFRESH_AGE_HOURS.contains(value) {
        return Err(ConfigError::Invalid {
            name: "refresh_age_hours",
            message: format!("{value} is not between {above} and {max} hours"),
        });
    }
    Ok(Duration::from_secs_f64(value * 3600.0))
}

/// The sweep interval: `None` for 0 (never).
fn sweep_days(value: f64) -> Result<Option<Duration>, ConfigError> {
    let Bounds { max, .. } = FULL_SWEEP_DAYS;
    if !FULL_SWEEP_DAYS.contains(value) || value < 0.0 {
        return Err(ConfigError::Invalid {
            name: "full_sweep_days",
            message: format!("{value} is not between 0 (never) and {max} days"),
        });
    }
    Ok((value > 0.0).then(|| Duration::from_secs_f64(value * 86_400.0)))
}

fn seconds(value: f64) -> Result<Duration, ConfigError> {
    let Bounds { above, max } = TIMEOUT_SECS;
    if !TIMEOUT_SECS.contains(value) {
        return Err(ConfigError::Invalid {
            name: "timeout",
            message: format!("{value} is not between {above} and {max} seconds"),
        });
    }
    Ok(Duration::from_secs_f64(value))
}

/// Where a Plex token is set, named in the message that refuses a token
/// inside the Plex URL.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenPlace {
    /// `PLEX_URL` or `--plex-url`.
    Environment,
    /// `plex_url` in `config.toml`.
    ConfigFile,
    /// The settings dialog (or `PUT /api/settings`).
    Dialog,
}

impl TokenPlace {
    fn hint(self) -> &'static str {
        match self {
            TokenPlace::Environment => "PLEX_TOKEN (or --plex-token)",
            TokenPlace::ConfigFile => "plex_token in config.toml",
            TokenPlace::Dialog => "the Plex token field",
        }
    }
}

/// The one place a Plex URL from anywhere is checked and normalized: a
/// missing scheme becomes `http://`, a trailing `/` goes, and credentials
/// (user name, password, `X-Plex-Token`) are refused with a message that
/// says where the token belongs and never repeats it.
pub fn normalize_plex_url(raw: &str, place: TokenPlace) -> Result<String, ConfigError> {
    let trimmed = raw.trim();
    if trimmed.is_empty() {
        return Err(invalid_url(
            "a Plex URL is needed, like http://192.168.1.10:32400".into(),
        ));
    }
    let with_scheme = if trimmed.contains("://") {
        trimmed.to_owned()
    } else {
        format!("http://{trimmed}")
    };
    let parsed = check_plex_url(&with_scheme, place)?;
    Ok(parsed.as_str().trim_end_matches('/').to_owned())
}

/// Accepts only `http` and `https` URLs with a host and no credentials.
pub fn validate_plex_url(url: &str) -> Result<(), ConfigError> {
    check_plex_url(url, TokenPlace::Dialog).map(drop)
}

fn invalid_url(message: String) -> ConfigError {
    ConfigError::Invalid {
        name: "plex_url",
        message,
    }
}

fn check_plex_url(url: &str, place: TokenPlace) -> Result<reqwest::Url, ConfigError> {
    let parsed = reqwest::Url::parse(url).map_err(|_| {
        invalid_url(format!(
            "{:?} is not a web address; a Plex URL looks like http://192.168.1.10:32400",
            redact_url(url)
        ))
    })?;
    if !matches!(parsed.scheme(), "http" | "https") {
        return Err(invalid_url(format!(
            "a Plex URL starts with http:// or https://, not {}://",
            parsed.scheme()
        )));
    }
    let Some(host) = parsed.host_str().filter(|h| !h.is_empty()) else {
        return Err(invalid_url(format!(
            "{:?} has no host name",
            redact_url(url)
        )));
    };
    let base = match parsed.port() {
        Some(port) => format!("{}://{host}:{port}", parsed.scheme()),
        None => format!("{}://{host}", parsed.scheme()),
    };
    let holds_token = parsed
        .query_pairs()
        .any(|(key, _)| key.eq_ignore_ascii_case("X-Plex-Token"));
    let what = if holds_token {
        Some("a Plex token (X-Plex-Token)")
    } else if !parsed.username().is_empty() || parsed.password().is_some() {
        Some("a user name or password")
    } else {
        None
    };
    if let Some(what) = what {
        return Err(invalid_url(format!(
            "the Plex URL must not hold {what}: enter the server address alone, like {base}, \
             and the token in {}",
            place.hint()
        )));
    }
    if parsed.query().is_some() || parsed.fragment().is_some() {
        return Err(invalid_url(format!(
            "a Plex URL has no ?query or #fragment: enter the server address alone, like {base}"
        )));
    }
    Ok(parsed)
}

/// A URL safe to show, log or store: no user name, password, query or
/// fragment (where tokens hide). Text that is not a URL is cut the same way.
pub fn redact_url(url: &str) -> String {
    if let Ok(mut parsed) = reqwest::Url::parse(url) {
        if parsed.cannot_be_a_base() {
            return parsed.scheme().to_owned() + ":[redacted]";
        }
        let _ = parsed.set_username("");
        let _ = parsed.set_password(None);
        parsed.set_query(None);
        parsed.set_fragment(None);
        return parsed.as_str().trim_end_matches('/').to_owned();
    }
    let cut = url.find(['?', '#']).map_or(url, |end| &url[..end]);
    let (scheme, rest) = match cut.find("://") {
        Some(i) => cut.split_at(i + 3),
        None => ("", cut),
    };
    let authority_end = rest.find('/').unwrap_or(rest.len());
    let rest = match rest[..authority_end].rfind('@') {
        Some(at) => &rest[at + 1..],
        None => rest,
    };
    format!("{scheme}{rest}")
}

/// Reads the config file; a missing file is an empty one.
pub fn read_file_settings(data_dir: &Path) -> Result<FileSettings, ConfigError> {
    let path = data_dir.join(CONFIG_FILE);
    let text = match std::fs::read_to_string(&path) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(FileSettings::default()),
        Err(source) => return Err(ConfigError::Read { path, source }),
    };
    let settings = parse_file_settings(&text).map_err(|message| ConfigError::Parse {
        path: path.clone(),
        message,
    })?;
    if settings.plex_token.is_some() {
        keep_private(&path);
    }
    Ok(settings)
}

/// A config file holding the token that others may read: warn, and make it
/// private when it is ours (someone else's file is theirs to fix).
#[cfg(unix)]
fn keep_private(path: &Path) {
    use std::os::unix::fs::{MetadataExt, PermissionsExt};
    let Ok(meta) = std::fs::metadata(path) else {
        return;
    };
    let mode = meta.permissions().mode() & 0o777;
    if mode & 0o077 == 0 {
        return;
    }
    // SAFETY: geteuid has no preconditions and cannot fail.
    let ours = meta.uid() == unsafe { libc::geteuid() };
    let tightened =
        ours && std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600)).is_ok();
    if tightened {
        tracing::warn!(
            "{} holds the Plex token and was readable by others (mode {mode:o}); it is now 0600",
            path.display()
        );
    } else {
        tracing::warn!(
            "{} holds the Plex token and is readable by others (mode {mode:o}); make it private: chmod 600",
            path.display()
        );
    }
}

#[cfg(not(unix))]
fn keep_private(_path: &Path) {}

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

/// The full sweep interval as the setting states it (0: never).
pub fn full_sweep_days(settings: &Settings) -> f64 {
    settings
        .full_sweep
        .map_or(0.0, |every| every.as_secs_f64() / 86_400.0)
}

/// Saves the settings a person changes at run time into the config file of
/// their data directory, keeping the file's other keys. Blocking file I/O.
pub fn save_settings(settings: &Settings) -> Result<(), ConfigError> {
    let mut file = read_file_settings(&settings.data_dir).unwrap_or_default();
    file.plex_url = settings.plex_url.clone();
    file.plex_token = settings.plex_token.clone();
    file.sections = Some(settings.sections.clone());
    file.refresh_age_hours = Some(settings.refresh_age.as_secs_f64() / 3600.0);
    file.full_sweep_days = Some(full_sweep_days(settings));
    file.live_updates = Some(settings.live_updates);
    file.accept_invalid_certs = Some(settings.accept_invalid_certs);
    write_file_settings(&settings.data_dir, &file)
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
    // A temporary file of its own per write (created 0600, removed on any
    // failure), so concurrent writers never rename each other's half-files.
    let mut tmp = tempfile::Builder::new()
        .prefix(&format!(".{CONFIG_FILE}."))
        .suffix(".tmp")
        .tempfile_in(data_dir)
        .map_err(write_err)?;
    write_private(tmp.as_file_mut(), text.as_bytes()).map_err(write_err)?;
    tmp.persist(&path).map_err(|e| write_err(e.error))?;
    Ok(())
}

fn write_private(file: &mut std::fs::File, bytes: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        file.set_permissions(std::fs::Permissions::from_mode(0o600))?;
    }
    file.write_all(bytes)?;
    file.sync_all()
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

    const SECRET: &str = "s3cr3t-t0ken-9q";

    #[test]
    fn a_url_gets_a_scheme_and_loses_its_trailing_slash() {
        let place = TokenPlace::Dialog;
        let cases = [
            ("127.0.0.1:32400", "http://127.0.0.1:32400"),
            ("  nas.local:32400/ ", "http://nas.local:32400"),
            ("https://Plex.Example:443/", "https://plex.example"),
            ("http://host/plex/", "http://host/plex"),
        ];
        for (raw, want) in cases {
            assert_eq!(normalize_plex_url(raw, place).unwrap(), want, "{raw}");
        }
        let err = normalize_plex_url("http:// x", place)
            .unwrap_err()
            .to_string();
        assert!(err.contains("not a web address"), "{err}");
        assert!(!err.contains("relative URL"), "{err}");
    }

    #[test]
    fn credentials_in_the_url_are_refused_without_repeating_them() {
        let urls = [
            format!("http://10.0.0.2:32400/?X-Plex-Token={SECRET}"),
            format!("http://10.0.0.2:32400/library/sections/1/all?x-plex-token={SECRET}&a=1"),
            format!("http://user:{SECRET}@10.0.0.2:32400"),
            format!("http://{SECRET}@10.0.0.2:32400"),
            format!("10.0.0.2:32400/?X-Plex-Token={SECRET}"),
        ];
        let places = [
            (TokenPlace::Environment, "PLEX_TOKEN"),
            (TokenPlace::ConfigFile, "plex_token in config.toml"),
            (TokenPlace::Dialog, "token field"),
        ];
        for url in &urls {
            for (place, hint) in places {
                let err = normalize_plex_url(url, place).unwrap_err().to_string();
                assert!(!err.contains(SECRET), "{err}");
                assert!(err.contains(hint), "{err}");
                assert!(err.contains("http://10.0.0.2:32400"), "{err}");
            }
        }
        let err = normalize_plex_url("http://h/?a=b", TokenPlace::Dialog).unwrap_err();
        assert!(err.to_string().contains("address alone"), "{err}");
    }

    #[test]
    fn redacted_urls_hold_no_credentials() {
        let cases = [
            (
                format!("http://u:{SECRET}@h:1/p?X-Plex-Token={SECRET}#f"),
                "http://h:1/p",
            ),
            (format!("http://u:{SECRET}@h:1/"), "http://h:1"),
            (
                format!("http://u:{SECRET}@h :1/?t={SECRET}"),
                "http://h :1/",
            ),
            (format!("nas?X-Plex-Token={SECRET}"), "nas"),
        ];
        for (url, want) in cases {
            assert_eq!(redact_url(&url), want);
        }
    }

    #[test]
    fn a_token_in_the_url_fails_loading_from_environment_and_file() {
        let dir = tempfile::tempdir().unwrap();
        let bad = format!("http://127.0.0.1:32400/?X-Plex-Token={SECRET}");
        let from_env = Overrides {
            plex_url: Some(bad.clone()),
            ..Default::default()
        };
        let err = Settings::load(dir.path(), from_env)
            .unwrap_err()
            .to_string();
        assert!(err.contains("PLEX_TOKEN") && !err.contains(SECRET), "{err}");
        std::fs::write(
            dir.path().join(CONFIG_FILE),
            format!("plex_url = {bad:?}\n"),
        )
        .unwrap();
        let err = Settings::load(dir.path(), Overrides::default())
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("config.toml") && !err.contains(SECRET),
            "{err}"
        );
    }

    #[test]
    fn concurrent_writes_all_succeed_and_leave_no_temporary_file() {
        let dir = tempfile::tempdir().unwrap();
        std::thread::scope(|scope| {
            let writers: Vec<_> = (0..16)
                .map(|i| {
                    let dir = dir.path();
                    scope.spawn(move || {
                        (0..20)
                            .map(|j| {
                                let file = FileSettings {
                                    refresh_age_hours: Some(f64::from(i * 100 + j + 1)),
                                    ..Default::default()
                                };
                                write_file_settings(dir, &file).map_err(|e| e.to_string())
                            })
                            .collect::<Result<Vec<()>, String>>()
                    })
                })
                .collect();
            for writer in writers {
                writer.join().unwrap().unwrap();
            }
        });
        let names: Vec<String> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        assert_eq!(names, [CONFIG_FILE]);
        assert!(
            read_file_settings(dir.path())
                .unwrap()
                .refresh_age_hours
                .is_some()
        );
    }

    #[cfg(unix)]
    #[test]
    fn a_readable_config_file_holding_the_token_is_made_private() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(CONFIG_FILE);
        let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
        std::fs::write(&path, "refresh_age_hours = 3.0\n").unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
        Settings::load(dir.path(), Overrides::default()).unwrap();
        assert_eq!(mode(&path), 0o644, "no token, nothing to hide");
        std::fs::write(&path, format!("plex_token = {SECRET:?}\n")).unwrap();
        let s = Settings::load(dir.path(), Overrides::default()).unwrap();
        assert_eq!(s.plex_token.as_ref().map(Secret::expose), Some(SECRET));
        assert_eq!(mode(&path), 0o600);
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

    #[test]
    fn live_updates_are_on_unless_turned_off_and_a_change_is_saved() {
        let dir = tempfile::tempdir().unwrap();
        let load = |live: Option<bool>| {
            Settings::load(
                dir.path(),
                Overrides {
                    live_updates: live,
                    ..Default::default()
                },
            )
            .unwrap()
        };
        assert!(load(None).live_updates);
        assert!(!load(Some(false)).live_updates);
        let mut settings = load(Some(false));
        settings.full_sweep = None;
        save_settings(&settings).unwrap();
        let file = read_file_settings(dir.path()).unwrap();
        assert_eq!(file.live_updates, Some(false));
        assert_eq!(file.full_sweep_days, Some(0.0));
        let again = Settings::load(dir.path(), Overrides::default()).unwrap();
        assert!(!again.live_updates);
        assert_eq!(again.full_sweep, None);
    }

    #[test]
    fn the_full_sweep_is_weekly_by_default_zero_is_never_and_negatives_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let load = |days: Option<f64>| {
            Settings::load(
                dir.path(),
                Overrides {
                    full_sweep_days: days,
                    ..Default::default()
                },
            )
        };
        let week = Duration::from_secs(7 * 86_400);
        assert_eq!(load(None).unwrap().full_sweep, Some(week));
        assert_eq!(load(Some(0.0)).unwrap().full_sweep, None);
        assert_eq!(
            load(Some(0.5)).unwrap().full_sweep,
            Some(Duration::from_secs(43_200))
        );
        for bad in [-1.0, -0.5, 400.0, f64::NAN] {
            assert!(load(Some(bad)).is_err(), "{bad}");
        }
        std::fs::write(dir.path().join(CONFIG_FILE), "full_sweep_days = 2.0\n").unwrap();
        let s = Settings::load(dir.path(), Overrides::default()).unwrap();
        assert_eq!(s.full_sweep, Some(Duration::from_secs(2 * 86_400)));
    }

    #[derive(clap::Parser)]
    struct Flags {
        #[command(flatten)]
        layer: Overrides,
    }

    #[test]
    fn flags_fill_the_same_layer_the_file_holds() {
        use clap::Parser;
        let flags = Flags::try_parse_from([
            "plexcache",
            "--plex-url",
            "http://127.0.0.1:32400",
            "--plex-token",
            SECRET,
            "--sections",
            "1,2",
            "--timeout-secs",
            "5",
        ])
        .unwrap();
        let layer = flags.layer;
        assert_eq!(layer.sections, Some(vec!["1".to_owned(), "2".to_owned()]));
        assert_eq!(layer.timeout_secs, Some(5.0));
        assert!(!format!("{layer:?}").contains(SECRET));
        let written = toml::to_string(&layer).unwrap();
        assert!(!written.contains("timeout"), "not a file key: {written}");
        let read = parse_file_settings(&written).unwrap();
        assert_eq!(read.plex_token.as_ref().map(Secret::expose), Some(SECRET));
        assert_eq!(read.timeout_secs, None);
        assert!(parse_file_settings("timeout_secs = 5.0").is_err());
        assert!(parse_file_settings("password = \"x\"").is_err());
    }

    #[test]
    fn every_environment_variable_of_a_flag_is_listed() {
        use clap::CommandFactory;
        let command = Flags::command();
        let named: Vec<String> = command
            .get_arguments()
            .filter_map(|a| a.get_env())
            .map(|e| e.to_string_lossy().into_owned())
            .collect();
        assert_eq!(named.len(), 11);
        for name in &named {
            assert!(env::ALL.contains(&name.as_str()), "{name}");
        }
    }

    #[test]
    fn empty_text_values_mean_unset() {
        let layer = Overrides {
            plex_url: Some(String::new()),
            plex_token: Some(Secret::new("")),
            ..Default::default()
        }
        .without_empty();
        assert_eq!(layer, Overrides::default());
    }

    #[test]
    fn the_file_and_the_settings_dialog_share_one_refresh_age_range() {
        let dir = tempfile::tempdir().unwrap();
        let from_file = |hours: f64| {
            Settings::load(
                dir.path(),
                Overrides {
                    refresh_age_hours: Some(hours),
                    ..Default::default()
                },
            )
        };
        let current = Settings::load(
            dir.path(),
            Overrides {
                plex_url: Some("http://127.0.0.1:32400".into()),
                plex_token: Some(Secret::new("t")),
                ..Default::default()
            },
        )
        .unwrap();
        let from_dialog = |hours: f64| {
            current.with_change(Overrides {
                refresh_age_hours: Some(hours),
                ..Default::default()
            })
        };
        for hours in [0.0, -1.0, 8760.5, f64::NAN] {
            let file = from_file(hours).unwrap_err().to_string();
            assert!(file.contains("between 0 and 8760 hours"), "{file}");
            let dialog = from_dialog(hours).unwrap_err().to_string();
            assert!(
                dialog.contains("the refresh age is between 0 and 8760 hours"),
                "{dialog}"
            );
        }
        for hours in [0.01, 24.0, 8760.0] {
            assert!(
                from_file(hours).is_ok() && from_dialog(hours).is_ok(),
                "{hours}"
            );
        }
    }
}
