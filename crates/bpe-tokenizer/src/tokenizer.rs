//! [`BannerTokenizer`]: training, saving, loading, encoding and decoding.

use std::path::Path;
use std::sync::Mutex;

use banner_parse::{BannerKind, BannerPair, Label, Labeler, PairLabels};
use tokenizers::models::TrainerWrapper;
use tokenizers::models::bpe::{BPE, BpeTrainerBuilder};
use tokenizers::parallelism::MaybeParallelRefIterator;
use tokenizers::pre_tokenizers::byte_level::ByteLevel;
use tokenizers::processors::roberta::RobertaProcessing;
use tokenizers::{
    AddedToken, Encoding, PaddingDirection, PaddingParams, PaddingStrategy, Tokenizer,
    TruncationDirection, TruncationParams, TruncationStrategy,
};

use crate::align::{LabelledEncoding, LabelledPair, align_labels};
use crate::bytes::bytes_to_text;
use crate::config::{Padding, SpecialIds, SpecialTokens, ValidTrainConfig};
use crate::error::{BoxError, Error, Result};

/// A byte-level BPE tokenizer for banners: a Hugging Face
/// [`tokenizers::Tokenizer`] in the RoBERTa layout (no normalizer, byte-level
/// pre-tokenizer without prefix space, BPE, `<s> … </s>` post-processor,
/// byte-level decoder), fed banner bytes through the latin-1 mapping of
/// [`bytes_to_text`](crate::bytes_to_text) so that any byte string encodes
/// and decodes losslessly.
///
/// ```
/// use bpe_tokenizer::{BannerTokenizer, TrainConfig};
///
/// let banners = [
///     &b"HTTP/1.1 200 OK\r\nServer: nginx/1.18.0\r\nContent-Type: text/html\r\n"[..],
///     b"HTTP/1.1 404 Not Found\r\nServer: nginx/1.18.0\r\nContent-Length: 153\r\n",
///     b"SSH-2.0-OpenSSH_8.9p1 Ubuntu-3\r\n",
/// ];
/// let tok = BannerTokenizer::train(banners, &TrainConfig::default().vocab_size(300).check()?)?;
///
/// let banner = b"HTTP/1.1 200 OK\r\nServer: nginx\xff\x00\r\n";
/// let enc = tok.encode(banner)?;
/// assert_eq!(enc.ids()[0], tok.special_ids().bos);
/// assert_eq!(tok.decode(enc.ids())?, banner); // lossless, even for 0xff and NUL
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone)]
pub struct BannerTokenizer {
    tokenizer: Tokenizer,
    special: SpecialIds,
}

/// The tokens of one banner: ids with byte offsets into the banner.
///
/// Offsets are `(start, end)` byte ranges of the banner; `<s>`, `</s>` and
/// padding have `(0, 0)` and a 1 in the special-tokens mask.
#[derive(Debug, Clone, PartialEq)]
pub struct BannerEncoding {
    inner: Encoding,
    banner_len: usize,
    truncated: bool,
}

impl Eq for BannerEncoding {}

impl BannerEncoding {
    /// Token ids.
    pub fn ids(&self) -> &[u32] {
        self.inner.get_ids()
    }

    /// Byte range of the banner covered by each token.
    pub fn offsets(&self) -> &[(usize, usize)] {
        self.inner.get_offsets()
    }

    /// 1 for `<s>`, `</s>` and padding, 0 for banner tokens.
    pub fn special_tokens_mask(&self) -> &[u32] {
        self.inner.get_special_tokens_mask()
    }

    /// 1 for real tokens, 0 for padding.
    pub fn attention_mask(&self) -> &[u32] {
        self.inner.get_attention_mask()
    }

    /// Number of tokens, special and padding tokens included.
    pub fn len(&self) -> usize {
        self.inner.len()
    }

    /// Whether there are no tokens at all (never after post-processing).
    pub fn is_empty(&self) -> bool {
        self.inner.is_empty()
    }

    /// Length in bytes of the banner this encoding was made from.
    pub fn banner_len(&self) -> usize {
        self.banner_len
    }

    /// Whether truncation cut tokens off the end of the banner.
    pub fn is_truncated(&self) -> bool {
        self.truncated
    }

    /// Number of tokens that stand for banner bytes (not special, not padding).
    pub fn content_len(&self) -> usize {
        self.special_tokens_mask()
            .iter()
            .filter(|&&m| m == 0)
            .count()
    }

    /// The underlying Hugging Face encoding (its overflowing part is dropped).
    pub fn as_inner(&self) -> &Encoding {
        &self.inner
    }

    /// Unwraps the Hugging Face encoding.
    pub fn into_inner(self) -> Encoding {
        self.inner
    }
}

const MEMORY: &str = "<memory>";

/// Longest `tokenizer.json` read by [`BannerTokenizer::from_file`] (256 MiB; a 50,000-token
/// tokenizer is about 2 MB). Parsing takes memory proportional to the file.
pub const MAX_TOKENIZER_BYTES: u64 = 256 << 20;

impl BannerTokenizer {
    /// Trains a tokenizer on `banners` (any byte strings), streaming: each
    /// banner is pre-tokenized and counted as it arrives (in parallel), and
    /// only the word counts are kept in memory.
    ///
    /// # Errors
    /// [`Error::Tokenizer`] when the `tokenizers` trainer fails.
    pub fn train<I>(banners: I, config: &ValidTrainConfig) -> Result<Self>
    where
        I: IntoIterator,
        I::IntoIter: Send,
        I::Item: AsRef<[u8]> + Send,
    {
        let texts = banners.into_iter().map(|b| bytes_to_text(b.as_ref()));
        match config.max_samples() {
            Some(n) => {
                Self::train_texts(texts.take(usize::try_from(n).unwrap_or(usize::MAX)), config)
            }
            None => Self::train_texts(texts, config),
        }
    }

    /// Like [`train`](Self::train) for a fallible source such as a
    /// [`banner_parse::RecordReader`] mapped to banners: reading stops at the
    /// first error, which is returned (the `tokenizers` trainer cannot be
    /// interrupted, so it still finishes on the banners read before it).
    ///
    /// ```no_run
    /// use banner_parse::{ReadOptions, RecordReader};
    /// use bpe_tokenizer::{BannerTokenizer, TrainConfig};
    ///
    /// let reader = RecordReader::open("snapshot-2023-07.jsonl.gz", ReadOptions::default())?;
    /// let config = TrainConfig::default().vocab_size(8_000).show_progress(true).check()?;
    /// let tok = BannerTokenizer::try_train(reader.map(|r| r.map(|rec| rec.banner)), &config)?;
    /// tok.save("tokenizer.json")?;
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    ///
    /// # Errors
    /// [`Error::Input`] with the source's first error; [`Error::Tokenizer`]
    /// when training fails.
    pub fn try_train<I, B, E>(banners: I, config: &ValidTrainConfig) -> Result<Self>
    where
        I: IntoIterator<Item = std::result::Result<B, E>>,
        I::IntoIter: Send,
        B: AsRef<[u8]> + Send,
        E: Into<BoxError>,
    {
        let failure: Mutex<Option<BoxError>> = Mutex::new(None);
        let ok = banners.into_iter().map_while(|r| match r {
            Ok(b) => Some(b),
            Err(e) => {
                let mut slot = failure
                    .lock()
                    .unwrap_or_else(std::sync::PoisonError::into_inner);
                slot.get_or_insert(e.into());
                None
            }
        });
        let trained = Self::train(ok, config);
        match failure
            .into_inner()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
        {
            Some(e) => Err(Error::Input(e)),
            None => trained,
        }
    }

    fn train_texts<I>(texts: I, config: &ValidTrainConfig) -> Result<Self>
    where
        I: Iterator<Item = String> + Send,
    {
        let specials = config.special_tokens();
        let mut tokenizer = Tokenizer::new(BPE::default());
        tokenizer
            .with_pre_tokenizer(Some(byte_level()))
            .with_decoder(Some(byte_level()));
        tokenizer.set_encode_special_tokens(true);
        let trainer = BpeTrainerBuilder::new()
            .vocab_size(config.vocab_size())
            .min_frequency(config.min_frequency())
            .show_progress(config.show_progress())
            .special_tokens(
                specials
                    .in_id_order()
                    .iter()
                    .map(|t| AddedToken::from(*t, true))
                    .collect(),
            )
            .initial_alphabet(ByteLevel::alphabet().into_iter().collect())
            .build();
        let mut trainer = TrainerWrapper::from(trainer);
        tokenizer
            .train(&mut trainer, texts)
            .map_err(|e| Error::tokenizer("training", e))?;
        let special = special_ids(&tokenizer, specials)
            .map_err(|reason| Error::tokenizer("training", reason.into()))?;
        tokenizer.with_post_processor(Some(
            RobertaProcessing::new(
                (specials.eos.clone(), special.eos),
                (specials.bos.clone(), special.bos),
            )
            .trim_offsets(false)
            .add_prefix_space(false),
        ));
        let mut out = BannerTokenizer { tokenizer, special };
        out.set_max_length(config.max_length())?;
        out.set_padding(config.padding());
        Ok(out)
    }

    /// Loads a `tokenizer.json` written by [`save`](Self::save) or by Python
    /// (`tokenizers`/`transformers`) with RoBERTa's special tokens.
    ///
    /// # Errors
    /// [`Error::Io`] when the file cannot be read, [`Error::Load`] when it is
    /// not a tokenizer, [`Error::Incompatible`] when it is not lossless
    /// byte-level BPE (see [`from_json`](Self::from_json)).
    pub fn from_file(path: impl AsRef<Path>) -> Result<Self> {
        Self::from_file_with(path, &SpecialTokens::default())
    }

    /// Like [`from_file`](Self::from_file) with other special tokens.
    ///
    /// # Errors
    /// As [`from_file`](Self::from_file).
    pub fn from_file_with(path: impl AsRef<Path>, specials: &SpecialTokens) -> Result<Self> {
        use std::io::Read as _;
        let path = path.as_ref();
        let file = std::fs::File::open(path).map_err(|e| Error::io(path, e))?;
        let mut json = String::new();
        file.take(MAX_TOKENIZER_BYTES + 1)
            .read_to_string(&mut json)
            .map_err(|e| Error::io(path, e))?;
        if json.len() as u64 > MAX_TOKENIZER_BYTES {
            return Err(Error::Incompatible {
                path: path.to_path_buf(),
                reason: format!("longer than {MAX_TOKENIZER_BYTES} bytes"),
            });
        }
        Self::parse(&json, path, specials)
    }

    /// Parses the text of a `tokenizer.json` with RoBERTa's special tokens.
    ///
    /// The tokenizer must be lossless byte-level BPE: no normalizer, a
    /// `ByteLevel` pre-tokenizer without prefix space, a `ByteLevel`
    /// decoder, a BPE model, and the special tokens as special added tokens;
    /// a `RobertaProcessing` post-processor, when present, must not trim
    /// offsets (token offsets must cover every byte for label alignment).
    ///
    /// # Errors
    /// [`Error::Load`] or [`Error::Incompatible`].
    pub fn from_json(json: &str) -> Result<Self> {
        Self::parse(json, Path::new(MEMORY), &SpecialTokens::default())
    }

    fn parse(json: &str, path: &Path, specials: &SpecialTokens) -> Result<Self> {
        let incompatible = |reason: String| Error::Incompatible {
            path: path.to_path_buf(),
            reason,
        };
        let value: serde_json::Value = serde_json::from_str(json).map_err(|e| Error::Load {
            path: path.to_path_buf(),
            source: e.into(),
        })?;
        check_layout(&value).map_err(incompatible)?;
        let mut tokenizer: Tokenizer = json.parse().map_err(|e| Error::Load {
            path: path.to_path_buf(),
            source: e,
        })?;
        tokenizer.set_encode_special_tokens(true);
        // Ids must lie in `0..vocab_size`: models are sized by `vocab_size`, and a sparse id
        // would only fail when it reaches a model.
        let size = tokenizer.get_vocab_size(true);
        if let Some((token, id)) = tokenizer
            .get_vocab(true)
            .into_iter()
            .find(|(_, id)| *id as usize >= size)
        {
            let token: String = token.chars().take(40).collect();
            return Err(incompatible(format!(
                "token {token:?} has id {id}, outside 0..{size} (the vocabulary's size)"
            )));
        }
        // Ids the file states outside the vocabulary: the post-processor's `<s>`/`</s>` and
        // the padding id go into encodings as they are.
        for part in ["cls", "sep"] {
            if let Some(pair) = value["post_processor"].get(part) {
                let token = pair.get(0).and_then(serde_json::Value::as_str);
                let id = pair.get(1).and_then(serde_json::Value::as_u64);
                let known = token.and_then(|t| tokenizer.token_to_id(t));
                if id.is_none() || id != known.map(u64::from) {
                    return Err(incompatible(format!(
                        "the post_processor's {part} {pair} is not a token of the vocabulary \
                         with that id"
                    )));
                }
            }
        }
        if let Some(p) = tokenizer.get_padding()
            && p.pad_id as usize >= size
        {
            return Err(incompatible(format!(
                "padding id {} is outside 0..{size}",
                p.pad_id
            )));
        }
        let special = special_ids(&tokenizer, specials).map_err(incompatible)?;
        Ok(BannerTokenizer { tokenizer, special })
    }

    /// The tokenizer as `tokenizer.json` text.
    ///
    /// # Errors
    /// [`Error::Tokenizer`] when serialisation fails.
    pub fn to_json(&self, pretty: bool) -> Result<String> {
        self.tokenizer
            .to_string(pretty)
            .map_err(|e| Error::tokenizer("serialising", e))
    }

    /// Writes `tokenizer.json` atomically ([`bannerlm_base::write_atomic`]: a
    /// temporary file in the same directory, synced, mode 0644, renamed), so a
    /// crash never leaves a partial file.
    ///
    /// # Errors
    /// [`Error::Io`] on write errors, [`Error::Tokenizer`] when serialisation fails.
    pub fn save(&self, path: impl AsRef<Path>) -> Result<()> {
        let path = path.as_ref();
        let json = self.to_json(true)?;
        bannerlm_base::write_atomic(path, json.as_bytes()).map_err(|e| Error::io(path, e))
    }

    /// Encodes one banner, with `<s>`/`</s>`, truncated to
    /// [`max_length`](Self::max_length).
    ///
    /// # Errors
    /// [`Error::Tokenizer`] when the `tokenizers` pipeline fails.
    pub fn encode(&self, banner: &[u8]) -> Result<BannerEncoding> {
        let enc = self
            .tokenizer
            .encode_char_offsets(bytes_to_text(banner), true)
            .map_err(|e| Error::tokenizer("encoding", e))?;
        Ok(wrap(enc, banner.len()))
    }

    /// Encodes many banners in parallel (rayon, through `tokenizers`; set
    /// `TOKENIZERS_PARALLELISM=false` to disable), padded as configured. For
    /// millions of banners, call it on batches of a few thousand.
    ///
    /// # Errors
    /// [`Error::Tokenizer`] when the `tokenizers` pipeline fails.
    pub fn encode_batch<B: AsRef<[u8]> + Sync>(
        &self,
        banners: &[B],
    ) -> Result<Vec<BannerEncoding>> {
        let texts: Vec<String> = banners
            .maybe_par_iter()
            .map(|b| bytes_to_text(b.as_ref()))
            .collect();
        let encodings = self
            .tokenizer
            .encode_batch_char_offsets(texts, true)
            .map_err(|e| Error::tokenizer("encoding", e))?;
        Ok(encodings
            .into_iter()
            .zip(banners)
            .map(|(e, b)| wrap(e, b.as_ref().len()))
            .collect())
    }

    /// Encodes a banner and labels its tokens from per-byte labels (see
    /// [`align_labels`] for the rule).
    ///
    /// # Errors
    /// As [`encode`](Self::encode) and [`align_labels`].
    pub fn encode_labelled(
        &self,
        banner: &[u8],
        byte_labels: &[Label],
    ) -> Result<LabelledEncoding> {
        let encoding = self.encode(banner)?;
        let labels = align_labels(&encoding, byte_labels)?;
        Ok(LabelledEncoding { encoding, labels })
    }

    /// Encodes both banners of a pair (one batch, so padded to the same
    /// length under [`Padding::BatchLongest`]) and labels their tokens from
    /// the pair's byte labels.
    ///
    /// # Errors
    /// As [`encode_batch`](Self::encode_batch) and [`align_labels`].
    pub fn encode_pair(&self, a: &[u8], b: &[u8], labels: &PairLabels) -> Result<LabelledPair> {
        let mut enc = self.encode_batch(&[a, b])?.into_iter();
        let (Some(ea), Some(eb)) = (enc.next(), enc.next()) else {
            return Err(Error::tokenizer(
                "encoding",
                "a batch of 2 gave fewer encodings".into(),
            ));
        };
        let la = align_labels(&ea, &labels.a)?;
        let lb = align_labels(&eb, &labels.b)?;
        Ok(LabelledPair {
            a: LabelledEncoding {
                encoding: ea,
                labels: la,
            },
            b: LabelledEncoding {
                encoding: eb,
                labels: lb,
            },
        })
    }

    /// Labels (with banner-parse's default rule, HTTP or text by protocol),
    /// encodes and aligns many pairs in parallel. All banners of the call
    /// form one batch: under [`Padding::BatchLongest`] they are padded to the
    /// longest of them (call it on chunks of similar pairs to pad less).
    /// Filter the result with
    /// [`LabelledPair::is_kept`] to apply the paper's 11-token threshold.
    ///
    /// # Errors
    /// As [`encode_batch`](Self::encode_batch).
    pub fn encode_pairs(&self, pairs: &[BannerPair]) -> Result<Vec<LabelledPair>> {
        let labels: Vec<PairLabels> = pairs
            .maybe_par_iter()
            .map_init(Labeler::default, |labeler, p| {
                labeler.label(
                    &p.before.banner,
                    &p.after.banner,
                    BannerKind::for_protocol(&p.before.protocol),
                )
            })
            .collect();
        let banners: Vec<&[u8]> = pairs
            .iter()
            .flat_map(|p| [p.before.banner.as_slice(), p.after.banner.as_slice()])
            .collect();
        let mut encodings = self.encode_batch(&banners)?.into_iter();
        let mut out = Vec::with_capacity(pairs.len());
        for l in labels {
            let (Some(ea), Some(eb)) = (encodings.next(), encodings.next()) else {
                return Err(Error::tokenizer(
                    "encoding",
                    "batch gave fewer encodings".into(),
                ));
            };
            let la = align_labels(&ea, &l.a)?;
            let lb = align_labels(&eb, &l.b)?;
            out.push(LabelledPair {
                a: LabelledEncoding {
                    encoding: ea,
                    labels: la,
                },
                b: LabelledEncoding {
                    encoding: eb,
                    labels: lb,
                },
            });
        }
        Ok(out)
    }

    /// Decodes token ids back to banner bytes, skipping special and padding
    /// tokens. `decode(encode(b).ids()) == b` for every untruncated `b`.
    ///
    /// A byte above `0x7F` is two byte-level symbols; if the ids hold only
    /// one of them (truncation cut between them, or the ids were not made
    /// by encoding) that incomplete byte is left out.
    ///
    /// # Errors
    /// [`Error::UnknownId`] for an id outside the vocabulary.
    pub fn decode(&self, ids: &[u32]) -> Result<Vec<u8>> {
        let vocab_size = self.vocab_size();
        if let Some(&id) = ids.iter().find(|&&id| id as usize >= vocab_size) {
            return Err(Error::UnknownId { id, vocab_size });
        }
        let text = self
            .tokenizer
            .decode(ids, true)
            .map_err(|e| Error::tokenizer("decoding", e))?;
        // Characters above U+00FF can only be U+FFFD replacing an incomplete
        // byte (the encoded text is latin-1): leave them out.
        Ok(text
            .chars()
            .filter_map(|c| u8::try_from(u32::from(c)).ok())
            .collect())
    }

    /// Vocabulary size, special tokens included (ids are `0..vocab_size`).
    pub fn vocab_size(&self) -> usize {
        self.tokenizer.get_vocab_size(true)
    }

    /// The ids of the special tokens.
    pub fn special_ids(&self) -> SpecialIds {
        self.special
    }

    /// The token string of an id (in byte-level symbols, e.g. `Ġ` for a space).
    pub fn id_to_token(&self, id: u32) -> Option<String> {
        self.tokenizer.id_to_token(id)
    }

    /// Truncation length, special tokens included (`None`: no truncation).
    pub fn max_length(&self) -> Option<usize> {
        self.tokenizer.get_truncation().map(|t| t.max_length)
    }

    /// Sets the truncation length, special tokens included (`None`: off).
    ///
    /// # Errors
    /// [`Error::InvalidParam`] when the length is below 3.
    pub fn set_max_length(&mut self, max_length: Option<usize>) -> Result<()> {
        let params = match max_length {
            Some(n) if n < 3 => {
                return Err(Error::param(
                    "max_length",
                    format!("{n} leaves no room for content between <s> and </s> (at least 3)"),
                ));
            }
            Some(n) => Some(TruncationParams {
                direction: TruncationDirection::Right,
                max_length: n,
                strategy: TruncationStrategy::LongestFirst,
                stride: 0,
            }),
            None => None,
        };
        self.tokenizer
            .with_truncation(params)
            .map_err(|e| Error::tokenizer("setting truncation", e))?;
        Ok(())
    }

    /// The padding of batches.
    pub fn padding(&self) -> Padding {
        match self.tokenizer.get_padding().map(|p| p.strategy.clone()) {
            None => Padding::None,
            Some(PaddingStrategy::BatchLongest) => Padding::BatchLongest,
            Some(PaddingStrategy::Fixed(n)) => Padding::Fixed(n),
        }
    }

    /// Sets how batches are padded (with `<pad>`, on the right).
    pub fn set_padding(&mut self, padding: Padding) {
        let strategy = match padding {
            Padding::None => None,
            Padding::BatchLongest => Some(PaddingStrategy::BatchLongest),
            Padding::Fixed(n) => Some(PaddingStrategy::Fixed(n)),
        };
        let pad_token = self.id_to_token(self.special.pad).unwrap_or_default();
        self.tokenizer
            .with_padding(strategy.map(|strategy| PaddingParams {
                strategy,
                direction: PaddingDirection::Right,
                pad_to_multiple_of: None,
                pad_id: self.special.pad,
                pad_type_id: 0,
                pad_token,
            }));
    }

    /// The underlying Hugging Face tokenizer. It works on text: give it
    /// [`bytes_to_text`](crate::bytes_to_text) of a banner.
    pub fn as_inner(&self) -> &Tokenizer {
        &self.tokenizer
    }

    /// Unwraps the Hugging Face tokenizer.
    pub fn into_inner(self) -> Tokenizer {
        self.tokenizer
    }
}

fn byte_level() -> ByteLevel {
    ByteLevel::new(false, false, true)
}

fn wrap(mut inner: Encoding, banner_len: usize) -> BannerEncoding {
    let overflow = inner.get_overflowing_mut();
    let truncated = !overflow.is_empty();
    overflow.clear();
    BannerEncoding {
        inner,
        banner_len,
        truncated,
    }
}

fn special_ids(
    tokenizer: &Tokenizer,
    specials: &SpecialTokens,
) -> std::result::Result<SpecialIds, String> {
    let added = tokenizer.get_added_vocabulary();
    let id = |t: &str| match tokenizer.token_to_id(t) {
        Some(id) if added.is_special_token(t) => Ok(id),
        Some(_) => Err(format!("{t:?} is not a special token")),
        None => Err(format!("special token {t:?} is missing")),
    };
    Ok(SpecialIds {
        bos: id(&specials.bos)?,
        eos: id(&specials.eos)?,
        pad: id(&specials.pad)?,
        unk: id(&specials.unk)?,
        mask: id(&specials.mask)?,
    })
}

/// Checks the parts of a `tokenizer.json` that losslessness and offsets depend on.
fn check_layout(v: &serde_json::Value) -> std::result::Result<(), String> {
    let ty = |part: &str| {
        v.get(part)
            .and_then(|p| p.get("type"))
            .and_then(|t| t.as_str())
    };
    if !v.get("normalizer").is_none_or(serde_json::Value::is_null) {
        return Err("it has a normalizer (it would change banner bytes)".into());
    }
    if ty("model") != Some("BPE") {
        return Err(format!("model is {:?}, not BPE", ty("model")));
    }
    if ty("pre_tokenizer") != Some("ByteLevel") {
        return Err(format!(
            "pre_tokenizer is {:?}, not ByteLevel",
            ty("pre_tokenizer")
        ));
    }
    if v["pre_tokenizer"].get("add_prefix_space") == Some(&serde_json::Value::Bool(true)) {
        return Err("the ByteLevel pre_tokenizer adds a prefix space (decoding would not give the banner back)".into());
    }
    if ty("decoder") != Some("ByteLevel") {
        return Err(format!("decoder is {:?}, not ByteLevel", ty("decoder")));
    }
    match ty("post_processor") {
        Some("RobertaProcessing" | "ByteLevel")
            if v["post_processor"].get("trim_offsets") == Some(&serde_json::Value::Bool(true)) =>
        {
            Err(
                "the post_processor trims offsets (labels could not be aligned with every byte)"
                    .into(),
            )
        }
        None | Some("RobertaProcessing" | "ByteLevel") => Ok(()),
        Some(other) => Err(format!(
            "post_processor is {other:?}, not RobertaProcessing"
        )),
    }
}
