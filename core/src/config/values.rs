//! What a config means, checked: values that parse but mean nothing (negative cash, a negative
//! commission that would earn money, a depth of no lots, a NaN Sharpe) are errors naming the key.
//!
//! The structure (unknown keys, types) is checked by extraction; this checks the values of the
//! sections core owns. Plugins check their own parameters when built; `config check` and `run`
//! run both, so a config `config check` accepts is one `run` accepts.

use super::{AlertsConfig, Config, ConfigError, ConfigLoader};
use crate::instrument::Instrument;
use crate::limits::{MAX_INITIAL_CASH_UNITS, MAX_INSTRUMENTS, MAX_ORDER_QTY, max_initial_cash};
use crate::types::{Money, Price};

/// The widest bar-mode spread, in ticks.
pub const MAX_SPREAD_TICKS: i64 = 100_000;

/// Every value problem of `config`, each naming its source (through `loader`) and key.
#[must_use]
pub fn check_values(config: &Config, loader: &ConfigLoader) -> Vec<ConfigError> {
    let mut errors = Vec::new();
    let mut bad = |key: &str, message: String| {
        errors.push(ConfigError { source: loader.source_of(key), key: key.to_owned(), message });
    };
    let session = &config.session;
    let strategies = config.strategies.len().max(1) as i128;
    let combined = i128::from(session.initial_cash.raw()) * strategies;
    if session.initial_cash <= Money::ZERO {
        bad("session.initial_cash", format!("{} is not a starting cash; expected more than 0", session.initial_cash));
    } else if combined > i128::from(max_initial_cash().raw()) {
        bad(
            "session.initial_cash",
            format!(
                "{} for each of {strategies} strateg{} is more than tradsys books: the strategies' combined starting cash must be at most {MAX_INITIAL_CASH_UNITS}, so that the total stays inside the money range",
                session.initial_cash,
                if strategies == 1 { "y" } else { "ies" }
            ),
        );
    }
    if session.leverage <= Price::ZERO || session.leverage > Price::from_units(1_000) {
        bad(
            "session.leverage",
            format!(
                "{} is not a leverage; expected more than 0 and at most 1000 (1: cash only, 2: margin for twice the equity)",
                session.leverage
            ),
        );
    }
    if session.commission.per_lot < Money::ZERO {
        bad(
            "session.commission.per_lot",
            format!(
                "{} is negative (a negative commission would pay the strategy); expected 0 or more",
                session.commission.per_lot
            ),
        );
    }
    if session.commission.percent < Price::ZERO || session.commission.percent >= Price::from_units(100) {
        bad(
            "session.commission.percent",
            format!(
                "{} is not a percent of notional; expected at least 0 and less than 100",
                session.commission.percent
            ),
        );
    }
    if let Some(depth) = session.bars.depth
        && !(1..=MAX_ORDER_QTY).contains(&depth.0)
    {
        bad(
            "session.bars.depth",
            format!("{} lots; expected 1 to {MAX_ORDER_QTY} lots, or leave it out for unlimited", depth.0),
        );
    }
    if !(0..=MAX_SPREAD_TICKS).contains(&session.bars.spread_ticks) {
        bad(
            "session.bars.spread_ticks",
            format!("{} ticks; expected 0 to {MAX_SPREAD_TICKS}", session.bars.spread_ticks),
        );
    }
    if let Some(periods) = session.periods_per_year
        && !(periods.is_finite() && periods > 0.0)
    {
        bad(
            "session.periods_per_year",
            format!("{periods}; expected a positive number of days (252 for equities, 365 for markets open every day)"),
        );
    }
    if session.max_events == Some(0) {
        bad(
            "session.max_events",
            "0 events runs nothing; expected at least 1, or leave it out for the whole feed".to_owned(),
        );
    }
    if config.instruments.len() > MAX_INSTRUMENTS {
        bad("instruments", format!("{} instruments declared; at most {MAX_INSTRUMENTS}", config.instruments.len()));
    }
    for (symbol, spec) in &config.instruments {
        if let Err(error) = Instrument::new(symbol, spec.tick, spec.lot_size) {
            bad(&format!("instruments.{symbol}"), error.to_string());
        }
    }
    check_alerts(&config.alerts, &mut bad);
    errors
}

/// Alert budgets must mean something: rates are fractions, limits positive.
fn check_alerts(alerts: &AlertsConfig, bad: &mut impl FnMut(&str, String)) {
    if alerts.check_every == 0 {
        bad("alerts.check_every", "must be at least 1 (events between two checks)".to_owned());
    }
    let budgets = alerts
        .all
        .iter()
        .map(|b| ("alerts.all".to_owned(), b))
        .chain(alerts.strategies.iter().map(|(id, b)| (format!("alerts.strategies.{id}"), b)))
        .chain(alerts.risk.iter().map(|(id, b)| (format!("alerts.risk.{id}"), b)))
        .chain(alerts.indicators.iter().map(|(id, b)| (format!("alerts.indicators.{id}"), b)));
    for (key, budget) in budgets {
        for (name, rate) in [("error_rate", budget.error_rate), ("reject_rate", budget.reject_rate)] {
            if let Some(rate) = rate
                && !(0.0..=1.0).contains(&rate)
            {
                bad(&format!("{key}.{name}"), format!("{rate} is not a fraction; expected a number from 0 to 1"));
            }
        }
        if let Some(limit) = budget.latency_p99_us
            && !(limit.is_finite() && limit > 0.0)
        {
            bad(&format!("{key}.latency_p99_us"), format!("{limit} is not a positive number of microseconds"));
        }
        if let Some(limit) = budget.order_rate
            && !(limit.is_finite() && limit > 0.0)
        {
            bad(&format!("{key}.order_rate"), format!("{limit} is not a positive number of orders per second"));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{ConfigFile, Environment};

    /// The value errors of a config given as TOML, as `key: message` lines.
    fn check(text: &'static str) -> Vec<String> {
        let loader =
            ConfigLoader::load(&ConfigFile::Embedded { name: "t.toml", text }, &Environment::Ignored, &[]).unwrap();
        check_values(&loader.extract().unwrap(), &loader).iter().map(|e| format!("{}: {}", e.key, e.message)).collect()
    }

    #[test]
    fn meaningless_session_values_are_errors_naming_the_key() {
        let cases: [(&'static str, &str); 13] = [
            ("[session]\ninitial_cash = -5\n", "session.initial_cash: -5 is not a starting cash"),
            ("[session]\ninitial_cash = 0\n", "session.initial_cash: 0 is not a starting cash"),
            (
                "[session]\nleverage = 0\n",
                "session.leverage: 0 is not a leverage; expected more than 0 and at most 1000",
            ),
            ("[session]\nleverage = \"5000\"\n", "session.leverage: 5000 is not a leverage"),
            ("[session]\ninitial_cash = \"92233720368\"\n", "combined starting cash must be at most 10000000000"),
            ("[session]\ncommission = { per_lot = -1 }\n", "session.commission.per_lot: -1 is negative"),
            ("[session]\ncommission = { percent = -0.1 }\n", "session.commission.percent: -0.1 is not a percent"),
            ("[session]\ncommission = { percent = 100 }\n", "session.commission.percent: 100 is not a percent"),
            ("[session]\nbars = { depth = -3 }\n", "session.bars.depth: -3 lots; expected 1 to 1000000000 lots"),
            ("[session]\nbars = { spread_ticks = -2 }\n", "session.bars.spread_ticks: -2 ticks; expected 0 to 100000"),
            ("[session]\nperiods_per_year = 0\n", "session.periods_per_year: 0; expected a positive number"),
            ("[session]\nmax_events = 0\n", "session.max_events: 0 events runs nothing"),
            ("[instruments.X]\nlot_size = 0\n", "instruments.X: instrument X: lot_size must be positive"),
        ];
        for (text, expected) in cases {
            let found = check(text);
            assert_eq!(found.len(), 1, "{text}: {found:?}");
            assert!(found[0].contains(expected), "{text}: {found:?}");
        }
        let two = "[session]\ninitial_cash = 6000000000\n[strategies.a]\n[strategies.b]\n";
        assert!(
            check(two)[0].contains("6000000000 for each of 2 strategies is more than tradsys books"),
            "{:?}",
            check(two)
        );
        assert!(check("[session]\ninitial_cash = 10000000000\ncommission = { per_lot = 0.5, percent = 0.01 }\nbars = { depth = 1, spread_ticks = 100000 }\nperiods_per_year = 252\n").is_empty());
    }

    #[test]
    fn alert_budgets_must_be_fractions_and_positive_limits() {
        let found = check("[alerts]\ncheck_every = 0\n[alerts.all]\nerror_rate = 1.5\nlatency_p99_us = -1\n");
        assert_eq!(found.len(), 3, "{found:?}");
    }
}
