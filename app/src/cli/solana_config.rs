//! Defaults from the Solana CLI's config file (`~/.config/solana/cli/config.yml`), read
//! the way the `solana` command does: `json_rpc_url`, `keypair_path`, `commitment`.

use std::path::{Path, PathBuf};

/// The values `bme` takes from the Solana CLI config.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SolanaConfig {
    /// RPC URL.
    pub json_rpc_url: Option<String>,
    /// Keypair file.
    pub keypair_path: Option<String>,
    /// Commitment level.
    pub commitment: Option<String>,
}

/// The default config location.
pub fn default_path() -> Option<PathBuf> {
    std::env::var_os("HOME").map(|home| PathBuf::from(home).join(".config/solana/cli/config.yml"))
}

impl SolanaConfig {
    /// Reads the config file if it exists (a missing file means no defaults).
    pub fn load(path: &Path) -> Self {
        std::fs::read_to_string(path)
            .map(|text| Self::parse(&text))
            .unwrap_or_default()
    }

    /// Parses the flat `key: value` YAML the Solana CLI writes.
    pub fn parse(text: &str) -> Self {
        let mut config = SolanaConfig::default();
        for line in text.lines() {
            let Some((key, value)) = line.split_once(':') else {
                continue;
            };
            let value = value
                .trim()
                .trim_matches(|c| c == '"' || c == '\'')
                .to_string();
            if value.is_empty() {
                continue;
            }
            match key.trim() {
                "json_rpc_url" => config.json_rpc_url = Some(value),
                "keypair_path" => config.keypair_path = Some(value),
                "commitment" => config.commitment = Some(value),
                _ => {}
            }
        }
        config
    }
}

/// Expands a cluster moniker to its URL.
pub fn cluster_url(value: &str) -> String {
    match value {
        "localhost" | "l" => "http://localhost:8899".into(),
        "devnet" | "d" => "https://api.devnet.solana.com".into(),
        "testnet" | "t" => "https://api.testnet.solana.com".into(),
        "mainnet-beta" | "m" => "https://api.mainnet-beta.solana.com".into(),
        other => other.into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_solana_cli_format() {
        let text = "---\njson_rpc_url: \"https://api.devnet.solana.com\"\nwebsocket_url: \"\"\nkeypair_path: /home/op/.config/solana/id.json\naddress_labels:\n  \"11111111111111111111111111111111\": System Program\ncommitment: confirmed\n";
        let config = SolanaConfig::parse(text);
        assert_eq!(
            config.json_rpc_url.as_deref(),
            Some("https://api.devnet.solana.com")
        );
        assert_eq!(
            config.keypair_path.as_deref(),
            Some("/home/op/.config/solana/id.json")
        );
        assert_eq!(config.commitment.as_deref(), Some("confirmed"));
        assert_eq!(cluster_url("devnet"), "https://api.devnet.solana.com");
    }
}
