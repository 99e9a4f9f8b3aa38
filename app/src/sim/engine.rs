//! The epoch-by-epoch projection, on the program's own math.
//!
//! Every token amount is computed in base units by the functions the program runs:
//! the schedule by [`schedule::emission`] / [`schedule::emission_after`] (as
//! `close_epoch` calls them), purchases by [`price::tokens_for_credits`] (as
//! `buy_credits` prices a `Purchase::Credits`), the close by
//! [`epoch_outcome`] (re-mint cap, supply-cap clamp, split, pools without units not
//! emitted) and provider rewards by [`rewards::pro_rata`] (as `claim_rewards`).
//! Only the inputs (USD demand, USD price, provider count) are floating point.

use std::time::{Duration, Instant};

use bme::instructions::close_epoch::{epoch_outcome, EpochOutcome};
use bme::math::{price, rewards, schedule, MathError};
use bme::state::PoolSplit;
use serde::Serialize;

use super::scenario::Scenario;
use crate::error::ClientError;

/// Decimal exponent of the credit price unit (micro-USD).
const MICRO_USD_PER_USD: f64 = 1_000_000.0;

/// Significant digits kept when a USD price becomes an oracle-style mantissa.
const PRICE_DIGITS: i32 = 12;

/// What one epoch did, as the program would record it, plus the economics around it.
/// Token amounts are in base units.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct EpochFigures {
    /// Epoch number since genesis.
    pub epoch: u64,
    /// USD customers wanted to spend on credits.
    pub demand_usd: f64,
    /// USD price of one whole token.
    pub token_price_usd: f64,
    /// Providers sharing the pools.
    pub providers: u64,
    /// Credits bought (`floor(demand / credit price)`, limited by the tokens in existence).
    pub credits_bought: u64,
    /// Demand that found no tokens to burn (beyond the whole supply), in USD.
    pub unmet_demand_usd: f64,
    /// Tokens burned for the credits (`tokens_for_credits`, rounded up).
    pub tokens_burned: u64,
    /// Usage work units (the credits, all used in the epoch; 0 without providers).
    pub usage_units: u64,
    /// Contribution work units (one per provider when oracles are configured).
    pub contribution_units: u64,
    /// Emission from the schedule.
    pub scheduled_emission: u64,
    /// Burned tokens re-minted (capped by `net_remint_cap`).
    pub remint: u64,
    /// Scheduled + re-mint, as the `Epoch` account records it.
    pub emission: u64,
    /// Usage pool.
    pub usage_pool: u64,
    /// Contribution pool.
    pub contribution_pool: u64,
    /// Treasury share, minted at close.
    pub treasury: u64,
    /// Not minted: pools without units and the supply-cap clamp.
    pub not_emitted: u64,
    /// Pool rewards the providers claim (pro rata, rounded down).
    pub rewards_paid: u64,
    /// Pool rounding dust, never claimable (stays in `rewards_outstanding`).
    pub reward_dust: u64,
    /// Tokens that reached supply: treasury + rewards paid.
    pub minted: u64,
    /// `minted − tokens_burned`.
    pub net_supply_change: i64,
    /// Total supply after the epoch's burns, close and claims.
    pub supply: u64,
    /// Supply minus what the treasury holds (it keeps its share, selling only to
    /// customers who find no other tokens).
    pub circulating_supply: u64,
    /// `tokens_burned / minted` (none when nothing was minted).
    pub burn_emission_ratio: Option<f64>,
    /// BME equilibrium price: below it this epoch's burns would exceed its emission
    /// net of what is not emitted, above it they fall short (none without demand, or
    /// when nothing would be minted whatever the burn).
    pub equilibrium_price_usd: Option<f64>,
    /// Reward of one provider (equal shares), base units.
    pub reward_per_provider: u64,
    /// The same in USD at the epoch's price (none without providers).
    pub reward_per_provider_usd: Option<f64>,
    /// Operating cost of one provider.
    pub provider_cost_usd: f64,
    /// Reward minus cost, per provider (none without providers).
    pub provider_margin_usd: Option<f64>,
}

/// Where the supply heads once the simulated conditions of the last epoch persist.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Asymptote {
    /// The schedule's tail emits nothing net: the supply converges to `supply`
    /// (base units) once the remaining scheduled emission is minted.
    Converges {
        /// The limit, base units.
        supply: u64,
    },
    /// Emission outgrows burns forever: the supply rises until the supply cap.
    ReachesCap {
        /// The cap, base units.
        cap: u64,
        /// Net growth per epoch at the tail, base units.
        growth_per_epoch: u64,
        /// Years of epochs after the horizon until the cap binds.
        years_to_cap: f64,
    },
    /// Burns outgrow emission forever: the supply keeps falling (until the price
    /// adjusts towards the equilibrium price).
    Shrinks {
        /// Net decline per epoch at the tail, base units.
        decline_per_epoch: u64,
    },
}

/// A finished simulation.
#[derive(Debug, Clone)]
pub struct Simulation {
    /// The scenario's label.
    pub name: String,
    /// Token decimals.
    pub decimals: u8,
    /// Epoch length, seconds.
    pub epoch_length_secs: u64,
    /// Epochs in a 365-day year.
    pub epochs_per_year: u64,
    /// Supply before epoch 0, base units.
    pub initial_supply: u64,
    /// The supply cap, base units.
    pub supply_cap: u64,
    /// One row per epoch.
    pub figures: Vec<EpochFigures>,
    /// Rounding dust left in `rewards_outstanding` at the end, base units.
    pub rewards_outstanding: u64,
    /// Where the supply heads after the horizon (none for zero epochs).
    pub asymptote: Option<Asymptote>,
    /// Compute time of the projection.
    pub compute: Duration,
}

impl Simulation {
    /// Supply after the last simulated epoch (the initial supply for zero epochs).
    pub fn final_supply(&self) -> u64 {
        self.figures
            .last()
            .map_or(self.initial_supply, |last| last.supply)
    }

    /// Base units as whole tokens.
    pub fn tokens(&self, base_units: u64) -> f64 {
        base_units as f64 / 10f64.powi(i32::from(self.decimals))
    }
}

/// The protocol parameters the projection uses, taken from the genesis.
struct Params {
    segments: Vec<schedule::Segment>,
    split: PoolSplit,
    net_remint_cap: u64,
    supply_cap: u64,
    credit_price_micro_usd: u64,
    decimals: u8,
    contribution_reports: bool,
}

/// Projects `epochs` epochs of `scenario`.
///
/// Each epoch: customers buy `floor(demand / credit price)` credits (at most what the
/// whole supply can pay for: tokens from holders first, then from the treasury, which
/// otherwise keeps its share), burning `tokens_for_credits` at the epoch's price;
/// providers use all of them as usage units and, when the genesis configures oracles,
/// earn one contribution unit each; the epoch closes with `epoch_outcome` against the
/// headroom `cap − supply − rewards outstanding`; every provider claims an equal
/// `pro_rata` share of both pools, the rounding dust staying outstanding. The genesis
/// parameters hold for the whole run (no governance changes), the price is the
/// scenario's (no oracle confidence is subtracted), and the mint rate limit is assumed
/// never to bind (epochs close on time).
///
/// # Errors
///
/// A series value the math cannot use (a token price at or below zero), or a math
/// error, naming the epoch.
pub fn simulate(scenario: &Scenario, epochs: u64) -> Result<Simulation, ClientError> {
    let started = Instant::now();
    let genesis = &scenario.genesis;
    let params = Params {
        segments: genesis.segments(),
        split: PoolSplit {
            usage_bps: genesis.split.usage_bps,
            contribution_bps: genesis.split.contribution_bps,
            treasury_bps: genesis.split.treasury_bps,
        },
        net_remint_cap: genesis.supply.net_remint_cap,
        supply_cap: genesis.supply.cap,
        credit_price_micro_usd: genesis.credits.price_micro_usd,
        decimals: scenario.decimals,
        contribution_reports: !genesis.oracles.keys.is_empty() && genesis.oracles.threshold > 0,
    };
    let epochs_per_year = scenario.epochs_per_year();
    let year = epochs_per_year as f64;
    let one_token = 10f64.powi(i32::from(params.decimals));

    let mut supply = genesis.token.initial_supply;
    let mut treasury_held: u64 = 0;
    let mut outstanding: u64 = 0;
    let mut previous_scheduled: u64 = 0;
    let capacity = usize::try_from(epochs).unwrap_or(usize::MAX).min(1 << 24);
    let mut figures = Vec::with_capacity(capacity);

    for epoch in 0..epochs {
        let at = |e: MathError| math_error(epoch, e);
        let demand_usd = scenario.demand.value_at(epoch, year).max(0.0);
        let token_price_usd = scenario.token_price.value_at(epoch, year);
        let (mantissa, expo) = oracle_price(token_price_usd).ok_or_else(|| {
            ClientError::Input(format!(
                "token_price: {token_price_usd} USD at epoch {epoch} cannot price credits (it must stay above 0)"
            ))
        })?;
        let providers = round_count(scenario.providers.value_at(epoch, year));

        // Purchases: customers name the credits they want (`Purchase::Credits`).
        // Customers buy their tokens from holders, the treasury selling only what
        // nobody else holds; demand beyond the whole supply goes unmet.
        let wanted = credits_for_usd(demand_usd, params.credit_price_micro_usd);
        let affordable = match price::credits_for_tokens(
            supply,
            params.credit_price_micro_usd,
            params.decimals,
            mantissa,
            expo,
        ) {
            Ok(credits) => credits,
            Err(MathError::Overflow) => u64::MAX,
            Err(e) => return Err(at(e)),
        };
        let credits_bought = wanted.min(affordable);
        let tokens_burned = price::tokens_for_credits(
            credits_bought,
            params.credit_price_micro_usd,
            params.decimals,
            mantissa,
            expo,
        )
        .map_err(at)?;
        let supply_before_burn = supply;
        let circulating = supply.saturating_sub(treasury_held);
        treasury_held = treasury_held.saturating_sub(tokens_burned.saturating_sub(circulating));
        supply = supply.saturating_sub(tokens_burned);

        // Close, exactly as `close_epoch` decides it.
        let scheduled = if epoch == 0 {
            schedule::emission(&params.segments, 0)
        } else {
            schedule::emission_after(&params.segments, epoch, previous_scheduled)
        }
        .map_err(at)?;
        previous_scheduled = scheduled;
        let usage_units = if providers > 0 { credits_bought } else { 0 };
        let contribution_units = if params.contribution_reports {
            providers
        } else {
            0
        };
        let outstanding_before = outstanding;
        let headroom = params
            .supply_cap
            .saturating_sub(supply.saturating_add(outstanding));
        let outcome = close(
            &params,
            scheduled,
            tokens_burned,
            headroom,
            usage_units,
            contribution_units,
            epoch,
        )?;

        // Claims: equal providers, each `pro_rata(pool, 1, providers)`.
        let usage_share =
            rewards::pro_rata(outcome.usage_pool, 1.min(providers), providers).map_err(at)?;
        let contribution_share =
            rewards::pro_rata(outcome.contribution_pool, 1.min(providers), providers)
                .map_err(at)?;
        let reward_per_provider = usage_share
            .checked_add(contribution_share)
            .ok_or_else(|| at(MathError::Overflow))?;
        let rewards_paid = reward_per_provider
            .checked_mul(providers)
            .ok_or_else(|| at(MathError::Overflow))?;
        let pools = outcome
            .usage_pool
            .checked_add(outcome.contribution_pool)
            .ok_or_else(|| at(MathError::Overflow))?;
        let reward_dust = pools
            .checked_sub(rewards_paid)
            .ok_or_else(|| at(MathError::Overflow))?;
        let minted = outcome
            .treasury
            .checked_add(rewards_paid)
            .ok_or_else(|| at(MathError::Overflow))?;
        supply = supply
            .checked_add(minted)
            .ok_or_else(|| at(MathError::Overflow))?;
        treasury_held = treasury_held.saturating_add(outcome.treasury);
        outstanding = outstanding.saturating_add(reward_dust);

        let equilibrium_burn = equilibrium_burn(
            &params,
            scheduled,
            supply_before_burn,
            outstanding_before,
            usage_units,
            contribution_units,
            epoch,
        )?;
        let equilibrium_price_usd = equilibrium_burn
            .filter(|_| demand_usd > 0.0)
            .map(|burn| demand_usd / (burn as f64 / one_token));
        let reward_usd =
            (providers > 0).then(|| reward_per_provider as f64 / one_token * token_price_usd);
        figures.push(EpochFigures {
            epoch,
            demand_usd,
            token_price_usd,
            providers,
            credits_bought,
            unmet_demand_usd: wanted.saturating_sub(credits_bought) as f64
                * params.credit_price_micro_usd as f64
                / MICRO_USD_PER_USD,
            tokens_burned,
            usage_units,
            contribution_units,
            scheduled_emission: outcome.scheduled,
            remint: outcome.remint,
            emission: outcome.emission,
            usage_pool: outcome.usage_pool,
            contribution_pool: outcome.contribution_pool,
            treasury: outcome.treasury,
            not_emitted: outcome.not_emitted,
            rewards_paid,
            reward_dust,
            minted,
            net_supply_change: signed_difference(minted, tokens_burned),
            supply,
            circulating_supply: supply.saturating_sub(treasury_held),
            burn_emission_ratio: (minted > 0).then(|| tokens_burned as f64 / minted as f64),
            equilibrium_price_usd,
            reward_per_provider,
            reward_per_provider_usd: reward_usd,
            provider_cost_usd: scenario.provider_cost_usd,
            provider_margin_usd: reward_usd.map(|usd| usd - scenario.provider_cost_usd),
        });
    }

    let asymptote = match figures.last() {
        Some(last) => Some(asymptote(&params, last, outstanding, epochs_per_year)?),
        None => None,
    };
    Ok(Simulation {
        name: scenario.name.clone(),
        decimals: params.decimals,
        epoch_length_secs: genesis.epochs.length_secs,
        epochs_per_year,
        initial_supply: genesis.token.initial_supply,
        supply_cap: params.supply_cap,
        figures,
        rewards_outstanding: outstanding,
        asymptote,
        compute: started.elapsed(),
    })
}

/// `epoch_outcome` with the scenario's parameters.
fn close(
    params: &Params,
    scheduled: u64,
    tokens_burned: u64,
    headroom: u64,
    usage_units: u64,
    contribution_units: u64,
    epoch: u64,
) -> Result<EpochOutcome, ClientError> {
    epoch_outcome(
        scheduled,
        tokens_burned,
        params.net_remint_cap,
        headroom,
        &params.split,
        usage_units,
        contribution_units,
    )
    .map_err(|e| ClientError::Input(format!("epoch {epoch}: {e}")))
}

/// What reaches supply from an outcome: everything but the part not emitted.
fn minted_of(outcome: &EpochOutcome) -> u64 {
    outcome.emission.saturating_sub(outcome.not_emitted)
}

/// The burn (base units) beyond which the epoch would burn more than it mints: the
/// smallest `b` with `minted(b) < b`, none when the epoch mints nothing whatever is
/// burned. `minted(b) − b` never increases with `b` (the re-mint and the headroom
/// grow at most one unit per unit burned), so a binary search over
/// `0..=scheduled + net_remint_cap + 1` (where `minted < b` surely) finds it. When
/// every burn is re-minted in full (no schedule left, burns under the re-mint cap),
/// burns equal mints over a whole range and this is its end: the re-mint cap.
fn equilibrium_burn(
    params: &Params,
    scheduled: u64,
    supply_before_burn: u64,
    outstanding: u64,
    usage_units: u64,
    contribution_units: u64,
    epoch: u64,
) -> Result<Option<u64>, ClientError> {
    let minted = |burn: u64| -> Result<u64, ClientError> {
        let committed = supply_before_burn
            .saturating_sub(burn)
            .saturating_add(outstanding);
        let headroom = params.supply_cap.saturating_sub(committed);
        let outcome = close(
            params,
            scheduled,
            burn,
            headroom,
            usage_units,
            contribution_units,
            epoch,
        )?;
        Ok(minted_of(&outcome))
    };
    let mut low: u64 = 0;
    let mut high = scheduled
        .saturating_add(params.net_remint_cap)
        .saturating_add(1);
    if minted(high)? == 0 {
        return Ok(None);
    }
    while low < high {
        let middle = low + (high - low) / 2;
        if minted(middle)? < middle {
            high = middle;
        } else {
            low = middle + 1;
        }
    }
    Ok(Some(low))
}

/// Where the supply heads after the last epoch if its demand, price and providers
/// persist: compares the tail emission (the schedule's limit) with the last burn.
fn asymptote(
    params: &Params,
    last: &EpochFigures,
    outstanding: u64,
    epochs_per_year: u64,
) -> Result<Asymptote, ClientError> {
    let horizon = last.epoch.saturating_add(1);
    let at = |e: MathError| math_error(horizon, e);
    let segments = &params.segments;
    // The emission every epoch tends to: a halving or decay segment's floor, a
    // constant segment's value (the schedule computes it for the last epoch there is).
    let tail = schedule::emission(segments, u64::MAX).map_err(at)?;
    let tail_outcome = close(
        params,
        tail,
        last.tokens_burned,
        u64::MAX,
        last.usage_units,
        last.contribution_units,
        horizon,
    )?;
    let net_tail = i128::from(minted_of(&tail_outcome)) - i128::from(last.tokens_burned);

    // Scheduled emission after the horizon above the tail value, until the schedule
    // settles on it: its last segment only decreases, so binary search for the epoch.
    let last_start = segments.last().map_or(0, |segment| segment.start_epoch);
    let mut low = horizon.max(last_start);
    let mut high = u64::MAX;
    while low < high {
        let middle = low + (high - low) / 2;
        if schedule::emission(segments, middle).map_err(at)? <= tail {
            high = middle;
        } else {
            low = middle + 1;
        }
    }
    let settle = low;
    let remaining = schedule::cumulative_emission(segments, horizon, settle)
        .map_err(at)?
        .saturating_sub(u128::from(settle - horizon) * u128::from(tail));
    let remaining_outcome = close(
        params,
        u64::try_from(remaining).unwrap_or(u64::MAX),
        0,
        u64::MAX,
        last.usage_units,
        last.contribution_units,
        horizon,
    )?;
    let remaining_minted = minted_of(&remaining_outcome);
    let room = params
        .supply_cap
        .saturating_sub(last.supply.saturating_add(outstanding));

    Ok(match net_tail {
        0 => Asymptote::Converges {
            supply: last.supply.saturating_add(remaining_minted.min(room)),
        },
        growth if growth > 0 => {
            let growth = u64::try_from(growth).unwrap_or(u64::MAX);
            let left = room.saturating_sub(remaining_minted) as f64;
            Asymptote::ReachesCap {
                cap: params.supply_cap,
                growth_per_epoch: growth,
                years_to_cap: left / growth as f64 / epochs_per_year as f64,
            }
        }
        decline => Asymptote::Shrinks {
            decline_per_epoch: u64::try_from(-decline).unwrap_or(u64::MAX),
        },
    })
}

/// A USD price as an oracle-style `(mantissa, expo)` with [`PRICE_DIGITS`]
/// significant digits; none for a price that is not above zero.
pub fn oracle_price(usd: f64) -> Option<(u64, i32)> {
    if !usd.is_finite() || usd <= 0.0 {
        return None;
    }
    let expo = (usd.log10().floor() as i32).checked_sub(PRICE_DIGITS)?;
    let mantissa = (usd * 10f64.powi(-expo)).round();
    (mantissa >= 1.0 && mantissa < u64::MAX as f64).then_some((mantissa as u64, expo))
}

/// Credits `usd` buys at `credit_price_micro_usd`, rounded down (a value within a
/// millionth of a whole credit counts as that credit: float noise, not money).
pub fn credits_for_usd(usd: f64, credit_price_micro_usd: u64) -> u64 {
    let credits = usd * MICRO_USD_PER_USD / credit_price_micro_usd as f64;
    let nearest = credits.round();
    let whole = if (credits - nearest).abs() < 1e-6 {
        nearest
    } else {
        credits.floor()
    };
    // `as` saturates: negative or NaN → 0, huge → u64::MAX.
    whole as u64
}

/// A provider count from a series value.
fn round_count(value: f64) -> u64 {
    value.max(0.0).round() as u64
}

/// `a − b` as a signed number.
fn signed_difference(a: u64, b: u64) -> i64 {
    let difference = i128::from(a) - i128::from(b);
    i64::try_from(difference).unwrap_or(if difference < 0 { i64::MIN } else { i64::MAX })
}

/// A math error at an epoch.
fn math_error(epoch: u64, error: MathError) -> ClientError {
    ClientError::Input(format!("epoch {epoch}: {error}"))
}
