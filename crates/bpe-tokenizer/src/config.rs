//! Training configuration: vocabulary size, frequency threshold, sample
//! limit, special tokens, sequence length.

use crate::error::{Error, Result};

/// The paper's vocabulary size (50,000 tokens).
pub const PAPER_VOCAB_SIZE: usize = 50_000;

/// The longest encoding, special tokens included, in the authors' code (768
/// tokens; their model has `max_position_embeddings` 770 because RoBERTa
/// positions start after the padding index 1).
pub const PAPER_MAX_LENGTH: usize = 768;

/// Number of bytes, hence of symbols in the byte-level base alphabet.
pub(crate) const BYTE_ALPHABET: usize = 256;

/// The five special tokens of a RoBERTa tokenizer. Training gives them the
/// ids RoBERTa uses: `bos` 0, `pad` 1, `eos` 2, `unk` 3, `mask` 4.
///
/// `unk` is never produced by encoding (every byte is in the base alphabet);
/// it is kept because Hugging Face `transformers` expects one.
#[derive(Debug, Clone, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub struct SpecialTokens {
    /// Start of sequence (also the classification token): `<s>`.
    pub bos: String,
    /// End of sequence (also the separator): `</s>`.
    pub eos: String,
    /// Padding: `<pad>`.
    pub pad: String,
    /// Unknown: `<unk>`.
    pub unk: String,
    /// Mask for masked-LM pretraining: `<mask>`.
    pub mask: String,
}

impl Default for SpecialTokens {
    fn default() -> Self {
        SpecialTokens {
            bos: "<s>".into(),
            eos: "</s>".into(),
            pad: "<pad>".into(),
            unk: "<unk>".into(),
            mask: "<mask>".into(),
        }
    }
}

impl SpecialTokens {
    /// The tokens in id order: bos, pad, eos, unk, mask (RoBERTa's order).
    pub fn in_id_order(&self) -> [&str; 5] {
        [&self.bos, &self.pad, &self.eos, &self.unk, &self.mask]
    }

    /// Whether the tokens are non-empty and distinct (part of [`TrainConfig::check`]).
    fn check_roles(&self) -> Result<()> {
        let all = self.in_id_order();
        for (i, t) in all.iter().enumerate() {
            if t.is_empty() {
                return Err(Error::param("special_tokens", "a special token is empty"));
            }
            if all[..i].contains(t) {
                return Err(Error::param(
                    "special_tokens",
                    format!("{t:?} is used for two roles"),
                ));
            }
        }
        Ok(())
    }
}

/// The ids of the special tokens in a trained or loaded tokenizer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct SpecialIds {
    /// `<s>`.
    pub bos: u32,
    /// `</s>`.
    pub eos: u32,
    /// `<pad>`.
    pub pad: u32,
    /// `<unk>`.
    pub unk: u32,
    /// `<mask>`.
    pub mask: u32,
}

/// How encodings of a batch are padded.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
#[non_exhaustive]
pub enum Padding {
    /// No padding: every encoding has its own length.
    None,
    /// Pad every encoding of a batch to the longest one (the default).
    #[default]
    BatchLongest,
    /// Pad every encoding to this many tokens (longer ones are not cut:
    /// truncation does that).
    Fixed(usize),
}

/// A [`TrainConfig`] that passed [`TrainConfig::check`]: what
/// [`BannerTokenizer::train`](crate::BannerTokenizer::train) takes.
///
/// ```
/// use bpe_tokenizer::TrainConfig;
///
/// let config = TrainConfig::default().vocab_size(8_000).max_samples(1_000_000).check()?;
/// assert_eq!((config.vocab_size(), config.min_frequency()), (8_000, 2));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ValidTrainConfig {
    vocab_size: usize,
    min_frequency: u64,
    max_samples: Option<u64>,
    special_tokens: SpecialTokens,
    max_length: Option<usize>,
    padding: Padding,
    show_progress: bool,
}

impl Default for TrainConfig {
    /// The paper's setting: 50,000 tokens, minimum pair frequency 2, every
    /// sample, RoBERTa special tokens, truncation to 768 tokens, batch padding,
    /// no progress bar.
    fn default() -> Self {
        TrainConfig(ValidTrainConfig {
            vocab_size: PAPER_VOCAB_SIZE,
            min_frequency: 2,
            max_samples: None,
            special_tokens: SpecialTokens::default(),
            max_length: Some(PAPER_MAX_LENGTH),
            padding: Padding::BatchLongest,
            show_progress: false,
        })
    }
}

impl ValidTrainConfig {
    /// Target vocabulary size, special tokens and the 256 byte symbols
    /// included. Training stops earlier when no pair reaches
    /// `min_frequency`.
    pub fn vocab_size(&self) -> usize {
        self.vocab_size
    }

    /// Pairs seen fewer times are never merged.
    pub fn min_frequency(&self) -> u64 {
        self.min_frequency
    }

    /// At most this many banners are read (`None`: all).
    pub fn max_samples(&self) -> Option<u64> {
        self.max_samples
    }

    /// The special tokens.
    pub fn special_tokens(&self) -> &SpecialTokens {
        &self.special_tokens
    }

    /// Truncation length of the saved tokenizer, special tokens included.
    pub fn max_length(&self) -> Option<usize> {
        self.max_length
    }

    /// Padding of the saved tokenizer.
    pub fn padding(&self) -> Padding {
        self.padding
    }

    /// Whether training draws progress bars on stderr.
    pub fn show_progress(&self) -> bool {
        self.show_progress
    }
}

/// Configuration of tokenizer training, unchecked: consuming setters from the paper's setting
/// ([`Default`]); [`check`](Self::check) validates it into the [`ValidTrainConfig`] that
/// [`BannerTokenizer::train`](crate::BannerTokenizer::train) takes.
///
/// ```
/// use bpe_tokenizer::TrainConfig;
///
/// let config = TrainConfig::default().vocab_size(8_000).check()?;
/// assert_eq!(config.vocab_size(), 8_000);
/// assert!(TrainConfig::default().vocab_size(100).check().is_err()); // below 256 bytes + 5 specials
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[must_use]
pub struct TrainConfig(ValidTrainConfig);

impl TrainConfig {
    /// Target vocabulary size (default 50,000); at least 261 (256 bytes + 5
    /// special tokens).
    pub fn vocab_size(mut self, vocab_size: usize) -> Self {
        self.0.vocab_size = vocab_size;
        self
    }

    /// Minimum frequency of a pair to be merged (default 2); at least 1.
    pub fn min_frequency(mut self, min_frequency: u64) -> Self {
        self.0.min_frequency = min_frequency;
        self
    }

    /// Read at most `n` banners (default: all); at least 1.
    pub fn max_samples(mut self, n: u64) -> Self {
        self.0.max_samples = Some(n);
        self
    }

    /// The special tokens (default RoBERTa's).
    pub fn special_tokens(mut self, special_tokens: SpecialTokens) -> Self {
        self.0.special_tokens = special_tokens;
        self
    }

    /// Truncate encodings to this many tokens, `<s>` and `</s>` included
    /// (default 768; `None`: no truncation); at least 3.
    pub fn max_length(mut self, max_length: Option<usize>) -> Self {
        self.0.max_length = max_length;
        self
    }

    /// How batches are padded (default [`Padding::BatchLongest`]).
    pub fn padding(mut self, padding: Padding) -> Self {
        self.0.padding = padding;
        self
    }

    /// Draw progress bars on stderr while training (default off; needs the
    /// `progressbar` feature, otherwise ignored). The bar of the reading
    /// phase knows its total only when the banner iterator reports an upper
    /// bound (a `Vec`, a slice, or any source with `max_samples` set);
    /// otherwise it counts banners against a total of 0.
    pub fn show_progress(mut self, show: bool) -> Self {
        self.0.show_progress = show;
        self
    }

    /// Validates the configuration.
    ///
    /// # Errors
    /// [`Error::InvalidParam`] naming the first invalid parameter.
    pub fn check(self) -> Result<ValidTrainConfig> {
        let c = self.0;
        let floor = BYTE_ALPHABET + 5;
        if c.vocab_size < floor {
            return Err(Error::param(
                "vocab_size",
                format!(
                    "{} is below {floor} (256 byte symbols + 5 special tokens)",
                    c.vocab_size
                ),
            ));
        }
        if c.vocab_size > u32::MAX as usize {
            return Err(Error::param("vocab_size", "ids must fit in u32"));
        }
        if c.min_frequency == 0 {
            return Err(Error::param(
                "min_frequency",
                "must be at least 1 (1 merges every pair)",
            ));
        }
        if c.max_samples == Some(0) {
            return Err(Error::param("max_samples", "must be at least 1"));
        }
        if let Some(n) = c.max_length
            && n < 3
        {
            return Err(Error::param(
                "max_length",
                format!("{n} leaves no room for content between <s> and </s> (at least 3)"),
            ));
        }
        if let Padding::Fixed(0) = c.padding {
            return Err(Error::param("padding", "fixed length must be at least 1"));
        }
        c.special_tokens.check_roles()?;
        Ok(c)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_is_valid_and_papers() {
        let c = TrainConfig::default().check().map_err(|e| e.to_string());
        assert_eq!(c.as_ref().map(ValidTrainConfig::vocab_size), Ok(50_000));
        assert_eq!(c.as_ref().map(ValidTrainConfig::max_length), Ok(Some(768)));
        assert_eq!(c.as_ref().map(ValidTrainConfig::min_frequency), Ok(2));
    }

    #[test]
    fn each_invalid_param_is_rejected() {
        let name = |b: TrainConfig| match b.check() {
            Err(Error::InvalidParam { name, .. }) => Some(name),
            _ => None,
        };
        let b = TrainConfig::default;
        assert_eq!(name(b().vocab_size(260)), Some("vocab_size"));
        assert_eq!(name(b().vocab_size(261)), None);
        assert_eq!(name(b().min_frequency(0)), Some("min_frequency"));
        assert_eq!(name(b().max_samples(0)), Some("max_samples"));
        assert_eq!(name(b().max_length(Some(2))), Some("max_length"));
        assert_eq!(name(b().max_length(None)), None);
        assert_eq!(name(b().padding(Padding::Fixed(0))), Some("padding"));
        let dup = SpecialTokens {
            mask: "<s>".into(),
            ..SpecialTokens::default()
        };
        assert_eq!(name(b().special_tokens(dup)), Some("special_tokens"));
        let empty = SpecialTokens {
            unk: String::new(),
            ..SpecialTokens::default()
        };
        assert_eq!(name(b().special_tokens(empty)), Some("special_tokens"));
    }
}
