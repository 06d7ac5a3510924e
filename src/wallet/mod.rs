//! Tailors' money: payout accounts and Paystack Transfers.

pub mod payout_accounts;
pub mod transfers;
