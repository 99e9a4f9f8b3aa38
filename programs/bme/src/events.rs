//! Events emitted through `emit_cpi!`, so indexers can read them from inner
//! instructions (and tests can, where the runtime records them).

use anchor_lang::prelude::*;

/// A protocol was created.
#[event]
pub struct ProtocolInitialized {
    /// The new protocol.
    pub protocol: Pubkey,
    /// Its network token.
    pub token_mint: Pubkey,
    /// Its credit mint.
    pub credit_mint: Pubkey,
    /// Its governance authority.
    pub authority: Pubkey,
    /// Unix time of epoch 0.
    pub genesis_time: i64,
    /// Epoch length in seconds.
    pub epoch_length_secs: u64,
}

/// Credits were bought by burning network tokens.
#[event]
pub struct CreditsBought {
    /// The protocol.
    pub protocol: Pubkey,
    /// Who paid.
    pub buyer: Pubkey,
    /// Who received the credits.
    pub recipient: Pubkey,
    /// Epoch of the purchase.
    pub epoch: u64,
    /// Network tokens burned (base units).
    pub tokens_burned: u64,
    /// Credits minted.
    pub credits_minted: u64,
    /// Price used (after subtracting the confidence): mantissa.
    pub price: u64,
    /// Price exponent.
    pub price_expo: i32,
}

/// A provider was registered.
#[event]
pub struct ProviderRegistered {
    /// The protocol.
    pub protocol: Pubkey,
    /// The provider account.
    pub provider: Pubkey,
    /// The node identity key (the provider PDA's seed).
    pub node: Pubkey,
    /// The owner, who may change the destination.
    pub owner: Pubkey,
    /// The reward destination token account.
    pub destination: Pubkey,
}

/// A provider's reward destination changed.
#[event]
pub struct ProviderDestinationChanged {
    /// The provider account.
    pub provider: Pubkey,
    /// The previous destination.
    pub old_destination: Pubkey,
    /// The new destination.
    pub new_destination: Pubkey,
}

/// One customer receipt was settled.
#[event]
pub struct UsageSettled {
    /// The provider credited.
    pub provider: Pubkey,
    /// The channel settled.
    pub channel: Pubkey,
    /// The customer whose credits were burned.
    pub customer: Pubkey,
    /// The epoch the work units were added to.
    pub epoch: u64,
    /// Cumulative credits settled through the channel after this receipt.
    pub cumulative: u64,
    /// Credits burned (= usage work units added) by this receipt.
    pub credits_burned: u64,
}

/// An epoch was closed and its emission decided.
#[event]
pub struct EpochClosed {
    /// The protocol.
    pub protocol: Pubkey,
    /// The epoch closed.
    pub epoch: u64,
    /// Emission from the schedule.
    pub scheduled_emission: u64,
    /// Capped re-mint of burned tokens.
    pub remint: u64,
    /// Total emission (scheduled + re-mint).
    pub emission: u64,
    /// Usage pool.
    pub usage_pool: u64,
    /// Contribution pool.
    pub contribution_pool: u64,
    /// Minted to the treasury.
    pub treasury_amount: u64,
    /// Not minted (pools without units, supply-cap clamp).
    pub not_emitted: u64,
    /// Network tokens burned for credits during the epoch.
    pub tokens_burned: u64,
    /// Credits burned by usage during the epoch.
    pub credits_burned: u64,
}

/// An oracle contribution report was accepted.
#[event]
pub struct ReportAccepted {
    /// The protocol.
    pub protocol: Pubkey,
    /// The epoch credited.
    pub epoch: u64,
    /// The report's sequence number.
    pub sequence: u64,
    /// Providers credited.
    pub providers: u32,
    /// Contribution units added in total.
    pub units: u64,
    /// Distinct registered oracles that signed.
    pub signers: u8,
}

/// Rewards were claimed for a provider.
#[event]
pub struct RewardsClaimed {
    /// The provider.
    pub provider: Pubkey,
    /// Where the tokens went.
    pub destination: Pubkey,
    /// Tokens minted.
    pub amount: u64,
    /// Epochs settled by this claim.
    pub epochs_settled: u8,
    /// Lifetime claimed after this claim.
    pub claimed_total: u64,
}

/// The authority proposed a new authority.
#[event]
pub struct AuthorityTransferProposed {
    /// The protocol.
    pub protocol: Pubkey,
    /// The current authority.
    pub authority: Pubkey,
    /// The proposed authority.
    pub pending_authority: Pubkey,
}

/// A pending authority transfer was cancelled.
#[event]
pub struct AuthorityTransferCancelled {
    /// The protocol.
    pub protocol: Pubkey,
    /// The proposal that was withdrawn.
    pub pending_authority: Pubkey,
}

/// The proposed authority accepted.
#[event]
pub struct AuthorityTransferred {
    /// The protocol.
    pub protocol: Pubkey,
    /// The previous authority.
    pub old_authority: Pubkey,
    /// The new authority.
    pub new_authority: Pubkey,
}

/// The authority set a new guardian.
#[event]
pub struct GuardianSet {
    /// The protocol.
    pub protocol: Pubkey,
    /// The previous guardian.
    pub old_guardian: Pubkey,
    /// The new guardian.
    pub new_guardian: Pubkey,
}

/// A parameter change was proposed.
#[event]
pub struct ChangeProposed {
    /// The protocol.
    pub protocol: Pubkey,
    /// Proposal sequence number.
    pub sequence: u64,
    /// Earliest unix time it can be applied.
    pub earliest_apply: i64,
    /// The change.
    pub change: crate::state::ParameterChange,
}

/// A parameter change was applied.
#[event]
pub struct ChangeApplied {
    /// The protocol.
    pub protocol: Pubkey,
    /// Proposal sequence number.
    pub sequence: u64,
    /// First epoch the change governs.
    pub effective_epoch: u64,
    /// The change.
    pub change: crate::state::ParameterChange,
}

/// A parameter change was cancelled.
#[event]
pub struct ChangeCancelled {
    /// The protocol.
    pub protocol: Pubkey,
    /// Proposal sequence number.
    pub sequence: u64,
}

/// Flows were paused or unpaused.
#[event]
pub struct PauseChanged {
    /// The protocol.
    pub protocol: Pubkey,
    /// Who signed.
    pub by: Pubkey,
    /// The flags set (pause) or cleared (unpause).
    pub flags: u8,
    /// The pause flags after the change.
    pub paused: u8,
}
