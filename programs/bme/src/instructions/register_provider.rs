//! `register_provider`: a node joins the network and names where its rewards go.

use anchor_lang::prelude::*;
use anchor_spl::token_interface::TokenAccount;

use crate::error::BmeError;
use crate::events::ProviderRegistered;
use crate::state::*;
use crate::utils::{create_new, store};

/// Accounts of `register_provider`.
#[event_cpi]
#[derive(Accounts)]
pub struct RegisterProvider<'info> {
    /// Pays the provider account's rent.
    #[account(mut)]
    pub payer: Signer<'info>,
    /// The node identity key; signs so nobody can register a node they don't run.
    pub node: Signer<'info>,
    /// CHECK: any address (a wallet, a multisig vault); becomes the provider's owner.
    pub owner: UncheckedAccount<'info>,
    /// The protocol.
    #[account(
        mut,
        seeds = [Protocol::SEED, protocol.token_mint.as_ref()],
        bump = protocol.bump,
    )]
    pub protocol: Box<Account<'info, Protocol>>,
    /// The new provider.
    /// CHECK: the seeds check the address; the handler creates it, refusing an existing one.
    #[account(
        mut,
        seeds = [Provider::SEED, protocol.key().as_ref(), node.key().as_ref()],
        bump,
    )]
    pub provider: UncheckedAccount<'info>,
    /// Token account of the network token that receives rewards.
    #[account(
        constraint = destination.mint == protocol.token_mint @ BmeError::InvalidDestination,
    )]
    pub destination: Box<InterfaceAccount<'info, TokenAccount>>,
    /// System program.
    pub system_program: Program<'info, System>,
}

/// Creates the provider account.
pub fn handler(ctx: Context<RegisterProvider>) -> Result<()> {
    let protocol_key = ctx.accounts.protocol.key();
    let node_key = ctx.accounts.node.key();
    let bump = ctx.bumps.provider;
    create_new(
        &ctx.accounts.provider,
        &ctx.accounts.payer,
        &ctx.accounts.system_program,
        Provider::SIZE,
        &[
            Provider::SEED,
            protocol_key.as_ref(),
            node_key.as_ref(),
            std::slice::from_ref(&bump),
        ],
    )?;
    let protocol = &mut ctx.accounts.protocol;
    store(
        &ctx.accounts.provider,
        &Provider {
            protocol_id: protocol.id,
            bump,
            owner: ctx.accounts.owner.key(),
            destination: ctx.accounts.destination.key(),
            pending: [PendingWork::default(); 2],
            accrued: 0,
            claimed: 0,
        },
    )?;
    protocol.totals.providers = protocol
        .totals
        .providers
        .checked_add(1)
        .ok_or(BmeError::MathOverflow)?;
    emit_cpi!(ProviderRegistered {
        protocol: ctx.accounts.protocol.key(),
        provider: ctx.accounts.provider.key(),
        node: ctx.accounts.node.key(),
        owner: ctx.accounts.owner.key(),
        destination: ctx.accounts.destination.key(),
    });
    Ok(())
}
