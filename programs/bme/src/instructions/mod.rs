//! One module per instruction: its arguments, its accounts and its handler.

// Every module exports a `handler`; lib.rs always calls them by full path, and the
// glob re-exports are what Anchor's `#[program]` needs for the account structs.
#![allow(ambiguous_glob_reexports)]

pub mod buy_credits;
pub mod claim_rewards;
pub mod close_epoch;
pub mod initialize_protocol;
pub mod register_provider;
pub mod set_provider_destination;
pub mod settle_usage;
pub mod submit_contribution_report;

pub use buy_credits::*;
pub use claim_rewards::*;
pub use close_epoch::*;
pub use initialize_protocol::*;
pub use register_provider::*;
pub use set_provider_destination::*;
pub use settle_usage::*;
pub use submit_contribution_report::*;
