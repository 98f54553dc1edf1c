//! Helpers shared by the integration tests.

use std::collections::HashMap;

/// Adjusted Rand index of two labelings (Hubert & Arabie 1985); every
/// distinct label, -1 included, is its own class, as scikit-learn's
/// `adjusted_rand_score`.
pub fn adjusted_rand_index(a: &[i64], b: &[i64]) -> f64 {
    assert_eq!(a.len(), b.len());
    let n = a.len() as f64;
    let comb2 = |x: f64| x * (x - 1.0) / 2.0;
    let mut table: HashMap<(i64, i64), f64> = HashMap::new();
    let mut rows: HashMap<i64, f64> = HashMap::new();
    let mut cols: HashMap<i64, f64> = HashMap::new();
    for (&x, &y) in a.iter().zip(b) {
        *table.entry((x, y)).or_default() += 1.0;
        *rows.entry(x).or_default() += 1.0;
        *cols.entry(y).or_default() += 1.0;
    }
    let index: f64 = table.values().map(|&v| comb2(v)).sum();
    let sum_a: f64 = rows.values().map(|&v| comb2(v)).sum();
    let sum_b: f64 = cols.values().map(|&v| comb2(v)).sum();
    let expected = sum_a * sum_b / comb2(n);
    let max = f64::midpoint(sum_a, sum_b);
    if (max - expected).abs() < f64::EPSILON {
        return 1.0;
    }
    (index - expected) / (max - expected)
}

#[test]
fn ari_known_values() {
    assert!((adjusted_rand_index(&[0, 0, 1, 1], &[1, 1, 0, 0]) - 1.0).abs() < 1e-12);
    // scikit-learn: adjusted_rand_score([0, 0, 1, 2], [0, 0, 1, 1]) == 0.5714285714285715
    assert!(
        (adjusted_rand_index(&[0, 0, 1, 2], &[0, 0, 1, 1]) - 0.571_428_571_428_571_5).abs() < 1e-12
    );
    // adjusted_rand_score([0, 0, 1, 1], [0, 1, 0, 1]) == -0.5
    assert!((adjusted_rand_index(&[0, 0, 1, 1], &[0, 1, 0, 1]) + 0.5).abs() < 1e-12);
}
