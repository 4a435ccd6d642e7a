//! The JSON writer: `{"MediaContainer":{...}}` with child elements grouped
//! into arrays, written straight into a byte buffer. Control characters in
//! strings are escaped, so they survive.

use super::{Piece, Writer, plain_prefix, push_float, push_int};

pub(crate) struct JsonWriter {
    buffer: Vec<u8>,
    needs_comma: bool,
}

impl JsonWriter {
    pub fn with_capacity(capacity: usize) -> JsonWriter {
        let mut buffer = Vec::with_capacity(capacity);
        buffer.extend_from_slice(b"{\"MediaContainer\":");
        JsonWriter {
            buffer,
            needs_comma: false,
        }
    }

    fn comma(&mut self) {
        if self.needs_comma {
            self.buffer.push(b',');
        }
    }

    fn key(&mut self, name: &str) {
        self.comma();
        self.buffer.push(b'"');
        self.buffer.extend_from_slice(name.as_bytes());
        self.buffer.extend_from_slice(b"\":");
        self.needs_comma = true;
    }
}

impl Writer for JsonWriter {
    fn open(&mut self, _tag: &'static str) {
        self.comma();
        self.buffer.push(b'{');
        self.needs_comma = false;
    }

    fn close(&mut self, _tag: &'static str) {
        self.buffer.push(b'}');
        self.needs_comma = true;
    }

    fn list(&mut self, key: &'static str) {
        self.key(key);
        self.buffer.push(b'[');
        self.needs_comma = false;
    }

    fn end_list(&mut self) {
        self.buffer.push(b']');
        self.needs_comma = true;
    }

    fn text(&mut self, name: &'static str, value: &str) {
        self.key(name);
        push_string(&mut self.buffer, value);
    }

    fn text_pieces(&mut self, name: &'static str, pieces: &[Piece<'_>]) {
        self.key(name);
        self.buffer.push(b'"');
        for piece in pieces {
            match piece {
                Piece::Text(text) => push_string_content(&mut self.buffer, text),
                Piece::Number(number) => push_int(&mut self.buffer, *number),
            }
        }
        self.buffer.push(b'"');
    }

    fn int(&mut self, name: &'static str, value: i64) {
        self.key(name);
        push_int(&mut self.buffer, value);
    }

    fn int_text(&mut self, name: &'static str, value: i64) {
        self.key(name);
        self.buffer.push(b'"');
        push_int(&mut self.buffer, value);
        self.buffer.push(b'"');
    }

    fn float(&mut self, name: &'static str, value: f64, whole_as_int: bool) {
        if value.is_finite() {
            self.key(name);
            push_float(&mut self.buffer, value, whole_as_int);
        }
    }

    fn flag(&mut self, name: &'static str, value: bool) {
        self.key(name);
        self.buffer
            .extend_from_slice(if value { b"true" } else { b"false" });
    }

    fn finish(mut self: Box<Self>) -> Vec<u8> {
        self.buffer.push(b'}');
        self.buffer
    }
}

/// Appends `value` as a JSON string literal.
pub(crate) fn push_string(buffer: &mut Vec<u8>, value: &str) {
    buffer.push(b'"');
    push_string_content(buffer, value);
    buffer.push(b'"');
}

/// Appends `value` escaped for the inside of a JSON string literal.
fn push_string_content(buffer: &mut Vec<u8>, value: &str) {
    let mut rest = value.as_bytes();
    loop {
        let plain = plain_prefix(rest, [b'"', b'\\']);
        buffer.extend_from_slice(&rest[..plain]);
        let Some(&byte) = rest.get(plain) else {
            return;
        };
        push_escape(buffer, byte);
        rest = &rest[plain + 1..];
    }
}

/// The escape of one special byte: `\"`, `\\`, `\n`, `\r`, `\t` or `\u00XX`.
fn push_escape(buffer: &mut Vec<u8>, byte: u8) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    match byte {
        b'"' => buffer.extend_from_slice(b"\\\""),
        b'\\' => buffer.extend_from_slice(b"\\\\"),
        b'\n' => buffer.extend_from_slice(b"\\n"),
        b'\r' => buffer.extend_from_slice(b"\\r"),
        b'\t' => buffer.extend_from_slice(b"\\t"),
        _ => {
            buffer.extend_from_slice(b"\\u00");
            buffer.push(HEX[usize::from(byte >> 4)]);
            buffer.push(HEX[usize::from(byte & 0xf)]);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn literal(value: &str) -> String {
        let mut buffer = Vec::new();
        push_string(&mut buffer, value);
        String::from_utf8(buffer).expect("utf-8")
    }

    #[test]
    fn strings_escape_quotes_backslashes_and_control_characters() {
        assert_eq!(literal("a\"b\\c"), r#""a\"b\\c""#);
        assert_eq!(literal("bell\u{7}\n"), r#""bell\u0007\n""#);
        assert_eq!(literal("Sigur Rós 🔥"), "\"Sigur Rós 🔥\"");
    }

    #[test]
    fn escaped_strings_read_back_unchanged() {
        let original = "Start\u{1}Of \"Heading\" \\ <tab>\t";
        let parsed: String = serde_json::from_str(&literal(original)).expect("valid JSON");
        assert_eq!(parsed, original);
    }

    #[test]
    fn nested_elements_become_objects_and_arrays() {
        let mut writer: Box<dyn Writer> = Box::new(JsonWriter::with_capacity(64));
        writer.open("MediaContainer");
        writer.int("size", 1);
        writer.list("Metadata");
        writer.open("Track");
        writer.int_text("ratingKey", 7);
        writer.float("userRating", 6.0, false);
        writer.close("Track");
        writer.end_list();
        writer.close("MediaContainer");
        let text = String::from_utf8(writer.finish()).expect("utf-8");
        assert_eq!(
            text,
            r#"{"MediaContainer":{"size":1,"Metadata":[{"ratingKey":"7","userRating":6.0}]}}"#
        );
    }
}
