//! `bme demo`: a full burn-and-mint lifecycle on the embedded runtime — genesis over
//! an existing token, customers buying credits at a Pyth price, providers settling
//! signed receipts in batches, an oracle contribution report, epochs closing with
//! emissions, and providers claiming — followed by a check of the protocol's
//! invariants against what the demo did.

use std::collections::HashMap;
use std::time::Instant;

use anchor_lang::prelude::Pubkey;
use bme::instructions::Purchase;
use bme::state::{Channel, Epoch, Protocol};
use serde::Serialize;
use solana_sdk::signature::{Keypair, Signer};

use crate::error::ClientError;
use crate::planner::{plan_settlements, PlanOptions, SettlementContext};
use crate::receipt::SignedReceipt;
use crate::runtime::network::{self, Network, GRACE, TOKEN};
use crate::runtime::{pyth_price_account, LocalRuntime, PythPrice};
use crate::{ix, pda};

/// Sizes of the demo.
#[derive(Debug, Clone, Copy)]
pub struct DemoOptions {
    /// Epochs to run and close.
    pub epochs: u64,
    /// Customers buying credits.
    pub customers: usize,
    /// Providers serving them.
    pub providers: usize,
    /// Seed of the usage pattern.
    pub seed: u64,
}

impl Default for DemoOptions {
    fn default() -> Self {
        DemoOptions {
            epochs: 5,
            customers: 6,
            providers: 3,
            seed: 7,
        }
    }
}

/// One epoch of the demo, as closed on chain.
#[derive(Debug, Clone, Serialize)]
pub struct EpochRow {
    /// Epoch number.
    pub epoch: u64,
    /// Total emission (schedule + capped re-mint).
    pub emission: u64,
    /// Network tokens burned for credits.
    pub tokens_burned: u64,
    /// Credits bought.
    pub credits_bought: u64,
    /// Credits burned by settled usage.
    pub credits_burned: u64,
    /// Usage work units.
    pub usage_units: u64,
    /// Contribution work units.
    pub contribution_units: u64,
    /// Rewards claimed by providers right after the close.
    pub rewards_claimed: u64,
    /// Network token supply after the claims.
    pub supply: u64,
}

/// What the demo did and whether every invariant held.
#[derive(Debug, Clone, Serialize)]
pub struct DemoReport {
    /// Per-epoch figures.
    pub epochs: Vec<EpochRow>,
    /// Credits bought in total.
    pub credits_bought: u64,
    /// Receipts settled in total.
    pub receipts_settled: u64,
    /// Settle transactions sent.
    pub settle_transactions: u64,
    /// Rewards claimed in total.
    pub rewards_claimed: u64,
    /// Network token supply at the end.
    pub final_supply: u64,
    /// Every invariant checked at the end held.
    pub invariants_ok: bool,
    /// Each invariant with its result.
    pub invariants: Vec<(String, bool)>,
    /// The governance change made through the timelock, in words.
    pub governance: Vec<String>,
    /// Wall time of the run in milliseconds.
    pub wall_ms: u128,
}

/// A tiny deterministic generator so a seed reproduces a run.
struct Lcg(u64);

impl Lcg {
    fn next(&mut self, below: u64) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        (self.0 >> 33) % below.max(1)
    }
}

fn transport(err: solana_program_test::BanksClientError) -> ClientError {
    ClientError::Transaction(err.to_string())
}

/// Runs the demo.
pub async fn run(options: DemoOptions) -> Result<DemoReport, ClientError> {
    if options.epochs == 0 || options.customers == 0 || options.providers == 0 {
        return Err(ClientError::Input(
            "epochs, customers and providers must all be at least 1".into(),
        ));
    }
    let started = Instant::now();
    let mut rng = Lcg(options.seed);
    let price_account = Pubkey::new_unique();
    let mut rt = LocalRuntime::new(vec![]).await;
    let initial_supply = 10_000_000 * TOKEN;
    let network = Network::adopt(&mut rt, ix::SPL_TOKEN, initial_supply, |args| {
        args.price_source = network::pyth_source(price_account);
    })
    .await
    .map_err(transport)?;

    let mut customers: Vec<Keypair> = Vec::new();
    for _ in 0..options.customers {
        customers.push(network.fund_customer(&mut rt, 50_000 * TOKEN).await);
    }
    let mut providers: Vec<Pubkey> = Vec::new();
    for _ in 0..options.providers {
        providers.push(network.register_provider(&mut rt).await.2);
    }

    let mut cumulative: HashMap<(usize, usize), u64> = HashMap::new();
    let mut rows = Vec::new();
    let (mut receipts_settled, mut settle_transactions, mut credits_bought_total) = (0, 0, 0);
    let mut rewards_claimed_total = 0;
    let mut report_sequence = 0;
    let mut governance = Vec::new();

    for epoch in 0..options.epochs {
        network.warp_to_epoch(&mut rt, epoch, 60);
        // The token drifts around $2; the oracle publishes a fresh price each epoch.
        let cents = 190 + rng.next(21) as i64;
        rt.set_account(
            &price_account,
            pyth_price_account(PythPrice {
                feed_id: network::FEED_ID,
                price: cents * 1_000_000,
                conf: 500_000,
                expo: -8,
                publish_time: rt.now() - 2,
                fully_verified: true,
            }),
        );

        // Customers buy credits, each for a different amount of dollars.
        let mut credits_bought = 0;
        for customer in &customers {
            let credits = (20 + rng.next(80)) * 100_000; // $20–$100 of credits
            let buy = network.buy(
                &rt,
                &customer.pubkey(),
                &customer.pubkey(),
                Purchase::Credits {
                    credits,
                    max_tokens: 100 * TOKEN,
                },
                Some(price_account),
            );
            rt.send(&[buy], &[customer]).await.map_err(transport)?;
            credits_bought += credits;
        }
        credits_bought_total += credits_bought;

        // Every customer used every provider a little; the operator settles the newest
        // cumulative receipt per channel, packed by the planner into v0 transactions
        // over an address lookup table.
        let mut receipts = Vec::new();
        for (p, provider) in providers.iter().enumerate() {
            for (c, customer) in customers.iter().enumerate() {
                let total = cumulative.entry((c, p)).or_insert(0);
                *total += 10_000 + rng.next(200_000);
                receipts.push(SignedReceipt::sign(customer, provider, *total));
            }
        }
        let context = SettlementContext {
            payer: rt.payer().pubkey(),
            protocol: network.protocol,
            credit_mint: network.credit_mint,
            epoch,
        };
        let snapshot = rt
            .settlement_snapshot(&network.credit_mint, &receipts)
            .await;
        let plan = plan_settlements(&context, &receipts, &snapshot, &PlanOptions::v0());
        if let Some(skipped) = plan.skipped.first() {
            return Err(ClientError::Input(format!(
                "demo receipt left out by the planner: {}",
                skipped.reason
            )));
        }
        // Each batch was measured against one table holding its addresses.
        let mut table_of_batch = HashMap::new();
        for plan_table in plan.lookup_tables() {
            let table = rt
                .create_lookup_table(&plan_table.addresses)
                .await
                .map_err(transport)?;
            for index in plan_table.batches {
                table_of_batch.insert(index, table.clone());
            }
        }
        for (index, batch) in plan.batches.iter().enumerate() {
            let tables: Vec<_> = table_of_batch.get(&index).cloned().into_iter().collect();
            rt.send_versioned(&batch.instructions, &[], &tables)
                .await
                .map_err(transport)?;
            receipts_settled += batch.receipts.len() as u64;
            settle_transactions += 1;
        }

        // Two of the three oracles attest coverage for every provider.
        // In epoch 1 governance raises the credit price by 10% through the timelock;
        // it governs purchases from epoch 2 on, never the epoch it was applied in.
        if epoch == 1 {
            let authority = network.authority.insecure_clone();
            let change = bme::state::ParameterChange::CreditPrice { micro_usd: 11 };
            let propose = ix::propose_change(
                authority.pubkey(),
                rt.payer().pubkey(),
                network.protocol,
                network.token_mint,
                change,
            );
            rt.send(&[propose], &[&authority])
                .await
                .map_err(transport)?;
            let timelock = network::default_args(0, &[]).timelock_secs as i64;
            rt.warp_to(rt.now() + timelock);
            rt.send(
                &[ix::apply_change(network.protocol, network.token_mint)],
                &[],
            )
            .await
            .map_err(transport)?;
            let protocol: Protocol = rt.account(&network.protocol).await;
            governance.push(format!(
                "epoch 1: credit price 10 -> 11 micro-USD proposed, applied after the {timelock} s timelock, in force from epoch {} (epoch 1 still sells at {})",
                protocol.staged.as_ref().map_or(0, |s| s.from_epoch),
                protocol.params_at(1).credit_price_micro_usd,
            ));
        }
        report_sequence += 1;
        let entries: Vec<(Pubkey, u64)> =
            providers.iter().map(|p| (*p, 1 + rng.next(100))).collect();
        let signers: Vec<&Keypair> = network.oracles.iter().take(2).collect();
        let report = ix::signed_report(
            rt.payer().pubkey(),
            network.protocol,
            &signers,
            epoch,
            report_sequence,
            &entries,
        );
        rt.send(&report, &[]).await.map_err(transport)?;

        // The epoch ends; after the grace period anyone closes it and cranks claims.
        network.warp_to_epoch(&mut rt, epoch + 1, GRACE);
        rt.send(&[network.close(&rt, epoch)], &[])
            .await
            .map_err(transport)?;
        let mut claimed = 0;
        for provider in &providers {
            let destination = network_destination(&mut rt, provider).await;
            let before = rt.token_balance(&destination).await;
            let claim = network.claim(&mut rt, provider).await;
            rt.send(&[claim], &[]).await.map_err(transport)?;
            claimed += rt.token_balance(&destination).await - before;
        }
        rewards_claimed_total += claimed;

        let closed: Epoch = rt.account(&pda::epoch(&network.protocol, epoch)).await;
        rows.push(EpochRow {
            epoch,
            emission: closed.emission,
            tokens_burned: closed.tokens_burned,
            credits_bought: closed.credits_minted,
            credits_burned: closed.credits_burned,
            usage_units: closed.usage_units,
            contribution_units: closed.contribution_units,
            rewards_claimed: claimed,
            supply: rt.mint_supply(&network.token_mint).await,
        });
    }

    let invariants = check_invariants(
        &mut rt,
        &network,
        &customers,
        &providers,
        &cumulative,
        &rows,
        initial_supply,
        options.epochs,
    )
    .await;
    Ok(DemoReport {
        invariants_ok: invariants.iter().all(|(_, ok)| *ok),
        invariants,
        final_supply: rt.mint_supply(&network.token_mint).await,
        credits_bought: credits_bought_total,
        receipts_settled,
        settle_transactions,
        rewards_claimed: rewards_claimed_total,
        epochs: rows,
        governance,
        wall_ms: started.elapsed().as_millis(),
    })
}

async fn network_destination(rt: &mut LocalRuntime, provider: &Pubkey) -> Pubkey {
    let account: bme::state::Provider = rt.account(provider).await;
    account.destination
}

/// Checks DESIGN.md's invariants against the chain and the demo's own records.
#[allow(clippy::too_many_arguments)]
async fn check_invariants(
    rt: &mut LocalRuntime,
    network: &Network,
    customers: &[Keypair],
    providers: &[Pubkey],
    cumulative: &HashMap<(usize, usize), u64>,
    rows: &[EpochRow],
    initial_supply: u64,
    epochs: u64,
) -> Vec<(String, bool)> {
    let protocol: Protocol = rt.account(&network.protocol).await;
    let supply = rt.mint_supply(&network.token_mint).await;
    let credit_supply = rt.mint_supply(&network.credit_mint).await;
    let mut held = 0;
    for customer in customers {
        held += rt
            .token_balance(&network.credit_account(&customer.pubkey()))
            .await;
    }
    let mut claims_within_pools = true;
    let mut burned_per_epoch = 0;
    for e in 0..epochs {
        let epoch: Epoch = rt.account(&pda::epoch(&network.protocol, e)).await;
        claims_within_pools &= epoch.usage_claimed <= epoch.usage_pool
            && epoch.contribution_claimed <= epoch.contribution_pool
            && epoch.usage_pool
                + epoch.contribution_pool
                + epoch.treasury_amount
                + epoch.not_emitted
                == epoch.emission;
        burned_per_epoch += epoch.tokens_burned;
    }
    let mut channels_match = true;
    for (&(c, p), &total) in cumulative {
        let channel: Channel = rt
            .account(&pda::channel(&providers[p], &customers[c].pubkey()))
            .await;
        channels_match &= channel.settled == total;
    }
    let settled_total: u64 = cumulative.values().sum();
    vec![
        (
            "1. supply never exceeds the cap".into(),
            supply + protocol.totals.rewards_outstanding <= protocol.supply_cap,
        ),
        (
            "2. claims never exceed an epoch's pools; each emission is fully accounted".into(),
            claims_within_pools,
        ),
        (
            "3. credits minted = credits burned + credits outstanding".into(),
            protocol.totals.credits_minted == protocol.totals.credits_burned + credit_supply
                && credit_supply == held,
        ),
        (
            "4. tokens burned per epoch = supply decrease from purchases".into(),
            burned_per_epoch == protocol.totals.tokens_burned
                && supply + protocol.totals.tokens_burned
                    == initial_supply + protocol.totals.tokens_minted,
        ),
        (
            "5. each channel's settled amount = credits burned through it".into(),
            channels_match && settled_total == protocol.totals.credits_burned,
        ),
        (
            "6. every epoch closed exactly once, in order".into(),
            protocol.next_epoch_to_close == epochs && rows.len() as u64 == epochs,
        ),
    ]
}

/// Renders the report as a table for humans.
pub fn render(report: &DemoReport) -> String {
    let tokens = |v: u64| format!("{:.2}", v as f64 / TOKEN as f64);
    let mut out = String::new();
    out.push_str(&format!(
        "{:>5} {:>12} {:>12} {:>14} {:>14} {:>12} {:>8} {:>12} {:>16}\n",
        "epoch",
        "emission",
        "burned",
        "credits bought",
        "credits burned",
        "usage units",
        "contrib",
        "claimed",
        "supply"
    ));
    for row in &report.epochs {
        out.push_str(&format!(
            "{:>5} {:>12} {:>12} {:>14} {:>14} {:>12} {:>8} {:>12} {:>16}\n",
            row.epoch,
            tokens(row.emission),
            tokens(row.tokens_burned),
            row.credits_bought,
            row.credits_burned,
            row.usage_units,
            row.contribution_units,
            tokens(row.rewards_claimed),
            tokens(row.supply),
        ));
    }
    out.push_str(&format!(
        "\ncredits bought {}, receipts settled {} in {} transactions, rewards claimed {} tokens, final supply {} tokens\n",
        report.credits_bought,
        report.receipts_settled,
        report.settle_transactions,
        tokens(report.rewards_claimed),
        tokens(report.final_supply)
    ));
    for line in &report.governance {
        out.push_str(&format!("governance: {line}\n"));
    }
    for (name, ok) in &report.invariants {
        out.push_str(&format!(
            "  [{}] {}\n",
            if *ok { "ok" } else { "FAILED" },
            name
        ));
    }
    out.push_str(&format!(
        "invariants {} — {} ms\n",
        if report.invariants_ok {
            "hold"
        } else {
            "BROKEN"
        },
        report.wall_ms
    ));
    out
}
