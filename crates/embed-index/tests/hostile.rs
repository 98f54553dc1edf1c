//! Hostile `.npy` files and careless resumes (issue 24, items 6 and 7).
//!
//! Every size a header states is checked against the file's length before anything is
//! allocated from it, so each test below uses a file of a few hundred bytes that claims
//! gigabytes or more; the checks turn each into an [`Error::Format`] naming the file (before
//! the fix: an allocation abort or an arithmetic overflow).
//!
//! The proptest suite runs 256 cases per property by default; run many more with
//! `PROPTEST_CASES=100000 cargo test -p embed-index --test hostile`.

use std::path::{Path, PathBuf};

use embed_index::{EmbeddingStore, Error, StoreSource, StoreWriter, manifest_path, read_npy};
use ndarray::{Array2, array};
use proptest::prelude::*;

/// A version-1.0 `.npy` header with `dict` as its text, padded like NumPy (to 64 bytes).
fn header(dict: &str) -> Vec<u8> {
    let unpadded = 10 + dict.len() + 1;
    let total = unpadded.div_ceil(64) * 64;
    let mut h = b"\x93NUMPY\x01\x00".to_vec();
    h.extend_from_slice(&((total - 10) as u16).to_le_bytes());
    h.extend_from_slice(dict.as_bytes());
    h.resize(total - 1, b' ');
    h.push(b'\n');
    h
}

fn npy_file(dir: &Path, name: &str, dict: &str, data: usize) -> PathBuf {
    let path = dir.join(name);
    let mut bytes = header(dict);
    bytes.resize(bytes.len() + data, 0);
    std::fs::write(&path, bytes).expect("write");
    path
}

fn names_file(err: &Error, path: &Path) -> bool {
    err.to_string().contains(&path.display().to_string())
}

/// `cluster` read `(10**11, 64)` with ndarray-npy, which allocated 25.6 TB and aborted.
#[test]
fn a_shape_of_ten_to_the_eleven_rows_is_refused_before_allocation() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = npy_file(
        dir.path(),
        "huge.npy",
        "{'descr': '<f4', 'fortran_order': False, 'shape': (100000000000, 64), }",
        256,
    );
    let err = read_npy(&path).expect_err("huge shape");
    assert!(matches!(err, Error::Format { .. }), "{err}");
    assert!(names_file(&err, &path), "{err}");
    assert!(err.to_string().contains("promises"), "{err}");
}

/// `(1, 2**62)` overflowed `rows * 4 * dim` in `EmbeddingStore::open` (a wrapped size in
/// release builds, a panic in debug ones).
#[test]
fn a_shape_whose_byte_size_overflows_is_refused() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = npy_file(
        dir.path(),
        "wide.npy",
        "{'descr': '<f4', 'fortran_order': False, 'shape': (1, 4611686018427387904), }",
        64,
    );
    let ids = dir.path().join("ids.jsonl");
    std::fs::write(&ids, "1\n").expect("ids");
    let err = EmbeddingStore::open(&path, &ids).expect_err("overflowing shape");
    assert!(matches!(err, Error::Format { .. }), "{err}");
    assert!(names_file(&err, &path), "{err}");
    let err = read_npy(&path).expect_err("overflowing shape");
    assert!(matches!(err, Error::Format { .. }), "{err}");
}

#[test]
fn float64_files_are_read_and_narrowed() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("f8.npy");
    let mut bytes = header("{'descr': '<f8', 'fortran_order': False, 'shape': (2, 2), }");
    for v in [1.0f64, 2.0, 3.0, 0.5] {
        bytes.extend_from_slice(&v.to_le_bytes());
    }
    std::fs::write(&path, &bytes).expect("write");
    assert_eq!(
        read_npy(&path).expect("read"),
        array![[1.0f32, 2.0], [3.0, 0.5]]
    );
    // One byte short of its shape.
    std::fs::write(&path, &bytes[..bytes.len() - 1]).expect("write");
    assert!(matches!(read_npy(&path), Err(Error::Format { .. })));
}

fn small_store(dir: &Path, source: &StoreSource) -> (PathBuf, PathBuf) {
    let (npy, ids) = (dir.join("emb.npy"), dir.join("ids.jsonl"));
    let mut w = StoreWriter::create_with(&npy, &ids, 2, source).expect("create");
    w.append(
        &array![[1.0f32, 0.0], [0.0, 1.0], [0.5, 0.5]],
        &["a", "b", "c"],
    )
    .expect("append");
    w.finish().expect("finish");
    (npy, ids)
}

fn snapshot(paths: &[&Path]) -> Vec<Vec<u8>> {
    paths
        .iter()
        .map(|p| std::fs::read(p).expect("read"))
        .collect()
}

/// A mistyped `--ids` path created an empty ids file and cut the matrix to zero rows.
#[test]
fn resume_with_a_missing_ids_file_changes_nothing() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (npy, ids) = small_store(dir.path(), &StoreSource::new());
    let before = snapshot(&[&npy, &ids]);
    let typo = dir.path().join("ids.json");
    let err = StoreWriter::resume(&npy, &typo, 2).expect_err("missing ids");
    assert!(matches!(err, Error::Resume { .. }), "{err}");
    assert!(!typo.exists());
    // Same file name in another folder, empty: the committed rows are not cut either.
    let other = dir.path().join("other");
    std::fs::create_dir(&other).expect("dir");
    std::fs::write(other.join("ids.jsonl"), "").expect("empty ids");
    let err = StoreWriter::resume(&npy, other.join("ids.jsonl"), 2).expect_err("short ids");
    assert!(matches!(err, Error::Resume { .. }), "{err}");
    assert_eq!(snapshot(&[&npy, &ids]), before);
    // The store itself still resumes.
    assert_eq!(
        StoreWriter::resume(&npy, &ids, 2).expect("resume").rows(),
        3
    );
}

#[test]
fn resume_with_another_source_says_what_differs() {
    let dir = tempfile::tempdir().expect("tempdir");
    let made = StoreSource::new()
        .with("model", "sha256:aaaa")
        .with("max_input_len", 768);
    let (npy, ids) = small_store(dir.path(), &made);
    let before = snapshot(&[&npy, &ids]);
    let other = made.clone().with("model", "sha256:bbbb");
    let err = StoreWriter::resume_with(&npy, &ids, 2, &other).expect_err("other model");
    let text = err.to_string();
    assert!(matches!(err, Error::Resume { .. }), "{text}");
    assert!(
        text.contains("model") && text.contains("sha256:aaaa") && text.contains("sha256:bbbb"),
        "{text}"
    );
    // No manifest (another program's store, or an older bannerlm): refused too.
    std::fs::remove_file(manifest_path(&npy)).expect("rm manifest");
    let err = StoreWriter::resume_with(&npy, &ids, 2, &made).expect_err("no manifest");
    assert!(matches!(err, Error::Resume { .. }), "{err}");
    assert_eq!(snapshot(&[&npy, &ids]), before);
}

/// A NumPy header of another length than ours: rewriting ours over it would shift every row.
#[test]
fn resume_over_a_foreign_header_of_another_length_is_refused() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (npy, ids) = small_store(dir.path(), &StoreSource::new());
    let ours = std::fs::read(&npy).expect("npy");
    let data = &ours[ours.len() - 3 * 2 * 4..];
    // The same array as older NumPy wrote it: the header padded to 16 bytes (80), not 64.
    let dict = "{'descr': '<f4', 'fortran_order': False, 'shape': (3, 2), }";
    let mut foreign = b"\x93NUMPY\x01\x00".to_vec();
    foreign.extend_from_slice(&70u16.to_le_bytes());
    foreign.extend_from_slice(dict.as_bytes());
    foreign.resize(79, b' ');
    foreign.push(b'\n');
    foreign.extend_from_slice(data);
    std::fs::write(&npy, &foreign).expect("foreign");
    assert_eq!(
        read_npy(&npy).expect("a valid .npy"),
        array![[1.0f32, 0.0], [0.0, 1.0], [0.5, 0.5]]
    );
    let err = StoreWriter::resume(&npy, &ids, 2).expect_err("foreign header");
    assert!(matches!(err, Error::Format { .. }), "{err}");
    assert!(err.to_string().contains("misalign"), "{err}");
    assert_eq!(std::fs::read(&npy).expect("npy"), foreign);
}

/// A header that commits more rows than the file holds: refused, not truncated.
#[test]
fn resume_of_a_store_shorter_than_its_header_is_refused() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (npy, ids) = small_store(dir.path(), &StoreSource::new());
    let bytes = std::fs::read(&npy).expect("npy");
    std::fs::write(&npy, &bytes[..bytes.len() - 8]).expect("cut");
    let err = StoreWriter::resume(&npy, &ids, 2).expect_err("short store");
    assert!(matches!(err, Error::Format { .. }), "{err}");
    assert_eq!(std::fs::read(&npy).expect("npy").len(), bytes.len() - 8);
}

fn dim_text() -> impl Strategy<Value = String> {
    prop_oneof![
        (0u64..5_000).prop_map(|v| v.to_string()),
        any::<u64>().prop_map(|v| v.to_string()),
        Just("18446744073709551616".to_owned()),
        Just("-1".to_owned()),
        Just("4611686018427387904".to_owned()),
        "[0-9 ,()L]{0,12}",
    ]
}

fn dict_text() -> impl Strategy<Value = String> {
    let descr = prop_oneof![
        Just("'<f4'"),
        Just("'<f8'"),
        Just("'>f4'"),
        Just("'<i8'"),
        Just("'float32'"),
    ];
    let fortran = prop_oneof![Just("False"), Just("True"), Just("0")];
    let shape = prop::collection::vec(dim_text(), 0..4).prop_map(|d| d.join(", "));
    (descr, fortran, shape, any::<bool>()).prop_map(|(d, f, s, comma)| {
        format!(
            "{{'descr': {d}, 'fortran_order': {f}, 'shape': ({s}{}), }}",
            if comma { "," } else { "" }
        )
    })
}

proptest! {
    /// Any header, any data length, any ids file: no panic, an error naming the file, and a
    /// matrix read only when the file holds all of it (so memory stays below the file size).
    #[test]
    fn hostile_npy_headers_are_errors_naming_the_file(
        dict in dict_text(),
        data in 0usize..600,
        version in prop_oneof![Just(1u8), Just(2), Just(3), Just(7)],
        hlen_delta in -3i32..3,
        id_lines in 0usize..8,
        truncate in prop::option::of(0usize..140),
    ) {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("x.npy");
        let mut bytes = header(&dict);
        bytes[6] = version;
        let hlen = i32::from(u16::from_le_bytes([bytes[8], bytes[9]])) + hlen_delta;
        bytes[8..10].copy_from_slice(&(hlen.max(0) as u16).to_le_bytes());
        bytes.resize(bytes.len() + data, 0x3f);
        if let Some(t) = truncate {
            bytes.truncate(t);
        }
        std::fs::write(&path, &bytes).expect("write");
        let file_len = bytes.len();
        match read_npy(&path) {
            Ok(m) => prop_assert!(m.len() * 4 <= file_len, "{:?} from {file_len} bytes", m.dim()),
            Err(e) => prop_assert!(names_file(&e, &path), "{e}"),
        }
        let ids = dir.path().join("ids.jsonl");
        std::fs::write(&ids, "\"a\"\n".repeat(id_lines)).expect("ids");
        match EmbeddingStore::open(&path, &ids) {
            Ok(store) => {
                prop_assert!(store.len() * store.dim() * 4 <= file_len);
                let m: Array2<f32> = store.load().expect("load");
                prop_assert_eq!(m.nrows(), id_lines);
            }
            Err(e) => prop_assert!(
                names_file(&e, &path) || names_file(&e, &ids),
                "{e}"
            ),
        }
        std::fs::copy(&path, dir.path().join("y.npy")).expect("copy");
        for dim in [1usize, 2, 64] {
            if let Err(e) = StoreWriter::resume(dir.path().join("y.npy"), &ids, dim) {
                let shown = e.to_string();
                prop_assert!(shown.contains("y.npy") || shown.contains("ids.jsonl"), "{shown}");
            }
        }
    }
}
