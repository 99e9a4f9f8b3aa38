//! # bme — burn-and-mint equilibrium for DePIN networks
//!
//! One program instance serves any number of networks; each network token has one
//! [`state::Protocol`].
//!
//! ## Lifecycle
//!
//! 1. **Genesis** — `initialize_protocol` creates the protocol, takes (or creates) the
//!    network token's mint authority, creates the non-transferable credit mint and
//!    the oracle set.
//! 2. **Buy credits** — a customer burns network tokens for credits at the USD price
//!    (`buy_credits`, price from a pinned Pyth feed or a fixed price).
//! 3. **Serve and prove** — providers register (`register_provider`) and settle
//!    customer-signed cumulative receipts in batches (`settle_usage`), which burns the
//!    customers' credits and earns usage work units; oracles attest contribution
//!    (`submit_contribution_report`).
//! 4. **Close** — after an epoch ends plus a grace period anyone may `close_epoch`:
//!    the emission is fixed from the schedule plus a capped re-mint, split into pools
//!    and a treasury share.
//! 5. **Claim** — anyone may `claim_rewards` for a provider; the tokens go only to the
//!    provider's registered destination.
//!
//! ## Who may call what
//!
//! | instruction | signer |
//! |---|---|
//! | `initialize_protocol` | anyone (pays); the network token's mint authority must already be the protocol PDA, or the program creates the mint |
//! | `buy_credits` | the buyer (burns its own tokens) |
//! | `register_provider` | the node key |
//! | `set_provider_destination` | the provider's owner |
//! | `settle_usage` | anyone; each receipt carries its customer's Ed25519 signature |
//! | `submit_contribution_report` | anyone; the report carries M-of-N oracle signatures |
//! | `close_epoch`, `claim_rewards`, `apply_change` | anyone |
//! | `transfer_authority`, `cancel_authority_transfer`, `set_guardian`, `propose_change`, `cancel_change`, `unpause` | the authority |
//! | `accept_authority` | the proposed authority |
//! | `pause` | the guardian or the authority |
//!
//! Governance (see [`state::governance`]): one timelocked proposal at a time, bounded
//! on chain, effective from the next epoch boundary, never retroactive.
#![deny(clippy::arithmetic_side_effects)]
// SBF gives every call frame 4 KiB of stack: `clippy.toml` sets that threshold.
#![deny(clippy::large_stack_frames)]
// No floats on chain (CI also greps for float types and literals).
#![deny(clippy::float_arithmetic)]
// A failure is a named error, never a panic (tests may unwrap).
#![cfg_attr(
    not(test),
    deny(clippy::unwrap_used, clippy::expect_used, clippy::panic)
)]
#![allow(clippy::result_large_err)]

use anchor_lang::prelude::*;

pub mod constants;
pub mod error;
pub mod events;
pub mod instructions;
pub mod math;
pub mod sigverify;
pub mod state;
pub mod utils;

use instructions::*;
use state::ParameterChange;

declare_id!("3srf94pu7AVjsF86ZAco7WCuEjtXRQMk6z4133VFHSuX");

// How to report a vulnerability, embedded in the deployed program (explorers show it).
// The contact is a placeholder until the project's security mailbox exists: see
// SECURITY.md.
#[cfg(not(feature = "no-entrypoint"))]
solana_security_txt::security_txt! {
    name: "bme",
    project_url: "https://github.com/bme-network/bme",
    contacts: "email:security@bme-network.invalid",
    policy: "https://github.com/bme-network/bme/blob/main/SECURITY.md",
    preferred_languages: "en",
    source_code: "https://github.com/bme-network/bme"
}

/// The bme program.
#[program]
pub mod bme {
    use super::*;

    /// Creates a protocol for a network token (genesis).
    pub fn initialize_protocol(
        ctx: Context<InitializeProtocol>,
        args: InitializeProtocolArgs,
    ) -> Result<()> {
        instructions::initialize_protocol::handler(ctx, args)
    }

    /// Burns network tokens for credits at the current USD price.
    pub fn buy_credits(ctx: Context<BuyCredits>, args: BuyCreditsArgs) -> Result<()> {
        instructions::buy_credits::handler(ctx, args)
    }

    /// Registers a provider (node) and its reward destination.
    pub fn register_provider(ctx: Context<RegisterProvider>) -> Result<()> {
        instructions::register_provider::handler(ctx)
    }

    /// Changes a provider's reward destination (owner only).
    pub fn set_provider_destination(ctx: Context<SetProviderDestination>) -> Result<()> {
        instructions::set_provider_destination::handler(ctx)
    }

    /// Settles a batch of customer-signed cumulative usage receipts for one provider.
    pub fn settle_usage<'info>(
        ctx: Context<'info, SettleUsage<'info>>,
        args: SettleUsageArgs,
    ) -> Result<()> {
        instructions::settle_usage::handler(ctx, args)
    }

    /// Credits oracle-attested contribution units to providers for an unclosed epoch.
    pub fn submit_contribution_report<'info>(
        ctx: Context<'info, SubmitContributionReport<'info>>,
        args: SubmitContributionReportArgs,
    ) -> Result<()> {
        instructions::submit_contribution_report::handler(ctx, args)
    }

    /// Closes the oldest unclosed epoch: emission, pools, treasury mint.
    pub fn close_epoch(ctx: Context<CloseEpoch>, args: CloseEpochArgs) -> Result<()> {
        instructions::close_epoch::handler(ctx, args)
    }

    /// Settles a provider's closed epochs and mints its rewards to its destination.
    pub fn claim_rewards<'info>(ctx: Context<'info, ClaimRewards<'info>>) -> Result<()> {
        instructions::claim_rewards::handler(ctx)
    }

    /// Proposes a new authority (step one of two; authority only).
    pub fn transfer_authority(
        ctx: Context<TransferAuthority>,
        new_authority: Pubkey,
    ) -> Result<()> {
        instructions::transfer_authority::handler(ctx, new_authority)
    }

    /// Accepts a proposed authority transfer (the proposed authority signs).
    pub fn accept_authority(ctx: Context<AcceptAuthority>) -> Result<()> {
        instructions::accept_authority::handler(ctx)
    }

    /// Withdraws a proposed authority transfer (authority only).
    pub fn cancel_authority_transfer(ctx: Context<CancelAuthorityTransfer>) -> Result<()> {
        instructions::cancel_authority_transfer::handler(ctx)
    }

    /// Sets the guardian (authority only).
    pub fn set_guardian(ctx: Context<SetGuardian>, new_guardian: Pubkey) -> Result<()> {
        instructions::set_guardian::handler(ctx, new_guardian)
    }

    /// Proposes a bounded parameter change behind the timelock (authority only).
    pub fn propose_change(ctx: Context<ProposeChange>, change: ParameterChange) -> Result<()> {
        instructions::propose_change::handler(ctx, change)
    }

    /// Applies the pending change after its timelock, from the next epoch on (anyone).
    pub fn apply_change(ctx: Context<ApplyChange>) -> Result<()> {
        instructions::apply_change::handler(ctx)
    }

    /// Cancels the pending change (authority only).
    pub fn cancel_change(ctx: Context<CancelChange>) -> Result<()> {
        instructions::cancel_change::handler(ctx)
    }

    /// Pauses flows (guardian or authority).
    pub fn pause(ctx: Context<Pause>, flags: u8) -> Result<()> {
        instructions::pause::handler(ctx, flags)
    }

    /// Unpauses flows (authority only).
    pub fn unpause(ctx: Context<Unpause>, flags: u8) -> Result<()> {
        instructions::unpause::handler(ctx, flags)
    }
}
