//! `initialize_protocol`: genesis of a network's burn-and-mint economy.

use anchor_lang::prelude::*;
use anchor_lang::solana_program::program_pack::Pack;
use anchor_lang::system_program::{self, CreateAccount};
use anchor_spl::token_2022::spl_token_2022::extension::ExtensionType;
use anchor_spl::token_2022::spl_token_2022::state::Mint as SplMint2022;
use anchor_spl::token_2022::Token2022;
use anchor_spl::token_interface::{
    self, InitializeMint2, Mint, NonTransferableMintInitialize, PermanentDelegateInitialize,
    TokenAccount, TokenInterface,
};

use crate::constants::*;
use crate::error::BmeError;
use crate::events::ProtocolInitialized;
use crate::math::schedule::Segment;
use crate::state::*;
use crate::utils::{create_new, create_pda_account_owned_by, load_or_create, store};

/// How the network token comes into being.
#[derive(AnchorSerialize, AnchorDeserialize, Clone, Copy, Debug, PartialEq, Eq)]
pub enum TokenSetup {
    /// The program creates the mint (the `token_mint` account must be a fresh signer).
    NewMint {
        /// Decimals of the new token.
        decimals: u8,
    },
    /// An existing mint whose mint authority the caller has already set to the
    /// protocol PDA (typically a `SetAuthority` earlier in the same transaction).
    ExistingMint,
}

/// Genesis parameters of a protocol.
#[derive(AnchorSerialize, AnchorDeserialize, Clone, Debug, PartialEq, Eq)]
pub struct InitializeProtocolArgs {
    /// Create a new network token or adopt an existing one.
    pub token: TokenSetup,
    /// Governance authority (any address: a wallet, a multisig vault, a DAO PDA).
    pub authority: Pubkey,
    /// Guardian that may pause flows.
    pub guardian: Pubkey,
    /// Unix time at which epoch 0 starts.
    pub genesis_time: i64,
    /// Epoch length in seconds.
    pub epoch_length_secs: u64,
    /// Seconds after an epoch ends before it can close.
    pub grace_period_secs: u64,
    /// Emission schedule.
    pub schedule: Vec<Segment>,
    /// Split of each epoch's emission.
    pub split: PoolSplit,
    /// Most burned tokens re-minted per epoch.
    pub net_remint_cap: u64,
    /// Maximum total supply of the network token.
    pub supply_cap: u64,
    /// Price of one credit in micro-USD.
    pub credit_price_micro_usd: u64,
    /// Where the token price comes from.
    pub price_source: PriceSource,
    /// Mint rate-limit window in seconds.
    pub rate_limit_window_secs: u64,
    /// Most tokens mintable per window (at least twice the largest epoch mint).
    pub rate_limit_max_per_window: u64,
    /// Largest emission change a governance proposal may make, in bps.
    pub max_emission_change_bps: u16,
    /// Governance timelock in seconds.
    pub timelock_secs: u64,
    /// Initial oracle keys.
    pub oracles: Vec<Pubkey>,
    /// Signatures a report needs.
    pub oracle_threshold: u8,
}

/// Accounts of `initialize_protocol`.
#[event_cpi]
#[derive(Accounts)]
pub struct InitializeProtocol<'info> {
    /// Pays rent for every account created.
    #[account(mut)]
    pub payer: Signer<'info>,
    /// CHECK: the network token mint; validated in the handler (a fresh signer for
    /// `NewMint`, a mint owned by `token_program` whose authority is the protocol PDA
    /// for `ExistingMint`).
    #[account(mut)]
    pub token_mint: UncheckedAccount<'info>,
    /// The new protocol (created by the handler, even when its address was pre-funded).
    /// CHECK: the seeds check the address; the handler creates it, refusing an existing one.
    #[account(
        mut,
        seeds = [Protocol::SEED, token_mint.key().as_ref()],
        bump,
    )]
    pub protocol: UncheckedAccount<'info>,
    /// Program-wide protocol counter (created by the first genesis).
    /// CHECK: the seeds check the address; the handler reads or creates it.
    #[account(
        mut,
        seeds = [Registry::SEED],
        bump,
    )]
    pub registry: UncheckedAccount<'info>,
    /// CHECK: the credit mint PDA, created and initialised by the handler.
    #[account(
        mut,
        seeds = [Protocol::CREDIT_MINT_SEED, protocol.key().as_ref()],
        bump,
    )]
    pub credit_mint: UncheckedAccount<'info>,
    /// The protocol's oracle set.
    /// CHECK: the seeds check the address; the handler creates it, refusing an existing one.
    #[account(
        mut,
        seeds = [OracleSet::SEED, protocol.key().as_ref()],
        bump,
    )]
    pub oracle_set: UncheckedAccount<'info>,
    /// CHECK: token account of the network token that receives the treasury share;
    /// checked here when it already exists, and by `close_epoch` (which requires a
    /// token account of the network token at this address). For a new mint it is
    /// created after genesis, e.g. as the authority's associated token account.
    pub treasury: UncheckedAccount<'info>,
    /// The network token's program (SPL Token or Token-2022).
    pub token_program: Interface<'info, TokenInterface>,
    /// Token-2022, which owns the credit mint.
    pub credit_token_program: Program<'info, Token2022>,
    /// System program.
    pub system_program: Program<'info, System>,
}

/// Creates the protocol, its credit mint and oracle set, and takes (or creates) the
/// network token's mint authority.
pub fn handler(ctx: Context<InitializeProtocol>, args: InitializeProtocolArgs) -> Result<()> {
    let protocol_key = ctx.accounts.protocol.key();
    let protocol_bump = ctx.bumps.protocol;
    let token_mint_key = ctx.accounts.token_mint.key();
    let payer = ctx.accounts.payer.to_account_info();
    let system_program = ctx.accounts.system_program.to_account_info();
    create_new(
        &ctx.accounts.protocol,
        &payer,
        &system_program,
        Protocol::SIZE,
        &[
            Protocol::SEED,
            token_mint_key.as_ref(),
            std::slice::from_ref(&protocol_bump),
        ],
    )?;
    let registry_bump = ctx.bumps.registry;
    let registry = load_or_create::<Registry>(
        &ctx.accounts.registry,
        &payer,
        &system_program,
        Registry::SIZE,
        &[Registry::SEED, std::slice::from_ref(&registry_bump)],
    )?;
    let oracle_set_bump = ctx.bumps.oracle_set;
    create_new(
        &ctx.accounts.oracle_set,
        &payer,
        &system_program,
        OracleSet::SIZE,
        &[
            OracleSet::SEED,
            protocol_key.as_ref(),
            std::slice::from_ref(&oracle_set_bump),
        ],
    )?;

    let (decimals, supply) = match args.token {
        TokenSetup::NewMint { decimals } => {
            create_network_mint(&ctx, decimals, &protocol_key)?;
            (decimals, 0)
        }
        TokenSetup::ExistingMint => {
            let mint_info = ctx.accounts.token_mint.to_account_info();
            require_keys_eq!(
                *mint_info.owner,
                ctx.accounts.token_program.key(),
                BmeError::UnsupportedTokenProgram
            );
            let mint = Mint::try_deserialize(&mut &mint_info.try_borrow_data()?[..])?;
            require!(
                mint.mint_authority == Some(protocol_key).into(),
                BmeError::MintAuthorityNotProtocol
            );
            require!(
                mint.freeze_authority.is_none(),
                BmeError::FreezeAuthorityPresent
            );
            (mint.decimals, mint.supply)
        }
    };
    require!(args.supply_cap >= supply, BmeError::SupplyCapBelowSupply);

    // The treasury can be checked now when it already exists (existing mints).
    let treasury_info = ctx.accounts.treasury.to_account_info();
    if !treasury_info.data_is_empty() {
        require_keys_eq!(
            *treasury_info.owner,
            ctx.accounts.token_program.key(),
            BmeError::InvalidTreasury
        );
        let treasury = TokenAccount::try_deserialize(&mut &treasury_info.try_borrow_data()?[..])
            .map_err(|_| BmeError::InvalidTreasury)?;
        require_keys_eq!(treasury.mint, token_mint_key, BmeError::InvalidTreasury);
    }

    create_credit_mint(&ctx, &protocol_key)?;

    OracleSet::validate(&args.oracles, args.oracle_threshold)?;
    store(
        &ctx.accounts.oracle_set,
        &OracleSet {
            protocol: protocol_key,
            bump: oracle_set_bump,
            threshold: args.oracle_threshold,
            oracles: args.oracles.clone(),
            last_sequence: 0,
        },
    )?;

    let id = registry.map_or(0, |registry| registry.protocols);
    store(
        &ctx.accounts.registry,
        &Registry {
            bump: registry_bump,
            protocols: id.checked_add(1).ok_or(BmeError::MathOverflow)?,
        },
    )?;

    let protocol = Box::new(Protocol {
        version: STATE_VERSION,
        bump: protocol_bump,
        credit_mint_bump: ctx.bumps.credit_mint,
        id,
        token_decimals: decimals,
        paused: 0,
        token_mint: token_mint_key,
        token_program: ctx.accounts.token_program.key(),
        credit_mint: ctx.accounts.credit_mint.key(),
        treasury: ctx.accounts.treasury.key(),
        authority: args.authority,
        pending_authority: Pubkey::default(),
        guardian: args.guardian,
        genesis_time: args.genesis_time,
        epoch_length_secs: args.epoch_length_secs,
        grace_period_secs: args.grace_period_secs,
        schedule: args.schedule,
        split: args.split,
        net_remint_cap: args.net_remint_cap,
        supply_cap: args.supply_cap,
        credit_price_micro_usd: args.credit_price_micro_usd,
        price_source: args.price_source,
        mint_rate_limit: MintRateLimit {
            window_secs: args.rate_limit_window_secs,
            max_per_window: args.rate_limit_max_per_window,
            window_start: 0,
            minted_in_window: 0,
        },
        max_emission_change_bps: args.max_emission_change_bps,
        timelock_secs: args.timelock_secs,
        next_epoch_to_close: 0,
        last_scheduled_emission: 0,
        staged: None,
        totals: ProtocolTotals::default(),
        reserved: [0; PROTOCOL_RESERVED],
    });
    protocol.invariant()?;
    store(&ctx.accounts.protocol, protocol.as_ref())?;

    emit_cpi!(ProtocolInitialized {
        protocol: protocol_key,
        token_mint: token_mint_key,
        credit_mint: ctx.accounts.credit_mint.key(),
        authority: args.authority,
        genesis_time: args.genesis_time,
        epoch_length_secs: args.epoch_length_secs,
    });
    Ok(())
}

/// Creates a plain network-token mint owned by `token_program` with the protocol PDA
/// as mint authority and no freeze authority.
fn create_network_mint(
    ctx: &Context<InitializeProtocol>,
    decimals: u8,
    protocol: &Pubkey,
) -> Result<()> {
    let mint = ctx.accounts.token_mint.to_account_info();
    require!(
        mint.is_signer && mint.data_is_empty() && *mint.owner == system_program::ID,
        BmeError::InvalidNewMint
    );
    let space = anchor_spl::token::spl_token::state::Mint::LEN;
    let lamports = Rent::get()?.minimum_balance(space);
    system_program::create_account(
        CpiContext::new(
            ctx.accounts.system_program.key(),
            CreateAccount {
                from: ctx.accounts.payer.to_account_info(),
                to: mint.clone(),
            },
        ),
        lamports,
        u64::try_from(space).map_err(|_| BmeError::MathOverflow)?,
        &ctx.accounts.token_program.key(),
    )?;
    token_interface::initialize_mint2(
        CpiContext::new(ctx.accounts.token_program.key(), InitializeMint2 { mint }),
        decimals,
        protocol,
        None,
    )
}

/// Creates the Token-2022 credit mint: NonTransferable, PermanentDelegate = protocol,
/// mint authority = protocol, 0 decimals, no freeze authority.
fn create_credit_mint(ctx: &Context<InitializeProtocol>, protocol: &Pubkey) -> Result<()> {
    let credit_mint = ctx.accounts.credit_mint.to_account_info();
    let token_2022 = ctx.accounts.credit_token_program.key();
    let space = ExtensionType::try_calculate_account_len::<SplMint2022>(&[
        ExtensionType::NonTransferable,
        ExtensionType::PermanentDelegate,
    ])?;
    let bump = ctx.bumps.credit_mint;
    let credit_seeds: &[&[u8]] = &[
        Protocol::CREDIT_MINT_SEED,
        protocol.as_ref(),
        std::slice::from_ref(&bump),
    ];
    // The address is public (it derives from the token mint), so anyone could send it
    // lamports first; a plain `create_account` would then fail forever.
    create_pda_account_owned_by(
        &ctx.accounts.payer.to_account_info(),
        &credit_mint,
        &ctx.accounts.system_program.to_account_info(),
        space,
        credit_seeds,
        &token_2022,
    )?;
    token_interface::non_transferable_mint_initialize(CpiContext::new(
        token_2022,
        NonTransferableMintInitialize {
            token_program_id: ctx.accounts.credit_token_program.to_account_info(),
            mint: credit_mint.clone(),
        },
    ))?;
    token_interface::permanent_delegate_initialize(
        CpiContext::new(
            token_2022,
            PermanentDelegateInitialize {
                token_program_id: ctx.accounts.credit_token_program.to_account_info(),
                mint: credit_mint.clone(),
            },
        ),
        protocol,
    )?;
    token_interface::initialize_mint2(
        CpiContext::new(token_2022, InitializeMint2 { mint: credit_mint }),
        CREDIT_DECIMALS,
        protocol,
        None,
    )
}
