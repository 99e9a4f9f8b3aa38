//! `bme rewards claim`: settle a provider's closed epochs and mint its rewards.

use bme_client::{crank, pda, ClientError};
use clap::{Args, Subcommand};
use serde::Serialize;

use super::chain::{address, Chain};
use super::{format_tokens, output, GlobalOptions};

/// Reward commands.
#[derive(Debug, Subcommand)]
pub enum RewardsCommand {
    /// Claim for a provider (anyone may; tokens go to its registered destination).
    Claim(ClaimArgs),
}

/// Arguments of `bme rewards claim`.
#[derive(Debug, Args)]
pub struct ClaimArgs {
    /// The provider account.
    #[arg(long, conflicts_with = "node", required_unless_present = "node")]
    pub provider: Option<String>,
    /// Or the provider's node key.
    #[arg(long)]
    pub node: Option<String>,
}

/// A claim's result.
#[derive(Debug, Serialize)]
pub struct ClaimOutput {
    /// The provider.
    pub provider: String,
    /// Tokens minted by this claim, base units.
    pub claimed: u64,
    /// Decimals for display.
    #[serde(skip)]
    pub decimals: u8,
}

/// Runs a rewards command.
pub async fn run(
    command: RewardsCommand,
    global: &GlobalOptions,
    chain: &mut Chain,
) -> Result<String, ClientError> {
    let RewardsCommand::Claim(args) = command;
    let (protocol_address, protocol) = chain.protocol(global).await?;
    let provider = match (&args.provider, &args.node) {
        (Some(p), _) => address("--provider", p)?,
        (None, Some(n)) => pda::provider(&protocol_address, &address("--node", n)?),
        (None, None) => {
            return Err(ClientError::Input(
                "--provider or --node is required".into(),
            ))
        }
    };
    let claimed = crank::claim(chain, &protocol_address, &provider).await?;
    let result = ClaimOutput {
        provider: provider.to_string(),
        claimed,
        decimals: protocol.token_decimals,
    };
    output(global.json, &result, |r| {
        format!(
            "claimed {} tokens for provider {}\n",
            format_tokens(r.claimed, r.decimals),
            r.provider
        )
    })
}
