//! Plex's notification stream, read as server-sent events
//! (`/:/eventsource/notifications`) over the client's own HTTP connection:
//! the same token header (never the query), TLS settings and same-origin
//! redirect policy as every other request, and no extra dependency. Frames
//! become a small [`Notification`] enum; unknown types, malformed frames
//! and servers older than 1.3 (payload without the `NotificationContainer`
//! wrapper) are tolerated. A stream silent for [`STREAM_IDLE`] (Plex pings
//! about every 10 s) counts as dead.

use std::collections::VecDeque;
use std::time::Duration;

use serde_json::Value;

use super::{PlexClient, PlexError};

/// A stream with no bytes at all for this long is dead.
pub const STREAM_IDLE: Duration = Duration::from_secs(30);
/// Longest single line accepted; a runaway line ends the stream.
const MAX_LINE: usize = 16 * 1024 * 1024;
const PATH: &str = "/:/eventsource/notifications";

/// A library item's progress through a scan or edit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TimelineEntry {
    pub section_id: Option<String>,
    pub item_id: String,
    /// 8 artist, 9 album, 10 track.
    pub kind: Option<i64>,
    /// 0 created, 1–4 progress, 5 done, 9 deleted.
    pub state: Option<i64>,
}

/// A player's state change (`stopped` after a play counts it).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlayingEntry {
    pub rating_key: Option<String>,
    pub state: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Notification {
    Timeline(Vec<TimelineEntry>),
    Playing(Vec<PlayingEntry>),
    Activity,
    Status,
    Ping,
    /// A type plexcache does not act on.
    Other,
}

/// An open notification stream.
pub struct NotificationStream {
    response: reqwest::Response,
    parser: SseParser,
    ready: VecDeque<Notification>,
    idle: Duration,
}

impl PlexClient {
    /// Opens the notification stream.
    pub async fn notifications(&self) -> Result<NotificationStream, PlexError> {
        self.notifications_with_idle(STREAM_IDLE).await
    }

    /// Opens the notification stream, dead after `idle` without a byte.
    pub async fn notifications_with_idle(
        &self,
        idle: Duration,
    ) -> Result<NotificationStream, PlexError> {
        let mut url = self.base.clone();
        url.set_path(&format!("{}{PATH}", self.base.path().trim_end_matches('/')));
        // The client's whole-request timeout would cut a stream that lives
        // for hours: the idle limit below replaces it.
        const FOREVER: Duration = Duration::from_secs(100 * 365 * 24 * 3600);
        let response = tokio::time::timeout(
            self.options.timeout,
            self.http
                .get(url)
                .header(reqwest::header::ACCEPT, "text/event-stream")
                .timeout(FOREVER)
                .send(),
        )
        .await
        .map_err(|_| self.stream_timeout())?
        .map_err(|e| self.transport_error(PATH, e))?;
        self.check_status(PATH, &response)?;
        Ok(NotificationStream {
            response,
            parser: SseParser::default(),
            ready: VecDeque::new(),
            idle,
        })
    }

    fn stream_timeout(&self) -> PlexError {
        PlexError::Timeout {
            path: PATH.into(),
            seconds: self.options.timeout.as_secs_f64(),
        }
    }
}

impl NotificationStream {
    /// The next notification; `Ok(None)` when the server ended the stream,
    /// an error when it broke or fell silent.
    pub async fn next(&mut self) -> Result<Option<Notification>, PlexError> {
        loop {
            if let Some(n) = self.ready.pop_front() {
                return Ok(Some(n));
            }
            let chunk = tokio::time::timeout(self.idle, self.response.chunk())
                .await
                .map_err(|_| PlexError::Timeout {
                    path: PATH.into(),
                    seconds: self.idle.as_secs_f64(),
                })?
                .map_err(|e| PlexError::BadResponse {
                    path: PATH.into(),
                    detail: format!("the notification stream broke ({})", e.without_url()),
                })?;
            let Some(chunk) = chunk else {
                return Ok(None);
            };
            let events = self
                .parser
                .push(&chunk)
                .map_err(|detail| PlexError::BadResponse {
                    path: PATH.into(),
                    detail,
                })?;
            for (event, data) in events {
                self.ready.extend(parse_frame(event.as_deref(), &data));
            }
        }
    }
}

/// Splits a byte stream into server-sent events: `(event name, data)`.
#[derive(Debug, Default)]
pub struct SseParser {
    line: Vec<u8>,
    event: Option<String>,
    data: Option<String>,
}

impl SseParser {
    /// Takes bytes; returns the events they complete.
    pub fn push(&mut self, bytes: &[u8]) -> Result<Vec<(Option<String>, String)>, String> {
        let mut done = Vec::new();
        for &b in bytes {
            if b != b'\n' {
                if self.line.len() >= MAX_LINE {
                    return Err("a notification line is too long".into());
                }
                self.line.push(b);
                continue;
            }
            let line = std::mem::take(&mut self.line);
            let line = String::from_utf8_lossy(&line);
            let line = line.strip_suffix('\r').unwrap_or(&line);
            self.line_done(line, &mut done);
        }
        Ok(done)
    }

    fn line_done(&mut self, line: &str, done: &mut Vec<(Option<String>, String)>) {
        if line.is_empty() {
            let event = self.event.take();
            let data = self.data.take();
            if event.is_some() || data.is_some() {
                done.push((event, data.unwrap_or_default()));
            }
            return;
        }
        if line.starts_with(':') {
            return; // a comment, which also keeps the stream alive
        }
        let (field, value) = line.split_once(':').unwrap_or((line, ""));
        let value = value.strip_prefix(' ').unwrap_or(value);
        match field {
            "event" => self.event = Some(value.to_owned()),
            "data" => match &mut self.data {
                Some(data) => {
                    data.push('\n');
                    data.push_str(value);
                }
                None => self.data = Some(value.to_owned()),
            },
            _ => {}
        }
    }
}

/// Reads one frame: `{"NotificationContainer": {"type": …, <payload>}}`,
/// or the payload alone (servers before 1.3). Never fails: what cannot be
/// read is [`Notification::Other`].
pub fn parse_frame(event: Option<&str>, data: &str) -> Option<Notification> {
    if event == Some("ping") {
        return Some(Notification::Ping);
    }
    let value: Value = match serde_json::from_str(data) {
        Ok(v) => v,
        Err(_) if data.trim().is_empty() => return None,
        Err(_) => return Some(Notification::Other),
    };
    let inner = value.get("NotificationContainer").unwrap_or(&value);
    let kind = inner
        .get("type")
        .and_then(Value::as_str)
        .or(event)
        .unwrap_or("");
    let list = |key: &str| -> Vec<Value> {
        match inner.get(key) {
            Some(Value::Array(items)) => items.clone(),
            Some(item @ Value::Object(_)) => vec![item.clone()],
            _ => Vec::new(),
        }
    };
    let n = if inner.get("TimelineEntry").is_some() || kind == "timeline" {
        Notification::Timeline(list("TimelineEntry").iter().filter_map(timeline).collect())
    } else if inner.get("PlaySessionStateNotification").is_some() || kind == "playing" {
        Notification::Playing(
            list("PlaySessionStateNotification")
                .iter()
                .map(playing)
                .collect(),
        )
    } else if inner.get("ActivityNotification").is_some() || kind == "activity" {
        Notification::Activity
    } else if inner.get("StatusNotification").is_some() || kind == "status" {
        Notification::Status
    } else if kind == "ping" {
        Notification::Ping
    } else {
        Notification::Other
    };
    Some(n)
}

/// A string or a number, as text.
fn text(v: Option<&Value>) -> Option<String> {
    match v? {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

fn number(v: Option<&Value>) -> Option<i64> {
    match v? {
        Value::Number(n) => n.as_i64(),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

fn timeline(v: &Value) -> Option<TimelineEntry> {
    Some(TimelineEntry {
        section_id: text(v.get("sectionID")),
        item_id: text(v.get("itemID"))?,
        kind: number(v.get("type")),
        state: number(v.get("state")),
    })
}

fn playing(v: &Value) -> PlayingEntry {
    let key = text(v.get("key"));
    PlayingEntry {
        rating_key: text(v.get("ratingKey")).or_else(|| {
            key.as_deref()
                .and_then(|k| k.strip_prefix("/library/metadata/"))
                .map(str::to_owned)
        }),
        state: text(v.get("state")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn events_split_across_chunks_and_lines_come_whole() {
        let mut p = SseParser::default();
        assert!(p.push(b"event: timel").unwrap().is_empty());
        let got = p
            .push(b"ine\r\ndata: {\"a\":1}\r\n\r\n: comment\n\nevent: ping\ndata:\n\n")
            .unwrap();
        assert_eq!(
            got,
            vec![
                (Some("timeline".into()), "{\"a\":1}".into()),
                (Some("ping".into()), String::new())
            ]
        );
    }

    #[test]
    fn frames_with_and_without_the_wrapper_read_alike() {
        let wrapped = r#"{"NotificationContainer":{"type":"timeline","size":2,"TimelineEntry":[
            {"identifier":"com.plexapp.plugins.library","sectionID":"1","itemID":"42","type":10,"state":5,"updatedAt":1700000000},
            {"sectionID":-1,"itemID":0,"type":"9","state":"9"}]}}"#;
        let bare = r#"{"type":"timeline","TimelineEntry":[{"sectionID":"1","itemID":"42","type":10,"state":5}]}"#;
        let first = TimelineEntry {
            section_id: Some("1".into()),
            item_id: "42".into(),
            kind: Some(10),
            state: Some(5),
        };
        let Some(Notification::Timeline(entries)) = parse_frame(Some("timeline"), wrapped) else {
            panic!("not a timeline");
        };
        assert_eq!(entries[0], first);
        assert_eq!(entries[1].item_id, "0");
        assert_eq!(entries[1].section_id.as_deref(), Some("-1"));
        assert_eq!(entries[1].state, Some(9));
        assert_eq!(
            parse_frame(None, bare),
            Some(Notification::Timeline(vec![first]))
        );
    }

    #[test]
    fn other_frames_are_named_and_nothing_fails() {
        let playing = r#"{"NotificationContainer":{"type":"playing","PlaySessionStateNotification":[{"key":"/library/metadata/7","state":"stopped"}]}}"#;
        assert_eq!(
            parse_frame(Some("playing"), playing),
            Some(Notification::Playing(vec![PlayingEntry {
                rating_key: Some("7".into()),
                state: Some("stopped".into())
            }]))
        );
        let activity = r#"{"NotificationContainer":{"type":"activity","ActivityNotification":[{"event":"started"}]}}"#;
        assert_eq!(parse_frame(None, activity), Some(Notification::Activity));
        let status = r#"{"NotificationContainer":{"type":"status","StatusNotification":[{}]}}"#;
        assert_eq!(parse_frame(None, status), Some(Notification::Status));
        assert_eq!(parse_frame(Some("ping"), ""), Some(Notification::Ping));
        assert_eq!(parse_frame(None, "not json"), Some(Notification::Other));
        assert_eq!(
            parse_frame(
                None,
                r#"{"NotificationContainer":{"type":"backgroundProcessingQueue"}}"#
            ),
            Some(Notification::Other)
        );
        assert_eq!(parse_frame(None, ""), None);
    }
}
