//! # bme-client
//!
//! Off-chain side of the bme burn-and-mint program: PDAs, instruction builders,
//! receipt signing and verification, and (behind the `runtime` feature) an embedded
//! Solana runtime that runs the program natively next to the real SPL programs.

#[cfg(feature = "runtime")]
pub mod bench;
pub mod config;
pub mod crank;
#[cfg(feature = "runtime")]
pub mod demo;
pub mod error;
pub mod ix;
pub mod pda;
pub mod planner;
pub mod receipt;
#[cfg(feature = "runtime")]
pub mod runtime;
mod serde_helpers;
pub mod sim;
pub mod store;
pub mod transport;

pub use error::ClientError;
pub(crate) use serde_helpers::{serde_pubkey, serde_signature};
