//! Hostile model folders (issue 24, item 7): `config.json` sizes are checked against
//! documented limits and against the weights file's header before a model is allocated, and
//! a safetensors header is checked against the file's length. No test here builds a model.
//!
//! The proptest suite runs 256 cases per property by default; run many more with
//! `PROPTEST_CASES=100000 cargo test -p roberta-model --test hostile`.

use std::path::{Path, PathBuf};

use proptest::prelude::*;
use roberta_model::loader::{CONFIG_FILE, WEIGHTS_FILE, check_weights_file};
use roberta_model::{
    Error, MAX_HIDDEN_SIZE, MAX_PARAMETERS, RobertaConfig, RobertaForStability, check_token_ids,
    default_device,
};

/// A safetensors file holding `tensors` (name, F32 shape), values all zero.
fn safetensors(path: &Path, tensors: &[(&str, Vec<u64>)]) {
    let mut header = serde_json::Map::new();
    let mut at = 0u64;
    for (name, shape) in tensors {
        let bytes = 4 * shape.iter().product::<u64>();
        header.insert(
            (*name).to_owned(),
            serde_json::json!({"dtype": "F32", "shape": shape, "data_offsets": [at, at + bytes]}),
        );
        at += bytes;
    }
    let text = serde_json::to_vec(&header).expect("json");
    let mut out = (text.len() as u64).to_le_bytes().to_vec();
    out.extend_from_slice(&text);
    out.resize(out.len() + at as usize, 0);
    std::fs::write(path, out).expect("write");
}

fn tiny_config() -> RobertaConfig {
    let mut c = RobertaConfig::preset(roberta_model::ModelPreset::Small, 40);
    (c.hidden_size, c.intermediate_size, c.num_hidden_layers) = (8, 16, 1);
    c.max_position_embeddings = 20;
    c
}

/// A folder whose `config.json` is `config` and whose weights are a word-embedding table
/// `[vocab, hidden]` padded with one flat tensor to `values` values in all.
fn model_dir(
    dir: &Path,
    config: &serde_json::Value,
    vocab: u64,
    hidden: u64,
    values: u64,
) -> PathBuf {
    std::fs::write(dir.join(CONFIG_FILE), config.to_string()).expect("config");
    let mut tensors = vec![(
        "roberta.embeddings.word_embeddings.weight",
        vec![vocab, hidden],
    )];
    if values > vocab * hidden {
        tensors.push(("rest", vec![values - vocab * hidden]));
    }
    safetensors(&dir.join(WEIGHTS_FILE), &tensors);
    dir.to_path_buf()
}

/// `hidden_size` 2^30 aborted `embed` while allocating the model, before any weight was read.
#[test]
fn a_hidden_size_of_two_to_the_thirty_is_refused_naming_the_file() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut config = serde_json::to_value(tiny_config()).expect("json");
    config["hidden_size"] = serde_json::json!(1u64 << 30);
    config["num_attention_heads"] = serde_json::json!(1);
    let path = model_dir(dir.path(), &config, 40, 8, 1000);
    let device = default_device().expect("device");
    let err = RobertaForStability::from_pretrained(&path, &device).expect_err("huge hidden");
    assert!(matches!(err, Error::InvalidConfig(_)), "{err}");
    let text = err.to_string();
    assert!(
        text.contains("hidden_size") && text.contains(CONFIG_FILE),
        "{text}"
    );
    const { assert!(MAX_HIDDEN_SIZE < 1 << 30) };
}

/// Each size within its limit, their product far above what any file holds.
#[test]
fn a_parameter_count_beyond_the_limit_is_refused() {
    let mut c = tiny_config();
    (c.vocab_size, c.hidden_size) = (1 << 24, 1 << 15);
    let err = c.clone().check().expect_err("too many parameters");
    assert!(err.to_string().contains("parameters"), "{err}");
    assert!(c.parameter_count().expect("fits u64") > MAX_PARAMETERS);
}

/// Sizes within the limits but not those of the weights: refused before allocation, naming
/// the weights file.
#[test]
fn a_config_that_does_not_match_its_weights_is_refused_before_allocation() {
    let dir = tempfile::tempdir().expect("tempdir");
    let c = tiny_config();
    let need = c.parameter_count().expect("count");
    // Right table, too few values for the layers the config claims.
    let mut more_layers = c.clone();
    more_layers.num_hidden_layers = 200;
    let path = dir.path().join("w.safetensors");
    safetensors(
        &path,
        &[
            ("roberta.embeddings.word_embeddings.weight", vec![40, 8]),
            ("rest", vec![need - 320]),
        ],
    );
    check_weights_file(&c, &path).expect("matching weights");
    let err = check_weights_file(&more_layers, &path).expect_err("200 layers");
    assert!(matches!(err, Error::Weights { .. }), "{err}");
    assert!(err.to_string().contains("w.safetensors"), "{err}");
    // Another width.
    let mut wider = c.clone();
    (wider.hidden_size, wider.intermediate_size) = (4096, 16);
    let err = check_weights_file(&wider, &path).expect_err("wider");
    assert!(err.to_string().contains("word embeddings"), "{err}");
    // Through from_pretrained.
    let config = serde_json::to_value(&wider).expect("json");
    let dir2 = tempfile::tempdir().expect("tempdir");
    let p = model_dir(dir2.path(), &config, 40, 8, need);
    let device = default_device().expect("device");
    let err = RobertaForStability::from_pretrained(&p, &device).expect_err("wider");
    assert!(matches!(err, Error::Weights { .. }), "{err}");
}

#[test]
fn safetensors_headers_larger_than_the_file_are_refused() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("w.safetensors");
    let mut bytes = (1u64 << 40).to_le_bytes().to_vec();
    bytes.extend_from_slice(b"{}");
    std::fs::write(&path, &bytes).expect("write");
    let err = check_weights_file(&tiny_config(), &path).expect_err("huge header");
    assert!(matches!(err, Error::Weights { .. }), "{err}");
    // A tensor claiming more bytes than the file has.
    safetensors(
        &path,
        &[("roberta.embeddings.word_embeddings.weight", vec![40, 8])],
    );
    let mut bytes = std::fs::read(&path).expect("read");
    bytes.truncate(bytes.len() - 1);
    std::fs::write(&path, &bytes).expect("write");
    let err = check_weights_file(&tiny_config(), &path).expect_err("short data");
    assert!(matches!(err, Error::Weights { .. }), "{err}");
}

#[test]
fn token_ids_beyond_the_vocabulary_are_one_shared_error() {
    assert!(check_token_ids(&[0, 1, 39], 40).is_ok());
    assert!(matches!(
        check_token_ids(&[0, 40], 40),
        Err(Error::TokenOutOfVocab {
            id: 40,
            vocab_size: 40
        })
    ));
}

fn size() -> impl Strategy<Value = serde_json::Value> {
    prop_oneof![
        (0u64..300).prop_map(serde_json::Value::from),
        any::<u64>().prop_map(serde_json::Value::from),
        (-5i64..0).prop_map(serde_json::Value::from),
        Just(serde_json::json!(1u64 << 30)),
        Just(serde_json::json!(1.5)),
        Just(serde_json::json!("64")),
        Just(serde_json::Value::Null),
    ]
}

proptest! {
    /// Any sizes in `config.json`: no panic, and a model is only ever built when the config
    /// passes its limits and matches the weights (the weights here are tiny, so any success
    /// is a small model).
    #[test]
    fn hostile_configs_are_errors_naming_the_file(
        sizes in prop::collection::vec(size(), 7),
        pad in 0u64..4,
    ) {
        let dir = tempfile::tempdir().expect("tempdir");
        let mut config = serde_json::to_value(tiny_config()).expect("json");
        for (key, v) in ["vocab_size", "hidden_size", "num_hidden_layers", "num_attention_heads",
            "intermediate_size", "max_position_embeddings", "type_vocab_size"].iter().zip(sizes) {
            config[*key] = v;
        }
        config["pad_token_id"] = serde_json::json!(pad);
        let path = model_dir(dir.path(), &config, 40, 8, 4000);
        match RobertaConfig::load(path.join(CONFIG_FILE)) {
            Ok(c) => {
                prop_assert!(c.parameter_count().is_some_and(|n| n <= MAX_PARAMETERS));
                match check_weights_file(&c, path.join(WEIGHTS_FILE)) {
                    Ok(()) => prop_assert!(c.parameter_count().is_some_and(|n| n <= 4000)),
                    Err(e) => prop_assert!(e.to_string().contains(WEIGHTS_FILE), "{e}"),
                }
            }
            Err(e) => prop_assert!(e.to_string().contains(CONFIG_FILE), "{e}"),
        }
    }

    /// Any safetensors header: no panic, an error naming the file.
    #[test]
    fn hostile_safetensors_headers_are_errors_naming_the_file(
        header_len in prop_oneof![Just(None), any::<u64>().prop_map(Some), (0u64..400).prop_map(Some)],
        shape in prop::collection::vec(prop_oneof![0u64..100, any::<u64>()], 0..4),
        begin in prop_oneof![0u64..2000, any::<u64>()],
        len in prop_oneof![0u64..2000, any::<u64>()],
        dtype in prop_oneof![Just("F32"), Just("F16"), Just("I64"), Just("Q4"), Just("")],
        data in 0usize..3000,
        junk in prop::option::of("[ -~]{0,40}"),
    ) {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("model.safetensors");
        let text = match junk {
            Some(j) => j.into_bytes(),
            None => serde_json::to_vec(&serde_json::json!({
                "__metadata__": {"format": "pt"},
                "roberta.embeddings.word_embeddings.weight":
                    {"dtype": dtype, "shape": shape, "data_offsets": [begin, begin.wrapping_add(len)]},
            })).expect("json"),
        };
        let mut bytes = header_len.unwrap_or(text.len() as u64).to_le_bytes().to_vec();
        bytes.extend_from_slice(&text);
        bytes.resize(bytes.len() + data, 0);
        std::fs::write(&path, &bytes).expect("write");
        if let Err(e) = check_weights_file(&tiny_config(), &path) {
            prop_assert!(e.to_string().contains("model.safetensors"), "{e}");
        }
    }
}
