//! Writing a simulation to disk: records, ground truth and a manifest.

use std::path::{Path, PathBuf};

use banner_parse::RecordWriter;
use serde::{Deserialize, Serialize};

use crate::config::SimConfig;
use crate::sim::ScanSimulator;
use crate::truth::TruthWriter;
use crate::{Error, Result};

/// Truth lines handed to the writer thread at a time.
const TRUTH_BATCH: usize = 2048;

/// Name of the manifest written beside the snapshot files.
pub const MANIFEST_NAME: &str = "simulation.json";

/// The files of one written snapshot.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SnapshotFiles {
    /// Snapshot name (`YYYY-MM-DD`).
    pub name: String,
    /// Banner records (bannerlm JSONL, gzip), relative to the output directory.
    pub records: PathBuf,
    /// Ground truth (JSONL, gzip), row-aligned with `records`, relative to the output directory.
    pub truth: PathBuf,
    /// Number of records (hosts online in this snapshot).
    pub count: u64,
}

/// What [`ScanSimulator::write_snapshots`] wrote; also saved as
/// `simulation.json` in the output directory.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Manifest {
    /// The parameters of the run (enough to regenerate it bit for bit with
    /// the same catalogue and crate version).
    pub config: SimConfig,
    /// Number of products in the catalogue used.
    pub products: usize,
    /// `scan-sim` version that wrote the files.
    pub generator: String,
    /// One entry per snapshot, in order.
    pub snapshots: Vec<SnapshotFiles>,
}

impl Manifest {
    /// Reads a `simulation.json`.
    ///
    /// # Errors
    /// [`Error::Io`] when the file cannot be read or is not a valid manifest
    /// (then the JSON error, with line and column, is the source).
    pub fn read(path: impl AsRef<Path>) -> Result<Self> {
        let path = path.as_ref();
        let text = std::fs::read_to_string(path).map_err(|e| Error::io(path, e))?;
        serde_json::from_str(&text).map_err(|e| Error::io(path, e.into()))
    }
}

/// Progress of [`ScanSimulator::write_snapshots_with_progress`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Progress {
    /// Index of the snapshot being written.
    pub snapshot: usize,
    /// Host-snapshots visited so far over the whole run (online or not).
    pub done: u64,
    /// Host-snapshots in the whole run (`hosts * snapshots`).
    pub total: u64,
}

impl ScanSimulator {
    /// Writes every snapshot to `out_dir` (created if missing):
    /// `records-<snapshot>.jsonl.gz` (banner records in the format of
    /// `banner-parse`), `truth-<snapshot>.jsonl.gz` (one [`Truth`](crate::Truth)
    /// per record, same order) and `simulation.json` (the [`Manifest`]).
    /// Each file appears atomically when complete; memory use does not grow
    /// with the number of hosts.
    ///
    /// ```no_run
    /// use scan_sim::{ScanSimulator, SimConfig};
    ///
    /// let sim = ScanSimulator::new(SimConfig { hosts: 100_000, ..SimConfig::default() }.check()?)?;
    /// let manifest = sim.write_snapshots("data/sim")?;
    /// assert_eq!(manifest.snapshots.len(), 6);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    ///
    /// # Errors
    /// [`Error::Io`] (with the path) when a file cannot be created or written.
    pub fn write_snapshots(&self, out_dir: impl AsRef<Path>) -> Result<Manifest> {
        self.write_snapshots_with_progress(out_dir, |_| {})
    }

    /// As [`ScanSimulator::write_snapshots`], calling `progress` every few
    /// thousand hosts and at the end of each snapshot.
    ///
    /// # Errors
    /// As [`ScanSimulator::write_snapshots`].
    pub fn write_snapshots_with_progress(
        &self,
        out_dir: impl AsRef<Path>,
        mut progress: impl FnMut(Progress),
    ) -> Result<Manifest> {
        let dir = out_dir.as_ref();
        std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
        let hosts = self.config().hosts();
        let total = hosts * self.config().snapshots() as u64;
        let mut snapshots = Vec::with_capacity(self.config().snapshots());
        for index in 0..self.config().snapshots() {
            let mut snap = self.snapshot(index)?;
            let name = snap.name().to_string();
            let records = PathBuf::from(format!("records-{name}.jsonl.gz"));
            let truth = PathBuf::from(format!("truth-{name}.jsonl.gz"));
            let mut rw = RecordWriter::create(dir.join(&records))?;
            let tw = TruthWriter::create(&dir.join(&truth))?;
            let base = index as u64 * hosts;
            // Truth lines are serialised and compressed on a second thread
            // (compression dominates the cost), in batches over a bounded
            // channel so memory stays constant.
            let count = std::thread::scope(|scope| -> Result<u64> {
                let (tx, rx) = std::sync::mpsc::sync_channel::<Vec<crate::Truth>>(4);
                let writer = scope.spawn(move || -> Result<()> {
                    let mut tw = tw;
                    for batch in rx {
                        for t in &batch {
                            tw.write(t)?;
                        }
                    }
                    tw.finish()
                });
                let mut count = 0u64;
                let mut batch = Vec::with_capacity(TRUTH_BATCH);
                let mut result: Result<()> = Ok(());
                while let Some(rec) = snap.next() {
                    if let Err(e) = rw.write(&rec.record) {
                        result = Err(e.into());
                        break;
                    }
                    batch.push(rec.truth);
                    count += 1;
                    if batch.len() == TRUTH_BATCH {
                        let full = std::mem::replace(&mut batch, Vec::with_capacity(TRUTH_BATCH));
                        if tx.send(full).is_err() {
                            break; // the writer failed; its error is reported below
                        }
                        progress(Progress {
                            snapshot: index,
                            done: base + snap.position(),
                            total,
                        });
                    }
                }
                if result.is_ok() && !batch.is_empty() {
                    let _ = tx.send(batch);
                }
                drop(tx);
                let written = writer.join().unwrap_or_else(|_| {
                    Err(Error::io(
                        dir.join(&truth),
                        std::io::Error::other("truth writer panicked"),
                    ))
                });
                result?;
                written?;
                rw.finish()?;
                Ok(count)
            })?;
            progress(Progress {
                snapshot: index,
                done: base + hosts,
                total,
            });
            snapshots.push(SnapshotFiles {
                name,
                records,
                truth,
                count,
            });
        }
        let manifest = Manifest {
            config: self.config().params().clone(),
            products: self.catalogue().products().len(),
            generator: format!("scan-sim {}", env!("CARGO_PKG_VERSION")),
            snapshots,
        };
        write_atomic(&dir.join(MANIFEST_NAME), &manifest)?;
        Ok(manifest)
    }
}

/// Writes the manifest atomically (see [`bannerlm_base::write_atomic`]).
fn write_atomic(path: &Path, manifest: &Manifest) -> Result<()> {
    let mut json = serde_json::to_vec_pretty(manifest).map_err(|e| Error::io(path, e.into()))?;
    json.push(b'\n');
    bannerlm_base::write_atomic(path, &json).map_err(|e| Error::io(path, e))
}
