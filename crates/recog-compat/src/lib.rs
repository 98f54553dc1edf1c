//! Rapid7 Recog fingerprint databases in Rust: load, match, verify, compare and export.
//!
//! **Status: not implemented yet.** This crate is a placeholder in the bannerlm
//! workspace so that the dependency graph of docs/ARCHITECTURE.md exists from
//! the start; its API arrives with the issue that fills it (issue 10).
//! It exports nothing today.
