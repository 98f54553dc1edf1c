//! Ending a command-line program: errors printed escaped, a closed output pipe is not an error.

use std::error::Error;
use std::fmt::Write as _;
use std::process::ExitCode;

use crate::escape::Escaped;

/// Turns a program's result into its exit status, for `fn main() -> ExitCode`.
///
/// - `Ok` exits 0.
/// - An error whose chain holds an [`std::io::Error`] of kind `BrokenPipe` (the reader of the
///   program's output went away, as in `example | head -1`) exits 0 quietly.
/// - Any other error prints `error: <message>: <cause>: ...` on standard error, every part
///   escaped with [`Escaped`] (error texts often quote input: field values, XML names, file
///   names), and exits 1.
///
/// Programs write their output with `writeln!(out, ...)?` rather than `println!`, so that a
/// closed pipe comes back here as an error instead of a panic.
///
/// ```
/// use std::io::Write as _;
/// fn run() -> Result<(), Box<dyn std::error::Error>> {
///     let mut out = std::io::stdout().lock();
///     writeln!(out, "hello")?;
///     Ok(())
/// }
/// // in `fn main() -> std::process::ExitCode`:
/// let code = bannerlm_base::exit_report(run());
/// assert_eq!(code, std::process::ExitCode::SUCCESS);
/// ```
pub fn exit_report<E>(result: Result<(), E>) -> ExitCode
where
    E: AsRef<dyn Error + 'static>,
{
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) if is_broken_pipe(e.as_ref()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {}", error_chain(e.as_ref()));
            ExitCode::FAILURE
        }
    }
}

/// An error and its sources as one line, `: `-separated, with every control character,
/// format character and invalid byte escaped as by [`Escaped`] (backslashes are kept as they
/// are, so messages that crates already escaped are not escaped twice); a part whose text the
/// previous part already ends with is not printed twice.
///
/// ```
/// let e = std::io::Error::other("bad \x1b[2J value");
/// assert_eq!(bannerlm_base::error_chain(&e), r"bad \x1b[2J value");
/// ```
pub fn error_chain(err: &(dyn Error + 'static)) -> String {
    let mut out = String::new();
    let mut last = String::new();
    let mut cur: Option<&(dyn Error + 'static)> = Some(err);
    while let Some(e) = cur {
        let text = escape_controls(&e.to_string());
        // Compare with doubled backslashes undone: the previous part may hold this one
        // escaped by its crate.
        if !last
            .replace("\\\\", "\\")
            .ends_with(&text.replace("\\\\", "\\"))
        {
            if !out.is_empty() {
                out.push_str(": ");
            }
            out.push_str(&text);
        }
        last = text;
        cur = e.source();
    }
    out
}

/// [`Escaped`] without doubling backslashes: for text that may already be escaped.
fn escape_controls(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for part in s.split_inclusive('\\') {
        let (body, slash) = match part.strip_suffix('\\') {
            Some(b) => (b, "\\"),
            None => (part, ""),
        };
        let _ = write!(out, "{}", Escaped(body.as_bytes()));
        out.push_str(slash);
    }
    out
}

/// Whether `err` or one of its sources is an I/O error of kind `BrokenPipe`.
pub fn is_broken_pipe(err: &(dyn Error + 'static)) -> bool {
    let mut cur: Option<&(dyn Error + 'static)> = Some(err);
    while let Some(e) = cur {
        if e.downcast_ref::<std::io::Error>()
            .is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
        {
            return true;
        }
        cur = e.source();
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug)]
    struct Wrap(std::io::Error);
    impl std::fmt::Display for Wrap {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str("writing \x07out")
        }
    }
    impl Error for Wrap {
        fn source(&self) -> Option<&(dyn Error + 'static)> {
            Some(&self.0)
        }
    }

    #[test]
    fn broken_pipe_is_found_in_the_chain() {
        let e = Wrap(std::io::Error::from(std::io::ErrorKind::BrokenPipe));
        assert!(is_broken_pipe(&e));
        assert!(!is_broken_pipe(&Wrap(std::io::Error::other("x"))));
        let boxed: Box<dyn Error> = Box::new(e);
        assert_eq!(exit_report(Err(boxed)), ExitCode::SUCCESS);
    }

    #[test]
    fn chain_is_escaped_and_joined() {
        let e = Wrap(std::io::Error::other("inner\x1b]0;title\x07"));
        assert_eq!(error_chain(&e), r"writing \x07out: inner\x1b]0;title\x07");
    }

    #[test]
    fn escaped_messages_are_not_escaped_twice_nor_repeated() {
        #[derive(Debug)]
        struct Outer(std::io::Error);
        impl std::fmt::Display for Outer {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                write!(f, "db.xml:3: {}", Escaped(self.0.to_string().as_bytes()))
            }
        }
        impl Error for Outer {
            fn source(&self) -> Option<&(dyn Error + 'static)> {
                Some(&self.0)
            }
        }
        let e = Outer(std::io::Error::other("tag <a\x1bb> C:\\dir"));
        assert_eq!(error_chain(&e), r"db.xml:3: tag <a\x1bb> C:\\dir");
    }
}
