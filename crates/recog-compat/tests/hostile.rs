//! Hostile Recog databases (issue 24): interpolation bombs, terminal injection through
//! descriptions, params and tag names, control characters in exports, and a structured fuzz
//! suite of well-formed-but-hostile XML documents.
//!
//! The property tests run proptest's default number of cases (256 each); run many more with
//! `PROPTEST_CASES=20000 cargo test --release -p recog-compat --test hostile`.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::fmt::Write as _;

use proptest::prelude::*;
use recog_compat::{
    Database, Error, ExportDatabase, ExportExample, ExportFingerprint, ExportParam, Flags,
    MAX_INTERPOLATED_LEN, MAX_INTERPOLATION_DEPTH, Matcher, MatcherBuilder, MatcherOptions, verify,
    verify_with,
};

/// What a terminal must never receive: C0 controls but the line feed, DEL, C1 controls,
/// and the bidirectional marks, embeddings, overrides and isolates.
fn is_unsafe(c: char) -> bool {
    (c < ' ' && c != '\n')
        || ('\u{7f}'..='\u{9f}').contains(&c)
        || matches!(c, '\u{061c}' | '\u{200e}' | '\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
}

fn assert_terminal_safe(what: &str, text: &str) {
    if let Some(c) = text.chars().find(|&c| is_unsafe(c)) {
        panic!("{what}: {c:?} reaches the terminal in {text:?}");
    }
}

/// The fuzz suite's check on any error: terminal-safe text, and a place in the input.
fn check_error(e: &Error, place: &str) {
    let text = e.to_string();
    assert_terminal_safe("error", &text);
    match e {
        Error::Xml { line, .. }
        | Error::XmlAttribute { line, .. }
        | Error::Structure { line, .. }
        | Error::InterpolationLimit { line, .. }
        | Error::Fingerprint { line, .. } => {
            assert!(*line >= 1, "{text}");
            assert!(text.starts_with(&format!("{place}:{line}:")), "{text}");
        }
        Error::Io { .. } | Error::TooLarge { .. } => {
            assert!(text.starts_with(place), "{text}");
        }
        other => panic!("unexpected error kind: {other:?}"),
    }
}

const HEAD: &str = "<fingerprints matches=\"bomb\" protocol=\"x\">\n<fingerprint pattern=\"^x\">\
                    <description>bomb</description><example>x</example>\n";

/// `levels` fixed params, each interpolating the previous one `fanout` times: the last value
/// is `seed.len() * fanout^levels` bytes long.
fn interpolation_bomb(seed: &str, levels: usize, fanout: usize) -> String {
    let mut x = String::from(HEAD);
    let _ = writeln!(x, "<param pos=\"0\" name=\"p0\" value=\"{seed}\"/>");
    for i in 1..=levels {
        let value = format!("{{p{}}}", i - 1).repeat(fanout);
        let _ = writeln!(x, "<param pos=\"0\" name=\"p{i}\" value=\"{value}\"/>");
    }
    x.push_str("</fingerprint>\n</fingerprints>\n");
    x
}

/// Issue 24 item 4: 1 KB of XML whose last param is 16 * 4^16 bytes (68 GB) long. The old
/// code built it while verifying (and in every match); now loading refuses it.
#[test]
fn interpolation_bomb_is_refused_at_load_with_file_and_line() {
    let xml = interpolation_bomb("xxxxxxxxxxxxxxxx", 16, 4);
    assert!(xml.len() < 1100, "{}", xml.len());
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bomb.xml");
    std::fs::write(&path, &xml).unwrap();
    let err = Database::from_path(&path).unwrap_err();
    match &err {
        Error::InterpolationLimit { line, param, .. } => {
            assert_eq!(*line, 2);
            assert_eq!(param, &format!("p{}", MAX_INTERPOLATION_DEPTH + 1));
        }
        other => panic!("{other:?}"),
    }
    let text = err.to_string();
    assert!(
        text.starts_with(&format!("{}:2: ", path.display())),
        "{text}"
    );
    assert!(text.contains("levels deep"), "{text}");
}

/// A shallow but wide bomb (3 levels of 16 copies: 256 KB from 64 bytes) is refused by length.
#[test]
fn wide_interpolation_is_refused_by_length() {
    let xml = interpolation_bomb(&"y".repeat(64), 3, 16);
    let err = Database::from_xml_str(&xml, "bomb").unwrap_err();
    assert!(
        matches!(err, Error::InterpolationLimit { line: 2, ref param, .. } if param == "p3"),
        "{err:?}"
    );
    assert!(err.to_string().contains("longer than the limit"), "{err}");
    // Two levels (16 KB) are fine and interpolate exactly.
    let db = Database::from_xml_str(&interpolation_bomb(&"y".repeat(64), 2, 16), "ok").unwrap();
    let m = Matcher::new(&db)
        .unwrap()
        .best_match(b"x")
        .unwrap()
        .unwrap();
    assert_eq!(m.params["p2"].len(), 64 * 256);
}

/// A database made by hand (its fields are public) bypasses the loader: the matcher refuses
/// the deep bomb, and verification counts it as a failure instead of building it.
#[test]
fn hand_made_bombs_are_refused_by_matcher_and_verify() {
    let good = Database::from_xml_str(&interpolation_bomb("z", 1, 1), "bomb").unwrap();
    let deep = Database::from_xml_str(&interpolation_bomb("z", 1, 1), "bomb").unwrap();
    let mut deep = deep;
    let mut wide = good.clone();
    let params = |levels: usize, fanout: usize, seed: &str| {
        let mut v = vec![recog_compat::Param {
            pos: 0,
            name: "p0".into(),
            value: Some(seed.into()),
        }];
        for i in 1..=levels {
            v.push(recog_compat::Param {
                pos: 0,
                name: format!("p{i}"),
                value: Some(format!("{{p{}}}", i - 1).repeat(fanout)),
            });
        }
        v
    };
    deep.fingerprints[0].params = params(40, 2, "xxxxxxxx");
    assert!(matches!(
        Matcher::new(&deep),
        Err(Error::InterpolationLimit { line: 2, .. })
    ));
    let r = verify(&deep).unwrap();
    assert_eq!((r.successes, r.failures), (0, 1), "{r}");
    // Within the depth limit, the length check at match time stops it (4 KB * 16^2 = 1 MB).
    wide.fingerprints[0].params = params(3, 16, &"w".repeat(256));
    let m = Matcher::new(&wide).unwrap();
    assert!(matches!(
        m.best_match(b"x"),
        Err(Error::InterpolationLimit { line: 2, .. })
    ));
    let r = verify(&wide).unwrap();
    assert_eq!((r.successes, r.failures), (0, 1), "{r}");
    assert!(r.to_string().contains("longer than the limit"), "{r}");
}

/// A banner controls captures; a capture holding `{b}` many times is expanded by the next
/// reference (quadratic in the banner). The value stops at the limit, as an error.
#[test]
fn banner_captures_cannot_grow_a_value_past_the_limit() {
    let db = Database::from_xml_str(
        r#"<fingerprints><fingerprint pattern="^(\S*) (\S*)$"><description>q</description>
           <param pos="1" name="a"/><param pos="2" name="b"/>
           <param pos="0" name="k" value="{a}{b}"/></fingerprint></fingerprints>"#,
        "q",
    )
    .unwrap();
    let m = Matcher::new(&db).unwrap();
    let ok = m.best_match(b"{b}{b} xy").unwrap().unwrap();
    assert_eq!(ok.params["k"], "xyxyxy");
    // 2,000 `{b}` times 100 bytes: 200 KB (a 2 MB banner line would make 100 GB).
    let banner = format!("{} {}", "{b}".repeat(2000), "x".repeat(100));
    let err = m.best_match(banner.as_bytes()).unwrap_err();
    assert!(
        matches!(err, Error::InterpolationLimit { ref param, .. } if param == "k"),
        "{err:?}"
    );
    const { assert!(MAX_INTERPOLATED_LEN < 200 * 1024) };
}

/// Issue 24 item 5: descriptions, param names and values, example values, patterns, tag
/// names and entity names with ESC, BEL, CSI, OSC and bidirectional overrides never reach the
/// terminal raw through verification reports or errors.
#[test]
fn hostile_text_never_reaches_a_terminal_raw() {
    const E: &str = "&#27;[2J&#27;]0;pwned&#7;&#x9b;31m&#x202e;";
    let xml = format!(
        r#"<fingerprints matches="m{E}" protocol="p{E}">
  <fingerprint pattern="^A(\d+)(x{E})?$"><description>d{E} &#x85;</description>
    <example service.version="1{E}" p{E}="v{E}">A1</example>
    <example>B{E}</example>
    <param pos="0" name="n{E}" value=""/>
    <param pos="1" name="service.version" value="v{E}"/>
    <param pos="2" name="c{E}"/>
    <param pos="0" name="k" value="{{missing{E}}}"/>
  </fingerprint>
  <fingerprint pattern="^B"><description>none{E}</description>
    <param pos="0" name="x" value="y"/></fingerprint>
  <fingerprint pattern="(?{E}"><description>broken{E}</description>
    <example>x{E}</example><param pos="0" name="x" value="y"/></fingerprint>
</fingerprints>"#
    );
    let db = Database::from_xml_str(&xml, "hostile").unwrap();
    assert!(db.fingerprints[0].description.contains('\u{1b}'));
    let r = verify(&db).unwrap();
    let shown = r.to_string();
    assert!(r.failures >= 5, "{shown}");
    assert_terminal_safe("verify report", &shown);
    for f in &r.findings {
        assert_terminal_safe("finding", &f.message);
    }
    assert!(shown.contains(r"\x1b[2J"), "{shown}");
    assert!(shown.contains(r"\u{202e}"), "{shown}");
    // The match itself keeps the data (it is data); escaping is the printer's job.
    let (m, errors) = MatcherBuilder::new().build_lenient(&db).unwrap();
    for (_, e) in &errors {
        assert_terminal_safe("compile error", &e.to_string());
    }
    let e = m.best_match(b"A1").unwrap_err();
    assert!(matches!(e, Error::Interpolation { .. }), "{e:?}");
    assert_terminal_safe("interpolation error", &e.to_string());

    // Documents that fail to load, each quoting hostile input in its error.
    let docs = [
        "<a\u{1b}[31m\u{202e}/>",
        "<fingerprints>\n<x\u{1b}]0;t\u{7}></y\u{202e}\u{1b}[1m></fingerprints>",
        "<fingerprints>\n<fingerprint pattern=\"x\">&bogus\u{1b}[5m;</fingerprint></fingerprints>",
        "<fingerprints>\n<fingerprint pattern=\"x\"><description>&e\u{202e}x;</description></fingerprint></fingerprints>",
        "<fingerprints preference=\"1&#27;[2J\"/>",
        "<fingerprints>\n<fingerprint pattern=\"x\" flags=\"REG_&#27;[2J\"/></fingerprints>",
        "<fingerprints>\n<fingerprint pattern=\"x\"><param pos=\"&#7;&#x202e;\" name=\"n&#27;\"/></fingerprint></fingerprints>",
        "<fingerprints>\n<fingerprint pattern=\"x\" a\u{1b}=\"1\" a\u{1b}=\"2\"/></fingerprints>",
        "<fingerprints>\n<fingerprint pattern=\"x\"><example>&#0;&#27;</example></fingerprint></fingerprints>",
    ];
    for doc in docs {
        let e = Database::from_xml_str(doc, "h").unwrap_err();
        check_error(&e, "<memory>");
    }
    // Patterns that do not translate, or that the regex engines refuse, quote the pattern.
    for pattern in [
        "(&#27;[31m",
        "[&#x202e;",
        "\\p{Bogus&#7;}",
        "a{99999}&#27;",
        "(?&#27;)",
    ] {
        let doc = format!(
            "<fingerprints>\n<fingerprint pattern=\"{pattern}\"><description>d</description>\
             <param pos=\"0\" name=\"a\" value=\"b\"/></fingerprint></fingerprints>"
        );
        let db = Database::from_xml_str(&doc, "h").unwrap();
        let e = Matcher::new(&db).unwrap_err();
        check_error(&e, "<memory>");
        assert_terminal_safe("report", &verify(&db).unwrap().to_string());
    }
}

/// A database file whose name holds control characters: the errors show it escaped.
#[test]
fn hostile_file_names_are_escaped_in_errors() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("db\u{1b}[2J\u{202e}.xml");
    std::fs::write(&path, "<nope/>").unwrap();
    let e = Database::from_path(&path).unwrap_err();
    assert_terminal_safe("error", &e.to_string());
    assert!(e.to_string().contains(r"db\x1b[2J\u{202e}.xml:1:"), "{e}");
    let r = recog_compat::load_dir(dir.path()).unwrap_err();
    assert_terminal_safe("error", &r.to_string());
}

/// Loading reads at most `MAX_DATABASE_BYTES` (checked before reading); invalid UTF-8 is
/// an error naming the file.
#[test]
fn huge_and_binary_files_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("huge.xml");
    let f = std::fs::File::create(&path).unwrap();
    // A sparse file: no disk or memory is spent on it.
    f.set_len(recog_compat::MAX_DATABASE_BYTES + 1).unwrap();
    let e = Database::from_path(&path).unwrap_err();
    assert!(matches!(e, Error::TooLarge { .. }), "{e:?}");
    check_error(&e, &path.display().to_string());
    let path = dir.path().join("bin.xml");
    std::fs::write(&path, b"<fingerprints>\xff\xfe\x1b[2J</fingerprints>").unwrap();
    let e = Database::from_path(&path).unwrap_err();
    check_error(&e, &path.display().to_string());
}

fn export_sample(name: &str) -> ExportDatabase {
    ExportDatabase {
        matches: format!("http_header.{name}"),
        protocol: "http".into(),
        fingerprints: vec![ExportFingerprint {
            pattern: "^Acme\u{7f}\u{85}\u{202e}/([0-9]+)$".into(),
            description: format!(
                "bannerlm: {name} cluster 3\t\r\n\u{0}\u{7}\u{1b}[31m\u{9b}\u{2066}"
            ),
            examples: vec![ExportExample {
                banner: "Acme\u{7f}\u{85}\u{202e}/7".as_bytes().to_vec(),
                expected: vec![
                    ("bannerlm.cluster".into(), format!("{name}/3")),
                    ("service.version".into(), "7".into()),
                ],
            }],
            params: vec![
                ExportParam {
                    pos: 0,
                    name: "bannerlm.cluster".into(),
                    value: Some(format!("{name}/3")),
                },
                ExportParam {
                    pos: 1,
                    name: "service.version".into(),
                    value: None,
                },
            ],
            ..ExportFingerprint::default()
        }],
        ..ExportDatabase::default()
    }
}

/// Issue 24 item 9: control characters of a clustering name never reach the Recog XML; the
/// file is written atomically, parses back and verifies; patterns keep their exact meaning.
#[test]
fn export_escapes_control_characters_and_writes_atomically() {
    let name = "eps\u{0}\u{1b}[2J\u{7}\u{85}\u{202e}\u{fffe}";
    let export = export_sample(name);
    let xml = export.to_xml().unwrap();
    assert!(
        !xml.bytes().any(|b| (b < 0x20 && b != b'\n') || b == 0x7f),
        "{xml:?}"
    );
    assert_terminal_safe("exported XML", &xml);
    let db = Database::from_xml_str(&xml, "x").unwrap();
    let fp = &db.fingerprints[0];
    assert_eq!(fp.pattern, export.fingerprints[0].pattern);
    assert_terminal_safe("description", &fp.description);
    assert!(
        fp.description
            .contains(r"eps\x00\x1b[2J\x07\u{85}\u{202e}\ufffe"),
        "{}",
        fp.description
    );
    assert_eq!(
        fp.params[0].value.as_deref(),
        Some(r"eps\x00\x1b[2J\x07\u0085\u202e\ufffe/3")
    );
    assert!(
        fp.description.ends_with(r"\x00\x07\x1b[31m\u{9b}\u{2066}"),
        "{}",
        fp.description
    );
    assert_terminal_safe("match key", &db.match_key);
    assert_terminal_safe("param", fp.params[0].value.as_deref().unwrap());
    let r = verify(&db).unwrap();
    assert_eq!((r.successes, r.failures), (1, 0), "{r}");

    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("out.xml");
    export.write(&path).unwrap();
    assert_eq!(std::fs::read_to_string(&path).unwrap(), xml);
    // A refused export leaves the file as it was and no temporary file behind.
    let mut bad = export.clone();
    bad.fingerprints[0].pattern = "^a\u{1}b".into();
    let e = bad.write(&path).unwrap_err();
    assert!(matches!(e, Error::Export { index: 0, .. }), "{e:?}");
    assert_terminal_safe("export error", &e.to_string());
    assert_eq!(std::fs::read_to_string(&path).unwrap(), xml);
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
}

// ---------------------------------------------------------------------------------------
// The fuzz suite.

/// Text that is hostile to terminals and to the interpolation code but well-formed XML.
fn hostile_text() -> impl Strategy<Value = String> {
    let atoms = prop::sample::select(vec![
        "a",
        "Apache/2.4",
        " ",
        "&#27;[2J",
        "&#27;]0;t&#7;",
        "&#x9b;",
        "&#x85;",
        "&#x202e;",
        "&#x2066;",
        "&#7;",
        "&amp;",
        "&lt;",
        "\u{1b}[31m",
        "\u{7}",
        "\u{202e}",
        "\u{85}",
        "{p0}",
        "{p1}{p1}",
        "{service.version}",
        "\n",
        "\r\n",
        "\t",
        "é",
    ]);
    let broken = prop::sample::select(vec![
        "&#0;",
        "&#xD800;",
        "&#x110000;",
        "&bogus;",
        "&#27",
        "<",
        "]]>",
        "\"",
    ]);
    prop_oneof![
        12 => prop::collection::vec(atoms.clone(), 0..8).prop_map(|v| v.concat()),
        1 => (prop::collection::vec(atoms, 0..4), broken).prop_map(|(mut v, b)| {
            v.push(b);
            v.concat()
        }),
    ]
}

/// Patterns: ordinary ones, pathological ones (catastrophic backtracking on `aaaa...!`),
/// huge repetitions, and hostile text.
fn pattern() -> impl Strategy<Value = String> {
    prop_oneof![
        prop::sample::select(vec![
            "^A(\\d+)",
            "^(.*)$",
            "^(a+)+$",
            "^(a|aa)+(?=b)\\1$",
            "^(\\w+\\s?)+(?=z)\\1$",
            "^(a|a?)+$",
            "((a*)*)*b",
            "(?<x>a+)+\\k<x>!",
            "(.*a){20}",
            "(\\w{1,500}){1,500}",
            "a{65535}{65535}",
            "((((((((((((((((((((a))))))))))))))))))))",
            "^(\\S*) (\\S*)$",
        ])
        .prop_map(str::to_owned),
        hostile_text(),
    ]
}

/// One `<param>`: captures and fixed values that interpolate one another.
fn param() -> impl Strategy<Value = String> {
    (
        0usize..3,
        prop::sample::select(vec![
            "p0",
            "p1",
            "p2",
            "service.version",
            "x.cpe23",
            "_tmp.t",
        ]),
        prop::option::of(prop_oneof![
            hostile_text(),
            (1usize..9, prop::sample::select(vec!["p0", "p1", "p2"]))
                .prop_map(|(n, r)| format!("{{{r}}}").repeat(n)),
        ]),
    )
        .prop_map(|(pos, name, value)| match value {
            Some(v) => format!("<param pos=\"{pos}\" name=\"{name}\" value=\"{v}\"/>"),
            None => format!("<param pos=\"{pos}\" name=\"{name}\"/>"),
        })
}

/// One `<fingerprint>` with hostile description, examples (some of them pathological banners
/// for the patterns above), params, deeply nested unknown elements and a huge attribute.
fn fingerprint() -> impl Strategy<Value = String> {
    (
        pattern(),
        hostile_text(),
        prop::collection::vec(
            prop_oneof![
                hostile_text(),
                (10usize..60).prop_map(|n| format!("{}!", "a".repeat(n))),
                Just("{b}{b}{b} xyz".to_owned()),
            ],
            0..3,
        ),
        prop::collection::vec(param(), 0..5),
        0usize..300,
        prop::option::of(0u32..17),
    )
        .prop_map(|(pattern, description, examples, params, nesting, huge)| {
            let mut x = format!("<fingerprint pattern=\"{pattern}\"");
            if let Some(bits) = huge {
                let _ = write!(x, " certainty=\"{}\"", "9".repeat(1 << bits));
            }
            let _ = write!(x, ">\n<description>{description}</description>\n");
            for e in examples {
                let _ = writeln!(x, "<example service.version=\"1\">{e}</example>");
            }
            x.push_str(&"<nest>".repeat(nesting));
            x.push_str(&"</nest>".repeat(nesting));
            for p in params {
                x.push_str(&p);
                x.push('\n');
            }
            x.push_str("</fingerprint>\n");
            x
        })
}

fn document() -> impl Strategy<Value = String> {
    (
        hostile_text(),
        prop::collection::vec(fingerprint(), 0..4),
        0usize..200,
    )
        .prop_map(|(matches, fps, nesting)| {
            let mut x = format!(
                "<?xml version=\"1.0\"?>\n<fingerprints matches=\"{matches}\" protocol=\"p\">\n"
            );
            x.push_str(&"<deep>".repeat(nesting));
            x.push_str(&"</deep>".repeat(nesting));
            for f in fps {
                x.push_str(&f);
            }
            x.push_str("</fingerprints>\n");
            x
        })
}

/// Runs a loaded database the way `recog_verify` and `recog_match` do, checking bounds.
fn exercise(db: &Database, place: &str) {
    let opts = MatcherOptions {
        backtrack_limit: 10_000,
        ..MatcherOptions::default()
    };
    let report = verify_with(db, &opts).unwrap();
    assert_terminal_safe("verify report", &report.to_string());
    let (m, errors) = MatcherBuilder::new()
        .backtrack_limit(10_000)
        .build_lenient(db)
        .unwrap();
    for (_, e) in &errors {
        check_error(e, place);
    }
    for ex in db.fingerprints.iter().flat_map(|f| &f.examples) {
        let bound = MAX_INTERPOLATED_LEN.max(ex.content.len() * 4 + 64);
        match m.best_match(&ex.content) {
            Ok(Some(found)) => {
                for v in found.params.values() {
                    assert!(v.len() <= bound, "{} bytes", v.len());
                }
            }
            Ok(None) => {}
            Err(
                e @ (Error::MatchAborted { .. }
                | Error::Interpolation { .. }
                | Error::InterpolationLimit { .. }),
            ) => assert_terminal_safe("match error", &e.to_string()),
            Err(e) => panic!("{e:?}"),
        }
        let _ = m.all_matches(&ex.content);
    }
}

proptest! {
    /// Any hostile document loads or fails with an error naming `<memory>` and a line; what
    /// loads verifies and matches with bounded values and terminal-safe output.
    #[test]
    fn hostile_documents_fail_cleanly_or_run_bounded(doc in document()) {
        match Database::from_xml_str(&doc, "fuzz") {
            Ok(db) => exercise(&db, "<memory>"),
            Err(e) => {
                check_error(&e, "<memory>");
                if let Error::Xml { line, .. } | Error::Structure { line, .. } = e {
                    prop_assert!(line <= doc.lines().count() + 1);
                }
            }
        }
    }

    /// The same documents from a file, some with invalid UTF-8 spliced in: errors name the file.
    #[test]
    fn hostile_files_fail_cleanly(doc in document(), cut in any::<prop::sample::Index>(), junk in prop::collection::vec(128u8..=255, 0..3)) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("fuzz.xml");
        let mut bytes = doc.into_bytes();
        let at = cut.index(bytes.len() + 1);
        bytes.splice(at..at, junk);
        std::fs::write(&path, &bytes).unwrap();
        let place = path.display().to_string();
        match Database::from_path(&path) {
            Ok(db) => exercise(&db, &place),
            Err(e) => check_error(&e, &place),
        }
    }

    /// Random interpolation chains never build a value beyond the limit.
    #[test]
    fn interpolation_chains_stay_bounded(levels in 1usize..40, fanout in 1usize..6, seed in 1usize..200) {
        let xml = interpolation_bomb(&"s".repeat(seed), levels, fanout);
        match Database::from_xml_str(&xml, "chain") {
            Ok(db) => {
                let found = Matcher::new(&db).unwrap().best_match(b"x").unwrap().unwrap();
                prop_assert!(found.params.values().all(|v| v.len() <= MAX_INTERPOLATED_LEN));
            }
            Err(e) => {
                prop_assert!(matches!(e, Error::InterpolationLimit { line: 2, .. }), "{e:?}");
                check_error(&e, "<memory>");
            }
        }
    }

    /// Exports of arbitrary descriptions, names and values hold no control byte and load back.
    #[test]
    fn exports_hold_no_control_bytes(name in any::<String>(), desc in any::<String>()) {
        let mut export = export_sample(&name);
        export.fingerprints[0].description = desc;
        export.fingerprints[0].flags = Flags::default();
        let xml = export.to_xml().unwrap();
        prop_assert!(!xml.bytes().any(|b| (b < 0x20 && b != b'\n') || b == 0x7f));
        let db = Database::from_xml_str(&xml, "x").unwrap();
        assert_terminal_safe("description", &db.fingerprints[0].description);
    }
}
