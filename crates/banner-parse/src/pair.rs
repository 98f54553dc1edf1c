//! Joining two snapshots on (ip, port, protocol).

use std::collections::HashMap;
use std::collections::hash_map::Entry;
use std::fs::File;
use std::hash::{BuildHasher, BuildHasherDefault, DefaultHasher};
use std::io::{BufReader, BufWriter, Write};
use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::error::{Error, Result};
use crate::labels::{BannerKind, Labeler, PairLabels};
use crate::read::{RecordReader, read_line_limited, trim_line_end};
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
/// both inputs as JSON Lines.
///
/// # Temporary files
///
/// The copies go to a folder `bannerlm-pair-<random>` in the system's
/// temporary directory, or in the folder given with
/// [`temp_dir`](Self::temp_dir). It is removed when the [`PairStream`] is
/// dropped. A killed process cannot remove it, so every join first removes
/// the `bannerlm-pair-*` folders of earlier runs that are no longer in use:
/// each join holds an exclusive lock on a `lock` file in its folder for as
/// long as its stream lives, and a folder whose lock is free and that was
/// not modified in the last minute is a leftover.
///
/// The copies are read back with a line limit that fits the longest line
/// written (a record can grow when re-encoded: control bytes become
/// `\u0001`), so a join never rejects a record its inputs accepted. Errors
/// about the copies ([`Error::Spill`], [`Error::SpillRecord`]) name the original input and the
/// record's line in it.
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
    names: (PathBuf, PathBuf),
}

impl Default for PairJoin {
    fn default() -> Self {
        PairJoin {
            partitions: 64,
            temp_dir: None,
            names: ("<before>".into(), "<after>".into()),
        }
    }
}

fn partition_of(key: &ServiceKey, n: usize) -> usize {
    (BuildHasherDefault::<DefaultHasher>::default().hash_one(key) % n as u64) as usize
}

/// Prefix of the join's temporary folders.
const SPILL_PREFIX: &str = "bannerlm-pair-";
/// A spill folder modified more recently than this is never taken for a leftover.
const STALE_AFTER: Duration = Duration::from_mins(1);

/// Removes the `bannerlm-pair-*` folders in `dir` that no live join holds
/// (see [`PairJoin`]); returns how many were removed. Errors are skipped:
/// a folder that cannot be inspected or removed is left alone.
fn remove_stale_spills(dir: &Path) -> usize {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return 0;
    };
    let mut removed = 0;
    for entry in entries.flatten() {
        if !entry
            .file_name()
            .to_string_lossy()
            .starts_with(SPILL_PREFIX)
        {
            continue;
        }
        // `DirEntry::metadata` does not follow symlinks: only real folders.
        let Ok(meta) = entry.metadata() else { continue };
        if !meta.is_dir() {
            continue;
        }
        let recent = meta
            .modified()
            .ok()
            .and_then(|m| m.elapsed().ok())
            .is_none_or(|age| age < STALE_AFTER);
        if recent {
            continue;
        }
        let path = entry.path();
        let in_use = match File::open(path.join("lock")) {
            Ok(lock) => match lock.try_lock() {
                Ok(()) => false,
                Err(std::fs::TryLockError::WouldBlock) => true,
                Err(std::fs::TryLockError::Error(_)) => continue,
            },
            // No lock file: a folder of an older version, or one whose run was
            // killed before it took the lock (older than STALE_AFTER).
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => false,
            Err(_) => continue,
        };
        if !in_use && std::fs::remove_dir_all(&path).is_ok() {
            removed += 1;
        }
    }
    removed
}

/// One spilled record, `{"o":<line in its input>,"r":<record>}` (the origin
/// is only read back for error messages, see [`spill_origin`]).
#[derive(serde::Deserialize)]
struct SpillLine {
    /// The record.
    r: BannerRecord,
}

/// The origin line of a spill line, read from its fixed prefix, so that even
/// a damaged line names the input record it came from.
fn spill_origin(line: &[u8]) -> Option<u64> {
    let digits = line.strip_prefix(b"{\"o\":")?;
    let end = digits.iter().position(|b| !b.is_ascii_digit())?;
    std::str::from_utf8(&digits[..end]).ok()?.parse().ok()
}

/// One side of the join being spilled.
struct Spill<'a> {
    dir: &'a Path,
    side: &'static str,
    input: &'a Path,
    partitions: usize,
}

impl Spill<'_> {
    fn file(&self, p: usize) -> PathBuf {
        self.dir.join(format!("{}-{p}.jsonl", self.side))
    }

    /// Writes the records to the partition files; returns the count and the
    /// longest line written.
    fn run(
        &self,
        input: &mut dyn Iterator<Item = Result<(BannerRecord, u64)>>,
    ) -> Result<(u64, usize)> {
        let err = |path: &Path, line: Option<u64>, source: std::io::Error| Error::Spill {
            input: self.input.to_path_buf(),
            line,
            spill: path.to_path_buf(),
            source,
        };
        let mut files = Vec::with_capacity(self.partitions);
        for p in 0..self.partitions {
            let path = self.file(p);
            let f = File::create(&path).map_err(|e| err(&path, None, e))?;
            files.push((BufWriter::with_capacity(1 << 15, f), path));
        }
        let (mut count, mut longest) = (0u64, 0usize);
        let mut line = Vec::with_capacity(1024);
        for rec in input {
            let (rec, origin) = rec?;
            count += 1;
            line.clear();
            let (w, path) = &mut files[partition_of(&rec.service_key(), self.partitions)];
            write!(line, "{{\"o\":{origin},\"r\":").map_err(|e| err(path, Some(origin), e))?;
            serde_json::to_writer(&mut line, &rec).map_err(|source| Error::SpillRecord {
                input: self.input.to_path_buf(),
                line: Some(origin),
                spill: path.clone(),
                source,
            })?;
            line.extend_from_slice(b"}\n");
            longest = longest.max(line.len());
            w.write_all(&line).map_err(|e| err(path, Some(origin), e))?;
        }
        for (mut w, path) in files {
            w.flush().map_err(|e| err(&path, None, e))?;
        }
        Ok((count, longest))
    }
}

/// Reads back one spill file.
struct SpillReader {
    input: BufReader<File>,
    path: PathBuf,
    origin: PathBuf,
    limit: usize,
    buf: Vec<u8>,
}

impl SpillReader {
    fn open(path: PathBuf, origin: &Path, limit: usize) -> Result<Self> {
        let file = File::open(&path).map_err(|e| Error::Spill {
            input: origin.to_path_buf(),
            line: None,
            spill: path.clone(),
            source: e,
        })?;
        Ok(SpillReader {
            input: BufReader::with_capacity(1 << 16, file),
            path,
            origin: origin.to_path_buf(),
            limit,
            buf: Vec::new(),
        })
    }

    fn err(&self, line: Option<u64>, source: std::io::Error) -> Error {
        Error::Spill {
            input: self.origin.clone(),
            line,
            spill: self.path.clone(),
            source,
        }
    }
}

impl Iterator for SpillReader {
    type Item = Result<BannerRecord>;

    fn next(&mut self) -> Option<Self::Item> {
        match read_line_limited(&mut self.input, &mut self.buf, self.limit) {
            Ok(None) => None,
            Ok(Some(true)) => Some(Err(self.err(
                None,
                std::io::Error::new(
                    std::io::ErrorKind::InvalidData,
                    format!("a line is longer than the {} bytes written", self.limit),
                ),
            ))),
            Ok(Some(false)) => Some(
                serde_json::from_slice::<SpillLine>(trim_line_end(&self.buf))
                    .map(|s| s.r)
                    .map_err(|source| Error::SpillRecord {
                        input: self.origin.clone(),
                        line: spill_origin(&self.buf),
                        spill: self.path.clone(),
                        source,
                    }),
            ),
            Err(e) => Some(Err(self.err(None, e))),
        }
    }
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

    /// Folder in which the join makes its `bannerlm-pair-*` folder (default:
    /// the system temp directory). Leftovers of killed runs in it are
    /// removed by the next join (see [`PairJoin`]).
    #[must_use]
    pub fn temp_dir(mut self, dir: impl Into<PathBuf>) -> Self {
        self.temp_dir = Some(dir.into());
        self
    }

    /// Names of the two inputs for error messages of [`join`](Self::join)
    /// (default `<before>` and `<after>`); [`join_readers`](Self::join_readers)
    /// uses the readers' file names.
    #[must_use]
    pub fn names(mut self, before: impl Into<PathBuf>, after: impl Into<PathBuf>) -> Self {
        self.names = (before.into(), after.into());
        self
    }

    /// Spills both inputs to partition files and returns the stream of pairs.
    /// Errors about a record name its input (see [`names`](Self::names))
    /// and its 1-based position in it.
    ///
    /// # Errors
    /// The first error of either input (e.g. a bad line), or [`Error::Io`] /
    /// [`Error::Spill`] when the temporary files cannot be made or written.
    pub fn join<A, B>(&self, before: A, after: B) -> Result<PairStream>
    where
        A: IntoIterator<Item = Result<BannerRecord>>,
        B: IntoIterator<Item = Result<BannerRecord>>,
    {
        let number = |(i, r): (usize, Result<BannerRecord>)| r.map(|r| (r, i as u64 + 1));
        self.join_numbered(
            &mut before.into_iter().enumerate().map(number),
            &mut after.into_iter().enumerate().map(number),
            self.names.clone(),
        )
    }

    /// As [`join`](Self::join), reading two [`RecordReader`]s: errors about a
    /// record name its file and line. The readers stay usable afterwards
    /// (for [`bad_lines`](RecordReader::bad_lines)).
    ///
    /// # Errors
    /// As [`join`](Self::join).
    pub fn join_readers(
        &self,
        before: &mut RecordReader,
        after: &mut RecordReader,
    ) -> Result<PairStream> {
        let names = (before.path().to_path_buf(), after.path().to_path_buf());
        let mut b = std::iter::from_fn(|| {
            let r = before.next()?;
            Some(r.map(|r| (r, before.lines_read())))
        });
        let mut a = std::iter::from_fn(|| {
            let r = after.next()?;
            Some(r.map(|r| (r, after.lines_read())))
        });
        self.join_numbered(&mut b, &mut a, names)
    }

    fn join_numbered(
        &self,
        before: &mut dyn Iterator<Item = Result<(BannerRecord, u64)>>,
        after: &mut dyn Iterator<Item = Result<(BannerRecord, u64)>>,
        names: (PathBuf, PathBuf),
    ) -> Result<PairStream> {
        let parent = self.temp_dir.clone().unwrap_or_else(std::env::temp_dir);
        remove_stale_spills(&parent);
        let dir = tempfile::Builder::new()
            .prefix(SPILL_PREFIX)
            .tempdir_in(&parent)
            .map_err(|e| Error::io(&parent, e))?;
        let lock_path = dir.path().join("lock");
        let lock = File::create(&lock_path)
            .and_then(|f| f.try_lock().map_err(std::io::Error::from).map(|()| f))
            .map_err(|e| Error::io(&lock_path, e))?;
        let mut stats = PairStats::default();
        let side = |side, input| Spill {
            dir: dir.path(),
            side,
            input,
            partitions: self.partitions,
        };
        let (n_before, long_before) = side("before", &names.0).run(before)?;
        let (n_after, long_after) = side("after", &names.1).run(after)?;
        stats.before = n_before;
        stats.after = n_after;
        Ok(PairStream {
            _lock: lock,
            dir,
            names,
            line_limit: long_before.max(long_after).max(1),
            partitions: self.partitions,
            next_partition: 0,
            current: None,
            stats,
        })
    }
}

struct Partition {
    map: HashMap<ServiceKey, Option<BannerRecord>>,
    after: SpillReader,
    seen_after: std::collections::HashSet<ServiceKey>,
}

/// The pairs of a [`PairJoin`], partition by partition. Call
/// [`stats`](Self::stats) after the stream is exhausted for the full counts.
/// Dropping it removes the temporary files.
pub struct PairStream {
    /// Held while the stream lives: tells other joins the folder is in use.
    /// Declared first so it is closed before the folder is removed.
    _lock: File,
    dir: tempfile::TempDir,
    names: (PathBuf, PathBuf),
    line_limit: usize,
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
        for rec in SpillReader::open(path, &self.names.0, self.line_limit)? {
            let rec = rec?;
            match map.entry(rec.service_key()) {
                Entry::Occupied(_) => self.stats.duplicate_before += 1,
                Entry::Vacant(v) => {
                    v.insert(Some(rec));
                }
            }
        }
        let after_path = self.dir.path().join(format!("after-{p}.jsonl"));
        let after = SpillReader::open(after_path, &self.names.1, self.line_limit)?;
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::read::{OnBadLine, ReadOptions};

    fn rec(port: u16, banner: &[u8]) -> BannerRecord {
        BannerRecord {
            ip: "192.0.2.1".parse().expect("ip"),
            port,
            snapshot: "s".into(),
            protocol: "telnet".into(),
            banner: banner.to_vec(),
        }
    }

    fn names(dir: &Path) -> Vec<String> {
        let mut v: Vec<String> = std::fs::read_dir(dir)
            .expect("ls")
            .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
            .collect();
        v.sort();
        v
    }

    /// Issue 24, item 9: a record grows when re-encoded (a control byte is
    /// one byte in the banner, six in JSON: `\u0001`). The old join re-read
    /// its spill files with the default 64 MiB line limit, so an 11.2 MB
    /// banner of control bytes (a 15 MB Censys line, accepted) came back as
    /// a 67 MB line and aborted the join with a bad line in a deleted temp
    /// file. The re-read limit now fits what was written.
    #[test]
    fn records_that_grow_on_reencoding_are_read_back() {
        let big = vec![1u8; (64 << 20) / 6 + 1024];
        let dir = tempfile::tempdir().expect("tempdir");
        let mut stream = PairJoin::new()
            .partitions(1)
            .expect("partitions")
            .temp_dir(dir.path())
            .join([Ok(rec(23, &big))], [Ok(rec(23, b"login:"))])
            .expect("join");
        assert!(stream.line_limit > 64 << 20);
        let pairs: Vec<BannerPair> = stream.by_ref().collect::<Result<_>>().expect("pairs");
        assert_eq!(pairs.len(), 1);
        assert_eq!(pairs[0].before.banner.len(), big.len());
        drop(stream);
        assert!(names(dir.path()).is_empty(), "{:?}", names(dir.path()));
    }

    /// Errors about the spill files name the original input and the
    /// record's line in it, not only the temporary file.
    #[test]
    fn spill_errors_name_the_input_file_and_line() {
        let line = |port: u16| {
            let mut l = serde_json::to_vec(&rec(port, b"x")).expect("json");
            l.push(b'\n');
            l
        };
        let before: Vec<u8> = [line(1), line(2)].concat();
        // Line 1 is blank: the record on line 3 is the second one.
        let after: Vec<u8> = [b"\n".to_vec(), line(1), line(2)].concat();
        let opts = ReadOptions::default().on_bad_line(OnBadLine::Skip);
        let mut rb =
            RecordReader::from_reader(std::io::Cursor::new(before), "june.jsonl", opts.clone())
                .expect("open");
        let mut ra = RecordReader::from_reader(std::io::Cursor::new(after), "july.jsonl", opts)
            .expect("open");
        let dir = tempfile::tempdir().expect("tempdir");
        let mut stream = PairJoin::new()
            .partitions(1)
            .expect("partitions")
            .temp_dir(dir.path())
            .join_readers(&mut rb, &mut ra)
            .expect("join");
        // Damage the copy of the record from july.jsonl:3.
        let spill = stream.dir.path().join("after-0.jsonl");
        let text = std::fs::read_to_string(&spill).expect("read");
        assert!(text.starts_with("{\"o\":2,\"r\":{"), "{text}");
        let damaged = text.replace("{\"o\":3,\"r\":{", "{\"o\":3,\"r\":[");
        std::fs::write(&spill, damaged).expect("write");
        let items: Vec<Result<BannerPair>> = stream.by_ref().collect();
        assert_eq!(items.len(), 2);
        match &items[1] {
            Err(Error::SpillRecord {
                input,
                line,
                spill: file,
                ..
            }) => {
                assert_eq!(input, Path::new("july.jsonl"));
                assert_eq!(*line, Some(3));
                assert_eq!(file, &spill);
            }
            other => panic!("expected a spill error, got {other:?}"),
        }
        let msg = items[1].as_ref().expect_err("error").to_string();
        assert!(
            msg.starts_with("pairing july.jsonl:3: temporary spill file "),
            "{msg}"
        );
    }

    fn age(path: &Path) {
        let old = std::time::SystemTime::now() - Duration::from_hours(1);
        File::open(path)
            .and_then(|f| f.set_modified(old))
            .expect("set mtime");
    }

    /// Issue 24, item 9: a killed run left its `bannerlm-pair-*` copies of
    /// both inputs behind forever. The next join removes the folders no live
    /// join holds, and only those.
    #[test]
    fn leftovers_of_killed_runs_are_removed() {
        let parent = tempfile::tempdir().expect("tempdir");
        let p = parent.path();
        // A killed run: lock file present but unlocked, old.
        let killed = p.join("bannerlm-pair-killed");
        std::fs::create_dir(&killed).expect("mkdir");
        std::fs::write(killed.join("lock"), b"").expect("lock");
        std::fs::write(killed.join("before-0.jsonl"), b"{}\n").expect("spill");
        age(&killed);
        // An older version's folder without a lock file, old.
        let legacy = p.join("bannerlm-pair-legacy");
        std::fs::create_dir(&legacy).expect("mkdir");
        age(&legacy);
        // A folder made a moment ago (its run may not have locked it yet).
        std::fs::create_dir(p.join("bannerlm-pair-fresh")).expect("mkdir");
        // Not ours.
        std::fs::create_dir(p.join("other-folder")).expect("mkdir");
        age(&p.join("other-folder"));
        std::fs::write(p.join("bannerlm-pair-file"), b"").expect("file");
        age(&p.join("bannerlm-pair-file"));

        let join = PairJoin::new()
            .partitions(2)
            .expect("partitions")
            .temp_dir(p);
        let live = join
            .join([Ok(rec(1, b"a"))], [Ok(rec(1, b"b"))])
            .expect("join");
        let left = names(p);
        assert!(
            !left.contains(&"bannerlm-pair-killed".to_string()),
            "{left:?}"
        );
        assert!(
            !left.contains(&"bannerlm-pair-legacy".to_string()),
            "{left:?}"
        );
        for kept in ["bannerlm-pair-fresh", "other-folder", "bannerlm-pair-file"] {
            assert!(left.contains(&kept.to_string()), "{kept} removed: {left:?}");
        }
        // A live join's folder, aged: held by its lock, so the next join keeps it.
        let live_dir = live.dir.path().to_path_buf();
        age(&live_dir);
        let mut second = join
            .join([Ok(rec(1, b"a"))], [Ok(rec(1, b"b"))])
            .expect("join");
        assert_eq!(second.by_ref().count(), 1);
        assert!(live_dir.is_dir(), "a live join's folder was removed");
        drop(second);
        drop(live);
        assert!(!live_dir.exists());
        assert_eq!(remove_stale_spills(p), 0);
    }
}
