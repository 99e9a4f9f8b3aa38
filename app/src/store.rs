//! The operator's receipt store: the newest signed receipt per channel, kept on disk
//! until the chain has confirmed it.
//!
//! Receipts are cumulative, so only the highest one per channel is worth keeping: it
//! settles everything the older ones would have. Every receipt's signature is checked
//! off chain before it is accepted, so a forged receipt can never displace a genuine
//! one. Every change is written to the store's file atomically (a temporary file in
//! the same directory, flushed, then renamed over the old one), so a crash or a failed
//! batch loses nothing; a receipt counts as settled only when
//! [`ReceiptStore::mark_settled`] is told so after confirmation.

use std::collections::BTreeMap;
use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

use anchor_lang::prelude::Pubkey;
use serde::{Deserialize, Serialize};

use crate::error::ClientError;
use crate::receipt::SignedReceipt;

/// Layout version of the store file.
const FORMAT_VERSION: u32 = 1;

/// One channel's state in the store.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChannelEntry {
    /// The newest receipt accepted for the channel.
    pub receipt: SignedReceipt,
    /// The highest cumulative amount confirmed settled on chain (0 before the first).
    pub settled: u64,
}

impl ChannelEntry {
    /// Whether the receipt still has credits to settle.
    pub fn is_pending(&self) -> bool {
        self.receipt.cumulative > self.settled
    }
}

/// How a receipt entered the store.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Accepted {
    /// The first receipt for its channel.
    New,
    /// It replaced an older receipt for the channel.
    Replaced {
        /// The cumulative amount of the receipt it replaced.
        previous: u64,
    },
}

/// Why the store refused a receipt, or could not save.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The signature does not verify for the customer and message.
    #[error("receipt signature by {0} does not verify")]
    BadSignature(Pubkey),
    /// The store already holds a receipt at least as new for the channel.
    #[error("channel {channel} already has a receipt for {newest} credits")]
    NotNewer {
        /// The channel.
        channel: Pubkey,
        /// The cumulative amount held.
        newest: u64,
    },
    /// The channel has already settled at least this much.
    #[error("channel {channel} has already settled {settled} credits")]
    AlreadySettled {
        /// The channel.
        channel: Pubkey,
        /// What it settled.
        settled: u64,
    },
    /// Reading or writing the file failed.
    #[error(transparent)]
    Io(#[from] ClientError),
}

/// The file's contents.
#[derive(Debug, Serialize, Deserialize)]
struct StoreFile {
    version: u32,
    channels: Vec<ChannelEntry>,
}

/// The newest receipt per channel, persisted to a JSON file.
#[derive(Debug)]
pub struct ReceiptStore {
    path: PathBuf,
    /// Keyed by channel address.
    channels: BTreeMap<Pubkey, ChannelEntry>,
}

fn file_error(path: &Path, message: impl std::fmt::Display) -> ClientError {
    ClientError::File {
        path: path.display().to_string(),
        message: message.to_string(),
    }
}

impl ReceiptStore {
    /// Opens the store at `path`, loading it if the file exists and starting empty
    /// if it does not. Each loaded receipt's signature is checked again.
    pub fn open(path: impl Into<PathBuf>) -> Result<Self, ClientError> {
        let path = path.into();
        let channels = match fs::read(&path) {
            Ok(bytes) => {
                let file: StoreFile =
                    serde_json::from_slice(&bytes).map_err(|e| file_error(&path, e))?;
                if file.version != FORMAT_VERSION {
                    return Err(file_error(
                        &path,
                        format!("unknown store format version {}", file.version),
                    ));
                }
                let mut channels = BTreeMap::new();
                for entry in file.channels {
                    entry.receipt.verify().map_err(|e| file_error(&path, e))?;
                    channels.insert(entry.receipt.channel(), entry);
                }
                channels
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => BTreeMap::new(),
            Err(e) => return Err(file_error(&path, e)),
        };
        Ok(ReceiptStore { path, channels })
    }

    /// The store's file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Channels held.
    pub fn len(&self) -> usize {
        self.channels.len()
    }

    /// Whether the store holds nothing.
    pub fn is_empty(&self) -> bool {
        self.channels.is_empty()
    }

    /// A channel's entry.
    pub fn get(&self, channel: &Pubkey) -> Option<&ChannelEntry> {
        self.channels.get(channel)
    }

    /// Every entry, by channel address.
    pub fn entries(&self) -> impl Iterator<Item = &ChannelEntry> {
        self.channels.values()
    }

    /// The receipts not yet confirmed settled: the input of the batch planner.
    pub fn pending(&self) -> Vec<SignedReceipt> {
        self.channels
            .values()
            .filter(|e| e.is_pending())
            .map(|e| e.receipt.clone())
            .collect()
    }

    /// Checks one receipt (for `channel`, its derived channel) against the store
    /// without changing it.
    fn admit(&self, receipt: &SignedReceipt, channel: Pubkey) -> Result<Accepted, StoreError> {
        receipt
            .verify_for(&channel)
            .map_err(|_| StoreError::BadSignature(receipt.customer))?;
        match self.channels.get(&channel) {
            None => Ok(Accepted::New),
            Some(entry) if receipt.cumulative <= entry.settled => Err(StoreError::AlreadySettled {
                channel,
                settled: entry.settled,
            }),
            Some(entry) if receipt.cumulative <= entry.receipt.cumulative => {
                Err(StoreError::NotNewer {
                    channel,
                    newest: entry.receipt.cumulative,
                })
            }
            Some(entry) => Ok(Accepted::Replaced {
                previous: entry.receipt.cumulative,
            }),
        }
    }

    fn put(&mut self, receipt: SignedReceipt, channel: Pubkey) {
        let settled = self.channels.get(&channel).map_or(0, |e| e.settled);
        self.channels
            .insert(channel, ChannelEntry { receipt, settled });
    }

    /// Verifies `receipt` and keeps it if it is the newest for its channel, then
    /// saves. Nothing changes when it is refused or the save fails.
    pub fn insert(&mut self, receipt: SignedReceipt) -> Result<Accepted, StoreError> {
        let channel = receipt.channel();
        let accepted = self.admit(&receipt, channel)?;
        let previous = self.channels.get(&channel).cloned();
        self.put(receipt, channel);
        if let Err(e) = self.save() {
            match previous {
                Some(entry) => self.channels.insert(channel, entry),
                None => self.channels.remove(&channel),
            };
            return Err(e.into());
        }
        Ok(accepted)
    }

    /// Inserts many receipts with one save; returns each one's outcome, in order.
    /// If the save fails, nothing changes and the error is returned.
    pub fn insert_all(
        &mut self,
        receipts: impl IntoIterator<Item = SignedReceipt>,
    ) -> Result<Vec<Result<Accepted, StoreError>>, ClientError> {
        let before = self.channels.clone();
        let mut outcomes = Vec::new();
        for receipt in receipts {
            let channel = receipt.channel();
            let outcome = self.admit(&receipt, channel);
            if outcome.is_ok() {
                self.put(receipt, channel);
            }
            outcomes.push(outcome);
        }
        if let Err(e) = self.save() {
            self.channels = before;
            return Err(e);
        }
        Ok(outcomes)
    }

    /// Records that `channel` has settled `settled` on chain (after confirmation, or
    /// read back from the chain), then saves. The amount only rises; a newer receipt
    /// that arrived meanwhile stays pending.
    pub fn record_settled(&mut self, channel: &Pubkey, settled: u64) -> Result<(), ClientError> {
        self.record_all_settled(&[(*channel, settled)])
    }

    /// Marks confirmed receipts settled (each up to its own cumulative amount), then
    /// saves.
    pub fn mark_settled<'a>(
        &mut self,
        receipts: impl IntoIterator<Item = &'a SignedReceipt>,
    ) -> Result<(), ClientError> {
        let updates: Vec<(Pubkey, u64)> = receipts
            .into_iter()
            .map(|r| (r.channel(), r.cumulative))
            .collect();
        self.record_all_settled(&updates)
    }

    fn record_all_settled(&mut self, updates: &[(Pubkey, u64)]) -> Result<(), ClientError> {
        let before = self.channels.clone();
        let mut changed = false;
        for (channel, settled) in updates {
            if let Some(entry) = self.channels.get_mut(channel) {
                if *settled > entry.settled {
                    entry.settled = *settled;
                    changed = true;
                }
            }
        }
        if !changed {
            return Ok(());
        }
        self.save().inspect_err(|_| self.channels = before)
    }

    /// Writes the whole store atomically: a temporary file next to the target,
    /// flushed to disk, then renamed over it.
    fn save(&self) -> Result<(), ClientError> {
        let file = StoreFile {
            version: FORMAT_VERSION,
            channels: self.channels.values().cloned().collect(),
        };
        let bytes = serde_json::to_vec_pretty(&file).map_err(|e| file_error(&self.path, e))?;
        let mut temporary = self.path.clone().into_os_string();
        temporary.push(".tmp");
        let temporary = PathBuf::from(temporary);
        let write = || -> std::io::Result<()> {
            let mut out = fs::File::create(&temporary)?;
            out.write_all(&bytes)?;
            out.sync_all()?;
            fs::rename(&temporary, &self.path)?;
            // Make the rename itself durable.
            if let Some(parent) = self.path.parent().filter(|p| !p.as_os_str().is_empty()) {
                fs::File::open(parent)?.sync_all()?;
            }
            Ok(())
        };
        write().map_err(|e| {
            let _ = fs::remove_file(&temporary);
            file_error(&self.path, e)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use solana_sdk::signature::{Keypair, Signer};
    use std::sync::atomic::{AtomicUsize, Ordering};

    /// A fresh directory under the system's temporary directory.
    fn scratch_dir() -> PathBuf {
        static COUNTER: AtomicUsize = AtomicUsize::new(0);
        let dir = std::env::temp_dir().join(format!(
            "bme-store-{}-{}",
            std::process::id(),
            COUNTER.fetch_add(1, Ordering::Relaxed)
        ));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(&dir).unwrap();
        dir
    }

    #[test]
    fn keeps_only_the_newest_receipt_per_channel() {
        let dir = scratch_dir();
        let mut store = ReceiptStore::open(dir.join("receipts.json")).unwrap();
        let customer = Keypair::new();
        let provider = Pubkey::new_unique();
        let r100 = SignedReceipt::sign(&customer, &provider, 100);
        let r250 = SignedReceipt::sign(&customer, &provider, 250);
        assert_eq!(store.insert(r100.clone()).unwrap(), Accepted::New);
        assert_eq!(
            store.insert(r250.clone()).unwrap(),
            Accepted::Replaced { previous: 100 }
        );
        assert!(matches!(
            store.insert(r100.clone()),
            Err(StoreError::NotNewer { newest: 250, .. })
        ));
        assert!(matches!(
            store.insert(r250.clone()),
            Err(StoreError::NotNewer { newest: 250, .. })
        ));
        assert_eq!(store.len(), 1);
        assert_eq!(store.pending(), vec![r250]);
        let _ = fs::remove_dir_all(dir);
    }

    #[test]
    fn refuses_forged_receipts() {
        let dir = scratch_dir();
        let mut store = ReceiptStore::open(dir.join("receipts.json")).unwrap();
        let victim = Keypair::new();
        let provider = Pubkey::new_unique();
        let genuine = SignedReceipt::sign(&victim, &provider, 10);
        store.insert(genuine.clone()).unwrap();
        // Signed by someone else, claiming to be the victim, for more credits.
        let mut forged = SignedReceipt::sign(&Keypair::new(), &provider, 1_000_000);
        forged.customer = victim.pubkey();
        assert!(matches!(
            store.insert(forged.clone()),
            Err(StoreError::BadSignature(key)) if key == victim.pubkey()
        ));
        // A genuine signature with a tampered amount.
        let mut tampered = genuine.clone();
        tampered.cumulative = 11;
        assert!(matches!(
            store.insert(tampered),
            Err(StoreError::BadSignature(_))
        ));
        assert_eq!(store.pending(), vec![genuine]);
        let _ = fs::remove_dir_all(dir);
    }

    #[test]
    fn survives_a_restart_and_settles_only_when_told() {
        let dir = scratch_dir();
        let path = dir.join("receipts.json");
        let provider = Pubkey::new_unique();
        let customers: Vec<Keypair> = (0..4).map(|_| Keypair::new()).collect();
        let receipts: Vec<SignedReceipt> = customers
            .iter()
            .enumerate()
            .map(|(i, c)| SignedReceipt::sign(c, &provider, 10 * (i as u64 + 1)))
            .collect();
        {
            let mut store = ReceiptStore::open(&path).unwrap();
            assert!(store.is_empty());
            let outcomes = store.insert_all(receipts.clone()).unwrap();
            assert!(outcomes.iter().all(|o| matches!(o, Ok(Accepted::New))));
            // A batch went out but was never confirmed: nothing is marked.
        }
        assert!(!dir.join("receipts.json.tmp").exists());

        let mut store = ReceiptStore::open(&path).unwrap();
        assert_eq!(store.len(), 4);
        let mut pending = store.pending();
        pending.sort_by_key(|r| r.cumulative);
        assert_eq!(pending, receipts);

        // Two confirmed; meanwhile a newer receipt arrived for one of them.
        store.mark_settled(&receipts[..2]).unwrap();
        let newer = SignedReceipt::sign(&customers[1], &provider, 25);
        store.insert(newer.clone()).unwrap();
        // Already-settled amounts are refused.
        let old = SignedReceipt::sign(&customers[0], &provider, 10);
        assert!(matches!(
            store.insert(old),
            Err(StoreError::AlreadySettled { settled: 10, .. })
        ));
        drop(store);

        let store = ReceiptStore::open(&path).unwrap();
        let entry = store.get(&receipts[0].channel()).unwrap();
        assert_eq!(entry.settled, 10);
        assert!(!entry.is_pending());
        let entry = store.get(&receipts[1].channel()).unwrap();
        assert_eq!((entry.settled, entry.receipt.cumulative), (20, 25));
        let mut pending = store.pending();
        pending.sort_by_key(|r| r.cumulative);
        assert_eq!(
            pending,
            vec![newer, receipts[2].clone(), receipts[3].clone()]
        );
        let _ = fs::remove_dir_all(dir);
    }

    #[test]
    fn a_tampered_file_is_refused_on_load() {
        let dir = scratch_dir();
        let path = dir.join("receipts.json");
        let mut store = ReceiptStore::open(&path).unwrap();
        store
            .insert(SignedReceipt::sign(
                &Keypair::new(),
                &Pubkey::new_unique(),
                7,
            ))
            .unwrap();
        let text = fs::read_to_string(&path).unwrap();
        fs::write(
            &path,
            text.replace("\"cumulative\": 7", "\"cumulative\": 7000"),
        )
        .unwrap();
        assert!(matches!(
            ReceiptStore::open(&path),
            Err(ClientError::File { .. })
        ));
        let _ = fs::remove_dir_all(dir);
    }

    #[test]
    fn a_failed_save_changes_nothing() {
        let dir = scratch_dir();
        // The store's path is a directory: every save fails.
        let path = dir.join("occupied");
        fs::create_dir_all(&path).unwrap();
        let mut store = ReceiptStore {
            path,
            channels: BTreeMap::new(),
        };
        let receipt = SignedReceipt::sign(&Keypair::new(), &Pubkey::new_unique(), 3);
        assert!(matches!(store.insert(receipt), Err(StoreError::Io(_))));
        assert!(store.is_empty());
        let _ = fs::remove_dir_all(dir);
    }
}
