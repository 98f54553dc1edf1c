//! Compiling fingerprints and matching banners, like `Recog::Nizer`.

use std::borrow::Cow;
use std::collections::BTreeMap;

use crate::db::{Database, Fingerprint};
use crate::error::{Error, Result};
use crate::flags::Flags;
use crate::prefilter::LiteralPrefilter;
use crate::runner::{CapturesRef, Runner};
use crate::translate::{Engine, translate};

/// The longest chain of fixed params that interpolate one another (`p1 = "{p0}"`,
/// `p2 = "{p1}"`, ...) a fingerprint may have. Recog's own databases need 1 (a `cpe23` that
/// interpolates a version); a database that goes deeper is rejected when it is loaded (and
/// when a [`Matcher`] is built from a hand-made [`Database`]), with its file and line.
pub const MAX_INTERPOLATION_DEPTH: usize = 8;

/// The longest a param value may grow, in bytes, by interpolating `{name}` references.
/// Recog's own values are under 100 bytes. Interpolation checks the length a replacement
/// would give before building it, so a value never exceeds this: a database whose fixed
/// values alone exceed it is rejected when loaded, and a banner whose captures make a value
/// exceed it is an [`Error::InterpolationLimit`] for that match.
pub const MAX_INTERPOLATED_LEN: usize = 64 * 1024;

/// Options for compiling patterns. Build with [`MatcherBuilder`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MatcherOptions {
    /// Find candidate fingerprints with the literal prefilter (one Aho-Corasick pass over
    /// the literals each linear-time pattern requires) instead of running every pattern.
    /// Either way the first match in file order is the answer.
    pub prefilter: bool,
    /// Backtracking steps a `fancy-regex` pattern may take per match attempt.
    pub backtrack_limit: usize,
    /// Compiled size limit per regex, in bytes (`regex::RegexBuilder::size_limit`).
    pub size_limit: usize,
}

impl Default for MatcherOptions {
    fn default() -> Self {
        MatcherOptions {
            prefilter: true,
            backtrack_limit: 100_000,
            size_limit: 10 << 20,
        }
    }
}

/// Consuming builder for a [`Matcher`] that validates its options in `build()`.
///
/// ```
/// use recog_compat::{Database, MatcherBuilder};
/// let db = Database::from_xml_str(
///     r#"<fingerprints matches="http_header.server" protocol="http">
///        <fingerprint pattern="^nginx/(\d[\d.]*)$"><description>nginx</description>
///        <param pos="0" name="service.product" value="nginx"/>
///        <param pos="1" name="service.version"/>
///        <param pos="0" name="service.cpe23" value="cpe:/a:f5:nginx:{service.version}"/>
///        </fingerprint></fingerprints>"#,
///     "http_servers",
/// )?;
/// let matcher = MatcherBuilder::new().backtrack_limit(10_000).build(&db)?;
/// let m = matcher.best_match(b"nginx/1.25.3")?.expect("matches");
/// assert_eq!(m.params["service.version"], "1.25.3");
/// assert_eq!(m.params["service.cpe23"], "cpe:/a:f5:nginx:1.25.3");
/// assert_eq!(m.params["service.protocol"], "http");
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, Default)]
#[must_use]
pub struct MatcherBuilder {
    opts: MatcherOptions,
}

impl From<MatcherOptions> for MatcherBuilder {
    /// A builder starting from `opts` (checked when the matcher is built).
    fn from(opts: MatcherOptions) -> Self {
        Self { opts }
    }
}

impl MatcherBuilder {
    /// Default options: prefilter on, backtrack limit 100,000.
    pub fn new() -> Self {
        Self::default()
    }

    /// Turns the literal prefilter on or off (off: every pattern is run, in file order).
    pub fn prefilter(mut self, yes: bool) -> Self {
        self.opts.prefilter = yes;
        self
    }

    /// Sets the backtrack limit of backtracking patterns (must be > 0).
    pub fn backtrack_limit(mut self, limit: usize) -> Self {
        self.opts.backtrack_limit = limit;
        self
    }

    /// Sets the compiled size limit of each regex (must be > 0).
    pub fn size_limit(mut self, bytes: usize) -> Self {
        self.opts.size_limit = bytes;
        self
    }

    /// The options, once validated (every build starts here).
    ///
    /// # Errors
    /// [`Error::InvalidParams`] if a limit is zero.
    fn valid_options(self) -> Result<MatcherOptions> {
        let o = self.opts;
        if o.backtrack_limit == 0 {
            return Err(Error::InvalidParams("backtrack_limit must be > 0".into()));
        }
        if o.size_limit == 0 {
            return Err(Error::InvalidParams("size_limit must be > 0".into()));
        }
        Ok(o)
    }

    /// Compiles every fingerprint of `db`; fails on the first one that does not compile.
    ///
    /// # Errors
    /// Invalid options, or [`Error::Fingerprint`] with the file and line.
    pub fn build(self, db: &Database) -> Result<Matcher> {
        let (m, errors) = self.build_lenient(db)?;
        match errors.into_iter().next() {
            Some((_, e)) => Err(e),
            None => Ok(m),
        }
    }

    /// Compiles what compiles; returns the matcher (which skips the others)
    /// and the errors by fingerprint index.
    ///
    /// # Errors
    /// Only invalid options.
    pub fn build_lenient(self, db: &Database) -> Result<(Matcher, Vec<(usize, Error)>)> {
        let opts = self.valid_options()?;
        let mut entries = Vec::with_capacity(db.fingerprints.len());
        let mut errors = Vec::new();
        for (i, fp) in db.fingerprints.iter().enumerate() {
            let params = match ParamSpec::new(fp, &db.path) {
                Ok(p) => p,
                Err(e) => {
                    errors.push((i, e));
                    continue;
                }
            };
            match CompiledPattern::new(&fp.pattern, fp.flags, &opts) {
                Ok(re) => {
                    let (re, factors) = Runner::new(re, opts.size_limit);
                    entries.push(Entry {
                        index: i,
                        re,
                        params,
                        factors,
                    });
                }
                Err(e) => errors.push((
                    i,
                    Error::Fingerprint {
                        path: db.path.clone(),
                        line: fp.line,
                        source: Box::new(e),
                    },
                )),
            }
        }
        let prefilter = opts.prefilter.then(|| {
            let factors: Vec<_> = entries.iter().map(|e| e.factors.clone()).collect();
            LiteralPrefilter::new(&factors)
        });
        for e in &mut entries {
            e.factors = Vec::new();
        }
        Ok((
            Matcher {
                match_key: db.match_key.clone(),
                protocol: db.protocol.to_lowercase(),
                entries,
                prefilter,
            },
            errors,
        ))
    }
}

/// A pattern compiled for the engine it needs.
#[derive(Debug, Clone)]
pub enum CompiledPattern {
    /// Linear-time `regex`.
    Linear(regex::Regex),
    /// Backtracking `fancy-regex` with a backtrack limit.
    Backtracking(fancy_regex::Regex),
}

/// Captures of one match: group index to text (`None` if the group did not take part).
pub type Groups = Vec<Option<String>>;

impl CompiledPattern {
    /// Translates and compiles a Recog pattern.
    ///
    /// # Errors
    /// Translation errors, or the engine's compile error.
    pub fn new(pattern: &str, flags: Flags, opts: &MatcherOptions) -> Result<Self> {
        let t = translate(pattern, flags)?;
        match t.engine {
            Engine::Linear => regex::RegexBuilder::new(&t.pattern)
                .size_limit(opts.size_limit)
                .build()
                .map(CompiledPattern::Linear)
                .map_err(|source| Error::Regex {
                    pattern: pattern.to_owned(),
                    source,
                }),
            Engine::Backtracking => fancy_regex::RegexBuilder::new(&t.pattern)
                .backtrack_limit(opts.backtrack_limit)
                .delegate_size_limit(opts.size_limit)
                .build()
                .map(CompiledPattern::Backtracking)
                .map_err(|e| Error::FancyRegex {
                    pattern: pattern.to_owned(),
                    source: Box::new(e),
                }),
        }
    }

    /// The engine used.
    pub fn engine(&self) -> Engine {
        match self {
            Self::Linear(_) => Engine::Linear,
            Self::Backtracking(_) => Engine::Backtracking,
        }
    }

    /// Whether the pattern matches anywhere in `text`.
    ///
    /// # Errors
    /// [`Error::MatchAborted`] when a backtracking pattern hits its limit.
    pub fn is_match(&self, text: &str) -> Result<bool> {
        match self {
            Self::Linear(r) => Ok(r.is_match(text)),
            Self::Backtracking(r) => r.is_match(text).map_err(|e| Error::MatchAborted {
                pattern: r.as_str().to_owned(),
                source: Box::new(e),
            }),
        }
    }

    /// The capture groups of the first match (index 0 is the whole match).
    ///
    /// # Errors
    /// [`Error::MatchAborted`] when a backtracking pattern hits its limit.
    pub fn captures(&self, text: &str) -> Result<Option<Groups>> {
        match self {
            Self::Linear(r) => Ok(r
                .captures(text)
                .map(|c| c.iter().map(|m| m.map(|m| m.as_str().to_owned())).collect())),
            Self::Backtracking(r) => match r.captures(text) {
                Ok(c) => {
                    Ok(c.map(|c| c.iter().map(|m| m.map(|m| m.as_str().to_owned())).collect()))
                }
                Err(e) => Err(Error::MatchAborted {
                    pattern: r.as_str().to_owned(),
                    source: Box::new(e),
                }),
            },
        }
    }
}

/// Params of a fingerprint, deduplicated by name like Ruby's Hash (the last
/// definition wins, the first position is kept), and Recog's interpolation plan.
#[derive(Debug, Clone)]
struct ParamSpec {
    description: String,
    params: Vec<(String, usize, String)>,
    /// Fixed params whose value references `{name}`s, in Recog's order, with the names.
    interpolate: Vec<(String, Vec<String>)>,
    /// Where the fingerprint is, for errors.
    path: std::path::PathBuf,
    line: usize,
}

impl ParamSpec {
    /// Collects the params and checks the interpolation depth.
    fn new(fp: &Fingerprint, path: &std::path::Path) -> Result<Self> {
        let mut params: Vec<(String, usize, String)> = Vec::new();
        for p in &fp.params {
            let v = p.value.clone().unwrap_or_default();
            if let Some(slot) = params.iter_mut().find(|(n, _, _)| *n == p.name) {
                slot.1 = p.pos;
                slot.2 = v;
            } else {
                params.push((p.name.clone(), p.pos, v));
            }
        }
        let mut spec = ParamSpec {
            description: fp.description.clone(),
            params,
            interpolate: Vec::new(),
            path: path.to_owned(),
            line: fp.line,
        };
        // Depth of each interpolated value: one more than the deepest value it takes in
        // already interpolated (values interpolated later are taken in raw, as in Recog).
        let mut depth: Vec<(&str, usize)> = Vec::new();
        let mut plan = Vec::new();
        for (name, pos, value) in &spec.params {
            if *pos != 0 {
                continue;
            }
            let refs = interpolation_refs(value);
            if refs.is_empty() {
                continue;
            }
            let d = 1 + refs
                .iter()
                .filter_map(|r| depth.iter().find(|(n, _)| n == r).map(|(_, d)| *d))
                .max()
                .unwrap_or(0);
            if d > MAX_INTERPOLATION_DEPTH {
                return Err(spec.limit(
                    name,
                    format!(
                        "interpolation nests {d} levels deep, more than the limit of {MAX_INTERPOLATION_DEPTH}"
                    ),
                ));
            }
            depth.push((name, d));
            plan.push((
                name.clone(),
                refs.into_iter().map(str::to_owned).collect::<Vec<_>>(),
            ));
        }
        spec.interpolate = plan;
        Ok(spec)
    }

    fn limit(&self, param: &str, what: String) -> Error {
        Error::InterpolationLimit {
            path: self.path.clone(),
            line: self.line,
            fingerprint: self.description.clone(),
            param: param.to_owned(),
            what,
        }
    }

    /// Recog's interpolation of `r` in place. `strict`: a missing value is an error (at match
    /// time, as in Recog); otherwise it is left as is (the load-time check).
    fn interpolate(&self, r: &mut BTreeMap<String, String>, strict: bool) -> Result<()> {
        for (key, refs) in &self.interpolate {
            for name in refs {
                let needle = format!("{{{name}}}");
                let replacement = match r.get(name) {
                    Some(v) => v.clone(),
                    // Recog's exact rule: `/\.cpe23$/` and `/\.version$/`, case-sensitive.
                    #[allow(clippy::case_sensitive_file_extension_comparisons)]
                    None if key.ends_with(".cpe23") && name.ends_with(".version") => "-".to_owned(),
                    None if !strict => continue,
                    None => {
                        return Err(Error::Interpolation {
                            fingerprint: self.description.clone(),
                            param: key.clone(),
                            missing: name.clone(),
                        });
                    }
                };
                let Some(v) = r.get_mut(key) else { continue };
                // The length the replacement gives, checked before anything is built.
                let count = v.matches(needle.as_str()).count();
                let grown = count
                    .checked_mul(replacement.len())
                    .and_then(|add| (v.len() - count * needle.len()).checked_add(add));
                match grown {
                    Some(n) if n <= MAX_INTERPOLATED_LEN => {}
                    _ => {
                        return Err(self.limit(
                            key,
                            format!(
                                "interpolating {{{}}} makes the value longer than the limit of {MAX_INTERPOLATED_LEN} bytes",
                                bannerlm_base::escape_str(name)
                            ),
                        ));
                    }
                }
                if count > 0 {
                    *v = v.replace(&needle, &replacement);
                }
            }
        }
        Ok(())
    }
}

/// The load-time check of a fingerprint's params: the interpolation depth, and the length
/// its fixed values reach when every capture is empty (a lower bound of every match).
pub(crate) fn check_interpolation(
    fp: &Fingerprint,
    path: &std::path::Path,
    protocol: &str,
    match_key: &str,
) -> Result<()> {
    let spec = ParamSpec::new(fp, path)?;
    if spec.interpolate.is_empty() {
        return Ok(());
    }
    let mut r: BTreeMap<String, String> = BTreeMap::new();
    r.insert("matched".into(), spec.description.clone());
    for (name, pos, value) in &spec.params {
        r.insert(
            name.clone(),
            if *pos == 0 {
                value.clone()
            } else {
                String::new()
            },
        );
    }
    r.entry("service.protocol".into())
        .or_insert_with(|| protocol.to_lowercase());
    r.insert("fingerprint_db".into(), match_key.to_owned());
    spec.interpolate(&mut r, false)
}

#[derive(Debug, Clone)]
struct Entry {
    index: usize,
    re: Runner,
    params: ParamSpec,
    /// The prefilter's literal factors (only until the prefilter is built).
    factors: Vec<crate::prefilter::Factor>,
}

/// A successful match: Recog's result hash.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Match {
    /// Index of the fingerprint in its [`Database`].
    pub fingerprint: usize,
    /// All result keys Recog returns (`matched`, params, `service.protocol`,
    /// `fingerprint_db`), after interpolation and with `_tmp.*` removed.
    /// Params whose capture group did not take part are absent.
    pub params: BTreeMap<String, String>,
}

impl Match {
    /// The fingerprint description (Recog's `matched` key).
    pub fn description(&self) -> &str {
        self.params.get("matched").map_or("", String::as_str)
    }

    /// A product label: `service.vendor service.product` (or the `os.`/`hw.`
    /// equivalents), falling back to the description.
    ///
    /// ```
    /// # use std::collections::BTreeMap;
    /// let mut params = BTreeMap::new();
    /// params.insert("matched".to_string(), "nginx web server".to_string());
    /// params.insert("service.vendor".to_string(), "F5".to_string());
    /// params.insert("service.product".to_string(), "nginx".to_string());
    /// let m = recog_compat::Match { fingerprint: 0, params };
    /// assert_eq!(m.product(), "F5 nginx");
    /// ```
    pub fn product(&self) -> String {
        for prefix in ["service", "os", "hw"] {
            let get = |k: &str| {
                self.params
                    .get(&format!("{prefix}.{k}"))
                    .filter(|v| !v.is_empty())
            };
            if let Some(p) = get("product") {
                return match get("vendor") {
                    Some(v) if !p.starts_with(v.as_str()) => format!("{v} {p}"),
                    _ => p.clone(),
                };
            }
        }
        self.description().to_owned()
    }
}

/// All fingerprints of one database, compiled, tried in file order.
#[derive(Debug, Clone)]
pub struct Matcher {
    match_key: String,
    protocol: String,
    entries: Vec<Entry>,
    prefilter: Option<LiteralPrefilter>,
}

/// Decodes a banner the way this crate matches it: valid UTF-8 as is, other
/// bytes one char per byte (Latin-1), so `.` consumes one byte as in Ruby's
/// binary strings.
pub fn banner_text(banner: &[u8]) -> Cow<'_, str> {
    match std::str::from_utf8(banner) {
        Ok(s) => Cow::Borrowed(s),
        Err(_) => Cow::Owned(banner.iter().map(|&b| char::from(b)).collect()),
    }
}

impl Matcher {
    /// Compiles a database with default options.
    ///
    /// # Errors
    /// See [`MatcherBuilder::build`].
    pub fn new(db: &Database) -> Result<Self> {
        MatcherBuilder::new().build(db)
    }

    /// The database's match key (e.g. `http_header.server`).
    pub fn match_key(&self) -> &str {
        &self.match_key
    }

    /// Number of compiled fingerprints.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether no fingerprint compiled.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// How many compiled fingerprints use each engine: `(linear, backtracking)`.
    pub fn engine_counts(&self) -> (usize, usize) {
        let fancy = self
            .entries
            .iter()
            .filter(|e| e.re.engine() == Engine::Backtracking)
            .count();
        (self.entries.len() - fancy, fancy)
    }

    /// How many compiled fingerprints the literal prefilter can skip (those with required
    /// literals); the others (backtracking patterns, patterns without a required literal)
    /// are run on every banner. `None` when the prefilter is off.
    pub fn prefiltered_count(&self) -> Option<usize> {
        self.prefilter
            .as_ref()
            .map(LiteralPrefilter::filtered_count)
    }

    /// The first fingerprint (in file order) that matches, like
    /// `Recog::Nizer.match`.
    ///
    /// # Errors
    /// [`Error::MatchAborted`] if a backtracking pattern gives up before a
    /// match is found, [`Error::Interpolation`] as Recog raises.
    pub fn best_match(&self, banner: &[u8]) -> Result<Option<Match>> {
        let text = banner_text(banner);
        self.best_match_str(&text)
    }

    /// [`Self::best_match`] on text already decoded with [`banner_text`].
    ///
    /// # Errors
    /// As [`Self::best_match`].
    pub fn best_match_str(&self, text: &str) -> Result<Option<Match>> {
        let mask = self.prefilter.as_ref().map(|p| (p, p.scan(text)));
        for (i, e) in self.entries.iter().enumerate() {
            if let Some((p, mask)) = &mask
                && !p.is_candidate(mask, i)
            {
                continue;
            }
            // Without the prefilter most patterns do not match: a cheap yes/no first.
            if mask.is_none() && !e.re.is_match(text)? {
                continue;
            }
            if let Some(c) = e.re.captures(text)? {
                return self.result(e, &c).map(Some);
            }
        }
        Ok(None)
    }

    /// Every fingerprint that matches, in file order (`Recog::Nizer.multi_match`).
    ///
    /// # Errors
    /// As [`Self::best_match`].
    pub fn all_matches(&self, banner: &[u8]) -> Result<Vec<Match>> {
        let text = banner_text(banner);
        let mut out = Vec::new();
        for i in self.matching_entries(&text)? {
            let e = &self.entries[i];
            if let Some(c) = e.re.captures(&text)? {
                out.push(self.result(e, &c)?);
            }
        }
        Ok(out)
    }

    /// Indexes (into the database) of every fingerprint that matches `text`,
    /// in file order. Backtracking patterns that hit their limit count as no match.
    pub fn matching_fingerprints(&self, text: &str) -> Vec<usize> {
        self.matching_entries(text)
            .unwrap_or_default()
            .into_iter()
            .map(|i| self.entries[i].index)
            .collect()
    }

    fn matching_entries(&self, text: &str) -> Result<Vec<usize>> {
        let mask = self.prefilter.as_ref().map(|p| (p, p.scan(text)));
        let mut out = Vec::new();
        for (i, e) in self.entries.iter().enumerate() {
            if let Some((p, mask)) = &mask
                && !p.is_candidate(mask, i)
            {
                continue;
            }
            match e.re.is_match(text) {
                Ok(true) => out.push(i),
                Ok(false) | Err(Error::MatchAborted { .. }) => {}
                Err(other) => return Err(other),
            }
        }
        Ok(out)
    }

    /// Runs one fingerprint (by database index) on a banner; `None` if it did
    /// not compile or does not match.
    ///
    /// # Errors
    /// As [`Self::best_match`].
    pub fn match_fingerprint(&self, fingerprint: usize, banner: &[u8]) -> Result<Option<Match>> {
        let Some(e) = self.entries.iter().find(|e| e.index == fingerprint) else {
            return Ok(None);
        };
        let text = banner_text(banner);
        match e.re.captures(&text)? {
            Some(c) => self.result(e, &c).map(Some),
            None => Ok(None),
        }
    }

    /// Builds Recog's result hash (`Recog::Fingerprint#match`).
    fn result(&self, e: &Entry, groups: &CapturesRef<'_>) -> Result<Match> {
        let spec = &e.params;
        let mut r: BTreeMap<String, String> = BTreeMap::new();
        r.insert("matched".into(), spec.description.clone());
        for (name, pos, value) in &spec.params {
            if *pos == 0 {
                r.insert(name.clone(), value.clone());
            } else {
                match groups.get(*pos) {
                    Some(v) => {
                        r.insert(name.clone(), undo_latin1(v));
                    }
                    None => {
                        r.remove(name);
                    }
                }
            }
        }
        // Recog inserts the database protocol even when it is empty ('' is truthy in Ruby).
        if !r.contains_key("service.protocol") {
            r.insert("service.protocol".into(), self.protocol.clone());
        }
        r.insert("fingerprint_db".into(), self.match_key.clone());
        spec.interpolate(&mut r, true)?;
        r.retain(|k, _| !k.starts_with("_tmp."));
        Ok(Match {
            fingerprint: e.index,
            params: r,
        })
    }
}

/// Names referenced as `{name}` (Ruby: `/\{([^\s{}]+)\}/`), unique, in order.
fn interpolation_refs(value: &str) -> Vec<&str> {
    let mut out: Vec<&str> = Vec::new();
    let mut rest = value;
    while let Some(open) = rest.find('{') {
        let after = &rest[open + 1..];
        let end = after
            .find(|c: char| c.is_whitespace() || c == '{' || c == '}')
            .unwrap_or(after.len());
        if end > 0 && after[end..].starts_with('}') {
            let name = &after[..end];
            if !out.contains(&name) {
                out.push(name);
            }
            rest = &after[end + 1..];
        } else {
            rest = after;
        }
    }
    out
}

/// Captures from a Latin-1-decoded banner go back to their bytes (then UTF-8, lossily).
fn undo_latin1(v: &str) -> String {
    if v.is_ascii() || v.chars().any(|c| u32::from(c) > 0xFF) {
        return v.to_owned();
    }
    let bytes: Vec<u8> = v.chars().map(|c| u32::from(c) as u8).collect();
    match String::from_utf8(bytes) {
        Ok(s) => s,
        Err(_) => v.to_owned(),
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn db(body: &str) -> Database {
        Database::from_xml_str(
            &format!(r#"<fingerprints matches="m.key" protocol="HTTP">{body}</fingerprints>"#),
            "x",
        )
        .unwrap()
    }

    #[test]
    fn first_match_wins_and_params_follow_recog() {
        let d = db(r#"
          <fingerprint pattern="^Foo/(\d+)(?:-(\w+))?$"><description>Foo</description>
            <param pos="1" name="service.version"/>
            <param pos="2" name="_tmp.build"/>
            <param pos="2" name="service.extra"/>
            <param pos="0" name="service.cpe23" value="cpe:/a:foo:foo:{service.version}"/>
            <param pos="0" name="service.label" value="foo {service.version} {_tmp.build}"/>
          </fingerprint>
          <fingerprint pattern="^Foo"><description>Any Foo</description>
            <param pos="0" name="service.product" value="Foo"/>
            <param pos="0" name="service.protocol" value="spdy"/>
          </fingerprint>"#);
        for prefilter in [true, false] {
            let m = MatcherBuilder::new()
                .prefilter(prefilter)
                .build(&d)
                .unwrap();
            let r = m.best_match(b"Foo/12-beta").unwrap().unwrap();
            assert_eq!(r.fingerprint, 0);
            assert_eq!(r.description(), "Foo");
            assert_eq!(r.params["service.version"], "12");
            assert_eq!(r.params["service.extra"], "beta");
            assert_eq!(r.params["service.label"], "foo 12 beta");
            assert!(!r.params.contains_key("_tmp.build"));
            assert_eq!(r.params["service.protocol"], "http");
            assert_eq!(r.params["fingerprint_db"], "m.key");
            // Optional group missing: the label interpolation raises like Recog.
            assert!(matches!(
                m.best_match(b"Foo/12"),
                Err(Error::Interpolation { .. })
            ));
            let r = m.best_match(b"Foo bar").unwrap().unwrap();
            assert_eq!(r.fingerprint, 1);
            assert_eq!(r.params["service.protocol"], "spdy");
            assert_eq!(m.all_matches(b"Foo/12-x").unwrap().len(), 2);
            assert_eq!(m.matching_fingerprints("Foo/1-x"), vec![0, 1]);
            assert!(m.best_match(b"Bar").unwrap().is_none());
        }
    }

    #[test]
    fn cpe_version_defaults_to_dash() {
        let d = db(
            r#"<fingerprint pattern="^Foo(?:/(\d+))?$"><description>Foo</description>
            <param pos="1" name="service.version"/>
            <param pos="0" name="service.cpe23" value="cpe:/a:foo:foo:{service.version}"/>
          </fingerprint>"#,
        );
        let m = Matcher::new(&d).unwrap();
        let r = m.best_match(b"Foo").unwrap().unwrap();
        assert_eq!(r.params["service.cpe23"], "cpe:/a:foo:foo:-");
        assert!(!r.params.contains_key("service.version"));
    }

    #[test]
    fn binary_banners_match_bytewise() {
        let d = db(
            r#"<fingerprint pattern="^\x00(..)x$"><description>bin</description>
            <param pos="1" name="v"/></fingerprint>"#,
        );
        let m = Matcher::new(&d).unwrap();
        let r = m.best_match(b"\x00\xff\xfex").unwrap().unwrap();
        // Not UTF-8 either way: the capture keeps one char per byte.
        assert_eq!(r.params["v"], "\u{FF}\u{FE}");
    }

    #[test]
    fn backtrack_limit_is_an_error_not_a_hang() {
        let d = db(
            r#"<fingerprint pattern="^(a|aa)+(?=b)\1$"><description>evil</description>
            <param pos="0" name="x" value="y"/></fingerprint>"#,
        );
        let m = MatcherBuilder::new()
            .backtrack_limit(1000)
            .build(&d)
            .unwrap();
        assert_eq!(m.engine_counts(), (0, 1));
        let banner = "a".repeat(64);
        assert!(matches!(
            m.best_match(banner.as_bytes()),
            Err(Error::MatchAborted { .. })
        ));
        assert!(m.matching_fingerprints(&banner).is_empty());
    }

    #[test]
    fn options_are_validated() {
        let d = db("");
        assert!(matches!(
            MatcherBuilder::new().backtrack_limit(0).build(&d),
            Err(Error::InvalidParams(_))
        ));
        assert!(matches!(
            MatcherBuilder::new().size_limit(0).build(&d),
            Err(Error::InvalidParams(_))
        ));
    }

    #[test]
    fn broken_patterns_are_reported_with_lines() {
        let d = db(
            "\n<fingerprint pattern=\"(\"><description>x</description><param pos=\"0\" name=\"a\" value=\"b\"/></fingerprint>",
        );
        assert!(matches!(
            Matcher::new(&d),
            Err(Error::Fingerprint { line: 2, .. })
        ));
        let (m, errs) = MatcherBuilder::new().build_lenient(&d).unwrap();
        assert!(m.is_empty());
        assert_eq!(errs.len(), 1);
    }

    #[test]
    fn interpolation_refs_follow_ruby_scan() {
        assert_eq!(
            interpolation_refs("a {x.y} {z} {x.y} {bad name} {}"),
            vec!["x.y", "z"]
        );
    }

    #[test]
    fn autotraits() {
        fn check<T: Send + Sync>() {}
        check::<Matcher>();
        check::<Database>();
    }
}
