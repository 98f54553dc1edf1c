//! Recog's `flags` attribute: the regex options of a fingerprint.

/// Regex options from a fingerprint's `flags` attribute.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub struct Flags {
    /// `REG_ICASE` / `IGNORECASE`: case-insensitive matching.
    pub ignore_case: bool,
    /// `REG_DOT_NEWLINE`, `REG_MULTILINE`, `REG_LINE_ANY_CRLF`: Ruby's
    /// `Regexp::MULTILINE`, i.e. `.` also matches `\n`.
    pub dot_newline: bool,
}

impl Flags {
    /// The flag names Recog accepts (its `RegexpFactory::FLAG_MAP`).
    pub(crate) const NAMES: [&'static str; 5] = [
        "REG_DOT_NEWLINE",
        "REG_LINE_ANY_CRLF",
        "REG_MULTILINE",
        "REG_ICASE",
        "IGNORECASE",
    ];

    /// Parses a comma-separated `flags` attribute the way Recog does.
    ///
    /// # Errors
    /// Returns the first name Recog would reject.
    ///
    /// ```
    /// use recog_compat::Flags;
    /// let f = Flags::parse("REG_DOT_NEWLINE,REG_ICASE").unwrap();
    /// assert!(f.ignore_case && f.dot_newline);
    /// assert!(Flags::parse("REG_EXTENDED").is_err());
    /// ```
    pub fn parse(flags: &str) -> std::result::Result<Self, String> {
        let mut out = Flags::default();
        // Ruby's `String#split(',')` drops trailing empty fields only; an empty
        // field in the middle is an unknown flag, like in Recog.
        let trimmed = flags.trim_end_matches(',');
        if trimmed.is_empty() {
            return Ok(out);
        }
        for name in trimmed.split(',') {
            match name {
                "REG_DOT_NEWLINE" | "REG_LINE_ANY_CRLF" | "REG_MULTILINE" => out.dot_newline = true,
                "REG_ICASE" | "IGNORECASE" => out.ignore_case = true,
                other => return Err(other.to_owned()),
            }
        }
        Ok(out)
    }

    /// The canonical `flags` attribute for these options (empty if none).
    pub fn to_attribute(self) -> String {
        match (self.dot_newline, self.ignore_case) {
            (false, false) => String::new(),
            (true, false) => "REG_DOT_NEWLINE".to_owned(),
            (false, true) => "REG_ICASE".to_owned(),
            (true, true) => "REG_DOT_NEWLINE,REG_ICASE".to_owned(),
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::Flags;

    #[test]
    fn flags_parse_like_recog() {
        assert_eq!(Flags::parse("").unwrap(), Flags::default());
        let f = Flags::parse("REG_ICASE,REG_MULTILINE").unwrap();
        assert!(f.ignore_case && f.dot_newline);
        assert_eq!(Flags::parse("REG_ICASE,,REG_X").unwrap_err(), "");
        assert_eq!(Flags::parse("REG_NOSUB").unwrap_err(), "REG_NOSUB");
    }

    #[test]
    fn canonical_attribute() {
        assert_eq!(Flags::default().to_attribute(), "");
        let both = Flags::parse("REG_MULTILINE,IGNORECASE").unwrap();
        assert_eq!(both.to_attribute(), "REG_DOT_NEWLINE,REG_ICASE");
        assert_eq!(Flags::parse(&both.to_attribute()).unwrap(), both);
    }
}
