//! Plex's notification frames for what a change did: timeline entries
//! through their states, activity and status frames around scans, a
//! `playing` frame for a play, and the noise a real server mixes in.

use serde_json::{Value, json};

use crate::effect::{Effect, Touched};

/// The most timeline entries one frame carries (a real scan batches).
pub(crate) const MAX_ENTRIES: usize = 100;

const IDENTIFIER: &str = "com.plexapp.plugins.library";
/// The progress states a scanned item passes between 0 and 5.
const PROGRESS_STATES: [u8; 4] = [1, 2, 3, 4];

/// One notification frame: its type and its JSON text.
#[derive(Debug, Clone)]
pub(crate) struct Frame {
    pub kind: &'static str,
    pub json: String,
}

impl Frame {
    fn new(kind: &'static str, payload_key: &str, payload: Vec<Value>) -> Frame {
        let container = json!({
            "NotificationContainer": {
                "type": kind,
                "size": payload.len(),
                payload_key: payload,
            }
        });
        Frame {
            kind,
            json: container.to_string(),
        }
    }

    fn timeline(entries: Vec<Value>) -> Frame {
        Frame::new("timeline", "TimelineEntry", entries)
    }
}

/// Where noise goes: a section the cache does not hold.
#[derive(Debug, Clone, Default)]
pub(crate) struct NoiseSections {
    /// A movie section's key, if the library has one.
    pub movie: Option<String>,
}

/// The frames for `effects`, in the order a server sends them; `seq`
/// varies noise and activity ids from one change to the next.
pub(crate) fn frames_for(effects: &[Effect], noise: &NoiseSections, seq: u64) -> Vec<Frame> {
    let mut frames = Vec::new();
    for effect in effects {
        match effect {
            Effect::Added { section, items } => scan_frames(&mut frames, section, seq, |f| {
                added_timeline(f, items, noise, seq)
            }),
            Effect::Removed { section, items } => scan_frames(&mut frames, section, seq, |f| {
                let entries = items.iter().map(|item| entry(item, 9)).collect();
                push_chunked(f, entries);
            }),
            Effect::Scanned { section } => scan_frames(&mut frames, section, seq, |_| {}),
            Effect::Updated(item) => {
                frames.push(Frame::timeline(vec![entry(item, 5), zero_entry(5)]));
            }
            Effect::Played { key, .. } => frames.push(playing(*key, seq)),
        }
    }
    frames
}

/// A scan of `section`: activity started, what `body` adds, activity
/// ended and a `LIBRARY_UPDATE` status.
fn scan_frames(
    frames: &mut Vec<Frame>,
    section: &str,
    seq: u64,
    body: impl FnOnce(&mut Vec<Frame>),
) {
    let uuid = activity_uuid(seq);
    frames.push(activity(&uuid, "started", section, 0));
    body(frames);
    frames.push(activity(&uuid, "ended", section, 100));
    frames.push(status());
}

/// Created, then through the progress states, then processed; noise
/// entries and a frame for another section in between.
fn added_timeline(frames: &mut Vec<Frame>, items: &[Touched], noise: &NoiseSections, seq: u64) {
    let states = std::iter::once(0).chain(PROGRESS_STATES).chain([5]);
    for state in states {
        let mut entries: Vec<Value> = items.iter().map(|item| entry(item, state)).collect();
        if state == 1 {
            entries.push(zero_entry(1));
        }
        push_chunked(frames, entries);
        if state == 2
            && let Some(movie) = &noise.movie
        {
            frames.push(Frame::timeline(vec![movie_entry(movie, seq, 1)]));
        }
    }
}

fn push_chunked(frames: &mut Vec<Frame>, entries: Vec<Value>) {
    let mut entries = entries.into_iter().peekable();
    while entries.peek().is_some() {
        let chunk: Vec<Value> = entries.by_ref().take(MAX_ENTRIES).collect();
        frames.push(Frame::timeline(chunk));
    }
}

/// A timeline entry of an item in `state`. IDs are strings, `updatedAt` a
/// number, as Plex sends them.
fn entry(item: &Touched, state: u8) -> Value {
    let mut value = json!({
        "identifier": IDENTIFIER,
        "sectionID": item.section,
        "itemID": item.key.to_string(),
        "type": item.item_type.code(),
        "title": item.title,
        "state": state,
        "updatedAt": item.updated_at,
    });
    if let Some(metadata_state) = metadata_state(state) {
        value["metadataState"] = json!(metadata_state);
    }
    if state == 4 {
        value["mediaState"] = json!("analyzing");
    }
    if state < 5 {
        value["queueSize"] = json!(1);
    }
    value
}

fn metadata_state(state: u8) -> Option<&'static str> {
    match state {
        0 => Some("created"),
        1 => Some("queued"),
        2 | 4 => Some("processing"),
        3 => Some("loading"),
        9 => Some("deleted"),
        _ => None,
    }
}

/// Noise: an entry for no item in no section.
fn zero_entry(state: u8) -> Value {
    json!({
        "identifier": IDENTIFIER,
        "sectionID": "-1",
        "itemID": "0",
        "type": 10,
        "title": "",
        "state": state,
        "updatedAt": 0,
    })
}

/// Noise: a movie being processed in the movie section.
fn movie_entry(section: &str, seq: u64, state: u8) -> Value {
    json!({
        "identifier": IDENTIFIER,
        "sectionID": section,
        "itemID": (900_000_000 + seq % 1_000).to_string(),
        "type": 1,
        "title": "Background Movie",
        "state": state,
        "metadataState": "queued",
        "updatedAt": 1_700_000_000 + (seq % 1_000) as i64,
    })
}

fn activity_uuid(seq: u64) -> String {
    format!("6f1d2c3b-0000-4000-8000-{seq:012x}")
}

fn activity(uuid: &str, event: &str, section: &str, progress: u8) -> Frame {
    let notification = json!({
        "event": event,
        "uuid": uuid,
        "Activity": {
            "uuid": uuid,
            "type": "library.update.section",
            "cancellable": false,
            "userID": 1,
            "title": "Scanning",
            "subtitle": "",
            "progress": progress,
            "Context": {"librarySectionID": section},
        }
    });
    Frame::new("activity", "ActivityNotification", vec![notification])
}

fn status() -> Frame {
    let notification = json!({
        "title": "Library scan complete",
        "description": "",
        "notificationName": "LIBRARY_UPDATE",
    });
    Frame::new("status", "StatusNotification", vec![notification])
}

/// A play that reached its end: the session stops.
fn playing(key: u64, seq: u64) -> Frame {
    let notification = json!({
        "sessionKey": (seq % 10_000 + 1).to_string(),
        "clientIdentifier": "plexcache-emulator-player",
        "guid": "",
        "ratingKey": key.to_string(),
        "url": "",
        "key": format!("/library/metadata/{key}"),
        "viewOffset": 0,
        "playQueueItemID": seq % 10_000 + 1,
        "state": "stopped",
    });
    Frame::new(
        "playing",
        "PlaySessionStateNotification",
        vec![notification],
    )
}

/// Background noise between changes: a movie refresh in the movie section
/// and a stray entry.
pub(crate) fn noise_frames(noise: &NoiseSections, seq: u64) -> Vec<Frame> {
    let mut entries = vec![zero_entry(1)];
    if let Some(movie) = &noise.movie {
        entries.push(movie_entry(movie, seq, 5));
    }
    vec![Frame::timeline(entries)]
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::effect::ItemType;

    fn track(key: u64) -> Touched {
        Touched {
            key,
            item_type: ItemType::Track,
            title: format!("T{key}"),
            section: String::from("1"),
            updated_at: 42,
        }
    }

    #[test]
    fn a_large_add_is_sent_in_frames_of_at_most_a_hundred_entries() {
        let items: Vec<Touched> = (1..=250).map(track).collect();
        let effects = [Effect::Added {
            section: String::from("1"),
            items,
        }];
        let frames = frames_for(&effects, &NoiseSections::default(), 1);
        for frame in frames.iter().filter(|f| f.kind == "timeline") {
            let value: Value = serde_json::from_str(&frame.json).expect("json");
            let entries = value["NotificationContainer"]["TimelineEntry"]
                .as_array()
                .expect("entries");
            assert!(!entries.is_empty() && entries.len() <= MAX_ENTRIES);
            assert_eq!(
                value["NotificationContainer"]["size"].as_u64(),
                Some(entries.len() as u64)
            );
        }
        assert_eq!(frames.first().map(|f| f.kind), Some("activity"));
        assert_eq!(frames.last().map(|f| f.kind), Some("status"));
    }
}
