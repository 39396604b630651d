//! Prices to ticks without a hardware division.
//!
//! Every order and every move the book takes turns a price into its tick and checks that the price
//! is on the tick: `price / tick` and `price % tick`, one 64-bit division (tens of cycles, and the
//! single slowest instruction of a `modify`). The tick size is fixed for a book's life, so the
//! division is done once, when the book is made, as a multiplicative inverse (the exact-division
//! method of Granlund and Montgomery): split the tick into `odd << shift`; a price is on the tick
//! when its low `shift` bits are zero and `(price >> shift) × odd⁻¹ mod 2⁶⁴` is at most
//! `u64::MAX / odd`, and that product is then the quotient itself.

/// Divides positive prices by one tick size, exactly.
#[derive(Clone, Copy, Debug)]
pub(crate) struct TickDivider {
    /// Trailing zero bits of the tick size.
    shift: u32,
    /// The inverse of the tick's odd part, modulo 2⁶⁴.
    odd_inverse: u64,
    /// The largest quotient by the odd part: a larger product means a remainder.
    odd_limit: u64,
}

impl TickDivider {
    /// A divider for `tick` raw units. A tick that is not positive (which [`Instrument`]'s
    /// constructors refuse) has no price on it: every price is off the tick.
    ///
    /// [`Instrument`]: crate::instrument::Instrument
    pub(crate) fn new(tick: i64) -> TickDivider {
        if tick <= 0 {
            return TickDivider { shift: 0, odd_inverse: 1, odd_limit: 0 };
        }
        let shift = tick.trailing_zeros();
        let odd = (tick as u64) >> shift;
        // Newton's iteration doubles the correct low bits: an odd number is its own inverse to 3
        // bits, so five steps give 96 ≥ 64.
        let mut inverse = odd;
        for _ in 0..5 {
            inverse = inverse.wrapping_mul(2u64.wrapping_sub(odd.wrapping_mul(inverse)));
        }
        debug_assert_eq!(odd.wrapping_mul(inverse), 1);
        TickDivider { shift, odd_inverse: inverse, odd_limit: u64::MAX / odd }
    }

    /// `price / tick` when the positive `price` is a whole number of ticks, else `None`.
    #[inline]
    pub(crate) fn ticks(&self, price: i64) -> Option<i64> {
        debug_assert!(price > 0, "only positive prices are divided");
        let price = price as u64;
        if price.trailing_zeros() < self.shift {
            return None;
        }
        let quotient = (price >> self.shift).wrapping_mul(self.odd_inverse);
        // A positive i64 over a positive tick fits an i64.
        (quotient <= self.odd_limit).then_some(quotient as i64)
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    fn by_division(price: i64, tick: i64) -> Option<i64> {
        (price % tick == 0).then_some(price / tick)
    }

    #[test]
    fn on_and_off_the_tick_at_the_edges() {
        for tick in [1, 2, 3, 5, 7, 10, 64, 1_000_000, 25_000_000, (1 << 62) + 1, i64::MAX] {
            let divider = TickDivider::new(tick);
            let near = [tick.checked_sub(1), Some(tick), tick.checked_add(1), tick.checked_mul(2).map(|p| p - 1)];
            for price in [Some(1), Some(2), Some(i64::MAX - 1), Some(i64::MAX)].into_iter().chain(near).flatten() {
                if price > 0 {
                    assert_eq!(divider.ticks(price), by_division(price, tick), "{price} / {tick}");
                }
            }
            if let Some(multiple) = tick.checked_mul(12_345) {
                assert_eq!(divider.ticks(multiple), Some(12_345), "{multiple} / {tick}");
            }
        }
    }

    #[test]
    fn a_tick_that_is_not_positive_has_no_prices() {
        assert_eq!(TickDivider::new(0).ticks(100), None);
        assert_eq!(TickDivider::new(-5).ticks(10), None);
    }

    proptest! {
        #[test]
        fn matches_hardware_division(price in 1..=i64::MAX, tick in 1..=i64::MAX) {
            prop_assert_eq!(TickDivider::new(tick).ticks(price), by_division(price, tick));
        }

        #[test]
        fn matches_hardware_division_for_price_like_ticks(
            ticks in 1i64..1_000_000_000_000,
            tick in prop::sample::select(vec![1i64, 5, 10, 25, 100, 500, 1_000, 1_000_000, 1_250_000, 3]),
            off in 0i64..3,
        ) {
            if let Some(price) = ticks.checked_mul(tick).and_then(|p| p.checked_add(off)) {
                prop_assert_eq!(TickDivider::new(tick).ticks(price), by_division(price, tick));
            }
        }
    }
}
