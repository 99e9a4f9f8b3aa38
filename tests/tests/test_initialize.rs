//! Genesis: `initialize_protocol` against the real SPL Token and Token-2022 programs.

use anchor_spl::token_2022::spl_token_2022;
use anchor_spl::token_2022::spl_token_2022::extension::{
    permanent_delegate::PermanentDelegate, BaseStateWithExtensions, ExtensionType,
    StateWithExtensions,
};
use bme::error::BmeError;
use bme::instructions::{InitializeProtocolArgs, TokenSetup};
use bme::math::schedule::Segment;
use bme::state::{PoolSplit, PriceSource, Protocol};
use bme_tests::genesis::*;
use bme_tests::*;
use solana_sdk::pubkey::Pubkey;
use solana_sdk::signature::{Keypair, Signer};

async fn assert_network_token_authority(fixture: &mut TestFixture, network: &Network) {
    let mint = fixture.mint(&network.token_mint).await;
    assert_eq!(mint.mint_authority, Some(network.protocol).into());
    assert!(mint.freeze_authority.is_none());
    let owner = fixture
        .raw_account(&network.token_mint)
        .await
        .expect("mint")
        .owner;
    assert_eq!(owner, network.token_program);
}

#[tokio::test]
async fn new_mint_under_both_token_programs() {
    let mut fixture = TestFixture::new(vec![]).await;
    for token_program in [SPL_TOKEN, TOKEN_2022] {
        let network = Network::create(&mut fixture, token_program, |_| {})
            .await
            .expect("genesis");
        assert_network_token_authority(&mut fixture, &network).await;
        let mint = fixture.mint(&network.token_mint).await;
        assert_eq!(mint.decimals, DECIMALS);
        assert_eq!(mint.supply, 0);

        let protocol: Protocol = fixture.account(&network.protocol).await;
        assert_eq!(protocol.token_mint, network.token_mint);
        assert_eq!(protocol.token_program, token_program);
        assert_eq!(protocol.credit_mint, network.credit_mint);
        assert_eq!(protocol.authority, network.authority.pubkey());
        assert_eq!(protocol.treasury, network.treasury);
        assert_eq!(protocol.epoch_length_secs, EPOCH as u64);
        assert_eq!(protocol.grace_period_secs, GRACE as u64);
        assert_eq!(protocol.credit_price_micro_usd, 10);
        assert_eq!(protocol.schedule.len(), 1);
        assert_eq!(protocol.split.usage_bps, 6_000);
        assert_eq!(protocol.version, bme::constants::STATE_VERSION);
        assert_eq!(protocol.next_epoch_to_close, 0);
        assert_eq!(protocol.reserved, [0; bme::constants::PROTOCOL_RESERVED]);
    }
}

#[tokio::test]
async fn existing_mint_handed_over_under_both_token_programs() {
    let mut fixture = TestFixture::new(vec![]).await;
    for token_program in [SPL_TOKEN, TOKEN_2022] {
        let network = Network::adopt(&mut fixture, token_program, 5_000 * TOKEN, |_| {})
            .await
            .expect("genesis");
        assert_network_token_authority(&mut fixture, &network).await;
        assert_eq!(
            fixture.mint_supply(&network.token_mint).await,
            5_000 * TOKEN
        );
        let protocol: Protocol = fixture.account(&network.protocol).await;
        assert_eq!(protocol.token_program, token_program);
        assert_eq!(protocol.token_decimals, DECIMALS);
    }
}

#[tokio::test]
async fn credit_mint_is_non_transferable_with_protocol_as_permanent_delegate() {
    let mut fixture = TestFixture::new(vec![]).await;
    let network = Network::create(&mut fixture, SPL_TOKEN, |_| {})
        .await
        .expect("genesis");
    let account = fixture
        .raw_account(&network.credit_mint)
        .await
        .expect("credit mint");
    assert_eq!(account.owner, TOKEN_2022);
    let mint =
        StateWithExtensions::<spl_token_2022::state::Mint>::unpack(&account.data).expect("unpack");
    let mut extensions = mint.get_extension_types().expect("extensions");
    extensions.sort_by_key(|e| *e as u16);
    assert_eq!(
        extensions,
        vec![
            ExtensionType::NonTransferable,
            ExtensionType::PermanentDelegate
        ]
    );
    let delegate = mint.get_extension::<PermanentDelegate>().expect("delegate");
    assert_eq!(
        Option::<Pubkey>::from(delegate.delegate),
        Some(network.protocol)
    );
    assert_eq!(mint.base.decimals, 0);
    assert_eq!(mint.base.mint_authority, Some(network.protocol).into());
    assert!(mint.base.freeze_authority.is_none());
}

#[tokio::test]
async fn second_initialize_for_the_same_token_fails() {
    let mut fixture = TestFixture::new(vec![]).await;
    let network = Network::adopt(&mut fixture, SPL_TOKEN, 0, |_| {})
        .await
        .expect("genesis");
    let mut args = default_args(fixture.now(), &[]);
    args.token = TokenSetup::ExistingMint;
    let again = bme_client::ix::initialize_protocol(
        bme_client::ix::InitializeProtocolAccounts {
            payer: fixture.payer().pubkey(),
            token_mint: network.token_mint,
            treasury: network.treasury,
            token_program: SPL_TOKEN,
        },
        args,
    );
    let before = fixture.snapshot(&[network.protocol]).await;
    let result = fixture.send(&[again], &[]).await;
    // The program creates its accounts itself and refuses one that already exists.
    assert_error(
        result,
        anchor_lang::error::ErrorCode::AccountDiscriminatorAlreadySet,
    );
    assert_eq!(fixture.snapshot(&[network.protocol]).await, before);
}

fn segment(start: u64, initial: u64) -> Segment {
    Segment {
        start_epoch: start,
        initial_emission: initial,
        halving_interval: 0,
        decay_bps: 0,
        floor: 0,
    }
}

type Mutation = fn(&mut InitializeProtocolArgs);

#[tokio::test]
async fn every_invalid_genesis_parameter_has_its_own_error() {
    let cases: Vec<(&str, Mutation, BmeError)> = vec![
        (
            "zero epoch length",
            |a| a.epoch_length_secs = 0,
            BmeError::ZeroEpochLength,
        ),
        (
            "grace >= epoch",
            |a| a.grace_period_secs = a.epoch_length_secs,
            BmeError::GracePeriodTooLong,
        ),
        (
            "empty schedule",
            |a| a.schedule.clear(),
            BmeError::EmptySchedule,
        ),
        (
            "too many segments",
            |a| a.schedule = (0..9).map(|i| segment(i * 10, 100)).collect(),
            BmeError::TooManySegments,
        ),
        (
            "first segment not at 0",
            |a| a.schedule[0].start_epoch = 5,
            BmeError::FirstSegmentNotAtZero,
        ),
        (
            "unsorted schedule",
            |a| a.schedule = vec![segment(0, 100), segment(20, 50), segment(10, 40)],
            BmeError::UnsortedSchedule,
        ),
        (
            "halving and decay",
            |a| a.schedule[0].decay_bps = 10,
            BmeError::HalvingAndDecay,
        ),
        (
            "decay 100%",
            |a| {
                a.schedule[0].halving_interval = 0;
                a.schedule[0].decay_bps = 10_000
            },
            BmeError::DecayTooLarge,
        ),
        (
            "floor above initial",
            |a| a.schedule[0].floor = a.schedule[0].initial_emission + 1,
            BmeError::FloorAboveInitial,
        ),
        (
            "split not 10,000",
            |a| {
                a.split = PoolSplit {
                    usage_bps: 5_000,
                    contribution_bps: 2_000,
                    treasury_bps: 2_000,
                }
            },
            BmeError::InvalidSplit,
        ),
        (
            "zero credit price",
            |a| a.credit_price_micro_usd = 0,
            BmeError::ZeroCreditPrice,
        ),
        (
            "zero fixed price",
            |a| a.price_source = PriceSource::Fixed { price: 0, expo: -8 },
            BmeError::ZeroFixedPrice,
        ),
        (
            "fixed expo out of range",
            |a| {
                a.price_source = PriceSource::Fixed {
                    price: 1,
                    expo: -40,
                }
            },
            BmeError::PriceExponentOutOfRange,
        ),
        (
            "pyth max age 0",
            |a| {
                a.price_source = PriceSource::Pyth {
                    feed_id: FEED_ID,
                    account: Pubkey::new_unique(),
                    max_age_secs: 0,
                    max_conf_bps: 100,
                }
            },
            BmeError::InvalidPriceMaxAge,
        ),
        (
            "pyth max conf 0",
            |a| {
                a.price_source = PriceSource::Pyth {
                    feed_id: FEED_ID,
                    account: Pubkey::new_unique(),
                    max_age_secs: 60,
                    max_conf_bps: 0,
                }
            },
            BmeError::InvalidPriceMaxConfidence,
        ),
        (
            "rate limit too low",
            |a| a.rate_limit_max_per_window = 2 * (1_000 + 500) * TOKEN - 1,
            BmeError::RateLimitTooLow,
        ),
        (
            "zero rate window",
            |a| a.rate_limit_window_secs = 0,
            BmeError::ZeroRateLimitWindow,
        ),
        (
            "threshold above N",
            |a| a.oracle_threshold = 4,
            BmeError::InvalidOracleThreshold,
        ),
        (
            "threshold zero",
            |a| a.oracle_threshold = 0,
            BmeError::InvalidOracleThreshold,
        ),
        (
            "too many oracles",
            |a| {
                a.oracles = (0..11).map(|_| Pubkey::new_unique()).collect();
                a.oracle_threshold = 1
            },
            BmeError::TooManyOracles,
        ),
        (
            "duplicate oracle",
            |a| a.oracles[1] = a.oracles[0],
            BmeError::DuplicateOracle,
        ),
        (
            "emission change bound 0",
            |a| a.max_emission_change_bps = 0,
            BmeError::InvalidEmissionChangeBound,
        ),
    ];
    let mut fixture = TestFixture::new(vec![]).await;
    for (name, mutate, expected) in cases {
        let result = Network::create(&mut fixture, SPL_TOKEN, mutate)
            .await
            .map(|_| ());
        assert_eq!(
            custom_code(&result),
            Some(anchor_lang::error::ERROR_CODE_OFFSET + expected as u32),
            "case `{name}`: expected {expected:?}, got {result:?}"
        );
    }
}

#[tokio::test]
async fn existing_mint_genesis_errors() {
    let mut fixture = TestFixture::new(vec![]).await;
    // Supply cap below the supply that already exists.
    let result = Network::adopt(&mut fixture, SPL_TOKEN, 5_000 * TOKEN, |a| {
        a.supply_cap = 4_999 * TOKEN
    })
    .await;
    assert_error(result.map(|_| ()), BmeError::SupplyCapBelowSupply);

    // Authority not handed over: the mint keeps its own authority.
    let mint_authority = Keypair::new();
    let mint = fixture
        .create_mint(&SPL_TOKEN, DECIMALS, &mint_authority.pubkey(), None)
        .await
        .pubkey();
    let mut args = default_args(fixture.now(), &[]);
    args.token = TokenSetup::ExistingMint;
    let genesis = |treasury| {
        bme_client::ix::initialize_protocol(
            bme_client::ix::InitializeProtocolAccounts {
                payer: fixture.payer().pubkey(),
                token_mint: mint,
                treasury,
                token_program: SPL_TOKEN,
            },
            args.clone(),
        )
    };
    let ix = genesis(Pubkey::new_unique());
    assert_error(
        fixture.send(&[ix], &[]).await,
        BmeError::MintAuthorityNotProtocol,
    );

    // A freeze authority other than nobody.
    let frozen_authority = Keypair::new();
    let freezer = Pubkey::new_unique();
    let mint2 = fixture
        .create_mint(
            &SPL_TOKEN,
            DECIMALS,
            &frozen_authority.pubkey(),
            Some(&freezer),
        )
        .await
        .pubkey();
    let hand_over =
        bme_client::ix::hand_over_mint_authority(&SPL_TOKEN, &mint2, &frozen_authority.pubkey())
            .unwrap();
    let genesis2 = bme_client::ix::initialize_protocol(
        bme_client::ix::InitializeProtocolAccounts {
            payer: fixture.payer().pubkey(),
            token_mint: mint2,
            treasury: Pubkey::new_unique(),
            token_program: SPL_TOKEN,
        },
        args.clone(),
    );
    assert_error(
        fixture
            .send(&[hand_over, genesis2], &[&frozen_authority])
            .await,
        BmeError::FreezeAuthorityPresent,
    );

    // A treasury that is a token account of another mint.
    let other = fixture
        .create_mint(&SPL_TOKEN, DECIMALS, &frozen_authority.pubkey(), None)
        .await
        .pubkey();
    let wrong_treasury = fixture
        .create_ata(&frozen_authority.pubkey(), &other, &SPL_TOKEN)
        .await;
    let authority3 = Keypair::new();
    let mint3 = fixture
        .create_mint(&SPL_TOKEN, DECIMALS, &authority3.pubkey(), None)
        .await
        .pubkey();
    let hand_over3 =
        bme_client::ix::hand_over_mint_authority(&SPL_TOKEN, &mint3, &authority3.pubkey()).unwrap();
    let genesis3 = bme_client::ix::initialize_protocol(
        bme_client::ix::InitializeProtocolAccounts {
            payer: fixture.payer().pubkey(),
            token_mint: mint3,
            treasury: wrong_treasury,
            token_program: SPL_TOKEN,
        },
        args.clone(),
    );
    assert_error(
        fixture.send(&[hand_over3, genesis3], &[&authority3]).await,
        BmeError::InvalidTreasury,
    );

    // A "new" mint that does not sign.
    let mut new_args = default_args(fixture.now(), &[]);
    new_args.token = TokenSetup::NewMint { decimals: 6 };
    let fresh = Keypair::new();
    let mut ix = Network::new_mint_genesis(&fixture, SPL_TOKEN, &new_args, &fresh);
    for meta in ix.accounts.iter_mut() {
        if meta.pubkey == fresh.pubkey() {
            meta.is_signer = false;
        }
    }
    assert_error(fixture.send(&[ix], &[]).await, BmeError::InvalidNewMint);
}
