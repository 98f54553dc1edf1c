//! A file with 1% corrupted lines: exactly those lines are reported, with
//! file and line, and every other record comes through unchanged.

use std::io::Write;

use banner_parse::{BannerRecord, Error, OnBadLine, ReadOptions, RecordReader};

fn record(i: usize) -> BannerRecord {
    BannerRecord {
        ip: format!("10.0.{}.{}", i / 256, i % 256).parse().expect("ip"),
        port: 80,
        snapshot: "2023-07-04".into(),
        protocol: "http".into(),
        banner: format!(
            "HTTP/1.1 200 OK\r\nServer: Apache/2.4.{}\r\nX-Bin: \u{1}\r\n",
            i % 60
        )
        .into_bytes(),
    }
}

#[test]
fn one_percent_corrupted_lines_reported_exactly() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("scan.jsonl.gz");
    let n = 2000;
    let corrupt: Vec<usize> = (0..n).filter(|i| i % 100 == 37).collect();
    let mut enc = flate2::write::GzEncoder::new(
        std::fs::File::create(&path).expect("create"),
        flate2::Compression::fast(),
    );
    for i in 0..n {
        let mut line = serde_json::to_vec(&record(i)).expect("json");
        if corrupt.contains(&i) {
            match i % 3 {
                0 => line.truncate(line.len() / 2),                  // cut short
                1 => line.splice(0..0, [0xff, 0xfe]).for_each(drop), // binary junk
                _ => line =
                    br#"{"ip":"999.1.1.1","port":80,"snapshot":"x","protocol":"http","banner":""}"#
                        .to_vec(),
            }
        }
        enc.write_all(&line).expect("write");
        enc.write_all(b"\n").expect("write");
    }
    enc.finish().expect("finish");

    let mut reader = RecordReader::open(&path, ReadOptions::default().on_bad_line(OnBadLine::Skip))
        .expect("open");
    let got: Vec<BannerRecord> = reader
        .by_ref()
        .collect::<Result<_, _>>()
        .expect("skip mode yields no errors");
    let want: Vec<BannerRecord> = (0..n)
        .filter(|i| !corrupt.contains(i))
        .map(record)
        .collect();
    assert_eq!(got, want);
    let bad: Vec<u64> = reader.bad_lines().iter().map(|b| b.line).collect();
    let want_bad: Vec<u64> = corrupt.iter().map(|i| *i as u64 + 1).collect();
    assert_eq!(bad, want_bad);
    assert_eq!(reader.bad_line_count(), corrupt.len() as u64);
    assert!(reader.bad_lines().iter().all(|b| b.path == path));

    // Fail mode stops at the first bad line with file:line in the message.
    let mut reader = RecordReader::open(&path, ReadOptions::default()).expect("open");
    let err = reader.by_ref().find_map(Result::err).expect("an error");
    assert!(matches!(err, Error::BadLine { line: 38, .. }), "{err}");
    assert!(
        err.to_string()
            .starts_with(&format!("{}:38: ", path.display()))
    );
}
