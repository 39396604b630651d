//! `nats`: live market data from NATS subjects, in the wire format `tradsys publish` writes
//! ([`wire`]; docs/distributed.md, "Market data").
//!
//! ```toml
//! [feed]
//! plugin = "nats"
//! params = { url = "nats://127.0.0.1:4222", subjects = ["md.EURUSD.bars"] }
//! ```
//!
//! A receiving thread (a small tokio runtime) holds the subscriptions and hands each message,
//! undecoded, to the session through a bounded channel, then rings the session's waker. The
//! session decodes it on its own thread, where symbols become instruments and bad messages become
//! bad rows (a malformed or oversized message, an event of the wrong kind for `data`): a message
//! never crashes anything. [`Feed::poll_event`] never blocks, so `serve` answers its admin API at
//! once while no data arrives.
//!
//! Order: NATS keeps one publisher's order to one subscriber, on one subject or several, and so
//! does this feed (one channel, arrival order). Messages from several publishers interleave as
//! they arrive. Delivery is core NATS, at most once: what is published while the feed is not
//! connected (a server restart) is not seen; the client reconnects by itself, and the feed logs
//! the disconnection, the reconnection and, when nothing has arrived for `quiet_warn_ms`, the
//! silence.
//!
//! The feed is live: it has no end unless `until_end = true`, when the publisher's end marker
//! (`PREFIX._.end`, sent by `tradsys publish` after its last event) ends it.

#![deny(unsafe_code)]

pub mod wire;

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::mpsc::{Receiver, RecvTimeoutError, SyncSender, TryRecvError, sync_channel};
use std::sync::{Arc, Mutex, PoisonError};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use futures_util::StreamExt;
use serde::{Deserialize, Serialize};
use tradsys_core::component::{
    ComponentError, Feed, FeedContext, FeedData, FeedError, FeedHealth, FeedPoll, InitContext, Waker,
};
use tradsys_core::market::MarketEvent;
use tradsys_core::plugin::{Capability, Plugin};

use wire::WireEvent;

/// How long the first connection may take before `init` fails.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

tradsys_core::plugin_params! {
    /// Parameters of `nats`.
    #[derive(Clone, Debug, Serialize, Deserialize)]
    #[serde(deny_unknown_fields)]
    pub struct Params {
        /// The server's URL (`nats://HOST:PORT`; several separated by commas).
        pub url: String,
        /// The subjects to subscribe to; wildcards allowed (`md.*.bars`, `md.EURUSD.>`).
        pub subjects: Vec<String>,
        /// What the subjects carry: `bars` (bars, trades and quotes) or `order-flow` (order
        /// commands, trades and quotes).
        pub data: String,
        /// End the feed at the publisher's end marker (`PREFIX._.end`); a live feed otherwise
        /// has no end.
        pub until_end: bool,
        /// A message longer than this many bytes is a bad row, not decoded.
        /// Range: >= 64
        pub max_message_bytes: u64,
        /// Messages received ahead of the session; when the session falls this far behind, the
        /// receiving thread waits, and the server drops what a slow consumer cannot take.
        /// Range: >= 1
        pub buffer: u64,
        /// Warn when no message has arrived for this many milliseconds (0: never).
        pub quiet_warn_ms: u64,
        /// The name of an environment variable holding the server's token (empty: no token).
        pub token_env: String,
        /// A credentials file (`.creds`) the server requires (empty: none).
        pub creds: String,
    }
}

impl Default for Params {
    fn default() -> Params {
        Params {
            url: "nats://127.0.0.1:4222".to_owned(),
            subjects: vec!["md.>".to_owned()],
            data: "bars".to_owned(),
            until_end: false,
            max_message_bytes: 65_536,
            buffer: 65_536,
            quiet_warn_ms: 10_000,
            token_env: String::new(),
            creds: String::new(),
        }
    }
}

/// A message as received, decoded later on the session's thread.
struct Received {
    subject: String,
    payload: Vec<u8>,
}

/// The connection's state, kept by the client's event callback.
#[derive(Debug, Default)]
struct Link {
    connected: AtomicBool,
    /// Disconnected since the last connection (so the next one is a reconnection).
    lost: AtomicBool,
    reconnects: AtomicU64,
}

/// The receiving side: the thread, its channel, and the waker it rings.
struct Subscription {
    messages: Receiver<Received>,
    waker: Arc<Mutex<Option<Waker>>>,
    link: Arc<Link>,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<JoinHandle<()>>,
}

impl Drop for Subscription {
    fn drop(&mut self) {
        if let Some(shutdown) = self.shutdown.take() {
            let _ = shutdown.send(());
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// Live market data from NATS.
pub struct NatsFeed {
    params: Params,
    data: FeedData,
    subscription: Option<Subscription>,
    /// Messages taken so far, for bad-row messages.
    received: u64,
    last_message: Instant,
    quiet_warned: bool,
    ended: bool,
}

impl std::fmt::Debug for NatsFeed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NatsFeed").field("url", &self.params.url).field("subjects", &self.params.subjects).finish()
    }
}

impl Plugin for NatsFeed {
    type Params = Params;
    const PARAM_DOCS: &'static [tradsys_core::plugin::ParamDoc] = Params::PARAM_DOCS;
    const SUMMARY: &'static str = "live market data from NATS subjects (the format `tradsys publish` writes)";
    const CAPABILITIES: &'static [Capability] = &[Capability::Network, Capability::SpawnThreads, Capability::ReadFiles];

    fn build(params: Params) -> Result<Self, ComponentError> {
        let data = match params.data.as_str() {
            "bars" => FeedData::Bars,
            "order-flow" => FeedData::OrderFlow,
            other => return Err(ComponentError::new(format!("data {other:?}: expected \"bars\" or \"order-flow\""))),
        };
        if params.subjects.is_empty() {
            return Err(ComponentError::new("subjects is empty: name at least one subject (md.EURUSD.bars, md.>)"));
        }
        if let Some(bad) = params.subjects.iter().find(|s| !is_subject_pattern(s)) {
            return Err(ComponentError::new(format!(
                "subjects: {bad:?} is not a subject: expected dot-separated tokens, `*` for one token, `>` last for the rest"
            )));
        }
        if params.max_message_bytes < 64 || params.buffer == 0 {
            return Err(ComponentError::new("max_message_bytes must be at least 64 and buffer at least 1"));
        }
        Ok(NatsFeed {
            params,
            data,
            subscription: None,
            received: 0,
            last_message: Instant::now(),
            quiet_warned: false,
            ended: false,
        })
    }
}

/// Whether `subject` is a NATS subject or wildcard pattern.
fn is_subject_pattern(subject: &str) -> bool {
    let tokens: Vec<&str> = subject.split('.').collect();
    tokens.iter().enumerate().all(|(at, token)| {
        !token.is_empty()
            && (*token == "*"
                || (*token == ">" && at == tokens.len() - 1)
                || token.bytes().all(|b| b > b' ' && b != b'*' && b != b'>' && b != 0x7f))
    })
}

impl Feed for NatsFeed {
    /// Connects and subscribes: an unreachable server or a refused subscription fails the run
    /// before it starts, naming the URL.
    fn init(&mut self, _ctx: &mut InitContext<'_>) -> Result<(), ComponentError> {
        self.subscription = Some(subscribe(&self.params)?);
        self.last_message = Instant::now();
        Ok(())
    }

    fn stop(&mut self) -> Result<(), ComponentError> {
        self.subscription = None;
        Ok(())
    }

    fn data(&self) -> FeedData {
        self.data
    }

    fn health(&self) -> FeedHealth {
        let Some(subscription) = &self.subscription else { return FeedHealth::default() };
        FeedHealth {
            connected: Some(subscription.link.connected.load(Ordering::Relaxed)),
            reconnects: subscription.link.reconnects.load(Ordering::Relaxed),
        }
    }

    fn poll_event(&mut self, ctx: &mut FeedContext<'_>) -> Result<FeedPoll, FeedError> {
        loop {
            let Some(subscription) = &self.subscription else { return Ok(FeedPoll::Ended) };
            if self.ended {
                return Ok(FeedPoll::Ended);
            }
            let received = match subscription.messages.try_recv() {
                Ok(received) => received,
                Err(TryRecvError::Empty) => {
                    // Set before the channel is looked at again: a message that arrives from now
                    // on rings the session.
                    if let Some(waker) = ctx.waker() {
                        *subscription.waker.lock().unwrap_or_else(PoisonError::into_inner) = Some(waker);
                    }
                    match subscription.messages.try_recv() {
                        Ok(received) => received,
                        Err(TryRecvError::Empty) => {
                            self.note_quiet();
                            return Ok(FeedPoll::Pending);
                        }
                        Err(TryRecvError::Disconnected) => return Err(self.receiver_gone()),
                    }
                }
                Err(TryRecvError::Disconnected) => return Err(self.receiver_gone()),
            };
            if let Some(event) = self.decode(&received, ctx) {
                return Ok(event);
            }
        }
    }

    /// Waits for the next event: what `sweep` and `publish` use, which read a feed to its end.
    fn next_event(&mut self, ctx: &mut FeedContext<'_>) -> Result<Option<MarketEvent>, FeedError> {
        loop {
            match self.poll_event(ctx)? {
                FeedPoll::Ready(event) => return Ok(Some(event)),
                FeedPoll::Ended => return Ok(None),
                FeedPoll::Pending => {
                    let Some(subscription) = &self.subscription else { return Ok(None) };
                    match subscription.messages.recv_timeout(Duration::from_millis(200)) {
                        Ok(received) => match self.decode(&received, ctx) {
                            Some(FeedPoll::Ready(event)) => return Ok(Some(event)),
                            Some(_) => return Ok(None),
                            None => {}
                        },
                        Err(RecvTimeoutError::Timeout) => {}
                        Err(RecvTimeoutError::Disconnected) => return Err(self.receiver_gone()),
                    }
                }
            }
        }
    }
}

impl NatsFeed {
    /// Decodes one message: an event, the end, or `None` for a bad row (recorded in `ctx`).
    fn decode(&mut self, received: &Received, ctx: &mut FeedContext<'_>) -> Option<FeedPoll> {
        self.received += 1;
        self.last_message = Instant::now();
        if self.quiet_warned {
            self.quiet_warned = false;
            tracing::info!(url = %self.params.url, "feed nats: messages arrive again");
        }
        let (subject, number) = (&received.subject, self.received);
        if received.payload.len() as u64 > self.params.max_message_bytes {
            ctx.skip_row(format!(
                "nats {subject}: message {number}: {} bytes, over max_message_bytes {}",
                received.payload.len(),
                self.params.max_message_bytes
            ));
            return None;
        }
        let wire: WireEvent = match serde_json::from_slice(&received.payload) {
            Ok(wire) => wire,
            Err(error) => {
                ctx.skip_row(format!("nats {subject}: message {number}: not a market-data message: {error}"));
                return None;
            }
        };
        let mut resolve = |symbol: &str| ctx.instrument(symbol).map_err(|error| error.to_string());
        let event = match wire.to_event(&mut resolve) {
            Ok(Some(event)) => event,
            Ok(None) if self.params.until_end => {
                self.ended = true;
                return Some(FeedPoll::Ended);
            }
            Ok(None) => return None,
            Err(problem) => {
                ctx.skip_row(format!("nats {subject}: message {number}: {problem}"));
                return None;
            }
        };
        let fits = matches!(
            (self.data, &event),
            (_, MarketEvent::Trade(_) | MarketEvent::Quote(_))
                | (FeedData::Bars, MarketEvent::Bar(_))
                | (FeedData::OrderFlow, MarketEvent::Order(_))
        );
        if !fits {
            let data = if self.data == FeedData::Bars { "bars" } else { "order-flow" };
            ctx.skip_row(format!(
                "nats {subject}: message {number}: {} message on a feed of data = {data:?}",
                kind(&event)
            ));
            return None;
        }
        Some(FeedPoll::Ready(event))
    }

    /// Logs once when nothing has arrived for `quiet_warn_ms`.
    fn note_quiet(&mut self) {
        let quiet = self.params.quiet_warn_ms;
        if quiet > 0 && !self.quiet_warned && self.last_message.elapsed() >= Duration::from_millis(quiet) {
            self.quiet_warned = true;
            tracing::warn!(url = %self.params.url, subjects = ?self.params.subjects, "feed nats: no message for {quiet} ms");
        }
    }

    fn receiver_gone(&self) -> FeedError {
        FeedError(format!("the connection to the NATS server at {} ended for good", self.params.url))
    }
}

/// What `event` is, with its article, for messages.
fn kind(event: &MarketEvent) -> &'static str {
    match event {
        MarketEvent::Bar(_) => "a bar",
        MarketEvent::Trade(_) => "a trade",
        MarketEvent::Quote(_) => "a quote",
        MarketEvent::Order(_) => "an order-flow",
    }
}

/// Connects and subscribes on a thread of its own; returns once subscribed, or why not.
fn subscribe(params: &Params) -> Result<Subscription, ComponentError> {
    let capacity = usize::try_from(params.buffer).unwrap_or(usize::MAX).min(1 << 24);
    let (sender, messages) = sync_channel(capacity);
    let waker: Arc<Mutex<Option<Waker>>> = Arc::new(Mutex::new(None));
    let link = Arc::new(Link::default());
    let (shutdown, stopped) = tokio::sync::oneshot::channel();
    let (ready_tx, ready) = std::sync::mpsc::channel::<Result<(), String>>();
    let (params, ringer, state) = (params.clone(), Arc::clone(&waker), Arc::clone(&link));
    let thread = std::thread::Builder::new()
        .name("feed-nats".to_owned())
        .spawn(move || receive(&params, &sender, &ringer, &state, stopped, &ready_tx))
        .map_err(|error| ComponentError::new(format!("cannot start the receiving thread: {error}")))?;
    let started = ready.recv().unwrap_or_else(|_| Err("the receiving thread ended before it subscribed".to_owned()));
    let subscription = Subscription { messages, waker, link, shutdown: Some(shutdown), thread: Some(thread) };
    started.map(|()| subscription).map_err(ComponentError::new)
}

/// The receiving thread: connect, subscribe, forward each message and ring the waker, until
/// shut down or the session stops reading.
fn receive(
    params: &Params,
    sender: &SyncSender<Received>,
    waker: &Mutex<Option<Waker>>,
    link: &Arc<Link>,
    stopped: tokio::sync::oneshot::Receiver<()>,
    ready: &std::sync::mpsc::Sender<Result<(), String>>,
) {
    let runtime = match tokio::runtime::Builder::new_current_thread().enable_all().build() {
        Ok(runtime) => runtime,
        Err(error) => {
            let _ = ready.send(Err(format!("cannot start the receiving runtime: {error}")));
            return;
        }
    };
    runtime.block_on(async {
        let subscribed = async {
            let client = connect(params, Arc::clone(link)).await?;
            link.connected.store(true, Ordering::Relaxed);
            let mut streams = Vec::new();
            for subject in &params.subjects {
                let subscriber = client
                    .subscribe(subject.clone())
                    .await
                    .map_err(|error| format!("cannot subscribe to {subject} at {}: {error}", params.url))?;
                streams.push(subscriber);
            }
            client.flush().await.map_err(|error| format!("the NATS server at {}: {error}", params.url))?;
            Ok::<_, String>((client, futures_util::stream::select_all(streams)))
        };
        let (_client, mut messages) = match subscribed.await {
            Ok(subscribed) => subscribed,
            Err(problem) => {
                let _ = ready.send(Err(problem));
                return;
            }
        };
        tracing::info!(url = %params.url, subjects = ?params.subjects, "feed nats: subscribed");
        let _ = ready.send(Ok(()));
        let mut stopped = stopped;
        loop {
            tokio::select! {
                _ = &mut stopped => return,
                message = messages.next() => {
                    let Some(message) = message else { return };
                    let mut received = Received { subject: message.subject.to_string(), payload: message.payload.to_vec() };
                    // While the session is `buffer` messages behind, wait (the client keeps
                    // talking to the server meanwhile; the server drops what it cannot hold).
                    loop {
                        match sender.try_send(received) {
                            Ok(()) => break,
                            Err(std::sync::mpsc::TrySendError::Full(back)) => {
                                received = back;
                                tokio::time::sleep(Duration::from_millis(1)).await;
                            }
                            Err(std::sync::mpsc::TrySendError::Disconnected(_)) => return,
                        }
                    }
                    if let Some(waker) = waker.lock().unwrap_or_else(PoisonError::into_inner).as_ref() {
                        waker.wake();
                    }
                }
            }
        }
    });
}

/// Connects with the feed's options, logging disconnections and reconnections.
async fn connect(params: &Params, link: Arc<Link>) -> Result<async_nats::Client, String> {
    let url = params.url.clone();
    let mut options = async_nats::ConnectOptions::new()
        .name("tradsys feed nats")
        .connection_timeout(CONNECT_TIMEOUT)
        .event_callback(move |event| {
            let (url, link) = (url.clone(), Arc::clone(&link));
            async move {
                match event {
                    async_nats::Event::Disconnected => {
                        link.connected.store(false, Ordering::Relaxed);
                        link.lost.store(true, Ordering::Relaxed);
                        tracing::warn!(%url, "feed nats: disconnected; reconnecting");
                    }
                    async_nats::Event::Connected => {
                        link.connected.store(true, Ordering::Relaxed);
                        if link.lost.swap(false, Ordering::Relaxed) {
                            link.reconnects.fetch_add(1, Ordering::Relaxed);
                        }
                        tracing::info!(%url, "feed nats: connected");
                    }
                    async_nats::Event::SlowConsumer(_) => {
                        tracing::warn!(%url, "feed nats: the server is dropping messages: the session is too slow");
                    }
                    other => tracing::debug!(%url, "feed nats: {other}"),
                }
            }
        });
    if !params.token_env.is_empty() {
        let token = std::env::var(&params.token_env)
            .map_err(|_| format!("token_env {}: the environment has no such variable", params.token_env))?;
        options = options.token(token);
    }
    if !params.creds.is_empty() {
        options = options
            .credentials_file(&params.creds)
            .await
            .map_err(|error| format!("creds {}: {error} (expected a NATS .creds file)", params.creds))?;
    }
    options.connect(params.url.as_str()).await.map_err(|error| {
        format!(
            "cannot connect to the NATS server at {}: {error}; is a server running there? (docs/distributed.md)",
            params.url
        )
    })
}

tradsys_core::register_feed!(NatsFeed, "nats", "0.1.0");

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn subjects_and_data_are_checked_when_built() {
        let build = |subjects: &[&str], data: &str| {
            let params = Params {
                subjects: subjects.iter().map(|s| (*s).to_owned()).collect(),
                data: data.to_owned(),
                ..Params::default()
            };
            NatsFeed::build(params).map(|_| ()).map_err(|e| e.to_string())
        };
        assert!(build(&["md.EURUSD.bars", "md.*.quotes", "md.>"], "bars").is_ok());
        assert!(build(&["md.>"], "order-flow").is_ok());
        assert!(build(&["md.>"], "ticks").unwrap_err().contains("data \"ticks\": expected"));
        assert!(build(&[], "bars").unwrap_err().contains("subjects is empty"));
        for bad in ["md..bars", "md.>.x", "", "md bars", "md.b*"] {
            assert!(build(&[bad], "bars").unwrap_err().contains("is not a subject"), "{bad:?}");
        }
    }
}
