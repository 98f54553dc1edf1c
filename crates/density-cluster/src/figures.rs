//! How a clustering agrees with known classes (e.g. scan-sim's products): purity,
//! completeness and the largest clusters.

use std::collections::HashMap;
use std::hash::Hash;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// One clustering's figures against known classes ([`cluster_figures`]).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ClusterFigures<C> {
    /// The clustering's `cluster_selection_epsilon`.
    pub epsilon: f64,
    /// Clusters (labels `0..clusters`).
    pub clusters: usize,
    /// Points labelled noise.
    pub outliers: usize,
    /// `outliers` over all points (0 for no point).
    pub outlier_share: f64,
    /// Clustered points with a class whose cluster's majority class is theirs, over the
    /// clustered points with a class; `None` when no clustered point has a class.
    pub purity: Option<f64>,
    /// Clustered points with a class that lie in their class's largest cluster, over the
    /// clustered points with a class; `None` when no clustered point has a class.
    pub completeness: Option<f64>,
    /// The ten largest clusters, largest first (ties: lower label first).
    pub largest: Vec<LargestCluster<C>>,
}

/// One of the largest clusters of [`ClusterFigures`]. In JSON an array
/// `[size, majority, share, cluster]` (files without the cluster, three elements, read as
/// cluster `None`).
#[derive(Debug, Clone, PartialEq)]
pub struct LargestCluster<C> {
    /// The cluster's label in its clustering (`None` only when read from a file that lacks it).
    pub cluster: Option<usize>,
    /// Points in the cluster.
    pub size: usize,
    /// Its most frequent class (ties: the smallest class), `None` when no point has a class.
    pub majority: Option<C>,
    /// Points of the majority class over the cluster's size (0 without a class).
    pub share: f64,
}

impl<C: Serialize> Serialize for LargestCluster<C> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        (self.size, &self.majority, self.share, self.cluster).serialize(s)
    }
}

impl<'de, C: Deserialize<'de>> Deserialize<'de> for LargestCluster<C> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        /// Three elements (before the cluster was written) or four.
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Form<C> {
            Four(usize, Option<C>, f64, Option<usize>),
            Three(usize, Option<C>, f64),
        }
        let (size, majority, share, cluster) = match Form::deserialize(d)? {
            Form::Four(a, b, c, k) => (a, b, c, k),
            Form::Three(a, b, c) => (a, b, c, None),
        };
        Ok(Self {
            cluster,
            size,
            majority,
            share,
        })
    }
}

/// Purity and completeness of a clustering (`labels`: cluster per point, `None` for noise)
/// against the class of each point (`classes`, aligned with `labels`; `None` where unknown),
/// with the ten largest clusters and their majority classes. Points beyond the shorter of
/// the two slices are not counted for purity and completeness.
///
/// ```
/// use density_cluster::cluster_figures;
///
/// let labels = [Some(0), Some(0), Some(0), Some(1), None];
/// let classes = [Some("a"), Some("a"), Some("b"), Some("a"), Some("b")];
/// let f = cluster_figures(0.05, &labels, &classes);
/// assert_eq!((f.clusters, f.outliers), (2, 1));
/// // Cluster 0 is mostly `a` (2 of 3), cluster 1 all `a`: 3 of 4 clustered points are pure.
/// assert_eq!(f.purity, Some(0.75));
/// // `a`'s largest cluster holds 2 of its points, `b`'s 1: 3 of 4.
/// assert_eq!(f.completeness, Some(0.75));
/// assert_eq!((f.largest[0].size, f.largest[0].majority), (3, Some("a")));
/// ```
pub fn cluster_figures<C>(
    epsilon: f64,
    labels: &[Option<usize>],
    classes: &[Option<C>],
) -> ClusterFigures<C>
where
    C: Clone + Eq + Hash + Ord,
{
    let clusters = labels.iter().flatten().max().map_or(0, |m| m + 1);
    let outliers = labels.iter().filter(|l| l.is_none()).count();
    // cluster -> class -> count
    let mut table: HashMap<usize, HashMap<&C, usize>> = HashMap::new();
    let mut sizes = vec![0usize; clusters];
    let mut with_class = 0usize;
    for (l, c) in labels.iter().zip(classes) {
        let Some(l) = *l else { continue };
        sizes[l] += 1;
        if let Some(c) = c {
            with_class += 1;
            *table.entry(l).or_default().entry(c).or_default() += 1;
        }
    }
    let majority = |cluster: usize| -> Option<(&C, usize)> {
        table
            .get(&cluster)?
            .iter()
            .max_by(|a, b| a.1.cmp(b.1).then(b.0.cmp(a.0)))
            .map(|(c, n)| (*c, *n))
    };
    let (purity, completeness) = if with_class == 0 {
        (None, None)
    } else {
        let pure: usize = (0..clusters).filter_map(|c| majority(c).map(|m| m.1)).sum();
        let mut by_class: HashMap<&C, usize> = HashMap::new();
        for counts in table.values() {
            for (c, n) in counts {
                let e = by_class.entry(c).or_default();
                *e = (*e).max(*n);
            }
        }
        let complete: usize = by_class.values().sum();
        (
            Some(pure as f64 / with_class as f64),
            Some(complete as f64 / with_class as f64),
        )
    };
    let mut order: Vec<usize> = (0..clusters).collect();
    order.sort_by(|&a, &b| sizes[b].cmp(&sizes[a]).then(a.cmp(&b)));
    let largest = order
        .into_iter()
        .take(10)
        .map(|c| {
            let m = majority(c);
            LargestCluster {
                cluster: Some(c),
                size: sizes[c],
                majority: m.map(|(class, _)| class.clone()),
                share: m.map_or(0.0, |(_, n)| n as f64 / sizes[c].max(1) as f64),
            }
        })
        .collect();
    ClusterFigures {
        epsilon,
        clusters,
        outliers,
        outlier_share: outliers as f64 / labels.len().max(1) as f64,
        purity,
        completeness,
        largest,
    }
}

#[cfg(test)]
// The shares compared are exact by construction.
#[allow(clippy::float_cmp)]
mod tests {
    use super::*;

    /// Known answer, by hand: clusters 0 = {1, 1, 2}, 1 = {2, 2}, 2 = {1, ?}; one outlier (of
    /// class 1, not counted). Purity: majorities 2 (of 1) + 2 (of 2) + 1 (of 1) = 5 of the 6
    /// clustered points with a class. Completeness: class 1's largest cluster holds 2 of its
    /// points, class 2's 2: 4 of 6.
    #[test]
    fn known_answer() {
        let labels = [
            Some(0),
            Some(0),
            Some(0),
            Some(1),
            Some(1),
            Some(2),
            Some(2),
            None,
        ];
        let classes = [
            Some(1u8),
            Some(1),
            Some(2),
            Some(2),
            Some(2),
            Some(1),
            None,
            Some(1),
        ];
        let f = cluster_figures(0.1, &labels, &classes);
        assert_eq!((f.epsilon, f.clusters, f.outliers), (0.1, 3, 1));
        assert_eq!(f.outlier_share, 1.0 / 8.0);
        assert_eq!(f.purity, Some(5.0 / 6.0));
        assert_eq!(f.completeness, Some(4.0 / 6.0));
        assert_eq!(
            f.largest,
            [
                LargestCluster {
                    cluster: Some(0),
                    size: 3,
                    majority: Some(1),
                    share: 2.0 / 3.0
                },
                LargestCluster {
                    cluster: Some(1),
                    size: 2,
                    majority: Some(2),
                    share: 1.0
                },
                LargestCluster {
                    cluster: Some(2),
                    size: 2,
                    majority: Some(1),
                    share: 0.5
                },
            ]
        );
        // A tie between classes goes to the smallest.
        let tie = cluster_figures(0.0, &[Some(0), Some(0)], &[Some("b"), Some("a")]);
        assert_eq!(tie.largest[0].majority, Some("a"));
    }

    #[test]
    fn without_classes_there_is_no_purity() {
        let f = cluster_figures::<String>(0.01, &[Some(0), None], &[None, None]);
        assert_eq!((f.purity, f.completeness), (None, None));
        assert_eq!(f.largest[0].majority, None);
        assert_eq!(f.largest[0].share, 0.0);
        let empty = cluster_figures::<String>(0.01, &[], &[]);
        assert_eq!((empty.clusters, empty.outlier_share), (0, 0.0));
    }

    #[test]
    fn largest_is_an_array_in_json() {
        let l = LargestCluster {
            cluster: Some(7),
            size: 4,
            majority: Some("nginx".to_owned()),
            share: 0.5,
        };
        let json = serde_json::to_string(&l).unwrap_or_default();
        assert_eq!(json, r#"[4,"nginx",0.5,7]"#);
        let back: LargestCluster<String> =
            serde_json::from_str(&json).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(back, l);
        // Files written before the cluster was recorded.
        let old: LargestCluster<String> =
            serde_json::from_str(r#"[4,"nginx",0.5]"#).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(old, LargestCluster { cluster: None, ..l });
    }
}
