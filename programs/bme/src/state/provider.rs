//! The `Provider` account: one per node, constant size, holding the work it has
//! done in at most two unclosed epochs and its reward totals.

use anchor_lang::prelude::*;

use crate::error::BmeError;

/// Work units a provider earned in one epoch that it has not yet been paid for.
/// A slot with zero units in both pools is free.
#[derive(
    AnchorSerialize, AnchorDeserialize, InitSpace, Clone, Copy, Debug, PartialEq, Eq, Default,
)]
pub struct PendingWork {
    /// The epoch the units were earned in.
    pub epoch: u32,
    /// Units from customer-settled usage (credits burned).
    pub usage_units: u64,
    /// Units from oracle-attested contribution.
    pub contribution_units: u64,
}

impl PendingWork {
    /// Whether this slot holds no work.
    pub fn is_free(&self) -> bool {
        self.usage_units == 0 && self.contribution_units == 0
    }
}

/// Which reward pool units belong to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Pool {
    /// Customer-settled usage.
    Usage,
    /// Oracle-attested contribution.
    Contribution,
}

/// A node registered with a protocol. PDA: `[Provider::SEED, protocol, node]`.
///
/// Constant size (126 bytes): the node key is only a seed (it signs registration and
/// is reported in `ProviderRegistered`); the protocol is bound by its compact id.
///
/// Pending-slot rule: units for epoch `e` go to the slot already holding `e`, else to
/// a free slot; if both slots hold other epochs, the instruction fails with
/// `ProviderSlotsFull` and nothing changes. `claim_rewards` frees the slots of
/// closed epochs, and anyone may call it, so a client closes and claims first.
/// Units are therefore never dropped and never counted twice.
#[account(discriminator = 3)]
#[derive(InitSpace, Debug)]
pub struct Provider {
    /// Id of the protocol this provider belongs to ([`crate::state::Protocol::id`]).
    pub protocol_id: u32,
    /// Bump of this PDA.
    pub bump: u8,
    /// May change the reward destination.
    pub owner: Pubkey,
    /// Token account of the network token that receives every reward claimed.
    pub destination: Pubkey,
    /// Work in at most two epochs not yet settled into `accrued`.
    pub pending: [PendingWork; 2],
    /// Rewards earned in closed epochs and not yet claimed.
    pub accrued: u64,
    /// Rewards minted to the destination so far.
    pub claimed: u64,
}

impl Provider {
    /// PDA seed prefix.
    pub const SEED: &'static [u8] = b"provider";
    /// Account size including the discriminator.
    pub const SIZE: usize = 1 + Self::INIT_SPACE;

    /// Adds `units` of `pool` work in `epoch` following the pending-slot rule.
    pub fn add_units(&mut self, epoch: u64, pool: Pool, units: u64) -> Result<()> {
        let epoch = u32::try_from(epoch).map_err(|_| BmeError::EpochOutOfRange)?;
        let index = self
            .pending
            .iter()
            .position(|slot| !slot.is_free() && slot.epoch == epoch)
            .or_else(|| self.pending.iter().position(PendingWork::is_free))
            .ok_or(BmeError::ProviderSlotsFull)?;
        let slot = self
            .pending
            .get_mut(index)
            .ok_or(BmeError::ProviderSlotsFull)?;
        if slot.is_free() {
            *slot = PendingWork {
                epoch,
                ..PendingWork::default()
            };
        }
        let field = match pool {
            Pool::Usage => &mut slot.usage_units,
            Pool::Contribution => &mut slot.contribution_units,
        };
        *field = field.checked_add(units).ok_or(BmeError::MathOverflow)?;
        Ok(())
    }
}
