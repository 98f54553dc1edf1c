//! Seeded synthetic data: Gaussian blobs of uneven size plus uniform noise,
//! the data of the benchmarks (`benches/cluster.rs`, docs/PERFORMANCE.md).

use ndarray::Array2;
use rand::{RngExt, SeedableRng, rngs::StdRng};

/// Shape of [`blobs`] data.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct BlobsConfig {
    /// Number of rows.
    pub n: usize,
    /// Number of columns.
    pub dim: usize,
    /// Number of blobs.
    pub n_blobs: usize,
    /// Share of rows that are uniform noise in the bounding box.
    pub noise: f64,
    /// RNG seed.
    pub seed: u64,
}

impl Default for BlobsConfig {
    /// 20 000 rows in 64 dimensions, 30 blobs, 5% noise, seed 42.
    fn default() -> Self {
        Self {
            n: 20_000,
            dim: 64,
            n_blobs: 30,
            noise: 0.05,
            seed: 42,
        }
    }
}

/// Standard normal sample (Box–Muller).
fn normal(rng: &mut StdRng) -> f64 {
    let u1: f64 = 1.0 - rng.random::<f64>();
    let u2: f64 = rng.random::<f64>();
    (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos()
}

/// Gaussian blobs of uneven size (blob `i` gets a share proportional to
/// `1 / (i + 1)`) with centres uniform in `[-1, 1]^dim` and standard deviations
/// between 0.02 and 0.08 per coordinate, plus `noise` uniform points in
/// `[-1.2, 1.2]^dim`; rows are shuffled.
///
/// ```
/// use density_cluster::synthetic::{blobs, BlobsConfig};
/// let x = blobs(&BlobsConfig { n: 1000, dim: 8, ..BlobsConfig::default() });
/// assert_eq!(x.dim(), (1000, 8));
/// ```
pub fn blobs(config: &BlobsConfig) -> Array2<f32> {
    let BlobsConfig {
        n,
        dim,
        n_blobs,
        noise,
        seed,
    } = *config;
    let mut rng = StdRng::seed_from_u64(seed);
    let n_noise = ((n as f64) * noise.clamp(0.0, 1.0)).round() as usize;
    let n_blob_points = n - n_noise;
    let n_blobs = n_blobs.max(1);
    let weights: Vec<f64> = (0..n_blobs).map(|i| 1.0 / (i + 1) as f64).collect();
    let total: f64 = weights.iter().sum();
    let mut sizes: Vec<usize> = weights
        .iter()
        .map(|w| (w / total * n_blob_points as f64).floor() as usize)
        .collect();
    let assigned: usize = sizes.iter().sum();
    sizes[0] += n_blob_points - assigned;
    let mut x = Array2::<f32>::zeros((n, dim));
    let mut row = 0;
    for &size in &sizes {
        let centre: Vec<f64> = (0..dim).map(|_| rng.random_range(-1.0..1.0)).collect();
        let std = rng.random_range(0.02..0.08);
        for _ in 0..size {
            for (j, c) in centre.iter().enumerate() {
                x[[row, j]] = (c + std * normal(&mut rng)) as f32;
            }
            row += 1;
        }
    }
    while row < n {
        for j in 0..dim {
            x[[row, j]] = rng.random_range(-1.2f32..1.2);
        }
        row += 1;
    }
    // Fisher–Yates shuffle of the rows.
    for i in (1..n).rev() {
        let k = rng.random_range(0..=i);
        if k != i {
            for j in 0..dim {
                x.swap([i, j], [k, j]);
            }
        }
    }
    x
}
