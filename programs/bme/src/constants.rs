//! Seeds, limits and wire constants shared by the program and its clients.

/// Current layout version written into long-lived accounts.
pub const STATE_VERSION: u8 = 1;

/// Bytes reserved at the end of [`crate::state::Protocol`] for future fields.
pub const PROTOCOL_RESERVED: usize = 128;

/// Most oracles an [`crate::state::OracleSet`] can hold.
pub const MAX_ORACLES: usize = 10;

/// Decimals of the credit mint: a credit is indivisible.
pub const CREDIT_DECIMALS: u8 = 0;

/// Micro-units in one USD (credit prices are quoted in micro-USD).
pub const MICRO_USD_PER_USD: u64 = 1_000_000;

/// Largest accepted price age for a Pyth feed, in seconds (one day).
pub const MAX_PRICE_AGE_LIMIT: u64 = 86_400;

/// Domain tag that opens every usage-receipt message: `b"bmr"` (bme receipt) and
/// the message layout version `1`. Kept short because every receipt carries it.
pub const RECEIPT_DOMAIN: [u8; 4] = *b"bmr\x01";

/// Length of a receipt message: domain (4) ‖ channel address (32) ‖ cumulative credits (u64 LE).
pub const RECEIPT_MESSAGE_LEN: usize = 4 + 32 + 8;

/// Domain tag that opens every contribution-report message: `b"bmo"` (bme oracle)
/// and the message layout version `1`.
pub const REPORT_DOMAIN: [u8; 4] = *b"bmo\x01";

/// Length of a report message: domain (4) ‖ oracle set (32) ‖ epoch (u64 LE) ‖
/// sequence (u64 LE) ‖ SHA-256 of the entries (32).
pub const REPORT_MESSAGE_LEN: usize = 4 + 32 + 8 + 8 + 32;

/// Pause flag: buying credits.
pub const PAUSE_BUY: u8 = 1 << 0;
/// Pause flag: settling usage receipts.
pub const PAUSE_SETTLE: u8 = 1 << 1;
/// Pause flag: submitting contribution reports.
pub const PAUSE_REPORT: u8 = 1 << 2;
/// Pause flag: claiming rewards.
pub const PAUSE_CLAIM: u8 = 1 << 3;
/// Every defined pause flag.
pub const PAUSE_ALL: u8 = PAUSE_BUY | PAUSE_SETTLE | PAUSE_REPORT | PAUSE_CLAIM;
