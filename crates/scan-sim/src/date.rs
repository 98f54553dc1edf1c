//! Calendar dates and the timestamp formats that banners use.
//!
//! Proleptic Gregorian calendar, UTC, via Howard Hinnant's `days_from_civil`
//! algorithms; no time-zone database is needed because every simulated
//! timestamp is UTC (or carries a fixed per-host offset as a literal).

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::{Error, Result};

/// A calendar date (UTC), e.g. the day a snapshot starts.
///
/// ```
/// use scan_sim::SimDate;
///
/// let d: SimDate = "2023-01-04".parse()?;
/// assert_eq!(d.plus_months(13).to_string(), "2024-02-04");
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct SimDate {
    year: i32,
    month: u8,
    day: u8,
}

impl SimDate {
    /// A date from its parts; `None` when the day does not exist.
    pub fn new(year: i32, month: u8, day: u8) -> Option<Self> {
        if !(1..=12).contains(&month) || day == 0 || day > days_in_month(year, month) {
            return None;
        }
        Some(SimDate { year, month, day })
    }

    /// A date known to be valid (for constants).
    pub(crate) const fn ymd_unchecked(year: i32, month: u8, day: u8) -> Self {
        SimDate { year, month, day }
    }

    /// The year.
    pub fn year(self) -> i32 {
        self.year
    }

    /// The month, 1 to 12.
    pub fn month(self) -> u8 {
        self.month
    }

    /// The day of the month, 1 to 31.
    pub fn day(self) -> u8 {
        self.day
    }

    /// The same day `n` months later, clamped to the month's last day.
    #[must_use]
    pub fn plus_months(self, n: u32) -> Self {
        let m0 = i64::from(self.month) - 1 + i64::from(n);
        let year = self.year + (m0 / 12) as i32;
        let month = (m0 % 12) as u8 + 1;
        let day = self.day.min(days_in_month(year, month));
        SimDate { year, month, day }
    }

    /// Seconds since 1970-01-01T00:00:00Z at midnight of this date.
    pub fn unix_seconds(self) -> i64 {
        days_from_civil(self.year, self.month, self.day) * 86_400
    }
}

impl fmt::Display for SimDate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:04}-{:02}-{:02}", self.year, self.month, self.day)
    }
}

impl FromStr for SimDate {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self> {
        let bad = || Error::param("first_snapshot", format!("{s:?} is not a date YYYY-MM-DD"));
        let mut it = s.splitn(3, '-');
        let (Some(y), Some(m), Some(d)) = (it.next(), it.next(), it.next()) else {
            return Err(bad());
        };
        let (Ok(y), Ok(m), Ok(d)) = (y.parse(), m.parse(), d.parse()) else {
            return Err(bad());
        };
        SimDate::new(y, m, d).ok_or_else(bad)
    }
}

impl TryFrom<String> for SimDate {
    type Error = Error;
    fn try_from(s: String) -> Result<Self> {
        s.parse()
    }
}

impl From<SimDate> for String {
    fn from(d: SimDate) -> String {
        d.to_string()
    }
}

fn is_leap(y: i32) -> bool {
    (y % 4 == 0 && y % 100 != 0) || y % 400 == 0
}

fn days_in_month(y: i32, m: u8) -> u8 {
    match m {
        2 if is_leap(y) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Days since 1970-01-01 of a civil date.
fn days_from_civil(y: i32, m: u8, d: u8) -> i64 {
    let y = i64::from(y) - i64::from(m <= 2);
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let m = i64::from(m);
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + i64::from(d) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// Civil date of days since 1970-01-01.
fn civil_from_days(z: i64) -> (i64, u8, u8) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u8;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u8;
    (y + i64::from(m <= 2), m, d)
}

const WEEKDAYS: [&[u8; 3]; 7] = [b"Thu", b"Fri", b"Sat", b"Sun", b"Mon", b"Tue", b"Wed"];
const MONTHS: [&[u8; 3]; 12] = [
    b"Jan", b"Feb", b"Mar", b"Apr", b"May", b"Jun", b"Jul", b"Aug", b"Sep", b"Oct", b"Nov", b"Dec",
];

/// The layout of a written timestamp.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum DateStyle {
    /// `Tue, 04 Jul 2023 10:11:12 GMT` (RFC 7231 IMF-fixdate).
    Http,
    /// `Tue, 04-Jul-2023 10:11:12 GMT` (Netscape cookie `expires`).
    Cookie,
    /// `Tue, 04 Jul 2023 10:11:12 ` followed by nothing: the caller writes the zone.
    Mail,
    /// `10:11:12`.
    Clock,
    /// `2023-07-04T10:11:12Z`.
    Iso,
}

/// Writes `t` (Unix seconds) in `style`, appending to `out`, and reports the
/// byte ranges of the varying fields (weekday, day, month, year, hours,
/// minutes, seconds) through `field`; separators and the zone are template
/// literals and are not reported.
pub(crate) fn write_date(
    out: &mut Vec<u8>,
    t: i64,
    style: DateStyle,
    mut field: impl FnMut(usize, usize),
) {
    let days = t.div_euclid(86_400);
    let secs = t.rem_euclid(86_400);
    let (y, m, d) = civil_from_days(days);
    let (hh, mm, ss) = (
        (secs / 3600) as u8,
        ((secs / 60) % 60) as u8,
        (secs % 60) as u8,
    );
    let mut put = |out: &mut Vec<u8>, bytes: &[u8], dynamic: bool| {
        let start = out.len();
        out.extend_from_slice(bytes);
        if dynamic {
            field(start, out.len());
        }
    };
    let mut two = [0u8; 2];
    let mut two_digits = |n: u8| {
        two = [b'0' + n / 10, b'0' + n % 10];
        two
    };
    let yy = y.clamp(0, 9999) as u16;
    let year = [
        b'0' + (yy / 1000) as u8,
        b'0' + (yy / 100 % 10) as u8,
        b'0' + (yy / 10 % 10) as u8,
        b'0' + (yy % 10) as u8,
    ];
    match style {
        DateStyle::Http | DateStyle::Cookie | DateStyle::Mail => {
            let sep = if style == DateStyle::Cookie {
                b"-"
            } else {
                b" "
            };
            put(out, WEEKDAYS[days.rem_euclid(7) as usize], true);
            put(out, b", ", false);
            put(out, &two_digits(d), true);
            put(out, sep, false);
            put(out, MONTHS[usize::from(m) - 1], true);
            put(out, sep, false);
            put(out, &year, true);
            put(out, b" ", false);
            put(out, &two_digits(hh), true);
            put(out, b":", false);
            put(out, &two_digits(mm), true);
            put(out, b":", false);
            put(out, &two_digits(ss), true);
            if style != DateStyle::Mail {
                put(out, b" GMT", false);
            }
        }
        DateStyle::Clock => {
            put(out, &two_digits(hh), true);
            put(out, b":", false);
            put(out, &two_digits(mm), true);
            put(out, b":", false);
            put(out, &two_digits(ss), true);
        }
        DateStyle::Iso => {
            put(out, &year, true);
            put(out, b"-", false);
            put(out, &two_digits(m), true);
            put(out, b"-", false);
            put(out, &two_digits(d), true);
            put(out, b"T", false);
            put(out, &two_digits(hh), true);
            put(out, b":", false);
            put(out, &two_digits(mm), true);
            put(out, b":", false);
            put(out, &two_digits(ss), true);
            put(out, b"Z", false);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn civil_round_trip() {
        for z in [-1_000_000, -1, 0, 1, 19_000, 20_000, 2_000_000] {
            let (y, m, d) = civil_from_days(z);
            assert_eq!(days_from_civil(y as i32, m, d), z);
        }
        assert_eq!(SimDate::new(1970, 1, 1).map(SimDate::unix_seconds), Some(0));
    }

    #[test]
    fn http_date_and_fields() {
        // 2023-07-04T10:11:12Z is a Tuesday.
        let t = SimDate::new(2023, 7, 4)
            .map(SimDate::unix_seconds)
            .unwrap_or_default()
            + 10 * 3600
            + 11 * 60
            + 12;
        let mut out = Vec::new();
        let mut spans = Vec::new();
        write_date(&mut out, t, DateStyle::Http, |a, b| spans.push((a, b)));
        assert_eq!(out, b"Tue, 04 Jul 2023 10:11:12 GMT");
        let fields: Vec<&[u8]> = spans.iter().map(|&(a, b)| &out[a..b]).collect();
        assert_eq!(
            fields,
            [&b"Tue"[..], b"04", b"Jul", b"2023", b"10", b"11", b"12"]
        );
        out.clear();
        write_date(&mut out, t, DateStyle::Cookie, |_, _| {});
        assert_eq!(out, b"Tue, 04-Jul-2023 10:11:12 GMT");
        out.clear();
        write_date(&mut out, t, DateStyle::Iso, |_, _| {});
        assert_eq!(out, b"2023-07-04T10:11:12Z");
    }

    #[test]
    fn dates_parse_and_step() {
        assert!("2023-02-29".parse::<SimDate>().is_err());
        assert!("2024-02-29".parse::<SimDate>().is_ok());
        assert!("x".parse::<SimDate>().is_err());
        let d: SimDate = "2023-01-31".parse().unwrap_or(SimDate {
            year: 0,
            month: 1,
            day: 1,
        });
        assert_eq!(d.plus_months(1).to_string(), "2023-02-28");
    }
}
