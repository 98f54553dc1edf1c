//! Fingerprint-pattern throughput: groups of 10 realistic header values per
//! second, and how the time grows with k and with the value length.
//!
//! ```text
//! cargo bench --bench lcs
//! python3 benches/python/lcs_baseline.py "$(cat "${TMPDIR:-/tmp}/bannerlm-lcs-bench-groups.path")"
//! ```
//!
//! The bench writes its input groups to a JSONL file (path in
//! `LCS_BENCH_GROUPS`, default `$TMPDIR/bannerlm-lcs-bench-groups.jsonl`) and
//! reads them back, so the Python baseline times exactly the same values.

use std::hint::black_box;
use std::io::{BufRead, Write};
use std::path::PathBuf;

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use lcs_fingerprint::{FingerprintParams, Method, Pattern, PieceFinder};

/// SplitMix64: a tiny seeded generator, so the inputs are the same on every run.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        let out = bannerlm_base::splitmix64(self.0);
        self.0 = self.0.wrapping_add(bannerlm_base::GOLDEN_GAMMA);
        out
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
    fn pick<'a>(&mut self, xs: &[&'a str]) -> &'a str {
        xs[self.below(xs.len() as u64) as usize]
    }
    fn chars(&mut self, alphabet: &[u8], n: usize) -> String {
        (0..n)
            .map(|_| alphabet[self.below(alphabet.len() as u64) as usize] as char)
            .collect()
    }
}

const HEX: &[u8] = b"0123456789abcdef";
const ALNUM: &[u8] = b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
const DAYS: &[&str] = &["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"];
const MONTHS: &[&str] = &[
    "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
];

/// One value of a "cluster" template: the fixed parts are the product's,
/// the random parts vary per host (versions, ids, dates, nonces).
fn value(template: usize, host: u64, r: &mut Rng) -> String {
    let date = |r: &mut Rng| {
        format!(
            "{}, {:02}-{}-20{} {:02}:{:02}:{:02} GMT",
            r.pick(DAYS),
            1 + r.below(28),
            r.pick(MONTHS),
            23 + r.below(3),
            r.below(24),
            r.below(60),
            r.below(60)
        )
    };
    match template {
        0 => format!("nginx/1.{}.{}", 14 + r.below(12), r.below(4)),
        1 => format!("Apache/2.4.{} (Ubuntu)", 29 + r.below(30)),
        2 => format!(
            "Apache/2.4.{} (CentOS) OpenSSL/1.0.2k-fips PHP/7.{}.{} mod_perl/2.0.{} Perl/v5.16.3",
            6 + r.below(3),
            r.below(5),
            r.below(34),
            10 + r.below(3)
        ),
        3 => format!("Microsoft-IIS/{}", r.pick(&["8.5", "10.0", "7.5"])),
        4 => format!("PHPSESSID={}; path=/", r.chars(ALNUM, 26)),
        5 => format!(
            "JSESSIONID={}; Path=/; HttpOnly",
            r.chars(HEX, 32).to_uppercase()
        ),
        6 => format!(
            "ASP.NET_SessionId={}; path=/; HttpOnly; SameSite=Lax",
            r.chars(b"abcdefghijklmnopqrstuvwxyz012345", 24)
        ),
        7 => format!(
            "__cfduid=d{}{}; expires={}; path=/; domain=.example{}.com; HttpOnly; SameSite=Lax",
            r.chars(HEX, 32),
            1_600_000_000 + r.below(99_999_999),
            date(r),
            host % 1000
        ),
        8 => format!(
            "Digest realm=\"IgdAuthentication\", domain=\"/\", nonce=\"{}\", qop=\"auth\", algorithm=MD5",
            r.chars(HEX, 32)
        ),
        9 => format!("Basic realm=\"NETGEAR DGN2200v{}\"", 1 + r.below(4)),
        _ => format!(
            "sessionid={}; expires={}; HttpOnly; Max-Age=1209600; Path=/; SameSite=Lax; Secure",
            r.chars(b"abcdefghijklmnopqrstuvwxyz0123456789", 32),
            date(r)
        ),
    }
}

const TEMPLATES: usize = 11;

/// `n` groups of `k` values, each group from one template.
fn groups(n: usize, k: usize, seed: u64) -> Vec<(String, Vec<String>)> {
    let mut r = Rng(seed);
    (0..n)
        .map(|g| {
            let t = g % TEMPLATES;
            let values = (0..k)
                .map(|i| value(t, (g * k + i) as u64, &mut r))
                .collect();
            (format!("t{t}"), values)
        })
        .collect()
}

/// `k` values of about `len` bytes: shared 12-byte words with random 4-byte
/// fields between them (a long structured header).
fn long_values(k: usize, len: usize, seed: u64) -> Vec<String> {
    let mut r = Rng(seed);
    let words: Vec<String> = (0..=len / 16).map(|_| r.chars(ALNUM, 12)).collect();
    (0..k)
        .map(|_| {
            let mut s = String::with_capacity(len + 16);
            for w in &words {
                s.push_str(w);
                s.push_str(&r.chars(HEX, 4));
            }
            s.truncate(len);
            s
        })
        .collect()
}

fn groups_path() -> PathBuf {
    std::env::var_os("LCS_BENCH_GROUPS").map_or_else(
        || std::env::temp_dir().join("bannerlm-lcs-bench-groups.jsonl"),
        PathBuf::from,
    )
}

/// Writes the groups to the shared file and reads them back from it.
fn shared_groups() -> Vec<Vec<String>> {
    let path = groups_path();
    let write = || -> std::io::Result<()> {
        let mut f = std::io::BufWriter::new(std::fs::File::create(&path)?);
        for (name, values) in groups(220, 10, 2023) {
            let line = serde_json::json!({ "template": name, "values": values });
            writeln!(f, "{line}")?;
        }
        f.flush()
    };
    write().unwrap_or_else(|e| panic!("writing {}: {e}", path.display()));
    let pointer = std::env::temp_dir().join("bannerlm-lcs-bench-groups.path");
    let _ = std::fs::write(pointer, path.display().to_string());
    let f =
        std::fs::File::open(&path).unwrap_or_else(|e| panic!("reading {}: {e}", path.display()));
    std::io::BufReader::new(f)
        .lines()
        .map(|l| {
            let l = l.unwrap_or_else(|e| panic!("reading {}: {e}", path.display()));
            let v: serde_json::Value =
                serde_json::from_str(&l).unwrap_or_else(|e| panic!("bad line: {e}"));
            v["values"]
                .as_array()
                .map(|a| {
                    a.iter()
                        .filter_map(|x| x.as_str().map(str::to_owned))
                        .collect()
                })
                .unwrap_or_default()
        })
        .collect()
}

fn lcs_regex(finder: &mut PieceFinder, values: &[String]) -> String {
    Pattern::from_pieces(&finder.find(values, 5)).regex()
}

fn bench_groups(c: &mut Criterion) {
    let set = shared_groups();
    eprintln!(
        "lcs bench: {} groups of 10 values in {}",
        set.len(),
        groups_path().display()
    );
    let difflib = FingerprintParams::default()
        .method(Method::Difflib)
        .check()
        .expect("valid params");
    let lcs = FingerprintParams::default().check().expect("valid params");
    let mut group = c.benchmark_group("groups_of_10");
    group.throughput(Throughput::Elements(set.len() as u64));
    group.bench_function("lcs", |b| {
        let mut finder = PieceFinder::new();
        b.iter(|| {
            let mut n = 0;
            for values in &set {
                n += lcs_regex(&mut finder, values).len();
            }
            black_box(n)
        });
    });
    group.bench_function("difflib_fold", |b| {
        b.iter(|| {
            let mut n = 0;
            for values in &set {
                n += difflib.raw_pattern(values).map_or(0, |p| p.regex().len());
            }
            black_box(n)
        });
    });
    group.bench_function("lcs_sanitized", |b| {
        b.iter(|| {
            let mut n = 0;
            for values in &set {
                n += lcs
                    .pattern("Set-Cookie", values)
                    .map_or(0, |p| p.regex().len());
            }
            black_box(n)
        });
    });
    group.finish();
}

fn bench_growth(c: &mut Criterion) {
    let difflib = FingerprintParams::default()
        .method(Method::Difflib)
        .check()
        .expect("valid params");
    let mut group = c.benchmark_group("growth_k");
    for k in [2usize, 5, 10, 20, 50, 100] {
        let values: Vec<String> = (0..k as u64)
            .map(|i| value(7, i, &mut Rng(i + 99)))
            .collect();
        group.throughput(Throughput::Elements(1));
        group.bench_with_input(BenchmarkId::new("lcs", k), &values, |b, v| {
            let mut finder = PieceFinder::new();
            b.iter(|| black_box(lcs_regex(&mut finder, v)));
        });
        group.bench_with_input(BenchmarkId::new("difflib_fold", k), &values, |b, v| {
            b.iter(|| black_box(difflib.raw_pattern(v)));
        });
    }
    group.finish();
    let mut group = c.benchmark_group("growth_len");
    for len in [64usize, 256, 1024, 4096] {
        let values = long_values(10, len, len as u64);
        group.throughput(Throughput::Bytes((len * 10) as u64));
        group.bench_with_input(BenchmarkId::new("lcs", len), &values, |b, v| {
            let mut finder = PieceFinder::new();
            b.iter(|| black_box(lcs_regex(&mut finder, v)));
        });
        group.bench_with_input(BenchmarkId::new("difflib_fold", len), &values, |b, v| {
            b.iter(|| black_box(difflib.raw_pattern(v)));
        });
    }
    group.finish();
}

criterion_group!(benches, bench_groups, bench_growth);
criterion_main!(benches);
