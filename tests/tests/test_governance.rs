//! Governance: two-step authority handoff, timelocked and bounded parameter changes that
//! take effect at the next epoch boundary, guardian pauses, the mint rate limit, and a
//! PDA authority signing through a program (as a multisig vault does).

use bme::constants::*;
use bme::error::BmeError;
use bme::instructions::Purchase;
use bme::math::schedule::Segment;
use bme::state::{Epoch, ParameterChange, PendingChange, PoolSplit, Protocol};
use bme_client::receipt::SignedReceipt;
use bme_client::{ix, pda};
use bme_tests::genesis::*;
use bme_tests::vault::{runtime_with_vault, through_vault, vault_address};
use bme_tests::*;
use solana_sdk::instruction::Instruction;
use solana_sdk::pubkey::Pubkey;
use solana_sdk::signature::{Keypair, Signer};

struct Setup {
    fixture: TestFixture,
    network: Network,
    customer: Keypair,
    provider: Pubkey,
}

async fn setup_with(
    customize: impl FnOnce(&mut bme::instructions::InitializeProtocolArgs),
) -> Setup {
    let mut fixture = TestFixture::new(vec![]).await;
    let network = Network::adopt(&mut fixture, SPL_TOKEN, 1_000_000 * TOKEN, customize)
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
    let provider = network.register_provider(&mut fixture).await.2;
    Setup {
        fixture,
        network,
        customer,
        provider,
    }
}

async fn setup() -> Setup {
    setup_with(|_| {}).await
}

fn propose(s: &Setup, authority: &Pubkey, change: ParameterChange) -> Instruction {
    ix::propose_change(
        *authority,
        s.fixture.payer().pubkey(),
        s.network.protocol,
        s.network.token_mint,
        change,
    )
}

fn apply(s: &Setup) -> Instruction {
    ix::apply_change(s.network.protocol, s.network.token_mint)
}

fn settle(s: &Setup, cumulative: u64) -> Vec<Instruction> {
    let receipt = SignedReceipt::sign(&s.customer, &s.provider, cumulative);
    ix::settle_receipts(
        s.fixture.payer().pubkey(),
        s.network.protocol,
        s.network.credit_mint,
        s.network.current_epoch(&s.fixture),
        &[receipt],
    )
}

async fn protocol(s: &mut Setup) -> Protocol {
    s.fixture.account(&s.network.protocol).await
}

#[tokio::test]
async fn authority_handoff_takes_two_steps_and_can_be_cancelled() {
    let mut s = setup().await;
    let authority = s.network.authority.insecure_clone();
    let next = Keypair::new();
    let stranger = Keypair::new();
    let protocol_key = s.network.protocol;

    let by_stranger = ix::transfer_authority(stranger.pubkey(), protocol_key, next.pubkey());
    assert_error(
        s.fixture.send(&[by_stranger], &[&stranger]).await,
        BmeError::Unauthorized,
    );
    s.fixture
        .send_ok(
            &[ix::transfer_authority(
                authority.pubkey(),
                protocol_key,
                next.pubkey(),
            )],
            &[&authority],
        )
        .await;
    assert_eq!(protocol(&mut s).await.pending_authority, next.pubkey());

    // Only the proposed key can accept; only the authority can cancel.
    assert_error(
        s.fixture
            .send(
                &[ix::accept_authority(stranger.pubkey(), protocol_key)],
                &[&stranger],
            )
            .await,
        BmeError::NotPendingAuthority,
    );
    assert_error(
        s.fixture
            .send(
                &[ix::cancel_authority_transfer(
                    stranger.pubkey(),
                    protocol_key,
                )],
                &[&stranger],
            )
            .await,
        BmeError::Unauthorized,
    );
    s.fixture
        .send_ok(
            &[ix::cancel_authority_transfer(
                authority.pubkey(),
                protocol_key,
            )],
            &[&authority],
        )
        .await;
    assert_eq!(protocol(&mut s).await.pending_authority, Pubkey::default());
    assert_error(
        s.fixture
            .send(
                &[ix::accept_authority(next.pubkey(), protocol_key)],
                &[&next],
            )
            .await,
        BmeError::NotPendingAuthority,
    );

    // Propose again and accept.
    s.fixture
        .send_ok(
            &[ix::transfer_authority(
                authority.pubkey(),
                protocol_key,
                next.pubkey(),
            )],
            &[&authority],
        )
        .await;
    s.fixture
        .send_ok(
            &[ix::accept_authority(next.pubkey(), protocol_key)],
            &[&next],
        )
        .await;
    let p = protocol(&mut s).await;
    assert_eq!(p.authority, next.pubkey());
    assert_eq!(p.pending_authority, Pubkey::default());
    // The old authority lost every power.
    let change = ParameterChange::CreditPrice { micro_usd: 11 };
    assert_error(
        s.fixture
            .send(
                &[propose(&s, &authority.pubkey(), change.clone())],
                &[&authority],
            )
            .await,
        BmeError::Unauthorized,
    );
    s.fixture
        .send_ok(&[propose(&s, &next.pubkey(), change)], &[&next])
        .await;
    // The guardian is set directly by the authority.
    let guardian = Pubkey::new_unique();
    assert_error(
        s.fixture
            .send(
                &[ix::set_guardian(authority.pubkey(), protocol_key, guardian)],
                &[&authority],
            )
            .await,
        BmeError::Unauthorized,
    );
    s.fixture
        .send_ok(
            &[ix::set_guardian(next.pubkey(), protocol_key, guardian)],
            &[&next],
        )
        .await;
    assert_eq!(protocol(&mut s).await.guardian, guardian);
}

#[tokio::test]
async fn only_the_authority_proposes_and_cancels_and_apply_waits_for_the_timelock() {
    let mut s = setup().await;
    let authority = s.network.authority.insecure_clone();
    let stranger = Keypair::new();
    let change = ParameterChange::NetRemintCap { cap: 400 * TOKEN };
    assert_error(
        s.fixture
            .send(
                &[propose(&s, &stranger.pubkey(), change.clone())],
                &[&stranger],
            )
            .await,
        BmeError::Unauthorized,
    );
    assert_error(
        s.fixture.send(&[apply(&s)], &[]).await,
        anchor_lang::error::ErrorCode::AccountNotInitialized,
    );

    s.fixture
        .send_ok(
            &[propose(&s, &authority.pubkey(), change.clone())],
            &[&authority],
        )
        .await;
    let pending: PendingChange = s
        .fixture
        .account(&pda::pending_change(&s.network.protocol))
        .await;
    assert!(pending.active);
    assert_eq!(pending.earliest_apply, s.fixture.now() + 3_600);
    assert_error(
        s.fixture
            .send(
                &[propose(&s, &authority.pubkey(), change.clone())],
                &[&authority],
            )
            .await,
        BmeError::ChangeAlreadyPending,
    );
    assert_error(
        s.fixture
            .send(
                &[ix::cancel_change(stranger.pubkey(), s.network.protocol)],
                &[&stranger],
            )
            .await,
        BmeError::Unauthorized,
    );

    // One second early, then on time.
    let now = s.fixture.now();
    s.fixture.warp_to(now + 3_599);
    assert_error(
        s.fixture.send(&[apply(&s)], &[]).await,
        BmeError::TimelockNotElapsed,
    );
    s.fixture.warp_to(now + 3_600);
    s.fixture.send_ok(&[apply(&s)], &[]).await;
    let p = protocol(&mut s).await;
    assert_eq!(p.net_remint_cap, 500 * TOKEN, "staged, not yet in force");
    assert_eq!(p.params_at(1).net_remint_cap, 400 * TOKEN);
    assert_eq!(p.params_at(0).net_remint_cap, 500 * TOKEN);
    assert_error(
        s.fixture.send(&[apply(&s)], &[]).await,
        BmeError::NoPendingChange,
    );

    // A cancelled proposal cannot be applied.
    let other = ParameterChange::Timelock { secs: 7_200 };
    s.fixture
        .send_ok(&[propose(&s, &authority.pubkey(), other)], &[&authority])
        .await;
    s.fixture
        .send_ok(
            &[ix::cancel_change(authority.pubkey(), s.network.protocol)],
            &[&authority],
        )
        .await;
    s.fixture.warp_to(now + 10_000);
    assert_error(
        s.fixture.send(&[apply(&s)], &[]).await,
        BmeError::NoPendingChange,
    );
    assert_eq!(protocol(&mut s).await.timelock_secs, 3_600);
}

#[tokio::test]
async fn changes_take_effect_at_the_next_epoch_boundary_never_retroactively() {
    let mut s = setup().await;
    let authority = s.network.authority.insecure_clone();
    // Mid-epoch 0: raise emission by 5% from epoch 1, split 50/30/20, credit price 20 µUSD.
    s.network.warp_to_epoch(&mut s.fixture, 0, 1_000);
    let segments = vec![
        Segment {
            start_epoch: 0,
            initial_emission: 1_000 * TOKEN,
            halving_interval: 365,
            decay_bps: 0,
            floor: 0,
        },
        Segment {
            start_epoch: 1,
            initial_emission: 1_050 * TOKEN,
            halving_interval: 365,
            decay_bps: 0,
            floor: 0,
        },
    ];
    let new_split = PoolSplit {
        usage_bps: 5_000,
        contribution_bps: 3_000,
        treasury_bps: 2_000,
    };
    for change in [
        ParameterChange::Schedule {
            segments: segments.clone(),
        },
        ParameterChange::PoolSplit { split: new_split },
    ] {
        s.fixture
            .send_ok(&[propose(&s, &authority.pubkey(), change)], &[&authority])
            .await;
        let now = s.fixture.now();
        s.fixture.warp_to(now + 3_600);
        s.fixture.send_ok(&[apply(&s)], &[]).await;
    }
    assert_eq!(protocol(&mut s).await.schedule, segments);

    // Work in epoch 0 after the changes; close it: old emission, old split.
    s.fixture.send_ok(&settle(&s, 100), &[]).await;
    s.network.warp_to_epoch(&mut s.fixture, 1, GRACE);
    s.fixture
        .send_ok(&[s.network.close(&s.fixture, 0)], &[])
        .await;
    let e0: Epoch = s.fixture.account(&pda::epoch(&s.network.protocol, 0)).await;
    assert_eq!(e0.scheduled_emission, 1_000 * TOKEN);
    assert_eq!(e0.usage_pool, e0.emission * 6 / 10);
    // The staged split is folded in once epoch 0 is closed.
    let p = protocol(&mut s).await;
    assert_eq!(p.split, new_split);
    assert!(p.staged.is_none());

    // Epoch 1: the new emission and the new split.
    s.fixture.send_ok(&settle(&s, 200), &[]).await;
    s.network.warp_to_epoch(&mut s.fixture, 2, GRACE);
    s.fixture
        .send_ok(&[s.network.close(&s.fixture, 1)], &[])
        .await;
    let e1: Epoch = s.fixture.account(&pda::epoch(&s.network.protocol, 1)).await;
    assert_eq!(e1.scheduled_emission, 1_050 * TOKEN);
    assert_eq!(e1.usage_pool, e1.emission / 2);
}

#[tokio::test]
async fn a_credit_price_change_never_touches_purchases_of_the_current_epoch() {
    let mut s = setup().await;
    let authority = s.network.authority.insecure_clone();
    s.fixture
        .send_ok(
            &[propose(
                &s,
                &authority.pubkey(),
                ParameterChange::CreditPrice { micro_usd: 20 },
            )],
            &[&authority],
        )
        .await;
    let now = s.fixture.now();
    s.fixture.warp_to(now + 3_600);
    s.fixture.send_ok(&[apply(&s)], &[]).await;
    // Still epoch 0: $1 buys 100,000 credits at 10 µUSD.
    let buyer = s.customer.insecure_clone();
    let balance = |s: &Setup| s.network.credit_account(&buyer.pubkey());
    let account = balance(&s);
    let before = s.fixture.token_balance(&account).await;
    let buy = s.network.buy(
        &s.fixture,
        &buyer.pubkey(),
        &buyer.pubkey(),
        Purchase::Tokens {
            tokens: TOKEN / 2,
            min_credits: 0,
        },
        None,
    );
    s.fixture.send_ok(&[buy], &[&buyer]).await;
    assert_eq!(s.fixture.token_balance(&account).await - before, 100_000);
    // Epoch 1: the same dollar buys 50,000 credits.
    s.network.warp_to_epoch(&mut s.fixture, 1, 10);
    let before = s.fixture.token_balance(&account).await;
    let buy = s.network.buy(
        &s.fixture,
        &buyer.pubkey(),
        &buyer.pubkey(),
        Purchase::Tokens {
            tokens: TOKEN / 2,
            min_credits: 0,
        },
        None,
    );
    s.fixture.send_ok(&[buy], &[&buyer]).await;
    assert_eq!(s.fixture.token_balance(&account).await - before, 50_000);
}

#[tokio::test]
async fn every_bound_has_its_own_error_at_propose_time() {
    let mut s = setup().await;
    let authority = s.network.authority.insecure_clone();
    s.network.warp_to_epoch(&mut s.fixture, 3, 1_000);
    let seg = |start, initial| Segment {
        start_epoch: start,
        initial_emission: initial,
        halving_interval: 365,
        decay_bps: 0,
        floor: 0,
    };
    let base = seg(0, 1_000 * TOKEN);
    let cases: Vec<(ParameterChange, BmeError)> = vec![
        (
            ParameterChange::Schedule {
                segments: vec![base, seg(4, 1_101 * TOKEN)],
            },
            BmeError::EmissionChangeTooLarge,
        ),
        (
            ParameterChange::Schedule {
                segments: vec![base, seg(4, 899 * TOKEN)],
            },
            BmeError::EmissionChangeTooLarge,
        ),
        (
            ParameterChange::Schedule {
                segments: vec![base, seg(3, 1_000 * TOKEN)],
            },
            BmeError::ChangeRetroactive,
        ),
        (
            ParameterChange::Schedule {
                segments: vec![seg(0, 990 * TOKEN)],
            },
            BmeError::ChangeRetroactive,
        ),
        (
            ParameterChange::Schedule {
                segments: vec![base, seg(6, 1_000 * TOKEN), seg(5, 1_000 * TOKEN)],
            },
            BmeError::UnsortedSchedule,
        ),
        (
            ParameterChange::SupplyCap {
                cap: 1_000_000_001 * TOKEN,
            },
            BmeError::SupplyCapIncrease,
        ),
        (
            ParameterChange::SupplyCap {
                cap: 999_900 * TOKEN,
            },
            BmeError::SupplyCapBelowSupply,
        ),
        (
            ParameterChange::Timelock { secs: 3_599 },
            BmeError::TimelockDecrease,
        ),
        (
            ParameterChange::OracleSet {
                oracles: vec![Pubkey::new_unique(); 1],
                threshold: 2,
            },
            BmeError::InvalidOracleThreshold,
        ),
        (
            ParameterChange::OracleSet {
                oracles: vec![Pubkey::new_unique(), Pubkey::new_unique()],
                threshold: 0,
            },
            BmeError::InvalidOracleThreshold,
        ),
        (
            ParameterChange::MintRateLimit {
                window_secs: 86_400,
                max_per_window: 2_999 * TOKEN,
            },
            BmeError::RateLimitTooLow,
        ),
        (
            ParameterChange::NetRemintCap {
                cap: 100_000 * TOKEN,
            },
            BmeError::RateLimitTooLow,
        ),
        (
            ParameterChange::PoolSplit {
                split: PoolSplit {
                    usage_bps: 1,
                    contribution_bps: 1,
                    treasury_bps: 1,
                },
            },
            BmeError::InvalidSplit,
        ),
        (
            ParameterChange::CreditPrice { micro_usd: 0 },
            BmeError::ZeroCreditPrice,
        ),
        (
            ParameterChange::GracePeriod { secs: EPOCH as u64 },
            BmeError::GracePeriodTooLong,
        ),
    ];
    for (change, expected) in cases {
        let result = s
            .fixture
            .send(
                &[propose(&s, &authority.pubkey(), change.clone())],
                &[&authority],
            )
            .await;
        assert_eq!(
            custom_code(&result),
            Some(anchor_lang::error::ERROR_CODE_OFFSET + expected as u32),
            "{change:?}: expected {expected:?}, got {result:?}"
        );
    }
    // Within the 10% bound it is accepted.
    s.fixture
        .send_ok(
            &[propose(
                &s,
                &authority.pubkey(),
                ParameterChange::Schedule {
                    segments: vec![base, seg(4, 1_100 * TOKEN)],
                },
            )],
            &[&authority],
        )
        .await;
}

#[tokio::test]
async fn bounds_are_checked_again_at_apply_time() {
    let mut s = setup().await;
    let authority = s.network.authority.insecure_clone();
    // A schedule change valid for epoch 1 becomes retroactive if applied in epoch 1.
    let segments = vec![
        Segment {
            start_epoch: 0,
            initial_emission: 1_000 * TOKEN,
            halving_interval: 365,
            decay_bps: 0,
            floor: 0,
        },
        Segment {
            start_epoch: 1,
            initial_emission: 1_050 * TOKEN,
            halving_interval: 365,
            decay_bps: 0,
            floor: 0,
        },
    ];
    s.fixture
        .send_ok(
            &[propose(
                &s,
                &authority.pubkey(),
                ParameterChange::Schedule { segments },
            )],
            &[&authority],
        )
        .await;
    s.network.warp_to_epoch(&mut s.fixture, 1, 10);
    let before = s.fixture.snapshot(&[s.network.protocol]).await;
    assert_error(
        s.fixture.send(&[apply(&s)], &[]).await,
        BmeError::ChangeRetroactive,
    );
    assert_eq!(s.fixture.snapshot(&[s.network.protocol]).await, before);
    s.fixture
        .send_ok(
            &[ix::cancel_change(authority.pubkey(), s.network.protocol)],
            &[&authority],
        )
        .await;

    // A supply cap that fits at propose time but not after the treasury has been minted.
    let supply = s.fixture.mint_supply(&s.network.token_mint).await;
    s.fixture
        .send_ok(
            &[propose(
                &s,
                &authority.pubkey(),
                ParameterChange::SupplyCap { cap: supply },
            )],
            &[&authority],
        )
        .await;
    // After the timelock (and past epoch 0's grace), epoch 0 closes and mints first.
    s.network.warp_to_epoch(&mut s.fixture, 1, GRACE + 20);
    s.fixture
        .send_ok(&[s.network.close(&s.fixture, 0)], &[])
        .await;
    assert_error(
        s.fixture.send(&[apply(&s)], &[]).await,
        BmeError::SupplyCapBelowSupply,
    );
}

#[tokio::test]
async fn each_pause_blocks_exactly_its_flow_and_only_the_authority_unpauses() {
    let mut s = setup().await;
    let authority = s.network.authority.insecure_clone();
    let guardian = Keypair::new();
    s.fixture
        .send_ok(
            &[ix::set_guardian(
                authority.pubkey(),
                s.network.protocol,
                guardian.pubkey(),
            )],
            &[&authority],
        )
        .await;
    let stranger = Keypair::new();
    assert_error(
        s.fixture
            .send(
                &[ix::pause(stranger.pubkey(), s.network.protocol, PAUSE_BUY)],
                &[&stranger],
            )
            .await,
        BmeError::Unauthorized,
    );
    assert_error(
        s.fixture
            .send(
                &[ix::pause(guardian.pubkey(), s.network.protocol, 0x80)],
                &[&guardian],
            )
            .await,
        BmeError::InvalidPauseFlags,
    );

    let mut cumulative = 0;
    let mut sequence = 0;
    for flag in [PAUSE_BUY, PAUSE_SETTLE, PAUSE_REPORT, PAUSE_CLAIM] {
        s.fixture
            .send_ok(
                &[ix::pause(guardian.pubkey(), s.network.protocol, flag)],
                &[&guardian],
            )
            .await;
        let epoch = s.network.current_epoch(&s.fixture);
        let buy = s.network.buy(
            &s.fixture,
            &s.customer.pubkey(),
            &s.customer.pubkey(),
            Purchase::Credits {
                credits: 10,
                max_tokens: TOKEN,
            },
            None,
        );
        cumulative += 10;
        sequence += 1;
        let oracles: Vec<&Keypair> = s.network.oracles.iter().take(2).collect();
        let report = ix::signed_report(
            s.fixture.payer().pubkey(),
            s.network.protocol,
            &oracles,
            epoch,
            sequence,
            &[(s.provider, 1)],
        );
        let claim = s.network.claim(&mut s.fixture, &s.provider.clone()).await;
        let customer = s.customer.insecure_clone();
        let flows: Vec<(u8, Vec<Instruction>, Vec<&Keypair>)> = vec![
            (PAUSE_BUY, vec![buy], vec![&customer]),
            (PAUSE_SETTLE, settle(&s, cumulative), vec![]),
            (PAUSE_REPORT, report, vec![]),
            (PAUSE_CLAIM, vec![claim], vec![]),
        ];
        for (flow, instructions, signers) in flows {
            let result = s.fixture.send(&instructions, &signers).await;
            if flow == flag {
                assert_error(result, BmeError::Paused);
            } else {
                assert!(
                    result.is_ok(),
                    "flow {flow} should run while {flag} is paused: {result:?}"
                );
            }
        }
        if flag == PAUSE_SETTLE {
            cumulative -= 10; // the paused settle did not land
        }
        assert_error(
            s.fixture
                .send(
                    &[ix::unpause(guardian.pubkey(), s.network.protocol, flag)],
                    &[&guardian],
                )
                .await,
            BmeError::Unauthorized,
        );
        s.fixture
            .send_ok(
                &[ix::unpause(authority.pubkey(), s.network.protocol, flag)],
                &[&authority],
            )
            .await;
        assert_eq!(protocol(&mut s).await.paused, 0);
    }
    // Closing epochs cannot be paused.
    s.fixture
        .send_ok(
            &[ix::pause(guardian.pubkey(), s.network.protocol, PAUSE_ALL)],
            &[&guardian],
        )
        .await;
    s.network.warp_to_epoch(&mut s.fixture, 1, GRACE);
    s.fixture
        .send_ok(&[s.network.close(&s.fixture, 0)], &[])
        .await;
}

#[tokio::test]
async fn the_rate_limit_refuses_an_over_limit_mint_and_the_same_claim_succeeds_later() {
    // A 10-day window holding exactly twice the largest epoch mint (2 × (1,000 + 500)).
    let mut s = setup_with(|a| {
        a.rate_limit_window_secs = 10 * EPOCH as u64;
        a.rate_limit_max_per_window = 3_000 * TOKEN;
    })
    .await;
    let mut refused = None;
    for epoch in 0..6u64 {
        s.network.warp_to_epoch(&mut s.fixture, epoch, 10);
        s.fixture.send_ok(&settle(&s, 100 * (epoch + 1)), &[]).await;
        s.network.warp_to_epoch(&mut s.fixture, epoch + 1, GRACE);
        let close = s.network.close(&s.fixture, epoch);
        let result = s.fixture.send(std::slice::from_ref(&close), &[]).await;
        if custom_code(&result).is_some() {
            assert_error(result, BmeError::MintRateLimitExceeded);
            refused = Some((epoch, vec![close]));
            break;
        }
        let claim = s.network.claim(&mut s.fixture, &s.provider.clone()).await;
        let result = s.fixture.send(std::slice::from_ref(&claim), &[]).await;
        if custom_code(&result).is_some() {
            assert_error(result, BmeError::MintRateLimitExceeded);
            refused = Some((epoch, vec![claim]));
            break;
        }
    }
    let (epoch, instructions) = refused.expect("the limit must bind within six epochs");
    let p = protocol(&mut s).await;
    assert!(p.mint_rate_limit.minted_in_window <= 3_000 * TOKEN);
    // Nothing was lost: once the window has passed, the very same operation succeeds.
    let window_end = p.mint_rate_limit.window_start + 10 * EPOCH;
    s.fixture.warp_to(window_end);
    s.fixture.send_ok(&instructions, &[]).await;
    assert!(epoch >= 1);
}

#[tokio::test]
async fn a_program_derived_authority_governs_through_invoke_signed() {
    let (vault, _) = vault_address();
    let mut fixture = runtime_with_vault().await;
    let network = Network::adopt(&mut fixture, SPL_TOKEN, 1_000 * TOKEN, |a| {
        a.authority = vault
    })
    .await
    .expect("genesis");
    let mut s = Setup {
        customer: Keypair::new(),
        provider: Pubkey::default(),
        fixture,
        network,
    };
    // The vault proposes (its PDA signs through the vault program), anyone applies.
    let change = ParameterChange::CreditPrice { micro_usd: 12 };
    let proposal = through_vault(propose(&s, &vault, change));
    s.fixture.send_ok(&[proposal], &[]).await;
    let now = s.fixture.now();
    s.fixture.warp_to(now + 3_600);
    s.fixture.send_ok(&[apply(&s)], &[]).await;
    assert_eq!(
        protocol(&mut s).await.params_at(1).credit_price_micro_usd,
        12
    );
    // The same call without the vault's signature fails.
    let unsigned = {
        let mut ix = propose(&s, &vault, ParameterChange::CreditPrice { micro_usd: 13 });
        ix.accounts[0].is_signer = false;
        ix
    };
    assert_error(
        s.fixture.send(&[unsigned], &[]).await,
        anchor_lang::error::ErrorCode::AccountNotSigner,
    );

    // The vault hands authority to a key, and takes it back by accepting a transfer.
    let key = Keypair::new();
    s.fixture
        .send_ok(
            &[through_vault(ix::transfer_authority(
                vault,
                s.network.protocol,
                key.pubkey(),
            ))],
            &[],
        )
        .await;
    s.fixture
        .send_ok(
            &[ix::accept_authority(key.pubkey(), s.network.protocol)],
            &[&key],
        )
        .await;
    s.fixture
        .send_ok(
            &[ix::transfer_authority(
                key.pubkey(),
                s.network.protocol,
                vault,
            )],
            &[&key],
        )
        .await;
    s.fixture
        .send_ok(
            &[through_vault(ix::accept_authority(
                vault,
                s.network.protocol,
            ))],
            &[],
        )
        .await;
    assert_eq!(protocol(&mut s).await.authority, vault);
}
