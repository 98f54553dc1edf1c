//! A lenient reader for cluster-label JSONL files.
//!
//! One JSON object per line; empty lines are skipped. Each line names a
//! banner record by its key, `ip`, `port`, `snapshot` and `protocol`, either
//! at the top level or inside an object under `key`, `record` or `id`, and
//! gives its labels in one of two forms:
//!
//! - `"labels": {"0.01": 3, "0.05": null, ...}`: one clustering per map key
//!   (e.g. the HDBSCAN epsilon);
//! - `"cluster": 3` (or `"label": 3`): a single clustering named `cluster`;
//! - `"clusters": [{"epsilon": 0.01, "label": 3, ...}, ...]`: density-cluster's
//!   output format (`density_cluster::write_jsonl`, the `cluster` example with
//!   `--ids`, the pipeline's `cluster/clusters.jsonl`), one clustering per
//!   entry, named `eps=<epsilon>` (with `/<method>` appended when one line
//!   holds the same epsilon twice).
//!
//! A label is a non-negative integer; `null` or a negative integer (the
//! usual `-1`) means noise. Other fields (an `outlier` flag, scores) are
//! ignored. A record that appears in no line is noise in every clustering.

use std::collections::HashMap;
use std::io::BufRead;
use std::path::{Path, PathBuf};

use banner_parse::RecordKey;
use serde_json::Value;

use crate::error::{Error, Result};
use crate::generate::Clustering;

/// Cluster labels of banner records, for one or more clusterings.
///
/// The file is JSONL: each line names a banner record by `ip`, `port`,
/// `snapshot` and `protocol` (at the top level or inside `key`, `record` or
/// `id`) and gives its labels as `"labels": {"<clustering>": <label>, ...}`
/// or as `"cluster"` / `"label"` (one clustering named `cluster`), or in
/// density-cluster's format `"clusters": [{"epsilon", "label", ...}, ...]`
/// (one clustering per epsilon, named `eps=<epsilon>`). A label
/// is a non-negative integer; `null` or a negative integer means noise, and
/// so does every clustering of a record that appears in no line.
///
/// ```
/// use lcs_fingerprint::ClusterLabels;
///
/// let jsonl = r#"{"ip":"198.51.100.7","port":80,"snapshot":"2023-07","protocol":"http","labels":{"0.01":4,"0.05":-1}}
/// {"key":{"ip":"198.51.100.8","port":80,"snapshot":"2023-07","protocol":"http"},"cluster":2}
/// "#;
/// let labels = ClusterLabels::from_reader(jsonl.as_bytes(), "labels.jsonl")?;
/// assert_eq!(labels.clusterings(), ["0.01", "0.05", "cluster"]);
/// assert_eq!(labels.len(), 2);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ClusterLabels {
    names: Vec<String>,
    by_key: HashMap<RecordKey, HashMap<usize, Option<usize>>>,
}

impl ClusterLabels {
    /// Reads a labels file (see [`ClusterLabels`] for the accepted lines).
    ///
    /// # Errors
    ///
    /// [`Error::Io`] when the file cannot be read; [`Error::LabelsJson`] or
    /// [`Error::Labels`] (with path and line number) for a bad line.
    pub fn read(path: impl AsRef<Path>) -> Result<Self> {
        let path = path.as_ref();
        let file = std::fs::File::open(path).map_err(|source| Error::Io {
            path: path.to_owned(),
            source,
        })?;
        Self::from_reader(std::io::BufReader::new(file), path)
    }

    /// Reads labels from any buffered reader; `path` is used in errors only.
    ///
    /// # Errors
    ///
    /// As [`ClusterLabels::read`].
    pub fn from_reader(reader: impl BufRead, path: impl AsRef<Path>) -> Result<Self> {
        let path: PathBuf = path.as_ref().to_owned();
        let mut out = Self::default();
        for (n, line) in reader.lines().enumerate() {
            let line_no = n + 1;
            let line = line.map_err(|source| Error::Io {
                path: path.clone(),
                source,
            })?;
            if line.trim().is_empty() {
                continue;
            }
            let bad = |message: String| Error::Labels {
                path: path.clone(),
                line: line_no,
                message,
            };
            let value: Value = serde_json::from_str(&line).map_err(|source| Error::LabelsJson {
                path: path.clone(),
                line: line_no,
                source,
            })?;
            let Value::Object(obj) = &value else {
                return Err(bad("expected a JSON object".into()));
            };
            let key_obj = ["key", "record", "id"]
                .iter()
                .find_map(|k| obj.get(*k).filter(|v| v.is_object()))
                .unwrap_or(&value);
            if key_obj == &value && obj.get("id").is_some_and(Value::is_number) {
                return Err(bad(
                    "`id` is a row number, not a record key: write the clusters with the \
                     record keys of the embeddings (`cluster --ids ids.jsonl`)"
                        .into(),
                ));
            }
            let key: RecordKey =
                serde_json::from_value(key_obj.clone()).map_err(|source| Error::LabelsJson {
                    path: path.clone(),
                    line: line_no,
                    source,
                })?;
            let mut labels: Vec<(String, Option<usize>)> = Vec::new();
            if let Some(map) = obj.get("labels") {
                let Value::Object(map) = map else {
                    return Err(bad(
                        "`labels` must be an object of clustering -> label".into()
                    ));
                };
                for (name, v) in map {
                    labels.push((
                        name.clone(),
                        parse_label(v).map_err(|m| bad(format!("label {name:?}: {m}")))?,
                    ));
                }
            } else if let Some(v) = obj.get("cluster").or_else(|| obj.get("label")) {
                labels.push(("cluster".to_owned(), parse_label(v).map_err(bad)?));
            } else if let Some(list) = obj.get("clusters") {
                labels.extend(parse_clusters(list).map_err(bad)?);
            } else {
                return Err(bad(
                    "no `labels`, `cluster`, `label` or `clusters` field".into()
                ));
            }
            let entry = out.by_key.entry(key).or_default();
            for (name, label) in labels {
                let idx = if let Some(i) = out.names.iter().position(|n| *n == name) {
                    i
                } else {
                    out.names.push(name);
                    out.names.len() - 1
                };
                entry.insert(idx, label);
            }
        }
        Ok(out)
    }

    /// The clusterings' names, in order of first appearance.
    pub fn clusterings(&self) -> &[String] {
        &self.names
    }

    /// Number of labelled records.
    pub fn len(&self) -> usize {
        self.by_key.len()
    }

    /// Whether no record is labelled.
    pub fn is_empty(&self) -> bool {
        self.by_key.is_empty()
    }

    /// The label of `key` in clustering number `clustering` (`None`: noise or unlabelled).
    pub fn get(&self, key: &RecordKey, clustering: usize) -> Option<usize> {
        self.by_key
            .get(key)
            .and_then(|m| m.get(&clustering).copied().flatten())
    }

    /// One [`Clustering`] per clustering, aligned with `keys` (records in
    /// banner order); unlabelled records are noise.
    pub fn align<'k>(&self, keys: impl IntoIterator<Item = &'k RecordKey>) -> Vec<Clustering> {
        let keys: Vec<&RecordKey> = keys.into_iter().collect();
        (0..self.names.len())
            .map(|ci| Clustering {
                name: self.names[ci].clone(),
                labels: keys.iter().map(|k| self.get(k, ci)).collect(),
            })
            .collect()
    }
}

/// density-cluster's `"clusters"` array: one `(eps=<epsilon>, label)` per entry.
fn parse_clusters(list: &Value) -> Result<Vec<(String, Option<usize>)>, String> {
    let Value::Array(list) = list else {
        return Err("`clusters` must be an array of {epsilon, label, ...}".into());
    };
    let mut out: Vec<(String, Option<usize>)> = Vec::with_capacity(list.len());
    for (i, entry) in list.iter().enumerate() {
        let epsilon = entry
            .get("epsilon")
            .and_then(Value::as_f64)
            .ok_or_else(|| format!("clusters[{i}]: no numeric `epsilon`"))?;
        let label = parse_label(entry.get("label").unwrap_or(&Value::Null))
            .map_err(|m| format!("clusters[{i}]: {m}"))?;
        let mut name = format!("eps={epsilon}");
        if out.iter().any(|(n, _)| *n == name) {
            let method = entry.get("method").and_then(Value::as_str).unwrap_or("?");
            name = format!("{name}/{method}");
        }
        out.push((name, label));
    }
    Ok(out)
}

fn parse_label(v: &Value) -> Result<Option<usize>, String> {
    match v {
        Value::Null => Ok(None),
        Value::Number(n) => match (n.as_u64(), n.as_i64()) {
            (Some(u), _) => usize::try_from(u)
                .map(Some)
                .map_err(|_| format!("label {u} too large")),
            (None, Some(_)) => Ok(None),
            _ => Err(format!("label {n} is not an integer")),
        },
        other => Err(format!("expected an integer or null, got {other}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_both_forms_and_aligns() {
        let text = concat!(
            r#"{"ip":"10.0.0.1","port":80,"snapshot":"s","protocol":"http","labels":{"0.01":1,"0.1":null}}"#,
            "\n\n",
            r#"{"record":{"ip":"10.0.0.2","port":443,"snapshot":"s","protocol":"http"},"label":-1,"outlier":true}"#,
            "\n"
        );
        let l = ClusterLabels::from_reader(text.as_bytes(), "x").expect("reads");
        let k1: RecordKey =
            serde_json::from_str(r#"{"ip":"10.0.0.1","port":80,"snapshot":"s","protocol":"http"}"#)
                .expect("key");
        let k3: RecordKey =
            serde_json::from_str(r#"{"ip":"10.0.0.3","port":80,"snapshot":"s","protocol":"http"}"#)
                .expect("key");
        let c = l.align([&k1, &k3]);
        assert_eq!(c.len(), 3);
        assert_eq!(c[0].labels, [Some(1), None]);
        assert_eq!(c[1].labels, [None, None]);
        assert_eq!(c[2].name, "cluster");
    }

    #[test]
    fn reads_density_cluster_output() {
        let text = concat!(
            r#"{"id":{"ip":"10.0.0.1","port":80,"snapshot":"s","protocol":"http"},"clusters":["#,
            r#"{"epsilon":0.01,"method":"eom","label":3,"outlier":false,"probability":0.9},"#,
            r#"{"epsilon":0.1,"method":"eom","label":-1,"outlier":true,"probability":0.0}]}"#,
            "\n",
        );
        let l = ClusterLabels::from_reader(text.as_bytes(), "clusters.jsonl").expect("reads");
        assert_eq!(l.clusterings(), ["eps=0.01", "eps=0.1"]);
        let k: RecordKey =
            serde_json::from_str(r#"{"ip":"10.0.0.1","port":80,"snapshot":"s","protocol":"http"}"#)
                .expect("key");
        assert_eq!(l.get(&k, 0), Some(3));
        assert_eq!(l.get(&k, 1), None);
        // Row numbers as ids cannot be joined to banners: a clear error.
        let text = r#"{"id":7,"clusters":[{"epsilon":0.01,"label":1}]}"#;
        let e = ClusterLabels::from_reader(text.as_bytes(), "c.jsonl").expect_err("row id");
        assert!(e.to_string().contains("--ids"), "{e}");
    }

    #[test]
    fn errors_carry_line_numbers() {
        let text = "{\"ip\":\"10.0.0.1\",\"port\":80,\"snapshot\":\"s\",\"protocol\":\"http\",\"cluster\":1}\nnot json\n";
        let e = ClusterLabels::from_reader(text.as_bytes(), "f.jsonl").expect_err("bad line");
        assert!(matches!(e, Error::LabelsJson { line: 2, .. }), "{e}");
        assert!(e.to_string().starts_with("f.jsonl:2:"));
        let text = "{\"ip\":\"10.0.0.1\",\"port\":80,\"snapshot\":\"s\",\"protocol\":\"http\",\"cluster\":1.5}\n";
        let e = ClusterLabels::from_reader(text.as_bytes(), "f.jsonl").expect_err("bad label");
        assert!(matches!(e, Error::Labels { line: 1, .. }));
        let text = "{\"ip\":\"10.0.0.1\",\"port\":80,\"snapshot\":\"s\",\"protocol\":\"http\"}\n";
        assert!(ClusterLabels::from_reader(text.as_bytes(), "f").is_err());
        assert!(matches!(
            ClusterLabels::read("/nonexistent/labels.jsonl"),
            Err(Error::Io { .. })
        ));
    }
}
