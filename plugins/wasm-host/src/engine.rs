//! The one wasmtime engine of the process: Cranelift, epoch interruption (a call's time budget),
//! instances from a pooling allocator, and the thread that advances the epoch.
//!
//! # Why these settings
//! - **Epochs, not fuel**: fuel counts every instruction (a few percent on every call); an epoch
//!   check is a load and a compare at loop heads and function entries. The budget is wall time,
//!   which is what a stalled event loop costs.
//! - **Pooling**: an instance takes a pre-reserved slot instead of fresh `mmap`s, so building one
//!   (a hot swap, a restart) costs microseconds. If the pool cannot be reserved (an address-space
//!   limit), the engine falls back to on-demand allocation and says so.

use std::sync::OnceLock;
use std::time::Duration;

use wasmtime::{Config, Engine, InstanceAllocationStrategy, PoolingAllocationConfig};

/// How often the epoch advances: the resolution of a call's time budget.
pub const TICK: Duration = Duration::from_millis(1);

/// Instance slots in the pool (every live module instance takes one).
pub const POOL_SLOTS: u32 = 128;

/// The most linear memory any instance may have, whatever its settings ask (256 MiB): the size of
/// a pool slot.
pub const MAX_MEMORY: u64 = 256 << 20;

/// The deepest the guest's stack may grow (512 KiB); deeper recursion traps.
const MAX_STACK: usize = 512 << 10;

/// The engine, built on first use with its epoch thread started.
///
/// # Errors
/// Neither a pooled nor an on-demand engine could be built, or the epoch thread could not start.
pub fn engine() -> Result<&'static Engine, String> {
    static ENGINE: OnceLock<Result<Engine, String>> = OnceLock::new();
    ENGINE.get_or_init(start).as_ref().map_err(Clone::clone)
}

fn start() -> Result<Engine, String> {
    let engine = match Engine::new(&config(true)) {
        Ok(engine) => engine,
        Err(pooled) => {
            tracing::warn!(target: "wasm", "the instance pool could not be reserved ({pooled:#}); allocating instances on demand");
            Engine::new(&config(false)).map_err(|error| format!("cannot start the WebAssembly engine: {error:#}"))?
        }
    };
    let ticking = engine.clone();
    std::thread::Builder::new()
        .name("tradsys-wasm-epoch".to_owned())
        .spawn(move || {
            loop {
                std::thread::sleep(TICK);
                ticking.increment_epoch();
            }
        })
        .map_err(|error| format!("cannot start the WebAssembly epoch thread: {error}"))?;
    Ok(engine)
}

fn config(pooling: bool) -> Config {
    let mut config = Config::new();
    config.epoch_interruption(true);
    config.max_wasm_stack(MAX_STACK);
    if pooling {
        let mut pool = PoolingAllocationConfig::default();
        pool.total_core_instances(POOL_SLOTS)
            .total_memories(POOL_SLOTS)
            .total_tables(POOL_SLOTS)
            .max_memory_size(usize::try_from(MAX_MEMORY).unwrap_or(usize::MAX));
        config.allocation_strategy(InstanceAllocationStrategy::Pooling(pool));
    }
    config
}

/// The epoch ticks a call of `budget` may run: the budget rounded up to whole ticks, plus one for
/// the tick already under way when the call starts.
#[must_use]
pub fn budget_ticks(budget: Duration) -> u64 {
    let tick = TICK.as_nanos().max(1);
    u64::try_from(budget.as_nanos().div_ceil(tick)).unwrap_or(u64::MAX).saturating_add(1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_budget_is_rounded_up_to_whole_ticks_plus_the_current_one() {
        assert_eq!(budget_ticks(Duration::from_millis(10)), 11);
        assert_eq!(budget_ticks(Duration::from_micros(1500)), 3);
        assert_eq!(budget_ticks(Duration::ZERO), 1);
    }
}
