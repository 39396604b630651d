//! A market tape: a feed's whole output, read once and replayed by many sessions.
//!
//! A parameter sweep runs the same data hundreds of times. Reading and parsing the file is then
//! most of the work, and it is the same work every time: [`Session::record_tape`] runs the feed of
//! one session to its end and keeps its events and the instruments it declared; each run of the
//! sweep then gets a feed that replays the tape ([`MarketTape::feed_descriptor`], substituted for
//! the configured feed in its plan). A replayed session sees exactly what the file's feed would
//! have given it: the same instruments, in the same order, with the same ticks, and the same
//! events. [`MarketTape::window`] cuts a time range out of it without copying (`--from`/`--to`,
//! walk-forward windows).

use std::borrow::Cow;
use std::sync::Arc;

use figment::value::Dict;

use super::{Session, SessionError};
use crate::component::{ComponentError, Feed, FeedContext, FeedData, FeedError, FeedPoll, InitContext};
use crate::instrument::{Instrument, TickOrigin};
use crate::market::MarketEvent;
use crate::matching::MatchingAlgorithm;
use crate::plugin::{BuildError, Builder, ComponentDescriptor, Instance, LoadedComponent, ParamError};
use crate::types::Timestamp;

/// A recorded feed: what it produced, the instruments it declared, and a window onto its events.
#[derive(Clone, Debug)]
pub struct MarketTape {
    recorded: Arc<Recorded>,
    /// The window: `events[start..end]`.
    start: usize,
    end: usize,
}

#[derive(Debug)]
struct Recorded {
    mode: FeedData,
    instruments: Vec<Instrument>,
    events: Vec<MarketEvent>,
}

impl MarketTape {
    /// Whether the feed gives bars or order flow.
    #[must_use]
    pub fn mode(&self) -> FeedData {
        self.recorded.mode
    }

    /// The events in the window, in feed order.
    #[must_use]
    pub fn events(&self) -> &[MarketEvent] {
        &self.recorded.events[self.start..self.end]
    }

    /// The instruments the events name, in [`InstrumentId`](crate::types::InstrumentId) order.
    #[must_use]
    pub fn instruments(&self) -> &[Instrument] {
        &self.recorded.instruments
    }

    /// A whole tape of `events`, as the feed declared `instruments` and in `mode`.
    pub(super) fn from_parts(mode: FeedData, instruments: Vec<Instrument>, events: Vec<MarketEvent>) -> MarketTape {
        let end = events.len();
        MarketTape { recorded: Arc::new(Recorded { mode, instruments, events }), start: 0, end }
    }

    /// The number of events in the window.
    #[must_use]
    pub fn len(&self) -> usize {
        self.end - self.start
    }

    /// Whether the window holds no event.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.start == self.end
    }

    /// The first and last event times of the window.
    #[must_use]
    pub fn span(&self) -> Option<(Timestamp, Timestamp)> {
        Some((self.events().first()?.ts(), self.events().last()?.ts()))
    }

    /// The events from `from` (included) to `to` (excluded), either end open when `None`; the
    /// feed emits in time order, so this is a range of the tape, shared, not copied.
    #[must_use]
    pub fn window(&self, from: Option<Timestamp>, to: Option<Timestamp>) -> MarketTape {
        let events = self.events();
        let start = from.map_or(0, |from| events.partition_point(|e| e.ts() < from));
        let end = to.map_or(events.len(), |to| events.partition_point(|e| e.ts() < to)).max(start);
        MarketTape { recorded: Arc::clone(&self.recorded), start: self.start + start, end: self.start + end }
    }

    /// A descriptor standing for `feed` (the configured feed's: same name, version and
    /// capabilities, so plans and reports read the same) whose instances replay this tape instead
    /// of reading their input. Its parameters are checked as `feed` checks them.
    #[must_use]
    pub fn feed_descriptor(&self, feed: &Arc<ComponentDescriptor>) -> Arc<ComponentDescriptor> {
        let mut descriptor = ComponentDescriptor::clone(feed);
        descriptor.file_params = Cow::Borrowed(&[]);
        descriptor.builder = Builder::Loaded(Arc::new(TapeBuilder { tape: self.clone(), feed: Arc::clone(feed) }));
        Arc::new(descriptor)
    }
}

impl<M: MatchingAlgorithm> Session<M> {
    /// Runs the session's feed to its end and keeps what it gave, instead of trading it; the
    /// components are then stopped and unloaded. Rows the feed skipped are logged once, here.
    ///
    /// # Errors
    /// The feed failed or panicked.
    pub fn record_tape(mut self) -> Result<MarketTape, SessionError> {
        let mut events = Vec::new();
        loop {
            match self.poll_feed() {
                FeedPoll::Ready(event) => events.push(event),
                // A live feed: it has no end, so this records until it ends or fails.
                FeedPoll::Pending => {
                    self.waker.wait(std::time::Duration::from_millis(100));
                }
                FeedPoll::Ended => break,
            }
        }
        self.bad_rows.summarize();
        let ended = self.ended.take();
        let instruments = self.engine.instruments().iter().map(|(_, spec)| spec.clone()).collect();
        let mode = self.mode;
        self.assembly.shutdown();
        if let Some(error) = ended {
            return Err(error);
        }
        Ok(MarketTape::from_parts(mode, instruments, events))
    }
}

/// Builds tape feeds in place of the configured feed.
#[derive(Debug)]
struct TapeBuilder {
    tape: MarketTape,
    feed: Arc<ComponentDescriptor>,
}

impl LoadedComponent for TapeBuilder {
    fn default_params(&self) -> Result<Dict, ParamError> {
        self.feed.defaults()
    }

    fn check_params(&self, params: &Dict) -> Result<(), ParamError> {
        let id = crate::component::ComponentId::new(self.feed.kind, &*self.feed.name);
        self.feed.check(&id, params)
    }

    fn build(&self, _params: &Dict) -> Result<Instance, BuildError> {
        Ok(Instance::Feed(Box::new(TapeFeed { tape: self.tape.clone(), at: self.tape.start })))
    }
}

/// A feed that replays a tape.
#[derive(Debug)]
struct TapeFeed {
    tape: MarketTape,
    at: usize,
}

impl Feed for TapeFeed {
    /// Declares the tape's instruments as the recorded feed did, and checks that they got the
    /// same ids: the events name instruments by id.
    fn init(&mut self, ctx: &mut InitContext<'_>) -> Result<(), ComponentError> {
        for (expected, spec) in self.tape.recorded.instruments.iter().enumerate() {
            // The config's instruments are declared already; the feed's own (inferred ticks, or
            // declared by its file) take the recorded tick.
            let declared_here = ctx.instruments().find(&spec.symbol).is_some();
            let id = match spec.tick_origin {
                TickOrigin::Assumed => ctx.instrument(&spec.symbol)?,
                TickOrigin::Declared if declared_here => ctx.instrument(&spec.symbol)?,
                TickOrigin::Inferred | TickOrigin::Declared => ctx.instrument_quoted_in(&spec.symbol, spec.tick)?.0,
            };
            let now = ctx.instruments().try_get(id);
            if id.0 as usize != expected || now.is_none_or(|now| now.tick != spec.tick || now.lot_size != spec.lot_size)
            {
                return Err(ComponentError::new(format!(
                    "instrument {} is not declared as it was when the data was read (id {}, tick {}): the instruments must not change between the runs of one tape",
                    spec.symbol, expected, spec.tick
                )));
            }
        }
        Ok(())
    }

    fn data(&self) -> FeedData {
        self.tape.recorded.mode
    }

    fn next_event(&mut self, _ctx: &mut FeedContext<'_>) -> Result<Option<MarketEvent>, FeedError> {
        if self.at >= self.tape.end {
            return Ok(None);
        }
        let event = self.tape.recorded.events[self.at];
        self.at += 1;
        Ok(Some(event))
    }
}

#[cfg(test)]
mod tests {
    use super::super::NoObserver;
    use super::super::fixtures::{planned, session};
    use super::*;
    use crate::plugin::Kind;

    const STRATEGY: &str = "[strategies.s]\nplugin = \"script-strategy\"\nparams = { buy_on = [0, 2], qty = 1 }\n";

    #[test]
    fn a_replayed_tape_gives_the_same_report_as_the_feed() {
        let closes = ["1.0", "1.5", "2.0", "1.25", "3"];
        let direct = session(&closes, STRATEGY).unwrap().run(&mut NoObserver).report;
        let tape = session(&closes, STRATEGY).unwrap().record_tape().unwrap();
        assert_eq!((tape.len(), tape.mode()), (5, FeedData::Bars));

        let replayed = replay(&tape, &closes).run(&mut NoObserver).report;
        assert_eq!(replayed.strategies[0].fills, direct.strategies[0].fills);
        assert_eq!(replayed.total.statistics, direct.total.statistics);
        assert_eq!(replayed.bars, 5);
    }

    #[test]
    fn a_window_keeps_the_events_in_its_time_range() {
        let closes = ["1", "2", "3", "4", "5"];
        let tape = session(&closes, STRATEGY).unwrap().record_tape().unwrap();
        let minute = 60_000_000_000;
        let window = tape.window(Some(Timestamp(2 * minute)), Some(Timestamp(4 * minute)));
        assert_eq!(window.len(), 2);
        assert_eq!(window.span(), Some((Timestamp(2 * minute), Timestamp(3 * minute))));
        assert_eq!(window.window(Some(Timestamp(3 * minute)), None).len(), 1, "a window of a window");
        assert!(tape.window(Some(Timestamp(9 * minute)), None).is_empty());
        assert_eq!(replay(&window, &closes).run(&mut NoObserver).report.bars, 2);
    }

    /// A session over the fixtures whose feed replays `tape`.
    fn replay(tape: &MarketTape, closes: &[&str]) -> Session<Box<dyn crate::matching::DynMatching>> {
        let quoted: Vec<String> = closes.iter().map(|c| format!("\"{c}\"")).collect();
        let text =
            format!("[feed]\nplugin = \"script-feed\"\nparams = {{ closes = [{}] }}\n{STRATEGY}", quoted.join(", "));
        let (config, mut plan) = planned(&text);
        let feed = plan.components.iter_mut().find(|c| c.request.kind == Kind::Feed).unwrap();
        feed.registered.descriptor = tape.feed_descriptor(&feed.registered.descriptor);
        super::super::fixtures::session_from_plan(&config, &plan).unwrap()
    }
}
