//! Simulation parameters and their validation.

use serde::{Deserialize, Serialize};

use crate::date::SimDate;
use crate::{Error, Result};

/// How HTTP banners are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
#[non_exhaustive]
pub enum BannerForm {
    /// As the server sent them, `Date` values included.
    #[default]
    Raw,
    /// As Censys exports them: every `Date` header value is written as
    /// `<REDACTED>` (the rest is unchanged).
    Censys,
}

/// Per-snapshot probabilities of the events that change a host between two
/// consecutive snapshots.
///
/// `churn`, `version_update` and `config_change` are mutually exclusive
/// events of one transition (their sum must not exceed 1); `reorder` applies
/// to the remaining hosts whose product reorders its headers; `offline` is
/// drawn independently per host and snapshot.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ChangeRates {
    /// A different device answers on the same ip/port (new product, new
    /// per-host values; same protocol and port). Default 0.05.
    pub churn: f64,
    /// The host moves to its product's next version (if it is not on the
    /// newest already). Default 0.03.
    pub version_update: f64,
    /// The host switches one optional header on or off, or changes the status
    /// it answers with (if its product has such options). Default 0.02.
    pub config_change: f64,
    /// For products that reorder headers: the host sends its headers in a new
    /// order. Default 0.3.
    pub reorder: f64,
    /// The host does not answer in a snapshot (no record). Default 0.04.
    pub offline: f64,
}

impl Default for ChangeRates {
    fn default() -> Self {
        ChangeRates {
            churn: 0.05,
            version_update: 0.03,
            config_change: 0.02,
            reorder: 0.3,
            offline: 0.04,
        }
    }
}

/// Parameters of a simulation; validate with [`SimConfig::check`].
///
/// ```
/// use scan_sim::{BannerForm, SimConfig};
///
/// let cfg = SimConfig { hosts: 1_000, snapshots: 3, seed: 7, form: BannerForm::Censys, ..SimConfig::default() }
///     .check()?;
/// assert_eq!(cfg.snapshot_names(), ["2023-01-04", "2023-02-04", "2023-03-04"]);
///
/// let bad = SimConfig { hosts: 0, ..SimConfig::default() }.check();
/// assert!(bad.is_err());
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SimConfig {
    /// Seed of every random choice: the same seed and parameters give
    /// byte-identical output. Default 0.
    pub seed: u64,
    /// Number of simulated services (each on its own address). Default 10,000.
    pub hosts: u64,
    /// Number of monthly snapshots. Default 6 (as in the paper).
    pub snapshots: usize,
    /// Date of the first snapshot; later ones follow monthly. Default 2023-01-04.
    pub first_snapshot: SimDate,
    /// Hours over which one snapshot's scan is spread (scan times, hence
    /// `Date` values, are uniform in this window). Default 48.
    pub scan_window_hours: u32,
    /// How HTTP banners are written. Default [`BannerForm::Raw`].
    pub form: BannerForm,
    /// Event probabilities between snapshots.
    pub rates: ChangeRates,
}

impl Default for SimConfig {
    fn default() -> Self {
        SimConfig {
            seed: 0,
            hosts: 10_000,
            snapshots: 6,
            first_snapshot: SimDate::ymd_unchecked(2023, 1, 4),
            scan_window_hours: 48,
            form: BannerForm::Raw,
            rates: ChangeRates::default(),
        }
    }
}

/// The largest number of hosts: one address each, in 217 public /8 blocks.
pub const MAX_HOSTS: u64 = 217 << 24;

impl SimConfig {
    /// Validates the parameters.
    ///
    /// # Errors
    /// [`Error::InvalidParam`] naming the field: `hosts` outside
    /// `1..=`[`MAX_HOSTS`], `snapshots` outside `1..=240`, a rate outside
    /// `[0, 1]` (or `offline` = 1), exclusive rates summing above 1, or
    /// `scan_window_hours` outside `1..=672`.
    pub fn check(self) -> Result<ValidSimConfig> {
        if !(1..=MAX_HOSTS).contains(&self.hosts) {
            return Err(Error::param(
                "hosts",
                format!("{} is not in 1..={MAX_HOSTS}", self.hosts),
            ));
        }
        if !(1..=240).contains(&self.snapshots) {
            return Err(Error::param(
                "snapshots",
                format!("{} is not in 1..=240", self.snapshots),
            ));
        }
        if !(1..=672).contains(&self.scan_window_hours) {
            return Err(Error::param(
                "scan_window_hours",
                format!("{} is not in 1..=672", self.scan_window_hours),
            ));
        }
        let r = &self.rates;
        for (name, v) in [
            ("rates.churn", r.churn),
            ("rates.version_update", r.version_update),
            ("rates.config_change", r.config_change),
            ("rates.reorder", r.reorder),
            ("rates.offline", r.offline),
        ] {
            if !(0.0..=1.0).contains(&v) {
                return Err(Error::param(
                    name,
                    format!("{v} is not a probability in [0, 1]"),
                ));
            }
        }
        if r.offline >= 1.0 {
            return Err(Error::param(
                "rates.offline",
                "1 would leave every snapshot empty",
            ));
        }
        let exclusive = r.churn + r.version_update + r.config_change;
        if exclusive > 1.0 + 1e-12 {
            return Err(Error::param(
                "rates.churn",
                format!("churn + version_update + config_change = {exclusive} exceeds 1"),
            ));
        }
        Ok(ValidSimConfig(self))
    }
}

/// A [`SimConfig`] that passed [`SimConfig::check`].
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ValidSimConfig(SimConfig);

impl ValidSimConfig {
    /// The validated parameters.
    pub fn params(&self) -> &SimConfig {
        &self.0
    }

    /// The seed.
    pub fn seed(&self) -> u64 {
        self.0.seed
    }

    /// Number of hosts.
    pub fn hosts(&self) -> u64 {
        self.0.hosts
    }

    /// Number of snapshots.
    pub fn snapshots(&self) -> usize {
        self.0.snapshots
    }

    /// The banner form.
    pub fn form(&self) -> BannerForm {
        self.0.form
    }

    /// The change rates.
    pub fn rates(&self) -> &ChangeRates {
        &self.0.rates
    }

    /// The date of snapshot `index` (monthly from the first).
    pub fn snapshot_date(&self, index: usize) -> SimDate {
        self.0.first_snapshot.plus_months(index as u32)
    }

    /// The names of all snapshots (`YYYY-MM-DD`), as written in records.
    pub fn snapshot_names(&self) -> Vec<String> {
        (0..self.0.snapshots)
            .map(|i| self.snapshot_date(i).to_string())
            .collect()
    }

    pub(crate) fn scan_window_secs(&self) -> u64 {
        u64::from(self.0.scan_window_hours) * 3600
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bad(cfg: SimConfig) -> &'static str {
        match cfg.check() {
            Err(Error::InvalidParam { name, .. }) => name,
            other => panic!("expected InvalidParam, got {other:?}"),
        }
    }

    #[test]
    fn validation_errors_name_the_field() {
        let d = SimConfig::default;
        assert_eq!(bad(SimConfig { hosts: 0, ..d() }), "hosts");
        assert_eq!(
            bad(SimConfig {
                hosts: MAX_HOSTS + 1,
                ..d()
            }),
            "hosts"
        );
        assert_eq!(
            bad(SimConfig {
                snapshots: 0,
                ..d()
            }),
            "snapshots"
        );
        assert_eq!(
            bad(SimConfig {
                scan_window_hours: 0,
                ..d()
            }),
            "scan_window_hours"
        );
        let rates = |r: ChangeRates| SimConfig { rates: r, ..d() };
        let dr = ChangeRates::default;
        assert_eq!(
            bad(rates(ChangeRates {
                churn: -0.1,
                ..dr()
            })),
            "rates.churn"
        );
        assert_eq!(
            bad(rates(ChangeRates {
                reorder: f64::NAN,
                ..dr()
            })),
            "rates.reorder"
        );
        assert_eq!(
            bad(rates(ChangeRates {
                offline: 1.0,
                ..dr()
            })),
            "rates.offline"
        );
        assert_eq!(
            bad(rates(ChangeRates {
                churn: 0.5,
                version_update: 0.4,
                config_change: 0.2,
                ..dr()
            })),
            "rates.churn"
        );
        assert!(SimConfig::default().check().is_ok());
    }

    #[test]
    fn config_round_trips_through_json() {
        let cfg = SimConfig {
            seed: 3,
            form: BannerForm::Censys,
            ..SimConfig::default()
        };
        let json = serde_json::to_string(&cfg).unwrap_or_default();
        assert!(
            json.contains("\"censys\"") && json.contains("\"2023-01-04\""),
            "{json}"
        );
        let back: SimConfig = serde_json::from_str(&json).unwrap_or_default();
        assert_eq!(back, cfg);
    }
}
