//! Small helpers shared by instructions.

use anchor_lang::prelude::*;
use anchor_lang::system_program::{self, Allocate, Assign, CreateAccount, Transfer};

use crate::error::BmeError;

/// Creates a program-owned PDA account of `space` bytes, paid by `payer`. Works even
/// when someone has already sent lamports to the address (which would make a plain
/// `create_account` fail), so nobody can block an account's creation by funding it.
pub fn create_pda_account<'info>(
    payer: &AccountInfo<'info>,
    account: &AccountInfo<'info>,
    system_program: &AccountInfo<'info>,
    space: usize,
    seeds: &[&[u8]],
) -> Result<()> {
    let rent = Rent::get()?.minimum_balance(space);
    let space_u64 = u64::try_from(space).map_err(|_| BmeError::MathOverflow)?;
    let program = system_program.key();
    if account.lamports() == 0 {
        return system_program::create_account(
            CpiContext::new_with_signer(
                program,
                CreateAccount {
                    from: payer.clone(),
                    to: account.clone(),
                },
                &[seeds],
            ),
            rent,
            space_u64,
            &crate::ID,
        );
    }
    let shortfall = rent.saturating_sub(account.lamports());
    if shortfall > 0 {
        system_program::transfer(
            CpiContext::new(
                program,
                Transfer {
                    from: payer.clone(),
                    to: account.clone(),
                },
            ),
            shortfall,
        )?;
    }
    system_program::allocate(
        CpiContext::new_with_signer(
            program,
            Allocate {
                account_to_allocate: account.clone(),
            },
            &[seeds],
        ),
        space_u64,
    )?;
    system_program::assign(
        CpiContext::new_with_signer(
            program,
            Assign {
                account_to_assign: account.clone(),
            },
            &[seeds],
        ),
        &crate::ID,
    )
}
