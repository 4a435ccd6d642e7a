//! Deterministic library generation: the same track count and seed always
//! give the same library, with every awkward case a sync must survive
//! spread through it at realistic rates (see `docs/emulator.md`).

mod names;
mod tracks;

use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use super::model::{Album, Artist, Library, Section, SectionKind, Track};
pub(crate) use names::GENRES;
use names::pick;
pub(crate) use tracks::TrackFactory;

/// First addition to a generated library: 2010-01-01.
const LIBRARY_START: i64 = 1_262_304_000;
/// "Now" for a generated library: 2025-12-01. No wall clock is read.
pub(crate) const GENERATED_NOW: i64 = 1_764_547_200;
const DAY: i64 = 86_400;

/// The second music section holds artists at these positions (mod 20).
const SECOND_SECTION_SLOTS: [usize; 2] = [1, 8];

impl Library {
    /// Generates a library of exactly `track_count` tracks from `seed`.
    pub fn generate(track_count: usize, seed: u64) -> Library {
        let mut generator = Generator::new(track_count, seed);
        generator.run();
        generator.finish()
    }
}

struct Generator {
    rng: ChaCha8Rng,
    genres: Vec<&'static str>,
    sections: Vec<Section>,
    artists: Vec<Artist>,
    albums: Vec<Album>,
    tracks: Vec<Track>,
    track_count: usize,
    expected_albums: usize,
    next_key: u64,
}

impl Generator {
    fn new(track_count: usize, seed: u64) -> Generator {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let genres = choose_genres(&mut rng);
        let sections = sections(&mut rng);
        let next_key = rng.random_range(1_000..2_000);
        Generator {
            rng,
            genres,
            sections,
            artists: Vec::with_capacity(track_count / 50 + 1),
            albums: Vec::with_capacity(track_count / 10 + 1),
            tracks: Vec::with_capacity(track_count),
            track_count,
            expected_albums: track_count / 11 + 1,
            next_key,
        }
    }

    fn run(&mut self) {
        while self.tracks.len() < self.track_count {
            self.add_artist();
        }
    }

    fn finish(self) -> Library {
        Library::from_parts(
            self.sections,
            self.artists,
            self.albums,
            self.tracks,
            GENERATED_NOW,
        )
    }

    /// Rating keys grow with small gaps, like a real server's.
    fn key(&mut self) -> u64 {
        let key = self.next_key;
        self.next_key += self.rng.random_range(1..=3);
        key
    }

    fn add_artist(&mut self) {
        let position = self.artists.len();
        let section = if SECOND_SECTION_SLOTS.contains(&(position % 20)) {
            "3"
        } else {
            "1"
        };
        let title = self.artist_title(position);
        let genre_count = self.rng.random_range(1..=4);
        let added_at = self.timeline_point(self.albums.len());
        let artist = Artist {
            rating_key: self.key(),
            section: section.to_string(),
            title,
            genres: self.pick_genres(genre_count, &[]),
            added_at,
            updated_at: self.later(added_at, 400),
        };
        let album_count = self.rng.random_range(1..=9);
        self.artists.push(artist);
        for _ in 0..album_count {
            if self.tracks.len() >= self.track_count {
                break;
            }
            self.add_album();
        }
    }

    fn artist_title(&mut self, position: usize) -> String {
        let slot = position / 7;
        if position % 7 == 3 && slot < names::AWKWARD_ARTISTS.len() {
            return names::AWKWARD_ARTISTS[slot].to_string();
        }
        names::artist_name(&mut self.rng)
    }

    fn add_album(&mut self) {
        let position = self.albums.len();
        // Albums whose files are gone: listed with deletedAt, no tracks left.
        if position % 211 == 5 || self.rng.random_bool(0.004) {
            let ghost = self.album(position, true);
            self.albums.push(ghost);
            return;
        }
        let album = self.album(position, false);
        let size = self.album_size().min(self.track_count - self.tracks.len());
        let codec = self.album_codec();
        let artist = self.artists.last().cloned();
        if let Some(artist) = artist {
            let mut factory = TrackFactory::new(&artist, &album, size, codec);
            for position_in_album in 0..size {
                let key = self.key();
                let global = self.tracks.len();
                let track =
                    factory.track(&mut self.rng, &self.genres, key, global, position_in_album);
                self.tracks.push(track);
            }
        }
        self.albums.push(album);
    }

    fn album(&mut self, position: usize, ghost: bool) -> Album {
        let (artist_key, section, artist_genres) = match self.artists.last() {
            Some(a) => (a.rating_key, a.section.clone(), a.genres.clone()),
            None => (0, String::from("1"), Vec::new()),
        };
        let added_at = self.timeline_point(position);
        let updated_at = self.later(added_at, 90);
        let genre_count = self.album_genre_count();
        Album {
            rating_key: self.key(),
            section,
            artist_key,
            title: self.album_title(position),
            year: self.album_year(),
            genres: self.pick_genres(genre_count, &artist_genres),
            added_at,
            updated_at,
            deleted_at: ghost.then(|| self.later(updated_at, 200)),
        }
    }

    fn album_title(&mut self, position: usize) -> String {
        let slot = position / 13;
        if position % 13 == 6 && slot < names::AWKWARD_ALBUMS.len() {
            return names::AWKWARD_ALBUMS[slot].to_string();
        }
        let roll: f64 = self.rng.random();
        if roll < 0.02 {
            pick(&mut self.rng, names::LIVE_ALBUMS).to_string()
        } else if roll < 0.035 {
            pick(&mut self.rng, names::LIVE_TRAP_ALBUMS).to_string()
        } else if roll < 0.065 {
            pick(&mut self.rng, names::COMMON_ALBUMS).to_string()
        } else {
            names::album_title(&mut self.rng)
        }
    }

    fn album_year(&mut self) -> Option<i32> {
        if self.rng.random_bool(0.05) {
            None
        } else {
            Some(self.rng.random_range(1950..=2025))
        }
    }

    /// 1 to 25 tracks, about 11 on average.
    fn album_size(&mut self) -> usize {
        if self.rng.random_bool(0.05) {
            self.rng.random_range(22..=25)
        } else {
            self.rng.random_range(1..=21)
        }
    }

    /// Often more than three, so that listing truncation matters.
    fn album_genre_count(&mut self) -> usize {
        match self.rng.random_range(0..100) {
            0..5 => 0,
            5..20 => 1,
            20..40 => 2,
            40..60 => 3,
            60..75 => 4,
            75..87 => 5,
            _ => self.rng.random_range(6..=8),
        }
    }

    fn album_codec(&mut self) -> &'static str {
        match self.rng.random_range(0..10) {
            0..5 => "flac",
            5..9 => "mp3",
            _ => "aac",
        }
    }

    /// `count` distinct genres, preferring those in `preferred`.
    fn pick_genres(&mut self, count: usize, preferred: &[String]) -> Vec<String> {
        let mut chosen: Vec<String> = Vec::with_capacity(count);
        for genre in preferred {
            if chosen.len() < count && self.rng.random_bool(0.7) {
                chosen.push(genre.clone());
            }
        }
        let mut attempts = 0;
        while chosen.len() < count && attempts < 100 {
            attempts += 1;
            let genre = pick(&mut self.rng, &self.genres);
            if !chosen.iter().any(|g| g == genre) {
                chosen.push(genre.to_string());
            }
        }
        chosen
    }

    /// A point on the library's timeline, growing with `position`.
    fn timeline_point(&mut self, position: usize) -> i64 {
        let span = GENERATED_NOW - LIBRARY_START - 30 * DAY;
        let step = span / self.expected_albums.max(1) as i64;
        let base = LIBRARY_START + step.saturating_mul(position as i64);
        base.min(GENERATED_NOW - 30 * DAY) + self.rng.random_range(0..3_600)
    }

    /// A time up to `max_days` after `time`, never after "now".
    fn later(&mut self, time: i64, max_days: i64) -> i64 {
        (time + self.rng.random_range(0..=max_days * DAY)).min(GENERATED_NOW)
    }
}

fn choose_genres(rng: &mut ChaCha8Rng) -> Vec<&'static str> {
    let mut pool: Vec<&'static str> = names::GENRES.to_vec();
    pool.shuffle(rng);
    let count = rng.random_range(20..=40).min(pool.len());
    pool.truncate(count);
    pool
}

fn sections(rng: &mut ChaCha8Rng) -> Vec<Section> {
    let section = |key: &str, title: &str, kind, rng: &mut ChaCha8Rng| Section {
        key: key.to_string(),
        title: title.to_string(),
        kind,
        uuid: uuid(rng),
    };
    vec![
        section("1", "Music", SectionKind::Music, rng),
        section("2", "Movies", SectionKind::Movie, rng),
        section("3", "Concert Archive", SectionKind::Music, rng),
    ]
}

/// A random-looking but seeded UUID (8-4-4-4-12 hex digits).
fn uuid(rng: &mut ChaCha8Rng) -> String {
    let a: u32 = rng.random();
    let b: u16 = rng.random();
    let c: u16 = rng.random();
    let d: u16 = rng.random();
    let e: u64 = rng.random_range(0..1 << 48);
    format!(
        "{a:08x}-{b:04x}-{:04x}-{:04x}-{e:012x}",
        (c & 0x0fff) | 0x4000,
        (d & 0x3fff) | 0x8000
    )
}
