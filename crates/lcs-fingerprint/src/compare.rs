//! Generated fingerprints beside Recog's databases, on the banners they came from.

use std::collections::BTreeMap;

use banner_parse::HttpBanner;
use recog_compat::{CompareParams, CorpusBanner, Database, GeneratedPattern, HttpHeader};
use serde::{Deserialize, Serialize};

use crate::error::Result;
use crate::generate::Fingerprint;

/// The Recog comparison of one header: a serialisable digest of
/// [`recog_compat::HeaderComparison`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HeaderRecovery {
    /// The header's name (`Server`, `Set-Cookie`, `WWW-Authenticate`), or a text
    /// protocol's field (`ssh.banner`, see [`text_field`](crate::text_field)).
    pub header: String,
    /// The Recog database file it was compared with.
    pub database: String,
    /// Banners that carry the header.
    pub banners_with_header: usize,
    /// Banners that Recog labels.
    pub recog_labelled: usize,
    /// Generated patterns for this header.
    pub generated_patterns: usize,
    /// Banners matched by at least one generated pattern.
    pub generated_matched: usize,
    /// Recog fingerprints recovered.
    pub recovered: usize,
    /// Share of Recog-labelled banners whose label is recovered; `None` when Recog labels no
    /// banner (the share is undefined).
    pub recovered_coverage: Option<f64>,
    /// Recog fingerprints partially (and not fully) recovered.
    pub partial: usize,
    /// Share of Recog-labelled banners whose label is recovered or partially recovered.
    pub partial_coverage: Option<f64>,
    /// Generated patterns that overlap no Recog fingerprint.
    pub new_candidates: usize,
    /// Text fields only ([`compare_text_with_recog`](crate::compare_text_with_recog)): of
    /// the generated patterns that are the best overlap of a Recog fingerprint with
    /// examples, those that match at least one of its examples.
    #[serde(default)]
    pub examples_matched: Option<usize>,
    /// Text fields only: generated patterns that are the best overlap of a Recog
    /// fingerprint with examples.
    #[serde(default)]
    pub examples_compared: Option<usize>,
}

impl HeaderRecovery {
    /// The digest of one header's comparison (no example counts).
    pub(crate) fn of(h: &recog_compat::HeaderComparison) -> Self {
        let finite = |x: f64| x.is_finite().then_some(x);
        Self {
            header: h.header.name().to_owned(),
            database: h.header.database_file().to_owned(),
            banners_with_header: h.banners_with_header,
            recog_labelled: h.recog_labelled,
            generated_patterns: h.generated_patterns,
            generated_matched: h.generated_matched,
            recovered: h.recovered,
            recovered_coverage: finite(h.recovered_coverage),
            partial: h.partial,
            partial_coverage: finite(h.partial_coverage),
            new_candidates: h.new_candidates.len(),
            examples_matched: None,
            examples_compared: None,
        }
    }
}

/// What [`compare_with_recog`] finds.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct RecogComparison {
    /// One digest per header compared, in [`HttpHeader`] order.
    pub headers: Vec<HeaderRecovery>,
    /// Fingerprint index (into the fingerprints given) -> descriptions of the Recog
    /// fingerprints whose best-overlapping generated pattern it is (overlap above 0).
    pub descriptions: BTreeMap<usize, Vec<String>>,
}

/// Compares fingerprints with Recog databases on raw HTTP `banners`: each banner's values of
/// the databases' headers form the corpus, each fingerprint is a generated pattern of its
/// header, and [`recog_compat::compare`] says which Recog fingerprints they recover.
///
/// ```
/// use lcs_fingerprint::{Clustering, FingerprintParams, compare_with_recog};
/// use recog_compat::{CompareParams, Database, HttpHeader};
///
/// let banners: Vec<String> = (0..12)
///     .map(|i| format!("HTTP/1.1 200 OK\r\nServer: nginx/1.{i}\r\n\r\n"))
///     .collect();
/// let clusters = Clustering { name: "eps=0.05".into(), labels: vec![Some(0); 12] };
/// let fps = FingerprintParams::default().generate(&banners, &[clusters])?;
/// let recog = Database::from_xml_str(
///     r#"<fingerprints><fingerprint pattern="^nginx(?:/([\d.]+))?$"><description>nginx</description>
///        <param pos="0" name="service.product" value="nginx"/></fingerprint></fingerprints>"#,
///     "http_servers",
/// )?;
/// let out = compare_with_recog(&fps, &banners, &[(HttpHeader::Server, &recog)], CompareParams::default())?;
/// assert_eq!(out.headers[0].banners_with_header, 12);
/// assert_eq!(out.headers[0].recovered, 1);
/// assert_eq!(out.descriptions[&0], ["nginx"]);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
///
/// # Errors
///
/// [`Error::Recog`](crate::Error::Recog) when the comparison fails (invalid params, a
/// pattern that does not compile).
pub fn compare_with_recog<B: AsRef<[u8]>>(
    fingerprints: &[Fingerprint],
    banners: &[B],
    databases: &[(HttpHeader, &Database)],
    params: CompareParams,
) -> Result<RecogComparison> {
    let wanted: Vec<HttpHeader> = databases.iter().map(|(h, _)| *h).collect();
    let corpus: Vec<CorpusBanner> = banners
        .iter()
        .map(|b| CorpusBanner {
            headers: HttpBanner::parse(b.as_ref())
                .headers()
                .iter()
                .filter_map(|h| {
                    HttpHeader::from_name(&String::from_utf8_lossy(h.name))
                        .filter(|x| wanted.contains(x))
                        .map(|x| (x.name().to_owned(), h.value.to_vec()))
                })
                .collect(),
        })
        .collect();
    // Recog's patterns have no named groups: the version capture is compared as group 1.
    let generated: Vec<GeneratedPattern> = fingerprints
        .iter()
        .map(|f| GeneratedPattern {
            header: f.header.clone(),
            pattern: f.regex.replace("(?P<version>", "("),
        })
        .collect();
    let report = recog_compat::compare(databases, &generated, &corpus, params)?;
    let mut out = RecogComparison::default();
    for h in &report {
        out.headers.push(HeaderRecovery::of(h));
        best_overlaps(&mut out, h);
    }
    Ok(out)
}

/// Records in `out.descriptions` the Recog descriptions that each generated fingerprint is the
/// best overlap of, and returns, per generated fingerprint, those Recog fingerprints' indices.
pub(crate) fn best_overlaps(
    out: &mut RecogComparison,
    h: &recog_compat::HeaderComparison,
) -> BTreeMap<usize, Vec<usize>> {
    let mut pairs: BTreeMap<usize, Vec<usize>> = BTreeMap::new();
    for r in &h.recog {
        if let Some(g) = r.best_generated
            && r.best_overlap > 0.0
        {
            out.descriptions
                .entry(g)
                .or_default()
                .push(r.description.clone());
            pairs.entry(g).or_default().push(r.fingerprint);
        }
    }
    pairs
}

/// Counts of a set of fingerprints: how many, per header, and their mean cluster precision.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct FingerprintSummary {
    /// Fingerprints in all.
    pub fingerprints: usize,
    /// Fingerprints per header name.
    pub per_header: BTreeMap<String, usize>,
    /// Mean of [`Fingerprint::precision`] (0 when there is none).
    pub mean_cluster_precision: f64,
}

impl FingerprintSummary {
    /// Summarises `fingerprints`.
    ///
    /// ```
    /// use lcs_fingerprint::{Fingerprint, FingerprintSummary};
    /// let fp = |header: &str, precision: f64| -> Fingerprint {
    ///     serde_json::from_value(serde_json::json!({
    ///         "header": header, "regex": "^x", "clustering": "eps=0.1", "cluster": 0,
    ///         "support": 2, "cluster_size": 2, "matched": 2, "precision": precision,
    ///         "draws": 1, "sources": [], "examples": []
    ///     })).expect("a fingerprint")
    /// };
    /// let s = FingerprintSummary::of(&[fp("Server", 1.0), fp("Server", 0.5), fp("Set-Cookie", 0.0)]);
    /// assert_eq!((s.fingerprints, s.per_header["Server"], s.per_header["Set-Cookie"]), (3, 2, 1));
    /// assert_eq!(s.mean_cluster_precision, 0.5);
    /// assert_eq!(FingerprintSummary::of(&[]).mean_cluster_precision, 0.0);
    /// ```
    pub fn of(fingerprints: &[Fingerprint]) -> Self {
        let mut per_header: BTreeMap<String, usize> = BTreeMap::new();
        for f in fingerprints {
            *per_header.entry(f.header.clone()).or_default() += 1;
        }
        let total: f64 = fingerprints.iter().map(|f| f.precision).sum();
        Self {
            fingerprints: fingerprints.len(),
            per_header,
            mean_cluster_precision: total / fingerprints.len().max(1) as f64,
        }
    }
}
