//! Automatic sanitizing of raw fingerprint patterns (the paper did this by
//! hand): version numbers become a named capture, cookie attribute residue
//! becomes an optional tail, near-duplicates collapse.
//!
//! Every rewrite either only widens the pattern's language (so it still
//! matches every sample) or is checked against the samples of the draw(s)
//! that produced the pattern and dropped when any sample stops matching.

use std::collections::BTreeMap;

use crate::pattern::{Pattern, Token};

/// Default cookie attribute names (RFC 6265 and common extensions).
pub const DEFAULT_COOKIE_ATTRIBUTES: &[&str] = &[
    "path",
    "expires",
    "domain",
    "max-age",
    "httponly",
    "secure",
    "samesite",
    "priority",
    "partitioned",
    "version",
    "comment",
];

/// Which rewrites to apply.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct SanitizeOptions {
    pub versions: bool,
    pub cookie: bool,
    pub cookie_attributes: Vec<String>,
    pub digits_at_gaps: bool,
}

fn matches_all(p: &Pattern, samples: &[&[u8]]) -> bool {
    p.compile()
        .is_ok_and(|re| samples.iter().all(|s| re.is_match(s)))
}

/// Sanitizes one raw pattern given the samples it was derived from; `cookie`
/// says whether the header is a cookie header.
pub(crate) fn sanitize(
    p: &Pattern,
    samples: &[&[u8]],
    cookie: bool,
    opts: &SanitizeOptions,
) -> Pattern {
    let mut p = p.clone();
    if cookie && opts.cookie {
        p = cookie_tail(&p, samples, &opts.cookie_attributes);
    }
    if opts.versions {
        p = versions_in_literals(&p);
        p = versions_at_gaps(&p, samples);
    }
    if opts.digits_at_gaps {
        p = digits_into_gaps(&p);
    }
    p
}

/// Digit runs that touch a gap (`q2` gap, gap `7w`) are the visible end of
/// a varying number (a session id that happened to share a digit across a
/// draw): they join the gap. Dotted versions are handled before this. Only
/// widens the language.
fn digits_into_gaps(p: &Pattern) -> Pattern {
    let mut out = p.tokens().to_vec();
    for i in 0..out.len() {
        let gap_before = i > 0 && matches!(out[i - 1], Token::Gap | Token::CookieValue);
        let gap_after = matches!(out.get(i + 1), Some(Token::Gap | Token::CookieValue));
        if let Token::Lit(l) = &mut out[i] {
            if gap_after {
                let keep = l.len() - l.iter().rev().take_while(|b| b.is_ascii_digit()).count();
                l.truncate(keep);
            }
            if gap_before {
                let lead = l.iter().take_while(|b| b.is_ascii_digit()).count();
                l.drain(..lead);
            }
        }
    }
    Pattern::from_tokens(out)
}

fn is_introducer(lit: &[u8], at: usize) -> bool {
    // `at` is the index of the first digit; look at the byte before.
    let Some(&prev) = at.checked_sub(1).and_then(|i| lit.get(i)) else {
        return false;
    };
    match prev {
        b'/' | b' ' | b'-' | b'_' | b'(' | b':' => true,
        b'v' | b'V' => at < 2 || !lit[at - 2].is_ascii_alphanumeric(),
        _ => false,
    }
}

/// Dotted numbers (`1.18.0`, at least one dot) after an introducer (`/`,
/// space, `-`, `_`, `(`, `:`, or a standalone `v`) inside a literal become
/// [`Token::Version`]. A dotted number at the very end of a literal that a
/// gap follows is left to [`versions_at_gaps`] (it may continue in the gap).
/// Only widens the language.
fn versions_in_literals(p: &Pattern) -> Pattern {
    let toks = p.tokens();
    let mut out = Vec::with_capacity(toks.len());
    for (ti, t) in toks.iter().enumerate() {
        let Token::Lit(lit) = t else {
            out.push(t.clone());
            continue;
        };
        let gap_follows = toks.get(ti + 1) == Some(&Token::Gap);
        let mut last = 0;
        let mut i = 0;
        while i < lit.len() {
            if lit[i].is_ascii_digit() && is_introducer(lit, i) {
                let end = dotted_end(lit, i);
                let dotted = lit[i..end].contains(&b'.');
                let at_end = end == lit.len() || (end + 1 == lit.len() && lit[end] == b'.');
                if dotted && !(at_end && gap_follows) {
                    let end = suffix_end(lit, end);
                    out.push(Token::Lit(lit[last..i].to_vec()));
                    out.push(Token::Version);
                    last = end;
                    i = end;
                    continue;
                }
            }
            i += 1;
        }
        out.push(Token::Lit(lit[last..].to_vec()));
    }
    Pattern::from_tokens(out)
}

/// End of an optional version suffix `[a-z]+[0-9]*` (`k`, `rc21`) at `i`.
fn suffix_end(lit: &[u8], i: usize) -> usize {
    let letters = lit[i..]
        .iter()
        .take_while(|b| b.is_ascii_lowercase())
        .count();
    if letters == 0 {
        return i;
    }
    let digits = lit[i + letters..]
        .iter()
        .take_while(|b| b.is_ascii_digit())
        .count();
    i + letters + digits
}

/// End of the dotted number `[0-9]+(\.[0-9]+)*` starting at `i`.
fn dotted_end(lit: &[u8], i: usize) -> usize {
    let mut end = i;
    while end < lit.len() && lit[end].is_ascii_digit() {
        end += 1;
    }
    while end + 1 < lit.len() && lit[end] == b'.' && lit[end + 1].is_ascii_digit() {
        end += 1;
        while end < lit.len() && lit[end].is_ascii_digit() {
            end += 1;
        }
    }
    end
}

/// A version cut by a gap (`Apache/2.4.` gap `1 (Ubuntu)`): the digits and
/// dots that end the literal before the gap (after an introducer), the gap,
/// and the digits and dots that start the literal after it become one
/// [`Token::Version`] (when that visible part has a dot); if the samples disagree, the gap is kept after the
/// version; if they still disagree, nothing changes.
fn versions_at_gaps(p: &Pattern, samples: &[&[u8]]) -> Pattern {
    let mut cur = p.clone();
    let mut g = 1;
    while g < cur.tokens().len() {
        let toks = cur.tokens();
        let (Some(Token::Lit(left)), Token::Gap) = (toks.get(g - 1), &toks[g]) else {
            g += 1;
            continue;
        };
        // Trailing [0-9.]* of the left literal, starting with a digit.
        let mut cut = left.len();
        while cut > 0 && (left[cut - 1].is_ascii_digit() || left[cut - 1] == b'.') {
            cut -= 1;
        }
        while cut < left.len() && left[cut] == b'.' {
            cut += 1;
        }
        if cut == 0 || !is_introducer(left, cut) {
            g += 1;
            continue;
        }
        let right = match toks.get(g + 1) {
            Some(Token::Lit(r)) => Some(r),
            _ => None,
        };
        let lead = right.map_or(0, |r| {
            r.iter()
                .take_while(|b| b.is_ascii_digit() || **b == b'.')
                .count()
        });
        // The visible part must look dotted, or this is just a number.
        let dotted =
            left[cut..].contains(&b'.') || right.is_some_and(|r| r[..lead].contains(&b'.'));
        if !dotted {
            g += 1;
            continue;
        }
        let mut tight: Vec<Token> = toks[..g - 1].to_vec();
        tight.push(Token::Lit(left[..cut].to_vec()));
        tight.push(Token::Version);
        let mut loose = tight.clone();
        loose.push(Token::Gap);
        if let Some(r) = right {
            tight.push(Token::Lit(r[lead..].to_vec()));
            loose.push(Token::Lit(r.clone()));
            tight.extend_from_slice(&toks[g + 2..]);
            loose.extend_from_slice(&toks[g + 2..]);
        } else {
            tight.extend_from_slice(&toks[g + 1..]);
            loose.extend_from_slice(&toks[g + 1..]);
        }
        let tight = Pattern::from_tokens(tight);
        let loose = Pattern::from_tokens(loose);
        if matches_all(&tight, samples) {
            cur = tight;
        } else if matches_all(&loose, samples) {
            cur = loose;
        }
        g += 1;
    }
    cur
}

/// Truncates a cookie pattern at the first attribute (`; path=`, `;
/// HttpOnly`...) into [`Token::CookieTail`], then tries to narrow the gaps
/// before the tail to cookie values (`[^;]*`), kept only if every sample
/// still matches.
fn cookie_tail(p: &Pattern, samples: &[&[u8]], attributes: &[String]) -> Pattern {
    let toks = p.tokens();
    let mut cut: Option<(usize, usize)> = None;
    'outer: for (ti, t) in toks.iter().enumerate() {
        let Token::Lit(lit) = t else { continue };
        for (i, &b) in lit.iter().enumerate() {
            if b != b';' {
                continue;
            }
            let rest = &lit[i + 1..];
            let rest = &rest[rest
                .iter()
                .take_while(|b| **b == b' ' || **b == b'\t')
                .count()..];
            let is_attr = attributes.iter().any(|a| {
                let a = a.as_bytes();
                rest.len() >= a.len()
                    && rest[..a.len()].eq_ignore_ascii_case(a)
                    && matches!(rest.get(a.len()), None | Some(b'=' | b';' | b' '))
            });
            if is_attr {
                cut = Some((ti, i));
                break 'outer;
            }
        }
    }
    let Some((ti, i)) = cut else { return p.clone() };
    let Token::Lit(lit) = &toks[ti] else {
        return p.clone();
    };
    let mut out: Vec<Token> = toks[..ti].to_vec();
    out.push(Token::Lit(lit[..i].to_vec()));
    out.push(Token::CookieTail);
    let widened = Pattern::from_tokens(out);
    // Narrow the gaps of the name=value part to `[^;]*` when the samples
    // allow: all of them, else only the one before the tail.
    let toks = widened.tokens();
    let all: Vec<Token> = toks
        .iter()
        .map(|t| {
            if *t == Token::Gap {
                Token::CookieValue
            } else {
                t.clone()
            }
        })
        .collect();
    let mut last_only = toks.to_vec();
    if toks.len() >= 2 && toks[toks.len() - 2] == Token::Gap {
        let at = toks.len() - 2;
        last_only[at] = Token::CookieValue;
    }
    for candidate in [all, last_only] {
        let candidate = Pattern::from_tokens(candidate);
        if candidate != widened && matches_all(&candidate, samples) {
            return candidate;
        }
    }
    widened
}

/// Skeleton of a pattern modulo digits: every run of ASCII digits inside a
/// literal replaced by one placeholder token.
fn skeleton(p: &Pattern) -> Vec<SkelTok> {
    let mut out = Vec::new();
    for t in p.tokens() {
        match t {
            Token::Lit(l) => {
                let mut i = 0;
                while i < l.len() {
                    let digit = l[i].is_ascii_digit();
                    let j = i + l[i..]
                        .iter()
                        .take_while(|b| b.is_ascii_digit() == digit)
                        .count();
                    if digit {
                        out.push(SkelTok::Digits(l[i..j].to_vec()));
                    } else {
                        out.push(SkelTok::Text(l[i..j].to_vec()));
                    }
                    i = j;
                }
            }
            other => out.push(SkelTok::Other(other.clone())),
        }
    }
    out
}

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
enum SkelTok {
    Text(Vec<u8>),
    Digits(Vec<u8>),
    Other(Token),
}

fn skeleton_key(s: &[SkelTok]) -> Vec<SkelTok> {
    s.iter()
        .map(|t| match t {
            SkelTok::Digits(_) => SkelTok::Digits(Vec::new()),
            o => o.clone(),
        })
        .collect()
}

/// Groups patterns that are equal modulo the digits in their literals.
/// Returns, for every input pattern, the index of its group, and per group
/// the merged pattern: digit runs that differ within the group become
/// [`Token::Digits`] (a group of one keeps its pattern). Merged patterns
/// only widen each member's language.
pub(crate) fn collapse(patterns: &[Pattern]) -> (Vec<usize>, Vec<Pattern>) {
    let skels: Vec<Vec<SkelTok>> = patterns.iter().map(skeleton).collect();
    let mut groups: BTreeMap<Vec<SkelTok>, usize> = BTreeMap::new();
    let mut group_of = Vec::with_capacity(patterns.len());
    let mut members: Vec<Vec<usize>> = Vec::new();
    for (i, s) in skels.iter().enumerate() {
        let next = members.len();
        let g = *groups.entry(skeleton_key(s)).or_insert(next);
        if g == next {
            members.push(Vec::new());
        }
        members[g].push(i);
        group_of.push(g);
    }
    let merged = members
        .iter()
        .map(|m| {
            let first = &skels[m[0]];
            let tokens = first.iter().enumerate().map(|(pos, t)| match t {
                SkelTok::Digits(d) => {
                    if m.iter()
                        .all(|&o| skels[o][pos] == SkelTok::Digits(d.clone()))
                    {
                        Token::Lit(d.clone())
                    } else {
                        Token::Digits
                    }
                }
                SkelTok::Text(x) => Token::Lit(x.clone()),
                SkelTok::Other(o) => o.clone(),
            });
            Pattern::from_tokens(tokens)
        })
        .collect();
    (group_of, merged)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pieces::CommonPieces;

    fn opts() -> SanitizeOptions {
        SanitizeOptions {
            versions: true,
            cookie: true,
            cookie_attributes: DEFAULT_COOKIE_ATTRIBUTES
                .iter()
                .map(|s| (*s).to_owned())
                .collect(),
            digits_at_gaps: true,
        }
    }

    fn lcs_sanitized(values: &[&str], cookie: bool) -> String {
        let bytes: Vec<&[u8]> = values.iter().map(|v| v.as_bytes()).collect();
        let raw = Pattern::from_pieces(&CommonPieces::find(&bytes, 5));
        let p = sanitize(&raw, &bytes, cookie, &opts());
        let re = p.compile().expect("compiles");
        assert!(
            bytes.iter().all(|b| re.is_match(b)),
            "{} must match all",
            p.regex()
        );
        p.regex()
    }

    #[test]
    fn version_inside_a_literal() {
        assert_eq!(
            lcs_sanitized(&["nginx/1.18.0", "nginx/1.18.0"], false),
            r"^nginx/(?P<version>[0-9]+(?:\.[0-9]+)*(?:[a-z]+[0-9]*)?)$"
        );
        assert_eq!(
            lcs_sanitized(
                &[
                    "Apache/2.4.41 (Ubuntu) OpenSSL/1.1.1f",
                    "Apache/2.4.41 (Ubuntu) OpenSSL/1.1.1f"
                ],
                false
            ),
            r"^Apache/(?P<version>[0-9]+(?:\.[0-9]+)*(?:[a-z]+[0-9]*)?)\x20\(Ubuntu\)\x20OpenSSL/[0-9]+(?:\.[0-9]+)*(?:[a-z]+[0-9]*)?$"
        );
    }

    #[test]
    fn version_suffixes() {
        assert_eq!(
            lcs_sanitized(&["Boa/0.94.14rc21", "Boa/0.94.14rc21"], false),
            r"^Boa/(?P<version>[0-9]+(?:\.[0-9]+)*(?:[a-z]+[0-9]*)?)$"
        );
        assert_eq!(
            lcs_sanitized(&["Boa/0.94.14rc21", "Boa/0.94.13rc21"], false),
            r"^Boa/(?P<version>[0-9]+(?:\.[0-9]+)*(?:[a-z]+[0-9]*)?)$"
        );
        assert_eq!(
            lcs_sanitized(&["OpenSSL/1.0.2k-fips", "OpenSSL/1.0.2k-fips"], false),
            r"^OpenSSL/(?P<version>[0-9]+(?:\.[0-9]+)*(?:[a-z]+[0-9]*)?)\-fips$"
        );
    }

    #[test]
    fn version_across_a_gap() {
        assert_eq!(
            lcs_sanitized(
                &[
                    "Apache/2.4.41 (Ubuntu)",
                    "Apache/2.4.29 (Ubuntu)",
                    "Apache/2.4.52 (Ubuntu)"
                ],
                false
            ),
            r"^Apache/(?P<version>[0-9]+(?:\.[0-9]+)*(?:[a-z]+[0-9]*)?)\x20\(Ubuntu\)$"
        );
        // A gap that is not only a version keeps a gap after it.
        assert_eq!(
            lcs_sanitized(
                &["lighttpd/1.4.55 build-77", "lighttpd/1.4.59 build-xy"],
                false
            ),
            r"^lighttpd/(?P<version>[0-9]+(?:\.[0-9]+)*(?:[a-z]+[0-9]*)?)\x20build\-"
        );
        // Not a version position: left alone.
        assert_eq!(
            lcs_sanitized(&["abcdefg-xyz", "abcdefg+uvw"], false),
            "^abcdefg"
        );
    }

    #[test]
    fn cookie_residue_becomes_optional_tail() {
        assert_eq!(
            lcs_sanitized(
                &[
                    "PHPSESSID=8a7sd6f87as6df; path=/; HttpOnly",
                    "PHPSESSID=kq2l3j4h5g6f7d; path=/"
                ],
                true
            ),
            "^PHPSESSID=[^;]*(?:;.*)?$"
        );
        // Residue-only patterns become bare (and are dropped by the caller).
        let bytes: [&[u8]; 2] = [b"a=1; path=/; secure", b"b=2; path=/; secure"];
        let raw = Pattern::from_pieces(&CommonPieces::find(&bytes, 5));
        assert!(sanitize(&raw, &bytes, true, &opts()).is_bare());
        // Not a cookie header: untouched.
        assert_eq!(
            lcs_sanitized(&["x=1; path=/abc", "x=1; path=/abc"], false),
            "^x=1;\\x20path=/abc$"
        );
    }

    #[test]
    fn digits_touching_gaps_join_them() {
        assert_eq!(
            lcs_sanitized(
                &[
                    "ASP.NET_SessionId=q20aaw; path=/",
                    "ASP.NET_SessionId=q23bbw; path=/"
                ],
                true
            ),
            "^ASP\\.NET_SessionId=q[^;]*w(?:;.*)?$"
        );
        assert_eq!(
            lcs_sanitized(&["ident 12345-abcdef", "ident 99345-abcdef"], false),
            r"^ident\x20.*\-abcdef$"
        );
    }

    #[test]
    fn collapse_near_duplicates() {
        let a = Pattern::from_tokens([Token::Lit(b"Foo 12 build 7".to_vec())]);
        let b = Pattern::from_tokens([Token::Lit(b"Foo 13 build 7".to_vec())]);
        let c = Pattern::from_tokens([Token::Lit(b"Bar".to_vec())]);
        let (groups, merged) = collapse(&[a, b, c]);
        assert_eq!(groups, [0, 0, 1]);
        assert_eq!(merged[0].regex(), r"^Foo\x20[0-9]+\x20build\x207$");
        assert_eq!(merged[1].regex(), "^Bar$");
    }
}
