//! The `Epoch` account: what happened in one epoch and, once closed, its pools.

use anchor_lang::prelude::*;

/// One epoch of a protocol. PDA: `[Epoch::SEED, protocol, index (u64 LE)]`.
/// Created by the first activity that needs it (or by `close_epoch`), closed once.
#[account(discriminator = 2)]
#[derive(InitSpace, Debug, Default)]
pub struct Epoch {
    /// The protocol this epoch belongs to.
    pub protocol: Pubkey,
    /// Epoch number since genesis.
    pub index: u64,
    /// Bump of this PDA.
    pub bump: u8,
    /// Whether the epoch has been closed (its pools are final).
    pub closed: bool,
    /// Network tokens burned for credits during the epoch.
    pub tokens_burned: u64,
    /// Credits minted during the epoch.
    pub credits_minted: u64,
    /// Credits burned by usage settled during the epoch.
    pub credits_burned: u64,
    /// Total usage work units (sum over providers).
    pub usage_units: u64,
    /// Total contribution work units (sum over providers).
    pub contribution_units: u64,
    /// Emission the schedule assigns to this epoch.
    pub scheduled_emission: u64,
    /// Re-mint of burned tokens added on top (capped by the net re-mint cap).
    pub remint: u64,
    /// Emission decided at close, before the supply-cap clamp (scheduled + re-mint):
    /// always `usage_pool + contribution_pool + treasury_amount + not_emitted`.
    pub emission: u64,
    /// Pool shared by providers pro rata to usage units.
    pub usage_pool: u64,
    /// Pool shared by providers pro rata to contribution units.
    pub contribution_pool: u64,
    /// Minted to the treasury at close.
    pub treasury_amount: u64,
    /// Part of the emission not minted (a pool without units).
    pub not_emitted: u64,
    /// Usage-pool rewards settled to providers so far.
    pub usage_claimed: u64,
    /// Contribution-pool rewards settled to providers so far.
    pub contribution_claimed: u64,
    /// Unix time of the close (0 while open).
    pub closed_at: i64,
}

impl Epoch {
    /// PDA seed prefix.
    pub const SEED: &'static [u8] = b"epoch";
    /// Account size including the discriminator.
    pub const SIZE: usize = 1 + Self::INIT_SPACE;
}

impl Epoch {
    /// Fills in a freshly created epoch account ([`Epoch::load_or_create`]); a no-op when it
    /// already exists. Fails if an existing account is for another epoch or protocol.
    pub fn open(&mut self, protocol: Pubkey, index: u64, bump: u8) -> Result<()> {
        if self.protocol == Pubkey::default() {
            self.protocol = protocol;
            self.index = index;
            self.bump = bump;
        }
        require_keys_eq!(
            self.protocol,
            protocol,
            crate::error::BmeError::EpochProtocolMismatch
        );
        require!(self.index == index, crate::error::BmeError::WrongEpoch);
        Ok(())
    }

    /// Loads epoch `index` of `protocol` from `info` (its PDA with `bump`, which the
    /// caller's seeds constraint has checked), creating it on first use, paid by
    /// `payer`, even when someone pre-funded its predictable address. The caller
    /// writes it back with [`crate::utils::store`].
    pub fn load_or_create<'info>(
        info: &AccountInfo<'info>,
        payer: &AccountInfo<'info>,
        system_program: &AccountInfo<'info>,
        protocol: Pubkey,
        index: u64,
        bump: u8,
    ) -> Result<Epoch> {
        let index_bytes = index.to_le_bytes();
        let seeds: &[&[u8]] = &[
            Self::SEED,
            protocol.as_ref(),
            &index_bytes,
            std::slice::from_ref(&bump),
        ];
        let mut epoch =
            crate::utils::load_or_create::<Epoch>(info, payer, system_program, Self::SIZE, seeds)?
                .unwrap_or_default();
        epoch.open(protocol, index, bump)?;
        Ok(epoch)
    }

    /// Adds to one of the epoch's counters with overflow checking.
    pub fn add(counter: &mut u64, amount: u64) -> Result<()> {
        *counter = counter
            .checked_add(amount)
            .ok_or(crate::error::BmeError::MathOverflow)?;
        Ok(())
    }
}
