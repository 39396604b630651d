//! What the `nats` feed's JSON market-data format costs, against a compact binary layout of the
//! same fields (written here for the comparison only): bytes per bar, and encode and decode time
//! per bar, best of 5 passes over the same 1,000,000 bars.
//!
//! ```text
//! cargo run --release -p tradsys-benches --example wire_cost
//! ```
//!
//! The JSON side is the feed's own code (`WireEvent::to_json`, then `serde_json` and
//! `WireEvent::to_event`, as the session thread decodes a message). The binary side is
//! little-endian fixed fields (seq, ts, four raw prices, the volume's bits) and the symbol as a
//! length and bytes: what a compact format with the same fields would at least cost.

use std::time::{Duration, Instant};

use tradsys_core::instrument::Instrument;
use tradsys_core::market::{Bar, MarketEvent};
use tradsys_core::types::{InstrumentId, Price, Timestamp};
use tradsys_plugin_feed_nats::wire::WireEvent;

const BARS: usize = 1_000_000;

fn bars() -> Vec<MarketEvent> {
    let mut close = 110_000i64;
    (0..BARS)
        .map(|i| {
            close += (i as i64 * 7919 % 41) - 20;
            let price = |raw: i64| Price::from_raw(raw * 1_000);
            MarketEvent::Bar(Bar {
                ts: Timestamp(1_500_000_000_000_000_000 + i as i64 * 60_000_000_000),
                instrument: InstrumentId(0),
                open: price(close - 3),
                high: price(close + 12),
                low: price(close - 15),
                close: price(close),
                volume: 1_000.0 + (i % 97) as f64,
            })
        })
        .collect()
}

fn binary(seq: u64, event: &MarketEvent, symbol: &str, out: &mut Vec<u8>) {
    let MarketEvent::Bar(bar) = event else { unreachable!() };
    out.clear();
    out.extend_from_slice(&seq.to_le_bytes());
    out.extend_from_slice(&bar.ts.0.to_le_bytes());
    for price in [bar.open, bar.high, bar.low, bar.close] {
        out.extend_from_slice(&price.raw().to_le_bytes());
    }
    out.extend_from_slice(&bar.volume.to_bits().to_le_bytes());
    out.push(u8::try_from(symbol.len()).expect("a short symbol"));
    out.extend_from_slice(symbol.as_bytes());
}

fn from_binary(bytes: &[u8], instrument: InstrumentId) -> MarketEvent {
    let word = |at: usize| i64::from_le_bytes(bytes[at..at + 8].try_into().expect("8 bytes"));
    let len = bytes[56] as usize;
    assert_eq!(&bytes[57..57 + len], b"EURUSD");
    MarketEvent::Bar(Bar {
        ts: Timestamp(word(8)),
        instrument,
        open: Price::from_raw(word(16)),
        high: Price::from_raw(word(24)),
        low: Price::from_raw(word(32)),
        close: Price::from_raw(word(40)),
        volume: f64::from_bits(word(48) as u64),
    })
}

fn best(mut pass: impl FnMut()) -> Duration {
    (0..5)
        .map(|_| {
            let started = Instant::now();
            pass();
            started.elapsed()
        })
        .min()
        .expect("five passes")
}

fn main() {
    let events = bars();
    let instruments = [Instrument::new("EURUSD", Price::from_raw(1_000), tradsys_core::types::LotSize::ONE).unwrap()];
    let json: Vec<Vec<u8>> =
        events.iter().enumerate().map(|(seq, e)| WireEvent::new(seq as u64, e, &instruments).to_json()).collect();
    let mut scratch = Vec::new();
    let packed: Vec<Vec<u8>> = events
        .iter()
        .enumerate()
        .map(|(seq, e)| {
            binary(seq as u64, e, "EURUSD", &mut scratch);
            scratch.clone()
        })
        .collect();
    let mut resolve = |symbol: &str| if symbol == "EURUSD" { Ok(InstrumentId(0)) } else { Err(symbol.to_owned()) };
    for at in [0, 7, BARS - 1] {
        let decoded: WireEvent = serde_json::from_slice(&json[at]).unwrap();
        assert_eq!(decoded.to_event(&mut resolve).unwrap().as_ref(), Some(&events[at]), "JSON round trip");
        assert_eq!(from_binary(&packed[at], InstrumentId(0)), events[at], "binary round trip");
    }
    let mean = |all: &[Vec<u8>]| all.iter().map(Vec::len).sum::<usize>() as f64 / all.len() as f64;
    let per_bar = |d: Duration| d.as_secs_f64() / BARS as f64 * 1e9;
    let json_encode = best(|| {
        for (seq, e) in events.iter().enumerate() {
            std::hint::black_box(WireEvent::new(seq as u64, e, &instruments).to_json());
        }
    });
    let json_decode = best(|| {
        for bytes in &json {
            let wire: WireEvent = serde_json::from_slice(bytes).unwrap();
            std::hint::black_box(wire.to_event(&mut resolve).unwrap());
        }
    });
    let binary_encode = best(|| {
        for (seq, e) in events.iter().enumerate() {
            binary(seq as u64, e, "EURUSD", &mut scratch);
            std::hint::black_box(&scratch);
        }
    });
    let binary_decode = best(|| {
        for bytes in &packed {
            std::hint::black_box(from_binary(bytes, InstrumentId(0)));
        }
    });
    println!("{BARS} bars, best of 5 passes each");
    println!(
        "JSON:   {:.0} bytes a bar, encode {:.0} ns, decode {:.0} ns",
        mean(&json),
        per_bar(json_encode),
        per_bar(json_decode)
    );
    println!(
        "binary: {:.0} bytes a bar, encode {:.0} ns, decode {:.0} ns",
        mean(&packed),
        per_bar(binary_encode),
        per_bar(binary_decode)
    );
    println!("sample JSON: {}", String::from_utf8_lossy(&json[7]));
}
