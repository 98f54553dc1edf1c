//! Unit-level properties: masking, checkpoint rotation, evaluation arithmetic.

use bpe_tokenizer::SpecialIds;
use contrastive_trainer::{Checkpoints, MaskingParams, mask_batch};
use proptest::prelude::*;
use rand::SeedableRng;
use rand::rngs::StdRng;

const SPECIAL: SpecialIds = SpecialIds {
    bos: 0,
    pad: 1,
    eos: 2,
    unk: 3,
    mask: 4,
};

fn seqs_strategy() -> impl Strategy<Value = Vec<Vec<u32>>> {
    prop::collection::vec(
        prop::collection::vec(5u32..200, 0..40).prop_map(|mut v| {
            v.insert(0, SPECIAL.bos);
            v.push(SPECIAL.eos);
            v
        }),
        1..8,
    )
}

proptest! {
    #[test]
    fn masking_predicts_only_real_tokens_and_keeps_labels(seqs in seqs_strategy(), seed in any::<u64>()) {
        let b = mask_batch(&seqs, SPECIAL, 200, MaskingParams::default(), &mut StdRng::seed_from_u64(seed));
        let width = b.shape[1];
        prop_assert_eq!(b.shape[0], seqs.len());
        let candidates: usize = seqs.iter().map(|s| s.len() - 2).sum();
        prop_assert_eq!(b.positions.is_empty(), candidates == 0);
        prop_assert!(b.positions.windows(2).all(|w| w[0] < w[1]));
        for (&p, &label) in b.positions.iter().zip(&b.labels) {
            let (row, col) = (p as usize / width, p as usize % width);
            prop_assert!(col < seqs[row].len());
            prop_assert_eq!(i64::from(seqs[row][col]), label);
            prop_assert!(label > 4, "a special token was chosen");
        }
        // Unchosen positions are untouched; padding is the pad id.
        for (row, s) in seqs.iter().enumerate() {
            for col in 0..width {
                let flat = (row * width + col) as i64;
                let v = b.input[row * width + col];
                if col >= s.len() {
                    prop_assert_eq!(v, 1);
                } else if b.positions.binary_search(&flat).is_err() {
                    prop_assert_eq!(v, i64::from(s[col]));
                }
            }
        }
    }
}

#[test]
fn masking_rates_follow_roberta() {
    let seqs: Vec<Vec<u32>> = (0..200)
        .map(|i| (0..100).map(|j| 5 + ((i * 7 + j) % 150) as u32).collect())
        .collect();
    let b = mask_batch(
        &seqs,
        SPECIAL,
        200,
        MaskingParams::default(),
        &mut StdRng::seed_from_u64(5),
    );
    let n = b.positions.len() as f64;
    let share = n / 20_000.0;
    assert!((share - 0.15).abs() < 0.01, "{share}");
    let masked = b
        .positions
        .iter()
        .filter(|&&p| b.input[p as usize] == 4)
        .count() as f64;
    assert!((masked / n - 0.8).abs() < 0.03, "{}", masked / n);
}

#[test]
fn checkpoints_rotate_and_clean_up_temporary_directories() {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::create_dir(dir.path().join(".tmp-checkpoint-left-by-a-kill")).expect("mkdir");
    // A directory without state.json is not a complete checkpoint.
    std::fs::create_dir(dir.path().join("checkpoint-000000099")).expect("mkdir");
    let ckpt = Checkpoints::open(dir.path(), 2).expect("open");
    assert!(!dir.path().join(".tmp-checkpoint-left-by-a-kill").exists());
    assert!(ckpt.latest().expect("list").is_none());
}
