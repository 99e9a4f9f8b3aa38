//! The batch planner: packs signed usage receipts and oracle report entries into as
//! few transactions as possible, each within Solana's 1232-byte packet.
//!
//! Sizes are measured, not estimated: every candidate transaction is built with the
//! exact instructions that will be sent, compiled into a legacy or v0 message and
//! serialized with its (placeholder) signatures, the way an RPC client sends it.
//!
//! The planner never talks to a cluster. It takes a [`ChainSnapshot`] (what each
//! channel has settled and what each customer holds in credits) as plain input, and
//! leaves out, with a typed [`SkipReason`], every receipt the program would reject,
//! so one bad receipt never sinks a whole batch.
//!
//! # Lookup tables
//!
//! In [`TransactionFormat::V0`] mode the planner assumes that each transaction's
//! [`SettlementBatch::lookup_addresses`] sit in one address lookup table, and lists
//! them so the caller can create it (see [`SettlementPlan::lookup_tables`]); once the
//! table exists, [`TransactionFormat::V0WithTables`] measures against the real table.
//! Signers and invoked programs (the payer, the Ed25519 program, bme itself) can never
//! be looked up, so they are not listed.

use std::collections::{HashMap, HashSet};

use anchor_lang::prelude::Pubkey;
use bme::constants::REPORT_MESSAGE_LEN;
use solana_sdk::hash::Hash;
use solana_sdk::instruction::Instruction;
use solana_sdk::message::{v0, AddressLookupTableAccount, CompileError, Message, VersionedMessage};
use solana_sdk::signature::{Keypair, Signature, Signer};
use solana_sdk::transaction::{Transaction, VersionedTransaction};

use crate::receipt::SignedReceipt;
use crate::{ix, pda};

/// Largest serialized transaction a cluster accepts (`solana_packet::PACKET_DATA_SIZE`:
/// an IPv6 MTU of 1280 minus 48 bytes of headers).
pub const PACKET_DATA_SIZE: usize = 1232;

/// Most accounts one transaction may lock on mainnet today (128 once the
/// `increase_tx_account_lock_limit` feature is active).
pub const MAX_ACCOUNT_LOCKS: usize = 64;

/// Most addresses an address lookup table holds.
pub const MAX_LOOKUP_TABLE_ADDRESSES: usize = 256;

/// Key of the stand-in lookup table used to measure v0 transactions before the real
/// table exists (its value does not change the size).
const PLACEHOLDER_TABLE: Pubkey = Pubkey::new_from_array([0xA1; 32]);

/// Serialized size, signatures included, of a legacy transaction carrying
/// `instructions` paid by `payer`.
pub fn legacy_transaction_size(instructions: &[Instruction], payer: &Pubkey) -> usize {
    measure_legacy(instructions, payer).bytes
}

/// Serialized size, signatures included, of a v0 transaction carrying `instructions`
/// paid by `payer`, looking accounts up in `tables` where it can.
pub fn v0_transaction_size(
    instructions: &[Instruction],
    payer: &Pubkey,
    tables: &[AddressLookupTableAccount],
) -> Result<usize, CompileError> {
    Ok(measure_v0(instructions, payer, tables)?.bytes)
}

/// What a compiled transaction costs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Measure {
    /// Serialized bytes, signatures included.
    bytes: usize,
    /// Distinct accounts it locks (static keys plus looked-up ones).
    accounts: usize,
}

fn wire_size<T: serde::Serialize>(transaction: &T) -> usize {
    let size = bincode::serialized_size(transaction).unwrap_or(u64::MAX);
    usize::try_from(size).unwrap_or(usize::MAX)
}

fn measure_legacy(instructions: &[Instruction], payer: &Pubkey) -> Measure {
    let message = Message::new(instructions, Some(payer));
    let accounts = message.account_keys.len();
    // `new_unsigned` holds one placeholder per required signature: same size.
    let transaction = Transaction::new_unsigned(message);
    Measure {
        bytes: wire_size(&transaction),
        accounts,
    }
}

fn measure_v0(
    instructions: &[Instruction],
    payer: &Pubkey,
    tables: &[AddressLookupTableAccount],
) -> Result<Measure, CompileError> {
    let message = v0::Message::try_compile(payer, instructions, tables, Hash::default())?;
    let looked_up: usize = message
        .address_table_lookups
        .iter()
        .map(|l| l.writable_indexes.len() + l.readonly_indexes.len())
        .sum();
    let accounts = message.account_keys.len() + looked_up;
    let signatures =
        vec![Signature::default(); usize::from(message.header.num_required_signatures)];
    let transaction = VersionedTransaction {
        signatures,
        message: VersionedMessage::V0(message),
    };
    Ok(Measure {
        bytes: wire_size(&transaction),
        accounts,
    })
}

/// How planned transactions are encoded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TransactionFormat {
    /// Legacy transactions: every account key inline (32 bytes each).
    Legacy,
    /// v0 transactions, assuming each transaction's listed lookup addresses are in
    /// one address lookup table (1 byte per account instead of 32).
    V0,
    /// v0 transactions measured against these existing lookup tables; accounts not in
    /// them stay inline.
    V0WithTables(Vec<AddressLookupTableAccount>),
}

/// Limits and extras that apply to every planned transaction.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlanOptions {
    /// Legacy or v0.
    pub format: TransactionFormat,
    /// Largest serialized transaction, in bytes.
    pub max_transaction_size: usize,
    /// Most accounts a transaction may lock.
    pub max_accounts: usize,
    /// Instructions put in front of every transaction (e.g. compute-budget limits
    /// and priority fees); counted in the size. Their accounts are not listed for
    /// lookup tables.
    pub extra_instructions: Vec<Instruction>,
}

impl PlanOptions {
    /// Legacy transactions within [`PACKET_DATA_SIZE`] and [`MAX_ACCOUNT_LOCKS`].
    pub fn legacy() -> Self {
        Self::with_format(TransactionFormat::Legacy)
    }

    /// v0 transactions with lookup tables the planner lists, within
    /// [`PACKET_DATA_SIZE`] and [`MAX_ACCOUNT_LOCKS`].
    pub fn v0() -> Self {
        Self::with_format(TransactionFormat::V0)
    }

    /// v0 transactions against existing lookup tables.
    pub fn v0_with_tables(tables: Vec<AddressLookupTableAccount>) -> Self {
        Self::with_format(TransactionFormat::V0WithTables(tables))
    }

    fn with_format(format: TransactionFormat) -> Self {
        PlanOptions {
            format,
            max_transaction_size: PACKET_DATA_SIZE,
            max_accounts: MAX_ACCOUNT_LOCKS,
            extra_instructions: Vec::new(),
        }
    }

    /// Measures `instructions` (the extras already included) in this format, with
    /// `lookup_addresses` as the stand-in table in [`TransactionFormat::V0`] mode.
    fn measure(
        &self,
        instructions: &[Instruction],
        payer: &Pubkey,
        lookup_addresses: &[Pubkey],
    ) -> Measure {
        let measured = match &self.format {
            TransactionFormat::Legacy => Ok(measure_legacy(instructions, payer)),
            TransactionFormat::V0 => {
                let table = AddressLookupTableAccount {
                    key: PLACEHOLDER_TABLE,
                    addresses: lookup_addresses.to_vec(),
                };
                measure_v0(instructions, payer, &[table])
            }
            TransactionFormat::V0WithTables(tables) => measure_v0(instructions, payer, tables),
        };
        // A message that cannot compile (more than 256 accounts) fits nowhere.
        measured.unwrap_or(Measure {
            bytes: usize::MAX,
            accounts: usize::MAX,
        })
    }

    fn fits(&self, measure: Measure) -> bool {
        measure.bytes <= self.max_transaction_size && measure.accounts <= self.max_accounts
    }

    fn with_extras(&self, instructions: Vec<Instruction>) -> Vec<Instruction> {
        let mut all = self.extra_instructions.clone();
        all.extend(instructions);
        all
    }
}

/// What the chain says, as plain data: the input that lets the planner predict which
/// receipts the program would accept.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ChainSnapshot {
    /// Cumulative credits already settled, per channel address (absent: 0, the
    /// channel does not exist yet).
    pub settled: HashMap<Pubkey, u64>,
    /// Credit balance, per customer (absent: 0, no credit account).
    pub credits: HashMap<Pubkey, u64>,
}

impl ChainSnapshot {
    /// What `channel` has settled.
    pub fn settled(&self, channel: &Pubkey) -> u64 {
        self.settled.get(channel).copied().unwrap_or(0)
    }

    /// What `customer` holds in credits.
    pub fn credits(&self, customer: &Pubkey) -> u64 {
        self.credits.get(customer).copied().unwrap_or(0)
    }

    /// Records a channel's settled amount.
    pub fn with_settled(mut self, channel: Pubkey, settled: u64) -> Self {
        self.settled.insert(channel, settled);
        self
    }

    /// Records a customer's credit balance.
    pub fn with_credits(mut self, customer: Pubkey, credits: u64) -> Self {
        self.credits.insert(customer, credits);
        self
    }
}

/// Why a receipt was left out of a plan.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SkipReason {
    /// The signature does not verify for the customer and message.
    #[error("the customer's signature does not verify")]
    BadSignature,
    /// Another receipt of the same run, for the same channel, is at least as new.
    #[error("superseded by a receipt for {newer} credits on the same channel")]
    Superseded {
        /// The cumulative amount of the receipt kept instead.
        newer: u64,
    },
    /// The channel has already settled this much or more (`ReceiptNotNewer` on chain).
    #[error("not newer than the {settled} credits the channel has settled")]
    NotNewer {
        /// The channel's settled amount.
        settled: u64,
    },
    /// The customer's credits, after the earlier receipts of this run, do not cover
    /// it (`InsufficientCredits` on chain).
    #[error("needs {needed} credits, the customer has {available} left")]
    InsufficientCredits {
        /// Credits the receipt would burn.
        needed: u64,
        /// Credits left after the receipts planned before it.
        available: u64,
    },
    /// Not even a transaction with this receipt alone fits the limits.
    #[error("a transaction with this receipt alone does not fit ({bytes} bytes)")]
    TooLarge {
        /// The size of that transaction.
        bytes: usize,
    },
}

/// A receipt left out of a plan, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SkippedReceipt {
    /// The receipt.
    pub receipt: SignedReceipt,
    /// Why it was left out.
    pub reason: SkipReason,
}

/// Where receipts are settled: the parts of `settle_usage` shared by every batch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SettlementContext {
    /// Pays fees and rent for new channels.
    pub payer: Pubkey,
    /// The protocol.
    pub protocol: Pubkey,
    /// The protocol's credit mint.
    pub credit_mint: Pubkey,
    /// The current epoch.
    pub epoch: u64,
}

impl SettlementContext {
    /// Addresses of `settle_usage` that are the same for every receipt of a batch and
    /// can be looked up (signers and invoked programs cannot).
    pub fn fixed_lookup_addresses(&self, provider: &Pubkey) -> Vec<Pubkey> {
        vec![
            self.protocol,
            *provider,
            pda::epoch(&self.protocol, self.epoch),
            self.credit_mint,
            solana_sdk::sysvar::instructions::ID,
            ix::TOKEN_2022,
            ix::SYSTEM,
            pda::event_authority(),
        ]
    }

    /// Addresses one receipt adds: its channel and the customer's credit account.
    pub fn receipt_lookup_addresses(&self, receipt: &SignedReceipt) -> [Pubkey; 2] {
        [
            receipt.channel(),
            ix::associated_token(&receipt.customer, &self.credit_mint, &ix::TOKEN_2022),
        ]
    }

    fn lookup_addresses(&self, provider: &Pubkey, receipts: &[SignedReceipt]) -> Vec<Pubkey> {
        let mut addresses = self.fixed_lookup_addresses(provider);
        for receipt in receipts {
            addresses.extend(self.receipt_lookup_addresses(receipt));
        }
        addresses
    }
}

/// One planned `settle_usage` transaction.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SettlementBatch {
    /// The provider all its receipts pay.
    pub provider: Pubkey,
    /// The receipts, in settlement order.
    pub receipts: Vec<SignedReceipt>,
    /// Credits it burns (the sum of cumulative minus settled).
    pub credits: u64,
    /// The instructions to send: the extras, the Ed25519 instruction, `settle_usage`.
    pub instructions: Vec<Instruction>,
    /// Addresses worth looking up: the fixed accounts, then channel and credit
    /// account per receipt.
    pub lookup_addresses: Vec<Pubkey>,
    /// Serialized size, in bytes, as measured.
    pub size: usize,
    /// Accounts it locks.
    pub accounts: usize,
}

/// The outcome of [`plan_settlements`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SettlementPlan {
    /// The transactions, grouped by provider in order of first appearance.
    pub batches: Vec<SettlementBatch>,
    /// Receipts left out, with their reasons.
    pub skipped: Vec<SkippedReceipt>,
}

/// Addresses for one lookup table, and the batches that use it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LookupTablePlan {
    /// At most [`MAX_LOOKUP_TABLE_ADDRESSES`] distinct addresses.
    pub addresses: Vec<Pubkey>,
    /// Indexes into [`SettlementPlan::batches`] (or [`ReportPlan::batches`]).
    pub batches: Vec<usize>,
}

/// Groups batches' lookup addresses into tables, each batch wholly inside one table
/// (the size each batch was measured at).
fn group_lookup_tables<'a>(batches: impl Iterator<Item = &'a [Pubkey]>) -> Vec<LookupTablePlan> {
    let mut tables: Vec<(LookupTablePlan, HashSet<Pubkey>)> = Vec::new();
    for (index, addresses) in batches.enumerate() {
        let fits = |(_, set): &(LookupTablePlan, HashSet<Pubkey>)| {
            set.len() + addresses.iter().filter(|a| !set.contains(a)).count()
                <= MAX_LOOKUP_TABLE_ADDRESSES
        };
        if !tables.last().is_some_and(fits) {
            tables.push((
                LookupTablePlan {
                    addresses: Vec::new(),
                    batches: Vec::new(),
                },
                HashSet::new(),
            ));
        }
        if let Some((table, set)) = tables.last_mut() {
            for address in addresses {
                if set.insert(*address) {
                    table.addresses.push(*address);
                }
            }
            table.batches.push(index);
        }
    }
    tables.into_iter().map(|(table, _)| table).collect()
}

fn dedup(addresses: impl Iterator<Item = Pubkey>) -> Vec<Pubkey> {
    let mut seen = HashSet::new();
    addresses.filter(|a| seen.insert(*a)).collect()
}

impl SettlementPlan {
    /// Every address the batches would look up, without repeats, in first-use order.
    pub fn lookup_addresses(&self) -> Vec<Pubkey> {
        dedup(
            self.batches
                .iter()
                .flat_map(|b| b.lookup_addresses.iter().copied()),
        )
    }

    /// The lookup tables to create so every batch finds all its addresses in one
    /// table of at most [`MAX_LOOKUP_TABLE_ADDRESSES`] (one table when they all fit).
    pub fn lookup_tables(&self) -> Vec<LookupTablePlan> {
        group_lookup_tables(self.batches.iter().map(|b| b.lookup_addresses.as_slice()))
    }

    /// Every receipt the plan settles.
    pub fn receipts(&self) -> impl Iterator<Item = &SignedReceipt> {
        self.batches.iter().flat_map(|b| b.receipts.iter())
    }

    /// Credits the plan burns in total.
    pub fn credits(&self) -> u64 {
        self.batches.iter().map(|b| b.credits).sum()
    }
}

/// A receipt that passed the checks, with what it burns.
struct Accepted {
    receipt: SignedReceipt,
    credits: u64,
}

/// Plans the settlement of `receipts`: checks each against `snapshot` the way the
/// program will, groups the rest by provider, and packs as many per transaction as
/// fit `options` (measured by serializing each candidate transaction).
///
/// Receipts are judged in the order given: when a customer's credits cannot cover
/// all of its receipts, the earlier ones win. Of several receipts for one channel
/// only the highest is kept.
///
/// ```
/// use bme_client::planner::{plan_settlements, ChainSnapshot, PlanOptions, SettlementContext, SkipReason};
/// use bme_client::receipt::SignedReceipt;
/// use solana_sdk::pubkey::Pubkey;
/// use solana_sdk::signature::{Keypair, Signer};
///
/// let context = SettlementContext {
///     payer: Pubkey::new_unique(),
///     protocol: Pubkey::new_unique(),
///     credit_mint: Pubkey::new_unique(),
///     epoch: 0,
/// };
/// let provider = Pubkey::new_unique();
/// let customers: Vec<Keypair> = (0..10).map(|_| Keypair::new()).collect();
/// let mut receipts: Vec<SignedReceipt> = customers
///     .iter()
///     .map(|c| SignedReceipt::sign(c, &provider, 1_000))
///     .collect();
/// // A customer who cannot pay.
/// let broke = Keypair::new();
/// receipts.push(SignedReceipt::sign(&broke, &provider, 1_000));
/// let snapshot = customers
///     .iter()
///     .fold(ChainSnapshot::default(), |s, c| s.with_credits(c.pubkey(), 5_000));
///
/// let plan = plan_settlements(&context, &receipts, &snapshot, &PlanOptions::v0());
/// assert_eq!(plan.receipts().count(), 10);
/// assert_eq!(plan.credits(), 10_000);
/// assert!(plan.batches.iter().all(|b| b.size <= 1232));
/// assert_eq!(plan.batches[0].receipts.len(), 6); // and 4 in the second
/// assert_eq!(
///     plan.skipped[0].reason,
///     SkipReason::InsufficientCredits { needed: 1_000, available: 0 }
/// );
/// // Put these in a lookup table, then send each batch's instructions as v0.
/// assert!(plan.lookup_addresses().len() <= 256);
/// ```
pub fn plan_settlements(
    context: &SettlementContext,
    receipts: &[SignedReceipt],
    snapshot: &ChainSnapshot,
    options: &PlanOptions,
) -> SettlementPlan {
    let mut skipped = Vec::new();
    let mut skip = |receipt: &SignedReceipt, reason| {
        skipped.push(SkippedReceipt {
            receipt: receipt.clone(),
            reason,
        })
    };

    // The newest receipt per channel, among those whose signature verifies.
    let mut newest: HashMap<Pubkey, u64> = HashMap::new();
    let mut verified = Vec::with_capacity(receipts.len());
    for receipt in receipts {
        if receipt.verify().is_err() {
            skip(receipt, SkipReason::BadSignature);
            continue;
        }
        let best = newest.entry(receipt.channel()).or_insert(0);
        *best = (*best).max(receipt.cumulative);
        verified.push(receipt);
    }

    let mut kept_channels: HashSet<Pubkey> = HashSet::new();
    let mut credits_left: HashMap<Pubkey, u64> = HashMap::new();
    let mut accepted: Vec<Accepted> = Vec::with_capacity(verified.len());
    for receipt in verified {
        let channel = receipt.channel();
        let newest = newest.get(&channel).copied().unwrap_or(0);
        // Keep the first receipt carrying the channel's highest amount.
        if receipt.cumulative < newest || !kept_channels.insert(channel) {
            skip(receipt, SkipReason::Superseded { newer: newest });
            continue;
        }
        let settled = snapshot.settled(&channel);
        if receipt.cumulative <= settled {
            skip(receipt, SkipReason::NotNewer { settled });
            continue;
        }
        let needed = receipt.cumulative - settled;
        let available = credits_left
            .entry(receipt.customer)
            .or_insert_with(|| snapshot.credits(&receipt.customer));
        if needed > *available {
            skip(
                receipt,
                SkipReason::InsufficientCredits {
                    needed,
                    available: *available,
                },
            );
            continue;
        }
        *available -= needed;
        accepted.push(Accepted {
            receipt: receipt.clone(),
            credits: needed,
        });
    }

    // Group by provider, in order of first appearance.
    let mut providers: Vec<Pubkey> = Vec::new();
    let mut groups: HashMap<Pubkey, Vec<Accepted>> = HashMap::new();
    for item in accepted {
        let provider = item.receipt.provider;
        if !groups.contains_key(&provider) {
            providers.push(provider);
        }
        groups.entry(provider).or_default().push(item);
    }

    let build = |provider: &Pubkey, items: &[Accepted]| -> SettlementBatch {
        let receipts: Vec<SignedReceipt> = items.iter().map(|i| i.receipt.clone()).collect();
        let instructions = options.with_extras(ix::settle_receipts(
            context.payer,
            context.protocol,
            context.credit_mint,
            context.epoch,
            &receipts,
        ));
        let lookup_addresses = context.lookup_addresses(provider, &receipts);
        let measure = options.measure(&instructions, &context.payer, &lookup_addresses);
        SettlementBatch {
            provider: *provider,
            credits: items.iter().map(|i| i.credits).sum(),
            receipts,
            instructions,
            lookup_addresses,
            size: measure.bytes,
            accounts: measure.accounts,
        }
    };

    let mut batches = Vec::new();
    for provider in providers {
        let items = groups.remove(&provider).unwrap_or_default();
        let mut start = 0;
        while start < items.len() {
            let mut best = build(&provider, &items[start..=start]);
            if !options.fits(Measure {
                bytes: best.size,
                accounts: best.accounts,
            }) {
                skip(
                    &items[start].receipt,
                    SkipReason::TooLarge { bytes: best.size },
                );
                start += 1;
                continue;
            }
            let mut end = start + 1;
            while end < items.len() {
                let candidate = build(&provider, &items[start..=end]);
                if !options.fits(Measure {
                    bytes: candidate.size,
                    accounts: candidate.accounts,
                }) {
                    break;
                }
                best = candidate;
                end += 1;
            }
            batches.push(best);
            start = end;
        }
    }
    SettlementPlan { batches, skipped }
}

/// Where a contribution report goes: the parts every report transaction shares.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReportContext {
    /// Pays fees (and the epoch account if needed).
    pub payer: Pubkey,
    /// The protocol.
    pub protocol: Pubkey,
    /// The epoch credited.
    pub epoch: u64,
    /// Sequence number of the first report; each further report takes the next one.
    /// Must exceed the oracle set's last accepted sequence.
    pub first_sequence: u64,
    /// The oracles that will sign every report (at least the threshold).
    pub oracles: Vec<Pubkey>,
}

impl ReportContext {
    /// Addresses of `submit_contribution_report` shared by every report that can be
    /// looked up.
    pub fn fixed_lookup_addresses(&self) -> Vec<Pubkey> {
        vec![
            self.protocol,
            pda::oracle_set(&self.protocol),
            pda::epoch(&self.protocol, self.epoch),
            solana_sdk::sysvar::instructions::ID,
            ix::SYSTEM,
            pda::event_authority(),
        ]
    }
}

/// Why a report entry was left out.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ReportSkipReason {
    /// Zero units (the program refuses them).
    #[error("zero units")]
    ZeroUnits,
    /// Adding it to the provider's earlier entry of this run overflows a u64.
    #[error("units overflow when merged with the provider's earlier entry")]
    UnitsOverflow,
    /// Not even a report with this entry alone fits the limits.
    #[error("a report with this entry alone does not fit ({bytes} bytes)")]
    TooLarge {
        /// The size of that transaction.
        bytes: usize,
    },
}

/// A report entry left out, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SkippedEntry {
    /// The provider account.
    pub provider: Pubkey,
    /// Its units.
    pub units: u64,
    /// Why it was left out.
    pub reason: ReportSkipReason,
}

/// One planned `submit_contribution_report` transaction, waiting for the oracles'
/// signatures of [`ReportBatch::message`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReportBatch {
    /// Its sequence number.
    pub sequence: u64,
    /// `(provider account, units)`, in report order.
    pub entries: Vec<(Pubkey, u64)>,
    /// The exact bytes every oracle signs.
    pub message: [u8; REPORT_MESSAGE_LEN],
    /// Addresses worth looking up: the fixed accounts, then one per provider.
    pub lookup_addresses: Vec<Pubkey>,
    /// Serialized size, in bytes, as measured (signatures have a fixed size).
    pub size: usize,
    /// Accounts it locks.
    pub accounts: usize,
    payer: Pubkey,
    protocol: Pubkey,
    epoch: u64,
    extra_instructions: Vec<Instruction>,
}

impl ReportBatch {
    /// The transaction's instructions, carrying `signatures` of
    /// [`ReportBatch::message`] as `(oracle, signature)`.
    pub fn instructions(&self, signatures: &[(Pubkey, Signature)]) -> Vec<Instruction> {
        let signed: Vec<(Pubkey, Signature, &[u8])> = signatures
            .iter()
            .map(|(oracle, signature)| (*oracle, *signature, self.message.as_slice()))
            .collect();
        let providers: Vec<Pubkey> = self.entries.iter().map(|(p, _)| *p).collect();
        let mut instructions = self.extra_instructions.clone();
        instructions.push(crate::receipt::ed25519_instruction(&signed));
        instructions.push(ix::submit_contribution_report(
            ix::ReportAccounts {
                payer: self.payer,
                protocol: self.protocol,
            },
            &providers,
            bme::instructions::SubmitContributionReportArgs {
                epoch: self.epoch,
                sequence: self.sequence,
                units: self.entries.iter().map(|(_, u)| *u).collect(),
            },
        ));
        instructions
    }

    /// Signs with oracle keypairs held locally and returns the instructions.
    pub fn sign(&self, oracles: &[&Keypair]) -> Vec<Instruction> {
        let signatures: Vec<(Pubkey, Signature)> = oracles
            .iter()
            .map(|k| (k.pubkey(), k.sign_message(&self.message)))
            .collect();
        self.instructions(&signatures)
    }
}

/// The outcome of [`plan_reports`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReportPlan {
    /// The report transactions, with consecutive sequence numbers.
    pub batches: Vec<ReportBatch>,
    /// Entries left out, with their reasons.
    pub skipped: Vec<SkippedEntry>,
}

impl ReportPlan {
    /// Every address the reports would look up, without repeats.
    pub fn lookup_addresses(&self) -> Vec<Pubkey> {
        dedup(
            self.batches
                .iter()
                .flat_map(|b| b.lookup_addresses.iter().copied()),
        )
    }

    /// The lookup tables to create so every report finds its addresses in one table.
    pub fn lookup_tables(&self) -> Vec<LookupTablePlan> {
        group_lookup_tables(self.batches.iter().map(|b| b.lookup_addresses.as_slice()))
    }
}

fn report_batch(
    context: &ReportContext,
    options: &PlanOptions,
    sequence: u64,
    entries: &[(Pubkey, u64)],
) -> ReportBatch {
    let providers: Vec<Pubkey> = entries.iter().map(|(p, _)| *p).collect();
    let units: Vec<u64> = entries.iter().map(|(_, u)| *u).collect();
    let message = bme::instructions::report_message(
        &pda::oracle_set(&context.protocol),
        context.epoch,
        sequence,
        &bme::instructions::entries_hash(&providers, &units),
    );
    let mut lookup_addresses = context.fixed_lookup_addresses();
    lookup_addresses.extend(dedup(providers.iter().copied()));
    let mut batch = ReportBatch {
        sequence,
        entries: entries.to_vec(),
        message,
        lookup_addresses,
        size: 0,
        accounts: 0,
        payer: context.payer,
        protocol: context.protocol,
        epoch: context.epoch,
        extra_instructions: options.extra_instructions.clone(),
    };
    // Placeholder signatures: an Ed25519 signature is 64 bytes whatever it signs.
    let placeholders: Vec<(Pubkey, Signature)> = context
        .oracles
        .iter()
        .map(|o| (*o, Signature::default()))
        .collect();
    let measure = options.measure(
        &batch.instructions(&placeholders),
        &context.payer,
        &batch.lookup_addresses,
    );
    batch.size = measure.bytes;
    batch.accounts = measure.accounts;
    batch
}

/// Plans contribution reports for `entries` (`(provider account, units)`): merges a
/// provider's repeated entries, leaves out zero units, and packs as many entries per
/// report transaction as fit `options` with the signatures of `context.oracles`.
pub fn plan_reports(
    context: &ReportContext,
    entries: &[(Pubkey, u64)],
    options: &PlanOptions,
) -> ReportPlan {
    let mut skipped = Vec::new();
    let mut merged: Vec<(Pubkey, u64)> = Vec::new();
    let mut position: HashMap<Pubkey, usize> = HashMap::new();
    for (provider, units) in entries {
        if *units == 0 {
            skipped.push(SkippedEntry {
                provider: *provider,
                units: *units,
                reason: ReportSkipReason::ZeroUnits,
            });
            continue;
        }
        match position.get(provider) {
            Some(&at) => match merged[at].1.checked_add(*units) {
                Some(total) => merged[at].1 = total,
                None => skipped.push(SkippedEntry {
                    provider: *provider,
                    units: *units,
                    reason: ReportSkipReason::UnitsOverflow,
                }),
            },
            None => {
                position.insert(*provider, merged.len());
                merged.push((*provider, *units));
            }
        }
    }

    let fits = |batch: &ReportBatch| {
        options.fits(Measure {
            bytes: batch.size,
            accounts: batch.accounts,
        })
    };
    let mut batches: Vec<ReportBatch> = Vec::new();
    let mut start = 0;
    while start < merged.len() {
        let sequence = context.first_sequence + batches.len() as u64;
        let mut best = report_batch(context, options, sequence, &merged[start..=start]);
        if !fits(&best) {
            let (provider, units) = merged[start];
            skipped.push(SkippedEntry {
                provider,
                units,
                reason: ReportSkipReason::TooLarge { bytes: best.size },
            });
            start += 1;
            continue;
        }
        let mut end = start + 1;
        while end < merged.len() {
            let candidate = report_batch(context, options, sequence, &merged[start..=end]);
            if !fits(&candidate) {
                break;
            }
            best = candidate;
            end += 1;
        }
        batches.push(best);
        start = end;
    }
    ReportPlan { batches, skipped }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn context() -> SettlementContext {
        SettlementContext {
            payer: Pubkey::new_unique(),
            protocol: Pubkey::new_unique(),
            credit_mint: Pubkey::new_unique(),
            epoch: 3,
        }
    }

    fn funded(customers: &[Keypair], credits: u64) -> ChainSnapshot {
        customers.iter().fold(ChainSnapshot::default(), |s, c| {
            s.with_credits(c.pubkey(), credits)
        })
    }

    #[test]
    fn size_helpers_match_a_signed_transaction() {
        let payer = Keypair::new();
        let customer = Keypair::new();
        let receipt = SignedReceipt::sign(&customer, &Pubkey::new_unique(), 10);
        let c = context();
        let instructions = ix::settle_receipts(
            payer.pubkey(),
            c.protocol,
            c.credit_mint,
            c.epoch,
            &[receipt],
        );
        let signed = Transaction::new_signed_with_payer(
            &instructions,
            Some(&payer.pubkey()),
            &[&payer],
            Hash::new_unique(),
        );
        assert_eq!(
            legacy_transaction_size(&instructions, &payer.pubkey()),
            bincode::serialize(&signed).unwrap().len()
        );
        let table = AddressLookupTableAccount {
            key: Pubkey::new_unique(),
            addresses: c.lookup_addresses(&Pubkey::new_unique(), &[]),
        };
        let message = v0::Message::try_compile(
            &payer.pubkey(),
            &instructions,
            std::slice::from_ref(&table),
            Hash::new_unique(),
        )
        .unwrap();
        let signed =
            VersionedTransaction::try_new(VersionedMessage::V0(message), &[&payer]).unwrap();
        assert_eq!(
            v0_transaction_size(&instructions, &payer.pubkey(), &[table]).unwrap(),
            bincode::serialize(&signed).unwrap().len()
        );
    }

    #[test]
    fn packs_full_transactions_and_no_more() {
        let c = context();
        let provider = Pubkey::new_unique();
        let customers: Vec<Keypair> = (0..20).map(|_| Keypair::new()).collect();
        let receipts: Vec<SignedReceipt> = customers
            .iter()
            .map(|k| SignedReceipt::sign(k, &provider, 7))
            .collect();
        let snapshot = funded(&customers, 100);
        for options in [PlanOptions::legacy(), PlanOptions::v0()] {
            let plan = plan_settlements(&c, &receipts, &snapshot, &options);
            assert!(plan.skipped.is_empty());
            assert_eq!(plan.receipts().count(), 20);
            assert_eq!(plan.credits(), 140);
            let full = plan.batches[0].receipts.len();
            for batch in &plan.batches {
                assert!(batch.size <= PACKET_DATA_SIZE, "{} bytes", batch.size);
                assert!(batch.receipts.len() <= full);
            }
            // One more receipt would not have fitted.
            let one_more: Vec<SignedReceipt> = receipts[..=full].to_vec();
            let instructions =
                ix::settle_receipts(c.payer, c.protocol, c.credit_mint, c.epoch, &one_more);
            let lookups = c.lookup_addresses(&provider, &one_more);
            assert!(options.measure(&instructions, &c.payer, &lookups).bytes > PACKET_DATA_SIZE);
        }
        let v0 = plan_settlements(&c, &receipts, &snapshot, &PlanOptions::v0());
        let legacy = plan_settlements(&c, &receipts, &snapshot, &PlanOptions::legacy());
        assert!(v0.batches[0].receipts.len() >= 6);
        assert!(v0.batches[0].receipts.len() > legacy.batches[0].receipts.len());
    }

    #[test]
    fn leaves_out_what_the_program_would_reject() {
        let c = context();
        let provider = Pubkey::new_unique();
        let other_provider = Pubkey::new_unique();
        let alice = Keypair::new();
        let bob = Keypair::new();
        let carol = Keypair::new();
        let stale = SignedReceipt::sign(&alice, &provider, 50);
        let mut forged = SignedReceipt::sign(&Keypair::new(), &provider, 10);
        forged.customer = bob.pubkey();
        let bob_first = SignedReceipt::sign(&bob, &provider, 60);
        let bob_second = SignedReceipt::sign(&bob, &other_provider, 60);
        let carol_old = SignedReceipt::sign(&carol, &provider, 5);
        let carol_new = SignedReceipt::sign(&carol, &provider, 9);
        let snapshot = funded(&[alice, bob, carol], 100)
            .with_settled(stale.channel(), 50)
            .with_settled(carol_new.channel(), 4);
        let receipts = vec![
            stale.clone(),
            forged.clone(),
            bob_first.clone(),
            bob_second.clone(),
            carol_old.clone(),
            carol_new.clone(),
        ];
        let plan = plan_settlements(&c, &receipts, &snapshot, &PlanOptions::v0());
        let reasons: Vec<(SignedReceipt, SkipReason)> = plan
            .skipped
            .iter()
            .map(|s| (s.receipt.clone(), s.reason.clone()))
            .collect();
        assert_eq!(
            reasons,
            vec![
                (forged, SkipReason::BadSignature),
                (stale, SkipReason::NotNewer { settled: 50 }),
                (
                    bob_second,
                    SkipReason::InsufficientCredits {
                        needed: 60,
                        available: 40
                    }
                ),
                (carol_old, SkipReason::Superseded { newer: 9 }),
            ]
        );
        let settled: Vec<&SignedReceipt> = plan.receipts().collect();
        assert_eq!(settled, vec![&bob_first, &carol_new]);
        assert_eq!(plan.credits(), 60 + 5);
        assert_eq!(plan.batches.len(), 1);
    }

    #[test]
    fn batches_never_mix_providers_and_tables_hold_each_batch() {
        let c = context();
        let providers: Vec<Pubkey> = (0..3).map(|_| Pubkey::new_unique()).collect();
        let customers: Vec<Keypair> = (0..150).map(|_| Keypair::new()).collect();
        let receipts: Vec<SignedReceipt> = customers
            .iter()
            .enumerate()
            .map(|(i, k)| SignedReceipt::sign(k, &providers[i % 3], 1))
            .collect();
        let plan = plan_settlements(&c, &receipts, &funded(&customers, 1), &PlanOptions::v0());
        assert_eq!(plan.receipts().count(), 150);
        for batch in &plan.batches {
            assert!(batch.receipts.iter().all(|r| r.provider == batch.provider));
        }
        let tables = plan.lookup_tables();
        assert!(
            tables.len() > 1,
            "300 channel addresses need several tables"
        );
        let mut covered = Vec::new();
        for table in &tables {
            assert!(table.addresses.len() <= MAX_LOOKUP_TABLE_ADDRESSES);
            for &index in &table.batches {
                let batch = &plan.batches[index];
                assert!(batch
                    .lookup_addresses
                    .iter()
                    .all(|a| table.addresses.contains(a)));
                covered.push(index);
            }
        }
        covered.sort_unstable();
        assert_eq!(covered, (0..plan.batches.len()).collect::<Vec<_>>());
    }

    #[test]
    fn extra_instructions_take_their_bytes() {
        let c = context();
        let provider = Pubkey::new_unique();
        let customers: Vec<Keypair> = (0..12).map(|_| Keypair::new()).collect();
        let receipts: Vec<SignedReceipt> = customers
            .iter()
            .map(|k| SignedReceipt::sign(k, &provider, 1))
            .collect();
        let snapshot = funded(&customers, 1);
        let plain = plan_settlements(&c, &receipts, &snapshot, &PlanOptions::v0());
        let mut options = PlanOptions::v0();
        options.extra_instructions = vec![Instruction {
            program_id: Pubkey::new_unique(),
            accounts: vec![],
            data: vec![0; 200],
        }];
        let padded = plan_settlements(&c, &receipts, &snapshot, &options);
        assert!(padded.batches[0].receipts.len() < plain.batches[0].receipts.len());
        assert_eq!(padded.batches[0].instructions.len(), 3);
        // With no room left at all, every receipt is refused as too large.
        options.extra_instructions[0].data = vec![0; 1_000];
        let none = plan_settlements(&c, &receipts, &snapshot, &options);
        assert!(none.batches.is_empty());
        assert!(none
            .skipped
            .iter()
            .all(|s| matches!(s.reason, SkipReason::TooLarge { .. })));
        assert_eq!(none.skipped.len(), 12);
    }

    #[test]
    fn reports_merge_repeats_drop_zeros_and_fill_transactions() {
        let context = ReportContext {
            payer: Pubkey::new_unique(),
            protocol: Pubkey::new_unique(),
            epoch: 0,
            first_sequence: 5,
            oracles: vec![Pubkey::new_unique(), Pubkey::new_unique()],
        };
        let providers: Vec<Pubkey> = (0..120).map(|_| Pubkey::new_unique()).collect();
        let mut entries: Vec<(Pubkey, u64)> = providers.iter().map(|p| (*p, 10)).collect();
        entries.push((providers[0], 5));
        entries.push((providers[1], 0));
        entries.push((providers[2], u64::MAX));
        let plan = plan_reports(&context, &entries, &PlanOptions::v0());
        assert_eq!(
            plan.skipped
                .iter()
                .map(|s| s.reason.clone())
                .collect::<Vec<_>>(),
            vec![ReportSkipReason::ZeroUnits, ReportSkipReason::UnitsOverflow]
        );
        let planned: Vec<(Pubkey, u64)> = plan
            .batches
            .iter()
            .flat_map(|b| b.entries.iter().copied())
            .collect();
        assert_eq!(planned.len(), 120);
        assert_eq!(planned[0], (providers[0], 15));
        for (i, batch) in plan.batches.iter().enumerate() {
            assert_eq!(batch.sequence, 5 + i as u64);
            assert!(batch.size <= PACKET_DATA_SIZE);
            assert!(batch.accounts <= MAX_ACCOUNT_LOCKS);
        }
        assert!(plan.batches[0].entries.len() >= 25);
    }
}
