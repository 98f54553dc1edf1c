//! Structured fuzzing of the input layer (issue 24): well-formed but hostile
//! zgrab2 and Censys records (huge header counts, long header names with
//! many empty values, bad base64, wrong types, deep JSON nesting, NUL/ESC and
//! bidi characters, gzip-looking bodies), whole files plain, gzip or corrupt
//! gzip, and hostile banner pairs for the labeller.
//!
//! Every case asserts:
//! - no panic;
//! - bounded output: no banner longer than the reader's line limit, and the
//!   banners of formats that cannot expand (Censys, JSONL) no larger than the
//!   input; labelling stays within its work limit;
//! - every non-blank line accounted for (a record or a bad line), and every
//!   bad line and error naming the file (and the line), with no control or
//!   bidi character in its message.
//!
//! CI runs 256 cases per property. To run many more:
//!
//! ```sh
//! PROPTEST_CASES=100000 cargo test --release -p banner-parse --test hostile
//! ```

use std::io::Write as _;

use banner_parse::{
    BadLineKind, BannerKind, Error, Format, Label, LabelParams, Labeler, OnBadLine, ReadOptions,
    RecordReader,
};
use base64::Engine as _;
use proptest::prelude::*;
use serde_json::{Value, json};

/// The line limit of these tests: small, so that amplification reaches it.
const LIMIT: usize = 64 << 10;

/// Text with the characters that cause trouble: NUL, ESC sequences, DEL,
/// C1, bidi overrides, CR/LF, quotes, backslashes, non-ASCII.
fn nasty_text(max: usize) -> impl Strategy<Value = String> {
    let piece = prop::sample::select(vec![
        "a",
        "Server",
        " ",
        "\0",
        "\x1b[31m",
        "\x7f",
        "\u{85}",
        "\u{202e}",
        "\u{2066}",
        "\r\n",
        "\n",
        "\"",
        "\\",
        "é",
        "\u{feff}",
        ":",
        "%s",
        "\u{1f}\u{8b}",
    ]);
    prop::collection::vec(piece, 0..max).prop_map(|v| v.concat())
}

/// Bytes for banners: random, or starting like gzip.
fn nasty_bytes() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        prop::collection::vec(any::<u8>(), 0..200),
        prop::collection::vec(any::<u8>(), 0..200).prop_map(|mut v| {
            v.splice(0..0, [0x1f, 0x8b, 0x08]);
            v
        }),
        nasty_text(40).prop_map(String::into_bytes),
    ]
}

/// A JSON value of a wrong type (or a wrong shape) for any field.
fn wrong_type() -> impl Strategy<Value = Value> {
    prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        any::<f64>()
            .prop_map(|f| serde_json::Number::from_f64(f).map_or(Value::Null, Value::Number)),
        Just(json!({"nested": {"deeper": [1, 2, 3]}})),
        Just(json!([[], {}, ""])),
    ]
}

/// `depth` nested arrays around a value, as JSON text (serde_json stops at 128).
fn deep(depth: usize) -> String {
    format!("{}1{}", "[".repeat(depth), "]".repeat(depth))
}

fn ip() -> impl Strategy<Value = Value> {
    prop_oneof![
        4 => Just(json!("192.0.2.1")),
        2 => Just(json!("2001:db8::1")),
        1 => nasty_text(6).prop_map(Value::from),
        1 => wrong_type(),
    ]
}

fn base64_field() -> impl Strategy<Value = Value> {
    let b64 = base64::engine::general_purpose::STANDARD;
    prop_oneof![
        4 => nasty_bytes().prop_map(move |b| Value::from(b64.encode(b))),
        1 => nasty_text(8).prop_map(|s| Value::from(format!("!!{s}=="))),
        1 => wrong_type(),
    ]
}

/// A zgrab2 headers map: many headers, long names, many (empty) values,
/// values of wrong types, `unknown` entries.
fn headers() -> impl Strategy<Value = Value> {
    let name = prop_oneof![
        3 => prop::sample::select(vec!["server", "content_type", "set_cookie", "unknown", "", "x__y"])
            .prop_map(str::to_string),
        1 => (1usize..3000).prop_map(|n| "k".repeat(n)),
        1 => nasty_text(10),
    ];
    let values = prop_oneof![
        3 => prop::collection::vec(nasty_text(6).prop_map(Value::from), 0..8).prop_map(Value::Array),
        1 => (0usize..2000).prop_map(|n| Value::Array(vec![json!(""); n])),
        1 => wrong_type(),
        1 => prop::collection::vec((nasty_text(8), prop::collection::vec(nasty_text(4), 0..4)), 0..4)
            .prop_map(|items| {
                Value::Array(
                    items
                        .into_iter()
                        .map(|(k, v)| json!({"key": k, "value": v}))
                        .collect(),
                )
            }),
    ];
    prop::collection::vec((name, values), 0..40)
        .prop_map(|kv| Value::Object(kv.into_iter().collect()))
}

fn zgrab2_line() -> impl Strategy<Value = String> {
    let response = (
        prop_oneof![3 => nasty_text(6).prop_map(Value::from), 1 => wrong_type()],
        headers(),
        prop::option::of(base64_field()),
    )
        .prop_map(|(status_line, headers, raw)| {
            let mut r = json!({"status_line": status_line, "headers": headers,
                "protocol": {"name": "HTTP/1.1"},
                "request": {"url": {"host": "192.0.2.1:8080", "scheme": "http"}}});
            if let Some(raw) = raw {
                r["headers_raw"] = raw;
            }
            r
        });
    (
        ip(),
        prop::option::of(response),
        nasty_text(6),
        nasty_text(6),
        0usize..4,
    )
        .prop_map(|(ip, response, status, error, shape)| {
            let mut http = json!({"status": status, "error": error,
                "timestamp": "2023-07-04T10:00:00Z"});
            if let Some(r) = response {
                http["result"] = json!({ "response": r });
            }
            let v = json!({"ip": ip, "data": {"http": http}});
            match shape {
                // Deep nesting inside an otherwise valid record.
                0 => v.to_string().replacen(
                    "\"data\":",
                    &format!("\"deep\":{},\"data\":", deep(300)),
                    1,
                ),
                _ => v.to_string(),
            }
        })
}

fn censys_line() -> impl Strategy<Value = String> {
    let host = prop_oneof![
        ip(),
        ip().prop_map(|ip| json!({ "ipv4": ip })),
        ip().prop_map(|ip| json!({"ipv4": null, "ipv6": ip})),
    ];
    let port = prop_oneof![
        any::<u16>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        nasty_text(3).prop_map(Value::from),
        wrong_type(),
    ];
    (
        host,
        port,
        nasty_text(4),
        base64_field(),
        nasty_text(12),
        0usize..5,
    )
        .prop_map(|(host, port, service, banner, observed, shape)| {
            let v = json!({"host_identifier": host, "port": port,
                "service_name": if service.is_empty() { "HTTP".to_string() } else { service },
                "banner": banner, "observed_at": observed});
            match shape {
                0 => v
                    .to_string()
                    .replacen('{', &format!("{{\"deep\":{},", deep(200)), 1),
                _ => v.to_string(),
            }
        })
}

/// A file of hostile lines: zgrab2 or Censys (the first line decides the
/// format), with junk lines, blank lines and NUL/ESC lines mixed in.
fn hostile_file() -> impl Strategy<Value = (Vec<String>, bool)> {
    let junk = prop_oneof![
        Just(String::new()),
        nasty_text(20),
        Just(deep(1000)),
        Just("\u{1f}\u{8b}\u{8}".to_string()),
    ];
    let lines = prop_oneof![
        prop::collection::vec(prop_oneof![6 => zgrab2_line(), 1 => junk.clone()], 1..12),
        prop::collection::vec(prop_oneof![6 => censys_line(), 1 => junk], 1..12),
    ];
    (lines, any::<bool>())
}

fn gzip(data: &[u8]) -> Vec<u8> {
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    enc.write_all(data).expect("gzip");
    enc.finish().expect("gzip")
}

/// No character that can drive a terminal: C0 (all of them: messages are
/// one line), DEL, C1, bidi controls.
fn terminal_safe(s: &str) -> bool {
    !s.chars().any(|c| {
        c.is_control() || matches!(c, '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}' | '\u{200e}' | '\u{200f}')
    })
}

/// The work limit of the labelling fuzz.
const WORK: u64 = 1 << 20;

const NAME: &str = "hostile/scan\u{1b}.json";

/// Reads `data` and checks every promise of the module docs; returns the
/// number of records.
fn check_file(
    data: Vec<u8>,
    plain: &[u8],
    lines: u64,
    expandable: bool,
) -> Result<u64, TestCaseError> {
    let opts = ReadOptions::default()
        .on_bad_line(OnBadLine::Skip)
        .max_line_bytes(LIMIT);
    let mut r = RecordReader::from_reader(std::io::Cursor::new(data.clone()), NAME, opts)
        .map_err(|e| TestCaseError::fail(e.to_string()))?;
    let (mut n, mut total) = (0u64, 0usize);
    for item in r.by_ref() {
        let rec = item.map_err(|e| TestCaseError::fail(format!("unexpected error {e}")))?;
        prop_assert!(
            rec.banner.len() <= LIMIT,
            "banner of {} bytes",
            rec.banner.len()
        );
        total += rec.banner.len();
        n += 1;
    }
    prop_assert_eq!(n + r.bad_line_count(), lines, "every line accounted for");
    prop_assert!(total <= (n as usize) * LIMIT);
    if !expandable {
        prop_assert!(
            total <= plain.len(),
            "{} bytes out of {}",
            total,
            plain.len()
        );
    }
    for bad in r.bad_lines() {
        prop_assert_eq!(bad.path.as_os_str(), NAME);
        prop_assert!(bad.line >= 1 && bad.line <= plain.split(|b| *b == b'\n').count() as u64);
        let shown = bad.kind.to_string();
        prop_assert!(terminal_safe(&shown), "{:?}", shown);
        if let BadLineKind::LineTooLong(l) | BadLineKind::BannerTooLong(l) = bad.kind {
            prop_assert_eq!(l, LIMIT);
        }
    }
    // Fail mode stops at the first bad line, with its file and line.
    let first_bad = r.bad_lines().first().map(|b| b.line);
    let mut f = RecordReader::from_reader(
        std::io::Cursor::new(data),
        NAME,
        ReadOptions::default().max_line_bytes(LIMIT),
    )
    .map_err(|e| TestCaseError::fail(e.to_string()))?;
    let err = f.by_ref().find_map(Result::err);
    prop_assert!(f.next().is_none(), "an error ends the iteration");
    match (err, first_bad) {
        (None, None) => {}
        (Some(Error::BadLine { path, line, .. }), Some(want)) => {
            prop_assert_eq!(path.as_os_str(), NAME);
            prop_assert_eq!(line, want);
        }
        (e, want) => prop_assert!(
            false,
            "fail mode gave {:?}, skip mode's first bad line {:?}",
            e,
            want
        ),
    }
    Ok(n)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    /// Hostile zgrab2 / Censys files, plain or gzip.
    #[test]
    fn hostile_records_are_bounded_and_reported((lines, compress) in hostile_file()) {
        let plain: Vec<u8> = lines.iter().flat_map(|l| l.bytes().chain([b'\n'])).collect();
        let non_blank = plain
            .split(|b| *b == b'\n')
            .filter(|l| !l.iter().all(u8::is_ascii_whitespace))
            .count() as u64;
        // Only zgrab2's headers map can expand; the first line decides.
        let expandable = lines.iter().any(|l| l.contains("\"data\""));
        let data = if compress { gzip(&plain) } else { plain.clone() };
        check_file(data, &plain, non_blank, expandable)?;
    }

    /// A gzip file cut anywhere (or with a flipped byte): the records before
    /// the damage, then at most one error, a gzip error naming the file;
    /// never a panic or a silent end.
    #[test]
    fn damaged_gzip_ends_with_a_gzip_error(
        lines in prop::collection::vec(censys_line(), 1..20),
        cut in any::<prop::sample::Index>(),
        flip in any::<Option<prop::sample::Index>>(),
    ) {
        let plain: Vec<u8> = lines.iter().flat_map(|l| l.bytes().chain([b'\n'])).collect();
        let mut gz = gzip(&plain);
        let full = gz.len();
        if let Some(i) = flip {
            let i = i.index(full);
            gz[i] ^= 0x55;
        }
        gz.truncate(2 + cut.index(full - 2));
        let damaged = gz.len() < full || flip.is_some();
        let len = gz.len() as u64;
        let mut r = RecordReader::from_reader(
            std::io::Cursor::new(gz),
            NAME,
            ReadOptions::default().on_bad_line(OnBadLine::Skip).max_line_bytes(LIMIT),
        ).map_err(|e| TestCaseError::fail(e.to_string()))?;
        let mut errors = Vec::new();
        for item in r.by_ref() {
            match item {
                Ok(rec) => prop_assert!(rec.banner.len() <= LIMIT),
                Err(e) => errors.push(e),
            }
        }
        prop_assert!(errors.len() <= 1);
        if gz_header_intact(flip, full) && damaged && len < full as u64 {
            prop_assert_eq!(errors.len(), 1, "a truncated stream must be reported");
        }
        if let Some(e) = errors.first() {
            match e {
                Error::Gzip { path, offset, .. } => {
                    prop_assert_eq!(path.as_os_str(), NAME);
                    prop_assert!(*offset <= len);
                }
                other => prop_assert!(false, "expected a gzip error, got {:?}", other),
            }
            prop_assert!(e.to_string().starts_with("hostile/scan"));
        }
    }

    /// Hostile banner pairs (long repetitive values, many headers): labels
    /// cover both banners and the work stays within the limit (a small one
    /// here, 2^20 steps, to keep CI quick; `labels::tests` checks a 300 KB
    /// pair at the default limit).
    #[test]
    fn hostile_pairs_label_within_the_work_limit(
        unit_a in prop::collection::vec(prop::sample::select(b"ab\0\x1b".to_vec()), 1..4),
        unit_b in prop::collection::vec(prop::sample::select(b"ab\0\x1b".to_vec()), 1..4),
        len in 0usize..20_000,
        headers in 0usize..300,
    ) {
        let build = |unit: &[u8]| {
            let mut v = b"HTTP/1.1 200 OK\r\n".to_vec();
            for i in 0..headers {
                v.extend_from_slice(format!("X-{}: {}\r\n", i % 7, i).as_bytes());
            }
            v.extend_from_slice(b"X-Long: ");
            v.extend(unit.iter().copied().cycle().take(len));
            v.extend_from_slice(b"\r\n");
            v
        };
        let (a, b) = (build(&unit_a), build(&unit_b));
        let mut labeler = Labeler::new(LabelParams::default().max_work(WORK).check().expect("valid"));
        let l = labeler.label(&a, &b, BannerKind::Http);
        prop_assert!(labeler.last_work() <= WORK);
        prop_assert_eq!((l.a.len(), l.b.len()), (a.len(), b.len()));
        let stable = l.a.iter().filter(|x| **x == Label::Stable).count();
        prop_assert_eq!(stable, l.matched);
    }
}

/// Whether the flipped byte (if any) left the 10-byte gzip header alone, so
/// that the decoder gets past the header and must report the truncation.
fn gz_header_intact(flip: Option<prop::sample::Index>, full: usize) -> bool {
    flip.is_none_or(|i| i.index(full) >= 10)
}

/// The amplification record of issue 24, item 2, as a file: a few KB of gzip.
#[test]
fn amplification_file_is_one_bad_line() {
    let line =
        json!({"ip": "192.0.2.1", "data": {"http": {"status": "success", "result": {"response": {
            "status_line": "200 OK",
            "headers": {"k".repeat(4000): vec![""; 200_000]},
        }}}}})
        .to_string();
    let gz = gzip(format!("{line}\n").as_bytes());
    assert!(gz.len() < 16 << 10, "{} bytes", gz.len());
    // Default limit (64 MiB): the old code built an 800 MB banner.
    let mut r = RecordReader::from_reader(
        std::io::Cursor::new(gz),
        "amp.json.gz",
        ReadOptions::default()
            .format(Format::Zgrab2Http)
            .on_bad_line(OnBadLine::Skip),
    )
    .expect("open");
    let records: Vec<_> = r.by_ref().collect::<Result<_, _>>().expect("no error");
    assert!(records.is_empty());
    assert_eq!(r.bad_line_count(), 1);
    assert_eq!(
        r.bad_lines()[0].to_string(),
        "amp.json.gz:1: banner rebuilt from the record is longer than 67108864 bytes"
    );
}
