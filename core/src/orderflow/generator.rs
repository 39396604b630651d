//! A deterministic synthetic order flow: same profile, count and seed give the same commands forever.
//!
//! The generator keeps a shadow order book per symbol (time-priority allocation) so that every cancel
//! and move names an order that is really resting: the flow exercises the book, not its reject path.
//!
//! Profiles:
//! - [`Profile::ExchangeCore`] models the single-symbol mix of the exchange-core benchmark: about
//!   1,000 resting orders over several hundred price levels; 9% GTC adds, 3% IOC takers, 6% cancels
//!   and 82% moves, where a move re-prices a resting order up to 5 ticks toward the last trade (and
//!   so sometimes crosses and trades).
//! - [`Profile::MultiSymbol`] spreads the same mix over many symbols, about 200 resting orders each.

use rustc_hash::FxHashMap;

use super::OrderCommand;
use crate::book::{BookEvent, LevelFills, NewOrder, OrderBook, StpPolicy};
use crate::instrument::{Instrument, InstrumentTable};
use crate::limits::MAX_INSTRUMENTS;
use crate::matching::MatchingAlgorithm;
use crate::rng::SplitMix64;
use crate::types::{InstrumentId, OrderId, OrderType, OwnerId, Price, Qty, Side, TimeInForce};

/// The shape of a generated flow.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Profile {
    /// One symbol, the exchange-core benchmark mix.
    ExchangeCore,
    /// Many symbols, the same mix.
    MultiSymbol,
}

impl std::str::FromStr for Profile {
    type Err = String;
    fn from_str(text: &str) -> Result<Profile, String> {
        match text {
            "exchange-core" => Ok(Profile::ExchangeCore),
            "multi-symbol" => Ok(Profile::MultiSymbol),
            other => Err(format!("unknown profile {other:?}; expected exchange-core or multi-symbol")),
        }
    }
}

/// What to generate.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct GeneratorConfig {
    /// The mix.
    pub profile: Profile,
    /// How many commands.
    pub count: u64,
    /// The seed.
    pub seed: u64,
    /// Symbols, for [`Profile::MultiSymbol`] (the exchange-core profile always has one): 1 to
    /// [`MAX_INSTRUMENTS`].
    pub symbols: u32,
}

impl GeneratorConfig {
    /// Checks the config without generating anything.
    ///
    /// # Errors
    /// A multi-symbol profile with no symbols or more than [`MAX_INSTRUMENTS`].
    pub fn validate(&self) -> Result<(), GeneratorError> {
        match self.profile {
            Profile::MultiSymbol if self.symbols == 0 || self.symbols as usize > MAX_INSTRUMENTS => {
                Err(GeneratorError::Symbols(self.symbols))
            }
            _ => Ok(()),
        }
    }
}

/// Why a generator could not be made.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum GeneratorError {
    /// The symbol count is 0 or above [`MAX_INSTRUMENTS`].
    #[error("symbols must be from 1 to {MAX_INSTRUMENTS}, got {0}")]
    Symbols(u32),
}

/// Resting orders per symbol the generator steers toward, and the spread of add prices in ticks.
const EXCHANGE_CORE_RESTING: usize = 1000;
const MULTI_SYMBOL_RESTING: usize = 200;
const ADD_DEPTH_TICKS: f64 = 750.0;
const OWNERS: u64 = 64;

#[derive(Debug, Default)]
struct ShadowTimePriority;

impl MatchingAlgorithm for ShadowTimePriority {
    fn match_level(&mut self, level: &mut LevelFills<'_>) {
        level.fill_rest_in_time_priority();
    }
}

#[derive(Debug)]
struct SymbolState {
    instrument: InstrumentId,
    book: OrderBook<ShadowTimePriority>,
    live: Vec<OrderId>,
    live_at: FxHashMap<OrderId, usize>,
    last_ticks: i64,
}

impl SymbolState {
    fn add_live(&mut self, id: OrderId) {
        if !self.live_at.contains_key(&id) {
            self.live_at.insert(id, self.live.len());
            self.live.push(id);
        }
    }

    fn remove_live(&mut self, id: OrderId) {
        if let Some(at) = self.live_at.remove(&id) {
            self.live.swap_remove(at);
            if let Some(&moved) = self.live.get(at) {
                self.live_at.insert(moved, at);
            }
        }
    }
}

/// Generates order-flow commands; an iterator of exactly `count` commands.
#[derive(Debug)]
pub struct OrderFlowGenerator {
    rng: SplitMix64,
    symbols: Vec<SymbolState>,
    instruments: InstrumentTable,
    target_resting: usize,
    next_id: u64,
    remaining: u64,
    events: Vec<BookEvent>,
}

impl OrderFlowGenerator {
    /// Makes a generator.
    ///
    /// # Errors
    /// A multi-symbol profile with no symbols or more than [`MAX_INSTRUMENTS`].
    pub fn new(config: GeneratorConfig) -> Result<OrderFlowGenerator, GeneratorError> {
        config.validate()?;
        let (n_symbols, target_resting) = match config.profile {
            Profile::ExchangeCore => (1, EXCHANGE_CORE_RESTING),
            Profile::MultiSymbol => (config.symbols, MULTI_SYMBOL_RESTING),
        };
        let mut instruments = InstrumentTable::default();
        let symbols = (0..n_symbols)
            .map(|k| {
                let symbol = if n_symbols == 1 { "XYZ".to_owned() } else { format!("S{k:03}") };
                let instrument = Instrument::undeclared(&symbol);
                // Within MAX_INSTRUMENTS (checked above), so the declaration cannot be refused.
                let id = instruments.declare(instrument.clone()).unwrap_or_default();
                SymbolState {
                    instrument: id,
                    book: OrderBook::with_capacity(instrument, ShadowTimePriority, StpPolicy::None, 2 * target_resting),
                    live: Vec::new(),
                    live_at: FxHashMap::default(),
                    last_ticks: 10_000 + 100 * i64::from(k),
                }
            })
            .collect();
        Ok(OrderFlowGenerator {
            rng: SplitMix64::new(config.seed),
            symbols,
            instruments,
            target_resting,
            next_id: 1,
            remaining: config.count,
            events: Vec::with_capacity(64),
        })
    }

    /// The instruments the flow trades (all with tick 0.01 and lot 1).
    #[must_use]
    pub fn instruments(&self) -> &InstrumentTable {
        &self.instruments
    }

    fn next_command(&mut self) -> OrderCommand {
        let symbol_idx = self.rng.below(self.symbols.len() as u64) as usize;
        let roll = self.rng.below(100);
        let live = self.symbols[symbol_idx].live.len();
        let wants = match roll {
            0..9 => Action::Add,
            9..12 => Action::Ioc,
            12..18 => Action::Cancel,
            _ => Action::Move,
        };
        let action = match wants {
            _ if live == 0 && matches!(wants, Action::Cancel | Action::Move) => Action::Add,
            Action::Cancel if live < self.target_resting * 9 / 10 => Action::Add,
            Action::Add if live > self.target_resting * 11 / 10 => Action::Cancel,
            other => other,
        };
        let tick = Instrument::DEFAULT_TICK;
        let state = &mut self.symbols[symbol_idx];
        let instrument = state.instrument;
        let command = match action {
            Action::Add | Action::Ioc => {
                let side = if self.rng.below(2) == 0 { Side::Buy } else { Side::Sell };
                let (ticks, tif, qty) = if action == Action::Add {
                    let depth = 1 + (self.rng.unit().powi(2) * (ADD_DEPTH_TICKS - 1.0)) as i64;
                    (state.last_ticks - side.sign() * depth, TimeInForce::Gtc, 1 + self.rng.below(100) as i64)
                } else {
                    let best = match side {
                        Side::Buy => state.book.best_ask(),
                        Side::Sell => state.book.best_bid(),
                    };
                    let top = best.map_or(state.last_ticks, |level| level.price.raw() / tick.raw());
                    (top + side.sign() * self.rng.below(3) as i64, TimeInForce::Ioc, 1 + self.rng.below(200) as i64)
                };
                let id = OrderId(self.next_id);
                self.next_id += 1;
                let order = NewOrder {
                    id,
                    side,
                    order_type: OrderType::Limit,
                    price: Some(Price::from_raw(ticks.max(1) * tick.raw())),
                    trigger: None,
                    qty: Qty(qty),
                    tif,
                    owner: OwnerId::new(1 + self.rng.below(OWNERS) as u32),
                };
                OrderCommand::New { instrument, order }
            }
            Action::Cancel => {
                let id = state.live[self.rng.below(live as u64) as usize];
                OrderCommand::Cancel { instrument: Some(instrument), id }
            }
            Action::Move => {
                let id = state.live[self.rng.below(live as u64) as usize];
                let current = state.book.order(id).map_or(state.last_ticks, |o| o.price.raw() / tick.raw());
                let distance = state.last_ticks - current;
                let step = 1 + self.rng.below(distance.unsigned_abs().clamp(1, 5)) as i64;
                let new_ticks = match distance.signum() {
                    0 => current + if self.rng.below(2) == 0 { 1 } else { -1 },
                    sign => current + sign * step,
                };
                let price = Some(Price::from_raw(new_ticks.max(1) * tick.raw()));
                OrderCommand::Modify { instrument: Some(instrument), id, price, qty: None }
            }
        };
        self.apply(symbol_idx, &command);
        command
    }

    /// Plays a command on the shadow book and keeps the live-order list and last price in step.
    fn apply(&mut self, symbol_idx: usize, command: &OrderCommand) {
        let state = &mut self.symbols[symbol_idx];
        self.events.clear();
        let id = command.id();
        match command {
            OrderCommand::New { order, .. } => state.book.submit(order, &mut self.events),
            OrderCommand::Cancel { id, .. } => state.book.cancel(*id, &mut self.events),
            OrderCommand::Modify { id, price, qty, .. } => state.book.modify(*id, *price, *qty, &mut self.events),
        }
        for event in &self.events {
            if let BookEvent::Trade(trade) = event {
                state.last_ticks = trade.price.raw() / Instrument::DEFAULT_TICK.raw();
                if !state.book.contains(trade.maker) {
                    state.remove_live(trade.maker);
                }
            }
        }
        if state.book.contains(id) {
            state.add_live(id);
        } else {
            state.remove_live(id);
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Action {
    Add,
    Ioc,
    Cancel,
    Move,
}

impl Iterator for OrderFlowGenerator {
    type Item = OrderCommand;

    fn next(&mut self) -> Option<OrderCommand> {
        if self.remaining == 0 {
            return None;
        }
        self.remaining -= 1;
        Some(self.next_command())
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        let n = usize::try_from(self.remaining).unwrap_or(usize::MAX);
        (n, Some(n))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn generate(profile: Profile, count: u64, seed: u64) -> Vec<OrderCommand> {
        OrderFlowGenerator::new(GeneratorConfig { profile, count, seed, symbols: 8 }).unwrap().collect()
    }

    #[test]
    fn symbol_counts_outside_one_to_max_instruments_are_refused_before_anything_is_allocated() {
        for symbols in [0, 1025, u32::MAX] {
            let config = GeneratorConfig { profile: Profile::MultiSymbol, count: 1, seed: 1, symbols };
            let error = OrderFlowGenerator::new(config).unwrap_err();
            assert_eq!(error.to_string(), format!("symbols must be from 1 to 1024, got {symbols}"));
        }
    }

    #[test]
    fn same_seed_same_flow_other_seed_other_flow() {
        assert_eq!(generate(Profile::ExchangeCore, 2000, 1), generate(Profile::ExchangeCore, 2000, 1));
        assert_ne!(generate(Profile::ExchangeCore, 2000, 1), generate(Profile::ExchangeCore, 2000, 2));
    }

    #[test]
    fn exchange_core_mix_and_book_shape() {
        let mut generator = OrderFlowGenerator::new(GeneratorConfig {
            profile: Profile::ExchangeCore,
            count: 200_000,
            seed: 3,
            symbols: 1,
        })
        .unwrap();
        let (mut adds, mut iocs, mut cancels, mut moves) = (0, 0, 0, 0);
        for command in generator.by_ref() {
            match command {
                OrderCommand::New { order, .. } if order.tif == TimeInForce::Ioc => iocs += 1,
                OrderCommand::New { .. } => adds += 1,
                OrderCommand::Cancel { .. } => cancels += 1,
                OrderCommand::Modify { .. } => moves += 1,
            }
        }
        let pct = |n: i32| f64::from(n) / 2000.0;
        assert!((7.0..12.0).contains(&pct(adds)), "adds {}%", pct(adds));
        assert!((2.0..4.0).contains(&pct(iocs)), "iocs {}%", pct(iocs));
        assert!((3.0..8.0).contains(&pct(cancels)), "cancels {}%", pct(cancels));
        assert!((78.0..86.0).contains(&pct(moves)), "moves {}%", pct(moves));
        let book = &generator.symbols[0].book;
        let (bids, asks) = book.level_count();
        assert!((800..1200).contains(&book.len()), "resting {}", book.len());
        assert!(bids + asks > 300, "levels {}", bids + asks);
        assert_eq!(generator.symbols[0].live.len(), book.len(), "the live list tracks the book");
    }

    #[test]
    fn multi_symbol_flow_uses_every_symbol() {
        let commands = generate(Profile::MultiSymbol, 20_000, 5);
        let mut seen = std::collections::BTreeSet::new();
        for command in &commands {
            if let OrderCommand::New { instrument, .. } = command {
                seen.insert(*instrument);
            }
        }
        assert_eq!(seen.len(), 8);
    }
}
