//! `tradsys publish`: plays a configured feed onto NATS subjects, so a market-data gateway can be
//! stood in for (a CSV or Parquet file, recorded order flow, the synthetic feed).
//!
//! The feed is read to its end first (the same tape `sweep` records), then published in feed
//! order, one message per event in the `nats` feed's wire format
//! (`tradsys_plugin_feed_nats::wire`), paced by `--rate` or `--speed` or as fast as the
//! connection takes them, then the end marker (`PREFIX._.end`), which ends a feed with
//! `until_end = true`. The server is reached before the data is read, so an unreachable one fails
//! at once. A signal stops between two events; what was published is flushed, no end marker is
//! sent, and the command exits 130 or 143.

use std::collections::BTreeSet;
use std::time::Duration;

use anyhow::anyhow;
use tradsys_core::registry::Registry;
use tradsys_core::types::Timestamp;

use crate::cli::PublishArgs;
use crate::configure::{config_failure, load_checked};
use crate::failure::{Failure, Internal};
use crate::run::{config_file, record_tape};
use tradsys_plugin_feed_nats::wire::{WireEvent, check_prefix, end_subject, subject};

/// The longest a paced wait sleeps before it looks at the stop request again.
const STOP_CHECK: Duration = Duration::from_millis(100);

/// How fast events go out.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Pace {
    /// As fast as the connection takes them.
    Flat,
    /// This many events per second.
    Rate(f64),
    /// The data's clock, this many times faster.
    Speed(f64),
}

impl Pace {
    fn from_args(args: &PublishArgs) -> Result<Pace, String> {
        let positive = |flag: &str, value: f64| {
            if value.is_finite() && value > 0.0 {
                Ok(value)
            } else {
                Err(format!("{flag} {value}: expected a positive number"))
            }
        };
        match (args.rate, args.speed) {
            (Some(rate), _) => positive("--rate", rate).map(Pace::Rate),
            (None, Some(speed)) => positive("--speed", speed).map(Pace::Speed),
            (None, None) => Ok(Pace::Flat),
        }
    }

    /// When the `seq`th event, of time `ts`, is due, counted from the first event's publication
    /// (`first` is the first event's time); `None` for at once.
    fn due(self, seq: usize, ts: Timestamp, first: Timestamp) -> Option<Duration> {
        match self {
            Pace::Flat => None,
            Pace::Rate(rate) => Some(Duration::from_secs_f64(seq as f64 / rate)),
            Pace::Speed(speed) => {
                Some(Duration::from_secs_f64(ts.0.saturating_sub(first.0).max(0) as f64 / 1e9 / speed))
            }
        }
    }
}

/// Publishes the feed of the config `args` names; returns the summary line.
///
/// # Errors
/// A bad argument or config, unusable data or an unreachable server (exit 2); a connection lost
/// while publishing (exit 1); a signal (the events before it are published).
pub fn publish(args: &PublishArgs, registry: &Registry) -> Result<String, Failure> {
    let mut problems = Vec::new();
    let pace = Pace::from_args(args).map_err(|problem| problems.push(problem)).ok();
    if let Err(problem) = check_prefix(&args.prefix) {
        problems.push(format!("--prefix {problem}"));
    }
    let Some(pace) = pace.filter(|_| problems.is_empty()) else {
        return Err(Failure::BadInput(anyhow!(problems.join("\n"))));
    };
    let stop = crate::signals::listen().internal()?;
    let (file, name) = config_file(args.config.as_deref());
    let checked = load_checked(&file, &args.overrides, registry).map_err(|errors| config_failure(&errors))?;
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().internal()?;
    runtime.block_on(async {
        let client = crate::nats::connect(&args.nats, "tradsys publish").await?;
        let tape = record_tape(&checked, registry)?;
        let events = tape.events();
        let first = events.first().map_or(Timestamp(0), tradsys_core::market::MarketEvent::ts);
        let started = tokio::time::Instant::now();
        let mut subjects = BTreeSet::new();
        let lost = |error: &dyn std::fmt::Display| {
            Failure::Internal(anyhow!("publishing to the NATS server at {}: {error}", args.nats.url))
        };
        for (seq, event) in events.iter().enumerate() {
            if let Some(due) = pace.due(seq, event.ts(), first) {
                let due = started + due;
                while tokio::time::Instant::now() < due && stop.signal().is_none() {
                    tokio::time::sleep_until(due.min(tokio::time::Instant::now() + STOP_CHECK)).await;
                }
            }
            if let Some(signal) = stop.signal() {
                client.flush().await.map_err(|error| lost(&error))?;
                tracing::warn!(published = seq, of = events.len(), "publish stopped by a signal");
                return Err(Failure::Interrupted(signal));
            }
            let wire = WireEvent::new(seq as u64, event, tape.instruments());
            let to = subject(&args.prefix, wire.symbol.as_deref(), event);
            // At most four subjects per instrument, and one for orders without a symbol.
            if !subjects.contains(&to) {
                subjects.insert(to.clone());
            }
            client.publish(to, wire.to_json().into()).await.map_err(|error| lost(&error))?;
        }
        let last = events.last().map_or(0, |event| event.ts().0);
        let end = WireEvent::end(events.len() as u64, last).to_json();
        client.publish(end_subject(&args.prefix), end.into()).await.map_err(|error| lost(&error))?;
        client.flush().await.map_err(|error| lost(&error))?;
        let seconds = started.elapsed().as_secs_f64();
        Ok(format!(
            "tradsys publish: {name}: {} events on {} subjects ({}.*) to {} in {seconds:.2} s ({:.0} events/s)\n",
            events.len(),
            subjects.len(),
            args.prefix,
            args.nats.url,
            events.len() as f64 / seconds.max(1e-9)
        ))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_pace_spaces_events_by_count_or_by_the_datas_clock() {
        let (first, second) = (Timestamp(1_000_000_000), Timestamp(3_000_000_000));
        assert_eq!(Pace::Flat.due(5, second, first), None);
        assert_eq!(Pace::Rate(4.0).due(0, second, first), Some(Duration::ZERO));
        assert_eq!(Pace::Rate(4.0).due(2, second, first), Some(Duration::from_millis(500)));
        assert_eq!(Pace::Speed(1.0).due(1, second, first), Some(Duration::from_secs(2)));
        assert_eq!(Pace::Speed(4.0).due(1, second, first), Some(Duration::from_millis(500)));
        // An event stamped before the first (a feed out of order) is due at once, not in the past.
        assert_eq!(Pace::Speed(1.0).due(1, Timestamp(0), first), Some(Duration::ZERO));
    }
}
