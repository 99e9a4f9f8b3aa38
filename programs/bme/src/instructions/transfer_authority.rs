//! `transfer_authority`: step one of a two-step authority handoff.

use anchor_lang::prelude::*;

use crate::error::BmeError;
use crate::events::AuthorityTransferProposed;
use crate::state::*;

/// Accounts of `transfer_authority`.
#[event_cpi]
#[derive(Accounts)]
pub struct TransferAuthority<'info> {
    /// The current authority.
    pub authority: Signer<'info>,
    /// The protocol.
    #[account(
        mut,
        seeds = [Protocol::SEED, protocol.token_mint.as_ref()],
        bump = protocol.bump,
        has_one = authority @ BmeError::Unauthorized,
    )]
    pub protocol: Box<Account<'info, Protocol>>,
}

/// Proposes `new_authority`; it takes over only when it signs `accept_authority`.
pub fn handler(ctx: Context<TransferAuthority>, new_authority: Pubkey) -> Result<()> {
    require_keys_neq!(
        new_authority,
        Pubkey::default(),
        BmeError::NotPendingAuthority
    );
    ctx.accounts.protocol.pending_authority = new_authority;
    emit_cpi!(AuthorityTransferProposed {
        protocol: ctx.accounts.protocol.key(),
        authority: ctx.accounts.authority.key(),
        pending_authority: new_authority,
    });
    Ok(())
}
