//! Ground truth: what each simulated record really is.

use std::fs::File;
use std::io::{BufRead, BufReader, BufWriter, Write};
use std::net::IpAddr;
use std::path::{Path, PathBuf};

use flate2::Compression;
use flate2::read::MultiGzDecoder;
use flate2::write::GzEncoder;
use serde::{Deserialize, Serialize};

use crate::{Error, Result};

/// What changed in a host's banner since the previous snapshot.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
#[non_exhaustive]
pub enum ChangeKind {
    /// No record of this service in the previous snapshot (first snapshot,
    /// or the host did not answer then).
    New,
    /// Same device, version and configuration: only per-scan dynamic values differ.
    None,
    /// Same device and content, headers in a different order.
    Reorder,
    /// Same device and version, a header switched on/off or another status.
    Config,
    /// Same device, next product version.
    Version,
    /// A different device on the same ip/port (churn).
    Device,
}

impl ChangeKind {
    /// All kinds, in the order above.
    pub const ALL: [ChangeKind; 6] = [
        ChangeKind::New,
        ChangeKind::None,
        ChangeKind::Reorder,
        ChangeKind::Config,
        ChangeKind::Version,
        ChangeKind::Device,
    ];

    /// The lowercase name used in truth files.
    pub fn as_str(self) -> &'static str {
        match self {
            ChangeKind::New => "new",
            ChangeKind::None => "none",
            ChangeKind::Reorder => "reorder",
            ChangeKind::Config => "config",
            ChangeKind::Version => "version",
            ChangeKind::Device => "device",
        }
    }
}

/// Ground truth of one record, one JSON line of a truth file, row-aligned
/// with the record file of the same snapshot and carrying the record key
/// (`ip`, `port`, `snapshot`, `protocol`) for joins.
///
/// `dynamic` lists the half-open byte ranges `[start, end)` of the banner
/// that per-scan slots produced (timestamp fields, ids, nonces, counters,
/// lengths), sorted and disjoint; every other byte is static.
///
/// ```
/// use scan_sim::{ScanSimulator, SimConfig};
///
/// let sim = ScanSimulator::new(SimConfig { hosts: 50, snapshots: 1, ..SimConfig::default() }.check()?)?;
/// for rec in sim.snapshot(0)? {
///     let mask = rec.truth.dynamic_mask(rec.record.banner.len());
///     assert_eq!(mask.iter().filter(|&&d| d).count(), rec.truth.dynamic_bytes());
/// }
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Truth {
    /// The host's address (as in the record).
    pub ip: IpAddr,
    /// The port (as in the record).
    pub port: u16,
    /// The snapshot name (as in the record).
    pub snapshot: String,
    /// The protocol (as in the record).
    pub protocol: String,
    /// Index of the simulated host (stable across snapshots).
    pub host: u64,
    /// Product id in the catalogue.
    pub product: String,
    /// The product's vendor.
    pub vendor: String,
    /// The product's family.
    pub family: String,
    /// The product version the host runs, when the product has versions.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
    /// Change since the previous snapshot.
    pub change: ChangeKind,
    /// Byte ranges `[start, end)` of per-scan dynamic content.
    pub dynamic: Vec<[u32; 2]>,
}

impl Truth {
    /// One flag per banner byte: `true` where the byte is dynamic.
    pub fn dynamic_mask(&self, len: usize) -> Vec<bool> {
        let mut mask = vec![false; len];
        for &[a, b] in &self.dynamic {
            let (a, b) = ((a as usize).min(len), (b as usize).min(len));
            mask[a..b].fill(true);
        }
        mask
    }

    /// Number of dynamic bytes.
    pub fn dynamic_bytes(&self) -> usize {
        self.dynamic.iter().map(|&[a, b]| (b - a) as usize).sum()
    }
}

/// Writes truth lines to a gzip file atomically (temporary file renamed on
/// [`TruthWriter::finish`]).
pub(crate) struct TruthWriter {
    path: PathBuf,
    out: GzEncoder<BufWriter<tempfile::NamedTempFile>>,
    line: Vec<u8>,
}

impl TruthWriter {
    pub fn create(path: &Path) -> Result<Self> {
        let dir = path
            .parent()
            .filter(|p| !p.as_os_str().is_empty())
            .unwrap_or(Path::new("."));
        let tmp = tempfile::Builder::new()
            .prefix(".truth-")
            .tempfile_in(dir)
            .map_err(|e| Error::io(path, e))?;
        Ok(TruthWriter {
            path: path.to_path_buf(),
            out: GzEncoder::new(BufWriter::with_capacity(1 << 16, tmp), Compression::new(3)),
            line: Vec::with_capacity(512),
        })
    }

    pub fn write(&mut self, t: &Truth) -> Result<()> {
        self.line.clear();
        serde_json::to_writer(&mut self.line, t).map_err(|e| Error::io(&self.path, e.into()))?;
        self.line.push(b'\n');
        self.out
            .write_all(&self.line)
            .map_err(|e| Error::io(&self.path, e))
    }

    pub fn finish(self) -> Result<()> {
        let path = self.path;
        let buf = self.out.finish().map_err(|e| Error::io(&path, e))?;
        let tmp = buf
            .into_inner()
            .map_err(|e| Error::io(&path, e.into_error()))?;
        tmp.as_file().sync_all().map_err(|e| Error::io(&path, e))?;
        tmp.persist(&path).map_err(|e| Error::io(&path, e.error))?;
        Ok(())
    }
}

/// Reads a truth file (`.gz` or plain JSONL) line by line.
///
/// ```no_run
/// for truth in scan_sim::read_truth("data/sim/truth-2023-01-04.jsonl.gz")? {
///     let truth = truth?;
///     println!("{} {}", truth.product, truth.change.as_str());
/// }
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
///
/// # Errors
/// [`Error::Io`] when the file cannot be opened; the iterator yields
/// [`Error::Io`] or [`Error::BadTruthLine`] (with the line number) per bad line.
pub fn read_truth(path: impl AsRef<Path>) -> Result<TruthReader> {
    let path = path.as_ref().to_path_buf();
    let file = File::open(&path).map_err(|e| Error::io(&path, e))?;
    let inner: Box<dyn BufRead + Send> = if path.extension().is_some_and(|e| e == "gz") {
        Box::new(BufReader::new(MultiGzDecoder::new(BufReader::new(file))))
    } else {
        Box::new(BufReader::new(file))
    };
    Ok(TruthReader {
        path,
        inner,
        line_no: 0,
        buf: String::new(),
    })
}

/// Iterator over the [`Truth`] lines of a file; see [`read_truth`].
pub struct TruthReader {
    path: PathBuf,
    inner: Box<dyn BufRead + Send>,
    line_no: u64,
    buf: String,
}

impl std::fmt::Debug for TruthReader {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TruthReader")
            .field("path", &self.path)
            .field("line_no", &self.line_no)
            .finish_non_exhaustive()
    }
}

impl Iterator for TruthReader {
    type Item = Result<Truth>;

    fn next(&mut self) -> Option<Self::Item> {
        loop {
            self.buf.clear();
            self.line_no += 1;
            match self.inner.read_line(&mut self.buf) {
                Ok(0) => return None,
                Ok(_) => {}
                Err(e) => return Some(Err(Error::io(&self.path, e))),
            }
            if self.buf.trim().is_empty() {
                continue;
            }
            return Some(
                serde_json::from_str(&self.buf).map_err(|source| Error::BadTruthLine {
                    path: self.path.clone(),
                    line: self.line_no,
                    source,
                }),
            );
        }
    }
}
