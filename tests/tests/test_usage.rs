//! `register_provider` and `settle_usage`: customer-signed cumulative receipts settled
//! in batches, against every signature, channel and balance attack.

use anchor_spl::token_2022::spl_token_2022;
use bme::error::BmeError;
use bme::instructions::Purchase;
use bme::state::{Channel, Epoch, Protocol, Provider};
use bme_client::ix;
use bme_client::receipt::{ed25519_instruction, SignedReceipt};
use bme_tests::genesis::*;
use bme_tests::*;
use solana_sdk::instruction::Instruction;
use solana_sdk::pubkey::Pubkey;
use solana_sdk::signature::{Keypair, Signature, Signer};
use solana_sdk::transaction::TransactionError;

struct Setup {
    fixture: TestFixture,
    network: Network,
    customers: Vec<Keypair>,
    provider: Pubkey,
    owner: Keypair,
}

/// A network, three customers holding 1,000,000 credits each, and one provider.
async fn setup(token_program: Pubkey) -> Setup {
    let mut fixture = TestFixture::new(vec![]).await;
    let network = Network::adopt(&mut fixture, token_program, 1_000 * TOKEN, |_| {})
        .await
        .expect("genesis");
    let mut customers = Vec::new();
    for _ in 0..3 {
        let customer = network.fund_customer(&mut fixture, 10 * TOKEN).await;
        let buy = network.buy(
            &fixture,
            &customer.pubkey(),
            &customer.pubkey(),
            Purchase::Credits {
                credits: 1_000_000,
                max_tokens: 5 * TOKEN,
            },
            None,
        );
        fixture.send_ok(&[buy], &[&customer]).await;
        customers.push(customer);
    }
    let (_node, owner, provider) = network.register_provider(&mut fixture).await;
    Setup {
        fixture,
        network,
        customers,
        provider,
        owner,
    }
}

fn settle(setup: &Setup, receipts: &[SignedReceipt]) -> Vec<Instruction> {
    ix::settle_receipts(
        setup.fixture.payer().pubkey(),
        setup.network.protocol,
        setup.network.credit_mint,
        setup.network.current_epoch(&setup.fixture),
        receipts,
    )
}

async fn credits(setup: &mut Setup, customer: &Pubkey) -> u64 {
    let account = setup.network.credit_account(customer);
    setup.fixture.token_balance(&account).await
}

#[tokio::test]
async fn register_provider_records_owner_destination_and_binds_the_node() {
    let Setup {
        mut fixture,
        network,
        provider,
        owner,
        ..
    } = setup(SPL_TOKEN).await;
    let account: Provider = fixture.account(&provider).await;
    assert_eq!(account.owner, owner.pubkey());
    assert_eq!(account.destination, network.token_account(&owner.pubkey()));
    assert_eq!(account.accrued, 0);
    assert_eq!(bme::state::Provider::SIZE, 126);
    let protocol: Protocol = fixture.account(&network.protocol).await;
    assert_eq!(account.protocol_id, protocol.id);
    assert_eq!(protocol.totals.providers, 1);

    // The owner can move the destination; nobody else can; it must hold the network token.
    let new_destination = fixture
        .create_ata(
            &Pubkey::new_unique(),
            &network.token_mint,
            &network.token_program,
        )
        .await;
    let stranger = fixture.create_user(1).await;
    let by_stranger = ix::set_provider_destination(
        stranger.pubkey(),
        network.protocol,
        provider,
        new_destination,
    );
    assert_error(
        fixture.send(&[by_stranger], &[&stranger]).await,
        BmeError::Unauthorized,
    );
    let wrong_mint = fixture
        .create_ata(&owner.pubkey(), &network.credit_mint, &TOKEN_2022)
        .await;
    let to_credit_account =
        ix::set_provider_destination(owner.pubkey(), network.protocol, provider, wrong_mint);
    assert_error(
        fixture.send(&[to_credit_account], &[&owner]).await,
        BmeError::InvalidDestination,
    );
    let by_owner =
        ix::set_provider_destination(owner.pubkey(), network.protocol, provider, new_destination);
    fixture.send_ok(&[by_owner], &[&owner]).await;
    let account: Provider = fixture.account(&provider).await;
    assert_eq!(account.destination, new_destination);
}

#[tokio::test]
async fn a_node_registers_once_and_must_sign() {
    let Setup {
        mut fixture,
        network,
        ..
    } = setup(SPL_TOKEN).await;
    let node = Keypair::new();
    let destination = network.treasury;
    let register = ix::register_provider(ix::RegisterProviderAccounts {
        payer: fixture.payer().pubkey(),
        node: node.pubkey(),
        owner: Pubkey::new_unique(),
        protocol: network.protocol,
        destination,
    });
    let mut unsigned = register.clone();
    unsigned.accounts[1].is_signer = false;
    let result = fixture.send(&[unsigned], &[]).await;
    assert_error(result, anchor_lang::error::ErrorCode::AccountNotSigner);
    fixture
        .send_ok(std::slice::from_ref(&register), &[&node])
        .await;
    // A second registration of the same node is refused and changes nothing.
    let provider = bme_client::pda::provider(&network.protocol, &node.pubkey());
    let before = fixture.snapshot(&[provider, network.protocol]).await;
    assert_error(
        fixture.send(&[register], &[&node]).await,
        anchor_lang::error::ErrorCode::AccountDiscriminatorAlreadySet,
    );
    assert_eq!(
        fixture.snapshot(&[provider, network.protocol]).await,
        before
    );
}

#[tokio::test]
async fn a_batch_from_several_customers_settles_in_one_transaction_both_token_programs() {
    for token_program in [SPL_TOKEN, TOKEN_2022] {
        let mut s = setup(token_program).await;
        let receipts: Vec<SignedReceipt> = s
            .customers
            .iter()
            .zip([100u64, 2_500, 70_000])
            .map(|(c, n)| SignedReceipt::sign(c, &s.provider, n))
            .collect();
        let credit_supply = s.fixture.mint_supply(&s.network.credit_mint).await;
        s.fixture.send_ok(&settle(&s, &receipts), &[]).await;

        for (customer, used) in s
            .customers
            .iter()
            .map(|c| c.pubkey())
            .collect::<Vec<_>>()
            .iter()
            .zip([100u64, 2_500, 70_000])
        {
            assert_eq!(credits(&mut s, customer).await, 1_000_000 - used);
            let channel: Channel = s
                .fixture
                .account(&bme_client::pda::channel(&s.provider, customer))
                .await;
            assert_eq!(channel.settled, used);
            assert_eq!(channel.customer, *customer);
            assert_eq!(channel.provider, s.provider);
        }
        assert_eq!(
            s.fixture.mint_supply(&s.network.credit_mint).await,
            credit_supply - 72_600
        );
        let provider: Provider = s.fixture.account(&s.provider).await;
        assert_eq!(provider.pending[0].usage_units, 72_600);
        assert_eq!(
            u64::from(provider.pending[0].epoch),
            s.network.current_epoch(&s.fixture)
        );
        let epoch: Epoch = s
            .fixture
            .account(&bme_client::pda::epoch(
                &s.network.protocol,
                s.network.current_epoch(&s.fixture),
            ))
            .await;
        assert_eq!(epoch.credits_burned, 72_600);
        assert_eq!(epoch.usage_units, 72_600);

        // A newer receipt settles only the difference.
        let newer = SignedReceipt::sign(&s.customers[0], &s.provider, 150);
        s.fixture.send_ok(&settle(&s, &[newer]), &[]).await;
        let first = s.customers[0].pubkey();
        assert_eq!(credits(&mut s, &first).await, 1_000_000 - 150);
        let provider: Provider = s.fixture.account(&s.provider).await;
        assert_eq!(provider.pending[0].usage_units, 72_650);
    }
}

/// Sends `instructions` expecting `expected`, and checks nothing changed.
async fn assert_settle_rejected(s: &mut Setup, instructions: Vec<Instruction>, expected: BmeError) {
    let mut watched: Vec<Pubkey> = vec![s.provider, s.network.credit_mint, s.network.protocol];
    for c in &s.customers {
        watched.push(s.network.credit_account(&c.pubkey()));
        watched.push(bme_client::pda::channel(&s.provider, &c.pubkey()));
    }
    let before = s.fixture.snapshot(&watched).await;
    let result = s.fixture.send(&instructions, &[]).await;
    assert_error(result, expected);
    assert_eq!(
        s.fixture.snapshot(&watched).await,
        before,
        "state changed on {expected:?}"
    );
}

#[tokio::test]
async fn replayed_older_forged_and_unaffordable_receipts_fail() {
    let mut s = setup(SPL_TOKEN).await;
    let receipt = SignedReceipt::sign(&s.customers[0], &s.provider, 500);
    s.fixture
        .send_ok(&settle(&s, std::slice::from_ref(&receipt)), &[])
        .await;

    // The same receipt again, and an older one.
    let ixs = settle(&s, std::slice::from_ref(&receipt));
    assert_settle_rejected(&mut s, ixs, BmeError::ReceiptNotNewer).await;
    let older = SignedReceipt::sign(&s.customers[0], &s.provider, 400);
    let ixs = settle(&s, &[older]);
    assert_settle_rejected(&mut s, ixs, BmeError::ReceiptNotNewer).await;

    // A receipt for customer 0's channel signed by customer 1.
    let mut forged = SignedReceipt::sign(&s.customers[1], &s.provider, 900);
    let forged_channel = bme_client::pda::channel(&s.provider, &s.customers[0].pubkey());
    let message = bme_client::receipt::receipt_message(&forged_channel, 900);
    forged.signature = s.customers[1].sign_message(&message);
    let mut instructions = vec![
        ed25519_instruction(&[(s.customers[1].pubkey(), forged.signature, &message)]),
        ix::settle_usage(
            ix::SettleUsageAccounts {
                payer: s.fixture.payer().pubkey(),
                protocol: s.network.protocol,
                provider: s.provider,
                credit_mint: s.network.credit_mint,
            },
            &[s.customers[0].pubkey()],
            bme::instructions::SettleUsageArgs {
                epoch: s.network.current_epoch(&s.fixture),
            },
        ),
    ];
    // Burn from the victim's credit account.
    assert_settle_rejected(&mut s, instructions.clone(), BmeError::WrongReceiptSigner).await;
    // Point the credit account at the signer's own (still the victim's channel).
    instructions[1].accounts.last_mut().unwrap().pubkey =
        s.network.credit_account(&s.customers[1].pubkey());
    assert_settle_rejected(&mut s, instructions, BmeError::WrongReceiptSigner).await;

    // A receipt customer 1 signed for another provider's channel, submitted here.
    let (_node, _owner, other_provider) = s.network.register_provider(&mut s.fixture).await;
    let elsewhere = SignedReceipt::sign(&s.customers[1], &other_provider, 900);
    let elsewhere_message = elsewhere.message();
    let mut instructions = vec![
        ed25519_instruction(&[(elsewhere.customer, elsewhere.signature, &elsewhere_message)]),
        ix::settle_usage(
            ix::SettleUsageAccounts {
                payer: s.fixture.payer().pubkey(),
                protocol: s.network.protocol,
                provider: s.provider,
                credit_mint: s.network.credit_mint,
            },
            &[s.customers[1].pubkey()],
            bme::instructions::SettleUsageArgs {
                epoch: s.network.current_epoch(&s.fixture),
            },
        ),
    ];
    // This provider's channel account; the message names the other provider's.
    assert_settle_rejected(&mut s, instructions.clone(), BmeError::ChannelMismatch).await;
    // Passing the other provider's channel account instead.
    instructions[1].accounts[10].pubkey = elsewhere.channel();
    assert_settle_rejected(&mut s, instructions, BmeError::ChannelMismatch).await;

    // More credits than the customer holds.
    let unaffordable = SignedReceipt::sign(&s.customers[2], &s.provider, 1_000_001);
    let ixs = settle(&s, &[unaffordable]);
    assert_settle_rejected(&mut s, ixs, BmeError::InsufficientCredits).await;

    // One bad receipt sinks the whole batch, and nothing of it lands.
    let good = SignedReceipt::sign(&s.customers[1], &s.provider, 10);
    let bad = SignedReceipt::sign(&s.customers[2], &s.provider, 2_000_000);
    let ixs = settle(&s, &[good, bad]);
    assert_settle_rejected(&mut s, ixs, BmeError::InsufficientCredits).await;
}

#[tokio::test]
async fn ed25519_instruction_attacks_fail() {
    let mut s = setup(SPL_TOKEN).await;
    let receipt = SignedReceipt::sign(&s.customers[0], &s.provider, 500);
    let message = receipt.message();

    // A tampered signature fails in the Ed25519 precompile itself.
    let mut tampered = settle(&s, std::slice::from_ref(&receipt));
    let mut bytes: [u8; 64] = receipt.signature.into();
    bytes[0] ^= 1;
    tampered[0] = ed25519_instruction(&[(receipt.customer, Signature::from(bytes), &message)]);
    match assert_failed(s.fixture.send(&tampered, &[]).await) {
        solana_program_test::BanksClientError::TransactionError(
            TransactionError::InstructionError(0, _),
        ) => {}
        other => panic!("expected the precompile (instruction 0) to reject, got {other:?}"),
    }

    // A valid signature whose offsets point into another instruction: instruction 0
    // holds the real data, instruction 1 (just before settle) only references it.
    let holder = ed25519_instruction(&[(receipt.customer, receipt.signature, &message)]);
    let mut pointer = holder.clone();
    // Offsets record fields 1, 3 and 6 are the signature, public-key and message
    // instruction indexes; point them all at instruction 0.
    for field in [1usize, 3, 6] {
        let at = 2 + 2 * field;
        pointer.data[at..at + 2].copy_from_slice(&0u16.to_le_bytes());
    }
    let settle_ix = settle(&s, std::slice::from_ref(&receipt)).remove(1);
    assert_settle_rejected(
        &mut s,
        vec![holder, pointer, settle_ix.clone()],
        BmeError::InvalidEd25519Instruction,
    )
    .await;

    // No Ed25519 instruction before settle at all.
    assert_settle_rejected(
        &mut s,
        vec![settle_ix.clone()],
        BmeError::MissingEd25519Instruction,
    )
    .await;

    // A fake instructions sysvar.
    let mut fake = settle(&s, std::slice::from_ref(&receipt));
    let sysvar = solana_sdk::sysvar::instructions::ID;
    let fake_sysvar = Pubkey::new_unique();
    for meta in fake[1].accounts.iter_mut() {
        if meta.pubkey == sysvar {
            meta.pubkey = fake_sysvar;
        }
    }
    assert_settle_rejected(&mut s, fake, BmeError::InvalidInstructionsSysvar).await;

    // More account pairs than signatures.
    let mut extra = settle(&s, std::slice::from_ref(&receipt));
    let more = settle(&s, &[SignedReceipt::sign(&s.customers[1], &s.provider, 5)]).remove(1);
    extra[1].accounts.extend_from_slice(&more.accounts[10..]);
    assert_settle_rejected(&mut s, extra, BmeError::SignatureCountMismatch).await;

    // A message with the wrong domain tag, validly signed.
    let mut wrong_domain = message;
    wrong_domain[0] = b'x';
    let signature = s.customers[0].sign_message(&wrong_domain);
    let mut instructions = settle(&s, std::slice::from_ref(&receipt));
    instructions[0] = ed25519_instruction(&[(receipt.customer, signature, &wrong_domain)]);
    assert_settle_rejected(&mut s, instructions, BmeError::MessageMismatch).await;

    // Finally the honest transaction goes through.
    s.fixture.send_ok(&settle(&s, &[receipt]), &[]).await;
}

#[tokio::test]
async fn credits_cannot_be_transferred_by_their_holder() {
    let mut s = setup(TOKEN_2022).await;
    let from = s.network.credit_account(&s.customers[0].pubkey());
    let to = s.network.credit_account(&s.customers[1].pubkey());
    let transfer = spl_token_2022::instruction::transfer_checked(
        &TOKEN_2022,
        &from,
        &s.network.credit_mint,
        &to,
        &s.customers[0].pubkey(),
        &[],
        10,
        0,
    )
    .unwrap();
    let result = s.fixture.send(&[transfer], &[&s.customers[0]]).await;
    assert_error(result, spl_token_2022::error::TokenError::NonTransferable);
    let customer0 = s.customers[0].pubkey();
    assert_eq!(credits(&mut s, &customer0).await, 1_000_000);
}
