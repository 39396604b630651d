//! One instance of a module: its store, the call that sets the frame and the time budget, and
//! what a failed call turns into.
//!
//! A trap (the guest's own `unreachable`, an out-of-bounds access, a stack overflow), a call that
//! outran its budget and a memory growth past the limit all end the call with a [`GuestFault`];
//! the instance is poisoned after it (a trapped instance's state is whatever it was mid-call), and
//! every later call fails at once with the same fault.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use wasmtime::{Instance, Memory, Store, TypedFunc, WasmParams, WasmResults};

use crate::host::{Frame, FrameGuard, HostState};

/// Why a call into the guest failed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum GuestFault {
    /// It ran past its time budget and was interrupted.
    OutOfTime(Duration),
    /// It grew its memory past the limit.
    OutOfMemory(u64),
    /// It trapped.
    Trap(String),
}

impl fmt::Display for GuestFault {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            GuestFault::OutOfTime(budget) => write!(f, "interrupted: ran past its call budget of {budget:?}"),
            GuestFault::OutOfMemory(limit) => write!(f, "stopped: grew its memory past the limit of {limit} bytes"),
            GuestFault::Trap(message) => write!(f, "trapped: {message}"),
        }
    }
}

/// A live instance and what bounds it.
pub(crate) struct Guest {
    store: Store<HostState>,
    instance: Instance,
    memory: Memory,
    budget: Duration,
    budget_ticks: u64,
    memory_limit: u64,
    fault: Option<GuestFault>,
    /// Linear-memory bytes already reported to the component's memory account.
    accounted: usize,
}

impl fmt::Debug for Guest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Guest").field("label", &self.store.data().label).field("fault", &self.fault).finish()
    }
}

impl Guest {
    /// Wraps an instantiated module. `budget` bounds every call.
    pub(crate) fn new(
        store: Store<HostState>,
        instance: Instance,
        memory: Memory,
        budget: Duration,
        memory_limit: u64,
    ) -> Guest {
        let mut guest = Guest {
            store,
            instance,
            memory,
            budget,
            budget_ticks: crate::engine::budget_ticks(budget),
            memory_limit,
            fault: None,
            accounted: 0,
        };
        guest.account_memory();
        guest
    }

    /// Reports linear-memory growth to the component's memory account: a module's memory is
    /// mapped by wasmtime, not taken from the global allocator, so the counting allocator never
    /// sees it. Runs inside the boundary's call, where the account is the component's.
    fn account_memory(&mut self) {
        let size = self.memory.data_size(&self.store);
        if size > self.accounted {
            tradsys_core::metrics::memory::record_alloc(size - self.accounted);
            self.accounted = size;
        }
    }

    /// The component's label (`name@version`), for messages.
    #[must_use]
    pub(crate) fn label(&self) -> Arc<str> {
        Arc::clone(&self.store.data().label)
    }

    /// The exported function `name`, which the loader checked is there with this signature.
    pub(crate) fn required<P: WasmParams, R: WasmResults>(&mut self, name: &str) -> Result<TypedFunc<P, R>, String> {
        self.optional(name)?.ok_or_else(|| format!("exports no `{name}`"))
    }

    /// The exported function `name`, if there is one.
    pub(crate) fn optional<P: WasmParams, R: WasmResults>(
        &mut self,
        name: &str,
    ) -> Result<Option<TypedFunc<P, R>>, String> {
        match self.instance.get_func(&mut self.store, name) {
            None => Ok(None),
            Some(func) => func.typed(&self.store).map(Some).map_err(|e| format!("export `{name}`: {e:#}")),
        }
    }

    /// Calls `func` with `frame` set for its host calls, within the budget.
    ///
    /// # Errors
    /// The call trapped, ran out of time or memory (now, or in an earlier call).
    pub(crate) fn call<P: WasmParams, R: WasmResults>(
        &mut self,
        func: &TypedFunc<P, R>,
        frame: Frame,
        args: P,
    ) -> Result<R, GuestFault> {
        if let Some(fault) = &self.fault {
            return Err(fault.clone());
        }
        self.store.set_epoch_deadline(self.budget_ticks);
        self.store.data_mut().reason = None;
        self.store.data_mut().frame = frame;
        let guard = FrameGuard(&mut self.store);
        let result = func.call(&mut *guard.0, args);
        drop(guard);
        self.account_memory();
        result.map_err(|error| {
            let fault = self.classify(&error);
            self.fault = Some(fault.clone());
            fault
        })
    }

    fn classify(&self, error: &wasmtime::Error) -> GuestFault {
        match error.downcast_ref::<wasmtime::Trap>() {
            Some(wasmtime::Trap::Interrupt) => GuestFault::OutOfTime(self.budget),
            _ if self.store.data().limits.memory_refused() => GuestFault::OutOfMemory(self.memory_limit),
            Some(trap) => GuestFault::Trap(trap.to_string()),
            None => GuestFault::Trap(format!("{error:#}")),
        }
    }

    /// The reason the guest gave in the last call (through `tradsys.reason`), if any.
    pub(crate) fn take_reason(&mut self) -> Option<String> {
        self.store.data_mut().reason.take()
    }

    /// `len` bytes at `ptr` of the guest's memory, at most `limit`.
    ///
    /// # Errors
    /// They are longer than `limit`, or not all inside its memory.
    pub(crate) fn read(&self, ptr: i32, len: i32, limit: usize) -> Result<Vec<u8>, String> {
        let (start, len) = (
            usize::try_from(ptr).map_err(|_| format!("address {ptr}"))?,
            usize::try_from(len).map_err(|_| format!("length {len}"))?,
        );
        if len > limit {
            return Err(format!("{len} bytes, more than the {limit} allowed"));
        }
        let end = start.checked_add(len).ok_or("past its memory")?;
        self.memory.data(&self.store).get(start..end).map(<[u8]>::to_vec).ok_or_else(|| "past its memory".to_owned())
    }

    /// Copies `bytes` into memory the guest allocated with `alloc`, returning where.
    ///
    /// # Errors
    /// The allocation failed (trapped, or returned an address outside its memory).
    pub(crate) fn write(&mut self, alloc: &TypedFunc<i32, i32>, bytes: &[u8]) -> Result<(i32, i32), GuestFault> {
        let len = i32::try_from(bytes.len()).map_err(|_| GuestFault::Trap("text too long for the guest".to_owned()))?;
        let ptr = self.call(alloc, Frame::None, len)?;
        let start = usize::try_from(ptr).map_err(|_| GuestFault::Trap(format!("tradsys_alloc returned {ptr}")))?;
        self.memory
            .write(&mut self.store, start, bytes)
            .map_err(|_| GuestFault::Trap(format!("tradsys_alloc returned {ptr}, outside its memory")))?;
        Ok((ptr, len))
    }
}

impl Drop for Guest {
    /// The instance's memory returns to the pool; its bytes leave the component's account (the
    /// drop runs inside the boundary, as every call does).
    fn drop(&mut self) {
        tradsys_core::metrics::memory::record_free(self.accounted);
    }
}

/// A fault, as the panic a callback without an error channel raises: the boundary contains it and
/// fails the component (a strategy's orders are cancelled), as it does a native plugin's panic.
pub(crate) fn fail(label: &str, call: &str, fault: &GuestFault) -> ! {
    panic!("WebAssembly plugin {label} {fault} (in {call})")
}
