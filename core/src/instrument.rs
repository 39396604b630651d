//! Instruments: what is traded, its tick size and its lot size, and the table that names them.
//!
//! A symbol that nobody declared gets [`Instrument::DEFAULT_TICK`] (0.01) and a lot of 1 unit, so a
//! quick replay works without an instrument file; declare instruments whose tick differs (FX pairs
//! quote in 0.00001) or whose lots are larger than one unit. A feed that reads prices may replace
//! that assumed tick with the one its data is quoted in ([`InstrumentTable::infer_tick`]); a
//! declared tick is never replaced.

use rustc_hash::FxHashMap;
use serde::{Deserialize, Serialize};

use crate::types::{InstrumentId, LotSize, Price};

/// A tradable instrument: its symbol, the price increment it quotes in and the units in one lot.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Instrument {
    /// The symbol, e.g. `EURUSD`.
    pub symbol: String,
    /// The smallest price increment; every order price must be a multiple of it.
    pub tick: Price,
    /// Units of the underlying in one lot, possibly a fraction (`0.001` BTC); notional = price ×
    /// qty × lot size.
    pub lot_size: LotSize,
    /// Where the tick came from (not part of any file format).
    #[serde(skip)]
    pub tick_origin: TickOrigin,
}

/// Where an instrument's tick came from, so that a run can say when it guessed (written in the
/// report as `declared`, `assumed` or `inferred`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum TickOrigin {
    /// Declared in the config (`[instruments.X] tick = ...`) or by the order-flow file.
    Declared,
    /// Nobody declared it: [`Instrument::DEFAULT_TICK`].
    #[default]
    Assumed,
    /// Nobody declared it; the feed read it from the precision of its data's prices.
    Inferred,
}

crate::plugin_params! {
    /// How an instrument is declared in a config file (`[instruments.EURUSD]`).
    #[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
    #[serde(deny_unknown_fields)]
    pub struct InstrumentSpec {
        /// The price increment, as decimal text (`"0.00001"`).
        #[serde(default = "default_tick")]
        pub tick: Price,
        /// Units in one lot: a number (`1000`) or a decimal string (`"0.001"`).
        #[serde(default = "default_lot_size")]
        pub lot_size: LotSize,
    }
}

fn default_tick() -> Price {
    Instrument::DEFAULT_TICK
}

fn default_lot_size() -> LotSize {
    LotSize::ONE
}

/// Why an instrument declaration is unusable.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum InstrumentError {
    /// The tick is zero or negative.
    #[error("instrument {symbol}: tick must be positive, got {tick}")]
    BadTick {
        /// The symbol declared.
        symbol: String,
        /// The tick given.
        tick: Price,
    },
    /// The lot size is zero or negative.
    #[error("instrument {symbol}: lot_size must be positive, got {lot_size}")]
    BadLotSize {
        /// The symbol declared.
        symbol: String,
        /// The lot size given.
        lot_size: LotSize,
    },
    /// The symbol is empty, longer than 64 bytes, or has characters outside `[A-Za-z0-9._/-]`.
    #[error("bad symbol {}: expected 1 to 64 letters, digits, '.', '_', '/' or '-'", crate::limits::excerpt(.symbol))]
    BadSymbol {
        /// The symbol given.
        symbol: String,
    },
    /// The lot size is above [`MAX_LOT_SIZE`](crate::limits::MAX_LOT_SIZE).
    #[error(
        "instrument {symbol}: lot_size {lot_size} is above the largest tradsys books ({})",
        crate::limits::MAX_LOT_SIZE
    )]
    LotSizeTooLarge {
        /// The symbol declared.
        symbol: String,
        /// The lot size given.
        lot_size: LotSize,
    },
    /// A new symbol would take the table past [`MAX_INSTRUMENTS`](crate::limits::MAX_INSTRUMENTS).
    #[error(
        "symbol {symbol}: more than {} instruments in one run; tradsys keeps a book and market state for each",
        crate::limits::MAX_INSTRUMENTS
    )]
    TooMany {
        /// The symbol that would have been one too many.
        symbol: String,
    },
}

impl Instrument {
    /// The tick an undeclared symbol gets: 0.01.
    pub const DEFAULT_TICK: Price = Price::from_raw(1_000_000);

    /// Declares an instrument, checking its tick, lot size and symbol.
    ///
    /// # Errors
    /// A non-positive tick or lot size, or a symbol outside `[A-Za-z0-9._/-]`.
    pub fn new(symbol: &str, tick: Price, lot_size: LotSize) -> Result<Instrument, InstrumentError> {
        if !is_valid_symbol(symbol) {
            return Err(InstrumentError::BadSymbol { symbol: symbol.to_owned() });
        }
        if tick.raw() <= 0 {
            return Err(InstrumentError::BadTick { symbol: symbol.to_owned(), tick });
        }
        if lot_size.raw() <= 0 {
            return Err(InstrumentError::BadLotSize { symbol: symbol.to_owned(), lot_size });
        }
        if lot_size > LotSize::from_units(crate::limits::MAX_LOT_SIZE) {
            return Err(InstrumentError::LotSizeTooLarge { symbol: symbol.to_owned(), lot_size });
        }
        Ok(Instrument { symbol: symbol.to_owned(), tick, lot_size, tick_origin: TickOrigin::Declared })
    }

    /// An undeclared symbol: tick 0.01, lot size 1.
    #[must_use]
    pub fn undeclared(symbol: &str) -> Instrument {
        Instrument {
            symbol: symbol.to_owned(),
            tick: Self::DEFAULT_TICK,
            lot_size: LotSize::ONE,
            tick_origin: TickOrigin::Assumed,
        }
    }
}

/// Whether a symbol is usable in files and JSON without quoting: `[A-Za-z0-9._/-]+`.
#[must_use]
pub fn is_valid_symbol(symbol: &str) -> bool {
    !symbol.is_empty()
        && symbol.len() <= 64
        && symbol.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'/' | b'-'))
}

/// The instruments known to a run, indexed by [`InstrumentId`], with symbol lookup.
#[derive(Clone, Debug, Default)]
pub struct InstrumentTable {
    instruments: Vec<Instrument>,
    by_symbol: FxHashMap<String, InstrumentId>,
}

impl InstrumentTable {
    /// Declares an instrument; a second declaration of the same symbol replaces the first.
    ///
    /// # Errors
    /// A new symbol when the table already holds [`MAX_INSTRUMENTS`](crate::limits::MAX_INSTRUMENTS).
    pub fn declare(&mut self, instrument: Instrument) -> Result<InstrumentId, InstrumentError> {
        if let Some(&id) = self.by_symbol.get(&instrument.symbol) {
            self.instruments[id.0 as usize] = instrument;
            return Ok(id);
        }
        if self.instruments.len() >= crate::limits::MAX_INSTRUMENTS {
            return Err(InstrumentError::TooMany { symbol: instrument.symbol });
        }
        let id = InstrumentId(self.instruments.len() as u32);
        self.by_symbol.insert(instrument.symbol.clone(), id);
        self.instruments.push(instrument);
        Ok(id)
    }

    /// Returns the id of `symbol`, declaring it with the defaults if it is new.
    ///
    /// # Errors
    /// The symbol has characters outside `[A-Za-z0-9._/-]`, or would be one instrument too many.
    pub fn resolve(&mut self, symbol: &str) -> Result<InstrumentId, InstrumentError> {
        if let Some(&id) = self.by_symbol.get(symbol) {
            return Ok(id);
        }
        if !is_valid_symbol(symbol) {
            return Err(InstrumentError::BadSymbol { symbol: symbol.to_owned() });
        }
        self.declare(Instrument::undeclared(symbol))
    }

    /// Gives an instrument nobody declared the tick its data is quoted in; returns the tick in
    /// force. A declared tick stays: the data is then checked against it instead.
    pub fn infer_tick(&mut self, id: InstrumentId, tick: Price) -> Option<Price> {
        let instrument = self.instruments.get_mut(id.0 as usize)?;
        if instrument.tick_origin != TickOrigin::Declared && tick.raw() > 0 {
            instrument.tick = tick;
            instrument.tick_origin = TickOrigin::Inferred;
        }
        Some(instrument.tick)
    }

    /// Forgets instruments declared after the first `len` (a refused run-time change declared them).
    pub(crate) fn truncate(&mut self, len: usize) {
        for instrument in self.instruments.drain(len.min(self.instruments.len())..) {
            self.by_symbol.remove(&instrument.symbol);
        }
    }

    /// Looks a symbol up without declaring it.
    #[must_use]
    pub fn find(&self, symbol: &str) -> Option<InstrumentId> {
        self.by_symbol.get(symbol).copied()
    }

    /// Returns the instrument with this id.
    ///
    /// # Panics
    /// If the id did not come from this table (an internal invariant).
    #[must_use]
    pub fn get(&self, id: InstrumentId) -> &Instrument {
        &self.instruments[id.0 as usize]
    }

    /// Returns the instrument with this id, or `None` for an id this table never issued (an id from
    /// a plugin is checked this way).
    #[must_use]
    pub fn try_get(&self, id: InstrumentId) -> Option<&Instrument> {
        self.instruments.get(id.0 as usize)
    }

    /// The number of instruments.
    #[must_use]
    pub fn len(&self) -> usize {
        self.instruments.len()
    }

    /// Whether no instrument is known.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.instruments.is_empty()
    }

    /// Iterates over the instruments in id order.
    pub fn iter(&self) -> impl Iterator<Item = (InstrumentId, &Instrument)> {
        self.instruments.iter().enumerate().map(|(i, inst)| (InstrumentId(i as u32), inst))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn undeclared_symbols_get_default_tick_and_lot() {
        let mut table = InstrumentTable::default();
        let id = table.resolve("XYZ").unwrap();
        assert_eq!(table.get(id).tick.to_string(), "0.01");
        assert_eq!(table.get(id).lot_size, LotSize::ONE);
        assert_eq!(table.resolve("XYZ").unwrap(), id);
    }

    #[test]
    fn an_inferred_tick_replaces_an_assumed_one_but_never_a_declared_one() {
        let mut table = InstrumentTable::default();
        let fine: Price = "0.00001".parse().unwrap();
        let assumed = table.resolve("EURUSD").unwrap();
        assert_eq!(table.infer_tick(assumed, fine), Some(fine));
        assert_eq!(table.get(assumed).tick_origin, TickOrigin::Inferred);
        let declared = table
            .declare(Instrument::new("GBPUSD", "0.0001".parse().unwrap(), LotSize::from_units(1)).unwrap())
            .unwrap();
        assert_eq!(table.infer_tick(declared, fine), Some("0.0001".parse().unwrap()));
        assert_eq!(table.get(declared).tick_origin, TickOrigin::Declared);
        assert_eq!(table.infer_tick(InstrumentId(9), fine), None);
    }

    #[test]
    fn declarations_are_checked() {
        assert!(matches!(
            Instrument::new("A", Price::ZERO, LotSize::from_units(1)),
            Err(InstrumentError::BadTick { .. })
        ));
        assert!(matches!(
            Instrument::new("A", Price::from_units(1), LotSize::from_units(0)),
            Err(InstrumentError::BadLotSize { .. })
        ));
        assert!(matches!(
            Instrument::new("a b", Price::from_units(1), LotSize::from_units(1)),
            Err(InstrumentError::BadSymbol { .. })
        ));
        assert!(matches!(
            Instrument::new("A", Price::from_units(1), LotSize::from_units(1 << 40)),
            Err(InstrumentError::LotSizeTooLarge { .. })
        ));
        let mut table = InstrumentTable::default();
        assert!(table.resolve("bad\"sym").is_err());
    }

    #[test]
    fn a_table_holds_at_most_max_instruments_and_names_the_one_too_many() {
        let mut table = InstrumentTable::default();
        for k in 0..crate::limits::MAX_INSTRUMENTS {
            table.resolve(&format!("S{k}")).unwrap();
        }
        assert_eq!(table.resolve("S0").unwrap(), InstrumentId(0), "a known symbol is still found");
        let error = table.resolve("ONE-MORE").unwrap_err();
        assert_eq!(
            error.to_string(),
            "symbol ONE-MORE: more than 1024 instruments in one run; tradsys keeps a book and market state for each"
        );
        assert_eq!(table.len(), crate::limits::MAX_INSTRUMENTS);
    }
}
