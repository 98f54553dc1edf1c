//! Nothing generic: the fingerprints a person would drop, dropped automatically and kept
//! beside the others with the reason.
//!
//! Four rules, applied in this order to every scored fingerprint of a header:
//!
//! 1. **Too little literal text** ([`DropReason::ShortLiteral`]): fewer than
//!    [`min_literal_bytes`](crate::FingerprintParams::min_literal_bytes) *informative* literal
//!    bytes. A literal byte is informative when it is an ASCII letter or digit (or a byte
//!    outside ASCII) and not part of the header's own syntax: for a cookie header, the
//!    cookie's attributes (everything from the first `;` of the value: `Path`, `Domain`,
//!    `Expires`, `Secure`, `HttpOnly`...); for `WWW-Authenticate` and `Proxy-Authenticate`,
//!    the scheme and parameter names and standard values ([`AUTH_SYNTAX`]: `Basic`, `Digest`,
//!    `realm`, `nonce`, `qop`, `auth`...); for a text protocol's greeting, the protocol's own
//!    words ([`TEXT_SYNTAX`]: `ESMTP`, `FTP`, `Server`, `ready`, `login`...) and Telnet option
//!    negotiation. The literal's bytes are located in the samples that
//!    produced the pattern, so a fragment such as `ath=/;\x20` counts as attribute text; the
//!    smallest count over the samples is taken. A pattern that spells its values out whole
//!    ([`Pattern::is_exact`]: `^Boa$`, `^Basic\x20realm="DVR"$`) and has at least one
//!    informative byte is exempt: it is not a fragment.
//! 2. **Too common** ([`DropReason::TooCommon`]): produced by more than half of the clusters
//!    of the clustering its source precision is measured in, and by at least three: a value
//!    every kind of device sends (`^keep\-alive$`), which the precision of the clusters that
//!    produced it cannot catch, since together they hold nearly every banner.
//! 3. **Low precision** ([`DropReason::LowPrecision`]): [`Fingerprint::source_precision`]
//!    (the share of all banners it matches that lie in the clusters it was made for, in the
//!    best clustering; a product that one clustering split into several clusters that all
//!    produced the pattern is not held against it) below
//!    [`min_precision`](crate::FingerprintParams::min_precision).
//! 4. **Duplicate** ([`DropReason::Duplicate`]): of the fingerprints of one header that match
//!    exactly the same set of banners, only the most specific is kept: most informative
//!    bytes, then most literal bytes, then highest precision, then the longest regex (then
//!    the smallest, for a stable choice). So no two emitted fingerprints of one header match
//!    the same set of records.

use std::collections::{BTreeMap, HashMap};
use std::fmt;

use serde::{Deserialize, Serialize};

use crate::generate::Fingerprint;
use crate::pattern::{Pattern, Token};

/// Words of `WWW-Authenticate` / `Proxy-Authenticate` syntax (RFC 7235, 7616, 7617, 6750 and
/// common schemes), compared ASCII case-insensitively with whole words of a value; they are
/// never informative literal text.
pub const AUTH_SYNTAX: &[&str] = &[
    "basic",
    "digest",
    "bearer",
    "negotiate",
    "ntlm",
    "kerberos",
    "hoba",
    "mutual",
    "realm",
    "nonce",
    "qop",
    "auth",
    "auth-int",
    "opaque",
    "algorithm",
    "stale",
    "domain",
    "charset",
    "userhash",
    "scope",
    "error",
    "error_description",
    "md5",
    "md5-sess",
    "sha-256",
    "sha-256-sess",
    "utf-8",
    "true",
    "false",
];

/// Words of text protocols' greetings (SMTP, FTP, Telnet, POP3, IMAP, NNTP), compared as
/// [`AUTH_SYNTAX`] is; never informative literal text. Telnet option negotiation (`0xFF`
/// and the two bytes after it) is never informative either.
pub const TEXT_SYNTAX: &[&str] = &[
    "esmtp",
    "smtp",
    "lmtp",
    "mail",
    "service",
    "services",
    "server",
    "ready",
    "welcome",
    "to",
    "at",
    "on",
    "the",
    "and",
    "for",
    "is",
    "ftp",
    "login",
    "password",
    "username",
    "user",
    "please",
    "enter",
    "system",
    "host",
    "connection",
    "pop3",
    "imap",
    "imap4",
    "imap4rev1",
    "nntp",
    "ok",
];

/// Why a fingerprint was dropped (see the module rules).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
#[non_exhaustive]
pub enum DropReason {
    /// Fewer informative literal bytes than the minimum.
    ShortLiteral {
        /// Informative literal bytes the pattern has.
        informative: usize,
        /// The minimum.
        min: usize,
    },
    /// Produced by more than half of the clusters of a clustering (and by at least
    /// three): common vocabulary (`^keep\-alive$`), not a product's.
    TooCommon {
        /// Clusters that produced it.
        clusters: usize,
        /// Clusters of that clustering.
        of: usize,
    },
    /// Precision below the threshold.
    LowPrecision {
        /// Its precision.
        precision: f64,
        /// The threshold.
        min: f64,
    },
    /// Matches the same banners as a more specific fingerprint of the same header.
    Duplicate {
        /// The regex of the fingerprint kept instead.
        of: String,
    },
}

impl DropReason {
    /// A short name for the reason: `short_literal`, `low_precision` or `duplicate`.
    pub fn name(&self) -> &'static str {
        match self {
            Self::ShortLiteral { .. } => "short_literal",
            Self::TooCommon { .. } => "too_common",
            Self::LowPrecision { .. } => "low_precision",
            Self::Duplicate { .. } => "duplicate",
        }
    }
}

impl fmt::Display for DropReason {
    /// ```
    /// use lcs_fingerprint::DropReason;
    /// let r = DropReason::ShortLiteral { informative: 0, min: 4 };
    /// assert_eq!(r.to_string(), "0 informative literal bytes (minimum 4)");
    /// ```
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::ShortLiteral { informative, min } => {
                write!(f, "{informative} informative literal bytes (minimum {min})")
            }
            Self::TooCommon { clusters, of } => {
                write!(f, "produced by {clusters} of {of} clusters")
            }
            Self::LowPrecision { precision, min } => {
                write!(f, "precision {precision:.3} below {min}")
            }
            Self::Duplicate { of } => write!(f, "matches the same banners as {of}"),
        }
    }
}

/// A fingerprint that was generated and dropped, with the reason.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DroppedFingerprint {
    /// The fingerprint as it would have been emitted.
    pub fingerprint: Fingerprint,
    /// Why it was dropped.
    pub reason: DropReason,
}

/// What generation yields: the fingerprints kept and those dropped, with reasons
/// ([`ValidFingerprintParams::generate_all`](crate::ValidFingerprintParams::generate_all)).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Generated {
    /// The fingerprints emitted.
    pub kept: Vec<Fingerprint>,
    /// The fingerprints dropped, with the reason.
    pub dropped: Vec<DroppedFingerprint>,
}

impl Generated {
    /// Dropped fingerprints per [`DropReason::name`].
    pub fn dropped_by_reason(&self) -> BTreeMap<&'static str, usize> {
        let mut out = BTreeMap::new();
        for d in &self.dropped {
            *out.entry(d.reason.name()).or_default() += 1;
        }
        out
    }
}

/// How a header's values are written, for counting informative bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Syntax {
    /// Any header: only non-alphanumeric bytes are uninformative.
    Plain,
    /// A cookie: the attributes after the first `;` are syntax.
    Cookie,
    /// An authentication challenge: [`AUTH_SYNTAX`] words are syntax.
    Auth,
    /// A text protocol's greeting: [`TEXT_SYNTAX`] words and Telnet negotiation are syntax.
    Text,
}

impl Syntax {
    /// Whether a header name is an authentication challenge header.
    pub(crate) fn is_auth(header: &str) -> bool {
        header.eq_ignore_ascii_case("WWW-Authenticate")
            || header.eq_ignore_ascii_case("Proxy-Authenticate")
    }
}

fn is_word_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b >= 0x80
}

/// Per byte of `value`: whether it is syntax of the header (never informative).
fn syntax_mask(value: &[u8], syntax: Syntax) -> Vec<bool> {
    let mut mask = vec![false; value.len()];
    match syntax {
        Syntax::Plain => {}
        Syntax::Cookie => {
            if let Some(at) = memchr::memchr(b';', value) {
                mask[at..].fill(true);
            }
        }
        Syntax::Auth | Syntax::Text => {
            let vocabulary = if syntax == Syntax::Auth {
                AUTH_SYNTAX
            } else {
                TEXT_SYNTAX
            };
            if syntax == Syntax::Text {
                for (i, &b) in value.iter().enumerate() {
                    if b == 0xFF {
                        let end = (i + 3).min(value.len());
                        mask[i..end].fill(true);
                    }
                }
            }
            let word = |b: u8| is_word_byte(b) || b == b'-' || b == b'_';
            let mut i = 0;
            while i < value.len() {
                if !word(value[i]) {
                    i += 1;
                    continue;
                }
                let start = i;
                while i < value.len() && word(value[i]) {
                    i += 1;
                }
                let w = &value[start..i];
                if vocabulary
                    .iter()
                    .any(|s| s.as_bytes().eq_ignore_ascii_case(w))
                {
                    mask[start..i].fill(true);
                }
            }
        }
    }
    mask
}

/// Fewest source clusters of a [`DropReason::TooCommon`] pattern.
const MIN_COMMON_SOURCES: usize = 3;

/// Most samples looked at when counting informative bytes.
const MAX_SAMPLES_COUNTED: usize = 16;

/// Informative literal bytes of `pattern` (see the module rules): the smallest count over
/// the samples it matches; without a sample that it matches, the letters and digits of its
/// literals.
pub(crate) fn informative_bytes(pattern: &Pattern, samples: &[&[u8]], syntax: Syntax) -> usize {
    let mut best: Option<usize> = None;
    for s in samples.iter().take(MAX_SAMPLES_COUNTED) {
        let Some(spans) = pattern.literal_spans(s) else {
            continue;
        };
        let mask = syntax_mask(s, syntax);
        let n = spans
            .into_iter()
            .flatten()
            .filter(|&i| is_word_byte(s[i]) && !mask[i])
            .count();
        best = Some(best.map_or(n, |b: usize| b.min(n)));
    }
    best.unwrap_or_else(|| {
        pattern
            .tokens()
            .iter()
            .map(|t| match t {
                Token::Lit(l) => l.iter().filter(|&&b| is_word_byte(b)).count(),
                _ => 0,
            })
            .sum()
    })
}

/// A scored fingerprint before the rules: what they need beside it.
pub(crate) struct Candidate {
    pub fingerprint: Fingerprint,
    pub informative: usize,
    pub literal_len: usize,
    pub exact: bool,
    /// Clusters that produced it in the clustering of its source precision.
    pub sources: usize,
    /// Clusters of that clustering.
    pub clusters: usize,
    /// Banner indices it matches, ascending.
    pub matched: Vec<u32>,
}

/// The rules of the module, on the candidates of one header.
pub(crate) fn select(
    candidates: Vec<Candidate>,
    min_literal_bytes: usize,
    min_precision: f64,
    dedup: bool,
    out: &mut Generated,
) {
    let mut survivors: Vec<Candidate> = Vec::with_capacity(candidates.len());
    for c in candidates {
        let exempt = c.exact && c.informative > 0;
        if c.informative < min_literal_bytes && !exempt {
            out.dropped.push(DroppedFingerprint {
                reason: DropReason::ShortLiteral {
                    informative: c.informative,
                    min: min_literal_bytes,
                },
                fingerprint: c.fingerprint,
            });
        } else if c.sources >= MIN_COMMON_SOURCES && 2 * c.sources > c.clusters {
            out.dropped.push(DroppedFingerprint {
                reason: DropReason::TooCommon {
                    clusters: c.sources,
                    of: c.clusters,
                },
                fingerprint: c.fingerprint,
            });
        } else if c.fingerprint.source_precision < min_precision {
            out.dropped.push(DroppedFingerprint {
                reason: DropReason::LowPrecision {
                    precision: c.fingerprint.source_precision,
                    min: min_precision,
                },
                fingerprint: c.fingerprint,
            });
        } else {
            survivors.push(c);
        }
    }
    if !dedup {
        out.kept
            .extend(survivors.into_iter().map(|c| c.fingerprint));
        return;
    }
    // Best candidate per matched set.
    let mut best: HashMap<&[u32], usize> = HashMap::new();
    for (i, c) in survivors.iter().enumerate() {
        let e = best.entry(c.matched.as_slice()).or_insert(i);
        if more_specific(c, &survivors[*e]) {
            *e = i;
        }
    }
    let winners: Vec<usize> = survivors
        .iter()
        .map(|c| best[c.matched.as_slice()])
        .collect();
    let regexes: Vec<String> = survivors
        .iter()
        .map(|c| c.fingerprint.regex.clone())
        .collect();
    for (i, c) in survivors.into_iter().enumerate() {
        if winners[i] == i {
            out.kept.push(c.fingerprint);
        } else {
            out.dropped.push(DroppedFingerprint {
                reason: DropReason::Duplicate {
                    of: regexes[winners[i]].clone(),
                },
                fingerprint: c.fingerprint,
            });
        }
    }
}

/// Whether `a` is more specific than `b` (see the module rules).
fn more_specific(a: &Candidate, b: &Candidate) -> bool {
    let key = |c: &Candidate| (c.informative, c.literal_len, c.fingerprint.precision);
    let (ka, kb) = (key(a), key(b));
    ka.0.cmp(&kb.0)
        .then(ka.1.cmp(&kb.1))
        .then(ka.2.total_cmp(&kb.2))
        .then(a.fingerprint.regex.len().cmp(&b.fingerprint.regex.len()))
        .then(b.fingerprint.regex.cmp(&a.fingerprint.regex))
        .is_gt()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pattern::Token;

    fn lit(s: &str) -> Token {
        Token::Lit(s.as_bytes().to_vec())
    }

    /// The generic patterns of issue 25, by hand: `ath=/;\x20` and `/(?:;.*)?$` lie in cookie
    /// attributes (0 informative bytes); ` realm="` is challenge syntax; `^Apache` has 6.
    #[test]
    fn informative_bytes_of_the_issue_examples() {
        let cookie: &[&[u8]] = &[b"sid=ab12; path=/; HttpOnly", b"x=1; Path=/; Secure"];
        let ath = Pattern::from_tokens([Token::Gap, lit("ath=/; "), Token::Gap]);
        assert_eq!(informative_bytes(&ath, cookie, Syntax::Cookie), 0);
        let slash = Pattern::from_tokens([Token::Gap, lit("/"), Token::CookieTail]);
        let slash_samples: &[&[u8]] = &[b"a=b; path=/", b"c=d; path=/"];
        assert_eq!(informative_bytes(&slash, slash_samples, Syntax::Cookie), 0);
        let php = Pattern::from_tokens([lit("PHPSESSID="), Token::CookieValue, Token::CookieTail]);
        let php_samples: &[&[u8]] = &[b"PHPSESSID=abc; path=/"];
        assert_eq!(informative_bytes(&php, php_samples, Syntax::Cookie), 9);
        let realm = Pattern::from_tokens([Token::Gap, lit(" realm=\""), Token::Gap]);
        let auth: &[&[u8]] = &[
            b"Basic realm=\"Router\"",
            b"Digest realm=\"x\", qop=\"auth\"",
        ];
        assert_eq!(informative_bytes(&realm, auth, Syntax::Auth), 0);
        let polycom =
            Pattern::from_tokens([lit("Digest realm=\"PolycomSPIP\", nonce=\""), Token::Gap]);
        let polycom_samples: &[&[u8]] = &[b"Digest realm=\"PolycomSPIP\", nonce=\"12\""];
        assert_eq!(
            informative_bytes(&polycom, polycom_samples, Syntax::Auth),
            11
        );
        let apache = Pattern::from_tokens([lit("Apache"), Token::Gap]);
        let apache_samples: &[&[u8]] = &[b"Apache/2.4.1", b"Apache"];
        assert_eq!(informative_bytes(&apache, apache_samples, Syntax::Plain), 6);
        // Greetings: protocol words and Telnet negotiation are syntax, product names are not.
        let esmtp = Pattern::from_tokens([Token::Gap, lit(" ESMTP"), Token::Gap]);
        let smtp: &[&[u8]] = &[b"mx1.example.org ESMTP Postfix (Ubuntu)"];
        assert_eq!(informative_bytes(&esmtp, smtp, Syntax::Text), 0);
        let postfix = Pattern::from_tokens([Token::Gap, lit(" ESMTP Postfix (Ubuntu)")]);
        assert_eq!(informative_bytes(&postfix, smtp, Syntax::Text), 13);
        let iac = Pattern::from_tokens([
            Token::Lit(vec![0xff, 0xfb, 0x01]),
            Token::Gap,
            lit("ogin: "),
        ]);
        let telnet: &[&[u8]] = &[b"\xff\xfb\x01\r\nrouter login: "];
        assert_eq!(informative_bytes(&iac, telnet, Syntax::Text), 0);
        // No sample: the letters and digits of the literals.
        assert_eq!(informative_bytes(&apache, &[], Syntax::Plain), 6);
    }

    fn candidate(regex: &str, precision: f64, informative: usize, matched: &[u32]) -> Candidate {
        let fingerprint: Fingerprint = serde_json::from_value(serde_json::json!({
            "header": "Server", "regex": regex, "clustering": "c", "cluster": 0,
            "support": 1, "cluster_size": 1, "matched": matched.len(), "precision": precision,
            "source_precision": precision, "draws": 1, "sources": [], "examples": []
        }))
        .unwrap_or_else(|e| panic!("{e}"));
        Candidate {
            literal_len: informative,
            informative,
            exact: regex.ends_with('$') && !regex.contains(".*"),
            sources: 1,
            clusters: 10,
            matched: matched.to_vec(),
            fingerprint,
        }
    }

    /// Known answer: a short fragment, a low-precision prefix, and three Jetty variants of
    /// which two match the same banners (the longer is kept, the other names it).
    #[test]
    fn rules_in_order_with_reasons() {
        let mut out = Generated::default();
        select(
            vec![
                candidate("ecure", 0.98, 0, &[1, 2]),
                candidate("^Apache", 0.17, 6, &[1, 2, 3]),
                candidate("^Jetty\\(", 0.9, 5, &[4, 5]),
                candidate("^Jetty\\(9\\.4", 0.95, 7, &[4, 5]),
                candidate("^Jetty\\(9\\.4\\.1", 1.0, 9, &[4]),
                candidate("^Boa$", 1.0, 3, &[6]),
            ],
            4,
            0.5,
            true,
            &mut out,
        );
        let mut common = Generated::default();
        let mut keep_alive = candidate("^keep\\-alive$", 0.97, 9, &[1, 2, 3, 4, 5, 6]);
        (keep_alive.sources, keep_alive.clusters) = (6, 10);
        let mut split = candidate("^cloudflare$", 0.97, 10, &[7, 8]);
        (split.sources, split.clusters) = (5, 10);
        select(vec![keep_alive, split], 4, 0.5, true, &mut common);
        assert_eq!(common.kept.len(), 1);
        assert_eq!(
            common.dropped[0].reason,
            DropReason::TooCommon {
                clusters: 6,
                of: 10
            }
        );
        let kept: Vec<&str> = out.kept.iter().map(|f| f.regex.as_str()).collect();
        assert_eq!(kept, ["^Jetty\\(9\\.4", "^Jetty\\(9\\.4\\.1", "^Boa$"]);
        let reasons: Vec<(&str, &DropReason)> = out
            .dropped
            .iter()
            .map(|d| (d.fingerprint.regex.as_str(), &d.reason))
            .collect();
        assert_eq!(
            reasons,
            [
                (
                    "ecure",
                    &DropReason::ShortLiteral {
                        informative: 0,
                        min: 4
                    }
                ),
                (
                    "^Apache",
                    &DropReason::LowPrecision {
                        precision: 0.17,
                        min: 0.5
                    }
                ),
                (
                    "^Jetty\\(",
                    &DropReason::Duplicate {
                        of: "^Jetty\\(9\\.4".into()
                    }
                ),
            ]
        );
        assert_eq!(
            out.dropped_by_reason().into_iter().collect::<Vec<_>>(),
            [("duplicate", 1), ("low_precision", 1), ("short_literal", 1)]
        );
        let json = serde_json::to_string(&out).unwrap_or_else(|e| panic!("{e}"));
        let back: Generated = serde_json::from_str(&json).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(back, out);
        assert!(json.contains("\"type\":\"short_literal\""), "{json}");
    }
}
