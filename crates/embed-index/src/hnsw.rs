//! Approximate nearest neighbours with HNSW (the `hnsw_rs` crate).

use hnsw_rs::prelude::{DistL2, Hnsw};
use ndarray::{ArrayBase, Data, Ix2};
use rayon::prelude::*;

use crate::error::{Error, Result};
use crate::knn::Neighbour;

/// HNSW parameters, unchecked; [`check`](Self::check) gives the [`ValidHnswParams`] that
/// [`HnswIndex::build`] takes. Defaults: `m` 16, `ef_construction` 200, `ef_search` 64.
///
/// ```
/// use embed_index::HnswParams;
/// let p = HnswParams::default().m(24).ef_search(128).check()?;
/// assert_eq!((p.m(), p.ef_search()), (24, 128));
/// assert!(HnswParams::default().m(300).check().is_err());
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HnswParams(ValidHnswParams);

/// HNSW parameters that passed [`HnswParams::check`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ValidHnswParams {
    m: usize,
    ef_construction: usize,
    ef_search: usize,
    max_layer: usize,
}

impl Default for HnswParams {
    fn default() -> Self {
        HnswParams(ValidHnswParams {
            m: 16,
            ef_construction: 200,
            ef_search: 64,
            max_layer: 16,
        })
    }
}

impl HnswParams {
    /// Links per node and layer (2 ..= 256).
    #[must_use]
    pub fn m(mut self, m: usize) -> Self {
        self.0.m = m;
        self
    }
    /// Candidate list size while building (>= 1).
    #[must_use]
    pub fn ef_construction(mut self, ef: usize) -> Self {
        self.0.ef_construction = ef;
        self
    }
    /// Candidate list size while searching (>= 1; raised to `k` when smaller).
    #[must_use]
    pub fn ef_search(mut self, ef: usize) -> Self {
        self.0.ef_search = ef;
        self
    }

    /// Validates the parameters.
    ///
    /// # Errors
    /// [`Error::InvalidParam`] for a value out of range.
    pub fn check(self) -> Result<ValidHnswParams> {
        self.check_ref()?;
        Ok(self.0)
    }

    /// Validates the parameters without consuming them.
    ///
    /// # Errors
    /// As [`check`](Self::check).
    pub fn check_ref(&self) -> Result<&ValidHnswParams> {
        let p = &self.0;
        if !(2..=256).contains(&p.m) {
            return Err(Error::InvalidParam {
                name: "m",
                reason: format!("{} is outside 2..=256", p.m),
            });
        }
        for (name, v) in [
            ("ef_construction", p.ef_construction),
            ("ef_search", p.ef_search),
        ] {
            if v == 0 {
                return Err(Error::InvalidParam {
                    name,
                    reason: "must be at least 1".into(),
                });
            }
        }
        Ok(p)
    }
}

impl ValidHnswParams {
    /// Links per node and layer.
    pub fn m(&self) -> usize {
        self.m
    }
    /// Candidate list size while building.
    pub fn ef_construction(&self) -> usize {
        self.ef_construction
    }
    /// Candidate list size while searching.
    pub fn ef_search(&self) -> usize {
        self.ef_search
    }
}

/// An HNSW graph over the rows of a matrix (Euclidean distance).
///
/// ```
/// use embed_index::{ExactIndex, HnswIndex, HnswParams, recall_at_k};
/// use ndarray::Array2;
///
/// let x = Array2::from_shape_fn((500, 8), |(i, j)| ((i * 13 + j * 7) % 17) as f32 + i as f32 * 0.01);
/// let approx = HnswIndex::build(&x, HnswParams::default().check_ref()?)?;
/// let exact = ExactIndex::new(x.clone());
/// let q = x.slice_axis(ndarray::Axis(0), (0..20).into());
/// let r = recall_at_k(&exact.search(&q, 10)?, &approx.search(&q, 10)?, 10);
/// assert!(r > 0.9);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct HnswIndex {
    hnsw: Hnsw<'static, f32, DistL2>,
    dim: usize,
    len: usize,
    ef_search: usize,
}

impl std::fmt::Debug for HnswIndex {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HnswIndex")
            .field("dim", &self.dim)
            .field("len", &self.len)
            .field("ef_search", &self.ef_search)
            .finish_non_exhaustive()
    }
}

impl HnswIndex {
    /// Builds the graph over the rows of `data` (in parallel).
    ///
    /// # Errors
    /// None today (the parameters are checked); kept for index back-ends that can fail.
    pub fn build<S: Data<Elem = f32>>(
        data: &ArrayBase<S, Ix2>,
        params: &ValidHnswParams,
    ) -> Result<Self> {
        let rows: Vec<Vec<f32>> = data.outer_iter().map(|r| r.to_vec()).collect();
        let hnsw = Hnsw::new(
            params.m,
            rows.len().max(1),
            params.max_layer,
            params.ef_construction,
            DistL2 {},
        );
        let with_ids: Vec<(&Vec<f32>, usize)> = rows.iter().zip(0..).collect();
        hnsw.parallel_insert(&with_ids);
        Ok(HnswIndex {
            hnsw,
            dim: data.ncols(),
            len: rows.len(),
            ef_search: params.ef_search,
        })
    }

    /// Number of indexed rows.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether the index is empty.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The (approximately) `k` nearest rows of every query, nearest first.
    ///
    /// # Errors
    /// [`Error::Shape`] when the query width differs from the index's.
    pub fn search<S: Data<Elem = f32>>(
        &self,
        queries: &ArrayBase<S, Ix2>,
        k: usize,
    ) -> Result<Vec<Vec<Neighbour>>> {
        if queries.ncols() != self.dim {
            return Err(Error::Shape(format!(
                "queries have width {}, index has width {}",
                queries.ncols(),
                self.dim
            )));
        }
        if self.len == 0 || k == 0 {
            return Ok(vec![Vec::new(); queries.nrows()]);
        }
        let ef = self.ef_search.max(k);
        let qs: Vec<Vec<f32>> = queries.outer_iter().map(|r| r.to_vec()).collect();
        Ok(qs
            .par_iter()
            .map(|q| {
                let mut hits: Vec<Neighbour> = self
                    .hnsw
                    .search(q, k, ef)
                    .into_iter()
                    .map(|n| Neighbour {
                        index: n.d_id,
                        distance: n.distance,
                    })
                    .collect();
                hits.sort_by(|a, b| {
                    a.distance
                        .total_cmp(&b.distance)
                        .then(a.index.cmp(&b.index))
                });
                hits
            })
            .collect())
    }
}

/// Recall@k of approximate results against exact ones: the mean share of the
/// exact `k` nearest that the approximate search also returned.
pub fn recall_at_k(exact: &[Vec<Neighbour>], approx: &[Vec<Neighbour>], k: usize) -> f64 {
    let mut found = 0usize;
    let mut total = 0usize;
    for (e, a) in exact.iter().zip(approx) {
        let want: std::collections::HashSet<usize> = e.iter().take(k).map(|n| n.index).collect();
        found += a.iter().take(k).filter(|n| want.contains(&n.index)).count();
        total += want.len();
    }
    if total == 0 {
        1.0
    } else {
        found as f64 / total as f64
    }
}
