//! The embedded runtime: `solana-program-test` with the bme program compiled for the
//! host and run natively, next to the real SPL Token, Token-2022 and associated-token
//! programs (which run as their BPF builds). Used by the tests, `bme demo` and the
//! simulator's cross-check. This is the one place that adapts Anchor's entry point.

use anchor_lang::prelude::{AccountInfo, Pubkey};
use anchor_lang::solana_program::entrypoint::ProgramResult;
use anchor_lang::solana_program::system_instruction;
use anchor_lang::AccountDeserialize;
use anchor_lang::{AnchorSerialize, Discriminator};
use anchor_spl::token_2022::spl_token_2022;
use pyth_solana_receiver_sdk::price_update::{PriceFeedMessage, PriceUpdateV2, VerificationLevel};
use solana_address_lookup_table_interface as alt;
use solana_program_test::{processor, ProgramTest};
use solana_program_test::{BanksClientError, ProgramTestContext};
use solana_sdk::account::Account;
use solana_sdk::clock::Clock;
use solana_sdk::instruction::Instruction;
use solana_sdk::message::{v0, AddressLookupTableAccount, VersionedMessage};
use solana_sdk::program_pack::Pack;
use solana_sdk::signature::{Keypair, Signer};
use solana_sdk::slot_hashes::SlotHashes;
use solana_sdk::transaction::{Transaction, VersionedTransaction};

pub mod ledger;
pub mod network;

/// Native entry point for the bme program inside `solana-program-test`.
///
/// Anchor 1.2's `entry` ties the program id, the account slice and the data to one
/// `'info` lifetime, while the runtime hands them over with independent lifetimes.
pub fn process_instruction(
    program_id: &Pubkey,
    accounts: &[AccountInfo],
    data: &[u8],
) -> ProgramResult {
    // SAFETY: the runtime keeps the accounts, the program id and the data alive and
    // unaliased for the whole call and Anchor does not retain any of them past its
    // return, so viewing them under one shared lifetime is sound; only the lifetime
    // parameter changes, the layout is identical.
    let accounts: &[AccountInfo<'_>] = unsafe { std::mem::transmute(accounts) };
    bme::entry(program_id, accounts, data)
}

/// A `ProgramTest` with the bme program running natively.
pub fn program_test() -> ProgramTest {
    // solana-program-test logs every transaction at debug level unless told otherwise.
    if std::env::var_os("RUST_LOG").is_none() {
        std::env::set_var("RUST_LOG", "error");
    }
    let mut program_test = ProgramTest::default();
    program_test.prefer_bpf(false);
    program_test.add_program("bme", bme::ID, processor!(process_instruction));
    program_test
}

/// What a Pyth `PriceUpdateV2` account should say.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PythPrice {
    /// The feed id.
    pub feed_id: [u8; 32],
    /// Price mantissa.
    pub price: i64,
    /// Confidence interval (same scale as the price).
    pub conf: u64,
    /// Price exponent.
    pub expo: i32,
    /// Unix publish time.
    pub publish_time: i64,
    /// Whether the update is fully verified.
    pub fully_verified: bool,
}

/// A `PriceUpdateV2` account owned by the Pyth receiver program, encoded by the Pyth
/// SDK's own types, as the receiver would write it.
pub fn pyth_price_account(price: PythPrice) -> Account {
    let update = PriceUpdateV2 {
        write_authority: Pubkey::new_unique(),
        verification_level: if price.fully_verified {
            VerificationLevel::Full
        } else {
            VerificationLevel::Partial { num_signatures: 3 }
        },
        price_message: PriceFeedMessage {
            feed_id: price.feed_id,
            price: price.price,
            conf: price.conf,
            exponent: price.expo,
            publish_time: price.publish_time,
            prev_publish_time: price.publish_time.saturating_sub(1),
            ema_price: price.price,
            ema_conf: price.conf,
        },
        posted_slot: 1,
    };
    let mut data = PriceUpdateV2::DISCRIMINATOR.to_vec();
    update
        .serialize(&mut data)
        .expect("serializing into a Vec cannot fail");
    data.resize(PriceUpdateV2::LEN.max(data.len()), 0);
    Account {
        lamports: 10_000_000,
        data,
        owner: pyth_solana_receiver_sdk::ID,
        executable: false,
        rent_epoch: 0,
    }
}

/// A running embedded runtime with its funded payer, a settable clock, and helpers
/// for users, mints and token accounts.
pub struct LocalRuntime {
    /// The program-test context.
    pub ctx: ProgramTestContext,
    /// Unix time the fixture last set (re-applied after slot warps).
    now: i64,
    /// Slot the bank is at.
    slot: u64,
    /// Pays fees instead of the context's payer when set (see [`Self::set_payer`]).
    payer: Option<Keypair>,
}

impl LocalRuntime {
    /// Starts a runtime with the bme program and the given extra accounts.
    pub async fn new(accounts: Vec<(Pubkey, Account)>) -> Self {
        let mut program_test = crate::runtime::program_test();
        for (address, account) in accounts {
            program_test.add_account(address, account);
        }
        Self::start(program_test).await
    }

    /// Starts a runtime from a prepared `ProgramTest` (e.g. [`program_test`] with extra
    /// programs added).
    pub async fn start(program_test: ProgramTest) -> Self {
        let ctx = program_test.start_with_context().await;
        let mut fixture = LocalRuntime {
            ctx,
            now: 0,
            slot: 1,
            payer: None,
        };
        let clock: Clock = fixture.ctx.banks_client.get_sysvar().await.expect("clock");
        fixture.now = clock.unix_timestamp;
        fixture.slot = clock.slot;
        fixture
    }

    /// The fixture's payer.
    pub fn payer(&self) -> Keypair {
        self.payer
            .as_ref()
            .unwrap_or(&self.ctx.payer)
            .insecure_clone()
    }

    /// Makes `payer` (which must hold SOL) the fee payer of every later transaction,
    /// so a client's own keypair pays and signs once, as on a real cluster.
    pub fn set_payer(&mut self, payer: Keypair) {
        self.payer = Some(payer);
    }

    /// Current unix time as the program sees it.
    pub fn now(&self) -> i64 {
        self.now
    }

    /// Sets the clock to `unix_timestamp` (forward or backward).
    pub fn warp_to(&mut self, unix_timestamp: i64) {
        self.now = unix_timestamp;
        let mut clock: Clock = Clock {
            slot: self.slot,
            unix_timestamp,
            ..Clock::default()
        };
        clock.epoch_start_timestamp = unix_timestamp;
        self.ctx.set_sysvar(&clock);
    }

    /// Moves to a new slot (a new blockhash, so an identical transaction is not
    /// deduplicated), keeping the clock's unix time.
    pub async fn next_slot(&mut self) {
        self.slot += 1;
        self.ctx.warp_to_slot(self.slot).expect("warp");
        self.warp_to(self.now);
        self.ctx.last_blockhash = self
            .ctx
            .banks_client
            .get_latest_blockhash()
            .await
            .expect("blockhash");
    }

    /// Moves to a new slot and signs a legacy transaction paid by the fixture's payer,
    /// refusing what a real cluster would drop: more than a 1,232-byte packet (the
    /// embedded bank itself accepts any size).
    async fn legacy_transaction(
        &mut self,
        instructions: &[Instruction],
        signers: &[&Keypair],
    ) -> Result<Transaction, BanksClientError> {
        self.next_slot().await;
        let payer = self.payer();
        let mut all: Vec<&Keypair> = vec![&payer];
        all.extend(
            signers
                .iter()
                .copied()
                .filter(|k| k.pubkey() != payer.pubkey()),
        );
        let tx = Transaction::new_signed_with_payer(
            instructions,
            Some(&payer.pubkey()),
            &all,
            self.ctx.last_blockhash,
        );
        check_packet_size(bincode::serialized_size(&tx).unwrap_or(u64::MAX))?;
        Ok(tx)
    }

    /// Sends one legacy transaction paid by the fixture's payer.
    pub async fn send(
        &mut self,
        instructions: &[Instruction],
        signers: &[&Keypair],
    ) -> Result<(), BanksClientError> {
        let tx = self.legacy_transaction(instructions, signers).await?;
        self.ctx.banks_client.process_transaction(tx).await
    }

    /// Sends one legacy transaction like [`LocalRuntime::send`] and returns what the
    /// runtime recorded about it: compute units consumed (only programs that run as
    /// BPF are metered, so a natively run bme counts just its CPIs) and log messages.
    /// A failed transaction is an error, as with `send`.
    pub async fn send_with_metadata(
        &mut self,
        instructions: &[Instruction],
        signers: &[&Keypair],
    ) -> Result<solana_program_test::BanksTransactionResultWithMetadata, BanksClientError> {
        let tx = self.legacy_transaction(instructions, signers).await?;
        let outcome = self
            .ctx
            .banks_client
            .process_transaction_with_metadata(tx)
            .await?;
        outcome.result.clone()?;
        Ok(outcome)
    }

    /// Sends and panics on failure.
    pub async fn send_ok(&mut self, instructions: &[Instruction], signers: &[&Keypair]) {
        let result = self.send(instructions, signers).await;
        if let Err(err) = result {
            panic!("transaction failed: {err:?}");
        }
    }

    /// A new keypair funded with `sol` SOL.
    pub async fn create_user(&mut self, sol: u64) -> Keypair {
        let user = Keypair::new();
        let payer = self.payer();
        self.send_ok(
            &[system_instruction::transfer(
                &payer.pubkey(),
                &user.pubkey(),
                sol * 1_000_000_000,
            )],
            &[],
        )
        .await;
        user
    }

    /// Creates a mint under `token_program`.
    pub async fn create_mint(
        &mut self,
        token_program: &Pubkey,
        decimals: u8,
        authority: &Pubkey,
        freeze_authority: Option<&Pubkey>,
    ) -> Keypair {
        let mint = Keypair::new();
        let payer = self.payer();
        let space = spl_token_2022::state::Mint::LEN;
        let rent = self.rent(space).await;
        let init = spl_token_2022::instruction::initialize_mint2(
            token_program,
            &mint.pubkey(),
            authority,
            freeze_authority,
            decimals,
        )
        .expect("initialize_mint2");
        self.send_ok(
            &[
                system_instruction::create_account(
                    &payer.pubkey(),
                    &mint.pubkey(),
                    rent,
                    space as u64,
                    token_program,
                ),
                init,
            ],
            &[&mint],
        )
        .await;
        mint
    }

    /// Rent-exempt minimum for `space` bytes.
    pub async fn rent(&mut self, space: usize) -> u64 {
        self.ctx
            .banks_client
            .get_rent()
            .await
            .expect("rent")
            .minimum_balance(space)
    }

    /// Creates (idempotently) the associated token account of `owner` for `mint`.
    pub async fn create_ata(
        &mut self,
        owner: &Pubkey,
        mint: &Pubkey,
        token_program: &Pubkey,
    ) -> Pubkey {
        let payer = self.payer();
        self.send_ok(
            &[anchor_spl::associated_token::spl_associated_token_account::instruction::create_associated_token_account_idempotent(
                &payer.pubkey(),
                owner,
                mint,
                token_program,
            )],
            &[],
        )
        .await;
        crate::ix::associated_token(owner, mint, token_program)
    }

    /// Mints `amount` to `destination` with a keypair mint authority.
    pub async fn mint_tokens(
        &mut self,
        token_program: &Pubkey,
        mint: &Pubkey,
        destination: &Pubkey,
        authority: &Keypair,
        amount: u64,
    ) {
        let ix = spl_token_2022::instruction::mint_to(
            token_program,
            mint,
            destination,
            &authority.pubkey(),
            &[],
            amount,
        )
        .expect("mint_to");
        self.send_ok(&[ix], &[authority]).await;
    }

    /// Raw account, if it exists.
    pub async fn raw_account(&mut self, address: &Pubkey) -> Option<Account> {
        self.ctx
            .banks_client
            .get_account(*address)
            .await
            .expect("get_account")
    }

    /// Decodes an Anchor account.
    pub async fn account<T: AccountDeserialize>(&mut self, address: &Pubkey) -> T {
        let account = self
            .raw_account(address)
            .await
            .unwrap_or_else(|| panic!("account {address} missing"));
        T::try_deserialize(&mut account.data.as_slice()).expect("decode account")
    }

    /// Token balance of a token account (SPL Token or Token-2022).
    pub async fn token_balance(&mut self, address: &Pubkey) -> u64 {
        let account = self
            .raw_account(address)
            .await
            .unwrap_or_else(|| panic!("token account {address} missing"));
        anchor_spl::token_interface::TokenAccount::try_deserialize(&mut account.data.as_slice())
            .expect("token account")
            .amount
    }

    /// Supply of a mint (SPL Token or Token-2022).
    pub async fn mint_supply(&mut self, mint: &Pubkey) -> u64 {
        self.mint(mint).await.supply
    }

    /// Decoded mint.
    pub async fn mint(&mut self, mint: &Pubkey) -> anchor_spl::token_interface::Mint {
        let account = self
            .raw_account(mint)
            .await
            .unwrap_or_else(|| panic!("mint {mint} missing"));
        anchor_spl::token_interface::Mint::try_deserialize(&mut account.data.as_slice())
            .expect("mint")
    }

    /// Installs or replaces an account.
    pub fn set_account(&mut self, address: &Pubkey, account: Account) {
        self.ctx.set_account(address, &account.into());
    }

    /// Snapshot of the given accounts (for "nothing changed" assertions).
    pub async fn snapshot(&mut self, addresses: &[Pubkey]) -> Vec<Option<Account>> {
        let mut out = Vec::with_capacity(addresses.len());
        for address in addresses {
            out.push(self.raw_account(address).await);
        }
        out
    }

    /// Creates an address lookup table owned by the payer holding `addresses` (repeats
    /// dropped, at most 256), extends it in as many transactions as it takes, and
    /// moves one slot on so every address is usable. Returns the table as stored.
    pub async fn create_lookup_table(
        &mut self,
        addresses: &[Pubkey],
    ) -> Result<AddressLookupTableAccount, BanksClientError> {
        let mut unique: Vec<Pubkey> = Vec::with_capacity(addresses.len());
        for address in addresses {
            if !unique.contains(address) {
                unique.push(*address);
            }
        }
        if unique.len() > crate::planner::MAX_LOOKUP_TABLE_ADDRESSES {
            return Err(BanksClientError::ClientError(
                "a lookup table holds at most 256 addresses",
            ));
        }
        let payer = self.payer();
        // The table's address derives from a slot the SlotHashes sysvar still holds.
        self.next_slot().await;
        let slot_hashes: SlotHashes = self.ctx.banks_client.get_sysvar().await?;
        let recent_slot = slot_hashes
            .first()
            .map(|(slot, _)| *slot)
            .ok_or(BanksClientError::ClientError("SlotHashes is empty"))?;
        let (create, table) =
            alt::instruction::create_lookup_table(payer.pubkey(), payer.pubkey(), recent_slot);
        self.send(&[create], &[]).await?;

        // Extend with as many addresses per transaction as fit in a packet.
        let extend = |chunk: &[Pubkey]| {
            alt::instruction::extend_lookup_table(
                table,
                payer.pubkey(),
                Some(payer.pubkey()),
                chunk.to_vec(),
            )
        };
        let mut start = 0;
        while start < unique.len() {
            let mut end = start + 1;
            while end < unique.len()
                && crate::planner::legacy_transaction_size(
                    &[extend(&unique[start..=end])],
                    &payer.pubkey(),
                ) <= crate::planner::PACKET_DATA_SIZE
            {
                end += 1;
            }
            self.send(&[extend(&unique[start..end])], &[]).await?;
            start = end;
        }
        // Addresses added in a slot become usable in the next one.
        self.next_slot().await;
        self.lookup_table(&table)
            .await
            .ok_or(BanksClientError::ClientError("lookup table not created"))
    }

    /// Reads an address lookup table back from the chain.
    pub async fn lookup_table(&mut self, address: &Pubkey) -> Option<AddressLookupTableAccount> {
        let account = self.raw_account(address).await?;
        let table = alt::state::AddressLookupTable::deserialize(&account.data).ok()?;
        Some(AddressLookupTableAccount {
            key: *address,
            addresses: table.addresses.to_vec(),
        })
    }

    /// Sends one v0 transaction paid by the fixture's payer, looking accounts up in
    /// `tables`. Like a cluster, refuses a transaction larger than
    /// [`crate::planner::PACKET_DATA_SIZE`] (which the runtime itself would accept).
    pub async fn send_versioned(
        &mut self,
        instructions: &[Instruction],
        signers: &[&Keypair],
        tables: &[AddressLookupTableAccount],
    ) -> Result<(), BanksClientError> {
        self.next_slot().await;
        let payer = self.payer();
        let mut all: Vec<&Keypair> = vec![&payer];
        all.extend(
            signers
                .iter()
                .copied()
                .filter(|k| k.pubkey() != payer.pubkey()),
        );
        let message = v0::Message::try_compile(
            &payer.pubkey(),
            instructions,
            tables,
            self.ctx.last_blockhash,
        )
        .map_err(|_| BanksClientError::ClientError("v0 message does not compile"))?;
        let transaction = VersionedTransaction::try_new(VersionedMessage::V0(message), &all)
            .map_err(|_| BanksClientError::ClientError("signing the v0 transaction failed"))?;
        check_packet_size(bincode::serialized_size(&transaction).unwrap_or(u64::MAX))?;
        self.ctx.banks_client.process_transaction(transaction).await
    }

    /// What the batch planner needs to know about `receipts`: each channel's settled
    /// amount and each customer's credit balance, read from the chain.
    pub async fn settlement_snapshot(
        &mut self,
        credit_mint: &Pubkey,
        receipts: &[crate::receipt::SignedReceipt],
    ) -> crate::planner::ChainSnapshot {
        let mut snapshot = crate::planner::ChainSnapshot::default();
        let mut channels = std::collections::HashSet::new();
        let mut customers = std::collections::HashSet::new();
        for receipt in receipts {
            let channel = receipt.channel();
            if channels.insert(channel) {
                // A channel that does not exist yet has settled nothing.
                if let Some(account) = self.raw_account(&channel).await {
                    let decoded =
                        bme::state::Channel::try_deserialize(&mut account.data.as_slice());
                    if let Ok(decoded) = decoded {
                        snapshot.settled.insert(channel, decoded.settled);
                    }
                }
            }
            if customers.insert(receipt.customer) {
                let account = crate::ix::associated_token(
                    &receipt.customer,
                    credit_mint,
                    &crate::ix::TOKEN_2022,
                );
                let balance = match self.raw_account(&account).await {
                    Some(_) => self.token_balance(&account).await,
                    None => 0,
                };
                snapshot.credits.insert(receipt.customer, balance);
            }
        }
        snapshot
    }
}

/// Refuses a serialized transaction larger than a packet, as a cluster would.
fn check_packet_size(size: u64) -> Result<(), BanksClientError> {
    if size > crate::planner::PACKET_DATA_SIZE as u64 {
        return Err(BanksClientError::ClientError(
            "transaction exceeds the 1232-byte packet limit",
        ));
    }
    Ok(())
}
