//! Account substitution: for every instruction of the IDL, a transaction that succeeds,
//! then the same transaction with one account at a time replaced by a plausible wrong
//! one. Each substituted transaction must fail inside the bme instruction and leave
//! every account it names exactly as it was; the valid transaction then succeeds.
//!
//! The substitutes: another user's account, another protocol's PDA (a second protocol
//! under the other token program), a token account of the wrong mint, a forged copy of
//! the right account owned by the wrong program, a fresh address, a non-signer where a
//! signer is required (flag cleared, signature dropped), a read-only account where a
//! writable one is required, the other token program (SPL Token ↔ Token-2022) and
//! other wrong programs and sysvars. Substitutions that are legitimately accepted
//! ("any address" accounts, anyone may pay) are skipped with a written reason.
//!
//! Every table entry runs twice: with an SPL Token network and with a Token-2022 one.
//! `every_idl_instruction_has_a_substitution_case` fails if the IDL gains an
//! instruction without an entry here.

use anchor_spl::token_2022::spl_token_2022;
use bme::instructions::{Purchase, TokenSetup};
use bme::state::ParameterChange;
use bme_client::receipt::SignedReceipt;
use bme_client::{ix, pda};
use bme_tests::genesis::*;
use bme_tests::*;
use solana_program_test::BanksClientError;
use solana_sdk::account::Account;
use solana_sdk::instruction::Instruction;
use solana_sdk::message::Message;
use solana_sdk::pubkey::Pubkey;
use solana_sdk::signature::{Keypair, Signer};
use solana_sdk::transaction::{Transaction, TransactionError};

mod support;

use support::{idl_instruction_names, quiet_harness_panics, Outcome};

// ---------------------------------------------------------------------------------
// The world every case starts from.
// ---------------------------------------------------------------------------------

/// A registered provider and its keys.
struct ProviderKeys {
    owner: Keypair,
    address: Pubkey,
    destination: Pubkey,
}

/// Two protocols, funded customers, providers, and epoch 0 closed with work in it.
struct World {
    fixture: TestFixture,
    /// The protocol under attack.
    a: Network,
    /// A second protocol, under the other token program.
    b: Network,
    price_a: Pubkey,
    price_b: Pubkey,
    /// Pays rent in every case (distinct from the fee payer, so it can be unsigned).
    payer: Keypair,
    /// A funded wallet with no role anywhere.
    stranger: Keypair,
    /// Customers of A (c1 is also a customer of B).
    c1: Keypair,
    c2: Keypair,
    /// Providers of A.
    p1: ProviderKeys,
    p2: ProviderKeys,
    /// A provider of B.
    pb: ProviderKeys,
}

fn other_token_program(program: Pubkey) -> Pubkey {
    if program == SPL_TOKEN {
        TOKEN_2022
    } else {
        SPL_TOKEN
    }
}

fn program_name(program: Pubkey) -> &'static str {
    if program == SPL_TOKEN {
        "SPL Token"
    } else {
        "Token-2022"
    }
}

impl World {
    async fn new(primary: Pubkey) -> World {
        let mut fixture = TestFixture::new(vec![]).await;
        let (price_a, price_b) = (Pubkey::new_unique(), Pubkey::new_unique());
        let a = Network::adopt(&mut fixture, primary, 1_000_000 * TOKEN, |args| {
            args.price_source = pyth_source(price_a)
        })
        .await
        .expect("protocol A");
        let b = Network::adopt(
            &mut fixture,
            other_token_program(primary),
            1_000_000 * TOKEN,
            |args| args.price_source = pyth_source(price_b),
        )
        .await
        .expect("protocol B");
        let payer = fixture.create_user(100).await;
        let stranger = fixture.create_user(10).await;
        let c1 = a.fund_customer(&mut fixture, 1_000 * TOKEN).await;
        let c2 = a.fund_customer(&mut fixture, 1_000 * TOKEN).await;
        fund(&mut fixture, &b, &c1.pubkey(), 1_000 * TOKEN).await;
        let mut world = World {
            fixture,
            a,
            b,
            price_a,
            price_b,
            payer,
            stranger,
            c1,
            c2,
            p1: ProviderKeys::placeholder(),
            p2: ProviderKeys::placeholder(),
            pb: ProviderKeys::placeholder(),
        };
        world.refresh_prices();
        // Credits: c1 and c2 in A, c1 in B.
        for (network, customer, price) in [
            (&world.a, &world.c1, world.price_a),
            (&world.a, &world.c2, world.price_a),
            (&world.b, &world.c1, world.price_b),
        ] {
            let buy = network.buy(
                &world.fixture,
                &customer.pubkey(),
                &customer.pubkey(),
                Purchase::Credits {
                    credits: 1_000_000,
                    max_tokens: 10 * TOKEN,
                },
                Some(price),
            );
            world.fixture.send_ok(&[buy], &[customer]).await;
        }
        world.p1 = ProviderKeys::register(&mut world.fixture, &world.a).await;
        world.p2 = ProviderKeys::register(&mut world.fixture, &world.a).await;
        world.pb = ProviderKeys::register(&mut world.fixture, &world.b).await;
        // Epoch 0: c1 pays p1 (A) and pb (B); then both epochs 0 close.
        for (network, provider) in [(&world.a, world.p1.address), (&world.b, world.pb.address)] {
            let receipt = SignedReceipt::sign(&world.c1, &provider, 100);
            let settle = ix::settle_receipts(
                world.fixture.payer().pubkey(),
                network.protocol,
                network.credit_mint,
                0,
                &[receipt],
            );
            world.fixture.send_ok(&settle, &[]).await;
        }
        world.a.warp_to_epoch(&mut world.fixture, 1, GRACE);
        for network in [&world.a, &world.b] {
            let close = network.close(&world.fixture, 0);
            world.fixture.send_ok(&[close], &[]).await;
        }
        world.refresh_prices();
        world
    }

    /// Fresh Pyth prices for both protocols ($2.00 ± $0.01, published 5 s ago).
    fn refresh_prices(&mut self) {
        for address in [self.price_a, self.price_b] {
            let account = pyth_price_account(PythPrice {
                feed_id: FEED_ID,
                price: 200_000_000,
                conf: 1_000_000,
                expo: -8,
                publish_time: self.fixture.now() - 5,
                fully_verified: true,
            });
            self.fixture.set_account(&address, account);
        }
    }

    fn epoch_a(&self, index: u64) -> Pubkey {
        pda::epoch(&self.a.protocol, index)
    }

    fn epoch_b(&self, index: u64) -> Pubkey {
        pda::epoch(&self.b.protocol, index)
    }

    // Wrong candidates shared by many cases.

    fn wrong_protocol(&self) -> Vec<(&'static str, Pubkey)> {
        vec![
            ("the other protocol", self.b.protocol),
            (
                "another bme account type (the oracle set)",
                pda::oracle_set(&self.a.protocol),
            ),
        ]
    }

    fn wrong_token_mint(&self) -> Vec<(&'static str, Pubkey)> {
        vec![
            ("the other protocol's token mint", self.b.token_mint),
            ("the credit mint", self.a.credit_mint),
        ]
    }

    fn wrong_credit_mint(&self) -> Vec<(&'static str, Pubkey)> {
        vec![
            ("the other protocol's credit mint", self.b.credit_mint),
            ("the network token mint", self.a.token_mint),
        ]
    }

    fn wrong_token_program(&self) -> Vec<(&'static str, Pubkey)> {
        vec![
            (
                "the other token program (SPL Token <-> Token-2022)",
                other_token_program(self.a.token_program),
            ),
            ("the system program", ix::SYSTEM),
        ]
    }
}

/// Gives `owner` an associated account of `network`'s token holding `amount`.
async fn fund(fixture: &mut TestFixture, network: &Network, owner: &Pubkey, amount: u64) {
    let account = fixture
        .create_ata(owner, &network.token_mint, &network.token_program)
        .await;
    let transfer = spl_token_2022::instruction::transfer_checked(
        &network.token_program,
        &network.treasury,
        &network.token_mint,
        &account,
        &network.authority.pubkey(),
        &[],
        amount,
        DECIMALS,
    )
    .expect("transfer_checked");
    fixture.send_ok(&[transfer], &[&network.authority]).await;
}

impl ProviderKeys {
    fn placeholder() -> ProviderKeys {
        ProviderKeys {
            owner: Keypair::new(),
            address: Pubkey::default(),
            destination: Pubkey::default(),
        }
    }

    async fn register(fixture: &mut TestFixture, network: &Network) -> ProviderKeys {
        let (_node, owner, address) = network.register_provider(fixture).await;
        let destination = network.token_account(&owner.pubkey());
        ProviderKeys {
            owner,
            address,
            destination,
        }
    }
}

// ---------------------------------------------------------------------------------
// Cases: a valid transaction and what each of its bme instruction's accounts is.
// ---------------------------------------------------------------------------------

/// Substitutions the runner derives from an account's flags and kind.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Generic {
    /// Clear `is_signer` and drop the signature.
    Unsign,
    /// Clear `is_writable`.
    ReadOnly,
    /// A fresh address with no account.
    Fresh,
    /// The account's bytes and lamports at a fresh address, owned by the wrong program.
    ForgedCopy,
    /// A payer whose account is owned by a program other than the system program.
    WrongOwnerSigner,
    /// A payer with no lamports.
    UnfundedSigner,
}

enum Kind {
    /// Pays rent; any funded signer may.
    Payer,
    /// A signer with a specific identity; each of `others` must be refused.
    Signer(Vec<(&'static str, Keypair)>),
    /// A non-signer account; each of these is wrong here.
    Account(Vec<(&'static str, Pubkey)>),
    /// Legitimately any address: nothing to substitute.
    Free(&'static str),
}

struct Slot {
    kind: Kind,
    /// Generic substitutions that are legitimately accepted here, with why.
    skips: Vec<(Generic, &'static str)>,
    /// Plausible substitutes that are legitimately accepted here, with why.
    legit: Vec<(&'static str, &'static str)>,
}

impl Slot {
    fn skip(mut self, generic: Generic, reason: &'static str) -> Slot {
        self.skips.push((generic, reason));
        self
    }

    fn legit(mut self, substitute: &'static str, reason: &'static str) -> Slot {
        self.legit.push((substitute, reason));
        self
    }
}

fn payer() -> Slot {
    Slot {
        kind: Kind::Payer,
        skips: vec![],
        legit: vec![(
            "another funded signer as payer",
            "anyone may pay rent for the accounts an instruction creates",
        )],
    }
}

fn signer(others: Vec<(&'static str, Keypair)>) -> Slot {
    Slot {
        kind: Kind::Signer(others),
        skips: vec![],
        legit: vec![],
    }
}

fn account(wrong: Vec<(&'static str, Pubkey)>) -> Slot {
    Slot {
        kind: Kind::Account(wrong),
        skips: vec![],
        legit: vec![],
    }
}

fn free(reason: &'static str) -> Slot {
    Slot {
        kind: Kind::Free(reason),
        skips: vec![],
        legit: vec![],
    }
}

fn event_authority(w: &World) -> Slot {
    account(vec![(
        "another PDA of the program (the protocol)",
        w.a.protocol,
    )])
}

fn self_program() -> Slot {
    free(
        "the program id account itself, only the target of emit_cpi!'s self-CPI: any other \
         account makes that CPI fail in the runtime (natively it panics in \
         solana-program-test's CPI stub with MissingAccount) before anything is written",
    )
}

fn system_program() -> Slot {
    account(vec![("a token program", SPL_TOKEN)])
}

fn credit_token_program() -> Slot {
    account(vec![("SPL Token instead of Token-2022", SPL_TOKEN)])
}

fn instructions_sysvar() -> Slot {
    account(vec![("the clock sysvar", solana_sdk::sysvar::clock::ID)])
}

/// A valid transaction and the role of every account of its bme instruction.
struct Case {
    instructions: Vec<Instruction>,
    /// Index of the bme instruction in `instructions`.
    target: usize,
    signers: Vec<Keypair>,
    /// One per account of the bme instruction, in order.
    slots: Vec<Slot>,
}

impl Case {
    fn single(instruction: Instruction, signers: Vec<Keypair>, slots: Vec<Slot>) -> Case {
        Case {
            instructions: vec![instruction],
            target: 0,
            signers,
            slots,
        }
    }
}

fn clone(key: &Keypair) -> Keypair {
    key.insecure_clone()
}

async fn initialize_protocol(w: &mut World) -> Case {
    let token_program = w.a.token_program;
    let mint_authority = Keypair::new();
    let mint = w
        .fixture
        .create_mint(&token_program, DECIMALS, &mint_authority.pubkey(), None)
        .await
        .pubkey();
    let authority = Keypair::new();
    let treasury = w
        .fixture
        .create_ata(&authority.pubkey(), &mint, &token_program)
        .await;
    let oracles: Vec<Pubkey> = (0..3).map(|_| Pubkey::new_unique()).collect();
    let mut args = default_args(w.fixture.now(), &oracles);
    args.token = TokenSetup::ExistingMint;
    args.authority = authority.pubkey();
    args.guardian = authority.pubkey();
    let hand_over =
        bme_client::ix::hand_over_mint_authority(&token_program, &mint, &mint_authority.pubkey())
            .expect("set_authority");
    let genesis = ix::initialize_protocol(
        ix::InitializeProtocolAccounts {
            payer: w.payer.pubkey(),
            token_mint: mint,
            treasury,
            token_program,
        },
        args,
    );
    let slots = vec![
        payer(),
        account(vec![
            ("a mint that already has a protocol", w.a.token_mint),
            ("the other protocol's token mint", w.b.token_mint),
            ("a credit mint", w.a.credit_mint),
        ]),
        account(vec![
            ("an existing protocol", w.a.protocol),
            ("the other protocol", w.b.protocol),
        ]),
        account(vec![(
            "a protocol account instead of the registry",
            w.a.protocol,
        )]),
        account(vec![("another protocol's credit mint", w.a.credit_mint)]),
        account(vec![
            (
                "another protocol's oracle set",
                pda::oracle_set(&w.a.protocol),
            ),
            (
                "the other protocol's oracle set",
                pda::oracle_set(&w.b.protocol),
            ),
        ]),
        account(vec![
            ("a token account of another mint", w.a.treasury),
            (
                "a credit account (Token-2022, wrong mint)",
                w.a.credit_account(&w.c1.pubkey()),
            ),
        ])
        .skip(
            Generic::Fresh,
            "a treasury that does not exist yet is allowed at genesis (a new mint's \
             treasury is created after it); close_epoch requires it to be a token account \
             of the network token",
        )
        .legit(
            "another token account of the same mint",
            "genesis names the treasury; any token account of the network token may be it",
        ),
        account(w.wrong_token_program()),
        credit_token_program(),
        system_program(),
        event_authority(w),
        self_program(),
    ];
    Case {
        instructions: vec![hand_over, genesis],
        target: 1,
        signers: vec![clone(&w.payer), mint_authority],
        slots,
    }
}

async fn buy_credits(w: &mut World) -> Case {
    // A recipient without a credit account yet: the instruction creates it.
    let recipient = Pubkey::new_unique();
    let buy = ix::buy_credits(
        ix::BuyCreditsAccounts {
            buyer: w.c1.pubkey(),
            token_mint: w.a.token_mint,
            token_program: w.a.token_program,
            buyer_token_account: None,
            recipient,
            price_update: Some(w.price_a),
        },
        bme::instructions::BuyCreditsArgs {
            epoch: 1,
            purchase: Purchase::Credits {
                credits: 1_000,
                max_tokens: TOKEN,
            },
        },
    );
    let slots = vec![
        signer(vec![("another customer", clone(&w.c2))]),
        account(w.wrong_protocol()),
        account(vec![
            ("a closed epoch", w.epoch_a(0)),
            ("the next epoch", w.epoch_a(2)),
            ("the other protocol's epoch", w.epoch_b(1)),
        ]),
        account(w.wrong_token_mint()),
        account(vec![
            (
                "another customer's token account",
                w.a.token_account(&w.c2.pubkey()),
            ),
            (
                "the buyer's account of another token (other token program)",
                w.b.token_account(&w.c1.pubkey()),
            ),
            (
                "the buyer's credit account",
                w.a.credit_account(&w.c1.pubkey()),
            ),
        ]),
        account(w.wrong_credit_mint()),
        account(vec![("another wallet", w.stranger.pubkey())]),
        account(vec![
            (
                "another customer's credit account",
                w.a.credit_account(&w.c2.pubkey()),
            ),
            (
                "a credit account of the other protocol",
                w.b.credit_account(&w.c1.pubkey()),
            ),
            (
                "the recipient's network-token account address",
                w.a.token_account(&recipient),
            ),
        ]),
        account(vec![
            ("the other protocol's price account", w.price_b),
            ("no price account (None)", bme::ID),
        ]),
        account(w.wrong_token_program()),
        credit_token_program(),
        account(vec![("the system program", ix::SYSTEM)]),
        system_program(),
        event_authority(w),
        self_program(),
    ];
    Case::single(buy, vec![clone(&w.c1)], slots)
}

async fn register_provider(w: &mut World) -> Case {
    let node = Keypair::new();
    let destination = w
        .fixture
        .create_ata(&w.stranger.pubkey(), &w.a.token_mint, &w.a.token_program)
        .await;
    let register = ix::register_provider(ix::RegisterProviderAccounts {
        payer: w.payer.pubkey(),
        node: node.pubkey(),
        owner: Pubkey::new_unique(),
        protocol: w.a.protocol,
        destination,
    });
    let slots = vec![
        payer(),
        signer(vec![("another node key", Keypair::new())]),
        free("the owner may be any address (a wallet, a multisig vault, a DAO PDA)"),
        account(w.wrong_protocol()),
        account(vec![
            ("an existing provider", w.p1.address),
            ("the other protocol's provider", w.pb.address),
        ]),
        account(vec![
            (
                "a token account of another token",
                w.b.token_account(&w.c1.pubkey()),
            ),
            ("a credit account", w.a.credit_account(&w.c1.pubkey())),
        ])
        .legit(
            "another token account of the network token",
            "a provider names any token account of the network token as its destination",
        ),
        system_program(),
        event_authority(w),
        self_program(),
    ];
    Case::single(register, vec![clone(&w.payer), node], slots)
}

async fn set_provider_destination(w: &mut World) -> Case {
    let new_destination = w
        .fixture
        .create_ata(&w.stranger.pubkey(), &w.a.token_mint, &w.a.token_program)
        .await;
    let set = ix::set_provider_destination(
        w.p1.owner.pubkey(),
        w.a.protocol,
        w.p1.address,
        new_destination,
    );
    let slots = vec![
        signer(vec![
            ("another provider's owner", clone(&w.p2.owner)),
            ("the protocol authority", clone(&w.a.authority)),
        ]),
        account(w.wrong_protocol()),
        account(vec![
            ("another provider", w.p2.address),
            ("the other protocol's provider", w.pb.address),
        ]),
        account(vec![
            (
                "a token account of another token",
                w.b.token_account(&w.c1.pubkey()),
            ),
            ("a credit account", w.a.credit_account(&w.c1.pubkey())),
        ])
        .legit(
            "another token account of the network token",
            "the owner may redirect rewards to any token account of the network token",
        ),
        event_authority(w),
        self_program(),
    ];
    Case::single(set, vec![clone(&w.p1.owner)], slots)
}

async fn settle_usage(w: &mut World) -> Case {
    // c1's channel exists (100 settled in epoch 0); c2's is created here.
    let receipts = [
        SignedReceipt::sign(&w.c1, &w.p1.address, 150),
        SignedReceipt::sign(&w.c2, &w.p1.address, 70),
    ];
    let instructions = ix::settle_receipts(
        w.payer.pubkey(),
        w.a.protocol,
        w.a.credit_mint,
        1,
        &receipts,
    );
    let channel =
        |provider: &Pubkey, customer: &Keypair| pda::channel(provider, &customer.pubkey());
    let slots = vec![
        payer(),
        account(w.wrong_protocol()),
        account(vec![
            ("another provider", w.p2.address),
            ("the other protocol's provider", w.pb.address),
        ]),
        account(vec![
            ("a closed epoch", w.epoch_a(0)),
            ("the next epoch", w.epoch_a(2)),
            ("the other protocol's epoch", w.epoch_b(1)),
        ]),
        account(w.wrong_credit_mint()),
        instructions_sysvar(),
        credit_token_program(),
        system_program(),
        event_authority(w),
        self_program(),
        // Receipt 1: existing channel, then the customer's credit account.
        account(vec![
            (
                "another customer's channel with this provider",
                channel(&w.p1.address, &w.c2),
            ),
            (
                "this customer's channel with another provider",
                channel(&w.p2.address, &w.c1),
            ),
            (
                "this customer's channel in the other protocol",
                channel(&w.pb.address, &w.c1),
            ),
        ]),
        account(vec![
            (
                "another customer's credit account",
                w.a.credit_account(&w.c2.pubkey()),
            ),
            (
                "the customer's credit account of the other protocol",
                w.b.credit_account(&w.c1.pubkey()),
            ),
            (
                "the customer's network-token account",
                w.a.token_account(&w.c1.pubkey()),
            ),
        ]),
        // Receipt 2: a channel created by this settlement.
        account(vec![
            (
                "another customer's existing channel",
                channel(&w.p1.address, &w.c1),
            ),
            (
                "the other protocol's channel",
                channel(&w.pb.address, &w.c1),
            ),
        ]),
        account(vec![
            (
                "another customer's credit account",
                w.a.credit_account(&w.c1.pubkey()),
            ),
            (
                "the customer's network-token account",
                w.a.token_account(&w.c2.pubkey()),
            ),
        ]),
    ];
    Case {
        instructions,
        target: 1,
        signers: vec![clone(&w.payer)],
        slots,
    }
}

async fn submit_contribution_report(w: &mut World) -> Case {
    let oracles = [&w.a.oracles[0], &w.a.oracles[1]];
    let instructions = ix::signed_report(
        w.payer.pubkey(),
        w.a.protocol,
        &oracles,
        1,
        1,
        &[(w.p1.address, 10), (w.p2.address, 20)],
    );
    let slots = vec![
        payer(),
        account(w.wrong_protocol()),
        account(vec![
            (
                "the other protocol's oracle set",
                pda::oracle_set(&w.b.protocol),
            ),
            ("the protocol account", w.a.protocol),
        ]),
        account(vec![
            ("a closed epoch", w.epoch_a(0)),
            ("the next epoch", w.epoch_a(2)),
            ("the other protocol's epoch", w.epoch_b(1)),
        ]),
        instructions_sysvar(),
        system_program(),
        event_authority(w),
        self_program(),
        account(vec![
            ("the other protocol's provider", w.pb.address),
            ("the provider's destination", w.p1.destination),
        ]),
        account(vec![
            ("the other protocol's provider", w.pb.address),
            ("the first provider again", w.p1.address),
        ]),
    ];
    Case {
        instructions,
        target: 1,
        signers: vec![clone(&w.payer)],
        slots,
    }
}

async fn close_epoch(w: &mut World) -> Case {
    w.a.warp_to_epoch(&mut w.fixture, 2, GRACE);
    let close = ix::close_epoch(
        ix::CloseEpochAccounts {
            payer: w.payer.pubkey(),
            protocol: w.a.protocol,
            token_mint: w.a.token_mint,
            treasury: w.a.treasury,
            token_program: w.a.token_program,
        },
        bme::instructions::CloseEpochArgs { epoch: 1 },
    );
    let slots = vec![
        payer(),
        account(w.wrong_protocol()),
        account(vec![
            ("a closed epoch", w.epoch_a(0)),
            ("the current epoch", w.epoch_a(2)),
            ("the other protocol's epoch", w.epoch_b(1)),
        ]),
        account(w.wrong_token_mint()),
        account(vec![
            (
                "another token account of the network token",
                w.a.token_account(&w.c1.pubkey()),
            ),
            ("the other protocol's treasury", w.b.treasury),
        ]),
        account(w.wrong_token_program()),
        system_program(),
        event_authority(w),
        self_program(),
    ];
    Case::single(close, vec![clone(&w.payer)], slots)
}

async fn claim_rewards(w: &mut World) -> Case {
    let claim = ix::claim_rewards(
        ix::ClaimRewardsAccounts {
            protocol: w.a.protocol,
            provider: w.p1.address,
            destination: w.p1.destination,
            token_mint: w.a.token_mint,
            token_program: w.a.token_program,
        },
        &[0],
    );
    let slots = vec![
        account(w.wrong_protocol()),
        account(vec![
            ("another provider", w.p2.address),
            ("the other protocol's provider", w.pb.address),
        ]),
        account(vec![
            (
                "another token account of the network token",
                w.a.token_account(&w.c1.pubkey()),
            ),
            (
                "the other protocol's provider's destination",
                w.pb.destination,
            ),
        ]),
        account(w.wrong_token_mint()),
        account(w.wrong_token_program()),
        event_authority(w),
        self_program(),
        account(vec![
            ("the other protocol's closed epoch 0", w.epoch_b(0)),
            ("the protocol account", w.a.protocol),
        ]),
    ];
    Case::single(claim, vec![], slots)
}

fn authority_slot(w: &World, extra: Vec<(&'static str, Keypair)>) -> Slot {
    let mut others = vec![
        ("a stranger", clone(&w.stranger)),
        ("the other protocol's authority", clone(&w.b.authority)),
    ];
    others.extend(extra);
    signer(others)
}

async fn transfer_authority(w: &mut World) -> Case {
    let transfer =
        ix::transfer_authority(w.a.authority.pubkey(), w.a.protocol, Pubkey::new_unique());
    let slots = vec![
        authority_slot(w, vec![]),
        account(w.wrong_protocol()),
        event_authority(w),
        self_program(),
    ];
    Case::single(transfer, vec![clone(&w.a.authority)], slots)
}

/// Proposes new authorities for both protocols; returns A's.
async fn pending_authorities(w: &mut World) -> (Keypair, Keypair) {
    let (next_a, next_b) = (Keypair::new(), Keypair::new());
    for (network, next) in [(&w.a, &next_a), (&w.b, &next_b)] {
        let transfer =
            ix::transfer_authority(network.authority.pubkey(), network.protocol, next.pubkey());
        w.fixture.send_ok(&[transfer], &[&network.authority]).await;
    }
    (next_a, next_b)
}

async fn accept_authority(w: &mut World) -> Case {
    let (next_a, next_b) = pending_authorities(w).await;
    let accept = ix::accept_authority(next_a.pubkey(), w.a.protocol);
    let slots = vec![
        signer(vec![
            ("a stranger", clone(&w.stranger)),
            ("the current authority", clone(&w.a.authority)),
            ("the other protocol's pending authority", next_b),
        ]),
        account(w.wrong_protocol()),
        event_authority(w),
        self_program(),
    ];
    Case::single(accept, vec![next_a], slots)
}

async fn cancel_authority_transfer(w: &mut World) -> Case {
    let (next_a, _next_b) = pending_authorities(w).await;
    let cancel = ix::cancel_authority_transfer(w.a.authority.pubkey(), w.a.protocol);
    let slots = vec![
        authority_slot(w, vec![("the pending authority", next_a)]),
        account(w.wrong_protocol()),
        event_authority(w),
        self_program(),
    ];
    Case::single(cancel, vec![clone(&w.a.authority)], slots)
}

async fn set_guardian(w: &mut World) -> Case {
    let set = ix::set_guardian(w.a.authority.pubkey(), w.a.protocol, Pubkey::new_unique());
    let slots = vec![
        authority_slot(w, vec![]),
        account(w.wrong_protocol()),
        event_authority(w),
        self_program(),
    ];
    Case::single(set, vec![clone(&w.a.authority)], slots)
}

fn change() -> ParameterChange {
    ParameterChange::NetRemintCap { cap: 400 * TOKEN }
}

/// A proposal on the given protocol, paid by the fee payer.
async fn propose_on(w: &mut World, network_is_a: bool) {
    let network = if network_is_a { &w.a } else { &w.b };
    let propose = ix::propose_change(
        network.authority.pubkey(),
        w.fixture.payer().pubkey(),
        network.protocol,
        network.token_mint,
        change(),
    );
    w.fixture.send_ok(&[propose], &[&network.authority]).await;
}

async fn propose_change(w: &mut World) -> Case {
    // B has a proposal account; A's is created by this proposal.
    propose_on(w, false).await;
    let propose = ix::propose_change(
        w.a.authority.pubkey(),
        w.payer.pubkey(),
        w.a.protocol,
        w.a.token_mint,
        change(),
    );
    let slots = vec![
        authority_slot(w, vec![]),
        payer(),
        account(w.wrong_protocol()),
        account(vec![(
            "the other protocol's proposal",
            pda::pending_change(&w.b.protocol),
        )]),
        account(w.wrong_token_mint()),
        system_program(),
        event_authority(w),
        self_program(),
    ];
    Case::single(propose, vec![clone(&w.a.authority), clone(&w.payer)], slots)
}

async fn apply_change(w: &mut World) -> Case {
    propose_on(w, true).await;
    propose_on(w, false).await;
    let now = w.fixture.now();
    w.fixture.warp_to(now + 3_600);
    let apply = ix::apply_change(w.a.protocol, w.a.token_mint);
    let slots = vec![
        account(w.wrong_protocol()),
        account(vec![(
            "the other protocol's proposal",
            pda::pending_change(&w.b.protocol),
        )]),
        account(vec![
            (
                "the other protocol's oracle set",
                pda::oracle_set(&w.b.protocol),
            ),
            ("the protocol account", w.a.protocol),
        ]),
        account(w.wrong_token_mint()),
        event_authority(w),
        self_program(),
    ];
    Case::single(apply, vec![], slots)
}

async fn cancel_change(w: &mut World) -> Case {
    propose_on(w, true).await;
    propose_on(w, false).await;
    let cancel = ix::cancel_change(w.a.authority.pubkey(), w.a.protocol);
    let slots = vec![
        authority_slot(w, vec![]),
        account(w.wrong_protocol()),
        account(vec![(
            "the other protocol's proposal",
            pda::pending_change(&w.b.protocol),
        )]),
        event_authority(w),
        self_program(),
    ];
    Case::single(cancel, vec![clone(&w.a.authority)], slots)
}

async fn pause(w: &mut World) -> Case {
    let pause = ix::pause(
        w.a.authority.pubkey(),
        w.a.protocol,
        bme::constants::PAUSE_BUY,
    );
    let slots = vec![
        authority_slot(w, vec![]),
        account(w.wrong_protocol()),
        event_authority(w),
        self_program(),
    ];
    Case::single(pause, vec![clone(&w.a.authority)], slots)
}

async fn unpause(w: &mut World) -> Case {
    for network in [&w.a, &w.b] {
        let pause = ix::pause(
            network.authority.pubkey(),
            network.protocol,
            bme::constants::PAUSE_ALL,
        );
        w.fixture.send_ok(&[pause], &[&network.authority]).await;
    }
    let unpause = ix::unpause(
        w.a.authority.pubkey(),
        w.a.protocol,
        bme::constants::PAUSE_BUY,
    );
    let slots = vec![
        authority_slot(w, vec![]),
        account(w.wrong_protocol()),
        event_authority(w),
        self_program(),
    ];
    Case::single(unpause, vec![clone(&w.a.authority)], slots)
}

// ---------------------------------------------------------------------------------
// The runner.
// ---------------------------------------------------------------------------------

enum Swap {
    /// Another address in the same position (flags kept).
    Address(Pubkey),
    /// Another signer in the same position.
    Signer(Keypair),
    /// The same address, `is_signer` cleared and its signature dropped.
    Unsign,
    /// The same address, `is_writable` cleared.
    ReadOnly,
}

struct Substitution {
    index: usize,
    label: String,
    swap: Swap,
    /// An account to install first (a forged copy, a wrong-owner signer).
    install: Option<(Pubkey, Account)>,
}

/// Counts of one table entry's run.
#[derive(Default)]
struct Tally {
    /// Substituted transactions sent.
    run: usize,
    /// Substitutions not sent because they are legitimately accepted, with the reason.
    skipped: Vec<String>,
    /// Generic substitutions that don't apply to an account (nothing to forge, …).
    not_applicable: Vec<String>,
}

/// Every key the transaction names except the fee payer (whose balance pays the fee
/// even for a failed transaction).
fn named_accounts(instructions: &[Instruction], fee_payer: &Pubkey) -> Vec<Pubkey> {
    let mut keys: Vec<Pubkey> = Vec::new();
    for instruction in instructions {
        for key in std::iter::once(&instruction.program_id)
            .chain(instruction.accounts.iter().map(|m| &m.pubkey))
        {
            if key != fee_payer && !keys.contains(key) {
                keys.push(*key);
            }
        }
    }
    keys
}

/// Sends `instructions` signed by whichever of `signers` the message needs, and
/// returns the result with snapshots of every named account before and after.
async fn send_watched(
    fixture: &mut TestFixture,
    instructions: &[Instruction],
    signers: &[&Keypair],
    extra_watched: &[Pubkey],
) -> (
    Result<(), BanksClientError>,
    Vec<Option<Account>>,
    Vec<Option<Account>>,
) {
    // A new slot (and blockhash) first: it rewrites the clock sysvar, which must not
    // count as a change made by the transaction.
    fixture.next_slot().await;
    let fee_payer = fixture.payer();
    let mut watched = named_accounts(instructions, &fee_payer.pubkey());
    for key in extra_watched {
        if !watched.contains(key) && *key != fee_payer.pubkey() {
            watched.push(*key);
        }
    }
    let message = Message::new(instructions, Some(&fee_payer.pubkey()));
    let required = &message.account_keys[..usize::from(message.header.num_required_signatures)];
    let mut keys: Vec<&Keypair> = vec![&fee_payer];
    for key in &required[1..] {
        let keypair = signers
            .iter()
            .find(|k| k.pubkey() == *key)
            .unwrap_or_else(|| panic!("no keypair for required signer {key}"));
        keys.push(keypair);
    }
    let transaction = Transaction::new(&keys, message, fixture.ctx.last_blockhash);
    let before = fixture.snapshot(&watched).await;
    let result = fixture
        .ctx
        .banks_client
        .process_transaction(transaction)
        .await;
    let after = fixture.snapshot(&watched).await;
    (result, before, after)
}

/// The substitutions of one account, generic ones first.
async fn substitutions(
    w: &mut World,
    case: &Case,
    index: usize,
    tally: &mut Tally,
) -> Vec<Substitution> {
    let instruction = &case.instructions[case.target];
    let meta = instruction.accounts[index].clone();
    let slot = &case.slots[index];
    let name = |what: &str| format!("#{index} {}: {what}", meta.pubkey);
    let mut out = Vec::new();
    let skip = |generic: Generic, tally: &mut Tally| -> bool {
        if let Some((_, reason)) = slot.skips.iter().find(|(g, _)| *g == generic) {
            tally.skipped.push(format!(
                "{}: skipped ({reason})",
                name(&format!("{generic:?}"))
            ));
            true
        } else {
            false
        }
    };
    for (substitute, reason) in &slot.legit {
        tally
            .skipped
            .push(format!("{}: legitimate ({reason})", name(substitute)));
    }
    // Where the key is writable or a signer in another position of the transaction,
    // the runtime grants the flag anyway: clearing it here would test nothing.
    let elsewhere = |flag: fn(&solana_sdk::instruction::AccountMeta) -> bool| {
        case.instructions.iter().enumerate().any(|(i, ix)| {
            ix.accounts
                .iter()
                .enumerate()
                .any(|(j, m)| m.pubkey == meta.pubkey && flag(m) && (i, j) != (case.target, index))
        })
    };
    if meta.is_writable && !skip(Generic::ReadOnly, tally) {
        if elsewhere(|m| m.is_writable) {
            tally.not_applicable.push(format!(
                "{}: skipped (writable in another instruction of the transaction, so the \
                 runtime marks it writable anyway)",
                name("ReadOnly")
            ));
        } else {
            out.push(Substitution {
                index,
                label: "read-only where writable is required".into(),
                swap: Swap::ReadOnly,
                install: None,
            });
        }
    }
    match &slot.kind {
        Kind::Free(reason) => {
            tally
                .skipped
                .push(format!("{}: free ({reason})", name("any substitute")));
        }
        Kind::Payer | Kind::Signer(_) => {
            assert!(meta.is_signer, "{} is declared a signer", name("slot"));
            assert!(
                !elsewhere(|m| m.is_signer),
                "{} signs in another position too",
                name("slot")
            );
            if !skip(Generic::Unsign, tally) {
                out.push(Substitution {
                    index,
                    label: "not a signer (signature dropped)".into(),
                    swap: Swap::Unsign,
                    install: None,
                });
            }
            if let Kind::Signer(others) = &slot.kind {
                for (label, key) in others {
                    out.push(Substitution {
                        index,
                        label: format!("{label} signs instead"),
                        swap: Swap::Signer(key.insecure_clone()),
                        install: None,
                    });
                }
            } else {
                if !skip(Generic::WrongOwnerSigner, tally) {
                    let key = Keypair::new();
                    let account = Account {
                        lamports: 10_000_000_000,
                        data: vec![],
                        owner: SPL_TOKEN,
                        executable: false,
                        rent_epoch: 0,
                    };
                    out.push(Substitution {
                        index,
                        label: "a signer owned by the wrong program (SPL Token)".into(),
                        install: Some((key.pubkey(), account)),
                        swap: Swap::Signer(key),
                    });
                }
                if !skip(Generic::UnfundedSigner, tally) {
                    out.push(Substitution {
                        index,
                        label: "a signer with no lamports".into(),
                        swap: Swap::Signer(Keypair::new()),
                        install: None,
                    });
                }
            }
        }
        Kind::Account(wrong) => {
            assert!(!meta.is_signer, "{} is not declared a signer", name("slot"));
            for (label, key) in wrong {
                assert_ne!(
                    *key,
                    meta.pubkey,
                    "{}: substitute equals original",
                    name(label)
                );
                out.push(Substitution {
                    index,
                    label: (*label).to_string(),
                    swap: Swap::Address(*key),
                    install: None,
                });
            }
            if !skip(Generic::Fresh, tally) {
                out.push(Substitution {
                    index,
                    label: "a fresh address with no account".into(),
                    swap: Swap::Address(Pubkey::new_unique()),
                    install: None,
                });
            }
            let existing = w.fixture.raw_account(&meta.pubkey).await;
            match existing {
                Some(account) if !account.executable && account.owner != ix::SYSTEM => {
                    if !skip(Generic::ForgedCopy, tally) {
                        // A copy owned by a program that could write any bytes into it.
                        let wrong_owner = if account.owner == bme::ID {
                            TOKEN_2022
                        } else {
                            bme::ID
                        };
                        let forged = Account {
                            owner: wrong_owner,
                            ..account
                        };
                        let address = Pubkey::new_unique();
                        out.push(Substitution {
                            index,
                            label: format!("a forged copy owned by {wrong_owner}"),
                            swap: Swap::Address(address),
                            install: Some((address, forged)),
                        });
                    }
                }
                Some(account) if account.executable => tally.not_applicable.push(format!(
                    "{}: n/a (an executable program: substituted by other programs above)",
                    name("ForgedCopy")
                )),
                Some(_) => tally.not_applicable.push(format!(
                    "{}: n/a (a system-owned wallet holds no data to forge)",
                    name("ForgedCopy")
                )),
                None => tally.not_applicable.push(format!(
                    "{}: n/a (the account does not exist before the transaction)",
                    name("ForgedCopy")
                )),
            }
        }
    }
    out
}

/// Applies a substitution to a copy of the case's transaction.
fn substituted(case: &Case, substitution: &Substitution) -> (Vec<Instruction>, Vec<Keypair>) {
    let mut instructions = case.instructions.clone();
    let mut signers: Vec<Keypair> = case.signers.iter().map(|k| k.insecure_clone()).collect();
    let meta = &mut instructions[case.target].accounts[substitution.index];
    let original = meta.pubkey;
    match &substitution.swap {
        Swap::Address(key) => meta.pubkey = *key,
        Swap::Signer(key) => {
            meta.pubkey = key.pubkey();
            signers.retain(|k| k.pubkey() != original);
            signers.push(key.insecure_clone());
        }
        Swap::Unsign => {
            meta.is_signer = false;
            signers.retain(|k| k.pubkey() != original);
        }
        Swap::ReadOnly => meta.is_writable = false,
    }
    (instructions, signers)
}

/// A case builder's future.
type BoxedCase<'a> = std::pin::Pin<Box<dyn std::future::Future<Output = Case> + 'a>>;
/// Builds a table entry's case in a fresh world.
type Builder = fn(&mut World) -> BoxedCase<'_>;

/// Runs one table entry against a network under `token_program`.
async fn run_entry(instruction: &str, build: Builder, token_program: Pubkey) -> Tally {
    let mut w = World::new(token_program).await;
    let case = build(&mut w).await;
    let target = &case.instructions[case.target];
    assert_eq!(
        target.program_id,
        bme::ID,
        "{instruction}: the target is a bme instruction"
    );
    assert_eq!(
        case.slots.len(),
        target.accounts.len(),
        "{instruction}: one slot per account of the instruction"
    );
    let mut tally = Tally::default();
    let mut failures: Vec<String> = Vec::new();
    let mut log: Vec<String> = Vec::new();
    for index in 0..target.accounts.len() {
        let subs = substitutions(&mut w, &case, index, &mut tally).await;
        let free = matches!(case.slots[index].kind, Kind::Free(_));
        assert!(
            free || !subs.is_empty(),
            "{instruction}: account #{index} has no substitution and no reason to skip"
        );
        for substitution in subs {
            if let Some((address, account)) = &substitution.install {
                w.fixture.set_account(address, account.clone());
            }
            let (instructions, signers) = substituted(&case, &substitution);
            let signer_refs: Vec<&Keypair> = signers.iter().collect();
            let original: Vec<Pubkey> = case
                .instructions
                .iter()
                .flat_map(|i| i.accounts.iter().map(|m| m.pubkey))
                .collect();
            let (result, before, after) =
                send_watched(&mut w.fixture, &instructions, &signer_refs, &original).await;
            tally.run += 1;
            let label = format!("#{index} {}", substitution.label);
            let in_target = matches!(
                &result,
                Err(BanksClientError::TransactionError(TransactionError::InstructionError(i, _)))
                    if usize::from(*i) == case.target
            );
            log.push(format!("    {label} -> {}", Outcome::of(&result)));
            if result.is_ok() {
                failures.push(format!(
                    "{label}: succeeded (later results of this entry may cascade from it)"
                ));
            } else if !in_target {
                failures.push(format!(
                    "{label}: expected a failure in the bme instruction, got {result:?}"
                ));
            }
            if before != after {
                failures.push(format!("{label}: accounts changed"));
            }
        }
    }
    eprintln!(
        "substitution {instruction} ({}):\n{}",
        program_name(token_program),
        log.join("\n")
    );
    assert!(
        failures.is_empty(),
        "{instruction} ({}): {} substitution(s) misbehaved:\n  {}",
        program_name(token_program),
        failures.len(),
        failures.join("\n  ")
    );
    // The unmodified transaction succeeds, and changes something.
    let signer_refs: Vec<&Keypair> = case.signers.iter().collect();
    let (result, before, after) =
        send_watched(&mut w.fixture, &case.instructions, &signer_refs, &[]).await;
    assert!(
        result.is_ok(),
        "{instruction}: the valid transaction failed: {result:?}"
    );
    assert_ne!(
        before, after,
        "{instruction}: the valid transaction changed nothing"
    );
    tally
}

async fn run(instruction: &str, build: Builder) {
    quiet_harness_panics();
    let (mut run, mut skipped, mut not_applicable) = (0, Vec::new(), 0);
    for token_program in [SPL_TOKEN, TOKEN_2022] {
        let tally = run_entry(instruction, build, token_program).await;
        run += tally.run;
        not_applicable += tally.not_applicable.len();
        let network = program_name(token_program);
        skipped.extend(
            tally
                .skipped
                .into_iter()
                .map(|s| format!("({network}) {s}")),
        );
    }
    eprintln!(
        "SUBSTITUTION {instruction}: {run} run, {} skipped, {not_applicable} not applicable\n  {}",
        skipped.len(),
        skipped.join("\n  ")
    );
}

/// The table: one entry per instruction of the program. Each entry becomes a test.
macro_rules! table {
    ($($name:ident),* $(,)?) => {
        /// Instructions with a substitution case.
        const TABLE: &[&str] = &[$(stringify!($name)),*];

        mod cases {
            use super::*;
            $(
                #[tokio::test]
                async fn $name() {
                    fn build(w: &mut World) -> BoxedCase<'_> {
                        Box::pin(super::$name(w))
                    }
                    run(stringify!($name), build).await;
                }
            )*
        }
    };
}

table!(
    initialize_protocol,
    buy_credits,
    register_provider,
    set_provider_destination,
    settle_usage,
    submit_contribution_report,
    close_epoch,
    claim_rewards,
    transfer_authority,
    accept_authority,
    cancel_authority_transfer,
    set_guardian,
    propose_change,
    apply_change,
    cancel_change,
    pause,
    unpause,
);

#[test]
fn every_idl_instruction_has_a_substitution_case() {
    let missing: Vec<String> = idl_instruction_names()
        .into_iter()
        .filter(|name| !TABLE.contains(&name.as_str()))
        .collect();
    assert!(
        missing.is_empty(),
        "instructions in idl/bme.json without a substitution case: {missing:?}"
    );
    let stale: Vec<&&str> = TABLE
        .iter()
        .filter(|name| !idl_instruction_names().iter().any(|n| n == **name))
        .collect();
    assert!(stale.is_empty(), "table entries not in the IDL: {stale:?}");
}

// ---------------------------------------------------------------------------------
// Griefing by pre-funding: every address the program creates is public before it
// exists, so anyone can send it lamports first. Creation must still succeed.
// ---------------------------------------------------------------------------------

fn lamports_only(lamports: u64) -> Account {
    Account {
        lamports,
        data: vec![],
        owner: ix::SYSTEM,
        executable: false,
        rent_epoch: 0,
    }
}

/// Asserts `address` now holds a rent-exempt account owned by `owner`.
async fn assert_created(fixture: &mut TestFixture, address: &Pubkey, owner: &Pubkey) {
    let account = fixture
        .raw_account(address)
        .await
        .unwrap_or_else(|| panic!("{address} was not created"));
    assert_eq!(account.owner, *owner, "{address} owner");
    assert!(!account.data.is_empty(), "{address} has no data");
    let rent = fixture.rent(account.data.len()).await;
    assert!(account.lamports >= rent, "{address} is not rent-exempt");
}

#[tokio::test]
async fn pre_funded_pdas_do_not_block_their_creation() {
    quiet_harness_panics();
    for token_program in [SPL_TOKEN, TOKEN_2022] {
        let mut fixture = TestFixture::new(vec![]).await;
        // Genesis of an existing mint: its protocol, credit-mint and oracle-set PDAs
        // (and the program-wide registry) all derive from public addresses.
        let mint_authority = Keypair::new();
        let mint = fixture
            .create_mint(&token_program, DECIMALS, &mint_authority.pubkey(), None)
            .await
            .pubkey();
        let authority = Keypair::new();
        let treasury = fixture
            .create_ata(&authority.pubkey(), &mint, &token_program)
            .await;
        fixture
            .mint_tokens(
                &token_program,
                &mint,
                &treasury,
                &mint_authority,
                1_000 * TOKEN,
            )
            .await;
        let protocol = pda::protocol(&mint);
        let credit_mint = pda::credit_mint(&protocol);
        let oracle_set = pda::oracle_set(&protocol);
        // Below the rent (the program tops it up) and above it (nothing to top up).
        fixture.set_account(&pda::registry(), lamports_only(1));
        fixture.set_account(&protocol, lamports_only(10_000_000_000));
        fixture.set_account(&credit_mint, lamports_only(1));
        fixture.set_account(&oracle_set, lamports_only(1_000));
        let oracles: Vec<Keypair> = (0..3).map(|_| Keypair::new()).collect();
        let keys: Vec<Pubkey> = oracles.iter().map(|k| k.pubkey()).collect();
        let mut args = default_args(fixture.now(), &keys);
        args.token = TokenSetup::ExistingMint;
        args.authority = authority.pubkey();
        args.guardian = authority.pubkey();
        let hand_over = bme_client::ix::hand_over_mint_authority(
            &token_program,
            &mint,
            &mint_authority.pubkey(),
        )
        .expect("set_authority");
        let genesis = ix::initialize_protocol(
            ix::InitializeProtocolAccounts {
                payer: fixture.payer().pubkey(),
                token_mint: mint,
                treasury,
                token_program,
            },
            args.clone(),
        );
        fixture
            .send(&[hand_over, genesis], &[&mint_authority])
            .await
            .expect("genesis succeeds over pre-funded PDAs");
        for (address, owner) in [
            (pda::registry(), bme::ID),
            (protocol, bme::ID),
            (oracle_set, bme::ID),
            (credit_mint, TOKEN_2022),
        ] {
            assert_created(&mut fixture, &address, &owner).await;
        }
        // The credit mint is exactly rent-exempt (topped up from 1 lamport), minted by
        // the protocol.
        let credit = fixture
            .raw_account(&credit_mint)
            .await
            .expect("credit mint");
        assert_eq!(credit.lamports, fixture.rent(credit.data.len()).await);
        let decoded = fixture.mint(&credit_mint).await;
        assert_eq!(decoded.mint_authority, Some(protocol).into());
        let state: bme::state::Protocol = fixture.account(&protocol).await;
        assert_eq!((state.token_mint, state.credit_mint), (mint, credit_mint));

        let network = Network {
            token_mint: mint,
            token_program,
            protocol,
            credit_mint,
            treasury,
            authority,
            oracles,
            genesis_time: args.genesis_time,
        };

        // A provider, the epoch, a recipient's credit account, a channel and the
        // proposal slot: all pre-funded, all still created.
        let node = Keypair::new();
        let provider = pda::provider(&protocol, &node.pubkey());
        fixture.set_account(&provider, lamports_only(1));
        let register = ix::register_provider(ix::RegisterProviderAccounts {
            payer: fixture.payer().pubkey(),
            node: node.pubkey(),
            owner: Pubkey::new_unique(),
            protocol,
            destination: treasury,
        });
        fixture
            .send(&[register], &[&node])
            .await
            .expect("register over a pre-funded provider PDA");
        assert_created(&mut fixture, &provider, &bme::ID).await;

        let customer = network.fund_customer(&mut fixture, 10 * TOKEN).await;
        let epoch0 = pda::epoch(&protocol, 0);
        fixture.set_account(&epoch0, lamports_only(1));
        let credits = network.credit_account(&customer.pubkey());
        fixture.set_account(&credits, lamports_only(1));
        let buy = network.buy(
            &fixture,
            &customer.pubkey(),
            &customer.pubkey(),
            Purchase::Credits {
                credits: 1_000,
                max_tokens: TOKEN,
            },
            None,
        );
        fixture
            .send(&[buy], &[&customer])
            .await
            .expect("buy over a pre-funded epoch PDA and credit account");
        assert_created(&mut fixture, &epoch0, &bme::ID).await;
        assert_created(&mut fixture, &credits, &TOKEN_2022).await;
        assert_eq!(fixture.token_balance(&credits).await, 1_000);

        let receipt = SignedReceipt::sign(&customer, &provider, 600);
        let channel = receipt.channel();
        fixture.set_account(&channel, lamports_only(1));
        let settle = ix::settle_receipts(
            fixture.payer().pubkey(),
            protocol,
            credit_mint,
            0,
            &[receipt],
        );
        fixture
            .send(&settle, &[])
            .await
            .expect("settle over a pre-funded channel PDA");
        assert_created(&mut fixture, &channel, &bme::ID).await;
        assert_eq!(fixture.token_balance(&credits).await, 400);

        // Future epochs' addresses are known in advance: pre-fund epochs 1 and 2. A
        // report creates epoch 1; `close_epoch` creates epoch 2 (no activity in it).
        // Were either blocked, epochs (which close in order) would stop for good.
        for index in [1, 2] {
            fixture.set_account(&pda::epoch(&protocol, index), lamports_only(1));
        }
        network.warp_to_epoch(&mut fixture, 1, GRACE);
        fixture
            .send(&[network.close(&fixture, 0)], &[])
            .await
            .expect("close epoch 0");
        let signers = [&network.oracles[0], &network.oracles[1]];
        let report = ix::signed_report(
            fixture.payer().pubkey(),
            protocol,
            &signers,
            1,
            1,
            &[(provider, 5)],
        );
        fixture
            .send(&report, &[])
            .await
            .expect("report over a pre-funded epoch PDA");
        network.warp_to_epoch(&mut fixture, 3, GRACE);
        for index in [1, 2] {
            fixture
                .send(&[network.close(&fixture, index)], &[])
                .await
                .unwrap_or_else(|e| panic!("close pre-funded epoch {index}: {e:?}"));
            let epoch: bme::state::Epoch = fixture.account(&pda::epoch(&protocol, index)).await;
            assert!(epoch.closed && epoch.index == index && epoch.protocol == protocol);
        }

        let pending = pda::pending_change(&protocol);
        fixture.set_account(&pending, lamports_only(1));
        let propose = ix::propose_change(
            network.authority.pubkey(),
            fixture.payer().pubkey(),
            protocol,
            mint,
            change(),
        );
        fixture
            .send(&[propose], &[&network.authority])
            .await
            .expect("propose over a pre-funded proposal PDA");
        assert_created(&mut fixture, &pending, &bme::ID).await;
    }
}
