//! How long run-time changes hold a served session's event loop, measured in process (no HTTP, no
//! client threads competing for the cores): a bar session over the in-memory bench feed, with a
//! change sent every `every` bars from the session thread itself, applied at the next safe point.
//!
//! ```sh
//! cargo build --release -p tradsys-benches --example swap_hold
//! target/release/examples/swap_hold swap 1000          # sma-cross swapped, periods alternating
//! target/release/examples/swap_hold reconfigure 1000   # a risk limit changed in place
//! valgrind --tool=callgrind target/release/examples/swap_hold swap 1000
//! ```

use std::sync::mpsc::{Sender, channel};

use tradsys::configure::{CheckedConfig, load_checked};
use tradsys::run::start_session;
use tradsys_benches::RISK_CHAIN;
use tradsys_core::component::ComponentId;
use tradsys_core::config::{ConfigFile, ServeConfig};
use tradsys_core::plugin::Kind;
use tradsys_core::registry::Registry;
use tradsys_core::session::{Change, Command, ControlPort, OpenOrders, Reply, SessionObserver};
use tradsys_core::types::{Money, Timestamp};

/// Sends the next change every `every` bars.
struct Changer {
    commands: Sender<Command>,
    changes: Vec<Change>,
    every: u64,
}

impl SessionObserver for Changer {
    fn equity(&mut self, _ts: Timestamp, bar: u64, _total: Money, _per: &[Money], _drawdown: f64) {
        if bar.is_multiple_of(self.every)
            && let Some(change) = self.changes.pop()
        {
            let reply = Reply::new(|answer: tradsys_core::session::ChangeAnswer| {
                answer.expect("the change applies");
            });
            self.commands.send(Command::Apply { change: Box::new(change), reply }).expect("session listens");
        }
    }
}

fn checked(text: String, registry: &Registry) -> CheckedConfig {
    let text: &'static str = Box::leak(text.into_boxed_str());
    load_checked(&ConfigFile::Embedded { name: "swap_hold", text }, &[], registry).expect("config")
}

fn main() {
    let mut args = std::env::args().skip(1);
    let mode = args.next().unwrap_or_else(|| "swap".to_owned());
    let count: usize = args.next().map_or(1000, |n| n.parse().expect("COUNT must be a whole number"));
    let every = 200;
    let registry = Registry::discover().expect("registry");
    let config = |fast: u32, max_qty: u32| {
        let bars = count as u64 * every + 1000;
        format!(
            "[feed]\nplugin = \"bench-bars\"\nparams = {{ count = {bars} }}\n\
             [strategies.trend]\nplugin = \"sma-cross\"\nparams = {{ fast = {fast}, slow = 30, qty = 5 }}\n{}",
            RISK_CHAIN.replace("max_qty = 100", &format!("max_qty = {max_qty}"))
        )
    };
    let running = checked(config(10, 100), &registry);
    let trend = ComponentId::new(Kind::Strategy, "trend");
    let changes: Vec<Change> = (0..count)
        .map(|i| {
            let (from, to) = if i % 2 == 0 { (10, 12) } else { (12, 10) };
            let (before, after) = match mode.as_str() {
                "swap" => (checked(config(from, 100), &registry), checked(config(to, 100), &registry)),
                "reconfigure" => {
                    (checked(config(10, 100 + i as u32), &registry), checked(config(10, 101 + i as u32), &registry))
                }
                other => panic!("mode must be swap or reconfigure, not {other}"),
            };
            let change = Change::between(&before.config, &after.config, &after.plan).expect("a change");
            if mode == "swap" { change.forcing_swap(&trend, &after.plan, OpenOrders::Keep) } else { change }
        })
        .rev()
        .collect();
    let (commands, inbox) = channel();
    let mut port = ControlPort::new(inbox, &ServeConfig::default(), false);
    let mut changer = Changer { commands, changes, every };
    let session = start_session(&running, &registry).expect("session");
    let report = session.serve(&mut port, &mut changer).into_result().expect("run");
    let times = report.timing.changes.expect("served");
    eprintln!(
        "{mode}: {} changes over {} bars ({:.2}M bars/s): hold p50 {:.1} µs, p99 {:.1} µs, max {:.1} µs",
        times.count,
        report.events,
        report.timing.events_per_s / 1e6,
        times.p50_us,
        times.p99_us,
        times.max_us
    );
}
