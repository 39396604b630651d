//! The matching engine: one [`OrderBook`] per instrument, fed by [`OrderCommand`]s.
//!
//! Generic over the matching algorithm like the book, so the whole path from command to trade is
//! monomorphized. A book is created the first time its instrument is named; the engine asks its
//! algorithm source for a fresh algorithm instance then (cold path). A command naming an instrument
//! the table never issued, or one whose book cannot be opened because the algorithm failed to build,
//! is rejected; the build failure is kept for the caller ([`MatchingEngine::take_fault`]). Nothing
//! here panics on bad input.

use crate::book::{BookEvent, OrderBook, RejectReason, StpPolicy};
use crate::instrument::InstrumentTable;
use crate::matching::MatchingAlgorithm;
use crate::orderflow::OrderCommand;
use crate::types::InstrumentId;

/// Makes a fresh algorithm instance for each new book; an error says why it could not.
pub type AlgorithmSource<M> = Box<dyn FnMut() -> Result<M, String> + Send>;

/// Books for every instrument, and the table that names them.
pub struct MatchingEngine<M> {
    instruments: InstrumentTable,
    books: Vec<OrderBook<M>>,
    new_algorithm: AlgorithmSource<M>,
    stp: StpPolicy,
    book_capacity: usize,
    fault: Option<String>,
}

impl<M: MatchingAlgorithm> std::fmt::Debug for MatchingEngine<M> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MatchingEngine").field("instruments", &self.instruments.len()).field("stp", &self.stp).finish()
    }
}

impl<M: MatchingAlgorithm> MatchingEngine<M> {
    /// Makes an engine; `new_algorithm` is called once per instrument.
    #[must_use]
    pub fn new(instruments: InstrumentTable, new_algorithm: AlgorithmSource<M>, stp: StpPolicy) -> MatchingEngine<M> {
        MatchingEngine { instruments, books: Vec::new(), new_algorithm, stp, book_capacity: 1024, fault: None }
    }

    /// Sets how many resting orders each new book has room for before it allocates.
    #[must_use]
    pub fn with_book_capacity(mut self, orders: usize) -> MatchingEngine<M> {
        self.book_capacity = orders;
        self
    }

    /// The instruments known so far.
    #[must_use]
    pub fn instruments(&self) -> &InstrumentTable {
        &self.instruments
    }

    /// The instruments, to resolve new symbols while parsing.
    pub fn instruments_mut(&mut self) -> &mut InstrumentTable {
        &mut self.instruments
    }

    /// The book of an instrument, opening it (and any before it) if needed; `None` for an unknown
    /// instrument or a book that could not be opened (the reason is kept, see [`Self::take_fault`]).
    pub fn book_mut(&mut self, instrument: InstrumentId) -> Option<&mut OrderBook<M>> {
        let at = instrument.0 as usize;
        while self.books.len() <= at {
            let next = InstrumentId(self.books.len() as u32);
            let spec = self.instruments.try_get(next)?.clone();
            match (self.new_algorithm)() {
                Ok(algorithm) => {
                    self.books.push(OrderBook::with_capacity(spec, algorithm, self.stp, self.book_capacity));
                }
                Err(reason) => {
                    self.fault = Some(format!("cannot open the book of {}: {reason}", spec.symbol));
                    return None;
                }
            }
        }
        self.books.get_mut(at)
    }

    /// Why a book could not be opened, once (cold: callers check after each command).
    #[inline]
    pub fn take_fault(&mut self) -> Option<String> {
        self.fault.as_ref()?;
        self.fault.take()
    }

    /// The book of an instrument, if it has one yet.
    #[must_use]
    pub fn book(&self, instrument: InstrumentId) -> Option<&OrderBook<M>> {
        self.books.get(instrument.0 as usize)
    }

    /// Executes a command, appending its effects to `events`; returns the instrument they belong to
    /// (`None` only for a cancel or modify without symbol whose id no book holds).
    #[inline]
    pub fn execute(&mut self, command: &OrderCommand, events: &mut Vec<BookEvent>) -> Option<InstrumentId> {
        match *command {
            OrderCommand::New { instrument, ref order } => {
                match self.book_mut(instrument) {
                    Some(book) => book.submit(order, events),
                    None => Self::refuse(&self.fault, order.id, events),
                }
                Some(instrument)
            }
            OrderCommand::Cancel { instrument, id } => match instrument.or_else(|| self.locate(id)) {
                Some(instrument) => {
                    match self.book_mut(instrument) {
                        Some(book) => book.cancel(id, events),
                        None => Self::refuse(&self.fault, id, events),
                    }
                    Some(instrument)
                }
                None => {
                    events.push(BookEvent::Rejected { id, reason: RejectReason::UnknownId });
                    None
                }
            },
            OrderCommand::Modify { instrument, id, price, qty } => match instrument.or_else(|| self.locate(id)) {
                Some(instrument) => {
                    match self.book_mut(instrument) {
                        Some(book) => book.modify(id, price, qty, events),
                        None => Self::refuse(&self.fault, id, events),
                    }
                    Some(instrument)
                }
                None => {
                    events.push(BookEvent::Rejected { id, reason: RejectReason::UnknownId });
                    None
                }
            },
        }
    }

    /// Rejects a command whose book is missing: unknown instrument, or a book that failed to open.
    #[cold]
    fn refuse(fault: &Option<String>, id: crate::types::OrderId, events: &mut Vec<BookEvent>) {
        let reason = if fault.is_some() { RejectReason::NoBook } else { RejectReason::UnknownInstrument };
        events.push(BookEvent::Rejected { id, reason });
    }

    /// Finds the first book (in instrument order) holding `id`, resting or waiting for its trigger.
    #[cold]
    fn locate(&self, id: crate::types::OrderId) -> Option<InstrumentId> {
        let holds = |book: &OrderBook<M>| book.contains(id) || book.waiting_stop(id).is_some();
        self.books.iter().position(holds).map(|at| InstrumentId(at as u32))
    }

    /// Iterates over the books created so far, in instrument order.
    pub fn books(&self) -> impl Iterator<Item = (InstrumentId, &OrderBook<M>)> {
        self.books.iter().enumerate().map(|(at, book)| (InstrumentId(at as u32), book))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::book::NewOrder;
    use crate::instrument::Instrument;
    use crate::matching::MatchingAlgorithm;
    use crate::types::{OrderId, OrderType, Price, Qty, Side, TimeInForce};

    #[derive(Debug)]
    struct Fifo;
    impl MatchingAlgorithm for Fifo {
        fn match_level(&mut self, level: &mut crate::book::LevelFills<'_>) {
            level.fill_rest_in_time_priority();
        }
    }

    fn new_order(instrument: u32) -> OrderCommand {
        let order = NewOrder {
            id: OrderId(1),
            side: Side::Buy,
            order_type: OrderType::Limit,
            price: Some(Price::from_units(1)),
            trigger: None,
            qty: Qty(1),
            tif: TimeInForce::Gtc,
            owner: None,
        };
        OrderCommand::New { instrument: InstrumentId(instrument), order }
    }

    fn table() -> InstrumentTable {
        let mut table = InstrumentTable::default();
        table.declare(Instrument::new("A", Price::from_units(1), crate::types::LotSize::ONE).unwrap()).unwrap();
        table
    }

    #[test]
    fn an_unknown_instrument_is_rejected_not_a_panic() {
        let mut engine = MatchingEngine::new(table(), Box::new(|| Ok(Fifo)), StpPolicy::None);
        let mut events = Vec::new();
        engine.execute(&new_order(7), &mut events);
        assert_eq!(events, [BookEvent::Rejected { id: OrderId(1), reason: RejectReason::UnknownInstrument }]);
        assert_eq!(engine.take_fault(), None);
    }

    #[test]
    fn a_failed_algorithm_build_rejects_and_is_kept_as_the_fault() {
        let mut engine: MatchingEngine<Fifo> =
            MatchingEngine::new(table(), Box::new(|| Err("refused".to_owned())), StpPolicy::None);
        let mut events = Vec::new();
        engine.execute(&new_order(0), &mut events);
        assert_eq!(events, [BookEvent::Rejected { id: OrderId(1), reason: RejectReason::NoBook }]);
        assert_eq!(engine.take_fault().as_deref(), Some("cannot open the book of A: refused"));
        assert_eq!(engine.take_fault(), None);
    }
}
