//! RoBERTa's dynamic masking for masked-LM pretraining.

use bpe_tokenizer::SpecialIds;
use rand::{Rng, RngExt};
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// How tokens are chosen and replaced for the masked-LM objective (RoBERTa's rule by default:
/// 15% of the non-special tokens are predicted; of those, 80% become `<mask>`, 10% a random
/// token, 10% stay as they are). Unchecked; [`check`](Self::check) gives the
/// [`ValidMaskingParams`] that [`mask_batch`] takes.
///
/// ```
/// use contrastive_trainer::MaskingParams;
///
/// let p = MaskingParams::default();
/// assert_eq!((p.mask_prob, p.replace_with_mask, p.replace_with_random), (0.15, 0.8, 0.1));
/// assert!(p.check().is_ok());
/// assert!(MaskingParams { mask_prob: 0.0, ..p }.check().is_err());
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct MaskingParams {
    /// Share of the non-special tokens that are predicted. Default 0.15.
    pub mask_prob: f64,
    /// Of the predicted tokens, share replaced by `<mask>`. Default 0.8.
    pub replace_with_mask: f64,
    /// Of the predicted tokens, share replaced by a random token. Default 0.1.
    pub replace_with_random: f64,
}

impl Default for MaskingParams {
    fn default() -> Self {
        Self {
            mask_prob: 0.15,
            replace_with_mask: 0.8,
            replace_with_random: 0.1,
        }
    }
}

impl MaskingParams {
    /// Validates the probabilities.
    ///
    /// # Errors
    /// [`Error::InvalidParam`] when `mask_prob` is not in `(0, 1]` or the two replacement
    /// shares are negative or sum above 1.
    pub fn check(self) -> Result<ValidMaskingParams> {
        if !(self.mask_prob > 0.0 && self.mask_prob <= 1.0) {
            return Err(Error::InvalidParam(format!(
                "mask_prob must be in (0, 1], got {}",
                self.mask_prob
            )));
        }
        let (m, r) = (self.replace_with_mask, self.replace_with_random);
        if !(m >= 0.0 && r >= 0.0 && m + r <= 1.0) {
            return Err(Error::InvalidParam(format!(
                "replace_with_mask ({m}) and replace_with_random ({r}) must be >= 0 and sum to at most 1"
            )));
        }
        Ok(ValidMaskingParams(self))
    }
}

/// [`MaskingParams`] that passed [`MaskingParams::check`] (dereferences to them).
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
#[serde(transparent)]
pub struct ValidMaskingParams(MaskingParams);

impl Default for ValidMaskingParams {
    /// RoBERTa's rule ([`MaskingParams::default`]).
    fn default() -> Self {
        ValidMaskingParams(MaskingParams::default())
    }
}

impl std::ops::Deref for ValidMaskingParams {
    type Target = MaskingParams;
    fn deref(&self) -> &MaskingParams {
        &self.0
    }
}

/// A padded batch with masked positions.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MaskedBatch {
    /// Input ids after masking, row-major `[batch, seq]`, padded with the pad id.
    pub input: Vec<i64>,
    /// `[batch, seq]`.
    pub shape: [usize; 2],
    /// Flat positions (`row * seq + col`) of the predicted tokens, ascending.
    pub positions: Vec<i64>,
    /// The original ids at `positions`.
    pub labels: Vec<i64>,
}

/// Pads `seqs` into one batch and masks it. Special tokens (`<s>`, `</s>`, `<pad>`, `<mask>`)
/// are never predicted; at least one token is predicted when any candidate exists.
///
/// ```
/// use bpe_tokenizer::SpecialIds;
/// use contrastive_trainer::{mask_batch, MaskingParams};
/// use rand::{SeedableRng, rngs::StdRng};
///
/// let special = SpecialIds { bos: 0, pad: 1, eos: 2, unk: 3, mask: 4 };
/// let seqs: Vec<Vec<u32>> = vec![(0..40).map(|i| if i == 0 { 0 } else { 10 + i }).chain([2]).collect(), vec![0, 20, 2]];
/// let masking = MaskingParams::default().check()?;
/// let b = mask_batch(&seqs, special, 100, masking, &mut StdRng::seed_from_u64(1));
/// assert_eq!(b.shape, [2, 41]);
/// assert!(!b.positions.is_empty());
/// assert_eq!(b.input[41 + 3], 1); // the second row is padded
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn mask_batch<S: AsRef<[u32]>, R: Rng>(
    seqs: &[S],
    special: SpecialIds,
    vocab_size: usize,
    params: ValidMaskingParams,
    rng: &mut R,
) -> MaskedBatch {
    let (mut input, shape) = pad(seqs, special.pad);
    let seq = shape[1];
    let is_special =
        |id: u32| id == special.bos || id == special.eos || id == special.pad || id == special.mask;
    let mut positions = Vec::new();
    let mut candidates = 0usize;
    let mut last_candidate = None;
    for (row, s) in seqs.iter().enumerate() {
        for (col, &id) in s.as_ref().iter().enumerate() {
            if is_special(id) {
                continue;
            }
            candidates += 1;
            let flat = row * seq + col;
            if rng.random_bool(params.mask_prob) {
                positions.push(flat);
            } else if rng.random_range(0..candidates) == 0 {
                last_candidate = Some(flat);
            }
        }
    }
    if positions.is_empty()
        && let Some(flat) = last_candidate
    {
        positions.push(flat);
    }
    let mut labels = Vec::with_capacity(positions.len());
    let vocab = vocab_size.max(1) as u32;
    for &flat in &positions {
        let original = input[flat];
        labels.push(original);
        let u: f64 = rng.random();
        if u < params.replace_with_mask {
            input[flat] = i64::from(special.mask);
        } else if u < params.replace_with_mask + params.replace_with_random {
            // A random non-special token (bounded retries; the vocabulary is mostly non-special).
            let mut id = rng.random_range(0..vocab);
            for _ in 0..8 {
                if !is_special(id) {
                    break;
                }
                id = rng.random_range(0..vocab);
            }
            input[flat] = i64::from(id);
        }
    }
    MaskedBatch {
        input,
        shape,
        positions: positions.iter().map(|&p| p as i64).collect(),
        labels,
    }
}

/// Right-pads sequences to the longest; returns row-major ids and `[batch, seq]`.
pub(crate) fn pad<S: AsRef<[u32]>>(seqs: &[S], pad_id: u32) -> (Vec<i64>, [usize; 2]) {
    let seq = seqs.iter().map(|s| s.as_ref().len()).max().unwrap_or(0);
    let mut out = vec![i64::from(pad_id); seqs.len() * seq];
    for (row, s) in seqs.iter().enumerate() {
        for (col, &id) in s.as_ref().iter().enumerate() {
            out[row * seq + col] = i64::from(id);
        }
    }
    (out, [seqs.len(), seq])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pad_known_answer() {
        let (ids, shape) = pad(&[vec![5u32, 6, 7], vec![8]], 1);
        assert_eq!(shape, [2, 3]);
        assert_eq!(ids, vec![5, 6, 7, 8, 1, 1]);
    }

    #[test]
    fn check_known_answers() {
        let d = MaskingParams::default;
        assert!(d().check().is_ok());
        assert!(
            MaskingParams {
                mask_prob: 1.5,
                ..d()
            }
            .check()
            .is_err()
        );
        assert!(
            MaskingParams {
                replace_with_mask: 0.9,
                replace_with_random: 0.2,
                ..d()
            }
            .check()
            .is_err()
        );
        assert_eq!(*ValidMaskingParams::default(), MaskingParams::default());
    }
}
