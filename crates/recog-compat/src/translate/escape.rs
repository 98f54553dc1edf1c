//! The escape parser: `\` sequences outside and inside bracket expressions
//! (Ruby's ASCII classes `\d \w \s \h`, `\Z`, `\R`, control, octal, hex and
//! Unicode escapes, `\p{..}` properties, backreferences).

use super::{Translator, err, push_literal};
use crate::error::{Result, TranslateErrorKind};

impl Translator<'_> {
    pub(super) fn escape(&mut self) -> Result<()> {
        let esc_offset = self.offset();
        self.i += 1;
        let Some(c) = self.peek() else {
            return Err(err(
                self.src,
                esc_offset,
                TranslateErrorKind::TrailingBackslash,
            ));
        };
        self.i += 1;
        let start = self.atom_start();
        match c {
            'A' => {
                self.out.push_str(r"\A");
                self.anchor();
            }
            'z' => {
                self.out.push_str(r"\z");
                self.anchor();
            }
            'Z' => {
                if self.capture_depth() > 0 {
                    self.fancy = true;
                    self.out.push_str(r"(?=\n?\z)");
                } else {
                    self.out.push_str(r"\n?\z");
                }
                self.anchor();
            }
            'b' | 'B' => {
                self.out.push('\\');
                self.out.push(c);
                self.anchor();
            }
            'G' | 'K' | 'X' | 'g' => {
                let what = match c {
                    'G' => r"\G",
                    'K' => r"\K",
                    'X' => r"\X",
                    _ => r"subexpression call \g",
                };
                return Err(err(
                    self.src,
                    esc_offset,
                    TranslateErrorKind::Unsupported(what),
                ));
            }
            'd' | 'D' | 'w' | 'W' | 's' | 'S' | 'h' | 'H' => {
                self.out.push('[');
                self.out.push_str(posix_for(c));
                self.out.push(']');
                self.atom_end(start);
            }
            'R' => {
                self.out
                    .push_str(r"(?:\r\n|[\n\x0B\x0C\r\x{85}\x{2028}\x{2029}])");
                self.atom_end(start);
            }
            'k' => {
                let close = match self.peek() {
                    Some('<') => '>',
                    Some('\'') => '\'',
                    _ => return Err(err(self.src, esc_offset, TranslateErrorKind::BadEscape)),
                };
                self.i += 1;
                let mut name = String::new();
                loop {
                    match self.peek() {
                        Some(c) if c == close => {
                            self.i += 1;
                            break;
                        }
                        Some(c) if c.is_ascii_alphanumeric() || c == '_' => {
                            name.push(c);
                            self.i += 1;
                        }
                        _ => return Err(err(self.src, esc_offset, TranslateErrorKind::BadEscape)),
                    }
                }
                if name.is_empty() {
                    return Err(err(self.src, esc_offset, TranslateErrorKind::BadEscape));
                }
                self.fancy = true;
                if name.bytes().all(|b| b.is_ascii_digit()) {
                    self.out.push('\\');
                    self.out.push_str(&name);
                } else {
                    self.out.push_str(r"\k<");
                    self.out.push_str(&name);
                    self.out.push('>');
                }
                self.atom_end(start);
            }
            '1'..='9' => {
                // Onigmo: `\N` with one digit is a backreference; with more
                // digits it is one if that many groups exist, else octal.
                let mut digits = String::from(c);
                let mut k = 0;
                while let Some(d) = self.peek_at(k).filter(char::is_ascii_digit) {
                    if digits.len() >= 3 {
                        break;
                    }
                    digits.push(d);
                    k += 1;
                }
                let n: usize = digits.parse().unwrap_or(usize::MAX);
                if digits.len() > 1 && n > self.groups && c.is_digit(8) {
                    let ch = self.escaped_char(c, esc_offset)?;
                    push_literal(&mut self.out, ch);
                    self.atom_end(start);
                    return Ok(());
                }
                if digits.len() > 1 && n > self.groups {
                    digits.truncate(1);
                }
                self.i += digits.len() - 1;
                self.fancy = true;
                self.out.push('\\');
                self.out.push_str(&digits);
                // A literal digit after the backreference must not merge into it.
                if self.peek().is_some_and(|d| d.is_ascii_digit()) {
                    self.out.push_str("(?:)");
                }
                self.atom_end(start);
            }
            'p' | 'P' => {
                let set = self.property(c, esc_offset)?;
                self.out.push_str(&set);
                self.atom_end(start);
            }
            _ => {
                let ch = self.escaped_char(c, esc_offset)?;
                push_literal(&mut self.out, ch);
                self.atom_end(start);
            }
        }
        Ok(())
    }

    /// `\p{Name}`, `\p{^Name}`, `\P{Name}`; the cursor is after `p`/`P`.
    pub(super) fn property(&mut self, c: char, esc_offset: usize) -> Result<String> {
        if self.peek() != Some('{') {
            return Err(err(self.src, esc_offset, TranslateErrorKind::BadEscape));
        }
        self.i += 1;
        let mut negated = c == 'P';
        if self.peek() == Some('^') {
            negated = !negated;
            self.i += 1;
        }
        let mut name = String::new();
        loop {
            match self.peek() {
                Some('}') => {
                    self.i += 1;
                    break;
                }
                Some(ch) if ch.is_ascii_alphanumeric() || ch == '_' || ch == ' ' || ch == '-' => {
                    name.push(ch);
                    self.i += 1;
                }
                _ => return Err(err(self.src, esc_offset, TranslateErrorKind::BadEscape)),
            }
        }
        if name.is_empty() {
            return Err(err(self.src, esc_offset, TranslateErrorKind::BadEscape));
        }
        Ok(format!(r"\{}{{{name}}}", if negated { 'P' } else { 'p' }))
    }

    /// Resolves a single-character escape (the char after `\`, cursor after it).
    pub(super) fn escaped_char(&mut self, c: char, esc_offset: usize) -> Result<char> {
        let bad = |t: &Self| err(t.src, esc_offset, TranslateErrorKind::BadEscape);
        Ok(match c {
            'n' => '\n',
            't' => '\t',
            'r' => '\r',
            'f' => '\x0C',
            'v' => '\x0B',
            'a' => '\x07',
            'e' => '\x1B',
            'x' => {
                let mut v = 0u32;
                let mut n = 0;
                while n < 2 {
                    match self.peek().and_then(|d| d.to_digit(16)) {
                        Some(d) => {
                            v = v * 16 + d;
                            n += 1;
                            self.i += 1;
                        }
                        None => break,
                    }
                }
                if n == 0 {
                    return Err(bad(self));
                }
                char::from_u32(v).ok_or_else(|| bad(self))?
            }
            'u' => {
                let mut v = 0u32;
                if self.peek() == Some('{') {
                    self.i += 1;
                    let mut n = 0;
                    loop {
                        match self.peek() {
                            Some('}') if n > 0 => {
                                self.i += 1;
                                break;
                            }
                            Some(d) if d.is_ascii_hexdigit() && n < 6 => {
                                v = v * 16 + d.to_digit(16).unwrap_or(0);
                                n += 1;
                                self.i += 1;
                            }
                            _ => return Err(bad(self)),
                        }
                    }
                } else {
                    for _ in 0..4 {
                        let d = self
                            .peek()
                            .and_then(|d| d.to_digit(16))
                            .ok_or_else(|| bad(self))?;
                        v = v * 16 + d;
                        self.i += 1;
                    }
                }
                char::from_u32(v).ok_or_else(|| bad(self))?
            }
            '0'..='7' => {
                // Octal: up to three digits in total (`\0`, `\07`, `\012`).
                let mut v = c.to_digit(8).unwrap_or(0);
                for _ in 0..2 {
                    match self.peek().and_then(|d| d.to_digit(8)) {
                        Some(d) => {
                            v = v * 8 + d;
                            self.i += 1;
                        }
                        None => break,
                    }
                }
                char::from_u32(v).ok_or_else(|| bad(self))?
            }
            'c' => {
                let x = self.peek().ok_or_else(|| bad(self))?;
                if !x.is_ascii() {
                    return Err(bad(self));
                }
                self.i += 1;
                char::from(x as u8 & 0x1F)
            }
            'C' | 'M' => {
                return Err(err(
                    self.src,
                    esc_offset,
                    TranslateErrorKind::Unsupported(r"\C- / \M- escapes"),
                ));
            }
            // Any other escaped character stands for itself.
            other => other,
        })
    }
}

/// The POSIX class for a Ruby class escape (`\d`, `\D`, `\w`, ...).
pub(super) fn posix_for(c: char) -> &'static str {
    match c {
        'd' => "[:digit:]",
        'D' => "[:^digit:]",
        'w' => "[:word:]",
        'W' => "[:^word:]",
        's' => "[:space:]",
        'S' => "[:^space:]",
        'h' => "[:xdigit:]",
        _ => "[:^xdigit:]",
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
        assert_eq!(t(r"\d\h\W"), "(?m)[[:digit:]][[:xdigit:]][[:^word:]]");
        assert_eq!(t(r"\e\x41\101\u{42}"), r"(?m)\x{1B}AAB");
        assert_eq!(t(r"a\/b\."), r"(?m)a/b\.");
        assert_eq!(super::posix_for('s'), "[:space:]");
        assert_eq!(super::posix_for('H'), "[:^xdigit:]");
    }
}
