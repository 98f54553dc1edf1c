//! # scan-sim
//!
//! Simulated Internet-wide scans with ground truth: the stand-in for six
//! monthly Censys snapshots that the paper trains on, so that bannerlm runs,
//! and every quality figure of the project can be measured, without
//! downloading anything.
//!
//! - **Catalogue** ([`Catalogue`]): more than 250 products written for this
//!   crate from public knowledge of real devices and software (web servers
//!   with OS builds, application servers, CDNs and load balancers, web
//!   applications known by their cookies, IP cameras, DVR/NVRs, routers,
//!   printers, NAS, PLC/SCADA panels, VPN gateways, smart-home hubs; SSH,
//!   FTP, SMTP and Telnet services), each with its header set and order,
//!   Server strings with versions, cookies, authentication realms, with a
//!   heavy-tailed popularity. It is JSON data compiled into the crate; a
//!   custom catalogue in the same format can be loaded.
//! - **Hosts** ([`ScanSimulator`]): each host runs one product on one port
//!   with a per-host configuration (optional headers, status code, header
//!   order) and per-host static values (serials, MAC-based realms, host
//!   names); per-scan values (dates, ETags, session ids, nonces, request ids,
//!   lengths) are regenerated on every scan.
//! - **Snapshots**: monthly; between two, hosts update versions, change
//!   configuration, reorder headers, go offline, or are replaced by another
//!   device on the same ip/port (churn), at the rates of [`ChangeRates`].
//! - **Ground truth** ([`Truth`]): per record the product, what changed
//!   since the previous snapshot ([`ChangeKind`]), and the byte spans of
//!   per-scan dynamic content at slot level.
//! - **Output**: banner records in the JSON Lines format of `banner-parse`
//!   plus row-aligned truth files, one pair per snapshot, gzip, written
//!   atomically in constant memory ([`ScanSimulator::write_snapshots`]).
//!   HTTP banners can be written raw or in Censys form ([`BannerForm`]).
//!
//! Everything is a pure function of the seed: the same [`SimConfig`] gives
//! byte-identical files, and any record can be generated on its own
//! ([`ScanSimulator::record`]).
//!
//! Place in the pipeline: a source of input, beside real scans read by
//! `banner-parse`. It knows nothing of models.
//!
//! # API
//!
//! - Configuration: [`SimConfig`] -> [`SimConfig::check`] -> [`ValidSimConfig`],
//!   with [`ChangeRates`], [`BannerForm`], [`SimDate`]; [`MAX_HOSTS`].
//! - Simulation: [`ScanSimulator`] (from a [`Catalogue`] of [`Product`]s)
//!   yields a [`Snapshot`] of [`SimRecord`]s (record plus [`Truth`], with
//!   [`ChangeKind`]).
//! - Files: [`ScanSimulator::write_snapshots`] -> [`Manifest`] of
//!   [`SnapshotFiles`] ([`MANIFEST_NAME`], [`Progress`]); truth read back with
//!   [`TruthReader`] / [`read_truth`] ([`MAX_TRUTH_LINE_BYTES`]).
//! - Errors: [`Error`], [`Result`].
//!
//! # Example: iterate over a snapshot with its truth
//!
//! ```
//! use scan_sim::{ScanSimulator, SimConfig};
//!
//! let config = SimConfig { hosts: 1_000, snapshots: 2, seed: 1, ..SimConfig::default() }.check()?;
//! let sim = ScanSimulator::new(config)?;
//! for rec in sim.snapshot(1)?.take(3) {
//!     let t = &rec.truth;
//!     println!("{} {} {:?} dynamic bytes: {}", rec.record.ip, t.product, t.change, t.dynamic_bytes());
//!     assert_eq!((t.ip, t.port), (rec.record.ip, rec.record.port));
//! }
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! # Example: pair two snapshots with `banner-parse`
//!
//! ```
//! use scan_sim::{ChangeKind, ScanSimulator, SimConfig};
//!
//! let sim = ScanSimulator::new(SimConfig { hosts: 500, snapshots: 2, ..SimConfig::default() }.check()?)?;
//! let before = sim.snapshot(0)?.map(|r| r.record);
//! let (after, truth): (Vec<_>, Vec<_>) = sim.snapshot(1)?.map(|r| (r.record, r.truth)).unzip();
//! let pairing = banner_parse::pair_in_memory(before, after);
//! let paired = truth.iter().filter(|t| t.change != ChangeKind::New).count();
//! assert_eq!(pairing.stats.pairs as usize, paired);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! # Example: write a run to disk
//!
//! ```no_run
//! use scan_sim::{BannerForm, ScanSimulator, SimConfig};
//!
//! let config = SimConfig { hosts: 100_000, form: BannerForm::Censys, ..SimConfig::default() }.check()?;
//! let manifest = ScanSimulator::new(config)?.write_snapshots("data/sim")?;
//! for s in &manifest.snapshots {
//!     println!("{}: {} records in {}", s.name, s.count, s.records.display());
//! }
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! `docs/SIMULATION.md` describes what is simulated, the rates, and where
//! the simulation differs from real scans.
//!
//! # Crate features
//!
//! None: everything is always available.

mod catalogue;
mod config;
mod date;
mod error;
mod output;
mod sim;
mod template;
mod truth;

pub use catalogue::{Catalogue, Product};
pub use config::{BannerForm, ChangeRates, MAX_HOSTS, SimConfig, ValidSimConfig};
pub use date::SimDate;
pub use error::{Error, Result};
pub use output::{MANIFEST_NAME, Manifest, Progress, SnapshotFiles};
pub use sim::{ScanSimulator, SimRecord, Snapshot};
pub use truth::{ChangeKind, MAX_TRUTH_LINE_BYTES, Truth, TruthReader, read_truth};
