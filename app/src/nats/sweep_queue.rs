//! Where a distributed sweep's traffic lives on the server: two streams, one consumer, one
//! object-store bucket and a plain subject. Each is made on first use with the settings below, by
//! whichever side gets there first, and is shared by every sweep (sweeps are kept apart by their
//! id in the subjects and object names).
//!
//! | what | name | subjects |
//! |---|---|---|
//! | jobs (work queue: a job is gone once acknowledged; refuses new jobs when full) | `TRADSYS_SWEEP_JOBS` | `tradsys.sweep.jobs.<sweep>` |
//! | the workers' pull consumer (explicit acks, [`MAX_DELIVER`] deliveries) | `workers` | |
//! | outcomes (kept a day, de-duplicated by job) | `TRADSYS_SWEEP_RESULTS` | `tradsys.sweep.results.<sweep>` |
//! | tapes (`tape-<sha256>`) and sweep descriptions (`sweep-<id>`) | bucket `tradsys-sweeps` | |
//! | refusals (core NATS, not kept) | | `tradsys.sweep.refusals.<sweep>` |

use std::time::Duration;

use anyhow::anyhow;
use async_nats::jetstream::{self, consumer, object_store, stream};

use crate::failure::Failure;

/// The jobs' stream.
pub(crate) const JOBS_STREAM: &str = "TRADSYS_SWEEP_JOBS";
/// The outcomes' stream.
pub(crate) const RESULTS_STREAM: &str = "TRADSYS_SWEEP_RESULTS";
/// The durable pull consumer every worker takes jobs from.
pub(crate) const WORKERS: &str = "workers";
/// The object-store bucket of tapes and sweep descriptions.
pub(crate) const BUCKET: &str = "tradsys-sweeps";
/// How many times a job is delivered before it counts as failed (a crash or a refusal each time).
pub(crate) const MAX_DELIVER: i64 = 5;
/// The most jobs the jobs' stream holds at once; a sweep that would exceed it fails with that said.
const MAX_JOBS: i64 = 1_000_000;
/// How long outcomes, tapes and descriptions are kept: a sweep gathering longer than this loses
/// the ones it has not read.
const KEEP: Duration = Duration::from_secs(24 * 3600);
/// How long the server remembers a message id, so that a job or outcome sent again (after a
/// reconnect, or by a redelivered job) is dropped.
const DUPLICATE_WINDOW: Duration = Duration::from_secs(600);

/// The subject of a sweep's jobs.
pub(crate) fn jobs_subject(sweep: &str) -> String {
    format!("tradsys.sweep.jobs.{sweep}")
}

/// The subject of a sweep's outcomes.
pub(crate) fn results_subject(sweep: &str) -> String {
    format!("tradsys.sweep.results.{sweep}")
}

/// The subject workers announce their refusals of a sweep's jobs on.
pub(crate) fn refusals_subject(sweep: &str) -> String {
    format!("tradsys.sweep.refusals.{sweep}")
}

/// The subject of the server's advisory that a job reached [`MAX_DELIVER`].
pub(crate) fn max_deliveries_subject() -> String {
    format!("$JS.EVENT.ADVISORY.CONSUMER.MAX_DELIVERIES.{JOBS_STREAM}.{WORKERS}")
}

/// The object name of a sweep's description.
pub(crate) fn spec_object(sweep: &str) -> String {
    format!("sweep-{sweep}")
}

/// The jobs' stream, made if absent.
pub(crate) async fn jobs_stream(js: &jetstream::Context) -> Result<stream::Stream, Failure> {
    let config = stream::Config {
        name: JOBS_STREAM.to_owned(),
        description: Some("tradsys sweep jobs (one per run)".to_owned()),
        subjects: vec!["tradsys.sweep.jobs.>".to_owned()],
        retention: stream::RetentionPolicy::WorkQueue,
        discard: stream::DiscardPolicy::New,
        max_messages: MAX_JOBS,
        duplicate_window: DUPLICATE_WINDOW,
        storage: stream::StorageType::File,
        ..Default::default()
    };
    js.get_or_create_stream(config).await.map_err(|error| unavailable("stream", JOBS_STREAM, &error))
}

/// The outcomes' stream, made if absent.
pub(crate) async fn results_stream(js: &jetstream::Context) -> Result<stream::Stream, Failure> {
    let config = stream::Config {
        name: RESULTS_STREAM.to_owned(),
        description: Some("tradsys sweep outcomes".to_owned()),
        subjects: vec!["tradsys.sweep.results.>".to_owned()],
        max_age: KEEP,
        duplicate_window: DUPLICATE_WINDOW,
        storage: stream::StorageType::File,
        ..Default::default()
    };
    js.get_or_create_stream(config).await.map_err(|error| unavailable("stream", RESULTS_STREAM, &error))
}

/// The workers' consumer on the jobs' stream, made or set to `ack_wait`: a job not acknowledged
/// (or marked in progress) within it goes to another worker.
pub(crate) async fn workers_consumer(
    jobs: &stream::Stream,
    ack_wait: Duration,
) -> Result<consumer::Consumer<consumer::pull::Config>, Failure> {
    let config = consumer::pull::Config {
        durable_name: Some(WORKERS.to_owned()),
        description: Some("tradsys sweep workers".to_owned()),
        ack_policy: consumer::AckPolicy::Explicit,
        ack_wait,
        max_deliver: MAX_DELIVER,
        filter_subject: "tradsys.sweep.jobs.>".to_owned(),
        ..Default::default()
    };
    jobs.create_consumer(config).await.map_err(|error| unavailable("consumer", WORKERS, &error))
}

/// The tapes' and descriptions' bucket, made if absent.
pub(crate) async fn bucket(js: &jetstream::Context) -> Result<object_store::ObjectStore, Failure> {
    match js.get_object_store(BUCKET).await {
        Ok(store) => Ok(store),
        Err(_) => js
            .create_object_store(object_store::Config {
                bucket: BUCKET.to_owned(),
                description: Some("tradsys sweep tapes and descriptions".to_owned()),
                max_age: KEEP,
                storage: stream::StorageType::File,
                ..Default::default()
            })
            .await
            .map_err(|error| unavailable("object store", BUCKET, &error)),
    }
}

/// A stream, consumer or bucket the server would not make or give: JetStream off, or no room.
fn unavailable(what: &str, name: &str, error: &dyn std::fmt::Display) -> Failure {
    Failure::Internal(anyhow!(
        "the NATS server gave no JetStream {what} {name}: {error} (is JetStream enabled? `nats-server -js`)"
    ))
}
