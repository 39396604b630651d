//! The matching engine: one [`OrderBook`] per instrument, fed by [`OrderCommand`]s.
//!
//! Generic over the matching algorithm like the book, so the whole path from command to trade is
//! monomorphized. A book is created the first time its instrument is named; the engine asks its
//! algorithm source for a fresh algorithm instance then (cold path).

use crate::book::{BookEvent, OrderBook, RejectReason, StpPolicy};
use crate::instrument::InstrumentTable;
use crate::matching::MatchingAlgorithm;
use crate::orderflow::OrderCommand;
use crate::types::InstrumentId;

/// Makes a fresh algorithm instance for each new book.
pub type AlgorithmSource<M> = Box<dyn FnMut() -> M + Send>;

/// Books for every instrument, and the table that names them.
pub struct MatchingEngine<M> {
    instruments: InstrumentTable,
    books: Vec<OrderBook<M>>,
    new_algorithm: AlgorithmSource<M>,
    stp: StpPolicy,
    book_capacity: usize,
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
        MatchingEngine { instruments, books: Vec::new(), new_algorithm, stp, book_capacity: 1024 }
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

    /// The book of an instrument, creating it if needed.
    pub fn book_mut(&mut self, instrument: InstrumentId) -> &mut OrderBook<M> {
        let at = instrument.0 as usize;
        while self.books.len() <= at {
            let next = InstrumentId(self.books.len() as u32);
            let book = OrderBook::with_capacity(
                self.instruments.get(next).clone(),
                (self.new_algorithm)(),
                self.stp,
                self.book_capacity,
            );
            self.books.push(book);
        }
        &mut self.books[at]
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
                self.book_mut(instrument).submit(order, events);
                Some(instrument)
            }
            OrderCommand::Cancel { instrument, id } => match instrument.or_else(|| self.locate(id)) {
                Some(instrument) => {
                    self.book_mut(instrument).cancel(id, events);
                    Some(instrument)
                }
                None => {
                    events.push(BookEvent::Rejected { id, reason: RejectReason::UnknownId });
                    None
                }
            },
            OrderCommand::Modify { instrument, id, price, qty } => match instrument.or_else(|| self.locate(id)) {
                Some(instrument) => {
                    self.book_mut(instrument).modify(id, price, qty, events);
                    Some(instrument)
                }
                None => {
                    events.push(BookEvent::Rejected { id, reason: RejectReason::UnknownId });
                    None
                }
            },
        }
    }

    /// Finds the first book (in instrument order) holding `id`.
    #[cold]
    fn locate(&self, id: crate::types::OrderId) -> Option<InstrumentId> {
        self.books.iter().position(|book| book.contains(id)).map(|at| InstrumentId(at as u32))
    }

    /// Iterates over the books created so far, in instrument order.
    pub fn books(&self) -> impl Iterator<Item = (InstrumentId, &OrderBook<M>)> {
        self.books.iter().enumerate().map(|(at, book)| (InstrumentId(at as u32), book))
    }
}
