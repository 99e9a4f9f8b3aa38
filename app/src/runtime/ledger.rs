//! The embedded runtime as a [`Transport`], optionally persisted to a JSON ledger
//! file (`--url embedded:<file>`), so that successive `bme` commands — `init`, then
//! `credits buy`, then `usage submit` — act on the same local chain, and `bme demo`
//! and the CLI's tests need no validator.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::str::FromStr;

use anchor_lang::prelude::Pubkey;
use base64::Engine;
use serde::{Deserialize, Serialize};
use solana_sdk::account::Account;
use solana_sdk::instruction::Instruction;
use solana_sdk::message::AddressLookupTableAccount;
use solana_sdk::signature::{Keypair, Signature, Signer};

use super::LocalRuntime;
use crate::error::ClientError;
use crate::transport::Transport;

/// Lamports given to the CLI's keypair on a fresh embedded ledger.
const AIRDROP: u64 = 1_000 * 1_000_000_000;

/// One stored account.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct StoredAccount {
    lamports: u64,
    owner: String,
    executable: bool,
    data: String,
}

/// The ledger file.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
struct LedgerFile {
    unix_time: i64,
    accounts: BTreeMap<String, StoredAccount>,
}

/// The embedded runtime with a signing keypair, persisted to `path` when given.
pub struct LedgerTransport {
    /// The runtime.
    pub runtime: LocalRuntime,
    signer: Keypair,
    path: Option<PathBuf>,
    known: BTreeSet<Pubkey>,
}

fn file_error(path: &Path, message: impl ToString) -> ClientError {
    ClientError::File {
        path: path.display().to_string(),
        message: message.to_string(),
    }
}

impl LedgerTransport {
    /// Opens (or starts) the ledger at `path`, funding `signer` on first use.
    pub async fn open(path: Option<PathBuf>, signer: Keypair) -> Result<Self, ClientError> {
        let mut file = LedgerFile::default();
        if let Some(path) = &path {
            if path.exists() {
                let text = std::fs::read_to_string(path).map_err(|e| file_error(path, e))?;
                file = serde_json::from_str(&text)
                    .map_err(|e| file_error(path, format!("not a bme ledger: {e}")))?;
            }
        }
        let mut accounts = Vec::new();
        let mut known = BTreeSet::new();
        for (address, stored) in &file.accounts {
            let pubkey = Pubkey::from_str(address)
                .map_err(|_| ClientError::Input(format!("ledger: bad address {address}")))?;
            let owner = Pubkey::from_str(&stored.owner)
                .map_err(|_| ClientError::Input(format!("ledger: bad owner {}", stored.owner)))?;
            let data = base64::engine::general_purpose::STANDARD
                .decode(&stored.data)
                .map_err(|_| ClientError::Input(format!("ledger: bad data for {address}")))?;
            accounts.push((
                pubkey,
                Account {
                    lamports: stored.lamports,
                    data,
                    owner,
                    executable: stored.executable,
                    rent_epoch: 0,
                },
            ));
            known.insert(pubkey);
        }
        let mut runtime = LocalRuntime::new(accounts).await;
        if file.unix_time != 0 {
            runtime.warp_to(file.unix_time);
        }
        let funded = runtime
            .raw_account(&signer.pubkey())
            .await
            .map(|a| a.lamports)
            .unwrap_or(0);
        if funded < AIRDROP / 10 {
            let payer = runtime.payer();
            runtime
                .send(
                    &[anchor_lang::solana_program::system_instruction::transfer(
                        &payer.pubkey(),
                        &signer.pubkey(),
                        AIRDROP,
                    )],
                    &[],
                )
                .await
                .map_err(|e| ClientError::Transport(e.to_string()))?;
        }
        known.insert(signer.pubkey());
        runtime.set_payer(signer.insecure_clone());
        Ok(LedgerTransport {
            runtime,
            signer,
            path,
            known,
        })
    }

    /// Makes the ledger keep `addresses` (accounts created outside `send`).
    pub fn remember(&mut self, addresses: &[Pubkey]) {
        self.known.extend(addresses.iter().copied());
    }

    /// Moves the ledger's clock to `unix_time`.
    pub fn warp_to(&mut self, unix_time: i64) {
        self.runtime.warp_to(unix_time);
    }

    /// Writes every account the ledger knows back to its file.
    pub async fn save(&mut self) -> Result<(), ClientError> {
        let Some(path) = self.path.clone() else {
            return Ok(());
        };
        let mut file = LedgerFile {
            unix_time: self.runtime.now(),
            accounts: BTreeMap::new(),
        };
        for address in self.known.clone() {
            if let Some(account) = self.runtime.raw_account(&address).await {
                if account.executable {
                    continue;
                }
                file.accounts.insert(
                    address.to_string(),
                    StoredAccount {
                        lamports: account.lamports,
                        owner: account.owner.to_string(),
                        executable: false,
                        data: base64::engine::general_purpose::STANDARD.encode(&account.data),
                    },
                );
            }
        }
        let text = serde_json::to_string(&file).map_err(|e| file_error(&path, e))?;
        let temporary = path.with_extension("tmp");
        std::fs::write(&temporary, text).map_err(|e| file_error(&temporary, e))?;
        std::fs::rename(&temporary, &path).map_err(|e| file_error(&path, e))
    }
}

impl Transport for LedgerTransport {
    fn payer(&self) -> Pubkey {
        self.signer.pubkey()
    }

    async fn send(
        &mut self,
        instructions: &[Instruction],
        signers: &[&Keypair],
    ) -> Result<Signature, ClientError> {
        for instruction in instructions {
            self.known
                .extend(instruction.accounts.iter().map(|m| m.pubkey));
        }
        // Sysvars are provided by the runtime itself.
        self.known
            .retain(|k| k.to_string().get(..6) != Some("Sysvar"));
        let mut all: Vec<&Keypair> = vec![&self.signer];
        all.extend(signers.iter().copied());
        self.runtime
            .send(instructions, &all)
            .await
            .map_err(|e| ClientError::Transaction(e.to_string()))?;
        Ok(Signature::default())
    }

    async fn account(&mut self, address: &Pubkey) -> Result<Option<Account>, ClientError> {
        Ok(self.runtime.raw_account(address).await)
    }

    async fn unix_time(&mut self) -> Result<i64, ClientError> {
        Ok(self.runtime.now())
    }

    async fn send_versioned(
        &mut self,
        instructions: &[Instruction],
        signers: &[&Keypair],
        tables: &[AddressLookupTableAccount],
    ) -> Result<Signature, ClientError> {
        for instruction in instructions {
            self.known
                .extend(instruction.accounts.iter().map(|m| m.pubkey));
        }
        self.known.extend(tables.iter().map(|t| t.key));
        self.known
            .retain(|k| k.to_string().get(..6) != Some("Sysvar"));
        let mut all: Vec<&Keypair> = vec![&self.signer];
        all.extend(signers.iter().copied());
        self.runtime
            .send_versioned(instructions, &all, tables)
            .await
            .map_err(|e| ClientError::Transaction(e.to_string()))?;
        Ok(Signature::default())
    }

    async fn create_lookup_table(
        &mut self,
        addresses: &[Pubkey],
    ) -> Result<AddressLookupTableAccount, ClientError> {
        let table = self
            .runtime
            .create_lookup_table(addresses)
            .await
            .map_err(|e| ClientError::Transaction(e.to_string()))?;
        self.known.insert(table.key);
        Ok(table)
    }
}
