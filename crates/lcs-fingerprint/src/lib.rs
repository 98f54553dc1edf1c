//! Longest-common-substring regex fingerprints from clusters of banners, for bannerlm.
//!
//! **Status: not implemented yet.** This crate is a placeholder in the bannerlm
//! workspace so that the dependency graph of docs/ARCHITECTURE.md exists from
//! the start; its API arrives with the issue that fills it (issue 9).
//! It exports nothing today.
