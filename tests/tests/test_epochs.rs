//! `close_epoch`, `submit_contribution_report` and `claim_rewards`: emissions, pools,
//! lazy pro-rata rewards, and the report attacks.

use bme::error::BmeError;
use bme::instructions::Purchase;
use bme::state::{Epoch, Protocol, Provider};
use bme_client::receipt::SignedReceipt;
use bme_client::{ix, pda};
use bme_tests::genesis::*;
use bme_tests::*;
use solana_sdk::instruction::Instruction;
use solana_sdk::pubkey::Pubkey;
use solana_sdk::signature::{Keypair, Signer};

struct Setup {
    fixture: TestFixture,
    network: Network,
    customer: Keypair,
    providers: Vec<(Keypair, Keypair, Pubkey)>,
}

/// A network (adopted SPL mint, 1M tokens premined), one customer with 10M credits,
/// and two providers.
async fn setup() -> Setup {
    let mut fixture = TestFixture::new(vec![]).await;
    let network = Network::adopt(&mut fixture, SPL_TOKEN, 1_000_000 * TOKEN, |_| {})
        .await
        .expect("genesis");
    let customer = network.fund_customer(&mut fixture, 1_000 * TOKEN).await;
    let buy = network.buy(
        &fixture,
        &customer.pubkey(),
        &customer.pubkey(),
        Purchase::Credits {
            credits: 10_000_000,
            max_tokens: 100 * TOKEN,
        },
        None,
    );
    fixture.send_ok(&[buy], &[&customer]).await;
    let mut providers = Vec::new();
    for _ in 0..2 {
        providers.push(network.register_provider(&mut fixture).await);
    }
    Setup {
        fixture,
        network,
        customer,
        providers,
    }
}

fn settle(s: &Setup, provider: &Pubkey, cumulative: u64) -> Vec<Instruction> {
    let receipt = SignedReceipt::sign(&s.customer, provider, cumulative);
    ix::settle_receipts(
        s.fixture.payer().pubkey(),
        s.network.protocol,
        s.network.credit_mint,
        s.network.current_epoch(&s.fixture),
        &[receipt],
    )
}

fn report(
    s: &Setup,
    signers: &[&Keypair],
    epoch: u64,
    sequence: u64,
    entries: &[(Pubkey, u64)],
) -> Vec<Instruction> {
    ix::signed_report(
        s.fixture.payer().pubkey(),
        s.network.protocol,
        signers,
        epoch,
        sequence,
        entries,
    )
}

async fn epoch(s: &mut Setup, index: u64) -> Epoch {
    s.fixture
        .account(&pda::epoch(&s.network.protocol, index))
        .await
}

#[tokio::test]
async fn epoch_closes_only_after_end_plus_grace_and_in_order() {
    let mut s = setup().await;
    let close0 = s.network.close(&s.fixture, 0);
    s.network.warp_to_epoch(&mut s.fixture, 1, GRACE - 1);
    assert_error(
        s.fixture.send(std::slice::from_ref(&close0), &[]).await,
        BmeError::EpochNotEnded,
    );
    let close1 = s.network.close(&s.fixture, 1);
    assert_error(
        s.fixture.send(std::slice::from_ref(&close1), &[]).await,
        BmeError::EpochNotNext,
    );
    s.network.warp_to_epoch(&mut s.fixture, 1, GRACE);
    s.fixture.send_ok(std::slice::from_ref(&close0), &[]).await;
    assert_error(s.fixture.send(&[close0], &[]).await, BmeError::EpochClosed);
    assert_error(
        s.fixture.send(&[close1], &[]).await,
        BmeError::EpochNotEnded,
    );
    let protocol: Protocol = s.fixture.account(&s.network.protocol).await;
    assert_eq!(protocol.next_epoch_to_close, 1);
}

#[tokio::test]
async fn emission_is_schedule_plus_capped_remint_split_exactly() {
    let mut s = setup().await;
    // Epoch 0 burned 50 tokens buying credits (under the 500-token re-mint cap).
    let e0_burn = epoch(&mut s, 0).await.tokens_burned;
    assert_eq!(e0_burn, 50 * TOKEN);
    // Usage in epoch 0 by provider 0, so the usage pool is minted; no contribution.
    let p0 = s.providers[0].2;
    s.fixture.send_ok(&settle(&s, &p0, 1_000), &[]).await;
    let supply_before = s.fixture.mint_supply(&s.network.token_mint).await;
    let treasury_before = s.fixture.token_balance(&s.network.treasury).await;
    s.network.warp_to_epoch(&mut s.fixture, 1, GRACE);
    s.fixture
        .send_ok(&[s.network.close(&s.fixture, 0)], &[])
        .await;
    let e0 = epoch(&mut s, 0).await;
    let emission = 1_000 * TOKEN + 50 * TOKEN;
    assert!(e0.closed);
    assert_eq!(e0.scheduled_emission, 1_000 * TOKEN);
    assert_eq!(e0.remint, 50 * TOKEN);
    assert_eq!(e0.emission, emission);
    assert_eq!(e0.usage_pool, emission * 6 / 10);
    assert_eq!(
        e0.contribution_pool, 0,
        "no contribution units: pool not minted"
    );
    assert_eq!(e0.not_emitted, emission * 2 / 10);
    assert_eq!(
        e0.treasury_amount,
        emission - emission * 6 / 10 - emission * 2 / 10
    );
    assert_eq!(
        e0.usage_pool + e0.contribution_pool + e0.treasury_amount + e0.not_emitted,
        e0.emission
    );
    assert_eq!(
        s.fixture.token_balance(&s.network.treasury).await - treasury_before,
        e0.treasury_amount
    );
    assert_eq!(
        s.fixture.mint_supply(&s.network.token_mint).await - supply_before,
        e0.treasury_amount
    );

    // Epoch 1: burn 700 tokens (above the 500 cap) and an odd amount to force dust.
    let buy = s.network.buy(
        &s.fixture,
        &s.customer.pubkey(),
        &s.customer.pubkey(),
        Purchase::Tokens {
            tokens: 700 * TOKEN + 7,
            min_credits: 0,
        },
        None,
    );
    s.fixture.send_ok(&[buy], &[&s.customer]).await;
    let p1 = s.providers[1].2;
    s.fixture.send_ok(&settle(&s, &p1, 3), &[]).await;
    let entries = [(p0, 5)];
    let oracles: Vec<&Keypair> = s.network.oracles.iter().take(2).collect();
    let report_ixs = report(&s, &oracles, 1, 1, &entries);
    s.fixture.send_ok(&report_ixs, &[]).await;
    s.network.warp_to_epoch(&mut s.fixture, 2, GRACE);
    s.fixture
        .send_ok(&[s.network.close(&s.fixture, 1)], &[])
        .await;
    let e1 = epoch(&mut s, 1).await;
    assert_eq!(e1.remint, 500 * TOKEN, "re-mint capped");
    let emission = 1_000 * TOKEN + 500 * TOKEN;
    assert_eq!(e1.emission, emission);
    assert_eq!(e1.usage_pool, emission * 6_000 / 10_000);
    assert_eq!(e1.contribution_pool, emission * 2_000 / 10_000);
    assert_eq!(e1.not_emitted, 0);
    assert_eq!(
        e1.usage_pool + e1.contribution_pool + e1.treasury_amount,
        emission
    );
}

#[tokio::test]
async fn rewards_are_pro_rata_claimable_by_anyone_to_the_destination_once() {
    let mut s = setup().await;
    let (p0, p1) = (s.providers[0].2, s.providers[1].2);
    // Usage 3:1, contribution 1:2.
    s.fixture.send_ok(&settle(&s, &p0, 3_000), &[]).await;
    s.fixture.send_ok(&settle(&s, &p1, 1_000), &[]).await;
    let oracles: Vec<&Keypair> = s.network.oracles.iter().collect();
    s.fixture
        .send_ok(&report(&s, &oracles, 0, 1, &[(p0, 10), (p1, 20)]), &[])
        .await;
    s.network.warp_to_epoch(&mut s.fixture, 1, GRACE);
    s.fixture
        .send_ok(&[s.network.close(&s.fixture, 0)], &[])
        .await;
    let e0 = epoch(&mut s, 0).await;

    let expected0 = e0.usage_pool * 3 / 4 + e0.contribution_pool / 3;
    let expected1 = e0.usage_pool / 4 + e0.contribution_pool * 2 / 3;
    // A stranger cranks the claim; the tokens land at the registered destination.
    let destination0 = s.network.token_account(&s.providers[0].1.pubkey());
    let claim = s.network.claim(&mut s.fixture, &p0).await;
    s.fixture.send_ok(&[claim], &[]).await;
    assert_eq!(s.fixture.token_balance(&destination0).await, expected0);
    let provider0: Provider = s.fixture.account(&p0).await;
    assert_eq!(provider0.claimed, expected0);
    assert_eq!(provider0.accrued, 0);
    assert!(provider0.pending.iter().all(|p| p.is_free()));

    // Claiming again pays nothing.
    let claim = s.network.claim(&mut s.fixture, &p0).await;
    s.fixture.send_ok(&[claim], &[]).await;
    assert_eq!(s.fixture.token_balance(&destination0).await, expected0);

    let claim = s.network.claim(&mut s.fixture, &p1).await;
    s.fixture.send_ok(&[claim], &[]).await;
    let destination1 = s.network.token_account(&s.providers[1].1.pubkey());
    assert_eq!(s.fixture.token_balance(&destination1).await, expected1);

    // Claimed never exceeds the pools; the dust is what is left.
    let e0 = epoch(&mut s, 0).await;
    assert_eq!(e0.usage_claimed, e0.usage_pool * 3 / 4 + e0.usage_pool / 4);
    assert!(e0.usage_claimed <= e0.usage_pool && e0.usage_pool - e0.usage_claimed < 2);
    assert!(
        e0.contribution_claimed <= e0.contribution_pool
            && e0.contribution_pool - e0.contribution_claimed < 2
    );
    let protocol: Protocol = s.fixture.account(&s.network.protocol).await;
    assert_eq!(
        protocol.totals.rewards_outstanding,
        (e0.usage_pool - e0.usage_claimed) + (e0.contribution_pool - e0.contribution_claimed)
    );

    // Claiming to another destination than the registered one fails.
    let mut wrong = s.network.claim(&mut s.fixture, &p0).await;
    wrong.accounts[2].pubkey = s.network.treasury;
    assert_error(
        s.fixture.send(&[wrong], &[]).await,
        BmeError::InvalidDestination,
    );
}

#[tokio::test]
async fn missed_epochs_close_in_a_row_and_one_claim_covers_several_epochs() {
    let mut s = setup().await;
    let p0 = s.providers[0].2;
    s.fixture.send_ok(&settle(&s, &p0, 100), &[]).await;
    s.network.warp_to_epoch(&mut s.fixture, 1, 10);
    s.fixture.send_ok(&settle(&s, &p0, 300), &[]).await;
    // Both slots in use by unclosed epochs 0 and 1: work in epoch 2 must wait.
    s.network.warp_to_epoch(&mut s.fixture, 2, 10);
    let before = s.fixture.snapshot(&[p0]).await;
    assert_error(
        s.fixture.send(&settle(&s, &p0, 400), &[]).await,
        BmeError::ProviderSlotsFull,
    );
    assert_eq!(s.fixture.snapshot(&[p0]).await, before);

    // A long pause: the client catches up epochs 0..=3 one transaction each, in order.
    s.network.warp_to_epoch(&mut s.fixture, 5, GRACE);
    for e in 0..=3 {
        s.fixture
            .send_ok(&[s.network.close(&s.fixture, e)], &[])
            .await;
    }
    let protocol: Protocol = s.fixture.account(&s.network.protocol).await;
    assert_eq!(protocol.next_epoch_to_close, 4);
    let (e0, e1) = (epoch(&mut s, 0).await, epoch(&mut s, 1).await);
    assert_eq!(
        epoch(&mut s, 3).await.usage_pool,
        0,
        "an epoch with no activity mints no pool"
    );

    let claim = s.network.claim(&mut s.fixture, &p0).await;
    assert_eq!(
        claim.accounts.len(),
        7 + 2,
        "one claim carries both closed epochs"
    );
    s.fixture.send_ok(&[claim], &[]).await;
    let destination = s.network.token_account(&s.providers[0].1.pubkey());
    // Sole worker in both epochs: the whole usage pools.
    assert_eq!(
        s.fixture.token_balance(&destination).await,
        e0.usage_pool + e1.usage_pool
    );

    // Slots are free again: work resumes in the current epoch.
    s.fixture.send_ok(&settle(&s, &p0, 400), &[]).await;
}

#[tokio::test]
async fn report_attacks_fail_with_named_errors() {
    let mut s = setup().await;
    let (p0, p1) = (s.providers[0].2, s.providers[1].2);
    let o = &s.network.oracles;
    let (a, b, c) = (
        o[0].insecure_clone(),
        o[1].insecure_clone(),
        o[2].insecure_clone(),
    );
    let entries = [(p0, 10), (p1, 20)];
    let watched = [p0, p1, pda::oracle_set(&s.network.protocol)];

    async fn rejected(
        s: &mut Setup,
        ixs: Vec<Instruction>,
        watched: &[Pubkey],
        expected: BmeError,
    ) {
        let before = s.fixture.snapshot(watched).await;
        assert_error(s.fixture.send(&ixs, &[]).await, expected);
        assert_eq!(
            s.fixture.snapshot(watched).await,
            before,
            "state changed on {expected:?}"
        );
    }

    let ixs = report(&s, &[&a], 0, 1, &entries);

    rejected(&mut s, ixs, &watched, BmeError::BelowThreshold).await;
    let ixs = report(&s, &[&a, &a], 0, 1, &entries);
    rejected(&mut s, ixs, &watched, BmeError::DuplicateSigner).await;
    let outsider = Keypair::new();
    let ixs = report(&s, &[&a, &outsider], 0, 1, &entries);
    rejected(&mut s, ixs, &watched, BmeError::UnregisteredOracle).await;
    let ixs = report(&s, &[&a, &b], 1, 1, &entries);
    rejected(&mut s, ixs, &watched, BmeError::WrongEpoch).await;
    // An unregistered "provider": a random writable account, then another protocol's provider.
    let ixs = report(&s, &[&a, &b], 0, 1, &[(p0, 10), (Pubkey::new_unique(), 5)]);
    rejected(&mut s, ixs, &watched, BmeError::UnregisteredProvider).await;
    let other = Network::adopt(&mut s.fixture, SPL_TOKEN, 0, |_| {})
        .await
        .expect("second network");
    let (_n, _o, foreign_provider) = other.register_provider(&mut s.fixture).await;
    let ixs = report(&s, &[&a, &b], 0, 1, &[(p0, 10), (foreign_provider, 5)]);
    rejected(&mut s, ixs, &watched, BmeError::UnregisteredProvider).await;
    // Entries tampered after signing: units changed in the instruction.
    let mut tampered = report(&s, &[&a, &b], 0, 1, &entries);
    let data = &mut tampered[1].data;
    let last = data.len() - 8;
    data[last..].copy_from_slice(&999u64.to_le_bytes());
    rejected(&mut s, tampered, &watched, BmeError::MessageMismatch).await;

    // The honest report lands once; its replay fails, as does an older sequence.
    s.fixture
        .send_ok(&report(&s, &[&b, &c], 0, 7, &entries), &[])
        .await;
    let provider: Provider = s.fixture.account(&p1).await;
    assert_eq!(provider.pending[0].contribution_units, 20);
    assert_eq!(epoch(&mut s, 0).await.contribution_units, 30);
    let ixs = report(&s, &[&b, &c], 0, 7, &entries);
    rejected(&mut s, ixs, &watched, BmeError::ReportReplay).await;
    let ixs = report(&s, &[&a, &c], 0, 6, &entries);
    rejected(&mut s, ixs, &watched, BmeError::ReportReplay).await;

    // A closed epoch takes no more reports.
    s.network.warp_to_epoch(&mut s.fixture, 1, GRACE);
    s.fixture
        .send_ok(&[s.network.close(&s.fixture, 0)], &[])
        .await;
    let ixs = report(&s, &[&a, &b], 0, 8, &entries);
    rejected(&mut s, ixs, &watched, BmeError::EpochClosed).await;
}
