//! The connection a command works on, built from the global options.

use std::path::PathBuf;
use std::str::FromStr;

use anchor_lang::prelude::Pubkey;
use bme::state::Protocol;
use bme_client::runtime::ledger::LedgerTransport;
use bme_client::transport::{self, RpcTransport, SendOptions, Transport};
use bme_client::{pda, ClientError};
use solana_commitment_config::CommitmentConfig;
use solana_sdk::account::Account;
use solana_sdk::instruction::Instruction;
use solana_sdk::message::AddressLookupTableAccount;
use solana_sdk::signature::{read_keypair_file, Keypair, Signature};

use super::solana_config::{self, SolanaConfig};
use super::GlobalOptions;

/// A cluster or an embedded ledger.
pub enum Chain {
    /// A real cluster.
    Rpc(Box<RpcTransport>),
    /// The embedded runtime.
    Ledger(Box<LedgerTransport>),
}

/// Reads a keypair file with a one-line error.
pub fn load_keypair(path: &std::path::Path) -> Result<Keypair, ClientError> {
    read_keypair_file(path).map_err(|e| ClientError::File {
        path: path.display().to_string(),
        message: format!("not a readable keypair file ({e})"),
    })
}

/// The signing keypair from `--keypair` or the Solana CLI config.
pub fn signer(global: &GlobalOptions) -> Result<Keypair, ClientError> {
    let config = solana_config::default_path()
        .map(|p| SolanaConfig::load(&p))
        .unwrap_or_default();
    let path = match (&global.keypair, config.keypair_path) {
        (Some(path), _) => path.clone(),
        (None, Some(path)) => PathBuf::from(path),
        (None, None) => std::env::var_os("HOME")
            .map(|home| PathBuf::from(home).join(".config/solana/id.json"))
            .ok_or_else(|| {
                ClientError::Input("no --keypair and no HOME to find the default".into())
            })?,
    };
    load_keypair(&path)
}

fn commitment(value: &str) -> Result<CommitmentConfig, ClientError> {
    match value {
        "processed" => Ok(CommitmentConfig::processed()),
        "confirmed" => Ok(CommitmentConfig::confirmed()),
        "finalized" => Ok(CommitmentConfig::finalized()),
        other => Err(ClientError::Input(format!(
            "--commitment: `{other}` is not processed, confirmed or finalized"
        ))),
    }
}

impl Chain {
    /// Connects as the global options say.
    pub async fn connect(global: &GlobalOptions) -> Result<Self, ClientError> {
        if let Some(id) = &global.program_id {
            let id = Pubkey::from_str(id).map_err(|_| {
                ClientError::Input(format!("--program-id: `{id}` is not an address"))
            })?;
            if id != bme::ID {
                return Err(ClientError::Input(format!(
                    "--program-id {id}: this build of bme targets program {}",
                    bme::ID
                )));
            }
        }
        let config = solana_config::default_path()
            .map(|p| SolanaConfig::load(&p))
            .unwrap_or_default();
        let url = global
            .url
            .clone()
            .or(config.json_rpc_url.clone())
            .unwrap_or_else(|| "http://localhost:8899".into());
        let keypair = signer(global)?;
        if let Some(path) = url.strip_prefix("embedded:") {
            let path = (!path.is_empty()).then(|| PathBuf::from(path));
            return Ok(Chain::Ledger(Box::new(
                LedgerTransport::open(path, keypair).await?,
            )));
        }
        let level = commitment(
            global
                .commitment
                .as_deref()
                .or(config.commitment.as_deref())
                .unwrap_or("confirmed"),
        )?;
        let options = SendOptions {
            compute_unit_limit: global.compute_unit_limit,
            priority_fee: global.priority_fee,
            attempts: 3,
        };
        Ok(Chain::Rpc(Box::new(RpcTransport::new(
            &solana_config::cluster_url(&url),
            level,
            keypair,
            options,
        ))))
    }

    /// Persists an embedded ledger.
    pub async fn finish(&mut self) -> Result<(), ClientError> {
        match self {
            Chain::Rpc(_) => Ok(()),
            Chain::Ledger(ledger) => ledger.save().await,
        }
    }

    /// The embedded ledger, for commands that only make sense there.
    pub fn ledger(&mut self) -> Result<&mut LedgerTransport, ClientError> {
        match self {
            Chain::Ledger(ledger) => Ok(ledger),
            Chain::Rpc(_) => Err(ClientError::Input(
                "this command needs --url embedded:<ledger file>".into(),
            )),
        }
    }

    /// The protocol named by `--mint`.
    pub async fn protocol(
        &mut self,
        global: &GlobalOptions,
    ) -> Result<(Pubkey, Protocol), ClientError> {
        let mint = mint(global)?;
        let address = pda::protocol(&mint);
        match transport::read::<Protocol>(self, &address).await {
            Ok(protocol) => Ok((address, protocol)),
            Err(ClientError::AccountNotFound(_)) | Err(ClientError::Decode(..)) => Err(
                ClientError::Input(format!("unknown protocol: no bme protocol for mint {mint}")),
            ),
            Err(other) => Err(other),
        }
    }
}

/// The `--mint` address.
pub fn mint(global: &GlobalOptions) -> Result<Pubkey, ClientError> {
    let value = global.mint.as_deref().ok_or_else(|| {
        ClientError::Input("--mint (or BME_MINT) is required: the network token mint".into())
    })?;
    Pubkey::from_str(value)
        .map_err(|_| ClientError::Input(format!("--mint: `{value}` is not an address")))
}

/// Parses an address argument.
pub fn address(name: &str, value: &str) -> Result<Pubkey, ClientError> {
    Pubkey::from_str(value)
        .map_err(|_| ClientError::Input(format!("{name}: `{value}` is not an address")))
}

impl Transport for Chain {
    fn payer(&self) -> Pubkey {
        match self {
            Chain::Rpc(t) => t.payer(),
            Chain::Ledger(t) => t.payer(),
        }
    }

    async fn send(
        &mut self,
        instructions: &[Instruction],
        signers: &[&Keypair],
    ) -> Result<Signature, ClientError> {
        match self {
            Chain::Rpc(t) => t.send(instructions, signers).await,
            Chain::Ledger(t) => t.send(instructions, signers).await,
        }
    }

    async fn account(&mut self, address: &Pubkey) -> Result<Option<Account>, ClientError> {
        match self {
            Chain::Rpc(t) => t.account(address).await,
            Chain::Ledger(t) => t.account(address).await,
        }
    }

    async fn unix_time(&mut self) -> Result<i64, ClientError> {
        match self {
            Chain::Rpc(t) => t.unix_time().await,
            Chain::Ledger(t) => t.unix_time().await,
        }
    }

    async fn send_versioned(
        &mut self,
        instructions: &[Instruction],
        signers: &[&Keypair],
        tables: &[AddressLookupTableAccount],
    ) -> Result<Signature, ClientError> {
        match self {
            Chain::Rpc(t) => t.send_versioned(instructions, signers, tables).await,
            Chain::Ledger(t) => t.send_versioned(instructions, signers, tables).await,
        }
    }

    async fn create_lookup_table(
        &mut self,
        addresses: &[Pubkey],
    ) -> Result<AddressLookupTableAccount, ClientError> {
        match self {
            Chain::Rpc(t) => t.create_lookup_table(addresses).await,
            Chain::Ledger(t) => t.create_lookup_table(addresses).await,
        }
    }
}
