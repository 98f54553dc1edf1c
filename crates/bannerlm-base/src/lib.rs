//! Helpers that every bannerlm crate shares, kept in one place so a fix lands once:
//!
//! - [`AtomicFile`], [`write_atomic`] and [`write_atomic_with`]: files appear whole or not at
//!   all (temporary file in the same folder, `fsync`, rename, `fsync` of the folder), as
//!   ordinary data files (mode 0644 on Unix), and a failed or dropped write leaves nothing behind.
//! - [`escape_bytes`], [`escape_str`] and [`Escaped`]: attacker-controlled bytes (banners,
//!   Recog descriptions, field values) made safe for a terminal or a log: no control character,
//!   no bidirectional override, no invalid UTF-8 survives.
//! - [`safe_file_stem`]: a file name built from untrusted text that cannot leave its folder.
//! - [`exit_report`]: the end of every bannerlm command-line program: errors printed escaped
//!   (they quote input), and a closed output pipe (`example | head -1`) ends quietly.
//! - [`escape_html`]: untrusted text made safe inside an HTML page (reports, annotated banners).
//! - [`splitmix64`], [`mix64`] and [`GOLDEN_GAMMA`]: SplitMix64 seed mixing, the one way every
//!   crate derives seeds for its streams from the user's seed.
//!
//! ```
//! let dir = tempfile::tempdir()?;
//! let path = dir.path().join("out.txt");
//! bannerlm_base::write_atomic(&path, b"hello\n")?;
//! assert_eq!(std::fs::read(&path)?, b"hello\n");
//! assert_eq!(bannerlm_base::escape_bytes(b"a\x1b[31m"), r"a\x1b[31m");
//! # Ok::<(), std::io::Error>(())
//! ```

mod atomic;
mod cli;
mod escape;
mod html;
mod names;
mod seed;

pub use atomic::{AtomicFile, TEMP_PREFIX, remove_stale_temps, write_atomic, write_atomic_with};
pub use cli::{error_chain, exit_report, is_broken_pipe};
pub use escape::{Escaped, escape_bytes, escape_str};
pub use html::escape_html;
pub use names::safe_file_stem;
pub use seed::{GOLDEN_GAMMA, mix64, splitmix64};
