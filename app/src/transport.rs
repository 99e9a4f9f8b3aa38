//! One interface, two ways to reach a chain: a real cluster through
//! `solana-rpc-client`, and the embedded runtime (optionally persisted to a ledger
//! file so successive `bme` invocations see the same state).

use anchor_lang::prelude::Pubkey;
use solana_address_lookup_table_interface as alt;
use solana_commitment_config::CommitmentConfig;
use solana_compute_budget_interface::ComputeBudgetInstruction;
use solana_rpc_client::nonblocking::rpc_client::RpcClient;
use solana_sdk::account::Account;
use solana_sdk::clock::Clock;
use solana_sdk::instruction::Instruction;
use solana_sdk::message::{v0, AddressLookupTableAccount, VersionedMessage};
use solana_sdk::signature::{Keypair, Signature, Signer};
use solana_sdk::transaction::{Transaction, VersionedTransaction};

use crate::error::ClientError;

/// How transactions are sent.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SendOptions {
    /// Compute-unit limit to request (`None`: the runtime default).
    pub compute_unit_limit: Option<u32>,
    /// Priority fee in micro-lamports per compute unit (`None`: none).
    pub priority_fee: Option<u64>,
    /// Attempts before giving up (each with a fresh blockhash).
    pub attempts: u32,
}

/// A chain the client can read and write.
#[allow(async_fn_in_trait)]
pub trait Transport {
    /// The fee payer (also the default signer).
    fn payer(&self) -> Pubkey;
    /// Sends one transaction paid by the payer, signed by the payer and `signers`, and
    /// waits for confirmation.
    async fn send(
        &mut self,
        instructions: &[Instruction],
        signers: &[&Keypair],
    ) -> Result<Signature, ClientError>;
    /// Reads an account.
    async fn account(&mut self, address: &Pubkey) -> Result<Option<Account>, ClientError>;
    /// The cluster's unix time.
    async fn unix_time(&mut self) -> Result<i64, ClientError>;
    /// Sends one v0 transaction that looks accounts up in `tables`.
    async fn send_versioned(
        &mut self,
        instructions: &[Instruction],
        signers: &[&Keypair],
        tables: &[AddressLookupTableAccount],
    ) -> Result<Signature, ClientError>;
    /// Creates an address lookup table (owned by the payer) holding `addresses`,
    /// extending it as often as needed, and waits until it is usable.
    async fn create_lookup_table(
        &mut self,
        addresses: &[Pubkey],
    ) -> Result<AddressLookupTableAccount, ClientError>;
}

/// Prepends compute-budget instructions when requested.
pub fn with_budget(instructions: &[Instruction], options: &SendOptions) -> Vec<Instruction> {
    let mut all = Vec::with_capacity(instructions.len() + 2);
    if let Some(units) = options.compute_unit_limit {
        all.push(ComputeBudgetInstruction::set_compute_unit_limit(units));
    }
    if let Some(fee) = options.priority_fee {
        all.push(ComputeBudgetInstruction::set_compute_unit_price(fee));
    }
    all.extend_from_slice(instructions);
    all
}

/// A real cluster over JSON-RPC.
pub struct RpcTransport {
    client: RpcClient,
    payer: Keypair,
    options: SendOptions,
}

impl RpcTransport {
    /// Connects to `url` with `commitment`, paying with `payer`.
    pub fn new(
        url: &str,
        commitment: CommitmentConfig,
        payer: Keypair,
        options: SendOptions,
    ) -> Self {
        RpcTransport {
            client: RpcClient::new_with_commitment(url.to_string(), commitment),
            payer,
            options,
        }
    }
}

impl Transport for RpcTransport {
    fn payer(&self) -> Pubkey {
        self.payer.pubkey()
    }

    async fn send(
        &mut self,
        instructions: &[Instruction],
        signers: &[&Keypair],
    ) -> Result<Signature, ClientError> {
        let instructions = with_budget(instructions, &self.options);
        let mut all: Vec<&Keypair> = vec![&self.payer];
        all.extend(
            signers
                .iter()
                .copied()
                .filter(|k| k.pubkey() != self.payer.pubkey()),
        );
        let mut last_error = String::new();
        for _ in 0..self.options.attempts.max(1) {
            // A fresh blockhash each attempt: an expired one is the usual reason to retry.
            let blockhash = self
                .client
                .get_latest_blockhash()
                .await
                .map_err(|e| ClientError::Transport(e.to_string()))?;
            let tx = Transaction::new_signed_with_payer(
                &instructions,
                Some(&self.payer.pubkey()),
                &all,
                blockhash,
            );
            match self.client.send_and_confirm_transaction(&tx).await {
                Ok(signature) => return Ok(signature),
                Err(err) => {
                    let message = err.to_string();
                    // A program error will not go away by retrying.
                    if err.get_transaction_error().is_some() {
                        return Err(ClientError::Transaction(message));
                    }
                    last_error = message;
                }
            }
        }
        Err(ClientError::Transport(last_error))
    }

    async fn account(&mut self, address: &Pubkey) -> Result<Option<Account>, ClientError> {
        self.client
            .get_account_with_commitment(address, self.client.commitment())
            .await
            .map(|response| response.value)
            .map_err(|e| ClientError::Transport(e.to_string()))
    }

    async fn send_versioned(
        &mut self,
        instructions: &[Instruction],
        signers: &[&Keypair],
        tables: &[AddressLookupTableAccount],
    ) -> Result<Signature, ClientError> {
        let instructions = with_budget(instructions, &self.options);
        let mut all: Vec<&Keypair> = vec![&self.payer];
        all.extend(
            signers
                .iter()
                .copied()
                .filter(|k| k.pubkey() != self.payer.pubkey()),
        );
        let mut last_error = String::new();
        for _ in 0..self.options.attempts.max(1) {
            let blockhash = self
                .client
                .get_latest_blockhash()
                .await
                .map_err(|e| ClientError::Transport(e.to_string()))?;
            let message =
                v0::Message::try_compile(&self.payer.pubkey(), &instructions, tables, blockhash)
                    .map_err(|e| ClientError::Input(format!("cannot compile a v0 message: {e}")))?;
            let tx = VersionedTransaction::try_new(VersionedMessage::V0(message), &all)
                .map_err(|e| ClientError::Input(format!("cannot sign: {e}")))?;
            match self.client.send_and_confirm_transaction(&tx).await {
                Ok(signature) => return Ok(signature),
                Err(err) if err.get_transaction_error().is_some() => {
                    return Err(ClientError::Transaction(err.to_string()))
                }
                Err(err) => last_error = err.to_string(),
            }
        }
        Err(ClientError::Transport(last_error))
    }

    async fn create_lookup_table(
        &mut self,
        addresses: &[Pubkey],
    ) -> Result<AddressLookupTableAccount, ClientError> {
        let payer = self.payer.pubkey();
        let rpc =
            |e: solana_rpc_client_api::client_error::Error| ClientError::Transport(e.to_string());
        let slot = self.client.get_slot().await.map_err(rpc)?;
        let (create, table) = alt::instruction::create_lookup_table(payer, payer, slot);
        self.send(&[create], &[]).await?;
        // 20 addresses (640 bytes) per extension keeps each transaction well inside a packet.
        for chunk in addresses.chunks(20) {
            let extend =
                alt::instruction::extend_lookup_table(table, payer, Some(payer), chunk.to_vec());
            self.send(&[extend], &[]).await?;
        }
        // Addresses become usable in the slot after the last extension.
        let extended_at = self.client.get_slot().await.map_err(rpc)?;
        while self.client.get_slot().await.map_err(rpc)? <= extended_at {
            tokio::time::sleep(std::time::Duration::from_millis(200)).await;
        }
        Ok(AddressLookupTableAccount {
            key: table,
            addresses: addresses.to_vec(),
        })
    }

    async fn unix_time(&mut self) -> Result<i64, ClientError> {
        let account = self
            .account(&solana_sdk::sysvar::clock::ID)
            .await?
            .ok_or(ClientError::AccountNotFound(solana_sdk::sysvar::clock::ID))?;
        let clock: Clock = solana_sdk::account::from_account(&account)
            .ok_or_else(|| ClientError::Decode(solana_sdk::sysvar::clock::ID, "clock".into()))?;
        Ok(clock.unix_timestamp)
    }
}

/// Reads and decodes an Anchor account through any transport.
pub async fn read<T: anchor_lang::AccountDeserialize>(
    transport: &mut impl Transport,
    address: &Pubkey,
) -> Result<T, ClientError> {
    let account = transport
        .account(address)
        .await?
        .ok_or(ClientError::AccountNotFound(*address))?;
    T::try_deserialize(&mut account.data.as_slice())
        .map_err(|e| ClientError::Decode(*address, e.to_string()))
}
