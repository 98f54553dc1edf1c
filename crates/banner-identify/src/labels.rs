//! A label per cluster: the Recog description, the fingerprint or the Server value that
//! covers most of its members.

use std::collections::{BTreeMap, HashMap};

use banner_parse::HttpBanner;
use lcs_fingerprint::{Clustering, Fingerprint};
use serde::{Deserialize, Serialize};

use crate::matching::{RecogMatchers, RecogMemo};

/// Where a cluster's label comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LabelSource {
    /// The Recog description that matches most members.
    Recog,
    /// The generated fingerprint of the cluster with the largest support (`header: regex`).
    Fingerprint,
    /// The most common Server header value (first banner line for non-HTTP banners).
    Server,
}

/// The label of one cluster.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ClusterLabel {
    /// The label text (untrusted scan text: escape it before printing).
    pub label: String,
    /// Where it comes from.
    pub source: LabelSource,
    /// Share of the cluster's members it covers, in `[0, 1]`.
    pub share: f64,
    /// Members of the cluster.
    pub members: usize,
}

/// The labels of one clustering.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ClusteringLabels {
    /// The clustering's cluster-selection epsilon.
    pub epsilon: f64,
    /// Label per cluster id; clusters without any labelled member are absent.
    pub labels: BTreeMap<usize, ClusterLabel>,
}

/// The epsilon in a clustering name: `eps=0.05` (an optional `/method` suffix ignored) or a
/// plain number; `NaN` otherwise.
fn epsilon_of(name: &str) -> f64 {
    let s = name.strip_prefix("eps=").unwrap_or(name);
    let s = s.split('/').next().unwrap_or(s);
    s.trim().parse().unwrap_or(f64::NAN)
}

/// The text used for the Server fallback of one banner: its first Server value, else the
/// first line of a banner that is not HTTP.
fn server_value(banner: &[u8]) -> Option<String> {
    if banner.starts_with(b"HTTP/") {
        HttpBanner::parse(banner)
            .get("Server")
            .map(|v| String::from_utf8_lossy(v).into_owned())
    } else {
        let line = banner.split(|&b| b == b'\n').next().unwrap_or_default();
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        (!line.is_empty()).then(|| String::from_utf8_lossy(line).into_owned())
    }
}

/// The most common value among `counts` (ties: the smallest value), with its count.
fn most_common(counts: HashMap<String, usize>) -> Option<(String, usize)> {
    counts
        .into_iter()
        .max_by(|a, b| a.1.cmp(&b.1).then_with(|| b.0.cmp(&a.0)))
}

/// A label for every cluster of every clustering (in order), as the bundle stores them.
///
/// `banners[i]` is the banner of row `i` of every clustering and `protocols[i]` its protocol
/// (`http`, `ssh`, ...; `None` or missing: unknown, as
/// [`RecogMatchers::match_protocol`] takes it). For each cluster, in this order: the Recog
/// description matching most members when `recog` is given (a member counts once per
/// description, whichever header or protocol database matched); else the fingerprint of that
/// cluster (same clustering name and cluster id) with the largest support, labelled
/// `header: regex` with share `support / members`; else the most common Server value (first
/// line for banners that do not start with `HTTP/`). A cluster with none of these is absent.
/// The epsilon is read from clustering names `eps=<epsilon>` (NaN otherwise;
/// [`BundleWriter`](crate::BundleWriter) sets it from its epsilons).
///
/// # Panics
/// Never on input; a clustering with fewer labels than banners labels only its rows.
///
/// ```
/// use banner_identify::{LabelSource, label_clusters};
/// use lcs_fingerprint::Clustering;
/// let banners: Vec<&[u8]> = vec![
///     b"HTTP/1.1 200 OK\r\nServer: nginx\r\n",
///     b"HTTP/1.1 200 OK\r\nServer: nginx\r\n",
///     b"HTTP/1.1 200 OK\r\nServer: Apache\r\n",
///     b"SSH-2.0-OpenSSH_9.6\r\n",
/// ];
/// let c = Clustering { name: "eps=0.1".into(), labels: vec![Some(0), Some(0), Some(0), Some(1)] };
/// let labels = label_clusters(&banners, &[], &[c], &[], None);
/// assert_eq!(labels[0].epsilon, 0.1);
/// let l0 = &labels[0].labels[&0];
/// assert_eq!((l0.label.as_str(), l0.source, l0.members), ("nginx", LabelSource::Server, 3));
/// assert!((l0.share - 2.0 / 3.0).abs() < 1e-12);
/// assert_eq!(labels[0].labels[&1].label, "SSH-2.0-OpenSSH_9.6");
/// ```
pub fn label_clusters(
    banners: &[&[u8]],
    protocols: &[Option<&str>],
    clusterings: &[Clustering],
    fingerprints: &[Fingerprint],
    recog: Option<&RecogMatchers>,
) -> Vec<ClusteringLabels> {
    // Per banner: its Recog descriptions (deduplicated) and its Server value, computed once.
    let mut memo = RecogMemo::new(4_096);
    let descriptions: Vec<Vec<String>> = match recog {
        Some(r) => banners
            .iter()
            .enumerate()
            .map(|(i, b)| {
                let protocol = protocols.get(i).copied().flatten();
                let mut d: Vec<String> = r
                    .match_protocol(b, protocol, &mut memo)
                    .into_iter()
                    .map(|m| m.description)
                    .collect();
                d.sort();
                d.dedup();
                d
            })
            .collect(),
        None => Vec::new(),
    };
    let servers: Vec<Option<String>> = banners.iter().map(|b| server_value(b)).collect();
    clusterings
        .iter()
        .map(|c| {
            let mut members: BTreeMap<usize, Vec<usize>> = BTreeMap::new();
            for (row, label) in c.labels.iter().enumerate().take(banners.len()) {
                if let Some(l) = label {
                    members.entry(*l).or_default().push(row);
                }
            }
            let mut labels = BTreeMap::new();
            for (cluster, rows) in members {
                let n = rows.len();
                let share = |k: usize| k as f64 / n as f64;
                let recog_label = (!descriptions.is_empty())
                    .then(|| {
                        let mut counts: HashMap<String, usize> = HashMap::new();
                        for &r in &rows {
                            for d in &descriptions[r] {
                                *counts.entry(d.clone()).or_default() += 1;
                            }
                        }
                        most_common(counts)
                    })
                    .flatten()
                    .map(|(label, k)| ClusterLabel {
                        label,
                        source: LabelSource::Recog,
                        share: share(k),
                        members: n,
                    });
                let fingerprint_label = || {
                    fingerprints
                        .iter()
                        .filter(|f| f.clustering == c.name && f.cluster == cluster)
                        .max_by(|a, b| a.support.cmp(&b.support).then(b.regex.cmp(&a.regex)))
                        .map(|f| ClusterLabel {
                            label: format!("{}: {}", f.header, f.regex),
                            source: LabelSource::Fingerprint,
                            share: share(f.support.min(n)),
                            members: n,
                        })
                };
                let server_label = || {
                    let mut counts: HashMap<String, usize> = HashMap::new();
                    for &r in &rows {
                        if let Some(s) = &servers[r] {
                            *counts.entry(s.clone()).or_default() += 1;
                        }
                    }
                    most_common(counts).map(|(label, k)| ClusterLabel {
                        label,
                        source: LabelSource::Server,
                        share: share(k),
                        members: n,
                    })
                };
                if let Some(l) = recog_label.or_else(fingerprint_label).or_else(server_label) {
                    labels.insert(cluster, l);
                }
            }
            ClusteringLabels {
                epsilon: epsilon_of(&c.name),
                labels,
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fp(clustering: &str, cluster: usize, regex: &str, support: usize) -> Fingerprint {
        serde_json::from_value(serde_json::json!({
            "header": "Server", "regex": regex, "clustering": clustering, "cluster": cluster,
            "support": support, "cluster_size": 4, "matched": support, "precision": 1.0,
            "draws": 1, "sources": [], "examples": []
        }))
        .expect("fingerprint")
    }

    #[test]
    fn known_answer_fingerprint_then_server() {
        let banners: Vec<&[u8]> = vec![
            b"HTTP/1.1 200 OK\r\nServer: lighttpd/1.4.59\r\n",
            b"HTTP/1.1 200 OK\r\nServer: lighttpd/1.4.60\r\n",
            b"HTTP/1.1 200 OK\r\nServer: lighttpd/1.4.60\r\n",
            b"HTTP/1.1 404 Not Found\r\n",
            b"220 ProFTPD Server\r\n",
            b"220 ProFTPD Server\r\n",
            b"",
        ];
        let c = Clustering {
            name: "eps=0.05/leaf".into(),
            labels: vec![
                Some(0),
                Some(0),
                Some(0),
                Some(0),
                Some(1),
                Some(1),
                Some(2),
            ],
        };
        let fps = [
            fp("eps=0.05/leaf", 0, "^lighttpd/1", 2),
            fp("eps=0.05/leaf", 0, "^lighttpd/(?P<version>[0-9]+)", 3),
            fp("eps=0.1", 1, "^never", 9),
        ];
        let out = label_clusters(&banners, &[], std::slice::from_ref(&c), &fps, None);
        assert_eq!(out.len(), 1);
        assert!((out[0].epsilon - 0.05).abs() < 1e-12);
        let l = &out[0].labels;
        assert_eq!(
            l[&0],
            ClusterLabel {
                label: "Server: ^lighttpd/(?P<version>[0-9]+)".into(),
                source: LabelSource::Fingerprint,
                share: 0.75,
                members: 4
            }
        );
        // a fingerprint of another clustering does not label cluster 1
        assert_eq!(
            l[&1],
            ClusterLabel {
                label: "220 ProFTPD Server".into(),
                source: LabelSource::Server,
                share: 1.0,
                members: 2
            }
        );
        // the empty banner's cluster has no label
        assert!(!l.contains_key(&2));
        assert!(epsilon_of("cluster").is_nan());
    }
}
