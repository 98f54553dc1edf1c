//! Unit-level properties: masking, checkpoint rotation, evaluation arithmetic.

use bpe_tokenizer::SpecialIds;
use contrastive_trainer::{Checkpoints, ValidMaskingParams, mask_batch};
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
        let b = mask_batch(&seqs, SPECIAL, 200, ValidMaskingParams::default(), &mut StdRng::seed_from_u64(seed));
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
        ValidMaskingParams::default(),
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

/// Issue 24 item 7: a tokenizer with more tokens than the model panicked inside burn in
/// `annotate`, `evaluate` and `finetune`; the inference and training paths now check every id
/// against the model's vocabulary first (one shared check, `roberta_model::check_token_ids`).
#[test]
fn ids_beyond_the_model_vocabulary_are_an_error_not_a_panic() {
    use bpe_tokenizer::{BannerTokenizer, TrainConfig};
    use contrastive_trainer::{Annotation, Error, Evaluator};
    use roberta_model::{RobertaConfig, RobertaForStability};

    let device = roberta_model::default_device().expect("device");
    let mut config = RobertaConfig::preset(roberta_model::ModelPreset::Small, 40);
    (
        config.hidden_size,
        config.intermediate_size,
        config.num_hidden_layers,
    ) = (8, 16, 1);
    let config = config.check().expect("valid config");
    let model = RobertaForStability::new(&config, &device).expect("model");
    let banners: [&[u8]; 2] = [
        b"HTTP/1.1 200 OK\r\nServer: nginx/1.18.0\r\nContent-Type: text/html\r\n",
        b"SSH-2.0-OpenSSH_8.9p1 Ubuntu-3ubuntu0.1\r\n",
    ];
    let tok = BannerTokenizer::train(
        banners,
        &TrainConfig::default()
            .vocab_size(300)
            .show_progress(false)
            .check()
            .expect("config"),
    )
    .expect("train");
    assert!(tok.vocab_size() > 40);
    let is_vocab_error = |e: &Error| {
        matches!(
            e,
            Error::Model(roberta_model::Error::TokenOutOfVocab { vocab_size: 40, .. })
        )
    };
    let err = Annotation::predict(&model, &tok, banners[0], &device).expect_err("annotate");
    assert!(is_vocab_error(&err), "{err}");
    let err = Evaluator::default()
        .predict(&model, &[vec![0u32, 39, 40, 2]], &device)
        .expect_err("predict");
    assert!(is_vocab_error(&err), "{err}");
    let err = Evaluator::default()
        .embed_mean(&model.roberta, &[vec![0u32, 1000]], &device)
        .expect_err("embed_mean");
    assert!(is_vocab_error(&err), "{err}");
}
