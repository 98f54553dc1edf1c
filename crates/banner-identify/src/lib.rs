//! # banner-identify
//!
//! Apply what the bannerlm pipeline learned to new banners: open the **bundle** the pipeline
//! writes (`<out>/bundle/`) and identify each banner by the generated fingerprints that
//! match it, Recog's matches (when a Recog `xml/` folder is given), its cluster at every
//! epsilon (HDBSCAN's approximate prediction, with the cluster's label) and its nearest
//! known banners. A caller who only wants fingerprints and Recog switches the model off and
//! never loads it.
//!
//! ## API
//!
//! - [`Identifier::open`] (bundle + [`IdentifyOptions`]), then [`Identifier::identify`],
//!   [`Identifier::identify_batch`], [`Identifier::identify_batch_in`] (with each banner's
//!   protocol) or [`Identifier::identify_records`], giving an [`Identification`] per banner
//!   ([`FingerprintMatch`], [`RecogMatch`], [`ClusterAssignment`], [`KnownNeighbour`]). Each
//!   protocol was clustered on its own: a banner is placed among its protocol's clusters.
//! - [`Bundle::open`] (verified against its [`BundleManifest`]) and [`BundleWriter`], with
//!   [`label_clusters`] for the per-cluster labels ([`ClusteringLabels`], [`ClusterLabel`]).
//! - The matchers on their own: [`FingerprintMatcher`] (one `RegexSet` per header or text
//!   protocol field) and [`RecogMatchers`] (Recog's HTTP header and text protocol databases).
//!
//! The bundle layout is in docs/FORMATS.md.
//!
//! ## Use it in your own code
//!
//! ```no_run
//! use banner_identify::{IdentifyOptions, Identifier};
//!
//! // Fingerprints, Recog, clusters and the 5 nearest known banners.
//! let id = Identifier::open(
//!     "runs/pipeline/bundle",
//!     IdentifyOptions::default().recog_dir("recog/xml"),
//! )?;
//! let found = id.identify(b"HTTP/1.1 200 OK\r\nServer: nginx/1.25.3\r\n\r\n")?;
//! for m in &found.fingerprints {
//!     println!("fingerprint {} version {:?}", m.fingerprint, m.version);
//! }
//! for c in &found.clusters {
//!     println!("epsilon {}: cluster {:?} ({:?})", c.epsilon, c.cluster, c.label);
//! }
//! // Regex and Recog only: the model is never loaded.
//! let fast = Identifier::open("runs/pipeline/bundle", IdentifyOptions::default().model(false))?;
//! println!("{}", serde_json::to_string(&fast.identify(b"HTTP/1.0 200 OK\r\n\r\n")?)?);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! Scan text in an [`Identification`] (labels, versions, Recog params) is untrusted: escape
//! it ([`bannerlm_base::escape_str`]) before printing it on a terminal.

mod bundle;
mod error;
mod identify;
mod labels;
mod matching;

pub use bundle::{
    BUNDLE_FORMAT, BUNDLE_FORMAT_VERSION, Bundle, BundleManifest, BundleWriter, FileEntry,
};
pub use error::{Error, Result};
pub use identify::{
    ClusterAssignment, Identification, Identifier, IdentifyOptions, IdentifyRecords,
    KnownNeighbour, RECORD_CHUNK_BATCHES, ValidIdentifyOptions,
};
pub use labels::{ClusterLabel, ClusteringLabels, LabelSource, label_clusters};
pub use matching::{FingerprintMatch, FingerprintMatcher, RecogMatch, RecogMatchers, RecogMemo};
