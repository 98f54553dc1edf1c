//! Tolerant HTTP response-header parsing with byte spans.
//!
//! The parser never fails: any byte string gives an [`HttpBanner`]. It
//! follows the rule of the paper's published code: the banner is split into
//! lines at `\r?\n` that is *not* followed by a space or tab (a following
//! space or tab marks an obsolete folded continuation line, which stays part
//! of the header value); the first line is the status line when it starts
//! with `HTTP/`; every other line up to the first empty line is a header
//! `name: value`; whatever follows the empty line is the body. A line without
//! a colon is kept as a header with an empty name (binary junk is never
//! dropped), and duplicate headers are kept in order.

use std::ops::Range;

/// One header line: name and value, as slices of the banner and as byte spans.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Header<'a> {
    /// The header name as written (case preserved); empty for a line without a colon.
    pub name: &'a [u8],
    /// The value: after the colon and any spaces/tabs, up to the line end
    /// (excluding `\r\n`). Folded continuation lines are part of it.
    pub value: &'a [u8],
    /// Span of `name` in the banner.
    pub name_span: Range<usize>,
    /// Span of `value` in the banner.
    pub value_span: Range<usize>,
    /// Span of the whole line, without its terminator.
    pub line_span: Range<usize>,
}

impl Header<'_> {
    /// Whether the header's name equals `name`, ignoring ASCII case.
    pub fn is(&self, name: &str) -> bool {
        self.name.eq_ignore_ascii_case(name.as_bytes())
    }
}

/// The status line of an HTTP response (`HTTP/1.1 200 OK`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatusLine<'a> {
    /// The whole line without its terminator.
    pub line: &'a [u8],
    /// Span of the line.
    pub line_span: Range<usize>,
    /// Span of the labelled part: everything after the leading `HTTP/`.
    pub value_span: Range<usize>,
    /// The status code, when the line has one.
    pub code: Option<u16>,
}

/// A banner parsed as an HTTP response head.
///
/// ```
/// use banner_parse::HttpBanner;
///
/// let raw = b"HTTP/1.1 200 OK\r\nServer: nginx/1.18.0\r\nSet-Cookie: a=1\r\nset-cookie: b=2\r\n";
/// let http = HttpBanner::parse(raw);
/// assert_eq!(http.status().and_then(|s| s.code), Some(200));
/// assert_eq!(http.get("server"), Some(&b"nginx/1.18.0"[..]));
/// let cookies: Vec<&[u8]> = http.get_all("Set-Cookie").collect();
/// assert_eq!(cookies, [&b"a=1"[..], &b"b=2"[..]]);
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HttpBanner<'a> {
    raw: &'a [u8],
    status: Option<StatusLine<'a>>,
    headers: Vec<Header<'a>>,
    body: Option<Range<usize>>,
}

/// Ends of the logical lines of `raw`: `(content, terminator_len)`, where a
/// line ends at `\r?\n` not followed by a space or tab.
fn logical_lines(raw: &[u8]) -> Vec<(Range<usize>, usize)> {
    let mut lines = Vec::new();
    let mut start = 0;
    let mut search = 0;
    while let Some(off) = memchr::memchr(b'\n', &raw[search..]) {
        let nl = search + off;
        let next = raw.get(nl + 1);
        if matches!(next, Some(b' ' | b'\t')) && nl > start {
            // Folded continuation: the line goes on.
            search = nl + 1;
            continue;
        }
        let end = if nl > start && raw[nl - 1] == b'\r' {
            nl - 1
        } else {
            nl
        };
        lines.push((start..end, nl + 1 - end));
        start = nl + 1;
        search = start;
    }
    if start < raw.len() {
        lines.push((start..raw.len(), 0));
    }
    lines
}

fn trim_ws_start(raw: &[u8], mut r: Range<usize>) -> Range<usize> {
    while r.start < r.end && matches!(raw[r.start], b' ' | b'\t') {
        r.start += 1;
    }
    r
}

impl<'a> HttpBanner<'a> {
    /// Parses `raw`; never fails and never panics.
    pub fn parse(raw: &'a [u8]) -> Self {
        let lines = logical_lines(raw);
        let mut it = lines.into_iter().peekable();
        let mut status = None;
        if let Some((span, _)) = it.peek() {
            let line = &raw[span.clone()];
            if line.starts_with(b"HTTP/") {
                let code = line
                    .split(|b| *b == b' ')
                    .nth(1)
                    .and_then(|c| std::str::from_utf8(c).ok())
                    .and_then(|c| c.parse::<u16>().ok());
                status = Some(StatusLine {
                    line,
                    line_span: span.clone(),
                    value_span: span.start + 5..span.end,
                    code,
                });
                it.next();
            }
        }
        let mut headers = Vec::new();
        let mut body = None;
        while let Some((span, term)) = it.next() {
            if span.is_empty() {
                if term > 0 {
                    let rest = span.end + term;
                    if rest < raw.len() {
                        body = Some(rest..raw.len());
                    }
                    break;
                }
                continue;
            }
            let line = &raw[span.clone()];
            let header = match memchr::memchr(b':', line) {
                Some(colon) => {
                    let name_span = span.start..span.start + colon;
                    let value_span = trim_ws_start(raw, span.start + colon + 1..span.end);
                    Header {
                        name: &raw[name_span.clone()],
                        value: &raw[value_span.clone()],
                        name_span,
                        value_span,
                        line_span: span,
                    }
                }
                None => Header {
                    name: &raw[span.start..span.start],
                    value: line,
                    name_span: span.start..span.start,
                    value_span: span.clone(),
                    line_span: span,
                },
            };
            headers.push(header);
            let _ = &mut it;
        }
        HttpBanner {
            raw,
            status,
            headers,
            body,
        }
    }

    /// The banner that was parsed.
    pub fn raw(&self) -> &'a [u8] {
        self.raw
    }

    /// The status line, when the banner starts with `HTTP/`.
    pub fn status(&self) -> Option<&StatusLine<'a>> {
        self.status.as_ref()
    }

    /// All header lines, in order, duplicates included.
    pub fn headers(&self) -> &[Header<'a>] {
        &self.headers
    }

    /// The first value of header `name` (ASCII case-insensitive).
    pub fn get(&self, name: &str) -> Option<&'a [u8]> {
        self.get_all(name).next()
    }

    /// Every value of header `name` (ASCII case-insensitive), in order.
    pub fn get_all<'s>(&'s self, name: &'s str) -> impl Iterator<Item = &'a [u8]> + 's {
        self.headers
            .iter()
            .filter(move |h| h.is(name))
            .map(|h| h.value)
    }

    /// The span of the body (bytes after the first empty line), if any.
    pub fn body_span(&self) -> Option<Range<usize>> {
        self.body.clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn crlf_and_lf_and_folding() {
        let raw = b"HTTP/1.0 301 Moved\nServer: a\r\nX-Long: one\r\n two\r\nBad line\r\n\r\nbody";
        let h = HttpBanner::parse(raw);
        assert_eq!(h.status().map(|s| s.code), Some(Some(301)));
        assert_eq!(h.get("server"), Some(&b"a"[..]));
        assert_eq!(h.get("x-long"), Some(&b"one\r\n two"[..]));
        assert_eq!(h.headers()[2].name, b"");
        assert_eq!(h.headers()[2].value, b"Bad line");
        assert_eq!(h.body_span().map(|r| &raw[r]), Some(&b"body"[..]));
    }

    #[test]
    fn missing_status_line() {
        let h = HttpBanner::parse(b"Server: x\r\n");
        assert!(h.status().is_none());
        assert_eq!(h.get("Server"), Some(&b"x"[..]));
    }

    #[test]
    fn empty_and_junk() {
        assert!(HttpBanner::parse(b"").headers().is_empty());
        let h = HttpBanner::parse(b"\x00\xff\r\n\n\n");
        assert_eq!(h.headers().len(), 1);
    }
}
