//! `bme gov …`: governance — proposals behind the timelock, the authority handoff,
//! the guardian, and pauses.

use std::path::PathBuf;

use bme::math::schedule::Segment;
use bme::state::{ParameterChange, PoolSplit, PriceSource};
use bme_client::config::{parse_feed_id, SegmentConfig};
use bme_client::transport::Transport;
use bme_client::{ix, ClientError};
use clap::Subcommand;
use serde::Deserialize;

use super::chain::{address, Chain};
use super::{parse_pause_flags, GlobalOptions};

/// Governance commands. The signer must be the authority (or the guardian for `pause`).
#[derive(Debug, Subcommand)]
pub enum GovCommand {
    /// Propose one parameter change (applicable after the timelock).
    #[command(subcommand)]
    Propose(ChangeCommand),
    /// Apply the pending change once its timelock has passed (anyone).
    Apply,
    /// Cancel the pending change.
    Cancel,
    /// Propose a new authority (it must accept).
    TransferAuthority {
        /// The proposed authority.
        new_authority: String,
    },
    /// Accept the authority (the signer is the proposed authority).
    AcceptAuthority,
    /// Withdraw a proposed authority transfer.
    CancelTransfer,
    /// Set the guardian.
    SetGuardian {
        /// The new guardian.
        guardian: String,
    },
    /// Pause flows: buy, settle, report, claim or all (guardian or authority).
    Pause {
        /// Flows to pause.
        #[arg(required = true, value_delimiter = ',')]
        flows: Vec<String>,
    },
    /// Unpause flows (authority only).
    Unpause {
        /// Flows to unpause.
        #[arg(required = true, value_delimiter = ',')]
        flows: Vec<String>,
    },
}

/// The change to propose.
#[derive(Debug, Subcommand)]
pub enum ChangeCommand {
    /// Replace the schedule from the effective epoch on (TOML file with `[[schedule]]` segments).
    Schedule {
        /// The file.
        file: PathBuf,
    },
    /// New pool split (bps, summing to 10,000).
    PoolSplit {
        /// Usage share.
        #[arg(long)]
        usage_bps: u16,
        /// Contribution share.
        #[arg(long)]
        contribution_bps: u16,
        /// Treasury share.
        #[arg(long)]
        treasury_bps: u16,
    },
    /// New net re-mint cap (base units per epoch).
    RemintCap {
        /// The cap.
        cap: u64,
    },
    /// New credit price (micro-USD).
    CreditPrice {
        /// The price.
        micro_usd: u64,
    },
    /// A fixed token price.
    PriceFixed {
        /// Mantissa.
        #[arg(long)]
        price: u64,
        /// Exponent.
        #[arg(long, allow_hyphen_values = true)]
        expo: i32,
    },
    /// A pinned Pyth feed.
    PricePyth {
        /// Feed id (hex).
        #[arg(long)]
        feed_id: String,
        /// PriceUpdateV2 account.
        #[arg(long)]
        account: String,
        /// Max age in seconds.
        #[arg(long)]
        max_age_secs: u64,
        /// Max confidence in bps.
        #[arg(long)]
        max_conf_bps: u16,
    },
    /// New grace period (seconds).
    GracePeriod {
        /// Seconds.
        secs: u64,
    },
    /// New oracle set.
    OracleSet {
        /// Oracle keys, comma separated.
        #[arg(long, value_delimiter = ',')]
        keys: Vec<String>,
        /// Signatures a report needs.
        #[arg(long)]
        threshold: u8,
    },
    /// New mint rate limit.
    RateLimit {
        /// Window in seconds.
        #[arg(long)]
        window_secs: u64,
        /// Most base units per window.
        #[arg(long)]
        max_per_window: u64,
    },
    /// Lower supply cap (base units).
    SupplyCap {
        /// The cap.
        cap: u64,
    },
    /// Longer timelock (seconds).
    Timelock {
        /// Seconds.
        secs: u64,
    },
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ScheduleFile {
    schedule: Vec<SegmentConfig>,
}

fn change(command: ChangeCommand) -> Result<ParameterChange, ClientError> {
    Ok(match command {
        ChangeCommand::Schedule { file } => {
            let text = std::fs::read_to_string(&file).map_err(|e| ClientError::File {
                path: file.display().to_string(),
                message: e.to_string(),
            })?;
            let parsed: ScheduleFile = toml::from_str(&text).map_err(|e| ClientError::File {
                path: file.display().to_string(),
                message: bme_client::config::one_line(&e.to_string()),
            })?;
            ParameterChange::Schedule {
                segments: parsed.schedule.into_iter().map(Segment::from).collect(),
            }
        }
        ChangeCommand::PoolSplit {
            usage_bps,
            contribution_bps,
            treasury_bps,
        } => ParameterChange::PoolSplit {
            split: PoolSplit {
                usage_bps,
                contribution_bps,
                treasury_bps,
            },
        },
        ChangeCommand::RemintCap { cap } => ParameterChange::NetRemintCap { cap },
        ChangeCommand::CreditPrice { micro_usd } => ParameterChange::CreditPrice { micro_usd },
        ChangeCommand::PriceFixed { price, expo } => ParameterChange::PriceSource {
            source: PriceSource::Fixed { price, expo },
        },
        ChangeCommand::PricePyth {
            feed_id,
            account,
            max_age_secs,
            max_conf_bps,
        } => ParameterChange::PriceSource {
            source: PriceSource::Pyth {
                feed_id: parse_feed_id(&feed_id)?,
                account: address("--account", &account)?,
                max_age_secs,
                max_conf_bps,
            },
        },
        ChangeCommand::GracePeriod { secs } => ParameterChange::GracePeriod { secs },
        ChangeCommand::OracleSet { keys, threshold } => ParameterChange::OracleSet {
            oracles: keys
                .iter()
                .map(|k| address("--keys", k))
                .collect::<Result<_, _>>()?,
            threshold,
        },
        ChangeCommand::RateLimit {
            window_secs,
            max_per_window,
        } => ParameterChange::MintRateLimit {
            window_secs,
            max_per_window,
        },
        ChangeCommand::SupplyCap { cap } => ParameterChange::SupplyCap { cap },
        ChangeCommand::Timelock { secs } => ParameterChange::Timelock { secs },
    })
}

/// Runs a governance command.
pub async fn run(
    command: GovCommand,
    global: &GlobalOptions,
    chain: &mut Chain,
) -> Result<String, ClientError> {
    let (protocol_address, protocol) = chain.protocol(global).await?;
    let signer = chain.payer();
    let (instruction, done) = match command {
        GovCommand::Propose(c) => {
            let change = change(c)?;
            let text = format!(
                "proposed {change:?}; applicable after {} s",
                protocol.timelock_secs
            );
            (
                ix::propose_change(
                    signer,
                    signer,
                    protocol_address,
                    protocol.token_mint,
                    change,
                ),
                text,
            )
        }
        GovCommand::Apply => (
            ix::apply_change(protocol_address, protocol.token_mint),
            "applied the pending change".into(),
        ),
        GovCommand::Cancel => (
            ix::cancel_change(signer, protocol_address),
            "cancelled the pending change".into(),
        ),
        GovCommand::TransferAuthority { new_authority } => {
            let new_authority = address("new authority", &new_authority)?;
            (
                ix::transfer_authority(signer, protocol_address, new_authority),
                format!("proposed {new_authority} as authority; it must accept"),
            )
        }
        GovCommand::AcceptAuthority => (
            ix::accept_authority(signer, protocol_address),
            format!("{signer} is now the authority"),
        ),
        GovCommand::CancelTransfer => (
            ix::cancel_authority_transfer(signer, protocol_address),
            "authority transfer withdrawn".into(),
        ),
        GovCommand::SetGuardian { guardian } => {
            let guardian = address("guardian", &guardian)?;
            (
                ix::set_guardian(signer, protocol_address, guardian),
                format!("guardian set to {guardian}"),
            )
        }
        GovCommand::Pause { flows } => {
            let flags = parse_pause_flags(&flows)?;
            (
                ix::pause(signer, protocol_address, flags),
                format!("paused {}", flows.join(", ")),
            )
        }
        GovCommand::Unpause { flows } => {
            let flags = parse_pause_flags(&flows)?;
            (
                ix::unpause(signer, protocol_address, flags),
                format!("unpaused {}", flows.join(", ")),
            )
        }
    };
    chain.send(&[instruction], &[]).await?;
    if global.json {
        Ok(serde_json::json!({ "ok": true, "message": done }).to_string() + "\n")
    } else {
        Ok(done + "\n")
    }
}
