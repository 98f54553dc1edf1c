//! The product catalogue: which devices and services exist, how popular they
//! are and what their banners look like.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::Path;

use serde::Deserialize;

use crate::template::{Compiler, Piece};
use crate::{Error, Result};

const BUILTIN: &str = include_str!("../data/catalogue.json");

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawCatalogue {
    #[serde(default)]
    profiles: BTreeMap<String, RawProfile>,
    products: Vec<RawProduct>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawProfile {
    headers: Vec<String>,
    #[serde(default)]
    vars: HashMap<String, String>,
    #[serde(default)]
    status: Option<Vec<String>>,
    #[serde(default)]
    http10: Option<bool>,
    #[serde(default)]
    reorder: Option<bool>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawProduct {
    id: String,
    vendor: String,
    name: String,
    family: String,
    #[serde(default)]
    protocol: Option<String>,
    #[serde(default)]
    ports: Option<Vec<u16>>,
    weight: f64,
    #[serde(default)]
    versions: Vec<String>,
    #[serde(default)]
    profile: Option<String>,
    #[serde(default)]
    headers: Option<Vec<String>>,
    #[serde(default)]
    extra: Vec<String>,
    #[serde(default)]
    vars: HashMap<String, String>,
    #[serde(default)]
    status: Option<Vec<String>>,
    #[serde(default)]
    http10: Option<bool>,
    #[serde(default)]
    reorder: Option<bool>,
    #[serde(default)]
    banner: Option<String>,
}

/// An HTTP status a product answers with (`200 OK`).
#[derive(Debug, Clone)]
pub(crate) struct Status {
    pub text: Vec<u8>,
}

/// One header line of an HTTP product.
#[derive(Debug, Clone)]
pub(crate) struct HeaderTpl {
    pub name: Vec<u8>,
    pub sep: Vec<u8>,
    pub value: Vec<Piece>,
    /// `Some((bit, probability))` for a header a host may or may not send.
    pub optional: Option<(u8, f64)>,
    /// Only sent when the status code starts with these digits.
    pub when: Option<Vec<u8>>,
}

#[derive(Debug, Clone)]
pub(crate) enum Body {
    Http {
        statuses: Vec<Status>,
        headers: Vec<HeaderTpl>,
        http10: bool,
        reorder: bool,
    },
    Text {
        banner: Vec<Piece>,
    },
}

/// One product of the catalogue: a device model or software with its banner template.
#[derive(Debug, Clone)]
pub struct Product {
    id: String,
    vendor: String,
    name: String,
    family: String,
    protocol: String,
    ports: Vec<u16>,
    weight: f64,
    versions: Vec<String>,
    pub(crate) body: Body,
}

impl Product {
    /// Unique id, e.g. `nginx-ubuntu`.
    pub fn id(&self) -> &str {
        &self.id
    }

    /// Vendor, e.g. `F5 (NGINX)`.
    pub fn vendor(&self) -> &str {
        &self.vendor
    }

    /// Product name, e.g. `nginx`.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Family, e.g. `web-server`, `ip-camera`, `ssh-server` (see `docs/SIMULATION.md`).
    pub fn family(&self) -> &str {
        &self.family
    }

    /// Protocol of its records (`http`, `ssh`, `ftp`, `smtp`, `telnet`, ...).
    pub fn protocol(&self) -> &str {
        &self.protocol
    }

    /// Ports it is found on; the first is the most common.
    pub fn ports(&self) -> &[u16] {
        &self.ports
    }

    /// Relative popularity (the share of hosts is `weight / total weight`).
    pub fn weight(&self) -> f64 {
        self.weight
    }

    /// Versions, oldest first; hosts update towards the end of the list.
    /// Empty when the banner carries no version.
    pub fn versions(&self) -> &[String] {
        &self.versions
    }

    /// Whether the product answers HTTP (status line plus headers).
    pub fn is_http(&self) -> bool {
        matches!(self.body, Body::Http { .. })
    }

    /// Number of headers a host may switch on or off (HTTP only).
    pub fn optional_headers(&self) -> usize {
        match &self.body {
            Body::Http { headers, .. } => headers.iter().filter(|h| h.optional.is_some()).count(),
            Body::Text { .. } => 0,
        }
    }

    /// Number of distinct status lines hosts of this product answer with.
    pub fn statuses(&self) -> usize {
        match &self.body {
            Body::Http { statuses, .. } => statuses.len(),
            Body::Text { .. } => 0,
        }
    }

    /// Whether hosts of this product change their header order between scans.
    pub fn reorders(&self) -> bool {
        matches!(self.body, Body::Http { reorder: true, .. })
    }
}

/// The set of products a simulation draws hosts from.
///
/// The built-in catalogue (`crates/scan-sim/data/catalogue.json`, compiled
/// into the crate) has more than 250 products written for bannerlm from
/// public knowledge of real products: web servers with OS builds,
/// application servers, CDNs and load balancers, web applications known by
/// their cookies, IP cameras, DVR/NVRs, routers, printers, NAS, PLC/SCADA
/// panels, VPN gateways, smart-home hubs, and SSH, FTP, SMTP and Telnet
/// services. A custom catalogue in the same JSON format can be loaded with
/// [`Catalogue::from_json_str`] or [`Catalogue::from_path`].
///
/// # Format
///
/// `{"profiles": {NAME: PROFILE, ...}, "products": [PRODUCT, ...]}`. A
/// product has `id`, `vendor`, `name`, `family`, `weight` (relative
/// popularity), optional `protocol` (default `http`), `ports`, `versions`
/// and either HTTP headers (`profile` and/or `headers`, plus `extra` lines
/// appended, `status`, `http10`, `reorder`, `vars`) or a text `banner`.
/// A profile is a reusable header list with default `vars`/`status`.
///
/// A header line is `[?[PCT] ][@CODE ]Name: value`: `?` makes it optional
/// per host (present with PCT percent probability, default 50), `@3` sends it
/// only when the status code starts with `3`. Values are templates: literal
/// text with slots, `{{`/`}}` for literal braces:
///
/// | slot | value | truth |
/// |---|---|---|
/// | `{v}` | the host's product version | static |
/// | `{ip}` | the host's address | static |
/// | `{date}`, `{expires:N}` | scan time (+N s), `Tue, 04 Jul 2023 10:11:12 GMT` | fields dynamic |
/// | `{cdate:N}` | cookie date `Tue, 04-Jul-2023 10:11:12 GMT` | fields dynamic |
/// | `{mdate}` | mail date without zone `Tue, 04 Jul 2023 10:11:12` | fields dynamic |
/// | `{clock}`, `{iso}` | `10:11:12`, `2023-07-04T10:11:12Z` | fields dynamic |
/// | `{past:N}` | HTTP date 1..N s before the scan | fields dynamic |
/// | `{epoch}`, `{epochms}` | Unix seconds / milliseconds | dynamic |
/// | `{hex:N}` `{HEX:N}` `{alnum:N}` `{lower:N}` `{upper:N}` `{digits:N}` `{b64:N}` | random token per scan | dynamic |
/// | `{num:LO-HI}` | random number per scan (lengths, counters) | dynamic |
/// | `{uuid}` | random UUID per scan | hex groups dynamic |
/// | `{hhex:N}` ... `{hb64:N}`, `{hnum:LO-HI}`, `{huuid}` | as above, fixed per host | static |
/// | `{hmac}` `{hMAC}` `{hmacraw}` | per-host MAC address | static |
/// | `{hpick:a\|b\|c}` | one option, fixed per host | static |
/// | `{hdate}` | a per-host HTTP date before the first snapshot | static |
/// | `{hdomain}`, `{hword}` | per-host domain name / word | static |
/// | `{x:HEX}` | raw bytes (e.g. Telnet IAC) | static |
/// | `{name}` | the product's (or profile's) variable `name` | as its template |
///
/// ```
/// use scan_sim::Catalogue;
///
/// let cat = Catalogue::builtin()?;
/// assert!(cat.products().len() >= 250);
/// let nginx = cat.get("nginx-ubuntu").ok_or("no nginx")?;
/// assert_eq!(nginx.family(), "web-server");
///
/// let custom = Catalogue::from_json_str(r#"{"products": [
///   {"id": "tiny", "vendor": "Acme", "name": "TinyCam", "family": "ip-camera", "weight": 1,
///    "versions": ["1.0", "1.1"],
///    "headers": ["Server: TinyCam/{v}", "Date: {date}", "?WWW-Authenticate: Basic realm=\"{hMAC}\""]}
/// ]}"#, "<memory>")?;
/// assert_eq!(custom.products()[0].optional_headers(), 1);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone)]
pub struct Catalogue {
    products: Vec<Product>,
    index: HashMap<String, usize>,
}

impl Catalogue {
    /// The catalogue compiled into the crate.
    ///
    /// # Errors
    /// Only if the built-in data were broken, which the crate's tests rule out.
    pub fn builtin() -> Result<Self> {
        Self::from_json_str(BUILTIN, "<builtin>")
    }

    /// Reads a catalogue file in the format above.
    ///
    /// # Errors
    /// [`Error::Io`] when the file cannot be read, [`Error::CatalogueSyntax`]
    /// with line and column for malformed JSON, [`Error::CatalogueEntry`] for
    /// an invalid product.
    pub fn from_path(path: impl AsRef<Path>) -> Result<Self> {
        let path = path.as_ref();
        let text = std::fs::read_to_string(path).map_err(|e| Error::io(path, e))?;
        Self::from_json_str(&text, &path.display().to_string())
    }

    /// Parses a catalogue from JSON text; `source_name` appears in errors.
    ///
    /// # Errors
    /// As [`Catalogue::from_path`], without the I/O case.
    pub fn from_json_str(text: &str, source_name: &str) -> Result<Self> {
        let raw: RawCatalogue = serde_json::from_str(text).map_err(|e| Error::CatalogueSyntax {
            source_name: source_name.to_string(),
            line: e.line(),
            column: e.column(),
            source: e,
        })?;
        let err = |entry: &str, reason: String| Error::CatalogueEntry {
            source_name: source_name.to_string(),
            entry: entry.to_string(),
            reason,
        };
        let mut products = Vec::with_capacity(raw.products.len());
        let mut index = HashMap::new();
        for p in raw.products {
            if index.insert(p.id.clone(), products.len()).is_some() {
                return Err(err(&p.id, "duplicate product id".into()));
            }
            let id = p.id.clone();
            products.push(compile_product(p, &raw.profiles).map_err(|reason| err(&id, reason))?);
        }
        if products.is_empty() {
            return Err(err("products", "the catalogue has no products".into()));
        }
        Ok(Catalogue { products, index })
    }

    /// All products, in catalogue order.
    pub fn products(&self) -> &[Product] {
        &self.products
    }

    /// The product with this id.
    pub fn get(&self, id: &str) -> Option<&Product> {
        self.index.get(id).map(|&i| &self.products[i])
    }

    /// Position of the product with this id in [`Catalogue::products`].
    pub fn position(&self, id: &str) -> Option<usize> {
        self.index.get(id).copied()
    }

    /// Expected share of hosts per product (weights normalised to sum 1), in catalogue order.
    pub fn shares(&self) -> Vec<f64> {
        let total: f64 = self.products.iter().map(|p| p.weight).sum();
        self.products.iter().map(|p| p.weight / total).collect()
    }
}

fn default_ports(protocol: &str) -> Vec<u16> {
    match protocol {
        "http" => vec![80, 443, 8080, 8443],
        "ssh" => vec![22, 2222],
        "ftp" => vec![21, 2121],
        "smtp" => vec![25, 587, 465],
        "telnet" => vec![23, 2323],
        "pop3" => vec![110],
        "imap" => vec![143],
        "mysql" => vec![3306],
        _ => vec![0],
    }
}

fn compile_product(
    p: RawProduct,
    profiles: &BTreeMap<String, RawProfile>,
) -> Result<Product, String> {
    let protocol = p.protocol.unwrap_or_else(|| "http".to_string());
    if protocol.is_empty()
        || !protocol
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
    {
        return Err(format!("protocol {protocol:?} must be lowercase ASCII"));
    }
    if !(p.weight.is_finite() && p.weight > 0.0) {
        return Err(format!("weight must be positive, got {}", p.weight));
    }
    let ports = p.ports.unwrap_or_else(|| default_ports(&protocol));
    if ports.is_empty() || ports.contains(&0) {
        return Err("ports: give at least one non-zero port".into());
    }
    if p.id.is_empty() || p.vendor.is_empty() || p.name.is_empty() || p.family.is_empty() {
        return Err("id, vendor, name and family must not be empty".into());
    }
    let profile = match &p.profile {
        Some(name) => Some(
            profiles
                .get(name)
                .ok_or_else(|| format!("unknown profile {name:?}"))?,
        ),
        None => None,
    };
    let mut vars = profile.map(|pr| pr.vars.clone()).unwrap_or_default();
    vars.extend(p.vars);
    let mut compiler = Compiler::new(&vars);
    let body = if let Some(banner) = &p.banner {
        if profile.is_some() || p.headers.is_some() || !p.extra.is_empty() || p.status.is_some() {
            return Err("a product has either a text `banner` or HTTP headers, not both".into());
        }
        if protocol == "http" {
            return Err("a text `banner` needs a non-http `protocol`".into());
        }
        Body::Text {
            banner: compiler
                .compile(banner)
                .map_err(|e| format!("banner: {e}"))?,
        }
    } else {
        let base = match (&p.headers, profile) {
            (Some(h), _) => h.clone(),
            (None, Some(pr)) => pr.headers.clone(),
            (None, None) => return Err("needs `headers`, `profile` or `banner`".into()),
        };
        let status_text = p
            .status
            .or_else(|| profile.and_then(|pr| pr.status.clone()))
            .unwrap_or_else(|| vec!["200 OK".to_string()]);
        let mut statuses = Vec::new();
        for s in status_text {
            let code = s.get(..3).filter(|c| c.bytes().all(|b| b.is_ascii_digit()));
            if code.is_none() || !(s.len() == 3 || s.as_bytes()[3] == b' ') {
                return Err(format!("status {s:?} must be `NNN Reason`"));
            }
            statuses.push(Status {
                text: s.into_bytes(),
            });
        }
        if statuses.is_empty() {
            return Err("status: give at least one status".into());
        }
        let mut headers = Vec::new();
        let mut bits = 0u8;
        for line in base.iter().chain(&p.extra) {
            let h = parse_header_line(line, &mut compiler, &mut bits)
                .map_err(|e| format!("header {line:?}: {e}"))?;
            headers.push(h);
        }
        Body::Http {
            statuses,
            headers,
            http10: p
                .http10
                .or(profile.and_then(|pr| pr.http10))
                .unwrap_or(false),
            reorder: p
                .reorder
                .or(profile.and_then(|pr| pr.reorder))
                .unwrap_or(false),
        }
    };
    let uses_version = match &body {
        Body::Http { headers, .. } => headers.iter().any(|h| h.value.contains(&Piece::Version)),
        Body::Text { banner } => banner.contains(&Piece::Version),
    };
    if uses_version && p.versions.is_empty() {
        return Err("uses `{v}` but lists no versions".into());
    }
    let mut seen = HashSet::new();
    if let Some(dup) = p.versions.iter().find(|v| !seen.insert(v.as_str())) {
        return Err(format!("version {dup:?} listed twice"));
    }
    Ok(Product {
        id: p.id,
        vendor: p.vendor,
        name: p.name,
        family: p.family,
        protocol,
        ports,
        weight: p.weight,
        versions: p.versions,
        body,
    })
}

fn parse_header_line(
    line: &str,
    compiler: &mut Compiler<'_>,
    bits: &mut u8,
) -> Result<HeaderTpl, String> {
    let mut rest = line;
    let mut optional = None;
    let mut when = None;
    loop {
        if let Some(r) = rest.strip_prefix('?') {
            // `?NN Name`, `? Name` or `?Name`.
            let ndigits = r.bytes().take_while(u8::is_ascii_digit).count();
            let (pct, after) = if ndigits > 0 {
                let after = r[ndigits..]
                    .strip_prefix(' ')
                    .ok_or("`?NN` must be followed by a space")?;
                let pct: f64 = r[..ndigits]
                    .parse()
                    .map_err(|_| format!("bad percentage {r:?}"))?;
                (pct, after)
            } else {
                (50.0, r.strip_prefix(' ').unwrap_or(r))
            };
            if !(pct > 0.0 && pct < 100.0) {
                return Err(format!("percentage {pct} must be in (0, 100)"));
            }
            if *bits >= 64 {
                return Err("at most 64 optional headers per product".into());
            }
            optional = Some((*bits, pct / 100.0));
            *bits += 1;
            rest = after;
        } else if let Some(r) = rest.strip_prefix('@') {
            let (digits, after) = r
                .split_once(' ')
                .ok_or("`@` prefix must be followed by a space")?;
            if digits.is_empty() || digits.len() > 3 || !digits.bytes().all(|b| b.is_ascii_digit())
            {
                return Err(format!("bad status condition {digits:?}"));
            }
            when = Some(digits.as_bytes().to_vec());
            rest = after;
        } else {
            break;
        }
    }
    let colon = rest.find(':').ok_or("no `:` between name and value")?;
    let name = &rest[..colon];
    if name.is_empty() || !name.bytes().all(|b| b.is_ascii_graphic()) {
        return Err(format!("bad header name {name:?}"));
    }
    let after = &rest[colon + 1..];
    let value_start = after.len() - after.trim_start_matches([' ', '\t']).len();
    let sep = rest.as_bytes()[colon..colon + 1 + value_start].to_vec();
    let value = compiler.compile(&after[value_start..])?;
    Ok(HeaderTpl {
        name: name.as_bytes().to_vec(),
        sep,
        value,
        optional,
        when,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builtin_parses_and_is_large() {
        let cat = Catalogue::builtin().map_err(|e| e.to_string());
        let cat = match cat {
            Ok(c) => c,
            Err(e) => panic!("{e}"),
        };
        assert!(
            cat.products().len() >= 250,
            "{} products",
            cat.products().len()
        );
        for proto in ["http", "ssh", "ftp", "smtp", "telnet"] {
            assert!(
                cat.products().iter().any(|p| p.protocol() == proto),
                "{proto}"
            );
        }
        let shares = cat.shares();
        assert!((shares.iter().sum::<f64>() - 1.0).abs() < 1e-9);
    }

    #[test]
    fn entry_errors_name_the_product() {
        let bad = r#"{"products": [{"id": "a", "vendor": "v", "name": "n", "family": "f", "weight": 1, "headers": ["Server: x/{v}"]}]}"#;
        let e = Catalogue::from_json_str(bad, "<t>")
            .map(|_| ())
            .expect_err("must fail");
        assert!(
            matches!(&e, Error::CatalogueEntry { entry, .. } if entry == "a"),
            "{e}"
        );
        let e = Catalogue::from_json_str("{\n\"products\": [,]}", "<t>")
            .map(|_| ())
            .expect_err("must fail");
        assert!(matches!(e, Error::CatalogueSyntax { line: 2, .. }), "{e}");
        let dup = r#"{"products": [
            {"id": "a", "vendor": "v", "name": "n", "family": "f", "weight": 1, "headers": ["Server: x"]},
            {"id": "a", "vendor": "v", "name": "n", "family": "f", "weight": 1, "headers": ["Server: x"]}]}"#;
        assert!(matches!(
            Catalogue::from_json_str(dup, "<t>"),
            Err(Error::CatalogueEntry { .. })
        ));
        for line in [
            "NoColon",
            "?5x Server: a",
            "@3x Location: /",
            "?101 A: b",
            ": v",
            "?0 A: b",
        ] {
            let text = format!(
                r#"{{"products": [{{"id": "a", "vendor": "v", "name": "n", "family": "f", "weight": 1, "headers": [{line:?}]}}]}}"#
            );
            assert!(Catalogue::from_json_str(&text, "<t>").is_err(), "{line}");
        }
    }

    #[test]
    fn header_prefixes() {
        let vars = HashMap::new();
        let mut c = Compiler::new(&vars);
        let mut bits = 0;
        let h = parse_header_line("?20 @3 Location:  /login", &mut c, &mut bits)
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(h.name, b"Location");
        assert_eq!(h.sep, b":  ");
        assert_eq!(h.optional, Some((0, 0.2)));
        assert_eq!(h.when.as_deref(), Some(&b"3"[..]));
    }
}
