//! Rapid7 Recog fingerprint databases in Rust: load, match, verify, compare and export.
//!
//! [Recog](https://github.com/rapid7/recog) is the hand-curated fingerprint
//! database the paper measures its generated fingerprints against: 50 XML
//! files of Ruby regular expressions with example banners and the params each
//! must yield. This crate is the last stage of the bannerlm pipeline
//! (`lcs-fingerprint` → **`recog-compat`**) and depends on nothing but
//! `regex`, `regex-syntax`, `aho-corasick`, `fancy-regex`, `quick-xml`, `base64`, `memchr` and
//! `bannerlm-base`.
//!
//! # API
//!
//! - Load: [`Database`] ([`Fingerprint`], [`Example`], [`Param`], [`Flags`]), [`load_dir`];
//!   limits [`MAX_DATABASE_BYTES`], [`MAX_EXAMPLE_FILE_BYTES`].
//! - Translate: [`translate`] → [`Translation`] ([`Engine`]).
//! - Match: [`Matcher`], [`MatcherBuilder`] ([`MatcherOptions`]) → [`Match`];
//!   [`CompiledPattern`] ([`Groups`]), [`banner_text`]; limits [`MAX_INTERPOLATION_DEPTH`],
//!   [`MAX_INTERPOLATED_LEN`]. Directories: [`RecogSet`], [`banner_input`].
//! - Verify: [`verify`], [`verify_with`] → [`VerifyReport`] ([`Finding`], [`Status`]).
//! - Compare: [`CompareParams`] → [`check`](CompareParams::check) → [`ValidCompareParams`];
//!   [`compare`] ([`HttpHeader`], [`GeneratedPattern`], [`CorpusBanner`]) →
//!   [`HeaderComparison`] ([`RecogStats`], [`Recovery`], [`NewCandidate`]).
//! - Export: [`ExportDatabase`] ([`ExportFingerprint`], [`ExportExample`], [`ExportParam`]).
//! - [`Error`] ([`TranslateErrorKind`]), [`Result`].
//!
//! - **Load** ([`Database`], [`load_dir`]): every attribute Recog reads, line
//!   numbers, base64 and `_filename` examples.
//! - **Translate** ([`translate`]): Ruby/Onigmo syntax and flags into Rust
//!   syntax. Patterns go to the linear-time `regex` crate unless they need
//!   backtracking features, which go to `fancy-regex` under a backtrack limit.
//! - **Match** ([`Matcher`]): Recog's `Nizer` semantics (first fingerprint in
//!   file order wins; params with captures, `{interpolation}`, `_tmp.` removal),
//!   with a literal prefilter over the whole database (one Aho-Corasick pass picks the
//!   few fingerprints whose required literals occur; only those are run, in file order).
//! - **Directories** ([`RecogSet`], [`banner_input`]): all databases in
//!   Recog's preference order, and which database and text to match for a
//!   raw service banner.
//! - **Verify** ([`verify`]): `recog_verify`, counted the same way.
//! - **Compare** ([`compare`]): the paper's overlap / recovered / partial /
//!   new-candidate figures for generated HTTP header fingerprints.
//! - **Export** ([`ExportDatabase`]): generated fingerprints as a Recog XML
//!   database valid against Recog's `fingerprints.xsd`.
//!
//! # Hostile input
//!
//! Banners are attacker-controlled, and Recog databases come from other people:
//!
//! - Matching takes `&[u8]`; linear-time patterns run on `regex`, the others
//!   on `fancy-regex` under a backtrack limit ([`MatcherOptions`]), so no
//!   pattern runs unbounded on any banner (a pattern that gives up is
//!   [`Error::MatchAborted`]).
//! - A database file over [`MAX_DATABASE_BYTES`] (an example file over
//!   [`MAX_EXAMPLE_FILE_BYTES`]) is refused before it is read.
//! - Param interpolation is capped: chains deeper than
//!   [`MAX_INTERPOLATION_DEPTH`] are refused at load time, and no value grows
//!   beyond [`MAX_INTERPOLATED_LEN`] bytes (load-time check of the fixed
//!   values, and a check before every replacement at match time), each an
//!   [`Error::InterpolationLimit`] naming the file and line.
//! - Every error's `Display` and every [`VerifyReport`] message is
//!   terminal-safe: text from the database or a banner is escaped with
//!   `bannerlm_base::escape_bytes` / `escape_str`.
//! - Exports ([`ExportDatabase`]) hold no control byte but line breaks and are
//!   written atomically.
//!
//! `tests/hostile.rs` holds the reproductions and a proptest suite of hostile
//! documents (`PROPTEST_CASES=20000 cargo test -p recog-compat --test hostile`
//! runs more cases).
//!
//! # Example: match a banner
//!
//! ```
//! use recog_compat::{Database, Matcher};
//! let db = Database::from_xml_str(
//!     r#"<fingerprints matches="ssh.banner" protocol="ssh">
//!          <fingerprint pattern="^OpenSSH_([\w.]+)(?:\s|$)" flags="REG_ICASE">
//!            <description>OpenSSH</description>
//!            <example service.version="9.6p1">OpenSSH_9.6p1</example>
//!            <param pos="0" name="service.product" value="OpenSSH"/>
//!            <param pos="1" name="service.version"/>
//!          </fingerprint>
//!        </fingerprints>"#,
//!     "ssh_banners",
//! )?;
//! let m = Matcher::new(&db)?.best_match(b"OpenSSH_9.6p1 Ubuntu-3ubuntu13")?.expect("a match");
//! assert_eq!(m.params["service.product"], "OpenSSH");
//! assert_eq!(m.params["service.version"], "9.6p1");
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! # Example: verify a directory of databases
//!
//! ```no_run
//! for db in recog_compat::load_dir(std::env::var("RECOG_XML_DIR")?)? {
//!     println!("{}", recog_compat::verify(&db)?);
//! }
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! # Crate features
//!
//! None; everything is always built.

mod compare;
mod db;
mod error;
mod export;
mod flags;
mod matcher;
mod prefilter;
mod runner;
mod set;
mod translate;
mod verify;

pub use compare::{
    CompareParams, CorpusBanner, GeneratedPattern, HeaderComparison, HttpHeader, NewCandidate,
    RecogStats, Recovery, ValidCompareParams, compare,
};
pub use db::{
    Database, Example, Fingerprint, MAX_DATABASE_BYTES, MAX_EXAMPLE_FILE_BYTES, Param, load_dir,
};
pub use error::{Error, Result, TranslateErrorKind};
pub use export::{ExportDatabase, ExportExample, ExportFingerprint, ExportParam};
pub use flags::Flags;
pub use matcher::{
    CompiledPattern, Groups, MAX_INTERPOLATED_LEN, MAX_INTERPOLATION_DEPTH, Match, Matcher,
    MatcherBuilder, MatcherOptions, banner_text,
};
pub use set::{RecogSet, banner_input};
pub use translate::{Engine, Translation, translate};
pub use verify::{Finding, Status, VerifyReport, verify, verify_with};
