//! Ground truth: what each simulated record really is.

use std::fs::File;
use std::io::{BufRead, BufReader, BufWriter, Read as _, Write};
use std::net::IpAddr;
use std::path::{Path, PathBuf};

use bannerlm_base::AtomicFile;
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
    /// One flag per banner byte: `true` where the byte is dynamic. Ranges
    /// are clipped to `len`; an inverted range (`start > end`, only in a
    /// damaged truth file) marks nothing.
    pub fn dynamic_mask(&self, len: usize) -> Vec<bool> {
        let mut mask = vec![false; len];
        for &[a, b] in &self.dynamic {
            let (a, b) = ((a as usize).min(len), (b as usize).min(len));
            if a < b {
                mask[a..b].fill(true);
            }
        }
        mask
    }

    /// Number of dynamic bytes (an inverted range counts 0).
    pub fn dynamic_bytes(&self) -> usize {
        self.dynamic
            .iter()
            .map(|&[a, b]| b.saturating_sub(a) as usize)
            .fold(0, usize::saturating_add)
    }
}

/// Writes truth lines to a gzip file atomically (a
/// [`bannerlm_base::AtomicFile`], synced and renamed on
/// [`TruthWriter::finish`]).
pub(crate) struct TruthWriter {
    path: PathBuf,
    out: GzEncoder<BufWriter<AtomicFile>>,
    line: Vec<u8>,
}

impl TruthWriter {
    pub fn create(path: &Path) -> Result<Self> {
        let tmp = AtomicFile::create(path).map_err(|e| Error::io(path, e))?;
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
        tmp.commit().map_err(|e| Error::io(&path, e))
    }
}

/// Longest truth line [`read_truth`] accepts: 64 MiB, as `banner-parse`'s
/// default line limit (a truth line is far shorter than its banner).
pub const MAX_TRUTH_LINE_BYTES: usize = 64 << 20;

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
/// The iterator yields one [`Truth`] per non-blank line, or an error: a line
/// that is not a truth line ([`Error::BadTruthLine`], with the line number;
/// reading goes on after it), or an [`Error::Io`] (a read error, a corrupt
/// gzip stream, a line longer than [`MAX_TRUTH_LINE_BYTES`]), **after which
/// the iteration ends**. Do not drop errors (`flatten()`): that loses the
/// rest of the file silently.
///
/// # Errors
/// [`Error::Io`] when the file cannot be opened.
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
        buf: Vec::new(),
        done: false,
    })
}

/// Iterator over the [`Truth`] lines of a file; see [`read_truth`].
pub struct TruthReader {
    path: PathBuf,
    inner: Box<dyn BufRead + Send>,
    line_no: u64,
    buf: Vec<u8>,
    done: bool,
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
        while !self.done {
            self.buf.clear();
            self.line_no += 1;
            let limit = MAX_TRUTH_LINE_BYTES as u64 + 1;
            let read = (&mut self.inner)
                .take(limit)
                .read_until(b'\n', &mut self.buf)
                .and_then(|n| {
                    if self.buf.len() >= MAX_TRUTH_LINE_BYTES && !self.buf.ends_with(b"\n") {
                        Err(std::io::Error::new(
                            std::io::ErrorKind::InvalidData,
                            format!(
                                "line {} is longer than {MAX_TRUTH_LINE_BYTES} bytes",
                                self.line_no
                            ),
                        ))
                    } else {
                        Ok(n)
                    }
                });
            match read {
                Ok(0) => self.done = true,
                Ok(_) if self.buf.trim_ascii().is_empty() => {}
                Ok(_) => {
                    return Some(serde_json::from_slice(&self.buf).map_err(|source| {
                        Error::BadTruthLine {
                            path: self.path.clone(),
                            line: self.line_no,
                            source,
                        }
                    }));
                }
                Err(e) => {
                    self.done = true;
                    return Some(Err(Error::io(&self.path, e)));
                }
            }
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn truth(dynamic: Vec<[u32; 2]>) -> Truth {
        Truth {
            ip: "192.0.2.1".parse().expect("ip"),
            port: 80,
            snapshot: "s".into(),
            protocol: "http".into(),
            host: 0,
            product: "p".into(),
            vendor: "v".into(),
            family: "f".into(),
            version: None,
            change: ChangeKind::New,
            dynamic,
        }
    }

    /// A damaged truth file with an inverted range panicked (slice index
    /// order in `dynamic_mask`, subtraction overflow in `dynamic_bytes`).
    #[test]
    fn inverted_ranges_mark_nothing() {
        let t = truth(vec![[10, 5], [0, 2], [u32::MAX, 0]]);
        assert_eq!(
            t.dynamic_mask(8),
            [true, true, false, false, false, false, false, false]
        );
        assert_eq!(t.dynamic_bytes(), 2);
    }

    /// A corrupt gzip truth file yields one error naming the file, then ends
    /// (it used to yield the same error forever to a caller that skipped it).
    #[test]
    fn corrupt_gzip_ends_with_one_error() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("truth.jsonl.gz");
        std::fs::write(&path, [0x1f, 0x8b, 0x08, 0, 0, 0, 0, 0, 0, 0xff, 1, 2, 3]).expect("write");
        let items: Vec<_> = read_truth(&path).expect("open").take(5).collect();
        assert_eq!(items.len(), 1, "{items:?}");
        let err = items[0].as_ref().expect_err("an error").to_string();
        assert!(err.starts_with(&path.display().to_string()), "{err}");
    }
}
