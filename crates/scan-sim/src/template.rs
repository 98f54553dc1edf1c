//! Value templates: literal text with `{slot}` placeholders.
//!
//! A template is parsed once, when the catalogue is loaded, into [`Piece`]s;
//! rendering writes bytes and records the byte spans of per-scan dynamic
//! content at slot level (only the characters a varying slot produced).
//! The slot syntax is documented in `docs/SIMULATION.md` and on
//! [`Catalogue`](crate::Catalogue).

use std::collections::HashMap;
use std::net::IpAddr;

use bannerlm_base::splitmix64;
use rand::rngs::Xoshiro256PlusPlus;
use rand::{RngExt, SeedableRng};

use crate::date::{DateStyle, write_date};

/// Characters a random token is drawn from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Charset {
    Hex,
    HexUpper,
    Alnum,
    Lower,
    Upper,
    Digits,
    B64,
}

impl Charset {
    fn alphabet(self) -> &'static [u8] {
        match self {
            Charset::Hex => b"0123456789abcdef",
            Charset::HexUpper => b"0123456789ABCDEF",
            Charset::Alnum => b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz",
            Charset::Lower => b"0123456789abcdefghijklmnopqrstuvwxyz",
            Charset::Upper => b"ABCDEFGHIJKLMNOPQRSTUVWXYZ",
            Charset::Digits => b"0123456789",
            Charset::B64 => b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/",
        }
    }

    fn from_name(name: &str) -> Option<Self> {
        Some(match name {
            "hex" => Charset::Hex,
            "HEX" => Charset::HexUpper,
            "alnum" => Charset::Alnum,
            "lower" => Charset::Lower,
            "upper" => Charset::Upper,
            "digits" => Charset::Digits,
            "b64" => Charset::B64,
            _ => return None,
        })
    }
}

/// A value regenerated on every scan.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Dyn {
    /// The scan time plus `offset` seconds, in `style`.
    Date { style: DateStyle, offset: i64 },
    /// The scan time minus a random 1..=max seconds (an HTTP date).
    Past { max: u32 },
    /// Unix seconds of the scan.
    Epoch,
    /// Unix milliseconds of the scan.
    EpochMs,
    /// A random token.
    Chars(Charset, u16),
    /// A random decimal number in `lo..=hi`.
    Num(u64, u64),
    /// A random UUID (hex groups dynamic, dashes literal).
    Uuid,
}

/// A value fixed per host (per device) and different between hosts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum HostVal {
    Chars(Charset, u16),
    Num(u64, u64),
    Mac {
        upper: bool,
        colons: bool,
    },
    /// One of several templates (literal text or nested slots), chosen per host.
    Pick(Vec<Vec<Piece>>),
    Date,
    Domain,
    Word,
    Uuid,
}

/// One parsed part of a template.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Piece {
    Lit(Vec<u8>),
    Version,
    Ip,
    Dyn(Dyn),
    Host { slot: u16, val: HostVal },
}

/// What a render needs to know about the host and the scan.
pub(crate) struct RenderCtx<'a> {
    /// Scan time, Unix seconds.
    pub now: i64,
    /// The host's product version.
    pub version: &'a [u8],
    /// The host's address.
    pub ip: IpAddr,
    /// Seed of the host's current device (per-host static values derive from it).
    pub host_seed: u64,
    /// Start of the first snapshot (per-host dates lie before it).
    pub epoch0: i64,
    /// The per-scan random stream.
    pub rng: &'a mut Xoshiro256PlusPlus,
}

/// Bytes being built plus the dynamic spans found so far.
#[derive(Debug)]
pub(crate) struct Out {
    pub bytes: Vec<u8>,
    pub spans: Vec<(u32, u32)>,
}

impl Out {
    pub fn new() -> Self {
        Out {
            bytes: Vec::with_capacity(1024),
            spans: Vec::with_capacity(32),
        }
    }

    pub fn clear(&mut self) {
        self.bytes.clear();
        self.spans.clear();
    }

    fn mark(&mut self, start: usize, end: usize) {
        if start == end {
            return;
        }
        let (s, e) = (start as u32, end as u32);
        match self.spans.last_mut() {
            Some(last) if last.1 == s => last.1 = e,
            _ => self.spans.push((s, e)),
        }
    }
}

/// Derives a seed from a parent seed and a number of parts ([`splitmix64`] of each).
pub(crate) fn derive(parent: u64, parts: &[u64]) -> u64 {
    parts.iter().fold(splitmix64(parent), |acc, &p| {
        splitmix64(acc ^ splitmix64(p))
    })
}

const SYLLABLES: [&str; 32] = [
    "ka", "lo", "ver", "tan", "mi", "ro", "sel", "dor", "na", "vi", "ton", "mar", "el", "quin",
    "za", "bo", "ril", "sun", "ta", "gen", "ox", "pra", "lu", "net", "cor", "dia", "fen", "ho",
    "ja", "kes", "ul", "wen",
];
const TLDS: [&str; 12] = [
    "com", "net", "org", "de", "co.uk", "fr", "nl", "ru", "com.br", "jp", "it", "pl",
];

fn push_word(rng: &mut Xoshiro256PlusPlus, out: &mut Vec<u8>) {
    let n = rng.random_range(2..=3);
    for _ in 0..n {
        out.extend_from_slice(SYLLABLES[rng.random_range(0..SYLLABLES.len())].as_bytes());
    }
}

fn push_chars(rng: &mut Xoshiro256PlusPlus, out: &mut Vec<u8>, cs: Charset, n: u16) {
    let alphabet = cs.alphabet();
    for _ in 0..n {
        out.push(alphabet[rng.random_range(0..alphabet.len())]);
    }
}

fn push_num(out: &mut Vec<u8>, n: u64) {
    let mut buf = [0u8; 20];
    let mut i = buf.len();
    let mut n = n;
    loop {
        i -= 1;
        buf[i] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    out.extend_from_slice(&buf[i..]);
}

fn push_uuid(rng: &mut Xoshiro256PlusPlus, out: &mut Out, dynamic: bool) {
    for (i, n) in [8u16, 4, 4, 4, 12].into_iter().enumerate() {
        if i > 0 {
            out.bytes.push(b'-');
        }
        let start = out.bytes.len();
        push_chars(rng, &mut out.bytes, Charset::Hex, n);
        if dynamic {
            out.mark(start, out.bytes.len());
        }
    }
}

/// Renders `pieces`, appending to `out`.
pub(crate) fn render(pieces: &[Piece], ctx: &mut RenderCtx<'_>, out: &mut Out) {
    for piece in pieces {
        match piece {
            Piece::Lit(b) => out.bytes.extend_from_slice(b),
            Piece::Version => out.bytes.extend_from_slice(ctx.version),
            Piece::Ip => {
                use std::io::Write as _;
                // Writing to a Vec cannot fail.
                let _ = write!(out.bytes, "{}", ctx.ip);
            }
            Piece::Dyn(d) => render_dyn(d, ctx, out),
            Piece::Host { slot, val } => {
                let mut rng =
                    Xoshiro256PlusPlus::seed_from_u64(derive(ctx.host_seed, &[u64::from(*slot)]));
                if let HostVal::Pick(options) = val {
                    if !options.is_empty() {
                        let chosen = &options[rng.random_range(0..options.len())];
                        render(chosen, ctx, out);
                    }
                } else {
                    render_host(val, &mut rng, ctx.epoch0, out);
                }
            }
        }
    }
}

fn render_dyn(d: &Dyn, ctx: &mut RenderCtx<'_>, out: &mut Out) {
    let start = out.bytes.len();
    match d {
        Dyn::Date { style, offset } => {
            let mut fields = Vec::new();
            write_date(&mut out.bytes, ctx.now + offset, *style, |a, b| {
                fields.push((a, b));
            });
            for (a, b) in fields {
                out.mark(a, b);
            }
            return;
        }
        Dyn::Past { max } => {
            let back = i64::from(ctx.rng.random_range(1..=(*max).max(1)));
            let mut fields = Vec::new();
            write_date(&mut out.bytes, ctx.now - back, DateStyle::Http, |a, b| {
                fields.push((a, b));
            });
            for (a, b) in fields {
                out.mark(a, b);
            }
            return;
        }
        Dyn::Epoch => push_num(&mut out.bytes, ctx.now.max(0) as u64),
        Dyn::EpochMs => {
            let ms = ctx.now.max(0) as u64 * 1000 + ctx.rng.random_range(0..1000u64);
            push_num(&mut out.bytes, ms);
        }
        Dyn::Chars(cs, n) => push_chars(ctx.rng, &mut out.bytes, *cs, *n),
        Dyn::Num(lo, hi) => {
            let n = ctx.rng.random_range(*lo..=*hi);
            push_num(&mut out.bytes, n);
        }
        Dyn::Uuid => {
            push_uuid(ctx.rng, out, true);
            return;
        }
    }
    out.mark(start, out.bytes.len());
}

fn render_host(val: &HostVal, rng: &mut Xoshiro256PlusPlus, epoch0: i64, out: &mut Out) {
    let b = &mut out.bytes;
    match val {
        HostVal::Chars(cs, n) => push_chars(rng, b, *cs, *n),
        HostVal::Num(lo, hi) => push_num(b, rng.random_range(*lo..=*hi)),
        HostVal::Mac { upper, colons } => {
            let cs = if *upper {
                Charset::HexUpper
            } else {
                Charset::Hex
            };
            for i in 0..6 {
                if i > 0 && *colons {
                    b.push(b':');
                }
                push_chars(rng, b, cs, 2);
            }
        }
        // Rendered by `render`, which can recurse into the chosen template.
        HostVal::Pick(_) => {}
        HostVal::Date => {
            // A file modified 1 day to 4 years before the first snapshot.
            let back = rng.random_range(86_400..4 * 365 * 86_400);
            write_date(b, epoch0 - back, DateStyle::Http, |_, _| {});
        }
        HostVal::Domain => {
            push_word(rng, b);
            if rng.random_bool(0.3) {
                b.push(b'-');
                push_word(rng, b);
            }
            b.push(b'.');
            b.extend_from_slice(TLDS[rng.random_range(0..TLDS.len())].as_bytes());
        }
        HostVal::Word => push_word(rng, b),
        HostVal::Uuid => push_uuid(rng, out, false),
    }
}

/// Errors from parsing a template; the caller adds which entry it was.
pub(crate) type TemplateError = String;

/// Turns template text into pieces, resolving `{name}` variables from `vars`
/// (themselves templates). The same variable yields the same per-host slots
/// wherever it is used, so a camera model picked once appears identically in
/// the Server header and in the realm.
pub(crate) struct Compiler<'v> {
    vars: &'v HashMap<String, String>,
    cache: HashMap<String, Vec<Piece>>,
    next_slot: u16,
    stack: Vec<String>,
}

impl<'v> Compiler<'v> {
    pub fn new(vars: &'v HashMap<String, String>) -> Self {
        Compiler {
            vars,
            cache: HashMap::new(),
            next_slot: 0,
            stack: Vec::new(),
        }
    }

    /// Parses one template.
    pub fn compile(&mut self, text: &str) -> Result<Vec<Piece>, TemplateError> {
        let mut pieces: Vec<Piece> = Vec::new();
        let mut lit: Vec<u8> = Vec::new();
        let mut rest = text;
        while let Some(pos) = rest.find(['{', '}']) {
            lit.extend_from_slice(&rest.as_bytes()[..pos]);
            let after = &rest[pos..];
            if let Some(r) = after.strip_prefix("{{") {
                lit.push(b'{');
                rest = r;
                continue;
            }
            if let Some(r) = after.strip_prefix("}}") {
                lit.push(b'}');
                rest = r;
                continue;
            }
            if after.starts_with('}') {
                return Err(format!(
                    "unmatched `}}` in {text:?} (write `}}}}` for a literal brace)"
                ));
            }
            let Some(end) = closing_brace(after) else {
                return Err(format!("unclosed `{{` in {text:?}"));
            };
            let inner = &after[1..end];
            rest = &after[end + 1..];
            let (name, arg) = match inner.split_once(':') {
                Some((n, a)) => (n, Some(a)),
                None => (inner, None),
            };
            if name == "x" {
                lit.extend(parse_hex_bytes(arg.unwrap_or(""))?);
                continue;
            }
            let new = self.slot(name, arg)?;
            if !lit.is_empty() {
                pieces.push(Piece::Lit(std::mem::take(&mut lit)));
            }
            for p in new {
                match (pieces.last_mut(), p) {
                    (Some(Piece::Lit(prev)), Piece::Lit(more)) => prev.extend(more),
                    (_, p) => pieces.push(p),
                }
            }
        }
        lit.extend_from_slice(rest.as_bytes());
        if !lit.is_empty() {
            match pieces.last_mut() {
                Some(Piece::Lit(prev)) => prev.extend(lit),
                _ => pieces.push(Piece::Lit(lit)),
            }
        }
        Ok(pieces)
    }

    fn host(&mut self, val: HostVal) -> Result<Vec<Piece>, TemplateError> {
        let slot = self.next_slot;
        self.next_slot = self
            .next_slot
            .checked_add(1)
            .ok_or_else(|| "too many per-host slots".to_string())?;
        Ok(vec![Piece::Host { slot, val }])
    }

    fn slot(&mut self, name: &str, arg: Option<&str>) -> Result<Vec<Piece>, TemplateError> {
        let count = |arg: Option<&str>| -> Result<u16, TemplateError> {
            let a = arg.ok_or_else(|| format!("`{{{name}:N}}` needs a length"))?;
            match a.parse::<u16>() {
                Ok(n @ 1..=512) => Ok(n),
                _ => Err(format!("`{{{name}:{a}}}`: length must be 1..=512")),
            }
        };
        let secs = |arg: Option<&str>| -> Result<i64, TemplateError> {
            match arg {
                None => Ok(0),
                Some(a) => a
                    .parse::<i64>()
                    .ok()
                    .filter(|n| n.abs() <= 100 * 365 * 86_400)
                    .ok_or_else(|| format!("`{{{name}:{a}}}`: expected seconds")),
            }
        };
        let range = |arg: Option<&str>| -> Result<(u64, u64), TemplateError> {
            let a = arg.unwrap_or("");
            let parsed = a
                .split_once('-')
                .and_then(|(l, h)| Some((l.parse::<u64>().ok()?, h.parse::<u64>().ok()?)));
            match parsed {
                Some((lo, hi)) if lo <= hi => Ok((lo, hi)),
                _ => Err(format!("`{{{name}:{a}}}`: expected a range LO-HI")),
            }
        };
        let no_arg = |p: Piece| -> Result<Vec<Piece>, TemplateError> {
            match arg {
                None => Ok(vec![p]),
                Some(a) => Err(format!("`{{{name}}}` takes no argument (got {a:?})")),
            }
        };
        let date = |style, offset| Piece::Dyn(Dyn::Date { style, offset });
        match name {
            "v" => no_arg(Piece::Version),
            "ip" => no_arg(Piece::Ip),
            "date" | "expires" => Ok(vec![date(DateStyle::Http, secs(arg)?)]),
            "cdate" => Ok(vec![date(DateStyle::Cookie, secs(arg)?)]),
            "mdate" => Ok(vec![date(DateStyle::Mail, secs(arg)?)]),
            "clock" => no_arg(date(DateStyle::Clock, 0)),
            "iso" => no_arg(date(DateStyle::Iso, 0)),
            "past" => {
                let max = u32::try_from(secs(arg)?).ok().filter(|&m| m > 0);
                let max = max.ok_or_else(|| "`{past:N}` needs positive seconds".to_string())?;
                Ok(vec![Piece::Dyn(Dyn::Past { max })])
            }
            "epoch" => no_arg(Piece::Dyn(Dyn::Epoch)),
            "epochms" => no_arg(Piece::Dyn(Dyn::EpochMs)),
            "uuid" => no_arg(Piece::Dyn(Dyn::Uuid)),
            "num" => {
                let (lo, hi) = range(arg)?;
                Ok(vec![Piece::Dyn(Dyn::Num(lo, hi))])
            }
            "hnum" => {
                let (lo, hi) = range(arg)?;
                self.host(HostVal::Num(lo, hi))
            }
            "hmac" | "hMAC" | "hmacraw" => {
                if arg.is_some() {
                    return Err(format!("`{{{name}}}` takes no argument"));
                }
                let (upper, colons) = match name {
                    "hmac" => (false, true),
                    "hMAC" => (true, false),
                    _ => (false, false),
                };
                self.host(HostVal::Mac { upper, colons })
            }
            "hpick" => {
                let a = arg.ok_or_else(|| "`{hpick:a|b}` needs options".to_string())?;
                let mut opts = Vec::new();
                for option in split_top_level(a) {
                    opts.push(self.compile(option)?);
                }
                self.host(HostVal::Pick(opts))
            }
            "hdate" | "hdomain" | "hword" | "huuid" => {
                if arg.is_some() {
                    return Err(format!("`{{{name}}}` takes no argument"));
                }
                self.host(match name {
                    "hdate" => HostVal::Date,
                    "hdomain" => HostVal::Domain,
                    "hword" => HostVal::Word,
                    _ => HostVal::Uuid,
                })
            }
            _ => {
                if let Some(cs) = Charset::from_name(name) {
                    return Ok(vec![Piece::Dyn(Dyn::Chars(cs, count(arg)?))]);
                }
                if let Some(cs) = name.strip_prefix('h').and_then(Charset::from_name) {
                    let n = count(arg)?;
                    return self.host(HostVal::Chars(cs, n));
                }
                if arg.is_some() {
                    return Err(format!("unknown slot `{{{name}:...}}`"));
                }
                self.var(name)
            }
        }
    }

    fn var(&mut self, name: &str) -> Result<Vec<Piece>, TemplateError> {
        if let Some(p) = self.cache.get(name) {
            return Ok(p.clone());
        }
        let text = self
            .vars
            .get(name)
            .ok_or_else(|| format!("unknown slot or variable `{{{name}}}`"))?;
        if self.stack.iter().any(|s| s == name) || self.stack.len() > 8 {
            return Err(format!("variable `{name}` refers to itself"));
        }
        self.stack.push(name.to_string());
        let pieces = self.compile(text);
        self.stack.pop();
        let pieces = pieces.map_err(|e| format!("in variable `{name}`: {e}"))?;
        self.cache.insert(name.to_string(), pieces.clone());
        Ok(pieces)
    }
}

/// Index of the `}` closing the `{` at the start of `s`, skipping nested slots.
fn closing_brace(s: &str) -> Option<usize> {
    let mut depth = 0usize;
    for (i, b) in s.bytes().enumerate() {
        match b {
            b'{' => depth += 1,
            b'}' => {
                depth -= 1;
                if depth == 0 {
                    return Some(i);
                }
            }
            _ => {}
        }
    }
    None
}

/// Splits `a|b|{hpick:c|d}` at the `|`s outside nested slots.
fn split_top_level(s: &str) -> Vec<&str> {
    let mut parts = Vec::new();
    let (mut depth, mut start) = (0usize, 0);
    for (i, b) in s.bytes().enumerate() {
        match b {
            b'{' => depth += 1,
            b'}' => depth = depth.saturating_sub(1),
            b'|' if depth == 0 => {
                parts.push(&s[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    parts.push(&s[start..]);
    parts
}

fn parse_hex_bytes(s: &str) -> Result<Vec<u8>, TemplateError> {
    let s = s.as_bytes();
    if s.is_empty() || !s.len().is_multiple_of(2) {
        return Err("`{x:HEX}` needs an even number of hex digits".into());
    }
    s.chunks(2)
        .map(|c| {
            std::str::from_utf8(c)
                .ok()
                .and_then(|h| u8::from_str_radix(h, 16).ok())
                .ok_or_else(|| "`{x:HEX}`: invalid hex".to_string())
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::Ipv4Addr;

    fn render_str(t: &str, vars: &HashMap<String, String>) -> (Vec<u8>, Vec<(u32, u32)>) {
        let pieces = Compiler::new(vars).compile(t).unwrap_or_default();
        let mut rng = Xoshiro256PlusPlus::seed_from_u64(1);
        let mut ctx = RenderCtx {
            now: 1_688_465_472,
            version: b"1.2.3",
            ip: IpAddr::V4(Ipv4Addr::new(192, 0, 2, 1)),
            host_seed: 7,
            epoch0: 1_688_000_000,
            rng: &mut rng,
        };
        let mut out = Out::new();
        render(&pieces, &mut ctx, &mut out);
        (out.bytes, out.spans)
    }

    #[test]
    fn literals_versions_and_escapes() {
        let vars = HashMap::new();
        let (b, s) = render_str("nginx/{v} {{x}} {x:41ff}", &vars);
        assert_eq!(b, b"nginx/1.2.3 {x} A\xff");
        assert!(s.is_empty());
    }

    #[test]
    fn dynamic_spans_are_slot_level() {
        let vars = HashMap::new();
        let (b, s) = render_str("\"{hex:8}-{hex:3}\"", &vars);
        assert_eq!(b.len(), 14);
        assert_eq!(s, vec![(1, 9), (10, 13)]);
        let (b, s) = render_str("{date}", &vars);
        assert!(b.ends_with(b" GMT"));
        assert_eq!(s.len(), 7);
    }

    #[test]
    fn variables_share_host_slots() {
        let mut vars = HashMap::new();
        vars.insert(
            "model".to_string(),
            "DS-{hpick:A|B|C|D|E|F|G|H}{hdigits:4}".to_string(),
        );
        vars.insert(
            "nested".to_string(),
            "{hpick:a|b{v}|{hdigits:3}}".to_string(),
        );
        let (b, s) = render_str("{nested}", &vars);
        assert!(
            b == b"a" || b == b"b1.2.3" || (b.len() == 3 && b.iter().all(u8::is_ascii_digit)),
            "{b:?}"
        );
        assert!(s.is_empty());
        let (b, s) = render_str("{model}/{model}", &vars);
        let text = String::from_utf8_lossy(&b).into_owned();
        let (l, r) = text.split_once('/').unwrap_or_default();
        assert_eq!(l, r);
        assert!(s.is_empty());
    }

    #[test]
    fn errors_are_reported() {
        let vars = HashMap::new();
        let mut c = Compiler::new(&vars);
        for bad in [
            "{nope}",
            "{hex}",
            "{hex:0}",
            "{num:5-1}",
            "{x:4}",
            "a}b",
            "{date",
            "{v:1}",
        ] {
            assert!(c.compile(bad).is_err(), "{bad}");
        }
        let mut rec = HashMap::new();
        rec.insert("a".to_string(), "{a}".to_string());
        assert!(Compiler::new(&rec).compile("{a}").is_err());
    }
}
