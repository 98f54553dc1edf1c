//! Common pieces of k strings at once: the longest common substring of all
//! k strings (q-gram filter, suffix automaton where the filter cannot
//! decide), then recursion on the left and right parts. The rule and its
//! cost are documented on [`CommonPieces`].

use std::hash::{BuildHasher, RandomState};

const NONE: u32 = u32::MAX;

/// One common piece: its bytes and where it starts in every input string.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Piece {
    /// The piece's bytes (the same in every string).
    pub text: Vec<u8>,
    /// Start offset of the chosen occurrence in each input string, in input order.
    pub starts: Vec<usize>,
}

/// The ordered common pieces of a set of strings.
///
/// # The rule
///
/// 1. Among the current segments (one per string), find a longest substring
///    common to all of them. Among several longest common substrings the one
///    whose first occurrence in the segment of the **first** string is
///    leftmost wins (the search is anchored on the first string).
/// 2. If it is shorter than `min_len`, stop: the segments are a gap.
/// 3. Otherwise split every segment at the **leftmost** occurrence of that
///    substring (in the first string: the occurrence found in step 1, which is
///    also the leftmost) and recurse on the left parts, then on the right parts.
///
/// The result is an ordered sequence of pieces that occur, in that order and
/// without overlapping, in every string (the `A.*B.*C` structure). Each piece
/// is a longest common substring of the segments it was found in, so no piece
/// can be extended by a character common to all strings, and no gap tuple has
/// a common substring of `min_len` or more.
///
/// Where the choice matters: when the chosen substring occurs more than once
/// in a string, a different occurrence gives different left and right parts,
/// and so possibly more (or longer) further pieces. Choosing, over all
/// occurrences in all strings, the sequence with the most matched characters
/// is NP-hard for unbounded k (it contains the longest common subsequence
/// problem of k strings); the greedy rule above is linear per level and is
/// what the paper's "longest common substring" wording describes.
///
/// # Cost
///
/// Step 1 is answered by a q-gram filter computed once per call, and by the
/// automaton only where the filter cannot decide; the result is the same
/// either way (tests compare both on random and on header-value groups).
///
/// - Once over the whole strings (linear in their total length): which
///   positions of the first string start a q-gram (`q = min(min_len, 8)`
///   bytes) that occurs in every other string. A common substring of length
///   `L >= q` covers `L - q + 1` consecutive such candidate positions, so
///   the longest run of candidates inside a node's first segment (leftmost
///   on ties) bounds the node's answer from above.
/// - Per node: when no run is long enough, the node is a gap; when the
///   run's window occurs as a whole in every other segment (one substring
///   search each), it is the answer; otherwise (rare on header values) the
///   node builds one automaton on the first string's segment and runs every
///   other segment through it, linear in the total length of its segments.
/// - When all segments are equal (common within a cluster) the node costs
///   one comparison.
///
/// On groups of 10 realistic header values every node is decided by the
/// filter, so a group costs about one pass over its bytes plus a few
/// substring searches per piece; the automaton bounds the worst case at
/// linear work per node times the depth of the recursion (about the number
/// of pieces).
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

/// A reusable finder: keeps the q-gram filter's and the suffix automaton's
/// buffers between calls, so that many small groups (10 header values at a
/// time) cost no allocation after the first.
#[derive(Debug, Clone, Default)]
pub struct PieceFinder {
    grams: Grams,
    sam: Sam,
    /// Per state: the longest match ending there for the current string.
    here: Vec<u32>,
    /// Per state: the minimum over the strings processed so far.
    common: Vec<u32>,
    /// States in order of decreasing `len`.
    order: Vec<u32>,
    buckets: Vec<u32>,
    /// The segments of all pending tasks, `k` per task.
    segs: Vec<(usize, usize)>,
}

/// Work items of the explicit in-order traversal (no recursion, so long
/// inputs cannot overflow the stack).
enum Task {
    /// Search the `k` segments stored at this offset of `PieceFinder::segs`.
    Segments(usize),
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
        self.find_with(strings, min_len, true)
    }

    /// [`PieceFinder::find`]; `filter` off searches every node with the
    /// automaton alone (the reference the filtered search must equal).
    fn find_with<S: AsRef<[u8]>>(
        &mut self,
        strings: &[S],
        min_len: usize,
        filter: bool,
    ) -> CommonPieces {
        let min_len = min_len.max(1);
        let strs: Vec<&[u8]> = strings.iter().map(AsRef::as_ref).collect();
        let k = strs.len();
        let mut out = CommonPieces {
            pieces: Vec::new(),
            lens: strs.iter().map(|s| s.len()).collect(),
        };
        if strs.is_empty() {
            return out;
        }
        let q = min_len.min(MAX_GRAM);
        if filter {
            self.grams.build(&strs, q);
        }
        self.segs.clear();
        self.segs.extend(strs.iter().map(|s| (0, s.len())));
        let mut stack = vec![Task::Segments(0)];
        let mut starts: Vec<usize> = Vec::with_capacity(k);
        while let Some(task) = stack.pop() {
            let at = match task {
                Task::Emit(piece) => {
                    out.pieces.push(piece);
                    continue;
                }
                Task::Segments(at) => at,
            };
            let segs = &self.segs[at..at + k];
            if segs.iter().any(|&(a, b)| b - a < min_len) {
                continue;
            }
            let Some(len) = self.search(&strs, at, q, min_len, filter, &mut starts) else {
                continue;
            };
            let text = &strs[0][starts[0]..starts[0] + len];
            let left = self.segs.len();
            for (i, &st) in starts.iter().enumerate() {
                let (a, _) = self.segs[at + i];
                self.segs.push((a, st));
            }
            let right = self.segs.len();
            for (i, &st) in starts.iter().enumerate() {
                let (_, b) = self.segs[at + i];
                self.segs.push((st + len, b));
            }
            stack.push(Task::Segments(right));
            stack.push(Task::Emit(Piece {
                text: text.to_vec(),
                starts: starts.clone(),
            }));
            stack.push(Task::Segments(left));
        }
        out
    }

    /// One node: the length of the piece of the `k` segments stored at `at`
    /// and its occurrence starts in every string (in `starts`), or `None`
    /// when no common substring of `min_len` bytes or more exists.
    fn search(
        &mut self,
        strs: &[&[u8]],
        at: usize,
        q: usize,
        min_len: usize,
        filter: bool,
        starts: &mut Vec<usize>,
    ) -> Option<usize> {
        let segs = &self.segs[at..at + strs.len()];
        let (a0, b0) = segs[0];
        let first = &strs[0][a0..b0];
        starts.clear();
        if segs.iter().zip(strs).all(|(&(a, b), s)| &s[a..b] == first) {
            // All segments equal (common within a cluster): one piece.
            starts.extend(segs.iter().map(|&(a, _)| a));
            return Some(b0 - a0);
        }
        if filter {
            match self.grams.top_window(strs, segs, q, min_len, starts) {
                Window::Common(len) => return Some(len),
                Window::NoneLongEnough => return None,
                Window::NotCommon => {}
            }
        }
        let (start0, len) = self.longest_common(strs, at)?;
        if len < min_len {
            return None;
        }
        let finder = memchr::memmem::Finder::new(&strs[0][start0..start0 + len]);
        starts.push(start0);
        for (s, &(a, b)) in strs.iter().zip(&self.segs[at..at + strs.len()]).skip(1) {
            // The automaton guarantees an occurrence; a missing one would be
            // a bug, handled by stopping this branch.
            let Some(off) = finder.find(&s[a..b]) else {
                debug_assert!(false, "common substring not found");
                return None;
            };
            starts.push(a + off);
        }
        Some(len)
    }

    /// The leftmost (in the first string) longest substring common to the
    /// segments stored at `at`, by the suffix automaton:
    /// `(start in strs[0], length)`, or `None` when there is none.
    fn longest_common(&mut self, strs: &[&[u8]], at: usize) -> Option<(usize, usize)> {
        let segs = &self.segs[at..at + strs.len()];
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

/// Longest q-gram used by the filter (a gram is packed into a `u64`).
const MAX_GRAM: usize = 8;

/// What the filter says about one node (see [`Grams::top_window`]).
enum Window {
    /// The node's answer, of this length; the starts of its leftmost
    /// occurrence in every segment (the first string's included) are filled in.
    Common(usize),
    /// No substring of the first segment of `min_len` or more is common.
    NoneLongEnough,
    /// The best candidate window is not common as a whole: the filter
    /// cannot decide, run the automaton.
    NotCommon,
}

/// The q-gram filter: which positions of the first string start a q-gram
/// (`q = min(min_len, 8)`) that occurs somewhere in every other string.
///
/// Computed once per call over the whole strings. A substring of the first
/// string's segment that is common to all segments, of length `L >= q`,
/// starts a run of at least `L - q + 1` consecutive candidate positions, so
/// it lies inside the window `[r, r + run + q - 1)` of one maximal run `r`
/// of candidates. The longest window (leftmost on ties) bounds the answer
/// from above; when it occurs as a whole in every other segment it *is* the
/// answer (the automaton's rule: longest, then leftmost in the first
/// string), which on header values is the usual case, and a node then costs
/// a scan of the candidate flags and `k - 1` substring searches.
#[derive(Debug, Clone, Default)]
struct Grams {
    /// Open-addressing table of the first string's distinct grams:
    /// `(gram, id)`; ids start at 1, an empty slot is `(0, 0)`.
    slots: Vec<(u64, u32)>,
    /// Per gram id: the last other string that contains the gram (distinct
    /// strings counted from 1); id 0 is the dummy that absent grams mark.
    seen: Vec<u32>,
    /// Ids of the grams found in every string so far.
    alive: Vec<u32>,
    /// Per position of the first string: its gram's id.
    pos_gram: Vec<u32>,
    /// Per position of the first string: whether its gram occurs in every string.
    candidate: Vec<bool>,
    /// `64 - log2(slots.len())`.
    shift: u32,
    /// The hash multiplier: odd, drawn once per finder from the standard
    /// library's random hasher keys, so that values crafted to collide in
    /// the table cannot be chosen in advance (0 until the first call).
    mul: u64,
}

impl Grams {
    fn slot(&self, key: u64) -> usize {
        // Multiply-shift hashing; the table has at least 4 slots per gram,
        // so a lookup mostly ends at its first slot.
        (key.wrapping_mul(self.mul) >> self.shift) as usize
    }

    /// The id of `key`, or 0 when the first string does not have it.
    fn get(&self, key: u64) -> u32 {
        let mask = self.slots.len() - 1;
        let mut i = self.slot(key);
        loop {
            // One exit test: the gram, or an empty slot (which ends every
            // probe sequence, so a stored gram 0 is always met before one).
            let (k, id) = self.slots[i];
            if k == key || id == 0 {
                return id;
            }
            i = (i + 1) & mask;
        }
    }

    /// The id of `key`, inserting it as a new gram when absent.
    fn insert(&mut self, key: u64) -> u32 {
        let mask = self.slots.len() - 1;
        let mut i = self.slot(key);
        loop {
            let (k, id) = self.slots[i];
            if id == 0 {
                let id = self.seen.len() as u32;
                self.seen.push(0);
                self.slots[i] = (key, id);
                return id;
            }
            if k == key {
                return id;
            }
            i = (i + 1) & mask;
        }
    }

    /// Marks the candidate positions of `strs[0]` for grams of `q` bytes.
    fn build(&mut self, strs: &[&[u8]], q: usize) {
        self.candidate.clear();
        let base = strs[0];
        if base.len() < q {
            return;
        }
        if self.mul == 0 {
            self.mul = RandomState::new().hash_one(0x9E37_79B9_7F4A_7C15_u64) | 1;
        }
        let n = base.len() - q + 1;
        let bits = (4 * n).next_power_of_two().trailing_zeros().max(4);
        self.shift = 64 - bits;
        self.slots.clear();
        self.slots.resize(1 << bits, (0, 0));
        self.seen.clear();
        self.seen.push(0);
        self.pos_gram.clear();
        let mask = gram_mask(q);
        let mut key = 0u64;
        for (i, &c) in base.iter().enumerate() {
            key = ((key << 8) | u64::from(c)) & mask;
            if i + 1 >= q {
                let id = self.insert(key);
                self.pos_gram.push(id);
            }
        }
        self.alive.clear();
        self.alive.extend(1..self.seen.len() as u32);
        // Distinct other strings processed (a repeat has the same grams).
        let mut j = 0u32;
        for (idx, s) in strs.iter().enumerate().skip(1) {
            if strs[..idx].contains(s) {
                continue;
            }
            j += 1;
            // Mark what `s` has (stores only, no load-to-store chain)...
            let mut key = 0u64;
            for (i, &c) in s.iter().enumerate() {
                key = ((key << 8) | u64::from(c)) & mask;
                if i + 1 >= q {
                    let id = self.get(key);
                    self.seen[id as usize] = j;
                }
            }
            // ...then keep the grams it has.
            let seen = &self.seen;
            self.alive.retain(|&id| seen[id as usize] == j);
            if self.alive.is_empty() {
                // No gram is common to all strings.
                self.candidate.resize(n, false);
                return;
            }
        }
        // Mark the survivors (`j + 1` is no string's number).
        for &id in &self.alive {
            self.seen[id as usize] = j + 1;
        }
        let seen = &self.seen;
        self.candidate
            .extend(self.pos_gram.iter().map(|&id| seen[id as usize] == j + 1));
    }

    /// Decides a node from its longest candidate window (see the type docs);
    /// on [`Window::Common`] the occurrence starts are in `starts`.
    fn top_window(
        &self,
        strs: &[&[u8]],
        segs: &[(usize, usize)],
        q: usize,
        min_len: usize,
        starts: &mut Vec<usize>,
    ) -> Window {
        let (a0, b0) = segs[0];
        if b0 - a0 < q || self.candidate.is_empty() {
            return Window::NoneLongEnough;
        }
        // Positions a0..=b0-q start a gram inside the segment.
        let flags = &self.candidate[a0..=b0 - q];
        let (mut best_len, mut best_start) = (0, 0);
        let mut run_start = None;
        for (i, &c) in flags.iter().enumerate() {
            match (c, run_start) {
                (true, None) => run_start = Some(i),
                (false, Some(r)) => {
                    if i - r > best_len {
                        (best_len, best_start) = (i - r, r);
                    }
                    run_start = None;
                }
                _ => {}
            }
        }
        if let Some(r) = run_start
            && flags.len() - r > best_len
        {
            (best_len, best_start) = (flags.len() - r, r);
        }
        if best_len == 0 || best_len + q - 1 < min_len {
            return Window::NoneLongEnough;
        }
        let (start0, len) = (a0 + best_start, best_len + q - 1);
        let finder = memchr::memmem::Finder::new(&strs[0][start0..start0 + len]);
        starts.clear();
        starts.push(start0);
        for (s, &(a, b)) in strs.iter().zip(segs).skip(1) {
            let Some(off) = finder.find(&s[a..b]) else {
                starts.clear();
                return Window::NotCommon;
            };
            starts.push(a + off);
        }
        Window::Common(len)
    }
}

/// The mask of a rolling `q`-byte gram (`1 <= q <= 8`) packed into a `u64`.
fn gram_mask(q: usize) -> u64 {
    if q >= MAX_GRAM {
        u64::MAX
    } else {
        (1u64 << (8 * q)) - 1
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

    /// The q-gram filter never changes a result: realistic header groups
    /// (the difflib parity fixture) give the same pieces and occurrences
    /// as the automaton alone, for several minimum lengths (q < 8, q = 8,
    /// min_len > 8).
    #[test]
    fn filter_equals_automaton_on_header_groups() {
        let text = include_str!("../tests/data/difflib_parity.jsonl");
        let (mut fast, mut slow) = (PieceFinder::new(), PieceFinder::new());
        let mut groups = 0;
        for line in text.lines().filter(|l| !l.trim().is_empty()) {
            let v: serde_json::Value = serde_json::from_str(line).expect("fixture line is JSON");
            let values: Vec<&str> = v["values"]
                .as_array()
                .expect("values")
                .iter()
                .filter_map(serde_json::Value::as_str)
                .collect();
            for min_len in [1, 3, 5, 8, 12] {
                let a = fast.find(&values, min_len);
                assert_eq!(a, slow.find_with(&values, min_len, false), "{values:?}");
            }
            groups += 1;
        }
        assert!(groups >= 100);
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(512))]
        /// The q-gram filter never changes a result, on random strings over
        /// small alphabets (many repeats, ties and near-miss windows).
        #[test]
        fn filter_equals_automaton(
            strs in proptest::collection::vec("[ab]{0,24}|[abc]{0,40}", 1..6),
            min_len in 1usize..11,
        ) {
            let a = PieceFinder::new().find(&strs, min_len);
            let b = PieceFinder::new().find_with(&strs, min_len, false);
            prop_assert_eq!(a, b);
        }
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
