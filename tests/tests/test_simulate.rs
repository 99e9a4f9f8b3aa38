//! `bme simulate` against the program: the simulator's per-epoch emission, pools,
//! treasury share, amount not emitted, burns and supply equal what the program
//! records and mints for the same parameters on the real runtime; and `--compare`
//! of a scenario with itself shows no difference.

use std::path::PathBuf;

use bme::instructions::Purchase;
use bme::state::{Epoch, Protocol};
use bme_client::receipt::SignedReceipt;
use bme_client::sim::{self, Scenario, SimulateArgs};
use bme_client::{ix, pda};
use bme_tests::genesis::*;
use bme_tests::*;
use solana_sdk::signature::{Keypair, Signer};

/// Epochs run on both sides.
const EPOCHS: u64 = 7;

/// Demand per epoch in USD at $2 a token: 200, 600 (above the 500-token re-mint cap),
/// nothing (no usage: the usage pool is not emitted), 400, then 1000, 150 and 500 with
/// the supply cap binding.
const DEMAND_CSV: &str = "epoch,demand_usd\n0,400\n1,1200\n2,0\n3,800\n4,2000\n5,300\n6,1000\n";

/// The scenario: a decay segment down to a floor, then a halving segment from epoch 4;
/// a supply cap 3,000 tokens above the 1M premine, so the clamp binds from epoch 4.
const SCENARIO: &str = r#"
name = "cross-check"
epochs = 7

[demand]
model = "csv"
file = "demand.csv"

[providers]
model = "constant"
count = 2
cost_usd_per_epoch = 1

[genesis.token]
mode = "existing"
program = "spl-token"
decimals = 6
initial_supply = 1000000000000

[genesis.governance]
timelock_secs = 3600
max_emission_change_bps = 1000

[genesis.epochs]
length_secs = 86400
grace_period_secs = 3600

[[genesis.schedule]]
start_epoch = 0
initial_emission = 1000000000     # 1000, 850, 722.5, then the 700 floor
decay_bps = 1500
floor = 700000000

[[genesis.schedule]]
start_epoch = 4
initial_emission = 900000000      # 900, 450, 225
halving_interval = 1
floor = 100000000

[genesis.split]
usage_bps = 5000
contribution_bps = 3000
treasury_bps = 2000

[genesis.supply]
cap = 1003000000000
net_remint_cap = 500000000
rate_limit_window_secs = 86400
rate_limit_max_per_window = 100000000000

[genesis.credits]
price_micro_usd = 10

[genesis.price]
source = "fixed"
price = 200000000
expo = -8

[genesis.oracles]
keys = ["EkJ1eG25Yr3L4ZU6nBVD5QfeATWvTaEnAThcBXnjSyhC", "qTMDDcMEBzb4KMqy17F3bFoD4rhJr3ygVQXhYiMv7BH"]
threshold = 2
"#;

/// A fresh directory under the system's temp dir.
fn scratch(name: &str) -> PathBuf {
    let directory =
        std::env::temp_dir().join(format!("bme-test-simulate-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&directory);
    std::fs::create_dir_all(&directory).expect("scratch directory");
    directory
}

/// Writes the cross-check scenario and its demand series; returns the scenario path.
fn write_scenario(directory: &std::path::Path) -> PathBuf {
    std::fs::write(directory.join("demand.csv"), DEMAND_CSV).unwrap();
    let path = directory.join("cross-check.toml");
    std::fs::write(&path, SCENARIO).unwrap();
    path
}

#[tokio::test]
async fn simulated_epochs_match_what_the_program_mints() {
    std::env::set_var("RUST_LOG", "error");
    let directory = scratch("cross-check");
    let scenario = Scenario::load(&write_scenario(&directory)).expect("scenario");
    let simulation = sim::simulate(&scenario, EPOCHS).expect("simulation");

    // The same parameters on chain: the scenario's genesis through the same
    // conversion `bme init` uses.
    let genesis = scenario.genesis.clone();
    let mut fixture = TestFixture::new(vec![]).await;
    let network = Network::adopt(
        &mut fixture,
        SPL_TOKEN,
        genesis.token.initial_supply,
        |args| {
            let from_file = genesis
                .to_args(&args.authority, args.genesis_time)
                .expect("genesis arguments");
            args.epoch_length_secs = from_file.epoch_length_secs;
            args.grace_period_secs = from_file.grace_period_secs;
            args.schedule = from_file.schedule;
            args.split = from_file.split;
            args.net_remint_cap = from_file.net_remint_cap;
            args.supply_cap = from_file.supply_cap;
            args.credit_price_micro_usd = from_file.credit_price_micro_usd;
            args.price_source = from_file.price_source;
            args.rate_limit_window_secs = from_file.rate_limit_window_secs;
            args.rate_limit_max_per_window = from_file.rate_limit_max_per_window;
        },
    )
    .await
    .expect("genesis");
    assert_eq!(network.oracles.len(), 3);
    let customer = network.fund_customer(&mut fixture, 10_000 * TOKEN).await;
    let providers = [
        network.register_provider(&mut fixture).await.2,
        network.register_provider(&mut fixture).await.2,
    ];
    let oracles: Vec<&Keypair> = network.oracles.iter().take(2).collect();
    let mut settled = 0u64;
    let mut clamped_epochs = 0;
    let mut pools_unminted = 0;

    for expected in &simulation.figures {
        let epoch = expected.epoch;
        assert_eq!(network.current_epoch(&fixture), epoch);
        // The customer buys what the simulator says the demand buys...
        if expected.credits_bought > 0 {
            let buy = network.buy(
                &fixture,
                &customer.pubkey(),
                &customer.pubkey(),
                Purchase::Credits {
                    credits: expected.credits_bought,
                    max_tokens: u64::MAX,
                },
                None,
            );
            fixture.send_ok(&[buy], &[&customer]).await;
            // ...and uses it all, half with each provider.
            assert_eq!(expected.credits_bought % 2, 0);
            settled += expected.credits_bought / 2;
            for provider in &providers {
                let receipt = SignedReceipt::sign(&customer, provider, settled);
                let settle = ix::settle_receipts(
                    fixture.payer().pubkey(),
                    network.protocol,
                    network.credit_mint,
                    epoch,
                    &[receipt],
                );
                fixture.send_ok(&settle, &[]).await;
            }
        }
        // The oracles attest one contribution unit per provider.
        let report = ix::signed_report(
            fixture.payer().pubkey(),
            network.protocol,
            &oracles,
            epoch,
            epoch + 1,
            &[(providers[0], 1), (providers[1], 1)],
        );
        fixture.send_ok(&report, &[]).await;

        // Close after the grace period, then both providers claim.
        network.warp_to_epoch(&mut fixture, epoch + 1, GRACE);
        fixture
            .send_ok(&[network.close(&fixture, epoch)], &[])
            .await;
        for provider in &providers {
            let claim = network.claim(&mut fixture, provider).await;
            fixture.send_ok(&[claim], &[]).await;
        }

        let actual: Epoch = fixture.account(&pda::epoch(&network.protocol, epoch)).await;
        let on_chain = (
            actual.tokens_burned,
            actual.scheduled_emission,
            actual.remint,
            actual.emission,
            actual.usage_pool,
            actual.contribution_pool,
            actual.treasury_amount,
            actual.not_emitted,
        );
        let simulated = (
            expected.tokens_burned,
            expected.scheduled_emission,
            expected.remint,
            expected.emission,
            expected.usage_pool,
            expected.contribution_pool,
            expected.treasury,
            expected.not_emitted,
        );
        assert_eq!(
            on_chain, simulated,
            "epoch {epoch}: (burned, scheduled, remint, emission, usage pool, contribution pool, treasury, not emitted)"
        );
        assert_eq!(actual.usage_units, expected.usage_units, "epoch {epoch}");
        assert_eq!(
            actual.contribution_units, expected.contribution_units,
            "epoch {epoch}"
        );
        assert_eq!(
            actual.usage_claimed + actual.contribution_claimed,
            expected.rewards_paid,
            "epoch {epoch}: claimed"
        );
        assert_eq!(
            fixture.mint_supply(&network.token_mint).await,
            expected.supply,
            "epoch {epoch}: supply after close and claims"
        );
        if expected.not_emitted > 0 && expected.usage_units > 0 {
            clamped_epochs += 1;
        }
        if expected.usage_units == 0 {
            pools_unminted += 1;
        }
    }
    let protocol: Protocol = fixture.account(&network.protocol).await;
    assert_eq!(
        protocol.totals.rewards_outstanding,
        simulation.rewards_outstanding
    );
    assert_eq!(protocol.next_epoch_to_close, EPOCHS);
    // The run exercised what it is meant to: the re-mint cap, a pool without units,
    // the supply-cap clamp and both schedule segments.
    let figures = &simulation.figures;
    assert_eq!(figures[1].remint, 500 * TOKEN);
    assert_eq!(pools_unminted, 1);
    assert!(
        clamped_epochs >= 2,
        "the supply cap bound {clamped_epochs} times"
    );
    assert_eq!(
        figures
            .iter()
            .map(|f| f.scheduled_emission / TOKEN)
            .collect::<Vec<_>>(),
        [1000, 850, 722, 700, 900, 450, 225]
    );
    assert!(figures.iter().all(|f| f.supply <= genesis.supply.cap));
    std::fs::remove_dir_all(&directory).unwrap();
}

#[test]
fn compare_with_itself_shows_zero_differences() {
    let directory = scratch("compare");
    let path = write_scenario(&directory);
    let args = SimulateArgs {
        scenario: path.clone(),
        epochs: Some(400),
        out: directory.join("out"),
        compare: Some(path),
    };
    let text = sim::command(&args, false).expect("simulate --compare");
    let mut compared = 0;
    for line in text.lines() {
        // The figure rows: a label, the two values and `B − A`.
        let cells: Vec<&str> = line
            .split("  ")
            .map(str::trim)
            .filter(|c| !c.is_empty())
            .collect();
        if cells.len() == 4 {
            assert_eq!(cells[1], cells[2], "{line}");
            assert!(
                matches!(cells[3], "0.00" | "$0.00" | "0.0000" | "0" | "="),
                "a difference in `{line}`"
            );
            compared += 1;
        }
    }
    assert!(compared >= 15, "{compared} figures compared in:\n{text}");
    assert!(
        text.contains("largest per-epoch differences over 400 epochs: supply 0.00, minted 0.00, burned 0.00, not emitted 0.00"),
        "{text}"
    );
    // Both CSVs are identical and the chart shows both.
    let first = std::fs::read_to_string(directory.join("out/cross-check.csv")).unwrap();
    let second = std::fs::read_to_string(directory.join("out/cross-check-2.csv")).unwrap();
    assert_eq!(first, second);
    assert_eq!(first.lines().count(), 401);
    let svg =
        std::fs::read_to_string(directory.join("out/cross-check-vs-cross-check-2.svg")).unwrap();
    assert!(svg.starts_with("<svg"));
    assert!(svg.contains("total supply (cross-check)"));
    std::fs::remove_dir_all(&directory).unwrap();
}
