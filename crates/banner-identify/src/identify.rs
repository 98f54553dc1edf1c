//! The identify call: a bundle (and optionally Recog) applied to banners.

use std::collections::VecDeque;
use std::path::{Path, PathBuf};

use banner_parse::{BannerRecord, RecordKey};
use embed_index::BannerEmbedder;
use ndarray::Array2;
use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use crate::bundle::Bundle;
use crate::error::{Error, Result};
use crate::matching::{FingerprintMatch, FingerprintMatcher, RecogMatch, RecogMatchers, RecogMemo};

/// Banners matched per parallel task (rayon) in [`Identifier::identify_batch`].
const MATCH_CHUNK: usize = 1024;

/// Header values each parallel task remembers Recog's answer for ([`RecogMemo`]).
const MEMO_CAPACITY: usize = 4096;

/// Forward-pass batches that [`Identifier::identify_records`] reads and identifies at once:
/// with the default batch of 64, 4,096 records, as many as the embedding stage's chunks, so
/// that sorting by length keeps padding as small as there.
pub const RECORD_CHUNK_BATCHES: usize = 64;

/// What an [`Identifier`] computes. `Default`: the model on, no Recog, 5 neighbours,
/// batches of 64.
///
/// ```
/// use banner_identify::IdentifyOptions;
/// let o = IdentifyOptions::default().model(false).recog_dir("recog/xml").neighbours(3);
/// assert!(!o.model && o.neighbours == 3);
/// assert!(IdentifyOptions::default().batch_size(0).check().is_err());
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdentifyOptions {
    /// Embed banners, place them in the clusters and find their nearest known banners. When
    /// off, only fingerprints and Recog run and the model is never loaded.
    pub model: bool,
    /// Recog's `xml/` folder; its HTTP header databases are matched when given.
    pub recog_dir: Option<PathBuf>,
    /// Nearest known banners per banner (k; 0 for none). Needs the model.
    pub neighbours: usize,
    /// Banners per forward pass of the model.
    pub batch_size: usize,
}

impl Default for IdentifyOptions {
    fn default() -> Self {
        Self {
            model: true,
            recog_dir: None,
            neighbours: 5,
            batch_size: 64,
        }
    }
}

impl IdentifyOptions {
    /// Switches the model part on or off.
    #[must_use]
    pub fn model(mut self, on: bool) -> Self {
        self.model = on;
        self
    }

    /// Matches Recog's HTTP header databases from this folder.
    #[must_use]
    pub fn recog_dir(mut self, dir: impl Into<PathBuf>) -> Self {
        self.recog_dir = Some(dir.into());
        self
    }

    /// Number of nearest known banners.
    #[must_use]
    pub fn neighbours(mut self, k: usize) -> Self {
        self.neighbours = k;
        self
    }

    /// Banners per forward pass (> 0).
    #[must_use]
    pub fn batch_size(mut self, n: usize) -> Self {
        self.batch_size = n;
        self
    }

    /// The options, once checked.
    ///
    /// # Errors
    /// [`Error::Invalid`] when `batch_size` is 0.
    pub fn check(self) -> Result<ValidIdentifyOptions> {
        if self.batch_size == 0 {
            return Err(Error::Invalid("batch_size must be > 0".into()));
        }
        Ok(ValidIdentifyOptions(self))
    }
}

/// [`IdentifyOptions`] that passed [`IdentifyOptions::check`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ValidIdentifyOptions(IdentifyOptions);

impl std::ops::Deref for ValidIdentifyOptions {
    type Target = IdentifyOptions;
    fn deref(&self) -> &IdentifyOptions {
        &self.0
    }
}

/// The cluster of a banner in one clustering.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ClusterAssignment {
    /// The clustering's cluster-selection epsilon.
    pub epsilon: f64,
    /// The cluster id, `None` for an outlier.
    pub cluster: Option<usize>,
    /// Membership strength in `[0, 1]` (0 for outliers; HDBSCAN's approximate prediction).
    pub probability: f64,
    /// Whether the banner falls outside every cluster of this clustering.
    pub outlier: bool,
    /// The cluster's label in the bundle, where it has one.
    pub label: Option<String>,
}

/// A known banner (a record of the bundle) near the banner.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct KnownNeighbour {
    /// The known record.
    pub key: RecordKey,
    /// Euclidean distance in the bundle's PCA space (where the clusters live).
    pub distance: f32,
}

/// Everything known about one banner.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct Identification {
    /// Generated fingerprints that match, in fingerprint order.
    pub fingerprints: Vec<FingerprintMatch>,
    /// Recog matches (empty without a Recog folder).
    pub recog: Vec<RecogMatch>,
    /// The cluster in each clustering, in epsilon order (empty with the model off).
    pub clusters: Vec<ClusterAssignment>,
    /// The nearest known banners, nearest first (empty with the model off).
    pub neighbours: Vec<KnownNeighbour>,
}

/// A bundle opened for identification, with Recog and the model as the options say.
///
/// Identification is a pure function of the bundle, the banner and its protocol: HTTP
/// banners are parsed with [`banner_parse::HttpBanner`] and fingerprints and Recog match
/// their header values; banners of text protocols (SSH, FTP, SMTP, Telnet, ...) are matched
/// as Recog matches them (the greeting line). With the model on, banners are embedded,
/// projected with the bundle's PCA, placed among their protocol's clusters in each clustering
/// with HDBSCAN's approximate prediction and matched to their nearest known banners.
#[derive(Debug)]
pub struct Identifier {
    bundle: Bundle,
    options: ValidIdentifyOptions,
    fingerprints: FingerprintMatcher,
    recog: Option<RecogMatchers>,
    model: Option<BannerEmbedder>,
}

impl Identifier {
    /// Opens (and verifies) the bundle in `bundle_dir`, loads Recog and the model as
    /// `options` say (the model on `roberta_model::default_device`).
    ///
    /// # Errors
    /// Invalid options, [`Bundle::open`]'s errors, Recog load errors, [`Error::Index`] for
    /// the model (with the model folder), [`Error::Device`].
    pub fn open(bundle_dir: impl AsRef<Path>, options: IdentifyOptions) -> Result<Self> {
        let options = options.check()?;
        let bundle = Bundle::open(bundle_dir)?;
        let fingerprints = FingerprintMatcher::new(bundle.fingerprints())?;
        let recog = options
            .recog_dir
            .as_ref()
            .map(RecogMatchers::load_dir)
            .transpose()?;
        let model = if options.model {
            let device = roberta_model::default_device().map_err(Error::Device)?;
            let dir = bundle.model_dir();
            let embedder =
                BannerEmbedder::from_dir(&dir, &device).map_err(|source| Error::Index {
                    path: dir.clone(),
                    source,
                })?;
            if embedder.dim() != bundle.pca().dim() {
                return Err(Error::format(
                    dir,
                    format!(
                        "the model embeds into {} dimensions, the bundle's PCA expects {}",
                        embedder.dim(),
                        bundle.pca().dim()
                    ),
                ));
            }
            Some(embedder)
        } else {
            None
        };
        Ok(Self {
            bundle,
            options,
            fingerprints,
            recog,
            model,
        })
    }

    /// The bundle.
    pub fn bundle(&self) -> &Bundle {
        &self.bundle
    }

    /// The options.
    pub fn options(&self) -> &ValidIdentifyOptions {
        &self.options
    }

    /// Identifies one banner (a batch of one).
    ///
    /// # Errors
    /// As [`identify_batch`](Self::identify_batch).
    pub fn identify(&self, banner: &[u8]) -> Result<Identification> {
        let mut v = self.identify_batch(&[banner])?;
        Ok(v.pop().unwrap_or_default())
    }

    /// Identifies banners together: the matching in parallel, the model in forward passes
    /// of `batch_size` banners, the cluster prediction and neighbour search in one pass.
    ///
    /// # Errors
    /// The model's and the prediction's errors (with the bundle file concerned).
    pub fn identify_batch(&self, banners: &[&[u8]]) -> Result<Vec<Identification>> {
        let given: Vec<(&[u8], Option<&str>)> = banners.iter().map(|&b| (b, None)).collect();
        self.identify_batch_in(&given)
    }

    /// [`identify_batch`](Self::identify_batch) with the protocol of each banner where it is
    /// known (`http`, `ssh`, ... as [`BannerRecord::protocol_family`]).
    ///
    /// The bundle's clusterings were fitted protocol by protocol: a banner with a protocol is
    /// placed among that protocol's clusters and known banners only; one without is placed
    /// with the protocol whose known banners lie nearest to it. A banner of a text protocol
    /// (SSH, FTP, SMTP, Telnet, POP3, IMAP, NNTP: [`lcs_fingerprint::text_protocols`]) is
    /// matched against that protocol's fingerprints and Recog database; any other banner is
    /// parsed as HTTP and its headers matched. Without a protocol, a banner that starts with
    /// `SSH-` is taken as SSH, any other as HTTP.
    ///
    /// # Errors
    /// As [`identify_batch`](Self::identify_batch).
    pub fn identify_batch_in(
        &self,
        banners: &[(&[u8], Option<&str>)],
    ) -> Result<Vec<Identification>> {
        let mut out: Vec<Identification> = banners
            .par_chunks(MATCH_CHUNK)
            .flat_map_iter(|chunk| {
                let mut memo = RecogMemo::new(MEMO_CAPACITY);
                chunk
                    .iter()
                    .map(|&(b, p)| self.match_one(b, p, &mut memo))
                    .collect::<Vec<_>>()
            })
            .collect();
        if self.model.is_some() && !banners.is_empty() {
            let bytes: Vec<&[u8]> = banners.iter().map(|&(b, _)| b).collect();
            let protocols: Vec<Option<&str>> = banners.iter().map(|&(_, p)| p).collect();
            let (_, reduced) = self.embed(&bytes)?;
            self.place(&reduced, &protocols, &mut out)?;
        }
        Ok(out)
    }

    /// Fingerprints and Recog for one banner.
    fn match_one(
        &self,
        banner: &[u8],
        protocol: Option<&str>,
        memo: &mut RecogMemo,
    ) -> Identification {
        let fingerprints = self.fingerprints.match_protocol(banner, protocol);
        let recog = self
            .recog
            .as_ref()
            .map(|r| r.match_protocol(banner, protocol, memo))
            .unwrap_or_default();
        Identification {
            fingerprints,
            recog,
            clusters: Vec::new(),
            neighbours: Vec::new(),
        }
    }

    /// Clusters and neighbours of reduced points.
    fn place(
        &self,
        reduced: &Array2<f32>,
        protocols: &[Option<&str>],
        out: &mut [Identification],
    ) -> Result<()> {
        let prediction = self.bundle.prediction();
        let pred_err = |source| Error::Prediction {
            path: self.bundle.dir().join(crate::bundle::files::PREDICTION),
            source,
        };
        // One neighbour search serves the prediction in every clustering and the nearest
        // known banners.
        let density_cluster::Placement {
            predictions,
            nearest: neighbours,
        } = prediction
            .place(reduced, protocols, self.options.neighbours)
            .map_err(pred_err)?;
        let epsilons = &self.bundle.manifest().epsilons;
        let labels = self.bundle.cluster_labels();
        let keys = self.bundle.keys();
        for (row, id) in out.iter_mut().enumerate() {
            id.clusters = predictions
                .iter()
                .enumerate()
                .map(|(c, p)| {
                    let p = p[row];
                    ClusterAssignment {
                        epsilon: epsilons.get(c).copied().unwrap_or(f64::NAN),
                        cluster: p.label,
                        probability: p.probability,
                        outlier: p.label.is_none(),
                        label: p.label.and_then(|l| {
                            labels
                                .get(c)
                                .and_then(|t| t.labels.get(&l))
                                .map(|l| l.label.clone())
                        }),
                    }
                })
                .collect();
            id.neighbours = neighbours[row]
                .iter()
                .filter_map(|&(j, distance)| {
                    keys.get(j).map(|key| KnownNeighbour {
                        key: key.clone(),
                        distance,
                    })
                })
                .collect();
        }
        Ok(())
    }

    /// The unit-length model embeddings of `banners` (`[n, model dim]`) and their PCA
    /// projection (`[n, components]`, the clustered space).
    ///
    /// # Errors
    /// [`Error::ModelOff`] when the model is switched off; the model's and the PCA's errors.
    pub fn embed(&self, banners: &[&[u8]]) -> Result<(Array2<f32>, Array2<f32>)> {
        let model = self.model.as_ref().ok_or(Error::ModelOff)?;
        let full = model
            .embed(banners, self.options.batch_size)
            .map_err(|source| Error::Index {
                path: self.bundle.model_dir(),
                source,
            })?;
        let reduced = self
            .bundle
            .pca()
            .transform(&full)
            .map_err(|source| Error::Index {
                path: self.bundle.dir().join(crate::bundle::files::PCA),
                source,
            })?;
        Ok((full, reduced))
    }

    /// Identifies records as they come, [`RECORD_CHUNK_BATCHES`] batches at a time (bounded
    /// memory): one item per record, in input order, each placed among the clusters of its
    /// own protocol ([`identify_batch_in`](Self::identify_batch_in)). After an error the
    /// iterator ends.
    pub fn identify_records<I>(&self, records: I) -> IdentifyRecords<'_, I::IntoIter>
    where
        I: IntoIterator<Item = BannerRecord>,
    {
        IdentifyRecords {
            identifier: self,
            records: records.into_iter(),
            ready: VecDeque::new(),
            done: false,
        }
    }
}

/// The iterator of [`Identifier::identify_records`].
#[derive(Debug)]
pub struct IdentifyRecords<'a, I> {
    identifier: &'a Identifier,
    records: I,
    ready: VecDeque<(RecordKey, Identification)>,
    done: bool,
}

impl<I: Iterator<Item = BannerRecord>> Iterator for IdentifyRecords<'_, I> {
    type Item = Result<(RecordKey, Identification)>;

    fn next(&mut self) -> Option<Self::Item> {
        if let Some(x) = self.ready.pop_front() {
            return Some(Ok(x));
        }
        if self.done {
            return None;
        }
        let n = self
            .identifier
            .options
            .batch_size
            .saturating_mul(RECORD_CHUNK_BATCHES)
            .max(1);
        let batch: Vec<BannerRecord> = self.records.by_ref().take(n).collect();
        if batch.is_empty() {
            self.done = true;
            return None;
        }
        let families: Vec<String> = batch.iter().map(BannerRecord::protocol_family).collect();
        let given: Vec<(&[u8], Option<&str>)> = batch
            .iter()
            .zip(&families)
            .map(|(r, f)| (r.banner.as_slice(), Some(f.as_str())))
            .collect();
        match self.identifier.identify_batch_in(&given) {
            Ok(ids) => {
                self.ready
                    .extend(batch.iter().map(BannerRecord::key).zip(ids));
                self.ready.pop_front().map(Ok)
            }
            Err(e) => {
                self.done = true;
                Some(Err(e))
            }
        }
    }
}
