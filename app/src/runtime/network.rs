//! A ready-made protocol on the embedded runtime, for tests and the demo: default
//! genesis parameters and a `Network` handle with every address a caller needs.

use crate::ix;
use crate::pda;
use anchor_lang::prelude::Pubkey;
use anchor_spl::token_2022::spl_token_2022;
use bme::instructions::{InitializeProtocolArgs, TokenSetup};
use bme::math::schedule::Segment;
use bme::state::{PoolSplit, PriceSource};
use solana_program_test::BanksClientError;
use solana_sdk::signature::{Keypair, Signer};

use super::LocalRuntime as TestFixture;

/// Decimals of the test network token.
pub const DECIMALS: u8 = 6;
/// One whole token in base units.
pub const TOKEN: u64 = 1_000_000;
/// Feed id of the test Pyth feed.
pub const FEED_ID: [u8; 32] = [7; 32];
/// Epoch length of the default genesis.
pub const EPOCH: i64 = 86_400;
/// Grace period of the default genesis.
pub const GRACE: i64 = 3_600;

/// Default genesis: daily epochs starting now, 1,000 tokens per epoch halving
/// yearly, 60/20/20 split, fixed price $2.00, credits at $0.00001, 3 oracles, M = 2.
pub fn default_args(genesis_time: i64, oracles: &[Pubkey]) -> InitializeProtocolArgs {
    InitializeProtocolArgs {
        token: TokenSetup::NewMint { decimals: DECIMALS },
        authority: Pubkey::default(),
        guardian: Pubkey::default(),
        genesis_time,
        epoch_length_secs: EPOCH as u64,
        grace_period_secs: GRACE as u64,
        schedule: vec![Segment {
            start_epoch: 0,
            initial_emission: 1_000 * TOKEN,
            halving_interval: 365,
            decay_bps: 0,
            floor: 0,
        }],
        split: PoolSplit {
            usage_bps: 6_000,
            contribution_bps: 2_000,
            treasury_bps: 2_000,
        },
        net_remint_cap: 500 * TOKEN,
        supply_cap: 1_000_000_000 * TOKEN,
        credit_price_micro_usd: 10,
        price_source: PriceSource::Fixed {
            price: 200_000_000,
            expo: -8,
        },
        rate_limit_window_secs: 86_400,
        rate_limit_max_per_window: 100_000 * TOKEN,
        max_emission_change_bps: 1_000,
        timelock_secs: 3_600,
        oracles: oracles.to_vec(),
        oracle_threshold: 2.min(oracles.len() as u8),
    }
}

/// The Pyth price source used by Pyth tests.
pub fn pyth_source(account: Pubkey) -> PriceSource {
    PriceSource::Pyth {
        feed_id: FEED_ID,
        account,
        max_age_secs: 60,
        max_conf_bps: 200,
    }
}

/// A created protocol and its keys.
pub struct Network {
    /// The network token mint.
    pub token_mint: Pubkey,
    /// SPL Token or Token-2022.
    pub token_program: Pubkey,
    /// The protocol PDA.
    pub protocol: Pubkey,
    /// The credit mint PDA.
    pub credit_mint: Pubkey,
    /// The treasury token account.
    pub treasury: Pubkey,
    /// Governance authority.
    pub authority: Keypair,
    /// Oracle keys.
    pub oracles: Vec<Keypair>,
    /// Genesis time.
    pub genesis_time: i64,
}

impl Network {
    /// Builds the genesis instruction for a new mint `mint` (which must sign).
    pub fn new_mint_genesis(
        fixture: &TestFixture,
        token_program: Pubkey,
        args: &InitializeProtocolArgs,
        mint: &Keypair,
    ) -> solana_sdk::instruction::Instruction {
        ix::initialize_protocol(
            ix::InitializeProtocolAccounts {
                payer: fixture.payer().pubkey(),
                token_mint: mint.pubkey(),
                treasury: ix::associated_token(&args.authority, &mint.pubkey(), &token_program),
                token_program,
            },
            args.clone(),
        )
    }

    /// Creates a protocol with a new network-token mint under `token_program`;
    /// `customize` adjusts the default genesis.
    pub async fn create(
        fixture: &mut TestFixture,
        token_program: Pubkey,
        customize: impl FnOnce(&mut InitializeProtocolArgs),
    ) -> Result<Network, BanksClientError> {
        let authority = Keypair::new();
        let oracles: Vec<Keypair> = (0..3).map(|_| Keypair::new()).collect();
        let keys: Vec<Pubkey> = oracles.iter().map(|k| k.pubkey()).collect();
        let mut args = default_args(fixture.now(), &keys);
        args.authority = authority.pubkey();
        args.guardian = authority.pubkey();
        customize(&mut args);
        let mint = Keypair::new();
        let genesis = Self::new_mint_genesis(fixture, token_program, &args, &mint);
        fixture.send(&[genesis], &[&mint]).await?;
        let treasury = fixture
            .create_ata(&args.authority, &mint.pubkey(), &token_program)
            .await;
        let protocol = pda::protocol(&mint.pubkey());
        Ok(Network {
            token_mint: mint.pubkey(),
            token_program,
            protocol,
            credit_mint: pda::credit_mint(&protocol),
            treasury,
            authority,
            oracles,
            genesis_time: args.genesis_time,
        })
    }

    /// Creates a protocol adopting an existing mint: the mint's authority is handed to
    /// the protocol PDA by `SetAuthority` in the same transaction as the genesis.
    pub async fn adopt(
        fixture: &mut TestFixture,
        token_program: Pubkey,
        initial_supply: u64,
        customize: impl FnOnce(&mut InitializeProtocolArgs),
    ) -> Result<Network, BanksClientError> {
        let authority = Keypair::new();
        let mint_authority = Keypair::new();
        let mint = fixture
            .create_mint(&token_program, DECIMALS, &mint_authority.pubkey(), None)
            .await
            .pubkey();
        let treasury = fixture
            .create_ata(&authority.pubkey(), &mint, &token_program)
            .await;
        if initial_supply > 0 {
            fixture
                .mint_tokens(
                    &token_program,
                    &mint,
                    &treasury,
                    &mint_authority,
                    initial_supply,
                )
                .await;
        }
        let oracles: Vec<Keypair> = (0..3).map(|_| Keypair::new()).collect();
        let keys: Vec<Pubkey> = oracles.iter().map(|k| k.pubkey()).collect();
        let mut args = default_args(fixture.now(), &keys);
        args.token = TokenSetup::ExistingMint;
        args.authority = authority.pubkey();
        args.guardian = authority.pubkey();
        customize(&mut args);
        let protocol = pda::protocol(&mint);
        let hand_over =
            crate::ix::hand_over_mint_authority(&token_program, &mint, &mint_authority.pubkey())
                .expect("set_authority");
        let genesis = ix::initialize_protocol(
            ix::InitializeProtocolAccounts {
                payer: fixture.payer().pubkey(),
                token_mint: mint,
                treasury,
                token_program,
            },
            args.clone(),
        );
        fixture
            .send(&[hand_over, genesis], &[&mint_authority])
            .await?;
        Ok(Network {
            token_mint: mint,
            token_program,
            protocol,
            credit_mint: pda::credit_mint(&protocol),
            treasury,
            authority,
            oracles,
            genesis_time: args.genesis_time,
        })
    }

    /// A new customer with SOL and `amount` network tokens in its associated account
    /// (moved from the treasury, which an adopted mint premines into).
    pub async fn fund_customer(&self, fixture: &mut TestFixture, amount: u64) -> Keypair {
        let customer = fixture.create_user(10).await;
        let account = fixture
            .create_ata(&customer.pubkey(), &self.token_mint, &self.token_program)
            .await;
        if amount > 0 {
            let transfer = spl_token_2022::instruction::transfer_checked(
                &self.token_program,
                &self.treasury,
                &self.token_mint,
                &account,
                &self.authority.pubkey(),
                &[],
                amount,
                DECIMALS,
            )
            .expect("transfer_checked");
            fixture.send_ok(&[transfer], &[&self.authority]).await;
        }
        customer
    }

    /// The customer's network-token account.
    pub fn token_account(&self, owner: &Pubkey) -> Pubkey {
        ix::associated_token(owner, &self.token_mint, &self.token_program)
    }

    /// The customer's credit account.
    pub fn credit_account(&self, owner: &Pubkey) -> Pubkey {
        ix::associated_token(owner, &self.credit_mint, &crate::ix::TOKEN_2022)
    }

    /// `buy_credits` for `buyer`, crediting `recipient`, at the current epoch.
    pub fn buy(
        &self,
        fixture: &TestFixture,
        buyer: &Pubkey,
        recipient: &Pubkey,
        purchase: bme::instructions::Purchase,
        price_update: Option<Pubkey>,
    ) -> solana_sdk::instruction::Instruction {
        ix::buy_credits(
            ix::BuyCreditsAccounts {
                buyer: *buyer,
                token_mint: self.token_mint,
                token_program: self.token_program,
                buyer_token_account: None,
                recipient: *recipient,
                price_update,
            },
            bme::instructions::BuyCreditsArgs {
                epoch: self.current_epoch(fixture),
                purchase,
            },
        )
    }

    /// Registers a provider for a new node; returns (node, owner, provider address).
    pub async fn register_provider(&self, fixture: &mut TestFixture) -> (Keypair, Keypair, Pubkey) {
        let node = Keypair::new();
        let owner = fixture.create_user(1).await;
        let destination = fixture
            .create_ata(&owner.pubkey(), &self.token_mint, &self.token_program)
            .await;
        let register = ix::register_provider(ix::RegisterProviderAccounts {
            payer: fixture.payer().pubkey(),
            node: node.pubkey(),
            owner: owner.pubkey(),
            protocol: self.protocol,
            destination,
        });
        fixture.send_ok(&[register], &[&node]).await;
        let provider = pda::provider(&self.protocol, &node.pubkey());
        (node, owner, provider)
    }

    /// `close_epoch` for `epoch`.
    pub fn close(&self, fixture: &TestFixture, epoch: u64) -> solana_sdk::instruction::Instruction {
        ix::close_epoch(
            ix::CloseEpochAccounts {
                payer: fixture.payer().pubkey(),
                protocol: self.protocol,
                token_mint: self.token_mint,
                treasury: self.treasury,
                token_program: self.token_program,
            },
            bme::instructions::CloseEpochArgs { epoch },
        )
    }

    /// `claim_rewards` for `provider`, passing the epoch accounts its closed pending
    /// slots need (read from chain).
    pub async fn claim(
        &self,
        fixture: &mut TestFixture,
        provider: &Pubkey,
    ) -> solana_sdk::instruction::Instruction {
        let account: bme::state::Provider = fixture.account(provider).await;
        let protocol: bme::state::Protocol = fixture.account(&self.protocol).await;
        let epochs = crate::crank::claimable_epochs(&protocol, &account);
        ix::claim_rewards(
            ix::ClaimRewardsAccounts {
                protocol: self.protocol,
                provider: *provider,
                destination: account.destination,
                token_mint: self.token_mint,
                token_program: self.token_program,
            },
            &epochs,
        )
    }

    /// Sets the clock to `offset` seconds into `epoch`.
    pub fn warp_to_epoch(&self, fixture: &mut TestFixture, epoch: u64, offset: i64) {
        fixture.warp_to(self.genesis_time + epoch as i64 * EPOCH + offset);
    }

    /// The epoch containing the fixture's current time.
    pub fn current_epoch(&self, fixture: &TestFixture) -> u64 {
        ((fixture.now() - self.genesis_time) / EPOCH) as u64
    }
}
