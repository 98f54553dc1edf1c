//! Per-token stability labels from per-byte labels.

use banner_parse::Label;

use crate::error::{Error, Result};
use crate::tokenizer::BannerEncoding;

/// The paper's threshold: a pair with fewer matched (stable) tokens is
/// discarded from contrastive training (likely a different device).
pub const MIN_MATCHED_TOKENS: usize = 11;

/// The label of a token from the labels of the bytes it covers.
///
/// The rule, for a token whose bytes have the given labels:
///
/// 1. no labelled byte (all [`Label::Unlabelled`], or no bytes at all, as
///    for `<s>`, `</s>` and padding): [`Label::Unlabelled`];
/// 2. else, if any byte is [`Label::Dynamic`]: [`Label::Dynamic`];
/// 3. else (every labelled byte is [`Label::Stable`]): [`Label::Stable`].
///
/// Unlabelled bytes do not vote: the byte-level pre-tokenizer glues the space
/// after `Server:` to the value (` nginx`), and that token is as stable as its
/// value. A token that straddles a stable/dynamic boundary is dynamic: part
/// of it changes between snapshots, so the token as a whole does not recur
/// (a token is stable only when all its labelled bytes were matched).
///
/// ```
/// use banner_parse::Label::{Dynamic, Stable, Unlabelled};
/// use bpe_tokenizer::label_of_bytes;
///
/// assert_eq!(label_of_bytes(&[Unlabelled, Stable, Stable]), Stable);
/// assert_eq!(label_of_bytes(&[Stable, Dynamic]), Dynamic);
/// assert_eq!(label_of_bytes(&[Unlabelled, Unlabelled]), Unlabelled);
/// assert_eq!(label_of_bytes(&[]), Unlabelled);
/// ```
pub fn label_of_bytes(labels: &[Label]) -> Label {
    let mut out = Label::Unlabelled;
    for &l in labels {
        match l {
            Label::Dynamic => return Label::Dynamic,
            Label::Stable => out = Label::Stable,
            Label::Unlabelled => {}
        }
    }
    out
}

/// One label per token of an encoding, with counts.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct TokenLabels {
    labels: Vec<Label>,
    stable: usize,
    dynamic: usize,
}

impl TokenLabels {
    /// One label per token, aligned with the encoding's ids (special and
    /// padding tokens are [`Label::Unlabelled`]).
    pub fn labels(&self) -> &[Label] {
        &self.labels
    }

    /// Tokens labelled [`Label::Stable`] (the paper's "matched tokens").
    pub fn stable(&self) -> usize {
        self.stable
    }

    /// Tokens labelled [`Label::Dynamic`].
    pub fn dynamic(&self) -> usize {
        self.dynamic
    }

    /// Tokens with a label (stable or dynamic): those that enter the
    /// token-classification loss.
    pub fn labelled(&self) -> usize {
        self.stable + self.dynamic
    }

    /// Training targets: `Some(1.0)` stable, `Some(0.0)` dynamic, `None`
    /// for tokens outside the loss.
    pub fn targets(&self) -> impl ExactSizeIterator<Item = Option<f32>> + '_ {
        self.labels.iter().map(|l| match l {
            Label::Stable => Some(1.0),
            Label::Dynamic => Some(0.0),
            Label::Unlabelled => None,
        })
    }
}

/// Labels each token of `encoding` from the per-byte labels of the banner it
/// was made from (e.g. [`PairLabels::a`](banner_parse::PairLabels::a)), with
/// the rule of [`label_of_bytes`]. A byte above `0x7F` may be split over two
/// tokens (its two UTF-8 halves, see [`bytes_to_text`](crate::bytes_to_text)):
/// both tokens cover it and both see its label. Bytes cut off by truncation
/// label nothing.
///
/// # Errors
/// [`Error::LabelLength`] when `byte_labels` does not have one label per
/// banner byte; [`Error::OffsetOutOfRange`] when a token's offsets exceed the
/// banner (the encoding belongs to another banner).
pub fn align_labels(encoding: &BannerEncoding, byte_labels: &[Label]) -> Result<TokenLabels> {
    if byte_labels.len() != encoding.banner_len() {
        return Err(Error::LabelLength {
            bytes: encoding.banner_len(),
            labels: byte_labels.len(),
        });
    }
    let n = encoding.len();
    let mut out = TokenLabels {
        labels: Vec::with_capacity(n),
        stable: 0,
        dynamic: 0,
    };
    for (i, (&(start, end), &special)) in encoding
        .offsets()
        .iter()
        .zip(encoding.special_tokens_mask())
        .enumerate()
    {
        let label = if special == 1 {
            Label::Unlabelled
        } else {
            let bytes = byte_labels.get(start..end).ok_or(Error::OffsetOutOfRange {
                token: i,
                start,
                end,
                bytes: byte_labels.len(),
            })?;
            label_of_bytes(bytes)
        };
        match label {
            Label::Stable => out.stable += 1,
            Label::Dynamic => out.dynamic += 1,
            Label::Unlabelled => {}
        }
        out.labels.push(label);
    }
    Ok(out)
}

/// An encoding with its token labels.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LabelledEncoding {
    /// The tokens.
    pub encoding: BannerEncoding,
    /// One label per token.
    pub labels: TokenLabels,
}

/// Both banners of a pair, encoded and labelled.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LabelledPair {
    /// The earlier banner.
    pub a: LabelledEncoding,
    /// The later banner.
    pub b: LabelledEncoding,
}

impl LabelledPair {
    /// Matched tokens of the pair: the smaller count of stable tokens of the
    /// two banners (both sides must carry the evidence).
    pub fn matched_tokens(&self) -> usize {
        self.a.labels.stable().min(self.b.labels.stable())
    }

    /// Whether the pair has at least `min_matched` matched tokens (the paper
    /// uses [`MIN_MATCHED_TOKENS`]).
    pub fn is_kept(&self, min_matched: usize) -> bool {
        self.matched_tokens() >= min_matched
    }
}
