//! Exact nearest neighbours by brute force: blocked matrix products
//! (SIMD through `ndarray`'s GEMM), parallel over query blocks with rayon.

use std::collections::BinaryHeap;

use ndarray::{Array1, Array2, ArrayBase, ArrayView2, Axis, Data, Ix2, Slice};
use rayon::prelude::*;

use crate::error::{Error, Result};

/// One neighbour: row index in the index and Euclidean distance.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Neighbour {
    /// Row of the indexed matrix.
    pub index: usize,
    /// Euclidean distance to the query.
    pub distance: f32,
}

#[derive(PartialEq)]
struct Cand(f32, usize);
impl Eq for Cand {}
impl PartialOrd for Cand {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for Cand {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        self.0.total_cmp(&other.0).then(self.1.cmp(&other.1))
    }
}

/// Exact k-nearest-neighbour search over the rows of a matrix (Euclidean).
///
/// Squared distances are computed as `|q|^2 + |x|^2 - 2 q.x` over blocks of
/// 64 queries by 2,048 rows, so the inner loop is a matrix product; each
/// query keeps its `k` best in a bounded heap. Ties are broken by the lower
/// row index. Memory: the matrix plus one 64 x 2,048 block per thread.
///
/// ```
/// use embed_index::ExactIndex;
/// use ndarray::array;
///
/// let index = ExactIndex::new(array![[0.0, 0.0], [1.0, 0.0], [5.0, 5.0]]);
/// let hits = index.search(&array![[0.9, 0.1]], 2)?;
/// assert_eq!(hits[0].iter().map(|n| n.index).collect::<Vec<_>>(), vec![1, 0]);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone)]
pub struct ExactIndex {
    data: Array2<f32>,
    norms: Array1<f32>,
}

const QUERY_BLOCK: usize = 64;
const DATA_BLOCK: usize = 2048;

impl ExactIndex {
    /// Indexes the rows of `data`.
    pub fn new(data: Array2<f32>) -> Self {
        let norms = data.map_axis(Axis(1), |r| r.dot(&r));
        ExactIndex { data, norms }
    }

    /// Number of indexed rows.
    pub fn len(&self) -> usize {
        self.data.nrows()
    }

    /// Whether the index is empty.
    pub fn is_empty(&self) -> bool {
        self.data.nrows() == 0
    }

    /// The indexed matrix.
    pub fn data(&self) -> &Array2<f32> {
        &self.data
    }

    /// The `k` nearest rows of every query, nearest first.
    ///
    /// # Errors
    /// [`Error::Shape`] when the query width differs from the index's.
    pub fn search<S: Data<Elem = f32>>(
        &self,
        queries: &ArrayBase<S, Ix2>,
        k: usize,
    ) -> Result<Vec<Vec<Neighbour>>> {
        if queries.ncols() != self.data.ncols() {
            return Err(Error::Shape(format!(
                "queries have width {}, index has width {}",
                queries.ncols(),
                self.data.ncols()
            )));
        }
        let k = k.min(self.len());
        let blocks: Vec<ArrayView2<'_, f32>> =
            queries.axis_chunks_iter(Axis(0), QUERY_BLOCK).collect();
        let out: Vec<Vec<Vec<Neighbour>>> = blocks
            .into_par_iter()
            .map(|qb| self.search_block(&qb, k))
            .collect();
        Ok(out.into_iter().flatten().collect())
    }

    /// The `k` nearest other rows of row `i` (the row itself excluded).
    ///
    /// # Errors
    /// [`Error::Shape`] when `i` is out of range.
    pub fn neighbours_of(&self, i: usize, k: usize) -> Result<Vec<Neighbour>> {
        if i >= self.len() {
            return Err(Error::Shape(format!("row {i} of {}", self.len())));
        }
        let q = self.data.row(i).insert_axis(Axis(0));
        let mut hits = self.search(&q, k + 1)?.pop().unwrap_or_default();
        hits.retain(|n| n.index != i);
        hits.truncate(k);
        Ok(hits)
    }

    fn search_block(&self, qb: &ArrayView2<'_, f32>, k: usize) -> Vec<Vec<Neighbour>> {
        let qn = qb.map_axis(Axis(1), |r| r.dot(&r));
        let mut heaps: Vec<BinaryHeap<Cand>> = (0..qb.nrows())
            .map(|_| BinaryHeap::with_capacity(k + 1))
            .collect();
        if k > 0 {
            for (bi, xb) in self.data.axis_chunks_iter(Axis(0), DATA_BLOCK).enumerate() {
                let base = bi * DATA_BLOCK;
                let g = qb.dot(&xb.t());
                let xn = self
                    .norms
                    .slice_axis(Axis(0), Slice::from(base..base + xb.nrows()));
                for (qi, (grow, heap)) in g.outer_iter().zip(heaps.iter_mut()).enumerate() {
                    for (j, (&dot, &xnj)) in grow.iter().zip(xn.iter()).enumerate() {
                        let d2 = (qn[qi] + xnj - 2.0 * dot).max(0.0);
                        if heap.len() < k {
                            heap.push(Cand(d2, base + j));
                        } else if let Some(top) = heap.peek()
                            && Cand(d2, base + j) < *top
                        {
                            heap.pop();
                            heap.push(Cand(d2, base + j));
                        }
                    }
                }
            }
        }
        heaps
            .into_iter()
            .map(|h| {
                h.into_sorted_vec()
                    .into_iter()
                    .map(|Cand(d2, index)| Neighbour {
                        index,
                        distance: d2.sqrt(),
                    })
                    .collect()
            })
            .collect()
    }
}
