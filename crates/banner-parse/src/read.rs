//! Streaming readers for banner records: bannerlm JSONL, zgrab2 HTTP output,
//! Censys BigQuery JSON exports and plain text, plain or gzip-compressed.

use std::fs::File;
use std::io::{BufRead, BufReader, Read};
use std::net::{IpAddr, Ipv4Addr};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use base64::Engine as _;
use serde_json::Value;

use crate::error::{BadLineKind, Error, Result};
use crate::record::BannerRecord;

/// The format of an input file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
#[non_exhaustive]
pub enum Format {
    /// Decide from the first non-empty line: bannerlm JSONL, zgrab2 or Censys.
    /// Plain text is never guessed; ask for [`Format::Text`] explicitly.
    #[default]
    Auto,
    /// bannerlm's banner-record JSON Lines (see [`BannerRecord`]).
    Jsonl,
    /// zgrab2 output of the `http` module, one JSON object per line.
    Zgrab2Http,
    /// Censys BigQuery JSON export rows (`host_identifier`, `port`,
    /// `service_name`, base64 `banner`, `observed_at`).
    Censys,
    /// One banner per line, with C-style escapes decoded (`\r`, `\n`, `\t`,
    /// `\\`, `\xNN`); ip `0.0.0.0` and port/snapshot/protocol from the
    /// [`ReadOptions`]. For matching or embedding single banners, not pairing.
    Text,
}

/// What a reader does with a line it cannot turn into a record.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum OnBadLine {
    /// Yield an [`Error::BadLine`] and stop reading.
    #[default]
    Fail,
    /// Skip the line, count it and keep its report (see [`RecordReader::bad_lines`]).
    Skip,
}

/// A line that was skipped, with the reason.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BadLine {
    /// The file it came from.
    pub path: PathBuf,
    /// 1-based line number.
    pub line: u64,
    /// Why it was rejected.
    pub kind: BadLineKind,
}

impl std::fmt::Display for BadLine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}:{}: {}", self.path.display(), self.line, self.kind)
    }
}

/// Options of a [`RecordReader`]. `Default` reads any supported JSON format
/// and fails on the first bad line.
///
/// ```
/// use banner_parse::{Format, OnBadLine, ReadOptions};
/// let opts = ReadOptions::default()
///     .format(Format::Zgrab2Http)
///     .on_bad_line(OnBadLine::Skip)
///     .port(8080)
///     .snapshot("2023-07-04");
/// # let _ = opts;
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ReadOptions {
    format: Format,
    on_bad_line: OnBadLine,
    snapshot: Option<String>,
    port: Option<u16>,
    protocol: Option<String>,
    max_kept_bad_lines: Option<usize>,
    max_line_bytes: Option<usize>,
    drop_truncated: bool,
    skip_empty: bool,
}

impl ReadOptions {
    /// The input format (default [`Format::Auto`]).
    #[must_use]
    pub fn format(mut self, format: Format) -> Self {
        self.format = format;
        self
    }
    /// What to do with bad lines (default [`OnBadLine::Fail`]).
    #[must_use]
    pub fn on_bad_line(mut self, on_bad_line: OnBadLine) -> Self {
        self.on_bad_line = on_bad_line;
        self
    }
    /// Snapshot name for records whose format lacks one (zgrab2 without a
    /// timestamp, text), or to override it for every record.
    #[must_use]
    pub fn snapshot(mut self, snapshot: impl Into<String>) -> Self {
        self.snapshot = Some(snapshot.into());
        self
    }
    /// Port for formats without one (zgrab2 default 80, text default 0).
    #[must_use]
    pub fn port(mut self, port: u16) -> Self {
        self.port = Some(port);
        self
    }
    /// Protocol for text input (default `http`).
    #[must_use]
    pub fn protocol(mut self, protocol: impl Into<String>) -> Self {
        self.protocol = Some(protocol.into());
        self
    }
    /// Longest accepted line in bytes (default 64 MiB). A longer line is a bad
    /// line ([`BadLineKind::LineTooLong`]) and is drained without being held
    /// in memory, so one missing newline cannot exhaust memory. The same
    /// limit bounds a banner that a record expands into (zgrab2's `headers`
    /// map is rebuilt into header lines): a longer one is a bad line
    /// ([`BadLineKind::BannerTooLong`]), and no record this reader yields
    /// has a banner longer than the limit.
    #[must_use]
    pub fn max_line_bytes(mut self, n: usize) -> Self {
        self.max_line_bytes = Some(n);
        self
    }
    /// How many skipped lines are kept in full (default 10,000); all are counted.
    #[must_use]
    pub fn max_kept_bad_lines(mut self, n: usize) -> Self {
        self.max_kept_bad_lines = Some(n);
        self
    }
    /// Drop Censys rows flagged `"truncated": true` (the scanner cut the
    /// banner short), as the paper did; they are counted
    /// ([`RecordReader::truncated_dropped`]), not yielded. Default `false`:
    /// every row is yielded. Other formats carry no such flag.
    #[must_use]
    pub fn drop_truncated(mut self, yes: bool) -> Self {
        self.drop_truncated = yes;
        self
    }
    /// Skip records whose banner is empty (a service that answered nothing):
    /// they are counted ([`RecordReader::empty_skipped`]), not yielded.
    /// Default `false`.
    #[must_use]
    pub fn skip_empty(mut self, yes: bool) -> Self {
        self.skip_empty = yes;
        self
    }
}

/// Streams [`BannerRecord`]s from a file, stdin or any reader, in constant
/// memory (one line at a time). Gzip input is detected by its magic bytes.
///
/// # The iteration contract
///
/// - Every non-blank line is accounted for: it is either yielded as a record
///   ([`record_count`](Self::record_count)), counted as dropped or skipped
///   when [`ReadOptions::drop_truncated`] or [`ReadOptions::skip_empty`]
///   ask for it ([`truncated_dropped`](Self::truncated_dropped),
///   [`empty_skipped`](Self::empty_skipped)), or, under [`OnBadLine::Skip`],
///   counted as a bad line ([`bad_line_count`](Self::bad_line_count)).
/// - An `Err` item **ends the iteration**: every later call of `next` returns
///   `None`. It is one of
///   - [`Error::BadLine`] (file and line) under [`OnBadLine::Fail`];
///   - [`Error::Io`] (file) when reading the source fails;
///   - [`Error::Gzip`] (file and compressed byte offset) when the input
///     starts with the gzip magic bytes `1f 8b` but is not valid gzip
///     (corrupt, truncated, or followed by bytes that are not another gzip
///     member). The records decoded before the bad spot have been yielded.
///
///   So an `Err` is never a line to skip: code that drops errors
///   (`flatten()`, `filter_map(Result::ok)`) silently loses the rest of the
///   file. Even under [`OnBadLine::Skip`], check for `Err`.
///
/// ```no_run
/// use banner_parse::{OnBadLine, ReadOptions, RecordReader};
///
/// let mut reader = RecordReader::open(
///     "snapshot-2023-07.jsonl.gz",
///     ReadOptions::default().on_bad_line(OnBadLine::Skip),
/// )?;
/// for record in &mut reader {
///     let record = record?;
///     println!("{}", record.key());
/// }
/// for bad in reader.bad_lines() {
///     eprintln!("skipped {bad}");
/// }
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct RecordReader {
    input: Box<dyn BufRead + Send>,
    /// Compressed-byte counter when the input is gzip.
    gzip: Option<Arc<GzipProgress>>,
    path: PathBuf,
    opts: ReadOptions,
    format: Format,
    line_no: u64,
    buf: Vec<u8>,
    bad: Vec<BadLine>,
    bad_count: u64,
    records: u64,
    truncated_dropped: u64,
    empty_skipped: u64,
    /// Whether the line just parsed was a Censys row flagged `truncated`.
    line_truncated: bool,
    done: bool,
}

impl std::fmt::Debug for RecordReader {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RecordReader")
            .field("path", &self.path)
            .field("format", &self.format)
            .field("line", &self.line_no)
            .finish_non_exhaustive()
    }
}

const GZIP_MAGIC: [u8; 2] = [0x1f, 0x8b];

/// What a gzip decoder has consumed of its compressed source, shared between
/// the [`CountingReader`] under the decoder and the [`RecordReader`] on top.
#[derive(Debug, Default)]
struct GzipProgress {
    /// Compressed bytes consumed by the decoder.
    consumed: AtomicU64,
    /// Whether the source itself (not the decoder) failed.
    source_failed: AtomicBool,
}

/// A `BufRead` that counts the bytes its user consumes and records whether
/// the source failed, so that a decoder error can be told apart from an
/// I/O error and located in the compressed file.
struct CountingReader<R> {
    inner: R,
    progress: Arc<GzipProgress>,
}

impl<R: BufRead> Read for CountingReader<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = {
            let available = self.fill_buf()?;
            let n = available.len().min(buf.len());
            buf[..n].copy_from_slice(&available[..n]);
            n
        };
        self.consume(n);
        Ok(n)
    }
}

impl<R: BufRead> BufRead for CountingReader<R> {
    fn fill_buf(&mut self) -> std::io::Result<&[u8]> {
        match self.inner.fill_buf() {
            Ok(b) => Ok(b),
            Err(e) => {
                if e.kind() != std::io::ErrorKind::Interrupted {
                    self.progress.source_failed.store(true, Ordering::Relaxed);
                }
                Err(e)
            }
        }
    }

    fn consume(&mut self, amt: usize) {
        self.inner.consume(amt);
        self.progress
            .consumed
            .fetch_add(u64::try_from(amt).unwrap_or(u64::MAX), Ordering::Relaxed);
    }
}

impl RecordReader {
    /// Opens `path` (`-` for stdin); gzip is detected from the content.
    ///
    /// # Errors
    /// [`Error::Io`] when the file cannot be opened or read.
    pub fn open(path: impl AsRef<Path>, opts: ReadOptions) -> Result<Self> {
        let path = path.as_ref();
        if path.as_os_str() == "-" {
            return Self::from_reader(std::io::stdin(), "<stdin>", opts);
        }
        let file = File::open(path).map_err(|e| Error::io(path, e))?;
        Self::from_reader(file, path, opts)
    }

    /// Reads from any byte source; `name` is used in error reports. Input
    /// that starts with the gzip magic bytes is decompressed (all members of
    /// a multi-member file); see the type's docs for what a corrupt stream
    /// yields.
    ///
    /// # Errors
    /// [`Error::Io`] when the first bytes cannot be read.
    pub fn from_reader(
        reader: impl Read + Send + 'static,
        name: impl Into<PathBuf>,
        opts: ReadOptions,
    ) -> Result<Self> {
        let path = name.into();
        let mut buffered = BufReader::with_capacity(1 << 16, reader);
        let head = buffered.fill_buf().map_err(|e| Error::io(&path, e))?;
        let (input, gzip): (Box<dyn BufRead + Send>, _) = if head.starts_with(&GZIP_MAGIC) {
            let progress = Arc::new(GzipProgress::default());
            let counted = CountingReader {
                inner: buffered,
                progress: Arc::clone(&progress),
            };
            (
                Box::new(BufReader::with_capacity(
                    1 << 16,
                    flate2::bufread::MultiGzDecoder::new(counted),
                )),
                Some(progress),
            )
        } else {
            (Box::new(buffered), None)
        };
        Ok(RecordReader {
            input,
            gzip,
            path,
            format: opts.format,
            opts,
            line_no: 0,
            buf: Vec::with_capacity(4096),
            bad: Vec::new(),
            bad_count: 0,
            records: 0,
            truncated_dropped: 0,
            empty_skipped: 0,
            line_truncated: false,
            done: false,
        })
    }

    /// The name errors and bad-line reports give for this input: the path
    /// given to [`open`](Self::open), `<stdin>`, or the `name` given to
    /// [`from_reader`](Self::from_reader).
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The format in use (resolved once the first line was read under [`Format::Auto`]).
    pub fn format(&self) -> Format {
        self.format
    }

    /// The skipped lines kept so far (at most `max_kept_bad_lines`).
    pub fn bad_lines(&self) -> &[BadLine] {
        &self.bad
    }

    /// How many lines were skipped so far (all of them, kept or not).
    pub fn bad_line_count(&self) -> u64 {
        self.bad_count
    }

    /// How many records were yielded so far.
    pub fn record_count(&self) -> u64 {
        self.records
    }

    /// How many Censys rows flagged `truncated` were dropped so far
    /// ([`ReadOptions::drop_truncated`]).
    pub fn truncated_dropped(&self) -> u64 {
        self.truncated_dropped
    }

    /// How many records with an empty banner were skipped so far
    /// ([`ReadOptions::skip_empty`]).
    pub fn empty_skipped(&self) -> u64 {
        self.empty_skipped
    }

    /// Lines read so far (after a record was yielded: the record's line).
    pub fn lines_read(&self) -> u64 {
        self.line_no
    }

    /// The error for a failed read: [`Error::Gzip`] when the gzip decoder
    /// (not the source under it) failed, else [`Error::Io`].
    fn read_error(&self, e: std::io::Error) -> Error {
        match &self.gzip {
            Some(progress) if !progress.source_failed.load(Ordering::Relaxed) => Error::Gzip {
                path: self.path.clone(),
                offset: progress.consumed.load(Ordering::Relaxed),
                source: e,
            },
            _ => Error::io(&self.path, e),
        }
    }

    fn line_limit(&self) -> usize {
        self.opts.max_line_bytes.unwrap_or(DEFAULT_MAX_LINE)
    }

    fn parse_line(&mut self) -> std::result::Result<BannerRecord, BadLineKind> {
        let line = trim_line_end(&self.buf);
        self.line_truncated = false;
        if self.format == Format::Auto {
            self.format = detect(line)?;
        }
        match self.format {
            Format::Jsonl | Format::Auto => serde_json::from_slice::<BannerRecord>(line)
                .map_err(|e| BadLineKind::Json(untrusted(&e)))
                .map(|mut r| {
                    if let Some(s) = &self.opts.snapshot {
                        r.snapshot.clone_from(s);
                    }
                    r
                }),
            Format::Zgrab2Http => parse_zgrab2(line, &self.opts, self.line_limit()),
            Format::Censys => parse_censys(line, &self.opts).map(|(r, truncated)| {
                self.line_truncated = truncated;
                r
            }),
            Format::Text => Ok(BannerRecord {
                ip: IpAddr::V4(Ipv4Addr::UNSPECIFIED),
                port: self.opts.port.unwrap_or(0),
                snapshot: self.opts.snapshot.clone().unwrap_or_default(),
                protocol: self.opts.protocol.clone().unwrap_or_else(|| "http".into()),
                banner: unescape(line),
            }),
        }
    }
}

/// Default of [`ReadOptions::max_line_bytes`]: 64 MiB.
pub(crate) const DEFAULT_MAX_LINE: usize = 64 << 20;

/// Reads one line into `buf` (cleared first), keeping at most `limit` bytes.
/// Returns `None` at end of input, else whether the line was longer than
/// `limit` (its remainder is consumed and dropped).
pub(crate) fn read_line_limited(
    input: &mut dyn BufRead,
    buf: &mut Vec<u8>,
    limit: usize,
) -> std::io::Result<Option<bool>> {
    buf.clear();
    let mut read_any = false;
    let mut too_long = false;
    loop {
        let chunk = match input.fill_buf() {
            Ok(c) => c,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        if chunk.is_empty() {
            return Ok(read_any.then_some(too_long));
        }
        read_any = true;
        let (take, done) = match memchr::memchr(b'\n', chunk) {
            Some(i) => (i + 1, true),
            None => (chunk.len(), false),
        };
        if !too_long {
            if buf.len().saturating_add(take) > limit.saturating_add(1) {
                too_long = true;
                buf.clear();
            } else {
                buf.extend_from_slice(&chunk[..take]);
            }
        }
        input.consume(take);
        if done {
            return Ok(Some(too_long));
        }
    }
}

pub(crate) fn trim_line_end(buf: &[u8]) -> &[u8] {
    let mut s = buf;
    if let [rest @ .., b'\n'] = s {
        s = rest;
    }
    if let [rest @ .., b'\r'] = s {
        s = rest;
    }
    s
}

fn is_blank(line: &[u8]) -> bool {
    line.iter().all(u8::is_ascii_whitespace)
}

impl Iterator for RecordReader {
    type Item = Result<BannerRecord>;

    fn next(&mut self) -> Option<Self::Item> {
        while !self.done {
            self.buf.clear();
            let limit = self.line_limit();
            let too_long = match read_line_limited(&mut self.input, &mut self.buf, limit) {
                Ok(None) => {
                    self.done = true;
                    return None;
                }
                Ok(Some(too_long)) => too_long,
                Err(e) => {
                    self.done = true;
                    return Some(Err(self.read_error(e)));
                }
            };
            self.line_no += 1;
            if !too_long && is_blank(&self.buf) {
                continue;
            }
            let parsed = if too_long {
                Err(BadLineKind::LineTooLong(limit))
            } else {
                self.parse_line()
            };
            match parsed {
                Ok(_) if self.opts.drop_truncated && self.line_truncated => {
                    self.truncated_dropped += 1;
                }
                Ok(rec) if self.opts.skip_empty && rec.banner.is_empty() => {
                    self.empty_skipped += 1;
                }
                Ok(rec) => {
                    self.records += 1;
                    return Some(Ok(rec));
                }
                Err(kind) => match self.opts.on_bad_line {
                    OnBadLine::Fail => {
                        self.done = true;
                        return Some(Err(Error::BadLine {
                            path: self.path.clone(),
                            line: self.line_no,
                            kind,
                        }));
                    }
                    OnBadLine::Skip => {
                        self.bad_count += 1;
                        if self.bad.len() < self.opts.max_kept_bad_lines.unwrap_or(10_000) {
                            self.bad.push(BadLine {
                                path: self.path.clone(),
                                line: self.line_no,
                                kind,
                            });
                        }
                    }
                },
            }
        }
        None
    }
}

/// Bad-line messages quote input (JSON errors quote strings, zgrab2 status
/// and error fields): escaped where they are made, so no control or bidi
/// character reaches a terminal or log through them.
fn untrusted(msg: &(impl std::fmt::Display + ?Sized)) -> String {
    bannerlm_base::escape_str(&msg.to_string())
}

fn detect(line: &[u8]) -> std::result::Result<Format, BadLineKind> {
    let v: Value = serde_json::from_slice(line).map_err(|e| {
        BadLineKind::Json(format!(
            "{} (cannot detect the format from this line; text input needs Format::Text)",
            untrusted(&e)
        ))
    })?;
    if v.get("banner").is_some() && v.get("ip").is_some() {
        Ok(Format::Jsonl)
    } else if v.get("host_identifier").is_some() {
        Ok(Format::Censys)
    } else if v.pointer("/data/http").is_some() {
        Ok(Format::Zgrab2Http)
    } else {
        Err(BadLineKind::InvalidField {
            field: "<record>",
            reason: "unknown record shape: expected a banner record (ip, banner), zgrab2 \
                     (data.http) or Censys export (host_identifier)"
                .into(),
        })
    }
}

fn parse_ip(v: Option<&Value>, field: &'static str) -> std::result::Result<IpAddr, BadLineKind> {
    let s = v
        .and_then(Value::as_str)
        .ok_or(BadLineKind::MissingField(field))?;
    s.parse().map_err(|e| BadLineKind::InvalidField {
        field,
        reason: format!("{e}: \"{}\"", bannerlm_base::Escaped(s.as_bytes())),
    })
}

fn date_of(ts: &str) -> Option<String> {
    let d = ts.get(..10)?;
    let ok = d.bytes().enumerate().all(|(i, c)| {
        if i == 4 || i == 7 {
            c == b'-'
        } else {
            c.is_ascii_digit()
        }
    });
    ok.then(|| d.to_string())
}

/// `content_type` -> `Content-Type` (zgrab2 lowercases names and maps `-` to `_`).
fn zgrab_header_name(key: &str) -> String {
    key.split('_')
        .map(|part| {
            let mut c = part.chars();
            match c.next() {
                Some(first) => first.to_ascii_uppercase().to_string() + c.as_str(),
                None => String::new(),
            }
        })
        .collect::<Vec<_>>()
        .join("-")
}

/// The string values of a zgrab2 header (a string or an array of strings;
/// other elements are ignored).
fn string_values(v: &Value) -> impl Iterator<Item = &str> {
    let (one, many) = match v {
        Value::String(s) => (Some(s.as_str()), None),
        Value::Array(a) => (None, Some(a.iter().filter_map(Value::as_str))),
        _ => (None, None),
    };
    one.into_iter().chain(many.into_iter().flatten())
}

/// A banner rebuilt from parts, refusing to grow beyond `limit` bytes. In
/// a first, measuring pass (`out` is `None`) it only adds up the length, so
/// a record that would pass the limit is refused before anything is
/// allocated, and one that fits is built with a single allocation.
struct BoundedBanner {
    out: Option<Vec<u8>>,
    len: usize,
    limit: usize,
}

impl BoundedBanner {
    fn push(&mut self, parts: &[&[u8]]) -> std::result::Result<(), BadLineKind> {
        self.len = parts
            .iter()
            .try_fold(self.len, |n, p| n.checked_add(p.len()))
            .filter(|&n| n <= self.limit)
            .ok_or(BadLineKind::BannerTooLong(self.limit))?;
        if let Some(out) = &mut self.out {
            for p in parts {
                out.extend_from_slice(p);
            }
        }
        Ok(())
    }

    /// Appends the header line `name: value\r\n`.
    fn header(&mut self, name: &str, value: &str) -> std::result::Result<(), BadLineKind> {
        self.push(&[name.as_bytes(), b": ", value.as_bytes(), b"\r\n"])
    }
}

/// Rebuilds a zgrab2 response head from its status line and `headers` map.
fn rebuild_zgrab2(
    out: &mut BoundedBanner,
    proto: &str,
    status_line: &str,
    response: &Value,
) -> std::result::Result<(), BadLineKind> {
    out.push(&[proto.as_bytes(), b" ", status_line.as_bytes(), b"\r\n"])?;
    if let Some(Value::Object(headers)) = response.get("headers") {
        for (key, value) in headers {
            if key == "unknown" {
                if let Value::Array(items) = value {
                    for item in items {
                        let name = item.get("key").and_then(Value::as_str).unwrap_or("");
                        for v in item.get("value").into_iter().flat_map(string_values) {
                            out.header(name, v)?;
                        }
                    }
                }
                continue;
            }
            let name = zgrab_header_name(key);
            for v in string_values(value) {
                out.header(&name, v)?;
            }
        }
    }
    Ok(())
}

fn parse_zgrab2(
    line: &[u8],
    opts: &ReadOptions,
    limit: usize,
) -> std::result::Result<BannerRecord, BadLineKind> {
    let v: Value = serde_json::from_slice(line).map_err(|e| BadLineKind::Json(untrusted(&e)))?;
    let ip = parse_ip(v.get("ip"), "ip")?;
    let http = v
        .pointer("/data/http")
        .ok_or(BadLineKind::MissingField("data.http"))?;
    let response = http.pointer("/result/response").ok_or_else(|| {
        let status = http
            .get("status")
            .and_then(Value::as_str)
            .unwrap_or("unknown");
        let error = http.get("error").and_then(Value::as_str).unwrap_or("");
        BadLineKind::NoBanner(untrusted(format!("zgrab2 status {status} {error}").trim()))
    })?;
    let snapshot = opts
        .snapshot
        .clone()
        .or_else(|| {
            http.get("timestamp")
                .and_then(Value::as_str)
                .and_then(date_of)
        })
        .unwrap_or_default();
    let port = opts
        .port
        .or_else(|| {
            let host = response.pointer("/request/url/host")?.as_str()?;
            host.rsplit_once(':')?.1.parse().ok()
        })
        .unwrap_or(80);
    let protocol = response
        .pointer("/request/url/scheme")
        .and_then(Value::as_str)
        .unwrap_or("http")
        .to_ascii_lowercase();
    let banner = if let Some(raw) = response.get("headers_raw").and_then(Value::as_str) {
        base64::engine::general_purpose::STANDARD
            .decode(raw.as_bytes())
            .map_err(|e| BadLineKind::InvalidField {
                field: "data.http.result.response.headers_raw",
                reason: format!("invalid base64: {e}"),
            })?
    } else {
        let proto = response
            .pointer("/protocol/name")
            .and_then(Value::as_str)
            .unwrap_or("HTTP/1.1");
        let status_line = response.get("status_line").and_then(Value::as_str).ok_or(
            BadLineKind::MissingField("data.http.result.response.status_line"),
        )?;
        // The headers map can expand: one long name with many empty values
        // becomes many copies of the name. The rebuild is bounded by the
        // line limit: measured first (stopping as soon as it would pass
        // the limit), then built.
        let mut measure = BoundedBanner {
            out: None,
            len: 0,
            limit,
        };
        rebuild_zgrab2(&mut measure, proto, status_line, response)?;
        let mut out = BoundedBanner {
            out: Some(Vec::with_capacity(measure.len)),
            len: 0,
            limit,
        };
        rebuild_zgrab2(&mut out, proto, status_line, response)?;
        out.out.unwrap_or_default()
    };
    Ok(BannerRecord {
        ip,
        port,
        snapshot,
        protocol,
        banner,
    })
}

/// A Censys row and whether it is flagged `truncated` (`true` or `"true"`).
fn parse_censys(
    line: &[u8],
    opts: &ReadOptions,
) -> std::result::Result<(BannerRecord, bool), BadLineKind> {
    let v: Value = serde_json::from_slice(line).map_err(|e| BadLineKind::Json(untrusted(&e)))?;
    let host = v
        .get("host_identifier")
        .ok_or(BadLineKind::MissingField("host_identifier"))?;
    let ip = match host {
        Value::String(_) => parse_ip(Some(host), "host_identifier")?,
        Value::Object(_) => host
            .get("ipv4")
            .filter(|x| !x.is_null())
            .or_else(|| host.get("ipv6").filter(|x| !x.is_null()))
            .map_or(
                Err(BadLineKind::MissingField("host_identifier.ipv4")),
                |x| parse_ip(Some(x), "host_identifier.ipv4"),
            )?,
        _ => {
            return Err(BadLineKind::InvalidField {
                field: "host_identifier",
                reason: "expected a string or an object with ipv4/ipv6".into(),
            });
        }
    };
    let port = match v.get("port") {
        Some(Value::Number(n)) => n.as_u64(),
        Some(Value::String(s)) => s.parse().ok(),
        _ => return Err(BadLineKind::MissingField("port")),
    }
    .and_then(|p| u16::try_from(p).ok())
    .ok_or_else(|| BadLineKind::InvalidField {
        field: "port",
        reason: "not a port number".into(),
    })?;
    let protocol = v
        .get("service_name")
        .and_then(Value::as_str)
        .ok_or(BadLineKind::MissingField("service_name"))?
        .to_ascii_lowercase();
    let b64 = v
        .get("banner")
        .and_then(Value::as_str)
        .ok_or(BadLineKind::MissingField("banner"))?;
    let banner = base64::engine::general_purpose::STANDARD
        .decode(b64.as_bytes())
        .map_err(|e| BadLineKind::InvalidField {
            field: "banner",
            reason: format!("invalid base64: {e}"),
        })?;
    let snapshot = opts
        .snapshot
        .clone()
        .or_else(|| {
            v.get("observed_at")
                .and_then(Value::as_str)
                .and_then(date_of)
        })
        .or_else(|| {
            v.get("snapshot_date")
                .and_then(Value::as_str)
                .and_then(date_of)
        })
        .unwrap_or_default();
    let truncated = match v.get("truncated") {
        Some(Value::Bool(t)) => *t,
        Some(Value::String(t)) => t.eq_ignore_ascii_case("true"),
        _ => false,
    };
    Ok((
        BannerRecord {
            ip,
            port,
            snapshot,
            protocol,
            banner,
        },
        truncated,
    ))
}

/// Decodes C-style escapes (`\r \n \t \0 \\ \xNN`); unknown escapes stay as written.
fn unescape(line: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(line.len());
    let mut i = 0;
    while i < line.len() {
        if line[i] == b'\\' && i + 1 < line.len() {
            let decoded = match line[i + 1] {
                b'r' => Some((b'\r', 2)),
                b'n' => Some((b'\n', 2)),
                b't' => Some((b'\t', 2)),
                b'0' => Some((0, 2)),
                b'\\' => Some((b'\\', 2)),
                b'x' if i + 4 <= line.len() => std::str::from_utf8(&line[i + 2..i + 4])
                    .ok()
                    .and_then(|h| u8::from_str_radix(h, 16).ok())
                    .map(|b| (b, 4)),
                _ => None,
            };
            if let Some((b, n)) = decoded {
                out.push(b);
                i += n;
                continue;
            }
        }
        out.push(line[i]);
        i += 1;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read_all(data: &'static [u8], opts: ReadOptions) -> (Vec<BannerRecord>, RecordReader) {
        let mut r = RecordReader::from_reader(data, "<memory>", opts).expect("open");
        let recs: Vec<_> = r.by_ref().collect::<Result<_>>().expect("records");
        (recs, r)
    }

    #[test]
    fn zgrab_headers_map() {
        let line = br#"{"ip":"192.0.2.1","data":{"http":{"status":"success","protocol":"http","timestamp":"2023-07-04T10:00:00Z","result":{"response":{"status_line":"200 OK","protocol":{"name":"HTTP/1.1"},"headers":{"server":["nginx"],"content_type":["text/html"],"unknown":[{"key":"X-Thing","value":["1"]}]}}}}}}"#;
        let (recs, _) = read_all(line, ReadOptions::default());
        assert_eq!(recs[0].snapshot, "2023-07-04");
        assert_eq!(
            recs[0].banner,
            b"HTTP/1.1 200 OK\r\nServer: nginx\r\nContent-Type: text/html\r\nX-Thing: 1\r\n"
        );
    }

    #[test]
    fn censys_base64_latin1() {
        let line = br#"{"host_identifier":{"ipv4":"192.0.2.9"},"port":"8080","service_name":"HTTP","banner":"SFRUUC8xLjEgMjAwIE9LDQpTZXJ2ZXI6IP8NCg==","truncated":false,"observed_at":"2023-08-01 12:00:00 UTC"}"#;
        let (recs, _) = read_all(line, ReadOptions::default());
        assert_eq!(recs[0].port, 8080);
        assert_eq!(recs[0].protocol, "http");
        assert_eq!(recs[0].banner, b"HTTP/1.1 200 OK\r\nServer: \xff\r\n");
        assert_eq!(recs[0].snapshot, "2023-08-01");
    }

    /// Censys rows flagged `truncated` are dropped and counted on request;
    /// empty banners are skipped and counted on request; by default every
    /// row is yielded.
    #[test]
    fn censys_truncated_and_empty_rows_are_counted() {
        let row = |ip: &str, b64: &str, truncated: &str| {
            format!(
                r#"{{"host_identifier":{{"ipv4":"{ip}"}},"port":22,"service_name":"SSH","banner":"{b64}","truncated":{truncated},"observed_at":"2023-08-01 12:00:00 UTC"}}"#
            )
        };
        let text = [
            row("192.0.2.1", "U1NILTIuMC1Hbw==", "false"),
            row("192.0.2.2", "U1NILTIuMC1Hbw==", "true"),
            row("192.0.2.3", "", "false"),
            row("192.0.2.4", "U1NILTIuMC1Hbw==", "\"true\""),
            row("192.0.2.5", "", "true"),
        ]
        .join("\n");
        let read = |opts: ReadOptions| {
            let mut r = RecordReader::from_reader(
                std::io::Cursor::new(text.clone().into_bytes()),
                "<t>",
                opts,
            )
            .expect("reader");
            let ips: Vec<String> = r
                .by_ref()
                .map(|x| x.expect("record").ip.to_string())
                .collect();
            (
                ips,
                r.truncated_dropped(),
                r.empty_skipped(),
                r.record_count(),
            )
        };
        let (all, t, e, n) = read(ReadOptions::default());
        assert_eq!((all.len(), t, e, n), (5, 0, 0, 5));
        let (kept, t, e, n) = read(ReadOptions::default().drop_truncated(true).skip_empty(true));
        assert_eq!(kept, ["192.0.2.1"]);
        // The truncated empty row counts as truncated (checked first).
        assert_eq!((t, e, n), (3, 1, 1));
        let (kept, t, e, _) = read(ReadOptions::default().skip_empty(true));
        assert_eq!(kept, ["192.0.2.1", "192.0.2.2", "192.0.2.4"]);
        assert_eq!((t, e), (0, 2));
    }

    #[test]
    fn text_unescape() {
        let (recs, _) = read_all(
            b"HTTP/1.0 200 OK\\r\\nServer: a\\x00\\\\\n",
            ReadOptions::default().format(Format::Text),
        );
        assert_eq!(recs[0].banner, b"HTTP/1.0 200 OK\r\nServer: a\x00\\");
    }

    #[test]
    fn overlong_line_is_reported_not_buffered() {
        let mut data =
            br#"{"ip":"192.0.2.1","port":80,"snapshot":"s","protocol":"http","banner":""#.to_vec();
        data.extend(std::iter::repeat_n(b'a', 5000));
        data.extend_from_slice(b"\"}\n");
        data.extend_from_slice(
            br#"{"ip":"192.0.2.2","port":80,"snapshot":"s","protocol":"http","banner":"ok"}"#,
        );
        let opts = ReadOptions::default()
            .on_bad_line(OnBadLine::Skip)
            .max_line_bytes(1000);
        let mut r =
            RecordReader::from_reader(std::io::Cursor::new(data), "big", opts).expect("open");
        let recs: Vec<_> = r.by_ref().collect::<Result<_>>().expect("records");
        assert_eq!(recs.len(), 1);
        assert_eq!(recs[0].banner, b"ok");
        assert_eq!(r.bad_lines()[0].kind, BadLineKind::LineTooLong(1000));
        assert_eq!(r.bad_lines()[0].line, 1);
    }

    #[test]
    fn bad_lines_fail_or_skip() {
        let data: &'static [u8] = b"{\"ip\":\"192.0.2.1\",\"port\":80,\"snapshot\":\"s\",\"protocol\":\"http\",\"banner\":\"x\"}\nnot json\n\n{\"ip\":\"bad\",\"port\":80,\"snapshot\":\"s\",\"protocol\":\"http\",\"banner\":\"x\"}\n";
        let mut r =
            RecordReader::from_reader(data, "f.jsonl", ReadOptions::default()).expect("open");
        assert!(r.next().is_some_and(|x| x.is_ok()));
        let err = r.next().and_then(Result::err).map(|e| e.to_string());
        assert_eq!(
            err.as_deref()
                .map(|e| e.starts_with("f.jsonl:2: invalid JSON")),
            Some(true)
        );
        assert!(r.next().is_none());

        let mut r = RecordReader::from_reader(
            data,
            "f.jsonl",
            ReadOptions::default().on_bad_line(OnBadLine::Skip),
        )
        .expect("open");
        assert_eq!(r.by_ref().count(), 1);
        let lines: Vec<u64> = r.bad_lines().iter().map(|b| b.line).collect();
        assert_eq!(lines, vec![2, 4]);
        assert_eq!(r.bad_line_count(), 2);
    }

    fn gzip(data: &[u8]) -> Vec<u8> {
        use std::io::Write as _;
        let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        enc.write_all(data).expect("gzip");
        enc.finish().expect("gzip")
    }

    const REC: &[u8] =
        br#"{"ip":"192.0.2.1","port":80,"snapshot":"s","protocol":"http","banner":"x"}"#;

    /// A truncated gzip stream: the records before the cut come through,
    /// then one `Error::Gzip` with the file and the compressed offset (the
    /// whole file was consumed), then the end. It used to be an `Error::Io`
    /// that callers skipping errors silently dropped.
    #[test]
    fn truncated_gzip_is_an_error_with_file_and_offset() {
        let mut plain = Vec::new();
        for _ in 0..2000 {
            plain.extend_from_slice(REC);
            plain.push(b'\n');
        }
        let mut gz = gzip(&plain);
        gz.truncate(gz.len() - 20); // cuts into the deflate data and drops the trailer
        let len = gz.len() as u64;
        let opts = ReadOptions::default().on_bad_line(OnBadLine::Skip);
        let mut r = RecordReader::from_reader(std::io::Cursor::new(gz), "cut.jsonl.gz", opts)
            .expect("open");
        let mut ok = 0;
        let err = loop {
            match r.next() {
                Some(Ok(_)) => ok += 1,
                Some(Err(e)) => break e,
                None => panic!("no error for a truncated gzip stream"),
            }
        };
        assert!(r.next().is_none(), "an error ends the iteration");
        assert!(ok > 0 && ok < 2000, "{ok} records before the cut");
        assert_eq!(r.bad_line_count(), 0);
        match &err {
            Error::Gzip { path, offset, .. } => {
                assert_eq!(path, Path::new("cut.jsonl.gz"));
                assert_eq!(*offset, len);
            }
            other => panic!("expected Error::Gzip, got {other:?}"),
        }
        assert!(
            err.to_string().starts_with(&format!(
                "cut.jsonl.gz: invalid gzip data at compressed byte {len}"
            )),
            "{err}"
        );
    }

    /// Bytes after the last gzip member that are not another member are an
    /// error at their offset, not silently ignored or read as text.
    #[test]
    fn trailing_garbage_after_gzip_is_an_error() {
        let mut gz = gzip(&[REC, b"\n"].concat());
        let member = gz.len() as u64;
        gz.extend_from_slice(b"not gzip at all\n");
        let mut r =
            RecordReader::from_reader(std::io::Cursor::new(gz), "tail.gz", ReadOptions::default())
                .expect("open");
        assert!(r.next().is_some_and(|x| x.is_ok()));
        match r.next() {
            Some(Err(Error::Gzip { offset, .. })) => {
                assert!(offset >= member, "{offset} < {member}");
            }
            other => panic!("expected Error::Gzip, got {other:?}"),
        }
        assert!(r.next().is_none());
    }

    /// A failing source under the decoder is an I/O error, not a gzip error.
    #[test]
    fn source_errors_under_gzip_stay_io_errors() {
        struct Failing(std::io::Cursor<Vec<u8>>);
        impl Read for Failing {
            fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
                match self.0.read(buf)? {
                    0 => Err(std::io::Error::other("disk on fire")),
                    n => Ok(n),
                }
            }
        }
        let mut gz = gzip(REC);
        gz.truncate(gz.len() - 4);
        let mut r = RecordReader::from_reader(
            Failing(std::io::Cursor::new(gz)),
            "f.gz",
            ReadOptions::default(),
        )
        .expect("open");
        let err = r.find_map(Result::err).expect("an error");
        assert!(matches!(err, Error::Io { .. }), "{err:?}");
        assert!(err.to_string().contains("disk on fire"), "{err}");
    }

    /// zgrab2 header amplification (issue 24, item 2): one long header name
    /// with many empty values was rebuilt as one `Name: \r\n` per value, a
    /// few KB of gzip becoming gigabytes. The rebuilt banner is now bounded by
    /// the line limit and the record is a bad line.
    #[test]
    fn zgrab2_header_amplification_is_a_bad_line() {
        // 1000-byte name, 100,000 empty values: ~300 KB of JSON that the old
        // code rebuilt into a ~100 MB banner; it gzips to a few KB.
        let name = "x".repeat(1000);
        let values = vec!["\"\""; 100_000].join(",");
        let line = format!(
            r#"{{"ip":"192.0.2.1","data":{{"http":{{"status":"success","result":{{"response":{{"status_line":"200 OK","headers":{{"{name}":[{values}]}}}}}}}}}}}}"#
        );
        let mut data = gzip(format!("{line}\n{ZGRAB_OK}\n").as_bytes());
        assert!(data.len() < 8 << 10, "{} bytes of gzip", data.len());
        for limit in [None, Some(1 << 20)] {
            let mut opts = ReadOptions::default().on_bad_line(OnBadLine::Skip);
            if let Some(l) = limit {
                opts = opts.max_line_bytes(l);
            }
            let cursor = std::io::Cursor::new(std::mem::take(&mut data));
            let mut r = RecordReader::from_reader(cursor, "amp.json.gz", opts).expect("open");
            let recs: Vec<_> = r.by_ref().collect::<Result<_>>().expect("records");
            let limit = limit.unwrap_or(DEFAULT_MAX_LINE);
            // The second record comes through; the first is a bad line.
            assert_eq!(recs.len(), 1);
            assert!(recs.iter().all(|r| r.banner.len() <= limit));
            assert_eq!(r.bad_lines().len(), 1);
            assert_eq!(r.bad_lines()[0].line, 1);
            assert_eq!(r.bad_lines()[0].kind, BadLineKind::BannerTooLong(limit));
            assert_eq!(
                r.bad_lines()[0].to_string(),
                format!(
                    "amp.json.gz:1: banner rebuilt from the record is longer than {limit} bytes"
                )
            );
            data = gzip(format!("{line}\n{ZGRAB_OK}\n").as_bytes());
        }
    }

    const ZGRAB_OK: &str = r#"{"ip":"192.0.2.2","data":{"http":{"status":"success","result":{"response":{"status_line":"200 OK","headers":{"server":["nginx"]}}}}}}"#;

    /// A rebuilt banner exactly at the limit is accepted; one byte more is not.
    #[test]
    fn zgrab2_rebuilt_banner_limit_is_exact() {
        // "HTTP/1.1 200 OK\r\n" (17) + "Server: nginx\r\n" (15) = 32 bytes.
        for (limit, ok) in [(200, true), (32, true), (31, false)] {
            let got = parse_zgrab2(ZGRAB_OK.as_bytes(), &ReadOptions::default(), limit);
            assert_eq!(got.is_ok(), ok, "limit {limit}: {got:?}");
            if let Ok(rec) = got {
                assert_eq!(rec.banner.len(), 32);
            }
        }
    }
}
