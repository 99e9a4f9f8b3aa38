//! Typed errors of the client library.

use anchor_lang::prelude::Pubkey;

/// Everything the client can fail with.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    /// A receipt's signature does not verify.
    #[error("receipt signature by {0} does not verify")]
    BadSignature(Pubkey),
    /// An account was not found.
    #[error("account {0} not found")]
    AccountNotFound(Pubkey),
    /// An account could not be decoded as the expected type.
    #[error("account {0} could not be decoded: {1}")]
    Decode(Pubkey, String),
    /// The transport failed (RPC or embedded runtime).
    #[error("transport: {0}")]
    Transport(String),
    /// A transaction failed on chain.
    #[error("transaction failed: {0}")]
    Transaction(String),
    /// Reading or writing a local file failed.
    #[error("{path}: {message}")]
    File {
        /// The file.
        path: String,
        /// What went wrong.
        message: String,
    },
    /// Bad input from the user.
    #[error("{0}")]
    Input(String),
}
