//! `bme`: the command-line tool of the bme burn-and-mint program.

use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// Operate a bme burn-and-mint network.
#[derive(Debug, Parser)]
#[command(name = "bme", version, about)]
struct Cli {
    /// Print machine-readable JSON instead of tables.
    #[arg(long, global = true)]
    json: bool,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run a full burn-and-mint lifecycle on an embedded local runtime and check the
    /// protocol's invariants.
    Demo {
        /// Epochs to run and close.
        #[arg(long, default_value_t = 5)]
        epochs: u64,
        /// Customers buying credits.
        #[arg(long, default_value_t = 6)]
        customers: usize,
        /// Providers serving them.
        #[arg(long, default_value_t = 3)]
        providers: usize,
        /// Seed of the usage pattern.
        #[arg(long, default_value_t = 7)]
        seed: u64,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(err) => {
            eprintln!("error: cannot start the async runtime: {err}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(cli)) {
        Ok(code) => code,
        Err(err) => {
            eprintln!("error: {err}");
            ExitCode::FAILURE
        }
    }
}

async fn run(cli: Cli) -> Result<ExitCode, bme_client::ClientError> {
    match cli.command {
        Command::Demo {
            epochs,
            customers,
            providers,
            seed,
        } => {
            // The embedded runtime logs every transaction at debug level otherwise.
            if std::env::var_os("RUST_LOG").is_none() {
                std::env::set_var("RUST_LOG", "error");
            }
            // The natively run program prints its `msg!` logs to stdout; keep them out
            // of the report (and out of `--json`).
            let silence = StdoutSilencer::new();
            let report = bme_client::demo::run(bme_client::demo::DemoOptions {
                epochs,
                customers,
                providers,
                seed,
            })
            .await;
            drop(silence);
            let report = report?;
            if cli.json {
                let json = serde_json::to_string_pretty(&report)
                    .map_err(|e| bme_client::ClientError::Input(e.to_string()))?;
                println!("{json}");
            } else {
                print!("{}", bme_client::demo::render(&report));
            }
            Ok(if report.invariants_ok {
                ExitCode::SUCCESS
            } else {
                ExitCode::FAILURE
            })
        }
    }
}

/// Points file descriptor 1 at /dev/null until dropped (the program's `msg!` logs
/// go there when it runs natively).
struct StdoutSilencer {
    saved: Option<libc::c_int>,
}

impl StdoutSilencer {
    fn new() -> Self {
        use std::io::Write;
        let _ = std::io::stdout().flush();
        // SAFETY: plain POSIX calls on descriptors this process owns; failures leave
        // stdout as it was.
        let saved = unsafe {
            let null = libc::open(c"/dev/null".as_ptr(), libc::O_WRONLY);
            if null < 0 {
                return StdoutSilencer { saved: None };
            }
            let saved = libc::dup(1);
            if saved < 0 || libc::dup2(null, 1) < 0 {
                libc::close(null);
                return StdoutSilencer { saved: None };
            }
            libc::close(null);
            saved
        };
        StdoutSilencer { saved: Some(saved) }
    }
}

impl Drop for StdoutSilencer {
    fn drop(&mut self) {
        use std::io::Write;
        let _ = std::io::stdout().flush();
        if let Some(saved) = self.saved {
            // SAFETY: restores the descriptor saved in `new`.
            unsafe {
                libc::dup2(saved, 1);
                libc::close(saved);
            }
        }
    }
}
