//! The embedder on a tiny random model saved in Hugging Face layout: unit rows that do not
//! depend on batching, the masked-LM fallback, truncation, and resumable record embedding
//! that gives byte-identical files after an interruption.
#![cfg(feature = "model")]

use std::io::Write as _;
use std::path::{Path, PathBuf};

use banner_parse::BannerRecord;
use bpe_tokenizer::{BannerTokenizer, TrainConfig};
use embed_index::{BannerEmbedder, EmbedParams, EmbeddingStore, Error, Pooling, manifest_path};
use roberta_model::{RobertaConfig, RobertaForMaskedLm, RobertaForStability, default_device};

fn banners() -> Vec<Vec<u8>> {
    let mut out = Vec::new();
    for i in 0..24u32 {
        let b = match i % 4 {
            0 => format!(
                "HTTP/1.1 200 OK\r\nServer: nginx/1.{i}.0\r\nDate: Tue, {i:02} Jul 2023 10:11:12 GMT\r\nContent-Length: {}\r\n",
                100 + i * 7
            ),
            1 => format!("SSH-2.0-OpenSSH_8.{i}p1 Ubuntu-3ubuntu0.{i}\r\n"),
            2 => format!("220 ProFTPD 1.3.{i} Server (Debian) [::ffff:10.0.0.{i}]\r\n"),
            _ => "HTTP/1.0 401 Unauthorized\r\nWWW-Authenticate: Basic realm=\"router\"\r\n"
                .repeat(1 + i as usize % 3),
        };
        out.push(b.into_bytes());
    }
    out.push(Vec::new()); // an empty banner
    out.push(vec![0xff, 0x00, 0x1b, b'x']); // bytes that are not UTF-8
    out
}

fn tokenizer() -> BannerTokenizer {
    let config = TrainConfig::default()
        .vocab_size(320)
        .show_progress(false)
        .check()
        .expect("config");
    BannerTokenizer::train(banners(), &config).expect("train")
}

/// A tiny random model directory; `stability` chooses the fine-tuned or the MLM layout.
fn model_dir(dir: &Path, stability: bool, max_positions: usize) -> PathBuf {
    let device = default_device().expect("device");
    let tok = tokenizer();
    let mut config = RobertaConfig::preset(roberta_model::ModelPreset::Small, tok.vocab_size());
    config.hidden_size = 32;
    config.intermediate_size = 64;
    config.max_position_embeddings = max_positions;
    let config = config.check().expect("valid config");
    if stability {
        RobertaForStability::new(&config, &device)
            .expect("model")
            .save_pretrained(dir, &config)
            .expect("save");
    } else {
        RobertaForMaskedLm::new(&config, &device)
            .expect("model")
            .save_pretrained(dir, &config)
            .expect("save");
    }
    tok.save(dir.join("tokenizer.json"))
        .expect("save tokenizer");
    dir.to_path_buf()
}

fn norm(row: &ndarray::ArrayView1<'_, f32>) -> f32 {
    row.iter().map(|v| v * v).sum::<f32>().sqrt()
}

#[test]
fn rows_are_unit_and_do_not_depend_on_batching() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let device = default_device().expect("device");
    let e = BannerEmbedder::from_dir(model_dir(tmp.path(), true, 130), &device).expect("load");
    assert_eq!(e.pooling(), Pooling::Stability);
    assert_eq!(e.dim(), 32);
    let banners = banners();
    let all = e.embed(&banners, 5).expect("embed");
    assert_eq!(all.dim(), (banners.len(), 32));
    for (i, b) in banners.iter().enumerate() {
        assert!((norm(&all.row(i)) - 1.0).abs() < 1e-5, "row {i}");
        let alone = e.embed(&[b], 1).expect("embed one");
        let diff = (&alone.row(0) - &all.row(i)).mapv(f32::abs);
        let max = diff.iter().copied().fold(0.0, f32::max);
        assert!(max < 1e-5, "banner {i}: batched and alone differ by {max}");
    }
    // Reversed input order, another batch size: the same rows, in input order.
    let reversed: Vec<&Vec<u8>> = banners.iter().rev().collect();
    let rev = e.embed(&reversed, 7).expect("embed reversed");
    for i in 0..banners.len() {
        let j = banners.len() - 1 - i;
        let max = (&rev.row(j) - &all.row(i))
            .mapv(f32::abs)
            .iter()
            .copied()
            .fold(0.0, f32::max);
        assert!(max < 1e-5, "banner {i}: {max}");
    }
    // Different banners get different vectors.
    assert!(norm(&(&all.row(0) - &all.row(1)).view()) > 1e-3);
    assert!(matches!(
        e.embed(&banners, 0),
        Err(Error::InvalidParam {
            name: "batch_size",
            ..
        })
    ));
}

#[test]
fn stability_covers_the_banner_and_long_banners_are_cut() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let device = default_device().expect("device");
    // 18 positions: inputs of at most 16 tokens.
    let e = BannerEmbedder::from_dir(model_dir(tmp.path(), true, 18), &device).expect("load");
    assert_eq!(e.max_input_len(), 16);
    let short = b"SSH-2.0-x\r\n".to_vec();
    let long = banners()[3].repeat(4);
    let (emb, stab) = e
        .embed_with_stability(&[short.clone(), long.clone()], 8)
        .expect("embed");
    assert!(!stab[0].truncated && stab[1].truncated);
    // The short banner's tokens tile it exactly.
    let mut at = 0;
    for (range, p) in &stab[0].tokens {
        assert_eq!(range.start, at);
        assert!((0.0..=1.0).contains(p));
        at = range.end;
    }
    assert_eq!(at, short.len());
    // The long one: 14 content tokens (16 minus <s> and </s>) from its start.
    assert_eq!(stab[1].tokens.len(), 14);
    assert_eq!(stab[1].tokens[0].0.start, 0);
    for i in 0..2 {
        assert!((norm(&emb.row(i)) - 1.0).abs() < 1e-5);
    }
}

#[test]
fn masked_lm_checkpoint_falls_back_to_mean_pooling() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let device = default_device().expect("device");
    let e = BannerEmbedder::from_dir(model_dir(tmp.path(), false, 130), &device).expect("load");
    assert_eq!(e.pooling(), Pooling::Mean);
    let x = e.embed(&banners()[..4], 2).expect("embed");
    assert!((norm(&x.row(2)) - 1.0).abs() < 1e-5);
    assert!(matches!(
        e.embed_with_stability(&banners()[..1], 2),
        Err(Error::NoStabilityHead)
    ));
}

#[test]
fn a_tokenizer_larger_than_the_model_is_refused() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let device = default_device().expect("device");
    let dir = model_dir(tmp.path(), true, 130);
    let big = BannerTokenizer::train(
        banners(),
        &TrainConfig::default()
            .vocab_size(600)
            .show_progress(false)
            .check()
            .expect("config"),
    )
    .expect("train");
    if big.vocab_size() <= tokenizer().vocab_size() {
        return; // the corpus has too few merges to grow the vocabulary; nothing to test
    }
    big.save(dir.join("tokenizer.json")).expect("save");
    assert!(matches!(
        BannerEmbedder::from_dir(&dir, &device),
        Err(Error::Shape(_))
    ));
}

/// Issue 24 item 6: a store made with one model, inputs and ids file is only ever resumed
/// with the same; anything else is refused before a byte is written, saying what differs.
#[test]
fn resume_refuses_another_model_other_inputs_and_a_mistyped_ids_path() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let device = default_device().expect("device");
    let a = BannerEmbedder::from_dir(model_dir(&tmp.path().join("a"), true, 130), &device)
        .expect("load a");
    // Same width and tokenizer, another weight.
    let b_dir = model_dir(&tmp.path().join("b"), true, 130);
    let weights = b_dir.join("model.safetensors");
    let mut bytes = std::fs::read(&weights).expect("weights");
    let n = bytes.len();
    bytes[n - 4..].copy_from_slice(&0.123_f32.to_le_bytes());
    std::fs::write(&weights, bytes).expect("weights");
    let b = BannerEmbedder::from_dir(&b_dir, &device).expect("load b");
    assert_eq!(a.dim(), b.dim());
    assert_ne!(a.digests().expect("a").0, b.digests().expect("b").0);
    let inputs = record_files(tmp.path());
    let params = EmbedParams {
        batch_size: 8,
        chunk_rows: 7,
        progress: false,
    };
    let (npy, ids) = (tmp.path().join("emb.npy"), tmp.path().join("ids.jsonl"));
    // A killed run: the first file only embedded, then resumed with...
    a.embed_files(&inputs[..1], &npy, &ids, &params)
        .expect("first part");
    let before = (
        std::fs::read(&npy).expect("npy"),
        std::fs::read(&ids).expect("ids"),
    );
    let unchanged = |what: &str| {
        assert_eq!(std::fs::read(&npy).expect("npy"), before.0, "{what}: npy");
        assert_eq!(std::fs::read(&ids).expect("ids"), before.1, "{what}: ids");
    };
    // ... another model of the same width,
    let err = b
        .embed_files(&inputs[..1], &npy, &ids, &params)
        .expect_err("other model");
    assert!(
        matches!(&err, Error::Resume { reason, .. } if reason.contains("model")),
        "{err}"
    );
    unchanged("other model");
    // ... other inputs (one more file),
    let err = a
        .embed_files(&inputs, &npy, &ids, &params)
        .expect_err("other inputs");
    assert!(
        matches!(&err, Error::Resume { reason, .. } if reason.contains("input")),
        "{err}"
    );
    unchanged("other inputs");
    // ... a changed input file of the same name,
    let mut grown = std::fs::read(&inputs[0]).expect("input");
    let original = grown.clone();
    grown.extend_from_slice(b"\n");
    std::fs::write(&inputs[0], &grown).expect("grow input");
    let err = a
        .embed_files(&inputs[..1], &npy, &ids, &params)
        .expect_err("changed input");
    assert!(
        matches!(&err, Error::Resume { reason, .. } if reason.contains("input[0]")),
        "{err}"
    );
    std::fs::write(&inputs[0], &original).expect("restore input");
    unchanged("changed input");
    // ... and a mistyped ids path (used to truncate the matrix to zero rows).
    let typo = tmp.path().join("idz.jsonl");
    let err = a
        .embed_files(&inputs[..1], &npy, &typo, &params)
        .expect_err("mistyped ids");
    assert!(matches!(err, Error::Resume { .. }), "{err}");
    assert!(!typo.exists(), "the mistyped ids file was created");
    unchanged("mistyped ids");
    // The right model, inputs and ids resume (nothing left to do).
    let again = a
        .embed_files(&inputs[..1], &npy, &ids, &params)
        .expect("same run");
    assert_eq!(again.embedded, 0);
    unchanged("same run");
}

/// Two record files (one gzip), with one malformed line.
fn record_files(dir: &Path) -> Vec<PathBuf> {
    let banners = banners();
    let mut paths = Vec::new();
    for (f, part) in banners.chunks(15).enumerate() {
        let mut text = Vec::new();
        for (i, b) in part.iter().enumerate() {
            let rec = BannerRecord {
                ip: format!("192.0.2.{}", f * 100 + i).parse().expect("ip"),
                port: 80,
                snapshot: "2023-07-04".into(),
                protocol: "http".into(),
                banner: b.clone(),
            };
            serde_json::to_writer(&mut text, &rec).expect("json");
            text.push(b'\n');
            if f == 0 && i == 3 {
                text.extend_from_slice(b"{not json\n");
            }
        }
        let path = if f == 1 {
            let path = dir.join("part1.jsonl.gz");
            let mut gz = flate2_writer(&path);
            gz.write_all(&text).expect("gz");
            gz.flush().expect("gz");
            drop(gz);
            path
        } else {
            let path = dir.join("part0.jsonl");
            std::fs::write(&path, &text).expect("write");
            path
        };
        paths.push(path);
    }
    paths
}

/// Rewrites the row count of one of our `.npy` headers (fixed width, right-aligned).
fn set_header_rows(npy: &mut [u8], rows: u64) {
    let pat = b"'shape': (";
    let at = npy
        .windows(pat.len())
        .position(|w| w == pat)
        .expect("shape")
        + pat.len();
    npy[at..at + 20].copy_from_slice(format!("{rows:>20}").as_bytes());
}

fn flate2_writer(path: &Path) -> impl std::io::Write {
    let file = std::fs::File::create(path).expect("create");
    flate2::write::GzEncoder::new(file, flate2::Compression::fast())
}

#[test]
fn interrupted_record_embedding_resumes_byte_identical() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let device = default_device().expect("device");
    let model = tmp.path().join("model");
    let e = BannerEmbedder::from_dir(model_dir(&model, true, 130), &device).expect("load");
    let inputs = record_files(tmp.path());
    let params = EmbedParams {
        batch_size: 3,
        chunk_rows: 7,
        progress: false,
    };
    let (npy, ids) = (tmp.path().join("full.npy"), tmp.path().join("full.jsonl"));
    let full = e
        .embed_files(&inputs, &npy, &ids, &params)
        .expect("full run");
    let n = banners().len() as u64;
    assert_eq!((full.rows, full.resumed_from, full.bad_lines), (n, 0, 1));
    let (full_npy, full_ids) = (
        std::fs::read(&npy).expect("npy"),
        std::fs::read(&ids).expect("ids"),
    );

    let store = EmbeddingStore::open(&npy, &ids).expect("open");
    assert_eq!(store.len() as u64, n);
    let key = serde_json::json!({"ip": "192.0.2.101", "port": 80, "snapshot": "2023-07-04", "protocol": "http"});
    let row = store.row_by_id(&key).expect("read").expect("known id");
    let direct = e.embed(&banners()[16..17], 1).expect("embed");
    let max = row
        .iter()
        .zip(direct.row(0))
        .map(|(a, b)| (a - b).abs())
        .fold(0.0, f32::max);
    assert!(
        max < 1e-5,
        "store row differs from a direct embedding by {max}"
    );

    // Interruptions at several points: inside a row, inside an id line, right after a
    // checkpoint, and with the ids file ahead of the matrix.
    let header = full_npy.len() - 4 * 32 * n as usize;
    let row_bytes = 4 * 32;
    let id_line_ends: Vec<usize> = full_ids
        .iter()
        .enumerate()
        .filter(|(_, b)| **b == b'\n')
        .map(|(i, _)| i + 1)
        .collect();
    let cases = [
        (header + 9 * row_bytes + 50, id_line_ends[10] - 5),
        (header + 7 * row_bytes, id_line_ends[6]),
        (header + 3 * row_bytes, id_line_ends[20]),
        (header, 0),
    ];
    for (k, (npy_len, ids_len)) in cases.into_iter().enumerate() {
        // A killed run: the files cut, the header holding the rows of the last checkpoint
        // (chunks of 7) that both files had reached, the manifest beside them.
        let case = tmp.path().join(format!("cut{k}"));
        std::fs::create_dir(&case).expect("case dir");
        let (p, q) = (case.join("full.npy"), case.join("full.jsonl"));
        let whole_rows = (npy_len - header) / row_bytes;
        let whole_ids = full_ids[..ids_len].split(|b| *b == b'\n').count() - 1;
        let mut cut = full_npy[..npy_len].to_vec();
        set_header_rows(&mut cut, (whole_rows.min(whole_ids) / 7 * 7) as u64);
        std::fs::write(&p, &cut).expect("cut npy");
        std::fs::write(&q, &full_ids[..ids_len]).expect("cut ids");
        std::fs::copy(manifest_path(&npy), manifest_path(&p)).expect("manifest");
        let resumed = e.embed_files(&inputs, &p, &q, &params).expect("resume");
        assert_eq!(resumed.rows, n, "case {k}");
        assert_eq!(resumed.resumed_from + resumed.embedded, n, "case {k}");
        assert!(resumed.recomputed < 7, "case {k}");
        if k == 0 {
            // 9 whole rows survived; the chunk of rows 7..14 is computed again, and only
            // rows 9.. are written.
            assert_eq!((resumed.resumed_from, resumed.recomputed), (9, 2));
        }
        assert!(
            std::fs::read(&p).expect("npy") == full_npy,
            "case {k}: matrix differs after resuming"
        );
        assert!(
            std::fs::read(&q).expect("ids") == full_ids,
            "case {k}: ids differ after resuming"
        );
    }
    // A finished store is left as it is.
    let again = e.embed_files(&inputs, &npy, &ids, &params).expect("rerun");
    assert_eq!((again.resumed_from, again.embedded), (n, 0));
    assert_eq!(std::fs::read(&npy).expect("npy"), full_npy);
}

/// Records in memory (a slice, a filtered iterator) give the rows and ids that the same
/// records read from files give; resuming with other records is refused.
#[test]
fn records_in_memory_embed_like_files_and_resume() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let device = default_device().expect("device");
    let e = BannerEmbedder::from_dir(model_dir(&tmp.path().join("model"), true, 130), &device)
        .expect("load");
    let inputs = record_files(tmp.path());
    let params = EmbedParams {
        batch_size: 3,
        chunk_rows: 7,
        progress: false,
    };
    let (npy, ids) = (tmp.path().join("f.npy"), tmp.path().join("f.jsonl"));
    e.embed_files(&inputs, &npy, &ids, &params).expect("files");
    let records: Vec<BannerRecord> = inputs
        .iter()
        .flat_map(|p| {
            let skip =
                banner_parse::ReadOptions::default().on_bad_line(banner_parse::OnBadLine::Skip);
            banner_parse::RecordReader::open(p, skip)
                .expect("open")
                .map(|r| r.expect("record"))
        })
        .collect();
    assert_eq!(records.len(), banners().len());
    let (npy2, ids2) = (tmp.path().join("r.npy"), tmp.path().join("r.jsonl"));
    let s = e
        .embed_records(&records, &npy2, &ids2, &params)
        .expect("records");
    assert_eq!(
        (s.rows, s.embedded, s.bad_lines),
        (records.len() as u64, records.len() as u64, 0)
    );
    // Same records, same chunks and batches: the same bytes.
    assert_eq!(
        std::fs::read(&ids).expect("ids"),
        std::fs::read(&ids2).expect("ids")
    );
    assert_eq!(
        std::fs::read(&npy).expect("npy"),
        std::fs::read(&npy2).expect("npy")
    );
    // The same call again is a finished store: nothing embedded twice.
    let again = e
        .embed_records(records.iter(), &npy2, &ids2, &params)
        .expect("again");
    assert_eq!(
        (again.resumed_from, again.embedded),
        (records.len() as u64, 0)
    );
    // Other records (a filtered subset) are refused before anything is written.
    let http_only = records.iter().filter(|r| r.banner.starts_with(b"HTTP"));
    let err = e
        .embed_records(http_only, &npy2, &ids2, &params)
        .expect_err("other records");
    assert!(
        matches!(&err, Error::Resume { reason, .. } if reason.contains("records")),
        "{err}"
    );
}

#[test]
fn autotraits() {
    fn send_sync<T: Send + Sync>() {}
    send_sync::<BannerEmbedder>();
    send_sync::<EmbedParams>();
    send_sync::<embed_index::EmbedSummary>();
    send_sync::<embed_index::TokenStability>();
}
