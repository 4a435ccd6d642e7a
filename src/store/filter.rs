//! Filters and sort orders over the cached library, parsed from text
//! (query parameters, CLI flags, JSON bodies) with an error naming the bad
//! value. Sort orders become SQL (fixed text, no user input); the text
//! search becomes an FTS5 query of quoted words, plus literal terms for the
//! words that have no letters or digits (`!!!`, `&`).

use serde::Deserialize;

/// Largest page a caller may ask for.
pub const MAX_LIMIT: u64 = 1000;
/// Largest random sample.
pub const MAX_SAMPLE: u64 = 5000;

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum FilterError {
    #[error("invalid {param}: {message}")]
    Invalid { param: String, message: String },
    #[error("unknown parameter {0:?}")]
    Unknown(String),
    #[error("unknown genre {0:?}")]
    UnknownGenre(String),
}

impl FilterError {
    fn invalid(param: &str, message: impl Into<String>) -> Self {
        FilterError::Invalid {
            param: param.to_owned(),
            message: message.into(),
        }
    }
}

/// Every filter the cache answers; all combinable. The default excludes
/// live recordings, like the page does.
#[derive(Debug, Clone, PartialEq)]
pub struct Filter {
    /// Any of these (case-insensitive).
    pub genres: Vec<String>,
    /// First years of decades: 1990 for `1990s`.
    pub decades: Vec<i64>,
    /// Above 0; a minimum of 0 means any rating (unrated tracks too), as in
    /// the seed, and is stored as `None`.
    pub min_rating: Option<f64>,
    /// `true`: rated tracks only; `false`: unrated tracks only.
    pub rated: Option<bool>,
    pub exclude_live: bool,
    /// Words matched as prefixes against title, artist and album; words
    /// without letters or digits match as literal text.
    pub text: Option<String>,
    pub artist: Option<String>,
    pub year_from: Option<i64>,
    pub year_to: Option<i64>,
    pub played: Option<bool>,
    /// Unix time.
    pub added_since: Option<i64>,
}

impl Default for Filter {
    fn default() -> Self {
        Filter {
            genres: Vec::new(),
            decades: Vec::new(),
            min_rating: None,
            rated: None,
            exclude_live: true,
            text: None,
            artist: None,
            year_from: None,
            year_to: None,
            played: None,
            added_since: None,
        }
    }
}

/// Names of the filter parameters, for documentation and error messages.
pub const FILTER_PARAMS: &[&str] = &[
    "genres",
    "decades",
    "min_rating",
    "rated",
    "exclude_live",
    "q",
    "artist",
    "year_from",
    "year_to",
    "played",
    "added_since",
];

impl Filter {
    /// Applies one `key=value` parameter. Returns `Ok(false)` when `key` is
    /// not a filter parameter (the caller decides whether that is an error).
    pub fn set(&mut self, key: &str, value: &str) -> Result<bool, FilterError> {
        let value = value.trim();
        match key {
            "genres" | "genre" => self.genres.extend(split_list(value).map(str::to_owned)),
            "decades" | "decade" => {
                for d in split_list(value) {
                    self.decades.push(parse_decade(d)?);
                }
            }
            "min_rating" => self.min_rating = optional(value, parse_rating)?.flatten(),
            "rated" => self.rated = optional(value, |v| parse_bool("rated", v))?,
            "exclude_live" => self.exclude_live = parse_bool("exclude_live", value)?,
            "q" | "text" | "search" => self.text = non_empty(value, 500, "q")?,
            "artist" => self.artist = non_empty(value, 1000, "artist")?,
            "year_from" => self.year_from = optional(value, |v| parse_year("year_from", v))?,
            "year_to" => self.year_to = optional(value, |v| parse_year("year_to", v))?,
            "played" => self.played = optional(value, |v| parse_bool("played", v))?,
            "added_since" => self.added_since = optional(value, parse_time)?,
            _ => return Ok(false),
        }
        Ok(true)
    }

    /// Builds a filter from parameters, rejecting unknown ones.
    pub fn from_pairs<'a>(
        pairs: impl IntoIterator<Item = (&'a str, &'a str)>,
    ) -> Result<Self, FilterError> {
        let mut filter = Filter::default();
        for (key, value) in pairs {
            if !filter.set(key, value)? {
                return Err(FilterError::Unknown(key.to_owned()));
            }
        }
        Ok(filter)
    }

    /// Checks relations between fields once all are set.
    pub fn validate(&self) -> Result<(), FilterError> {
        if let (Some(from), Some(to)) = (self.year_from, self.year_to)
            && from > to
        {
            return Err(FilterError::invalid(
                "year_from",
                format!("{from} is after year_to {to}"),
            ));
        }
        for (param, count) in [
            ("genres", self.genres.len()),
            ("decades", self.decades.len()),
        ] {
            if count > 200 {
                return Err(FilterError::invalid(param, "too many values (at most 200)"));
            }
        }
        Ok(())
    }

    /// The text filter as FTS5 terms, all required: each word a quoted
    /// prefix, lower-cased (the index ignores case), without repeats or
    /// words another word starts with (`the` adds nothing to `them`). Empty
    /// when the text has no letters or digits.
    pub fn search_terms(&self) -> Vec<String> {
        let Some(text) = self.text.as_deref() else {
            return Vec::new();
        };
        let words: Vec<String> = text
            .split(|c: char| !c.is_alphanumeric())
            .filter(|w| !w.is_empty())
            .take(16)
            .map(str::to_lowercase)
            .collect();
        let mut kept: Vec<&String> = Vec::new();
        for (i, word) in words.iter().enumerate() {
            let covered = words
                .iter()
                .enumerate()
                .any(|(j, other)| other.starts_with(word.as_str()) && (other != word || j < i));
            if !covered {
                kept.push(word);
            }
        }
        kept.into_iter().map(|w| format!("\"{w}\"*")).collect()
    }

    /// The text filter's words that have no letters or digits (`!!!`,
    /// `&`): the full-text index drops them, so they are matched as literal
    /// text instead. Lower-cased, control characters removed, without
    /// repeats or terms another term contains (`!` adds nothing to `!!!`).
    pub fn literal_terms(&self) -> Vec<String> {
        let Some(text) = self.text.as_deref() else {
            return Vec::new();
        };
        let terms: Vec<String> = text
            .split_whitespace()
            .filter(|w| !w.chars().any(char::is_alphanumeric))
            .map(|w| w.chars().filter(|c| !c.is_control()).collect::<String>())
            .filter(|w| !w.is_empty())
            .take(16)
            .map(|w| w.to_lowercase())
            .collect();
        let mut kept: Vec<String> = Vec::new();
        for (i, term) in terms.iter().enumerate() {
            let covered = terms
                .iter()
                .enumerate()
                .any(|(j, other)| other.contains(term.as_str()) && (other != term || j < i));
            if !covered {
                kept.push(term.clone());
            }
        }
        kept
    }

    /// The whole FTS5 query for the text filter, `None` without terms.
    pub fn fts_query(&self) -> Option<String> {
        let terms = self.search_terms();
        (!terms.is_empty()).then(|| terms.join(" "))
    }
}

/// A filter as a JSON object (`POST /api/filter/preview`, playlists): lists
/// may be arrays or comma-separated strings.
#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct FilterBody {
    #[serde(default)]
    pub genres: Option<StringList>,
    #[serde(default)]
    pub decades: Option<StringList>,
    /// Minimum user rating, 0–10; 0 means any rating (unrated tracks too).
    #[serde(default)]
    #[schema(minimum = 0.0, maximum = 10.0)]
    pub min_rating: Option<f64>,
    /// true: rated tracks only; false: unrated tracks only.
    #[serde(default)]
    pub rated: Option<bool>,
    #[serde(default)]
    pub exclude_live: Option<bool>,
    #[serde(default)]
    #[schema(max_length = 500)]
    pub q: Option<String>,
    #[serde(default)]
    #[schema(max_length = 1000)]
    pub artist: Option<String>,
    #[serde(default)]
    #[schema(minimum = 1000, maximum = 2100)]
    pub year_from: Option<i64>,
    #[serde(default)]
    #[schema(minimum = 1000, maximum = 2100)]
    pub year_to: Option<i64>,
    #[serde(default)]
    pub played: Option<bool>,
    #[serde(default)]
    pub added_since: Option<String>,
}

#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(untagged)]
pub enum StringList {
    List(Vec<String>),
    Text(String),
}

impl TryFrom<FilterBody> for Filter {
    type Error = FilterError;

    fn try_from(body: FilterBody) -> Result<Self, FilterError> {
        let mut f = Filter::default();
        match body.genres {
            Some(StringList::List(list)) => {
                f.genres = list
                    .into_iter()
                    .map(|g| g.trim().to_owned())
                    .filter(|g| !g.is_empty())
                    .collect()
            }
            Some(StringList::Text(text)) => {
                f.set("genres", &text)?;
            }
            None => {}
        }
        match body.decades {
            Some(StringList::List(list)) => {
                for d in list {
                    f.decades.push(parse_decade(d.trim())?);
                }
            }
            Some(StringList::Text(text)) => {
                f.set("decades", &text)?;
            }
            None => {}
        }
        f.min_rating = body.min_rating.map(check_rating).transpose()?.flatten();
        f.rated = body.rated;
        if let Some(live) = body.exclude_live {
            f.exclude_live = live;
        }
        f.text = match body.q {
            Some(q) => non_empty(&q, 500, "q")?,
            None => None,
        };
        f.artist = match body.artist {
            Some(a) => non_empty(&a, 1000, "artist")?,
            None => None,
        };
        f.year_from = body
            .year_from
            .map(|y| check_year("year_from", y))
            .transpose()?;
        f.year_to = body.year_to.map(|y| check_year("year_to", y)).transpose()?;
        f.played = body.played;
        f.added_since = body.added_since.as_deref().map(parse_time).transpose()?;
        f.validate()?;
        Ok(f)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SortField {
    #[default]
    Artist,
    Title,
    Album,
    Year,
    Rating,
    Duration,
    Added,
    Plays,
    LastPlayed,
}

impl SortField {
    /// Every field, in declaration order (`field as usize` indexes it).
    pub const ALL: [SortField; 9] = [
        SortField::Artist,
        SortField::Title,
        SortField::Album,
        SortField::Year,
        SortField::Rating,
        SortField::Duration,
        SortField::Added,
        SortField::Plays,
        SortField::LastPlayed,
    ];

    /// The name `Sort::parse` takes for this field.
    pub fn name(self) -> &'static str {
        match self {
            SortField::Artist => "artist",
            SortField::Title => "title",
            SortField::Album => "album",
            SortField::Year => "year",
            SortField::Rating => "rating",
            SortField::Duration => "duration",
            SortField::Added => "added",
            SortField::Plays => "plays",
            SortField::LastPlayed => "last_played",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Sort {
    pub field: SortField,
    pub descending: bool,
}

impl Sort {
    pub fn parse(field: Option<&str>, order: Option<&str>) -> Result<Self, FilterError> {
        let field = match field.map(str::trim).unwrap_or("artist") {
            "artist" => SortField::Artist,
            "title" => SortField::Title,
            "album" => SortField::Album,
            "year" => SortField::Year,
            "rating" => SortField::Rating,
            "duration" => SortField::Duration,
            "added" => SortField::Added,
            "plays" => SortField::Plays,
            "last_played" => SortField::LastPlayed,
            other => {
                return Err(FilterError::invalid(
                    "sort",
                    format!(
                        "{other:?} is not one of title, artist, album, year, rating, duration, added, plays, last_played"
                    ),
                ));
            }
        };
        let descending = match order.map(str::trim).unwrap_or("asc") {
            "asc" => false,
            "desc" => true,
            other => {
                return Err(FilterError::invalid(
                    "order",
                    format!("{other:?} is not asc or desc"),
                ));
            }
        };
        Ok(Sort { field, descending })
    }

    /// ORDER BY clause; ties broken so pages never overlap. Tracks missing
    /// the field (see `SortField::missing_sql`) come last in both
    /// directions.
    pub fn order_by(&self) -> String {
        let dir = if self.descending { "DESC" } else { "ASC" };
        let keys = match self.field {
            SortField::Artist => format!(
                "t.artist COLLATE NOCASE {dir}, t.album COLLATE NOCASE {dir}, t.disc {dir}, t.track {dir}"
            ),
            SortField::Title => format!("t.title COLLATE NOCASE {dir}"),
            SortField::Album => {
                format!("t.album COLLATE NOCASE {dir}, t.disc {dir}, t.track {dir}")
            }
            SortField::Plays => format!("t.play_count {dir}"),
            SortField::Year
            | SortField::Rating
            | SortField::Duration
            | SortField::Added
            | SortField::LastPlayed => {
                format!("{} {dir} NULLS LAST", self.field.nullable_sql())
            }
        };
        format!("{keys}, t.id {dir}")
    }
}

/// The first and last Unix times an RFC 3339 text can show (years
/// 0000–9999); a stored time outside them is shown as null, so it is
/// treated as missing everywhere.
pub const SHOWN_TIMES: std::ops::RangeInclusive<i64> = -62_167_219_200..=253_402_300_799;

impl SortField {
    /// The sorted value as SQL over `tracks t`, NULL when the track lacks
    /// it: a missing year, rating, duration or date, or a date outside
    /// `SHOWN_TIMES`. Text fields are never missing (the sync stores
    /// "Unknown Artist" and the like), nor is the play count (0 is a
    /// count): for them this is the constant 1, never NULL.
    fn nullable_sql(self) -> String {
        let (first, last) = (SHOWN_TIMES.start(), SHOWN_TIMES.end());
        let time = |column: &str| {
            format!("(CASE WHEN {column} BETWEEN {first} AND {last} THEN {column} END)")
        };
        match self {
            SortField::Year => "t.year".to_owned(),
            SortField::Rating => "t.rating".to_owned(),
            SortField::Duration => "t.duration_ms".to_owned(),
            SortField::Added => time("t.added_at"),
            SortField::LastPlayed => time("t.last_played_at"),
            SortField::Artist | SortField::Title | SortField::Album | SortField::Plays => {
                "1".to_owned()
            }
        }
    }

    /// SQL over `tracks t` that is 1 when the track lacks this field.
    pub fn missing_sql(self) -> String {
        format!("({} IS NULL)", self.nullable_sql())
    }
}

/// Parses `offset` and `limit` with their bounds.
pub fn parse_count(param: &str, value: &str, max: u64) -> Result<u64, FilterError> {
    let n: u64 = value
        .trim()
        .parse()
        .map_err(|_| FilterError::invalid(param, format!("{value:?} is not a whole number ≥ 0")))?;
    if n > max {
        return Err(FilterError::invalid(
            param,
            format!("{n} is above the maximum {max}"),
        ));
    }
    Ok(n)
}

fn split_list(value: &str) -> impl Iterator<Item = &str> {
    value.split(',').map(str::trim).filter(|v| !v.is_empty())
}

fn optional<T>(
    value: &str,
    parse: impl FnOnce(&str) -> Result<T, FilterError>,
) -> Result<Option<T>, FilterError> {
    if value.is_empty() {
        Ok(None)
    } else {
        parse(value).map(Some)
    }
}

fn non_empty(value: &str, max_chars: usize, param: &str) -> Result<Option<String>, FilterError> {
    let value = value.trim();
    if value.chars().count() > max_chars {
        return Err(FilterError::invalid(
            param,
            format!("longer than {max_chars} characters"),
        ));
    }
    Ok((!value.is_empty()).then(|| value.to_owned()))
}

fn parse_decade(value: &str) -> Result<i64, FilterError> {
    let digits = value.strip_suffix('s').unwrap_or(value);
    let year: i64 = digits.parse().map_err(|_| {
        FilterError::invalid("decades", format!("{value:?} is not a decade like 1990s"))
    })?;
    if year % 10 != 0 || !(1000..=2100).contains(&year) {
        return Err(FilterError::invalid(
            "decades",
            format!("{value:?} is not a decade like 1990s"),
        ));
    }
    Ok(year)
}

fn parse_rating(value: &str) -> Result<Option<f64>, FilterError> {
    let rating: f64 = value
        .parse()
        .map_err(|_| FilterError::invalid("min_rating", format!("{value:?} is not a number")))?;
    check_rating(rating)
}

/// A valid minimum rating; 0 (any rating) is no filter.
fn check_rating(rating: f64) -> Result<Option<f64>, FilterError> {
    if rating.is_finite() && (0.0..=10.0).contains(&rating) {
        Ok((rating > 0.0).then_some(rating))
    } else {
        Err(FilterError::invalid(
            "min_rating",
            format!("{rating} is not between 0 and 10"),
        ))
    }
}

fn parse_year(param: &str, value: &str) -> Result<i64, FilterError> {
    let year: i64 = value
        .parse()
        .map_err(|_| FilterError::invalid(param, format!("{value:?} is not a year")))?;
    check_year(param, year)
}

fn check_year(param: &str, year: i64) -> Result<i64, FilterError> {
    if (1000..=2100).contains(&year) {
        Ok(year)
    } else {
        Err(FilterError::invalid(
            param,
            format!("{year} is not between 1000 and 2100"),
        ))
    }
}

fn parse_bool(param: &str, value: &str) -> Result<bool, FilterError> {
    match value.to_ascii_lowercase().as_str() {
        "true" | "1" | "yes" | "on" => Ok(true),
        "false" | "0" | "no" | "off" => Ok(false),
        _ => Err(FilterError::invalid(
            param,
            format!("{value:?} is not true or false"),
        )),
    }
}

/// `YYYY-MM-DD` (midnight UTC) or an RFC 3339 time, to Unix time.
pub fn parse_time(value: &str) -> Result<i64, FilterError> {
    use time::format_description::well_known::Rfc3339;
    let value = value.trim();
    if let Ok(t) = time::OffsetDateTime::parse(value, &Rfc3339) {
        return Ok(t.unix_timestamp());
    }
    let format = time::macros::format_description!("[year]-[month]-[day]");
    time::Date::parse(value, &format)
        .map(|d| d.midnight().assume_utc().unix_timestamp())
        .map_err(|_| {
            FilterError::invalid(
                "added_since",
                format!("{value:?} is not a date like 2024-01-31"),
            )
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_every_parameter() {
        let f = Filter::from_pairs([
            ("genres", "Rock, Jazz"),
            ("decades", "1990s,2000s"),
            ("min_rating", "6.5"),
            ("exclude_live", "false"),
            ("q", "beyonce halo"),
            ("artist", "Björk"),
            ("year_from", "1990"),
            ("year_to", "2005"),
            ("played", "true"),
            ("added_since", "2024-01-31"),
        ])
        .unwrap();
        assert_eq!(f.genres, ["Rock", "Jazz"]);
        assert_eq!(f.decades, [1990, 2000]);
        assert_eq!(f.min_rating, Some(6.5));
        assert!(!f.exclude_live);
        assert_eq!(f.artist.as_deref(), Some("Björk"));
        assert_eq!(f.played, Some(true));
        assert_eq!(f.added_since, Some(1_706_659_200));
        assert_eq!(f.fts_query().as_deref(), Some("\"beyonce\"* \"halo\"*"));
    }

    #[test]
    fn rejects_bad_values_naming_the_parameter() {
        for (key, value) in [
            ("decades", "199"),
            ("decades", "1995s"),
            ("min_rating", "11"),
            ("min_rating", "NaN"),
            ("year_from", "99999"),
            ("played", "maybe"),
            ("rated", "2"),
            ("added_since", "yesterday"),
            ("exclude_live", "2"),
        ] {
            let err = Filter::from_pairs([(key, value)]).unwrap_err();
            assert!(err.to_string().contains(key), "{key}={value}: {err}");
        }
        assert_eq!(
            Filter::from_pairs([("colour", "red")]).unwrap_err(),
            FilterError::Unknown("colour".into())
        );
        let swapped = Filter::from_pairs([("year_from", "2000"), ("year_to", "1990")]).unwrap();
        assert!(swapped.validate().is_err());
    }

    #[test]
    fn search_text_cannot_inject_fts_syntax() {
        let f =
            Filter::from_pairs([("q", "\"a\" OR b* NEAR(c) '; DROP TABLE tracks; --")]).unwrap();
        assert_eq!(
            f.fts_query().as_deref(),
            Some("\"a\"* \"or\"* \"b\"* \"near\"* \"c\"* \"drop\"* \"table\"* \"tracks\"*")
        );
        let f = Filter::from_pairs([("q", "!!!")]).unwrap();
        assert_eq!(f.fts_query(), None);
    }

    #[test]
    fn words_without_letters_or_digits_are_literal_terms() {
        let literal = |q: &str| Filter::from_pairs([("q", q)]).unwrap().literal_terms();
        assert_eq!(literal("!!!"), ["!!!"]);
        assert_eq!(literal("simon & garfunkel"), ["&"]);
        assert_eq!(literal("! !!! !! &"), ["!!!", "&"]);
        assert_eq!(literal("% _ \\"), ["%", "_", "\\"]);
        assert_eq!(literal("P!nk AC/DC"), Vec::<String>::new());
        assert_eq!(literal("!\u{0}! \u{7}"), ["!!"]);
        assert!(Filter::from_pairs([("q", "   ")]).unwrap().text.is_none());
    }

    #[test]
    fn a_minimum_rating_of_zero_is_no_rating_filter() {
        for zero in ["0", "0.0", "-0", " 0 "] {
            let f = Filter::from_pairs([("min_rating", zero)]).unwrap();
            assert_eq!(f, Filter::default(), "min_rating={zero:?}");
        }
        let body: FilterBody = serde_json::from_str(r#"{"min_rating":0}"#).unwrap();
        assert_eq!(Filter::try_from(body).unwrap(), Filter::default());
        let f = Filter::from_pairs([("rated", "true"), ("min_rating", "0")]).unwrap();
        assert_eq!((f.rated, f.min_rating), (Some(true), None));
        let body: FilterBody = serde_json::from_str(r#"{"rated":false}"#).unwrap();
        assert_eq!(Filter::try_from(body).unwrap().rated, Some(false));
        assert!(Filter::from_pairs([("rated", "maybe")]).is_err());
    }

    #[test]
    fn search_terms_drop_repeats_and_covered_prefixes() {
        let terms = |q: &str| Filter::from_pairs([("q", q)]).unwrap().search_terms();
        assert_eq!(terms("The The"), ["\"the\"*"]);
        assert_eq!(terms("the them Beatles"), ["\"them\"*", "\"beatles\"*"]);
        assert_eq!(terms("Björk BJÖ"), ["\"björk\"*"]);
        assert_eq!(terms("a b"), ["\"a\"*", "\"b\"*"]);
    }

    #[test]
    fn sort_parses_and_rejects() {
        assert_eq!(
            Sort::parse(Some("year"), Some("desc")).unwrap(),
            Sort {
                field: SortField::Year,
                descending: true
            }
        );
        assert!(Sort::parse(Some("id; DROP"), None).is_err());
        for (i, field) in SortField::ALL.into_iter().enumerate() {
            assert_eq!(field as usize, i);
            assert_eq!(Sort::parse(Some(field.name()), None).unwrap().field, field);
        }
        assert!(Sort::parse(None, Some("up")).is_err());
    }

    #[test]
    fn json_body_accepts_lists_or_text() {
        let body: FilterBody = serde_json::from_str(
            r#"{"genres":["Rock"],"decades":"1990s","min_rating":6,"exclude_live":false}"#,
        )
        .unwrap();
        let f = Filter::try_from(body).unwrap();
        assert_eq!(
            (
                f.genres.len(),
                f.decades.clone(),
                f.min_rating,
                f.exclude_live
            ),
            (1, vec![1990], Some(6.0), false)
        );
        assert!(serde_json::from_str::<FilterBody>(r#"{"genre":["Rock"]}"#).is_err());
        let body: FilterBody = serde_json::from_str(r#"{"min_rating":-1}"#).unwrap();
        assert!(Filter::try_from(body).is_err());
    }
}
