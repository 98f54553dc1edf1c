//! The bracket-expression parser: `[...]` with ranges, negation, POSIX
//! classes, nested classes and `&&` intersections.

use super::escape::posix_for;
use super::{Frame, MAX_DEPTH, Translator, err, push_hex};
use crate::error::{Result, TranslateErrorKind};

impl Translator<'_> {
    /// A bracket expression; the cursor is at `[`.
    pub(super) fn class(&mut self) -> Result<()> {
        let open = self.offset();
        if self.stack.len() >= MAX_DEPTH {
            return Err(self.error(TranslateErrorKind::TooDeep));
        }
        self.i += 1;
        self.out.push('[');
        if self.peek() == Some('^') {
            self.i += 1;
            self.out.push('^');
        }
        let mut first = true;
        loop {
            let Some(c) = self.peek() else {
                return Err(err(self.src, open, TranslateErrorKind::UnclosedClass));
            };
            if c == ']' && !first {
                self.i += 1;
                self.out.push(']');
                return Ok(());
            }
            first = false;
            if c == '&' && self.peek_at(1) == Some('&') {
                self.i += 2;
                self.out.push_str("&&");
                continue;
            }
            match self.class_item()? {
                Item::Set(s) => self.out.push_str(&s),
                Item::Char(lo) => {
                    let is_range =
                        self.peek() == Some('-') && self.peek_at(1).is_some_and(|n| n != ']');
                    if is_range {
                        self.i += 1;
                        let hi_offset = self.offset();
                        match self.class_item()? {
                            Item::Char(hi) => {
                                if hi < lo {
                                    return Err(err(
                                        self.src,
                                        hi_offset,
                                        TranslateErrorKind::Unsupported("empty range in class"),
                                    ));
                                }
                                push_class_char(&mut self.out, lo);
                                self.out.push('-');
                                push_class_char(&mut self.out, hi);
                            }
                            Item::Set(_) => {
                                return Err(err(
                                    self.src,
                                    hi_offset,
                                    TranslateErrorKind::Unsupported("range ending in a class"),
                                ));
                            }
                        }
                    } else {
                        push_class_char(&mut self.out, lo);
                    }
                }
            }
        }
    }

    fn class_item(&mut self) -> Result<Item> {
        let item_offset = self.offset();
        let Some(c) = self.peek() else {
            return Err(self.error(TranslateErrorKind::UnclosedClass));
        };
        match c {
            '[' if self.peek_at(1) == Some(':') => {
                // POSIX bracket `[:name:]` or `[:^name:]`, else a nested class.
                let mut k = 2;
                let mut name = String::new();
                while let Some(ch) = self.peek_at(k) {
                    if ch == ':' || !(ch.is_ascii_alphabetic() || ch == '^') || name.len() > 8 {
                        break;
                    }
                    name.push(ch);
                    k += 1;
                }
                if self.peek_at(k) == Some(':') && self.peek_at(k + 1) == Some(']') {
                    let bare = name.strip_prefix('^').unwrap_or(&name);
                    if !POSIX.contains(&bare) {
                        return Err(self.error(TranslateErrorKind::UnknownPosixClass));
                    }
                    self.i += k + 2;
                    return Ok(Item::Set(format!("[:{name}:]")));
                }
                self.nested_class()
            }
            '[' => self.nested_class(),
            '\\' => {
                self.i += 1;
                let Some(e) = self.peek() else {
                    return Err(err(
                        self.src,
                        item_offset,
                        TranslateErrorKind::TrailingBackslash,
                    ));
                };
                self.i += 1;
                match e {
                    'd' | 'D' | 'w' | 'W' | 's' | 'S' | 'h' | 'H' => {
                        Ok(Item::Set(posix_for(e).to_owned()))
                    }
                    'p' | 'P' => Ok(Item::Set(self.property(e, item_offset)?)),
                    'b' => Ok(Item::Char('\x08')),
                    'R' | 'X' | 'A' | 'z' | 'Z' | 'G' | 'K' | 'k' | 'g' | 'B' => Err(err(
                        self.src,
                        item_offset,
                        TranslateErrorKind::Unsupported("this escape inside a character class"),
                    )),
                    '1'..='9' if !e.is_digit(8) => Ok(Item::Char(e)),
                    _ => Ok(Item::Char(self.escaped_char(e, item_offset)?)),
                }
            }
            c => {
                self.i += 1;
                Ok(Item::Char(c))
            }
        }
    }

    fn nested_class(&mut self) -> Result<Item> {
        let before = std::mem::take(&mut self.out);
        // Count the nesting against the depth limit through the group stack.
        self.stack.push(Frame {
            out_start: 0,
            capturing: false,
            extended: self.extended,
        });
        let r = self.class();
        self.stack.pop();
        let inner = std::mem::replace(&mut self.out, before);
        r.map(|()| Item::Set(inner))
    }
}

enum Item {
    Char(char),
    Set(String),
}

const POSIX: [&str; 14] = [
    "alnum", "alpha", "ascii", "blank", "cntrl", "digit", "graph", "lower", "print", "punct",
    "space", "upper", "xdigit", "word",
];

/// A literal inside a bracket expression.
fn push_class_char(out: &mut String, c: char) {
    if c.is_control() || c.is_whitespace() {
        push_hex(out, c);
    } else if matches!(c, '[' | ']' | '\\' | '^' | '-' | '&' | '~') {
        out.push('\\');
        out.push(c);
    } else {
        out.push(c);
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use crate::{Flags, translate};

    fn t(p: &str) -> String {
        translate(p, Flags::default()).unwrap().pattern
    }

    #[test]
    fn known_answers() {
        assert_eq!(t(r"[a-z\d]"), "(?m)[a-z[:digit:]]");
        assert_eq!(t(r"[^\s]"), "(?m)[^[:space:]]");
        assert_eq!(t("[]a-]"), r"(?m)[\]a\-]");
        assert_eq!(t("[[:alpha:]_]"), "(?m)[[:alpha:]_]");
        let mut out = String::new();
        super::push_class_char(&mut out, '^');
        super::push_class_char(&mut out, '\t');
        assert_eq!(out, r"\^\x{9}");
    }
}
