//! Unit and property tests of `math::rewards` (kept beside it, compiled only for tests).

use crate::math::rewards::*;
use crate::math::*;
use proptest::prelude::*;

#[test]
fn split_hand_numbers() {
    assert_eq!(
        split_emission(1_000, 6_000, 3_000, 1_000),
        Ok(EmissionSplit {
            usage: 600,
            contribution: 300,
            treasury: 100,
        })
    );
    // 999 × 0.3333 = 332.97 → 332 twice; the treasury takes 335 (333 + dust 2).
    assert_eq!(
        split_emission(999, 3_333, 3_333, 3_334),
        Ok(EmissionSplit {
            usage: 332,
            contribution: 332,
            treasury: 335,
        })
    );
    assert_eq!(
        split_emission(u64::MAX, 10_000, 0, 0),
        Ok(EmissionSplit {
            usage: u64::MAX,
            contribution: 0,
            treasury: 0,
        })
    );
    assert_eq!(
        split_emission(0, 5_000, 5_000, 0),
        Ok(EmissionSplit::default())
    );
}

#[test]
fn split_must_sum_to_10_000() {
    assert_eq!(validate_split(10_000, 0, 0), Ok(()));
    assert_eq!(validate_split(0, 0, 10_000), Ok(()));
    assert_eq!(
        validate_split(5_000, 4_999, 0),
        Err(MathError::InvalidSplit)
    );
    assert_eq!(
        validate_split(5_000, 5_000, 1),
        Err(MathError::InvalidSplit)
    );
    assert_eq!(
        validate_split(u16::MAX, u16::MAX, u16::MAX),
        Err(MathError::InvalidSplit)
    );
    assert_eq!(
        split_emission(100, 9_000, 0, 0),
        Err(MathError::InvalidSplit)
    );
}

#[test]
fn pro_rata_hand_numbers() {
    assert_eq!(pro_rata(1_000, 1, 3), Ok(333));
    assert_eq!(pro_rata(1_000, 2, 3), Ok(666));
    assert_eq!(pro_rata(1_000, 3, 3), Ok(1_000));
    assert_eq!(pro_rata(u64::MAX, u64::MAX - 1, u64::MAX), Ok(u64::MAX - 1));
    assert_eq!(pro_rata(u64::MAX, u64::MAX, u64::MAX), Ok(u64::MAX));
    assert_eq!(pro_rata(1_000, 0, 0), Ok(0));
    assert_eq!(pro_rata(1_000, 0, 5), Ok(0));
    assert_eq!(pro_rata(0, 5, 5), Ok(0));
    assert_eq!(pro_rata(1_000, 1, 0), Err(MathError::UnitsExceedTotal));
    assert_eq!(pro_rata(1_000, 6, 5), Err(MathError::UnitsExceedTotal));
}

/// Three basis-point shares summing to 10_000.
fn valid_split() -> impl Strategy<Value = (u16, u16, u16)> {
    (0u16..=10_000)
        .prop_flat_map(|usage| (Just(usage), 0..=10_000 - usage))
        .prop_map(|(usage, contribution)| (usage, contribution, 10_000 - usage - contribution))
}

proptest! {
    #[test]
    fn split_sums_exactly(
        amount in any::<u64>(),
        (usage_bps, contribution_bps, treasury_bps) in valid_split(),
    ) {
        let split = split_emission(amount, usage_bps, contribution_bps, treasury_bps).unwrap();
        prop_assert_eq!(
            u128::from(split.usage) + u128::from(split.contribution) + u128::from(split.treasury),
            u128::from(amount)
        );
        prop_assert_eq!(split.usage, (u128::from(amount) * u128::from(usage_bps) / 10_000) as u64);
        // The treasury gets its own share plus at most 2 units of dust.
        let treasury_share = (u128::from(amount) * u128::from(treasury_bps) / 10_000) as u64;
        prop_assert!(split.treasury >= treasury_share);
        prop_assert!(split.treasury - treasury_share <= 2);
    }

    #[test]
    fn shares_of_a_partition_never_exceed_the_pool(
        pool in prop_oneof![0u64..=1_000, any::<u64>()],
        parts in prop::collection::vec(prop_oneof![0u64..=1_000, 0..=u64::MAX / 64], 1..64),
    ) {
        let total: u64 = parts.iter().sum();
        let mut distributed: u128 = 0;
        for &units in &parts {
            distributed += u128::from(pro_rata(pool, units, total).unwrap());
        }
        prop_assert!(distributed <= u128::from(pool));
        if total > 0 {
            prop_assert!(u128::from(pool) - distributed < parts.len() as u128);
        } else {
            prop_assert_eq!(distributed, 0);
        }
    }

    #[test]
    fn reward_math_never_panics(
        amount in any::<u64>(),
        units in any::<u64>(),
        total_units in any::<u64>(),
        usage_bps in any::<u16>(),
        contribution_bps in any::<u16>(),
        treasury_bps in any::<u16>(),
    ) {
        match pro_rata(amount, units, total_units) {
            Ok(share) => prop_assert!(share <= amount),
            Err(error) => {
                prop_assert_eq!(error, MathError::UnitsExceedTotal);
                prop_assert!(units > total_units);
            }
        }
        let valid = u32::from(usage_bps) + u32::from(contribution_bps) + u32::from(treasury_bps) == 10_000;
        prop_assert_eq!(validate_split(usage_bps, contribution_bps, treasury_bps).is_ok(), valid);
        match split_emission(amount, usage_bps, contribution_bps, treasury_bps) {
            Ok(_) => prop_assert!(valid),
            Err(error) => {
                prop_assert_eq!(error, MathError::InvalidSplit);
                prop_assert!(!valid);
            }
        }
    }
}
