//! The protocol between a session's `remote` strategy and the `tradsys host` that runs the
//! strategy: subjects, requests and replies, one JSON object per NATS message (docs/distributed.md,
//! "Strategies in another process").
//!
//! Every exchange is a core NATS request (no JetStream: nothing here is worth keeping once the
//! session has moved on, and a lost request is a call that timed out). The session opens an
//! instance with [`Open`] on [`open_subject`]; every later request for it goes to its own
//! [`instance_subject`]. A callback carries the event and a [`View`] of what the strategy may read
//! (gathered by the session, through its own checked handle, just before the call); the reply
//! lists what the strategy did ([`Intent`]), which the session replays through that same handle.
//!
//! JSON, like the market-data format: `nats sub` shows it as it is, and a callback's bytes (a few
//! hundred) cost far less than the round trip they ride on. Prices and money travel as exact
//! decimal text; floats (a bar's volume, indicator values) as their IEEE-754 bits, so a strategy
//! reads exactly what a local one would.

use figment::value::Dict;
use serde::{Deserialize, Serialize};
use tradsys_core::capability::{Capabilities, Capability};
use tradsys_core::component::{
    BracketExits, ClientOrderId, FillReport, OpenOrder, OrderRequest, OrderStatus, OrderUpdate, StrategySnapshot,
};
use tradsys_core::instrument::Instrument;
use tradsys_core::market::{Bar, Quote, TradeTick};
use tradsys_core::types::{InstrumentId, Money, OrderType, Price, Qty, Side, TimeInForce, Timestamp};

/// The protocol's version: a host answers an [`Open`] of another version with a refusal.
pub const PROTOCOL: u32 = 1;

/// The most outputs of one indicator a [`View`] carries.
pub const MAX_INDICATOR_OUTPUTS: usize = 16;

/// The subject a host named `host` takes [`Open`] requests on.
#[must_use]
pub fn open_subject(host: &str) -> String {
    format!("tradsys.host.{host}.open")
}

/// The subject of one instance on host `host`.
#[must_use]
pub fn instance_subject(host: &str, instance: &str) -> String {
    format!("tradsys.host.{host}.i.{instance}")
}

/// Every subject of host `host` (what it subscribes to).
#[must_use]
pub fn host_subjects(host: &str) -> String {
    format!("tradsys.host.{host}.>")
}

/// Whether `name` can be a host name: one subject token of `[A-Za-z0-9_-]`.
#[must_use]
pub fn is_host_name(name: &str) -> bool {
    !name.is_empty() && name.len() <= 64 && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// A session asks a host for an instance of one of the strategies it runs.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Open {
    /// [`PROTOCOL`] of the session's side.
    pub protocol: u32,
    /// The strategy's id in the host's config (`[strategies.<id>]`).
    pub strategy: String,
    /// The session's component id of the proxy (for the host's logs).
    pub component: String,
    /// What the session grants the proxy; the host runs the strategy with the part of it the
    /// host's config grants too.
    pub granted: Vec<Capability>,
    /// The session's instruments, in id order.
    pub instruments: Vec<Instrument>,
    /// The seed the session gives the proxy's `init`.
    pub seed: u64,
    /// How long the host keeps an instance that hears nothing from its session (keep-alives
    /// included), in milliseconds.
    pub lease_ms: u64,
}

/// A host's answer to [`Open`].
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "outcome", rename_all = "kebab-case")]
pub enum Opened {
    /// Built and initialized.
    Ready {
        /// The instance's name (the last token of its subject).
        instance: String,
        /// `name@version` of the plugin the host runs.
        plugin: String,
        /// What the strategy may do: the session's grant and the host's, both.
        granted: Vec<Capability>,
        /// Symbols the strategy resolved that the session did not have, in order.
        new_instruments: Vec<String>,
        /// The indicators the strategy asked for, in order (its handle is the index).
        indicators: Vec<IndicatorAsk>,
    },
    /// Not built: why.
    Refused {
        /// What went wrong, naming the strategy.
        error: String,
    },
}

/// An indicator the hosted strategy asked for at `init`, which the session builds (or shares).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "ask", rename_all = "kebab-case")]
pub enum IndicatorAsk {
    /// `InitContext::indicator`.
    Built {
        /// The instrument's id.
        instrument: u32,
        /// The indicator plugin.
        name: String,
        /// Its parameters.
        params: Dict,
    },
    /// `InitContext::configured_indicator`.
    Configured {
        /// The configured indicator's id.
        id: String,
    },
}

/// A request to an open instance.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "call", rename_all = "kebab-case")]
pub enum Request {
    /// `Strategy::start`.
    Start,
    /// `Strategy::stop`.
    Stop,
    /// A callback, with what the strategy may read during it.
    Event {
        /// The event.
        event: WireEvent,
        /// The state the strategy may read.
        view: View,
    },
    /// `Strategy::snapshot`.
    Snapshot,
    /// `Strategy::take_over`.
    TakeOver {
        /// The predecessor's `name@version`.
        predecessor: String,
        /// Its snapshot.
        snapshot: Option<WireSnapshot>,
        /// The open orders inherited, with the session's ids.
        inherited: Vec<WireOpenOrder>,
    },
    /// The session still runs the instance (sent every third of the lease).
    KeepAlive,
    /// `Strategy::unload`; the instance is dropped.
    Close,
}

/// A host's answer to a [`Request`].
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "outcome", rename_all = "kebab-case")]
pub enum Reply {
    /// Done; for a callback, what the strategy did.
    Done {
        /// Orders and cancels, in the order the strategy made them.
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        intents: Vec<Intent>,
        /// Reads refused for a capability not granted, counted (refused orders are intents).
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        denied: Vec<(Capability, u32)>,
    },
    /// `Strategy::snapshot`'s answer.
    Snapshot {
        /// The snapshot, if the strategy gave one.
        snapshot: Option<WireSnapshot>,
    },
    /// `Strategy::take_over` accepted: the ids the strategy knows the inherited orders by, with
    /// the session's, in the order they were sent.
    TookOver {
        /// `(the strategy's id, the session's id)`.
        inherited: Vec<(u64, u64)>,
    },
    /// The call failed (a panic, a refusal, an instance the host does not have): the session
    /// fails the strategy.
    Failed {
        /// What went wrong.
        error: String,
    },
}

/// Something the strategy did during a callback.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "intent", rename_all = "kebab-case")]
pub enum Intent {
    /// `submit`: the order and the id the strategy got.
    Submit {
        /// The strategy's id.
        id: u64,
        /// The order.
        order: WireOrder,
    },
    /// `submit` without `submit-orders`: the session refuses it in turn, so the strategy sees
    /// the rejection.
    Refused {
        /// The strategy's id.
        id: u64,
        /// The order.
        order: WireOrder,
    },
    /// `submit_bracket`.
    Bracket {
        /// The entry's id.
        entry: u64,
        /// The stop-loss's id, if asked for.
        stop_loss: Option<u64>,
        /// The take-profit's id, if asked for.
        take_profit: Option<u64>,
        /// The entry.
        order: WireOrder,
        /// The stop-loss trigger.
        stop_loss_price: Option<Price>,
        /// The take-profit price.
        take_profit_price: Option<Price>,
    },
    /// `cancel`.
    Cancel {
        /// The strategy's id of the order.
        id: u64,
    },
}

/// An order on the wire.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct WireOrder {
    /// The instrument's id.
    pub instrument: u32,
    /// Buy or sell.
    pub side: Side,
    /// The type.
    pub order_type: OrderType,
    /// The limit price.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub price: Option<Price>,
    /// The trigger.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub trigger: Option<Price>,
    /// Lots.
    pub qty: Qty,
    /// Time in force.
    pub tif: TimeInForce,
}

impl From<OrderRequest> for WireOrder {
    fn from(order: OrderRequest) -> WireOrder {
        WireOrder {
            instrument: order.instrument.0,
            side: order.side,
            order_type: order.order_type,
            price: order.price,
            trigger: order.trigger,
            qty: order.qty,
            tif: order.tif,
        }
    }
}

impl From<WireOrder> for OrderRequest {
    fn from(order: WireOrder) -> OrderRequest {
        OrderRequest {
            instrument: InstrumentId(order.instrument),
            side: order.side,
            order_type: order.order_type,
            price: order.price,
            trigger: order.trigger,
            qty: order.qty,
            tif: order.tif,
        }
    }
}

impl Intent {
    /// A bracket's intent.
    #[must_use]
    pub fn bracket(ids: tradsys_core::component::Bracket, entry: OrderRequest, exits: BracketExits) -> Intent {
        Intent::Bracket {
            entry: ids.entry.0,
            stop_loss: ids.stop_loss.map(|id| id.0),
            take_profit: ids.take_profit.map(|id| id.0),
            order: entry.into(),
            stop_loss_price: exits.stop_loss,
            take_profit_price: exits.take_profit,
        }
    }
}

/// The event of a callback.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "kebab-case")]
pub enum WireEvent {
    /// `on_bar`.
    Bar {
        /// Open time.
        ts: i64,
        /// Instrument id.
        instrument: u32,
        /// Prices.
        open: Price,
        /// Highest.
        high: Price,
        /// Lowest.
        low: Price,
        /// Last.
        close: Price,
        /// Volume, as IEEE-754 bits.
        volume_bits: u64,
    },
    /// `on_trade`.
    Trade {
        /// When.
        ts: i64,
        /// Instrument id.
        instrument: u32,
        /// Price.
        price: Price,
        /// Lots.
        qty: Qty,
        /// The taker's side.
        aggressor: Side,
    },
    /// `on_quote`.
    Quote {
        /// When.
        ts: i64,
        /// Instrument id.
        instrument: u32,
        /// Best bid.
        bid: Option<(Price, Qty)>,
        /// Best ask.
        ask: Option<(Price, Qty)>,
    },
    /// `on_fill`, with the strategy's order id.
    Fill {
        /// The strategy's id of the order.
        order: u64,
        /// When.
        ts: i64,
        /// Instrument id.
        instrument: u32,
        /// The order's side.
        side: Side,
        /// Trade price.
        price: Price,
        /// Lots.
        qty: Qty,
        /// Commission.
        commission: Money,
    },
    /// `on_order_update`, with the strategy's order id.
    Update {
        /// The strategy's id of the order.
        order: u64,
        /// The new status.
        status: WireStatus,
        /// Open quantity after the change.
        remaining: Qty,
    },
}

/// An order status on the wire.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "status", rename_all = "kebab-case")]
pub enum WireStatus {
    /// Accepted.
    Accepted,
    /// Rejected.
    Rejected {
        /// By whom.
        by: String,
        /// Why.
        reason: String,
    },
    /// Cancelled.
    Cancelled,
    /// Expired.
    Expired,
    /// Triggered.
    Triggered,
}

impl WireEvent {
    /// A bar.
    #[must_use]
    pub fn bar(bar: &Bar) -> WireEvent {
        WireEvent::Bar {
            ts: bar.ts.0,
            instrument: bar.instrument.0,
            open: bar.open,
            high: bar.high,
            low: bar.low,
            close: bar.close,
            volume_bits: bar.volume.to_bits(),
        }
    }

    /// A trade.
    #[must_use]
    pub fn trade(trade: &TradeTick) -> WireEvent {
        WireEvent::Trade {
            ts: trade.ts.0,
            instrument: trade.instrument.0,
            price: trade.price,
            qty: trade.qty,
            aggressor: trade.aggressor,
        }
    }

    /// A quote.
    #[must_use]
    pub fn quote(quote: &Quote) -> WireEvent {
        WireEvent::Quote { ts: quote.ts.0, instrument: quote.instrument.0, bid: quote.bid, ask: quote.ask }
    }

    /// A fill, naming the order by the strategy's id.
    #[must_use]
    pub fn fill(fill: &FillReport, order: u64) -> WireEvent {
        WireEvent::Fill {
            order,
            ts: fill.ts.0,
            instrument: fill.instrument.0,
            side: fill.side,
            price: fill.price,
            qty: fill.qty,
            commission: fill.commission,
        }
    }

    /// An order update, naming the order by the strategy's id.
    #[must_use]
    pub fn update(update: &OrderUpdate, order: u64) -> WireEvent {
        let status = match &update.status {
            OrderStatus::Accepted => WireStatus::Accepted,
            OrderStatus::Rejected { by, reason } => WireStatus::Rejected { by: by.clone(), reason: reason.clone() },
            OrderStatus::Cancelled => WireStatus::Cancelled,
            OrderStatus::Expired => WireStatus::Expired,
            OrderStatus::Triggered => WireStatus::Triggered,
        };
        WireEvent::Update { order, status, remaining: update.remaining }
    }
}

/// The event a host hands its strategy.
#[derive(Clone, Debug, PartialEq)]
pub enum HostedEvent {
    /// A bar.
    Bar(Bar),
    /// A trade.
    Trade(TradeTick),
    /// A quote.
    Quote(Quote),
    /// A fill.
    Fill(FillReport),
    /// An order update.
    Update(OrderUpdate),
}

impl From<WireEvent> for HostedEvent {
    fn from(event: WireEvent) -> HostedEvent {
        match event {
            WireEvent::Bar { ts, instrument, open, high, low, close, volume_bits } => HostedEvent::Bar(Bar {
                ts: Timestamp(ts),
                instrument: InstrumentId(instrument),
                open,
                high,
                low,
                close,
                volume: f64::from_bits(volume_bits),
            }),
            WireEvent::Trade { ts, instrument, price, qty, aggressor } => HostedEvent::Trade(TradeTick {
                ts: Timestamp(ts),
                instrument: InstrumentId(instrument),
                price,
                qty,
                aggressor,
            }),
            WireEvent::Quote { ts, instrument, bid, ask } => {
                HostedEvent::Quote(Quote { ts: Timestamp(ts), instrument: InstrumentId(instrument), bid, ask })
            }
            WireEvent::Fill { order, ts, instrument, side, price, qty, commission } => HostedEvent::Fill(FillReport {
                order: ClientOrderId(order),
                ts: Timestamp(ts),
                instrument: InstrumentId(instrument),
                side,
                price,
                qty,
                commission,
            }),
            WireEvent::Update { order, status, remaining } => {
                let status = match status {
                    WireStatus::Accepted => OrderStatus::Accepted,
                    WireStatus::Rejected { by, reason } => OrderStatus::Rejected { by, reason },
                    WireStatus::Cancelled => OrderStatus::Cancelled,
                    WireStatus::Expired => OrderStatus::Expired,
                    WireStatus::Triggered => OrderStatus::Triggered,
                };
                HostedEvent::Update(OrderUpdate { order: ClientOrderId(order), status, remaining })
            }
        }
    }
}

/// What the strategy may read during one callback, gathered by the session just before it. A
/// part the strategy may not read is empty (the host refuses the read itself, and counts it).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct View {
    /// The event time (`read-clock`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub now: Option<i64>,
    /// Non-zero positions by instrument id (`read-position`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub positions: Vec<(u32, Qty)>,
    /// Resting orders, with the strategy's ids (`read-position`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub open_orders: Vec<WireOpenOrder>,
    /// Cash (`read-portfolio`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cash: Option<Money>,
    /// Equity (`read-portfolio`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub equity: Option<Money>,
    /// Each asked-for indicator's outputs as IEEE-754 bits, `None` until warm; trailing `None`s
    /// are left off (`indicators`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub indicators: Vec<Vec<Option<u64>>>,
    /// Market state of each instrument that has any (`market-data`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub markets: Vec<WireMarket>,
}

/// One instrument's market state in a [`View`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct WireMarket {
    /// Instrument id.
    pub instrument: u32,
    /// Best bid.
    pub bid: Option<Price>,
    /// Best ask.
    pub ask: Option<Price>,
    /// Last trade.
    pub last: Option<Price>,
}

/// A resting order on the wire.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct WireOpenOrder {
    /// The order's id (the strategy's in a view, the session's in a take-over).
    pub id: u64,
    /// Instrument id.
    pub instrument: u32,
    /// Side.
    pub side: Side,
    /// Limit price, or a waiting stop's trigger.
    pub price: Price,
    /// A waiting stop's trigger.
    pub trigger: Option<Price>,
    /// Open quantity.
    pub remaining: Qty,
}

impl WireOpenOrder {
    /// `order`, named by `id`.
    #[must_use]
    pub fn of(order: &OpenOrder, id: u64) -> WireOpenOrder {
        WireOpenOrder {
            id,
            instrument: order.instrument.0,
            side: order.side,
            price: order.price,
            trigger: order.trigger,
            remaining: order.remaining,
        }
    }
}

impl From<WireOpenOrder> for OpenOrder {
    fn from(order: WireOpenOrder) -> OpenOrder {
        OpenOrder {
            id: ClientOrderId(order.id),
            instrument: InstrumentId(order.instrument),
            side: order.side,
            price: order.price,
            trigger: order.trigger,
            remaining: order.remaining,
        }
    }
}

/// A strategy's snapshot on the wire.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct WireSnapshot {
    /// The plugin that wrote it.
    pub plugin: String,
    /// Its state.
    pub state: Dict,
}

impl From<&StrategySnapshot> for WireSnapshot {
    fn from(snapshot: &StrategySnapshot) -> WireSnapshot {
        WireSnapshot { plugin: snapshot.plugin.clone(), state: snapshot.state.clone() }
    }
}

impl From<WireSnapshot> for StrategySnapshot {
    fn from(snapshot: WireSnapshot) -> StrategySnapshot {
        StrategySnapshot { plugin: snapshot.plugin, state: snapshot.state }
    }
}

/// A set of capabilities on the wire.
#[must_use]
pub fn capability_list(capabilities: Capabilities) -> Vec<Capability> {
    capabilities.iter().collect()
}

/// Encodes a message (every type here serializes: no map has a non-string key).
#[must_use]
pub fn encode(message: &impl Serialize) -> Vec<u8> {
    serde_json::to_vec(message).unwrap_or_else(|error| {
        tracing::error!(%error, "a remote-strategy message did not serialize");
        b"{}".to_vec()
    })
}

/// Decodes a message, naming what was expected.
///
/// # Errors
/// Not JSON, or not the message expected.
pub fn decode<T: serde::de::DeserializeOwned>(bytes: &[u8], what: &str) -> Result<T, String> {
    serde_json::from_slice(bytes).map_err(|error| {
        format!("a malformed {what} ({error}): {}", tradsys_core::limits::excerpt_bytes(&bytes[..bytes.len().min(200)]))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_event_and_a_view_cross_exactly() {
        let bar = Bar {
            ts: Timestamp(1_700_000_000_000_000_000),
            instrument: InstrumentId(2),
            open: "1.10001".parse().unwrap(),
            high: "1.10050".parse().unwrap(),
            low: "1.09990".parse().unwrap(),
            close: "1.10020".parse().unwrap(),
            volume: 0.1 + 0.2,
        };
        let request = Request::Event {
            event: WireEvent::bar(&bar),
            view: View { indicators: vec![vec![Some((1.0f64 / 3.0).to_bits()), None]], ..View::default() },
        };
        let back: Request = decode(&encode(&request), "request").unwrap();
        assert_eq!(back, request);
        let Request::Event { event, view } = back else { unreachable!() };
        assert_eq!(HostedEvent::from(event), HostedEvent::Bar(bar), "the volume's bits survive");
        assert_eq!(view.indicators[0][0].map(f64::from_bits), Some(1.0 / 3.0));
    }

    #[test]
    fn a_malformed_message_is_named() {
        let error = decode::<Reply>(b"{\"outcome\":\"nope\"}", "reply").unwrap_err();
        assert!(error.starts_with("a malformed reply (unknown variant `nope`"), "{error}");
    }

    #[test]
    fn host_names_are_one_subject_token() {
        assert!(is_host_name("desk-a_1"));
        assert!(!is_host_name("desk.a") && !is_host_name("") && !is_host_name("a>b") && !is_host_name("a*"));
    }
}
