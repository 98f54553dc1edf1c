//! Fingerprint quality on scan-sim data with ground truth, both methods.
//!
//! Ignored by default (it takes a while in the dev profile); run it with
//!
//! ```text
//! cargo test -p lcs-fingerprint --release --test scan_sim_eval -- --ignored --nocapture
//! ```
//!
//! (`SCAN_SIM_HOSTS` sets the number of simulated hosts, default 20000.)
//!
//! Clusters are the ground truth itself (two clusterings: by product, and by
//! product and version, standing in for a coarse and a fine HDBSCAN
//! epsilon), so the figures measure the fingerprint step alone, given good
//! clusters. For every fingerprint: its product precision, the largest share
//! of the banners it matches that belong to one product. Reported: the share
//! of fingerprints whose matches all fall in one product, the share with
//! product precision >= 0.95, and the share of products (with at least 2
//! HTTP banners carrying a fingerprinted header) covered by at least one
//! fingerprint with product precision >= 0.95.

use std::collections::{BTreeMap, HashMap, HashSet};

use banner_parse::HttpBanner;
use lcs_fingerprint::{Clustering, Fingerprint, FingerprintParams, Method, compile_regex};
use scan_sim::{ScanSimulator, SimConfig};

struct Figures {
    fingerprints: usize,
    single_product: f64,
    precise: f64,
    covered: usize,
    coverable: usize,
}

fn product_precision(
    fps: &[Fingerprint],
    banners: &[Vec<u8>],
    product: &[usize],
) -> (Vec<f64>, Vec<Option<usize>>) {
    let parsed: Vec<HttpBanner<'_>> = banners.iter().map(|b| HttpBanner::parse(b)).collect();
    let mut values: HashMap<&str, Vec<Vec<&[u8]>>> = HashMap::new();
    let mut precision = Vec::with_capacity(fps.len());
    let mut top = Vec::with_capacity(fps.len());
    for f in fps {
        let vals = values.entry(f.header.as_str()).or_insert_with(|| {
            parsed
                .iter()
                .map(|p| p.get_all(&f.header).collect())
                .collect()
        });
        let re = compile_regex(&f.regex).expect("fingerprints compile");
        let mut counts: HashMap<usize, usize> = HashMap::new();
        let mut total = 0usize;
        for (i, vs) in vals.iter().enumerate() {
            if vs.iter().any(|v| re.is_match(v)) {
                *counts.entry(product[i]).or_default() += 1;
                total += 1;
            }
        }
        let best = counts
            .iter()
            .max_by_key(|(p, c)| (**c, std::cmp::Reverse(**p)));
        precision.push(best.map_or(0.0, |(_, &c)| c as f64 / total as f64));
        top.push(best.map(|(&p, _)| p));
    }
    (precision, top)
}

#[test]
#[ignore = "evaluation on a simulated scan; run with --ignored --nocapture (see the file docs)"]
fn scan_sim_precision_and_coverage() {
    let hosts: u64 = std::env::var("SCAN_SIM_HOSTS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(20_000);
    let config = SimConfig {
        hosts,
        snapshots: 1,
        seed: 7,
        ..SimConfig::default()
    }
    .check()
    .expect("config");
    let sim = ScanSimulator::new(config).expect("simulator");
    let mut banners = Vec::new();
    let mut products: Vec<String> = Vec::new();
    let mut versions: Vec<Option<String>> = Vec::new();
    for r in sim.snapshot(0).expect("snapshot") {
        if r.record.is_http() {
            banners.push(r.record.banner);
            products.push(r.truth.product);
            versions.push(r.truth.version);
        }
    }
    let mut ids: BTreeMap<String, usize> = BTreeMap::new();
    let product: Vec<usize> = products
        .iter()
        .map(|p| {
            let n = ids.len();
            *ids.entry(p.clone()).or_insert(n)
        })
        .collect();
    let mut pv_ids: BTreeMap<(usize, Option<String>), usize> = BTreeMap::new();
    let product_version: Vec<Option<usize>> = product
        .iter()
        .zip(&versions)
        .map(|(&p, v)| {
            let n = pv_ids.len();
            Some(*pv_ids.entry((p, v.clone())).or_insert(n))
        })
        .collect();
    let clusterings = [
        Clustering {
            name: "product".into(),
            labels: product.iter().map(|&p| Some(p)).collect(),
        },
        Clustering {
            name: "product+version".into(),
            labels: product_version,
        },
    ];
    // Products that can be fingerprinted at all: >= 2 banners with one of the headers.
    let params = FingerprintParams::default();
    let headers = params.check_ref().expect("valid").headers().to_vec();
    let mut with_header: HashMap<usize, usize> = HashMap::new();
    for (b, &p) in banners.iter().zip(&product) {
        let h = HttpBanner::parse(b);
        if headers.iter().any(|name| h.get(name).is_some()) {
            *with_header.entry(p).or_default() += 1;
        }
    }
    let coverable: HashSet<usize> = with_header
        .iter()
        .filter(|(_, c)| **c >= 2)
        .map(|(p, _)| *p)
        .collect();
    println!(
        "scan-sim: {hosts} hosts, {} HTTP banners, {} products ({} coverable), {} product+version clusters",
        banners.len(),
        ids.len(),
        coverable.len(),
        pv_ids.len()
    );
    let mut figures = Vec::new();
    for method in [Method::Lcs, Method::Difflib] {
        let t0 = std::time::Instant::now();
        let fps = params
            .clone()
            .method(method)
            .generate(&banners, &clusterings)
            .expect("generate");
        let secs = t0.elapsed().as_secs_f64();
        let (prec, top) = product_precision(&fps, &banners, &product);
        let n = fps.len().max(1) as f64;
        let covered: HashSet<usize> = prec
            .iter()
            .zip(&top)
            .filter(|(p, _)| **p >= 0.95)
            .filter_map(|(_, t)| *t)
            .filter(|t| coverable.contains(t))
            .collect();
        let f = Figures {
            fingerprints: fps.len(),
            single_product: prec.iter().filter(|&&p| p >= 1.0).count() as f64 / n,
            precise: prec.iter().filter(|&&p| p >= 0.95).count() as f64 / n,
            covered: covered.len(),
            coverable: coverable.len(),
        };
        println!(
            "{method:?}: {} fingerprints in {secs:.1} s; single-product {:.1}%, product precision >= 0.95 {:.1}%; \
             products covered at >= 0.95: {}/{} ({:.1}%)",
            f.fingerprints,
            100.0 * f.single_product,
            100.0 * f.precise,
            f.covered,
            f.coverable,
            100.0 * f.covered as f64 / f.coverable.max(1) as f64
        );
        for h in &headers {
            let of_h: Vec<f64> = fps
                .iter()
                .zip(&prec)
                .filter(|(f, _)| &f.header == h)
                .map(|(_, p)| *p)
                .collect();
            println!(
                "  {h}: {} fingerprints, single-product {:.1}%",
                of_h.len(),
                100.0 * of_h.iter().filter(|&&p| p >= 1.0).count() as f64
                    / of_h.len().max(1) as f64
            );
        }
        let mut worst: Vec<(f64, &Fingerprint)> = prec
            .iter()
            .copied()
            .zip(&fps)
            .filter(|(p, _)| *p < 0.95)
            .collect();
        worst.sort_by(|a, b| a.0.total_cmp(&b.0));
        for (p, f) in worst.iter().take(4) {
            println!(
                "  low product precision {p:.2}: {} {} (matched {})",
                f.header, f.regex, f.matched
            );
        }
        figures.push(f);
    }
    // Where the methods differ: raw patterns of the same draw (the first k
    // values of every product's header) before sanitizing.
    let lcs = FingerprintParams::default().check().expect("valid");
    let difflib = FingerprintParams::default()
        .method(Method::Difflib)
        .check()
        .expect("valid");
    let (mut same, mut differ, mut lcs_longer) = (0, 0, 0);
    let mut shown = 0;
    for p in 0..ids.len() {
        for h in &headers {
            let vals: Vec<&[u8]> = banners
                .iter()
                .zip(&product)
                .filter(|(_, q)| **q == p)
                .filter_map(|(b, _)| HttpBanner::parse(b).get(h))
                .take(10)
                .collect();
            if vals.len() < 10 {
                continue;
            }
            let (a, b) = (lcs.raw_pattern(&vals), difflib.raw_pattern(&vals));
            if a == b {
                same += 1;
                continue;
            }
            differ += 1;
            let len = |x: &Option<lcs_fingerprint::Pattern>| {
                x.as_ref().map_or(0, lcs_fingerprint::Pattern::literal_len)
            };
            if len(&a) > len(&b) {
                lcs_longer += 1;
            }
            if shown < 4 {
                shown += 1;
                let r = |x: &Option<lcs_fingerprint::Pattern>| {
                    x.as_ref()
                        .map_or_else(|| "(none)".to_owned(), lcs_fingerprint::Pattern::regex)
                };
                println!("  differ on {h}: lcs {} | difflib {}", r(&a), r(&b));
            }
        }
    }
    println!(
        "raw patterns of the same draws: {same} equal, {differ} differ ({lcs_longer} with more literal bytes from lcs)"
    );
    for f in &figures {
        assert!(f.fingerprints > 0);
        assert!(f.covered > 0);
    }
}
