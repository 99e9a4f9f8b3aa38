//! A plain-Rust reference model of the bme protocol, driven next to the real program
//! by the model-based scenario test (`tests/tests/test_model.rs`).
//!
//! The model re-implements, from reading the instruction handlers, the bookkeeping of
//! every flow the scenarios drive — `buy_credits`, `settle_usage`,
//! `submit_contribution_report`, `close_epoch`, `claim_rewards` — the clock, and
//! governance: `propose_change`, `apply_change`, `cancel_change`, `pause`, `unpause`,
//! the staged change (`Protocol::params_at`, `fold_staged`) and every bound a change is
//! checked against, in the program's order.
//! Parties are small integer ids, amounts are `u64`, and nothing in the model's logic
//! touches a Solana type. It borrows only the program's pure math (`bme::math`:
//! schedule, split, pro rata, price conversion), which is property-tested on its own.
//!
//! For each operation the model predicts either success with the exact new state or
//! the exact failure (a [`BmeError`], a rejection by the token program, or Anchor's
//! when an account does not exist yet), and [`Model::observe`] renders its state as a
//! [`StateView`] that the test also builds from the chain, so the two can be diffed
//! field by field. [`check_invariants`] checks DESIGN.md's invariants on such a view
//! (the test checks both the chain's and the model's); invariant 7 keeps, in
//! [`StartedEpochs`], what governed each epoch when it started.

use std::collections::BTreeMap;

use anchor_lang::error::ErrorCode as AnchorError;
use bme::constants::{PAUSE_ALL, PAUSE_BUY, PAUSE_CLAIM, PAUSE_REPORT, PAUSE_SETTLE};
use bme::error::BmeError;
use bme::math::schedule::{self, Segment};
use bme::math::{price, rewards, MathError, BPS_DENOMINATOR};

/// Index of a customer (0-based).
pub type CustomerId = usize;
/// Index of a provider (0-based).
pub type ProviderId = usize;
/// Index of an oracle key: `0..Params::oracle_count` are registered at genesis, higher
/// ids are keys the oracle set does not know (until governance adds them).
pub type OracleId = usize;

/// Most keys an oracle set may hold (`bme::constants::MAX_ORACLES`).
pub const MAX_ORACLES: usize = 10;

/// SPL Token / Token-2022 `TokenError::InsufficientFunds`.
pub const TOKEN_INSUFFICIENT_FUNDS: u32 = 1;

/// The genesis parameters a scenario runs with.
#[derive(Clone, Debug)]
pub struct Params {
    /// Unix time at which epoch 0 starts.
    pub genesis_time: i64,
    /// Epoch length in seconds.
    pub epoch_length_secs: u64,
    /// Seconds after an epoch's end before it can close.
    pub grace_period_secs: u64,
    /// Emission schedule.
    pub schedule: Vec<Segment>,
    /// Usage pool share, bps.
    pub usage_bps: u16,
    /// Contribution pool share, bps.
    pub contribution_bps: u16,
    /// Treasury share, bps.
    pub treasury_bps: u16,
    /// Most burned tokens re-minted per epoch.
    pub net_remint_cap: u64,
    /// Maximum total supply of the network token.
    pub supply_cap: u64,
    /// Credit price in micro-USD.
    pub credit_price_micro_usd: u64,
    /// Fixed token price mantissa (USD per whole token × 10^-expo).
    pub price_mantissa: u64,
    /// Fixed token price exponent.
    pub price_expo: i32,
    /// Decimals of the network token.
    pub token_decimals: u8,
    /// Mint rate-limit window, seconds.
    pub rate_limit_window_secs: u64,
    /// Most base units mintable per window.
    pub rate_limit_max_per_window: u64,
    /// Registered oracles.
    pub oracle_count: usize,
    /// Signatures a report needs.
    pub oracle_threshold: usize,
    /// Seconds a governance proposal waits before it can be applied.
    pub timelock_secs: u64,
    /// Largest change, in bps, a proposal may make to an epoch's emission where the
    /// new schedule can jump.
    pub max_emission_change_bps: u16,
}

/// Why an operation fails.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Failure {
    /// The bme program returns this error.
    Program(BmeError),
    /// The token program rejects a CPI with this custom code.
    Token(u32),
    /// Anchor rejects the accounts.
    Anchor(AccountsError),
}

/// An Anchor framework error the scenarios can provoke.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AccountsError {
    /// An account the instruction reads does not exist yet (the proposal account
    /// before the first proposal).
    AccountNotInitialized,
}

impl AccountsError {
    fn code(self) -> u32 {
        match self {
            AccountsError::AccountNotInitialized => AnchorError::AccountNotInitialized as u32,
        }
    }
}

impl Failure {
    /// The custom error code the failed transaction carries.
    pub fn code(&self) -> u32 {
        match self {
            Failure::Program(error) => anchor_lang::error::ERROR_CODE_OFFSET + *error as u32,
            Failure::Token(code) => *code,
            Failure::Anchor(error) => error.code(),
        }
    }

    /// A short name for statistics and messages.
    pub fn name(&self) -> String {
        match self {
            Failure::Program(error) => format!("{error:?}"),
            Failure::Token(TOKEN_INSUFFICIENT_FUNDS) => "token:InsufficientFunds".to_string(),
            Failure::Token(code) => format!("token:{code}"),
            Failure::Anchor(error) => format!("anchor:{error:?}"),
        }
    }
}

impl From<BmeError> for Failure {
    fn from(error: BmeError) -> Self {
        Failure::Program(error)
    }
}

impl From<MathError> for Failure {
    fn from(error: MathError) -> Self {
        Failure::Program(BmeError::from(error))
    }
}

/// Who signs a governance instruction.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Actor {
    /// The protocol's authority.
    Authority,
    /// The guardian (may only pause).
    Guardian,
    /// Any other key.
    Stranger,
}

/// How an epoch's emission is split, in bps (valid when they sum to 10,000).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Split {
    /// Usage pool share.
    pub usage_bps: u16,
    /// Contribution pool share.
    pub contribution_bps: u16,
    /// Treasury share.
    pub treasury_bps: u16,
}

/// One governance change: the program's `ParameterChange`, with oracle keys as
/// [`OracleId`]s and only the fixed price source (the scenarios run without Pyth).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Change {
    /// The whole new schedule.
    Schedule(Vec<Segment>),
    /// New pool split.
    PoolSplit(Split),
    /// New net re-mint cap.
    NetRemintCap(u64),
    /// New credit price, micro-USD.
    CreditPrice(u64),
    /// New fixed token price (`PriceSource::Fixed`).
    FixedPrice {
        /// Mantissa.
        price: u64,
        /// Exponent.
        expo: i32,
    },
    /// New grace period, seconds.
    GracePeriod(u64),
    /// New oracle set and threshold.
    OracleSet {
        /// Oracle keys.
        oracles: Vec<OracleId>,
        /// Signatures a report needs.
        threshold: u8,
    },
    /// New mint rate limit.
    MintRateLimit {
        /// Window length, seconds.
        window_secs: u64,
        /// Most base units per window.
        max_per_window: u64,
    },
    /// Lower supply cap.
    SupplyCap(u64),
    /// Longer timelock, seconds.
    Timelock(u64),
}

impl Change {
    /// `ParameterChange::is_staged`: everything but the schedule, the supply cap and the
    /// timelock waits for its effective epoch.
    pub fn is_staged(&self) -> bool {
        !matches!(
            self,
            Change::Schedule(_) | Change::SupplyCap(_) | Change::Timelock(_)
        )
    }

    /// A short name for statistics.
    pub fn kind(&self) -> &'static str {
        match self {
            Change::Schedule(_) => "schedule",
            Change::PoolSplit(_) => "split",
            Change::NetRemintCap(_) => "remint-cap",
            Change::CreditPrice(_) => "credit-price",
            Change::FixedPrice { .. } => "fixed-price",
            Change::GracePeriod(_) => "grace",
            Change::OracleSet { .. } => "oracle-set",
            Change::MintRateLimit { .. } => "rate-limit",
            Change::SupplyCap(_) => "supply-cap",
            Change::Timelock(_) => "timelock",
        }
    }

    /// Every field as `(name, value)`, under `prefix`.
    fn fields(&self, prefix: &str, put: &mut dyn FnMut(String, i128)) {
        let f = |name: &str| format!("{prefix}.{name}");
        let kind = match self {
            Change::Schedule(_) => 0,
            Change::PoolSplit(_) => 1,
            Change::NetRemintCap(_) => 2,
            Change::CreditPrice(_) => 3,
            Change::FixedPrice { .. } => 4,
            Change::GracePeriod(_) => 5,
            Change::OracleSet { .. } => 6,
            Change::MintRateLimit { .. } => 7,
            Change::SupplyCap(_) => 8,
            Change::Timelock(_) => 9,
        };
        put(f("kind"), kind);
        match self {
            Change::Schedule(segments) => schedule_fields(&f("segments"), segments, put),
            Change::PoolSplit(split) => split_fields(&f("split"), split, put),
            Change::NetRemintCap(cap) => put(f("cap"), (*cap).into()),
            Change::CreditPrice(micro_usd) => put(f("micro_usd"), (*micro_usd).into()),
            Change::FixedPrice { price, expo } => {
                put(f("price"), (*price).into());
                put(f("expo"), (*expo).into());
            }
            Change::GracePeriod(secs) => put(f("secs"), (*secs).into()),
            Change::OracleSet { oracles, threshold } => {
                oracle_fields(&f("oracles"), oracles, put);
                put(f("threshold"), (*threshold).into());
            }
            Change::MintRateLimit {
                window_secs,
                max_per_window,
            } => {
                put(f("window_secs"), (*window_secs).into());
                put(f("max_per_window"), (*max_per_window).into());
            }
            Change::SupplyCap(cap) => put(f("cap"), (*cap).into()),
            Change::Timelock(secs) => put(f("secs"), (*secs).into()),
        }
    }
}

fn schedule_fields(prefix: &str, segments: &[Segment], put: &mut dyn FnMut(String, i128)) {
    put(format!("{prefix}.len"), segments.len() as i128);
    for (i, s) in segments.iter().enumerate() {
        let f = |name: &str| format!("{prefix}[{i}].{name}");
        put(f("start_epoch"), s.start_epoch.into());
        put(f("initial_emission"), s.initial_emission.into());
        put(f("halving_interval"), s.halving_interval.into());
        put(f("decay_bps"), s.decay_bps.into());
        put(f("floor"), s.floor.into());
    }
}

fn split_fields(prefix: &str, split: &Split, put: &mut dyn FnMut(String, i128)) {
    put(format!("{prefix}.usage_bps"), split.usage_bps.into());
    put(
        format!("{prefix}.contribution_bps"),
        split.contribution_bps.into(),
    );
    put(format!("{prefix}.treasury_bps"), split.treasury_bps.into());
}

fn oracle_fields(prefix: &str, oracles: &[OracleId], put: &mut dyn FnMut(String, i128)) {
    put(format!("{prefix}.len"), oracles.len() as i128);
    for (i, id) in oracles.iter().enumerate() {
        put(format!("{prefix}[{i}]"), *id as i128);
    }
}

/// The protocol's governable values as they stand in the accounts (the staged change
/// not folded in): what `apply_change` writes at once and `fold_staged` folds into.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Settings {
    /// Emission schedule.
    pub schedule: Vec<Segment>,
    /// Pool split.
    pub split: Split,
    /// Net re-mint cap.
    pub net_remint_cap: u64,
    /// Supply cap.
    pub supply_cap: u64,
    /// Credit price, micro-USD.
    pub credit_price_micro_usd: u64,
    /// Fixed token price mantissa.
    pub price_mantissa: u64,
    /// Fixed token price exponent.
    pub price_expo: i32,
    /// Grace period, seconds.
    pub grace_period_secs: u64,
    /// Mint rate-limit window, seconds.
    pub rate_window_secs: u64,
    /// Mint rate-limit budget per window.
    pub rate_max_per_window: u64,
    /// Governance timelock, seconds.
    pub timelock_secs: u64,
    /// The oracle set's keys (the `OracleSet` account).
    pub oracles: Vec<OracleId>,
    /// The oracle set's threshold.
    pub oracle_threshold: u8,
}

impl Settings {
    /// The genesis values of `params`.
    pub fn from_params(params: &Params) -> Self {
        Settings {
            schedule: params.schedule.clone(),
            split: Split {
                usage_bps: params.usage_bps,
                contribution_bps: params.contribution_bps,
                treasury_bps: params.treasury_bps,
            },
            net_remint_cap: params.net_remint_cap,
            supply_cap: params.supply_cap,
            credit_price_micro_usd: params.credit_price_micro_usd,
            price_mantissa: params.price_mantissa,
            price_expo: params.price_expo,
            grace_period_secs: params.grace_period_secs,
            rate_window_secs: params.rate_limit_window_secs,
            rate_max_per_window: params.rate_limit_max_per_window,
            timelock_secs: params.timelock_secs,
            oracles: (0..params.oracle_count).collect(),
            oracle_threshold: params.oracle_threshold as u8,
        }
    }
}

/// The parameters that govern one epoch (`bme::state::EpochParams`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct EpochParams {
    /// Pool split.
    pub split: Split,
    /// Net re-mint cap.
    pub net_remint_cap: u64,
    /// Credit price, micro-USD.
    pub credit_price_micro_usd: u64,
    /// Fixed token price mantissa.
    pub price_mantissa: u64,
    /// Fixed token price exponent.
    pub price_expo: i32,
    /// Grace period, seconds.
    pub grace_period_secs: u64,
    /// Mint rate-limit window, seconds.
    pub rate_window_secs: u64,
    /// Mint rate-limit budget per window.
    pub rate_max_per_window: u64,
}

/// The change staged for its effective epoch (`Protocol::staged`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StagedView {
    /// First epoch the change governs.
    pub from_epoch: u64,
    /// The change.
    pub change: Change,
}

/// The `PendingChange` account.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PendingView {
    /// A proposal is waiting.
    pub active: bool,
    /// Proposals ever made.
    pub sequence: u64,
    /// Unix time of the proposal.
    pub proposed_at: i64,
    /// Earliest unix time `apply_change` succeeds.
    pub earliest_apply: i64,
    /// The (last) proposed change.
    pub change: Change,
}

/// Governance state: the protocol's values, its staged change and pause flags, and
/// the proposal account.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct GovernanceView {
    /// `PAUSE_*` flags.
    pub paused: u8,
    /// The protocol's (and oracle set's) values.
    pub settings: Settings,
    /// The staged change, if any.
    pub staged: Option<StagedView>,
    /// The proposal account, `None` while it does not exist.
    pub pending: Option<PendingView>,
}

impl GovernanceView {
    /// `Protocol::params_at`: the protocol's values, or the staged change's for epochs
    /// at or after its effective epoch.
    pub fn params_at(&self, epoch: u64) -> EpochParams {
        let s = &self.settings;
        let mut params = EpochParams {
            split: s.split,
            net_remint_cap: s.net_remint_cap,
            credit_price_micro_usd: s.credit_price_micro_usd,
            price_mantissa: s.price_mantissa,
            price_expo: s.price_expo,
            grace_period_secs: s.grace_period_secs,
            rate_window_secs: s.rate_window_secs,
            rate_max_per_window: s.rate_max_per_window,
        };
        if let Some(staged) = &self.staged {
            if epoch >= staged.from_epoch {
                match &staged.change {
                    Change::PoolSplit(split) => params.split = *split,
                    Change::NetRemintCap(cap) => params.net_remint_cap = *cap,
                    Change::CreditPrice(micro_usd) => params.credit_price_micro_usd = *micro_usd,
                    Change::FixedPrice { price, expo } => {
                        params.price_mantissa = *price;
                        params.price_expo = *expo;
                    }
                    Change::GracePeriod(secs) => params.grace_period_secs = *secs,
                    Change::MintRateLimit {
                        window_secs,
                        max_per_window,
                    } => {
                        params.rate_window_secs = *window_secs;
                        params.rate_max_per_window = *max_per_window;
                    }
                    Change::Schedule(_)
                    | Change::OracleSet { .. }
                    | Change::SupplyCap(_)
                    | Change::Timelock(_) => {}
                }
            }
        }
        params
    }

    /// `Protocol::oracles_at`: the oracle keys and threshold that attest `epoch`.
    pub fn oracles_at(&self, epoch: u64) -> (&[OracleId], u8) {
        if let Some(StagedView {
            from_epoch,
            change: Change::OracleSet { oracles, threshold },
        }) = &self.staged
        {
            if epoch >= *from_epoch {
                return (oracles, *threshold);
            }
        }
        (&self.settings.oracles, self.settings.oracle_threshold)
    }

    /// `Protocol::fold_staged`: folds the staged change into the values once every
    /// epoch before its effective epoch has closed (an oracle-set change only when the
    /// oracle set is at hand, as in `apply_change`). Returns whether it folded.
    fn fold_staged(&mut self, next_epoch_to_close: u64, with_oracle_set: bool) -> bool {
        let Some(staged) = &self.staged else {
            return false;
        };
        if staged.from_epoch > next_epoch_to_close {
            return false;
        }
        let s = &mut self.settings;
        match staged.change.clone() {
            Change::PoolSplit(split) => s.split = split,
            Change::NetRemintCap(cap) => s.net_remint_cap = cap,
            Change::CreditPrice(micro_usd) => s.credit_price_micro_usd = micro_usd,
            Change::FixedPrice { price, expo } => {
                s.price_mantissa = price;
                s.price_expo = expo;
            }
            Change::GracePeriod(secs) => s.grace_period_secs = secs,
            Change::MintRateLimit {
                window_secs,
                max_per_window,
            } => {
                s.rate_window_secs = window_secs;
                s.rate_max_per_window = max_per_window;
            }
            Change::OracleSet { oracles, threshold } => {
                if !with_oracle_set {
                    return false;
                }
                s.oracles = oracles;
                s.oracle_threshold = threshold;
            }
            Change::Schedule(_) | Change::SupplyCap(_) | Change::Timelock(_) => {}
        }
        self.staged = None;
        true
    }

    /// Whether a proposal is waiting.
    pub fn pending_active(&self) -> bool {
        self.pending.as_ref().is_some_and(|p| p.active)
    }

    /// Every field as `(name, value)`.
    fn fields(&self, put: &mut dyn FnMut(String, i128)) {
        let s = &self.settings;
        put("protocol.paused".into(), self.paused.into());
        schedule_fields("protocol.schedule", &s.schedule, put);
        split_fields("protocol.split", &s.split, put);
        put("protocol.net_remint_cap".into(), s.net_remint_cap.into());
        put("protocol.supply_cap".into(), s.supply_cap.into());
        put(
            "protocol.credit_price_micro_usd".into(),
            s.credit_price_micro_usd.into(),
        );
        put(
            "protocol.price_source.fixed.price".into(),
            s.price_mantissa.into(),
        );
        put(
            "protocol.price_source.fixed.expo".into(),
            s.price_expo.into(),
        );
        put(
            "protocol.grace_period_secs".into(),
            s.grace_period_secs.into(),
        );
        put(
            "protocol.mint_rate_limit.window_secs".into(),
            s.rate_window_secs.into(),
        );
        put(
            "protocol.mint_rate_limit.max_per_window".into(),
            s.rate_max_per_window.into(),
        );
        put("protocol.timelock_secs".into(), s.timelock_secs.into());
        oracle_fields("oracle_set.oracles", &s.oracles, put);
        put("oracle_set.threshold".into(), s.oracle_threshold.into());
        put(
            "protocol.staged.exists".into(),
            self.staged.is_some().into(),
        );
        if let Some(staged) = &self.staged {
            put(
                "protocol.staged.from_epoch".into(),
                staged.from_epoch.into(),
            );
            staged.change.fields("protocol.staged.change", put);
        }
        put(
            "pending_change.exists".into(),
            self.pending.is_some().into(),
        );
        if let Some(p) = &self.pending {
            put("pending_change.active".into(), p.active.into());
            put("pending_change.sequence".into(), p.sequence.into());
            put("pending_change.proposed_at".into(), p.proposed_at.into());
            put(
                "pending_change.earliest_apply".into(),
                p.earliest_apply.into(),
            );
            p.change.fields("pending_change.change", put);
        }
    }
}

/// One operation of a scenario.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Op {
    /// `buy_credits` burning exactly `tokens`, expecting at least `min_credits`.
    BuyWithTokens {
        /// Who burns.
        buyer: CustomerId,
        /// Who receives the credits.
        recipient: CustomerId,
        /// Epoch named in the instruction.
        epoch: u64,
        /// Tokens to burn.
        tokens: u64,
        /// Slippage bound.
        min_credits: u64,
    },
    /// `buy_credits` minting exactly `credits`, burning at most `max_tokens`.
    BuyCredits {
        /// Who burns.
        buyer: CustomerId,
        /// Who receives the credits.
        recipient: CustomerId,
        /// Epoch named in the instruction.
        epoch: u64,
        /// Credits wanted.
        credits: u64,
        /// Slippage bound.
        max_tokens: u64,
    },
    /// `settle_usage`: a batch of cumulative receipts for one provider.
    Settle {
        /// The provider paid.
        provider: ProviderId,
        /// Epoch named in the instruction.
        epoch: u64,
        /// `(customer, cumulative credits)` in batch order.
        receipts: Vec<(CustomerId, u64)>,
    },
    /// `submit_contribution_report`.
    Report {
        /// Epoch reported.
        epoch: u64,
        /// Report sequence.
        sequence: u64,
        /// `(provider, units)` in entry order.
        entries: Vec<(ProviderId, u64)>,
        /// Oracle keys that sign, in signature order.
        signers: Vec<OracleId>,
    },
    /// Moves the clock to `to` (unix time).
    Warp {
        /// New unix time.
        to: i64,
    },
    /// `close_epoch`.
    Close {
        /// Epoch to close.
        epoch: u64,
    },
    /// `claim_rewards` for `provider`, passing the epoch accounts of `epochs`.
    Claim {
        /// The provider.
        provider: ProviderId,
        /// Epoch accounts passed as remaining accounts.
        epochs: Vec<u64>,
    },
    /// `propose_change` signed by `by`.
    Propose {
        /// The signer (only the authority may propose).
        by: Actor,
        /// The change.
        change: Change,
    },
    /// `apply_change` (permissionless).
    Apply,
    /// `cancel_change` signed by `by`.
    Cancel {
        /// The signer (only the authority may cancel).
        by: Actor,
    },
    /// `pause` signed by `by`.
    Pause {
        /// The signer (guardian or authority).
        by: Actor,
        /// `PAUSE_*` flags.
        flags: u8,
    },
    /// `unpause` signed by `by`.
    Unpause {
        /// The signer (only the authority may unpause).
        by: Actor,
        /// `PAUSE_*` flags.
        flags: u8,
    },
}

impl Op {
    /// The operation's kind, for statistics.
    pub fn kind(&self) -> &'static str {
        match self {
            Op::BuyWithTokens { .. } => "buy(tokens)",
            Op::BuyCredits { .. } => "buy(credits)",
            Op::Settle { .. } => "settle",
            Op::Report { .. } => "report",
            Op::Warp { .. } => "warp",
            Op::Close { .. } => "close",
            Op::Claim { .. } => "claim",
            Op::Propose { .. } => "propose",
            Op::Apply => "apply",
            Op::Cancel { .. } => "cancel",
            Op::Pause { .. } => "pause",
            Op::Unpause { .. } => "unpause",
        }
    }
}

/// A customer's balances.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct CustomerView {
    /// Network-token balance.
    pub tokens: u64,
    /// Credit balance, `None` while the credit account does not exist.
    pub credits: Option<u64>,
}

/// A provider's pending-work slot.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SlotView {
    /// Epoch of the work.
    pub epoch: u64,
    /// Usage units.
    pub usage_units: u64,
    /// Contribution units.
    pub contribution_units: u64,
}

impl SlotView {
    /// A slot without units is free.
    pub fn is_free(&self) -> bool {
        self.usage_units == 0 && self.contribution_units == 0
    }
}

/// A provider account and its destination's balance.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ProviderView {
    /// Balance of the reward destination.
    pub destination_balance: u64,
    /// The two pending slots.
    pub pending: [SlotView; 2],
    /// Earned, not yet minted.
    pub accrued: u64,
    /// Minted to the destination so far.
    pub claimed: u64,
}

/// An epoch account.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct EpochView {
    /// Epoch index.
    pub index: u64,
    /// Closed flag.
    pub closed: bool,
    /// Tokens burned for credits.
    pub tokens_burned: u64,
    /// Credits minted.
    pub credits_minted: u64,
    /// Credits burned by usage.
    pub credits_burned: u64,
    /// Usage units.
    pub usage_units: u64,
    /// Contribution units.
    pub contribution_units: u64,
    /// Scheduled emission.
    pub scheduled_emission: u64,
    /// Re-mint.
    pub remint: u64,
    /// Emission (scheduled + re-mint).
    pub emission: u64,
    /// Usage pool.
    pub usage_pool: u64,
    /// Contribution pool.
    pub contribution_pool: u64,
    /// Treasury share.
    pub treasury_amount: u64,
    /// Not minted.
    pub not_emitted: u64,
    /// Usage rewards settled.
    pub usage_claimed: u64,
    /// Contribution rewards settled.
    pub contribution_claimed: u64,
    /// Unix time of the close.
    pub closed_at: i64,
}

/// The protocol's running totals.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TotalsView {
    /// Tokens burned for credits.
    pub tokens_burned: u64,
    /// Credits minted.
    pub credits_minted: u64,
    /// Credits burned by usage.
    pub credits_burned: u64,
    /// Tokens minted by the program.
    pub tokens_minted: u64,
    /// Pools allocated, not yet claimed.
    pub rewards_outstanding: u64,
    /// Emission not minted.
    pub not_emitted: u64,
    /// Providers registered.
    pub providers: u64,
}

/// The protocol account's mutable state.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ProtocolView {
    /// Oldest unclosed epoch.
    pub next_epoch_to_close: u64,
    /// Scheduled emission of the last closed epoch.
    pub last_scheduled_emission: u64,
    /// Running totals.
    pub totals: TotalsView,
    /// Rate-limit window start.
    pub window_start: i64,
    /// Minted in the current rate-limit window.
    pub minted_in_window: u64,
}

/// Everything the test compares between the model and the chain.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct StateView {
    /// Unix time.
    pub now: i64,
    /// Customers by id.
    pub customers: Vec<CustomerView>,
    /// Network-token supply.
    pub token_supply: u64,
    /// Credit supply.
    pub credit_supply: u64,
    /// Treasury balance.
    pub treasury: u64,
    /// Providers by id.
    pub providers: Vec<ProviderView>,
    /// Existing epoch accounts by index.
    pub epochs: BTreeMap<u64, EpochView>,
    /// Existing channels' settled amounts by (provider, customer).
    pub channels: BTreeMap<(ProviderId, CustomerId), u64>,
    /// The protocol.
    pub protocol: ProtocolView,
    /// The oracle set's last accepted sequence.
    pub last_sequence: u64,
    /// Governance state.
    pub governance: GovernanceView,
}

impl StateView {
    /// Every field as `(name, value)`, in a stable order.
    pub fn fields(&self) -> BTreeMap<String, i128> {
        let mut out = BTreeMap::new();
        let mut put = |key: String, value: i128| {
            out.insert(key, value);
        };
        put("now".into(), self.now.into());
        for (i, c) in self.customers.iter().enumerate() {
            put(format!("customer[{i}].tokens"), c.tokens.into());
            put(
                format!("customer[{i}].credit_account_exists"),
                c.credits.is_some().into(),
            );
            put(
                format!("customer[{i}].credits"),
                c.credits.unwrap_or(0).into(),
            );
        }
        put("token_mint.supply".into(), self.token_supply.into());
        put("credit_mint.supply".into(), self.credit_supply.into());
        put("treasury.balance".into(), self.treasury.into());
        for (i, p) in self.providers.iter().enumerate() {
            put(
                format!("provider[{i}].destination_balance"),
                p.destination_balance.into(),
            );
            for (k, slot) in p.pending.iter().enumerate() {
                put(
                    format!("provider[{i}].pending[{k}].epoch"),
                    slot.epoch.into(),
                );
                put(
                    format!("provider[{i}].pending[{k}].usage_units"),
                    slot.usage_units.into(),
                );
                put(
                    format!("provider[{i}].pending[{k}].contribution_units"),
                    slot.contribution_units.into(),
                );
            }
            put(format!("provider[{i}].accrued"), p.accrued.into());
            put(format!("provider[{i}].claimed"), p.claimed.into());
        }
        for (index, e) in &self.epochs {
            let f = |name: &str| format!("epoch[{index}].{name}");
            put(f("exists"), 1);
            put(f("index"), e.index.into());
            put(f("closed"), e.closed.into());
            put(f("tokens_burned"), e.tokens_burned.into());
            put(f("credits_minted"), e.credits_minted.into());
            put(f("credits_burned"), e.credits_burned.into());
            put(f("usage_units"), e.usage_units.into());
            put(f("contribution_units"), e.contribution_units.into());
            put(f("scheduled_emission"), e.scheduled_emission.into());
            put(f("remint"), e.remint.into());
            put(f("emission"), e.emission.into());
            put(f("usage_pool"), e.usage_pool.into());
            put(f("contribution_pool"), e.contribution_pool.into());
            put(f("treasury_amount"), e.treasury_amount.into());
            put(f("not_emitted"), e.not_emitted.into());
            put(f("usage_claimed"), e.usage_claimed.into());
            put(f("contribution_claimed"), e.contribution_claimed.into());
            put(f("closed_at"), e.closed_at.into());
        }
        for ((p, c), settled) in &self.channels {
            put(format!("channel[provider {p}, customer {c}].exists"), 1);
            put(
                format!("channel[provider {p}, customer {c}].settled"),
                (*settled).into(),
            );
        }
        let p = &self.protocol;
        put(
            "protocol.next_epoch_to_close".into(),
            p.next_epoch_to_close.into(),
        );
        put(
            "protocol.last_scheduled_emission".into(),
            p.last_scheduled_emission.into(),
        );
        let t = &p.totals;
        put(
            "protocol.totals.tokens_burned".into(),
            t.tokens_burned.into(),
        );
        put(
            "protocol.totals.credits_minted".into(),
            t.credits_minted.into(),
        );
        put(
            "protocol.totals.credits_burned".into(),
            t.credits_burned.into(),
        );
        put(
            "protocol.totals.tokens_minted".into(),
            t.tokens_minted.into(),
        );
        put(
            "protocol.totals.rewards_outstanding".into(),
            t.rewards_outstanding.into(),
        );
        put("protocol.totals.not_emitted".into(), t.not_emitted.into());
        put("protocol.totals.providers".into(), t.providers.into());
        put(
            "protocol.mint_rate_limit.window_start".into(),
            p.window_start.into(),
        );
        put(
            "protocol.mint_rate_limit.minted_in_window".into(),
            p.minted_in_window.into(),
        );
        put("oracle_set.last_sequence".into(), self.last_sequence.into());
        self.governance.fields(&mut put);
        out
    }

    /// Human-readable differences `self` (the model) → `chain`; empty when equal.
    /// A field present on one side only (e.g. an account that exists only there) is
    /// reported as missing on the other.
    pub fn diff(&self, chain: &StateView) -> Vec<String> {
        let model = self.fields();
        let actual = chain.fields();
        let mut out = Vec::new();
        for (key, value) in &model {
            match actual.get(key) {
                Some(other) if other == value => {}
                Some(other) => out.push(format!("{key}: model {value}, chain {other}")),
                None => out.push(format!("{key}: model {value}, chain <absent>")),
            }
        }
        for (key, value) in &actual {
            if !model.contains_key(key) {
                out.push(format!("{key}: model <absent>, chain {value}"));
            }
        }
        out
    }
}

/// Which pool units belong to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum PoolKind {
    Usage,
    Contribution,
}

/// The rate-limit window of the mint circuit breaker.
#[derive(Clone, Debug, Default)]
struct RateWindow {
    start: i64,
    minted: u64,
}

/// How often the caps the scenarios aim at actually bound (successful closes only).
#[derive(Clone, Debug, Default)]
pub struct Coverage {
    /// Closes whose emission the supply cap clamped.
    pub clamped_closes: u64,
    /// Closes whose burns exceeded the re-mint cap.
    pub remint_capped_closes: u64,
    /// Closes of an epoch whose scheduled emission differs from the genesis schedule's.
    pub closes_under_new_schedule: u64,
    /// Closes of an epoch governed by a split, re-mint cap or grace period other than
    /// genesis's.
    pub closes_under_new_params: u64,
    /// Purchases at a credit or token price other than genesis's.
    pub buys_at_new_price: u64,
    /// Mints (close or claim) under a rate limit other than genesis's.
    pub mints_under_new_rate_limit: u64,
    /// Reports verified against an oracle set other than genesis's.
    pub reports_under_new_oracle_set: u64,
    /// Staged changes folded in by `close_epoch`.
    pub folds_at_close: u64,
    /// Staged changes folded in by `apply_change`.
    pub folds_at_apply: u64,
    /// Applies that passed every bound of the change but failed `Protocol::invariant`
    /// (which checks the values in force now, not the staged ones).
    pub applies_rejected_by_invariant: u64,
}

/// The reference model.
#[derive(Clone, Debug)]
pub struct Model {
    /// Genesis parameters.
    pub params: Params,
    /// Supply of the network token before genesis (premined).
    pub initial_supply: u64,
    /// What the scenario exercised so far.
    pub coverage: Coverage,
    state: StateView,
    rate: RateWindow,
}

fn add(a: u64, b: u64) -> Result<u64, Failure> {
    a.checked_add(b)
        .ok_or(Failure::Program(BmeError::MathOverflow))
}

fn sub(a: u64, b: u64) -> Result<u64, Failure> {
    a.checked_sub(b)
        .ok_or(Failure::Program(BmeError::MathOverflow))
}

/// A recipient's share of a pool (the program's pro-rata rule; see `bme::math`).
fn share(pool: u64, units: u64, total_units: u64) -> Result<u64, Failure> {
    Ok(rewards::pro_rata(pool, units, total_units)?)
}

impl Model {
    /// A model right after genesis: `customer_tokens` funded from the premine (the
    /// rest stays in the treasury), `providers` registered with empty destinations.
    pub fn new(
        params: Params,
        initial_supply: u64,
        customer_tokens: &[u64],
        providers: usize,
        now: i64,
    ) -> Self {
        let funded: u64 = customer_tokens.iter().sum();
        let state = StateView {
            now,
            customers: customer_tokens
                .iter()
                .map(|tokens| CustomerView {
                    tokens: *tokens,
                    credits: None,
                })
                .collect(),
            token_supply: initial_supply,
            credit_supply: 0,
            treasury: initial_supply - funded,
            providers: vec![ProviderView::default(); providers],
            epochs: BTreeMap::new(),
            channels: BTreeMap::new(),
            protocol: ProtocolView {
                totals: TotalsView {
                    providers: providers as u64,
                    ..TotalsView::default()
                },
                ..ProtocolView::default()
            },
            last_sequence: 0,
            governance: GovernanceView {
                paused: 0,
                settings: Settings::from_params(&params),
                staged: None,
                pending: None,
            },
        };
        Model {
            params,
            initial_supply,
            coverage: Coverage::default(),
            state,
            rate: RateWindow::default(),
        }
    }

    /// The model's state as the test compares it.
    pub fn observe(&self) -> StateView {
        let mut view = self.state.clone();
        view.protocol.window_start = self.rate.start;
        view.protocol.minted_in_window = self.rate.minted;
        view
    }

    /// Current unix time.
    pub fn now(&self) -> i64 {
        self.state.now
    }

    /// The epoch containing the current time.
    pub fn current_epoch(&self) -> u64 {
        let elapsed = (self.state.now - self.params.genesis_time) as u64;
        elapsed / self.params.epoch_length_secs
    }

    /// Unix time at which `epoch` starts.
    pub fn epoch_start(&self, epoch: u64) -> i64 {
        self.params.genesis_time + (epoch * self.params.epoch_length_secs) as i64
    }

    /// The epoch containing unix time `now` (`Protocol::epoch_at`, for `now` at or
    /// after genesis).
    pub fn epoch_at(&self, now: i64) -> u64 {
        let elapsed = (now - self.params.genesis_time) as u64;
        elapsed / self.params.epoch_length_secs
    }

    /// Earliest unix time at which `epoch` may close (under the grace period that
    /// governs it).
    pub fn closable_at(&self, epoch: u64) -> i64 {
        self.epoch_start(epoch + 1) + self.params_at(epoch).grace_period_secs as i64
    }

    /// Governance state.
    pub fn governance(&self) -> &GovernanceView {
        &self.state.governance
    }

    /// The protocol's governable values in force (staged change not folded).
    pub fn settings(&self) -> &Settings {
        &self.state.governance.settings
    }

    /// The parameters that govern `epoch`.
    pub fn params_at(&self, epoch: u64) -> EpochParams {
        self.state.governance.params_at(epoch)
    }

    /// The oracle keys and threshold that attest `epoch`.
    pub fn oracles_at(&self, epoch: u64) -> (Vec<OracleId>, u8) {
        let (oracles, threshold) = self.state.governance.oracles_at(epoch);
        (oracles.to_vec(), threshold)
    }

    /// Tokens minted or owed: supply plus rewards outstanding (the supply cap's floor).
    pub fn committed(&self) -> u64 {
        self.state
            .token_supply
            .saturating_add(self.state.protocol.totals.rewards_outstanding)
    }

    /// The effective epoch `propose_change` checks a proposal made now against: the
    /// epoch after the one in which the timelock ends.
    pub fn propose_effective_epoch(&self) -> u64 {
        let earliest = self.state.now + self.settings().timelock_secs as i64;
        self.epoch_at(earliest.max(self.params.genesis_time)) + 1
    }

    /// The oldest unclosed epoch.
    pub fn next_epoch_to_close(&self) -> u64 {
        self.state.protocol.next_epoch_to_close
    }

    /// The last accepted report sequence.
    pub fn last_sequence(&self) -> u64 {
        self.state.last_sequence
    }

    /// A customer's balances.
    pub fn customer(&self, id: CustomerId) -> &CustomerView {
        &self.state.customers[id]
    }

    /// A provider's state.
    pub fn provider(&self, id: ProviderId) -> &ProviderView {
        &self.state.providers[id]
    }

    /// Number of customers.
    pub fn customer_count(&self) -> usize {
        self.state.customers.len()
    }

    /// Number of providers.
    pub fn provider_count(&self) -> usize {
        self.state.providers.len()
    }

    /// Credits settled so far through a channel (0 when it does not exist).
    pub fn settled(&self, provider: ProviderId, customer: CustomerId) -> u64 {
        self.state
            .channels
            .get(&(provider, customer))
            .copied()
            .unwrap_or(0)
    }

    /// Highest epoch index with an account, if any.
    pub fn highest_epoch(&self) -> Option<u64> {
        self.state.epochs.keys().next_back().copied()
    }

    /// The closed epochs a provider's pending slots hold (what a claim must pass).
    pub fn closed_pending_epochs(&self, provider: ProviderId) -> Vec<u64> {
        let next = self.next_epoch_to_close();
        self.state.providers[provider]
            .pending
            .iter()
            .filter(|slot| !slot.is_free() && slot.epoch < next)
            .map(|slot| slot.epoch)
            .collect()
    }

    /// Every epoch a provider's pending slots hold.
    pub fn pending_epochs(&self, provider: ProviderId) -> Vec<u64> {
        self.state.providers[provider]
            .pending
            .iter()
            .filter(|slot| !slot.is_free())
            .map(|slot| slot.epoch)
            .collect()
    }

    /// Credits that burning `tokens` buys now at the fixed price (0 on overflow).
    pub fn credits_for(&self, tokens: u64) -> u64 {
        let p = self.params_at(self.current_epoch());
        price::credits_for_tokens(
            tokens,
            p.credit_price_micro_usd,
            self.params.token_decimals,
            p.price_mantissa,
            p.price_expo,
        )
        .unwrap_or(0)
    }

    /// Tokens `credits` cost now at the fixed price (`u64::MAX` on overflow).
    pub fn tokens_for(&self, credits: u64) -> u64 {
        let p = self.params_at(self.current_epoch());
        price::tokens_for_credits(
            credits,
            p.credit_price_micro_usd,
            self.params.token_decimals,
            p.price_mantissa,
            p.price_expo,
        )
        .unwrap_or(u64::MAX)
    }

    /// Applies `op`: on success the model moves to the new state, on failure it stays
    /// unchanged (a failed transaction rolls back) and the failure is returned.
    pub fn apply(&mut self, op: &Op) -> Result<(), Failure> {
        let mut next = self.clone();
        let result = match op {
            Op::BuyWithTokens {
                buyer,
                recipient,
                epoch,
                tokens,
                min_credits,
            } => next.buy(
                *buyer,
                *recipient,
                *epoch,
                Some((*tokens, *min_credits)),
                None,
            ),
            Op::BuyCredits {
                buyer,
                recipient,
                epoch,
                credits,
                max_tokens,
            } => next.buy(
                *buyer,
                *recipient,
                *epoch,
                None,
                Some((*credits, *max_tokens)),
            ),
            Op::Settle {
                provider,
                epoch,
                receipts,
            } => next.settle(*provider, *epoch, receipts),
            Op::Report {
                epoch,
                sequence,
                entries,
                signers,
            } => next.report(*epoch, *sequence, entries, signers),
            Op::Warp { to } => {
                next.state.now = *to;
                Ok(())
            }
            Op::Close { epoch } => next.close(*epoch),
            Op::Claim { provider, epochs } => next.claim(*provider, epochs),
            Op::Propose { by, change } => next.propose(*by, change),
            Op::Apply => next.apply_change(),
            Op::Cancel { by } => next.cancel(*by),
            Op::Pause { by, flags } => next.pause(*by, *flags),
            Op::Unpause { by, flags } => next.unpause(*by, *flags),
        };
        match result {
            Ok(()) => {
                *self = next;
                Ok(())
            }
            Err(failure) => {
                // Nothing changes, but what the scenario exercised is still counted.
                self.coverage.applies_rejected_by_invariant =
                    next.coverage.applies_rejected_by_invariant;
                Err(failure)
            }
        }
    }

    /// The epoch account at `index`, created (zeroed) if it does not exist, as
    /// `init_if_needed` does.
    fn epoch_mut(&mut self, index: u64) -> &mut EpochView {
        self.state.epochs.entry(index).or_insert_with(|| EpochView {
            index,
            ..EpochView::default()
        })
    }

    /// `MintRateLimit::record`: opens a new window when the current one has elapsed,
    /// then charges `amount` against it.
    /// The limit is the one that governs the current epoch (`params_at(epoch_at(now))`).
    fn record_mint(&mut self, amount: u64) -> Result<(), Failure> {
        let now = self.state.now;
        let limit = self.params_at(self.current_epoch());
        if (limit.rate_window_secs, limit.rate_max_per_window)
            != (
                self.params.rate_limit_window_secs,
                self.params.rate_limit_max_per_window,
            )
        {
            self.coverage.mints_under_new_rate_limit += 1;
        }
        let window_end = self.rate.start + limit.rate_window_secs as i64;
        if now >= window_end {
            self.rate.start = now;
            self.rate.minted = 0;
        }
        let minted = add(self.rate.minted, amount)?;
        if minted > limit.rate_max_per_window {
            return Err(BmeError::MintRateLimitExceeded.into());
        }
        self.rate.minted = minted;
        Ok(())
    }

    /// `Protocol::require_not_paused`.
    fn require_not_paused(&self, flag: u8) -> Result<(), Failure> {
        if self.state.governance.paused & flag != 0 {
            return Err(BmeError::Paused.into());
        }
        Ok(())
    }

    /// The pending-slot rule of `Provider`: units for `epoch` go to the slot holding
    /// it, else to a free slot (reset to `epoch`), else `ProviderSlotsFull`.
    fn add_units(
        &mut self,
        provider: ProviderId,
        epoch: u64,
        pool: PoolKind,
        units: u64,
    ) -> Result<(), Failure> {
        if epoch > u64::from(u32::MAX) {
            return Err(BmeError::EpochOutOfRange.into());
        }
        let slots = &mut self.state.providers[provider].pending;
        let index = slots
            .iter()
            .position(|slot| !slot.is_free() && slot.epoch == epoch)
            .or_else(|| slots.iter().position(SlotView::is_free))
            .ok_or(Failure::Program(BmeError::ProviderSlotsFull))?;
        let slot = &mut slots[index];
        if slot.is_free() {
            *slot = SlotView {
                epoch,
                ..SlotView::default()
            };
        }
        match pool {
            PoolKind::Usage => slot.usage_units = add(slot.usage_units, units)?,
            PoolKind::Contribution => {
                slot.contribution_units = add(slot.contribution_units, units)?;
            }
        }
        Ok(())
    }

    fn buy(
        &mut self,
        buyer: CustomerId,
        recipient: CustomerId,
        epoch: u64,
        by_tokens: Option<(u64, u64)>,
        by_credits: Option<(u64, u64)>,
    ) -> Result<(), Failure> {
        self.require_not_paused(PAUSE_BUY)?;
        if epoch != self.current_epoch() {
            return Err(BmeError::WrongEpoch.into());
        }
        // The price that governs the epoch (a staged change waits for its epoch).
        let p = self.params_at(epoch);
        let decimals = self.params.token_decimals;
        let (tokens, credits) = match (by_tokens, by_credits) {
            (Some((tokens, min_credits)), None) => {
                if tokens == 0 {
                    return Err(BmeError::InvalidPurchaseAmount.into());
                }
                let credits = price::credits_for_tokens(
                    tokens,
                    p.credit_price_micro_usd,
                    decimals,
                    p.price_mantissa,
                    p.price_expo,
                )?;
                if credits == 0 {
                    return Err(BmeError::PurchaseTooSmall.into());
                }
                if credits < min_credits {
                    return Err(BmeError::SlippageExceeded.into());
                }
                (tokens, credits)
            }
            (None, Some((credits, max_tokens))) => {
                if credits == 0 {
                    return Err(BmeError::InvalidPurchaseAmount.into());
                }
                let tokens = price::tokens_for_credits(
                    credits,
                    p.credit_price_micro_usd,
                    decimals,
                    p.price_mantissa,
                    p.price_expo,
                )?;
                if tokens > max_tokens {
                    return Err(BmeError::SlippageExceeded.into());
                }
                (tokens, credits)
            }
            _ => return Err(BmeError::InvalidPurchaseAmount.into()),
        };
        // The burn is a token-program CPI: it fails there on an insufficient balance.
        let balance = self.state.customers[buyer].tokens;
        if tokens > balance {
            return Err(Failure::Token(TOKEN_INSUFFICIENT_FUNDS));
        }
        self.state.customers[buyer].tokens = balance - tokens;
        self.state.token_supply = sub(self.state.token_supply, tokens)?;
        let held = self.state.customers[recipient].credits.unwrap_or(0);
        self.state.customers[recipient].credits = Some(add(held, credits)?);
        self.state.credit_supply = add(self.state.credit_supply, credits)?;

        if (p.credit_price_micro_usd, p.price_mantissa, p.price_expo)
            != (
                self.params.credit_price_micro_usd,
                self.params.price_mantissa,
                self.params.price_expo,
            )
        {
            self.coverage.buys_at_new_price += 1;
        }
        let e = self.epoch_mut(epoch);
        e.tokens_burned = add(e.tokens_burned, tokens)?;
        e.credits_minted = add(e.credits_minted, credits)?;
        let totals = &mut self.state.protocol.totals;
        totals.tokens_burned = add(totals.tokens_burned, tokens)?;
        totals.credits_minted = add(totals.credits_minted, credits)?;
        Ok(())
    }

    fn settle(
        &mut self,
        provider: ProviderId,
        epoch: u64,
        receipts: &[(CustomerId, u64)],
    ) -> Result<(), Failure> {
        self.require_not_paused(PAUSE_SETTLE)?;
        if epoch != self.current_epoch() {
            return Err(BmeError::WrongEpoch.into());
        }
        self.epoch_mut(epoch);
        if receipts.is_empty() {
            return Err(BmeError::InvalidReceiptBatch.into());
        }
        for (customer, cumulative) in receipts {
            let settled = self.settled(provider, *customer);
            if *cumulative <= settled {
                return Err(BmeError::ReceiptNotNewer.into());
            }
            let credits = cumulative - settled;
            let held = self.state.customers[*customer]
                .credits
                .ok_or(Failure::Program(BmeError::CreditAccountMismatch))?;
            if held < credits {
                return Err(BmeError::InsufficientCredits.into());
            }
            self.state.customers[*customer].credits = Some(held - credits);
            self.state.credit_supply = sub(self.state.credit_supply, credits)?;
            self.state
                .channels
                .insert((provider, *customer), *cumulative);
            self.add_units(provider, epoch, PoolKind::Usage, credits)?;
            let e = self.epoch_mut(epoch);
            e.credits_burned = add(e.credits_burned, credits)?;
            e.usage_units = add(e.usage_units, credits)?;
            let totals = &mut self.state.protocol.totals;
            totals.credits_burned = add(totals.credits_burned, credits)?;
        }
        Ok(())
    }

    fn report(
        &mut self,
        epoch: u64,
        sequence: u64,
        entries: &[(ProviderId, u64)],
        signers: &[OracleId],
    ) -> Result<(), Failure> {
        self.require_not_paused(PAUSE_REPORT)?;
        if self.epoch_mut(epoch).closed {
            return Err(BmeError::EpochClosed.into());
        }
        if epoch > self.current_epoch() || epoch < self.next_epoch_to_close() {
            return Err(BmeError::WrongEpoch.into());
        }
        let (oracles, threshold) = self.oracles_at(epoch);
        if oracles.is_empty() {
            return Err(BmeError::OracleSetEmpty.into());
        }
        if sequence <= self.state.last_sequence {
            return Err(BmeError::ReportReplay.into());
        }
        if entries.is_empty() || entries.iter().any(|(_, units)| *units == 0) {
            return Err(BmeError::InvalidReportEntries.into());
        }
        let mut seen: Vec<OracleId> = Vec::new();
        for signer in signers {
            if !oracles.contains(signer) {
                return Err(BmeError::UnregisteredOracle.into());
            }
            if seen.contains(signer) {
                return Err(BmeError::DuplicateSigner.into());
            }
            seen.push(*signer);
        }
        if seen.len() < usize::from(threshold) {
            return Err(BmeError::BelowThreshold.into());
        }
        let genesis_oracles: Vec<OracleId> = (0..self.params.oracle_count).collect();
        if (oracles.as_slice(), usize::from(threshold))
            != (genesis_oracles.as_slice(), self.params.oracle_threshold)
        {
            self.coverage.reports_under_new_oracle_set += 1;
        }
        let mut total = 0u64;
        for (provider, units) in entries {
            self.add_units(*provider, epoch, PoolKind::Contribution, *units)?;
            total = add(total, *units)?;
        }
        let e = self.epoch_mut(epoch);
        e.contribution_units = add(e.contribution_units, total)?;
        self.state.last_sequence = sequence;
        Ok(())
    }

    fn close(&mut self, epoch: u64) -> Result<(), Failure> {
        if self.epoch_mut(epoch).closed {
            return Err(BmeError::EpochClosed.into());
        }
        if epoch != self.next_epoch_to_close() {
            return Err(BmeError::EpochNotNext.into());
        }
        if self.state.now < self.closable_at(epoch) {
            return Err(BmeError::EpochNotEnded.into());
        }
        // The split and re-mint cap that govern the epoch; the schedule and the supply
        // cap in force (a schedule change only differs from its effective epoch on).
        let p = self.params_at(epoch);
        let settings = self.settings().clone();
        // The model asks the schedule for the epoch directly; the program steps from
        // the previous close's value.
        let scheduled = schedule::emission(&settings.schedule, epoch)?;
        if scheduled != schedule::emission(&self.params.schedule, epoch)? {
            self.coverage.closes_under_new_schedule += 1;
        }
        let genesis = Settings::from_params(&self.params);
        if (p.split, p.net_remint_cap, p.grace_period_secs)
            != (
                genesis.split,
                genesis.net_remint_cap,
                genesis.grace_period_secs,
            )
        {
            self.coverage.closes_under_new_params += 1;
        }
        let committed = add(
            self.state.token_supply,
            self.state.protocol.totals.rewards_outstanding,
        )?;
        let headroom = settings.supply_cap.saturating_sub(committed);
        let (tokens_burned, usage_units, contribution_units) = {
            let e = &self.state.epochs[&epoch];
            (e.tokens_burned, e.usage_units, e.contribution_units)
        };
        let remint = tokens_burned.min(p.net_remint_cap);
        let emission = add(scheduled, remint)?;
        let emitted = emission.min(headroom);
        if emitted < emission {
            self.coverage.clamped_closes += 1;
        }
        if tokens_burned > p.net_remint_cap {
            self.coverage.remint_capped_closes += 1;
        }
        let parts = rewards::split_emission(
            emitted,
            p.split.usage_bps,
            p.split.contribution_bps,
            p.split.treasury_bps,
        )?;
        let mut not_emitted = emission - emitted;
        let usage_pool = if usage_units > 0 {
            parts.usage
        } else {
            not_emitted = add(not_emitted, parts.usage)?;
            0
        };
        let contribution_pool = if contribution_units > 0 {
            parts.contribution
        } else {
            not_emitted = add(not_emitted, parts.contribution)?;
            0
        };
        let treasury = parts.treasury;
        if treasury > 0 {
            self.record_mint(treasury)?;
            self.state.token_supply = add(self.state.token_supply, treasury)?;
            self.state.treasury = add(self.state.treasury, treasury)?;
        }
        let now = self.state.now;
        let e = self.epoch_mut(epoch);
        e.closed = true;
        e.closed_at = now;
        e.scheduled_emission = scheduled;
        e.remint = remint;
        e.emission = emission;
        e.usage_pool = usage_pool;
        e.contribution_pool = contribution_pool;
        e.treasury_amount = treasury;
        e.not_emitted = not_emitted;
        let protocol = &mut self.state.protocol;
        protocol.next_epoch_to_close = add(epoch, 1)?;
        protocol.last_scheduled_emission = scheduled;
        let totals = &mut protocol.totals;
        totals.rewards_outstanding = add(
            totals.rewards_outstanding,
            add(usage_pool, contribution_pool)?,
        )?;
        totals.tokens_minted = add(totals.tokens_minted, treasury)?;
        totals.not_emitted = add(totals.not_emitted, not_emitted)?;
        // A staged change is folded in once every earlier epoch has closed (an
        // oracle-set change waits for the next `apply_change`, which has the set).
        let next = self.state.protocol.next_epoch_to_close;
        if self.state.governance.fold_staged(next, false) {
            self.coverage.folds_at_close += 1;
        }
        Ok(())
    }

    /// `propose_change`.
    fn propose(&mut self, by: Actor, change: &Change) -> Result<(), Failure> {
        if by != Actor::Authority {
            return Err(BmeError::Unauthorized.into());
        }
        if self.state.governance.pending_active() {
            return Err(BmeError::ChangeAlreadyPending.into());
        }
        let now = self.state.now;
        let timelock = i64::try_from(self.settings().timelock_secs)
            .map_err(|_| Failure::Program(BmeError::MathOverflow))?;
        let earliest_apply = now
            .checked_add(timelock)
            .ok_or(Failure::Program(BmeError::MathOverflow))?;
        // The earliest epoch the change could govern if applied as soon as allowed.
        let effective_epoch = add(
            self.epoch_at(earliest_apply.max(self.params.genesis_time)),
            1,
        )?;
        let committed = add(
            self.state.token_supply,
            self.state.protocol.totals.rewards_outstanding,
        )?;
        self.validate_change(change, effective_epoch, committed)?;
        // `init_if_needed` creates the account zeroed the first time.
        let sequence = add(
            self.state
                .governance
                .pending
                .as_ref()
                .map_or(0, |p| p.sequence),
            1,
        )?;
        self.state.governance.pending = Some(PendingView {
            active: true,
            sequence,
            proposed_at: now,
            earliest_apply,
            change: change.clone(),
        });
        Ok(())
    }

    /// `apply_change`: fold an earlier staged change if this one is staged too, check
    /// every bound again with the effective epoch the epoch after the current one,
    /// then write the schedule, supply cap or timelock at once, or stage the rest.
    fn apply_change(&mut self) -> Result<(), Failure> {
        let Some(pending) = self.state.governance.pending.clone() else {
            return Err(Failure::Anchor(AccountsError::AccountNotInitialized));
        };
        if !pending.active {
            return Err(BmeError::NoPendingChange.into());
        }
        let now = self.state.now;
        if now < pending.earliest_apply {
            return Err(BmeError::TimelockNotElapsed.into());
        }
        let change = pending.change;
        let effective_epoch = add(self.epoch_at(now.max(self.params.genesis_time)), 1)?;
        if change.is_staged() && self.state.governance.staged.is_some() {
            let next = self.state.protocol.next_epoch_to_close;
            if !self.state.governance.fold_staged(next, true) {
                return Err(BmeError::PreviousChangeNotInForce.into());
            }
            self.coverage.folds_at_apply += 1;
        }
        let committed = add(
            self.state.token_supply,
            self.state.protocol.totals.rewards_outstanding,
        )?;
        self.validate_change(&change, effective_epoch, committed)?;
        let governance = &mut self.state.governance;
        match &change {
            Change::Schedule(segments) => governance.settings.schedule = segments.clone(),
            Change::SupplyCap(cap) => governance.settings.supply_cap = *cap,
            Change::Timelock(secs) => governance.settings.timelock_secs = *secs,
            staged => {
                governance.staged = Some(StagedView {
                    from_epoch: effective_epoch,
                    change: staged.clone(),
                })
            }
        }
        if let Err(failure) = self.check_protocol() {
            self.coverage.applies_rejected_by_invariant += 1;
            return Err(failure);
        }
        if let Some(pending) = self.state.governance.pending.as_mut() {
            pending.active = false;
        }
        Ok(())
    }

    /// `cancel_change`.
    fn cancel(&mut self, by: Actor) -> Result<(), Failure> {
        // The proposal account is deserialized before `has_one = authority` is checked.
        let Some(pending) = self.state.governance.pending.as_mut() else {
            return Err(Failure::Anchor(AccountsError::AccountNotInitialized));
        };
        if by != Actor::Authority {
            return Err(BmeError::Unauthorized.into());
        }
        if !pending.active {
            return Err(BmeError::NoPendingChange.into());
        }
        pending.active = false;
        Ok(())
    }

    /// `pause`: the guardian or the authority.
    fn pause(&mut self, by: Actor, flags: u8) -> Result<(), Failure> {
        if by == Actor::Stranger {
            return Err(BmeError::Unauthorized.into());
        }
        if flags == 0 || flags & !PAUSE_ALL != 0 {
            return Err(BmeError::InvalidPauseFlags.into());
        }
        self.state.governance.paused |= flags;
        Ok(())
    }

    /// `unpause`: the authority only.
    fn unpause(&mut self, by: Actor, flags: u8) -> Result<(), Failure> {
        if by != Actor::Authority {
            return Err(BmeError::Unauthorized.into());
        }
        if flags == 0 || flags & !PAUSE_ALL != 0 {
            return Err(BmeError::InvalidPauseFlags.into());
        }
        self.state.governance.paused &= !flags;
        Ok(())
    }

    /// `Protocol::validate_change`: every bound, in the program's order, as if the
    /// change took effect at `effective_epoch` with `committed` tokens minted or owed.
    fn validate_change(
        &self,
        change: &Change,
        effective_epoch: u64,
        committed: u64,
    ) -> Result<(), Failure> {
        let settings = self.settings();
        let params = self.params_at(effective_epoch);
        // Twice the largest epoch mint (the least rate limit the program accepts).
        let largest_mint = |segments: &[Segment], remint_cap: u64| -> Result<u64, Failure> {
            schedule::max_emission(segments)
                .checked_add(remint_cap)
                .and_then(|m| m.checked_mul(2))
                .ok_or(Failure::Program(BmeError::MathOverflow))
        };
        let fail = |error: BmeError| Err(Failure::Program(error));
        match change {
            Change::Schedule(segments) => {
                schedule::validate_schedule(segments)?;
                self.check_schedule_change(segments, effective_epoch)?;
                if params.rate_max_per_window < largest_mint(segments, params.net_remint_cap)? {
                    return fail(BmeError::RateLimitTooLow);
                }
            }
            Change::PoolSplit(split) => rewards::validate_split(
                split.usage_bps,
                split.contribution_bps,
                split.treasury_bps,
            )?,
            Change::NetRemintCap(cap) => {
                if params.rate_max_per_window < largest_mint(&settings.schedule, *cap)? {
                    return fail(BmeError::RateLimitTooLow);
                }
            }
            Change::CreditPrice(micro_usd) => {
                if *micro_usd == 0 {
                    return fail(BmeError::ZeroCreditPrice);
                }
            }
            Change::FixedPrice { price, expo } => {
                if *price == 0 {
                    return fail(BmeError::ZeroFixedPrice);
                }
                if !(-18..=18).contains(expo) {
                    return fail(BmeError::PriceExponentOutOfRange);
                }
            }
            Change::GracePeriod(secs) => {
                if *secs >= self.params.epoch_length_secs {
                    return fail(BmeError::GracePeriodTooLong);
                }
            }
            Change::OracleSet { oracles, threshold } => {
                if oracles.len() > MAX_ORACLES {
                    return fail(BmeError::TooManyOracles);
                }
                for (i, id) in oracles.iter().enumerate() {
                    if oracles[i + 1..].contains(id) {
                        return fail(BmeError::DuplicateOracle);
                    }
                }
                let valid = if oracles.is_empty() {
                    *threshold == 0
                } else {
                    *threshold >= 1 && usize::from(*threshold) <= oracles.len()
                };
                if !valid {
                    return fail(BmeError::InvalidOracleThreshold);
                }
            }
            Change::MintRateLimit {
                window_secs,
                max_per_window,
            } => {
                if *window_secs == 0 {
                    return fail(BmeError::ZeroRateLimitWindow);
                }
                if *max_per_window < largest_mint(&settings.schedule, params.net_remint_cap)? {
                    return fail(BmeError::RateLimitTooLow);
                }
            }
            Change::SupplyCap(cap) => {
                if *cap > settings.supply_cap {
                    return fail(BmeError::SupplyCapIncrease);
                }
                if *cap < committed {
                    return fail(BmeError::SupplyCapBelowSupply);
                }
            }
            Change::Timelock(secs) => {
                if *secs < settings.timelock_secs {
                    return fail(BmeError::TimelockDecrease);
                }
            }
        }
        Ok(())
    }

    /// A new schedule may differ from the one in force only in segments starting at or
    /// after `effective_epoch`, and where it can jump (the effective epoch and each new
    /// segment start after it) it stays within `max_emission_change_bps` of it.
    fn check_schedule_change(&self, new: &[Segment], effective_epoch: u64) -> Result<(), Failure> {
        let old = &self.settings().schedule;
        let old_before: Vec<&Segment> = old
            .iter()
            .filter(|s| s.start_epoch < effective_epoch)
            .collect();
        let new_before: Vec<&Segment> = new
            .iter()
            .filter(|s| s.start_epoch < effective_epoch)
            .collect();
        if old_before != new_before {
            return Err(BmeError::ChangeRetroactive.into());
        }
        let mut checkpoints = vec![effective_epoch];
        checkpoints.extend(
            new.iter()
                .map(|s| s.start_epoch)
                .filter(|start| *start > effective_epoch),
        );
        for epoch in checkpoints {
            let before = u128::from(schedule::emission(old, epoch)?);
            let after = u128::from(schedule::emission(new, epoch)?);
            let allowed = before * u128::from(self.params.max_emission_change_bps)
                / u128::from(BPS_DENOMINATOR);
            if after.abs_diff(before) > allowed {
                return Err(BmeError::EmissionChangeTooLarge.into());
            }
        }
        Ok(())
    }

    /// `Protocol::invariant`, which `apply_change` checks after writing the change: the
    /// protocol's own values (not the staged change) against every bound.
    fn check_protocol(&self) -> Result<(), Failure> {
        let s = self.settings();
        let fail = |error: BmeError| Err(Failure::Program(error));
        if s.grace_period_secs >= self.params.epoch_length_secs {
            return fail(BmeError::GracePeriodTooLong);
        }
        schedule::validate_schedule(&s.schedule)?;
        rewards::validate_split(
            s.split.usage_bps,
            s.split.contribution_bps,
            s.split.treasury_bps,
        )?;
        if s.credit_price_micro_usd == 0 {
            return fail(BmeError::ZeroCreditPrice);
        }
        if s.price_mantissa == 0 {
            return fail(BmeError::ZeroFixedPrice);
        }
        if !(-18..=18).contains(&s.price_expo) {
            return fail(BmeError::PriceExponentOutOfRange);
        }
        if s.rate_window_secs == 0 {
            return fail(BmeError::ZeroRateLimitWindow);
        }
        let largest = schedule::max_emission(&s.schedule)
            .checked_add(s.net_remint_cap)
            .and_then(|m| m.checked_mul(2))
            .ok_or(Failure::Program(BmeError::MathOverflow))?;
        if s.rate_max_per_window < largest {
            return fail(BmeError::RateLimitTooLow);
        }
        Ok(())
    }

    fn claim(&mut self, provider: ProviderId, passed: &[u64]) -> Result<(), Failure> {
        self.require_not_paused(PAUSE_CLAIM)?;
        let next = self.next_epoch_to_close();
        let mut earned = 0u64;
        for k in 0..2 {
            let slot = self.state.providers[provider].pending[k];
            if slot.is_free() || slot.epoch >= next {
                continue;
            }
            if !passed.contains(&slot.epoch) || !self.state.epochs.contains_key(&slot.epoch) {
                return Err(BmeError::MissingEpochAccount.into());
            }
            let e = self.state.epochs.get_mut(&slot.epoch).expect("checked");
            if !e.closed {
                return Err(BmeError::EpochNotEnded.into());
            }
            let usage = share(e.usage_pool, slot.usage_units, e.usage_units)?;
            let contribution = share(
                e.contribution_pool,
                slot.contribution_units,
                e.contribution_units,
            )?;
            e.usage_claimed = add(e.usage_claimed, usage)?;
            e.contribution_claimed = add(e.contribution_claimed, contribution)?;
            earned = add(earned, add(usage, contribution)?)?;
            self.state.providers[provider].pending[k] = SlotView::default();
        }
        let accrued = add(self.state.providers[provider].accrued, earned)?;
        self.state.providers[provider].accrued = accrued;
        if accrued > 0 {
            self.record_mint(accrued)?;
            let totals = &mut self.state.protocol.totals;
            totals.rewards_outstanding = sub(totals.rewards_outstanding, accrued)?;
            totals.tokens_minted = add(totals.tokens_minted, accrued)?;
            self.state.token_supply = add(self.state.token_supply, accrued)?;
            let p = &mut self.state.providers[provider];
            p.destination_balance = add(p.destination_balance, accrued)?;
            p.accrued = 0;
            p.claimed = add(p.claimed, accrued)?;
        }
        Ok(())
    }
}

/// What the invariants need besides the chain's state.
#[derive(Clone, Copy, Debug)]
pub struct InvariantContext {
    /// The supply cap at genesis (governance may only lower it).
    pub genesis_supply_cap: u64,
    /// Network-token supply before genesis.
    pub initial_supply: u64,
    /// Unix time at which epoch 0 starts.
    pub genesis_time: i64,
    /// Epoch length in seconds.
    pub epoch_length_secs: u64,
    /// Decimals of the network token.
    pub token_decimals: u8,
}

impl InvariantContext {
    /// The context of a scenario run with `params` over `initial_supply` premined tokens.
    pub fn new(params: &Params, initial_supply: u64) -> Self {
        InvariantContext {
            genesis_supply_cap: params.supply_cap,
            initial_supply,
            genesis_time: params.genesis_time,
            epoch_length_secs: params.epoch_length_secs,
            token_decimals: params.token_decimals,
        }
    }
}

/// Checks DESIGN.md's invariants 1–7 on `state` (built from the chain, or from the
/// model), with `previous` the state after the step before (for "only rises" and
/// "never twice") and `started` what invariant 7 recorded of every epoch when it
/// started (one record per scenario and side, fed every step from step 0 on).
/// Returns every violation found, each naming its invariant.
pub fn check_invariants(
    ctx: &InvariantContext,
    started: &mut StartedEpochs,
    previous: Option<&StateView>,
    state: &StateView,
) -> Vec<String> {
    let mut violations = Vec::new();
    invariant_1_supply_cap(ctx, previous, state, &mut violations);
    invariant_2_claims_within_pools(state, &mut violations);
    invariant_3_credits_conserved(state, &mut violations);
    invariant_4_burns_match_supply(ctx, state, &mut violations);
    invariant_5_channels(previous, state, &mut violations);
    invariant_6_nothing_twice(previous, state, &mut violations);
    invariant_7_parameter_changes_not_retroactive(ctx, started, previous, state, &mut violations);
    violations
}

/// 1. Tokens minted by the program never exceed the supply cap: the supply, plus the
///    rewards already promised, stays within the cap in force, which governance may
///    only lower.
fn invariant_1_supply_cap(
    ctx: &InvariantContext,
    previous: Option<&StateView>,
    s: &StateView,
    out: &mut Vec<String>,
) {
    let cap = s.governance.settings.supply_cap;
    let committed = u128::from(s.token_supply) + u128::from(s.protocol.totals.rewards_outstanding);
    if committed > u128::from(cap) {
        out.push(format!(
            "invariant 1: supply {} + rewards outstanding {} exceeds the cap {cap}",
            s.token_supply, s.protocol.totals.rewards_outstanding
        ));
    }
    let before = previous.map_or(ctx.genesis_supply_cap, |p| p.governance.settings.supply_cap);
    if cap > before || cap > ctx.genesis_supply_cap {
        out.push(format!(
            "invariant 1: the supply cap rose to {cap} (before {before}, genesis {})",
            ctx.genesis_supply_cap
        ));
    }
}

/// 2. For every epoch, rewards claimed ≤ its pools; each emission is fully accounted
///    (pools + treasury + not emitted = emission); the outstanding liability equals
///    what closed pools still owe plus accrued rewards; and the dust a pool can never
///    pay out is below one base unit per provider.
fn invariant_2_claims_within_pools(s: &StateView, out: &mut Vec<String>) {
    let mut owed: u128 = 0;
    let mut treasury_minted: u128 = 0;
    let mut not_emitted: u128 = 0;
    for (index, e) in &s.epochs {
        if e.usage_claimed > e.usage_pool || e.contribution_claimed > e.contribution_pool {
            out.push(format!(
                "invariant 2: epoch {index} claimed {}+{} above its pools {}+{}",
                e.usage_claimed, e.contribution_claimed, e.usage_pool, e.contribution_pool
            ));
            continue;
        }
        if !e.closed {
            if e.usage_pool + e.contribution_pool + e.treasury_amount + e.emission > 0 {
                out.push(format!("invariant 2: open epoch {index} has pools"));
            }
            continue;
        }
        let parts = u128::from(e.usage_pool)
            + u128::from(e.contribution_pool)
            + u128::from(e.treasury_amount)
            + u128::from(e.not_emitted);
        if parts != u128::from(e.emission)
            || u128::from(e.emission) != u128::from(e.scheduled_emission) + u128::from(e.remint)
        {
            out.push(format!(
                "invariant 2: epoch {index} emission {} (scheduled {} + remint {}) != pools {} + {} + treasury {} + not emitted {}",
                e.emission, e.scheduled_emission, e.remint, e.usage_pool, e.contribution_pool,
                e.treasury_amount, e.not_emitted
            ));
        }
        owed += u128::from(e.usage_pool - e.usage_claimed)
            + u128::from(e.contribution_pool - e.contribution_claimed);
        treasury_minted += u128::from(e.treasury_amount);
        not_emitted += u128::from(e.not_emitted);
        // What the providers still pending in this epoch will get, and the dust left.
        let mut pending_usage = 0u64;
        let mut pending_contribution = 0u64;
        for p in &s.providers {
            for slot in p
                .pending
                .iter()
                .filter(|x| !x.is_free() && x.epoch == *index)
            {
                pending_usage += rewards::pro_rata(e.usage_pool, slot.usage_units, e.usage_units)
                    .unwrap_or(u64::MAX / 4);
                pending_contribution += rewards::pro_rata(
                    e.contribution_pool,
                    slot.contribution_units,
                    e.contribution_units,
                )
                .unwrap_or(u64::MAX / 4);
            }
        }
        let dust_bound = s.providers.len().max(1) as u64;
        for (name, pool, claimed, pending) in [
            ("usage", e.usage_pool, e.usage_claimed, pending_usage),
            (
                "contribution",
                e.contribution_pool,
                e.contribution_claimed,
                pending_contribution,
            ),
        ] {
            let left = pool - claimed;
            if pending > left || left - pending >= dust_bound {
                out.push(format!(
                    "invariant 2: epoch {index} {name} pool {pool}, claimed {claimed}, still pending {pending}: dust out of bounds"
                ));
            }
        }
    }
    let accrued: u128 = s.providers.iter().map(|p| u128::from(p.accrued)).sum();
    let totals = &s.protocol.totals;
    if u128::from(totals.rewards_outstanding) != owed + accrued {
        out.push(format!(
            "invariant 2: rewards outstanding {} != unclaimed pools {owed} + accrued {accrued}",
            totals.rewards_outstanding
        ));
    }
    let claimed: u128 = s.providers.iter().map(|p| u128::from(p.claimed)).sum();
    if u128::from(totals.tokens_minted) != treasury_minted + claimed {
        out.push(format!(
            "invariant 2: tokens minted {} != treasury shares {treasury_minted} + claims {claimed}",
            totals.tokens_minted
        ));
    }
    if u128::from(totals.not_emitted) != not_emitted {
        out.push(format!(
            "invariant 2: total not emitted {} != sum over epochs {not_emitted}",
            totals.not_emitted
        ));
    }
}

/// 3. Credits minted = credits burned + credits outstanding, per epoch sums agree with
///    the totals, and the credit supply is what the customers hold.
fn invariant_3_credits_conserved(s: &StateView, out: &mut Vec<String>) {
    let t = &s.protocol.totals;
    if u128::from(t.credits_minted) != u128::from(t.credits_burned) + u128::from(s.credit_supply) {
        out.push(format!(
            "invariant 3: credits minted {} != burned {} + outstanding {}",
            t.credits_minted, t.credits_burned, s.credit_supply
        ));
    }
    let minted: u128 = s
        .epochs
        .values()
        .map(|e| u128::from(e.credits_minted))
        .sum();
    let burned: u128 = s
        .epochs
        .values()
        .map(|e| u128::from(e.credits_burned))
        .sum();
    if minted != u128::from(t.credits_minted) || burned != u128::from(t.credits_burned) {
        out.push(format!(
            "invariant 3: epochs minted {minted} / burned {burned} credits, totals say {} / {}",
            t.credits_minted, t.credits_burned
        ));
    }
    let held: u128 = s
        .customers
        .iter()
        .map(|c| u128::from(c.credits.unwrap_or(0)))
        .sum();
    if held != u128::from(s.credit_supply) {
        out.push(format!(
            "invariant 3: customers hold {held} credits, supply is {}",
            s.credit_supply
        ));
    }
}

/// 4. Tokens burned for credits, per epoch, equal the supply decrease caused by
///    purchases: supply = initial + minted − burned, and every token is held by
///    someone the scenario knows.
fn invariant_4_burns_match_supply(ctx: &InvariantContext, s: &StateView, out: &mut Vec<String>) {
    let t = &s.protocol.totals;
    let burned: u128 = s.epochs.values().map(|e| u128::from(e.tokens_burned)).sum();
    if burned != u128::from(t.tokens_burned) {
        out.push(format!(
            "invariant 4: epochs burned {burned} tokens, totals say {}",
            t.tokens_burned
        ));
    }
    let expected =
        i128::from(ctx.initial_supply) + i128::from(t.tokens_minted) - i128::from(t.tokens_burned);
    if i128::from(s.token_supply) != expected {
        out.push(format!(
            "invariant 4: supply {} != initial {} + minted {} - burned {}",
            s.token_supply, ctx.initial_supply, t.tokens_minted, t.tokens_burned
        ));
    }
    let held: u128 = u128::from(s.treasury)
        + s.customers
            .iter()
            .map(|c| u128::from(c.tokens))
            .sum::<u128>()
        + s.providers
            .iter()
            .map(|p| u128::from(p.destination_balance))
            .sum::<u128>();
    if held != u128::from(s.token_supply) {
        out.push(format!(
            "invariant 4: holders have {held} tokens, supply is {}",
            s.token_supply
        ));
    }
}

/// 5. A channel's settled amount only rises, and settled amounts equal the credits
///    burned through channels (the only way credits are burned).
fn invariant_5_channels(previous: Option<&StateView>, s: &StateView, out: &mut Vec<String>) {
    if let Some(previous) = previous {
        for (key, before) in &previous.channels {
            match s.channels.get(key) {
                Some(now) if now >= before => {}
                now => out.push(format!(
                    "invariant 5: channel {key:?} went from {before} to {now:?}"
                )),
            }
        }
    }
    let settled: u128 = s.channels.values().map(|v| u128::from(*v)).sum();
    let usage: u128 = s.epochs.values().map(|e| u128::from(e.usage_units)).sum();
    if settled != u128::from(s.protocol.totals.credits_burned) || settled != usage {
        out.push(format!(
            "invariant 5: channels settled {settled}, credits burned {}, usage units {usage}",
            s.protocol.totals.credits_burned
        ));
    }
}

/// 6. No epoch closes twice (exactly the epochs before `next_epoch_to_close` are
///    closed, and a closed epoch's outcome never changes), and no receipt or report is
///    counted twice (an open epoch's units are exactly the providers' pending units
///    for it; report sequences only rise).
fn invariant_6_nothing_twice(previous: Option<&StateView>, s: &StateView, out: &mut Vec<String>) {
    let next = s.protocol.next_epoch_to_close;
    for index in 0..next {
        if !s.epochs.get(&index).is_some_and(|e| e.closed) {
            out.push(format!(
                "invariant 6: epoch {index} < next to close {next} is not closed"
            ));
        }
    }
    for (index, e) in &s.epochs {
        if *index >= next && e.closed {
            out.push(format!(
                "invariant 6: epoch {index} >= next to close {next} is closed"
            ));
        }
        let pending = |pick: fn(&SlotView) -> u64| -> u64 {
            s.providers
                .iter()
                .flat_map(|p| p.pending.iter())
                .filter(|slot| !slot.is_free() && slot.epoch == *index)
                .map(pick)
                .sum()
        };
        let usage = pending(|slot| slot.usage_units);
        let contribution = pending(|slot| slot.contribution_units);
        let counted_right = if e.closed {
            usage <= e.usage_units && contribution <= e.contribution_units
        } else {
            usage == e.usage_units && contribution == e.contribution_units
        };
        if !counted_right {
            out.push(format!(
                "invariant 6: epoch {index} (closed: {}) counts {} usage / {} contribution units, providers hold {usage} / {contribution}",
                e.closed, e.usage_units, e.contribution_units
            ));
        }
    }
    if let Some(previous) = previous {
        if s.last_sequence < previous.last_sequence {
            out.push(format!(
                "invariant 6: report sequence went back from {} to {}",
                previous.last_sequence, s.last_sequence
            ));
        }
        if next < previous.protocol.next_epoch_to_close {
            out.push("invariant 6: next epoch to close went back".to_string());
        }
        for (index, before) in previous.epochs.iter().filter(|(_, e)| e.closed) {
            let Some(now) = s.epochs.get(index) else {
                out.push(format!("invariant 6: closed epoch {index} disappeared"));
                continue;
            };
            let outcome = |e: &EpochView| {
                (
                    e.closed,
                    e.closed_at,
                    e.scheduled_emission,
                    e.remint,
                    e.emission,
                    e.usage_pool,
                    e.contribution_pool,
                    e.treasury_amount,
                    e.not_emitted,
                    (e.tokens_burned, e.usage_units, e.contribution_units),
                )
            };
            if outcome(before) != outcome(now) {
                out.push(format!(
                    "invariant 6: closed epoch {index} changed: {before:?} -> {now:?}"
                ));
            }
        }
    }
}

/// What invariant 7 recorded of an epoch at the first step the clock was inside it
/// (or past it, when a warp skipped it).
#[derive(Clone, Debug)]
struct EpochStart {
    /// Emission the schedule in force assigned to it.
    scheduled: u64,
    /// Parameters that governed it (`params_at` of the state then).
    params: EpochParams,
    /// The schedule in force then.
    schedule: Vec<Segment>,
    /// The parameters that would govern any later epoch then (to tell whether
    /// governance changed something while the epoch was open).
    later_params: EpochParams,
}

/// Invariant 7's memory: what governed every epoch when it started. One per scenario
/// and side; fed every step from step 0 on by [`check_invariants`].
#[derive(Clone, Debug, Default)]
pub struct StartedEpochs {
    started: BTreeMap<u64, EpochStart>,
    /// Closes checked against their epoch's start record.
    pub closes_checked: u64,
    /// Of those, closes of an epoch during which governance changed the schedule or a
    /// parameter for later epochs (where a retroactive change would have shown).
    pub closes_after_a_change: u64,
    /// Purchases checked against the price recorded at their epoch's start.
    pub purchases_checked: u64,
}

/// 7. A parameter change never alters the emission of an epoch that has started.
///
/// When an epoch starts, the emission the schedule in force assigns to it and the
/// parameters that govern it (`params_at`: split, re-mint cap, prices, grace period)
/// are recorded. When it closes, its scheduled emission must be the recorded one, and
/// its re-mint, pools, treasury share and unminted part must be what the recorded
/// re-mint cap and split give under the supply-cap headroom just before the close; it
/// must not close before the recorded grace period has passed. A purchase is made at
/// the price recorded for its epoch and never changes afterwards: the tokens burned,
/// credits minted and burned and work units recorded in an epoch only grow (and a
/// closed epoch's never change: invariant 6).
fn invariant_7_parameter_changes_not_retroactive(
    ctx: &InvariantContext,
    started: &mut StartedEpochs,
    previous: Option<&StateView>,
    s: &StateView,
    out: &mut Vec<String>,
) {
    // Closes made by this step.
    for (index, e) in s.epochs.iter().filter(|(_, e)| e.closed) {
        if previous
            .and_then(|p| p.epochs.get(index))
            .is_some_and(|before| before.closed)
        {
            continue;
        }
        let Some(start) = started.started.get(index) else {
            out.push(format!(
                "invariant 7: epoch {index} closed but was never seen to start"
            ));
            continue;
        };
        started.closes_checked += 1;
        if start.schedule != s.governance.settings.schedule
            || start.later_params != s.governance.params_at(u64::MAX)
        {
            started.closes_after_a_change += 1;
        }
        if e.scheduled_emission != start.scheduled {
            out.push(format!(
                "invariant 7: epoch {index} closed with scheduled emission {}, but the schedule in force when it started gave {}",
                e.scheduled_emission, start.scheduled
            ));
        }
        let end = i128::from(ctx.genesis_time)
            + i128::from(index + 1) * i128::from(ctx.epoch_length_secs);
        let closable = end + i128::from(start.params.grace_period_secs);
        if i128::from(e.closed_at) < closable {
            out.push(format!(
                "invariant 7: epoch {index} closed at {} before its end {end} plus the grace period {} that governed it",
                e.closed_at, start.params.grace_period_secs
            ));
        }
        let Some(before) = previous else {
            continue;
        };
        let committed = u128::from(before.token_supply)
            + u128::from(before.protocol.totals.rewards_outstanding);
        let headroom = u128::from(before.governance.settings.supply_cap).saturating_sub(committed);
        let p = &start.params;
        let remint = e.tokens_burned.min(p.net_remint_cap);
        let emission = u128::from(start.scheduled) + u128::from(remint);
        let emitted = emission.min(headroom);
        let expected = u64::try_from(emitted)
            .ok()
            .and_then(|emitted| {
                rewards::split_emission(
                    emitted,
                    p.split.usage_bps,
                    p.split.contribution_bps,
                    p.split.treasury_bps,
                )
                .ok()
            })
            .map(|parts| {
                let usage = if e.usage_units > 0 { parts.usage } else { 0 };
                let contribution = if e.contribution_units > 0 {
                    parts.contribution
                } else {
                    0
                };
                let not_emitted = emission
                    - (u128::from(usage) + u128::from(contribution) + u128::from(parts.treasury));
                (
                    u128::from(remint),
                    emission,
                    usage,
                    contribution,
                    parts.treasury,
                    not_emitted,
                )
            });
        let actual = (
            u128::from(e.remint),
            u128::from(e.emission),
            e.usage_pool,
            e.contribution_pool,
            e.treasury_amount,
            u128::from(e.not_emitted),
        );
        if expected != Some(actual) {
            out.push(format!(
                "invariant 7: epoch {index} closed with (remint, emission, usage pool, contribution pool, treasury, not emitted) = {actual:?}, but the re-mint cap {} and split {:?} recorded when it started give {expected:?}",
                p.net_remint_cap, p.split
            ));
        }
    }
    // Purchases are made at the price of their epoch and, with work, never change.
    if let Some(before) = previous {
        for (index, was) in &before.epochs {
            let Some(e) = s.epochs.get(index) else {
                out.push(format!("invariant 7: epoch {index} disappeared"));
                continue;
            };
            for (name, then, now) in [
                ("tokens burned", was.tokens_burned, e.tokens_burned),
                ("credits minted", was.credits_minted, e.credits_minted),
                ("credits burned", was.credits_burned, e.credits_burned),
                ("usage units", was.usage_units, e.usage_units),
                (
                    "contribution units",
                    was.contribution_units,
                    e.contribution_units,
                ),
            ] {
                if now < then {
                    out.push(format!(
                        "invariant 7: epoch {index} {name} went down from {then} to {now}"
                    ));
                }
            }
        }
        for (index, e) in &s.epochs {
            let was = before.epochs.get(index).cloned().unwrap_or_default();
            let tokens = e.tokens_burned.saturating_sub(was.tokens_burned);
            let credits = e.credits_minted.saturating_sub(was.credits_minted);
            if tokens == 0 && credits == 0 {
                continue;
            }
            let Some(start) = started.started.get(index) else {
                out.push(format!(
                    "invariant 7: a purchase in epoch {index}, which has not started"
                ));
                continue;
            };
            started.purchases_checked += 1;
            let p = &start.params;
            let for_tokens = price::credits_for_tokens(
                tokens,
                p.credit_price_micro_usd,
                ctx.token_decimals,
                p.price_mantissa,
                p.price_expo,
            );
            let for_credits = price::tokens_for_credits(
                credits,
                p.credit_price_micro_usd,
                ctx.token_decimals,
                p.price_mantissa,
                p.price_expo,
            );
            if tokens == 0
                || credits == 0
                || (for_tokens != Ok(credits) && for_credits != Ok(tokens))
            {
                out.push(format!(
                    "invariant 7: a purchase in epoch {index} burned {tokens} tokens for {credits} credits, not at the price recorded when the epoch started (credit {} micro-USD, token {} x 10^{})",
                    p.credit_price_micro_usd, p.price_mantissa, p.price_expo
                ));
            }
        }
    }
    // Record every epoch that has started by now.
    if s.now < ctx.genesis_time || ctx.epoch_length_secs == 0 {
        return;
    }
    let current = (s.now - ctx.genesis_time) as u64 / ctx.epoch_length_secs;
    let first = started
        .started
        .keys()
        .next_back()
        .map_or(0, |last| last + 1);
    for index in first..=current {
        match schedule::emission(&s.governance.settings.schedule, index) {
            Ok(scheduled) => {
                started.started.insert(
                    index,
                    EpochStart {
                        scheduled,
                        params: s.governance.params_at(index),
                        schedule: s.governance.settings.schedule.clone(),
                        later_params: s.governance.params_at(u64::MAX),
                    },
                );
            }
            Err(error) => out.push(format!(
                "invariant 7: the schedule in force when epoch {index} started is invalid: {error:?}"
            )),
        }
    }
}
