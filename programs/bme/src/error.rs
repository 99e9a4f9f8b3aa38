//! Every error the program returns, one named code per failure.

use anchor_lang::prelude::*;

use crate::math::MathError;

/// Errors of the bme program (codes 6000+).
#[error_code]
#[derive(PartialEq, Eq)]
pub enum BmeError {
    /// The signer is not allowed to do this.
    #[msg("Signer is not authorized")]
    Unauthorized,
    /// An arithmetic operation overflowed.
    #[msg("Arithmetic overflow")]
    MathOverflow,
    /// The epoch length is zero.
    #[msg("Epoch length must be greater than zero")]
    ZeroEpochLength,
    /// The grace period is not shorter than an epoch.
    #[msg("Grace period must be shorter than an epoch")]
    GracePeriodTooLong,
    /// The emission schedule has no segment.
    #[msg("Emission schedule is empty")]
    EmptySchedule,
    /// The emission schedule has more segments than allowed.
    #[msg("Emission schedule has too many segments")]
    TooManySegments,
    /// The first schedule segment does not start at epoch 0.
    #[msg("First emission segment must start at epoch 0")]
    FirstSegmentNotAtZero,
    /// Schedule segments are not in strictly increasing start order.
    #[msg("Emission segments must start at strictly increasing epochs")]
    UnsortedSchedule,
    /// A segment sets both a halving interval and a decay.
    #[msg("An emission segment cannot both halve and decay")]
    HalvingAndDecay,
    /// A segment's decay is 100% or more.
    #[msg("Decay must be below 10,000 bps")]
    DecayTooLarge,
    /// A segment's floor is above its initial emission.
    #[msg("Emission floor is above the initial emission")]
    FloorAboveInitial,
    /// The pool split does not sum to 10,000 bps.
    #[msg("Pool split must sum to 10,000 bps")]
    InvalidSplit,
    /// The supply cap is below the token's current supply.
    #[msg("Supply cap is below the current supply")]
    SupplyCapBelowSupply,
    /// The credit price is zero.
    #[msg("Credit price must be greater than zero")]
    ZeroCreditPrice,
    /// The fixed price is zero.
    #[msg("Fixed token price must be greater than zero")]
    ZeroFixedPrice,
    /// A price exponent is outside the supported range.
    #[msg("Price exponent out of range")]
    PriceExponentOutOfRange,
    /// The Pyth max age is zero or above the limit.
    #[msg("Price max age must be between 1 second and one day")]
    InvalidPriceMaxAge,
    /// The Pyth confidence bound is zero or above 10,000 bps.
    #[msg("Price max confidence must be between 1 and 10,000 bps")]
    InvalidPriceMaxConfidence,
    /// The mint rate limit is below twice the largest per-epoch emission.
    #[msg("Mint rate limit must be at least twice the largest per-epoch emission")]
    RateLimitTooLow,
    /// The mint rate-limit window is zero.
    #[msg("Mint rate-limit window must be greater than zero")]
    ZeroRateLimitWindow,
    /// The oracle threshold is outside 1..=N (or nonzero for an empty set).
    #[msg("Oracle threshold must be within 1..=number of oracles")]
    InvalidOracleThreshold,
    /// More oracles than the set can hold.
    #[msg("Too many oracles")]
    TooManyOracles,
    /// The same oracle key appears twice in a set.
    #[msg("Duplicate oracle key")]
    DuplicateOracle,
    /// The maximum emission change per governance proposal is out of range.
    #[msg("Max emission change must be between 1 and 10,000 bps")]
    InvalidEmissionChangeBound,
    /// The given token program is neither SPL Token nor Token-2022.
    #[msg("Unsupported token program")]
    UnsupportedTokenProgram,
    /// The existing token mint's authority was not handed to the protocol PDA.
    #[msg("Token mint authority must be the protocol PDA")]
    MintAuthorityNotProtocol,
    /// A new token mint account is not empty or not a signer.
    #[msg("New token mint must be a fresh signer account")]
    InvalidNewMint,
    /// The treasury token account is not for the network token.
    #[msg("Treasury must be a token account of the network token")]
    InvalidTreasury,
    /// The network token mint has a freeze authority, which could freeze rewards.
    #[msg("Network token must not have a freeze authority")]
    FreezeAuthorityPresent,
    /// The protocol's clock has not reached genesis yet.
    #[msg("Protocol genesis has not been reached")]
    BeforeGenesis,
    /// The flow is paused by the guardian.
    #[msg("This flow is paused")]
    Paused,
    /// Both or neither of tokens-to-burn and credits-wanted were given, or the amount is zero.
    #[msg("Name exactly one non-zero amount: tokens to burn or credits wanted")]
    InvalidPurchaseAmount,
    /// The purchase would burn more tokens or mint fewer credits than the buyer allowed.
    #[msg("Slippage bound exceeded")]
    SlippageExceeded,
    /// The purchase rounds to zero credits.
    #[msg("Purchase is too small to buy one credit")]
    PurchaseTooSmall,
    /// The protocol uses a Pyth price but no price account was given.
    #[msg("Price account missing")]
    PriceAccountMissing,
    /// The price account is not the one pinned in the protocol.
    #[msg("Price account is not the pinned one")]
    PriceAccountMismatch,
    /// The price account is not owned by the Pyth receiver program.
    #[msg("Price account not owned by the Pyth receiver")]
    PriceAccountWrongOwner,
    /// The price account could not be decoded as a PriceUpdateV2.
    #[msg("Price account is not a valid PriceUpdateV2")]
    InvalidPriceAccount,
    /// The price update is for another feed.
    #[msg("Price feed id mismatch")]
    PriceFeedMismatch,
    /// The price update was not fully verified.
    #[msg("Price update is not fully verified")]
    PriceNotFullyVerified,
    /// The price is older than the configured max age.
    #[msg("Price is stale")]
    StalePrice,
    /// The price's confidence interval is wider than allowed.
    #[msg("Price confidence interval too wide")]
    PriceConfidenceTooWide,
    /// The price (minus its confidence) is zero or negative.
    #[msg("Price is zero or negative")]
    NonPositivePrice,
    /// The provider's two pending-epoch slots are in use by other epochs.
    #[msg("Provider has pending work in two other epochs: close them and claim first")]
    ProviderSlotsFull,
    /// An epoch index does not fit the provider's compact slot.
    #[msg("Epoch index out of range")]
    EpochOutOfRange,
    /// The reward destination is not a token account of the network token.
    #[msg("Reward destination must be a token account of the network token")]
    InvalidDestination,
    /// The settle batch is empty, its accounts don't pair up, or one is read-only.
    #[msg("Receipt batch is empty or malformed")]
    InvalidReceiptBatch,
    /// The instructions-sysvar account is not the real sysvar.
    #[msg("Instructions sysvar account is not the sysvar")]
    InvalidInstructionsSysvar,
    /// The instruction before this one is not the expected Ed25519 verification.
    #[msg("Missing Ed25519 verification instruction")]
    MissingEd25519Instruction,
    /// The Ed25519 instruction is malformed or its offsets point outside itself.
    #[msg("Ed25519 instruction is malformed or references other instructions")]
    InvalidEd25519Instruction,
    /// The number of verified signatures doesn't match the batch.
    #[msg("Signature count does not match the batch")]
    SignatureCountMismatch,
    /// A signed message is not exactly the expected bytes.
    #[msg("Signed message does not match")]
    MessageMismatch,
    /// A receipt was signed by a key other than the channel's customer.
    #[msg("Receipt signer is not the channel's customer")]
    WrongReceiptSigner,
    /// The channel account is not the PDA of (provider, customer).
    #[msg("Channel account does not match the receipt")]
    ChannelMismatch,
    /// The credit account is not the customer's credit account.
    #[msg("Credit account does not belong to the customer")]
    CreditAccountMismatch,
    /// The receipt's cumulative amount is not above what was already settled.
    #[msg("Receipt is not newer than what was already settled")]
    ReceiptNotNewer,
    /// The customer does not hold enough credits for the receipt.
    #[msg("Insufficient credits for the receipt")]
    InsufficientCredits,
    /// The epoch account is not the current epoch's.
    #[msg("Epoch account is not the expected epoch")]
    WrongEpoch,
    /// The epoch is not the next one to close.
    #[msg("Epochs close in order: this is not the next epoch to close")]
    EpochNotNext,
    /// The epoch's end plus the grace period has not passed.
    #[msg("Epoch cannot close before its end plus the grace period")]
    EpochNotEnded,
    /// The epoch is already closed.
    #[msg("Epoch is already closed")]
    EpochClosed,
    /// An epoch account belongs to another protocol.
    #[msg("Epoch account does not belong to this protocol")]
    EpochProtocolMismatch,
    /// A claim is missing the (writable) epoch account of a closed epoch the provider
    /// has pending.
    #[msg("Epoch account of a pending closed epoch is missing")]
    MissingEpochAccount,
    /// The emission would exceed the supply cap (clamped, never an error at close).
    #[msg("Supply cap reached")]
    SupplyCapExceeded,
    /// The mint would exceed the rate limit for the current window.
    #[msg("Mint rate limit exceeded for this window")]
    MintRateLimitExceeded,
    /// The oracle set has no oracles, so reports are disabled.
    #[msg("Oracle set is empty")]
    OracleSetEmpty,
    /// The report's sequence number was already used (or is older).
    #[msg("Report sequence already used")]
    ReportReplay,
    /// Fewer distinct registered oracles signed than the threshold.
    #[msg("Not enough oracle signatures")]
    BelowThreshold,
    /// A report was signed by a key not in the oracle set.
    #[msg("Report signer is not a registered oracle")]
    UnregisteredOracle,
    /// The same oracle signed a report twice.
    #[msg("Duplicate oracle signature")]
    DuplicateSigner,
    /// The report entries don't match the provider accounts.
    #[msg("Report entries do not match the provider accounts")]
    InvalidReportEntries,
    /// A governance change would alter an epoch that has started.
    #[msg("Change would alter an epoch that has started")]
    ChangeRetroactive,
    /// A schedule change moves an epoch's emission by more than the genesis bound.
    #[msg("Emission change exceeds the per-change bound")]
    EmissionChangeTooLarge,
    /// The supply cap may only go down.
    #[msg("Supply cap can only decrease")]
    SupplyCapIncrease,
    /// The timelock may only grow.
    #[msg("Timelock can only increase")]
    TimelockDecrease,
    /// A proposal is already waiting.
    #[msg("A change is already pending")]
    ChangeAlreadyPending,
    /// No proposal is waiting.
    #[msg("No change is pending")]
    NoPendingChange,
    /// The proposal's timelock has not elapsed.
    #[msg("Timelock has not elapsed")]
    TimelockNotElapsed,
    /// A previously applied change is not yet in force everywhere.
    #[msg("The previous change is not yet in force: close the epochs before it")]
    PreviousChangeNotInForce,
    /// No authority transfer is pending, or the signer is not the proposed authority.
    #[msg("Signer is not the pending authority")]
    NotPendingAuthority,
    /// Pause flags outside the defined set.
    #[msg("Unknown pause flags")]
    InvalidPauseFlags,
    /// A provider named in a report is not registered with this protocol.
    #[msg("Provider is not registered with this protocol")]
    UnregisteredProvider,
}

impl From<MathError> for BmeError {
    fn from(error: MathError) -> Self {
        match error {
            MathError::Overflow => BmeError::MathOverflow,
            MathError::EmptySchedule => BmeError::EmptySchedule,
            MathError::TooManySegments => BmeError::TooManySegments,
            MathError::FirstSegmentNotAtZero => BmeError::FirstSegmentNotAtZero,
            MathError::UnsortedSchedule => BmeError::UnsortedSchedule,
            MathError::HalvingAndDecay => BmeError::HalvingAndDecay,
            MathError::DecayTooLarge => BmeError::DecayTooLarge,
            MathError::FloorAboveInitial => BmeError::FloorAboveInitial,
            MathError::NonPositivePrice => BmeError::NonPositivePrice,
            MathError::ConfidenceTooWide => BmeError::PriceConfidenceTooWide,
            MathError::ZeroCreditPrice => BmeError::ZeroCreditPrice,
            MathError::InvalidSplit => BmeError::InvalidSplit,
            MathError::UnitsExceedTotal => BmeError::MathOverflow,
        }
    }
}

impl From<MathError> for anchor_lang::error::Error {
    fn from(error: MathError) -> Self {
        BmeError::from(error).into()
    }
}
