//! The session side's connection to a host: a NATS client on a runtime of its own, and requests
//! that wait at most a budget.
//!
//! The session thread is not async; a request blocks it, as a local callback would, until the
//! reply arrives or the budget runs out. The client's own work (pings, reconnects, the lease's
//! keep-alives) runs on the runtime's one worker thread between calls.

use std::time::Duration;

use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::wire::{self, Request};

/// How long connecting may take.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// Where and how to connect.
#[derive(Clone, Debug)]
pub struct Endpoint {
    /// The server.
    pub url: String,
    /// An environment variable holding a token (empty: none).
    pub token_env: String,
    /// A `.creds` file (empty: none).
    pub creds: String,
}

/// A connection to a server, for one proxy.
pub(crate) struct Link {
    runtime: tokio::runtime::Runtime,
    client: async_nats::Client,
    url: String,
}

impl std::fmt::Debug for Link {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Link").field("url", &self.url).finish_non_exhaustive()
    }
}

/// Why a request got no usable answer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Unanswered {
    /// No host listens on the subject (not started, crashed, or another name).
    NoHost,
    /// No answer within the budget.
    TimedOut(Duration),
    /// The connection failed, or the answer was not the message expected.
    Broken(String),
}

impl Unanswered {
    /// The error, for host `host`, in `call`.
    pub(crate) fn describe(&self, host: &str, call: &str) -> String {
        match self {
            Unanswered::NoHost => {
                format!("no host {host} answers (not running, crashed, or another name; see `tradsys host`) in {call}")
            }
            Unanswered::TimedOut(budget) => {
                format!("host {host} did not answer {call} within {} ms (its call budget)", budget.as_millis())
            }
            Unanswered::Broken(error) => format!("host {host}: {error} in {call}"),
        }
    }
}

impl Link {
    /// Connects to `endpoint`.
    ///
    /// # Errors
    /// A runtime that cannot start, a missing token or credentials file, an unreachable server.
    pub(crate) fn connect(endpoint: &Endpoint) -> Result<Link, String> {
        if tokio::runtime::Handle::try_current().is_ok() {
            return Err("a remote strategy cannot run on an async runtime's thread".to_owned());
        }
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .thread_name("remote-strategy")
            .enable_all()
            .build()
            .map_err(|error| format!("cannot start the NATS client's runtime: {error}"))?;
        let client = runtime.block_on(connect(endpoint))?;
        Ok(Link { runtime, client, url: endpoint.url.clone() })
    }

    /// Sends `request` to `subject` and waits at most `budget` for the reply.
    pub(crate) fn request<T: DeserializeOwned>(
        &self,
        subject: &str,
        request: &impl Serialize,
        budget: Duration,
        what: &str,
    ) -> Result<T, Unanswered> {
        let payload = wire::encode(request);
        let reply = self.runtime.block_on(async {
            tokio::time::timeout(budget, self.client.request(subject.to_owned(), payload.into())).await
        });
        let message = match reply {
            Err(_elapsed) => return Err(Unanswered::TimedOut(budget)),
            Ok(Err(error)) => {
                return Err(match error.kind() {
                    async_nats::client::RequestErrorKind::NoResponders => Unanswered::NoHost,
                    async_nats::client::RequestErrorKind::TimedOut => Unanswered::TimedOut(budget),
                    _ => Unanswered::Broken(format!("the request failed ({error})")),
                });
            }
            Ok(Ok(message)) => message,
        };
        wire::decode(&message.payload, what).map_err(Unanswered::Broken)
    }

    /// Keeps an instance's lease: a keep-alive to `subject` every `every`, until aborted.
    pub(crate) fn keep_alive(&self, subject: String, every: Duration) -> tokio::task::AbortHandle {
        let client = self.client.clone();
        let payload = wire::encode(&Request::KeepAlive);
        self.runtime
            .spawn(async move {
                let mut ticks = tokio::time::interval(every);
                ticks.tick().await;
                loop {
                    ticks.tick().await;
                    if let Err(error) = client.publish(subject.clone(), payload.clone().into()).await {
                        tracing::debug!(%error, "remote strategy: a keep-alive was not sent");
                    }
                }
            })
            .abort_handle()
    }
}

async fn connect(endpoint: &Endpoint) -> Result<async_nats::Client, String> {
    let url = endpoint.url.clone();
    let mut options = async_nats::ConnectOptions::new()
        .name("tradsys remote strategy")
        .connection_timeout(CONNECT_TIMEOUT)
        // Each request has its own budget.
        .request_timeout(None)
        .event_callback(move |event| {
            let url = url.clone();
            async move {
                match event {
                    async_nats::Event::Disconnected => {
                        tracing::warn!(%url, "remote strategy: disconnected; reconnecting")
                    }
                    async_nats::Event::Connected => tracing::info!(%url, "remote strategy: connected"),
                    other => tracing::debug!(%url, "remote strategy: {other}"),
                }
            }
        });
    if !endpoint.token_env.is_empty() {
        let token = std::env::var(&endpoint.token_env)
            .map_err(|_| format!("token_env {}: the environment has no such variable", endpoint.token_env))?;
        options = options.token(token);
    }
    if !endpoint.creds.is_empty() {
        options = options
            .credentials_file(&endpoint.creds)
            .await
            .map_err(|error| format!("creds {}: {error} (expected a NATS .creds file)", endpoint.creds))?;
    }
    options.connect(endpoint.url.as_str()).await.map_err(|error| {
        format!(
            "cannot connect to the NATS server at {}: {error}; is a server running there? (docs/distributed.md)",
            endpoint.url
        )
    })
}
