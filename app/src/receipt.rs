//! Customer usage receipts: the signed message, signing, off-chain verification, and
//! the Ed25519 program instruction that carries a batch of them on chain.

use anchor_lang::prelude::Pubkey;
use bme::constants::{RECEIPT_DOMAIN, RECEIPT_MESSAGE_LEN};
use serde::{Deserialize, Serialize};
use solana_sdk::instruction::Instruction;
use solana_sdk::signature::{Keypair, Signature, Signer};

use crate::error::ClientError;

/// A customer's cumulative receipt for one channel, with its signature.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SignedReceipt {
    /// The customer (signer and owner of the credit account).
    #[serde(with = "crate::serde_pubkey")]
    pub customer: Pubkey,
    /// The provider account being paid.
    #[serde(with = "crate::serde_pubkey")]
    pub provider: Pubkey,
    /// Cumulative credits consumed through the channel.
    pub cumulative: u64,
    /// Ed25519 signature of [`receipt_message`] by `customer`, base58.
    #[serde(with = "crate::serde_signature")]
    pub signature: Signature,
}

/// The exact bytes a customer signs: domain ‖ channel ‖ cumulative (u64 LE).
pub fn receipt_message(channel: &Pubkey, cumulative: u64) -> [u8; RECEIPT_MESSAGE_LEN] {
    let mut message = [0u8; RECEIPT_MESSAGE_LEN];
    message[..4].copy_from_slice(&RECEIPT_DOMAIN);
    message[4..36].copy_from_slice(channel.as_ref());
    message[36..].copy_from_slice(&cumulative.to_le_bytes());
    message
}

impl SignedReceipt {
    /// Signs a receipt as `customer`.
    ///
    /// ```
    /// use solana_sdk::signature::{Keypair, Signer};
    /// let customer = Keypair::new();
    /// let provider = solana_sdk::pubkey::Pubkey::new_unique();
    /// let receipt = bme_client::receipt::SignedReceipt::sign(&customer, &provider, 500);
    /// assert!(receipt.verify().is_ok());
    /// ```
    pub fn sign(customer: &Keypair, provider: &Pubkey, cumulative: u64) -> Self {
        let channel = crate::pda::channel(provider, &customer.pubkey());
        let signature = customer.sign_message(&receipt_message(&channel, cumulative));
        SignedReceipt {
            customer: customer.pubkey(),
            provider: *provider,
            cumulative,
            signature,
        }
    }

    /// The channel this receipt settles.
    pub fn channel(&self) -> Pubkey {
        crate::pda::channel(&self.provider, &self.customer)
    }

    /// The signed message.
    pub fn message(&self) -> [u8; RECEIPT_MESSAGE_LEN] {
        receipt_message(&self.channel(), self.cumulative)
    }

    /// Checks the signature off chain, the same way the Ed25519 program will.
    pub fn verify(&self) -> Result<(), ClientError> {
        self.verify_for(&self.channel())
    }

    /// [`Self::verify`] with the channel address already derived (deriving it is a
    /// PDA search, a sizeable share of the cost when many receipts are checked).
    pub fn verify_for(&self, channel: &Pubkey) -> Result<(), ClientError> {
        if self.signature.verify(
            self.customer.as_ref(),
            &receipt_message(channel, self.cumulative),
        ) {
            Ok(())
        } else {
            Err(ClientError::BadSignature(self.customer))
        }
    }
}

/// Size of one Ed25519 offsets record.
const OFFSETS_LEN: usize = 14;

/// Builds one Ed25519 program instruction verifying several `(pubkey, signature,
/// message)` triples, with every offset pointing into the instruction itself.
/// Identical messages are stored once.
pub fn ed25519_instruction(entries: &[(Pubkey, Signature, &[u8])]) -> Instruction {
    let count = entries.len();
    let header = 2 + count * OFFSETS_LEN;
    let mut offsets = Vec::with_capacity(header);
    offsets.push(count as u8);
    offsets.push(0);
    let mut body: Vec<u8> = Vec::new();
    let mut stored_messages: Vec<(&[u8], usize)> = Vec::new();
    for (pubkey, signature, message) in entries {
        let pubkey_offset = header + body.len();
        body.extend_from_slice(pubkey.as_ref());
        let signature_offset = header + body.len();
        body.extend_from_slice(signature.as_ref());
        let message_offset = match stored_messages.iter().find(|(m, _)| m == message) {
            Some((_, at)) => *at,
            None => {
                let at = header + body.len();
                body.extend_from_slice(message);
                stored_messages.push((message, at));
                at
            }
        };
        for value in [
            signature_offset as u16,
            u16::MAX,
            pubkey_offset as u16,
            u16::MAX,
            message_offset as u16,
            message.len() as u16,
            u16::MAX,
        ] {
            offsets.extend_from_slice(&value.to_le_bytes());
        }
    }
    offsets.extend_from_slice(&body);
    Instruction {
        program_id: solana_sdk::ed25519_program::ID,
        accounts: vec![],
        data: offsets,
    }
}
