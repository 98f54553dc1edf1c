//! # bpe-tokenizer
//!
//! Byte-level BPE for scan banners, the paper's tokenizer: RoBERTa-style
//! byte-level BPE retrained on banners (paper: 50,000 tokens on 100M
//! banners), because a natural-language vocabulary fits scan data badly.
//! Built on the Hugging Face [`tokenizers`] crate: training, the BPE model
//! and the `tokenizer.json` format are theirs, so Python's `tokenizers` and
//! `transformers` load what this crate saves.
//!
//! # API
//!
//! - **Training** ([`BannerTokenizer::train`], [`BannerTokenizer::try_train`])
//!   from any iterator of banners, streaming, with a progress bar
//!   ([`TrainConfig`]: vocabulary size, minimum pair frequency, sample limit,
//!   special tokens `<s> </s> <pad> <unk> <mask>` with RoBERTa's ids 0, 2, 1,
//!   3, 4, truncation length, padding; [`TrainConfig::check`] gives the
//!   [`ValidTrainConfig`] that training takes).
//! - **Lossless bytes** ([`bytes_to_text`]): banners are bytes, often not
//!   UTF-8, with NULs. Each byte is mapped to the character of the same code
//!   point (latin-1) before the byte-level pre-tokenizer, so every byte
//!   string encodes, offsets are byte offsets, and
//!   `decode(encode(b)) == b`. Special-token strings inside a banner
//!   (`</s>` in HTML) are encoded as text, never as special tokens.
//! - **Encoding** ([`BannerTokenizer::encode`], [`BannerTokenizer::encode_batch`],
//!   parallel): ids, byte offsets, attention and special-token masks,
//!   `<s> … </s>`, truncation (paper: 768 tokens, for a model with 770
//!   positions) and batch padding.
//! - **Label alignment** ([`align_labels`], [`BannerTokenizer::encode_pair`],
//!   [`BannerTokenizer::encode_pairs`]): per-byte stable/dynamic labels from
//!   [`banner_parse::label_pair`] become per-token labels (rule:
//!   [`label_of_bytes`]), with counts of matched tokens so that a trainer can
//!   drop pairs below [`MIN_MATCHED_TOKENS`] (11).
//!
//! Place in the pipeline: after banner-parse (records, labels), before the
//! model and the trainer, which take token ids and token labels.
//!
//! # Example: train, encode, label
//!
//! ```
//! use banner_parse::{label_pair, BannerKind, Label};
//! use bpe_tokenizer::{BannerTokenizer, TrainConfig};
//!
//! let june = b"HTTP/1.1 200 OK\r\nServer: Apache/2.4.52 (Ubuntu)\r\nETag: \"2aa6-5f1a3c\"\r\n";
//! let july = b"HTTP/1.1 200 OK\r\nServer: Apache/2.4.52 (Ubuntu)\r\nETag: \"9b1e-60c2d7\"\r\n";
//! let config = TrainConfig::default().vocab_size(400).min_frequency(1).check()?;
//! let tok = BannerTokenizer::train([&june[..], &july[..]], &config)?;
//!
//! let pair = tok.encode_pair(june, july, &label_pair(june, july, BannerKind::Http))?;
//! let labels = pair.a.labels.labels();
//! assert_eq!(labels.len(), pair.a.encoding.len());
//! assert_eq!(labels[0], Label::Unlabelled); // <s>
//! assert!(pair.a.labels.stable() > 0 && pair.a.labels.dynamic() > 0);
//! assert!(pair.matched_tokens() <= pair.a.labels.stable());
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! # Example: save and load, in Rust or Python
//!
//! ```no_run
//! use bpe_tokenizer::BannerTokenizer;
//!
//! let tok = BannerTokenizer::from_file("tokenizer.json")?;
//! let enc = tok.encode(b"SSH-2.0-OpenSSH_8.9p1\r\n")?;
//! println!("{:?}", enc.ids());
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! The same ids from Python (`pip install tokenizers`):
//!
//! ```text
//! from tokenizers import Tokenizer
//! tok = Tokenizer.from_file("tokenizer.json"); tok.encode_special_tokens = True
//! print(tok.encode(b"SSH-2.0-OpenSSH_8.9p1\r\n".decode("latin-1")).ids)
//! ```
//!
//! See docs/FORMATS.md (section "Tokenizer") for `transformers`.
//!
//! # Crate features
//!
//! - `progressbar` (default): progress bars while training, drawn by
//!   `tokenizers` with `indicatif` when [`TrainConfig`] asks for them.

mod align;
mod bytes;
mod config;
mod error;
mod tokenizer;

pub use align::{
    LabelledEncoding, LabelledPair, MIN_MATCHED_TOKENS, TokenLabels, align_labels, label_of_bytes,
};
pub use bytes::{bytes_to_text, text_to_bytes};
pub use config::{
    PAPER_MAX_LENGTH, PAPER_VOCAB_SIZE, Padding, SpecialIds, SpecialTokens, TrainConfig,
    ValidTrainConfig,
};
pub use error::{BoxError, Error, Result};
pub use tokenizer::{BannerEncoding, BannerTokenizer, MAX_TOKENIZER_BYTES};

/// The per-byte (and per-token) label type, from banner-parse.
pub use banner_parse::Label;
/// The Hugging Face `tokenizers` crate, for the types this crate exposes.
pub use tokenizers;

#[cfg(test)]
mod autotraits {
    fn send_sync<T: Send + Sync + Unpin>() {}

    #[test]
    fn public_types_are_thread_safe() {
        send_sync::<crate::BannerTokenizer>();
        send_sync::<crate::BannerEncoding>();
        send_sync::<crate::TokenLabels>();
        send_sync::<crate::LabelledPair>();
        send_sync::<crate::TrainConfig>();
        send_sync::<crate::ValidTrainConfig>();
        send_sync::<crate::Error>();
    }
}
