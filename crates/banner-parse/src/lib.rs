//! # banner-parse
//!
//! The input layer of bannerlm: scan banners in, stable/dynamic labels out.
//!
//! - **Records** ([`BannerRecord`]): one observed service (ip, port,
//!   snapshot, protocol, raw banner bytes), read in constant memory from
//!   bannerlm JSON Lines, zgrab2 HTTP output, Censys BigQuery exports or plain
//!   text, gzip transparently ([`RecordReader`]), written atomically
//!   ([`RecordWriter`]). Bytes are kept losslessly, valid UTF-8 or not.
//! - **HTTP parsing** ([`HttpBanner`]): status line and ordered headers with
//!   byte spans, tolerant of `\n` vs `\r\n`, folded lines, duplicates, a
//!   missing status line and binary junk. It never fails.
//! - **Pairing**: the same (ip, port, protocol) in two snapshots, in memory
//!   ([`pair_in_memory`]) or with bounded memory ([`PairJoin`]).
//! - **Labels** ([`label_pair`]): the paper's rule. Per header present in
//!   both banners, difflib's matching blocks of the two values
//!   ([`matching_blocks`], [`SequenceMatcher`]: Python difflib's, generic
//!   over the symbol type); blocks shorter than 3 bytes are dropped; matched
//!   bytes are stable, other value bytes dynamic, header names and the leading
//!   `HTTP/` unlabelled. Other protocols' text banners (SSH, FTP, SMTP,
//!   Telnet) are compared line by line ([`text_line_spans`]), line ends
//!   unlabelled. Labels are per byte of the original banner, ready to
//!   be aligned with tokens. The work per pair is bounded (difflib is cubic
//!   in the worst case): only the first [`MAX_LABEL_VALUE_BYTES`] (4096)
//!   bytes of a value are compared, the rest is dynamic, and one pair stops
//!   after [`MAX_MATCH_WORK`] matching steps. Below these bounds labels are
//!   exactly the paper's.
//! - **Display** ([`render_labels`]): banners are attacker-controlled; escape
//!   them before printing (`bannerlm_base::escape_bytes`, which
//!   [`render_labels`] uses).
//!
//! # API
//!
//! - Records: [`BannerRecord`], [`RecordKey`], [`ServiceKey`];
//!   [`RecordReader`] with [`ReadOptions`], [`Format`], [`OnBadLine`],
//!   [`BadLine`]; [`RecordWriter`].
//! - HTTP: [`HttpBanner`], [`StatusLine`], [`Header`].
//! - Pairing: [`pair_in_memory`] -> [`Pairing`] of [`BannerPair`]s;
//!   [`PairJoin`] -> [`PairStream`], [`PairStats`].
//! - Labels: [`label_pair`], [`Labeler`] with [`LabelParams`] ->
//!   [`ValidLabelParams`], [`PairLabels`], [`Label`], [`BannerKind`],
//!   [`label_runs`], [`text_line_spans`], [`render_labels`] with [`LabelStyle`];
//!   [`MAX_LABEL_VALUE_BYTES`].
//! - difflib: [`matching_blocks`], [`SequenceMatcher`], [`MatchBlock`],
//!   [`MAX_MATCH_WORK`].
//! - Errors: [`Error`], [`BadLineKind`], [`Result`].
//!
//! Place in the pipeline: the first stage. It knows nothing of models; the
//! tokenizer, trainer and fingerprint crates build on it.
//!
//! # Example: label a pair of snapshots
//!
//! ```
//! use banner_parse::{pair_in_memory, BannerRecord, Label};
//!
//! let rec = |snapshot: &str, banner: &str| BannerRecord {
//!     ip: "198.51.100.7".parse().unwrap(),
//!     port: 80,
//!     snapshot: snapshot.into(),
//!     protocol: "http".into(),
//!     banner: banner.as_bytes().to_vec(),
//! };
//! let june = rec("2023-06-01", "HTTP/1.1 200 OK\r\nServer: lighttpd/1.4.59\r\nETag: \"3910377218\"\r\n");
//! let july = rec("2023-07-01", "HTTP/1.1 200 OK\r\nServer: lighttpd/1.4.59\r\nETag: \"1129458061\"\r\n");
//! let pairing = pair_in_memory([june], [july]);
//! let labels = pairing.pairs[0].labels();
//! assert!(labels.matched >= 11);
//! let stable = labels.a.iter().filter(|l| **l == Label::Stable).count();
//! let dynamic = labels.a.iter().filter(|l| **l == Label::Dynamic).count();
//! // The ten ETag digits are dynamic, and so are its two quotes: a quote
//! // alone is a match shorter than 3 bytes, which the paper's rule ignores.
//! assert_eq!((stable, dynamic), (labels.matched, 12));
//! ```
//!
//! # Example: read a file, skipping and reporting bad lines
//!
//! ```no_run
//! use banner_parse::{OnBadLine, ReadOptions, RecordReader};
//!
//! let mut reader = RecordReader::open("scan.jsonl.gz", ReadOptions::default().on_bad_line(OnBadLine::Skip))?;
//! // Bad lines are skipped, but an `Err` (an I/O error, corrupt gzip) still
//! // ends the file: never drop it (`filter(Result::is_ok)`, `flatten()`).
//! let mut n = 0u64;
//! for record in reader.by_ref() {
//!     record?;
//!     n += 1;
//! }
//! eprintln!("{n} records, {} bad lines", reader.bad_line_count());
//! for bad in reader.bad_lines() {
//!     eprintln!("{bad}");
//! }
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! # Crate features
//!
//! None: everything is always available.

mod error;
mod escape;
mod http;
mod labels;
mod matching;
mod pair;
mod read;
mod record;
mod write;

pub use error::{BadLineKind, Error, Result};
pub use escape::{LabelStyle, render_labels};
pub use http::{Header, HttpBanner, StatusLine};
pub use labels::{
    BannerKind, Label, LabelParams, Labeler, MAX_LABEL_VALUE_BYTES, PairLabels, ValidLabelParams,
    label_pair, label_runs, text_line_spans,
};
pub use matching::{MAX_MATCH_WORK, MatchBlock, SequenceMatcher, matching_blocks};
pub use pair::{BannerPair, PairJoin, PairStats, PairStream, Pairing, pair_in_memory};
pub use read::{BadLine, Format, OnBadLine, ReadOptions, RecordReader};
pub use record::{BannerRecord, RecordKey, ServiceKey};
pub use write::RecordWriter;

#[cfg(test)]
mod autotraits {
    fn send_sync<T: Send + Sync>() {}
    fn send<T: Send>() {}

    #[test]
    fn public_types_are_thread_safe() {
        send_sync::<crate::BannerRecord>();
        send_sync::<crate::Error>();
        send_sync::<crate::PairLabels>();
        send_sync::<crate::Labeler>();
        send_sync::<crate::PairJoin>();
        send::<crate::RecordReader>();
        send::<crate::RecordWriter>();
        send::<crate::PairStream>();
    }
}
