//! A risk-validator module, as a [`RiskValidator`].

use std::ptr::NonNull;

use tradsys_core::component::{OrderRequest, RiskReject, RiskValidator, RiskView};
use wasmtime::TypedFunc;

use crate::component::Common;
use crate::guest::{Guest, fail};
use crate::host::{Frame, NO_PRICE, codes};
use crate::strategy::instrument;

/// A validator instance of a module.
pub(crate) struct WasmRisk {
    guest: Guest,
    common: Common,
    check: TypedFunc<(i32, i32, i32, i64, i64, i32), i32>,
    review: Option<TypedFunc<(), i32>>,
}

impl WasmRisk {
    /// The instance (the lifecycle hooks' way in).
    fn guest_mut(&mut self) -> &mut Guest {
        &mut self.guest
    }

    pub(crate) fn new(mut guest: Guest, common: Common) -> Result<WasmRisk, String> {
        Ok(WasmRisk {
            check: guest.required("tradsys_check")?,
            review: guest.optional("tradsys_review")?,
            guest,
            common,
        })
    }

    /// The refusal for a non-zero verdict: 2 halts the strategy; any other non-zero refuses the
    /// order (a validator fails closed).
    fn refusal(&mut self, verdict: i32) -> RiskReject {
        let reason = self
            .guest
            .take_reason()
            .unwrap_or_else(|| format!("refused by {} (verdict {verdict})", self.guest.label()));
        if verdict == 2 { RiskReject::halt(reason) } else { RiskReject::new(reason) }
    }
}

fn risk_frame(view: &RiskView<'_>) -> Frame {
    Frame::Risk(NonNull::from(view).cast())
}

impl RiskValidator for WasmRisk {
    crate::component::lifecycle_hooks!();

    fn check(&mut self, order: &OrderRequest, view: &RiskView<'_>) -> Result<(), RiskReject> {
        let args = (
            instrument(order.instrument.0),
            codes::side(order.side),
            codes::order_type(order.order_type),
            order.price.map_or(NO_PRICE, tradsys_core::types::Price::raw),
            order.qty.0,
            codes::tif(order.tif),
        );
        match self.guest.call(&self.check, risk_frame(view), args) {
            Ok(0) => Ok(()),
            Ok(verdict) => Err(self.refusal(verdict)),
            Err(fault) => fail(&self.guest.label(), "check", &fault),
        }
    }

    fn review(&mut self, view: &RiskView<'_>) -> Option<RiskReject> {
        let verdict = self.guest.call(self.review.as_ref()?, risk_frame(view), ());
        match verdict {
            Ok(0) => None,
            Ok(_) => Some(self.refusal(2)),
            Err(fault) => fail(&self.guest.label(), "review", &fault),
        }
    }

    fn reviews(&self) -> bool {
        self.review.is_some()
    }
}

impl std::fmt::Debug for WasmRisk {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WasmRisk").field("guest", &self.guest).finish_non_exhaustive()
    }
}
