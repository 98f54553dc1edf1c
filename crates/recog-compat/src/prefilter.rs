//! The literal prefilter of [`crate::Matcher`]: the literals every match of a pattern must
//! contain, and one Aho-Corasick automaton over the literals of a whole database.
//!
//! For each linear-time pattern, its syntax tree (`regex-syntax`) gives a few *factors*: sets
//! of strings such that every match of the pattern contains at least one string of each set
//! (`^Apache/(\d+) \(Unix\)` has the factors `{"apache/"}` and `{" (unix)"}`). One
//! Aho-Corasick automaton (ASCII case-insensitive, overlapping) finds every occurrence of
//! every factor string in a banner in one pass; a fingerprint is a *candidate* when each of
//! its factors occurs. Only candidates are run, in file order, so the first match is the
//! first match of the plain scan. A pattern without a usable factor (a backtracking pattern,
//! or one like `^([\w.]+)$`) is always a candidate.
//!
//! Factors are lowercased (ASCII) and searched ASCII case-insensitively, so they may let
//! through more than the pattern matches, never less: the prefilter only skips patterns that
//! cannot match.

use aho_corasick::{AhoCorasick, AhoCorasickKind, MatchKind};
use regex_syntax::hir::{Class, Hir, HirKind};

/// One factor: every match contains at least one of these strings (lowercased, sorted,
/// deduplicated, none empty).
pub(crate) type Factor = Vec<Vec<u8>>;

/// Largest set of exact strings tracked for a sub-pattern (larger sets are cut into factors).
const MAX_EXACT: usize = 64;
/// Largest character class expanded into strings (after ASCII lowercasing).
const MAX_CLASS: usize = 8;
/// Most factors kept per pattern (one bit each in the per-banner mask).
const MAX_FACTORS: usize = 8;
/// Longest string kept in an exact set (longer ones are cut into factors).
const MAX_LITERAL: usize = 256;

/// What the analysis knows about a sub-pattern.
#[derive(Default)]
struct Info {
    /// Every string the sub-pattern can match, when that set is small.
    exact: Option<Vec<Vec<u8>>>,
    /// Factors every match contains.
    factors: Vec<Factor>,
}

impl Info {
    fn exact(set: Vec<Vec<u8>>) -> Self {
        Self {
            exact: Some(normalize(set)),
            factors: Vec::new(),
        }
    }

    /// The factors, with the exact set as one more where it has no empty string.
    fn all_factors(self) -> Vec<Factor> {
        let mut out = self.factors;
        if let Some(e) = self.exact
            && usable(&e)
        {
            out.push(e);
        }
        out
    }

    /// The most selective factor, if any.
    fn best_factor(self) -> Option<Factor> {
        self.all_factors().into_iter().max_by_key(score)
    }
}

fn normalize(mut set: Vec<Vec<u8>>) -> Vec<Vec<u8>> {
    set.sort_unstable();
    set.dedup();
    set
}

/// A factor is usable when it has strings and none is empty (an empty string is always
/// contained in the banner, so it would prune nothing).
fn usable(f: &Factor) -> bool {
    !f.is_empty() && f.iter().all(|s| !s.is_empty())
}

/// Higher is more selective: longer shortest string first, then fewer strings.
fn score(f: &Factor) -> (usize, std::cmp::Reverse<usize>) {
    let min = f.iter().map(Vec::len).min().unwrap_or(0);
    (min.min(16), std::cmp::Reverse(f.len()))
}

fn lower(bytes: &[u8]) -> Vec<u8> {
    bytes.to_ascii_lowercase()
}

/// The strings of a small class, ASCII-lowercased.
fn class_strings(c: &Class) -> Option<Vec<Vec<u8>>> {
    let mut out = Vec::new();
    match c {
        Class::Unicode(u) => {
            let mut count = 0u32;
            for r in u.ranges() {
                count += u32::from(r.end()) - u32::from(r.start()) + 1;
                if count > 2 * MAX_CLASS as u32 {
                    return None;
                }
            }
            for r in u.ranges() {
                for ch in r.start()..=r.end() {
                    let mut buf = [0u8; 4];
                    out.push(lower(ch.encode_utf8(&mut buf).as_bytes()));
                }
            }
        }
        Class::Bytes(b) => {
            let mut count = 0usize;
            for r in b.ranges() {
                count += usize::from(r.end() - r.start()) + 1;
                if count > 2 * MAX_CLASS {
                    return None;
                }
            }
            for r in b.ranges() {
                for byte in r.start()..=r.end() {
                    out.push(vec![byte.to_ascii_lowercase()]);
                }
            }
        }
    }
    let out = normalize(out);
    (out.len() <= MAX_CLASS).then_some(out)
}

/// `a × b` (every string of `a` followed by every string of `b`), if small enough.
fn cross(a: &[Vec<u8>], b: &[Vec<u8>]) -> Option<Vec<Vec<u8>>> {
    if a.len().saturating_mul(b.len()) > MAX_EXACT {
        return None;
    }
    let mut out = Vec::with_capacity(a.len() * b.len());
    for x in a {
        for y in b {
            if x.len() + y.len() > MAX_LITERAL {
                return None;
            }
            let mut s = x.clone();
            s.extend_from_slice(y);
            out.push(s);
        }
    }
    Some(normalize(out))
}

fn push_factor(factors: &mut Vec<Factor>, f: Factor) {
    if usable(&f) {
        factors.push(f);
    }
}

fn analyze(h: &Hir) -> Info {
    match h.kind() {
        HirKind::Empty | HirKind::Look(_) => Info::exact(vec![Vec::new()]),
        HirKind::Literal(l) if l.0.len() <= MAX_LITERAL => Info::exact(vec![lower(&l.0)]),
        HirKind::Literal(l) => Info {
            exact: None,
            factors: vec![vec![lower(&l.0[..MAX_LITERAL])]],
        },
        HirKind::Class(c) => Info {
            exact: class_strings(c),
            factors: Vec::new(),
        },
        HirKind::Capture(c) => analyze(&c.sub),
        HirKind::Repetition(r) => match (r.min, r.max) {
            (_, Some(0)) => Info::exact(vec![Vec::new()]),
            (1, Some(1)) => analyze(&r.sub),
            (0, Some(1)) => Info {
                exact: analyze(&r.sub).exact.map(|mut e| {
                    e.push(Vec::new());
                    normalize(e)
                }),
                factors: Vec::new(),
            },
            (0, _) => Info::default(),
            _ => Info {
                exact: None,
                factors: analyze(&r.sub).all_factors(),
            },
        },
        HirKind::Concat(hs) => concat(hs),
        HirKind::Alternation(hs) => alternation(hs),
    }
}

fn concat(hs: &[Hir]) -> Info {
    let mut run: Vec<Vec<u8>> = vec![Vec::new()];
    let mut whole = true;
    let mut factors = Vec::new();
    for h in hs {
        let info = analyze(h);
        if let Some(e) = info.exact {
            if let Some(c) = cross(&run, &e) {
                run = c;
            } else {
                push_factor(&mut factors, std::mem::replace(&mut run, e));
                whole = false;
            }
        } else {
            push_factor(&mut factors, std::mem::replace(&mut run, vec![Vec::new()]));
            factors.extend(info.factors);
            whole = false;
        }
    }
    if whole {
        Info {
            exact: Some(run),
            factors,
        }
    } else {
        push_factor(&mut factors, run);
        Info {
            exact: None,
            factors,
        }
    }
}

fn alternation(hs: &[Hir]) -> Info {
    let infos: Vec<Info> = hs.iter().map(analyze).collect();
    let exact = if infos.iter().all(|i| i.exact.is_some()) {
        let all: Vec<Vec<u8>> = infos
            .iter()
            .flat_map(|i| i.exact.iter().flatten().cloned())
            .collect();
        let all = normalize(all);
        (all.len() <= MAX_EXACT).then_some(all)
    } else {
        None
    };
    let mut union = Vec::new();
    let mut factors = Vec::new();
    if exact.is_none() {
        let mut ok = true;
        for i in infos {
            match i.best_factor() {
                Some(f) if union.len() + f.len() <= MAX_EXACT => union.extend(f),
                _ => {
                    ok = false;
                    break;
                }
            }
        }
        if ok {
            factors.push(normalize(std::mem::take(&mut union)));
        }
    }
    Info { exact, factors }
}

/// The factors of a translated (Rust syntax) linear-time pattern: every match contains at
/// least one string of each factor. Empty when nothing useful is required (the pattern is
/// then always a candidate) or when the pattern does not parse.
#[cfg(test)]
pub(crate) fn required_factors(pattern: &str) -> Vec<Factor> {
    match regex_syntax::Parser::new().parse(pattern) {
        Ok(hir) => factors_of(&hir),
        Err(_) => Vec::new(),
    }
}

/// The factors of a parsed linear-time pattern: every match contains at least one string
/// of each factor. Empty when nothing useful is required (the pattern is then always a
/// candidate).
pub(crate) fn factors_of(hir: &Hir) -> Vec<Factor> {
    let mut factors = analyze(hir).all_factors();
    factors.sort_by_key(|f| std::cmp::Reverse(score(f)));
    factors.dedup();
    // Single characters prune little and cost a report per occurrence: keep them only when
    // nothing longer is required.
    if factors
        .first()
        .is_some_and(|f| f.iter().all(|s| s.len() >= 2))
    {
        factors.retain(|f| f.iter().all(|s| s.len() >= 2));
    } else {
        factors.truncate(1);
    }
    factors.truncate(MAX_FACTORS);
    factors
}

/// One automaton over the factors of every pattern of a database.
#[derive(Debug, Clone)]
pub(crate) struct LiteralPrefilter {
    /// `None` when no pattern has a factor (or the automaton could not be built): every
    /// pattern is then a candidate.
    ac: Option<AhoCorasick>,
    /// Per automaton pattern: the (entry, factor bit) pairs it satisfies.
    targets: Vec<Vec<(u32, u8)>>,
    /// Per entry: the bits of all its factors (0: always a candidate).
    full: Vec<u8>,
}

impl LiteralPrefilter {
    /// Builds the automaton from each entry's factors (entries in file order).
    pub(crate) fn new(per_entry: &[Vec<Factor>]) -> Self {
        let mut ids: std::collections::HashMap<&[u8], usize> = std::collections::HashMap::new();
        let mut literals: Vec<&[u8]> = Vec::new();
        let mut targets: Vec<Vec<(u32, u8)>> = Vec::new();
        let mut full = vec![0u8; per_entry.len()];
        for (e, factors) in per_entry.iter().enumerate() {
            let Ok(entry) = u32::try_from(e) else { break };
            for (k, factor) in factors.iter().take(MAX_FACTORS).enumerate() {
                let bit = 1u8 << k;
                full[e] |= bit;
                for s in factor {
                    let id = *ids.entry(s.as_slice()).or_insert_with(|| {
                        literals.push(s.as_slice());
                        targets.push(Vec::new());
                        literals.len() - 1
                    });
                    targets[id].push((entry, bit));
                }
            }
        }
        let ac = if literals.is_empty() {
            None
        } else {
            let build = |kind| {
                AhoCorasick::builder()
                    .match_kind(MatchKind::Standard)
                    .ascii_case_insensitive(true)
                    .kind(kind)
                    .build(&literals)
            };
            build(Some(AhoCorasickKind::DFA))
                .or_else(|_| build(None))
                .ok()
        };
        if ac.is_none() {
            full.fill(0);
        }
        Self { ac, targets, full }
    }

    /// The candidate mask of `text`: entry `i` is a candidate when `mask[i] == self.full[i]`
    /// (see [`Self::is_candidate`]).
    pub(crate) fn scan(&self, text: &str) -> Vec<u8> {
        let mut mask = vec![0u8; self.full.len()];
        if let Some(ac) = &self.ac {
            for m in ac.find_overlapping_iter(text) {
                if let Some(ts) = self.targets.get(m.pattern().as_usize()) {
                    for &(e, bit) in ts {
                        if let Some(slot) = mask.get_mut(e as usize) {
                            *slot |= bit;
                        }
                    }
                }
            }
        }
        mask
    }

    /// Whether entry `i` is a candidate under `mask` (from [`Self::scan`]).
    pub(crate) fn is_candidate(&self, mask: &[u8], i: usize) -> bool {
        match (mask.get(i), self.full.get(i)) {
            (Some(m), Some(f)) => m == f,
            _ => true,
        }
    }

    /// How many entries have at least one factor (are not always candidates).
    pub(crate) fn filtered_count(&self) -> usize {
        self.full.iter().filter(|&&f| f != 0).count()
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn f(p: &str) -> Vec<Vec<String>> {
        required_factors(p)
            .into_iter()
            .map(|f| {
                f.into_iter()
                    .map(|s| String::from_utf8(s).unwrap())
                    .collect()
            })
            .collect()
    }

    #[test]
    fn factors_of_typical_patterns() {
        assert_eq!(f(r"(?m)^Apache$"), vec![vec!["apache"]]);
        assert_eq!(
            f(r"(?m)^Apache/(\d+) \(Unix\)"),
            vec![vec!["apache/"], vec![" (unix)"]]
        );
        assert_eq!(f(r"(?m)^(?:Foo|Bar)/\d"), vec![vec!["bar/", "foo/"]]);
        assert_eq!(f(r"(?mi)^kEEp"), vec![vec!["keep", "\u{212a}eep"]]);
        assert_eq!(f(r"(?m)^nginx(?:/1)?$"), vec![vec!["nginx", "nginx/1"]]);
        assert_eq!(f(r"(?m)^(?:ab)+x"), vec![vec!["ab"]]);
        // Nothing required: always a candidate.
        assert!(f(r"(?m)^([\w.]+)$").is_empty());
        assert!(f(r"(?m)^(?:foo)*x?$").is_empty());
        assert!(f(r"(?m)^(?:foo|\d+)").is_empty());
        assert!(f("(unbalanced").is_empty());
    }

    #[test]
    fn candidates_need_every_factor() {
        let factors = vec![
            required_factors(r"(?m)^Apache/(\d+) \(Unix\)"),
            required_factors(r"(?m)^([\w.]+)$"),
            required_factors(r"(?mi)nginx"),
        ];
        let p = LiteralPrefilter::new(&factors);
        assert_eq!(p.filtered_count(), 2);
        let mask = p.scan("APACHE/2 (Unix)");
        assert!(p.is_candidate(&mask, 0));
        assert!(p.is_candidate(&mask, 1));
        assert!(!p.is_candidate(&mask, 2));
        let mask = p.scan("Apache/2 (Win32) NGINX");
        assert!(!p.is_candidate(&mask, 0));
        assert!(p.is_candidate(&mask, 2));
    }
}
