//! A directory of compiled databases, and what to match for each protocol.

use std::path::Path;

use crate::db::{Database, load_dir};
use crate::error::Result;
use crate::matcher::{Matcher, MatcherBuilder};

/// All databases of a Recog directory, compiled, in Recog's `Nizer` order
/// (highest `preference` first, then file name).
#[derive(Debug, Clone)]
pub struct RecogSet {
    dbs: Vec<(String, Database, Matcher)>,
}

impl RecogSet {
    /// Loads and compiles every `*.xml` file of `dir`.
    ///
    /// # Errors
    /// Load errors and the first fingerprint that does not compile.
    pub fn load_dir(dir: impl AsRef<Path>, builder: &MatcherBuilder) -> Result<Self> {
        Self::from_databases(load_dir(dir)?, builder)
    }

    /// Compiles already loaded databases.
    ///
    /// # Errors
    /// The first fingerprint that does not compile.
    pub fn from_databases(dbs: Vec<Database>, builder: &MatcherBuilder) -> Result<Self> {
        let mut out = Vec::with_capacity(dbs.len());
        for db in dbs {
            let m = builder.clone().build(&db)?;
            let file = db
                .path
                .file_name()
                .and_then(|n| n.to_str())
                .unwrap_or(&db.match_key)
                .to_owned();
            out.push((file, db, m));
        }
        out.sort_by(|a, b| {
            b.1.preference
                .total_cmp(&a.1.preference)
                .then_with(|| a.0.cmp(&b.0))
        });
        Ok(RecogSet { dbs: out })
    }

    /// A database by file name (`http_servers.xml`) or match key (`http_header.server`).
    pub fn get(&self, name: &str) -> Option<(&Database, &Matcher)> {
        self.dbs
            .iter()
            .find(|(f, db, _)| f == name || db.match_key == name)
            .map(|(_, db, m)| (db, m))
    }

    /// The databases in matching order.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &Database, &Matcher)> {
        self.dbs.iter().map(|(f, db, m)| (f.as_str(), db, m))
    }

    /// Number of databases.
    pub fn len(&self) -> usize {
        self.dbs.len()
    }

    /// Whether the set is empty.
    pub fn is_empty(&self) -> bool {
        self.dbs.is_empty()
    }
}

/// What to match for a raw (non-HTTP) service banner: the Recog database
/// file and the text Recog's examples are written against (the greeting line
/// without its protocol prefix). HTTP banners are matched per header instead
/// (see [`crate::HttpHeader`]). Unknown protocols give `None`.
///
/// ```
/// use recog_compat::banner_input;
/// let (db, text) = banner_input("ssh", b"SSH-2.0-OpenSSH_9.6p1 Ubuntu-3\r\n").unwrap();
/// assert_eq!((db, &text[..]), ("ssh_banners.xml", &b"OpenSSH_9.6p1 Ubuntu-3"[..]));
/// let (db, text) = banner_input("ftp", b"220 ProFTPD Server ready.\r\n").unwrap();
/// assert_eq!((db, &text[..]), ("ftp_banners.xml", &b"ProFTPD Server ready."[..]));
/// assert!(banner_input("gopher", b"x").is_none());
/// ```
pub fn banner_input<'b>(protocol: &str, banner: &'b [u8]) -> Option<(&'static str, &'b [u8])> {
    let first = first_line(banner);
    let p = protocol.to_ascii_lowercase();
    Some(match p.as_str() {
        "ssh" => ("ssh_banners.xml", strip_ssh(first)),
        "ftp" => ("ftp_banners.xml", strip_code(first)),
        "smtp" => ("smtp_banners.xml", strip_code(first)),
        "pop3" | "pop" => (
            "pop_banners.xml",
            first.strip_prefix(b"+OK ").unwrap_or(first),
        ),
        "imap" | "imap4" => (
            "imap_banners.xml",
            first.strip_prefix(b"* OK ").unwrap_or(first),
        ),
        "nntp" => ("nntp_banners.xml", strip_code(first)),
        "telnet" => ("telnet_banners.xml", banner),
        _ => return None,
    })
}

fn first_line(b: &[u8]) -> &[u8] {
    let end = b.iter().position(|&c| c == b'\n').unwrap_or(b.len());
    let line = &b[..end];
    line.strip_suffix(b"\r").unwrap_or(line)
}

/// `SSH-2.0-OpenSSH_9.6` -> `OpenSSH_9.6`.
fn strip_ssh(line: &[u8]) -> &[u8] {
    if line.starts_with(b"SSH-")
        && let Some(dash) = line[4..].iter().position(|&c| c == b'-')
    {
        return &line[4 + dash + 1..];
    }
    line
}

/// `220 text` or `220-text` -> `text`.
fn strip_code(line: &[u8]) -> &[u8] {
    if line.len() >= 4 && line[..3].iter().all(u8::is_ascii_digit) && matches!(line[3], b' ' | b'-')
    {
        &line[4..]
    } else {
        line
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn prefixes_are_stripped() {
        assert_eq!(
            banner_input("SMTP", b"220-mx ESMTP\r\n250 ok").unwrap().1,
            b"mx ESMTP"
        );
        assert_eq!(
            banner_input("pop3", b"+OK Dovecot ready.").unwrap().1,
            b"Dovecot ready."
        );
        assert_eq!(
            banner_input("imap", b"* OK IMAP4rev1").unwrap().1,
            b"IMAP4rev1"
        );
        assert_eq!(banner_input("ssh", b"SSH-2.0").unwrap().1, b"SSH-2.0");
        assert_eq!(banner_input("ftp", b"22").unwrap().1, b"22");
        assert_eq!(
            banner_input("telnet", b"a\r\nlogin:").unwrap().1,
            b"a\r\nlogin:"
        );
    }

    #[test]
    fn set_orders_by_preference() {
        let mk = |name: &str, pref: &str| {
            Database::from_xml_str(
                &format!(
                    r#"<fingerprints matches="{name}" preference="{pref}"><fingerprint pattern="x">
                       <description>d</description><param pos="0" name="a" value="b"/></fingerprint></fingerprints>"#
                ),
                name,
            )
            .unwrap()
        };
        let set = RecogSet::from_databases(
            vec![mk("low", "0.1"), mk("high", "0.9")],
            &MatcherBuilder::new(),
        )
        .unwrap();
        assert_eq!(
            set.iter()
                .map(|(_, d, _)| d.match_key.as_str())
                .collect::<Vec<_>>(),
            vec!["high", "low"]
        );
        assert!(set.get("low").is_some());
        assert!(set.get("nope").is_none());
        assert_eq!(set.len(), 2);
    }
}
