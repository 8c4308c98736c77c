//! bote as a service: one daemon owns the store (sled opens it in one
//! process only), hosts the webhook receiver and runs every campaign;
//! every command is a client over a Unix socket beside the store.
//!
//! ```text
//!  bote campaign … ─┐                 ┌─► webhook receiver (TCP)
//!  bote consent …  ─┼─ <store>/bote.sock ─► engine façade (engine::ops) ─► store, campaigns
//!  scripts, cron   ─┘  (0600, peer uid)   └─► runs (sending, held, paused)
//! ```

pub mod client;
pub mod daemon;
pub mod peer;
mod session;
pub mod wire;
