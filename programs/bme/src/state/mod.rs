//! Accounts of the bme program. Every account uses a one-byte discriminator
//! (listed on each type) so that per-provider and per-channel state stays small.

pub mod channel;
pub mod epoch;
pub mod governance;
pub mod oracle_set;
pub mod protocol;
pub mod provider;
pub mod registry;

pub use channel::*;
pub use epoch::*;
pub use governance::*;
pub use oracle_set::*;
pub use protocol::*;
pub use provider::*;
pub use registry::*;
