//! End-to-end properties of the simulator: determinism, truth spans, the
//! popularity distribution, churn seen through `banner-parse` pairing, and
//! agreement of the paper's labels with slot-level truth.

use std::collections::HashMap;

use banner_parse::{
    BannerKind, HttpBanner, Label, ReadOptions, RecordReader, label_pair, pair_in_memory,
};
use scan_sim::{
    BannerForm, ChangeKind, ChangeRates, ScanSimulator, SimConfig, SimRecord, Truth, read_truth,
};

type TestResult = Result<(), Box<dyn std::error::Error>>;

fn sim(cfg: SimConfig) -> Result<ScanSimulator, scan_sim::Error> {
    ScanSimulator::new(cfg.check()?)
}

fn snapshot(s: &ScanSimulator, i: usize) -> Result<Vec<SimRecord>, scan_sim::Error> {
    Ok(s.snapshot(i)?.collect())
}

#[test]
fn same_seed_same_output_other_seed_other_output() -> TestResult {
    let cfg = SimConfig {
        hosts: 400,
        snapshots: 3,
        seed: 11,
        ..SimConfig::default()
    };
    let (a, b) = (sim(cfg.clone())?, sim(cfg.clone())?);
    for i in 0..3 {
        assert_eq!(snapshot(&a, i)?, snapshot(&b, i)?, "snapshot {i}");
    }
    let c = sim(SimConfig { seed: 12, ..cfg })?;
    assert_ne!(snapshot(&a, 1)?, snapshot(&c, 1)?);
    // Random access agrees with iteration.
    let first = snapshot(&a, 2)?;
    let host = first[7].truth.host;
    assert_eq!(a.record(host, 2)?.as_ref(), Some(&first[7]));
    Ok(())
}

#[test]
fn dynamic_spans_lie_inside_header_values() -> TestResult {
    let s = sim(SimConfig {
        hosts: 3_000,
        snapshots: 2,
        seed: 5,
        ..SimConfig::default()
    })?;
    let mut http_spans = 0;
    for i in 0..2 {
        for rec in s.snapshot(i)? {
            let (banner, truth) = (&rec.record.banner, &rec.truth);
            let mut prev_end = 0;
            for &[a, b] in &truth.dynamic {
                assert!(
                    a < b && a >= prev_end,
                    "spans sorted and disjoint: {:?}",
                    truth.dynamic
                );
                assert!(b as usize <= banner.len());
                prev_end = b;
            }
            if !rec.record.is_http() {
                continue;
            }
            let http = HttpBanner::parse(banner);
            assert!(
                http.status().is_some(),
                "{}",
                bannerlm_base::escape_bytes(banner)
            );
            for &[a, b] in &truth.dynamic {
                let (a, b) = (a as usize, b as usize);
                let inside = http.headers().iter().any(|h| {
                    !h.name.is_empty() && h.value_span.start <= a && b <= h.value_span.end
                });
                assert!(
                    inside,
                    "{}: span {a}..{b} ({:?}) outside header values of {}",
                    truth.product,
                    bannerlm_base::escape_bytes(&banner[a..b]),
                    bannerlm_base::escape_bytes(banner)
                );
                http_spans += 1;
            }
        }
    }
    assert!(http_spans > 10_000, "{http_spans}");
    Ok(())
}

#[test]
fn unchanged_pairs_differ_only_inside_dynamic_spans() -> TestResult {
    // The static text between dynamic spans is identical across snapshots
    // when nothing changed: the truth marks every byte that varies.
    let s = sim(SimConfig {
        hosts: 3_000,
        snapshots: 2,
        seed: 9,
        ..SimConfig::default()
    })?;
    let before: HashMap<u64, SimRecord> = s.snapshot(0)?.map(|r| (r.truth.host, r)).collect();
    let statics = |r: &SimRecord| -> Vec<Vec<u8>> {
        let mut out = Vec::new();
        let mut pos = 0;
        for &[a, b] in &r.truth.dynamic {
            out.push(r.record.banner[pos..a as usize].to_vec());
            pos = b as usize;
        }
        out.push(r.record.banner[pos..].to_vec());
        out
    };
    let header_names = |r: &SimRecord| -> Vec<Vec<u8>> {
        HttpBanner::parse(&r.record.banner)
            .headers()
            .iter()
            .map(|h| h.name.to_vec())
            .collect()
    };
    let mut checked = 0;
    let mut reordered = 0;
    for after in s.snapshot(1)? {
        let Some(prev) = before.get(&after.truth.host) else {
            continue;
        };
        match after.truth.change {
            ChangeKind::None => {
                assert_eq!(prev.truth.product, after.truth.product);
                assert_eq!(statics(prev), statics(&after), "{}", after.truth.product);
                checked += 1;
            }
            ChangeKind::Reorder => {
                // Same headers, another order.
                let (mut a, mut b) = (header_names(prev), header_names(&after));
                assert_ne!(a, b, "{}", after.truth.product);
                a.sort();
                b.sort();
                assert_eq!(a, b);
                reordered += 1;
            }
            ChangeKind::Version => {
                assert_eq!(prev.truth.product, after.truth.product);
                assert_ne!(prev.truth.version, after.truth.version);
            }
            _ => {}
        }
    }
    assert!(checked > 2_000, "{checked}");
    assert!(reordered > 0);
    Ok(())
}

#[test]
fn popularity_is_heavy_tailed() -> TestResult {
    let hosts = 20_000u64;
    let s = sim(SimConfig {
        hosts,
        snapshots: 1,
        seed: 3,
        rates: ChangeRates {
            offline: 0.0,
            ..ChangeRates::default()
        },
        ..SimConfig::default()
    })?;
    let mut counts: HashMap<String, u64> = HashMap::new();
    for rec in s.snapshot(0)? {
        *counts.entry(rec.truth.product).or_default() += 1;
    }
    let mut sorted: Vec<u64> = counts.values().copied().collect();
    sorted.sort_unstable_by(|a, b| b.cmp(a));
    let top10 = sorted.iter().take(10).sum::<u64>() as f64 / hosts as f64;
    assert!(
        (0.40..=0.70).contains(&top10),
        "top 10 products hold {top10:.3} of hosts"
    );
    let catalogue = s.catalogue().products();
    let rare = catalogue
        .iter()
        .filter(|p| (counts.get(p.id()).copied().unwrap_or(0) as f64) < 0.001 * hosts as f64)
        .count();
    let rare_seen = catalogue
        .iter()
        .filter(|p| {
            counts
                .get(p.id())
                .is_some_and(|&c| (c as f64) < 0.001 * hosts as f64)
        })
        .count();
    assert!(rare >= 150, "{rare} products below 0.1%");
    // The tail is populated, not merely absent.
    assert!(rare_seen >= 120, "only {rare_seen} rare products seen");
    eprintln!(
        "top10 {top10:.3}, {rare} products below 0.1% ({rare_seen} seen), {} products seen",
        counts.len()
    );
    Ok(())
}

#[test]
fn pairing_recovers_the_configured_churn_rate() -> TestResult {
    let rates = ChangeRates {
        churn: 0.10,
        offline: 0.05,
        ..ChangeRates::default()
    };
    let s = sim(SimConfig {
        hosts: 6_000,
        snapshots: 2,
        seed: 21,
        rates,
        ..SimConfig::default()
    })?;
    let before = s.snapshot(0)?.map(|r| r.record);
    let (after, truth): (Vec<_>, Vec<Truth>) = s.snapshot(1)?.map(|r| (r.record, r.truth)).unzip();
    let truth_by_key: HashMap<_, _> = truth
        .iter()
        .map(|t| ((t.ip, t.port, t.protocol.clone()), t))
        .collect();
    let pairing = pair_in_memory(before, after);
    assert_eq!(
        pairing.stats.duplicate_before + pairing.stats.duplicate_after,
        0
    );
    let expected_pairs = truth.iter().filter(|t| t.change != ChangeKind::New).count();
    assert_eq!(pairing.stats.pairs as usize, expected_pairs);
    let mut device = 0usize;
    let mut visible = 0usize;
    for p in &pairing.pairs {
        let t = truth_by_key[&(p.after.ip, p.after.port, p.after.protocol.clone())];
        assert_ne!(t.change, ChangeKind::New);
        if t.change == ChangeKind::Device {
            device += 1;
            visible += usize::from(p.before.banner != p.after.banner);
        }
    }
    let rate = device as f64 / pairing.pairs.len() as f64;
    // sd of the estimate is about 0.004; allow 5 sd.
    assert!((rate - 0.10).abs() < 0.02, "churn among pairs {rate:.4}");
    assert!(
        visible as f64 >= 0.95 * device as f64,
        "{visible} of {device} device changes visible"
    );
    let online = pairing.stats.pairs as f64 / 6_000.0;
    assert!(
        (online - 0.95 * 0.95).abs() < 0.02,
        "paired share {online:.4}"
    );
    Ok(())
}

/// Agreement of the paper's labels (banner-parse, unchanged pairs) with
/// slot-level truth over value bytes of the earlier banner.
struct Agreement {
    agree: u64,
    total: u64,
    per_header: HashMap<String, (u64, u64)>,
}

fn agreement(form: BannerForm, hosts: u64, seed: u64) -> Result<Agreement, scan_sim::Error> {
    let s = sim(SimConfig {
        hosts,
        snapshots: 2,
        seed,
        form,
        ..SimConfig::default()
    })?;
    let before: HashMap<u64, SimRecord> = s.snapshot(0)?.map(|r| (r.truth.host, r)).collect();
    let mut acc = Agreement {
        agree: 0,
        total: 0,
        per_header: HashMap::new(),
    };
    for after in s.snapshot(1)? {
        if after.truth.change != ChangeKind::None {
            continue;
        }
        let Some(prev) = before.get(&after.truth.host) else {
            continue;
        };
        let kind = BannerKind::for_protocol(&prev.record.protocol);
        let labels = label_pair(&prev.record.banner, &after.record.banner, kind);
        let truth = prev.truth.dynamic_mask(prev.record.banner.len());
        let mut header_of = vec![String::new(); truth.len()];
        if kind == BannerKind::Http {
            for h in HttpBanner::parse(&prev.record.banner).headers() {
                let name = String::from_utf8_lossy(h.name).to_ascii_lowercase();
                header_of[h.value_span.clone()].fill(name);
            }
        }
        for (i, label) in labels.a.iter().enumerate() {
            if *label == Label::Unlabelled {
                continue;
            }
            let ok = (*label == Label::Dynamic) == truth[i];
            acc.total += 1;
            acc.agree += u64::from(ok);
            let e = acc.per_header.entry(header_of[i].clone()).or_default();
            e.0 += u64::from(ok);
            e.1 += 1;
        }
    }
    Ok(acc)
}

#[test]
fn paper_labels_agree_with_truth_on_censys_form() -> TestResult {
    let censys = agreement(BannerForm::Censys, 2_500, 4)?;
    let raw = agreement(BannerForm::Raw, 2_500, 4)?;
    let c = censys.agree as f64 / censys.total as f64;
    let r = raw.agree as f64 / raw.total as f64;
    eprintln!(
        "label/truth agreement on value bytes: censys {c:.4} ({} bytes), raw {r:.4}",
        censys.total
    );
    assert!(censys.total > 100_000);
    assert!(c >= 0.95, "censys form agreement {c:.4}");
    // Raw dates cost a few points (separators shorter than 3 bytes never match).
    assert!(r >= 0.88 && r < c, "raw form agreement {r:.4}");
    Ok(())
}

/// The figures of docs/performance-history.md ("scan-sim"). Run with
/// `cargo test --release -p scan-sim --test simulation -- --ignored --nocapture`.
#[test]
#[ignore = "larger corpus (100k hosts); run in release for the documented figures"]
fn measure_label_agreement_large() -> TestResult {
    for form in [BannerForm::Censys, BannerForm::Raw] {
        let a = agreement(form, 100_000, 0)?;
        println!(
            "{form:?}: agreement {:.4} over {} value bytes",
            a.agree as f64 / a.total as f64,
            a.total
        );
        let mut headers: Vec<_> = a.per_header.iter().collect();
        headers.sort_by_key(|h| std::cmp::Reverse(h.1.1));
        for (name, (ok, n)) in headers.into_iter().take(25) {
            let name = if name.is_empty() {
                "(status line / text banner)"
            } else {
                name
            };
            println!("  {name:<32} {:.4}  ({n} bytes)", *ok as f64 / *n as f64);
        }
    }
    Ok(())
}

#[test]
fn censys_form_redacts_dates_only() -> TestResult {
    let cfg = SimConfig {
        hosts: 500,
        snapshots: 1,
        seed: 8,
        ..SimConfig::default()
    };
    let raw = snapshot(&sim(cfg.clone())?, 0)?;
    let censys = snapshot(
        &sim(SimConfig {
            form: BannerForm::Censys,
            ..cfg
        })?,
        0,
    )?;
    assert_eq!(raw.len(), censys.len());
    let mut redacted = 0;
    for (r, c) in raw.iter().zip(&censys) {
        let (hr, hc) = (
            HttpBanner::parse(&r.record.banner),
            HttpBanner::parse(&c.record.banner),
        );
        assert_eq!(hr.headers().len(), hc.headers().len());
        for (a, b) in hr.headers().iter().zip(hc.headers()) {
            assert_eq!(a.name, b.name);
            if a.is("date") {
                assert_eq!(b.value, b"<REDACTED>");
                redacted += 1;
            } else {
                assert_eq!(a.value, b.value);
            }
        }
    }
    assert!(redacted > 300, "{redacted}");
    Ok(())
}

#[test]
fn written_files_round_trip() -> TestResult {
    let dir = tempfile::tempdir()?;
    let s = sim(SimConfig {
        hosts: 800,
        snapshots: 2,
        seed: 2,
        ..SimConfig::default()
    })?;
    let mut calls = 0;
    let manifest = s.write_snapshots_with_progress(dir.path(), |p| {
        calls += 1;
        assert!(p.done <= p.total);
    })?;
    assert!(calls >= 2);
    assert_eq!(manifest.snapshots.len(), 2);
    assert_eq!(
        scan_sim::Manifest::read(dir.path().join(scan_sim::MANIFEST_NAME))?,
        manifest
    );
    let mut binary = 0;
    for (i, files) in manifest.snapshots.iter().enumerate() {
        let records: Vec<_> =
            RecordReader::open(dir.path().join(&files.records), ReadOptions::default())?
                .collect::<Result<_, _>>()?;
        let truth: Vec<_> = read_truth(dir.path().join(&files.truth))?.collect::<Result<_, _>>()?;
        let expected = snapshot(&s, i)?;
        assert_eq!(records.len() as u64, files.count);
        assert_eq!(records.len(), expected.len());
        for ((rec, t), e) in records.iter().zip(&truth).zip(&expected) {
            assert_eq!(rec, &e.record);
            assert_eq!(t, &e.truth);
            binary += usize::from(std::str::from_utf8(&rec.banner).is_err());
        }
    }
    // Telnet negotiation bytes survive the JSON round trip.
    assert!(binary > 0);
    // No temporary files are left behind.
    let mut leftovers = 0;
    for entry in std::fs::read_dir(dir.path())? {
        leftovers += usize::from(entry?.file_name().to_string_lossy().starts_with('.'));
    }
    assert_eq!(leftovers, 0);
    Ok(())
}

#[test]
fn out_of_range_requests_are_errors() -> TestResult {
    let s = sim(SimConfig {
        hosts: 10,
        snapshots: 2,
        ..SimConfig::default()
    })?;
    assert!(matches!(
        s.snapshot(2),
        Err(scan_sim::Error::SnapshotOutOfRange {
            index: 2,
            snapshots: 2
        })
    ));
    assert!(s.record(10, 0).is_err());
    assert!(s.record(9, 1).is_ok());
    Ok(())
}

#[test]
fn public_types_are_send_and_sync() {
    fn check<T: Send + Sync>() {}
    check::<ScanSimulator>();
    check::<SimRecord>();
    check::<Truth>();
    check::<scan_sim::Catalogue>();
    check::<scan_sim::Error>();
}
