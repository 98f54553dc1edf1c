//! The stages' work: each reads the previous stages' files and writes its own.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};

use banner_parse::{HttpBanner, RecordKey};
use bpe_tokenizer::{BannerTokenizer, TrainConfig};
use contrastive_trainer::sim::Split;
use contrastive_trainer::{
    Annotation, Evaluation, Evaluator, Finetuner, MlmCorpus, PairCorpus, Pretrainer, RunOptions,
    TrainParams,
};
use density_cluster::{ClusterRecord, Hdbscan, Progress};
use embed_index::{BannerEmbedder, EmbeddingStore, PcaParams, StoreWriter};
use lcs_fingerprint::{Fingerprint, FingerprintParams};
use recog_compat::{CompareParams, CorpusBanner, Database, GeneratedPattern, HttpHeader};
use roberta_model::burn::tensor::Device;
use roberta_model::{RobertaForMaskedLm, RobertaForStability};
use serde::{Deserialize, Serialize};
use serde_json::json;

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
    pub const FINGERPRINTS: &str = "fingerprint/fingerprints.jsonl";
    pub const FINGERPRINT_SCORES: &str = "fingerprint/scores.json";
    pub const RECOG_XML: &str = "fingerprint/recog";
    pub const COMPARISON: &str = "recog/comparison.json";
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
    let summary =
        json!({"simulated": false, "files": files, "records": records, "snapshots": snaps});
    write_json(&dir.join("files.json"), &summary)?;
    Ok((rel(&["input/files.json"]), summary))
}

/// Tokenizer: byte-level BPE on a seeded sample of training banners.
pub(crate) fn tokenizer(ctx: &Ctx<'_>) -> Result<(Vec<String>, serde_json::Value)> {
    let banners = ctx.training_banners()?;
    let sample = sample_refs(&banners, ctx.config.tokenizer_samples, ctx.config.seed);
    let config = TrainConfig::builder()
        .vocab_size(ctx.config.vocab_size)
        .max_length(Some(ctx.config.model.max_input_len))
        .show_progress(ctx.tracker.bars())
        .build()
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

fn with_seed(p: &TrainParams, seed: u64) -> TrainParams {
    TrainParams { seed, ..p.clone() }
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
    let config = ctx.config.model.config(tok.vocab_size());
    let trainer = Pretrainer::new(config, with_seed(&ctx.config.pretrain, ctx.config.seed))
        .map_err(Ctx::stage_err(Stage::Pretrain))?;
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

/// Contrastive fine-tuning on HTTP pairs of training hosts.
pub(crate) fn finetune(ctx: &Ctx<'_>, resume: bool) -> Result<(Vec<String>, serde_json::Value)> {
    let tok = ctx.tokenizer()?;
    let corpus = ctx
        .source
        .pair_corpus(&tok, Split::Train, None, ctx.config.seed)?;
    let (pretrained, config) =
        RobertaForMaskedLm::from_pretrained(ctx.path(paths::PRETRAINED), ctx.device)
            .map_err(Ctx::stage_err(Stage::Finetune))?;
    let tuner = Finetuner::new(config, with_seed(&ctx.config.finetune, ctx.config.seed))
        .map_err(Ctx::stage_err(Stage::Finetune))?;
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
    Ok((rel(&[paths::FINETUNED]), summary))
}

/// Pair distances for the Figure 3 histogram.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub(crate) struct Distances {
    /// Same service, consecutive snapshots.
    pub matching: Vec<f32>,
    /// Random pairs of different products (of any two services without truth).
    pub random: Vec<f32>,
    /// Whether `random` holds different-product pairs only.
    pub different_products: bool,
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
    let corpus = ctx.source.pair_corpus(
        &tok,
        Split::HeldOut,
        Some(ctx.config.eval_max_pairs),
        ctx.config.seed,
    )?;
    if corpus.is_empty() {
        return Err(Error::NoInput(
            "no held-out HTTP pair survives the matched-token filter".into(),
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
    let distances = pair_distances(&corpus, &pred.embeddings, ctx.config.seed);
    write_json(&ctx.path(paths::EVALUATION), &evaluation)?;
    write_json(&ctx.path(paths::DISTANCES), &distances)?;

    // Annotated examples: held-out HTTP banners of distinct products.
    let n = ctx.source.n_snapshots();
    let mut examples = Vec::new();
    let mut seen = std::collections::HashSet::new();
    for (rec, product) in ctx.source.records(n - 1, Split::HeldOut)? {
        if examples.len() >= ctx.config.report_examples {
            break;
        }
        if !rec.is_http() || !seen.insert(product.clone().unwrap_or_else(|| rec.ip.to_string())) {
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

/// Matching distances, and random pairs `a_i` with `b_j` for a seeded rotation `j`: of
/// different products when the corpus has truth.
fn pair_distances(corpus: &PairCorpus, emb: &[Vec<f32>], seed: u64) -> Distances {
    let pairs = corpus.pairs();
    let n = pairs.len().min(emb.len() / 2);
    let mut out = Distances {
        different_products: pairs.iter().any(|p| p.meta.product_a.is_some()),
        ..Distances::default()
    };
    for i in 0..n {
        out.matching
            .push(embed_index::euclidean(&emb[2 * i], &emb[2 * i + 1]));
    }
    if n < 2 {
        return out;
    }
    // Several rotations so that different-product pairs are plentiful.
    for r in 0..4u64 {
        let shift = 1 + (seed.wrapping_add(r).wrapping_mul(0x9E37_79B9) as usize) % (n - 1);
        for i in 0..n {
            let j = (i + shift) % n;
            if out.different_products
                && pairs[i].meta.product_a.as_deref() == pairs[j].meta.product_b.as_deref()
            {
                continue;
            }
            out.random
                .push(embed_index::euclidean(&emb[2 * i], &emb[2 * j + 1]));
        }
    }
    out
}

/// SHA-256 over the keys and banners of `rows`, in order, with their count.
fn records_digest(rows: &[Row]) -> serde_json::Value {
    use sha2::Digest as _;
    let mut h = sha2::Sha256::new();
    for (r, _) in rows {
        let key = r.key().to_string();
        h.update((key.len() as u64).to_le_bytes());
        h.update(key.as_bytes());
        h.update((r.banner.len() as u64).to_le_bytes());
        h.update(&r.banner);
    }
    let hex = h.finalize().iter().fold(String::new(), |mut s, b| {
        use std::fmt::Write as _;
        let _ = write!(s, "{b:02x}");
        s
    });
    serde_json::json!({"count": rows.len(), "sha256": hex})
}

/// Embeds every chosen record into the `.npy` + ids store, resumably.
pub(crate) fn embed(ctx: &Ctx<'_>, resume: bool) -> Result<(Vec<String>, serde_json::Value)> {
    const CHUNK: usize = 4_096;
    let err = Ctx::stage_err::<embed_index::Error>(Stage::Embed);
    let embedder = embedder(ctx)?;
    let rows = ctx.embedded_records()?;
    let products: Vec<Option<&str>> = rows.iter().map(|(_, p)| p.as_deref()).collect();
    write_json(&ctx.path(paths::PRODUCTS), &products)?;
    let (npy, ids) = (ctx.path(paths::EMBEDDINGS), ctx.path(paths::IDS));
    let dim = embedder.dim();
    // What the rows are made from (model, tokenizer, pooling and the records themselves),
    // so that a resume never appends rows of another model or another input.
    let source = embedder
        .store_source(&[])
        .map_err(Ctx::stage_err(Stage::Embed))?
        .with("records", records_digest(&rows));
    let mut writer = if resume {
        StoreWriter::resume_with(&npy, &ids, dim, &source).map_err(err)?
    } else {
        StoreWriter::create_with(&npy, &ids, dim, &source).map_err(Ctx::stage_err(Stage::Embed))?
    };
    let done = usize::try_from(writer.rows())
        .unwrap_or(usize::MAX)
        .min(rows.len());
    let bar = ctx.tracker.bar(rows.len() as u64, "embed");
    bar.set_position(done as u64);
    for chunk in rows[done..].chunks(CHUNK) {
        let banners: Vec<&[u8]> = chunk.iter().map(|(r, _)| r.banner.as_slice()).collect();
        let m = embedder
            .embed(&banners, ctx.config.embed_batch_size)
            .map_err(Ctx::stage_err(Stage::Embed))?;
        let keys: Vec<RecordKey> = chunk.iter().map(|(r, _)| r.key()).collect();
        writer
            .append(&m, &keys)
            .map_err(Ctx::stage_err(Stage::Embed))?;
        writer.checkpoint().map_err(Ctx::stage_err(Stage::Embed))?;
        bar.inc(chunk.len() as u64);
    }
    bar.finish_and_clear();
    let n = writer.finish().map_err(Ctx::stage_err(Stage::Embed))?;
    Ok((
        rel(&[paths::EMBEDDINGS, paths::IDS, paths::PRODUCTS]),
        json!({"rows": n, "dim": dim}),
    ))
}

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

/// One clustering's figures.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct ClusterFigures {
    pub epsilon: f64,
    pub clusters: usize,
    pub outliers: usize,
    pub outlier_share: f64,
    /// Clustered records whose cluster's majority product is theirs (simulated data).
    pub purity: Option<f64>,
    /// Clustered records in their product's largest cluster (simulated data).
    pub completeness: Option<f64>,
    /// The largest clusters: (size, majority product, its share).
    pub largest: Vec<(usize, Option<String>, f64)>,
}

/// HDBSCAN once, re-selected at every epsilon; clusters JSONL keyed by record.
pub(crate) fn cluster(ctx: &Ctx<'_>) -> Result<(Vec<String>, serde_json::Value)> {
    let err = Ctx::stage_err::<density_cluster::Error>(Stage::Cluster);
    let x =
        embed_index::read_npy(ctx.path(paths::REDUCED)).map_err(Ctx::stage_err(Stage::Cluster))?;
    let keys = read_keys(&ctx.path(paths::IDS))?;
    let products: Vec<Option<String>> = super::stage::read_json(&ctx.path(paths::PRODUCTS))?;
    let params = Hdbscan::params(ctx.config.min_cluster_size)
        .min_samples(ctx.config.min_samples)
        .check()
        .map_err(Ctx::stage_err(Stage::Cluster))?;
    let bar = ctx.tracker.bar(x.nrows() as u64, "neighbours");
    let fit = params
        .fit_with_progress(&x, |p| match p {
            Progress::Neighbours { done, .. } => bar.set_position(done as u64),
            Progress::SpanningTree { components } => {
                bar.set_message(format!("{components} trees"));
            }
            _ => bar.set_message("hierarchy"),
        })
        .map_err(err)?;
    bar.finish_and_clear();
    let clusterings = fit
        .select_epsilons(&ctx.config.epsilons)
        .map_err(Ctx::stage_err(Stage::Cluster))?;
    write_with(&ctx.path(paths::CLUSTERS), |w| {
        density_cluster::write_jsonl(w, &keys, &clusterings).map_err(Ctx::stage_err(Stage::Cluster))
    })?;
    let figures: Vec<ClusterFigures> = clusterings
        .iter()
        .map(|c| cluster_figures(c.params.epsilon, &c.labels, &products))
        .collect();
    write_json(&ctx.path(paths::CLUSTER_SUMMARY), &figures)?;
    let summary =
        serde_json::to_value(&figures).map_err(|e| Error::json(paths::CLUSTER_SUMMARY, e))?;
    Ok((rel(&[paths::CLUSTERS, paths::CLUSTER_SUMMARY]), summary))
}

pub(crate) fn cluster_figures(
    epsilon: f64,
    labels: &[Option<usize>],
    products: &[Option<String>],
) -> ClusterFigures {
    let clusters = labels.iter().flatten().max().map_or(0, |m| m + 1);
    let outliers = labels.iter().filter(|l| l.is_none()).count();
    // cluster -> product -> count
    let mut table: HashMap<usize, HashMap<&str, usize>> = HashMap::new();
    let mut sizes = vec![0usize; clusters];
    let mut with_truth = 0usize;
    for (l, p) in labels.iter().zip(products) {
        let Some(l) = *l else { continue };
        sizes[l] += 1;
        if let Some(p) = p {
            with_truth += 1;
            *table.entry(l).or_default().entry(p.as_str()).or_default() += 1;
        }
    }
    let majority = |c: usize| -> Option<(&str, usize)> {
        table
            .get(&c)?
            .iter()
            .max_by(|a, b| a.1.cmp(b.1).then(b.0.cmp(a.0)))
            .map(|(p, n)| (*p, *n))
    };
    let (purity, completeness) = if with_truth == 0 {
        (None, None)
    } else {
        let pure: usize = (0..clusters).filter_map(|c| majority(c).map(|m| m.1)).sum();
        let mut by_product: HashMap<&str, usize> = HashMap::new();
        for counts in table.values() {
            for (p, n) in counts {
                let e = by_product.entry(p).or_default();
                *e = (*e).max(*n);
            }
        }
        let complete: usize = by_product.values().sum();
        (
            Some(pure as f64 / with_truth as f64),
            Some(complete as f64 / with_truth as f64),
        )
    };
    let mut order: Vec<usize> = (0..clusters).collect();
    order.sort_by(|&a, &b| sizes[b].cmp(&sizes[a]).then(a.cmp(&b)));
    let largest = order
        .into_iter()
        .take(10)
        .map(|c| {
            let m = majority(c);
            (
                sizes[c],
                m.map(|(p, _)| p.to_owned()),
                m.map_or(0.0, |(_, n)| n as f64 / sizes[c].max(1) as f64),
            )
        })
        .collect();
    ClusterFigures {
        epsilon,
        clusters,
        outliers,
        outlier_share: outliers as f64 / labels.len().max(1) as f64,
        purity,
        completeness,
        largest,
    }
}

fn read_keys(path: &Path) -> Result<Vec<RecordKey>> {
    let text = std::fs::read_to_string(path).map_err(|e| Error::io(path, e))?;
    text.lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| serde_json::from_str(l).map_err(|e| Error::json(path, e)))
        .collect()
}

/// The clusterings of the clusters file, as labels per row.
fn read_clusterings(path: &Path, rows: usize) -> Result<Vec<lcs_fingerprint::Clustering>> {
    let text = std::fs::read_to_string(path).map_err(|e| Error::io(path, e))?;
    let mut out: Vec<lcs_fingerprint::Clustering> = Vec::new();
    for (i, line) in text.lines().filter(|l| !l.trim().is_empty()).enumerate() {
        let rec: ClusterRecord<RecordKey> =
            serde_json::from_str(line).map_err(|e| Error::json(path, e))?;
        if out.is_empty() {
            out = rec
                .clusters
                .iter()
                .map(|a| lcs_fingerprint::Clustering {
                    name: format!("eps={}", a.epsilon),
                    labels: vec![None; rows],
                })
                .collect();
        }
        for (c, a) in out.iter_mut().zip(&rec.clusters) {
            if let (Some(slot), Ok(l)) = (c.labels.get_mut(i), usize::try_from(a.label)) {
                *slot = Some(l);
            }
        }
    }
    Ok(out)
}

/// Per-fingerprint ground-truth score.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct FingerprintScore {
    /// The product most of its matches belong to.
    pub product: Option<String>,
    /// Share of its matches that are of that product.
    pub product_precision: f64,
    /// Banners it matches.
    pub matched: usize,
}

/// HTTP rows of the embedded records with their cluster labels.
pub(crate) struct HttpRows {
    pub records: Vec<Row>,
    pub clusterings: Vec<lcs_fingerprint::Clustering>,
}

pub(crate) fn http_rows(ctx: &Ctx<'_>) -> Result<HttpRows> {
    let rows = ctx.embedded_records()?;
    let all = read_clusterings(&ctx.path(paths::CLUSTERS), rows.len())?;
    let keep: Vec<bool> = rows.iter().map(|(r, _)| r.is_http()).collect();
    let clusterings = all
        .into_iter()
        .map(|c| lcs_fingerprint::Clustering {
            name: c.name,
            labels: c
                .labels
                .into_iter()
                .zip(&keep)
                .filter(|(_, k)| **k)
                .map(|(l, _)| l)
                .collect(),
        })
        .collect();
    let records = rows
        .into_iter()
        .zip(keep)
        .filter(|(_, k)| *k)
        .map(|(r, _)| r)
        .collect();
    Ok(HttpRows {
        records,
        clusterings,
    })
}

/// Fingerprints per cluster and header, pooled over the clusterings, sanitized and scored; as
/// JSONL and as Recog XML; on simulated data scored against the products.
pub(crate) fn fingerprint(ctx: &Ctx<'_>) -> Result<(Vec<String>, serde_json::Value)> {
    let rows = http_rows(ctx)?;
    let banners: Vec<&[u8]> = rows
        .records
        .iter()
        .map(|(r, _)| r.banner.as_slice())
        .collect();
    let fps = FingerprintParams::default()
        .headers(ctx.config.fingerprint_headers.clone())
        .k(ctx.config.fingerprint_k)
        .n_draws(ctx.config.fingerprint_draws)
        .seed(ctx.config.seed)
        .generate(&banners, &rows.clusterings)
        .map_err(Ctx::stage_err(Stage::Fingerprint))?;
    write_with(&ctx.path(paths::FINGERPRINTS), |w| {
        lcs_fingerprint::write_jsonl(&fps, w).map_err(Ctx::stage_err(Stage::Fingerprint))
    })?;
    let mut outputs = rel(&[paths::FINGERPRINTS, paths::FINGERPRINT_SCORES]);
    for header in &ctx.config.fingerprint_headers {
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
    let scores = score_fingerprints(&fps, &rows.records)?;
    write_json(&ctx.path(paths::FINGERPRINT_SCORES), &scores)?;
    let mut per_header: BTreeMap<&str, usize> = BTreeMap::new();
    for f in &fps {
        *per_header.entry(f.header.as_str()).or_default() += 1;
    }
    let mean_precision = fps.iter().map(|f| f.precision).sum::<f64>() / fps.len().max(1) as f64;
    Ok((
        outputs,
        json!({"fingerprints": fps.len(), "per_header": per_header,
               "mean_cluster_precision": mean_precision, "http_records": rows.records.len()}),
    ))
}

fn score_fingerprints(fps: &[Fingerprint], records: &[Row]) -> Result<Vec<FingerprintScore>> {
    if records.iter().all(|(_, p)| p.is_none()) {
        return Ok(Vec::new());
    }
    let parsed: Vec<(HttpBanner<'_>, Option<&str>)> = records
        .iter()
        .map(|(r, p)| (HttpBanner::parse(&r.banner), p.as_deref()))
        .collect();
    let mut out = Vec::with_capacity(fps.len());
    for f in fps {
        let re =
            lcs_fingerprint::compile_regex(&f.regex).map_err(Ctx::stage_err(Stage::Fingerprint))?;
        let mut counts: HashMap<&str, usize> = HashMap::new();
        let mut matched = 0usize;
        for (http, product) in &parsed {
            if http.get_all(&f.header).any(|v| re.is_match(v)) {
                matched += 1;
                if let Some(p) = product {
                    *counts.entry(p).or_default() += 1;
                }
            }
        }
        let best = counts.iter().max_by(|a, b| a.1.cmp(b.1).then(b.0.cmp(a.0)));
        out.push(FingerprintScore {
            product: best.map(|(p, _)| (*p).to_owned()),
            product_precision: best.map_or(0.0, |(_, n)| *n as f64 / matched.max(1) as f64),
            matched,
        });
    }
    Ok(out)
}

/// The Recog comparison of one header (a serialisable digest of
/// [`recog_compat::HeaderComparison`]).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct HeaderRecovery {
    pub header: String,
    pub database: String,
    pub banners_with_header: usize,
    pub recog_labelled: usize,
    pub generated_patterns: usize,
    pub generated_matched: usize,
    pub recovered: usize,
    /// `None` when Recog labels no banner (the share is undefined).
    pub recovered_coverage: Option<f64>,
    pub partial: usize,
    pub partial_coverage: Option<f64>,
    pub new_candidates: usize,
}

/// The comparison file.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub(crate) struct Comparison {
    /// Why the comparison was not made, if it was not.
    pub skipped: Option<String>,
    pub recog_dir: Option<String>,
    pub headers: Vec<HeaderRecovery>,
    /// Fingerprint index (line of fingerprints.jsonl, from 0) -> Recog descriptions it
    /// recovers (best overlap of that Recog fingerprint).
    pub descriptions: BTreeMap<usize, Vec<String>>,
}

/// Compares the fingerprints with Recog's Server / Set-Cookie / WWW-Authenticate databases on
/// the embedded HTTP banners.
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
    let text = std::fs::read_to_string(path).map_err(|e| Error::io(path, e))?;
    text.lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| serde_json::from_str(l).map_err(|e| Error::json(path, e)))
        .collect()
}

fn compare_with_recog(ctx: &Ctx<'_>, dir: &Path) -> Result<Comparison> {
    let fps = read_fingerprints(&ctx.path(paths::FINGERPRINTS))?;
    let rows = http_rows(ctx)?;
    let headers: Vec<HttpHeader> = HttpHeader::ALL
        .iter()
        .copied()
        .filter(|h| {
            ctx.config
                .fingerprint_headers
                .iter()
                .any(|n| HttpHeader::from_name(n) == Some(*h))
        })
        .collect();
    let mut dbs = Vec::new();
    for h in &headers {
        let path = dir.join(h.database_file());
        dbs.push((
            *h,
            Database::from_path(&path).map_err(Ctx::stage_err(Stage::Recog))?,
        ));
    }
    let corpus: Vec<CorpusBanner> = rows
        .records
        .iter()
        .map(|(r, _)| {
            let http = HttpBanner::parse(&r.banner);
            CorpusBanner {
                headers: http
                    .headers()
                    .iter()
                    .filter_map(|h| {
                        let name = String::from_utf8_lossy(h.name);
                        HttpHeader::from_name(&name)
                            .filter(|x| headers.contains(x))
                            .map(|x| (x.name().to_owned(), h.value.to_vec()))
                    })
                    .collect(),
            }
        })
        .collect();
    let generated: Vec<GeneratedPattern> = fps
        .iter()
        .map(|f| GeneratedPattern {
            header: f.header.clone(),
            pattern: f.regex.replace("(?P<version>", "("),
        })
        .collect();
    let refs: Vec<(HttpHeader, &Database)> = dbs.iter().map(|(h, d)| (*h, d)).collect();
    let report = recog_compat::compare(&refs, &generated, &corpus, CompareParams::default())
        .map_err(Ctx::stage_err(Stage::Recog))?;
    let mut out = Comparison {
        recog_dir: Some(dir.display().to_string()),
        ..Comparison::default()
    };
    for h in &report {
        out.headers.push(HeaderRecovery {
            header: h.header.name().to_owned(),
            database: h.header.database_file().to_owned(),
            banners_with_header: h.banners_with_header,
            recog_labelled: h.recog_labelled,
            generated_patterns: h.generated_patterns,
            generated_matched: h.generated_matched,
            recovered: h.recovered,
            recovered_coverage: finite(h.recovered_coverage),
            partial: h.partial,
            partial_coverage: finite(h.partial_coverage),
            new_candidates: h.new_candidates.len(),
        });
        for r in &h.recog {
            if let Some(g) = r.best_generated
                && r.best_overlap > 0.0
            {
                out.descriptions
                    .entry(g)
                    .or_default()
                    .push(r.description.clone());
            }
        }
    }
    Ok(out)
}

fn finite(x: f64) -> Option<f64> {
    x.is_finite().then_some(x)
}

/// Reads `evaluate/evaluation.json` leniently: JSON has no NaN, so serde writes the undefined
/// shares (no pair of a kind) as `null`, which read back as NaN here.
pub(crate) fn read_evaluation(path: &Path) -> Result<Evaluation> {
    use contrastive_trainer::{DistanceReport, Share, TokenMetrics};
    use serde_json::Value;
    let v: Value = super::stage::read_json(path)?;
    let f = |v: &Value, k: &str| v.get(k).and_then(Value::as_f64).unwrap_or(f64::NAN);
    let u = |v: &Value, k: &str| v.get(k).and_then(Value::as_u64).unwrap_or(0);
    let metrics = |v: &Value| -> Option<TokenMetrics> {
        v.as_object()?;
        Some(TokenMetrics {
            tokens: u(v, "tokens"),
            accuracy: f(v, "accuracy"),
            stable_precision: f(v, "stable_precision"),
            stable_recall: f(v, "stable_recall"),
            dynamic_precision: f(v, "dynamic_precision"),
            dynamic_recall: f(v, "dynamic_recall"),
        })
    };
    let share = |v: &Value, k: &str| Share {
        pairs: u(&v[k], "pairs"),
        share: f(&v[k], "share"),
    };
    let d = &v["distances"];
    let bad = || Error::json(path, serde::de::Error::custom("no tokens_vs_labels"));
    Ok(Evaluation {
        pairs: u(&v, "pairs"),
        tokens_vs_labels: metrics(&v["tokens_vs_labels"]).ok_or_else(bad)?,
        tokens_vs_truth: metrics(&v["tokens_vs_truth"]),
        labels_vs_truth: metrics(&v["labels_vs_truth"]),
        distances: DistanceReport {
            threshold: f(d, "threshold") as f32,
            matching_below: share(d, "matching_below"),
            unchanged_below: share(d, "unchanged_below"),
            random_above: share(d, "random_above"),
            random_different_product_above: share(d, "random_different_product_above"),
            random_same_product_above: share(d, "random_same_product_above"),
            matching_median: f(d, "matching_median") as f32,
            random_median: f(d, "random_median") as f32,
        },
    })
}
