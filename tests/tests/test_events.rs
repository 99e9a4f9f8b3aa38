//! Events: every state-changing instruction emits its event through `emit_cpi!`, and
//! the event carries the right fields.
//!
//! An Anchor event CPI is an inner instruction to the bme program, signed by its event
//! authority PDA, whose data is `EVENT_IX_TAG_LE ‖ discriminator ‖ borsh body`. The
//! native runtime records inner instructions, so each transaction here is simulated
//! first (`simulate_transaction` returns them) and then processed for real; the events
//! are decoded from the simulation and compared field by field with what the
//! instruction did.

mod support;

use std::collections::BTreeMap;

use anchor_lang::{AnchorDeserialize, Discriminator};
use bme::events::*;
use bme::instructions::{Purchase, TokenSetup};
use bme::state::{Epoch, ParameterChange, PendingChange, Protocol, Provider};
use bme_client::receipt::SignedReceipt;
use bme_client::{ix, pda};
use bme_tests::genesis::*;
use bme_tests::*;
use solana_sdk::instruction::Instruction;
use solana_sdk::message::Message;
use solana_sdk::pubkey::Pubkey;
use solana_sdk::signature::{Keypair, Signer};
use solana_sdk::transaction::Transaction;
use support::idl;

/// One event read from a transaction: its IDL name and its payload (discriminator and
/// body, without the event-CPI tag).
#[derive(Debug, Clone)]
struct Emitted {
    name: String,
    payload: Vec<u8>,
}

/// Decodes an event of type `E`, or fails the test.
#[track_caller]
fn decode<E: AnchorDeserialize + Discriminator>(event: &Emitted) -> E {
    let body = event
        .payload
        .strip_prefix(E::DISCRIMINATOR)
        .unwrap_or_else(|| panic!("{} is not the expected event type", event.name));
    let mut reader = body;
    let decoded = E::deserialize(&mut reader).expect("event body decodes");
    assert!(reader.is_empty(), "{}: trailing bytes", event.name);
    decoded
}

/// The IDL's events: (discriminator, name).
fn idl_events() -> Vec<(Vec<u8>, String)> {
    idl()["events"]
        .as_array()
        .expect("the IDL lists events")
        .iter()
        .map(|e| {
            let discriminator = e["discriminator"]
                .as_array()
                .expect("discriminator")
                .iter()
                .map(|b| b.as_u64().expect("byte") as u8)
                .collect();
            (discriminator, e["name"].as_str().expect("name").to_string())
        })
        .collect()
}

/// Records which events each instruction emitted over the scenario.
struct Journal {
    fixture: TestFixture,
    seen: BTreeMap<String, Vec<String>>,
}

impl Journal {
    /// Simulates the transaction to read its events, then processes it; both must
    /// succeed. Returns the events in emission order, and records them under
    /// `instruction`.
    async fn send(
        &mut self,
        instruction: &str,
        instructions: &[Instruction],
        signers: &[&Keypair],
    ) -> Vec<Emitted> {
        self.fixture.next_slot().await;
        let fee_payer = self.fixture.payer();
        let message = Message::new(instructions, Some(&fee_payer.pubkey()));
        let required = &message.account_keys[..usize::from(message.header.num_required_signatures)];
        let mut keys: Vec<&Keypair> = vec![&fee_payer];
        for key in &required[1..] {
            keys.push(
                signers
                    .iter()
                    .copied()
                    .find(|k| k.pubkey() == *key)
                    .unwrap_or_else(|| panic!("no keypair for {key}")),
            );
        }
        let transaction = Transaction::new(&keys, message, self.fixture.ctx.last_blockhash);
        let simulation = self
            .fixture
            .ctx
            .banks_client
            .simulate_transaction(transaction.clone())
            .await
            .expect("simulate");
        assert!(
            matches!(simulation.result, Some(Ok(()))),
            "{instruction}: simulation failed: {:?}",
            simulation.result
        );
        let details = simulation.simulation_details.expect("simulation details");
        let inner = details
            .inner_instructions
            .expect("the runtime records inner instructions");
        let keys = &transaction.message.account_keys;
        let event_authority = pda::event_authority();
        let catalogue = idl_events();
        let mut events = Vec::new();
        for group in inner {
            for inner in group {
                let compiled = inner.instruction;
                if keys[usize::from(compiled.program_id_index)] != bme::ID {
                    continue;
                }
                let payload = compiled
                    .data
                    .strip_prefix(anchor_lang::event::EVENT_IX_TAG_LE)
                    .unwrap_or_else(|| {
                        panic!("{instruction}: a bme inner instruction that is not an event")
                    })
                    .to_vec();
                // Only the program's event authority can sign the event CPI.
                let accounts: Vec<Pubkey> = compiled
                    .accounts
                    .iter()
                    .map(|i| keys[usize::from(*i)])
                    .collect();
                assert_eq!(
                    accounts,
                    vec![event_authority],
                    "{instruction}: event CPI accounts"
                );
                let name = catalogue
                    .iter()
                    .find(|(discriminator, _)| payload.starts_with(discriminator))
                    .map(|(_, name)| name.clone())
                    .unwrap_or_else(|| panic!("{instruction}: an event missing from the IDL"));
                events.push(Emitted { name, payload });
            }
        }
        self.fixture
            .ctx
            .banks_client
            .process_transaction(transaction)
            .await
            .unwrap_or_else(|e| panic!("{instruction}: processing failed after simulating: {e:?}"));
        self.seen
            .entry(instruction.to_string())
            .or_default()
            .extend(events.iter().map(|e| e.name.clone()));
        events
    }

    /// [`Journal::send`] for an instruction that emits exactly one event.
    async fn one(
        &mut self,
        instruction: &str,
        instructions: &[Instruction],
        signers: &[&Keypair],
    ) -> Emitted {
        let events = self.send(instruction, instructions, signers).await;
        assert_eq!(events.len(), 1, "{instruction}: events {events:?}");
        events.into_iter().next().expect("one event")
    }
}

/// The instruction → event table the scenario must fill, read against the IDL.
const EXPECTED: &[(&str, &str)] = &[
    ("initialize_protocol", "ProtocolInitialized"),
    ("buy_credits", "CreditsBought"),
    ("register_provider", "ProviderRegistered"),
    ("set_provider_destination", "ProviderDestinationChanged"),
    ("settle_usage", "UsageSettled"),
    ("submit_contribution_report", "ReportAccepted"),
    ("close_epoch", "EpochClosed"),
    ("claim_rewards", "RewardsClaimed"),
    ("transfer_authority", "AuthorityTransferProposed"),
    ("accept_authority", "AuthorityTransferred"),
    ("cancel_authority_transfer", "AuthorityTransferCancelled"),
    ("set_guardian", "GuardianSet"),
    ("propose_change", "ChangeProposed"),
    ("apply_change", "ChangeApplied"),
    ("cancel_change", "ChangeCancelled"),
    ("pause", "PauseChanged"),
    ("unpause", "PauseChanged"),
];

#[test]
fn every_instruction_and_every_event_is_in_the_table() {
    let instructions = support::idl_instruction_names();
    for name in &instructions {
        assert!(
            EXPECTED.iter().any(|(i, _)| i == name),
            "instruction {name} has no expected event"
        );
    }
    assert_eq!(
        EXPECTED.len(),
        instructions.len(),
        "table entries not in the IDL"
    );
    for (_, event) in idl_events() {
        assert!(
            EXPECTED.iter().any(|(_, e)| *e == event),
            "event {event} is emitted by no instruction of the table"
        );
    }
}

fn quiet() {
    support::quiet_harness_panics();
}

#[tokio::test]
async fn every_state_changing_instruction_emits_its_event_with_the_right_fields() {
    for token_program in [SPL_TOKEN, TOKEN_2022] {
        scenario(token_program).await;
    }
}

async fn scenario(token_program: Pubkey) {
    let mut j = Journal {
        fixture: TestFixture::new(vec![]).await,
        seen: BTreeMap::new(),
    };

    // Genesis over an existing, premined mint (hand-over in the same transaction).
    let mint_authority = Keypair::new();
    let mint = j
        .fixture
        .create_mint(&token_program, DECIMALS, &mint_authority.pubkey(), None)
        .await
        .pubkey();
    let authority = Keypair::new();
    let treasury = j
        .fixture
        .create_ata(&authority.pubkey(), &mint, &token_program)
        .await;
    j.fixture
        .mint_tokens(
            &token_program,
            &mint,
            &treasury,
            &mint_authority,
            1_000_000 * TOKEN,
        )
        .await;
    let oracles: Vec<Keypair> = (0..3).map(|_| Keypair::new()).collect();
    let keys: Vec<Pubkey> = oracles.iter().map(|k| k.pubkey()).collect();
    let mut args = default_args(j.fixture.now(), &keys);
    args.token = TokenSetup::ExistingMint;
    args.authority = authority.pubkey();
    args.guardian = authority.pubkey();
    let protocol = pda::protocol(&mint);
    let hand_over =
        bme_client::ix::hand_over_mint_authority(&token_program, &mint, &mint_authority.pubkey())
            .expect("set_authority");
    let genesis = ix::initialize_protocol(
        ix::InitializeProtocolAccounts {
            payer: j.fixture.payer().pubkey(),
            token_mint: mint,
            treasury,
            token_program,
        },
        args.clone(),
    );
    let event = j
        .one(
            "initialize_protocol",
            &[hand_over, genesis],
            &[&mint_authority],
        )
        .await;
    let e: ProtocolInitialized = decode(&event);
    assert_eq!(
        (e.protocol, e.token_mint, e.credit_mint, e.authority),
        (
            protocol,
            mint,
            pda::credit_mint(&protocol),
            authority.pubkey()
        )
    );
    assert_eq!(
        (e.genesis_time, e.epoch_length_secs),
        (args.genesis_time, EPOCH as u64)
    );
    let network = Network {
        token_mint: mint,
        token_program,
        protocol,
        credit_mint: pda::credit_mint(&protocol),
        treasury,
        authority,
        oracles,
        genesis_time: args.genesis_time,
    };
    let authority = network.authority.insecure_clone();

    // buy_credits: 1,000,000 credits at $2.00 cost 5 tokens, minted to another wallet.
    let customer = network.fund_customer(&mut j.fixture, 100 * TOKEN).await;
    let buy = network.buy(
        &j.fixture,
        &customer.pubkey(),
        &customer.pubkey(),
        Purchase::Credits {
            credits: 1_000_000,
            max_tokens: 5 * TOKEN,
        },
        None,
    );
    let e: CreditsBought = decode(&j.one("buy_credits", &[buy], &[&customer]).await);
    assert_eq!(
        (e.protocol, e.buyer, e.recipient, e.epoch),
        (protocol, customer.pubkey(), customer.pubkey(), 0)
    );
    assert_eq!(
        (e.tokens_burned, e.credits_minted, e.price, e.price_expo),
        (5 * TOKEN, 1_000_000, 200_000_000, -8)
    );
    let other = Pubkey::new_unique();
    let gift = network.buy(
        &j.fixture,
        &customer.pubkey(),
        &other,
        Purchase::Tokens {
            tokens: 7,
            min_credits: 1,
        },
        None,
    );
    let e: CreditsBought = decode(&j.one("buy_credits", &[gift], &[&customer]).await);
    assert_eq!(
        (e.recipient, e.tokens_burned, e.credits_minted),
        (other, 7, 1)
    );

    // register_provider and set_provider_destination.
    let node = Keypair::new();
    let owner = j.fixture.create_user(1).await;
    let destination = j
        .fixture
        .create_ata(&owner.pubkey(), &mint, &token_program)
        .await;
    let register = ix::register_provider(ix::RegisterProviderAccounts {
        payer: j.fixture.payer().pubkey(),
        node: node.pubkey(),
        owner: owner.pubkey(),
        protocol,
        destination,
    });
    let provider = pda::provider(&protocol, &node.pubkey());
    let e: ProviderRegistered = decode(&j.one("register_provider", &[register], &[&node]).await);
    assert_eq!(
        (e.protocol, e.provider, e.node, e.owner, e.destination),
        (
            protocol,
            provider,
            node.pubkey(),
            owner.pubkey(),
            destination
        )
    );
    let new_destination = j
        .fixture
        .create_ata(&Pubkey::new_unique(), &mint, &token_program)
        .await;
    let set = ix::set_provider_destination(owner.pubkey(), protocol, provider, new_destination);
    let e: ProviderDestinationChanged =
        decode(&j.one("set_provider_destination", &[set], &[&owner]).await);
    assert_eq!(
        (e.provider, e.old_destination, e.new_destination),
        (provider, destination, new_destination)
    );

    // settle_usage: one event per receipt, in batch order.
    let second = network.fund_customer(&mut j.fixture, 10 * TOKEN).await;
    let buy = network.buy(
        &j.fixture,
        &second.pubkey(),
        &second.pubkey(),
        Purchase::Credits {
            credits: 1_000,
            max_tokens: TOKEN,
        },
        None,
    );
    j.send("buy_credits", &[buy], &[&second]).await;
    let receipts = [
        SignedReceipt::sign(&customer, &provider, 300),
        SignedReceipt::sign(&second, &provider, 40),
    ];
    let settle = ix::settle_receipts(
        j.fixture.payer().pubkey(),
        protocol,
        network.credit_mint,
        0,
        &receipts,
    );
    let events = j.send("settle_usage", &settle, &[]).await;
    assert_eq!(events.len(), 2, "one UsageSettled per receipt");
    for (event, (receipt, burned)) in events.iter().zip(receipts.iter().zip([300, 40])) {
        let e: UsageSettled = decode(event);
        assert_eq!(
            (e.provider, e.channel, e.customer, e.epoch),
            (provider, receipt.channel(), receipt.customer, 0)
        );
        assert_eq!(
            (e.cumulative, e.credits_burned),
            (receipt.cumulative, burned)
        );
    }
    // A newer receipt reports only the difference.
    let newer = ix::settle_receipts(
        j.fixture.payer().pubkey(),
        protocol,
        network.credit_mint,
        0,
        &[SignedReceipt::sign(&customer, &provider, 500)],
    );
    let e: UsageSettled = decode(&j.one("settle_usage", &newer, &[]).await);
    assert_eq!((e.cumulative, e.credits_burned), (500, 200));

    // submit_contribution_report.
    let report = ix::signed_report(
        j.fixture.payer().pubkey(),
        protocol,
        &[&network.oracles[0], &network.oracles[2]],
        0,
        9,
        &[(provider, 11), (provider, 4)],
    );
    let e: ReportAccepted = decode(&j.one("submit_contribution_report", &report, &[]).await);
    assert_eq!(
        (
            e.protocol,
            e.epoch,
            e.sequence,
            e.providers,
            e.units,
            e.signers
        ),
        (protocol, 0, 9, 2, 15, 2)
    );

    // close_epoch: the event equals the closed epoch account.
    network.warp_to_epoch(&mut j.fixture, 1, GRACE);
    let close = network.close(&j.fixture, 0);
    let e: EpochClosed = decode(&j.one("close_epoch", &[close], &[]).await);
    let epoch: Epoch = j.fixture.account(&pda::epoch(&protocol, 0)).await;
    assert_eq!((e.protocol, e.epoch), (protocol, 0));
    assert_eq!(
        (
            e.scheduled_emission,
            e.remint,
            e.emission,
            e.usage_pool,
            e.contribution_pool,
            e.treasury_amount,
            e.not_emitted,
        ),
        (
            epoch.scheduled_emission,
            epoch.remint,
            epoch.emission,
            epoch.usage_pool,
            epoch.contribution_pool,
            epoch.treasury_amount,
            epoch.not_emitted,
        )
    );
    assert_eq!(
        (e.tokens_burned, e.credits_burned),
        (5 * TOKEN + 7 + 5_000, 540)
    );
    assert_eq!(e.scheduled_emission, 1_000 * TOKEN);
    assert!(e.usage_pool > 0 && e.contribution_pool > 0);

    // claim_rewards: the whole of both pools (the sole provider), to the destination.
    let claim = network.claim(&mut j.fixture, &provider).await;
    let e: RewardsClaimed = decode(&j.one("claim_rewards", &[claim], &[]).await);
    let paid = j.fixture.token_balance(&new_destination).await;
    assert_eq!(
        (
            e.provider,
            e.destination,
            e.amount,
            e.epochs_settled,
            e.claimed_total
        ),
        (provider, new_destination, paid, 1, paid)
    );
    assert_eq!(paid, epoch.usage_pool + epoch.contribution_pool);
    let account: Provider = j.fixture.account(&provider).await;
    assert_eq!(account.claimed, paid);

    // Authority handoff: propose, cancel, propose again, accept.
    let next = Keypair::new();
    let transfer = ix::transfer_authority(authority.pubkey(), protocol, next.pubkey());
    let e: AuthorityTransferProposed = decode(
        &j.one(
            "transfer_authority",
            std::slice::from_ref(&transfer),
            &[&authority],
        )
        .await,
    );
    assert_eq!(
        (e.protocol, e.authority, e.pending_authority),
        (protocol, authority.pubkey(), next.pubkey())
    );
    let cancel = ix::cancel_authority_transfer(authority.pubkey(), protocol);
    let e: AuthorityTransferCancelled = decode(
        &j.one("cancel_authority_transfer", &[cancel], &[&authority])
            .await,
    );
    assert_eq!((e.protocol, e.pending_authority), (protocol, next.pubkey()));
    j.send("transfer_authority", &[transfer], &[&authority])
        .await;
    let accept = ix::accept_authority(next.pubkey(), protocol);
    let e: AuthorityTransferred = decode(&j.one("accept_authority", &[accept], &[&next]).await);
    assert_eq!(
        (e.protocol, e.old_authority, e.new_authority),
        (protocol, authority.pubkey(), next.pubkey())
    );
    let authority = next;

    // set_guardian.
    let guardian = Keypair::new();
    let set = ix::set_guardian(authority.pubkey(), protocol, guardian.pubkey());
    let e: GuardianSet = decode(&j.one("set_guardian", &[set], &[&authority]).await);
    assert_eq!(
        (e.protocol, e.old_guardian, e.new_guardian),
        (protocol, network.authority.pubkey(), guardian.pubkey())
    );

    // Governance: propose, cancel, propose again, apply after the timelock.
    let propose = |change: ParameterChange| {
        ix::propose_change(
            authority.pubkey(),
            authority.pubkey(),
            protocol,
            mint,
            change,
        )
    };
    let first = ParameterChange::CreditPrice { micro_usd: 12 };
    // The new authority pays for its proposals.
    let fund = anchor_lang::solana_program::system_instruction::transfer(
        &j.fixture.payer().pubkey(),
        &authority.pubkey(),
        1_000_000_000,
    );
    j.fixture.send_ok(&[fund], &[]).await;
    let now = j.fixture.now();
    let e: ChangeProposed = decode(
        &j.one("propose_change", &[propose(first.clone())], &[&authority])
            .await,
    );
    assert_eq!(
        (e.protocol, e.sequence, e.earliest_apply, e.change),
        (protocol, 1, now + 3_600, first)
    );
    let cancel = ix::cancel_change(authority.pubkey(), protocol);
    let e: ChangeCancelled = decode(&j.one("cancel_change", &[cancel], &[&authority]).await);
    assert_eq!((e.protocol, e.sequence), (protocol, 1));
    let second_change = ParameterChange::NetRemintCap { cap: 400 * TOKEN };
    let e: ChangeProposed = decode(
        &j.one(
            "propose_change",
            &[propose(second_change.clone())],
            &[&authority],
        )
        .await,
    );
    assert_eq!(e.sequence, 2);
    j.fixture.warp_to(now + 3_600);
    let apply = ix::apply_change(protocol, mint);
    let e: ChangeApplied = decode(&j.one("apply_change", &[apply], &[]).await);
    assert_eq!(
        (e.protocol, e.sequence, e.effective_epoch, e.change),
        (protocol, 2, 2, second_change)
    );
    let pending: PendingChange = j.fixture.account(&pda::pending_change(&protocol)).await;
    assert!(!pending.active);

    // pause (by the guardian) and unpause (by the authority).
    let flags = bme::constants::PAUSE_BUY | bme::constants::PAUSE_CLAIM;
    let pause = ix::pause(guardian.pubkey(), protocol, flags);
    let e: PauseChanged = decode(&j.one("pause", &[pause], &[&guardian]).await);
    assert_eq!(
        (e.protocol, e.by, e.flags, e.paused),
        (protocol, guardian.pubkey(), flags, flags)
    );
    let unpause = ix::unpause(authority.pubkey(), protocol, bme::constants::PAUSE_BUY);
    let e: PauseChanged = decode(&j.one("unpause", &[unpause], &[&authority]).await);
    assert_eq!(
        (e.by, e.flags, e.paused),
        (
            authority.pubkey(),
            bme::constants::PAUSE_BUY,
            bme::constants::PAUSE_CLAIM
        )
    );
    let state: Protocol = j.fixture.account(&protocol).await;
    assert_eq!(state.paused, bme::constants::PAUSE_CLAIM);

    // Every instruction ran and emitted exactly its own event.
    for (instruction, event) in EXPECTED {
        let seen = j
            .seen
            .get(*instruction)
            .unwrap_or_else(|| panic!("{instruction} was not exercised"));
        assert!(
            !seen.is_empty() && seen.iter().all(|e| e == event),
            "{instruction} emitted {seen:?}, expected only {event}"
        );
    }
}

#[tokio::test]
async fn a_failed_transaction_commits_nothing_and_its_events_must_be_ignored() {
    quiet();
    let mut fixture = TestFixture::new(vec![]).await;
    let network = Network::adopt(&mut fixture, SPL_TOKEN, 1_000 * TOKEN, |_| {})
        .await
        .expect("genesis");
    let customer = network.fund_customer(&mut fixture, 10 * TOKEN).await;
    let buy = network.buy(
        &fixture,
        &customer.pubkey(),
        &customer.pubkey(),
        Purchase::Credits {
            credits: 100,
            max_tokens: TOKEN,
        },
        None,
    );
    fixture.send_ok(&[buy], &[&customer]).await;
    let (_node, _owner, provider) = network.register_provider(&mut fixture).await;
    // The first receipt settles, and emits, before the second (no credits) fails.
    let broke = network.fund_customer(&mut fixture, 0).await;
    let receipts = [
        SignedReceipt::sign(&customer, &provider, 50),
        SignedReceipt::sign(&broke, &provider, 1),
    ];
    let settle = ix::settle_receipts(
        fixture.payer().pubkey(),
        network.protocol,
        network.credit_mint,
        0,
        &receipts,
    );
    fixture.next_slot().await;
    let payer = fixture.payer();
    let transaction = Transaction::new_signed_with_payer(
        &settle,
        Some(&payer.pubkey()),
        &[&payer],
        fixture.ctx.last_blockhash,
    );
    let simulation = fixture
        .ctx
        .banks_client
        .simulate_transaction(transaction.clone())
        .await
        .expect("simulate");
    assert!(matches!(simulation.result, Some(Err(_))));
    // Like a cluster's transaction status, the failed transaction still lists the
    // event CPI of the first receipt among its inner instructions: an indexer must
    // read events only from successful transactions.
    let keys = &transaction.message.account_keys;
    let events: Vec<Vec<u8>> = simulation
        .simulation_details
        .and_then(|d| d.inner_instructions)
        .unwrap_or_default()
        .into_iter()
        .flatten()
        .filter(|i| keys[usize::from(i.instruction.program_id_index)] == bme::ID)
        .map(|i| i.instruction.data)
        .collect();
    assert_eq!(events.len(), 1);
    let payload = events[0]
        .strip_prefix(anchor_lang::event::EVENT_IX_TAG_LE)
        .expect("an event CPI");
    let e: UsageSettled = decode(&Emitted {
        name: "UsageSettled".into(),
        payload: payload.to_vec(),
    });
    assert_eq!(e.credits_burned, 50);
    // And nothing of it is committed.
    let watched = [
        receipts[0].channel(),
        provider,
        network.credit_account(&customer.pubkey()),
        pda::epoch(&network.protocol, 0),
    ];
    let before = fixture.snapshot(&watched).await;
    assert!(fixture
        .ctx
        .banks_client
        .process_transaction(transaction)
        .await
        .is_err());
    assert_eq!(fixture.snapshot(&watched).await, before);
}

#[tokio::test]
async fn events_cannot_be_forged_by_calling_the_program_directly() {
    // Anyone can send the program an instruction shaped like an event CPI; Anchor
    // accepts it only when the event authority PDA signs, which only the program can
    // do (from inside its own instructions).
    let mut fixture = TestFixture::new(vec![]).await;
    let network = Network::adopt(&mut fixture, SPL_TOKEN, 0, |_| {})
        .await
        .expect("genesis");
    let forged = CreditsBought {
        protocol: network.protocol,
        buyer: Pubkey::new_unique(),
        recipient: Pubkey::new_unique(),
        epoch: 0,
        tokens_burned: 1,
        credits_minted: u64::MAX,
        price: 1,
        price_expo: 0,
    };
    let mut data = anchor_lang::event::EVENT_IX_TAG_LE.to_vec();
    data.extend_from_slice(&anchor_lang::Event::data(&forged));
    let instruction = Instruction {
        program_id: bme::ID,
        accounts: vec![solana_sdk::instruction::AccountMeta::new_readonly(
            pda::event_authority(),
            false,
        )],
        data,
    };
    assert_error(
        fixture.send(&[instruction], &[]).await,
        anchor_lang::error::ErrorCode::ConstraintSigner,
    );
}
