//! How the session watches its feed: silences, measured on the wall clock while a live feed has
//! nothing, the feed's own word on its source ([`Feed::health`](crate::component::Feed::health)),
//! and the `alerts.feed_quiet_ms` alert. A file or generator is never pending, so for it this is a
//! branch per event that is never taken.

use std::time::{Duration, Instant};

use serde::Serialize;

use super::{Alert, AlertMeasure, Session, SessionObserver};
use crate::boundary::Call;
use crate::component::FeedHealth;
use crate::matching::MatchingAlgorithm;
use crate::plugin::{Instance, Kind};

/// The feed as the session sees it now: what `/health`, the report and the metrics say of it.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct FeedStatus {
    /// The feed's plugin, `name@version`.
    pub plugin: String,
    /// Whether it is connected to its source; `None` for a feed with no connection (a file).
    pub connected: Option<bool>,
    /// Times it lost its source and got it back.
    pub reconnects: u64,
    /// How long it has had nothing, in milliseconds, when it is waiting now.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub quiet_ms: Option<u64>,
    /// The longest wait for an event so far, in milliseconds.
    pub longest_quiet_ms: u64,
}

impl FeedStatus {
    /// Whether the feed is well: connected if it has a connection, and not silent past `quiet`.
    #[must_use]
    pub fn is_healthy(&self, quiet: Option<Duration>) -> bool {
        let silent = match (quiet, self.quiet_ms) {
            (Some(limit), Some(ms)) => Duration::from_millis(ms) > limit,
            _ => false,
        };
        self.connected != Some(false) && !silent
    }
}

/// What the session says of itself to `/health`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct SessionHealth {
    /// Market events so far.
    pub events: u64,
    /// The feed is connected (if it has a connection) and not silent past `alerts.feed_quiet_ms`.
    pub healthy: bool,
    /// The feed.
    pub feed: FeedStatus,
}

/// Silences of the feed.
#[derive(Debug, Default)]
pub(super) struct FeedWatch {
    /// Since when the feed has had nothing (while it is pending).
    quiet_since: Option<Instant>,
    longest: Duration,
    /// The current silence raised its alert already.
    alerted: bool,
}

impl FeedWatch {
    /// The feed gave an event: a silence, if there was one, is over.
    #[inline]
    pub(super) fn delivered(&mut self) {
        if let Some(since) = self.quiet_since.take() {
            self.longest = self.longest.max(since.elapsed());
            self.alerted = false;
        }
    }

    /// The feed has nothing: a silence starts, unless one goes on.
    pub(super) fn pending(&mut self) {
        if self.quiet_since.is_none() {
            self.quiet_since = Some(Instant::now());
        }
    }

    fn quiet_for(&self) -> Option<Duration> {
        self.quiet_since.map(|since| since.elapsed())
    }
}

fn millis(duration: Duration) -> u64 {
    u64::try_from(duration.as_millis()).unwrap_or(u64::MAX)
}

impl<M: MatchingAlgorithm> Session<M> {
    /// The feed now: its health (asked through its slot) and its silences.
    pub(super) fn feed_status(&mut self) -> FeedStatus {
        let slot = self.assembly.slot_mut(self.feed_slot);
        let plugin = slot.label().to_owned();
        let health = slot
            .invoke(Call::Health, |instance| match instance {
                Instance::Feed(feed) => feed.health(),
                _ => FeedHealth::default(),
            })
            .unwrap_or_default();
        let quiet = self.feed_watch.quiet_for();
        FeedStatus {
            plugin,
            connected: health.connected,
            reconnects: health.reconnects,
            quiet_ms: quiet.map(millis),
            longest_quiet_ms: millis(self.feed_watch.longest.max(quiet.unwrap_or_default())),
        }
    }

    /// The feed's status for the report: only a feed with a connection has one.
    pub(super) fn live_feed_status(&mut self) -> Option<FeedStatus> {
        Some(self.feed_status()).filter(|status| status.connected.is_some())
    }

    /// What `/health` says: the events so far and the feed, judged against `feed_quiet_ms`.
    pub(super) fn health(&mut self) -> SessionHealth {
        let feed = self.feed_status();
        let quiet = self.alerts.config.feed_quiet_ms.map(Duration::from_millis);
        SessionHealth { events: self.events, healthy: feed.is_healthy(quiet), feed }
    }

    /// After a wait for the feed: raises the `feed_quiet_ms` alert once per silence that long.
    pub(super) fn check_feed_quiet(&mut self, observer: &mut dyn SessionObserver) {
        let Some(limit) = self.alerts.config.feed_quiet_ms else { return };
        let Some(quiet) = self.feed_watch.quiet_for() else { return };
        if self.feed_watch.alerted || quiet < Duration::from_millis(limit) {
            return;
        }
        self.feed_watch.alerted = true;
        let slot = self.assembly.slot(self.feed_slot);
        let alert = Alert {
            kind: Kind::Feed,
            id: slot.component().id().to_owned(),
            plugin: slot.label().to_owned(),
            measure: AlertMeasure::QuietMs,
            value: millis(quiet) as f64,
            budget: limit as f64,
            at_event: self.events,
            quarantined: false,
        };
        tracing::warn!(plugin = %alert.plugin, "alert: the feed has delivered nothing for {} ms (budget {limit} ms)", millis(quiet));
        observer.activity(self.now, &super::Activity::Alert(&alert));
        self.alerts.alerts.push(alert);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_silence_is_measured_until_the_next_event_and_health_says_so() {
        let mut watch = FeedWatch::default();
        watch.delivered();
        assert_eq!(watch.quiet_for(), None, "no silence before a pending");
        watch.pending();
        std::thread::sleep(Duration::from_millis(15));
        watch.pending();
        assert!(watch.quiet_for().unwrap() >= Duration::from_millis(15), "the first pending starts it");
        watch.delivered();
        assert!(watch.quiet_for().is_none() && watch.longest >= Duration::from_millis(15));

        let status = |connected, quiet_ms| FeedStatus { connected, quiet_ms, ..FeedStatus::default() };
        assert!(status(None, None).is_healthy(Some(Duration::from_secs(1))), "a file feed");
        assert!(!status(Some(false), None).is_healthy(None), "disconnected");
        assert!(!status(Some(true), Some(2000)).is_healthy(Some(Duration::from_secs(1))), "silent too long");
        assert!(status(Some(true), Some(2000)).is_healthy(None), "no limit set");
    }
}
