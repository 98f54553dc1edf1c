//! Training and evaluation data from a simulated scan ([`scan_sim`]) with ground truth: the
//! records of a snapshot, and banner pairs with true dynamic spans and products in the form
//! `contrastive_trainer` trains and evaluates on ([`PairTruth`]).
//!
//! Hosts are split into training and held-out sets by index (one host in
//! [`HELD_OUT_EVERY`] is held out), so evaluation never sees a host the model trained on.
//!
//! API: [`Split`], [`snapshot_records`], [`simulated_pairs`], [`HELD_OUT_EVERY`].

use std::collections::HashMap;

use banner_parse::{BannerPair, BannerRecord};
use scan_sim::{ChangeKind, ScanSimulator, Truth};

use contrastive_trainer::{PairMeta, PairTruth};
use scan_sim::{Error, Result};

/// One host in this many is held out for evaluation (`host % HELD_OUT_EVERY == 0`).
pub const HELD_OUT_EVERY: u64 = 10;

/// Which hosts to take.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
#[non_exhaustive]
pub enum Split {
    /// Every host.
    #[default]
    All,
    /// Hosts used for training (`host % 10 != 0`).
    Train,
    /// Held-out hosts (`host % 10 == 0`).
    HeldOut,
}

impl Split {
    /// Whether `host` belongs to this split.
    pub fn contains(self, host: u64) -> bool {
        match self {
            Split::All => true,
            Split::Train => !host.is_multiple_of(HELD_OUT_EVERY),
            Split::HeldOut => host.is_multiple_of(HELD_OUT_EVERY),
        }
    }
}

/// All records of one snapshot of the simulation in `split`.
///
/// # Errors
/// [`Error`] when the snapshot index is out of range.
pub fn snapshot_records(
    sim: &ScanSimulator,
    snapshot: usize,
    split: Split,
) -> Result<Vec<(BannerRecord, Truth)>> {
    Ok(sim
        .snapshot(snapshot)?
        .filter(|r| split.contains(r.truth.host))
        .map(|r| (r.record, r.truth))
        .collect())
}

/// Pairs of the same service in snapshots `from` and `to` (`from < to`), with ground truth:
/// products, true dynamic spans, and whether the service stayed unchanged (only per-scan values
/// and header order differ) in every snapshot between; a service absent from an intermediate
/// snapshot has `unchanged = None`.
///
/// ```
/// use bannerlm::simulated::{simulated_pairs, Split};
/// use scan_sim::{ScanSimulator, SimConfig};
///
/// let sim = ScanSimulator::new(SimConfig { hosts: 200, snapshots: 3, ..SimConfig::default() }.check()?)?;
/// let pairs = simulated_pairs(&sim, 0, 2, Split::HeldOut)?;
/// assert!(!pairs.is_empty());
/// assert!(pairs.iter().all(|(p, _)| p.before.ip == p.after.ip && p.before.snapshot != p.after.snapshot));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
///
/// # Errors
/// [`Error::InvalidParam`] unless `from < to < snapshots`; other [`Error`]s from the simulator.
pub fn simulated_pairs(
    sim: &ScanSimulator,
    from: usize,
    to: usize,
    split: Split,
) -> Result<Vec<(BannerPair, PairTruth)>> {
    if from >= to || to >= sim.config().snapshots() {
        return Err(Error::InvalidParam {
            name: "snapshots",
            reason: format!(
                "snapshot pair ({from}, {to}) needs from < to < {}",
                sim.config().snapshots()
            ),
        });
    }
    // For each host: Some(true) while every intermediate transition kept the service as it was.
    let mut unchanged: HashMap<u64, Option<bool>> = HashMap::new();
    let mut before: HashMap<u64, (BannerRecord, Truth)> = HashMap::new();
    for (rec, truth) in snapshot_records(sim, from, split)? {
        unchanged.insert(truth.host, Some(true));
        before.insert(truth.host, (rec, truth));
    }
    let mut out = Vec::new();
    for snap in from + 1..=to {
        let mut seen = std::collections::HashSet::new();
        for r in sim.snapshot(snap)? {
            let host = r.truth.host;
            if !split.contains(host) || !before.contains_key(&host) {
                continue;
            }
            seen.insert(host);
            let state = unchanged.entry(host).or_insert(None);
            let same = matches!(r.truth.change, ChangeKind::None | ChangeKind::Reorder);
            *state = match (*state, r.truth.change) {
                (None, _) | (_, ChangeKind::New) => None,
                (Some(ok), _) => Some(ok && same),
            };
            if snap == to
                && let Some((rec_a, truth_a)) = before.get(&host)
            {
                {
                    let meta = PairMeta {
                        product_a: Some(truth_a.product.clone()),
                        product_b: Some(r.truth.product.clone()),
                        unchanged: *state,
                    };
                    out.push((
                        BannerPair {
                            before: rec_a.clone(),
                            after: r.record,
                        },
                        PairTruth {
                            dynamic_a: truth_a.dynamic.clone(),
                            dynamic_b: r.truth.dynamic,
                            meta,
                        },
                    ));
                }
            }
        }
        // Absent in this snapshot: the change across the gap is unknown.
        for (host, state) in &mut unchanged {
            if !seen.contains(host) {
                *state = None;
            }
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use scan_sim::{ScanSimulator, SimConfig};

    #[test]
    fn split_known_answer() {
        let held: Vec<u64> = (0..25).filter(|&h| Split::HeldOut.contains(h)).collect();
        assert_eq!(held, vec![0, 10, 20]);
        assert!(Split::Train.contains(7) && !Split::Train.contains(10));
        assert!((0..25).all(|h| Split::All.contains(h)));
    }

    #[test]
    fn pairs_join_the_same_host_and_bad_snapshots_are_refused() {
        let config = SimConfig {
            hosts: 50,
            snapshots: 2,
            ..SimConfig::default()
        };
        let sim = ScanSimulator::new(config.check().expect("valid")).expect("sim");
        let pairs = simulated_pairs(&sim, 0, 1, Split::HeldOut).expect("pairs");
        assert!(!pairs.is_empty());
        for (p, t) in &pairs {
            assert_eq!((p.before.ip, p.before.port), (p.after.ip, p.after.port));
            assert!(t.meta.product_a.is_some() && t.meta.product_b.is_some());
        }
        let records = snapshot_records(&sim, 0, Split::HeldOut).expect("records");
        assert!(records.iter().all(|(_, t)| t.host % HELD_OUT_EVERY == 0));
        assert!(matches!(
            simulated_pairs(&sim, 1, 1, Split::All),
            Err(Error::InvalidParam { .. })
        ));
    }
}
