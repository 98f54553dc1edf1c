//! How well prediction for new points ([`PredictionData`](crate::PredictionData)) agrees with
//! refitting: the adjusted Rand index of held-out rows.

use std::collections::HashMap;

use ndarray::{Array2, ArrayBase, Axis, Data, Ix2};
use serde::{Deserialize, Serialize};

use crate::algorithm::Element;
use crate::error::{Error, Result};
use crate::hyperparams::{SelectionParams, ValidHdbscanParams};

/// Adjusted Rand index of two labelings of the same items (Hubert and Arabie, 1985), as
/// scikit-learn's `adjusted_rand_score`: 1 for identical partitions up to renaming, about 0
/// for independent ones. Every distinct label is its own class. Two labelings in which every
/// item is alone, or all items are together, score 1.
///
/// ```
/// use density_cluster::adjusted_rand_index;
/// assert_eq!(adjusted_rand_index(&[0, 0, 1, 1], &[1, 1, 0, 0]), 1.0);
/// // scikit-learn: adjusted_rand_score([0, 0, 1, 2], [0, 0, 1, 1]) == 0.5714285714285715
/// assert!((adjusted_rand_index(&[0, 0, 1, 2], &[0, 0, 1, 1]) - 0.571_428_571_428_571_5).abs() < 1e-12);
/// assert!((adjusted_rand_index(&[0, 0, 1, 1], &[0, 1, 0, 1]) + 0.5).abs() < 1e-12);
/// ```
///
/// # Panics
/// Never; labelings of different lengths are compared over the shorter one's items.
pub fn adjusted_rand_index<T: Eq + std::hash::Hash + Copy>(a: &[T], b: &[T]) -> f64 {
    let n = a.len().min(b.len()) as f64;
    let comb2 = |x: f64| x * (x - 1.0) / 2.0;
    let mut table: HashMap<(T, T), f64> = HashMap::new();
    let mut rows: HashMap<T, f64> = HashMap::new();
    let mut cols: HashMap<T, f64> = HashMap::new();
    for (&x, &y) in a.iter().zip(b) {
        *table.entry((x, y)).or_default() += 1.0;
        *rows.entry(x).or_default() += 1.0;
        *cols.entry(y).or_default() += 1.0;
    }
    let index: f64 = table.values().map(|&v| comb2(v)).sum();
    let sum_a: f64 = rows.values().map(|&v| comb2(v)).sum();
    let sum_b: f64 = cols.values().map(|&v| comb2(v)).sum();
    let expected = sum_a * sum_b / comb2(n).max(f64::MIN_POSITIVE);
    let max = f64::midpoint(sum_a, sum_b);
    if (max - expected).abs() < f64::EPSILON {
        return 1.0;
    }
    (index - expected) / (max - expected)
}

/// Agreement of prediction with a refit at one selection ([`holdout_agreement`]).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HoldoutAgreement {
    /// The selection compared.
    pub selection: SelectionParams,
    /// Held-out rows.
    pub held_out: usize,
    /// Held-out rows that prediction calls outliers.
    pub predicted_outliers: usize,
    /// Held-out rows that the refit calls outliers.
    pub refit_outliers: usize,
    /// Held-out rows that neither calls an outlier: the rows compared.
    pub compared: usize,
    /// Adjusted Rand index of the predicted and refit labels of the compared rows (NaN when
    /// fewer than 2 rows are compared).
    pub ari: f64,
}

/// Holds out every `every`-th row of `x` (rows 0, `every`, `2 every`, ...), fits on the rest,
/// predicts the held-out rows' clusters ([`PredictionData::predict`](crate::PredictionData::predict)),
/// refits on all rows, and compares the two labelings of the held-out rows at each selection:
/// the adjusted Rand index over the rows that neither calls an outlier. This is how well a
/// saved clustering places new banners compared with clustering them afresh.
///
/// ```
/// use density_cluster::{Hdbscan, SelectionParams, holdout_agreement};
/// use density_cluster::synthetic::{blobs, BlobsConfig};
///
/// let x = blobs(&BlobsConfig { n: 600, dim: 4, n_blobs: 3, noise: 0.0, seed: 1 });
/// let params = Hdbscan::params(10).check()?;
/// let agreement = holdout_agreement(&x, &params, &[SelectionParams::eom(0.0)], 10)?;
/// assert_eq!(agreement[0].held_out, 60);
/// assert!(agreement[0].ari > 0.95, "{agreement:?}");
/// # Ok::<(), density_cluster::Error>(())
/// ```
///
/// # Errors
/// [`Error::HoldoutEvery`] when `every` is below 2; the fit's and selection's errors
/// (too few rows, non-finite values, invalid selections).
pub fn holdout_agreement<A: Element, S: Data<Elem = A>>(
    x: &ArrayBase<S, Ix2>,
    params: &ValidHdbscanParams,
    selections: &[SelectionParams],
    every: usize,
) -> Result<Vec<HoldoutAgreement>> {
    if every < 2 {
        return Err(Error::HoldoutEvery(every));
    }
    let to_f64 =
        |rows: Vec<usize>| -> Array2<f64> { x.select(Axis(0), &rows).mapv(Element::to_f64) };
    let held: Vec<usize> = (0..x.nrows()).step_by(every).collect();
    let kept: Vec<usize> = (0..x.nrows()).filter(|i| i % every != 0).collect();
    let train = to_f64(kept);
    let new = to_f64(held.clone());

    let fit = params.fit(&train)?;
    let fitted = selections
        .iter()
        .map(|s| fit.select(s))
        .collect::<Result<Vec<_>>>()?;
    let predicted = fit.prediction_data(&train, &fitted)?.predict(&new)?;

    let refit = params.fit(x)?;
    let mut out = Vec::with_capacity(selections.len());
    for (s, pred) in selections.iter().zip(&predicted) {
        let again = refit.select(s)?;
        let mut a = Vec::new();
        let mut b = Vec::new();
        let (mut predicted_outliers, mut refit_outliers) = (0, 0);
        for (p, &row) in pred.iter().zip(&held) {
            predicted_outliers += usize::from(p.label.is_none());
            refit_outliers += usize::from(again.labels[row].is_none());
            if let (Some(x), Some(y)) = (p.label, again.labels[row]) {
                a.push(x);
                b.push(y);
            }
        }
        out.push(HoldoutAgreement {
            selection: *s,
            held_out: held.len(),
            predicted_outliers,
            refit_outliers,
            compared: a.len(),
            ari: if a.len() < 2 {
                f64::NAN
            } else {
                adjusted_rand_index(&a, &b)
            },
        });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ari_known_values() {
        // scikit-learn's adjusted_rand_score on the same labelings.
        assert!((adjusted_rand_index(&[0, 0, 1, 1], &[1, 1, 0, 0]) - 1.0).abs() < 1e-12);
        assert!(
            (adjusted_rand_index(&[0, 0, 1, 2], &[0, 0, 1, 1]) - 0.571_428_571_428_571_5).abs()
                < 1e-12
        );
        assert!((adjusted_rand_index(&[0, 0, 1, 1], &[0, 1, 0, 1]) + 0.5).abs() < 1e-12);
        // adjusted_rand_score([0, 0, 0, 1, 1, 2], [0, 0, 1, 1, 2, 2]) == 0.07407407407407407
        assert!(
            (adjusted_rand_index(&[0, 0, 0, 1, 1, 2], &[0, 0, 1, 1, 2, 2])
                - 0.074_074_074_074_074_07)
                .abs()
                < 1e-12
        );
        assert!((adjusted_rand_index(&[3, 3, 3], &[1, 1, 1]) - 1.0).abs() < f64::EPSILON);
    }

    #[test]
    fn every_below_two_is_an_error() {
        let x = ndarray::array![[0.0f32, 0.0], [1.0, 1.0]];
        let params = crate::Hdbscan::params(2).check().expect("valid");
        let r = holdout_agreement(&x, &params, &[SelectionParams::eom(0.0)], 1);
        assert!(matches!(r, Err(Error::HoldoutEvery(1))), "{r:?}");
    }
}
