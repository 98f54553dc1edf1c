//! Escaping banners for display: no raw control characters reach a terminal.

use std::fmt::Write as _;

/// Escapes bytes for display: printable ASCII and valid non-control UTF-8 as
/// is, `\\` doubled, `\r` `\n` `\t` as escapes, other control characters and
/// invalid UTF-8 bytes as `\xNN`.
///
/// ```
/// assert_eq!(recog_compat::escape_bytes(b"a\r\n\x1b[31m\xffb\\"), r"a\r\n\x1b[31m\xffb\\");
/// ```
pub fn escape_bytes(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len());
    for chunk in bytes.utf8_chunks() {
        push_escaped(&mut out, chunk.valid());
        for b in chunk.invalid() {
            let _ = write!(out, "\\x{b:02x}");
        }
    }
    out
}

/// [`escape_bytes`] for text.
pub fn escape_str(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    push_escaped(&mut out, s);
    out
}

fn push_escaped(out: &mut String, s: &str) {
    for c in s.chars() {
        match c {
            '\\' => out.push_str(r"\\"),
            '\n' => out.push_str(r"\n"),
            '\r' => out.push_str(r"\r"),
            '\t' => out.push_str(r"\t"),
            c if c.is_control()
                || matches!(c, '\u{200E}' | '\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}') =>
            {
                let v = u32::from(c);
                if v <= 0xFF {
                    let _ = write!(out, "\\x{v:02x}");
                } else {
                    let _ = write!(out, "\\u{{{v:x}}}");
                }
            }
            c => out.push(c),
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn no_control_chars_survive() {
        let all: Vec<u8> = (0..=255).collect();
        let e = escape_bytes(&all);
        assert!(!e.chars().any(char::is_control), "{e}");
        assert_eq!(escape_str("é\u{85}\u{202E}"), "é\\x85\\u{202e}");
    }
}
