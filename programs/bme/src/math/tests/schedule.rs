//! Unit and property tests of `math::schedule` (kept beside it, compiled only for tests).

use crate::math::schedule::*;
use crate::math::*;
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
        for (index, (gap, initial_emission, floor_seed, shape)) in parts.into_iter().enumerate() {
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
