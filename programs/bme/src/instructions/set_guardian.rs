//! `set_guardian`: the authority names the guardian directly. The guardian can only
//! pause, never mint or change parameters, so a one-step change (by the authority,
//! itself behind a multisig or DAO) is enough; a lost guardian key is replaced at once.

use anchor_lang::prelude::*;

use crate::error::BmeError;
use crate::events::GuardianSet;
use crate::state::*;

/// Accounts of `set_guardian`.
#[event_cpi]
#[derive(Accounts)]
pub struct SetGuardian<'info> {
    /// The authority.
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

/// Sets the guardian.
pub fn handler(ctx: Context<SetGuardian>, new_guardian: Pubkey) -> Result<()> {
    let protocol = &mut ctx.accounts.protocol;
    let old_guardian = protocol.guardian;
    protocol.guardian = new_guardian;
    emit_cpi!(GuardianSet {
        protocol: protocol.key(),
        old_guardian,
        new_guardian,
    });
    Ok(())
}
