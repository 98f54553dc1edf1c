//! Change detection: the embedding distance of each host seen in two snapshots, compared with
//! the normalised edit distance of its banners.

use std::collections::HashMap;

use serde::Serialize;

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
