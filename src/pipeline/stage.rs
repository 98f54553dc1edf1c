//! Stage bookkeeping: completion markers with parameters and timings, atomic writes,
//! peak memory, progress lines.

use std::io::{IsTerminal as _, Write as _};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use bannerlm_base::AtomicFile;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use serde::{Deserialize, Serialize};

use super::error::{Error, Result};

/// The stages, in order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
#[non_exhaustive]
pub enum Stage {
    /// Simulate a scan (scan-sim) or read the input files.
    Input,
    /// Train the byte-level BPE tokenizer.
    Tokenizer,
    /// Masked-LM pretraining.
    Pretrain,
    /// Contrastive fine-tuning (Eq. 1).
    Finetune,
    /// Held-out pair evaluation and the distance histogram.
    Evaluate,
    /// Embed every record of the chosen snapshots.
    Embed,
    /// PCA of the embeddings.
    Pca,
    /// HDBSCAN at the configured epsilons.
    Cluster,
    /// Regex fingerprints per cluster and header.
    Fingerprint,
    /// Comparison with Recog.
    Recog,
    /// The bundle (`bundle/`): everything `identify` needs (banner-identify's `BundleWriter`).
    Bundle,
    /// The HTML report.
    Report,
    /// Monthly run: identify every record of the new snapshot with a bundle (`identify/`).
    Identify,
    /// Monthly run: what changed since the bundle's snapshot (`monthly/`).
    Changes,
}

impl Stage {
    /// Every stage in running order.
    pub const ALL: [Stage; 12] = [
        Stage::Input,
        Stage::Tokenizer,
        Stage::Pretrain,
        Stage::Finetune,
        Stage::Evaluate,
        Stage::Embed,
        Stage::Pca,
        Stage::Cluster,
        Stage::Fingerprint,
        Stage::Recog,
        Stage::Bundle,
        Stage::Report,
    ];

    /// The stages of a monthly run (`pipeline --bundle`), in running order.
    pub const MONTHLY: [Stage; 4] = [Stage::Embed, Stage::Identify, Stage::Changes, Stage::Report];

    /// The stage's name, also its output sub-folder.
    pub fn name(self) -> &'static str {
        match self {
            Stage::Input => "input",
            Stage::Tokenizer => "tokenizer",
            Stage::Pretrain => "pretrain",
            Stage::Finetune => "finetune",
            Stage::Evaluate => "evaluate",
            Stage::Embed => "embed",
            Stage::Pca => "pca",
            Stage::Cluster => "cluster",
            Stage::Fingerprint => "fingerprint",
            Stage::Recog => "recog",
            Stage::Bundle => "bundle",
            Stage::Report => "report",
            Stage::Identify => "identify",
            Stage::Changes => "monthly",
        }
    }
}

impl std::fmt::Display for Stage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// The completion marker of one stage, `stages/<name>.json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StageRecord {
    /// The stage.
    pub stage: Stage,
    /// The configuration the outputs were computed with (this stage's and every earlier one's).
    pub params: serde_json::Value,
    /// Wall time in seconds.
    pub seconds: f64,
    /// Peak resident memory of the process during the stage, in KiB (`VmHWM`; the process
    /// peak so far where the kernel does not allow resetting it).
    pub peak_rss_kib: Option<u64>,
    /// Output files and folders, relative to the output folder.
    pub outputs: Vec<String>,
    /// The stage's key figures.
    pub summary: serde_json::Value,
    /// Whether this run skipped the stage because its outputs were up to date (not persisted).
    #[serde(skip)]
    pub skipped: bool,
}

/// Writes `bytes` to `path` atomically ([`bannerlm_base::write_atomic`]: a temporary file in
/// the same folder, `fsync`, rename, `fsync` of the folder).
pub(crate) fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    bannerlm_base::write_atomic(path, bytes).map_err(|e| Error::io(path, e))
}

/// Serialises `value` as pretty JSON into `path` atomically.
pub(crate) fn write_json<T: Serialize + ?Sized>(path: &Path, value: &T) -> Result<()> {
    let mut bytes = serde_json::to_vec_pretty(value).map_err(|e| Error::json(path, e))?;
    bytes.push(b'\n');
    write_atomic(path, &bytes)
}

/// Reads JSON from `path`.
pub(crate) fn read_json<T: for<'de> Deserialize<'de>>(path: &Path) -> Result<T> {
    let bytes = std::fs::read(path).map_err(|e| Error::io(path, e))?;
    serde_json::from_slice(&bytes).map_err(|e| Error::json(path, e))
}

/// Builds a file through a buffered writer into a [`bannerlm_base::AtomicFile`]; the file
/// appears (synced) only when `f` succeeds.
pub(crate) fn write_with<F>(path: &Path, f: F) -> Result<()>
where
    F: FnOnce(&mut std::io::BufWriter<&mut AtomicFile>) -> Result<()>,
{
    let mut file = AtomicFile::create(path).map_err(|e| Error::io(path, e))?;
    {
        let mut w = std::io::BufWriter::with_capacity(1 << 16, &mut file);
        f(&mut w)?;
        w.flush().map_err(|e| Error::io(path, e))?;
    }
    file.commit().map_err(|e| Error::io(path, e))
}

/// The file that marks a folder as a bannerlm output folder (written first, into a new or empty
/// folder). A non-empty folder without it is never written to.
pub const RUN_MARKER: &str = ".bannerlm-run";

/// The file that marks a stage folder as made by bannerlm. Only folders holding it are ever
/// cleared.
pub const STAGE_MARKER: &str = ".bannerlm-stage";

/// What kind of run an output folder holds (written in its [`RUN_MARKER`]); one folder holds
/// one kind, so a monthly run never replaces a full run's files or the reverse.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum RunKind {
    /// The whole method (`Pipeline::run`).
    Full,
    /// An incremental run on a bundle (`MonthlyRun::run`).
    Monthly,
}

impl RunKind {
    fn name(self) -> &'static str {
        match self {
            RunKind::Full => "full",
            RunKind::Monthly => "monthly",
        }
    }
}

fn marker_text(kind: RunKind) -> String {
    format!(
        "{{\"made_by\": \"bannerlm\", \"version\": \"{}\", \"kind\": \"{}\"}}\n",
        env!("CARGO_PKG_VERSION"),
        kind.name()
    )
}

/// The kind of run a marker says; markers written before kinds existed are full runs.
fn marker_kind(marker: &Path) -> Result<String> {
    let v: serde_json::Value = read_json(marker)?;
    Ok(v.get("kind")
        .and_then(serde_json::Value::as_str)
        .unwrap_or("full")
        .to_owned())
}

/// Makes `out` a bannerlm output folder, or checks that it is one: a missing or empty folder
/// gets the [`RUN_MARKER`]; a folder with the marker is accepted; anything else (a file, a
/// non-empty folder without the marker) is refused without touching it, and so is a folder
/// whose marker names another [`RunKind`].
///
/// # Errors
/// [`Error::ForeignOutput`] for a non-empty folder without the marker;
/// [`Error::OtherRunKind`] for a folder of another kind of run; [`Error::Io`] when `out` is
/// not a folder or cannot be created or read.
pub(crate) fn claim_out_dir(out: &Path, kind: RunKind) -> Result<()> {
    match std::fs::metadata(out) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            std::fs::create_dir_all(out).map_err(|e| Error::io(out, e))?;
        }
        Err(e) => return Err(Error::io(out, e)),
        Ok(meta) if !meta.is_dir() => {
            return Err(Error::io(
                out,
                std::io::Error::new(
                    std::io::ErrorKind::NotADirectory,
                    "the output path exists and is not a folder",
                ),
            ));
        }
        Ok(_) => {
            let marker = out.join(RUN_MARKER);
            if marker.is_file() {
                let found = marker_kind(&marker)?;
                if found != kind.name() {
                    return Err(Error::OtherRunKind {
                        path: out.to_path_buf(),
                        found,
                        wanted: kind.name(),
                    });
                }
                bannerlm_base::remove_stale_temps(out).map_err(|e| Error::io(out, e))?;
                return Ok(());
            }
            let mut entries = std::fs::read_dir(out).map_err(|e| Error::io(out, e))?;
            if entries.next().is_some() {
                return Err(Error::ForeignOutput {
                    path: out.to_path_buf(),
                    marker: RUN_MARKER,
                });
            }
        }
    }
    write_atomic(&out.join(RUN_MARKER), marker_text(kind).as_bytes())
}

/// Removes a stage folder of an earlier run, only if bannerlm made it ([`STAGE_MARKER`]).
fn clear_stage_dir(dir: &Path) -> Result<()> {
    let meta = match std::fs::symlink_metadata(dir) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(Error::io(dir, e)),
        Ok(meta) => meta,
    };
    // A link or a file in a stage's place is not ours: never follow or remove it.
    if !meta.is_dir() || !dir.join(STAGE_MARKER).is_file() {
        return Err(Error::ForeignStageDir {
            path: dir.to_path_buf(),
            marker: STAGE_MARKER,
        });
    }
    std::fs::remove_dir_all(dir).map_err(|e| Error::io(dir, e))
}

/// Creates a stage folder (if needed) and marks it as bannerlm's.
pub(crate) fn mark_stage_dir(dir: &Path) -> Result<()> {
    if std::fs::symlink_metadata(dir).is_ok_and(|m| !m.is_dir()) {
        return Err(Error::ForeignStageDir {
            path: dir.to_path_buf(),
            marker: STAGE_MARKER,
        });
    }
    std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
    let marker = dir.join(STAGE_MARKER);
    if !marker.is_file() {
        let text = format!(
            "{{\"made_by\": \"bannerlm\", \"version\": \"{}\"}}\n",
            env!("CARGO_PKG_VERSION")
        );
        write_atomic(&marker, text.as_bytes())?;
    }
    Ok(())
}

/// Peak resident set size of this process in KiB (`VmHWM` of `/proc/self/status`).
fn peak_rss_kib() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
}

/// Resets the peak RSS counter (Linux `clear_refs` value 5); false where not allowed.
fn reset_peak_rss() -> bool {
    std::fs::write("/proc/self/clear_refs", "5").is_ok()
}

/// Stage markers and progress for one output folder.
pub(crate) struct Tracker {
    pub(crate) out: PathBuf,
    resume: bool,
    progress: bool,
    /// The cumulative parameters of the stages so far.
    chain: serde_json::Map<String, serde_json::Value>,
    /// A stage of this run has run (not skipped): every later stage runs too.
    dirty: bool,
    /// The stages of this kind of run, for numbering ([`Stage::ALL`] or [`Stage::MONTHLY`]).
    pub(crate) plan: &'static [Stage],
}

/// What [`Tracker::skip_or_start`] decided for a stage.
pub(crate) enum StageState {
    /// Up to date (`--resume`, same parameters, outputs present): skip it; its record, marked
    /// `skipped`.
    Done(StageRecord),
    /// Started (its folder cleared or its checkpoints kept): run it, then
    /// [`Tracker::finish`].
    Run(Running),
}

/// A running stage.
pub(crate) struct Running {
    stage: Stage,
    start: Instant,
    params: serde_json::Value,
    /// Resume the stage's own checkpoints (training, embedding).
    pub(crate) resume_inner: bool,
}

impl Tracker {
    pub(crate) fn new(out: PathBuf, resume: bool, progress: bool) -> Self {
        Tracker {
            out,
            resume,
            progress,
            chain: serde_json::Map::new(),
            dirty: false,
            plan: &Stage::ALL,
        }
    }

    fn marker(&self, stage: Stage) -> PathBuf {
        self.out
            .join("stages")
            .join(format!("{}.json", stage.name()))
    }

    fn started_marker(&self, stage: Stage) -> PathBuf {
        self.out
            .join("stages")
            .join(format!("{}.started.json", stage.name()))
    }

    /// The folder of a stage's outputs.
    pub(crate) fn dir(&self, stage: Stage) -> PathBuf {
        self.out.join(stage.name())
    }

    /// Adds the stage's parameters to the chain; [`StageState::Done`] with the finished record
    /// when `--resume` finds the stage done with the same chain and all outputs present, else
    /// starts it ([`StageState::Run`]: folder cleared unless its checkpoints are resumed).
    pub(crate) fn skip_or_start(
        &mut self,
        stage: Stage,
        params: serde_json::Value,
    ) -> Result<StageState> {
        self.chain.insert(stage.name().to_owned(), params);
        let chain = serde_json::Value::Object(self.chain.clone());
        let marker = self.marker(stage);
        if self.resume && !self.dirty && marker.is_file() {
            let rec: StageRecord = read_json(&marker)?;
            if rec.params == chain && rec.outputs.iter().all(|o| self.out.join(o).exists()) {
                self.line(&format!(
                    "[{}] {stage}: up to date, skipped ({:.1} s in the earlier run)",
                    self.index(stage),
                    rec.seconds
                ));
                return Ok(StageState::Done(StageRecord {
                    skipped: true,
                    ..rec
                }));
            }
        }
        // Not done (or done with other parameters): forget the marker, then start.
        if marker.exists() {
            std::fs::remove_file(&marker).map_err(|e| Error::io(&marker, e))?;
        }
        let started = self.started_marker(stage);
        let resume_inner = self.resume
            && started.is_file()
            && read_json::<serde_json::Value>(&started).ok().as_ref() == Some(&chain);
        let dir = self.dir(stage);
        if resume_inner {
            // Continue the stage's checkpoints; drop what a killed writer left behind.
            if dir.is_dir() {
                bannerlm_base::remove_stale_temps(&dir).map_err(|e| Error::io(&dir, e))?;
            }
        } else {
            clear_stage_dir(&dir)?;
            write_json(&started, &chain)?;
        }
        mark_stage_dir(&dir)?;
        self.dirty = true;
        reset_peak_rss();
        self.line(&format!(
            "[{}] {stage}: started{}",
            self.index(stage),
            if resume_inner {
                " (resuming its checkpoints)"
            } else {
                ""
            }
        ));
        Ok(StageState::Run(Running {
            stage,
            start: Instant::now(),
            params: chain,
            resume_inner,
        }))
    }

    /// Records a finished stage.
    pub(crate) fn finish(
        &self,
        run: Running,
        outputs: Vec<String>,
        summary: serde_json::Value,
    ) -> Result<StageRecord> {
        let rec = StageRecord {
            stage: run.stage,
            params: run.params,
            seconds: run.start.elapsed().as_secs_f64(),
            peak_rss_kib: peak_rss_kib(),
            outputs,
            summary,
            skipped: false,
        };
        write_json(&self.marker(run.stage), &rec)?;
        let started = self.started_marker(run.stage);
        if started.exists() {
            std::fs::remove_file(&started).map_err(|e| Error::io(&started, e))?;
        }
        self.line(&format!(
            "[{}] {}: done in {:.1} s, peak memory {}",
            self.index(run.stage),
            run.stage,
            rec.seconds,
            rec.peak_rss_kib.map_or_else(|| "-".into(), format_kib)
        ));
        Ok(rec)
    }

    fn index(&self, stage: Stage) -> String {
        let i = self.plan.iter().position(|&s| s == stage).unwrap_or(0) + 1;
        format!("{i}/{}", self.plan.len())
    }

    /// A plain log line on stderr.
    pub(crate) fn line(&self, msg: &str) {
        if self.progress {
            eprintln!("{msg}");
        }
    }

    /// Whether the training loops should draw their own bars.
    pub(crate) fn bars(&self) -> bool {
        self.progress && std::io::stderr().is_terminal()
    }

    /// A progress bar with ETA on a terminal; hidden otherwise (the plain lines remain).
    pub(crate) fn bar(&self, len: u64, what: &str) -> ProgressBar {
        if !self.bars() {
            return ProgressBar::with_draw_target(Some(len), ProgressDrawTarget::hidden());
        }
        let bar = ProgressBar::new(len);
        if let Ok(style) = ProgressStyle::with_template(
            "  {msg:12} [{bar:40}] {human_pos}/{human_len} ({per_sec}, eta {eta})",
        ) {
            bar.set_style(style.progress_chars("=> "));
        }
        bar.set_message(what.to_owned());
        bar.enable_steady_tick(Duration::from_millis(250));
        bar
    }
}

/// `1.23 GiB` / `456 MiB`.
pub(crate) fn format_kib(kib: u64) -> String {
    let mib = kib as f64 / 1024.0;
    if mib >= 1024.0 {
        format!("{:.2} GiB", mib / 1024.0)
    } else {
        format!("{mib:.0} MiB")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resume_skips_a_stage_with_the_same_parameters_only() {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let out = dir.path().to_path_buf();
        let mut t = Tracker::new(out.clone(), false, false);
        let Ok(StageState::Run(run)) =
            t.skip_or_start(Stage::Input, serde_json::json!({"hosts": 5}))
        else {
            panic!("a fresh stage must run");
        };
        write_atomic(&out.join("input/x.txt"), b"x").unwrap_or_else(|e| panic!("{e}"));
        t.finish(run, vec!["input/x.txt".into()], serde_json::json!({}))
            .unwrap_or_else(|e| panic!("{e}"));

        let mut again = Tracker::new(out.clone(), true, false);
        let r = again
            .skip_or_start(Stage::Input, serde_json::json!({"hosts": 5}))
            .unwrap_or_else(|e| panic!("{e}"));
        assert!(matches!(r, StageState::Done(ref rec) if rec.skipped));

        let mut changed = Tracker::new(out.clone(), true, false);
        let r = changed
            .skip_or_start(Stage::Input, serde_json::json!({"hosts": 6}))
            .unwrap_or_else(|e| panic!("{e}"));
        assert!(
            matches!(r, StageState::Run(_)),
            "other parameters must rerun the stage"
        );
        assert!(
            !out.join("input/x.txt").exists(),
            "stale outputs are removed"
        );
    }

    #[test]
    fn an_unmarked_stage_folder_is_never_cleared() {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let out = dir.path().to_path_buf();
        claim_out_dir(&out, RunKind::Full).unwrap_or_else(|e| panic!("{e}"));
        // A user's folder that happens to have a stage's name, inside a bannerlm folder.
        std::fs::create_dir_all(out.join("input/keep")).unwrap_or_else(|e| panic!("{e}"));
        std::fs::write(out.join("input/keep/data.txt"), b"mine").unwrap_or_else(|e| panic!("{e}"));
        let mut t = Tracker::new(out.clone(), false, false);
        let r = t.skip_or_start(Stage::Input, serde_json::json!({}));
        assert!(
            matches!(r, Err(Error::ForeignStageDir { ref path, .. }) if path.ends_with("input")),
            "{:?}",
            r.err()
        );
        assert_eq!(
            std::fs::read(out.join("input/keep/data.txt")).unwrap_or_default(),
            b"mine"
        );
        // A stage folder bannerlm made is marked, and cleared on a rerun.
        let mut t = Tracker::new(out.clone(), false, false);
        let Ok(StageState::Run(_)) = t.skip_or_start(Stage::Tokenizer, serde_json::json!({}))
        else {
            panic!("a fresh stage must run");
        };
        assert!(out.join("tokenizer").join(STAGE_MARKER).is_file());
        std::fs::write(out.join("tokenizer/old.json"), b"{}").unwrap_or_else(|e| panic!("{e}"));
        let mut t = Tracker::new(out.clone(), false, false);
        let Ok(StageState::Run(_)) = t.skip_or_start(Stage::Tokenizer, serde_json::json!({}))
        else {
            panic!("a fresh stage must run");
        };
        assert!(!out.join("tokenizer/old.json").exists());
    }

    #[cfg(unix)]
    #[test]
    fn a_linked_stage_folder_is_neither_followed_nor_removed() {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let out = dir.path().join("out");
        let elsewhere = dir.path().join("elsewhere");
        std::fs::create_dir_all(&elsewhere).unwrap_or_else(|e| panic!("{e}"));
        std::fs::write(elsewhere.join(STAGE_MARKER), b"").unwrap_or_else(|e| panic!("{e}"));
        std::fs::write(elsewhere.join("precious"), b"x").unwrap_or_else(|e| panic!("{e}"));
        claim_out_dir(&out, RunKind::Full).unwrap_or_else(|e| panic!("{e}"));
        std::os::unix::fs::symlink(&elsewhere, out.join("embed")).unwrap_or_else(|e| panic!("{e}"));
        let mut t = Tracker::new(out.clone(), false, false);
        let r = t.skip_or_start(Stage::Embed, serde_json::json!({}));
        assert!(matches!(r, Err(Error::ForeignStageDir { .. })));
        assert!(elsewhere.join("precious").is_file());
    }

    #[test]
    fn claim_marks_new_and_empty_folders_and_refuses_others() {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let new = dir.path().join("new/out");
        claim_out_dir(&new, RunKind::Full).unwrap_or_else(|e| panic!("{e}"));
        assert!(new.join(RUN_MARKER).is_file());
        claim_out_dir(&new, RunKind::Full)
            .unwrap_or_else(|e| panic!("a marked folder is ours: {e}"));
        let empty = dir.path().join("empty");
        std::fs::create_dir(&empty).unwrap_or_else(|e| panic!("{e}"));
        claim_out_dir(&empty, RunKind::Full).unwrap_or_else(|e| panic!("{e}"));
        assert!(empty.join(RUN_MARKER).is_file());
        let user = dir.path().join("user");
        std::fs::create_dir_all(user.join("report")).unwrap_or_else(|e| panic!("{e}"));
        let r = claim_out_dir(&user, RunKind::Full);
        assert!(matches!(r, Err(Error::ForeignOutput { .. })), "{r:?}");
        assert!(!user.join(RUN_MARKER).exists());
        let file = dir.path().join("file");
        std::fs::write(&file, b"x").unwrap_or_else(|e| panic!("{e}"));
        assert!(matches!(
            claim_out_dir(&file, RunKind::Full),
            Err(Error::Io { .. })
        ));
        assert_eq!(std::fs::read(&file).unwrap_or_default(), b"x");
    }

    /// A monthly run never writes into a full run's folder (it would replace its `embed/` and
    /// `report/`), nor the reverse; a marker from before kinds existed is a full run's.
    #[test]
    fn claim_refuses_a_folder_of_another_kind_of_run() {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let full = dir.path().join("full");
        claim_out_dir(&full, RunKind::Full).unwrap_or_else(|e| panic!("{e}"));
        let r = claim_out_dir(&full, RunKind::Monthly);
        assert!(
            matches!(&r, Err(Error::OtherRunKind { found, wanted: "monthly", .. }) if found == "full"),
            "{r:?}"
        );
        let monthly = dir.path().join("monthly");
        claim_out_dir(&monthly, RunKind::Monthly).unwrap_or_else(|e| panic!("{e}"));
        claim_out_dir(&monthly, RunKind::Monthly).unwrap_or_else(|e| panic!("ours: {e}"));
        assert!(matches!(
            claim_out_dir(&monthly, RunKind::Full),
            Err(Error::OtherRunKind { .. })
        ));
        let old = dir.path().join("old");
        std::fs::create_dir(&old).unwrap_or_else(|e| panic!("{e}"));
        std::fs::write(
            old.join(RUN_MARKER),
            b"{\"made_by\": \"bannerlm\", \"version\": \"0.1.0\"}\n",
        )
        .unwrap_or_else(|e| panic!("{e}"));
        claim_out_dir(&old, RunKind::Full).unwrap_or_else(|e| panic!("{e}"));
        assert!(matches!(
            claim_out_dir(&old, RunKind::Monthly),
            Err(Error::OtherRunKind { .. })
        ));
    }

    #[test]
    fn peak_rss_is_read_on_linux() {
        if Path::new("/proc/self/status").exists() {
            assert!(peak_rss_kib().is_some_and(|k| k > 0));
        }
        assert_eq!(format_kib(2 * 1024 * 1024), "2.00 GiB");
        assert_eq!(format_kib(512 * 1024), "512 MiB");
    }
}
