//! Writing fingerprints as a Recog XML database (valid against `fingerprints.xsd`).
//!
//! Generated text (descriptions from clustering names, param values, header names) may hold
//! any character. XML 1.0 cannot carry most C0 controls at all, and a control character or a
//! bidirectional override that it can carry would reach every terminal that prints the
//! database later. So in descriptions and in attribute values every control character (other
//! than tab and line breaks, written as character references in attributes) and every Unicode
//! format character is written as visible text with [`bannerlm_base::escape_str`] (`\x1b`,
//! `\u{202e}`; `\u202e` in attribute values, where braces would read as Recog's `{name}`
//! interpolation). Patterns keep their meaning instead: DEL, C1 and format characters are
//! written as character references, and a pattern holding a C0 control that XML cannot
//! carry is refused (write it as `\xNN`). Example banners that are not plain text go out as
//! base64. The exported file therefore holds no control byte but line breaks.

use std::fmt::Write as _;
use std::path::Path;

use bannerlm_base::escape_str;
use base64::Engine as _;

use crate::db::Database;
use crate::error::{Error, Result};
use crate::flags::Flags;
use crate::matcher::{CompiledPattern, MatcherOptions};

/// A param of an exported fingerprint.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExportParam {
    /// 0 for a fixed value, else the capture group index.
    pub pos: usize,
    /// Param name, e.g. `service.product`.
    pub name: String,
    /// Fixed value (required for `pos == 0`, forbidden otherwise).
    pub value: Option<String>,
}

/// An example banner with the params it must yield.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExportExample {
    /// The banner bytes; written as text when XML can hold them, else base64.
    pub banner: Vec<u8>,
    /// Expected `(param, value)` pairs, written as attributes.
    pub expected: Vec<(String, String)>,
}

/// One fingerprint to export (e.g. from a cluster of lcs-fingerprint).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ExportFingerprint {
    /// Pattern in Recog (Ruby) syntax.
    pub pattern: String,
    /// Regex flags.
    pub flags: Flags,
    /// Description (the cluster's label).
    pub description: String,
    /// Example banners.
    pub examples: Vec<ExportExample>,
    /// At least one param (Recog's schema requires it).
    pub params: Vec<ExportParam>,
}

/// The `<fingerprints>` element to export.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ExportDatabase {
    /// `matches` attribute, e.g. `http_header.server`.
    pub matches: String,
    /// `protocol` attribute, e.g. `http` (omitted if empty).
    pub protocol: String,
    /// `database_type` attribute, e.g. `service` (omitted if empty).
    pub database_type: String,
    /// `preference` in `[0, 1]`.
    pub preference: Option<f64>,
    /// The fingerprints (at least one).
    pub fingerprints: Vec<ExportFingerprint>,
}

impl ExportDatabase {
    /// Checks everything the schema and Recog's verifier require: at least one
    /// fingerprint, each with a pattern Recog's syntax accepts, at least one
    /// param, `value` exactly for `pos == 0`, valid attribute names, and a
    /// preference in `[0, 1]`.
    ///
    /// # Errors
    /// [`Error::Export`] with the fingerprint index, or [`Error::InvalidParams`].
    pub fn validate(&self) -> Result<()> {
        if self.fingerprints.is_empty() {
            return Err(Error::InvalidParams(
                "a Recog database needs at least one fingerprint".into(),
            ));
        }
        if let Some(p) = self.preference
            && !(0.0..=1.0).contains(&p)
        {
            return Err(Error::InvalidParams(format!(
                "preference {p} is outside [0, 1]"
            )));
        }
        let opts = MatcherOptions::default();
        for (index, fp) in self.fingerprints.iter().enumerate() {
            let e = |message: String| Error::Export {
                index,
                message,
                source: None,
            };
            CompiledPattern::new(&fp.pattern, fp.flags, &opts).map_err(|x| Error::Export {
                index,
                message: "the pattern does not compile".into(),
                source: Some(Box::new(x)),
            })?;
            if let Some(c) = fp.pattern.chars().find(|&c| !xml_char(c)) {
                return Err(e(format!(
                    "the pattern holds the character {}, which XML 1.0 cannot carry; write it as an escape",
                    escape_str(c.encode_utf8(&mut [0; 4]))
                )));
            }
            if fp.params.is_empty() {
                return Err(e("no params; Recog's schema requires at least one".into()));
            }
            for p in &fp.params {
                if !is_xml_name(&p.name) {
                    return Err(e(format!(
                        "param name \"{}\" is not an XML attribute name",
                        escape_str(&p.name)
                    )));
                }
                match (p.pos, p.value.as_deref()) {
                    (0, None | Some("")) => {
                        return Err(e(format!(
                            "param \"{}\" has pos 0 but no value",
                            escape_str(&p.name)
                        )));
                    }
                    (1.., Some(v)) if !v.is_empty() => {
                        return Err(e(format!(
                            "param \"{}\" has pos {} and a value",
                            escape_str(&p.name),
                            p.pos
                        )));
                    }
                    _ => {}
                }
            }
            for ex in &fp.examples {
                for (k, _) in &ex.expected {
                    if !is_xml_name(k) || k == "_encoding" || k == "_filename" {
                        return Err(e(format!(
                            "example attribute \"{}\" cannot be written",
                            escape_str(k)
                        )));
                    }
                }
            }
        }
        Ok(())
    }

    /// Renders the database as Recog XML after [`Self::validate`].
    ///
    /// # Errors
    /// As [`Self::validate`].
    ///
    /// ```
    /// use recog_compat::{Database, ExportDatabase, ExportExample, ExportFingerprint, ExportParam};
    /// let export = ExportDatabase {
    ///     matches: "http_header.server".into(),
    ///     protocol: "http".into(),
    ///     fingerprints: vec![ExportFingerprint {
    ///         pattern: r"^Acme-httpd/([\d.]+)$".into(),
    ///         description: "cluster 17".into(),
    ///         examples: vec![ExportExample {
    ///             banner: b"Acme-httpd/1.2".to_vec(),
    ///             expected: vec![("service.version".into(), "1.2".into())],
    ///         }],
    ///         params: vec![
    ///             ExportParam { pos: 0, name: "service.product".into(), value: Some("Acme".into()) },
    ///             ExportParam { pos: 1, name: "service.version".into(), value: None },
    ///         ],
    ///         ..Default::default()
    ///     }],
    ///     ..Default::default()
    /// };
    /// let xml = export.to_xml()?;
    /// let db = Database::from_xml_str(&xml, "acme")?;
    /// assert_eq!(recog_compat::verify(&db)?.successes, 1);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn to_xml(&self) -> Result<String> {
        self.validate()?;
        let mut x = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<fingerprints");
        attr(&mut x, "matches", &self.matches, true, false);
        attr(&mut x, "protocol", &self.protocol, false, false);
        attr(&mut x, "database_type", &self.database_type, false, false);
        if let Some(p) = self.preference {
            let _ = write!(x, " preference=\"{p}\"");
        }
        x.push_str(">\n");
        for fp in &self.fingerprints {
            x.push_str("  <fingerprint");
            attr(&mut x, "pattern", &fp.pattern, true, true);
            attr(&mut x, "flags", &fp.flags.to_attribute(), false, false);
            x.push_str(">\n    <description>");
            push_description(&mut x, &fp.description);
            x.push_str("</description>\n");
            for ex in &fp.examples {
                x.push_str("    <example");
                let text = std::str::from_utf8(&ex.banner)
                    .ok()
                    .filter(|s| s.chars().all(plain_text) && s.trim() == *s);
                for (k, v) in &ex.expected {
                    attr(&mut x, k, v, true, false);
                }
                if let Some(s) = text {
                    x.push('>');
                    x.push_str(&escape_text(s));
                } else {
                    x.push_str(" _encoding=\"base64\">");
                    x.push_str(&base64::engine::general_purpose::STANDARD.encode(&ex.banner));
                }
                x.push_str("</example>\n");
            }
            for p in &fp.params {
                let _ = write!(x, "    <param pos=\"{}\"", p.pos);
                attr(&mut x, "name", &p.name, true, false);
                if let Some(v) = p.value.as_deref() {
                    attr(&mut x, "value", v, true, false);
                }
                x.push_str("/>\n");
            }
            x.push_str("  </fingerprint>\n");
        }
        x.push_str("</fingerprints>\n");
        Ok(x)
    }

    /// Writes [`Self::to_xml`] to a file, atomically ([`bannerlm_base::write_atomic`]): the
    /// file appears whole or not at all, and a failed write leaves the old file as it was.
    ///
    /// # Errors
    /// As [`Self::validate`], plus I/O errors.
    pub fn write(&self, path: impl AsRef<Path>) -> Result<()> {
        let xml = self.to_xml()?;
        bannerlm_base::write_atomic(path.as_ref(), xml.as_bytes()).map_err(|source| Error::Io {
            path: path.as_ref().to_owned(),
            source,
        })
    }
}

impl From<&Database> for ExportDatabase {
    /// Turns a loaded database back into export input (e.g. to write a
    /// filtered or merged copy). Example banners keep their bytes; the
    /// `_encoding`/`_filename` attributes are decided again on export.
    fn from(db: &Database) -> Self {
        ExportDatabase {
            matches: db.match_key.clone(),
            protocol: db.protocol.clone(),
            database_type: db.database_type.clone(),
            preference: Some(db.preference),
            fingerprints: db
                .fingerprints
                .iter()
                .map(|fp| ExportFingerprint {
                    pattern: fp.pattern.clone(),
                    flags: fp.flags,
                    description: fp.description.clone(),
                    examples: fp
                        .examples
                        .iter()
                        .map(|ex| ExportExample {
                            banner: ex.content.clone(),
                            expected: ex
                                .expected()
                                .map(|(k, v)| (k.to_owned(), v.to_owned()))
                                .collect(),
                        })
                        .collect(),
                    params: fp
                        .params
                        .iter()
                        .map(|p| ExportParam {
                            pos: p.pos,
                            name: p.name.clone(),
                            value: p.value.clone(),
                        })
                        .collect(),
                })
                .collect(),
        }
    }
}

/// Characters XML 1.0 can carry at all (its `Char` production).
fn xml_char(c: char) -> bool {
    matches!(c, '\t' | '\n' | '\r' | '\u{20}'..='\u{D7FF}' | '\u{E000}'..='\u{FFFD}' | '\u{10000}'..)
}

/// Characters that are shown as visible escapes in descriptions and attribute values:
/// controls, Unicode format characters (bidirectional overrides, zero-width characters) and
/// what XML cannot carry.
fn needs_visible_escape(c: char) -> bool {
    let mut buf = [0; 4];
    c != '\\' && (!xml_char(c) || escape_str(c.encode_utf8(&mut buf)).len() != c.len_utf8())
}

/// Characters an example banner may hold to be written as text: they survive parsing
/// unchanged (no `\r`, which parsers normalise) and are neither controls (but tab and line
/// feed) nor format characters; other banners go out as base64.
fn plain_text(c: char) -> bool {
    matches!(c, '\t' | '\n') || !needs_visible_escape(c)
}

fn is_xml_name(s: &str) -> bool {
    let mut cs = s.chars();
    cs.next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && cs.all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'))
}

/// Text content: markup characters as entities, tabs as character references.
fn escape_text(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('\t', "&#9;")
}

/// The visible escape of `c` (one that [`needs_visible_escape`]): [`escape_str`]'s form
/// (`\x1b`, `\u{202e}`), except that in attribute values (`brace_free`) a `\u{...}` escape is
/// written `\u202e` instead, since `{name}` in a param value is Recog's interpolation.
fn push_visible(x: &mut String, c: char, brace_free: bool) {
    let e = escape_str(c.encode_utf8(&mut [0; 4]));
    if e.starts_with('\\') && !(brace_free && e.contains('{')) {
        x.push_str(&e);
    } else {
        // Non-characters such as U+FFFE, which the escaper leaves as they are.
        let _ = write!(x, "\\u{:04x}", u32::from(c));
    }
}

/// A description on one line: tabs and line breaks become spaces (the loader collapses
/// whitespace anyway), controls and format characters visible escapes.
fn push_description(x: &mut String, description: &str) {
    for c in description.chars() {
        match c {
            '\t' | '\n' | '\r' => x.push(' '),
            '&' => x.push_str("&amp;"),
            '<' => x.push_str("&lt;"),
            '>' => x.push_str("&gt;"),
            c if needs_visible_escape(c) => push_visible(x, c, false),
            c => x.push(c),
        }
    }
}

/// Appends ` name="value"` with the value escaped so that attribute-value normalisation
/// gives it back unchanged: tab and line breaks as character references. Other controls and
/// format characters: in a pattern (`exact`) as character references (the checks refuse
/// what XML cannot carry), elsewhere as visible escapes.
fn attr(x: &mut String, name: &str, value: &str, always: bool, exact: bool) {
    if value.is_empty() && !always {
        return;
    }
    let _ = write!(x, " {name}=\"");
    for c in value.chars() {
        match c {
            '&' => x.push_str("&amp;"),
            '<' => x.push_str("&lt;"),
            '>' => x.push_str("&gt;"),
            '"' => x.push_str("&quot;"),
            '\t' => x.push_str("&#9;"),
            '\n' => x.push_str("&#10;"),
            '\r' => x.push_str("&#13;"),
            c if exact && xml_char(c) && needs_visible_escape(c) => {
                let _ = write!(x, "&#x{:X};", u32::from(c));
            }
            c if needs_visible_escape(c) => push_visible(x, c, true),
            c => x.push(c),
        }
    }
    x.push('"');
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::{Database, verify};

    fn sample() -> ExportDatabase {
        ExportDatabase {
            matches: "http_header.server".into(),
            protocol: "http".into(),
            database_type: "service".into(),
            preference: Some(0.5),
            fingerprints: vec![
                ExportFingerprint {
                    pattern: "^A&B \"<x>\"\t(\\d+)$".into(),
                    flags: Flags {
                        ignore_case: true,
                        dot_newline: false,
                    },
                    description: "amp & <lt>\nline".into(),
                    examples: vec![ExportExample {
                        banner: b"a&b \"<X>\"\t42".to_vec(),
                        expected: vec![("service.version".into(), "42".into())],
                    }],
                    params: vec![
                        ExportParam {
                            pos: 0,
                            name: "service.product".into(),
                            value: Some("A&B".into()),
                        },
                        ExportParam {
                            pos: 1,
                            name: "service.version".into(),
                            value: None,
                        },
                    ],
                },
                ExportFingerprint {
                    pattern: "^\\x00bin(.)".into(),
                    description: "binary".into(),
                    examples: vec![
                        ExportExample {
                            banner: b"\x00bin\xff".to_vec(),
                            expected: vec![],
                        },
                        ExportExample {
                            banner: b" padded\r\n".to_vec(),
                            expected: vec![],
                        },
                    ],
                    params: vec![ExportParam {
                        pos: 0,
                        name: "service.product".into(),
                        value: Some("B".into()),
                    }],
                    ..ExportFingerprint::default()
                },
            ],
        }
    }

    #[test]
    fn round_trips_through_the_loader() {
        let e = sample();
        let xml = e.to_xml().unwrap();
        let db = Database::from_xml_str(&xml, "x").unwrap();
        assert_eq!(db.match_key, "http_header.server");
        assert_eq!(db.protocol, "http");
        assert_eq!(db.database_type, "service");
        assert!((db.preference - 0.5).abs() < 1e-9);
        assert_eq!(db.fingerprints.len(), 2);
        let f = &db.fingerprints[0];
        assert_eq!(f.pattern, e.fingerprints[0].pattern);
        assert!(f.flags.ignore_case);
        assert_eq!(f.description, "amp & <lt> line");
        assert_eq!(f.examples[0].content, e.fingerprints[0].examples[0].banner);
        assert_eq!(f.params[0].value.as_deref(), Some("A&B"));
        assert_eq!(f.params[1].pos, 1);
        let b = &db.fingerprints[1];
        assert_eq!(b.examples[0].content, b"\x00bin\xff");
        assert_eq!(b.examples[1].content, b" padded\r\n");
        assert!(
            b.examples[0]
                .attributes
                .iter()
                .any(|(k, v)| k == "_encoding" && v == "base64")
        );
        // Element order and required elements of fingerprints.xsd.
        let order: Vec<usize> = ["<description>", "<example", "<param"]
            .iter()
            .map(|t| xml.find(t).unwrap())
            .collect();
        assert!(order.windows(2).all(|w| w[0] < w[1]));
        // And the examples verify: the first matches case-insensitively and yields 42.
        let r = verify(&db).unwrap();
        assert_eq!((r.successes, r.failures), (2, 1), "{r}");
    }

    #[test]
    fn invalid_input_is_rejected() {
        let mut e = sample();
        e.fingerprints[0].params.clear();
        assert!(matches!(e.to_xml(), Err(Error::Export { index: 0, .. })));
        let mut e = sample();
        e.fingerprints[1].pattern = "(".into();
        assert!(matches!(e.to_xml(), Err(Error::Export { index: 1, .. })));
        let mut e = sample();
        e.fingerprints[0].params[1].value = Some("x".into());
        assert!(matches!(e.to_xml(), Err(Error::Export { index: 0, .. })));
        let mut e = sample();
        e.fingerprints[0].examples[0]
            .expected
            .push(("bad name".into(), "v".into()));
        assert!(matches!(e.to_xml(), Err(Error::Export { index: 0, .. })));
        let mut e = sample();
        e.preference = Some(2.0);
        assert!(matches!(e.to_xml(), Err(Error::InvalidParams(_))));
        assert!(matches!(
            ExportDatabase::default().to_xml(),
            Err(Error::InvalidParams(_))
        ));
    }
}
