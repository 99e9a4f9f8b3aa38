//! The protocol's pure math: the emission schedule, credit pricing and the
//! reward split.
//!
//! Nothing in here touches Solana types, accounts or the runtime, so the
//! on-chain program and the client's simulator share one implementation and
//! can never disagree about a number. Every function is total: it returns a
//! [`MathError`] instead of panicking, uses checked arithmetic with `u128`
//! intermediates, and never uses floats.

pub mod price;
pub mod rewards;
pub mod schedule;

/// Denominator of every basis-point ratio: 10_000 bps = 100%.
pub const BPS_DENOMINATOR: u64 = 10_000;

/// Largest number of segments an emission schedule may hold; it bounds the
/// size of the schedule stored on chain and the work of every schedule lookup.
pub const MAX_SEGMENTS: usize = 8;

/// Why a math function refused its inputs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MathError {
    /// An intermediate or the result does not fit its integer type.
    Overflow,
    /// The emission schedule has no segment.
    EmptySchedule,
    /// The emission schedule has more than [`MAX_SEGMENTS`] segments.
    TooManySegments,
    /// The first segment of the schedule does not start at epoch 0, so some
    /// epochs would have no emission defined.
    FirstSegmentNotAtZero,
    /// Segment start epochs are not strictly increasing.
    UnsortedSchedule,
    /// A segment sets both a halving interval and a decay rate; it may use at
    /// most one of them.
    HalvingAndDecay,
    /// A segment's `decay_bps` is 10_000 or more (it must be below 100%).
    DecayTooLarge,
    /// A segment's floor is above its initial emission.
    FloorAboveInitial,
    /// An oracle price is zero or negative, or becomes so once its confidence
    /// is subtracted.
    NonPositivePrice,
    /// An oracle price's confidence interval is wider than the allowed
    /// fraction of the price.
    ConfidenceTooWide,
    /// The USD price of a credit is zero.
    ZeroCreditPrice,
    /// The emission split's basis points do not sum to exactly 10_000.
    InvalidSplit,
    /// A participant's units exceed the total units of the pool.
    UnitsExceedTotal,
}

impl core::fmt::Display for MathError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        let message = match self {
            MathError::Overflow => "arithmetic overflow",
            MathError::EmptySchedule => "emission schedule has no segment",
            MathError::TooManySegments => "emission schedule has too many segments",
            MathError::FirstSegmentNotAtZero => "first schedule segment does not start at epoch 0",
            MathError::UnsortedSchedule => "schedule segment starts are not strictly increasing",
            MathError::HalvingAndDecay => "segment sets both halving and decay",
            MathError::DecayTooLarge => "segment decay_bps must be below 10000",
            MathError::FloorAboveInitial => "segment floor is above its initial emission",
            MathError::NonPositivePrice => "price is zero or negative",
            MathError::ConfidenceTooWide => "price confidence interval is too wide",
            MathError::ZeroCreditPrice => "credit price is zero",
            MathError::InvalidSplit => "split basis points do not sum to 10000",
            MathError::UnitsExceedTotal => "units exceed the total units",
        };
        f.write_str(message)
    }
}

impl std::error::Error for MathError {}

#[cfg(test)]
mod tests;
