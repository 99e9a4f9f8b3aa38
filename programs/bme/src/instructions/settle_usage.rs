//! `settle_usage`: turn customer-signed cumulative receipts into burned credits and
//! provider work units, a whole batch in one instruction.
//!
//! # The receipt
//!
//! A customer signs, with the key that owns its credit account, the 44-byte message
//!
//! ```text
//! "bmr" 0x01 (RECEIPT_DOMAIN) ‖ channel address (32) ‖ cumulative credits (u64 LE)
//! ```
//!
//! meaning "through this channel I have consumed this many credits in total". The
//! channel address is the PDA `[Channel::SEED, provider, customer]`, so it binds the
//! program, the protocol (through the provider), the provider and the customer. A
//! receipt only ever raises the channel's `settled` amount, so replaying it is
//! worthless and one settlement covers any number of off-chain usage events.
//!
//! # The transaction
//!
//! The instruction immediately before `settle_usage` is an Ed25519 program
//! instruction holding one signature per receipt, all of its offsets pointing into
//! itself. `settle_usage` takes, as remaining accounts, one writable `(channel,
//! customer credit account)` pair per signature, in the same order.

use anchor_lang::prelude::*;
use anchor_spl::token_2022::Token2022;
use anchor_spl::token_interface::{self, Burn, Mint, TokenAccount};

use crate::constants::*;
use crate::error::BmeError;
use crate::events::UsageSettled;
use crate::sigverify;
use crate::state::*;
use crate::utils::{create_pda_account, store};

/// Arguments of `settle_usage`.
#[derive(AnchorSerialize, AnchorDeserialize, Clone, Copy, Debug, PartialEq, Eq)]
pub struct SettleUsageArgs {
    /// The current epoch (checked against the clock; names the epoch account).
    pub epoch: u64,
}

/// Accounts of `settle_usage`.
#[event_cpi]
#[derive(Accounts)]
#[instruction(args: SettleUsageArgs)]
pub struct SettleUsage<'info> {
    /// Submits the batch and pays rent for new channels and the epoch account.
    #[account(mut)]
    pub payer: Signer<'info>,
    /// The protocol.
    #[account(
        mut,
        seeds = [Protocol::SEED, protocol.token_mint.as_ref()],
        bump = protocol.bump,
    )]
    pub protocol: Box<Account<'info, Protocol>>,
    /// The provider being paid.
    #[account(
        mut,
        constraint = provider.protocol_id == protocol.id @ BmeError::UnregisteredProvider,
    )]
    pub provider: Box<Account<'info, Provider>>,
    /// The current epoch.
    /// CHECK: the seeds check the address; `Epoch::load_or_create` reads or creates it.
    #[account(
        mut,
        seeds = [Epoch::SEED, protocol.key().as_ref(), &args.epoch.to_le_bytes()],
        bump,
    )]
    pub epoch: UncheckedAccount<'info>,
    /// The credit mint.
    #[account(mut, address = protocol.credit_mint)]
    pub credit_mint: Box<InterfaceAccount<'info, Mint>>,
    /// CHECK: the instructions sysvar, address-checked.
    #[account(address = solana_instructions_sysvar::ID @ BmeError::InvalidInstructionsSysvar)]
    pub instructions_sysvar: UncheckedAccount<'info>,
    /// Token-2022 (credit mint).
    pub credit_token_program: Program<'info, Token2022>,
    /// System program (creates channels).
    pub system_program: Program<'info, System>,
}

/// Settles every receipt of the batch, or none.
pub fn handler<'info>(
    ctx: Context<'info, SettleUsage<'info>>,
    args: SettleUsageArgs,
) -> Result<()> {
    ctx.accounts.protocol.require_not_paused(PAUSE_SETTLE)?;
    let now = Clock::get()?.unix_timestamp;
    require!(
        ctx.accounts.protocol.epoch_at(now)? == args.epoch,
        BmeError::WrongEpoch
    );
    let protocol_key = ctx.accounts.protocol.key();
    let mut epoch = Epoch::load_or_create(
        &ctx.accounts.epoch,
        &ctx.accounts.payer,
        &ctx.accounts.system_program,
        protocol_key,
        args.epoch,
        ctx.bumps.epoch,
    )?;

    let sysvar = ctx.accounts.instructions_sysvar.to_account_info();
    let (ed25519, ed25519_index) = sigverify::preceding_ed25519_instruction(&sysvar)?;
    let signatures = sigverify::verified_signatures(&ed25519.data, ed25519_index)?;
    let pairs = ctx.remaining_accounts.chunks_exact(2);
    require!(
        pairs.remainder().is_empty() && !signatures.is_empty(),
        BmeError::InvalidReceiptBatch
    );
    require!(
        pairs.len() == signatures.len(),
        BmeError::SignatureCountMismatch
    );

    let provider_key = ctx.accounts.provider.key();
    for (signature, pair) in signatures.iter().zip(pairs) {
        let [channel_info, credit_info] = pair else {
            return err!(BmeError::InvalidReceiptBatch);
        };
        // Both are written (the channel below, the credit account by the burn). The
        // runtime refuses a write to a read-only account only after the instruction,
        // and a natively run program not at all (the write is dropped, so the receipt
        // could be settled again): refuse it up front.
        require!(
            channel_info.is_writable && credit_info.is_writable,
            BmeError::InvalidReceiptBatch
        );
        let (channel_address, cumulative) = parse_receipt(signature.message)?;
        require_keys_eq!(
            channel_info.key(),
            channel_address,
            BmeError::ChannelMismatch
        );
        let customer = signature.signer;

        let mut channel = load_or_create_channel(&ctx, channel_info, &provider_key, &customer)?;
        require!(cumulative > channel.settled, BmeError::ReceiptNotNewer);
        let credits = cumulative
            .checked_sub(channel.settled)
            .ok_or(BmeError::MathOverflow)?;

        let credit_account = InterfaceAccount::<TokenAccount>::try_from(credit_info)
            .map_err(|_| BmeError::CreditAccountMismatch)?;
        require!(
            credit_account.mint == ctx.accounts.protocol.credit_mint
                && credit_account.owner == customer
                && *credit_info.owner == anchor_spl::token_2022::ID,
            BmeError::CreditAccountMismatch
        );
        require!(
            credit_account.amount >= credits,
            BmeError::InsufficientCredits
        );

        let seeds = ctx.accounts.protocol.signer_seeds();
        token_interface::burn(
            CpiContext::new_with_signer(
                ctx.accounts.credit_token_program.key(),
                Burn {
                    mint: ctx.accounts.credit_mint.to_account_info(),
                    from: credit_info.clone(),
                    authority: ctx.accounts.protocol.to_account_info(),
                },
                &[&seeds],
            ),
            credits,
        )?;

        channel.settled = cumulative;
        // Written back at once so a later receipt for the same channel sees it.
        channel.exit(&crate::ID)?;

        ctx.accounts
            .provider
            .add_units(args.epoch, Pool::Usage, credits)?;
        Epoch::add(&mut epoch.credits_burned, credits)?;
        Epoch::add(&mut epoch.usage_units, credits)?;
        Epoch::add(&mut ctx.accounts.protocol.totals.credits_burned, credits)?;

        emit_cpi!(UsageSettled {
            provider: provider_key,
            channel: channel_address,
            customer,
            epoch: args.epoch,
            cumulative,
            credits_burned: credits,
        });
    }
    store(&ctx.accounts.epoch, &epoch)
}

/// Splits a receipt message into (channel, cumulative credits), checking its domain
/// and exact length.
pub fn parse_receipt(message: &[u8]) -> Result<(Pubkey, u64)> {
    require!(
        message.len() == RECEIPT_MESSAGE_LEN && message.starts_with(&RECEIPT_DOMAIN),
        BmeError::MessageMismatch
    );
    let channel: [u8; 32] = message
        .get(4..36)
        .and_then(|b| b.try_into().ok())
        .ok_or(BmeError::MessageMismatch)?;
    let cumulative: [u8; 8] = message
        .get(36..44)
        .and_then(|b| b.try_into().ok())
        .ok_or(BmeError::MessageMismatch)?;
    Ok((
        Pubkey::new_from_array(channel),
        u64::from_le_bytes(cumulative),
    ))
}

/// Loads the channel, or creates it (the payer pays) on first use. A loaded channel
/// must name this provider (else `ChannelMismatch`) and the receipt's signer as its
/// customer (else `WrongReceiptSigner`); only the program writes channels.
fn load_or_create_channel<'info>(
    ctx: &Context<'info, SettleUsage<'info>>,
    channel_info: &'info AccountInfo<'info>,
    provider: &Pubkey,
    customer: &Pubkey,
) -> Result<Account<'info, Channel>> {
    if channel_info.owner == &crate::ID {
        let channel = Account::<Channel>::try_from(channel_info)?;
        require_keys_eq!(channel.provider, *provider, BmeError::ChannelMismatch);
        require_keys_eq!(channel.customer, *customer, BmeError::WrongReceiptSigner);
        return Ok(channel);
    }
    let (address, bump) = Pubkey::find_program_address(
        &[Channel::SEED, provider.as_ref(), customer.as_ref()],
        &crate::ID,
    );
    require_keys_eq!(channel_info.key(), address, BmeError::ChannelMismatch);
    let seeds: &[&[u8]] = &[
        Channel::SEED,
        provider.as_ref(),
        customer.as_ref(),
        std::slice::from_ref(&bump),
    ];
    create_pda_account(
        &ctx.accounts.payer.to_account_info(),
        channel_info,
        &ctx.accounts.system_program.to_account_info(),
        Channel::SIZE,
        seeds,
    )?;
    let mut channel = Account::<Channel>::try_from_unchecked(channel_info)?;
    channel.set_inner(Channel {
        provider: *provider,
        customer: *customer,
        settled: 0,
        bump,
    });
    Ok(channel)
}
