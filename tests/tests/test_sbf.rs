//! Compute units on the SBF build.
//!
//! When `target/deploy/bme.so` exists (`cargo build-sbf --manifest-path
//! programs/bme/Cargo.toml`, or `anchor build`, on a machine with Solana's platform
//! tools), the program is loaded from it (`prefer_bpf`, `BPF_OUT_DIR=target/deploy`)
//! and every figure below is metered by the runtime, then held to the DESIGN.md
//! budgets: buy ≤ 30k, settle ≤ 15k per receipt, claim ≤ 25k.
//!
//! Without the file the program runs natively, where the runtime meters only the
//! BPF programs it calls (token CPIs) and a few syscalls: the same scenario still
//! runs (so it stays correct), its partial figures are printed, and the budgets are
//! reported as **skipped** on stderr; `.ci/run` prints the same notice.

use std::io::Write;
use std::path::{Path, PathBuf};

use bme::instructions::Purchase;
use bme_client::ix;
use bme_client::receipt::SignedReceipt;
use bme_tests::genesis::*;
use bme_tests::*;
use solana_program_test::ProgramTest;
use solana_sdk::instruction::Instruction;
use solana_sdk::message::Message;
use solana_sdk::signature::{Keypair, Signer};
use solana_sdk::transaction::Transaction;

/// DESIGN.md budgets, in compute units.
const BUY_BUDGET: u64 = 30_000;
const SETTLE_PER_RECEIPT_BUDGET: u64 = 15_000;
const CLAIM_BUDGET: u64 = 25_000;

/// Receipts per measured settlement (what a v0 transaction carries).
const BATCH: usize = 6;

/// Where `cargo build-sbf` and `anchor build` put the program.
fn deploy_dir() -> PathBuf {
    let tests = Path::new(env!("CARGO_MANIFEST_DIR"));
    tests
        .parent()
        .unwrap_or(tests)
        .join("target")
        .join("deploy")
}

/// The runtime with the SBF program, or `None` (and why) when it has not been built.
fn sbf_program_test() -> Result<ProgramTest, String> {
    let dir = deploy_dir();
    let so = dir.join("bme.so");
    if !so.exists() {
        return Err(format!(
            "{} is absent; build it with `cargo build-sbf --manifest-path \
             programs/bme/Cargo.toml` (or `anchor build`) to measure compute units",
            so.display()
        ));
    }
    if std::env::var_os("RUST_LOG").is_none() {
        std::env::set_var("RUST_LOG", "error");
    }
    // solana-program-test looks for `<name>.so` in BPF_OUT_DIR.
    std::env::set_var("BPF_OUT_DIR", &dir);
    let mut program_test = ProgramTest::default();
    program_test.prefer_bpf(true);
    program_test.add_program("bme", bme::ID, None);
    Ok(program_test)
}

/// Processes a transaction and returns the compute units it consumed.
async fn metered(
    fixture: &mut TestFixture,
    instructions: &[Instruction],
    signers: &[&Keypair],
) -> u64 {
    fixture.next_slot().await;
    let fee_payer = fixture.payer();
    let message = Message::new(instructions, Some(&fee_payer.pubkey()));
    let required = &message.account_keys[..usize::from(message.header.num_required_signatures)];
    let mut keys: Vec<&Keypair> = vec![&fee_payer];
    for key in &required[1..] {
        keys.push(
            signers
                .iter()
                .copied()
                .find(|k| k.pubkey() == *key)
                .unwrap_or_else(|| panic!("no keypair for {key}")),
        );
    }
    let transaction = Transaction::new(&keys, message, fixture.ctx.last_blockhash);
    let outcome = fixture
        .ctx
        .banks_client
        .process_transaction_with_metadata(transaction)
        .await
        .expect("banks");
    if let Err(error) = outcome.result {
        panic!("metered transaction failed: {error:?}");
    }
    outcome
        .metadata
        .expect("transaction metadata")
        .compute_units_consumed
}

/// What the scenario measured.
#[derive(Debug, Default)]
struct Figures {
    /// First purchase of the epoch: creates the epoch and the recipient's credit account.
    buy_creating: u64,
    /// A purchase once both exist.
    buy: u64,
    /// A batch that creates its channels, per receipt.
    settle_creating_per_receipt: u64,
    /// A batch over existing channels, per receipt.
    settle_per_receipt: u64,
    /// One oracle report crediting the batch's provider.
    report: u64,
    /// Closing an epoch (treasury mint).
    close: u64,
    /// A claim settling one closed epoch.
    claim: u64,
}

/// Buys, settles a batch twice, reports, closes and claims, measuring each.
async fn scenario(mut fixture: TestFixture) -> Figures {
    let mut figures = Figures::default();
    let network = Network::adopt(&mut fixture, SPL_TOKEN, 1_000_000 * TOKEN, |_| {})
        .await
        .expect("genesis");
    let mut customers = Vec::new();
    for _ in 0..BATCH {
        customers.push(network.fund_customer(&mut fixture, 100 * TOKEN).await);
    }
    let purchase = Purchase::Credits {
        credits: 1_000_000,
        max_tokens: 10 * TOKEN,
    };
    for (i, customer) in customers.iter().enumerate() {
        let buy = network.buy(
            &fixture,
            &customer.pubkey(),
            &customer.pubkey(),
            purchase,
            None,
        );
        let units = metered(&mut fixture, &[buy], &[customer]).await;
        if i == 0 {
            figures.buy_creating = units;
        }
    }
    let buy = network.buy(
        &fixture,
        &customers[0].pubkey(),
        &customers[0].pubkey(),
        purchase,
        None,
    );
    figures.buy = metered(&mut fixture, &[buy], &[&customers[0]]).await;

    let (_node, _owner, provider) = network.register_provider(&mut fixture).await;
    let batch = |cumulative: u64| -> Vec<SignedReceipt> {
        customers
            .iter()
            .map(|c| SignedReceipt::sign(c, &provider, cumulative))
            .collect()
    };
    let settle = |fixture: &TestFixture, receipts: &[SignedReceipt]| {
        ix::settle_receipts(
            fixture.payer().pubkey(),
            network.protocol,
            network.credit_mint,
            network.current_epoch(fixture),
            receipts,
        )
    };
    let first = settle(&fixture, &batch(100));
    figures.settle_creating_per_receipt = metered(&mut fixture, &first, &[]).await / BATCH as u64;
    let second = settle(&fixture, &batch(250));
    figures.settle_per_receipt = metered(&mut fixture, &second, &[]).await / BATCH as u64;

    let report = ix::signed_report(
        fixture.payer().pubkey(),
        network.protocol,
        &[&network.oracles[0], &network.oracles[1]],
        0,
        1,
        &[(provider, 10)],
    );
    figures.report = metered(&mut fixture, &report, &[]).await;

    network.warp_to_epoch(&mut fixture, 1, GRACE);
    let close = network.close(&fixture, 0);
    figures.close = metered(&mut fixture, &[close], &[]).await;
    let claim = network.claim(&mut fixture, &provider).await;
    figures.claim = metered(&mut fixture, &[claim], &[]).await;
    let paid: bme::state::Provider = fixture.account(&provider).await;
    assert!(paid.claimed > 0, "the claim paid the provider");
    figures
}

fn table(figures: &Figures) -> String {
    format!(
        "  buy (creates epoch + credit account) {:>7} CU\n  \
         buy                                  {:>7} CU   budget {BUY_BUDGET}\n  \
         settle per receipt (new channels)    {:>7} CU\n  \
         settle per receipt                   {:>7} CU   budget {SETTLE_PER_RECEIPT_BUDGET}\n  \
         oracle report (1 provider)           {:>7} CU\n  \
         close epoch                          {:>7} CU\n  \
         claim (1 epoch)                      {:>7} CU   budget {CLAIM_BUDGET}",
        figures.buy_creating,
        figures.buy,
        figures.settle_creating_per_receipt,
        figures.settle_per_receipt,
        figures.report,
        figures.close,
        figures.claim,
    )
}

#[tokio::test]
async fn compute_units_per_instruction_on_the_sbf_build() {
    match sbf_program_test() {
        Ok(program_test) => {
            let figures = scenario(TestFixture::start(program_test).await).await;
            eprintln!(
                "SBF compute units (target/deploy/bme.so):\n{}",
                table(&figures)
            );
            assert!(
                figures.buy <= BUY_BUDGET,
                "buy uses {} CU, budget {BUY_BUDGET}",
                figures.buy
            );
            assert!(
                figures.settle_per_receipt <= SETTLE_PER_RECEIPT_BUDGET,
                "settle uses {} CU per receipt, budget {SETTLE_PER_RECEIPT_BUDGET}",
                figures.settle_per_receipt
            );
            assert!(
                figures.claim <= CLAIM_BUDGET,
                "claim uses {} CU, budget {CLAIM_BUDGET}",
                figures.claim
            );
        }
        Err(why) => {
            // The scenario still runs natively, so it keeps working for the day the
            // SBF build exists; only the token programs' CPIs are metered here.
            let figures = scenario(TestFixture::new(vec![]).await).await;
            // Written to the process's stderr directly: the test harness captures
            // eprintln! of passing tests, and a skip must not pass unseen.
            let notice = format!(
                "SKIPPED: SBF compute-unit budgets not checked: {why}.\n\
                 Native run (the bme program itself is not metered, only its token \
                 CPIs):\n{}\n",
                table(&figures)
            );
            let _ = std::io::stderr().write_all(notice.as_bytes());
        }
    }
}
