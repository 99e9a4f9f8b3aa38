//! Governance state: parameter changes, the proposal waiting out its timelock, and
//! the change staged for the next epoch boundary.
//!
//! # Rules
//!
//! - One proposal at a time ([`PendingChange`]); it must be applied or cancelled
//!   before the next is proposed. One change per proposal keeps every bound simple.
//! - `apply_change` makes a change effective from the epoch after the one in which it
//!   is applied (the *effective epoch*):
//!   - changes that could alter an epoch already started (pool split, re-mint cap,
//!     credit price, price source, grace period, oracle set, mint rate limit) are
//!     *staged*: [`Protocol::params_at`] returns them only for epochs at or after the
//!     effective epoch, and they are folded into the protocol once every earlier epoch
//!     has closed. One change is staged at a time;
//!   - the emission schedule is written at once, because only segments starting at or
//!     after the effective epoch may differ from the schedule in force;
//!   - the timelock (which only grows) and the supply cap (which only shrinks) move in
//!     the safe direction only, so they are written at once.
//! - Every bound is checked when the change is proposed and again when it is applied.

use anchor_lang::prelude::*;

use crate::constants::MAX_ORACLES;
use crate::error::BmeError;
use crate::math::schedule::{self, Segment};
use crate::math::{rewards, BPS_DENOMINATOR, MAX_SEGMENTS};
use crate::state::{validate_price_source, OracleSet, PoolSplit, PriceSource, Protocol};

/// One governance change.
#[derive(AnchorSerialize, AnchorDeserialize, InitSpace, Clone, Debug, PartialEq, Eq)]
pub enum ParameterChange {
    /// Replace the schedule from the effective epoch on (earlier segments unchanged).
    Schedule {
        /// The whole new schedule.
        #[max_len(MAX_SEGMENTS)]
        segments: Vec<Segment>,
    },
    /// New pool split.
    PoolSplit {
        /// The split.
        split: PoolSplit,
    },
    /// New net re-mint cap.
    NetRemintCap {
        /// Base units per epoch.
        cap: u64,
    },
    /// New credit price.
    CreditPrice {
        /// Micro-USD per credit.
        micro_usd: u64,
    },
    /// New price source (feed, account, max age, max confidence, or fixed price).
    PriceSource {
        /// The source.
        source: PriceSource,
    },
    /// New grace period.
    GracePeriod {
        /// Seconds.
        secs: u64,
    },
    /// New oracle set and threshold.
    OracleSet {
        /// Oracle keys.
        #[max_len(MAX_ORACLES)]
        oracles: Vec<Pubkey>,
        /// Signatures a report needs.
        threshold: u8,
    },
    /// New mint rate limit.
    MintRateLimit {
        /// Window length in seconds.
        window_secs: u64,
        /// Most base units per window.
        max_per_window: u64,
    },
    /// Lower supply cap.
    SupplyCap {
        /// New cap (≤ the current cap, ≥ supply plus outstanding rewards).
        cap: u64,
    },
    /// Longer timelock.
    Timelock {
        /// Seconds (≥ the current timelock).
        secs: u64,
    },
}

impl ParameterChange {
    /// Whether the change is staged until the effective epoch (see the module docs).
    pub fn is_staged(&self) -> bool {
        !matches!(
            self,
            ParameterChange::Schedule { .. }
                | ParameterChange::SupplyCap { .. }
                | ParameterChange::Timelock { .. }
        )
    }
}

/// A staged change and the first epoch it governs.
#[derive(AnchorSerialize, AnchorDeserialize, InitSpace, Clone, Debug, PartialEq, Eq)]
pub struct StagedChange {
    /// First epoch governed by the change.
    pub from_epoch: u64,
    /// The change.
    pub change: ParameterChange,
}

/// The parameters governing one epoch (the protocol's values, or a staged change's
/// when the epoch is at or after its effective epoch).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct EpochParams {
    /// Pool split.
    pub split: PoolSplit,
    /// Net re-mint cap.
    pub net_remint_cap: u64,
    /// Credit price in micro-USD.
    pub credit_price_micro_usd: u64,
    /// Price source.
    pub price_source: PriceSource,
    /// Grace period in seconds.
    pub grace_period_secs: u64,
    /// Mint rate-limit window.
    pub rate_window_secs: u64,
    /// Mint rate-limit budget per window.
    pub rate_max_per_window: u64,
}

/// The proposal waiting out its timelock. PDA: `[PendingChange::SEED, protocol]`.
#[account(discriminator = 7)]
#[derive(InitSpace, Debug)]
pub struct PendingChange {
    /// The protocol.
    pub protocol: Pubkey,
    /// Bump of this PDA.
    pub bump: u8,
    /// Whether a proposal is waiting (false once applied or cancelled).
    pub active: bool,
    /// Sequence number of the proposal (counts every proposal ever made).
    pub sequence: u64,
    /// Unix time of the proposal.
    pub proposed_at: i64,
    /// Earliest unix time `apply_change` succeeds.
    pub earliest_apply: i64,
    /// The change.
    pub change: ParameterChange,
}

impl PendingChange {
    /// PDA seed prefix.
    pub const SEED: &'static [u8] = b"pending_change";
    /// Account size including the discriminator.
    pub const SIZE: usize = 1 + Self::INIT_SPACE;
}

impl Protocol {
    /// Parameters in force for `epoch`.
    pub fn params_at(&self, epoch: u64) -> EpochParams {
        let mut params = EpochParams {
            split: self.split,
            net_remint_cap: self.net_remint_cap,
            credit_price_micro_usd: self.credit_price_micro_usd,
            price_source: self.price_source,
            grace_period_secs: self.grace_period_secs,
            rate_window_secs: self.mint_rate_limit.window_secs,
            rate_max_per_window: self.mint_rate_limit.max_per_window,
        };
        if let Some(staged) = &self.staged {
            if epoch >= staged.from_epoch {
                match &staged.change {
                    ParameterChange::PoolSplit { split } => params.split = *split,
                    ParameterChange::NetRemintCap { cap } => params.net_remint_cap = *cap,
                    ParameterChange::CreditPrice { micro_usd } => {
                        params.credit_price_micro_usd = *micro_usd
                    }
                    ParameterChange::PriceSource { source } => params.price_source = *source,
                    ParameterChange::GracePeriod { secs } => params.grace_period_secs = *secs,
                    ParameterChange::MintRateLimit {
                        window_secs,
                        max_per_window,
                    } => {
                        params.rate_window_secs = *window_secs;
                        params.rate_max_per_window = *max_per_window;
                    }
                    ParameterChange::Schedule { .. }
                    | ParameterChange::OracleSet { .. }
                    | ParameterChange::SupplyCap { .. }
                    | ParameterChange::Timelock { .. } => {}
                }
            }
        }
        params
    }

    /// The oracle keys and threshold that attest `epoch`.
    pub fn oracles_at<'a>(&'a self, oracle_set: &'a OracleSet, epoch: u64) -> (&'a [Pubkey], u8) {
        if let Some(StagedChange {
            from_epoch,
            change: ParameterChange::OracleSet { oracles, threshold },
        }) = &self.staged
        {
            if epoch >= *from_epoch {
                return (oracles, *threshold);
            }
        }
        (&oracle_set.oracles, oracle_set.threshold)
    }

    /// Folds the staged change into the protocol (and the oracle set, when given) once
    /// every epoch before its effective epoch has closed. Returns whether it folded.
    pub fn fold_staged(&mut self, oracle_set: Option<&mut OracleSet>) -> bool {
        let Some(staged) = &self.staged else {
            return false;
        };
        if staged.from_epoch > self.next_epoch_to_close {
            return false;
        }
        match staged.change.clone() {
            ParameterChange::PoolSplit { split } => self.split = split,
            ParameterChange::NetRemintCap { cap } => self.net_remint_cap = cap,
            ParameterChange::CreditPrice { micro_usd } => self.credit_price_micro_usd = micro_usd,
            ParameterChange::PriceSource { source } => self.price_source = source,
            ParameterChange::GracePeriod { secs } => self.grace_period_secs = secs,
            ParameterChange::MintRateLimit {
                window_secs,
                max_per_window,
            } => {
                self.mint_rate_limit.window_secs = window_secs;
                self.mint_rate_limit.max_per_window = max_per_window;
            }
            ParameterChange::OracleSet { oracles, threshold } => match oracle_set {
                Some(set) => {
                    set.oracles = oracles;
                    set.threshold = threshold;
                }
                None => return false,
            },
            ParameterChange::Schedule { .. }
            | ParameterChange::SupplyCap { .. }
            | ParameterChange::Timelock { .. } => {}
        }
        self.staged = None;
        true
    }

    /// Checks a change against every bound, as if it took effect at `effective_epoch`
    /// with `committed` tokens already minted or owed (supply + outstanding rewards).
    // Estimated at 5.5 KB by clippy (every local summed), compiled to a frame of about
    // 400 bytes: see instructions/mod.rs.
    #[allow(clippy::large_stack_frames)]
    pub fn validate_change(
        &self,
        change: &ParameterChange,
        effective_epoch: u64,
        committed: u64,
    ) -> Result<()> {
        let largest_mint = |schedule: &[Segment], remint_cap: u64| -> Result<u64> {
            schedule::max_emission(schedule)
                .checked_add(remint_cap)
                .and_then(|m| m.checked_mul(2))
                .ok_or_else(|| BmeError::MathOverflow.into())
        };
        let params = self.params_at(effective_epoch);
        match change {
            ParameterChange::Schedule { segments } => {
                schedule::validate_schedule(segments)?;
                self.check_schedule_change(segments, effective_epoch)?;
                require!(
                    params.rate_max_per_window >= largest_mint(segments, params.net_remint_cap)?,
                    BmeError::RateLimitTooLow
                );
            }
            ParameterChange::PoolSplit { split } => rewards::validate_split(
                split.usage_bps,
                split.contribution_bps,
                split.treasury_bps,
            )?,
            ParameterChange::NetRemintCap { cap } => require!(
                params.rate_max_per_window >= largest_mint(&self.schedule, *cap)?,
                BmeError::RateLimitTooLow
            ),
            ParameterChange::CreditPrice { micro_usd } => {
                require!(*micro_usd > 0, BmeError::ZeroCreditPrice)
            }
            ParameterChange::PriceSource { source } => validate_price_source(source)?,
            ParameterChange::GracePeriod { secs } => {
                require!(*secs < self.epoch_length_secs, BmeError::GracePeriodTooLong)
            }
            ParameterChange::OracleSet { oracles, threshold } => {
                OracleSet::validate(oracles, *threshold)?
            }
            ParameterChange::MintRateLimit {
                window_secs,
                max_per_window,
            } => {
                require!(*window_secs > 0, BmeError::ZeroRateLimitWindow);
                require!(
                    *max_per_window >= largest_mint(&self.schedule, params.net_remint_cap)?,
                    BmeError::RateLimitTooLow
                );
            }
            ParameterChange::SupplyCap { cap } => {
                require!(*cap <= self.supply_cap, BmeError::SupplyCapIncrease);
                require!(*cap >= committed, BmeError::SupplyCapBelowSupply);
            }
            ParameterChange::Timelock { secs } => {
                require!(*secs >= self.timelock_secs, BmeError::TimelockDecrease)
            }
        }
        Ok(())
    }

    /// A new schedule may only differ from the one in force in segments starting at or
    /// after `effective_epoch`, and where it can jump — at the effective epoch and at
    /// each new segment start — its emission stays within `max_emission_change_bps` of
    /// the schedule in force.
    fn check_schedule_change(&self, new: &[Segment], effective_epoch: u64) -> Result<()> {
        let old_before = self
            .schedule
            .iter()
            .filter(|s| s.start_epoch < effective_epoch);
        let new_before = new.iter().filter(|s| s.start_epoch < effective_epoch);
        require!(old_before.eq(new_before), BmeError::ChangeRetroactive);
        let mut checkpoints: Vec<u64> = vec![effective_epoch];
        checkpoints.extend(
            new.iter()
                .map(|s| s.start_epoch)
                .filter(|start| *start > effective_epoch),
        );
        for epoch in checkpoints {
            let old = u128::from(schedule::emission(&self.schedule, epoch)?);
            let proposed = u128::from(schedule::emission(new, epoch)?);
            let allowed = old
                .checked_mul(u128::from(self.max_emission_change_bps))
                .ok_or(BmeError::MathOverflow)?
                .checked_div(u128::from(BPS_DENOMINATOR))
                .ok_or(BmeError::MathOverflow)?;
            require!(
                proposed.abs_diff(old) <= allowed,
                BmeError::EmissionChangeTooLarge
            );
        }
        Ok(())
    }
}
