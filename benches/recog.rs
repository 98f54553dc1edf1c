//! Banners per second matched against Recog's full `http_servers.xml`, with and without the
//! literal prefilter, on two inputs:
//!
//! - `examples`: the database's own 744 example banners (every one matches some
//!   fingerprint), the input of the Ruby comparison (benches/ruby/recog_nizer_bench.rb);
//! - `popular_stream`: 7,440 Server values as a scan sees them, many copies of a few popular
//!   values (weights roughly as in Internet-wide HTTP scans) mixed with the examples.
//!
//! The banners are read from `RECOG_XML_DIR`; without it the bench prints a note and
//! measures nothing.
//!
//! ```text
//! RECOG_XML_DIR=<recog checkout>/xml cargo bench --bench recog
//! ```
//!
//! Figures are in docs/PERFORMANCE.md.

use std::hint::black_box;
use std::path::PathBuf;

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use recog_compat::{Database, Matcher, MatcherBuilder};

/// Popular Server values and their weight in the stream (out of 100; the rest are examples).
const POPULAR: &[(&str, usize)] = &[
    ("nginx", 14),
    ("Apache", 9),
    ("cloudflare", 8),
    ("Microsoft-IIS/10.0", 6),
    ("nginx/1.18.0 (Ubuntu)", 5),
    ("Apache/2.4.41 (Ubuntu)", 5),
    ("LiteSpeed", 4),
    ("openresty", 4),
    ("Microsoft-HTTPAPI/2.0", 4),
    ("AkamaiGHost", 3),
    ("Apache/2.4.6 (CentOS) OpenSSL/1.0.2k-fips PHP/7.4.33", 3),
    ("gws", 2),
    ("lighttpd/1.4.59", 2),
    ("Apache/2.4.57 (Debian)", 2),
    ("nginx/1.24.0", 2),
    ("Boa/0.94.14rc21", 2),
    ("micro_httpd", 1),
    ("GoAhead-Webs", 1),
    ("Jetty(9.4.z-SNAPSHOT)", 1),
    ("mini_httpd/1.19 19dec2003", 1),
];

/// `n` Server values: the popular ones by weight, the remaining share from `examples`, in a
/// fixed interleaved order.
fn popular_stream<'a>(examples: &[&'a [u8]], n: usize) -> Vec<&'a [u8]> {
    let mut slots: Vec<Option<&'static str>> = Vec::with_capacity(100);
    for &(v, w) in POPULAR {
        slots.extend(std::iter::repeat_n(Some(v), w));
    }
    slots.resize(100, None);
    (0..n)
        .map(|i| match slots[(i * 37) % 100] {
            Some(v) => v.as_bytes(),
            None => examples[(i * 7) % examples.len()],
        })
        .collect()
}

fn count_matches(matcher: &Matcher, banners: &[&[u8]]) -> usize {
    banners
        .iter()
        .filter(|b| matches!(matcher.best_match(black_box(b)), Ok(Some(_))))
        .count()
}

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
    let examples: Vec<&[u8]> = db
        .fingerprints
        .iter()
        .flat_map(|fp| fp.examples.iter().map(|e| e.content.as_slice()))
        .collect();
    if examples.is_empty() {
        eprintln!("{} has no examples; nothing measured", path.display());
        return;
    }
    let stream = popular_stream(&examples, 10 * examples.len());
    let mut group = c.benchmark_group("recog_http_servers");
    for prefilter in [true, false] {
        let matcher = match MatcherBuilder::new().prefilter(prefilter).build(&db) {
            Ok(m) => m,
            Err(e) => {
                eprintln!("cannot compile {}: {e}", path.display());
                return;
            }
        };
        let (linear, backtracking) = matcher.engine_counts();
        eprintln!(
            "{} fingerprints ({linear} linear, {backtracking} backtracking), {} skippable by \
             the literal prefilter",
            matcher.len(),
            matcher
                .prefiltered_count()
                .map_or_else(|| "none".to_owned(), |n| n.to_string())
        );
        let name = if prefilter {
            "literal_prefilter"
        } else {
            "no_prefilter"
        };
        for (input, banners) in [("examples", &examples), ("popular_stream", &stream)] {
            group.throughput(Throughput::Elements(banners.len() as u64));
            group.bench_with_input(
                BenchmarkId::new(format!("best_match/{input}"), name),
                banners,
                |b, banners| b.iter(|| count_matches(&matcher, banners)),
            );
        }
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
