//! The minimum spanning tree of the mutual-reachability graph
//! `mr(p, q) = max(core p, core q, d(p, q))`, by Borůvka's algorithm.
//!
//! Each round every component needs its lightest outgoing edge. For a point
//! `p`, its kNN list gives candidates; every point outside the list is at
//! least `d_k(p)` away, so a candidate `≤ d_k(p)` is exact. A point whose
//! candidates cannot be proven exact this way, and whose lower bound is below
//! its component's best candidate, is searched exactly against the points of
//! other components with the same leaf-pruned blocked kernel, bounded by the
//! component's best candidate (leaves whose points all lie in the query's
//! component are skipped too). Results are cached: an exact answer stays
//! exact while its target is outside, and otherwise, like an unsuccessful
//! bounded search, is a lower bound for later rounds (components only grow).
//! At most `log2 n` rounds; once [`FINISH_AT`] components are left, one exact
//! pass over the component graph adds the last edges.
//!
//! Memory is `O(n (d + k))`: no distance matrix is ever stored. Time is
//! `O(n² d)` in the worst case (uniform data in high dimension, where no
//! bound prunes anything) and close to `Σ |blob|² d` on clustered data.

use ndarray::{Array2, Axis, Slice};
use rayon::prelude::*;

use crate::knn::Knn;
use crate::points::{LEAF_SIZE, Points, QUERY_BLOCK, gather};
use crate::union_find::UnionFind;

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
    use crate::knn::knn;
    use ndarray::array;

    #[test]
    fn known_answer() {
        // Points 0, 1, 3 and 7 on a line, core distances 1 (first neighbour):
        // mutual reachability gives the chain 0-1 (1), 1-3 (2), 3-7 (4).
        let points = Points::new(array![[0.0], [1.0], [3.0], [7.0]]);
        let knn = knn(&points, 1, &|_, _| {});
        let core = knn.core_distances();
        let mut edges: Vec<(usize, usize, f64)> = boruvka(&points, &knn, &core, &|_| {})
            .into_iter()
            .map(|e| {
                let (a, b) = (points.perm[e.a], points.perm[e.b]);
                (a.min(b), a.max(b), e.weight)
            })
            .collect();
        edges.sort_by_key(|e| (e.0, e.1));
        let expected = [(0, 1, 1.0), (1, 2, 2.0), (2, 3, 4.0)];
        assert_eq!(edges.len(), 3);
        for (got, want) in edges.iter().zip(expected) {
            assert_eq!((got.0, got.1), (want.0, want.1));
            assert!((got.2 - want.2).abs() < 1e-12, "{edges:?}");
        }
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
    fn boruvka_weight_equals_prim() {
        for (n, d, k, seed) in [
            (2, 3, 1, 3),
            (50, 2, 3, 4),
            (400, 16, 5, 5),
            (1500, 64, 5, 6),
        ] {
            let points = Points::random(n, d, seed);
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
