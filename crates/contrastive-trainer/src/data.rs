//! Training and evaluation data: token sequences for masked-LM pretraining and labelled banner
//! pairs for contrastive fine-tuning.
//!
//! Banners are tokenised once and kept as compact `u32` id vectors (a 100-token HTTP banner is
//! 400 bytes), so a corpus of a few million banners fits in memory; the records themselves are
//! read as a stream (see [`banner_parse::RecordReader`]) and never held.

use banner_parse::{BannerKind, BannerPair, Label, Labeler};
use bpe_tokenizer::{BannerEncoding, BannerTokenizer, SpecialIds, align_labels};

use crate::error::{Error, Result};

/// Banners encoded per call of the tokenizer (bounds the padded batch it builds).
const ENCODE_CHUNK: usize = 2_048;

/// Token sequences for masked-LM pretraining (`<s>` ... `</s>`, no padding).
///
/// ```
/// use bpe_tokenizer::{BannerTokenizer, TrainConfig};
/// use contrastive_trainer::MlmCorpus;
///
/// let banners = ["HTTP/1.1 200 OK\r\nServer: nginx\r\n\r\n", "SSH-2.0-OpenSSH_8.9\r\n"];
/// let tokenizer = BannerTokenizer::train(banners.iter(), &TrainConfig::default().vocab_size(300).check()?)?;
/// let corpus = MlmCorpus::encode(&tokenizer, &banners)?;
/// assert_eq!(corpus.len(), 2);
/// assert_eq!(corpus.sequences()[0][0], tokenizer.special_ids().bos);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MlmCorpus {
    seqs: Vec<Vec<u32>>,
    special: SpecialIds,
    vocab_size: usize,
}

impl MlmCorpus {
    /// Encodes banners (any protocol) with the tokenizer's truncation.
    ///
    /// # Errors
    /// [`Error::Tokenizer`] when encoding fails.
    pub fn encode<B: AsRef<[u8]> + Sync>(
        tokenizer: &BannerTokenizer,
        banners: &[B],
    ) -> Result<Self> {
        let mut corpus = Self::empty(tokenizer);
        corpus.extend(tokenizer, banners)?;
        Ok(corpus)
    }

    /// An empty corpus for `tokenizer`'s vocabulary; fill it with [`extend`](Self::extend).
    pub fn empty(tokenizer: &BannerTokenizer) -> Self {
        Self {
            seqs: Vec::new(),
            special: tokenizer.special_ids(),
            vocab_size: tokenizer.vocab_size(),
        }
    }

    /// Encodes more banners into the corpus (for streaming over record files in chunks).
    ///
    /// # Errors
    /// [`Error::Tokenizer`] when encoding fails.
    pub fn extend<B: AsRef<[u8]> + Sync>(
        &mut self,
        tokenizer: &BannerTokenizer,
        banners: &[B],
    ) -> Result<()> {
        for chunk in banners.chunks(ENCODE_CHUNK) {
            for enc in tokenizer.encode_batch(chunk)? {
                self.seqs.push(unpadded_ids(&enc));
            }
        }
        Ok(())
    }

    /// The sequences.
    pub fn sequences(&self) -> &[Vec<u32>] {
        &self.seqs
    }

    /// Number of sequences.
    pub fn len(&self) -> usize {
        self.seqs.len()
    }

    /// Whether there is no sequence.
    pub fn is_empty(&self) -> bool {
        self.seqs.is_empty()
    }

    /// Total number of tokens (special tokens included).
    pub fn tokens(&self) -> usize {
        self.seqs.iter().map(Vec::len).sum()
    }

    /// The tokenizer's special ids.
    pub fn special_ids(&self) -> SpecialIds {
        self.special
    }

    /// The tokenizer's vocabulary size.
    pub fn vocab_size(&self) -> usize {
        self.vocab_size
    }
}

/// One banner as token ids with per-token targets.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct LabelledSeq {
    /// Token ids, `<s>` ... `</s>`, no padding.
    pub ids: Vec<u32>,
    /// Targets from the paper's two-snapshot labels, per token: [`Label::Stable`],
    /// [`Label::Dynamic`], or [`Label::Unlabelled`] for tokens outside the loss (special
    /// tokens, header names).
    pub targets: Vec<Label>,
    /// Targets from ground truth (simulated data only), on the same tokens as `targets`: a
    /// labelled token is [`Label::Dynamic`] when any of its bytes lies in a true dynamic span.
    pub truth: Option<Vec<Label>>,
    /// The token's byte range in the banner, per token (for annotation).
    pub offsets: Vec<(usize, usize)>,
}

impl LabelledSeq {
    /// Number of tokens with a target.
    pub fn labelled(&self) -> usize {
        self.targets
            .iter()
            .filter(|&&t| t != Label::Unlabelled)
            .count()
    }

    /// Number of stable tokens (the paper's "matched tokens").
    pub fn stable(&self) -> usize {
        self.targets.iter().filter(|&&t| t == Label::Stable).count()
    }
}

/// What is known about a pair beyond its bytes (simulated data).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct PairMeta {
    /// Product of the earlier banner.
    pub product_a: Option<String>,
    /// Product of the later banner.
    pub product_b: Option<String>,
    /// `Some(true)` when the service did not change (only per-scan values differ, headers
    /// possibly reordered) over the whole gap; `Some(false)` when it changed; `None` if unknown.
    pub unchanged: Option<bool>,
}

/// A banner pair of the same ip/port in two snapshots, tokenised and labelled.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct TrainingPair {
    /// The earlier banner.
    pub a: LabelledSeq,
    /// The later banner.
    pub b: LabelledSeq,
    /// Ground truth about the pair, when known.
    pub meta: PairMeta,
    /// The service's protocol, lowercase (`http`, `ssh`, `smtp`, ...).
    pub protocol: String,
    /// The two snapshots the pair joins, as [`gap_name`] writes them.
    pub gap: String,
}

/// The name of the gap between two snapshots: `before..after`
/// (`2023-01-01..2023-02-01`), as evaluations group pairs by it.
///
/// ```
/// assert_eq!(contrastive_trainer::gap_name("2023-01", "2023-02"), "2023-01..2023-02");
/// ```
pub fn gap_name(before: &str, after: &str) -> String {
    format!("{before}..{after}")
}

impl TrainingPair {
    /// Matched tokens: the smaller stable-token count of the two sides.
    pub fn matched_tokens(&self) -> usize {
        self.a.stable().min(self.b.stable())
    }
}

/// Counts from building a [`PairCorpus`]: every offered pair is counted once, in total and
/// under its protocol.
#[derive(Debug, Clone, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
pub struct PairCorpusStats {
    /// Pairs offered.
    pub offered: usize,
    /// Pairs left out for having fewer matched tokens than the threshold (likely another device).
    pub too_few_matched: usize,
    /// Pairs kept.
    pub kept: usize,
    /// The same counts per protocol (lowercase).
    #[serde(default)]
    pub by_protocol: std::collections::BTreeMap<String, ProtocolPairStats>,
}

/// [`PairCorpusStats`] of one protocol.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
pub struct ProtocolPairStats {
    /// Pairs offered.
    pub offered: usize,
    /// Pairs left out for having fewer matched tokens than the threshold.
    pub too_few_matched: usize,
    /// Pairs kept.
    pub kept: usize,
}

/// Ground truth for one simulated pair (the facade's `bannerlm::simulated` makes them from
/// `scan-sim`).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct PairTruth {
    /// True dynamic byte ranges `[start, end)` of the earlier banner.
    pub dynamic_a: Vec<[u32; 2]>,
    /// True dynamic byte ranges of the later banner.
    pub dynamic_b: Vec<[u32; 2]>,
    /// Products and change.
    pub meta: PairMeta,
}

/// Labelled banner pairs of every protocol for contrastive fine-tuning and evaluation.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct PairCorpus {
    pairs: Vec<TrainingPair>,
    stats: PairCorpusStats,
}

impl PairCorpus {
    /// Labels (the paper's difflib rule: per header for HTTP, per line for other protocols,
    /// see [`banner_parse::label_pair`]), encodes and filters pairs: at least `min_matched`
    /// matched tokens (the paper: [`bpe_tokenizer::MIN_MATCHED_TOKENS`]). Pairs of every
    /// protocol are kept; which protocols are offered, and in what mix, is the caller's
    /// choice.
    ///
    /// ```
    /// use banner_parse::{BannerPair, BannerRecord};
    /// use bpe_tokenizer::{BannerTokenizer, TrainConfig};
    /// use contrastive_trainer::PairCorpus;
    ///
    /// let rec = |snap: &str, banner: &str| BannerRecord {
    ///     ip: "192.0.2.1".parse().unwrap(), port: 80, snapshot: snap.into(),
    ///     protocol: "http".into(), banner: banner.as_bytes().to_vec(),
    /// };
    /// let pair = BannerPair {
    ///     before: rec("2023-06", "HTTP/1.1 200 OK\r\nServer: Apache/2.4.41 (Ubuntu)\r\nETag: \"5f3a-91bc\"\r\n\r\n"),
    ///     after: rec("2023-07", "HTTP/1.1 200 OK\r\nServer: Apache/2.4.41 (Ubuntu)\r\nETag: \"77e0-1a2f\"\r\n\r\n"),
    /// };
    /// let tokenizer = BannerTokenizer::train([&pair.before.banner], &TrainConfig::default().vocab_size(300).check()?)?;
    /// let corpus = PairCorpus::from_pairs(&tokenizer, &[pair], 3)?;
    /// assert_eq!(corpus.stats().kept, 1);
    /// let p = &corpus.pairs()[0];
    /// assert!(p.a.stable() >= 3 && p.a.targets.contains(&banner_parse::Label::Dynamic));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    ///
    /// # Errors
    /// [`Error::Tokenizer`] when encoding fails.
    pub fn from_pairs(
        tokenizer: &BannerTokenizer,
        pairs: &[BannerPair],
        min_matched: usize,
    ) -> Result<Self> {
        let mut corpus = Self::default();
        corpus.extend(tokenizer, pairs.iter().map(|p| (p, None)), min_matched)?;
        Ok(corpus)
    }

    /// As [`from_pairs`](Self::from_pairs), with ground truth per pair (simulated data): fills
    /// [`LabelledSeq::truth`] and [`TrainingPair::meta`].
    ///
    /// # Errors
    /// [`Error::Tokenizer`] when encoding fails.
    pub fn from_pairs_with_truth(
        tokenizer: &BannerTokenizer,
        pairs: &[(BannerPair, PairTruth)],
        min_matched: usize,
    ) -> Result<Self> {
        let mut corpus = Self::default();
        corpus.extend(
            tokenizer,
            pairs.iter().map(|(p, t)| (p, Some(t))),
            min_matched,
        )?;
        Ok(corpus)
    }

    /// A corpus of pairs labelled elsewhere (your own labelling rule, or a benchmark's
    /// synthetic batches): every pair is kept as given.
    ///
    /// ```
    /// use banner_parse::Label;
    /// use contrastive_trainer::{LabelledSeq, PairCorpus, TrainingPair};
    ///
    /// let side = |ids: Vec<u32>| LabelledSeq {
    ///     targets: ids.iter().map(|&t| if t > 2 { Label::Stable } else { Label::Unlabelled }).collect(),
    ///     offsets: vec![(0, 0); ids.len()],
    ///     ids,
    ///     truth: None,
    /// };
    /// let pair = TrainingPair { a: side(vec![0, 7, 8, 2]), b: side(vec![0, 7, 9, 2]), ..Default::default() };
    /// let corpus = PairCorpus::from_labelled(vec![pair])?;
    /// assert_eq!((corpus.len(), corpus.stats().kept), (1, 1));
    /// # Ok::<(), contrastive_trainer::Error>(())
    /// ```
    ///
    /// # Errors
    /// [`Error::InvalidParam`] when a side's targets, truth or offsets do not have one entry
    /// per token.
    pub fn from_labelled(pairs: Vec<TrainingPair>) -> Result<Self> {
        for (i, p) in pairs.iter().enumerate() {
            for (side, s) in [("a", &p.a), ("b", &p.b)] {
                let n = s.ids.len();
                let truth_ok = s.truth.as_ref().is_none_or(|t| t.len() == n);
                if s.targets.len() != n || s.offsets.len() != n || !truth_ok {
                    return Err(Error::InvalidParam(format!(
                        "pair {i}, side {side}: {n} tokens but {} targets and {} offsets{}",
                        s.targets.len(),
                        s.offsets.len(),
                        s.truth
                            .as_ref()
                            .map_or(String::new(), |t| format!(" and {} truth labels", t.len()))
                    )));
                }
            }
        }
        let mut stats = PairCorpusStats {
            offered: pairs.len(),
            kept: pairs.len(),
            ..PairCorpusStats::default()
        };
        for p in &pairs {
            let counts = stats.by_protocol.entry(p.protocol.clone()).or_default();
            counts.offered += 1;
            counts.kept += 1;
        }
        Ok(Self { pairs, stats })
    }

    /// Adds pairs (optionally with truth) to the corpus.
    ///
    /// # Errors
    /// [`Error::Tokenizer`] when encoding fails.
    pub fn extend<'a>(
        &mut self,
        tokenizer: &BannerTokenizer,
        pairs: impl IntoIterator<Item = (&'a BannerPair, Option<&'a PairTruth>)>,
        min_matched: usize,
    ) -> Result<()> {
        let mut labeler = Labeler::default();
        let mut chunk: Vec<(&BannerPair, Option<&PairTruth>)> = Vec::with_capacity(ENCODE_CHUNK);
        let mut pairs = pairs.into_iter().peekable();
        while pairs.peek().is_some() {
            chunk.clear();
            for item in pairs.by_ref() {
                chunk.push(item);
                if chunk.len() == ENCODE_CHUNK {
                    break;
                }
            }
            let banners: Vec<&[u8]> = chunk
                .iter()
                .flat_map(|(p, _)| [p.before.banner.as_slice(), p.after.banner.as_slice()])
                .collect();
            let encodings = tokenizer.encode_batch(&banners)?;
            for (i, (pair, truth)) in chunk.iter().enumerate() {
                let protocol = pair.before.protocol.to_ascii_lowercase();
                let kind = BannerKind::for_protocol(&protocol);
                let labels = labeler.label(&pair.before.banner, &pair.after.banner, kind);
                let (ea, eb) = (&encodings[2 * i], &encodings[2 * i + 1]);
                let a = labelled(ea, &labels.a, truth.map(|t| t.dynamic_a.as_slice()))?;
                let b = labelled(eb, &labels.b, truth.map(|t| t.dynamic_b.as_slice()))?;
                let gap = gap_name(&pair.before.snapshot, &pair.after.snapshot);
                let pair = TrainingPair {
                    a,
                    b,
                    meta: truth.map(|t| t.meta.clone()).unwrap_or_default(),
                    protocol,
                    gap,
                };
                self.stats.offered += 1;
                let counts = self
                    .stats
                    .by_protocol
                    .entry(pair.protocol.clone())
                    .or_default();
                counts.offered += 1;
                if pair.matched_tokens() < min_matched {
                    self.stats.too_few_matched += 1;
                    counts.too_few_matched += 1;
                } else {
                    self.stats.kept += 1;
                    counts.kept += 1;
                    self.pairs.push(pair);
                }
            }
        }
        Ok(())
    }

    /// The kept pairs.
    pub fn pairs(&self) -> &[TrainingPair] {
        &self.pairs
    }

    /// Number of kept pairs.
    pub fn len(&self) -> usize {
        self.pairs.len()
    }

    /// Whether no pair was kept.
    pub fn is_empty(&self) -> bool {
        self.pairs.is_empty()
    }

    /// What happened to the offered pairs.
    pub fn stats(&self) -> &PairCorpusStats {
        &self.stats
    }

    /// Total tokens over both sides of all pairs.
    pub fn tokens(&self) -> usize {
        self.pairs
            .iter()
            .map(|p| p.a.ids.len() + p.b.ids.len())
            .sum()
    }
}

/// Ids of an encoding without its padding.
pub(crate) fn unpadded_ids(enc: &BannerEncoding) -> Vec<u32> {
    enc.ids()
        .iter()
        .zip(enc.attention_mask())
        .filter(|&(_, &m)| m == 1)
        .map(|(&id, _)| id)
        .collect()
}

/// Tokens of an encoding with targets from byte labels, and truth targets from true dynamic
/// spans (restricted to the bytes the paper's labels cover, so both score the same tokens).
fn labelled(
    enc: &BannerEncoding,
    byte_labels: &[Label],
    truth: Option<&[[u32; 2]]>,
) -> Result<LabelledSeq> {
    let real = enc.attention_mask().iter().filter(|&&m| m == 1).count();
    let labels = align_labels(enc, byte_labels)?;
    let targets = labels.labels()[..real].to_vec();
    let truth = match truth {
        None => None,
        Some(spans) => {
            let mut truth_bytes: Vec<Label> = byte_labels
                .iter()
                .map(|&l| {
                    if l == Label::Unlabelled {
                        Label::Unlabelled
                    } else {
                        Label::Stable
                    }
                })
                .collect();
            let n = truth_bytes.len();
            for &[s, e] in spans {
                let (s, e) = ((s as usize).min(n), (e as usize).min(n));
                for l in &mut truth_bytes[s..e] {
                    if *l != Label::Unlabelled {
                        *l = Label::Dynamic;
                    }
                }
            }
            let t = align_labels(enc, &truth_bytes)?;
            Some(t.labels()[..real].to_vec())
        }
    };
    Ok(LabelledSeq {
        ids: enc.ids()[..real].to_vec(),
        targets,
        truth,
        offsets: enc.offsets()[..real].to_vec(),
    })
}

/// Checks that a batch size and a corpus size make sense together.
pub(crate) fn check_batch(n: usize, batch_size: usize, what: &str) -> Result<()> {
    if n == 0 {
        return Err(Error::NoData(format!("the {what} corpus is empty")));
    }
    if batch_size == 0 {
        return Err(Error::InvalidParam("batch_size must be at least 1".into()));
    }
    Ok(())
}

/// Checks that the longest sequence fits the model's position table.
pub(crate) fn check_length(longest: usize, model: &roberta_model::RobertaConfig) -> Result<()> {
    if longest > model.max_input_len() {
        return Err(Error::InvalidParam(format!(
            "a sequence has {longest} tokens, the model takes at most {}; set the tokenizer's max_length",
            model.max_input_len()
        )));
    }
    Ok(())
}

/// Reads two snapshots of banner-record files (any format banner-parse reads, gzip or not)
/// and joins them on (ip, port, protocol). Memory: both snapshots.
///
/// # Errors
/// [`Error::Parse`] for unreadable files or bad lines (with file and line).
pub fn read_pairs(
    before: &std::path::Path,
    after: &std::path::Path,
) -> Result<(Vec<banner_parse::BannerPair>, banner_parse::PairStats)> {
    let read = |p: &std::path::Path| -> Result<Vec<banner_parse::BannerRecord>> {
        banner_parse::RecordReader::open(p, banner_parse::ReadOptions::default())?
            .collect::<std::result::Result<Vec<_>, _>>()
            .map_err(Error::from)
    };
    let pairing = banner_parse::pair_in_memory(read(before)?, read(after)?);
    Ok((pairing.pairs, pairing.stats))
}
