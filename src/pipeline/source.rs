//! Where banners come from: a simulated scan (regenerated on demand, deterministic) or records
//! read from files, grouped into snapshots by their `snapshot` field.

use std::collections::BTreeMap;
use std::path::PathBuf;

use banner_parse::{BannerPair, BannerRecord, ReadOptions, RecordReader, pair_in_memory};
use bannerlm_base::splitmix64;
use bpe_tokenizer::{BannerTokenizer, MIN_MATCHED_TOKENS};
use contrastive_trainer::PairCorpus;
use scan_sim::{ScanSimulator, SimConfig};

use crate::simulated::{Split, simulated_pairs, snapshot_records};

use super::config::{Input, PairMix, PipelineConfig};
use super::error::{Error, Result};

/// The banners of a run.
pub(crate) enum Source {
    Sim(Box<ScanSimulator>),
    Files {
        files: Vec<PathBuf>,
        /// Snapshot name -> records, sorted by name.
        snapshots: BTreeMap<String, Vec<BannerRecord>>,
        /// Rows read but not kept.
        skipped: Skipped,
    },
}

/// Rows of the input files that were read but not kept as records.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub(crate) struct Skipped {
    /// Censys rows flagged `truncated`, dropped under `drop_truncated`.
    pub truncated: u64,
    /// Records with an empty banner (nothing to embed), always skipped.
    pub empty: u64,
}

/// A record with its ground-truth product when simulated.
pub(crate) type Row = (BannerRecord, Option<String>);

impl Source {
    pub(crate) fn open(config: &PipelineConfig) -> Result<Self> {
        match &config.input {
            Input::Simulated {
                hosts,
                snapshots,
                form,
            } => {
                let sim = SimConfig {
                    hosts: *hosts,
                    snapshots: *snapshots,
                    seed: config.seed,
                    form: *form,
                    ..SimConfig::default()
                }
                .check()
                .map_err(Error::stage("input"))?;
                Ok(Source::Sim(Box::new(
                    ScanSimulator::new(sim).map_err(Error::stage("input"))?,
                )))
            }
            Input::Files { patterns } => {
                let mut files = Vec::new();
                for pattern in patterns {
                    let paths = glob::glob(pattern).map_err(|source| Error::Pattern {
                        pattern: pattern.clone(),
                        source,
                    })?;
                    for p in paths {
                        let p = p.map_err(|e| {
                            let path = e.path().to_path_buf();
                            Error::io(path, e.into())
                        })?;
                        if p.is_file() {
                            files.push(p);
                        }
                    }
                }
                files.sort();
                files.dedup();
                if files.is_empty() {
                    return Err(Error::NoInput(format!(
                        "no file matches {}",
                        patterns.join(" ")
                    )));
                }
                let mut snapshots: BTreeMap<String, Vec<BannerRecord>> = BTreeMap::new();
                let mut skipped = Skipped::default();
                let opts = ReadOptions::default()
                    .drop_truncated(config.drop_truncated)
                    .skip_empty(true);
                for path in &files {
                    let mut reader =
                        RecordReader::open(path, opts.clone()).map_err(Error::stage("input"))?;
                    for rec in reader.by_ref() {
                        let rec = rec.map_err(Error::stage("input"))?;
                        snapshots.entry(rec.snapshot.clone()).or_default().push(rec);
                    }
                    skipped.truncated += reader.truncated_dropped();
                    skipped.empty += reader.empty_skipped();
                }
                if snapshots.is_empty() {
                    return Err(Error::NoInput(format!(
                        "{} files hold no banner record",
                        files.len()
                    )));
                }
                Ok(Source::Files {
                    files,
                    snapshots,
                    skipped,
                })
            }
        }
    }

    pub(crate) fn simulator(&self) -> Option<&ScanSimulator> {
        match self {
            Source::Sim(s) => Some(s.as_ref()),
            Source::Files { .. } => None,
        }
    }

    /// Rows read but not kept (none for a simulation, whose banners are never empty).
    pub(crate) fn skipped(&self) -> Skipped {
        match self {
            Source::Sim(_) => Skipped::default(),
            Source::Files { skipped, .. } => *skipped,
        }
    }

    pub(crate) fn input_files(&self) -> &[PathBuf] {
        match self {
            Source::Sim(_) => &[],
            Source::Files { files, .. } => files,
        }
    }

    pub(crate) fn snapshot_names(&self) -> Vec<String> {
        match self {
            Source::Sim(s) => s.config().snapshot_names(),
            Source::Files { snapshots, .. } => snapshots.keys().cloned().collect(),
        }
    }

    pub(crate) fn n_snapshots(&self) -> usize {
        match self {
            Source::Sim(s) => s.config().snapshots(),
            Source::Files { snapshots, .. } => snapshots.len(),
        }
    }

    /// Records of snapshot `index` in `split`, with their products when simulated.
    pub(crate) fn records(&self, index: usize, split: Split) -> Result<Vec<Row>> {
        match self {
            Source::Sim(sim) => Ok(snapshot_records(sim, index, split)
                .map_err(Error::stage("input"))?
                .into_iter()
                .map(|(r, t)| (r, Some(t.product)))
                .collect()),
            Source::Files { snapshots, .. } => Ok(snapshots
                .values()
                .nth(index)
                .map(|recs| {
                    recs.iter()
                        .filter(|r| split.contains(host_hash(r)))
                        .map(|r| (r.clone(), None))
                        .collect()
                })
                .unwrap_or_default()),
        }
    }

    /// Labelled pairs of every consecutive pair of snapshots (with K snapshots, all K-1 gaps)
    /// in `split`, of the protocols `mix` takes, in its mix (the paper's filter applied), with
    /// ground truth when simulated; at most `max` pairs (a deterministic sample). A pair is
    /// always two snapshots of one service; the split is by host (by service for files), so a
    /// held-out host is held out in every gap.
    pub(crate) fn pair_corpus(
        &self,
        tokenizer: &BannerTokenizer,
        split: Split,
        mix: &PairMix,
        max: Option<usize>,
        seed: u64,
    ) -> Result<PairCorpus> {
        let n = self.n_snapshots();
        if n < 2 {
            return Err(Error::NoInput(format!(
                "pairs need two snapshots; the input has {n}"
            )));
        }
        let corpus = match self {
            Source::Sim(sim) => {
                let mut pairs = Vec::new();
                for s in 0..n - 1 {
                    let mut gap =
                        simulated_pairs(sim, s, s + 1, split).map_err(Error::stage("pairs"))?;
                    gap.retain(|(p, _)| mix.takes(&p.before.protocol));
                    pairs.append(&mut gap);
                }
                let mut pairs = apply_mix(mix, pairs, |(p, _)| &p.before.protocol, seed);
                sample(&mut pairs, max, seed);
                PairCorpus::from_pairs_with_truth(tokenizer, &pairs, MIN_MATCHED_TOKENS)
            }
            Source::Files { snapshots, .. } => {
                let keep = |recs: &Vec<BannerRecord>| -> Vec<BannerRecord> {
                    recs.iter()
                        .filter(|r| mix.takes(&r.protocol) && split.contains(host_hash(r)))
                        .cloned()
                        .collect()
                };
                let snaps: Vec<&Vec<BannerRecord>> = snapshots.values().collect();
                let mut pairs: Vec<BannerPair> = Vec::new();
                for w in snaps.windows(2) {
                    pairs.extend(pair_in_memory(keep(w[0]), keep(w[1])).pairs);
                }
                let mut pairs = apply_mix(mix, pairs, |p| &p.before.protocol, seed);
                sample(&mut pairs, max, seed);
                PairCorpus::from_pairs(tokenizer, &pairs, MIN_MATCHED_TOKENS)
            }
        };
        corpus.map_err(Error::stage("pairs"))
    }
}

/// Caps every protocol at `mix.max_share` of all `items` (a seeded sample of the protocols
/// above it; order kept); with `max_share` 1, `items` as they are.
pub(crate) fn apply_mix<T>(
    mix: &PairMix,
    items: Vec<T>,
    protocol: impl Fn(&T) -> &str,
    seed: u64,
) -> Vec<T> {
    if mix.max_share >= 1.0 || items.is_empty() {
        return items;
    }
    #[allow(
        clippy::cast_possible_truncation,
        clippy::cast_sign_loss,
        clippy::cast_precision_loss
    )]
    let cap = ((mix.max_share * items.len() as f64).ceil() as usize).max(1);
    let mut by_protocol: BTreeMap<String, Vec<usize>> = BTreeMap::new();
    for (i, item) in items.iter().enumerate() {
        by_protocol
            .entry(protocol(item).to_ascii_lowercase())
            .or_default()
            .push(i);
    }
    let mut keep = vec![false; items.len()];
    for (g, mut idx) in by_protocol.into_values().enumerate() {
        sample(&mut idx, Some(cap), splitmix64(seed ^ g as u64));
        for i in idx {
            keep[i] = true;
        }
    }
    items
        .into_iter()
        .zip(keep)
        .filter_map(|(x, k)| k.then_some(x))
        .collect()
}

/// A seeded sample of at most `max` items (all of them when there are fewer), in order.
pub(crate) fn sample_refs<T>(items: &[T], max: usize, seed: u64) -> Vec<&T> {
    let mut refs: Vec<&T> = items.iter().collect();
    sample(&mut refs, Some(max), seed);
    refs
}

/// Keeps a seeded sample of at most `max` items, in their original order.
pub(crate) fn sample<T>(items: &mut Vec<T>, max: Option<usize>, seed: u64) {
    let Some(max) = max else { return };
    if items.len() <= max {
        return;
    }
    let mut keyed: Vec<(u64, usize)> = (0..items.len())
        .map(|i| (splitmix64(seed ^ i as u64), i))
        .collect();
    keyed.sort_unstable();
    let mut keep = vec![false; items.len()];
    for &(_, i) in keyed.iter().take(max) {
        keep[i] = true;
    }
    let mut i = 0;
    items.retain(|_| {
        i += 1;
        keep[i - 1]
    });
}

/// A stable number per host (its address) for the held-out split of real data: FNV-1a of
/// the address, mixed. Every service of a held-out host is held out, in every snapshot and
/// every gap, so no pair of a held-out host is ever trained on.
pub(crate) fn host_hash(r: &BannerRecord) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in r.ip.to_string().bytes() {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    splitmix64(h)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sample_keeps_order_and_size() {
        let mut v: Vec<u32> = (0..100).collect();
        sample(&mut v, Some(10), 3);
        assert_eq!(v.len(), 10);
        assert!(v.windows(2).all(|w| w[0] < w[1]));
        let mut w: Vec<u32> = (0..100).collect();
        sample(&mut w, Some(10), 3);
        assert_eq!(v, w, "seeded");
    }

    /// Censys rows over three snapshots: a truncated row is dropped and an empty banner
    /// skipped (both counted), and pairs come from both gaps, for both protocols.
    #[test]
    fn censys_files_every_gap_every_protocol() {
        use base64::Engine as _;
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("scan.json");
        let row = |ip: &str, service: &str, banner: &str, truncated: bool, date: &str| {
            let b64 = base64::engine::general_purpose::STANDARD.encode(banner);
            format!(
                r#"{{"host_identifier":{{"ipv4":"{ip}"}},"port":25,"service_name":"{service}","banner":"{b64}","truncated":{truncated},"observed_at":"{date} 10:00:00 UTC"}}"#
            )
        };
        let mut rows = Vec::new();
        for (m, (day, clock)) in [("01", "10:11:12"), ("02", "09:45:55"), ("03", "17:02:31")]
            .into_iter()
            .enumerate()
        {
            let date = format!("2023-{day}-01");
            rows.push(row(
                "192.0.2.1",
                "SMTP",
                &format!(
                    "220 mail.example.org ESMTP Exim 4.96 Tue, 0{m} Jul 2023 {clock} +0000\r\n"
                ),
                false,
                &date,
            ));
            rows.push(row(
                "192.0.2.2",
                "SSH",
                "SSH-2.0-OpenSSH_8.9p1 Ubuntu-3ubuntu0.6\r\n",
                false,
                &date,
            ));
        }
        rows.push(row("192.0.2.3", "SSH", "SSH-2.0-Open", true, "2023-01-01"));
        rows.push(row("192.0.2.4", "FTP", "", false, "2023-01-01"));
        std::fs::write(&path, rows.join("\n")).expect("write");
        let config = PipelineConfig {
            input: Input::files([path.display().to_string()]),
            drop_truncated: true,
            ..PipelineConfig::tiny(10)
        };
        let source = Source::open(&config).expect("source");
        assert_eq!(
            source.skipped(),
            Skipped {
                truncated: 1,
                empty: 1
            }
        );
        assert_eq!(source.n_snapshots(), 3);
        let banners: Vec<Vec<u8>> = (0..3)
            .flat_map(|s| source.records(s, Split::All).expect("records"))
            .map(|(r, _)| r.banner)
            .collect();
        assert_eq!(banners.len(), 6);
        let tok = BannerTokenizer::train(
            banners.iter(),
            &bpe_tokenizer::TrainConfig::default()
                .vocab_size(300)
                .show_progress(false)
                .check()
                .expect("tokenizer config"),
        )
        .expect("tokenizer");
        let corpus = source
            .pair_corpus(&tok, Split::All, &PairMix::default(), None, 0)
            .expect("pairs");
        let got: Vec<(&str, &str)> = corpus
            .pairs()
            .iter()
            .map(|p| (p.protocol.as_str(), p.gap.as_str()))
            .collect();
        assert_eq!(
            got,
            [
                ("smtp", "2023-01-01..2023-02-01"),
                ("ssh", "2023-01-01..2023-02-01"),
                ("smtp", "2023-02-01..2023-03-01"),
                ("ssh", "2023-02-01..2023-03-01"),
            ]
        );
        // The SSH-only mix.
        let ssh = PairMix {
            protocols: vec!["ssh".into()],
            ..PairMix::default()
        };
        let corpus = source
            .pair_corpus(&tok, Split::All, &ssh, None, 0)
            .expect("pairs");
        assert_eq!(corpus.len(), 2);
        assert_eq!(
            corpus.stats().by_protocol.keys().collect::<Vec<_>>(),
            ["ssh"]
        );
    }

    /// A simulated scan of three snapshots: pairs come from both gaps and from every
    /// protocol, for training and held-out hosts alike (about one host in ten held out).
    #[test]
    fn simulated_pairs_from_every_gap() {
        let config = PipelineConfig {
            input: Input::Simulated {
                hosts: 600,
                snapshots: 3,
                form: scan_sim::BannerForm::Censys,
            },
            ..PipelineConfig::tiny(600)
        };
        let source = Source::open(&config).expect("source");
        let banners: Vec<Vec<u8>> = source
            .records(0, Split::All)
            .expect("records")
            .into_iter()
            .map(|(r, _)| r.banner)
            .collect();
        let tok = BannerTokenizer::train(
            banners.iter(),
            &bpe_tokenizer::TrainConfig::default()
                .vocab_size(400)
                .show_progress(false)
                .check()
                .expect("tokenizer config"),
        )
        .expect("tokenizer");
        let mix = PairMix::default();
        let held = source
            .pair_corpus(&tok, Split::HeldOut, &mix, None, 0)
            .expect("held-out pairs");
        let train = source
            .pair_corpus(&tok, Split::Train, &mix, None, 0)
            .expect("training pairs");
        let names = source.snapshot_names();
        for corpus in [&held, &train] {
            let gaps: std::collections::BTreeSet<&str> =
                corpus.pairs().iter().map(|p| p.gap.as_str()).collect();
            let want: std::collections::BTreeSet<String> = names
                .windows(2)
                .map(|w| contrastive_trainer::gap_name(&w[0], &w[1]))
                .collect();
            assert_eq!(gaps.len(), 2);
            assert!(gaps.iter().all(|g| want.contains(*g)), "{gaps:?}");
            assert!(
                corpus.stats().by_protocol.len() >= 3,
                "{:?}",
                corpus.stats()
            );
        }
        // About one pair in ten is held out.
        assert!(
            held.len() * 5 < train.len(),
            "{} / {}",
            held.len(),
            train.len()
        );
    }

    /// Known answer: 80 `http`, 15 `ssh`, 5 `ftp` items; a cap of 0.5 keeps 50 `http` (a
    /// seeded sample, in order) and every `ssh` and `ftp` item; a cap of 1 keeps all.
    #[test]
    fn mix_caps_each_protocol_share() {
        let items: Vec<(usize, &str)> = (0..100)
            .map(|i| {
                let p = if i % 20 == 0 {
                    "ftp"
                } else if i % 20 < 4 {
                    "SSH"
                } else {
                    "http"
                };
                (i, p)
            })
            .collect();
        let count = |v: &[(usize, &str)], p: &str| v.iter().filter(|x| x.1 == p).count();
        assert_eq!(
            (
                count(&items, "http"),
                count(&items, "SSH"),
                count(&items, "ftp")
            ),
            (80, 15, 5)
        );
        let half = PairMix {
            max_share: 0.5,
            ..PairMix::default()
        };
        let out = apply_mix(&half, items.clone(), |x| x.1, 7);
        assert_eq!(
            (count(&out, "http"), count(&out, "SSH"), count(&out, "ftp")),
            (50, 15, 5)
        );
        assert!(out.windows(2).all(|w| w[0].0 < w[1].0), "order kept");
        assert_eq!(out, apply_mix(&half, items.clone(), |x| x.1, 7), "seeded");
        let all = apply_mix(&PairMix::default(), items.clone(), |x| x.1, 7);
        assert_eq!(all, items);
    }

    #[test]
    fn held_out_split_of_files_is_about_one_in_ten() {
        let record = |ip: std::net::IpAddr, port: u16| BannerRecord {
            ip,
            port,
            snapshot: "s".into(),
            protocol: "http".into(),
            banner: Vec::new(),
        };
        // Every service of a host is on the same side.
        let host = std::net::IpAddr::from([192, 0, 2, 1]);
        let side = Split::HeldOut.contains(host_hash(&record(host, 80)));
        assert!(
            (1..5_000u16).all(|p| Split::HeldOut.contains(host_hash(&record(host, p))) == side)
        );
        let held = (0..5_000u16)
            .filter(|&p| {
                let [hi, lo] = p.to_be_bytes();
                let ip = std::net::IpAddr::from([10, 0, hi, lo]);
                Split::HeldOut.contains(host_hash(&record(ip, 80)))
            })
            .count();
        assert!((350..650).contains(&held), "{held}");
    }
}
