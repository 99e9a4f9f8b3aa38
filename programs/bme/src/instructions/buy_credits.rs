//! `buy_credits`: burn network tokens for non-transferable credits at the USD price.

use anchor_lang::prelude::*;
use anchor_spl::associated_token::AssociatedToken;
use anchor_spl::token_2022::Token2022;
use anchor_spl::token_interface::{self, Burn, Mint, MintTo, TokenAccount, TokenInterface};
use pyth_solana_receiver_sdk::price_update::{PriceUpdateV2, VerificationLevel};

use crate::error::BmeError;
use crate::events::CreditsBought;
use crate::math::price;
use crate::state::*;
use crate::utils::store;

/// What the buyer asks for: exactly one amount, with its slippage bound.
#[derive(AnchorSerialize, AnchorDeserialize, Clone, Copy, Debug, PartialEq, Eq)]
pub enum Purchase {
    /// Burn exactly `tokens`; fail if that buys fewer than `min_credits`.
    Tokens {
        /// Network-token base units to burn.
        tokens: u64,
        /// Slippage bound: fewest credits acceptable.
        min_credits: u64,
    },
    /// Mint exactly `credits`; fail if that costs more than `max_tokens`.
    Credits {
        /// Credits wanted.
        credits: u64,
        /// Slippage bound: most token base units the buyer will burn.
        max_tokens: u64,
    },
}

/// Arguments of `buy_credits`.
#[derive(AnchorSerialize, AnchorDeserialize, Clone, Copy, Debug, PartialEq, Eq)]
pub struct BuyCreditsArgs {
    /// The current epoch (checked against the clock; names the epoch account).
    pub epoch: u64,
    /// The purchase.
    pub purchase: Purchase,
}

/// Accounts of `buy_credits`.
#[event_cpi]
#[derive(Accounts)]
#[instruction(args: BuyCreditsArgs)]
pub struct BuyCredits<'info> {
    /// Burns its tokens and pays rent for any account created.
    #[account(mut)]
    pub buyer: Signer<'info>,
    /// The protocol.
    #[account(
        mut,
        seeds = [Protocol::SEED, protocol.token_mint.as_ref()],
        bump = protocol.bump,
    )]
    pub protocol: Box<Account<'info, Protocol>>,
    /// The current epoch (created by the first activity of the epoch).
    /// CHECK: the seeds check the address; `Epoch::load_or_create` reads or creates it.
    #[account(
        mut,
        seeds = [Epoch::SEED, protocol.key().as_ref(), &args.epoch.to_le_bytes()],
        bump,
    )]
    pub epoch: UncheckedAccount<'info>,
    /// The network token.
    #[account(mut, address = protocol.token_mint)]
    pub token_mint: Box<InterfaceAccount<'info, Mint>>,
    /// The buyer's network-token account, burned from.
    #[account(
        mut,
        token::mint = token_mint,
        token::authority = buyer,
        token::token_program = token_program,
    )]
    pub buyer_token_account: Box<InterfaceAccount<'info, TokenAccount>>,
    /// The credit mint.
    #[account(mut, address = protocol.credit_mint)]
    pub credit_mint: Box<InterfaceAccount<'info, Mint>>,
    /// CHECK: any address; only the owner of the credit account below.
    pub recipient: UncheckedAccount<'info>,
    /// The recipient's credit account (its associated token account), created if needed.
    #[account(
        init_if_needed,
        payer = buyer,
        associated_token::mint = credit_mint,
        associated_token::authority = recipient,
        associated_token::token_program = credit_token_program,
    )]
    pub recipient_credit_account: Box<InterfaceAccount<'info, TokenAccount>>,
    /// CHECK: the pinned Pyth `PriceUpdateV2` account when the price source is Pyth;
    /// address, owner, feed, verification, age and confidence are checked by the handler.
    pub price_update: Option<UncheckedAccount<'info>>,
    /// The network token's program.
    #[account(address = protocol.token_program)]
    pub token_program: Interface<'info, TokenInterface>,
    /// Token-2022 (credit mint).
    pub credit_token_program: Program<'info, Token2022>,
    /// Associated token program.
    pub associated_token_program: Program<'info, AssociatedToken>,
    /// System program.
    pub system_program: Program<'info, System>,
}

/// Burns the buyer's tokens and mints credits to the recipient at the current price.
pub fn handler(ctx: Context<BuyCredits>, args: BuyCreditsArgs) -> Result<()> {
    let protocol = &ctx.accounts.protocol;
    protocol.require_not_paused(crate::constants::PAUSE_BUY)?;
    let clock = Clock::get()?;
    require!(
        protocol.epoch_at(clock.unix_timestamp)? == args.epoch,
        BmeError::WrongEpoch
    );
    let params = protocol.params_at(args.epoch);
    let (price_mantissa, price_expo) = token_price(
        &params.price_source,
        ctx.accounts
            .price_update
            .as_ref()
            .map(|a| a.to_account_info()),
        &clock,
    )?;
    let credit_price = params.credit_price_micro_usd;
    let decimals = protocol.token_decimals;
    let (tokens, credits) = match args.purchase {
        Purchase::Tokens {
            tokens,
            min_credits,
        } => {
            require!(tokens > 0, BmeError::InvalidPurchaseAmount);
            let credits = price::credits_for_tokens(
                tokens,
                credit_price,
                decimals,
                price_mantissa,
                price_expo,
            )?;
            require!(credits > 0, BmeError::PurchaseTooSmall);
            require!(credits >= min_credits, BmeError::SlippageExceeded);
            (tokens, credits)
        }
        Purchase::Credits {
            credits,
            max_tokens,
        } => {
            require!(credits > 0, BmeError::InvalidPurchaseAmount);
            let tokens = price::tokens_for_credits(
                credits,
                credit_price,
                decimals,
                price_mantissa,
                price_expo,
            )?;
            require!(tokens <= max_tokens, BmeError::SlippageExceeded);
            (tokens, credits)
        }
    };
    // The running totals bound every counter the purchase feeds (the epoch's counters
    // and the credit supply), so a purchase they cannot hold is refused up front.
    let totals = &protocol.totals;
    require!(
        totals.tokens_burned.checked_add(tokens).is_some()
            && totals.credits_minted.checked_add(credits).is_some(),
        BmeError::MathOverflow
    );

    token_interface::burn(
        CpiContext::new(
            ctx.accounts.token_program.key(),
            Burn {
                mint: ctx.accounts.token_mint.to_account_info(),
                from: ctx.accounts.buyer_token_account.to_account_info(),
                authority: ctx.accounts.buyer.to_account_info(),
            },
        ),
        tokens,
    )?;
    let seeds = protocol.signer_seeds();
    token_interface::mint_to(
        CpiContext::new_with_signer(
            ctx.accounts.credit_token_program.key(),
            MintTo {
                mint: ctx.accounts.credit_mint.to_account_info(),
                to: ctx.accounts.recipient_credit_account.to_account_info(),
                authority: ctx.accounts.protocol.to_account_info(),
            },
            &[&seeds],
        ),
        credits,
    )?;

    let protocol_key = ctx.accounts.protocol.key();
    let mut epoch = Epoch::load_or_create(
        &ctx.accounts.epoch,
        &ctx.accounts.buyer,
        &ctx.accounts.system_program,
        protocol_key,
        args.epoch,
        ctx.bumps.epoch,
    )?;
    Epoch::add(&mut epoch.tokens_burned, tokens)?;
    Epoch::add(&mut epoch.credits_minted, credits)?;
    store(&ctx.accounts.epoch, &epoch)?;
    let totals = &mut ctx.accounts.protocol.totals;
    Epoch::add(&mut totals.tokens_burned, tokens)?;
    Epoch::add(&mut totals.credits_minted, credits)?;

    emit_cpi!(CreditsBought {
        protocol: protocol_key,
        buyer: ctx.accounts.buyer.key(),
        recipient: ctx.accounts.recipient.key(),
        epoch: args.epoch,
        tokens_burned: tokens,
        credits_minted: credits,
        price: price_mantissa,
        price_expo,
    });
    Ok(())
}

/// The token's USD price the protocol sells at: the fixed price, or the pinned Pyth
/// feed's `price − confidence` after every bound is checked.
pub fn token_price(
    price_source: &PriceSource,
    price_update: Option<AccountInfo>,
    clock: &Clock,
) -> Result<(u64, i32)> {
    match *price_source {
        PriceSource::Fixed { price, expo } => Ok((price, expo)),
        PriceSource::Pyth {
            feed_id,
            account,
            max_age_secs,
            max_conf_bps,
        } => {
            let info = price_update.ok_or(BmeError::PriceAccountMissing)?;
            require_keys_eq!(info.key(), account, BmeError::PriceAccountMismatch);
            require_keys_eq!(
                *info.owner,
                pyth_solana_receiver_sdk::ID,
                BmeError::PriceAccountWrongOwner
            );
            let update = PriceUpdateV2::try_deserialize(&mut &info.try_borrow_data()?[..])
                .map_err(|_| BmeError::InvalidPriceAccount)?;
            require!(
                update.verification_level == VerificationLevel::Full,
                BmeError::PriceNotFullyVerified
            );
            let message = &update.price_message;
            require!(message.feed_id == feed_id, BmeError::PriceFeedMismatch);
            let max_age = i64::try_from(max_age_secs).map_err(|_| BmeError::MathOverflow)?;
            let oldest = clock
                .unix_timestamp
                .checked_sub(max_age)
                .ok_or(BmeError::MathOverflow)?;
            require!(message.publish_time >= oldest, BmeError::StalePrice);
            price::check_confidence(message.price, message.conf, max_conf_bps)?;
            Ok(price::conservative_price(
                message.price,
                message.conf,
                message.exponent,
            )?)
        }
    }
}
