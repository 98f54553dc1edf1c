//! Fingerprint patterns: literals and gaps (plus the generalisations the
//! sanitizer introduces), rendered as linear-time regexes.

use std::fmt::Write as _;

use regex::bytes::{Regex, RegexBuilder};

use crate::Result;
use crate::pieces::CommonPieces;

/// Byte-size limit for compiling one fingerprint regex (guards memory on
/// adversarially long literals).
const SIZE_LIMIT: usize = 1 << 22;

/// One element of a [`Pattern`].
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[non_exhaustive]
pub enum Token {
    /// Literal bytes, escaped when rendered.
    Lit(Vec<u8>),
    /// Anything, possibly nothing: `.*`.
    Gap,
    /// A version number with an optional letter suffix (`1.18.0`, `1.0.2k`,
    /// `0.94.14rc21`), `[0-9]+(?:\.[0-9]+)*(?:[a-z]+[0-9]*)?`; the first one
    /// in a pattern is the named capture `(?P<version>...)`.
    Version,
    /// A run of digits, `[0-9]+` (near-duplicates that differ only there).
    Digits,
    /// A cookie value: anything but `;`, `[^;]*`.
    CookieValue,
    /// Optional cookie attributes after the value: `(?:;.*)?`.
    CookieTail,
}

/// A fingerprint pattern: a sequence of [`Token`]s that must cover the whole
/// value. The regex is anchored with `^` unless the pattern starts with a
/// gap and with `$` unless it ends with one (a leading or trailing gap is
/// written by leaving the anchor out, so `.*` never starts or ends a regex).
///
/// ```
/// use lcs_fingerprint::{CommonPieces, Pattern};
///
/// let values = ["Apache/2.4.41 (Ubuntu)", "Apache/2.4.29 (Ubuntu)"];
/// let pattern = Pattern::from_pieces(&CommonPieces::find(&values, 5));
/// assert_eq!(pattern.regex(), r"^Apache/2\.4\..*\x20\(Ubuntu\)$");
/// let re = pattern.compile()?;
/// assert!(values.iter().all(|v| re.is_match(v.as_bytes())));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct Pattern {
    tokens: Vec<Token>,
}

impl Pattern {
    /// A pattern from tokens; adjacent literals are joined and runs of gaps
    /// collapse into one.
    pub fn from_tokens(tokens: impl IntoIterator<Item = Token>) -> Self {
        let mut out: Vec<Token> = Vec::new();
        for t in tokens {
            match (out.last_mut(), t) {
                (_, Token::Lit(l)) if l.is_empty() => {}
                (Some(Token::Lit(prev)), Token::Lit(l)) => prev.extend_from_slice(&l),
                (Some(Token::Gap), Token::Gap) => {}
                (_, t) => out.push(t),
            }
        }
        Self { tokens: out }
    }

    /// The pattern of common pieces: pieces as literals, gaps where any
    /// string has bytes between (or before, or after) two pieces.
    pub fn from_pieces(common: &CommonPieces) -> Self {
        let mut tokens = Vec::new();
        let mut prev: Vec<usize> = vec![0; common.lens.len()];
        for p in &common.pieces {
            if p.starts.iter().zip(&prev).any(|(&s, &e)| s > e) {
                tokens.push(Token::Gap);
            }
            tokens.push(Token::Lit(p.text.clone()));
            for (e, &s) in prev.iter_mut().zip(&p.starts) {
                *e = s + p.text.len();
            }
        }
        if prev.iter().zip(&common.lens).any(|(&e, &len)| e < len) {
            tokens.push(Token::Gap);
        }
        Self::from_tokens(tokens)
    }

    /// The tokens.
    pub fn tokens(&self) -> &[Token] {
        &self.tokens
    }

    /// Total bytes of literal text.
    pub fn literal_len(&self) -> usize {
        self.tokens
            .iter()
            .map(|t| match t {
                Token::Lit(l) => l.len(),
                _ => 0,
            })
            .sum()
    }

    /// Whether the pattern has no literal at all (a bare `.*`, or the empty
    /// value); such patterns are never fingerprints.
    pub fn is_bare(&self) -> bool {
        self.literal_len() == 0
    }

    /// The regex text. Literals are escaped byte by byte: ASCII
    /// punctuation and space are escaped (space as `\x20`), bytes outside
    /// printable ASCII are written `\xNN`, so the text never holds a control
    /// character. Compile it with [`Pattern::compile`]'s flags: byte
    /// semantics (Unicode off) and `.` matching `\n`.
    pub fn regex(&self) -> String {
        self.render(false)
    }

    /// The regex, with each literal in a capture group of its own (groups
    /// 1, 2, ... in literal order) and versions non-capturing.
    fn render(&self, literal_groups: bool) -> String {
        let mut s = String::new();
        let n = self.tokens.len();
        if self.tokens.first() != Some(&Token::Gap) {
            s.push('^');
        }
        let mut named_version = false;
        for (i, t) in self.tokens.iter().enumerate() {
            match t {
                Token::Lit(l) if literal_groups => {
                    s.push('(');
                    escape_into(&mut s, l);
                    s.push(')');
                }
                Token::Lit(l) => escape_into(&mut s, l),
                Token::Gap => {
                    if i != 0 && i + 1 != n {
                        s.push_str(".*");
                    }
                }
                Token::Version => {
                    if named_version || literal_groups {
                        s.push_str(r"[0-9]+(?:\.[0-9]+)*(?:[a-z]+[0-9]*)?");
                    } else {
                        named_version = true;
                        s.push_str(r"(?P<version>[0-9]+(?:\.[0-9]+)*(?:[a-z]+[0-9]*)?)");
                    }
                }
                Token::Digits => s.push_str("[0-9]+"),
                Token::CookieValue => s.push_str("[^;]*"),
                Token::CookieTail => s.push_str("(?:;.*)?"),
            }
        }
        if self.tokens.last() != Some(&Token::Gap) {
            s.push('$');
        }
        s
    }

    /// Where each literal of the pattern lies in `value` (byte ranges, in
    /// literal order), as the regex matches it; `None` when it does not.
    pub(crate) fn literal_spans(&self, value: &[u8]) -> Option<Vec<std::ops::Range<usize>>> {
        let re = compile_regex(&self.render(true)).ok()?;
        let caps = re.captures(value)?;
        Some(caps.iter().skip(1).flatten().map(|m| m.range()).collect())
    }

    /// Whether the pattern spells its values out whole: anchored at both
    /// ends, made of literals, versions and digit runs only (no gap, no
    /// cookie value or tail), such as `^nginx$` or `^Boa/(version)$`.
    pub fn is_exact(&self) -> bool {
        !self.tokens.is_empty()
            && self
                .tokens
                .iter()
                .all(|t| matches!(t, Token::Lit(_) | Token::Version | Token::Digits))
    }

    /// Compiles [`Pattern::regex`] with the linear-time `regex` crate.
    ///
    /// # Errors
    ///
    /// [`Error::Regex`](crate::Error::Regex) when the regex exceeds the size
    /// limit (very long literals).
    pub fn compile(&self) -> Result<Regex> {
        compile_regex(&self.regex())
    }
}

/// Compiles a fingerprint regex with the flags fingerprints are written for:
/// byte semantics (Unicode off, so `.` and `[^;]` match any byte and `\xNN`
/// is a byte), `.` matching `\n` (folded header lines), and a size limit.
///
/// # Errors
///
/// [`Error::Regex`](crate::Error::Regex) when the regex does not compile.
pub fn compile_regex(regex: &str) -> Result<Regex> {
    RegexBuilder::new(regex)
        .unicode(false)
        .dot_matches_new_line(true)
        .size_limit(SIZE_LIMIT)
        .build()
        .map_err(|source| crate::Error::Regex {
            regex: regex.to_owned(),
            source,
        })
}

fn escape_into(s: &mut String, lit: &[u8]) {
    for &b in lit {
        match b {
            b'a'..=b'z'
            | b'A'..=b'Z'
            | b'0'..=b'9'
            | b'_'
            | b'/'
            | b'='
            | b','
            | b':'
            | b';'
            | b'@'
            | b'%'
            | b'\''
            | b'"'
            | b'!'
            | b'<'
            | b'>'
            | b'`' => s.push(b as char),
            b'!'..=b'~' => {
                s.push('\\');
                s.push(b as char);
            }
            _ => {
                let _ = write!(s, "\\x{b:02X}");
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rendering_and_anchors() {
        let p = Pattern::from_tokens([Token::Lit(b"a.b".to_vec())]);
        assert_eq!(p.regex(), r"^a\.b$");
        let p = Pattern::from_tokens([Token::Gap, Token::Lit(b"x y".to_vec()), Token::Gap]);
        assert_eq!(p.regex(), r"x\x20y");
        let p = Pattern::from_tokens([
            Token::Lit(b"v".to_vec()),
            Token::Version,
            Token::Gap,
            Token::Version,
            Token::CookieTail,
        ]);
        assert_eq!(
            p.regex(),
            r"^v(?P<version>[0-9]+(?:\.[0-9]+)*(?:[a-z]+[0-9]*)?).*[0-9]+(?:\.[0-9]+)*(?:[a-z]+[0-9]*)?(?:;.*)?$"
        );
        assert!(p.compile().is_ok());
    }

    #[test]
    fn escapes_every_meta_and_control_byte() {
        let all: Vec<u8> = (0..=255u8).collect();
        let p = Pattern::from_tokens([Token::Lit(all.clone())]);
        let text = p.regex();
        assert!(text.bytes().all(|b| (0x20..0x7f).contains(&b)));
        let re = p.compile().expect("escaped literal compiles");
        assert!(re.is_match(&all));
        let mut other = all.clone();
        other[200] = b'x';
        assert!(!re.is_match(&other));
    }

    #[test]
    fn normalises_tokens() {
        let p = Pattern::from_tokens([
            Token::Lit(b"ab".to_vec()),
            Token::Lit(Vec::new()),
            Token::Lit(b"cd".to_vec()),
            Token::Gap,
            Token::Gap,
        ]);
        assert_eq!(p.tokens(), [Token::Lit(b"abcd".to_vec()), Token::Gap]);
        assert!(!p.is_bare());
        assert!(Pattern::from_tokens([Token::Gap]).is_bare());
    }
}
