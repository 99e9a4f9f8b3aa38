//! `set_provider_destination`: the provider's owner redirects future rewards.

use anchor_lang::prelude::*;
use anchor_spl::token_interface::TokenAccount;

use crate::error::BmeError;
use crate::events::ProviderDestinationChanged;
use crate::state::*;

/// Accounts of `set_provider_destination`.
#[event_cpi]
#[derive(Accounts)]
pub struct SetProviderDestination<'info> {
    /// The provider's owner.
    pub owner: Signer<'info>,
    /// The protocol.
    #[account(
        seeds = [Protocol::SEED, protocol.token_mint.as_ref()],
        bump = protocol.bump,
    )]
    pub protocol: Box<Account<'info, Protocol>>,
    /// The provider.
    #[account(
        mut,
        has_one = owner @ BmeError::Unauthorized,
        constraint = provider.protocol_id == protocol.id @ BmeError::UnregisteredProvider,
    )]
    pub provider: Box<Account<'info, Provider>>,
    /// The new destination: a token account of the network token.
    #[account(
        constraint = new_destination.mint == protocol.token_mint @ BmeError::InvalidDestination,
    )]
    pub new_destination: Box<InterfaceAccount<'info, TokenAccount>>,
}

/// Sets the provider's reward destination.
pub fn handler(ctx: Context<SetProviderDestination>) -> Result<()> {
    let provider = &mut ctx.accounts.provider;
    let old_destination = provider.destination;
    provider.destination = ctx.accounts.new_destination.key();
    emit_cpi!(ProviderDestinationChanged {
        provider: provider.key(),
        old_destination,
        new_destination: provider.destination,
    });
    Ok(())
}
