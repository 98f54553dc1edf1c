//! Export of generated fingerprints as a Recog XML database, through
//! `recog-compat`.

use crate::error::Result;
use crate::generate::Fingerprint;
use crate::pattern::compile_regex;

/// The named capture this crate writes for versions.
const NAMED_VERSION: &str = "(?P<version>";

/// Recog's `matches` value for an HTTP header: `http_header.server`,
/// `http_header.cookie` (Set-Cookie), `http_header.wwwauth`
/// (WWW-Authenticate), else `http_header.` and the lowercase name.
pub fn recog_matches(header: &str) -> String {
    match header.to_ascii_lowercase().as_str() {
        "set-cookie" => "http_header.cookie".to_owned(),
        "www-authenticate" => "http_header.wwwauth".to_owned(),
        other => format!("http_header.{other}"),
    }
}

/// The fingerprints of `header` as a Recog database (`matches` from
/// [`recog_matches`], protocol `http`; for a text protocol's field such as `ssh.banner`
/// ([`text_field`](crate::text_field)), `matches` is the field and the protocol its own, as
/// in Recog's `ssh_banners.xml`), ready for
/// [`ExportDatabase::to_xml`](recog_compat::ExportDatabase::to_xml) or
/// [`write`](recog_compat::ExportDatabase::write).
///
/// Each fingerprint's regex is written in Recog's (Ruby) syntax: the named
/// version capture becomes plain group 1 with param `service.version`, and
/// the `REG_DOT_NEWLINE` flag is set (`.` matches `\n`, as in
/// [`compile_regex`]). Every fingerprint also gets the fixed param
/// `bannerlm.cluster` = `clustering/cluster` (Recog requires one param; braces
/// of the clustering name become parentheses there, since `{name}` in a Recog
/// param value is an interpolation) and its description gives cluster,
/// support and precision. Examples are the fingerprint's examples whose
/// display form is the value itself (no escapes), with the version they must
/// yield. Control and format characters of a clustering name reach the XML
/// only as visible escapes (see [`recog_compat::ExportDatabase::to_xml`]).
///
/// ```
/// use lcs_fingerprint::{Clustering, FingerprintParams, to_recog};
///
/// let banners: Vec<String> = (0..12)
///     .map(|i| format!("HTTP/1.1 200 OK\r\nServer: Acme-httpd/1.{i}\r\n\r\n"))
///     .collect();
/// let clusters = Clustering { name: "0.05".into(), labels: vec![Some(3); 12] };
/// let fps = FingerprintParams::default().generate(&banners, &[clusters])?;
/// let db = to_recog(&fps, "Server")?;
/// assert_eq!(db.matches, "http_header.server");
/// assert_eq!(db.fingerprints[0].pattern, r"^Acme\-httpd/([0-9]+(?:\.[0-9]+)*(?:[a-z]+[0-9]*)?)$");
/// let xml = db.to_xml()?;
/// let parsed = recog_compat::Database::from_xml_str(&xml, "generated")?;
/// let report = recog_compat::verify(&parsed)?;
/// assert!(report.successes > 0 && report.failures == 0);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
///
/// # Errors
///
/// [`Error::Regex`](crate::Error::Regex) if a regex does not compile (not
/// expected for generated fingerprints).
pub fn to_recog(
    fingerprints: &[Fingerprint],
    header: &str,
) -> Result<recog_compat::ExportDatabase> {
    let (matches, protocol) = match crate::text::field_protocol(header) {
        Some((protocol, _)) => (header.to_ascii_lowercase(), protocol.to_owned()),
        None => (recog_matches(header), "http".to_owned()),
    };
    let mut out = recog_compat::ExportDatabase {
        matches,
        protocol,
        database_type: "service".to_owned(),
        ..Default::default()
    };
    for f in fingerprints
        .iter()
        .filter(|f| f.header.eq_ignore_ascii_case(header))
    {
        let re = compile_regex(&f.regex)?;
        let has_version = f.regex.contains(NAMED_VERSION);
        let label = format!(
            "{}/{}",
            f.clustering.replace('{', "(").replace('}', ")"),
            f.cluster
        );
        let mut params = vec![recog_compat::ExportParam {
            pos: 0,
            name: "bannerlm.cluster".to_owned(),
            value: Some(label.clone()),
        }];
        if has_version {
            params.push(recog_compat::ExportParam {
                pos: 1,
                name: "service.version".to_owned(),
                value: None,
            });
        }
        let examples = f
            .examples
            .iter()
            .filter(|e| !e.contains('\\'))
            .filter_map(|e| {
                let caps = re.captures(e.as_bytes())?;
                let mut expected = vec![("bannerlm.cluster".to_owned(), label.clone())];
                if let Some(v) = caps.name("version") {
                    expected.push((
                        "service.version".to_owned(),
                        String::from_utf8_lossy(v.as_bytes()).into_owned(),
                    ));
                }
                Some(recog_compat::ExportExample {
                    banner: e.as_bytes().to_vec(),
                    expected,
                })
            })
            .collect();
        out.fingerprints.push(recog_compat::ExportFingerprint {
            pattern: f.regex.replace(NAMED_VERSION, "("),
            flags: recog_compat::Flags {
                dot_newline: true,
                ..Default::default()
            },
            description: format!(
                "bannerlm: {} cluster {}, support {}/{}, precision {:.3}",
                f.clustering, f.cluster, f.support, f.cluster_size, f.precision
            ),
            examples,
            params,
        });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Clustering, FingerprintParams};

    #[test]
    fn every_header_exports_and_verifies() {
        let banners: Vec<String> = (0..30u64)
            .map(|i| {
                let id = i.wrapping_mul(0x9E37_79B9_7F4A_7C15);
                let (server, cookie, auth) = match i % 3 {
                    0 => ("lighttpd/1.4.59", format!("DVRSESSID={id:x}; path=/; HttpOnly"), "Basic realm=\"DVR\""),
                    1 => ("Boa/0.94.14rc21", format!("camera_uid={id:x}"), "Digest realm=\"IP Camera\", qop=\"auth\""),
                    _ => ("mini_httpd/1.19 19dec2003", format!("token=a{id:x}; Secure"), "Basic realm=\"Router\""),
                };
                format!(
                    "HTTP/1.1 401 Unauthorized\r\nServer: {server}\r\nSet-Cookie: {cookie}\r\nWWW-Authenticate: {auth}\r\n\r\n"
                )
            })
            .collect();
        let c = Clustering {
            name: "0.1".into(),
            labels: (0..30).map(|i| Some(i % 3)).collect(),
        };
        let fps = FingerprintParams::default()
            .k(5)
            .n_draws(10)
            .generate(&banners, &[c])
            .expect("generates");
        for header in ["Server", "Set-Cookie", "WWW-Authenticate"] {
            let db = to_recog(&fps, header).expect("exports");
            assert_eq!(db.fingerprints.len(), 3, "{header}: {fps:#?}");
            let xml = db.to_xml().expect("valid Recog database");
            let parsed = recog_compat::Database::from_xml_str(&xml, header).expect("parses back");
            let report = recog_compat::verify(&parsed).expect("verifies");
            assert_eq!(report.failures, 0, "{header}: {xml}");
            assert!(report.successes >= 3, "{header}: {xml}");
        }
        assert_eq!(recog_matches("WWW-Authenticate"), "http_header.wwwauth");
        assert_eq!(recog_matches("X-Powered-By"), "http_header.x-powered-by");
    }

    /// Issue 24 item 9: a clustering name with control characters, a bidirectional override
    /// and braces gives a Recog database with no control byte that loads and verifies.
    #[test]
    fn hostile_clustering_names_stay_out_of_the_xml() {
        let banners: Vec<String> = (0..12)
            .map(|i| format!("HTTP/1.1 200 OK\r\nServer: Acme-httpd/1.{i}\r\n\r\n"))
            .collect();
        let name = "eps\u{1b}[2J\u{1b}]0;t\u{7}\u{0}\u{9b}\u{202e}{x}";
        let c = Clustering {
            name: name.into(),
            labels: vec![Some(3); 12],
        };
        let fps = FingerprintParams::default()
            .generate(&banners, &[c])
            .expect("generates");
        let db = to_recog(&fps, "Server").expect("exports");
        let xml = db.to_xml().expect("valid Recog database");
        assert!(
            !xml.bytes().any(|b| (b < 0x20 && b != b'\n') || b == 0x7f),
            "{xml:?}"
        );
        assert!(
            !xml.contains('\u{9b}') && !xml.contains('\u{202e}'),
            "{xml}"
        );
        let parsed = recog_compat::Database::from_xml_str(&xml, "x").expect("parses back");
        let fp = &parsed.fingerprints[0];
        assert!(
            fp.description
                .contains(r"eps\x1b[2J\x1b]0;t\x07\x00\u{9b}\u{202e}{x}"),
            "{}",
            fp.description
        );
        let report = recog_compat::verify(&parsed).expect("verifies");
        assert_eq!(report.failures, 0, "{report}");
        assert!(report.successes > 0, "{report}");
    }
}
