//! `bme bench --json --quick` end to end: the figures DESIGN.md sets for the shape of
//! transactions and state meet their targets; timings are reported, not judged.

use std::process::Command;

use serde_json::Value;

fn row<'a>(report: &'a Value, id: &str) -> &'a Value {
    report["rows"]
        .as_array()
        .expect("rows")
        .iter()
        .find(|row| row["id"] == id)
        .unwrap_or_else(|| panic!("no row `{id}`"))
}

fn value(report: &Value, id: &str) -> f64 {
    row(report, id)["value"]
        .as_f64()
        .unwrap_or_else(|| panic!("row `{id}` has no numeric value"))
}

#[test]
fn quick_bench_meets_the_on_chain_structure_targets() {
    let output = Command::new(env!("CARGO_BIN_EXE_bme"))
        .args(["bench", "--json", "--quick"])
        .env("RUST_LOG", "error")
        .env_remove("BME_MINT")
        .output()
        .expect("run bme");
    assert!(
        output.status.success(),
        "bme bench failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    let report: Value =
        serde_json::from_slice(&output.stdout).expect("stdout is one JSON document");
    assert_eq!(report["quick"], true);
    assert!(["native", "sbf"].contains(&report["program"].as_str().unwrap()));

    // Every row says what it is, in which unit, and judges only where a target applies.
    for row in report["rows"].as_array().unwrap() {
        for field in ["id", "group", "name", "unit", "note"] {
            assert!(row[field].is_string(), "{field} missing in {row}");
        }
        assert!(row["value"].is_number(), "value missing in {row}");
        if row["pass"].is_boolean() {
            assert!(row["target"].is_string(), "verdict without a target: {row}");
        }
    }

    assert!(value(&report, "settle.receipts_per_tx.v0") >= 6.0);
    assert!(value(&report, "settle.receipts_per_tx.legacy") >= 1.0);
    assert!(
        value(&report, "settle.receipts_per_tx.v0")
            > value(&report, "settle.receipts_per_tx.legacy")
    );
    assert!(
        value(&report, "settle.bytes_per_receipt.v0")
            < value(&report, "settle.bytes_per_receipt.legacy")
    );
    assert!(value(&report, "report.providers_per_tx") >= 25.0);
    assert!(value(&report, "state.provider.bytes") <= 128.0);
    assert!(value(&report, "state.channel.bytes") <= 96.0);
    assert!(value(&report, "state.epoch.bytes") > 0.0);
    for id in [
        "state.provider.rent",
        "state.channel.rent",
        "state.epoch.rent",
    ] {
        assert!(value(&report, id) > 0.0, "{id}");
    }
    for id in [
        "close.tx.10",
        "close.tx.100",
        "claim.tx.1",
        "claim.tx.10",
        "claim.tx.100",
    ] {
        assert_eq!(value(&report, id), 1.0, "{id}");
    }
    // Quick mode leaves out the 1,000-provider close.
    assert!(report["rows"]
        .as_array()
        .unwrap()
        .iter()
        .all(|row| row["id"] != "close.tx.1000"));
    for id in [
        "settle.receipts_per_tx.v0",
        "report.providers_per_tx",
        "state.provider.bytes",
        "state.channel.bytes",
        "close.tx.10",
        "close.tx.100",
        "claim.tx.100",
    ] {
        assert_eq!(row(&report, id)["pass"], true, "{id}");
    }

    // Compute units are present for the metered instructions; a native run does not
    // judge them.
    for id in [
        "cu.buy_credits",
        "cu.settle_usage",
        "cu.close_epoch",
        "cu.claim_rewards",
        "cu.submit_contribution_report",
    ] {
        let cu = row(&report, id);
        assert!(cu["value"].as_f64().unwrap() >= 0.0, "{id}");
        if report["program"] == "native" {
            assert!(cu["pass"].is_null(), "{id} judged natively");
            assert!(cu["note"]
                .as_str()
                .unwrap()
                .contains("native program not metered"));
        }
    }
    // Buying credits burns with SPL Token and mints with Token-2022, both metered.
    assert!(value(&report, "cu.buy_credits") > 0.0);

    // Timings are reported, not judged (beyond being measured at all).
    for id in [
        "offchain.store_verified_per_s",
        "offchain.dalek_verified_per_s",
        "offchain.store_vs_dalek",
        "offchain.planned_per_s",
        "demo.wall_ms",
    ] {
        assert!(value(&report, id) > 0.0, "{id}");
    }
    assert!(report["wall_ms"].as_u64().unwrap() > 0);
}
