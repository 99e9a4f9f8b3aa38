//! The ready-made test network lives in the client (the demo uses it too).

pub use bme_client::runtime::network::*;
