//! Reward math: splitting an epoch's emission into pools and sharing a pool
//! pro rata to work units.
//!
//! Both round down for the recipients and account for the rounding dust: the
//! split gives its dust to the treasury so the parts always sum to the
//! emission, and pro-rata shares never sum above the pool, leaving less than
//! one base unit per recipient undistributed.

use super::{MathError, BPS_DENOMINATOR};

/// An epoch's emission divided between the usage pool, the contribution pool
/// and the treasury; the three parts sum exactly to the emission.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct EmissionSplit {
    /// Pool shared by providers pro rata to the usage (credits burned) they proved.
    pub usage: u64,
    /// Pool shared by providers pro rata to their oracle-attested contribution.
    pub contribution: u64,
    /// Treasury share, including the rounding dust of the two pools.
    pub treasury: u64,
}

/// Checks that the three shares sum to exactly 10_000 basis points.
///
/// # Errors
///
/// [`MathError::InvalidSplit`] if they do not.
pub fn validate_split(
    usage_bps: u16,
    contribution_bps: u16,
    treasury_bps: u16,
) -> Result<(), MathError> {
    let sum = u64::from(usage_bps)
        .checked_add(u64::from(contribution_bps))
        .and_then(|sum| sum.checked_add(u64::from(treasury_bps)))
        .ok_or(MathError::Overflow)?;
    if sum != BPS_DENOMINATOR {
        return Err(MathError::InvalidSplit);
    }
    Ok(())
}

/// Splits `amount` by basis points: each pool gets `floor(amount × bps / 10_000)`
/// and the treasury gets the rest, so the parts sum exactly to `amount`.
///
/// # Errors
///
/// [`MathError::InvalidSplit`] if the shares do not sum to 10_000.
pub fn split_emission(
    amount: u64,
    usage_bps: u16,
    contribution_bps: u16,
    treasury_bps: u16,
) -> Result<EmissionSplit, MathError> {
    validate_split(usage_bps, contribution_bps, treasury_bps)?;
    let usage = bps_of(amount, usage_bps)?;
    let contribution = bps_of(amount, contribution_bps)?;
    let treasury = amount
        .checked_sub(usage)
        .and_then(|rest| rest.checked_sub(contribution))
        .ok_or(MathError::Overflow)?;
    Ok(EmissionSplit {
        usage,
        contribution,
        treasury,
    })
}

/// A recipient's share of `pool`: `floor(pool × units / total_units)`.
///
/// When nobody earned units (`total_units == 0`, hence `units == 0`) the share
/// is 0 and the whole pool stays undistributed; what happens to it is the
/// caller's decision.
///
/// # Errors
///
/// [`MathError::UnitsExceedTotal`] if `units > total_units`.
pub fn pro_rata(pool: u64, units: u64, total_units: u64) -> Result<u64, MathError> {
    if units > total_units {
        return Err(MathError::UnitsExceedTotal);
    }
    if total_units == 0 {
        return Ok(0);
    }
    let share = u128::from(pool)
        .checked_mul(u128::from(units))
        .ok_or(MathError::Overflow)?
        .checked_div(u128::from(total_units))
        .ok_or(MathError::Overflow)?;
    // units ≤ total_units, so the share is at most the pool.
    u64::try_from(share).map_err(|_| MathError::Overflow)
}

/// `floor(amount × bps / 10_000)`.
fn bps_of(amount: u64, bps: u16) -> Result<u64, MathError> {
    let part = u128::from(amount)
        .checked_mul(u128::from(bps))
        .ok_or(MathError::Overflow)?
        .checked_div(u128::from(BPS_DENOMINATOR))
        .ok_or(MathError::Overflow)?;
    u64::try_from(part).map_err(|_| MathError::Overflow)
}
