//! Serde adapters for keys and signatures as base58 strings.

/// `Pubkey` as a base58 string.
pub mod serde_pubkey {
    use anchor_lang::prelude::Pubkey;
    use serde::{Deserialize, Deserializer, Serializer};
    use std::str::FromStr;

    /// Serializes a key as base58.
    pub fn serialize<S: Serializer>(key: &Pubkey, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&key.to_string())
    }

    /// Parses a base58 key.
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Pubkey, D::Error> {
        let text = String::deserialize(d)?;
        Pubkey::from_str(&text).map_err(serde::de::Error::custom)
    }
}

/// `Signature` as a base58 string.
pub mod serde_signature {
    use serde::{Deserialize, Deserializer, Serializer};
    use solana_sdk::signature::Signature;
    use std::str::FromStr;

    /// Serializes a signature as base58.
    pub fn serialize<S: Serializer>(sig: &Signature, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&sig.to_string())
    }

    /// Parses a base58 signature.
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Signature, D::Error> {
        let text = String::deserialize(d)?;
        Signature::from_str(&text).map_err(serde::de::Error::custom)
    }
}
