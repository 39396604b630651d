//! `tradsys tail`: prints a session's events (`[nats] publish = true`) as they are stored, one
//! JSON object per line, from the first; a consumer example and an operator's tool.
//!
//! The events come from the session's JetStream stream through an ordered consumer, so `tail`
//! started late (even after the session ended) prints everything from the beginning, in order.
//! It exits 0 at the session's `ended` event, or follows on past it with `--follow`; a signal
//! exits 130 or 143. An `ended` event that comes before the stream's last message when `tail`
//! starts belongs to an earlier run of the same session id and does not end it.

use std::io::Write;
use std::time::Duration;

use anyhow::anyhow;
use async_nats::jetstream;
use futures_util::StreamExt;

use crate::cli::TailArgs;
use crate::failure::{Failure, Internal};
use crate::nats::session_events::{check_session_id, stream_name};

/// How often the reading loop looks at the stop request.
const STOP_CHECK: Duration = Duration::from_millis(100);

/// Prints the session's events; returns nothing (they are printed as they come).
///
/// # Errors
/// A bad session id, an unreachable server or a session with no stream (exit 2); a signal.
pub fn tail(args: &TailArgs) -> Result<String, Failure> {
    check_session_id(&args.session).map_err(|problem| Failure::BadInput(anyhow!("--session {problem}")))?;
    let stop = crate::signals::listen().internal()?;
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().internal()?;
    runtime.block_on(async {
        let client = crate::nats::connect(&args.nats, "tradsys tail").await?;
        let js = jetstream::new(client.clone());
        let name = stream_name(&args.session);
        let mut stream = js.get_stream(&name).await.map_err(|error| {
            Failure::BadInput(anyhow!(
                "no session {} on {}: {error} (stream {name}; is `[nats] publish = true` in the session's config?)",
                args.session,
                args.nats.url
            ))
        })?;
        let last = stream.info().await.map(|info| info.state.last_sequence).unwrap_or(0);
        let mut messages = stream
            .create_consumer(jetstream::consumer::push::OrderedConfig {
                deliver_subject: client.new_inbox(),
                ..Default::default()
            })
            .await
            .internal()?
            .messages()
            .await
            .internal()?;
        let mut out = std::io::stdout().lock();
        let mut tick = tokio::time::interval(STOP_CHECK);
        loop {
            tokio::select! {
                message = messages.next() => match message {
                    Some(Ok(message)) => {
                        out.write_all(&message.payload).and_then(|()| out.write_all(b"\n")).and_then(|()| out.flush()).internal()?;
                        let sequence = message.info().map_or(0, |info| info.stream_sequence);
                        if !args.follow && sequence >= last && is_end(&message.payload) {
                            return Ok(String::new());
                        }
                    }
                    Some(Err(error)) => tracing::warn!("reading {name}: {error}; retrying"),
                    None => return Err(Failure::Internal(anyhow!("the connection to {} closed", args.nats.url))),
                },
                _ = tick.tick() => {
                    if let Some(signal) = stop.signal() {
                        return Err(Failure::Interrupted(signal));
                    }
                }
            }
        }
    })
}

/// Whether a message is the session's `ended` event.
fn is_end(payload: &[u8]) -> bool {
    serde_json::from_slice::<serde_json::Value>(payload).is_ok_and(|event| event["type"] == "ended")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_ended_event_ends_the_tail() {
        assert!(is_end(br#"{"type":"ended","events":5,"complete":true,"seq":9,"ts":1}"#));
        assert!(!is_end(br#"{"type":"started","config":"x"}"#));
        assert!(!is_end(br#"{"type":"fill","reason":"ended"}"#));
        assert!(!is_end(b"not json"));
    }
}
