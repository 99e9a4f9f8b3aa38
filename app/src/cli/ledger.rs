//! `bme ledger warp`: move an embedded ledger's clock (local testing only).

use bme_client::transport::Transport;
use bme_client::ClientError;
use clap::Subcommand;

use super::chain::Chain;

/// Embedded-ledger commands.
#[derive(Debug, Subcommand)]
pub enum LedgerCommand {
    /// Move the clock forward by some seconds.
    Warp {
        /// Seconds to move forward.
        #[arg(long)]
        seconds: i64,
    },
}

/// Runs a ledger command.
pub async fn run(command: LedgerCommand, chain: &mut Chain) -> Result<String, ClientError> {
    let LedgerCommand::Warp { seconds } = command;
    if seconds < 0 {
        return Err(ClientError::Input(
            "--seconds: the clock only moves forward".into(),
        ));
    }
    let ledger = chain.ledger()?;
    let now = ledger.unix_time().await?;
    ledger.warp_to(now + seconds);
    Ok(format!("ledger clock at unix {}\n", now + seconds))
}
