//! A test-only program standing in for a multisig vault or a DAO treasury: it holds no
//! state and signs any bme instruction with its PDA through `invoke_signed`, the way
//! Squads or SPL Governance make a PDA the protocol's authority.

use anchor_lang::solana_program::account_info::AccountInfo;
use anchor_lang::solana_program::entrypoint::ProgramResult;
use anchor_lang::solana_program::instruction::{AccountMeta, Instruction};
use anchor_lang::solana_program::program::invoke_signed;
use anchor_lang::solana_program::pubkey::Pubkey;

/// Program id of the test vault.
pub const VAULT_PROGRAM_ID: Pubkey = Pubkey::new_from_array([0xAB; 32]);
/// Seed of the vault PDA.
pub const VAULT_SEED: &[u8] = b"vault";

/// The vault PDA (the address that acts as authority).
pub fn vault_address() -> (Pubkey, u8) {
    Pubkey::find_program_address(&[VAULT_SEED], &VAULT_PROGRAM_ID)
}

/// Entry point: account 0 is the bme program, the rest are the inner instruction's
/// accounts; the data is the inner instruction's data. The vault PDA signs.
pub fn process(_program_id: &Pubkey, accounts: &[AccountInfo], data: &[u8]) -> ProgramResult {
    let (vault, bump) = vault_address();
    let (program, inner) = accounts
        .split_first()
        .ok_or(anchor_lang::solana_program::program_error::ProgramError::NotEnoughAccountKeys)?;
    let instruction = Instruction {
        program_id: *program.key,
        accounts: inner
            .iter()
            .map(|a| AccountMeta {
                pubkey: *a.key,
                is_signer: a.is_signer || *a.key == vault,
                is_writable: a.is_writable,
            })
            .collect(),
        data: data.to_vec(),
    };
    invoke_signed(&instruction, accounts, &[&[VAULT_SEED, &[bump]]])
}

/// Wraps a bme instruction so the vault signs it.
pub fn through_vault(inner: Instruction) -> Instruction {
    let (vault, _) = vault_address();
    let mut accounts = vec![AccountMeta::new_readonly(inner.program_id, false)];
    accounts.extend(inner.accounts.into_iter().map(|mut meta| {
        if meta.pubkey == vault {
            meta.is_signer = false;
        }
        meta
    }));
    Instruction {
        program_id: VAULT_PROGRAM_ID,
        accounts,
        data: inner.data,
    }
}

/// A runtime with the bme program and the vault program.
pub async fn runtime_with_vault() -> crate::TestFixture {
    let mut program_test = bme_client::runtime::program_test();
    program_test.add_program(
        "bme_test_vault",
        VAULT_PROGRAM_ID,
        solana_program_test::processor!(process),
    );
    crate::TestFixture::start(program_test).await
}
