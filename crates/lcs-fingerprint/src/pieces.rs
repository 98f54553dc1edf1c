//! Common pieces of k strings at once: the longest common substring of all
//! k strings (suffix automaton), then recursion on the left and right parts.
//!
//! # The rule
//!
//! 1. Among the current segments (one per string), find a longest substring
//!    common to all of them. The suffix automaton is built on the segment of
//!    the **first** string; among several longest common substrings the one
//!    whose first occurrence in the first string is leftmost wins.
//! 2. If it is shorter than `min_len`, stop: the segments are a gap.
//! 3. Otherwise split every segment at the **leftmost** occurrence of that
//!    substring (in the first string: the occurrence found in step 1, which is
//!    also the leftmost) and recurse on the left parts, then on the right parts.
//!
//! The result is an ordered sequence of pieces that occur, in that order and
//! without overlapping, in every string (the `A.*B.*C` structure). Each piece
//! is a longest common substring of the segments it was found in, so no piece
//! can be extended by a character common to all strings, and no gap tuple has
//! a common substring of `min_len` or more.
//!
//! Where the choice matters: when the chosen substring occurs more than once
//! in a string, a different occurrence gives different left and right parts,
//! and so possibly more (or longer) further pieces. Choosing, over all
//! occurrences in all strings, the sequence with the most matched characters
//! is NP-hard for unbounded k (it contains the longest common subsequence
//! problem of k strings); the greedy rule above is linear per level and is
//! what the paper's "longest common substring" wording describes.
//!
//! Cost: each recursion node builds one automaton on the first string's
//! segment and runs every other segment through it, so a node is linear in
//! the total length of its segments; the work is that times the depth of
//! the recursion (about the number of pieces). When all segments are equal
//! (common within a cluster) the node costs one comparison.

const NONE: u32 = u32::MAX;

/// One common piece: its bytes and where it starts in every input string.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Piece {
    /// The piece's bytes (the same in every string).
    pub text: Vec<u8>,
    /// Start offset of the chosen occurrence in each input string, in input order.
    pub starts: Vec<usize>,
}

/// The ordered common pieces of a set of strings (see the [module docs](self)).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct CommonPieces {
    /// The pieces, in order of occurrence.
    pub pieces: Vec<Piece>,
    /// The length of each input string, in input order.
    pub lens: Vec<usize>,
}

impl CommonPieces {
    /// Finds the common pieces of `strings` with pieces at least `min_len`
    /// bytes long (a `min_len` of 0 is treated as 1). A convenience for
    /// [`PieceFinder::find`] with a fresh finder.
    ///
    /// ```
    /// use lcs_fingerprint::CommonPieces;
    ///
    /// let values: [&[u8]; 3] = [b"Apache/2.4.41 (Ubuntu)", b"Apache/2.4.29 (Ubuntu)", b"Apache/2.4.52 (Ubuntu)"];
    /// let common = CommonPieces::find(&values, 5);
    /// let texts: Vec<&[u8]> = common.pieces.iter().map(|p| p.text.as_slice()).collect();
    /// assert_eq!(texts, [&b"Apache/2.4."[..], &b" (Ubuntu)"[..]]);
    /// assert!(common.starts_all() && common.ends_all());
    /// ```
    pub fn find<S: AsRef<[u8]>>(strings: &[S], min_len: usize) -> Self {
        PieceFinder::new().find(strings, min_len)
    }

    /// Whether every string starts with the first piece (the pattern may be anchored with `^`).
    pub fn starts_all(&self) -> bool {
        self.pieces
            .first()
            .is_some_and(|p| p.starts.iter().all(|&s| s == 0))
    }

    /// Whether every string ends with the last piece (the pattern may be anchored with `$`).
    pub fn ends_all(&self) -> bool {
        self.pieces.last().is_some_and(|p| {
            p.starts
                .iter()
                .zip(&self.lens)
                .all(|(&s, &len)| s + p.text.len() == len)
        })
    }

    /// Total bytes of all pieces.
    pub fn matched_len(&self) -> usize {
        self.pieces.iter().map(|p| p.text.len()).sum()
    }
}

/// A reusable finder: keeps the suffix automaton's buffers between calls, so
/// that many small groups (10 header values at a time) cost no allocation
/// after the first.
#[derive(Debug, Clone, Default)]
pub struct PieceFinder {
    sam: Sam,
    /// Per state: the longest match ending there for the current string.
    here: Vec<u32>,
    /// Per state: the minimum over the strings processed so far.
    common: Vec<u32>,
    /// States in order of decreasing `len`.
    order: Vec<u32>,
    buckets: Vec<u32>,
}

/// Work items of the explicit in-order traversal (no recursion, so long
/// inputs cannot overflow the stack).
enum Task {
    Segments(Vec<(usize, usize)>),
    Emit(Piece),
}

impl PieceFinder {
    /// A finder with empty buffers.
    pub fn new() -> Self {
        Self::default()
    }

    /// Finds the common pieces of `strings` (see [`CommonPieces::find`]).
    ///
    /// With no strings the result is empty; with one string the whole string
    /// is the single piece (when it is at least `min_len` long).
    pub fn find<S: AsRef<[u8]>>(&mut self, strings: &[S], min_len: usize) -> CommonPieces {
        let min_len = min_len.max(1);
        let strs: Vec<&[u8]> = strings.iter().map(AsRef::as_ref).collect();
        let mut out = CommonPieces {
            pieces: Vec::new(),
            lens: strs.iter().map(|s| s.len()).collect(),
        };
        if strs.is_empty() {
            return out;
        }
        let mut stack = vec![Task::Segments(strs.iter().map(|s| (0, s.len())).collect())];
        while let Some(task) = stack.pop() {
            match task {
                Task::Emit(piece) => out.pieces.push(piece),
                Task::Segments(segs) => {
                    if segs.iter().any(|&(a, b)| b - a < min_len) {
                        continue;
                    }
                    let (a0, b0) = segs[0];
                    let first = &strs[0][a0..b0];
                    let (start0, len) =
                        if segs.iter().zip(&strs).all(|(&(a, b), s)| &s[a..b] == first) {
                            // All segments equal (common within a cluster): one piece.
                            (a0, b0 - a0)
                        } else if let Some(found) = self.longest_common(&strs, &segs) {
                            found
                        } else {
                            continue;
                        };
                    if len < min_len {
                        continue;
                    }
                    let text = strs[0][start0..start0 + len].to_vec();
                    let finder = memchr::memmem::Finder::new(&text);
                    let mut starts = Vec::with_capacity(strs.len());
                    starts.push(start0);
                    for (s, &(a, b)) in strs.iter().zip(&segs).skip(1) {
                        // The automaton guarantees an occurrence; a missing one
                        // would be a bug, handled by stopping this branch.
                        let Some(off) = finder.find(&s[a..b]) else {
                            debug_assert!(false, "common substring not found");
                            starts.clear();
                            break;
                        };
                        starts.push(a + off);
                    }
                    if starts.len() != strs.len() {
                        continue;
                    }
                    let left: Vec<(usize, usize)> = segs
                        .iter()
                        .zip(&starts)
                        .map(|(&(a, _), &st)| (a, st))
                        .collect();
                    let right: Vec<(usize, usize)> = segs
                        .iter()
                        .zip(&starts)
                        .map(|(&(_, b), &st)| (st + len, b))
                        .collect();
                    drop(finder);
                    stack.push(Task::Segments(right));
                    stack.push(Task::Emit(Piece { text, starts }));
                    stack.push(Task::Segments(left));
                }
            }
        }
        out
    }

    /// The leftmost (in the first string) longest substring common to all
    /// segments: `(start in strs[0], length)`, or `None` when there is none.
    fn longest_common(
        &mut self,
        strs: &[&[u8]],
        segs: &[(usize, usize)],
    ) -> Option<(usize, usize)> {
        let (a0, b0) = segs[0];
        let base = &strs[0][a0..b0];
        self.sam.build(base);
        let n_states = self.sam.len.len();
        self.common.clear();
        self.common.extend_from_slice(&self.sam.len);
        self.sam
            .order_by_len_desc(&mut self.order, &mut self.buckets);
        for (s, &(a, b)) in strs.iter().zip(segs).skip(1) {
            self.here.clear();
            self.here.resize(n_states, 0);
            self.sam.run(&s[a..b], &mut self.here);
            for &v in &self.order {
                let v = v as usize;
                if v == 0 {
                    continue;
                }
                let link = self.sam.link[v] as usize;
                if self.here[v] > 0 {
                    self.here[link] = self.sam.len[link];
                }
                self.common[v] = self.common[v].min(self.here[v]);
            }
        }
        let mut best: Option<(u32, u32)> = None; // (len, first end)
        for v in 1..n_states {
            let l = self.common[v];
            if l == 0 {
                continue;
            }
            let end = self.sam.first_end[v];
            best = match best {
                Some((bl, be)) if bl > l || (bl == l && be <= end) => Some((bl, be)),
                _ => Some((l, end)),
            };
        }
        best.map(|(l, end)| (a0 + end as usize + 1 - l as usize, l as usize))
    }
}

/// A suffix automaton over bytes. The root's transitions are a dense table
/// (it is visited after every mismatch); every other state keeps a linked
/// list of its few out-edges, so building costs no per-state table fill.
#[derive(Debug, Clone, Default)]
struct Sam {
    root: Vec<u32>,
    len: Vec<u32>,
    link: Vec<u32>,
    first_end: Vec<u32>,
    /// First edge of each state (index into `edges`), `NONE` for none.
    head: Vec<u32>,
    /// Edges: (byte, target, next edge of the same state).
    edges: Vec<(u8, u32, u32)>,
}

impl Sam {
    fn get(&self, v: u32, c: u8) -> u32 {
        if v == 0 {
            return self.root[c as usize];
        }
        let mut e = self.head[v as usize];
        while e != NONE {
            let (sym, to, next) = self.edges[e as usize];
            if sym == c {
                return to;
            }
            e = next;
        }
        NONE
    }

    fn set(&mut self, v: u32, c: u8, to: u32) {
        if v == 0 {
            self.root[c as usize] = to;
            return;
        }
        let mut e = self.head[v as usize];
        while e != NONE {
            let edge = &mut self.edges[e as usize];
            if edge.0 == c {
                edge.1 = to;
                return;
            }
            e = edge.2;
        }
        let id = self.edges.len() as u32;
        self.edges.push((c, to, self.head[v as usize]));
        self.head[v as usize] = id;
    }

    fn build(&mut self, s: &[u8]) {
        self.root.clear();
        self.root.resize(256, NONE);
        self.len.clear();
        self.link.clear();
        self.first_end.clear();
        self.head.clear();
        self.edges.clear();
        self.new_state(0, NONE, 0);
        let mut last = 0u32;
        for (i, &c) in s.iter().enumerate() {
            let cur = self.new_state(self.len[last as usize] + 1, NONE, i as u32);
            let mut p = last;
            while p != NONE && self.get(p, c) == NONE {
                self.set(p, c, cur);
                p = self.link[p as usize];
            }
            if p == NONE {
                self.link[cur as usize] = 0;
            } else {
                let q = self.get(p, c);
                if self.len[p as usize] + 1 == self.len[q as usize] {
                    self.link[cur as usize] = q;
                } else {
                    let clone = self.new_state(
                        self.len[p as usize] + 1,
                        self.link[q as usize],
                        self.first_end[q as usize],
                    );
                    // Copy q's edges (q is never the root here).
                    let mut e = self.head[q as usize];
                    while e != NONE {
                        let (sym, to, next) = self.edges[e as usize];
                        let id = self.edges.len() as u32;
                        self.edges.push((sym, to, self.head[clone as usize]));
                        self.head[clone as usize] = id;
                        e = next;
                    }
                    while p != NONE && self.get(p, c) == q {
                        self.set(p, c, clone);
                        p = self.link[p as usize];
                    }
                    self.link[q as usize] = clone;
                    self.link[cur as usize] = clone;
                }
            }
            last = cur;
        }
    }

    fn new_state(&mut self, len: u32, link: u32, first_end: u32) -> u32 {
        let id = self.len.len() as u32;
        self.len.push(len);
        self.link.push(link);
        self.first_end.push(first_end);
        self.head.push(NONE);
        id
    }

    /// Runs `t` through the automaton, recording in `here[v]` the longest
    /// match of a substring of `t` ending in state `v`.
    fn run(&self, t: &[u8], here: &mut [u32]) {
        let (mut v, mut l) = (0u32, 0u32);
        for &c in t {
            let mut nx = self.get(v, c);
            while nx == NONE && v != 0 {
                v = self.link[v as usize];
                l = self.len[v as usize];
                nx = self.get(v, c);
            }
            if nx == NONE {
                v = 0;
                l = 0;
            } else {
                v = nx;
                l += 1;
            }
            if here[v as usize] < l {
                here[v as usize] = l;
            }
        }
    }

    /// States sorted by decreasing `len` (counting sort).
    fn order_by_len_desc(&self, order: &mut Vec<u32>, buckets: &mut Vec<u32>) {
        let max_len = self.len.iter().copied().max().unwrap_or(0) as usize;
        buckets.clear();
        buckets.resize(max_len + 2, 0);
        for &l in &self.len {
            buckets[l as usize] += 1;
        }
        // Exclusive prefix sums from the longest down.
        let mut acc = 0;
        for l in (0..=max_len).rev() {
            let c = buckets[l];
            buckets[l] = acc;
            acc += c;
        }
        order.clear();
        order.resize(self.len.len(), 0);
        for (v, &l) in self.len.iter().enumerate() {
            let slot = &mut buckets[l as usize];
            order[*slot as usize] = v as u32;
            *slot += 1;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn texts(c: &CommonPieces) -> Vec<String> {
        c.pieces
            .iter()
            .map(|p| String::from_utf8_lossy(&p.text).into_owned())
            .collect()
    }

    #[test]
    fn server_versions() {
        let v = [
            "nginx/1.18.0 (Ubuntu)",
            "nginx/1.20.1 (Ubuntu)",
            "nginx/1.18.0 (Ubuntu)",
        ];
        let c = CommonPieces::find(&v, 5);
        assert_eq!(texts(&c), ["nginx/1.", " (Ubuntu)"]);
        assert!(c.starts_all());
        assert!(c.ends_all());
    }

    #[test]
    fn cookies_with_session_ids() {
        let v = [
            "PHPSESSID=8a7sd6f87as6df; path=/; HttpOnly",
            "PHPSESSID=kq2l3j4h5g6f7d; path=/; HttpOnly",
        ];
        let c = CommonPieces::find(&v, 5);
        assert_eq!(texts(&c), ["PHPSESSID=", "; path=/; HttpOnly"]);
        assert_eq!(c.pieces[1].starts, [24, 24]);
    }

    #[test]
    fn leftmost_in_first_string_wins_ties() {
        let v = ["abcde-xyzuv", "xyzuv-abcde"];
        let c = CommonPieces::find(&v, 3);
        // Both have length 5; "abcde" comes first in the first string.
        assert_eq!(texts(&c), ["abcde"]);
        assert_eq!(c.pieces[0].starts, [0, 6]);
    }

    #[test]
    fn degenerate_inputs() {
        let none: [&[u8]; 0] = [];
        assert!(CommonPieces::find(&none, 5).pieces.is_empty());
        let one = ["hello world"];
        assert_eq!(texts(&CommonPieces::find(&one, 5)), ["hello world"]);
        let empty = ["", "abc"];
        assert!(CommonPieces::find(&empty, 1).pieces.is_empty());
        let disjoint = ["aaaaaa", "bbbbbb"];
        assert!(CommonPieces::find(&disjoint, 1).pieces.is_empty());
        let bin: [&[u8]; 2] = [&[0xff, 0, 1, 2, 3, 0xfe], &[9, 0xff, 0, 1, 2, 3]];
        let c = CommonPieces::find(&bin, 2);
        assert_eq!(c.pieces[0].text, [0xff, 0, 1, 2, 3]);
    }

    #[test]
    fn finder_reuse_gives_same_results() {
        let mut f = PieceFinder::new();
        let a = f.find(&["Microsoft-IIS/10.0", "Microsoft-IIS/8.5"], 5);
        let _ = f.find(&["zzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzz", "zz"], 1);
        let b = f.find(&["Microsoft-IIS/10.0", "Microsoft-IIS/8.5"], 5);
        assert_eq!(a, b);
        assert_eq!(texts(&a), ["Microsoft-IIS/"]);
    }

    /// Brute force: length of the longest substring common to all segments.
    fn brute_lcs(segs: &[&[u8]]) -> usize {
        let first = segs[0];
        let mut best = 0;
        for i in 0..first.len() {
            for j in i + 1..=first.len() {
                let sub = &first[i..j];
                if j - i > best
                    && segs[1..]
                        .iter()
                        .all(|s| s.windows(sub.len()).any(|w| w == sub))
                {
                    best = j - i;
                }
            }
        }
        best
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(256))]
        /// Pieces occur in order in every string, each is a longest common
        /// substring of its segments (the first one of the whole strings), and
        /// no gap between or around them holds a common substring of `min_len`.
        #[test]
        fn pieces_common_and_maximal(
            strs in proptest::collection::vec("[abc]{0,14}", 1..5),
            min_len in 1usize..4,
        ) {
            let bytes: Vec<&[u8]> = strs.iter().map(String::as_bytes).collect();
            let c = CommonPieces::find(&bytes, min_len);
            // Common and ordered, without overlap.
            let mut cursor = vec![0usize; bytes.len()];
            for p in &c.pieces {
                prop_assert!(p.text.len() >= min_len);
                for (k, s) in bytes.iter().enumerate() {
                    let st = p.starts[k];
                    prop_assert!(st >= cursor[k]);
                    prop_assert_eq!(&s[st..st + p.text.len()], p.text.as_slice());
                    cursor[k] = st + p.text.len();
                }
            }
            // The longest piece is the longest common substring overall.
            let lcs = brute_lcs(&bytes);
            let longest = c.pieces.iter().map(|p| p.text.len()).max().unwrap_or(0);
            if lcs >= min_len {
                prop_assert_eq!(longest, lcs);
            } else {
                prop_assert!(c.pieces.is_empty());
            }
            // Maximal: no gap tuple has a common substring of min_len or more.
            let mut prev = vec![0usize; bytes.len()];
            for idx in 0..=c.pieces.len() {
                let gap: Vec<&[u8]> = bytes
                    .iter()
                    .enumerate()
                    .map(|(k, s)| {
                        let end = c.pieces.get(idx).map_or(s.len(), |p| p.starts[k]);
                        &s[prev[k]..end]
                    })
                    .collect();
                prop_assert!(brute_lcs(&gap) < min_len, "gap {idx} has a common piece");
                if let Some(p) = c.pieces.get(idx) {
                    for (k, pv) in prev.iter_mut().enumerate() {
                        *pv = p.starts[k] + p.text.len();
                    }
                }
            }
        }
    }
}
