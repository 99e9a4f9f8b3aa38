//! The program-wide `Registry`: hands out compact protocol ids.

use anchor_lang::prelude::*;

/// Program-wide counter of protocols. PDA: `[Registry::SEED]`. Created by the first
/// `initialize_protocol`; holds nothing anyone could abuse.
#[account(discriminator = 6)]
#[derive(InitSpace, Debug)]
pub struct Registry {
    /// Bump of this PDA.
    pub bump: u8,
    /// Protocols created so far; the next protocol gets this value as its id.
    pub protocols: u32,
}

impl Registry {
    /// PDA seed.
    pub const SEED: &'static [u8] = b"registry";
    /// Account size including the discriminator.
    pub const SIZE: usize = 1 + Self::INIT_SPACE;
}
