//! `apply_change`: anyone applies a proposal once its timelock has passed; it governs
//! from the next epoch boundary on (see [`crate::state::governance`]).

use anchor_lang::prelude::*;
use anchor_spl::token_interface::Mint;

use crate::error::BmeError;
use crate::events::ChangeApplied;
use crate::instructions::propose_change::committed_supply;
use crate::state::*;

/// Accounts of `apply_change`. Permissionless.
#[event_cpi]
#[derive(Accounts)]
pub struct ApplyChange<'info> {
    /// The protocol.
    #[account(
        mut,
        seeds = [Protocol::SEED, protocol.token_mint.as_ref()],
        bump = protocol.bump,
        has_one = token_mint,
    )]
    pub protocol: Box<Account<'info, Protocol>>,
    /// The proposal.
    #[account(
        mut,
        seeds = [PendingChange::SEED, protocol.key().as_ref()],
        bump = pending_change.bump,
    )]
    pub pending_change: Box<Account<'info, PendingChange>>,
    /// The oracle set (an earlier staged oracle change is folded into it).
    #[account(
        mut,
        seeds = [OracleSet::SEED, protocol.key().as_ref()],
        bump = oracle_set.bump,
    )]
    pub oracle_set: Box<Account<'info, OracleSet>>,
    /// The network token (its supply bounds a supply-cap change).
    pub token_mint: Box<InterfaceAccount<'info, Mint>>,
}

/// Applies the pending change.
pub fn handler(ctx: Context<ApplyChange>) -> Result<()> {
    let pending = &ctx.accounts.pending_change;
    require!(pending.active, BmeError::NoPendingChange);
    let now = Clock::get()?.unix_timestamp;
    require!(now >= pending.earliest_apply, BmeError::TimelockNotElapsed);
    let change = pending.change.clone();
    let sequence = pending.sequence;

    let protocol = &mut ctx.accounts.protocol;
    let effective_epoch = protocol
        .epoch_at(now.max(protocol.genesis_time))?
        .checked_add(1)
        .ok_or(BmeError::MathOverflow)?;
    if change.is_staged() && protocol.staged.is_some() {
        require!(
            protocol.fold_staged(Some(&mut ctx.accounts.oracle_set)),
            BmeError::PreviousChangeNotInForce
        );
    }
    let committed = committed_supply(protocol, &ctx.accounts.token_mint)?;
    protocol.validate_change(&change, effective_epoch, committed)?;

    match &change {
        ParameterChange::Schedule { segments } => protocol.schedule = segments.clone(),
        ParameterChange::SupplyCap { cap } => protocol.supply_cap = *cap,
        ParameterChange::Timelock { secs } => protocol.timelock_secs = *secs,
        staged => {
            protocol.staged = Some(StagedChange {
                from_epoch: effective_epoch,
                change: staged.clone(),
            })
        }
    }
    protocol.invariant()?;
    ctx.accounts.pending_change.active = false;

    emit_cpi!(ChangeApplied {
        protocol: ctx.accounts.protocol.key(),
        sequence,
        effective_epoch,
        change,
    });
    Ok(())
}
