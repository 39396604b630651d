//! The host's functions (module `tradsys`), as the host defines them: scalars, and text as a
//! pointer and length into this module's memory. Only the safe wrappers in this crate call them.
//!
//! A function of a capability the manifest does not declare is not linked by the host: a module
//! that calls one (so imports it) is refused when loaded. Functions this module never calls are
//! not imported at all (the linker drops them), so declaring these costs nothing.

#[link(wasm_import_module = "tradsys")]
unsafe extern "C" {
    pub(crate) fn log(ptr: *const u8, len: usize);
    pub(crate) fn reason(ptr: *const u8, len: usize);
    pub(crate) fn instrument(ptr: *const u8, len: usize) -> i32;
    pub(crate) fn request_indicator(
        name_ptr: *const u8,
        name_len: usize,
        params_ptr: *const u8,
        params_len: usize,
        instrument: i32,
    ) -> i32;
    pub(crate) fn indicator(handle: i32, output: i32) -> f64;
    pub(crate) fn submit(instrument: i32, side: i32, order_type: i32, price: i64, qty: i64, tif: i32) -> i64;
    pub(crate) fn submit_order(
        instrument: i32,
        side: i32,
        order_type: i32,
        price: i64,
        trigger: i64,
        qty: i64,
        tif: i32,
    ) -> i64;
    pub(crate) fn submit_bracket(
        instrument: i32,
        side: i32,
        order_type: i32,
        price: i64,
        trigger: i64,
        qty: i64,
        tif: i32,
        stop_loss: i64,
        take_profit: i64,
        ids: *mut i64,
    ) -> i64;
    pub(crate) fn cancel(order: i64) -> i32;
    pub(crate) fn position(instrument: i32) -> i64;
    pub(crate) fn last_price(instrument: i32) -> i64;
    pub(crate) fn now() -> i64;
    pub(crate) fn view_position() -> i64;
    pub(crate) fn view_reference_price() -> i64;
    pub(crate) fn view_pnl() -> i64;
    pub(crate) fn view_strategy() -> i32;
}
