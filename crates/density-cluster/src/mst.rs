//! Core distances and the mutual-reachability minimum spanning tree.
//!
//! # Algorithm
//!
//! 0. **Leaves.** The (column-centred, `f64`) points are split recursively at
//!    the median along the direction between two far-apart points (the
//!    ball-tree construction heuristic) into leaves of at most 256 rows, stored
//!    contiguously, each with its centre and radius. A query `q` and a leaf `L`
//!    give the lower bound `|q − t| ≥ |q − centre(L)| − radius(L)` for every
//!    `t` in `L`. This is the only "tree": one level, used to skip whole leaves.
//! 1. **k nearest neighbours, blocked.** Blocks of 128 consecutive query rows
//!    (spatially coherent because of the leaf order) visit the leaves in
//!    increasing order of their bound and skip every leaf that cannot hold a
//!    closer neighbour for any query of the block. Each visited leaf is one
//!    matrix multiply `Q · Lᵀ` (`ndarray` → `matrixmultiply`, AVX2/AVX-512
//!    kernels), turned into squared distances `|q|² + |t|² − 2 q·t`; a small
//!    sorted buffer per query keeps the best `k + 2`, whose distances are then
//!    recomputed directly (removing the cancellation error of the dot-product
//!    form) and cut to `k`. Blocks run in parallel (rayon). The core distance
//!    of a point is the distance to its `min_samples`-th neighbour, not
//!    counting itself, as in Python `hdbscan`. Everything is `f64`: single
//!    precision was tried first and rejected, because for unit-norm embeddings
//!    whose neighbours are 10⁻³ apart the dot-product form in `f32` has errors
//!    of the order of the squared distances themselves, which changed core
//!    distances by 1% and cluster memberships with them.
//! 2. **Borůvka on the mutual-reachability graph** `mr(p, q) = max(core p, core q, d(p, q))`.
//!    Each round every component needs its lightest outgoing edge. For a point
//!    `p`, its kNN list gives candidates; every point outside the list is at
//!    least `d_k(p)` away, so a candidate `≤ d_k(p)` is exact. A point whose
//!    candidates cannot be proven exact this way, and whose lower bound is below
//!    its component's best candidate, is searched exactly against the points of
//!    other components with the same leaf-pruned blocked kernel, bounded by the
//!    component's best candidate (leaves whose points all lie in the query's
//!    component are skipped too). Results are cached: an exact answer stays
//!    exact while its target is outside, and otherwise, like an unsuccessful
//!    bounded search, is a lower bound for later rounds (components only grow).
//!    At most `log2 n` rounds.
//!
//! Memory is `O(n (d + k))`: no distance matrix is ever stored. Time is
//! `O(n² d)` in the worst case (uniform data in high dimension, where no
//! bound prunes anything) and close to `Σ |blob|² d` on clustered data.

use std::sync::atomic::{AtomicUsize, Ordering};

use ndarray::linalg::general_mat_mul;
use ndarray::{Array2, ArrayView2, Axis, Slice};
use rayon::prelude::*;

/// Points per leaf of the spatial partition (and per matrix-multiply block).
const LEAF_SIZE: usize = 256;
/// Query rows per rayon task.
const QUERY_BLOCK: usize = 128;
/// Extra candidates kept before the exact re-ranking of the neighbours.
const SLACK: usize = 2;

/// A leaf of the spatial partition: rows `start..end` (internal order).
struct Leaf {
    start: usize,
    end: usize,
    radius: f64,
}

/// Column-centred `f64` copy of the input, rows reordered so that every leaf
/// of a spatial partition is a contiguous block, with squared row norms.
pub(crate) struct Points {
    data: Array2<f64>,
    norms: Vec<f64>,
    /// `perm[i]` is the input row of internal row `i`.
    pub(crate) perm: Vec<usize>,
    leaves: Vec<Leaf>,
    centres: Array2<f64>,
    centre_norms: Vec<f64>,
}

/// Splits `order` in place into leaves of at most [`LEAF_SIZE`] rows;
/// returns their ranges (shifted by `offset`) in order.
fn partition(data: &Array2<f64>, order: &mut [usize], offset: usize) -> Vec<(usize, usize)> {
    let mut ranges = Vec::new();
    let mut stack = vec![(0, order.len())];
    while let Some((lo, hi)) = stack.pop() {
        if hi - lo <= LEAF_SIZE {
            if hi > lo {
                ranges.push((lo + offset, hi + offset));
            }
            continue;
        }
        let slice = &mut order[lo..hi];
        let b = farthest(data, slice, slice[0]);
        let c = farthest(data, slice, b);
        let dir = &data.row(c) - &data.row(b);
        let mut proj: Vec<(f64, usize)> =
            slice.iter().map(|&i| (data.row(i).dot(&dir), i)).collect();
        let mid = proj.len() / 2;
        proj.select_nth_unstable_by(mid, |x, y| x.0.total_cmp(&y.0).then(x.1.cmp(&y.1)));
        for (dst, (_, i)) in slice.iter_mut().zip(proj) {
            *dst = i;
        }
        stack.push((lo + mid, hi));
        stack.push((lo, lo + mid));
    }
    ranges.sort_unstable();
    ranges
}

/// Mean of some rows.
fn centre_of(data: &Array2<f64>, rows: &[usize]) -> ndarray::Array1<f64> {
    let mut c = ndarray::Array1::zeros(data.ncols());
    for &i in rows {
        c += &data.row(i);
    }
    c / rows.len().max(1) as f64
}

/// Squared distance of row `i` to `centre`.
fn sq_dist_to(data: &Array2<f64>, i: usize, centre: &ndarray::Array1<f64>) -> f64 {
    data.row(i)
        .iter()
        .zip(centre.iter())
        .map(|(a, b)| (a - b) * (a - b))
        .sum()
}

/// Index of the row of `idx` farthest from row `from`.
fn farthest(data: &Array2<f64>, idx: &[usize], from: usize) -> usize {
    let f = data.row(from);
    let mut best = (f64::NEG_INFINITY, from);
    for &i in idx {
        let d: f64 = data
            .row(i)
            .iter()
            .zip(f.iter())
            .map(|(a, b)| (a - b) * (a - b))
            .sum();
        if d > best.0 {
            best = (d, i);
        }
    }
    best.1
}

impl Points {
    /// Takes the input rows; centres the columns (distances do not change, the
    /// rounding error of the dot-product form shrinks) and partitions them
    /// into leaves of at most [`LEAF_SIZE`] rows by recursive splits at the
    /// median along the direction between two far-apart points (the ball-tree
    /// construction heuristic), which keeps Gaussian blobs together.
    pub(crate) fn new(mut data: Array2<f64>) -> Self {
        let n = data.nrows();
        if let Some(mean) = data.mean_axis(Axis(0)) {
            data -= &mean;
        }
        // First partition; then points far out of their leaf (beyond twice the
        // median distance to its centre, e.g. background noise) are moved to
        // leaves of their own, so the radii of the dense leaves stay tight.
        let mut order: Vec<usize> = (0..n).collect();
        let first = partition(&data, &mut order, 0);
        let mut inliers = Vec::with_capacity(n);
        let mut outliers = Vec::new();
        let mut ranges = Vec::with_capacity(first.len());
        for &(lo, hi) in &first {
            let rows = &order[lo..hi];
            let centre = centre_of(&data, rows);
            let dists: Vec<f64> = rows
                .iter()
                .map(|&i| sq_dist_to(&data, i, &centre))
                .collect();
            let mut sorted = dists.clone();
            let mid = sorted.len() / 2;
            let median = *sorted.select_nth_unstable_by(mid, f64::total_cmp).1;
            let start = inliers.len();
            for (&i, &d) in rows.iter().zip(&dists) {
                // squared distances: 2x the median distance is 4x the squared median
                if d > 4.0 * median && rows.len() > 8 {
                    outliers.push(i);
                } else {
                    inliers.push(i);
                }
            }
            if inliers.len() > start {
                ranges.push((start, inliers.len()));
            }
        }
        let offset = inliers.len();
        let outlier_ranges = partition(&data, &mut outliers, offset);
        ranges.extend(outlier_ranges);
        let mut order = inliers;
        order.extend(outliers);
        let data = data.select(Axis(0), &order);
        let norms: Vec<f64> = data.rows().into_iter().map(|r| r.dot(&r)).collect();
        let dim = data.ncols();
        let mut centres = Array2::zeros((ranges.len(), dim));
        let mut leaves = Vec::with_capacity(ranges.len());
        for (l, &(start, end)) in ranges.iter().enumerate() {
            let block = data.slice_axis(Axis(0), Slice::from(start..end));
            let centre = block
                .mean_axis(Axis(0))
                .unwrap_or_else(|| ndarray::Array1::zeros(dim));
            let radius = block
                .rows()
                .into_iter()
                .map(|r| {
                    r.iter()
                        .zip(centre.iter())
                        .map(|(a, b)| (a - b) * (a - b))
                        .sum::<f64>()
                })
                .fold(0.0, f64::max)
                .sqrt();
            centres.row_mut(l).assign(&centre);
            // A little slack absorbs rounding in the bounds.
            leaves.push(Leaf {
                start,
                end,
                radius: radius * (1.0 + 1e-9) + 1e-12,
            });
        }
        let centre_norms = centres.rows().into_iter().map(|r| r.dot(&r)).collect();
        Self {
            data,
            norms,
            perm: order,
            leaves,
            centres,
            centre_norms,
        }
    }

    pub(crate) fn len(&self) -> usize {
        self.data.nrows()
    }

    /// Exact Euclidean distance between internal rows.
    pub(crate) fn dist(&self, a: usize, b: usize) -> f64 {
        let ra = self.data.row(a);
        let rb = self.data.row(b);
        ra.iter()
            .zip(rb.iter())
            .map(|(x, y)| {
                let d = x - y;
                d * d
            })
            .sum::<f64>()
            .sqrt()
    }

    /// Lower bounds `|q − t| ≥ |q − centre| − radius` for every query row and
    /// leaf (`queries.len() × leaves`), and the leaves in increasing order of
    /// their smallest bound.
    fn leaf_bounds(&self, q: &Array2<f64>, q_norms: &[f64]) -> (Array2<f64>, Vec<usize>) {
        let mut g = Array2::zeros((q.nrows(), self.leaves.len()));
        general_mat_mul(1.0, q, &self.centres.t(), 0.0, &mut g);
        for (mut row, &qn) in g.rows_mut().into_iter().zip(q_norms) {
            for ((v, &cn), leaf) in row.iter_mut().zip(&self.centre_norms).zip(&self.leaves) {
                let d2 = qn + cn - 2.0 * *v;
                // Relative slack for the rounding of the dot-product form.
                let d2 = (d2 - 1e-12 * (qn + cn)).max(0.0);
                *v = d2.sqrt() - leaf.radius;
            }
        }
        let mut order: Vec<usize> = (0..self.leaves.len()).collect();
        let min_bound: Vec<f64> = g
            .columns()
            .into_iter()
            .map(|c| c.fold(f64::INFINITY, |m, &v| m.min(v)))
            .collect();
        order.sort_unstable_by(|&a, &b| min_bound[a].total_cmp(&min_bound[b]));
        (g, order)
    }

    /// Squared distances (dot-product form, clamped at 0) between the query
    /// rows and leaf `l`, into `out` (`queries × leaf size`).
    fn leaf_distances(
        &self,
        q: &Array2<f64>,
        q_norms: &[f64],
        l: usize,
        out: &mut Array2<f64>,
    ) -> usize {
        let leaf = &self.leaves[l];
        let width = leaf.end - leaf.start;
        let t = self
            .data
            .slice_axis(Axis(0), Slice::from(leaf.start..leaf.end));
        let mut view = out.slice_axis_mut(Axis(1), Slice::from(..width));
        general_mat_mul(1.0, q, &t.t(), 0.0, &mut view);
        let t_norms = &self.norms[leaf.start..leaf.end];
        for (mut row, &qn) in view.rows_mut().into_iter().zip(q_norms) {
            for (v, &tn) in row.iter_mut().zip(t_norms) {
                *v = (qn + tn - 2.0 * *v).max(0.0);
            }
        }
        width
    }
}

/// Gathers `rows` of `data` into a contiguous matrix.
fn gather(data: &ArrayView2<'_, f64>, rows: &[usize]) -> Array2<f64> {
    let mut out = Array2::zeros((rows.len(), data.ncols()));
    for (mut o, &r) in out.rows_mut().into_iter().zip(rows) {
        o.assign(&data.row(r));
    }
    out
}

/// The k nearest neighbours of every point (itself excluded), with exact
/// distances, in internal row order.
pub(crate) struct Knn {
    pub(crate) k: usize,
    pub(crate) idx: Vec<u32>,
    pub(crate) dist: Vec<f64>,
}

impl Knn {
    pub(crate) fn row(&self, p: usize) -> (&[u32], &[f64]) {
        (
            &self.idx[p * self.k..(p + 1) * self.k],
            &self.dist[p * self.k..(p + 1) * self.k],
        )
    }
}

/// Inserts `(d, j)` into a buffer sorted ascending by distance, keeping `cap` entries.
#[inline]
fn insert(buf: &mut Vec<(f64, u32)>, cap: usize, d: f64, j: u32) {
    let pos = buf.partition_point(|&(bd, _)| bd <= d);
    if pos >= cap {
        return;
    }
    if buf.len() == cap {
        buf.pop();
    }
    buf.insert(pos, (d, j));
}

/// k nearest neighbours by blocked, leaf-pruned brute force; `k < n`.
pub(crate) fn knn(points: &Points, k: usize, progress: &(dyn Fn(usize, usize) + Sync)) -> Knn {
    let n = points.len();
    let cap = (k + SLACK).min(n - 1);
    let mut idx = vec![0u32; n * k];
    let mut dist = vec![0f64; n * k];
    let done = AtomicUsize::new(0);
    idx.par_chunks_mut(QUERY_BLOCK * k)
        .zip(dist.par_chunks_mut(QUERY_BLOCK * k))
        .enumerate()
        .for_each(|(b, (idx_out, dist_out))| {
            let lo = b * QUERY_BLOCK;
            let hi = (lo + QUERY_BLOCK).min(n);
            let q = points
                .data
                .slice_axis(Axis(0), Slice::from(lo..hi))
                .to_owned();
            let q_norms = &points.norms[lo..hi];
            let (bounds, order) = points.leaf_bounds(&q, q_norms);
            let mut bufs: Vec<Vec<(f64, u32)>> =
                (lo..hi).map(|_| Vec::with_capacity(cap + 1)).collect();
            // Current k-th (cap-th) distance of each query, infinite until its buffer is full.
            let mut kth = vec![f64::INFINITY; hi - lo];
            let mut d2 = Array2::zeros((hi - lo, LEAF_SIZE));
            for &l in &order {
                if bounds.column(l).iter().zip(&kth).all(|(&lb, &kd)| lb > kd) {
                    continue;
                }
                let width = points.leaf_distances(&q, q_norms, l, &mut d2);
                let start = points.leaves[l].start;
                for (i, row) in d2.rows().into_iter().enumerate() {
                    let me = lo + i;
                    let buf = &mut bufs[i];
                    for (off, &d) in row.iter().take(width).enumerate() {
                        let j = start + off;
                        if j != me && (buf.len() < cap || d < buf[buf.len() - 1].0) {
                            insert(buf, cap, d, j as u32);
                        }
                    }
                    if buf.len() == cap {
                        kth[i] = buf[cap - 1].0.sqrt() * (1.0 + 1e-9);
                    }
                }
            }
            for (i, buf) in bufs.iter().enumerate() {
                let me = lo + i;
                let mut exact: Vec<(f64, u32)> = buf
                    .iter()
                    .map(|&(_, j)| (points.dist(me, j as usize), j))
                    .collect();
                exact.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
                for (slot, (d, j)) in exact.into_iter().take(k).enumerate() {
                    idx_out[i * k + slot] = j;
                    dist_out[i * k + slot] = d;
                }
            }
            let finished = done.fetch_add(hi - lo, Ordering::Relaxed) + (hi - lo);
            progress(finished, n);
        });
    Knn { k, idx, dist }
}

/// An edge of the minimum spanning tree.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct MstEdge {
    /// One end (row index).
    pub a: usize,
    /// The other end (row index).
    pub b: usize,
    /// Mutual-reachability distance.
    pub weight: f64,
}

struct UnionFind {
    parent: Vec<u32>,
    rank: Vec<u8>,
}

impl UnionFind {
    fn new(n: usize) -> Self {
        Self {
            parent: (0..n as u32).collect(),
            rank: vec![0; n],
        }
    }

    fn find(&mut self, mut x: usize) -> usize {
        let mut root = x;
        while self.parent[root] as usize != root {
            root = self.parent[root] as usize;
        }
        while self.parent[x] as usize != root {
            let next = self.parent[x] as usize;
            self.parent[x] = root as u32;
            x = next;
        }
        root
    }

    fn union(&mut self, a: usize, b: usize) -> bool {
        let (ra, rb) = (self.find(a), self.find(b));
        if ra == rb {
            return false;
        }
        match self.rank[ra].cmp(&self.rank[rb]) {
            std::cmp::Ordering::Less => self.parent[ra] = rb as u32,
            std::cmp::Ordering::Greater => self.parent[rb] = ra as u32,
            std::cmp::Ordering::Equal => {
                self.parent[rb] = ra as u32;
                self.rank[ra] += 1;
            }
        }
        true
    }
}

/// `(weight, target)` ordered by weight, then target (deterministic ties).
#[derive(Clone, Copy, Debug)]
struct Cand {
    w: f64,
    to: u32,
}

impl Cand {
    /// No candidate.
    const NONE: Cand = Cand {
        w: f64::INFINITY,
        to: u32::MAX,
    };
    /// Nothing known (a cache entry before any search).
    const UNKNOWN: Cand = Cand {
        w: 0.0,
        to: u32::MAX,
    };

    fn better(self, other: Cand) -> bool {
        self.w
            .total_cmp(&other.w)
            .then(self.to.cmp(&other.to))
            .is_lt()
    }
}

/// For each query, the nearest point of another component in mutual
/// reachability if it is closer than `bound[i]`; otherwise `Cand { w: bound, to: NONE }`,
/// meaning "nothing outside is closer than `bound`".
fn nearest_outside(
    points: &Points,
    queries: &[usize],
    bound: &[f64],
    comp: &[u32],
    leaf_comp: &[u32],
    leaf_min_core: &[f64],
    core: &[f64],
) -> Vec<Cand> {
    let core2: Vec<f64> = core.iter().map(|&c| c * c).collect();
    queries
        .par_chunks(QUERY_BLOCK)
        .zip(bound.par_chunks(QUERY_BLOCK))
        .flat_map_iter(|(chunk, chunk_bound)| {
            let q = gather(&points.data.view(), chunk);
            let q_norms: Vec<f64> = chunk.iter().map(|&p| points.norms[p]).collect();
            let (bounds, order) = points.leaf_bounds(&q, &q_norms);
            // Best squared weight so far; starts at the caller's bound.
            let mut best: Vec<(f64, u32)> =
                chunk_bound.iter().map(|&b| (b * b, u32::MAX)).collect();
            let mut d2 = Array2::zeros((chunk.len(), LEAF_SIZE));
            for &l in &order {
                // mr(q, t) >= max(|q - t|, core t), so the leaf's smallest core distance bounds it too.
                let min_core = leaf_min_core[l];
                let needed =
                    chunk
                        .iter()
                        .zip(&best)
                        .zip(bounds.column(l))
                        .any(|((&p, &(bw, _)), &lb)| {
                            let lb = lb.max(min_core).max(0.0);
                            leaf_comp[l] != comp[p] && lb * lb < bw
                        });
                if !needed {
                    continue;
                }
                let width = points.leaf_distances(&q, &q_norms, l, &mut d2);
                let start = points.leaves[l].start;
                let comps = &comp[start..start + width];
                let cores = &core2[start..start + width];
                for ((row, &p), slot) in d2.rows().into_iter().zip(chunk).zip(best.iter_mut()) {
                    let my_comp = comp[p];
                    let my_core2 = core2[p];
                    let (mut bw, mut bj) = *slot;
                    for (off, ((&d, &c), &cc)) in
                        row.iter().take(width).zip(comps).zip(cores).enumerate()
                    {
                        let w = d.max(cc).max(my_core2);
                        if w < bw && c != my_comp {
                            bw = w;
                            bj = (start + off) as u32;
                        }
                    }
                    *slot = (bw, bj);
                }
            }
            chunk
                .iter()
                .zip(best)
                .zip(chunk_bound)
                .map(|((&p, (_, j)), &b)| {
                    if j == u32::MAX {
                        Cand { w: b, to: u32::MAX }
                    } else {
                        let w = points
                            .dist(p, j as usize)
                            .max(core[p])
                            .max(core[j as usize]);
                        Cand { w, to: j }
                    }
                })
                .collect::<Vec<_>>()
        })
        .collect()
}

/// Components at which Borůvka stops and the component graph is finished at once.
const FINISH_AT: usize = 16;

/// Lightest edge per pair of components: `(squared weight, from, to)`.
type Table = Vec<(f64, u32, u32)>;

/// Finishes the spanning tree once few components are left: one pass over the
/// point pairs of different components (leaf-pruned, blocked) finds the
/// lightest edge between every two components, and Kruskal's algorithm on that
/// small complete graph adds the last `components - 1` edges. This replaces the
/// last Borůvka rounds, each of which would scan most pairs again.
#[allow(clippy::too_many_arguments)]
fn finish(
    points: &Points,
    knn: &Knn,
    core: &[f64],
    comp: &[u32],
    leaf_comp: &[u32],
    leaf_min_core: &[f64],
    uf: &mut UnionFind,
    edges: &mut Vec<MstEdge>,
) {
    let n = points.len();
    // Dense component ids.
    let mut dense = vec![u32::MAX; n];
    let mut m = 0usize;
    for &c in comp {
        let r = c as usize;
        if dense[r] == u32::MAX {
            dense[r] = m as u32;
            m += 1;
        }
    }
    let cid: Vec<u32> = comp.iter().map(|&c| dense[c as usize]).collect();
    let leaf_cid: Vec<u32> = leaf_comp
        .iter()
        .map(|&c| {
            if c == u32::MAX {
                u32::MAX
            } else {
                dense[c as usize]
            }
        })
        .collect();
    // best[c * m + d] for c < d: (squared weight, from, to).
    let empty = (f64::INFINITY, u32::MAX, u32::MAX);
    let mut seed: Table = vec![empty; m * m];
    for p in 0..n {
        let (ids, ds) = knn.row(p);
        for (&j, &d) in ids.iter().zip(ds) {
            let (c, e) = (cid[p] as usize, cid[j as usize] as usize);
            if c < e {
                let w = d.max(core[p]).max(core[j as usize]);
                let slot = &mut seed[c * m + e];
                if w * w < slot.0 {
                    *slot = (w * w, p as u32, j);
                }
            }
        }
    }
    let core2: Vec<f64> = core.iter().map(|&c| c * c).collect();
    let merged: Table = (0..n)
        .collect::<Vec<_>>()
        .par_chunks(QUERY_BLOCK)
        .fold(
            || seed.clone(),
            |mut best, chunk| {
                let lo = chunk[0];
                let hi = lo + chunk.len();
                let q = points
                    .data
                    .slice_axis(Axis(0), Slice::from(lo..hi))
                    .to_owned();
                let q_norms = &points.norms[lo..hi];
                let (bounds, order) = points.leaf_bounds(&q, q_norms);
                // Largest table entry per query component (bound for mixed leaves).
                let row_max: Vec<f64> = (0..m)
                    .map(|c| {
                        best[c * m..(c + 1) * m]
                            .iter()
                            .skip(c + 1)
                            .fold(0.0f64, |a, e| a.max(e.0))
                    })
                    .collect();
                let mut d2 = Array2::zeros((chunk.len(), LEAF_SIZE));
                for &l in &order {
                    let lc = leaf_cid[l];
                    let min_core = leaf_min_core[l];
                    let needed = (lo..hi).zip(bounds.column(l)).any(|(p, &lb)| {
                        let c = cid[p] as usize;
                        let lb = lb.max(min_core).max(core[p]).max(0.0);
                        if lc == u32::MAX {
                            lb * lb < row_max[c]
                        } else {
                            (lc as usize) > c && lb * lb < best[c * m + lc as usize].0
                        }
                    });
                    if !needed {
                        continue;
                    }
                    let width = points.leaf_distances(&q, q_norms, l, &mut d2);
                    let start = points.leaves[l].start;
                    let cids = &cid[start..start + width];
                    let cores = &core2[start..start + width];
                    for (row, p) in d2.rows().into_iter().zip(lo..hi) {
                        let c = cid[p] as usize;
                        let my_core2 = core2[p];
                        let table = &mut best[c * m..(c + 1) * m];
                        for (off, ((&d, &e), &cc)) in
                            row.iter().take(width).zip(cids).zip(cores).enumerate()
                        {
                            let e = e as usize;
                            if e > c {
                                let w = d.max(cc).max(my_core2);
                                if w < table[e].0 {
                                    table[e] = (w, p as u32, (start + off) as u32);
                                }
                            }
                        }
                    }
                }
                best
            },
        )
        .reduce(
            || vec![empty; m * m],
            |mut a, b| {
                for (x, y) in a.iter_mut().zip(b) {
                    if y.0
                        .total_cmp(&x.0)
                        .then((y.1, y.2).cmp(&(x.1, x.2)))
                        .is_lt()
                    {
                        *x = y;
                    }
                }
                a
            },
        );
    let mut candidates: Vec<MstEdge> = merged
        .iter()
        .filter(|e| e.1 != u32::MAX)
        .map(|&(_, a, b)| {
            let (a, b) = (a as usize, b as usize);
            MstEdge {
                a,
                b,
                weight: points.dist(a, b).max(core[a]).max(core[b]),
            }
        })
        .collect();
    candidates.sort_by(|x, y| {
        x.weight
            .total_cmp(&y.weight)
            .then((x.a, x.b).cmp(&(y.a, y.b)))
    });
    for e in candidates {
        if uf.union(e.a, e.b) {
            edges.push(e);
        }
    }
}

/// Borůvka's algorithm on the mutual-reachability graph (internal row order).
///
/// `progress(components_left)` is called after every round.
pub(crate) fn boruvka(
    points: &Points,
    knn: &Knn,
    core: &[f64],
    progress: &(dyn Fn(usize) + Sync),
) -> Vec<MstEdge> {
    let n = points.len();
    let mut uf = UnionFind::new(n);
    let mut edges = Vec::with_capacity(n.saturating_sub(1));
    // Result of the last exact search of each point: an exact nearest outside
    // point, or (target NONE) a lower bound on it.
    let mut cache: Vec<Cand> = vec![Cand::UNKNOWN; n];
    let knn_covers_all = knn.k + 1 >= n;
    let mut comp: Vec<u32> = (0..n as u32).collect();
    let mut leaf_comp = vec![u32::MAX; points.leaves.len()];
    let leaf_min_core: Vec<f64> = points
        .leaves
        .iter()
        .map(|l| {
            core[l.start..l.end]
                .iter()
                .copied()
                .fold(f64::INFINITY, f64::min)
        })
        .collect();
    let mut components = n;
    while components > 1 {
        for (p, c) in comp.iter_mut().enumerate() {
            *c = uf.find(p) as u32;
        }
        for (l, leaf) in points.leaves.iter().enumerate() {
            let first = comp[leaf.start];
            leaf_comp[l] = if comp[leaf.start..leaf.end].iter().all(|&c| c == first) {
                first
            } else {
                u32::MAX
            };
        }
        if components <= FINISH_AT {
            finish(
                points,
                knn,
                core,
                &comp,
                &leaf_comp,
                &leaf_min_core,
                &mut uf,
                &mut edges,
            );
            progress(1);
            break;
        }
        // Per point: best known candidate and a lower bound on the true best.
        let per_point: Vec<(Cand, f64)> = (0..n)
            .into_par_iter()
            .map(|p| {
                let my = comp[p];
                let (ids, ds) = knn.row(p);
                let mut best = Cand::NONE;
                for (&j, &d) in ids.iter().zip(ds) {
                    if comp[j as usize] != my {
                        let c = Cand {
                            w: d.max(core[p]).max(core[j as usize]),
                            to: j,
                        };
                        if c.better(best) {
                            best = c;
                        }
                    }
                }
                // Every point outside the kNN list is at least d_k away.
                let mut lb = if knn_covers_all {
                    f64::INFINITY
                } else {
                    ds.last().copied().unwrap_or(0.0)
                };
                let cached = cache[p];
                if cached.to == u32::MAX || comp[cached.to as usize] == my {
                    // A lower bound (failed bounded search, or target merged in).
                    lb = lb.max(cached.w);
                } else {
                    if cached.better(best) {
                        best = cached;
                    }
                    lb = f64::INFINITY;
                }
                (best, lb)
            })
            .collect();
        // Best candidate per component.
        let mut comp_best: Vec<(Cand, u32)> = vec![(Cand::NONE, u32::MAX); n];
        for (p, (c, _)) in per_point.iter().enumerate() {
            let slot = &mut comp_best[comp[p] as usize];
            if c.better(slot.0) {
                *slot = (*c, p as u32);
            }
        }
        // Points that could still beat their component's candidate.
        let queries: Vec<usize> = (0..n)
            .filter(|&p| {
                let (c, lb) = per_point[p];
                c.w > lb && lb < comp_best[comp[p] as usize].0.w
            })
            .collect();
        if !queries.is_empty() {
            let bound: Vec<f64> = queries
                .iter()
                .map(|&p| comp_best[comp[p] as usize].0.w)
                .collect();
            let found = nearest_outside(
                points,
                &queries,
                &bound,
                &comp,
                &leaf_comp,
                &leaf_min_core,
                core,
            );
            for (&p, c) in queries.iter().zip(found) {
                cache[p] = c;
                if c.to != u32::MAX {
                    let slot = &mut comp_best[comp[p] as usize];
                    if c.better(slot.0) {
                        *slot = (c, p as u32);
                    }
                }
            }
        }
        let mut added = 0;
        for root in 0..n {
            if comp[root] as usize != root {
                continue;
            }
            let (c, from) = comp_best[root];
            if from == u32::MAX || c.to == u32::MAX {
                continue;
            }
            if uf.union(from as usize, c.to as usize) {
                edges.push(MstEdge {
                    a: from as usize,
                    b: c.to as usize,
                    weight: c.w,
                });
                added += 1;
            }
        }
        if added == 0 {
            // Cannot happen on a complete graph; guards against an endless loop.
            break;
        }
        components -= added;
        progress(components);
    }
    edges
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::Array2;
    use rand::{RngExt, SeedableRng, rngs::StdRng};

    fn random_points(n: usize, d: usize, seed: u64) -> Points {
        let mut rng = StdRng::seed_from_u64(seed);
        Points::new(Array2::from_shape_fn((n, d), |_| rng.random::<f64>()))
    }

    /// Prim's algorithm on the dense mutual-reachability matrix: the O(n²) reference.
    fn prim_weight(points: &Points, core: &[f64]) -> f64 {
        let n = points.len();
        let mut in_tree = vec![false; n];
        let mut best = vec![f64::INFINITY; n];
        best[0] = 0.0;
        let mut total = 0.0;
        for _ in 0..n {
            let (u, _) = (0..n)
                .filter(|&v| !in_tree[v])
                .map(|v| (v, best[v]))
                .min_by(|a, b| a.1.total_cmp(&b.1))
                .expect("a vertex is left");
            in_tree[u] = true;
            total += best[u];
            for v in 0..n {
                if !in_tree[v] {
                    let w = points.dist(u, v).max(core[u]).max(core[v]);
                    if w < best[v] {
                        best[v] = w;
                    }
                }
            }
        }
        total
    }

    #[test]
    fn knn_matches_brute_force() {
        let points = random_points(300, 7, 1);
        let knn = knn(&points, 5, &|_, _| {});
        for p in 0..points.len() {
            let mut all: Vec<f64> = (0..points.len())
                .filter(|&q| q != p)
                .map(|q| points.dist(p, q))
                .collect();
            all.sort_by(f64::total_cmp);
            let (_, ds) = knn.row(p);
            for (a, b) in ds.iter().zip(&all[..5]) {
                assert!((a - b).abs() < 1e-12, "point {p}: {a} vs {b}");
            }
        }
    }

    #[test]
    fn boruvka_weight_equals_prim() {
        for (n, d, k, seed) in [
            (2, 3, 1, 3),
            (50, 2, 3, 4),
            (400, 16, 5, 5),
            (1500, 64, 5, 6),
        ] {
            let points = random_points(n, d, seed);
            let knn = knn(&points, k.min(n - 1), &|_, _| {});
            let core: Vec<f64> = (0..n).map(|p| knn.row(p).1[k.min(n - 1) - 1]).collect();
            let edges = boruvka(&points, &knn, &core, &|_| {});
            assert_eq!(edges.len(), n - 1);
            let ours: f64 = edges.iter().map(|e| e.weight).sum();
            let reference = prim_weight(&points, &core);
            assert!(
                (ours - reference).abs() <= 1e-9 * reference.max(1.0),
                "n={n}: {ours} vs {reference}"
            );
        }
    }
}
