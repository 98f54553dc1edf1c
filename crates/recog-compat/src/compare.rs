//! Comparing generated fingerprints with Recog's (the paper's Section on Recog).
//!
//! For each HTTP header the paper compares (Server, Set-Cookie,
//! WWW-Authenticate) every generated pattern and every Recog pattern is run
//! over the header values of a banner corpus. A pattern's *banner set* is the
//! set of banners with at least one value of that header that it matches.
//!
//! - **overlap** of a generated pattern `O` and a Recog pattern `R`:
//!   `|O ∩ R| / |O ∪ R|`;
//! - `R` is **recovered** when its best overlap is at least
//!   [`CompareParams::recovered_overlap`] (0.9);
//! - `R` is **partially recovered** (and not recovered) when the generated
//!   patterns that lie inside `R` (at least [`CompareParams::containment`] of
//!   their banners are in `R`; 1.0 means a subset) together cover more than
//!   [`CompareParams::partial_coverage`] (0.9) of `R`'s banners;
//! - a generated pattern is a **new candidate** when it matches banners but
//!   shares none with any Recog pattern; candidates are ranked by banners matched.
//!
//! Coverage shares are taken over *Recog-labelled* banners: banners whose
//! header Recog matches, labelled with the first matching fingerprint in file
//! order (lowest index over all of the banner's values of that header), as
//! `Recog::Nizer.match` would.

use std::collections::HashMap;

use crate::db::Database;
use crate::error::{Error, Result};
use crate::flags::Flags;
use crate::matcher::{CompiledPattern, MatcherBuilder, MatcherOptions, banner_text};

/// The HTTP headers the paper compares, with their Recog databases.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum HttpHeader {
    /// `Server`: `http_servers.xml`.
    Server,
    /// `Set-Cookie`: `http_cookies.xml`.
    SetCookie,
    /// `WWW-Authenticate`: `http_wwwauth.xml`.
    WwwAuthenticate,
}

impl HttpHeader {
    /// All three headers.
    pub const ALL: [HttpHeader; 3] = [Self::Server, Self::SetCookie, Self::WwwAuthenticate];

    /// The canonical header name.
    pub fn name(self) -> &'static str {
        match self {
            Self::Server => "Server",
            Self::SetCookie => "Set-Cookie",
            Self::WwwAuthenticate => "WWW-Authenticate",
        }
    }

    /// The Recog database file for this header.
    pub fn database_file(self) -> &'static str {
        match self {
            Self::Server => "http_servers.xml",
            Self::SetCookie => "http_cookies.xml",
            Self::WwwAuthenticate => "http_wwwauth.xml",
        }
    }

    /// Parses a header name case-insensitively.
    ///
    /// ```
    /// use recog_compat::HttpHeader;
    /// assert_eq!(HttpHeader::from_name("set-cookie"), Some(HttpHeader::SetCookie));
    /// assert_eq!(HttpHeader::from_name("Date"), None);
    /// ```
    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL
            .into_iter()
            .find(|h| h.name().eq_ignore_ascii_case(name.trim()))
    }
}

/// One generated fingerprint: the header it applies to and its pattern in
/// Recog (Ruby) syntax, exactly as it would be exported.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GeneratedPattern {
    /// Header name, e.g. `Server` (case-insensitive).
    pub header: String,
    /// The regular expression.
    pub pattern: String,
}

/// The header values of one banner (the caller extracts them from the HTTP
/// response). A header may occur several times (`Set-Cookie`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CorpusBanner {
    /// `(header name, value)` pairs, names case-insensitive.
    pub headers: Vec<(String, Vec<u8>)>,
}

/// Thresholds of the comparison (unchecked); [`check`](CompareParams::check) gives
/// [`ValidCompareParams`].
#[derive(Debug, Clone, PartialEq)]
pub struct CompareParams {
    /// Best overlap at which a Recog pattern counts as recovered (0.9).
    pub recovered_overlap: f64,
    /// Share of a Recog pattern's banners that contained generated patterns
    /// must exceed for a partial recovery (0.9).
    pub partial_coverage: f64,
    /// Share of a generated pattern's banners that must lie in the Recog
    /// pattern for it to count as inside it (1.0: a subset).
    pub containment: f64,
    /// Matcher options for Recog's and the generated patterns.
    pub matcher: MatcherOptions,
}

impl Default for CompareParams {
    fn default() -> Self {
        CompareParams {
            recovered_overlap: 0.9,
            partial_coverage: 0.9,
            containment: 1.0,
            matcher: MatcherOptions::default(),
        }
    }
}

impl CompareParams {
    /// Validates the thresholds (each in `(0, 1]`, `partial_coverage` in `[0, 1)`).
    ///
    /// # Errors
    /// [`Error::InvalidParams`] naming the bad field.
    ///
    /// ```
    /// use recog_compat::CompareParams;
    /// let valid = CompareParams::default().check()?;
    /// assert_eq!(valid.recovered_overlap(), 0.9);
    /// assert!(CompareParams { containment: 0.0, ..CompareParams::default() }.check().is_err());
    /// # Ok::<(), recog_compat::Error>(())
    /// ```
    pub fn check(self) -> Result<ValidCompareParams> {
        let unit = |x: f64| x > 0.0 && x <= 1.0;
        if !unit(self.recovered_overlap) {
            return Err(Error::InvalidParams(
                "recovered_overlap must be in (0, 1]".into(),
            ));
        }
        if !(0.0..1.0).contains(&self.partial_coverage) {
            return Err(Error::InvalidParams(
                "partial_coverage must be in [0, 1)".into(),
            ));
        }
        if !unit(self.containment) {
            return Err(Error::InvalidParams("containment must be in (0, 1]".into()));
        }
        Ok(ValidCompareParams(self))
    }
}

/// Checked comparison thresholds; created by [`CompareParams::check`].
#[derive(Debug, Clone, PartialEq)]
pub struct ValidCompareParams(CompareParams);

impl ValidCompareParams {
    /// Best overlap at which a Recog pattern counts as recovered.
    pub fn recovered_overlap(&self) -> f64 {
        self.0.recovered_overlap
    }

    /// Coverage a partial recovery must exceed.
    pub fn partial_coverage(&self) -> f64 {
        self.0.partial_coverage
    }

    /// Share of a generated pattern's banners that must lie in a Recog pattern.
    pub fn containment(&self) -> f64 {
        self.0.containment
    }

    /// Matcher options for Recog's and the generated patterns.
    pub fn matcher(&self) -> &MatcherOptions {
        &self.0.matcher
    }
}

/// How a Recog fingerprint fared.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Recovery {
    /// Best overlap >= `recovered_overlap`.
    Recovered,
    /// Covered by generated patterns inside it.
    Partial,
    /// Matches banners, but neither of the above.
    Missed,
    /// Matches no banner of the corpus.
    Unseen,
}

/// Per-Recog-fingerprint statistics.
#[derive(Debug, Clone, PartialEq)]
pub struct RecogStats {
    /// Index in the Recog database.
    pub fingerprint: usize,
    /// Its description.
    pub description: String,
    /// Banners it matches.
    pub banners: usize,
    /// Banners it labels (first match).
    pub labelled: usize,
    /// Best overlap with a generated pattern, and that pattern's index.
    pub best_overlap: f64,
    /// Index (into the generated input) of the best-overlapping pattern.
    pub best_generated: Option<usize>,
    /// Share of its banners covered by generated patterns inside it.
    pub inside_coverage: f64,
    /// The verdict.
    pub recovery: Recovery,
}

/// A generated pattern that overlaps no Recog fingerprint.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewCandidate {
    /// Index into the generated input.
    pub generated: usize,
    /// Its pattern.
    pub pattern: String,
    /// Banners it matches.
    pub banners: usize,
}

/// The comparison for one header.
#[derive(Debug, Clone, PartialEq)]
pub struct HeaderComparison {
    /// The header.
    pub header: HttpHeader,
    /// Banners that carry the header.
    pub banners_with_header: usize,
    /// Banners that Recog labels.
    pub recog_labelled: usize,
    /// Banners matched by at least one generated pattern.
    pub generated_matched: usize,
    /// Generated patterns for this header.
    pub generated_patterns: usize,
    /// Recog fingerprints recovered.
    pub recovered: usize,
    /// Share of Recog-labelled banners whose label is recovered.
    pub recovered_coverage: f64,
    /// Recog fingerprints partially (and not fully) recovered.
    pub partial: usize,
    /// Share of Recog-labelled banners whose label is recovered or partially recovered.
    pub partial_coverage: f64,
    /// Per Recog fingerprint that matches at least one banner, in file order.
    pub recog: Vec<RecogStats>,
    /// New candidates, most banners first.
    pub new_candidates: Vec<NewCandidate>,
}

/// Runs the comparison for each `(header, Recog database)` given.
/// Generated patterns for other headers are ignored.
///
/// # Errors
/// Invalid params, a Recog pattern or generated pattern that does not compile
/// (for generated ones [`Error::Export`]-style index context is given through
/// [`Error::Fingerprint`] with line = index + 1).
///
/// ```
/// use recog_compat::{compare, CompareParams, CorpusBanner, Database, GeneratedPattern, HttpHeader};
/// let recog = Database::from_xml_str(
///     r#"<fingerprints><fingerprint pattern="^nginx"><description>nginx</description>
///        <param pos="0" name="service.product" value="nginx"/></fingerprint></fingerprints>"#,
///     "http_servers",
/// )?;
/// let corpus: Vec<CorpusBanner> = ["nginx", "nginx/1.2", "Apache"]
///     .iter()
///     .map(|v| CorpusBanner { headers: vec![("Server".into(), v.as_bytes().to_vec())] })
///     .collect();
/// let ours = vec![GeneratedPattern { header: "Server".into(), pattern: "^nginx.*".into() }];
/// let report = compare(&[(HttpHeader::Server, &recog)], &ours, &corpus, CompareParams::default())?;
/// assert_eq!(report[0].recovered, 1);
/// assert!((report[0].recovered_coverage - 1.0).abs() < 1e-12);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn compare(
    recog: &[(HttpHeader, &Database)],
    generated: &[GeneratedPattern],
    corpus: &[CorpusBanner],
    params: CompareParams,
) -> Result<Vec<HeaderComparison>> {
    let params = params.check()?;
    let mut out = Vec::with_capacity(recog.len());
    for &(header, db) in recog {
        let matcher = MatcherBuilder::from(params.matcher().clone()).build(db)?;
        let mut ours = Vec::new();
        for (i, g) in generated.iter().enumerate() {
            if HttpHeader::from_name(&g.header) != Some(header) {
                continue;
            }
            let re = CompiledPattern::new(&g.pattern, Flags::default(), params.matcher()).map_err(
                |e| Error::Fingerprint {
                    path: "<generated>".into(),
                    line: i + 1,
                    source: Box::new(e),
                },
            )?;
            ours.push((i, re));
        }
        // Banner sets, as banner ids per pattern.
        let mut recog_sets: Vec<Vec<u32>> = vec![Vec::new(); db.fingerprints.len()];
        let mut ours_sets: Vec<Vec<u32>> = vec![Vec::new(); ours.len()];
        let mut labels: Vec<(u32, usize)> = Vec::new();
        let mut with_header = 0usize;
        // Per banner: (recog ids, ours positions) for the pair counting below.
        let mut per_banner: Vec<(Vec<usize>, Vec<usize>)> = Vec::new();
        for (b, banner) in corpus.iter().enumerate() {
            let b = u32::try_from(b)
                .map_err(|_| Error::InvalidParams("corpus larger than 2^32 banners".into()))?;
            let values: Vec<&[u8]> = banner
                .headers
                .iter()
                .filter(|(n, _)| HttpHeader::from_name(n) == Some(header))
                .map(|(_, v)| v.as_slice())
                .collect();
            if values.is_empty() {
                continue;
            }
            with_header += 1;
            let mut r_hits: Vec<usize> = Vec::new();
            let mut o_hits: Vec<usize> = Vec::new();
            for v in &values {
                let text = banner_text(v);
                r_hits.extend(matcher.matching_fingerprints(&text));
                for (k, (_, re)) in ours.iter().enumerate() {
                    if matches!(re.is_match(&text), Ok(true)) {
                        o_hits.push(k);
                    }
                }
            }
            r_hits.sort_unstable();
            r_hits.dedup();
            o_hits.sort_unstable();
            o_hits.dedup();
            if let Some(&first) = r_hits.first() {
                labels.push((b, first));
            }
            for &r in &r_hits {
                recog_sets[r].push(b);
            }
            for &o in &o_hits {
                ours_sets[o].push(b);
            }
            if !r_hits.is_empty() || !o_hits.is_empty() {
                per_banner.push((r_hits, o_hits));
            }
        }
        let mut inter: HashMap<(usize, usize), usize> = HashMap::new();
        for (r_hits, o_hits) in &per_banner {
            for &r in r_hits {
                for &o in o_hits {
                    *inter.entry((r, o)).or_default() += 1;
                }
            }
        }
        // Generated patterns inside each Recog pattern.
        let mut inside: HashMap<usize, Vec<usize>> = HashMap::new();
        for (&(r, o), &n) in &inter {
            if n as f64 >= params.containment() * ours_sets[o].len() as f64 {
                inside.entry(r).or_default().push(o);
            }
        }
        let mut covered = vec![0usize; db.fingerprints.len()];
        for (r_hits, o_hits) in &per_banner {
            for &r in r_hits {
                if let Some(ins) = inside.get(&r)
                    && o_hits.iter().any(|o| ins.contains(o))
                {
                    covered[r] += 1;
                }
            }
        }
        let mut labelled_by = vec![0usize; db.fingerprints.len()];
        for &(_, r) in &labels {
            labelled_by[r] += 1;
        }
        let mut best: Vec<(f64, Option<usize>)> = vec![(0.0, None); db.fingerprints.len()];
        for (&(r, o), &n) in &inter {
            let union = recog_sets[r].len() + ours_sets[o].len() - n;
            let ov = n as f64 / union as f64;
            let gi = ours[o].0;
            let cur = &mut best[r];
            // Exact ties keep the lowest generated index (deterministic output).
            if ov
                .total_cmp(&cur.0)
                .then(cur.1.map_or(std::cmp::Ordering::Greater, |c| c.cmp(&gi)))
                .is_gt()
            {
                *cur = (ov, Some(gi));
            }
        }
        let mut stats = Vec::new();
        let (mut recovered, mut partial) = (0, 0);
        let (mut rec_labels, mut part_labels) = (0usize, 0usize);
        for (r, set) in recog_sets.iter().enumerate() {
            if set.is_empty() {
                continue;
            }
            let inside_coverage = covered[r] as f64 / set.len() as f64;
            let recovery = if best[r].0 >= params.recovered_overlap() {
                recovered += 1;
                rec_labels += labelled_by[r];
                part_labels += labelled_by[r];
                Recovery::Recovered
            } else if inside_coverage > params.partial_coverage() {
                partial += 1;
                part_labels += labelled_by[r];
                Recovery::Partial
            } else {
                Recovery::Missed
            };
            stats.push(RecogStats {
                fingerprint: r,
                description: db.fingerprints[r].description.clone(),
                banners: set.len(),
                labelled: labelled_by[r],
                best_overlap: best[r].0,
                best_generated: best[r].1,
                inside_coverage,
                recovery,
            });
        }
        let mut touches = vec![false; ours.len()];
        for &(_, o) in inter.keys() {
            touches[o] = true;
        }
        let mut new_candidates: Vec<NewCandidate> = ours
            .iter()
            .enumerate()
            .filter(|(k, _)| !touches[*k] && !ours_sets[*k].is_empty())
            .map(|(k, (gi, _))| NewCandidate {
                generated: *gi,
                pattern: generated[*gi].pattern.clone(),
                banners: ours_sets[k].len(),
            })
            .collect();
        new_candidates.sort_by(|a, b| {
            b.banners
                .cmp(&a.banners)
                .then(a.generated.cmp(&b.generated))
        });
        let share = |n: usize| {
            if labels.is_empty() {
                0.0
            } else {
                n as f64 / labels.len() as f64
            }
        };
        let generated_matched = per_banner.iter().filter(|(_, o)| !o.is_empty()).count();
        out.push(HeaderComparison {
            header,
            banners_with_header: with_header,
            recog_labelled: labels.len(),
            generated_matched,
            generated_patterns: ours.len(),
            recovered,
            recovered_coverage: share(rec_labels),
            partial,
            partial_coverage: share(part_labels),
            recog: stats,
            new_candidates,
        });
    }
    Ok(out)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn recog() -> Database {
        Database::from_xml_str(
            r#"<fingerprints>
  <fingerprint pattern="^nginx"><description>nginx</description><param pos="0" name="p" value="nginx"/></fingerprint>
  <fingerprint pattern="^Apache"><description>Apache</description><param pos="0" name="p" value="apache"/></fingerprint>
  <fingerprint pattern="^IIS"><description>IIS</description><param pos="0" name="p" value="iis"/></fingerprint>
  <fingerprint pattern="^lighttpd"><description>lighttpd</description><param pos="0" name="p" value="l"/></fingerprint>
  <fingerprint pattern="^never$"><description>unseen</description><param pos="0" name="p" value="n"/></fingerprint>
</fingerprints>"#,
            "http_servers",
        )
        .unwrap()
    }

    fn corpus(values: &[(&str, &str)]) -> Vec<CorpusBanner> {
        values
            .iter()
            .map(|(h, v)| CorpusBanner {
                headers: vec![(h.to_string(), v.as_bytes().to_vec())],
            })
            .collect()
    }

    fn g(p: &str) -> GeneratedPattern {
        GeneratedPattern {
            header: "server".into(),
            pattern: p.into(),
        }
    }

    #[test]
    fn hand_computed_example() {
        // 10 nginx, 10 Apache (5 x 2.2, 5 x 2.4), 4 IIS, 1 lighttpd, 2 unknown "Foo", 1 Date-only banner.
        let mut v: Vec<(&str, &str)> = Vec::new();
        v.extend(std::iter::repeat_n(("Server", "nginx/1.0"), 9));
        v.push(("Server", "nginx-odd"));
        v.extend(std::iter::repeat_n(("Server", "Apache/2.2"), 5));
        v.extend(std::iter::repeat_n(("Server", "Apache/2.4"), 5));
        v.extend(std::iter::repeat_n(("Server", "IIS/10"), 4));
        v.push(("Server", "lighttpd"));
        v.extend(std::iter::repeat_n(("Server", "Foo"), 2));
        v.push(("Date", "today"));
        let corpus = corpus(&v);
        let ours = vec![
            g(r"^nginx/\d"),    // 9 of nginx's 10: overlap 0.9 -> recovered
            g(r"^Apache/2\.2"), // 5 of Apache's 10, inside
            g(r"^Apache/2\.4"), // 5 of Apache's 10, inside -> Apache partial (100% > 90%)
            g(r"^(IIS|Foo)"),   // IIS 4 + Foo 2: overlap 4/6 -> IIS missed
            g(r"^Foo$"),        // 2 banners, overlaps nothing -> new candidate
            g(r"^Zzz"),         // matches nothing: not a candidate
            GeneratedPattern {
                header: "X-Powered-By".into(),
                pattern: "x".into(),
            }, // ignored
        ];
        let db = recog();
        let r = compare(
            &[(HttpHeader::Server, &db)],
            &ours,
            &corpus,
            CompareParams::default(),
        )
        .unwrap();
        let h = &r[0];
        assert_eq!(h.banners_with_header, 27);
        assert_eq!(h.recog_labelled, 25);
        assert_eq!(h.generated_patterns, 6);
        assert_eq!(h.generated_matched, 9 + 10 + 4 + 2);
        assert_eq!(h.recovered, 1);
        assert!((h.recovered_coverage - 10.0 / 25.0).abs() < 1e-12);
        assert_eq!(h.partial, 1);
        assert!((h.partial_coverage - 20.0 / 25.0).abs() < 1e-12);
        let by = |d: &str| h.recog.iter().find(|s| s.description == d).unwrap();
        assert_eq!(by("nginx").recovery, Recovery::Recovered);
        assert!((by("nginx").best_overlap - 0.9).abs() < 1e-12);
        assert_eq!(by("nginx").best_generated, Some(0));
        assert_eq!(by("Apache").recovery, Recovery::Partial);
        assert!((by("Apache").best_overlap - 0.5).abs() < 1e-12);
        assert_eq!(by("IIS").recovery, Recovery::Missed);
        assert!((by("IIS").best_overlap - 4.0 / 6.0).abs() < 1e-12);
        assert_eq!(by("lighttpd").recovery, Recovery::Missed);
        assert!(h.recog.iter().all(|s| s.description != "unseen"));
        assert_eq!(
            h.new_candidates,
            vec![NewCandidate {
                generated: 4,
                pattern: "^Foo$".into(),
                banners: 2
            }]
        );
    }

    #[test]
    fn containment_threshold_relaxes_partial() {
        // One generated pattern covers all 10 Apache banners plus 1 other: not a subset.
        let mut v = vec![("Server", "Apache/1"); 10];
        v.push(("Server", "Apachx"));
        v.extend(std::iter::repeat_n(("Server", "zzz"), 10));
        let ours = vec![g("^Apach"), g("^z"), g("^zz")];
        let db = recog();
        let corpus = corpus(&v);
        let strict = compare(
            &[(HttpHeader::Server, &db)],
            &ours,
            &corpus,
            CompareParams::default(),
        )
        .unwrap();
        // overlap 10/11 = 0.909 -> recovered anyway.
        assert_eq!(strict[0].recovered, 1);
        let p = CompareParams {
            recovered_overlap: 0.95,
            ..CompareParams::default()
        };
        let r = compare(&[(HttpHeader::Server, &db)], &ours, &corpus, p).unwrap();
        assert_eq!((r[0].recovered, r[0].partial), (0, 0));
        let p = CompareParams {
            recovered_overlap: 0.95,
            containment: 0.9,
            ..CompareParams::default()
        };
        let r = compare(&[(HttpHeader::Server, &db)], &ours, &corpus, p).unwrap();
        assert_eq!((r[0].recovered, r[0].partial), (0, 1));
        // Candidates ranked by banners, ties by input order.
        assert_eq!(
            r[0].new_candidates
                .iter()
                .map(|c| c.generated)
                .collect::<Vec<_>>(),
            vec![1, 2]
        );
    }

    #[test]
    fn params_are_validated() {
        let bad = [
            CompareParams {
                recovered_overlap: 0.0,
                ..CompareParams::default()
            },
            CompareParams {
                recovered_overlap: 1.5,
                ..CompareParams::default()
            },
            CompareParams {
                partial_coverage: 1.0,
                ..CompareParams::default()
            },
            CompareParams {
                containment: f64::NAN,
                ..CompareParams::default()
            },
        ];
        for p in bad {
            assert!(matches!(p.check(), Err(Error::InvalidParams(_))));
        }
        let db = recog();
        let e = compare(
            &[(HttpHeader::Server, &db)],
            &[g("(")],
            &[],
            CompareParams::default(),
        );
        assert!(matches!(e, Err(Error::Fingerprint { line: 1, .. })));
    }
}
