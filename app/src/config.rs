//! The genesis configuration file (`migrations/genesis.toml`): every parameter of
//! `initialize_protocol` in a commented TOML file, parsed strictly (unknown or
//! malformed fields are errors that name the field). The simulator reads the same
//! format.

use std::path::Path;
use std::str::FromStr;

use anchor_lang::prelude::Pubkey;
use bme::instructions::{InitializeProtocolArgs, TokenSetup};
use bme::math::schedule::Segment;
use bme::state::{PoolSplit, PriceSource};
use serde::{Deserialize, Serialize};

use crate::error::ClientError;

/// The whole genesis file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GenesisConfig {
    /// The network token.
    pub token: TokenConfig,
    /// Governance roles and bounds.
    pub governance: GovernanceConfig,
    /// The epoch clock.
    pub epochs: EpochConfig,
    /// Emission schedule segments, in start order.
    pub schedule: Vec<SegmentConfig>,
    /// Split of each epoch's emission, in bps.
    pub split: SplitConfig,
    /// Supply bounds.
    pub supply: SupplyConfig,
    /// Credit pricing.
    pub credits: CreditConfig,
    /// Token price source.
    pub price: PriceConfig,
    /// Initial oracle set.
    pub oracles: OracleConfig,
}

/// One emission schedule segment (see `bme::math::schedule::Segment`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SegmentConfig {
    /// First epoch of the segment.
    pub start_epoch: u64,
    /// Emission of its first epoch, base units.
    pub initial_emission: u64,
    /// Halve every this many epochs (0 = never).
    #[serde(default)]
    pub halving_interval: u64,
    /// Decay per epoch in bps (0 = none).
    #[serde(default)]
    pub decay_bps: u16,
    /// Emission never goes below this.
    #[serde(default)]
    pub floor: u64,
}

impl From<SegmentConfig> for Segment {
    fn from(s: SegmentConfig) -> Self {
        Segment {
            start_epoch: s.start_epoch,
            initial_emission: s.initial_emission,
            halving_interval: s.halving_interval,
            decay_bps: s.decay_bps,
            floor: s.floor,
        }
    }
}

/// How the network token is set up.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TokenConfig {
    /// `"new"` (the program creates the mint) or `"existing"` (hand over its authority).
    pub mode: String,
    /// `"spl-token"` or `"token-2022"`.
    pub program: String,
    /// Decimals of a new mint.
    #[serde(default)]
    pub decimals: Option<u8>,
    /// Address of an existing mint.
    #[serde(default)]
    pub mint: Option<String>,
    /// Supply already in circulation (used by the simulator; on chain it is read from the mint).
    #[serde(default)]
    pub initial_supply: u64,
    /// Treasury token account; defaults to the authority's associated token account.
    #[serde(default)]
    pub treasury: Option<String>,
}

/// Governance roles and bounds.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GovernanceConfig {
    /// Governance authority; defaults to the signing keypair.
    #[serde(default)]
    pub authority: Option<String>,
    /// Guardian; defaults to the authority.
    #[serde(default)]
    pub guardian: Option<String>,
    /// Timelock of parameter changes, in seconds.
    pub timelock_secs: u64,
    /// Largest emission change per proposal, in bps.
    pub max_emission_change_bps: u16,
}

/// The epoch clock.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EpochConfig {
    /// Unix time of epoch 0; `0` means "now" at `bme init`.
    #[serde(default)]
    pub genesis_time: i64,
    /// Epoch length in seconds.
    pub length_secs: u64,
    /// Grace period after an epoch's end, in seconds.
    pub grace_period_secs: u64,
}

/// Pool split in bps.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SplitConfig {
    /// Usage pool share.
    pub usage_bps: u16,
    /// Contribution pool share.
    pub contribution_bps: u16,
    /// Treasury share.
    pub treasury_bps: u16,
}

/// Supply bounds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SupplyConfig {
    /// Maximum total supply, base units.
    pub cap: u64,
    /// Most burned tokens re-minted per epoch, base units.
    pub net_remint_cap: u64,
    /// Mint rate-limit window, seconds.
    pub rate_limit_window_secs: u64,
    /// Most base units mintable per window.
    pub rate_limit_max_per_window: u64,
}

/// Credit pricing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CreditConfig {
    /// Price of one credit in micro-USD.
    pub price_micro_usd: u64,
}

/// The token's USD price source.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, tag = "source", rename_all = "lowercase")]
pub enum PriceConfig {
    /// A pinned Pyth `PriceUpdateV2` account.
    Pyth {
        /// Feed id, 64 hex characters (optional `0x`).
        feed_id: String,
        /// The price account address.
        account: String,
        /// Oldest accepted publish time, seconds.
        max_age_secs: u64,
        /// Widest accepted confidence, bps.
        max_conf_bps: u16,
    },
    /// A governance-set price: `price × 10^expo` USD per whole token.
    Fixed {
        /// Mantissa.
        price: u64,
        /// Exponent.
        expo: i32,
    },
}

/// Initial oracle set.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OracleConfig {
    /// Oracle public keys.
    #[serde(default)]
    pub keys: Vec<String>,
    /// Signatures a report needs.
    pub threshold: u8,
}

/// Parses a base58 address, naming the field on error.
pub fn parse_pubkey(field: &str, value: &str) -> Result<Pubkey, ClientError> {
    Pubkey::from_str(value)
        .map_err(|_| ClientError::Input(format!("{field}: `{value}` is not a base58 address")))
}

/// Parses a 32-byte hex feed id.
pub fn parse_feed_id(value: &str) -> Result<[u8; 32], ClientError> {
    let hex = value.trim_start_matches("0x");
    if hex.len() != 64 || !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(ClientError::Input(format!(
            "price.feed_id: `{value}` is not 64 hex characters"
        )));
    }
    let mut out = [0u8; 32];
    for (i, byte) in out.iter_mut().enumerate() {
        *byte = u8::from_str_radix(&hex[2 * i..2 * i + 2], 16)
            .map_err(|_| ClientError::Input(format!("price.feed_id: `{value}` is not hex")))?;
    }
    Ok(out)
}

impl GenesisConfig {
    /// Reads and parses a genesis file.
    pub fn load(path: &Path) -> Result<Self, ClientError> {
        let text = std::fs::read_to_string(path).map_err(|e| ClientError::File {
            path: path.display().to_string(),
            message: e.to_string(),
        })?;
        Self::parse(&text).map_err(|e| match e {
            ClientError::Input(message) => ClientError::File {
                path: path.display().to_string(),
                message,
            },
            other => other,
        })
    }

    /// Parses genesis TOML text.
    pub fn parse(text: &str) -> Result<Self, ClientError> {
        toml::from_str(text).map_err(|e| ClientError::Input(one_line(&e.to_string())))
    }

    /// The schedule as program segments.
    pub fn segments(&self) -> Vec<Segment> {
        self.schedule.iter().copied().map(Segment::from).collect()
    }

    /// The token program named by `token.program`.
    pub fn token_program(&self) -> Result<Pubkey, ClientError> {
        match self.token.program.as_str() {
            "spl-token" => Ok(anchor_spl::token::ID),
            "token-2022" => Ok(anchor_spl::token_2022::ID),
            other => Err(ClientError::Input(format!(
                "token.program: `{other}` is neither `spl-token` nor `token-2022`"
            ))),
        }
    }

    /// The price source.
    pub fn price_source(&self) -> Result<PriceSource, ClientError> {
        Ok(match &self.price {
            PriceConfig::Pyth {
                feed_id,
                account,
                max_age_secs,
                max_conf_bps,
            } => PriceSource::Pyth {
                feed_id: parse_feed_id(feed_id)?,
                account: parse_pubkey("price.account", account)?,
                max_age_secs: *max_age_secs,
                max_conf_bps: *max_conf_bps,
            },
            PriceConfig::Fixed { price, expo } => PriceSource::Fixed {
                price: *price,
                expo: *expo,
            },
        })
    }

    /// The `initialize_protocol` arguments, with `signer` as the default authority and
    /// `now` as the default genesis time.
    pub fn to_args(
        &self,
        signer: &Pubkey,
        now: i64,
    ) -> Result<InitializeProtocolArgs, ClientError> {
        let token = match self.token.mode.as_str() {
            "new" => TokenSetup::NewMint {
                decimals: self.token.decimals.ok_or_else(|| {
                    ClientError::Input("token.decimals: required when token.mode = \"new\"".into())
                })?,
            },
            "existing" => TokenSetup::ExistingMint,
            other => {
                return Err(ClientError::Input(format!(
                    "token.mode: `{other}` is neither `new` nor `existing`"
                )))
            }
        };
        let authority = match &self.governance.authority {
            Some(a) => parse_pubkey("governance.authority", a)?,
            None => *signer,
        };
        let guardian = match &self.governance.guardian {
            Some(g) => parse_pubkey("governance.guardian", g)?,
            None => authority,
        };
        let oracles = self
            .oracles
            .keys
            .iter()
            .map(|k| parse_pubkey("oracles.keys", k))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(InitializeProtocolArgs {
            token,
            authority,
            guardian,
            genesis_time: if self.epochs.genesis_time == 0 {
                now
            } else {
                self.epochs.genesis_time
            },
            epoch_length_secs: self.epochs.length_secs,
            grace_period_secs: self.epochs.grace_period_secs,
            schedule: self.segments(),
            split: PoolSplit {
                usage_bps: self.split.usage_bps,
                contribution_bps: self.split.contribution_bps,
                treasury_bps: self.split.treasury_bps,
            },
            net_remint_cap: self.supply.net_remint_cap,
            supply_cap: self.supply.cap,
            credit_price_micro_usd: self.credits.price_micro_usd,
            price_source: self.price_source()?,
            rate_limit_window_secs: self.supply.rate_limit_window_secs,
            rate_limit_max_per_window: self.supply.rate_limit_max_per_window,
            max_emission_change_bps: self.governance.max_emission_change_bps,
            timelock_secs: self.governance.timelock_secs,
            oracles,
            oracle_threshold: self.oracles.threshold,
        })
    }
}

/// Collapses a multi-line parser message into one line.
pub fn one_line(message: &str) -> String {
    message
        .lines()
        .map(str::trim)
        .filter(|l| {
            !l.is_empty() && !l.starts_with('|') && !l.chars().all(|c| c == '^' || c == ' ')
        })
        .collect::<Vec<_>>()
        .join(" ")
}
