//! NATS: how tradsys reaches a server, and what it sends there.
//!
//! Every command that talks to NATS takes the same options ([`crate::cli::NatsArgs`]: `--nats URL`,
//! a token or a credentials file) and connects through `connect`, so a server that cannot be
//! reached is the same clear error (exit 2, naming the URL) everywhere. The subjects and message
//! formats of the control plane live beside it, one module each: they are app's wire, not core's.
//! The market-data format is the `nats` feed's own (`tradsys_plugin_feed_nats::wire`).

pub(crate) mod session_events;
pub(crate) mod sweep_messages;
pub(crate) mod sweep_queue;

use std::time::Duration;

use anyhow::anyhow;

use crate::cli::NatsArgs;
use crate::failure::Failure;

/// An id unique across machines and time, and a subject token: the time in microseconds and the
/// process, in hex (a sweep's, a session's when `[nats] session` names none).
pub(crate) fn unique_id() -> String {
    let micros = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_micros());
    format!("{micros:x}{:x}", std::process::id())
}

/// How long a first connection may take before the server counts as unreachable.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// Connects to the server `args` names, as client `name` (shown in the server's monitoring).
///
/// # Errors
/// Bad input (exit 2) when the URL does not parse, the server cannot be reached, the credentials
/// file cannot be read or the server refuses them; each message names the URL or the file.
pub(crate) async fn connect(args: &NatsArgs, name: &str) -> Result<async_nats::Client, Failure> {
    let mut options = async_nats::ConnectOptions::new().name(name).connection_timeout(CONNECT_TIMEOUT);
    if let Some(token) = &args.token {
        options = options.token(token.clone());
    }
    if let Some(file) = &args.creds {
        options = options.credentials_file(file).await.map_err(|error| {
            Failure::BadInput(anyhow!("--nats-creds {}: {error} (expected a NATS .creds file)", file.display()))
        })?;
    }
    options.connect(args.url.as_str()).await.map_err(|error| {
        use async_nats::ConnectErrorKind as Kind;
        let hint = match error.kind() {
            Kind::ServerParse => "expected a URL such as nats://127.0.0.1:4222",
            Kind::Authentication | Kind::AuthorizationViolation => {
                "the server refused the credentials (--nats-token, --nats-creds)"
            }
            _ => "is a server running there? `nats-server -js` starts one (docs/distributed.md)",
        };
        Failure::BadInput(anyhow!("cannot connect to the NATS server at {}: {error}; {hint}", args.url))
    })
}
