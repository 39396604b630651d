//! Feeds: sources of market data, streamed one event at a time.

use super::Waker;
use crate::instrument::{InstrumentError, InstrumentTable};
use crate::market::MarketEvent;
use crate::types::InstrumentId;

/// What a feed produces, which decides how the session runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum FeedData {
    /// OHLCV bars: the venue is seeded with liquidity at each bar's open.
    Bars,
    /// Order-flow commands: replayed into the book; strategies trade against them.
    OrderFlow,
}

/// A feed that cannot go on (I/O failure, or a bad row in strict mode).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct FeedError(pub String);

/// Rows a feed skipped: how many, and the first few messages.
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize)]
pub struct BadRows {
    /// Rows skipped.
    pub count: u64,
    /// The first [`BadRows::KEPT`] messages, each naming its source and line.
    pub first: Vec<String>,
}

impl BadRows {
    /// Messages kept for the report.
    pub const KEPT: usize = 20;
    /// Messages quoted in the one summary warning.
    pub const SHOWN: usize = 5;

    /// Records a skipped row (its message names the source and line). Nothing is logged per row:
    /// [`summarize`](Self::summarize) says it once, with the count.
    pub fn record(&mut self, message: String) {
        self.count += 1;
        if self.first.len() < Self::KEPT {
            self.first.push(message);
        }
    }

    /// Adds rows recorded elsewhere (a feed that read ahead before it had a context), keeping
    /// their messages in order after these.
    pub fn absorb(&mut self, other: BadRows) {
        self.count += other.count;
        let room = Self::KEPT.saturating_sub(self.first.len());
        self.first.extend(other.first.into_iter().take(room));
    }

    /// One warning for every row recorded: how many, and the first few messages. Nothing when no
    /// row was bad.
    pub fn summarize(&self) {
        if self.count == 0 {
            return;
        }
        let shown: Vec<&str> = self.first.iter().take(Self::SHOWN).map(String::as_str).collect();
        let more = if self.count > shown.len() as u64 {
            format!(" (and {} more)", self.count - shown.len() as u64)
        } else {
            String::new()
        };
        tracing::warn!("{} bad input rows skipped: {}{more}", self.count, shown.join("; "));
    }
}

/// What a feed may use while it reads: symbols resolved to instruments, bad rows recorded. Read
/// through methods, so the session decides what a feed can reach.
#[derive(Debug)]
pub struct FeedContext<'a> {
    instruments: &'a mut InstrumentTable,
    bad_rows: &'a mut BadRows,
    waker: Option<&'a Waker>,
}

impl<'a> FeedContext<'a> {
    /// A context over the session's instruments and bad-row record.
    pub fn new(instruments: &'a mut InstrumentTable, bad_rows: &'a mut BadRows) -> FeedContext<'a> {
        FeedContext { instruments, bad_rows, waker: None }
    }

    /// The same context, with the waker of the session that waits when the feed is pending.
    #[must_use]
    pub fn waking(self, waker: &'a Waker) -> FeedContext<'a> {
        FeedContext { waker: Some(waker), ..self }
    }

    /// What wakes the session once an event has arrived, for a live feed to hand to its receiving
    /// thread; `None` when no session waits (a test driving the feed itself).
    #[must_use]
    pub fn waker(&self) -> Option<Waker> {
        self.waker.cloned()
    }

    /// Resolves a symbol met in the data, declaring it with default tick and lot if it is new.
    ///
    /// # Errors
    /// A bad symbol, or one instrument too many.
    pub fn instrument(&mut self, symbol: &str) -> Result<InstrumentId, InstrumentError> {
        self.instruments.resolve(symbol)
    }

    /// The instruments known so far (a parser that resolves symbols itself takes them mutably).
    pub fn instruments_mut(&mut self) -> &mut InstrumentTable {
        self.instruments
    }

    /// Records a skipped row; its message names the source and line.
    pub fn skip_row(&mut self, message: String) {
        self.bad_rows.record(message);
    }

    /// Records rows the feed skipped while reading ahead (during `init`, say).
    pub fn skip_rows(&mut self, rows: BadRows) {
        self.bad_rows.absorb(rows);
    }
}

/// How a live feed's source is doing ([`Feed::health`]): what `/health`, the report and the
/// metrics say of the feed. A file or a generator has no connection: the default, all `None`.
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize)]
pub struct FeedHealth {
    /// Whether it is connected to its source now.
    pub connected: Option<bool>,
    /// Times it lost its source and got it back.
    pub reconnects: u64,
}

/// What a feed has now ([`Feed::poll_event`]).
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum FeedPoll {
    /// The next event.
    Ready(MarketEvent),
    /// Nothing yet: a live feed waiting for the world. The feed wakes the session
    /// ([`FeedContext::waker`]) when something arrives.
    Pending,
    /// The feed has ended.
    Ended,
}

/// A source of market data.
///
/// A file or a generator implements [`next_event`](Feed::next_event) only: its next event is
/// always ready. A live source (a subscription) also implements
/// [`poll_event`](Feed::poll_event), which never blocks, so the session can answer its commands
/// while no data arrives.
///
/// ```
/// use tradsys_core::instrument::InstrumentTable;
/// use tradsys_core::prelude::*;
///
/// /// Three flat bars of `XYZ`, a minute apart.
/// struct Three {
///     instrument: InstrumentId,
///     sent: i64,
/// }
///
/// impl Feed for Three {
///     fn init(&mut self, ctx: &mut InitContext<'_>) -> Result<(), ComponentError> {
///         self.instrument = ctx.instrument("XYZ")?;
///         Ok(())
///     }
///
///     fn data(&self) -> FeedData {
///         FeedData::Bars
///     }
///
///     fn next_event(&mut self, _ctx: &mut FeedContext<'_>) -> Result<Option<MarketEvent>, FeedError> {
///         if self.sent == 3 {
///             return Ok(None);
///         }
///         self.sent += 1;
///         let price = Price::from_units(100);
///         let ts = Timestamp(self.sent * 60_000_000_000);
///         let bar = Bar { ts, instrument: self.instrument, open: price, high: price, low: price, close: price, volume: 1.0 };
///         Ok(Some(MarketEvent::Bar(bar)))
///     }
/// }
///
/// let mut feed = Three { instrument: InstrumentId(0), sent: 0 };
/// let mut instruments = InstrumentTable::default();
/// feed.init(&mut InitContext::new("feed", &mut instruments, 0)).unwrap();
/// let mut bad_rows = BadRows::default();
/// let mut ctx = FeedContext::new(&mut instruments, &mut bad_rows);
/// let mut events = 0;
/// while feed.next_event(&mut ctx).unwrap().is_some() {
///     events += 1;
/// }
/// assert_eq!(events, 3);
/// ```
pub trait Feed: Send {
    super::lifecycle_hooks!();

    /// What the feed produces.
    fn data(&self) -> FeedData;

    /// The next event, or `None` at the end; waits for it if it has not arrived. Bad rows are
    /// recorded in `ctx` and skipped.
    ///
    /// # Errors
    /// The feed cannot go on.
    fn next_event(&mut self, ctx: &mut FeedContext<'_>) -> Result<Option<MarketEvent>, FeedError>;

    /// The next event if it is there, without waiting: [`FeedPoll::Pending`] when it has not
    /// arrived yet, after which the feed wakes the session through [`FeedContext::waker`] as soon
    /// as something arrives (or the feed ends or fails). The session calls this one, in every
    /// mode; the default asks [`next_event`](Feed::next_event), for feeds that never wait.
    ///
    /// # Errors
    /// The feed cannot go on.
    fn poll_event(&mut self, ctx: &mut FeedContext<'_>) -> Result<FeedPoll, FeedError> {
        Ok(match self.next_event(ctx)? {
            Some(event) => FeedPoll::Ready(event),
            None => FeedPoll::Ended,
        })
    }

    /// How its source is doing; a feed with a connection says whether it has one now and how
    /// often it reconnected. The default has nothing to say.
    fn health(&self) -> FeedHealth {
        FeedHealth::default()
    }
}
