//! The `Protocol` account: one per network token, holding every parameter of the
//! burn-and-mint economy, its clock and its running totals.

// clippy's `large_stack_frames` estimate adds up every local of a function with no
// slot reuse, which puts the `#[account]`-derived (de)serialization of this 728-byte
// account near 5 KB; compiled, its frames are under 1 KiB (x86_64 release), which
// `.ci/run` measures with objdump against SBF's 4 KiB. The lint stays denied elsewhere.
#![allow(clippy::large_stack_frames)]

use anchor_lang::prelude::*;

use crate::constants::*;
use crate::error::BmeError;
use crate::math::schedule::{self, Segment};
use crate::math::{rewards, MAX_SEGMENTS};
use crate::state::StagedChange;

/// Where the token's USD price comes from.
#[derive(AnchorSerialize, AnchorDeserialize, InitSpace, Clone, Copy, Debug, PartialEq, Eq)]
pub enum PriceSource {
    /// A Pyth `PriceUpdateV2` account, pinned by address and feed id.
    Pyth {
        /// The Pyth feed id (32 bytes).
        feed_id: [u8; 32],
        /// The pinned `PriceUpdateV2` account.
        account: Pubkey,
        /// Oldest accepted `publish_time`, in seconds before now.
        max_age_secs: u64,
        /// Widest accepted confidence interval, in bps of the price.
        max_conf_bps: u16,
    },
    /// A governance-set price: `price × 10^expo` USD per whole token.
    Fixed {
        /// Price mantissa (USD per whole token, scaled by `10^expo`).
        price: u64,
        /// Price exponent (usually negative).
        expo: i32,
    },
}

/// How an epoch's emission is split, in bps summing to 10,000.
#[derive(
    AnchorSerialize, AnchorDeserialize, InitSpace, Clone, Copy, Debug, PartialEq, Eq, Default,
)]
pub struct PoolSplit {
    /// Share paid to providers pro rata to customer-settled usage.
    pub usage_bps: u16,
    /// Share paid to providers pro rata to oracle-attested contribution.
    pub contribution_bps: u16,
    /// Share minted to the treasury at close (also receives rounding dust).
    pub treasury_bps: u16,
}

/// A circuit breaker on how much the program may mint per time window.
#[derive(
    AnchorSerialize, AnchorDeserialize, InitSpace, Clone, Copy, Debug, PartialEq, Eq, Default,
)]
pub struct MintRateLimit {
    /// Window length in seconds.
    pub window_secs: u64,
    /// Most base units mintable within one window.
    pub max_per_window: u64,
    /// Unix time at which the current window started.
    pub window_start: i64,
    /// Base units minted in the current window.
    pub minted_in_window: u64,
}

impl MintRateLimit {
    /// Records a mint of `amount` at `now` under the limit in force (`window_secs`,
    /// `max_per_window`), opening a new window if the current one has elapsed; fails
    /// with `MintRateLimitExceeded` (changing nothing) if the window's budget is spent.
    pub fn record(
        &mut self,
        amount: u64,
        now: i64,
        window_secs: u64,
        max_per_window: u64,
    ) -> Result<()> {
        let window_end = self
            .window_start
            .checked_add(i64::try_from(window_secs).map_err(|_| BmeError::MathOverflow)?)
            .ok_or(BmeError::MathOverflow)?;
        if now >= window_end {
            self.window_start = now;
            self.minted_in_window = 0;
        }
        let minted = self
            .minted_in_window
            .checked_add(amount)
            .ok_or(BmeError::MathOverflow)?;
        require!(minted <= max_per_window, BmeError::MintRateLimitExceeded);
        self.minted_in_window = minted;
        Ok(())
    }
}

/// Running totals of the protocol since genesis.
#[derive(
    AnchorSerialize, AnchorDeserialize, InitSpace, Clone, Copy, Debug, PartialEq, Eq, Default,
)]
pub struct ProtocolTotals {
    /// Network tokens burned to buy credits.
    pub tokens_burned: u64,
    /// Credits minted to buyers.
    pub credits_minted: u64,
    /// Credits burned by settled usage.
    pub credits_burned: u64,
    /// Network tokens minted by the program (treasury shares and claims).
    pub tokens_minted: u64,
    /// Reward pools allocated at close but not yet claimed (a liability counted
    /// against the supply cap; includes unclaimable rounding dust).
    pub rewards_outstanding: u64,
    /// Emission that was not minted because its pool had no work units, or was
    /// clamped by the supply cap.
    pub not_emitted: u64,
    /// Providers registered.
    pub providers: u64,
}

/// One network's burn-and-mint protocol. PDA: `[Protocol::SEED, token_mint]`.
/// It is also the mint authority of the network token and of the credit mint, and
/// the permanent delegate of the credit mint.
#[account(discriminator = 1)]
#[derive(InitSpace, Debug)]
pub struct Protocol {
    /// Layout version ([`STATE_VERSION`]).
    pub version: u8,
    /// Bump of this PDA.
    pub bump: u8,
    /// Bump of the credit-mint PDA.
    pub credit_mint_bump: u8,
    /// Program-wide id of this protocol (from the [`crate::state::Registry`]); providers
    /// store it to bind themselves to this protocol in four bytes.
    pub id: u32,
    /// Decimals of the network token.
    pub token_decimals: u8,
    /// Flows paused by the guardian (bit set of `PAUSE_*`).
    pub paused: u8,
    /// The network token (SPL Token or Token-2022) minted as rewards.
    pub token_mint: Pubkey,
    /// The token program that owns `token_mint`.
    pub token_program: Pubkey,
    /// The non-transferable Token-2022 credit mint.
    pub credit_mint: Pubkey,
    /// Token account of the network token that receives the treasury share.
    pub treasury: Pubkey,
    /// Governance: proposes parameter changes and unpauses.
    pub authority: Pubkey,
    /// Proposed next authority (`Pubkey::default()` when none).
    pub pending_authority: Pubkey,
    /// May pause flows; cannot mint or change parameters.
    pub guardian: Pubkey,
    /// Unix time at which epoch 0 starts.
    pub genesis_time: i64,
    /// Epoch length in seconds.
    pub epoch_length_secs: u64,
    /// Seconds after an epoch's end during which reports may still land before it can close.
    pub grace_period_secs: u64,
    /// Emission schedule segments, sorted by start epoch.
    #[max_len(MAX_SEGMENTS)]
    pub schedule: Vec<Segment>,
    /// Split of each epoch's emission.
    pub split: PoolSplit,
    /// Most tokens burned for credits in an epoch that are re-minted on top of the schedule.
    pub net_remint_cap: u64,
    /// Total supply of the network token never exceeds this.
    pub supply_cap: u64,
    /// Price of one credit in micro-USD.
    pub credit_price_micro_usd: u64,
    /// Where the token price comes from.
    pub price_source: PriceSource,
    /// Mint circuit breaker.
    pub mint_rate_limit: MintRateLimit,
    /// Largest change, in bps, a governance proposal may make to any future epoch's emission.
    pub max_emission_change_bps: u16,
    /// Seconds a governance proposal waits before it can be applied.
    pub timelock_secs: u64,
    /// The oldest epoch not yet closed.
    pub next_epoch_to_close: u64,
    /// Scheduled (pre-re-mint, pre-clamp) emission of the last closed epoch, so the
    /// next close computes a decay step in O(1).
    pub last_scheduled_emission: u64,
    /// A governance change waiting for its effective epoch (see [`crate::state::governance`]).
    pub staged: Option<StagedChange>,
    /// Running totals.
    pub totals: ProtocolTotals,
    /// Space for future fields.
    pub reserved: [u8; PROTOCOL_RESERVED],
}

impl Protocol {
    /// PDA seed prefix.
    pub const SEED: &'static [u8] = b"protocol";
    /// Credit-mint PDA seed prefix: `[CREDIT_MINT_SEED, protocol]`.
    pub const CREDIT_MINT_SEED: &'static [u8] = b"credit_mint";
    /// Account size including the discriminator.
    pub const SIZE: usize = 1 + Self::INIT_SPACE;

    /// The epoch containing unix time `now`.
    pub fn epoch_at(&self, now: i64) -> Result<u64> {
        require!(now >= self.genesis_time, BmeError::BeforeGenesis);
        let elapsed = u64::try_from(
            now.checked_sub(self.genesis_time)
                .ok_or(BmeError::MathOverflow)?,
        )
        .map_err(|_| BmeError::MathOverflow)?;
        elapsed
            .checked_div(self.epoch_length_secs)
            .ok_or_else(|| BmeError::ZeroEpochLength.into())
    }

    /// Unix time at which `epoch` ends.
    pub fn epoch_end(&self, epoch: u64) -> Result<i64> {
        let length = epoch
            .checked_add(1)
            .and_then(|n| n.checked_mul(self.epoch_length_secs))
            .ok_or(BmeError::MathOverflow)?;
        self.genesis_time
            .checked_add(i64::try_from(length).map_err(|_| BmeError::MathOverflow)?)
            .ok_or_else(|| BmeError::MathOverflow.into())
    }

    /// Fails with `Paused` if any of `flags` is paused.
    pub fn require_not_paused(&self, flags: u8) -> Result<()> {
        require!(self.paused & flags == 0, BmeError::Paused);
        Ok(())
    }

    /// Signer seeds of this PDA (it signs mints, burns and credit CPIs).
    pub fn signer_seeds(&self) -> [&[u8]; 3] {
        [
            Self::SEED,
            self.token_mint.as_ref(),
            std::slice::from_ref(&self.bump),
        ]
    }

    /// Checks every parameter against its bound; called at genesis and after every change.
    pub fn invariant(&self) -> Result<()> {
        require!(self.epoch_length_secs > 0, BmeError::ZeroEpochLength);
        require!(
            self.grace_period_secs < self.epoch_length_secs,
            BmeError::GracePeriodTooLong
        );
        schedule::validate_schedule(&self.schedule)?;
        rewards::validate_split(
            self.split.usage_bps,
            self.split.contribution_bps,
            self.split.treasury_bps,
        )?;
        require!(self.credit_price_micro_usd > 0, BmeError::ZeroCreditPrice);
        validate_price_source(&self.price_source)?;
        require!(
            self.mint_rate_limit.window_secs > 0,
            BmeError::ZeroRateLimitWindow
        );
        let largest_epoch_mint = schedule::max_emission(&self.schedule)
            .checked_add(self.net_remint_cap)
            .and_then(|m| m.checked_mul(2))
            .ok_or(BmeError::MathOverflow)?;
        require!(
            self.mint_rate_limit.max_per_window >= largest_epoch_mint,
            BmeError::RateLimitTooLow
        );
        require!(
            self.max_emission_change_bps > 0 && u64::from(self.max_emission_change_bps) <= 10_000,
            BmeError::InvalidEmissionChangeBound
        );
        require!(self.paused & !PAUSE_ALL == 0, BmeError::Paused);
        Ok(())
    }
}

/// Validates a price source's bounds.
pub fn validate_price_source(source: &PriceSource) -> Result<()> {
    match *source {
        PriceSource::Pyth {
            max_age_secs,
            max_conf_bps,
            ..
        } => {
            require!(
                max_age_secs > 0 && max_age_secs <= MAX_PRICE_AGE_LIMIT,
                BmeError::InvalidPriceMaxAge
            );
            require!(
                max_conf_bps > 0 && u64::from(max_conf_bps) <= 10_000,
                BmeError::InvalidPriceMaxConfidence
            );
        }
        PriceSource::Fixed { price, expo } => {
            require!(price > 0, BmeError::ZeroFixedPrice);
            require!(
                (-18..=18).contains(&expo),
                BmeError::PriceExponentOutOfRange
            );
        }
    }
    Ok(())
}
