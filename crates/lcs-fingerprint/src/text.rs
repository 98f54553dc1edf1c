//! Fingerprints of text protocols (SSH, FTP, SMTP, Telnet, POP3, IMAP, NNTP): the common
//! pieces of a cluster's greetings, as Recog matches them.
//!
//! The text of a banner is what [`recog_compat::banner_input`] gives for its protocol (the
//! greeting line without its protocol prefix: `OpenSSH_9.6p1 Ubuntu-3` of
//! `SSH-2.0-OpenSSH_9.6p1 Ubuntu-3`; the whole banner for Telnet). Fingerprints are drawn,
//! sanitized, scored and filtered exactly as an HTTP header's; their
//! [`Fingerprint::header`] is the protocol's *field*, Recog's `matches` value
//! (`ssh.banner`, see [`text_field`]).

use banner_parse::HttpBanner;
use recog_compat::{CompareParams, CorpusBanner, Database, GeneratedPattern, HttpHeader};

use crate::compare::{HeaderRecovery, RecogComparison};
use crate::error::{Error, Result};
use crate::filter::Generated;
use crate::generate::{Clustering, Fingerprint};
use crate::params::ValidFingerprintParams;
use crate::pattern::compile_regex;

/// Text protocols with a field: (protocol, field, Recog database file).
const FIELDS: &[(&str, &str, &str)] = &[
    ("ssh", "ssh.banner", "ssh_banners.xml"),
    ("ftp", "ftp.banner", "ftp_banners.xml"),
    ("smtp", "smtp.banner", "smtp_banners.xml"),
    ("telnet", "telnet.banner", "telnet_banners.xml"),
    ("pop3", "pop3.banner", "pop_banners.xml"),
    ("imap", "imap4.banner", "imap_banners.xml"),
    ("nntp", "nntp.banner", "nntp_banners.xml"),
];

/// The field of a text protocol's fingerprints (Recog's `matches` value: `ssh.banner`,
/// `ftp.banner`, `smtp.banner`, `telnet.banner`, `pop3.banner`, `imap4.banner`,
/// `nntp.banner`), ASCII case-insensitive; `None` for HTTP and unknown protocols.
///
/// ```
/// assert_eq!(lcs_fingerprint::text_field("SSH"), Some("ssh.banner"));
/// assert_eq!(lcs_fingerprint::text_field("http"), None);
/// ```
pub fn text_field(protocol: &str) -> Option<&'static str> {
    FIELDS
        .iter()
        .find(|(p, _, _)| p.eq_ignore_ascii_case(protocol.trim()))
        .map(|(_, f, _)| *f)
}

/// Every text protocol with a field: `(protocol, field, Recog database file)`, for example
/// `("ssh", "ssh.banner", "ssh_banners.xml")`.
///
/// ```
/// let all: Vec<_> = lcs_fingerprint::text_protocols().collect();
/// assert!(all.contains(&("smtp", "smtp.banner", "smtp_banners.xml")));
/// assert!(all.iter().all(|(p, f, _)| lcs_fingerprint::text_field(p) == Some(*f)));
/// ```
pub fn text_protocols() -> impl Iterator<Item = (&'static str, &'static str, &'static str)> {
    FIELDS.iter().copied()
}

/// The protocol and Recog database file of a text field (`ssh.banner` -> `ssh`,
/// `ssh_banners.xml`).
pub(crate) fn field_protocol(field: &str) -> Option<(&'static str, &'static str)> {
    FIELDS
        .iter()
        .find(|(_, f, _)| f.eq_ignore_ascii_case(field))
        .map(|(p, _, db)| (*p, *db))
}

/// Whether `header` names a text protocol's field rather than an HTTP header.
pub fn is_text_field(header: &str) -> bool {
    field_protocol(header).is_some()
}

/// The Recog database file a text field is compared with (`ssh.banner` ->
/// `ssh_banners.xml`); `None` for HTTP headers.
pub fn text_database(field: &str) -> Option<&'static str> {
    field_protocol(field).map(|(_, db)| db)
}

/// The values a fingerprint of `header` is matched against in `banner`: the protocol text
/// for a text field ([`text_field`]; the banner must be of that protocol), else every value
/// of the HTTP header.
pub fn field_values<'b>(header: &str, banner: &'b [u8]) -> Vec<&'b [u8]> {
    match field_protocol(header) {
        Some((protocol, _)) => recog_compat::banner_input(protocol, banner)
            .map(|(_, text)| text)
            .filter(|t| !t.is_empty())
            .into_iter()
            .collect(),
        None => HttpBanner::parse(banner).get_all(header).collect(),
    }
}

impl ValidFingerprintParams {
    /// Generates fingerprints of a text protocol's `banners` (all of that protocol, raw) from
    /// clusterings of them, with the dropped ones: each banner's value is its
    /// [`recog_compat::banner_input`] text; the field is [`text_field`]. The configured
    /// headers play no part; everything else is as for
    /// [`generate_all`](Self::generate_all).
    ///
    /// ```
    /// use lcs_fingerprint::{Clustering, FingerprintParams};
    ///
    /// let banners: Vec<String> = (0..12)
    ///     .map(|i| format!("220 mailhost{i}.example.net ESMTP Postfix (Debian/GNU)\r\n"))
    ///     .collect();
    /// let clusters = [Clustering { name: "0.05".into(), labels: vec![Some(0); 12] }];
    /// let out = FingerprintParams::default().check()?.generate_text("smtp", &banners, &clusters)?;
    /// assert_eq!(out.kept[0].header, "smtp.banner");
    /// assert_eq!(out.kept[0].regex, r"^mailhost.*\.example\.net\x20ESMTP\x20Postfix\x20\(Debian/GNU\)$");
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    ///
    /// # Errors
    ///
    /// [`Error::UnknownProtocol`] when the protocol has no field; else as
    /// [`generate_all`](Self::generate_all).
    pub fn generate_text<B: AsRef<[u8]>>(
        &self,
        protocol: &str,
        banners: &[B],
        clusterings: &[Clustering],
    ) -> Result<Generated> {
        let field =
            text_field(protocol).ok_or_else(|| Error::UnknownProtocol(protocol.to_owned()))?;
        crate::generate::check_label_counts(clusterings, banners.len())?;
        let values: Vec<Vec<&[u8]>> = banners
            .iter()
            .map(|b| field_values(field, b.as_ref()))
            .collect();
        // A stream of draws of its own, apart from the HTTP headers' indices.
        let hi = field.bytes().fold(1usize << 20, |h, b| {
            h.wrapping_mul(31).wrapping_add(usize::from(b))
        });
        let mut out = Generated::default();
        self.generate_values(field, hi, &values, clusterings, &mut out)?;
        Ok(out)
    }
}

/// Compares the fingerprints of a text field with Recog's database for it, on `banners` of
/// that protocol: recovered / partial / new as for HTTP ([`recog_compat::compare`]), plus
/// how many of the field's fingerprints match an example of a Recog fingerprint whose best
/// overlap they are (they describe the same products):
/// [`HeaderRecovery::examples_matched`] of [`HeaderRecovery::examples_compared`].
/// Fingerprints of other headers are ignored; indices in
/// [`RecogComparison::descriptions`] are into `fingerprints`.
///
/// ```
/// use lcs_fingerprint::{Clustering, FingerprintParams, compare_text_with_recog};
/// use recog_compat::{CompareParams, Database};
///
/// let banners: Vec<String> = (0..12).map(|i| format!("SSH-2.0-OpenSSH_8.{i}\r\n")).collect();
/// let clusters = [Clustering { name: "0.05".into(), labels: vec![Some(0); 12] }];
/// let fps = FingerprintParams::default().check()?.generate_text("ssh", &banners, &clusters)?.kept;
/// let recog = Database::from_xml_str(
///     r#"<fingerprints matches="ssh.banner"><fingerprint pattern="^OpenSSH_([\d.]+)$">
///        <description>OpenSSH</description><example>OpenSSH_7.4</example>
///        <param pos="0" name="service.product" value="OpenSSH"/></fingerprint></fingerprints>"#,
///     "ssh_banners",
/// )?;
/// let out = compare_text_with_recog(&fps, "ssh.banner", &banners, &recog, CompareParams::default())?;
/// let h = &out.headers[0];
/// assert_eq!((h.header.as_str(), h.database.as_str(), h.recovered), ("ssh.banner", "ssh_banners.xml", 1));
/// assert_eq!((h.examples_matched, h.examples_compared), (Some(1), Some(1)));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
///
/// # Errors
///
/// [`Error::UnknownProtocol`] when `field` is not a text field; [`Error::Recog`] when the
/// comparison fails; [`Error::Regex`] when a fingerprint does not compile.
pub fn compare_text_with_recog<B: AsRef<[u8]>>(
    fingerprints: &[Fingerprint],
    field: &str,
    banners: &[B],
    database: &Database,
    params: CompareParams,
) -> Result<RecogComparison> {
    let (_, db_file) =
        field_protocol(field).ok_or_else(|| Error::UnknownProtocol(field.to_owned()))?;
    // `recog_compat::compare` is keyed on HTTP headers: the field travels in the Server slot.
    let slot = HttpHeader::Server;
    let corpus: Vec<CorpusBanner> = banners
        .iter()
        .map(|b| CorpusBanner {
            headers: field_values(field, b.as_ref())
                .into_iter()
                .map(|v| (slot.name().to_owned(), v.to_vec()))
                .collect(),
        })
        .collect();
    let mine = |f: &Fingerprint| f.header.eq_ignore_ascii_case(field);
    let generated: Vec<GeneratedPattern> = fingerprints
        .iter()
        .map(|f| GeneratedPattern {
            // Any other header: a name that is no HTTP header, so the slot ignores it.
            header: if mine(f) {
                slot.name().to_owned()
            } else {
                String::new()
            },
            pattern: f.regex.replace("(?P<version>", "("),
        })
        .collect();
    let report = recog_compat::compare(&[(slot, database)], &generated, &corpus, params)?;
    let mut out = RecogComparison::default();
    for h in &report {
        let mut recovery = HeaderRecovery::of(h);
        field.clone_into(&mut recovery.header);
        db_file.clone_into(&mut recovery.database);
        // Our fingerprint -> the Recog fingerprints whose best overlap it is.
        let pairs = crate::compare::best_overlaps(&mut out, h);
        let mut matched = 0usize;
        let mut compared = 0usize;
        for (g, recog) in pairs {
            let Some(f) = fingerprints.get(g) else {
                continue;
            };
            let examples: Vec<&[u8]> = recog
                .iter()
                .filter_map(|&ri| database.fingerprints.get(ri))
                .flat_map(|fp| fp.examples.iter().map(|e| e.content.as_slice()))
                .collect();
            if examples.is_empty() {
                continue;
            }
            compared += 1;
            let re = compile_regex(&f.regex)?;
            if examples.iter().any(|e| re.is_match(e)) {
                matched += 1;
            }
        }
        recovery.examples_matched = Some(matched);
        recovery.examples_compared = Some(compared);
        out.headers.push(recovery);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::FingerprintParams;

    /// Known answer: two FTP clusters (vsFTPd, ProFTPD with a host name), one fingerprint
    /// each (equal precision and support: by regex); `http` has no field; labels must line up.
    #[test]
    fn ftp_clusters_give_one_fingerprint_each() {
        let mut banners: Vec<String> = (0..10)
            .map(|_| "220 (vsFTPd 3.0.3)\r\n".to_owned())
            .collect();
        banners.extend(
            (0..10).map(|i| format!("220 ProFTPD Server (host{i}.example.org) ready.\r\n")),
        );
        let c = Clustering {
            name: "e".into(),
            labels: (0..20).map(|i| Some(i / 10)).collect(),
        };
        let p = FingerprintParams::default()
            .check()
            .unwrap_or_else(|e| panic!("{e}"));
        let out = p
            .generate_text("ftp", &banners, std::slice::from_ref(&c))
            .unwrap_or_else(|e| panic!("{e}"));
        let regexes: Vec<&str> = out.kept.iter().map(|f| f.regex.as_str()).collect();
        assert_eq!(
            regexes,
            [
                r"^ProFTPD\x20Server\x20\(host.*\.example\.org\)\x20ready\.$",
                r"^\(vsFTPd\x20(?P<version>[0-9]+(?:\.[0-9]+)*(?:[a-z]+[0-9]*)?)\)$"
            ],
            "{out:#?}"
        );
        assert!(
            out.kept
                .iter()
                .all(|f| f.header == "ftp.banner" && (f.precision - 1.0).abs() < 1e-12)
        );
        assert!(matches!(
            p.generate_text("http", &banners, std::slice::from_ref(&c)),
            Err(Error::UnknownProtocol(_))
        ));
        assert!(matches!(
            p.generate_text("ftp", &banners[..3], &[c]),
            Err(Error::LabelCount { .. })
        ));
        assert_eq!(field_values("ftp.banner", b"220 x\r\n"), [&b"x"[..]]);
        assert_eq!(
            field_values("Server", b"HTTP/1.1 200 OK\r\nServer: a\r\n\r\n"),
            [&b"a"[..]]
        );
        assert_eq!(text_database("telnet.banner"), Some("telnet_banners.xml"));
        assert!(!is_text_field("Server"));
    }
}
