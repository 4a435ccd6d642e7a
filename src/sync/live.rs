//! Live-recording detection, computed once per track at sync time.
//!
//! The naive rule ("the title contains *live*") flags `Live Forever`,
//! `Alive` and `Olive Tree`. Ours looks for the ways releases actually mark
//! live recordings, in the track title or the album title:
//! - a bracketed qualifier with the word *live*: `Song (Live)`, `[Live at Wembley]`;
//! - a dash suffix: `Song - Live`, `Song - Live at the BBC`;
//! - a title that starts with `Live at/in/from`: `Live at Leeds`;
//! - a concert date at the start: `1977-05-08 Barton Hall`, `05/08/77 …`;
//! - the words *unplugged* or *in concert*, or an album called just `Live`.
//!
//! Song titles that merely begin with *Live* (`Live and Let Die`,
//! `Live Forever`) or contain it inside a word are not live.

use std::sync::LazyLock;

use regex::Regex;

static LIVE_PATTERNS: LazyLock<Vec<Regex>> = LazyLock::new(|| {
    [
        r"(?i)[(\[][^)\]]*\blive\b[^)\]]*[)\]]",
        r"(?i)\s[-–—]\s*live\b",
        r"(?i)^\s*live\s+(at|in|from)\b",
        r"^\s*\d{4}-\d{2}-\d{2}\b",
        r"^\s*\d{1,2}/\d{1,2}/\d{2,4}\b",
        r"(?i)\bunplugged\b",
        r"(?i)\bin\s+concert\b",
    ]
    .iter()
    .filter_map(|p| Regex::new(p).ok())
    .collect()
});

/// True when the track or its album is marked as a live recording.
pub fn is_live(title: &str, album: &str) -> bool {
    title_says_live(title) || title_says_live(album) || album.trim().eq_ignore_ascii_case("live")
}

fn title_says_live(text: &str) -> bool {
    LIVE_PATTERNS.iter().any(|p| p.is_match(text))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_rule_beats_the_naive_keyword_match() {
        // (track title, album title, expected)
        let table: &[(&str, &str, bool)] = &[
            ("Song (Live)", "Studio Album", true),
            ("Song [Live at Wembley]", "Hits", true),
            ("My Generation", "Live at Leeds", true),
            ("Live at Leeds", "", true),
            ("Scarlet Begonias", "1977-05-08 Barton Hall", true),
            ("About a Girl", "MTV Unplugged in New York", true),
            ("Song - Live", "Singles", true),
            ("Song – Live at the BBC", "Singles", true),
            ("Song (Live Version)", "Deluxe", true),
            ("Intro", "Live", true),
            ("Roxanne", "Live in Paris", true),
            ("Set 1", "05/08/77 Ithaca", true),
            (
                "Simon & Garfunkel",
                "The Concert in Central Park (In Concert)",
                true,
            ),
            ("Live Forever", "Definitely Maybe", false),
            ("Live and Let Die", "Wings Greatest", false),
            ("Alive", "Ten", false),
            ("Olive Tree", "Garden Songs", false),
            ("Concerto No. 1", "Piano Concertos", false),
            ("Deliverance", "Deliverance", false),
            ("Live Wire", "Too Fast for Love", false),
            ("I Want to Live", "Album", false),
            ("Delivery (Deluxe)", "Alive in Spirit", false),
            ("", "", false),
        ];
        for &(title, album, expected) in table {
            assert_eq!(is_live(title, album), expected, "{title:?} on {album:?}");
        }
    }
}
