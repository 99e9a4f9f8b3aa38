//! `bme bench`: DESIGN.md's performance figures, measured on the embedded runtime.
//!
//! Everything on-chain is really done, not estimated: receipts are settled, reports
//! are sent, providers are registered with work in the epochs that close, claims are
//! cranked. Each figure comes back as a [`BenchRow`] with the design target beside it
//! and, where a target applies, whether it was met.
//!
//! Compute units come from the runtime's transaction metadata. With the program run
//! natively (the default: no SBF build here) only the BPF programs it calls (SPL Token,
//! Token-2022) are metered, so those rows are reported without a verdict. When
//! `target/deploy/bme.so` exists the bench loads that SBF build instead and judges them.
//!
//! Off-chain figures (receipts verified and planned per second) use a plain timing
//! loop: one warm-up run, then several measured runs; the median is reported.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anchor_lang::prelude::Pubkey;
use bme::instructions::Purchase;
use bme::state::{Channel, Epoch, OracleSet, Protocol, Provider};
use serde::Serialize;
use solana_program_test::{BanksClientError, ProgramTest};
use solana_sdk::account::Account;
use solana_sdk::instruction::Instruction;
use solana_sdk::message::AddressLookupTableAccount;
use solana_sdk::rent::Rent;
use solana_sdk::signature::{Keypair, Signer};

use crate::demo::{self, DemoOptions};
use crate::error::ClientError;
use crate::planner::{
    legacy_transaction_size, plan_reports, plan_settlements, v0_transaction_size, ChainSnapshot,
    PlanOptions, ReportContext, SettlementContext, MAX_ACCOUNT_LOCKS, PACKET_DATA_SIZE,
};
use crate::receipt::SignedReceipt;
use crate::runtime::network::{Network, GRACE, TOKEN};
use crate::runtime::LocalRuntime;
use crate::store::ReceiptStore;
use crate::{ix, pda};

/// What the compute-unit rows measure when the program runs natively.
pub const NATIVE_CU_LABEL: &str = "token-program CPIs only (native program not metered)";
/// What the compute-unit rows measure when the SBF build is loaded.
pub const SBF_CU_LABEL: &str = "whole transaction, SBF build of bme (target/deploy/bme.so)";

/// Credits each settlement customer buys.
const CREDITS: u64 = 1_000_000;
/// Customers whose receipts the settlement rows settle (more than a v0 batch holds).
const SETTLEMENT_CUSTOMERS: usize = 16;
/// Providers the report row credits (more than one report transaction holds).
const REPORT_PROVIDERS: usize = 60;
/// Epochs of work behind the claim rows.
const CLAIM_EPOCHS: [u64; 3] = [1, 10, 100];

/// How much to run.
#[derive(Debug, Clone, Copy, Default)]
pub struct BenchOptions {
    /// Smaller runs: close with 10 and 100 providers (not 1,000), fewer receipts and
    /// repetitions for the off-chain timings.
    pub quick: bool,
}

impl BenchOptions {
    fn close_sizes(&self) -> &'static [usize] {
        if self.quick {
            &[10, 100]
        } else {
            &[10, 100, 1_000]
        }
    }

    /// (receipts per run, measured runs) of the off-chain timings.
    fn timing_size(&self) -> (usize, usize) {
        if self.quick {
            (500, 3)
        } else {
            (2_000, 7)
        }
    }
}

/// A design target.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Target {
    /// The value must be at least this.
    AtLeast(f64),
    /// The value must be at most this.
    AtMost(f64),
    /// The value must be exactly this.
    Exactly(f64),
}

impl Target {
    /// Whether `value` meets the target.
    pub fn holds(&self, value: f64) -> bool {
        match *self {
            Target::AtLeast(bound) => value >= bound,
            Target::AtMost(bound) => value <= bound,
            Target::Exactly(bound) => value == bound,
        }
    }

    /// The target as people read it (`≥ 6`).
    pub fn label(&self) -> String {
        match *self {
            Target::AtLeast(bound) => format!("≥ {}", format_number(bound)),
            Target::AtMost(bound) => format!("≤ {}", format_number(bound)),
            Target::Exactly(bound) => format!("= {}", format_number(bound)),
        }
    }
}

/// A number as the table prints it: integers without decimals, with thousands
/// separators; others with two significant decimals.
pub fn format_number(value: f64) -> String {
    if value.fract() == 0.0 && value.abs() < 1e15 {
        let digits = format!("{}", value.abs() as u64);
        let mut out = String::new();
        for (i, digit) in digits.chars().enumerate() {
            if i > 0 && (digits.len() - i) % 3 == 0 {
                out.push(',');
            }
            out.push(digit);
        }
        if value < 0.0 {
            out.insert(0, '-');
        }
        out
    } else if value.abs() >= 100.0 {
        format_number(value.round())
    } else {
        format!("{value:.2}")
    }
}

/// One measured figure.
#[derive(Debug, Clone, Serialize)]
pub struct BenchRow {
    /// Stable key (`settle.receipts_per_tx.v0`).
    pub id: String,
    /// Section of the table.
    pub group: String,
    /// What was measured.
    pub name: String,
    /// The measurement.
    pub value: f64,
    /// Its unit.
    pub unit: String,
    /// The design target, if DESIGN.md sets one.
    pub target: Option<String>,
    /// Whether the target was met (`None` where no target applies or it cannot be
    /// judged in this runtime).
    pub pass: Option<bool>,
    /// How it was measured.
    pub note: String,
}

/// The machine the bench ran on.
#[derive(Debug, Clone, Serialize)]
pub struct Machine {
    /// Cores available to the process.
    pub cores: usize,
    /// CPU model, from `/proc/cpuinfo` where it exists.
    pub cpu: String,
    /// Operating system and architecture.
    pub os: String,
    /// Load averages (1, 5, 15 minutes) when the bench started, from `/proc/loadavg`
    /// where it exists: other work on the machine slows the timings.
    pub load_average: String,
}

/// Every figure of one run.
#[derive(Debug, Clone, Serialize)]
pub struct BenchReport {
    /// Whether this was a `--quick` run.
    pub quick: bool,
    /// `native` (the program compiled for the host) or `sbf` (target/deploy/bme.so).
    pub program: String,
    /// What the compute-unit rows measure.
    pub compute_units: String,
    /// Where it ran.
    pub machine: Machine,
    /// The figures, in table order.
    pub rows: Vec<BenchRow>,
    /// Rows with a target that was met.
    pub passed: usize,
    /// Rows with a target that was missed.
    pub failed: usize,
    /// Wall time of the whole bench, in milliseconds.
    pub wall_ms: u128,
    /// Unix time the bench finished.
    pub finished_unix: u64,
}

/// `1 epoch`, `2 epochs`.
fn plural(count: u64, word: &str) -> String {
    if count == 1 {
        format!("1 {word}")
    } else {
        format!("{count} {word}s")
    }
}

fn chain(err: BanksClientError) -> ClientError {
    ClientError::Transaction(err.to_string())
}

fn failed(what: impl Into<String>) -> ClientError {
    ClientError::Transaction(what.into())
}

/// The SBF build of the program, if one has been built.
pub fn sbf_program() -> Option<PathBuf> {
    [
        PathBuf::from("target/deploy/bme.so"),
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/deploy/bme.so"),
    ]
    .into_iter()
    .find(|path| path.is_file())
}

/// Where the bench runs: the runtime, its protocol and what the rows collect.
struct Bench {
    rt: LocalRuntime,
    network: Network,
    /// Metered programs: whether compute units cover the whole program.
    sbf: bool,
    /// Owner of the providers registered in bulk (any address may own a provider).
    shared_owner: Pubkey,
    /// The token account that receives their rewards.
    shared_destination: Pubkey,
    rows: Vec<BenchRow>,
    /// Compute units per instruction: (instruction, units, how).
    compute_units: Vec<(&'static str, f64, String)>,
}

impl Bench {
    #[allow(clippy::too_many_arguments)]
    fn row(
        &mut self,
        id: &str,
        group: &str,
        name: &str,
        value: f64,
        unit: &str,
        target: Option<Target>,
        judged: bool,
        note: String,
    ) {
        self.rows.push(BenchRow {
            id: id.into(),
            group: group.into(),
            name: name.into(),
            value,
            unit: unit.into(),
            target: target.map(|t| t.label()),
            pass: target.filter(|_| judged).map(|t| t.holds(value)),
            note,
        });
    }

    fn payer(&self) -> Pubkey {
        self.rt.payer().pubkey()
    }

    async fn send_metered(
        &mut self,
        instructions: &[Instruction],
        signers: &[&Keypair],
    ) -> Result<u64, ClientError> {
        let outcome = self
            .rt
            .send_with_metadata(instructions, signers)
            .await
            .map_err(chain)?;
        Ok(outcome
            .metadata
            .map(|m| m.compute_units_consumed)
            .unwrap_or(0))
    }

    /// Registers `count` providers for fresh nodes, all paying the shared
    /// destination, packing as many registrations per transaction as fit a packet.
    async fn register_providers(&mut self, count: usize) -> Result<Vec<Pubkey>, ClientError> {
        let payer = self.payer();
        let protocol = self.network.protocol;
        let owner = self.shared_owner;
        let destination = self.shared_destination;
        let nodes: Vec<Keypair> = (0..count).map(|_| Keypair::new()).collect();
        let register = |node: &Keypair| {
            ix::register_provider(ix::RegisterProviderAccounts {
                payer,
                node: node.pubkey(),
                owner,
                protocol,
                destination,
            })
        };
        let mut start = 0;
        while start < nodes.len() {
            let mut end = start + 1;
            while end < nodes.len() {
                let candidate: Vec<Instruction> = nodes[start..=end].iter().map(register).collect();
                if legacy_transaction_size(&candidate, &payer) > PACKET_DATA_SIZE {
                    break;
                }
                end += 1;
            }
            let instructions: Vec<Instruction> = nodes[start..end].iter().map(register).collect();
            let signers: Vec<&Keypair> = nodes[start..end].iter().collect();
            self.rt.send(&instructions, &signers).await.map_err(chain)?;
            start = end;
        }
        Ok(nodes
            .iter()
            .map(|node| pda::provider(&self.network.protocol, &node.pubkey()))
            .collect())
    }

    /// Credits `entries` in the current epoch through planned v0 reports over lookup
    /// tables, signed by two oracles; returns the most entries one report carried, the
    /// reports sent, and the first report's bytes and accounts.
    async fn report(
        &mut self,
        entries: &[(Pubkey, u64)],
    ) -> Result<(usize, usize, usize, usize), ClientError> {
        let oracle_set: OracleSet = self
            .rt
            .account(&pda::oracle_set(&self.network.protocol))
            .await;
        let oracles = [
            self.network.oracles[0].insecure_clone(),
            self.network.oracles[1].insecure_clone(),
        ];
        let context = ReportContext {
            payer: self.payer(),
            protocol: self.network.protocol,
            epoch: self.network.current_epoch(&self.rt),
            first_sequence: oracle_set.last_sequence + 1,
            oracles: oracles.iter().map(|k| k.pubkey()).collect(),
        };
        let plan = plan_reports(&context, entries, &PlanOptions::v0());
        if let Some(skipped) = plan.skipped.first() {
            return Err(failed(format!("report entry left out: {}", skipped.reason)));
        }
        let mut tables: Vec<Option<AddressLookupTableAccount>> = vec![None; plan.batches.len()];
        for table_plan in plan.lookup_tables() {
            let table = self
                .rt
                .create_lookup_table(&table_plan.addresses)
                .await
                .map_err(chain)?;
            for index in table_plan.batches {
                tables[index] = Some(table.clone());
            }
        }
        let signers: Vec<&Keypair> = oracles.iter().collect();
        for (batch, table) in plan.batches.iter().zip(tables) {
            let table: Vec<AddressLookupTableAccount> = table.into_iter().collect();
            self.rt
                .send_versioned(&batch.sign(&signers), &[], &table)
                .await
                .map_err(chain)?;
        }
        let most = plan.batches.iter().map(|b| b.entries.len()).max();
        let first = plan.batches.first();
        Ok((
            most.unwrap_or(0),
            plan.batches.len(),
            first.map_or(0, |b| b.size),
            first.map_or(0, |b| b.accounts),
        ))
    }

    /// Closes `epoch` after its grace period (one transaction); returns the close
    /// instruction's account count, its transaction size and compute units.
    async fn close(&mut self, epoch: u64) -> Result<(usize, usize, u64), ClientError> {
        self.network.warp_to_epoch(&mut self.rt, epoch + 1, GRACE);
        let close = self.network.close(&self.rt, epoch);
        let accounts = close.accounts.len();
        let size = legacy_transaction_size(std::slice::from_ref(&close), &self.payer());
        let units = self.send_metered(&[close], &[]).await?;
        let protocol: Protocol = self.rt.account(&self.network.protocol).await;
        if protocol.next_epoch_to_close != epoch + 1 {
            return Err(failed(format!("epoch {epoch} did not close")));
        }
        Ok((accounts, size, units))
    }
}

/// Runs every measurement. `progress` hears the name of each phase as it starts.
pub async fn run(
    options: BenchOptions,
    progress: &mut dyn FnMut(&str),
) -> Result<BenchReport, ClientError> {
    let started = Instant::now();
    let machine = machine();
    let sbf = sbf_program();
    let mut rt = match &sbf {
        Some(path) => {
            let elf = std::fs::read(path).map_err(|e| ClientError::File {
                path: path.display().to_string(),
                message: e.to_string(),
            })?;
            let mut program_test = ProgramTest::default();
            program_test.prefer_bpf(false);
            program_test.add_account(
                bme::ID,
                Account {
                    lamports: Rent::default().minimum_balance(elf.len()).max(1),
                    data: elf,
                    owner: solana_sdk::bpf_loader::ID,
                    executable: true,
                    rent_epoch: 0,
                },
            );
            LocalRuntime::start(program_test).await
        }
        None => LocalRuntime::new(vec![]).await,
    };
    progress("genesis");
    let network = Network::adopt(&mut rt, ix::SPL_TOKEN, 10_000_000 * TOKEN, |_| {})
        .await
        .map_err(chain)?;
    let shared_owner = Pubkey::new_unique();
    let shared_destination = rt
        .create_ata(&shared_owner, &network.token_mint, &network.token_program)
        .await;
    let mut bench = Bench {
        rt,
        network,
        sbf: sbf.is_some(),
        shared_owner,
        shared_destination,
        rows: Vec::new(),
        compute_units: Vec::new(),
    };

    progress("settling receipts (legacy, v0 + lookup table)");
    let channel = settlement(&mut bench).await?;
    progress("oracle reports");
    let report_provider = reports(&mut bench).await?;
    let closed_epoch = bench.network.current_epoch(&bench.rt);
    bench.close(closed_epoch).await?;
    progress("closing epochs with many providers");
    closes(&mut bench, options).await?;
    progress("claiming over 1, 10 and 100 epochs");
    let (fresh_provider_len, worked_provider) = claims(&mut bench).await?;
    state(
        &mut bench,
        fresh_provider_len,
        &worked_provider,
        &report_provider,
        &channel,
        closed_epoch,
    )
    .await?;
    compute_unit_rows(&mut bench);
    progress("off-chain timings");
    offchain(&mut bench, options)?;
    progress("bme demo");
    demo_row(&mut bench).await?;

    let rows = bench.rows;
    let passed = rows.iter().filter(|r| r.pass == Some(true)).count();
    let failed = rows.iter().filter(|r| r.pass == Some(false)).count();
    Ok(BenchReport {
        quick: options.quick,
        program: if bench.sbf { "sbf" } else { "native" }.into(),
        compute_units: if bench.sbf {
            SBF_CU_LABEL
        } else {
            NATIVE_CU_LABEL
        }
        .into(),
        machine,
        rows,
        passed,
        failed,
        wall_ms: started.elapsed().as_millis(),
        finished_unix: std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs()),
    })
}

fn machine() -> Machine {
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|info| {
            info.lines()
                .find(|line| line.starts_with("model name"))
                .and_then(|line| line.split_once(':'))
                .map(|(_, model)| model.trim().to_string())
        })
        .unwrap_or_else(|| "unknown".into());
    Machine {
        cores: std::thread::available_parallelism().map_or(1, |n| n.get()),
        cpu,
        os: format!("{} {}", std::env::consts::OS, std::env::consts::ARCH),
        load_average: std::fs::read_to_string("/proc/loadavg")
            .ok()
            .map(|load| {
                load.split_whitespace()
                    .take(3)
                    .collect::<Vec<_>>()
                    .join(" ")
            })
            .unwrap_or_default(),
    }
}

/// Customers buy credits; receipts settle in legacy transactions and in v0
/// transactions over a lookup table, each batch as full as a packet allows. Returns a
/// channel that settled.
async fn settlement(b: &mut Bench) -> Result<Pubkey, ClientError> {
    let mut customers = Vec::with_capacity(SETTLEMENT_CUSTOMERS);
    let buy = |b: &Bench, customer: &Keypair, credits: u64| {
        b.network.buy(
            &b.rt,
            &customer.pubkey(),
            &customer.pubkey(),
            Purchase::Credits {
                credits,
                max_tokens: 6 * TOKEN,
            },
            None,
        )
    };
    // A first purchase also creates the credit account (an associated-token CPI,
    // whose cost varies with the bump search); later ones only burn and mint.
    let mut first_buys = Vec::with_capacity(SETTLEMENT_CUSTOMERS);
    for _ in 0..SETTLEMENT_CUSTOMERS {
        let customer = b.network.fund_customer(&mut b.rt, 10 * TOKEN).await;
        let instruction = buy(b, &customer, CREDITS);
        first_buys.push(b.send_metered(&[instruction], &[&customer]).await?);
        customers.push(customer);
    }
    let instruction = buy(b, &customers[0], 1_000);
    let units = b.send_metered(&[instruction], &[&customers[0]]).await?;
    b.compute_units.push((
        "buy_credits",
        units as f64,
        format!(
            "a purchase at a fixed price into an existing credit account: SPL Token burn + \
             Token-2022 mint; a first purchase, creating the credit account, took {}–{} CU",
            first_buys.iter().min().copied().unwrap_or(0),
            first_buys.iter().max().copied().unwrap_or(0)
        ),
    ));
    let providers = b.register_providers(2).await?;
    let context = SettlementContext {
        payer: b.payer(),
        protocol: b.network.protocol,
        credit_mint: b.network.credit_mint,
        epoch: b.network.current_epoch(&b.rt),
    };
    let receipts_for = |provider: &Pubkey, base: u64| -> Vec<SignedReceipt> {
        customers
            .iter()
            .enumerate()
            .map(|(i, c)| SignedReceipt::sign(c, provider, base + i as u64))
            .collect()
    };
    let settle = |receipts: &[SignedReceipt]| {
        ix::settle_receipts(
            context.payer,
            context.protocol,
            context.credit_mint,
            context.epoch,
            receipts,
        )
    };

    // Legacy: every customer used provider 0.
    let legacy_receipts = receipts_for(&providers[0], 1_000);
    let snapshot =
        b.rt.settlement_snapshot(&b.network.credit_mint, &legacy_receipts)
            .await;
    let legacy = plan_settlements(
        &context,
        &legacy_receipts,
        &snapshot,
        &PlanOptions::legacy(),
    );
    if let Some(skipped) = legacy.skipped.first() {
        return Err(left_out(b, &skipped.receipt, &skipped.reason).await);
    }
    for (index, batch) in legacy.batches.iter().enumerate() {
        let units = b.send_metered(&batch.instructions, &[]).await?;
        if index == 0 {
            let count = batch.receipts.len();
            b.compute_units.push((
                "settle_usage (per receipt)",
                units as f64 / count as f64,
                format!("{units} CU for a legacy batch of {count} receipts (Token-2022 burns)"),
            ));
        }
    }
    let legacy_max = legacy.batches[0].receipts.len();
    // One receipt more (newer amounts, so only the size stands in the way).
    let over = settle(&receipts_for(&providers[0], 2_000)[..=legacy_max]);
    let legacy_refused = matches!(
        b.rt.send(&over, &[]).await,
        Err(BanksClientError::ClientError(_))
    );
    let legacy_over_size = legacy_transaction_size(&over, &context.payer);
    let legacy_size =
        |n: usize| legacy_transaction_size(&settle(&legacy_receipts[..n]), &context.payer);
    let legacy_per_receipt = legacy_size(2) - legacy_size(1);

    // v0: every customer used provider 1 too; the planner lists the table to create.
    let v0_receipts = receipts_for(&providers[1], 1_000);
    let snapshot =
        b.rt.settlement_snapshot(&b.network.credit_mint, &v0_receipts)
            .await;
    let v0 = plan_settlements(&context, &v0_receipts, &snapshot, &PlanOptions::v0());
    if let Some(skipped) = v0.skipped.first() {
        return Err(left_out(b, &skipped.receipt, &skipped.reason).await);
    }
    let table_plans = v0.lookup_tables();
    if table_plans.len() != 1 {
        return Err(failed("the settlement receipts need one lookup table"));
    }
    let table =
        b.rt.create_lookup_table(&table_plans[0].addresses)
            .await
            .map_err(chain)?;
    for batch in &v0.batches {
        b.rt.send_versioned(&batch.instructions, &[], std::slice::from_ref(&table))
            .await
            .map_err(chain)?;
    }
    let v0_max = v0.batches[0].receipts.len();
    let over = settle(&receipts_for(&providers[1], 2_000)[..=v0_max]);
    let v0_refused = matches!(
        b.rt.send_versioned(&over, &[], std::slice::from_ref(&table))
            .await,
        Err(BanksClientError::ClientError(_))
    );
    let tables = std::slice::from_ref(&table);
    let v0_size = |receipts: &[SignedReceipt]| {
        v0_transaction_size(&settle(receipts), &context.payer, tables).unwrap_or(usize::MAX)
    };
    let v0_over_size = v0_size(&receipts_for(&providers[1], 2_000)[..=v0_max]);
    let v0_per_receipt = v0_size(&v0_receipts[..2]) - v0_size(&v0_receipts[..1]);

    // Every receipt settled on chain, to its cumulative amount.
    for receipt in legacy_receipts.iter().chain(&v0_receipts) {
        let settled: Channel = b.rt.account(&receipt.channel()).await;
        if settled.settled != receipt.cumulative {
            return Err(failed("a planned receipt did not settle"));
        }
    }

    let refused = |refused: bool, size: usize| {
        if refused {
            format!("one receipt more ({size} bytes) is refused by the runtime")
        } else {
            format!("one more ({size} bytes) was NOT refused")
        }
    };
    let group = "settlement";
    b.row(
        "settle.receipts_per_tx.legacy",
        group,
        "customer receipts settled per tx, legacy",
        legacy_max as f64,
        "receipts/tx",
        None,
        false,
        format!(
            "{} receipts settled in {} legacy transactions ({} bytes); {}",
            legacy_receipts.len(),
            legacy.batches.len(),
            legacy.batches[0].size,
            refused(legacy_refused, legacy_over_size)
        ),
    );
    b.row(
        "settle.receipts_per_tx.v0",
        group,
        "customer receipts settled per tx, v0 + lookup table",
        v0_max as f64,
        "receipts/tx",
        Some(Target::AtLeast(6.0)),
        true,
        format!(
            "{} receipts settled in {} v0 transactions ({} bytes); {}",
            v0_receipts.len(),
            v0.batches.len(),
            v0.batches[0].size,
            refused(v0_refused, v0_over_size)
        ),
    );
    b.row(
        "settle.bytes_per_receipt.legacy",
        group,
        "bytes per receipt, legacy",
        legacy_per_receipt as f64,
        "bytes",
        None,
        false,
        format!(
            "{} fixed; Ed25519 entry 154 + 2 account indexes + 2 keys of 32",
            legacy_size(1) - legacy_per_receipt
        ),
    );
    b.row(
        "settle.bytes_per_receipt.v0",
        group,
        "bytes per receipt, v0 + lookup table",
        v0_per_receipt as f64,
        "bytes",
        None,
        false,
        format!(
            "{} fixed; Ed25519 entry 154 + 2 account indexes + 2 table indexes",
            v0_size(&v0_receipts[..1]) - v0_per_receipt
        ),
    );
    Ok(legacy_receipts[0].channel())
}

/// The error for a receipt the planner unexpectedly left out, with what the chain
/// says about its customer now.
async fn left_out(
    b: &mut Bench,
    receipt: &SignedReceipt,
    reason: &crate::planner::SkipReason,
) -> ClientError {
    let account = b.network.credit_account(&receipt.customer);
    let balance = match b.rt.raw_account(&account).await {
        Some(_) => b.rt.token_balance(&account).await.to_string(),
        None => "no credit account".into(),
    };
    let slot = b.rt.ctx.banks_client.get_root_slot().await.unwrap_or(0);
    failed(format!(
        "receipt of {} for {} credits left out: {reason} (chain now, slot {slot}: {balance})",
        receipt.customer, receipt.cumulative
    ))
}

/// One oracle report transaction credits as many providers as fit; returns a
/// provider credited.
async fn reports(b: &mut Bench) -> Result<Pubkey, ClientError> {
    let providers = b.register_providers(REPORT_PROVIDERS).await?;
    let epoch = b.network.current_epoch(&b.rt);
    let entries: Vec<(Pubkey, u64)> = providers
        .iter()
        .enumerate()
        .map(|(i, p)| (*p, 100 + i as u64))
        .collect();
    let before: Epoch = b.rt.account(&pda::epoch(&b.network.protocol, epoch)).await;
    let (most, transactions, bytes, accounts) = b.report(&entries).await?;
    let after: Epoch = b.rt.account(&pda::epoch(&b.network.protocol, epoch)).await;
    let credited = after.contribution_units - before.contribution_units;
    if credited != entries.iter().map(|(_, u)| u).sum::<u64>() {
        return Err(failed("the reports did not credit every provider"));
    }
    let binds = if accounts >= MAX_ACCOUNT_LOCKS {
        format!("the {MAX_ACCOUNT_LOCKS}-account lock limit binds before the packet")
    } else {
        "the packet binds".into()
    };
    b.row(
        "report.providers_per_tx",
        "oracle reports",
        "providers credited per report tx (v0 + table, 2 oracle sigs)",
        most as f64,
        "providers/tx",
        Some(Target::AtLeast(25.0)),
        true,
        format!(
            "{REPORT_PROVIDERS} providers credited in {transactions} reports; the first is {bytes} \
             bytes, {accounts} accounts: {binds}"
        ),
    );
    Ok(providers[0])
}

/// For each size, that many providers work in one epoch, which then closes in one
/// transaction whose accounts do not depend on them.
async fn closes(b: &mut Bench, options: BenchOptions) -> Result<(), ClientError> {
    let mut shapes = Vec::new();
    for &count in options.close_sizes() {
        let epoch = b.network.current_epoch(&b.rt);
        let providers = b.register_providers(count).await?;
        let entries: Vec<(Pubkey, u64)> = providers
            .iter()
            .enumerate()
            .map(|(i, p)| (*p, 1 + (i as u64 % 7)))
            .collect();
        let (_, reports, _, _) = b.report(&entries).await?;
        let (accounts, size, units) = b.close(epoch).await?;
        let closed: Epoch = b.rt.account(&pda::epoch(&b.network.protocol, epoch)).await;
        let total: u64 = entries.iter().map(|(_, u)| u).sum();
        if !closed.closed || closed.contribution_units != total {
            return Err(failed(format!("epoch {epoch} did not close over its work")));
        }
        shapes.push((accounts, size));
        if count == options.close_sizes()[0] {
            b.compute_units.push((
                "close_epoch",
                units as f64,
                "treasury MintTo (SPL Token)".into(),
            ));
        }
        let same = shapes.iter().all(|s| *s == shapes[0]);
        b.row(
            &format!("close.tx.{count}"),
            "epochs and claims",
            &format!(
                "txs to close an epoch, {} providers with work",
                format_number(count as f64)
            ),
            1.0,
            "tx",
            Some(Target::Exactly(1.0)),
            true,
            format!(
                "{count} providers registered with work in epoch {epoch} ({}, {total} units); \
                 close is one instruction locking {accounts} accounts, {size} bytes{}",
                plural(reports as u64, "report"),
                if same {
                    ", as with fewer providers"
                } else {
                    " — DIFFERENT from a smaller epoch"
                }
            ),
        );
        if !same {
            if let Some(row) = b.rows.last_mut() {
                row.value = 2.0;
                row.pass = Some(false);
            }
        }
    }
    Ok(())
}

/// Providers working 1, 10 and 100 epochs in a row, claimed whenever their two
/// pending slots are full and once after their last epoch closes. Returns a fresh
/// provider's account length and a provider that worked every epoch.
async fn claims(b: &mut Bench) -> Result<(usize, Pubkey), ClientError> {
    let mut providers = Vec::new();
    for _ in CLAIM_EPOCHS {
        providers.push(b.network.register_provider(&mut b.rt).await.2);
    }
    let fresh_len =
        b.rt.raw_account(&providers[0])
            .await
            .map_or(0, |a| a.data.len());
    let first = b.network.current_epoch(&b.rt);
    let last = first + CLAIM_EPOCHS.iter().max().copied().unwrap_or(1);
    let units = 10;
    // Per provider: claims sent, most epochs one claim settled, rewards expected.
    let mut claims = vec![0u64; providers.len()];
    let mut most_settled = vec![0usize; providers.len()];
    let mut leftovers = vec![0usize; providers.len()];
    let mut expected = vec![0u64; providers.len()];
    let mut most_claim_units = 0;
    let oracles = [
        b.network.oracles[0].insecure_clone(),
        b.network.oracles[1].insecure_clone(),
    ];
    for epoch in first..last {
        let working: Vec<usize> = (0..providers.len())
            .filter(|&i| epoch < first + CLAIM_EPOCHS[i])
            .collect();
        let entries: Vec<(Pubkey, u64)> = working.iter().map(|&i| (providers[i], units)).collect();
        let oracle_set: OracleSet = b.rt.account(&pda::oracle_set(&b.network.protocol)).await;
        let signers: Vec<&Keypair> = oracles.iter().collect();
        let report = ix::signed_report(
            b.payer(),
            b.network.protocol,
            &signers,
            epoch,
            oracle_set.last_sequence + 1,
            &entries,
        );
        let report_units = b.send_metered(&report, &[]).await?;
        if epoch == first {
            b.compute_units.push((
                "submit_contribution_report",
                report_units as f64,
                format!("{} providers, 2 oracle signatures (no CPI)", entries.len()),
            ));
        }
        b.close(epoch).await?;
        let closed: Epoch = b.rt.account(&pda::epoch(&b.network.protocol, epoch)).await;
        for &i in &working {
            expected[i] += bme::math::rewards::pro_rata(
                closed.contribution_pool,
                units,
                closed.contribution_units,
            )
            .map_err(|e| failed(format!("{e:?}")))?;
        }
        for (i, provider) in providers.iter().enumerate() {
            let account: Provider = b.rt.account(provider).await;
            let closed_slots = account
                .pending
                .iter()
                .filter(|s| !s.is_free() && u64::from(s.epoch) <= epoch)
                .count();
            let done = epoch + 1 == first + CLAIM_EPOCHS[i];
            // Claim as rarely as the two pending slots allow, and once at the end.
            if closed_slots == 0 || (closed_slots < 2 && !done) {
                continue;
            }
            let claim = b.network.claim(&mut b.rt, provider).await;
            let claim_units = b.send_metered(&[claim], &[]).await?;
            if closed_slots == 2 {
                most_claim_units = most_claim_units.max(claim_units);
            }
            claims[i] += 1;
            most_settled[i] = most_settled[i].max(closed_slots);
            let after: Provider = b.rt.account(provider).await;
            leftovers[i] = leftovers[i].max(
                after
                    .pending
                    .iter()
                    .filter(|s| !s.is_free() && u64::from(s.epoch) <= epoch)
                    .count(),
            );
        }
    }
    b.compute_units.push((
        "claim_rewards",
        most_claim_units as f64,
        "settling 2 closed epochs, MintTo (SPL Token)".into(),
    ));
    let mut worked = providers[0];
    for (i, provider) in providers.iter().enumerate() {
        let k = CLAIM_EPOCHS[i];
        let account: Provider = b.rt.account(provider).await;
        let paid_right = account.claimed == expected[i] && account.accrued == 0;
        // One claim transaction settles every closed epoch the provider holds; were
        // any left behind, it would take another.
        let per_claim = if leftovers[i] == 0 { 1.0 } else { 2.0 };
        b.row(
            &format!("claim.tx.{k}"),
            "epochs and claims",
            &format!(
                "txs per claim, provider working {k} epoch{}",
                if k == 1 { "" } else { "s" }
            ),
            per_claim,
            "tx/claim",
            Some(Target::Exactly(1.0)),
            true,
            format!(
                "{} of work paid by {} (1 tx each), settling up to {} (a provider holds \
                 work for at most 2 unclaimed epochs, so it is claimed at least every 2nd \
                 epoch; any claim is 1 tx); {:.2} tokens claimed {} the sum of its pro-rata \
                 shares",
                plural(k, "epoch"),
                plural(claims[i], "claim"),
                plural(most_settled[i] as u64, "closed epoch"),
                account.claimed as f64 / TOKEN as f64,
                if paid_right { "=" } else { "≠" }
            ),
        );
        if !paid_right {
            if let Some(row) = b.rows.last_mut() {
                row.pass = Some(false);
            }
        }
        worked = *provider;
    }
    Ok((fresh_len, worked))
}

/// Bytes and rent of the per-provider, per-channel and per-epoch accounts, read
/// from the chain.
async fn state(
    b: &mut Bench,
    fresh_provider_len: usize,
    worked_provider: &Pubkey,
    report_provider: &Pubkey,
    channel: &Pubkey,
    epoch: u64,
) -> Result<(), ClientError> {
    let length = |account: Option<Account>, what: &str| {
        account
            .map(|a| a.data.len())
            .ok_or_else(|| failed(format!("{what} account missing")))
    };
    let provider_len = length(b.rt.raw_account(worked_provider).await, "provider")?;
    let report_provider_len = length(b.rt.raw_account(report_provider).await, "provider")?;
    let channel_len = length(b.rt.raw_account(channel).await, "channel")?;
    let epoch_len = length(
        b.rt.raw_account(&pda::epoch(&b.network.protocol, epoch))
            .await,
        "epoch",
    )?;
    let constant = provider_len == fresh_provider_len && provider_len == report_provider_len;
    let group = "state";
    let max_epochs = CLAIM_EPOCHS.iter().max().copied().unwrap_or(1);
    for (id, name, len, target, note) in [
        (
            "provider",
            "per provider",
            provider_len,
            Some(Target::AtMost(128.0)),
            if constant {
                format!(
                    "same length fresh, after a report and after {max_epochs} epochs of work \
                     and claims"
                )
            } else {
                format!(
                    "length CHANGED: {fresh_provider_len} fresh, {report_provider_len}, \
                     {provider_len} after work"
                )
            },
        ),
        (
            "channel",
            "per channel (customer, provider)",
            channel_len,
            Some(Target::AtMost(96.0)),
            "a settled channel; constant (cumulative amount only)".to_string(),
        ),
        (
            "epoch",
            "per epoch",
            epoch_len,
            None,
            format!("epoch {epoch}, closed"),
        ),
    ] {
        let rent = b.rt.rent(len).await;
        b.row(
            &format!("state.{id}.bytes"),
            group,
            &format!("state {name}"),
            len as f64,
            "bytes",
            target,
            true,
            note,
        );
        if id == "provider" && !constant {
            if let Some(row) = b.rows.last_mut() {
                row.pass = Some(false);
            }
        }
        b.row(
            &format!("state.{id}.rent"),
            group,
            &format!("rent {name}"),
            rent as f64,
            "lamports",
            None,
            false,
            format!("{:.6} SOL at this runtime's Rent", rent as f64 / 1e9),
        );
    }
    Ok(())
}

/// The compute units gathered along the way, as rows.
fn compute_unit_rows(b: &mut Bench) {
    let label = if b.sbf { SBF_CU_LABEL } else { NATIVE_CU_LABEL };
    let targets = [
        ("buy_credits", 30_000.0),
        ("settle_usage (per receipt)", 15_000.0),
        ("claim_rewards", 25_000.0),
    ];
    let measured = std::mem::take(&mut b.compute_units);
    for (instruction, units, how) in measured {
        let target = targets
            .iter()
            .find(|(name, _)| *name == instruction)
            .map(|(_, bound)| Target::AtMost(*bound));
        let id = instruction
            .split_whitespace()
            .next()
            .unwrap_or(instruction)
            .to_string();
        b.row(
            &format!("cu.{id}"),
            "compute units",
            &format!("compute units, {instruction}"),
            units.round(),
            "CU",
            target,
            b.sbf,
            format!("{label}; {how}"),
        );
    }
}

/// Runs each piece of `work` once to warm up, then all of them in turn, `runs`
/// times; returns each one's durations. Every run of every piece must succeed on
/// all `items` (each returns how many it did).
fn time_interleaved<const N: usize>(
    runs: usize,
    items: usize,
    work: &mut [&mut dyn FnMut() -> usize; N],
) -> Result<[Vec<Duration>; N], ClientError> {
    let mut durations: [Vec<Duration>; N] = std::array::from_fn(|_| Vec::with_capacity(runs));
    for run in 0..=runs {
        for (piece, spent) in work.iter_mut().zip(durations.iter_mut()) {
            let started = Instant::now();
            let done = piece();
            let elapsed = started.elapsed();
            if done != items {
                return Err(failed(format!(
                    "a timed run handled {done} of {items} receipts"
                )));
            }
            // Run 0 is the warm-up.
            if run > 0 {
                spent.push(elapsed);
            }
        }
    }
    Ok(durations)
}

/// Median items per second over `durations`.
fn median_rate(items: usize, durations: &[Duration]) -> f64 {
    let mut rates: Vec<f64> = durations
        .iter()
        .map(|d| items as f64 / d.as_secs_f64().max(f64::MIN_POSITIVE))
        .collect();
    rates.sort_by(f64::total_cmp);
    match rates.len() {
        0 => 0.0,
        n if n % 2 == 1 => rates[n / 2],
        n => (rates[n / 2 - 1] + rates[n / 2]) / 2.0,
    }
}

/// Receipts verified per second by the receipt store and by raw ed25519-dalek, and
/// planned into transactions per second.
fn offchain(b: &mut Bench, options: BenchOptions) -> Result<(), ClientError> {
    let (count, runs) = options.timing_size();
    let customers: Vec<Keypair> = (0..50).map(|_| Keypair::new()).collect();
    let providers: Vec<Pubkey> = (0..count.div_ceil(customers.len()))
        .map(|_| Pubkey::new_unique())
        .collect();
    let receipts: Vec<SignedReceipt> = (0..count)
        .map(|i| {
            SignedReceipt::sign(
                &customers[i % customers.len()],
                &providers[i / customers.len()],
                1_000 + i as u64,
            )
        })
        .collect();

    // The store's verifying insert path: signature check, newest-per-channel, and one
    // atomic save of the batch, into a fresh store each run.
    let dir = std::env::temp_dir().join(format!("bme-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir).map_err(|e| ClientError::File {
        path: dir.display().to_string(),
        message: e.to_string(),
    })?;
    let path = dir.join("receipts.json");
    let mut store = || {
        let _ = std::fs::remove_file(&path);
        let batch = receipts.clone();
        ReceiptStore::open(&path)
            .and_then(|mut store| store.insert_all(batch))
            .map_or(0, |outcomes| outcomes.iter().filter(|o| o.is_ok()).count())
    };
    // The check the store makes per receipt, alone: the message is rebuilt (which
    // derives the channel address) and the signature verified.
    let mut verify = || {
        receipts
            .iter()
            .filter(|r| std::hint::black_box(*r).verify().is_ok())
            .count()
    };
    // Raw ed25519-dalek over the same keys, messages and signatures (strict
    // verification: what `Signature::verify` applies).
    let triples: Vec<([u8; 32], [u8; 44], [u8; 64])> = receipts
        .iter()
        .map(|r| (r.customer.to_bytes(), r.message(), r.signature.into()))
        .collect();
    let mut dalek = || {
        triples
            .iter()
            .filter(|(key, message, signature)| {
                ed25519_dalek::VerifyingKey::from_bytes(std::hint::black_box(key))
                    .and_then(|key| {
                        key.verify_strict(
                            std::hint::black_box(message),
                            &ed25519_dalek::Signature::from_bytes(signature),
                        )
                    })
                    .is_ok()
            })
            .count()
    };
    // The planner: checks, grouping and packing into v0 transactions.
    let context = SettlementContext {
        payer: b.payer(),
        protocol: b.network.protocol,
        credit_mint: b.network.credit_mint,
        epoch: 0,
    };
    let snapshot = customers.iter().fold(ChainSnapshot::default(), |s, c| {
        s.with_credits(c.pubkey(), u64::MAX / 2)
    });
    let mut transactions = 0;
    let mut plan = || {
        let plan = plan_settlements(&context, &receipts, &snapshot, &PlanOptions::v0());
        transactions = plan.batches.len();
        plan.receipts().count()
    };
    // What deriving one channel address costs (the store derives it per receipt
    // when checking the signature, and again to key the receipt).
    let mut channel_pda = || {
        receipts
            .iter()
            .filter(|r| std::hint::black_box(r.channel()) != Pubkey::default())
            .count()
    };

    // Interleaved, so a change in the machine's load hits every figure alike.
    let timings = time_interleaved(
        runs,
        count,
        &mut [
            &mut store,
            &mut verify,
            &mut dalek,
            &mut plan,
            &mut channel_pda,
        ],
    );
    let _ = std::fs::remove_dir_all(&dir);
    let [store_runs, verify_runs, dalek_runs, plan_runs, pda_runs] = timings?;
    let store_rate = median_rate(count, &store_runs);
    let verify_rate = median_rate(count, &verify_runs);
    let dalek_rate = median_rate(count, &dalek_runs);
    let plan_rate = median_rate(count, &plan_runs);
    let micros = |rate: f64| 1e6 / rate.max(f64::MIN_POSITIVE);
    let pda_micros = micros(median_rate(count, &pda_runs));
    let mut ratios: Vec<f64> = store_runs
        .iter()
        .zip(&dalek_runs)
        .map(|(store, dalek)| dalek.as_secs_f64() / store.as_secs_f64().max(f64::MIN_POSITIVE))
        .collect();
    ratios.sort_by(f64::total_cmp);
    let ratio = ratios.get(ratios.len() / 2).copied().unwrap_or(0.0);

    let how = format!(
        "median of {runs} runs of {} receipts after 1 warm-up",
        format_number(count as f64)
    );
    let group = "off-chain (this machine)";
    b.row(
        "offchain.store_verified_per_s",
        group,
        "receipts verified/s, receipt store (insert_all)",
        store_rate.round(),
        "receipts/s",
        None,
        false,
        format!(
            "{how}: signature check, newest per channel, one atomic save; {:.1} µs per \
             receipt, of which a channel PDA derivation is {pda_micros:.1} µs",
            micros(store_rate)
        ),
    );
    b.row(
        "offchain.receipt_verified_per_s",
        group,
        "receipts verified/s, SignedReceipt::verify alone",
        verify_rate.round(),
        "receipts/s",
        None,
        false,
        format!(
            "{how}: rebuilds the message (deriving the channel PDA) and checks the \
             signature; {:.1} µs per receipt",
            micros(verify_rate)
        ),
    );
    b.row(
        "offchain.dalek_verified_per_s",
        group,
        "receipts verified/s, raw ed25519-dalek 2",
        dalek_rate.round(),
        "receipts/s",
        None,
        false,
        format!(
            "{how}: VerifyingKey::from_bytes + verify_strict, same receipts; {:.1} µs per \
             receipt",
            micros(dalek_rate)
        ),
    );
    b.row(
        "offchain.store_vs_dalek",
        group,
        "receipt store ÷ raw ed25519-dalek",
        (ratio * 100.0).round() / 100.0,
        "ratio",
        Some(Target::AtLeast(0.8)),
        true,
        "median over the runs of store rate / raw rate, each pair timed back to back".into(),
    );
    b.row(
        "offchain.planned_per_s",
        group,
        "receipts planned into txs/s (plan_settlements, v0)",
        plan_rate.round(),
        "receipts/s",
        None,
        false,
        format!(
            "{how} over {} providers → {} transactions; includes each receipt's signature check",
            providers.len(),
            transactions
        ),
    );
    Ok(())
}

/// The wall time of one default `bme demo` lifecycle.
async fn demo_row(b: &mut Bench) -> Result<(), ClientError> {
    let options = DemoOptions::default();
    let started = Instant::now();
    let report = demo::run(options).await?;
    let wall = started.elapsed();
    if !report.invariants_ok {
        return Err(failed("the demo broke an invariant"));
    }
    b.row(
        "demo.wall_ms",
        "lifecycle",
        "wall time of one `bme demo` lifecycle",
        wall.as_millis() as f64,
        "ms",
        None,
        false,
        format!(
            "{} epochs, {} customers, {} providers: {} receipts in {} settle transactions, \
             invariants hold (program run natively)",
            options.epochs,
            options.customers,
            options.providers,
            report.receipts_settled,
            report.settle_transactions
        ),
    );
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn targets_and_numbers_read_naturally() {
        assert!(Target::AtLeast(6.0).holds(7.0));
        assert!(!Target::AtLeast(6.0).holds(5.0));
        assert!(Target::AtMost(128.0).holds(126.0));
        assert!(Target::Exactly(1.0).holds(1.0));
        assert!(!Target::Exactly(1.0).holds(2.0));
        assert_eq!(Target::AtMost(30_000.0).label(), "≤ 30,000");
        assert_eq!(format_number(1_234_567.0), "1,234,567");
        assert_eq!(format_number(0.8), "0.80");
        assert_eq!(format_number(12_345.6), "12,346");
    }

    #[test]
    fn medians_of_rates() {
        let runs = [
            Duration::from_millis(100),
            Duration::from_millis(300),
            Duration::from_millis(200),
        ];
        assert_eq!(median_rate(100, &runs), 500.0);
    }
}
