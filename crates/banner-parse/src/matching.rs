//! Python difflib's `SequenceMatcher.get_matching_blocks`, generic over the
//! symbol type.
//!
//! The paper's published code labels characters with difflib's matching
//! blocks (no junk, autojunk off): find the longest common block of the two
//! sequences, then recurse on the parts to its left and to its right. The
//! tie-breaking is difflib's: of the longest blocks, the one that starts
//! earliest in `a`, and of those the one that starts earliest in `b`. Adjacent
//! blocks are merged at the end, as difflib does. The result is therefore the
//! same list of blocks that Python returns for the same two sequences (byte
//! strings compared as latin-1 text), so labels agree with the authors' code.
//!
//! The symbols are any `Copy + Eq + Hash` type: bytes for labels, `u16` for
//! `lcs-fingerprint`'s fold (bytes plus gap symbols that match nothing),
//! tokens or words for other uses.

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hash, Hasher};

/// A block of `len` equal symbols at `a[a_start..]` and `b[b_start..]`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct MatchBlock {
    /// Start in the first sequence.
    pub a_start: usize,
    /// Start in the second sequence.
    pub b_start: usize,
    /// Number of equal symbols.
    pub len: usize,
}

/// Default work limit of a [`SequenceMatcher`] (and of labelling one pair, see
/// [`LabelParams::max_work`](crate::LabelParams::max_work)): 2^26 steps,
/// about a tenth of a second. Labelling the pairs of real scans takes a few
/// thousand steps per pair; values of up to
/// [`MAX_LABEL_VALUE_BYTES`](crate::MAX_LABEL_VALUE_BYTES) bytes need at most
/// about 2^24 steps for their first (longest) block, so it is always found;
/// only pathologically repetitive values (e.g. `"ab" * 2048` against
/// `"abc" * 1365`, ~3e9 steps unbounded) reach the limit.
pub const MAX_MATCH_WORK: u64 = 1 << 26;

/// No symbol of `b` (a position of `a` whose symbol never matches).
const ABSENT: u32 = u32::MAX;

/// A fast hasher for the symbol table (FxHash's step). The table holds the
/// distinct symbols of one `b` sequence; for bytes and `u16` symbols the
/// hash is injective on the low bits, so no input makes it collide.
#[derive(Default)]
struct SymbolHasher(u64);

impl SymbolHasher {
    fn add(&mut self, x: u64) {
        self.0 = (self.0.rotate_left(5) ^ x).wrapping_mul(0x51_7c_c1_b7_27_22_0a_95);
    }
}

impl Hasher for SymbolHasher {
    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.add(u64::from(b));
        }
    }
    fn write_u8(&mut self, n: u8) {
        self.add(u64::from(n));
    }
    fn write_u16(&mut self, n: u16) {
        self.add(u64::from(n));
    }
    fn write_u32(&mut self, n: u32) {
        self.add(u64::from(n));
    }
    fn write_u64(&mut self, n: u64) {
        self.add(n);
    }
    fn write_usize(&mut self, n: usize) {
        self.add(n as u64);
    }
    fn finish(&self) -> u64 {
        self.0
    }
}

/// Records a symbol whose `Hash` is a single `u8` or `u16` write (bytes,
/// `u16`, newtypes of them), so that such symbols are looked up in a table
/// rather than hashed.
#[derive(Default)]
struct SmallKey {
    value: usize,
    writes: u32,
    small: bool,
}

impl Hasher for SmallKey {
    fn write(&mut self, _: &[u8]) {
        self.writes += 2;
    }
    fn write_u8(&mut self, n: u8) {
        self.value = usize::from(n);
        self.writes += 1;
        self.small = true;
    }
    fn write_u16(&mut self, n: u16) {
        self.value = usize::from(n);
        self.writes += 1;
        self.small = true;
    }
    fn finish(&self) -> u64 {
        0
    }
}

/// The table index of a small symbol (see [`SmallKey`]), `None` for others.
fn small_key<T: Hash>(symbol: &T) -> Option<usize> {
    let mut key = SmallKey::default();
    symbol.hash(&mut key);
    (key.writes == 1 && key.small).then_some(key.value)
}

/// difflib's `SequenceMatcher` (no junk, autojunk off) as reusable scratch
/// space for [`SequenceMatcher::matching_blocks`], so that labelling
/// millions of pairs does not allocate per call, with a work limit. `T` is
/// the symbol type (bytes by default).
///
/// ```
/// use banner_parse::{MatchBlock, SequenceMatcher};
///
/// let mut matcher = SequenceMatcher::new();
/// let blocks = matcher.matching_blocks(b"qabxcd", b"abycdf");
/// assert_eq!(blocks, [
///     MatchBlock { a_start: 1, b_start: 0, len: 2 },
///     MatchBlock { a_start: 4, b_start: 3, len: 2 },
/// ]);
/// // Any `Copy + Eq + Hash` symbols: here words.
/// let mut words = SequenceMatcher::new();
/// let blocks = words.matching_blocks(&["GET", "/", "HTTP/1.1"], &["POST", "/", "HTTP/1.1"]);
/// assert_eq!(blocks, [MatchBlock { a_start: 1, b_start: 1, len: 2 }]);
/// ```
///
/// # Bounded work
///
/// difflib's worst case is cubic: `"a" * n` against `"ab" * (n / 2)` makes
/// every longest match one symbol long at the left edge, and each of the ~n
/// recursive calls scans ~n²/2 pairs (hours for 300 KB values). A
/// [`SequenceMatcher`] therefore counts its work in steps (one per position of `a`
/// scanned plus one per candidate position of `b` visited, the inner loop of
/// `find_longest_match`) and stops at a limit ([`MAX_MATCH_WORK`] by
/// default): the blocks found so far are returned, and the parts not yet
/// compared stay unmatched. Below the limit the result is exactly difflib's;
/// above it, every block returned still lies inside one that difflib returns.
/// [`SequenceMatcher::last_truncated`] says whether the limit was reached, and
/// [`SequenceMatcher::last_work`] how many steps the last call took.
#[derive(Debug, Clone)]
pub struct SequenceMatcher<T = u8> {
    /// Dense id of each distinct small symbol of `b` (see [`small_key`]),
    /// [`ABSENT`] for the others.
    dense: Vec<u32>,
    /// The entries of `dense` set by the last call.
    dense_used: Vec<usize>,
    /// Dense id of each distinct other symbol of `b`.
    ids: HashMap<T, u32, BuildHasherDefault<SymbolHasher>>,
    /// Positions of each symbol id in `b`, ascending (difflib's `b2j`).
    b2j: Vec<Vec<u32>>,
    /// The id of each symbol of `a` ([`ABSENT`] when it is not in `b`).
    a_ids: Vec<u32>,
    j2len: Vec<u32>,
    new_j2len: Vec<u32>,
    touched: Vec<usize>,
    new_touched: Vec<usize>,
    queue: Vec<(usize, usize, usize, usize)>,
    work_limit: u64,
    work: u64,
    truncated: bool,
}

impl<T> Default for SequenceMatcher<T> {
    fn default() -> Self {
        SequenceMatcher {
            dense: Vec::new(),
            dense_used: Vec::new(),
            ids: HashMap::default(),
            b2j: Vec::new(),
            a_ids: Vec::new(),
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

impl<T: Copy + Eq + Hash> SequenceMatcher<T> {
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
    /// returns), and the symbols between them were not compared.
    pub fn last_truncated(&self) -> bool {
        self.truncated
    }

    /// difflib's `find_longest_match(alo, ahi, blo, bhi)` without junk, or
    /// `None` when it would take more than `budget` steps in all.
    fn find_longest(
        &mut self,
        (alo, ahi, blo, bhi): (usize, usize, usize, usize),
        budget: u64,
    ) -> Option<MatchBlock> {
        let (mut besti, mut bestj, mut bestsize) = (alo, blo, 0usize);
        // j2len[j + 1] = length of the match ending at a[i-1], b[j].
        for &t in &self.touched {
            self.j2len[t] = 0;
        }
        self.touched.clear();
        for (i, &id) in self.a_ids.iter().enumerate().take(ahi).skip(alo) {
            self.new_touched.clear();
            let positions: &[u32] = match self.b2j.get(id as usize) {
                Some(p) => p,
                None => &[],
            };
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
    /// work limit is reached first (see [`SequenceMatcher`]).
    pub fn matching_blocks(&mut self, a: &[T], b: &[T]) -> Vec<MatchBlock> {
        self.matching_blocks_within(a, b, self.work_limit)
    }

    /// [`matching_blocks`](Self::matching_blocks) with a work limit of `budget` steps.
    pub(crate) fn matching_blocks_within(
        &mut self,
        a: &[T],
        b: &[T],
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
        // Positions are stored as u32: longer inputs are compared on their
        // first 4 GiB only (labelling caps values far below that).
        let b = &b[..b.len().min(ABSENT as usize)];
        let a = &a[..a.len().min(ABSENT as usize)];
        // Dense ids of the symbols of `b`: small symbols (bytes, `u16`)
        // through a table, others through a hash map.
        for &v in &self.dense_used {
            self.dense[v] = ABSENT;
        }
        self.dense_used.clear();
        self.ids.clear();
        for v in &mut self.b2j {
            v.clear();
        }
        let mut n_ids = 0u32;
        for (j, &bj) in (0u32..).zip(b) {
            let id = if let Some(v) = small_key(&bj) {
                if v >= self.dense.len() {
                    self.dense.resize(v + 1, ABSENT);
                }
                if self.dense[v] == ABSENT {
                    self.dense[v] = n_ids;
                    self.dense_used.push(v);
                    n_ids += 1;
                }
                self.dense[v]
            } else {
                *self.ids.entry(bj).or_insert_with(|| {
                    n_ids += 1;
                    n_ids - 1
                })
            } as usize;
            if id == self.b2j.len() {
                self.b2j.push(Vec::new());
            }
            self.b2j[id].push(j);
        }
        self.a_ids.clear();
        let (dense, ids) = (&self.dense, &self.ids);
        self.a_ids.extend(a.iter().map(|ai| match small_key(ai) {
            Some(v) => dense.get(v).copied().unwrap_or(ABSENT),
            None => ids.get(ai).copied().unwrap_or(ABSENT),
        }));
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
            let Some(m) = self.find_longest((alo, ahi, blo, bhi), budget) else {
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
/// [`MAX_MATCH_WORK`] (see [`SequenceMatcher`]).
///
/// ```
/// use banner_parse::{matching_blocks, MatchBlock};
///
/// let blocks = matching_blocks(b"nginx/1.18.0", b"nginx/1.20.1");
/// assert_eq!(blocks[0], MatchBlock { a_start: 0, b_start: 0, len: 8 });
/// ```
pub fn matching_blocks<T: Copy + Eq + Hash>(a: &[T], b: &[T]) -> Vec<MatchBlock> {
    SequenceMatcher::new().matching_blocks(a, b)
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
        let mut m = SequenceMatcher::new();
        let first = m.matching_blocks(b"hello world", b"hello there world");
        let _ = m.matching_blocks(b"zzzz", b"zz");
        assert_eq!(
            m.matching_blocks(b"hello world", b"hello there world"),
            first
        );
    }

    #[test]
    fn generic_symbols_agree_with_bytes() {
        // Hand-computed: words; the longest block ["b", "c"] first, then "a" on its left.
        let a = ["a", "x", "b", "c"];
        let b = ["a", "b", "c", "y"];
        let blocks: Vec<_> = matching_blocks(&a, &b)
            .into_iter()
            .map(|m| (m.a_start, m.b_start, m.len))
            .collect();
        assert_eq!(blocks, vec![(0, 0, 1), (2, 1, 2)]);
        // u16 symbols that are bytes give the byte answer; symbols absent
        // from `b` (>= 256 here) never match.
        let wide = |s: &str| s.bytes().map(u16::from).collect::<Vec<_>>();
        let mut a16 = wide("abxcd");
        assert_eq!(
            matching_blocks(&a16, &wide("abcd")),
            matching_blocks(b"abxcd", b"abcd")
        );
        a16[2] = 300;
        assert_eq!(
            mb("abxcd", "abcd"),
            matching_blocks(&a16, &wide("abcd"))
                .into_iter()
                .map(|m| (m.a_start, m.b_start, m.len))
                .collect::<Vec<_>>()
        );
    }

    #[test]
    fn small_symbols_use_the_table() {
        assert_eq!(small_key(&b'a'), Some(97));
        assert_eq!(small_key(&300u16), Some(300));
        assert_eq!(small_key(&'a'), None);
        assert_eq!(small_key(&"a"), None);
        assert_eq!(small_key(&(1u8, 2u8)), None);
    }

    #[test]
    fn work_is_counted_per_position_and_candidate() {
        // "ab" vs "ba": first scan: a[0] 1 candidate, a[1] 1 candidate -> 4
        // steps, longest block "a" (0, 1); left part empty in b, right part
        // a[1..2] vs b[2..2] empty: 4 steps in all.
        let mut m = SequenceMatcher::new();
        assert_eq!(
            m.matching_blocks(b"ab", b"ba"),
            [MatchBlock {
                a_start: 0,
                b_start: 1,
                len: 1
            }]
        );
        assert_eq!(m.last_work(), 4);
        let mut tight = SequenceMatcher::new().work_limit(3);
        assert!(tight.matching_blocks(b"ab", b"ba").is_empty());
        assert!(tight.last_truncated());
    }
}
