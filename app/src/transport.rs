//! One interface, two ways to reach a chain: a real cluster through
//! `solana-rpc-client`, and the embedded runtime (optionally persisted to a ledger
//! file so successive `bme` invocations see the same state).

use anchor_lang::prelude::Pubkey;
use solana_commitment_config::CommitmentConfig;
use solana_compute_budget_interface::ComputeBudgetInstruction;
use solana_rpc_client::nonblocking::rpc_client::RpcClient;
use solana_sdk::account::Account;
use solana_sdk::clock::Clock;
use solana_sdk::instruction::Instruction;
use solana_sdk::signature::{Keypair, Signature, Signer};
use solana_sdk::transaction::Transaction;

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
