//! `bme simulate`: a tokenomics simulator that projects a network epoch by epoch on
//! the program's own math.
//!
//! The emission schedule, the credit price conversion, the close of an epoch (capped
//! re-mint, supply-cap clamp, split, pools without work units not emitted) and the
//! pro-rata rewards are the functions the on-chain program runs (`bme::math::*` and
//! `bme::instructions::close_epoch::epoch_outcome`), so a projection can only differ
//! from the chain through its inputs: the USD demand, the token price and the provider
//! count of each epoch. See [`engine::simulate`] for the per-epoch model.
//!
//! # Scenario files
//!
//! A scenario is a TOML file (examples in `migrations/scenarios/`):
//!
//! ```toml
//! name = "halving"              # label in summaries and charts (default: file stem)
//! epochs = 3650                 # horizon (default: 10 years of epochs); --epochs overrides
//!
//! # The protocol, in the format of migrations/genesis.toml, either by reference
//! # (resolved against this file's directory)…
//! genesis_file = "../genesis.toml"
//! # …or inline, every genesis table prefixed with `genesis.`:
//! # [genesis.token] … [[genesis.schedule]] … [genesis.split] … (one or the other)
//!
//! [demand]                      # USD spent on credits per epoch
//! model = "growth"              # constant | linear | growth (alias compound) | csv
//! usd_per_epoch = 500           # value at epoch 0
//! growth_per_year = 0.8         # growth: × (1 + g) per year of epochs, compounding per epoch
//! # increase_per_year = 250     # linear: USD/epoch added per year of epochs
//! # file = "series.csv"         # csv: a header with `epoch` and value columns;
//! # column = "demand_usd"       #      each row holds until the next, the last forever
//!
//! [token_price]                 # USD per whole token; optional with a fixed genesis price
//! model = "constant"            # the same models
//! usd = 2.0
//! shocks = [{ epoch = 400, factor = 0.4, recovery_epochs = 180 }]
//!                               # any parametric model: × factor from `epoch`, fading
//!                               # back over recovery_epochs (0 = permanent)
//!
//! [providers]
//! model = "growth"              # the same models; `count` is the value at epoch 0
//! count = 200
//! growth_per_year = 0.3
//! cost_usd_per_epoch = 1.50     # operating cost of one provider per epoch
//! ```
//!
//! A year of epochs is 365 days of them (`365 × 86400 / epochs.length_secs`). A bare
//! genesis file is a valid scenario too: it simulates the schedule alone (no demand,
//! one provider at no cost, the genesis' fixed price). Parsing is strict: unknown keys,
//! keys the chosen model does not use, wrong types and out-of-range values are one-line
//! errors naming the file and the dotted field.
//!
//! # Outputs
//!
//! `<out>/<name>.csv` (one row per epoch, token amounts exact to the base unit),
//! `<out>/<name>.svg` (or `<a>-vs-<b>.svg` when comparing) and a summary on stdout.

pub mod chart;
pub mod engine;
pub mod report;
pub mod scenario;
#[cfg(test)]
mod tests;

use std::path::{Path, PathBuf};

use serde::Serialize;

pub use engine::{simulate, Asymptote, EpochFigures, Simulation};
pub use report::{summarize, Difference, EpochDifferences, Summary};
pub use scenario::{Scenario, Series, SeriesModel, Shock};

use crate::error::ClientError;

/// Most epochs one run may simulate (bounds memory and the CSV's size).
pub const MAX_EPOCHS: u64 = 250_000;

/// Arguments of `bme simulate`.
#[derive(Debug, Clone, clap::Args)]
pub struct SimulateArgs {
    /// The scenario (TOML: a genesis plus demand, token price and providers; see
    /// migrations/scenarios/). A bare genesis file simulates the schedule alone.
    #[arg(long, value_name = "FILE")]
    pub scenario: PathBuf,
    /// Epochs to simulate [default: the scenario's `epochs`, else 10 years of epochs].
    #[arg(long, value_name = "N")]
    pub epochs: Option<u64>,
    /// Directory for the per-epoch CSV and the SVG chart (created if missing).
    #[arg(long, value_name = "DIR", default_value = "bme-simulation")]
    pub out: PathBuf,
    /// A second scenario to run over the same epochs and compare side by side.
    #[arg(long, value_name = "OTHER_FILE")]
    pub compare: Option<PathBuf>,
}

/// The files a run wrote.
#[derive(Debug, Clone, Serialize)]
pub struct Outputs {
    /// Per-epoch CSV of each scenario.
    pub csv: Vec<String>,
    /// The chart.
    pub svg: String,
}

/// `--json` output of `bme simulate`.
#[derive(Debug, Clone, Serialize)]
pub struct SimulateReport {
    /// The scenario's summary.
    pub summary: Summary,
    /// The compared scenario's summary.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub compare: Option<Summary>,
    /// Every summary figure of both, `compare − summary`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub differences: Option<Vec<Difference>>,
    /// Largest per-epoch differences.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub epoch_differences: Option<EpochDifferences>,
    /// What was written.
    pub files: Outputs,
}

/// Runs `bme simulate`: simulates the scenario (and the compared one), writes the
/// CSV and the chart under `--out`, and returns what to print (the summary as text,
/// or as JSON with `json`).
pub fn command(args: &SimulateArgs, json: bool) -> Result<String, ClientError> {
    let scenario = Scenario::load(&args.scenario)?;
    let other = args.compare.as_deref().map(Scenario::load).transpose()?;
    let epochs = args.epochs.unwrap_or(scenario.epochs);
    if epochs == 0 || epochs > MAX_EPOCHS {
        return Err(ClientError::Input(format!(
            "--epochs: {epochs} is not in 1..={MAX_EPOCHS}"
        )));
    }
    let primary = simulate(&scenario, epochs).map_err(|e| in_scenario(&args.scenario, e))?;
    let compared = match (&other, &args.compare) {
        (Some(other), Some(path)) => {
            Some(simulate(other, epochs).map_err(|e| in_scenario(path, e))?)
        }
        _ => None,
    };

    let mut runs: Vec<&Simulation> = vec![&primary];
    runs.extend(compared.as_ref());
    let files = write_outputs(&args.out, &runs)?;

    let summary = summarize(&primary);
    let compare_summary = compared.as_ref().map(summarize);
    let differences = compare_summary
        .as_ref()
        .map(|other| report::differences(&summary, other));
    let epoch_differences = compared
        .as_ref()
        .map(|other| report::epoch_differences(&primary, other));

    if json {
        let report = SimulateReport {
            summary,
            compare: compare_summary,
            differences,
            epoch_differences,
            files,
        };
        return serde_json::to_string_pretty(&report)
            .map(|text| text + "\n")
            .map_err(|e| ClientError::Input(format!("json: {e}")));
    }
    let mut summaries = vec![&summary];
    summaries.extend(compare_summary.as_ref());
    let mut out = format!(
        "bme simulate: {}\n",
        summaries
            .iter()
            .map(|s| s.scenario.as_str())
            .collect::<Vec<_>>()
            .join(" vs ")
    );
    out.push_str(&report::render_text(&summaries, epoch_differences.as_ref()));
    let timings: Vec<String> = summaries
        .iter()
        .map(|s| format!("{:.2} ms ({})", s.compute_ms, s.scenario))
        .collect();
    out.push_str(&format!(
        "computed {epochs} epochs in {}\nwrote {}, {}\n",
        timings.join(", "),
        files.csv.join(", "),
        files.svg
    ));
    Ok(out)
}

/// Writes the CSV of every run and their chart into `out`.
fn write_outputs(out: &Path, runs: &[&Simulation]) -> Result<Outputs, ClientError> {
    let file_error = |path: &Path, e: std::io::Error| ClientError::File {
        path: path.display().to_string(),
        message: e.to_string(),
    };
    std::fs::create_dir_all(out).map_err(|e| file_error(out, e))?;
    let mut names: Vec<String> = Vec::new();
    for run in runs {
        let mut name = slug(&run.name);
        if names.contains(&name) {
            name = format!("{name}-{}", names.len() + 1);
        }
        names.push(name);
    }
    let mut csv = Vec::new();
    for (run, name) in runs.iter().zip(&names) {
        let path = out.join(format!("{name}.csv"));
        std::fs::write(&path, report::render_csv(run)).map_err(|e| file_error(&path, e))?;
        csv.push(path.display().to_string());
    }
    let path = out.join(format!("{}.svg", names.join("-vs-")));
    let svg = chart::render_svg(runs)?;
    std::fs::write(&path, svg).map_err(|e| file_error(&path, e))?;
    Ok(Outputs {
        csv,
        svg: path.display().to_string(),
    })
}

/// A file-name-safe form of a scenario name.
fn slug(name: &str) -> String {
    let slug: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                c.to_ascii_lowercase()
            } else {
                '-'
            }
        })
        .collect();
    let slug = slug.trim_matches('-').to_string();
    if slug.is_empty() {
        "scenario".into()
    } else {
        slug
    }
}

/// Names the scenario a simulation error came from.
fn in_scenario(path: &Path, error: ClientError) -> ClientError {
    match error {
        ClientError::Input(message) => ClientError::File {
            path: path.display().to_string(),
            message,
        },
        other => other,
    }
}
