//! `bme receipt sign`: a customer signs a cumulative usage receipt.

use std::io::Write;
use std::path::PathBuf;

use bme_client::receipt::SignedReceipt;
use bme_client::ClientError;
use clap::{Args, Subcommand};

use super::chain::{address, signer};
use super::GlobalOptions;

/// Receipt commands.
#[derive(Debug, Subcommand)]
pub enum ReceiptCommand {
    /// Sign "provider P has served me N credits in total" with the customer keypair.
    Sign(SignArgs),
}

/// Arguments of `bme receipt sign`.
#[derive(Debug, Args)]
pub struct SignArgs {
    /// The provider account being paid.
    #[arg(long)]
    pub provider: String,
    /// Cumulative credits consumed from this provider.
    #[arg(long)]
    pub cumulative: u64,
    /// Append the receipt to this newline-delimited JSON file instead of printing it.
    #[arg(long)]
    pub out: Option<PathBuf>,
}

/// Runs a receipt command (offline: no cluster needed).
pub async fn run(command: ReceiptCommand, global: &GlobalOptions) -> Result<String, ClientError> {
    let ReceiptCommand::Sign(args) = command;
    let customer = signer(global)?;
    let provider = address("--provider", &args.provider)?;
    let receipt = SignedReceipt::sign(&customer, &provider, args.cumulative);
    let line = serde_json::to_string(&receipt).map_err(|e| ClientError::Input(e.to_string()))?;
    match args.out {
        Some(path) => {
            let mut file = std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(&path)
                .map_err(|e| ClientError::File {
                    path: path.display().to_string(),
                    message: e.to_string(),
                })?;
            writeln!(file, "{line}").map_err(|e| ClientError::File {
                path: path.display().to_string(),
                message: e.to_string(),
            })?;
            Ok(format!(
                "appended receipt for channel {} to {}\n",
                receipt.channel(),
                path.display()
            ))
        }
        None => Ok(format!("{line}\n")),
    }
}
