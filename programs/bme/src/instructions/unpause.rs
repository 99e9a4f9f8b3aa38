//! `unpause`: only the authority resumes paused flows.

use anchor_lang::prelude::*;

use crate::constants::PAUSE_ALL;
use crate::error::BmeError;
use crate::events::PauseChanged;
use crate::state::*;

/// Accounts of `unpause`.
#[event_cpi]
#[derive(Accounts)]
pub struct Unpause<'info> {
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

/// Clears the given `PAUSE_*` flags.
pub fn handler(ctx: Context<Unpause>, flags: u8) -> Result<()> {
    require!(
        flags != 0 && flags & !PAUSE_ALL == 0,
        BmeError::InvalidPauseFlags
    );
    let protocol = &mut ctx.accounts.protocol;
    protocol.paused &= !flags;
    emit_cpi!(PauseChanged {
        protocol: protocol.key(),
        by: ctx.accounts.authority.key(),
        flags,
        paused: protocol.paused,
    });
    Ok(())
}
