//! Python difflib's `SequenceMatcher.get_matching_blocks`, on bytes.
//!
//! The paper's published code labels characters with difflib's matching
//! blocks (no junk, autojunk off): find the longest common block of the two
//! strings, then recurse on the parts to its left and to its right. The
//! tie-breaking is difflib's: of the longest blocks, the one that starts
//! earliest in `a`, and of those the one that starts earliest in `b`. Adjacent
//! blocks are merged at the end, as difflib does. The result is therefore the
//! same list of blocks that Python returns for the same two byte strings
//! (compared as latin-1 text), so labels agree with the authors' code.

/// A block of `len` equal bytes at `a[a_start..]` and `b[b_start..]`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct MatchBlock {
    /// Start in the first sequence.
    pub a_start: usize,
    /// Start in the second sequence.
    pub b_start: usize,
    /// Number of equal bytes.
    pub len: usize,
}

/// Default work limit of a [`Matcher`] (and of labelling one pair, see
/// [`LabelParams::max_work`](crate::LabelParams::max_work)): 2^26 steps,
/// about a tenth of a second. Labelling the pairs of real scans takes a few
/// thousand steps per pair; values of up to
/// [`MAX_LABEL_VALUE_BYTES`](crate::MAX_LABEL_VALUE_BYTES) bytes need at most
/// about 2^24 steps for their first (longest) block, so it is always found;
/// only pathologically repetitive values (e.g. `"ab" * 2048` against
/// `"abc" * 1365`, ~3e9 steps unbounded) reach the limit.
pub const MAX_MATCH_WORK: u64 = 1 << 26;

/// Reusable scratch space for [`Matcher::matching_blocks`], so that labelling
/// millions of pairs does not allocate per call, and a work limit.
///
/// # Bounded work
///
/// difflib's worst case is cubic: `"a" * n` against `"ab" * (n / 2)` makes
/// every longest match one byte long at the left edge, and each of the ~n
/// recursive calls scans ~n²/2 pairs (hours for 300 KB values). A
/// [`Matcher`] therefore counts its work in steps (one per position of `a`
/// scanned plus one per candidate position of `b` visited, the inner loop of
/// `find_longest_match`) and stops at a limit ([`MAX_MATCH_WORK`] by
/// default): the blocks found so far are returned, and the parts not yet
/// compared stay unmatched. Below the limit the result is exactly difflib's;
/// above it, every block returned still lies inside one that difflib returns.
/// [`Matcher::last_truncated`] says whether the limit was reached, and
/// [`Matcher::last_work`] how many steps the last call took.
#[derive(Debug, Clone)]
pub struct Matcher {
    /// Positions of each byte value in `b`, ascending.
    b2j: Vec<Vec<u32>>,
    j2len: Vec<u32>,
    new_j2len: Vec<u32>,
    touched: Vec<usize>,
    new_touched: Vec<usize>,
    queue: Vec<(usize, usize, usize, usize)>,
    work_limit: u64,
    work: u64,
    truncated: bool,
}

impl Default for Matcher {
    fn default() -> Self {
        Matcher {
            b2j: Vec::new(),
            j2len: Vec::new(),
            new_j2len: Vec::new(),
            touched: Vec::new(),
            new_touched: Vec::new(),
            queue: Vec::new(),
            work_limit: MAX_MATCH_WORK,
            work: 0,
            truncated: false,
        }
    }
}

impl Matcher {
    /// A matcher with empty scratch space and the default work limit
    /// ([`MAX_MATCH_WORK`]).
    pub fn new() -> Self {
        Self::default()
    }

    /// Sets the work limit of each [`matching_blocks`](Self::matching_blocks)
    /// call, in steps (`u64::MAX`: unbounded, exactly difflib whatever the cost).
    #[must_use]
    pub fn work_limit(mut self, steps: u64) -> Self {
        self.work_limit = steps;
        self
    }

    /// Steps the last call took (at most its work limit).
    pub fn last_work(&self) -> u64 {
        self.work
    }

    /// Whether the last call stopped at its work limit. Its blocks are then
    /// part of difflib's answer (every block lies inside one difflib
    /// returns), and the bytes between them were not compared.
    pub fn last_truncated(&self) -> bool {
        self.truncated
    }

    /// difflib's `find_longest_match(alo, ahi, blo, bhi)` without junk, or
    /// `None` when it would take more than `budget` steps in all.
    fn find_longest(
        &mut self,
        a: &[u8],
        (alo, ahi, blo, bhi): (usize, usize, usize, usize),
        budget: u64,
    ) -> Option<MatchBlock> {
        let (mut besti, mut bestj, mut bestsize) = (alo, blo, 0usize);
        // j2len[j + 1] = length of the match ending at a[i-1], b[j].
        for &t in &self.touched {
            self.j2len[t] = 0;
        }
        self.touched.clear();
        for (i, &ai) in a.iter().enumerate().take(ahi).skip(alo) {
            self.new_touched.clear();
            let positions = &self.b2j[usize::from(ai)];
            let first = positions.partition_point(|&j| (j as usize) < blo);
            let last = positions.partition_point(|&j| (j as usize) < bhi);
            let candidates = &positions[first..last.max(first)];
            // One step for this position of `a`, one per candidate in `b`.
            let steps = (candidates.len() as u64).saturating_add(1);
            if self.work.saturating_add(steps) > budget {
                return None;
            }
            self.work += steps;
            for &j in candidates {
                let j = j as usize;
                let k = self.j2len[j] + 1;
                self.new_j2len[j + 1] = k;
                self.new_touched.push(j + 1);
                if k as usize > bestsize {
                    besti = i + 1 - k as usize;
                    bestj = j + 1 - k as usize;
                    bestsize = k as usize;
                }
            }
            for &t in &self.touched {
                self.j2len[t] = 0;
            }
            std::mem::swap(&mut self.j2len, &mut self.new_j2len);
            std::mem::swap(&mut self.touched, &mut self.new_touched);
        }
        Some(MatchBlock {
            a_start: besti,
            b_start: bestj,
            len: bestsize,
        })
    }

    /// The matching blocks of `a` and `b`, as difflib's
    /// `SequenceMatcher(None, a, b, autojunk=False).get_matching_blocks()`
    /// returns them, without the final zero-length sentinel, unless the
    /// work limit is reached first (see [`Matcher`]).
    pub fn matching_blocks(&mut self, a: &[u8], b: &[u8]) -> Vec<MatchBlock> {
        self.matching_blocks_within(a, b, self.work_limit)
    }

    /// [`matching_blocks`](Self::matching_blocks) with a work limit of `budget` steps.
    pub(crate) fn matching_blocks_within(
        &mut self,
        a: &[u8],
        b: &[u8],
        budget: u64,
    ) -> Vec<MatchBlock> {
        self.work = 0;
        self.truncated = false;
        if a.is_empty() || b.is_empty() {
            return Vec::new();
        }
        if budget == 0 {
            self.truncated = true;
            return Vec::new();
        }
        // Equal sequences: difflib's answer is the whole (the unique longest
        // block), found here without the quadratic scan.
        if a == b {
            self.work = 1;
            return vec![MatchBlock {
                a_start: 0,
                b_start: 0,
                len: a.len(),
            }];
        }
        if self.b2j.len() != 256 {
            self.b2j = vec![Vec::new(); 256];
        }
        for v in &mut self.b2j {
            v.clear();
        }
        // Positions are stored as u32: longer inputs are compared on their
        // first 4 GiB only (labelling caps values far below that).
        let b = &b[..b.len().min(u32::MAX as usize)];
        let a = &a[..a.len().min(u32::MAX as usize)];
        for (j, &bj) in (0u32..).zip(b) {
            self.b2j[usize::from(bj)].push(j);
        }
        let n = b.len() + 1;
        self.j2len.clear();
        self.j2len.resize(n, 0);
        self.new_j2len.clear();
        self.new_j2len.resize(n, 0);
        self.touched.clear();

        let mut blocks = Vec::new();
        self.queue.clear();
        self.queue.push((0, a.len(), 0, b.len()));
        while let Some((alo, ahi, blo, bhi)) = self.queue.pop() {
            let Some(m) = self.find_longest(a, (alo, ahi, blo, bhi), budget) else {
                self.truncated = true;
                break;
            };
            if m.len > 0 {
                blocks.push(m);
                if alo < m.a_start && blo < m.b_start {
                    self.queue.push((alo, m.a_start, blo, m.b_start));
                }
                if m.a_start + m.len < ahi && m.b_start + m.len < bhi {
                    self.queue
                        .push((m.a_start + m.len, ahi, m.b_start + m.len, bhi));
                }
            }
        }
        blocks.sort_unstable_by_key(|m| (m.a_start, m.b_start));
        // Merge adjacent blocks, as difflib does.
        let mut merged: Vec<MatchBlock> = Vec::with_capacity(blocks.len());
        for m in blocks {
            if let Some(last) = merged.last_mut()
                && last.a_start + last.len == m.a_start
                && last.b_start + last.len == m.b_start
            {
                last.len += m.len;
                continue;
            }
            merged.push(m);
        }
        merged
    }
}

/// The matching blocks of `a` and `b`, exactly as Python's
/// `difflib.SequenceMatcher(None, a, b, autojunk=False).get_matching_blocks()`
/// (without the final zero-length sentinel), within the default work limit
/// [`MAX_MATCH_WORK`] (see [`Matcher`]).
///
/// ```
/// use banner_parse::{matching_blocks, MatchBlock};
///
/// let blocks = matching_blocks(b"nginx/1.18.0", b"nginx/1.20.1");
/// assert_eq!(blocks[0], MatchBlock { a_start: 0, b_start: 0, len: 8 });
/// ```
pub fn matching_blocks(a: &[u8], b: &[u8]) -> Vec<MatchBlock> {
    Matcher::new().matching_blocks(a, b)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mb(a: &str, b: &str) -> Vec<(usize, usize, usize)> {
        matching_blocks(a.as_bytes(), b.as_bytes())
            .into_iter()
            .map(|m| (m.a_start, m.b_start, m.len))
            .collect()
    }

    // Expected values computed with CPython 3.11:
    // difflib.SequenceMatcher(None, a, b, autojunk=False).get_matching_blocks()
    #[test]
    fn agrees_with_python_difflib() {
        assert_eq!(mb("abxcd", "abcd"), vec![(0, 0, 2), (3, 2, 2)]);
        assert_eq!(mb("qabxcd", "abycdf"), vec![(1, 0, 2), (4, 3, 2)]);
        assert_eq!(mb("", "abc"), vec![]);
        assert_eq!(mb("aaa", "aa"), vec![(0, 0, 2)]);
        assert_eq!(
            mb(
                "Mon, 03 Jul 2023 10:11:12 GMT",
                "Tue, 04 Jul 2023 11:12:13 GMT"
            ),
            vec![(3, 3, 3), (7, 7, 11), (21, 18, 4), (25, 25, 4)]
        );
    }

    #[test]
    fn agrees_with_python_on_hello() {
        assert_eq!(
            mb("hello world", "hello there world"),
            vec![(0, 0, 6), (6, 12, 5)]
        );
    }

    #[test]
    fn reuse_is_clean() {
        let mut m = Matcher::new();
        let first = m.matching_blocks(b"hello world", b"hello there world");
        let _ = m.matching_blocks(b"zzzz", b"zz");
        assert_eq!(
            m.matching_blocks(b"hello world", b"hello there world"),
            first
        );
    }
}
