//! The incremental monthly run: apply a bundle (`<out>/bundle/` of an earlier run) to a new
//! snapshot without training anything, and report what changed since the bundle's snapshot.
//!
//! ```text
//! new snapshot ─► embed (bundle's model) ─► identify (PCA, cluster prediction, regex, Recog)
//!                                                   │
//!                          report ◄─ changes (vs the bundle's embeddings and clusters)
//! ```
//!
//! Outputs (in the output folder, each stage with its marker in `stages/` as in the full run,
//! so `resume` skips what is done and continues an interrupted embedding):
//! - `embed/embeddings.npy` + `embed/ids.jsonl`: the new snapshot's embeddings (the resumable
//!   store of [`BannerEmbedder::embed_records`]);
//! - `identify/identifications.jsonl`: one line per record, `{"key": record key,
//!   "identification": Identification}` (fingerprints, Recog matches, the cluster per epsilon
//!   with its label; no nearest known banners, which the `identify` example gives);
//!   `identify/labels.json`: the predicted cluster of every record per epsilon;
//! - `monthly/changes.json`: [`MonthlyChanges`];
//! - `report/index.html` (+ `report/distances.svg`): tables, the distance histogram and the top
//!   changes as banner diffs.

use std::collections::HashMap;
use std::path::PathBuf;

use banner_identify::{ClusterAssignment, Identifier, IdentifyOptions};
use banner_parse::{BannerRecord, ReadOptions, RecordKey, RecordReader};
use embed_index::{
    BannerEmbedder, ChangeCounts, ClusterGrowth, EmbedParams, EmbeddingStore, PrecisionRecall,
    best_threshold, cluster_growth, normalized_edit_distance, precision_recall, snapshot_changes,
    top_changes,
};
use serde::{Deserialize, Serialize};
use serde_json::json;

use crate::simulated::Split;

use super::config::{Input, PipelineConfig, PipelineOptions};
use super::error::{Error, Result};
use super::source::Source;
use super::stage::{
    RunKind, StageRecord, StageState, Tracker, claim_out_dir, read_json, write_atomic, write_json,
    write_with,
};
use super::{Stage, file_stamp};

/// Retrain when, at the smallest epsilon of the bundle (the finest clustering), the share of
/// the new snapshot's records that fall outside every cluster exceeds the bundle's own outlier
/// share by more than this (0.1: ten percentage points).
///
/// Why relative to the bundle's own share: HDBSCAN leaves a share of every fitted snapshot
/// as noise (14 to 21% at epsilon 0.01 on the default simulated scan), and approximate
/// prediction of a snapshot like the fitted one gives about that share again. Records beyond
/// it are banners the clusters, and so the fingerprints and cluster labels, do not cover; when
/// they reach a tenth of the snapshot, the clusters no longer describe the scan well enough to
/// label it, and a new run of the pipeline (which also relearns the fingerprints) pays off.
pub const RETRAIN_DRIFT_SHARE: f64 = 0.1;

/// Largest changes shown as banner diffs by default.
pub const DEFAULT_TOP_CHANGES: usize = 20;

/// The stage folder of the changes (`monthly/`).
const CHANGES_JSON: &str = "monthly/changes.json";
const IDENTIFICATIONS: &str = "identify/identifications.jsonl";
const LABELS: &str = "identify/labels.json";
const EMBEDDINGS: &str = "embed/embeddings.npy";
const IDS: &str = "embed/ids.jsonl";
const REPORT: &str = "report/index.html";
const DISTANCES_SVG: &str = "report/distances.svg";
/// Rows per checkpoint of the embedding store (as the full run).
const EMBED_CHUNK_ROWS: usize = 4_096;

/// A monthly run: a bundle, the new snapshot's files, the output folder. [`run`](Self::run)
/// executes it.
///
/// ```no_run
/// use bannerlm::pipeline::{MonthlyRun, PipelineOptions};
///
/// let run = MonthlyRun::new("runs/jan/bundle", ["scans/feb/*.jsonl.gz"], PipelineOptions::new("runs/feb"));
/// let summary = run.run()?;
/// println!("{} changed, retrain: {}", summary.changes.counts.changed, summary.changes.drift.retrain);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone)]
pub struct MonthlyRun {
    bundle: PathBuf,
    input: Vec<String>,
    options: PipelineOptions,
    threshold: f32,
    top: usize,
    batch_size: usize,
    truth: Option<Vec<PathBuf>>,
}

impl MonthlyRun {
    /// A run of the bundle folder `bundle` on the records of the files matching `input` (glob
    /// patterns; all of them one snapshot: when the records carry several snapshot names, the
    /// newest, by name, is used and a line says so), writing into `options.out_dir`.
    pub fn new<S: Into<String>>(
        bundle: impl Into<PathBuf>,
        input: impl IntoIterator<Item = S>,
        options: PipelineOptions,
    ) -> Self {
        MonthlyRun {
            bundle: bundle.into(),
            input: input.into_iter().map(Into::into).collect(),
            options,
            threshold: embed_index::CHANGE_THRESHOLD,
            top: DEFAULT_TOP_CHANGES,
            batch_size: 64,
            truth: None,
        }
    }

    /// Embedding distance above which a service counts as changed (default
    /// [`embed_index::CHANGE_THRESHOLD`], the paper's 0.1).
    #[must_use]
    pub fn threshold(mut self, threshold: f32) -> Self {
        self.threshold = threshold;
        self
    }

    /// Largest changes shown as banner diffs (default [`DEFAULT_TOP_CHANGES`]).
    #[must_use]
    pub fn top(mut self, top: usize) -> Self {
        self.top = top;
        self
    }

    /// Banners per forward pass when embedding (default 64).
    #[must_use]
    pub fn batch_size(mut self, batch_size: usize) -> Self {
        self.batch_size = batch_size;
        self
    }

    /// scan-sim truth files of the new snapshot, to score the change detection. Default: the
    /// `truth-<snapshot>.jsonl.gz` next to the input files, when there is one (scan-sim's
    /// layout). Its change kinds are relative to the previous simulated snapshot: the score is
    /// meaningful when the bundle was built from that one.
    #[must_use]
    pub fn truth(mut self, files: Vec<PathBuf>) -> Self {
        self.truth = Some(files);
        self
    }

    /// Embeds, identifies and compares (skipping the stages that are up to date with
    /// `resume`), then writes the report.
    ///
    /// # Errors
    /// [`Error::InvalidConfig`] for a threshold that is not finite and positive or a batch size
    /// of 0; [`Error::NoInput`] when no file matches or they hold no record; the bundle's and
    /// each stage's errors ([`Error::Stage`], naming it); [`Error::ForeignOutput`] as for a
    /// full run; I/O errors with the path.
    pub fn run(&self) -> Result<MonthlySummary> {
        if !(self.threshold.is_finite() && self.threshold > 0.0) {
            return Err(Error::InvalidConfig(format!(
                "the change threshold must be finite and positive, not {}",
                self.threshold
            )));
        }
        if self.batch_size == 0 || self.batch_size > super::MAX_BATCH {
            return Err(Error::InvalidConfig(format!(
                "the batch size must be 1 to {}",
                super::MAX_BATCH
            )));
        }
        let out = self.options.out_dir.clone();
        let recog_dir = self.options.effective_recog_dir()?;
        let mut identify_options = IdentifyOptions::default().model(false);
        if let Some(dir) = &recog_dir {
            identify_options = identify_options.recog_dir(dir);
        }
        let identifier =
            Identifier::open(&self.bundle, identify_options).map_err(Error::stage("bundle"))?;
        claim_out_dir(&out, RunKind::Monthly)?;
        let mut tracker = Tracker::new(out.clone(), self.options.resume, self.options.progress);
        tracker.plan = &Stage::MONTHLY;

        // The new snapshot: the newest snapshot name among the records.
        let config = PipelineConfig {
            input: Input::files(self.input.clone()),
            ..PipelineConfig::default()
        };
        let source = Source::open(&config)?;
        let names = source.snapshot_names();
        let newest = names.len().saturating_sub(1);
        let snapshot = names.last().cloned().unwrap_or_default();
        if names.len() > 1 {
            tracker.line(&format!(
                "the input holds {} snapshots ({}); using the newest, {}",
                names.len(),
                bannerlm_base::escape_str(&names.join(", ")),
                bannerlm_base::escape_str(&snapshot)
            ));
        }
        let records: Vec<BannerRecord> = source
            .records(newest, Split::All)?
            .into_iter()
            .map(|(r, _)| r)
            .collect();
        let files: Vec<serde_json::Value> =
            source.input_files().iter().map(|p| file_stamp(p)).collect();
        drop(source);
        let bundle_stamp = file_stamp(&self.bundle.join("manifest.json"));
        let mut stages = Vec::new();
        let plan: [(Stage, serde_json::Value); 4] = [
            (
                Stage::Embed,
                json!({"bundle": bundle_stamp, "files": files, "snapshot": snapshot,
                       "batch_size": self.batch_size}),
            ),
            (
                Stage::Identify,
                json!({"recog_dir": recog_dir.as_ref().map(|d| file_stamp(d))}),
            ),
            (
                Stage::Changes,
                json!({"threshold": self.threshold, "top": self.top,
                       "truth": self.truth_files(&snapshot).iter().map(|p| file_stamp(p)).collect::<Vec<_>>()}),
            ),
            (Stage::Report, json!({})),
        ];
        for (stage, params) in plan {
            let running = match tracker.skip_or_start(stage, params)? {
                StageState::Done(done) => {
                    stages.push(done);
                    continue;
                }
                StageState::Run(running) => running,
            };
            let (outputs, summary) = match stage {
                Stage::Embed => self.embed(&tracker, &identifier, &records)?,
                Stage::Identify => identify(&tracker, &identifier, &records)?,
                Stage::Changes => self.changes(&tracker, &identifier, &records, &snapshot)?,
                _ => report(&tracker, &stages)?,
            };
            stages.push(tracker.finish(running, outputs, summary)?);
        }
        let changes: MonthlyChanges = read_json(&out.join(CHANGES_JSON))?;
        tracker.line(&format!(
            "{} records of {}: {} in both snapshots ({} changed), {} appeared, {} vanished; drift {:.1}% at epsilon {}{}",
            changes.counts.after,
            bannerlm_base::escape_str(&changes.snapshot),
            changes.counts.both,
            changes.counts.changed,
            changes.counts.appeared,
            changes.counts.vanished,
            100.0 * changes.drift.drift_share,
            changes.drift.epsilon,
            if changes.drift.retrain { "; retraining recommended" } else { "" }
        ));
        Ok(MonthlySummary {
            out_dir: out.clone(),
            report: out.join(REPORT),
            identifications: out.join(IDENTIFICATIONS),
            changes_json: out.join(CHANGES_JSON),
            stages,
            changes,
        })
    }

    /// The truth files in effect for `snapshot`.
    fn truth_files(&self, snapshot: &str) -> Vec<PathBuf> {
        if let Some(t) = &self.truth {
            return t.clone();
        }
        let mut dirs: Vec<PathBuf> = Vec::new();
        for pattern in &self.input {
            for p in glob::glob(pattern).into_iter().flatten().flatten() {
                if let Some(d) = p.parent()
                    && !dirs.iter().any(|x| x == d)
                {
                    dirs.push(d.to_path_buf());
                }
            }
        }
        dirs.into_iter()
            .map(|d| {
                d.join(format!(
                    "truth-{}.jsonl.gz",
                    bannerlm_base::safe_file_stem(snapshot)
                ))
            })
            .filter(|p| p.is_file())
            .collect()
    }

    /// Embeds the new snapshot with the bundle's model into `embed/` (resumable store).
    fn embed(
        &self,
        tracker: &Tracker,
        identifier: &Identifier,
        records: &[BannerRecord],
    ) -> Result<(Vec<String>, serde_json::Value)> {
        let device = roberta_model::default_device().map_err(Error::stage("device"))?;
        let embedder = BannerEmbedder::from_dir(identifier.bundle().model_dir(), &device)
            .map_err(Error::stage("embed"))?;
        let params = EmbedParams {
            batch_size: self.batch_size,
            chunk_rows: EMBED_CHUNK_ROWS,
            progress: tracker.bars(),
        };
        let summary = embedder
            .embed_records(
                records.iter(),
                &tracker.out.join(EMBEDDINGS),
                &tracker.out.join(IDS),
                &params,
            )
            .map_err(Error::stage("embed"))?;
        Ok((
            vec![EMBEDDINGS.into(), IDS.into()],
            json!({"rows": summary.rows, "dim": embedder.dim()}),
        ))
    }

    /// Compares the new snapshot with the bundle's: `monthly/changes.json`.
    fn changes(
        &self,
        tracker: &Tracker,
        identifier: &Identifier,
        records: &[BannerRecord],
        snapshot: &str,
    ) -> Result<(Vec<String>, serde_json::Value)> {
        let err = Error::stage("changes");
        let bundle = identifier.bundle();
        let before = EmbeddingStore::open(bundle.embeddings_path(), bundle.keys_path())
            .map_err(Error::stage("changes"))?;
        let after = EmbeddingStore::open(tracker.out.join(EMBEDDINGS), tracker.out.join(IDS))
            .map_err(Error::stage("changes"))?;
        let changes = snapshot_changes(&before, &after, self.threshold).map_err(err)?;

        // Clusters: the bundle's fitted labels against the predicted ones.
        let predicted: Vec<Vec<Option<usize>>> = read_json(&tracker.out.join(LABELS))?;
        let prediction = bundle.prediction();
        let mut clusters = Vec::new();
        for (c, sel) in prediction.selections().iter().enumerate() {
            let fitted = prediction.fitted_labels(c).unwrap_or_default();
            let now = predicted.get(c).map_or(&[][..], Vec::as_slice);
            clusters.push(cluster_growth(sel.epsilon, &fitted, now));
        }
        let drift = Drift::of(&clusters);

        // Banners of the services in both: the bundle's records and the new ones, by key.
        let bar = tracker.bar(before.len() as u64, "old banners");
        let mut old: HashMap<RecordKey, Vec<u8>> = HashMap::new();
        let reader = RecordReader::open(bundle.records_path(), ReadOptions::default())
            .map_err(Error::stage("changes"))?;
        for rec in reader {
            let rec = rec.map_err(Error::stage("changes"))?;
            bar.inc(1);
            old.insert(rec.key(), rec.banner);
        }
        bar.finish_and_clear();
        let new: HashMap<RecordKey, &[u8]> = records
            .iter()
            .map(|r| (r.key(), r.banner.as_slice()))
            .collect();
        let key = |store: &EmbeddingStore, row: usize| -> Option<RecordKey> {
            serde_json::from_str(store.id(row)?).ok()
        };
        let banners = |c: &embed_index::HostChange| -> Option<(&[u8], &[u8])> {
            let a = old.get(&key(&before, c.before)?)?;
            let b = new.get(&key(&after, c.after)?)?;
            Some((a.as_slice(), *b))
        };
        let top: Vec<TopChange> = top_changes(&changes.both, self.top)
            .iter()
            .map(|c| {
                let (a, b) = banners(c).unwrap_or((&[], &[]));
                TopChange {
                    key: key(&after, c.after),
                    distance: c.distance,
                    edit_distance: normalized_edit_distance(a, b),
                    before: String::from_utf8_lossy(a).into_owned(),
                    after: String::from_utf8_lossy(b).into_owned(),
                }
            })
            .collect();

        // On scan-sim: precision and recall of "changed" against the truth.
        let truth_files = self.truth_files(snapshot);
        let truth = if truth_files.is_empty() {
            None
        } else {
            let mut kinds: HashMap<RecordKey, scan_sim::ChangeKind> = HashMap::new();
            for path in &truth_files {
                for t in scan_sim::read_truth(path).map_err(Error::stage("changes"))? {
                    let t = t.map_err(Error::stage("changes"))?;
                    kinds.insert(
                        RecordKey {
                            ip: t.ip,
                            port: t.port,
                            snapshot: t.snapshot,
                            protocol: t.protocol,
                        },
                        t.change,
                    );
                }
            }
            let (mut emb, mut ed, mut positive) = (vec![], vec![], vec![]);
            let bar = tracker.bar(changes.both.len() as u64, "edit distance");
            for c in &changes.both {
                bar.inc(1);
                let Some(k) = key(&after, c.after) else {
                    continue;
                };
                let label = match kinds.get(&k) {
                    Some(
                        scan_sim::ChangeKind::Config
                        | scan_sim::ChangeKind::Version
                        | scan_sim::ChangeKind::Device,
                    ) => true,
                    Some(scan_sim::ChangeKind::None | scan_sim::ChangeKind::Reorder) => false,
                    _ => continue,
                };
                let Some((a, b)) = banners(c) else { continue };
                emb.push(f64::from(c.distance));
                ed.push(normalized_edit_distance(a, b));
                positive.push(label);
            }
            bar.finish_and_clear();
            Some(TruthScores {
                files: truth_files
                    .iter()
                    .map(|p| p.display().to_string())
                    .collect(),
                services_scored: emb.len(),
                changed_in_truth: positive.iter().filter(|p| **p).count(),
                embedding_at_threshold: precision_recall(
                    &emb,
                    &positive,
                    f64::from(self.threshold),
                ),
                embedding_best_f1: best_threshold(&emb, &positive),
                edit_distance_best_f1: best_threshold(&ed, &positive),
            })
        };

        let result = MonthlyChanges {
            bundle: self.bundle.display().to_string(),
            bundle_snapshot: bundle.manifest().snapshot.clone(),
            snapshot: snapshot.to_owned(),
            threshold: self.threshold,
            counts: changes.counts,
            changed_share: changes.changed_share(),
            distances: changes.distances(),
            clusters,
            drift,
            top,
            truth,
        };
        write_json(&tracker.out.join(CHANGES_JSON), &result)?;
        Ok((
            vec![CHANGES_JSON.into()],
            json!({"counts": result.counts, "drift_share": result.drift.drift_share,
                   "retrain": result.drift.retrain}),
        ))
    }
}

/// Identifies every record (regex and Recog by the [`Identifier`], the clusters from the
/// bundle's PCA and prediction data applied to the stored embeddings).
fn identify(
    tracker: &Tracker,
    identifier: &Identifier,
    records: &[BannerRecord],
) -> Result<(Vec<String>, serde_json::Value)> {
    let bundle = identifier.bundle();
    let store = EmbeddingStore::open(tracker.out.join(EMBEDDINGS), tracker.out.join(IDS))
        .map_err(Error::stage("identify"))?;
    if store.len() != records.len() {
        return Err(Error::NoInput(format!(
            "{} holds {} rows for {} records",
            tracker.out.join(EMBEDDINGS).display(),
            store.len(),
            records.len()
        )));
    }
    let x = store.load().map_err(Error::stage("identify"))?;
    let reduced = bundle
        .pca()
        .transform(&x)
        .map_err(Error::stage("identify"))?;
    drop(x);
    // Each record among its own protocol's clusters.
    let families: Vec<String> = records.iter().map(BannerRecord::protocol_family).collect();
    let groups: Vec<Option<&str>> = families.iter().map(|f| Some(f.as_str())).collect();
    let predictions = bundle
        .prediction()
        .predict(&reduced, &groups)
        .map_err(Error::stage("identify"))?;
    let selections = bundle.prediction().selections();
    let labels = bundle.cluster_labels();
    let bar = tracker.bar(records.len() as u64, "identify");
    let mut identified = 0usize;
    write_with(&tracker.out.join(IDENTIFICATIONS), |w| {
        for (i, chunk) in records.chunks(256).enumerate() {
            let given: Vec<(&[u8], Option<&str>)> = chunk
                .iter()
                .zip(&families[i * 256..])
                .map(|(r, f)| (r.banner.as_slice(), Some(f.as_str())))
                .collect();
            let ids = identifier
                .identify_batch_in(&given)
                .map_err(Error::stage("identify"))?;
            for (j, (rec, mut id)) in chunk.iter().zip(ids).enumerate() {
                let row = i * 256 + j;
                id.clusters = selections
                    .iter()
                    .enumerate()
                    .map(|(c, sel)| {
                        let p = predictions.get(c).and_then(|v| v.get(row));
                        let cluster = p.and_then(|p| p.label);
                        ClusterAssignment {
                            epsilon: sel.epsilon,
                            cluster,
                            probability: p.map_or(0.0, |p| p.probability),
                            outlier: cluster.is_none(),
                            label: cluster.and_then(|k| {
                                labels
                                    .get(c)
                                    .and_then(|l| l.labels.get(&k))
                                    .map(|l| l.label.clone())
                            }),
                        }
                    })
                    .collect();
                if !id.fingerprints.is_empty() || !id.recog.is_empty() {
                    identified += 1;
                }
                let line = json!({"key": rec.key(), "identification": id});
                serde_json::to_writer(&mut *w, &line)
                    .map_err(|e| Error::json(IDENTIFICATIONS, e))?;
                std::io::Write::write_all(w, b"\n").map_err(|e| Error::io(IDENTIFICATIONS, e))?;
            }
            bar.inc(chunk.len() as u64);
        }
        Ok(())
    })?;
    bar.finish_and_clear();
    let labels_now: Vec<Vec<Option<usize>>> = predictions
        .iter()
        .map(|p| p.iter().map(|p| p.label).collect())
        .collect();
    write_json(&tracker.out.join(LABELS), &labels_now)?;
    Ok((
        vec![IDENTIFICATIONS.into(), LABELS.into()],
        json!({"records": records.len(), "matched_a_fingerprint_or_recog": identified}),
    ))
}

/// The report stage: `report/index.html` and the distance histogram.
fn report(tracker: &Tracker, stages: &[StageRecord]) -> Result<(Vec<String>, serde_json::Value)> {
    let changes: MonthlyChanges = read_json(&tracker.out.join(CHANGES_JSON))?;
    let (unchanged, changed): (Vec<f32>, Vec<f32>) = {
        let t = changes.threshold;
        let (a, b): (Vec<&f32>, Vec<&f32>) = changes.distances.iter().partition(|d| **d <= t);
        (
            a.into_iter().copied().collect(),
            b.into_iter().copied().collect(),
        )
    };
    let svg = embed_index::HistogramPlot::default()
        .title("Embedding distance of the services in both snapshots")
        .labels(
            format!("unchanged (distance <= {})", changes.threshold),
            format!("changed (distance > {})", changes.threshold),
        )
        .svg(&unchanged, &changed)
        .map_err(Error::stage("report"))?;
    write_atomic(&tracker.out.join(DISTANCES_SVG), svg.as_bytes())?;
    let html = super::report::render_monthly(&changes, stages, &svg);
    write_atomic(&tracker.out.join(REPORT), html.as_bytes())?;
    Ok((
        vec![REPORT.into(), DISTANCES_SVG.into()],
        json!({"bytes": html.len()}),
    ))
}

/// What the monthly run found (`monthly/changes.json`).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[non_exhaustive]
pub struct MonthlyChanges {
    /// The bundle folder.
    pub bundle: String,
    /// The snapshot the bundle was built from.
    pub bundle_snapshot: String,
    /// The new snapshot.
    pub snapshot: String,
    /// Embedding distance above which a service counts as changed.
    pub threshold: f32,
    /// Services in both, changed, appeared, vanished ([`ChangeCounts`]).
    pub counts: ChangeCounts,
    /// Share of the services in both that changed.
    pub changed_share: f64,
    /// The embedding distance of every service in both (for the histogram).
    pub distances: Vec<f32>,
    /// Per epsilon, each cluster's members before and after, and the outlier shares.
    pub clusters: Vec<ClusterGrowth>,
    /// The drift at the finest clustering and the retrain recommendation.
    pub drift: Drift,
    /// The largest changes with both banners.
    pub top: Vec<TopChange>,
    /// Scores against scan-sim's truth, when truth files were found.
    pub truth: Option<TruthScores>,
}

/// The drift and the retrain recommendation ([`RETRAIN_DRIFT_SHARE`]).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Drift {
    /// The epsilon judged: the smallest (the finest clustering).
    pub epsilon: f64,
    /// Share of the new records outside every cluster at that epsilon.
    pub drift_share: f64,
    /// The bundle's own outlier share at that epsilon.
    pub bundle_outlier_share: f64,
    /// [`RETRAIN_DRIFT_SHARE`].
    pub retrain_threshold: f64,
    /// Whether `drift_share - bundle_outlier_share > retrain_threshold`.
    pub retrain: bool,
    /// The recommendation in words.
    pub recommendation: String,
}

impl Drift {
    fn of(clusters: &[ClusterGrowth]) -> Drift {
        let finest = clusters
            .iter()
            .min_by(|a, b| a.epsilon.total_cmp(&b.epsilon));
        let (epsilon, drift_share, bundle_outlier_share) = finest.map_or((0.0, 0.0, 0.0), |g| {
            (g.epsilon, g.drift_share, g.outlier_share_before)
        });
        let excess = drift_share - bundle_outlier_share;
        let retrain = excess > RETRAIN_DRIFT_SHARE;
        let recommendation = if retrain {
            format!(
                "Retrain: {:.1}% of the new records fall outside every cluster at epsilon {epsilon}, {:.1} points more than the bundle's own {:.1}% (threshold {:.0} points). Run the full pipeline on the new snapshot.",
                100.0 * drift_share,
                100.0 * excess,
                100.0 * bundle_outlier_share,
                100.0 * RETRAIN_DRIFT_SHARE
            )
        } else {
            format!(
                "No retraining needed: {:.1}% of the new records fall outside every cluster at epsilon {epsilon}, against the bundle's own {:.1}% (retrain beyond {:.0} points more).",
                100.0 * drift_share,
                100.0 * bundle_outlier_share,
                100.0 * RETRAIN_DRIFT_SHARE
            )
        };
        Drift {
            epsilon,
            drift_share,
            bundle_outlier_share,
            retrain_threshold: RETRAIN_DRIFT_SHARE,
            retrain,
            recommendation,
        }
    }
}

/// One of the largest changes.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[non_exhaustive]
pub struct TopChange {
    /// The record key in the new snapshot.
    pub key: Option<RecordKey>,
    /// Embedding distance.
    pub distance: f32,
    /// Normalised edit distance of the two banners.
    pub edit_distance: f64,
    /// The bundle's banner (lossy UTF-8; empty when not found).
    pub before: String,
    /// The new banner (lossy UTF-8).
    pub after: String,
}

/// Change detection scored against scan-sim's truth ("changed" = the truth's change kind is
/// `config`, `version` or `device`; `none` and `reorder` are unchanged).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[non_exhaustive]
pub struct TruthScores {
    /// The truth files read.
    pub files: Vec<String>,
    /// Services in both snapshots with a truth line and both banners.
    pub services_scored: usize,
    /// Of those, changed in the truth.
    pub changed_in_truth: usize,
    /// Embedding distance above the run's threshold.
    #[serde(with = "pr_serde")]
    pub embedding_at_threshold: PrecisionRecall,
    /// Embedding distance at its best threshold.
    #[serde(with = "pr_serde")]
    pub embedding_best_f1: PrecisionRecall,
    /// Normalised edit distance at its best threshold (the baseline).
    #[serde(with = "pr_serde")]
    pub edit_distance_best_f1: PrecisionRecall,
}

/// [`PrecisionRecall`] is `Serialize` only; read it back field by field.
mod pr_serde {
    use embed_index::PrecisionRecall;
    use serde::{Deserialize, Deserializer, Serialize, Serializer};

    #[derive(Deserialize)]
    struct Fields {
        threshold: f64,
        true_positives: u64,
        false_positives: u64,
        false_negatives: u64,
        true_negatives: u64,
        precision: Option<f64>,
        recall: Option<f64>,
        f1: f64,
    }

    pub(super) fn serialize<S: Serializer>(p: &PrecisionRecall, s: S) -> Result<S::Ok, S::Error> {
        p.serialize(s)
    }

    pub(super) fn deserialize<'de, D: Deserializer<'de>>(
        d: D,
    ) -> Result<PrecisionRecall, D::Error> {
        let f = Fields::deserialize(d)?;
        Ok(PrecisionRecall {
            threshold: f.threshold,
            true_positives: f.true_positives,
            false_positives: f.false_positives,
            false_negatives: f.false_negatives,
            true_negatives: f.true_negatives,
            precision: f.precision.unwrap_or(f64::NAN),
            recall: f.recall.unwrap_or(f64::NAN),
            f1: f.f1,
        })
    }
}

/// Where the monthly run's results are, and what it found.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct MonthlySummary {
    /// The output folder.
    pub out_dir: PathBuf,
    /// `report/index.html`.
    pub report: PathBuf,
    /// `identify/identifications.jsonl`.
    pub identifications: PathBuf,
    /// `monthly/changes.json`.
    pub changes_json: PathBuf,
    /// Every stage's record, in order.
    pub stages: Vec<StageRecord>,
    /// The changes.
    pub changes: MonthlyChanges,
}
