//! Generates `idl/bme.json` from the program crate (`cargo run -p bme-idl`), or checks
//! that the committed file is fresh (`cargo run -p bme-idl -- --check`, used by CI).
//!
//! It drives Anchor's own IDL builder (`anchor-lang-idl`), which compiles the program
//! with the `idl-build` feature, so the result equals `anchor idl build`. The build
//! uses its own target directory because it sets different compiler flags, which
//! would otherwise invalidate the workspace's main build.

use std::path::PathBuf;
use std::process::ExitCode;

use anchor_lang_idl::build::IdlBuilder;

fn main() -> ExitCode {
    match run() {
        Ok(code) => code,
        Err(err) => {
            eprintln!("bme-idl: {err:#}");
            ExitCode::FAILURE
        }
    }
}

fn run() -> anyhow::Result<ExitCode> {
    let check = std::env::args().any(|a| a == "--check");
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .map(PathBuf::from)
        .ok_or_else(|| anyhow::anyhow!("workspace root not found"))?;
    // Inherited by the `cargo test` the builder spawns.
    std::env::set_var("CARGO_TARGET_DIR", root.join("target").join("idl"));
    // anchor-lang-idl 0.1.4 treats a set RUSTUP_TOOLCHAIN (which `cargo run` always
    // sets) as a toolchain to install, and runs `rustup toolchain install` with it,
    // which can replace the machine's toolchain. The spawned cargo resolves the same
    // toolchain without the variable, so drop it and forbid any automatic install.
    std::env::remove_var("RUSTUP_TOOLCHAIN");
    std::env::set_var("RUSTUP_AUTO_INSTALL", "0");
    let idl = IdlBuilder::new()
        .program_path(root.join("programs").join("bme"))
        .build()?;
    let fresh = serde_json::to_string_pretty(&idl)? + "\n";
    let path = root.join("idl").join("bme.json");
    if check {
        let committed = std::fs::read_to_string(&path).unwrap_or_default();
        if committed != fresh {
            eprintln!(
                "bme-idl: {} is stale; run `cargo run -p bme-idl` and commit it",
                path.display()
            );
            return Ok(ExitCode::FAILURE);
        }
        println!("bme-idl: {} is fresh", path.display());
    } else {
        std::fs::write(&path, fresh)?;
        println!("bme-idl: wrote {}", path.display());
    }
    Ok(ExitCode::SUCCESS)
}
