//! Safe display of attacker-controlled bytes.

use bannerlm_base::escape_bytes;

/// How [`render_labels`] marks dynamic bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum LabelStyle {
    /// ANSI dim (`ESC[2m` ... `ESC[22m`) for terminals.
    #[default]
    Ansi,
    /// `«` ... `»` around dynamic runs, for logs and files.
    Brackets,
}

/// Renders a labelled banner for display: every byte escaped as in
/// [`escape_bytes`], dynamic runs dimmed (or bracketed), and a line break
/// after each escaped `\n` so multi-line banners stay readable.
///
/// ```
/// use banner_parse::{label_pair, render_labels, BannerKind, LabelStyle};
/// let a = b"Server: nginx\r\nX-Id: 1234abcd\r\n";
/// let b = b"Server: nginx\r\nX-Id: 9876zyxw\r\n";
/// let l = label_pair(a, b, BannerKind::Http);
/// let shown = render_labels(a, &l.a, LabelStyle::Brackets);
/// assert_eq!(shown, "Server: nginx\\r\\n\nX-Id: «1234abcd»\\r\\n\n");
/// ```
pub fn render_labels(bytes: &[u8], labels: &[crate::Label], style: LabelStyle) -> String {
    let (open, close) = match style {
        LabelStyle::Ansi => ("\x1b[2m", "\x1b[22m"),
        LabelStyle::Brackets => ("«", "»"),
    };
    let mut out = String::with_capacity(bytes.len() * 2);
    let mut runs = crate::label_runs(&labels[..labels.len().min(bytes.len())]);
    if labels.len() < bytes.len() {
        runs.push((labels.len()..bytes.len(), crate::Label::Unlabelled));
    }
    for (span, label) in runs {
        // Split at '\n' (kept with its line) so every output line is self-contained.
        for line in bytes[span].split_inclusive(|b| *b == b'\n') {
            let text = escape_bytes(line);
            if label == crate::Label::Dynamic {
                out.push_str(open);
                out.push_str(&text);
                out.push_str(close);
            } else {
                out.push_str(&text);
            }
            if line.ends_with(b"\n") {
                out.push('\n');
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_controls_and_bidi() {
        assert_eq!(
            escape_bytes("a\u{202e}b\u{85}".as_bytes()),
            "a\\u{202e}b\\u{85}"
        );
        assert_eq!(escape_bytes("é".as_bytes()), "é");
        assert_eq!(escape_bytes(b"\\"), "\\\\");
    }
}
