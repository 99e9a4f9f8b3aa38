//! `bme oracle report`: M of N oracles sign a contribution report and submit it.

use std::path::PathBuf;

use anchor_lang::prelude::Pubkey;
use bme_client::transport::Transport;
use bme_client::{ix, ClientError};
use clap::{Args, Subcommand};
use serde::{Deserialize, Serialize};
use solana_sdk::signature::Keypair;

use super::chain::{address, load_keypair, Chain};
use super::{output, GlobalOptions};

/// Oracle commands.
#[derive(Debug, Subcommand)]
pub enum OracleCommand {
    /// Sign (with every `--oracle-keypair`) and submit a report for an unclosed epoch.
    Report(ReportArgs),
}

/// Arguments of `bme oracle report`.
#[derive(Debug, Args)]
pub struct ReportArgs {
    /// The epoch the work was done in.
    #[arg(long)]
    pub epoch: u64,
    /// Report sequence number (above every accepted one).
    #[arg(long)]
    pub sequence: u64,
    /// JSON file: `[{"provider": "<address>", "units": 12}, …]`.
    #[arg(long)]
    pub entries: PathBuf,
    /// An oracle keypair; repeat for each signer.
    #[arg(long = "oracle-keypair", required = true)]
    pub oracle_keypairs: Vec<PathBuf>,
}

/// One report entry in the file.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Entry {
    provider: String,
    units: u64,
}

/// What was submitted.
#[derive(Debug, Serialize)]
pub struct ReportOutput {
    /// Epoch credited.
    pub epoch: u64,
    /// Sequence used.
    pub sequence: u64,
    /// Providers credited.
    pub providers: usize,
    /// Units in total.
    pub units: u64,
}

/// Runs an oracle command.
pub async fn run(
    command: OracleCommand,
    global: &GlobalOptions,
    chain: &mut Chain,
) -> Result<String, ClientError> {
    let OracleCommand::Report(args) = command;
    let (protocol_address, _) = chain.protocol(global).await?;
    let text = std::fs::read_to_string(&args.entries).map_err(|e| ClientError::File {
        path: args.entries.display().to_string(),
        message: e.to_string(),
    })?;
    let entries: Vec<Entry> = serde_json::from_str(&text).map_err(|e| ClientError::File {
        path: args.entries.display().to_string(),
        message: format!("not a list of {{provider, units}}: {e}"),
    })?;
    let entries: Vec<(Pubkey, u64)> = entries
        .iter()
        .map(|e| Ok((address("provider", &e.provider)?, e.units)))
        .collect::<Result<_, ClientError>>()?;
    let oracles: Vec<Keypair> = args
        .oracle_keypairs
        .iter()
        .map(|p| load_keypair(p))
        .collect::<Result<_, _>>()?;
    let signers: Vec<&Keypair> = oracles.iter().collect();
    let instructions = ix::signed_report(
        chain.payer(),
        protocol_address,
        &signers,
        args.epoch,
        args.sequence,
        &entries,
    );
    chain.send(&instructions, &[]).await?;
    let result = ReportOutput {
        epoch: args.epoch,
        sequence: args.sequence,
        providers: entries.len(),
        units: entries.iter().map(|(_, u)| u).sum(),
    };
    output(global.json, &result, |r| {
        format!(
            "report #{} accepted: {} units for {} providers in epoch {}\n",
            r.sequence, r.units, r.providers, r.epoch
        )
    })
}
