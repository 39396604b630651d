//! `sweep --nats`: the runs go to workers on other processes or machines, through JetStream.
//!
//! The sweep starts as a local one does (every run's config checked, the data read once), then:
//! 1. the tape goes to the object store as `tape-<sha256>`, unless a sweep put it there already,
//!    and the sweep's description (its merged config) as `sweep-<id>`;
//! 2. each run becomes a job on the work queue, with a message id of the sweep, batch and run, so
//!    a job published twice (after a reconnect) is kept once;
//! 3. outcomes come back on the outcomes' stream, out of order and perhaps twice (a redelivered
//!    job); they are put back in run order and the first of each kept, and handed to the same
//!    sink a local sweep writes with. So the outputs are byte-identical to `--jobs 1`'s.
//!
//! A job delivered [`MAX_DELIVER`](crate::nats::sweep_queue::MAX_DELIVER) times without an
//! outcome (its workers crashed or refused it each time) is a row with that error, reported by
//! the server's max-deliveries advisory. A signal, or a sink that stops, removes the sweep's
//! outstanding jobs from the queue; whatever happens, the sweep's description is deleted at the
//! end, so a worker that still holds one of its jobs drops it.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::time::{Duration, Instant};

use anyhow::anyhow;
use async_nats::jetstream;
use futures_util::StreamExt;
use sha2::Digest;
use tradsys_core::session::MarketTape;

use super::results::RunResult;
use crate::cli::NatsArgs;
use crate::failure::{Failure, Internal};
use crate::nats::sweep_messages::{Job, Made, Outcome, PROTOCOL, PluginNeed, Refusal, Span, SweepSpec, VERSION};
use crate::nats::sweep_queue;
use crate::signals::StopRequest;

/// How long the sweep waits for a first outcome before it says that no worker seems to be there.
const NO_WORKER_HINT: Duration = Duration::from_secs(15);
/// How often the gathering loop looks at the stop request.
const STOP_CHECK: Duration = Duration::from_millis(100);
/// How long cleaning up may take at the end before it is left to the server's limits.
const CLEANUP: Duration = Duration::from_secs(5);

/// One run to make remotely: its grid point and its span of the tape.
pub(super) struct RemoteRun {
    /// The grid point's values.
    pub sets: Vec<String>,
    /// The part of the tape, and where trading starts.
    pub span: Span,
}

/// A sweep's connection to its workers: the runtime it runs on, and what it holds there.
pub(super) struct Gatherer {
    runtime: tokio::runtime::Runtime,
    link: Link,
}

/// The connection, streams and subscriptions of a distributed sweep.
struct Link {
    js: jetstream::Context,
    client: async_nats::Client,
    url: String,
    sweep: String,
    tape: String,
    plugins: Vec<PluginNeed>,
    strategies: Vec<String>,
    outcomes: jetstream::consumer::push::Ordered,
    advisories: async_nats::Subscriber,
    refusals: async_nats::Subscriber,
    /// The jobs' stream, for removing the sweep's outstanding jobs.
    jobs: jetstream::stream::Stream,
    bucket: jetstream::object_store::ObjectStore,
    next_batch: u32,
    /// Refusals already reported, by worker and reason.
    reported: HashSet<(String, String)>,
}

/// A connection to the server, made before the sweep reads its data.
pub(super) struct Connection {
    runtime: tokio::runtime::Runtime,
    client: async_nats::Client,
    url: String,
    sweep: String,
}

impl Connection {
    /// Connects to the server `args` names.
    ///
    /// # Errors
    /// The server cannot be reached (exit 2).
    pub(super) fn open(args: &NatsArgs) -> Result<Connection, Failure> {
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().internal()?;
        let sweep = crate::nats::unique_id();
        let client = runtime.block_on(crate::nats::connect(args, &format!("tradsys sweep {sweep}")))?;
        Ok(Connection { runtime, client, url: args.url.clone(), sweep })
    }
}

impl Gatherer {
    /// Puts the tape and the sweep's description in the object store and starts listening for
    /// outcomes.
    ///
    /// # Errors
    /// The server has no JetStream or no room (exit 1).
    pub(super) fn start(
        connection: Connection,
        spec: &SweepSpec,
        plugins: Vec<PluginNeed>,
        tape: &MarketTape,
    ) -> Result<Gatherer, Failure> {
        let Connection { runtime, client, url, sweep } = connection;
        let started = runtime.block_on(async {
            let js = jetstream::new(client.clone());
            let jobs = sweep_queue::jobs_stream(&js).await?;
            let results = sweep_queue::results_stream(&js).await?;
            let bucket = sweep_queue::bucket(&js).await?;
            let bytes = tape.to_bytes();
            let name = format!("tape-{:x}", sha2::Sha256::digest(&bytes));
            let present = bucket.info(&name).await.is_ok_and(|info| info.size == bytes.len() && !info.deleted);
            if !present {
                bucket.put(name.as_str(), &mut bytes.as_slice()).await.map_err(|error| stored("the tape", &error))?;
            }
            let text = serde_json::to_vec(spec).internal()?;
            bucket
                .put(sweep_queue::spec_object(&sweep).as_str(), &mut text.as_slice())
                .await
                .map_err(|error| stored("the sweep's description", &error))?;
            // Listen before the first job goes out: no outcome, refusal or advisory is missed.
            let advisories = client.subscribe(sweep_queue::max_deliveries_subject()).await.internal()?;
            let refusals = client.subscribe(sweep_queue::refusals_subject(&sweep)).await.internal()?;
            let unreadable =
                |error: &dyn std::fmt::Display| Failure::Internal(anyhow!("cannot read the outcomes' stream: {error}"));
            let outcomes = results
                .create_consumer(jetstream::consumer::push::OrderedConfig {
                    deliver_subject: client.new_inbox(),
                    filter_subject: sweep_queue::results_subject(&sweep),
                    ..Default::default()
                })
                .await
                .map_err(|error| unreadable(&error))?
                .messages()
                .await
                .map_err(|error| unreadable(&error))?;
            Ok::<_, Failure>((js, jobs, bucket, name, advisories, refusals, outcomes))
        })?;
        let (js, jobs, bucket, tape, advisories, refusals, outcomes) = started;
        tracing::info!(sweep = %sweep, tape = %tape, "distributed sweep started");
        let link = Link {
            js,
            client,
            url,
            sweep,
            tape,
            plugins,
            strategies: spec.strategies.clone(),
            outcomes,
            advisories,
            refusals,
            jobs,
            bucket,
            next_batch: 0,
            reported: HashSet::new(),
        };
        Ok(Gatherer { runtime, link })
    }

    /// Makes `runs` on the workers and calls `sink(at, result)` for each in `at` order; `sink`
    /// returning `false`, or a signal, stops: the sweep's outstanding jobs are withdrawn.
    ///
    /// # Errors
    /// The server refused a job (a full stream) or went away for good, or a signal came.
    pub(super) fn run_ordered(
        &mut self,
        runs: &[RemoteRun],
        stop: &StopRequest,
        mut sink: impl FnMut(usize, Result<RunResult, Failure>) -> bool,
    ) -> Result<(), Failure> {
        let batch = self.link.next_batch;
        self.link.next_batch += 1;
        let gathered = self.runtime.block_on(self.link.gather(batch, runs, stop, &mut sink));
        if gathered.is_err() {
            self.runtime.block_on(self.link.withdraw());
        }
        gathered
    }
}

impl Link {
    async fn gather(
        &mut self,
        batch: u32,
        runs: &[RemoteRun],
        stop: &StopRequest,
        sink: &mut impl FnMut(usize, Result<RunResult, Failure>) -> bool,
    ) -> Result<(), Failure> {
        let sequences = self.publish(batch, runs, stop).await?;
        let mut waiting: BTreeMap<usize, RunResult> = BTreeMap::new();
        let (mut first, started) = (0, Instant::now());
        let mut hinted = false;
        let mut last_refusal: Option<String> = None;
        let mut tick = tokio::time::interval(STOP_CHECK);
        while first < runs.len() {
            tokio::select! {
                message = self.outcomes.next() => match message {
                    // An ordered consumer takes no acknowledgements.
                    Some(Ok(message)) => {
                        match serde_json::from_slice::<Outcome>(&message.payload) {
                            Ok(outcome) if outcome.batch == batch => {
                                let at = outcome.at as usize;
                                if at >= first && at < runs.len() && !waiting.contains_key(&at) {
                                    let result = match outcome.made {
                                        Made::Ran(result) => result.into_result(&self.strategies).map_err(|problem| {
                                            Failure::Internal(anyhow!("worker {}: {problem}", outcome.worker))
                                        })?,
                                        Made::Failed { error } => {
                                            // The row names no worker: the outputs stay the same whoever ran it.
                                            tracing::warn!(sweep = %self.sweep, run = at, "worker {} could not make the run: {error}", outcome.worker);
                                            RunResult::failed(error, &self.strategies)
                                        }
                                    };
                                    waiting.insert(at, result);
                                }
                            }
                            // An outcome of an earlier batch, sent again: its run was counted.
                            Ok(_) => {}
                            Err(error) => tracing::warn!(sweep = %self.sweep, "an outcome that does not read ({error}); ignored"),
                        }
                    }
                    Some(Err(error)) => tracing::warn!(sweep = %self.sweep, "reading outcomes: {error}; retrying"),
                    None => return Err(Failure::Internal(anyhow!("the outcomes' stream ended: the connection to {} closed", self.url))),
                },
                Some(message) = self.advisories.next() => {
                    if let Some((sequence, deliveries)) = max_deliveries(&message.payload)
                        && let Some(&at) = sequences.get(&sequence)
                        && at >= first
                        && !waiting.contains_key(&at)
                    {
                        let why = last_refusal.as_deref().map(|r| format!("; the last refusal: {r}")).unwrap_or_default();
                        let error = format!("the job was delivered {deliveries} times and never finished (its workers crashed or refused it){why}");
                        waiting.insert(at, RunResult::failed(error, &self.strategies));
                    }
                }
                Some(message) = self.refusals.next() => {
                    if let Ok(refusal) = serde_json::from_slice::<Refusal>(&message.payload) {
                        if self.reported.insert((refusal.worker.clone(), refusal.reason.clone())) {
                            tracing::warn!("worker {} refuses this sweep's jobs: {}", refusal.worker, refusal.reason);
                        }
                        // The reason, not the worker: a row reads the same whoever refused.
                        last_refusal = Some(refusal.reason);
                    }
                }
                _ = tick.tick() => {
                    if let Some(signal) = stop.signal() {
                        return Err(Failure::Cancelled(signal));
                    }
                    if !hinted && first == 0 && waiting.is_empty() && started.elapsed() > NO_WORKER_HINT {
                        hinted = true;
                        tracing::warn!(
                            "no outcome yet after {} s: is a worker running? `tradsys worker --nats {}`",
                            NO_WORKER_HINT.as_secs(),
                            self.url
                        );
                    }
                }
            }
            while let Some(result) = waiting.remove(&first) {
                let go_on = sink(first, Ok(result));
                first += 1;
                if !go_on {
                    self.withdraw().await;
                    return Ok(());
                }
            }
        }
        Ok(())
    }

    /// Publishes a batch's jobs; returns each job's stream sequence → its place in the batch.
    async fn publish(
        &self,
        batch: u32,
        runs: &[RemoteRun],
        stop: &StopRequest,
    ) -> Result<HashMap<u64, usize>, Failure> {
        let subject = sweep_queue::jobs_subject(&self.sweep);
        let mut sequences = HashMap::with_capacity(runs.len());
        // Acknowledgements are awaited a chunk at a time: the server is not flooded, and a full
        // stream stops the sweep within a chunk.
        for (chunk, runs) in runs.chunks(256).enumerate() {
            if let Some(signal) = stop.signal() {
                return Err(Failure::Cancelled(signal));
            }
            let mut acks = Vec::with_capacity(runs.len());
            for (offset, run) in runs.iter().enumerate() {
                let at = chunk * 256 + offset;
                let at32 = u32::try_from(at).map_err(|_| Failure::BadInput(anyhow!("more than 2^32 runs")))?;
                let job = Job {
                    protocol: PROTOCOL,
                    version: VERSION.to_owned(),
                    sweep: self.sweep.clone(),
                    batch,
                    at: at32,
                    sets: run.sets.clone(),
                    span: run.span,
                    tape: self.tape.clone(),
                    plugins: self.plugins.clone(),
                };
                let payload = serde_json::to_vec(&job).internal()?;
                let publish = jetstream::message::PublishMessage::build()
                    .payload(payload.into())
                    .message_id(Job::message_id(&self.sweep, batch, at32));
                let ack = self.js.send_publish(subject.clone(), publish).await.map_err(|error| refused(at, &error))?;
                acks.push((at, ack));
            }
            for (at, ack) in acks {
                let ack = ack.await.map_err(|error| refused(at, &error))?;
                sequences.insert(ack.sequence, at);
            }
        }
        Ok(sequences)
    }

    /// Withdraws the sweep's jobs still on the queue.
    async fn withdraw(&self) {
        let purge = self.jobs.purge().filter(sweep_queue::jobs_subject(&self.sweep));
        match tokio::time::timeout(CLEANUP, purge).await {
            Ok(Ok(purged)) => tracing::info!(sweep = %self.sweep, jobs = purged.purged, "outstanding jobs withdrawn"),
            Ok(Err(error)) => tracing::warn!(sweep = %self.sweep, "cannot withdraw the outstanding jobs: {error}"),
            Err(_) => tracing::warn!(sweep = %self.sweep, "withdrawing the outstanding jobs timed out"),
        }
    }
}

impl Drop for Gatherer {
    /// Withdraws what is left of the sweep and deletes its description, so that workers drop any
    /// of its jobs they still get; the tape stays for the next sweep of the same data.
    fn drop(&mut self) {
        let link = &self.link;
        let spec = sweep_queue::spec_object(&link.sweep);
        self.runtime.block_on(async {
            link.withdraw().await;
            let _ = tokio::time::timeout(CLEANUP, link.bucket.delete(&spec)).await;
            let _ = tokio::time::timeout(CLEANUP, link.client.flush()).await;
        });
    }
}

/// The stream sequence and delivery count of a max-deliveries advisory.
fn max_deliveries(payload: &[u8]) -> Option<(u64, u64)> {
    #[derive(serde::Deserialize)]
    struct Advisory {
        stream_seq: u64,
        deliveries: u64,
    }
    serde_json::from_slice::<Advisory>(payload).ok().map(|a| (a.stream_seq, a.deliveries))
}

fn stored(what: &str, error: &dyn std::fmt::Display) -> Failure {
    Failure::Internal(anyhow!("cannot put {what} in the object store {}: {error}", sweep_queue::BUCKET))
}

/// A job the server did not take: most often a full jobs' stream.
fn refused(at: usize, error: &dyn std::fmt::Display) -> Failure {
    Failure::Internal(anyhow!(
        "the server did not take job {at} on stream {}: {error} (a full stream holds at most its max_msgs jobs; wait for the sweeps under way or raise it with `nats stream edit`)",
        sweep_queue::JOBS_STREAM
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_advisory_gives_its_sequence_and_deliveries() {
        let advisory = br#"{"type":"io.nats.jetstream.advisory.v1.max_deliver","id":"x","timestamp":"2026-01-01T00:00:00Z","stream":"TRADSYS_SWEEP_JOBS","consumer":"workers","stream_seq":42,"deliveries":5}"#;
        assert_eq!(max_deliveries(advisory), Some((42, 5)));
        assert_eq!(max_deliveries(b"not json"), None);
    }
}
