//! HDBSCAN fitted on groups of rows separately (one group per protocol, say), so that no
//! cluster ever holds rows of two groups, with prediction for new points of any group
//! ([`PartitionedPrediction`]).

use std::collections::BTreeMap;

use ndarray::{Array2, ArrayBase, Axis, Data, Ix2};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::algorithm::{Element, Progress};
use crate::error::{Error, Result};
use crate::hyperparams::{SelectionParams, ValidHdbscanParams};
use crate::predict::{Placement, Prediction, PredictionData, euclidean};
use crate::select::Clustering;

/// The format version of saved [`PartitionedPrediction`] that this build writes and reads.
///
/// ```
/// assert_eq!(density_cluster::PARTITIONED_FORMAT_VERSION, 1);
/// ```
pub const PARTITIONED_FORMAT_VERSION: u32 = 1;

/// One group of a [`PartitionedPrediction`]: its fitted rows and their prediction data.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PredictionPart {
    /// The group's name (for example a protocol).
    pub group: String,
    /// The group's rows in the whole fitted set, ascending; row `i` of the part's own
    /// prediction data is row `rows[i]` of the whole.
    pub rows: Vec<usize>,
    /// Per clustering, the number added to this part's own cluster labels to give labels of
    /// the whole (the clusters of the groups before it).
    pub label_offsets: Vec<usize>,
    /// The prediction data of the group's own fit; `None` for a group of one row, which no
    /// HDBSCAN can fit (every point of it is an outlier).
    pub data: Option<PredictionData>,
    /// The point of a one-row group (`data` is `None`), for neighbour distances.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub point: Option<Vec<f32>>,
}

impl PredictionPart {
    /// Number of clusters of this part in clustering `c`.
    fn n_clusters(&self, c: usize) -> usize {
        self.data
            .as_ref()
            .and_then(|d| d.n_clusters(c))
            .unwrap_or(0)
    }
}

/// The stored form of [`PartitionedPrediction`]; every field has a default so that another
/// format version is reported as such.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(default)]
struct SavedPartitioned {
    format_version: u32,
    n_points: usize,
    dim: usize,
    selections: Vec<SelectionParams>,
    parts: Vec<PredictionPart>,
}

/// Prediction for new points in clusterings fitted group by group
/// ([`ValidHdbscanParams::fit_partitioned`]): a point given with its group is placed in that
/// group's clusters only; a point without a group is placed in the group whose fitted points
/// lie nearest to it. Cluster labels and fitted rows are those of the whole (labels numbered
/// group after group, groups in name order).
///
/// ```
/// use density_cluster::{Hdbscan, PartitionedPrediction};
/// use ndarray::Array2;
/// // Two groups that overlap in space: fitted together they would share clusters.
/// let x = Array2::from_shape_fn((120, 2), |(i, j)| {
///     (if i % 60 < 30 { 0.0 } else { 10.0 }) + ((i * 7 + j * 3) % 11) as f32 * 0.05
/// });
/// let groups: Vec<&str> = (0..120).map(|i| if i < 60 { "http" } else { "ssh" }).collect();
/// let params = Hdbscan::params(10).min_samples(3).check()?;
/// let fit = params.fit_partitioned(&x, &groups, &[0.0], |_, _| {})?;
/// let c = &fit.clusterings[0];
/// assert_eq!(c.n_clusters(), 4);
/// assert_ne!(c.labels[0], c.labels[60]); // same place, other group: other cluster
/// let new = Array2::from_shape_vec((2, 2), vec![0.25f32, 0.25, 0.25, 0.25])?;
/// let placed = fit.prediction.place(&new, &[Some("http"), Some("ssh")], 3)?;
/// assert_eq!(placed.predictions[0][0].label, c.labels[0]);
/// assert_eq!(placed.predictions[0][1].label, c.labels[60]);
/// assert!(placed.nearest[1].iter().all(|&(row, _)| row >= 60));
/// // a serde round trip places the same
/// let json = serde_json::to_string(&fit.prediction)?;
/// let loaded: PartitionedPrediction = serde_json::from_str(&json)?;
/// assert_eq!(loaded.place(&new, &[Some("http"), Some("ssh")], 3)?, placed);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct PartitionedPrediction {
    saved: SavedPartitioned,
    /// Group name to part index.
    by_group: BTreeMap<String, usize>,
}

impl Serialize for PartitionedPrediction {
    fn serialize<S: Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        self.saved.serialize(s)
    }
}

impl<'de> Deserialize<'de> for PartitionedPrediction {
    fn deserialize<D: Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        let saved = SavedPartitioned::deserialize(d)?;
        Self::from_saved(saved).map_err(serde::de::Error::custom)
    }
}

/// The clusterings of a [`ValidHdbscanParams::fit_partitioned`] and their prediction data.
#[derive(Debug, Clone)]
pub struct PartitionedFit {
    /// One clustering of every row per epsilon, in the order given: each group's own
    /// clusters, labels numbered group after group (groups in name order). The
    /// [`ClusterSummary::node`](crate::ClusterSummary::node) of a cluster is a node of its
    /// group's own condensed tree.
    pub clusterings: Vec<Clustering>,
    /// What is needed to place new points in these clusterings.
    pub prediction: PartitionedPrediction,
}

impl ValidHdbscanParams {
    /// Fits HDBSCAN on the rows of each group separately and selects a clustering per
    /// epsilon in each: no cluster holds rows of two groups. Groups are taken in name order;
    /// `progress` hears each group's fit with its name. A group of one row is an outlier.
    ///
    /// See [`PartitionedPrediction`] for an example.
    ///
    /// # Errors
    /// [`Error::FitMismatch`] when `groups` has another length than `x` has rows,
    /// [`Error::EmptyInput`] for no rows or no columns, and the errors of
    /// [`fit_with_progress`](Self::fit_with_progress), [`select`](crate::HdbscanFit::select)
    /// and [`prediction_data`](crate::HdbscanFit::prediction_data) for any group.
    pub fn fit_partitioned<A, S, G, F>(
        &self,
        x: &ArrayBase<S, Ix2>,
        groups: &[G],
        epsilons: &[f64],
        progress: F,
    ) -> Result<PartitionedFit>
    where
        A: Element,
        S: Data<Elem = A>,
        G: AsRef<str>,
        F: Fn(&str, Progress) + Sync,
    {
        let (n, dim) = x.dim();
        if groups.len() != n {
            return Err(Error::FitMismatch {
                what: "the groups",
                expected: n,
                got: groups.len(),
            });
        }
        if n == 0 || dim == 0 {
            return Err(Error::EmptyInput { rows: n, cols: dim });
        }
        let mut rows_of: BTreeMap<&str, Vec<usize>> = BTreeMap::new();
        for (i, g) in groups.iter().enumerate() {
            rows_of.entry(g.as_ref()).or_default().push(i);
        }
        let base = self.selection();
        let selections: Vec<SelectionParams> = epsilons
            .iter()
            .map(|&epsilon| SelectionParams { epsilon, ..base })
            .collect();
        let mut clusterings: Vec<Clustering> = selections
            .iter()
            .map(|&params| Clustering {
                params,
                labels: vec![None; n],
                probabilities: vec![0.0; n],
                clusters: Vec::new(),
            })
            .collect();
        let mut parts = Vec::with_capacity(rows_of.len());
        for (group, rows) in rows_of {
            let label_offsets: Vec<usize> = clusterings.iter().map(|c| c.clusters.len()).collect();
            let sub = x.select(Axis(0), &rows);
            if rows.len() < 2 {
                let point = sub.iter().map(|&v| v.to_f64() as f32).collect::<Vec<f32>>();
                if let Some(col) = point.iter().position(|v| !v.is_finite()) {
                    return Err(Error::NonFinite { row: rows[0], col });
                }
                parts.push(PredictionPart {
                    group: group.to_owned(),
                    rows,
                    label_offsets,
                    data: None,
                    point: Some(point),
                });
                continue;
            }
            let fit = self.fit_with_progress(&sub, |p| progress(group, p))?;
            let own = fit.select_epsilons(epsilons)?;
            let data = fit.prediction_data(&sub, &own)?;
            for (whole, part) in clusterings.iter_mut().zip(&own) {
                let offset = whole.clusters.len();
                for (k, &row) in rows.iter().enumerate() {
                    whole.labels[row] = part.labels[k].map(|l| l + offset);
                    whole.probabilities[row] = part.probabilities[k];
                }
                whole.clusters.extend(part.clusters.iter().copied());
            }
            parts.push(PredictionPart {
                group: group.to_owned(),
                rows,
                label_offsets,
                data: Some(data),
                point: None,
            });
        }
        let prediction = PartitionedPrediction::from_saved(SavedPartitioned {
            format_version: PARTITIONED_FORMAT_VERSION,
            n_points: n,
            dim,
            selections,
            parts,
        })?;
        Ok(PartitionedFit {
            clusterings,
            prediction,
        })
    }
}

fn invalid(msg: impl Into<String>) -> Error {
    Error::InvalidPredictionData(msg.into())
}

impl PartitionedPrediction {
    /// Checks the saved form: the parts' rows are a partition of the fitted rows, each
    /// part's data agrees with its rows, the selections and the label offsets.
    fn from_saved(saved: SavedPartitioned) -> Result<Self> {
        if saved.format_version != PARTITIONED_FORMAT_VERSION {
            return Err(Error::PredictionFormat {
                found: saved.format_version,
                supported: PARTITIONED_FORMAT_VERSION,
            });
        }
        let n = saved.n_points;
        let m = saved.selections.len();
        // Sized from the rows actually stored, never from the claimed count alone.
        let total: usize = saved.parts.iter().map(|p| p.rows.len()).sum();
        if total != n {
            return Err(invalid(format!(
                "the groups hold {total} rows, the data claims {n} fitted points"
            )));
        }
        let mut seen = vec![false; n];
        let mut by_group = BTreeMap::new();
        let mut offsets = vec![0usize; m];
        for (p, part) in saved.parts.iter().enumerate() {
            if by_group.insert(part.group.clone(), p).is_some() {
                return Err(invalid(format!("group '{}' appears twice", part.group)));
            }
            if part.rows.is_empty() {
                return Err(invalid(format!("group '{}' has no rows", part.group)));
            }
            for &r in &part.rows {
                match seen.get_mut(r) {
                    Some(s) if !*s => *s = true,
                    Some(_) => return Err(invalid(format!("row {r} is in two groups"))),
                    None => return Err(invalid(format!("row {r} of {n} fitted points"))),
                }
            }
            match (&part.data, &part.point) {
                (Some(d), None) => {
                    if d.n_points() != part.rows.len() || d.dim() != saved.dim {
                        return Err(invalid(format!(
                            "group '{}': {} rows of {} columns, its data {} of {}",
                            part.group,
                            part.rows.len(),
                            saved.dim,
                            d.n_points(),
                            d.dim()
                        )));
                    }
                    if d.selections() != saved.selections {
                        return Err(invalid(format!(
                            "group '{}' has other clusterings than the whole",
                            part.group
                        )));
                    }
                }
                (None, Some(point)) if part.rows.len() == 1 && point.len() == saved.dim => {}
                _ => {
                    return Err(invalid(format!(
                        "group '{}' has neither prediction data nor its one point",
                        part.group
                    )));
                }
            }
            if part.label_offsets != offsets {
                return Err(invalid(format!(
                    "group '{}' has label offsets {:?}, expected {:?}",
                    part.group, part.label_offsets, offsets
                )));
            }
            for (c, o) in offsets.iter_mut().enumerate() {
                *o += part.n_clusters(c);
            }
        }
        if let Some(r) = seen.iter().position(|s| !s) {
            return Err(invalid(format!("row {r} is in no group")));
        }
        Ok(Self { saved, by_group })
    }

    /// Number of fitted points (all groups).
    pub fn n_points(&self) -> usize {
        self.saved.n_points
    }

    /// Number of columns of the fitted (and of new) points.
    pub fn dim(&self) -> usize {
        self.saved.dim
    }

    /// Number of clusterings (one per epsilon).
    pub fn n_clusterings(&self) -> usize {
        self.saved.selections.len()
    }

    /// The selection of each clustering, in order.
    pub fn selections(&self) -> &[SelectionParams] {
        &self.saved.selections
    }

    /// The groups, in name order, with their fitted rows and prediction data.
    pub fn parts(&self) -> &[PredictionPart] {
        &self.saved.parts
    }

    /// Number of clusters of clustering `clustering` (all groups), `None` if there is no
    /// such clustering.
    pub fn n_clusters(&self, clustering: usize) -> Option<usize> {
        (clustering < self.n_clusterings()).then(|| {
            self.saved
                .parts
                .iter()
                .map(|p| p.n_clusters(clustering))
                .sum()
        })
    }

    /// The group of the cluster `label` of clustering `clustering`.
    pub fn group_of_cluster(&self, clustering: usize, label: usize) -> Option<&str> {
        self.saved
            .parts
            .iter()
            .find(|p| {
                let o = p.label_offsets.get(clustering).copied().unwrap_or(0);
                label >= o && label < o + p.n_clusters(clustering)
            })
            .map(|p| p.group.as_str())
    }

    /// The cluster of every fitted point in clustering `clustering`, as the fit labelled
    /// it (`None` for an outlier); `None` when there is no such clustering.
    pub fn fitted_labels(&self, clustering: usize) -> Option<Vec<Option<usize>>> {
        if clustering >= self.n_clusterings() {
            return None;
        }
        let mut out = vec![None; self.saved.n_points];
        for part in &self.saved.parts {
            let Some(data) = &part.data else { continue };
            let offset = part.label_offsets[clustering];
            let labels = data.fitted_labels(clustering)?;
            for (&row, l) in part.rows.iter().zip(labels) {
                out[row] = l.map(|l| l + offset);
            }
        }
        Some(out)
    }

    /// Predictions of every row of `points` in every clustering, indexed
    /// `[clustering][row]`, each row in the group `groups[row]` names (`None`: the group of
    /// its nearest fitted point). A row of a group that was not fitted is an outlier of
    /// every clustering, connected to fitted row 0.
    ///
    /// # Errors
    /// As [`place`](Self::place).
    pub fn predict<A: Element, S: Data<Elem = A>>(
        &self,
        points: &ArrayBase<S, Ix2>,
        groups: &[Option<&str>],
    ) -> Result<Vec<Vec<Prediction>>> {
        Ok(self.place(points, groups, 0)?.predictions)
    }

    /// [`predict`](Self::predict) and the `k` nearest fitted points of the row's group, from
    /// one neighbour search per group ([`PredictionData::place`]): fitted rows and labels of
    /// the whole. A row without a group is placed in every group and kept in the one whose
    /// nearest fitted point is nearest; a row of a group that was not fitted has no
    /// neighbours.
    ///
    /// # Errors
    /// [`Error::FitMismatch`] when `groups` has another length than `points` has rows,
    /// [`Error::DimensionMismatch`] and [`Error::NonFinite`] as
    /// [`PredictionData::predict`].
    pub fn place<A: Element, S: Data<Elem = A>>(
        &self,
        points: &ArrayBase<S, Ix2>,
        groups: &[Option<&str>],
        k: usize,
    ) -> Result<Placement> {
        let rows = points.nrows();
        if groups.len() != rows {
            return Err(Error::FitMismatch {
                what: "the groups",
                expected: rows,
                got: groups.len(),
            });
        }
        if points.ncols() != self.saved.dim {
            return Err(Error::DimensionMismatch {
                expected: self.saved.dim,
                got: points.ncols(),
            });
        }
        let m = self.n_clusterings();
        let outlier = Prediction {
            label: None,
            probability: 0.0,
            neighbour: 0,
        };
        let mut predictions = vec![vec![outlier; rows]; m];
        let mut nearest: Vec<Vec<(usize, f32)>> = vec![Vec::new(); rows];
        // Distance to the nearest fitted point of the part a row was placed in so far (rows
        // without a group keep the nearest part).
        let mut best = vec![f32::INFINITY; rows];
        for (p, part) in self.saved.parts.iter().enumerate() {
            let mine: Vec<usize> = (0..rows)
                .filter(|&r| match groups[r] {
                    Some(g) => self.by_group.get(g) == Some(&p),
                    None => true,
                })
                .collect();
            if mine.is_empty() {
                continue;
            }
            let sub = points.select(Axis(0), &mine);
            let placed = place_in_part(part, &sub, k.max(1))?;
            for (i, &r) in mine.iter().enumerate() {
                let d = placed.nearest[i].first().map_or(f32::INFINITY, |e| e.1);
                // Ties (and NaN) keep the part placed first.
                if groups[r].is_none() && d.partial_cmp(&best[r]) != Some(std::cmp::Ordering::Less)
                {
                    continue;
                }
                best[r] = d;
                for ((whole, own), offset) in predictions
                    .iter_mut()
                    .zip(&placed.predictions)
                    .zip(&part.label_offsets)
                {
                    let pr = own[i];
                    whole[r] = Prediction {
                        label: pr.label.map(|l| l + offset),
                        probability: pr.probability,
                        neighbour: part.rows.get(pr.neighbour).copied().unwrap_or(0),
                    };
                }
                nearest[r] = placed.nearest[i]
                    .iter()
                    .take(k)
                    .filter_map(|&(j, d)| part.rows.get(j).map(|&row| (row, d)))
                    .collect();
            }
        }
        Ok(Placement {
            predictions,
            nearest,
        })
    }
}

/// [`PredictionData::place`] in one part, with rows and labels of the part.
fn place_in_part<A: Element, S: Data<Elem = A>>(
    part: &PredictionPart,
    points: &ArrayBase<S, Ix2>,
    k: usize,
) -> Result<Placement> {
    if let Some(data) = &part.data {
        return data.place(points, k);
    }
    // A one-row group: an outlier connected to its one point.
    let point: Vec<f64> = part.point.iter().flatten().map(|&v| f64::from(v)).collect();
    let q: Array2<f64> = points.mapv(Element::to_f64);
    if let Some(((row, col), _)) = q.indexed_iter().find(|(_, v)| !v.is_finite()) {
        return Err(Error::NonFinite { row, col });
    }
    let nearest = q
        .rows()
        .into_iter()
        .map(|r| vec![(0, euclidean(r.iter(), &point) as f32)])
        .collect();
    let n_clusterings = part.label_offsets.len();
    let outlier = Prediction {
        label: None,
        probability: 0.0,
        neighbour: 0,
    };
    Ok(Placement {
        predictions: vec![vec![outlier; q.nrows()]; n_clusterings],
        nearest,
    })
}
