//! Banner embedding at scale: on-disk store, PCA, nearest neighbours and drift statistics for bannerlm.
//!
//! **Status: not implemented yet.** This crate is a placeholder in the bannerlm
//! workspace so that the dependency graph of docs/ARCHITECTURE.md exists from
//! the start; its API arrives with the issue that fills it (issue 11).
//! It exports nothing today.
