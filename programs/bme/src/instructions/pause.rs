//! `pause`: the guardian (or the authority) stops some flows at once.
//!
//! Closing epochs cannot be paused: a close only books an ended epoch's emission and
//! mints the treasury share under the supply cap and the mint rate limit; pausing it
//! would only stall the schedule and strand providers' rewards, while pausing claims
//! already stops reward mints if something is wrong.

use anchor_lang::prelude::*;

use crate::constants::PAUSE_ALL;
use crate::error::BmeError;
use crate::events::PauseChanged;
use crate::state::*;

/// Accounts of `pause`.
#[event_cpi]
#[derive(Accounts)]
pub struct Pause<'info> {
    /// The guardian or the authority.
    pub signer: Signer<'info>,
    /// The protocol.
    #[account(
        mut,
        seeds = [Protocol::SEED, protocol.token_mint.as_ref()],
        bump = protocol.bump,
        constraint = signer.key() == protocol.guardian || signer.key() == protocol.authority @ BmeError::Unauthorized,
    )]
    pub protocol: Box<Account<'info, Protocol>>,
}

/// Sets the given `PAUSE_*` flags.
pub fn handler(ctx: Context<Pause>, flags: u8) -> Result<()> {
    require!(
        flags != 0 && flags & !PAUSE_ALL == 0,
        BmeError::InvalidPauseFlags
    );
    let protocol = &mut ctx.accounts.protocol;
    protocol.paused |= flags;
    emit_cpi!(PauseChanged {
        protocol: protocol.key(),
        by: ctx.accounts.signer.key(),
        flags,
        paused: protocol.paused,
    });
    Ok(())
}
