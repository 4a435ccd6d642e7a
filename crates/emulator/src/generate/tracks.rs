//! Making one track of an album: title (ordinary, live, look-alike or
//! awkward), credits, numbering, play history, rating, genres and the file.

use rand::Rng;

use super::names::{self, pick};
use super::{DAY, GENERATED_NOW};
use crate::model::{Album, Artist, Track};

/// Tracks longer than this many per album are split over two discs.
const SINGLE_DISC_MAX: usize = 14;
/// Longest file-name component, in characters.
const PATH_COMPONENT_MAX: usize = 80;

/// Makes the tracks of one album.
pub(crate) struct TrackFactory {
    artist_key: u64,
    artist_title: String,
    album_key: u64,
    section: String,
    album_size: usize,
    codec: &'static str,
    directory: String,
    added_at: i64,
    updated_at: i64,
}

impl TrackFactory {
    pub(crate) fn new(
        artist: &Artist,
        album: &Album,
        album_size: usize,
        codec: &'static str,
    ) -> Self {
        let directory = format!(
            "/music/{}/{}",
            path_component(&artist.title),
            path_component(&album.title)
        );
        TrackFactory {
            artist_key: artist.rating_key,
            artist_title: artist.title.clone(),
            album_key: album.rating_key,
            section: album.section.clone(),
            album_size,
            codec,
            directory,
            added_at: album.added_at,
            updated_at: album.updated_at,
        }
    }

    /// Track number `position` (0-based) of the album; `global` is its
    /// position in the whole library, which places the rare awkward titles.
    pub(crate) fn track<R: Rng>(
        &mut self,
        rng: &mut R,
        genres: &[&str],
        rating_key: u64,
        global: usize,
        position: usize,
    ) -> Track {
        let title = track_title(rng, global);
        let (index, parent_index) = self.numbering(rng, position);
        let duration_ms = duration(rng);
        let bitrate = bitrate(rng, self.codec);
        let added_at = self.added_at + position as i64;
        let (view_count, last_viewed_at) = plays(rng, added_at);
        let file = self.file_name(&title, index, parent_index);
        // Drawn in the order the fields once were, so that seeds keep
        // giving the same library.
        let original_title = self.original_title(rng);
        let user_rating = rating(rng);
        Track {
            rating_key,
            section: self.section.clone(),
            album_key: self.album_key,
            artist_key: self.artist_key,
            original_title,
            index,
            parent_index,
            duration_ms,
            // Rated when added (a stamp that needs no draw from `rng`).
            last_rated_at: user_rating.map(|_| added_at),
            user_rating,
            view_count,
            last_viewed_at,
            skip_count: rng.random_bool(0.1).then(|| rng.random_range(1..=5)),
            added_at,
            updated_at: (self.updated_at.max(added_at) + rng.random_range(0..3_600))
                .min(GENERATED_NOW),
            genres: own_genres(rng, genres),
            size: file_size(rng, duration_ms, bitrate),
            bitrate,
            codec: self.codec.to_string(),
            file,
            title,
            title_sort: None,
        }
    }

    /// Track number and disc; a few tracks have neither.
    fn numbering<R: Rng>(&self, rng: &mut R, position: usize) -> (Option<u32>, Option<u32>) {
        let two_discs = self.album_size > SINGLE_DISC_MAX;
        let half = self.album_size.div_ceil(2);
        let (disc, number) = if two_discs && position >= half {
            (2, position - half + 1)
        } else {
            (1, position + 1)
        };
        if rng.random_bool(0.02) {
            return (None, rng.random_bool(0.5).then_some(disc));
        }
        (u32::try_from(number).ok(), Some(disc))
    }

    /// Set on about a quarter of the tracks, often equal to the album artist.
    fn original_title<R: Rng>(&self, rng: &mut R) -> Option<String> {
        if !rng.random_bool(0.25) {
            return None;
        }
        Some(match rng.random_range(0..5) {
            0 | 1 => self.artist_title.clone(),
            2 | 3 => format!("{} feat. {}", self.artist_title, names::artist_name(rng)),
            _ => names::artist_name(rng),
        })
    }

    fn file_name(&self, title: &str, index: Option<u32>, disc: Option<u32>) -> String {
        let number = match (disc, index) {
            (Some(d), Some(i)) => format!("{d}-{i:02} "),
            (None, Some(i)) => format!("{i:02} "),
            _ => String::new(),
        };
        let extension = match self.codec {
            "aac" => "m4a",
            other => other,
        };
        format!(
            "{}/{number}{}.{extension}",
            self.directory,
            path_component(title)
        )
    }
}

fn track_title<R: Rng>(rng: &mut R, global: usize) -> String {
    if global % 211 == 17 {
        let slot = global / 211;
        if slot < names::AWKWARD_TRACKS.len() {
            return names::AWKWARD_TRACKS[slot].to_string();
        }
    }
    if global % 1_009 == 101 {
        let slot = global / 1_009;
        return names::CONTROL_TITLES[slot % names::CONTROL_TITLES.len()].to_string();
    }
    if global % 1_499 == 700 {
        return names::long_title(global / 1_499);
    }
    let roll: f64 = rng.random();
    if roll < 0.045 {
        names::live_title(rng)
    } else if roll < 0.06 {
        pick(rng, names::LIVE_TRAPS).to_string()
    } else {
        names::song_title(rng)
    }
}

fn duration<R: Rng>(rng: &mut R) -> Option<u64> {
    if rng.random_bool(0.01) {
        return None;
    }
    Some(if rng.random_bool(0.1) {
        rng.random_range(30_000..=900_000)
    } else {
        rng.random_range(120_000..=360_000)
    })
}

fn bitrate<R: Rng>(rng: &mut R, codec: &str) -> u32 {
    match codec {
        "flac" => rng.random_range(600..=1_100),
        "mp3" => [128, 192, 256, 320][rng.random_range(0..4)],
        _ => 256,
    }
}

/// About 40% rated: whole numbers and halves (7.5).
fn rating<R: Rng>(rng: &mut R) -> Option<f64> {
    if !rng.random_bool(0.4) {
        return None;
    }
    let whole = f64::from(rng.random_range(1..=10_u8));
    Some(if rng.random_bool(0.6) {
        whole
    } else {
        whole - 0.5
    })
}

/// About 30% played, with a last play between addition and "now".
fn plays<R: Rng>(rng: &mut R, added_at: i64) -> (Option<u32>, Option<i64>) {
    if !rng.random_bool(0.3) {
        return (None, None);
    }
    let count = if rng.random_bool(0.8) {
        rng.random_range(1..=10)
    } else {
        rng.random_range(11..=200)
    };
    let last = rng.random_range(added_at.min(GENERATED_NOW - DAY)..GENERATED_NOW);
    (Some(count), Some(last))
}

/// About 10% of tracks carry one to three genres of their own.
fn own_genres<R: Rng>(rng: &mut R, genres: &[&str]) -> Vec<String> {
    if !rng.random_bool(0.1) {
        return Vec::new();
    }
    let mut own: Vec<String> = Vec::new();
    for _ in 0..rng.random_range(1..=3) {
        let genre = pick(rng, genres);
        if !own.iter().any(|g| g == genre) {
            own.push(genre.to_string());
        }
    }
    own
}

fn file_size<R: Rng>(rng: &mut R, duration_ms: Option<u64>, bitrate_kbps: u32) -> u64 {
    match duration_ms {
        // kbit/s × ms = bits; eight bits a byte.
        Some(ms) => ms * u64::from(bitrate_kbps) / 8,
        None => rng.random_range(1_000_000..10_000_000),
    }
}

/// A title made safe for a file name: no slashes or control characters,
/// at most `PATH_COMPONENT_MAX` characters.
fn path_component(title: &str) -> String {
    if title.is_empty() {
        return String::from("Unknown");
    }
    title
        .chars()
        .take(PATH_COMPONENT_MAX)
        .map(|c| if c == '/' || c.is_control() { '_' } else { c })
        .collect()
}
