//! Program-derived addresses of the bme program, from the program's own seed constants.

use anchor_lang::prelude::Pubkey;
use bme::state::{Channel, Epoch, OracleSet, Protocol, Provider, Registry};

/// The protocol PDA of a network token.
pub fn protocol(token_mint: &Pubkey) -> Pubkey {
    Pubkey::find_program_address(&[Protocol::SEED, token_mint.as_ref()], &bme::ID).0
}

/// The credit mint PDA of a protocol.
pub fn credit_mint(protocol: &Pubkey) -> Pubkey {
    Pubkey::find_program_address(&[Protocol::CREDIT_MINT_SEED, protocol.as_ref()], &bme::ID).0
}

/// The program-wide registry PDA.
pub fn registry() -> Pubkey {
    Pubkey::find_program_address(&[Registry::SEED], &bme::ID).0
}

/// The oracle-set PDA of a protocol.
pub fn oracle_set(protocol: &Pubkey) -> Pubkey {
    Pubkey::find_program_address(&[OracleSet::SEED, protocol.as_ref()], &bme::ID).0
}

/// The epoch PDA of a protocol.
pub fn epoch(protocol: &Pubkey, index: u64) -> Pubkey {
    Pubkey::find_program_address(
        &[Epoch::SEED, protocol.as_ref(), &index.to_le_bytes()],
        &bme::ID,
    )
    .0
}

/// The provider PDA of a node.
pub fn provider(protocol: &Pubkey, node: &Pubkey) -> Pubkey {
    Pubkey::find_program_address(
        &[Provider::SEED, protocol.as_ref(), node.as_ref()],
        &bme::ID,
    )
    .0
}

/// The usage-channel PDA between a provider account and a customer.
pub fn channel(provider: &Pubkey, customer: &Pubkey) -> Pubkey {
    Pubkey::find_program_address(
        &[Channel::SEED, provider.as_ref(), customer.as_ref()],
        &bme::ID,
    )
    .0
}

/// The Anchor event authority PDA (used by `emit_cpi!`).
pub fn event_authority() -> Pubkey {
    Pubkey::find_program_address(&[b"__event_authority"], &bme::ID).0
}

/// The pending-change (proposal) PDA of a protocol.
pub fn pending_change(protocol: &Pubkey) -> Pubkey {
    Pubkey::find_program_address(
        &[bme::state::PendingChange::SEED, protocol.as_ref()],
        &bme::ID,
    )
    .0
}
