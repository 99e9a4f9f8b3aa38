//! `buy_credits`: exact balances and supplies at fixed and Pyth prices, for SPL Token
//! and Token-2022 network tokens, and every price and amount attack.

use bme::error::BmeError;
use bme::instructions::Purchase;
use bme::state::{Epoch, Protocol};
use bme_tests::genesis::*;
use bme_tests::*;
use solana_sdk::pubkey::Pubkey;
use solana_sdk::signature::{Keypair, Signer};

/// Fixed $2.00: 1 token = $2 = 200,000 credits at $0.00001.
const CREDITS_PER_TOKEN: u64 = 200_000;

struct Balances {
    buyer_tokens: u64,
    recipient_credits: u64,
    token_supply: u64,
    credit_supply: u64,
}

async fn balances(
    fixture: &mut TestFixture,
    network: &Network,
    buyer: &Pubkey,
    recipient: &Pubkey,
) -> Balances {
    let credit_account = network.credit_account(recipient);
    let recipient_credits = if fixture.raw_account(&credit_account).await.is_some() {
        fixture.token_balance(&credit_account).await
    } else {
        0
    };
    Balances {
        buyer_tokens: fixture.token_balance(&network.token_account(buyer)).await,
        recipient_credits,
        token_supply: fixture.mint_supply(&network.token_mint).await,
        credit_supply: fixture.mint_supply(&network.credit_mint).await,
    }
}

#[allow(clippy::too_many_arguments)]
async fn assert_purchase(
    fixture: &mut TestFixture,
    network: &Network,
    buyer: &Keypair,
    recipient: &Pubkey,
    purchase: Purchase,
    price_update: Option<Pubkey>,
    expected_tokens: u64,
    expected_credits: u64,
) {
    let before = balances(fixture, network, &buyer.pubkey(), recipient).await;
    let epoch_before: Option<Epoch> = {
        let address = bme_client::pda::epoch(&network.protocol, network.current_epoch(fixture));
        match fixture.raw_account(&address).await {
            Some(_) => Some(fixture.account(&address).await),
            None => None,
        }
    };
    let ix = network.buy(fixture, &buyer.pubkey(), recipient, purchase, price_update);
    fixture.send_ok(&[ix], &[buyer]).await;
    let after = balances(fixture, network, &buyer.pubkey(), recipient).await;
    assert_eq!(before.buyer_tokens - after.buyer_tokens, expected_tokens);
    assert_eq!(
        after.recipient_credits - before.recipient_credits,
        expected_credits
    );
    assert_eq!(before.token_supply - after.token_supply, expected_tokens);
    assert_eq!(after.credit_supply - before.credit_supply, expected_credits);
    let epoch: Epoch = fixture
        .account(&bme_client::pda::epoch(
            &network.protocol,
            network.current_epoch(fixture),
        ))
        .await;
    let (burned0, minted0) = epoch_before.map_or((0, 0), |e| (e.tokens_burned, e.credits_minted));
    assert_eq!(epoch.tokens_burned - burned0, expected_tokens);
    assert_eq!(epoch.credits_minted - minted0, expected_credits);
}

#[tokio::test]
async fn buy_at_fixed_price_by_tokens_and_by_credits_both_token_programs() {
    let mut fixture = TestFixture::new(vec![]).await;
    for token_program in [SPL_TOKEN, TOKEN_2022] {
        let network = Network::adopt(&mut fixture, token_program, 1_000 * TOKEN, |_| {})
            .await
            .expect("genesis");
        let buyer = network.fund_customer(&mut fixture, 100 * TOKEN).await;
        let recipient = Pubkey::new_unique();
        // By tokens: 1.5 tokens → 300,000 credits, to someone else's new credit account.
        assert_purchase(
            &mut fixture,
            &network,
            &buyer,
            &recipient,
            Purchase::Tokens {
                tokens: 3 * TOKEN / 2,
                min_credits: 300_000,
            },
            None,
            3 * TOKEN / 2,
            300_000,
        )
        .await;
        // By credits: 100,000 credits = $1 = 0.5 token.
        assert_purchase(
            &mut fixture,
            &network,
            &buyer,
            &buyer.pubkey(),
            Purchase::Credits {
                credits: 100_000,
                max_tokens: TOKEN / 2,
            },
            None,
            TOKEN / 2,
            100_000,
        )
        .await;
        // Rounding never favours the buyer: 7 credits cost 35 base units exactly, 1 base
        // unit buys floor(0.2) = 0 credits and is refused.
        assert_purchase(
            &mut fixture,
            &network,
            &buyer,
            &buyer.pubkey(),
            Purchase::Credits {
                credits: 7,
                max_tokens: 35,
            },
            None,
            35,
            7,
        )
        .await;
        let tiny = network.buy(
            &fixture,
            &buyer.pubkey(),
            &buyer.pubkey(),
            Purchase::Tokens {
                tokens: 1,
                min_credits: 0,
            },
            None,
        );
        assert_error(
            fixture.send(&[tiny], &[&buyer]).await,
            BmeError::PurchaseTooSmall,
        );

        let protocol: Protocol = fixture.account(&network.protocol).await;
        assert_eq!(protocol.totals.tokens_burned, 2 * TOKEN + 35);
        assert_eq!(protocol.totals.credits_minted, 400_007);
        assert_eq!(CREDITS_PER_TOKEN * 2 + 7, 400_007);
    }
}

struct PythSetup {
    fixture: TestFixture,
    network: Network,
    buyer: Keypair,
    price_account: Pubkey,
}

fn price(fixture: &TestFixture, price: i64, conf: u64) -> PythPrice {
    PythPrice {
        feed_id: FEED_ID,
        price,
        conf,
        expo: -8,
        publish_time: fixture.now() - 5,
        fully_verified: true,
    }
}

async fn pyth_setup(token_program: Pubkey) -> PythSetup {
    let price_account = Pubkey::new_unique();
    let mut fixture = TestFixture::new(vec![]).await;
    let network = Network::adopt(&mut fixture, token_program, 1_000 * TOKEN, |a| {
        a.price_source = pyth_source(price_account)
    })
    .await
    .expect("genesis");
    let buyer = network.fund_customer(&mut fixture, 100 * TOKEN).await;
    let account = pyth_price_account(price(&fixture, 200_000_000, 1_000_000));
    fixture.set_account(&price_account, account);
    PythSetup {
        fixture,
        network,
        buyer,
        price_account,
    }
}

#[tokio::test]
async fn buy_at_pyth_price_uses_price_minus_confidence_both_token_programs() {
    for token_program in [SPL_TOKEN, TOKEN_2022] {
        let PythSetup {
            mut fixture,
            network,
            buyer,
            price_account,
        } = pyth_setup(token_program).await;
        // $2.00 ± $0.01 → sold at $1.99: 1 token buys 199,000 credits.
        assert_purchase(
            &mut fixture,
            &network,
            &buyer,
            &buyer.pubkey(),
            Purchase::Tokens {
                tokens: TOKEN,
                min_credits: 199_000,
            },
            Some(price_account),
            TOKEN,
            199_000,
        )
        .await;
        // 199,000 credits cost exactly 1 token; 199,001 cost one base unit more (rounded up).
        assert_purchase(
            &mut fixture,
            &network,
            &buyer,
            &buyer.pubkey(),
            Purchase::Credits {
                credits: 199_001,
                max_tokens: TOKEN + 6,
            },
            Some(price_account),
            TOKEN + 6,
            199_001,
        )
        .await;
    }
}

/// Runs a purchase that must fail with `expected` and change nothing.
async fn assert_rejected(
    setup: &mut PythSetup,
    purchase: Purchase,
    price_update: Option<Pubkey>,
    expected: BmeError,
) {
    let PythSetup {
        fixture,
        network,
        buyer,
        ..
    } = setup;
    let epoch = bme_client::pda::epoch(&network.protocol, network.current_epoch(fixture));
    let watched = [
        network.token_account(&buyer.pubkey()),
        network.credit_account(&buyer.pubkey()),
        network.token_mint,
        network.credit_mint,
        network.protocol,
        epoch,
    ];
    let before = fixture.snapshot(&watched).await;
    let ix = network.buy(
        fixture,
        &buyer.pubkey(),
        &buyer.pubkey(),
        purchase,
        price_update,
    );
    let result = fixture.send(&[ix], &[&*buyer]).await;
    assert_error(result, expected);
    assert_eq!(
        fixture.snapshot(&watched).await,
        before,
        "state changed on {expected:?}"
    );
}

const ONE_TOKEN: Purchase = Purchase::Tokens {
    tokens: TOKEN,
    min_credits: 0,
};

#[tokio::test]
async fn price_attacks_fail_with_named_errors_and_change_nothing() {
    let mut setup = pyth_setup(SPL_TOKEN).await;
    let pinned = setup.price_account;
    let now = setup.fixture.now();

    // Stale: published 61 s ago with a 60 s limit.
    let mut stale = price(&setup.fixture, 200_000_000, 1_000_000);
    stale.publish_time = now - 61;
    setup
        .fixture
        .set_account(&pinned, pyth_price_account(stale));
    assert_rejected(&mut setup, ONE_TOKEN, Some(pinned), BmeError::StalePrice).await;

    // Confidence 2.5% with a 2% limit.
    let wide = price(&setup.fixture, 200_000_000, 5_000_000);
    setup.fixture.set_account(&pinned, pyth_price_account(wide));
    assert_rejected(
        &mut setup,
        ONE_TOKEN,
        Some(pinned),
        BmeError::PriceConfidenceTooWide,
    )
    .await;

    // Another feed.
    let mut other_feed = price(&setup.fixture, 200_000_000, 1_000_000);
    other_feed.feed_id = [9; 32];
    setup
        .fixture
        .set_account(&pinned, pyth_price_account(other_feed));
    assert_rejected(
        &mut setup,
        ONE_TOKEN,
        Some(pinned),
        BmeError::PriceFeedMismatch,
    )
    .await;

    // Partially verified.
    let mut partial = price(&setup.fixture, 200_000_000, 1_000_000);
    partial.fully_verified = false;
    setup
        .fixture
        .set_account(&pinned, pyth_price_account(partial));
    assert_rejected(
        &mut setup,
        ONE_TOKEN,
        Some(pinned),
        BmeError::PriceNotFullyVerified,
    )
    .await;

    // Zero and negative prices, and a confidence that eats the whole price.
    for (p, c) in [(0, 0), (-200_000_000, 0)] {
        setup
            .fixture
            .set_account(&pinned, pyth_price_account(price(&setup.fixture, p, c)));
        assert_rejected(
            &mut setup,
            ONE_TOKEN,
            Some(pinned),
            BmeError::NonPositivePrice,
        )
        .await;
    }

    // The pinned address, but not owned by the Pyth receiver.
    let mut foreign = pyth_price_account(price(&setup.fixture, 200_000_000, 1_000_000));
    foreign.owner = Pubkey::new_unique();
    setup.fixture.set_account(&pinned, foreign);
    assert_rejected(
        &mut setup,
        ONE_TOKEN,
        Some(pinned),
        BmeError::PriceAccountWrongOwner,
    )
    .await;

    // A perfectly valid price account that is not the pinned one.
    let impostor = Pubkey::new_unique();
    setup.fixture.set_account(
        &impostor,
        pyth_price_account(price(&setup.fixture, 900_000_000, 0)),
    );
    assert_rejected(
        &mut setup,
        ONE_TOKEN,
        Some(impostor),
        BmeError::PriceAccountMismatch,
    )
    .await;

    // No price account at all.
    assert_rejected(&mut setup, ONE_TOKEN, None, BmeError::PriceAccountMissing).await;

    // A good price again: the amount attacks.
    setup.fixture.set_account(
        &pinned,
        pyth_price_account(price(&setup.fixture, 200_000_000, 1_000_000)),
    );
    assert_rejected(
        &mut setup,
        Purchase::Tokens {
            tokens: TOKEN,
            min_credits: 199_001,
        },
        Some(pinned),
        BmeError::SlippageExceeded,
    )
    .await;
    assert_rejected(
        &mut setup,
        Purchase::Credits {
            credits: 199_000,
            max_tokens: TOKEN - 1,
        },
        Some(pinned),
        BmeError::SlippageExceeded,
    )
    .await;
    assert_rejected(
        &mut setup,
        Purchase::Tokens {
            tokens: 0,
            min_credits: 0,
        },
        Some(pinned),
        BmeError::InvalidPurchaseAmount,
    )
    .await;
    assert_rejected(
        &mut setup,
        Purchase::Credits {
            credits: 0,
            max_tokens: u64::MAX,
        },
        Some(pinned),
        BmeError::InvalidPurchaseAmount,
    )
    .await;
    assert_rejected(
        &mut setup,
        Purchase::Credits {
            credits: u64::MAX,
            max_tokens: u64::MAX,
        },
        Some(pinned),
        BmeError::MathOverflow,
    )
    .await;
}

#[tokio::test]
async fn buying_more_tokens_than_held_fails_in_the_token_program() {
    let mut fixture = TestFixture::new(vec![]).await;
    let network = Network::adopt(&mut fixture, SPL_TOKEN, 1_000 * TOKEN, |_| {})
        .await
        .expect("genesis");
    let buyer = network.fund_customer(&mut fixture, TOKEN).await;
    let ix = network.buy(
        &fixture,
        &buyer.pubkey(),
        &buyer.pubkey(),
        Purchase::Tokens {
            tokens: 2 * TOKEN,
            min_credits: 0,
        },
        None,
    );
    let result = fixture.send(&[ix], &[&buyer]).await;
    assert_error(
        result,
        anchor_spl::token_2022::spl_token_2022::error::TokenError::InsufficientFunds,
    );
    assert_eq!(
        fixture
            .token_balance(&network.token_account(&buyer.pubkey()))
            .await,
        TOKEN
    );
}

#[tokio::test]
async fn buying_from_someone_elses_token_account_fails() {
    let mut fixture = TestFixture::new(vec![]).await;
    let network = Network::adopt(&mut fixture, SPL_TOKEN, 1_000 * TOKEN, |_| {})
        .await
        .expect("genesis");
    let victim = network.fund_customer(&mut fixture, 10 * TOKEN).await;
    let thief = network.fund_customer(&mut fixture, 0).await;
    let ix = bme_client::ix::buy_credits(
        bme_client::ix::BuyCreditsAccounts {
            buyer: thief.pubkey(),
            token_mint: network.token_mint,
            token_program: network.token_program,
            buyer_token_account: Some(network.token_account(&victim.pubkey())),
            recipient: thief.pubkey(),
            price_update: None,
        },
        bme::instructions::BuyCreditsArgs {
            epoch: network.current_epoch(&fixture),
            purchase: ONE_TOKEN,
        },
    );
    assert_error(
        fixture.send(&[ix], &[&thief]).await,
        anchor_lang::error::ErrorCode::ConstraintTokenOwner,
    );
    assert_eq!(
        fixture
            .token_balance(&network.token_account(&victim.pubkey()))
            .await,
        10 * TOKEN
    );
}
