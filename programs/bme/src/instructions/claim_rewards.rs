//! `claim_rewards`: settle a provider's closed epochs and mint what it earned to its
//! registered destination. Anyone may crank it; the tokens only go to the destination.

use anchor_lang::prelude::*;
use anchor_spl::token_interface::{self, Mint, MintTo, TokenAccount, TokenInterface};

use crate::constants::PAUSE_CLAIM;
use crate::error::BmeError;
use crate::events::RewardsClaimed;
use crate::math::rewards;
use crate::state::*;

/// Accounts of `claim_rewards`. The remaining accounts are the (writable) epoch
/// accounts of the provider's pending slots whose epochs are closed (at most two).
#[event_cpi]
#[derive(Accounts)]
pub struct ClaimRewards<'info> {
    /// The protocol.
    #[account(
        mut,
        seeds = [Protocol::SEED, protocol.token_mint.as_ref()],
        bump = protocol.bump,
        has_one = token_mint,
    )]
    pub protocol: Box<Account<'info, Protocol>>,
    /// The provider being paid.
    #[account(
        mut,
        has_one = destination @ BmeError::InvalidDestination,
        constraint = provider.protocol_id == protocol.id @ BmeError::UnregisteredProvider,
    )]
    pub provider: Box<Account<'info, Provider>>,
    /// The provider's registered destination.
    #[account(mut, token::mint = token_mint, token::token_program = token_program)]
    pub destination: Box<InterfaceAccount<'info, TokenAccount>>,
    /// The network token.
    #[account(mut)]
    pub token_mint: Box<InterfaceAccount<'info, Mint>>,
    /// The network token's program.
    #[account(address = protocol.token_program)]
    pub token_program: Interface<'info, TokenInterface>,
}

/// Settles every closed pending epoch into `accrued`, then mints `accrued`.
pub fn handler<'info>(ctx: Context<'info, ClaimRewards<'info>>) -> Result<()> {
    let protocol = &ctx.accounts.protocol;
    protocol.require_not_paused(PAUSE_CLAIM)?;
    let protocol_key = protocol.key();
    let next_open = protocol.next_epoch_to_close;
    let provider = &mut ctx.accounts.provider;

    let mut settled: u8 = 0;
    let mut earned: u64 = 0;
    for slot in provider.pending.iter_mut() {
        if slot.is_free() || u64::from(slot.epoch) >= next_open {
            continue;
        }
        // Only this program writes Epoch accounts, always at their PDA, so the
        // stored protocol and index identify the account. It is written below, so a
        // read-only one is refused (the runtime would catch the write only after the
        // instruction, and a natively run program not at all).
        let mut epoch = ctx
            .remaining_accounts
            .iter()
            .filter(|info| info.is_writable)
            .filter_map(|info| Account::<Epoch>::try_from(info).ok())
            .find(|epoch| epoch.protocol == protocol_key && epoch.index == u64::from(slot.epoch))
            .ok_or(BmeError::MissingEpochAccount)?;
        require!(epoch.closed, BmeError::EpochNotEnded);
        let usage = rewards::pro_rata(epoch.usage_pool, slot.usage_units, epoch.usage_units)?;
        let contribution = rewards::pro_rata(
            epoch.contribution_pool,
            slot.contribution_units,
            epoch.contribution_units,
        )?;
        Epoch::add(&mut epoch.usage_claimed, usage)?;
        Epoch::add(&mut epoch.contribution_claimed, contribution)?;
        epoch.exit(&crate::ID)?;
        let reward = usage
            .checked_add(contribution)
            .ok_or(BmeError::MathOverflow)?;
        Epoch::add(&mut earned, reward)?;
        *slot = PendingWork::default();
        settled = settled.saturating_add(1);
    }

    Epoch::add(&mut provider.accrued, earned)?;
    let amount = provider.accrued;
    if amount > 0 {
        let now = Clock::get()?.unix_timestamp;
        {
            let protocol = &mut ctx.accounts.protocol;
            // The limit in force now (a staged change governs from its epoch on).
            let params = protocol.params_at(protocol.epoch_at(now).unwrap_or(0));
            protocol.mint_rate_limit.record(
                amount,
                now,
                params.rate_window_secs,
                params.rate_max_per_window,
            )?;
            protocol.totals.rewards_outstanding = protocol
                .totals
                .rewards_outstanding
                .checked_sub(amount)
                .ok_or(BmeError::MathOverflow)?;
            Epoch::add(&mut protocol.totals.tokens_minted, amount)?;
        }
        let seeds = ctx.accounts.protocol.signer_seeds();
        token_interface::mint_to(
            CpiContext::new_with_signer(
                ctx.accounts.token_program.key(),
                MintTo {
                    mint: ctx.accounts.token_mint.to_account_info(),
                    to: ctx.accounts.destination.to_account_info(),
                    authority: ctx.accounts.protocol.to_account_info(),
                },
                &[&seeds],
            ),
            amount,
        )?;
        let provider = &mut ctx.accounts.provider;
        provider.accrued = 0;
        Epoch::add(&mut provider.claimed, amount)?;
    }

    emit_cpi!(RewardsClaimed {
        provider: ctx.accounts.provider.key(),
        destination: ctx.accounts.destination.key(),
        amount,
        epochs_settled: settled,
        claimed_total: ctx.accounts.provider.claimed,
    });
    Ok(())
}
