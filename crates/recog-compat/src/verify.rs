//! Verification of a database against its own examples (`recog_verify`).

use std::fmt;

use crate::db::Database;
use crate::error::Result;
use crate::matcher::{MatcherBuilder, MatcherOptions};
use bannerlm_base::{Escaped, escape_bytes, escape_str};

/// The outcome class of one verification message, as in Recog's reporter.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Status {
    /// An example matched and yielded all its expected params.
    Success,
    /// A fingerprint has no examples.
    Warning,
    /// Anything else Recog counts as a failure.
    Failure,
}

/// One warning or failure.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finding {
    /// Warning or failure.
    pub status: Status,
    /// Line of the fingerprint in the file.
    pub line: usize,
    /// Human-readable reason. Everything in it that comes from the database or a banner
    /// (descriptions, param names and values, patterns, example banners) is escaped with
    /// [`bannerlm_base::escape_str`]: no control character or bidirectional override.
    pub message: String,
}

/// Verification result of one database, counted like Recog's `VerifyReporter`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct VerifyReport {
    /// The database's file name or match key.
    pub name: String,
    /// Number of fingerprints.
    pub fingerprints: usize,
    /// Number of examples.
    pub examples: usize,
    /// Successful examples.
    pub successes: usize,
    /// Warnings (fingerprints without examples).
    pub warnings: usize,
    /// Failures (examples that fail, bad params, untested capture params,
    /// patterns that do not compile).
    pub failures: usize,
    /// The warnings and failures in file order.
    pub findings: Vec<Finding>,
}

impl fmt::Display for VerifyReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for x in &self.findings {
            let tag = if x.status == Status::Warning {
                "WARN"
            } else {
                "FAIL"
            };
            writeln!(
                f,
                "{}:{}: {tag}: {}",
                Escaped(self.name.as_bytes()),
                x.line,
                x.message
            )?;
        }
        write!(
            f,
            "{}: SUMMARY: Test completed with {} successful, {} warnings, and {} failures",
            Escaped(self.name.as_bytes()),
            self.successes,
            self.warnings,
            self.failures
        )
    }
}

/// Verifies every fingerprint of `db` with default matcher options.
///
/// # Errors
/// Only if the prefilter cannot be built; broken patterns are counted as failures.
///
/// ```
/// let db = recog_compat::Database::from_xml_str(
///     r#"<fingerprints><fingerprint pattern="^OpenSSH_([\w.]+)">
///        <description>OpenSSH</description>
///        <example service.version="9.6p1">OpenSSH_9.6p1 Ubuntu</example>
///        <param pos="0" name="service.product" value="OpenSSH"/>
///        <param pos="1" name="service.version"/></fingerprint></fingerprints>"#,
///     "ssh_banners",
/// )?;
/// let report = recog_compat::verify(&db)?;
/// assert_eq!((report.successes, report.warnings, report.failures), (1, 0, 0));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn verify(db: &Database) -> Result<VerifyReport> {
    verify_with(db, &MatcherOptions::default())
}

/// [`verify`] with explicit matcher options.
///
/// # Errors
/// Invalid options or a prefilter that cannot be built.
pub fn verify_with(db: &Database, opts: &MatcherOptions) -> Result<VerifyReport> {
    let builder = MatcherBuilder::from(opts.clone()).prefilter(false);
    let (matcher, errors) = builder.build_lenient(db)?;
    let name = db
        .path
        .file_name()
        .and_then(|n| n.to_str())
        .filter(|n| *n != "<memory>")
        .map_or_else(|| db.match_key.clone(), str::to_owned);
    let mut rep = VerifyReport {
        name,
        fingerprints: db.fingerprints.len(),
        ..VerifyReport::default()
    };
    let fail = |rep: &mut VerifyReport, line: usize, message: String| {
        rep.failures += 1;
        rep.findings.push(Finding {
            status: Status::Failure,
            line,
            message,
        });
    };
    for (i, fp) in db.fingerprints.iter().enumerate() {
        let name = escape_str(&fp.description);
        rep.examples += fp.examples.len();
        // verify_params
        for p in &fp.params {
            let value = p.value.as_deref().unwrap_or("");
            if p.pos > 0 && !value.is_empty() {
                fail(
                    &mut rep,
                    fp.line,
                    format!(
                        "'{name}'s {} is a non-zero pos but specifies a value of '{}'",
                        escape_str(&p.name),
                        escape_str(value)
                    ),
                );
            } else if p.pos == 0 && value.is_empty() {
                fail(
                    &mut rep,
                    fp.line,
                    format!(
                        "'{name}'s {} is not a capture (pos=0) but doesn't specify a value",
                        escape_str(&p.name)
                    ),
                );
            }
        }
        // verify_tests
        if fp.examples.is_empty() {
            rep.warnings += 1;
            rep.findings.push(Finding {
                status: Status::Warning,
                line: fp.line,
                message: format!("'{name}' has no test cases"),
            });
            continue;
        }
        if let Some((_, e)) = errors.iter().find(|(k, _)| *k == i) {
            for _ in &fp.examples {
                fail(&mut rep, fp.line, format!("'{name}' does not compile: {e}"));
            }
            continue;
        }
        for ex in &fp.examples {
            let shown = escape_bytes(&ex.content);
            let result = match matcher.match_fingerprint(i, &ex.content) {
                Ok(r) => r,
                Err(e) => {
                    fail(
                        &mut rep,
                        ex.line,
                        format!("'{name}' raised on \"{shown}\": {e}"),
                    );
                    continue;
                }
            };
            let Some(result) = result else {
                fail(
                    &mut rep,
                    ex.line,
                    format!(
                        "'{name}' failed to match \"{shown}\" with {}",
                        escape_str(&fp.pattern)
                    ),
                );
                continue;
            };
            let bad = ex
                .expected()
                .find(|(k, v)| result.params.get(*k).map(String::as_str) != Some(*v));
            match bad {
                Some((k, v)) => fail(
                    &mut rep,
                    ex.line,
                    format!(
                        "'{name}' failed to find expected capture group {} '{}'. Result was {}",
                        escape_str(k),
                        escape_str(v),
                        escape_str(result.params.get(k).map_or("nil", String::as_str))
                    ),
                ),
                None => rep.successes += 1,
            }
        }
        // verify_tests_have_capture_groups
        let mut seen: Vec<&str> = Vec::new();
        for p in &fp.params {
            if p.pos == 0
                || p.value.as_deref().is_some_and(|v| !v.is_empty())
                || p.name.starts_with("_tmp.")
            {
                continue;
            }
            if seen.contains(&p.name.as_str()) {
                continue;
            }
            seen.push(&p.name);
            let tested = fp
                .examples
                .iter()
                .any(|ex| ex.expected().any(|(k, _)| k == p.name));
            if !tested {
                fail(
                    &mut rep,
                    fp.line,
                    format!(
                        "'{name}' is missing an example that checks for parameter '{}' which is derived from a capture group",
                        escape_str(&p.name)
                    ),
                );
            }
        }
    }
    Ok(rep)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn counts_like_recog_verify() {
        let db = Database::from_xml_str(
            r#"<fingerprints protocol="ftp">
  <fingerprint pattern="^FTP (\d+)$"><description>ok</description>
    <example service.version="1">FTP 1</example>
    <example service.version="2" service.protocol="ftp">FTP 2</example>
    <example service.version="9">FTP 3</example>
    <example>nope</example>
    <param pos="1" name="service.version"/>
  </fingerprint>
  <fingerprint pattern="^x$"><description>no examples</description>
    <param pos="0" name="a" value="b"/>
  </fingerprint>
  <fingerprint pattern="^y(z)$"><description>bad params</description>
    <example>yz</example>
    <param pos="1" name="a" value="b"/>
    <param pos="0" name="c"/>
    <param pos="1" name="untested"/>
  </fingerprint>
  <fingerprint pattern="(\G)"><description>broken</description>
    <example>q</example>
    <param pos="0" name="a" value="b"/>
  </fingerprint>
</fingerprints>"#,
            "t",
        )
        .unwrap();
        let r = verify(&db).unwrap();
        assert_eq!(r.examples, 6, "{r}");
        assert_eq!(r.successes, 3, "{r}");
        assert_eq!(r.warnings, 1);
        // 2 example failures + 2 param failures + 1 untested capture + 1 broken pattern.
        assert_eq!(r.failures, 6, "{r}");
        assert!(
            r.to_string()
                .ends_with("3 successful, 1 warnings, and 6 failures")
        );
        assert!(
            r.findings
                .iter()
                .any(|f| f.message.contains("failed to match \"nope\""))
        );
    }
}
