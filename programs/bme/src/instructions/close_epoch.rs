//! `close_epoch`: decide an ended epoch's emission, split it, mint the treasury share.

use anchor_lang::prelude::*;
use anchor_spl::token_interface::{self, Mint, MintTo, TokenAccount, TokenInterface};

use crate::error::BmeError;
use crate::events::EpochClosed;
use crate::math::{rewards, schedule};
use crate::state::*;
use crate::utils::store;

/// Arguments of `close_epoch`.
#[derive(AnchorSerialize, AnchorDeserialize, Clone, Copy, Debug, PartialEq, Eq)]
pub struct CloseEpochArgs {
    /// The epoch to close: must be the protocol's `next_epoch_to_close`.
    pub epoch: u64,
}

/// Accounts of `close_epoch`. Permissionless.
#[event_cpi]
#[derive(Accounts)]
#[instruction(args: CloseEpochArgs)]
pub struct CloseEpoch<'info> {
    /// Pays for the epoch account if no activity created it.
    #[account(mut)]
    pub payer: Signer<'info>,
    /// The protocol.
    #[account(
        mut,
        seeds = [Protocol::SEED, protocol.token_mint.as_ref()],
        bump = protocol.bump,
        has_one = token_mint,
        has_one = treasury @ BmeError::InvalidTreasury,
    )]
    pub protocol: Box<Account<'info, Protocol>>,
    /// The epoch being closed.
    /// CHECK: the seeds check the address; `Epoch::load_or_create` reads or creates it.
    #[account(
        mut,
        seeds = [Epoch::SEED, protocol.key().as_ref(), &args.epoch.to_le_bytes()],
        bump,
    )]
    pub epoch: UncheckedAccount<'info>,
    /// The network token.
    #[account(mut)]
    pub token_mint: Box<InterfaceAccount<'info, Mint>>,
    /// The treasury's token account.
    #[account(mut, token::mint = token_mint, token::token_program = token_program)]
    pub treasury: Box<InterfaceAccount<'info, TokenAccount>>,
    /// The network token's program.
    #[account(address = protocol.token_program)]
    pub token_program: Interface<'info, TokenInterface>,
    /// System program.
    pub system_program: Program<'info, System>,
}

/// What an epoch's close decided.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct EpochOutcome {
    /// Emission from the schedule.
    pub scheduled: u64,
    /// Capped re-mint.
    pub remint: u64,
    /// scheduled + remint.
    pub emission: u64,
    /// Usage pool (0 when the epoch had no usage units).
    pub usage_pool: u64,
    /// Contribution pool (0 when the epoch had no contribution units).
    pub contribution_pool: u64,
    /// Treasury share, minted at close.
    pub treasury: u64,
    /// Not minted: pools without units plus the supply-cap clamp.
    pub not_emitted: u64,
}

/// Pure close arithmetic: `headroom` is how much more may ever be minted under the
/// supply cap (cap − supply − rewards outstanding).
pub fn epoch_outcome(
    scheduled: u64,
    tokens_burned: u64,
    net_remint_cap: u64,
    headroom: u64,
    split: &PoolSplit,
    usage_units: u64,
    contribution_units: u64,
) -> Result<EpochOutcome> {
    let remint = tokens_burned.min(net_remint_cap);
    let emission = scheduled
        .checked_add(remint)
        .ok_or(BmeError::MathOverflow)?;
    let emitted = emission.min(headroom);
    let clamped = emission
        .checked_sub(emitted)
        .ok_or(BmeError::MathOverflow)?;
    let parts = rewards::split_emission(
        emitted,
        split.usage_bps,
        split.contribution_bps,
        split.treasury_bps,
    )?;
    let (usage_pool, usage_unminted) = if usage_units > 0 {
        (parts.usage, 0)
    } else {
        (0, parts.usage)
    };
    let (contribution_pool, contribution_unminted) = if contribution_units > 0 {
        (parts.contribution, 0)
    } else {
        (0, parts.contribution)
    };
    let not_emitted = clamped
        .checked_add(usage_unminted)
        .and_then(|n| n.checked_add(contribution_unminted))
        .ok_or(BmeError::MathOverflow)?;
    Ok(EpochOutcome {
        scheduled,
        remint,
        emission,
        usage_pool,
        contribution_pool,
        treasury: parts.treasury,
        not_emitted,
    })
}

/// Closes the oldest unclosed epoch once its end plus the grace period has passed.
pub fn handler(ctx: Context<CloseEpoch>, args: CloseEpochArgs) -> Result<()> {
    let now = Clock::get()?.unix_timestamp;
    let protocol_key = ctx.accounts.protocol.key();
    let mut epoch = Epoch::load_or_create(
        &ctx.accounts.epoch,
        &ctx.accounts.payer,
        &ctx.accounts.system_program,
        protocol_key,
        args.epoch,
        ctx.bumps.epoch,
    )?;
    require!(!epoch.closed, BmeError::EpochClosed);
    let protocol = &ctx.accounts.protocol;
    require!(
        args.epoch == protocol.next_epoch_to_close,
        BmeError::EpochNotNext
    );
    let params = protocol.params_at(args.epoch);
    let closable_at = protocol
        .epoch_end(args.epoch)?
        .checked_add(i64::try_from(params.grace_period_secs).map_err(|_| BmeError::MathOverflow)?)
        .ok_or(BmeError::MathOverflow)?;
    require!(now >= closable_at, BmeError::EpochNotEnded);

    // Epochs close strictly in order, so the previous epoch's scheduled value is the
    // one stored at the last close: a decay step is O(1).
    let scheduled = if args.epoch == 0 {
        schedule::emission(&protocol.schedule, 0)?
    } else {
        schedule::emission_after(
            &protocol.schedule,
            args.epoch,
            protocol.last_scheduled_emission,
        )?
    };
    let committed = ctx
        .accounts
        .token_mint
        .supply
        .checked_add(protocol.totals.rewards_outstanding)
        .ok_or(BmeError::MathOverflow)?;
    let headroom = protocol.supply_cap.saturating_sub(committed);
    let outcome = epoch_outcome(
        scheduled,
        epoch.tokens_burned,
        params.net_remint_cap,
        headroom,
        &params.split,
        epoch.usage_units,
        epoch.contribution_units,
    )?;

    if outcome.treasury > 0 {
        // The rate limit in force now governs the mint.
        let current = ctx.accounts.protocol.epoch_at(now)?;
        let limit = ctx.accounts.protocol.params_at(current);
        ctx.accounts.protocol.mint_rate_limit.record(
            outcome.treasury,
            now,
            limit.rate_window_secs,
            limit.rate_max_per_window,
        )?;
        let seeds = ctx.accounts.protocol.signer_seeds();
        token_interface::mint_to(
            CpiContext::new_with_signer(
                ctx.accounts.token_program.key(),
                MintTo {
                    mint: ctx.accounts.token_mint.to_account_info(),
                    to: ctx.accounts.treasury.to_account_info(),
                    authority: ctx.accounts.protocol.to_account_info(),
                },
                &[&seeds],
            ),
            outcome.treasury,
        )?;
    }

    epoch.closed = true;
    epoch.closed_at = now;
    epoch.scheduled_emission = outcome.scheduled;
    epoch.remint = outcome.remint;
    epoch.emission = outcome.emission;
    epoch.usage_pool = outcome.usage_pool;
    epoch.contribution_pool = outcome.contribution_pool;
    epoch.treasury_amount = outcome.treasury;
    epoch.not_emitted = outcome.not_emitted;

    let protocol = &mut ctx.accounts.protocol;
    protocol.next_epoch_to_close = args.epoch.checked_add(1).ok_or(BmeError::MathOverflow)?;
    protocol.last_scheduled_emission = outcome.scheduled;
    let pools = outcome
        .usage_pool
        .checked_add(outcome.contribution_pool)
        .ok_or(BmeError::MathOverflow)?;
    Epoch::add(&mut protocol.totals.rewards_outstanding, pools)?;
    Epoch::add(&mut protocol.totals.tokens_minted, outcome.treasury)?;
    Epoch::add(&mut protocol.totals.not_emitted, outcome.not_emitted)?;
    // A staged governance change is folded in once every earlier epoch has closed.
    protocol.fold_staged(None);

    emit_cpi!(EpochClosed {
        protocol: protocol_key,
        epoch: args.epoch,
        scheduled_emission: outcome.scheduled,
        remint: outcome.remint,
        emission: outcome.emission,
        usage_pool: outcome.usage_pool,
        contribution_pool: outcome.contribution_pool,
        treasury_amount: outcome.treasury,
        not_emitted: outcome.not_emitted,
        tokens_burned: epoch.tokens_burned,
        credits_burned: epoch.credits_burned,
    });
    store(&ctx.accounts.epoch, &epoch)
}
