//! `tradsys run` (the session lands with the trading-session issue).

use tradsys_core::config::{Config, ConfigError, ConfigLoader};
use tradsys_core::factory::Plan;
use tradsys_core::registry::Registry;

use crate::cli::RunArgs;
use crate::failure::Failure;

/// Session-level checks beyond the factory's.
#[must_use]
pub fn check_session(_config: &Config, _plan: &Plan, _loader: &ConfigLoader) -> Vec<ConfigError> {
    Vec::new()
}

/// Runs a session.
///
/// # Errors
/// Always, for now.
pub fn run(_args: &RunArgs, _registry: &Registry) -> Result<String, Failure> {
    Err(Failure::Internal(anyhow::anyhow!("run is not built yet")))
}
