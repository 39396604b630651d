//! The host's side: the strategies a `tradsys host` runs for sessions elsewhere.
//!
//! One dispatcher reads every subject of the host ([`wire::host_subjects`]). An [`Open`] starts an
//! instance on a thread of its own, which builds and initializes the strategy and then answers
//! that instance's requests in order; so a strategy that is slow, or hangs, holds up only its own
//! session. Every call into the strategy passes core's boundary: a panic is contained, reported
//! to the session (which fails the strategy there) and the instance answers nothing but that
//! failure afterwards. An instance that hears nothing from its session for its lease (the session
//! sends keep-alives) is stopped and dropped.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::sync::mpsc;
use std::time::{Duration, Instant};

use figment::value::Dict;
use futures_util::StreamExt;
use tradsys_core::boundary::{self, Call};
use tradsys_core::capability::{Capabilities, Permissions};
use tradsys_core::component::{
    ComponentError, ComponentId, Handover, IndicatorHandle, IndicatorProvider, InitContext, OpenOrder, Strategy,
    StrategyContext,
};
use tradsys_core::factory::Plan;
use tradsys_core::instrument::{Instrument, InstrumentTable};
use tradsys_core::metrics::Meter;
use tradsys_core::plugin::{ComponentDescriptor, Instance, Kind};
use tradsys_core::types::InstrumentId;

use crate::view_host::ViewHost;
use crate::wire::{self, HostedEvent, IndicatorAsk, Open, Opened, Reply, Request, WireOpenOrder};

/// One strategy a host can run: an entry of its config, checked.
#[derive(Clone, Debug)]
pub struct Hosted {
    /// Its id in the host's config.
    pub id: String,
    /// `name@version` of its plugin.
    pub plugin: String,
    /// What its plugin declares (and the host's config grants): what it may use here.
    pub granted: Capabilities,
    descriptor: Arc<ComponentDescriptor>,
    params: Dict,
}

/// The strategies a host runs, by id.
#[derive(Clone, Debug, Default)]
pub struct Catalogue {
    strategies: BTreeMap<String, Hosted>,
}

impl Catalogue {
    /// The strategies of a checked config's plan (its other components are not run).
    #[must_use]
    pub fn from_plan(plan: &Plan) -> Catalogue {
        let strategies = plan
            .components
            .iter()
            .filter(|planned| planned.request.kind == Kind::Strategy)
            .map(|planned| {
                let hosted = Hosted {
                    id: planned.request.id.clone(),
                    plugin: format!("{}@{}", planned.request.plugin, planned.registered.version),
                    granted: Capabilities::of(&planned.registered.descriptor.capabilities),
                    descriptor: Arc::clone(&planned.registered.descriptor),
                    params: planned.request.params.clone(),
                };
                (hosted.id.clone(), hosted)
            })
            .collect();
        Catalogue { strategies }
    }

    /// The ids, in order.
    pub fn ids(&self) -> impl Iterator<Item = &str> {
        self.strategies.keys().map(String::as_str)
    }

    /// Whether there is nothing to run.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.strategies.is_empty()
    }

    fn get(&self, id: &str) -> Result<&Hosted, String> {
        self.strategies.get(id).ok_or_else(|| {
            let ids: Vec<&str> = self.ids().collect();
            format!("this host runs no strategy {}; it runs {}", tradsys_core::limits::excerpt(id), ids.join(", "))
        })
    }
}

/// What a host did, when it stops.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Served {
    /// Instances asked for (opened, or refused with the reason).
    pub opened: u64,
    /// Instances dropped because their lease ran out.
    pub expired: u64,
}

/// A message for an instance's thread.
struct Inbound {
    payload: Vec<u8>,
    reply: Option<async_nats::Subject>,
}

/// The dispatcher's record of an instance.
struct Entry {
    inbox: mpsc::Sender<Inbound>,
    last_heard: Instant,
    lease: Duration,
    thread: std::thread::JoinHandle<()>,
}

/// Serves host `name`'s subjects on `client` until `stop` completes.
///
/// # Errors
/// The subscription cannot be made.
pub async fn serve(
    client: async_nats::Client,
    name: &str,
    catalogue: Arc<Catalogue>,
    stop: impl std::future::Future<Output = ()>,
) -> Result<Served, String> {
    let prefix = format!("tradsys.host.{name}.");
    let mut subscription = client
        .subscribe(wire::host_subjects(name))
        .await
        .map_err(|error| format!("cannot subscribe to {}: {error}", wire::host_subjects(name)))?;
    client.flush().await.map_err(|error| format!("cannot reach the server: {error}"))?;
    let runtime = tokio::runtime::Handle::current();
    let nonce = instance_nonce();
    let mut instances: HashMap<String, Entry> = HashMap::new();
    let mut served = Served::default();
    let mut reaper = tokio::time::interval(Duration::from_millis(500));
    tokio::pin!(stop);
    loop {
        tokio::select! {
            () = &mut stop => break,
            _ = reaper.tick() => served.expired += reap(&mut instances),
            message = subscription.next() => {
                let Some(message) = message else { break };
                let Some(rest) = message.subject.as_str().strip_prefix(&prefix) else { continue };
                let inbound = Inbound { payload: message.payload.to_vec(), reply: message.reply.clone() };
                if rest == "open" {
                    served.opened += 1;
                    let instance = format!("{nonce}-{}", served.opened);
                    if let Some(entry) = open(&client, &runtime, &catalogue, &instance, inbound) {
                        instances.insert(instance, entry);
                    }
                } else if let Some(instance) = rest.strip_prefix("i.") {
                    deliver(&client, &mut instances, instance, inbound).await;
                }
            }
        }
    }
    for (_, entry) in instances.drain() {
        drop(entry.inbox);
        let deadline = Instant::now() + Duration::from_secs(2);
        while !entry.thread.is_finished() && Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }
    Ok(served)
}

/// A name no earlier run of a host gave an instance, so a session still talking to an instance
/// of a host that restarted is told it is gone rather than reaching a new one.
fn instance_nonce() -> String {
    let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_nanos());
    format!("{:x}{:x}", std::process::id(), nanos & 0xffff_ffff_ffff)
}

/// Drops the instances whose lease ran out; returns how many.
fn reap(instances: &mut HashMap<String, Entry>) -> u64 {
    let now = Instant::now();
    let expired: Vec<String> = instances
        .iter()
        .filter(|(_, entry)| now.duration_since(entry.last_heard) > entry.lease || entry.thread.is_finished())
        .map(|(name, _)| name.clone())
        .collect();
    let mut count = 0;
    for name in expired {
        if let Some(entry) = instances.remove(&name)
            && !entry.thread.is_finished()
        {
            tracing::warn!(instance = name, "host: no word from the instance's session within its lease; dropping it");
            count += 1;
        }
    }
    count
}

/// Hands a message to its instance, or answers that there is no such instance.
async fn deliver(
    client: &async_nats::Client,
    instances: &mut HashMap<String, Entry>,
    instance: &str,
    inbound: Inbound,
) {
    let reply = inbound.reply.clone();
    if let Some(entry) = instances.get_mut(instance) {
        entry.last_heard = Instant::now();
        if entry.inbox.send(inbound).is_ok() {
            return;
        }
        instances.remove(instance);
    }
    if let Some(reply) = reply {
        let error = format!(
            "this host has no instance {} (it restarted, its lease ran out, or it was closed)",
            tradsys_core::limits::excerpt(instance)
        );
        publish(client, reply, &Reply::Failed { error }).await;
    }
}

async fn publish(client: &async_nats::Client, subject: async_nats::Subject, message: &impl serde::Serialize) {
    if let Err(error) = client.publish(subject, wire::encode(message).into()).await {
        tracing::warn!(%error, "host: a reply was not sent");
    }
}

/// Starts an instance for an [`Open`]; `None` (after answering) when it cannot be opened.
fn open(
    client: &async_nats::Client,
    runtime: &tokio::runtime::Handle,
    catalogue: &Catalogue,
    instance: &str,
    inbound: Inbound,
) -> Option<Entry> {
    let reply = inbound.reply?;
    let refuse = |error: String| {
        tracing::warn!("host: refused to open an instance: {error}");
        let (client, reply) = (client.clone(), reply.clone());
        runtime.spawn(async move { publish(&client, reply, &Opened::Refused { error }).await });
        None
    };
    let open: Open = match wire::decode(&inbound.payload, "open request") {
        Ok(open) => open,
        Err(error) => return refuse(error),
    };
    if open.protocol != wire::PROTOCOL {
        return refuse(format!("the session speaks protocol {}, this host {}", open.protocol, wire::PROTOCOL));
    }
    let hosted = match catalogue.get(&open.strategy) {
        Ok(hosted) => hosted.clone(),
        Err(error) => return refuse(error),
    };
    let (inbox, requests) = mpsc::channel();
    let lease = Duration::from_millis(open.lease_ms.max(1_000));
    let worker = Worker { client: client.clone(), runtime: runtime.clone(), instance: instance.to_owned() };
    let answer_to = reply.clone();
    let thread = std::thread::Builder::new()
        .name(format!("host-{}", hosted.id))
        .spawn(move || worker.run(&hosted, &open, answer_to, &requests));
    match thread {
        Ok(thread) => Some(Entry { inbox, last_heard: Instant::now(), lease, thread }),
        Err(error) => refuse(format!("cannot start a thread for the instance: {error}")),
    }
}

/// An instance's thread: its strategy, and the way to answer.
struct Worker {
    client: async_nats::Client,
    runtime: tokio::runtime::Handle,
    instance: String,
}

/// A strategy the worker runs, and what it needs around each call.
struct Running {
    component: ComponentId,
    strategy: Box<dyn Strategy>,
    host: ViewHost,
    meter: Meter,
    /// Set when a call panicked: the instance answers only that afterwards.
    failed: Option<String>,
}

impl Worker {
    fn answer(&self, reply: async_nats::Subject, message: &impl serde::Serialize) {
        self.runtime.block_on(publish(&self.client, reply, message));
    }

    fn run(self, hosted: &Hosted, open: &Open, reply: async_nats::Subject, requests: &mpsc::Receiver<Inbound>) {
        let (opened, running) = match start(hosted, open, &self.instance) {
            Ok((opened, running)) => (opened, Some(running)),
            Err(error) => (Opened::Refused { error }, None),
        };
        self.answer(reply, &opened);
        let Some(mut running) = running else { return };
        tracing::info!(instance = self.instance, strategy = hosted.id, session = open.component, "host: opened");
        let mut closed = false;
        while let Ok(inbound) = requests.recv() {
            let request = match wire::decode::<Request>(&inbound.payload, "request") {
                Ok(request) => request,
                Err(error) => {
                    if let Some(reply) = inbound.reply {
                        self.answer(reply, &Reply::Failed { error });
                    }
                    continue;
                }
            };
            let closing = matches!(request, Request::Close);
            let answer = running.handle(request);
            if let (Some(reply), Some(answer)) = (inbound.reply, answer) {
                self.answer(reply, &answer);
            }
            if closing {
                closed = true;
                break;
            }
        }
        if !closed {
            // The lease ran out or the host is stopping: stop and unload as a session would.
            running.lifecycle(Call::Stop, |strategy| strategy.stop());
            running.unload();
        }
        tracing::info!(instance = self.instance, strategy = hosted.id, "host: instance closed");
    }
}

/// The indicators a strategy asks for at `init`, recorded for the session to build: the handle
/// it gets is the ask's index, which the views follow.
#[derive(Debug, Default)]
struct Asks(Vec<IndicatorAsk>);

impl Asks {
    fn push(&mut self, ask: IndicatorAsk) -> IndicatorHandle {
        self.0.push(ask);
        IndicatorHandle(u32::try_from(self.0.len() - 1).unwrap_or(u32::MAX))
    }
}

impl IndicatorProvider for Asks {
    fn request(
        &mut self,
        _requester: &str,
        instrument: InstrumentId,
        _symbol: &str,
        name: &str,
        params: Dict,
    ) -> Result<IndicatorHandle, ComponentError> {
        Ok(self.push(IndicatorAsk::Built { instrument: instrument.0, name: name.to_owned(), params }))
    }

    fn configured(&mut self, _requester: &str, id: &str) -> Result<IndicatorHandle, ComponentError> {
        Ok(self.push(IndicatorAsk::Configured { id: id.to_owned() }))
    }
}

/// Builds and initializes the strategy for `open`.
fn start(hosted: &Hosted, open: &Open, instance: &str) -> Result<(Opened, Running), String> {
    let component = ComponentId::new(Kind::Strategy, hosted.id.as_str());
    let mut meter = Meter::new(true);
    let mut instruments = InstrumentTable::default();
    for sent in &open.instruments {
        let instrument = Instrument::new(&sent.symbol, sent.tick, sent.lot_size)
            .map_err(|error| format!("the session's {error}"))?;
        instruments.declare(instrument).map_err(|error| error.to_string())?;
    }
    let known = instruments.len();
    let session_grant: Capabilities = open.granted.iter().copied().collect();
    let granted = hosted.granted.intersection(session_grant);
    let permissions = Permissions::new(granted);
    let built = boundary::contain(&component, &mut meter, Call::Build, || hosted.descriptor.build(&hosted.params));
    let mut strategy = match built {
        Ok(Ok(Instance::Strategy(strategy))) => strategy,
        Ok(Ok(_)) => return Err(format!("{} is not a strategy", hosted.plugin)),
        Ok(Err(error)) => return Err(format!("{} ({}): {error}", hosted.id, hosted.plugin)),
        Err(panicked) => return Err(panicked.to_string()),
    };
    let mut asks = Asks::default();
    let initialized = boundary::contain(&component, &mut meter, Call::Init, || {
        let mut ctx = InitContext::new(&hosted.id, &mut instruments, open.seed)
            .with_permissions(&permissions)
            .with_indicators(&mut asks);
        strategy.init(&mut ctx)
    });
    match initialized {
        Ok(Ok(())) => {}
        Ok(Err(error)) => return Err(format!("{} ({}): {error}", hosted.id, hosted.plugin)),
        Err(panicked) => return Err(panicked.to_string()),
    }
    let new_instruments = instruments.iter().skip(known).map(|(_, instrument)| instrument.symbol.clone()).collect();
    let opened = Opened::Ready {
        instance: instance.to_owned(),
        plugin: hosted.plugin.clone(),
        granted: wire::capability_list(granted),
        new_instruments,
        indicators: asks.0,
    };
    let host = ViewHost::new(permissions, instruments);
    Ok((opened, Running { component, strategy, host, meter, failed: None }))
}

impl Running {
    /// Answers one request (`None`: nothing to answer, a keep-alive).
    fn handle(&mut self, request: Request) -> Option<Reply> {
        if let Some(error) = &self.failed
            && !matches!(request, Request::Close | Request::KeepAlive)
        {
            return Some(Reply::Failed { error: format!("the strategy failed earlier: {error}") });
        }
        Some(match request {
            Request::KeepAlive => return None,
            Request::Start => self.lifecycle(Call::Start, |strategy| strategy.start()),
            Request::Stop => self.lifecycle(Call::Stop, |strategy| strategy.stop()),
            Request::Close => {
                self.unload();
                Reply::Done { intents: Vec::new(), denied: Vec::new() }
            }
            Request::Event { event, view } => {
                self.host.load(view);
                let event = HostedEvent::from(event);
                let call = match &event {
                    HostedEvent::Bar(_) => Call::OnBar,
                    HostedEvent::Trade(_) => Call::OnTrade,
                    HostedEvent::Quote(_) => Call::OnQuote,
                    HostedEvent::Fill(_) => Call::OnFill,
                    HostedEvent::Update(_) => Call::OnOrderUpdate,
                };
                let (strategy, host) = (&mut self.strategy, &mut self.host);
                let called = boundary::contain(&self.component, &mut self.meter, call, || {
                    let mut ctx = StrategyContext::new(host);
                    match &event {
                        HostedEvent::Bar(bar) => strategy.on_bar(bar, &mut ctx),
                        HostedEvent::Trade(trade) => strategy.on_trade(trade, &mut ctx),
                        HostedEvent::Quote(quote) => strategy.on_quote(quote, &mut ctx),
                        HostedEvent::Fill(fill) => strategy.on_fill(fill, &mut ctx),
                        HostedEvent::Update(update) => strategy.on_order_update(update, &mut ctx),
                    }
                });
                match called {
                    Ok(()) => {
                        let (intents, denied) = self.host.take();
                        Reply::Done { intents, denied }
                    }
                    Err(panicked) => self.fail(panicked.to_string()),
                }
            }
            Request::Snapshot => {
                let strategy = &self.strategy;
                match boundary::contain(&self.component, &mut self.meter, Call::Snapshot, || strategy.snapshot()) {
                    Ok(snapshot) => Reply::Snapshot { snapshot: snapshot.as_ref().map(wire::WireSnapshot::from) },
                    Err(panicked) => self.fail(panicked.to_string()),
                }
            }
            Request::TakeOver { predecessor, snapshot, inherited } => {
                self.take_over(&predecessor, snapshot, &inherited)
            }
        })
    }

    /// A lifecycle hook through the boundary.
    fn lifecycle(&mut self, call: Call, hook: impl FnOnce(&mut dyn Strategy) -> Result<(), ComponentError>) -> Reply {
        let strategy = &mut *self.strategy;
        match boundary::contain(&self.component, &mut self.meter, call, || hook(strategy)) {
            Ok(Ok(())) => Reply::Done { intents: Vec::new(), denied: Vec::new() },
            Ok(Err(error)) => Reply::Failed { error: error.to_string() },
            Err(panicked) => self.fail(panicked.to_string()),
        }
    }

    fn unload(&mut self) {
        let strategy = &mut *self.strategy;
        let _ = boundary::contain(&self.component, &mut self.meter, Call::Unload, || strategy.unload());
    }

    fn take_over(
        &mut self,
        predecessor: &str,
        snapshot: Option<wire::WireSnapshot>,
        inherited: &[WireOpenOrder],
    ) -> Reply {
        let mut pairs = Vec::with_capacity(inherited.len());
        let orders: Vec<OpenOrder> = inherited
            .iter()
            .map(|order| {
                let id = self.host.adopt();
                pairs.push((id.0, order.id));
                OpenOrder::from(WireOpenOrder { id: id.0, ..*order })
            })
            .collect();
        let snapshot = snapshot.map(tradsys_core::component::StrategySnapshot::from);
        let handover = Handover { predecessor, snapshot: snapshot.as_ref(), inherited: &orders };
        let strategy = &mut *self.strategy;
        match boundary::contain(&self.component, &mut self.meter, Call::TakeOver, || strategy.take_over(&handover)) {
            Ok(Ok(())) => Reply::TookOver { inherited: pairs },
            Ok(Err(error)) => Reply::Failed { error: error.to_string() },
            Err(panicked) => self.fail(panicked.to_string()),
        }
    }

    /// Marks the instance failed by a contained panic and says so.
    fn fail(&mut self, error: String) -> Reply {
        self.failed = Some(error.clone());
        Reply::Failed { error }
    }
}
