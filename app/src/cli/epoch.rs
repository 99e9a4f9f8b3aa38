//! `bme epoch close`: close every due epoch, in order.

use bme_client::{crank, ClientError};
use clap::Subcommand;
use serde::Serialize;

use super::chain::Chain;
use super::{output, GlobalOptions};

/// Epoch commands.
#[derive(Debug, Subcommand)]
pub enum EpochCommand {
    /// Close every epoch whose end plus grace period has passed (one transaction each).
    Close,
}

/// Epochs closed.
#[derive(Debug, Serialize)]
pub struct CloseOutput {
    /// The epochs closed, in order.
    pub closed: Vec<u64>,
}

/// Runs an epoch command.
pub async fn run(
    command: EpochCommand,
    global: &GlobalOptions,
    chain: &mut Chain,
) -> Result<String, ClientError> {
    let EpochCommand::Close = command;
    let (protocol_address, _) = chain.protocol(global).await?;
    let closed = crank::close_due_epochs(chain, &protocol_address).await?;
    output(global.json, &CloseOutput { closed }, |o| {
        if o.closed.is_empty() {
            "no epoch is due\n".to_string()
        } else {
            format!("closed epochs {:?}\n", o.closed)
        }
    })
}
