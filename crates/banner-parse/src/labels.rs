//! Stable / dynamic character labels from a pair of banners (the paper's rule).

use std::collections::HashMap;
use std::ops::Range;

use crate::http::HttpBanner;
use crate::matching::{MAX_MATCH_WORK, SequenceMatcher};

/// Longest value prefix that labelling compares (default of
/// [`LabelParams::max_value_bytes`]): 4096 bytes per value, per side. The
/// bytes of a value beyond it are [`Label::Dynamic`]. Values up to this
/// length are labelled exactly as the paper's code (CPython's difflib) does,
/// as long as the pair stays within its work limit
/// ([`LabelParams::max_work`], [`MAX_MATCH_WORK`] by default), which real
/// banners stay far below.
pub const MAX_LABEL_VALUE_BYTES: usize = 4096;

/// The label of one banner byte.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Label {
    /// Not labelled: header names, separators, line terminators, the leading `HTTP/`.
    Unlabelled,
    /// Part of a common substring of the two banners (y = 1).
    Stable,
    /// A value byte that did not match (y = 0).
    Dynamic,
}

/// How a banner is split into comparable fields.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
#[non_exhaustive]
pub enum BannerKind {
    /// HTTP response head: status line, headers (compared by name), body.
    #[default]
    Http,
    /// Any other protocol (SSH, FTP, SMTP, Telnet, ...): a text banner,
    /// compared line by line (see [`text_line_spans`]). A one-line banner
    /// (an SSH identification string, a one-line FTP greeting) is compared
    /// whole; the k-th line of a multi-line greeting (SMTP, FTP `220-`
    /// continuation lines) is compared with the k-th line of the other banner.
    /// Line ends (`\r\n`, `\n`) are unlabelled, as HTTP's are.
    Text,
}

impl BannerKind {
    /// `Http` for the protocols `http`/`https`, else `Text`.
    pub fn for_protocol(protocol: &str) -> Self {
        if protocol.eq_ignore_ascii_case("http") || protocol.eq_ignore_ascii_case("https") {
            BannerKind::Http
        } else {
            BannerKind::Text
        }
    }
}

/// Parameters of the labelling rule (a builder). The defaults are the
/// paper's, with bounds on the work per pair
/// ([`max_value_bytes`](Self::max_value_bytes), [`max_work`](Self::max_work)).
/// [`check`](Self::check) validates them into the [`ValidLabelParams`] that a
/// [`Labeler`] takes.
///
/// ```
/// use banner_parse::{BannerKind, LabelParams, Labeler};
///
/// let params = LabelParams::default().min_match(4).check()?;
/// assert_eq!(params.min_match(), 4);
/// let labels = Labeler::new(params).label(b"abc-123", b"abc-456", BannerKind::Text);
/// assert_eq!(labels.matched, 4); // "abc-"
/// assert!(LabelParams::default().min_match(0).check().is_err());
/// # Ok::<(), banner_parse::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Default)]
#[must_use]
pub struct LabelParams(ValidLabelParams);

/// Checked parameters of the labelling rule (getters only); made by
/// [`LabelParams::check`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ValidLabelParams {
    min_match: usize,
    max_value_bytes: usize,
    max_work: u64,
}

impl Default for ValidLabelParams {
    fn default() -> Self {
        ValidLabelParams {
            min_match: 3,
            max_value_bytes: MAX_LABEL_VALUE_BYTES,
            max_work: MAX_MATCH_WORK,
        }
    }
}

impl LabelParams {
    /// The paper's parameters (see [`Default`]).
    pub fn new() -> Self {
        Self::default()
    }

    /// Matching blocks shorter than `min_match` bytes are ignored (paper: 3;
    /// at least 1).
    pub fn min_match(mut self, min_match: usize) -> Self {
        self.0.min_match = min_match;
        self
    }

    /// Only the first `n` bytes of each value are compared (default
    /// [`MAX_LABEL_VALUE_BYTES`]); the rest of a longer value is
    /// [`Label::Dynamic`]. Bounds the cost of one field: matching two
    /// values of `n` bytes scans at most `n²` byte pairs per block found.
    pub fn max_value_bytes(mut self, n: usize) -> Self {
        self.0.max_value_bytes = n;
        self
    }

    /// Work limit for one pair, in matching steps over all its fields
    /// (default [`MAX_MATCH_WORK`]; see [`SequenceMatcher`]). When it is
    /// reached, the blocks found so far are kept and the bytes not yet
    /// compared are [`Label::Dynamic`]; [`Labeler::last_truncated`] tells.
    pub fn max_work(mut self, steps: u64) -> Self {
        self.0.max_work = steps;
        self
    }

    /// Validates the parameters.
    ///
    /// # Errors
    /// [`Error::InvalidParam`](crate::Error::InvalidParam) when `min_match` is 0.
    pub fn check(self) -> crate::Result<ValidLabelParams> {
        self.check_ref()?;
        Ok(self.0)
    }

    /// Validates the parameters without consuming them.
    ///
    /// # Errors
    /// As [`check`](Self::check).
    pub fn check_ref(&self) -> crate::Result<&ValidLabelParams> {
        if self.0.min_match == 0 {
            return Err(crate::Error::InvalidParam {
                name: "min_match",
                reason: "must be at least 1".into(),
            });
        }
        Ok(&self.0)
    }
}

impl ValidLabelParams {
    /// The minimum block length.
    pub fn min_match(&self) -> usize {
        self.min_match
    }

    /// The longest value prefix compared.
    pub fn max_value_bytes(&self) -> usize {
        self.max_value_bytes
    }

    /// The work limit per pair.
    pub fn max_work(&self) -> u64 {
        self.max_work
    }
}

/// Per-byte labels of both banners of a pair.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PairLabels {
    /// One label per byte of the first banner.
    pub a: Vec<Label>,
    /// One label per byte of the second banner.
    pub b: Vec<Label>,
    /// Number of stable bytes in the first banner (equal to that of the
    /// second: matched blocks have the same length on both sides).
    pub matched: usize,
}

impl PairLabels {
    /// Runs of equal labels of the first banner as `(span, label)`.
    pub fn spans_a(&self) -> Vec<(Range<usize>, Label)> {
        label_runs(&self.a)
    }

    /// Runs of equal labels of the second banner as `(span, label)`.
    pub fn spans_b(&self) -> Vec<(Range<usize>, Label)> {
        label_runs(&self.b)
    }
}

/// Compresses per-byte labels into runs `(span, label)`.
///
/// ```
/// use banner_parse::{label_runs, Label::*};
/// assert_eq!(label_runs(&[Stable, Stable, Dynamic]), vec![(0..2, Stable), (2..3, Dynamic)]);
/// ```
pub fn label_runs(labels: &[Label]) -> Vec<(Range<usize>, Label)> {
    let mut runs: Vec<(Range<usize>, Label)> = Vec::new();
    for (i, &l) in labels.iter().enumerate() {
        match runs.last_mut() {
            Some((r, last)) if *last == l => r.end = i + 1,
            _ => runs.push((i..i + 1, l)),
        }
    }
    runs
}

/// A comparable field of a banner: its identity and the span of its value.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
enum FieldKey {
    Status,
    /// Lowercased header name and occurrence index among same-named headers.
    Header(Vec<u8>, usize),
    Body,
    /// The k-th line of a text banner.
    Line(usize),
}

/// The value spans of a text banner ([`BannerKind::Text`]): one per line,
/// without its line end (`\n`, or `\r\n`); empty lines have none. The
/// fields the labelling rule compares, line `k` of one banner with line `k`
/// of the other (`k` counts every line, empty ones included).
///
/// ```
/// use banner_parse::text_line_spans;
/// let smtp = b"220-mx.example.org ESMTP\r\n220 ready\r\n";
/// assert_eq!(text_line_spans(smtp), vec![(0, 0..24), (1, 26..35)]);
/// assert_eq!(text_line_spans(b"SSH-2.0-OpenSSH_9.6"), vec![(0, 0..19)]);
/// assert_eq!(text_line_spans(b"\r\n\r\nlogin: "), vec![(2, 4..11)]);
/// ```
pub fn text_line_spans(raw: &[u8]) -> Vec<(usize, Range<usize>)> {
    let mut out = Vec::new();
    let mut start = 0;
    let mut k = 0;
    while start <= raw.len() {
        let end = memchr::memchr(b'\n', &raw[start..]).map_or(raw.len(), |i| start + i);
        let mut content_end = end;
        if end < raw.len() && content_end > start && raw[content_end - 1] == b'\r' {
            content_end -= 1;
        }
        if content_end > start {
            out.push((k, start..content_end));
        }
        if end == raw.len() {
            break;
        }
        start = end + 1;
        k += 1;
    }
    out
}

fn fields(raw: &[u8], kind: BannerKind) -> Vec<(FieldKey, Range<usize>)> {
    match kind {
        BannerKind::Text => text_line_spans(raw)
            .into_iter()
            .map(|(k, r)| (FieldKey::Line(k), r))
            .collect(),
        BannerKind::Http => {
            let http = HttpBanner::parse(raw);
            let mut out = Vec::with_capacity(http.headers().len() + 2);
            if let Some(s) = http.status() {
                out.push((FieldKey::Status, s.value_span.clone()));
            }
            let mut seen: HashMap<Vec<u8>, usize> = HashMap::new();
            for h in http.headers() {
                let name = h.name.to_ascii_lowercase();
                let n = seen.entry(name.clone()).or_insert(0);
                out.push((FieldKey::Header(name, *n), h.value_span.clone()));
                *n += 1;
            }
            if let Some(body) = http.body_span() {
                out.push((FieldKey::Body, body));
            }
            out
        }
    }
}

/// Labels a pair of banners of the same service with the paper's rule,
/// using default [`LabelParams`].
///
/// Both banners are split into fields (HTTP: status line after `HTTP/`,
/// each header value, the body; other protocols: each line, see
/// [`text_line_spans`]). Fields present
/// in both banners (headers by case-insensitive name; the k-th duplicate with
/// the k-th; order ignored) are compared with difflib's matching blocks;
/// blocks shorter than 3 bytes are dropped; matched bytes are
/// [`Label::Stable`], every other value byte [`Label::Dynamic`] (including
/// values of headers present in only one banner), and everything that is not
/// a value (header names, `: `, line ends, `HTTP/`) is [`Label::Unlabelled`].
///
/// **Bounded work.** difflib's worst case is cubic in the value length (a
/// 300 KB header value takes hours), and banners are written by whoever runs
/// the device. Only the first [`MAX_LABEL_VALUE_BYTES`] (4096) bytes of each
/// value are compared, the rest of a longer value is dynamic, and the
/// matching of one pair stops after [`MAX_MATCH_WORK`] steps (see
/// [`LabelParams`]). Below these bounds the labels are exactly those of the
/// paper's code.
///
/// ```
/// use banner_parse::{label_pair, BannerKind, Label};
///
/// let a = b"HTTP/1.1 200 OK\r\nServer: nginx\r\nETag: \"5f1a-3c\"\r\n";
/// let b = b"HTTP/1.1 200 OK\r\nETag: \"77b0-9d\"\r\nServer: nginx\r\n";
/// let labels = label_pair(a, b, BannerKind::Http);
/// let server = a.windows(5).position(|w| w == b"nginx").unwrap();
/// assert!(labels.a[server..server + 5].iter().all(|l| *l == Label::Stable));
/// assert_eq!(labels.a[0], Label::Unlabelled); // "HTTP/"
/// assert!(labels.a.contains(&Label::Dynamic)); // the ETag
/// ```
pub fn label_pair(a: &[u8], b: &[u8], kind: BannerKind) -> PairLabels {
    Labeler::default().label(a, b, kind)
}

/// A reusable labeller: holds the parameters and scratch space, so labelling
/// many pairs does not allocate per field.
#[derive(Debug, Clone, Default)]
pub struct Labeler {
    params: ValidLabelParams,
    matcher: SequenceMatcher,
    work: u64,
    truncated: bool,
}

impl Labeler {
    /// A labeller with the given (checked) parameters; [`Labeler::default`]
    /// has the paper's.
    pub fn new(params: ValidLabelParams) -> Self {
        Labeler {
            params,
            matcher: SequenceMatcher::new(),
            work: 0,
            truncated: false,
        }
    }

    /// Matching steps the last [`label`](Self::label) call took, over all
    /// fields (at most [`ValidLabelParams::max_work`]).
    pub fn last_work(&self) -> u64 {
        self.work
    }

    /// Whether the last [`label`](Self::label) call stopped at the work
    /// limit, or compared only a prefix of some value
    /// ([`LabelParams::max_value_bytes`]): some bytes were then labelled
    /// dynamic without being compared.
    pub fn last_truncated(&self) -> bool {
        self.truncated
    }

    /// Labels a pair; see [`label_pair`] for the rule.
    pub fn label(&mut self, a: &[u8], b: &[u8], kind: BannerKind) -> PairLabels {
        let mut la = vec![Label::Unlabelled; a.len()];
        let mut lb = vec![Label::Unlabelled; b.len()];
        let fa = fields(a, kind);
        let fb = fields(b, kind);
        for (_, r) in &fa {
            la[r.clone()].fill(Label::Dynamic);
        }
        for (_, r) in &fb {
            lb[r.clone()].fill(Label::Dynamic);
        }
        let index_b: HashMap<&FieldKey, &Range<usize>> = fb.iter().map(|(k, r)| (k, r)).collect();
        let mut matched = 0;
        self.work = 0;
        self.truncated = false;
        let cap = self.params.max_value_bytes;
        for (key, ra) in &fa {
            let Some(rb) = index_b.get(key) else { continue };
            let (va, vb) = (&a[ra.clone()], &b[(*rb).clone()]);
            // Compare bounded prefixes; the rest of a longer value stays dynamic.
            if va.len() > cap || vb.len() > cap {
                self.truncated = true;
            }
            let (va, vb) = (&va[..va.len().min(cap)], &vb[..vb.len().min(cap)]);
            let budget = self.params.max_work.saturating_sub(self.work);
            let blocks = self.matcher.matching_blocks_within(va, vb, budget);
            self.work = self.work.saturating_add(self.matcher.last_work());
            self.truncated |= self.matcher.last_truncated();
            for m in blocks {
                if m.len < self.params.min_match {
                    continue;
                }
                la[ra.start + m.a_start..ra.start + m.a_start + m.len].fill(Label::Stable);
                lb[rb.start + m.b_start..rb.start + m.b_start + m.len].fill(Label::Stable);
                matched += m.len;
            }
        }
        PairLabels {
            a: la,
            b: lb,
            matched,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::matching::{MAX_MATCH_WORK, SequenceMatcher};

    #[test]
    fn names_are_unlabelled_values_labelled() {
        let a = b"HTTP/1.1 200 OK\r\nServer: Apache\r\nX-Id: abc123456\r\n";
        let b = b"HTTP/1.1 404 Not Found\r\nServer: Apache\r\nX-Id: zzz999999\r\n";
        let l = label_pair(a, b, BannerKind::Http);
        assert!(l.a[..5].iter().all(|x| *x == Label::Unlabelled));
        let s = 25; // "Apache" in a
        assert_eq!(&a[s..s + 6], b"Apache");
        assert!(l.a[s..s + 6].iter().all(|x| *x == Label::Stable));
        assert_eq!(l.a[s - 1], Label::Unlabelled);
        // "1.1 " matched (4 bytes); "200 OK" vs "404 Not Found" has no 3-byte block.
        assert_eq!(&l.a[5..9], &[Label::Stable; 4]);
        assert_eq!(l.a[9], Label::Dynamic);
    }

    #[test]
    fn header_only_on_one_side_is_dynamic() {
        let l = label_pair(b"A: xyz\r\n", b"B: xyz\r\n", BannerKind::Http);
        assert_eq!(l.matched, 0);
        assert_eq!(&l.a[3..6], &[Label::Dynamic; 3]);
    }

    #[test]
    fn text_block() {
        let l = label_pair(
            b"SSH-2.0-OpenSSH_8.9",
            b"SSH-2.0-OpenSSH_9.1",
            BannerKind::Text,
        );
        assert_eq!(l.matched, 16);
    }

    /// `S` stable, `_` dynamic, `|` unlabelled, one character per byte.
    fn mask(labels: &[Label]) -> String {
        labels
            .iter()
            .map(|l| match l {
                Label::Stable => 'S',
                Label::Dynamic => '_',
                Label::Unlabelled => '|',
            })
            .collect()
    }

    /// Known answers for the text protocols (the expected masks are Python
    /// difflib's `get_matching_blocks`, autojunk off, blocks of 3 or more,
    /// applied line by line): line ends are unlabelled; the per-scan parts
    /// (a date, a user counter, a tty line number, a version bump) are
    /// dynamic, except what a date shares with the other one (`, 04 `, ` 2023 `).
    #[test]
    fn text_protocols_known_answers() {
        /// Protocol, banner a, banner b, mask of a, matched bytes.
        type Case<'a> = (&'a str, &'a [u8], &'a [u8], &'a str, usize);
        let cases: [Case<'_>; 4] = [
            (
                "ssh",
                b"SSH-2.0-OpenSSH_8.9p1 Ubuntu-3ubuntu0.6\r\n",
                b"SSH-2.0-OpenSSH_8.9p1 Ubuntu-3ubuntu0.10\r\n",
                "SSSSSSSSSSSSSSSSSSSSSSSSSSSSSSSSSSSSSS_||",
                38,
            ),
            (
                "smtp",
                b"220-server123.example.com ESMTP Exim 4.96 #2 Tue, 04 Jul 2023 10:11:12 -0500 \r\n\
                  220-We do not authorize the use of this system to transport unsolicited, \r\n\
                  220 and/or bulk e-mail.\r\n",
                b"220-server123.example.com ESMTP Exim 4.96 #2 Fri, 04 Aug 2023 09:45:55 -0500 \r\n\
                  220-We do not authorize the use of this system to transport unsolicited, \r\n\
                  220 and/or bulk e-mail.\r\n",
                "SSSSSSSSSSSSSSSSSSSSSSSSSSSSSSSSSSSSSSSSSSSSS___SSSSS___SSSSSS________SSSSSSS||\
                 SSSSSSSSSSSSSSSSSSSSSSSSSSSSSSSSSSSSSSSSSSSSSSSSSSSSSSSSSSSSSSSSSSSSSSSSS||\
                 SSSSSSSSSSSSSSSSSSSSSSS||",
                159,
            ),
            (
                "ftp",
                b"220-You are user number 3 of 50 allowed.\r\n\
                  220-Local time is now 10:11:12. Server port: 21.\r\n220 bye\r\n",
                b"220-You are user number 7 of 50 allowed.\r\n\
                  220-Local time is now 09:45:55. Server port: 21.\r\n220 bye\r\n",
                "SSSSSSSSSSSSSSSSSSSSSSSS_SSSSSSSSSSSSSSS||\
                 SSSSSSSSSSSSSSSSSSSSSS________SSSSSSSSSSSSSSSSSS||SSSSSSS||",
                86,
            ),
            (
                "telnet",
                b"\xff\xfb\x01\xff\xfb\x03\r\n\r\nrtr-berlin line 66 \r\n\r\n\
                  User Access Verification\r\n\r\nUsername: ",
                b"\xff\xfb\x01\xff\xfb\x03\r\n\r\nrtr-berlin line 12 \r\n\r\n\
                  User Access Verification\r\n\r\nUsername: ",
                "SSSSSS||||SSSSSSSSSSSSSSSS___||||SSSSSSSSSSSSSSSSSSSSSSSS||||SSSSSSSSSS",
                56,
            ),
        ];
        for (name, a, b, want_a, matched) in cases {
            let l = label_pair(a, b, BannerKind::Text);
            assert_eq!(mask(&l.a), want_a, "{name}");
            assert_eq!(l.matched, matched, "{name}");
            if a.len() == b.len() {
                assert_eq!(mask(&l.b), want_a, "{name}");
            }
        }
        // Lines pair by position: line 1 of `a` has no partner, so it is
        // dynamic, and line 0 shares only `220` with the other line 0.
        let l = label_pair(
            b"220-a b c\r\n220 ready\r\n",
            b"220 ready\r\n",
            BannerKind::Text,
        );
        assert_eq!(mask(&l.a), "SSS______||_________||");
        assert_eq!(mask(&l.b), "SSS______||");
    }

    #[test]
    fn min_match_validated() {
        assert!(matches!(
            LabelParams::default().min_match(0).check(),
            Err(crate::Error::InvalidParam {
                name: "min_match",
                ..
            })
        ));
    }

    fn header_banner(value: &[u8]) -> Vec<u8> {
        let mut v = b"HTTP/1.1 200 OK\r\nX-Pad: ".to_vec();
        v.extend_from_slice(value);
        v.extend_from_slice(b"\r\nServer: nginx/1.25.3\r\n");
        v
    }

    /// Issue 24, item 3: a 300 KB header value made difflib (and the old
    /// labeller, its exact copy) run for hours: `"a" * n` against
    /// `"ab" * (n / 2)` costs ~n³/12 steps. Now the work of a pair is bounded
    /// by a step count, whatever the value length.
    #[test]
    fn quadratic_300kb_pair_is_bounded() {
        let n = 300_000;
        let a = header_banner(&vec![b'a'; n]);
        let b = header_banner(&b"ab".repeat(n / 2));
        let mut labeler = Labeler::default();
        let l = labeler.label(&a, &b, BannerKind::Http);
        assert!(
            labeler.last_work() <= MAX_MATCH_WORK,
            "{}",
            labeler.last_work()
        );
        assert!(labeler.last_truncated());
        assert_eq!((l.a.len(), l.b.len()), (a.len(), b.len()));
        // Value bytes beyond the cap are dynamic, uncompared.
        let start = b"HTTP/1.1 200 OK\r\nX-Pad: ".len();
        assert!(
            l.a[start + MAX_LABEL_VALUE_BYTES..start + n]
                .iter()
                .all(|x| *x == Label::Dynamic)
        );
        // The status line was compared before the budget ran out, and every
        // stable run is a real match of at least 3 bytes.
        assert_eq!(&l.a[5..15], &[Label::Stable; 10]);
        assert_eq!(
            l.a.iter().filter(|x| **x == Label::Stable).count(),
            l.matched
        );

        // What the old, unbounded matcher costs: cubic growth (8x per
        // doubling), extrapolated to 300 KB far beyond 10^14 steps.
        let unbounded = |k: usize| {
            let mut m = SequenceMatcher::new().work_limit(u64::MAX);
            m.matching_blocks(&vec![b'a'; k], &b"ab".repeat(k / 2));
            m.last_work()
        };
        let (w256, w512) = (unbounded(256), unbounded(512));
        assert!(w512 > 6 * w256, "{w256} -> {w512}");
        let extrapolated = w512 as f64 * (n as f64 / 512.0).powi(3);
        assert!(extrapolated > 1e14, "{extrapolated}");
        assert!(extrapolated > 1e6 * MAX_MATCH_WORK as f64);
    }

    /// Values under the cap are labelled as without any bound (the
    /// parity fixtures check the matcher against CPython itself).
    #[test]
    fn values_under_the_cap_are_labelled_as_unbounded() {
        let a = header_banner(&b"id=4f1a9c; path=/; HttpOnly; ".repeat(100));
        let b = header_banner(&b"id=77b0e2; path=/; HttpOnly; ".repeat(100));
        assert!(a.len() < MAX_LABEL_VALUE_BYTES + 100);
        let mut bounded = Labeler::default();
        let mut free = Labeler::new(
            LabelParams::default()
                .max_value_bytes(usize::MAX)
                .max_work(u64::MAX)
                .check()
                .expect("valid parameters"),
        );
        let (x, y) = (
            bounded.label(&a, &b, BannerKind::Http),
            free.label(&a, &b, BannerKind::Http),
        );
        assert!(!bounded.last_truncated());
        assert_eq!(x, y);
    }

    /// Equal long values are one block, found without the quadratic scan.
    #[test]
    fn equal_values_are_stable_at_constant_work() {
        let a = header_banner(&vec![b'a'; MAX_LABEL_VALUE_BYTES]);
        let mut labeler = Labeler::default();
        let l = labeler.label(&a, &a, BannerKind::Http);
        assert!(!labeler.last_truncated());
        assert!(labeler.last_work() <= 3, "{}", labeler.last_work());
        assert_eq!(l.matched, 10 + MAX_LABEL_VALUE_BYTES + 12);
    }
}
