//! Hosts, their evolution between snapshots, and banner rendering.

use std::net::{IpAddr, Ipv4Addr};
use std::sync::Arc;

use banner_parse::BannerRecord;
use rand::rngs::Xoshiro256PlusPlus;
use rand::{RngExt, SeedableRng};

use crate::catalogue::{Body, Catalogue, HeaderTpl, Product};
use crate::config::{BannerForm, ValidSimConfig};
use crate::template::{Out, RenderCtx, derive, render};
use crate::truth::{ChangeKind, Truth};
use crate::{Error, Result};

// Salts that keep the random streams of different purposes apart.
const SALT_INIT: u64 = 1;
const SALT_STEP: u64 = 2;
const SALT_ONLINE: u64 = 3;
const SALT_SCAN: u64 = 4;
const SALT_DEVICE: u64 = 5;
const SALT_ORDER: u64 = 6;
const SALT_IP: u64 = 7;

/// First octets that are not used: private, loopback, CGNAT, link-local,
/// 172.16/12 and 192.168/16 blocks (whole /8s for simplicity), and 224+.
const EXCLUDED_OCTETS: [u8; 6] = [10, 100, 127, 169, 172, 192];

/// One simulated record with its ground truth.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SimRecord {
    /// The banner record, as a scanner would report it.
    pub record: BannerRecord,
    /// What the record really is.
    pub truth: Truth,
}

/// A host's state in one snapshot: a pure function of (seed, host, snapshot).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct HostState {
    product: u32,
    generation: u32,
    port: u16,
    version: u16,
    status: u16,
    opt_mask: u64,
    order_seed: u64,
    change: ChangeKind,
}

/// Weighted choice by binary search over cumulative weights.
#[derive(Debug, Clone)]
struct Weighted {
    items: Vec<u32>,
    cumulative: Vec<f64>,
}

impl Weighted {
    fn new(items: Vec<(u32, f64)>) -> Self {
        let mut acc = 0.0;
        let mut cumulative = Vec::with_capacity(items.len());
        for &(_, w) in &items {
            acc += w;
            cumulative.push(acc);
        }
        Weighted {
            items: items.into_iter().map(|(i, _)| i).collect(),
            cumulative,
        }
    }

    fn sample(&self, rng: &mut Xoshiro256PlusPlus) -> u32 {
        let total = self.cumulative.last().copied().unwrap_or(0.0);
        let x = rng.random::<f64>() * total;
        let i = self
            .cumulative
            .partition_point(|&c| c <= x)
            .min(self.items.len() - 1);
        self.items[i]
    }
}

/// A simulation: a catalogue, validated parameters, and everything derived
/// from the seed. Cheap to clone (the catalogue is shared).
///
/// Every record is a pure function of (seed, host, snapshot): snapshots can
/// be generated in any order, independently, and in constant memory.
///
/// ```
/// use scan_sim::{ChangeKind, ScanSimulator, SimConfig};
///
/// let sim = ScanSimulator::new(SimConfig { hosts: 200, snapshots: 2, seed: 42, ..SimConfig::default() }.check()?)?;
/// let first: Vec<_> = sim.snapshot(0)?.collect();
/// assert!(first.len() > 150); // a few hosts are offline in each snapshot
/// assert!(first.iter().all(|r| r.truth.change == ChangeKind::New));
/// let rec = &first[0];
/// println!("{} {} {}", rec.record.ip, rec.truth.product, bannerlm_base::escape_bytes(&rec.record.banner));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone)]
pub struct ScanSimulator {
    catalogue: Arc<Catalogue>,
    config: ValidSimConfig,
    all: Weighted,
    by_protocol: Vec<(String, Weighted)>,
    product_protocol: Vec<usize>,
    ip_mul: u128,
    ip_add: u128,
    ip_blocks: Vec<u8>,
}

fn gcd(mut a: u128, mut b: u128) -> u128 {
    while b != 0 {
        (a, b) = (b, a % b);
    }
    a
}

impl ScanSimulator {
    /// A simulator over the built-in catalogue.
    ///
    /// # Errors
    /// Only if the built-in catalogue failed to load (see [`Catalogue::builtin`]).
    pub fn new(config: ValidSimConfig) -> Result<Self> {
        Ok(Self::with_catalogue(
            config,
            Arc::new(Catalogue::builtin()?),
        ))
    }

    /// A simulator over a custom catalogue.
    pub fn with_catalogue(config: ValidSimConfig, catalogue: Arc<Catalogue>) -> Self {
        let products = catalogue.products();
        let all = Weighted::new(
            products
                .iter()
                .enumerate()
                .map(|(i, p)| (i as u32, p.weight()))
                .collect(),
        );
        let mut by_protocol: Vec<(String, Weighted)> = Vec::new();
        let mut product_protocol = Vec::with_capacity(products.len());
        let mut protocols: Vec<&str> = products.iter().map(Product::protocol).collect();
        protocols.sort_unstable();
        protocols.dedup();
        for proto in &protocols {
            let items = products
                .iter()
                .enumerate()
                .filter(|(_, p)| p.protocol() == *proto)
                .map(|(i, p)| (i as u32, p.weight()))
                .collect();
            by_protocol.push(((*proto).to_string(), Weighted::new(items)));
        }
        for p in products {
            product_protocol.push(
                protocols
                    .iter()
                    .position(|x| *x == p.protocol())
                    .unwrap_or(0),
            );
        }
        let ip_blocks: Vec<u8> = (1..=223u8)
            .filter(|o| !EXCLUDED_OCTETS.contains(o))
            .collect();
        let modulus = (ip_blocks.len() as u128) << 24;
        let mut ip_mul = u128::from(derive(config.seed(), &[SALT_IP, 0]) | 1) % modulus;
        while gcd(ip_mul, modulus) != 1 {
            ip_mul = (ip_mul + 2) % modulus;
        }
        let ip_add = u128::from(derive(config.seed(), &[SALT_IP, 1])) % modulus;
        ScanSimulator {
            catalogue,
            config,
            all,
            by_protocol,
            product_protocol,
            ip_mul,
            ip_add,
            ip_blocks,
        }
    }

    /// The catalogue hosts are drawn from.
    pub fn catalogue(&self) -> &Catalogue {
        &self.catalogue
    }

    /// The parameters.
    pub fn config(&self) -> &ValidSimConfig {
        &self.config
    }

    /// The address of host `host` (distinct for distinct hosts, public-looking IPv4).
    pub fn ip(&self, host: u64) -> IpAddr {
        let modulus = (self.ip_blocks.len() as u128) << 24;
        let x = (self.ip_mul * u128::from(host) + self.ip_add) % modulus;
        let block = self.ip_blocks[(x >> 24) as usize];
        let low = (x & 0x00ff_ffff) as u32;
        IpAddr::V4(Ipv4Addr::from((u32::from(block) << 24) | low))
    }

    /// The records of snapshot `index` in host order (offline hosts skipped).
    ///
    /// # Errors
    /// [`Error::SnapshotOutOfRange`] when `index >= snapshots`.
    pub fn snapshot(&self, index: usize) -> Result<Snapshot<'_>> {
        self.check_snapshot(index)?;
        Ok(Snapshot {
            sim: self,
            index,
            name: self.config.snapshot_date(index).to_string(),
            next: 0,
            out: Out::new(),
        })
    }

    /// The record of one host in one snapshot, or `None` when the host is
    /// offline then.
    ///
    /// # Errors
    /// [`Error::SnapshotOutOfRange`] when `snapshot >= snapshots`, or an
    /// [`Error::InvalidParam`] when `host >= hosts`.
    pub fn record(&self, host: u64, snapshot: usize) -> Result<Option<SimRecord>> {
        self.check_snapshot(snapshot)?;
        if host >= self.config.hosts() {
            return Err(Error::param(
                "host",
                format!("{host} >= hosts ({})", self.config.hosts()),
            ));
        }
        let name = self.config.snapshot_date(snapshot).to_string();
        Ok(self.render_host(host, snapshot, &name, &mut Out::new()))
    }

    fn check_snapshot(&self, index: usize) -> Result<()> {
        if index >= self.config.snapshots() {
            return Err(Error::SnapshotOutOfRange {
                index,
                snapshots: self.config.snapshots(),
            });
        }
        Ok(())
    }

    fn online(&self, host: u64, snapshot: usize) -> bool {
        let mut rng = Xoshiro256PlusPlus::seed_from_u64(derive(
            self.config.seed(),
            &[SALT_ONLINE, host, snapshot as u64],
        ));
        !rng.random_bool(self.config.rates().offline)
    }

    /// Fresh per-device configuration for `product` (version, status, optional headers, order).
    fn configure(&self, product: u32, rng: &mut Xoshiro256PlusPlus, state: &mut HostState) {
        let p = &self.catalogue.products()[product as usize];
        state.product = product;
        let nv = p.versions().len();
        state.version = if nv > 1 {
            rng.random_range(0..nv) as u16
        } else {
            0
        };
        state.status = 0;
        state.opt_mask = 0;
        state.order_seed = 0;
        if let Body::Http {
            statuses,
            headers,
            reorder,
            ..
        } = &p.body
        {
            if statuses.len() > 1 && rng.random_bool(0.3) {
                state.status = rng.random_range(1..statuses.len()) as u16;
            }
            for h in headers {
                if let Some((bit, prob)) = h.optional
                    && rng.random_bool(prob)
                {
                    state.opt_mask |= 1 << bit;
                }
            }
            if *reorder {
                state.order_seed = rng.random::<u64>() | 1;
            }
        }
    }

    fn initial_state(&self, host: u64) -> HostState {
        let mut rng =
            Xoshiro256PlusPlus::seed_from_u64(derive(self.config.seed(), &[SALT_INIT, host]));
        let product = self.all.sample(&mut rng);
        let ports = self.catalogue.products()[product as usize].ports();
        let port = if ports.len() > 1 && rng.random_bool(0.3) {
            ports[rng.random_range(1..ports.len())]
        } else {
            ports[0]
        };
        let mut state = HostState {
            product,
            generation: 0,
            port,
            version: 0,
            status: 0,
            opt_mask: 0,
            order_seed: 0,
            change: ChangeKind::New,
        };
        self.configure(product, &mut rng, &mut state);
        state
    }

    /// Applies the events of the transition into snapshot `to`.
    fn step(&self, host: u64, to: usize, state: &mut HostState) {
        let rates = self.config.rates();
        let mut rng = Xoshiro256PlusPlus::seed_from_u64(derive(
            self.config.seed(),
            &[SALT_STEP, host, to as u64],
        ));
        let u: f64 = rng.random();
        let p = &self.catalogue.products()[state.product as usize];
        state.change = ChangeKind::None;
        if u < rates.churn {
            let (_, table) = &self.by_protocol[self.product_protocol[state.product as usize]];
            let product = table.sample(&mut rng);
            state.generation += 1;
            let mut dev = Xoshiro256PlusPlus::seed_from_u64(derive(
                self.config.seed(),
                &[SALT_DEVICE, host, u64::from(state.generation)],
            ));
            self.configure(product, &mut dev, state);
            state.change = ChangeKind::Device;
        } else if u < rates.churn + rates.version_update {
            if usize::from(state.version) + 1 < p.versions().len() {
                state.version += 1;
                state.change = ChangeKind::Version;
            }
        } else if u < rates.churn + rates.version_update + rates.config_change {
            let optional = p.optional_headers();
            let statuses = p.statuses();
            let choices = usize::from(optional > 0) + usize::from(statuses > 1);
            if choices > 0 {
                let toggle = optional > 0 && (statuses <= 1 || rng.random_bool(0.5));
                if toggle {
                    state.opt_mask ^= 1 << rng.random_range(0..optional);
                } else {
                    let next = rng.random_range(1..statuses);
                    state.status = ((usize::from(state.status) + next) % statuses) as u16;
                }
                state.change = ChangeKind::Config;
            }
        } else if p.reorders() && rng.random_bool(rates.reorder) {
            // A new order that differs from the current one (redrawn a few
            // times; with two or more headers a repeat is unlikely anyway).
            let n = match &p.body {
                Body::Http { headers, .. } => headers.len(),
                Body::Text { .. } => 0,
            };
            let current = header_order(n, state.order_seed);
            for _ in 0..8 {
                state.order_seed = rng.random::<u64>() | 1;
                if header_order(n, state.order_seed) != current {
                    break;
                }
            }
            state.change = ChangeKind::Reorder;
        }
    }

    /// The host's state in `snapshot`, replaying its history from the first
    /// snapshot (cheap: a few random draws per snapshot).
    fn state(&self, host: u64, snapshot: usize) -> HostState {
        let mut state = self.initial_state(host);
        for to in 1..=snapshot {
            self.step(host, to, &mut state);
        }
        if snapshot == 0 || !self.online(host, snapshot - 1) {
            state.change = ChangeKind::New;
        }
        state
    }

    fn render_host(
        &self,
        host: u64,
        snapshot: usize,
        name: &str,
        out: &mut Out,
    ) -> Option<SimRecord> {
        if !self.online(host, snapshot) {
            return None;
        }
        let state = self.state(host, snapshot);
        let product = &self.catalogue.products()[state.product as usize];
        let ip = self.ip(host);
        let mut rng = Xoshiro256PlusPlus::seed_from_u64(derive(
            self.config.seed(),
            &[SALT_SCAN, host, snapshot as u64],
        ));
        let start = self.config.snapshot_date(snapshot).unix_seconds();
        let now = start + rng.random_range(0..self.config.scan_window_secs()) as i64;
        let version = product.versions().get(usize::from(state.version));
        let mut ctx = RenderCtx {
            now,
            version: version.map_or(&b""[..], |v| v.as_bytes()),
            ip,
            host_seed: derive(
                self.config.seed(),
                &[SALT_DEVICE, host, u64::from(state.generation), 0xd0],
            ),
            epoch0: self.config.snapshot_date(0).unix_seconds(),
            rng: &mut rng,
        };
        out.clear();
        match &product.body {
            Body::Text { banner } => render(banner, &mut ctx, out),
            Body::Http {
                statuses,
                headers,
                http10,
                ..
            } => {
                let status = &statuses[usize::from(state.status).min(statuses.len() - 1)];
                out.bytes
                    .extend_from_slice(if *http10 { b"HTTP/1.0 " } else { b"HTTP/1.1 " });
                out.bytes.extend_from_slice(&status.text);
                out.bytes.extend_from_slice(b"\r\n");
                let order = header_order(headers.len(), state.order_seed);
                for i in order {
                    let h = &headers[i];
                    if !sends(h, state.opt_mask, &status.text) {
                        continue;
                    }
                    out.bytes.extend_from_slice(&h.name);
                    out.bytes.extend_from_slice(&h.sep);
                    if self.config.form() == BannerForm::Censys
                        && h.name.eq_ignore_ascii_case(b"date")
                    {
                        out.bytes.extend_from_slice(b"<REDACTED>");
                    } else {
                        render(&h.value, &mut ctx, out);
                    }
                    out.bytes.extend_from_slice(b"\r\n");
                }
            }
        }
        let record = BannerRecord {
            ip,
            port: state.port,
            snapshot: name.to_string(),
            protocol: product.protocol().to_string(),
            banner: out.bytes.clone(),
        };
        let truth = Truth {
            ip,
            port: state.port,
            snapshot: name.to_string(),
            protocol: product.protocol().to_string(),
            host,
            product: product.id().to_string(),
            vendor: product.vendor().to_string(),
            family: product.family().to_string(),
            version: version.cloned(),
            change: state.change,
            dynamic: out.spans.iter().map(|&(a, b)| [a, b]).collect(),
        };
        Some(SimRecord { record, truth })
    }
}

fn sends(h: &HeaderTpl, mask: u64, status: &[u8]) -> bool {
    if let Some((bit, _)) = h.optional
        && mask & (1 << bit) == 0
    {
        return false;
    }
    match &h.when {
        Some(prefix) => status.starts_with(prefix),
        None => true,
    }
}

/// Header order: catalogue order, or a seeded shuffle for reordering hosts.
fn header_order(n: usize, seed: u64) -> Vec<usize> {
    let mut order: Vec<usize> = (0..n).collect();
    if seed != 0 {
        let mut rng = Xoshiro256PlusPlus::seed_from_u64(derive(seed, &[SALT_ORDER]));
        for i in (1..n).rev() {
            order.swap(i, rng.random_range(0..=i));
        }
    }
    order
}

/// Iterator over the records of one snapshot; see [`ScanSimulator::snapshot`].
#[derive(Debug)]
pub struct Snapshot<'a> {
    sim: &'a ScanSimulator,
    index: usize,
    name: String,
    next: u64,
    out: Out,
}

impl Snapshot<'_> {
    /// The snapshot's name (`YYYY-MM-DD`).
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Index of the next host to be visited (for progress reporting).
    pub fn position(&self) -> u64 {
        self.next
    }
}

impl Iterator for Snapshot<'_> {
    type Item = SimRecord;

    fn next(&mut self) -> Option<SimRecord> {
        while self.next < self.sim.config.hosts() {
            let host = self.next;
            self.next += 1;
            if let Some(r) = self
                .sim
                .render_host(host, self.index, &self.name, &mut self.out)
            {
                return Some(r);
            }
        }
        None
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        let left = (self.sim.config.hosts() - self.next) as usize;
        (0, Some(left))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::SimConfig;

    /// A catalogue of the built-in products `ids` only (their real templates).
    fn builtin_subset(ids: &[&str]) -> Catalogue {
        let all: serde_json::Value =
            serde_json::from_str(include_str!("../data/catalogue.json")).expect("builtin json");
        let products: Vec<&serde_json::Value> = all["products"]
            .as_array()
            .expect("products")
            .iter()
            .filter(|p| ids.contains(&p["id"].as_str().unwrap_or("")))
            .collect();
        assert_eq!(products.len(), ids.len());
        let json = serde_json::json!({ "products": products }).to_string();
        Catalogue::from_json_str(&json, "<subset>").expect("subset")
    }

    /// The banner with its true dynamic spans cut out, and the cut pieces.
    fn split(rec: &SimRecord) -> (String, Vec<String>) {
        let b = &rec.record.banner;
        let (mut kept, mut pieces, mut at) = (Vec::new(), Vec::new(), 0usize);
        for &[s, e] in &rec.truth.dynamic {
            let (s, e) = (s as usize, e as usize);
            kept.extend_from_slice(&b[at..s]);
            pieces.push(String::from_utf8_lossy(&b[s..e]).into_owned());
            at = e;
        }
        kept.extend_from_slice(&b[at..]);
        (String::from_utf8_lossy(&kept).into_owned(), pieces)
    }

    /// Issue 25: the per-scan parts of SMTP, FTP and Telnet greetings (a session id, a
    /// connection number, a tty line number) come with truth spans that cover exactly them.
    #[test]
    fn text_greetings_have_dynamic_parts_with_truth() {
        let config = SimConfig {
            hosts: 400,
            snapshots: 2,
            seed: 5,
            ..SimConfig::default()
        }
        .check()
        .expect("config");
        let catalogue = builtin_subset(&["cisco-telnet", "gmail-smtp", "ws-ftp"]);
        let sim = ScanSimulator::with_catalogue(config, Arc::new(catalogue));
        let (mut gmail, mut wsftp, mut line, mut plain) = (0, 0, 0, 0);
        for snap in 0..2 {
            for rec in sim.snapshot(snap).expect("snapshot") {
                let (static_text, pieces) = split(&rec);
                match rec.truth.product.as_str() {
                    "gmail-smtp" => {
                        gmail += 1;
                        assert_eq!(static_text, "220 mx.google.com ESMTP -. - gsmtp\r\n");
                        assert!(pieces.iter().all(|p| {
                            p.bytes()
                                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
                        }));
                    }
                    "ws-ftp" => {
                        wsftp += 1;
                        assert_eq!(pieces.len(), 1);
                        assert!(pieces[0].bytes().all(|b| b.is_ascii_digit()));
                        assert!(static_text.ends_with("()\r\n"), "{static_text}");
                    }
                    _ if static_text.contains(" line ") => {
                        line += 1;
                        assert_eq!(pieces.len(), 1, "{static_text}");
                        assert!(pieces[0].bytes().all(|b| b.is_ascii_digit()));
                        assert!(static_text.contains(" line  \r\n"), "{static_text}");
                    }
                    _ => {
                        plain += 1;
                        assert!(pieces.is_empty(), "{static_text}");
                    }
                }
            }
        }
        assert!(gmail > 0 && wsftp > 0 && line > 0 && plain > 0);
    }
}
