//! Batching on the real runtime: the most receipts one legacy and one v0 transaction
//! carry, the most providers one oracle report credits, and the planner leaving out
//! exactly the receipts the program would reject. Every planned transaction is sent.

use bme::error::BmeError;
use bme::instructions::Purchase;
use bme::state::{Channel, Epoch, OracleSet, Provider};
use bme_client::planner::{
    legacy_transaction_size, plan_reports, plan_settlements, v0_transaction_size, PlanOptions,
    ReportContext, SettlementContext, SettlementPlan, SkipReason, MAX_ACCOUNT_LOCKS,
    PACKET_DATA_SIZE,
};
use bme_client::receipt::SignedReceipt;
use bme_client::store::{ReceiptStore, StoreError};
use bme_client::{ix, pda};
use bme_tests::genesis::*;
use bme_tests::*;
use solana_program_test::BanksClientError;
use solana_sdk::message::AddressLookupTableAccount;
use solana_sdk::pubkey::Pubkey;
use solana_sdk::signature::{Keypair, Signer};

/// Credits every customer buys.
const CREDITS: u64 = 1_000_000;

struct Setup {
    fixture: TestFixture,
    network: Network,
    customers: Vec<Keypair>,
    providers: Vec<Pubkey>,
}

/// A network with `customers` customers holding [`CREDITS`] each and `providers`
/// registered providers.
async fn setup(customers: usize, providers: usize) -> Setup {
    let mut fixture = TestFixture::new(vec![]).await;
    let network = Network::adopt(&mut fixture, SPL_TOKEN, 1_000 * TOKEN, |_| {})
        .await
        .expect("genesis");
    let mut funded = Vec::with_capacity(customers);
    for _ in 0..customers {
        let customer = network.fund_customer(&mut fixture, 10 * TOKEN).await;
        let buy = network.buy(
            &fixture,
            &customer.pubkey(),
            &customer.pubkey(),
            Purchase::Credits {
                credits: CREDITS,
                max_tokens: 5 * TOKEN,
            },
            None,
        );
        fixture.send_ok(&[buy], &[&customer]).await;
        funded.push(customer);
    }
    let mut registered = Vec::with_capacity(providers);
    for _ in 0..providers {
        registered.push(network.register_provider(&mut fixture).await.2);
    }
    Setup {
        fixture,
        network,
        customers: funded,
        providers: registered,
    }
}

impl Setup {
    fn context(&self) -> SettlementContext {
        SettlementContext {
            payer: self.fixture.payer().pubkey(),
            protocol: self.network.protocol,
            credit_mint: self.network.credit_mint,
            epoch: self.network.current_epoch(&self.fixture),
        }
    }

    async fn credits(&mut self, customer: &Pubkey) -> u64 {
        let account = self.network.credit_account(customer);
        self.fixture.token_balance(&account).await
    }

    async fn settled(&mut self, receipt: &SignedReceipt) -> u64 {
        let channel: Channel = self.fixture.account(&receipt.channel()).await;
        channel.settled
    }

    async fn usage_units(&mut self, provider: &Pubkey) -> u64 {
        let epoch = self.network.current_epoch(&self.fixture) as u32;
        let account: Provider = self.fixture.account(provider).await;
        account
            .pending
            .iter()
            .filter(|slot| !slot.is_free() && slot.epoch == epoch)
            .map(|slot| slot.usage_units)
            .sum()
    }

    /// Creates the plan's lookup tables; returns, per batch, the table it uses.
    async fn create_tables(&mut self, plan: &SettlementPlan) -> Vec<AddressLookupTableAccount> {
        let mut per_batch = vec![None; plan.batches.len()];
        for table_plan in plan.lookup_tables() {
            let table = self
                .fixture
                .create_lookup_table(&table_plan.addresses)
                .await
                .expect("lookup table");
            assert_eq!(table.addresses, table_plan.addresses);
            for index in table_plan.batches {
                per_batch[index] = Some(table.clone());
            }
        }
        per_batch
            .into_iter()
            .map(|t| t.expect("every batch has a table"))
            .collect()
    }
}

/// Size of a settle transaction for the first `count` receipts.
fn settle_size(
    context: &SettlementContext,
    receipts: &[SignedReceipt],
    table: Option<&AddressLookupTableAccount>,
) -> usize {
    let instructions = ix::settle_receipts(
        context.payer,
        context.protocol,
        context.credit_mint,
        context.epoch,
        receipts,
    );
    match table {
        None => legacy_transaction_size(&instructions, &context.payer),
        Some(table) => {
            v0_transaction_size(&instructions, &context.payer, std::slice::from_ref(table))
                .expect("compiles")
        }
    }
}

/// Prints and returns (bytes per receipt, fixed bytes) for transactions of 1..=`max`
/// receipts, asserting every receipt costs the same.
fn cost_per_receipt(
    label: &str,
    context: &SettlementContext,
    receipts: &[SignedReceipt],
    max: usize,
    table: Option<&AddressLookupTableAccount>,
) -> (usize, usize) {
    let sizes: Vec<usize> = (1..=max + 1)
        .map(|n| settle_size(context, &receipts[..n], table))
        .collect();
    let per_receipt = sizes[1] - sizes[0];
    for pair in sizes.windows(2) {
        assert_eq!(
            pair[1] - pair[0],
            per_receipt,
            "{label}: uneven receipt cost"
        );
    }
    let fixed = sizes[0] - per_receipt;
    println!(
        "{label}: {max} receipts per transaction, {} bytes ({} spare); {per_receipt} bytes \
         per receipt, {fixed} bytes fixed; {} receipts would take {} bytes",
        sizes[max - 1],
        PACKET_DATA_SIZE - sizes[max - 1],
        max + 1,
        sizes[max],
    );
    (per_receipt, fixed)
}

#[tokio::test]
async fn the_most_receipts_per_legacy_and_per_v0_transaction_settle() {
    let mut s = setup(16, 2).await;
    let context = s.context();
    let credit_supply = s.fixture.mint_supply(&s.network.credit_mint).await;

    // Legacy: every customer used provider 0.
    let legacy_receipts: Vec<SignedReceipt> = s
        .customers
        .iter()
        .enumerate()
        .map(|(i, c)| SignedReceipt::sign(c, &s.providers[0], 1_000 + i as u64))
        .collect();
    let snapshot = s
        .fixture
        .settlement_snapshot(&s.network.credit_mint, &legacy_receipts)
        .await;
    let legacy = plan_settlements(
        &context,
        &legacy_receipts,
        &snapshot,
        &PlanOptions::legacy(),
    );
    assert!(legacy.skipped.is_empty(), "{:?}", legacy.skipped);
    assert_eq!(legacy.receipts().count(), 16);
    let legacy_max = legacy.batches[0].receipts.len();
    for batch in &legacy.batches {
        assert!(batch.size <= PACKET_DATA_SIZE, "{} bytes", batch.size);
        assert!(batch.receipts.len() <= legacy_max);
        assert_eq!(
            batch.size,
            legacy_transaction_size(&batch.instructions, &context.payer)
        );
        s.fixture.send_ok(&batch.instructions, &[]).await;
    }
    assert!(settle_size(&context, &legacy_receipts[..=legacy_max], None) > PACKET_DATA_SIZE);
    let (legacy_per_receipt, legacy_fixed) =
        cost_per_receipt("legacy", &context, &legacy_receipts, legacy_max, None);

    let legacy_burned: u64 = legacy_receipts.iter().map(|r| r.cumulative).sum();
    assert_eq!(legacy.credits(), legacy_burned);
    for receipt in &legacy_receipts {
        assert_eq!(s.settled(receipt).await, receipt.cumulative);
        assert_eq!(
            s.credits(&receipt.customer).await,
            CREDITS - receipt.cumulative
        );
    }
    let provider = s.providers[0];
    assert_eq!(s.usage_units(&provider).await, legacy_burned);
    assert_eq!(
        s.fixture.mint_supply(&s.network.credit_mint).await,
        credit_supply - legacy_burned
    );

    // v0 with a lookup table: every customer used provider 1 too.
    let v0_receipts: Vec<SignedReceipt> = s
        .customers
        .iter()
        .enumerate()
        .map(|(i, c)| SignedReceipt::sign(c, &s.providers[1], 2_000 + i as u64))
        .collect();
    let snapshot = s
        .fixture
        .settlement_snapshot(&s.network.credit_mint, &v0_receipts)
        .await;
    let planned = plan_settlements(&context, &v0_receipts, &snapshot, &PlanOptions::v0());
    assert!(planned.skipped.is_empty(), "{:?}", planned.skipped);
    let tables = s.create_tables(&planned).await;
    assert_eq!(tables.len(), planned.batches.len());
    // Measured again against the real table: the same batches, the same bytes.
    let table = tables[0].clone();
    let v0 = plan_settlements(
        &context,
        &v0_receipts,
        &snapshot,
        &PlanOptions::v0_with_tables(vec![table.clone()]),
    );
    assert_eq!(v0.batches.len(), planned.batches.len());
    for (real, assumed) in v0.batches.iter().zip(&planned.batches) {
        assert_eq!(real.receipts, assumed.receipts);
        assert_eq!(real.size, assumed.size);
    }
    let v0_max = v0.batches[0].receipts.len();
    assert!(v0_max >= 6, "only {v0_max} receipts per v0 transaction");
    let credits_before: Vec<u64> = {
        let mut out = Vec::new();
        for c in s.customers.iter().map(|c| c.pubkey()).collect::<Vec<_>>() {
            out.push(s.credits(&c).await);
        }
        out
    };
    for (batch, table) in v0.batches.iter().zip(&tables) {
        assert!(batch.size <= PACKET_DATA_SIZE, "{} bytes", batch.size);
        assert!(batch.accounts <= MAX_ACCOUNT_LOCKS);
        s.fixture
            .send_versioned(&batch.instructions, &[], std::slice::from_ref(table))
            .await
            .expect("v0 settle");
    }
    // One receipt more does not fit, and the runtime helper refuses to send it.
    assert!(settle_size(&context, &v0_receipts[..=v0_max], Some(&table)) > PACKET_DATA_SIZE);
    let too_many = ix::settle_receipts(
        context.payer,
        context.protocol,
        context.credit_mint,
        context.epoch,
        &v0_receipts[..=v0_max],
    );
    assert!(matches!(
        s.fixture
            .send_versioned(&too_many, &[], std::slice::from_ref(&table))
            .await,
        Err(BanksClientError::ClientError(_))
    ));
    let (v0_per_receipt, v0_fixed) = cost_per_receipt(
        "v0 + lookup table",
        &context,
        &v0_receipts,
        v0_max,
        Some(&table),
    );

    let v0_burned: u64 = v0_receipts.iter().map(|r| r.cumulative).sum();
    assert_eq!(v0.credits(), v0_burned);
    for (receipt, before) in v0_receipts.iter().zip(credits_before) {
        assert_eq!(s.settled(receipt).await, receipt.cumulative);
        assert_eq!(
            s.credits(&receipt.customer).await,
            before - receipt.cumulative
        );
    }
    let provider = s.providers[1];
    assert_eq!(s.usage_units(&provider).await, v0_burned);
    assert_eq!(
        s.fixture.mint_supply(&s.network.credit_mint).await,
        credit_supply - legacy_burned - v0_burned
    );
    let epoch: Epoch = s
        .fixture
        .account(&pda::epoch(&s.network.protocol, context.epoch))
        .await;
    assert_eq!(epoch.credits_burned, legacy_burned + v0_burned);

    // Where a receipt's bytes go: the Ed25519 entry (offsets, key, signature,
    // message), then two account indexes in `settle_usage` and, per account, a
    // 32-byte key (legacy) or a 1-byte table index (v0).
    let ed25519_entry = 14 + 32 + 64 + bme::constants::RECEIPT_MESSAGE_LEN;
    assert_eq!(legacy_per_receipt, ed25519_entry + 2 + 2 * 32);
    assert_eq!(v0_per_receipt, ed25519_entry + 2 + 2);
    println!(
        "receipts per transaction: legacy {legacy_max}, v0 {v0_max}; per receipt: Ed25519 \
         {ed25519_entry} + accounts {} (legacy) / {} (v0); fixed: legacy {legacy_fixed}, \
         v0 {v0_fixed}",
        legacy_per_receipt - ed25519_entry,
        v0_per_receipt - ed25519_entry,
    );
}

#[tokio::test]
async fn one_report_transaction_credits_the_most_providers_with_two_oracle_signatures() {
    let mut s = setup(0, 60).await;
    let epoch = s.network.current_epoch(&s.fixture);
    let oracle_set: OracleSet = s
        .fixture
        .account(&pda::oracle_set(&s.network.protocol))
        .await;
    let oracles = [&s.network.oracles[0], &s.network.oracles[2]];
    let context = ReportContext {
        payer: s.fixture.payer().pubkey(),
        protocol: s.network.protocol,
        epoch,
        first_sequence: oracle_set.last_sequence + 1,
        oracles: oracles.iter().map(|k| k.pubkey()).collect(),
    };
    let entries: Vec<(Pubkey, u64)> = s
        .providers
        .iter()
        .enumerate()
        .map(|(i, p)| (*p, 100 + i as u64))
        .collect();

    let legacy = plan_reports(&context, &entries, &PlanOptions::legacy());
    let planned = plan_reports(&context, &entries, &PlanOptions::v0());
    assert!(planned.skipped.is_empty());
    let tables = planned.lookup_tables();
    assert_eq!(tables.len(), 1);
    let table = s
        .fixture
        .create_lookup_table(&tables[0].addresses)
        .await
        .expect("lookup table");
    let plan = plan_reports(
        &context,
        &entries,
        &PlanOptions::v0_with_tables(vec![table.clone()]),
    );
    assert_eq!(plan.batches, planned.batches);
    let most = plan.batches[0].entries.len();
    assert!(most >= 25, "only {most} providers per report transaction");

    for batch in &plan.batches {
        assert!(batch.size <= PACKET_DATA_SIZE, "{} bytes", batch.size);
        assert!(batch.accounts <= MAX_ACCOUNT_LOCKS);
        s.fixture
            .send_versioned(&batch.sign(&oracles), &[], std::slice::from_ref(&table))
            .await
            .expect("report");
    }
    // The account-lock limit binds before the packet does: one provider costs 10
    // bytes (table index, account index, u64 units) and one account.
    let first = &plan.batches[0];
    assert_eq!(first.accounts, MAX_ACCOUNT_LOCKS);
    let with_tables = PlanOptions::v0_with_tables(vec![table.clone()]);
    let size_of = |n: usize| plan_reports(&context, &entries[..n], &with_tables).batches[0].size;
    let per_provider = size_of(2) - size_of(1);
    assert_eq!(per_provider, 10);
    // Were 128 account locks allowed, the packet would bind (planned on unregistered
    // stand-in providers: the planner only needs their addresses).
    let mut more_locks = PlanOptions::v0();
    more_locks.max_accounts = 128;
    let many: Vec<(Pubkey, u64)> = (0..100).map(|_| (Pubkey::new_unique(), 1)).collect();
    let byte_bound = plan_reports(&context, &many, &more_locks).batches[0]
        .entries
        .len();
    println!(
        "reports with 2 oracle signatures: {most} providers per v0 transaction ({} bytes, {} \
         accounts; limits {PACKET_DATA_SIZE} bytes, {MAX_ACCOUNT_LOCKS} accounts), {} per \
         legacy transaction; {per_provider} bytes per provider, {} bytes fixed; {byte_bound} \
         per v0 transaction once 128 account locks are allowed",
        first.size,
        first.accounts,
        legacy.batches[0].entries.len(),
        first.size - most * per_provider,
    );

    for (provider, units) in &entries {
        let account: Provider = s.fixture.account(provider).await;
        let credited: u64 = account
            .pending
            .iter()
            .filter(|slot| !slot.is_free() && u64::from(slot.epoch) == epoch)
            .map(|slot| slot.contribution_units)
            .sum();
        assert_eq!(credited, *units);
    }
    let epoch_account: Epoch = s
        .fixture
        .account(&pda::epoch(&s.network.protocol, epoch))
        .await;
    assert_eq!(
        epoch_account.contribution_units,
        entries.iter().map(|(_, u)| u).sum::<u64>()
    );
    let oracle_set: OracleSet = s
        .fixture
        .account(&pda::oracle_set(&s.network.protocol))
        .await;
    assert_eq!(
        oracle_set.last_sequence,
        context.first_sequence + plan.batches.len() as u64 - 1
    );
}

#[tokio::test]
async fn the_planner_leaves_out_stale_unaffordable_and_forged_receipts_and_the_rest_settle() {
    let mut s = setup(4, 2).await;
    let context = s.context();
    let (p0, p1) = (s.providers[0], s.providers[1]);
    let keys: Vec<Pubkey> = s.customers.iter().map(|c| c.pubkey()).collect();

    // Customer 0 has already settled 5,000 credits with provider 0.
    let earlier = SignedReceipt::sign(&s.customers[0], &p0, 5_000);
    let first = plan_settlements(
        &context,
        std::slice::from_ref(&earlier),
        &s.fixture
            .settlement_snapshot(&s.network.credit_mint, std::slice::from_ref(&earlier))
            .await,
        &PlanOptions::legacy(),
    );
    s.fixture.send_ok(&first.batches[0].instructions, &[]).await;

    let stale = SignedReceipt::sign(&s.customers[0], &p0, 5_000);
    let big = SignedReceipt::sign(&s.customers[1], &p0, 600_000);
    // Affordable alone, not after `big` from the same customer.
    let unaffordable = SignedReceipt::sign(&s.customers[1], &p1, 500_000);
    // Signed by a stranger in customer 2's name.
    let mut forged = SignedReceipt::sign(&Keypair::new(), &p1, 900_000);
    forged.customer = keys[2];
    let good = [
        SignedReceipt::sign(&s.customers[2], &p1, 300),
        SignedReceipt::sign(&s.customers[3], &p0, 700),
        SignedReceipt::sign(&s.customers[0], &p1, 100),
    ];
    let receipts = vec![
        stale.clone(),
        big.clone(),
        unaffordable.clone(),
        forged.clone(),
        good[0].clone(),
        good[1].clone(),
        good[2].clone(),
    ];
    let snapshot = s
        .fixture
        .settlement_snapshot(&s.network.credit_mint, &receipts)
        .await;
    assert_eq!(snapshot.settled(&stale.channel()), 5_000);
    assert_eq!(snapshot.credits(&keys[0]), CREDITS - 5_000);
    let plan = plan_settlements(&context, &receipts, &snapshot, &PlanOptions::v0());
    let skipped: Vec<(SignedReceipt, SkipReason)> = plan
        .skipped
        .iter()
        .map(|s| (s.receipt.clone(), s.reason.clone()))
        .collect();
    assert_eq!(
        skipped,
        vec![
            (forged.clone(), SkipReason::BadSignature),
            (stale.clone(), SkipReason::NotNewer { settled: 5_000 }),
            (
                unaffordable.clone(),
                SkipReason::InsufficientCredits {
                    needed: 500_000,
                    available: CREDITS - 600_000,
                }
            ),
        ]
    );
    // Two providers: two transactions, each with everything that pays it.
    assert_eq!(plan.batches.len(), 2);
    assert_eq!(plan.batches[0].provider, p0);
    assert_eq!(plan.batches[0].receipts, vec![big.clone(), good[1].clone()]);
    assert_eq!(
        plan.batches[1].receipts,
        vec![good[0].clone(), good[2].clone()]
    );

    let credit_supply = s.fixture.mint_supply(&s.network.credit_mint).await;
    let tables = s.create_tables(&plan).await;
    for (batch, table) in plan.batches.iter().zip(&tables) {
        s.fixture
            .send_versioned(&batch.instructions, &[], std::slice::from_ref(table))
            .await
            .expect("planned batch settles");
    }
    assert_eq!(plan.credits(), 600_000 + 700 + 300 + 100);
    assert_eq!(
        s.fixture.mint_supply(&s.network.credit_mint).await,
        credit_supply - plan.credits()
    );
    assert_eq!(s.credits(&keys[0]).await, CREDITS - 5_000 - 100);
    assert_eq!(s.credits(&keys[1]).await, CREDITS - 600_000);
    assert_eq!(s.credits(&keys[2]).await, CREDITS - 300);
    assert_eq!(s.credits(&keys[3]).await, CREDITS - 700);
    assert_eq!(s.settled(&stale).await, 5_000);
    assert!(s
        .fixture
        .raw_account(&unaffordable.channel())
        .await
        .is_none());

    // The planner was right: each left-out receipt fails on chain for its reason.
    let alone = |receipt: &SignedReceipt| {
        ix::settle_receipts(
            context.payer,
            context.protocol,
            context.credit_mint,
            context.epoch,
            std::slice::from_ref(receipt),
        )
    };
    assert_error(
        s.fixture.send(&alone(&stale), &[]).await,
        BmeError::ReceiptNotNewer,
    );
    assert_error(
        s.fixture.send(&alone(&unaffordable), &[]).await,
        BmeError::InsufficientCredits,
    );
    assert_failed(s.fixture.send(&alone(&forged), &[]).await);
    assert_eq!(s.credits(&keys[1]).await, CREDITS - 600_000);
    assert_eq!(s.credits(&keys[2]).await, CREDITS - 300);
}

#[tokio::test]
async fn the_store_feeds_the_planner_and_forgets_nothing_across_a_restart() {
    let mut s = setup(3, 1).await;
    let context = s.context();
    let provider = s.providers[0];
    let path = std::env::temp_dir().join(format!("bme-batching-{}.json", std::process::id()));
    let _ = std::fs::remove_file(&path);

    let mut store = ReceiptStore::open(&path).expect("open");
    for (i, customer) in s.customers.iter().enumerate() {
        for cumulative in [10, 20, 30 + i as u64] {
            store
                .insert(SignedReceipt::sign(customer, &provider, cumulative))
                .expect("accepted");
        }
    }
    let mut forged = SignedReceipt::sign(&Keypair::new(), &provider, 999);
    forged.customer = s.customers[0].pubkey();
    assert!(matches!(
        store.insert(forged),
        Err(StoreError::BadSignature(_))
    ));

    // The first attempt fails on chain (a byte flipped in transit), so nothing is
    // marked settled.
    let pending = store.pending();
    assert_eq!(pending.len(), 3);
    let snapshot = s
        .fixture
        .settlement_snapshot(&s.network.credit_mint, &pending)
        .await;
    let plan = plan_settlements(&context, &pending, &snapshot, &PlanOptions::legacy());
    assert_eq!(plan.batches.len(), 1);
    let mut broken = plan.batches[0].instructions.clone();
    if let Some(byte) = broken[0].data.last_mut() {
        *byte ^= 1;
    }
    assert_failed(s.fixture.send(&broken, &[]).await);
    drop(store);

    // After a restart the same receipts are still pending; this time they settle.
    let mut store = ReceiptStore::open(&path).expect("reopen");
    assert_eq!(store.pending().len(), 3);
    s.fixture.send_ok(&plan.batches[0].instructions, &[]).await;
    store.mark_settled(plan.receipts()).expect("saved");
    drop(store);

    let store = ReceiptStore::open(&path).expect("reopen");
    assert!(store.pending().is_empty());
    let customers: Vec<Pubkey> = s.customers.iter().map(|c| c.pubkey()).collect();
    for (i, customer) in customers.iter().enumerate() {
        let cumulative = 30 + i as u64;
        let channel = pda::channel(&provider, customer);
        assert_eq!(store.get(&channel).map(|e| e.settled), Some(cumulative));
        let on_chain: Channel = s.fixture.account(&channel).await;
        assert_eq!(on_chain.settled, cumulative);
        assert_eq!(s.credits(customer).await, CREDITS - cumulative);
    }
    let _ = std::fs::remove_file(&path);
}
