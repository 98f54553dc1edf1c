//! Pair labelling throughput (pairs/s) on realistic banners.
//!
//! ```text
//! cargo bench --bench labels
//! python3 benches/python/labels_baseline.py   # the same pairs with Python difflib
//! ```

use std::hint::black_box;
use std::path::Path;

use banner_parse::{BannerKind, BannerPair, Labeler, ReadOptions, RecordReader, pair_in_memory};
use criterion::{Criterion, Throughput, criterion_group, criterion_main};

fn fixture_pairs() -> Vec<BannerPair> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data");
    let read = |name: &str| -> Vec<_> {
        RecordReader::open(dir.join(name), ReadOptions::default())
            .and_then(Iterator::collect::<Result<Vec<_>, _>>)
            .unwrap_or_else(|e| panic!("fixture {name}: {e}"))
    };
    pair_in_memory(
        read("snapshot-2023-06.jsonl.gz"),
        read("snapshot-2023-07.jsonl.gz"),
    )
    .pairs
}

fn bench_labels(c: &mut Criterion) {
    let pairs = fixture_pairs();
    let http: Vec<_> = pairs
        .iter()
        .filter(|p| p.before.is_http())
        .cloned()
        .collect();
    let mut group = c.benchmark_group("label_pair");
    for (name, set) in [("all_fixture_pairs", &pairs), ("http_pairs", &http)] {
        group.throughput(Throughput::Elements(set.len() as u64));
        group.bench_function(name, |b| {
            let mut labeler = Labeler::default();
            b.iter(|| {
                let mut matched = 0;
                for p in set {
                    let kind = BannerKind::for_protocol(&p.before.protocol);
                    matched += labeler
                        .label(&p.before.banner, &p.after.banner, kind)
                        .matched;
                }
                black_box(matched)
            });
        });
    }
    group.finish();
}

criterion_group!(benches, bench_labels);
criterion_main!(benches);
