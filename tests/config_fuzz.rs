//! Fuzz suite for pipeline configuration files (issue 24): well-formed JSON with hostile
//! values (unknown keys, huge, negative and zero sizes, non-finite numbers, path traversal and
//! control characters in header names) read with `PipelineConfig::from_json_file` and checked.
//!
//! Each case asserts: no panic; a parse error names the file; a validation error names the key
//! that was changed; a configuration that passes has every size within the documented limits
//! and only HTTP-token header names (so no header can become a path outside `--out`).
//!
//! CI runs 256 cases; run many more with
//! `PROPTEST_CASES=100000 cargo test --test config_fuzz --release`.

use bannerlm::pipeline::{self, Error, PipelineConfig};
use proptest::prelude::*;
use serde_json::{Value, json};

/// Every numeric key of a configuration, as a JSON pointer and the name a message must use.
const NUMERIC_KEYS: &[(&str, &str)] = &[
    ("/input/hosts", "hosts"),
    ("/input/snapshots", "snapshots"),
    ("/seed", "seed"),
    ("/vocab_size", "vocab_size"),
    ("/tokenizer_samples", "tokenizer_samples"),
    ("/model/hidden_size", "hidden_size"),
    ("/model/num_hidden_layers", "num_hidden_layers"),
    ("/model/num_attention_heads", "num_attention_heads"),
    ("/model/intermediate_size", "intermediate_size"),
    ("/model/max_input_len", "max_input_len"),
    ("/pretrain/steps", "steps"),
    ("/pretrain/batch_size", "batch_size"),
    ("/pretrain/learning_rate", "learning_rate"),
    ("/pretrain/warmup_steps", "warmup_steps"),
    ("/pretrain/weight_decay", "weight_decay"),
    ("/pretrain/grad_clip_norm", "grad_clip_norm"),
    ("/pretrain/dropout", "dropout"),
    ("/finetune/batch_size", "batch_size"),
    ("/finetune/steps", "steps"),
    ("/checkpoint_every", "checkpoint_every"),
    ("/eval_max_pairs", "eval_max_pairs"),
    ("/finetune_mix/max_share", "max_share"),
    ("/embed_batch_size", "embed_batch_size"),
    ("/pca_components", "pca_components"),
    ("/min_cluster_size", "min_cluster_size"),
    ("/min_samples", "min_samples"),
    ("/fingerprint_k", "fingerprint_k"),
    ("/fingerprint_draws", "fingerprint_draws"),
    ("/report_examples", "report_examples"),
];

/// Values that break sizes: zero, one, negative, huge, fractional, non-finite (as JSON can
/// spell it: a string or an overflowing literal), and wrong types.
fn hostile_number() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("0".to_owned()),
        Just("1".to_owned()),
        Just("-1".to_owned()),
        Just("-9223372036854775808".to_owned()),
        Just("18446744073709551615".to_owned()),
        Just("18446744073709551616".to_owned()),
        Just("1e300".to_owned()),
        Just("1e999".to_owned()),
        Just("-1e999".to_owned()),
        Just("0.5".to_owned()),
        Just("\"NaN\"".to_owned()),
        Just("\"inf\"".to_owned()),
        Just("null".to_owned()),
        Just("[]".to_owned()),
        Just("{}".to_owned()),
        (0u64..=u64::MAX).prop_map(|n| n.to_string()),
        (1u64..4096).prop_map(|n| n.to_string()),
    ]
}

/// Header names: path traversal, separators, control characters, bidi, very long, valid.
fn hostile_header() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("../../../../tmp/pwned".to_owned()),
        Just("..".to_owned()),
        Just(".".to_owned()),
        Just("/etc/passwd".to_owned()),
        Just("a\\b".to_owned()),
        Just("Server\u{0}".to_owned()),
        Just("X\u{1b}[2J\u{7}".to_owned()),
        Just("X\u{202e}txt.exe".to_owned()),
        Just("X\u{9b}31m".to_owned()),
        Just(String::new()),
        Just("Server".to_owned()),
        Just("X-Powered-By".to_owned()),
        "[ -~]{0,80}",
        "\\PC{0,20}",
        (1usize..300).prop_map(|n| "A".repeat(n)),
    ]
}

#[derive(Debug, Clone)]
enum Mutation {
    /// Set a numeric key to a hostile value.
    Number(usize, String),
    /// Add an unknown key next to a known one.
    UnknownKey(&'static str, String),
    /// Replace the header list.
    Headers(Vec<String>),
    /// Replace the epsilons.
    Epsilons(Vec<String>),
    /// Replace the input with glob patterns.
    Patterns(Vec<String>),
}

fn mutation() -> impl Strategy<Value = Mutation> {
    prop_oneof![
        4 => (0..NUMERIC_KEYS.len(), hostile_number()).prop_map(|(i, v)| Mutation::Number(i, v)),
        2 => (
            prop::sample::select(&["", "/model", "/input", "/pretrain", "/finetune"][..]),
            "[a-z_]{1,12}|[ -~]{0,12}|\\PC{1,6}",
        )
            .prop_map(|(at, k)| Mutation::UnknownKey(at, k)),
        2 => prop::collection::vec(hostile_header(), 0..4).prop_map(Mutation::Headers),
        1 => prop::collection::vec(hostile_number(), 0..70).prop_map(Mutation::Epsilons),
        1 => prop::collection::vec("[ -~]{0,20}|\\PC{0,8}", 0..3).prop_map(Mutation::Patterns),
    ]
}

/// The tiny preset as JSON, with one mutation applied, as file text; and the key a
/// validation error must name.
fn apply(m: &Mutation) -> (String, Option<&'static str>) {
    let mut v = serde_json::to_value(PipelineConfig::tiny(100)).expect("serialise");
    let placeholder = "\"@@HOSTILE@@\"";
    let (raw, key) = match m {
        Mutation::Number(i, raw) => {
            let (pointer, key) = NUMERIC_KEYS[*i];
            if let Some(slot) = v.pointer_mut(pointer) {
                *slot = json!("@@HOSTILE@@");
            }
            (raw.clone(), Some(key))
        }
        Mutation::UnknownKey(at, k) => {
            if let Some(Value::Object(map)) = v.pointer_mut(at)
                && !map.contains_key(k.as_str())
            {
                map.insert(k.clone(), json!(1));
            }
            ("0".to_owned(), None)
        }
        Mutation::Headers(h) => {
            v["fingerprint_headers"] = json!(h);
            ("0".to_owned(), Some("fingerprint_headers"))
        }
        Mutation::Epsilons(e) => {
            v["epsilons"] = json!("@@HOSTILE@@");
            (format!("[{}]", e.join(",")), Some("epsilons"))
        }
        Mutation::Patterns(p) => {
            v["input"] = json!({"type": "files", "patterns": p});
            ("0".to_owned(), Some("patterns"))
        }
    };
    let text = serde_json::to_string_pretty(&v)
        .expect("text")
        .replace(placeholder, &raw);
    (text, key)
}

fn check_one(m: &Mutation) -> Result<(), TestCaseError> {
    let dir = tempfile::tempdir().map_err(|e| TestCaseError::fail(e.to_string()))?;
    let path = dir.path().join("hostile-config.json");
    let (text, key) = apply(m);
    std::fs::write(&path, &text).map_err(|e| TestCaseError::fail(e.to_string()))?;
    let parsed = match PipelineConfig::from_json_file(&path) {
        Err(e) => {
            prop_assert!(matches!(e, Error::ConfigFile { .. }), "{e:?}");
            let msg = e.to_string();
            prop_assert!(msg.contains("hostile-config.json"), "{msg}");
            return Ok(());
        }
        Ok(c) => c,
    };
    match parsed.check() {
        Err(e) => {
            prop_assert!(matches!(e, Error::InvalidConfig(_)), "{e:?}");
            let msg = e.to_string();
            if let Some(key) = key {
                prop_assert!(msg.contains(key), "{key} not named in {msg}\n{text}");
            }
            prop_assert!(
                !msg.chars().any(char::is_control),
                "raw control characters in {msg:?}"
            );
        }
        Ok(c) => {
            let m = &c.model;
            prop_assert!(m.hidden_size <= pipeline::MAX_MODEL_WIDTH);
            prop_assert!(m.num_hidden_layers <= pipeline::MAX_MODEL_LAYERS);
            prop_assert!(m.max_input_len <= pipeline::MAX_INPUT_LEN);
            prop_assert!(c.vocab_size <= pipeline::MAX_VOCAB_SIZE);
            prop_assert!(c.embed_batch_size <= pipeline::MAX_BATCH);
            prop_assert!(c.pretrain.batch_size <= pipeline::MAX_BATCH);
            prop_assert!(c.fingerprint_draws <= pipeline::MAX_FINGERPRINT_DRAWS);
            prop_assert!(c.epsilons.iter().all(|e| e.is_finite() && *e >= 0.0));
            for h in &c.fingerprint_headers {
                prop_assert!(!h.is_empty() && h.len() <= pipeline::MAX_HEADER_NAME_LEN);
                prop_assert!(
                    h.bytes()
                        .all(|b| b.is_ascii_graphic() && b != b'/' && b != b'\\'),
                    "{h:?}"
                );
                prop_assert!(h.bytes().any(|b| b != b'.'), "{h:?}");
            }
        }
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn hostile_config_files_give_named_errors_or_bounded_configs(m in mutation()) {
        check_one(&m)?;
    }

    #[test]
    fn several_mutations_never_panic(ms in prop::collection::vec(mutation(), 1..4)) {
        // Applied one after the other to files of their own: only "no panic" matters here,
        // plus the file name in parse errors.
        for m in &ms {
            check_one(&m.clone())?;
        }
    }
}

#[test]
fn path_traversal_header_is_refused() {
    let c = PipelineConfig {
        fingerprint_headers: vec!["../../../../tmp/x".into()],
        ..PipelineConfig::tiny(100)
    };
    let e = c.check().expect_err("traversal").to_string();
    assert!(e.contains("fingerprint_headers"), "{e}");
}

#[test]
fn an_oversized_config_file_is_refused_without_reading_it_all() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("big.json");
    let mut text = String::from("{\"seed\": 1, \"fingerprint_headers\": [");
    let item = "\"Server\",";
    while (text.len() as u64) <= pipeline::MAX_CONFIG_FILE_BYTES {
        text.push_str(item);
    }
    text.push_str("\"Server\"]}");
    std::fs::write(&path, text).expect("write");
    let e = PipelineConfig::from_json_file(&path).expect_err("too big");
    assert!(matches!(e, Error::Io { .. }), "{e:?}");
    assert!(e.to_string().contains("big.json"), "{e}");
}
