//! Banner records: one observed service in one snapshot.

use std::fmt;
use std::net::IpAddr;

use base64::Engine as _;
use serde::{Deserialize, Serialize};

/// One observed service: the raw banner of `ip:port` (`protocol`) in a snapshot.
///
/// The banner is kept as raw bytes, losslessly. In JSON it is written as the
/// `banner` string when it is valid UTF-8; otherwise the string holds the
/// standard base64 of the bytes and `"banner_encoding": "base64"` is added
/// (the convention Recog uses for its examples). Readers accept both.
///
/// ```
/// use banner_parse::BannerRecord;
///
/// let line = r#"{"ip":"198.51.100.7","port":80,"snapshot":"2023-07-04","protocol":"http","banner":"HTTP/1.1 200 OK\r\nServer: nginx\r\n"}"#;
/// let rec: BannerRecord = serde_json::from_str(line)?;
/// assert_eq!(rec.port, 80);
/// assert!(rec.banner.starts_with(b"HTTP/1.1 200"));
///
/// // Invalid UTF-8 survives a round trip through JSON.
/// let mut bin = rec.clone();
/// bin.banner = vec![0xff, 0x00, b'A'];
/// let json = serde_json::to_string(&bin)?;
/// assert!(json.contains(r#""banner_encoding":"base64""#));
/// assert_eq!(serde_json::from_str::<BannerRecord>(&json)?, bin);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct BannerRecord {
    /// The host's address.
    pub ip: IpAddr,
    /// The service's port.
    pub port: u16,
    /// The snapshot (scan) the record belongs to, e.g. `2023-07-04`.
    pub snapshot: String,
    /// The protocol or service name, lowercase (`http`, `ssh`, `ftp`, ...).
    pub protocol: String,
    /// The raw banner bytes.
    pub banner: Vec<u8>,
}

impl BannerRecord {
    /// The key that identifies this record in every output (ip, port, snapshot, protocol).
    pub fn key(&self) -> RecordKey {
        RecordKey {
            ip: self.ip,
            port: self.port,
            snapshot: self.snapshot.clone(),
            protocol: self.protocol.clone(),
        }
    }

    /// The key on which snapshots are joined: the same service on the same
    /// host (ip, port, protocol), whatever the snapshot.
    pub fn service_key(&self) -> ServiceKey {
        ServiceKey {
            ip: self.ip,
            port: self.port,
            protocol: self.protocol.clone(),
        }
    }

    /// Whether the protocol is HTTP (`http`, `https`, case-insensitive).
    pub fn is_http(&self) -> bool {
        self.protocol.eq_ignore_ascii_case("http") || self.protocol.eq_ignore_ascii_case("https")
    }

    /// The protocol family the record is clustered in: `http` for HTTP and HTTPS, else the
    /// protocol in ASCII lowercase.
    ///
    /// ```
    /// let line = r#"{"ip":"192.0.2.1","port":443,"snapshot":"s","protocol":"HTTPS","banner":"HTTP/1.1 200 OK"}"#;
    /// let mut r: banner_parse::BannerRecord = serde_json::from_str(line)?;
    /// assert_eq!(r.protocol_family(), "http");
    /// r.protocol = "SSH".into();
    /// assert_eq!(r.protocol_family(), "ssh");
    /// # Ok::<(), serde_json::Error>(())
    /// ```
    pub fn protocol_family(&self) -> String {
        if self.is_http() {
            "http".to_owned()
        } else {
            self.protocol.to_ascii_lowercase()
        }
    }
}

/// Identifies one record: the fields every per-record output carries so it
/// joins back to its input. `Display` escapes control characters.
///
/// ```
/// # use banner_parse::RecordKey;
/// let key = RecordKey { ip: "2001:db8::1".parse()?, port: 443, snapshot: "2023-07\x1b".into(), protocol: "http".into() };
/// assert_eq!(key.to_string(), r"[2001:db8::1]:443/http @2023-07\x1b");
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct RecordKey {
    /// The host's address.
    pub ip: IpAddr,
    /// The service's port.
    pub port: u16,
    /// The snapshot.
    pub snapshot: String,
    /// The protocol.
    pub protocol: String,
}

impl fmt::Display for RecordKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.ip {
            IpAddr::V4(ip) => write!(f, "{ip}:{}", self.port)?,
            IpAddr::V6(ip) => write!(f, "[{ip}]:{}", self.port)?,
        }
        // Snapshot and protocol come from input files: escape them for display.
        write!(
            f,
            "/{} @{}",
            bannerlm_base::escape_bytes(self.protocol.as_bytes()),
            bannerlm_base::escape_bytes(self.snapshot.as_bytes())
        )
    }
}

/// The same service on the same host across snapshots: (ip, port, protocol).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct ServiceKey {
    /// The host's address.
    pub ip: IpAddr,
    /// The service's port.
    pub port: u16,
    /// The protocol.
    pub protocol: String,
}

#[derive(Serialize)]
struct RecordOut<'a> {
    ip: IpAddr,
    port: u16,
    snapshot: &'a str,
    protocol: &'a str,
    banner: std::borrow::Cow<'a, str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    banner_encoding: Option<&'static str>,
}

#[derive(Deserialize)]
struct RecordIn {
    ip: IpAddr,
    port: u16,
    snapshot: String,
    protocol: String,
    banner: String,
    #[serde(default)]
    banner_encoding: Option<String>,
}

impl Serialize for BannerRecord {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let (banner, banner_encoding) = match std::str::from_utf8(&self.banner) {
            Ok(s) => (std::borrow::Cow::Borrowed(s), None),
            Err(_) => (
                std::borrow::Cow::Owned(
                    base64::engine::general_purpose::STANDARD.encode(&self.banner),
                ),
                Some("base64"),
            ),
        };
        RecordOut {
            ip: self.ip,
            port: self.port,
            snapshot: &self.snapshot,
            protocol: &self.protocol,
            banner,
            banner_encoding,
        }
        .serialize(serializer)
    }
}

impl<'de> Deserialize<'de> for BannerRecord {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let raw = RecordIn::deserialize(deserializer)?;
        let banner = match raw.banner_encoding.as_deref() {
            None | Some("" | "utf-8" | "utf8") => raw.banner.into_bytes(),
            Some("base64") => base64::engine::general_purpose::STANDARD
                .decode(raw.banner.as_bytes())
                .map_err(|e| serde::de::Error::custom(format!("banner: invalid base64: {e}")))?,
            Some(other) => {
                return Err(serde::de::Error::custom(format!(
                    "banner_encoding: unknown encoding {other:?} (expected \"base64\")"
                )));
            }
        };
        Ok(BannerRecord {
            ip: raw.ip,
            port: raw.port,
            snapshot: raw.snapshot,
            protocol: raw.protocol,
            banner,
        })
    }
}
