//! Simulated Internet-wide scans (hosts, products, monthly snapshots with churn) with ground truth for bannerlm.
//!
//! **Status: not implemented yet.** This crate is a placeholder in the bannerlm
//! workspace so that the dependency graph of docs/ARCHITECTURE.md exists from
//! the start; its API arrives with the issue that fills it (issue 4).
//! It exports nothing today.
