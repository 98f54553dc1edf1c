//! Batch embedding: banners through the tokenizer and the model in length-sorted batches,
//! streamed into the on-disk store.

use std::borrow::Borrow;
use std::ops::Range;
use std::path::{Path, PathBuf};
use std::time::Instant;

use banner_parse::{BannerRecord, OnBadLine, ReadOptions, RecordKey, RecordReader};
use bpe_tokenizer::{BannerEncoding, BannerTokenizer};
use ndarray::{Array2, Axis};
use roberta_model::burn::module::{Module, ModuleVisitor, Param};
use roberta_model::burn::tensor::{Bool, Device, Int, Tensor, TensorData};
use roberta_model::{RobertaConfig, RobertaForStability, RobertaModel, loader, pool_weighted};
use serde::Serialize;
use sha2::{Digest as _, Sha256};

use crate::error::{Error, Result};
use crate::store::{StoreSource, StoreWriter};

/// File name of the tokenizer inside a model directory (Hugging Face layout).
pub const TOKENIZER_FILE: &str = "tokenizer.json";

/// Options of [`BannerEmbedder::embed_records`], unchecked; [`check`](Self::check) gives the
/// [`ValidEmbedParams`] (the embedding functions check what they are given).
///
/// ```
/// use embed_index::EmbedParams;
/// let p = EmbedParams { batch_size: 32, ..EmbedParams::default() };
/// assert_eq!(p.check()?.batch_size, 32);
/// assert!(EmbedParams { chunk_rows: 0, ..p }.check().is_err());
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EmbedParams {
    /// Banners per forward pass (default 64).
    pub batch_size: usize,
    /// Rows per checkpoint of the store (default 8,192): memory holds one chunk of banners,
    /// and a killed run loses at most one chunk of work.
    pub chunk_rows: usize,
    /// Show a progress bar with banners/s on stderr (default `true`).
    pub progress: bool,
}

impl Default for EmbedParams {
    fn default() -> Self {
        Self {
            batch_size: 64,
            chunk_rows: 8192,
            progress: true,
        }
    }
}

impl EmbedParams {
    /// Validates the parameters.
    ///
    /// # Errors
    /// [`Error::InvalidParam`] when `batch_size` or `chunk_rows` is 0.
    pub fn check(self) -> Result<ValidEmbedParams> {
        for (name, v) in [
            ("batch_size", self.batch_size),
            ("chunk_rows", self.chunk_rows),
        ] {
            if v == 0 {
                return Err(Error::InvalidParam {
                    name,
                    reason: "must be at least 1".into(),
                });
            }
        }
        Ok(ValidEmbedParams(self))
    }
}

/// [`EmbedParams`] that passed [`EmbedParams::check`] (dereferences to them).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ValidEmbedParams(EmbedParams);

impl std::ops::Deref for ValidEmbedParams {
    type Target = EmbedParams;
    fn deref(&self) -> &EmbedParams {
        &self.0
    }
}

/// What [`BannerEmbedder::embed_records`] did.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
#[non_exhaustive]
pub struct EmbedSummary {
    /// Rows in the store at the end (one per record read).
    pub rows: u64,
    /// Rows that were already in the store when the run started (0 for a fresh run).
    pub resumed_from: u64,
    /// Rows appended by this run.
    pub embedded: u64,
    /// Rows of an interrupted chunk that were computed again to keep the output
    /// byte-identical (none is written twice).
    pub recomputed: u64,
    /// Input lines skipped as malformed (counted in every run, also in the skipped part).
    pub bad_lines: u64,
    /// Banners of this run cut to the model's longest input.
    pub truncated: u64,
    /// Wall-clock seconds of this run.
    pub seconds: f64,
}

impl EmbedSummary {
    /// Banners embedded per second in this run (recomputed rows included).
    pub fn banners_per_second(&self) -> f64 {
        if self.seconds > 0.0 {
            (self.embedded + self.recomputed) as f64 / self.seconds
        } else {
            0.0
        }
    }
}

/// How token states become one banner vector.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
#[non_exhaustive]
pub enum Pooling {
    /// The paper's embedding: the P(stable)-weighted mean of the last-layer token states
    /// (a fine-tuned model with a stability head).
    Stability,
    /// The plain mean of the last-layer token states: the fallback for a masked-LM-only
    /// checkpoint, the paper's "MLM only" baseline.
    Mean,
}

/// P(stable) of each banner token, for annotation.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct TokenStability {
    /// Byte range in the banner and P(stable) of each non-special token, in order.
    pub tokens: Vec<(Range<usize>, f32)>,
    /// Whether the banner was cut to the model's longest input (bytes after the last token
    /// were not seen).
    pub truncated: bool,
}

// One per embedder: the size difference of the variants costs nothing.
#[allow(clippy::large_enum_variant)]
#[derive(Debug)]
enum Head {
    Stability(RobertaForStability),
    Mean(RobertaModel),
}

/// A model directory turned into a banner-to-vector function: unit-length embeddings, in
/// length-sorted batches, into memory or streamed into an on-disk store.
///
/// ```no_run
/// use embed_index::{BannerEmbedder, EmbedParams};
/// use roberta_model::default_device;
///
/// let device = default_device()?;
/// // config.json + model.safetensors + tokenizer.json, from `finetune` or transformers.
/// let embedder = BannerEmbedder::from_dir("runs/ft/final", &device)?;
/// let x = embedder.embed(&[&b"SSH-2.0-OpenSSH_8.9p1\r\n"[..], b"HTTP/1.1 200 OK\r\n"], 64)?;
/// assert_eq!(x.dim(), (2, embedder.dim()));
///
/// let summary = embedder.embed_files(
///     &["records-2023-07-04.jsonl.gz".into()],
///     "emb.npy".as_ref(),
///     "ids.jsonl".as_ref(),
///     &EmbedParams::default(),
/// )?;
/// println!("{} rows ({} resumed)", summary.rows, summary.resumed_from);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug)]
pub struct BannerEmbedder {
    tokenizer: BannerTokenizer,
    head: Head,
    device: Device,
    dim: usize,
    vocab: usize,
    pad_id: u32,
    max_len: usize,
    /// SHA-256 of the weights and of the tokenizer, computed once when first needed.
    digests: std::sync::OnceLock<(String, String)>,
}

/// SHA-256 of every float parameter of a module (its shape, then its values as little-endian
/// float32), in module order.
struct WeightsDigest {
    hasher: Sha256,
    failed: Option<roberta_model::burn::tensor::DataError>,
}

impl ModuleVisitor for WeightsDigest {
    fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<D>>) {
        let t = param.val();
        for d in t.dims() {
            self.hasher.update((d as u64).to_le_bytes());
        }
        match t.into_data().convert::<f32>().try_to_vec::<f32>() {
            Ok(v) => {
                for x in v {
                    self.hasher.update(x.to_le_bytes());
                }
            }
            Err(e) => {
                self.failed.get_or_insert(e);
            }
        }
    }
}

fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write as _;
    bytes
        .iter()
        .fold(String::with_capacity(2 * bytes.len()), |mut s, b| {
            let _ = write!(s, "{b:02x}");
            s
        })
}

/// Size and SHA-256 of a file, read in blocks.
fn file_digest(path: &Path) -> Result<(u64, String)> {
    use std::io::Read as _;
    let mut f = std::fs::File::open(path).map_err(|e| Error::io(path, e))?;
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; 1 << 20];
    let mut total = 0u64;
    loop {
        let n = f.read(&mut buf).map_err(|e| Error::io(path, e))?;
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
        total += n as u64;
    }
    Ok((total, format!("sha256:{}", hex(&hasher.finalize()))))
}

impl BannerEmbedder {
    /// Loads a model directory in Hugging Face layout: `config.json`, `model.safetensors` and
    /// `tokenizer.json`, written by bannerlm or by transformers' `save_pretrained`.
    ///
    /// A checkpoint with a token-classification head (`classifier.*`, as fine-tuning writes)
    /// gives the paper's stability-weighted embedding ([`Pooling::Stability`]). A
    /// masked-LM-only checkpoint has no such head: it loads with [`Pooling::Mean`], the plain
    /// mean of the token states (the paper's "MLM only" baseline), and
    /// [`embed_with_stability`](Self::embed_with_stability) reports [`Error::NoStabilityHead`].
    ///
    /// # Errors
    /// [`Error::Tokenizer`] for a missing or invalid `tokenizer.json`; [`Error::Model`] for
    /// the config or the weights; [`Error::Shape`] when the tokenizer's vocabulary is larger
    /// than the model's.
    pub fn from_dir(dir: impl AsRef<Path>, device: &Device) -> Result<Self> {
        let dir = dir.as_ref();
        let tokenizer = BannerTokenizer::from_file(dir.join(TOKENIZER_FILE))?;
        let config = RobertaConfig::load(dir.join(loader::CONFIG_FILE))?;
        if tokenizer.vocab_size() > config.vocab_size {
            return Err(Error::Shape(format!(
                "{}: tokenizer has {} tokens, the model's vocabulary only {}",
                dir.display(),
                tokenizer.vocab_size(),
                config.vocab_size
            )));
        }
        let weights = dir.join(loader::WEIGHTS_FILE);
        // Sizes of the config against the weights' header, before anything is allocated.
        loader::check_weights_file(&config, &weights)?;
        match RobertaForStability::new(&config, device)?.load_weights(&weights) {
            Ok(model) => Ok(Self::new(tokenizer, model, device.clone())),
            Err(roberta_model::Error::MissingTensors { example, .. })
                if example.starts_with("classifier") =>
            {
                let encoder = RobertaModel::new(&config, device)?.load_weights(&weights)?;
                Ok(Self::with_encoder(tokenizer, encoder, device.clone()))
            }
            Err(e) => Err(e.into()),
        }
    }

    /// An embedder from a tokenizer and a model with a stability head
    /// ([`Pooling::Stability`]). The model is switched to inference mode (no dropout).
    // Owned by contract: the embedder keeps the inference-mode copy `valid()` makes.
    #[allow(clippy::needless_pass_by_value)]
    pub fn new(tokenizer: BannerTokenizer, model: RobertaForStability, device: Device) -> Self {
        let model = model.valid();
        let encoder = model.roberta.clone();
        Self::build(tokenizer, Head::Stability(model), &encoder, device)
    }

    /// An embedder from a tokenizer and a bare encoder, mean-pooled ([`Pooling::Mean`]).
    #[allow(clippy::needless_pass_by_value)]
    pub fn with_encoder(tokenizer: BannerTokenizer, encoder: RobertaModel, device: Device) -> Self {
        let encoder = encoder.valid();
        let shape = encoder.clone();
        Self::build(tokenizer, Head::Mean(encoder), &shape, device)
    }

    fn build(
        tokenizer: BannerTokenizer,
        head: Head,
        encoder: &RobertaModel,
        device: Device,
    ) -> Self {
        let [vocab, dim] = encoder.embeddings.word_embeddings.weight.val().dims();
        Self {
            pad_id: encoder.embeddings.padding_idx as u32,
            max_len: encoder.max_input_len.max(2),
            tokenizer,
            head,
            device,
            dim,
            vocab,
            digests: std::sync::OnceLock::new(),
        }
    }

    /// `(model, tokenizer)` digests: `sha256:` of the weights as loaded (every parameter's
    /// shape and float32 values, in module order, so the same weights give the same digest
    /// whether read from `model.safetensors` or built in memory) and of the tokenizer's
    /// canonical JSON. Computed once (reading every weight back from the device).
    ///
    /// # Errors
    /// [`Error::Tensor`] when a weight cannot be read back; [`Error::Tokenizer`].
    pub fn digests(&self) -> Result<(String, String)> {
        if let Some(d) = self.digests.get() {
            return Ok(d.clone());
        }
        let mut v = WeightsDigest {
            hasher: Sha256::new(),
            failed: None,
        };
        match &self.head {
            Head::Stability(m) => m.visit(&mut v),
            Head::Mean(m) => m.visit(&mut v),
        }
        if let Some(e) = v.failed {
            return Err(Error::Tensor(e));
        }
        let model = format!("sha256:{}", hex(&v.hasher.finalize()));
        let tok = self.tokenizer.to_json(false)?;
        let tok = format!("sha256:{}", hex(&Sha256::digest(tok.as_bytes())));
        let d = (model, tok);
        let _ = self.digests.set(d.clone());
        Ok(d)
    }

    /// What a store of this embedder's rows for `inputs` is made from, as recorded in its
    /// manifest and checked by [`embed_records`](Self::embed_records) on resume: the model
    /// and tokenizer digests ([`digests`](Self::digests)), width, pooling, longest input, and
    /// every input file's size and SHA-256 (the whole file is read: a fraction of the time
    /// embedding it takes).
    ///
    /// # Errors
    /// [`Error::Io`] when an input cannot be read; the errors of [`digests`](Self::digests).
    pub fn store_source(&self, inputs: &[PathBuf]) -> Result<StoreSource> {
        let (model, tokenizer) = self.digests()?;
        let mut source = StoreSource::new()
            .with("model", model)
            .with("tokenizer", tokenizer)
            .with("dim", self.dim)
            .with(
                "pooling",
                serde_json::to_value(self.pooling()).unwrap_or_default(),
            )
            .with("max_input_len", self.max_len)
            .with("inputs", inputs.len());
        for (i, path) in inputs.iter().enumerate() {
            let (bytes, sha) = file_digest(path)?;
            let name = path
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default();
            source = source.with(
                format!("input[{i}]"),
                serde_json::json!({"name": name, "bytes": bytes, "sha256": sha}),
            );
        }
        Ok(source)
    }

    /// Embedding width (the model's hidden size).
    pub fn dim(&self) -> usize {
        self.dim
    }

    /// The tokenizer.
    pub fn tokenizer(&self) -> &BannerTokenizer {
        &self.tokenizer
    }

    /// How token states are pooled.
    pub fn pooling(&self) -> Pooling {
        match self.head {
            Head::Stability(_) => Pooling::Stability,
            Head::Mean(_) => Pooling::Mean,
        }
    }

    /// Longest input in tokens (special tokens included); longer banners are cut.
    pub fn max_input_len(&self) -> usize {
        self.max_len
    }

    /// The device the model runs on.
    pub fn device(&self) -> &Device {
        &self.device
    }

    /// Unit-length embeddings `[banners.len(), dim]`, rows in input order.
    ///
    /// Banners are tokenized, cut to the model's longest input, sorted by length and run in
    /// batches of `batch_size`, so padding stays small; the result does not depend on the
    /// input order beyond floating-point rounding.
    ///
    /// # Errors
    /// [`Error::InvalidParam`] when `batch_size` is 0; [`Error::Tokenizer`];
    /// [`Error::Model`] ([`roberta_model::Error::TokenOutOfVocab`]) when a token id is outside
    /// the model's vocabulary;
    /// [`Error::Tensor`].
    pub fn embed<B: AsRef<[u8]> + Sync>(
        &self,
        banners: &[B],
        batch_size: usize,
    ) -> Result<Array2<f32>> {
        // Tokenized in parallel, as the chunks of `embed_records` are.
        let prepared = self.prepare(self.tokenizer.encode_batch(banners)?.into_iter().map(Ok))?;
        let ids: Vec<Vec<u32>> = prepared.into_iter().map(|p| p.ids).collect();
        Ok(self.run(&ids, batch_size, false)?.0)
    }

    /// Like [`embed`](Self::embed), plus P(stable) and the byte range of every token, for
    /// annotating banners (dynamic parts have low P(stable)).
    ///
    /// # Errors
    /// As [`embed`](Self::embed); [`Error::NoStabilityHead`] for a mean-pooled model.
    pub fn embed_with_stability<B: AsRef<[u8]> + Sync>(
        &self,
        banners: &[B],
        batch_size: usize,
    ) -> Result<(Array2<f32>, Vec<TokenStability>)> {
        if self.pooling() != Pooling::Stability {
            return Err(Error::NoStabilityHead);
        }
        let prepared = self.prepare(self.tokenizer.encode_batch(banners)?.into_iter().map(Ok))?;
        let ids: Vec<Vec<u32>> = prepared.iter().map(|p| p.ids.clone()).collect();
        let (emb, probs) = self.run(&ids, batch_size, true)?;
        let stability = prepared
            .into_iter()
            .zip(probs)
            .map(|(p, probs)| TokenStability {
                tokens: p
                    .content
                    .iter()
                    .filter_map(|&(pos, ref range)| {
                        probs.get(pos).map(|&prob| (range.clone(), prob))
                    })
                    .collect(),
                truncated: p.truncated,
            })
            .collect();
        Ok((emb, stability))
    }

    /// Embeds banner-record files (any format [`RecordReader`] detects: bannerlm JSONL,
    /// zgrab2, Censys; gzip or not) into the store `npy` + `ids`, one row per record, in file
    /// order: [`embed_records`](Self::embed_records) over the files' records. Malformed lines
    /// are skipped and counted ([`EmbedSummary::bad_lines`]). The store's manifest records
    /// every input file's size and SHA-256 ([`store_source`](Self::store_source)), so a
    /// resume with other files is refused.
    ///
    /// # Errors
    /// [`Error::Records`] for unreadable inputs; the errors of
    /// [`embed_records`](Self::embed_records).
    pub fn embed_files(
        &self,
        inputs: &[PathBuf],
        npy: &Path,
        ids: &Path,
        params: &EmbedParams,
    ) -> Result<EmbedSummary> {
        let source = self.store_source(inputs)?;
        let bad_lines = std::cell::Cell::new(0u64);
        let records = inputs.iter().flat_map(|path| {
            let opts = ReadOptions::default().on_bad_line(OnBadLine::Skip);
            let reader: Box<dyn Iterator<Item = Result<BannerRecord>>> =
                match RecordReader::open(path, opts) {
                    Ok(reader) => Box::new(CountBadLines {
                        reader,
                        bad_lines: &bad_lines,
                    }),
                    Err(e) => Box::new(std::iter::once(Err(e.into()))),
                };
            reader
        });
        let mut summary = self.embed_stream(records, npy, ids, &source, params)?;
        summary.bad_lines = bad_lines.get();
        Ok(summary)
    }

    /// Embeds `records` (any iterable of [`BannerRecord`]s or references to them: a slice, a
    /// `Vec`, a filtered iterator) into the store `npy` + `ids`, one row per record, the ids
    /// being each record's [`RecordKey`] (ip, port, snapshot, protocol).
    ///
    /// Resumable: when `npy` exists, the rows already there are kept and embedding continues
    /// after them, so a killed run is finished by running the same call again. The store's
    /// manifest records what it is made from ([`store_source`](Self::store_source) plus the
    /// count and SHA-256 of the records' keys and banners, read in a first pass over a clone
    /// of the iterator); a store made with another model, tokenizer, pooling, input length or
    /// other records, or with another ids file, is refused ([`Error::Resume`] saying what
    /// differs) before anything is written, and committed rows are never truncated
    /// ([`StoreWriter::resume_with`]). Records are embedded in chunks of `chunk_rows` aligned
    /// to the start of the input, each followed by a checkpoint; the rows of a chunk cut off
    /// by the kill are computed again (never written twice), so that with the same records
    /// and parameters the files come out byte-identical to an uninterrupted run.
    ///
    /// ```no_run
    /// use banner_parse::BannerRecord;
    /// use embed_index::{BannerEmbedder, EmbedParams};
    ///
    /// # fn records() -> Vec<BannerRecord> { Vec::new() }
    /// let device = roberta_model::default_device()?;
    /// let embedder = BannerEmbedder::from_dir("runs/ft/final", &device)?;
    /// let records: Vec<BannerRecord> = records();
    /// let http = records.iter().filter(|r| r.is_http());
    /// let params = EmbedParams { progress: false, ..EmbedParams::default() };
    /// let summary = embedder.embed_records(http, "emb.npy".as_ref(), "ids.jsonl".as_ref(), &params)?;
    /// assert_eq!(summary.rows, records.iter().filter(|r| r.is_http()).count() as u64);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    ///
    /// # Errors
    /// [`Error::InvalidParam`]; [`Error::Resume`] when an existing store was made from
    /// something else; [`Error::Format`] when an existing store has another width or layout;
    /// [`Error::Io`]; the errors of [`embed`](Self::embed).
    pub fn embed_records<I>(
        &self,
        records: I,
        npy: &Path,
        ids: &Path,
        params: &EmbedParams,
    ) -> Result<EmbedSummary>
    where
        I: IntoIterator,
        I::IntoIter: Clone,
        I::Item: Borrow<BannerRecord>,
    {
        let records = records.into_iter();
        let source = self
            .store_source(&[])?
            .with("records", records_digest(records.clone()));
        self.embed_stream(records.map(Ok), npy, ids, &source, params)
    }

    /// The chunked, resumable loop of [`embed_records`](Self::embed_records) and
    /// [`embed_files`](Self::embed_files).
    fn embed_stream<R: Borrow<BannerRecord>>(
        &self,
        records: impl Iterator<Item = Result<R>>,
        npy: &Path,
        ids: &Path,
        source: &StoreSource,
        params: &EmbedParams,
    ) -> Result<EmbedSummary> {
        let params = &params.check()?;
        let started = Instant::now();
        let mut writer = StoreWriter::resume_with(npy, ids, self.dim, source)?;
        let done = writer.rows();
        let chunk = params.chunk_rows as u64;
        let first_chunk = done / chunk * chunk;
        let bar = progress_bar(params.progress, done);
        let mut summary = EmbedSummary {
            rows: done,
            resumed_from: done,
            embedded: 0,
            recomputed: 0,
            bad_lines: 0,
            truncated: 0,
            seconds: 0.0,
        };
        let mut row = 0u64;
        let mut keys: Vec<RecordKey> = Vec::with_capacity(params.chunk_rows);
        let mut banners: Vec<Vec<u8>> = Vec::with_capacity(params.chunk_rows);
        let mut chunk_start = first_chunk;
        for record in records {
            let record = record?;
            let record = record.borrow();
            row += 1;
            if row <= first_chunk {
                continue;
            }
            keys.push(record.key());
            banners.push(record.banner.clone());
            if keys.len() == params.chunk_rows {
                self.flush(
                    &mut writer,
                    &keys,
                    &banners,
                    chunk_start,
                    params,
                    &mut summary,
                )?;
                chunk_start += keys.len() as u64;
                keys.clear();
                banners.clear();
                bar.set_position(summary.rows);
            }
        }
        if !keys.is_empty() {
            self.flush(
                &mut writer,
                &keys,
                &banners,
                chunk_start,
                params,
                &mut summary,
            )?;
        }
        let rows = writer.finish()?;
        bar.finish_and_clear();
        summary.rows = rows;
        summary.seconds = started.elapsed().as_secs_f64();
        Ok(summary)
    }

    /// Embeds one chunk whose first record is number `chunk_start` and appends the rows the
    /// store does not have yet.
    fn flush(
        &self,
        writer: &mut StoreWriter,
        keys: &[RecordKey],
        banners: &[Vec<u8>],
        chunk_start: u64,
        params: &EmbedParams,
        summary: &mut EmbedSummary,
    ) -> Result<()> {
        let prepared = self.prepare(self.tokenizer.encode_batch(banners)?.into_iter().map(Ok))?;
        summary.truncated += prepared.iter().filter(|p| p.truncated).count() as u64;
        let ids: Vec<Vec<u32>> = prepared.into_iter().map(|p| p.ids).collect();
        let emb = self.run(&ids, params.batch_size, false)?.0;
        let skip = usize::try_from(writer.rows().saturating_sub(chunk_start))
            .unwrap_or(usize::MAX)
            .min(keys.len());
        writer.append(
            &emb.slice_axis(Axis(0), ndarray::Slice::from(skip..)),
            &keys[skip..],
        )?;
        writer.checkpoint()?;
        summary.recomputed += skip as u64;
        summary.embedded += (keys.len() - skip) as u64;
        summary.rows = writer.rows();
        Ok(())
    }

    /// Unpadded ids cut to the model's length, and the positions/ranges of content tokens.
    fn prepare(
        &self,
        encodings: impl Iterator<Item = bpe_tokenizer::Result<BannerEncoding>>,
    ) -> Result<Vec<Prepared>> {
        encodings
            .map(|enc| {
                let enc = enc?;
                let real = enc.attention_mask().iter().filter(|&&m| m == 1).count();
                let cut = real > self.max_len;
                // Keep the first max_len - 1 tokens and the closing `</s>`.
                let positions: Vec<usize> = if cut {
                    (0..self.max_len - 1).chain([real - 1]).collect()
                } else {
                    (0..real).collect()
                };
                let all_ids = enc.ids();
                let ids: Vec<u32> = positions.iter().map(|&p| all_ids[p]).collect();
                roberta_model::check_token_ids(&ids, self.vocab)?;
                let special = enc.special_tokens_mask();
                let offsets = enc.offsets();
                let content = positions
                    .iter()
                    .enumerate()
                    .filter(|&(_, &p)| special[p] == 0)
                    .map(|(j, &p)| (j, offsets[p].0..offsets[p].1))
                    .collect();
                Ok(Prepared {
                    ids,
                    content,
                    truncated: cut || enc.is_truncated(),
                })
            })
            .collect()
    }

    /// Runs the model over `seqs` in length-sorted batches; embeddings in input order and,
    /// when asked, P(stable) per token (unpadded).
    fn run(
        &self,
        seqs: &[Vec<u32>],
        batch_size: usize,
        want_probs: bool,
    ) -> Result<(Array2<f32>, Vec<Vec<f32>>)> {
        if batch_size == 0 {
            return Err(Error::InvalidParam {
                name: "batch_size",
                reason: "must be at least 1".into(),
            });
        }
        let mut out = Array2::<f32>::zeros((seqs.len(), self.dim));
        let mut probs_out = vec![Vec::new(); if want_probs { seqs.len() } else { 0 }];
        let mut order: Vec<usize> = (0..seqs.len()).collect();
        order.sort_by_key(|&i| seqs[i].len());
        for batch in order.chunks(batch_size) {
            let width = batch.iter().map(|&i| seqs[i].len()).max().unwrap_or(0);
            let mut flat = vec![i64::from(self.pad_id); batch.len() * width];
            for (row, &i) in batch.iter().enumerate() {
                for (col, &id) in seqs[i].iter().enumerate() {
                    flat[row * width + col] = i64::from(id);
                }
            }
            let ids = Tensor::<2, Int>::from_data(
                TensorData::new(flat, [batch.len(), width]),
                &self.device,
            );
            let mask: Tensor<2, Bool> = ids.clone().equal_elem(i64::from(self.pad_id));
            let (emb, probs) = match &self.head {
                Head::Stability(model) => {
                    let (states, probs) = model.forward(ids, mask.clone());
                    let emb = pool_weighted(states, probs.clone(), mask);
                    (emb, want_probs.then_some(probs))
                }
                Head::Mean(encoder) => {
                    let states = encoder.forward(ids, mask.clone());
                    let [b, w, _] = states.dims();
                    let ones = Tensor::<2>::ones([b, w], &self.device);
                    (pool_weighted(states, ones, mask), None)
                }
            };
            let emb = read_back(emb)?;
            let probs = probs.map(read_back).transpose()?;
            for (row, &i) in batch.iter().enumerate() {
                out.index_axis_mut(Axis(0), i)
                    .as_slice_mut()
                    .ok_or_else(|| Error::Shape("embedding row not contiguous".into()))?
                    .copy_from_slice(&emb[row * self.dim..(row + 1) * self.dim]);
                if let Some(p) = &probs {
                    probs_out[i] = p[row * width..row * width + seqs[i].len()].to_vec();
                }
            }
        }
        Ok((out, probs_out))
    }
}

/// One banner ready for the model.
struct Prepared {
    ids: Vec<u32>,
    /// (position in `ids`, byte range) of each content token.
    content: Vec<(usize, Range<usize>)>,
    truncated: bool,
}

/// The records of one file, adding its malformed-line count to `bad_lines` when it ends.
struct CountBadLines<'a> {
    reader: RecordReader,
    bad_lines: &'a std::cell::Cell<u64>,
}

impl Iterator for CountBadLines<'_> {
    type Item = Result<BannerRecord>;

    fn next(&mut self) -> Option<Self::Item> {
        let next = self.reader.next();
        if next.is_none() {
            self.bad_lines
                .set(self.bad_lines.get() + self.reader.bad_line_count());
        }
        next.map(|r| r.map_err(Error::from))
    }
}

/// `{"count", "sha256"}` of records: SHA-256 over each record's key (as its JSON text) and
/// banner, each preceded by its length as a little-endian `u64`, in order.
fn records_digest<R: Borrow<BannerRecord>>(records: impl Iterator<Item = R>) -> serde_json::Value {
    let mut h = Sha256::new();
    let mut count = 0usize;
    for r in records {
        let r = r.borrow();
        let key = r.key().to_string();
        h.update((key.len() as u64).to_le_bytes());
        h.update(key.as_bytes());
        h.update((r.banner.len() as u64).to_le_bytes());
        h.update(&r.banner);
        count += 1;
    }
    serde_json::json!({"count": count, "sha256": hex(&h.finalize())})
}

fn read_back<const D: usize>(t: Tensor<D>) -> Result<Vec<f32>> {
    Ok(t.into_data().try_to_vec::<f32>()?)
}

fn progress_bar(show: bool, start: u64) -> indicatif::ProgressBar {
    if !show {
        return indicatif::ProgressBar::hidden();
    }
    let bar = indicatif::ProgressBar::new_spinner();
    if let Ok(style) = indicatif::ProgressStyle::with_template(
        "{spinner} {elapsed_precise} {pos} banners embedded ({per_sec}) {msg}",
    ) {
        bar.set_style(style);
    }
    bar.set_position(start);
    bar.reset_eta();
    bar.reset_elapsed();
    bar.enable_steady_tick(std::time::Duration::from_millis(200));
    bar
}

/// The banners of `keys`, read from banner-record files (any format [`RecordReader`]
/// detects; malformed lines skipped): to show the banners behind neighbours or changes. A
/// key that occurs twice keeps its first banner; keys not found are absent from the map.
///
/// # Errors
/// [`Error::Records`] when a file cannot be read.
pub fn read_banners(
    inputs: &[PathBuf],
    keys: &[RecordKey],
) -> Result<std::collections::HashMap<RecordKey, Vec<u8>>> {
    let wanted: std::collections::HashSet<&RecordKey> = keys.iter().collect();
    let mut found = std::collections::HashMap::with_capacity(wanted.len());
    for path in inputs {
        let opts = ReadOptions::default().on_bad_line(OnBadLine::Skip);
        for record in RecordReader::open(path, opts)? {
            let record = record?;
            let key = record.key();
            if wanted.contains(&key) && !found.contains_key(&key) {
                found.insert(key, record.banner);
                if found.len() == wanted.len() {
                    return Ok(found);
                }
            }
        }
    }
    Ok(found)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Known answer: one record whose key displays as `192.0.2.1:80/http @s` (20 bytes),
    /// banner `ok`: SHA-256 of `20u64 LE ‖ key ‖ 2u64 LE ‖ "ok"`, computed with Python's
    /// `hashlib`.
    #[test]
    fn records_digest_known_answer() {
        let record: BannerRecord = serde_json::from_str(
            r#"{"ip":"192.0.2.1","port":80,"snapshot":"s","protocol":"http","banner":"ok"}"#,
        )
        .expect("record");
        let key = record.key().to_string();
        assert_eq!(key, "192.0.2.1:80/http @s");
        let one = records_digest(std::iter::once(&record));
        assert_eq!(one["count"], 1);
        assert_eq!(
            one["sha256"],
            "eb614993dfca5f327fab9812d82d8e16014a86b82edf6cf9ebd0bdc2983036a6"
        );
        // Owned records and references give the same digest.
        assert_eq!(records_digest([record.clone()].into_iter()), one);
        assert_eq!(
            records_digest(std::iter::empty::<BannerRecord>()),
            serde_json::json!({"count": 0, "sha256": "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"})
        );
    }
}
