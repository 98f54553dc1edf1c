//! The input points: a column-centred `f64` copy, reordered into leaves of a
//! one-level spatial partition, with the blocked distance kernels over it.
//!
//! The points are split recursively at the median along the direction between
//! two far-apart points (the ball-tree construction heuristic) into leaves of
//! at most [`LEAF_SIZE`] rows, stored contiguously, each with its centre and
//! radius. A query `q` and a leaf `L` give the lower bound
//! `|q − t| ≥ |q − centre(L)| − radius(L)` for every `t` in `L`. This is the
//! only "tree": one level, used to skip whole leaves. Distances between a block
//! of queries and a leaf are one matrix multiply `Q · Lᵀ` (`ndarray` →
//! `matrixmultiply`, AVX2/AVX-512 kernels), turned into squared distances
//! `|q|² + |t|² − 2 q·t`.

use ndarray::linalg::general_mat_mul;
use ndarray::{Array2, ArrayView2, Axis, Slice};

/// Points per leaf of the spatial partition (and per matrix-multiply block).
pub(crate) const LEAF_SIZE: usize = 256;
/// Query rows per rayon task.
pub(crate) const QUERY_BLOCK: usize = 128;

/// A leaf of the spatial partition: rows `start..end` (internal order).
pub(crate) struct Leaf {
    pub(crate) start: usize,
    pub(crate) end: usize,
    radius: f64,
}

/// Column-centred `f64` copy of the input, rows reordered so that every leaf
/// of a spatial partition is a contiguous block, with squared row norms.
pub(crate) struct Points {
    pub(crate) data: Array2<f64>,
    pub(crate) norms: Vec<f64>,
    /// `perm[i]` is the input row of internal row `i`.
    pub(crate) perm: Vec<usize>,
    pub(crate) leaves: Vec<Leaf>,
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
    pub(crate) fn leaf_bounds(
        &self,
        q: &Array2<f64>,
        q_norms: &[f64],
    ) -> (Array2<f64>, Vec<usize>) {
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

    /// The query rows grouped by their nearest leaf centre, leaves in partition order (ties
    /// and rows of one leaf in row order). Consecutive queries in this order are close to
    /// each other, so a block of them prunes leaves in [`leaf_bounds`](Self::leaf_bounds)
    /// as a block of the fitted points does; queries in input order (new banners of a scan)
    /// are scattered over the whole space and prune little.
    pub(crate) fn query_order(&self, q: &Array2<f64>) -> Vec<usize> {
        /// Query rows per matrix multiply against the leaf centres (bounded memory).
        const CHUNK: usize = 1024;
        let nearest_leaf: Vec<usize> = (0..q.nrows())
            .step_by(CHUNK)
            .flat_map(|lo| {
                let block = q.slice_axis(Axis(0), Slice::from(lo..(lo + CHUNK).min(q.nrows())));
                let mut g = Array2::zeros((block.nrows(), self.leaves.len()));
                general_mat_mul(1.0, &block, &self.centres.t(), 0.0, &mut g);
                // argmin over leaves of |c|² - 2 q·c (|q|² is the same for every leaf)
                g.rows()
                    .into_iter()
                    .map(|row| {
                        row.iter()
                            .zip(&self.centre_norms)
                            .enumerate()
                            .fold((f64::INFINITY, 0), |best, (l, (&dot, &cn))| {
                                let d = cn - 2.0 * dot;
                                if d < best.0 { (d, l) } else { best }
                            })
                            .1
                    })
                    .collect::<Vec<usize>>()
            })
            .collect();
        let mut order: Vec<usize> = (0..q.nrows()).collect();
        order.sort_by_key(|&i| (nearest_leaf[i], i));
        order
    }

    /// Squared distances (dot-product form, clamped at 0) between the query
    /// rows and leaf `l`, into `out` (`queries × leaf size`).
    pub(crate) fn leaf_distances(
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
pub(crate) fn gather(data: &ArrayView2<'_, f64>, rows: &[usize]) -> Array2<f64> {
    let mut out = Array2::zeros((rows.len(), data.ncols()));
    for (mut o, &r) in out.rows_mut().into_iter().zip(rows) {
        o.assign(&data.row(r));
    }
    out
}

#[cfg(test)]
impl Points {
    /// `n` points uniform in the unit cube of dimension `d`.
    pub(crate) fn random(n: usize, d: usize, seed: u64) -> Self {
        use rand::{RngExt, SeedableRng, rngs::StdRng};
        let mut rng = StdRng::seed_from_u64(seed);
        Self::new(Array2::from_shape_fn((n, d), |_| rng.random::<f64>()))
    }
}

#[cfg(test)]
mod tests {
    use super::Points;
    use ndarray::array;

    #[test]
    fn known_answer() {
        let points = Points::new(array![[0.0, 0.0], [3.0, 4.0], [6.0, 8.0]]);
        assert_eq!(points.len(), 3);
        let mut perm = points.perm.clone();
        perm.sort_unstable();
        assert_eq!(perm, [0, 1, 2]);
        let internal = |row: usize| points.perm.iter().position(|&r| r == row).expect("row");
        let (a, b, c) = (internal(0), internal(1), internal(2));
        assert!((points.dist(a, b) - 5.0).abs() < 1e-12);
        assert!((points.dist(a, c) - 10.0).abs() < 1e-12);
        assert!((points.dist(b, c) - 5.0).abs() < 1e-12);
        // Columns are centred: the mean is (3, 4).
        assert!(points.data.row(b).iter().all(|v| v.abs() < 1e-12));
        assert_eq!(points.leaves.len(), 1);
        assert_eq!((points.leaves[0].start, points.leaves[0].end), (0, 3));
    }
}
