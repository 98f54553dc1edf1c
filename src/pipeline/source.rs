//! Where banners come from: a simulated scan (regenerated on demand, deterministic) or records
//! read from files, grouped into snapshots by their `snapshot` field.

use std::collections::BTreeMap;
use std::path::PathBuf;

use banner_parse::{BannerRecord, ReadOptions, RecordReader, pair_in_memory};
use bannerlm_base::splitmix64;
use bpe_tokenizer::{BannerTokenizer, MIN_MATCHED_TOKENS};
use contrastive_trainer::PairCorpus;
use scan_sim::{ScanSimulator, SimConfig};

use crate::simulated::{Split, simulated_pairs, snapshot_records};

use super::config::{Input, PipelineConfig};
use super::error::{Error, Result};

/// The banners of a run.
pub(crate) enum Source {
    Sim(Box<ScanSimulator>),
    Files {
        files: Vec<PathBuf>,
        /// Snapshot name -> records, sorted by name.
        snapshots: BTreeMap<String, Vec<BannerRecord>>,
    },
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
                for path in &files {
                    let reader = RecordReader::open(path, ReadOptions::default())
                        .map_err(Error::stage("input"))?;
                    for rec in reader {
                        let rec = rec.map_err(Error::stage("input"))?;
                        snapshots.entry(rec.snapshot.clone()).or_default().push(rec);
                    }
                }
                if snapshots.is_empty() {
                    return Err(Error::NoInput(format!(
                        "{} files hold no banner record",
                        files.len()
                    )));
                }
                Ok(Source::Files { files, snapshots })
            }
        }
    }

    pub(crate) fn simulator(&self) -> Option<&ScanSimulator> {
        match self {
            Source::Sim(s) => Some(s.as_ref()),
            Source::Files { .. } => None,
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
                        .filter(|r| split.contains(service_hash(r)))
                        .map(|r| (r.clone(), None))
                        .collect()
                })
                .unwrap_or_default()),
        }
    }

    /// Labelled HTTP pairs of the last two snapshots in `split` (the paper's filter applied),
    /// with ground truth when simulated; at most `max` pairs (a deterministic sample).
    pub(crate) fn pair_corpus(
        &self,
        tokenizer: &BannerTokenizer,
        split: Split,
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
                let mut pairs =
                    simulated_pairs(sim, n - 2, n - 1, split).map_err(Error::stage("pairs"))?;
                pairs.retain(|(p, _)| p.before.is_http());
                sample(&mut pairs, max, seed);
                PairCorpus::from_pairs_with_truth(tokenizer, &pairs, MIN_MATCHED_TOKENS)
            }
            Source::Files { snapshots, .. } => {
                let mut it = snapshots.values().skip(n - 2);
                let (Some(before), Some(after)) = (it.next(), it.next()) else {
                    return Err(Error::NoInput("pairs need two snapshots".into()));
                };
                let keep = |recs: &Vec<BannerRecord>| -> Vec<BannerRecord> {
                    recs.iter()
                        .filter(|r| r.is_http() && split.contains(service_hash(r)))
                        .cloned()
                        .collect()
                };
                let mut pairs = pair_in_memory(keep(before), keep(after)).pairs;
                sample(&mut pairs, max, seed);
                PairCorpus::from_pairs(tokenizer, &pairs, MIN_MATCHED_TOKENS)
            }
        };
        corpus.map_err(Error::stage("pairs"))
    }
}

/// A seeded sample of at most `max` items (all of them when there are fewer), in order.
pub(crate) fn sample_refs<T>(items: &[T], max: usize, seed: u64) -> Vec<&T> {
    let mut refs: Vec<&T> = items.iter().collect();
    sample(&mut refs, Some(max), seed);
    refs
}

/// Keeps a seeded sample of at most `max` items, in their original order.
fn sample<T>(items: &mut Vec<T>, max: Option<usize>, seed: u64) {
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

/// A stable number per service (ip, port, protocol) for the held-out split of real data:
/// FNV-1a of the key, mixed.
pub(crate) fn service_hash(r: &BannerRecord) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    let text = format!("{}|{}|{}", r.ip, r.port, r.protocol.to_ascii_lowercase());
    for b in text.bytes() {
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

    #[test]
    fn held_out_split_of_files_is_about_one_in_ten() {
        let held = (0..5_000u16)
            .filter(|&p| {
                let r = BannerRecord {
                    ip: "192.0.2.1"
                        .parse()
                        .unwrap_or(std::net::IpAddr::from([0, 0, 0, 0])),
                    port: p,
                    snapshot: "s".into(),
                    protocol: "http".into(),
                    banner: Vec::new(),
                };
                Split::HeldOut.contains(service_hash(&r))
            })
            .count();
        assert!((350..650).contains(&held), "{held}");
    }
}
