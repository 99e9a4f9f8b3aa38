//! Edge arithmetic on the real runtime: every numeric input of every instruction —
//! purchase amounts and slippage bounds, oracle prices, receipt cumulative amounts,
//! report units, sequences and epochs, the close index, pause flags, governance
//! change values and genesis parameters — driven through 0, 1, `u64::MAX` (the edges
//! of their types) and random values.
//!
//! Each transaction must end in either a correct result (checked against balances,
//! supplies and account fields) or a *named* error: a `BmeError`, an Anchor framework
//! error, or the token program's. Where the outcome is computable, the test computes
//! it independently (from the pure math and the protocol's rules) and requires that
//! exact outcome. Anything else — in particular `ProgramFailedToComplete`, which is
//! how a panic in the natively run program surfaces — fails the test.
//!
//! Properties run with proptest on one live runtime per property (the state carries
//! over between cases, and the expected outcome is computed from the state read back
//! before each case). Case counts are modest so CI stays fast; every property also
//! runs a fixed grid of the edge values first.

mod support;

use std::cell::RefCell;

use bme::constants::PAUSE_ALL;
use bme::instructions::{
    BuyCreditsArgs, CloseEpochArgs, InitializeProtocolArgs, Purchase, TokenSetup,
};
use bme::math::price;
use bme::math::schedule::Segment;
use bme::math::MathError;
use bme::state::{
    Epoch, OracleSet, ParameterChange, PendingChange, PoolSplit, PriceSource, Protocol, Provider,
};
use bme_client::receipt::SignedReceipt;
use bme_client::{ix, pda};
use bme_tests::genesis::*;
use bme_tests::*;
use proptest::prelude::*;
use proptest::test_runner::{Config, TestCaseError, TestRunner};
use solana_sdk::instruction::Instruction;
use solana_sdk::pubkey::Pubkey;
use solana_sdk::signature::{Keypair, Signer};
use support::{quiet_harness_panics, Outcome};

/// Random cases per property on the runtime (on top of the fixed edge grid).
const CASES: u32 = 24;

/// An edge-biased `u64`: the type's edges, small values, and anything.
fn edgy_u64() -> impl Strategy<Value = u64> {
    prop_oneof![
        Just(0u64),
        Just(1u64),
        Just(u64::MAX),
        Just(u64::MAX - 1),
        0u64..1_000,
        any::<u64>(),
    ]
}

/// The fixed edges every numeric input goes through.
const EDGES: [u64; 4] = [0, 1, u64::MAX - 1, u64::MAX];

fn bme(name: &str) -> Outcome {
    Outcome::Bme(name.to_string())
}

/// Token program `InsufficientFunds` (the same code in SPL Token and Token-2022).
const INSUFFICIENT_FUNDS: Outcome = Outcome::Program(1);

/// The `BmeError` a `MathError` becomes on chain.
fn math(error: MathError) -> Outcome {
    bme(match error {
        MathError::Overflow | MathError::UnitsExceedTotal => "MathOverflow",
        MathError::NonPositivePrice => "NonPositivePrice",
        MathError::ConfidenceTooWide => "PriceConfidenceTooWide",
        MathError::ZeroCreditPrice => "ZeroCreditPrice",
        MathError::InvalidSplit => "InvalidSplit",
        MathError::EmptySchedule => "EmptySchedule",
        MathError::TooManySegments => "TooManySegments",
        MathError::FirstSegmentNotAtZero => "FirstSegmentNotAtZero",
        MathError::UnsortedSchedule => "UnsortedSchedule",
        MathError::HalvingAndDecay => "HalvingAndDecay",
        MathError::DecayTooLarge => "DecayTooLarge",
        MathError::FloorAboveInitial => "FloorAboveInitial",
    })
}

thread_local! {
    /// Outcomes seen by the running property, for its summary line.
    static SEEN: RefCell<std::collections::BTreeMap<String, u32>> = RefCell::default();
}

/// The outcomes seen since the last call, as `outcome × count`.
fn seen_summary() -> String {
    SEEN.with(|seen| {
        let summary = seen
            .borrow()
            .iter()
            .map(|(outcome, count)| format!("{outcome} ×{count}"))
            .collect::<Vec<_>>()
            .join(", ");
        seen.borrow_mut().clear();
        summary
    })
}

/// Sends and classifies; a result that is neither success nor a named error fails.
async fn outcome(
    fixture: &mut TestFixture,
    instructions: &[Instruction],
    signers: &[&Keypair],
) -> Outcome {
    let result = fixture.send(instructions, signers).await;
    let outcome = Outcome::of(&result);
    SEEN.with(|seen| *seen.borrow_mut().entry(outcome.to_string()).or_default() += 1);
    assert!(
        outcome == Outcome::Ok || outcome.is_named_error(),
        "neither a success nor a named error (a panic surfaces as \
         ProgramFailedToComplete): {result:?}"
    );
    outcome
}

/// Runs `check` on the edge grid, then on `CASES` random values; returns the count.
fn property<S: Strategy>(
    name: &str,
    grid: Vec<S::Value>,
    strategy: S,
    check: impl Fn(S::Value) -> Result<(), TestCaseError>,
) -> u32
where
    S::Value: Clone + std::fmt::Debug,
{
    property_then(name, grid, strategy, Vec::new(), check)
}

/// [`property`], then the `tail` edge cases (those that saturate state for good).
fn property_then<S: Strategy>(
    name: &str,
    grid: Vec<S::Value>,
    strategy: S,
    tail: Vec<S::Value>,
    check: impl Fn(S::Value) -> Result<(), TestCaseError>,
) -> u32
where
    S::Value: Clone + std::fmt::Debug,
{
    quiet_harness_panics();
    let mut count = 0u32;
    let run_edges = |values: Vec<S::Value>, count: &mut u32| {
        for value in values {
            *count += 1;
            if let Err(error) = check(value.clone()) {
                panic!("{name}: edge case {value:?} failed: {error}");
            }
        }
    };
    run_edges(grid, &mut count);
    let mut runner = TestRunner::new(Config {
        cases: CASES,
        max_shrink_iters: 16,
        failure_persistence: None,
        ..Config::default()
    });
    runner
        .run(&strategy, &check)
        .unwrap_or_else(|error| panic!("{name}: {error}"));
    count += CASES;
    run_edges(tail, &mut count);
    eprintln!(
        "EDGE {name}: {count} cases on the runtime; outcomes: {}",
        seen_summary()
    );
    count
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("tokio runtime")
}

// ---------------------------------------------------------------------------------
// buy_credits
// ---------------------------------------------------------------------------------

struct Market {
    fixture: TestFixture,
    network: Network,
    buyer: Keypair,
    price_account: Pubkey,
}

async fn market(token_program: Pubkey, pyth: bool) -> Market {
    let mut fixture = TestFixture::new(vec![]).await;
    let price_account = Pubkey::new_unique();
    let network = Network::adopt(&mut fixture, token_program, 1_000_000_000 * TOKEN, |a| {
        if pyth {
            a.price_source = pyth_source(price_account);
        }
    })
    .await
    .expect("genesis");
    let buyer = network
        .fund_customer(&mut fixture, 100_000_000 * TOKEN)
        .await;
    Market {
        fixture,
        network,
        buyer,
        price_account,
    }
}

/// What a purchase should do: (tokens burned, credits minted), or the outcome.
fn expected_purchase(
    purchase: Purchase,
    price: Result<(u64, i32), Outcome>,
    balance: u64,
    totals: (u64, u64),
) -> Result<(u64, u64), Outcome> {
    let (mantissa, expo) = price?;
    let (credit_price, decimals) = (10, DECIMALS);
    let (tokens, credits) = match purchase {
        Purchase::Tokens {
            tokens,
            min_credits,
        } => {
            if tokens == 0 {
                return Err(bme("InvalidPurchaseAmount"));
            }
            let credits = price::credits_for_tokens(tokens, credit_price, decimals, mantissa, expo)
                .map_err(math)?;
            if credits == 0 {
                return Err(bme("PurchaseTooSmall"));
            }
            if credits < min_credits {
                return Err(bme("SlippageExceeded"));
            }
            (tokens, credits)
        }
        Purchase::Credits {
            credits,
            max_tokens,
        } => {
            if credits == 0 {
                return Err(bme("InvalidPurchaseAmount"));
            }
            let tokens = price::tokens_for_credits(credits, credit_price, decimals, mantissa, expo)
                .map_err(math)?;
            if tokens > max_tokens {
                return Err(bme("SlippageExceeded"));
            }
            (tokens, credits)
        }
    };
    // The protocol's running totals (tokens burned, credits minted) must hold it.
    if totals.0.checked_add(tokens).is_none() || totals.1.checked_add(credits).is_none() {
        return Err(bme("MathOverflow"));
    }
    if tokens > balance {
        return Err(INSUFFICIENT_FUNDS);
    }
    Ok((tokens, credits))
}

/// Sends a purchase and checks it against `expected_purchase`.
async fn check_purchase(
    m: &mut Market,
    purchase: Purchase,
    epoch_arg: Option<u64>,
    price: Result<(u64, i32), Outcome>,
    price_update: Option<Pubkey>,
) -> Result<(), TestCaseError> {
    let current = m.network.current_epoch(&m.fixture);
    let epoch = epoch_arg.unwrap_or(current);
    let token_account = m.network.token_account(&m.buyer.pubkey());
    let credit_account = m.network.credit_account(&m.buyer.pubkey());
    let balance = m.fixture.token_balance(&token_account).await;
    let credits_before = match m.fixture.raw_account(&credit_account).await {
        Some(_) => m.fixture.token_balance(&credit_account).await,
        None => 0,
    };
    let supply_before = m.fixture.mint_supply(&m.network.token_mint).await;
    let expected = if epoch != current {
        Err(bme("WrongEpoch"))
    } else {
        let protocol: bme::state::Protocol = m.fixture.account(&m.network.protocol).await;
        let totals = (
            protocol.totals.tokens_burned,
            protocol.totals.credits_minted,
        );
        expected_purchase(purchase, price, balance, totals)
    };
    let buy = ix::buy_credits(
        ix::BuyCreditsAccounts {
            buyer: m.buyer.pubkey(),
            token_mint: m.network.token_mint,
            token_program: m.network.token_program,
            buyer_token_account: None,
            recipient: m.buyer.pubkey(),
            price_update,
        },
        BuyCreditsArgs { epoch, purchase },
    );
    let got = outcome(&mut m.fixture, &[buy], &[&m.buyer]).await;
    match expected {
        Ok((tokens, credits)) => {
            prop_assert_eq!(got, Outcome::Ok, "{:?}", purchase);
            let after = m.fixture.token_balance(&token_account).await;
            prop_assert_eq!(balance - after, tokens);
            let credits_after = m.fixture.token_balance(&credit_account).await;
            prop_assert_eq!(credits_after - credits_before, credits);
            let supply = m.fixture.mint_supply(&m.network.token_mint).await;
            prop_assert_eq!(supply_before - supply, tokens);
        }
        Err(error) => {
            prop_assert_eq!(got, error, "{:?} epoch {}", purchase, epoch);
            prop_assert_eq!(m.fixture.token_balance(&token_account).await, balance);
        }
    }
    Ok(())
}

fn purchase_strategy() -> impl Strategy<Value = Purchase> {
    prop_oneof![
        (edgy_u64(), edgy_u64()).prop_map(|(tokens, min_credits)| Purchase::Tokens {
            tokens,
            min_credits
        }),
        (edgy_u64(), edgy_u64()).prop_map(|(credits, max_tokens)| Purchase::Credits {
            credits,
            max_tokens
        }),
        // Affordable purchases with a bound near the quote, so successes are common.
        (1u64..10_000_000_000, 0u64..2).prop_map(|(tokens, slack)| Purchase::Tokens {
            tokens,
            min_credits: tokens / 5 + slack
        }),
        (1u64..1_000_000_000_000, 0u64..3).prop_map(|(credits, slack)| Purchase::Credits {
            credits,
            max_tokens: (credits / 200_000 * TOKEN).saturating_add(slack)
        }),
    ]
}

fn purchase_grid() -> Vec<(Purchase, Option<u64>)> {
    let mut grid = Vec::new();
    for a in EDGES {
        for b in EDGES {
            grid.push((
                Purchase::Tokens {
                    tokens: a,
                    min_credits: b,
                },
                None,
            ));
            grid.push((
                Purchase::Credits {
                    credits: a,
                    max_tokens: b,
                },
                None,
            ));
        }
    }
    let valid = Purchase::Credits {
        credits: 1_000,
        max_tokens: TOKEN,
    };
    for epoch in EDGES {
        grid.push((valid, Some(epoch)));
    }
    grid
}

#[test]
fn buy_amounts_bounds_and_epochs_at_the_fixed_price() {
    for token_program in [SPL_TOKEN, TOKEN_2022] {
        let rt = runtime();
        let m = RefCell::new(rt.block_on(market(token_program, false)));
        let strategy = (
            purchase_strategy(),
            prop_oneof![4 => Just(None), 1 => edgy_u64().prop_map(Some)],
        );
        property(
            "buy_credits amounts, bounds and epoch (fixed price)",
            purchase_grid(),
            strategy,
            |(purchase, epoch)| {
                let mut m = m.borrow_mut();
                rt.block_on(check_purchase(
                    &mut m,
                    purchase,
                    epoch,
                    Ok((200_000_000, -8)),
                    None,
                ))
            },
        );
    }
}

/// A Pyth `PriceUpdateV2` as the receiver would write it, with any field values.
#[derive(Debug, Clone, Copy)]
struct OraclePrice {
    price: i64,
    conf: u64,
    expo: i32,
    age: i64,
    fully_verified: bool,
}

/// The price the program sells at, or the outcome (pinned feed, 60 s max age,
/// 200 bps max confidence: `pyth_source`).
fn expected_price(p: OraclePrice) -> Result<(u64, i32), Outcome> {
    if !p.fully_verified {
        return Err(bme("PriceNotFullyVerified"));
    }
    if p.age > 60 {
        return Err(bme("StalePrice"));
    }
    price::check_confidence(p.price, p.conf, 200).map_err(math)?;
    price::conservative_price(p.price, p.conf, p.expo).map_err(math)
}

fn oracle_price_strategy() -> impl Strategy<Value = OraclePrice> {
    // A plausible feed ($0.01 to $100, confidence under 2%, fresh), so some purchases
    // go through, next to anything the account's types allow.
    let plausible =
        (1_000_000i64..10_000_000_000, 0u64..200, 0i64..=60).prop_map(|(price, conf_bps, age)| {
            OraclePrice {
                price,
                conf: price as u64 * conf_bps / 10_000,
                expo: -8,
                age,
                fully_verified: true,
            }
        });
    prop_oneof![plausible, any_oracle_price()]
}

fn any_oracle_price() -> impl Strategy<Value = OraclePrice> {
    (
        prop_oneof![
            Just(0i64),
            Just(1),
            Just(-1),
            Just(i64::MAX),
            Just(i64::MIN),
            1i64..1_000_000_000_000,
            any::<i64>(),
        ],
        prop_oneof![
            Just(0u64),
            Just(1),
            Just(u64::MAX),
            0u64..10_000_000,
            any::<u64>()
        ],
        prop_oneof![
            Just(-8i32),
            Just(0),
            Just(i32::MIN),
            Just(i32::MAX),
            -40i32..40
        ],
        prop_oneof![
            Just(0i64),
            Just(60),
            Just(61),
            Just(-1_000_000),
            Just(i64::MAX / 2),
            0i64..120
        ],
        prop_oneof![4 => Just(true), 1 => Just(false)],
    )
        .prop_map(|(price, conf, expo, age, fully_verified)| OraclePrice {
            price,
            conf,
            expo,
            age,
            fully_verified,
        })
}

#[test]
fn buy_at_any_oracle_price_is_exact_or_a_named_error() {
    let rt = runtime();
    let m = RefCell::new(rt.block_on(market(SPL_TOKEN, true)));
    let mut grid = Vec::new();
    for price in [0, 1, -1, i64::MAX, i64::MIN] {
        for conf in [0, 1, u64::MAX] {
            for expo in [-8, i32::MIN, i32::MAX] {
                grid.push(OraclePrice {
                    price,
                    conf,
                    expo,
                    age: 5,
                    fully_verified: true,
                });
            }
        }
    }
    let strategy = (oracle_price_strategy(), purchase_strategy());
    let grid: Vec<(OraclePrice, Purchase)> = grid
        .into_iter()
        .map(|p| {
            (
                p,
                Purchase::Credits {
                    credits: 1,
                    max_tokens: u64::MAX,
                },
            )
        })
        .collect();
    property(
        "buy_credits at any Pyth price, confidence, exponent and age",
        grid,
        strategy,
        |(oracle, purchase)| {
            let mut m = m.borrow_mut();
            let m = &mut *m;
            let publish_time = m.fixture.now().saturating_sub(oracle.age);
            let account = pyth_price_account(PythPrice {
                feed_id: FEED_ID,
                price: oracle.price,
                conf: oracle.conf,
                expo: oracle.expo,
                publish_time,
                fully_verified: oracle.fully_verified,
            });
            m.fixture.set_account(&m.price_account, account);
            let price_account = m.price_account;
            rt.block_on(check_purchase(
                m,
                purchase,
                None,
                expected_price(oracle),
                Some(price_account),
            ))
        },
    );
}

// ---------------------------------------------------------------------------------
// settle_usage
// ---------------------------------------------------------------------------------

struct Usage {
    fixture: TestFixture,
    network: Network,
    customer: Keypair,
    provider: Pubkey,
}

async fn usage() -> Usage {
    let mut fixture = TestFixture::new(vec![]).await;
    let network = Network::adopt(&mut fixture, TOKEN_2022, 1_000_000_000 * TOKEN, |_| {})
        .await
        .expect("genesis");
    let customer = network.fund_customer(&mut fixture, 1_000_000 * TOKEN).await;
    let buy = network.buy(
        &fixture,
        &customer.pubkey(),
        &customer.pubkey(),
        Purchase::Tokens {
            tokens: 100_000 * TOKEN,
            min_credits: 0,
        },
        None,
    );
    fixture.send_ok(&[buy], &[&customer]).await;
    let (_node, _owner, provider) = network.register_provider(&mut fixture).await;
    Usage {
        fixture,
        network,
        customer,
        provider,
    }
}

/// How a receipt's cumulative amount is chosen relative to the channel's state.
#[derive(Debug, Clone, Copy)]
enum Cumulative {
    Absolute(u64),
    AboveSettled(u64),
    Settled,
    BelowSettled,
}

#[test]
fn receipt_cumulative_amounts_and_epochs() {
    let rt = runtime();
    let u = RefCell::new(rt.block_on(usage()));
    let mut grid: Vec<(Cumulative, Option<u64>)> = EDGES
        .iter()
        .map(|c| (Cumulative::Absolute(*c), None))
        .collect();
    grid.extend([
        (Cumulative::AboveSettled(1), None),
        (Cumulative::Settled, None),
        (Cumulative::BelowSettled, None),
    ]);
    grid.extend(
        EDGES
            .iter()
            .map(|e| (Cumulative::AboveSettled(1), Some(*e))),
    );
    let strategy = (
        prop_oneof![
            edgy_u64().prop_map(Cumulative::Absolute),
            (0u64..1_000_000_000).prop_map(Cumulative::AboveSettled),
            Just(Cumulative::Settled),
            Just(Cumulative::BelowSettled),
        ],
        prop_oneof![4 => Just(None), 1 => edgy_u64().prop_map(Some)],
    );
    property(
        "settle_usage cumulative amount and epoch",
        grid,
        strategy,
        |(choice, epoch_arg)| {
            let mut u = u.borrow_mut();
            rt.block_on(check_receipt(&mut u, choice, epoch_arg))
        },
    );
}

async fn check_receipt(
    u: &mut Usage,
    choice: Cumulative,
    epoch_arg: Option<u64>,
) -> Result<(), TestCaseError> {
    let current = u.network.current_epoch(&u.fixture);
    let epoch = epoch_arg.unwrap_or(current);
    let channel = pda::channel(&u.provider, &u.customer.pubkey());
    let settled = match u.fixture.raw_account(&channel).await {
        Some(_) => {
            let account: bme::state::Channel = u.fixture.account(&channel).await;
            account.settled
        }
        None => 0,
    };
    let cumulative = match choice {
        Cumulative::Absolute(value) => value,
        Cumulative::AboveSettled(delta) => settled.saturating_add(delta),
        Cumulative::Settled => settled,
        Cumulative::BelowSettled => settled.saturating_sub(1),
    };
    let credit_account = u.network.credit_account(&u.customer.pubkey());
    let balance = u.fixture.token_balance(&credit_account).await;
    let units_before: Provider = u.fixture.account(&u.provider).await;
    let expected = if epoch != current {
        Err(bme("WrongEpoch"))
    } else if cumulative <= settled {
        Err(bme("ReceiptNotNewer"))
    } else if cumulative - settled > balance {
        Err(bme("InsufficientCredits"))
    } else {
        Ok(cumulative - settled)
    };
    let receipt = SignedReceipt::sign(&u.customer, &u.provider, cumulative);
    let settle = ix::settle_receipts(
        u.fixture.payer().pubkey(),
        u.network.protocol,
        u.network.credit_mint,
        epoch,
        &[receipt],
    );
    let got = outcome(&mut u.fixture, &settle, &[]).await;
    match expected {
        Ok(burned) => {
            prop_assert_eq!(got, Outcome::Ok);
            prop_assert_eq!(
                balance - u.fixture.token_balance(&credit_account).await,
                burned
            );
            let account: bme::state::Channel = u.fixture.account(&channel).await;
            prop_assert_eq!(account.settled, cumulative);
            let provider: Provider = u.fixture.account(&u.provider).await;
            let units = |p: &Provider| p.pending.iter().map(|s| s.usage_units).sum::<u64>();
            prop_assert_eq!(units(&provider) - units(&units_before), burned);
        }
        Err(error) => {
            prop_assert_eq!(got, error, "cumulative {} settled {}", cumulative, settled);
            prop_assert_eq!(u.fixture.token_balance(&credit_account).await, balance);
        }
    }
    Ok(())
}

// ---------------------------------------------------------------------------------
// submit_contribution_report and close_epoch
// ---------------------------------------------------------------------------------

struct Reports {
    fixture: TestFixture,
    network: Network,
    providers: [Pubkey; 2],
}

async fn reports() -> Reports {
    let mut fixture = TestFixture::new(vec![]).await;
    let network = Network::adopt(&mut fixture, SPL_TOKEN, 1_000_000 * TOKEN, |_| {})
        .await
        .expect("genesis");
    let p0 = network.register_provider(&mut fixture).await.2;
    let p1 = network.register_provider(&mut fixture).await.2;
    Reports {
        fixture,
        network,
        providers: [p0, p1],
    }
}

/// A report's inputs: entries as (provider index, units), the sequence (absolute, or
/// relative to the last accepted one), and the epoch (None = current).
#[derive(Debug, Clone)]
struct ReportInput {
    entries: Vec<(usize, u64)>,
    sequence: Sequence,
    epoch: Option<u64>,
}

#[derive(Debug, Clone, Copy)]
enum Sequence {
    Absolute(u64),
    AfterLast(u64),
}

fn contribution(provider: &Provider) -> u64 {
    provider.pending.iter().map(|s| s.contribution_units).sum()
}

async fn check_report(r: &mut Reports, input: ReportInput) -> Result<(), TestCaseError> {
    let protocol: Protocol = r.fixture.account(&r.network.protocol).await;
    let oracle_set: OracleSet = r
        .fixture
        .account(&pda::oracle_set(&r.network.protocol))
        .await;
    let current = r.network.current_epoch(&r.fixture);
    let epoch = input.epoch.unwrap_or(current);
    let sequence = match input.sequence {
        Sequence::Absolute(s) => s,
        Sequence::AfterLast(k) => oracle_set.last_sequence.saturating_add(k),
    };
    let epoch_address = pda::epoch(&r.network.protocol, epoch);
    let epoch_state: Option<Epoch> = match r.fixture.raw_account(&epoch_address).await {
        Some(_) => Some(r.fixture.account(&epoch_address).await),
        None => None,
    };
    let mut before = Vec::new();
    for p in &r.providers {
        let provider: Provider = r.fixture.account(p).await;
        before.push(contribution(&provider));
    }
    // The handler's checks, in its order.
    let expected: Result<(), Outcome> = (|| {
        if epoch_state.as_ref().is_some_and(|e| e.closed) {
            return Err(bme("EpochClosed"));
        }
        if epoch > current || epoch < protocol.next_epoch_to_close {
            return Err(bme("WrongEpoch"));
        }
        if sequence <= oracle_set.last_sequence {
            return Err(bme("ReportReplay"));
        }
        if input.entries.iter().any(|(_, units)| *units == 0) {
            return Err(bme("InvalidReportEntries"));
        }
        let mut per_provider = before.clone();
        let mut total: u64 = 0;
        for (index, units) in &input.entries {
            per_provider[*index] = per_provider[*index]
                .checked_add(*units)
                .ok_or(bme("MathOverflow"))?;
            total = total.checked_add(*units).ok_or(bme("MathOverflow"))?;
        }
        let epoch_units = epoch_state.as_ref().map_or(0, |e| e.contribution_units);
        epoch_units.checked_add(total).ok_or(bme("MathOverflow"))?;
        Ok(())
    })();
    let entries: Vec<(Pubkey, u64)> = input
        .entries
        .iter()
        .map(|(i, units)| (r.providers[*i], *units))
        .collect();
    let signers = [&r.network.oracles[0], &r.network.oracles[1]];
    let report = ix::signed_report(
        r.fixture.payer().pubkey(),
        r.network.protocol,
        &signers,
        epoch,
        sequence,
        &entries,
    );
    let got = outcome(&mut r.fixture, &report, &[]).await;
    match expected {
        Ok(()) => {
            prop_assert_eq!(got, Outcome::Ok, "{:?}", input);
            let set: OracleSet = r
                .fixture
                .account(&pda::oracle_set(&r.network.protocol))
                .await;
            prop_assert_eq!(set.last_sequence, sequence);
            for (index, p) in r.providers.iter().enumerate() {
                let provider: Provider = r.fixture.account(p).await;
                let added: u64 = input
                    .entries
                    .iter()
                    .filter(|(i, _)| *i == index)
                    .map(|(_, u)| *u)
                    .sum();
                prop_assert_eq!(contribution(&provider), before[index] + added);
            }
        }
        Err(error) => prop_assert_eq!(got, error, "{:?} sequence {}", input, sequence),
    }
    Ok(())
}

#[test]
fn report_units_sequences_and_epochs() {
    let rt = runtime();
    let r = RefCell::new(rt.block_on(reports()));
    let report = |entries: Vec<(usize, u64)>, sequence, epoch| ReportInput {
        entries,
        sequence,
        epoch,
    };
    let mut grid = Vec::new();
    for units in [0, 1] {
        grid.push(report(vec![(0, units)], Sequence::AfterLast(1), None));
    }
    for sequence in [0, 1] {
        grid.push(report(vec![(1, 5)], Sequence::Absolute(sequence), None));
    }
    for epoch in EDGES {
        grid.push(report(vec![(1, 5)], Sequence::AfterLast(1), Some(epoch)));
    }
    // Edges that saturate the state for good run last: units summing past u64::MAX
    // within one report, then u64::MAX units, then the largest usable sequence.
    let tail = vec![
        report(vec![(1, u64::MAX), (1, 1)], Sequence::AfterLast(1), None),
        report(vec![(0, u64::MAX - 1)], Sequence::AfterLast(1), None),
        report(vec![(0, u64::MAX)], Sequence::AfterLast(1), None),
        report(vec![(1, 1)], Sequence::AfterLast(1), None),
        report(vec![(1, 1)], Sequence::Absolute(u64::MAX - 1), None),
    ];
    let units = prop_oneof![7 => 1u64..1_000_000_000, 1 => edgy_u64()];
    let strategy = (
        prop::collection::vec((0usize..2, units), 1..4),
        prop_oneof![
            3 => (1u64..1_000).prop_map(Sequence::AfterLast),
            1 => prop_oneof![Just(0u64), Just(1), 0u64..1u64 << 62].prop_map(Sequence::Absolute),
        ],
        prop_oneof![4 => Just(None), 1 => edgy_u64().prop_map(Some)],
    )
        .prop_map(|(entries, sequence, epoch)| ReportInput {
            entries,
            sequence,
            epoch,
        });
    property_then(
        "submit_contribution_report units, sequence and epoch",
        grid,
        strategy,
        tail,
        |input| {
            let mut r = r.borrow_mut();
            rt.block_on(check_report(&mut r, input))
        },
    );
}

#[tokio::test]
async fn a_report_at_sequence_u64_max_is_the_last_one_the_oracle_set_accepts() {
    // Documented limit: sequences only grow, so once M oracles sign u64::MAX no later
    // report can be accepted (ReportReplay), and governance cannot reset the sequence
    // (an oracle-set change keeps it, so old reports cannot be replayed either).
    let mut r = reports().await;
    let signers = [&r.network.oracles[0], &r.network.oracles[1]];
    let entries = [(r.providers[0], 3)];
    let payer = r.fixture.payer().pubkey();
    let last = ix::signed_report(payer, r.network.protocol, &signers, 0, u64::MAX, &entries);
    r.fixture.send_ok(&last, &[]).await;
    let next = ix::signed_report(payer, r.network.protocol, &signers, 0, u64::MAX, &entries);
    assert_error(
        r.fixture.send(&next, &[]).await,
        bme::error::BmeError::ReportReplay,
    );
}

#[test]
fn close_index_and_time() {
    let rt = runtime();
    let r = RefCell::new(rt.block_on(reports()));
    let mut grid: Vec<(Option<u64>, i64)> = vec![(None, 0), (None, EPOCH + GRACE - 1), (None, 1)];
    grid.extend(EDGES.iter().map(|e| (Some(*e), 2 * EPOCH)));
    // Offsets move the clock forward only (a protocol's clock never runs backwards).
    let strategy = (
        prop_oneof![3 => Just(None), 1 => edgy_u64().prop_map(Some), 1 => (0u64..3).prop_map(|d| Some(u64::MAX - d))],
        0i64..3 * EPOCH,
    );
    property(
        "close_epoch index and time",
        grid,
        strategy,
        |(index, advance)| {
            let mut r = r.borrow_mut();
            rt.block_on(check_close(&mut r, index, advance))
        },
    );
}

async fn check_close(
    r: &mut Reports,
    index: Option<u64>,
    advance: i64,
) -> Result<(), TestCaseError> {
    let now = r.fixture.now() + advance;
    r.fixture.warp_to(now);
    let protocol: Protocol = r.fixture.account(&r.network.protocol).await;
    let next = protocol.next_epoch_to_close;
    let epoch = index.unwrap_or(next);
    let supply = r.fixture.mint_supply(&r.network.token_mint).await;
    let expected = if epoch < next {
        Err(bme("EpochClosed"))
    } else if epoch > next {
        Err(bme("EpochNotNext"))
    } else if now < r.network.genesis_time + (epoch as i64 + 1) * EPOCH + GRACE {
        Err(bme("EpochNotEnded"))
    } else {
        Ok(())
    };
    let close = ix::close_epoch(
        ix::CloseEpochAccounts {
            payer: r.fixture.payer().pubkey(),
            protocol: r.network.protocol,
            token_mint: r.network.token_mint,
            treasury: r.network.treasury,
            token_program: r.network.token_program,
        },
        CloseEpochArgs { epoch },
    );
    let got = outcome(&mut r.fixture, &[close], &[]).await;
    match expected {
        Ok(()) => {
            prop_assert_eq!(got, Outcome::Ok);
            let closed: Epoch = r
                .fixture
                .account(&pda::epoch(&r.network.protocol, epoch))
                .await;
            prop_assert!(closed.closed);
            let minted = r.fixture.mint_supply(&r.network.token_mint).await - supply;
            prop_assert_eq!(minted, closed.treasury_amount);
            let after: Protocol = r.fixture.account(&r.network.protocol).await;
            prop_assert_eq!(after.next_epoch_to_close, next + 1);
        }
        Err(error) => prop_assert_eq!(got, error, "close {} (next {})", epoch, next),
    }
    Ok(())
}

#[tokio::test]
async fn u64_max_units_close_and_claim_exactly() {
    // One provider holding u64::MAX contribution units and another holding 1 split the
    // pool pro rata in u128, without overflow, and claim exactly their shares.
    let mut r = reports().await;
    let signers = [&r.network.oracles[0], &r.network.oracles[1]];
    let payer = r.fixture.payer().pubkey();
    let report = ix::signed_report(
        payer,
        r.network.protocol,
        &signers,
        0,
        1,
        &[(r.providers[0], u64::MAX - 1), (r.providers[1], 1)],
    );
    r.fixture.send_ok(&report, &[]).await;
    // The epoch's total is now u64::MAX: one more unit overflows, by name.
    let more = ix::signed_report(
        payer,
        r.network.protocol,
        &signers,
        0,
        2,
        &[(r.providers[1], 1)],
    );
    assert_error(
        r.fixture.send(&more, &[]).await,
        bme::error::BmeError::MathOverflow,
    );
    r.network.warp_to_epoch(&mut r.fixture, 1, GRACE);
    r.fixture
        .send_ok(&[r.network.close(&r.fixture, 0)], &[])
        .await;
    let epoch: Epoch = r.fixture.account(&pda::epoch(&r.network.protocol, 0)).await;
    let pool = epoch.contribution_pool;
    assert!(pool > 0);
    let mut paid = 0;
    for (provider, units) in [(r.providers[0], u64::MAX - 1), (r.providers[1], 1)] {
        let claim = r.network.claim(&mut r.fixture, &provider).await;
        r.fixture.send_ok(&[claim], &[]).await;
        let account: Provider = r.fixture.account(&provider).await;
        let share = (u128::from(pool) * u128::from(units) / u128::from(u64::MAX)) as u64;
        assert_eq!(account.claimed, share);
        paid += share;
    }
    let epoch: Epoch = r.fixture.account(&pda::epoch(&r.network.protocol, 0)).await;
    assert_eq!(epoch.contribution_claimed, paid);
    assert!(
        pool - paid <= 2,
        "rounding dust is below one unit per provider"
    );
}

// ---------------------------------------------------------------------------------
// pause / unpause: every u8
// ---------------------------------------------------------------------------------

#[tokio::test]
async fn every_pause_flag_byte() {
    quiet_harness_panics();
    let mut fixture = TestFixture::new(vec![]).await;
    let network = Network::adopt(&mut fixture, SPL_TOKEN, 0, |_| {})
        .await
        .expect("genesis");
    let authority = network.authority.insecure_clone();
    let mut cases = 0;
    for flags in 0..=u8::MAX {
        for pause in [true, false] {
            let before: Protocol = fixture.account(&network.protocol).await;
            let instruction = if pause {
                ix::pause(authority.pubkey(), network.protocol, flags)
            } else {
                ix::unpause(authority.pubkey(), network.protocol, flags)
            };
            let got = outcome(&mut fixture, &[instruction], &[&authority]).await;
            let after: Protocol = fixture.account(&network.protocol).await;
            cases += 1;
            if flags == 0 || flags & !PAUSE_ALL != 0 {
                assert_eq!(got, bme("InvalidPauseFlags"), "flags {flags:#04x}");
                assert_eq!(after.paused, before.paused);
            } else {
                assert_eq!(got, Outcome::Ok, "flags {flags:#04x}");
                let expected = if pause {
                    before.paused | flags
                } else {
                    before.paused & !flags
                };
                assert_eq!(after.paused, expected);
            }
        }
    }
    eprintln!(
        "EDGE pause/unpause flags: {cases} cases on the runtime; outcomes: {}",
        seen_summary()
    );
}

// ---------------------------------------------------------------------------------
// Governance change values
// ---------------------------------------------------------------------------------

/// The default genesis's bounds: 1,000-token constant... halving schedule, 500-token
/// re-mint cap, 100,000-token rate limit, one-day epochs, 3,600 s timelock.
fn expected_proposal(change: &ParameterChange, protocol: &Protocol, committed: u64) -> Outcome {
    let largest = |remint: u64| -> Result<u64, Outcome> {
        (1_000 * TOKEN)
            .checked_add(remint)
            .and_then(|m| m.checked_mul(2))
            .ok_or(bme("MathOverflow"))
    };
    let result: Result<(), Outcome> = match change {
        ParameterChange::NetRemintCap { cap } => largest(*cap).and_then(|m| {
            if protocol.mint_rate_limit.max_per_window >= m {
                Ok(())
            } else {
                Err(bme("RateLimitTooLow"))
            }
        }),
        ParameterChange::CreditPrice { micro_usd } => {
            if *micro_usd > 0 {
                Ok(())
            } else {
                Err(bme("ZeroCreditPrice"))
            }
        }
        ParameterChange::GracePeriod { secs } => {
            if *secs < EPOCH as u64 {
                Ok(())
            } else {
                Err(bme("GracePeriodTooLong"))
            }
        }
        ParameterChange::MintRateLimit {
            window_secs,
            max_per_window,
        } => {
            if *window_secs == 0 {
                Err(bme("ZeroRateLimitWindow"))
            } else {
                largest(protocol.net_remint_cap).and_then(|m| {
                    if *max_per_window >= m {
                        Ok(())
                    } else {
                        Err(bme("RateLimitTooLow"))
                    }
                })
            }
        }
        ParameterChange::SupplyCap { cap } => {
            if *cap > protocol.supply_cap {
                Err(bme("SupplyCapIncrease"))
            } else if *cap < committed {
                Err(bme("SupplyCapBelowSupply"))
            } else {
                Ok(())
            }
        }
        ParameterChange::Timelock { secs } => {
            if *secs >= protocol.timelock_secs {
                Ok(())
            } else {
                Err(bme("TimelockDecrease"))
            }
        }
        ParameterChange::PoolSplit { split } => {
            let sum = u64::from(split.usage_bps)
                + u64::from(split.contribution_bps)
                + u64::from(split.treasury_bps);
            if sum == 10_000 {
                Ok(())
            } else {
                Err(bme("InvalidSplit"))
            }
        }
        ParameterChange::PriceSource { source } => match *source {
            PriceSource::Fixed { price, expo } => {
                if price == 0 {
                    Err(bme("ZeroFixedPrice"))
                } else if !(-18..=18).contains(&expo) {
                    Err(bme("PriceExponentOutOfRange"))
                } else {
                    Ok(())
                }
            }
            PriceSource::Pyth {
                max_age_secs,
                max_conf_bps,
                ..
            } => {
                if !(1..=86_400).contains(&max_age_secs) {
                    Err(bme("InvalidPriceMaxAge"))
                } else if !(1..=10_000).contains(&max_conf_bps) {
                    Err(bme("InvalidPriceMaxConfidence"))
                } else {
                    Ok(())
                }
            }
        },
        ParameterChange::OracleSet { oracles, threshold } => {
            let unique = oracles
                .iter()
                .enumerate()
                .all(|(i, k)| !oracles[i + 1..].contains(k));
            if oracles.len() > 10 {
                Err(bme("TooManyOracles"))
            } else if !unique {
                Err(bme("DuplicateOracle"))
            } else if (oracles.is_empty() && *threshold != 0)
                || (!oracles.is_empty()
                    && (*threshold == 0 || usize::from(*threshold) > oracles.len()))
            {
                Err(bme("InvalidOracleThreshold"))
            } else {
                Ok(())
            }
        }
        // Schedules: checked for "success or a named error" only.
        ParameterChange::Schedule { .. } => return Outcome::Other("schedule".into()),
    };
    match result {
        Ok(()) => Outcome::Ok,
        Err(error) => error,
    }
}

fn segment_strategy() -> impl Strategy<Value = Segment> {
    (
        prop_oneof![Just(0u64), Just(1), Just(2), Just(u64::MAX), any::<u64>()],
        prop_oneof![
            Just(0u64),
            Just(1),
            Just(1_000 * TOKEN),
            Just(1_050 * TOKEN),
            Just(u64::MAX),
            any::<u64>()
        ],
        prop_oneof![Just(0u64), Just(1), Just(365), Just(u64::MAX)],
        prop_oneof![
            Just(0u16),
            Just(1),
            Just(9_999),
            Just(10_000),
            Just(u16::MAX)
        ],
        prop_oneof![Just(0u64), Just(1), Just(u64::MAX)],
    )
        .prop_map(
            |(start_epoch, initial_emission, halving_interval, decay_bps, floor)| Segment {
                start_epoch,
                initial_emission,
                halving_interval,
                decay_bps,
                floor,
            },
        )
}

fn change_strategy() -> impl Strategy<Value = ParameterChange> {
    let key = any::<[u8; 32]>().prop_map(Pubkey::new_from_array);
    prop_oneof![
        edgy_u64().prop_map(|cap| ParameterChange::NetRemintCap { cap }),
        edgy_u64().prop_map(|micro_usd| ParameterChange::CreditPrice { micro_usd }),
        prop_oneof![edgy_u64(), 0u64..100_000]
            .prop_map(|secs| ParameterChange::GracePeriod { secs }),
        (
            edgy_u64(),
            prop_oneof![edgy_u64(), 2_900 * TOKEN..3_100 * TOKEN]
        )
            .prop_map(
                |(window_secs, max_per_window)| ParameterChange::MintRateLimit {
                    window_secs,
                    max_per_window
                }
            ),
        prop_oneof![edgy_u64(), 0u64..2_000_000_000 * TOKEN]
            .prop_map(|cap| ParameterChange::SupplyCap { cap }),
        prop_oneof![edgy_u64(), 3_000u64..4_000]
            .prop_map(|secs| ParameterChange::Timelock { secs }),
        (
            any::<u16>(),
            any::<u16>(),
            prop_oneof![Just(None), Just(Some(()))]
        )
            .prop_map(|(u, c, exact)| {
                let (u, c) = (u % 10_001, c % 10_001);
                let t = if exact.is_some() && u + c <= 10_000 {
                    10_000 - u - c
                } else {
                    u
                };
                ParameterChange::PoolSplit {
                    split: PoolSplit {
                        usage_bps: u,
                        contribution_bps: c,
                        treasury_bps: t,
                    },
                }
            }),
        (
            edgy_u64(),
            prop_oneof![
                Just(-8i32),
                Just(-18),
                Just(18),
                Just(19),
                Just(-19),
                Just(i32::MIN),
                Just(i32::MAX)
            ]
        )
            .prop_map(|(price, expo)| ParameterChange::PriceSource {
                source: PriceSource::Fixed { price, expo }
            }),
        (edgy_u64(), any::<u16>(), key.clone()).prop_map(
            |(max_age_secs, max_conf_bps, account)| {
                ParameterChange::PriceSource {
                    source: PriceSource::Pyth {
                        feed_id: FEED_ID,
                        account,
                        max_age_secs,
                        max_conf_bps,
                    },
                }
            }
        ),
        (
            prop::collection::vec(key, 0..12),
            any::<u8>(),
            any::<bool>()
        )
            .prop_map(|(mut oracles, threshold, duplicate)| {
                if duplicate && !oracles.is_empty() {
                    oracles.push(oracles[0]);
                }
                ParameterChange::OracleSet {
                    threshold: threshold % 13,
                    oracles,
                }
            }),
        prop::collection::vec(segment_strategy(), 0..10).prop_map(|mut segments| {
            if let Some(first) = segments.first_mut() {
                first.start_epoch = 0;
            }
            ParameterChange::Schedule { segments }
        }),
    ]
}

struct Governance {
    fixture: TestFixture,
    network: Network,
}

async fn governance() -> Governance {
    let mut fixture = TestFixture::new(vec![]).await;
    let network = Network::adopt(&mut fixture, SPL_TOKEN, 1_000_000 * TOKEN, |_| {})
        .await
        .expect("genesis");
    Governance { fixture, network }
}

/// Proposes `change`, checks the outcome, and cancels an accepted proposal so the next
/// case finds the slot free.
async fn check_proposal(g: &mut Governance, change: ParameterChange) -> Result<(), TestCaseError> {
    let protocol: Protocol = g.fixture.account(&g.network.protocol).await;
    let committed =
        g.fixture.mint_supply(&g.network.token_mint).await + protocol.totals.rewards_outstanding;
    let expected = expected_proposal(&change, &protocol, committed);
    let authority = g.network.authority.insecure_clone();
    let propose = ix::propose_change(
        authority.pubkey(),
        g.fixture.payer().pubkey(),
        g.network.protocol,
        g.network.token_mint,
        change.clone(),
    );
    let got = outcome(&mut g.fixture, &[propose], &[&authority]).await;
    if !matches!(expected, Outcome::Other(_)) {
        prop_assert_eq!(&got, &expected, "{:?}", change);
    }
    if got == Outcome::Ok {
        let pending: PendingChange = g
            .fixture
            .account(&pda::pending_change(&g.network.protocol))
            .await;
        prop_assert!(pending.active);
        prop_assert_eq!(&pending.change, &change);
        let cancel = ix::cancel_change(authority.pubkey(), g.network.protocol);
        prop_assert_eq!(
            outcome(&mut g.fixture, &[cancel], &[&authority]).await,
            Outcome::Ok
        );
    }
    Ok(())
}

#[test]
fn governance_change_values_at_propose_time() {
    let rt = runtime();
    let g = RefCell::new(rt.block_on(governance()));
    let mut grid = Vec::new();
    for value in EDGES {
        grid.extend([
            ParameterChange::NetRemintCap { cap: value },
            ParameterChange::CreditPrice { micro_usd: value },
            ParameterChange::GracePeriod { secs: value },
            ParameterChange::MintRateLimit {
                window_secs: value,
                max_per_window: value,
            },
            ParameterChange::SupplyCap { cap: value },
            ParameterChange::Timelock { secs: value },
            ParameterChange::PriceSource {
                source: PriceSource::Fixed {
                    price: value,
                    expo: -8,
                },
            },
            ParameterChange::PriceSource {
                source: PriceSource::Pyth {
                    feed_id: FEED_ID,
                    account: Pubkey::new_unique(),
                    max_age_secs: value,
                    max_conf_bps: 100,
                },
            },
            ParameterChange::Schedule {
                segments: vec![Segment {
                    start_epoch: 0,
                    initial_emission: value,
                    halving_interval: 0,
                    decay_bps: 0,
                    floor: 0,
                }],
            },
        ]);
    }
    for (u, c, t) in [(0, 0, 0), (10_000, 0, 0), (u16::MAX, 1, 0), (1, 1, 9_998)] {
        grid.push(ParameterChange::PoolSplit {
            split: PoolSplit {
                usage_bps: u,
                contribution_bps: c,
                treasury_bps: t,
            },
        });
    }
    property(
        "propose_change values (every change kind)",
        grid,
        change_strategy(),
        |change| {
            let mut g = g.borrow_mut();
            rt.block_on(check_proposal(&mut g, change))
        },
    );
}

/// Proposes, waits out the timelock, applies; then checks governance still answers
/// (a follow-up proposal succeeds or fails by name). A fresh protocol per case.
async fn check_apply(change: ParameterChange) -> Result<(), TestCaseError> {
    let mut g = governance().await;
    let authority = g.network.authority.insecure_clone();
    let propose = |g: &Governance, change: ParameterChange| {
        ix::propose_change(
            authority.pubkey(),
            g.fixture.payer().pubkey(),
            g.network.protocol,
            g.network.token_mint,
            change,
        )
    };
    let first = propose(&g, change.clone());
    let got = outcome(&mut g.fixture, &[first], &[&authority]).await;
    if got != Outcome::Ok {
        return Ok(());
    }
    let now = g.fixture.now();
    g.fixture.warp_to(now + 3_600);
    let apply = ix::apply_change(g.network.protocol, g.network.token_mint);
    let applied = outcome(&mut g.fixture, &[apply], &[]).await;
    prop_assert_eq!(
        &applied,
        &Outcome::Ok,
        "bounds hold from propose to apply: {:?}",
        change
    );
    let protocol: Protocol = g.fixture.account(&g.network.protocol).await;
    match &change {
        ParameterChange::Schedule { segments } => prop_assert_eq!(&protocol.schedule, segments),
        ParameterChange::SupplyCap { cap } => prop_assert_eq!(protocol.supply_cap, *cap),
        ParameterChange::Timelock { secs } => prop_assert_eq!(protocol.timelock_secs, *secs),
        staged => {
            let staged_change = protocol.staged.as_ref().map(|s| &s.change);
            prop_assert_eq!(staged_change, Some(staged));
        }
    }
    // Governance still answers, by name at worst (a timelock beyond i64::MAX seconds
    // makes every later proposal fail with MathOverflow: see THREAT_MODEL.md).
    let follow_up = ParameterChange::CreditPrice { micro_usd: 11 };
    let second = propose(&g, follow_up);
    let next = outcome(&mut g.fixture, &[second], &[&authority]).await;
    if let ParameterChange::Timelock { secs } = change {
        let overflows = i64::try_from(secs).map_or(true, |s| {
            now.checked_add(3_600)
                .and_then(|t| t.checked_add(s))
                .is_none()
        });
        if overflows {
            prop_assert_eq!(next, bme("MathOverflow"));
            return Ok(());
        }
    }
    prop_assert_eq!(next, Outcome::Ok);
    Ok(())
}

#[test]
fn governance_change_values_through_apply() {
    let rt = runtime();
    let grid = vec![
        ParameterChange::Timelock { secs: u64::MAX },
        ParameterChange::Timelock {
            secs: i64::MAX as u64,
        },
        ParameterChange::SupplyCap {
            cap: 1_000_000 * TOKEN,
        },
        ParameterChange::NetRemintCap { cap: 0 },
        ParameterChange::CreditPrice {
            micro_usd: u64::MAX,
        },
    ];
    property(
        "propose_change → apply_change values (fresh protocol per case)",
        grid,
        change_strategy(),
        |change| rt.block_on(check_apply(change)),
    );
}

// ---------------------------------------------------------------------------------
// Genesis parameters
// ---------------------------------------------------------------------------------

fn genesis_strategy() -> impl Strategy<Value = InitializeProtocolArgs> {
    let i64_edges = prop_oneof![
        Just(i64::MIN),
        Just(-1i64),
        Just(0),
        Just(i64::MAX),
        any::<i64>()
    ];
    (
        (
            prop_oneof![
                Just(0u8),
                Just(1),
                Just(6),
                Just(9),
                Just(u8::MAX),
                any::<u8>()
            ],
            i64_edges,
            prop_oneof![
                Just(0u64),
                Just(1),
                Just(86_400),
                Just(u64::MAX),
                any::<u64>()
            ],
            prop_oneof![
                Just(0u64),
                Just(1),
                Just(3_600),
                Just(u64::MAX),
                any::<u64>()
            ],
            prop::collection::vec(segment_strategy(), 0..3),
        ),
        (
            edgy_u64(),
            edgy_u64(),
            edgy_u64(),
            prop_oneof![Just(0u64), Just(1), Just(200_000_000), Just(u64::MAX)],
            prop_oneof![
                Just(-8i32),
                Just(0),
                Just(19),
                Just(i32::MIN),
                Just(i32::MAX)
            ],
        ),
        (
            edgy_u64(),
            edgy_u64(),
            prop_oneof![
                Just(0u16),
                Just(1),
                Just(10_000),
                Just(10_001),
                Just(u16::MAX)
            ],
            edgy_u64(),
            0usize..12,
            any::<u8>(),
        ),
    )
        .prop_map(
            |(
                (decimals, genesis_time, epoch_length_secs, grace_period_secs, mut schedule),
                (net_remint_cap, supply_cap, credit_price_micro_usd, price, expo),
                (
                    window,
                    max_per_window,
                    max_emission_change_bps,
                    timelock_secs,
                    oracles,
                    threshold,
                ),
            )| {
                if let Some(first) = schedule.first_mut() {
                    first.start_epoch = 0;
                }
                let mut args = default_args(0, &[]);
                args.token = TokenSetup::NewMint { decimals };
                args.genesis_time = genesis_time;
                args.epoch_length_secs = epoch_length_secs;
                args.grace_period_secs = grace_period_secs;
                args.schedule = schedule;
                args.net_remint_cap = net_remint_cap;
                args.supply_cap = supply_cap;
                args.credit_price_micro_usd = credit_price_micro_usd;
                args.price_source = PriceSource::Fixed { price, expo };
                args.rate_limit_window_secs = window;
                args.rate_limit_max_per_window = max_per_window;
                args.max_emission_change_bps = max_emission_change_bps;
                args.timelock_secs = timelock_secs;
                args.oracles = (0..oracles).map(|_| Pubkey::new_unique()).collect();
                args.oracle_threshold = threshold % 12;
                args
            },
        )
}

async fn check_genesis(
    fixture: &mut TestFixture,
    mut args: InitializeProtocolArgs,
) -> Result<(), TestCaseError> {
    let authority = Keypair::new();
    args.authority = authority.pubkey();
    args.guardian = authority.pubkey();
    let mint = Keypair::new();
    let genesis = Network::new_mint_genesis(fixture, SPL_TOKEN, &args, &mint);
    let got = outcome(fixture, &[genesis], &[&mint]).await;
    if got != Outcome::Ok {
        return Ok(());
    }
    let protocol_address = pda::protocol(&mint.pubkey());
    let protocol: Protocol = fixture.account(&protocol_address).await;
    prop_assert_eq!(protocol.genesis_time, args.genesis_time);
    prop_assert_eq!(protocol.epoch_length_secs, args.epoch_length_secs);
    prop_assert_eq!(&protocol.schedule, &args.schedule);
    prop_assert_eq!(protocol.supply_cap, args.supply_cap);
    prop_assert_eq!(protocol.timelock_secs, args.timelock_secs);
    prop_assert_eq!(protocol.price_source, args.price_source);
    prop_assert_eq!(
        protocol.mint_rate_limit.max_per_window,
        args.rate_limit_max_per_window
    );
    // Whatever the accepted parameters, the clock-driven instructions answer by name.
    let token_program = SPL_TOKEN;
    let treasury = fixture
        .create_ata(&authority.pubkey(), &mint.pubkey(), &token_program)
        .await;
    let close = ix::close_epoch(
        ix::CloseEpochAccounts {
            payer: fixture.payer().pubkey(),
            protocol: protocol_address,
            token_mint: mint.pubkey(),
            treasury,
            token_program,
        },
        CloseEpochArgs { epoch: 0 },
    );
    outcome(fixture, &[close], &[]).await;
    let now = fixture.now();
    let epoch = now
        .checked_sub(args.genesis_time)
        .and_then(|elapsed| u64::try_from(elapsed).ok())
        .and_then(|elapsed| elapsed.checked_div(args.epoch_length_secs))
        .unwrap_or(0);
    fixture
        .create_ata(
            &authority.pubkey(),
            &pda::credit_mint(&protocol_address),
            &TOKEN_2022,
        )
        .await;
    let buy = ix::buy_credits(
        ix::BuyCreditsAccounts {
            buyer: authority.pubkey(),
            token_mint: mint.pubkey(),
            token_program,
            buyer_token_account: Some(treasury),
            recipient: authority.pubkey(),
            price_update: None,
        },
        BuyCreditsArgs {
            epoch,
            purchase: Purchase::Credits {
                credits: 1,
                max_tokens: u64::MAX,
            },
        },
    );
    let fund = anchor_lang::solana_program::system_instruction::transfer(
        &fixture.payer().pubkey(),
        &authority.pubkey(),
        1_000_000_000,
    );
    fixture.send_ok(&[fund], &[]).await;
    outcome(fixture, &[buy], &[&authority]).await;
    let propose = ix::propose_change(
        authority.pubkey(),
        authority.pubkey(),
        protocol_address,
        mint.pubkey(),
        ParameterChange::Timelock {
            secs: args.timelock_secs,
        },
    );
    outcome(fixture, &[propose], &[&authority]).await;
    Ok(())
}

#[test]
fn genesis_parameters() {
    let rt = runtime();
    let fixture = RefCell::new(rt.block_on(TestFixture::new(vec![])));
    let now = rt.block_on(async { fixture.borrow().now() });
    let mut grid = Vec::new();
    for value in EDGES {
        let mut args = default_args(now, &[]);
        args.epoch_length_secs = value;
        grid.push(args);
        let mut args = default_args(now, &[]);
        args.supply_cap = value;
        args.net_remint_cap = value;
        grid.push(args);
        let mut args = default_args(now, &[]);
        args.timelock_secs = value;
        args.rate_limit_window_secs = value;
        args.rate_limit_max_per_window = value;
        grid.push(args);
        let mut args = default_args(now, &[]);
        args.credit_price_micro_usd = value;
        args.price_source = PriceSource::Fixed {
            price: value,
            expo: -8,
        };
        grid.push(args);
    }
    for genesis_time in [i64::MIN, -1, 0, i64::MAX] {
        let mut args = default_args(genesis_time, &[]);
        args.genesis_time = genesis_time;
        grid.push(args);
    }
    for decimals in [0u8, 1, 18, 19, 38, u8::MAX] {
        let mut args = default_args(now, &[]);
        args.token = TokenSetup::NewMint { decimals };
        grid.push(args);
    }
    property(
        "initialize_protocol parameters",
        grid,
        genesis_strategy(),
        |args| {
            let mut fixture = fixture.borrow_mut();
            rt.block_on(check_genesis(&mut fixture, args))
        },
    );
}

// ---------------------------------------------------------------------------------
// Pubkey arguments
// ---------------------------------------------------------------------------------

#[tokio::test]
async fn authority_and_guardian_arguments() {
    let mut fixture = TestFixture::new(vec![]).await;
    let network = Network::adopt(&mut fixture, SPL_TOKEN, 0, |_| {})
        .await
        .expect("genesis");
    let authority = network.authority.insecure_clone();
    // The default key means "no pending authority": proposing it is refused.
    let transfer = ix::transfer_authority(authority.pubkey(), network.protocol, Pubkey::default());
    assert_error(
        fixture.send(&[transfer], &[&authority]).await,
        bme::error::BmeError::NotPendingAuthority,
    );
    // Any other key (even the program, the protocol PDA or the default for a guardian)
    // is a valid address to name; only a signature by it completes a handoff.
    for key in [bme::ID, network.protocol, Pubkey::default()] {
        let set = ix::set_guardian(authority.pubkey(), network.protocol, key);
        fixture.send_ok(&[set], &[&authority]).await;
        let protocol: Protocol = fixture.account(&network.protocol).await;
        assert_eq!(protocol.guardian, key);
    }
    let transfer = ix::transfer_authority(authority.pubkey(), network.protocol, network.protocol);
    fixture.send_ok(&[transfer], &[&authority]).await;
    let protocol: Protocol = fixture.account(&network.protocol).await;
    assert_eq!(protocol.pending_authority, network.protocol);
    assert_eq!(protocol.authority, authority.pubkey());
}
