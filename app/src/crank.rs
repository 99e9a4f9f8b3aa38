//! Cranks anyone can run: close every due epoch in order, and claim for providers.

use anchor_lang::prelude::Pubkey;
use bme::instructions::CloseEpochArgs;
use bme::state::{Protocol, Provider};

use crate::error::ClientError;
use crate::ix;
use crate::transport::{read, Transport};

/// Epochs of `protocol` that may close now, oldest first.
pub fn due_epochs(protocol: &Protocol, now: i64) -> Vec<u64> {
    let mut due = Vec::new();
    let mut epoch = protocol.next_epoch_to_close;
    loop {
        let grace = i64::try_from(protocol.params_at(epoch).grace_period_secs).unwrap_or(i64::MAX);
        match protocol.epoch_end(epoch) {
            Ok(end) if end.saturating_add(grace) <= now => due.push(epoch),
            _ => break,
        }
        epoch += 1;
    }
    due
}

/// Closes every due epoch, one transaction each, in order; returns the epochs closed.
pub async fn close_due_epochs(
    transport: &mut impl Transport,
    protocol_address: &Pubkey,
) -> Result<Vec<u64>, ClientError> {
    let protocol: Protocol = read(transport, protocol_address).await?;
    let now = transport.unix_time().await?;
    let due = due_epochs(&protocol, now);
    let payer = transport.payer();
    for epoch in &due {
        let close = ix::close_epoch(
            ix::CloseEpochAccounts {
                payer,
                protocol: *protocol_address,
                token_mint: protocol.token_mint,
                treasury: protocol.treasury,
                token_program: protocol.token_program,
            },
            CloseEpochArgs { epoch: *epoch },
        );
        transport.send(&[close], &[]).await?;
    }
    Ok(due)
}

/// The closed epochs a provider has pending work in: the epoch accounts its claim
/// must carry.
pub fn claimable_epochs(protocol: &Protocol, provider: &Provider) -> Vec<u64> {
    provider
        .pending
        .iter()
        .filter(|slot| !slot.is_free() && u64::from(slot.epoch) < protocol.next_epoch_to_close)
        .map(|slot| u64::from(slot.epoch))
        .collect()
}

/// The `claim_rewards` instruction for a provider, with the epoch accounts of its
/// closed pending slots.
pub async fn claim_instruction(
    transport: &mut impl Transport,
    protocol_address: &Pubkey,
    provider: &Pubkey,
) -> Result<(solana_sdk::instruction::Instruction, Provider), ClientError> {
    let protocol: Protocol = read(transport, protocol_address).await?;
    let account: Provider = read(transport, provider).await?;
    let epochs = claimable_epochs(&protocol, &account);
    let instruction = ix::claim_rewards(
        ix::ClaimRewardsAccounts {
            protocol: *protocol_address,
            provider: *provider,
            destination: account.destination,
            token_mint: protocol.token_mint,
            token_program: protocol.token_program,
        },
        &epochs,
    );
    Ok((instruction, account))
}

/// Claims a provider's rewards (to its registered destination); returns the amount
/// minted by this claim.
pub async fn claim(
    transport: &mut impl Transport,
    protocol_address: &Pubkey,
    provider: &Pubkey,
) -> Result<u64, ClientError> {
    let (instruction, before) = claim_instruction(transport, protocol_address, provider).await?;
    transport.send(&[instruction], &[]).await?;
    let after: Provider = read(transport, provider).await?;
    Ok(after.claimed.saturating_sub(before.claimed))
}
