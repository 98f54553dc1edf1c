//! The model-free part of identification: generated fingerprints (one `RegexSet` per header
//! or text protocol field) and Recog's HTTP header and text protocol databases.

use std::collections::{BTreeMap, HashMap};
use std::path::Path;

use banner_parse::HttpBanner;
use lcs_fingerprint::Fingerprint;
use recog_compat::{Database, HttpHeader, Matcher, MatcherBuilder};
use regex::bytes::{Regex, RegexSet, RegexSetBuilder};
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// Compiled size limit of one header's `RegexSet` (and of each regex).
const SET_SIZE_LIMIT: usize = 256 << 20;

/// A generated fingerprint that matches a banner.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FingerprintMatch {
    /// The header whose value matched.
    pub header: String,
    /// The fingerprint: its line in `fingerprints.jsonl`, from 0.
    pub fingerprint: usize,
    /// The fingerprint's regex.
    pub regex: String,
    /// The captured `version`, where the fingerprint has one and it took part.
    pub version: Option<String>,
}

/// A Recog match of one header value (or of a text protocol's banner).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RecogMatch {
    /// The header (`Server`, `Set-Cookie`, `WWW-Authenticate`), or the text protocol's field
    /// (`ssh.banner`, `ftp.banner`, ...).
    pub header: String,
    /// The fingerprint's description (Recog's `matched`).
    pub description: String,
    /// Recog's result keys (`service.vendor`, `service.product`, `service.version`, ...),
    /// without `matched`.
    pub params: BTreeMap<String, String>,
}

/// The fingerprints of one header: a set for the yes/no pass, single regexes for captures.
#[derive(Debug)]
struct HeaderSet {
    header: String,
    set: RegexSet,
    /// Fingerprint index of each pattern of the set.
    members: Vec<usize>,
    /// Per pattern: the compiled regex when it has a `version` capture.
    captures: Vec<Option<Regex>>,
}

/// The generated fingerprints, compiled for matching: one [`RegexSet`] per header, so a
/// header value is scanned once for all fingerprints of its header, then captures only for
/// the fingerprints that matched and have a `version` group.
#[derive(Debug)]
pub struct FingerprintMatcher {
    headers: Vec<HeaderSet>,
    regexes: Vec<String>,
}

fn set_builder<I: IntoIterator<Item = S>, S: AsRef<str>>(patterns: I) -> RegexSetBuilder {
    let mut b = RegexSetBuilder::new(patterns);
    b.unicode(false)
        .dot_matches_new_line(true)
        .size_limit(SET_SIZE_LIMIT)
        .dfa_size_limit(SET_SIZE_LIMIT);
    b
}

impl FingerprintMatcher {
    /// Compiles `fingerprints` with [`lcs_fingerprint::compile_regex`]'s flags (bytes,
    /// Unicode off, `.` matches `\n`).
    ///
    /// ```
    /// use banner_identify::FingerprintMatcher;
    /// let fp: lcs_fingerprint::Fingerprint = serde_json::from_value(serde_json::json!({
    ///     "header": "Server", "regex": "^nginx/(?P<version>[0-9]+(?:\\.[0-9]+)*)$",
    ///     "clustering": "eps=0.1", "cluster": 0, "support": 2, "cluster_size": 2,
    ///     "matched": 2, "precision": 1.0, "draws": 1, "sources": [], "examples": []
    /// }))?;
    /// let m = FingerprintMatcher::new(&[fp])?;
    /// let banner = banner_parse::HttpBanner::parse(b"HTTP/1.1 200 OK\r\nServer: nginx/1.25.3\r\n");
    /// let found = m.match_banner(&banner);
    /// assert_eq!(found[0].version.as_deref(), Some("1.25.3"));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    ///
    /// # Errors
    /// [`Error::Regex`] when a header's patterns do not compile.
    pub fn new(fingerprints: &[Fingerprint]) -> Result<Self> {
        let mut by_header: Vec<(String, Vec<usize>)> = Vec::new();
        for (i, f) in fingerprints.iter().enumerate() {
            match by_header
                .iter_mut()
                .find(|(h, _)| h.eq_ignore_ascii_case(&f.header))
            {
                Some((_, v)) => v.push(i),
                None => by_header.push((f.header.clone(), vec![i])),
            }
        }
        let mut headers = Vec::with_capacity(by_header.len());
        for (header, members) in by_header {
            let err = |source| Error::Regex {
                header: header.clone(),
                source,
            };
            let set = set_builder(members.iter().map(|&i| fingerprints[i].regex.as_str()))
                .build()
                .map_err(err)?;
            let mut captures = Vec::with_capacity(members.len());
            for &i in &members {
                let re = &fingerprints[i].regex;
                captures.push(if re.contains("(?P<version>") {
                    Some(
                        lcs_fingerprint::compile_regex(re).map_err(|e| Error::Regex {
                            header: header.clone(),
                            source: match e {
                                lcs_fingerprint::Error::Regex { source, .. } => source,
                                other => regex::Error::Syntax(other.to_string()),
                            },
                        })?,
                    )
                } else {
                    None
                });
            }
            headers.push(HeaderSet {
                header,
                set,
                members,
                captures,
            });
        }
        Ok(Self {
            headers,
            regexes: fingerprints.iter().map(|f| f.regex.clone()).collect(),
        })
    }

    /// The fingerprints that match any value of their header, in fingerprint order (each
    /// once: the first matching value gives the version).
    pub fn match_banner(&self, http: &HttpBanner<'_>) -> Vec<FingerprintMatch> {
        let mut out = Vec::new();
        for h in &self.headers {
            if !lcs_fingerprint::is_text_field(&h.header) {
                self.match_values(h, http.get_all(&h.header), &mut out);
            }
        }
        out.sort_by_key(|m| m.fingerprint);
        out
    }

    /// The fingerprints of a text protocol's field (`ssh.banner`, ...:
    /// [`lcs_fingerprint::text_field`]) that match `banner`, a banner of that protocol (its
    /// text as [`lcs_fingerprint::field_values`] gives it), in fingerprint order.
    ///
    /// ```
    /// use banner_identify::FingerprintMatcher;
    /// let fp: lcs_fingerprint::Fingerprint = serde_json::from_value(serde_json::json!({
    ///     "header": "ssh.banner", "regex": "^OpenSSH_(?P<version>[0-9]+(?:\\.[0-9]+)*)",
    ///     "clustering": "eps=0.1", "cluster": 0, "support": 2, "cluster_size": 2,
    ///     "matched": 2, "precision": 1.0, "draws": 1, "sources": [], "examples": []
    /// }))?;
    /// let m = FingerprintMatcher::new(&[fp])?;
    /// let found = m.match_text("ssh.banner", b"SSH-2.0-OpenSSH_9.6p1 Ubuntu-3\r\n");
    /// assert_eq!(found[0].version.as_deref(), Some("9.6"));
    /// assert!(m.match_text("ftp.banner", b"220 OpenSSH_9.6\r\n").is_empty());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn match_text(&self, field: &str, banner: &[u8]) -> Vec<FingerprintMatch> {
        let mut out = Vec::new();
        for h in self
            .headers
            .iter()
            .filter(|h| h.header.eq_ignore_ascii_case(field))
        {
            self.match_values(h, lcs_fingerprint::field_values(field, banner), &mut out);
        }
        out.sort_by_key(|m| m.fingerprint);
        out
    }

    /// The fingerprints that match a banner of `protocol` (`http`, `ssh`, ...; `None`:
    /// unknown): [`match_text`](Self::match_text) for a text protocol (an unknown protocol
    /// whose banner starts with `SSH-` is SSH), else [`match_banner`](Self::match_banner) of
    /// the banner parsed as HTTP.
    pub fn match_protocol(&self, banner: &[u8], protocol: Option<&str>) -> Vec<FingerprintMatch> {
        match text_protocol(banner, protocol) {
            Some((_, field)) => self.match_text(field, banner),
            None => self.match_banner(&HttpBanner::parse(banner)),
        }
    }

    /// The fingerprints of `h` that match any of `values` (each once: the first matching
    /// value gives the version), appended to `out`.
    fn match_values<'v>(
        &self,
        h: &HeaderSet,
        values: impl IntoIterator<Item = &'v [u8]>,
        out: &mut Vec<FingerprintMatch>,
    ) {
        let mut seen: Vec<usize> = Vec::new();
        for value in values {
            for p in &h.set.matches(value) {
                if seen.contains(&p) {
                    continue;
                }
                seen.push(p);
                let version = h.captures[p].as_ref().and_then(|re| {
                    re.captures(value)
                        .and_then(|c| c.name("version"))
                        .map(|m| String::from_utf8_lossy(m.as_bytes()).into_owned())
                });
                let fingerprint = h.members[p];
                out.push(FingerprintMatch {
                    header: h.header.clone(),
                    fingerprint,
                    regex: self.regexes[fingerprint].clone(),
                    version,
                });
            }
        }
    }

    /// Number of fingerprints.
    pub fn len(&self) -> usize {
        self.regexes.len()
    }

    /// Whether there is no fingerprint.
    pub fn is_empty(&self) -> bool {
        self.regexes.is_empty()
    }
}

/// Recog's HTTP header databases (`http_servers.xml` for Server, `http_cookies.xml` for
/// Set-Cookie, `http_wwwauth.xml` for WWW-Authenticate) and its text protocols' databases
/// (`ssh_banners.xml`, `ftp_banners.xml`, `smtp_banners.xml`, `telnet_banners.xml`, ...:
/// [`lcs_fingerprint::text_protocols`]), compiled with the literal prefilter
/// ([`Matcher::best_match`], Recog's first-match semantics).
#[derive(Debug, Clone)]
pub struct RecogMatchers {
    headers: Vec<(HttpHeader, Matcher)>,
    /// `(protocol, field, matcher)` of each text protocol with a database.
    text: Vec<(&'static str, &'static str, Matcher)>,
}

impl RecogMatchers {
    /// Loads the HTTP header and text protocol databases present in Recog's `xml/` folder
    /// `dir` (at least one).
    ///
    /// # Errors
    /// [`Error::Format`] when `dir` holds none of them; Recog's load and compile errors.
    pub fn load_dir(dir: impl AsRef<Path>) -> Result<Self> {
        let dir = dir.as_ref();
        let mut dbs = Vec::new();
        for h in HttpHeader::ALL {
            let path = dir.join(h.database_file());
            if path.is_file() {
                dbs.push((h, Database::from_path(&path)?));
            }
        }
        let mut text = Vec::new();
        for (protocol, field, file) in lcs_fingerprint::text_protocols() {
            let path = dir.join(file);
            if path.is_file() {
                let db = Database::from_path(&path)?;
                text.push((protocol, field, MatcherBuilder::new().build(&db)?));
            }
        }
        if dbs.is_empty() && text.is_empty() {
            return Err(Error::format(
                dir,
                "no Recog HTTP header database (http_servers.xml, http_cookies.xml, \
                 http_wwwauth.xml) nor text protocol database (ssh_banners.xml, ...) in \
                 this folder",
            ));
        }
        let mut out = Self::from_databases(&dbs.iter().map(|(h, d)| (*h, d)).collect::<Vec<_>>())?;
        out.text = text;
        Ok(out)
    }

    /// Compiles already loaded HTTP header databases, one per header.
    ///
    /// # Errors
    /// The first fingerprint that does not compile.
    pub fn from_databases(dbs: &[(HttpHeader, &Database)]) -> Result<Self> {
        let mut headers = Vec::with_capacity(dbs.len());
        for (h, db) in dbs {
            headers.push((*h, MatcherBuilder::new().build(db)?));
        }
        Ok(Self {
            headers,
            text: Vec::new(),
        })
    }

    /// Adds (or replaces) the database of a text protocol (`ssh`, `ftp`, `smtp`, `telnet`,
    /// ...: one of [`lcs_fingerprint::text_protocols`]).
    ///
    /// ```
    /// use banner_identify::RecogMatchers;
    /// let db = recog_compat::Database::from_xml_str(
    ///     r#"<fingerprints matches="ssh.banner" protocol="ssh">
    ///        <fingerprint pattern="^OpenSSH_([\w.]+)"><description>OpenSSH</description>
    ///        <param pos="0" name="service.product" value="OpenSSH"/>
    ///        <param pos="1" name="service.version"/></fingerprint></fingerprints>"#,
    ///     "ssh_banners",
    /// )?;
    /// let recog = RecogMatchers::from_databases(&[])?.with_text_database("ssh", &db)?;
    /// let mut memo = banner_identify::RecogMemo::default();
    /// let found = recog.match_text("ssh", b"SSH-2.0-OpenSSH_9.6p1\r\n", &mut memo);
    /// assert_eq!(found[0].header, "ssh.banner");
    /// assert_eq!(found[0].params["service.version"], "9.6p1");
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    ///
    /// # Errors
    /// [`Error::Format`] for a protocol without a field; the first fingerprint that does not
    /// compile.
    pub fn with_text_database(mut self, protocol: &str, db: &Database) -> Result<Self> {
        let Some((protocol, field, _)) = lcs_fingerprint::text_protocols()
            .find(|(p, _, _)| p.eq_ignore_ascii_case(protocol.trim()))
        else {
            return Err(Error::format(
                db.path.clone(),
                format!(
                    "'{}' is not a text protocol with a Recog field",
                    bannerlm_base::escape_bytes(protocol.as_bytes())
                ),
            ));
        };
        let matcher = MatcherBuilder::new().build(db)?;
        self.text.retain(|(p, _, _)| *p != protocol);
        self.text.push((protocol, field, matcher));
        Ok(self)
    }

    /// The headers with a database, in matching order.
    pub fn headers(&self) -> impl Iterator<Item = HttpHeader> + '_ {
        self.headers.iter().map(|(h, _)| *h)
    }

    /// The text protocols with a database (`ssh`, `ftp`, ...).
    pub fn text_protocols(&self) -> impl Iterator<Item = &'static str> + '_ {
        self.text.iter().map(|(p, _, _)| *p)
    }

    /// Recog's first match for each value of each header (a value whose match gives up, at
    /// the backtrack or interpolation limit, counts as unmatched).
    pub fn match_banner(&self, http: &HttpBanner<'_>) -> Vec<RecogMatch> {
        self.match_banner_memo(http, &mut RecogMemo::default())
    }

    /// [`Self::match_banner`], answering repeated header values from `memo` (the answer for
    /// a value never changes, so the result is the same with or without it).
    ///
    /// ```no_run
    /// use banner_identify::{RecogMatchers, RecogMemo};
    /// let recog = RecogMatchers::load_dir("recog/xml")?;
    /// let mut memo = RecogMemo::new(1024);
    /// for banner in [&b"HTTP/1.1 200 OK\r\nServer: nginx\r\n"[..]; 3] {
    ///     let http = banner_parse::HttpBanner::parse(banner);
    ///     println!("{:?}", recog.match_banner_memo(&http, &mut memo));
    /// }
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn match_banner_memo(
        &self,
        http: &HttpBanner<'_>,
        memo: &mut RecogMemo,
    ) -> Vec<RecogMatch> {
        let mut out = Vec::new();
        for (k, (h, m)) in self.headers.iter().enumerate() {
            for value in http.get_all(h.name()) {
                if let Some(r) = best_match_memo(m, h.name(), k, value, memo)
                    && !out.contains(&r)
                {
                    out.push(r);
                }
            }
        }
        out
    }

    /// Recog's matches for a banner of `protocol` (`http`, `ssh`, ...; `None`: unknown), as
    /// [`FingerprintMatcher::match_protocol`] dispatches: [`match_text`](Self::match_text) for
    /// a text protocol, else [`match_banner_memo`](Self::match_banner_memo) of the banner
    /// parsed as HTTP.
    pub fn match_protocol(
        &self,
        banner: &[u8],
        protocol: Option<&str>,
        memo: &mut RecogMemo,
    ) -> Vec<RecogMatch> {
        match text_protocol(banner, protocol) {
            Some((protocol, _)) => self.match_text(protocol, banner, memo),
            None => self.match_banner_memo(&HttpBanner::parse(banner), memo),
        }
    }

    /// Recog's first match of the banner of a text protocol (`ssh`, `ftp`, `smtp`,
    /// `telnet`, ...) in that protocol's database, on the text Recog matches
    /// ([`recog_compat::banner_input`]: the greeting line without its prefix, the whole
    /// banner for Telnet); empty without that database. See
    /// [`with_text_database`](Self::with_text_database) for an example.
    pub fn match_text(
        &self,
        protocol: &str,
        banner: &[u8],
        memo: &mut RecogMemo,
    ) -> Vec<RecogMatch> {
        let Some((k, (p, field, m))) = self
            .text
            .iter()
            .enumerate()
            .find(|(_, (p, _, _))| p.eq_ignore_ascii_case(protocol.trim()))
        else {
            return Vec::new();
        };
        let Some((_, text)) = recog_compat::banner_input(p, banner) else {
            return Vec::new();
        };
        best_match_memo(m, field, self.headers.len() + k, text, memo)
            .into_iter()
            .collect()
    }
}

/// The text protocol a banner is matched as: `(protocol, field)` when `protocol` (or, when it
/// is unknown, an `SSH-` prefix) names a text protocol with a field; `None`: HTTP.
fn text_protocol<'p>(banner: &[u8], protocol: Option<&'p str>) -> Option<(&'p str, &'static str)> {
    let protocol = protocol.or_else(|| banner.starts_with(b"SSH-").then_some("ssh"))?;
    lcs_fingerprint::text_field(protocol).map(|f| (protocol, f))
}

/// Recog's first match of `value` in `m`, as a [`RecogMatch`] of `header`, from `memo` when
/// it holds the answer (slot `k`).
fn best_match_memo(
    m: &Matcher,
    header: &str,
    k: usize,
    value: &[u8],
    memo: &mut RecogMemo,
) -> Option<RecogMatch> {
    if let Some(hit) = memo.get(k, value) {
        return hit.clone();
    }
    let found = match m.best_match(value) {
        Ok(Some(found)) => {
            let description = found.description().to_owned();
            let mut params = found.params;
            params.remove("matched");
            Some(RecogMatch {
                header: header.to_owned(),
                description,
                params,
            })
        }
        _ => None,
    };
    memo.insert(k, value, found.clone());
    found
}

/// A bounded memo of Recog answers by header and value, for one batch of banners: scans
/// repeat a few popular values (`nginx`, `Apache`, `cloudflare`), whose answer is then
/// computed once. When it holds `capacity` values it is emptied and starts again, so its size
/// stays bounded whatever the input. `RecogMemo::default()` remembers nothing.
#[derive(Debug, Default)]
pub struct RecogMemo {
    /// Per header (index in [`RecogMatchers`]): value to answer.
    map: Vec<HashMap<Box<[u8]>, Option<RecogMatch>>>,
    len: usize,
    capacity: usize,
}

impl RecogMemo {
    /// Header values longer than this are never remembered (they are rarely repeated).
    pub const MAX_VALUE_LEN: usize = 256;

    /// A memo of at most `capacity` values.
    pub fn new(capacity: usize) -> Self {
        Self {
            map: Vec::new(),
            len: 0,
            capacity,
        }
    }

    /// Values remembered now.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether nothing is remembered.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    fn get(&self, header: usize, value: &[u8]) -> Option<&Option<RecogMatch>> {
        self.map.get(header).and_then(|m| m.get(value))
    }

    fn insert(&mut self, header: usize, value: &[u8], answer: Option<RecogMatch>) {
        if self.capacity == 0 || value.len() > Self::MAX_VALUE_LEN {
            return;
        }
        if self.len >= self.capacity {
            self.map.iter_mut().for_each(HashMap::clear);
            self.len = 0;
        }
        if self.map.len() <= header {
            self.map.resize_with(header + 1, HashMap::new);
        }
        if self.map[header].insert(value.into(), answer).is_none() {
            self.len += 1;
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn memo_gives_the_same_answers_and_stays_bounded() {
        let db = Database::from_xml_str(
            r#"<fingerprints matches="http_header.server" protocol="http">
               <fingerprint pattern="^nginx(?:/([\d.]+))?$"><description>nginx</description>
               <param pos="0" name="service.product" value="nginx"/>
               <param pos="1" name="service.version"/></fingerprint></fingerprints>"#,
            "http_servers",
        )
        .unwrap();
        let recog = RecogMatchers::from_databases(&[(HttpHeader::Server, &db)]).unwrap();
        let mut memo = RecogMemo::new(2);
        let values = [
            "nginx/1.2",
            "nginx",
            "Apache",
            "nginx/1.2",
            "nginx/1.3",
            "nginx",
        ];
        for v in values.iter().chain(values.iter()) {
            let banner = format!("HTTP/1.1 200 OK\r\nServer: {v}\r\n\r\n");
            let http = HttpBanner::parse(banner.as_bytes());
            let plain = recog.match_banner(&http);
            assert_eq!(recog.match_banner_memo(&http, &mut memo), plain, "{v}");
            assert_eq!(plain.len(), usize::from(v.starts_with("nginx")));
            assert!(memo.len() <= 2);
        }
        assert_eq!(
            recog.match_banner(&HttpBanner::parse(
                b"HTTP/1.1 200 OK\r\nServer: nginx/1.3\r\n"
            ))[0]
                .params["service.version"],
            "1.3"
        );
        assert!(RecogMemo::default().is_empty());
    }
}
