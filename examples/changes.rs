//! Change detection between two consecutive snapshots: each host's embedding distance,
//! "changed" above a threshold, the largest changes with their banners; compared with the
//! normalised edit distance of the banners, and scored against scan-sim ground truth
//! ("device or configuration changed" = truth `config`, `version` or `device`; `none` and
//! `reorder` are unchanged) when truth files are given.
//!
//! ```text
//! cargo run --release --example changes -- --npy data/emb.npy --ids data/ids.jsonl \
//!     --before 2023-01-04 --after 2023-02-04 \
//!     --records data/sim/records-2023-01-04.jsonl.gz data/sim/records-2023-02-04.jsonl.gz \
//!     --truth data/sim/truth-2023-02-04.jsonl.gz
//! ```

use std::collections::HashMap;
use std::io::Write as _;
use std::path::PathBuf;
use std::process::ExitCode;

use banner_parse::RecordKey;
use bannerlm_base::escape_bytes;
use clap::Parser;
use embed_index::{
    EmbeddingStore, best_threshold, host_changes, normalized_edit_distance, precision_recall,
    read_banners, top_changes,
};
use scan_sim::ChangeKind;

#[derive(Parser, Debug)]
#[command(about = "Which hosts changed between two snapshots")]
struct Args {
    /// Embedding matrix.
    #[arg(long)]
    npy: PathBuf,
    /// Row ids (record keys).
    #[arg(long)]
    ids: PathBuf,
    /// Earlier snapshot name.
    #[arg(long)]
    before: String,
    /// Later snapshot name.
    #[arg(long)]
    after: String,
    /// Embedding distance above which a host counts as changed.
    #[arg(long, default_value_t = 0.1)]
    threshold: f32,
    /// Banner-record files of both snapshots (for edit distances and printing).
    #[arg(long, num_args = 1.., required = true)]
    records: Vec<PathBuf>,
    /// scan-sim truth files of the later snapshot (change since the previous one).
    #[arg(long, num_args = 1..)]
    truth: Vec<PathBuf>,
    /// Largest changes to print.
    #[arg(long, default_value_t = 10)]
    top: usize,
}

/// The record key of `row`: an id that is missing or not a record key is an error naming the
/// ids file and line, never a silently dropped row.
fn key_of(store: &EmbeddingStore, ids: &std::path::Path, row: usize) -> anyhow::Result<RecordKey> {
    let id = store
        .id(row)
        .ok_or_else(|| anyhow::anyhow!("{}: no id for row {row}", ids.display()))?;
    serde_json::from_str(id).map_err(|e| {
        anyhow::anyhow!(
            "{}:{}: the id is not a record key (ip, port, protocol): {e}",
            bannerlm::base::Escaped(ids.as_os_str().as_encoded_bytes()),
            row + 1
        )
    })
}

fn main() -> ExitCode {
    bannerlm_base::exit_report(run(&Args::parse()))
}

fn run(args: &Args) -> anyhow::Result<()> {
    let mut out = std::io::stdout().lock();
    let store = EmbeddingStore::open(&args.npy, &args.ids)?;
    let changes = host_changes(&store, &args.before, &args.after, args.threshold)?;
    let keys: Vec<RecordKey> = changes
        .iter()
        .flat_map(|c| [c.before, c.after])
        .map(|row| key_of(&store, &args.ids, row))
        .collect::<anyhow::Result<_>>()?;
    let banners = read_banners(&args.records, &keys)?;
    let banner = |row: usize| {
        key_of(&store, &args.ids, row)
            .ok()
            .and_then(|k| banners.get(&k))
    };
    let edit: Vec<Option<f64>> = changes
        .iter()
        .map(|c| {
            Some(normalized_edit_distance(
                banner(c.before)?,
                banner(c.after)?,
            ))
        })
        .collect();
    let flagged = changes.iter().filter(|c| c.changed).count();
    writeln!(
        out,
        "{} hosts in both snapshots, {flagged} changed (embedding distance > {})",
        changes.len(),
        args.threshold
    )?;

    let mut truth: HashMap<RecordKey, ChangeKind> = HashMap::new();
    for path in &args.truth {
        for t in scan_sim::read_truth(path)? {
            let t = t?;
            let key = RecordKey {
                ip: t.ip,
                port: t.port,
                snapshot: t.snapshot,
                protocol: t.protocol,
            };
            truth.insert(key, t.change);
        }
    }
    let kind_of = |row: usize| {
        key_of(&store, &args.ids, row)
            .ok()
            .and_then(|k| truth.get(&k).copied())
    };
    if !truth.is_empty() {
        // Hosts with truth and both banners; positives: device or configuration changed.
        let (mut emb, mut ed, mut positive, mut kinds) = (vec![], vec![], vec![], vec![]);
        for (c, e) in changes.iter().zip(&edit) {
            let (Some(kind), Some(e)) = (kind_of(c.after), e) else {
                continue;
            };
            let label = match kind {
                ChangeKind::Config | ChangeKind::Version | ChangeKind::Device => true,
                ChangeKind::None | ChangeKind::Reorder => false,
                _ => continue,
            };
            emb.push(f64::from(c.distance));
            ed.push(*e);
            positive.push(label);
            kinds.push(kind);
        }
        let report = serde_json::json!({
            "hosts_scored": emb.len(),
            "changed_in_truth": positive.iter().filter(|p| **p).count(),
            "embedding_at_threshold": precision_recall(&emb, &positive, f64::from(args.threshold)),
            "embedding_best_f1": best_threshold(&emb, &positive),
            "edit_distance_best_f1": best_threshold(&ed, &positive),
            "edit_distance_at_0.1": precision_recall(&ed, &positive, 0.1),
        });
        let text = serde_json::to_string_pretty(&report)?;
        writeln!(out, "{}", bannerlm::terminal::safe_json(&text))?;
        writeln!(
            out,
            "share flagged per true change kind (embedding > threshold | edit > 0.1):"
        )?;
        for kind in ChangeKind::ALL {
            let idx: Vec<usize> = (0..kinds.len()).filter(|&i| kinds[i] == kind).collect();
            if idx.is_empty() {
                continue;
            }
            let share = |v: &[f64], t: f64| {
                idx.iter().filter(|&&i| v[i] > t).count() as f64 / idx.len() as f64
            };
            writeln!(
                out,
                "  {:<8} {:>6} hosts  {:>6.1}% | {:>6.1}%",
                kind.as_str(),
                idx.len(),
                100.0 * share(&emb, f64::from(args.threshold)),
                100.0 * share(&ed, 0.1)
            )?;
        }
    }

    writeln!(out, "largest changes:")?;
    for c in top_changes(&changes, args.top) {
        let edit = banner(c.before)
            .zip(banner(c.after))
            .map(|(a, b)| normalized_edit_distance(a, b));
        let kind = kind_of(c.after).map_or("?", ChangeKind::as_str);
        writeln!(
            out,
            "{:.4}  edit {}  truth {kind}  {}",
            c.distance,
            edit.map_or_else(|| "?".to_string(), |e| format!("{e:.3}")),
            escape_bytes(c.host.as_bytes())
        )?;
        for row in [c.before, c.after] {
            if let Some(b) = banner(row) {
                writeln!(out, "    {}", escape_bytes(&b[..b.len().min(200)]))?;
            }
        }
    }
    Ok(())
}
