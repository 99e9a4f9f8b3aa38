//! The emission schedule: how many tokens each epoch mints.
//!
//! A schedule is a slice of [`Segment`]s sorted by strictly increasing
//! `start_epoch`, the first starting at epoch 0, with 1 to [`MAX_SEGMENTS`]
//! segments. A segment governs the epochs from its own start up to (not
//! including) the next segment's start; the last one governs every later
//! epoch. Within a segment, with `n = epoch - start_epoch`, the emission is:
//!
//! - **constant** (`halving_interval == 0`, `decay_bps == 0`): `initial_emission`;
//! - **halving**: `max(floor, initial_emission >> (n / halving_interval))`,
//!   which reaches the floor after at most 64 halvings;
//! - **decay**: `v_0 = initial_emission`,
//!   `v_{k+1} = max(floor, floor(v_k × (10_000 − decay_bps) / 10_000))`.
//!   Defined as a recurrence (not a power) so the on-chain program, which closes
//!   epochs in order and keeps the previous value, computes it in O(1) with
//!   [`emission_after`] and gets exactly what [`emission`] gives.
//!
//! Every function validates the schedule first and returns a [`MathError`]
//! instead of computing anything from an invalid one.

use anchor_lang::prelude::{AnchorDeserialize, AnchorSerialize, InitSpace};

use super::{MathError, BPS_DENOMINATOR, MAX_SEGMENTS};

/// One piece of the emission schedule; see the [module docs](self) for the curves.
#[derive(
    AnchorSerialize, AnchorDeserialize, InitSpace, Clone, Copy, Debug, PartialEq, Eq, Default,
)]
pub struct Segment {
    /// First epoch this segment governs.
    pub start_epoch: u64,
    /// Emission of `start_epoch`, in base units of the network token.
    pub initial_emission: u64,
    /// 0 = no halving; otherwise the emission halves every `halving_interval`
    /// epochs.
    pub halving_interval: u64,
    /// 0 = no decay; otherwise each epoch's emission is
    /// `floor(previous × (10_000 − decay_bps) / 10_000)`.
    pub decay_bps: u16,
    /// The emission never goes below this while the segment governs; at most
    /// `initial_emission`.
    pub floor: u64,
}

/// The shape of a validated segment.
#[derive(Clone, Copy)]
enum Curve {
    /// Emits `initial_emission` every epoch.
    Constant,
    /// Halves every `interval` (> 0) epochs.
    Halving { interval: u64 },
    /// Keeps `retain_bps` (< 10_000) basis points of the previous emission.
    Decay { retain_bps: u64 },
}

/// Checks that `segments` is a usable schedule: 1..=[`MAX_SEGMENTS`] segments,
/// the first at epoch 0, strictly increasing starts, and each segment valid
/// (not both halving and decay, `decay_bps < 10_000`, `floor <= initial_emission`).
///
/// # Errors
///
/// The [`MathError`] variant naming the first problem found: `EmptySchedule`,
/// `TooManySegments`, `FirstSegmentNotAtZero`, `UnsortedSchedule`, then per
/// segment `HalvingAndDecay`, `DecayTooLarge`, `FloorAboveInitial`.
pub fn validate_schedule(segments: &[Segment]) -> Result<(), MathError> {
    let first = segments.first().ok_or(MathError::EmptySchedule)?;
    if segments.len() > MAX_SEGMENTS {
        return Err(MathError::TooManySegments);
    }
    if first.start_epoch != 0 {
        return Err(MathError::FirstSegmentNotAtZero);
    }
    for (earlier, later) in segments.iter().zip(segments.iter().skip(1)) {
        if later.start_epoch <= earlier.start_epoch {
            return Err(MathError::UnsortedSchedule);
        }
    }
    segments.iter().try_for_each(validate_segment)
}

/// Checks one segment's own parameters.
fn validate_segment(segment: &Segment) -> Result<(), MathError> {
    if segment.halving_interval != 0 && segment.decay_bps != 0 {
        return Err(MathError::HalvingAndDecay);
    }
    if u64::from(segment.decay_bps) >= BPS_DENOMINATOR {
        return Err(MathError::DecayTooLarge);
    }
    if segment.floor > segment.initial_emission {
        return Err(MathError::FloorAboveInitial);
    }
    Ok(())
}

/// The segment of a validated schedule that governs `epoch`: the last one
/// starting at or before it.
///
/// # Errors
///
/// Any [`validate_schedule`] error ([`MathError::EmptySchedule`] when
/// there is no segment at all).
pub fn segment_for(segments: &[Segment], epoch: u64) -> Result<&Segment, MathError> {
    validate_schedule(segments)?;
    segments
        .iter()
        .rev()
        .find(|segment| segment.start_epoch <= epoch)
        .ok_or(MathError::EmptySchedule)
}

/// The emission of `epoch`, in base units.
///
/// Constant and halving segments take O(1). Decay segments replay the
/// recurrence from the segment start and stop as soon as the floor is reached,
/// so the cost is bounded by the number of steps from `initial_emission` to the
/// floor (about 360_000 in the extreme case `decay_bps = 1`,
/// `initial_emission = u64::MAX`); on chain use [`emission_after`].
///
/// # Errors
///
/// Any [`validate_schedule`] error.
pub fn emission(segments: &[Segment], epoch: u64) -> Result<u64, MathError> {
    let segment = segment_for(segments, epoch)?;
    let offset = epoch
        .checked_sub(segment.start_epoch)
        .ok_or(MathError::Overflow)?;
    segment_emission(segment, offset)
}

/// The emission of `epoch` in O(1), given `previous` = `emission(epoch - 1)`.
///
/// Equals [`emission`]`(segments, epoch)` whenever `previous` is the emission
/// of the epoch before. At a segment start (and at epoch 0) it returns that
/// segment's `initial_emission` and ignores `previous`; only decay segments
/// use `previous`, and a `previous` above the segment's `initial_emission` is
/// treated as the initial emission, so a corrupted input can never raise the
/// emission above the schedule.
///
/// # Errors
///
/// Any [`validate_schedule`] error.
pub fn emission_after(segments: &[Segment], epoch: u64, previous: u64) -> Result<u64, MathError> {
    let segment = segment_for(segments, epoch)?;
    let offset = epoch
        .checked_sub(segment.start_epoch)
        .ok_or(MathError::Overflow)?;
    if offset == 0 {
        return Ok(segment.initial_emission);
    }
    match curve(segment)? {
        Curve::Decay { retain_bps } => decay_step(
            previous.min(segment.initial_emission),
            retain_bps,
            segment.floor,
        ),
        Curve::Constant | Curve::Halving { .. } => segment_emission(segment, offset),
    }
}

/// The total emission of the epochs `from..to` (`to` excluded; 0 when
/// `from >= to`), in base units.
///
/// Constant and halving segments are summed in closed form (one product per
/// halving period, at most 65 per segment); decay segments replay the
/// recurrence until the floor and finish with `count × floor`. A `u128` holds
/// the sum of any range of `u64` epochs, so [`MathError::Overflow`] is only a
/// safety net.
///
/// # Errors
///
/// Any [`validate_schedule`] error, even for an empty range.
pub fn cumulative_emission(segments: &[Segment], from: u64, to: u64) -> Result<u128, MathError> {
    validate_schedule(segments)?;
    let next_starts = segments
        .iter()
        .skip(1)
        .map(|segment| Some(segment.start_epoch))
        .chain(core::iter::once(None));
    let mut total: u128 = 0;
    for (segment, next_start) in segments.iter().zip(next_starts) {
        // The last segment runs forever; `to` is at most u64::MAX anyway.
        let segment_end = next_start.unwrap_or(u64::MAX);
        let low = from.max(segment.start_epoch);
        let high = to.min(segment_end);
        if low >= high {
            continue;
        }
        let first_offset = low
            .checked_sub(segment.start_epoch)
            .ok_or(MathError::Overflow)?;
        let end_offset = high
            .checked_sub(segment.start_epoch)
            .ok_or(MathError::Overflow)?;
        let segment_total = segment_sum(segment, first_offset, end_offset)?;
        total = total
            .checked_add(segment_total)
            .ok_or(MathError::Overflow)?;
    }
    Ok(total)
}

/// The largest per-epoch emission of the schedule: the largest
/// `initial_emission` (0 for an empty schedule). Within a valid segment the
/// emission never exceeds its initial emission.
#[must_use]
pub fn max_emission(segments: &[Segment]) -> u64 {
    segments
        .iter()
        .map(|segment| segment.initial_emission)
        .max()
        .unwrap_or(0)
}

/// Classifies a segment, rejecting an invalid one.
fn curve(segment: &Segment) -> Result<Curve, MathError> {
    validate_segment(segment)?;
    if segment.halving_interval != 0 {
        Ok(Curve::Halving {
            interval: segment.halving_interval,
        })
    } else if segment.decay_bps != 0 {
        let retain_bps = BPS_DENOMINATOR
            .checked_sub(u64::from(segment.decay_bps))
            .ok_or(MathError::DecayTooLarge)?;
        Ok(Curve::Decay { retain_bps })
    } else {
        Ok(Curve::Constant)
    }
}

/// Emission of the epoch `offset` epochs after the segment's start.
fn segment_emission(segment: &Segment, offset: u64) -> Result<u64, MathError> {
    match curve(segment)? {
        Curve::Constant => Ok(segment.initial_emission),
        Curve::Halving { interval } => {
            let halvings = offset.checked_div(interval).ok_or(MathError::Overflow)?;
            Ok(halved(segment, halvings))
        }
        Curve::Decay { retain_bps } => {
            let mut value = segment.initial_emission;
            let mut remaining = offset;
            // Once at the floor the recurrence stays there; every step above
            // it strictly decreases the value, so this loop is bounded.
            while remaining > 0 && value > segment.floor {
                value = decay_step(value, retain_bps, segment.floor)?;
                remaining = remaining.checked_sub(1).ok_or(MathError::Overflow)?;
            }
            Ok(value)
        }
    }
}

/// `max(floor, initial_emission >> halvings)`; 64 or more halvings give 0.
fn halved(segment: &Segment, halvings: u64) -> u64 {
    let shifted = u32::try_from(halvings)
        .ok()
        .and_then(|shift| segment.initial_emission.checked_shr(shift))
        .unwrap_or(0);
    shifted.max(segment.floor)
}

/// One decay step: `max(floor, floor(value × retain_bps / 10_000))`.
fn decay_step(value: u64, retain_bps: u64, floor: u64) -> Result<u64, MathError> {
    let retained = u128::from(value)
        .checked_mul(u128::from(retain_bps))
        .ok_or(MathError::Overflow)?
        .checked_div(u128::from(BPS_DENOMINATOR))
        .ok_or(MathError::Overflow)?;
    let retained = u64::try_from(retained).map_err(|_| MathError::Overflow)?;
    Ok(retained.max(floor))
}

/// `count × value` as a `u128`.
fn product(count: u64, value: u64) -> Result<u128, MathError> {
    u128::from(count)
        .checked_mul(u128::from(value))
        .ok_or(MathError::Overflow)
}

/// Sum of the segment's emissions for the offsets `first..end` (`first < end`).
fn segment_sum(segment: &Segment, first: u64, end: u64) -> Result<u128, MathError> {
    match curve(segment)? {
        Curve::Constant => {
            let count = end.checked_sub(first).ok_or(MathError::Overflow)?;
            product(count, segment.initial_emission)
        }
        Curve::Halving { interval } => halving_sum(segment, interval, first, end),
        Curve::Decay { retain_bps } => decay_sum(segment, retain_bps, first, end),
    }
}

/// Sum of a halving segment over the offsets `first..end`, one halving period
/// at a time until the value reaches the floor (at most 65 periods).
fn halving_sum(segment: &Segment, interval: u64, first: u64, end: u64) -> Result<u128, MathError> {
    let mut total: u128 = 0;
    let mut position = first;
    while position < end {
        let halvings = position.checked_div(interval).ok_or(MathError::Overflow)?;
        let value = halved(segment, halvings);
        if value == segment.floor {
            // Later periods are halved further, so they all sit at the floor.
            let count = end.checked_sub(position).ok_or(MathError::Overflow)?;
            let tail = product(count, segment.floor)?;
            return total.checked_add(tail).ok_or(MathError::Overflow);
        }
        // In u128 because the end of the last period may lie past u64::MAX.
        let period_end = u128::from(halvings)
            .checked_add(1)
            .and_then(|periods| periods.checked_mul(u128::from(interval)))
            .ok_or(MathError::Overflow)?;
        let stop =
            u64::try_from(period_end.min(u128::from(end))).map_err(|_| MathError::Overflow)?;
        let count = stop.checked_sub(position).ok_or(MathError::Overflow)?;
        total = total
            .checked_add(product(count, value)?)
            .ok_or(MathError::Overflow)?;
        position = stop;
    }
    Ok(total)
}

/// Sum of a decay segment over the offsets `first..end`: replays the
/// recurrence from the segment start (it has no closed form with flooring)
/// and adds the floor tail as one product.
fn decay_sum(segment: &Segment, retain_bps: u64, first: u64, end: u64) -> Result<u128, MathError> {
    let mut total: u128 = 0;
    let mut value = segment.initial_emission;
    let mut offset: u64 = 0;
    while offset < end {
        if value == segment.floor {
            let count = end
                .checked_sub(offset.max(first))
                .ok_or(MathError::Overflow)?;
            let tail = product(count, segment.floor)?;
            return total.checked_add(tail).ok_or(MathError::Overflow);
        }
        if offset >= first {
            total = total
                .checked_add(u128::from(value))
                .ok_or(MathError::Overflow)?;
        }
        value = decay_step(value, retain_bps, segment.floor)?;
        offset = offset.checked_add(1).ok_or(MathError::Overflow)?;
    }
    Ok(total)
}
