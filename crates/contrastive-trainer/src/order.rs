//! Per-step random streams and the batch order of a run: every random choice derives from
//! `(seed, step)`, so a resumed run sees the same batches as an uninterrupted one.

use rand::SeedableRng;
use rand::rngs::StdRng;
use rand::seq::SliceRandom;

/// The SplitMix64 finaliser ([`bannerlm_base::mix64`]) of `seed`, `tag` and `step`:
/// independent streams per purpose and step.
pub(crate) fn derive_seed(seed: u64, tag: u64, step: u64) -> u64 {
    bannerlm_base::mix64(
        seed.wrapping_add(tag.wrapping_mul(bannerlm_base::GOLDEN_GAMMA))
            .wrapping_add(step.wrapping_mul(0xD1B5_4A32_D192_ED03)),
    )
}

/// Stream tags for [`derive_seed`].
pub(crate) const TAG_ORDER: u64 = 1;
pub(crate) const TAG_MASK: u64 = 2;
pub(crate) const TAG_DEVICE: u64 = 3;
pub(crate) const TAG_INIT: u64 = 4;

/// Batch order: epochs of a seeded permutation; step `s` takes the `s`-th slice of
/// `batch_size` items (the last partial batch of an epoch is dropped when the corpus is larger
/// than one batch). With a [`Bucketing`], the items of each window of `window` batches are
/// sorted by length before being cut into batches, so a batch pads little, and the batches of a
/// window are shuffled again. Everything derives from `(seed, epoch)`. Pair batches are not
/// bucketed: bucketing them cut padding but lowered the distance metrics on the default run
/// (docs/performance-history.md).
#[derive(Debug)]
pub(crate) struct BatchOrder {
    lengths: Vec<usize>,
    batch: usize,
    bucket: Option<Bucketing>,
    seed: u64,
    epoch: Option<u64>,
    perm: Vec<usize>,
}

/// Length bucketing of a [`BatchOrder`].
#[derive(Debug, Clone, Copy)]
pub(crate) struct Bucketing {
    /// Batches per length-sorting window.
    pub window: usize,
}

/// Masked-LM pretraining: windows of 50 batches (a batch pads to within a few tokens).
pub(crate) const MLM_BUCKETING: Bucketing = Bucketing { window: 50 };

impl BatchOrder {
    pub fn new(
        lengths: Vec<usize>,
        batch_size: usize,
        bucket: Option<Bucketing>,
        seed: u64,
    ) -> Self {
        let n = lengths.len();
        Self {
            lengths,
            batch: batch_size.min(n).max(1),
            bucket,
            seed,
            epoch: None,
            perm: Vec::new(),
        }
    }

    pub fn indices(&mut self, step: u64) -> &[usize] {
        let n = self.lengths.len();
        let per_epoch = (n / self.batch).max(1) as u64;
        let epoch = step / per_epoch;
        if self.epoch != Some(epoch) {
            let mut rng = StdRng::seed_from_u64(derive_seed(self.seed, TAG_ORDER, epoch));
            let mut perm: Vec<usize> = (0..n).collect();
            perm.shuffle(&mut rng);
            let Some(bucket) = self.bucket else {
                self.perm = perm;
                self.epoch = Some(epoch);
                let start = (step % per_epoch) as usize * self.batch;
                return &self.perm[start..(start + self.batch).min(n)];
            };
            let window = self.batch * bucket.window.max(1);
            let mut out = Vec::with_capacity(n);
            for chunk in perm.chunks_mut(window) {
                chunk.sort_by_key(|&i| self.lengths[i]);
                let mut batches: Vec<&mut [usize]> = chunk.chunks_mut(self.batch).collect();
                batches.shuffle(&mut rng);
                for b in batches {
                    out.extend_from_slice(b);
                }
            }
            self.perm = out;
            self.epoch = Some(epoch);
        }
        let start = (step % per_epoch) as usize * self.batch;
        &self.perm[start..(start + self.batch).min(n)]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn padded_share(order: &mut BatchOrder, lengths: &[usize], steps: u64) -> f64 {
        let (mut real, mut padded) = (0usize, 0usize);
        for step in 0..steps {
            let b = order.indices(step);
            let longest = b.iter().map(|&i| lengths[i]).max().unwrap_or(0);
            real += b.iter().map(|&i| lengths[i]).sum::<usize>();
            padded += longest * b.len();
        }
        1.0 - real as f64 / padded as f64
    }

    #[test]
    fn mlm_buckets_cover_each_item_once_per_epoch_and_pad_less() {
        // Lengths 10..=250, one item per length.
        let lengths: Vec<usize> = (0..960).map(|i| 10 + (i * 7919) % 241).collect();
        let batch = 16;
        let per_epoch = (lengths.len() / batch) as u64;
        let mut order = BatchOrder::new(lengths.clone(), batch, Some(MLM_BUCKETING), 3);
        let mut seen = vec![0u32; lengths.len()];
        for step in 0..per_epoch {
            let b = order.indices(step).to_vec();
            assert_eq!(b.len(), batch);
            for i in b {
                seen[i] += 1;
            }
        }
        assert!(
            seen.iter().all(|&c| c == 1),
            "every item exactly once per epoch"
        );
        // Deterministic in (seed, step), also when jumping to a step (resume).
        let mut again = BatchOrder::new(lengths.clone(), batch, Some(MLM_BUCKETING), 3);
        assert_eq!(again.indices(per_epoch + 5), order.indices(per_epoch + 5));
        let mut random = BatchOrder::new(lengths.clone(), batch, None, 3);
        let bucketed = padded_share(&mut order, &lengths, per_epoch);
        let unbucketed = padded_share(&mut random, &lengths, per_epoch);
        assert!(
            bucketed < 0.2 && unbucketed > 0.4,
            "padded share {bucketed:.2} bucketed vs {unbucketed:.2} random"
        );
    }

    #[test]
    fn unbucketed_order_known_answer() {
        // Four items, batches of two: two steps per epoch, each item once per epoch, and the
        // last partial batch dropped (five items, batches of two, still two steps).
        let mut order = BatchOrder::new(vec![1; 5], 2, None, 0);
        let mut epoch: Vec<usize> = order.indices(0).to_vec();
        epoch.extend_from_slice(order.indices(1));
        epoch.sort_unstable();
        epoch.dedup();
        assert_eq!(epoch.len(), 4);
        // A corpus smaller than a batch: the whole corpus every step.
        let mut small = BatchOrder::new(vec![1; 3], 8, None, 0);
        let mut all = small.indices(7).to_vec();
        all.sort_unstable();
        assert_eq!(all, vec![0, 1, 2]);
    }

    #[test]
    fn derive_seed_separates_streams() {
        assert_ne!(derive_seed(0, TAG_ORDER, 0), derive_seed(0, TAG_MASK, 0));
        assert_ne!(derive_seed(0, TAG_ORDER, 0), derive_seed(0, TAG_ORDER, 1));
        assert_eq!(derive_seed(5, TAG_INIT, 9), derive_seed(5, TAG_INIT, 9));
    }
}
