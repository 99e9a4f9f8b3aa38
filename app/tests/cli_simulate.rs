//! The built `bme simulate` binary: one-line errors naming the bad field, `--json`
//! summaries, and `--compare` of a scenario with itself.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// The repository's example scenarios.
fn scenarios() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../migrations/scenarios")
}

/// A fresh directory under the system's temp dir.
fn scratch(name: &str) -> PathBuf {
    let directory =
        std::env::temp_dir().join(format!("bme-cli-simulate-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&directory);
    std::fs::create_dir_all(&directory).expect("scratch directory");
    directory
}

/// Runs `bme simulate` with `args`.
fn simulate(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_bme"))
        .arg("simulate")
        .args(args)
        .env("RUST_LOG", "error")
        .output()
        .expect("run bme")
}

/// The one line a failed run prints.
fn failure(output: &Output) -> String {
    assert!(!output.status.success(), "the run should fail");
    assert!(output.stdout.is_empty(), "nothing on stdout");
    let stderr = String::from_utf8(output.stderr.clone()).unwrap();
    assert_eq!(stderr.lines().count(), 1, "one line: {stderr:?}");
    stderr.trim_end().to_string()
}

#[test]
fn a_malformed_scenario_fails_with_one_line_naming_the_field() {
    let directory = scratch("malformed");
    let out = directory.join("out");
    let good = std::fs::read_to_string(scenarios().join("deflationary.toml")).unwrap();
    let cases = [
        (
            good.replace("growth_per_year = 0.6", "growth_per_year = \"fast\""),
            "demand.growth_per_year: invalid type: string \"fast\", expected f64",
        ),
        (
            good.replace(
                "usd_per_epoch = 1000",
                "usd_per_epoch = 1000\nusd_per_day = 5",
            ),
            "demand.usd_per_day: unknown field",
        ),
        (
            good.replace("floor = 100000000", "floor = 10000000000"),
            "genesis.schedule: segment floor is above its initial emission",
        ),
        (
            good.replace("cost_usd_per_epoch = 1.00", "cost_usd_per_epoch = -1"),
            "providers.cost_usd_per_epoch: must be a number of USD, 0 or more",
        ),
    ];
    for (index, (text, expected)) in cases.iter().enumerate() {
        let path = directory.join(format!("bad{index}.toml"));
        std::fs::write(&path, text).unwrap();
        let line = failure(&simulate(&[
            "--scenario",
            path.to_str().unwrap(),
            "--out",
            out.to_str().unwrap(),
        ]));
        assert!(line.starts_with("error: "), "{line}");
        assert!(
            line.contains(&path.display().to_string()),
            "names the file: {line}"
        );
        assert!(line.contains(expected), "expected `{expected}` in `{line}`");
    }
    assert!(!out.exists(), "nothing written for a bad scenario");

    let line = failure(&simulate(&[
        "--scenario",
        scenarios().join("halving.toml").to_str().unwrap(),
        "--epochs",
        "0",
        "--out",
        out.to_str().unwrap(),
    ]));
    assert!(line.contains("--epochs"), "{line}");
    let missing = directory.join("missing.toml");
    let line = failure(&simulate(&["--scenario", missing.to_str().unwrap()]));
    assert!(line.contains("missing.toml"), "{line}");
    std::fs::remove_dir_all(&directory).unwrap();
}

#[test]
fn compare_with_itself_prints_zero_differences_as_json() {
    let directory = scratch("compare");
    let scenario = scenarios().join("decay-floor.toml");
    let output = simulate(&[
        "--scenario",
        scenario.to_str().unwrap(),
        "--compare",
        scenario.to_str().unwrap(),
        "--out",
        directory.to_str().unwrap(),
        "--json",
    ]);
    assert!(output.status.success(), "{output:?}");
    let report: serde_json::Value = serde_json::from_slice(&output.stdout).expect("JSON");
    assert_eq!(report["summary"]["epochs"], 3650);
    assert_eq!(report["summary"]["scenario"], "decay-floor");
    let differences = report["differences"].as_array().unwrap();
    assert!(differences.len() >= 15);
    for row in differences {
        assert_eq!(row["a"], row["b"], "{row}");
        assert!(
            row["difference"].is_null() || row["difference"] == 0.0,
            "{row}"
        );
    }
    for figure in ["supply", "minted", "burned", "not_emitted"] {
        assert_eq!(report["epoch_differences"][figure], 0.0, "{figure}");
    }
    let files = &report["files"];
    assert_eq!(files["csv"].as_array().unwrap().len(), 2);
    let svg = files["svg"].as_str().unwrap();
    assert!(svg.ends_with("decay-floor-vs-decay-floor-2.svg"), "{svg}");
    assert!(std::fs::read_to_string(svg).unwrap().contains("<svg"));
    std::fs::remove_dir_all(&directory).unwrap();
}

#[test]
fn the_summary_reports_supply_marks_and_the_turn_to_deflation() {
    let directory = scratch("summary");
    let output = simulate(&[
        "--scenario",
        scenarios().join("deflationary.toml").to_str().unwrap(),
        "--out",
        directory.to_str().unwrap(),
    ]);
    assert!(output.status.success(), "{output:?}");
    let text = String::from_utf8(output.stdout).unwrap();
    for expected in [
        "supply after 1 year",
        "supply after 5 years",
        "supply after 10 years",
        "asymptotic supply",
        "none (shrinks)",
        "first epoch burns > emission",
        "computed 3650 epochs in",
    ] {
        assert!(
            text.contains(expected),
            "`{expected}` missing from:\n{text}"
        );
    }
    let csv = std::fs::read_to_string(directory.join("deflationary.csv")).unwrap();
    assert_eq!(csv.lines().count(), 3651);
    assert!(csv.starts_with("epoch,year,demand_usd,"));
    std::fs::remove_dir_all(&directory).unwrap();
}
