//! The `OracleSet` account: who may attest contribution, and how many must agree.

use anchor_lang::prelude::*;

use crate::constants::MAX_ORACLES;
use crate::error::BmeError;

/// The oracles of a protocol. PDA: `[OracleSet::SEED, protocol]`.
#[account(discriminator = 5)]
#[derive(InitSpace, Debug)]
pub struct OracleSet {
    /// The protocol this set attests for.
    pub protocol: Pubkey,
    /// Bump of this PDA.
    pub bump: u8,
    /// Distinct signatures a report needs (1..=oracles.len(); 0 only for an empty set).
    pub threshold: u8,
    /// Registered oracle keys.
    #[max_len(MAX_ORACLES)]
    pub oracles: Vec<Pubkey>,
    /// Highest report sequence accepted so far; a report must carry a larger one.
    pub last_sequence: u64,
}

impl OracleSet {
    /// PDA seed prefix.
    pub const SEED: &'static [u8] = b"oracle_set";
    /// Account size including the discriminator.
    pub const SIZE: usize = 1 + Self::INIT_SPACE;

    /// Validates a set of oracle keys and a threshold.
    pub fn validate(oracles: &[Pubkey], threshold: u8) -> Result<()> {
        require!(oracles.len() <= MAX_ORACLES, BmeError::TooManyOracles);
        for (i, key) in oracles.iter().enumerate() {
            require!(
                !oracles
                    .iter()
                    .skip(i.saturating_add(1))
                    .any(|other| other == key),
                BmeError::DuplicateOracle
            );
        }
        if oracles.is_empty() {
            require!(threshold == 0, BmeError::InvalidOracleThreshold);
        } else {
            require!(
                threshold >= 1 && usize::from(threshold) <= oracles.len(),
                BmeError::InvalidOracleThreshold
            );
        }
        Ok(())
    }
}
