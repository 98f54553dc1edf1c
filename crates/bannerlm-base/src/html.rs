//! Escaping untrusted text for HTML element content and quoted attribute values.

use std::fmt::Write as _;

/// `s` made safe inside HTML element content or a quoted attribute value: `&`, `<`, `>`, `"`
/// and `'` become entities, and control characters (and U+2028, U+2029, U+FEFF) become visible
/// `\u{..}` escapes, so no markup, quote or invisible character from untrusted input survives.
///
/// ```
/// assert_eq!(
///     bannerlm_base::escape_html("<a href=\"x\">&'\u{1b}</a>"),
///     r"&lt;a href=&quot;x&quot;&gt;&amp;&#39;\u{1b}&lt;/a&gt;"
/// );
/// ```
pub fn escape_html(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c if c.is_control() || matches!(c, '\u{2028}' | '\u{2029}' | '\u{feff}') => {
                let _ = write!(out, "\\u{{{:x}}}", c as u32);
            }
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::escape_html;

    #[test]
    fn escapes_markup_quotes_and_controls() {
        let s = escape_html("<script>\u{1b}[31m\r\n&\"'</script>\u{2028}é");
        assert_eq!(
            s,
            r"&lt;script&gt;\u{1b}[31m\u{d}\u{a}&amp;&quot;&#39;&lt;/script&gt;\u{2028}é"
        );
    }
}
