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

#[cfg(test)]
// Tests compute expected values with plain operators: an overflow there is a
// test bug and panicking on it is what we want.
#[allow(clippy::arithmetic_side_effects)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn constant(start_epoch: u64, initial_emission: u64) -> Segment {
        Segment {
            start_epoch,
            initial_emission,
            ..Segment::default()
        }
    }

    fn halving(start_epoch: u64, initial_emission: u64, interval: u64, floor: u64) -> Segment {
        Segment {
            start_epoch,
            initial_emission,
            halving_interval: interval,
            decay_bps: 0,
            floor,
        }
    }

    fn decay(start_epoch: u64, initial_emission: u64, decay_bps: u16, floor: u64) -> Segment {
        Segment {
            start_epoch,
            initial_emission,
            halving_interval: 0,
            decay_bps,
            floor,
        }
    }

    fn emissions(segments: &[Segment], epochs: core::ops::Range<u64>) -> Vec<u64> {
        epochs
            .map(|epoch| emission(segments, epoch).unwrap())
            .collect()
    }

    #[test]
    fn halving_hand_numbers() {
        let schedule = [halving(0, 1000, 2, 0)];
        assert_eq!(
            emissions(&schedule, 0..10),
            [1000, 1000, 500, 500, 250, 250, 125, 125, 62, 62]
        );
        // 1000 >> 9 = 1, 1000 >> 10 = 0.
        assert_eq!(emission(&schedule, 18).unwrap(), 1);
        assert_eq!(emission(&schedule, 20).unwrap(), 0);
        assert_eq!(emission(&schedule, u64::MAX).unwrap(), 0);
        assert_eq!(cumulative_emission(&schedule, 0, 6).unwrap(), 3500);
        assert_eq!(cumulative_emission(&schedule, 1, 5).unwrap(), 2250);
    }

    #[test]
    fn halving_stops_at_floor() {
        let schedule = [halving(0, 1000, 2, 300)];
        assert_eq!(
            emissions(&schedule, 0..8),
            [1000, 1000, 500, 500, 300, 300, 300, 300]
        );
        assert_eq!(emission(&schedule, u64::MAX).unwrap(), 300);
        // 1000 + 1000 + 500 + 500 + 6 × 300
        assert_eq!(cumulative_emission(&schedule, 0, 10).unwrap(), 4800);
        assert_eq!(
            cumulative_emission(&schedule, 0, u64::MAX).unwrap(),
            3000 + 300 * u128::from(u64::MAX - 4)
        );
    }

    #[test]
    fn halving_of_u64_max_reaches_zero_after_64_halvings() {
        let schedule = [halving(0, u64::MAX, 1, 0)];
        assert_eq!(emission(&schedule, 1).unwrap(), u64::MAX >> 1);
        assert_eq!(emission(&schedule, 63).unwrap(), 1);
        assert_eq!(emission(&schedule, 64).unwrap(), 0);
        // Sum of u64::MAX >> k for k = 0..64 is 2^65 − 2 − 64 (each shift drops
        // one bit): Σ (2^(64−k) − 1) = (2^65 − 2) − 64.
        let expected = (1u128 << 65) - 2 - 64;
        assert_eq!(cumulative_emission(&schedule, 0, 64).unwrap(), expected);
        assert_eq!(
            cumulative_emission(&schedule, 0, u64::MAX).unwrap(),
            expected
        );
    }

    #[test]
    fn halving_interval_near_u64_max_does_not_overflow() {
        let schedule = [halving(0, 1000, u64::MAX, 0)];
        assert_eq!(emission(&schedule, u64::MAX - 1).unwrap(), 1000);
        assert_eq!(emission(&schedule, u64::MAX).unwrap(), 500);
        assert_eq!(
            cumulative_emission(&schedule, 0, u64::MAX).unwrap(),
            1000 * u128::from(u64::MAX)
        );
    }

    #[test]
    fn decay_hand_numbers() {
        let schedule = [decay(0, 1000, 1000, 0)];
        assert_eq!(
            emissions(&schedule, 0..7),
            [1000, 900, 810, 729, 656, 590, 531]
        );
        assert_eq!(
            cumulative_emission(&schedule, 0, 4).unwrap(),
            1000 + 900 + 810 + 729
        );
        assert_eq!(emission(&schedule, u64::MAX).unwrap(), 0);
    }

    #[test]
    fn decay_stops_at_floor() {
        let schedule = [decay(0, 1000, 1000, 700)];
        assert_eq!(
            emissions(&schedule, 0..7),
            [1000, 900, 810, 729, 700, 700, 700]
        );
        assert_eq!(emission_after(&schedule, 4, 729).unwrap(), 700);
        assert_eq!(emission_after(&schedule, 5, 700).unwrap(), 700);
        // 1000 + 900 + 810 + 729 + 6 × 700
        assert_eq!(cumulative_emission(&schedule, 0, 10).unwrap(), 7639);
        assert_eq!(cumulative_emission(&schedule, 2, 10).unwrap(), 5739);
    }

    #[test]
    fn slowest_decay_from_u64_max_terminates() {
        let schedule = [decay(0, u64::MAX, 1, 0)];
        assert_eq!(emission(&schedule, 1).unwrap(), 18_444_899_399_302_180_659);
        assert_eq!(emission(&schedule, u64::MAX).unwrap(), 0);
        let total = cumulative_emission(&schedule, 0, u64::MAX).unwrap();
        // Geometric bound: Σ v_k ≤ v_0 / (1 − 0.9999) = 10_000 × v_0.
        assert!(total <= 10_000 * u128::from(u64::MAX));
        assert!(total > u128::from(u64::MAX));
    }

    #[test]
    fn constant_segment_ignores_floor_and_previous() {
        let schedule = [Segment {
            floor: 10,
            ..constant(0, 42)
        }];
        assert_eq!(emission(&schedule, 0).unwrap(), 42);
        assert_eq!(emission(&schedule, u64::MAX).unwrap(), 42);
        assert_eq!(emission_after(&schedule, 7, 0).unwrap(), 42);
        assert_eq!(
            cumulative_emission(&schedule, 0, u64::MAX).unwrap(),
            42 * u128::from(u64::MAX)
        );
        let largest = [constant(0, u64::MAX)];
        assert_eq!(
            cumulative_emission(&largest, 0, u64::MAX).unwrap(),
            u128::from(u64::MAX) * u128::from(u64::MAX)
        );
    }

    #[test]
    fn segments_hand_over_at_their_start() {
        let schedule = [
            halving(0, 1000, 2, 0),
            constant(5, 42),
            decay(8, 100, 5000, 10),
        ];
        assert_eq!(
            emissions(&schedule, 0..13),
            [1000, 1000, 500, 500, 250, 42, 42, 42, 100, 50, 25, 12, 10]
        );
        assert_eq!(segment_for(&schedule, 4).unwrap(), &schedule[0]);
        assert_eq!(segment_for(&schedule, 5).unwrap(), &schedule[1]);
        assert_eq!(segment_for(&schedule, u64::MAX).unwrap(), &schedule[2]);
        // A segment start ignores `previous`.
        assert_eq!(emission_after(&schedule, 0, 7).unwrap(), 1000);
        assert_eq!(emission_after(&schedule, 5, 250).unwrap(), 42);
        assert_eq!(emission_after(&schedule, 8, 42).unwrap(), 100);
        assert_eq!(emission_after(&schedule, 9, 100).unwrap(), 50);
        assert_eq!(
            cumulative_emission(&schedule, 3, 10).unwrap(),
            500 + 250 + 42 * 3 + 100 + 50
        );
        assert_eq!(cumulative_emission(&schedule, 10, 10).unwrap(), 0);
        assert_eq!(cumulative_emission(&schedule, 11, 3).unwrap(), 0);
        assert_eq!(max_emission(&schedule), 1000);
    }

    #[test]
    fn emission_after_caps_a_corrupt_previous_at_the_initial() {
        let schedule = [decay(0, 1000, 1000, 0)];
        assert_eq!(emission_after(&schedule, 3, u64::MAX).unwrap(), 900);
    }

    #[test]
    fn max_emission_of_empty_schedule_is_zero() {
        assert_eq!(max_emission(&[]), 0);
    }

    #[test]
    fn validate_accepts_the_limits() {
        let mut schedule: Vec<Segment> = (0..MAX_SEGMENTS as u64)
            .map(|index| constant(index, 1))
            .collect();
        assert_eq!(validate_schedule(&schedule), Ok(()));
        schedule[1] = decay(1, 5, 9_999, 5);
        schedule[2] = halving(2, 5, u64::MAX, 0);
        assert_eq!(validate_schedule(&schedule), Ok(()));
    }

    #[test]
    fn validate_rejects_each_invalid_case() {
        assert_eq!(validate_schedule(&[]), Err(MathError::EmptySchedule));
        let too_many: Vec<Segment> = (0..=MAX_SEGMENTS as u64)
            .map(|index| constant(index, 1))
            .collect();
        assert_eq!(
            validate_schedule(&too_many),
            Err(MathError::TooManySegments)
        );
        assert_eq!(
            validate_schedule(&[constant(1, 1)]),
            Err(MathError::FirstSegmentNotAtZero)
        );
        assert_eq!(
            validate_schedule(&[constant(0, 1), constant(0, 2)]),
            Err(MathError::UnsortedSchedule)
        );
        assert_eq!(
            validate_schedule(&[constant(0, 1), constant(9, 2), constant(5, 3)]),
            Err(MathError::UnsortedSchedule)
        );
        let both = Segment {
            halving_interval: 10,
            ..decay(0, 100, 10, 0)
        };
        assert_eq!(validate_schedule(&[both]), Err(MathError::HalvingAndDecay));
        assert_eq!(
            validate_schedule(&[decay(0, 100, 10_000, 0)]),
            Err(MathError::DecayTooLarge)
        );
        assert_eq!(
            validate_schedule(&[decay(0, 100, u16::MAX, 0)]),
            Err(MathError::DecayTooLarge)
        );
        assert_eq!(
            validate_schedule(&[constant(0, 1), halving(5, 100, 2, 101)]),
            Err(MathError::FloorAboveInitial)
        );
    }

    #[test]
    fn every_function_rejects_an_invalid_schedule() {
        let invalid = [constant(0, 1), decay(3, 100, 10_000, 0)];
        assert_eq!(segment_for(&invalid, 0), Err(MathError::DecayTooLarge));
        assert_eq!(emission(&invalid, 0), Err(MathError::DecayTooLarge));
        assert_eq!(
            emission_after(&invalid, 4, 1),
            Err(MathError::DecayTooLarge)
        );
        assert_eq!(
            cumulative_emission(&invalid, 0, 1),
            Err(MathError::DecayTooLarge)
        );
        assert_eq!(segment_for(&[], 0), Err(MathError::EmptySchedule));
        assert_eq!(emission(&[], 0), Err(MathError::EmptySchedule));
    }

    /// Epochs covered by the reference model in the compact properties.
    const MODEL_EPOCHS: u64 = 3_000;

    /// The schedule computed epoch by epoch from the definitions, written
    /// independently of the implementation (repeated halving, decay from the
    /// previous epoch's value).
    fn model_emissions(segments: &[Segment], epochs: u64) -> Vec<u64> {
        let mut values = Vec::new();
        let mut previous = 0u64;
        for epoch in 0..epochs {
            let segment = segments
                .iter()
                .rfind(|segment| segment.start_epoch <= epoch)
                .unwrap();
            let age = epoch - segment.start_epoch;
            let value = match (age, segment.halving_interval, segment.decay_bps) {
                (0, _, _) | (_, 0, 0) => segment.initial_emission,
                (_, 0, decay_bps) => {
                    let kept = u128::from(previous) * u128::from(10_000 - decay_bps) / 10_000;
                    (kept as u64).max(segment.floor)
                }
                (_, interval, _) => {
                    let mut value = segment.initial_emission;
                    for _ in 0..(age / interval).min(64) {
                        value /= 2;
                    }
                    value.max(segment.floor)
                }
            };
            values.push(value);
            previous = value;
        }
        values
    }

    #[derive(Debug, Clone, Copy)]
    enum Shape {
        Constant,
        Halving(u64),
        Decay(u16),
    }

    fn shape(max_interval: u64) -> impl Strategy<Value = Shape> {
        prop_oneof![
            Just(Shape::Constant),
            (1..=max_interval).prop_map(Shape::Halving),
            (1u16..10_000).prop_map(Shape::Decay),
            // Fast decays reach their floor within the model's range.
            (2_000u16..10_000).prop_map(Shape::Decay),
        ]
    }

    fn value() -> impl Strategy<Value = u64> {
        prop_oneof![0u64..5_000, any::<u64>(), Just(u64::MAX)]
    }

    /// Valid schedules whose segment starts are at most `max_gap` apart.
    fn schedule(max_gap: u64, max_interval: u64) -> impl Strategy<Value = Vec<Segment>> {
        let floor_seed = prop_oneof![Just(0u64), any::<u64>()];
        prop::collection::vec(
            (1..=max_gap, value(), floor_seed, shape(max_interval)),
            1..=MAX_SEGMENTS,
        )
        .prop_map(|parts| {
            let mut start_epoch = 0u64;
            let mut segments = Vec::new();
            for (index, (gap, initial_emission, floor_seed, shape)) in parts.into_iter().enumerate()
            {
                if index > 0 {
                    start_epoch += gap;
                }
                let floor = (u128::from(floor_seed) % (u128::from(initial_emission) + 1)) as u64;
                let (halving_interval, decay_bps) = match shape {
                    Shape::Constant => (0, 0),
                    Shape::Halving(interval) => (interval, 0),
                    Shape::Decay(bps) => (0, bps),
                };
                segments.push(Segment {
                    start_epoch,
                    initial_emission,
                    halving_interval,
                    decay_bps,
                    floor,
                });
            }
            segments
        })
    }

    /// Schedules that change within the model's range.
    fn compact_schedule() -> impl Strategy<Value = Vec<Segment>> {
        schedule(MODEL_EPOCHS / 8, 40)
    }

    /// Schedules spread over the whole u64 epoch range with extreme values.
    fn wide_schedule() -> impl Strategy<Value = Vec<Segment>> {
        schedule(u64::MAX / MAX_SEGMENTS as u64, u64::MAX)
    }

    /// An epoch near a segment start, or anywhere.
    fn pick_epoch(segments: &[Segment], near_start: bool, pick: usize, raw: u64) -> u64 {
        if near_start {
            let segment = &segments[pick % segments.len()];
            segment.start_epoch.saturating_add(raw % 5_000)
        } else {
            raw
        }
    }

    proptest! {
        #[test]
        fn emission_matches_model(
            segments in compact_schedule(),
            samples in prop::collection::vec(0..MODEL_EPOCHS, 32),
        ) {
            prop_assert_eq!(validate_schedule(&segments), Ok(()));
            let model = model_emissions(&segments, MODEL_EPOCHS);
            for epoch in samples {
                prop_assert_eq!(emission(&segments, epoch), Ok(model[epoch as usize]));
            }
        }

        #[test]
        fn emission_after_matches_model_and_is_monotone(segments in compact_schedule()) {
            let model = model_emissions(&segments, MODEL_EPOCHS);
            prop_assert_eq!(emission_after(&segments, 0, 12_345), Ok(model[0]));
            for epoch in 1..MODEL_EPOCHS {
                let current = model[epoch as usize];
                let previous = model[epoch as usize - 1];
                prop_assert_eq!(emission_after(&segments, epoch, previous), Ok(current));
                let segment = segment_for(&segments, epoch).unwrap();
                prop_assert!(current >= segment.floor);
                prop_assert!(current <= segment.initial_emission);
                if segment.start_epoch < epoch {
                    prop_assert!(current <= previous);
                }
            }
        }

        #[test]
        fn cumulative_matches_sum_of_model(
            segments in compact_schedule(),
            ranges in prop::collection::vec((0..=MODEL_EPOCHS, 0..=MODEL_EPOCHS), 8),
        ) {
            let model = model_emissions(&segments, MODEL_EPOCHS);
            for (from, to) in ranges {
                let expected: u128 = if from < to {
                    model[from as usize..to as usize].iter().map(|&value| u128::from(value)).sum()
                } else {
                    0
                };
                prop_assert_eq!(cumulative_emission(&segments, from, to), Ok(expected));
            }
        }

        #[test]
        fn wide_emission_is_bounded_monotone_and_resumable(
            segments in wide_schedule(),
            near_start in any::<bool>(),
            pick in any::<usize>(),
            raw in 1..=u64::MAX,
        ) {
            let epoch = pick_epoch(&segments, near_start, pick, raw).max(1);
            let segment = *segment_for(&segments, epoch).unwrap();
            let previous = emission(&segments, epoch - 1).unwrap();
            let current = emission(&segments, epoch).unwrap();
            prop_assert!(current >= segment.floor);
            prop_assert!(current <= segment.initial_emission);
            prop_assert!(current <= max_emission(&segments));
            if segment.start_epoch < epoch {
                prop_assert!(current <= previous);
            }
            prop_assert_eq!(emission_after(&segments, epoch, previous), Ok(current));
            prop_assert_eq!(
                cumulative_emission(&segments, epoch, epoch + 1),
                Ok(u128::from(current))
            );
        }

        #[test]
        fn wide_cumulative_is_additive_and_bounded(
            segments in wide_schedule(),
            mut bounds in prop::collection::vec(any::<u64>(), 3),
        ) {
            bounds.sort_unstable();
            let (low, middle, high) = (bounds[0], bounds[1], bounds[2]);
            let whole = cumulative_emission(&segments, low, high).unwrap();
            let first = cumulative_emission(&segments, low, middle).unwrap();
            let second = cumulative_emission(&segments, middle, high).unwrap();
            prop_assert_eq!(whole, first + second);
            prop_assert!(whole <= u128::from(high - low) * u128::from(max_emission(&segments)));
            prop_assert_eq!(cumulative_emission(&segments, high, low), Ok(0));
        }
    }
}
