//! Unit and property tests of `math::price` (kept beside it, compiled only for tests).

use crate::math::price::*;
use crate::math::*;
use proptest::prelude::*;

/// $0.00001 per credit.
const CREDIT_PRICE: u64 = 10;
/// $2.00 with a Pyth exponent of −8.
const TWO_DOLLARS: u64 = 200_000_000;
const EXPO: i32 = -8;

#[test]
fn two_dollar_token_hand_numbers() {
    // 100_000 credits = $1 = 0.5 token = 500_000 base units at 6 decimals.
    assert_eq!(
        tokens_for_credits(100_000, CREDIT_PRICE, 6, TWO_DOLLARS, EXPO),
        Ok(500_000)
    );
    assert_eq!(
        credits_for_tokens(500_000, CREDIT_PRICE, 6, TWO_DOLLARS, EXPO),
        Ok(100_000)
    );
    // 1 credit = 5 base units exactly.
    assert_eq!(
        tokens_for_credits(1, CREDIT_PRICE, 6, TWO_DOLLARS, EXPO),
        Ok(5)
    );
    assert_eq!(
        credits_for_tokens(4, CREDIT_PRICE, 6, TWO_DOLLARS, EXPO),
        Ok(0)
    );
    assert_eq!(
        tokens_for_credits(0, CREDIT_PRICE, 6, TWO_DOLLARS, EXPO),
        Ok(0)
    );
}

#[test]
fn conversions_round_against_the_buyer() {
    // Token at $3: 1 credit is worth 3.33… base units, so it costs 4, and
    // 4 base units buy floor(1.2) = 1 credit.
    let three_dollars = 300_000_000;
    assert_eq!(
        tokens_for_credits(1, CREDIT_PRICE, 6, three_dollars, EXPO),
        Ok(4)
    );
    assert_eq!(
        credits_for_tokens(4, CREDIT_PRICE, 6, three_dollars, EXPO),
        Ok(1)
    );
    assert_eq!(
        credits_for_tokens(3, CREDIT_PRICE, 6, three_dollars, EXPO),
        Ok(0)
    );
    // Exponent 6 − 6 − 0 = 0: 10 / 3 leaves a remainder of exactly 1,
    // which still rounds up.
    assert_eq!(tokens_for_credits(1, CREDIT_PRICE, 6, 3, 0), Ok(4));
    assert_eq!(credits_for_tokens(4, CREDIT_PRICE, 6, 3, 0), Ok(1));
}

#[test]
fn power_of_ten_in_the_denominator() {
    // A $1 token with 0 decimals: decimals − 6 − expo = −6.
    assert_eq!(tokens_for_credits(100_000, CREDIT_PRICE, 0, 1, 0), Ok(1));
    assert_eq!(tokens_for_credits(1, CREDIT_PRICE, 0, 1, 0), Ok(1));
    assert_eq!(tokens_for_credits(100_001, CREDIT_PRICE, 0, 1, 0), Ok(2));
    assert_eq!(credits_for_tokens(1, CREDIT_PRICE, 0, 1, 0), Ok(100_000));
    // A $0.001 token with 9 decimals and expo −3: exponent 9 − 6 + 3 = 6.
    assert_eq!(
        tokens_for_credits(100, CREDIT_PRICE, 9, 1, -3),
        Ok(1_000_000_000)
    );
    assert_eq!(
        credits_for_tokens(1_000_000_000, CREDIT_PRICE, 9, 1, -3),
        Ok(100)
    );
}

#[test]
fn conversion_errors() {
    assert_eq!(
        tokens_for_credits(1, 0, 6, TWO_DOLLARS, EXPO),
        Err(MathError::ZeroCreditPrice)
    );
    assert_eq!(
        credits_for_tokens(1, 0, 6, TWO_DOLLARS, EXPO),
        Err(MathError::ZeroCreditPrice)
    );
    assert_eq!(
        tokens_for_credits(1, CREDIT_PRICE, 6, 0, EXPO),
        Err(MathError::NonPositivePrice)
    );
    assert_eq!(
        credits_for_tokens(1, CREDIT_PRICE, 6, 0, EXPO),
        Err(MathError::NonPositivePrice)
    );
    // 6 − 6 + 38 = 38 fits a u128, 39 does not.
    assert_eq!(tokens_for_credits(0, 1, 6, 1, -38), Ok(0));
    assert_eq!(
        tokens_for_credits(0, 1, 6, 1, -39),
        Err(MathError::Overflow)
    );
    assert_eq!(
        credits_for_tokens(0, 1, 6, 1, i32::MIN),
        Err(MathError::Overflow)
    );
    // 0 − 6 − 32 = −38: the power fits but mantissa × 10^38 does not,
    // which only matters when there is something to divide.
    assert_eq!(tokens_for_credits(0, 1, 0, u64::MAX, 32), Ok(0));
    assert_eq!(
        tokens_for_credits(1, 1, 0, u64::MAX, 32),
        Err(MathError::Overflow)
    );
    // The result does not fit a u64.
    assert_eq!(
        tokens_for_credits(u64::MAX, u64::MAX, 6, 1, EXPO),
        Err(MathError::Overflow)
    );
    assert_eq!(
        credits_for_tokens(u64::MAX, 1, 0, u64::MAX, 0),
        Err(MathError::Overflow)
    );
}

#[test]
fn conservative_price_subtracts_confidence() {
    assert_eq!(conservative_price(100, 10, EXPO), Ok((90, EXPO)));
    assert_eq!(conservative_price(100, 0, 2), Ok((100, 2)));
    assert_eq!(
        conservative_price(i64::MAX, 0, EXPO),
        Ok((i64::MAX as u64, EXPO))
    );
    assert_eq!(conservative_price(100, 99, EXPO), Ok((1, EXPO)));
    for (price, conf) in [
        (100, 100),
        (100, 101),
        (0, 0),
        (-5, 0),
        (i64::MIN, 0),
        (1, u64::MAX),
    ] {
        assert_eq!(
            conservative_price(price, conf, EXPO),
            Err(MathError::NonPositivePrice)
        );
    }
}

#[test]
fn confidence_limit_is_inclusive() {
    // 1% of 10_000 is 100.
    assert_eq!(check_confidence(10_000, 100, 100), Ok(()));
    assert_eq!(
        check_confidence(10_000, 101, 100),
        Err(MathError::ConfidenceTooWide)
    );
    assert_eq!(check_confidence(10_000, 0, 0), Ok(()));
    assert_eq!(
        check_confidence(10_000, 1, 0),
        Err(MathError::ConfidenceTooWide)
    );
    assert_eq!(check_confidence(i64::MAX, u64::MAX, u16::MAX), Ok(()));
    assert_eq!(
        check_confidence(0, 0, 100),
        Err(MathError::NonPositivePrice)
    );
    assert_eq!(
        check_confidence(-1, 0, 100),
        Err(MathError::NonPositivePrice)
    );
}

/// Prices a real network might see.
fn realistic() -> impl Strategy<Value = (u64, u8, u64, i32)> {
    (
        1u64..=1_000_000,
        0u8..=12,
        1u64..=1_000_000_000_000,
        -12i32..=0,
    )
}

/// Anything the types allow, with the small values that matter oversampled.
fn extreme() -> impl Strategy<Value = (u64, u8, u64, i32)> {
    (
        prop_oneof![1u64..=100, any::<u64>()],
        any::<u8>(),
        prop_oneof![1u64..=100, any::<u64>()],
        prop_oneof![-40i32..=40, any::<i32>()],
    )
}

fn any_prices() -> impl Strategy<Value = (u64, u8, u64, i32)> {
    prop_oneof![realistic(), extreme()]
}

proptest! {
    #[test]
    fn paying_the_quote_buys_at_least_the_credits(
        credits in prop_oneof![0u64..=1_000_000_000, any::<u64>()],
        (credit_price, decimals, mantissa, expo) in any_prices(),
    ) {
        if let Ok(tokens) = tokens_for_credits(credits, credit_price, decimals, mantissa, expo) {
            match credits_for_tokens(tokens, credit_price, decimals, mantissa, expo) {
                Ok(bought) => prop_assert!(bought >= credits),
                // Only possible when the credits bought overflow a u64.
                Err(error) => prop_assert_eq!(error, MathError::Overflow),
            }
        }
    }

    #[test]
    fn the_tokens_for_granted_credits_never_exceed_the_tokens_paid(
        tokens in prop_oneof![0u64..=1_000_000_000_000, any::<u64>()],
        (credit_price, decimals, mantissa, expo) in any_prices(),
    ) {
        if let Ok(credits) = credits_for_tokens(tokens, credit_price, decimals, mantissa, expo) {
            let quote = tokens_for_credits(credits, credit_price, decimals, mantissa, expo);
            // ceil(credits × …) ≤ tokens, so it always fits.
            prop_assert!(quote.is_ok());
            prop_assert!(quote.unwrap() <= tokens);
        }
    }

    #[test]
    fn realistic_prices_round_trip_exactly_within_one_credit(
        credits in 0u64..=1_000_000_000_000,
        (credit_price, decimals, mantissa, expo) in realistic(),
    ) {
        match tokens_for_credits(credits, credit_price, decimals, mantissa, expo) {
            Ok(tokens) => {
                let bought = credits_for_tokens(tokens, credit_price, decimals, mantissa, expo).unwrap();
                prop_assert!(bought >= credits);
                // One base unit less would not have bought them all.
                if tokens > 0 {
                    let short = credits_for_tokens(tokens - 1, credit_price, decimals, mantissa, expo).unwrap();
                    prop_assert!(short < credits);
                }
            }
            Err(error) => prop_assert_eq!(error, MathError::Overflow),
        }
    }

    #[test]
    fn conversions_are_monotone(
        (low, high) in (any::<u64>(), any::<u64>()).prop_map(|(a, b)| (a.min(b), a.max(b))),
        (credit_price, decimals, mantissa, expo) in any_prices(),
        (cheaper, dearer) in (1..=u64::MAX, 1..=u64::MAX).prop_map(|(a, b)| (a.min(b), a.max(b))),
    ) {
        // More credits cost at least as many tokens.
        if let (Ok(fewer), Ok(more)) = (
            tokens_for_credits(low, credit_price, decimals, mantissa, expo),
            tokens_for_credits(high, credit_price, decimals, mantissa, expo),
        ) {
            prop_assert!(fewer <= more);
        }
        // More tokens buy at least as many credits.
        if let (Ok(fewer), Ok(more)) = (
            credits_for_tokens(low, credit_price, decimals, mantissa, expo),
            credits_for_tokens(high, credit_price, decimals, mantissa, expo),
        ) {
            prop_assert!(fewer <= more);
        }
        // A dearer token needs fewer tokens and grants more credits.
        if let (Ok(at_cheaper), Ok(at_dearer)) = (
            tokens_for_credits(high, credit_price, decimals, cheaper, expo),
            tokens_for_credits(high, credit_price, decimals, dearer, expo),
        ) {
            prop_assert!(at_dearer <= at_cheaper);
        }
        if let (Ok(at_cheaper), Ok(at_dearer)) = (
            credits_for_tokens(high, credit_price, decimals, cheaper, expo),
            credits_for_tokens(high, credit_price, decimals, dearer, expo),
        ) {
            prop_assert!(at_dearer >= at_cheaper);
        }
        // Dearer credits cost more tokens and are fewer per token.
        if let (Ok(at_cheaper), Ok(at_dearer)) = (
            tokens_for_credits(high, cheaper, decimals, mantissa, expo),
            tokens_for_credits(high, dearer, decimals, mantissa, expo),
        ) {
            prop_assert!(at_dearer >= at_cheaper);
        }
        if let (Ok(at_cheaper), Ok(at_dearer)) = (
            credits_for_tokens(high, cheaper, decimals, mantissa, expo),
            credits_for_tokens(high, dearer, decimals, mantissa, expo),
        ) {
            prop_assert!(at_dearer <= at_cheaper);
        }
    }

    #[test]
    fn never_panics_on_any_input(
        amount in any::<u64>(),
        credit_price in any::<u64>(),
        decimals in any::<u8>(),
        mantissa in any::<u64>(),
        expo in any::<i32>(),
        price in any::<i64>(),
        conf in any::<u64>(),
        max_conf_bps in any::<u16>(),
    ) {
        let _ = tokens_for_credits(amount, credit_price, decimals, mantissa, expo);
        let _ = credits_for_tokens(amount, credit_price, decimals, mantissa, expo);
        match conservative_price(price, conf, expo) {
            Ok((lowered, same_expo)) => {
                prop_assert!(lowered > 0);
                prop_assert_eq!(u128::from(lowered) + u128::from(conf), price as u128);
                prop_assert_eq!(same_expo, expo);
            }
            Err(error) => prop_assert_eq!(error, MathError::NonPositivePrice),
        }
        match check_confidence(price, conf, max_conf_bps) {
            Ok(()) => prop_assert!(
                u128::from(conf) * 10_000 <= price as u128 * u128::from(max_conf_bps)
            ),
            Err(MathError::ConfidenceTooWide) => prop_assert!(price > 0),
            Err(error) => {
                prop_assert_eq!(error, MathError::NonPositivePrice);
                prop_assert!(price <= 0);
            }
        }
    }
}
