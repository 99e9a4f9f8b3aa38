//! `cancel_change`: the authority withdraws its pending proposal.

use anchor_lang::prelude::*;

use crate::error::BmeError;
use crate::events::ChangeCancelled;
use crate::state::*;

/// Accounts of `cancel_change`.
#[event_cpi]
#[derive(Accounts)]
pub struct CancelChange<'info> {
    /// The authority.
    pub authority: Signer<'info>,
    /// The protocol.
    #[account(
        seeds = [Protocol::SEED, protocol.token_mint.as_ref()],
        bump = protocol.bump,
        has_one = authority @ BmeError::Unauthorized,
    )]
    pub protocol: Box<Account<'info, Protocol>>,
    /// The proposal.
    #[account(
        mut,
        seeds = [PendingChange::SEED, protocol.key().as_ref()],
        bump = pending_change.bump,
    )]
    pub pending_change: Box<Account<'info, PendingChange>>,
}

/// Cancels the pending change.
pub fn handler(ctx: Context<CancelChange>) -> Result<()> {
    let pending = &mut ctx.accounts.pending_change;
    require!(pending.active, BmeError::NoPendingChange);
    pending.active = false;
    emit_cpi!(ChangeCancelled {
        protocol: ctx.accounts.protocol.key(),
        sequence: pending.sequence,
    });
    Ok(())
}
