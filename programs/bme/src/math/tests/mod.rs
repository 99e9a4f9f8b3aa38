//! Unit and property tests of the pure math, one file per math module.

// Tests compute expected values with plain operators: an overflow there is a test bug
// and panicking on it is what we want.
#![allow(clippy::arithmetic_side_effects)]

mod price;
mod rewards;
mod schedule;
