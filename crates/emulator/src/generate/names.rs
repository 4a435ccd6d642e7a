//! Word pools and awkward names for the library generator: ordinary titles,
//! live recordings and the look-alikes that are not live, and the titles that
//! break careless code (unicode, right-to-left, quotes, markup characters,
//! control characters, very long titles, empty titles).

use rand::Rng;
use rand::seq::IndexedRandom;

pub const GENRES: &[&str] = &[
    "Rock",
    "Pop",
    "Jazz",
    "Blues",
    "Classical",
    "Electronic",
    "Hip-Hop",
    "R&B",
    "Soul",
    "Funk",
    "Reggae",
    "Country",
    "Folk",
    "Metal",
    "Punk",
    "Indie Rock",
    "Alternative",
    "Ambient",
    "Techno",
    "House",
    "Disco",
    "Gospel",
    "Latin",
    "Bossa Nova",
    "K-Pop",
    "J-Pop",
    "Soundtrack",
    "World",
    "Singer/Songwriter",
    "Post-Rock",
    "Shoegaze",
    "Trip Hop",
    "Drum & Bass",
    "Grunge",
    "New Wave",
    "Synthpop",
    "Krautrock",
    "Afrobeat",
    "Flamenco",
    "Fado",
    "Chanson",
    "Musique concrète",
    "Bluegrass",
    "Ska",
    "Big Band",
    "Bebop",
    "Opera",
    "Baroque",
    "Lo-Fi",
    "Neo-Soul",
    "Électro",
    "Psychedelic",
    "Garage",
    "Dub",
];

const ADJECTIVES: &[&str] = &[
    "Blue", "Silent", "Golden", "Broken", "Electric", "Velvet", "Midnight", "Crimson", "Hollow",
    "Wild", "Paper", "Neon", "Quiet", "Burning", "Frozen", "Distant", "Little", "Lonely",
    "Restless", "Secret", "Summer", "Winter", "Northern", "Southern", "Last", "First", "Strange",
    "Sweet", "Bitter", "Endless",
];

const NOUNS: &[&str] = &[
    "Heart", "River", "Highway", "Dream", "Fire", "Rain", "Moon", "Ocean", "Garden", "Mirror",
    "Train", "Shadow", "Window", "Season", "Letter", "City", "Road", "Star", "Stone", "Wave",
    "Bird", "Light", "Door", "Horizon", "Echo", "Island", "Song", "Engine", "Storm", "Valley",
];

const FIRST_NAMES: &[&str] = &[
    "Nina", "Marcus", "Elena", "Tom", "Aisha", "Lars", "Maya", "Jonas", "Clara", "Dmitri", "Rosa",
    "Kenji", "Amara", "Felix", "Ingrid", "Omar", "Lucia", "Theo", "Hana", "Victor",
];

const LAST_NAMES: &[&str] = &[
    "Holloway",
    "Reyes",
    "Lindqvist",
    "Okafor",
    "Marchetti",
    "Novak",
    "Brennan",
    "Takahashi",
    "Duval",
    "Andersen",
    "Whitfield",
    "Kowalski",
    "Moreau",
    "Sato",
    "Fitzgerald",
    "Haddad",
];

/// Artist names that stress encodings, escaping and sorting. One entry is
/// empty: an artist without a title.
pub const AWKWARD_ARTISTS: &[&str] = &[
    "Beyoncé",
    "Sigur Rós",
    "Björk",
    "Motörhead",
    "坂本龍一",
    "宇多田ヒカル",
    "עומר אדם",
    "فيروز",
    "Simon & Garfunkel",
    "Guns N' Roses",
    "\"Weird Al\" Yankovic",
    "",
    "The Beatles",
    "!!!",
    "Sunn O)))",
    "A Tribe Called Quest",
    "Ólafur Arnalds",
    "方大同 Khalil Fong",
    "Zoë Keating",
    "Of Monsters and Men",
];

/// Track titles that stress encodings and escaping. `LONG_TITLE` and
/// control characters are handled by their own functions.
pub const AWKWARD_TRACKS: &[&str] = &[
    "Café del Mar",
    "夜に駆ける",
    "青い春",
    "Dancing 💃 in the 🌧",
    "🔥🔥🔥",
    "שיר לשלום",
    "حبيبي يا نور العين",
    "\"Heroes\"",
    "Don't Stop Me Now",
    "Rock & Roll",
    "<Intro>",
    "Me > You < Them",
    "R&B <Remix> \"Extended\"",
    "Ça plane pour moi",
    "Ünïcödé Sörrow",
    "Naïve & Sentimental",
    "It's a 'Quoted' Song",
    "Tab\tSeparated",
    "Line\nBreak",
    "Intro",
];

/// Titles carrying control characters, which strict XML parsers reject.
pub const CONTROL_TITLES: &[&str] = &[
    "Bell\u{7}Ring",
    "Start\u{1}Of Heading",
    "Escape\u{1b}Sequence",
    "Unit\u{1f}Separator",
];

/// Recordings that are live, named the ways real libraries name them.
const LIVE_SUFFIXES: &[&str] = &[
    " (Live)",
    " [Live at Wembley 1986]",
    " - Live",
    " (Live at the Fillmore)",
    " (Live in Tokyo, 1985)",
    " [Live]",
    " - Live at Red Rocks",
];

/// Albums that are live recordings.
pub const LIVE_ALBUMS: &[&str] = &[
    "Live at Leeds",
    "1977-05-08 Barton Hall",
    "MTV Unplugged in New York",
    "Live at the Apollo",
    "Live in Berlin",
    "1972-08-27 Veneta, OR",
    "Live at the Fillmore East",
];

/// Titles that contain "live" but are not live recordings.
pub const LIVE_TRAPS: &[&str] = &[
    "Live Forever",
    "Live and Let Die",
    "Alive",
    "Olive Tree",
    "Deliverance",
    "Live Wire",
    "Oliver's Army",
    "Live to Tell",
    "Stay Alive",
    "Livin' on a Prayer",
    "Lively Up Yourself",
    "Liverpool Rain",
];

/// Album titles that look live but are studio albums.
pub const LIVE_TRAP_ALBUMS: &[&str] = &[
    "Alive",
    "Live Through This",
    "Olive Grove",
    "Deliverance",
    "Live Forever",
];

/// Album titles that many artists share.
pub const COMMON_ALBUMS: &[&str] = &["Greatest Hits", "Untitled", "Demos", "The Best Of"];

/// Odd album titles: one empty (absent on the wire), one with a control
/// character, unicode, markup.
pub const AWKWARD_ALBUMS: &[&str] = &[
    "",
    "Ágætis byrjun",
    "Sounds & <Silence>",
    "Bell\u{7}Album",
    "ファンタジー",
    "\"Quoted\" Album",
    "Élan vital",
];

/// Characters in a very long title.
pub const LONG_TITLE_CHARS: usize = 2000;

pub fn pick<'a, R: Rng>(rng: &mut R, pool: &[&'a str]) -> &'a str {
    pool.choose(rng).copied().unwrap_or("Untitled")
}

/// An ordinary title of one to three words.
pub fn song_title<R: Rng>(rng: &mut R) -> String {
    match rng.random_range(0..4) {
        0 => pick(rng, NOUNS).to_string(),
        1 => format!("{} {}", pick(rng, ADJECTIVES), pick(rng, NOUNS)),
        2 => format!("The {} {}", pick(rng, ADJECTIVES), pick(rng, NOUNS)),
        _ => format!("{} of the {}", pick(rng, NOUNS), pick(rng, NOUNS)),
    }
}

/// An ordinary album title.
pub fn album_title<R: Rng>(rng: &mut R) -> String {
    match rng.random_range(0..3) {
        0 => format!("{} {}", pick(rng, ADJECTIVES), pick(rng, NOUNS)),
        1 => format!("{}s", pick(rng, NOUNS)),
        _ => format!("The {} Sessions", pick(rng, ADJECTIVES)),
    }
}

/// An ordinary artist name: a person or a band.
pub fn artist_name<R: Rng>(rng: &mut R) -> String {
    match rng.random_range(0..3) {
        0 => format!("{} {}", pick(rng, FIRST_NAMES), pick(rng, LAST_NAMES)),
        1 => format!("The {} {}s", pick(rng, ADJECTIVES), pick(rng, NOUNS)),
        _ => format!("{} & the {}s", pick(rng, FIRST_NAMES), pick(rng, NOUNS)),
    }
}

/// A title of a live recording, e.g. `Blue River (Live)`.
pub fn live_title<R: Rng>(rng: &mut R) -> String {
    format!("{}{}", song_title(rng), pick(rng, LIVE_SUFFIXES))
}

/// A title of exactly `LONG_TITLE_CHARS` characters (some of them multi-byte).
pub fn long_title(seed: usize) -> String {
    let phrase = if seed.is_multiple_of(2) {
        "A Very Long Song Title That Goes On "
    } else {
        "Très Longue Chanson ♪ "
    };
    phrase.chars().cycle().take(LONG_TITLE_CHARS).collect()
}
