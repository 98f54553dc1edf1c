//! Banners per second matched against Recog's full `http_servers.xml`, with
//! and without the `RegexSet` prefilter. The banners are the database's own
//! example banners, read from `RECOG_XML_DIR`; without it the bench prints a
//! note and measures nothing.
//!
//! ```text
//! RECOG_XML_DIR=<recog checkout>/xml cargo bench --bench recog
//! ```
//!
//! The Ruby comparison is benches/ruby/recog_nizer_bench.rb; figures are in
//! docs/PERFORMANCE.md.

use std::hint::black_box;
use std::path::PathBuf;

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use recog_compat::{Database, MatcherBuilder};

fn bench_http_servers(c: &mut Criterion) {
    let Some(dir) = std::env::var_os("RECOG_XML_DIR") else {
        eprintln!(
            "RECOG_XML_DIR is not set: the recog bench needs Recog's XML databases; nothing measured"
        );
        return;
    };
    let path = PathBuf::from(dir).join("http_servers.xml");
    let db = match Database::from_path(&path) {
        Ok(db) => db,
        Err(e) => {
            eprintln!("cannot load {}: {e}", path.display());
            return;
        }
    };
    let banners: Vec<&[u8]> = db
        .fingerprints
        .iter()
        .flat_map(|fp| fp.examples.iter().map(|e| e.content.as_slice()))
        .collect();
    let mut group = c.benchmark_group("recog_http_servers");
    group.throughput(Throughput::Elements(banners.len() as u64));
    for prefilter in [true, false] {
        let matcher = match MatcherBuilder::new().prefilter(prefilter).build(&db) {
            Ok(m) => m,
            Err(e) => {
                eprintln!("cannot compile {}: {e}", path.display());
                return;
            }
        };
        let name = if prefilter {
            "regexset_prefilter"
        } else {
            "no_prefilter"
        };
        group.bench_with_input(
            BenchmarkId::new("best_match", name),
            &banners,
            |b, banners| {
                b.iter(|| {
                    let mut matched = 0usize;
                    for banner in banners {
                        if let Ok(Some(_)) = matcher.best_match(black_box(banner)) {
                            matched += 1;
                        }
                    }
                    matched
                });
            },
        );
    }
    group.finish();
    c.bench_function("recog_http_servers/compile_with_prefilter", |b| {
        b.iter(|| {
            MatcherBuilder::new()
                .build(black_box(&db))
                .map_or(0, |m| m.len())
        });
    });
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(20);
    targets = bench_http_servers
}
criterion_main!(benches);
