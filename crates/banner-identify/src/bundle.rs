//! The bundle: one folder with everything needed to identify banners later, checked file by
//! file against its manifest when opened.

use std::collections::BTreeMap;
use std::io::{BufRead as _, BufReader, Read as _};
use std::path::{Component, Path, PathBuf};

use banner_parse::{BannerRecord, RecordKey, RecordWriter};
use density_cluster::PartitionedPrediction;
use embed_index::Pca;
use lcs_fingerprint::Fingerprint;
use serde::{Deserialize, Serialize};
use sha2::{Digest as _, Sha256};

use crate::error::{Error, Result};
use crate::labels::ClusteringLabels;

/// The `format` value of every bundle manifest.
pub const BUNDLE_FORMAT: &str = "bannerlm-bundle";

/// The bundle format version this build writes and the newest it reads.
///
/// ```
/// assert_eq!(banner_identify::BUNDLE_FORMAT_VERSION, 1);
/// ```
pub const BUNDLE_FORMAT_VERSION: u32 = 1;

/// File names inside a bundle (docs/FORMATS.md).
pub(crate) mod files {
    pub const MANIFEST: &str = "manifest.json";
    pub const MODEL: &str = "model";
    pub const MODEL_FILES: [&str; 3] = ["config.json", "model.safetensors", "tokenizer.json"];
    pub const PCA: &str = "pca.json";
    pub const PREDICTION: &str = "prediction.json";
    pub const CLUSTER_LABELS: &str = "cluster_labels.json";
    pub const FINGERPRINTS: &str = "fingerprints.jsonl";
    pub const EMBEDDINGS: &str = "embeddings.npy";
    pub const KEYS: &str = "keys.jsonl";
    pub const RECORDS: &str = "records.jsonl.gz";

    /// Every file a bundle must list in its manifest, as relative paths.
    pub fn required() -> Vec<String> {
        MODEL_FILES
            .iter()
            .map(|f| format!("{MODEL}/{f}"))
            .chain(
                [
                    PCA,
                    PREDICTION,
                    CLUSTER_LABELS,
                    FINGERPRINTS,
                    EMBEDDINGS,
                    KEYS,
                    RECORDS,
                ]
                .map(str::to_owned),
            )
            .collect()
    }
}

/// Longest manifest read.
const MAX_MANIFEST_BYTES: u64 = 64 << 20;

/// Size and SHA-256 of one bundle file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FileEntry {
    /// Size in bytes.
    pub bytes: u64,
    /// SHA-256 of the contents, lowercase hex.
    pub sha256: String,
}

/// `manifest.json`: what the bundle is, what it was built from, and every file with its size
/// and digest.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BundleManifest {
    /// Always [`BUNDLE_FORMAT`].
    pub format: String,
    /// [`BUNDLE_FORMAT_VERSION`] when written by this build.
    pub format_version: u32,
    /// The version of bannerlm that wrote the bundle.
    pub bannerlm_version: String,
    /// Name of the snapshot the bundle was built from.
    pub snapshot: String,
    /// Number of records (rows of the embeddings, points of the prediction data).
    pub records: usize,
    /// The cluster-selection epsilon of each clustering, in `prediction.json`'s order.
    pub epsilons: Vec<f64>,
    /// The headers the fingerprints were generated for.
    pub headers: Vec<String>,
    /// Every file of the bundle but the manifest, by path relative to the bundle folder.
    pub files: BTreeMap<String, FileEntry>,
}

/// An opened, verified bundle: the small parts loaded, the large ones (model, embeddings,
/// records) by path.
///
/// Opening checks the manifest's format and version, that every listed file has the listed
/// size and SHA-256, that the files every bundle has are listed, and that the parts agree
/// (as many keys as fitted points and records, one clustering and one label table per
/// epsilon, PCA output width = prediction input width). Every failure names the file.
#[derive(Debug)]
pub struct Bundle {
    dir: PathBuf,
    manifest: BundleManifest,
    keys: Vec<RecordKey>,
    fingerprints: Vec<Fingerprint>,
    prediction: PartitionedPrediction,
    pca: Pca,
    cluster_labels: Vec<ClusteringLabels>,
}

impl Bundle {
    /// Opens and verifies the bundle in `dir`.
    ///
    /// # Errors
    /// [`Error::FormatVersion`] for a newer format, [`Error::Format`] for another format or a
    /// missing or inconsistent part, [`Error::FileSize`] / [`Error::Digest`] for a truncated or
    /// edited file, [`Error::Io`], [`Error::Json`], [`Error::Index`], [`Error::Fingerprints`]
    /// when a file cannot be read or parsed: each with the file's path.
    pub fn open(dir: impl AsRef<Path>) -> Result<Self> {
        let dir = dir.as_ref().to_path_buf();
        let manifest_path = dir.join(files::MANIFEST);
        let manifest = read_manifest(&manifest_path)?;
        for (rel, entry) in &manifest.files {
            let path = dir.join(checked_relative(rel, &manifest_path)?);
            verify_file(&path, entry)?;
        }
        let required = files::required();
        if let Some(missing) = required.iter().find(|f| !manifest.files.contains_key(*f)) {
            return Err(Error::format(
                &manifest_path,
                format!("the manifest lists no {missing}, which every bundle has"),
            ));
        }
        let keys = read_keys(&dir.join(files::KEYS))?;
        let fingerprints = lcs_fingerprint::read_jsonl(dir.join(files::FINGERPRINTS))?;
        let prediction_path = dir.join(files::PREDICTION);
        let prediction: PartitionedPrediction = read_json(&prediction_path)?;
        let pca_path = dir.join(files::PCA);
        let pca = Pca::load(&pca_path).map_err(|source| Error::Index {
            path: pca_path.clone(),
            source,
        })?;
        let labels_path = dir.join(files::CLUSTER_LABELS);
        let cluster_labels: Vec<ClusteringLabels> = read_json(&labels_path)?;
        let n = manifest.records;
        let checks = [
            (keys.len() == n, dir.join(files::KEYS), "keys"),
            (
                prediction.n_points() == n,
                prediction_path.clone(),
                "fitted points",
            ),
        ];
        for (ok, path, what) in checks {
            if !ok {
                return Err(Error::format(
                    path,
                    format!("its number of {what} differs from the manifest's {n} records"),
                ));
            }
        }
        if prediction.n_clusterings() != manifest.epsilons.len() {
            return Err(Error::format(
                prediction_path,
                format!(
                    "{} clusterings for the manifest's {} epsilons",
                    prediction.n_clusterings(),
                    manifest.epsilons.len()
                ),
            ));
        }
        if cluster_labels.len() != manifest.epsilons.len() {
            return Err(Error::format(
                labels_path,
                format!(
                    "{} label tables for the manifest's {} epsilons",
                    cluster_labels.len(),
                    manifest.epsilons.len()
                ),
            ));
        }
        if pca.n_components() != prediction.dim() {
            return Err(Error::format(
                pca_path,
                format!(
                    "{} PCA components, but the prediction data has {} columns",
                    pca.n_components(),
                    prediction.dim()
                ),
            ));
        }
        Ok(Bundle {
            dir,
            manifest,
            keys,
            fingerprints,
            prediction,
            pca,
            cluster_labels,
        })
    }

    /// The bundle folder.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The manifest.
    pub fn manifest(&self) -> &BundleManifest {
        &self.manifest
    }

    /// The record keys, in row order (of the embeddings and of the prediction data's points).
    pub fn keys(&self) -> &[RecordKey] {
        &self.keys
    }

    /// The sanitized fingerprints (line order of `fingerprints.jsonl`).
    pub fn fingerprints(&self) -> &[Fingerprint] {
        &self.fingerprints
    }

    /// The prediction data of every clustering (one per epsilon).
    pub fn prediction(&self) -> &PartitionedPrediction {
        &self.prediction
    }

    /// The PCA from model embeddings to the clustered space.
    pub fn pca(&self) -> &Pca {
        &self.pca
    }

    /// The cluster labels of every clustering, in epsilon order.
    pub fn cluster_labels(&self) -> &[ClusteringLabels] {
        &self.cluster_labels
    }

    /// The fine-tuned model folder (Hugging Face layout) for
    /// [`BannerEmbedder::from_dir`](embed_index::BannerEmbedder::from_dir).
    pub fn model_dir(&self) -> PathBuf {
        self.dir.join(files::MODEL)
    }

    /// The full-dimension embeddings of the records (`.npy`), for
    /// [`EmbeddingStore::open`](embed_index::EmbeddingStore::open) with [`keys_path`](Self::keys_path).
    pub fn embeddings_path(&self) -> PathBuf {
        self.dir.join(files::EMBEDDINGS)
    }

    /// The record keys, one JSON line per row.
    pub fn keys_path(&self) -> PathBuf {
        self.dir.join(files::KEYS)
    }

    /// The records the bundle was built from (banner-parse JSONL, gzip), for
    /// [`RecordReader`](banner_parse::RecordReader).
    pub fn records_path(&self) -> PathBuf {
        self.dir.join(files::RECORDS)
    }
}

fn read_json<T: for<'de> Deserialize<'de>>(path: &Path) -> Result<T> {
    let bytes = std::fs::read(path).map_err(|e| Error::io(path, e))?;
    serde_json::from_slice(&bytes).map_err(|e| Error::json(path, e))
}

fn read_manifest(path: &Path) -> Result<BundleManifest> {
    let file = std::fs::File::open(path).map_err(|e| Error::io(path, e))?;
    let mut bytes = Vec::new();
    file.take(MAX_MANIFEST_BYTES)
        .read_to_end(&mut bytes)
        .map_err(|e| Error::io(path, e))?;
    // Format and version first, so that a newer layout is reported as such.
    let value: serde_json::Value =
        serde_json::from_slice(&bytes).map_err(|e| Error::json(path, e))?;
    if value.get("format").and_then(serde_json::Value::as_str) != Some(BUNDLE_FORMAT) {
        return Err(Error::format(
            path,
            format!("not a bannerlm bundle manifest (\"format\" is not {BUNDLE_FORMAT:?})"),
        ));
    }
    let version = value
        .get("format_version")
        .and_then(serde_json::Value::as_u64)
        .ok_or_else(|| Error::format(path, "no format_version"))?;
    let version = u32::try_from(version).unwrap_or(u32::MAX);
    if version > BUNDLE_FORMAT_VERSION || version == 0 {
        return Err(Error::FormatVersion {
            path: path.to_path_buf(),
            found: version,
            supported: BUNDLE_FORMAT_VERSION,
        });
    }
    serde_json::from_value(value).map_err(|e| Error::json(path, e))
}

/// A manifest path as a relative path of plain components (no `..`, no root).
fn checked_relative<'a>(rel: &'a str, manifest: &Path) -> Result<&'a Path> {
    let p = Path::new(rel);
    if rel.is_empty() || !p.components().all(|c| matches!(c, Component::Normal(_))) {
        return Err(Error::format(
            manifest,
            format!(
                "file name {} is not a plain relative path",
                bannerlm_base::escape_str(rel)
            ),
        ));
    }
    Ok(p)
}

/// Size and SHA-256 (hex) of a file, read in blocks.
pub(crate) fn file_digest(path: &Path) -> Result<FileEntry> {
    let mut f = std::fs::File::open(path).map_err(|e| Error::io(path, e))?;
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; 1 << 20];
    let mut bytes = 0u64;
    loop {
        let n = f.read(&mut buf).map_err(|e| Error::io(path, e))?;
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
        bytes += n as u64;
    }
    let sha256 = hasher.finalize().iter().fold(String::new(), |mut s, b| {
        use std::fmt::Write as _;
        let _ = write!(s, "{b:02x}");
        s
    });
    Ok(FileEntry { bytes, sha256 })
}

fn verify_file(path: &Path, entry: &FileEntry) -> Result<()> {
    let found = std::fs::metadata(path)
        .map_err(|e| Error::io(path, e))?
        .len();
    if found != entry.bytes {
        return Err(Error::FileSize {
            path: path.to_path_buf(),
            expected: entry.bytes,
            found,
        });
    }
    if file_digest(path)?.sha256 != entry.sha256 {
        return Err(Error::Digest {
            path: path.to_path_buf(),
        });
    }
    Ok(())
}

/// Reads a keys (ids) file: one JSON [`RecordKey`] per line.
pub(crate) fn read_keys(path: &Path) -> Result<Vec<RecordKey>> {
    let file = std::fs::File::open(path).map_err(|e| Error::io(path, e))?;
    let mut keys = Vec::new();
    for (i, line) in BufReader::new(file).split(b'\n').enumerate() {
        let line = line.map_err(|e| Error::io(path, e))?;
        if line.iter().all(u8::is_ascii_whitespace) {
            continue;
        }
        let key: RecordKey = serde_json::from_slice(&line)
            .map_err(|e| Error::format(path, format!("line {}: not a record key: {e}", i + 1)))?;
        keys.push(key);
    }
    Ok(keys)
}

/// Builds a bundle folder from a run's parts; [`write`](Self::write) checks that they agree
/// and writes the folder atomically as a whole.
///
/// Every part is required except the fingerprint headers (default: the headers of the
/// fingerprints, in order of first appearance) and the snapshot name (default empty).
#[derive(Debug, Default, Clone)]
#[must_use]
pub struct BundleWriter<'a> {
    snapshot: String,
    model_dir: Option<PathBuf>,
    pca: Option<&'a Pca>,
    prediction: Option<&'a PartitionedPrediction>,
    epsilons: Option<Vec<f64>>,
    headers: Option<Vec<String>>,
    fingerprints: Option<&'a [Fingerprint]>,
    cluster_labels: Option<Vec<ClusteringLabels>>,
    embeddings: Option<(PathBuf, PathBuf)>,
    records: Option<&'a [BannerRecord]>,
}

impl<'a> BundleWriter<'a> {
    /// An empty writer.
    pub fn new() -> Self {
        Self::default()
    }

    /// Name of the snapshot the bundle is built from.
    pub fn snapshot(mut self, name: impl Into<String>) -> Self {
        self.snapshot = name.into();
        self
    }

    /// The fine-tuned model folder (`config.json`, `model.safetensors`, `tokenizer.json`).
    pub fn model_dir(mut self, path: impl Into<PathBuf>) -> Self {
        self.model_dir = Some(path.into());
        self
    }

    /// The PCA of the embeddings.
    pub fn pca(mut self, pca: &'a Pca) -> Self {
        self.pca = Some(pca);
        self
    }

    /// The prediction data, one clustering per epsilon.
    pub fn prediction(mut self, prediction: &'a PartitionedPrediction) -> Self {
        self.prediction = Some(prediction);
        self
    }

    /// The epsilon of each clustering, in the prediction data's order.
    pub fn epsilons(mut self, epsilons: &[f64]) -> Self {
        self.epsilons = Some(epsilons.to_vec());
        self
    }

    /// The headers the fingerprints were generated for.
    pub fn headers(mut self, headers: &[String]) -> Self {
        self.headers = Some(headers.to_vec());
        self
    }

    /// The sanitized fingerprints.
    pub fn fingerprints(mut self, fingerprints: &'a [Fingerprint]) -> Self {
        self.fingerprints = Some(fingerprints);
        self
    }

    /// The label tables, one per clustering ([`label_clusters`](crate::label_clusters)).
    /// Their `epsilon` is set from [`epsilons`](Self::epsilons) when written.
    pub fn cluster_labels(mut self, labels: Vec<ClusteringLabels>) -> Self {
        self.cluster_labels = Some(labels);
        self
    }

    /// The embedding store (`.npy` + ids JSONL) of the records, rows in record order.
    pub fn embeddings(mut self, npy: impl Into<PathBuf>, ids: impl Into<PathBuf>) -> Self {
        self.embeddings = Some((npy.into(), ids.into()));
        self
    }

    /// The records, in row order.
    pub fn records(mut self, records: &'a [BannerRecord]) -> Self {
        self.records = Some(records);
        self
    }

    /// Writes the bundle into `dir`: into a temporary sibling folder first, which then
    /// replaces `dir` (a previous bundle there is moved aside and removed after the rename).
    ///
    /// # Errors
    /// [`Error::Invalid`] for a missing part or parts that disagree (row counts, record keys
    /// of the embedding store against the records, clusterings against epsilons and label
    /// tables); I/O and format errors with the file's path.
    pub fn write(self, dir: impl AsRef<Path>) -> Result<BundleManifest> {
        let dir = dir.as_ref();
        let missing = |what: &str| Error::Invalid(format!("BundleWriter: no {what} given"));
        let model_dir = self.model_dir.ok_or_else(|| missing("model_dir"))?;
        let pca = self.pca.ok_or_else(|| missing("pca"))?;
        let prediction = self.prediction.ok_or_else(|| missing("prediction"))?;
        let epsilons = self.epsilons.ok_or_else(|| missing("epsilons"))?;
        let fingerprints = self.fingerprints.ok_or_else(|| missing("fingerprints"))?;
        let mut labels = self
            .cluster_labels
            .ok_or_else(|| missing("cluster_labels"))?;
        let (npy, ids) = self.embeddings.ok_or_else(|| missing("embeddings"))?;
        let records = self.records.ok_or_else(|| missing("records"))?;
        let headers = self.headers.unwrap_or_else(|| {
            let mut h: Vec<String> = Vec::new();
            for f in fingerprints {
                if !h.contains(&f.header) {
                    h.push(f.header.clone());
                }
            }
            h
        });
        let n = records.len();
        let invalid = |m: String| Err(Error::Invalid(m));
        if prediction.n_points() != n {
            return invalid(format!(
                "{} fitted points for {n} records",
                prediction.n_points()
            ));
        }
        if prediction.n_clusterings() != epsilons.len() || labels.len() != epsilons.len() {
            return invalid(format!(
                "{} clusterings and {} label tables for {} epsilons",
                prediction.n_clusterings(),
                labels.len(),
                epsilons.len()
            ));
        }
        if let Some(e) = epsilons.iter().find(|e| !(e.is_finite() && **e >= 0.0)) {
            return invalid(format!("epsilon {e} is not a finite value >= 0"));
        }
        if pca.n_components() != prediction.dim() {
            return invalid(format!(
                "{} PCA components for prediction data of {} columns",
                pca.n_components(),
                prediction.dim()
            ));
        }
        let keys = read_keys(&ids)?;
        if keys.len() != n {
            return Err(Error::format(
                &ids,
                format!("{} keys for {n} records", keys.len()),
            ));
        }
        if let Some(i) = (0..n).find(|&i| keys[i] != records[i].key()) {
            return Err(Error::format(
                &ids,
                format!("row {i} is another record than the records' row {i}"),
            ));
        }
        for (l, &e) in labels.iter_mut().zip(&epsilons) {
            l.epsilon = e;
        }

        let parent = match dir.parent() {
            Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
            _ => PathBuf::from("."),
        };
        std::fs::create_dir_all(&parent).map_err(|e| Error::io(&parent, e))?;
        let tmp = tempfile::Builder::new()
            .prefix(".bundle-tmp-")
            .tempdir_in(&parent)
            .map_err(|e| Error::io(&parent, e))?;
        let t = tmp.path();
        let model_out = t.join(files::MODEL);
        std::fs::create_dir_all(&model_out).map_err(|e| Error::io(&model_out, e))?;
        for f in files::MODEL_FILES {
            copy(&model_dir.join(f), &model_out.join(f))?;
        }
        let pca_path = t.join(files::PCA);
        pca.save(&pca_path).map_err(|source| Error::Index {
            path: pca_path,
            source,
        })?;
        write_json(&t.join(files::PREDICTION), prediction)?;
        write_json(&t.join(files::CLUSTER_LABELS), &labels)?;
        let fp_path = t.join(files::FINGERPRINTS);
        let mut buf = Vec::new();
        lcs_fingerprint::write_jsonl(fingerprints, &mut buf)?;
        write_file(&fp_path, &buf)?;
        copy(&npy, &t.join(files::EMBEDDINGS))?;
        copy(&ids, &t.join(files::KEYS))?;
        let mut w = RecordWriter::create(t.join(files::RECORDS))?;
        for r in records {
            w.write(r)?;
        }
        w.finish()?;

        let mut listed = BTreeMap::new();
        for rel in files::required() {
            listed.insert(rel.clone(), file_digest(&t.join(&rel))?);
        }
        let manifest = BundleManifest {
            format: BUNDLE_FORMAT.to_owned(),
            format_version: BUNDLE_FORMAT_VERSION,
            bannerlm_version: env!("CARGO_PKG_VERSION").to_owned(),
            snapshot: self.snapshot,
            records: n,
            epsilons,
            headers,
            files: listed,
        };
        write_json(&t.join(files::MANIFEST), &manifest)?;

        // Swap into place: the old bundle (if any) aside, the new one in, the old one removed.
        let tmp_path = tmp.keep();
        let old = if dir.exists() {
            let aside = parent.join(format!(
                ".bundle-old-{}-{}",
                std::process::id(),
                dir.file_name()
                    .map_or_else(String::new, |n| n.to_string_lossy().into_owned())
            ));
            std::fs::rename(dir, &aside).map_err(|e| Error::io(dir, e))?;
            Some(aside)
        } else {
            None
        };
        std::fs::rename(&tmp_path, dir).map_err(|e| Error::io(dir, e))?;
        if let Some(old) = old {
            std::fs::remove_dir_all(&old).map_err(|e| Error::io(&old, e))?;
        }
        if let Ok(d) = std::fs::File::open(&parent) {
            let _ = d.sync_all();
        }
        Ok(manifest)
    }
}

fn copy(from: &Path, to: &Path) -> Result<()> {
    std::fs::copy(from, to).map_err(|e| Error::io(from, e))?;
    let f = std::fs::File::open(to).map_err(|e| Error::io(to, e))?;
    f.sync_all().map_err(|e| Error::io(to, e))
}

/// One file of the bundle being written, through the project's one atomic writer.
fn write_file(path: &Path, bytes: &[u8]) -> Result<()> {
    bannerlm_base::write_atomic(path, bytes).map_err(|e| Error::io(path, e))
}

fn write_json<T: Serialize + ?Sized>(path: &Path, value: &T) -> Result<()> {
    let mut bytes = serde_json::to_vec(value).map_err(|e| Error::json(path, e))?;
    bytes.push(b'\n');
    write_file(path, &bytes)
}
