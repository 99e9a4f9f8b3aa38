//! `propose_change`: governance proposes one parameter change; it can be applied once
//! the timelock has passed. Bounds are checked now and again at apply time.

use anchor_lang::prelude::*;
use anchor_spl::token_interface::Mint;

use crate::error::BmeError;
use crate::events::ChangeProposed;
use crate::state::*;

/// Accounts of `propose_change`.
#[event_cpi]
#[derive(Accounts)]
pub struct ProposeChange<'info> {
    /// The authority.
    pub authority: Signer<'info>,
    /// Pays for the proposal account the first time.
    #[account(mut)]
    pub payer: Signer<'info>,
    /// The protocol.
    #[account(
        seeds = [Protocol::SEED, protocol.token_mint.as_ref()],
        bump = protocol.bump,
        has_one = authority @ BmeError::Unauthorized,
        has_one = token_mint,
    )]
    pub protocol: Box<Account<'info, Protocol>>,
    /// The protocol's proposal slot.
    #[account(
        init_if_needed,
        payer = payer,
        space = PendingChange::SIZE,
        seeds = [PendingChange::SEED, protocol.key().as_ref()],
        bump,
    )]
    pub pending_change: Box<Account<'info, PendingChange>>,
    /// The network token (its supply bounds a supply-cap change).
    pub token_mint: Box<InterfaceAccount<'info, Mint>>,
    /// System program.
    pub system_program: Program<'info, System>,
}

/// Tokens already minted or owed: the floor of any supply cap.
pub fn committed_supply(protocol: &Protocol, mint: &Mint) -> Result<u64> {
    mint.supply
        .checked_add(protocol.totals.rewards_outstanding)
        .ok_or_else(|| BmeError::MathOverflow.into())
}

/// Records the proposal.
pub fn handler(ctx: Context<ProposeChange>, change: ParameterChange) -> Result<()> {
    let pending = &ctx.accounts.pending_change;
    require!(!pending.active, BmeError::ChangeAlreadyPending);
    let protocol = &ctx.accounts.protocol;
    let now = Clock::get()?.unix_timestamp;
    let timelock = i64::try_from(protocol.timelock_secs).map_err(|_| BmeError::MathOverflow)?;
    let earliest_apply = now.checked_add(timelock).ok_or(BmeError::MathOverflow)?;
    // The earliest epoch the change could govern if applied as soon as allowed.
    let effective_epoch = protocol
        .epoch_at(earliest_apply.max(protocol.genesis_time))?
        .checked_add(1)
        .ok_or(BmeError::MathOverflow)?;
    let committed = committed_supply(protocol, &ctx.accounts.token_mint)?;
    protocol.validate_change(&change, effective_epoch, committed)?;

    let protocol_key = protocol.key();
    let pending = &mut ctx.accounts.pending_change;
    let sequence = pending
        .sequence
        .checked_add(1)
        .ok_or(BmeError::MathOverflow)?;
    pending.set_inner(PendingChange {
        protocol: protocol_key,
        bump: ctx.bumps.pending_change,
        active: true,
        sequence,
        proposed_at: now,
        earliest_apply,
        change: change.clone(),
    });
    emit_cpi!(ChangeProposed {
        protocol: protocol_key,
        sequence,
        earliest_apply,
        change,
    });
    Ok(())
}
