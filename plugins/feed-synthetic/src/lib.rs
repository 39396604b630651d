//! `synthetic`: a seeded, deterministic synthetic order flow (core's generator, the same one
//! `tradsys gen orders` writes), replayed into the session's book.
//!
//! Same `seed` (by default the session's seed), same flow, byte for byte.
//!
//! The generator keeps a shadow book of its own so that cancels and moves name resting orders:
//! generating a command costs about as much as matching it. By default it therefore runs on a
//! worker thread, handing over whole batches of [`BATCH`] commands (a bounded number ahead) through
//! a channel and getting the emptied buffers back, so the steady state allocates nothing. The flow is the
//! same either way; `thread = false` keeps everything on the session's thread.
//!
//! ```toml
//! [feed]
//! plugin = "synthetic"
//! params = { count = 1000000, profile = "exchange-core" }
//! ```

#![deny(unsafe_code)]

use std::sync::Mutex;
use std::sync::mpsc::{Receiver, SyncSender, TryRecvError, sync_channel};
use std::thread::JoinHandle;

use serde::{Deserialize, Serialize};
use tradsys_core::component::{ComponentError, Feed, FeedContext, FeedData, FeedError, InitContext};
use tradsys_core::limits::{TIMESTAMP_YEARS, timestamp_range};
use tradsys_core::market::{MarketEvent, OrderFlowEvent};
use tradsys_core::orderflow::OrderCommand;
use tradsys_core::orderflow::generator::{GeneratorConfig, OrderFlowGenerator, Profile};
use tradsys_core::plugin::{Capability, Plugin};
use tradsys_core::types::{InstrumentId, Timestamp};

/// The first command's time when the parameters name none: 2026-11-02T14:30:00Z, so that reports,
/// plots and the HTML page show a date a reader can believe (not 1970-01-01).
pub const DEFAULT_START_NS: i64 = 1_793_629_800_000_000_000;

/// Commands per hand-over from the worker thread.
pub const BATCH: usize = 4096;
/// Batches the worker may run ahead of the session: about 64k commands (4.5 MB), enough to ride out
/// the generator thread being descheduled for a while on a shared host (with 4 batches, one
/// benchmark run's samples spread from 4.8M to 5.3M events/s; with 16, from 5.2M to 5.6M).
const BATCHES_AHEAD: usize = 16;

/// Replays a generated order flow.
#[derive(Debug)]
pub struct SyntheticFeed {
    params: Params,
    /// The first command's time, from `start` or `start_ns`.
    start_ns: i64,
    source: Option<Source>,
}

tradsys_core::plugin_params! {
    /// Parameters of `synthetic`.
    #[derive(Clone, Debug, Serialize, Deserialize)]
    #[serde(deny_unknown_fields)]
    pub struct Params {
        /// Commands to generate (an empty flow would run nothing).
        /// Range: >= 1
        pub count: u64,
        /// `exchange-core` or `multi-symbol`.
        pub profile: Profile,
        /// Symbols of the multi-symbol profile, 1 to 1,024.
        pub symbols: u32,
        /// Seed; the session's seed (mixed with this component's id) when absent.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub seed: Option<u64>,
        /// Time of the first command: a date (`2026-11-02`, midnight UTC) or an RFC 3339 time
        /// (`2026-11-02T14:30:00Z`); 2026-11-02T14:30:00Z (a Monday's US open) when neither this
        /// nor `start_ns` is given.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub start: Option<String>,
        /// The same as nanoseconds since the epoch (years 1678 to 2261), instead of `start`.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub start_ns: Option<i64>,
        /// Time between commands, microseconds; the last command's time must stay within the years 1678
        /// to 2261.
        /// Range: >= 0
        pub step_us: i64,
        /// Generate on a worker thread, ahead of the session (the flow is identical either way).
        pub thread: bool,
    }
}

impl Default for Params {
    fn default() -> Params {
        Params {
            count: 100_000,
            profile: Profile::ExchangeCore,
            symbols: 16,
            seed: None,
            start: None,
            start_ns: None,
            step_us: 1000,
            thread: true,
        }
    }
}

/// The generator with what turns its commands into session events.
#[derive(Debug)]
struct Stamped {
    generator: OrderFlowGenerator,
    /// Generator instrument id → session instrument id.
    instruments: Vec<InstrumentId>,
    start_ns: i64,
    step_ns: i64,
    rows: i64,
}

/// The first command's time, nanoseconds since the epoch, from `start` or `start_ns`.
fn start_ns(params: &Params) -> Result<i64, ComponentError> {
    match (&params.start, params.start_ns) {
        (Some(_), Some(_)) => Err(ComponentError::new("give start or start_ns, not both")),
        (None, Some(ns)) => Ok(ns),
        (None, None) => Ok(DEFAULT_START_NS),
        (Some(text), None) => {
            let instant = match text.parse::<jiff::civil::Date>() {
                Ok(date) => date.to_zoned(jiff::tz::TimeZone::UTC).map(|zoned| zoned.timestamp()),
                Err(_) => text.parse::<jiff::Timestamp>(),
            };
            let instant = instant.map_err(|_| {
                ComponentError::new(format!(
                    "start {text:?} is not a time: expected a date (2026-11-02) or an RFC 3339 time (2026-11-02T14:30:00Z)"
                ))
            })?;
            i64::try_from(instant.as_nanosecond()).map_err(|_| {
                ComponentError::new(format!(
                    "start {text:?} is outside the years {} to {}",
                    TIMESTAMP_YEARS.0, TIMESTAMP_YEARS.1
                ))
            })
        }
    }
}

impl Iterator for Stamped {
    type Item = OrderFlowEvent;

    fn next(&mut self) -> Option<OrderFlowEvent> {
        let mut command = self.generator.next()?;
        let map = |id: InstrumentId| self.instruments[id.0 as usize];
        match &mut command {
            OrderCommand::New { instrument, .. } => *instrument = map(*instrument),
            OrderCommand::Cancel { instrument, .. } | OrderCommand::Modify { instrument, .. } => {
                *instrument = instrument.map(map)
            }
        }
        // `build` checked that the last row's time is in the timestamp range, so this cannot overflow.
        let ts = Timestamp(self.start_ns + self.rows * self.step_ns);
        self.rows += 1;
        Some(OrderFlowEvent { ts, command })
    }
}

/// Where events come from: the generator itself, or batches from the worker running it.
#[derive(Debug)]
enum Source {
    Inline(Stamped),
    Worker(Worker),
}

/// The receiving end of the worker thread.
#[derive(Debug)]
struct Worker {
    /// Behind a mutex only because feeds must be `Sync` and a `Receiver` is not; it is locked once
    /// per batch, by the one thread that reads, so it is never contended.
    batches: Option<Mutex<Receiver<Vec<OrderFlowEvent>>>>,
    recycle: SyncSender<Vec<OrderFlowEvent>>,
    batch: Vec<OrderFlowEvent>,
    at: usize,
    expected: u64,
    received: u64,
    handle: Option<JoinHandle<()>>,
}

impl Worker {
    fn spawn(mut stamped: Stamped, expected: u64) -> Result<Worker, ComponentError> {
        let (send_batch, batches) = sync_channel::<Vec<OrderFlowEvent>>(BATCHES_AHEAD);
        let (recycle, recycled) = sync_channel::<Vec<OrderFlowEvent>>(BATCHES_AHEAD + 2);
        let handle = std::thread::Builder::new()
            .name("tradsys-synthetic".to_owned())
            .spawn(move || {
                loop {
                    let mut batch = match recycled.try_recv() {
                        Ok(batch) => batch,
                        Err(TryRecvError::Empty | TryRecvError::Disconnected) => Vec::with_capacity(BATCH),
                    };
                    batch.clear();
                    batch.extend(stamped.by_ref().take(BATCH));
                    // An empty batch or a gone receiver (the session stopped early) ends the worker.
                    if batch.is_empty() || send_batch.send(batch).is_err() {
                        return;
                    }
                }
            })
            .map_err(|e| ComponentError::new(format!("cannot start the generator thread: {e}")))?;
        Ok(Worker {
            batches: Some(Mutex::new(batches)),
            recycle,
            batch: Vec::new(),
            at: 0,
            expected,
            received: 0,
            handle: Some(handle),
        })
    }

    #[inline]
    fn next(&mut self) -> Result<Option<OrderFlowEvent>, FeedError> {
        if self.at == self.batch.len() {
            let Some(batches) = &self.batches else { return Ok(None) };
            let done = std::mem::take(&mut self.batch);
            // Full or disconnected recycling only costs an allocation later.
            let _ = self.recycle.try_send(done);
            let received = batches.lock().map_err(|_| FeedError("synthetic: feed state poisoned".to_owned()))?.recv();
            match received {
                Ok(batch) => {
                    self.received += batch.len() as u64;
                    self.batch = batch;
                    self.at = 0;
                }
                Err(_) if self.received == self.expected => return Ok(None),
                Err(_) => {
                    return Err(FeedError(format!(
                        "synthetic: the generator thread stopped after {} of {} commands",
                        self.received, self.expected
                    )));
                }
            }
        }
        let event = self.batch[self.at];
        self.at += 1;
        Ok(Some(event))
    }

    /// Stops the worker: dropping the receiver makes its next send fail, then it is joined.
    fn shut_down(&mut self) -> Result<(), ComponentError> {
        self.batches = None;
        match self.handle.take().map(JoinHandle::join) {
            Some(Err(_)) => Err(ComponentError::new("the generator thread panicked")),
            _ => Ok(()),
        }
    }
}

impl Drop for Worker {
    fn drop(&mut self) {
        let _ = self.shut_down();
    }
}

/// The generator's config; `seed` when the parameters name none.
fn generator_config(params: &Params, seed: u64) -> GeneratorConfig {
    GeneratorConfig {
        profile: params.profile,
        count: params.count,
        seed: params.seed.unwrap_or(seed),
        symbols: params.symbols,
    }
}

impl Plugin for SyntheticFeed {
    type Params = Params;
    const PARAM_DOCS: &'static [tradsys_core::plugin::ParamDoc] = Params::PARAM_DOCS;
    const SUMMARY: &'static str = "seeded synthetic order flow (exchange-core mix or many symbols)";
    const CAPABILITIES: &'static [Capability] = &[Capability::SpawnThreads];

    fn build(params: Params) -> Result<Self, ComponentError> {
        if params.count == 0 {
            return Err(ComponentError::new("count must be at least 1, got 0: an empty flow would run nothing"));
        }
        if params.step_us < 0 {
            return Err(ComponentError::new(format!("step_us must not be negative, got {}", params.step_us)));
        }
        generator_config(&params, 0).validate().map_err(|error| ComponentError::new(error.to_string()))?;
        let start_ns = start_ns(&params)?;
        let (first, last) = timestamp_range();
        let last_ns = i64::try_from(params.count.saturating_sub(1))
            .ok()
            .and_then(|rows| rows.checked_mul(params.step_us.checked_mul(1000)?))
            .and_then(|offset| start_ns.checked_add(offset));
        if !(first.0..=last.0).contains(&start_ns) || last_ns.is_none_or(|ns| ns > last.0) {
            return Err(ComponentError::new(format!(
                "start {} + (count {} - 1) × step_us {} leaves the timestamp range (years {} to {}); expected times in it",
                Timestamp(start_ns),
                params.count,
                params.step_us,
                TIMESTAMP_YEARS.0,
                TIMESTAMP_YEARS.1
            )));
        }
        Ok(SyntheticFeed { start_ns, params, source: None })
    }
}

impl Feed for SyntheticFeed {
    fn init(&mut self, ctx: &mut InitContext<'_>) -> Result<(), ComponentError> {
        let generator = OrderFlowGenerator::new(generator_config(&self.params, ctx.seed()))
            .map_err(|error| ComponentError::new(error.to_string()))?;
        let mut instruments = Vec::new();
        for (_, instrument) in generator.instruments().iter() {
            instruments.push(ctx.instrument(&instrument.symbol)?);
        }
        let stamped =
            Stamped { generator, instruments, start_ns: self.start_ns, step_ns: self.params.step_us * 1000, rows: 0 };
        self.source = Some(Source::Inline(stamped));
        Ok(())
    }

    fn start(&mut self) -> Result<(), ComponentError> {
        if self.params.thread
            && let Some(Source::Inline(stamped)) = self.source.take()
        {
            self.source = Some(Source::Worker(Worker::spawn(stamped, self.params.count)?));
        }
        Ok(())
    }

    fn stop(&mut self) -> Result<(), ComponentError> {
        match self.source.take() {
            Some(Source::Worker(mut worker)) => worker.shut_down(),
            _ => Ok(()),
        }
    }

    fn data(&self) -> FeedData {
        FeedData::OrderFlow
    }

    #[inline]
    fn next_event(&mut self, _ctx: &mut FeedContext<'_>) -> Result<Option<MarketEvent>, FeedError> {
        let event = match self.source.as_mut() {
            Some(Source::Inline(stamped)) => stamped.next(),
            Some(Source::Worker(worker)) => worker.next()?,
            None => return Err(FeedError("synthetic: not running".to_owned())),
        };
        Ok(event.map(MarketEvent::Order))
    }
}

tradsys_core::register_feed!(SyntheticFeed, "synthetic", "1.0.0");

#[cfg(test)]
mod tests {
    use tradsys_core::component::BadRows;
    use tradsys_core::instrument::InstrumentTable;

    use super::*;

    fn events(params: Params) -> Vec<MarketEvent> {
        let mut feed = SyntheticFeed::build(params).unwrap();
        let mut instruments = InstrumentTable::default();
        instruments.resolve("OTHER").unwrap();
        feed.init(&mut InitContext::new("feed", &mut instruments, 9)).unwrap();
        feed.start().unwrap();
        let mut bad_rows = BadRows::default();
        let mut out = Vec::new();
        while let Some(event) = feed.next_event(&mut FeedContext::new(&mut instruments, &mut bad_rows)).unwrap() {
            out.push(event);
        }
        feed.stop().unwrap();
        out
    }

    fn seeded(seed: u64, count: u64, thread: bool) -> Params {
        Params { count, seed: Some(seed), thread, ..Params::default() }
    }

    #[test]
    fn symbol_counts_and_times_outside_the_limits_are_refused_when_built() {
        let symbols = |symbols| Params { profile: Profile::MultiSymbol, symbols, ..Params::default() };
        for bad in [0, 1025, 4_294_967_295] {
            let error = SyntheticFeed::build(symbols(bad)).unwrap_err();
            assert!(error.0.contains("symbols must be from 1 to 1024"), "{error}");
        }
        let times = |start_ns, step_us, count| Params { start_ns: Some(start_ns), step_us, count, ..Params::default() };
        for (start_ns, step_us, count) in
            [(i64::MAX, 0, 1), (0, i64::MAX / 2, 3), (0, 1_000_000_000, 1 << 40), (i64::MIN, 1, 1)]
        {
            let error = SyntheticFeed::build(times(start_ns, step_us, count)).unwrap_err();
            assert!(error.0.contains("leaves the timestamp range (years 1678 to 2261)"), "{error}");
        }
        assert!(SyntheticFeed::build(times(0, 1_000, 1_000_000)).is_ok());
    }

    #[test]
    fn an_empty_flow_is_refused_when_built() {
        let error = SyntheticFeed::build(Params { count: 0, ..Params::default() }).unwrap_err();
        assert!(error.0.contains("count must be at least 1"), "{error}");
    }

    #[test]
    fn the_clock_starts_at_a_recent_date_or_the_one_given() {
        let first_ts = |params: Params| match events(Params { count: 2, thread: false, ..params })[0] {
            MarketEvent::Order(event) => event.ts.to_string(),
            other => panic!("{other:?}"),
        };
        assert_eq!(first_ts(Params::default()), "2026-11-02T14:30:00Z");
        assert_eq!(first_ts(Params { start: Some("2024-03-01".into()), ..Params::default() }), "2024-03-01T00:00:00Z");
        let at = Params { start: Some("2025-06-02T13:30:00.5Z".into()), ..Params::default() };
        assert_eq!(first_ts(at), "2025-06-02T13:30:00.5Z");
        assert_eq!(first_ts(Params { start_ns: Some(0), ..Params::default() }), "1970-01-01T00:00:00Z");
        let both = Params { start: Some("2024-03-01".into()), start_ns: Some(0), ..Params::default() };
        assert!(SyntheticFeed::build(both).unwrap_err().0.contains("not both"));
        let error = SyntheticFeed::build(Params { start: Some("yesterday".into()), ..Params::default() }).unwrap_err();
        assert!(error.0.contains(r#"start "yesterday" is not a time: expected a date"#), "{error}");
    }

    #[test]
    fn deterministic_and_mapped_to_session_instruments() {
        let first = events(seeded(3, 500, false));
        assert_eq!(first.len(), 500);
        assert_eq!(first, events(seeded(3, 500, false)));
        assert_ne!(first, events(seeded(4, 500, false)));
        let MarketEvent::Order(OrderFlowEvent { command: OrderCommand::New { instrument, .. }, .. }) = first[0] else {
            panic!("the first command is a new order");
        };
        assert_eq!(instrument, InstrumentId(1), "XYZ comes after the pre-declared OTHER");
    }

    #[test]
    fn the_worker_thread_yields_the_same_flow_across_batch_boundaries() {
        // Not a multiple of the batch, so the last batch is partial.
        let count = 3 * BATCH as u64 + 17;
        let inline = events(seeded(5, count, false));
        let threaded = events(seeded(5, count, true));
        assert_eq!(threaded.len(), inline.len());
        assert!(threaded == inline, "the threaded flow differs from the inline one");
    }

    #[test]
    fn stopping_early_shuts_the_worker_down() {
        let mut feed = SyntheticFeed::build(seeded(6, 1_000_000, true)).unwrap();
        let mut instruments = InstrumentTable::default();
        feed.init(&mut InitContext::new("feed", &mut instruments, 9)).unwrap();
        feed.start().unwrap();
        let mut bad_rows = BadRows::default();
        let mut ctx = FeedContext::new(&mut instruments, &mut bad_rows);
        assert!(feed.next_event(&mut ctx).unwrap().is_some());
        // The worker is blocked on a full channel; stop must unblock and join it, not hang.
        feed.stop().unwrap();
        assert!(feed.next_event(&mut ctx).is_err(), "a stopped feed says so");
    }
}
