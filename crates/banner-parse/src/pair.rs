//! Joining two snapshots on (ip, port, protocol).

use std::collections::HashMap;
use std::collections::hash_map::Entry;
use std::fs::File;
use std::hash::{BuildHasher, BuildHasherDefault, DefaultHasher};
use std::io::{BufWriter, Write};
use std::path::PathBuf;

use crate::error::{Error, Result};
use crate::labels::{BannerKind, Labeler, PairLabels};
use crate::read::{ReadOptions, RecordReader};
use crate::record::{BannerRecord, ServiceKey};

/// The same service seen in two snapshots.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BannerPair {
    /// The record from the earlier snapshot.
    pub before: BannerRecord,
    /// The record from the later snapshot.
    pub after: BannerRecord,
}

impl BannerPair {
    /// Labels the pair with the paper's rule (see [`label_pair`](crate::label_pair)),
    /// as HTTP when the protocol is `http`/`https`, else as one text block.
    pub fn labels(&self) -> PairLabels {
        Labeler::default().label(
            &self.before.banner,
            &self.after.banner,
            BannerKind::for_protocol(&self.before.protocol),
        )
    }
}

/// Counts from a join. Nothing is dropped silently: every input record is
/// counted in exactly one of `pairs`, `only_before`/`only_after` or
/// `duplicate_before`/`duplicate_after`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct PairStats {
    /// Records read from the earlier snapshot.
    pub before: u64,
    /// Records read from the later snapshot.
    pub after: u64,
    /// Pairs produced.
    pub pairs: u64,
    /// Earlier records with no partner.
    pub only_before: u64,
    /// Later records with no partner.
    pub only_after: u64,
    /// Earlier records whose service key repeats an earlier one in the same
    /// snapshot (the first is kept).
    pub duplicate_before: u64,
    /// Later records whose service key repeats an earlier one (the first is kept).
    pub duplicate_after: u64,
}

/// The result of [`pair_in_memory`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Pairing {
    /// The pairs, in the order of the later snapshot.
    pub pairs: Vec<BannerPair>,
    /// What happened to every record.
    pub stats: PairStats,
}

/// Joins two snapshots held in memory (memory: both snapshots). For inputs
/// that do not fit in memory use [`PairJoin`].
///
/// ```
/// use banner_parse::{pair_in_memory, BannerRecord};
/// let rec = |snap: &str, banner: &str| BannerRecord {
///     ip: "192.0.2.1".parse().unwrap(), port: 80, snapshot: snap.into(),
///     protocol: "http".into(), banner: banner.as_bytes().to_vec(),
/// };
/// let p = pair_in_memory([rec("2023-06", "a")], [rec("2023-07", "b")]);
/// assert_eq!(p.stats.pairs, 1);
/// assert_eq!(p.pairs[0].after.banner, b"b");
/// ```
pub fn pair_in_memory(
    before: impl IntoIterator<Item = BannerRecord>,
    after: impl IntoIterator<Item = BannerRecord>,
) -> Pairing {
    let mut stats = PairStats::default();
    let mut map: HashMap<ServiceKey, Option<BannerRecord>> = HashMap::new();
    for r in before {
        stats.before += 1;
        match map.entry(r.service_key()) {
            Entry::Occupied(_) => stats.duplicate_before += 1,
            Entry::Vacant(v) => {
                v.insert(Some(r));
            }
        }
    }
    let mut pairs = Vec::new();
    let mut seen_after: std::collections::HashSet<ServiceKey> = std::collections::HashSet::new();
    for r in after {
        stats.after += 1;
        let key = r.service_key();
        if !seen_after.insert(key.clone()) {
            stats.duplicate_after += 1;
            continue;
        }
        match map.get_mut(&key).and_then(Option::take) {
            Some(b) => pairs.push(BannerPair {
                before: b,
                after: r,
            }),
            None => stats.only_after += 1,
        }
    }
    stats.pairs = pairs.len() as u64;
    stats.only_before = map.values().filter(|v| v.is_some()).count() as u64;
    Pairing { pairs, stats }
}

/// A bounded-memory join of two snapshots of any size (an external hash join).
///
/// Both inputs are streamed once into `partitions` temporary files each,
/// by a hash of the service key (ip, port, protocol); then each partition of
/// the earlier snapshot is loaded into a hash map and the matching partition
/// of the later snapshot streamed against it. **Memory bound:** one partition
/// of the earlier snapshot, about `size(before) / partitions` plus hash-map
/// overhead (for 10M HTTP records of ~600 bytes and the default 64
/// partitions, about 100 MB plus ~50 bytes per record); **disk:** one copy of
/// both inputs as JSON Lines in the temporary directory, removed when the
/// [`PairStream`] is dropped.
///
/// ```
/// use banner_parse::{BannerRecord, PairJoin};
/// let rec = |snap: &str, port: u16| BannerRecord {
///     ip: "192.0.2.1".parse().unwrap(), port, snapshot: snap.into(),
///     protocol: "http".into(), banner: b"HTTP/1.1 200 OK\r\n".to_vec(),
/// };
/// let before = (0..100).map(|p| Ok(rec("2023-06", p)));
/// let after = (50..150).map(|p| Ok(rec("2023-07", p)));
/// let mut stream = PairJoin::new().partitions(8)?.join(before, after)?;
/// let pairs = stream.by_ref().collect::<Result<Vec<_>, _>>()?;
/// assert_eq!(pairs.len(), 50);
/// assert_eq!(stream.stats().only_after, 50);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone)]
pub struct PairJoin {
    partitions: usize,
    temp_dir: Option<PathBuf>,
}

impl Default for PairJoin {
    fn default() -> Self {
        PairJoin {
            partitions: 64,
            temp_dir: None,
        }
    }
}

fn partition_of(key: &ServiceKey, n: usize) -> usize {
    (BuildHasherDefault::<DefaultHasher>::default().hash_one(key) % n as u64) as usize
}

impl PairJoin {
    /// A join with 64 partitions in the system's temporary directory.
    pub fn new() -> Self {
        Self::default()
    }

    /// Number of partitions (1 ..= 4096): more partitions, less memory.
    ///
    /// # Errors
    /// [`Error::InvalidParam`] outside the range.
    pub fn partitions(mut self, n: usize) -> Result<Self> {
        if !(1..=4096).contains(&n) {
            return Err(Error::InvalidParam {
                name: "partitions",
                reason: format!("{n} is outside 1..=4096"),
            });
        }
        self.partitions = n;
        Ok(self)
    }

    /// Directory for the partition files (default: the system temp directory).
    #[must_use]
    pub fn temp_dir(mut self, dir: impl Into<PathBuf>) -> Self {
        self.temp_dir = Some(dir.into());
        self
    }

    /// Spills both inputs to partition files and returns the stream of pairs.
    ///
    /// # Errors
    /// The first error of either input (e.g. a bad line), or [`Error::Io`]
    /// while writing partitions.
    pub fn join<A, B>(&self, before: A, after: B) -> Result<PairStream>
    where
        A: IntoIterator<Item = Result<BannerRecord>>,
        B: IntoIterator<Item = Result<BannerRecord>>,
    {
        let dir = match &self.temp_dir {
            Some(d) => tempfile::Builder::new()
                .prefix("bannerlm-pair-")
                .tempdir_in(d),
            None => tempfile::Builder::new().prefix("bannerlm-pair-").tempdir(),
        }
        .map_err(|e| Error::io(self.temp_dir.clone().unwrap_or_else(std::env::temp_dir), e))?;
        let n = self.partitions;
        let mut stats = PairStats::default();
        let spill = |side: &str,
                     input: &mut dyn Iterator<Item = Result<BannerRecord>>,
                     count: &mut u64|
         -> Result<()> {
            let mut files = Vec::with_capacity(n);
            for p in 0..n {
                let path = dir.path().join(format!("{side}-{p}.jsonl"));
                let f = File::create(&path).map_err(|e| Error::io(&path, e))?;
                files.push((BufWriter::with_capacity(1 << 15, f), path));
            }
            for rec in input {
                let rec = rec?;
                *count += 1;
                let (w, path) = &mut files[partition_of(&rec.service_key(), n)];
                serde_json::to_writer(&mut *w, &rec)
                    .map_err(|e| Error::io(&*path, std::io::Error::other(e)))?;
                w.write_all(b"\n").map_err(|e| Error::io(&*path, e))?;
            }
            for (mut w, path) in files {
                w.flush().map_err(|e| Error::io(&path, e))?;
            }
            Ok(())
        };
        spill("before", &mut before.into_iter(), &mut stats.before)?;
        spill("after", &mut after.into_iter(), &mut stats.after)?;
        Ok(PairStream {
            dir,
            partitions: n,
            next_partition: 0,
            current: None,
            stats,
        })
    }
}

struct Partition {
    map: HashMap<ServiceKey, Option<BannerRecord>>,
    after: RecordReader,
    seen_after: std::collections::HashSet<ServiceKey>,
}

/// The pairs of a [`PairJoin`], partition by partition. Call
/// [`stats`](Self::stats) after the stream is exhausted for the full counts.
pub struct PairStream {
    dir: tempfile::TempDir,
    partitions: usize,
    next_partition: usize,
    current: Option<Partition>,
    stats: PairStats,
}

impl std::fmt::Debug for PairStream {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PairStream")
            .field("partitions", &self.partitions)
            .field("next_partition", &self.next_partition)
            .field("stats", &self.stats)
            .finish_non_exhaustive()
    }
}

impl PairStream {
    /// Counts so far (complete once the stream returned `None`).
    pub fn stats(&self) -> PairStats {
        self.stats
    }

    fn open_partition(&mut self, p: usize) -> Result<Partition> {
        let path = self.dir.path().join(format!("before-{p}.jsonl"));
        let mut map = HashMap::new();
        for rec in RecordReader::open(&path, ReadOptions::default().format(crate::Format::Jsonl))? {
            let rec = rec?;
            match map.entry(rec.service_key()) {
                Entry::Occupied(_) => self.stats.duplicate_before += 1,
                Entry::Vacant(v) => {
                    v.insert(Some(rec));
                }
            }
        }
        let after_path = self.dir.path().join(format!("after-{p}.jsonl"));
        let after = RecordReader::open(
            &after_path,
            ReadOptions::default().format(crate::Format::Jsonl),
        )?;
        Ok(Partition {
            map,
            after,
            seen_after: std::collections::HashSet::new(),
        })
    }
}

impl Iterator for PairStream {
    type Item = Result<BannerPair>;

    fn next(&mut self) -> Option<Self::Item> {
        loop {
            if self.current.is_none() {
                if self.next_partition == self.partitions {
                    return None;
                }
                let p = self.next_partition;
                self.next_partition += 1;
                match self.open_partition(p) {
                    Ok(part) => self.current = Some(part),
                    Err(e) => {
                        self.next_partition = self.partitions;
                        return Some(Err(e));
                    }
                }
            }
            let part = self.current.as_mut()?;
            match part.after.next() {
                Some(Ok(rec)) => {
                    let key = rec.service_key();
                    if !part.seen_after.insert(key.clone()) {
                        self.stats.duplicate_after += 1;
                        continue;
                    }
                    match part.map.get_mut(&key).and_then(Option::take) {
                        Some(before) => {
                            self.stats.pairs += 1;
                            return Some(Ok(BannerPair { before, after: rec }));
                        }
                        None => self.stats.only_after += 1,
                    }
                }
                Some(Err(e)) => {
                    self.next_partition = self.partitions;
                    self.current = None;
                    return Some(Err(e));
                }
                None => {
                    self.stats.only_before +=
                        part.map.values().filter(|v| v.is_some()).count() as u64;
                    self.current = None;
                }
            }
        }
    }
}
