//! Training, round trips, compatibility of the saved file, label alignment.

use std::path::PathBuf;
use std::sync::OnceLock;
use std::sync::atomic::{AtomicUsize, Ordering};

use banner_parse::{
    BannerKind, BannerRecord, Label, ReadOptions, RecordReader, label_pair, pair_in_memory,
};
use bpe_tokenizer::{
    BannerTokenizer, Error, LabelledEncoding, MIN_MATCHED_TOKENS, Padding, TrainConfig,
    align_labels, label_of_bytes,
};
use proptest::prelude::*;

fn fixture(name: &str) -> Vec<BannerRecord> {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../tests/data")
        .join(name);
    RecordReader::open(&path, ReadOptions::default())
        .and_then(Iterator::collect::<Result<Vec<_>, _>>)
        .unwrap_or_else(|e| panic!("fixture {}: {e}", path.display()))
}

fn banners() -> &'static [Vec<u8>] {
    static B: OnceLock<Vec<Vec<u8>>> = OnceLock::new();
    B.get_or_init(|| {
        fixture("snapshot-2023-06.jsonl.gz")
            .into_iter()
            .chain(fixture("snapshot-2023-07.jsonl.gz"))
            .map(|r| r.banner)
            .collect()
    })
}

/// A small tokenizer trained once on the fixture (120 banners).
fn tok() -> &'static BannerTokenizer {
    static T: OnceLock<BannerTokenizer> = OnceLock::new();
    T.get_or_init(|| {
        let config = TrainConfig::default()
            .vocab_size(800)
            .check()
            .expect("config");
        BannerTokenizer::train(banners(), &config).expect("train")
    })
}

/// The same without truncation, for round trips of long inputs.
fn untruncated() -> BannerTokenizer {
    let mut t = tok().clone();
    t.set_max_length(None).expect("no truncation");
    t
}

#[test]
fn trained_layout_is_roberta() {
    let t = tok();
    let s = t.special_ids();
    assert_eq!((s.bos, s.pad, s.eos, s.unk, s.mask), (0, 1, 2, 3, 4));
    assert!(
        t.vocab_size() > 261 && t.vocab_size() <= 800,
        "{}",
        t.vocab_size()
    );
    assert_eq!(t.max_length(), Some(768));
    assert_eq!(t.padding(), Padding::BatchLongest);
    // Merges learnt from banners: a header name is a handful of tokens at most.
    let enc = t.encode(b"Content-Type: text/html\r\n").expect("encode");
    assert!(enc.content_len() <= 8, "{} tokens", enc.content_len());
    let json: serde_json::Value =
        serde_json::from_str(&t.to_json(false).expect("json")).expect("parse");
    assert_eq!(json["post_processor"]["type"], "RobertaProcessing");
    assert_eq!(json["post_processor"]["cls"], serde_json::json!(["<s>", 0]));
    assert_eq!(
        json["post_processor"]["sep"],
        serde_json::json!(["</s>", 2])
    );
    assert_eq!(json["post_processor"]["trim_offsets"], false);
    assert_eq!(json["pre_tokenizer"]["type"], "ByteLevel");
    assert_eq!(json["pre_tokenizer"]["add_prefix_space"], false);
    assert_eq!(json["decoder"]["type"], "ByteLevel");
    assert_eq!(json["model"]["type"], "BPE");
    assert_eq!(json["truncation"]["max_length"], 768);
    assert_eq!(json["padding"]["pad_id"], 1);
    assert_eq!(json["padding"]["pad_token"], "<pad>");
    assert!(json["normalizer"].is_null());
}

#[test]
fn every_fixture_banner_round_trips_with_covering_offsets() {
    let t = untruncated();
    for b in banners() {
        let enc = t.encode(b).expect("encode");
        assert_eq!(&t.decode(enc.ids()).expect("decode"), b);
        assert!(!enc.is_truncated());
        assert_eq!(enc.ids().first(), Some(&0));
        assert_eq!(enc.ids().last(), Some(&2));
    }
}

#[test]
fn saved_file_reads_back_with_identical_ids() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("tokenizer.json");
    tok().save(&path).expect("save");
    let back = BannerTokenizer::from_file(&path).expect("load");
    assert_eq!(
        back.to_json(true).expect("json"),
        tok().to_json(true).expect("json")
    );
    assert_eq!(back.special_ids(), tok().special_ids());
    assert_eq!(back.max_length(), Some(768));
    let ours = tok().encode_batch(banners()).expect("encode");
    let theirs = back.encode_batch(banners()).expect("encode");
    assert_eq!(ours, theirs);
    // Nothing but the file is left in the directory (the write is atomic).
    assert_eq!(std::fs::read_dir(dir.path()).expect("ls").count(), 1);
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        // The mode of any new file (umask applied), without execute bits.
        let plain = dir.path().join("plain");
        std::fs::File::create(&plain).expect("create");
        let umasked = std::fs::metadata(&plain)
            .expect("stat")
            .permissions()
            .mode()
            & 0o644;
        std::fs::remove_file(&plain).expect("rm");
        let mode = std::fs::metadata(&path).expect("stat").permissions().mode() & 0o777;
        assert_eq!(mode, umasked, "{mode:o} vs {umasked:o}");
    }
}

#[test]
fn incompatible_files_are_rejected_with_reasons() {
    let good: serde_json::Value =
        serde_json::from_str(&tok().to_json(false).expect("json")).expect("parse");
    let check = |edit: &dyn Fn(&mut serde_json::Value), want: &str| {
        let mut v = good.clone();
        edit(&mut v);
        match BannerTokenizer::from_json(&v.to_string()) {
            Err(Error::Incompatible { reason, .. }) => assert!(reason.contains(want), "{reason}"),
            other => panic!("expected Incompatible({want}), got {other:?}"),
        }
    };
    check(
        &|v| v["normalizer"] = serde_json::json!({"type": "Lowercase"}),
        "normalizer",
    );
    check(
        &|v| v["pre_tokenizer"]["add_prefix_space"] = true.into(),
        "prefix space",
    );
    check(
        &|v| v["post_processor"]["trim_offsets"] = true.into(),
        "trims offsets",
    );
    check(
        &|v| {
            let added = v["added_tokens"].as_array_mut().expect("array");
            added.retain(|t| t["content"] != "<mask>");
        },
        "<mask>",
    );
    assert!(matches!(
        BannerTokenizer::from_json("{not json"),
        Err(Error::Load { .. })
    ));
    let missing = BannerTokenizer::from_file("/nonexistent/tokenizer.json");
    assert!(matches!(missing, Err(Error::Io { .. })));
}

#[test]
fn special_token_text_in_a_banner_is_plain_text() {
    let t = untruncated();
    let banner = b"<html><s>old</s> price <mask><pad><unk></html>";
    let enc = t.encode(banner).expect("encode");
    let inner = &enc.ids()[1..enc.len() - 1];
    assert!(inner.iter().all(|&id| id > 4), "{inner:?}");
    assert_eq!(t.decode(enc.ids()).expect("decode"), banner);
}

#[test]
fn truncation_and_padding() {
    let t = tok();
    let long = b"X-Pad: 0123456789abcdef\r\n".repeat(400);
    let enc = t.encode(&long).expect("encode");
    assert_eq!(enc.len(), 768);
    assert!(enc.is_truncated());
    assert_eq!(enc.ids()[767], t.special_ids().eos);
    let decoded = t.decode(enc.ids()).expect("decode");
    assert!(long.starts_with(&decoded) && decoded.len() > 1000);

    let batch = t
        .encode_batch(&[&b"SSH-2.0-OpenSSH_8.9\r\n"[..], b"a"])
        .expect("batch");
    assert_eq!(batch[0].len(), batch[1].len());
    let pads = batch[1]
        .attention_mask()
        .iter()
        .filter(|&&m| m == 0)
        .count();
    assert!(pads > 0);
    assert!(
        batch[1].ids()[batch[1].len() - pads..]
            .iter()
            .all(|&id| id == 1)
    );
    assert_eq!(t.decode(batch[1].ids()).expect("decode"), b"a");

    let mut fixed = t.clone();
    fixed.set_padding(Padding::Fixed(40));
    assert!(
        fixed
            .encode_batch(&[b"a"])
            .expect("batch")
            .iter()
            .all(|e| e.len() == 40)
    );
    assert!(matches!(
        fixed.set_max_length(Some(2)),
        Err(Error::InvalidParam {
            name: "max_length",
            ..
        })
    ));
}

#[test]
fn decode_rejects_unknown_ids_and_drops_half_bytes() {
    let t = untruncated();
    let n = t.vocab_size() as u32;
    assert!(matches!(t.decode(&[0, n, 2]), Err(Error::UnknownId { id, .. }) if id == n));
    // 0xE9 is two byte-level symbols; keep the tokens of its first half only.
    let enc = t.encode(b"\xe9").expect("encode");
    let content = &enc.ids()[1..enc.len() - 1];
    if content.len() == 2 {
        assert_eq!(t.decode(&content[..1]).expect("decode"), b"");
    }
    assert_eq!(t.decode(content).expect("decode"), b"\xe9");
}

#[test]
fn max_samples_stops_reading() {
    let pulled = AtomicUsize::new(0);
    let source = banners().iter().inspect(|_| {
        pulled.fetch_add(1, Ordering::Relaxed);
    });
    let config = TrainConfig::default()
        .vocab_size(300)
        .max_samples(7)
        .check()
        .expect("config");
    BannerTokenizer::train(source, &config).expect("train");
    assert_eq!(pulled.load(Ordering::Relaxed), 7);
}

#[test]
fn try_train_returns_the_sources_error() {
    let source = vec![
        Ok(b"HTTP/1.1 200 OK\r\n".to_vec()),
        Err(std::io::Error::other("disk on fire")),
    ];
    let config = TrainConfig::default()
        .vocab_size(300)
        .check()
        .expect("config");
    match BannerTokenizer::try_train(source, &config) {
        Err(Error::Input(e)) => assert_eq!(e.to_string(), "disk on fire"),
        other => panic!("expected Input error, got {other:?}"),
    }
    let reader = RecordReader::open(
        PathBuf::from(env!("CARGO_MANIFEST_DIR"))
            .join("../../tests/data/snapshot-2023-06.jsonl.gz"),
        ReadOptions::default(),
    )
    .expect("open");
    let t = BannerTokenizer::try_train(reader.map(|r| r.map(|rec| rec.banner)), &config)
        .expect("train");
    assert!(t.vocab_size() > 261);
}

#[test]
fn straddling_tokens_follow_the_rule() {
    let t = untruncated();
    let banner = b"HTTP/1.1 200 OK\r\nServer: nginx\r\n";
    let enc = t.encode(banner).expect("encode");
    // A banner token of at least two bytes.
    let (i, &(s, e)) = enc
        .offsets()
        .iter()
        .enumerate()
        .find(|(i, (s, e))| enc.special_tokens_mask()[*i] == 0 && e - s >= 2)
        .expect("a multi-byte token");
    let with = |first: Label, rest: Label| {
        let mut labels = vec![Label::Unlabelled; banner.len()];
        labels[s] = first;
        labels[s + 1..e].fill(rest);
        align_labels(&enc, &labels).expect("align").labels()[i]
    };
    assert_eq!(with(Label::Stable, Label::Dynamic), Label::Dynamic);
    assert_eq!(with(Label::Dynamic, Label::Stable), Label::Dynamic);
    assert_eq!(with(Label::Unlabelled, Label::Stable), Label::Stable);
    assert_eq!(with(Label::Unlabelled, Label::Dynamic), Label::Dynamic);
    assert_eq!(
        with(Label::Unlabelled, Label::Unlabelled),
        Label::Unlabelled
    );
    assert!(matches!(
        align_labels(&enc, &[Label::Stable; 3]),
        Err(Error::LabelLength { labels: 3, .. })
    ));
}

fn unpadded(e: &LabelledEncoding) -> (Vec<u32>, Vec<(usize, usize)>, Vec<Label>) {
    let keep = |i: &usize| e.encoding.attention_mask()[*i] == 1;
    let n = e.encoding.len();
    (
        (0..n).filter(keep).map(|i| e.encoding.ids()[i]).collect(),
        (0..n)
            .filter(keep)
            .map(|i| e.encoding.offsets()[i])
            .collect(),
        (0..n).filter(keep).map(|i| e.labels.labels()[i]).collect(),
    )
}

#[test]
fn fixture_pairs_label_and_filter() {
    let pairing = pair_in_memory(
        fixture("snapshot-2023-06.jsonl.gz"),
        fixture("snapshot-2023-07.jsonl.gz"),
    );
    let t = tok();
    let labelled = t.encode_pairs(&pairing.pairs).expect("pairs");
    assert_eq!(labelled.len(), pairing.pairs.len());
    for (p, l) in pairing.pairs.iter().zip(&labelled) {
        let one = t
            .encode_pair(&p.before.banner, &p.after.banner, &p.labels())
            .expect("pair");
        // The same tokens and labels; only the padding differs (the batch
        // pads every banner to its longest one).
        assert_eq!(unpadded(&one.a), unpadded(&l.a));
        assert_eq!(unpadded(&one.b), unpadded(&l.b));
        assert_eq!(one.a.encoding.len(), one.b.encoding.len()); // padded together
        assert_eq!(l.a.encoding.len(), l.b.encoding.len());
        assert_eq!(l.a.labels.labels().len(), l.a.encoding.len());
    }
    let kept = labelled
        .iter()
        .filter(|l| l.is_kept(MIN_MATCHED_TOKENS))
        .count();
    assert!(kept > 0 && kept <= labelled.len());
    // An HTTP pair with a shared Server header has stable and dynamic tokens.
    let http = labelled
        .iter()
        .zip(&pairing.pairs)
        .find(|(_, p)| p.before.is_http())
        .map(|(l, _)| l)
        .expect("an http pair");
    assert!(http.a.labels.stable() > 0);
    assert_eq!(
        http.a.labels.targets().flatten().count(),
        http.a.labels.labelled()
    );
}

/// Arbitrary bytes, biased towards what banners hold: CRLF, NUL, high bytes,
/// special-token text, repeated header-like runs.
fn banner_bytes() -> impl Strategy<Value = Vec<u8>> {
    let piece = prop_oneof![
        proptest::collection::vec(any::<u8>(), 0..24),
        Just(b"\r\n".to_vec()),
        Just(b"\x00".to_vec()),
        Just(b"\xff\xfe\x80".to_vec()),
        Just(b"</s>".to_vec()),
        Just(b"<mask>".to_vec()),
        Just(b"Server: nginx/1.18.0".to_vec()),
        Just("caf\u{e9} \u{4e2d}\u{6587}".as_bytes().to_vec()),
    ];
    proptest::collection::vec(piece, 0..16).prop_map(|v| v.concat())
}

fn label() -> impl Strategy<Value = Label> {
    prop_oneof![
        Just(Label::Unlabelled),
        Just(Label::Stable),
        Just(Label::Dynamic)
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn lossless_on_arbitrary_bytes(b in banner_bytes()) {
        let t = untruncated();
        let enc = t.encode(&b).expect("encode");
        prop_assert_eq!(t.decode(enc.ids()).expect("decode"), b.clone());
        // Offsets of banner tokens tile the banner: in order, no gap.
        let mut covered = 0;
        for (&(s, e), &m) in enc.offsets().iter().zip(enc.special_tokens_mask()) {
            if m == 1 { continue; }
            prop_assert!(s <= covered && e > s && e <= b.len(), "({}, {}) after {}", s, e, covered);
            covered = covered.max(e);
        }
        prop_assert_eq!(covered, b.len());
    }

    #[test]
    fn labels_land_on_the_tokens_that_hold_their_bytes(
        (b, labels) in banner_bytes().prop_flat_map(|b| {
            let n = b.len();
            (Just(b), proptest::collection::vec(label(), n))
        })
    ) {
        let t = tok();
        let enc = t.encode(&b).expect("encode");
        let tl = align_labels(&enc, &labels).expect("align");
        prop_assert_eq!(tl.labels().len(), enc.len());
        let mut held = vec![false; b.len()];
        for (i, (&(s, e), &m)) in enc.offsets().iter().zip(enc.special_tokens_mask()).enumerate() {
            let got = tl.labels()[i];
            if m == 1 {
                prop_assert_eq!(got, Label::Unlabelled);
                continue;
            }
            prop_assert_eq!(got, label_of_bytes(&labels[s..e]));
            for j in s..e {
                held[j] = true;
                // Every labelled byte reaches its token: a dynamic byte makes
                // the token dynamic, a stable byte makes it stable or dynamic.
                match labels[j] {
                    Label::Dynamic => prop_assert_eq!(got, Label::Dynamic),
                    Label::Stable => prop_assert_ne!(got, Label::Unlabelled),
                    Label::Unlabelled => {}
                }
            }
        }
        if !enc.is_truncated() {
            prop_assert!(held.iter().all(|&h| h), "a byte is held by no token");
        }
        let stable = tl.labels().iter().filter(|&&l| l == Label::Stable).count();
        let dynamic = tl.labels().iter().filter(|&&l| l == Label::Dynamic).count();
        prop_assert_eq!((tl.stable(), tl.dynamic()), (stable, dynamic));
    }
}

#[test]
fn pair_labels_from_banner_parse_align() {
    let a = b"HTTP/1.1 200 OK\r\nServer: lighttpd/1.4.59\r\nETag: \"3910377218\"\r\n";
    let b = b"HTTP/1.1 200 OK\r\nServer: lighttpd/1.4.59\r\nETag: \"1129458061\"\r\n";
    let pair = tok()
        .encode_pair(a, b, &label_pair(a, b, BannerKind::Http))
        .expect("pair");
    // Tokens inside the Server value are stable, those of the ETag digits dynamic.
    let enc = &pair.a.encoding;
    let token_at = |byte: usize| {
        enc.offsets()
            .iter()
            .zip(enc.special_tokens_mask())
            .position(|(&(s, e), &m)| m == 0 && s <= byte && byte < e)
            .expect("token")
    };
    let server = a.windows(8).position(|w| w == b"lighttpd").expect("server");
    let etag = a
        .windows(10)
        .position(|w| w == b"3910377218")
        .expect("etag");
    assert_eq!(pair.a.labels.labels()[token_at(server + 2)], Label::Stable);
    assert_eq!(pair.a.labels.labels()[token_at(etag + 5)], Label::Dynamic);
    assert_eq!(pair.a.labels.labels()[token_at(0)], Label::Unlabelled); // "HTTP"
}
