//! The counting global allocator: attributes memory to the component whose code is running.
//!
//! It forwards every request to the system allocator and reports each size to
//! [`tradsys_core::metrics::memory`], which adds it to the account of the component the boundary
//! marked as running on this thread (or to nothing, outside plugin calls). Installed for every
//! artifact that links this library: the binary, its tests and the benches.
//!
//! Cost: one thread-local read per allocation and free, plus two relaxed atomic adds when a
//! component's code is running. Allocation-free hot paths pay nothing.

// The one module of the workspace with `unsafe`: implementing `GlobalAlloc` requires it.
#![allow(unsafe_code)]

use std::alloc::{GlobalAlloc, Layout, System};

use tradsys_core::metrics::memory::{record_alloc, record_free};

/// The system allocator, counting bytes per component.
#[derive(Debug)]
pub struct CountingAllocator;

// SAFETY: each method forwards to `System` with the caller's arguments unchanged, so it keeps every
// guarantee `System` gives (alignment, size, validity of the returned pointer), and each caller
// obligation is passed on as it was received. The only addition is the call to `record_alloc` or
// `record_free`, which reads a const-initialized thread-local `Cell` with no destructor (its access
// never allocates, so the allocator is never re-entered) and does relaxed atomic adds (which never
// panic or unwind). It runs only after `System` returned, and never touches the memory itself.
unsafe impl GlobalAlloc for CountingAllocator {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // SAFETY: the caller guarantees `layout` has a non-zero size, as `System.alloc` requires.
        let ptr = unsafe { System.alloc(layout) };
        if !ptr.is_null() {
            record_alloc(layout.size());
        }
        ptr
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        // SAFETY: as for `alloc`.
        let ptr = unsafe { System.alloc_zeroed(layout) };
        if !ptr.is_null() {
            record_alloc(layout.size());
        }
        ptr
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: the caller guarantees `ptr` came from this allocator (hence from `System`, to which
        // every allocation was forwarded) with this `layout`.
        unsafe { System.dealloc(ptr, layout) };
        record_free(layout.size());
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        // SAFETY: the caller guarantees `ptr` was allocated here (so by `System`) with `layout`, and
        // that `new_size` is non-zero and does not overflow when rounded to `layout.align()`.
        let new = unsafe { System.realloc(ptr, layout, new_size) };
        if !new.is_null() {
            record_free(layout.size());
            record_alloc(new_size);
        }
        new
    }
}

#[global_allocator]
static ALLOCATOR: CountingAllocator = CountingAllocator;

#[cfg(test)]
mod tests {
    use tradsys_core::boundary::{Call, contain};
    use tradsys_core::component::ComponentId;
    use tradsys_core::metrics::Meter;
    use tradsys_core::plugin::Kind;

    fn component() -> ComponentId {
        ComponentId::new(Kind::Strategy, "alloc-test")
    }

    #[test]
    fn bytes_allocated_inside_a_call_are_the_components() {
        let mut meter = Meter::new(true);
        let kept = contain(&component(), &mut meter, Call::OnBar, || vec![7u8; 4096]).unwrap();
        let usage = meter.snapshot().memory;
        assert!(usage.allocated_bytes >= 4096, "{usage:?}");
        assert!(usage.allocations >= 1);
        assert!(usage.live_bytes() >= 4096, "the vector is still alive: {usage:?}");
        // Freed outside any call: not attributed, so it stays live for the component.
        drop(kept);
        assert!(meter.snapshot().memory.live_bytes() >= 4096);
    }

    #[test]
    fn growth_and_frees_inside_calls_are_counted() {
        let mut meter = Meter::new(true);
        contain(&component(), &mut meter, Call::OnBar, || {
            let mut grown: Vec<u64> = Vec::with_capacity(4);
            grown.extend(0..10_000);
            drop(grown);
        })
        .unwrap();
        let usage = meter.snapshot().memory;
        assert!(usage.allocated_bytes >= 80_000, "{usage:?}");
        assert_eq!(usage.live_bytes(), 0, "everything allocated was freed: {usage:?}");
    }

    #[test]
    fn allocations_outside_calls_and_in_disabled_meters_are_not_counted() {
        let mut meter = Meter::new(true);
        let outside = vec![1u8; 1 << 16];
        let mut off = Meter::new(false);
        contain(&component(), &mut off, Call::OnBar, || drop(vec![1u8; 1 << 16])).unwrap();
        assert_eq!(meter.snapshot().memory.allocated_bytes, 0);
        assert_eq!(off.snapshot().memory.allocated_bytes, 0);
        contain(&component(), &mut meter, Call::OnBar, || ()).unwrap();
        assert_eq!(meter.snapshot().memory.allocated_bytes, 0);
        drop(outside);
    }
}
