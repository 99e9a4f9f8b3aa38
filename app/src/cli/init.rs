//! `bme init`: create a protocol from a genesis file.

use std::path::PathBuf;

use bme::instructions::TokenSetup;
use bme_client::config::{parse_pubkey, GenesisConfig};
use bme_client::transport::Transport;
use bme_client::{ix, pda, ClientError};
use clap::Args;
use serde::Serialize;
use solana_sdk::signature::{Keypair, Signer};

use super::chain::{load_keypair, Chain};
use super::{output, GlobalOptions};

/// Arguments of `bme init`.
#[derive(Debug, Args)]
pub struct InitArgs {
    /// The genesis file (see migrations/genesis.toml).
    #[arg(long, default_value = "migrations/genesis.toml")]
    pub config: PathBuf,
    /// Keypair of the new mint (`token.mode = "new"`); a fresh one by default.
    #[arg(long)]
    pub mint_keypair: Option<PathBuf>,
}

/// What `bme init` created.
#[derive(Debug, Serialize)]
pub struct InitOutput {
    /// The protocol PDA.
    pub protocol: String,
    /// The network token mint.
    pub token_mint: String,
    /// The credit mint.
    pub credit_mint: String,
    /// The treasury token account.
    pub treasury: String,
    /// The authority.
    pub authority: String,
    /// Unix time of epoch 0.
    pub genesis_time: i64,
}

/// Runs `bme init`.
pub async fn run(
    args: InitArgs,
    global: &GlobalOptions,
    chain: &mut Chain,
) -> Result<String, ClientError> {
    let config = GenesisConfig::load(&args.config)?;
    let payer = chain.payer();
    let now = chain.unix_time().await?;
    let genesis = config.to_args(&payer, now)?;
    let token_program = config.token_program()?;

    let new_mint = match genesis.token {
        TokenSetup::NewMint { .. } => Some(match &args.mint_keypair {
            Some(path) => load_keypair(path)?,
            None => Keypair::new(),
        }),
        TokenSetup::ExistingMint => None,
    };
    let token_mint = match (&new_mint, &config.token.mint) {
        (Some(keypair), _) => keypair.pubkey(),
        (None, Some(mint)) => parse_pubkey("token.mint", mint)?,
        (None, None) => {
            return Err(ClientError::Input(
                "token.mint: required when token.mode = \"existing\"".into(),
            ))
        }
    };
    let protocol = pda::protocol(&token_mint);
    let default_treasury = ix::associated_token(&genesis.authority, &token_mint, &token_program);
    let treasury = match &config.token.treasury {
        Some(t) => parse_pubkey("token.treasury", t)?,
        None => default_treasury,
    };
    let create_treasury = anchor_spl::associated_token::spl_associated_token_account::instruction::create_associated_token_account_idempotent(
        &payer,
        &genesis.authority,
        &token_mint,
        &token_program,
    );
    let initialize = ix::initialize_protocol(
        ix::InitializeProtocolAccounts {
            payer,
            token_mint,
            treasury,
            token_program,
        },
        genesis.clone(),
    );
    match &new_mint {
        Some(mint) => {
            chain.send(&[initialize], &[mint]).await?;
            if treasury == default_treasury {
                chain.send(&[create_treasury], &[]).await?;
            }
        }
        None => {
            // The signer must be the mint's current authority; it hands the authority
            // to the protocol PDA in the same transaction as the genesis.
            let hand_over =
                bme_client::ix::hand_over_mint_authority(&token_program, &token_mint, &payer)?;
            let mut instructions = Vec::new();
            if treasury == default_treasury {
                instructions.push(create_treasury);
            }
            instructions.extend([hand_over, initialize]);
            chain.send(&instructions, &[]).await?;
        }
    }
    let result = InitOutput {
        protocol: protocol.to_string(),
        token_mint: token_mint.to_string(),
        credit_mint: pda::credit_mint(&protocol).to_string(),
        treasury: treasury.to_string(),
        authority: genesis.authority.to_string(),
        genesis_time: genesis.genesis_time,
    };
    output(global.json, &result, |r| {
        format!(
            "protocol    {}\ntoken mint  {}\ncredit mint {}\ntreasury    {}\nauthority   {}\ngenesis     {}\n\nexport BME_MINT={}\n",
            r.protocol, r.token_mint, r.credit_mint, r.treasury, r.authority, r.genesis_time, r.token_mint
        )
    })
}
