//! RoBERTa encoder with masked-LM and token-stability heads in burn, Hugging Face compatible, for bannerlm.
//!
//! **Status: not implemented yet.** This crate is a placeholder in the bannerlm
//! workspace so that the dependency graph of docs/ARCHITECTURE.md exists from
//! the start; its API arrives with the issue that fills it (issue 6).
//! It exports nothing today.
