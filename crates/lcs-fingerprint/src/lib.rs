/*!
Regex fingerprints from clusters of banners: the last step of bannerlm.

The paper (Sarabi, Yin, Liu, IMC 2023) turns every cluster of banners into
text fingerprints: draw 10 members at random, and for each HTTP header take
the substrings common to all 10 and join them into a regex of literals and
`.*`; repeat 100 times per cluster, over four clusterings, and pool. This
crate does that, fast and safely, and also does automatically what the
paper did by hand: sanitizing the pooled patterns.

Place in the pipeline: banners (`banner-parse` records) and cluster labels
(`density-cluster`, or any JSONL of labels) in; fingerprints out as JSONL.
It does not depend on the model.

# Pieces

- [`CommonPieces`]: the common pieces of k strings at once. The longest
  substring common to all k is found by a q-gram filter computed once over
  the k strings (which decides almost every search on header values with
  one substring search per string), backed by a suffix automaton on the
  first string (linear in the total length) where the filter cannot decide;
  every string is split at its leftmost occurrence and both sides are
  searched again, giving the ordered pieces of the `A.*B.*C` structure, each
  at least `min_len` bytes. [`CommonPieces`] documents the rule and
  where the choice of occurrence matters (the optimum is NP-hard in general).
- [`Method::Difflib`]: the authors' published method, which folds the k
  values pairwise with Python difflib's `get_matching_blocks` (no junk,
  autojunk off: `banner_parse::SequenceMatcher`, generic over the symbol
  type, here bytes plus gap symbols that match nothing): pieces of at least 5 bytes,
  escaped, gaps as `.*`, anchored at the start unless a gap leads, `$`
  unless a gap ends it, bare `.*` dropped.
- [`Pattern`]: literals, gaps and the sanitizer's generalisations, rendered
  as a regex that the linear-time `regex` crate compiles ([`compile_regex`]:
  bytes, Unicode off, `.` matching `\n`). Every literal byte is escaped;
  `^` / `$` appear only where all samples start / end with a piece.
- [`FingerprintParams`]: per-header generation (Server, Set-Cookie and
  WWW-Authenticate by default) from one or more [`Clustering`]s: seeded
  draws, pooling, exact dedup, sanitizing (dotted versions become
  `(?P<version>...)`, cookie attribute residue such as `; path=/` an
  optional tail `(?:;.*)?`, near-duplicates equal modulo digits collapse
  into one with `[0-9]+`), and scoring by support and precision.
- [`ClusterLabels`]: a lenient reader of cluster-label JSONL; output as
  JSONL ([`write_jsonl`]) or as a Recog XML database ([`to_recog`], through
  `recog-compat`).
- Nothing generic ([`DropReason`]): what a person would drop is dropped and
  kept aside with the reason ([`Generated::dropped`]): patterns with fewer than
  [`DEFAULT_MIN_LITERAL_BYTES`] informative literal bytes (letters and digits
  outside cookie attributes and authentication syntax, [`AUTH_SYNTAX`]; so
  `ath=/;\x20`, `/(?:;.*)?$` and `\x20realm="` go), values produced by more
  than half of a clustering's clusters (`^keep\-alive$`), precision below
  [`DEFAULT_MIN_PRECISION`] (`^Apache` at 17%), and, of the patterns of one
  header that match the same banners, all but the most specific (the
  near-duplicates of different epsilons). No two emitted fingerprints of one
  header match the same set of banners.
- Every header on request ([`FingerprintParams::all_headers`]): every header
  carried by at least a share of a cluster's members, as the paper did.
- Text protocols ([`ValidFingerprintParams::generate_text`]): SSH, FTP, SMTP,
  Telnet, POP3, IMAP and NNTP greetings as Recog matches them
  ([`recog_compat::banner_input`]), field `ssh.banner` etc. ([`text_field`]),
  exported for Recog's `ssh_banners.xml`... ([`to_recog`]) and compared with
  it ([`compare_text_with_recog`]).
- [`score_fingerprints`]: each fingerprint's majority product and its share
  among the fingerprint's matches, against known products ([`FingerprintScore`]);
  [`product_coverage`]: the share of products covered by a precise fingerprint.

# API

- Generation: [`FingerprintParams`] -> [`FingerprintParams::check`] ->
  [`ValidFingerprintParams`] (`generate`, `generate_all` -> [`Generated`] with
  [`DroppedFingerprint`]s, `generate_text`, `pattern`, `raw_pattern`), with
  [`Method`]; inputs [`Clustering`] (or [`ClusterLabels`] read from JSONL),
  outputs [`Fingerprint`] with [`ClusterRef`]s; [`write_jsonl`], [`read_jsonl`];
  [`FingerprintSummary`].
- Pieces and patterns: [`CommonPieces`], [`PieceFinder`], [`Piece`];
  [`Pattern`], [`Token`], [`compile_regex`];
  [`DEFAULT_COOKIE_ATTRIBUTES`].
- Recog: [`to_recog`], [`recog_matches`]; [`compare_with_recog`] and
  [`compare_text_with_recog`] -> [`RecogComparison`] of [`HeaderRecovery`] digests.
- Text fields: [`text_field`], [`is_text_field`], [`text_database`], [`field_values`],
  [`text_protocols`].
- Scoring against known products: [`score_fingerprints`], [`FingerprintScore`],
  [`product_coverage`], [`ProductCoverage`].
- Errors: [`Error`], [`ParamsError`], [`Result`].

# Example: common pieces and a regex

```
use lcs_fingerprint::{CommonPieces, Pattern};

let values = ["nginx/1.18.0 (Ubuntu)", "nginx/1.20.1 (Ubuntu)", "nginx/1.14.2 (Ubuntu)"];
let pieces = CommonPieces::find(&values, 5);
let pattern = Pattern::from_pieces(&pieces);
assert_eq!(pattern.regex(), r"^nginx/1\..*\x20\(Ubuntu\)$");
let re = pattern.compile()?;
assert!(values.iter().all(|v| re.is_match(v.as_bytes())));
# Ok::<(), Box<dyn std::error::Error>>(())
```

# Example: fingerprints of a clustering

```
use lcs_fingerprint::{Clustering, FingerprintParams};

// Two clusters of one product: they set cookie `SESSIONID0` or `SESSIONID1`.
let banners: Vec<String> = (0..20u64)
    .map(|i| {
        let id = i.wrapping_mul(0x9E37_79B9_7F4A_7C15);
        format!("HTTP/1.1 200 OK\r\nServer: Apache/2.4.{i} (Debian)\r\nSet-Cookie: SESSIONID{}={id:x}; path=/\r\n\r\n", i % 2)
    })
    .collect();
let clustering = Clustering { name: "0.05".into(), labels: (0..20).map(|i| Some(i % 2)).collect() };
let fps = FingerprintParams::default().seed(1).generate(&banners, &[clustering])?;
let server = fps.iter().find(|f| f.header == "Server").expect("a Server fingerprint");
assert_eq!(server.regex, r"^Apache/(?P<version>[0-9]+(?:\.[0-9]+)*(?:[a-z]+[0-9]*)?)\x20\(Debian\)$");
// Both clusters produced it: it matches all 20 banners, 10 of them in its cluster.
assert_eq!((server.sources.len(), server.matched, server.support), (2, 20, 10));
// `SESSIONID0=...` and `SESSIONID1=...` collapse into one fingerprint.
assert!(fps.iter().any(|f| f.regex == "^SESSIONID[0-9]+=[^;]*(?:;.*)?$"), "{fps:#?}");
# Ok::<(), Box<dyn std::error::Error>>(())
```

# Crate features

None: the crate has no optional features.
*/

mod compare;
mod difflib;
mod error;
mod filter;
mod generate;
mod labels;
mod params;
mod pattern;
mod pieces;
mod recog;
mod sanitize;
mod score;
mod text;

pub use compare::{FingerprintSummary, HeaderRecovery, RecogComparison, compare_with_recog};
pub use error::{Error, ParamsError, Result};
pub use filter::{AUTH_SYNTAX, DropReason, DroppedFingerprint, Generated, TEXT_SYNTAX};
pub use generate::{ClusterRef, Clustering, Fingerprint, read_jsonl, write_jsonl};
pub use labels::ClusterLabels;
pub use params::{
    DEFAULT_MIN_LITERAL_BYTES, DEFAULT_MIN_PRECISION, FingerprintParams, Method,
    ValidFingerprintParams,
};
pub use pattern::{Pattern, Token, compile_regex};
pub use pieces::{CommonPieces, Piece, PieceFinder};
pub use recog::{recog_matches, to_recog};
pub use sanitize::DEFAULT_COOKIE_ATTRIBUTES;
pub use score::{FingerprintScore, ProductCoverage, product_coverage, score_fingerprints};
pub use text::{
    compare_text_with_recog, field_values, is_text_field, text_database, text_field, text_protocols,
};
