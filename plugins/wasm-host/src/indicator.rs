//! An indicator module, as an [`Indicator`].

use std::sync::Mutex;

use tradsys_core::component::Indicator;
use tradsys_core::market::MarketEvent;
use wasmtime::TypedFunc;

use crate::component::Common;
use crate::guest::{Guest, fail};
use crate::host::Frame;
use crate::strategy::{BarFn, QuoteFn, TradeFn, bar_args, quote_args, trade_args};

/// An indicator instance of a module. Its outputs are read from the guest once per update and
/// kept, so reading them (which the session does through `&self`) does not enter the guest.
pub(crate) struct WasmIndicator {
    guest: Guest,
    common: Common,
    update_bar: Option<BarFn>,
    update_trade: Option<TradeFn>,
    update_quote: Option<QuoteFn>,
    output: TypedFunc<i32, f64>,
    names: &'static [&'static str],
    values: Vec<Option<f64>>,
}

impl WasmIndicator {
    /// The instance (the lifecycle hooks' way in).
    fn guest_mut(&mut self) -> &mut Guest {
        &mut self.guest
    }

    pub(crate) fn new(
        mut guest: Guest,
        common: Common,
        names: &'static [&'static str],
    ) -> Result<WasmIndicator, String> {
        Ok(WasmIndicator {
            update_bar: guest.optional("tradsys_update_bar")?,
            update_trade: guest.optional("tradsys_update_trade")?,
            update_quote: guest.optional("tradsys_update_quote")?,
            output: guest.required("tradsys_output")?,
            values: vec![None; names.len()],
            names,
            guest,
            common,
        })
    }

    fn refresh(&mut self) {
        for (index, value) in (0_i32..).zip(self.values.iter_mut()) {
            match self.guest.call(&self.output, Frame::None, index) {
                Ok(output) => *value = (!output.is_nan()).then_some(output),
                Err(fault) => fail(&self.guest.label(), "output", &fault),
            }
        }
    }
}

impl Indicator for WasmIndicator {
    crate::component::lifecycle_hooks!();

    fn update(&mut self, event: &MarketEvent) {
        let result = match (event, &self.update_bar, &self.update_trade, &self.update_quote) {
            (MarketEvent::Bar(bar), Some(func), _, _) => self.guest.call(func, Frame::None, bar_args(bar)),
            (MarketEvent::Trade(trade), _, Some(func), _) => self.guest.call(func, Frame::None, trade_args(trade)),
            (MarketEvent::Quote(quote), _, _, Some(func)) => self.guest.call(func, Frame::None, quote_args(quote)),
            _ => return,
        };
        if let Err(fault) = result {
            fail(&self.guest.label(), "update", &fault);
        }
        self.refresh();
    }

    fn output_names(&self) -> &'static [&'static str] {
        self.names
    }

    fn output(&self, index: usize) -> Option<f64> {
        self.values.get(index).copied().flatten()
    }
}

/// The output names of a module, as the `'static` list [`Indicator::output_names`] returns: each
/// distinct list is kept once for the life of the process (loading the same module again reuses
/// it), so what is held is bounded by the distinct manifests ever loaded, a few bytes each.
pub(crate) fn intern(names: &[String]) -> &'static [&'static str] {
    static INTERNED: Mutex<Vec<&'static [&'static str]>> = Mutex::new(Vec::new());
    let mut interned = INTERNED.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
    if let Some(found) = interned.iter().find(|list| list.iter().copied().eq(names.iter().map(String::as_str))) {
        return found;
    }
    let list: Vec<&'static str> = names.iter().map(|name| &*Box::leak(name.clone().into_boxed_str())).collect();
    let list: &'static [&'static str] = Box::leak(list.into_boxed_slice());
    interned.push(list);
    list
}

impl std::fmt::Debug for WasmIndicator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WasmIndicator").field("guest", &self.guest).finish_non_exhaustive()
    }
}
