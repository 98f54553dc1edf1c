//! The clusters file of bannerlm: JSONL, one line per record.
//!
//! Each line is a [`ClusterRecord`]: the caller's record id (any
//! `serde::Serialize` value, e.g. the banner key `{ip, port, snapshot, protocol}`)
//! and, for every clustering written together (one per epsilon), the label,
//! the outlier flag and the membership strength:
//!
//! ```json
//! {"id":{"ip":"192.0.2.7","port":80},"clusters":[{"epsilon":0.01,"method":"eom","label":3,"outlier":false,"probability":0.93},{"epsilon":0.1,"method":"eom","label":-1,"outlier":true,"probability":0.0}]}
//! ```

use std::io::{BufWriter, Write};
use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::hyperparams::SelectionMethod;
use crate::select::Clustering;

/// One row's assignment in one clustering.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Assignment {
    /// `cluster_selection_epsilon` of the clustering.
    pub epsilon: f64,
    /// Selection method of the clustering.
    pub method: SelectionMethod,
    /// Cluster label, -1 for outliers.
    pub label: i64,
    /// Whether the row is an outlier in this clustering.
    pub outlier: bool,
    /// Membership strength in `[0, 1]`.
    pub probability: f64,
}

/// One line of the clusters JSONL file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ClusterRecord<K> {
    /// The caller's record id.
    pub id: K,
    /// One assignment per clustering, in the order they were written.
    pub clusters: Vec<Assignment>,
}

/// Writes one JSONL line per row: `ids[i]` with row `i`'s assignment in every clustering.
///
/// ```
/// use density_cluster::{Hdbscan, write_jsonl, ClusterRecord};
/// use ndarray::Array2;
/// let x = Array2::from_shape_fn((12, 2), |(i, j)| (i / 6) as f32 * 10.0 + (i % 6 + j) as f32 * 0.01);
/// let fit = Hdbscan::params(3).min_samples(2).fit(&x)?;
/// let clusterings = fit.select_epsilons(&[0.0, 0.5])?;
/// let ids: Vec<String> = (0..12).map(|i| format!("host-{i}")).collect();
/// let mut out = Vec::new();
/// write_jsonl(&mut out, &ids, &clusterings)?;
/// let first: ClusterRecord<String> = serde_json::from_slice(out.split(|&b| b == b'\n').next().unwrap())?;
/// assert_eq!(first.id, "host-0");
/// assert_eq!(first.clusters.len(), 2);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
///
/// # Errors
/// [`Error::IdsMismatch`] / [`Error::RowsMismatch`] when rows do not line up,
/// [`Error::Json`] or [`Error::Io`] when writing fails.
pub fn write_jsonl<W: Write, K: Serialize>(
    writer: W,
    ids: &[K],
    clusterings: &[Clustering],
) -> Result<()> {
    write_inner(writer, ids, clusterings, None)
}

/// [`write_jsonl`] to a file at `path`, atomically ([`bannerlm_base::AtomicFile`]: a
/// temporary file beside it, synced and renamed only when every line is written), so a
/// failed or killed run leaves the previous file, never half of one.
///
/// # Errors
/// As [`write_jsonl`]; I/O errors name the path.
pub fn write_jsonl_file<K: Serialize>(
    path: impl AsRef<Path>,
    ids: &[K],
    clusterings: &[Clustering],
) -> Result<()> {
    let path = path.as_ref();
    let io_err = |source| Error::Io {
        path: Some(path.to_owned()),
        source,
    };
    let mut file = bannerlm_base::AtomicFile::create(path).map_err(io_err)?;
    write_inner(&mut file, ids, clusterings, Some(path))?;
    file.commit().map_err(io_err)
}

fn write_inner<W: Write, K: Serialize>(
    writer: W,
    ids: &[K],
    clusterings: &[Clustering],
    path: Option<&Path>,
) -> Result<()> {
    let rows = clusterings.first().map_or(ids.len(), |c| c.labels.len());
    if let Some(other) = clusterings.iter().find(|c| c.labels.len() != rows) {
        return Err(Error::RowsMismatch(rows, other.labels.len()));
    }
    if ids.len() != rows {
        return Err(Error::IdsMismatch {
            ids: ids.len(),
            rows,
        });
    }
    let io_err = |source| Error::Io {
        path: path.map(Path::to_owned),
        source,
    };
    let mut w = BufWriter::new(writer);
    let mut assignments = Vec::with_capacity(clusterings.len());
    for (row, id) in ids.iter().enumerate() {
        assignments.clear();
        assignments.extend(clusterings.iter().map(|c| {
            let label = c.labels[row];
            Assignment {
                epsilon: c.params.epsilon,
                method: c.params.method,
                label: label.map_or(-1, |l| l as i64),
                outlier: label.is_none(),
                probability: c.probabilities[row],
            }
        }));
        let record = ClusterRecordRef {
            id,
            clusters: &assignments,
        };
        serde_json::to_writer(&mut w, &record).map_err(|source| {
            if source.is_io() {
                Error::Io {
                    path: path.map(Path::to_owned),
                    source: source.into(),
                }
            } else {
                Error::Json { row, source }
            }
        })?;
        w.write_all(b"\n").map_err(io_err)?;
    }
    w.flush().map_err(io_err)
}

#[derive(Serialize)]
struct ClusterRecordRef<'a, K> {
    id: &'a K,
    clusters: &'a [Assignment],
}
