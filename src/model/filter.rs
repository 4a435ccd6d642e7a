//! The filter language: [`Filter`], what the cache answers, and
//! [`FilterParams`], the one declaration of its parameters. The CLI's flags
//! (`clap::Args`), the query string ([`FilterParams::set`]), the JSON body
//! (serde) and the OpenAPI document (utoipa) all come from `FilterParams`,
//! turned into a `Filter` by one `TryFrom`. Every error names the parameter
//! at fault.
//!
//! Adding a filter: a field here (in `FilterParams`, its `set` arm, `Filter`
//! and `FilterParams::into_filter`), its test in the store's matcher, and
//! its control on the page.

use std::convert::Infallible;

use clap::builder::TypedValueParser;
use serde::{Deserialize, Deserializer};

use super::track::YEARS;
use crate::clock;

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

// The filter parameters as a caller gives them, declared once for the CLI,
// the query string, the JSON body (`POST /api/filter/preview`, playlists)
// and the OpenAPI document. JSON values are typed; flags and query
// parameters are text, parsed with an error naming the parameter.
/// A filter: every field optional, all combinable. Lists may be arrays or
/// comma-separated strings.
#[derive(
    Debug, Clone, Default, PartialEq, Deserialize, clap::Args, utoipa::ToSchema, utoipa::IntoParams,
)]
#[serde(deny_unknown_fields)]
#[schema(as = FilterBody)]
#[into_params(parameter_in = Query)]
pub struct FilterParams {
    /// Genres, any of, comma-separated, case-insensitive.
    #[serde(default)]
    #[arg(long, value_parser = StringList::text)]
    #[param(value_type = Option<String>)]
    pub genres: Option<StringList>,
    /// Decades like `1990s`, comma-separated.
    #[serde(default)]
    #[arg(long, value_parser = StringList::text)]
    #[param(value_type = Option<String>)]
    pub decades: Option<StringList>,
    /// Minimum user rating, 0–10; 0 means any rating (unrated tracks too).
    #[serde(default)]
    #[arg(long, value_parser = Given::<f64>::text)]
    #[param(value_type = Option<f64>, minimum = 0.0, maximum = 10.0)]
    #[schema(value_type = Option<f64>, minimum = 0.0, maximum = 10.0)]
    pub min_rating: Option<Given<f64>>,
    /// true: rated tracks only; false: unrated tracks only.
    #[serde(default)]
    #[arg(long, value_parser = clap::builder::BoolValueParser::new().map(Given::Value))]
    #[param(value_type = Option<bool>)]
    #[schema(value_type = Option<bool>)]
    pub rated: Option<Given<bool>>,
    /// Leave out live recordings (default true).
    #[serde(default)]
    #[arg(
        long = "include-live",
        help = "Include live recordings (excluded by default)",
        num_args = 0,
        default_missing_value = "false",
        value_parser = Given::<bool>::text
    )]
    #[param(value_type = Option<bool>)]
    #[schema(value_type = Option<bool>)]
    pub exclude_live: Option<Given<bool>>,
    /// Words matched as prefixes in title, artist or album; a word without
    /// letters or digits (`!!!`, `&`) matches as literal text.
    #[serde(default)]
    #[arg(long = "query", short = 'q', value_name = "QUERY")]
    #[param(max_length = 500)]
    #[schema(max_length = 500)]
    pub q: Option<String>,
    /// Track or album artist, exact, case-insensitive.
    #[serde(default)]
    #[arg(long)]
    #[param(max_length = 1000)]
    #[schema(max_length = 1000)]
    pub artist: Option<String>,
    /// First year (1000–2100).
    #[serde(default)]
    #[arg(long, value_parser = Given::<i64>::text)]
    #[param(value_type = Option<i64>, minimum = 1000, maximum = 2100)]
    #[schema(value_type = Option<i64>, minimum = 1000, maximum = 2100)]
    pub year_from: Option<Given<i64>>,
    /// Last year (1000–2100), at least `year_from`.
    #[serde(default)]
    #[arg(long, value_parser = Given::<i64>::text)]
    #[param(value_type = Option<i64>, minimum = 1000, maximum = 2100)]
    #[schema(value_type = Option<i64>, minimum = 1000, maximum = 2100)]
    pub year_to: Option<Given<i64>>,
    /// true: played at least once; false: never.
    #[serde(default)]
    #[arg(long, value_parser = Given::<bool>::text)]
    #[param(value_type = Option<bool>)]
    #[schema(value_type = Option<bool>)]
    pub played: Option<Given<bool>>,
    /// Added on or after this date: `YYYY-MM-DD` or RFC 3339.
    #[serde(default)]
    #[arg(long)]
    pub added_since: Option<String>,
}

/// A list as JSON gives it: an array, or one comma-separated string (as
/// flags and query parameters always do).
#[derive(Debug, Clone, PartialEq, Deserialize, utoipa::ToSchema)]
#[serde(untagged)]
pub enum StringList {
    List(Vec<String>),
    Text(String),
}

impl StringList {
    /// A flag's text (for clap).
    pub fn text(value: &str) -> Result<StringList, Infallible> {
        Ok(StringList::Text(value.to_owned()))
    }

    /// Adds query-parameter items (already split and trimmed).
    fn extend(list: &mut Option<StringList>, items: impl IntoIterator<Item = String>) {
        let mut all = match list.take() {
            Some(StringList::List(all)) => all,
            Some(StringList::Text(text)) => split_list(&text).map(str::to_owned).collect(),
            None => Vec::new(),
        };
        all.extend(items);
        *list = Some(StringList::List(all));
    }
}

/// A scalar as JSON gives it (typed, checked by serde) or as text from a
/// flag, parsed when the filter is built.
#[derive(Debug, Clone, PartialEq)]
pub enum Given<T> {
    Value(T),
    Text(String),
}

impl<T> Given<T> {
    /// A flag's text (for clap).
    pub fn text(value: &str) -> Result<Given<T>, Infallible> {
        Ok(Given::Text(value.to_owned()))
    }

    /// The value; text is trimmed and parsed, and empty text is no value.
    fn resolve(
        given: Option<Self>,
        parse: impl FnOnce(&str) -> Result<T, FilterError>,
    ) -> Result<Option<T>, FilterError> {
        match given {
            None => Ok(None),
            Some(Given::Value(value)) => Ok(Some(value)),
            Some(Given::Text(text)) => optional(text.trim(), parse),
        }
    }
}

impl<'de, T: Deserialize<'de>> Deserialize<'de> for Given<T> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        T::deserialize(deserializer).map(Given::Value)
    }
}

impl FilterParams {
    /// The parameters' names, for documentation and error messages.
    pub const NAMES: [&'static str; 11] = [
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

    /// Applies one query parameter, checking its value at once (so the
    /// first bad parameter is the one named). Lists add to earlier values;
    /// other parameters replace them, and an empty value clears them.
    /// Returns `Ok(false)` when `key` is not a filter parameter (the caller
    /// decides whether that is an error).
    pub fn set(&mut self, key: &str, value: &str) -> Result<bool, FilterError> {
        let value = value.trim();
        match key {
            "genres" | "genre" => {
                StringList::extend(&mut self.genres, split_list(value).map(str::to_owned))
            }
            "decades" | "decade" => {
                for d in split_list(value) {
                    parse_decade(d)?;
                }
                StringList::extend(&mut self.decades, split_list(value).map(str::to_owned))
            }
            "min_rating" => self.min_rating = optional(value, parse_rating)?.map(Given::Value),
            "rated" => self.rated = optional(value, |v| parse_bool("rated", v))?.map(Given::Value),
            "exclude_live" => {
                self.exclude_live = Some(Given::Value(parse_bool("exclude_live", value)?))
            }
            "q" | "text" | "search" => self.q = non_empty(value, 500, "q")?,
            "artist" => self.artist = non_empty(value, 1000, "artist")?,
            "year_from" => {
                self.year_from = optional(value, |v| parse_year("year_from", v))?.map(Given::Value)
            }
            "year_to" => {
                self.year_to = optional(value, |v| parse_year("year_to", v))?.map(Given::Value)
            }
            "played" => {
                self.played = optional(value, |v| parse_bool("played", v))?.map(Given::Value)
            }
            "added_since" => {
                self.added_since = optional(value, parse_added_since)?.map(|_| value.to_owned())
            }
            _ => return Ok(false),
        }
        Ok(true)
    }

    /// Parameters from `key=value` pairs, rejecting unknown ones.
    pub fn from_pairs<'a>(
        pairs: impl IntoIterator<Item = (&'a str, &'a str)>,
    ) -> Result<Self, FilterError> {
        let mut params = FilterParams::default();
        for (key, value) in pairs {
            if !params.set(key, value)? {
                return Err(FilterError::Unknown(key.to_owned()));
            }
        }
        Ok(params)
    }

    /// The filter, each value checked, relations between them not yet.
    fn into_filter(self) -> Result<Filter, FilterError> {
        let defaults = Filter::default();
        Ok(Filter {
            genres: match self.genres {
                Some(StringList::List(list)) => list
                    .into_iter()
                    .map(|g| g.trim().to_owned())
                    .filter(|g| !g.is_empty())
                    .collect(),
                Some(StringList::Text(text)) => split_list(&text).map(str::to_owned).collect(),
                None => Vec::new(),
            },
            decades: match self.decades {
                Some(StringList::List(list)) => list
                    .iter()
                    .map(|d| parse_decade(d.trim()))
                    .collect::<Result<_, _>>()?,
                Some(StringList::Text(text)) => split_list(&text)
                    .map(parse_decade)
                    .collect::<Result<_, _>>()?,
                None => Vec::new(),
            },
            min_rating: Given::resolve(self.min_rating, parse_rating_number)?
                .map(check_rating)
                .transpose()?
                .flatten(),
            rated: Given::resolve(self.rated, |v| parse_bool("rated", v))?,
            exclude_live: Given::resolve(self.exclude_live, |v| parse_bool("exclude_live", v))?
                .unwrap_or(defaults.exclude_live),
            text: self
                .q
                .map(|q| non_empty(&q, 500, "q"))
                .transpose()?
                .flatten(),
            artist: self
                .artist
                .map(|a| non_empty(&a, 1000, "artist"))
                .transpose()?
                .flatten(),
            year_from: Given::resolve(self.year_from, |v| parse_year_number("year_from", v))?
                .map(|y| check_year("year_from", y))
                .transpose()?,
            year_to: Given::resolve(self.year_to, |v| parse_year_number("year_to", v))?
                .map(|y| check_year("year_to", y))
                .transpose()?,
            played: Given::resolve(self.played, |v| parse_bool("played", v))?,
            added_since: self
                .added_since
                .as_deref()
                .map(parse_added_since)
                .transpose()?,
        })
    }
}

impl TryFrom<FilterParams> for Filter {
    type Error = FilterError;

    /// The filter the parameters ask for, every value and relation checked.
    fn try_from(params: FilterParams) -> Result<Self, FilterError> {
        let filter = params.into_filter()?;
        filter.validate()?;
        Ok(filter)
    }
}

impl Filter {
    /// Builds a filter from query parameters, rejecting unknown ones;
    /// relations between values are left to `validate`.
    pub fn from_pairs<'a>(
        pairs: impl IntoIterator<Item = (&'a str, &'a str)>,
    ) -> Result<Self, FilterError> {
        FilterParams::from_pairs(pairs)?.into_filter()
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

    /// The text filter's words, all required, each matched as a prefix:
    /// lower-cased, without repeats or words another word starts with
    /// (`the` adds nothing to `them`). Empty when the text has no letters
    /// or digits.
    pub fn search_words(&self) -> Vec<String> {
        let Some(text) = self.text.as_deref() else {
            return Vec::new();
        };
        let lowered = text.to_lowercase();
        let words: Vec<String> = lowered
            .split(|c: char| !is_word_char(c))
            .filter(|w| !w.is_empty())
            .take(16)
            .map(str::to_owned)
            .collect();
        let mut kept: Vec<String> = Vec::new();
        for (i, word) in words.iter().enumerate() {
            let covered = words
                .iter()
                .enumerate()
                .any(|(j, other)| other.starts_with(word.as_str()) && (other != word || j < i));
            if !covered {
                kept.push(word.clone());
            }
        }
        kept
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
            .filter(|w| !w.chars().any(is_word_char))
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
    if year % 10 != 0 || !YEARS.contains(&year) {
        return Err(FilterError::invalid(
            "decades",
            format!("{value:?} is not a decade like 1990s"),
        ));
    }
    Ok(year)
}

fn parse_rating_number(value: &str) -> Result<f64, FilterError> {
    value
        .parse()
        .map_err(|_| FilterError::invalid("min_rating", format!("{value:?} is not a number")))
}

fn parse_rating(value: &str) -> Result<f64, FilterError> {
    let rating = parse_rating_number(value)?;
    check_rating(rating)?;
    Ok(rating)
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

fn parse_year_number(param: &str, value: &str) -> Result<i64, FilterError> {
    value
        .parse()
        .map_err(|_| FilterError::invalid(param, format!("{value:?} is not a year")))
}

fn parse_year(param: &str, value: &str) -> Result<i64, FilterError> {
    check_year(param, parse_year_number(param, value)?)
}

fn check_year(param: &str, year: i64) -> Result<i64, FilterError> {
    if YEARS.contains(&year) {
        Ok(year)
    } else {
        Err(FilterError::invalid(
            param,
            format!(
                "{year} is not between {} and {}",
                YEARS.start(),
                YEARS.end()
            ),
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

/// The `added_since` value: `YYYY-MM-DD` (midnight UTC) or an RFC 3339
/// time, to Unix time.
pub fn parse_added_since(value: &str) -> Result<i64, FilterError> {
    clock::parse_time(value).ok_or_else(|| {
        FilterError::invalid(
            "added_since",
            format!("{:?} is not a date like 2024-01-31", value.trim()),
        )
    })
}

/// Whether the full-text index keeps `c` inside a word. SQLite's
/// `unicode61` tokenizer keeps letters, numbers, private-use characters and
/// non-spacing marks (which it folds away) and splits at everything else,
/// spacing marks included: a search word must split at exactly the same
/// places, or one word would become an FTS5 phrase, which an index without
/// positions cannot answer.
pub fn is_word_char(c: char) -> bool {
    use unicode_properties::{
        GeneralCategory as C, GeneralCategoryGroup as G, UnicodeGeneralCategory,
    };
    matches!(c.general_category_group(), G::Letter | G::Number)
        || matches!(c.general_category(), C::PrivateUse | C::NonspacingMark)
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
        assert_eq!(f.search_words(), ["beyonce", "halo"]);
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
        let body: FilterParams = serde_json::from_str(r#"{"min_rating":0}"#).unwrap();
        assert_eq!(Filter::try_from(body).unwrap(), Filter::default());
        let f = Filter::from_pairs([("rated", "true"), ("min_rating", "0")]).unwrap();
        assert_eq!((f.rated, f.min_rating), (Some(true), None));
        let body: FilterParams = serde_json::from_str(r#"{"rated":false}"#).unwrap();
        assert_eq!(Filter::try_from(body).unwrap().rated, Some(false));
        assert!(Filter::from_pairs([("rated", "maybe")]).is_err());
    }

    #[test]
    fn search_words_drop_repeats_and_covered_prefixes() {
        let words = |q: &str| Filter::from_pairs([("q", q)]).unwrap().search_words();
        assert_eq!(words("The The"), ["the"]);
        assert_eq!(words("the them Beatles"), ["them", "beatles"]);
        assert_eq!(words("Björk BJÖ"), ["björk"]);
        assert_eq!(words("a b"), ["a", "b"]);
        assert_eq!(words("!!!"), Vec::<String>::new());
    }

    #[test]
    fn json_body_accepts_lists_or_text() {
        let body: FilterParams = serde_json::from_str(
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
        assert!(serde_json::from_str::<FilterParams>(r#"{"genre":["Rock"]}"#).is_err());
        let body: FilterParams = serde_json::from_str(r#"{"min_rating":-1}"#).unwrap();
        assert!(Filter::try_from(body).is_err());
    }

    #[derive(clap::Parser)]
    struct Flags {
        #[command(flatten)]
        filter: FilterParams,
    }

    fn from_flags(args: &[&str]) -> Result<Filter, String> {
        use clap::Parser;
        let flags =
            Flags::try_parse_from([&["tracks"], args].concat()).map_err(|e| e.to_string())?;
        Filter::try_from(flags.filter).map_err(|e| e.to_string())
    }

    #[test]
    fn flags_query_and_json_give_the_same_filter() {
        let flags = from_flags(&[
            "--genres",
            "Rock, Jazz",
            "--decades",
            "1990s",
            "--min-rating",
            "6.5",
            "--rated",
            "true",
            "--include-live",
            "-q",
            "halo",
            "--artist",
            "Björk",
            "--year-from",
            "1990",
            "--year-to",
            "2005",
            "--played",
            "yes",
            "--added-since",
            "2024-01-31",
        ])
        .unwrap();
        let query = Filter::from_pairs([
            ("genre", "Rock"),
            ("genres", "Jazz"),
            ("decade", "1990s"),
            ("min_rating", "6.5"),
            ("rated", "on"),
            ("exclude_live", "false"),
            ("search", "halo"),
            ("artist", "Björk"),
            ("year_from", "1990"),
            ("year_to", "2005"),
            ("played", "1"),
            ("added_since", "2024-01-31"),
        ])
        .unwrap();
        let body: FilterParams = serde_json::from_str(
            r#"{"genres":["Rock"," Jazz "],"decades":"1990s","min_rating":6.5,"rated":true,
                "exclude_live":false,"q":"halo","artist":"Björk","year_from":1990,
                "year_to":2005,"played":true,"added_since":"2024-01-31"}"#,
        )
        .unwrap();
        let json = Filter::try_from(body).unwrap();
        assert_eq!(flags, query);
        assert_eq!(flags, json);
        assert_eq!(flags.added_since, Some(1_706_659_200));
        assert!(!flags.exclude_live);
        assert_eq!(from_flags(&[]).unwrap(), Filter::default());
    }

    #[test]
    fn flags_name_the_parameter_at_fault() {
        for (args, param) in [
            (&["--decades", "1995s"][..], "decades"),
            (&["--min-rating", "11"][..], "min_rating"),
            (&["--year-from", "999"][..], "year_from"),
            (
                &["--year-from", "2000", "--year-to", "1990"][..],
                "year_from",
            ),
            (&["--played", "maybe"][..], "played"),
            (&["--added-since", "yesterday"][..], "added_since"),
        ] {
            let err = from_flags(args).unwrap_err();
            assert!(err.contains(&format!("invalid {param}")), "{args:?}: {err}");
        }
        assert!(from_flags(&["--rated", "maybe"]).is_err());
        assert!(from_flags(&["--include-live=false"]).is_err());
    }

    #[test]
    fn the_names_are_the_documented_query_parameters() {
        use utoipa::IntoParams;
        let documented: Vec<String> = FilterParams::into_params(|| None)
            .into_iter()
            .map(|p| p.name)
            .collect();
        assert_eq!(documented, FilterParams::NAMES);
        for name in FilterParams::NAMES {
            let mut params = FilterParams::default();
            assert_ne!(params.set(name, ""), Ok(false), "{name} is not a parameter");
        }
    }
}
