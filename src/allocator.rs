//! Allocator settings for the long-running examples.
//!
//! Training allocates and frees many large tensors per step. glibc's malloc returns each one to
//! the kernel, and so, after a delay, does mimalloc; the kernel then zeroes fresh pages for the
//! next step. With `MIMALLOC_PURGE_DELAY=-1`, mimalloc keeps freed memory for reuse, which
//! shortens training (figures in docs/PERFORMANCE.md, "Allocator").
//!
//! mimalloc reads its options from the environment once, before `main` runs, and changing the
//! environment of a running program is `unsafe` in Rust 2024; so [`keep_freed_memory`] replaces
//! the process with a fresh image of itself that has the variable set (same pid, arguments,
//! standard streams). It only matters to programs whose global allocator is mimalloc.

use std::ffi::OsStr;

/// The environment variable that tells mimalloc how long to wait before returning freed
/// memory to the kernel (milliseconds; `-1`: never).
pub const MIMALLOC_PURGE_DELAY: &str = "MIMALLOC_PURGE_DELAY";

/// Re-executes the running program with `MIMALLOC_PURGE_DELAY=-1` unless that variable is
/// already set (a value the user chose is kept, and the new image does not re-execute again).
///
/// Call it first thing in `main`. On success it does not return. It returns the error when the
/// program cannot be re-executed (its binary was replaced or removed, or the platform is not
/// Unix); the caller can carry on, only slower.
///
/// ```no_run
/// // First thing in `main` of a program whose global allocator is mimalloc:
/// if let Err(e) = bannerlm::allocator::keep_freed_memory() {
///     eprintln!("note: running without MIMALLOC_PURGE_DELAY=-1 ({e})");
/// }
/// // ... the real work
/// ```
///
/// # Errors
/// The [`std::io::Error`] of finding or executing the program's own binary.
pub fn keep_freed_memory() -> std::io::Result<()> {
    if std::env::var_os(MIMALLOC_PURGE_DELAY).is_some() {
        return Ok(());
    }
    reexec_with(MIMALLOC_PURGE_DELAY, "-1")
}

/// [`keep_freed_memory`] for programs: when the program cannot be re-executed, prints one
/// escaped note on standard error and carries on (only slower).
///
/// ```no_run
/// // First thing in `main` of a program whose global allocator is mimalloc:
/// bannerlm::allocator::keep_freed_memory_or_note();
/// ```
pub fn keep_freed_memory_or_note() {
    if let Err(e) = keep_freed_memory() {
        eprintln!(
            "note: running without {MIMALLOC_PURGE_DELAY}=-1 ({})",
            bannerlm_base::escape_str(&e.to_string())
        );
    }
}

#[cfg(unix)]
fn reexec_with(var: &str, value: impl AsRef<OsStr>) -> std::io::Result<()> {
    use std::os::unix::process::CommandExt as _;
    let exe = std::env::current_exe()?;
    let mut args = std::env::args_os();
    let mut command = std::process::Command::new(exe);
    if let Some(arg0) = args.next() {
        command.arg0(arg0);
    }
    // `exec` only returns on failure.
    Err(command.args(args).env(var, value).exec())
}

#[cfg(not(unix))]
fn reexec_with(_var: &str, _value: impl AsRef<OsStr>) -> std::io::Result<()> {
    Err(std::io::Error::new(
        std::io::ErrorKind::Unsupported,
        "re-executing a program is only implemented on Unix",
    ))
}
