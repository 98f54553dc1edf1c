//! End-to-end over the committed two-snapshot fixture (tests/data/, made by
//! scripts/make_parse_fixtures.py): read, pair in memory and with the
//! bounded-memory join, label.

use std::collections::BTreeMap;

use bannerlm::parse::{
    BannerRecord, Label, PairJoin, ReadOptions, RecordReader, RecordWriter, pair_in_memory,
};

fn read(name: &str) -> Vec<BannerRecord> {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data")
        .join(name);
    RecordReader::open(&path, ReadOptions::default())
        .and_then(Iterator::collect::<Result<Vec<_>, _>>)
        .unwrap_or_else(|e| panic!("{e}"))
}

#[test]
fn join_strategies_agree_and_account_for_every_record() {
    let before = read("snapshot-2023-06.jsonl.gz");
    let after = read("snapshot-2023-07.jsonl.gz");
    let mem = pair_in_memory(before.clone(), after.clone());
    let mut stream = PairJoin::new()
        .partitions(7)
        .expect("partitions")
        .join(
            before.iter().cloned().map(Ok),
            after.iter().cloned().map(Ok),
        )
        .expect("join");
    let ext: Vec<_> = stream.by_ref().collect::<Result<_, _>>().expect("pairs");
    assert_eq!(stream.stats(), mem.stats);
    let key = |p: &bannerlm::parse::BannerPair| p.after.key();
    let a: BTreeMap<_, _> = mem.pairs.iter().map(|p| (key(p), p.clone())).collect();
    let b: BTreeMap<_, _> = ext.iter().map(|p| (key(p), p.clone())).collect();
    assert_eq!(a, b);
    let s = mem.stats;
    assert_eq!(s.before, s.pairs + s.only_before + s.duplicate_before);
    assert_eq!(s.after, s.pairs + s.only_after + s.duplicate_after);
    assert_eq!((s.pairs, s.only_before, s.only_after), (56, 4, 1));

    // Every pair of the same device keeps its Server header stable.
    for p in &mem.pairs {
        let labels = p.labels();
        assert!(labels.matched >= 11, "{}", p.before.key());
        assert!(labels.a.contains(&Label::Stable));
    }
}

#[test]
fn binary_banner_round_trips_through_files() {
    let after = read("snapshot-2023-07.jsonl.gz");
    let telnet = after
        .iter()
        .find(|r| r.protocol == "telnet")
        .expect("telnet record");
    assert_eq!(telnet.banner, b"\xff\xfd\x18\xff\xfd\x20login: ");
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("copy.jsonl");
    let mut w = RecordWriter::create(&path).expect("create");
    for r in &after {
        w.write(r).expect("write");
    }
    w.finish().expect("finish");
    let back: Vec<BannerRecord> = RecordReader::open(&path, ReadOptions::default())
        .and_then(Iterator::collect)
        .expect("read back");
    assert_eq!(back, after);
}
