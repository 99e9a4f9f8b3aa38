//! `bme usage submit`: settle customers' receipts in as few transactions as fit.
//!
//! Receipts are read from a newline-delimited JSON file (what `bme receipt sign`
//! writes), verified off chain, reduced to the newest per channel, checked against the
//! chain (settled amounts, credit balances), packed into transactions by the planner,
//! and sent one batch at a time. Receipts that would fail are reported with the reason
//! and never sent. With `--store`, receipts also go through the operator's receipt
//! store, so nothing is lost across restarts or failed batches.

use std::collections::hash_map::Entry;
use std::path::PathBuf;

use anchor_lang::prelude::Pubkey;
use bme::state::Channel;
use bme_client::planner::{plan_settlements, ChainSnapshot, PlanOptions, SettlementContext};
use bme_client::receipt::SignedReceipt;
use bme_client::store::ReceiptStore;
use bme_client::transport::{self, Transport};
use bme_client::{ix, ClientError};
use clap::{Args, Subcommand};
use indicatif::{ProgressBar, ProgressStyle};
use serde::Serialize;

use super::chain::Chain;
use super::{output, GlobalOptions};

/// Usage commands.
#[derive(Debug, Subcommand)]
pub enum UsageCommand {
    /// Settle the receipts of a newline-delimited JSON file.
    Submit(SubmitArgs),
}

/// Arguments of `bme usage submit`.
#[derive(Debug, Args)]
pub struct SubmitArgs {
    /// The receipts file (one JSON receipt per line).
    pub receipts: PathBuf,
    /// Keep receipts in this store file too (newest per channel; settled marks persist).
    #[arg(long)]
    pub store: Option<PathBuf>,
    /// Never use v0 transactions and lookup tables.
    #[arg(long)]
    pub legacy: bool,
}

/// One receipt left out.
#[derive(Debug, Serialize)]
pub struct Skipped {
    /// The channel.
    pub channel: String,
    /// The customer.
    pub customer: String,
    /// Its cumulative amount.
    pub cumulative: u64,
    /// Why.
    pub reason: String,
}

/// What a submission did.
#[derive(Debug, Serialize)]
pub struct SubmitOutput {
    /// Receipts settled.
    pub settled: usize,
    /// Credits burned by them.
    pub credits: u64,
    /// Settlement transactions sent.
    pub transactions: usize,
    /// Whether they were v0 transactions over address lookup tables.
    pub v0: bool,
    /// Receipts left out, with reasons.
    pub skipped: Vec<Skipped>,
}

fn read_receipts(path: &PathBuf) -> Result<Vec<SignedReceipt>, ClientError> {
    let text = std::fs::read_to_string(path).map_err(|e| ClientError::File {
        path: path.display().to_string(),
        message: e.to_string(),
    })?;
    text.lines()
        .enumerate()
        .filter(|(_, line)| !line.trim().is_empty())
        .map(|(i, line)| {
            serde_json::from_str(line).map_err(|e| ClientError::File {
                path: path.display().to_string(),
                message: format!("line {}: not a receipt ({e})", i + 1),
            })
        })
        .collect()
}

/// Runs a usage command.
pub async fn run(
    command: UsageCommand,
    global: &GlobalOptions,
    chain: &mut Chain,
) -> Result<String, ClientError> {
    let UsageCommand::Submit(args) = command;
    let mut receipts = read_receipts(&args.receipts)?;
    let mut store = match &args.store {
        Some(path) => {
            let mut store = ReceiptStore::open(path)?;
            let _ = store.insert_all(receipts.iter().cloned());
            receipts = store.pending();
            Some(store)
        }
        None => None,
    };
    let (protocol_address, protocol) = chain.protocol(global).await?;
    let now = chain.unix_time().await?;
    let epoch = protocol
        .epoch_at(now)
        .map_err(|_| ClientError::Input("the protocol's genesis has not been reached".into()))?;

    // What the chain says about every channel and customer involved.
    let mut snapshot = ChainSnapshot::default();
    for receipt in &receipts {
        let channel = receipt.channel();
        if let Entry::Vacant(slot) = snapshot.settled.entry(channel) {
            let settled = match transport::read::<Channel>(chain, &channel).await {
                Ok(c) => c.settled,
                Err(ClientError::AccountNotFound(_)) => 0,
                Err(e) => return Err(e),
            };
            slot.insert(settled);
        }
        if let Entry::Vacant(slot) = snapshot.credits.entry(receipt.customer) {
            let account =
                ix::associated_token(&receipt.customer, &protocol.credit_mint, &ix::TOKEN_2022);
            slot.insert(token_amount(chain, &account).await?);
        }
    }
    let context = SettlementContext {
        payer: chain.payer(),
        protocol: protocol_address,
        credit_mint: protocol.credit_mint,
        epoch,
    };
    // v0 transactions over a lookup table carry twice the receipts of legacy ones;
    // the table costs a few transactions of its own, so it is used when it saves some.
    let legacy = plan_settlements(&context, &receipts, &snapshot, &PlanOptions::legacy());
    let v0 = plan_settlements(&context, &receipts, &snapshot, &PlanOptions::v0());
    let table_transactions = v0.lookup_tables().len() * 2 + 1;
    let use_v0 = !args.legacy && v0.batches.len() + table_transactions < legacy.batches.len();
    let plan = if use_v0 { v0 } else { legacy };
    let mut tables = std::collections::HashMap::new();
    if use_v0 {
        for planned in plan.lookup_tables() {
            let table = chain.create_lookup_table(&planned.addresses).await?;
            for index in planned.batches {
                tables.insert(index, table.clone());
            }
        }
    }
    let progress = if global.json {
        ProgressBar::hidden()
    } else {
        ProgressBar::new(plan.batches.len() as u64)
    };
    progress.set_style(
        ProgressStyle::with_template("{bar:30} {pos}/{len} transactions {msg}")
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    let mut settled = 0;
    let mut credits = 0;
    for (index, batch) in plan.batches.iter().enumerate() {
        match tables.get(&index) {
            Some(table) => {
                chain
                    .send_versioned(&batch.instructions, &[], std::slice::from_ref(table))
                    .await?
            }
            None => chain.send(&batch.instructions, &[]).await?,
        };
        settled += batch.receipts.len();
        credits += batch.credits;
        if let Some(store) = store.as_mut() {
            for receipt in &batch.receipts {
                store.record_settled(&receipt.channel(), receipt.cumulative)?;
            }
        }
        progress.inc(1);
    }
    progress.finish_and_clear();
    let result = SubmitOutput {
        settled,
        credits,
        transactions: plan.batches.len(),
        v0: use_v0,
        skipped: plan
            .skipped
            .iter()
            .map(|s| Skipped {
                channel: s.receipt.channel().to_string(),
                customer: s.receipt.customer.to_string(),
                cumulative: s.receipt.cumulative,
                reason: s.reason.to_string(),
            })
            .collect(),
    };
    output(global.json, &result, |r| {
        let mut out = format!(
            "settled {} receipts ({} credits) in {} {} transactions; skipped {}\n",
            r.settled,
            r.credits,
            r.transactions,
            if r.v0 { "v0" } else { "legacy" },
            r.skipped.len()
        );
        for s in &r.skipped {
            out += &format!(
                "  skipped {} for {}: {}\n",
                s.cumulative, s.customer, s.reason
            );
        }
        out
    })
}

async fn token_amount(chain: &mut Chain, account: &Pubkey) -> Result<u64, ClientError> {
    match chain.account(account).await? {
        None => Ok(0),
        Some(data) => {
            <anchor_spl::token_interface::TokenAccount as anchor_lang::AccountDeserialize>::try_deserialize(
                &mut data.data.as_slice(),
            )
            .map(|t| t.amount)
            .map_err(|e| ClientError::Decode(*account, e.to_string()))
        }
    }
}
