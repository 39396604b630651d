//! Memory attributed to components: bytes their code allocates and frees while it runs.
//!
//! The binary installs a counting global allocator (`app/src/alloc_meter.rs`) that reports every
//! allocation and free to [`record_alloc`] and [`record_free`]. While a component's code runs,
//! [`boundary::contain`](crate::boundary::contain) makes that component's [`MemoryAccount`] the
//! thread's current account, so the bytes land there. Outside plugin calls (the session's own work,
//! other threads) nothing is attributed.
//!
//! "Live" bytes are those the component allocated minus those it freed, both counted while its own
//! code ran: memory a component hands to the session and the session frees later stays counted as
//! the component's. Dropping an instance also passes the boundary, so what it owned returns to it.
//!
//! Without the counting allocator (a library user who installs none) every account stays at zero.
//!
//! The same thread-local tells the panic hook whether a contained call is running: inside one it
//! always holds an account (a disabled meter uses `UNMETERED`, which nobody reads), so one swap
//! per call serves both.

use std::cell::Cell;
use std::sync::atomic::{AtomicU64, Ordering};

/// Bytes allocated and freed by one component's code. Shared with the allocator, hence atomics.
#[derive(Debug, Default)]
pub struct MemoryAccount {
    allocated: AtomicU64,
    freed: AtomicU64,
    allocations: AtomicU64,
}

/// What an account holds at one moment.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct MemoryUsage {
    /// Bytes allocated while the component's code ran.
    pub allocated_bytes: u64,
    /// Bytes freed while the component's code ran.
    pub freed_bytes: u64,
    /// Allocations made while the component's code ran.
    pub allocations: u64,
}

impl MemoryUsage {
    /// Allocated minus freed (zero if the component freed more than it allocated).
    #[must_use]
    pub fn live_bytes(&self) -> u64 {
        self.allocated_bytes.saturating_sub(self.freed_bytes)
    }
}

/// Accounts given back by dropped meters.
static POOL: std::sync::Mutex<Vec<&'static MemoryAccount>> = std::sync::Mutex::new(Vec::new());

/// The account of calls whose meter is disabled: it marks the call as contained and is never read.
pub(crate) static UNMETERED: MemoryAccount = MemoryAccount::new();

impl MemoryAccount {
    /// An empty account.
    #[must_use]
    pub const fn new() -> MemoryAccount {
        MemoryAccount { allocated: AtomicU64::new(0), freed: AtomicU64::new(0), allocations: AtomicU64::new(0) }
    }

    /// An empty account that lives as long as the process: the allocator may reach it from any
    /// thread at any time, so accounts are never freed. One a dropped meter gave back is reused
    /// (zeroed); otherwise a new one is leaked. So a long `serve` that swaps components many times
    /// holds as many accounts as it ever had meters at once, not one per swap.
    #[must_use]
    pub fn reused() -> &'static MemoryAccount {
        let recycled = POOL.lock().unwrap_or_else(std::sync::PoisonError::into_inner).pop();
        recycled.unwrap_or_else(|| Box::leak(Box::new(MemoryAccount::new())))
    }

    /// Gives an account back for reuse, zeroed. Allocations freed later by code outside any
    /// contained call are not counted against it; one freed inside a later owner's call counts
    /// there, which is where it happened.
    pub(crate) fn recycle(account: &'static MemoryAccount) {
        account.allocated.store(0, Ordering::Relaxed);
        account.freed.store(0, Ordering::Relaxed);
        account.allocations.store(0, Ordering::Relaxed);
        POOL.lock().unwrap_or_else(std::sync::PoisonError::into_inner).push(account);
    }

    /// Adds another account's figures to this one.
    pub fn absorb(&self, usage: &MemoryUsage) {
        self.allocated.fetch_add(usage.allocated_bytes, Ordering::Relaxed);
        self.freed.fetch_add(usage.freed_bytes, Ordering::Relaxed);
        self.allocations.fetch_add(usage.allocations, Ordering::Relaxed);
    }

    /// What the account holds now.
    #[must_use]
    pub fn usage(&self) -> MemoryUsage {
        MemoryUsage {
            allocated_bytes: self.allocated.load(Ordering::Relaxed),
            freed_bytes: self.freed.load(Ordering::Relaxed),
            allocations: self.allocations.load(Ordering::Relaxed),
        }
    }
}

thread_local! {
    /// The account of the component whose code this thread is running, if any. `const`-initialized
    /// and without a destructor, so reading it from inside the allocator never allocates.
    static CURRENT: Cell<Option<&'static MemoryAccount>> = const { Cell::new(None) };
}

/// Makes `account` the thread's current account; returns the one it replaces (to restore after).
#[inline]
pub(crate) fn enter(account: &'static MemoryAccount) -> Option<&'static MemoryAccount> {
    CURRENT.with(|current| current.replace(Some(account)))
}

/// Whether this thread is inside a contained call (the panic hook stays quiet there).
#[inline]
pub(crate) fn inside_contained_call() -> bool {
    CURRENT.try_with(|current| current.get().is_some()).unwrap_or(false)
}

/// Restores the account [`enter`] replaced.
#[inline]
pub(crate) fn leave(previous: Option<&'static MemoryAccount>) {
    CURRENT.with(|current| current.set(previous));
}

/// Called by the counting allocator after it allocated `bytes`.
#[inline]
pub fn record_alloc(bytes: usize) {
    // try_with: during thread teardown the slot may be gone; such allocations are not attributed.
    if let Ok(Some(account)) = CURRENT.try_with(Cell::get) {
        account.allocated.fetch_add(bytes as u64, Ordering::Relaxed);
        account.allocations.fetch_add(1, Ordering::Relaxed);
    }
}

/// Called by the counting allocator after it freed `bytes`.
#[inline]
pub fn record_free(bytes: usize) {
    if let Ok(Some(account)) = CURRENT.try_with(Cell::get) {
        account.freed.fetch_add(bytes as u64, Ordering::Relaxed);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_land_in_the_current_account_only() {
        let account = MemoryAccount::reused();
        record_alloc(100);
        assert_eq!(account.usage(), MemoryUsage::default());
        let previous = enter(account);
        record_alloc(100);
        record_alloc(28);
        record_free(100);
        leave(previous);
        record_alloc(5);
        let usage = account.usage();
        assert_eq!((usage.allocated_bytes, usage.freed_bytes, usage.allocations), (128, 100, 2));
        assert_eq!(usage.live_bytes(), 28);
    }

    #[test]
    fn nested_accounts_restore_the_outer_one() {
        let outer = MemoryAccount::reused();
        let inner = MemoryAccount::reused();
        let before = enter(outer);
        let saved = enter(inner);
        record_alloc(7);
        leave(saved);
        record_alloc(3);
        leave(before);
        assert_eq!(inner.usage().allocated_bytes, 7);
        assert_eq!(outer.usage().allocated_bytes, 3);
    }

    #[test]
    fn other_threads_are_not_attributed() {
        let account = MemoryAccount::reused();
        let previous = enter(account);
        std::thread::scope(|scope| {
            scope.spawn(|| record_alloc(1000));
        });
        leave(previous);
        assert_eq!(account.usage().allocated_bytes, 0);
    }
}
