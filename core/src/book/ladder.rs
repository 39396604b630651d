//! One side of a book's price levels, indexed by tick.
//!
//! A dense array maps `tick − base` to a level index, with an occupancy bitmap beside it, so finding,
//! creating and removing a level are O(1) and finding the next-best level after the best empties
//! scans 64 ticks per instruction. The array grows (and re-bases) to cover the prices that rest; a
//! side spans at most [`MAX_SPAN_TICKS`] ticks between its lowest and highest resting price, and an
//! order that would rest outside that span is refused (`PriceOutOfRange`) rather than allocating
//! without bound.

use super::level::NIL;
use crate::types::Side;

/// Most ticks one side may span (4,194,304: 41,943.04 at a 0.01 tick; 41.94304 at 0.00001).
pub const MAX_SPAN_TICKS: i64 = 1 << 22;
const INITIAL_SPAN: i64 = 4096;

/// Price levels of one side, by tick.
#[derive(Clone, Debug)]
pub(crate) struct Ladder {
    side: Side,
    base: i64,
    slots: Vec<u32>,
    occupied: Vec<u64>,
    best: Option<i64>,
    count: usize,
}

impl Ladder {
    pub(crate) fn new(side: Side) -> Ladder {
        Ladder { side, base: 0, slots: Vec::new(), occupied: Vec::new(), best: None, count: 0 }
    }

    /// The level at `tick`, if one exists.
    #[inline]
    pub(crate) fn get(&self, tick: i64) -> Option<u32> {
        let at = tick.wrapping_sub(self.base);
        if at < 0 || at >= self.slots.len() as i64 {
            return None;
        }
        let level = self.slots[at as usize];
        (level != NIL).then_some(level)
    }

    /// The best tick (highest bid, lowest ask).
    #[inline]
    pub(crate) fn best_tick(&self) -> Option<i64> {
        self.best
    }

    /// The best level.
    #[inline]
    pub(crate) fn best(&self) -> Option<u32> {
        self.best.and_then(|tick| self.get(tick))
    }

    /// Number of levels.
    #[inline]
    pub(crate) fn len(&self) -> usize {
        self.count
    }

    /// Whether `tick` can hold a level without passing the span limit.
    #[inline]
    pub(crate) fn can_hold(&self, tick: i64) -> bool {
        // The array never grows past the limit, so anything inside it fits.
        let at = tick.wrapping_sub(self.base);
        (at >= 0 && at < self.slots.len() as i64) || self.can_hold_outside(tick)
    }

    #[cold]
    #[inline(never)]
    fn can_hold_outside(&self, tick: i64) -> bool {
        if self.count == 0 {
            return true;
        }
        let (low, high) = self.occupied_range();
        tick.max(high) - tick.min(low) < MAX_SPAN_TICKS
    }

    /// Puts `level` at an empty `tick`. The caller checked [`can_hold`](Self::can_hold).
    #[inline]
    pub(crate) fn insert(&mut self, tick: i64, level: u32) {
        let at = tick.wrapping_sub(self.base);
        if at < 0 || at >= self.slots.len() as i64 {
            self.cover(tick);
        }
        let at = (tick - self.base) as usize;
        debug_assert_eq!(self.slots[at], NIL, "a level already sits at tick {tick}");
        self.slots[at] = level;
        self.occupied[at / 64] |= 1 << (at % 64);
        self.count += 1;
        let better = match (self.best, self.side) {
            (None, _) => true,
            (Some(best), Side::Buy) => tick > best,
            (Some(best), Side::Sell) => tick < best,
        };
        if better {
            self.best = Some(tick);
        }
    }

    /// Removes the level at `tick`.
    #[inline]
    pub(crate) fn remove(&mut self, tick: i64) {
        let at = (tick - self.base) as usize;
        debug_assert_ne!(self.slots[at], NIL, "no level at tick {tick}");
        self.slots[at] = NIL;
        self.occupied[at / 64] &= !(1 << (at % 64));
        self.count -= 1;
        if self.best == Some(tick) {
            self.best = if self.count == 0 { None } else { self.next_worse(tick) };
        }
    }

    /// The first occupied tick strictly worse than `tick`.
    #[inline]
    pub(crate) fn next_worse(&self, tick: i64) -> Option<i64> {
        let at = tick - self.base;
        match self.side {
            Side::Buy => self.scan_down(at - 1),
            Side::Sell => self.scan_up(at + 1),
        }
        .map(|found| found + self.base)
    }

    /// Occupied ticks from the best, worse and worse.
    pub(crate) fn ticks_from_best(&self) -> impl Iterator<Item = i64> + '_ {
        std::iter::successors(self.best, move |&tick| self.next_worse(tick))
    }

    /// Highest occupied index at or below `from` (array index).
    fn scan_down(&self, from: i64) -> Option<i64> {
        if from < 0 || self.slots.is_empty() {
            return None;
        }
        let from = from.min(self.slots.len() as i64 - 1) as usize;
        let mut word = from / 64;
        let mut bits = self.occupied[word] & (u64::MAX >> (63 - from % 64));
        loop {
            if bits != 0 {
                return Some((word * 64 + 63 - bits.leading_zeros() as usize) as i64);
            }
            if word == 0 {
                return None;
            }
            word -= 1;
            bits = self.occupied[word];
        }
    }

    /// Lowest occupied index at or above `from` (array index).
    fn scan_up(&self, from: i64) -> Option<i64> {
        let from = from.max(0) as usize;
        if from >= self.slots.len() {
            return None;
        }
        let mut word = from / 64;
        let mut bits = self.occupied[word] & (u64::MAX << (from % 64));
        loop {
            if bits != 0 {
                return Some((word * 64 + bits.trailing_zeros() as usize) as i64);
            }
            word += 1;
            if word == self.occupied.len() {
                return None;
            }
            bits = self.occupied[word];
        }
    }

    fn occupied_range(&self) -> (i64, i64) {
        let low = self.scan_up(0).unwrap_or(0) + self.base;
        let high = self.scan_down(self.slots.len() as i64 - 1).unwrap_or(0) + self.base;
        (low, high)
    }

    /// Grows and re-bases the array so that `tick` is inside it, with room to spare on both sides.
    #[cold]
    #[inline(never)]
    fn cover(&mut self, tick: i64) {
        if self.count == 0 && !self.slots.is_empty() {
            // An empty side only moves its window: every slot is empty already. (A bar venue's
            // liquidity rests alone at each bar's open; with fine ticks each open is outside the
            // last window, and re-allocating it every bar cost more than the rest of the bar.)
            self.base = tick - self.slots.len() as i64 / 2;
            return;
        }
        let (low, high) = if self.count == 0 { (tick, tick) } else { self.occupied_range() };
        let (low, high) = (low.min(tick), high.max(tick));
        let span = high - low + 1;
        debug_assert!(span <= MAX_SPAN_TICKS, "callers check can_hold first");
        let len = ((span.max(INITIAL_SPAN) * 2) as u64).next_power_of_two().min(MAX_SPAN_TICKS as u64) as usize;
        let new_base = low - (len as i64 - span) / 2;
        let mut slots = vec![NIL; len];
        let mut occupied = vec![0u64; len.div_ceil(64)];
        // Only the occupied slots move: walk the bitmap a word at a time.
        for (word_at, &word) in self.occupied.iter().enumerate() {
            let mut bits = word;
            while bits != 0 {
                let at = word_at * 64 + bits.trailing_zeros() as usize;
                bits &= bits - 1;
                let moved = (at as i64 + self.base - new_base) as usize;
                slots[moved] = self.slots[at];
                occupied[moved / 64] |= 1 << (moved % 64);
            }
        }
        self.slots = slots;
        self.occupied = occupied;
        self.base = new_base;
    }

    /// Heap bytes held.
    pub(crate) fn heap_bytes(&self) -> usize {
        self.slots.capacity() * 4 + self.occupied.capacity() * 8
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn best_follows_inserts_and_removals_on_both_sides() {
        let mut bids = Ladder::new(Side::Buy);
        for (tick, level) in [(100, 0), (90, 1), (105, 2), (-3, 3)] {
            bids.insert(tick, level);
        }
        assert_eq!(bids.best_tick(), Some(105));
        assert_eq!(bids.ticks_from_best().collect::<Vec<_>>(), [105, 100, 90, -3]);
        bids.remove(105);
        assert_eq!(bids.best_tick(), Some(100));
        bids.remove(100);
        bids.remove(90);
        assert_eq!((bids.best_tick(), bids.get(-3)), (Some(-3), Some(3)));
        bids.remove(-3);
        assert_eq!((bids.best_tick(), bids.len()), (None, 0));

        let mut asks = Ladder::new(Side::Sell);
        for (tick, level) in [(100, 0), (5000, 1), (101, 2)] {
            asks.insert(tick, level);
        }
        assert_eq!(asks.ticks_from_best().collect::<Vec<_>>(), [100, 101, 5000]);
        asks.remove(100);
        asks.remove(101);
        assert_eq!(asks.best_tick(), Some(5000));
    }

    #[test]
    fn growing_keeps_levels_and_the_span_is_bounded() {
        let mut asks = Ladder::new(Side::Sell);
        asks.insert(10, 7);
        asks.insert(10 + 100_000, 8);
        asks.insert(10 - 50_000, 9);
        assert_eq!((asks.get(10), asks.get(100_010), asks.get(-49_990)), (Some(7), Some(8), Some(9)));
        assert_eq!(asks.best_tick(), Some(-49_990));
        assert!(asks.can_hold(-49_990 + MAX_SPAN_TICKS - 1));
        assert!(asks.slots.len() as i64 <= MAX_SPAN_TICKS);
        assert!(!asks.can_hold(-49_990 + MAX_SPAN_TICKS));
        assert!(!asks.can_hold(100_010 - MAX_SPAN_TICKS));
    }

    #[test]
    fn an_empty_side_moves_its_window_without_reallocating() {
        let mut bids = Ladder::new(Side::Buy);
        bids.insert(1_000, 1);
        bids.remove(1_000);
        let (len, slots) = (bids.slots.len(), bids.slots.as_ptr());
        // A level far outside the window, on an empty side: the same array, re-based.
        for (round, tick) in [5_000_000_000_i64, -7, 123_456_789].into_iter().enumerate() {
            bids.insert(tick, round as u32);
            assert_eq!((bids.get(tick), bids.best_tick(), bids.len()), (Some(round as u32), Some(tick), 1));
            assert_eq!((bids.slots.len(), bids.slots.as_ptr()), (len, slots), "not re-allocated");
            bids.remove(tick);
        }
        // Growing with levels resting still moves every one of them.
        for (at, tick) in [0_i64, 63, 64, 4_000, 9_000].into_iter().enumerate() {
            bids.insert(tick, at as u32);
        }
        bids.insert(40_000, 99);
        let kept: Vec<_> = bids.ticks_from_best().map(|t| (t, bids.get(t))).collect();
        assert_eq!(
            kept,
            [(40_000, Some(99)), (9_000, Some(4)), (4_000, Some(3)), (64, Some(2)), (63, Some(1)), (0, Some(0))]
        );
    }
}
