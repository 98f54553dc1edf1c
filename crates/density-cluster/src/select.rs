//! Flat cluster selection from the condensed tree: excess of mass, leaf, and
//! `cluster_selection_epsilon`, following Python `hdbscan`'s `get_clusters`,
//! `epsilon_search`, `do_labelling`, `get_probabilities` and
//! `get_stability_scores` (scikit-learn's `_hdbscan/_tree.pyx` is the same code).

use serde::{Deserialize, Serialize};

use crate::hyperparams::{SelectionMethod, SelectionParams, ValidSelectionParams};
use crate::tree::CondensedTree;

/// One selected cluster.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct ClusterSummary {
    /// The cluster's node in the [`CondensedTree`].
    pub node: usize,
    /// Number of points labelled with this cluster.
    pub size: usize,
    /// Stability (excess of mass) used by the selection.
    pub stability: f64,
    /// Python `hdbscan`'s `cluster_persistence_`: stability / (size · largest lambda), in `[0, 1]`.
    pub persistence: f64,
    /// Distance at which the cluster separates from its parent (`1 / birth lambda`; infinite for the root).
    pub birth_distance: f64,
}

/// A flat clustering: one selection from a fitted hierarchy.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Clustering {
    /// The selection that produced it.
    pub params: SelectionParams,
    /// Cluster of each row, `None` for outliers (linfa's convention).
    pub labels: Vec<Option<usize>>,
    /// Membership strength of each row in `[0, 1]` (0 for outliers).
    pub probabilities: Vec<f64>,
    /// The clusters, indexed by label.
    pub clusters: Vec<ClusterSummary>,
}

impl Clustering {
    /// Number of clusters.
    pub fn n_clusters(&self) -> usize {
        self.clusters.len()
    }

    /// Number of outliers.
    pub fn n_outliers(&self) -> usize {
        self.labels.iter().filter(|l| l.is_none()).count()
    }

    /// Share of rows that are outliers, in `[0, 1]`.
    pub fn outlier_share(&self) -> f64 {
        if self.labels.is_empty() {
            0.0
        } else {
            self.n_outliers() as f64 / self.labels.len() as f64
        }
    }

    /// Labels in scikit-learn form: the cluster index, or -1 for outliers.
    pub fn labels_i64(&self) -> Vec<i64> {
        self.labels
            .iter()
            .map(|l| l.map_or(-1, |c| c as i64))
            .collect()
    }
}

/// Marks every strict descendant of `node` in `flags`, skipping subtrees already marked.
fn mark_descendants(tree: &CondensedTree, node: usize, flags: &mut [bool]) {
    let n = tree.n_points();
    let mut stack: Vec<usize> = tree.children(node).to_vec();
    while let Some(c) = stack.pop() {
        if flags[c - n] {
            continue;
        }
        flags[c - n] = true;
        stack.extend_from_slice(tree.children(c));
    }
}

/// hdbscan's `traverse_upwards`.
fn traverse_upwards(
    tree: &CondensedTree,
    epsilon: f64,
    leaf: usize,
    allow_single_cluster: bool,
) -> usize {
    let root = tree.n_points();
    let mut node = leaf;
    loop {
        let Some(parent) = tree.parent(node) else {
            return node;
        };
        if parent == root {
            return if allow_single_cluster { parent } else { node };
        }
        let parent_eps = 1.0 / tree.birth_lambda(parent);
        if parent_eps > epsilon {
            return parent;
        }
        node = parent;
    }
}

/// hdbscan's `epsilon_search`: `selected` in, the epsilon-merged selection out.
fn epsilon_search(
    tree: &CondensedTree,
    leaves: &[usize],
    epsilon: f64,
    allow_single_cluster: bool,
) -> Vec<bool> {
    let n = tree.n_points();
    let mut selected = vec![false; tree.n_clusters()];
    let mut processed = vec![false; tree.n_clusters()];
    for &leaf in leaves {
        let eps = 1.0 / tree.birth_lambda(leaf);
        if eps < epsilon {
            if !processed[leaf - n] {
                let up = traverse_upwards(tree, epsilon, leaf, allow_single_cluster);
                selected[up - n] = true;
                mark_descendants(tree, up, &mut processed);
            }
        } else {
            selected[leaf - n] = true;
        }
    }
    selected
}

/// Selects flat clusters from `tree`.
pub(crate) fn select(tree: &CondensedTree, params: &ValidSelectionParams) -> Clustering {
    let n = tree.n_points();
    let m = tree.n_clusters();
    let root = n;
    let allow_single = params.allow_single_cluster();
    let epsilon = params.epsilon();
    // Clusters eligible for selection ("node_list" in hdbscan); the root only
    // with allow_single_cluster.
    let first = if allow_single { root } else { root + 1 };
    let has_cluster_tree = m > 1;
    let mut stability = tree.stabilities().to_vec();
    let mut selected = vec![false; m];
    match params.method() {
        SelectionMethod::Eom => {
            // Bottom-up (descending ids are a topological order).
            let mut tentative = vec![false; m];
            for node in (first..n + m).rev() {
                let sub: f64 = tree.children(node).iter().map(|&c| stability[c - n]).sum();
                // hdbscan stores the subtree stability in a C float.
                let sub = f64::from(sub as f32);
                if sub > stability[node - n] {
                    stability[node - n] = sub;
                } else {
                    tentative[node - n] = true;
                }
            }
            // A tentative selection is final unless an ancestor is selected.
            let mut blocked = vec![false; m];
            for node in n..n + m {
                let parent_blocked = tree.parent(node).is_some_and(|p| blocked[p - n]);
                selected[node - n] = tentative[node - n] && !parent_blocked;
                blocked[node - n] = parent_blocked || tentative[node - n];
            }
            if epsilon != 0.0 && has_cluster_tree {
                let eom: Vec<usize> = (n..n + m).filter(|&c| selected[c - n]).collect();
                if eom.len() == 1 && eom[0] == root {
                    if !allow_single {
                        selected.fill(false);
                    }
                } else {
                    selected = epsilon_search(tree, &eom, epsilon, allow_single);
                }
            }
        }
        SelectionMethod::Leaf => {
            let leaves: Vec<usize> = if has_cluster_tree {
                (n + 1..n + m)
                    .filter(|&c| tree.children(c).is_empty())
                    .collect()
            } else {
                Vec::new()
            };
            if epsilon == 0.0 {
                for &l in &leaves {
                    selected[l - n] = true;
                }
            } else {
                selected = epsilon_search(tree, &leaves, epsilon, allow_single);
            }
        }
    }
    // Only eligible nodes can be clusters.
    for node in n..first {
        selected[node - n] = false;
    }
    let clusters: Vec<usize> = (n..n + m).filter(|&c| selected[c - n]).collect();
    let mut label_of = vec![usize::MAX; m];
    for (i, &c) in clusters.iter().enumerate() {
        label_of[c - n] = i;
    }
    // Top-most cluster of each node's selection group (do_labelling's union-find).
    let mut top = vec![root; m];
    for node in n + 1..n + m {
        top[node - n] = if selected[node - n] {
            node
        } else {
            tree.parent(node).map_or(root, |p| top[p - n])
        };
    }
    let single_root = clusters.len() == 1 && clusters[0] == root && allow_single;
    let root_threshold = if epsilon == 0.0 {
        tree.death_lambda(root)
    } else {
        1.0 / epsilon
    };
    let mut labels = vec![None; n];
    let mut probabilities = vec![0.0; n];
    for (p, (label, prob)) in labels.iter_mut().zip(probabilities.iter_mut()).enumerate() {
        let parent = tree.point_parent(p);
        let lambda = tree.point_lambda(p);
        let t = top[parent - n];
        let cluster = if t == root {
            (single_root && lambda >= root_threshold).then_some(root)
        } else {
            Some(t)
        };
        if let Some(c) = cluster {
            *label = Some(label_of[c - n]);
            let max_lambda = tree.death_lambda(c);
            *prob = if max_lambda == 0.0 || !lambda.is_finite() {
                1.0
            } else {
                lambda.min(max_lambda) / max_lambda
            };
        }
    }
    let mut sizes = vec![0usize; clusters.len()];
    for l in labels.iter().flatten() {
        sizes[*l] += 1;
    }
    let max_lambda = tree.max_lambda();
    let summaries = clusters
        .iter()
        .zip(&sizes)
        .map(|(&c, &size)| {
            let stab = stability[c - n];
            let persistence = if max_lambda.is_infinite() || max_lambda == 0.0 || size == 0 {
                1.0
            } else {
                stab / (size as f64 * max_lambda)
            };
            let birth = tree.birth_lambda(c);
            ClusterSummary {
                node: c,
                size,
                stability: stab,
                persistence,
                birth_distance: if birth > 0.0 {
                    1.0 / birth
                } else {
                    f64::INFINITY
                },
            }
        })
        .collect();
    Clustering {
        params: params.params(),
        labels,
        probabilities,
        clusters: summaries,
    }
}
