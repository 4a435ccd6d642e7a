//! The XML writer: a `<MediaContainer>` root with one element per item and
//! every value an attribute string. Output is always well-formed: control
//! characters that XML 1.0 forbids become U+FFFD (real servers send them
//! raw, which breaks strict parsers; see `docs/emulator.md`).

use super::{Piece, Writer, plain_prefix, push_float, push_int};

const REPLACEMENT: &[u8] = "\u{FFFD}".as_bytes();

pub(crate) struct XmlWriter {
    buffer: Vec<u8>,
    /// One entry per open element: true while its start tag is unfinished.
    start_tag_open: Vec<bool>,
}

impl XmlWriter {
    pub fn with_capacity(capacity: usize) -> XmlWriter {
        let mut buffer = Vec::with_capacity(capacity);
        buffer.extend_from_slice(b"<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
        XmlWriter {
            buffer,
            start_tag_open: Vec::with_capacity(8),
        }
    }

    fn attribute_start(&mut self, name: &str) {
        self.buffer.push(b' ');
        self.buffer.extend_from_slice(name.as_bytes());
        self.buffer.extend_from_slice(b"=\"");
    }
}

impl Writer for XmlWriter {
    fn open(&mut self, tag: &'static str) {
        if let Some(open) = self.start_tag_open.last_mut()
            && *open
        {
            self.buffer.push(b'>');
            *open = false;
        }
        self.buffer.push(b'<');
        self.buffer.extend_from_slice(tag.as_bytes());
        self.start_tag_open.push(true);
    }

    fn close(&mut self, tag: &'static str) {
        if self.start_tag_open.pop().unwrap_or(true) {
            self.buffer.extend_from_slice(b"/>");
        } else {
            self.buffer.extend_from_slice(b"</");
            self.buffer.extend_from_slice(tag.as_bytes());
            self.buffer.push(b'>');
        }
    }

    fn list(&mut self, _key: &'static str) {}

    fn end_list(&mut self) {}

    fn text(&mut self, name: &'static str, value: &str) {
        self.attribute_start(name);
        push_attribute_value(&mut self.buffer, value);
        self.buffer.push(b'"');
    }

    fn text_pieces(&mut self, name: &'static str, pieces: &[Piece<'_>]) {
        self.attribute_start(name);
        for piece in pieces {
            match piece {
                Piece::Text(text) => push_attribute_value(&mut self.buffer, text),
                Piece::Number(number) => push_int(&mut self.buffer, *number),
            }
        }
        self.buffer.push(b'"');
    }

    fn int(&mut self, name: &'static str, value: i64) {
        self.attribute_start(name);
        push_int(&mut self.buffer, value);
        self.buffer.push(b'"');
    }

    fn int_text(&mut self, name: &'static str, value: i64) {
        self.int(name, value);
    }

    fn float(&mut self, name: &'static str, value: f64, _whole_as_int: bool) {
        if value.is_finite() {
            self.attribute_start(name);
            push_float(&mut self.buffer, value, false);
            self.buffer.push(b'"');
        }
    }

    fn flag(&mut self, name: &'static str, value: bool) {
        self.attribute_start(name);
        self.buffer.push(if value { b'1' } else { b'0' });
        self.buffer.push(b'"');
    }

    fn finish(self: Box<Self>) -> Vec<u8> {
        self.buffer
    }
}

/// Appends `value` escaped for a double-quoted attribute. Tabs and line
/// breaks become character references (so they survive attribute
/// normalisation); other forbidden characters become U+FFFD.
pub(crate) fn push_attribute_value(buffer: &mut Vec<u8>, value: &str) {
    let mut rest = value.as_bytes();
    loop {
        // 0xEF starts U+FFFE and U+FFFF, which are not XML characters either.
        let plain = plain_prefix(rest, [b'&', b'<', b'>', b'"', 0xef]);
        buffer.extend_from_slice(&rest[..plain]);
        rest = &rest[plain..];
        let Some(&byte) = rest.first() else {
            return;
        };
        let (replacement, width): (&[u8], usize) = match byte {
            b'&' => (b"&amp;", 1),
            b'<' => (b"&lt;", 1),
            b'>' => (b"&gt;", 1),
            b'"' => (b"&quot;", 1),
            b'\t' => (b"&#9;", 1),
            b'\n' => (b"&#10;", 1),
            b'\r' => (b"&#13;", 1),
            0..=0x1f => (REPLACEMENT, 1),
            _ if rest.starts_with(&[0xef, 0xbf, 0xbe]) || rest.starts_with(&[0xef, 0xbf, 0xbf]) => {
                (REPLACEMENT, 3)
            }
            _ => (&rest[..1], 1),
        };
        buffer.extend_from_slice(replacement);
        rest = &rest[width..];
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn escaped(value: &str) -> String {
        let mut buffer = Vec::new();
        push_attribute_value(&mut buffer, value);
        String::from_utf8(buffer).expect("utf-8")
    }

    #[test]
    fn markup_characters_are_escaped() {
        assert_eq!(
            escaped(r#"R&B <Remix> "x""#),
            "R&amp;B &lt;Remix&gt; &quot;x&quot;"
        );
    }

    #[test]
    fn forbidden_control_characters_become_replacement_characters() {
        assert_eq!(escaped("Bell\u{7}Ring"), "Bell\u{FFFD}Ring");
        assert_eq!(escaped("a\u{FFFE}b"), "a\u{FFFD}b");
        assert_eq!(escaped("tab\tline\n"), "tab&#9;line&#10;");
        assert_eq!(escaped("Beyoncé ￼"), "Beyoncé ￼");
    }

    #[test]
    fn elements_without_children_are_self_closing() {
        let mut writer: Box<dyn Writer> = Box::new(XmlWriter::with_capacity(64));
        writer.open("MediaContainer");
        writer.int("size", 1);
        writer.list("Metadata");
        writer.open("Track");
        writer.flag("smart", false);
        writer.close("Track");
        writer.end_list();
        writer.close("MediaContainer");
        let text = String::from_utf8(writer.finish()).expect("utf-8");
        assert!(
            text.ends_with(r#"<MediaContainer size="1"><Track smart="0"/></MediaContainer>"#),
            "{text}"
        );
    }
}
