//! Per-component metrics: what [`boundary::contain`](crate::boundary::contain) records for each call.
//!
//! Each component slot owns one [`Meter`]: calls per [`Call`], errors (the component's own refusals),
//! panics, the latency of its per-event calls (a histogram: p50, p99, max) and the memory its code
//! allocated ([`memory`]). The session adds kind-specific counts (orders, checks, updates) when it
//! reports.
//!
//! # Cost
//! Counting is an array increment. Reading the clock twice and recording costs about as much as a
//! small strategy's whole callback (some 250 instructions), so per-event calls are timed one in
//! [`LATENCY_SAMPLE_EVERY`] (the first per-event call of every component is always sampled, so every
//! component that ran has a figure); lifecycle calls are timed by the assembly, always, and kept out
//! of the histogram. A disabled meter (`session.metrics = false`) records panics only.

pub mod memory;

use std::time::Instant;

use hdrhistogram::Histogram;

use crate::boundary::Call;
use crate::capability::Capability;
pub use memory::{MemoryAccount, MemoryUsage};

/// Per-event calls are timed one in this many (per component).
pub const LATENCY_SAMPLE_EVERY: u32 = 64;

/// The longest latency the histogram distinguishes (longer ones are recorded as this): 60 s.
const LATENCY_MAX_NS: u64 = 60_000_000_000;

/// What one component's calls cost, recorded at the boundary.
#[derive(Debug)]
pub struct Meter {
    enabled: bool,
    calls: [u64; Call::COUNT],
    errors: u64,
    panics: u64,
    /// Calls refused for want of a capability, by capability (counted even when disabled).
    denied: [u64; Capability::ALL.len()],
    countdown: u32,
    /// Boxed: the histogram is large (some 30 KiB) and cold, the counters above are touched on every
    /// call. Allocated on the first sample, so a meter that never times a call (a replacement
    /// staged during a swap, a disabled meter) costs nothing to make or absorb.
    latency: Option<Box<Histogram<u64>>>,
    memory: &'static MemoryAccount,
}

impl Drop for Meter {
    /// The meter's memory account goes back to the pool for the next meter (a slot's meter lives
    /// as long as the slot; a swap's staged meter is absorbed and dropped).
    fn drop(&mut self) {
        if self.enabled {
            MemoryAccount::recycle(self.memory);
        }
    }
}

impl Meter {
    /// A meter; `enabled` false records panics only (the `session.metrics` setting).
    #[must_use]
    pub fn new(enabled: bool) -> Meter {
        crate::boundary::install_quiet_hook();
        Meter {
            enabled,
            calls: [0; Call::COUNT],
            errors: 0,
            panics: 0,
            denied: [0; Capability::ALL.len()],
            countdown: 0,
            latency: None,
            memory: if enabled { MemoryAccount::reused() } else { &memory::UNMETERED },
        }
    }

    /// A meter that records nothing but panics, for calls made outside any running instance
    /// (reading a plugin's defaults for a listing, checking parameters while planning).
    #[must_use]
    pub fn detached() -> Meter {
        Meter::new(false)
    }

    /// Whether calls are recorded.
    #[must_use]
    pub fn enabled(&self) -> bool {
        self.enabled
    }

    /// The account the call's allocations go to (the thread's current one while it runs).
    #[inline]
    pub(crate) fn account(&self) -> &'static MemoryAccount {
        self.memory
    }

    /// Counts a call; returns when it started if it is one to time.
    #[inline]
    pub(crate) fn enter(&mut self, call: Call) -> Option<Instant> {
        if !self.enabled {
            return None;
        }
        self.calls[call.index()] += 1;
        if self.countdown != 0 {
            self.countdown -= 1;
            return None;
        }
        if call.is_lifecycle() {
            return None;
        }
        self.countdown = LATENCY_SAMPLE_EVERY - 1;
        Some(Instant::now())
    }

    /// Records how the call ended.
    #[inline]
    pub(crate) fn exit(&mut self, started: Option<Instant>, panicked: bool) {
        if panicked {
            self.panics += 1;
        }
        if let Some(started) = started {
            self.record_latency(started);
        }
    }

    #[cold]
    #[inline(never)]
    fn record_latency(&mut self, started: Instant) {
        let nanos = u64::try_from(started.elapsed().as_nanos()).unwrap_or(u64::MAX);
        if self.enabled {
            let histogram = self.latency.get_or_insert_with(|| {
                Box::new(Histogram::new_with_bounds(1, LATENCY_MAX_NS, 2).expect("static bounds are valid"))
            });
            histogram.saturating_record(nanos.clamp(1, LATENCY_MAX_NS));
        }
    }

    /// Adds another meter's figures to this one (a replacement instance's start-up joins its slot's
    /// record, which describes the component across instances).
    pub fn absorb(&mut self, other: &Meter) {
        for (mine, theirs) in self.calls.iter_mut().zip(other.calls) {
            *mine += theirs;
        }
        self.errors += other.errors;
        self.panics += other.panics;
        for (mine, theirs) in self.denied.iter_mut().zip(other.denied) {
            *mine += theirs;
        }
        match (&mut self.latency, &other.latency) {
            (Some(mine), Some(theirs)) => {
                let _ = mine.add(&**theirs);
            }
            (None, Some(theirs)) if self.enabled => self.latency = Some(theirs.clone()),
            _ => {}
        }
        if self.enabled && other.enabled {
            self.memory.absorb(&other.memory.usage());
        }
    }

    /// Counts a refusal (a call that returned the component's own error).
    pub fn count_error(&mut self) {
        self.errors += 1;
    }

    /// Counts `count` calls refused for want of `capability`.
    pub fn count_denied(&mut self, capability: Capability, count: u32) {
        self.denied[capability as usize] += u64::from(count);
    }

    /// What the meter holds now.
    #[must_use]
    pub fn snapshot(&self) -> MeterSnapshot {
        let latency =
            self.latency.as_ref().filter(|h| !h.is_empty()).map_or(LatencySummary::default(), |h| LatencySummary {
                samples: h.len(),
                p50_ns: h.value_at_quantile(0.5),
                p99_ns: h.value_at_quantile(0.99),
                max_ns: h.max(),
            });
        MeterSnapshot {
            calls: self.calls,
            errors: self.errors,
            panics: self.panics,
            denied: self.denied,
            latency,
            memory: if self.enabled { self.memory.usage() } else { MemoryUsage::default() },
        }
    }
}

/// Latency of a component's sampled per-event calls, in nanoseconds.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct LatencySummary {
    /// Calls timed.
    pub samples: u64,
    /// Median.
    pub p50_ns: u64,
    /// 99th percentile.
    pub p99_ns: u64,
    /// Longest.
    pub max_ns: u64,
}

/// A meter's figures at one moment.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MeterSnapshot {
    /// Calls, indexed by [`Call::index`].
    pub calls: [u64; Call::COUNT],
    /// Refusals.
    pub errors: u64,
    /// Contained panics.
    pub panics: u64,
    /// Calls refused for want of a capability, indexed like [`Capability::ALL`].
    pub denied: [u64; Capability::ALL.len()],
    /// Sampled latency of per-event calls.
    pub latency: LatencySummary,
    /// Memory attributed to the component's code.
    pub memory: MemoryUsage,
}

impl MeterSnapshot {
    /// Calls of one kind.
    #[must_use]
    pub fn calls_of(&self, call: Call) -> u64 {
        self.calls[call.index()]
    }

    /// Calls of every kind.
    #[must_use]
    pub fn total_calls(&self) -> u64 {
        self.calls.iter().sum()
    }

    /// `(capability, count)` for every capability a call was refused for, in [`Capability::ALL`] order.
    pub fn nonzero_denied(&self) -> impl Iterator<Item = (Capability, u64)> + '_ {
        Capability::ALL.into_iter().map(|c| (c, self.denied[c as usize])).filter(|(_, n)| *n > 0)
    }

    /// Calls refused for want of any capability.
    #[must_use]
    pub fn total_denied(&self) -> u64 {
        self.denied.iter().sum()
    }

    /// `(call, count)` for every call made at least once, in [`Call::ALL`] order.
    pub fn nonzero_calls(&self) -> impl Iterator<Item = (Call, u64)> + '_ {
        Call::ALL.into_iter().map(|call| (call, self.calls_of(call))).filter(|(_, n)| *n > 0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::boundary::contain;
    use crate::component::ComponentId;
    use crate::plugin::Kind;

    #[test]
    fn a_dropped_meters_memory_account_is_reused_zeroed() {
        let meter = Meter::new(true);
        let account: *const MemoryAccount = meter.memory;
        meter.memory.absorb(&MemoryUsage { allocated_bytes: 5, freed_bytes: 1, allocations: 1 });
        drop(meter);
        // Other tests may take accounts from the pool meanwhile: look for ours among a few.
        let meters: Vec<Meter> = (0..64).map(|_| Meter::new(true)).collect();
        let again = meters.iter().find(|m| std::ptr::eq(m.memory, account));
        let again = again.expect("the account came back from the pool");
        assert_eq!(again.memory.usage(), MemoryUsage::default(), "zeroed");
    }

    #[test]
    fn a_meter_allocates_its_histogram_on_its_first_sample_only() {
        let mut staged = Meter::new(true);
        let started = staged.enter(Call::Init);
        staged.exit(started, false);
        assert!(staged.latency.is_none(), "lifecycle calls are not sampled");
        let mut slot = Meter::new(true);
        let started = slot.enter(Call::OnBar);
        slot.exit(started, false);
        slot.absorb(&staged);
        assert_eq!(slot.snapshot().latency.samples, 1);
    }

    #[test]
    fn per_event_calls_are_sampled_lifecycle_calls_are_not_in_the_histogram() {
        let id = ComponentId::new(Kind::Indicator, "i");
        let mut meter = Meter::new(true);
        let _ = contain(&id, &mut meter, Call::Init, || ());
        assert_eq!(meter.snapshot().latency.samples, 0, "lifecycle calls are timed by the assembly");
        for _ in 0..(2 * LATENCY_SAMPLE_EVERY + 1) {
            let _ = contain(&id, &mut meter, Call::Update, || std::hint::black_box(3) + 1);
        }
        let snapshot = meter.snapshot();
        assert_eq!(snapshot.calls_of(Call::Update), u64::from(2 * LATENCY_SAMPLE_EVERY + 1));
        assert_eq!(snapshot.latency.samples, 3, "the first call, then one in {LATENCY_SAMPLE_EVERY}");
        assert!(snapshot.latency.max_ns >= snapshot.latency.p50_ns);
        assert_eq!(snapshot.total_calls(), u64::from(2 * LATENCY_SAMPLE_EVERY + 2));
        assert_eq!(snapshot.nonzero_calls().map(|(c, _)| c).collect::<Vec<_>>(), [Call::Init, Call::Update]);
    }

    #[test]
    fn a_detached_meter_holds_no_account() {
        let meter = Meter::detached();
        assert!(!meter.enabled());
        assert_eq!(meter.snapshot().memory, MemoryUsage::default());
    }
}
