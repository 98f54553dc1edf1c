//! The pairwise fold of the authors' published method, on Python difflib's
//! `SequenceMatcher.get_matching_blocks` (no junk, autojunk off).
//!
//! The matching blocks are `banner_parse`'s ([`SequenceMatcher`], generic
//! over the symbol type, exactly difflib's within its work limit): the fold
//! compares `u16` symbols, bytes plus gap symbols (>= 256) that match
//! nothing.

use banner_parse::{MatchBlock, SequenceMatcher};

use crate::pattern::{Pattern, Token};

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
    let mut matcher = SequenceMatcher::new();
    let mut wide_b: Vec<u16> = Vec::new();
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
        wide_b.clear();
        wide_b.extend(b.iter().map(|&c| u16::from(c)));
        let blocks = matcher.matching_blocks(&a, &wide_b);
        let mut next = Vec::new();
        let (mut pa, mut pb) = (0, 0);
        for MatchBlock {
            a_start,
            b_start,
            len,
        } in blocks.into_iter().filter(|m| m.len >= min_len.max(1))
        {
            if a_start > pa || b_start > pb {
                next.push(Token::Gap);
            }
            next.push(Token::Lit(b[b_start..b_start + len].to_vec()));
            pa = a_start + len;
            pb = b_start + len;
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

    /// The blocks of two byte strings compared as `u16` symbols, as the fold does.
    fn wide_blocks(a: &[u8], b: &[u8]) -> Vec<(usize, usize, usize)> {
        let wide = |s: &[u8]| s.iter().map(|&c| u16::from(c)).collect::<Vec<_>>();
        banner_parse::matching_blocks(&wide(a), &wide(b))
            .into_iter()
            .map(|m| (m.a_start, m.b_start, m.len))
            .collect()
    }

    /// Expected values computed with CPython 3 `difflib.SequenceMatcher(None, a, b, autojunk=False)`.
    #[test]
    fn matches_python_difflib() {
        assert_eq!(wide_blocks(b"qabxcd", b"abycdf"), [(1, 0, 2), (4, 3, 2)]);
        assert_eq!(wide_blocks(b"abcd", b"bcde"), [(1, 0, 3)]);
        // Tie-breaking: earliest in a, then earliest in b.
        assert_eq!(wide_blocks(b"ab", b"abab"), [(0, 0, 2)]);
        assert_eq!(wide_blocks(b"abab", b"ab"), [(0, 0, 2)]);
        assert_eq!(wide_blocks(b"xab-ab", b"ab"), [(1, 0, 2)]);
        assert!(wide_blocks(b"", b"abc").is_empty());
        assert!(wide_blocks(b"abc", b"xyz").is_empty());
        // The recursion on both sides of the longest block.
        assert_eq!(
            wide_blocks(
                b"private Thread currentThread;",
                b"private volatile Thread currentThread;"
            ),
            [(0, 0, 6), (6, 15, 23)]
        );
    }

    proptest::proptest! {
        /// `u16` symbols (the fold's) give the same blocks as bytes.
        #[test]
        fn wide_symbols_same_blocks_as_bytes(a in "[abc ]{0,30}", b in "[abc ]{0,30}") {
            let bytes: Vec<(usize, usize, usize)> = banner_parse::matching_blocks(a.as_bytes(), b.as_bytes())
                .iter()
                .map(|m| (m.a_start, m.b_start, m.len))
                .collect();
            proptest::prop_assert_eq!(wide_blocks(a.as_bytes(), b.as_bytes()), bytes);
        }
    }

    #[test]
    fn no_autojunk_on_long_inputs() {
        // With autojunk, difflib would treat the popular 'a' of a >200-byte b as junk.
        let b: Vec<u8> = std::iter::repeat_n(b'a', 300).collect();
        assert_eq!(wide_blocks(b"xaaay", &b), [(1, 0, 3)]);
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
