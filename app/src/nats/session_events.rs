//! `[nats] publish = true`: the session's events out, for risk monitors and dashboards in other
//! processes (docs/distributed.md, "The session's events").
//!
//! Every [`Activity`] of the session becomes one JSON message on `tradsys.<session>.<kind>...`,
//! stored in a JetStream stream of the session's own (`TRADSYS_SESSION_<session>`), so a consumer
//! that starts late reads from the beginning (`tradsys tail`). The session thread only formats
//! the message and hands it to a channel; a thread of its own publishes and collects the server's
//! acknowledgements, so the server's latency never holds an event up. When the session ends, an
//! `ended` message goes last and every acknowledgement is awaited: the summary says how many
//! messages were stored, and a message the server did not store fails the command (exit 1, after
//! the other outputs are written).
//!
//! | subject | `type` | fields besides `seq`, `ts`, `type` |
//! |---|---|---|
//! | `tradsys.<s>.session` | `started`, `ended` | `config`; at the end `events`, `complete` |
//! | `tradsys.<s>.orders.<strategy>` | `order` | `strategy`, `order`, `symbol`, `side`, `order_type`, `price`, `trigger`, `qty`, `tif` |
//! | `tradsys.<s>.fills.<strategy>` | `fill` | `strategy`, `order`, `symbol`, `side`, `price`, `qty`, `commission` |
//! | `tradsys.<s>.rejections.<strategy>` | `rejection` | `strategy`, `order`, `qty`, `by`, `validator` (risk only), `reason` |
//! | `tradsys.<s>.ended.<strategy>` | `cancelled`, `expired` | `strategy`, `order`, `remaining` |
//! | `tradsys.<s>.status.<strategy>` | `halted`, `failed` | `strategy`, `reason` (halted) |
//! | `tradsys.<s>.alerts` | `alert` | `kind`, `id`, `plugin`, `measure`, `value`, `budget`, `quarantined` |
//! | `tradsys.<s>.changes` | `change` | `component`, `change` |

use std::time::Duration;

use anyhow::anyhow;
use async_nats::jetstream;
use serde_json::{Value, json};
use tradsys_core::config::NatsConfig;
use tradsys_core::session::Activity;
use tradsys_core::types::Timestamp;

use crate::cli::NatsArgs;
use crate::failure::{Failure, Internal};

/// How long the streamed messages are kept.
const KEEP: Duration = Duration::from_secs(7 * 24 * 3600);
/// Acknowledgements awaited at a time by the publishing thread.
const ACKS_IN_FLIGHT: usize = 256;

/// The stream of session `session`'s events.
#[must_use]
pub(crate) fn stream_name(session: &str) -> String {
    format!("TRADSYS_SESSION_{session}")
}

/// Checks a session id: a subject token and a stream name, not the sweeps' namespace.
///
/// # Errors
/// What is wrong with it.
pub(crate) fn check_session_id(id: &str) -> Result<(), String> {
    if !tradsys_core::config::is_valid_id(id) || id.len() > 64 {
        return Err(format!("{id:?}: expected lowercase letters, digits, '-' and '_', at most 64"));
    }
    if id == "sweep" {
        return Err("\"sweep\" is the distributed sweeps' namespace (tradsys.sweep.>); choose another id".to_owned());
    }
    Ok(())
}

/// What the publishing thread did.
#[derive(Debug, Default)]
struct Stored {
    stored: u64,
    failed: u64,
    first_error: Option<String>,
}

/// Publishes a session's activity to its stream.
pub(crate) struct EventPublisher {
    session: String,
    url: String,
    sender: Option<tokio::sync::mpsc::UnboundedSender<(String, Vec<u8>)>>,
    thread: Option<std::thread::JoinHandle<Stored>>,
    seq: u64,
}

impl std::fmt::Debug for EventPublisher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EventPublisher").field("session", &self.session).field("seq", &self.seq).finish()
    }
}

impl EventPublisher {
    /// Connects to `[nats] url` (with `TRADSYS_NATS_TOKEN` or `TRADSYS_NATS_CREDS` if set), makes
    /// the session's stream and publishes `started`; `None` unless `[nats] publish`.
    ///
    /// # Errors
    /// The server cannot be reached (exit 2, naming the URL) or has no JetStream (exit 1).
    pub(crate) fn start(config: &NatsConfig, config_name: &str) -> Result<Option<EventPublisher>, Failure> {
        if !config.publish {
            return Ok(None);
        }
        let url = config.url.clone().ok_or_else(|| Failure::BadInput(anyhow!("nats.publish needs nats.url")))?;
        let session = config.session.clone().unwrap_or_else(super::unique_id);
        let args = NatsArgs {
            url: url.clone(),
            token: std::env::var("TRADSYS_NATS_TOKEN").ok(),
            creds: std::env::var_os("TRADSYS_NATS_CREDS").map(Into::into),
        };
        let (ready_tx, ready) = std::sync::mpsc::channel();
        let (sender, messages) = tokio::sync::mpsc::unbounded_channel();
        let name = session.clone();
        let thread = std::thread::Builder::new()
            .name("nats-events".to_owned())
            .spawn(move || publish_thread(&args, &name, &ready_tx, messages))
            .internal()?;
        match ready.recv() {
            Ok(Ok(())) => {}
            Ok(Err(failure)) => return Err(failure),
            Err(_) => return Err(Failure::Internal(anyhow!("the NATS publishing thread ended before it connected"))),
        }
        let mut publisher = EventPublisher { session, url, sender: Some(sender), thread: Some(thread), seq: 0 };
        publisher.send("session", json!({ "type": "started", "config": config_name }), Timestamp(0));
        Ok(Some(publisher))
    }

    /// The session's id in the subjects.
    pub(crate) fn session(&self) -> &str {
        &self.session
    }

    /// The server's URL.
    pub(crate) fn url(&self) -> &str {
        &self.url
    }

    /// Formats and queues one activity.
    pub(crate) fn activity(&mut self, ts: Timestamp, activity: &Activity<'_>) {
        let (suffix, body) = message(activity);
        self.send(&suffix, body, ts);
    }

    fn send(&mut self, suffix: &str, mut body: Value, ts: Timestamp) {
        if let Value::Object(fields) = &mut body {
            fields.insert("seq".to_owned(), self.seq.into());
            fields.insert("ts".to_owned(), ts.0.into());
        }
        self.seq += 1;
        let subject = format!("tradsys.{}.{suffix}", self.session);
        if let Some(sender) = &self.sender {
            let _ = sender.send((subject, body.to_string().into_bytes()));
        }
    }

    /// Publishes `ended`, waits for every acknowledgement and says how many messages were stored.
    ///
    /// # Errors
    /// The server did not store some messages (exit 1).
    pub(crate) fn finish(mut self, ts: Timestamp, events: u64, complete: bool) -> Result<String, Failure> {
        self.send("session", json!({ "type": "ended", "events": events, "complete": complete }), ts);
        drop(self.sender.take());
        let stored = self.thread.take().map(|thread| thread.join().unwrap_or_default()).unwrap_or_default();
        if stored.failed > 0 {
            return Err(Failure::Internal(anyhow!(
                "{} of {} session events were not stored in stream {} on {}: {}",
                stored.failed,
                self.seq,
                stream_name(&self.session),
                self.url,
                stored.first_error.unwrap_or_default()
            )));
        }
        Ok(format!(
            "{} session events stored in stream {} (subjects tradsys.{}.>) on {}",
            stored.stored,
            stream_name(&self.session),
            self.session,
            self.url
        ))
    }
}

impl Drop for EventPublisher {
    fn drop(&mut self) {
        drop(self.sender.take());
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// The publishing thread: connect, make the stream, say so through `ready`, then publish what
/// comes until the channel closes, awaiting acknowledgements [`ACKS_IN_FLIGHT`] at a time.
fn publish_thread(
    args: &NatsArgs,
    session: &str,
    ready: &std::sync::mpsc::Sender<Result<(), Failure>>,
    mut messages: tokio::sync::mpsc::UnboundedReceiver<(String, Vec<u8>)>,
) -> Stored {
    let runtime = match tokio::runtime::Builder::new_current_thread().enable_all().build() {
        Ok(runtime) => runtime,
        Err(error) => {
            let _ = ready.send(Err(Failure::Internal(error.into())));
            return Stored::default();
        }
    };
    runtime.block_on(async {
        let started = async {
            let client = super::connect(args, &format!("tradsys session {session}")).await?;
            let js = jetstream::new(client);
            js.get_or_create_stream(jetstream::stream::Config {
                name: stream_name(session),
                description: Some(format!("tradsys session {session}: orders, fills, rejections, alerts, changes")),
                subjects: vec![format!("tradsys.{session}.>")],
                max_age: KEEP,
                storage: jetstream::stream::StorageType::File,
                ..Default::default()
            })
            .await
            .map_err(|error| {
                Failure::Internal(anyhow!(
                    "the NATS server at {} gave no stream {}: {error} (is JetStream enabled? `nats-server -js`)",
                    args.url,
                    stream_name(session)
                ))
            })?;
            Ok::<_, Failure>(js)
        };
        let js = match started.await {
            Ok(js) => js,
            Err(failure) => {
                let _ = ready.send(Err(failure));
                return Stored::default();
            }
        };
        let _ = ready.send(Ok(()));
        let mut stored = Stored::default();
        let mut acks = Vec::with_capacity(ACKS_IN_FLIGHT);
        let fail = |stored: &mut Stored, error: String| {
            stored.failed += 1;
            if stored.first_error.is_none() {
                tracing::warn!("a session event was not stored: {error}");
                stored.first_error = Some(error);
            }
        };
        while let Some((subject, payload)) = messages.recv().await {
            match js.publish(subject, payload.into()).await {
                Ok(ack) => acks.push(ack),
                Err(error) => fail(&mut stored, error.to_string()),
            }
            if acks.len() >= ACKS_IN_FLIGHT || messages.is_empty() {
                for ack in acks.drain(..) {
                    match ack.await {
                        Ok(_) => stored.stored += 1,
                        Err(error) => fail(&mut stored, error.to_string()),
                    }
                }
            }
        }
        for ack in acks.drain(..) {
            match ack.await {
                Ok(_) => stored.stored += 1,
                Err(error) => fail(&mut stored, error.to_string()),
            }
        }
        stored
    })
}

/// The subject suffix and JSON body of one activity.
fn message(activity: &Activity<'_>) -> (String, Value) {
    use tradsys_core::types::{OrderType, Side, TimeInForce};
    let side = |side: Side| if side == Side::Buy { "buy" } else { "sell" };
    let price = |price: Option<tradsys_core::types::Price>| price.map(|p| Value::String(p.to_string()));
    match *activity {
        Activity::Order { strategy, order, symbol, request } => (
            format!("orders.{strategy}"),
            json!({
                "type": "order", "strategy": strategy, "order": order.0, "symbol": symbol, "side": side(request.side),
                "order_type": match request.order_type {
                    OrderType::Limit => "limit", OrderType::Market => "market",
                    OrderType::Stop => "stop", OrderType::StopLimit => "stop-limit",
                },
                "price": price(request.price), "trigger": price(request.trigger), "qty": request.qty.0,
                "tif": match request.tif {
                    TimeInForce::Gtc => "gtc", TimeInForce::Ioc => "ioc", TimeInForce::Fok => "fok", TimeInForce::Gtx => "gtx",
                },
            }),
        ),
        Activity::Fill { strategy, symbol, fill } => (
            format!("fills.{strategy}"),
            json!({
                "type": "fill", "strategy": strategy, "order": fill.order.0, "symbol": symbol, "side": side(fill.side),
                "price": fill.price.to_string(), "qty": fill.qty.0, "commission": fill.commission.to_string(),
            }),
        ),
        Activity::Rejected { strategy, order, qty, by, reason } => (
            format!("rejections.{strategy}"),
            json!({
                "type": "rejection", "strategy": strategy, "order": order.0, "qty": qty.0, "by": by,
                "validator": by.strip_prefix("risk:"), "reason": reason,
            }),
        ),
        Activity::Ended { strategy, order, cancelled, remaining } => (
            format!("ended.{strategy}"),
            json!({
                "type": if cancelled { "cancelled" } else { "expired" }, "strategy": strategy, "order": order.0,
                "remaining": remaining.0,
            }),
        ),
        Activity::Halted { strategy, reason } => (
            format!("status.{strategy}"),
            json!({ "type": "halted", "strategy": strategy, "reason": reason.to_string() }),
        ),
        Activity::Failed { strategy } => {
            (format!("status.{strategy}"), json!({ "type": "failed", "strategy": strategy }))
        }
        Activity::Alert(alert) => (
            "alerts".to_owned(),
            json!({
                "type": "alert", "kind": alert.kind.to_string(), "id": alert.id, "plugin": alert.plugin,
                "measure": alert.measure.to_string(), "value": alert.value, "budget": alert.budget,
                "quarantined": alert.quarantined,
            }),
        ),
        Activity::Changed(applied) => (
            "changes".to_owned(),
            json!({
                "type": "change", "component": applied.component.as_ref().map(ToString::to_string),
                "change": applied.to_string(),
            }),
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tradsys_core::component::{ClientOrderId, FillReport};
    use tradsys_core::types::{InstrumentId, Money, Price, Qty, Side};

    #[test]
    fn a_fill_and_a_risk_rejection_carry_exact_decimals_and_the_validator() {
        let fill = FillReport {
            order: ClientOrderId(7),
            ts: Timestamp(5),
            instrument: InstrumentId(0),
            side: Side::Sell,
            price: "1.07215".parse::<Price>().unwrap(),
            qty: Qty(10),
            commission: Money::from_raw(21_443),
        };
        let (subject, body) = message(&Activity::Fill { strategy: "trend", symbol: "EURUSD", fill: &fill });
        assert_eq!(subject, "fills.trend");
        assert_eq!(body["price"], "1.07215");
        assert_eq!(body["commission"], "0.00021443");
        assert_eq!((body["side"].as_str(), body["qty"].as_i64()), (Some("sell"), Some(10)));
        let rejection = Activity::Rejected {
            strategy: "trend",
            order: ClientOrderId(8),
            qty: Qty(3),
            by: "risk:size",
            reason: "too big",
        };
        let (subject, body) = message(&rejection);
        assert_eq!(
            (subject.as_str(), body["validator"].as_str(), body["by"].as_str()),
            ("rejections.trend", Some("size"), Some("risk:size"))
        );
        let venue =
            Activity::Rejected { strategy: "t", order: ClientOrderId(9), qty: Qty(1), by: "venue", reason: "x" };
        assert!(message(&venue).1["validator"].is_null());
    }

    #[test]
    fn session_ids_are_tokens_outside_the_sweeps_namespace() {
        assert!(check_session_id("desk1-eurusd_2").is_ok());
        for bad in ["", "Desk", "a.b", "a b", "sweep", &"x".repeat(65)] {
            assert!(check_session_id(bad).is_err(), "{bad:?}");
        }
    }
}
