//! Issue 24, items 5 and 9: no example writes a terminal control sequence that came from its
//! input, and none panics when its reader goes away (`example | head -1`).
//!
//! Runs the already-built example binaries (`target/<profile>/examples/<name>`; `cargo test`
//! builds every example before it runs the tests) on hostile inputs: ESC/CSI/OSC, BEL, DEL,
//! C1 controls and bidirectional overrides in banners, snapshot and protocol names, zgrab2
//! `status`/`error` fields, Censys fields, Recog XML descriptions, params and tag names, label
//! names and file names. Every byte of standard output and standard error must be free of
//! controls other than `\n` (not even `\r`), of DEL, of C1 controls and of bidi/format
//! characters. The training examples (pretrain, finetune, evaluate, annotate, embed) are not
//! run here: they need a model.
//!
//! An example binary that is missing is reported and skipped, unless
//! `BANNERLM_REQUIRE_EXAMPLES=1`, when the test fails. Run alone with
//! `cargo build --examples && cargo test --test hostile_terminal`.

use std::io::{BufRead as _, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use serde_json::json;

mod common;
use common::example;

/// A string with every kind of dangerous character: CSI (clear screen), OSC (set title,
/// BEL-terminated), DEL, carriage return, C1 CSI (U+009B), bidi override and isolate,
/// zero-width space.
const H: &str = "\u{1b}[2J\u{1b}]0;pwned\u{7}\u{7f}\r\u{9b}31m\u{202e}evil\u{2066}\u{200b}";

/// Where a byte string is unsafe for a terminal: the first offending character.
fn unsafe_char(bytes: &[u8]) -> Option<(usize, char)> {
    let text = String::from_utf8_lossy(bytes);
    text.char_indices().find(|&(_, c)| {
        (c.is_control() && c != '\n')
            || matches!(c, '\u{200b}'..='\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}' | '\u{feff}')
    })
}

struct Run {
    status: Option<i32>,
    stdout: Vec<u8>,
    stderr: Vec<u8>,
}

fn run(name: &str, args: &[&std::ffi::OsStr], what: &str) -> Option<Run> {
    let exe = example(name)?;
    let out = Command::new(&exe)
        .args(args)
        .env("NO_COLOR", "1")
        .env_remove("RECOG_XML_DIR")
        .env("MIMALLOC_PURGE_DELAY", "-1")
        .stdin(Stdio::null())
        .output()
        .unwrap_or_else(|e| panic!("running {}: {e}", exe.display()));
    let r = Run {
        status: out.status.code(),
        stdout: out.stdout,
        stderr: out.stderr,
    };
    let stderr = String::from_utf8_lossy(&r.stderr);
    assert!(
        !stderr.contains("panicked"),
        "{name} ({what}) panicked: {stderr}"
    );
    for (stream, bytes) in [("stdout", &r.stdout), ("stderr", &r.stderr)] {
        if let Some((at, c)) = unsafe_char(bytes) {
            let text = String::from_utf8_lossy(bytes);
            let context: String = text
                .char_indices()
                .filter(|(i, _)| i + 200 >= at && *i <= at + 40)
                .map(|(_, c)| c)
                .collect();
            panic!("{name} ({what}) wrote {c:?} to {stream} at byte {at}: ...{context:?}");
        }
    }
    Some(r)
}

fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, text).expect("write fixture");
    p
}

fn jsonl(values: &[serde_json::Value]) -> String {
    let mut out = String::new();
    for v in values {
        out.push_str(&v.to_string());
        out.push('\n');
    }
    out
}

fn http_banner(server: &str, cookie: &str) -> String {
    format!(
        "HTTP/1.1 200 OK\r\nServer: {server}\r\nSet-Cookie: id={cookie}; path=/\r\nX-{H}: {H}\r\nContent-Length: 12\r\n\r\n<html>{H}</html>"
    )
}

/// Two snapshots of hostile bannerlm JSONL records, paired by address.
fn snapshots(dir: &Path) -> (PathBuf, PathBuf) {
    let rec = |snap: &str, i: u32, server: &str, cookie: &str| {
        json!({"ip": format!("192.0.2.{i}"), "port": 80, "snapshot": snap, "protocol": "http",
               "banner": http_banner(server, cookie)})
    };
    let before: Vec<_> = (1..=12)
        .map(|i| {
            rec(
                &format!("2023-06{H}"),
                i,
                &format!("nginx/1.{i} {H}"),
                &format!("{i}a{H}"),
            )
        })
        .chain([
            json!({"ip": "192.0.2.99", "port": 22, "snapshot": format!("2023-06{H}"),
                       "protocol": format!("ssh{H}"), "banner": format!("SSH-2.0-{H}\r\n")}),
        ])
        .collect();
    let after: Vec<_> = (1..=12)
        .map(|i| {
            rec(
                "2023-07",
                i,
                &format!("nginx/1.{} {H}", i + 1),
                &format!("{i}b{H}"),
            )
        })
        .collect();
    (
        write(dir, "before.jsonl", &jsonl(&before)),
        write(dir, "after.jsonl", &jsonl(&after)),
    )
}

fn os(s: &str) -> &std::ffi::OsStr {
    std::ffi::OsStr::new(s)
}

fn p(path: &Path) -> &std::ffi::OsStr {
    path.as_os_str()
}

#[test]
fn parse_escapes_banners_keys_and_bad_line_reports() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (before, after) = snapshots(dir.path());
    let Some(r) = run(
        "parse",
        &[p(&before), p(&after), os("--show"), os("4")],
        "jsonl",
    ) else {
        return;
    };
    assert_eq!(r.status, Some(0), "{}", String::from_utf8_lossy(&r.stderr));
    assert!(String::from_utf8_lossy(&r.stdout).contains(r"\x1b[2J"));

    // zgrab2: a good record with hostile headers, and failures whose status and error fields
    // are hostile (they become bad-line messages).
    let zgrab = |status: &str, error: &str, server: &str| {
        json!({"ip": "192.0.2.7", "data": {"http": {"status": status, "error": error,
            "protocol": "http", "timestamp": "2023-07-04T10:00:00Z",
            "result": {"response": {"status_line": format!("200 OK{H}"),
                "protocol": {"name": "HTTP/1.1"},
                "headers": {"server": [server], "unknown": [{"key": format!("X{H}"), "value": [H]}]}}}}}})
    };
    let failed = json!({"ip": "192.0.2.8", "data": {"http": {"status": format!("io-timeout{H}"),
        "error": format!("read tcp {H}"), "protocol": "http", "timestamp": "2023-07-04T10:00:00Z"}}});
    let z1 = write(
        dir.path(),
        "z1.json",
        &jsonl(&[zgrab("success", "", &format!("Apache {H}")), failed.clone()]),
    );
    let z2 = write(
        dir.path(),
        "z2.json",
        &jsonl(&[zgrab("success", "", &format!("Apache/2 {H}")), failed]),
    );
    run(
        "parse",
        &[p(&z1), p(&z2), os("--skip-bad")],
        "zgrab2 --skip-bad",
    );
    let r = run("parse", &[p(&z1), p(&z2)], "zgrab2 failing").expect("built");
    assert_ne!(
        r.status,
        Some(0),
        "a bad line without --skip-bad is an error"
    );

    // Censys: hostile service name, port and base64 banner bytes (C0, C1, invalid UTF-8).
    let raw = b"HTTP/1.1 200 OK\r\nServer: \x1b[31m\x9b\xff\x07\r\n";
    let censys = |service: &str| {
        json!({"host_identifier": {"ipv4": "192.0.2.9"}, "port": "8080", "service_name": service,
               "banner": base64_encode(raw), "truncated": false,
               "observed_at": format!("2023-08-01 12:00:00 UTC{H}")})
    };
    let c1 = write(dir.path(), "c1.json", &jsonl(&[censys("HTTP"), censys(H)]));
    let c2 = write(
        dir.path(),
        "c2.json",
        &jsonl(&[censys(&format!("HTTP{H}"))]),
    );
    run(
        "parse",
        &[p(&c1), p(&c2), os("--skip-bad")],
        "censys --skip-bad",
    );
    run("parse", &[p(&c2), p(&c1)], "censys failing");

    // A hostile file name that does not exist, and one that does but is not JSON.
    let missing = dir.path().join(format!("scan{H}.jsonl"));
    let r = run("parse", &[p(&missing), p(&after)], "hostile missing file").expect("built");
    assert_ne!(r.status, Some(0));
    let junk = write(
        dir.path(),
        &format!("junk{H}.jsonl"),
        &format!("{{\"ip\": \"{H}\"\n"),
    );
    run("parse", &[p(&junk), p(&after)], "hostile junk file");
}

fn base64_encode(bytes: &[u8]) -> String {
    const T: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::new();
    for chunk in bytes.chunks(3) {
        let b = [
            chunk[0],
            *chunk.get(1).unwrap_or(&0),
            *chunk.get(2).unwrap_or(&0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(char::from(T[((n >> (18 - 6 * i)) & 63) as usize]));
            } else {
                out.push('=');
            }
        }
    }
    out
}

#[test]
fn fingerprint_escapes_label_names_headers_and_file_names() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (_, after) = snapshots(dir.path());
    let labels: Vec<_> = (1..=12)
        .map(|i| {
            json!({"ip": format!("192.0.2.{i}"), "port": 80, "snapshot": "2023-07",
                   "protocol": "http", "labels": {format!("eps{H}"): 0}})
        })
        .collect();
    let labels = write(dir.path(), "labels.jsonl", &jsonl(&labels));
    let recog = dir.path().join("recog");
    let hostile_headers = format!("Server,Set-Cookie,X-{H},../../../escape{H}");
    let Some(r) = run(
        "fingerprint",
        &[
            p(&after),
            p(&labels),
            os("--k"),
            os("3"),
            os("--draws"),
            os("4"),
            os("--headers"),
            os(&hostile_headers),
            os("--recog-dir"),
            p(&recog),
        ],
        "hostile labels and headers",
    ) else {
        return;
    };
    // Either fingerprints (header names made safe file names) or an escaped error.
    if r.status == Some(0) && recog.is_dir() {
        // Every Recog file stays inside --recog-dir, with a plain name.
        for e in std::fs::read_dir(&recog).expect("recog dir") {
            let name = e.expect("entry").file_name().to_string_lossy().into_owned();
            assert!(
                name.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"._-".contains(&b)),
                "{name:?}"
            );
        }
    }
    assert!(!dir.path().join("escape").exists());
    // --out is written atomically, and a missing hostile input is an escaped error.
    let out = dir.path().join("fps.jsonl");
    run(
        "fingerprint",
        &[
            p(&after),
            p(&labels),
            os("--k"),
            os("3"),
            os("--draws"),
            os("2"),
            os("--out"),
            p(&out),
        ],
        "--out",
    );
    assert!(out.is_file());
    let missing = dir.path().join(format!("labels{H}.jsonl"));
    let r = run(
        "fingerprint",
        &[p(&after), p(&missing)],
        "missing hostile labels",
    )
    .expect("built");
    assert_ne!(r.status, Some(0));
}

/// A Recog database whose description, params, examples and names carry escapes.
fn hostile_recog_xml() -> String {
    r#"<?xml version="1.0" encoding="UTF-8"?>
<fingerprints matches="http_header.server" protocol="http" database_type="service" preference="0.90">
  <fingerprint pattern="^nginx/([\d.]+)">
    <description>nginx &#27;[2J&#27;]0;title&#7; &#x9b;31m &#x202e;gnp.exe</description>
    <example service.version="1.2">nginx/1.2 &#27;[31m</example>
    <example service.version="9">nginx/1.2&#127;</example>
    <param pos="0" name="service.vendor&#27;[5m" value="F5&#7;&#x202e;"/>
    <param pos="1" name="service.version"/>
  </fingerprint>
  <fingerprint pattern="^Apache&#27;(">
    <description>broken &#27;c pattern</description>
  </fingerprint>
</fingerprints>
"#
    .to_owned()
}

#[test]
fn recog_examples_escape_descriptions_params_and_xml_errors() {
    let dir = tempfile::tempdir().expect("tempdir");
    let xml = write(dir.path(), "http_servers.xml", &hostile_recog_xml());
    run(
        "recog_verify",
        &[p(&xml), os("--details")],
        "hostile database",
    );
    // A tag name the parser rejects, with controls in it.
    let bad = write(
        dir.path(),
        &format!("bad{H}.xml"),
        "<fingerprints><fingerprint\u{1b}[2J pattern=\"x\"></fingerprint></fingerprints>",
    );
    run("recog_verify", &[p(&bad)], "malformed XML with controls");
    let unknown = write(
        dir.path(),
        "unknown.xml",
        &format!(
            "<fingerprints><fingerprint pattern=\"x\"><descr{}ption/></fingerprint></fingerprints>",
            "\u{202e}"
        ),
    );
    run("recog_verify", &[p(&unknown)], "unknown tag with bidi");

    let (before, _) = snapshots(dir.path());
    let recog_dir = dir.path().join("recog");
    std::fs::create_dir(&recog_dir).expect("mkdir");
    write(&recog_dir, "http_servers.xml", &hostile_recog_xml());
    run(
        "recog_match",
        &[
            p(&before),
            os("--recog-dir"),
            p(&recog_dir),
            os("--skip-bad"),
        ],
        "hostile records and database",
    );
}

#[test]
fn cluster_changes_and_simulate_escape_names() {
    let dir = tempfile::tempdir().expect("tempdir");
    let missing = dir.path().join(format!("x{H}.npy"));
    run("cluster", &[p(&missing)], "missing hostile npy");
    let junk = write(dir.path(), &format!("junk{H}.npy"), "\u{93}NUMPY{H}");
    run("cluster", &[p(&junk)], "junk npy");

    // An embedding store keyed by hostile snapshot and protocol names.
    let (before, after) = snapshots(dir.path());
    let rows = 24usize;
    let x =
        ndarray::Array2::from_shape_fn((rows, 4), |(i, j)| ((i * 7 + j * 3) % 11) as f32 / 11.0);
    let npy = dir.path().join("emb.npy");
    bannerlm::index::write_npy(&npy, &x).expect("npy");
    let ids: Vec<_> = (0..rows)
        .map(|r| {
            let (snap, i) = if r < 12 {
                (format!("2023-06{H}"), r + 1)
            } else {
                ("2023-07".to_owned(), r - 11)
            };
            json!({"ip": format!("192.0.2.{i}"), "port": 80, "snapshot": snap, "protocol": "http"})
        })
        .collect();
    let ids = write(dir.path(), "ids.jsonl", &jsonl(&ids));
    let before_name = format!("2023-06{H}");
    run(
        "changes",
        &[
            os("--npy"),
            p(&npy),
            os("--ids"),
            p(&ids),
            os("--before"),
            os(&before_name),
            os("--after"),
            os("2023-07"),
            os("--records"),
            p(&before),
            p(&after),
        ],
        "hostile store",
    );
    run(
        "drift",
        &[
            os("--npy"),
            p(&npy),
            os("--ids"),
            p(&ids),
            os("--before"),
            os(&before_name),
            os("--after"),
            os("2023-07"),
        ],
        "hostile store",
    );
    let r = run(
        "simulate",
        &[
            os("--hosts"),
            os("20"),
            os("--snapshots"),
            os("2"),
            os("--show"),
            os("5"),
        ],
        "show",
    );
    if let Some(r) = r {
        assert_eq!(r.status, Some(0));
    }
}

/// Spawns `name args`, reads one line of its output, closes the pipe and waits: the program
/// must exit 0 without a panic message (as in `example | head -1`).
fn closed_pipe(name: &str, args: &[&std::ffi::OsStr]) {
    let Some(exe) = example(name) else { return };
    let mut child = Command::new(&exe)
        .args(args)
        .env("NO_COLOR", "1")
        .env("MIMALLOC_PURGE_DELAY", "-1")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("running {}: {e}", exe.display()));
    let stdout = child.stdout.take().expect("piped stdout");
    let mut first = String::new();
    BufReader::new(stdout)
        .read_line(&mut first)
        .expect("first line");
    // The reader (and with it the pipe) is dropped here.
    let out = child.wait_with_output().expect("wait");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!first.is_empty(), "{name}: no output");
    assert!(
        !stderr.contains("panicked"),
        "{name} panicked on a closed pipe: {stderr}"
    );
    assert_eq!(out.status.code(), Some(0), "{name}: {stderr}");
}

#[test]
fn examples_exit_quietly_when_their_reader_goes_away() {
    // Output far beyond a pipe buffer (64 KiB), so the write after `head -1` fails.
    closed_pipe(
        "simulate",
        &[
            os("--hosts"),
            os("3000"),
            os("--snapshots"),
            os("2"),
            os("--show"),
            os("3000"),
        ],
    );
    // parse: many changed pairs shown, far beyond a pipe buffer too.
    let dir = tempfile::tempdir().expect("tempdir");
    let snapshot = |name: &str, shift: u32| {
        let v: Vec<_> = (0..2000u32)
            .map(|i| {
                json!({"ip": format!("10.0.{}.{}", i / 250, i % 250), "port": 80,
                       "snapshot": name, "protocol": "http",
                       "banner": format!("HTTP/1.1 200 OK\r\nServer: web\r\nETag: \"{}-{}\"\r\nContent-Length: 0\r\n", i * 7919 + shift, shift)})
            })
            .collect();
        write(dir.path(), &format!("{name}.jsonl"), &jsonl(&v))
    };
    let (a, b) = (snapshot("a", 1), snapshot("b", 2));
    closed_pipe("parse", &[p(&a), p(&b), os("--show"), os("2000")]);
}
