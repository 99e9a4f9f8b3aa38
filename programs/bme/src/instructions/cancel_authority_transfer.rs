//! `cancel_authority_transfer`: the authority withdraws a proposed handoff.

use anchor_lang::prelude::*;

use crate::error::BmeError;
use crate::events::AuthorityTransferCancelled;
use crate::state::*;

/// Accounts of `cancel_authority_transfer`.
#[event_cpi]
#[derive(Accounts)]
pub struct CancelAuthorityTransfer<'info> {
    /// The current authority.
    pub authority: Signer<'info>,
    /// The protocol.
    #[account(
        mut,
        seeds = [Protocol::SEED, protocol.token_mint.as_ref()],
        bump = protocol.bump,
        has_one = authority @ BmeError::Unauthorized,
        constraint = protocol.pending_authority != Pubkey::default() @ BmeError::NotPendingAuthority,
    )]
    pub protocol: Box<Account<'info, Protocol>>,
}

/// Clears the pending authority.
pub fn handler(ctx: Context<CancelAuthorityTransfer>) -> Result<()> {
    let pending_authority = ctx.accounts.protocol.pending_authority;
    ctx.accounts.protocol.pending_authority = Pubkey::default();
    emit_cpi!(AuthorityTransferCancelled {
        protocol: ctx.accounts.protocol.key(),
        pending_authority,
    });
    Ok(())
}
