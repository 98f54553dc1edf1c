//! The paper's whole method in one call: simulate or read a scan, train the tokenizer,
//! pretrain, fine-tune, evaluate, embed, reduce, cluster, fingerprint, compare with Recog and
//! write an HTML report.
//!
//! ```text
//! input ─► tokenizer ─► pretrain ─► finetune ─► evaluate ─► embed ─► pca ─► cluster
//!                                                                          │
//!                                  report ◄─ recog ◄─ fingerprint ◄────────┘
//! ```
//!
//! Each [`Stage`] writes its outputs atomically into its own sub-folder of the output folder
//! and a completion marker `stages/<stage>.json` ([`StageRecord`]: the configuration of this
//! and every earlier stage, wall time, peak memory, output paths, key figures). With
//! [`PipelineOptions::resume`], a stage whose marker matches the configuration and whose
//! outputs exist is skipped, and an interrupted training or embedding stage continues from its
//! checkpoints. `docs/FORMATS.md` ("Pipeline output") lists every file; every per-record file
//! (the embedding ids, the clusters JSONL) carries the record key `{ip, port, snapshot,
//! protocol}` so it joins back to the input.
//!
//! [`MonthlyRun`] is the incremental run (`pipeline --bundle`): it applies the bundle of an
//! earlier run to a new snapshot without training, identifies every record and reports what
//! changed (see its module documentation and docs/PIPELINE.md).
//!
//! Progress: a plain line per stage start and end on standard error, and on a terminal a
//! progress bar with ETA inside the long stages.
//!
//! # Example: a tiny run
//!
//! ```no_run
//! use bannerlm::pipeline::{Pipeline, PipelineConfig, PipelineOptions};
//!
//! let config = PipelineConfig::tiny(300).check()?;
//! let summary = Pipeline::new(config, PipelineOptions::new("out").progress(false)).run()?;
//! println!("report: {}", summary.report.display());
//! assert!(summary.fingerprints > 0);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! # Example: real data
//!
//! ```no_run
//! use bannerlm::pipeline::{Input, Pipeline, PipelineConfig, PipelineOptions};
//!
//! let config = PipelineConfig { input: Input::files(["scans/*.jsonl.gz"]), ..PipelineConfig::default() };
//! let options = PipelineOptions::new("out").resume(true).recog_dir(Some("recog/xml".into()));
//! Pipeline::new(config.check()?, options).run()?;
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

mod config;
mod error;
mod monthly;
mod report;
mod source;
mod stage;
mod stages;

use std::path::PathBuf;

use base64::Engine as _;

pub use config::{
    EmbedSnapshots, Input, MAX_BATCH, MAX_CLUSTER_PARAM, MAX_CONFIG_FILE_BYTES,
    MAX_FINGERPRINT_DRAWS, MAX_FINGERPRINT_K, MAX_HEADER_NAME_LEN, MAX_INPUT_LEN, MAX_LIST,
    MAX_MODEL_LAYERS, MAX_MODEL_WIDTH, MAX_VOCAB_SIZE, ModelSize, PairMix, PipelineConfig,
    PipelineOptions, ValidPipelineConfig,
};
pub use error::{Error, Result};
pub use monthly::{
    DEFAULT_TOP_CHANGES, Drift, MonthlyChanges, MonthlyRun, MonthlySummary, RETRAIN_DRIFT_SHARE,
    TopChange, TruthScores,
};
pub use stage::{RUN_MARKER, STAGE_MARKER, Stage, StageRecord};

use source::Source;
use stage::{RunKind, StageState, Tracker, claim_out_dir, read_json, write_atomic, write_json};
use stages::{Ctx, paths};

/// Where the run's results are and its key figures.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct RunSummary {
    /// The output folder.
    pub out_dir: PathBuf,
    /// `report/index.html`.
    pub report: PathBuf,
    /// Every stage's record, in order.
    pub stages: Vec<StageRecord>,
    /// The held-out evaluation.
    pub evaluation: contrastive_trainer::Evaluation,
    /// Fingerprints generated.
    pub fingerprints: usize,
    /// Each clustering's figures (epsilon, clusters, outlier share; purity and completeness
    /// against the products on simulated data), in the order of the configured epsilons.
    pub clusters: Vec<density_cluster::ClusterFigures<String>>,
    /// Whether the Recog comparison ran.
    pub recog_compared: bool,
}

/// A configured run; [`run`](Self::run) executes it.
#[derive(Debug, Clone)]
pub struct Pipeline {
    config: ValidPipelineConfig,
    options: PipelineOptions,
}

impl Pipeline {
    /// A run of `config` with `options`.
    pub fn new(config: ValidPipelineConfig, options: PipelineOptions) -> Self {
        Pipeline { config, options }
    }

    /// Runs every stage (skipping those up to date when resuming) and writes the report.
    ///
    /// The output folder must be new, empty, or an earlier run's (it holds [`RUN_MARKER`]);
    /// only stage folders that bannerlm made (they hold [`STAGE_MARKER`]) are ever cleared.
    ///
    /// # Errors
    /// [`Error::RecogDir`] when the Recog directory given does not exist;
    /// [`Error::ForeignOutput`] for a non-empty output folder that is not bannerlm's and
    /// [`Error::ForeignStageDir`] for a stage folder it did not make (both before anything is
    /// written or removed); the first stage error, with the stage's name; I/O errors with the
    /// path.
    pub fn run(&self) -> Result<RunSummary> {
        let config = self.config.config();
        let out = self.options.out_dir.clone();
        let recog_dir = self.options.effective_recog_dir()?;
        claim_out_dir(&out, RunKind::Full)?;
        let mut tracker = Tracker::new(out.clone(), self.options.resume, self.options.progress);
        let device = roberta_model::default_device().map_err(Error::stage("device"))?;
        let source = Source::open(config)?;
        write_json(&out.join("config.json"), config)?;
        let mut records = Vec::new();

        let c = config;
        let stage_params: [(Stage, serde_json::Value); 12] = [
            (
                Stage::Input,
                serde_json::json!({"input": c.input, "seed": c.seed,
                    "files": source.input_files().iter().map(|p| file_stamp(p)).collect::<Vec<_>>()}),
            ),
            (
                Stage::Tokenizer,
                serde_json::json!({"vocab_size": c.vocab_size, "samples": c.tokenizer_samples,
                    "max_input_len": c.model.max_input_len}),
            ),
            (
                Stage::Pretrain,
                serde_json::json!({"model": c.model, "params": c.pretrain}),
            ),
            (Stage::Finetune, serde_json::json!({"params": c.finetune})),
            (
                Stage::Evaluate,
                serde_json::json!({"max_pairs": c.eval_max_pairs, "examples": c.report_examples}),
            ),
            (
                Stage::Embed,
                serde_json::json!({"snapshots": c.embed_snapshots}),
            ),
            (
                Stage::Pca,
                serde_json::json!({"components": c.pca_components}),
            ),
            (
                Stage::Cluster,
                serde_json::json!({"min_cluster_size": c.min_cluster_size,
                    "min_samples": c.min_samples, "epsilons": c.epsilons}),
            ),
            (
                Stage::Fingerprint,
                serde_json::json!({"headers": c.fingerprint_headers, "k": c.fingerprint_k,
                    "draws": c.fingerprint_draws, "all_headers": c.fingerprint_all_headers,
                    "min_precision": c.fingerprint_min_precision}),
            ),
            (
                Stage::Recog,
                serde_json::json!({"recog_dir": recog_dir.as_ref().map(|d| file_stamp(d))}),
            ),
            (
                Stage::Bundle,
                serde_json::json!({"recog_dir": recog_dir.as_ref().map(|d| file_stamp(d))}),
            ),
            (Stage::Report, serde_json::json!({})),
        ];
        for (stage, params) in stage_params {
            let running = match tracker.skip_or_start(stage, params)? {
                StageState::Done(done) => {
                    records.push(done);
                    continue;
                }
                StageState::Run(running) => running,
            };
            let ctx = Ctx {
                config,
                source: &source,
                tracker: &tracker,
                device: &device,
            };
            let resume = running.resume_inner;
            let (outputs, summary) = match stage {
                Stage::Input => stages::input(&ctx)?,
                Stage::Tokenizer => stages::tokenizer(&ctx)?,
                Stage::Pretrain => stages::pretrain(&ctx, resume)?,
                Stage::Finetune => stages::finetune(&ctx, resume)?,
                Stage::Evaluate => stages::evaluate(&ctx)?,
                Stage::Embed => stages::embed(&ctx)?,
                Stage::Pca => stages::pca(&ctx)?,
                Stage::Cluster => stages::cluster(&ctx)?,
                Stage::Fingerprint => stages::fingerprint(&ctx)?,
                Stage::Recog => stages::recog(&ctx, recog_dir.as_deref())?,
                Stage::Bundle => stages::bundle(&ctx, recog_dir.as_deref())?,
                Stage::Report => write_report(&ctx, &records)?,
                // The monthly run's own stages are not in this plan.
                Stage::Identify | Stage::Changes => {
                    return Err(Error::InvalidConfig(format!(
                        "stage {stage} belongs to the monthly run"
                    )));
                }
            };
            records.push(tracker.finish(running, outputs, summary)?);
        }
        // The report's timing table includes itself only from the manifest; rewrite the
        // manifest with every stage.
        write_json(&out.join("manifest.json"), &records)?;
        let evaluation = stages::read_evaluation(&out.join(paths::EVALUATION))?;
        let clusters = read_json(&out.join(paths::CLUSTER_SUMMARY))?;
        let comparison: stages::Comparison = read_json(&out.join(paths::COMPARISON))?;
        let report = out.join(paths::REPORT);
        Ok(RunSummary {
            out_dir: out.clone(),
            report,
            stages: records,
            evaluation,
            fingerprints: stages::read_fingerprints(&out.join(paths::FINGERPRINTS))?.len(),
            clusters,
            recog_compared: comparison.skipped.is_none(),
        })
    }
}

/// A file's identity for the resume check: path, size and modification time.
fn file_stamp(p: &std::path::Path) -> serde_json::Value {
    let meta = std::fs::metadata(p).ok();
    serde_json::json!({
        "path": p.display().to_string(),
        "len": meta.as_ref().map(std::fs::Metadata::len),
        "modified": meta
            .and_then(|m| m.modified().ok())
            .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
            .map(|d| d.as_secs()),
    })
}

/// The report stage: reads the outputs, draws the histogram, writes `report/index.html`.
fn write_report(
    ctx: &Ctx<'_>,
    records: &[StageRecord],
) -> Result<(Vec<String>, serde_json::Value)> {
    let out = &ctx.tracker.out;
    let distances: contrastive_trainer::PairDistances = read_json(&out.join(paths::DISTANCES))?;
    let plot_err = |e: embed_index::Error| Error::Stage {
        stage: "report",
        source: Box::new(e),
    };
    let plot = embed_index::HistogramPlot::default()
        .title("Figure 3: L2 distance between embeddings of banner pairs")
        .labels(
            "matching pairs (same service, next snapshot)",
            if distances.different_products {
                "random pairs of different products"
            } else {
                "random pairs"
            },
        );
    let svg = plot
        .svg(&distances.matching, &distances.random)
        .map_err(plot_err)?;
    write_atomic(&out.join(paths::HISTOGRAM_SVG), svg.as_bytes())?;
    let png = plot
        .png(&distances.matching, &distances.random)
        .map_err(plot_err)?;
    write_atomic(&out.join(paths::HISTOGRAM_PNG), &png)?;
    let outputs = vec![
        paths::REPORT.to_owned(),
        paths::HISTOGRAM_SVG.to_owned(),
        paths::HISTOGRAM_PNG.to_owned(),
    ];
    let fingerprints = stages::read_fingerprints(&out.join(paths::FINGERPRINTS))?;
    let data = report::ReportData {
        config: ctx.config,
        stages: records,
        evaluation: Some(stages::read_evaluation(&out.join(paths::EVALUATION))?),
        examples: read_json(&out.join(paths::ANNOTATIONS))?,
        clusters: read_json(&out.join(paths::CLUSTER_SUMMARY))?,
        clusters_by_protocol: read_json(&out.join(paths::CLUSTER_BY_PROTOCOL))?,
        cluster_labels: {
            let path = out.join(paths::BUNDLE).join("cluster_labels.json");
            if path.is_file() {
                read_json(&path)?
            } else {
                Vec::new()
            }
        },
        scores: read_json(&out.join(paths::FINGERPRINT_SCORES))?,
        dropped: read_json(&out.join(paths::FINGERPRINTS_DROPPED))?,
        coverage: read_json(&out.join(paths::FINGERPRINT_COVERAGE))?,
        comparison: Some(read_json(&out.join(paths::COMPARISON))?),
        histogram_png: Some(base64::engine::general_purpose::STANDARD.encode(png)),
        histogram_svg: Some(svg),
        fingerprints,
    };
    let html = report::render(&data);
    write_atomic(&out.join(paths::REPORT), html.as_bytes())?;
    Ok((
        outputs,
        serde_json::json!({"bytes": html.len(), "fingerprints": data.fingerprints.len()}),
    ))
}
