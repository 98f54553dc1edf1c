//! Change detection: the embedding distance of each host seen in two snapshots, compared with
//! the normalised edit distance of its banners.

use std::collections::HashMap;

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::stats::euclidean;
use crate::store::EmbeddingStore;

/// One host (the same service on the same ip/port) seen in two snapshots.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct HostChange {
    /// The host: the record id without its `snapshot` field, as compact JSON
    /// (`{"ip":..,"port":..,"protocol":..}` for bannerlm record keys).
    pub host: String,
    /// Its row in the earlier snapshot.
    pub before: usize,
    /// Its row in the later snapshot.
    pub after: usize,
    /// Euclidean distance of the two embeddings (unit vectors: 0 to 2).
    pub distance: f32,
    /// Whether `distance` is above the threshold.
    pub changed: bool,
}

/// Splits a stored id into (snapshot, host key without the snapshot).
fn split_id(id: &str) -> Option<(String, String)> {
    let serde_json::Value::Object(mut map) = serde_json::from_str(id).ok()? else {
        return None;
    };
    let snapshot = match map.remove("snapshot")? {
        serde_json::Value::String(s) => s,
        other => other.to_string(),
    };
    Some((snapshot, serde_json::Value::Object(map).to_string()))
}

/// Hosts present in both snapshots `before` and `after` of a store whose ids carry a
/// `snapshot` field (as [`BannerEmbedder::embed_records`](crate::BannerEmbedder) writes them),
/// with their embedding distance and whether it exceeds `threshold` (the paper's 0.1 separates
/// matching from random pairs). Sorted by host key. Ids that are not JSON objects with a
/// `snapshot` are ignored; a host seen twice in one snapshot keeps its first row.
///
/// ```
/// use embed_index::{EmbeddingStore, StoreWriter, host_changes};
/// use ndarray::array;
/// use serde_json::json;
///
/// let dir = tempfile::tempdir()?;
/// let (npy, ids) = (dir.path().join("e.npy"), dir.path().join("ids.jsonl"));
/// let mut w = StoreWriter::create(&npy, &ids, 2)?;
/// let key = |ip: &str, snap: &str| json!({"ip": ip, "port": 80, "snapshot": snap, "protocol": "http"});
/// w.append(
///     &array![[1.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 0.0]],
///     &[key("192.0.2.1", "jan"), key("192.0.2.2", "jan"), key("192.0.2.1", "feb"), key("192.0.2.2", "feb")],
/// )?;
/// w.finish()?;
/// let store = EmbeddingStore::open(&npy, &ids)?;
/// let changes = host_changes(&store, "jan", "feb", 0.1)?;
/// assert_eq!(changes.len(), 2);
/// assert!(!changes[0].changed && changes[1].changed); // .2 changed, .1 did not
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
///
/// # Errors
/// [`Error::NoData`] when no host is in both snapshots; [`Error::Io`] on read errors.
pub fn host_changes(
    store: &EmbeddingStore,
    before: &str,
    after: &str,
    threshold: f32,
) -> Result<Vec<HostChange>> {
    let mut first: HashMap<String, usize> = HashMap::new();
    let mut second: Vec<(String, usize)> = Vec::new();
    for i in 0..store.len() {
        let Some((snapshot, host)) = store.id(i).and_then(split_id) else {
            continue;
        };
        if snapshot == before {
            first.entry(host).or_insert(i);
        } else if snapshot == after {
            second.push((host, i));
        }
    }
    let mut seen = std::collections::HashSet::new();
    let mut out = Vec::new();
    for (host, j) in second {
        let Some(&i) = first.get(&host) else { continue };
        if !seen.insert(host.clone()) {
            continue;
        }
        let (Some(a), Some(b)) = (store.row(i)?, store.row(j)?) else {
            continue;
        };
        let distance = euclidean(&a, &b);
        out.push(HostChange {
            host,
            before: i,
            after: j,
            distance,
            changed: distance > threshold,
        });
    }
    if out.is_empty() {
        return Err(Error::NoData(format!(
            "no host is in both snapshots {:?} and {:?}",
            before.escape_debug().to_string(),
            after.escape_debug().to_string()
        )));
    }
    out.sort_by(|a, b| a.host.cmp(&b.host));
    Ok(out)
}

/// The paper's change threshold: an embedding distance above 0.1 separates a changed service
/// from a matching pair (section 4.3: most matching pairs are below it, nearly all random pairs
/// above). The default of [`snapshot_changes`] callers.
pub const CHANGE_THRESHOLD: f32 = 0.1;

/// The host of a stored id: the id without its `snapshot` field as compact JSON when the id is
/// a JSON object (a record key), else the id itself.
fn host_of(id: &str) -> String {
    match serde_json::from_str::<serde_json::Value>(id) {
        Ok(serde_json::Value::Object(mut map)) => {
            map.remove("snapshot");
            serde_json::Value::Object(map).to_string()
        }
        _ => id.to_owned(),
    }
}

/// How the services of two snapshots relate, counted (see [`SnapshotChanges`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct ChangeCounts {
    /// Rows of the earlier store.
    pub before: usize,
    /// Rows of the later store.
    pub after: usize,
    /// Services in both snapshots (`both + vanished + duplicates_before == before`).
    pub both: usize,
    /// Of `both`, those whose embedding distance is above the threshold.
    pub changed: usize,
    /// Services only in the later snapshot (`both + appeared + duplicates_after == after`).
    pub appeared: usize,
    /// Services only in the earlier snapshot.
    pub vanished: usize,
    /// Rows of the earlier store whose service was already seen in it (ignored).
    pub duplicates_before: usize,
    /// Rows of the later store whose service was already seen in it (ignored).
    pub duplicates_after: usize,
}

/// What changed between two snapshots stored apart (a bundle's store and a new month's):
/// the services present in both with their embedding distance, and those that appeared or
/// vanished. A service is the record id without its `snapshot` field (`{ip, port, protocol}`
/// for bannerlm record keys); ids that are not JSON objects are compared whole.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SnapshotChanges {
    /// Distances above this count as changed.
    pub threshold: f32,
    /// The counts.
    pub counts: ChangeCounts,
    /// Services in both: `before` is the row in the earlier store, `after` in the later one.
    /// In the later store's row order.
    pub both: Vec<HostChange>,
    /// Rows of the later store whose service is not in the earlier one, in row order.
    pub appeared: Vec<usize>,
    /// Rows of the earlier store whose service is not in the later one, in row order.
    pub vanished: Vec<usize>,
}

impl SnapshotChanges {
    /// The embedding distances of the services in both snapshots, in [`both`](Self::both)
    /// order (for a histogram).
    pub fn distances(&self) -> Vec<f32> {
        self.both.iter().map(|c| c.distance).collect()
    }

    /// Share of the services in both whose distance is above the threshold (0 when none).
    pub fn changed_share(&self) -> f64 {
        if self.counts.both == 0 {
            0.0
        } else {
            self.counts.changed as f64 / self.counts.both as f64
        }
    }
}

/// Compares an earlier snapshot's store (`before`, e.g. a bundle's `embeddings.npy` +
/// `keys.jsonl`) with a later one's (`after`): every service of `after` is either present in
/// `before` (with the Euclidean distance of its two embeddings, `changed` when above
/// `threshold`, [`CHANGE_THRESHOLD`] in the paper) or appeared; every service of `before` not
/// in `after` vanished. The first row of a service counts, later rows of it in the same store
/// are counted as duplicates and otherwise ignored. Reads both matrices into memory.
///
/// ```
/// use embed_index::{EmbeddingStore, StoreWriter, snapshot_changes};
/// use ndarray::array;
/// use serde_json::json;
///
/// let dir = tempfile::tempdir()?;
/// let key = |ip: &str, snap: &str| json!({"ip": ip, "port": 80, "snapshot": snap, "protocol": "http"});
/// let store = |name: &str, rows, ids: &[serde_json::Value]| -> Result<EmbeddingStore, Box<dyn std::error::Error>> {
///     let (npy, idp) = (dir.path().join(format!("{name}.npy")), dir.path().join(format!("{name}.jsonl")));
///     let mut w = StoreWriter::create(&npy, &idp, 2)?;
///     w.append(&rows, ids)?;
///     w.finish()?;
///     Ok(EmbeddingStore::open(&npy, &idp)?)
/// };
/// let jan = store("jan", array![[1.0f32, 0.0], [0.0, 1.0], [1.0, 0.0]],
///     &[key("192.0.2.1", "jan"), key("192.0.2.2", "jan"), key("192.0.2.3", "jan")])?;
/// let feb = store("feb", array![[1.0f32, 0.0], [1.0, 0.0], [0.0, 1.0]],
///     &[key("192.0.2.1", "feb"), key("192.0.2.2", "feb"), key("192.0.2.9", "feb")])?;
/// let c = snapshot_changes(&jan, &feb, 0.1)?;
/// assert_eq!((c.counts.both, c.counts.changed, c.counts.appeared, c.counts.vanished), (2, 1, 1, 1));
/// assert_eq!((c.appeared.as_slice(), c.vanished.as_slice()), (&[2][..], &[2][..]));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
///
/// # Errors
/// [`Error::Shape`] when the stores' widths differ; [`Error::Io`] on read errors.
pub fn snapshot_changes(
    before: &EmbeddingStore,
    after: &EmbeddingStore,
    threshold: f32,
) -> Result<SnapshotChanges> {
    if before.dim() != after.dim() && !before.is_empty() && !after.is_empty() {
        return Err(Error::Shape(format!(
            "the earlier store has {} dimensions, the later {}",
            before.dim(),
            after.dim()
        )));
    }
    let mut counts = ChangeCounts {
        before: before.len(),
        after: after.len(),
        ..ChangeCounts::default()
    };
    let mut first: HashMap<String, usize> = HashMap::with_capacity(before.len());
    let mut before_rows = Vec::with_capacity(before.len());
    for i in 0..before.len() {
        let host = host_of(before.id(i).unwrap_or_default());
        if let std::collections::hash_map::Entry::Vacant(e) = first.entry(host) {
            e.insert(i);
            before_rows.push(i);
        } else {
            counts.duplicates_before += 1;
        }
    }
    let a = if before.is_empty() {
        ndarray::Array2::zeros((0, after.dim()))
    } else {
        before.load()?
    };
    let b = if after.is_empty() {
        ndarray::Array2::zeros((0, before.dim()))
    } else {
        after.load()?
    };
    let mut seen_after = std::collections::HashSet::with_capacity(after.len());
    let mut matched = vec![false; before.len()];
    let (mut both, mut appeared) = (Vec::new(), Vec::new());
    for j in 0..after.len() {
        let host = host_of(after.id(j).unwrap_or_default());
        if seen_after.contains(&host) {
            counts.duplicates_after += 1;
            continue;
        }
        match first.get(&host) {
            Some(&i) => {
                matched[i] = true;
                let (ra, rb) = (a.row(i), b.row(j));
                let distance = match (ra.as_slice(), rb.as_slice()) {
                    (Some(x), Some(y)) => euclidean(x, y),
                    _ => euclidean(&ra.to_vec(), &rb.to_vec()),
                };
                both.push(HostChange {
                    host: host.clone(),
                    before: i,
                    after: j,
                    distance,
                    changed: distance > threshold,
                });
            }
            None => appeared.push(j),
        }
        seen_after.insert(host);
    }
    let vanished: Vec<usize> = before_rows.into_iter().filter(|&i| !matched[i]).collect();
    counts.both = both.len();
    counts.changed = both.iter().filter(|c| c.changed).count();
    counts.appeared = appeared.len();
    counts.vanished = vanished.len();
    Ok(SnapshotChanges {
        threshold,
        counts,
        both,
        appeared,
        vanished,
    })
}

/// One cluster's members before and after (see [`ClusterGrowth`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClusterCount {
    /// The cluster id (the label in the earlier snapshot's clustering).
    pub cluster: usize,
    /// Members in the earlier snapshot.
    pub before: usize,
    /// Members in the later snapshot.
    pub after: usize,
    /// `after - before`.
    pub change: i64,
}

impl ClusterCount {
    /// `after / before - 1` (infinite for a cluster that had no member before and has now).
    pub fn relative_change(&self) -> f64 {
        if self.before == 0 {
            if self.after == 0 { 0.0 } else { f64::INFINITY }
        } else {
            self.after as f64 / self.before as f64 - 1.0
        }
    }
}

/// How the clusters of one clustering (one epsilon) grew or shrank from the earlier snapshot
/// (its fitted labels) to the later one (labels predicted for the new points), and the drift:
/// the share of the later snapshot's records that fall outside every cluster.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ClusterGrowth {
    /// The clustering's epsilon.
    pub epsilon: f64,
    /// Every cluster with a member in either snapshot, by cluster id.
    pub clusters: Vec<ClusterCount>,
    /// Outliers (no cluster) of the earlier snapshot.
    pub outliers_before: usize,
    /// Outliers of the later snapshot.
    pub outliers_after: usize,
    /// Share of outliers in the earlier snapshot (0 when it is empty).
    pub outlier_share_before: f64,
    /// Share of the later snapshot's records that are outliers (0 when it is empty): the drift.
    pub drift_share: f64,
}

/// Counts the members of every cluster in `before` (one label per record of the earlier
/// snapshot, `None` for an outlier) and `after` (one per record of the later snapshot), for
/// the clustering of `epsilon`.
///
/// ```
/// use embed_index::cluster_growth;
/// let g = cluster_growth(0.05, &[Some(0), Some(0), Some(1), None], &[Some(0), Some(1), Some(1), None, None]);
/// assert_eq!(g.clusters.iter().map(|c| c.change).collect::<Vec<_>>(), [-1, 1]);
/// assert_eq!((g.outliers_before, g.outliers_after), (1, 2));
/// assert_eq!(g.drift_share, 0.4);
/// ```
pub fn cluster_growth(
    epsilon: f64,
    before: &[Option<usize>],
    after: &[Option<usize>],
) -> ClusterGrowth {
    let mut counts: std::collections::BTreeMap<usize, (usize, usize)> =
        std::collections::BTreeMap::new();
    for c in before.iter().flatten() {
        counts.entry(*c).or_default().0 += 1;
    }
    for c in after.iter().flatten() {
        counts.entry(*c).or_default().1 += 1;
    }
    let share = |n: usize, of: usize| if of == 0 { 0.0 } else { n as f64 / of as f64 };
    let outliers_before = before.iter().filter(|l| l.is_none()).count();
    let outliers_after = after.iter().filter(|l| l.is_none()).count();
    ClusterGrowth {
        epsilon,
        clusters: counts
            .into_iter()
            .map(|(cluster, (b, a))| ClusterCount {
                cluster,
                before: b,
                after: a,
                change: i64::try_from(a).unwrap_or(i64::MAX) - i64::try_from(b).unwrap_or(i64::MAX),
            })
            .collect(),
        outliers_before,
        outliers_after,
        outlier_share_before: share(outliers_before, before.len()),
        drift_share: share(outliers_after, after.len()),
    }
}

/// A random pair: the earlier row of one host against the later row of another.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct RandomPair {
    /// Row of the first host in the earlier snapshot.
    pub before: usize,
    /// Row of the other host in the later snapshot.
    pub after: usize,
    /// Euclidean distance of the two embeddings.
    pub distance: f32,
}

/// Random pairs of distinct indices of `0..n`: the one random-pair draw of bannerlm, the
/// paper's baseline for matching pairs (the pipeline's Figure 3 and evaluation table, the
/// evaluator of `contrastive-trainer`, [`random_host_pairs`]).
///
/// Pair `k` (of `count`) is `(k % n, j)` with `j != k % n` drawn uniformly from the other
/// `n - 1` indices by a SplitMix64 stream seeded with `seed`
/// ([`bannerlm_base::splitmix64`]): every index leads `count / n` or `count / n + 1` pairs,
/// no index is paired with itself, and the draw depends on `(n, count, seed)` only (not on
/// the `rand` version). Empty when `n < 2`.
///
/// ```
/// use embed_index::random_pairs;
///
/// let pairs = random_pairs(5, 10, 7);
/// assert_eq!(pairs.len(), 10);
/// assert!(pairs.iter().all(|&(i, j)| i != j && i < 5 && j < 5));
/// assert_eq!(pairs, random_pairs(5, 10, 7)); // deterministic for a seed
/// assert_eq!(random_pairs(2, 2, 0), [(0, 1), (1, 0)]); // only one choice
/// assert!(random_pairs(1, 10, 0).is_empty());
/// ```
pub fn random_pairs(n: usize, count: usize, seed: u64) -> Vec<(usize, usize)> {
    if n < 2 {
        return Vec::new();
    }
    let others = (n - 1) as u128;
    let mut state = seed;
    (0..count)
        .map(|k| {
            let i = k % n;
            let r = bannerlm_base::splitmix64(state);
            state = state.wrapping_add(bannerlm_base::GOLDEN_GAMMA);
            // Lemire's multiply-shift: uniform in 0..n-1 up to 2^-64.
            let mut j = ((u128::from(r) * others) >> 64) as usize;
            if j >= i {
                j += 1;
            }
            (i, j)
        })
        .collect()
}

/// Random pairs of hosts, the baseline for [`host_changes`]: the earlier row of each host of
/// `changes` against the later row of another host, one pair per host drawn by
/// [`random_pairs`] (no host is paired with itself). Empty when there are fewer than two
/// hosts.
///
/// ```
/// # use embed_index::{EmbeddingStore, StoreWriter, host_changes, random_host_pairs};
/// # use ndarray::array;
/// # let dir = tempfile::tempdir()?;
/// # let (npy, ids) = (dir.path().join("e.npy"), dir.path().join("ids.jsonl"));
/// # let mut w = StoreWriter::create(&npy, &ids, 2)?;
/// # let key = |ip: &str, snap: &str| serde_json::json!({"ip": ip, "snapshot": snap});
/// # w.append(&array![[1.0, 0.0], [0.0, 1.0], [1.0, 0.0], [0.0, 1.0]],
/// #     &[key("a", "jan"), key("b", "jan"), key("a", "feb"), key("b", "feb")])?;
/// # w.finish()?;
/// let store = EmbeddingStore::open(&npy, &ids)?;
/// let hosts = host_changes(&store, "jan", "feb", 0.1)?;
/// let pairs = random_host_pairs(&store, &hosts, 0)?;
/// assert_eq!(pairs.len(), 2);
/// assert!(pairs.iter().all(|p| p.distance > 1.4)); // a vs b: orthogonal
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
///
/// # Errors
/// [`Error::Io`] on read errors.
pub fn random_host_pairs(
    store: &EmbeddingStore,
    changes: &[HostChange],
    seed: u64,
) -> Result<Vec<RandomPair>> {
    let mut out = Vec::with_capacity(changes.len());
    for (i, j) in random_pairs(changes.len(), changes.len(), seed) {
        let (before, after) = (changes[i].before, changes[j].after);
        if let (Some(a), Some(b)) = (store.row(before)?, store.row(after)?) {
            out.push(RandomPair {
                before,
                after,
                distance: euclidean(&a, &b),
            });
        }
    }
    Ok(out)
}

/// The `n` largest changes, largest distance first (ties by host key).
///
/// ```
/// # use embed_index::{HostChange, top_changes};
/// let c = |host: &str, distance| HostChange { host: host.into(), before: 0, after: 1, distance, changed: distance > 0.1 };
/// let top = top_changes(&[c("a", 0.01), c("b", 0.9), c("c", 0.3)], 2);
/// assert_eq!(top.iter().map(|c| c.host.as_str()).collect::<Vec<_>>(), ["b", "c"]);
/// ```
pub fn top_changes(changes: &[HostChange], n: usize) -> Vec<HostChange> {
    let mut sorted: Vec<HostChange> = changes.to_vec();
    sorted.sort_by(|a, b| {
        b.distance
            .total_cmp(&a.distance)
            .then_with(|| a.host.cmp(&b.host))
    });
    sorted.truncate(n);
    sorted
}

/// Levenshtein distance of two banners (bytes) divided by the longer length: 0 for equal
/// banners, 1 for banners with nothing in common; 0 when both are empty. The comparison the
/// paper makes with embedding distance (its example: 3.6e-4 embedding vs 0.166 edit distance
/// for a banner that changed only in dynamic fields). Computed with `triple_accel` (SIMD).
///
/// ```
/// use embed_index::normalized_edit_distance;
/// assert_eq!(normalized_edit_distance(b"kitten", b"sitting"), 3.0 / 7.0);
/// assert_eq!(normalized_edit_distance(b"", b""), 0.0);
/// ```
pub fn normalized_edit_distance(a: &[u8], b: &[u8]) -> f64 {
    let longest = a.len().max(b.len());
    if longest == 0 {
        return 0.0;
    }
    f64::from(triple_accel::levenshtein::levenshtein_exp(a, b)) / longest as f64
}

/// Precision and recall of a change detector against ground truth.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct PrecisionRecall {
    /// Scores above this are predicted "changed".
    pub threshold: f64,
    /// Changed and predicted changed.
    pub true_positives: u64,
    /// Unchanged but predicted changed.
    pub false_positives: u64,
    /// Changed but not predicted.
    pub false_negatives: u64,
    /// Unchanged and not predicted.
    pub true_negatives: u64,
    /// `tp / (tp + fp)` (`NaN` when nothing is predicted changed).
    pub precision: f64,
    /// `tp / (tp + fn)` (`NaN` when nothing changed).
    pub recall: f64,
    /// Harmonic mean of precision and recall (0 when either is 0 or undefined).
    pub f1: f64,
}

/// Scores a detector that predicts "changed" when `score > threshold` (non-finite scores
/// count as not changed); `truth[i]` tells whether item `i` really changed. Extra items of
/// the longer slice are ignored.
///
/// ```
/// use embed_index::precision_recall;
/// let pr = precision_recall(&[0.9, 0.5, 0.01, 0.2], &[true, false, false, true], 0.3);
/// assert_eq!((pr.true_positives, pr.false_positives, pr.false_negatives), (1, 1, 1));
/// assert_eq!((pr.precision, pr.recall), (0.5, 0.5));
/// ```
pub fn precision_recall(scores: &[f64], truth: &[bool], threshold: f64) -> PrecisionRecall {
    let (mut tp, mut fp, mut fn_, mut tn) = (0u64, 0u64, 0u64, 0u64);
    for (&s, &t) in scores.iter().zip(truth) {
        match (s > threshold, t) {
            (true, true) => tp += 1,
            (true, false) => fp += 1,
            (false, true) => fn_ += 1,
            (false, false) => tn += 1,
        }
    }
    let ratio = |a: u64, b: u64| {
        if b == 0 {
            f64::NAN
        } else {
            a as f64 / b as f64
        }
    };
    let precision = ratio(tp, tp + fp);
    let recall = ratio(tp, tp + fn_);
    let f1 = if precision > 0.0 && recall > 0.0 {
        2.0 * precision * recall / (precision + recall)
    } else {
        0.0
    };
    PrecisionRecall {
        threshold,
        true_positives: tp,
        false_positives: fp,
        false_negatives: fn_,
        true_negatives: tn,
        precision,
        recall,
        f1,
    }
}

/// The threshold with the highest F1 (ties: the lowest threshold), trying a cut below every
/// distinct finite score: the best a detector can do on this data, for comparing two scores
/// (embedding distance and edit distance) on equal terms. `O(n log n)`.
///
/// ```
/// use embed_index::best_threshold;
/// let best = best_threshold(&[0.01, 0.02, 0.5, 0.7], &[false, false, true, true]);
/// assert_eq!(best.f1, 1.0);
/// assert!(best.threshold >= 0.02 && best.threshold < 0.5);
/// ```
pub fn best_threshold(scores: &[f64], truth: &[bool]) -> PrecisionRecall {
    let mut items: Vec<(f64, bool)> = scores
        .iter()
        .zip(truth)
        .filter(|(s, _)| s.is_finite())
        .map(|(&s, &t)| (s, t))
        .collect();
    items.sort_by(|a, b| a.0.total_cmp(&b.0));
    let positives = truth.iter().zip(scores).filter(|(t, _)| **t).count() as u64;
    // Threshold below everything: all finite scores predicted changed.
    let mut best_t = items.first().map_or(0.0, |x| x.0 - 1.0);
    let mut best_f1 = -1.0;
    let mut tp = items.iter().filter(|x| x.1).count() as u64;
    let mut fp = items.len() as u64 - tp;
    let mut i = 0;
    loop {
        let f1 = if tp == 0 {
            0.0
        } else {
            2.0 * tp as f64 / (2 * tp + fp + (positives - tp)) as f64
        };
        let t = if i == 0 { best_t } else { items[i - 1].0 };
        if f1 > best_f1 {
            best_f1 = f1;
            best_t = t;
        }
        if i == items.len() {
            break;
        }
        // Move the cut above all items with the score of items[i].
        let v = items[i].0;
        while i < items.len() && items[i].0.total_cmp(&v).is_eq() {
            if items[i].1 {
                tp -= 1;
            } else {
                fp -= 1;
            }
            i += 1;
        }
    }
    precision_recall(scores, truth, best_t)
}

#[cfg(test)]
// The distances compared are exact by construction.
#[allow(clippy::float_cmp)]
mod tests {
    use super::*;

    #[test]
    fn best_threshold_matches_brute_force() {
        let scores = [0.3, 0.1, 0.1, 0.7, 0.5, f64::NAN, 0.2, 0.9];
        let truth = [true, false, true, true, false, true, false, true];
        let best = best_threshold(&scores, &truth);
        let brute = scores
            .iter()
            .filter(|s| s.is_finite())
            .chain(&[-1.0])
            .map(|&t| precision_recall(&scores, &truth, t).f1)
            .fold(0.0f64, f64::max);
        assert!((best.f1 - brute).abs() < 1e-12, "{} vs {brute}", best.f1);
    }

    #[test]
    fn ids_split_off_their_snapshot() {
        let (snap, host) =
            split_id(r#"{"ip":"192.0.2.1","port":80,"snapshot":"2023-01","protocol":"http"}"#)
                .expect("object");
        assert_eq!(snap, "2023-01");
        assert_eq!(host, r#"{"ip":"192.0.2.1","port":80,"protocol":"http"}"#);
        assert_eq!(split_id("\"plain\""), None);
        assert_eq!(split_id(r#"{"ip":"x"}"#), None);
    }

    /// Known answer: the SplitMix64 stream of seed 0 is `0xe220_a839_7b1d_cdaf`,
    /// `0x6e78_9e6a_a1b9_65f4`, `0x06c4_5d18_8009_454f`, `0xf88b_b8a8_724c_81ec`; with two
    /// other indices to choose from, `j` is the top bit of each (1, 0, 0, 1), shifted past
    /// `i` when not below it.
    #[test]
    fn random_pairs_known_answer() {
        assert_eq!(random_pairs(3, 4, 0), [(0, 2), (1, 0), (2, 0), (0, 2)]);
        assert!(random_pairs(0, 3, 1).is_empty());
        assert_eq!(random_pairs(4, 0, 1), []);
    }

    proptest::proptest! {
        #[test]
        fn random_pairs_are_distinct_balanced_and_seeded(
            n in 0usize..50, count in 0usize..200, seed in proptest::prelude::any::<u64>()
        ) {
            let pairs = random_pairs(n, count, seed);
            proptest::prop_assert_eq!(&pairs, &random_pairs(n, count, seed));
            if n < 2 {
                proptest::prop_assert!(pairs.is_empty());
            } else {
                proptest::prop_assert_eq!(pairs.len(), count);
                for (k, &(i, j)) in pairs.iter().enumerate() {
                    proptest::prop_assert_eq!(i, k % n);
                    proptest::prop_assert!(j < n && j != i);
                }
            }
        }
    }

    fn store(
        dir: &std::path::Path,
        name: &str,
        rows: &ndarray::Array2<f32>,
        ids: &[serde_json::Value],
    ) -> EmbeddingStore {
        let (npy, idp) = (
            dir.join(format!("{name}.npy")),
            dir.join(format!("{name}.jsonl")),
        );
        let mut w = crate::StoreWriter::create(&npy, &idp, rows.ncols()).expect("create");
        w.append(rows, ids).expect("append");
        w.finish().expect("finish");
        EmbeddingStore::open(&npy, &idp).expect("open")
    }

    /// Known answer: hosts a (unchanged), b (moved by 0.6), c (moved by 0.05, under the
    /// threshold), d (vanished), e (appeared), a duplicate row of a in the new snapshot.
    #[test]
    fn snapshot_changes_known_answer() {
        let dir = tempfile::tempdir().expect("tempdir");
        let key = |ip: &str, snap: &str| serde_json::json!({"ip": ip, "port": 80, "snapshot": snap, "protocol": "http"});
        let a = store(
            dir.path(),
            "a",
            &ndarray::array![[1.0, 0.0], [0.0, 1.0], [0.0, 0.0], [0.5, 0.5]],
            &[
                key("a", "jan"),
                key("b", "jan"),
                key("c", "jan"),
                key("d", "jan"),
            ],
        );
        let b = store(
            dir.path(),
            "b",
            &ndarray::array![[0.0, 0.0], [0.0, 0.4], [1.0, 0.0], [0.05, 0.0], [9.0, 9.0]],
            &[
                key("e", "feb"),
                key("b", "feb"),
                key("a", "feb"),
                key("c", "feb"),
                key("a", "feb"),
            ],
        );
        let c = snapshot_changes(&a, &b, CHANGE_THRESHOLD).expect("changes");
        assert_eq!(
            c.counts,
            ChangeCounts {
                before: 4,
                after: 5,
                both: 3,
                changed: 1,
                appeared: 1,
                vanished: 1,
                duplicates_before: 0,
                duplicates_after: 1,
            }
        );
        let got: Vec<(&str, usize, usize, bool)> = c
            .both
            .iter()
            .map(|h| (h.host.as_str(), h.before, h.after, h.changed))
            .collect();
        let host =
            |ip: &str| serde_json::json!({"ip": ip, "port": 80, "protocol": "http"}).to_string();
        let (hb, ha, hc) = (host("b"), host("a"), host("c"));
        assert_eq!(
            got,
            [
                (hb.as_str(), 1, 1, true),
                (ha.as_str(), 0, 2, false),
                (hc.as_str(), 2, 3, false)
            ]
        );
        let d = c.distances();
        assert!((d[0] - 0.6).abs() < 1e-6 && d[1] == 0.0 && (d[2] - 0.05).abs() < 1e-6);
        assert_eq!((&c.appeared[..], &c.vanished[..]), (&[0][..], &[3][..]));
        assert!((c.changed_share() - 1.0 / 3.0).abs() < 1e-12);
        // Plain (non-JSON) ids are compared whole; different widths are an error.
        let p = store(
            dir.path(),
            "p",
            &ndarray::array![[1.0, 0.0, 0.0]],
            &["x".into()],
        );
        assert!(matches!(
            snapshot_changes(&a, &p, 0.1),
            Err(Error::Shape(_))
        ));
        let q = store(
            dir.path(),
            "q",
            &ndarray::array![[1.0, 0.0, 0.0]],
            &["x".into()],
        );
        let pq = snapshot_changes(&p, &q, 0.1).expect("plain ids");
        assert_eq!((pq.counts.both, pq.counts.changed), (1, 0));
    }

    #[test]
    fn cluster_growth_known_answer() {
        let g = cluster_growth(
            0.1,
            &[Some(2), Some(0), Some(0), None, Some(0)],
            &[Some(0), Some(3), None, None, Some(3), Some(2), Some(2)],
        );
        let rows: Vec<(usize, usize, usize, i64)> = g
            .clusters
            .iter()
            .map(|c| (c.cluster, c.before, c.after, c.change))
            .collect();
        assert_eq!(rows, [(0, 3, 1, -2), (2, 1, 2, 1), (3, 0, 2, 2)]);
        assert_eq!((g.outliers_before, g.outliers_after), (1, 2));
        assert_eq!(g.outlier_share_before, 0.2);
        assert_eq!(g.drift_share, 2.0 / 7.0);
        assert_eq!(g.clusters[2].relative_change(), f64::INFINITY);
        assert_eq!(g.clusters[1].relative_change(), 1.0);
        let empty = cluster_growth(0.0, &[], &[]);
        assert!(empty.clusters.is_empty() && empty.drift_share == 0.0);
    }

    #[test]
    fn edit_distance_is_normalised() {
        assert_eq!(normalized_edit_distance(b"abc", b"abc"), 0.0);
        assert_eq!(normalized_edit_distance(b"abc", b"xyz"), 1.0);
        assert_eq!(normalized_edit_distance(b"", b"ab"), 1.0);
        let long_a = vec![b'a'; 5000];
        let mut long_b = long_a.clone();
        long_b[100] = b'b';
        assert!((normalized_edit_distance(&long_a, &long_b) - 1.0 / 5000.0).abs() < 1e-12);
    }
}
