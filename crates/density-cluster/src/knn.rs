//! The k nearest neighbours of every point and the core distances, by
//! blocked, leaf-pruned brute force.
//!
//! Blocks of [`QUERY_BLOCK`] consecutive query rows (spatially coherent
//! because of the leaf order) visit the leaves in increasing order of their
//! bound and skip every leaf that cannot hold a closer neighbour for any query
//! of the block. Each visited leaf is one matrix multiply
//! ([`Points::leaf_distances`]); a small sorted buffer per query keeps the best
//! `k + 2`, whose distances are then recomputed directly (removing the
//! cancellation error of the dot-product form) and cut to `k`. Blocks run in
//! parallel (rayon). The core distance of a point is the distance to its
//! `min_samples`-th neighbour, not counting itself, as in Python `hdbscan`.
//!
//! Everything is `f64`: single precision was tried first and rejected, because
//! for unit-norm embeddings whose neighbours are 10⁻³ apart the dot-product
//! form in `f32` has errors of the order of the squared distances themselves,
//! which changed core distances by 1% and cluster memberships with them.

use std::sync::atomic::{AtomicUsize, Ordering};

use ndarray::{Array2, Axis, Slice};
use rayon::prelude::*;

use crate::points::{LEAF_SIZE, Points, QUERY_BLOCK};

/// Extra candidates kept before the exact re-ranking of the neighbours.
const SLACK: usize = 2;

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

    /// Core distance of every point: the distance to its `k`-th neighbour.
    pub(crate) fn core_distances(&self) -> Vec<f64> {
        self.dist
            .chunks_exact(self.k)
            .map(|row| row[self.k - 1])
            .collect()
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

#[cfg(test)]
mod tests {
    use super::knn;
    use crate::points::Points;
    use ndarray::array;

    #[test]
    fn known_answer() {
        // Points 0, 1, 3 and 7 on a line: neighbours and core distances by hand.
        let points = Points::new(array![[0.0], [1.0], [3.0], [7.0]]);
        let knn = knn(&points, 2, &|_, _| {});
        let mut by_input: Vec<(usize, Vec<f64>)> = (0..4)
            .map(|p| (points.perm[p], knn.row(p).1.to_vec()))
            .collect();
        by_input.sort_by_key(|e| e.0);
        let expected = [[1.0, 3.0], [1.0, 2.0], [2.0, 3.0], [4.0, 6.0]];
        for ((_, got), want) in by_input.iter().zip(expected) {
            assert_eq!(got.len(), 2);
            for (g, w) in got.iter().zip(want) {
                assert!((g - w).abs() < 1e-12, "{got:?} vs {want:?}");
            }
        }
        let mut core: Vec<(usize, f64)> = knn
            .core_distances()
            .into_iter()
            .enumerate()
            .map(|(p, c)| (points.perm[p], c))
            .collect();
        core.sort_by_key(|e| e.0);
        let core: Vec<f64> = core.into_iter().map(|e| e.1).collect();
        for (g, w) in core.iter().zip([3.0, 2.0, 3.0, 6.0]) {
            assert!((g - w).abs() < 1e-12, "{core:?}");
        }
    }

    #[test]
    fn matches_brute_force() {
        let points = Points::random(300, 7, 1);
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
}
