//! Parameters of fingerprint generation: the builder
//! ([`FingerprintParams`]), its validation
//! ([`FingerprintParams::check`]) and the checked form's accessors
//! ([`ValidFingerprintParams`]). The algorithm is in `generate.rs`.

use serde::{Deserialize, Serialize};

use crate::error::{ParamsError, Result};
use crate::filter::Generated;
use crate::generate::{Clustering, Fingerprint};
use crate::sanitize::DEFAULT_COOKIE_ATTRIBUTES;

/// How the common pieces of one draw are found.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Method {
    /// k strings at once: longest common substring of all of them, split,
    /// recurse (see [`CommonPieces`](crate::CommonPieces)).
    #[default]
    Lcs,
    /// The authors' published method: fold the values pairwise with difflib's
    /// matching blocks (`get_matching_blocks`, autojunk off), keeping blocks
    /// of at least `min_piece_len` bytes.
    Difflib,
}
/// Parameters of fingerprint generation (unchecked; see [`FingerprintParams::check`]).
///
/// ```
/// use lcs_fingerprint::{Clustering, FingerprintParams};
///
/// let banners: Vec<Vec<u8>> = (0..6)
///     .map(|i| {
///         let (server, cookie) = if i < 3 { ("nginx/1.18.0", "sid") } else { ("Apache/2.4.41 (Ubuntu)", "PHPSESSID") };
///         let id = (i as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15);
///         format!("HTTP/1.1 200 OK\r\nServer: {server}\r\nSet-Cookie: {cookie}={id:x}; path=/\r\n\r\n").into_bytes()
///     })
///     .collect();
/// let clusters = Clustering { name: "0.05".into(), labels: vec![Some(0), Some(0), Some(0), Some(1), Some(1), Some(1)] };
/// let fps = FingerprintParams::default().k(3).n_draws(5).seed(7).generate(&banners, &[clusters])?;
/// let server: Vec<&str> = fps.iter().filter(|f| f.header == "Server").map(|f| f.regex.as_str()).collect();
/// assert!(server.contains(&r"^nginx/(?P<version>[0-9]+(?:\.[0-9]+)*(?:[a-z]+[0-9]*)?)$"), "{fps:#?}");
/// assert!(fps.iter().any(|f| f.regex == "^PHPSESSID=[^;]*(?:;.*)?$" && f.precision == 1.0), "{fps:#?}");
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, PartialEq)]
#[must_use]
pub struct FingerprintParams(ValidFingerprintParams);

/// Checked parameters of fingerprint generation (getters only).
#[derive(Debug, Clone, PartialEq)]
// Independent on/off switches of the sanitizer and the filter.
#[allow(clippy::struct_excessive_bools)]
pub struct ValidFingerprintParams {
    pub(crate) headers: Vec<String>,
    pub(crate) k: usize,
    pub(crate) n_draws: usize,
    pub(crate) min_piece_len: usize,
    pub(crate) min_samples: usize,
    pub(crate) seed: u64,
    pub(crate) method: Method,
    pub(crate) versions: bool,
    pub(crate) cookie_tail: bool,
    pub(crate) collapse: bool,
    pub(crate) cookie_headers: Vec<String>,
    pub(crate) cookie_attributes: Vec<String>,
    pub(crate) min_precision: f64,
    pub(crate) max_examples: usize,
    pub(crate) max_occurrences: usize,
    pub(crate) max_value_len: usize,
    pub(crate) min_literal_bytes: usize,
    pub(crate) dedup: bool,
    pub(crate) header_share: Option<f64>,
}

/// Default [`FingerprintParams::min_precision`]: a fingerprint must find at least 40% of
/// the banners it matches in the clusters it was made for. The generic patterns of issue 25
/// measured 17% (`^Apache`) to 37% (cookie path fragments) on scan data bannerlm did not
/// generate; on scan-sim, product-specific patterns of products that clustering spreads
/// over clusters of other products measure 45% and more (`^GoAhead\-`, `^ZM_LOGIN_CSRF=`).
pub const DEFAULT_MIN_PRECISION: f64 = 0.4;

/// Default [`FingerprintParams::min_literal_bytes`]: informative literal bytes (letters and
/// digits outside the header's syntax) a fingerprint needs.
pub const DEFAULT_MIN_LITERAL_BYTES: usize = 4;

impl Default for FingerprintParams {
    /// The paper's settings: Server, Set-Cookie and WWW-Authenticate; 100
    /// draws of 10 values; pieces of at least 5 bytes; the k-string LCS
    /// method; all sanitizing on; nothing generic: at least
    /// [`DEFAULT_MIN_LITERAL_BYTES`] informative literal bytes, precision at
    /// least [`DEFAULT_MIN_PRECISION`], duplicates dropped.
    fn default() -> Self {
        Self(ValidFingerprintParams {
            headers: ["Server", "Set-Cookie", "WWW-Authenticate"]
                .map(String::from)
                .to_vec(),
            k: 10,
            n_draws: 100,
            min_piece_len: 5,
            min_samples: 2,
            seed: 0,
            method: Method::Lcs,
            versions: true,
            cookie_tail: true,
            collapse: true,
            cookie_headers: vec!["Set-Cookie".to_owned()],
            cookie_attributes: DEFAULT_COOKIE_ATTRIBUTES
                .iter()
                .map(|s| (*s).to_owned())
                .collect(),
            min_precision: DEFAULT_MIN_PRECISION,
            max_examples: 3,
            max_occurrences: 8,
            max_value_len: 1024,
            min_literal_bytes: DEFAULT_MIN_LITERAL_BYTES,
            dedup: true,
            header_share: None,
        })
    }
}

impl FingerprintParams {
    /// The default parameters (see [`Default`]).
    pub fn new() -> Self {
        Self::default()
    }

    /// Header names to fingerprint (ASCII case-insensitive).
    pub fn headers<S: Into<String>>(mut self, headers: impl IntoIterator<Item = S>) -> Self {
        self.0.headers = headers.into_iter().map(Into::into).collect();
        self
    }

    /// Values per draw (paper: 10). At least 2.
    pub fn k(mut self, k: usize) -> Self {
        self.0.k = k;
        self
    }

    /// Draws per cluster, header and occurrence (paper: 100). At least 1.
    pub fn n_draws(mut self, n: usize) -> Self {
        self.0.n_draws = n;
        self
    }

    /// Shortest literal piece kept (the authors' code: 5). At least 1.
    pub fn min_piece_len(mut self, n: usize) -> Self {
        self.0.min_piece_len = n;
        self
    }

    /// Fewest values a cluster must have for a header before it is
    /// fingerprinted (a cluster with fewer than `k` but at least this many is
    /// drawn once, whole). In `1..=k`.
    pub fn min_samples(mut self, n: usize) -> Self {
        self.0.min_samples = n;
        self
    }

    /// Seed of the draws; each (clustering, cluster, header, occurrence)
    /// gets its own stream derived from it, so results do not depend on
    /// processing order.
    pub fn seed(mut self, seed: u64) -> Self {
        self.0.seed = seed;
        self
    }

    /// How common pieces are found.
    pub fn method(mut self, method: Method) -> Self {
        self.0.method = method;
        self
    }

    /// Generalise version numbers into `(?P<version>...)` (default on).
    pub fn versions(mut self, on: bool) -> Self {
        self.0.versions = on;
        self
    }

    /// Trim cookie attribute residue into an optional tail (default on).
    pub fn cookie_tail(mut self, on: bool) -> Self {
        self.0.cookie_tail = on;
        self
    }

    /// Collapse near-duplicates that differ only in digits, and let digit
    /// runs that touch a gap join it (default on).
    pub fn collapse(mut self, on: bool) -> Self {
        self.0.collapse = on;
        self
    }

    /// Headers whose values are cookies (default `Set-Cookie`).
    pub fn cookie_headers<S: Into<String>>(mut self, headers: impl IntoIterator<Item = S>) -> Self {
        self.0.cookie_headers = headers.into_iter().map(Into::into).collect();
        self
    }

    /// Cookie attribute names whose residue is trimmed (default:
    /// [`DEFAULT_COOKIE_ATTRIBUTES`]).
    pub fn cookie_attributes<S: Into<String>>(
        mut self,
        names: impl IntoIterator<Item = S>,
    ) -> Self {
        self.0.cookie_attributes = names.into_iter().map(Into::into).collect();
        self
    }

    /// Drop fingerprints whose precision ([`Fingerprint::source_precision`]:
    /// the share of the banners it matches that lie in the clusters that
    /// produced it) is below this
    /// (default [`DEFAULT_MIN_PRECISION`]; 0 keeps all), with
    /// [`DropReason::LowPrecision`](crate::DropReason::LowPrecision). In `[0, 1]`.
    pub fn min_precision(mut self, p: f64) -> Self {
        self.0.min_precision = p;
        self
    }

    /// Examples kept per fingerprint (default 3).
    pub fn max_examples(mut self, n: usize) -> Self {
        self.0.max_examples = n;
        self
    }

    /// Occurrences of a repeated header fingerprinted separately (the first
    /// `n` Set-Cookie lines, say; default 8).
    pub fn max_occurrences(mut self, n: usize) -> Self {
        self.0.max_occurrences = n;
        self
    }

    /// Values longer than this many bytes are left out of the draws (they
    /// are still scored); bounds the work and memory an oversized,
    /// attacker-controlled header can cost (default 1024: the recursion is
    /// linear per level but as deep as the number of pieces, so long values
    /// made of many equal-length pieces cost quadratic time; see
    /// docs/performance-history.md, "Growth with k and with value length"). At least 1.
    pub fn max_value_len(mut self, n: usize) -> Self {
        self.0.max_value_len = n;
        self
    }

    /// Drop fingerprints with fewer informative literal bytes than this
    /// (letters and digits outside the header's syntax: cookie attributes,
    /// authentication scheme and parameter names; see
    /// [`DropReason::ShortLiteral`](crate::DropReason::ShortLiteral)); a
    /// pattern that spells its values out whole, with at least one
    /// informative byte, is exempt.
    /// Default [`DEFAULT_MIN_LITERAL_BYTES`]; 0 keeps all.
    pub fn min_literal_bytes(mut self, n: usize) -> Self {
        self.0.min_literal_bytes = n;
        self
    }

    /// Of the fingerprints of one header that match the same set of banners,
    /// keep only the most specific (default on; see
    /// [`DropReason::Duplicate`](crate::DropReason::Duplicate)).
    pub fn dedup(mut self, on: bool) -> Self {
        self.0.dedup = on;
        self
    }

    /// Fingerprint every header carried by at least `share` of a cluster's
    /// members (as the paper did), besides the configured ones; each such
    /// header is fingerprinted only in the clusters where it reaches that
    /// share (the configured ones in every cluster). `None` (the default): the
    /// configured headers only. In `(0, 1]`.
    ///
    /// ```
    /// use lcs_fingerprint::{Clustering, FingerprintParams};
    ///
    /// let banners: Vec<String> = (0..12)
    ///     .map(|i| format!("HTTP/1.1 200 OK\r\nServer: Acme/1.{i}\r\nX-Acme-Node: node-{}\r\n\r\n", i * 7919))
    ///     .collect();
    /// let clusters = [Clustering { name: "0.05".into(), labels: vec![Some(0); 12] }];
    /// let server_only = FingerprintParams::default().generate(&banners, &clusters)?;
    /// assert!(server_only.iter().all(|f| f.header == "Server"));
    /// let all = FingerprintParams::default().all_headers(Some(0.5)).generate(&banners, &clusters)?;
    /// assert!(all.iter().any(|f| f.header == "X-Acme-Node" && f.regex == "^node\\-"), "{all:#?}");
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn all_headers(mut self, share: Option<f64>) -> Self {
        self.0.header_share = share;
        self
    }

    /// Validates the parameters.
    ///
    /// # Errors
    ///
    /// The first invalid value, as a [`ParamsError`].
    pub fn check(self) -> Result<ValidFingerprintParams, ParamsError> {
        self.check_ref()?;
        Ok(self.0)
    }

    /// Validates the parameters without consuming them.
    ///
    /// # Errors
    ///
    /// The first invalid value, as a [`ParamsError`].
    pub fn check_ref(&self) -> Result<&ValidFingerprintParams, ParamsError> {
        let p = &self.0;
        if p.k < 2 {
            return Err(ParamsError::K(p.k));
        }
        if p.n_draws == 0 {
            return Err(ParamsError::Draws);
        }
        if p.min_piece_len == 0 {
            return Err(ParamsError::MinPieceLen);
        }
        if p.min_samples == 0 || p.min_samples > p.k {
            return Err(ParamsError::MinSamples(p.min_samples));
        }
        if p.headers.is_empty() || p.headers.iter().any(String::is_empty) {
            return Err(ParamsError::Headers);
        }
        if !(0.0..=1.0).contains(&p.min_precision) {
            return Err(ParamsError::MinPrecision(p.min_precision));
        }
        if p.max_examples == 0 {
            return Err(ParamsError::MaxExamples);
        }
        if p.max_value_len == 0 {
            return Err(ParamsError::MaxValueLen);
        }
        if let Some(share) = p.header_share
            && !(share > 0.0 && share <= 1.0)
        {
            return Err(ParamsError::HeaderShare(share));
        }
        Ok(p)
    }

    /// Validates, then generates (see [`ValidFingerprintParams::generate`]).
    ///
    /// # Errors
    ///
    /// [`Error::Params`](crate::Error::Params) for invalid parameters, else as
    /// [`ValidFingerprintParams::generate`].
    pub fn generate<B: AsRef<[u8]>>(
        &self,
        banners: &[B],
        clusterings: &[Clustering],
    ) -> Result<Vec<Fingerprint>> {
        self.check_ref()?.generate(banners, clusterings)
    }

    /// Validates, then generates with the dropped fingerprints (see
    /// [`ValidFingerprintParams::generate_all`]).
    ///
    /// # Errors
    ///
    /// [`Error::Params`](crate::Error::Params) for invalid parameters, else as
    /// [`ValidFingerprintParams::generate_all`].
    pub fn generate_all<B: AsRef<[u8]>>(
        &self,
        banners: &[B],
        clusterings: &[Clustering],
    ) -> Result<Generated> {
        self.check_ref()?.generate_all(banners, clusterings)
    }
}

impl ValidFingerprintParams {
    /// Header names.
    pub fn headers(&self) -> &[String] {
        &self.headers
    }
    /// Values per draw.
    pub fn k(&self) -> usize {
        self.k
    }
    /// Draws per cluster, header and occurrence.
    pub fn n_draws(&self) -> usize {
        self.n_draws
    }
    /// Shortest literal piece.
    pub fn min_piece_len(&self) -> usize {
        self.min_piece_len
    }
    /// Fewest values needed to fingerprint a header of a cluster.
    pub fn min_samples(&self) -> usize {
        self.min_samples
    }
    /// Seed.
    pub fn seed(&self) -> u64 {
        self.seed
    }
    /// Method.
    pub fn method(&self) -> Method {
        self.method
    }
    /// Whether versions are generalised.
    pub fn versions(&self) -> bool {
        self.versions
    }
    /// Whether cookie residue is trimmed.
    pub fn cookie_tail(&self) -> bool {
        self.cookie_tail
    }
    /// Whether near-duplicates collapse.
    pub fn collapse(&self) -> bool {
        self.collapse
    }
    /// Cookie headers.
    pub fn cookie_headers(&self) -> &[String] {
        &self.cookie_headers
    }
    /// Cookie attribute names.
    pub fn cookie_attributes(&self) -> &[String] {
        &self.cookie_attributes
    }
    /// Precision filter.
    pub fn min_precision(&self) -> f64 {
        self.min_precision
    }
    /// Examples per fingerprint.
    pub fn max_examples(&self) -> usize {
        self.max_examples
    }
    /// Occurrences of a repeated header fingerprinted.
    pub fn max_occurrences(&self) -> usize {
        self.max_occurrences
    }
    /// Longest value drawn.
    pub fn max_value_len(&self) -> usize {
        self.max_value_len
    }
    /// Fewest informative literal bytes.
    pub fn min_literal_bytes(&self) -> usize {
        self.min_literal_bytes
    }
    /// Whether duplicates (same matched banners) are dropped.
    pub fn dedup(&self) -> bool {
        self.dedup
    }
    /// The share of a cluster's members a header needs to be fingerprinted, when every
    /// header is.
    pub fn all_headers(&self) -> Option<f64> {
        self.header_share
    }
}
