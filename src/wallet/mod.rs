//! Tailors' money: payout accounts and Paystack Transfers.

pub mod payout_accounts;
pub mod staff_actions;
pub mod transfers;
