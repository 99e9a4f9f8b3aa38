//! The `Channel` account: what a customer has paid a provider so far.

use anchor_lang::prelude::*;

/// The usage channel between one customer and one provider.
/// PDA: `[Channel::SEED, provider, customer]`. Constant size (74 bytes).
///
/// `settled` only rises; it equals the credits burned through this channel, so a
/// customer's cumulative receipt can never be counted twice.
#[account(discriminator = 4)]
#[derive(InitSpace, Debug)]
pub struct Channel {
    /// The provider account being paid.
    pub provider: Pubkey,
    /// The customer whose credits are burned (the receipt signer).
    pub customer: Pubkey,
    /// Cumulative credits settled through this channel.
    pub settled: u64,
    /// Bump of this PDA.
    pub bump: u8,
}

impl Channel {
    /// PDA seed prefix.
    pub const SEED: &'static [u8] = b"channel";
    /// Account size including the discriminator.
    pub const SIZE: usize = 1 + Self::INIT_SPACE;
}
