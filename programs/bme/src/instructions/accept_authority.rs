//! `accept_authority`: step two of the handoff; the proposed authority signs.

use anchor_lang::prelude::*;

use crate::error::BmeError;
use crate::events::AuthorityTransferred;
use crate::state::*;

/// Accounts of `accept_authority`.
#[event_cpi]
#[derive(Accounts)]
pub struct AcceptAuthority<'info> {
    /// The proposed authority.
    pub new_authority: Signer<'info>,
    /// The protocol.
    #[account(
        mut,
        seeds = [Protocol::SEED, protocol.token_mint.as_ref()],
        bump = protocol.bump,
        constraint = protocol.pending_authority == new_authority.key() @ BmeError::NotPendingAuthority,
    )]
    pub protocol: Box<Account<'info, Protocol>>,
}

/// Makes the pending authority the authority.
pub fn handler(ctx: Context<AcceptAuthority>) -> Result<()> {
    let protocol = &mut ctx.accounts.protocol;
    let old_authority = protocol.authority;
    protocol.authority = ctx.accounts.new_authority.key();
    protocol.pending_authority = Pubkey::default();
    emit_cpi!(AuthorityTransferred {
        protocol: protocol.key(),
        old_authority,
        new_authority: protocol.authority,
    });
    Ok(())
}
