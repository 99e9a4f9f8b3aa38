//! `bme credits buy`: burn network tokens for credits.

use anchor_lang::AccountDeserialize;
use bme::instructions::{BuyCreditsArgs, Purchase};
use bme::math::price;
use bme::state::{PriceSource, Protocol};
use bme_client::transport::Transport;
use bme_client::{ix, ClientError};
use clap::{Args, Subcommand};
use pyth_solana_receiver_sdk::price_update::PriceUpdateV2;
use serde::Serialize;

use super::chain::{address, Chain};
use super::{format_tokens, output, parse_tokens, GlobalOptions};

/// Credit commands.
#[derive(Debug, Subcommand)]
pub enum CreditsCommand {
    /// Buy credits at the current price (name tokens to burn or credits wanted).
    Buy(BuyArgs),
}

/// Arguments of `bme credits buy`.
#[derive(Debug, Args)]
#[group(required = true, multiple = false, id = "amount")]
pub struct BuyArgs {
    /// Tokens to burn (decimal, e.g. `1.5`).
    #[arg(long, group = "amount")]
    pub tokens: Option<String>,
    /// Credits wanted.
    #[arg(long, group = "amount")]
    pub credits: Option<u64>,
    /// Accepted price move against the quote, in bps.
    #[arg(long, default_value_t = 100)]
    pub slippage_bps: u16,
    /// Who receives the credits (default: the signer).
    #[arg(long)]
    pub recipient: Option<String>,
}

/// What a purchase did.
#[derive(Debug, Serialize)]
pub struct BuyOutput {
    /// Tokens burned, base units.
    pub tokens_burned: u64,
    /// Credits minted.
    pub credits: u64,
    /// Recipient.
    pub recipient: String,
    /// Decimals for display.
    #[serde(skip)]
    pub decimals: u8,
}

/// The price the program will use, read the same way (for quotes).
pub async fn quote_price(
    chain: &mut Chain,
    protocol: &Protocol,
    epoch: u64,
) -> Result<(u64, i32, Option<anchor_lang::prelude::Pubkey>), ClientError> {
    match protocol.params_at(epoch).price_source {
        PriceSource::Fixed { price, expo } => Ok((price, expo, None)),
        PriceSource::Pyth { account, .. } => {
            let data = chain
                .account(&account)
                .await?
                .ok_or(ClientError::AccountNotFound(account))?;
            let update = PriceUpdateV2::try_deserialize(&mut data.data.as_slice())
                .map_err(|e| ClientError::Decode(account, e.to_string()))?;
            let message = update.price_message;
            let (mantissa, expo) =
                price::conservative_price(message.price, message.conf, message.exponent)
                    .map_err(|e| ClientError::Input(format!("price feed unusable: {e:?}")))?;
            Ok((mantissa, expo, Some(account)))
        }
    }
}

/// Runs a credits command.
pub async fn run(
    command: CreditsCommand,
    global: &GlobalOptions,
    chain: &mut Chain,
) -> Result<String, ClientError> {
    let CreditsCommand::Buy(args) = command;
    let (_, protocol) = chain.protocol(global).await?;
    let now = chain.unix_time().await?;
    let epoch = protocol
        .epoch_at(now)
        .map_err(|_| ClientError::Input("the protocol's genesis has not been reached".into()))?;
    let params = protocol.params_at(epoch);
    let (mantissa, expo, price_account) = quote_price(chain, &protocol, epoch).await?;
    let decimals = protocol.token_decimals;
    let slip = u128::from(args.slippage_bps);
    let (purchase, tokens, credits) = match (&args.tokens, args.credits) {
        (Some(tokens), None) => {
            let tokens = parse_tokens(tokens, decimals)?;
            let credits = price::credits_for_tokens(
                tokens,
                params.credit_price_micro_usd,
                decimals,
                mantissa,
                expo,
            )
            .map_err(|e| ClientError::Input(format!("--tokens: {e:?}")))?;
            let min_credits = (u128::from(credits) * (10_000 - slip.min(10_000)) / 10_000) as u64;
            (
                Purchase::Tokens {
                    tokens,
                    min_credits,
                },
                tokens,
                credits,
            )
        }
        (None, Some(credits)) => {
            let tokens = price::tokens_for_credits(
                credits,
                params.credit_price_micro_usd,
                decimals,
                mantissa,
                expo,
            )
            .map_err(|e| ClientError::Input(format!("--credits: {e:?}")))?;
            let max_tokens =
                u64::try_from(u128::from(tokens) * (10_000 + slip) / 10_000).unwrap_or(u64::MAX);
            (
                Purchase::Credits {
                    credits,
                    max_tokens,
                },
                tokens,
                credits,
            )
        }
        _ => {
            return Err(ClientError::Input(
                "name exactly one of --tokens or --credits".into(),
            ))
        }
    };
    let buyer = chain.payer();
    let recipient = match &args.recipient {
        Some(r) => address("--recipient", r)?,
        None => buyer,
    };
    let instruction = ix::buy_credits(
        ix::BuyCreditsAccounts {
            buyer,
            token_mint: protocol.token_mint,
            token_program: protocol.token_program,
            buyer_token_account: None,
            recipient,
            price_update: price_account,
        },
        BuyCreditsArgs { epoch, purchase },
    );
    chain.send(&[instruction], &[]).await?;
    let result = BuyOutput {
        tokens_burned: tokens,
        credits,
        recipient: recipient.to_string(),
        decimals,
    };
    output(global.json, &result, |r| {
        format!(
            "bought {} credits for {} tokens (quoted), credited to {}\n",
            r.credits,
            format_tokens(r.tokens_burned, r.decimals),
            r.recipient
        )
    })
}
