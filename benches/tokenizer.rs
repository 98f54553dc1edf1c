//! Byte-level BPE on simulated banners: training time (vocab 8,000 and
//! 50,000) and parallel batch-encode throughput, beside Python `tokenizers`
//! on the same text (benches/python/tokenizer_baseline.py).
//!
//! ```text
//! cargo bench --bench tokenizer                       # writes the corpus on first run
//! python3 benches/python/tokenizer_baseline.py        # the same jobs in Python
//! ```
//!
//! The corpus is `BANNERLM_TOKENIZER_CORPUS` (banner-record JSONL, default
//! `target/bench-data/tokenizer-corpus.jsonl`): when the file is missing it
//! is generated with scan-sim (seed 0, 50,000 hosts, monthly snapshots, raw
//! HTTP form) up to `BANNERLM_TOKENIZER_MB` megabytes of banners (default
//! 50). Both benches read the same file. Training is slow (tens of seconds
//! per run), so it is timed directly (`BANNERLM_TOKENIZER_TRAIN_RUNS` runs,
//! default 1) rather than sampled by criterion; encoding is a criterion
//! group. Not run in CI.

use std::hint::black_box;
use std::path::PathBuf;
use std::time::Instant;

use banner_parse::{BannerRecord, ReadOptions, RecordReader, RecordWriter};
use bpe_tokenizer::{BannerTokenizer, Padding, TrainConfig};
use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use scan_sim::{ScanSimulator, SimConfig};

/// Bytes of the slice used for the encode throughput.
const ENCODE_BYTES: usize = 5 << 20;
/// Banners per `encode_batch` call.
const BATCH: usize = 1024;

fn corpus_path() -> PathBuf {
    std::env::var_os("BANNERLM_TOKENIZER_CORPUS").map_or_else(
        || {
            PathBuf::from(env!("CARGO_MANIFEST_DIR"))
                .join("target/bench-data/tokenizer-corpus.jsonl")
        },
        PathBuf::from,
    )
}

fn corpus_bytes() -> usize {
    std::env::var("BANNERLM_TOKENIZER_MB")
        .ok()
        .and_then(|v| v.parse::<usize>().ok())
        .unwrap_or(50)
        << 20
}

/// Writes the simulated corpus: records of successive snapshots until
/// `bytes` bytes of banners.
fn generate(path: &PathBuf, bytes: usize) -> anyhow::Result<()> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)?;
    }
    let config = SimConfig {
        hosts: 50_000,
        snapshots: 6,
        seed: 0,
        ..SimConfig::default()
    }
    .check()?;
    let sim = ScanSimulator::new(config)?;
    let mut writer = RecordWriter::create(path)?;
    let mut total = 0;
    'snapshots: for s in 0..6 {
        for rec in sim.snapshot(s)? {
            if total >= bytes {
                break 'snapshots;
            }
            total += rec.record.banner.len();
            writer.write(&rec.record)?;
        }
    }
    writer.finish()?;
    eprintln!(
        "wrote {} ({:.1} MB of banners)",
        path.display(),
        total as f64 / 1e6
    );
    Ok(())
}

fn load() -> Vec<BannerRecord> {
    let path = corpus_path();
    let bytes = corpus_bytes();
    if !path.exists() {
        generate(&path, bytes).unwrap_or_else(|e| panic!("generating {}: {e}", path.display()));
    }
    let mut total = 0;
    let records: Vec<BannerRecord> = RecordReader::open(&path, ReadOptions::default())
        .unwrap_or_else(|e| panic!("{e}"))
        .map(|r| r.unwrap_or_else(|e| panic!("{e}")))
        .take_while(|r| {
            let before = total;
            total += r.banner.len();
            before < bytes
        })
        .collect();
    records
}

fn avg_tokens_per_http_banner(
    tok: &BannerTokenizer,
    records: &[BannerRecord],
) -> (f64, f64, usize) {
    let mut tok = tok.clone();
    tok.set_max_length(None).unwrap_or_else(|e| panic!("{e}"));
    tok.set_padding(Padding::None);
    let http: Vec<&[u8]> = records
        .iter()
        .filter(|r| r.is_http())
        .map(|r| r.banner.as_slice())
        .collect();
    let mut tokens = 0usize;
    let mut over = 0usize;
    for chunk in http.chunks(BATCH) {
        for e in tok.encode_batch(chunk).unwrap_or_else(|e| panic!("{e}")) {
            let n = e.content_len();
            tokens += n;
            over += usize::from(n + 2 > bpe_tokenizer::PAPER_MAX_LENGTH);
        }
    }
    let bytes: usize = http.iter().map(|b| b.len()).sum();
    (
        tokens as f64 / http.len() as f64,
        bytes as f64 / tokens as f64,
        over,
    )
}

/// Saves the trained tokenizer and the ids and offsets of the first 1,000
/// HTTP banners beside the corpus, for the Python side to check that it
/// loads the file unchanged (`tokenizer_baseline.py --compat`).
fn write_compat(
    tok: &BannerTokenizer,
    vocab: usize,
    records: &[BannerRecord],
) -> anyhow::Result<()> {
    use std::io::Write as _;
    let dir = corpus_path()
        .parent()
        .map(PathBuf::from)
        .unwrap_or_default();
    tok.save(dir.join(format!("tokenizer-{vocab}.json")))?;
    let mut out = std::io::BufWriter::new(std::fs::File::create(
        dir.join(format!("ids-{vocab}.jsonl")),
    )?);
    for r in records.iter().filter(|r| r.is_http()).take(1000) {
        let e = tok.encode(&r.banner)?;
        serde_json::to_writer(
            &mut out,
            &serde_json::json!({"ids": e.ids(), "offsets": e.offsets()}),
        )?;
        out.write_all(b"\n")?;
    }
    out.flush()?;
    Ok(())
}

fn bench_tokenizer(c: &mut Criterion) {
    let records = load();
    let banners: Vec<&[u8]> = records.iter().map(|r| r.banner.as_slice()).collect();
    let total: usize = banners.iter().map(|b| b.len()).sum();
    eprintln!(
        "corpus: {} banners, {:.1} MB ({} HTTP)",
        banners.len(),
        total as f64 / 1e6,
        records.iter().filter(|r| r.is_http()).count()
    );

    // Training: one 50 MB run takes tens of seconds, and criterion insists on
    // at least 10 samples per point, so training is timed directly,
    // BANNERLM_TOKENIZER_TRAIN_RUNS times (default 1), median reported.
    let runs: usize = std::env::var("BANNERLM_TOKENIZER_TRAIN_RUNS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1)
        .max(1);
    let mut trained = Vec::new();
    for vocab in [8_000, 50_000] {
        let config = TrainConfig::default()
            .vocab_size(vocab)
            .check()
            .unwrap_or_else(|e| panic!("{e}"));
        let time_one = || {
            let start = Instant::now();
            let tok = BannerTokenizer::train(&banners, &config).unwrap_or_else(|e| panic!("{e}"));
            (start.elapsed().as_secs_f64(), black_box(tok))
        };
        let (first, tok) = time_one();
        let mut times = vec![first];
        for _ in 1..runs {
            times.push(time_one().0);
        }
        times.sort_by(f64::total_cmp);
        let median = times[times.len() / 2];
        let (avg, bytes_per_token, over) = avg_tokens_per_http_banner(&tok, &records);
        eprintln!(
            "train/bpe_vocab/{vocab}: median {median:.2} s over {runs} run(s) ({:.2} MB/s); {} tokens learnt",
            total as f64 / median / 1e6,
            tok.vocab_size()
        );
        eprintln!(
            "  {avg:.1} tokens per HTTP banner (without <s> </s>), {bytes_per_token:.2} bytes per token, \
             {over} HTTP banners over 768 tokens"
        );
        write_compat(&tok, vocab, &records).unwrap_or_else(|e| panic!("{e}"));
        trained.push((vocab, tok));
    }

    let mut slice = Vec::new();
    let mut bytes = 0;
    for b in &banners {
        if bytes >= ENCODE_BYTES {
            break;
        }
        bytes += b.len();
        slice.push(*b);
    }
    let mut group = c.benchmark_group("encode_batch");
    group
        .sample_size(10)
        .throughput(Throughput::Bytes(bytes as u64));
    for (vocab, tok) in &trained {
        group.bench_with_input(BenchmarkId::new("bpe_vocab", vocab), tok, |b, tok| {
            b.iter(|| {
                let mut n = 0;
                for chunk in slice.chunks(BATCH) {
                    n += tok
                        .encode_batch(chunk)
                        .unwrap_or_else(|e| panic!("{e}"))
                        .len();
                }
                black_box(n)
            });
        });
    }
    group.finish();
}

criterion_group!(benches, bench_tokenizer);
criterion_main!(benches);
