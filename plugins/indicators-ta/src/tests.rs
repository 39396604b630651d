//! Every indicator against reference numbers computed independently (batch formulas in Python over
//! the same bars, see `reference.rs`), to 1e-9 relative.

#[path = "reference.rs"]
mod reference;

use tradsys_core::market::{Bar, MarketEvent};
use tradsys_core::plugin::Plugin;
use tradsys_core::types::{InstrumentId, Price, Timestamp};

use super::*;
use reference::*;

fn bars() -> Vec<MarketEvent> {
    BARS.lines()
        .enumerate()
        .map(|(i, line)| {
            let f: Vec<&str> = line.split(',').collect();
            let p = |s: &str| s.parse::<Price>().unwrap();
            MarketEvent::Bar(Bar {
                ts: Timestamp(i as i64),
                instrument: InstrumentId(0),
                open: p(f[1]),
                high: p(f[2]),
                low: p(f[3]),
                close: p(f[4]),
                volume: f[5].parse().unwrap(),
            })
        })
        .collect()
}

fn check(name: &str, indicator: &mut dyn Indicator, output: usize, expected: &[Option<f64>]) {
    let mut at = 0;
    for (i, bar) in bars().iter().enumerate() {
        indicator.update(bar);
        if INDICES.get(at) == Some(&i) {
            let got = indicator.output(output);
            match (got, expected[at]) {
                (None, None) => {}
                (Some(got), Some(want)) => {
                    let error = (got - want).abs() / want.abs().max(1e-12);
                    assert!(error <= 1e-9, "{name} at bar {i}: got {got}, want {want} (relative error {error:e})");
                }
                (got, want) => panic!("{name} at bar {i}: got {got:?}, want {want:?}"),
            }
            at += 1;
        }
    }
    assert_eq!(at, INDICES.len());
}

#[test]
fn sma_matches_reference() {
    check("sma", &mut SmaIndicator::build(PeriodParams { period: Period::of(10) }).unwrap(), 0, &SMA10);
}

#[test]
fn equal_averages_are_equal_floats() {
    // Closes (5 decimals) where SMA(2) and SMA(4) of the last bar are both exactly 1.071155; a
    // float running sum gets 1.0711549999999996 for SMA(2), which a strict cross rule reads as
    // "below".
    let raws = [107082, 107265, 107225, 107291, 107139, 107069, 107044, 107150, 107123, 107108, 107116, 107115];
    let (mut fast, mut slow) = (RollingMean::new(2), RollingMean::new(4));
    let (mut last_fast, mut last_slow) = (None, None);
    for raw in raws {
        let price = Price::from_raw(raw * 1_000);
        (last_fast, last_slow) = (fast.push(price), slow.push(price));
    }
    assert_eq!(last_fast, Some(1.071155));
    assert_eq!(last_fast, last_slow, "a tie is a tie");
}

#[test]
fn ema_is_sma_seeded() {
    check("ema", &mut EmaIndicator::build(PeriodParams { period: Period::of(10) }).unwrap(), 0, &EMA10);
}

#[test]
fn rsi_uses_wilder_smoothing() {
    check("rsi", &mut RsiIndicator::build(PeriodParams { period: Period::of(14) }).unwrap(), 0, &RSI14);
}

#[test]
fn macd_line_signal_and_histogram() {
    for (output, expected) in [(0, &MACD_LINE), (1, &MACD_SIGNAL), (2, &MACD_HIST)] {
        check("macd", &mut MacdIndicator::build(MacdParams::default()).unwrap(), output, expected);
    }
}

#[test]
fn bollinger_uses_population_deviation() {
    for (output, expected) in [(0, &BB_MID), (1, &BB_UP), (2, &BB_LOW)] {
        check("bollinger", &mut BollingerIndicator::build(BollingerParams::default()).unwrap(), output, expected);
    }
}

#[test]
fn atr_uses_wilder_smoothing_from_the_second_bar() {
    check("atr", &mut AtrIndicator::build(PeriodParams { period: Period::of(14) }).unwrap(), 0, &ATR14);
}

#[test]
fn vwap_weights_typical_price_by_volume() {
    check("vwap", &mut VwapIndicator::default(), 0, &VWAP);
}

#[test]
fn bad_parameters_are_refused() {
    assert!(
        MacdIndicator::build(MacdParams { fast: Period::of(26), slow: Period::of(12), signal: Period::of(9) }).is_err()
    );
    assert!(BollingerIndicator::build(BollingerParams { period: Period::of(20), k: -1.0 }).is_err());
    // Periods are bounded where they are read, before anything is allocated.
    for (text, ok) in
        [("period = 0", false), ("period = 1000001", false), ("period = 1099511627776", false), ("period = 20", true)]
    {
        let decoded = tradsys_core::plugin::decode_params::<SmaIndicator>(&tradsys_core::testing::params(text));
        assert_eq!(decoded.is_ok(), ok, "{text}: {decoded:?}");
        if let Err(error) = decoded {
            assert!(error.to_string().contains("parameter period: expected a period from 1 to 1000000"), "{error}");
        }
    }
}
