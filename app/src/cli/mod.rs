//! The `bme` command line: global options (Solana CLI habits: `--url`, `--keypair`,
//! `--commitment`, `--program-id`, defaulting to the Solana CLI's config file), the
//! connection they describe, and one module per command group.

pub mod bench;
pub mod chain;
pub mod credits;
pub mod demo;
pub mod epoch;
pub mod gov;
pub mod init;
pub mod ledger;
pub mod oracle;
pub mod provider;
pub mod receipt;
pub mod rewards;
pub mod solana_config;
pub mod status;
pub mod usage;

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};
use serde::Serialize;

use bme_client::ClientError;

/// Operate a bme burn-and-mint network: customers, node operators and governance.
#[derive(Debug, Parser)]
#[command(name = "bme", version, about)]
pub struct Cli {
    /// Connection and identity.
    #[command(flatten)]
    pub global: GlobalOptions,
    /// The command.
    #[command(subcommand)]
    pub command: Command,
}

/// Options every command accepts.
#[derive(Debug, Args)]
pub struct GlobalOptions {
    /// Cluster: a URL, a moniker (`localhost`, `devnet`, `testnet`, `mainnet-beta`), or
    /// `embedded:<ledger file>` for the in-process runtime. Default: the Solana CLI config.
    #[arg(long, short = 'u', global = true)]
    pub url: Option<String>,
    /// Signing keypair file. Default: the Solana CLI config's keypair.
    #[arg(long, short = 'k', global = true)]
    pub keypair: Option<PathBuf>,
    /// The bme program id (this build targets the id compiled into it).
    #[arg(long, global = true)]
    pub program_id: Option<String>,
    /// Commitment: processed, confirmed or finalized. Default: the Solana CLI config.
    #[arg(long, global = true)]
    pub commitment: Option<String>,
    /// The network token mint identifying the protocol (or env `BME_MINT`).
    #[arg(long, global = true, env = "BME_MINT")]
    pub mint: Option<String>,
    /// Compute-unit limit to request per transaction.
    #[arg(long, global = true)]
    pub compute_unit_limit: Option<u32>,
    /// Priority fee, micro-lamports per compute unit.
    #[arg(long, global = true)]
    pub priority_fee: Option<u64>,
    /// Print machine-readable JSON.
    #[arg(long, global = true)]
    pub json: bool,
}

/// The commands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Create a protocol from a genesis file.
    Init(init::InitArgs),
    /// Show the protocol, the current epoch, the schedule ahead, supply, pools, pauses
    /// and pending changes.
    Status,
    /// Customers: buy credits.
    #[command(subcommand)]
    Credits(credits::CreditsCommand),
    /// Customers: sign usage receipts.
    #[command(subcommand)]
    Receipt(receipt::ReceiptCommand),
    /// Operators: settle customers' receipts.
    #[command(subcommand)]
    Usage(usage::UsageCommand),
    /// Operators: register a provider, change its destination.
    #[command(subcommand)]
    Provider(provider::ProviderCommand),
    /// Operators: claim rewards.
    #[command(subcommand)]
    Rewards(rewards::RewardsCommand),
    /// Anyone: close due epochs in order.
    #[command(subcommand)]
    Epoch(epoch::EpochCommand),
    /// Oracles: sign and submit a contribution report.
    #[command(subcommand)]
    Oracle(oracle::OracleCommand),
    /// Governance: propose, apply, cancel, hand over authority, pause.
    #[command(subcommand)]
    Gov(gov::GovCommand),
    /// Embedded ledgers: move the local clock.
    #[command(subcommand)]
    Ledger(ledger::LedgerCommand),
    /// Run a full burn-and-mint lifecycle on an embedded runtime and check the invariants.
    Demo(demo::DemoArgs),
    /// Project the token economy epoch by epoch from a scenario, on the program's own
    /// math: supply, emission vs burns, equilibrium price, provider margins (CSV + SVG).
    Simulate(bme_client::sim::SimulateArgs),
    /// Measure DESIGN.md's performance figures on an embedded runtime and print each
    /// beside its target.
    Bench(bench::BenchArgs),
}

/// Renders a value for the user: JSON with `--json`, else the given text.
pub fn output<T: Serialize>(
    json: bool,
    value: &T,
    text: impl FnOnce(&T) -> String,
) -> Result<String, ClientError> {
    if json {
        serde_json::to_string_pretty(value).map_err(|e| ClientError::Input(e.to_string()))
    } else {
        Ok(text(value))
    }
}

/// Runs the parsed command line; returns what to print.
pub async fn run(cli: Cli) -> Result<String, ClientError> {
    let global = cli.global;
    match cli.command {
        Command::Demo(args) => demo::run(args, global.json).await,
        Command::Bench(args) => bench::run(args, global.json).await,
        Command::Simulate(args) => bme_client::sim::command(&args, global.json),
        Command::Receipt(command) => receipt::run(command, &global).await,
        command => {
            let mut chain = chain::Chain::connect(&global).await?;
            let out = dispatch(command, &global, &mut chain).await;
            // Persist an embedded ledger even after a failed command: what landed, landed.
            chain.finish().await?;
            out
        }
    }
}

async fn dispatch(
    command: Command,
    global: &GlobalOptions,
    chain: &mut chain::Chain,
) -> Result<String, ClientError> {
    match command {
        Command::Init(args) => init::run(args, global, chain).await,
        Command::Status => status::run(global, chain).await,
        Command::Credits(c) => credits::run(c, global, chain).await,
        Command::Usage(c) => usage::run(c, global, chain).await,
        Command::Provider(c) => provider::run(c, global, chain).await,
        Command::Rewards(c) => rewards::run(c, global, chain).await,
        Command::Epoch(c) => epoch::run(c, global, chain).await,
        Command::Oracle(c) => oracle::run(c, global, chain).await,
        Command::Gov(c) => gov::run(c, global, chain).await,
        Command::Ledger(c) => ledger::run(c, chain).await,
        Command::Demo(_) | Command::Receipt(_) | Command::Simulate(_) | Command::Bench(_) => Err(
            ClientError::Input("this command does not use a cluster connection".into()),
        ),
    }
}

/// Formats base units as a decimal token amount.
pub fn format_tokens(amount: u64, decimals: u8) -> String {
    let scale = 10u128.pow(u32::from(decimals));
    let whole = u128::from(amount) / scale;
    let fraction = u128::from(amount) % scale;
    if decimals == 0 {
        whole.to_string()
    } else {
        format!("{whole}.{fraction:0width$}", width = usize::from(decimals))
    }
}

/// Parses a decimal token amount (`1.5`) into base units.
pub fn parse_tokens(text: &str, decimals: u8) -> Result<u64, ClientError> {
    let bad = || {
        ClientError::Input(format!(
            "`{text}` is not a token amount with at most {decimals} decimals"
        ))
    };
    let (whole, fraction) = text.split_once('.').unwrap_or((text, ""));
    if fraction.len() > usize::from(decimals) || (whole.is_empty() && fraction.is_empty()) {
        return Err(bad());
    }
    let whole: u128 = if whole.is_empty() {
        0
    } else {
        whole.parse().map_err(|_| bad())?
    };
    let padded = format!("{fraction:0<width$}", width = usize::from(decimals));
    let fraction: u128 = if padded.is_empty() {
        0
    } else {
        padded.parse().map_err(|_| bad())?
    };
    let value = whole
        .checked_mul(10u128.pow(u32::from(decimals)))
        .and_then(|w| w.checked_add(fraction))
        .ok_or_else(bad)?;
    u64::try_from(value).map_err(|_| bad())
}

/// Names of the pause flags set in `flags`.
pub fn pause_names(flags: u8) -> Vec<&'static str> {
    use bme::constants::*;
    [
        (PAUSE_BUY, "buy"),
        (PAUSE_SETTLE, "settle"),
        (PAUSE_REPORT, "report"),
        (PAUSE_CLAIM, "claim"),
    ]
    .into_iter()
    .filter(|(flag, _)| flags & flag != 0)
    .map(|(_, name)| name)
    .collect()
}

/// Parses pause flag names (`buy,settle,report,claim` or `all`).
pub fn parse_pause_flags(names: &[String]) -> Result<u8, ClientError> {
    use bme::constants::*;
    let mut flags = 0;
    for name in names {
        flags |= match name.as_str() {
            "buy" => PAUSE_BUY,
            "settle" => PAUSE_SETTLE,
            "report" => PAUSE_REPORT,
            "claim" => PAUSE_CLAIM,
            "all" => PAUSE_ALL,
            other => {
                return Err(ClientError::Input(format!(
                    "`{other}` is not a flow: buy, settle, report, claim or all"
                )))
            }
        };
    }
    Ok(flags)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn token_amounts_round_trip() {
        assert_eq!(parse_tokens("1.5", 6).unwrap(), 1_500_000);
        assert_eq!(parse_tokens("0.000001", 6).unwrap(), 1);
        assert_eq!(parse_tokens("12", 0).unwrap(), 12);
        assert!(parse_tokens("1.0000001", 6).is_err());
        assert!(parse_tokens("abc", 6).is_err());
        assert!(parse_tokens("99999999999999999999", 6).is_err());
        assert_eq!(format_tokens(1_500_000, 6), "1.500000");
        assert_eq!(
            parse_pause_flags(&["buy".into(), "claim".into()]).unwrap(),
            0b1001
        );
        assert_eq!(pause_names(0b1001), vec!["buy", "claim"]);
    }
}
