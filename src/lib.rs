//! bote: a consent-first WhatsApp campaign orchestrator.
//!
//! The library holds everything testable; `main.rs` only parses arguments
//! and maps results to exit codes. See `docs/ARCHITECTURE.md`.

pub mod audience;
pub mod campaign;
pub mod cli;
pub mod cloud;
pub mod config;
pub mod consent;
pub mod dispatch;
pub mod engine;
pub mod paths;
pub mod phone;
pub mod sim;
pub mod template;
pub mod tui;
pub mod webhook;
