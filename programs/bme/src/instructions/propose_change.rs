//! `propose_change`: governance proposes one parameter change; it can be applied once
//! the timelock has passed. Bounds are checked now and again at apply time.

use anchor_lang::prelude::*;
use anchor_spl::token_interface::Mint;

use crate::error::BmeError;
use crate::events::ChangeProposed;
use crate::state::*;
use crate::utils::{load_or_create, store};

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
    /// CHECK: the seeds check the address; the handler reads it or creates it.
    #[account(
        mut,
        seeds = [PendingChange::SEED, protocol.key().as_ref()],
        bump,
    )]
    pub pending_change: UncheckedAccount<'info>,
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
    let protocol_key = ctx.accounts.protocol.key();
    let bump = ctx.bumps.pending_change;
    let previous = load_or_create::<PendingChange>(
        &ctx.accounts.pending_change,
        &ctx.accounts.payer,
        &ctx.accounts.system_program,
        PendingChange::SIZE,
        &[
            PendingChange::SEED,
            protocol_key.as_ref(),
            std::slice::from_ref(&bump),
        ],
    )?;
    let last_sequence = match previous {
        Some(pending) => {
            require!(!pending.active, BmeError::ChangeAlreadyPending);
            pending.sequence
        }
        None => 0,
    };
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

    let sequence = last_sequence.checked_add(1).ok_or(BmeError::MathOverflow)?;
    store(
        &ctx.accounts.pending_change,
        &PendingChange {
            protocol: protocol_key,
            bump,
            active: true,
            sequence,
            proposed_at: now,
            earliest_apply,
            change: change.clone(),
        },
    )?;
    emit_cpi!(ChangeProposed {
        protocol: protocol_key,
        sequence,
        earliest_apply,
        change,
    });
    Ok(())
}
