//! Test fixture for the bme program: a real Solana runtime (`solana-program-test`)
//! with the bme program running natively (through `bme_client::runtime`, the one
//! adapter shared with the CLI) and the real SPL Token, Token-2022 and
//! associated-token programs, plus helpers for users, mints, token accounts, the
//! clock, sending transactions and asserting errors by name.

use anchor_lang::prelude::Pubkey;
use anchor_spl::token_2022::spl_token_2022;
use bme::error::BmeError;
use solana_program_test::BanksClientError;
use solana_sdk::instruction::InstructionError;
use solana_sdk::transaction::TransactionError;

pub mod genesis;
pub mod model;
pub mod vault;

/// The test fixture is the client's embedded runtime.
pub use bme_client::runtime::LocalRuntime as TestFixture;

pub use bme_client::runtime::{pyth_price_account, PythPrice};

/// SPL Token program id.
pub const SPL_TOKEN: Pubkey = anchor_spl::token::ID;
/// Token-2022 program id.
pub const TOKEN_2022: Pubkey = anchor_spl::token_2022::ID;

/// An error a failed transaction is expected to carry.
pub trait ExpectedError {
    /// The custom error code.
    fn code(&self) -> u32;
    /// A readable name for failure messages.
    fn name(&self) -> String;
}

impl ExpectedError for BmeError {
    fn code(&self) -> u32 {
        anchor_lang::error::ERROR_CODE_OFFSET + *self as u32
    }
    fn name(&self) -> String {
        format!("BmeError::{self:?}")
    }
}

impl ExpectedError for anchor_lang::error::ErrorCode {
    fn code(&self) -> u32 {
        *self as u32
    }
    fn name(&self) -> String {
        format!("anchor ErrorCode::{self:?}")
    }
}

impl ExpectedError for spl_token_2022::error::TokenError {
    fn code(&self) -> u32 {
        self.clone() as u32
    }
    fn name(&self) -> String {
        format!("TokenError::{self:?}")
    }
}

/// The custom error code a failed transaction carries, if any.
pub fn custom_code(result: &Result<(), BanksClientError>) -> Option<u32> {
    match result {
        Err(BanksClientError::TransactionError(TransactionError::InstructionError(
            _,
            InstructionError::Custom(code),
        )))
        | Err(BanksClientError::SimulationError {
            err: TransactionError::InstructionError(_, InstructionError::Custom(code)),
            ..
        }) => Some(*code),
        _ => None,
    }
}

/// Asserts that `result` failed with exactly `expected`.
#[track_caller]
pub fn assert_error(result: Result<(), BanksClientError>, expected: impl ExpectedError) {
    let code = custom_code(&result);
    assert_eq!(
        code,
        Some(expected.code()),
        "expected {} ({}), got {:?}",
        expected.name(),
        expected.code(),
        result
    );
}

/// Asserts that `result` failed with an instruction error other than a custom code
/// (e.g. a precompile or runtime rejection), returning it.
#[track_caller]
pub fn assert_failed(result: Result<(), BanksClientError>) -> BanksClientError {
    match result {
        Ok(()) => panic!("transaction unexpectedly succeeded"),
        Err(err) => err,
    }
}
