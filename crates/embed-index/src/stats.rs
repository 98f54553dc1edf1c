//! Distance statistics of embedding pairs (the paper's section 4.3).

use serde::Serialize;

/// Summary of a set of pair distances, as the paper reports them.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct DistanceStats {
    /// Number of pairs.
    pub n: usize,
    /// The threshold used for the two shares (paper: 0.1).
    pub threshold: f32,
    /// Share of pairs with distance < threshold.
    pub share_below: f64,
    /// Share of pairs with distance > threshold.
    pub share_above: f64,
    /// Share of pairs at distance exactly 0.
    pub share_zero: f64,
    /// Mean of log10(distance) over the non-zero distances (`NaN` when none).
    pub log10_mean: f64,
    /// Standard deviation (population) of log10(distance) over the non-zero distances.
    pub log10_std: f64,
}

/// Summarises pair distances (e.g. of matching pairs, or of random pairs).
/// Non-finite distances are ignored (and not counted in `n`).
///
/// ```
/// use embed_index::distance_stats;
/// let s = distance_stats(&[0.0, 0.001, 0.01, 0.5], 0.1);
/// assert_eq!(s.n, 4);
/// assert_eq!(s.share_below, 0.75);
/// assert_eq!(s.share_zero, 0.25);
/// assert!((s.log10_mean - (-3.0 - 2.0 + 0.5f64.log10()) / 3.0).abs() < 1e-6);
/// ```
pub fn distance_stats(distances: &[f32], threshold: f32) -> DistanceStats {
    let finite: Vec<f64> = distances
        .iter()
        .filter(|d| d.is_finite())
        .map(|&d| f64::from(d))
        .collect();
    let n = finite.len();
    let share = |count: usize| if n == 0 { 0.0 } else { count as f64 / n as f64 };
    let t = f64::from(threshold);
    let logs: Vec<f64> = finite
        .iter()
        .filter(|d| **d > 0.0)
        .map(|d| d.log10())
        .collect();
    let (mean, std) = if logs.is_empty() {
        (f64::NAN, f64::NAN)
    } else {
        let m = logs.iter().sum::<f64>() / logs.len() as f64;
        let v = logs.iter().map(|l| (l - m).powi(2)).sum::<f64>() / logs.len() as f64;
        (m, v.sqrt())
    };
    DistanceStats {
        n,
        threshold,
        share_below: share(finite.iter().filter(|d| **d < t).count()),
        share_above: share(finite.iter().filter(|d| **d > t).count()),
        share_zero: share(finite.iter().filter(|d| **d == 0.0).count()),
        log10_mean: mean,
        log10_std: std,
    }
}

/// Euclidean distance between two rows.
///
/// ```
/// assert_eq!(embed_index::euclidean(&[0.0, 3.0], &[4.0, 0.0]), 5.0);
/// ```
pub fn euclidean(a: &[f32], b: &[f32]) -> f32 {
    a.iter()
        .zip(b)
        .map(|(x, y)| (x - y) * (x - y))
        .sum::<f32>()
        .sqrt()
}

/// Histogram of log10 distances for plots like the paper's Figure 3:
/// `bins` equal-width bins over `[lo, hi]` in log10 units; zero distances and
/// values outside the range are counted separately.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct LogHistogram {
    /// Lower edge (log10).
    pub lo: f64,
    /// Upper edge (log10).
    pub hi: f64,
    /// Counts per bin.
    pub counts: Vec<u64>,
    /// Exact zeros.
    pub zeros: u64,
    /// Below `lo` (but not zero).
    pub under: u64,
    /// Above `hi`.
    pub over: u64,
}

impl LogHistogram {
    /// Bins `distances` (non-finite values are ignored).
    ///
    /// ```
    /// use embed_index::LogHistogram;
    /// let h = LogHistogram::new(&[0.0, 0.0005, 0.005, 0.05, 10.0], -4.0, 0.0, 4);
    /// assert_eq!(h.counts, vec![1, 1, 1, 0]); // bins of one decade from 1e-4
    /// assert_eq!((h.zeros, h.over), (1, 1));
    /// ```
    pub fn new(distances: &[f32], lo: f64, hi: f64, bins: usize) -> Self {
        let bins = bins.max(1);
        let mut h = LogHistogram {
            lo,
            hi,
            counts: vec![0; bins],
            zeros: 0,
            under: 0,
            over: 0,
        };
        let width = (hi - lo) / bins as f64;
        for &d in distances.iter().filter(|d| d.is_finite()) {
            if d <= 0.0 {
                h.zeros += 1;
                continue;
            }
            let l = f64::from(d).log10();
            if l < lo {
                h.under += 1;
            } else if l > hi {
                h.over += 1;
            } else {
                let b = (((l - lo) / width) as usize).min(bins - 1);
                h.counts[b] += 1;
            }
        }
        h
    }
}
