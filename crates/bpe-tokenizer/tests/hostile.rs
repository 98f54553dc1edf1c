//! Hostile `tokenizer.json` files (issue 24, item 7): a tokenizer whose ids leave
//! `0..vocab_size` is refused when it is loaded (before, such ids reached the model and
//! panicked inside burn in `annotate`, `evaluate` and `finetune`), and no mutation of a valid
//! file panics or loads into something that yields ids outside its vocabulary.
//!
//! The proptest suite runs 256 cases per property by default; run many more with
//! `PROPTEST_CASES=100000 cargo test -p bpe-tokenizer --test hostile`.

use std::path::Path;
use std::sync::OnceLock;

use bpe_tokenizer::{BannerTokenizer, Error, TrainConfig};
use proptest::prelude::*;
use serde_json::{Value, json};

const BANNERS: [&[u8]; 4] = [
    b"HTTP/1.1 200 OK\r\nServer: nginx/1.18.0\r\nContent-Type: text/html\r\n",
    b"HTTP/1.1 404 Not Found\r\nServer: Apache/2.4.41 (Ubuntu)\r\n",
    b"SSH-2.0-OpenSSH_8.9p1 Ubuntu-3ubuntu0.1\r\n",
    b"220 ProFTPD 1.3.5 Server (Debian) [::ffff:10.0.0.1]\r\n",
];

/// A valid tokenizer's JSON.
fn valid() -> &'static Value {
    static V: OnceLock<Value> = OnceLock::new();
    V.get_or_init(|| {
        let config = TrainConfig::default()
            .vocab_size(300)
            .show_progress(false)
            .check()
            .expect("config");
        let tok = BannerTokenizer::train(BANNERS, &config).expect("train");
        serde_json::from_str(&tok.to_json(false).expect("json")).expect("value")
    })
}

fn load(dir: &Path, v: &Value) -> (std::path::PathBuf, Result<BannerTokenizer, Error>) {
    let path = dir.join("tokenizer.json");
    std::fs::write(&path, v.to_string()).expect("write");
    let r = BannerTokenizer::from_file(&path);
    (path, r)
}

/// An id far beyond the vocabulary: `vocab_size()` counts tokens, so the model built for
/// it had a table of ~300 rows and the id 4,000,000 panicked inside burn.
#[test]
fn a_sparse_id_is_refused_when_loading_naming_the_file() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut v = valid().clone();
    let vocab = v["model"]["vocab"].as_object_mut().expect("vocab");
    let (token, _) = vocab
        .iter()
        .find(|(t, _)| t.as_str() == "Server")
        .or_else(|| vocab.iter().next_back())
        .map(|(t, id)| (t.clone(), id.clone()))
        .expect("a token");
    vocab.insert(token, json!(4_000_000));
    let (path, r) = load(dir.path(), &v);
    let err = r.expect_err("sparse id");
    assert!(matches!(err, Error::Incompatible { .. }), "{err}");
    assert!(
        err.to_string().contains(&path.display().to_string()),
        "{err}"
    );
    assert!(err.to_string().contains("4000000"), "{err}");
}

fn mutation() -> impl Strategy<Value = (String, Value)> {
    let value = prop_oneof![
        any::<u32>().prop_map(Value::from),
        (0u32..400).prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        Just(Value::Null),
        Just(json!("x")),
        Just(json!([])),
        Just(json!({})),
        Just(json!(true)),
    ];
    let pointer = prop_oneof![
        Just("/model/vocab/Server".to_owned()),
        Just("/model/vocab/<s>".to_owned()),
        Just("/model/vocab/<pad>".to_owned()),
        Just("/model/vocab/Ġ".to_owned()),
        Just("/model/merges/0".to_owned()),
        Just("/model/merges".to_owned()),
        Just("/model/unk_token".to_owned()),
        Just("/model/dropout".to_owned()),
        Just("/model/type".to_owned()),
        Just("/added_tokens/0/id".to_owned()),
        Just("/added_tokens/1/id".to_owned()),
        Just("/added_tokens/0/content".to_owned()),
        Just("/added_tokens".to_owned()),
        Just("/truncation".to_owned()),
        Just("/padding".to_owned()),
        Just("/post_processor/sep/1".to_owned()),
        Just("/post_processor/cls/1".to_owned()),
        Just("/post_processor".to_owned()),
        Just("/pre_tokenizer".to_owned()),
        Just("/decoder".to_owned()),
        Just("/normalizer".to_owned()),
    ];
    (pointer, value)
}

/// Sets the value at a JSON pointer, creating the last key in an object if needed.
fn set(v: &mut Value, pointer: &str, new: Value) {
    if let Some(slot) = v.pointer_mut(pointer) {
        *slot = new;
        return;
    }
    let (parent, key) = pointer.rsplit_once('/').unwrap_or(("", pointer));
    if let Some(Value::Object(m)) = v.pointer_mut(parent) {
        m.insert(key.to_owned(), new);
    }
}

proptest! {
    /// Mutated files: no panic; loaded tokenizers keep every id inside their vocabulary
    /// (also on encoding); errors name the file.
    #[test]
    fn hostile_tokenizer_files_are_errors_naming_the_file(
        mutations in prop::collection::vec(mutation(), 1..4),
        cut in prop::option::of(0usize..4000),
    ) {
        let dir = tempfile::tempdir().expect("tempdir");
        let mut v = valid().clone();
        for (pointer, value) in mutations {
            set(&mut v, &pointer, value);
        }
        let path = dir.path().join("tokenizer.json");
        let mut text = v.to_string().into_bytes();
        if let Some(c) = cut {
            text.truncate(c);
        }
        std::fs::write(&path, &text).expect("write");
        match BannerTokenizer::from_file(&path) {
            Ok(tok) => {
                let size = tok.vocab_size();
                for b in BANNERS {
                    if let Ok(enc) = tok.encode(b) {
                        prop_assert!(enc.ids().iter().all(|&id| (id as usize) < size));
                    }
                }
            }
            Err(e) => prop_assert!(
                e.to_string().contains(&path.display().to_string()),
                "{e}"
            ),
        }
    }
}

/// The post-processor's `</s>` id goes into every encoding as written: one outside the
/// vocabulary is refused too.
#[test]
fn a_post_processor_id_outside_the_vocabulary_is_refused() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut v = valid().clone();
    set(&mut v, "/post_processor/sep/1", json!(4_000_000));
    let (path, r) = load(dir.path(), &v);
    let err = r.expect_err("post-processor id");
    assert!(matches!(err, Error::Incompatible { .. }), "{err}");
    assert!(
        err.to_string().contains(&path.display().to_string()),
        "{err}"
    );
}
