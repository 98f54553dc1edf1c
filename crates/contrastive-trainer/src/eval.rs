//! Evaluation: the paper's table (token accuracy, precision and recall of both labels, shares
//! of pair distances below/above 0.1) and the same against ground truth on simulated data.

use burn::module::Module;
use burn::tensor::{Bool, Device, Int, Tensor, TensorData};
use roberta_model::{RobertaForStability, RobertaModel, pool_weighted};
use serde::{Deserialize, Serialize};

use banner_parse::Label;

use std::collections::BTreeMap;

use crate::data::{PairCorpus, TrainingPair};
use crate::error::{Error, Result};
use crate::mask::pad;

/// Confusion counts of stable/dynamic token predictions (positive = stable).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Confusion {
    /// Stable tokens predicted stable.
    pub stable_stable: u64,
    /// Stable tokens predicted dynamic.
    pub stable_dynamic: u64,
    /// Dynamic tokens predicted stable.
    pub dynamic_stable: u64,
    /// Dynamic tokens predicted dynamic.
    pub dynamic_dynamic: u64,
}

impl Confusion {
    /// Adds one token (`target` [`Label::Stable`] or [`Label::Dynamic`]; unlabelled tokens
    /// are not counted).
    ///
    /// ```
    /// use banner_parse::Label;
    /// use contrastive_trainer::Confusion;
    /// let mut c = Confusion::default();
    /// c.add(Label::Stable, true);
    /// c.add(Label::Dynamic, true);
    /// c.add(Label::Unlabelled, false);
    /// assert_eq!((c.stable_stable, c.dynamic_stable, c.total()), (1, 1, 2));
    /// ```
    pub fn add(&mut self, target: Label, predicted_stable: bool) {
        match (target, predicted_stable) {
            (Label::Stable, true) => self.stable_stable += 1,
            (Label::Stable, false) => self.stable_dynamic += 1,
            (Label::Dynamic, true) => self.dynamic_stable += 1,
            (Label::Dynamic, false) => self.dynamic_dynamic += 1,
            _ => {}
        }
    }

    /// Tokens counted.
    pub fn total(&self) -> u64 {
        self.stable_stable + self.stable_dynamic + self.dynamic_stable + self.dynamic_dynamic
    }

    /// The metrics.
    ///
    /// ```
    /// use contrastive_trainer::Confusion;
    /// let c = Confusion { stable_stable: 90, stable_dynamic: 10, dynamic_stable: 0, dynamic_dynamic: 100 };
    /// let m = c.metrics();
    /// assert_eq!(m.accuracy, 0.95);
    /// assert_eq!((m.stable_precision, m.stable_recall), (1.0, 0.9));
    /// ```
    pub fn metrics(&self) -> TokenMetrics {
        let ratio = |a: u64, b: u64| {
            if b == 0 {
                f64::NAN
            } else {
                a as f64 / b as f64
            }
        };
        TokenMetrics {
            tokens: self.total(),
            accuracy: ratio(self.stable_stable + self.dynamic_dynamic, self.total()),
            stable_precision: ratio(self.stable_stable, self.stable_stable + self.dynamic_stable),
            stable_recall: ratio(self.stable_stable, self.stable_stable + self.stable_dynamic),
            dynamic_precision: ratio(
                self.dynamic_dynamic,
                self.dynamic_dynamic + self.stable_dynamic,
            ),
            dynamic_recall: ratio(
                self.dynamic_dynamic,
                self.dynamic_dynamic + self.dynamic_stable,
            ),
        }
    }
}

/// Token-level metrics (positive label = stable, negative = dynamic). `NaN` where undefined.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct TokenMetrics {
    /// Labelled tokens scored.
    pub tokens: u64,
    /// Share of tokens whose predicted label is right.
    #[serde(deserialize_with = "nan_if_null::f64")]
    pub accuracy: f64,
    /// Precision of "stable".
    #[serde(deserialize_with = "nan_if_null::f64")]
    pub stable_precision: f64,
    /// Recall of "stable".
    #[serde(deserialize_with = "nan_if_null::f64")]
    pub stable_recall: f64,
    /// Precision of "dynamic".
    #[serde(deserialize_with = "nan_if_null::f64")]
    pub dynamic_precision: f64,
    /// Recall of "dynamic".
    #[serde(deserialize_with = "nan_if_null::f64")]
    pub dynamic_recall: f64,
}

/// A share of pairs meeting a distance condition.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Share {
    /// Pairs considered.
    pub pairs: u64,
    /// Share meeting the condition (`NaN` when `pairs == 0`).
    #[serde(deserialize_with = "nan_if_null::f64")]
    pub share: f64,
}

impl Share {
    fn of(hits: u64, pairs: u64) -> Self {
        Self {
            pairs,
            share: if pairs == 0 {
                f64::NAN
            } else {
                hits as f64 / pairs as f64
            },
        }
    }
}

/// Distances between embeddings of matching and random pairs.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct DistanceReport {
    /// The threshold (the paper: 0.1).
    #[serde(deserialize_with = "nan_if_null::f32")]
    pub threshold: f32,
    /// Matching pairs (same ip/port, kept by the matched-token filter) closer than the threshold:
    /// the paper's definition.
    pub matching_below: Share,
    /// Matching pairs whose service truly did not change (simulated data) closer than the
    /// threshold.
    pub unchanged_below: Share,
    /// Random pairs (earlier banner of one pair, later banner of another) farther than the
    /// threshold: the paper's overall figure.
    pub random_above: Share,
    /// Random pairs of two different products farther than the threshold (simulated data).
    pub random_different_product_above: Share,
    /// Random pairs of the same product farther than the threshold (simulated data; such pairs
    /// are legitimately close).
    pub random_same_product_above: Share,
    /// Median distance of matching pairs.
    #[serde(deserialize_with = "nan_if_null::f32")]
    pub matching_median: f32,
    /// Median distance of random pairs.
    #[serde(deserialize_with = "nan_if_null::f32")]
    pub random_median: f32,
}

/// Random pairs drawn per corpus pair by [`Evaluator::random_pairs`] (several, so that
/// pairs of different products are plentiful in Figure 3).
pub const RANDOM_PAIRS_PER_PAIR: usize = 4;

/// Pair distances for the paper's Figure 3 ([`Evaluator::pair_distances`]).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct PairDistances {
    /// Same service, consecutive snapshots: one per corpus pair.
    pub matching: Vec<f32>,
    /// The evaluator's random pairs (of different products only, when the corpus has them).
    pub random: Vec<f32>,
    /// Whether `random` holds different-product pairs only.
    pub different_products: bool,
}

/// Undefined shares and medians (no pair of a kind) are NaN; JSON has no NaN, so serde_json
/// writes them as `null`, and these read `null` back as NaN: an [`Evaluation`] round-trips.
mod nan_if_null {
    use serde::{Deserialize, Deserializer};

    pub(super) fn f64<'de, D: Deserializer<'de>>(d: D) -> Result<f64, D::Error> {
        Ok(Option::<f64>::deserialize(d)?.unwrap_or(f64::NAN))
    }

    pub(super) fn f32<'de, D: Deserializer<'de>>(d: D) -> Result<f32, D::Error> {
        Ok(Option::<f32>::deserialize(d)?.unwrap_or(f32::NAN))
    }
}

/// Everything [`Evaluator::evaluate`] measures, over all pairs and per group (protocol, gap).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Evaluation {
    /// Pairs evaluated.
    pub pairs: u64,
    /// Token predictions against the paper's two-snapshot labels.
    pub tokens_vs_labels: TokenMetrics,
    /// Token predictions against ground-truth dynamic spans (simulated data).
    pub tokens_vs_truth: Option<TokenMetrics>,
    /// The paper's labels themselves against ground truth (the teacher's ceiling).
    pub labels_vs_truth: Option<TokenMetrics>,
    /// Pair distances (random pairs drawn among all pairs, so most of them cross protocols
    /// when the corpus holds several; the per-protocol figures draw within one protocol).
    pub distances: DistanceReport,
    /// The same figures per protocol ([`TrainingPair::protocol`]); random pairs are drawn
    /// within the protocol.
    #[serde(default)]
    pub by_protocol: BTreeMap<String, GroupEvaluation>,
    /// The same figures per gap between two snapshots ([`TrainingPair::gap`]); random pairs
    /// are drawn within the gap.
    #[serde(default)]
    pub by_gap: BTreeMap<String, GroupEvaluation>,
}

/// The evaluation figures of one group of pairs (one protocol or one gap): the fields of
/// [`Evaluation`] without the groups.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct GroupEvaluation {
    /// Pairs evaluated.
    pub pairs: u64,
    /// Token predictions against the paper's two-snapshot labels.
    pub tokens_vs_labels: TokenMetrics,
    /// Token predictions against ground-truth dynamic spans (simulated data).
    pub tokens_vs_truth: Option<TokenMetrics>,
    /// The paper's labels themselves against ground truth (the target the model's
    /// `tokens_vs_truth` is compared with).
    pub labels_vs_truth: Option<TokenMetrics>,
    /// Pair distances, random pairs drawn within the group.
    pub distances: DistanceReport,
}

impl Evaluation {
    /// Reads an evaluation written as JSON (as the pipeline's `evaluate/evaluation.json`);
    /// undefined shares (`null`) read back as NaN.
    ///
    /// # Errors
    /// [`Error::Io`] if the file cannot be read, [`Error::Json`] if it is not an evaluation.
    pub fn read(path: impl AsRef<std::path::Path>) -> Result<Self> {
        let path = path.as_ref();
        let text = std::fs::read_to_string(path).map_err(|e| Error::io(path, e))?;
        serde_json::from_str(&text).map_err(|source| Error::Json {
            path: path.to_path_buf(),
            source,
        })
    }
}

/// Runs a model over held-out data.
///
/// ```
/// use contrastive_trainer::Evaluator;
/// let e = Evaluator::default();
/// assert_eq!((e.batch_size, e.threshold), (64, 0.1));
/// ```
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Evaluator {
    /// Sequences per forward pass. Default 64.
    pub batch_size: usize,
    /// Distance threshold. Default 0.1 (the paper).
    pub threshold: f32,
    /// Seed of the random-pair draw. Default 0.
    pub seed: u64,
}

impl Default for Evaluator {
    fn default() -> Self {
        Self {
            batch_size: 64,
            threshold: 0.1,
            seed: 0,
        }
    }
}

/// Per-sequence outputs of a forward pass.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Predictions {
    /// P(stable) per token, per sequence (unpadded).
    pub stable_prob: Vec<Vec<f32>>,
    /// The unit-norm embedding per sequence.
    pub embeddings: Vec<Vec<f32>>,
}

impl Evaluator {
    /// P(stable) per token and the stability-weighted embedding of each sequence.
    ///
    /// # Errors
    /// [`Error::Model`] ([`roberta_model::Error::TokenOutOfVocab`]) when an id is outside the
    /// model's vocabulary (checked before any forward pass); [`Error::Tensor`] when results
    /// cannot be read back.
    pub fn predict<S: AsRef<[u32]>>(
        &self,
        model: &RobertaForStability,
        seqs: &[S],
        device: &Device,
    ) -> Result<Predictions> {
        let model = model.valid();
        let pad_id = model.roberta.embeddings.padding_idx as u32;
        check_ids(seqs, model.roberta.vocab_size())?;
        self.forward_batches(seqs, pad_id, device, |ids, mask| {
            let (states, probs) = model.forward(ids, mask.clone());
            let emb = pool_weighted(states, probs.clone(), mask);
            (Some(probs), emb)
        })
    }

    /// Mean-pooled embeddings from an encoder alone (the MLM-only baseline of the paper's
    /// table).
    ///
    /// # Errors
    /// As [`predict`](Self::predict).
    pub fn embed_mean<S: AsRef<[u32]>>(
        &self,
        encoder: &RobertaModel,
        seqs: &[S],
        device: &Device,
    ) -> Result<Vec<Vec<f32>>> {
        let encoder = encoder.valid();
        let pad_id = encoder.embeddings.padding_idx as u32;
        check_ids(seqs, encoder.vocab_size())?;
        Ok(self
            .forward_batches(seqs, pad_id, device, |ids, mask| {
                let states = encoder.forward(ids, mask.clone());
                let [b, s, _] = states.dims();
                let ones = Tensor::<2>::ones([b, s], &states.device());
                (None, pool_weighted(states, ones, mask))
            })?
            .embeddings)
    }

    fn forward_batches<S: AsRef<[u32]>>(
        &self,
        seqs: &[S],
        pad_id: u32,
        device: &Device,
        mut f: impl FnMut(Tensor<2, Int>, Tensor<2, Bool>) -> (Option<Tensor<2>>, Tensor<2>),
    ) -> Result<Predictions> {
        // Length-sorted batches pad little; results go back to input order.
        let mut order: Vec<usize> = (0..seqs.len()).collect();
        order.sort_by_key(|&i| seqs[i].as_ref().len());
        let mut out = Predictions {
            stable_prob: vec![Vec::new(); seqs.len()],
            embeddings: vec![Vec::new(); seqs.len()],
        };
        for chunk in order.chunks(self.batch_size.max(1)) {
            let batch: Vec<&[u32]> = chunk.iter().map(|&i| seqs[i].as_ref()).collect();
            let (ids, shape) = pad(&batch, pad_id);
            let ids = Tensor::<2, Int>::from_data(TensorData::new(ids, shape), device);
            let mask = ids.clone().equal_elem(i64::from(pad_id));
            let (probs, emb) = f(ids, mask);
            let dim = emb.dims()[1];
            let emb = emb.into_data().try_to_vec::<f32>()?;
            let probs = match probs {
                Some(p) => Some(p.into_data().try_to_vec::<f32>()?),
                None => None,
            };
            for (row, &i) in chunk.iter().enumerate() {
                out.embeddings[i] = emb[row * dim..(row + 1) * dim].to_vec();
                if let Some(p) = &probs {
                    let len = batch[row].len();
                    out.stable_prob[i] = p[row * shape[1]..row * shape[1] + len].to_vec();
                }
            }
        }
        Ok(out)
    }

    /// The paper's evaluation table on held-out pairs, plus ground-truth figures when the
    /// corpus carries truth.
    ///
    /// # Errors
    /// [`Error::NoData`] for an empty corpus; [`Error::Tensor`].
    pub fn evaluate(
        &self,
        model: &RobertaForStability,
        corpus: &PairCorpus,
        device: &Device,
    ) -> Result<Evaluation> {
        let seqs = pair_sequences(corpus)?;
        let pred = self.predict(model, &seqs, device)?;
        Ok(self.evaluate_predictions(corpus, &pred))
    }

    /// The evaluation table from predictions already made for `corpus` (sequences laid out
    /// as `[a_0, b_0, a_1, b_1, ...]`, as [`evaluate`](Self::evaluate) passes them to
    /// [`predict`](Self::predict)), so that one forward pass can serve other uses too.
    ///
    /// The figures are computed over all pairs, then per protocol and per gap
    /// ([`Evaluation::by_protocol`], [`Evaluation::by_gap`]).
    pub fn evaluate_predictions(&self, corpus: &PairCorpus, pred: &Predictions) -> Evaluation {
        let pairs = corpus.pairs();
        let all: Vec<usize> = (0..pairs.len()).collect();
        let overall = self.evaluate_group(pairs, pred, &all);
        let mut protocols: BTreeMap<&str, Vec<usize>> = BTreeMap::new();
        let mut gaps: BTreeMap<&str, Vec<usize>> = BTreeMap::new();
        for (i, p) in pairs.iter().enumerate() {
            protocols.entry(p.protocol.as_str()).or_default().push(i);
            gaps.entry(p.gap.as_str()).or_default().push(i);
        }
        let groups = |m: BTreeMap<&str, Vec<usize>>| -> BTreeMap<String, GroupEvaluation> {
            m.into_iter()
                .map(|(k, idx)| (k.to_owned(), self.evaluate_group(pairs, pred, &idx)))
                .collect()
        };
        Evaluation {
            pairs: overall.pairs,
            tokens_vs_labels: overall.tokens_vs_labels,
            tokens_vs_truth: overall.tokens_vs_truth,
            labels_vs_truth: overall.labels_vs_truth,
            distances: overall.distances,
            by_protocol: groups(protocols),
            by_gap: groups(gaps),
        }
    }

    /// The figures of the pairs `idx` of `pairs` (predictions laid out as in
    /// [`evaluate_predictions`](Self::evaluate_predictions)).
    fn evaluate_group(
        &self,
        pairs: &[TrainingPair],
        pred: &Predictions,
        idx: &[usize],
    ) -> GroupEvaluation {
        let mut vs_labels = Confusion::default();
        let mut vs_truth = Confusion::default();
        let mut labels_truth = Confusion::default();
        let mut has_truth = false;
        let mut group = Vec::with_capacity(idx.len());
        let mut embeddings: Vec<&[f32]> = Vec::with_capacity(2 * idx.len());
        for &i in idx {
            let Some(p) = pairs.get(i) else { continue };
            group.push(p);
            for side in [2 * i, 2 * i + 1] {
                embeddings.push(pred.embeddings.get(side).map_or(&[][..], Vec::as_slice));
            }
            for (side, seq) in [(2 * i, &p.a), (2 * i + 1, &p.b)] {
                let Some(probs) = pred.stable_prob.get(side) else {
                    continue;
                };
                for (k, (&t, &prob)) in seq.targets.iter().zip(probs).enumerate() {
                    if t == Label::Unlabelled {
                        continue;
                    }
                    let stable = prob >= 0.5;
                    vs_labels.add(t, stable);
                    if let Some(truth) = &seq.truth
                        && let Some(&tt) = truth.get(k)
                    {
                        has_truth = true;
                        vs_truth.add(tt, stable);
                        labels_truth.add(tt, t == Label::Stable);
                    }
                }
            }
        }
        let distances = self.distances_of(&group, &embeddings);
        GroupEvaluation {
            pairs: group.len() as u64,
            tokens_vs_labels: vs_labels.metrics(),
            tokens_vs_truth: has_truth.then(|| vs_truth.metrics()),
            labels_vs_truth: has_truth.then(|| labels_truth.metrics()),
            distances,
        }
    }

    /// The random pairs of `n` corpus pairs: `(i, j)` stands for side `a` of pair `i` against
    /// side `b` of pair `j != i`, [`RANDOM_PAIRS_PER_PAIR`] per pair, drawn by
    /// [`embed_index::random_pairs`] with this evaluator's seed. [`distances`](Self::distances)
    /// and [`pair_distances`](Self::pair_distances) use these same pairs.
    ///
    /// ```
    /// use contrastive_trainer::{Evaluator, RANDOM_PAIRS_PER_PAIR};
    /// let pairs = Evaluator::default().random_pairs(10);
    /// assert_eq!(pairs.len(), 10 * RANDOM_PAIRS_PER_PAIR);
    /// assert!(pairs.iter().all(|&(i, j)| i != j));
    /// ```
    pub fn random_pairs(&self, n: usize) -> Vec<(usize, usize)> {
        embed_index::random_pairs(n, n * RANDOM_PAIRS_PER_PAIR, self.seed)
    }

    /// The distances behind Figure 3, for embeddings laid out as `[a_0, b_0, a_1, b_1, ...]`:
    /// every matching pair, and the [`random_pairs`](Self::random_pairs) (those of
    /// different products only when the corpus has products).
    pub fn pair_distances(&self, corpus: &PairCorpus, embeddings: &[&[f32]]) -> PairDistances {
        let products: Vec<(Option<&str>, Option<&str>)> = corpus
            .pairs()
            .iter()
            .map(|p| (p.meta.product_a.as_deref(), p.meta.product_b.as_deref()))
            .collect();
        self.pair_distances_of(&products, embeddings)
    }

    /// [`pair_distances`](Self::pair_distances) of pairs given by their products `(a, b)`.
    fn pair_distances_of(
        &self,
        products: &[(Option<&str>, Option<&str>)],
        embeddings: &[&[f32]],
    ) -> PairDistances {
        let n = products.len().min(embeddings.len() / 2);
        let different_products = products.iter().any(|p| p.0.is_some());
        let matching = (0..n)
            .map(|i| embed_index::euclidean(embeddings[2 * i], embeddings[2 * i + 1]))
            .collect();
        let random = self
            .random_pairs(n)
            .into_iter()
            .filter(|&(i, j)| !different_products || products[i].0 != products[j].1)
            .map(|(i, j)| embed_index::euclidean(embeddings[2 * i], embeddings[2 * j + 1]))
            .collect();
        PairDistances {
            matching,
            random,
            different_products,
        }
    }

    /// Distance figures for embeddings laid out as `[a_0, b_0, a_1, b_1, ...]` (one per side of
    /// each pair of `corpus`); the random pairs are [`random_pairs`](Self::random_pairs).
    pub fn distances(&self, corpus: &PairCorpus, embeddings: &[&[f32]]) -> DistanceReport {
        let pairs: Vec<&TrainingPair> = corpus.pairs().iter().collect();
        self.distances_of(&pairs, embeddings)
    }

    /// [`distances`](Self::distances) of the pairs `pairs`, embeddings laid out as
    /// `[a_0, b_0, a_1, b_1, ...]` for these pairs.
    fn distances_of(&self, pairs: &[&TrainingPair], embeddings: &[&[f32]]) -> DistanceReport {
        let n = pairs.len().min(embeddings.len() / 2);
        let dist = embed_index::euclidean;
        let thr = self.threshold;
        let (mut m_hits, mut u_hits, mut u_n) = (0u64, 0u64, 0u64);
        let mut matching = Vec::with_capacity(n);
        for (i, p) in pairs.iter().enumerate().take(n) {
            let d = dist(embeddings[2 * i], embeddings[2 * i + 1]);
            matching.push(d);
            m_hits += u64::from(d < thr);
            if p.meta.unchanged == Some(true) {
                u_n += 1;
                u_hits += u64::from(d < thr);
            }
        }
        let (mut r_hits, mut r_n, mut d_hits, mut d_n, mut s_hits, mut s_n) = (0, 0, 0, 0, 0, 0);
        let random_pairs = self.random_pairs(n);
        let mut random = Vec::with_capacity(random_pairs.len());
        for (i, j) in random_pairs {
            let d = dist(embeddings[2 * i], embeddings[2 * j + 1]);
            random.push(d);
            let above = u64::from(d > thr);
            r_n += 1;
            r_hits += above;
            match (&pairs[i].meta.product_a, &pairs[j].meta.product_b) {
                (Some(x), Some(y)) if x == y => {
                    s_n += 1;
                    s_hits += above;
                }
                (Some(_), Some(_)) => {
                    d_n += 1;
                    d_hits += above;
                }
                _ => {}
            }
        }
        DistanceReport {
            threshold: thr,
            matching_below: Share::of(m_hits, n as u64),
            unchanged_below: Share::of(u_hits, u_n),
            random_above: Share::of(r_hits, r_n),
            random_different_product_above: Share::of(d_hits, d_n),
            random_same_product_above: Share::of(s_hits, s_n),
            matching_median: median(&mut matching),
            random_median: median(&mut random),
        }
    }

    /// Distance figures of the mean-pooled encoder (the MLM-only model of the paper's table).
    ///
    /// # Errors
    /// [`Error::NoData`] for an empty corpus; [`Error::Tensor`].
    pub fn evaluate_mean_pooled(
        &self,
        encoder: &RobertaModel,
        corpus: &PairCorpus,
        device: &Device,
    ) -> Result<DistanceReport> {
        let seqs = pair_sequences(corpus)?;
        let emb = self.embed_mean(encoder, &seqs, device)?;
        let refs: Vec<&[f32]> = emb.iter().map(Vec::as_slice).collect();
        Ok(self.distances(corpus, &refs))
    }
}

/// Every id of every sequence inside the model's vocabulary (the shared check of
/// [`roberta_model::check_token_ids`]).
pub(crate) fn check_ids<S: AsRef<[u32]>>(seqs: &[S], vocab_size: usize) -> Result<()> {
    for s in seqs {
        roberta_model::check_token_ids(s.as_ref(), vocab_size)?;
    }
    Ok(())
}

/// `[a_0, b_0, a_1, b_1, ...]` of a non-empty corpus.
fn pair_sequences(corpus: &PairCorpus) -> Result<Vec<&[u32]>> {
    if corpus.is_empty() {
        return Err(Error::NoData("no evaluation pair".into()));
    }
    Ok(corpus
        .pairs()
        .iter()
        .flat_map(|p| [p.a.ids.as_slice(), p.b.ids.as_slice()])
        .collect())
}

fn median(v: &mut [f32]) -> f32 {
    if v.is_empty() {
        return f32::NAN;
    }
    v.sort_by(f32::total_cmp);
    v[v.len() / 2]
}

#[cfg(test)]
// The distances compared are exact by construction.
#[allow(clippy::float_cmp)]
mod tests {
    use super::*;

    /// Undefined shares are written as `null` and read back as NaN; defined ones exactly.
    #[test]
    fn evaluation_round_trips_through_json_with_undefined_shares() {
        let m = TokenMetrics {
            tokens: 10,
            accuracy: 0.9,
            stable_precision: 1.0,
            stable_recall: 0.5,
            dynamic_precision: f64::NAN,
            dynamic_recall: 0.25,
        };
        let ev = Evaluation {
            pairs: 3,
            tokens_vs_labels: m,
            tokens_vs_truth: None,
            labels_vs_truth: Some(m),
            distances: DistanceReport {
                threshold: 0.1,
                matching_below: Share::of(2, 3),
                unchanged_below: Share::of(0, 0),
                random_above: Share::of(1, 4),
                random_different_product_above: Share::of(1, 1),
                random_same_product_above: Share::of(0, 0),
                matching_median: 0.05,
                random_median: f32::NAN,
            },
            by_protocol: BTreeMap::new(),
            by_gap: BTreeMap::new(),
        };
        let mut ev = ev;
        let group = GroupEvaluation {
            pairs: 1,
            tokens_vs_labels: m,
            tokens_vs_truth: Some(m),
            labels_vs_truth: None,
            distances: ev.distances,
        };
        ev.by_protocol.insert("smtp".into(), group);
        ev.by_gap.insert("2023-01..2023-02".into(), group);
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("evaluation.json");
        let text = serde_json::to_string(&ev).expect("serialise");
        assert!(
            text.contains(r#""unchanged_below":{"pairs":0,"share":null}"#),
            "{text}"
        );
        std::fs::write(&path, text).expect("write");
        let back = Evaluation::read(&path).expect("read back");
        assert_eq!(back.pairs, 3);
        assert!(back.distances.unchanged_below.share.is_nan());
        assert!(back.distances.random_median.is_nan());
        assert!(back.tokens_vs_labels.dynamic_precision.is_nan());
        assert_eq!(back.distances.random_above.share, 0.25);
        assert_eq!(back.labels_vs_truth.map(|m| m.stable_recall), Some(0.5));
        assert!(back.tokens_vs_truth.is_none());
        assert_eq!(back.by_protocol["smtp"].pairs, 1);
        assert_eq!(
            back.by_gap["2023-01..2023-02"]
                .tokens_vs_truth
                .map(|t| t.tokens),
            Some(10)
        );
        assert!(back.by_protocol["smtp"].distances.random_median.is_nan());
        // An evaluation written before the groups existed still reads.
        let old = text_without_groups(&ev);
        let back: Evaluation = serde_json::from_str(&old).expect("old evaluation");
        assert!(back.by_protocol.is_empty() && back.by_gap.is_empty());
        std::fs::write(&path, "{}").expect("write");
        let err = Evaluation::read(&path).expect_err("not an evaluation");
        assert!(err.to_string().contains("evaluation.json"), "{err}");
    }

    fn text_without_groups(ev: &Evaluation) -> String {
        let mut v = serde_json::to_value(ev).expect("value");
        if let Some(o) = v.as_object_mut() {
            o.remove("by_protocol");
            o.remove("by_gap");
        }
        v.to_string()
    }

    /// Known answer for the groups: four pairs, two HTTP and two SSH, over two gaps; the
    /// model's predictions are given, so every figure is counted by hand.
    #[test]
    fn groups_by_protocol_and_gap_known_answer() {
        use crate::data::{LabelledSeq, PairMeta};
        // Three labelled tokens per side: targets S S D; truth S D D.
        let side = || LabelledSeq {
            ids: vec![0, 5, 6, 7, 2],
            targets: vec![
                Label::Unlabelled,
                Label::Stable,
                Label::Stable,
                Label::Dynamic,
                Label::Unlabelled,
            ],
            truth: Some(vec![
                Label::Unlabelled,
                Label::Stable,
                Label::Dynamic,
                Label::Dynamic,
                Label::Unlabelled,
            ]),
            offsets: vec![(0, 0); 5],
        };
        let pair = |protocol: &str, gap: &str, product: &str| TrainingPair {
            a: side(),
            b: side(),
            meta: PairMeta {
                product_a: Some(product.into()),
                product_b: Some(product.into()),
                unchanged: Some(true),
            },
            protocol: protocol.into(),
            gap: gap.into(),
        };
        let corpus = PairCorpus::from_labelled(vec![
            pair("http", "g1", "nginx"),
            pair("ssh", "g1", "openssh"),
            pair("http", "g2", "apache"),
            pair("ssh", "g2", "dropbear"),
        ])
        .expect("corpus");
        // HTTP sides predict S S D (right against the labels, 2 of 3 against truth);
        // SSH sides predict S D D (2 of 3 against the labels, right against truth).
        let http = vec![0.9, 0.9, 0.9, 0.1, 0.9];
        let ssh = vec![0.9, 0.9, 0.1, 0.1, 0.9];
        let mut stable_prob = Vec::new();
        for p in corpus.pairs() {
            let probs = if p.protocol == "http" { &http } else { &ssh };
            stable_prob.extend([probs.clone(), probs.clone()]);
        }
        // Matching pairs at distance 0; the four products far apart.
        let axis = |k: usize| {
            let mut v = vec![0.0f32; 4];
            v[k] = 1.0;
            v
        };
        let embeddings = (0..4).flat_map(|k| [axis(k), axis(k)]).collect();
        let pred = Predictions {
            stable_prob,
            embeddings,
        };
        let e = Evaluator::default().evaluate_predictions(&corpus, &pred);
        assert_eq!(e.pairs, 4);
        assert_eq!(e.by_protocol.keys().collect::<Vec<_>>(), ["http", "ssh"]);
        assert_eq!(e.by_gap.keys().collect::<Vec<_>>(), ["g1", "g2"]);
        let (h, s) = (&e.by_protocol["http"], &e.by_protocol["ssh"]);
        assert_eq!((h.pairs, s.pairs), (2, 2));
        // 2 pairs x 2 sides x 3 tokens = 12 tokens per protocol.
        assert_eq!(h.tokens_vs_labels.tokens, 12);
        assert_eq!(h.tokens_vs_labels.accuracy, 1.0);
        assert_eq!(h.tokens_vs_truth.map(|m| m.accuracy), Some(8.0 / 12.0));
        assert_eq!(s.tokens_vs_labels.accuracy, 8.0 / 12.0);
        assert_eq!(s.tokens_vs_truth.map(|m| m.accuracy), Some(1.0));
        // The teacher is the same for both: S S D against S D D.
        assert_eq!(h.labels_vs_truth.map(|m| m.accuracy), Some(8.0 / 12.0));
        // Overall: the mean of both.
        assert_eq!(e.tokens_vs_truth.map(|m| m.accuracy), Some(20.0 / 24.0));
        // Every gap holds one pair of each protocol.
        assert_eq!(e.by_gap["g1"].tokens_vs_labels.accuracy, 10.0 / 12.0);
        for g in e.by_protocol.values().chain(e.by_gap.values()) {
            assert_eq!(g.distances.unchanged_below.share, 1.0);
            assert_eq!(g.distances.random_different_product_above.share, 1.0);
            assert_eq!(
                g.distances.random_above.pairs,
                2 * RANDOM_PAIRS_PER_PAIR as u64
            );
        }
    }

    /// Known answer: three pairs on the unit axes; pair `i` is `(a_i, b_i)`. Products: pair 0
    /// and pair 1 are of `x`, pair 2 of `y`. Seed 0 draws `(0, 2), (1, 0), (2, 0), (0, 2), ...`
    /// ([`embed_index::random_pairs`]); a random pair `(i, j)` is `a_i` against `b_j`, kept
    /// only when the products differ.
    #[test]
    fn pair_distances_known_answer() {
        let e = |v: [f32; 2]| v;
        let emb = [
            e([1.0, 0.0]), // a_0
            e([1.0, 0.0]), // b_0
            e([0.0, 1.0]), // a_1
            e([0.6, 0.8]), // b_1
            e([1.0, 0.0]), // a_2
            e([0.0, 1.0]), // b_2
        ];
        let refs: Vec<&[f32]> = emb.iter().map(<[f32; 2]>::as_slice).collect();
        let products = [
            (Some("x"), Some("x")),
            (Some("x"), Some("x")),
            (Some("y"), Some("y")),
        ];
        let ev = Evaluator::default();
        let pairs = ev.random_pairs(3);
        assert_eq!(pairs.len(), 12);
        assert_eq!(pairs[..4], [(0, 2), (1, 0), (2, 0), (0, 2)]);
        let d = ev.pair_distances_of(&products, &refs);
        assert!(d.different_products);
        // |a_0 - b_0| = 0, |a_1 - b_1| = sqrt(0.36 + 0.04), |a_2 - b_2| = sqrt(2).
        assert_eq!(d.matching, [0.0, 0.4f32.sqrt(), 2f32.sqrt()]);
        // Kept: (i, j) with product(a_i) != product(b_j), i.e. exactly one of i, j is 2.
        let expected: Vec<f32> = pairs
            .iter()
            .filter(|&&(i, j)| (i == 2) != (j == 2))
            .map(|&(i, j)| embed_index::euclidean(refs[2 * i], refs[2 * j + 1]))
            .collect();
        assert_eq!(d.random, expected);
        // The first kept pairs: a_0 vs b_2 = sqrt(2), then a_2 vs b_0 = 0.
        assert_eq!(d.random[..2], [2f32.sqrt(), 0.0]);
        // Without products every random pair is kept.
        let none = [(None, None); 3];
        let all = ev.pair_distances_of(&none, &refs);
        assert!(!all.different_products);
        assert_eq!(all.random.len(), 12);
    }
}
