//! Translation of Recog's Ruby (Onigmo) regular expressions into Rust syntax.
//!
//! Recog patterns are written for Ruby's `Regexp`. Their meaning differs from
//! the Rust `regex` crate in a number of places, all handled here:
//!
//! | Ruby | meaning | Rust output |
//! |---|---|---|
//! | `^`, `$` | always line anchors | `(?m)` on the whole pattern |
//! | `.` | any char but `\n`; `Regexp::MULTILINE` (`REG_DOT_NEWLINE`, `(?m)`) adds `\n` | `.`, `(?s)` |
//! | `\d`, `\w`, `\s`, `\h` | ASCII classes | `[[:digit:]]`, `[[:word:]]`, `[[:space:]]`, `[[:xdigit:]]` |
//! | `\Z` | end, or before a final `\n` | `\n?\z` (or `(?=\n?\z)` inside a capture) |
//! | `\e`, `\a`, `\cX`, octal, `\xH`, `\u{H}` | escapes | `\x{..}` |
//! | `\R` | any line break | an explicit alternation |
//! | `{,m}`, `{n}?`, `{n,m}+`, `a**` | Onigmo quantifier rules | `{0,m}`, `(?:a{n})?`, `(?:a{n,m})+`, `(?:a*)*` |
//! | `(?<name>..)` | named group; plain `(..)` then do not capture | `(?<name>..)`, `(?:..)` |
//! | `(?x)` | extended syntax | whitespace and comments dropped here |
//! | `{` not starting a quantifier | literal | `\{` |
//!
//! Patterns that need backtracking (lookaround, atomic groups, possessive
//! quantifiers, backreferences) are marked [`Engine::Backtracking`] and are
//! compiled with `fancy-regex` under a backtrack limit; everything else uses
//! the linear-time `regex` crate.
//!
//! Known differences that remain: POSIX bracket classes and `\b` follow the
//! Rust definitions (ASCII classes, Unicode word boundary), and a Unicode
//! `\p{..}` name is accepted only if the `regex` crate knows it.

mod class;
mod escape;

use crate::error::{Error, Result, TranslateErrorKind};
use crate::flags::Flags;

/// Which regex engine a translated pattern needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Engine {
    /// The linear-time `regex` crate.
    Linear,
    /// `fancy-regex` with a backtrack limit (lookaround, backreferences,
    /// atomic groups, possessive quantifiers).
    Backtracking,
}

/// A Recog pattern rewritten in Rust regex syntax.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Translation {
    /// The Rust pattern, flags included.
    pub pattern: String,
    /// The engine the pattern needs.
    pub engine: Engine,
}

/// Translates a Recog (Ruby) pattern with its flags into Rust syntax.
///
/// # Errors
/// [`Error::Translate`] for malformed patterns and for Ruby constructs
/// without a Rust equivalent (`\G`, `\K`, conditionals, subexpression calls,
/// the absence operator). Never panics, whatever the input.
///
/// ```
/// use recog_compat::{translate, Engine, Flags};
/// let t = translate(r"^Apache/(\d+\.\h+)\Z", Flags::default())?;
/// assert_eq!(t.engine, Engine::Linear);
/// let re = regex::Regex::new(&t.pattern)?;
/// assert_eq!(&re.captures("Apache/2.4f\n").unwrap()[1], "2.4f");
///
/// let t = translate(r"^(a+)\1$", Flags::default())?;
/// assert_eq!(t.engine, Engine::Backtracking);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn translate(pattern: &str, flags: Flags) -> Result<Translation> {
    let mut t = Translator::new(pattern);
    t.run()?;
    let mut out = String::with_capacity(t.out.len() + 12);
    out.push_str("(?m");
    if flags.ignore_case {
        out.push('i');
    }
    if flags.dot_newline {
        out.push('s');
    }
    out.push(')');
    out.push_str(&t.out);
    Ok(Translation {
        pattern: out,
        engine: if t.fancy {
            Engine::Backtracking
        } else {
            Engine::Linear
        },
    })
}

/// Deepest group nesting accepted (the `regex` crate's default limit is 250).
const MAX_DEPTH: usize = 200;
/// Largest repetition count accepted in `{n,m}`.
const MAX_REPEAT: u32 = 10_000;

#[derive(Clone, Copy, PartialEq, Eq)]
enum Quant {
    /// `*`, `+`, `?`, `{n,}`, `{n,m}`: a following `?` makes it lazy.
    Greedy,
    /// `*`, `+`, `?`: a following `+` makes it possessive.
    GreedySimple,
    /// `{n}`: anything following nests.
    Fixed,
    /// `{n,m}` style: `?` lazy, `+` nests.
    Modified,
}

struct Frame {
    out_start: usize,
    capturing: bool,
    extended: bool,
}

struct Translator<'a> {
    src: &'a str,
    chars: Vec<(usize, char)>,
    i: usize,
    out: String,
    fancy: bool,
    named_groups: bool,
    /// Number of capturing groups in the pattern (approximate, for `\NNN`).
    groups: usize,
    extended: bool,
    stack: Vec<Frame>,
    last_atom: Option<usize>,
    last_quant: Option<Quant>,
}

fn err(src: &str, offset: usize, kind: TranslateErrorKind) -> Error {
    Error::Translate {
        pattern: src.to_owned(),
        offset,
        kind,
    }
}

impl<'a> Translator<'a> {
    fn new(src: &'a str) -> Self {
        Translator {
            src,
            chars: src.char_indices().collect(),
            i: 0,
            out: String::with_capacity(src.len() * 2),
            fancy: false,
            named_groups: has_named_group(src),
            groups: count_groups(src),
            extended: false,
            stack: Vec::new(),
            last_atom: None,
            last_quant: None,
        }
    }

    fn peek(&self) -> Option<char> {
        self.chars.get(self.i).map(|&(_, c)| c)
    }

    fn peek_at(&self, k: usize) -> Option<char> {
        self.chars.get(self.i + k).map(|&(_, c)| c)
    }

    fn offset(&self) -> usize {
        self.chars.get(self.i).map_or(self.src.len(), |&(o, _)| o)
    }

    fn error(&self, kind: TranslateErrorKind) -> Error {
        err(self.src, self.offset(), kind)
    }

    fn atom_start(&mut self) -> usize {
        self.out.len()
    }

    fn atom_end(&mut self, start: usize) {
        self.last_atom = Some(start);
        self.last_quant = None;
    }

    fn anchor(&mut self) {
        self.last_atom = None;
        self.last_quant = None;
    }

    fn capture_depth(&self) -> usize {
        self.stack.iter().filter(|f| f.capturing).count()
    }

    fn run(&mut self) -> Result<()> {
        while let Some(c) = self.peek() {
            match c {
                '\\' => self.escape()?,
                '(' => self.open_group()?,
                ')' => self.close_group()?,
                '[' => {
                    let start = self.atom_start();
                    self.class()?;
                    self.atom_end(start);
                }
                '*' | '+' | '?' => {
                    self.i += 1;
                    self.quantifier(c, None)?;
                }
                '{' => {
                    if let Some((text, fixed, len)) = self.interval() {
                        self.i += len;
                        self.quantifier('{', Some((text, fixed)))?;
                    } else {
                        self.i += 1;
                        let start = self.atom_start();
                        self.out.push_str(r"\{");
                        self.atom_end(start);
                    }
                }
                '|' => {
                    self.i += 1;
                    self.out.push('|');
                    self.anchor();
                }
                '^' | '$' => {
                    self.i += 1;
                    self.out.push(c);
                    self.anchor();
                }
                '.' => {
                    self.i += 1;
                    let start = self.atom_start();
                    self.out.push('.');
                    self.atom_end(start);
                }
                c if self.extended && c.is_whitespace() => self.i += 1,
                '#' if self.extended => {
                    while let Some(c) = self.peek() {
                        self.i += 1;
                        if c == '\n' {
                            break;
                        }
                    }
                }
                c => {
                    self.i += 1;
                    let start = self.atom_start();
                    push_literal(&mut self.out, c);
                    self.atom_end(start);
                }
            }
        }
        if !self.stack.is_empty() {
            return Err(err(
                self.src,
                self.src.len(),
                TranslateErrorKind::UnclosedGroup,
            ));
        }
        Ok(())
    }

    /// Parses `{n}`, `{n,}`, `{n,m}` or `{,m}` at the cursor. Returns the Rust
    /// text, whether it is a fixed `{n}`, and its length in chars.
    fn interval(&self) -> Option<(String, bool, usize)> {
        let mut k = 1;
        let mut lo = String::new();
        while let Some(c) = self.peek_at(k).filter(char::is_ascii_digit) {
            lo.push(c);
            k += 1;
        }
        let mut hi = None;
        if self.peek_at(k) == Some(',') {
            k += 1;
            let mut h = String::new();
            while let Some(c) = self.peek_at(k).filter(char::is_ascii_digit) {
                h.push(c);
                k += 1;
            }
            hi = Some(h);
        }
        if self.peek_at(k) != Some('}') {
            return None;
        }
        k += 1;
        let text = match (&lo[..], hi.as_deref()) {
            ("", None | Some("")) => return None,
            (lo, None) => return Some((format!("{{{lo}}}"), true, k)),
            ("", Some(hi)) => format!("{{0,{hi}}}"),
            (lo, Some("")) => format!("{{{lo},}}"),
            (lo, Some(hi)) => format!("{{{lo},{hi}}}"),
        };
        Some((text, false, k))
    }

    fn quantifier(&mut self, c: char, interval: Option<(String, bool)>) -> Result<()> {
        let Some(start) = self.last_atom else {
            return Err(err(
                self.src,
                self.offset().saturating_sub(1),
                TranslateErrorKind::NothingToRepeat,
            ));
        };
        if let Some((text, _)) = &interval {
            check_interval(text).map_err(|k| err(self.src, self.offset(), k))?;
        }
        match (self.last_quant, c) {
            (Some(Quant::Greedy | Quant::GreedySimple), '?') => {
                self.out.push('?');
                self.last_quant = Some(Quant::Modified);
                return Ok(());
            }
            (Some(Quant::GreedySimple), '+') => {
                self.out.push('+');
                self.fancy = true;
                self.last_quant = Some(Quant::Modified);
                return Ok(());
            }
            (Some(_), _) => {
                self.out.insert_str(start, "(?:");
                self.out.push(')');
            }
            (None, _) => {}
        }
        if let Some((text, fixed)) = interval {
            self.out.push_str(&text);
            self.last_quant = Some(if fixed { Quant::Fixed } else { Quant::Greedy });
        } else {
            self.out.push(c);
            self.last_quant = Some(Quant::GreedySimple);
        }
        Ok(())
    }

    fn open_group(&mut self) -> Result<()> {
        let open_offset = self.offset();
        if self.stack.len() >= MAX_DEPTH {
            return Err(self.error(TranslateErrorKind::TooDeep));
        }
        self.i += 1;
        let start = self.out.len();
        let mut capturing = false;
        if self.peek() == Some('?') {
            self.i += 1;
            match self.peek() {
                Some(':') => {
                    self.i += 1;
                    self.out.push_str("(?:");
                }
                Some('=' | '!') => {
                    let c = self.peek().unwrap_or('=');
                    self.i += 1;
                    self.fancy = true;
                    self.out.push_str("(?");
                    self.out.push(c);
                }
                Some('>') => {
                    self.i += 1;
                    self.fancy = true;
                    self.out.push_str("(?>");
                }
                Some('<') if matches!(self.peek_at(1), Some('=' | '!')) => {
                    let c = self.peek_at(1).unwrap_or('=');
                    self.i += 2;
                    self.fancy = true;
                    self.out.push_str("(?<");
                    self.out.push(c);
                }
                Some(q @ ('<' | '\'')) => {
                    self.i += 1;
                    let close = if q == '<' { '>' } else { '\'' };
                    let name = self.group_name(close)?;
                    self.out.push_str("(?<");
                    self.out.push_str(&name);
                    self.out.push('>');
                    capturing = true;
                }
                Some('#') => {
                    while let Some(c) = self.peek() {
                        self.i += 1;
                        if c == ')' {
                            return Ok(());
                        }
                        if c == '\\' {
                            self.i += 1;
                        }
                    }
                    return Err(err(
                        self.src,
                        open_offset,
                        TranslateErrorKind::UnclosedGroup,
                    ));
                }
                Some('~') => {
                    return Err(
                        self.error(TranslateErrorKind::Unsupported("absence operator (?~...)"))
                    );
                }
                Some('(') => {
                    return Err(self.error(TranslateErrorKind::Unsupported(
                        "conditional group (?(...)...)",
                    )));
                }
                _ => return self.inline_flags(start),
            }
        } else if self.named_groups {
            // Onigmo: once a pattern has named groups, plain groups do not capture.
            self.out.push_str("(?:");
        } else {
            self.out.push('(');
            capturing = true;
        }
        self.stack.push(Frame {
            out_start: start,
            capturing,
            extended: self.extended,
        });
        self.anchor();
        Ok(())
    }

    fn group_name(&mut self, close: char) -> Result<String> {
        let mut name = String::new();
        while let Some(c) = self.peek() {
            self.i += 1;
            if c == close {
                let valid = name
                    .chars()
                    .next()
                    .is_some_and(|f| f.is_ascii_alphabetic() || f == '_')
                    && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
                if !valid {
                    return Err(self.error(TranslateErrorKind::Unsupported("group name")));
                }
                return Ok(name);
            }
            name.push(c);
        }
        Err(self.error(TranslateErrorKind::UnclosedGroup))
    }

    /// `(?imx-imx)` or `(?imx-imx:...)`; the cursor is after `(?`.
    fn inline_flags(&mut self, start: usize) -> Result<()> {
        let mut on = String::new();
        let mut off = String::new();
        let mut negate = false;
        let mut extended = self.extended;
        loop {
            let Some(c) = self.peek() else {
                return Err(self.error(TranslateErrorKind::UnclosedGroup));
            };
            self.i += 1;
            match c {
                '-' if !negate => negate = true,
                'i' | 'm' => {
                    let rust = if c == 'm' { 's' } else { 'i' };
                    if negate {
                        off.push(rust);
                    } else {
                        on.push(rust);
                    }
                }
                'x' => extended = !negate,
                ')' | ':' => {
                    let flags = match (on.is_empty(), off.is_empty()) {
                        (true, true) => String::new(),
                        (false, true) => on.clone(),
                        (_, false) => format!("{on}-{off}"),
                    };
                    if c == ')' {
                        if !flags.is_empty() {
                            self.out.push_str("(?");
                            self.out.push_str(&flags);
                            self.out.push(')');
                        }
                        self.extended = extended;
                        self.anchor();
                    } else {
                        if self.stack.len() >= MAX_DEPTH {
                            return Err(self.error(TranslateErrorKind::TooDeep));
                        }
                        self.out.push_str("(?");
                        self.out.push_str(&flags);
                        self.out.push(':');
                        self.stack.push(Frame {
                            out_start: start,
                            capturing: false,
                            extended: self.extended,
                        });
                        self.extended = extended;
                        self.anchor();
                    }
                    return Ok(());
                }
                other => {
                    self.i -= 1;
                    return Err(self.error(TranslateErrorKind::UnknownInlineFlag(other)));
                }
            }
        }
    }

    fn close_group(&mut self) -> Result<()> {
        let Some(frame) = self.stack.pop() else {
            return Err(self.error(TranslateErrorKind::UnmatchedParen));
        };
        self.i += 1;
        self.out.push(')');
        self.extended = frame.extended;
        self.atom_end(frame.out_start);
        Ok(())
    }
}

fn check_interval(text: &str) -> std::result::Result<(), TranslateErrorKind> {
    let inner = text.trim_start_matches('{').trim_end_matches('}');
    let mut parts = inner.split(',');
    let lo = parts.next().unwrap_or("");
    let hi = parts.next();
    let parse = |s: &str| -> std::result::Result<Option<u32>, TranslateErrorKind> {
        if s.is_empty() {
            return Ok(None);
        }
        match s.parse::<u32>() {
            Ok(v) if v <= MAX_REPEAT => Ok(Some(v)),
            _ => Err(TranslateErrorKind::BadRepetition),
        }
    };
    let lo = parse(lo)?;
    let hi = match hi {
        Some(h) => parse(h)?,
        None => None,
    };
    if let (Some(lo), Some(hi)) = (lo, hi)
        && lo > hi
    {
        return Err(TranslateErrorKind::BadRepetition);
    }
    Ok(())
}

/// Whether the pattern has an Onigmo named group `(?<name>` / `(?'name'`.
fn has_named_group(src: &str) -> bool {
    let b = src.as_bytes();
    let mut i = 0;
    let mut in_class = 0usize;
    while i < b.len() {
        match b[i] {
            b'\\' => i += 1,
            b'[' => in_class += 1,
            b']' if in_class > 0 => in_class -= 1,
            b'(' if in_class == 0 && b.get(i + 1) == Some(&b'?') => {
                let n = b.get(i + 2).copied();
                let m = b.get(i + 3).copied();
                if (n == Some(b'<') && !matches!(m, Some(b'=' | b'!'))) || n == Some(b'\'') {
                    return true;
                }
            }
            _ => {}
        }
        i += 1;
    }
    false
}

/// Counts `(` that open capturing groups (plain or named), outside classes.
fn count_groups(src: &str) -> usize {
    let b = src.as_bytes();
    let mut i = 0;
    let mut n = 0;
    let mut in_class = 0usize;
    while i < b.len() {
        match b[i] {
            b'\\' => i += 1,
            b'[' => in_class += 1,
            b']' if in_class > 0 => in_class -= 1,
            b'(' if in_class == 0 => match (b.get(i + 1), b.get(i + 2), b.get(i + 3)) {
                (Some(b'?'), Some(b'<'), Some(c)) if *c != b'=' && *c != b'!' => n += 1,
                (Some(b'?'), Some(b'\''), _) => n += 1,
                (Some(b'?'), _, _) => {}
                _ => n += 1,
            },
            _ => {}
        }
        i += 1;
    }
    n
}

fn push_hex(out: &mut String, c: char) {
    use std::fmt::Write as _;
    let _ = write!(out, r"\x{{{:X}}}", u32::from(c));
}

/// A literal outside a bracket expression.
fn push_literal(out: &mut String, c: char) {
    if c.is_control() || c.is_whitespace() && c != ' ' {
        push_hex(out, c);
    } else if regex_syntax_is_meta(c) {
        out.push('\\');
        out.push(c);
    } else {
        out.push(c);
    }
}

fn regex_syntax_is_meta(c: char) -> bool {
    matches!(
        c,
        '\\' | '.'
            | '+'
            | '*'
            | '?'
            | '('
            | ')'
            | '|'
            | '['
            | ']'
            | '{'
            | '}'
            | '^'
            | '$'
            | '#'
            | '&'
            | '-'
            | '~'
    )
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn t(p: &str) -> String {
        translate(p, Flags::default()).unwrap().pattern
    }

    fn matches(p: &str, flags: Flags, text: &str) -> bool {
        let tr = translate(p, flags).unwrap();
        match tr.engine {
            Engine::Linear => regex::Regex::new(&tr.pattern).unwrap().is_match(text),
            Engine::Backtracking => fancy_regex::Regex::new(&tr.pattern)
                .unwrap()
                .is_match(text)
                .unwrap(),
        }
    }

    #[test]
    fn anchors_are_line_anchors() {
        assert!(matches("^foo$", Flags::default(), "x\nfoo\ny"));
        assert!(!matches(r"\Afoo\z", Flags::default(), "x\nfoo\ny"));
        assert!(matches(r"foo\Z", Flags::default(), "foo\n"));
        assert!(!matches(r"foo\Z", Flags::default(), "foo\nx"));
        assert!(!matches(r"foo\z", Flags::default(), "foo\n"));
    }

    #[test]
    fn dot_and_flags() {
        assert!(!matches("a.b", Flags::default(), "a\nb"));
        let dot = Flags {
            dot_newline: true,
            ..Flags::default()
        };
        assert!(matches("a.b", dot, "a\nb"));
        assert!(matches("(?m)a.b", Flags::default(), "a\nb"));
        assert!(matches("(?m:a.b)", Flags::default(), "a\nb"));
        let icase = Flags {
            ignore_case: true,
            ..Flags::default()
        };
        assert!(matches("apache", icase, "APACHE"));
        assert!(matches("(?i)apache", Flags::default(), "APACHE"));
    }

    #[test]
    fn ruby_classes_are_ascii() {
        assert!(matches(r"^\h+$", Flags::default(), "00ffAB"));
        assert!(!matches(r"^\h+$", Flags::default(), "00fg"));
        assert!(!matches(r"^\d$", Flags::default(), "\u{0663}"));
        assert!(!matches(r"^\w$", Flags::default(), "é"));
        assert!(matches(r"^[\w.-]+$", Flags::default(), "a-b.c_d"));
        assert!(matches(r"^[[:alpha:]]+$", Flags::default(), "abc"));
        assert!(matches(r"^[^\s]+$", Flags::default(), "abc"));
        assert!(!matches(r"^[^\s]+$", Flags::default(), "a c"));
    }

    #[test]
    fn quantifier_rules_follow_onigmo() {
        assert_eq!(t("a{,3}"), "(?m)a{0,3}");
        assert_eq!(t("a{2}?"), "(?m)(?:a{2})?");
        assert_eq!(t("a{2,3}+"), "(?m)(?:a{2,3})+");
        assert_eq!(t("a+?"), "(?m)a+?");
        assert_eq!(t("x{foo}"), r"(?m)x\{foo\}");
        let p = translate("a++", Flags::default()).unwrap();
        assert_eq!(p.engine, Engine::Backtracking);
        assert!(translate("*a", Flags::default()).is_err());
    }

    #[test]
    fn named_groups_disable_plain_captures() {
        let tr = t("(?<v>\\d+)(x)");
        assert_eq!(tr, "(?m)(?<v>[[:digit:]]+)(?:x)");
    }

    #[test]
    fn escapes() {
        assert!(matches(
            r"\e\x41\101\u0042\cA",
            Flags::default(),
            "\x1bAAB\x01"
        ));
        assert!(matches(r"a\/b\-c", Flags::default(), "a/b-c"));
        assert!(matches(r"[\x20-\x7e]", Flags::default(), "~"));
        assert!(matches(r"a\Rb", Flags::default(), "a\r\nb"));
    }

    #[test]
    fn class_edge_cases() {
        assert!(matches("^[a-]+$", Flags::default(), "a-a"));
        assert!(matches("^[-a]+$", Flags::default(), "a-a"));
        assert!(matches("^[]a]+$", Flags::default(), "]a"));
        assert!(matches("^[a~&]+$", Flags::default(), "~&a"));
        assert!(matches("^[a-z&&[^aeiou]]+$", Flags::default(), "bcd"));
        assert!(!matches("^[a-z&&[^aeiou]]+$", Flags::default(), "bad"));
    }

    #[test]
    fn backtracking_constructs() {
        for p in [r"(a)\1", r"a(?=b)", r"(?<=a)b", r"(?>a+)b", r"(?<n>a)\k<n>"] {
            assert_eq!(
                translate(p, Flags::default()).unwrap().engine,
                Engine::Backtracking,
                "{p}"
            );
        }
        assert!(matches(r"^(a+)-\1$", Flags::default(), "aa-aa"));
        assert!(!matches(r"^(a+)-\1$", Flags::default(), "aa-a"));
        assert_eq!(
            translate(r"(foo\Z)", Flags::default()).unwrap().engine,
            Engine::Backtracking
        );
    }

    #[test]
    fn extended_mode_strips_comments() {
        assert!(matches("(?x) a b # comment (\n c", Flags::default(), "abc"));
    }

    #[test]
    fn errors_are_reported() {
        for p in [
            "(",
            ")",
            "[a",
            "\\",
            r"\G",
            "(?q)",
            "a{5,2}",
            "[[:alpah:]]",
            "(?~a)",
        ] {
            assert!(
                matches!(translate(p, Flags::default()), Err(Error::Translate { .. })),
                "{p}"
            );
        }
    }
}
