//! A change to a running session, computed from the running config and a new, checked one.
//!
//! Every run-time change (a swap, an added or removed strategy, new risk limits, a reordered chain,
//! lazy flags, alert budgets, pacing) is expressed as the config the system should run next: the
//! caller checks that config whole, with the same checks as `config check`, and [`Change::between`]
//! turns the difference into [`Step`]s the session applies atomically at its safe point. What a
//! running session cannot change (the feed, matching, instruments, session settings, configured
//! indicators' parameters, the admin API) is refused, naming the key.

use std::collections::BTreeMap;
use std::fmt;
use std::sync::Arc;

use figment::value::{Dict, Value};
use serde::Serialize;

use crate::component::ComponentId;
use crate::config::{AlertsConfig, ComponentConfig, Config, ServeConfig};
use crate::factory::{ComponentRequest, Plan, Replacement};
use crate::plugin::{ComponentDescriptor, Kind};

/// What happens to a strategy's resting orders when it is swapped.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum OpenOrders {
    /// They carry over to the new instance, which is told about them.
    #[default]
    Keep,
    /// They are cancelled before the switch.
    Cancel,
}

/// One step of a change.
#[derive(Clone, Debug)]
pub enum Step {
    /// A new strategy or validator.
    Add {
        /// What to build.
        request: ComponentRequest,
        /// Its plugin version.
        descriptor: Arc<ComponentDescriptor>,
    },
    /// A strategy (its orders cancelled; its position stays in the report) or validator goes.
    Remove {
        /// Which.
        component: ComponentId,
    },
    /// A fresh instance replaces the running one.
    Swap {
        /// Which.
        component: ComponentId,
        /// The new plugin version and parameters.
        replacement: Replacement,
    },
    /// New parameters, in place if the running instance takes them, else by a swap.
    Reconfigure {
        /// Which.
        component: ComponentId,
        /// The plugin version (for the swap, if the instance cannot reconfigure in place).
        replacement: Replacement,
    },
    /// A validator moves in the chain.
    Reorder {
        /// Which validator.
        component: ComponentId,
        /// Its new `order`.
        order: i64,
    },
    /// A component's lazy flag changes.
    SetLazy {
        /// Which.
        component: ComponentId,
        /// The new flag.
        lazy: bool,
    },
}

impl Step {
    /// The component the step concerns.
    #[must_use]
    pub fn component(&self) -> ComponentId {
        match self {
            Step::Add { request, .. } => request.component_id(),
            Step::Remove { component }
            | Step::Swap { component, .. }
            | Step::Reconfigure { component, .. }
            | Step::Reorder { component, .. }
            | Step::SetLazy { component, .. } => component.clone(),
        }
    }
}

/// A key a running session cannot change.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Refusal {
    /// The key path, e.g. `feed.params.path`.
    pub key: String,
    /// Why.
    pub message: String,
}

impl fmt::Display for Refusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "key {}: {}", self.key, self.message)
    }
}

/// A checked change, ready to send to the session.
#[derive(Clone, Debug, Default)]
pub struct Change {
    pub(crate) steps: Vec<Step>,
    /// The indicator versions of the new plan (new strategies may request indicators).
    pub(crate) indicator_versions: BTreeMap<String, Arc<ComponentDescriptor>>,
    /// The indicators each component of the new plan declares.
    pub(crate) declared: BTreeMap<String, Vec<String>>,
    pub(crate) alerts: Option<AlertsConfig>,
    pub(crate) serve: Option<ServeConfig>,
    pub(crate) open_orders: OpenOrders,
}

impl Change {
    /// The change from `running` to `next`, whose checked plan is `plan`.
    ///
    /// # Errors
    /// Every key of `next` a running session cannot change.
    pub fn between(running: &Config, next: &Config, plan: &Plan) -> Result<Change, Vec<Refusal>> {
        let mut refusals = Vec::new();
        let fixed = "cannot change while the system runs; restart with the new config";
        for (section, old, new) in [
            ("session", to_value(&running.session), to_value(&next.session)),
            ("feed", to_value(&running.feed), to_value(&next.feed)),
            ("matching", to_value(&running.matching), to_value(&next.matching)),
            ("instruments", to_value(&running.instruments), to_value(&next.instruments)),
            ("admin", to_value(&running.admin), to_value(&next.admin)),
            ("security", to_value(&running.security), to_value(&next.security)),
        ] {
            for key in differing_keys(section, &old, &new) {
                refusals.push(Refusal { key, message: fixed.to_owned() });
            }
        }
        let mut steps = Vec::new();
        for id in union(&running.indicators, &next.indicators) {
            let key = format!("indicators.{id}");
            match (running.indicators.get(id), next.indicators.get(id)) {
                (Some(old), Some(new)) => {
                    let same_but_lazy = ComponentConfig { lazy: old.lazy, ..new.clone() } == *old;
                    if same_but_lazy {
                        if old.lazy != new.lazy {
                            steps.push(Step::SetLazy {
                                component: ComponentId::new(Kind::Indicator, id.as_str()),
                                lazy: lazy_of(plan, Kind::Indicator, id),
                            });
                        }
                    } else {
                        for key in differing_keys(&key, &to_value(old), &to_value(new)) {
                            refusals.push(Refusal {
                                key,
                                message: "a configured indicator's plugin and parameters are fixed while the system runs (only `lazy` changes); restart with the new config".to_owned(),
                            });
                        }
                    }
                }
                _ => refusals.push(Refusal {
                    key,
                    message: "configured indicators cannot be added or removed while the system runs; strategies request the indicators they need".to_owned(),
                }),
            }
        }
        for (kind, old_map, new_map) in
            [(Kind::Risk, &running.risk, &next.risk), (Kind::Strategy, &running.strategies, &next.strategies)]
        {
            for id in union(old_map, new_map) {
                let component = ComponentId::new(kind, id.as_str());
                match (old_map.get(id), new_map.get(id)) {
                    (Some(_), None) => steps.push(Step::Remove { component }),
                    (None, Some(_)) => {
                        if let Some(planned) = planned(plan, kind, id) {
                            steps.push(Step::Add {
                                request: planned.request.clone(),
                                descriptor: planned.registered.descriptor.clone(),
                            });
                        }
                    }
                    (Some(old), Some(new)) => {
                        let Some(planned) = planned(plan, kind, id) else { continue };
                        let replacement = Replacement {
                            descriptor: planned.registered.descriptor.clone(),
                            params: planned.request.params.clone(),
                        };
                        if old.plugin != new.plugin || old.version != new.version {
                            steps.push(Step::Swap { component: component.clone(), replacement });
                        } else if old.params != new.params {
                            steps.push(Step::Reconfigure { component: component.clone(), replacement });
                        }
                        if old.order != new.order {
                            steps.push(Step::Reorder { component: component.clone(), order: planned.request.order });
                        }
                        if old.lazy != new.lazy {
                            steps.push(Step::SetLazy { component, lazy: planned.request.lazy });
                        }
                    }
                    (None, None) => {}
                }
            }
        }
        if !refusals.is_empty() {
            return Err(refusals);
        }
        Ok(Change {
            steps,
            indicator_versions: plan
                .versions
                .iter()
                .filter(|((kind, _), _)| *kind == Kind::Indicator)
                .map(|((_, name), registered)| (name.clone(), registered.descriptor.clone()))
                .collect(),
            declared: plan.components.iter().map(|c| (c.request.id.clone(), c.indicator_dependencies())).collect(),
            alerts: (running.alerts != next.alerts).then(|| next.alerts.clone()),
            serve: (running.serve != next.serve).then(|| next.serve.clone()),
            open_orders: OpenOrders::Keep,
        })
    }

    /// Makes sure `component` gets a fresh instance (a swap even when only its parameters changed,
    /// or nothing did), with `open_orders` deciding what happens to its resting orders.
    #[must_use]
    pub fn forcing_swap(mut self, component: &ComponentId, plan: &Plan, open_orders: OpenOrders) -> Change {
        self.open_orders = open_orders;
        self.steps.retain(|step| !matches!(step, Step::Reconfigure { component: c, .. } if c == component));
        let swapped = self.steps.iter().any(|step| matches!(step, Step::Swap { component: c, .. } if c == component));
        if !swapped && let Some(planned) = planned(plan, component.kind(), component.id()) {
            self.steps.push(Step::Swap {
                component: component.clone(),
                replacement: Replacement {
                    descriptor: planned.registered.descriptor.clone(),
                    params: planned.request.params.clone(),
                },
            });
        }
        self
    }

    /// The steps, in the order they are applied.
    #[must_use]
    pub fn steps(&self) -> &[Step] {
        &self.steps
    }

    /// Whether nothing would change.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.steps.is_empty() && self.alerts.is_none() && self.serve.is_none()
    }
}

fn planned<'p>(plan: &'p Plan, kind: Kind, id: &str) -> Option<&'p crate::factory::PlannedComponent> {
    plan.components.iter().find(|c| c.request.kind == kind && c.request.id == id)
}

fn lazy_of(plan: &Plan, kind: Kind, id: &str) -> bool {
    planned(plan, kind, id).is_some_and(|c| c.request.lazy)
}

fn union<'a, V>(a: &'a BTreeMap<String, V>, b: &'a BTreeMap<String, V>) -> Vec<&'a String> {
    let mut ids: Vec<&String> = a.keys().chain(b.keys()).collect();
    ids.sort();
    ids.dedup();
    ids
}

fn to_value(value: &impl Serialize) -> Value {
    Value::serialize(value).unwrap_or_else(|_| Value::from(Dict::new()))
}

/// The dotted paths under `prefix` where two values differ (leaves, or tables present on one side).
fn differing_keys(prefix: &str, old: &Value, new: &Value) -> Vec<String> {
    let mut out = Vec::new();
    collect_differences(prefix, old, new, &mut out);
    out
}

fn collect_differences(path: &str, old: &Value, new: &Value, out: &mut Vec<String>) {
    match (old, new) {
        (Value::Dict(_, a), Value::Dict(_, b)) => {
            for key in union(a, b) {
                let child = format!("{path}.{key}");
                match (a.get(key), b.get(key)) {
                    (Some(x), Some(y)) => collect_differences(&child, x, y, out),
                    _ => out.push(child),
                }
            }
        }
        _ if old == new => {}
        _ => out.push(path.to_owned()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn differing_keys_name_the_leaves_that_changed() {
        let old = to_value(&Config::default().session);
        let mut session = Config::default().session;
        session.seed = 7;
        session.bars.spread_ticks = 2;
        assert_eq!(differing_keys("session", &old, &to_value(&session)), ["session.bars.spread_ticks", "session.seed"]);
        assert!(differing_keys("session", &old, &old).is_empty());
    }
}
