//! `bme provider register|set-destination`.

use std::path::PathBuf;

use bme::state::Provider;
use bme_client::transport::{self, Transport};
use bme_client::{ix, pda, ClientError};
use clap::{Args, Subcommand};
use serde::Serialize;
use solana_sdk::signature::Signer;

use super::chain::{address, load_keypair, Chain};
use super::{output, GlobalOptions};

/// Provider commands.
#[derive(Debug, Subcommand)]
pub enum ProviderCommand {
    /// Register a node as a provider.
    Register(RegisterArgs),
    /// Change where a provider's rewards go (the owner signs).
    SetDestination(SetDestinationArgs),
    /// Show a provider.
    Show {
        /// The provider account.
        provider: String,
    },
}

/// Arguments of `bme provider register`.
#[derive(Debug, Args)]
pub struct RegisterArgs {
    /// The node identity keypair (signs the registration).
    #[arg(long)]
    pub node_keypair: PathBuf,
    /// The owner (default: the signer).
    #[arg(long)]
    pub owner: Option<String>,
    /// Reward destination token account (default: the owner's associated account).
    #[arg(long)]
    pub destination: Option<String>,
}

/// Arguments of `bme provider set-destination`.
#[derive(Debug, Args)]
pub struct SetDestinationArgs {
    /// The provider account.
    #[arg(long)]
    pub provider: String,
    /// The new destination token account.
    #[arg(long)]
    pub destination: String,
}

/// A provider as shown.
#[derive(Debug, Serialize)]
pub struct ProviderView {
    /// Provider account.
    pub provider: String,
    /// Owner.
    pub owner: String,
    /// Destination.
    pub destination: String,
    /// Pending work: (epoch, usage units, contribution units).
    pub pending: Vec<(u32, u64, u64)>,
    /// Accrued, unclaimed.
    pub accrued: u64,
    /// Claimed so far.
    pub claimed: u64,
}

/// Runs a provider command.
pub async fn run(
    command: ProviderCommand,
    global: &GlobalOptions,
    chain: &mut Chain,
) -> Result<String, ClientError> {
    let (protocol_address, protocol) = chain.protocol(global).await?;
    let payer = chain.payer();
    let provider = match command {
        ProviderCommand::Register(args) => {
            let node = load_keypair(&args.node_keypair)?;
            let owner = match &args.owner {
                Some(o) => address("--owner", o)?,
                None => payer,
            };
            let mut instructions = Vec::new();
            let destination = match &args.destination {
                Some(d) => address("--destination", d)?,
                None => {
                    instructions.push(anchor_spl::associated_token::spl_associated_token_account::instruction::create_associated_token_account_idempotent(
                        &payer, &owner, &protocol.token_mint, &protocol.token_program,
                    ));
                    ix::associated_token(&owner, &protocol.token_mint, &protocol.token_program)
                }
            };
            instructions.push(ix::register_provider(ix::RegisterProviderAccounts {
                payer,
                node: node.pubkey(),
                owner,
                protocol: protocol_address,
                destination,
            }));
            chain.send(&instructions, &[&node]).await?;
            pda::provider(&protocol_address, &node.pubkey())
        }
        ProviderCommand::SetDestination(args) => {
            let provider = address("--provider", &args.provider)?;
            let destination = address("--destination", &args.destination)?;
            chain
                .send(
                    &[ix::set_provider_destination(
                        payer,
                        protocol_address,
                        provider,
                        destination,
                    )],
                    &[],
                )
                .await?;
            provider
        }
        ProviderCommand::Show { provider } => address("provider", &provider)?,
    };
    let account: Provider = transport::read(chain, &provider).await?;
    let view = ProviderView {
        provider: provider.to_string(),
        owner: account.owner.to_string(),
        destination: account.destination.to_string(),
        pending: account
            .pending
            .iter()
            .filter(|p| !p.is_free())
            .map(|p| (p.epoch, p.usage_units, p.contribution_units))
            .collect(),
        accrued: account.accrued,
        claimed: account.claimed,
    };
    output(global.json, &view, |v| {
        format!(
            "provider     {}\nowner        {}\ndestination  {}\npending      {:?}\naccrued      {}\nclaimed      {}\n",
            v.provider, v.owner, v.destination, v.pending, v.accrued, v.claimed
        )
    })
}
