//! Strict reading of Ed25519 signatures verified by the native Ed25519 program.
//!
//! The runtime verifies every signature of an Ed25519 instruction before the
//! transaction executes; this module finds that instruction through the
//! address-checked instructions sysvar and returns what it verified. It accepts an
//! instruction only if it is the one immediately before the calling instruction and
//! every signature, public key and message offset points into that instruction's own
//! data, so no signature can borrow bytes from another instruction.

use anchor_lang::prelude::*;
use anchor_lang::solana_program::instruction::Instruction;

use crate::error::BmeError;

/// Size of one offsets record in the Ed25519 instruction data.
const OFFSETS_LEN: usize = 14;
/// Where the first offsets record starts (after the count and a padding byte).
const OFFSETS_START: usize = 2;
/// The Ed25519 instruction-index value meaning "this instruction".
const THIS_INSTRUCTION: u16 = u16::MAX;

/// One signature checked by the Ed25519 program.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct VerifiedSignature<'a> {
    /// The signer's public key.
    pub signer: Pubkey,
    /// The exact signed message.
    pub message: &'a [u8],
}

/// Loads the Ed25519 instruction immediately preceding the current instruction.
pub fn preceding_ed25519_instruction(
    instructions_sysvar: &AccountInfo,
) -> Result<(Instruction, u16)> {
    let current = solana_instructions_sysvar::load_current_index_checked(instructions_sysvar)?;
    let index = current
        .checked_sub(1)
        .ok_or(BmeError::MissingEd25519Instruction)?;
    let instruction = solana_instructions_sysvar::load_instruction_at_checked(
        usize::from(index),
        instructions_sysvar,
    )?;
    require_keys_eq!(
        instruction.program_id,
        solana_sdk_ids::ed25519_program::ID,
        BmeError::MissingEd25519Instruction
    );
    Ok((instruction, index))
}

fn read_u16(data: &[u8], at: usize) -> Result<u16> {
    let end = at
        .checked_add(2)
        .ok_or(BmeError::InvalidEd25519Instruction)?;
    let bytes: [u8; 2] = data
        .get(at..end)
        .and_then(|b| b.try_into().ok())
        .ok_or(BmeError::InvalidEd25519Instruction)?;
    Ok(u16::from_le_bytes(bytes))
}

fn slice(data: &[u8], offset: u16, len: usize) -> Result<&[u8]> {
    let start = usize::from(offset);
    let end = start
        .checked_add(len)
        .ok_or(BmeError::InvalidEd25519Instruction)?;
    data.get(start..end)
        .ok_or_else(|| BmeError::InvalidEd25519Instruction.into())
}

/// Returns the signatures of an Ed25519 instruction at transaction index
/// `own_index`, refusing any offset that references another instruction.
pub fn verified_signatures(data: &[u8], own_index: u16) -> Result<Vec<VerifiedSignature<'_>>> {
    let count = usize::from(*data.first().ok_or(BmeError::InvalidEd25519Instruction)?);
    require!(data.get(1) == Some(&0), BmeError::InvalidEd25519Instruction);
    let mut signatures = Vec::with_capacity(count);
    for i in 0..count {
        let base = i
            .checked_mul(OFFSETS_LEN)
            .and_then(|o| o.checked_add(OFFSETS_START))
            .ok_or(BmeError::InvalidEd25519Instruction)?;
        let field = |n: usize| read_u16(data, base.saturating_add(n.saturating_mul(2)));
        let signature_offset = field(0)?;
        let signature_index = field(1)?;
        let pubkey_offset = field(2)?;
        let pubkey_index = field(3)?;
        let message_offset = field(4)?;
        let message_len = field(5)?;
        let message_index = field(6)?;
        for index in [signature_index, pubkey_index, message_index] {
            require!(
                index == THIS_INSTRUCTION || index == own_index,
                BmeError::InvalidEd25519Instruction
            );
        }
        // The signature bytes must exist here too, even though only the runtime reads them.
        slice(data, signature_offset, 64)?;
        let pubkey: [u8; 32] = slice(data, pubkey_offset, 32)?
            .try_into()
            .map_err(|_| BmeError::InvalidEd25519Instruction)?;
        let message = slice(data, message_offset, usize::from(message_len))?;
        signatures.push(VerifiedSignature {
            signer: Pubkey::new_from_array(pubkey),
            message,
        });
    }
    Ok(signatures)
}
