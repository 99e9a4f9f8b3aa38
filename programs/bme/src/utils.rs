//! Small helpers shared by instructions.

use anchor_lang::prelude::*;
use anchor_lang::system_program::{self, Allocate, Assign, CreateAccount, Transfer};
use anchor_lang::{AccountDeserialize, AccountSerialize};

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
    create_pda_account_owned_by(payer, account, system_program, space, seeds, &crate::ID)
}

/// [`create_pda_account`] for a PDA of this program that another program will own
/// (the Token-2022 credit mint): pre-funding its address cannot block it either.
pub fn create_pda_account_owned_by<'info>(
    payer: &AccountInfo<'info>,
    account: &AccountInfo<'info>,
    system_program: &AccountInfo<'info>,
    space: usize,
    seeds: &[&[u8]],
    owner: &Pubkey,
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
            owner,
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
        owner,
    )
}

/// Reads the program account of type `T` at `info`, or, when it was never created
/// (still owned by the system program, perhaps pre-funded by anyone), creates it at
/// its PDA (`seeds` end with the bump), paid by `payer`, and returns `None`: the
/// caller fills in a value and [`store`]s it.
///
/// Anchor's `init`/`init_if_needed` would do the same through the system program's
/// `CreateAccountAllowPrefund`, which runtimes without SIMD-0312 (Agave 3.1 and the
/// embedded runtime) refuse: a single lamport sent to a predictable address (the next
/// epoch's account, a protocol's proposal slot) would block its creation for good.
pub fn load_or_create<'info, T: AccountDeserialize>(
    info: &AccountInfo<'info>,
    payer: &AccountInfo<'info>,
    system_program: &AccountInfo<'info>,
    space: usize,
    seeds: &[&[u8]],
) -> Result<Option<T>> {
    if *info.owner == crate::ID {
        let data = info.try_borrow_data()?;
        return T::try_deserialize(&mut &data[..]).map(Some);
    }
    create_pda_account(payer, info, system_program, space, seeds)?;
    Ok(None)
}

/// Creates a program account that must not exist yet (see [`load_or_create`]).
pub fn create_new<'info>(
    info: &AccountInfo<'info>,
    payer: &AccountInfo<'info>,
    system_program: &AccountInfo<'info>,
    space: usize,
    seeds: &[&[u8]],
) -> Result<()> {
    require_keys_neq!(
        *info.owner,
        crate::ID,
        anchor_lang::error::ErrorCode::AccountDiscriminatorAlreadySet
    );
    create_pda_account(payer, info, system_program, space, seeds)
}

/// Writes `value` (discriminator, then fields) into its program account.
pub fn store<T: AccountSerialize>(info: &AccountInfo, value: &T) -> Result<()> {
    let mut data = info.try_borrow_mut_data()?;
    let mut writer: &mut [u8] = &mut data;
    value.try_serialize(&mut writer)
}
