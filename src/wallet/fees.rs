//! The platform's fee, in whole kobo.
//!
//! Rounding: the fee is rounded down, so the platform never takes a
//! fraction of a kobo the tailor was owed (₦100.05 at 10% is a fee of
//! 1,000 kobo, the tailor's share 9,005). A refund gives back the same share
//! of the fee as of the payment, counted on the running total refunded, so
//! however a payment is refunded in parts the fee given back never exceeds
//! the fee taken, and a payment refunded in full gives back exactly its fee
//! and takes back exactly the tailor's share.

/// Basis points in a whole (10,000 = 100%).
pub const BPS_WHOLE: i64 = 10_000;

/// The fee on `amount` kobo at `bps` basis points.
pub fn fee_of(amount: i64, bps: u32) -> i64 {
    if amount <= 0 {
        return 0;
    }
    let fee = i128::from(amount) * i128::from(bps.min(BPS_WHOLE as u32)) / i128::from(BPS_WHOLE);
    fee as i64
}

/// How a refund splits between the fee the platform gives back and the
/// share taken back from the tailor.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RefundSplit {
    pub fee: i64,
    pub tailor: i64,
}

/// A refund of `amount` out of a payment of `paid` that carried `fee`,
/// after `refunded_before` of it was refunded already.
pub fn refund_split(amount: i64, paid: i64, fee: i64, refunded_before: i64) -> RefundSplit {
    if amount <= 0 || paid <= 0 {
        return RefundSplit { fee: 0, tailor: 0 };
    }
    let share = |refunded: i64| {
        let refunded = refunded.clamp(0, paid);
        (i128::from(refunded) * i128::from(fee) / i128::from(paid)) as i64
    };
    let before = refunded_before.max(0);
    let fee_back = share(before.saturating_add(amount)) - share(before);
    RefundSplit {
        fee: fee_back,
        tailor: amount - fee_back,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_fee_is_rounded_down() {
        assert_eq!(fee_of(10_000, 1000), 1_000);
        assert_eq!(fee_of(10_005, 1000), 1_000);
        assert_eq!(fee_of(10_009, 1000), 1_000);
        assert_eq!(fee_of(9, 1000), 0);
        assert_eq!(fee_of(12_345, 250), 308); // 308.625
        assert_eq!(fee_of(10_000, 0), 0);
        assert_eq!(fee_of(10_000, 10_000), 10_000);
        assert_eq!(fee_of(10_000, 20_000), 10_000, "never above the whole");
        assert_eq!(fee_of(i64::MAX, 10_000), i64::MAX, "no overflow");
    }

    #[test]
    fn a_full_refund_gives_back_exactly_the_fee_and_the_share() {
        let (paid, fee) = (10_005, fee_of(10_005, 1000));
        assert_eq!(
            refund_split(paid, paid, fee, 0),
            RefundSplit {
                fee,
                tailor: paid - fee
            }
        );
    }

    #[test]
    fn refunds_in_parts_never_give_back_more_than_the_fee() {
        let (paid, fee) = (99_999, fee_of(99_999, 1234));
        for parts in [2i64, 3, 7, 13, 1000] {
            let mut before = 0;
            let (mut fee_back, mut tailor_back) = (0, 0);
            for i in 0..parts {
                let amount = if i == parts - 1 {
                    paid - before
                } else {
                    paid / parts
                };
                let split = refund_split(amount, paid, fee, before);
                assert!(split.fee >= 0 && split.tailor >= 0);
                assert_eq!(split.fee + split.tailor, amount);
                fee_back += split.fee;
                tailor_back += split.tailor;
                before += amount;
                assert!(fee_back <= fee);
            }
            assert_eq!((fee_back, tailor_back), (fee, paid - fee), "{parts} parts");
        }
    }
}
