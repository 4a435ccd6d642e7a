//! Turning library items into Plex answers. Each item is described once,
//! field by field, to a [`Writer`]; the JSON and XML writers turn that into
//! bytes, so both formats always carry the same data.

mod items;
mod json;
mod xml;

pub(crate) use items::{
    ItemView, write_album, write_artist, write_item, write_playlist, write_section, write_track,
};
pub(crate) use json::JsonWriter;
pub(crate) use xml::XmlWriter;

/// The two answer formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Format {
    Json,
    Xml,
}

impl Format {
    /// JSON when the `Accept` header asks for it, XML otherwise.
    pub fn from_accept(accept: Option<&str>) -> Format {
        match accept {
            Some(value) if value.contains("application/json") => Format::Json,
            _ => Format::Xml,
        }
    }

    pub fn content_type(self) -> &'static str {
        match self {
            Format::Json => "application/json",
            Format::Xml => "text/xml;charset=utf-8",
        }
    }

    /// A writer for a document of about `items` items.
    pub fn writer(self, items: usize) -> Box<dyn Writer> {
        let capacity = 512 + items.saturating_mul(1_400);
        match self {
            Format::Json => Box::new(JsonWriter::with_capacity(capacity)),
            Format::Xml => Box::new(XmlWriter::with_capacity(capacity)),
        }
    }
}

/// Part of a text value: text or a number in decimal.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Piece<'a> {
    Text(&'a str),
    Number(i64),
}

impl From<&'static str> for Piece<'static> {
    fn from(text: &'static str) -> Self {
        Piece::Text(text)
    }
}

/// A number piece of a text value.
pub(crate) fn num(value: impl TryInto<i64>) -> Piece<'static> {
    Piece::Number(value.try_into().unwrap_or(i64::MAX))
}

/// Receives a document as nested elements with typed attributes.
///
/// In XML an element is a tag with attributes and child elements; in JSON
/// it is an object whose child elements are grouped into arrays named by
/// [`Writer::list`]. Every attribute is a string in XML.
pub(crate) trait Writer {
    /// Starts an element (`<Track` / `{`).
    fn open(&mut self, tag: &'static str);
    /// Ends the element opened last.
    fn close(&mut self, tag: &'static str);
    /// Starts a group of child elements (a JSON array named `key`).
    fn list(&mut self, key: &'static str);
    /// Ends the group started last.
    fn end_list(&mut self);
    fn text(&mut self, name: &'static str, value: &str);
    /// A text attribute made of pieces, written without building a string
    /// first (`/library/metadata/12/thumb/1700000000`).
    fn text_pieces(&mut self, name: &'static str, pieces: &[Piece<'_>]);
    fn int(&mut self, name: &'static str, value: i64);
    /// An integer that JSON writes as a string (`"ratingKey": "12"`).
    fn int_text(&mut self, name: &'static str, value: i64);
    /// A number that may have a fraction; whole values are written as
    /// integers in JSON when `whole_as_int` (XML always writes `6.0`).
    fn float(&mut self, name: &'static str, value: f64, whole_as_int: bool);
    /// `1`/`0` in XML, `true`/`false` in JSON.
    fn flag(&mut self, name: &'static str, value: bool);
    /// The finished document.
    fn finish(self: Box<Self>) -> Vec<u8>;
}

impl dyn Writer + '_ {
    pub fn uint(&mut self, name: &'static str, value: u64) {
        self.int(name, i64::try_from(value).unwrap_or(i64::MAX));
    }

    pub fn key_text(&mut self, name: &'static str, value: u64) {
        self.int_text(name, i64::try_from(value).unwrap_or(i64::MAX));
    }

    /// Writes the attribute only when `value` is not empty.
    pub fn text_if(&mut self, name: &'static str, value: &str) {
        if !value.is_empty() {
            self.text(name, value);
        }
    }

    /// `<Genre tag="..."/>` children, at most `limit` of them.
    pub fn genres(&mut self, genres: &[String], limit: usize) {
        if genres.is_empty() || limit == 0 {
            return;
        }
        self.list("Genre");
        for genre in genres.iter().take(limit) {
            self.open("Genre");
            self.text("tag", genre);
            self.close("Genre");
        }
        self.end_list();
    }
}

/// Appends the decimal digits of `value`.
pub(crate) fn push_int(buffer: &mut Vec<u8>, value: i64) {
    if value < 0 {
        buffer.push(b'-');
    }
    let mut rest = value.unsigned_abs();
    let mut digits = [0u8; 20];
    let mut start = digits.len();
    // Two digits at a time: half the divisions.
    while rest >= 100 {
        let pair = 2 * (rest % 100) as usize;
        rest /= 100;
        start -= 2;
        digits[start..start + 2].copy_from_slice(&DIGIT_PAIRS[pair..pair + 2]);
    }
    if rest >= 10 {
        let pair = 2 * rest as usize;
        start -= 2;
        digits[start..start + 2].copy_from_slice(&DIGIT_PAIRS[pair..pair + 2]);
    } else {
        start -= 1;
        digits[start] = b'0' + rest as u8;
    }
    buffer.extend_from_slice(&digits[start..]);
}

/// "00", "01", … "99" back to back.
const DIGIT_PAIRS: [u8; 200] = digit_pairs();

const fn digit_pairs() -> [u8; 200] {
    let mut pairs = [0u8; 200];
    let mut n = 0;
    while n < 100 {
        pairs[2 * n] = b'0' + (n / 10) as u8;
        pairs[2 * n + 1] = b'0' + (n % 10) as u8;
        n += 1;
    }
    pairs
}

/// Appends a number: whole values as integers (plus `.0` unless
/// `whole_as_int`), others in the shortest form that reads back exactly.
pub(crate) fn push_float(buffer: &mut Vec<u8>, value: f64, whole_as_int: bool) {
    if value.fract() == 0.0 && value.abs() < 1e15 {
        push_int(buffer, value as i64);
        if !whole_as_int {
            buffer.extend_from_slice(b".0");
        }
    } else {
        buffer.extend_from_slice(value.to_string().as_bytes());
    }
}

/// Length of the leading run of `bytes` that holds no byte below 0x20 and
/// none of `targets`: the part an escaper can copy as it is. Looks at eight
/// bytes at a time, since most text needs no escaping.
#[inline]
pub(crate) fn plain_prefix<const N: usize>(bytes: &[u8], targets: [u8; N]) -> usize {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGH: u64 = 0x8080_8080_8080_8080;
    let mut offset = 0;
    for chunk in bytes.chunks_exact(8) {
        let Ok(eight) = <[u8; 8]>::try_from(chunk) else {
            break;
        };
        let word = u64::from_le_bytes(eight);
        // A byte's high bit ends up set when it is below 0x20 or equal to
        // a target (the "has zero byte" trick on `word ^ target`).
        let mut found = word.wrapping_sub(ONES * 0x20) & !word;
        for target in targets {
            let difference = word ^ (ONES * u64::from(target));
            found |= difference.wrapping_sub(ONES) & !difference;
        }
        if found & HIGH != 0 {
            break;
        }
        offset += 8;
    }
    let rest = &bytes[offset..];
    offset
        + rest
            .iter()
            .position(|&b| b < 0x20 || targets.contains(&b))
            .unwrap_or(rest.len())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn number(value: i64) -> String {
        let mut buffer = Vec::new();
        push_int(&mut buffer, value);
        String::from_utf8(buffer).expect("digits")
    }

    #[test]
    fn integers_are_written_in_decimal() {
        assert_eq!(number(0), "0");
        assert_eq!(number(7), "7");
        assert_eq!(number(42), "42");
        assert_eq!(number(100), "100");
        assert_eq!(number(1_764_547_200), "1764547200");
        assert_eq!(number(i64::MAX), i64::MAX.to_string());
        assert_eq!(number(1_234_567), "1234567");
        assert_eq!(number(-42), "-42");
        assert_eq!(number(i64::MIN), i64::MIN.to_string());
    }

    #[test]
    fn whole_floats_can_be_written_as_integers() {
        let float = |value, whole_as_int| {
            let mut buffer = Vec::new();
            push_float(&mut buffer, value, whole_as_int);
            String::from_utf8(buffer).expect("digits")
        };
        assert_eq!(float(6.0, true), "6");
        assert_eq!(float(6.0, false), "6.0");
        assert_eq!(float(7.5, true), "7.5");
    }

    #[test]
    fn plain_prefix_stops_at_the_first_special_byte() {
        let plain = |text: &[u8]| plain_prefix(text, [b'"', b'&']);
        assert_eq!(plain(b"plain text with nothing"), 23);
        assert_eq!(plain(b"0123456789 & more"), 11);
        assert_eq!(plain(b"0123456789abcdef\x1f"), 16);
        assert_eq!(plain(b"ab\x07cd"), 2);
        assert_eq!(plain("caf\u{e9} \"x\"".as_bytes()), 6);
        assert_eq!(plain("日本語のタイトル".as_bytes()), 24);
        assert_eq!(plain(b""), 0);
    }

    #[test]
    fn accept_header_selects_the_format() {
        assert_eq!(Format::from_accept(Some("application/json")), Format::Json);
        assert_eq!(Format::from_accept(Some("text/xml")), Format::Xml);
        assert_eq!(Format::from_accept(None), Format::Xml);
    }
}
