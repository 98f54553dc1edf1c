//! The stages' work: each reads the previous stages' files and writes its own.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use banner_parse::RecordKey;
use bpe_tokenizer::{BannerTokenizer, TrainConfig};
use contrastive_trainer::{
    Annotation, Evaluation, Evaluator, Finetuner, MlmCorpus, Pretrainer, RunOptions, TrainParams,
    ValidTrainParams,
};
use density_cluster::{ClusterFigures, Hdbscan, Progress};
use embed_index::{BannerEmbedder, EmbedParams, EmbeddingStore, PcaParams};
use lcs_fingerprint::{
    ClusterLabels, Fingerprint, FingerprintParams, FingerprintSummary, HeaderRecovery,
};
use recog_compat::{CompareParams, Database, HttpHeader};
use roberta_model::burn::tensor::Device;
use roberta_model::{RobertaForMaskedLm, RobertaForStability};
use serde::{Deserialize, Serialize};
use serde_json::json;

use crate::simulated::Split;

use super::config::{EmbedSnapshots, PipelineConfig};
use super::error::{Error, Result};
use super::source::{Row, Source, sample_refs};
use super::stage::{Stage, Tracker, write_atomic, write_json, write_with};

/// Paths of every output, relative to the output folder (see docs/FORMATS.md).
pub(crate) mod paths {
    pub const TOKENIZER: &str = "tokenizer/tokenizer.json";
    pub const PRETRAINED: &str = "pretrain/final";
    pub const FINETUNED: &str = "finetune/final";
    pub const EVALUATION: &str = "evaluate/evaluation.json";
    pub const DISTANCES: &str = "evaluate/distances.json";
    pub const ANNOTATIONS: &str = "evaluate/annotations.json";
    pub const EMBEDDINGS: &str = "embed/embeddings.npy";
    pub const IDS: &str = "embed/ids.jsonl";
    pub const PRODUCTS: &str = "embed/products.json";
    pub const PCA: &str = "pca/pca.json";
    pub const REDUCED: &str = "pca/reduced.npy";
    pub const CLUSTERS: &str = "cluster/clusters.jsonl";
    pub const CLUSTER_SUMMARY: &str = "cluster/summary.json";
    pub const CLUSTER_BY_PROTOCOL: &str = "cluster/by-protocol.json";
    pub const PREDICTION: &str = "cluster/prediction.json";
    pub const FINGERPRINTS: &str = "fingerprint/fingerprints.jsonl";
    pub const FINGERPRINT_SCORES: &str = "fingerprint/scores.json";
    pub const FINGERPRINTS_DROPPED: &str = "fingerprint/dropped.json";
    pub const FINGERPRINT_COVERAGE: &str = "fingerprint/coverage.json";
    pub const RECOG_XML: &str = "fingerprint/recog";
    pub const COMPARISON: &str = "recog/comparison.json";
    pub const BUNDLE: &str = "bundle";
    pub const REPORT: &str = "report/index.html";
    pub const HISTOGRAM_SVG: &str = "report/histogram.svg";
    pub const HISTOGRAM_PNG: &str = "report/histogram.png";
}

/// Everything a stage needs.
pub(crate) struct Ctx<'a> {
    pub config: &'a PipelineConfig,
    pub source: &'a Source,
    pub tracker: &'a Tracker,
    pub device: &'a Device,
}

impl Ctx<'_> {
    pub(crate) fn path(&self, rel: &str) -> PathBuf {
        self.tracker.out.join(rel)
    }

    fn stage_err<E: std::error::Error + Send + Sync + 'static>(
        stage: Stage,
    ) -> impl FnOnce(E) -> Error {
        let name = stage.name();
        move |e| Error::Stage {
            stage: name,
            source: Box::new(e),
        }
    }

    /// Training records (all protocols) of every snapshot.
    fn training_banners(&self) -> Result<Vec<Vec<u8>>> {
        let mut out = Vec::new();
        for s in 0..self.source.n_snapshots() {
            out.extend(
                self.source
                    .records(s, Split::Train)?
                    .into_iter()
                    .map(|(r, _)| r.banner),
            );
        }
        Ok(out)
    }

    fn tokenizer(&self) -> Result<BannerTokenizer> {
        let path = self.path(paths::TOKENIZER);
        let mut tok =
            BannerTokenizer::from_file(&path).map_err(Ctx::stage_err(Stage::Tokenizer))?;
        tok.set_max_length(Some(self.config.model.max_input_len))
            .map_err(Ctx::stage_err(Stage::Tokenizer))?;
        Ok(tok)
    }

    fn finetuned(&self) -> Result<RobertaForStability> {
        let (model, _) =
            RobertaForStability::from_pretrained(self.path(paths::FINETUNED), self.device)
                .map_err(Ctx::stage_err(Stage::Finetune))?;
        Ok(model)
    }

    /// The records that are embedded, clustered and fingerprinted, in row order.
    pub(crate) fn embedded_records(&self) -> Result<Vec<Row>> {
        let n = self.source.n_snapshots();
        let range = match self.config.embed_snapshots {
            EmbedSnapshots::Last => n.saturating_sub(1)..n,
            _ => 0..n,
        };
        let mut out = Vec::new();
        for s in range {
            out.extend(self.source.records(s, Split::All)?);
        }
        Ok(out)
    }
}

fn rel(paths: &[&str]) -> Vec<String> {
    paths.iter().map(|p| (*p).to_owned()).collect()
}

/// Input: simulated snapshots written as banner-record files with truth, or a listing of the
/// input files.
pub(crate) fn input(ctx: &Ctx<'_>) -> Result<(Vec<String>, serde_json::Value)> {
    let dir = ctx.tracker.dir(Stage::Input);
    std::fs::create_dir_all(&dir).map_err(|e| Error::io(&dir, e))?;
    if let Some(sim) = ctx.source.simulator() {
        let total = sim.config().hosts() * sim.config().snapshots() as u64;
        let bar = ctx.tracker.bar(total, "simulate");
        let manifest = sim
            .write_snapshots_with_progress(&dir, |p| bar.set_position(p.done))
            .map_err(Ctx::stage_err(Stage::Input))?;
        bar.finish_and_clear();
        let mut outputs = vec![format!("input/{}", scan_sim::MANIFEST_NAME)];
        let mut snaps = Vec::new();
        for s in &manifest.snapshots {
            outputs.push(format!("input/{}", s.records.display()));
            snaps.push(json!({"name": s.name, "records": s.count}));
        }
        let records: u64 = manifest.snapshots.iter().map(|s| s.count).sum();
        return Ok((
            outputs,
            json!({"simulated": true, "hosts": sim.config().hosts(), "products": manifest.products,
                   "records": records, "snapshots": snaps}),
        ));
    }
    let names = ctx.source.snapshot_names();
    let mut snaps = Vec::new();
    let mut records = 0usize;
    for (i, name) in names.iter().enumerate() {
        let n = ctx.source.records(i, Split::All)?.len();
        records += n;
        snaps.push(json!({"name": name, "records": n}));
    }
    let files: Vec<String> = ctx
        .source
        .input_files()
        .iter()
        .map(|p| p.display().to_string())
        .collect();
    let skipped = ctx.source.skipped();
    let summary = json!({"simulated": false, "files": files, "records": records, "snapshots": snaps,
                         "truncated_dropped": skipped.truncated, "empty_skipped": skipped.empty,
                         "drop_truncated": ctx.config.drop_truncated});
    write_json(&dir.join("files.json"), &summary)?;
    Ok((rel(&["input/files.json"]), summary))
}

/// Tokenizer: byte-level BPE on a seeded sample of training banners.
pub(crate) fn tokenizer(ctx: &Ctx<'_>) -> Result<(Vec<String>, serde_json::Value)> {
    let banners = ctx.training_banners()?;
    let sample = sample_refs(&banners, ctx.config.tokenizer_samples, ctx.config.seed);
    let config = TrainConfig::default()
        .vocab_size(ctx.config.vocab_size)
        .max_length(Some(ctx.config.model.max_input_len))
        .show_progress(ctx.tracker.bars())
        .check()
        .map_err(Ctx::stage_err(Stage::Tokenizer))?;
    let tok =
        BannerTokenizer::train(sample.iter(), &config).map_err(Ctx::stage_err(Stage::Tokenizer))?;
    let path = ctx.path(paths::TOKENIZER);
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
    }
    tok.save(&path).map_err(Ctx::stage_err(Stage::Tokenizer))?;
    Ok((
        rel(&[paths::TOKENIZER]),
        json!({"vocab_size": tok.vocab_size(), "banners": sample.len()}),
    ))
}

fn run_options(ctx: &Ctx<'_>, stage: Stage, resume: bool) -> RunOptions {
    RunOptions::new(ctx.tracker.dir(stage))
        .resume(resume)
        .checkpoint_every(ctx.config.checkpoint_every)
        .progress(ctx.tracker.bars())
}

fn with_seed(p: &TrainParams, seed: u64) -> contrastive_trainer::Result<ValidTrainParams> {
    TrainParams { seed, ..p.clone() }.check()
}

fn train_summary(state: &contrastive_trainer::TrainerState) -> serde_json::Value {
    let last = state.history.last();
    json!({"steps": state.step, "tokens": state.tokens, "train_seconds": state.elapsed_s,
           "last_loss": last.map(|l| l.loss),
           "loss": state.history.iter().map(|l| [l.step as f64, l.loss]).collect::<Vec<_>>()})
}

/// Masked-LM pretraining on training banners of every protocol and snapshot.
pub(crate) fn pretrain(ctx: &Ctx<'_>, resume: bool) -> Result<(Vec<String>, serde_json::Value)> {
    let tok = ctx.tokenizer()?;
    let banners = ctx.training_banners()?;
    let corpus = MlmCorpus::encode(&tok, &banners).map_err(Ctx::stage_err(Stage::Pretrain))?;
    drop(banners);
    let config = (ctx.config.model.config(tok.vocab_size()))
        .check()
        .map_err(Ctx::stage_err(Stage::Pretrain))?;
    let params = with_seed(&ctx.config.pretrain, ctx.config.seed)
        .map_err(Ctx::stage_err(Stage::Pretrain))?;
    let trainer = Pretrainer::new(config, params);
    let out = trainer
        .run(
            &corpus,
            &run_options(ctx, Stage::Pretrain, resume),
            ctx.device,
        )
        .map_err(Ctx::stage_err(Stage::Pretrain))?;
    let dir = ctx.path(paths::PRETRAINED);
    out.model
        .save_pretrained(&dir, trainer.model_config())
        .map_err(Ctx::stage_err(Stage::Pretrain))?;
    tok.save(dir.join("tokenizer.json"))
        .map_err(Ctx::stage_err(Stage::Pretrain))?;
    let mut summary = train_summary(&out.state);
    summary["sequences"] = json!(corpus.len());
    Ok((rel(&[paths::PRETRAINED]), summary))
}

/// Contrastive fine-tuning on pairs of training hosts: every protocol (as `finetune_mix`
/// says), every consecutive pair of snapshots.
pub(crate) fn finetune(ctx: &Ctx<'_>, resume: bool) -> Result<(Vec<String>, serde_json::Value)> {
    let tok = ctx.tokenizer()?;
    let corpus = ctx.source.pair_corpus(
        &tok,
        Split::Train,
        &ctx.config.finetune_mix,
        None,
        ctx.config.seed,
    )?;
    let (pretrained, config) =
        RobertaForMaskedLm::from_pretrained(ctx.path(paths::PRETRAINED), ctx.device)
            .map_err(Ctx::stage_err(Stage::Finetune))?;
    let params = with_seed(&ctx.config.finetune, ctx.config.seed)
        .map_err(Ctx::stage_err(Stage::Finetune))?;
    let tuner = Finetuner::new(config, params);
    let out = tuner
        .run_from(
            pretrained,
            &corpus,
            &run_options(ctx, Stage::Finetune, resume),
            ctx.device,
        )
        .map_err(Ctx::stage_err(Stage::Finetune))?;
    let dir = ctx.path(paths::FINETUNED);
    out.model
        .save_pretrained(&dir, tuner.model_config())
        .map_err(Ctx::stage_err(Stage::Finetune))?;
    tok.save(dir.join("tokenizer.json"))
        .map_err(Ctx::stage_err(Stage::Finetune))?;
    let mut summary = train_summary(&out.state);
    summary["pairs"] = serde_json::to_value(corpus.stats()).unwrap_or_default();
    summary["gaps"] = json!(ctx.source.n_snapshots().saturating_sub(1));
    Ok((rel(&[paths::FINETUNED]), summary))
}

/// One annotated banner for the report.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct AnnotatedExample {
    pub product: Option<String>,
    /// HTML fragment from [`Annotation::to_html`] (escaped).
    pub html: String,
}

/// The embedder of the fine-tuned model (`finetune/final`): the stability-weighted mean of the
/// last layer, unit length. The one place that says how banners become embeddings.
fn embedder(ctx: &Ctx<'_>) -> Result<BannerEmbedder> {
    BannerEmbedder::from_dir(ctx.path(paths::FINETUNED), ctx.device)
        .map_err(Ctx::stage_err(Stage::Embed))
}

/// The evaluation table on held-out pairs, the distances for the histogram and annotated
/// examples, with one forward pass over the pairs.
pub(crate) fn evaluate(ctx: &Ctx<'_>) -> Result<(Vec<String>, serde_json::Value)> {
    let err = Ctx::stage_err::<contrastive_trainer::Error>(Stage::Evaluate);
    let tok = ctx.tokenizer()?;
    let model = ctx.finetuned()?;
    // The fine-tuning protocols, each in proportion to its pairs (no cap), every gap.
    let mix = super::config::PairMix {
        max_share: 1.0,
        ..ctx.config.finetune_mix.clone()
    };
    let corpus = ctx.source.pair_corpus(
        &tok,
        Split::HeldOut,
        &mix,
        Some(ctx.config.eval_max_pairs),
        ctx.config.seed,
    )?;
    if corpus.is_empty() {
        return Err(Error::NoInput(
            "no held-out pair survives the matched-token filter".into(),
        ));
    }
    let evaluator = Evaluator {
        batch_size: ctx.config.embed_batch_size,
        seed: ctx.config.seed,
        ..Evaluator::default()
    };
    let seqs: Vec<&[u32]> = corpus
        .pairs()
        .iter()
        .flat_map(|p| [p.a.ids.as_slice(), p.b.ids.as_slice()])
        .collect();
    let pred = evaluator.predict(&model, &seqs, ctx.device).map_err(err)?;
    let evaluation = evaluator.evaluate_predictions(&corpus, &pred);
    let embeddings: Vec<&[f32]> = pred.embeddings.iter().map(Vec::as_slice).collect();
    let distances = evaluator.pair_distances(&corpus, &embeddings);
    write_json(&ctx.path(paths::EVALUATION), &evaluation)?;
    write_json(&ctx.path(paths::DISTANCES), &distances)?;

    // Annotated examples: held-out banners (any protocol) of distinct products.
    let n = ctx.source.n_snapshots();
    let mut examples = Vec::new();
    let mut seen = std::collections::HashSet::new();
    for (rec, product) in ctx.source.records(n - 1, Split::HeldOut)? {
        if examples.len() >= ctx.config.report_examples {
            break;
        }
        if !seen.insert(product.clone().unwrap_or_else(|| rec.ip.to_string())) {
            continue;
        }
        let a = Annotation::predict(&model, &tok, &rec.banner, ctx.device)
            .map_err(Ctx::stage_err(Stage::Evaluate))?;
        examples.push(AnnotatedExample {
            product,
            html: a.to_html(0.5),
        });
    }
    write_json(&ctx.path(paths::ANNOTATIONS), &examples)?;
    let summary =
        serde_json::to_value(evaluation).map_err(|e| Error::json(paths::EVALUATION, e))?;
    Ok((
        rel(&[paths::EVALUATION, paths::DISTANCES, paths::ANNOTATIONS]),
        summary,
    ))
}

/// Embeds every chosen record into the `.npy` + ids store
/// ([`BannerEmbedder::embed_records`]: chunked, checkpointed, resumable).
pub(crate) fn embed(ctx: &Ctx<'_>) -> Result<(Vec<String>, serde_json::Value)> {
    let embedder = embedder(ctx)?;
    let rows = ctx.embedded_records()?;
    let products: Vec<Option<&str>> = rows.iter().map(|(_, p)| p.as_deref()).collect();
    write_json(&ctx.path(paths::PRODUCTS), &products)?;
    let params = EmbedParams {
        batch_size: ctx.config.embed_batch_size,
        chunk_rows: EMBED_CHUNK_ROWS,
        progress: ctx.tracker.bars(),
    };
    let summary = embedder
        .embed_records(
            rows.iter().map(|(r, _)| r),
            &ctx.path(paths::EMBEDDINGS),
            &ctx.path(paths::IDS),
            &params,
        )
        .map_err(Ctx::stage_err(Stage::Embed))?;
    Ok((
        rel(&[paths::EMBEDDINGS, paths::IDS, paths::PRODUCTS]),
        json!({"rows": summary.rows, "dim": embedder.dim()}),
    ))
}

/// Rows per checkpoint of the embedding store.
const EMBED_CHUNK_ROWS: usize = 4_096;

/// PCA of the stored embeddings.
pub(crate) fn pca(ctx: &Ctx<'_>) -> Result<(Vec<String>, serde_json::Value)> {
    let err = Ctx::stage_err::<embed_index::Error>(Stage::Pca);
    let store = EmbeddingStore::open(ctx.path(paths::EMBEDDINGS), ctx.path(paths::IDS))
        .map_err(Ctx::stage_err(Stage::Pca))?;
    let x = store.load().map_err(Ctx::stage_err(Stage::Pca))?;
    let k = ctx.config.pca_components.min(x.ncols());
    let pca = PcaParams::new(k).fit(&x).map_err(err)?;
    let reduced = pca.transform(&x).map_err(Ctx::stage_err(Stage::Pca))?;
    // Both writers are atomic themselves (temporary file, fsync, rename).
    pca.save(ctx.path(paths::PCA))
        .map_err(Ctx::stage_err(Stage::Pca))?;
    embed_index::write_npy(ctx.path(paths::REDUCED), &reduced)
        .map_err(Ctx::stage_err(Stage::Pca))?;
    let kept = pca
        .cumulative_variance_ratio()
        .last()
        .copied()
        .unwrap_or(f64::NAN);
    Ok((
        rel(&[paths::PCA, paths::REDUCED]),
        json!({"rows": x.nrows(), "from": x.ncols(), "to": k, "variance_kept": kept}),
    ))
}

/// HDBSCAN once per protocol family (HTTP records never share a cluster with SSH ones),
/// re-selected at every epsilon; clusters JSONL keyed by record, the figures of the whole and
/// of each protocol.
pub(crate) fn cluster(ctx: &Ctx<'_>) -> Result<(Vec<String>, serde_json::Value)> {
    let err = Ctx::stage_err::<density_cluster::Error>(Stage::Cluster);
    let x =
        embed_index::read_npy(ctx.path(paths::REDUCED)).map_err(Ctx::stage_err(Stage::Cluster))?;
    let records = ctx.embedded_records()?;
    let keys: Vec<RecordKey> = records.iter().map(|(r, _)| r.key()).collect();
    let groups: Vec<String> = records.iter().map(|(r, _)| r.protocol_family()).collect();
    drop(records);
    let products: Vec<Option<String>> = super::stage::read_json(&ctx.path(paths::PRODUCTS))?;
    let params = Hdbscan::params(ctx.config.min_cluster_size)
        .min_samples(ctx.config.min_samples)
        .check()
        .map_err(Ctx::stage_err(Stage::Cluster))?;
    let bar = ctx.tracker.bar(x.nrows() as u64, "neighbours");
    // Groups are fitted one after the other: the bar counts the rows of those done before.
    let done_before = std::sync::Mutex::new((String::new(), 0u64, 0u64));
    let fit = params
        .fit_partitioned(&x, &groups, &ctx.config.epsilons, |group, p| {
            let Ok(mut g) = done_before.lock() else {
                return;
            };
            if g.0 != group {
                g.1 += g.2;
                g.2 = 0;
                group.clone_into(&mut g.0);
            }
            match p {
                Progress::Neighbours { done, total } => {
                    g.2 = total as u64;
                    bar.set_position(g.1 + done as u64);
                    bar.set_message(group.to_owned());
                }
                Progress::SpanningTree { components } => {
                    bar.set_message(format!("{group}: {components} trees"));
                }
                _ => bar.set_message(format!("{group}: hierarchy")),
            }
        })
        .map_err(err)?;
    bar.finish_and_clear();
    let clusterings = &fit.clusterings;
    write_with(&ctx.path(paths::CLUSTERS), |w| {
        density_cluster::write_jsonl(w, &keys, clusterings).map_err(Ctx::stage_err(Stage::Cluster))
    })?;
    // What banner-identify needs to place new points in these clusterings (the bundle's
    // prediction.json).
    write_json(&ctx.path(paths::PREDICTION), &fit.prediction)?;
    let figures: Vec<ClusterFigures<String>> = clusterings
        .iter()
        .map(|c| density_cluster::cluster_figures(c.params.epsilon, &c.labels, &products))
        .collect();
    write_json(&ctx.path(paths::CLUSTER_SUMMARY), &figures)?;
    let by_protocol = protocol_figures(&fit, &products);
    write_json(&ctx.path(paths::CLUSTER_BY_PROTOCOL), &by_protocol)?;
    let summary =
        serde_json::to_value(&figures).map_err(|e| Error::json(paths::CLUSTER_SUMMARY, e))?;
    Ok((
        rel(&[
            paths::CLUSTERS,
            paths::CLUSTER_SUMMARY,
            paths::CLUSTER_BY_PROTOCOL,
            paths::PREDICTION,
        ]),
        summary,
    ))
}

/// The figures of each protocol's own clusterings (its rows, its clusters numbered from 0),
/// by protocol family.
fn protocol_figures(
    fit: &density_cluster::PartitionedFit,
    products: &[Option<String>],
) -> BTreeMap<String, Vec<ClusterFigures<String>>> {
    fit.prediction
        .parts()
        .iter()
        .map(|part| {
            let classes: Vec<Option<String>> = part
                .rows
                .iter()
                .map(|&r| products.get(r).cloned().flatten())
                .collect();
            let figures = fit
                .clusterings
                .iter()
                .zip(&part.label_offsets)
                .map(|(c, &offset)| {
                    let labels: Vec<Option<usize>> = part
                        .rows
                        .iter()
                        .map(|&r| c.labels[r].map(|l| l - offset))
                        .collect();
                    density_cluster::cluster_figures(c.params.epsilon, &labels, &classes)
                })
                .collect();
            (part.group.clone(), figures)
        })
        .collect()
}

/// Rows of the embedded records of one protocol with their cluster labels.
pub(crate) struct HttpRows {
    pub records: Vec<Row>,
    pub clusterings: Vec<lcs_fingerprint::Clustering>,
}

/// The embedded records that `keep` accepts, with their labels read from the clusters file
/// ([`ClusterLabels`], joined by record key): each cluster restricted to those records.
fn rows_where(
    ctx: &Ctx<'_>,
    keep: impl Fn(&banner_parse::BannerRecord) -> bool,
) -> Result<HttpRows> {
    let mut records = ctx.embedded_records()?;
    records.retain(|(r, _)| keep(r));
    let keys: Vec<RecordKey> = records.iter().map(|(r, _)| r.key()).collect();
    let clusterings = ClusterLabels::read(ctx.path(paths::CLUSTERS))
        .map_err(Ctx::stage_err(Stage::Fingerprint))?
        .align(&keys);
    Ok(HttpRows {
        records,
        clusterings,
    })
}

/// The embedded HTTP records, with their labels read from the clusters file
/// ([`ClusterLabels`], joined by record key).
pub(crate) fn http_rows(ctx: &Ctx<'_>) -> Result<HttpRows> {
    rows_where(ctx, banner_parse::BannerRecord::is_http)
}

/// The embedded records of the text protocol whose fingerprints have field `field`
/// (`ssh.banner`: [`lcs_fingerprint::text_field`]).
fn text_rows(ctx: &Ctx<'_>, field: &str) -> Result<HttpRows> {
    rows_where(ctx, |r| {
        lcs_fingerprint::text_field(&r.protocol) == Some(field)
    })
}

/// The text fields (`ssh.banner`, ...) of the embedded records' protocols, sorted.
fn text_fields(ctx: &Ctx<'_>) -> Result<Vec<&'static str>> {
    let mut fields: Vec<&'static str> = ctx
        .embedded_records()?
        .iter()
        .filter_map(|(r, _)| lcs_fingerprint::text_field(&r.protocol))
        .collect();
    fields.sort_unstable();
    fields.dedup();
    Ok(fields)
}

/// Fingerprints per cluster and header, pooled over the clusterings, sanitized, filtered
/// (nothing generic: the dropped ones with their reason in `fingerprint/dropped.json`) and
/// scored; then the same for each text protocol's greetings (SSH, FTP, SMTP, Telnet...), from
/// each cluster's records of that protocol only; as JSONL and as Recog XML; on simulated data
/// scored against the products, with the issue-25 product coverage.
pub(crate) fn fingerprint(ctx: &Ctx<'_>) -> Result<(Vec<String>, serde_json::Value)> {
    let err = Ctx::stage_err::<lcs_fingerprint::Error>(Stage::Fingerprint);
    let params = FingerprintParams::default()
        .headers(ctx.config.fingerprint_headers.clone())
        .all_headers(ctx.config.fingerprint_all_headers)
        .min_precision(ctx.config.fingerprint_min_precision)
        .k(ctx.config.fingerprint_k)
        .n_draws(ctx.config.fingerprint_draws)
        .seed(ctx.config.seed)
        .check()
        .map_err(|e| err(e.into()))?;
    let rows = http_rows(ctx)?;
    let http_records = rows.records.len();
    let banners: Vec<&[u8]> = rows
        .records
        .iter()
        .map(|(r, _)| r.banner.as_slice())
        .collect();
    let mut generated = params
        .generate_all(&banners, &rows.clusterings)
        .map_err(Ctx::stage_err(Stage::Fingerprint))?;
    let products: Vec<Option<&str>> = rows.records.iter().map(|(_, p)| p.as_deref()).collect();
    let mut scores = lcs_fingerprint::score_fingerprints(&generated.kept, &banners, &products)
        .map_err(Ctx::stage_err(Stage::Fingerprint))?;
    // Scores line up with the fingerprints only when every protocol has products.
    let mut aligned = scores.len() == generated.kept.len();
    let mut all_products: Vec<Option<String>> =
        products.iter().map(|p| p.map(str::to_owned)).collect();
    let mut text_records = BTreeMap::new();
    for field in text_fields(ctx)? {
        let rows = text_rows(ctx, field)?;
        let Some(protocol) = rows.records.first().map(|(r, _)| r.protocol.clone()) else {
            continue;
        };
        let banners: Vec<&[u8]> = rows
            .records
            .iter()
            .map(|(r, _)| r.banner.as_slice())
            .collect();
        let text = params
            .generate_text(&protocol, &banners, &rows.clusterings)
            .map_err(Ctx::stage_err(Stage::Fingerprint))?;
        let products: Vec<Option<&str>> = rows.records.iter().map(|(_, p)| p.as_deref()).collect();
        let text_scores = lcs_fingerprint::score_fingerprints(&text.kept, &banners, &products)
            .map_err(Ctx::stage_err(Stage::Fingerprint))?;
        aligned &= text_scores.len() == text.kept.len();
        scores.extend(text_scores);
        all_products.extend(products.iter().map(|p| p.map(str::to_owned)));
        text_records.insert(field, rows.records.len());
        generated.kept.extend(text.kept);
        generated.dropped.extend(text.dropped);
    }
    if !aligned {
        // Products known for some protocols only: no scores, as on real data.
        scores.clear();
    }
    let dropped_by_reason = generated.dropped_by_reason();
    let fps = generated.kept;
    write_with(&ctx.path(paths::FINGERPRINTS), |w| {
        lcs_fingerprint::write_jsonl(&fps, w).map_err(Ctx::stage_err(Stage::Fingerprint))
    })?;
    write_json(&ctx.path(paths::FINGERPRINTS_DROPPED), &generated.dropped)?;
    let mut outputs = rel(&[
        paths::FINGERPRINTS,
        paths::FINGERPRINTS_DROPPED,
        paths::FINGERPRINT_SCORES,
        paths::FINGERPRINT_COVERAGE,
    ]);
    let mut headers: Vec<&str> = Vec::new();
    for f in &fps {
        if !headers.iter().any(|h| h.eq_ignore_ascii_case(&f.header)) {
            headers.push(&f.header);
        }
    }
    for header in headers {
        let db =
            lcs_fingerprint::to_recog(&fps, header).map_err(Ctx::stage_err(Stage::Fingerprint))?;
        if db.fingerprints.is_empty() {
            continue;
        }
        let xml = db.to_xml().map_err(Ctx::stage_err(Stage::Fingerprint))?;
        let rel_path = format!(
            "{}/{}.xml",
            paths::RECOG_XML,
            bannerlm_base::safe_file_stem(&db.matches)
        );
        write_atomic(&ctx.path(&rel_path), xml.as_bytes())?;
        outputs.push(rel_path);
    }
    write_json(&ctx.path(paths::FINGERPRINT_SCORES), &scores)?;
    // Issue 25: products with at least 50 records covered by a fingerprint of product
    // precision at least 0.95 (None on data without products).
    let coverage = (!scores.is_empty())
        .then(|| lcs_fingerprint::product_coverage(&scores, &all_products, 50, 0.95));
    write_json(&ctx.path(paths::FINGERPRINT_COVERAGE), &coverage)?;
    let mut summary = serde_json::to_value(FingerprintSummary::of(&fps))
        .map_err(|e| Error::json(paths::FINGERPRINTS, e))?;
    summary["http_records"] = json!(http_records);
    summary["text_records"] = json!(text_records);
    summary["dropped"] = json!(dropped_by_reason);
    summary["product_coverage"] = json!(coverage.as_ref().map(|c| json!({
        "products": c.products, "covered": c.covered, "share": c.share})));
    Ok((outputs, summary))
}

/// The comparison file.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub(crate) struct Comparison {
    /// Why the comparison was not made, if it was not.
    pub skipped: Option<String>,
    pub recog_dir: Option<String>,
    /// One digest per header compared ([`lcs_fingerprint::RecogComparison::headers`]).
    pub headers: Vec<HeaderRecovery>,
    /// Fingerprint index -> Recog descriptions it recovers ([`lcs_fingerprint::RecogComparison::descriptions`]).
    pub descriptions: BTreeMap<usize, Vec<String>>,
}

/// Compares the fingerprints with Recog's Server / Set-Cookie / WWW-Authenticate databases on
/// the embedded HTTP banners, and text protocols' fingerprints with Recog's database for
/// their protocol (`ssh_banners.xml`, ...) on the embedded records of that protocol.
pub(crate) fn recog(ctx: &Ctx<'_>, dir: Option<&Path>) -> Result<(Vec<String>, serde_json::Value)> {
    let comparison = match dir {
        None => Comparison {
            skipped: Some(
                "no Recog directory: pass --recog DIR or set RECOG_XML_DIR (clone https://github.com/rapid7/recog, its xml/ folder)"
                    .into(),
            ),
            ..Comparison::default()
        },
        Some(dir) => compare_with_recog(ctx, dir)?,
    };
    write_json(&ctx.path(paths::COMPARISON), &comparison)?;
    let summary = json!({"skipped": comparison.skipped, "headers": comparison.headers});
    Ok((rel(&[paths::COMPARISON]), summary))
}

pub(crate) fn read_fingerprints(path: &Path) -> Result<Vec<Fingerprint>> {
    lcs_fingerprint::read_jsonl(path).map_err(Ctx::stage_err(Stage::Fingerprint))
}

fn compare_with_recog(ctx: &Ctx<'_>, dir: &Path) -> Result<Comparison> {
    let fps = read_fingerprints(&ctx.path(paths::FINGERPRINTS))?;
    let rows = http_rows(ctx)?;
    let mut dbs = Vec::new();
    for h in HttpHeader::ALL {
        if ctx
            .config
            .fingerprint_headers
            .iter()
            .any(|n| HttpHeader::from_name(n) == Some(h))
        {
            dbs.push((
                h,
                Database::from_path(dir.join(h.database_file()))
                    .map_err(Ctx::stage_err(Stage::Recog))?,
            ));
        }
    }
    let refs: Vec<(HttpHeader, &Database)> = dbs.iter().map(|(h, d)| (*h, d)).collect();
    let banners: Vec<&[u8]> = rows
        .records
        .iter()
        .map(|(r, _)| r.banner.as_slice())
        .collect();
    let mut found =
        lcs_fingerprint::compare_with_recog(&fps, &banners, &refs, CompareParams::default())
            .map_err(Ctx::stage_err(Stage::Recog))?;
    // Text protocols: each field's fingerprints against its Recog database, on the records
    // of that protocol (a database missing from the folder is skipped).
    let mut fields: Vec<&str> = fps
        .iter()
        .map(|f| f.header.as_str())
        .filter(|h| lcs_fingerprint::is_text_field(h))
        .collect();
    fields.sort_unstable();
    fields.dedup();
    for field in fields {
        let Some(file) = lcs_fingerprint::text_database(field) else {
            continue;
        };
        let path = dir.join(file);
        if !path.is_file() {
            continue;
        }
        let db = Database::from_path(&path).map_err(Ctx::stage_err(Stage::Recog))?;
        let rows = text_rows(ctx, field)?;
        let banners: Vec<&[u8]> = rows
            .records
            .iter()
            .map(|(r, _)| r.banner.as_slice())
            .collect();
        let text = lcs_fingerprint::compare_text_with_recog(
            &fps,
            field,
            &banners,
            &db,
            CompareParams::default(),
        )
        .map_err(Ctx::stage_err(Stage::Recog))?;
        found.headers.extend(text.headers);
        for (i, d) in text.descriptions {
            found.descriptions.entry(i).or_default().extend(d);
        }
    }
    Ok(Comparison {
        skipped: None,
        recog_dir: Some(dir.display().to_string()),
        headers: found.headers,
        descriptions: found.descriptions,
    })
}

/// The bundle (`bundle/`, docs/FORMATS.md): the fine-tuned model, PCA, prediction data,
/// fingerprints, embeddings and records of this run, with a label per cluster (Recog when the
/// run has a Recog folder), written by [`banner_identify::BundleWriter`].
pub(crate) fn bundle(
    ctx: &Ctx<'_>,
    recog_dir: Option<&Path>,
) -> Result<(Vec<String>, serde_json::Value)> {
    let err = Ctx::stage_err::<banner_identify::Error>(Stage::Bundle);
    let records: Vec<banner_parse::BannerRecord> = ctx
        .embedded_records()?
        .into_iter()
        .map(|(r, _)| r)
        .collect();
    let keys: Vec<RecordKey> = records
        .iter()
        .map(banner_parse::BannerRecord::key)
        .collect();
    let clusterings = ClusterLabels::read(ctx.path(paths::CLUSTERS))
        .map_err(Ctx::stage_err(Stage::Bundle))?
        .align(&keys);
    let fingerprints = read_fingerprints(&ctx.path(paths::FINGERPRINTS))?;
    let recog = recog_dir
        .map(banner_identify::RecogMatchers::load_dir)
        .transpose()
        .map_err(err)?;
    let banners: Vec<&[u8]> = records.iter().map(|r| r.banner.as_slice()).collect();
    let families: Vec<String> = records
        .iter()
        .map(banner_parse::BannerRecord::protocol_family)
        .collect();
    let protocols: Vec<Option<&str>> = families.iter().map(|f| Some(f.as_str())).collect();
    let labels = banner_identify::label_clusters(
        &banners,
        &protocols,
        &clusterings,
        &fingerprints,
        recog.as_ref(),
    );
    let prediction: density_cluster::PartitionedPrediction =
        super::stage::read_json(&ctx.path(paths::PREDICTION))?;
    let pca =
        embed_index::Pca::load(ctx.path(paths::PCA)).map_err(Ctx::stage_err(Stage::Bundle))?;
    let snapshot = ctx
        .source
        .snapshot_names()
        .last()
        .cloned()
        .unwrap_or_default();
    let dir = ctx.path(paths::BUNDLE);
    let manifest = banner_identify::BundleWriter::new()
        .snapshot(snapshot)
        .model_dir(ctx.path(paths::FINETUNED))
        .pca(&pca)
        .prediction(&prediction)
        .epsilons(&ctx.config.epsilons)
        .headers(&ctx.config.fingerprint_headers)
        .fingerprints(&fingerprints)
        .cluster_labels(labels)
        .embeddings(ctx.path(paths::EMBEDDINGS), ctx.path(paths::IDS))
        .records(&records)
        .write(&dir)
        .map_err(Ctx::stage_err(Stage::Bundle))?;
    // The writer replaced the folder: mark it as this stage's again.
    super::stage::mark_stage_dir(&dir)?;
    let bytes: u64 = manifest.files.values().map(|f| f.bytes).sum();
    Ok((
        rel(&[paths::BUNDLE]),
        json!({"records": manifest.records, "files": manifest.files.len(), "bytes": bytes,
               "snapshot": manifest.snapshot, "recog_labels": recog.is_some()}),
    ))
}

/// Reads `evaluate/evaluation.json` ([`Evaluation::read`]: undefined shares read back as NaN).
pub(crate) fn read_evaluation(path: &Path) -> Result<Evaluation> {
    Evaluation::read(path).map_err(Ctx::stage_err(Stage::Evaluate))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `recog/comparison.json` reads back as written: fingerprint indices are JSON object keys
    /// (strings), which a flattened map could not read back as `usize`.
    #[test]
    fn comparison_file_round_trips() {
        let c = Comparison {
            skipped: None,
            recog_dir: Some("recog/xml".into()),
            headers: vec![HeaderRecovery {
                header: "Server".into(),
                database: "http_servers.xml".into(),
                banners_with_header: 3,
                recog_labelled: 2,
                generated_patterns: 1,
                generated_matched: 2,
                recovered: 1,
                recovered_coverage: Some(0.5),
                partial: 0,
                partial_coverage: None,
                new_candidates: 0,
                examples_matched: Some(1),
                examples_compared: Some(2),
            }],
            descriptions: BTreeMap::from([(0, vec!["nginx".to_owned()])]),
        };
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("comparison.json");
        write_json(&path, &c).expect("write");
        let back: Comparison = super::super::stage::read_json(&path).expect("read back");
        assert_eq!(back.descriptions, c.descriptions);
        assert_eq!(back.headers, c.headers);
        assert_eq!(back.recog_dir, c.recog_dir);
    }
}
