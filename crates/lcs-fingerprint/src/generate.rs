//! Per-header fingerprint generation from cluster memberships: draws,
//! pooling, sanitizing, scoring.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::io::Write;

use banner_parse::HttpBanner;
use rand::SeedableRng as _;
use rand::rngs::Xoshiro256PlusPlus;
use serde::{Deserialize, Serialize};

use crate::error::{Error, ParamsError, Result};
use crate::pattern::Pattern;
use crate::pieces::PieceFinder;
use crate::sanitize::{self, DEFAULT_COOKIE_ATTRIBUTES, SanitizeOptions};

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

/// One clustering of the banners: a label per banner, `None` for noise.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Clustering {
    /// Its name, e.g. the HDBSCAN epsilon (`"0.05"`).
    pub name: String,
    /// One label per banner, in banner order; `None` is noise.
    pub labels: Vec<Option<usize>>,
}

/// Where a fingerprint came from: a cluster of a clustering.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct ClusterRef {
    /// The clustering's name.
    pub clustering: String,
    /// The cluster label.
    pub cluster: usize,
}

/// A generated fingerprint: one JSONL line of the output.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Fingerprint {
    /// The header it applies to, as configured (e.g. `Server`).
    pub header: String,
    /// The regex; compile it with [`compile_regex`](crate::compile_regex)
    /// (bytes, Unicode off, `.` matches `\n`). A banner matches when any of
    /// its values of `header` matches.
    pub regex: String,
    /// The clustering of the cluster it is scored against.
    pub clustering: String,
    /// The cluster it is scored against: among the clusters whose draws
    /// produced it, the one with the highest precision (then support).
    pub cluster: usize,
    /// Banners of that cluster it matches.
    pub support: usize,
    /// Banners of that cluster.
    pub cluster_size: usize,
    /// Banners it matches in the whole input.
    pub matched: usize,
    /// `support / matched`: the share of its matches that are in its cluster.
    pub precision: f64,
    /// Draws whose (sanitized) pattern became this fingerprint, over all sources.
    pub draws: usize,
    /// Every cluster whose draws produced it (pooled over clusterings).
    pub sources: Vec<ClusterRef>,
    /// A few distinct sample values, escaped for display with `banner_parse::escape_bytes`.
    pub examples: Vec<String>,
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
pub struct FingerprintParams(FingerprintValidParams);

/// Checked parameters of fingerprint generation (getters only).
#[derive(Debug, Clone, PartialEq)]
pub struct FingerprintValidParams {
    headers: Vec<String>,
    k: usize,
    n_draws: usize,
    min_piece_len: usize,
    min_samples: usize,
    seed: u64,
    method: Method,
    versions: bool,
    cookie_tail: bool,
    collapse: bool,
    cookie_headers: Vec<String>,
    cookie_attributes: Vec<String>,
    min_precision: f64,
    max_examples: usize,
    max_occurrences: usize,
    max_value_len: usize,
}

impl Default for FingerprintParams {
    /// The paper's settings: Server, Set-Cookie and WWW-Authenticate; 100
    /// draws of 10 values; pieces of at least 5 bytes; the k-string LCS
    /// method; all sanitizing on; no precision filter.
    fn default() -> Self {
        Self(FingerprintValidParams {
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
            min_precision: 0.0,
            max_examples: 3,
            max_occurrences: 8,
            max_value_len: 1024,
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

    /// Drop fingerprints whose precision is below this (default 0: keep all).
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
    /// docs/PERFORMANCE.md). At least 1.
    pub fn max_value_len(mut self, n: usize) -> Self {
        self.0.max_value_len = n;
        self
    }

    /// Validates the parameters.
    ///
    /// # Errors
    ///
    /// The first invalid value, as a [`ParamsError`].
    pub fn check(self) -> Result<FingerprintValidParams, ParamsError> {
        self.check_ref()?;
        Ok(self.0)
    }

    /// Validates the parameters without consuming them.
    ///
    /// # Errors
    ///
    /// The first invalid value, as a [`ParamsError`].
    pub fn check_ref(&self) -> Result<&FingerprintValidParams, ParamsError> {
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
        Ok(p)
    }

    /// Validates, then generates (see [`FingerprintValidParams::generate`]).
    ///
    /// # Errors
    ///
    /// [`Error::Params`] for invalid parameters, else as
    /// [`FingerprintValidParams::generate`].
    pub fn generate<B: AsRef<[u8]>>(
        &self,
        banners: &[B],
        clusterings: &[Clustering],
    ) -> Result<Vec<Fingerprint>> {
        self.check_ref()?.generate(banners, clusterings)
    }
}

/// A pooled pattern: where it came from and the samples that produced it.
#[derive(Debug, Clone, Default)]
struct Pooled<'a> {
    draws: usize,
    sources: BTreeSet<(usize, usize)>,
    samples: BTreeSet<&'a [u8]>,
}

/// Cap on distinct samples kept per pattern (for checks and examples).
const MAX_SAMPLES: usize = 64;

impl<'a> Pooled<'a> {
    fn absorb(&mut self, other: Pooled<'a>) {
        self.draws += other.draws;
        self.sources.extend(other.sources);
        for s in other.samples {
            if self.samples.len() >= MAX_SAMPLES {
                break;
            }
            self.samples.insert(s);
        }
    }
}

impl FingerprintValidParams {
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

    /// The raw pattern of one draw of values (the configured method and
    /// minimum piece length, no sanitizing); `None` when it has no literal.
    ///
    /// ```
    /// use lcs_fingerprint::{FingerprintParams, Method};
    ///
    /// let p = FingerprintParams::default().method(Method::Difflib).check()?;
    /// let values = ["Microsoft-IIS/10.0", "Microsoft-IIS/8.5"];
    /// assert_eq!(p.raw_pattern(&values).map(|p| p.regex()).as_deref(), Some("^Microsoft\\-IIS/"));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn raw_pattern<S: AsRef<[u8]>>(&self, values: &[S]) -> Option<Pattern> {
        self.raw_with(&mut PieceFinder::new(), values)
    }

    fn raw_with<S: AsRef<[u8]>>(&self, finder: &mut PieceFinder, values: &[S]) -> Option<Pattern> {
        let p = match self.method {
            Method::Lcs => {
                if values.is_empty() {
                    return None;
                }
                Pattern::from_pieces(&finder.find(values, self.min_piece_len))
            }
            Method::Difflib => crate::difflib::fold(values, self.min_piece_len)?,
        };
        (!p.is_bare()).then_some(p)
    }

    /// The sanitized pattern of one draw of values of `header`: the raw
    /// pattern with the configured rewrites, each kept only if the values
    /// still match. `None` when nothing but gaps and tails is left.
    pub fn pattern<S: AsRef<[u8]>>(&self, header: &str, values: &[S]) -> Option<Pattern> {
        let raw = self.raw_pattern(values)?;
        let samples: Vec<&[u8]> = values.iter().map(AsRef::as_ref).collect();
        let p = sanitize::sanitize(
            &raw,
            &samples,
            self.is_cookie(header),
            &self.sanitize_options(),
        );
        (!p.is_bare()).then_some(p)
    }

    fn sanitize_options(&self) -> SanitizeOptions {
        SanitizeOptions {
            versions: self.versions,
            cookie: self.cookie_tail,
            cookie_attributes: self.cookie_attributes.clone(),
            digits_at_gaps: self.collapse,
        }
    }

    fn is_cookie(&self, header: &str) -> bool {
        self.cookie_headers
            .iter()
            .any(|c| c.eq_ignore_ascii_case(header))
    }

    /// Generates fingerprints for the configured headers of HTTP `banners`
    /// (raw response heads), from one or more clusterings of them.
    ///
    /// For every clustering, cluster, header and occurrence index `o` of the
    /// header (the `o`-th `Set-Cookie` line, say), the pool is the cluster's
    /// banners that have that occurrence; `n_draws` draws of `k` distinct
    /// pool members each give one raw pattern (a pool of `min_samples..=k`
    /// members is drawn once, whole). Equal raw patterns are merged, then
    /// sanitized against their samples, pooled over all clusterings and
    /// deduplicated, near-duplicates collapsed, bare patterns dropped, and
    /// each result scored against every banner: support and precision
    /// relative to the best of the clusters that produced it.
    ///
    /// Output order: by header (as configured), then precision, support and
    /// regex, descending-descending-ascending.
    ///
    /// # Errors
    ///
    /// [`Error::LabelCount`] when a clustering's labels do not line up with
    /// `banners`; [`Error::Regex`] if a pattern exceeds the regex size limit.
    pub fn generate<B: AsRef<[u8]>>(
        &self,
        banners: &[B],
        clusterings: &[Clustering],
    ) -> Result<Vec<Fingerprint>> {
        for c in clusterings {
            if c.labels.len() != banners.len() {
                return Err(Error::LabelCount {
                    clustering: c.name.clone(),
                    labels: c.labels.len(),
                    banners: banners.len(),
                });
            }
        }
        // values[h][i]: the values of header h in banner i.
        let parsed: Vec<HttpBanner<'_>> = banners
            .iter()
            .map(|b| HttpBanner::parse(b.as_ref()))
            .collect();
        let values: Vec<Vec<Vec<&[u8]>>> = self
            .headers
            .iter()
            .map(|h| parsed.iter().map(|p| p.get_all(h).collect()).collect())
            .collect();
        let mut out = Vec::new();
        for (hi, header) in self.headers.iter().enumerate() {
            let pooled = self.pool_header(header, hi, &values[hi], clusterings);
            out.extend(self.score(header, &values[hi], clusterings, pooled)?);
        }
        Ok(out)
    }

    /// Draws, raw patterns, sanitizing and pooling for one header.
    fn pool_header<'a>(
        &self,
        header: &str,
        hi: usize,
        values: &[Vec<&'a [u8]>],
        clusterings: &[Clustering],
    ) -> Vec<(Pattern, Pooled<'a>)> {
        let mut finder = PieceFinder::new();
        let opts = self.sanitize_options();
        let cookie = self.is_cookie(header);
        let mut pooled: BTreeMap<Pattern, Pooled<'a>> = BTreeMap::new();
        let mut draw: Vec<&'a [u8]> = Vec::with_capacity(self.k);
        for (ci, c) in clusterings.iter().enumerate() {
            let mut members: BTreeMap<usize, Vec<usize>> = BTreeMap::new();
            for (i, l) in c.labels.iter().enumerate() {
                if let Some(l) = l {
                    members.entry(*l).or_default().push(i);
                }
            }
            for (&label, m) in &members {
                let max_occ = m.iter().map(|&i| values[i].len()).max().unwrap_or(0);
                for occ in 0..max_occ.min(self.max_occurrences) {
                    let pool: Vec<&'a [u8]> = m
                        .iter()
                        .filter_map(|&i| values[i].get(occ).copied())
                        .filter(|v| v.len() <= self.max_value_len)
                        .collect();
                    if pool.len() < self.min_samples {
                        continue;
                    }
                    let mut raw: BTreeMap<Pattern, Pooled<'a>> = BTreeMap::new();
                    let mut rng = Xoshiro256PlusPlus::seed_from_u64(mix(&[
                        self.seed,
                        ci as u64,
                        label as u64,
                        hi as u64,
                        occ as u64,
                    ]));
                    let n_draws = if pool.len() <= self.k {
                        1
                    } else {
                        self.n_draws
                    };
                    for _ in 0..n_draws {
                        draw.clear();
                        if pool.len() <= self.k {
                            draw.extend_from_slice(&pool);
                        } else {
                            draw.extend(
                                rand::seq::index::sample(&mut rng, pool.len(), self.k)
                                    .iter()
                                    .map(|j| pool[j]),
                            );
                        }
                        let Some(p) = self.raw_with(&mut finder, &draw) else {
                            continue;
                        };
                        let e = raw.entry(p).or_default();
                        e.draws += 1;
                        for s in &draw {
                            if e.samples.len() >= MAX_SAMPLES {
                                break;
                            }
                            e.samples.insert(s);
                        }
                    }
                    for (p, mut e) in raw {
                        let samples: Vec<&[u8]> = e.samples.iter().copied().collect();
                        let clean = sanitize::sanitize(&p, &samples, cookie, &opts);
                        if clean.is_bare() {
                            continue;
                        }
                        e.sources.insert((ci, label));
                        pooled.entry(clean).or_default().absorb(e);
                    }
                }
            }
        }
        if !self.collapse {
            return pooled.into_iter().collect();
        }
        let (patterns, entries): (Vec<Pattern>, Vec<Pooled<'a>>) = pooled.into_iter().unzip();
        let (group_of, merged) = sanitize::collapse(&patterns);
        let mut groups: Vec<Pooled<'a>> = vec![Pooled::default(); merged.len()];
        for (e, g) in entries.into_iter().zip(group_of) {
            groups[g].absorb(e);
        }
        merged.into_iter().zip(groups).collect()
    }

    /// Support and precision of every pooled pattern against all banners.
    fn score(
        &self,
        header: &str,
        values: &[Vec<&[u8]>],
        clusterings: &[Clustering],
        pooled: Vec<(Pattern, Pooled<'_>)>,
    ) -> Result<Vec<Fingerprint>> {
        // Distinct values -> banners that carry them.
        let mut distinct: HashMap<&[u8], Vec<u32>> = HashMap::new();
        for (i, vs) in values.iter().enumerate() {
            for v in vs {
                let e = distinct.entry(*v).or_default();
                if e.last() != Some(&(i as u32)) {
                    e.push(i as u32);
                }
            }
        }
        let distinct: Vec<(&[u8], Vec<u32>)> = distinct.into_iter().collect();
        let sizes: Vec<HashMap<usize, usize>> = clusterings
            .iter()
            .map(|c| {
                let mut m = HashMap::new();
                for l in c.labels.iter().flatten() {
                    *m.entry(*l).or_insert(0) += 1;
                }
                m
            })
            .collect();
        let mut stamp = vec![false; values.len()];
        let mut matched: Vec<u32> = Vec::new();
        let mut out = Vec::with_capacity(pooled.len());
        for (pattern, entry) in pooled {
            let re = pattern.compile()?;
            matched.clear();
            for (v, idx) in &distinct {
                if re.is_match(v) {
                    for &i in idx {
                        if !stamp[i as usize] {
                            stamp[i as usize] = true;
                            matched.push(i);
                        }
                    }
                }
            }
            for &i in &matched {
                stamp[i as usize] = false;
            }
            let mut best: Option<(usize, usize, usize)> = None; // (support, ci, label)
            for &(ci, label) in &entry.sources {
                let support = matched
                    .iter()
                    .filter(|&&i| clusterings[ci].labels[i as usize] == Some(label))
                    .count();
                // Same denominator for all sources: more support = more precision.
                if best.is_none_or(|(s, _, _)| support > s) {
                    best = Some((support, ci, label));
                }
            }
            let Some((support, ci, label)) = best else {
                continue;
            };
            let precision = if matched.is_empty() {
                0.0
            } else {
                support as f64 / matched.len() as f64
            };
            if precision < self.min_precision {
                continue;
            }
            out.push(Fingerprint {
                header: header.to_owned(),
                regex: pattern.regex(),
                clustering: clusterings[ci].name.clone(),
                cluster: label,
                support,
                cluster_size: sizes[ci].get(&label).copied().unwrap_or(0),
                matched: matched.len(),
                precision,
                draws: entry.draws,
                sources: entry
                    .sources
                    .iter()
                    .map(|&(ci, cluster)| ClusterRef {
                        clustering: clusterings[ci].name.clone(),
                        cluster,
                    })
                    .collect(),
                examples: entry
                    .samples
                    .iter()
                    .take(self.max_examples)
                    .map(|s| banner_parse::escape_bytes(s))
                    .collect(),
            });
        }
        out.sort_by(|a, b| {
            b.precision
                .total_cmp(&a.precision)
                .then(b.support.cmp(&a.support))
                .then_with(|| a.regex.cmp(&b.regex))
        });
        Ok(out)
    }
}

/// SplitMix64 over the parts: a well-spread seed per (clustering, cluster, header, occurrence).
fn mix(parts: &[u64]) -> u64 {
    parts.iter().fold(bannerlm_base::GOLDEN_GAMMA, |h, &p| {
        bannerlm_base::splitmix64(h ^ p)
    })
}

/// Writes fingerprints as JSON Lines, one [`Fingerprint`] per line.
///
/// # Errors
///
/// [`Error::Write`] when the writer fails.
pub fn write_jsonl<W: Write>(fingerprints: &[Fingerprint], mut writer: W) -> Result<()> {
    for f in fingerprints {
        let line = serde_json::to_string(f)?;
        writer.write_all(line.as_bytes()).map_err(Error::Write)?;
        writer.write_all(b"\n").map_err(Error::Write)?;
    }
    writer.flush().map_err(Error::Write)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pattern::compile_regex;
    use proptest::prelude::*;

    fn http(server: &str, cookie: Option<&str>) -> Vec<u8> {
        let mut s = format!("HTTP/1.1 200 OK\r\nServer: {server}\r\n");
        if let Some(c) = cookie {
            s.push_str("Set-Cookie: ");
            s.push_str(c);
            s.push_str("\r\n");
        }
        s.push_str("Content-Length: 0\r\n\r\n");
        s.into_bytes()
    }

    #[test]
    fn params_validation() {
        let d = FingerprintParams::default;
        assert!(d().check().is_ok());
        assert!(matches!(d().k(1).check(), Err(ParamsError::K(1))));
        assert!(matches!(d().n_draws(0).check(), Err(ParamsError::Draws)));
        assert!(matches!(
            d().min_piece_len(0).check(),
            Err(ParamsError::MinPieceLen)
        ));
        assert!(matches!(
            d().min_samples(0).check(),
            Err(ParamsError::MinSamples(0))
        ));
        assert!(matches!(
            d().k(3).min_samples(4).check(),
            Err(ParamsError::MinSamples(4))
        ));
        assert!(matches!(
            d().headers(Vec::<String>::new()).check(),
            Err(ParamsError::Headers)
        ));
        assert!(matches!(
            d().headers([""]).check(),
            Err(ParamsError::Headers)
        ));
        assert!(matches!(
            d().min_precision(1.5).check(),
            Err(ParamsError::MinPrecision(_))
        ));
        assert!(matches!(
            d().min_precision(f64::NAN).check(),
            Err(ParamsError::MinPrecision(_))
        ));
        assert!(matches!(
            d().max_examples(0).check(),
            Err(ParamsError::MaxExamples)
        ));
        let err = d().k(0).generate(&[b"x"], &[]).map(|_| ());
        assert!(matches!(err, Err(Error::Params(ParamsError::K(0)))));
    }

    #[test]
    fn autotraits() {
        fn has<T: Send + Sync + Unpin>() {}
        has::<FingerprintParams>();
        has::<FingerprintValidParams>();
        has::<Fingerprint>();
        has::<Error>();
    }

    #[test]
    fn oversized_values_are_not_drawn() {
        let long = "x".repeat(300);
        let banners: Vec<Vec<u8>> = (0..4)
            .map(|i| http(&format!("Big/{i} {long}"), None))
            .collect();
        let c = Clustering {
            name: "e".into(),
            labels: vec![Some(0); 4],
        };
        let p = FingerprintParams::default().headers(["Server"]);
        assert_eq!(
            p.clone()
                .generate(&banners, std::slice::from_ref(&c))
                .expect("runs")
                .len(),
            1
        );
        assert!(
            p.max_value_len(100)
                .generate(&banners, &[c])
                .expect("runs")
                .is_empty()
        );
    }

    /// Where the methods differ: the pairwise fold commits to the longest
    /// block of the first two values even when a later value lacks it, and
    /// loses what all values share; the k-way search cannot.
    #[test]
    fn methods_differ_when_a_pair_shares_more_than_all() {
        let values = ["XXXXXXXXXX_abcde_", "abcde_XXXXXXXXXX", "abcde"];
        let lcs = FingerprintParams::default().check().expect("valid");
        let difflib = FingerprintParams::default()
            .method(Method::Difflib)
            .check()
            .expect("valid");
        assert_eq!(
            lcs.raw_pattern(&values).map(|p| p.regex()).as_deref(),
            Some("abcde")
        );
        assert_eq!(difflib.raw_pattern(&values), None);
    }

    #[test]
    fn label_count_mismatch() {
        let c = Clustering {
            name: "e".into(),
            labels: vec![Some(0)],
        };
        let r = FingerprintParams::default().generate(&[b"a", b"b"], &[c]);
        assert!(matches!(
            r,
            Err(Error::LabelCount {
                labels: 1,
                banners: 2,
                ..
            })
        ));
    }

    /// A pseudo-random 16-hex-digit session id.
    fn hex(i: u64) -> String {
        format!("{:016x}", mix(&[i]))
    }

    fn corpus() -> (Vec<Vec<u8>>, Vec<Clustering>) {
        let mut banners = Vec::new();
        let mut a = Vec::new();
        let mut b = Vec::new();
        for i in 0..30u64 {
            let (server, cookie, l) = match i % 3 {
                0 => (
                    format!("Apache/2.4.{} (Ubuntu)", 10 + i),
                    format!("PHPSESSID={}; path=/", hex(i)),
                    0,
                ),
                1 => (
                    format!("nginx/1.{}.0", 14 + i % 2),
                    format!("sid={i}; Path=/; HttpOnly"),
                    1,
                ),
                _ => (
                    "Microsoft-IIS/10.0".to_owned(),
                    format!("ASP.NET_SessionId={}; path=/; HttpOnly", hex(i)),
                    2,
                ),
            };
            banners.push(http(&server, Some(&cookie)));
            a.push(Some(l));
            b.push(if l == 2 { None } else { Some(l + 10) });
        }
        banners.push(http("nginx", None));
        a.push(None);
        b.push(None);
        (
            banners,
            vec![
                Clustering {
                    name: "a".into(),
                    labels: a,
                },
                Clustering {
                    name: "b".into(),
                    labels: b,
                },
            ],
        )
    }

    #[test]
    fn end_to_end_pooling_and_scores() {
        let (banners, clusterings) = corpus();
        let params = FingerprintParams::default().k(5).n_draws(20).seed(1);
        let fps = params.generate(&banners, &clusterings).expect("generates");
        let regexes: Vec<&str> = fps.iter().map(|f| f.regex.as_str()).collect();
        assert!(
            regexes.contains(
                &r"^Apache/(?P<version>[0-9]+(?:\.[0-9]+)*(?:[a-z]+[0-9]*)?)\x20\(Ubuntu\)$"
            ),
            "{regexes:#?}"
        );
        assert!(
            regexes
                .contains(&r"^Microsoft\-IIS/(?P<version>[0-9]+(?:\.[0-9]+)*(?:[a-z]+[0-9]*)?)$"),
            "{regexes:#?}"
        );
        assert!(
            regexes.contains(&"^PHPSESSID=[^;]*(?:;.*)?$"),
            "{regexes:#?}"
        );
        // Pooled over both clusterings: one fingerprint, two sources.
        let apache = fps
            .iter()
            .find(|f| f.regex.starts_with("^Apache"))
            .expect("apache");
        assert_eq!(apache.sources.len(), 2);
        assert_eq!(
            (apache.support, apache.matched, apache.cluster_size),
            (10, 10, 10)
        );
        assert!((apache.precision - 1.0).abs() < 1e-12);
        // No duplicates.
        let set: BTreeSet<(&str, &str)> = fps
            .iter()
            .map(|f| (f.header.as_str(), f.regex.as_str()))
            .collect();
        assert_eq!(set.len(), fps.len());
        // Deterministic.
        assert_eq!(params.generate(&banners, &clusterings).expect("again"), fps);
        // Every fingerprint matches its examples (escaped form is plain here).
        for f in &fps {
            let re = compile_regex(&f.regex).expect("compiles");
            for e in &f.examples {
                assert!(re.is_match(e.as_bytes()), "{} vs {e}", f.regex);
            }
        }
        let mut buf = Vec::new();
        write_jsonl(&fps, &mut buf).expect("writes");
        let back: Vec<Fingerprint> = buf
            .split(|&b| b == b'\n')
            .filter(|l| !l.is_empty())
            .map(|l| serde_json::from_slice(l).expect("json"))
            .collect();
        assert_eq!(back, fps);
    }

    #[test]
    fn pooled_patterns_match_their_samples_both_methods() {
        let (banners, clusterings) = corpus();
        for method in [Method::Lcs, Method::Difflib] {
            let p = FingerprintParams::default()
                .k(4)
                .n_draws(10)
                .method(method)
                .check()
                .expect("valid");
            let parsed: Vec<HttpBanner<'_>> =
                banners.iter().map(|b| HttpBanner::parse(b)).collect();
            for (hi, h) in p.headers().iter().enumerate() {
                let values: Vec<Vec<&[u8]>> =
                    parsed.iter().map(|x| x.get_all(h).collect()).collect();
                for (pat, e) in p.pool_header(h, hi, &values, &clusterings) {
                    let re = pat.compile().expect("compiles");
                    assert!(!e.samples.is_empty());
                    for s in &e.samples {
                        assert!(
                            re.is_match(s),
                            "{method:?} {} vs {}",
                            pat.regex(),
                            banner_parse::escape_bytes(s)
                        );
                    }
                }
            }
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(128))]
        /// Raw and sanitized patterns of random draws match every value of
        /// the draw, for both methods and for cookie and other headers.
        #[test]
        fn produced_regexes_match_all_samples(
            values in proptest::collection::vec(
                "(nginx|Apache|sid|PHPSESSID)?[/= ]?[0-9]{1,2}(\\.[0-9]{1,2}){0,2}( \\(Ubuntu\\))?(; ?(path|Path)=/[a-z]{0,2})?(; HttpOnly)?[a-z;. -]{0,4}",
                2..7,
            ),
            difflib in any::<bool>(),
            min_piece_len in 1usize..6,
            cookie in any::<bool>(),
        ) {
            let method = if difflib { Method::Difflib } else { Method::Lcs };
            let p = FingerprintParams::default().method(method).min_piece_len(min_piece_len).check().expect("valid");
            let header = if cookie { "Set-Cookie" } else { "Server" };
            for pat in [p.raw_pattern(&values), p.pattern(header, &values)].into_iter().flatten() {
                let re = pat.compile().expect("compiles");
                for v in &values {
                    prop_assert!(re.is_match(v.as_bytes()), "{} vs {v:?}", pat.regex());
                }
            }
        }
    }
}
