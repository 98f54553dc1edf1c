//! PCA recovers known variances, exact k-NN equals a naive loop, resumed
//! stores are byte-identical, and our `.npy` files read back with the
//! `ndarray-npy` crate.

use embed_index::{EmbeddingStore, ExactIndex, Pca, PcaParams, StoreWriter};
use ndarray::{Array2, Axis};
use rand::rngs::StdRng;
use rand::{RngExt as _, SeedableRng};

fn gaussian(rng: &mut StdRng) -> f64 {
    // Box-Muller.
    let u1: f64 = rng.random::<f64>().max(1e-300);
    let u2: f64 = rng.random();
    (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos()
}

/// A random orthogonal matrix (Gram-Schmidt of a Gaussian matrix).
fn orthogonal(d: usize, rng: &mut StdRng) -> Array2<f64> {
    let mut q = Array2::from_shape_fn((d, d), |_| gaussian(rng));
    for i in 0..d {
        for j in 0..i {
            let proj = q.row(i).dot(&q.row(j));
            let rj = q.row(j).to_owned();
            q.row_mut(i).scaled_add(-proj, &rj);
        }
        let n = q.row(i).dot(&q.row(i)).sqrt();
        q.row_mut(i).mapv_inplace(|v| v / n);
    }
    q
}

#[test]
fn pca_recovers_known_variance_ratios() {
    let mut rng = StdRng::seed_from_u64(11);
    let sd = [4.0, 2.0, 1.0, 0.5, 0.1, 0.1];
    let d = sd.len();
    let n = 40_000;
    let rot = orthogonal(d, &mut rng);
    let z = Array2::from_shape_fn((n, d), |(_, j)| gaussian(&mut rng) * sd[j]);
    let x = (z.dot(&rot) + 3.0).mapv(|v| v as f32); // rotated, shifted
    let pca = PcaParams::new(4).fit(&x).expect("fit");
    let total: f64 = sd.iter().map(|s| s * s).sum();
    for (got, s) in pca.explained_variance_ratio().iter().zip(sd) {
        let want = s * s / total;
        assert!(
            (got - want).abs() < 0.02 * want.max(0.01),
            "ratio {got} vs {want}"
        );
    }
    // Components align with the rotation's rows (up to sign).
    for k in 0..3 {
        let c = pca.components().row(k).mapv(f64::from);
        let cos = c.dot(&rot.row(k)).abs();
        assert!(cos > 0.99, "component {k}: |cos| = {cos}");
    }
    let cum = pca.cumulative_variance_ratio();
    assert!(cum.windows(2).all(|w| w[0] <= w[1]));
    // Projected data is centred with the component variances.
    let y = pca.transform(&x).expect("transform");
    let var0 = y.column(0).mapv(f64::from).var(1.0);
    assert!((var0 - 16.0).abs() < 0.5, "{var0}");
    assert!(
        y.mean_axis(Axis(0))
            .expect("mean")
            .iter()
            .all(|m| m.abs() < 1e-2)
    );

    let dir = tempfile::tempdir().expect("tempdir");
    pca.save(dir.path().join("pca.json")).expect("save");
    let back = Pca::load(dir.path().join("pca.json")).expect("load");
    assert_eq!(back, pca);
}

#[test]
fn pca_rejects_bad_input() {
    assert!(matches!(
        PcaParams::new(0).check(),
        Err(embed_index::Error::InvalidParam {
            name: "n_components",
            ..
        })
    ));
    let x = Array2::from_elem((10, 3), f32::NAN);
    assert!(matches!(
        PcaParams::new(2).fit(&x),
        Err(embed_index::Error::Pca(_))
    ));
    let x = Array2::<f32>::zeros((10, 3));
    assert!(matches!(
        PcaParams::new(4).fit(&x),
        Err(embed_index::Error::Shape(_))
    ));
}

#[test]
fn exact_knn_equals_naive_loop() {
    let mut rng = StdRng::seed_from_u64(5);
    let data = Array2::from_shape_fn((5000, 24), |_| gaussian(&mut rng) as f32);
    let queries = Array2::from_shape_fn((130, 24), |_| gaussian(&mut rng) as f32);
    let index = ExactIndex::new(data.clone());
    let k = 10;
    let got = index.search(&queries, k).expect("search");
    for (q, hits) in queries.outer_iter().zip(&got) {
        let mut naive: Vec<(f64, usize)> = data
            .outer_iter()
            .enumerate()
            .map(|(i, x)| {
                let d2: f64 = q
                    .iter()
                    .zip(x.iter())
                    .map(|(a, b)| f64::from(a - b).powi(2))
                    .sum();
                (d2.sqrt(), i)
            })
            .collect();
        naive.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
        let want: Vec<usize> = naive[..k].iter().map(|p| p.1).collect();
        let have: Vec<usize> = hits.iter().map(|n| n.index).collect();
        assert_eq!(have, want);
        for (n, (d, _)) in hits.iter().zip(&naive) {
            assert!(
                (f64::from(n.distance) - d).abs() < 1e-3,
                "{} vs {d}",
                n.distance
            );
        }
    }
    let own = index.neighbours_of(7, 3).expect("neighbours");
    assert!(own.iter().all(|n| n.index != 7) && own.len() == 3);
}

fn rows(n: usize, d: usize) -> (Array2<f32>, Vec<serde_json::Value>) {
    let m = Array2::from_shape_fn((n, d), |(i, j)| (i * 31 + j) as f32 / 7.0);
    let ids = (0..n)
        .map(|i| serde_json::json!({"ip": format!("192.0.2.{}", i % 250), "port": 80, "snapshot": "2023-07", "protocol": "http", "row": i}))
        .collect();
    (m, ids)
}

#[test]
fn resumed_store_is_byte_identical() {
    use std::io::Write as _;
    let (m, ids) = rows(1000, 16);
    let dir = tempfile::tempdir().expect("tempdir");
    let p = |name: &str| dir.path().join(name);

    // Uninterrupted run, in chunks of 100.
    let mut w = StoreWriter::create(p("a.npy"), p("a.jsonl"), 16).expect("create");
    for c in 0..10 {
        let r = c * 100..(c + 1) * 100;
        w.append(&m.slice_axis(Axis(0), r.clone().into()), &ids[r])
            .expect("append");
        w.checkpoint().expect("checkpoint");
    }
    assert_eq!(w.finish().expect("finish"), 1000);

    // Killed run: 5 chunks, then a torn row and a torn id line.
    let mut w = StoreWriter::create(p("b.npy"), p("b.jsonl"), 16).expect("create");
    for c in 0..5 {
        let r = c * 100..(c + 1) * 100;
        w.append(&m.slice_axis(Axis(0), r.clone().into()), &ids[r])
            .expect("append");
        w.checkpoint().expect("checkpoint");
    }
    // One more row fully written in the data file but its id only half-written.
    w.append(&m.slice_axis(Axis(0), (500..501).into()), &ids[500..501])
        .expect("append");
    w.checkpoint().expect("checkpoint");
    drop(w);
    let mut f = std::fs::OpenOptions::new()
        .append(true)
        .open(p("b.npy"))
        .expect("open");
    f.write_all(&[1, 2, 3, 4, 5, 6, 7]).expect("torn row");
    let mut f = std::fs::OpenOptions::new()
        .append(true)
        .open(p("b.jsonl"))
        .expect("open");
    f.write_all(br#"{"ip":"192.0."#).expect("torn id");

    let mut w = StoreWriter::resume(p("b.npy"), p("b.jsonl"), 16).expect("resume");
    let done = w.rows() as usize;
    assert_eq!(done, 501);
    for start in (done..1000).step_by(100) {
        let r = start..(start + 100).min(1000);
        w.append(&m.slice_axis(Axis(0), r.clone().into()), &ids[r])
            .expect("append");
        w.checkpoint().expect("checkpoint");
    }
    w.finish().expect("finish");
    assert_eq!(
        std::fs::read(p("a.npy")).expect("a"),
        std::fs::read(p("b.npy")).expect("b")
    );
    assert_eq!(
        std::fs::read(p("a.jsonl")).expect("a"),
        std::fs::read(p("b.jsonl")).expect("b")
    );

    // A resume with a different width is refused.
    assert!(matches!(
        StoreWriter::resume(p("b.npy"), p("b.jsonl"), 8),
        Err(embed_index::Error::Format { .. })
    ));

    // The store reads back, by row and by id, and ndarray-npy (a crate we did
    // not write) reads our .npy identically.
    let store = EmbeddingStore::open(p("a.npy"), p("a.jsonl")).expect("open");
    assert_eq!(store.load().expect("load"), m);
    let peer: Array2<f32> = ndarray_npy::read_npy(p("a.npy")).expect("ndarray-npy reads it");
    assert_eq!(peer, m);
    let row = store.row_by_id(&ids[42]).expect("row").expect("known id");
    assert_eq!(row, m.row(42).to_vec());
    assert_eq!(
        store
            .index_of(&serde_json::json!({"nope": 1}))
            .expect("lookup"),
        None
    );
}

#[test]
fn store_reports_mismatched_ids() {
    let (m, ids) = rows(10, 4);
    let dir = tempfile::tempdir().expect("tempdir");
    let (npy, idp) = (dir.path().join("e.npy"), dir.path().join("e.jsonl"));
    let mut w = StoreWriter::create(&npy, &idp, 4).expect("create");
    w.append(&m, &ids).expect("append");
    w.finish().expect("finish");
    std::fs::write(&idp, "{}\n{}\n").expect("overwrite ids");
    assert!(matches!(
        EmbeddingStore::open(&npy, &idp),
        Err(embed_index::Error::Format { .. })
    ));
    std::fs::write(&idp, "not json\n").expect("overwrite ids");
    let err = EmbeddingStore::open(&npy, &idp).expect_err("bad line");
    assert!(
        matches!(err, embed_index::Error::BadIdLine { line: 1, .. }),
        "{err}"
    );
}

#[test]
fn hnsw_recall_against_exact() {
    use embed_index::{HnswIndex, HnswParams, recall_at_k};
    let mut rng = StdRng::seed_from_u64(9);
    // Clustered data, like banner embeddings: 50 centres, unit-ish spread.
    let centres = Array2::from_shape_fn((50, 32), |_| gaussian(&mut rng) as f32 * 4.0);
    let data = Array2::from_shape_fn((1500, 32), |(i, j)| {
        centres[[i % 50, j]] + gaussian(&mut rng) as f32
    });
    let queries = data.slice_axis(Axis(0), (0..100).into()).to_owned();
    let exact = ExactIndex::new(data.clone())
        .search(&queries, 10)
        .expect("exact");
    let approx = HnswIndex::build(
        &data,
        &HnswParams::default()
            .ef_construction(100)
            .check()
            .expect("valid"),
    )
    .expect("build")
    .search(&queries, 10)
    .expect("search");
    let r = recall_at_k(&exact, &approx, 10);
    assert!(r >= 0.95, "recall@10 = {r}");
    assert!((recall_at_k(&exact, &exact, 10) - 1.0).abs() < f64::EPSILON);
    assert!(matches!(
        HnswParams::default().m(1).check(),
        Err(embed_index::Error::InvalidParam { name: "m", .. })
    ));
}
