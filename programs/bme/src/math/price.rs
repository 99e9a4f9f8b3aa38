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
