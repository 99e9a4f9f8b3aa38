//! `bme`: the command-line tool of the bme burn-and-mint program.

mod cli;

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    let cli = cli::Cli::parse();
    // The embedded runtime logs every transaction at debug level otherwise.
    if std::env::var_os("RUST_LOG").is_none() {
        std::env::set_var("RUST_LOG", "error");
    }
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
    // The natively run program prints its `msg!` logs to stdout; keep them out of
    // what the command prints (and out of `--json`).
    let silence = StdoutSilencer::new();
    let result = runtime.block_on(cli::run(cli));
    drop(silence);
    match result {
        Ok(text) => {
            print!("{text}");
            ExitCode::SUCCESS
        }
        Err(err) => {
            eprintln!("error: {}", err.to_string().replace('\n', " "));
            ExitCode::FAILURE
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
        // SAFETY: plain POSIX calls on descriptors this process owns; any failure
        // leaves stdout as it was.
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
