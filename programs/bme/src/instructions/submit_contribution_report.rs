//! `submit_contribution_report`: M of N registered oracles attest work no customer
//! pays for (coverage, availability); the units go to the epoch's contribution pool.
//!
//! # The report
//!
//! Every signing oracle signs the same 84-byte message
//!
//! ```text
//! "bmo" 0x01 (REPORT_DOMAIN) ‖ oracle set address (32) ‖ epoch (u64 LE) ‖
//! sequence (u64 LE) ‖ SHA-256( provider₁ (32) ‖ units₁ (u64 LE) ‖ provider₂ ‖ … )
//! ```
//!
//! The instruction immediately before this one is an Ed25519 program instruction with
//! one signature per oracle (offsets pointing into itself; the message may be stored
//! once and shared). The providers are the remaining accounts, in entry order, and
//! their units are the `units` argument.

use anchor_lang::prelude::*;

use crate::constants::*;
use crate::error::BmeError;
use crate::events::ReportAccepted;
use crate::sigverify;
use crate::state::*;
use crate::utils::store;

/// Arguments of `submit_contribution_report`.
#[derive(AnchorSerialize, AnchorDeserialize, Clone, Debug, PartialEq, Eq)]
pub struct SubmitContributionReportArgs {
    /// The unclosed epoch the work was done in.
    pub epoch: u64,
    /// Report sequence number; must exceed every sequence accepted before.
    pub sequence: u64,
    /// Units per provider, in the order of the remaining accounts.
    pub units: Vec<u64>,
}

/// Accounts of `submit_contribution_report`. Anyone may submit; the oracles sign.
#[event_cpi]
#[derive(Accounts)]
#[instruction(args: SubmitContributionReportArgs)]
pub struct SubmitContributionReport<'info> {
    /// Pays for the epoch account if needed.
    #[account(mut)]
    pub payer: Signer<'info>,
    /// The protocol.
    #[account(
        seeds = [Protocol::SEED, protocol.token_mint.as_ref()],
        bump = protocol.bump,
    )]
    pub protocol: Box<Account<'info, Protocol>>,
    /// The protocol's oracle set.
    #[account(
        mut,
        seeds = [OracleSet::SEED, protocol.key().as_ref()],
        bump = oracle_set.bump,
    )]
    pub oracle_set: Box<Account<'info, OracleSet>>,
    /// The epoch credited.
    /// CHECK: the seeds check the address; `Epoch::load_or_create` reads or creates it.
    #[account(
        mut,
        seeds = [Epoch::SEED, protocol.key().as_ref(), &args.epoch.to_le_bytes()],
        bump,
    )]
    pub epoch: UncheckedAccount<'info>,
    /// CHECK: the instructions sysvar, address-checked.
    #[account(address = solana_instructions_sysvar::ID @ BmeError::InvalidInstructionsSysvar)]
    pub instructions_sysvar: UncheckedAccount<'info>,
    /// System program.
    pub system_program: Program<'info, System>,
}

/// The exact bytes the oracles sign for a report.
pub fn report_message(
    oracle_set: &Pubkey,
    epoch: u64,
    sequence: u64,
    entries_hash: &[u8; 32],
) -> [u8; REPORT_MESSAGE_LEN] {
    let mut message = [0u8; REPORT_MESSAGE_LEN];
    let parts: [&[u8]; 5] = [
        &REPORT_DOMAIN,
        oracle_set.as_ref(),
        &epoch.to_le_bytes(),
        &sequence.to_le_bytes(),
        entries_hash,
    ];
    let mut at = 0usize;
    for part in parts {
        let end = at.saturating_add(part.len());
        if let Some(dest) = message.get_mut(at..end) {
            dest.copy_from_slice(part);
        }
        at = end;
    }
    message
}

/// SHA-256 over the report entries: `provider (32) ‖ units (u64 LE)` each.
pub fn entries_hash(providers: &[Pubkey], units: &[u64]) -> [u8; 32] {
    let mut parts: Vec<[u8; 8]> = Vec::with_capacity(units.len());
    parts.extend(units.iter().map(|u| u.to_le_bytes()));
    let mut slices: Vec<&[u8]> = Vec::with_capacity(providers.len().saturating_mul(2));
    for (provider, units) in providers.iter().zip(parts.iter()) {
        slices.push(provider.as_ref());
        slices.push(units);
    }
    solana_sha256_hasher::hashv(&slices).to_bytes()
}

/// Checks the oracle signatures and credits each provider's contribution units.
pub fn handler<'info>(
    ctx: Context<'info, SubmitContributionReport<'info>>,
    args: SubmitContributionReportArgs,
) -> Result<()> {
    ctx.accounts.protocol.require_not_paused(PAUSE_REPORT)?;
    let now = Clock::get()?.unix_timestamp;
    let protocol_key = ctx.accounts.protocol.key();
    let mut epoch = Epoch::load_or_create(
        &ctx.accounts.epoch,
        &ctx.accounts.payer,
        &ctx.accounts.system_program,
        protocol_key,
        args.epoch,
        ctx.bumps.epoch,
    )?;
    require!(!epoch.closed, BmeError::EpochClosed);
    require!(
        args.epoch <= ctx.accounts.protocol.epoch_at(now)?
            && args.epoch >= ctx.accounts.protocol.next_epoch_to_close,
        BmeError::WrongEpoch
    );

    let oracle_set = &ctx.accounts.oracle_set;
    let (oracles, threshold) = ctx.accounts.protocol.oracles_at(oracle_set, args.epoch);
    require!(!oracles.is_empty(), BmeError::OracleSetEmpty);
    require!(
        args.sequence > oracle_set.last_sequence,
        BmeError::ReportReplay
    );
    let providers = ctx.remaining_accounts;
    require!(
        !providers.is_empty() && providers.len() == args.units.len(),
        BmeError::InvalidReportEntries
    );
    require!(
        args.units.iter().all(|u| *u > 0),
        BmeError::InvalidReportEntries
    );
    let provider_keys: Vec<Pubkey> = providers.iter().map(|p| p.key()).collect();
    let expected = report_message(
        &oracle_set.key(),
        args.epoch,
        args.sequence,
        &entries_hash(&provider_keys, &args.units),
    );

    let sysvar = ctx.accounts.instructions_sysvar.to_account_info();
    let (ed25519, ed25519_index) = sigverify::preceding_ed25519_instruction(&sysvar)?;
    let signatures = sigverify::verified_signatures(&ed25519.data, ed25519_index)?;
    let mut signers: Vec<Pubkey> = Vec::with_capacity(signatures.len());
    for signature in &signatures {
        require!(
            signature.message == expected.as_slice(),
            BmeError::MessageMismatch
        );
        require!(
            oracles.contains(&signature.signer),
            BmeError::UnregisteredOracle
        );
        require!(
            !signers.contains(&signature.signer),
            BmeError::DuplicateSigner
        );
        signers.push(signature.signer);
    }
    require!(
        signers.len() >= usize::from(threshold),
        BmeError::BelowThreshold
    );

    let protocol_id = ctx.accounts.protocol.id;
    let mut total: u64 = 0;
    for (info, units) in providers.iter().zip(args.units.iter()) {
        require!(info.is_writable, BmeError::InvalidReportEntries);
        let mut provider =
            Account::<Provider>::try_from(info).map_err(|_| BmeError::UnregisteredProvider)?;
        require!(
            provider.protocol_id == protocol_id,
            BmeError::UnregisteredProvider
        );
        provider.add_units(args.epoch, Pool::Contribution, *units)?;
        // Written back at once so a provider listed twice accumulates correctly.
        provider.exit(&crate::ID)?;
        total = total.checked_add(*units).ok_or(BmeError::MathOverflow)?;
    }
    Epoch::add(&mut epoch.contribution_units, total)?;
    store(&ctx.accounts.epoch, &epoch)?;
    ctx.accounts.oracle_set.last_sequence = args.sequence;

    emit_cpi!(ReportAccepted {
        protocol: protocol_key,
        epoch: args.epoch,
        sequence: args.sequence,
        providers: u32::try_from(providers.len()).map_err(|_| BmeError::MathOverflow)?,
        units: total,
        signers: u8::try_from(signers.len()).map_err(|_| BmeError::MathOverflow)?,
    });
    Ok(())
}
