//! Nearest neighbours in an embedding store: query by record id, by row, or by banner text
//! (embedded with the model), exact or HNSW; neighbours are printed with their banners
//! escaped when record files are given.
//!
//! ```text
//! cargo run --release --example neighbors -- --npy data/emb.npy --ids data/ids.jsonl \
//!     --id '{"ip":"10.0.0.7","port":80,"snapshot":"2023-01-04","protocol":"http"}' \
//!     --records data/sim/records-2023-01-04.jsonl.gz
//! cargo run --release --example neighbors -- --npy data/emb.npy --ids data/ids.jsonl \
//!     --model runs/ft/final --banner 'SSH-2.0-OpenSSH_8.9p1 Ubuntu-3\r\n' --hnsw
//! ```

use std::io::Write as _;
use std::path::PathBuf;
use std::process::ExitCode;

use banner_parse::{Format, ReadOptions, RecordKey, RecordReader};
use bannerlm_base::escape_bytes;
use clap::Parser;
use embed_index::{BannerEmbedder, EmbeddingStore, ExactIndex, HnswIndex, HnswParams};
use ndarray::{Array2, Axis};

#[derive(Parser, Debug)]
#[command(about = "Nearest neighbours of a banner in an embedding store")]
struct Args {
    /// Embedding matrix.
    #[arg(long)]
    npy: PathBuf,
    /// Row ids.
    #[arg(long)]
    ids: PathBuf,
    /// Query: a record id as JSON.
    #[arg(long, conflicts_with_all = ["row", "banner"])]
    id: Option<String>,
    /// Query: a row number.
    #[arg(long, conflicts_with = "banner")]
    row: Option<usize>,
    /// Query: banner text with C escapes (\r \n \t \\ \xNN); needs --model.
    #[arg(long, requires = "model")]
    banner: Option<String>,
    /// Model directory, to embed --banner.
    #[arg(long)]
    model: Option<PathBuf>,
    /// Neighbours to show.
    #[arg(short, long, default_value_t = 10)]
    k: usize,
    /// Approximate search with HNSW (also reports recall@k against exact search).
    #[arg(long)]
    hnsw: bool,
    /// Banner-record files, to print the neighbours' banners.
    #[arg(long, num_args = 1..)]
    records: Vec<PathBuf>,
}

fn main() -> ExitCode {
    bannerlm_base::exit_report(run(&Args::parse()))
}

fn run(args: &Args) -> anyhow::Result<()> {
    let mut out = std::io::stdout().lock();
    let store = EmbeddingStore::open(&args.npy, &args.ids)?;
    let data = store.load()?;
    let (query, skip): (Array2<f32>, Option<usize>) = if let Some(text) = &args.banner {
        let device = roberta_model::default_device()?;
        let model = args
            .model
            .as_ref()
            .ok_or_else(|| anyhow::anyhow!("--banner needs --model"))?;
        let embedder = BannerEmbedder::from_dir(model, &device)?;
        // The text reader decodes the C escapes.
        let opts = ReadOptions::default().format(Format::Text);
        let cursor = std::io::Cursor::new(text.clone().into_bytes());
        let banner = RecordReader::from_reader(cursor, "--banner", opts)?
            .next()
            .transpose()?
            .map(|r| r.banner)
            .unwrap_or_default();
        (embedder.embed(&[banner], 1)?, None)
    } else {
        let row = match (&args.id, args.row) {
            (Some(id), _) => {
                let id: serde_json::Value = serde_json::from_str(id)?;
                store
                    .index_of(&id)?
                    .ok_or_else(|| anyhow::anyhow!("id not in the store"))?
            }
            (None, Some(row)) => row,
            (None, None) => anyhow::bail!("give --id, --row or --banner"),
        };
        anyhow::ensure!(row < store.len(), "row {row} of {}", store.len());
        (data.row(row).insert_axis(Axis(0)).to_owned(), Some(row))
    };
    let want = args.k + usize::from(skip.is_some());
    let exact = ExactIndex::new(data);
    let mut hits = exact.search(&query, want)?.pop().unwrap_or_default();
    if args.hnsw {
        let approx = HnswIndex::build(exact.data(), &HnswParams::default().check()?)?;
        let approx_hits = approx.search(&query, want)?;
        let recall = embed_index::recall_at_k(&[hits.clone()], &approx_hits, want);
        eprintln!("HNSW recall@{want} against exact search: {recall:.3}");
        hits = approx_hits.into_iter().next().unwrap_or_default();
    }
    hits.retain(|n| Some(n.index) != skip);
    hits.truncate(args.k);
    let keys: Vec<RecordKey> = hits
        .iter()
        .filter_map(|n| {
            store
                .id(n.index)
                .and_then(|id| serde_json::from_str(id).ok())
        })
        .collect();
    let banners = embed_index::read_banners(&args.records, &keys)?;
    for n in &hits {
        let id = store.id(n.index).unwrap_or("?");
        let key: Option<RecordKey> = serde_json::from_str(id).ok();
        let shown = key.as_ref().map_or_else(
            || escape_bytes(id.as_bytes()),
            |k| escape_bytes(k.to_string().as_bytes()),
        );
        writeln!(out, "{:>10.6}  {shown}", n.distance)?;
        if let Some(b) = key.as_ref().and_then(|k| banners.get(k)) {
            writeln!(out, "            {}", escape_bytes(&b[..b.len().min(300)]))?;
        }
    }
    Ok(())
}
