//! The `bme` binary end to end on the embedded runtime: the demo, `init` from the
//! shipped genesis file, `usage submit` with good and bad receipts, and bad input.

use std::path::{Path, PathBuf};
use std::process::Command;

use anchor_lang::prelude::Pubkey;
use bme::state::Protocol;
use bme_client::config::GenesisConfig;
use bme_client::runtime::ledger::LedgerTransport;
use bme_client::transport::read;
use bme_client::{ix, pda};
use solana_sdk::signature::{write_keypair_file, Keypair, Signer};

fn bme(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_bme"))
        .args(args)
        .env("RUST_LOG", "error")
        .env_remove("BME_MINT")
        .output()
        .expect("run bme")
}

fn stdout(output: &std::process::Output) -> String {
    assert!(
        output.status.success(),
        "bme failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout).into_owned()
}

fn keypair(dir: &Path, name: &str) -> (Keypair, String) {
    let keypair = Keypair::new();
    let path = dir.join(format!("{name}.json"));
    write_keypair_file(&keypair, &path).expect("write keypair");
    (keypair, path.display().to_string())
}

fn temp_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("bme-cli-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("temp dir");
    dir
}

#[test]
fn demo_json_reports_a_sound_lifecycle() {
    let out = stdout(&bme(&["demo", "--json", "--epochs", "3"]));
    let report: serde_json::Value = serde_json::from_str(&out).expect("one JSON document");
    assert_eq!(report["invariants_ok"], true);
    assert_eq!(report["epochs"].as_array().map(Vec::len), Some(3));
    assert!(report["credits_bought"].as_u64().unwrap() > 0);
    assert!(report["receipts_settled"].as_u64().unwrap() > 0);
    assert!(report["rewards_claimed"].as_u64().unwrap() > 0);
    assert!(report["final_supply"].as_u64().unwrap() > 0);
    for epoch in report["epochs"].as_array().unwrap() {
        for field in [
            "emission",
            "tokens_burned",
            "credits_bought",
            "credits_burned",
            "usage_units",
            "rewards_claimed",
            "supply",
        ] {
            assert!(epoch[field].is_u64(), "epoch row lacks {field}");
        }
    }
}

#[test]
fn init_creates_exactly_the_genesis_file_parameters() {
    let dir = temp_dir("init");
    let (operator, operator_path) = keypair(&dir, "operator");
    let ledger = dir.join("ledger.json").display().to_string();
    let genesis = concat!(env!("CARGO_MANIFEST_DIR"), "/../migrations/genesis.toml");
    let out = stdout(&bme(&[
        "init",
        "--config",
        genesis,
        "--url",
        &format!("embedded:{ledger}"),
        "--keypair",
        &operator_path,
        "--json",
    ]));
    let created: serde_json::Value = serde_json::from_str(&out).expect("json");
    let mint: Pubkey = created["token_mint"].as_str().unwrap().parse().unwrap();

    let config = GenesisConfig::load(Path::new(genesis)).unwrap();
    let expected = config
        .to_args(
            &operator.pubkey(),
            created["genesis_time"].as_i64().unwrap(),
        )
        .unwrap();
    let runtime = tokio::runtime::Runtime::new().unwrap();
    runtime.block_on(async {
        let mut chain =
            LedgerTransport::open(Some(PathBuf::from(&ledger)), operator.insecure_clone())
                .await
                .unwrap();
        let protocol: Protocol = read(&mut chain, &pda::protocol(&mint)).await.unwrap();
        assert_eq!(protocol.authority, expected.authority);
        assert_eq!(protocol.guardian, expected.guardian);
        assert_eq!(protocol.genesis_time, expected.genesis_time);
        assert_eq!(protocol.epoch_length_secs, expected.epoch_length_secs);
        assert_eq!(protocol.grace_period_secs, expected.grace_period_secs);
        assert_eq!(protocol.schedule, expected.schedule);
        assert_eq!(protocol.split, expected.split);
        assert_eq!(protocol.net_remint_cap, expected.net_remint_cap);
        assert_eq!(protocol.supply_cap, expected.supply_cap);
        assert_eq!(
            protocol.credit_price_micro_usd,
            expected.credit_price_micro_usd
        );
        assert_eq!(protocol.price_source, expected.price_source);
        assert_eq!(
            protocol.mint_rate_limit.window_secs,
            expected.rate_limit_window_secs
        );
        assert_eq!(
            protocol.mint_rate_limit.max_per_window,
            expected.rate_limit_max_per_window
        );
        assert_eq!(
            protocol.max_emission_change_bps,
            expected.max_emission_change_bps
        );
        assert_eq!(protocol.timelock_secs, expected.timelock_secs);
        assert_eq!(protocol.token_decimals, 6);
        assert_eq!(protocol.token_program, anchor_spl::token::ID);
    });
    // `status` reads it back.
    let status = stdout(&bme(&[
        "status",
        "--url",
        &format!("embedded:{ledger}"),
        "--keypair",
        &operator_path,
        "--mint",
        &mint.to_string(),
        "--json",
    ]));
    let status: serde_json::Value = serde_json::from_str(&status).unwrap();
    assert_eq!(status["next_epoch_to_close"], 0);
    assert_eq!(status["supply_cap"], 1_000_000_000_000_000u64);
}

/// A protocol over an existing token on an embedded ledger, with customers holding
/// 10,000 credits each and one registered provider, all set up through the CLI.
struct CliNetwork {
    dir: PathBuf,
    url: String,
    mint: Pubkey,
    operator: String,
    customers: Vec<(Keypair, String)>,
    provider: String,
}

impl CliNetwork {
    fn new(name: &str, customers: usize) -> Self {
        let dir = temp_dir(name);
        let (operator_key, operator) = keypair(&dir, "operator");
        let ledger_path = dir.join("ledger.json");
        let url = format!("embedded:{}", ledger_path.display());
        let customers: Vec<(Keypair, String)> = (0..customers)
            .map(|i| keypair(&dir, &format!("customer{i}")))
            .collect();
        // An existing token, premined to the customers; the operator is its mint authority.
        let runtime = tokio::runtime::Runtime::new().unwrap();
        let mint = runtime.block_on(async {
            let mut chain =
                LedgerTransport::open(Some(ledger_path.clone()), operator_key.insecure_clone())
                    .await
                    .unwrap();
            let mint = chain
                .runtime
                .create_mint(&ix::SPL_TOKEN, 6, &operator_key.pubkey(), None)
                .await
                .pubkey();
            let mut addresses = vec![mint];
            for (customer, _) in &customers {
                let account = chain
                    .runtime
                    .create_ata(&customer.pubkey(), &mint, &ix::SPL_TOKEN)
                    .await;
                chain
                    .runtime
                    .mint_tokens(&ix::SPL_TOKEN, &mint, &account, &operator_key, 100_000_000)
                    .await;
                addresses.push(account);
            }
            chain.remember(&addresses);
            chain.save().await.unwrap();
            mint
        });
        let genesis = std::fs::read_to_string(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../migrations/genesis.toml"
        ))
        .unwrap()
        .replace(
            "mode = \"new\"",
            &format!("mode = \"existing\"\nmint = \"{mint}\""),
        );
        let genesis_path = dir.join("genesis.toml");
        std::fs::write(&genesis_path, genesis).unwrap();
        let mut network = CliNetwork {
            dir,
            url,
            mint,
            operator,
            customers,
            provider: String::new(),
        };
        let operator = network.operator.clone();
        stdout(&network.run(
            &operator,
            &["init", "--config", genesis_path.to_str().unwrap()],
        ));
        for (_, path) in &network.customers {
            stdout(&network.run(path, &["credits", "buy", "--credits", "10000"]));
        }
        let (node, node_path) = keypair(&network.dir, "node");
        stdout(&network.run(
            &operator,
            &["provider", "register", "--node-keypair", &node_path],
        ));
        network.provider = pda::provider(&pda::protocol(&mint), &node.pubkey()).to_string();
        network
    }

    /// Runs `bme` on this network as `keypair`.
    fn run(&self, keypair: &str, args: &[&str]) -> std::process::Output {
        let mut all: Vec<String> = args.iter().map(|s| s.to_string()).collect();
        all.extend([
            "--url".to_string(),
            self.url.clone(),
            "--keypair".into(),
            keypair.to_string(),
            "--mint".into(),
            self.mint.to_string(),
        ]);
        let refs: Vec<&str> = all.iter().map(String::as_str).collect();
        bme(&refs)
    }

    /// Signs a receipt as customer `i`, appending it to `file`.
    fn sign(&self, i: usize, cumulative: u64, file: &Path) {
        stdout(&self.run(
            &self.customers[i].1,
            &[
                "receipt",
                "sign",
                "--provider",
                &self.provider,
                "--cumulative",
                &cumulative.to_string(),
                "--out",
                file.to_str().unwrap(),
            ],
        ));
    }
}

#[test]
fn usage_submit_settles_exactly_the_valid_receipts_and_nothing_twice() {
    let network = CliNetwork::new("usage", 3);
    // Receipts: two valid, one forged, one unaffordable, one superseded.
    let receipts = network.dir.join("receipts.jsonl");
    network.sign(0, 300, &receipts);
    network.sign(0, 500, &receipts);
    network.sign(1, 20_000, &receipts);
    network.sign(2, 700, &receipts);
    // A forged line: customer 2's signature presented as customer 1's.
    let forged = {
        let out = stdout(&network.run(
            &network.customers[2].1,
            &[
                "receipt",
                "sign",
                "--provider",
                &network.provider,
                "--cumulative",
                "1",
            ],
        ));
        let mut r: serde_json::Value = serde_json::from_str(&out).unwrap();
        r["customer"] = serde_json::Value::String(network.customers[1].0.pubkey().to_string());
        r.to_string()
    };
    let mut text = std::fs::read_to_string(&receipts).unwrap();
    text.push_str(&forged);
    text.push('\n');
    std::fs::write(&receipts, text).unwrap();

    let file = receipts.to_str().unwrap();
    let out = stdout(&network.run(&network.operator, &["usage", "submit", file, "--json"]));
    let report: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(report["settled"], 2, "{report}");
    assert_eq!(report["credits"], 1_200);
    let reasons: Vec<String> = report["skipped"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["reason"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(reasons.len(), 3, "{reasons:?}");
    assert!(
        reasons.iter().any(|r| r.contains("superseded")),
        "{reasons:?}"
    );
    assert!(
        reasons.iter().any(|r| r.contains("signature")),
        "{reasons:?}"
    );
    assert!(reasons.iter().any(|r| r.contains("credits")), "{reasons:?}");

    // A second run settles nothing new.
    let again: serde_json::Value = serde_json::from_str(&stdout(
        &network.run(&network.operator, &["usage", "submit", file, "--json"]),
    ))
    .unwrap();
    assert_eq!(again["settled"], 0);
    assert!(again["skipped"]
        .as_array()
        .unwrap()
        .iter()
        .any(|s| s["reason"].as_str().unwrap().contains("not newer")));
}

#[test]
fn usage_submit_packs_many_receipts_into_v0_transactions_over_a_lookup_table() {
    let network = CliNetwork::new("usage-v0", 24);
    let receipts = network.dir.join("receipts.jsonl");
    for i in 0..24 {
        network.sign(i, 100 + i as u64, &receipts);
    }
    let file = receipts.to_str().unwrap();
    let out = stdout(&network.run(&network.operator, &["usage", "submit", file, "--json"]));
    let report: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(report["settled"], 24, "{report}");
    assert_eq!(report["v0"], true, "{report}");
    // Six receipts per v0 transaction; legacy would need eight.
    assert_eq!(report["transactions"], 4, "{report}");
    assert_eq!(report["credits"], (0..24).map(|i| 100 + i).sum::<u64>());
}

#[test]
fn bad_input_exits_non_zero_with_one_line() {
    let dir = temp_dir("bad");
    let (_, operator) = keypair(&dir, "operator");
    let ledger = format!("embedded:{}", dir.join("ledger.json").display());
    let garbage = dir.join("garbage");
    std::fs::write(&garbage, "not a keypair").unwrap();
    let malformed_config = dir.join("bad.toml");
    std::fs::write(
        &malformed_config,
        "[token]\nmode = \"new\"\nprogram = \"spl-token\"\ndecimalz = 6\n",
    )
    .unwrap();
    let malformed_receipts = dir.join("bad.jsonl");
    std::fs::write(&malformed_receipts, "{\"customer\": 1}\n").unwrap();
    let unknown_mint = Pubkey::new_unique().to_string();
    let cases: Vec<(Vec<String>, &str)> = vec![
        (
            vec![
                "status".into(),
                "--url".into(),
                ledger.clone(),
                "--keypair".into(),
                garbage.display().to_string(),
                "--mint".into(),
                unknown_mint.clone(),
            ],
            "keypair",
        ),
        (
            vec![
                "init".into(),
                "--config".into(),
                malformed_config.display().to_string(),
                "--url".into(),
                ledger.clone(),
                "--keypair".into(),
                operator.clone(),
            ],
            "decimalz",
        ),
        (
            vec![
                "usage".into(),
                "submit".into(),
                malformed_receipts.display().to_string(),
                "--url".into(),
                ledger.clone(),
                "--keypair".into(),
                operator.clone(),
                "--mint".into(),
                unknown_mint.clone(),
            ],
            "line 1",
        ),
        (
            vec![
                "status".into(),
                "--url".into(),
                ledger.clone(),
                "--keypair".into(),
                operator.clone(),
                "--mint".into(),
                unknown_mint.clone(),
            ],
            "unknown protocol",
        ),
        (
            vec![
                "status".into(),
                "--url".into(),
                ledger.clone(),
                "--keypair".into(),
                operator.clone(),
                "--mint".into(),
                "xyz".into(),
            ],
            "not an address",
        ),
    ];
    for (args, needle) in cases {
        let refs: Vec<&str> = args.iter().map(String::as_str).collect();
        let output = bme(&refs);
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(!output.status.success(), "{args:?} should fail");
        assert_eq!(
            stderr.trim_end().lines().count(),
            1,
            "{args:?}: not one line: {stderr}"
        );
        assert!(
            stderr.contains(needle),
            "{args:?}: `{needle}` missing from: {stderr}"
        );
        assert!(!stderr.contains("panicked"), "{args:?} panicked: {stderr}");
    }
}
