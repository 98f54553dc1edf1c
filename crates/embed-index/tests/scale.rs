//! One-shot timing of the PCA fit at the issue's size (1,000,000 x 256 -> 64), the same data
//! as `benches/embed.rs` (`pca_fit`), runnable without building the model crates:
//!
//! ```sh
//! RAYON_NUM_THREADS=2 cargo test --release -p embed-index --no-default-features \
//!     --test scale -- --ignored --nocapture
//! python3 benches/python/embed_baseline.py --threads 2 --repeats 5 --only pca
//! ```
//!
//! It prints timings and checks the fit, it asserts nothing about speed.

use std::time::Instant;

use embed_index::PcaParams;
use ndarray::Array2;
use rand::rngs::StdRng;
use rand::{RngExt as _, SeedableRng as _};

#[test]
#[ignore = "a timing run: 1M x 256 floats (1 GiB), seconds per fit"]
fn pca_fit_one_million_by_256() {
    const ROWS: usize = 1_000_000;
    const DIM: usize = 256;
    // Low-rank structure plus noise, like embeddings: 32 strong directions.
    let mut rng = StdRng::seed_from_u64(5);
    let basis = Array2::from_shape_fn((32, DIM), |_| rng.random::<f32>() - 0.5);
    let coef = Array2::from_shape_fn((ROWS, 32), |_| rng.random::<f32>() - 0.5);
    let noise = Array2::from_shape_fn((ROWS, DIM), |_| 0.01 * (rng.random::<f32>() - 0.5));
    let x = coef.dot(&basis) + noise;
    let mut times = Vec::new();
    let mut kept = 0.0;
    for _ in 0..5 {
        let t = Instant::now();
        let pca = PcaParams::new(64).fit(&x).expect("fit");
        times.push(t.elapsed().as_secs_f64());
        kept = pca.cumulative_variance_ratio()[63];
    }
    times.sort_by(f64::total_cmp);
    println!(
        "pca fit {ROWS} x {DIM} -> 64: median {:.2} s (min {:.2}, max {:.2}); variance kept {kept:.5}",
        times[2], times[0], times[4]
    );
    assert!(
        kept > 0.99,
        "32 strong directions carry almost all variance"
    );
}
