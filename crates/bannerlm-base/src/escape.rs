//! Terminal-safe display of attacker-controlled bytes.

use std::fmt::{self, Write as _};

/// Escapes bytes for a terminal or a log line: printable ASCII and printable UTF-8 stay,
/// `\r`, `\n`, `\t` and `\\` become two-character escapes, and every other control character
/// (C0, DEL, C1), every Unicode format character (bidirectional overrides, zero-width
/// characters) and every invalid UTF-8 byte becomes `\xNN` or `\u{...}`. The output never
/// contains a control character, so it cannot move a cursor, change colours or hide text.
///
/// ```
/// use bannerlm_base::escape_bytes;
/// assert_eq!(escape_bytes(b"Server: x\r\n\x1b[31m\xff"), r"Server: x\r\n\x1b[31m\xff");
/// assert_eq!(escape_bytes("a\u{202e}b".as_bytes()), r"a\u{202e}b");
/// ```
pub fn escape_bytes(bytes: &[u8]) -> String {
    Escaped(bytes).to_string()
}

/// [`escape_bytes`] for text.
///
/// ```
/// assert_eq!(bannerlm_base::escape_str("tab\there\u{7f}"), r"tab\there\x7f");
/// ```
pub fn escape_str(s: &str) -> String {
    Escaped(s.as_bytes()).to_string()
}

/// Displays bytes escaped as by [`escape_bytes`], without building a `String` first:
/// `format!("{}: {}", path, Escaped(value))`.
///
/// ```
/// use bannerlm_base::Escaped;
/// assert_eq!(format!("[{}]", Escaped(b"\x07bell")), r"[\x07bell]");
/// ```
#[derive(Debug, Clone, Copy)]
pub struct Escaped<'a>(pub &'a [u8]);

impl fmt::Display for Escaped<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for chunk in self.0.utf8_chunks() {
            let valid = chunk.valid();
            let mut start = 0;
            for (i, c) in valid.char_indices() {
                if needs_escape(c) {
                    f.write_str(&valid[start..i])?;
                    write_escaped_char(f, c)?;
                    start = i + c.len_utf8();
                }
            }
            f.write_str(&valid[start..])?;
            for b in chunk.invalid() {
                write!(f, "\\x{b:02x}")?;
            }
        }
        Ok(())
    }
}

fn needs_escape(c: char) -> bool {
    c == '\\' || c.is_control() || is_format_char(c)
}

fn write_escaped_char(f: &mut fmt::Formatter<'_>, c: char) -> fmt::Result {
    match c {
        '\\' => f.write_str(r"\\"),
        '\r' => f.write_str(r"\r"),
        '\n' => f.write_str(r"\n"),
        '\t' => f.write_str(r"\t"),
        c if (c as u32) < 0x80 => write!(f, "\\x{:02x}", c as u32),
        c => {
            let mut s = String::new();
            let _ = write!(s, "\\u{{{:x}}}", c as u32);
            f.write_str(&s)
        }
    }
}

/// Unicode format characters that change how surrounding text is shown: bidirectional
/// marks, embeddings, overrides and isolates, zero-width characters, the BOM, and the
/// interlinear annotation and tag characters.
fn is_format_char(c: char) -> bool {
    matches!(
        c,
        '\u{00AD}'
            | '\u{061C}'
            | '\u{180E}'
            | '\u{200B}'..='\u{200F}'
            | '\u{2028}'..='\u{202E}'
            | '\u{2060}'..='\u{206F}'
            | '\u{FEFF}'
            | '\u{FFF9}'..='\u{FFFB}'
            | '\u{E0000}'..='\u{E007F}'
    )
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn every_byte_value() {
        let all: Vec<u8> = (0..=255).collect();
        let e = escape_bytes(&all);
        assert!(!e.chars().any(char::is_control));
        assert!(e.starts_with(r"\x00\x01"));
        assert!(e.contains(r"\t\n\x0b\x0c\r"));
        assert!(e.contains(r"\x7f\x80"));
        assert!(e.ends_with(r"\xff"));
    }

    #[test]
    fn c1_and_bidi_are_escaped() {
        assert_eq!(escape_str("\u{85}\u{9b}"), r"\u{85}\u{9b}");
        assert_eq!(escape_str("x\u{2066}y\u{200b}"), r"x\u{2066}y\u{200b}");
        assert_eq!(escape_str("naïve ✓"), "naïve ✓");
    }

    proptest! {
        #[test]
        fn output_has_no_control_or_format_char(bytes in prop::collection::vec(any::<u8>(), 0..200)) {
            let e = escape_bytes(&bytes);
            prop_assert!(!e.chars().any(|c| c.is_control() || is_format_char(c)));
        }

        #[test]
        fn printable_ascii_is_unchanged(s in "[ -\\[\\]-~]{0,60}") {
            prop_assert_eq!(escape_str(&s), s);
        }
    }
}
