//! `bme demo`: the full lifecycle on an embedded runtime.

use bme_client::demo::{self, DemoOptions};
use bme_client::ClientError;
use clap::Args;

/// Arguments of `bme demo`.
#[derive(Debug, Args)]
pub struct DemoArgs {
    /// Epochs to run and close.
    #[arg(long, default_value_t = 5)]
    pub epochs: u64,
    /// Customers buying credits.
    #[arg(long, default_value_t = 6)]
    pub customers: usize,
    /// Providers serving them.
    #[arg(long, default_value_t = 3)]
    pub providers: usize,
    /// Seed of the usage pattern.
    #[arg(long, default_value_t = 7)]
    pub seed: u64,
}

/// Runs the demo; fails (non-zero exit) if any invariant is broken.
pub async fn run(args: DemoArgs, json: bool) -> Result<String, ClientError> {
    let report = demo::run(DemoOptions {
        epochs: args.epochs,
        customers: args.customers,
        providers: args.providers,
        seed: args.seed,
    })
    .await?;
    let text = if json {
        serde_json::to_string_pretty(&report).map_err(|e| ClientError::Input(e.to_string()))? + "\n"
    } else {
        demo::render(&report)
    };
    if report.invariants_ok {
        Ok(text)
    } else {
        Err(ClientError::Input(format!("invariants broken:\n{text}")))
    }
}
