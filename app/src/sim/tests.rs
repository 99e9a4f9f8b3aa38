//! Unit tests of the simulator: the schedule's closed forms, the close arithmetic
//! against hand numbers, the equilibrium price, the series and strict parsing.

use std::path::{Path, PathBuf};

use super::engine::{credits_for_usd, oracle_price};
use super::report::{differences, epoch_differences, summarize, AsymptoteSummary};
use super::*;

/// One whole token at 6 decimals.
const TOKEN: u64 = 1_000_000;

/// The repository's `migrations/` directory.
fn migrations() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../migrations")
}

/// Inline genesis tables with the given schedule and split; oracles configured when
/// `oracles` is set. 10M tokens premined, 1B cap, 500-token re-mint cap, $2 fixed price.
fn genesis(schedule: &str, split: (u16, u16, u16), oracles: bool, cap: u64) -> String {
    let keys = if oracles {
        r#"keys = ["EkJ1eG25Yr3L4ZU6nBVD5QfeATWvTaEnAThcBXnjSyhC"]
threshold = 1"#
    } else {
        "keys = []\nthreshold = 0"
    };
    format!(
        r#"
[genesis.token]
mode = "new"
program = "spl-token"
decimals = 6
initial_supply = {initial}

[genesis.governance]
timelock_secs = 3600
max_emission_change_bps = 1000

[genesis.epochs]
length_secs = 86400
grace_period_secs = 3600

{schedule}

[genesis.split]
usage_bps = {usage}
contribution_bps = {contribution}
treasury_bps = {treasury}

[genesis.supply]
cap = {cap}
net_remint_cap = {remint}
rate_limit_window_secs = 86400
rate_limit_max_per_window = 100000000000

[genesis.credits]
price_micro_usd = 10

[genesis.price]
source = "fixed"
price = 200000000
expo = -8

[genesis.oracles]
{keys}
"#,
        initial = 10_000_000 * TOKEN,
        usage = split.0,
        contribution = split.1,
        treasury = split.2,
        remint = 500 * TOKEN,
    )
}

/// A halving segment: 1,000 tokens halving every 730 epochs, no floor.
const HALVING: &str = r#"
[[genesis.schedule]]
start_epoch = 0
initial_emission = 1000000000
halving_interval = 730
"#;

/// A scenario with `genesis` and the given economy tables.
fn scenario(genesis: &str, economy: &str) -> Scenario {
    Scenario::parse(&format!("{economy}\n{genesis}"), &migrations(), "test")
        .expect("scenario parses")
}

/// No demand, `providers` providers at no cost.
fn idle(providers: u64) -> String {
    format!(
        r#"
[demand]
model = "constant"
usd_per_epoch = 0

[providers]
model = "constant"
count = {providers}
cost_usd_per_epoch = 0
"#
    )
}

/// The error message of a scenario that must not parse.
fn parse_error(text: &str) -> String {
    Scenario::parse(text, &migrations(), "bad")
        .expect_err("the scenario must be rejected")
        .to_string()
}

#[test]
fn pure_halving_supply_converges_to_the_geometric_limit() {
    // Contribution and treasury only, one provider: nothing is lost to dust or to a
    // pool without units, so the supply gains exactly the scheduled emission.
    let halving = scenario(
        &genesis(HALVING, (0, 8_000, 2_000), true, 1_000_000_000 * TOKEN),
        &idle(1),
    );
    let initial = 10_000_000 * TOKEN;
    let first = 1_000 * TOKEN;
    // Σ_k floor(E / 2^k) = 2E − popcount(E): the geometric limit 2E, less the bits
    // the integer halvings drop.
    let limit = initial + 730 * (2 * first - u64::from(first.count_ones()));
    // 1000 tokens >> 30 = 0: the schedule is spent after 30 halvings (21,900 epochs).
    let run = simulate(&halving, 22_000).unwrap();
    assert_eq!(run.final_supply(), limit);
    assert_eq!(run.figures[21_899].scheduled_emission, 1); // 10^9 >> 29
    assert_eq!(run.figures[21_900].scheduled_emission, 0);
    // To the unit, after rounding: 10M + 2 × 730 × 1,000 = 11,460,000 tokens.
    assert_eq!((run.tokens(run.final_supply())).round(), 11_460_000.0);
    assert_eq!(run.rewards_outstanding, 0);
    assert!(run.figures.iter().all(|f| f.not_emitted == 0));

    // A ten-year run already knows where the supply ends.
    let ten_years = simulate(&halving, 3_650).unwrap();
    assert_eq!(
        ten_years.asymptote,
        Some(Asymptote::Converges { supply: limit })
    );
    let summary = summarize(&ten_years);
    assert_eq!(summary.epochs_per_year, 365);
    let after: Vec<Option<f64>> = summary.supply_after.iter().map(|m| m.supply).collect();
    // Year one mints 365 × 1000 tokens; five years: 730 × (1000 + 500) + 365 × 250.
    assert_eq!(after[0], Some(10_365_000.0));
    assert_eq!(after[1], Some(11_186_250.0));
    assert_eq!(summary.first_epoch_burns_exceed_emission, None);
}

#[test]
fn reward_dust_stays_outstanding_and_counts_against_the_limit() {
    // Three providers split 80% of an odd emission: the pro-rata dust is never minted.
    let schedule = r#"
[[genesis.schedule]]
start_epoch = 0
initial_emission = 1000000001
halving_interval = 2
"#;
    let run = simulate(
        &scenario(
            &genesis(schedule, (0, 8_000, 2_000), true, 1_000_000_000 * TOKEN),
            &idle(3),
        ),
        80,
    )
    .unwrap();
    let scheduled: u64 = run.figures.iter().map(|f| f.scheduled_emission).sum();
    let dust: u64 = run.figures.iter().map(|f| f.reward_dust).sum();
    assert!(dust > 0);
    assert_eq!(run.rewards_outstanding, dust);
    assert_eq!(run.final_supply() + dust, run.initial_supply + scheduled);
    let first = &run.figures[0];
    // 80% of 1,000,000,001 = 800,000,000 (floored); 3 × 266,666,666 paid, 2 dust.
    assert_eq!(first.contribution_pool, 800_000_000);
    assert_eq!(first.treasury, 200_000_001);
    assert_eq!(first.reward_per_provider, 266_666_666);
    assert_eq!(first.reward_dust, 2);
}

#[test]
fn one_epoch_by_hand_burn_remint_split_and_equilibrium() {
    let text = format!(
        r#"
[demand]
model = "constant"
usd_per_epoch = 1000

[providers]
model = "constant"
count = 4
cost_usd_per_epoch = 2
{}"#,
        genesis(
            "[[genesis.schedule]]\nstart_epoch = 0\ninitial_emission = 1000000000",
            (6_000, 2_000, 2_000),
            false,
            1_000_000_000 * TOKEN
        )
    );
    let run = simulate(&Scenario::parse(&text, &migrations(), "hand").unwrap(), 2).unwrap();
    let first = &run.figures[0];
    // $1,000 at $0.00001 a credit = 10^8 credits = $1,000 / $2 = 500 tokens burned.
    assert_eq!(first.credits_bought, 100_000_000);
    assert_eq!(first.tokens_burned, 500 * TOKEN);
    assert_eq!(first.remint, 500 * TOKEN);
    assert_eq!(first.emission, 1_500 * TOKEN);
    assert_eq!(first.usage_pool, 900 * TOKEN);
    // No oracles: the contribution pool has no units and is not emitted.
    assert_eq!(first.contribution_pool, 0);
    assert_eq!(first.not_emitted, 300 * TOKEN);
    assert_eq!(first.treasury, 300 * TOKEN);
    assert_eq!(first.minted, 1_200 * TOKEN);
    assert_eq!(first.net_supply_change, 700 * TOKEN as i64);
    assert_eq!(first.supply, 10_000_700 * TOKEN);
    assert_eq!(first.circulating_supply, 10_000_400 * TOKEN);
    assert_eq!(first.reward_per_provider, 225 * TOKEN);
    assert_eq!(first.reward_per_provider_usd, Some(450.0));
    assert_eq!(first.provider_margin_usd, Some(448.0));
    assert_eq!(first.burn_emission_ratio, Some(500.0 / 1_200.0));
    // Minted = 0.8 × (1000 + min(b, 500)) = b → b = 1200 tokens: $1,000 / 1,200.
    let equilibrium = first.equilibrium_price_usd.unwrap();
    assert!(
        (equilibrium - 1_000.0 / 1_200.0).abs() < 1e-9,
        "{equilibrium}"
    );
}

#[test]
fn at_the_equilibrium_price_burns_equal_emission() {
    let decay = Scenario::load(&migrations().join("scenarios/decay-floor.toml")).unwrap();
    let run = simulate(&decay, 1_000).unwrap();
    for epoch in [0u64, 137, 400, 999] {
        let equilibrium = run.figures[epoch as usize].equilibrium_price_usd.unwrap();
        // Replay the same history, with the equilibrium price in `epoch` only.
        let mut pinned = decay.clone();
        pinned.token_price = Series {
            model: SeriesModel::Table {
                rows: (0..=epoch)
                    .map(|e| match e == epoch {
                        true => (e, equilibrium),
                        false => (e, run.figures[e as usize].token_price_usd),
                    })
                    .collect(),
            },
            shocks: Vec::new(),
        };
        let replay = simulate(&pinned, epoch + 1).unwrap();
        assert_eq!(
            replay.figures[..epoch as usize],
            run.figures[..epoch as usize]
        );
        let at = replay.figures.last().unwrap();
        // The pools count in full (their pro-rata dust included), within the
        // granularity of one credit: 10 micro-USD = 10 / price base units.
        let allocated = at.minted + at.reward_dust;
        let gap = at.tokens_burned.abs_diff(allocated) as f64;
        assert!(
            gap <= 10.0 / equilibrium + 2.0,
            "epoch {epoch}: burned {} allocated {allocated}",
            at.tokens_burned
        );
    }
}

#[test]
fn supply_cap_clamps_emission_and_burns_make_room() {
    // Cap 1,000 tokens above the premine: the second epoch hits it.
    let text = format!(
        r#"
[demand]
model = "linear"
usd_per_epoch = 0
increase_per_year = 36500   # + $100 an epoch

[providers]
model = "constant"
count = 1
cost_usd_per_epoch = 0
{}"#,
        genesis(
            "[[genesis.schedule]]\nstart_epoch = 0\ninitial_emission = 600000000",
            (5_000, 3_000, 2_000),
            true,
            10_001_000 * TOKEN
        )
    );
    let run = simulate(&Scenario::parse(&text, &migrations(), "cap").unwrap(), 20).unwrap();
    let cap = 10_001_000 * TOKEN;
    assert!(run.figures.iter().all(|f| f.supply <= cap));
    let clamped = &run.figures[1];
    // Epoch 0 minted 600 (no demand: the usage pool is not emitted → 300 minted);
    // epoch 1 burns 50 tokens, so 1000 − 300 + 50 = 750 remain of 650 emission.
    assert_eq!(run.figures[0].minted, 300 * TOKEN);
    assert_eq!(clamped.tokens_burned, 50 * TOKEN);
    assert_eq!(clamped.emission, 650 * TOKEN);
    assert_eq!(clamped.not_emitted, 0);
    let later = &run.figures[3];
    // From epoch 2 on the cap binds: emission beyond the headroom is not emitted, and
    // each epoch can mint back exactly what was burned.
    assert!(later.not_emitted > 0);
    assert_eq!(later.supply, cap);
    assert_eq!(later.minted, later.tokens_burned);
    match run.asymptote {
        Some(Asymptote::ReachesCap { cap: reached, .. }) => assert_eq!(reached, cap),
        other => panic!("expected the cap, got {other:?}"),
    }
}

#[test]
fn example_scenarios_parse_and_behave_as_their_comments_say() {
    let load = |name: &str| Scenario::load(&migrations().join("scenarios").join(name)).unwrap();
    let halving = simulate(&load("halving.toml"), 3_650).unwrap();
    assert_eq!(
        summarize(&halving).asymptotic_supply,
        Some(AsymptoteSummary::Converges {
            supply: halving.tokens(10_000_000 * TOKEN + 730 * (2_000 * TOKEN - 13)),
        })
    );
    let decay = simulate(&load("decay-floor.toml"), 3_650).unwrap();
    assert_eq!(
        decay.figures.last().unwrap().scheduled_emission,
        200 * TOKEN
    );
    let deflationary = summarize(&simulate(&load("deflationary.toml"), 3_650).unwrap());
    let turn = deflationary.first_epoch_burns_exceed_emission.unwrap();
    assert!((365..=1_095).contains(&turn), "{turn}");
    assert!(matches!(
        deflationary.asymptotic_supply,
        Some(AsymptoteSummary::Shrinks { .. })
    ));
    assert!(deflationary.final_supply < deflationary.initial_supply);
    // The genesis file itself is a scenario: the schedule alone.
    let bare = Scenario::load(&migrations().join("genesis.toml")).unwrap();
    assert_eq!(bare.epochs, 3_650);
    let run = simulate(&bare, 10).unwrap();
    assert!(run.figures.iter().all(|f| f.tokens_burned == 0));
}

#[test]
fn a_scenario_compared_with_itself_differs_nowhere() {
    let path = migrations().join("scenarios/decay-floor.toml");
    let a = simulate(&Scenario::load(&path).unwrap(), 3_650).unwrap();
    let b = simulate(&Scenario::load(&path).unwrap(), 3_650).unwrap();
    assert_eq!(a.figures, b.figures);
    let rows = differences(&summarize(&a), &summarize(&b));
    assert!(rows.len() >= 15);
    for row in rows {
        assert_eq!(row.a, row.b, "{}", row.figure);
        assert!(row.difference.is_none_or(|d| d == 0.0), "{}", row.figure);
    }
    let gaps = epoch_differences(&a, &b);
    assert_eq!((gaps.supply, gaps.minted, gaps.burned), (0.0, 0.0, 0.0));
}

#[test]
fn series_models_and_shocks() {
    let year = 365.0;
    let linear = Series {
        model: SeriesModel::Linear {
            start: 100.0,
            increase_per_year: -50.0,
        },
        shocks: Vec::new(),
    };
    assert_eq!(linear.value_at(365, year), 50.0);
    assert_eq!(linear.value_at(3_650, year), 0.0);
    let growth = Series {
        model: SeriesModel::Growth {
            start: 100.0,
            growth_per_year: 1.0,
        },
        shocks: vec![Shock {
            epoch: 730,
            factor: 0.25,
            recovery_epochs: 100,
        }],
    };
    assert!((growth.value_at(365, year) - 200.0).abs() < 1e-9);
    assert!((growth.value_at(730, year) - 100.0).abs() < 1e-9); // 400 × 0.25
    assert!((growth.value_at(780, year) - 400.0 * 2f64.powf(50.0 / 365.0) * 0.5).abs() < 1e-6);
    assert!((growth.value_at(830, year) - 100.0 * 2f64.powf(830.0 / 365.0)).abs() < 1e-6);
    let table = Series {
        model: SeriesModel::Table {
            rows: vec![(0, 1.0), (10, 3.0)],
        },
        shocks: Vec::new(),
    };
    assert_eq!(
        [0, 9, 10, 1_000].map(|e| table.value_at(e, year)),
        [1.0, 1.0, 3.0, 3.0]
    );
}

#[test]
fn prices_and_credits_convert_like_the_program_expects() {
    assert_eq!(oracle_price(2.0), Some((2_000_000_000_000, -12)));
    assert_eq!(oracle_price(0.37), Some((3_700_000_000_000, -13)));
    assert_eq!(oracle_price(0.0), None);
    assert_eq!(oracle_price(-1.0), None);
    assert_eq!(oracle_price(f64::NAN), None);
    assert_eq!(credits_for_usd(1_000.0, 10), 100_000_000);
    assert_eq!(credits_for_usd(0.7, 10), 70_000);
    assert_eq!(credits_for_usd(0.000_015, 10), 1);
    assert_eq!(credits_for_usd(-5.0, 10), 0);
}

#[test]
fn genesis_file_and_csv_series_resolve_against_the_scenario() {
    let directory = std::env::temp_dir().join(format!("bme-sim-unit-{}", std::process::id()));
    std::fs::create_dir_all(&directory).unwrap();
    std::fs::write(
        directory.join("series.csv"),
        "# demand in USD, price in USD\nepoch,demand_usd,price_usd\n0,1000,2\n5,0,4\n",
    )
    .unwrap();
    let text = format!(
        r#"
genesis_file = "{}"
epochs = 7

[demand]
model = "csv"
file = "series.csv"
column = "demand_usd"

[token_price]
model = "csv"
file = "series.csv"
column = "price_usd"

[providers]
model = "constant"
count = 2
cost_usd_per_epoch = 1
"#,
        migrations().join("genesis.toml").display()
    );
    let scenario = Scenario::parse(&text, &directory, "csv").unwrap();
    assert_eq!(scenario.epochs, 7);
    let run = simulate(&scenario, scenario.epochs).unwrap();
    // genesis.toml starts with no supply: epoch 0's demand finds nothing to burn.
    assert_eq!(run.figures[0].tokens_burned, 0);
    assert_eq!(run.figures[0].unmet_demand_usd, 1_000.0);
    // Then the treasury's share is all there is, and it sells.
    assert_eq!(run.figures[1].tokens_burned, 200 * TOKEN);
    assert_eq!(run.figures[4].token_price_usd, 2.0);
    assert_eq!(run.figures[5].token_price_usd, 4.0);
    assert_eq!(run.figures[5].tokens_burned, 0);
    std::fs::remove_dir_all(&directory).unwrap();
}

#[test]
fn malformed_scenarios_name_the_bad_field_in_one_line() {
    let valid_genesis = genesis(HALVING, (6_000, 2_000, 2_000), true, 1_000_000_000 * TOKEN);
    let with = |economy: &str| format!("{economy}\n{valid_genesis}");
    let cases: Vec<(String, &str)> = vec![
        (
            with("[demand]\nmodel = \"growth\"\nusd_per_epoch = 1\ngrowth_per_yer = 0.1\n[providers]\nmodel = \"constant\"\ncount = 1\ncost_usd_per_epoch = 0"),
            "demand.growth_per_yer: unknown field",
        ),
        (
            with("[demand]\nmodel = \"growth\"\nusd_per_epoch = 1\ngrowth_per_year = \"fast\"\n[providers]\nmodel = \"constant\"\ncount = 1\ncost_usd_per_epoch = 0"),
            "demand.growth_per_year: invalid type: string \"fast\", expected f64",
        ),
        (
            with("[demand]\nmodel = \"exponential\"\nusd_per_epoch = 1\n[providers]\nmodel = \"constant\"\ncount = 1\ncost_usd_per_epoch = 0"),
            "demand.model: unknown variant `exponential`",
        ),
        (
            with("[demand]\nmodel = \"constant\"\nusd_per_epoch = 1\ngrowth_per_year = 0.1\n[providers]\nmodel = \"constant\"\ncount = 1\ncost_usd_per_epoch = 0"),
            "demand.growth_per_year: not used by model = \"constant\"",
        ),
        (
            with("[demand]\nmodel = \"linear\"\nusd_per_epoch = 1\n[providers]\nmodel = \"constant\"\ncount = 1\ncost_usd_per_epoch = 0"),
            "demand.increase_per_year: required by model = \"linear\"",
        ),
        (
            with("[demand]\nmodel = \"constant\"\nusd_per_epoch = 1\n[providers]\nmodel = \"constant\"\ncount = 1"),
            "providers.cost_usd_per_epoch: missing field",
        ),
        (
            with("[demand]\nmodel = \"constant\"\nusd_per_epoch = 1\n[token_price]\nmodel = \"constant\"\nusd = 0\n[providers]\nmodel = \"constant\"\ncount = 1\ncost_usd_per_epoch = 0"),
            "token_price.usd: must be above 0",
        ),
        (
            with("[demand]\nmodel = \"constant\"\nusd_per_epoch = 1\nshocks = [{ epoch = 3, factor = -1 }]\n[providers]\nmodel = \"constant\"\ncount = 1\ncost_usd_per_epoch = 0"),
            "demand.shocks[0].factor: must be above 0",
        ),
        (
            with("[demand]\nmodel = \"constant\"\nusd_per_epoch = 1\n[providers]\nmodel = \"csv\"\nfile = \"missing.csv\"\ncost_usd_per_epoch = 0"),
            "providers.file: ",
        ),
        (
            with("epoch = 5\n[demand]\nmodel = \"constant\"\nusd_per_epoch = 1\n[providers]\nmodel = \"constant\"\ncount = 1\ncost_usd_per_epoch = 0"),
            "epoch: unknown field",
        ),
        (
            "[demand]\nmodel = \"constant\"\nusd_per_epoch = 1\n[providers]\nmodel = \"constant\"\ncount = 1\ncost_usd_per_epoch = 0".to_string(),
            "genesis: missing",
        ),
        (
            with("[demand]\nmodel = \"constant\"\nusd_per_epoch = 1\n[providers]\nmodel = \"constant\"\ncount = 1\ncost_usd_per_epoch = 0")
                .replace("decimals = 6", "decimals = 6\ndecimal = 6"),
            "genesis.token.decimal: unknown field",
        ),
        (
            with("[demand]\nmodel = \"constant\"\nusd_per_epoch = 1\n[providers]\nmodel = \"constant\"\ncount = 1\ncost_usd_per_epoch = 0")
                .replace("usage_bps = 6000", "usage_bps = 6001"),
            "genesis.split: split basis points do not sum to 10000",
        ),
        (
            with("[demand]\nmodel = \"constant\"\nusd_per_epoch = 1\n[providers]\nmodel = \"constant\"\ncount = 1\ncost_usd_per_epoch = 0")
                .replace("halving_interval = 730", "halving_interval = -730"),
            "genesis.schedule[0].halving_interval: invalid value",
        ),
        ("demand = [".to_string(), "line 1"),
    ];
    for (text, expected) in cases {
        let message = parse_error(&text);
        assert!(
            message.contains(expected),
            "expected `{expected}` in `{message}`"
        );
        assert!(!message.contains('\n'), "one line: `{message}`");
    }
}

#[test]
fn csv_errors_name_the_line() {
    let directory = std::env::temp_dir().join(format!("bme-sim-csv-{}", std::process::id()));
    std::fs::create_dir_all(&directory).unwrap();
    let cases = [
        ("epoch,usd\n1,5\n", "line 2: the first row must be epoch 0"),
        ("epoch,usd\n0,5\n0,6\n", "line 3: epoch 0 is not after 0"),
        ("epoch,usd\n0,abc\n", "line 2: usd `abc` is not a number"),
        ("epoch,usd,other\n0,1,2\n", "several value columns"),
        ("usd\n0\n", "no `epoch` column"),
        ("epoch,usd\n0,1,2\n", "line 2: 3 cells, the header has 2"),
    ];
    for (index, (text, expected)) in cases.into_iter().enumerate() {
        let path = directory.join(format!("case{index}.csv"));
        std::fs::write(&path, text).unwrap();
        let message = scenario::read_csv_column(&path, None)
            .expect_err("must be rejected")
            .to_string();
        assert!(
            message.contains(expected),
            "expected `{expected}` in `{message}`"
        );
    }
    std::fs::remove_dir_all(&directory).unwrap();
}
