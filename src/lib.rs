//! bote: a consent-first WhatsApp campaign orchestrator.
//!
//! The library holds everything testable; `main.rs` only parses arguments
//! and maps results to exit codes. See `docs/ARCHITECTURE.md`.

pub mod audience;
pub mod audit;
pub mod backup;
pub mod campaign;
pub mod cli;
pub mod clock;
pub mod cloud;
pub mod config;
pub mod connections;
pub mod consent;
pub mod dispatch;
pub mod engine;
pub mod i18n;
pub mod paths;
pub mod phone;
pub mod platform;
#[cfg(test)]
mod property;
pub mod service;
pub mod sim;
pub mod template;
pub mod tui;
pub mod webhook;

/// Asks the kernel not to back this process with transparent huge pages.
///
/// With THP set to "always" (the default of many distributions) a 2 MB
/// page stays resident while any byte of it is in use, so memory the
/// allocator frees rarely goes back: a 1M-recipient send held 175–189 MB
/// with THP and 130–140 MB without, at the same CPU per send (BENCHMARKS.md,
/// dispatcher (c)). Best effort: a kernel that refuses changes nothing else.
pub fn disable_transparent_huge_pages() {
    #[cfg(target_os = "linux")]
    if let Err(e) = rustix::thread::disable_transparent_huge_pages(true) {
        tracing::debug!("transparent huge pages stay on: {e}");
    }
}

#[cfg(all(test, target_os = "linux"))]
mod tests {
    #[test]
    fn huge_pages_are_off_after_asking() {
        super::disable_transparent_huge_pages();
        assert_eq!(
            rustix::thread::transparent_huge_pages_are_disabled().ok(),
            Some(true)
        );
    }
}
