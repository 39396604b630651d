//! The session's side: a [`Strategy`] whose callbacks are requests to a host.
//!
//! Each callback gathers a view of what the strategy may read through the session's own
//! context, sends it with the event, and replays the orders and cancels that come back through
//! that same context, narrowed to the grant both sides agreed on. So capabilities, buying power
//! and the risk chain apply to a remote strategy's orders exactly as to a local one's.
//!
//! A host that does not answer (not running, crashed, restarted, or past the call budget) makes
//! the callback panic with what happened; the boundary contains it and fails this strategy alone,
//! cancelling its orders, as it does a local strategy that panics.

use std::time::Duration;

use tradsys_core::capability::Capabilities;
use tradsys_core::component::{
    ClientOrderId, ComponentError, FillReport, Handover, InitContext, OrderUpdate, Strategy, StrategyContext,
    StrategySnapshot,
};
use tradsys_core::market::{Bar, Quote, TradeTick};
use tradsys_core::types::InstrumentId;

use crate::Params;
use crate::link::{Endpoint, Link};
use crate::relay::Relay;
use crate::wire::{self, IndicatorAsk, Open, Opened, Reply, Request, WireEvent, WireOpenOrder, WireSnapshot};

/// The longest a close waits for the host's answer.
const CLOSE_TIMEOUT: Duration = Duration::from_secs(1);

/// A strategy run by a `tradsys host`.
#[derive(Debug)]
pub struct RemoteStrategy {
    params: Params,
    open: Option<OpenInstance>,
}

/// An instance the host opened for this proxy.
#[derive(Debug)]
struct OpenInstance {
    link: Link,
    subject: String,
    /// `<strategy> on host <host> (<plugin>)`, for messages.
    label: String,
    relay: Relay,
    keep_alive: tokio::task::AbortHandle,
}

impl RemoteStrategy {
    /// A proxy with checked parameters; it connects at `init`.
    pub(crate) fn new(params: Params) -> RemoteStrategy {
        RemoteStrategy { params, open: None }
    }

    fn budget(&self) -> Duration {
        Duration::from_millis(self.params.budget_ms)
    }

    fn setup_timeout(&self) -> Duration {
        Duration::from_millis(self.params.setup_timeout_ms)
    }

    /// A lifecycle request (start, stop, snapshot, take-over).
    fn setup(&self, request: &Request, call: &str) -> Result<Reply, ComponentError> {
        let Some(open) = &self.open else {
            return Err(ComponentError::new(format!("remote strategy {}: not open (in {call})", self.params.strategy)));
        };
        let reply = open.link.request::<Reply>(&open.subject, request, self.setup_timeout(), "reply").map_err(
            |unanswered| {
                ComponentError::new(format!("{}: {}", open.label, unanswered.describe(&self.params.host, call)))
            },
        )?;
        match reply {
            Reply::Failed { error } => Err(ComponentError::new(format!("{}: {error} (in {call})", open.label))),
            reply => Ok(reply),
        }
    }

    /// One callback: the event and the view out, the strategy's intents back and replayed.
    fn callback(&mut self, event: WireEvent, ctx: &mut StrategyContext<'_>, call: &str) {
        let budget = self.budget();
        let host = self.params.host.clone();
        let Some(open) = &mut self.open else { return };
        let view = open.relay.gather(ctx);
        let reply = open.link.request::<Reply>(&open.subject, &Request::Event { event, view }, budget, "reply");
        match reply {
            Ok(Reply::Done { intents, denied }) => open.relay.replay(intents, &denied, ctx),
            Ok(Reply::Failed { error }) => panic!("{}: {error} (in {call})", open.label),
            Ok(other) => panic!("{}: host {host} answered {call} with {other:?}", open.label),
            Err(unanswered) => panic!("{}: {}", open.label, unanswered.describe(&host, call)),
        }
    }

    fn close(&mut self) {
        let Some(open) = self.open.take() else { return };
        open.keep_alive.abort();
        // A close is a courtesy (the lease drops the instance anyway): never wait long for it.
        let wait = self.setup_timeout().min(CLOSE_TIMEOUT);
        let closed = open.link.request::<Reply>(&open.subject, &Request::Close, wait, "reply");
        if let Err(unanswered) = closed {
            tracing::warn!(
                strategy = %open.label,
                "remote strategy: {}; the host drops the instance when its lease runs out",
                unanswered.describe(&self.params.host, "close")
            );
        }
    }
}

impl Strategy for RemoteStrategy {
    fn init(&mut self, ctx: &mut InitContext<'_>) -> Result<(), ComponentError> {
        let params = &self.params;
        let strategy = if params.strategy.is_empty() { ctx.component().to_owned() } else { params.strategy.clone() };
        let failed = |message: String| ComponentError::new(format!("remote strategy {strategy}: {message}"));
        let endpoint =
            Endpoint { url: params.url.clone(), token_env: params.token_env.clone(), creds: params.creds.clone() };
        let link = Link::connect(&endpoint).map_err(failed)?;
        let granted_here = ctx.allowed();
        let open = Open {
            protocol: wire::PROTOCOL,
            strategy: strategy.clone(),
            component: ctx.component().to_owned(),
            granted: wire::capability_list(granted_here),
            instruments: ctx.instruments().iter().map(|(_, instrument)| instrument.clone()).collect(),
            seed: ctx.seed(),
            lease_ms: params.lease_ms,
        };
        let opened = link
            .request::<Opened>(&wire::open_subject(&params.host), &open, self.setup_timeout(), "open reply")
            .map_err(|unanswered| failed(unanswered.describe(&params.host, "open")))?;
        let (instance, plugin, granted, new_instruments, asks) = match opened {
            Opened::Ready { instance, plugin, granted, new_instruments, indicators } => {
                (instance, plugin, granted, new_instruments, indicators)
            }
            Opened::Refused { error } => return Err(failed(format!("host {} refused: {error}", params.host))),
        };
        let granted: Capabilities = granted.into_iter().collect::<Capabilities>().intersection(granted_here);
        let label = format!("remote strategy {strategy} on host {} ({plugin})", params.host);
        for symbol in &new_instruments {
            ctx.instrument(symbol).map_err(|error| failed(error.to_string()))?;
        }
        let mut indicators = Vec::with_capacity(asks.len());
        for ask in asks {
            let handle = match ask {
                IndicatorAsk::Built { instrument, name, params } => {
                    ctx.indicator(InstrumentId(instrument), &name, params)?
                }
                IndicatorAsk::Configured { id } => ctx.configured_indicator(&id)?,
            };
            indicators.push(handle);
        }
        let subject = wire::instance_subject(&params.host, &instance);
        let keep_alive = link.keep_alive(subject.clone(), Duration::from_millis(params.lease_ms / 3));
        tracing::info!(strategy = %label, instance, "remote strategy: opened");
        let relay = Relay::new(granted, indicators);
        self.open = Some(OpenInstance { link, subject, label, relay, keep_alive });
        Ok(())
    }

    fn start(&mut self) -> Result<(), ComponentError> {
        self.setup(&Request::Start, "start").map(drop)
    }

    fn stop(&mut self) -> Result<(), ComponentError> {
        self.setup(&Request::Stop, "stop").map(drop)
    }

    fn unload(&mut self) {
        self.close();
    }

    fn on_bar(&mut self, bar: &Bar, ctx: &mut StrategyContext<'_>) {
        self.callback(WireEvent::bar(bar), ctx, "on_bar");
    }

    fn on_trade(&mut self, trade: &TradeTick, ctx: &mut StrategyContext<'_>) {
        self.callback(WireEvent::trade(trade), ctx, "on_trade");
    }

    fn on_quote(&mut self, quote: &Quote, ctx: &mut StrategyContext<'_>) {
        self.callback(WireEvent::quote(quote), ctx, "on_quote");
    }

    fn on_fill(&mut self, fill: &FillReport, ctx: &mut StrategyContext<'_>) {
        let Some(order) = self.hosted_id(fill.order) else { return };
        self.callback(WireEvent::fill(fill, order), ctx, "on_fill");
    }

    fn on_order_update(&mut self, update: &OrderUpdate, ctx: &mut StrategyContext<'_>) {
        let Some(order) = self.hosted_id(update.order) else { return };
        self.callback(WireEvent::update(update, order), ctx, "on_order_update");
    }

    /// The hosted strategy's snapshot. A host that does not answer gives none (the successor of a
    /// swap away from a lost host starts afresh, with a warning); a strategy that fails to give
    /// one fails, and the swap is refused, as for a local strategy whose snapshot panics.
    fn snapshot(&self) -> Option<StrategySnapshot> {
        let open = self.open.as_ref()?;
        let reply = open.link.request::<Reply>(&open.subject, &Request::Snapshot, self.setup_timeout(), "reply");
        match reply {
            Ok(Reply::Snapshot { snapshot }) => snapshot.map(StrategySnapshot::from),
            Ok(Reply::Failed { error }) => panic!("{}: {error} (in snapshot)", open.label),
            Ok(other) => panic!("{}: answered snapshot with {other:?}", open.label),
            Err(unanswered) => {
                let error = unanswered.describe(&self.params.host, "snapshot");
                tracing::warn!(strategy = %open.label, "remote strategy: {error}; its successor gets no snapshot");
                None
            }
        }
    }

    fn take_over(&mut self, handover: &Handover<'_>) -> Result<(), ComponentError> {
        let request = Request::TakeOver {
            predecessor: handover.predecessor.to_owned(),
            snapshot: handover.snapshot.map(WireSnapshot::from),
            inherited: handover.inherited.iter().map(|order| WireOpenOrder::of(order, order.id.0)).collect(),
        };
        match self.setup(&request, "take_over")? {
            Reply::TookOver { inherited } => {
                let open = self.open.as_mut().ok_or_else(|| ComponentError::new("remote strategy: not open"))?;
                open.relay.adopt(inherited);
                Ok(())
            }
            other => Err(ComponentError::new(format!("remote strategy: answered take_over with {other:?}"))),
        }
    }
}

impl RemoteStrategy {
    /// The strategy's id of one of the session's order ids (`None`: an order it never knew).
    fn hosted_id(&self, order: ClientOrderId) -> Option<u64> {
        self.open.as_ref().and_then(|open| open.relay.hosted_id(order))
    }
}

impl Drop for RemoteStrategy {
    fn drop(&mut self) {
        self.close();
    }
}
