//! Credit pricing: converting between the network token and credits.
//!
//! A credit costs `credit_price_micro_usd` micro-USD (1 credit = $0.00001 → 10).
//! The token's USD price per whole token is `mantissa × 10^expo` (Pyth style,
//! `expo` usually negative such as −8), and the token has `decimals` decimals.
//! With base units of the token:
//!
//! ```text
//! tokens  = credits × credit_price × 10^(decimals − 6 − expo) / mantissa
//! credits = tokens × mantissa × 10^(6 + expo − decimals) / credit_price
//! ```
//!
//! **Rounding rule: every conversion rounds against the buyer.** Tokens owed
//! for credits round up, credits granted for tokens round down, and the oracle
//! price is lowered by its confidence first ([`conservative_price`]), so a
//! purchase never mints credits worth more than the tokens burned.
//!
//! All arithmetic is in checked `u128`; the power of ten lands in the numerator
//! or the denominator depending on its sign, and an exponent whose power does
//! not fit a `u128` (|exponent| > 38) is [`MathError::Overflow`].

use super::{MathError, BPS_DENOMINATOR};

/// Decimal exponent of the credit price unit: micro-USD = 10^-6 USD.
const MICRO_USD_EXPONENT: i64 = 6;

/// The oracle price minus its confidence interval, with its exponent: the
/// lowest price the oracle considers plausible, which favours the protocol
/// when selling credits.
///
/// # Errors
///
/// [`MathError::NonPositivePrice`] if `price <= 0` or `price − conf <= 0`.
pub fn conservative_price(price: i64, conf: u64, expo: i32) -> Result<(u64, i32), MathError> {
    let price = positive_price(price)?;
    let lowered = price
        .checked_sub(conf)
        .filter(|lowered| *lowered > 0)
        .ok_or(MathError::NonPositivePrice)?;
    Ok((lowered, expo))
}

/// Checks that the confidence interval is at most `max_conf_bps` basis points
/// of the price: `conf × 10_000 <= price × max_conf_bps`.
///
/// # Errors
///
/// [`MathError::NonPositivePrice`] if `price <= 0`,
/// [`MathError::ConfidenceTooWide`] if the interval is wider.
pub fn check_confidence(price: i64, conf: u64, max_conf_bps: u16) -> Result<(), MathError> {
    let price = positive_price(price)?;
    let spread = u128::from(conf)
        .checked_mul(u128::from(BPS_DENOMINATOR))
        .ok_or(MathError::Overflow)?;
    let allowed = u128::from(price)
        .checked_mul(u128::from(max_conf_bps))
        .ok_or(MathError::Overflow)?;
    if spread > allowed {
        return Err(MathError::ConfidenceTooWide);
    }
    Ok(())
}

/// Base units of the token to burn for `credits` credits:
/// `ceil(credits × credit_price_micro_usd × 10^(decimals − 6 − expo) / mantissa)`.
/// Rounds up, so the buyer never pays less than the credits are worth.
///
/// # Errors
///
/// [`MathError::ZeroCreditPrice`], [`MathError::NonPositivePrice`] for
/// a zero `mantissa`, [`MathError::Overflow`] if an intermediate or the result
/// does not fit (result above `u64::MAX`, |exponent| > 38).
pub fn tokens_for_credits(
    credits: u64,
    credit_price_micro_usd: u64,
    decimals: u8,
    mantissa: u64,
    expo: i32,
) -> Result<u64, MathError> {
    check_prices(credit_price_micro_usd, mantissa)?;
    let exponent = i64::from(decimals)
        .checked_sub(MICRO_USD_EXPONENT)
        .and_then(|exponent| exponent.checked_sub(i64::from(expo)))
        .ok_or(MathError::Overflow)?;
    let (numerator, denominator) =
        scaled_fraction(credits, credit_price_micro_usd, exponent, mantissa)?;
    let quotient = numerator
        .checked_div(denominator)
        .ok_or(MathError::Overflow)?;
    let remainder = numerator
        .checked_rem(denominator)
        .ok_or(MathError::Overflow)?;
    let rounded_up = if remainder > 0 {
        quotient.checked_add(1).ok_or(MathError::Overflow)?
    } else {
        quotient
    };
    u64::try_from(rounded_up).map_err(|_| MathError::Overflow)
}

/// Credits granted for burning `tokens` base units of the token:
/// `floor(tokens × mantissa × 10^(6 + expo − decimals) / credit_price_micro_usd)`.
/// Rounds down, so the buyer never gets more than the tokens are worth.
///
/// # Errors
///
/// [`MathError::ZeroCreditPrice`], [`MathError::NonPositivePrice`] for
/// a zero `mantissa`, [`MathError::Overflow`] if an intermediate or the result
/// does not fit (result above `u64::MAX`, |exponent| > 38).
pub fn credits_for_tokens(
    tokens: u64,
    credit_price_micro_usd: u64,
    decimals: u8,
    mantissa: u64,
    expo: i32,
) -> Result<u64, MathError> {
    check_prices(credit_price_micro_usd, mantissa)?;
    let exponent = MICRO_USD_EXPONENT
        .checked_add(i64::from(expo))
        .and_then(|exponent| exponent.checked_sub(i64::from(decimals)))
        .ok_or(MathError::Overflow)?;
    let (numerator, denominator) =
        scaled_fraction(tokens, mantissa, exponent, credit_price_micro_usd)?;
    let quotient = numerator
        .checked_div(denominator)
        .ok_or(MathError::Overflow)?;
    u64::try_from(quotient).map_err(|_| MathError::Overflow)
}

/// An oracle price as a positive `u64`.
fn positive_price(price: i64) -> Result<u64, MathError> {
    u64::try_from(price)
        .ok()
        .filter(|price| *price > 0)
        .ok_or(MathError::NonPositivePrice)
}

/// Rejects a zero credit price or token price (either would divide by zero).
fn check_prices(credit_price_micro_usd: u64, mantissa: u64) -> Result<(), MathError> {
    if credit_price_micro_usd == 0 {
        return Err(MathError::ZeroCreditPrice);
    }
    if mantissa == 0 {
        return Err(MathError::NonPositivePrice);
    }
    Ok(())
}

/// `first × second × 10^exponent / divisor` as a (numerator, denominator) pair,
/// with the power of ten on whichever side keeps it an integer.
fn scaled_fraction(
    first: u64,
    second: u64,
    exponent: i64,
    divisor: u64,
) -> Result<(u128, u128), MathError> {
    let magnitude = u32::try_from(exponent.unsigned_abs()).map_err(|_| MathError::Overflow)?;
    let power = 10u128.checked_pow(magnitude).ok_or(MathError::Overflow)?;
    let product = u128::from(first)
        .checked_mul(u128::from(second))
        .ok_or(MathError::Overflow)?;
    if product == 0 {
        // Zero stays zero whatever the scale; don't fail on a scaled divisor
        // that only overflows because it is huge.
        return Ok((0, 1));
    }
    if exponent >= 0 {
        let numerator = product.checked_mul(power).ok_or(MathError::Overflow)?;
        Ok((numerator, u128::from(divisor)))
    } else {
        let denominator = u128::from(divisor)
            .checked_mul(power)
            .ok_or(MathError::Overflow)?;
        Ok((product, denominator))
    }
}

#[cfg(test)]
// Tests compute expected values with plain operators: an overflow there is a
// test bug and panicking on it is what we want.
#[allow(clippy::arithmetic_side_effects)]
mod tests {
    use super::*;
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
}
