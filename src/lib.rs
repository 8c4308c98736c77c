//! bote: a consent-first WhatsApp campaign orchestrator.
//!
//! The library holds everything testable; `main.rs` only parses arguments
//! and maps results to exit codes. See `docs/ARCHITECTURE.md`.

pub mod audience;
pub mod cli;
pub mod config;
pub mod consent;
pub mod paths;
pub mod phone;
pub mod template;
