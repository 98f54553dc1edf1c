//! Python difflib's `SequenceMatcher.get_matching_blocks` (no junk, autojunk
//! off), exactly, and the pairwise fold of the authors' published method.
//!
//! `find_longest_match` returns the longest matching block; among equally
//! long ones the one that starts earliest in `a`, and of those the one that
//! starts earliest in `b`. `get_matching_blocks` applies it recursively to the
//! parts left and right of each block, sorts the blocks and merges those that
//! are adjacent in both sequences.
//!
//! banner-parse exposes the same routine on byte strings
//! (`banner_parse::matching_blocks`, used for its stable/dynamic labels);
//! the fold needs one extension it does not have: symbols in `a` that match
//! nothing (the gaps of the running pattern), so this module keeps a private
//! matcher over `u16` symbols, tested against banner-parse's and CPython's.

use crate::pattern::{Pattern, Token};

/// A matching block: `a[a..a + size] == b[b..b + size]`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub(crate) struct Match {
    pub a: usize,
    pub b: usize,
    pub size: usize,
}

/// The matching blocks of two byte strings (tests compare this with
/// `banner_parse::matching_blocks` and with CPython).
#[cfg(test)]
fn matching_blocks(a: &[u8], b: &[u8]) -> Vec<Match> {
    let a: Vec<u16> = a.iter().map(|&c| u16::from(c)).collect();
    Matcher::new(b).blocks(&a)
}

/// Matching-block state for one `b` sequence; `a` may hold symbols >= 256,
/// which never match (the fold uses them as gap sentinels).
struct Matcher<'b> {
    b: &'b [u8],
    /// Positions of each byte in `b`, ascending (difflib's `b2j`).
    b2j: Vec<Vec<u32>>,
    prev: Vec<u32>,
    cur: Vec<u32>,
    prev_touched: Vec<usize>,
    cur_touched: Vec<usize>,
}

impl<'b> Matcher<'b> {
    fn new(b: &'b [u8]) -> Self {
        let mut b2j = vec![Vec::new(); 256];
        for (j, &c) in b.iter().enumerate() {
            b2j[c as usize].push(j as u32);
        }
        Self {
            b,
            b2j,
            prev: vec![0; b.len() + 1],
            cur: vec![0; b.len() + 1],
            prev_touched: Vec::new(),
            cur_touched: Vec::new(),
        }
    }

    /// difflib's `find_longest_match(alo, ahi, blo, bhi)` without junk.
    fn longest(&mut self, a: &[u16], alo: usize, ahi: usize, blo: usize, bhi: usize) -> Match {
        let mut best = Match {
            a: alo,
            b: blo,
            size: 0,
        };
        for (i, &c) in a.iter().enumerate().take(ahi).skip(alo) {
            if let Some(js) = self.b2j.get(c as usize) {
                for &j in js {
                    let j = j as usize;
                    if j < blo {
                        continue;
                    }
                    if j >= bhi {
                        break;
                    }
                    // prev[j] holds the length of the match ending at (i - 1, j - 1).
                    let k = self.prev[j] as usize + 1;
                    self.cur[j + 1] = k as u32;
                    self.cur_touched.push(j + 1);
                    if k > best.size {
                        best = Match {
                            a: i + 1 - k,
                            b: j + 1 - k,
                            size: k,
                        };
                    }
                }
            }
            for &t in &self.prev_touched {
                self.prev[t] = 0;
            }
            self.prev_touched.clear();
            std::mem::swap(&mut self.prev, &mut self.cur);
            std::mem::swap(&mut self.prev_touched, &mut self.cur_touched);
        }
        for &t in &self.prev_touched {
            self.prev[t] = 0;
        }
        self.prev_touched.clear();
        best
    }

    fn blocks(&mut self, a: &[u16]) -> Vec<Match> {
        let mut queue = vec![(0, a.len(), 0, self.b.len())];
        let mut found = Vec::new();
        while let Some((alo, ahi, blo, bhi)) = queue.pop() {
            let m = self.longest(a, alo, ahi, blo, bhi);
            if m.size > 0 {
                if alo < m.a && blo < m.b {
                    queue.push((alo, m.a, blo, m.b));
                }
                if m.a + m.size < ahi && m.b + m.size < bhi {
                    queue.push((m.a + m.size, ahi, m.b + m.size, bhi));
                }
                found.push(m);
            }
        }
        found.sort_unstable();
        let mut merged: Vec<Match> = Vec::with_capacity(found.len());
        for m in found {
            match merged.last_mut() {
                Some(last) if last.a + last.size == m.a && last.b + last.size == m.b => {
                    last.size += m.size;
                }
                _ => merged.push(m),
            }
        }
        merged
    }
}

/// The authors' fold: start from the first value as one literal; fold in
/// each further value with difflib's matching blocks, keeping blocks of at least
/// `min_len` bytes as literals and everything unmatched on either side as a
/// gap. Gaps of the running pattern are sentinels that match nothing, so a
/// literal never spans a gap. Returns `None` for no values.
pub(crate) fn fold<S: AsRef<[u8]>>(values: &[S], min_len: usize) -> Option<Pattern> {
    let first = values.first()?.as_ref();
    let mut tokens = if first.is_empty() {
        Vec::new()
    } else {
        vec![Token::Lit(first.to_vec())]
    };
    for v in &values[1..] {
        let b = v.as_ref();
        // Flatten: literals as bytes, each gap as a unique symbol >= 256.
        let mut a: Vec<u16> = Vec::new();
        let mut sentinel = 256u16;
        for t in &tokens {
            if let Token::Lit(l) = t {
                a.extend(l.iter().map(|&c| u16::from(c)));
            } else {
                a.push(sentinel);
                sentinel = sentinel.saturating_add(1);
            }
        }
        let blocks = Matcher::new(b).blocks(&a);
        let mut next = Vec::new();
        let (mut pa, mut pb) = (0, 0);
        for m in blocks.into_iter().filter(|m| m.size >= min_len.max(1)) {
            if m.a > pa || m.b > pb {
                next.push(Token::Gap);
            }
            next.push(Token::Lit(b[m.b..m.b + m.size].to_vec()));
            pa = m.a + m.size;
            pb = m.b + m.size;
        }
        if pa < a.len() || pb < b.len() {
            next.push(Token::Gap);
        }
        tokens = next;
    }
    Some(Pattern::from_tokens(tokens))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn m(a: usize, b: usize, size: usize) -> Match {
        Match { a, b, size }
    }

    /// Expected values computed with CPython 3 `difflib.SequenceMatcher(None, a, b, autojunk=False)`.
    #[test]
    fn matches_python_difflib() {
        assert_eq!(
            matching_blocks(b"qabxcd", b"abycdf"),
            [m(1, 0, 2), m(4, 3, 2)]
        );
        assert_eq!(matching_blocks(b"abcd", b"bcde"), [m(1, 0, 3)]);
        // Tie-breaking: earliest in a, then earliest in b.
        assert_eq!(matching_blocks(b"ab", b"abab"), [m(0, 0, 2)]);
        assert_eq!(matching_blocks(b"abab", b"ab"), [m(0, 0, 2)]);
        assert_eq!(matching_blocks(b"xab-ab", b"ab"), [m(1, 0, 2)]);
        assert!(matching_blocks(b"", b"abc").is_empty());
        assert!(matching_blocks(b"abc", b"xyz").is_empty());
        // The recursion on both sides of the longest block.
        assert_eq!(
            matching_blocks(
                b"private Thread currentThread;",
                b"private volatile Thread currentThread;"
            ),
            [m(0, 0, 6), m(6, 15, 23)]
        );
    }

    proptest::proptest! {
        #[test]
        fn same_blocks_as_banner_parse(a in "[abc ]{0,30}", b in "[abc ]{0,30}") {
            let ours: Vec<(usize, usize, usize)> =
                matching_blocks(a.as_bytes(), b.as_bytes()).iter().map(|m| (m.a, m.b, m.size)).collect();
            let theirs: Vec<(usize, usize, usize)> = banner_parse::matching_blocks(a.as_bytes(), b.as_bytes())
                .iter()
                .filter(|m| m.len > 0)
                .map(|m| (m.a_start, m.b_start, m.len))
                .collect();
            proptest::prop_assert_eq!(ours, theirs);
        }
    }

    #[test]
    fn no_autojunk_on_long_inputs() {
        // With autojunk, difflib would treat the popular 'a' of a >200-byte b as junk.
        let b: Vec<u8> = std::iter::repeat_n(b'a', 300).collect();
        let a = b"xaaay";
        assert_eq!(matching_blocks(a, &b), [m(1, 0, 3)]);
    }

    #[test]
    fn fold_builds_gaps() {
        let v = [
            "nginx/1.18.0 (Ubuntu)",
            "nginx/1.20.1 (Ubuntu)",
            "nginx/1.18.0 (Ubuntu)",
        ];
        let p = fold(&v, 5).map(|p| p.regex());
        assert_eq!(p.as_deref(), Some(r"^nginx/1\..*\x20\(Ubuntu\)$"));
        let p = fold(&["abcdefgh-1", "abcdefgh-2"], 5).map(|p| p.regex());
        assert_eq!(p.as_deref(), Some(r"^abcdefgh\-"));
        let p = fold(&["1-abcdefgh", "2-abcdefgh"], 5).map(|p| p.regex());
        assert_eq!(p.as_deref(), Some(r"\-abcdefgh$"));
        // Gap sentinels keep earlier gaps even when later values bridge them.
        let p = fold(&["hello-1-world", "hello-2-world", "hello-world"], 5).map(|p| p.regex());
        assert_eq!(p.as_deref(), Some(r"^hello\-.*world$"));
    }
}
