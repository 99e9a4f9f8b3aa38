//! Instruction builders, one per program instruction, shaped
//! `fn name(accounts, args) -> Instruction`.

use anchor_lang::prelude::Pubkey;
use anchor_lang::{InstructionData, ToAccountMetas};
use bme::instructions::{
    BuyCreditsArgs, CloseEpochArgs, InitializeProtocolArgs, SettleUsageArgs,
    SubmitContributionReportArgs,
};
use solana_sdk::instruction::{AccountMeta, Instruction};

use crate::pda;

/// SPL Token program id.
pub const SPL_TOKEN: Pubkey = anchor_spl::token::ID;
/// Token-2022 program id.
pub const TOKEN_2022: Pubkey = anchor_spl::token_2022::ID;
/// System program id.
pub const SYSTEM: Pubkey = anchor_lang::solana_program::system_program::ID;

fn instruction(accounts: Vec<AccountMeta>, data: Vec<u8>) -> Instruction {
    Instruction {
        program_id: bme::ID,
        accounts,
        data,
    }
}

/// The associated token account of `owner` for `mint` under `token_program`.
pub fn associated_token(owner: &Pubkey, mint: &Pubkey, token_program: &Pubkey) -> Pubkey {
    anchor_spl::associated_token::get_associated_token_address_with_program_id(
        owner,
        mint,
        token_program,
    )
}

/// Accounts of [`initialize_protocol`].
#[derive(Debug, Clone, Copy)]
pub struct InitializeProtocolAccounts {
    /// Pays rent.
    pub payer: Pubkey,
    /// The network token mint (a fresh signer for `NewMint`).
    pub token_mint: Pubkey,
    /// Treasury token account of the network token.
    pub treasury: Pubkey,
    /// The network token's program.
    pub token_program: Pubkey,
}

/// Builds `initialize_protocol`.
pub fn initialize_protocol(
    accounts: InitializeProtocolAccounts,
    args: InitializeProtocolArgs,
) -> Instruction {
    let protocol = pda::protocol(&accounts.token_mint);
    let metas = bme::accounts::InitializeProtocol {
        payer: accounts.payer,
        token_mint: accounts.token_mint,
        protocol,
        registry: pda::registry(),
        credit_mint: pda::credit_mint(&protocol),
        oracle_set: pda::oracle_set(&protocol),
        treasury: accounts.treasury,
        token_program: accounts.token_program,
        credit_token_program: TOKEN_2022,
        system_program: SYSTEM,
        event_authority: pda::event_authority(),
        program: bme::ID,
    }
    .to_account_metas(None);
    let mut metas = metas;
    // A new mint signs its own creation.
    if matches!(args.token, bme::instructions::TokenSetup::NewMint { .. }) {
        if let Some(meta) = metas.iter_mut().find(|m| m.pubkey == accounts.token_mint) {
            meta.is_signer = true;
        }
    }
    instruction(metas, bme::instruction::InitializeProtocol { args }.data())
}

/// Accounts of [`buy_credits`].
#[derive(Debug, Clone, Copy)]
pub struct BuyCreditsAccounts {
    /// The buyer (signer, burns its tokens).
    pub buyer: Pubkey,
    /// The network token mint.
    pub token_mint: Pubkey,
    /// The network token's program.
    pub token_program: Pubkey,
    /// The buyer's token account (defaults to its associated account when `None`).
    pub buyer_token_account: Option<Pubkey>,
    /// Who receives the credits.
    pub recipient: Pubkey,
    /// The Pyth price account when the protocol uses Pyth.
    pub price_update: Option<Pubkey>,
}

/// Builds `buy_credits`.
pub fn buy_credits(accounts: BuyCreditsAccounts, args: BuyCreditsArgs) -> Instruction {
    let protocol = pda::protocol(&accounts.token_mint);
    let credit_mint = pda::credit_mint(&protocol);
    let metas = bme::accounts::BuyCredits {
        buyer: accounts.buyer,
        protocol,
        epoch: pda::epoch(&protocol, args.epoch),
        token_mint: accounts.token_mint,
        buyer_token_account: accounts.buyer_token_account.unwrap_or_else(|| {
            associated_token(
                &accounts.buyer,
                &accounts.token_mint,
                &accounts.token_program,
            )
        }),
        credit_mint,
        recipient: accounts.recipient,
        recipient_credit_account: associated_token(&accounts.recipient, &credit_mint, &TOKEN_2022),
        price_update: accounts.price_update,
        token_program: accounts.token_program,
        credit_token_program: TOKEN_2022,
        associated_token_program: anchor_spl::associated_token::ID,
        system_program: SYSTEM,
        event_authority: pda::event_authority(),
        program: bme::ID,
    }
    .to_account_metas(None);
    instruction(metas, bme::instruction::BuyCredits { args }.data())
}

/// Accounts of [`register_provider`].
#[derive(Debug, Clone, Copy)]
pub struct RegisterProviderAccounts {
    /// Pays rent.
    pub payer: Pubkey,
    /// The node identity key (signer).
    pub node: Pubkey,
    /// The owner.
    pub owner: Pubkey,
    /// The protocol.
    pub protocol: Pubkey,
    /// The reward destination token account.
    pub destination: Pubkey,
}

/// Builds `register_provider`.
pub fn register_provider(accounts: RegisterProviderAccounts) -> Instruction {
    let metas = bme::accounts::RegisterProvider {
        payer: accounts.payer,
        node: accounts.node,
        owner: accounts.owner,
        protocol: accounts.protocol,
        provider: pda::provider(&accounts.protocol, &accounts.node),
        destination: accounts.destination,
        system_program: SYSTEM,
        event_authority: pda::event_authority(),
        program: bme::ID,
    }
    .to_account_metas(None);
    instruction(metas, bme::instruction::RegisterProvider {}.data())
}

/// Builds `set_provider_destination`.
pub fn set_provider_destination(
    owner: Pubkey,
    protocol: Pubkey,
    provider: Pubkey,
    new_destination: Pubkey,
) -> Instruction {
    let metas = bme::accounts::SetProviderDestination {
        owner,
        protocol,
        provider,
        new_destination,
        event_authority: pda::event_authority(),
        program: bme::ID,
    }
    .to_account_metas(None);
    instruction(metas, bme::instruction::SetProviderDestination {}.data())
}

/// Accounts of [`settle_usage`].
#[derive(Debug, Clone, Copy)]
pub struct SettleUsageAccounts {
    /// Submits and pays rent for new channels.
    pub payer: Pubkey,
    /// The protocol.
    pub protocol: Pubkey,
    /// The provider account being paid.
    pub provider: Pubkey,
    /// The credit mint.
    pub credit_mint: Pubkey,
}

/// Builds `settle_usage` for receipts of `customers` (one `(channel, credit account)`
/// pair each, in the order of the preceding Ed25519 instruction's signatures).
pub fn settle_usage(
    accounts: SettleUsageAccounts,
    customers: &[Pubkey],
    args: SettleUsageArgs,
) -> Instruction {
    let mut metas = bme::accounts::SettleUsage {
        payer: accounts.payer,
        protocol: accounts.protocol,
        provider: accounts.provider,
        epoch: pda::epoch(&accounts.protocol, args.epoch),
        credit_mint: accounts.credit_mint,
        instructions_sysvar: solana_sdk::sysvar::instructions::ID,
        credit_token_program: TOKEN_2022,
        system_program: SYSTEM,
        event_authority: pda::event_authority(),
        program: bme::ID,
    }
    .to_account_metas(None);
    for customer in customers {
        metas.push(AccountMeta::new(
            pda::channel(&accounts.provider, customer),
            false,
        ));
        metas.push(AccountMeta::new(
            associated_token(customer, &accounts.credit_mint, &TOKEN_2022),
            false,
        ));
    }
    instruction(metas, bme::instruction::SettleUsage { args }.data())
}

/// Builds the Ed25519 instruction and `settle_usage` for a batch of receipts that all
/// pay the same provider (the pair a transaction carries).
pub fn settle_receipts(
    payer: Pubkey,
    protocol: Pubkey,
    credit_mint: Pubkey,
    epoch: u64,
    receipts: &[crate::receipt::SignedReceipt],
) -> Vec<Instruction> {
    let messages: Vec<[u8; bme::constants::RECEIPT_MESSAGE_LEN]> =
        receipts.iter().map(|r| r.message()).collect();
    let entries: Vec<(Pubkey, solana_sdk::signature::Signature, &[u8])> = receipts
        .iter()
        .zip(messages.iter())
        .map(|(r, m)| (r.customer, r.signature, m.as_slice()))
        .collect();
    let provider = receipts.first().map(|r| r.provider).unwrap_or_default();
    let customers: Vec<Pubkey> = receipts.iter().map(|r| r.customer).collect();
    vec![
        crate::receipt::ed25519_instruction(&entries),
        settle_usage(
            SettleUsageAccounts {
                payer,
                protocol,
                provider,
                credit_mint,
            },
            &customers,
            SettleUsageArgs { epoch },
        ),
    ]
}

/// Accounts of [`close_epoch`].
#[derive(Debug, Clone, Copy)]
pub struct CloseEpochAccounts {
    /// Pays for the epoch account if needed.
    pub payer: Pubkey,
    /// The protocol.
    pub protocol: Pubkey,
    /// The network token mint.
    pub token_mint: Pubkey,
    /// The treasury token account.
    pub treasury: Pubkey,
    /// The network token's program.
    pub token_program: Pubkey,
}

/// Builds `close_epoch`.
pub fn close_epoch(accounts: CloseEpochAccounts, args: CloseEpochArgs) -> Instruction {
    let metas = bme::accounts::CloseEpoch {
        payer: accounts.payer,
        protocol: accounts.protocol,
        epoch: pda::epoch(&accounts.protocol, args.epoch),
        token_mint: accounts.token_mint,
        treasury: accounts.treasury,
        token_program: accounts.token_program,
        system_program: SYSTEM,
        event_authority: pda::event_authority(),
        program: bme::ID,
    }
    .to_account_metas(None);
    instruction(metas, bme::instruction::CloseEpoch { args }.data())
}

/// Accounts of [`submit_contribution_report`].
#[derive(Debug, Clone, Copy)]
pub struct ReportAccounts {
    /// Pays for the epoch account if needed.
    pub payer: Pubkey,
    /// The protocol.
    pub protocol: Pubkey,
}

/// Builds `submit_contribution_report` for `providers` (in entry order).
pub fn submit_contribution_report(
    accounts: ReportAccounts,
    providers: &[Pubkey],
    args: SubmitContributionReportArgs,
) -> Instruction {
    let mut metas = bme::accounts::SubmitContributionReport {
        payer: accounts.payer,
        protocol: accounts.protocol,
        oracle_set: pda::oracle_set(&accounts.protocol),
        epoch: pda::epoch(&accounts.protocol, args.epoch),
        instructions_sysvar: solana_sdk::sysvar::instructions::ID,
        system_program: SYSTEM,
        event_authority: pda::event_authority(),
        program: bme::ID,
    }
    .to_account_metas(None);
    metas.extend(providers.iter().map(|p| AccountMeta::new(*p, false)));
    instruction(
        metas,
        bme::instruction::SubmitContributionReport { args }.data(),
    )
}

/// Builds the Ed25519 instruction carrying `oracles`' signatures of a report, and the
/// report instruction itself.
pub fn signed_report(
    payer: Pubkey,
    protocol: Pubkey,
    oracles: &[&solana_sdk::signature::Keypair],
    epoch: u64,
    sequence: u64,
    entries: &[(Pubkey, u64)],
) -> Vec<Instruction> {
    use solana_sdk::signature::Signer;
    let providers: Vec<Pubkey> = entries.iter().map(|(p, _)| *p).collect();
    let units: Vec<u64> = entries.iter().map(|(_, u)| *u).collect();
    let message = bme::instructions::report_message(
        &pda::oracle_set(&protocol),
        epoch,
        sequence,
        &bme::instructions::entries_hash(&providers, &units),
    );
    let signed: Vec<(Pubkey, solana_sdk::signature::Signature, &[u8])> = oracles
        .iter()
        .map(|k| (k.pubkey(), k.sign_message(&message), message.as_slice()))
        .collect();
    vec![
        crate::receipt::ed25519_instruction(&signed),
        submit_contribution_report(
            ReportAccounts { payer, protocol },
            &providers,
            SubmitContributionReportArgs {
                epoch,
                sequence,
                units,
            },
        ),
    ]
}

/// Accounts of [`claim_rewards`].
#[derive(Debug, Clone, Copy)]
pub struct ClaimRewardsAccounts {
    /// The protocol.
    pub protocol: Pubkey,
    /// The provider.
    pub provider: Pubkey,
    /// The provider's registered destination.
    pub destination: Pubkey,
    /// The network token mint.
    pub token_mint: Pubkey,
    /// The network token's program.
    pub token_program: Pubkey,
}

/// Builds `claim_rewards`, passing the epoch accounts of `pending_epochs` (the
/// provider's pending slots whose epochs are closed).
pub fn claim_rewards(accounts: ClaimRewardsAccounts, pending_epochs: &[u64]) -> Instruction {
    let mut metas = bme::accounts::ClaimRewards {
        protocol: accounts.protocol,
        provider: accounts.provider,
        destination: accounts.destination,
        token_mint: accounts.token_mint,
        token_program: accounts.token_program,
        event_authority: pda::event_authority(),
        program: bme::ID,
    }
    .to_account_metas(None);
    metas.extend(
        pending_epochs
            .iter()
            .map(|e| AccountMeta::new(pda::epoch(&accounts.protocol, *e), false)),
    );
    instruction(metas, bme::instruction::ClaimRewards {}.data())
}

/// Builds `transfer_authority` (step one of the handoff).
pub fn transfer_authority(
    authority: Pubkey,
    protocol: Pubkey,
    new_authority: Pubkey,
) -> Instruction {
    let metas = bme::accounts::TransferAuthority {
        authority,
        protocol,
        event_authority: pda::event_authority(),
        program: bme::ID,
    }
    .to_account_metas(None);
    instruction(
        metas,
        bme::instruction::TransferAuthority { new_authority }.data(),
    )
}

/// Builds `accept_authority` (the proposed authority signs).
pub fn accept_authority(new_authority: Pubkey, protocol: Pubkey) -> Instruction {
    let metas = bme::accounts::AcceptAuthority {
        new_authority,
        protocol,
        event_authority: pda::event_authority(),
        program: bme::ID,
    }
    .to_account_metas(None);
    instruction(metas, bme::instruction::AcceptAuthority {}.data())
}

/// Builds `cancel_authority_transfer`.
pub fn cancel_authority_transfer(authority: Pubkey, protocol: Pubkey) -> Instruction {
    let metas = bme::accounts::CancelAuthorityTransfer {
        authority,
        protocol,
        event_authority: pda::event_authority(),
        program: bme::ID,
    }
    .to_account_metas(None);
    instruction(metas, bme::instruction::CancelAuthorityTransfer {}.data())
}

/// Builds `set_guardian`.
pub fn set_guardian(authority: Pubkey, protocol: Pubkey, new_guardian: Pubkey) -> Instruction {
    let metas = bme::accounts::SetGuardian {
        authority,
        protocol,
        event_authority: pda::event_authority(),
        program: bme::ID,
    }
    .to_account_metas(None);
    instruction(metas, bme::instruction::SetGuardian { new_guardian }.data())
}

/// Builds `propose_change`.
pub fn propose_change(
    authority: Pubkey,
    payer: Pubkey,
    protocol: Pubkey,
    token_mint: Pubkey,
    change: bme::state::ParameterChange,
) -> Instruction {
    let metas = bme::accounts::ProposeChange {
        authority,
        payer,
        protocol,
        pending_change: pda::pending_change(&protocol),
        token_mint,
        system_program: SYSTEM,
        event_authority: pda::event_authority(),
        program: bme::ID,
    }
    .to_account_metas(None);
    instruction(metas, bme::instruction::ProposeChange { change }.data())
}

/// Builds `apply_change` (permissionless).
pub fn apply_change(protocol: Pubkey, token_mint: Pubkey) -> Instruction {
    let metas = bme::accounts::ApplyChange {
        protocol,
        pending_change: pda::pending_change(&protocol),
        oracle_set: pda::oracle_set(&protocol),
        token_mint,
        event_authority: pda::event_authority(),
        program: bme::ID,
    }
    .to_account_metas(None);
    instruction(metas, bme::instruction::ApplyChange {}.data())
}

/// Builds `cancel_change`.
pub fn cancel_change(authority: Pubkey, protocol: Pubkey) -> Instruction {
    let metas = bme::accounts::CancelChange {
        authority,
        protocol,
        pending_change: pda::pending_change(&protocol),
        event_authority: pda::event_authority(),
        program: bme::ID,
    }
    .to_account_metas(None);
    instruction(metas, bme::instruction::CancelChange {}.data())
}

/// Builds `pause` (guardian or authority) for `PAUSE_*` `flags`.
pub fn pause(signer: Pubkey, protocol: Pubkey, flags: u8) -> Instruction {
    let metas = bme::accounts::Pause {
        signer,
        protocol,
        event_authority: pda::event_authority(),
        program: bme::ID,
    }
    .to_account_metas(None);
    instruction(metas, bme::instruction::Pause { flags }.data())
}

/// Builds `unpause` (authority only) for `PAUSE_*` `flags`.
pub fn unpause(authority: Pubkey, protocol: Pubkey, flags: u8) -> Instruction {
    let metas = bme::accounts::Unpause {
        authority,
        protocol,
        event_authority: pda::event_authority(),
        program: bme::ID,
    }
    .to_account_metas(None);
    instruction(metas, bme::instruction::Unpause { flags }.data())
}

/// Builds the SPL Token / Token-2022 `SetAuthority` that hands `mint`'s mint authority
/// from `current_authority` (who signs) to the protocol PDA of that mint: the first
/// instruction of a genesis over an existing mint (`TokenSetup::ExistingMint`), sent in
/// the same transaction as [`initialize_protocol`] so nobody can front-run the genesis.
pub fn hand_over_mint_authority(
    token_program: &Pubkey,
    mint: &Pubkey,
    current_authority: &Pubkey,
) -> Result<Instruction, crate::ClientError> {
    anchor_spl::token_2022::spl_token_2022::instruction::set_authority(
        token_program,
        mint,
        Some(&pda::protocol(mint)),
        anchor_spl::token_2022::spl_token_2022::instruction::AuthorityType::MintTokens,
        current_authority,
        &[],
    )
    .map_err(|e| crate::ClientError::Input(format!("set_authority: {e}")))
}
