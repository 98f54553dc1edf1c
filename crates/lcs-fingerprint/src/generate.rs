//! Per-header fingerprint generation from cluster memberships: draws,
//! pooling, sanitizing, scoring (the algorithm; its parameters are in
//! `params.rs`).

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::io::Write;

use banner_parse::HttpBanner;
use rand::SeedableRng as _;
use rand::rngs::Xoshiro256PlusPlus;
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::filter::{self, Candidate, Generated, Syntax};
use crate::params::{Method, ValidFingerprintParams};
use crate::pattern::Pattern;
use crate::pieces::PieceFinder;
use crate::sanitize::{self, SanitizeOptions};

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
    /// The share of its matches that are in the clusters that produced it, in the
    /// clustering where that share is largest: at least [`precision`](Self::precision); the
    /// precision filter's measure (a product split over several clusters of one clustering
    /// is not held against a fingerprint that all of them produced). Absent in files
    /// written before it existed (read as 0).
    #[serde(default)]
    pub source_precision: f64,
    /// Draws whose (sanitized) pattern became this fingerprint, over all sources.
    pub draws: usize,
    /// Every cluster whose draws produced it (pooled over clusterings).
    pub sources: Vec<ClusterRef>,
    /// A few distinct sample values, escaped for display with `bannerlm_base::escape_bytes`.
    pub examples: Vec<String>,
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

impl ValidFingerprintParams {
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
    /// (raw response heads), from one or more clusterings of them: the
    /// fingerprints kept by [`generate_all`](Self::generate_all).
    ///
    /// # Errors
    ///
    /// As [`generate_all`](Self::generate_all).
    pub fn generate<B: AsRef<[u8]>>(
        &self,
        banners: &[B],
        clusterings: &[Clustering],
    ) -> Result<Vec<Fingerprint>> {
        Ok(self.generate_all(banners, clusterings)?.kept)
    }

    /// Generates fingerprints for the configured headers of HTTP `banners`
    /// (raw response heads), from one or more clusterings of them, and says
    /// which were dropped and why.
    ///
    /// For every clustering, cluster, header and occurrence index `o` of the
    /// header (the `o`-th `Set-Cookie` line, say), the pool is the cluster's
    /// banners that have that occurrence; `n_draws` draws of `k` distinct
    /// pool members each give one raw pattern (a pool of `min_samples..=k`
    /// members is drawn once, whole). Equal raw patterns are merged, then
    /// sanitized against their samples, pooled over all clusterings and
    /// deduplicated, near-duplicates collapsed, bare patterns dropped, and
    /// each result scored against every banner: support and precision
    /// relative to the best of the clusters that produced it. Last, the
    /// generic ones are dropped with their reason (too little informative
    /// literal text, precision below the threshold, the same banners as a
    /// more specific one: see [`DropReason`](crate::DropReason)).
    ///
    /// With [`all_headers`](crate::FingerprintParams::all_headers), every
    /// header carried by at least that share of some cluster's members is
    /// fingerprinted too (after the configured ones, by name), each only in
    /// the clusters where it reaches that share (the configured ones in all).
    ///
    /// Output order of the kept fingerprints: by header (configured, then
    /// discovered), then precision, support and regex,
    /// descending-descending-ascending; dropped ones by header, in the order
    /// of the rules.
    ///
    /// ```
    /// use lcs_fingerprint::{Clustering, DropReason, FingerprintParams};
    ///
    /// // One cluster of a product with a distinctive cookie, another with the same path.
    /// let banners: Vec<String> = (0..20u64)
    ///     .map(|i| {
    ///         let id = i.wrapping_mul(0x9E37_79B9_7F4A_7C15);
    ///         let name = if i < 10 { "acme_sess" } else { "zz" };
    ///         format!("HTTP/1.1 200 OK\r\nSet-Cookie: {name}{id:x}=1; path=/; HttpOnly\r\n\r\n")
    ///     })
    ///     .collect();
    /// let clusters = Clustering { name: "0.05".into(), labels: (0..20).map(|i| Some(i / 10)).collect() };
    /// let out = FingerprintParams::default().headers(["Set-Cookie"]).seed(3).generate_all(&banners, &[clusters])?;
    /// assert!(out.kept.iter().any(|f| f.regex.starts_with("^acme_sess")), "{out:#?}");
    /// // Cluster 1 shares nothing but its attributes: nothing of it is kept.
    /// assert!(out.kept.iter().all(|f| f.cluster == 0), "{out:#?}");
    /// assert!(out.dropped.iter().any(|d| matches!(d.reason, DropReason::ShortLiteral { .. })), "{out:#?}");
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    ///
    /// # Errors
    ///
    /// [`Error::LabelCount`] when a clustering's labels do not line up with
    /// `banners`; [`Error::Regex`] if a pattern exceeds the regex size limit.
    pub fn generate_all<B: AsRef<[u8]>>(
        &self,
        banners: &[B],
        clusterings: &[Clustering],
    ) -> Result<Generated> {
        check_label_counts(clusterings, banners.len())?;
        let parsed: Vec<HttpBanner<'_>> = banners
            .iter()
            .map(|b| HttpBanner::parse(b.as_ref()))
            .collect();
        let mut headers = self.headers.clone();
        if let Some(share) = self.header_share {
            for h in discover_headers(&parsed, clusterings, share, self.min_samples) {
                if !headers.iter().any(|x| x.eq_ignore_ascii_case(&h)) {
                    headers.push(h);
                }
            }
        }
        let mut out = Generated::default();
        for (hi, header) in headers.iter().enumerate() {
            // values[i]: the values of the header in banner i.
            let values: Vec<Vec<&[u8]>> =
                parsed.iter().map(|p| p.get_all(header).collect()).collect();
            self.generate_values(header, hi, &values, clusterings, &mut out)?;
        }
        Ok(out)
    }

    /// Pooling, scoring and the rules for the values of one header (or one text field).
    pub(crate) fn generate_values(
        &self,
        header: &str,
        hi: usize,
        values: &[Vec<&[u8]>],
        clusterings: &[Clustering],
        out: &mut Generated,
    ) -> Result<()> {
        let pooled = self.pool_header(header, hi, values, clusterings);
        let candidates = self.score(header, values, clusterings, pooled)?;
        filter::select(
            candidates,
            self.min_literal_bytes,
            self.min_precision,
            self.dedup,
            out,
        );
        Ok(())
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
                let configured = self.headers.iter().any(|h| h.eq_ignore_ascii_case(header));
                if let Some(share) = self.header_share
                    && !configured
                {
                    let with = m.iter().filter(|&&i| !values[i].is_empty()).count();
                    if (with as f64) < share * m.len() as f64 {
                        continue;
                    }
                }
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
    ) -> Result<Vec<Candidate>> {
        let syntax = if self.is_cookie(header) {
            Syntax::Cookie
        } else if crate::text::is_text_field(header) {
            Syntax::Text
        } else if Syntax::is_auth(header) {
            Syntax::Auth
        } else {
            Syntax::Plain
        };
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
            // Support in the union of its source clusters, per clustering: the largest.
            let mut union_support = support;
            // (sources in that clustering, its clusters)
            let mut spread = (1, sizes[ci].len());
            let mut by_clustering: BTreeMap<usize, Vec<usize>> = BTreeMap::new();
            for &(ci, label) in &entry.sources {
                by_clustering.entry(ci).or_default().push(label);
            }
            for (ci, labels) in &by_clustering {
                let n = matched
                    .iter()
                    .filter(|&&i| {
                        clusterings[*ci].labels[i as usize].is_some_and(|l| labels.contains(&l))
                    })
                    .count();
                if n > union_support || (n == union_support && labels.len() > spread.0) {
                    spread = (labels.len(), sizes[*ci].len());
                }
                union_support = union_support.max(n);
            }
            let precision = if matched.is_empty() {
                0.0
            } else {
                support as f64 / matched.len() as f64
            };
            let samples: Vec<&[u8]> = entry.samples.iter().copied().collect();
            let mut matched_sorted = matched.clone();
            matched_sorted.sort_unstable();
            let fingerprint = Fingerprint {
                header: header.to_owned(),
                regex: pattern.regex(),
                clustering: clusterings[ci].name.clone(),
                cluster: label,
                support,
                cluster_size: sizes[ci].get(&label).copied().unwrap_or(0),
                matched: matched.len(),
                precision,
                source_precision: if matched.is_empty() {
                    0.0
                } else {
                    union_support as f64 / matched.len() as f64
                },
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
                    .map(|s| bannerlm_base::escape_bytes(s))
                    .collect(),
            };
            out.push(Candidate {
                fingerprint,
                informative: filter::informative_bytes(&pattern, &samples, syntax),
                literal_len: pattern.literal_len(),
                exact: pattern.is_exact(),
                sources: spread.0,
                clusters: spread.1,
                matched: matched_sorted,
            });
        }
        out.sort_by(|a, b| {
            let (a, b) = (&a.fingerprint, &b.fingerprint);
            b.precision
                .total_cmp(&a.precision)
                .then(b.support.cmp(&a.support))
                .then_with(|| a.regex.cmp(&b.regex))
        });
        Ok(out)
    }
}

/// Header names carried by at least `share` of the members of some cluster (of at least
/// `min_members` members) of some clustering, spelled as first seen, sorted by lowercase name.
/// [`Error::LabelCount`] unless every clustering has one label per banner.
pub(crate) fn check_label_counts(clusterings: &[Clustering], banners: usize) -> Result<()> {
    for c in clusterings {
        if c.labels.len() != banners {
            return Err(Error::LabelCount {
                clustering: c.name.clone(),
                labels: c.labels.len(),
                banners,
            });
        }
    }
    Ok(())
}

fn discover_headers(
    parsed: &[HttpBanner<'_>],
    clusterings: &[Clustering],
    share: f64,
    min_members: usize,
) -> Vec<String> {
    // Per banner: its distinct lowercase header names.
    let names: Vec<BTreeSet<String>> = parsed
        .iter()
        .map(|p| {
            p.headers()
                .iter()
                .map(|h| String::from_utf8_lossy(h.name).to_ascii_lowercase())
                .filter(|n| !n.is_empty())
                .collect()
        })
        .collect();
    let mut spelling: BTreeMap<String, String> = BTreeMap::new();
    for p in parsed {
        for h in p.headers() {
            let name = String::from_utf8_lossy(h.name).into_owned();
            spelling.entry(name.to_ascii_lowercase()).or_insert(name);
        }
    }
    let mut found: BTreeSet<String> = BTreeSet::new();
    for c in clusterings {
        let mut size: HashMap<usize, usize> = HashMap::new();
        let mut counts: HashMap<(usize, &str), usize> = HashMap::new();
        for (i, l) in c.labels.iter().enumerate() {
            let Some(l) = l else { continue };
            *size.entry(*l).or_default() += 1;
            for n in &names[i] {
                *counts.entry((*l, n.as_str())).or_default() += 1;
            }
        }
        for ((l, n), k) in counts {
            let m = size.get(&l).copied().unwrap_or(0);
            if m >= min_members && k as f64 >= share * m as f64 {
                found.insert(n.to_owned());
            }
        }
    }
    found
        .into_iter()
        .filter_map(|n| spelling.get(&n).cloned())
        .collect()
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

/// Reads fingerprints written by [`write_jsonl`] (blank lines are skipped).
///
/// ```
/// use lcs_fingerprint::{Fingerprint, read_jsonl, write_jsonl};
/// let fp: Fingerprint = serde_json::from_value(serde_json::json!({
///     "header": "Server", "regex": "^nginx", "clustering": "eps=0.1", "cluster": 0,
///     "support": 2, "cluster_size": 2, "matched": 2, "precision": 1.0, "draws": 1,
///     "sources": [], "examples": []
/// }))?;
/// let dir = tempfile::tempdir()?;
/// let path = dir.path().join("fingerprints.jsonl");
/// write_jsonl(&[fp.clone(), fp], std::fs::File::create(&path)?)?;
/// assert_eq!(read_jsonl(&path)?.len(), 2);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
///
/// # Errors
///
/// [`Error::Io`] when the file cannot be read, [`Error::FingerprintsJson`] (with file and
/// line) for a line that is not a fingerprint.
pub fn read_jsonl(path: impl AsRef<std::path::Path>) -> Result<Vec<Fingerprint>> {
    let path = path.as_ref();
    let text = std::fs::read_to_string(path).map_err(|source| Error::Io {
        path: path.to_path_buf(),
        source,
    })?;
    text.lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
        .map(|(i, l)| {
            serde_json::from_str(l).map_err(|source| Error::FingerprintsJson {
                path: path.to_path_buf(),
                line: i + 1,
                source,
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::ParamsError;

    /// A fingerprints file with a truncated line and control bytes: an error naming the file
    /// and the line, never a panic; blank lines are skipped.
    #[test]
    fn read_jsonl_names_file_and_line_of_a_bad_line() {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let path = dir.path().join("fingerprints.jsonl");
        std::fs::write(&path, b"\n{\"header\": \"Server\", \"regex\": \"\x1b[31m")
            .unwrap_or_else(|e| panic!("{e}"));
        let err = read_jsonl(&path).expect_err("a truncated line");
        assert!(
            matches!(&err, Error::FingerprintsJson { line: 2, path: p, .. } if p == &path),
            "{err:?}"
        );
        assert!(err.to_string().contains("fingerprints.jsonl:2:"), "{err}");
        let missing = read_jsonl(dir.path().join("none.jsonl")).expect_err("no file");
        assert!(matches!(missing, Error::Io { .. }), "{missing:?}");
    }
    use crate::params::FingerprintParams;
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
        for bad in [0.0, -0.1, 1.5, f64::NAN] {
            assert!(matches!(
                d().all_headers(Some(bad)).check(),
                Err(ParamsError::HeaderShare(_))
            ));
        }
        assert!(d().all_headers(Some(1.0)).check().is_ok());
        let err = d().k(0).generate(&[b"x"], &[]).map(|_| ());
        assert!(matches!(err, Err(Error::Params(ParamsError::K(0)))));
    }

    #[test]
    fn autotraits() {
        fn has<T: Send + Sync + Unpin>() {}
        has::<FingerprintParams>();
        has::<ValidFingerprintParams>();
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

    /// Issue 25, "done means": no emitted fingerprint below the precision threshold, no two
    /// of one header matching the same banners; every dropped one has its reason; all
    /// headers on request add the headers a cluster carries (here `Content-Length`, whose
    /// digits give no literal, and nothing generic from it).
    #[test]
    fn nothing_generic_is_emitted() {
        let (banners, clusterings) = corpus();
        let params = FingerprintParams::default().k(5).n_draws(20).seed(1);
        let out = params
            .generate_all(&banners, &clusterings)
            .expect("generates");
        assert!(!out.kept.is_empty());
        let mut sets: BTreeSet<(String, Vec<usize>)> = BTreeSet::new();
        for f in &out.kept {
            assert!(f.source_precision >= crate::DEFAULT_MIN_PRECISION, "{f:?}");
            assert!(f.source_precision >= f.precision, "{f:?}");
            let re = compile_regex(&f.regex).expect("compiles");
            let matched: Vec<usize> = banners
                .iter()
                .enumerate()
                .filter(|(_, b)| {
                    HttpBanner::parse(b)
                        .get_all(&f.header)
                        .any(|v| re.is_match(v))
                })
                .map(|(i, _)| i)
                .collect();
            assert_eq!(matched.len(), f.matched, "{f:?}");
            assert!(sets.insert((f.header.clone(), matched)), "duplicate {f:?}");
        }
        // Without the rules, more come out; the difference is exactly the dropped ones.
        let all = FingerprintParams::default()
            .k(5)
            .n_draws(20)
            .seed(1)
            .min_precision(0.0)
            .min_literal_bytes(0)
            .dedup(false)
            .generate_all(&banners, &clusterings)
            .expect("generates");
        assert!(all.dropped.is_empty());
        assert_eq!(all.kept.len(), out.kept.len() + out.dropped.len());
        let every = params
            .clone()
            .all_headers(Some(0.5))
            .generate_all(&banners, &clusterings)
            .expect("generates");
        assert!(every.kept.len() >= out.kept.len());
        assert!(
            every
                .kept
                .iter()
                .all(|f| !f.header.eq_ignore_ascii_case("Content-Length")),
            "{every:#?}"
        );
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
                            bannerlm_base::escape_bytes(s)
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
