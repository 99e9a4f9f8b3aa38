//! Helpers shared by the hardening suites (substitution, edge arithmetic, events):
//! the committed IDL, and naming the error a failed transaction carries.

#![allow(dead_code)]

use solana_program_test::BanksClientError;
use solana_sdk::instruction::InstructionError;
use solana_sdk::transaction::TransactionError;

/// The committed IDL (`idl/bme.json`), which CI keeps in sync with the program.
pub const IDL: &str = include_str!("../../../idl/bme.json");

/// The parsed IDL.
pub fn idl() -> serde_json::Value {
    serde_json::from_str(IDL).expect("idl/bme.json parses")
}

/// Names of the program's instructions, from the IDL.
pub fn idl_instruction_names() -> Vec<String> {
    idl()["instructions"]
        .as_array()
        .expect("the IDL lists instructions")
        .iter()
        .map(|i| i["name"].as_str().expect("instruction name").to_string())
        .collect()
}

/// The name of a program error code (6000+), from the IDL.
pub fn bme_error_name(code: u32) -> Option<String> {
    idl()["errors"]
        .as_array()
        .expect("the IDL lists errors")
        .iter()
        .find(|e| e["code"].as_u64() == Some(u64::from(code)))
        .map(|e| e["name"].as_str().expect("error name").to_string())
}

/// How a transaction ended, as far as the hardening suites care.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// It succeeded.
    Ok,
    /// The bme program's own named error (6000+).
    Bme(String),
    /// An Anchor framework error (100..6000): account constraints, discriminators.
    Anchor(u32),
    /// A custom code below 100: the token or system program refusing a CPI.
    Program(u32),
    /// Anything else: a runtime rejection, or a panic (`ProgramFailedToComplete`).
    Other(String),
}

impl Outcome {
    /// Classifies a transaction result.
    pub fn of(result: &Result<(), BanksClientError>) -> Outcome {
        let error = match result {
            Ok(()) => return Outcome::Ok,
            Err(BanksClientError::TransactionError(error))
            | Err(BanksClientError::SimulationError { err: error, .. }) => error,
            Err(other) => return Outcome::Other(format!("{other:?}")),
        };
        match error {
            TransactionError::InstructionError(_, InstructionError::Custom(code)) => {
                if *code >= anchor_lang::error::ERROR_CODE_OFFSET {
                    match bme_error_name(*code) {
                        Some(name) => Outcome::Bme(name),
                        None => Outcome::Other(format!("unknown program error {code}")),
                    }
                } else if *code >= 100 {
                    Outcome::Anchor(*code)
                } else {
                    Outcome::Program(*code)
                }
            }
            other => Outcome::Other(format!("{other:?}")),
        }
    }

    /// A named error: the program's, Anchor's, or a token/system program's code.
    pub fn is_named_error(&self) -> bool {
        matches!(
            self,
            Outcome::Bme(_) | Outcome::Anchor(_) | Outcome::Program(_)
        )
    }
}

impl std::fmt::Display for Outcome {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Outcome::Ok => write!(f, "ok"),
            Outcome::Bme(name) => write!(f, "BmeError::{name}"),
            Outcome::Anchor(code) => write!(f, "anchor error {code}"),
            Outcome::Program(code) => write!(f, "token/system error {code}"),
            Outcome::Other(what) => write!(f, "{what}"),
        }
    }
}

/// Silences the panics solana-program-test's native CPI stub raises (it `unwrap`s a
/// refused CPI instead of returning the error; the runtime turns the panic into
/// `ProgramFailedToComplete`), so expected failures don't flood the output with
/// backtraces. Every other panic, including a failing assertion, prints as usual.
pub fn quiet_harness_panics() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        let default = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            let in_harness = info
                .location()
                .is_some_and(|l| l.file().contains("solana-program-test"));
            if !in_harness {
                default(info);
            }
        }));
    });
}
