//! The self-contained HTML report (`report/index.html`) and its plots.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use banner_identify::{ClusteringLabels, LabelSource};
use bannerlm_base::escape_html;
use contrastive_trainer::{Evaluation, TokenMetrics};
use density_cluster::ClusterFigures;
use lcs_fingerprint::{DroppedFingerprint, Fingerprint, FingerprintScore, ProductCoverage};

use super::config::{Input, PipelineConfig};
use super::stage::{StageRecord, format_kib};
use super::stages::{AnnotatedExample, Comparison};

/// Everything the report shows, read from the output folder.
pub(crate) struct ReportData<'a> {
    pub config: &'a PipelineConfig,
    pub stages: &'a [StageRecord],
    pub evaluation: Option<Evaluation>,
    pub examples: Vec<AnnotatedExample>,
    pub clusters: Vec<ClusterFigures<String>>,
    /// The figures of each protocol's own clusterings (`cluster/by-protocol.json`).
    pub clusters_by_protocol: BTreeMap<String, Vec<ClusterFigures<String>>>,
    /// Each cluster's label per clustering (the bundle's `cluster_labels.json`), when written.
    pub cluster_labels: Vec<ClusteringLabels>,
    pub fingerprints: Vec<Fingerprint>,
    pub scores: Vec<FingerprintScore>,
    /// Fingerprints dropped as generic, with the reason (`fingerprint/dropped.json`).
    pub dropped: Vec<DroppedFingerprint>,
    /// Products covered by a precise fingerprint (`fingerprint/coverage.json`; `None` on data
    /// without products).
    pub coverage: Option<ProductCoverage>,
    pub comparison: Option<Comparison>,
    /// The histogram as inline SVG.
    pub histogram_svg: Option<String>,
    /// The histogram as a base64 PNG, when one was drawn.
    pub histogram_png: Option<String>,
}

fn pct(x: f64) -> String {
    if x.is_finite() {
        format!("{:.1}%", 100.0 * x)
    } else {
        "–".into()
    }
}

fn opt_pct(x: Option<f64>) -> String {
    x.map_or_else(|| "–".into(), pct)
}

const STYLE: &str = "body{font-family:system-ui,sans-serif;margin:2em auto;max-width:1200px;\
color:#222;line-height:1.4}h1{margin-bottom:0}h2{border-bottom:1px solid #ccc;margin-top:2em}\
table{border-collapse:collapse;margin:1em 0;font-size:14px}th,td{border:1px solid #ddd;\
padding:4px 8px;text-align:left;vertical-align:top}th{background:#f4f4f4}td.n{text-align:right;\
font-variant-numeric:tabular-nums}code{font-size:13px;word-break:break-all}\
pre.banner{background:#fafafa;padding:8px;border:1px solid #ddd;white-space:pre-wrap;\
font-size:13px;margin:0 0 1em}.dyn{color:#aaa}.note{color:#666;font-size:14px}\
figure{margin:1em 0}figcaption{color:#555;font-size:14px}ul.ex{margin:0;padding-left:1.2em}";

/// Renders the page.
pub(crate) fn render(d: &ReportData<'_>) -> String {
    let mut h = String::new();
    let _ = write!(
        h,
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width\">\
         <title>bannerlm report</title><style>{STYLE}</style></head><body>\n\
         <h1>bannerlm report</h1>\n<p class=\"note\">Device fingerprints from scan banners with a \
         language model: the method of Sarabi, Yin and Liu (IMC 2023), run end to end by \
         <code>bannerlm::pipeline</code>. Paper figures (on Censys data) are shown beside ours \
         where they exist.</p>\n"
    );
    parameters(&mut h, d);
    evaluation(&mut h, d);
    examples(&mut h, d);
    clusters(&mut h, d);
    fingerprints(&mut h, d);
    dropped(&mut h, d);
    recog(&mut h, d);
    ground_truth(&mut h, d);
    h.push_str("</body></html>\n");
    h
}

fn parameters(h: &mut String, d: &ReportData<'_>) {
    let c = d.config;
    h.push_str("<h2 id=\"run\">Run</h2>\n<table id=\"parameters\"><tr><th>parameter</th><th>value</th></tr>\n");
    let input = match &c.input {
        Input::Simulated {
            hosts,
            snapshots,
            form,
        } => format!("simulated scan: {hosts} hosts, {snapshots} snapshots, {form:?} form"),
        Input::Files { patterns } => format!("files: {}", patterns.join(" ")),
    };
    let m = &c.model;
    let rows = [
        ("input", input),
        ("seed", c.seed.to_string()),
        ("vocabulary", c.vocab_size.to_string()),
        (
            "model",
            format!(
                "hidden {}, {} layers, {} heads, FFN {}, {} tokens",
                m.hidden_size,
                m.num_hidden_layers,
                m.num_attention_heads,
                m.intermediate_size,
                m.max_input_len
            ),
        ),
        (
            "pretraining",
            format!(
                "{} steps × {} sequences, lr {:e}, warm-up {}",
                c.pretrain.steps,
                c.pretrain.batch_size,
                c.pretrain.learning_rate,
                c.pretrain.warmup_steps
            ),
        ),
        (
            "fine-tuning",
            format!(
                "{} steps × {} pairs, lr {:e}, warm-up {}",
                c.finetune.steps,
                c.finetune.batch_size,
                c.finetune.learning_rate,
                c.finetune.warmup_steps
            ),
        ),
        ("PCA", format!("{} components", c.pca_components)),
        (
            "HDBSCAN",
            format!(
                "min_cluster_size {}, min_samples {}, epsilons {:?}",
                c.min_cluster_size, c.min_samples, c.epsilons
            ),
        ),
        (
            "fingerprints",
            format!(
                "{} draws of {} per cluster; headers {}",
                c.fingerprint_draws,
                c.fingerprint_k,
                c.fingerprint_headers.join(", ")
            ),
        ),
    ];
    for (k, v) in rows {
        let _ = writeln!(h, "<tr><td>{}</td><td>{}</td></tr>", k, escape_html(&v));
    }
    h.push_str("</table>\n<table id=\"timings\"><tr><th>stage</th><th>wall time</th><th>peak memory</th><th>note</th></tr>\n");
    let mut total = 0.0;
    for s in d.stages {
        total += s.seconds;
        let _ = writeln!(
            h,
            "<tr><td>{}</td><td class=\"n\">{:.1} s</td><td class=\"n\">{}</td><td>{}</td></tr>",
            s.stage,
            s.seconds,
            s.peak_rss_kib.map_or_else(|| "–".into(), format_kib),
            if s.skipped { "from an earlier run" } else { "" }
        );
    }
    let _ = writeln!(
        h,
        "<tr><th>total</th><th class=\"n\">{total:.1} s</th><th></th><th></th></tr></table>"
    );
}

fn metrics_row(h: &mut String, name: &str, m: Option<&TokenMetrics>, paper: &str) {
    let Some(m) = m else { return };
    let _ = writeln!(
        h,
        "<tr><td>{name}</td><td class=\"n\">{}</td><td class=\"n\">{} / {}</td><td class=\"n\">{} / {}</td><td class=\"n\">{}</td><td>{paper}</td></tr>",
        pct(m.accuracy),
        pct(m.stable_precision),
        pct(m.stable_recall),
        pct(m.dynamic_precision),
        pct(m.dynamic_recall),
        m.tokens
    );
}

fn evaluation(h: &mut String, d: &ReportData<'_>) {
    h.push_str("<h2 id=\"evaluation\">Held-out evaluation</h2>\n");
    let Some(e) = &d.evaluation else {
        h.push_str("<p class=\"note\">No evaluation.</p>\n");
        return;
    };
    let _ = writeln!(
        h,
        "<p>{} held-out pairs (same service in two consecutive snapshots, every protocol, hosts never trained on); per protocol and per gap below.</p>",
        e.pairs
    );
    h.push_str("<table id=\"tokens\"><tr><th>token stability</th><th>accuracy</th><th>stable P / R</th><th>dynamic P / R</th><th>tokens</th><th>paper</th></tr>\n");
    metrics_row(
        h,
        "model vs the paper's labels",
        Some(&e.tokens_vs_labels),
        "98.3% (96.9/98.9, 99.3/97.9)",
    );
    metrics_row(h, "model vs ground truth", e.tokens_vs_truth.as_ref(), "");
    metrics_row(
        h,
        "paper's labels vs ground truth",
        e.labels_vs_truth.as_ref(),
        "",
    );
    h.push_str("</table>\n");
    let x = &e.distances;
    let _ = writeln!(
        h,
        "<table id=\"distances\"><tr><th>pair distances (threshold {})</th><th>share</th><th>pairs</th><th>paper</th></tr>\n\
         <tr><td>matching pairs below</td><td class=\"n\">{}</td><td class=\"n\">{}</td><td>97.0%</td></tr>\n\
         <tr><td>unchanged services below</td><td class=\"n\">{}</td><td class=\"n\">{}</td><td></td></tr>\n\
         <tr><td>random pairs above</td><td class=\"n\">{}</td><td class=\"n\">{}</td><td>97.8%</td></tr>\n\
         <tr><td>random pairs of different products above</td><td class=\"n\">{}</td><td class=\"n\">{}</td><td></td></tr>\n\
         <tr><td>random pairs of the same product above</td><td class=\"n\">{}</td><td class=\"n\">{}</td><td></td></tr>\n\
         <tr><td>median distance, matching / random</td><td class=\"n\">{:.4} / {:.4}</td><td></td><td></td></tr></table>",
        x.threshold,
        pct(x.matching_below.share),
        x.matching_below.pairs,
        pct(x.unchanged_below.share),
        x.unchanged_below.pairs,
        pct(x.random_above.share),
        x.random_above.pairs,
        pct(x.random_different_product_above.share),
        x.random_different_product_above.pairs,
        pct(x.random_same_product_above.share),
        x.random_same_product_above.pairs,
        x.matching_median,
        x.random_median
    );
    groups(h, "by-protocol", "protocol", &e.by_protocol);
    if e.by_gap.len() > 1 {
        groups(h, "by-gap", "gap (snapshots)", &e.by_gap);
    }
    if let Some(png) = &d.histogram_png {
        let _ = writeln!(
            h,
            "<figure id=\"figure3\"><img alt=\"distance histogram\" width=\"760\" src=\"data:image/png;base64,{png}\">\
             <figcaption>Figure 3: L2 distances of matching pairs vs random pairs (log scale).</figcaption></figure>"
        );
    } else if let Some(svg) = &d.histogram_svg {
        let _ = writeln!(
            h,
            "<figure id=\"figure3\">{svg}<figcaption>Figure 3: L2 distances of matching pairs vs random pairs (log scale).</figcaption></figure>"
        );
    }
}

/// One row per group (protocol or gap): the model's token accuracy against ground truth beside
/// the paper's labels' own (the target), and the two distance shares.
fn groups(
    h: &mut String,
    id: &str,
    what: &str,
    groups: &BTreeMap<String, contrastive_trainer::GroupEvaluation>,
) {
    if groups.is_empty() {
        return;
    }
    let _ = writeln!(
        h,
        "<table id=\"{id}\"><tr><th>{what}</th><th>pairs</th><th>model vs truth</th><th>labels vs truth (target)</th><th>model vs labels</th><th>unchanged below 0.1</th><th>random different-product above 0.1</th></tr>"
    );
    for (name, g) in groups {
        let x = &g.distances;
        let _ = writeln!(
            h,
            "<tr><td>{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"n\">{} of {}</td><td class=\"n\">{} of {}</td></tr>",
            escape_html(name),
            g.pairs,
            opt_pct(g.tokens_vs_truth.map(|t| t.accuracy)),
            opt_pct(g.labels_vs_truth.map(|t| t.accuracy)),
            pct(g.tokens_vs_labels.accuracy),
            pct(x.unchanged_below.share),
            x.unchanged_below.pairs,
            pct(x.random_different_product_above.share),
            x.random_different_product_above.pairs,
        );
    }
    h.push_str("</table>\n");
}

fn examples(h: &mut String, d: &ReportData<'_>) {
    h.push_str("<h2 id=\"annotated\">Annotated banners</h2>\n<p class=\"note\">Grey: parts the model predicts to be dynamic (they change between scans); the rest is the stable text the embedding is made of (the paper's Figure 2). Control characters are shown escaped.</p>\n");
    for ex in &d.examples {
        if let Some(p) = &ex.product {
            let _ = writeln!(h, "<p class=\"note\">{}</p>", escape_html(p));
        }
        // Built by contrastive_trainer::Annotation::to_html: banner text escaped there.
        h.push_str(&ex.html);
    }
}

/// The cells of one clustering's figures: epsilon, clusters, outliers, outlier share, purity,
/// completeness.
fn figure_cells(c: &ClusterFigures<String>) -> String {
    format!(
        "<td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td>",
        c.epsilon,
        c.clusters,
        c.outliers,
        pct(c.outlier_share),
        opt_pct(c.purity),
        opt_pct(c.completeness)
    )
}

fn clusters(h: &mut String, d: &ReportData<'_>) {
    const PAPER: [(f64, &str); 4] = [
        (0.01, "5452 / 5.86%"),
        (0.02, "3989 / 4.57%"),
        (0.05, "2138 / 2.32%"),
        (0.1, "736 / 0.63%"),
    ];
    h.push_str("<h2 id=\"clusters\">Clusters</h2>\n<table id=\"cluster-table\"><tr><th>epsilon</th><th>clusters</th><th>outliers</th><th>outlier share</th><th>purity</th><th>completeness</th><th>paper (clusters / outliers)</th></tr>\n");
    for c in &d.clusters {
        let paper = PAPER
            .iter()
            .find(|(e, _)| (e - c.epsilon).abs() < 1e-12)
            .map_or("", |p| p.1);
        let _ = writeln!(h, "<tr>{}<td>{paper}</td></tr>", figure_cells(c));
    }
    h.push_str("</table>\n<p class=\"note\">Purity: clustered records whose cluster's majority product is theirs. Completeness: clustered records in their product's largest cluster. Both against scan-sim's ground truth; empty on real data.</p>\n");
    if !d.clusters_by_protocol.is_empty() {
        h.push_str("<p>Each protocol is clustered on its own (HDBSCAN fitted on its records only), so no cluster holds records of two protocols; the table above counts all of them.</p>\n<table id=\"cluster-protocols\"><tr><th>protocol</th><th>epsilon</th><th>clusters</th><th>outliers</th><th>outlier share</th><th>purity</th><th>completeness</th></tr>\n");
        for (protocol, figures) in &d.clusters_by_protocol {
            for c in figures {
                let _ = writeln!(
                    h,
                    "<tr><td>{}</td>{}</tr>",
                    escape_html(protocol),
                    figure_cells(c)
                );
            }
        }
        h.push_str("</table>\n");
    }
    if let Some(c) = d.clusters.last() {
        let labels = d
            .cluster_labels
            .iter()
            .find(|l| (l.epsilon - c.epsilon).abs() < 1e-12);
        let _ = writeln!(
            h,
            "<table id=\"largest\"><tr><th colspan=\"5\">largest clusters at epsilon {}</th></tr><tr><th>size</th><th>label</th><th>label covers</th><th>majority product</th><th>share</th></tr>",
            c.epsilon
        );
        for l in &c.largest {
            let label = l
                .cluster
                .and_then(|k| labels.and_then(|ls| ls.labels.get(&k)));
            let (text, covers) = label.map_or_else(
                || ("–".to_owned(), "–".to_owned()),
                |x| {
                    let source = match x.source {
                        LabelSource::Recog => "Recog",
                        LabelSource::Fingerprint => "fingerprint",
                        LabelSource::Server => "Server",
                    };
                    (
                        format!(
                            "{} <span class=\"note\">({source})</span>",
                            escape_html(&x.label)
                        ),
                        pct(x.share),
                    )
                },
            );
            let _ = writeln!(
                h,
                "<tr><td class=\"n\">{}</td><td>{text}</td><td class=\"n\">{covers}</td><td>{}</td><td class=\"n\">{}</td></tr>",
                l.size,
                escape_html(l.majority.as_deref().unwrap_or("–")),
                if l.majority.is_some() {
                    pct(l.share)
                } else {
                    "–".to_owned()
                }
            );
        }
        h.push_str("</table>\n<p class=\"note\">Label: the Recog description that matches most of the cluster's banners (with a Recog folder), else the cluster's fingerprint with the largest support, else its most common Server value; the share of its banners the label covers. Majority product: from scan-sim's ground truth, empty on real data.</p>\n");
    }
}

fn fingerprints(h: &mut String, d: &ReportData<'_>) {
    const SHOWN: usize = 400;
    let _ = writeln!(
        h,
        "<h2 id=\"fingerprints\">Fingerprints</h2>\n<p>{} fingerprints (the paper's Table 1). Support: banners of its cluster it matches; precision: the share of all its matches inside its cluster.{}</p>",
        d.fingerprints.len(),
        if d.fingerprints.len() > SHOWN {
            format!(
                " The {SHOWN} with the largest support are shown; all are in fingerprint/fingerprints.jsonl."
            )
        } else {
            String::new()
        }
    );
    let truth = !d.scores.is_empty();
    h.push_str("<table id=\"fingerprint-table\"><tr><th>header</th><th>regex</th><th>support</th><th>precision</th>");
    if truth {
        h.push_str("<th>product (precision)</th>");
    }
    h.push_str("<th>examples</th><th>Recog</th></tr>\n");
    let mut order: Vec<usize> = (0..d.fingerprints.len()).collect();
    order.sort_by(|&a, &b| {
        d.fingerprints[b]
            .support
            .cmp(&d.fingerprints[a].support)
            .then(a.cmp(&b))
    });
    let empty = BTreeMap::new();
    let descriptions = d.comparison.as_ref().map_or(&empty, |c| &c.descriptions);
    for &i in order.iter().take(SHOWN) {
        let f = &d.fingerprints[i];
        let _ = write!(
            h,
            "<tr><td>{}</td><td><code>{}</code></td><td class=\"n\">{} / {}</td><td class=\"n\">{}</td>",
            escape_html(&f.header),
            escape_html(&f.regex),
            f.support,
            f.cluster_size,
            pct(f.precision)
        );
        if truth {
            let s = d.scores.get(i);
            let _ = write!(
                h,
                "<td>{} ({})</td>",
                escape_html(s.and_then(|s| s.product.as_deref()).unwrap_or("–")),
                s.map_or_else(|| "–".into(), |s| pct(s.product_precision))
            );
        }
        h.push_str("<td><ul class=\"ex\">");
        for e in f.examples.iter().take(3) {
            let _ = write!(h, "<li><code>{}</code></li>", escape_html(e));
        }
        let recog = descriptions
            .get(&i)
            .map(|v| {
                v.iter()
                    .map(|s| escape_html(s))
                    .collect::<Vec<_>>()
                    .join("<br>")
            })
            .unwrap_or_default();
        let _ = writeln!(h, "</ul></td><td>{recog}</td></tr>");
    }
    h.push_str("</table>\n");
}

/// The fingerprints dropped as generic, with the reason, in their own table.
fn dropped(h: &mut String, d: &ReportData<'_>) {
    const SHOWN: usize = 200;
    let mut counts: BTreeMap<&str, usize> = BTreeMap::new();
    for x in &d.dropped {
        *counts.entry(x.reason.name()).or_default() += 1;
    }
    let by_reason = counts
        .iter()
        .map(|(r, n)| format!("{n} {}", r.replace('_', " ")))
        .collect::<Vec<_>>()
        .join(", ");
    let _ = writeln!(
        h,
        "<h2 id=\"dropped\">Dropped patterns</h2>\n<p>{} patterns dropped as generic{}: too little informative literal text (letters and digits outside cookie attributes and authentication syntax), produced by more than half of a clustering's clusters (common vocabulary), precision (share of its matches in the clusters that produced it) below {}, or the same banners as a more specific pattern of the header (lcs-fingerprint's <code>DropReason</code>). All are in fingerprint/dropped.json.</p>",
        d.dropped.len(),
        if by_reason.is_empty() {
            String::new()
        } else {
            format!(" ({by_reason})")
        },
        d.config.fingerprint_min_precision
    );
    if d.dropped.is_empty() {
        return;
    }
    h.push_str("<table id=\"dropped-table\"><tr><th>header</th><th>regex</th><th>reason</th><th>support</th><th>precision</th><th>examples</th></tr>\n");
    for x in d.dropped.iter().take(SHOWN) {
        let f = &x.fingerprint;
        let _ = write!(
            h,
            "<tr><td>{}</td><td><code>{}</code></td><td>{}</td><td class=\"n\">{} / {}</td><td class=\"n\">{}</td><td><ul class=\"ex\">",
            escape_html(&f.header),
            escape_html(&f.regex),
            escape_html(&x.reason.to_string()),
            f.support,
            f.cluster_size,
            pct(f.precision)
        );
        for e in f.examples.iter().take(2) {
            let _ = write!(h, "<li><code>{}</code></li>", escape_html(e));
        }
        h.push_str("</ul></td></tr>\n");
    }
    h.push_str("</table>\n");
}

fn recog(h: &mut String, d: &ReportData<'_>) {
    h.push_str("<h2 id=\"recog\">Recog recovery</h2>\n");
    let Some(c) = &d.comparison else {
        h.push_str("<p class=\"note\">No comparison.</p>\n");
        return;
    };
    if let Some(why) = &c.skipped {
        let _ = writeln!(
            h,
            "<p class=\"note\" id=\"recog-skipped\">Skipped: {}</p>",
            escape_html(why)
        );
        return;
    }
    h.push_str("<table id=\"recog-table\"><tr><th>header</th><th>banners with it</th><th>Recog-labelled</th><th>our patterns</th><th>recovered</th><th>coverage</th><th>partial</th><th>coverage</th><th>new candidates</th><th>match Recog's examples</th><th>paper recovered / partial</th></tr>\n");
    for r in &c.headers {
        let paper = match r.header.as_str() {
            "Server" => "117 (98.1%) / 251 (99.3%)",
            "Set-Cookie" => "9 (63.2%) / 25 (89.6%)",
            "WWW-Authenticate" => "22 (61.2%) / 51 (96.1%)",
            _ => "",
        };
        let _ = writeln!(
            h,
            "<tr><td>{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td><td>{paper}</td></tr>",
            escape_html(&r.header),
            r.banners_with_header,
            r.recog_labelled,
            r.generated_patterns,
            r.recovered,
            opt_pct(r.recovered_coverage),
            r.partial,
            opt_pct(r.partial_coverage),
            r.new_candidates,
            match (r.examples_matched, r.examples_compared) {
                (Some(m), Some(n)) => format!("{m} / {n}"),
                _ => "–".into(),
            }
        );
    }
    let _ = writeln!(
        h,
        "</table>\n<p class=\"note\">Recovered: a generated pattern overlaps the Recog fingerprint's banners by at least 90%. Partial: generated patterns inside it cover more than 90% of its banners. Coverage: share of Recog-labelled banners. Text protocols (<code>ssh.banner</code>, ...): the greeting as Recog matches it, on the records of that protocol; match Recog's examples: of our patterns that are the best overlap of a Recog fingerprint with examples, those matching one of its examples. Recog from {}.</p>",
        escape_html(c.recog_dir.as_deref().unwrap_or(""))
    );
}

fn ground_truth(h: &mut String, d: &ReportData<'_>) {
    if d.scores.is_empty() {
        return;
    }
    h.push_str("<h2 id=\"truth\">Ground truth (simulated data)</h2>\n<p class=\"note\">Per product of the simulation: the fingerprints whose matches are mostly of that product, and how pure their matches are.</p>\n<table id=\"product-precision\"><tr><th>product</th><th>fingerprints</th><th>mean precision</th><th>lowest</th></tr>\n");
    let mut by_product: BTreeMap<&str, Vec<f64>> = BTreeMap::new();
    for s in &d.scores {
        if let Some(p) = &s.product {
            by_product
                .entry(p.as_str())
                .or_default()
                .push(s.product_precision);
        }
    }
    let mut all = Vec::new();
    for (p, v) in &by_product {
        all.extend_from_slice(v);
        let mean = v.iter().sum::<f64>() / v.len() as f64;
        let low = v.iter().copied().fold(f64::INFINITY, f64::min);
        let _ = writeln!(
            h,
            "<tr><td>{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td></tr>",
            escape_html(p),
            v.len(),
            pct(mean),
            pct(low)
        );
    }
    let mean = all.iter().sum::<f64>() / all.len().max(1) as f64;
    let _ = writeln!(
        h,
        "<tr><th>all</th><th class=\"n\">{}</th><th class=\"n\">{}</th><th></th></tr></table>",
        all.len(),
        pct(mean)
    );
    if let Some(c) = &d.coverage {
        let uncovered = c
            .uncovered
            .iter()
            .map(|p| escape_html(p))
            .collect::<Vec<_>>()
            .join(", ");
        let _ = writeln!(
            h,
            "<p id=\"product-coverage\">Products with at least {} records (all protocols) covered by a fingerprint of product precision at least {}: {} of {} ({}; issue 25 asks for 90%). Not covered: {}.</p>",
            c.min_records,
            c.min_precision,
            c.covered,
            c.products,
            opt_pct(c.share),
            if uncovered.is_empty() {
                "none".into()
            } else {
                uncovered
            }
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escaping_leaves_no_markup_or_control_characters() {
        let s = escape_html("<script>\u{1b}[31m\r\n&\"'</script>");
        assert!(!s.contains('<') && !s.contains('>') && !s.chars().any(char::is_control));
        assert!(s.contains("&lt;script&gt;") && s.contains("\\u{1b}") && s.contains("&amp;"));
    }
}

/// Banner bytes shown per side of a diff.
const DIFF_BYTES: usize = 4_000;

/// `text` with the bytes outside `kept` (ranges of matching bytes) wrapped in `<tag>`, all
/// escaped.
fn marked(text: &[u8], kept: &[(usize, usize)], tag: &str) -> String {
    let mut h = String::new();
    let mut pos = 0;
    let push = |h: &mut String, from: usize, to: usize, changed: bool| {
        if from >= to {
            return;
        }
        let part = escape_html(&String::from_utf8_lossy(&text[from..to]));
        if changed {
            let _ = write!(h, "<{tag}>{part}</{tag}>");
        } else {
            h.push_str(&part);
        }
    };
    for &(start, len) in kept {
        let start = start.min(text.len());
        let end = (start + len).min(text.len());
        push(&mut h, pos, start, true);
        push(&mut h, start, end, false);
        pos = end;
    }
    push(&mut h, pos, text.len(), true);
    h
}

/// The old and new banner as two escaped `<pre>` blocks, the bytes that differ marked (difflib's
/// matching blocks, [`banner_parse::matching_blocks`]).
fn banner_diff(before: &str, after: &str) -> (String, String) {
    let a = &before.as_bytes()[..before.len().min(DIFF_BYTES)];
    let b = &after.as_bytes()[..after.len().min(DIFF_BYTES)];
    let blocks = banner_parse::matching_blocks(a, b);
    let ka: Vec<(usize, usize)> = blocks.iter().map(|m| (m.a_start, m.len)).collect();
    let kb: Vec<(usize, usize)> = blocks.iter().map(|m| (m.b_start, m.len)).collect();
    (marked(a, &ka, "del"), marked(b, &kb, "ins"))
}

/// The monthly run's page (`report/index.html`): counts, clusters, drift and the retrain
/// recommendation, the distance histogram (`svg`, drawn by embed-index from numbers only),
/// the largest changes as banner diffs, the truth scores on simulated data, stage timings.
/// Every banner, key and snapshot name is escaped.
pub(crate) fn render_monthly(
    c: &super::monthly::MonthlyChanges,
    stages: &[StageRecord],
    svg: &str,
) -> String {
    let mut h = String::new();
    let _ = write!(
        h,
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width\">\
         <title>bannerlm monthly report</title><style>{STYLE}del{{background:#fdd;text-decoration:none}}\
         ins{{background:#dfd;text-decoration:none}}.retrain{{font-weight:bold;color:#a00}}</style></head><body>\n\
         <h1>bannerlm monthly report</h1>\n<p class=\"note\">Snapshot <code>{}</code> identified with the bundle of snapshot <code>{}</code> (<code>{}</code>), without training.</p>\n",
        escape_html(&c.snapshot),
        escape_html(&c.bundle_snapshot),
        escape_html(&c.bundle)
    );
    let n = &c.counts;
    let _ = writeln!(
        h,
        "<h2 id=\"changes\">What changed</h2>\n<table id=\"change-table\"><tr><th></th><th>services</th></tr>\
         <tr><td>records of the bundle's snapshot</td><td class=\"n\">{}</td></tr>\
         <tr><td>records of the new snapshot</td><td class=\"n\">{}</td></tr>\
         <tr><td>in both</td><td class=\"n\">{}</td></tr>\
         <tr><td>of those changed (embedding distance &gt; {})</td><td class=\"n\">{} ({})</td></tr>\
         <tr><td>appeared</td><td class=\"n\">{}</td></tr>\
         <tr><td>vanished</td><td class=\"n\">{}</td></tr>\
         <tr><td>duplicate rows ignored (bundle / new)</td><td class=\"n\">{} / {}</td></tr></table>",
        n.before,
        n.after,
        n.both,
        c.threshold,
        n.changed,
        pct(c.changed_share),
        n.appeared,
        n.vanished,
        n.duplicates_before,
        n.duplicates_after
    );
    let _ = writeln!(
        h,
        "<figure>{svg}<figcaption>Embedding distance of the services in both snapshots, log scale; the paper's threshold {} separates unchanged from changed.</figcaption></figure>",
        c.threshold
    );
    let d = &c.drift;
    let _ = writeln!(
        h,
        "<h2 id=\"drift\">Drift</h2>\n<p class=\"{}\">{}</p>",
        if d.retrain { "retrain" } else { "note" },
        escape_html(&d.recommendation)
    );
    h.push_str("<table id=\"drift-table\"><tr><th>epsilon</th><th>clusters</th><th>grew</th><th>shrank</th><th>outliers before</th><th>outliers now (drift)</th></tr>\n");
    for g in &c.clusters {
        let _ = writeln!(
            h,
            "<tr><td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td></tr>",
            g.epsilon,
            g.clusters.len(),
            g.clusters.iter().filter(|k| k.change > 0).count(),
            g.clusters.iter().filter(|k| k.change < 0).count(),
            pct(g.outlier_share_before),
            pct(g.drift_share)
        );
    }
    h.push_str("</table>\n");
    if let Some(g) = c
        .clusters
        .iter()
        .min_by(|a, b| a.epsilon.total_cmp(&b.epsilon))
    {
        let mut moved: Vec<&embed_index::ClusterCount> = g.clusters.iter().collect();
        moved.sort_by_key(|k| std::cmp::Reverse(k.change.unsigned_abs()));
        let _ = writeln!(
            h,
            "<table id=\"growth\"><tr><th colspan=\"4\">clusters that grew or shrank most at epsilon {}</th></tr><tr><th>cluster</th><th>before</th><th>now</th><th>change</th></tr>",
            g.epsilon
        );
        for k in moved.iter().take(20) {
            let _ = writeln!(
                h,
                "<tr><td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"n\">{:+}</td></tr>",
                k.cluster, k.before, k.after, k.change
            );
        }
        h.push_str("</table>\n");
    }
    if let Some(t) = &c.truth {
        let row = |h: &mut String, name: &str, p: &embed_index::PrecisionRecall| {
            let _ = writeln!(
                h,
                "<tr><td>{name}</td><td class=\"n\">{:.4}</td><td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"n\">{:.3}</td></tr>",
                p.threshold,
                pct(p.precision),
                pct(p.recall),
                p.f1
            );
        };
        let _ = writeln!(
            h,
            "<h2 id=\"truth\">Against the simulation's truth</h2>\n<p>{} services scored, {} changed in the truth (device, version or configuration).</p>\n<table id=\"truth-table\"><tr><th>detector</th><th>threshold</th><th>precision</th><th>recall</th><th>F1</th></tr>",
            t.services_scored, t.changed_in_truth
        );
        row(
            &mut h,
            "embedding distance at the run's threshold",
            &t.embedding_at_threshold,
        );
        row(
            &mut h,
            "embedding distance, best threshold",
            &t.embedding_best_f1,
        );
        row(
            &mut h,
            "normalised edit distance, best threshold",
            &t.edit_distance_best_f1,
        );
        h.push_str("</table>\n");
    }
    let _ = writeln!(
        h,
        "<h2 id=\"top\">Largest changes</h2>\n<p class=\"note\">Old banner (bundle) above, new below; bytes that differ are marked.</p>"
    );
    for t in &c.top {
        let key = t
            .key
            .as_ref()
            .and_then(|k| serde_json::to_string(k).ok())
            .unwrap_or_default();
        let (a, b) = banner_diff(&t.before, &t.after);
        let _ = writeln!(
            h,
            "<h3><code>{}</code></h3><p class=\"note\">embedding distance {:.4}, edit distance {:.3}</p><pre class=\"banner\">{a}</pre><pre class=\"banner\">{b}</pre>",
            escape_html(&key),
            t.distance,
            t.edit_distance
        );
    }
    h.push_str("<h2 id=\"timing\">Stages</h2>\n<table><tr><th>stage</th><th>seconds</th><th>peak memory</th></tr>\n");
    for s in stages {
        let _ = writeln!(
            h,
            "<tr><td>{}</td><td class=\"n\">{:.1}{}</td><td class=\"n\">{}</td></tr>",
            s.stage,
            s.seconds,
            if s.skipped { " (earlier run)" } else { "" },
            s.peak_rss_kib.map_or_else(|| "–".into(), format_kib)
        );
    }
    h.push_str("</table>\n</body></html>\n");
    h
}

#[cfg(test)]
mod monthly_tests {
    use super::*;

    #[test]
    fn diffs_mark_changed_bytes_and_escape() {
        let (a, b) = banner_diff("Server: nginx/1.18 <x>", "Server: nginx/1.20 <x>");
        assert!(
            a.starts_with("Server: nginx/1.") && a.contains("<del>") && a.contains("&lt;x&gt;")
        );
        assert!(b.contains("<ins>") && !b.contains("<x>"));
        let (same, _) = banner_diff("abc", "abc");
        assert_eq!(same, "abc");
        let (gone, new) = banner_diff("<script>", "");
        assert_eq!(gone, "<del>&lt;script&gt;</del>");
        assert_eq!(new, "");
    }
}
