//! JSON that is safe to print on a terminal.
//!
//! `serde_json` escapes only the C0 controls inside strings; DEL, the C1 controls (U+0080 to
//! U+009F, which some terminals obey as escape sequences) and the Unicode format characters
//! (bidirectional overrides and isolates, zero-width characters) pass through raw. Values
//! taken from scans (banners, snapshot and cluster names) may hold any of them, so JSON that
//! an example prints goes through [`safe_json`] first: the same JSON value, with those
//! characters written as `\uXXXX` escapes. (For plain text use [`bannerlm_base::escape_str`].)

use std::fmt::Write as _;

/// Rewrites JSON text so that it holds no control character other than the line breaks
/// between values and no format character: every such character (they can only occur inside
/// strings, where JSON allows `\uXXXX`) becomes a `\u` escape, as a surrogate pair above
/// U+FFFF. The text still parses to the same value.
///
/// ```
/// let raw = serde_json::json!({"name": "a\u{7f}\u{9b}31m\u{202e}b"}).to_string();
/// let safe = bannerlm::terminal::safe_json(&raw);
/// assert_eq!(safe, r#"{"name":"a\u007f\u009b31m\u202eb"}"#);
/// assert_eq!(serde_json::from_str::<serde_json::Value>(&safe)?, serde_json::from_str::<serde_json::Value>(&raw)?);
/// # Ok::<(), serde_json::Error>(())
/// ```
pub fn safe_json(json: &str) -> String {
    let mut out = String::with_capacity(json.len());
    for c in json.chars() {
        if (c.is_control() && c != '\n') || is_format_char(c) {
            let mut units = [0u16; 2];
            for u in c.encode_utf16(&mut units) {
                let _ = write!(out, "\\u{:04x}", *u);
            }
        } else {
            out.push(c);
        }
    }
    out
}

/// Unicode format characters that change how surrounding text is shown (the set that
/// [`bannerlm_base::escape_str`] escapes).
fn is_format_char(c: char) -> bool {
    bannerlm_base::escape_str(c.encode_utf8(&mut [0u8; 4])).starts_with("\\u")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_dangerous_character_is_escaped_and_the_value_kept() {
        let s = "\u{1b}[2J\u{7}\u{7f}\r\u{85}\u{9b}\u{202e}\u{2066}\u{200b}\u{feff}\u{e0041}ok ✓";
        let raw = serde_json::to_string_pretty(&serde_json::json!({ "k": s, "l": [1, 2] }))
            .unwrap_or_default();
        let safe = safe_json(&raw);
        assert!(
            !safe
                .chars()
                .any(|c| (c.is_control() && c != '\n') || is_format_char(c))
        );
        let back: serde_json::Value = serde_json::from_str(&safe).unwrap_or_default();
        assert_eq!(back["k"], s);
        assert!(safe.contains("ok ✓"));
    }
}
