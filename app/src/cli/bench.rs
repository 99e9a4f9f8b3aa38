//! `bme bench`: DESIGN.md's performance figures on the embedded runtime, as a table
//! with each target beside its figure, or one JSON document.

use std::io::IsTerminal;

use bme_client::bench::{self, format_number, BenchOptions, BenchReport};
use bme_client::ClientError;
use clap::Args;

/// Arguments of `bme bench`.
#[derive(Debug, Args)]
pub struct BenchArgs {
    /// A shorter run: close epochs with 10 and 100 providers (not also 1,000), and
    /// time fewer receipts over fewer repetitions.
    #[arg(long)]
    pub quick: bool,
}

/// Runs the bench; prints the table (or JSON with `--json`). A missed target is
/// shown, not turned into a failure: timings vary by machine.
pub async fn run(args: BenchArgs, json: bool) -> Result<String, ClientError> {
    // Phases go to stderr, and only to a terminal: stdout carries the result.
    let interactive = std::io::stderr().is_terminal();
    let mut progress = |phase: &str| {
        if interactive {
            eprintln!("bench: {phase}…");
        }
    };
    let report = bench::run(BenchOptions { quick: args.quick }, &mut progress).await?;
    if json {
        Ok(
            serde_json::to_string_pretty(&report).map_err(|e| ClientError::Input(e.to_string()))?
                + "\n",
        )
    } else {
        Ok(render(&report))
    }
}

/// Renders the report as a table, then how each figure was measured.
pub fn render(report: &BenchReport) -> String {
    let mut out = format!(
        "bme bench{} — program {}, {} cores ({}), {}, load average {}\n",
        if report.quick { " --quick" } else { "" },
        report.program,
        report.machine.cores,
        report.machine.cpu,
        report.machine.os,
        if report.machine.load_average.is_empty() {
            "unknown"
        } else {
            &report.machine.load_average
        },
    );
    let name_width = report
        .rows
        .iter()
        .map(|r| r.name.chars().count())
        .max()
        .unwrap_or(0);
    let value = |v: f64| format_number(v);
    let value_width = report
        .rows
        .iter()
        .map(|r| value(r.value).len())
        .max()
        .unwrap_or(0);
    let unit_width = report
        .rows
        .iter()
        .map(|r| r.unit.chars().count())
        .max()
        .unwrap_or(0);
    let mut group = "";
    for row in &report.rows {
        if row.group != group {
            group = &row.group;
            out.push('\n');
            if group == "compute units" {
                out.push_str(&format!("{group}: {}\n", report.compute_units));
            } else {
                out.push_str(&format!("{group}\n"));
            }
        }
        let verdict = match row.pass {
            Some(true) => "ok",
            Some(false) => "FAIL",
            None if row.target.is_some() => "n/a",
            None => "",
        };
        let target = row
            .target
            .as_ref()
            .map_or(String::new(), |t| format!("target {t}"));
        out.push_str(
            format!(
                "  {:<name_width$}  {:>value_width$} {:<unit_width$}  {:<16} {verdict}",
                row.name,
                value(row.value),
                row.unit,
                target,
            )
            .trim_end(),
        );
        out.push('\n');
    }
    out.push_str("\nhow each figure was measured\n");
    for row in &report.rows {
        if !row.note.is_empty() {
            out.push_str(&format!("  {}: {}\n", row.id, row.note));
        }
    }
    out.push_str(&format!(
        "\n{} targets met, {} missed{} — {:.1} s\n",
        report.passed,
        report.failed,
        if report.program == "native" {
            " (compute-unit targets apply to SBF builds only)"
        } else {
            ""
        },
        report.wall_ms as f64 / 1000.0
    ));
    out
}
