//! Loading Recog XML databases.

use std::path::{Path, PathBuf};

use base64::Engine as _;
use quick_xml::XmlVersion;
use quick_xml::events::{BytesStart, Event};

use crate::error::{Error, Result};
use crate::flags::Flags;

/// Recog's default database preference (`Recog::DB::DEFAULT_FP_PREFERENCE`).
pub(crate) const DEFAULT_PREFERENCE: f64 = 0.10;

/// The largest database file [`Database::from_path`] reads, in bytes (Recog's largest,
/// `snmp_sysdescr.xml`, is about 0.5 MB). A larger file is an [`Error::TooLarge`], found
/// before it is read into memory; loading then holds at most a few times this much.
pub const MAX_DATABASE_BYTES: u64 = 32 << 20;

/// The largest example file (`<example _filename="...">`) that is read, in bytes.
pub const MAX_EXAMPLE_FILE_BYTES: u64 = 16 << 20;

/// Reads a whole file, refusing one larger than `limit` (checked on the open file, and the
/// read stops past the limit, so a growing file or a device cannot exhaust memory either).
fn read_limited(path: &Path, limit: u64) -> Result<Vec<u8>> {
    use std::io::Read as _;
    let io = |source| Error::Io {
        path: path.to_owned(),
        source,
    };
    let file = std::fs::File::open(path).map_err(io)?;
    let len = file.metadata().map_err(io)?.len();
    let too_large = |size| Error::TooLarge {
        path: path.to_owned(),
        size,
        limit,
    };
    if len > limit {
        return Err(too_large(len));
    }
    let mut buf = Vec::with_capacity(usize::try_from(len).unwrap_or(0));
    file.take(limit.saturating_add(1))
        .read_to_end(&mut buf)
        .map_err(io)?;
    let got = u64::try_from(buf.len()).unwrap_or(u64::MAX);
    if got > limit {
        return Err(too_large(got));
    }
    Ok(buf)
}

/// One Recog XML file: a `<fingerprints>` element and its fingerprints.
#[derive(Debug, Clone, PartialEq)]
pub struct Database {
    /// Where the database was read from (`<memory>` for strings).
    pub path: PathBuf,
    /// The `matches` attribute, or the file name without `.xml` (Recog's `match_key`).
    pub match_key: String,
    /// The `protocol` attribute (empty if absent).
    pub protocol: String,
    /// The `database_type` attribute (empty if absent).
    pub database_type: String,
    /// The `preference` attribute (default 0.10, Recog's `DEFAULT_FP_PREFERENCE`).
    pub preference: f64,
    /// The fingerprints in file order (Recog tries them in this order).
    pub fingerprints: Vec<Fingerprint>,
}

/// One `<fingerprint>` element.
#[derive(Debug, Clone, PartialEq)]
pub struct Fingerprint {
    /// 1-based line of the `<fingerprint` tag.
    pub line: usize,
    /// The Ruby-flavoured regular expression.
    pub pattern: String,
    /// Parsed `flags` attribute.
    pub flags: Flags,
    /// The `certainty` attribute, if any.
    pub certainty: Option<String>,
    /// The description with whitespace collapsed, as Recog reports it.
    pub description: String,
    /// Example banners with the params they must yield.
    pub examples: Vec<Example>,
    /// Params in file order.
    pub params: Vec<Param>,
}

/// One `<example>` element.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Example {
    /// 1-based line of the `<example` tag.
    pub line: usize,
    /// The banner bytes (base64-decoded or read from `_filename` when asked).
    pub content: Vec<u8>,
    /// All attributes in file order, including `_encoding` / `_filename`.
    pub attributes: Vec<(String, String)>,
}

impl Example {
    /// The attributes that are expected params (all but `_encoding` and `_filename`).
    pub fn expected(&self) -> impl Iterator<Item = (&str, &str)> {
        self.attributes
            .iter()
            .filter(|(k, _)| k != "_encoding" && k != "_filename")
            .map(|(k, v)| (k.as_str(), v.as_str()))
    }
}

/// One `<param>` element.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Param {
    /// 0 for a fixed value, otherwise a capture group index.
    pub pos: usize,
    /// The param name, e.g. `service.version`.
    pub name: String,
    /// The fixed value (may contain `{other.param}` interpolations).
    pub value: Option<String>,
}

impl Database {
    /// Reads a database file. Examples with `_filename` are read from the
    /// directory named like the file without `.xml`, as Recog does.
    ///
    /// # Errors
    /// I/O errors, malformed XML, and structural errors, with path and line.
    ///
    /// ```no_run
    /// let db = recog_compat::Database::from_path("recog/xml/http_servers.xml")?;
    /// println!("{} fingerprints", db.fingerprints.len());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn from_path(path: impl AsRef<Path>) -> Result<Self> {
        let path = path.as_ref();
        let bytes = read_limited(path, MAX_DATABASE_BYTES)?;
        let text = String::from_utf8(bytes).map_err(|e| Error::Io {
            path: path.to_owned(),
            source: std::io::Error::new(std::io::ErrorKind::InvalidData, e.utf8_error()),
        })?;
        let stem = path
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or_default();
        let stem = stem.strip_suffix(".xml").unwrap_or(stem).to_owned();
        let example_dir = path.with_file_name(&stem);
        parse(&text, path.to_owned(), &stem, Some(&example_dir))
    }

    /// Parses a database from a string; `name` is the default `match_key`.
    /// Examples that reference `_filename` are rejected.
    ///
    /// # Errors
    /// Malformed XML and structural errors, with the line.
    ///
    /// ```
    /// let db = recog_compat::Database::from_xml_str(
    ///     r#"<fingerprints matches="demo"><fingerprint pattern="^x$">
    ///        <description>X</description><example>x</example>
    ///        <param pos="0" name="service.product" value="X"/></fingerprint></fingerprints>"#,
    ///     "demo",
    /// )?;
    /// assert_eq!(db.fingerprints[0].examples[0].content, b"x");
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn from_xml_str(xml: &str, name: &str) -> Result<Self> {
        parse(xml, PathBuf::from("<memory>"), name, None)
    }
}

/// Loads every `*.xml` file of a directory (sorted by file name), skipping
/// nothing silently: a broken file is an error.
///
/// # Errors
/// I/O errors, an empty directory, and any database's load error.
pub fn load_dir(dir: impl AsRef<Path>) -> Result<Vec<Database>> {
    let dir = dir.as_ref();
    let io = |source| Error::Io {
        path: dir.to_owned(),
        source,
    };
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir).map_err(io)? {
        let p = entry.map_err(io)?.path();
        if p.extension().is_some_and(|e| e == "xml") && p.is_file() {
            files.push(p);
        }
    }
    if files.is_empty() {
        return Err(Error::Io {
            path: dir.to_owned(),
            source: std::io::Error::new(
                std::io::ErrorKind::NotFound,
                "no *.xml Recog databases here",
            ),
        });
    }
    files.sort();
    files.iter().map(Database::from_path).collect()
}

/// Line numbers of byte offsets, counted incrementally (no table of line starts: a file of
/// line breaks would otherwise cost eight bytes of memory per byte).
struct Lines<'a> {
    text: &'a [u8],
    offset: usize,
    line: usize,
}

impl<'a> Lines<'a> {
    fn new(text: &'a str) -> Self {
        Lines {
            text: text.as_bytes(),
            offset: 0,
            line: 1,
        }
    }

    /// The 1-based line of `offset`; cheap for increasing offsets.
    fn line(&mut self, offset: usize) -> usize {
        let offset = offset.min(self.text.len());
        if offset < self.offset {
            self.offset = 0;
            self.line = 1;
        }
        self.line += memchr::memchr_iter(b'\n', &self.text[self.offset..offset]).count();
        self.offset = offset;
        self.line
    }
}

#[derive(Default)]
struct PendingFp {
    line: usize,
    pattern: String,
    flags: Flags,
    certainty: Option<String>,
    description: Option<String>,
    examples: Vec<Example>,
    params: Vec<Param>,
}

enum Capture {
    None,
    Description(String),
    Example {
        line: usize,
        attrs: Vec<(String, String)>,
        text: String,
    },
}

fn parse(text: &str, path: PathBuf, name: &str, example_dir: Option<&Path>) -> Result<Database> {
    let mut lines = Lines::new(text);
    let mut reader = quick_xml::Reader::from_str(text);
    let mut db = Database {
        path,
        match_key: name.to_owned(),
        protocol: String::new(),
        database_type: String::new(),
        preference: DEFAULT_PREFERENCE,
        fingerprints: Vec::new(),
    };
    let mut seen_root = false;
    let mut depth = 0usize;
    let mut fp: Option<PendingFp> = None;
    let mut cap = Capture::None;
    // Depth at which the captured element (description/example) lives.
    let mut cap_depth = 0usize;
    loop {
        let pos = usize::try_from(reader.buffer_position()).unwrap_or(usize::MAX);
        let line = lines.line(pos);
        let structure = |message: String| Error::Structure {
            path: db.path.clone(),
            line,
            message,
        };
        let event = reader.read_event().map_err(|source| Error::Xml {
            path: db.path.clone(),
            line: lines.line(usize::try_from(reader.error_position()).unwrap_or(pos)),
            source,
        })?;
        match event {
            Event::Start(ref e) | Event::Empty(ref e) => {
                let empty = matches!(event, Event::Empty(_));
                let tag = e.local_name().as_ref().to_owned();
                let attrs = attributes(e, &db.path, line)?;
                match (depth, tag.as_str()) {
                    (0, "fingerprints") => {
                        if seen_root {
                            return Err(structure("more than one <fingerprints> element".into()));
                        }
                        seen_root = true;
                        for (k, v) in attrs {
                            match k.as_str() {
                                "matches" => db.match_key = v,
                                "protocol" => db.protocol = v,
                                "database_type" => db.database_type = v,
                                "preference" => {
                                    db.preference = v.trim().parse().map_err(|_| {
                                        structure(format!("preference \"{v}\" is not a number"))
                                    })?;
                                }
                                _ => {}
                            }
                        }
                    }
                    (0, other) => {
                        return Err(structure(format!(
                            "root element is <{other}>, not <fingerprints>"
                        )));
                    }
                    (1, "fingerprint") => {
                        let mut p = PendingFp {
                            line,
                            ..PendingFp::default()
                        };
                        let mut pattern = None;
                        for (k, v) in attrs {
                            match k.as_str() {
                                "pattern" => pattern = Some(v),
                                "flags" => {
                                    p.flags = Flags::parse(&v).map_err(|bad| {
                                        structure(format!(
                                            "unsupported regular expression flag \"{bad}\"; must be one of {}",
                                            Flags::NAMES.join(",")
                                        ))
                                    })?;
                                }
                                "certainty" => p.certainty = Some(v),
                                _ => {}
                            }
                        }
                        p.pattern = pattern.ok_or_else(|| {
                            structure("<fingerprint> without a pattern attribute".into())
                        })?;
                        if empty {
                            push_fingerprint(&mut db, p)?;
                        } else {
                            fp = Some(p);
                        }
                    }
                    (2, "description") if fp.is_some() => {
                        if !empty {
                            cap = Capture::Description(String::new());
                            cap_depth = depth + 1;
                        } else if let Some(p) = fp.as_mut() {
                            p.description.get_or_insert_with(String::new);
                        }
                    }
                    (2, "example") if fp.is_some() => {
                        if empty {
                            let ex =
                                make_example(line, attrs, String::new(), example_dir, &db.path)?;
                            if let Some(p) = fp.as_mut() {
                                p.examples.push(ex);
                            }
                        } else {
                            cap = Capture::Example {
                                line,
                                attrs,
                                text: String::new(),
                            };
                            cap_depth = depth + 1;
                        }
                    }
                    (2, "param") if fp.is_some() => {
                        let mut pos = None;
                        let mut pname = None;
                        let mut value = None;
                        for (k, v) in attrs {
                            match k.as_str() {
                                "pos" => pos = Some(v),
                                "name" => pname = Some(v),
                                "value" => value = Some(v),
                                _ => {}
                            }
                        }
                        let pname =
                            pname.ok_or_else(|| structure("<param> without a name".into()))?;
                        let pos = match pos.as_deref().map(str::trim) {
                            None | Some("") => 0,
                            Some(s) => s.parse::<usize>().map_err(|_| {
                                structure(format!(
                                    "param \"{pname}\": pos \"{s}\" is not a non-negative integer"
                                ))
                            })?,
                        };
                        if let Some(p) = fp.as_mut() {
                            p.params.push(Param {
                                pos,
                                name: pname,
                                value,
                            });
                        }
                    }
                    _ => {}
                }
                if !empty {
                    depth += 1;
                }
            }
            Event::End(_) => {
                depth = depth.saturating_sub(1);
                if depth + 1 == cap_depth {
                    match std::mem::replace(&mut cap, Capture::None) {
                        Capture::Description(s) => {
                            if let Some(p) = fp.as_mut() {
                                p.description.get_or_insert(s);
                            }
                        }
                        Capture::Example { line, attrs, text } => {
                            let ex = make_example(line, attrs, text, example_dir, &db.path)?;
                            if let Some(p) = fp.as_mut() {
                                p.examples.push(ex);
                            }
                        }
                        Capture::None => {}
                    }
                    cap_depth = 0;
                }
                if depth == 1
                    && let Some(p) = fp.take()
                {
                    push_fingerprint(&mut db, p)?;
                }
            }
            Event::Text(t) => push_text(&mut cap, &t.xml10_content()),
            Event::CData(t) => {
                let raw = t.into_inner();
                push_text(&mut cap, &raw.replace("\r\n", "\n").replace('\r', "\n"));
            }
            Event::GeneralRef(r) => {
                let resolved = match r.resolve_char_ref() {
                    Ok(Some(c)) => c.to_string(),
                    Ok(None) => {
                        let name = r.xml10_content();
                        quick_xml::escape::resolve_predefined_entity(&name)
                            .ok_or_else(|| structure(format!("unknown entity &{name};")))?
                            .to_owned()
                    }
                    Err(source) => {
                        return Err(Error::Xml {
                            path: db.path.clone(),
                            line,
                            source,
                        });
                    }
                };
                push_text(&mut cap, &resolved);
            }
            Event::Eof => break,
            _ => {}
        }
    }
    if !seen_root {
        return Err(Error::Structure {
            path: db.path,
            line: 1,
            message: "no <fingerprints> root element".into(),
        });
    }
    Ok(db)
}

fn push_text(cap: &mut Capture, s: &str) {
    match cap {
        Capture::Description(d) => d.push_str(s),
        Capture::Example { text, .. } => text.push_str(s),
        Capture::None => {}
    }
}

/// Finishes a fingerprint, checks what its params interpolate, and appends it.
fn push_fingerprint(db: &mut Database, p: PendingFp) -> Result<()> {
    let fp = finish(p);
    crate::matcher::check_interpolation(&fp, &db.path, &db.protocol, &db.match_key)?;
    db.fingerprints.push(fp);
    Ok(())
}

fn finish(p: PendingFp) -> Fingerprint {
    Fingerprint {
        line: p.line,
        pattern: p.pattern,
        flags: p.flags,
        certainty: p.certainty,
        description: p
            .description
            .unwrap_or_default()
            .split_whitespace()
            .collect::<Vec<_>>()
            .join(" "),
        examples: p.examples,
        params: p.params,
    }
}

fn attributes(e: &BytesStart<'_>, path: &Path, line: usize) -> Result<Vec<(String, String)>> {
    let mut out = Vec::new();
    for a in e.attributes() {
        let a = a.map_err(|source| Error::XmlAttribute {
            path: path.to_owned(),
            line,
            source,
        })?;
        let v = a
            .normalized_value(XmlVersion::Implicit1_0)
            .map_err(|source| Error::Xml {
                path: path.to_owned(),
                line,
                source,
            })?;
        out.push((a.key.as_ref().to_owned(), v.into_owned()));
    }
    Ok(out)
}

fn make_example(
    line: usize,
    attrs: Vec<(String, String)>,
    text: String,
    example_dir: Option<&Path>,
    path: &Path,
) -> Result<Example> {
    let structure = |message: String| Error::Structure {
        path: path.to_owned(),
        line,
        message,
    };
    let get = |k: &str| attrs.iter().find(|(a, _)| a == k).map(|(_, v)| v.as_str());
    let content = if let Some(file) = get("_filename") {
        let dir = example_dir.ok_or_else(|| {
            structure("_filename examples need a database read from a file".into())
        })?;
        let rel = Path::new(file);
        if rel
            .components()
            .any(|c| !matches!(c, std::path::Component::Normal(_)))
        {
            return Err(structure(format!(
                "an example specifies an illegal file path \"{file}\""
            )));
        }
        let full = dir.join(rel);
        read_limited(&full, MAX_EXAMPLE_FILE_BYTES)?
    } else if get("_encoding") == Some("base64") {
        decode_base64(&text).map_err(|e| structure(format!("bad base64 example: {e}")))?
    } else {
        text.into_bytes()
    };
    Ok(Example {
        line,
        content,
        attributes: attrs,
    })
}

/// Decodes like Ruby's `unpack1('m*')`: characters outside the alphabet
/// (whitespace, line breaks) are skipped and padding is optional.
fn decode_base64(text: &str) -> std::result::Result<Vec<u8>, base64::DecodeError> {
    let clean: String = text
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || *c == '+' || *c == '/')
        .collect();
    let engine = base64::engine::GeneralPurpose::new(
        &base64::alphabet::STANDARD,
        base64::engine::GeneralPurposeConfig::new()
            .with_decode_padding_mode(base64::engine::DecodePaddingMode::Indifferent)
            .with_decode_allow_trailing_bits(true),
    );
    engine.decode(clean)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    const XML: &str = r#"<?xml version="1.0"?>
<fingerprints matches="http_header.server" protocol="http" database_type="service" preference="0.90">
  <!-- comment -->
  <fingerprint pattern="^Apache/(\d+)$" flags="REG_ICASE" certainty="0.5">
    <description>
      Apache   &amp; friends
    </description>
    <example service.version="2">Apache/2</example>
    <example _encoding="base64" service.version="3">QXBhY2hlLzM=</example>
    <param pos="0" name="service.product" value="HTTPD"/>
    <param pos="1" name="service.version"/>
  </fingerprint>
  <fingerprint pattern="a&#10;b&lt;">
    <description>Two</description>
    <example>a
b&lt;</example>
    <param pos="0" name="x" value="y"/>
  </fingerprint>
</fingerprints>
"#;

    #[test]
    fn parses_all_fields() {
        let db = Database::from_xml_str(XML, "x").unwrap();
        assert_eq!(db.match_key, "http_header.server");
        assert_eq!(db.protocol, "http");
        assert_eq!(db.database_type, "service");
        assert!((db.preference - 0.9).abs() < 1e-9);
        let fp = &db.fingerprints[0];
        assert_eq!(fp.line, 4);
        assert_eq!(fp.description, "Apache & friends");
        assert!(fp.flags.ignore_case);
        assert_eq!(fp.certainty.as_deref(), Some("0.5"));
        assert_eq!(fp.examples[1].content, b"Apache/3");
        assert_eq!(fp.examples[1].line, 9);
        assert_eq!(
            fp.examples[1].expected().collect::<Vec<_>>(),
            vec![("service.version", "3")]
        );
        assert_eq!(
            fp.params[1],
            Param {
                pos: 1,
                name: "service.version".into(),
                value: None
            }
        );
        let two = &db.fingerprints[1];
        assert_eq!(two.pattern, "a\nb<");
        assert_eq!(two.examples[0].content, b"a\nb<");
    }

    #[test]
    fn errors_carry_line_numbers() {
        let bad =
            "<fingerprints>\n<fingerprint pattern=\"x\" flags=\"REG_BOGUS\"/>\n</fingerprints>";
        match Database::from_xml_str(bad, "x") {
            Err(Error::Structure { line, .. }) => assert_eq!(line, 2),
            other => panic!("{other:?}"),
        }
        let bad = "<fingerprints>\n<fingerprint pattern=\"x\">\n<param pos=\"z\" name=\"a\"/></fingerprint></fingerprints>";
        assert!(matches!(
            Database::from_xml_str(bad, "x"),
            Err(Error::Structure { line: 3, .. })
        ));
        let bad = "<fingerprints>\n<fingerprint pattern=\"x\">\n</fingerprints>";
        assert!(matches!(
            Database::from_xml_str(bad, "x"),
            Err(Error::Xml { .. })
        ));
        assert!(matches!(
            Database::from_xml_str("<other/>", "x"),
            Err(Error::Structure { .. })
        ));
        assert!(matches!(
            Database::from_xml_str("", "x"),
            Err(Error::Structure { .. })
        ));
    }

    #[test]
    fn filename_examples_are_confined() {
        let dir = std::env::temp_dir().join(format!("recog-compat-test-{}", std::process::id()));
        std::fs::create_dir_all(dir.join("db")).unwrap();
        std::fs::write(dir.join("db").join("banner.bin"), b"\x00hello").unwrap();
        let xml = |f: &str| {
            format!(
                "<fingerprints><fingerprint pattern=\"hello\"><description>d</description>\
                 <example _filename=\"{f}\"/><param pos=\"0\" name=\"a\" value=\"b\"/></fingerprint></fingerprints>"
            )
        };
        std::fs::write(dir.join("db.xml"), xml("banner.bin")).unwrap();
        let db = Database::from_path(dir.join("db.xml")).unwrap();
        assert_eq!(db.match_key, "db");
        assert_eq!(db.fingerprints[0].examples[0].content, b"\x00hello");
        std::fs::write(dir.join("db.xml"), xml("../db.xml")).unwrap();
        assert!(matches!(
            Database::from_path(dir.join("db.xml")),
            Err(Error::Structure { .. })
        ));
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn base64_is_lenient_like_ruby() {
        assert_eq!(decode_base64("QXBh\nY2hl").unwrap(), b"Apache");
        assert_eq!(decode_base64("QQ").unwrap(), b"A");
    }
}
