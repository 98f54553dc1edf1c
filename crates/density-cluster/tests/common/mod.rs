//! Helpers shared by the integration tests.

/// The crate's adjusted Rand index (scikit-learn's `adjusted_rand_score`; known answers in
/// its unit tests).
pub use density_cluster::adjusted_rand_index;
