//! One side of a book's price levels, stored inline by tick.
//!
//! A dense array holds the level of every tick from `base` on, with an occupancy bitmap beside it:
//! finding, creating and removing a level are O(1) and touch the level itself, and finding the
//! next-best level after the best empties scans 64 ticks per instruction. Levels near the best sit
//! next to each other in memory, so the commands of a busy book touch few cache lines. The array grows
//! (and re-bases) to cover the prices that rest; a side spans at most [`MAX_SPAN_TICKS`] ticks
//! between its lowest and highest resting price, and an order that would rest outside that span is
//! refused (`PriceOutOfRange`) rather than allocating without bound. The array costs
//! `size_of::<Level>()` (24) bytes a tick of span: 96 KiB a side to start with, 96 MiB at the limit.

use super::level::Level;
use crate::types::Side;

/// Most ticks one side may span (4,194,304: 41,943.04 at a 0.01 tick; 41.94304 at 0.00001).
pub const MAX_SPAN_TICKS: i64 = 1 << 22;
const INITIAL_SPAN: i64 = 4096;

/// Price levels of one side, by tick.
#[derive(Clone, Debug)]
pub(crate) struct Ladder {
    side: Side,
    base: i64,
    levels: Vec<Level>,
    occupied: Vec<u64>,
    best: Option<i64>,
    count: usize,
}

impl Ladder {
    pub(crate) fn new(side: Side) -> Ladder {
        Ladder { side, base: 0, levels: Vec::new(), occupied: Vec::new(), best: None, count: 0 }
    }

    /// The array index of `tick`, if the array covers it.
    #[inline]
    fn index(&self, tick: i64) -> Option<usize> {
        let at = tick.wrapping_sub(self.base);
        (at >= 0 && at < self.levels.len() as i64).then_some(at as usize)
    }

    #[inline]
    fn is_occupied_at(&self, at: usize) -> bool {
        self.occupied[at / 64] & (1 << (at % 64)) != 0
    }

    /// The level at `tick`, if one exists.
    #[inline]
    pub(crate) fn get(&self, tick: i64) -> Option<&Level> {
        let at = self.index(tick)?;
        self.is_occupied_at(at).then(|| &self.levels[at])
    }

    /// The level at an occupied `tick`.
    ///
    /// # Panics
    /// `tick` is outside the array (a caller's bug: it holds a tick no level was made at).
    #[inline]
    pub(crate) fn level(&self, tick: i64) -> &Level {
        debug_assert!(self.get(tick).is_some(), "no level at tick {tick}");
        &self.levels[tick.wrapping_sub(self.base) as usize]
    }

    /// The level at an occupied `tick`, to change.
    ///
    /// # Panics
    /// As [`level`](Self::level).
    #[inline]
    pub(crate) fn level_mut(&mut self, tick: i64) -> &mut Level {
        debug_assert!(self.get(tick).is_some(), "no level at tick {tick}");
        &mut self.levels[tick.wrapping_sub(self.base) as usize]
    }

    /// The best tick (highest bid, lowest ask).
    #[inline]
    pub(crate) fn best_tick(&self) -> Option<i64> {
        self.best
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
        self.index(tick).is_some() || self.can_hold_outside(tick)
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

    /// The level at `tick`, made (empty) if there is none. The caller checked
    /// [`can_hold`](Self::can_hold).
    #[inline]
    pub(crate) fn level_or_insert(&mut self, tick: i64) -> &mut Level {
        let at = match self.index(tick) {
            Some(at) => at,
            None => self.cover(tick),
        };
        // A level with orders is occupied; only an empty one needs its bit looked at.
        if self.levels[at].count == 0 && !self.is_occupied_at(at) {
            self.occupy(at, tick);
        }
        &mut self.levels[at]
    }

    fn occupy(&mut self, at: usize, tick: i64) {
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
        debug_assert!(self.is_occupied_at(at), "no level at tick {tick}");
        self.levels[at] = Level::EMPTY;
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
        if from < 0 || self.levels.is_empty() {
            return None;
        }
        let from = from.min(self.levels.len() as i64 - 1) as usize;
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
        if from >= self.levels.len() {
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
        let high = self.scan_down(self.levels.len() as i64 - 1).unwrap_or(0) + self.base;
        (low, high)
    }

    /// Grows and re-bases the array so that `tick` is inside it, with room to spare on both sides;
    /// returns `tick`'s index.
    #[cold]
    #[inline(never)]
    fn cover(&mut self, tick: i64) -> usize {
        if self.count == 0 && !self.levels.is_empty() {
            // An empty side only moves its window: every level is empty already. (A bar venue's
            // liquidity rests alone at each bar's open; with fine ticks each open is outside the
            // last window, and re-allocating it every bar cost more than the rest of the bar.)
            self.base = tick - self.levels.len() as i64 / 2;
            return (tick - self.base) as usize;
        }
        let (low, high) = if self.count == 0 { (tick, tick) } else { self.occupied_range() };
        let (low, high) = (low.min(tick), high.max(tick));
        let span = high - low + 1;
        debug_assert!(span <= MAX_SPAN_TICKS, "callers check can_hold first");
        let len = ((span.max(INITIAL_SPAN) * 2) as u64).next_power_of_two().min(MAX_SPAN_TICKS as u64) as usize;
        let new_base = low - (len as i64 - span) / 2;
        let mut levels = vec![Level::EMPTY; len];
        let mut occupied = vec![0u64; len.div_ceil(64)];
        // Only the occupied levels move: walk the bitmap a word at a time.
        for (word_at, &word) in self.occupied.iter().enumerate() {
            let mut bits = word;
            while bits != 0 {
                let at = word_at * 64 + bits.trailing_zeros() as usize;
                bits &= bits - 1;
                let moved = (at as i64 + self.base - new_base) as usize;
                levels[moved] = self.levels[at];
                occupied[moved / 64] |= 1 << (moved % 64);
            }
        }
        self.levels = levels;
        self.occupied = occupied;
        self.base = new_base;
        (tick - self.base) as usize
    }

    /// Heap bytes held.
    pub(crate) fn heap_bytes(&self) -> usize {
        self.levels.capacity() * size_of::<Level>() + self.occupied.capacity() * 8
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::types::Qty;

    /// Makes the level at `tick` and tags it with `tag` lots, so a test can tell levels apart.
    fn insert(ladder: &mut Ladder, tick: i64, tag: i64) {
        assert!(ladder.can_hold(tick), "tick {tick} fits");
        ladder.level_or_insert(tick).total = Qty(tag);
    }

    fn tag(ladder: &Ladder, tick: i64) -> Option<i64> {
        ladder.get(tick).map(|level| level.total.0)
    }

    #[test]
    fn best_follows_inserts_and_removals_on_both_sides() {
        let mut bids = Ladder::new(Side::Buy);
        for (tick, level) in [(100, 0), (90, 1), (105, 2), (-3, 3)] {
            insert(&mut bids, tick, level);
        }
        assert_eq!(bids.best_tick(), Some(105));
        assert_eq!(bids.ticks_from_best().collect::<Vec<_>>(), [105, 100, 90, -3]);
        bids.remove(105);
        assert_eq!((bids.best_tick(), bids.get(105)), (Some(100), None));
        bids.remove(100);
        bids.remove(90);
        assert_eq!((bids.best_tick(), tag(&bids, -3)), (Some(-3), Some(3)));
        bids.remove(-3);
        assert_eq!((bids.best_tick(), bids.len()), (None, 0));

        let mut asks = Ladder::new(Side::Sell);
        for (tick, level) in [(100, 0), (5000, 1), (101, 2)] {
            insert(&mut asks, tick, level);
        }
        assert_eq!(asks.ticks_from_best().collect::<Vec<_>>(), [100, 101, 5000]);
        asks.remove(100);
        asks.remove(101);
        assert_eq!(asks.best_tick(), Some(5000));
    }

    #[test]
    fn an_existing_level_is_found_not_made_again_even_while_empty() {
        let mut asks = Ladder::new(Side::Sell);
        insert(&mut asks, 7, 5);
        // Matching may empty a level's orders before the book removes it: it is still the level.
        asks.level_mut(7).total = Qty(0);
        asks.level_or_insert(7).total = Qty(9);
        assert_eq!((asks.len(), tag(&asks, 7)), (1, Some(9)));
        // A removed level comes back empty.
        asks.remove(7);
        assert_eq!(*asks.level_or_insert(7), Level::EMPTY);
        assert_eq!((asks.len(), asks.best_tick()), (1, Some(7)));
    }

    #[test]
    fn growing_keeps_levels_and_the_span_is_bounded() {
        let mut asks = Ladder::new(Side::Sell);
        insert(&mut asks, 10, 7);
        insert(&mut asks, 10 + 100_000, 8);
        insert(&mut asks, 10 - 50_000, 9);
        assert_eq!((tag(&asks, 10), tag(&asks, 100_010), tag(&asks, -49_990)), (Some(7), Some(8), Some(9)));
        assert_eq!(asks.best_tick(), Some(-49_990));
        assert!(asks.can_hold(-49_990 + MAX_SPAN_TICKS - 1));
        assert!(asks.levels.len() as i64 <= MAX_SPAN_TICKS);
        assert!(!asks.can_hold(-49_990 + MAX_SPAN_TICKS));
        assert!(!asks.can_hold(100_010 - MAX_SPAN_TICKS));
    }

    #[test]
    fn an_empty_side_moves_its_window_without_reallocating() {
        let mut bids = Ladder::new(Side::Buy);
        insert(&mut bids, 1_000, 1);
        bids.remove(1_000);
        let (len, levels) = (bids.levels.len(), bids.levels.as_ptr());
        // A level far outside the window, on an empty side: the same array, re-based.
        for (round, tick) in [5_000_000_000_i64, -7, 123_456_789].into_iter().enumerate() {
            insert(&mut bids, tick, round as i64);
            assert_eq!((tag(&bids, tick), bids.best_tick(), bids.len()), (Some(round as i64), Some(tick), 1));
            assert_eq!((bids.levels.len(), bids.levels.as_ptr()), (len, levels), "not re-allocated");
            bids.remove(tick);
        }
        // Growing with levels resting still moves every one of them.
        for (at, tick) in [0_i64, 63, 64, 4_000, 9_000].into_iter().enumerate() {
            insert(&mut bids, tick, at as i64 + 1);
        }
        insert(&mut bids, 40_000, 99);
        let kept: Vec<_> = bids.ticks_from_best().map(|t| (t, tag(&bids, t))).collect();
        assert_eq!(
            kept,
            [(40_000, Some(99)), (9_000, Some(5)), (4_000, Some(4)), (64, Some(3)), (63, Some(2)), (0, Some(1))]
        );
        // Every tick the move left behind is empty and unoccupied.
        assert_eq!(bids.levels.iter().filter(|level| **level != Level::EMPTY).count(), 6);
    }
}
