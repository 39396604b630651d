//! What the export macros expand to: the functions the host calls, written once here.
//!
//! The host hands text (parameters) by asking the module for room (`tradsys_alloc`), writing into
//! it, and passing the same length to the next call. The room is one buffer owned by this crate,
//! so reading it back needs no unsafe code.

use std::cell::RefCell;

use crate::types::{Bar, Fill, NO_PRICE, Order, OrderType, Price, Quote, Side, TimeInForce, Trade};
use crate::{Params, Verdict};

thread_local! {
    /// Where the host writes text for the next call.
    static INBOX: RefCell<Vec<u8>> = const { RefCell::new(Vec::new()) };
}

/// `tradsys_alloc`: room for `len` bytes, as an address in this module's memory.
#[must_use]
pub fn alloc(len: i32) -> i32 {
    let len = usize::try_from(len).unwrap_or(0);
    INBOX.with(|inbox| {
        let mut inbox = inbox.borrow_mut();
        inbox.clear();
        inbox.resize(len, 0);
        // An address in wasm32's 32-bit memory, which fits an i32's bits.
        inbox.as_mut_ptr() as usize as i32
    })
}

/// The `len` bytes the host wrote after `alloc`, as text; `what` names them in an error.
fn inbox_text(len: i32, what: &str) -> Result<String, String> {
    let len = usize::try_from(len).map_err(|_| format!("{what}: negative length"))?;
    INBOX.with(|inbox| {
        let inbox = inbox.borrow();
        let bytes = inbox.get(..len).ok_or_else(|| format!("{what}: longer than the room given"))?;
        String::from_utf8(bytes.to_vec()).map_err(|_| format!("{what}: not UTF-8"))
    })
}

/// The `len` bytes the host wrote after `alloc`, as parameters.
///
/// # Errors
/// They are not UTF-8, or longer than what was allocated.
pub fn params(len: i32) -> Result<Params, String> {
    inbox_text(len, "parameters").map(Params::new)
}

/// A status for the host: 0, or 1 with the reason given.
#[must_use]
pub fn status(result: Result<(), String>) -> i32 {
    match result {
        Ok(()) => 0,
        Err(message) => {
            crate::reason(&message);
            1
        }
    }
}

/// A verdict for the host: 0 accept, 1 refuse, 2 halt (with the reason given).
#[must_use]
pub fn verdict(verdict: Verdict) -> i32 {
    match verdict {
        Verdict::Accept => 0,
        Verdict::Refuse(why) => {
            crate::reason(&why);
            1
        }
        Verdict::Halt(why) => {
            crate::reason(&why);
            2
        }
    }
}

fn id(instrument: i32) -> u32 {
    u32::try_from(instrument).unwrap_or(u32::MAX)
}

/// A bar from a callback's arguments.
#[must_use]
pub fn bar(ts: i64, instrument: i32, open: i64, high: i64, low: i64, close: i64, volume: f64) -> Bar {
    Bar {
        ts,
        instrument: id(instrument),
        open: Price(open),
        high: Price(high),
        low: Price(low),
        close: Price(close),
        volume,
    }
}

/// A trade from a callback's arguments.
#[must_use]
pub fn trade(ts: i64, instrument: i32, price: i64, qty: i64, aggressor: i32) -> Trade {
    Trade { ts, instrument: id(instrument), price: Price(price), qty, aggressor: Side::from_code(aggressor) }
}

/// A quote from a callback's arguments.
#[must_use]
pub fn quote(ts: i64, instrument: i32, bid: i64, bid_qty: i64, ask: i64, ask_qty: i64) -> Quote {
    let level = |price: i64, qty: i64| (price != NO_PRICE).then_some((Price(price), qty));
    Quote { ts, instrument: id(instrument), bid: level(bid, bid_qty), ask: level(ask, ask_qty) }
}

/// A fill from a callback's arguments.
#[must_use]
pub fn fill(order: i64, ts: i64, instrument: i32, side: i32, price: i64, qty: i64, commission: i64) -> Fill {
    Fill {
        order: u64::try_from(order).unwrap_or(0),
        ts,
        instrument: id(instrument),
        side: Side::from_code(side),
        price: Price(price),
        qty,
        commission,
    }
}

/// An order to check from a callback's arguments.
#[must_use]
pub fn order(instrument: i32, side: i32, order_type: i32, price: i64, qty: i64, tif: i32) -> Order {
    Order {
        instrument: id(instrument),
        side: Side::from_code(side),
        order_type: OrderType::from_code(order_type),
        price: (price != NO_PRICE).then_some(Price(price)),
        qty,
        tif: TimeInForce::from_code(tif),
    }
}

thread_local! {
    /// The text a module last handed the host (its snapshot), kept until the next.
    static OUTBOX: RefCell<Vec<u8>> = const { RefCell::new(Vec::new()) };
}

/// `tradsys_snapshot`: the snapshot's text, kept in this crate's buffer, as (address << 32 |
/// length); -1 for none.
#[must_use]
pub fn snapshot(snapshot: Option<crate::Snapshot>) -> i64 {
    let Some(snapshot) = snapshot else { return -1 };
    OUTBOX.with(|outbox| {
        let mut outbox = outbox.borrow_mut();
        *outbox = snapshot.into_text().into_bytes();
        // wasm32 addresses and lengths are 32-bit: each fits its half.
        let (ptr, len) = (outbox.as_ptr() as usize as u64, outbox.len() as u64);
        ((ptr << 32) | (len & 0xffff_ffff)) as i64
    })
}

/// The handover the host wrote after `alloc`.
///
/// # Errors
/// It is not UTF-8 or does not read.
pub fn handover(len: i32) -> Result<crate::Handover, String> {
    crate::Handover::parse(&inbox_text(len, "handover")?)
}

/// A manifest's bytes as the array the custom section holds.
#[must_use]
pub const fn bytes<const N: usize>(from: &[u8]) -> [u8; N] {
    let mut out = [0; N];
    let mut at = 0;
    while at < N {
        out[at] = from[at];
        at += 1;
    }
    out
}

/// An order status from a callback's argument.
#[must_use]
pub fn order_status(code: i32) -> crate::OrderStatus {
    crate::OrderStatus::from_code(code)
}

/// The instance slot and the functions every module exports, for a component type.
#[doc(hidden)]
#[macro_export]
macro_rules! __export_common {
    ($ty:ty, $trait:path) => {
        ::std::thread_local! {
            static __TRADSYS_INSTANCE: ::std::cell::RefCell<Option<$ty>> = const { ::std::cell::RefCell::new(None) };
        }

        /// Runs `f` on the configured instance (a no-op before `configure` succeeded).
        fn __tradsys_with<R>(f: impl FnOnce(&mut $ty) -> R) -> Option<R> {
            __TRADSYS_INSTANCE.with(|slot| slot.borrow_mut().as_mut().map(f))
        }

        #[unsafe(no_mangle)]
        extern "C" fn tradsys_alloc(len: i32) -> i32 {
            $crate::__private::alloc(len)
        }

        #[unsafe(no_mangle)]
        extern "C" fn tradsys_configure(_ptr: i32, len: i32) -> i32 {
            let built = $crate::__private::params(len).and_then(|params| <$ty as $trait>::configure(&params));
            $crate::__private::status(built.map(|instance| {
                __TRADSYS_INSTANCE.with(|slot| *slot.borrow_mut() = Some(instance));
            }))
        }
    };
}

/// The lifecycle exports (`tradsys_init`, `tradsys_start`, `tradsys_stop`) calling `$trait`'s
/// hooks on the instance.
#[doc(hidden)]
#[macro_export]
macro_rules! __export_lifecycle {
    ($ty:ty, $trait:path) => {
        #[unsafe(no_mangle)]
        extern "C" fn tradsys_init() -> i32 {
            $crate::__private::status(__tradsys_with(|s| <$ty as $trait>::init(s)).unwrap_or(Ok(())))
        }

        #[unsafe(no_mangle)]
        extern "C" fn tradsys_start() -> i32 {
            $crate::__private::status(__tradsys_with(|s| <$ty as $trait>::start(s)).unwrap_or(Ok(())))
        }

        #[unsafe(no_mangle)]
        extern "C" fn tradsys_stop() -> i32 {
            $crate::__private::status(__tradsys_with(|s| <$ty as $trait>::stop(s)).unwrap_or(Ok(())))
        }
    };
}

/// A bar callback export `$export` calling `$method` of `$trait` on the instance.
#[doc(hidden)]
#[macro_export]
macro_rules! __export_bar {
    ($export:ident, $ty:ty, $trait:path, $method:ident) => {
        #[unsafe(no_mangle)]
        extern "C" fn $export(ts: i64, instrument: i32, open: i64, high: i64, low: i64, close: i64, volume: f64) {
            let bar = $crate::__private::bar(ts, instrument, open, high, low, close, volume);
            __tradsys_with(|s| <$ty as $trait>::$method(s, &bar));
        }
    };
}

/// A trade callback export `$export` calling `$method` of `$trait` on the instance.
#[doc(hidden)]
#[macro_export]
macro_rules! __export_trade {
    ($export:ident, $ty:ty, $trait:path, $method:ident) => {
        #[unsafe(no_mangle)]
        extern "C" fn $export(ts: i64, instrument: i32, price: i64, qty: i64, aggressor: i32) {
            let trade = $crate::__private::trade(ts, instrument, price, qty, aggressor);
            __tradsys_with(|s| <$ty as $trait>::$method(s, &trade));
        }
    };
}

/// Exports a [`Strategy`](crate::Strategy) type as this module's component;
/// `export_strategy!(Type, snapshots)` also exports its
/// [`snapshot`](crate::Strategy::snapshot) and [`take_over`](crate::Strategy::take_over), so a
/// swap to or from it keeps state (plugin API 1.1).
#[macro_export]
macro_rules! export_strategy {
    ($ty:ty, snapshots) => {
        $crate::export_strategy!($ty);

        #[unsafe(no_mangle)]
        extern "C" fn tradsys_snapshot() -> i64 {
            $crate::__private::snapshot(__tradsys_with(|s| <$ty as $crate::Strategy>::snapshot(s)).flatten())
        }

        #[unsafe(no_mangle)]
        extern "C" fn tradsys_take_over(_ptr: i32, len: i32) -> i32 {
            let handover = $crate::__private::handover(len);
            $crate::__private::status(
                handover
                    .and_then(|h| __tradsys_with(|s| <$ty as $crate::Strategy>::take_over(s, &h)).unwrap_or(Ok(()))),
            )
        }
    };
    ($ty:ty) => {
        $crate::__export_common!($ty, $crate::Strategy);

        $crate::__export_lifecycle!($ty, $crate::Strategy);

        $crate::__export_bar!(tradsys_on_bar, $ty, $crate::Strategy, on_bar);

        $crate::__export_trade!(tradsys_on_trade, $ty, $crate::Strategy, on_trade);

        #[unsafe(no_mangle)]
        extern "C" fn tradsys_on_quote(ts: i64, instrument: i32, bid: i64, bid_qty: i64, ask: i64, ask_qty: i64) {
            let quote = $crate::__private::quote(ts, instrument, bid, bid_qty, ask, ask_qty);
            __tradsys_with(|s| <$ty as $crate::Strategy>::on_quote(s, &quote));
        }

        #[unsafe(no_mangle)]
        extern "C" fn tradsys_on_fill(
            order: i64,
            ts: i64,
            instrument: i32,
            side: i32,
            price: i64,
            qty: i64,
            commission: i64,
        ) {
            let fill = $crate::__private::fill(order, ts, instrument, side, price, qty, commission);
            __tradsys_with(|s| <$ty as $crate::Strategy>::on_fill(s, &fill));
        }

        #[unsafe(no_mangle)]
        extern "C" fn tradsys_on_order_update(order: i64, status: i32, remaining: i64) {
            let status = $crate::__private::order_status(status);
            let order = u64::try_from(order).unwrap_or(0);
            __tradsys_with(|s| <$ty as $crate::Strategy>::on_order_update(s, order, status, remaining));
        }
    };
}

/// Exports a [`RiskValidator`](crate::RiskValidator) type as this module's component;
/// `export_risk!(Type, reviews)` also exports its [`review`](crate::RiskValidator::review).
#[macro_export]
macro_rules! export_risk {
    ($ty:ty) => {
        $crate::__export_common!($ty, $crate::RiskValidator);

        $crate::__export_lifecycle!($ty, $crate::RiskValidator);

        #[unsafe(no_mangle)]
        extern "C" fn tradsys_check(
            instrument: i32,
            side: i32,
            order_type: i32,
            price: i64,
            qty: i64,
            tif: i32,
        ) -> i32 {
            let order = $crate::__private::order(instrument, side, order_type, price, qty, tif);
            let verdict = __tradsys_with(|s| <$ty as $crate::RiskValidator>::check(s, &order))
                .unwrap_or_else(|| $crate::Verdict::Refuse("not configured".into()));
            $crate::__private::verdict(verdict)
        }
    };
    ($ty:ty, reviews) => {
        $crate::export_risk!($ty);

        #[unsafe(no_mangle)]
        extern "C" fn tradsys_review() -> i32 {
            $crate::__private::status(__tradsys_with(|s| <$ty as $crate::RiskValidator>::review(s)).unwrap_or(Ok(())))
        }
    };
}

/// Exports an [`Indicator`](crate::Indicator) type as this module's component;
/// `export_indicator!(Type, quotes)` also exports its
/// [`update_quote`](crate::Indicator::update_quote).
#[macro_export]
macro_rules! export_indicator {
    ($ty:ty, quotes) => {
        $crate::export_indicator!($ty);

        #[unsafe(no_mangle)]
        extern "C" fn tradsys_update_quote(ts: i64, instrument: i32, bid: i64, bid_qty: i64, ask: i64, ask_qty: i64) {
            let quote = $crate::__private::quote(ts, instrument, bid, bid_qty, ask, ask_qty);
            __tradsys_with(|s| <$ty as $crate::Indicator>::update_quote(s, &quote));
        }
    };
    ($ty:ty) => {
        $crate::__export_common!($ty, $crate::Indicator);

        $crate::__export_lifecycle!($ty, $crate::Indicator);

        $crate::__export_bar!(tradsys_update_bar, $ty, $crate::Indicator, update_bar);

        $crate::__export_trade!(tradsys_update_trade, $ty, $crate::Indicator, update_trade);

        #[unsafe(no_mangle)]
        extern "C" fn tradsys_output(index: i32) -> f64 {
            let index = usize::try_from(index).unwrap_or(usize::MAX);
            __tradsys_with(|s| <$ty as $crate::Indicator>::output(s, index)).flatten().unwrap_or(f64::NAN)
        }
    };
}

/// Embeds the manifest (TOML bytes, usually `include_bytes!("../manifest.toml")`) in the module's
/// `tradsys-manifest` custom section, where the host reads it without running any code.
#[macro_export]
macro_rules! manifest {
    ($bytes:expr) => {
        const __TRADSYS_MANIFEST_BYTES: &[u8] = $bytes;
        // A custom section: data the host reads from the file; no code reads or writes it.
        #[unsafe(link_section = "tradsys-manifest")]
        #[used]
        static __TRADSYS_MANIFEST: [u8; __TRADSYS_MANIFEST_BYTES.len()] =
            $crate::__private::bytes(__TRADSYS_MANIFEST_BYTES);
    };
}
