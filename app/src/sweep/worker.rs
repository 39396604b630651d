//! `tradsys worker`: runs the jobs of distributed sweeps (`sweep --nats`), on as many machines as
//! there are.
//!
//! A worker has `--jobs` slots. Each slot pulls one job at a time from the shared `workers`
//! consumer, runs it as a local sweep runs it (the same `Runner`, over the sweep's tape), publishes
//! the outcome and only then acknowledges the job, so a worker killed at any point loses nothing:
//! an unacknowledged job goes to another worker once the ack wait passes. While a run lasts, the
//! slot tells the server every third of the ack wait that it is still working on it.
//!
//! What a job needs is fetched once per sweep and kept for the next jobs of the same sweep: the
//! sweep's description (its merged config, `sweep-<id>`) and the tape (`tape-<sha256>`, checked
//! against its digest). A worker refuses a job of another tradsys version or protocol, or whose
//! config needs a plugin version it does not have (or has built from other sources): it says so
//! on the sweep's refusals subject and puts the job back for another worker. A job whose
//! description is gone (the sweep ended or was cancelled) is dropped.
//!
//! A first signal stops taking jobs; the runs under way finish and are delivered. A second one
//! exits at once, and their jobs go to other workers.

use std::collections::VecDeque;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::anyhow;
use async_nats::jetstream::{self, AckKind};
use futures_util::StreamExt;
use sha2::Digest;
use tokio::io::AsyncReadExt;
use tradsys_core::config::{ConfigFile, ConfigLoader, Environment};
use tradsys_core::plugin::{ComponentDescriptor, Kind};
use tradsys_core::registry::Registry;
use tradsys_core::session::MarketTape;
use tradsys_core::types::Timestamp;

use super::Runner;
use super::results::strategy_columns;
use crate::cli::WorkerArgs;
use crate::configure::check_planned;
use crate::failure::{Failure, Internal};
use crate::nats::sweep_messages::{Job, Made, Outcome, PROTOCOL, PluginNeed, Refusal, SweepSpec, VERSION, WireResult};
use crate::nats::sweep_queue;

/// How long one pull waits for a job before the slot looks at the stop request again.
const PULL_WAIT: Duration = Duration::from_secs(1);
/// How long a refused job waits before the server offers it again.
const REFUSED_DELAY: Duration = Duration::from_secs(1);
/// How many sweeps' descriptions and tapes a worker keeps.
const KEPT_SWEEPS: usize = 2;

/// Runs jobs until a signal; returns a summary line.
///
/// # Errors
/// A bad argument or an unreachable server (exit 2); the server lacking JetStream (exit 1).
pub fn work(args: &WorkerArgs, registry: &Registry) -> Result<String, Failure> {
    let slots = args.jobs.unwrap_or_else(|| std::thread::available_parallelism().map_or(1, usize::from));
    if slots == 0 || slots > 1024 {
        return Err(Failure::BadInput(anyhow!("--jobs {slots}: expected 1 to 1024 runs at once")));
    }
    if args.ack_wait == 0 || args.ack_wait > 3600 {
        return Err(Failure::BadInput(anyhow!("--ack-wait {}: expected 1 to 3600 seconds", args.ack_wait)));
    }
    let ack_wait = Duration::from_secs(args.ack_wait);
    let stop = crate::signals::listen().internal()?;
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().internal()?;
    let name = worker_name();
    let done = runtime.block_on(async {
        let client = crate::nats::connect(&args.nats, &format!("tradsys worker {name}")).await?;
        let js = jetstream::new(client.clone());
        let jobs = sweep_queue::jobs_stream(&js).await?;
        sweep_queue::results_stream(&js).await?;
        let bucket = sweep_queue::bucket(&js).await?;
        let consumer = sweep_queue::workers_consumer(&jobs, ack_wait).await?;
        let worker = Arc::new(Worker {
            name: name.clone(),
            client,
            js,
            bucket,
            registry: registry.clone(),
            ack_wait,
            sweeps: tokio::sync::Mutex::new(VecDeque::new()),
        });
        eprintln!(
            "tradsys worker {name}: taking sweep jobs from {} on {slots} slots (ack wait {} s)",
            args.nats.url, args.ack_wait
        );
        let mut tasks = Vec::with_capacity(slots);
        for _ in 0..slots {
            let (worker, consumer, stop) = (Arc::clone(&worker), consumer.clone(), Arc::clone(&stop));
            tasks.push(tokio::spawn(async move { worker.slot(&consumer, &stop).await }));
        }
        let mut done = 0;
        for task in tasks {
            done += task.await.unwrap_or(0);
        }
        // What is still buffered, if the server is still there (it may be stopping too).
        let _ = tokio::time::timeout(Duration::from_secs(2), worker.client.flush()).await;
        Ok::<_, Failure>(done)
    })?;
    Ok(format!("tradsys worker {name}: {done} jobs done\n"))
}

/// This worker's name in outcomes and refusals: the host and the process.
fn worker_name() -> String {
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname")
        .ok()
        .or_else(|| std::env::var("HOSTNAME").ok())
        .map(|host| host.trim().to_owned())
        .filter(|host| !host.is_empty())
        .unwrap_or_else(|| "localhost".to_owned());
    format!("{host}/{}", std::process::id())
}

/// What every slot of a worker shares.
struct Worker {
    name: String,
    client: async_nats::Client,
    js: jetstream::Context,
    bucket: jetstream::object_store::ObjectStore,
    registry: Registry,
    ack_wait: Duration,
    /// The sweeps whose jobs came last, newest first.
    sweeps: tokio::sync::Mutex<VecDeque<(String, Arc<Prepared>)>>,
}

/// A sweep made ready on this worker, or why it cannot be.
enum Prepared {
    /// Ready to run its jobs.
    Ready(Box<Ready>),
    /// This worker lacks a plugin version the sweep needs (or has it built from other sources):
    /// it refuses the sweep's jobs, saying this.
    Refused(String),
    /// Its config does not check here (a module directory missing on this machine, say): every
    /// job of the sweep is a row with this error.
    Failed(String),
    /// Its description is gone: the sweep ended or was cancelled.
    Gone,
    /// The object store could not be read now (the server restarting, say): the job goes back
    /// for a later try, and nothing is kept.
    Unreachable(String),
}

/// A sweep ready to run on this worker.
struct Ready {
    /// What makes each run, as on the sweep's machine.
    runner: Runner,
    /// The configured feed the tape stands for.
    feed: Arc<ComponentDescriptor>,
    /// The sweep's data.
    tape: MarketTape,
}

impl Worker {
    /// One slot: takes a job, runs it, delivers it; until a signal. Returns the jobs it delivered.
    async fn slot(&self, consumer: &jetstream::consumer::PullConsumer, stop: &crate::signals::StopRequest) -> usize {
        let mut done = 0;
        while stop.signal().is_none() {
            let batch = consumer.batch().max_messages(1).expires(PULL_WAIT).messages().await;
            let mut batch = match batch {
                Ok(batch) => batch,
                Err(error) => {
                    tracing::warn!("cannot pull a job: {error}; retrying");
                    tokio::time::sleep(PULL_WAIT).await;
                    continue;
                }
            };
            while let Some(message) = batch.next().await {
                match message {
                    Ok(message) => done += usize::from(self.handle(message).await),
                    Err(error) => tracing::debug!("pulling: {error}"),
                }
            }
        }
        done
    }

    /// Handles one job message; returns whether an outcome was delivered.
    async fn handle(&self, message: jetstream::Message) -> bool {
        let job: Job = match serde_json::from_slice(&message.payload) {
            Ok(job) => job,
            Err(error) => {
                tracing::warn!(subject = %message.subject, "a message that is not a job ({error}); dropped");
                let _ = message.ack_with(AckKind::Term).await;
                return false;
            }
        };
        if job.protocol != PROTOCOL || job.version != VERSION {
            let reason = format!(
                "tradsys {VERSION} (protocol {PROTOCOL}) here, the sweep's {} (protocol {})",
                job.version, job.protocol
            );
            self.refuse(&message, &job, reason).await;
            return false;
        }
        let prepared = self.prepared(&job).await;
        let made = match &*prepared {
            Prepared::Gone => {
                tracing::info!(sweep = %job.sweep, "a job of a sweep that is over; dropped");
                let _ = message.ack().await;
                return false;
            }
            Prepared::Refused(reason) => {
                self.refuse(&message, &job, reason.clone()).await;
                return false;
            }
            Prepared::Unreachable(error) => {
                tracing::warn!(sweep = %job.sweep, "{error}; the job goes back for later");
                let _ = message.ack_with(AckKind::Nak(Some(REFUSED_DELAY))).await;
                return false;
            }
            Prepared::Failed(error) => Made::Failed { error: error.clone() },
            Prepared::Ready(_) => match self.run(&message, &job, Arc::clone(&prepared)).await {
                Some(made) => made,
                None => return false,
            },
        };
        let outcome = Outcome { batch: job.batch, at: job.at, worker: self.name.clone(), made };
        let Ok(payload) = serde_json::to_vec(&outcome) else { return false };
        let publish = jetstream::message::PublishMessage::build()
            .payload(payload.into())
            .message_id(Job::message_id(&job.sweep, job.batch, job.at));
        let delivered = match self.js.send_publish(sweep_queue::results_subject(&job.sweep), publish).await {
            Ok(ack) => ack.await.map(|_| ()).map_err(|error| error.to_string()),
            Err(error) => Err(error.to_string()),
        };
        if let Err(error) = delivered {
            // Not acknowledged: the job goes to a worker again once the ack wait passes.
            tracing::warn!(sweep = %job.sweep, at = job.at, "cannot deliver an outcome: {error}");
            return false;
        }
        if let Err(error) = message.double_ack().await {
            // The outcome is stored; a second run of the job is a duplicate the gatherer drops.
            tracing::warn!(sweep = %job.sweep, at = job.at, "cannot acknowledge a job: {error}");
        }
        true
    }

    /// Runs the job on a blocking thread, telling the server it is in progress meanwhile; `None`
    /// when the run could not be joined (it panicked past the boundary: the job is put back).
    async fn run(&self, message: &jetstream::Message, job: &Job, prepared: Arc<Prepared>) -> Option<Made> {
        let (sets, span) = (job.sets.clone(), job.span);
        let started = Instant::now();
        tracing::info!(sweep = %job.sweep, batch = job.batch, at = job.at, "job started");
        let mut running = tokio::task::spawn_blocking(move || {
            let Prepared::Ready(ready) = &*prepared else { unreachable!("checked by the caller") };
            let Ready { runner, feed, tape } = &**ready;
            let window = tape.window(span.from.map(Timestamp), span.to.map(Timestamp));
            let feed = window.feed_descriptor(feed);
            match runner.run(&sets, &feed, span.trade_from.map(Timestamp)) {
                Ok(result) => Made::Ran(WireResult::from_result(&result)),
                Err(failure) => Made::Failed { error: failure.to_string() },
            }
        });
        let mut heartbeat = tokio::time::interval(self.ack_wait / 3);
        heartbeat.tick().await;
        loop {
            tokio::select! {
                joined = &mut running => {
                    tracing::info!(sweep = %job.sweep, at = job.at, ms = started.elapsed().as_millis() as u64, "job done");
                    return match joined {
                        Ok(result) => Some(result),
                        Err(error) => {
                            tracing::error!(sweep = %job.sweep, at = job.at, "a run failed past the boundary: {error}");
                            let _ = message.ack_with(AckKind::Nak(None)).await;
                            None
                        }
                    };
                }
                _ = heartbeat.tick() => {
                    let _ = message.ack_with(AckKind::Progress).await;
                }
            }
        }
    }

    /// Refuses a job: says why on the sweep's refusals subject and puts it back for another
    /// worker.
    async fn refuse(&self, message: &jetstream::Message, job: &Job, reason: String) {
        tracing::warn!(sweep = %job.sweep, "refusing the sweep's jobs: {reason}");
        let refusal = Refusal { worker: self.name.clone(), reason };
        if let Ok(payload) = serde_json::to_vec(&refusal) {
            let _ = self.client.publish(sweep_queue::refusals_subject(&job.sweep), payload.into()).await;
        }
        let _ = message.ack_with(AckKind::Nak(Some(REFUSED_DELAY))).await;
    }

    /// The job's sweep made ready, from the kept ones or fetched now.
    async fn prepared(&self, job: &Job) -> Arc<Prepared> {
        let mut sweeps = self.sweeps.lock().await;
        if let Some((_, prepared)) = sweeps.iter().find(|(id, _)| *id == job.sweep) {
            return Arc::clone(prepared);
        }
        let prepared = Arc::new(self.prepare(job).await);
        if matches!(*prepared, Prepared::Unreachable(_)) {
            return prepared;
        }
        sweeps.push_front((job.sweep.clone(), Arc::clone(&prepared)));
        sweeps.truncate(KEPT_SWEEPS);
        prepared
    }

    /// Reads the sweep's description, loads its modules and checks that this worker has every
    /// plugin the job needs, then fetches the tape and checks the config whole.
    async fn prepare(&self, job: &Job) -> Prepared {
        let spec = match self.fetch(&sweep_queue::spec_object(&job.sweep)).await {
            Ok(Some(bytes)) => bytes,
            Ok(None) => return Prepared::Gone,
            Err(error) => return Prepared::Unreachable(error),
        };
        let spec: SweepSpec = match serde_json::from_slice(&spec) {
            Ok(spec) => spec,
            Err(error) => return Prepared::Failed(format!("the sweep's description does not read: {error}")),
        };
        let (registry, plugins) = (self.registry.clone(), job.plugins.clone());
        let loaded = tokio::task::spawn_blocking(move || load(spec, &registry, &plugins)).await;
        let loaded = match loaded {
            Ok(Ok(loaded)) => loaded,
            Ok(Err(prepared)) => return prepared,
            Err(error) => return Prepared::Failed(format!("loading the sweep's config failed: {error}")),
        };
        let tape = match self.fetch(&job.tape).await {
            Ok(Some(bytes)) => bytes,
            Ok(None) => return Prepared::Failed(format!("the tape {} is not in the object store", job.tape)),
            Err(error) => return Prepared::Unreachable(error),
        };
        let name = job.tape.clone();
        tokio::task::spawn_blocking(move || loaded.ready(&name, &tape))
            .await
            .unwrap_or_else(|error| Prepared::Failed(format!("preparing the sweep failed: {error}")))
    }

    /// An object's bytes; `None` if there is no such object.
    async fn fetch(&self, name: &str) -> Result<Option<Vec<u8>>, String> {
        let mut object = match self.bucket.get(name).await {
            Ok(object) => object,
            Err(error) if error.kind() == jetstream::object_store::GetErrorKind::NotFound => return Ok(None),
            Err(error) => return Err(format!("cannot fetch {name} from the object store: {error}")),
        };
        let mut bytes = Vec::new();
        object.read_to_end(&mut bytes).await.map_err(|error| format!("cannot fetch {name}: {error}"))?;
        Ok(Some(bytes))
    }
}

/// A sweep's config, loaded here with its modules: what the tape is checked against.
struct Loaded {
    spec_strategies: Vec<String>,
    file: ConfigFile,
    loader: ConfigLoader,
    config: tradsys_core::config::Config,
    registry: Registry,
}

/// Loads a sweep's config and its modules, and checks that they give every plugin `needs` names
/// (blocking: modules are compiled).
fn load(spec: SweepSpec, registry: &Registry, needs: &[PluginNeed]) -> Result<Loaded, Prepared> {
    let file = ConfigFile::Merged { name: spec.config_name, data: spec.config };
    let loader = ConfigLoader::load(&file, &Environment::Ignored, &[]).map_err(|errors| not_here(&errors))?;
    let config = loader.extract().map_err(|errors| not_here(&errors))?;
    let registry = crate::modules::registry_for(&config, &loader, registry).map_err(|errors| not_here(&errors))?;
    let missing: Vec<String> = needs.iter().filter_map(|need| need.missing_from(&registry)).collect();
    if !missing.is_empty() {
        return Err(Prepared::Refused(missing.join("; ")));
    }
    Ok(Loaded { spec_strategies: spec.strategies, file, loader, config, registry })
}

/// A config that does not check on this worker.
fn not_here(errors: &[tradsys_core::config::ConfigError]) -> Prepared {
    let errors: Vec<String> = errors.iter().map(ToString::to_string).collect();
    Prepared::Failed(format!("the sweep's config does not check on this worker: {}", errors.join("; ")))
}

impl Loaded {
    /// Reads the tape, checks its digest and the config whole, and makes the runner.
    fn ready(self, tape_name: &str, tape: &[u8]) -> Prepared {
        let digest = format!("tape-{:x}", sha2::Sha256::digest(tape));
        if digest != tape_name {
            return Prepared::Failed(format!("the tape {tape_name} does not match its digest (it is {digest})"));
        }
        let tape = match MarketTape::from_bytes(tape) {
            Ok(tape) => tape,
            Err(error) => return Prepared::Failed(format!("{tape_name}: {error}")),
        };
        let admission = match crate::trust::admission(&self.config, &self.loader) {
            Ok(admission) => admission,
            Err(errors) => return not_here(&errors),
        };
        let base = match check_planned(self.loader, self.config, self.registry, &*admission) {
            Ok(base) => base,
            Err(errors) => return not_here(&errors),
        };
        let Some(feed) = base.plan.components.iter().find(|c| c.request.kind == Kind::Feed) else {
            return Prepared::Failed("the sweep's config has no [feed]".to_owned());
        };
        if strategy_columns(&base.config) != self.spec_strategies {
            return Prepared::Failed("the sweep's strategies read differently on this worker".to_owned());
        }
        let runner = Runner {
            file: self.file,
            overrides: Vec::new(),
            environment: Environment::Ignored,
            registry: base.registry.clone(),
            admission,
            strategies: self.spec_strategies,
        };
        Prepared::Ready(Box::new(Ready { runner, feed: Arc::clone(&feed.registered.descriptor), tape }))
    }
}
